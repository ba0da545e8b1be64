#!/usr/bin/perl
# regress/tools/zab_snap_liveness.pl: does a follower that needs a SNAP of
# a large tree cost the ensemble its leader?
#
#   CORRAL_BUILD=$PWD/build perl -I regress/perl regress/tools/zab_snap_liveness.pl [ZNODES]
#
# Starts 3 members (tick 1000 ms, sync_limit 5: ZooKeeper's timing, the
# default failure detector; storage_file with fsync off to populate fast),
# creates ZNODES znodes (default 1,000,000, 32 bytes each) with
# corral-bench, stops a follower, empties its data directory and starts it
# again (it needs a SNAP), then prints how long it took to serve again and
# every role change and stall line the members logged meanwhile.  Healthy:
# no "going back to LOOKING" line except on the restarted member.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use Time::HiRes qw(time);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(slurp_file wait_until);

my $znodes = shift // 1_000_000;
my $bench = ($ENV{CORRAL_BUILD} // 'build') . '/bin/corral-bench';
my $q = Corral::Test::Ensemble->new('snap', n => 3);
$q->init(server => { tick_ms => 1000, max_session_timeout_ms => 60000 },
	modules => { storage_file => { fsync => 'false' } });
my $l = $q->start or die "no leader\n";
my $t = time;
system($bench, '-s', $l->address, '-c', 32, '-p', 16, '-n', $znodes, '--op', 'create', '--size', 32,
	'--prefix', '/mem', '-q', '--session-timeout', 60000) == 0 or die "corral-bench failed\n";
printf "%d znodes created in %.1f s\n", $znodes, time - $t;
my ($f) = grep { $_ != $l } $q->nodes;
$f->stop;
system('rm', '-rf', glob($f->data_dir . '/*'));
my %off = map { ($_->{zab_id} => -s $_->logfile) } $q->nodes;
$t = time;
$f->start(wait => 0);
wait_until(sub { $q->mode($f) eq 'follower' }, 300);
printf "member %d (emptied) serving again after %.1f s\n", $f->{zab_id}, time - $t;
my $bad = 0;
for my $n ($q->nodes)
{
	my $log = substr(slurp_file($n->logfile), $off{ $n->{zab_id} } // 0);
	while ($log =~ /((going back to LOOKING|syncing|SNAP|did not run|copied)[^\n]*)/g)
	{
		print "member $n->{zab_id}: $1\n";
		$bad++ if $n != $f && $1 =~ /going back to LOOKING/;
	}
}
print $bad ? "ELECTION: the SNAP cost the ensemble its leader\n" : "no election\n";
$q->stop_all;
