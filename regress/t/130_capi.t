# ZooKeeper's own C client (libzookeeper_mt) against ZooKeeper 3.8 and
# corrald: regress/clients/capi_test.c (synchronous API, watcher callbacks,
# multi, ACLs, removeWatches, SetWatches after a reconnection, session
# takeover, wrong password, expiry) and the cli_mt shell of Debian's
# zookeeper-bin in batch mode.  The transcripts must be the same
# (regress/clients/capi_test.expected is ZooKeeper's).
use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use Corral::Test::Utils qw(run_command tmp_check_dir build_dir);
use Corral::Test::ZooKeeper qw(run_differential corrald_defaults rank_zxids clients_dir
  expected_file);

my $CLI_MT = '/usr/lib/zookeeper/bin/cli_mt';

# The program: built by `make` (regress/clients/build.mk), else built here.
my $capi = build_dir() . '/regress-clients/capi_test';
if (!-x $capi || -M $capi > -M clients_dir() . '/capi_test.c')
{
	plan skip_all => 'libzookeeper-mt-dev is not installed'
	  unless -r '/usr/include/zookeeper/zookeeper.h';
	my $dir = tmp_check_dir() . '/regress-clients';
	make_path($dir);
	$capi = "$dir/capi_test";
	my ($rc, $out, $err) = run_command([ 'cc', '-std=gnu11', '-O1', '-g', '-pthread', '-o', $capi,
		clients_dir() . '/capi_test.c', '-lzookeeper_mt' ]);
	BAIL_OUT("cannot build capi_test: $err") if $rc;
}

# cli_mt in batch mode (-c): one session per command.
my @cli_mt_commands = (
	'create /cli', 'create +e /cli/e', 'create +s /cli/s', 'create2 /cli/c2',
	'create +c /cli/cont', 'create +t=60000 /cli/t', 'create /cli', 'set /cli hello',
	'get /cli', 'ls /cli', 'ls2 /cli', 'sync /cli', 'delete /cli/c2', 'delete /cli/s0000000001',
	'get /cli/none', 'config');

sub cli_mt_section
{
	my ($cmd, $out) = @_;
	my @l;
	for my $line (split /\n/, $out)
	{
		next if $line =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+:\d+\(0x[0-9a-f]+\):ZOO_/;
		next if $line =~ /^time = \d+ msec$/;
		$line =~ s/^(Got a new session id:) 0x[0-9a-f]+$/$1 SESSION/;
		$line =~ s/^(\s*)(ctime|mtime)( ?= ?).*/$1$2$3T/;
		$line =~ s/^(\s*[cm]zxid=)([0-9a-f]+)$/$1 . '{z' . hex($2) . '}'/e;
		$line =~ s/^(\s*ephemeralOwner = )(?!0$)[0-9a-f]+$/$1SESSION/;
		push @l, $line;
	}
	# children come in ZooKeeper's hash order: sort each run of them
	my @out;
	while (@l)
	{
		my $x = shift @l;
		if ($x =~ /^\t[^=]*$/)
		{
			my @run = ($x);
			push @run, shift @l while @l && $l[0] =~ /^\t[^=]*$/;
			push @out, sort @run;
			next;
		}
		push @out, $x;
	}
	return join("\n", "== cli_mt: $cmd", @out) . "\n";
}

sub run_clients
{
	my ($address) = @_;
	my ($rc, $out, $err) = run_command([ $capi, $address ], timeout => 120);
	return ($rc, $out, $err) if $rc;
	if (-x $CLI_MT)
	{
		for my $cmd (@cli_mt_commands)
		{
			my ($crc, $cout, $cerr);
			for my $try (1 .. 3)
			{
				($crc, $cout, $cerr) = run_command([ $CLI_MT, '-h', $address, '-c', $cmd ], timeout => 10);
				# a request sent before the session exists can be lost (-4);
				# cli_mt does not retry: do it here
				last unless $cout =~ /rc = -4\b/;
			}
			$out .= cli_mt_section($cmd, "$cout$cerr");
		}
	}
	return ($rc, $out, $err);
}

run_differential(
	what      => 'capi',
	expected  => 'capi_test.expected',
	zk        => { tick_ms => 500, container_check_ms => 100 },
	corrald   => { corrald_defaults(tick_ms => 500) },
	normalise => sub { rank_zxids($_[0]) },
	run       => \&run_clients);

done_testing();
