# regress/t/622_snap_fallback.t: the snapshot fallback after a follower was
# synchronised by SNAP.
#
# doc/storage.md ("Snapshots") rests the fallback to an older snapshot on
# one invariant: no snapshot is ever ahead of the WAL, so the WAL alone
# rebuilds any state from an older snapshot.  A follower that was down while
# the leader's in-memory history moved on (more than 128 MiB) is
# synchronised by SNAP: it stores the leader's snapshot at zxid Z while its
# own WAL ends at an earlier zxid F, and logs the records after Z next to
# them.  The transactions F+1..Z are then in the SNAP snapshot only.  If that
# snapshot is damaged later, recovery falls back to the follower's older
# snapshot and replays its WAL across the gap: zxids only have to increase.
#
# That was the case until storage_file 96c0e2b (this test found it: the
# follower came back serving 45 of 185 nodes, with the ensemble none the
# wiser).  Now the first record after a SNAP starts a new segment whose
# header chains to the SNAP's zxid, so the hole shows in the segment chain.
#
# This test builds that state, damages the snapshots taken since the SNAP,
# and checks that
#   * `corralctl verify` reports the transactions missing from both the
#     snapshot it would load and the WAL (as the chain error recovery stops
#     with; its zxid-continuity check would report a gap inside a segment);
#   * the follower then either refuses to start, with verify's message, or
#     recovers every acknowledged write (the same tree as the leader).
use strict;
use warnings;

use Test::More;
use JSON::PP;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until run_command);

my $e = Corral::Test::Ensemble->new('sf', n => 3);
plan skip_all => 'the storage_file module is not built'
  unless -e $e->node(1)->modules_dir . '/storage_file.so';

# Idempotent writes: a create whose answer was lost (a slow machine, an
# election) is retried, and finding the node there is fine.
my $writes = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.exceptions import NodeExistsError
c = KazooClient(hosts=os.environ['HOSTS'], timeout=30,
                connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1),
                command_retry=KazooRetry(max_tries=20, delay=0.1, max_delay=2))
c.start(timeout=60)
prefix, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c.retry(c.ensure_path, '/d')
for i in range(n):
    try:
        c.retry(c.create, '/d/%s-%04d' % (prefix, i), b'x' * size)
    except NodeExistsError:
        pass
print('WROTE')
c.stop()
PY

my $count = <<'PY';
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/')
print(len(c.get_children('/d')))
c.stop()
PY

# Ticks of 500 ms: snapshots of ~140 MB of data are taken on the way, and a
# slow machine (sanitizers) must not lose its leader over them.
$e->init(server => { tick_ms => 500, init_limit => 20 }, modules => { storage_file => { snapshot_every_txns => 10 } });
my $leader = $e->start;
ok($leader, 'leader elected');
my ($rc, $out) = $e->kazoo($writes, args => [ 'a', 40, 100 ]);
is($out, "WROTE\n", '40 small writes');
ok($e->wait_converged, 'converged');

my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
my $fdir = $f->data_dir;
is($f->stop, 0, "follower $f->{zab_id} stopped");
my %before = map { $_ => 1 } glob("$fdir/snapshot.*.zst");
ok(%before >= 1, 'the follower has snapshots of its own (' . scalar(keys %before) . ')');

# More than the leader's 128 MiB of history while the follower is down.
($rc, $out) = $e->kazoo($writes, hosts => $e->hosts(grep { $_ != $f } $e->nodes), args => [ 'big', 140, 1000000 ],
	timeout => 300);
is($out, "WROTE\n", '140 writes of 1 MB while the follower is down');
$leader = $e->leader;
my $pos = $leader->log_position;
$f->start;
ok($e->wait_for_leader, 'follower back');
ok($leader->wait_for_log(qr/syncing follower $f->{zab_id} \(at 0x[0-9a-f]+\) by SNAP to/, $pos, 30),
	'the follower was synchronised by SNAP');
ok($e->wait_converged(timeout => 60), 'converged after the SNAP');
my $err;
($rc, $out, $err) = $e->kazoo($writes, hosts => $e->leader->address, args => [ 'c', 5, 100 ]);
is($out, "WROTE\n", '5 more writes') or diag($err);
ok($e->wait_converged(timeout => 60), 'converged');
($rc, $out) = $e->kazoo($count, hosts => $f->address);
is($out, "185\n", 'the follower serves all 185 nodes');
is($f->stop, 0, 'follower stopped');

# Damage every snapshot the follower took since the SNAP (the installed one
# included); its own older snapshots remain.
my @after = grep { !$before{$_} } glob("$fdir/snapshot.*.zst");
ok(@after >= 1, 'snapshots since the SNAP: ' . scalar(@after));
ok(scalar(grep { -e $_ } keys %before) >= 1, 'an older snapshot of its own is still there');
for my $s (@after)
{
	open(my $fh, '+<:raw', $s) or die "$s: $!";
	sysseek($fh, 70, 0);
	syswrite($fh, "\xde\xad\xbe\xef");
	close $fh;
}
my $ctl = $f->build_dir . '/bin/corralctl';
($rc, $out) = run_command([ $ctl, 'verify', $fdir ], timeout => 120);
isnt($rc, 0, 'verify: exit 1');
# storage_file starts a new segment chained to the SNAP's zxid, so the hole
# shows in the segment chain: recovery (and verify) refuse.
like($out, qr/^ERROR: WAL segment .* starts after zxid 0x[0-9a-f]+ but .* ends at zxid 0x[0-9a-f]+: the transactions in between are missing/m,
	'verify reports the transactions missing from both the snapshot and the WAL')
  or diag($out);

# The follower restarts: refusing is right, and so is recovering the whole
# tree; serving a tree without the SNAP's transactions is not.
$pos = $f->log_position;
my $started = $f->start(fail_ok => 1);
if (!$started)
{
	pass('the follower refuses to start (exit ' . ($f->exit_code // 'none') . ')');
	my ($msg) = $f->log_content($pos) =~ /FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	my ($vmsg) = $out =~ /^ERROR: (.*)$/m;
	is($msg, $vmsg, '... with the message verify predicted');
}
else
{
	my $rec = ($f->log_content($pos) =~ /(recovered from .*)/)[0] // '';
	note("follower: $rec");
	ok($e->wait_for_leader, 'follower back after the restart');
	ok($e->wait_converged(timeout => 20), 'the follower has the same tree as the leader')
	  or diag('follower ' . join(' ', @{ $e->state($f) // [] }) . ', leader ' . join(' ', @{ $e->state($e->leader) // [] }));
	($rc, $out) = $e->kazoo($count, hosts => $f->address);
	is($out, "185\n", 'the follower serves all 185 nodes (every acknowledged write)');
}

done_testing();
