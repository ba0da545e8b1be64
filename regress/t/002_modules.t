# regress/t/002_modules.t: loading modules, and refusing bad ones.
#
# Each refusal must name the module and its file and say precisely what is
# wrong; corrald then exits with 3 (2 when the module found an error in its
# own settings, reported as FILE:LINE:COLUMN) before serving anything.  The
# bad modules are built from regress/modules/ into BUILD/regress-modules/.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $node = Corral::Test::Cluster->new('modules');
my $rdir = $node->regress_modules_dir;
my $mdir = $node->modules_dir;

if (!-e "$rdir/bad_abi.so")
{
	fail("the test modules are not built in $rdir");
	diag('the GNUmakefile must include regress/modules/build.mk (make builds them for `all`)');
	done_testing();
	exit 1;
}

my $fatal = qr/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} FATAL \[module\] /;

# The module ABI version, from the header the modules were built with.
my ($abi) = slurp_file(repo_root() . '/include/corral/module.h') =~ /^#define CORRAL_ABI_VERSION (\d+)$/m;
ok($abi, "CORRAL_ABI_VERSION is $abi");
# Is this corrald an AddressSanitizer build (make check-asan)?
my $asan_server = asan_build($node->{build});

# Configures the node with the given modules (in order), then checks that
# both --check-config and a real start refuse with exit code $code and the
# line "FATAL [module] $msg" ($msg: a string, or a qr// for the message),
# and that nothing listens afterwards.  Returns the stderr of
# --check-config.
sub refused
{
	my ($name, $modules, $msg, %o) = @_;
	my $code = $o{code} // 3;
	my $re = ref $msg eq 'Regexp' ? $msg : qr/\Q$msg\E/;
	$node->init(module_path => [ $rdir, $mdir ], modules => ordered(@$modules));
	my $stderr;
	subtest $name => sub {
		my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
		$stderr = $err;
		is($rc,  $code, "--check-config: exit code $code");
		is($out, '',    '--check-config: nothing on stdout');
		like($err, qr/^$fatal$re$/m, '--check-config: the refusal is logged')
		  or diag("expected: $msg");
		if ($o{alone})
		{
			like($err, qr/\A$fatal$re\n\z/, '--check-config: nothing else is logged');
		}

		ok(!$node->start(fail_ok => 1), 'start fails');
		is($node->exit_code, $code, "start: exit code $code");
		ok($node->log_contains(qr/^$fatal$re$/m, $node->{log_offset}), 'start: the refusal is logged');
		unlike($node->log_content($node->{log_offset}), qr/ready: serving clients/, 'start: never ready');
		ok(!$node->can_connect, 'start: nothing listens afterwards');
	};
	return $stderr;
}

