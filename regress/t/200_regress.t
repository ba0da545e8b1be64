# regress/t/200_regress.t: the regression suite, pg_regress style.
#
# Each regress/cases/NAME.zk is a corral-cli script.  It runs against a
# fresh corrald (its own data directory, extended types on, containers
# reaped every 100 ms) with `corral-cli -e --no-times -f NAME.zk` (input
# echoed, times and session ids masked), stdout and stderr merged; the
# transcript must equal regress/expected/NAME.out byte for byte.  On a
# mismatch the transcript is kept as regress/results/NAME.out and the diff
# is shown.
#
# To (re)write an expected file after a deliberate change, run
#   CORRAL_REGRESS_UPDATE=1 make check      (then review `git diff`).
# Run one case: CORRAL_REGRESS_ONLY=create prove -I regress/perl regress/t/200_regress.t
use strict;
use warnings;

use File::Basename;
use File::Path qw(make_path);
use Test::More;
use Corral::Test::Cluster;

my $build = $ENV{CORRAL_BUILD} or BAIL_OUT('CORRAL_BUILD is not set (run through make check)');
my $cli   = "$build/bin/corral-cli";
my $top   = dirname(dirname(__FILE__));   # regress/

my @cases = sort glob("$top/cases/*.zk");
@cases = grep { basename($_, '.zk') eq $ENV{CORRAL_REGRESS_ONLY} } @cases if $ENV{CORRAL_REGRESS_ONLY};
plan skip_all => 'no cases' unless @cases;

sub slurp { my ($f) = @_; open(my $fh, '<', $f) or return undef; local $/; my $t = <$fh>; close $fh; return $t; }

for my $case (@cases) {
	my $name = basename($case, '.zk');
	my $node = Corral::Test::Cluster->new("regress_$name");
	$node->init(server => { extended_types => 'true', container_check_ms => 100, tick_ms => 500 },
		modules => { fourlw => { allow => ['*'] }, auth_digest => {}, auth_ip => {} });
	$node->start;
	my $addr = $node->address;
	my $out = `CORRAL_CLI_DETERMINISTIC=1 '$cli' -e --no-times -s $addr -f '$case' 2>&1`;
	$node->stop;

	my $expected_file = "$top/expected/$name.out";
	if ($ENV{CORRAL_REGRESS_UPDATE}) {
		open(my $fh, '>', $expected_file) or die "$expected_file: $!";
		print $fh $out;
		close $fh;
		pass("$name (expected output rewritten)");
		next;
	}
	my $expected = slurp($expected_file);
	if (!defined $expected) {
		fail("$name: no expected output $expected_file");
		next;
	}
	if ($out eq $expected) {
		pass($name);
		next;
	}
	make_path("$top/results");
	my $result_file = "$top/results/$name.out";
	open(my $fh, '>', $result_file) or die "$result_file: $!";
	print $fh $out;
	close $fh;
	fail($name);
	diag(scalar `diff -u '$expected_file' '$result_file'`);
}

done_testing();
