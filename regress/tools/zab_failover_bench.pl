#!/usr/bin/perl
# regress/tools/zab_failover_bench.pl: how long an ensemble cannot take
# writes after its leader is killed (kill -9), measured by a client.
#
#   CORRAL_BUILD=$PWD/build perl -I regress/perl regress/tools/zab_failover_bench.pl [ROUNDS] [MEMBERS]
#
# Starts MEMBERS (default 3) members on 127.0.0.11.. (storage_file, tick
# 100 ms), runs one client that writes without pause through every member
# (kazoo, connect string of all members), kills the leader ROUNDS times
# (default 10), restarting it each time, and prints for each round: the
# time from the kill until a new leader answers srvr, and the longest gap
# between two acknowledged writes around the kill (the unavailability the
# client saw, reconnection included).  Timing is reported, never asserted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;

my $rounds = shift // 10;
my $n = shift // 3;
my $e = Corral::Test::Ensemble->new('bench', n => $n);
$e->init;
$e->start or die "no leader\n";
my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=4,
                connection_retry=KazooRetry(max_tries=-1, delay=0.01, max_delay=0.05))
c.start(timeout=30)
c.ensure_path('/bench')
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    i += 1
    try:
        c.create('/bench/n%08d' % i, b'')
        print('%.4f' % time.time())
    except Exception:
        time.sleep(0.005)
c.stop()
PY
my $secs = 2 + $rounds * 2.5;
my $h = $e->kazoo_bg($writer, args => [$secs]);
sleep 2;
my @kills;
for my $r (1 .. $rounds)
{
	my $l = $e->leader or do { sleep 1; next };
	my $t0 = time;
	$l->kill9;
	my $new = $e->wait_for_leader(exclude => [ $l->{zab_id} ], all => 0, timeout => 20);
	my $t1 = time;
	push @kills, [ $t0, $t1 - $t0 ];
	$l->start;
	$e->wait_for_leader(timeout => 20);
	usleep(1_500_000);
}
my ($rc, $out) = $e->kazoo_wait($h, $secs + 60);
my @acks = split /\n/, $out;
printf "%d writes acknowledged\n", scalar @acks;
my (@elect, @gap);
for my $k (@kills)
{
	my ($t0, $el) = @$k;
	# The longest pause between two acknowledged writes from just before
	# the kill to 2 s after it.
	my @w = grep { $_ >= $t0 - 0.05 && $_ <= $t0 + 2 } @acks;
	next unless @w > 1;
	my $g = 0;
	for my $i (1 .. $#w) { $g = $w[$i] - $w[ $i - 1 ] if $w[$i] - $w[ $i - 1 ] > $g; }
	push @elect, $el * 1000;
	push @gap, $g * 1000;
	printf "kill at %.3f: new leader in %4.0f ms (srvr polling), client write gap %4.0f ms\n", $t0, $el * 1000,
	  $g * 1000;
}
sub med { my @s = sort { $a <=> $b } @_; return @s ? $s[ $#s / 2 ] : 0; }
printf "SUMMARY rounds=%d members=%d new-leader median %.0f ms max %.0f ms; write gap median %.0f ms max %.0f ms\n",
  scalar @gap, $n, med(@elect), (sort { $b <=> $a } @elect)[0] // 0, med(@gap), (sort { $b <=> $a } @gap)[0] // 0;
$e->stop_all;
