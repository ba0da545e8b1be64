# regress/t/530_sync_paused_leader.t: sync is linearizable (ZOOKEEPER-1675).
# A client holds a connection to the leader; the leader is paused
# (SIGSTOP); the others elect a new leader, which commits a new value; the
# old leader is resumed (SIGCONT) and the client sends sync + getData at
# once on its old connection.  It must see the new value or an error (the
# old leader stepped down and dropped it), never the old value.  Three
# rounds; also sync + read through a follower sees a write made through
# another member.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

$SIG{PIPE} = 'IGNORE';    # a client that died must fail a test, not kill it

my $e = Corral::Test::Ensemble->new('s', n => 3);
$e->init;
ok($e->start, 'leader elected');

my $kz = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
if sys.argv[1] == 'set':
    c.ensure_path('/s'); c.set('/s', sys.argv[2].encode()); print('SET')
else:
    c.sync('/s'); print('GOT', c.get('/s')[0].decode())
c.stop()
PY

# A raw ZooKeeper client (the wire protocol by hand, so that nothing
# reconnects behind our back): connects, reads /s, then waits for a line on
# stdin ("go"), sends sync and getData pipelined on the same connection and
# prints what came back.
my $raw = <<'PY';
import os, socket, struct, sys, time
host, port = os.environ['HOSTS'].split(':')
s = None
def frame(b): s.sendall(struct.pack('>i', len(b)) + b)
def recv_exact(n):
    d = b''
    while len(d) < n:
        x = s.recv(n - len(d))
        if not x: raise EOFError()
        d += x
    return d
def read_frame():
    n = struct.unpack('>i', recv_exact(4))[0]
    return recv_exact(n)
def ustr(p): b = p.encode(); return struct.pack('>i', len(b)) + b
def get(xid):
    frame(struct.pack('>ii', xid, 4) + ustr('/s') + b'\0')
def parse_get(r):
    xid, zxid, err = struct.unpack('>iqi', r[:16])
    if err: return 'ERR%d' % err
    n = struct.unpack('>i', r[16:20])[0]
    return r[20:20 + n].decode()
# (the member may still be settling: retry the connection for a while)
deadline = time.time() + 20
while True:
    try:
        s = socket.create_connection((host, int(port)), timeout=20)
        frame(struct.pack('>iqiqi', 0, 0, 30000, 0, 16) + b'\0' * 16 + b'\0')
        read_frame()
        get(1)
        print('BEFORE', parse_get(read_frame()), flush=True)
        break
    except (EOFError, ConnectionError, socket.timeout):
        if time.time() > deadline: raise
        time.sleep(0.1)
sys.stdin.readline()
try:
    frame(struct.pack('>ii', 2, 9) + ustr('/s'))
    get(3)
    r1 = read_frame()
    xid, zxid, err = struct.unpack('>iqi', r1[:16])
    print('SYNC', xid, err)
    print('AFTER', parse_get(read_frame()))
except (EOFError, ConnectionError, socket.timeout) as ex:
    print('AFTER error', type(ex).__name__)
PY

my $f = $e->node(1);
for my $round (1 .. 3)
{
	my ($rc, $out) = $e->kazoo($kz, args => [ 'set', "old$round" ]);
	is($out, "SET\n", "round $round: /s = old$round");
	my $old = $e->leader;
	ok($old, "round $round: leader is member $old->{zab_id}");

	# The raw client on the leader; stdin through a pipe.
	my $script = $old->basedir . "/raw$round.py";
	Corral::Test::Utils::write_file($script, $raw);
	my $outf = "$script.out";
	local $ENV{HOSTS} = $old->address;
	my $pid = open(my $to, '|-', "$Corral::Test::Ensemble::PYTHON $script > $outf 2>&1") or die "python: $!";
	$Corral::Test::Cluster::LIVE_PIDS{$pid} = 'python';
	$to->autoflush(1);
	ok(wait_until(sub { Corral::Test::Utils::slurp_file($outf) =~ /BEFORE old$round/ }, 20),
		"round $round: the client read old$round from the leader");

	$old->signal('STOP');
	my @others = grep { $_ != $old } $e->nodes;
	my $new = $e->wait_for_leader(exclude => [ $old->{zab_id} ]);
	ok($new, "round $round: the others elected member " . ($new ? $new->{zab_id} : '?'));
	($rc, $out) = $e->kazoo($kz, hosts => $e->hosts(@others), args => [ 'set', "new$round" ]);
	is($out, "SET\n", "round $round: the new leader committed new$round");

	$old->signal('CONT');
	print $to "go\n";
	close $to;    # waits for the client
	delete $Corral::Test::Cluster::LIVE_PIDS{$pid};
	my $got = Corral::Test::Utils::slurp_file($outf);
	unlike($got, qr/^AFTER old/m, "round $round: sync + read on the old leader never returns the old value");
	like($got, qr/^AFTER (new$round|error|ERR)/m, "round $round: it returns the new value or an error")
	  or diag($got);
	ok($e->wait_for_leader, "round $round: the old leader rejoined");

	# sync + read through a follower sees the latest write.
	my ($fol) = grep { $e->mode($_) eq 'follower' } $e->nodes;
	($rc, $out) = $e->kazoo($kz, hosts => $fol->address, args => ['get']);
	is($out, "GOT new$round\n", "round $round: sync + read through follower $fol->{zab_id} sees new$round");
}

