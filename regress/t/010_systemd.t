# regress/t/010_systemd.t: corrald under systemd's Type=notify, and the units.
#
# A test NOTIFY_SOCKET (a datagram socket of this script) stands in for
# systemd: corrald must send READY=1 only once it serves clients (a client
# connecting the moment READY=1 arrives gets imok), RELOADING=1 (with
# MONOTONIC_USEC) then READY=1 around a SIGHUP reload, STOPPING=1 on
# SIGTERM, and nothing when its startup fails.  Then `systemd-analyze
# verify` on packaging/systemd/*.service.in, when systemd-analyze is there.
use strict;
use warnings;

use File::Temp ();
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $path = "$tmp/notify";
my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path) or die "notify socket: $!";

# The next datagram, or undef after $timeout seconds.
sub next_message
{
	my ($timeout) = @_;
	return undef unless IO::Select->new($sock)->can_read($timeout // 30);
	my $msg;
	$sock->recv($msg, 4096);
	return $msg;
}

my $node = Corral::Test::Cluster->new('notify');
$node->init;
# Started by hand (not $node->start, which waits for readiness itself), so
# that the test sees READY=1 before anything else talks to the server.
my $pid = Corral::Test::Utils::spawn_logged($node->basedir, $node->logfile,
	[ $node->build_dir . '/bin/corrald', '-c', $node->config_file ], { NOTIFY_SOCKET => $path }, 'notify');
$node->{pid} = $pid;
my $first = next_message(60);
is($first, 'READY=1', 'the first message is READY=1');
is($node->fourlw('ruok', timeout => 2), 'imok', 'when READY=1 arrives, clients are served');
ok($node->log_contains(qr/ready: serving clients on/), 'and the log says ready');

my $pos = $node->log_position;
$node->signal('HUP');
my $m = next_message();
like($m, qr/\ARELOADING=1\nMONOTONIC_USEC=\d+\z/, 'SIGHUP: RELOADING=1 with MONOTONIC_USEC');
is(next_message(), 'READY=1', 'SIGHUP: READY=1 after the reload');
ok($node->log_contains(qr/\[reload\] reloaded/, $pos), 'the reload ran in between');

$node->signal('TERM');
is(next_message(), 'STOPPING=1', 'SIGTERM: STOPPING=1');
is($node->wait_exit, 0, 'SIGTERM: exit 0');

# A failed start says nothing to systemd (it sees the exit).
{
	my $holder = IO::Socket::INET->new(LocalAddr => $node->host, LocalPort => $node->port, Listen => 1, ReuseAddr => 1)
	  or die "cannot hold the port: $!";
	my $pid2 = Corral::Test::Utils::spawn_logged($node->basedir, $node->logfile,
		[ $node->build_dir . '/bin/corrald', '-c', $node->config_file ], { NOTIFY_SOCKET => $path }, 'notify');
	$node->{pid} = $pid2;
	isnt($node->wait_exit, 0, 'port taken: corrald fails');
	is(next_message(1), undef, 'port taken: no READY=1');
	close $holder;
}

# ---- the units ---------------------------------------------------------------------
my $root = repo_root();
for my $unit ('corral.service', 'corral@.service')
{
	my $text = slurp_file("$root/packaging/systemd/$unit.in");
	like($text, qr/^Type=notify$/m, "$unit: Type=notify");
	like($text, qr{^ExecReload=/bin/kill -HUP \$MAINPID$}m, "$unit: ExecReload sends SIGHUP");
	like($text, qr/^$_=/m, "$unit: $_") for qw(NoNewPrivileges ProtectSystem ProtectHome PrivateTmp CapabilityBoundingSet);
}
SKIP:
{
	my $sa = (grep { -x } map { "$_/systemd-analyze" } split /:/, $ENV{PATH} // '')[0];
	skip 'systemd-analyze is not installed', 2 unless $sa;
	for my $unit ('corral.service', 'corral@.service')
	{
		# the unit as make install writes it, with this build's corrald
		write_file("$tmp/$unit", slurp_file("$root/packaging/systemd/$unit.in") =~ s/\@BINDIR\@/${\ $node->build_dir }\/bin/gr);
		my ($rc, $out, $err) = run_command([ $sa, 'verify', '--man=no', "$tmp/$unit" ]);
		is("$out$err", '', "systemd-analyze verify $unit: no complaint");
	}
}

done_testing();
