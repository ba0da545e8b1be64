# Members authenticated by a shared secret (server.ensemble_secret_file),
# without TLS: an HMAC-SHA256 challenge-response on every peer and
# election connection.
#
# - a 3-member ensemble elects a leader, serves, fails over on kill -9;
# - refused while it keeps serving: a process sending an election
#   notification as member 2 without authenticating, one that says hello
#   as member 2 but cannot prove it (random proof), a FOLLOWERINFO sent
#   straight to the leader's peer port;
# - a member with another secret cannot join (and is logged);
# - settings: a secret file others can read, a secret shorter than 16
#   bytes, a missing file, and together with tls.quorum: refused at start.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Time::HiRes qw(sleep);
use Corral::Test::Ensemble;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(run_python have_kazoo);

plan skip_all => 'python3-kazoo is missing' unless have_kazoo();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/secret", "0123456789abcdef0123456789abcdef\n");
chmod 0600, "$tmp/secret";
write_file("$tmp/other", "fedcba9876543210fedcba9876543210\n");
chmod 0600, "$tmp/other";

my $e = Corral::Test::Ensemble->new('sec', n => 3);
$e->init(server => { ensemble_secret_file => "$tmp/secret" });
my $leader = $e->start;
ok($leader, 'a leader is elected with authenticated members');
like($leader->log_content, qr/members authenticate with the shared secret of \S+secret/, 'the log says how');

my $write = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10)
c.start(timeout=30)
c.ensure_path('/s')
c.create('/s/' + sys.argv[1], b'')
c.sync('/s')
print(','.join(sorted(c.get_children('/s'))))
c.stop()
PY
my ($rc, $out) = $e->kazoo($write, args => ['a']);
is($out, "a\n", 'a write');

sub rogue
{
	my ($node, $port_key, $kind, $id) = @_;
	my ($r, $o, $err) = run_python('rogue_member.py', $node->host, $node->{$port_key}, $kind, $id, { timeout => 30 });
	diag($err) if $r;
	chomp $o;
	return $o;
}
my $target = (grep { $_ != $leader } $e->nodes)[0];
my $claim = $target->{zab_id} == 2 ? 1 : 2;
sleep 1.1;
my $pos = $target->log_position;
is(rogue($target, 'election_port', 'notify', $claim), 'closed', "a notification as member $claim without authenticating: closed");
ok($target->wait_for_log(qr/refusing member connection .*frame type 1 before member authentication/, $pos, 10),
	'... and logged');
sleep 1.1;
$pos = $target->log_position;
is(rogue($target, 'election_port', 'hello', $claim), 'closed', "a hello as member $claim with a wrong proof: closed");
ok($target->wait_for_log(qr/claims to be member $claim but does not know the ensemble secret/, $pos, 10),
	'... and logged');
sleep 1.1;
my $lpos = $leader->log_position;
my $lclaim = $leader->{zab_id} == 2 ? 1 : 2;
is(rogue($leader, 'peer_port', 'followerinfo', $lclaim), 'closed', 'a FOLLOWERINFO straight to the leader: closed');
ok($leader->wait_for_log(qr/frame type 11 before member authentication/, $lpos, 10), '... and logged');
is($e->leader, $leader, 'the leader did not change');
($rc, $out) = $e->kazoo($write, args => ['b']);
is($out, "a,b\n", 'the ensemble keeps serving');

# ---- failover ----------------------------------------------------------------------------
$leader->kill9;
my $new = $e->wait_for_leader(exclude => [ $leader->{zab_id} ]);
ok($new && $new != $leader, 'kill -9 of the leader: a new leader (member ' . ($new ? $new->{zab_id} : '?') . ')');
($rc, $out) = $e->kazoo($write, args => ['c'], hosts => $e->hosts(grep { $_ != $leader } $e->nodes));
is($out, "a,b,c\n", 'writes go on');

# ---- the old leader comes back with another secret: it cannot join ---------------------------
my $cfg = slurp_file($leader->config_file);
$cfg =~ s/ensemble_secret_file: \S+/ensemble_secret_file: $tmp\/other/ or die 'no secret in the configuration';
$leader->write_config($cfg);
$leader->start;
sleep 2;
is($e->mode($leader), 'looking', 'a member with another secret stays out of the ensemble');
ok($new->log_contains(qr/does not know the ensemble secret/), 'and the members say why');
($rc, $out) = $e->kazoo($write, args => ['d'], hosts => $e->hosts(grep { $_ != $leader } $e->nodes));
is($out, "a,b,c,d\n", 'the others keep serving');
$leader->stop;
$cfg =~ s/ensemble_secret_file: \S+/ensemble_secret_file: $tmp\/secret/;
$leader->write_config($cfg);
$leader->start;
ok($e->wait_for_leader, 'with the right secret it rejoins');
ok($e->wait_converged, 'and converges');
$e->stop_all;

# ---- settings -------------------------------------------------------------------------------
{
	my $n = Corral::Test::Ensemble->new('cfg', n => 3);
	my $node = $n->node(1);
	my $try = sub {
		my ($what, $re, %server) = @_;
		$n->init(server => \%server);
		ok(!$node->start(fail_ok => 1, timeout => 10), "$what: corrald does not start");
		like($node->log_content, $re, "$what: the message");
		$node->stop if $node->pid;
	};
	write_file("$tmp/open", "0123456789abcdef0123456789abcdef\n");
	chmod 0644, "$tmp/open";
	$try->('a secret others can read', qr/ensemble_secret_file \S+open is accessible to other users \(mode 644\)/,
		ensemble_secret_file => "$tmp/open");
	write_file("$tmp/short", "tooshort\n");
	chmod 0600, "$tmp/short";
	$try->('a short secret', qr/the secret must be at least 16 bytes/, ensemble_secret_file => "$tmp/short");
	$try->('a missing file', qr/ensemble_secret_file \S+missing: No such file/, ensemble_secret_file => "$tmp/missing");
	# With tls.quorum: a configuration error (mutual TLS already authenticates).
	$n->init(server => { ensemble_secret_file => "$tmp/secret" },
		extra => { tls => { cert_file => '/nonexistent.pem', key_file => '/nonexistent.key', ca_file => '/ca.pem',
			quorum => 'true' } });
	my ($rc, undef, $err) = $node->run_corrald('-c', $node->config_file, '--check-config');
	is($rc, 2, 'ensemble_secret_file with tls.quorum: exit code 2');
	like($err, qr/corrald\.yaml:\d+:\d+: "ensemble_secret_file" and tls\.quorum exclude each other/, '... and why');
}

done_testing();
