# regress/t/701_hostile_connections.t: connections that cost the server
# without doing anything (issue #10).
#
#   - a connection that never sends a ConnectRequest (or only part of one)
#     is closed after server.sessionless_timeout_ms, as ZooKeeper closes it
#     after sessionlessCnxnTimeout; one with a session is not;
#   - server.max_connections bounds all client connections; with 0 the
#     bound is the descriptor limit less a reserve, so the server does not
#     run out of descriptors because of clients;
#   - when accept fails for lack of descriptors (EMFILE), the server backs
#     off instead of spinning on the readable listener, logs it a bounded
#     number of times, and recovers by itself when descriptors return.
use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(time usleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Wire qw(path_body OP_GETDATA OP_PING);

sub cpu_seconds
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my @f = split ' ', (<$fh> =~ s/^.*\) //r);
	return ($f[11] + $f[12]) / 100;    # utime + stime, in clock ticks (USER_HZ = 100)
}

sub raw_connect
{
	my ($node) = @_;
	return IO::Socket::INET->new(PeerAddr => $node->host, PeerPort => $node->port, Proto => 'tcp', Timeout => 5);
}

my $node = Corral::Test::Cluster->new('hostile_conn');

# ---- sessionless connections -------------------------------------------------
$node->init(server => { sessionless_timeout_ms => 300, max_client_connections => 0 },
	modules => { fourlw => { allow => ['ruok'] } });
$node->start;
{
	my $pos = $node->log_position;
	my $silent = raw_connect($node) or BAIL_OUT('cannot connect');
	my $partial = raw_connect($node) or BAIL_OUT('cannot connect');
	syswrite($partial, pack('N', 44) . 'abc');    # a ConnectRequest that never completes
	my $good = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my (undef, $eof1) = Corral::Test::Cluster::read_until_eof($silent, 10);
	ok($eof1, 'a connection that sends nothing is closed');
	my (undef, $eof2) = Corral::Test::Cluster::read_until_eof($partial, 10);
	ok($eof2, 'a connection that sends part of a ConnectRequest is closed');
	ok($node->wait_for_log(qr/closing connection from \S+: no session within 300 ms \(server\.sessionless_timeout_ms\)/, $pos),
		'the close is logged with the setting');
	usleep(700_000);
	$good->send_request(-2, OP_PING);
	my ($xid) = $good->read_reply(5);
	is($xid, -2, 'a connection with a session is kept past the timeout');
	$good->close;
}
is($node->stop, 0, 'stopped cleanly');

# ---- the global connection limit ---------------------------------------------
$node->init(server => { max_connections => 5, max_client_connections => 0 },
	modules => { fourlw => { allow => ['ruok'] } });
$node->start;
{
	my @held = map { Corral::Test::Wire->connect($node->address) } 1 .. 5;
	is(scalar(grep { defined } @held), 5, 'five sessions');
	my $pos = $node->log_position;
	my $sixth = raw_connect($node);
	my ($d, $eof) = Corral::Test::Cluster::read_until_eof($sixth, 10);
	ok($eof && $d eq '', 'the sixth connection is closed at once');
	ok($node->wait_for_log(qr/WARN \[net\] Too many connections \(5\): refusing \/127\.0\.0\.1:\d+ \(server\.max_connections\)/, $pos),
		'and the refusal is logged');
	$_->close for @held;
	ok(wait_until(sub { ($node->fourlw('ruok') // '') eq 'imok' }), 'room again once connections close');
}
is($node->stop, 0, 'stopped cleanly');

# ---- out of descriptors --------------------------------------------------------
SKIP:
{
	my ($prc) = run_command([ 'prlimit', '--version' ], timeout => 10);
	skip 'prlimit (util-linux) is not installed', 8 unless $prc == 0;
	$node->init(server => { max_connections => 100000, max_client_connections => 0 },
		modules => { fourlw => { allow => ['ruok'] } });
	$node->start;
	my $pid = $node->pid;
	my ($rc, $out, $err) = run_command([ 'prlimit', '--pid', $pid, '--nofile=64:64' ], timeout => 10);
	is($rc, 0, 'corrald limited to 64 descriptors') or diag($err);
	my $pos = $node->log_position;
	my @conns = grep { defined } map { raw_connect($node) } 1 .. 150;
	is(scalar @conns, 150, '150 connections made (the kernel queues what corrald cannot accept)');
	my $cpu0 = cpu_seconds($pid);
	my $t0 = time();
	sleep 2;
	my $cpu = cpu_seconds($pid) - $cpu0;
	my $wall = time() - $t0;
	ok($node->wait_for_log(qr/WARN \[net\] cannot accept: Too many open files/, $pos), 'EMFILE is logged');
	my $lines = () = $node->log_content($pos) =~ /cannot accept/g;
	ok($lines <= 3, "... a bounded number of times ($lines lines)");
	ok($cpu < 0.5 * $wall, sprintf('the server does not spin meanwhile (%.2f s of CPU in %.2f s)', $cpu, $wall));
	ok($node->is_running, 'the server is up');
	$_->close for @conns;
	@conns = ();
	ok(wait_until(sub { ($node->fourlw('ruok', timeout => 1) // '') eq 'imok' }),
		'once the connections are gone, ruok is answered again');
	my $c = Corral::Test::Wire->connect($node->address);
	ok($c, 'and a client gets a session');
	$c->close if $c;
	is($node->stop, 0, 'stopped cleanly');
}

# ---- max_connections 0: derived from the descriptor limit -------------------------
{
	# corrald inherits this process's soft limit; the hard one is kept, so
	# the limit is raised again afterwards even without privileges.
	my ($rc, $out) = run_command([ 'sh', '-c', 'ulimit -Hn' ], timeout => 10);
	chomp $out;
	$node->init(server => { max_connections => 0, max_client_connections => 0 },
		modules => { fourlw => { allow => ['ruok'] } });
	my @cmd = ('prlimit', '--pid', $$, "--nofile=128:$out");
	my ($prc) = run_command(\@cmd, timeout => 10);
	SKIP:
	{
		skip 'cannot lower the descriptor limit with prlimit', 3 unless $prc == 0;
		$node->start;
		run_command([ 'prlimit', '--pid', $$, "--nofile=$out:$out" ], timeout => 10);
		my $pos = $node->log_position;
		my @conns = grep { defined } map { raw_connect($node) } 1 .. 100;
		ok($node->wait_for_log(qr/Too many connections \(64\): refusing/, $pos),
			'with 128 descriptors, connections beyond 64 are refused (64 kept for storage and members)');
		ok($node->log_content($pos) !~ /cannot accept/, 'and the server never ran out of descriptors');
		$_->close for @conns;
		ok(wait_until(sub { ($node->fourlw('ruok', timeout => 1) // '') eq 'imok' }), 'ruok afterwards');
		is($node->stop, 0, 'stopped cleanly');
	}
}

done_testing();
