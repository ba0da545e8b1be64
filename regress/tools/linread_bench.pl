#!/usr/bin/perl
# regress/tools/linread_bench.pl: read throughput and latency with
# server.linearizable_reads off and on.
#
#   CORRAL_BUILD=$PWD/build perl -I regress/perl regress/tools/linread_bench.pl [SECONDS] [CONNS] [PIPELINE]
#
# For each setting: a 3-member ensemble (storage_file, tick 100 ms), then
# corral-bench --op get (1 KiB values, 10000 keys) against the leader and
# against a follower, SECONDS (default 8) each, CONNS x PIPELINE (default
# 32 x 16).  Prints corral-bench's summary line per run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use Corral::Test::Ensemble;

my ($secs, $conns, $pipe) = (shift // 8, shift // 32, shift // 16);
my $bench = ($ENV{CORRAL_BUILD} // 'build') . '/bin/corral-bench';
for my $on (0, 1)
{
	my $e = Corral::Test::Ensemble->new("lrb$on", n => 3);
	$e->init(server => { linearizable_reads => $on ? 'true' : 'false' });
	my $l = $e->start or die "no leader\n";
	my ($f) = grep { $_ != $l } $e->nodes;
	for my $target ([ leader => $l ], [ follower => $f ])
	{
		my $out = `$bench -s @{[ $target->[1]->address ]} -c $conns -p $pipe -w 2 -d $secs --op get --size 1024 --keys 10000 -q 2>&1`;
		chomp $out;
		printf "linearizable_reads=%s %-8s %s\n", $on ? 'on ' : 'off', $target->[0], $out;
	}
	$e->stop_all;
}
