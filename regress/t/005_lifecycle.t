# regress/t/005_lifecycle.t: starting, stopping and the command line of corrald.
#
# SIGTERM and SIGINT shut down cleanly (exit 0, "exited cleanly" logged, the
# port free again at once); a port already taken is a runtime failure
# (exit 1); --version, --help and bad options behave as documented in
# doc/operations.md.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $node = Corral::Test::Cluster->new('life');
$node->init;

# ---- start, and the log lines operators look for ---------------------------------
$node->start;
my $addr = $node->address;
ok($node->log_contains(qr/INFO \[main\] corrald \d+\.\d+\.\d+ starting \(config \Q${\ $node->config_file}\E, pid ${\ $node->pid}\)$/m),
	'the start is logged with version, configuration file and pid');
ok($node->log_contains(qr/INFO \[main\] ready: serving clients on \Q$addr\E$/m), 'ready is logged with the address');

# ---- SIGTERM -----------------------------------------------------------------------
{
	my $idle = $node->connect;    # an open client connection must not hold up the shutdown
	my $pos = $node->log_position;
	$node->signal('TERM');
	is($node->wait_exit, 0, 'SIGTERM: exit code 0');
	ok($node->log_contains(qr/INFO \[main\] exited cleanly$/m, $pos), 'SIGTERM: "exited cleanly" is logged');
	my ($data, $eof) = Corral::Test::Cluster::read_until_eof($idle, 10);
	ok($eof, 'SIGTERM: open client connections are closed');
	ok(!$node->can_connect, 'SIGTERM: the listener is closed');
}

# The port can be taken again at once (no TIME_WAIT trouble).
$node->start;
ok(1, 'restarted on the same port at once');

# ---- SIGINT ------------------------------------------------------------------------
{
	my $pos = $node->log_position;
	$node->signal('INT');
	is($node->wait_exit, 0, 'SIGINT: exit code 0');
	ok($node->log_contains(qr/INFO \[main\] exited cleanly$/m, $pos), 'SIGINT: "exited cleanly" is logged');
	ok(!$node->can_connect, 'SIGINT: the listener is closed');
}

# ---- SIGKILL and restart -------------------------------------------------------------
$node->start;
is($node->kill9, 137, 'SIGKILL: killed');
ok(!$node->can_connect, 'SIGKILL: nothing listens');
$node->start;
is($node->fourlw('ruok'), 'imok', 'restarted after SIGKILL');

# ---- the port is taken ---------------------------------------------------------------
{
	my $other = Corral::Test::Cluster->new('taken', port => $node->port);
	$other->init;
	ok(!$other->start(fail_ok => 1), 'a second server on the same port does not start');
	is($other->exit_code, 1, 'port taken: exit code 1 (runtime failure)');
	ok($other->log_contains(qr/ERROR \[net\] cannot listen on \Q$addr\E: Address already in use$/m),
		'port taken: the reason is logged');
	is($node->fourlw('ruok'), 'imok', 'the first server is unaffected');
}

# ---- log levels ------------------------------------------------------------------------
{
	is($node->stop, 0, 'stopped cleanly');
	my $pos = $node->log_position;
	$node->start(args => [ '--log-level', 'debug' ]);
	$node->fourlw('ruok');
	ok($node->wait_for_log(qr/DEBUG \[net\] four-letter word ruok from \/127\.0\.0\.1:\d+$/m, $pos),
		'--log-level debug: debug lines are logged');
	is($node->stop, 0, 'stopped cleanly');

	$node->init(server => { log_level => 'warn' });
	$pos = $node->log_position;
	$node->start;
	is($node->stop, 0, 'log_level warn: stopped cleanly');
	unlike($node->log_content($pos), qr/ INFO /, 'log_level warn: no INFO lines');
}

# ---- command line ------------------------------------------------------------------------
{
	my ($rc, $out, $err) = $node->run_corrald('--version');
	is($rc, 0, '--version: exit code 0');
	like($out, qr/\Acorrald \d+\.\d+\.\d+\S* \(module ABI \d+\)\n\z/, '--version: "corrald X.Y.Z (module ABI N)"');
	is($err, '', '--version: nothing on stderr');
	my ($rc2, $out2) = $node->run_corrald('-V');
	is($out2, $out, '-V is --version');

	($rc, $out, $err) = $node->run_corrald('--help');
	is($rc, 0, '--help: exit code 0');
	like($out, qr/\AUsage: corrald /, '--help: usage on stdout');
	like($out, qr/--$_\b/, "--help mentions --$_") for qw(config check-config print-builtin-config log-level version help);
	is($err, '', '--help: nothing on stderr');
	($rc2, $out2) = $node->run_corrald('-h');
	is($out2, $out, '-h is --help');

	($rc, $out, $err) = $node->run_corrald('--bogus');
	is($rc, 2, 'unknown option: exit code 2');
	is($out, '', 'unknown option: nothing on stdout');
	like($err, qr/unrecognized option '--bogus'/, 'unknown option: named on stderr');
	like($err, qr/^Usage: corrald /m, 'unknown option: usage on stderr');

	($rc, $out, $err) = $node->run_corrald('-c');
	is($rc, 2, '-c without a file: exit code 2');
	like($err, qr/option requires an argument -- 'c'/, '-c without a file: said on stderr');

	($rc, $out, $err) = $node->run_corrald('-c', $node->config_file, 'extra');
	is($rc, 2, 'an extra argument: exit code 2');
	like($err, qr/^corrald: unexpected argument "extra"$/m, 'an extra argument: named on stderr');
}

done_testing();
