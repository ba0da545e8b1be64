# regress/t/540_sync_modes.t: how a member catches up with the leader.
#  - DIFF: a follower that was down for a while gets the missing txns;
#  - SNAP: a follower whose data directory was wiped gets the whole state,
#    stores it, and recovers from it after a restart;
#  - TRUNC: a follower that logged a proposal that was never committed (its
#    leader lost the quorum) drops it when it joins the new leader; the old
#    leader, which had applied it, is resynchronised (SNAP) and has it no
#    more; both recover the right state after a restart (storage_file).
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $writes = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/d')
for i in range(int(sys.argv[2])):
    c.create('/d/%s-%04d' % (sys.argv[1], i), b'x' * 100)
print('WROTE')
c.stop()
PY

my $count = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/')
print(len(c.get_children('/d')) if c.exists('/d') else 0, 'yes' if c.exists('/t/uncommitted') else 'no')
c.stop()
PY

# ---- DIFF and SNAP (3 members) -----------------------------------------------------
my $e = Corral::Test::Ensemble->new('y', n => 3);
$e->init(modules => { storage_file => { snapshot_every_txns => 25 } });
my $leader = $e->start;
ok($leader, 'leader elected');
my ($rc, $out) = $e->kazoo($writes, args => [ 'a', 50 ]);
is($out, "WROTE\n", '50 writes');
for my $round (1 .. 2)
{
	my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
	$f->stop;
	($rc, $out) = $e->kazoo($writes, hosts => $e->hosts(grep { $_ != $f } $e->nodes), args => [ "diff$round", 100 ]);
	is($out, "WROTE\n", "DIFF round $round: 100 writes while follower $f->{zab_id} is down");
	$leader = $e->leader;
	my $pos = $leader->log_position;
	$f->start;
	ok($e->wait_for_leader, "DIFF round $round: follower back");
	ok($leader->wait_for_log(qr/syncing follower $f->{zab_id} \(at 0x[0-9a-f]+\) by DIFF to/, $pos, 10),
		"DIFF round $round: synchronised by DIFF");
	ok($e->wait_converged, "DIFF round $round: converged");
}
{
	# After a restart the members' in-memory history starts at what they
	# recovered: a member with nothing is too far behind for a DIFF.
	$e->stop_all;
	ok($e->start, 'restarted every member');
	ok($e->wait_converged, 'converged after the restart');
	my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
	$f->kill9;
	File::Path::rmtree($f->data_dir);
	($rc, $out) = $e->kazoo($writes, hosts => $e->hosts(grep { $_ != $f } $e->nodes), args => [ 'snap', 20 ]);
	$leader = $e->leader;
	my $pos = $leader->log_position;
	$f->start;
	ok($e->wait_for_leader, 'SNAP: wiped follower back');
	ok($leader->wait_for_log(qr/syncing follower $f->{zab_id} \(at 0x0\) by SNAP to/, $pos, 10), 'SNAP: synchronised by SNAP');
	ok($e->wait_converged, 'SNAP: converged');
	$f->kill9;
	$pos = $f->log_position;
	$f->start;
	ok($e->wait_for_leader, 'SNAP: restarted after the SNAP');
	ok($e->wait_converged, 'SNAP: converged after recovering from the installed snapshot');
	($rc, $out) = $e->kazoo($count, hosts => $f->address);
	is($out, "270 no\n", 'SNAP: every node there');
}
$e->stop_all;

# ---- TRUNC (5 members behind the proxy) ---------------------------------------------
my $t = Corral::Test::Ensemble->new('t', n => 5, proxy => 1);
# Frequent storage snapshots: the old leader stores one that holds its
# uncommitted (speculatively applied) write, which must not survive.
$t->init(server => { peer_timeout_ms => 400 }, modules => { storage_file => { snapshot_every_txns => 1 } });
my $tl = $t->start;
ok($tl, '5 members: leader elected');
# Which member leads depends on when each one started (a member that
# decided on a vote its leader then abandoned looks again, so the first
# vote a quorum keeps wins): L is the leader, P the lowest other id, R the
# remaining three.
my $L = $tl ? $tl->{zab_id} : 5;
my ($P, @R) = grep { $_ != $L } 1 .. 5;
note("leader $L, partner $P, others @R");
($rc, $out) = $t->kazoo($writes, args => [ 'base', 10 ]);
$t->kazoo("from kazoo.client import KazooClient\nimport os\nc=KazooClient(hosts=os.environ['HOSTS']);c.start(30);c.ensure_path('/t');c.stop()\n");

# A client on the leader writes once the "go" file exists.
my $go = $t->node($P)->basedir . '/go';
my $late = <<PY;
import os, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=5, connection_retry=KazooRetry(max_tries=0))
c.start(timeout=10)
print('CONNECTED', flush=True)
while not os.path.exists('$go'): time.sleep(0.01)
try:
    c.create('/t/uncommitted', b'x'); print('ACKED')
except Exception as ex:
    print('FAILED', type(ex).__name__)
PY
my $h = $t->kazoo_bg($late, hosts => $t->node($L)->address);
ok(wait_until(sub { Corral::Test::Utils::slurp_file($h->{out}) =~ /CONNECTED/ }, 20), 'client connected to the leader');
# Leader L keeps only member P; member P keeps only the leader.
for my $a ($P, $L) { $t->block($a, $_) for @R; }
Corral::Test::Utils::write_file($go, '');
my $l1 = $t->node($P);
ok(wait_until(sub { $t->mode($t->node($L)) ne 'leader' }, 10), 'the leader lost its quorum and stepped down');
my $new = $t->wait_for_leader(exclude => [ $P, $L ]);
ok($new, "members @R elected member " . ($new ? $new->{zab_id} : '?'));
($rc, $out) = $t->kazoo_wait($h, 30);
unlike($out, qr/ACKED/, "the write on the old leader was not acknowledged ($out)");
ok($t->node($L)->log_contains(qr/./), 'old leader log');
($rc, $out) = $t->kazoo($writes, hosts => $t->hosts(map { $t->node($_) } @R), args => [ 'after', 10 ]);
is($out, "WROTE\n", 'the new leader takes writes');

my $pos = $new->log_position;
my $pos1 = $l1->log_position;
$t->unblock($P, $_) for @R;
ok($new->wait_for_log(qr/syncing follower $P \(at 0x[0-9a-f]+\) by TRUNC to/, $pos, 15),
	"member $P (logged the uncommitted proposal) is synchronised by TRUNC");
ok($l1->wait_for_log(qr/TRUNC: dropped every txn after/, $pos1, 5), "member $P dropped it");
my $pos5 = $t->node($L)->log_position;
$t->heal;
ok($t->wait_for_leader, 'healed: one leader');
ok($t->node($L)->wait_for_log(qr/state rebuilt from storage up to (0x[0-9a-f]+) \(TRUNC to \1\)/, $pos5, 15),
	'the old leader (it had applied the uncommitted write) truncated its storage and rebuilt its state');
ok($t->wait_converged, 'every member converged');
for my $id ($P, $L)
{
	($rc, $out) = $t->kazoo($count, hosts => $t->node($id)->address);
	is($out, "20 no\n", "member $id: the uncommitted write is gone, the committed ones are there");
	$t->node($id)->kill9;
	$t->node($id)->start;
	ok($t->wait_for_leader, "member $id restarted");
	ok($t->wait_converged, "member $id: recovered the right state from its storage");
	($rc, $out) = $t->kazoo($count, hosts => $t->node($id)->address);
	is($out, "20 no\n", "member $id after the restart: same");
}
$t->stop_all;
done_testing();
