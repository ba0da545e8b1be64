# regress/t/610_crash_kill9.t: kill -9 of a storage_file server under
# concurrent writers, ten times in a row, and what survives.
#
# Six writers (three processes of two threads, kazoo) each own four keys
# and a directory.  Each does setData with the expected version, creates,
# and multis (two creates + a setData with a version), one at a time, and
# logs every operation before sending it ("S") and when it is acknowledged
# ("A", fsynced).  The server is killed with SIGKILL at a random moment, the
# writers are stopped, `corralctl verify` must find nothing worse than a torn
# tail, the server restarts, and the checker compares the tree with the logs:
#   * every acknowledged write is there, with its version and its exact data
#     (the data of a key is a function of its version, so a setData is either
#     fully applied or not at all);
#   * the one operation each writer had in flight is applied or not, never in
#     part: a multi's two nodes and its setData go together;
#   * nothing that was never sent appears, and nothing acknowledged before
#     disappears in a later cycle.
# 611_crash_kill9_snapshots.t runs this file again with snapshots every 200
# transactions, so that recovery goes through snapshot + WAL.
use strict;
use warnings;

use File::Temp ();
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

our $CRASH_SNAPSHOTS;    # set by 611_crash_kill9_snapshots.t
my $snapshots = $CRASH_SNAPSHOTS // 0;
my $cycles    = $ENV{CORRAL_CRASH_CYCLES} // 10;
my ($nproc, $nthreads) = (3, 2);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
my $node = Corral::Test::Cluster->new($snapshots ? 'crashsnap' : 'crash');
plan skip_all => 'the storage_file module is not built' unless -e $node->modules_dir . '/storage_file.so';

