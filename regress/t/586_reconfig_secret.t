# regress/t/586_reconfig_secret.t: a joiner in an ensemble whose members
# authenticate with a shared secret (server.ensemble_secret_file): it is
# accepted (the secret authenticates it although the configuration does not
# list it yet), follows without counting, and counts once reconfig adds it.
use strict;
use warnings;

use File::Temp;
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until write_file tmp_check_dir test_name);

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/secret", "0123456789abcdef0123456789abcdef\n");
chmod 0600, "$tmp/secret";
my $e = Corral::Test::Ensemble->new('js', n => 4);
$e->init(
	members => [ 1, 2, 3 ],
	server  => { ensemble_secret_file => "$tmp/secret", reconfig_enabled => 'true', reconfig_skip_acl => 'true' });
$e->node($_)->start for 1 .. 3;
ok($e->wait_for_leader(exclude => [4]), 'three members with a shared secret');
my $n = $e->node(4);
$n->start;
ok(wait_until(sub { $e->mode($n) eq 'follower' }, 20), 'the joiner (same secret) follows');
is($e->mntr($n)->{zk_quorum_size}, 3, 'without counting');
my ($rc, $out, $err) = $e->kazoo(<<PY, hosts => $e->node(1)->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
d, _ = c.reconfig(joining='server.4=$n->{host}:$n->{peer_port}:$n->{election_port}:participant;@{[ $n->address ]}', leaving=None, new_members=None)
print(d.decode())
PY
like($out, qr/^server\.4=/m, 'reconfig adds it') or diag($err);
ok(wait_until(sub { !grep { ($e->mntr($_)->{zk_quorum_size} // 0) != 4 } $e->nodes }, 20), 'every member counts 4 participants');
$e->stop_all;
done_testing();
