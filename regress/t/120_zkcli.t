# The Java command-line client zkCli.sh (ZooKeeper 3.8's ZooKeeperMain) runs
# regress/clients/zkcli_commands.txt against ZooKeeper and against corrald;
# the normalised outputs must be the same (regress/clients/zkcli.expected is
# ZooKeeper's, used when ZooKeeper cannot run).
#
# Normalisation: the connection banner and log lines go; ctime/mtime become
# T; zxids become their rank among the zxids printed (z1, z2 ...: gaps are
# not compared, see doc/testing.md); a non-zero ephemeralOwner becomes
# SESSION.  Watch notifications are printed by zkCli's event thread, so
# their place among the command outputs is not fixed: they are taken out
# and compared as a list of their own (section "events").  Lines
# "Node does not exist: /__section__/NAME" start the sections.
use strict;
use warnings;

use Test::More;
use Corral::Test::Utils qw(slurp_file);
use Corral::Test::ZooKeeper qw(zkcli zkcli_available run_differential corrald_defaults
  expected_file);

plan skip_all => 'zkCli.sh (Debian zookeeper package) or Java is not installed'
  unless zkcli_available() || -e expected_file('zkcli.expected');

my $commands = slurp_file(expected_file('zkcli_commands.txt'));

sub normalise
{
	my ($out) = @_;
	my (@lines, @events, %rank, @zx);
	for my $l (split /\n/, $out)
	{
		next if $l =~ /^SLF4J|^Connecting to |^Welcome to ZooKeeper!|^JLine support|^WATCHER::|^\s*$/;
		if ($l =~ /^WatchedEvent state:(\S+) type:(\S+) path:(\S+)/)
		{
			push @events, "$2 $3 ($1)" unless $2 eq 'None';
			next;
		}
		if ($l =~ m{^Node does not exist: /__section__/(\S+)$})
		{
			push @lines, "== $1";
			next;
		}
		$l =~ s/^(ctime|mtime) = .*/$1 = T/;
		$l =~ s/^ephemeralOwner = 0x(?!0$)[0-9a-f]+$/ephemeralOwner = SESSION/;
		push @zx, hex($1) if $l =~ /^[cmp]Zxid = (0x[0-9a-f]+)$/;
		push @lines, $l;
	}
	my $i = 0;
	$rank{$_} //= ++$i for sort { $a <=> $b } @zx;
	s/^([cmp]Zxid) = (0x[0-9a-f]+)$/"$1 = z" . $rank{hex $2}/e for @lines;
	return join("\n", @lines, '== events', @events) . "\n";
}

run_differential(
	what      => 'zkCli',
	expected  => 'zkcli.expected',
	zk        => { container_check_ms => 100 },
	corrald   => { corrald_defaults() },
	normalise => \&normalise,
	run       => sub {
		my ($address) = @_;
		plan skip_all => 'zkCli.sh is not installed' unless zkcli_available();
		return zkcli($address, $commands);
	});

done_testing();
