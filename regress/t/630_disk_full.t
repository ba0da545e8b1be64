# regress/t/630_disk_full.t: a full disk is a degraded mode, not an exit.
#
# corrald runs storage_file on a 24 MiB tmpfs (mounted here, so root only)
# with 2 MiB WAL segments; an 8 MiB filler file sits next to the data.  A
# kazoo client writes 64 KiB nodes until the server refuses a write (degraded
# mode answers NotReadOnly, -119, as ZooKeeper's read-only server does; kazoo
# raises NotReadOnlyCallError): storage_file could not prepare the next spare
# segment and said so (CorralStorageEnv.space).  Then:
#   * every acknowledged node reads back, from a second client too;
#   * set, create and multi are refused, delete works;
#   * mntr says zk_write_admission 2 (disk) and zk_wal_space_low 1;
#   * ruok answers imok promptly throughout (a pinger runs all along);
# the filler is removed, writes are taken again within a bounded wait.
# After kill -9 with no room left at all, corrald starts anyway, serves
# every acknowledged write and refuses writes until there is room; after
# another kill -9 every acknowledged write is there and every acknowledged
# delete stays done.  Last, a segment size the file system cannot hold twice
# is refused at startup (exit 1) with a message that says why.
#
# The refusal must be NotReadOnly, and nothing else.  kazoo 2.8 has no
# exception for ZooKeeper 3.6's Throttled (-127): its reader thread dies on
# that code (RuntimeError 'Invalid error code') and the call never returns;
# the script registers one for -127, so that a server answering -127 fails
# this test at once instead of hanging it.
use strict;
use warnings;

use File::Temp ();
use POSIX ();
use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'needs root to mount a tmpfs (mount -t tmpfs)' unless $> == 0;
my $node = Corral::Test::Cluster->new('diskfull');
plan skip_all => 'the storage_file module is not built' unless -e $node->modules_dir . '/storage_file.so';

my $mnt = $node->basedir . '/tmpfs';
mkdir $mnt or die "mkdir $mnt: $!";
my ($mrc, $mout, $merr) = run_command([ 'mount', '-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', $mnt ]);
plan skip_all => "cannot mount a tmpfs on $mnt: $merr" if $mrc != 0;
my $mounted = 1;
my $pinger;

END
{
	local $?;
	if ($pinger) { kill 'KILL', $pinger; waitpid($pinger, 0); }
	$node->teardown if $node;
	system('umount', $mnt) if $mounted;
}

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my ($acked, $deleted) = ("$tmp/acked", "$tmp/deleted");

write_file("$tmp/disk.py", <<'EOP');
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo import exceptions as ke

if -127 not in ke.EXCEPTIONS:
    @ke._zookeeper_exception(-127)
    class ThrottledError(ke.ZookeeperError):
        pass
Refused = ke.NotReadOnlyCallError

