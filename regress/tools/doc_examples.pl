#!/usr/bin/perl
# regress/tools/doc_examples.pl: extracts the C examples of the documentation
# so that regress/t/007_doc_examples.t can compile them.
#
#   doc_examples.pl OUTDIR FILE.md...
#
# Every ```c block of each FILE becomes OUTDIR/<file>_<line>.c (line: the
# line of its opening fence) and one manifest line on stdout:
#
#   KIND<TAB>FILE:LINE<TAB>OUTDIR/<file>_<line>.c<TAB>NOTE
#
# KIND says what the test does with it, from an HTML comment (invisible
# once rendered) on the line right before the fence:
#   (none)                             compile:  a whole translation unit
#   <!-- doc-test: module NAME -->      module:   also build NAME.so and load
#                                                it (corrald --check-config)
#   <!-- doc-test: fragment: WHY -->   fragment: not compiled; WHY is the NOTE
# An unterminated block is an error (exit 1).
use strict;
use warnings;

use File::Basename qw(basename);

die "usage: $0 OUTDIR FILE.md...\n" unless @ARGV >= 2;
my ($outdir, @docs) = @ARGV;
-d $outdir or mkdir $outdir or die "$outdir: $!\n";

my $status = 0;
for my $doc (@docs)
{
	open(my $fh, '<', $doc) or die "$doc: $!\n";
	my @lines = <$fh>;
	close $fh;
	my $stem = basename($doc, '.md');
	for (my $i = 0; $i < @lines; $i++)
	{
		next unless $lines[$i] =~ /^```c\s*$/;
		my $start = $i + 1;    # 1-based line of the fence
		my ($kind, $note) = ('compile', '');
		if ($i > 0 && $lines[ $i - 1 ] =~ /^<!--\s*doc-test:\s*(module|fragment)\b:?\s*(.*?)\s*-->\s*$/)
		{
			($kind, $note) = ($1, $2);
		}
		my @body;
		my $j = $i + 1;
		for (; $j < @lines && $lines[$j] !~ /^```\s*$/; $j++)
		{
			push @body, $lines[$j];
		}
		if ($j >= @lines)
		{
			print STDERR "$doc:$start: the ```c block never ends\n";
			$status = 1;
			last;
		}
		my $out = "$outdir/${stem}_$start.c";
		open(my $oh, '>', $out) or die "$out: $!\n";
		# Compiler messages then point at the line of the .md file.
		printf $oh "#line %d \"%s\"\n", $start + 1, $doc if $kind ne 'fragment';
		print $oh @body;
		close $oh;
		print join("\t", $kind, "$doc:$start", $out, $note), "\n";
		$i = $j;
	}
}
exit $status;
