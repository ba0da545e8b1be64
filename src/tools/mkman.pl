#!/usr/bin/perl
# src/tools/mkman.pl: makes a man page from its template (doc/man/*.in), so
# that the pages cannot drift from what they describe.  A template is roff
# with these lines, each replaced by generated roff:
#
#   @HELP PROGRAM@         PROGRAM --help (run from the build), its usage lines
#                          as SYNOPSIS and the rest as OPTIONS: items "  TERM  TEXT"
#                          (continued on deeper-indented lines) become .TP
#                          entries, "Title:" lines subsections, other lines
#                          paragraphs;
#   @MD FILE@              the Markdown file FILE (from the top of the tree),
#   @MD FILE#HEADING@      or its section HEADING (up to the next heading of
#                          the same or a higher level), as roff: headings,
#                          paragraphs, lists, code blocks, and tables (each row
#                          an indented entry: the first cell as its tag, the
#                          other cells as "column: value" lines);
#   @VERSION@ anywhere     the version.
#
# Usage: mkman.pl TEMPLATE OUTPUT BINDIR VERSION
use strict;
use warnings;

my ($template, $output, $bindir, $version) = @ARGV;
die "usage: mkman.pl TEMPLATE OUTPUT BINDIR VERSION\n" unless defined $version;

# Text to roff: escapes, then Markdown's inline `code`, **bold**, [links](...).
sub inline
{
	my ($t) = @_;
	$t =~ s/\\/\\e/g;
	$t =~ s/-/\\-/g;
	$t =~ s/\[([^\]]+)\]\([^)]*\)/$1/g;                # [text](url): text
	$t =~ s/`([^`]+)`/\\fB$1\\fR/g;
	$t =~ s/\*\*([^*]+)\*\*/\\fB$1\\fR/g;
	$t =~ s/(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])/\\fI$1\\fR/g;
	$t =~ s/^([.'])/\\&$1/;
	$t =~ s/\s+$//;
	return unicode($t);
}

# groff reads Latin-1: other characters (x, dashes, quotes) as \[uXXXX].
sub unicode
{
	my ($t) = @_;
	$t =~ s/([^\x00-\x7f])/sprintf('\\[u%04X]', ord($1))/ge;
	return $t;
}

# A verbatim line (code blocks, usage lines).
sub verbatim
{
	my ($t) = @_;
	$t =~ s/\\/\\e/g;
	$t =~ s/-/\\-/g;
	$t =~ s/^([.'])/\\&$1/;
	return unicode($t);
}

sub help_to_roff
{
	my ($prog) = @_;
	my $text = `"$bindir/$prog" --help`;
	die "mkman.pl: $bindir/$prog --help failed\n" if $? != 0 || !$text;
	my @lines = split /\n/, $text;
	my (@synopsis, @out);
	while (@lines && $lines[0] =~ /^(?:usage:\s*|Usage:\s*|\s{5,})(\S.*)$/i)
	{
		push @synopsis, verbatim($1);
		shift @lines;
	}
	my $in_item = 0;
	my @para;
	my $flush = sub {
		if (@para) { push @out, '.PP', map { inline($_) } @para; @para = (); }
	};
	for my $l (@lines)
	{
		if ($l =~ /^\s*$/) { $flush->(); $in_item = 0; next; }
		if ($l =~ /^(\S.*):$/) { $flush->(); push @out, '.SS ' . inline($1); $in_item = 0; next; }
		my ($term, $desc) = $l =~ /^ {2,8}(-\S.*?|[a-z][\w-]*(?: \S+)*?)(?: {2,}(\S.*))?$/;
		if (defined $term && ($term =~ /^-/ || !@para))
		{
			$flush->();
			push @out, '.TP', '.B ' . inline($term);
			push @out, inline($desc) if defined $desc;
			$in_item = 1;
			next;
		}
		if ($in_item && $l =~ /^ {9,}(\S.*)$/) { push @out, inline($1); next; }
		push @para, $l;
	}
	$flush->();
	return (".SH SYNOPSIS", ".nf", @synopsis, ".fi", ".SH OPTIONS", @out);
}

sub md_to_roff
{
	my ($spec) = @_;
	my ($file, $heading) = split /#/, $spec, 2;
	open(my $fh, '<:encoding(UTF-8)', $file) or die "mkman.pl: $file: $!\n";
	my @lines = <$fh>;
	close $fh;
	chomp @lines;
	if (defined $heading)
	{
		my ($start) = grep { $lines[$_] =~ /^(#+) \Q$heading\E$/ } 0 .. $#lines;
		die "mkman.pl: $file has no heading \"$heading\"\n" unless defined $start;
		my $level = length(($lines[$start] =~ /^(#+)/)[0]);
		my $end = $#lines + 1;
		for my $i ($start + 1 .. $#lines)
		{
			if ($lines[$i] =~ /^(#+) / && length($1) <= $level && !in_code(\@lines, $i)) { $end = $i; last; }
		}
		@lines = @lines[ $start + 1 .. $end - 1 ];
	}
	my (@out, @para, @header);
	my $code = 0;
	my $flush = sub {
		if (@para) { push @out, '.PP', map { inline($_) } @para; @para = (); }
	};
	for my $l (@lines)
	{
		if ($l =~ /^```/)
		{
			$flush->();
			push @out, $code ? ('.fi', '.RE') : ('.RS 4', '.nf');
			$code = !$code;
			next;
		}
		if ($code) { push @out, verbatim($l); next; }
		if ($l =~ /^#+ (.*)$/) { $flush->(); push @out, '.SS ' . inline(uc_first($1)); next; }
		if ($l =~ /^\s*$/) { $flush->(); @header = (); next; }
		if ($l =~ /^\|/)
		{
			$flush->();
			my @cells = split /\s*\|\s*/, $l;
			shift @cells;
			if (!@header) { @header = @cells; next; }
			next if $l =~ /^\|\s*-+/;
			push @out, '.TP', inline($cells[0]), '.br';
			for my $i (1 .. $#cells)
			{
				next if $cells[$i] eq '' || $cells[$i] eq '—';
				push @out, '.br' if $i > 1;
				push @out, inline(($header[$i] // '') . ': ' . $cells[$i]);
			}
			next;
		}
		if ($l =~ /^\s*(?:-|\d+\.) (.*)$/) { $flush->(); push @out, '.IP \(bu 2', inline($1); next; }
		push @para, $l;
	}
	$flush->();
	return @out;
}

sub in_code
{
	my ($lines, $i) = @_;
	my $n = grep { /^```/ } @$lines[ 0 .. $i - 1 ];
	return $n % 2;
}

sub uc_first { my ($t) = @_; $t =~ s/^`([^`]+)`$/$1/; return $t; }

open(my $in, '<', $template) or die "mkman.pl: $template: $!\n";
my @out;
while (my $l = <$in>)
{
	chomp $l;
	if ($l =~ /^\@HELP (\S+)\@$/) { push @out, help_to_roff($1); next; }
	if ($l =~ /^\@MD (.+)\@$/)     { push @out, md_to_roff($1);   next; }
	$l =~ s/\@VERSION\@/$version/g;
	push @out, $l;
}
close $in;
open(my $o, '>', "$output.tmp") or die "mkman.pl: $output.tmp: $!\n";
print $o join("\n", @out), "\n";
close $o or die "mkman.pl: $output.tmp: $!\n";
rename "$output.tmp", $output or die "mkman.pl: $output: $!\n";
