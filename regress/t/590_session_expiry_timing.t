# regress/t/590_session_expiry_timing.t: when sessions expire in an
# ensemble with ZooKeeper's timing (tick 1000 ms).
#  - the session of a client killed right after it created an ephemeral
#    expires within its timeout + one tick, whether the client was on the
#    leader or on a follower (the follower reports the exact time left, the
#    leader rounds up to a tick once, and the expiry timer fires on tick
#    boundaries).  The bounds are loose (scheduling on a busy machine): the
#    figures are printed; doc/ensemble.md has the measured ones.
#  - an old leader paused past the failure timeout and resumed expires
#    nothing (it has lost its quorum lease: it steps down instead of closing
#    the sessions the new leader keeps alive).
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file);

my $TICK    = 1000;
my $TIMEOUT = 4000;
my $e = Corral::Test::Ensemble->new('ex', n => 3);
$e->init(server => { tick_ms => $TICK });
my $leader = $e->start;
ok($leader, 'leader elected');
my @f = grep { $_ != $leader } $e->nodes;

# The observer starts the victim (a separate process that creates an
# ephemeral, prints the time and kills itself), then waits for the
# ephemeral's deletion: the time between the two is the expiry delay.
my $measure = <<'PY';
import os, sys, time, threading, subprocess, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
victim_hosts, name, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
victim = '''
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=float(sys.argv[3]))
c.start(timeout=30)
c.create(sys.argv[2], b'', ephemeral=True)
print('%.4f' % time.time(), flush=True)
os.kill(os.getpid(), 9)
'''
obs = KazooClient(hosts=os.environ['HOSTS'], timeout=20)
obs.start(timeout=30)
gone = threading.Event()
def w(ev):
    if ev.type == 'DELETED': gone.set()
p = subprocess.run([sys.executable, '-c', victim, victim_hosts, name, str(timeout)], capture_output=True, text=True)
killed = float(p.stdout.split()[0])
if obs.exists(name, watch=w) is None:
    print('GONE-EARLY'); sys.exit(0)
gone.wait(60)
print('EXPIRED %.0f' % ((time.time() - killed) * 1000))
obs.stop()
PY

for my $case ([ 'leader', $leader ], [ 'follower', $f[0] ])
{
	my ($what, $node) = @$case;
	my ($rc, $out, $err) = $e->kazoo($measure, hosts => $e->hosts(grep { $_ != $node } $e->nodes),
		args => [ $node->address, "/victim-$what", $TIMEOUT / 1000 ], timeout => 90);
	my ($ms) = $out =~ /EXPIRED (\d+)/;
	ok(defined $ms, "session of a killed client on the $what expired") or diag("$out\n$err");
	next unless defined $ms;
	note("client on the $what: expired ${ms} ms after the kill (timeout $TIMEOUT, tick $TICK)");
	# Never before the timeout less one ping interval of the client (its
	# last sign of life may precede the kill by that much; kazoo pings every
	# timeout / 3 at most), never later than timeout + tick + slack.
	cmp_ok($ms, '>=', $TIMEOUT - $TIMEOUT / 3 - 100, "$what: not expired early");
	cmp_ok($ms, '<=', $TIMEOUT + $TICK + 700, "$what: expired within timeout + one tick (+700 ms slack)");
}

# ---- an old leader that resumes expires nothing ---------------------------------------
{
	my $keep = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=3)
c.start(timeout=30)
c.create('/kept', b'', ephemeral=True)
print('READY', flush=True)
time.sleep(float(sys.argv[1]))
print('ALIVE', 'yes' if c.exists('/kept') else 'no', flush=True)
c.stop()
PY
	$leader = $e->leader;
	my @others = grep { $_ != $leader } $e->nodes;
	my $h = $e->kazoo_bg($keep, hosts => $e->hosts(@others), args => [8]);
	ok(wait_until(sub { slurp_file($h->{out}) =~ /READY/ }, 30), 'a client keeps a 3 s session alive on the followers');
	sleep 1;
	$leader->signal('STOP');
	my $new = $e->wait_for_leader(exclude => [ $leader->{zab_id} ], all => 0, timeout => 20);
	ok($new, 'another leader after the pause');
	sleep 4;   # the paused leader's view of the session is long past its deadline
	my $off = -s $leader->logfile;
	$leader->signal('CONT');
	ok($e->wait_for_leader(timeout => 30), 'the old leader rejoined as a follower');
	my $log = substr(slurp_file($leader->logfile), $off);
	unlike($log, qr/Expiring session/, 'the resumed old leader expired no session');
	my ($rc, $out) = $e->kazoo_wait($h, 30);
	like($out, qr/ALIVE yes/, 'the session and its ephemeral survived');
}

$e->stop_all;
done_testing();
