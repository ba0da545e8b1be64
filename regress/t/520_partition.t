# regress/t/520_partition.t: the fault-injection proxy cuts links.
#  - the leader cut off from everyone: it steps down (stops serving), the
#    others elect a new leader and take writes; a write sent to the old
#    leader meanwhile is never acknowledged and, after the heal, is gone
#    everywhere (its uncommitted proposal dropped on rejoin);
#  - a follower cut off: it stops serving (a minority of one refuses reads
#    and writes) and catches up after the heal.
# Each scenario runs twice.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $e = Corral::Test::Ensemble->new('p', n => 3, proxy => 1);
$e->init;
ok($e->start, 'ensemble behind the proxy elects a leader');

my $setup = <<'PY';
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/p'); c.stop()
PY
$e->kazoo($setup);

# Writes through one member; prints OK or the error.
my $write = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=3, connection_retry=KazooRetry(max_tries=0))
try:
    c.start(timeout=3)
    c.create(sys.argv[1], b'v')
    print('OK')
except Exception as ex:
    print('FAILED', type(ex).__name__)
PY

# Connects to the old leader, writes once the file argv[2] exists (the test
# creates it right after the cut) and reports what the client saw.
my $write_during_cut = <<'PY';
import os, sys, time, logging, threading
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=6, connection_retry=KazooRetry(max_tries=0))
c.start(timeout=5)
print('CONNECTED', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.005)
try:
    c.create(sys.argv[1], b'v')
    print('ACKED')
except Exception as ex:
    print('FAILED', type(ex).__name__)
PY

my $ls = <<'PY';
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/p'); print(' '.join(sorted(c.get_children('/p')))); c.stop()
PY

for my $round (1 .. 2)
{
	my $old = $e->leader;
	ok($old, "round $round: leader is member $old->{zab_id}");
	# A client on the old leader writes just after the cut.
	my $go = $old->basedir . "/go$round";
	my $h = $e->kazoo_bg($write_during_cut, hosts => $old->address, args => [ "/p/lost$round", $go ]);
	ok(wait_until(sub { Corral::Test::Utils::slurp_file($h->{out}) =~ /CONNECTED/ }, 20),
		"round $round: a client is connected to the leader");
	$e->isolate($old->{zab_id});
	Corral::Test::Utils::write_file($go, '');
	my $t0 = time;
	ok(wait_until(sub { $e->mode($old) ne 'leader' }, 15),
		sprintf('round %d: the cut-off leader stepped down (%.1f s)', $round, time - $t0));
	my $new = $e->wait_for_leader(exclude => [ $old->{zab_id} ]);
	ok($new && $new != $old, "round $round: the majority elected member " . ($new ? $new->{zab_id} : '?'));
	my ($rc, $out) = $e->kazoo($write, hosts => $new->address, args => ["/p/new$round"]);
	is($out, "OK\n", "round $round: the new leader takes writes");
	my ($wrc, $wout) = $e->kazoo_wait($h, 30);
	unlike($wout, qr/ACKED/, "round $round: the write on the cut-off leader was not acknowledged ($wout)");
	($rc, $out) = $e->kazoo($write, hosts => $old->address, args => ["/p/minority$round"]);
	like($out, qr/^FAILED/, "round $round: the cut-off member refuses writes");

	$e->heal;
	ok($e->wait_for_leader, "round $round: healed, one leader");
	ok($e->wait_converged, "round $round: every member converged");
	for my $node ($e->nodes)
	{
		($rc, $out) = $e->kazoo($ls, hosts => $node->address);
		like($out, qr/\bnew$round\b/, "round $round: member $node->{zab_id} has the majority's write");
		unlike($out, qr/\b(lost|minority)$round\b/, "round $round: member $node->{zab_id} has no unacknowledged write");
	}
}

for my $round (1 .. 2)
{
	my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
	$e->isolate($f->{zab_id});
	ok(wait_until(sub { $e->mode($f) eq 'looking' }, 15), "follower round $round: the cut-off follower stops serving");
	my $l = $e->wait_for_leader(exclude => [ $f->{zab_id} ]);
	ok($l, "follower round $round: the others keep a leader");
	my ($rc, $out) = $e->kazoo($write, hosts => $l->address, args => ["/p/while$round"]);
	is($out, "OK\n", "follower round $round: writes go on");
	$e->heal;
	ok($e->wait_for_leader, "follower round $round: healed");
	ok($e->wait_converged, "follower round $round: converged");
	($rc, $out) = $e->kazoo($ls, hosts => $f->address);
	like($out, qr/\bwhile$round\b/, "follower round $round: the follower caught up");
}

$e->stop_all;
done_testing();
