# regress/t/007_doc_examples.t: every C example of doc/*.md compiles.
#
# regress/tools/doc_examples.pl extracts the ```c blocks; each is compiled
# as a translation unit against include/ with the flags corral-config gives
# modules plus -Wall -Wextra -Werror.  A block marked
# <!-- doc-test: module NAME --> is a complete module: it is also linked as
# NAME.so and loaded by corrald --check-config (magic block, init,
# registrations).  Blocks marked <!-- doc-test: fragment: WHY --> are only
# counted; every such mark must say why.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $root  = repo_root();
my $build = build_dir();
my $tmp   = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $cc    = $ENV{CC} // 'cc';
# What `corral-config --cflags` gives an out-of-tree module, the sanitizer
# flags of a SAN=1 build included (the module is loaded into that corrald);
# src/modules/storage_file for the example of a tool reading its files.
my @san    = asan_build($build) ? ('-fsanitize=address,undefined', '-fno-omit-frame-pointer') : ();
my @cflags = ('-std=gnu11', '-fPIC', '-fvisibility=hidden', '-pthread', '-D_GNU_SOURCE', @san,
	"-I$root/include", "-I$root/src/modules/storage_file", '-Wall', '-Wextra', '-Werror');

chdir $root or die "$root: $!";    # file names relative to the tree in messages
my @docs = glob('doc/*.md');
ok(@docs >= 10, 'the documentation is there (' . scalar(@docs) . ' files)');
my ($rc, $manifest, $err) = run_command([ $^X, 'regress/tools/doc_examples.pl', "$tmp/src", @docs ]);
is($rc, 0, 'doc_examples.pl extracts the blocks') or diag($err);
my @blocks = map { [ split /\t/, $_, 4 ] } split /\n/, $manifest;
my %n;
$n{ $_->[0] }++ for @blocks;
cmp_ok($n{compile} // 0, '>=', 3, "C blocks compiled: " . ($n{compile} // 0));
cmp_ok($n{module}  // 0, '>=', 2, "complete modules built and loaded: " . ($n{module} // 0));

# The examples that must be whole programs, by what they show.
my %want = (
	'doc/storage.md' => qr/corral_register_storage/,
	'doc/modules.md' => qr/corral_register_hooks/,
);
for my $doc (sort keys %want)
{
	ok((grep { $_->[1] =~ /^\Q$doc\E:/ && $_->[0] ne 'fragment' && slurp_file($_->[2]) =~ $want{$doc} } @blocks),
		"$doc: the example using " . ($want{$doc} =~ /(corral_\w+)/)[0] . ' is compiled');
}

my $node = Corral::Test::Cluster->new('docs');
for my $b (@blocks)
{
	my ($kind, $where, $file, $note) = @$b;
	if ($kind eq 'fragment')
	{
		ok(length($note // ''), "$where: a fragment, and it says why ($note)");
		next;
	}
	my $obj = "$file.o";
	my ($crc, $cout, $cerr) = run_command([ $cc, @cflags, '-c', '-o', $obj, $file ], timeout => 120);
	is($crc, 0, "$where compiles with -Wall -Wextra -Werror") or diag($cout . $cerr);
	next unless $kind eq 'module' && $crc == 0;

	my ($name) = $note =~ /^(\w+)$/;
	ok($name, "$where: the module's name is given") or next;
	my $dir = "$tmp/mod_$name";
	mkdir $dir;
	my ($lrc, $lout, $lerr) = run_command([ $cc, '-shared', '-pthread', @san, '-o', "$dir/$name.so", $obj ], timeout => 120);
	is($lrc, 0, "$where: links as $name.so") or diag($lout . $lerr);
	$node->init(
		module_path => [ $dir, $node->modules_dir ],
		modules     => ordered(fourlw => { allow => ['*'] }, storage_memory => {}, $name => {}));
	my ($rc2, $out2, $err2) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc2, 0, "$where: corrald loads $name.so and runs its init") or diag($out2 . $err2);
	like($err2, qr/loaded module \Q$name\E \S+ from \Q$dir\/$name.so\E/, "$where: $name is logged as loaded");
}

done_testing();