my $tmp    = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $logdir = "$tmp/logs";
mkdir $logdir or die "mkdir $logdir: $!";
my $ctl = $node->build_dir . '/bin/corralctl';
srand($ENV{CORRAL_CRASH_SEED} // time());
note('seed: ' . srand());

write_file("$tmp/crash.py", <<'EOP');
import json, os, random, sys, threading, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.exceptions import ConnectionLoss, SessionExpiredError, NoNodeError

NKEYS = 4

def kdata(w, i, v):
    s = '%s/k%d@%d:' % (w, i, v)
    return (s + 'x' * ((v * 7919 + i * 104729 + len(w)) % 1500)).encode()

def ndata(path):
    return (path + ':' + 'y' * ((len(path) * 37 + sum(map(ord, path))) % 900)).encode()

def client(hosts):
    c = KazooClient(hosts=hosts, timeout=10, connection_retry=KazooRetry(max_tries=0),
                    command_retry=None)
    c.start(timeout=20)
    return c

def slots(nproc, nthreads):
    return ['p%dt%d' % (p, t) for p in range(nproc) for t in range(nthreads)]

def op_write(hosts, logdir, cycle, proc, nthreads, duration):
    c = client(hosts)
    stop = threading.Event()
    def writer(w):
        fd = os.open('%s/%s.%d.log' % (logdir, w, cycle), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        def log(line, sync=False):
            os.write(fd, (line + '\n').encode())
            if sync:
                os.fsync(fd)
        base = '/crash/' + w
        vers = {}
        for i in range(NKEYS):
            d, st = c.get('%s/k%d' % (base, i))
            vers[i] = st.version
        rnd = random.Random()
        n = 0
        end = time.time() + duration
        while time.time() < end and not stop.is_set():
            n += 1
            opid = '%d.%d' % (cycle, n)
            r = rnd.random()
            try:
                if r < 0.5:
                    i = rnd.randrange(NKEYS)
                    t = vers[i] + 1
                    log('S %s set %d %d' % (opid, i, t))
                    c.set('%s/k%d' % (base, i), kdata(w, i, t), version=vers[i])
                    vers[i] = t
                elif r < 0.75:
                    p = '%s/n%d_%d' % (base, cycle, n)
                    log('S %s create %s' % (opid, p))
                    c.create(p, ndata(p))
                else:
                    i = rnd.randrange(NKEYS)
                    t = vers[i] + 1
                    a, b = '%s/m%d_%da' % (base, cycle, n), '%s/m%d_%db' % (base, cycle, n)
                    log('S %s multi %s %s %d %d' % (opid, a, b, i, t))
                    tx = c.transaction()
                    tx.create(a, ndata(a)); tx.set_data('%s/k%d' % (base, i), kdata(w, i, t), version=vers[i])
                    tx.create(b, ndata(b))
                    res = tx.commit()
                    bad = [x for x in res if isinstance(x, Exception)]
                    if bad:
                        log('X %s %r' % (opid, bad), True)
                        break
                    vers[i] = t
                log('A %s' % opid, True)
            except (ConnectionLoss, SessionExpiredError) as e:
                log('E %s %s' % (opid, type(e).__name__), True)
                break
            except Exception as e:
                # a definite refusal (BadVersion, NodeExists...) means the
                # writer's picture of the tree was wrong: the checker fails it
                log('X %s %s' % (opid, type(e).__name__), True)
                break
        os.close(fd)
    ths = [threading.Thread(target=writer, args=('p%dt%d' % (proc, t),)) for t in range(nthreads)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    os._exit(0)

def op_init(hosts, logdir, nproc, nthreads):
    c = client(hosts)
    c.create('/crash', b'')
    state = {'keys': {}, 'nodes': []}
    for w in slots(nproc, nthreads):
        c.create('/crash/' + w, b'')
        for i in range(NKEYS):
            c.create('/crash/%s/k%d' % (w, i), kdata(w, i, 0))
            state['keys']['%s/k%d' % (w, i)] = 0
    json.dump(state, open(logdir + '/state.json', 'w'))
    print('init done')
    c.stop()

def op_check(hosts, logdir, cycle, nproc, nthreads, full):
    """Checks the tree against state.json (what the previous check saw) and
    the logs of `cycle`; writes the new state.json."""
    state = json.load(open(logdir + '/state.json'))
    c = client(hosts)
    bad = []
    stats = {'acked': 0, 'inflight': 0, 'inflight_applied': 0}
    known = set(state['nodes'])
    new_nodes = []
    for w in slots(nproc, nthreads):
        base = '/crash/' + w
        expect = {i: state['keys']['%s/k%d' % (w, i)] for i in range(NKEYS)}
        acked_nodes, maybe_nodes, multis = [], [], []
        sent = set()
        maybe_key = {}
        path = '%s/%s.%d.log' % (logdir, w, cycle)
        lines = open(path).read().split('\n') if os.path.exists(path) else []
        ops, order = {}, []
        for l in lines:
            f = l.split()
            if not f:
                continue
            if f[0] == 'S':
                ops[f[1]] = {'kind': f[2], 'args': f[3:], 'acked': False}
                order.append(f[1])
            elif f[0] == 'A':
                ops[f[1]]['acked'] = True
            elif f[0] == 'X':
                bad.append('%s: operation %s was refused: %s' % (w, f[1], ' '.join(f[2:])))
        for k, opid in enumerate(order):
            o = ops[opid]
            if not o['acked'] and k != len(order) - 1:
                bad.append('%s: operation %s was not acknowledged but is not the last one' % (w, opid))
            stats['acked' if o['acked'] else 'inflight'] += 1
            if o['kind'] == 'set':
                i, t = int(o['args'][0]), int(o['args'][1])
                if o['acked']:
                    if t != expect[i] + 1:
                        bad.append('%s: set %s of k%d to version %d, expected %d' % (w, opid, i, t, expect[i] + 1))
                    expect[i] = t
                else:
                    maybe_key[i] = t
            elif o['kind'] == 'create':
                sent.add(o['args'][0])
                (acked_nodes if o['acked'] else maybe_nodes).append(o['args'][0])
            else:
                a, b, i, t = o['args'][0], o['args'][1], int(o['args'][2]), int(o['args'][3])
                sent.update((a, b))
                if o['acked']:
                    acked_nodes.extend((a, b))
                    expect[i] = t
                else:
                    multis.append((a, b, i, t))
        # keys: exact version and data
        actual = {}
        for i in range(NKEYS):
            d, st = c.get('%s/k%d' % (base, i))
            actual[i] = st.version
            ok = [expect[i]] + ([maybe_key[i]] if i in maybe_key and maybe_key[i] == expect[i] + 1 else [])
            ok += [t for (a, b, j, t) in multis if j == i and t == expect[i] + 1]
            if st.version not in ok:
                bad.append('%s/k%d: version %d, acknowledged %d (allowed %s)' % (base, i, st.version, expect[i], ok))
            if d != kdata(w, i, st.version):
                bad.append('%s/k%d: version %d has the data of another version or is torn (%d bytes)'
                           % (base, i, st.version, len(d)))
            if i in maybe_key and st.version == maybe_key[i] and st.version != expect[i]:
                stats['inflight_applied'] += 1
        children = set(base + '/' + ch for ch in c.get_children(base))
        keys = set('%s/k%d' % (base, i) for i in range(NKEYS))
        for p in sorted(children - keys - known - sent):
            bad.append('%s exists but was never sent' % p)
        for p in sorted(p for p in known if p.startswith(base + '/') and p not in children):
            bad.append('%s (acknowledged in an earlier cycle) is gone' % p)
        for p in acked_nodes:
            if p not in children:
                bad.append('%s was acknowledged but is missing' % p)
        for p in maybe_nodes:
            if p in children:
                stats['inflight_applied'] += 1
        for (a, b, i, t) in multis:
            applied = [a in children, b in children, actual[i] == t]
            if len(set(applied)) != 1:
                bad.append('%s: multi half applied: %s %s, %s %s, k%d at version %d (multi: %d)'
                           % (w, a, applied[0], b, applied[1], i, actual[i], t))
            elif applied[0]:
                stats['inflight_applied'] += 1
        to_read = [p for p in children - keys if p in sent] if not full else list(children - keys)
        rs = [(p, c.get_async(p)) for p in to_read]
        for p, r in rs:
            d, st = r.get(timeout=30)
            if d != ndata(p) or st.version != 0:
                bad.append('%s: data or version wrong (version %d, %d bytes)' % (p, st.version, len(d)))
        for i in range(NKEYS):
            state['keys']['%s/k%d' % (w, i)] = actual[i]
        new_nodes.extend(p for p in children - keys if p not in known)
    state['nodes'] = sorted(known | set(new_nodes))
    json.dump(state, open(logdir + '/state.json', 'w'))
    print('checked cycle %d: %d acknowledged, %d in flight (%d applied), %d znodes'
          % (cycle, stats['acked'], stats['inflight'], stats['inflight_applied'], len(state['nodes'])))
    for b in bad:
        print('BAD', b)
    c.stop()
    sys.exit(1 if bad else 0)

if __name__ == '__main__':
    op = sys.argv[1]
    if op == 'write':
        op_write(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]))
    elif op == 'init':
        op_init(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        op_check(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
                 op == 'fullcheck')
EOP

sub py
{
	my (@args) = @_;
	return run_command([ python3(), "$tmp/crash.py", @args ], timeout => 120,
		env => { PYTHONDONTWRITEBYTECODE => 1 });
}

# Starts the writer processes; returns their pids.
sub start_writers
{
	my ($cycle) = @_;
	my @pids;
	for my $p (0 .. $nproc - 1)
	{
		my $pid = fork();
		die "fork: $!" unless defined $pid;
		if ($pid == 0)
		{
			open(STDIN, '<', '/dev/null');
			open(STDOUT, '>>', "$logdir/writer.out");
			open(STDERR, '>&', \*STDOUT);
			$ENV{PYTHONDONTWRITEBYTECODE} = 1;
			exec { python3() } python3(), "$tmp/crash.py", 'write', $node->address, $logdir, $cycle, $p, $nthreads, 20
			  or POSIX::_exit(127);
		}
		push @pids, $pid;
	}
	return @pids;
}

sub acked_lines
{
	my ($cycle) = @_;
	my $n = 0;
	for my $f (glob("$logdir/*.$cycle.log"))
	{
		my $t = slurp_file($f);
		$n++ if $t =~ /^A /m;
	}
	return $n;
}

# Every writer process exits within $secs (they do once the server is gone);
# the stragglers are killed, so that no request can reach the next server.
sub reap_writers
{
	my ($secs, @pids) = @_;
	my %left = map { $_ => 1 } @pids;
	my $deadline = time() + $secs;
	while (%left && time() < $deadline)
	{
		for my $pid (keys %left) { delete $left{$pid} if waitpid($pid, WNOHANG) == $pid; }
		usleep(20_000) if %left;
	}
	for my $pid (keys %left)
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	return scalar keys %left;
}

my %storage = (snapshot_every_txns => $snapshots ? 200 : 100000);
$node->init(modules => { storage_file => \%storage });
$node->start;
my ($rc, $out, $err) = py('init', $node->address, $logdir, $nproc, $nthreads);
is($rc, 0, 'initial keys created') or diag($out . $err);

my $json = JSON::PP->new;
my ($from_snapshot, $snap_plus_wal, $torn) = (0, 0, 0);
my @writers;
END { kill 'KILL', @writers if @writers; }
for my $cycle (1 .. $cycles)
{
	@writers = start_writers($cycle);
	my $all = $nproc * $nthreads;
	my $up  = wait_until(sub { acked_lines($cycle) >= $all }, 30);
	ok($up, "cycle $cycle: every writer got acknowledgements");
	usleep(int((0.15 + rand(0.85)) * 1_000_000));
	my $pos = $node->log_position;
	$node->kill9;
	my $stuck = reap_writers(10, @writers);
	@writers = ();
	is($stuck, 0, "cycle $cycle: the writers noticed the crash and stopped");

	# Before the restart: verify may find a torn tail, nothing worse.
	my ($vrc, $vout) = run_command([ $ctl, 'verify', '--json', $node->data_dir ], timeout => 60);
	my $v = eval { $json->decode($vout) } // {};
	ok(($v->{status} // '') =~ /^(ok|truncate)$/, "cycle $cycle: verify after kill -9: " . ($v->{status} // 'no answer'))
	  or diag($vout);
	$torn++ if ($v->{status} // '') eq 'truncate';

	$pos = $node->log_position;
	$node->start;
	my $log = $node->log_content($pos);
	unlike($log, qr/FATAL|ERROR/, "cycle $cycle: restart without error");
	if ($log =~ /recovered from \S+: snapshot at zxid (0x[0-9a-f]+), then (\d+) WAL records; last zxid (0x[0-9a-f]+)/)
	{
		$from_snapshot++;
		$snap_plus_wal++ if $2 > 0;
		is($3, $v->{recovers_to_zxid}, "cycle $cycle: recovered to zxid $3, as verify said");
	}
	elsif ($log =~ /recovered from \S+: no snapshot, (\d+) WAL records; last zxid (0x[0-9a-f]+)/)
	{
		is($2, $v->{recovers_to_zxid}, "cycle $cycle: recovered to zxid $2, as verify said");
	}
	else
	{
		fail("cycle $cycle: no recovery line in the log");
	}
	($rc, $out, $err) = py('check', $node->address, $logdir, $cycle, $nproc, $nthreads);
	is($rc, 0, "cycle $cycle: every acknowledged write is there, nothing half applied")
	  or diag($out . $err);
	note($out);
}

# A clean stop, a clean directory, and one last complete check of the data.
is($node->stop, 0, 'clean stop');
($rc, $out) = run_command([ $ctl, 'verify', $node->data_dir ], timeout => 60);
is($rc, 0, 'verify after a clean stop: exit 0') or diag($out);
$node->start;
($rc, $out, $err) = py('fullcheck', $node->address, $logdir, $cycles + 1, $nproc, $nthreads);
is($rc, 0, 'final check of every znode and its data') or diag($out . $err);
note($out);
if ($snapshots)
{
	ok($from_snapshot > 0, "recovery went through a snapshot ($from_snapshot of $cycles)");
	ok($snap_plus_wal > 0, "... then WAL records ($snap_plus_wal of $cycles)");
	my @s = glob($node->data_dir . '/snapshot.*.zst');
	ok(@s >= 1 && @s <= 3, 'keep_snapshots: at most 3 snapshots kept (' . scalar(@s) . ')');
}
note("verify found a torn tail after $torn of $cycles crashes");
is($node->stop, 0, 'clean stop');

done_testing();
