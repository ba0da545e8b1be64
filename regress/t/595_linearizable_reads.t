# regress/t/595_linearizable_reads.t: server.linearizable_reads (reads
# without sync that are as fresh as after a sync).
#  - plain reads on a follower cut off from the leader (proxy) while the
#    rest of the ensemble acknowledges a write: without the setting the
#    follower answers the old value (stale: the scenario can show
#    staleness), with it the read never returns the old value (it waits for
#    a sync round, which the cut-off follower cannot complete: it answers
#    once the link is back, with the new value);
#  - with the setting, reads through every member see every write
#    acknowledged before they were sent (a checker loop over all members).
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file);

my $e = Corral::Test::Ensemble->new('lr', n => 3, proxy => 1);
my %base = (peer_timeout_ms => 6000);
$e->init(server => \%base);
my $leader = $e->start;
ok($leader, 'leader elected');
my ($off, $on) = grep { $_ != $leader } $e->nodes;
$e->init(server => \%base, server_for => { $on->{zab_id} => { linearizable_reads => 'true' } });
for my $n ($off, $on) { $n->stop; $n->start; }
ok($e->wait_for_leader(timeout => 30) == $leader, 'one follower with linearizable_reads, one without');

my $cut_read = <<'PY';
import os, sys, time, logging, threading
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
leader, follower, flag, name = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
w = KazooClient(hosts=leader, timeout=20); w.start(timeout=30)
r = KazooClient(hosts=follower, timeout=20); r.start(timeout=30)
w.create(name, b'old')
r.sync(name)
print('BEFORE', r.get(name)[0].decode(), flush=True)
open(flag, 'w').close()                      # the test cuts the follower off now
while os.path.exists(flag): time.sleep(0.01)  # ... and removes the flag when it did
w.set(name, b'new')                          # acknowledged by the leader and the other follower
print('WRITTEN', flush=True)
t0 = time.time()
try:
    print('READ', r.get(name)[0].decode(), '%.1f' % (time.time() - t0), flush=True)
except Exception as ex:
    print('READ-ERROR', type(ex).__name__, flush=True)
PY

for my $case ([ 'off', $off ], [ 'on', $on ])
{
	my ($what, $f) = @$case;
	my $flag = $f->basedir . "/cut-$what";
	my $h = $e->kazoo_bg($cut_read, args => [ $leader->address, $f->address, $flag, "/lr-$what" ]);
	ok(wait_until(sub { -e $flag }, 30), "$what: value written and read");
	$e->block($leader->{zab_id}, $f->{zab_id});
	unlink $flag;
	ok(wait_until(sub { slurp_file($h->{out}) =~ /WRITTEN/ }, 30), "$what: the new value is acknowledged without it");
	# Give the cut-off follower's read time to come back (stale) or wait.
	wait_until(sub { slurp_file($h->{out}) =~ /READ/ }, 2);
	$e->heal;
	my ($rc, $out, $err) = $e->kazoo_wait($h, 60);
	note($out);
	if ($what eq 'off')
	{
		like($out, qr/^READ old/m, 'off: the cut-off follower answers the old value (staleness is observable)');
	}
	else
	{
		unlike($out, qr/^READ old/m, 'on: never the old value');
		like($out, qr/^READ(-ERROR| new)/m, 'on: the new value (after the link is back) or an error');
	}
	ok($e->wait_for_leader(timeout => 30), "$what: the ensemble is whole again");
}
$e->stop_all;

# ---- a checker: every member, every read after an acknowledged write sees it ----------
my $c = Corral::Test::Ensemble->new('lc', n => 3);
$c->init(server => { linearizable_reads => 'true' });
ok($c->start, 'all members with linearizable_reads');
my ($rc, $out, $err) = $c->kazoo(<<'PY', timeout => 120);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
hosts = os.environ['HOSTS'].split(',')
w = KazooClient(hosts=hosts[0], timeout=10); w.start(timeout=30)
readers = [KazooClient(hosts=h, timeout=10) for h in hosts]
for r in readers: r.start(timeout=30)
w.create('/ctr', b'0')
stale = 0
for i in range(1, 301):
    w.set('/ctr', str(i).encode())
    for r in readers:
        v = int(r.get('/ctr')[0])
        if v < i: stale += 1
print('STALE', stale)
PY
is($rc, 0, 'checker ran') or diag($err);
like($out, qr/^STALE 0$/m, '900 reads on 3 members after acknowledged writes: none stale');
$c->stop_all;
done_testing();
