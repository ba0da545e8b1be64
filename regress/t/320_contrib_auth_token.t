# The module kit, end to end: `make install` (with PREFIX, and staged with
# DESTDIR) installs corral-config, the headers and the makefile fragment;
# contrib/auth_token, copied out of the tree, builds with nothing else
# (make CORRAL_CONFIG=PREFIX/bin/corral-config), exports only its two entry
# points, loads through module_path, and its "token" scheme works from
# kazoo (add_auth('token', ...), then ACL checks).  Its own `make check`
# runs too, with the installed corrald.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

my $root  = repo_root();
my $build = build_dir();
my $tmp   = File::Temp::tempdir(test_name() . '_kit_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

sub run_make
{
	my (@args) = @_;
	my ($rc, $out, $err) = run_command([ 'make', '--no-print-directory', @args ], timeout => 300);
	return ($rc, $out, $err);
}

# ---- make install ------------------------------------------------------------
# `-o all`: install what the build directory under test holds, without
# rebuilding it (the tree may hold someone's half-written file; `make check`
# has built everything before running the tests anyway).
my $prefix = "$tmp/inst";
# With the build's sanitizer flags (SAN=1), which corral-config then gives
# the out-of-tree module: its build signature must match the server's.
my ($rc, $out, $err) =
  run_make('-C', $root, "BUILD=$build", (asan_build($build) ? 'SAN=1' : ()), '-o', 'all', 'install', "PREFIX=$prefix");
is($rc, 0, 'make install PREFIX=...') or diag($out . $err);

my $cfg = "$prefix/bin/corral-config";
ok(-x $cfg, 'corral-config is installed');
ok(-r "$prefix/include/corral/module.h" && -r "$prefix/include/corral/auth.h", 'headers are installed');
ok(-r "$prefix/lib/corral/corral-module.mk", 'the makefile fragment is installed');
ok(-r "$prefix/lib/corral/modules/auth_digest.so", 'modules are installed');

sub cc
{
	my ($cfgpath, @opts) = @_;
	my ($c, $o, $e) = run_command([ $cfgpath, @opts ]);
	chomp $o;
	return $c == 0 ? $o : "exit $c: $e";
}
is(cc($cfg, '--prefix'),     $prefix,                           '--prefix');
is(cc($cfg, '--includedir'), "$prefix/include",                 '--includedir');
is(cc($cfg, '--pkglibdir'),  "$prefix/lib/corral",              '--pkglibdir');
is(cc($cfg, '--moduledir'),  "$prefix/lib/corral/modules",      '--moduledir');
is(cc($cfg, '--makefile'),   "$prefix/lib/corral/corral-module.mk", '--makefile');
is(cc($cfg, '--libs'),       '',                                '--libs: nothing to link');
like(cc($cfg, '--cflags'), qr/^-I\Q$prefix\E\/include .*-fPIC/, '--cflags');
my ($vrc, $vout) = run_command([ "$build/bin/corrald", '--version' ]);
my ($version) = $vout =~ /(\d+\.\d+\.\d+)/;
is(cc($cfg, '--version'), $version, '--version is corrald\'s');
my ($abi) = slurp_file(repo_root() . "/include/corral/module.h") =~ /^#define CORRAL_ABI_VERSION (\d+)$/m;
is(cc($cfg, '--abi-version'), $abi, "--abi-version is the header's ($abi)");
is(cc($cfg, '--cflags', '--moduledir'), cc($cfg, '--cflags') . "\n$prefix/lib/corral/modules",
	'several options: one answer a line, in order');
like(cc($cfg), qr/^MODULEDIR\s+= \Q$prefix\E\/lib\/corral\/modules$/m, 'no option: everything, labelled');
my ($brc, undef, $berr) = run_command([ $cfg, '--bogus' ]);
is($brc, 2, 'an unknown option: exit code 2');
like($berr, qr/unknown option "--bogus"/, 'an unknown option is named');

# A symlink to corral-config (e.g. in /usr/local/bin) still finds the tree.
make_path("$tmp/links");
symlink($cfg, "$tmp/links/corral-config") or die "symlink: $!";
is(cc("$tmp/links/corral-config", '--prefix'), $prefix, 'corral-config through a symlink');

# Staged with DESTDIR: the staged copy answers for where it is.
($rc, $out, $err) = run_make('-C', $root, "BUILD=$build", '-o', 'all', 'install', 'PREFIX=/opt/corral',
	"DESTDIR=$tmp/stage");
is($rc, 0, 'make install PREFIX=/opt/corral DESTDIR=...') or diag($out . $err);
ok(-x "$tmp/stage/opt/corral/bin/corrald" && -x "$tmp/stage/opt/corral/bin/corral-config",
	'DESTDIR: files land under DESTDIR/PREFIX');
is(cc("$tmp/stage/opt/corral/bin/corral-config", '--moduledir'), "$tmp/stage/opt/corral/lib/corral/modules",
	'DESTDIR: the staged corral-config is relocatable');

# ---- build the example module out of the tree ----------------------------------
my $src = "$tmp/auth_token";
make_path("$src/test");
for my $f (qw(Makefile auth_token.c test/run_test.sh test/token_client.py))
{
	copy("$root/contrib/auth_token/$f", "$src/$f") or die "copy $f: $!";
}
chmod 0755, "$src/test/run_test.sh", "$src/test/token_client.py";

($rc, $out, $err) = run_make('-C', $src, "CORRAL_CONFIG=$cfg");
is($rc, 0, 'make CORRAL_CONFIG=... builds contrib/auth_token out of the tree') or diag($out . $err);
ok(-e "$src/auth_token.so", 'auth_token.so is built');
like($out, qr/-I\Q$prefix\E\/include/, 'it is compiled against the installed headers');
unlike($out . $err, qr/-I\Q$root\E\/include|-Iinclude\b/, 'nothing of the source tree is used');
is($err, '', 'no compiler warnings');

($rc, $out, $err) = run_make('-C', $src, "CORRAL_CONFIG=$cfg", 'check-abi');
is($rc, 0, 'check-abi: only corral_module_magic and corral_module_init are exported') or diag($out . $err);

($rc, $out, $err) = run_make('-C', $src, "CORRAL_CONFIG=$cfg", 'install', "DESTDIR=$tmp/mstage");
is($rc, 0, 'make install of the module') or diag($out . $err);
ok(-e "$tmp/mstage$prefix/lib/corral/modules/auth_token.so", 'it goes to DESTDIR + --moduledir');

# A Makefile that forgets MODULE is told so.
write_file("$tmp/bad.mk", "include $prefix/lib/corral/corral-module.mk\n");
($rc, $out, $err) = run_make('-f', "$tmp/bad.mk", '-C', $tmp);
isnt($rc, 0, 'no MODULE: make fails');
like($err, qr/set MODULE = <name> before including it/, 'no MODULE: the fragment says what to do');

# ---- load it and use it ------------------------------------------------------------
my $node = Corral::Test::Cluster->new('token');
my $tokens = {
	tokens => [ { name => 'ci', token => 'ci-secret-1' }, { name => 'deploy', token => 'deploy-secret-2' } ]
};
$node->init(module_path => [ $src, $node->modules_dir ], modules => { auth_token => $tokens });
$node->start;
ok($node->log_contains(qr/loaded module auth_token 1\.0 from \Q$src\E\/auth_token\.so/),
	'corrald loads it from module_path');

SKIP:
{
	skip 'python3-kazoo is not installed', 3 unless have_kazoo();
	($rc, $out, $err) = run_command([ python3(), "$src/test/token_client.py", $node->address ], timeout => 120);
	is($rc, 0, 'token_client.py passes against it') or diag($out . $err);
	unlike($out, qr/^not ok/m, 'no failing check') or diag($out);
	my $n = () = $out =~ /^ok /mg;
	cmp_ok($n, '>=', 8, "$n checks ran");
}
ok($node->log_contains(qr/WARN \[auth_token\] unknown token from 127\.0\.0\.1/), 'a bad token is logged')
  if have_kazoo();
is($node->stop, 0, 'corrald exits cleanly');

# Its settings are validated, with positions.
$node->write_config(<<"EOY");
server:
  data_dir: @{[ $node->data_dir ]}
  client_listen: @{[ $node->address ]}
module_path: [$src]
modules:
  auth_token:
    tokens:
      - { name: ci, token: a }
      - { name: ci, token: b }
EOY
my ($crc, $cout, $cerr) = $node->run_corrald('--check-config', '-c', $node->config_file);
is($crc, 2, 'a duplicate token name: exit code 2');
like($cerr, qr/\Q@{[ $node->config_file ]}\E:9:17: token name "ci" is listed twice/, 'reported with its position');

$node->write_config(<<"EOY");
server: { data_dir: @{[ $node->data_dir ]}, client_listen: @{[ $node->address ]} }
module_path: [$src]
modules:
  auth_token: { tokens: [ { name: ci } ] }
EOY
($crc, $cout, $cerr) = $node->run_corrald('--check-config', '-c', $node->config_file);
is($crc, 2, 'a token without a secret: exit code 2');
like($cerr, qr/:4:\d+: .*token/, 'reported with its position') or diag($cerr);

# ---- its own `make check`, with the installed corrald -------------------------------
SKIP:
{
	skip 'python3-kazoo is not installed', 1 unless have_kazoo();
	($rc, $out, $err) = run_make('-C', $src, "CORRAL_CONFIG=$cfg", 'check');
	is($rc, 0, 'make check of the module (installed corrald, live test)') or diag($out . $err);
}

done_testing();
