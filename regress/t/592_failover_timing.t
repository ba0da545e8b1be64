# regress/t/592_failover_timing.t: failover with ZooKeeper's timing (tick
# 1000 ms, sync_limit 5) and the default failure detector.
#  - the leader is paused (SIGSTOP), then cut off by the fault-injection
#    proxy, while a client writes through the followers: the time from the
#    fault to the next acknowledged write is printed and asserted loosely
#    (under 4 s; the 2 s goal and ZooKeeper's figure are measured by
#    regress/tools/zab_failover_bench.pl, doc/benchmarks.md);
#  - no election on a healthy ensemble under a sustained write load
#    (corral-bench, 32 sessions x 8 outstanding, on the leader and on a
#    follower) with a slow disk (storage_file test_write_delay_ms on every
#    member).
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file run_command);

my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=15,
                connection_retry=KazooRetry(max_tries=-1, delay=0.01, max_delay=0.05))
c.start(timeout=30)
d = '/w-' + sys.argv[2]
c.ensure_path(d)
print('READY', flush=True)
i = 0
while not os.path.exists(sys.argv[1]):
    i += 1
    t0 = time.time()
    try:
        c.create('%s/n%08d' % (d, i), b'')
        print('%.4f %.4f' % (t0, time.time()), flush=True)
    except Exception:
        time.sleep(0.005)
c.stop()
PY

my $e = Corral::Test::Ensemble->new('fo', n => 3, proxy => 1);
$e->init(server => { tick_ms => 1000 });
ok($e->start, 'leader elected');

for my $fault ('stop', 'partition')
{
	my $l = $e->leader;
	my @f = grep { $_ != $l } $e->nodes;
	my $done = $l->basedir . "/done-$fault";
	my $h = $e->kazoo_bg($writer, hosts => $e->hosts(@f), args => [ $done, $fault ]);
	ok(wait_until(sub { slurp_file($h->{out}) =~ /READY/ }, 30), "$fault: writer running on the followers");
	sleep 1;
	if   ($fault eq 'stop') { $l->signal('STOP'); }
	else                    { $e->isolate($l->{zab_id}); }
	my $t0 = time;
	my $new = $e->wait_for_leader(exclude => [ $l->{zab_id} ], all => 0, timeout => 20);
	ok($new, "$fault: another leader");
	sleep 1;
	Corral::Test::Utils::write_file($done, '');
	$e->kazoo_wait($h, 30);
	my ($first) = sort { $a <=> $b } map { (split / /)[1] } grep { /^\d/ && (split / /)[0] > $t0 } split /\n/,
	  slurp_file($h->{out});
	ok(defined $first, "$fault: writes resumed")
	  or diag("fault at $t0; writer: " . join("\n", (split /\n/, slurp_file($h->{out}))[-5 .. -1]) . slurp_file($h->{err}));
	my $ms = defined $first ? ($first - $t0) * 1000 : 1e9;
	note(sprintf "%s: next acknowledged write %.0f ms after the fault", $fault, $ms);
	cmp_ok($ms, '<', 4000, "$fault: writes resumed within 4 s");
	if   ($fault eq 'stop') { $l->signal('CONT'); }
	else                    { $e->heal; }
	ok($e->wait_for_leader(timeout => 30), "$fault: the old leader rejoined");
}
$e->stop_all;

# ---- no election under load with a slow disk --------------------------------------------
my $bench = ($ENV{CORRAL_BUILD} // 'build') . '/bin/corral-bench';
SKIP:
{
	skip 'corral-bench not built', 3 unless -x $bench;
	my $q = Corral::Test::Ensemble->new('ld', n => 3);
	$q->init(server => { tick_ms => 1000 }, modules => { storage_file => { test_write_delay_ms => 150 } });
	my $l = $q->start;
	ok($l, 'ensemble with a slow disk (150 ms per WAL batch)');
	my @f = grep { $_ != $l } $q->nodes;
	my %off = map { ($_->{zab_id} => -s $_->logfile) } $q->nodes;
	my @pids;
	for my $n ($l, $f[0])
	{
		my $pid = fork() // die "fork: $!";
		if ($pid == 0)
		{
			open(STDOUT, '>', $n->basedir . '/bench.out');
			open(STDERR, '>&', \*STDOUT);
			exec($bench, '-s', $n->address, '-c', 16, '-p', 8, '-w', 1, '-d', 10, '--op', 'set', '--size', 512,
				'--keys', 1000, '--prefix', "/b$n->{zab_id}", '-q')
			  or POSIX::_exit(127);
		}
		push @pids, $pid;
		$Corral::Test::Utils::LIVE_PIDS{$pid} = 'corral-bench';
	}
	for my $pid (@pids) { waitpid($pid, 0); delete $Corral::Test::Utils::LIVE_PIDS{$pid}; }
	my $out = slurp_file($l->basedir . '/bench.out') . slurp_file($f[0]->basedir . '/bench.out');
	note($out);
	like($out, qr/\d+ ops/i, 'the write load ran');
	my @changes;
	for my $n ($q->nodes)
	{
		my $log = substr(slurp_file($n->logfile), $off{ $n->{zab_id} });
		push @changes, "$n->{zab_id}: $1" while $log =~ /(going back to LOOKING[^\n]*|state \w+ -> looking)/g;
	}
	is(scalar @changes, 0, 'no member went looking during the load') or diag(join("\n", @changes));
	$q->stop_all;
}

done_testing();