# ---- refusals ---------------------------------------------------------------------
my @sp = ($rdir, $mdir, "$node->{build}/bin/../modules", "$node->{build}/bin/../lib/corral/modules");
refused('module not found', [ nosuch => {} ],
	qq{module "nosuch": nosuch.so not found in module_path (searched: } . join(', ', @sp) . ')',
	alone => 1);
refused('not a shared object', [ not_so => {} ],
	qq{module "not_so" ($rdir/not_so.so): cannot be loaded: $rdir/not_so.so: invalid ELF header},
	alone => 1);
refused('no magic block', [ no_magic => {} ],
	qq{module "no_magic" ($rdir/no_magic.so): is not a Corral module: it has no magic block (add CORRAL_MODULE_MAGIC)},
	alone => 1);
refused('wrong ABI version', [ bad_abi => {} ],
	qq{module "bad_abi" ($rdir/bad_abi.so): was built for module ABI version 999, but this server has version $abi},
	alone => 1);
# The build signature: the data model and the size of every ABI struct
# without a size field of its own are compared, and each difference named.
my $err = refused('another data model and a vtable of another size', [ bad_compat => {} ],
	qr/\Qmodule "bad_compat" ($rdir\/bad_compat.so): is not binary compatible with this server: \E
	   \Qpointers are 2 bytes in the module, 8 in this server; \E
	   struct\ CorralStorage\ is\ \d+\ bytes\ in\ the\ module,\ \d+\ in\ this\ server/x,
	alone => 1);
my ($theirs, $ours) = ($err // '') =~ /struct CorralStorage is (\d+) bytes in the module, (\d+) in this server/;
ok(defined $ours && $theirs == $ours + 8 && $ours > 0, "the sizes named are the module's and the server's ($theirs, $ours)");
# other_build.so is the same kind of module as any other, built with the
# other sanitizer setting than this corrald (regress/modules/build.mk).
refused('built with other sanitizer flags', [ other_build => {} ],
	qq{module "other_build" ($rdir/other_build.so): is not binary compatible with this server: }
	  . ($asan_server
		? 'the module was built without AddressSanitizer, this server with it'
		: 'the module was built with AddressSanitizer, this server without'),
	alone => 1);
# sanitizer_built.so is really built with a sanitizer this corrald lacks: it
# needs that sanitizer's runtime, which would stop the whole process if it
# were loaded now.  corrald reads the libraries it needs before dlopen.
{
	my ($san, $lib) = $asan_server ? ('ThreadSanitizer', 'libtsan') : ('AddressSanitizer', 'libasan');
	refused("built with $san: its runtime is not in this process", [ sanitizer_built => {} ],
		qr/\Qmodule "sanitizer_built" ($rdir\/sanitizer_built.so): is not binary compatible with this server: \E
		   \Qthe module was built with $san (it needs $lib\E\.so\.\d+\Q), this server without\E/x,
		alone => 1);
}
refused('magic block names another module', [ wrong_name => {} ],
	qq{module "wrong_name" ($rdir/wrong_name.so): its magic block names it "someone_else"},
	alone => 1);
refused('no init function', [ no_init => {} ],
	qq{module "no_init" ($rdir/no_init.so): has no corral_module_init() entry point},
	alone => 1);
refused('init fails with a reason', [ init_fails => {} ],
	qq{module "init_fails" ($rdir/init_fails.so): initialisation failed: the disk is on fire},
	alone => 1);
refused('init fails with a reason of its settings', [ init_fails => { reason => 'no quorum in sight' } ],
	qq{module "init_fails" ($rdir/init_fails.so): initialisation failed: no quorum in sight},
	alone => 1);
refused('init fails without a reason', [ init_fails => { silent => 'true' } ],
	qq{module "init_fails" ($rdir/init_fails.so): initialisation failed: (the module gave no reason)},
	alone => 1);
# A bad module after a good one: nothing starts half-loaded.
refused('a refused module after a good one', [ fourlw => { allow => ['*'] }, bad_abi => {} ],
	qq{module "bad_abi" ($rdir/bad_abi.so): was built for module ABI version 999, but this server has version $abi});

# ---- registering outside init -------------------------------------------------
# late_word registers a four-letter word from its start hook: the core refuses
# the registration and logs why; the hook then fails, so startup stops with 3.
# (--check-config runs no start hook, so it passes.)
{
	$node->init(module_path => [ $rdir, $mdir ], modules => ordered(late_word => {}));
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'late_word passes --check-config (start hooks do not run)') or diag($err);
	ok(!$node->start(fail_ok => 1), 'late_word: start fails');
	is($node->exit_code, 3, 'late_word: exit code 3');
	ok($node->log_contains(qr/ERROR \[module\] module late_word: a four-letter word may only be registered during its init$/m,
			$node->{log_offset}),
		'late_word: the late registration is refused and logged');
	ok($node->log_contains(qr/ERROR \[module\] module late_word: an event hook may only be registered during its init$/m,
			$node->{log_offset}),
		'late_word: the late hook registration is refused and logged');
	ok($node->log_contains(
			qr/^$fatal\Qmodule "late_word" ($rdir\/late_word.so): failed to start: registering "late" after init was refused\E$/m,
			$node->{log_offset}),
		'late_word: the failed start is logged');
	ok(!$node->can_connect, 'late_word: nothing listens afterwards');
}

# ---- a module's own settings (corral_config_apply) --------------------------------
# Errors are configuration errors: exit code 2, FILE:LINE:COLUMN on stderr.
sub settings_error
{
	my ($name, $yaml_settings, $where, $msg) = @_;
	my $file = $node->config_file;
	$node->write_config("server:\n  client_listen: " . $node->address . "\n  data_dir: " . $node->data_dir
		  . "\nmodule_path: [$rdir]\nmodules:\n  strict_conf:$yaml_settings");
	subtest $name => sub {
		my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $file);
		is($rc,  2,                      '--check-config: exit code 2');
		is($err, "$file:$where: $msg\n", '--check-config: the error, with its position, alone on stderr');
		ok(!$node->start(fail_ok => 1), 'start fails');
		is($node->exit_code, 2, 'start: exit code 2');
		ok($node->log_contains(qr/^\Q$file:$where: $msg\E$/m, $node->{log_offset}), 'start: the error is logged');
		ok(!$node->can_connect, 'start: nothing listens afterwards');
	};
	return;
}

settings_error('module setting: unknown key', "\n    count: 2\n    bogus: 1\n", '8:5', 'unknown key "bogus"');
settings_error('module setting: missing required key', " {label: x}\n", '6:16', 'missing required key "count"');
settings_error('module setting: out of range', "\n    count: 11\n", '7:12', '"count" must be between 1 and 10, not 11');
settings_error('module setting: not a bool', "\n    count: 1\n    verbose: loud\n", '8:14',
	'"verbose" must be true or false, not "loud"');
settings_error('module setting: not a list', "\n    count: 1\n    tags: a\n", '8:11', '"tags" must be a list, not a scalar');
settings_error('module settings are not a map', " [count]\n", '6:16', 'expected a map of settings, not a list');
settings_error('module settings are null but a key is required', "\n", '6:15', 'missing required key "count"');

# ---- a good module -----------------------------------------------------------------
{
	$node->init(
		module_path => [ $rdir, $mdir ],
		modules     => ordered(
			fourlw      => { allow => ['*'] },
			strict_conf => { count => 3, label => 'hello', verbose => 'yes', tags => [ 'a', 'b' ] }));
	ok($node->start, 'a server with a test module starts');
	ok($node->log_contains(qr/INFO \[module\] loaded module strict_conf 1\.0 from \Q$rdir\/strict_conf.so\E$/m),
		'the module is logged with its version and file');
	is($node->fourlw('stcf'), "count=3\nlabel=hello\nverbose=1\ntags=2\n",
		'its four-letter word sees the settings it validated');
	is($node->stop, 0, 'and stops cleanly');
}

# ---- a module with the first ABI's positional magic block -----------------------
# CORRAL_MODULE_MAGIC("name", "version") still compiles and loads.
{
	$node->init(module_path => [ $rdir, $mdir ], modules => ordered(fourlw => { allow => ['*'] }, positional_magic => {}));
	ok($node->start, 'a module with a positional magic block starts');
	ok($node->log_contains(qr/INFO \[module\] loaded module positional_magic 0\.9 from \Q$rdir\/positional_magic.so\E$/m),
		'its name and version are read from the positional magic block');
	is($node->fourlw('posm'), "positional magic loaded\n", 'its four-letter word answers');
	is($node->stop, 0, 'and stops cleanly');
}

done_testing();