ok($e->wait_converged, 'converged');
$e->stop_all;

# ---- an old leader that still believes it leads ------------------------------------
# Member 3 (the first leader: highest id) detects silence only after 6 s,
# the others after 300 ms.  Cut off by the proxy (a black hole: it sees no
# close either), it keeps leading for seconds after the others elected a
# leader and committed a new value.  A sync + read sent to it in that window
# must not return the old value: answering a sync locally (ZooKeeper) would.
for my $round (1 .. 2)
{
	# A fresh ensemble each round: member 3 wins the first election.
	my $p = Corral::Test::Ensemble->new("sp$round", n => 3, proxy => 1);
	$p->init(server => { peer_timeout_ms => 300 }, server_for => { 3 => { peer_timeout_ms => 6000 } });
	ok($p->start, "cut round $round: leader elected");
	my $old = $p->node(3);
	my $leads = wait_until(sub { $p->mode($old) eq 'leader' }, 10);
	unless ($leads)
	{
		# A slow start let 1 and 2 elect without it: restart their leader.
		my $l = $p->leader;
		if ($l && $l != $old) { $l->stop; $l->start; }
		$leads = wait_until(sub { $p->mode($old) eq 'leader' }, 10);
	}
	ok($leads, "cut round $round: member 3 leads");
	my ($rc, $out) = $p->kazoo($kz, args => [ 'set', "stale$round" ]);
	is($out, "SET\n", "cut round $round: /s = stale$round");
	my $script = $old->basedir . "/cut$round.py";
	Corral::Test::Utils::write_file($script, $raw);
	my $outf = "$script.out";
	local $ENV{HOSTS} = $old->address;
	my $pid = open(my $to, '|-', "$Corral::Test::Ensemble::PYTHON $script > $outf 2>&1") or die "python: $!";
	$Corral::Test::Cluster::LIVE_PIDS{$pid} = 'python';
	$to->autoflush(1);
	ok(wait_until(sub { Corral::Test::Utils::slurp_file($outf) =~ /BEFORE stale$round/ }, 20),
		"cut round $round: the client read stale$round from member 3");
	my $t0 = time;
	$p->isolate(3);
	my $new = $p->wait_for_leader(exclude => [3]);
	ok($new, "cut round $round: the others elected member " . ($new ? $new->{zab_id} : '?'));
	($rc, $out) = $p->kazoo($kz, hosts => $p->hosts($p->node(1), $p->node(2)), args => [ 'set', "fresh$round" ]);
	is($out, "SET\n", "cut round $round: the new leader committed fresh$round");
	my $still = $p->mode($old) eq 'leader';
	# (On a loaded machine the steps above may outlast its 6 s: then the
	# scenario is not the interesting one, but the checks below still hold.)
	note(sprintf("cut round %d: member 3 %s (%.1f s after the cut)", $round,
		$still ? 'still believes it leads' : 'already stepped down', time - $t0));
	print $to "go\n";
	close $to;
	delete $Corral::Test::Cluster::LIVE_PIDS{$pid};
	my $got = Corral::Test::Utils::slurp_file($outf);
	unlike($got, qr/^AFTER stale/m, "cut round $round: sync + read on the cut-off leader never returns the old value");
	like($got, qr/^AFTER (fresh$round|error|ERR)/m, "cut round $round: it returns the new value or an error")
	  or diag($got);
	$p->heal;
	ok($p->wait_for_leader, "cut round $round: healed");
	ok($p->wait_converged, "cut round $round: converged");
	$p->stop_all;
}
done_testing();
