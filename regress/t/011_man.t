# regress/t/011_man.t: the man pages corrald(8), corralctl(1), corral-cli(1)
# and corral.yaml(5), made by src/tools/mkman.pl from doc/man/*.in, the
# programs' --help and doc/*.md.
#
# Every page renders without a warning (man --warnings, groff -ww); every
# option of each program's --help is in its page; every key of the
# server's key table (corrald --describe-config) is in corral.yaml(5) with
# its reload class.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $build = Corral::Test::Utils::build_dir();
my %pages = ('corrald.8' => 'corrald', 'corralctl.1' => 'corralctl', 'corral-cli.1' => 'corral-cli',
	'corral.yaml.5' => undef);
my $have_man   = -x '/usr/bin/man';
my $have_groff = -x '/usr/bin/groff';

my %text;
for my $page (sort keys %pages)
{
	my $file = "$build/man/$page";
	ok(-s $file, "$page is built");
	my $src = slurp_file($file);
	unlike($src, qr/^\@(?:HELP|MD) /m, "$page: every placeholder is filled in");
  SKIP:
	{
		skip 'groff is not installed', 1 unless $have_groff;
		my ($rc, $out, $err) = run_command([ 'groff', '-ww', '-man', '-Tutf8', '-z', $file ]);
		is($err, '', "$page: groff -ww says nothing");
	}
  SKIP:
	{
		skip 'man is not installed', 2 unless $have_man;
		my ($rc, $out, $err) = run_command([ 'man', '--warnings', '-l', $file ], env => { MANWIDTH => 80, MANPAGER => 'cat', PAGER => 'cat' });
		is($err, '', "$page: man --warnings -l renders without a warning");
		$out =~ s/.\x08//g;    # overstrike, should man format for a terminal
		$text{$page} = $out;
		like($out, qr/^NAME\n/m, "$page: has a NAME section");
	}
	$text{$page} //= $src;
}

# --help and the page agree: every option of --help is in the page.
for my $page (grep { defined $pages{$_} } sort keys %pages)
{
	my ($rc, $help) = run_command([ "$build/bin/$pages{$page}", '--help' ]);
	is($rc, 0, "$pages{$page} --help");
	my @opts = $help =~ /(?:^|[\s,\[])(--?[a-z][a-z-]+)/mg;
	my %seen;
	my @missing = grep { !$seen{$_}++ && index($text{$page}, $_) < 0 } @opts;
	ok(@opts > 2, "$pages{$page} --help has options");
	is_deeply(\@missing, [], "$page has every option of --help");
}

# corral.yaml(5) has every server key with its reload class.
{
	my ($rc, $keys) = run_command([ "$build/bin/corrald", '--describe-config' ]);
	my @missing;
	for (split /\n/, $keys)
	{
		my ($key, $class) = /^server\.(\S+)\t(\S+)/ or next;
		push @missing, $key unless $text{'corral.yaml.5'} =~ /^ {7}\Q$key\E\n(?: {14}.*\n)*? {14}reload: \Q$class\E$/m;
	}
	is_deeply(\@missing, [], 'corral.yaml(5) lists every server key with its reload class');
}

done_testing();