def data(p):
    return ((p + ':') * (65536 // (len(p) + 1) + 1))[:65536].encode()

def client(hosts):
    c = KazooClient(hosts=hosts, timeout=10, command_retry=None)
    c.start(timeout=20)
    return c

def log_ack(path, p):
    with open(path, 'a') as f:
        f.write(p + '\n')
        f.flush()
        os.fsync(f.fileno())

def refused(what, fn):
    try:
        fn()
    except Refused:
        return True
    except ke.KazooException as e:
        print('BAD %s was refused with %s, not NotReadOnly' % (what, type(e).__name__))
        return False
    print('BAD %s was not refused' % what)
    return False

def op_fill(hosts, acked):
    c = client(hosts)
    c.create('/fill', b'')
    log_ack(acked, '/fill')
    n = 0
    for i in range(2000):
        p = '/fill/n%05d' % i
        try:
            c.create(p, data(p))
        except Refused:
            break
        log_ack(acked, p)
        n += 1
    else:
        print('BAD never throttled after 2000 writes of 64 KiB')
        sys.exit(1)
    print('refused (NotReadOnly) after %d nodes' % n)
    ok = refused('setData', lambda: c.set('/fill/n00000', b'x'))
    ok = refused('create', lambda: c.create('/other', b'')) and ok
    def multi():
        t = c.transaction()
        t.create('/other2', b'')
        t.set_data('/fill', b'y')
        t.commit()
    ok = refused('multi', multi) and ok
    # nothing refused was applied
    if c.exists('/other') or c.exists('/other2') or c.get('/fill')[0] != b'' or \
            c.get('/fill/n00000')[0] != data('/fill/n00000'):
        print('BAD a refused write was applied')
        ok = False
    c.stop()
    sys.exit(0 if ok else 1)

def op_read(hosts, acked, deleted):
    # a second client: session establishment works while writes are refused
    c = client(hosts)
    paths = open(acked).read().split()
    bad = 0
    for p in paths:
        d, st = c.get(p)
        if p != '/fill' and d != data(p):
            print('BAD %s: wrong data (%d bytes)' % (p, len(d)))
            bad += 1
    kids = c.get_children('/fill')
    print('read %d acknowledged nodes, /fill has %d children' % (len(paths), len(kids)))
    # deletes go on, so that clients can make room
    for p in paths[-3:]:
        c.delete(p)
        log_ack(deleted, p)
    print('deleted 3')
    ok = refused('create after the deletes', lambda: c.create('/other', b''))
    c.stop()
    sys.exit(1 if bad or not ok else 0)

def op_again(hosts, acked, limit, base):
    c = client(hosts)
    t0 = time.time()
    while True:
        try:
            c.create(base, data(base))
            break
        except Refused:
            if time.time() - t0 > limit:
                print('BAD still refused after %.1f s' % (time.time() - t0))
                sys.exit(1)
            time.sleep(0.1)
    log_ack(acked, base)
    print('writes taken again after %.1f s' % (time.time() - t0))
    for i in range(5):
        p = '%s/n%d' % (base, i)
        c.create(p, data(p))
        log_ack(acked, p)
    c.set('/fill', b'set again')
    print('5 more creates and a setData')
    c.stop()

def op_check(hosts, acked, deleted):
    c = client(hosts)
    gone = set(open(deleted).read().split()) if os.path.exists(deleted) else set()
    paths = [p for p in open(acked).read().split() if p not in gone]
    bad = 0
    for p in paths:
        r = c.exists(p)
        if r is None:
            print('BAD %s was acknowledged but is missing' % p)
            bad += 1
            continue
        d, st = c.get(p)
        want = b'set again' if p == '/fill' else data(p)
        if d != want:
            print('BAD %s: wrong data (%d bytes)' % (p, len(d)))
            bad += 1
    for p in gone:
        if c.exists(p) is not None:
            print('BAD %s was deleted but is back' % p)
            bad += 1
    print('checked %d acknowledged nodes, %d deleted' % (len(paths), len(gone)))
    c.stop()
    sys.exit(1 if bad else 0)

op = sys.argv[1]
if op == 'fill':
    op_fill(sys.argv[2], sys.argv[3])
elif op == 'read':
    op_read(sys.argv[2], sys.argv[3], sys.argv[4])
elif op == 'again':
    op_again(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
else:
    op_check(sys.argv[2], sys.argv[3], sys.argv[4])
EOP

sub py
{
	my (@args) = @_;
	my ($rc, $out, $err) = run_command([ python3(), "$tmp/disk.py", @args ], timeout => 60,
		env => { PYTHONDONTWRITEBYTECODE => 1 });
	note($out) if $out ne '';
	return ($rc, $out, $err);
}

sub mntr
{
	my %m = map { split /\t/, $_, 2 } split /\n/, ($node->fourlw('mntr') // '');
	return \%m;
}

# A second process asks ruok every 100 ms from before the disk fills until
# after it has room again, and writes down each answer and how long it took.
sub start_pinger
{
	my ($file) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	return $pid if $pid;
	open(my $fh, '>', $file) or POSIX::_exit(1);
	$fh->autoflush(1);
	while (1)
	{
		my $t0 = time();
		my $r = $node->fourlw('ruok', timeout => 5) // 'none';
		printf $fh "%s %.3f\n", ($r eq 'imok' ? 'imok' : 'bad'), time() - $t0;
		usleep(100_000);
	}
}

# Appends to $path until the file system is full; returns the bytes added.
sub fill_disk
{
	my ($path) = @_;
	open(my $f, '>>', $path) or die "$path: $!";
	my $n = 0;
	for (my $sz = 65536; $sz >= 512; $sz /= 2)
	{
		while (1)
		{
			my $w = syswrite($f, "\xa5" x $sz);
			last unless $w;
			$n += $w;
		}
	}
	close $f;
	return $n;
}

# 8 MiB that the test frees later, to give the server room again.
my $filler = "$mnt/filler";
open(my $fh, '>', $filler) or die "$filler: $!";
print $fh ("\xa5" x 65536) for 1 .. 128;
close $fh or die "$filler: $!";

$node->init(
	server  => { data_dir => "$mnt/data" },
	modules => { storage_file => { segment_bytes => 2097152, snapshot_every_txns => 100000 } });
$node->start;
my $t_start = time();
$pinger = start_pinger("$tmp/pings");

# 1. Fill the disk until writes are refused.
my $pos = $node->log_position;
my ($rc, $out, $err) = py('fill', $node->address, $acked);
is($rc, 0, 'writes of 64 KiB nodes until one is refused with NotReadOnly (-119); set, create, multi refused')
  or diag($out . $err);
like($out, qr/refused \(NotReadOnly\) after (\d+) nodes/, 'the client saw NotReadOnly');
my ($nfill) = $out =~ /refused \(NotReadOnly\) after (\d+) nodes/;
ok(($nfill // 0) >= 20, 'only once the disk was nearly full (' . ($nfill // 0) . ' nodes of 64 KiB)');
ok($node->log_contains(qr/WARN \[storage\] out of space for the WAL: cannot preallocate 2097152 bytes for the next WAL segment \S+\/wal\/spare\.tmp: No space left on device/, $pos),
	'storage_file logs why: the spare segment, its size, ENOSPC');
ok($node->log_contains(qr/WARN \[server\] refusing writes \(NotReadOnly\) until this clears: cannot preallocate/, $pos),
	'the core says it refuses writes');

# 2. Degraded mode: reads, a new session, deletes; mntr.
my $m = mntr();
is($m->{zk_write_admission}, 2, 'mntr: zk_write_admission 2 (disk)');
is($m->{zk_wal_space_low}, 1, 'mntr: zk_wal_space_low 1');
ok(($m->{zk_wal_space_failures} // 0) >= 1, 'mntr: zk_wal_space_failures counts the attempts');
($rc, $out, $err) = py('read', $node->address, $acked, $deleted);
is($rc, 0, 'a second client connects, reads every acknowledged node, deletes; creates still refused')
  or diag($out . $err);
my $t0 = time();
is($node->fourlw('ruok'), 'imok', 'ruok answers imok while writes are refused');
ok(time() - $t0 < 1, 'promptly');
ok($node->is_running, 'corrald still runs');

# 3. Room again: writes are taken within a bounded wait.
$pos = $node->log_position;
unlink $filler or die "unlink $filler: $!";
($rc, $out, $err) = py('again', $node->address, $acked, 15, '/after');
is($rc, 0, 'after the filler is removed, writes are taken again within 15 s') or diag($out . $err);
ok($node->wait_for_log(qr/INFO \[storage\] room for the WAL again/, $pos, 5), 'storage_file logs room again');
ok($node->log_contains(qr/INFO \[server\] taking writes again: storage out of space no longer holds/, $pos),
	'and the core takes writes again');
$m = mntr();
is($m->{zk_write_admission}, 0, 'mntr: zk_write_admission 0');
is($m->{zk_wal_space_low}, 0, 'mntr: zk_wal_space_low 0');

# The pinger's view of the whole episode.
kill 'KILL', $pinger;
waitpid($pinger, 0);
$pinger = undef;
my @pings = map { [split] } split /\n/, slurp_file("$tmp/pings");
my @bad = grep { $_->[0] ne 'imok' } @pings;
my ($max) = sort { $b <=> $a } map { $_->[1] } @pings;
ok(@pings >= 5 && !@bad, scalar(@pings) . ' ruok while the disk filled and emptied: all imok');
ok(($max // 99) < 1.0, sprintf('the slowest answered in %.3f s', $max // 99));

# 4. kill -9, and no room at all when it starts again (the spare gone
# too): it starts, serves every acknowledged write, refuses writes.
$node->kill9;
unlink("$mnt/data/wal/spare.tmp") or die "unlink spare.tmp: $!";
my $filled = fill_disk($filler);
ok($filled > 0, "no room left on the tmpfs ($filled bytes more in the filler)");
$pos = $node->log_position;
$node->start;
my $log = $node->log_content($pos);
like($log, qr/WARN \[storage\] out of space for the WAL: .*spare\.tmp: No space left on device/,
	'restart without room: storage_file says so');
unlike($log, qr/FATAL|ERROR/, 'and starts without error');
is(mntr()->{zk_write_admission}, 2, 'mntr: zk_write_admission 2 from the start');
($rc, $out, $err) = py('check', $node->address, $acked, $deleted);
is($rc, 0, 'every acknowledged write is there (read while writes are refused)') or diag($out . $err);
$pos = $node->log_position;
unlink $filler or die "unlink $filler: $!";
($rc, $out, $err) = py('again', $node->address, $acked, 15, '/after2');
is($rc, 0, 'room again: writes are taken without a restart') or diag($out . $err);

# 5. kill -9, restart: nothing acknowledged is lost.
$node->kill9;
$pos = $node->log_position;
$node->start;
unlike($node->log_content($pos), qr/FATAL|ERROR/, 'restart after kill -9 without error');
($rc, $out, $err) = py('check', $node->address, $acked, $deleted);
is($rc, 0, 'every acknowledged write is there, every acknowledged delete stays done') or diag($out . $err);
unlike($node->log_content, qr/FATAL/, 'no FATAL in the whole log');
is($node->stop, 0, 'clean stop');

# 6. A segment size this file system cannot hold twice: refused at startup.
$node->init(
	server  => { data_dir => "$mnt/data" },
	modules => { storage_file => { segment_bytes => 16777216 } });
$pos = $node->log_position;
ok(!$node->start(fail_ok => 1), 'segment_bytes of 16 MiB on a 24 MiB file system: corrald does not start');
is($node->exit_code, 1, 'exit code 1');
like($node->log_content($pos),
	qr/FATAL \[server\] storage storage_file: cannot open \S+: WAL segments of 16777216 bytes \(modules\.storage_file\.segment_bytes\) do not fit on the file system of \S+: it holds 25165824 bytes in all, and the WAL needs room for two/,
	'with a message that says why');
note(sprintf('took %.1f s', time() - $t_start));

done_testing();
