# regress/t/700_hostile_output.t: clients that make the server produce more
# than they read (issue #10).
#
#   - 5,000 pipelined getData of a 1 MB node, never read: the server stops
#     taking that connection's requests once its backlog passes 4 MiB, so
#     its memory stays flat; ruok and other clients are answered throughout.
#   - a multiRead whose answer would exceed server.max_reply_bytes (10,000
#     getData of a 100 KB node, 1 GB): answered MarshallingError at once, the
#     connection stays usable; the same for getChildren of a directory too
#     large to answer.
#   - a persistent recursive watch on a client that never reads while
#     events pile up: the connection is closed at server.max_output_bytes,
#     with a log line; the writer is not disturbed.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Wire qw(path_body create_body multi_read_body OP_CREATE OP_GETDATA OP_SETDATA
  OP_GETCHILDREN OP_ADD_WATCH OP_PING);

my $MARSHALLING_ERROR = -5;

sub rss_kb
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return 0;
	while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/; }
	return 0;
}

# ruok answered within a second.
sub ruok_prompt
{
	my ($node) = @_;
	my $t0 = time();
	my $a = $node->fourlw('ruok', timeout => 1) // '';
	return $a eq 'imok' && time() - $t0 < 1;
}

sub ok_reply
{
	my ($c, $xid, $op, $body, $name) = @_;
	$c->send_request($xid, $op, $body);
	my ($rx, undef, $err) = $c->read_reply(10);
	ok(defined $rx && $rx == $xid && $err == 0, $name) or diag('reply: ' . ($rx // 'none') . ' err ' . ($err // ''));
}

my $node = Corral::Test::Cluster->new('hostile_out');
$node->init(server => { max_request_bytes => 1048576 + 4096 },
	modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
$node->start;
my $pid = $node->pid;

my $setup = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
ok_reply($setup, 1, OP_CREATE, create_body('/big', 'x' x 1_000_000), 'a 1 MB node');
ok_reply($setup, 2, OP_CREATE, create_body('/mid', 'y' x 100_000), 'a 100 KB node');
ok_reply($setup, 3, OP_CREATE, create_body('/small', 'z'), 'a small node');

# ---- pipelined reads, never read -------------------------------------------
{
	my $rss0 = rss_kb($pid);
	my $bad = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my $burst = join('', map { Corral::Test::Wire::request_bytes($_, OP_GETDATA, path_body('/big', 0)) } 1 .. 5000);
	# Written from a child: the server stops reading, so the write blocks.
	my $writer = fork();
	if ($writer == 0)
	{
		$bad->send_raw($burst);
		sleep 30;
		POSIX::_exit(0);
	}
	my $prompt = 0;
	my $peak = 0;
	for (1 .. 15)
	{
		$prompt++ if ruok_prompt($node);
		my $r = rss_kb($pid);
		$peak = $r if $r > $peak;
		usleep(200_000);
	}
	is($prompt, 15, 'ruok answered within a second throughout');
	ok($peak - $rss0 < 64 * 1024, 'memory stays flat while a client pipelines 5,000 reads of 1 MB and reads none')
	  or diag("RSS grew from $rss0 kB to $peak kB");
	ok_reply($setup, 4, OP_GETDATA, path_body('/small', 0), 'another client is served meanwhile');
	kill 'KILL', $writer;
	waitpid($writer, 0);
	$bad->close;
	ok(wait_until(sub { ruok_prompt($node) }), 'the server is fine after the client went away');
}

# ---- a reply too large to build -----------------------------------------------
{
	my $rss0 = rss_kb($pid);
	my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my $pos = $node->log_position;
	$c->send_request(10, 22, multi_read_body(('/mid') x 10_000));
	my ($xid, undef, $err) = $c->read_reply(20);
	is($xid, 10, 'the multiRead is answered');
	is($err, $MARSHALLING_ERROR, '... with MarshallingError: 1 GB is above server.max_reply_bytes');
	ok($node->wait_for_log(qr/multiRead from .* would answer at least \d+ bytes, above server\.max_reply_bytes/, $pos),
		'the refusal is logged');
	ok(rss_kb($pid) - $rss0 < 64 * 1024, 'and the reply was not built in memory');
	$c->send_request(12, 22, multi_read_body(('/mid') x 10_000));
	(undef, undef, $err) = $c->read_reply(20);
	is($err, $MARSHALLING_ERROR, 'asked again: MarshallingError again');
	my $lines = () = $node->log_content($pos) =~ /would answer at least/g;
	is($lines, 1, '... but the log line is not repeated (at most one per 10 s)');
	$c->send_request(-2, OP_PING);
	($xid, undef, $err) = $c->read_reply(5);
	is($xid, -2, 'the connection stays usable');
	$c->send_request(11, 22, multi_read_body(('/mid') x 3));
	my ($x2, undef, $e2, $body) = $c->read_reply(10);
	ok($x2 == 11 && $e2 == 0 && length($body) > 300_000, 'a multiRead under the limit is answered in full');
	$c->close;
}
$setup->close;
is($node->stop, 0, 'stopped cleanly');

# ---- small limits: getChildren too large, output limit --------------------------
$node->init(server => { max_request_bytes => 4096, max_reply_bytes => 8192, max_output_bytes => 6 << 20 },
	modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
$node->start;
$pid = $node->pid;
{
	my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	ok_reply($c, 1, OP_CREATE, create_body('/dir', ''), '/dir');
	my $name = 'n' x 60;
	$c->send_raw(join('', map { Corral::Test::Wire::request_bytes(100 + $_, OP_CREATE, create_body("/dir/$name$_", '')) } 1 .. 200));
	my $created = 0;
	for (1 .. 200) { my ($x, undef, $e) = $c->read_reply(10); $created++ if defined $e && $e == 0; }
	is($created, 200, '200 children with long names');
	$c->send_request(2, OP_GETCHILDREN, path_body('/dir', 0));
	my ($xid, undef, $err) = $c->read_reply(10);
	is($err, $MARSHALLING_ERROR, 'getChildren of a directory above max_reply_bytes: MarshallingError');
	$c->send_request(3, OP_GETCHILDREN, path_body('/', 0));
	($xid, undef, $err) = $c->read_reply(10);
	is($err, 0, 'a small getChildren still works on the same connection');
	$c->close;
}
{
	# The watcher: a persistent recursive watch on /w, then it never reads.
	my $w = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my $writer = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my $long = '/w/' . ('p' x 2000);
	ok_reply($writer, 1, OP_CREATE, create_body('/w', ''), '/w');
	ok_reply($writer, 2, OP_CREATE, create_body($long, ''), 'a node with a 2 KB path under /w');
	ok_reply($w, 1, OP_ADD_WATCH, Corral::Test::Wire::ustring('/w') . pack('N', 1), 'a persistent recursive watch on /w');
	my $pos = $node->log_position;
	my $rss0 = rss_kb($pid);
	# 2 KB events: 20,000 of them are 40 MB, far above max_output_bytes
	# plus what the kernel buffers on both sides.
	my $acked = 0;
	for my $round (1 .. 40)
	{
		$writer->send_raw(join('', map { Corral::Test::Wire::request_bytes($_, OP_SETDATA, Corral::Test::Wire::ustring($long) . Corral::Test::Wire::buffer('v') . pack('l>', -1)) } 1 .. 500));
		for (1 .. 500) { my ($x, undef, $e) = $writer->read_reply(20); $acked++ if defined $e && $e == 0; }
		last if $node->log_contains(qr/above server\.max_output_bytes/, $pos);
	}
	ok($node->wait_for_log(qr/closing connection from \S+: \d+ bytes of replies and events are not read by the client, above server\.max_output_bytes \(6291456\)/, $pos),
		'the non-reading watcher is closed at max_output_bytes, with a log line');
	ok($w->wait_closed(20), '... and its connection is closed');
	ok($acked >= 500, "the writer's setData calls were all answered ($acked)");
	ok(rss_kb($pid) - $rss0 < 64 * 1024, 'memory stayed bounded');
	ok(ruok_prompt($node), 'ruok');
	my $m = $node->fourlw('mntr') // '';
	like($m, qr/^zk_connections_closed_output\s+[1-9]/m, 'mntr counts the connection closed for its output');
	$writer->close;
}
is($node->stop, 0, 'stopped cleanly');

# ---- many connections, each under its own pause threshold -----------------------
# 20 clients pipelining reads of a 1 MB node would each hold 4 MiB of
# replies (80 MiB); with max_output_total_bytes at 8 MiB, each stops being
# served at 64 KiB as soon as the sum is above it.
$node->init(server => { max_request_bytes => 1048576 + 4096, max_output_total_bytes => 8 << 20 },
	modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
$node->start;
$pid = $node->pid;
{
	my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	$c->send_request(1, OP_GETDATA, path_body('/big', 0));
	my (undef, undef, $err, $body) = $c->read_reply(10);
	ok($err == 0 && length($body) > 1_000_000, 'the 1 MB node is still there (same data directory)');
	my $rss0 = rss_kb($pid);
	my @bad = map { Corral::Test::Wire->connect($node->address) } 1 .. 20;
	is(scalar(grep { defined } @bad), 20, '20 clients');
	my @writers;
	for my $b (@bad)
	{
		my $w = fork();
		if ($w == 0)
		{
			$b->send_raw(join('', map { Corral::Test::Wire::request_bytes($_, OP_GETDATA, path_body('/big', 0)) } 1 .. 200));
			sleep 30;
			POSIX::_exit(0);
		}
		push @writers, $w;
	}
	my $peak = 0;
	for (1 .. 10)
	{
		my $r = rss_kb($pid);
		$peak = $r if $r > $peak;
		usleep(200_000);
	}
	ok($peak - $rss0 < 64 * 1024, 'the sum of all backlogs is bounded by max_output_total_bytes')
	  or diag("RSS grew from $rss0 kB to $peak kB");
	like($node->fourlw('mntr') // '', qr/^zk_output_backlog_bytes\s+\d+/m, 'mntr shows the output backlog');
	ok(ruok_prompt($node), 'ruok');
	ok_reply($c, 2, OP_GETDATA, path_body('/big', 0), 'a client that reads is still served');
	kill 'KILL', @writers;
	waitpid($_, 0) for @writers;
	$_->close for @bad;
	$c->close;
}
is($node->stop, 0, 'stopped cleanly');

done_testing();
