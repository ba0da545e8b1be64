# regress/t/400_metrics_prometheus.t: the metrics_prometheus module.
#
# /metrics is valid Prometheus text (promtool check metrics), carries the
# registry under ZooKeeper's names, moves when requests happen, and the
# listener is a strict, bounded, non-blocking HTTP/1.1 server: 404 for
# other paths, 405 for other methods, 431 for oversized requests.
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $PYTHON = '/usr/bin/python3';

# ---- helpers -----------------------------------------------------------------------

# Sends $raw to host:port, reads until the server closes; returns
# { status, reason, headers => { lc name => value }, body, closed }.
sub http_raw
{
	my ($host, $port, $raw, %o) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5)
	  or return { status => 0, error => "connect: $!" };
	my $off = 0;
	while ($off < length $raw)
	{
		my $w = syswrite($s, $raw, length($raw) - $off, $off);
		last unless defined $w;    # the server may close early (431)
		$off += $w;
	}
	my ($buf, $eof) = Corral::Test::Cluster::read_until_eof($s, $o{timeout} // 10);
	close $s;
	my %r = (raw => $buf // '', closed => $eof);
	my ($head, $body) = split /\r\n\r\n/, $r{raw}, 2;
	$head //= '';
	my @lines = split /\r\n/, $head;
	my $status = shift(@lines) // '';
	@r{qw(status reason)} = $status =~ m{^HTTP/1\.1 (\d{3}) (.*)$} ? ($1, $2) : (0, $status);
	$r{headers} = { map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @lines };
	$r{body} = $body // '';
	return \%r;
}

sub http
{
	my ($host, $port, $method, $path, @headers) = @_;
	my $h = join '', map { "$_\r\n" } @headers;
	return http_raw($host, $port, "$method $path HTTP/1.1\r\nHost: $host:$port\r\n$h\r\n");
}

# Prometheus text into { 'name{labels}' => value } plus types and helps.
sub parse_metrics
{
	my ($text) = @_;
	my (%v, %type, %help);
	for my $l (split /\n/, $text)
	{
		if ($l =~ /^# TYPE (\S+) (\S+)$/) { $type{$1} = $2; next; }
		if ($l =~ /^# HELP (\S+) (.*)$/)  { $help{$1} = $2; next; }
		next if $l =~ /^#/ || $l eq '';
		$v{$1} = $2 if $l =~ /^(\S+(?:\{[^}]*\})?) (\S+)$/;
	}
	return (\%v, \%type, \%help);
}

sub have_kazoo
{
	return 0 unless -x $PYTHON;
	my ($rc) = run_command([ $PYTHON, '-c', 'import kazoo.client' ]);
	return $rc == 0;
}

# Creates $n sequential znodes under /obs and reads them back.
my $KAZOO_WRITES = <<'PY';
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
zk.ensure_path("/obs")
for i in range(int(sys.argv[2])):
    zk.create("/obs/n-", b"value", sequence=True)
print(len(zk.get_children("/obs")))
zk.stop()
zk.close()
PY

# ---- the exposition ------------------------------------------------------------------

my $node = Corral::Test::Cluster->new('prom');
my $mport = $node->allocate_port;
$node->init(modules => { metrics_prometheus => { listen => $node->host . ":$mport" } });
$node->start;
ok($node->log_contains(qr{\[metrics_prometheus\] serving Prometheus metrics on http://127\.0\.0\.1:$mport/metrics}),
	'the listener is logged');

my $r = http($node->host, $mport, 'GET', '/metrics');
is($r->{status}, 200, 'GET /metrics: 200');
like($r->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'Content-Type of the text format 0.0.4');
is($r->{headers}{connection}, 'close', 'Connection: close');
is($r->{headers}{'content-length'}, length $r->{body}, 'Content-Length is the body length');
ok($r->{closed}, 'the server closes the connection after the answer');

SKIP:
{
	skip 'promtool is not installed (Debian package prometheus)', 3 unless -x '/usr/bin/promtool';
	my ($rc, $out, $err) = run_command([ '/usr/bin/promtool', 'check', 'metrics' ], stdin => $r->{body});
	# 0: clean; 3: lint findings only (1 would be a parse error).  The only
	# findings allowed are ZooKeeper's own gauge names ending in _count,
	# kept so that ZooKeeper dashboards work.
	ok($rc == 0 || $rc == 3, "promtool parses the exposition (exit $rc)") or diag($out, $err);
	my %zk_count = map { $_ => 1 } qw(znode_count watch_count ephemerals_count open_file_descriptor_count
	  max_file_descriptor_count auth_failed_count non_mtls_remote_conn_count non_mtls_local_conn_count);
	my @findings = grep { $_ ne '' } split /\n/, $out . $err;
	my @other = grep {
		!(/^(\w+) non-histogram and non-summary metrics should not have "_count" suffix$/ && $zk_count{$1})
	} @findings;
	is_deeply(\@other, [], 'no promtool finding but the ZooKeeper _count gauge names') or diag($out, $err);
	ok(scalar(@findings) <= scalar(keys %zk_count), 'at most the documented findings');
}

my ($v, $type, $help) = parse_metrics($r->{body});
# ZooKeeper's names (ZooKeeperServer.registerMetrics), as gauges.
for my $g (qw(znode_count watch_count ephemerals_count approximate_data_size num_alive_connections
	global_sessions packets_received packets_sent outstanding_requests avg_latency min_latency max_latency
	uptime local_sessions open_file_descriptor_count max_file_descriptor_count))
{
	is($type->{$g}, 'gauge', "$g: a gauge under ZooKeeper's name");
	like($v->{$g}, qr/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i, "$g: a number");
}
# The registry's histograms, generically: request_latency_ms in seconds.
for my $h (qw(request_latency_seconds commit_batch_txns))
{
	is($type->{$h}, 'histogram', "$h: a histogram");
	ok(defined $v->{"${h}_bucket{le=\"+Inf\"}"}, "$h: has the +Inf bucket");
	is($v->{"${h}_count"}, $v->{"${h}_bucket{le=\"+Inf\"}"}, "$h: _count equals the +Inf bucket");
	ok(defined $v->{"${h}_sum"}, "$h: has _sum");
	my @b = map { $v->{$_} } sort {
		my ($x) = $a =~ /le="([^"]+)"/;
		my ($y) = $b =~ /le="([^"]+)"/;
		($x eq '+Inf' ? 9e99 : $x) <=> ($y eq '+Inf' ? 9e99 : $y)
	} grep { /^\Q$h\E_bucket\{/ } keys %$v;
	my @sorted = sort { $a <=> $b } @b;
	is_deeply(\@b, \@sorted, "$h: buckets are cumulative");
}
like($help->{request_latency_seconds}, qr/exported in seconds/, 'a converted unit is said in the help');
ok(!exists $type->{request_latency_ms}, 'no metric name with an abbreviated unit');
for my $p (qw(process_cpu_seconds_total process_open_fds process_max_fds process_resident_memory_bytes
	process_virtual_memory_bytes process_start_time_seconds))
{
	ok(defined $v->{$p}, "$p is exported");
}
is($type->{process_cpu_seconds_total}, 'counter', 'process_cpu_seconds_total is a counter');
ok(abs($v->{process_start_time_seconds} - time()) < 600, 'process_start_time_seconds is about now');

# The same numbers as mntr (nothing happens in between).
{
	my %m = map { split /\t/, $_, 2 } grep { /\t/ } split /\n/, $node->fourlw('mntr');
	my ($v2) = parse_metrics(http($node->host, $mport, 'GET', '/metrics')->{body});
	for my $k (qw(znode_count watch_count ephemerals_count approximate_data_size global_sessions
		max_file_descriptor_count local_sessions))
	{
		is($v2->{$k}, $m{"zk_$k"}, "$k equals mntr's zk_$k");
	}
}

# ---- the numbers move ------------------------------------------------------------------
{
	my ($before) = parse_metrics(http($node->host, $mport, 'GET', '/metrics')->{body});
	is($node->fourlw('ruok'), 'imok', 'a four-letter word');
	my ($after) = parse_metrics(http($node->host, $mport, 'GET', '/metrics')->{body});
	cmp_ok($after->{packets_received}, '>', $before->{packets_received},
		'packets_received moves with a four-letter word (as ZooKeeper counts them)');
	cmp_ok($after->{process_cpu_seconds_total}, '>=', $before->{process_cpu_seconds_total}, 'cpu time does not go back');
}
SKIP:
{
	skip "kazoo is not installed for $PYTHON (Debian package python3-kazoo)", 6 unless have_kazoo();
	my ($before) = parse_metrics(http($node->host, $mport, 'GET', '/metrics')->{body});
	my ($rc, $out, $err) = run_command([ $PYTHON, '-c', $KAZOO_WRITES, $node->address, 7 ]);
	is($rc, 0, 'kazoo created 7 znodes') or diag($err);
	my ($after) = parse_metrics(http($node->host, $mport, 'GET', '/metrics')->{body});
	cmp_ok($after->{znode_count} - $before->{znode_count}, '>=', 8, 'znode_count grew by the znodes created');
	cmp_ok($after->{'request_latency_seconds_count'} - $before->{'request_latency_seconds_count'},
		'>=', 9, 'request_latency_seconds_count counts the requests');
	cmp_ok($after->{packets_received} - $before->{packets_received}, '>=', 9, 'packets_received moved');
	cmp_ok($after->{packets_sent} - $before->{packets_sent}, '>=', 9, 'packets_sent moved');
	cmp_ok($after->{'commit_batch_txns_count'}, '>=', $before->{'commit_batch_txns_count'},
		'commit_batch_txns_count does not go back');
}

# ---- HTTP: methods, paths, limits ------------------------------------------------------
{
	my $h = http($node->host, $mport, 'HEAD', '/metrics');
	is($h->{status}, 200, 'HEAD /metrics: 200');
	is($h->{body}, '', 'HEAD: no body');
	cmp_ok($h->{headers}{'content-length'}, '>', 100, 'HEAD: the Content-Length of the GET');

	for my $m (qw(POST PUT DELETE PATCH OPTIONS TRACE))
	{
		my $x = http($node->host, $mport, $m, '/metrics');
		is($x->{status}, 405, "$m /metrics: 405");
		is($x->{headers}{allow}, 'GET, HEAD', "$m /metrics: Allow: GET, HEAD");
	}
	for my $p ('/', '/metric', '/metrics/', '/metrics/x', '/commands', '/METRICS')
	{
		is(http($node->host, $mport, 'GET', $p)->{status}, 404, "GET $p: 404");
	}
	is(http($node->host, $mport, 'GET', '/metrics?name[]=znode_count')->{status}, 200,
		'a query string is ignored');
	my $ok = http_raw($node->host, $mport, "GET /metrics HTTP/1.0\n\n");
	is($ok->{status}, 200, 'HTTP/1.0 with bare LF line ends: 200');
	is(http_raw($node->host, $mport, "GET /metrics HTTP/2.0\r\n\r\n")->{status}, 505, 'HTTP/2.0: 505');
	is(http_raw($node->host, $mport, "GET\r\n\r\n")->{status}, 400, 'a request line without target: 400');
	is(http_raw($node->host, $mport, "GET metrics HTTP/1.1\r\n\r\n")->{status}, 400, 'a target that is no path: 400');
	is(http_raw($node->host, $mport, "GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n")->{status}, 400,
		'a header line without colon: 400');

	# Bounded request size: 8 KiB of request line and headers.
	my $big = http_raw($node->host, $mport, "GET /metrics HTTP/1.1\r\nX-Filler: " . ('a' x 20000) . "\r\n\r\n");
	is($big->{status}, 431, 'a 20 kB header: 431');
	ok($big->{closed}, '431: the connection is closed');
	my $long = http_raw($node->host, $mport, "GET /" . ('m' x 9000) . " HTTP/1.1\r\n\r\n");
	is($long->{status}, 431, 'a 9 kB request line: 431');
	my $fits = http_raw($node->host, $mport, "GET /metrics HTTP/1.1\r\nX-Filler: " . ('a' x 7000) . "\r\n\r\n");
	is($fits->{status}, 200, 'a 7 kB header fits');
	# A body the server does not read does not spoil the answer.
	my $post = http_raw($node->host, $mport,
		"POST /metrics HTTP/1.1\r\nContent-Length: 200000\r\n\r\n" . ('x' x 200000));
	is($post->{status}, 405, 'POST with a 200 kB body: 405 arrives intact');

	# Idle and slow connections do not block anyone (the loop never waits).
	my @idle = map {
		IO::Socket::INET->new(PeerAddr => $node->host, PeerPort => $mport, Proto => 'tcp', Timeout => 5)
	} 1 .. 5;
	syswrite($idle[0], "GET /metr");    # half a request
	my $t0 = time();
	is(http($node->host, $mport, 'GET', '/metrics')->{status}, 200, 'served while 5 connections idle');
	is($node->fourlw('ruok'), 'imok', 'the client port is served meanwhile');
	cmp_ok(time() - $t0, '<', 5, 'without waiting for them');
	close $_ for @idle;
}
is($node->stop, 0, 'stopped cleanly');

# ---- settings ------------------------------------------------------------------------------
$node->init(modules => { metrics_prometheus => { listen => $node->host . ":$mport", path => '/prom/metrics' } });
$node->start;
is(http($node->host, $mport, 'GET', '/prom/metrics')->{status}, 200, 'path: /prom/metrics is served');
is(http($node->host, $mport, 'GET', '/metrics')->{status}, 404, 'path: /metrics is then 404');
is($node->stop, 0, 'stopped cleanly');

sub check_config_error
{
	my ($name, $settings, $re) = @_;
	$node->init(modules => { metrics_prometheus => $settings });
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, "$name: exit code 2");
	like($err, $re, "$name: FILE:LINE:COLUMN and the reason") or diag($err);
}
my $cf = qr/^\Q${\ $node->config_file}\E:\d+:\d+: /m;
check_config_error('path without /', { path => 'metrics' }, qr/${cf}"path" must be an absolute URL path/);
check_config_error('path with a query', { path => '/m?x' }, qr/${cf}"path" must be an absolute URL path/);
check_config_error('unknown key', { port => 7000 }, qr/${cf}.*unknown key "port"/);
check_config_error('bad listen', { listen => 'localhost' }, qr/${cf}.*"listen"/);
check_config_error('a host name', { listen => 'example.org:7000' }, qr/${cf}.*not a numeric IPv4 or IPv6 address/);
{
	$node->init(modules => { metrics_prometheus => undef });
	my $text = $node->config_text;
	$node->write_config($text . "  metrics_prometheus: [7000]\n");
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'a list instead of settings: exit code 2');
	like($err, qr/${cf}expected a map of settings/, 'a list instead of settings: the reason') or diag($err);
}

# Defaults: 127.0.0.1:7000 and /metrics (ZooKeeper's port); checked without binding.
{
	$node->init(modules => { metrics_prometheus => {} });
	my ($rc) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'metrics_prometheus: {} is valid');
}

# A port already taken: the module refuses to start, corrald exits 3.
{
	my $taken = IO::Socket::INET->new(LocalAddr => $node->host, LocalPort => 0, Listen => 1, Proto => 'tcp')
	  or die "listen: $!";
	$node->init(modules => { metrics_prometheus => { listen => $node->host . ':' . $taken->sockport } });
	$node->write_config($node->config_text);    # no retry on another client port
	ok(!$node->start(fail_ok => 1), 'a taken port: corrald does not start');
	is($node->wait_exit(20), 3, 'exit code 3 (a module failed to start)');
	ok($node->log_contains(qr/module "metrics_prometheus" .*failed to start: cannot listen on 127\.0\.0\.1:\d+: Address already in use/),
		'the log says which module and why');
	close $taken;
}

done_testing();
