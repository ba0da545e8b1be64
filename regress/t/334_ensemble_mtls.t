# Members over mutual TLS (tls.quorum: true): a 3-member ensemble whose
# peer and election connections are TLS, each member's certificate naming
# its peer address (subjectAltName IP) and, for member 3, a name given by
# tls.member_names.
#
# - the ensemble elects a leader, serves writes, and fails over when the
#   leader is killed (kill -9), the old leader rejoining;
# - refused while the ensemble keeps serving: a plaintext process sending
#   an election notification as member 2, a TLS client whose certificate
#   (same CA) names no member, a certificate of another CA, member 2's own
#   certificate used to claim to be member 3 (election) or to follow as
#   member 3 (peer port); each logged and counted
#   (member_connections_refused).
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Time::HiRes qw(usleep sleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils;
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(run_python have_kazoo);

plan skip_all => 'the openssl command is missing' unless openssl_ok();
plan skip_all => 'python3-kazoo is missing' unless have_kazoo();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca    = make_ca($tmp, 'ca');
my $other = make_ca($tmp, 'other');
my %cert = map { ($_ => make_cert($tmp, $ca, "member$_", cn => "member$_", san => "IP:127.0.0.1$_")) } 1, 2;
$cert{3} = make_cert($tmp, $ca, 'member3', cn => 'member3', san => 'DNS:zk3.corral.test');
my $nobody  = make_cert($tmp, $ca, 'nobody', cn => 'nobody', san => 'IP:127.0.0.99');
my $foreign = make_cert($tmp, $other, 'foreign', cn => 'member2', san => 'IP:127.0.0.12');

my $e = Corral::Test::Ensemble->new('mtls', n => 3);
$e->init(extra_for => { map {
	my $i = $_;
	($i => { tls => { cert_file => $cert{$i}{cert}, key_file => $cert{$i}{key}, ca_file => $ca->{cert},
		quorum => 'true', member_names => { 3 => 'zk3.corral.test' } } })
} 1 .. 3 });
my $leader = $e->start;
ok($leader, 'a leader is elected over mutual TLS (member ' . ($leader ? $leader->{zab_id} : '?') . ')');

my $write = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10)
c.start(timeout=30)
c.ensure_path('/m')
c.create('/m/' + sys.argv[1], sys.argv[1].encode())
c.sync('/m')
print(','.join(sorted(c.get_children('/m'))))
c.stop()
PY
my ($rc, $out) = $e->kazoo($write, args => ['a']);
is($out, "a\n", 'a write through the ensemble');

# ---- rogues ---------------------------------------------------------------------------
sub rogue
{
	my ($node, $port_key, $kind, $id, $c) = @_;
	my @tls = $c ? ('--ca', $ca->{cert}, '--cert', $c->{cert}, '--key', $c->{key}) : ();
	my ($r, $o, $err) = run_python('rogue_member.py', $node->host, $node->{$port_key}, $kind, $id, @tls,
		{ timeout => 30 });
	diag($err) if $r;
	chomp $o;
	return $o;
}
my $target = (grep { $_ != $leader } $e->nodes)[0];
my $pos = $target->log_position;
is(rogue($target, 'election_port', 'notify', 2), 'closed', 'a plaintext notification claiming member 2: closed');
sleep 1.1;    # refusals are logged at most once a second (the rest are counted)
$pos = $target->log_position;
like(rogue($target, 'election_port', 'notify', 2, $nobody), qr/^(closed|tls-refused)/,
	'a certificate of the CA that names no member: closed');
ok($target->wait_for_log(qr/refusing member connection .*names no member of the ensemble/, $pos, 10),
	'... and logged with its subject');
like(rogue($target, 'election_port', 'notify', 2, $foreign), qr/^(closed|tls-refused)/,
	'a certificate of another CA naming member 2: refused');
my $claim = $target->{zab_id} == 3 ? 1 : 3;
my $thief = $target->{zab_id} == 2 ? $cert{1} : $cert{2};
my $thief_id = $target->{zab_id} == 2 ? 1 : 2;
sleep 1.1;
$pos = $target->log_position;
is(rogue($target, 'election_port', 'notify', $claim, $thief), 'closed',
	"member $thief_id\'s certificate claiming to be member $claim in an election: closed");
ok($target->wait_for_log(qr/authenticated as another member than the $claim it claims to be/, $pos, 10),
	'... and logged');
sleep 1.1;
my $lpos = $leader->log_position;
my $lclaim = $leader->{zab_id} == 3 ? 1 : 3;
my $lthief = $leader->{zab_id} == 2 ? $cert{1} : $cert{2};
is(rogue($leader, 'peer_port', 'followerinfo', $lclaim, $lthief), 'closed',
	"a member's certificate following the leader as member $lclaim: closed");
ok($leader->wait_for_log(qr/authenticated as another member than the $lclaim/, $lpos, 10), '... and logged');
my $refused = $e->mntr($target)->{zk_member_connections_refused} // 0;
cmp_ok($refused, '>=', 4, "member_connections_refused counts them ($refused)");
is($e->leader, $leader, 'the leader did not change');
($rc, $out) = $e->kazoo($write, args => ['b']);
is($out, "a,b\n", 'the ensemble keeps serving');

# ---- failover ---------------------------------------------------------------------------
$leader->kill9;
my $new = $e->wait_for_leader(exclude => [ $leader->{zab_id} ]);
ok($new && $new != $leader, 'kill -9 of the leader: a new leader over TLS (member ' . ($new ? $new->{zab_id} : '?') . ')');
($rc, $out) = $e->kazoo($write, args => ['c'], hosts => $e->hosts(grep { $_ != $leader } $e->nodes));
is($out, "a,b,c\n", 'writes go on with two members');
$leader->start;
ok($e->wait_for_leader, 'the old leader rejoins');
ok($e->wait_converged, 'every member has the same tree');
like($leader->log_content, qr/following|FOLLOWING|follower/i, 'it follows now');

$e->stop_all;
done_testing();
