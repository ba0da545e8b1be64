# regress/t/702_admission.t: admission instead of abort (issue #10).
#
#   - server.max_memory_bytes: above the budget, writes are refused with
#     NotReadOnly while reads, new sessions and deletes go on; after deletes
#     bring memory back under it, writes are taken again; nothing that was
#     acknowledged is lost across a kill -9.  Driven by kazoo.
#   - per-session caps (watches, ephemerals, outstanding requests, request
#     bytes per second): the request is refused with server.throttle_error
#     (ZooKeeper 3.6's Throttled, -127, by default; NotReadOnly for kazoo,
#     which does not know -127) and nothing else changes.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(have_kazoo kazoo_repl);
use Corral::Test::Wire qw(path_body create_body OP_CREATE OP_GETDATA OP_EXISTS OP_PING);

my $THROTTLED = -127;

sub rss_bytes
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return 0;
	while (<$fh>) { return $1 * 1024 if /^VmRSS:\s+(\d+)/; }
	return 0;
}

my $node = Corral::Test::Cluster->new('admission');

# ---- per-session caps, raw client: the error code itself ---------------------------
$node->init(server => { max_watches_per_session => 3, max_ephemerals_per_session => 2, max_outstanding_requests => 10 },
	modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
$node->start;
{
	my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my @codes;
	for my $i (1 .. 4)
	{
		$c->send_request($i, OP_EXISTS, path_body("/nowhere$i", 1));
		my (undef, undef, $err) = $c->read_reply(5);
		push @codes, $err;
	}
	is_deeply(\@codes, [ -101, -101, -101, $THROTTLED ], 'the fourth watch of a session is refused with Throttled (-127)');
	$c->send_request(5, OP_GETDATA, path_body('/zookeeper', 0));
	my (undef, undef, $err) = $c->read_reply(5);
	is($err, 0, 'a read without a watch still works');

	my @eph;
	for my $i (1 .. 3)
	{
		$c->send_request(10 + $i, OP_CREATE, create_body("/e$i", '', 1));
		my (undef, undef, $e) = $c->read_reply(5);
		push @eph, $e;
	}
	is_deeply(\@eph, [ 0, 0, $THROTTLED ], 'the third ephemeral of a session is refused');
	my $other = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	$other->send_request(1, OP_EXISTS, path_body('/e3', 0));
	(undef, undef, $err) = $other->read_reply(5);
	is($err, -101, '... and was not created');
	$other->send_request(2, OP_CREATE, create_body('/e4', '', 1));
	(undef, undef, $err) = $other->read_reply(5);
	is($err, 0, 'another session has its own count');
	$other->close;

	# 50 pipelined reads in one write: only 10 may wait for their replies.
	$c->send_raw(join('', map { Corral::Test::Wire::request_bytes(100 + $_, OP_GETDATA, path_body('/zookeeper', 0)) } 1 .. 50));
	my (%n, @order);
	for (1 .. 50)
	{
		my ($x, undef, $e) = $c->read_reply(5);
		last unless defined $x;
		push @order, $x;
		$n{ $e == 0 ? 'ok' : $e == $THROTTLED ? 'throttled' : "err$e" }++;
	}
	is(scalar @order, 50, 'every pipelined request is answered');
	is_deeply(\@order, [ 101 .. 150 ], '... in order');
	ok(($n{ok} // 0) >= 10 && ($n{throttled} // 0) >= 1,
		'beyond max_outstanding_requests they are refused with Throttled (' . join(', ', map {"$_=$n{$_}"} sort keys %n) . ')');
	my $m = $node->fourlw('mntr') // '';
	like($m, qr/^zk_throttled_requests\s+[1-9]/m, 'mntr counts throttled requests');
	$c->close;
}
is($node->stop, 0, 'stopped cleanly');

# ---- bytes per second --------------------------------------------------------------
$node->init(server => { max_session_bytes_per_second => 2000 }, modules => { fourlw => { allow => ['ruok'] } });
$node->start;
{
	my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
	my $path = '/' . ('a' x 90);    # about 100 bytes a request
	$c->send_raw(join('', map { Corral::Test::Wire::request_bytes($_, OP_EXISTS, path_body($path, 0)) } 1 .. 60));
	my %n;
	for (1 .. 60)
	{
		my (undef, undef, $e) = $c->read_reply(5);
		$n{ defined $e ? $e : 'none' }++;
	}
	ok(($n{-101} // 0) >= 10 && ($n{-101} // 0) <= 25 && ($n{$THROTTLED} // 0) >= 35,
		'6 KB at once against 2,000 bytes per second: about 2 KB answered, the rest Throttled ('
		  . join(', ', map {"$_=$n{$_}"} sort keys %n) . ')');
	$c->send_request(-2, OP_PING);
	my ($x) = $c->read_reply(5);
	is($x, -2, 'pings are never throttled');
	ok(wait_until(sub {
		$c->send_request(99, OP_EXISTS, path_body($path, 0));
		my (undef, undef, $e) = $c->read_reply(5);
		defined $e && $e == -101;
	}), 'a second later the session is served again');
	# A request larger than a second's worth passes once the bucket is
	# full again (it leaves the bucket in debt): it must not be refused for ever.
	my $big = '/' . ('b' x 3000);
	ok(wait_until(sub {
		$c->send_request(100, OP_EXISTS, path_body($big, 0));
		my (undef, undef, $e) = $c->read_reply(5);
		defined $e && $e == -101;
	}), 'a 3 KB request passes against 2,000 bytes per second');
	$c->send_request(101, OP_EXISTS, path_body($path, 0));
	my (undef, undef, $e2) = $c->read_reply(5);
	is($e2, $THROTTLED, '... and the next one waits for the debt to be paid');
	$c->close;
}
is($node->stop, 0, 'stopped cleanly');

# ---- kazoo: NotReadOnly for the caps, and the memory budget ----------------------------
SKIP:
{
	skip 'python3-kazoo is not installed', 14 unless have_kazoo();

	$node->init(server => { max_watches_per_session => 1, throttle_error => 'not_read_only' },
		modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
	$node->start;
	my $k = kazoo_repl($node->address) or BAIL_OUT('kazoo did not connect');
	is($k->cmd('create /a x'), 'ok /a', 'kazoo: create');
	is($k->cmd('watch /a'), 'ok', 'kazoo: the first watch');
	is($k->cmd('watch /zookeeper'), 'NotReadOnlyCallError',
		'kazoo: the second watch is refused with NotReadOnly (throttle_error: not_read_only)');
	is($k->cmd('get /a'), 'ok x 0', 'kazoo: the session goes on');
	$k->quit;
	is($node->stop, 0, 'stopped cleanly');

	# The budget: what the server uses now plus 40 MB.
	$node->init(server => { max_request_bytes => 200000 }, modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
	$node->start;
	my $base = rss_bytes($node->pid);
	$node->stop;
	my $budget = $base + (40 << 20);
	$node->init(server => { max_memory_bytes => $budget, max_request_bytes => 200000 },
		modules => { fourlw => { allow => [ 'ruok', 'mntr' ] } });
	# Under AddressSanitizer freed memory sits in a quarantine and is not
	# given back to the system: turn that off so deletes can lower RSS.
	my %asan = (ASAN_OPTIONS => join(':', grep { length } $ENV{ASAN_OPTIONS} // '',
		'quarantine_size_mb=0', 'allocator_release_to_os_interval_ms=50'));
	$node->start(env => \%asan);
	my $pos = $node->log_position;
	$k = kazoo_repl($node->address) or BAIL_OUT('kazoo did not connect');
	is($k->cmd('create /m'), 'ok /m', '/m');
	my $r = $k->cmd('fill /m/n 100000 2000', timeout => 120) // '';
	like($r, qr/^stopped \d+ NotReadOnlyCallError$/, 'filling memory: writes stop with NotReadOnly before the budget is exhausted')
	  or diag("fill: $r");
	my ($written) = $r =~ /^stopped (\d+)/;
	$written //= 0;
	ok($node->wait_for_log(qr/refusing writes \(NotReadOnly\) until this clears: resident memory \d+ bytes is above server\.max_memory_bytes/, $pos),
		'the refusal is logged');
	like($node->fourlw('mntr') // '', qr/^zk_write_admission\s+1$/m, 'mntr: zk_write_admission 1 (memory)');
	is($k->cmd('get /m/n0'), 'ok ' . ('x' x 100000) . ' 0', 'reads go on');
	my $k2 = kazoo_repl($node->address);
	ok($k2 && $k2->cmd('count /m') eq "ok $written", 'a new session is established and reads');
	is(($k2 ? $k2->cmd('set /m/n0 y') : '') // '', 'NotReadOnlyCallError', 'setData is refused as well');
	my $deleted = 0;
	for my $i (0 .. int($written / 2))
	{
		$deleted++ if ($k2->cmd("delete /m/n$i") // '') eq 'ok';
	}
	is($deleted, int($written / 2) + 1, 'deletes are taken while writes are refused');
	ok(wait_until(sub { ($k->cmd('create /m/after x') // '') =~ /^ok / }),
		'once memory is under the budget again, writes are taken');
	ok($node->wait_for_log(qr/taking writes again: the memory budget no longer holds/, $pos), 'and that is logged');
	$k2->quit if $k2;
	$k->terminate;
	$node->kill9;
	$node->start(env => \%asan);
	$k = kazoo_repl($node->address) or BAIL_OUT('kazoo did not reconnect');
	is($k->cmd('count /m'), 'ok ' . ($written - $deleted + 1), 'after kill -9 every acknowledged node is there, no more');
	$k->quit;
	is($node->stop, 0, 'stopped cleanly');
}

done_testing();
