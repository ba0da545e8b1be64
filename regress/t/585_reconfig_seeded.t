# regress/t/585_reconfig_seeded.t: a data directory copied from another
# ensemble (a restored backup seeding new members, doc/backup.md) holds that
# ensemble's /zookeeper/config in its state but no zab_config: the new
# members run with their own configuration file's ensemble (as ZooKeeper
# takes its members from its own files), and the first leader records it.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(rmtree);
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until run_command);

my $a = Corral::Test::Ensemble->new('sa', n => 3);
$a->init(server => { reconfig_enabled => 'true', reconfig_skip_acl => 'true' });
ok($a->start, 'ensemble A');
my ($rc, $out, $err) = $a->kazoo(<<'PY');
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/seed', b'from A')
d, _ = c.reconfig(joining='server.9=127.0.0.1:1:2:observer;127.0.0.1:3', leaving=None, new_members=None)
print('A', d.decode().replace('\n', '|'))
PY
like($out, qr/^A .*server\.9=/m, 'A reconfigured (reconfig_skip_acl: no super user needed)') or diag($err);
$a->stop_all;

# B: three new members on other ports, each seeded with A's member 1 data
# (state and WAL), without its zab_config.
my $b = Corral::Test::Ensemble->new('sb', n => 3);
$b->init;
for my $n ($b->nodes)
{
	rmtree($n->data_dir);
	system('cp', '-a', $a->node(1)->data_dir, $n->data_dir) == 0 or die 'cp';
	unlink($n->data_dir . '/zab_config');
	unlink($n->data_dir . '/zab_epochs');
}
ok($b->start, 'ensemble B starts on the seeded data');
ok($b->node(1)->log_contains(qr/the recovered state holds an ensemble configuration \(version [0-9a-f]+\) but the data directory has no zab_config/),
	'a member says it ignores the configuration found in the state');
($rc, $out, $err) = $b->kazoo(<<'PY');
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/')
print('DATA', c.get('/seed')[0].decode())
print('B', c.get('/zookeeper/config')[0].decode().replace('\n', '|'))
PY
like($out, qr/^DATA from A$/m, 'B serves the seeded data') or diag($err);
my $want = join('|', map { "server.$_->{zab_id}=$_->{host}:$_->{peer_port}:$_->{election_port}:participant;" . $_->address } $b->nodes);
like($out, qr/^B \Q$want\E\|version=[0-9a-f]+00000000$/m, "B's /zookeeper/config is B's own ensemble, recorded by its first leader");
for my $n ($b->nodes)
{
	like($n->fourlw('conf'), qr/membership: \n\Q${\ join("\n", split(m{\|}, $want))}\E\nversion=/, "member $n->{zab_id} runs with B's members");
}
$b->stop_all;
done_testing();
