# A member joins an ensemble over mutual TLS (tls.quorum) by reconfig
# (581's "grow", once): the existing members' tls.member_names names the
# joiner before it is a member (its certificate carries IP:127.0.0.14),
# so its connections are accepted while it synchronises as a non-voting
# follower, and it counts after the reconfig. A certificate of the same CA
# naming no member and no member_names entry is still refused.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until tmp_check_dir test_name);
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(run_python);

plan skip_all => 'the openssl command is missing' unless openssl_ok();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca = make_ca($tmp, 'ca');
my %cert = map { ($_ => make_cert($tmp, $ca, "member$_", cn => "member$_", san => "IP:127.0.0.1$_")) } 1 .. 4;
my $stranger = make_cert($tmp, $ca, 'stranger', cn => 'stranger', san => 'IP:127.0.0.99');
my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

my $e = Corral::Test::Ensemble->new('tj', n => 4);
$e->init(
	members => [ 1, 2, 3 ],
	server  => { reconfig_enabled => 'true' },
	modules => { auth_digest      => { super_digest => $SUPER } },
	extra_for => { map {
		($_ => { tls => { cert_file => $cert{$_}{cert}, key_file => $cert{$_}{key}, ca_file => $ca->{cert},
			quorum => 'true', member_names => { 4 => '127.0.0.14' } } })
	} 1 .. 4 });
$e->node($_)->start for 1 .. 3;
my $leader = $e->wait_for_leader(exclude => [4]);
ok($leader, 'initial ensemble of 3 over mutual TLS');

$e->node(4)->start;
ok(wait_until(sub { $e->mode($e->node(4)) eq 'follower' }, 30),
	'the joiner synchronises over TLS and follows before it is a member');

my $reconfig = <<'PY';
import sys, logging, time
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=sys.argv[1], timeout=15, auth_data=[('digest', 'super:test')]); c.start(timeout=30)
for attempt in range(50):
    try:
        data, st = c.reconfig(joining=sys.argv[2], leaving=None, new_members=None)
        print('OK'); break
    except (ConnectionLoss, NewConfigNoQuorumError, ReconfigInProcessError):
        time.sleep(0.2)
    except Exception as ex:
        print('FAIL', type(ex).__name__); break
PY
my $n4 = $e->node(4);
my $spec = "server.4=$n4->{host}:$n4->{peer_port}:$n4->{election_port}:participant;" . $n4->address;
my ($rc, $out, $err) = $e->kazoo($reconfig, args => [ $e->node(1)->address, $spec ]);
like($out, qr/^OK$/m, 'reconfig adds member 4') or diag($out, $err);
ok(wait_until(sub { !grep { ($e->mntr($_)->{zk_quorum_size} // 0) != 4 } $e->nodes }, 30),
	'every member runs with 4 participants');

# With 4 participants a quorum is 3: with member 1 down, 4 must count.
$e->node(1)->stop;
my $l = $e->wait_for_leader(exclude => [1]);
ok($l, 'member 1 down: 2, 3 and 4 elect a leader over TLS');

my ($r2, $o2) = run_python('rogue_member.py', $l->host, $l->{peer_port}, 'followerinfo', 1,
	'--ca', $ca->{cert}, '--cert', $stranger->{cert}, '--key', $stranger->{key}, { timeout => 30 });
like($o2, qr/^(closed|tls-refused)/, 'a certificate of the CA naming nobody is still refused');

$e->node(1)->start;
ok($e->wait_for_leader, 'member 1 back');
ok($e->wait_converged, 'converged');
$e->stop_all;
done_testing();
