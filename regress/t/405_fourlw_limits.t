# regress/t/405_fourlw_limits.t: hostile-sized answers and honest counters.
#
# wchp, wchc and dump list everything the server holds; with many watches
# or ephemeral nodes the answer would grow without bound (issue #10).  An
# answer stops at modules.fourlw.max_answer_bytes (the JSON of admin_http at
# modules.admin_http.max_answer_bytes): what is written is a prefix of the
# full answer, cut between items, and a last line (in JSON the "error")
# names the setting.  Answers within the cap are unchanged.
#
# cons counts a reply as sent once it is written to the socket: a client
# that pipelines requests and reads nothing shows sent < recved.
#
# Every client here speaks the wire protocol on a raw socket
# (Corral::Test::Wire; no kazoo).
use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Wire qw(create_body path_body OP_CREATE OP_EXISTS OP_GETDATA);

sub request_bytes { return Corral::Test::Wire::request_bytes(@_); }

my $NWATCH = 3000;    # exists watches of one session: about 110 kB of wchp
my $NEPH   = 300;     # ephemeral nodes of that session: about 7 kB of dump
my $CAP    = 4096;

# ---- clients ------------------------------------------------------------------------

# Sends the requests [op, body] in one write, then reads as many replies;
# returns their error codes.
sub pipeline
{
	my ($c, @reqs) = @_;
	my $xid = $c->{next_xid} //= 1;
	$c->send_raw(join '', map { request_bytes($xid++, @$_) } @reqs) or die "write: $!";
	$c->{next_xid} = $xid;
	my @err;
	for (1 .. @reqs)
	{
		my (undef, undef, $err) = $c->read_reply(10);
		last unless defined $err;
		push @err, $err;
	}
	return @err;
}

# A session holding $NWATCH data watches (exists on missing nodes) and
# $NEPH ephemeral nodes.
sub hold_watches
{
	my ($node) = @_;
	my $c = Corral::Test::Wire->connect($node->address, timeout => 30000) or die 'no session';
	my @e = pipeline($c, [ OP_CREATE, create_body('/limits', '', 0) ]);
	push @e, pipeline($c, map { [ OP_CREATE, create_body(sprintf('/limits/e-%04d', $_), 'x', 1) ] } 0 .. $NEPH - 1);
	push @e, pipeline($c, map { [ OP_EXISTS, path_body(sprintf('/limits/w-%05d', $_), 1) ] } 0 .. $NWATCH - 1);
	my @bad = grep { $_ != 0 && $_ != -101 } @e;    # -101: NoNode, the watch is set anyway
	is(scalar(@e) . ' ' . scalar(@bad), (1 + $NEPH + $NWATCH) . ' 0', "a session with $NWATCH watches and $NEPH ephemeral nodes");
	return $c;
}

my $TRUNC_RE = qr/^\*\*\* truncated: the answer reached modules\.fourlw\.max_answer_bytes \((\d+) bytes\); raise it to see everything\n\z/m;

# Text: (body, truncation line) of an answer.
sub split_truncated
{
	my ($text) = @_;
	return ($text, undef) unless $text =~ /\n(\*\*\* truncated: [^\n]*\n)\z/ || $text =~ /\A(\*\*\* truncated: [^\n]*\n)\z/;
	my $line = $1;
	return (substr($text, 0, length($text) - length($line)), $line);
}

sub http_get
{
	my ($port, $path) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5) or return {};
	syswrite($s, "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	my $raw = Corral::Test::Cluster::read_until_eof($s, 10) // '';
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $raw, 2;
	my %r = (status => ($head // '') =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0, body => $body // '');
	$r{json} = eval { JSON::PP->new->decode($r{body}) };
	return \%r;
}

my @paths = map { sprintf('/limits/w-%05d', $_) } 0 .. $NWATCH - 1;

# ---- 1. fourlw capped, admin_http not ----------------------------------------------------
my $node = Corral::Test::Cluster->new('limits');
my $aport = $node->allocate_port;
$node->init(modules => { fourlw => { allow => ['*'], max_answer_bytes => $CAP },
	admin_http => { listen => "127.0.0.1:$aport" } });
$node->start;
my $c1 = hold_watches($node);
my $hex = sprintf('0x%x', $c1->session_id);

{
	my $full = http_get($aport, '/commands/wchp');
	my $map = $full->{json}{path_to_session_ids} // {};
	is(scalar(keys %$map), $NWATCH, 'admin wchp under its default cap: every path');
	ok(!defined $full->{json}{error} && !exists $full->{json}{truncated}, 'admin wchp under its cap: no error, no "truncated"');

	my $t = $node->fourlw('wchp') // '';
	my ($body, $line) = split_truncated($t);
	ok(defined $line, 'wchp over the cap ends with the truncation line') or diag(substr($t, -300));
	like($line // '', $TRUNC_RE, 'the line names modules.fourlw.max_answer_bytes and the cap');
	cmp_ok(length $body, '<=', $CAP, "wchp: at most $CAP bytes before that line");
	cmp_ok(length $body, '>', $CAP - 100, 'wchp: filled up to the cap (within one item)');
	like($body, qr/\A(?:\/limits\/w-\d{5}\n\t\Q$hex\E\n)+\z/, 'wchp: whole PATH + session groups only');
	my @got = $body =~ /^(\/limits\/w-\d{5})$/mg;
	is_deeply(\@got, [ @paths[ 0 .. $#got ] ], 'wchp: a prefix of the full answer, in order');

	($body, $line) = split_truncated($node->fourlw('wchc') // '');
	like($line // '', $TRUNC_RE, 'wchc over the cap: truncation line');
	cmp_ok(length $body, '<=', $CAP, "wchc: at most $CAP bytes before it");
	like($body, qr/\A\Q$hex\E\n(?:\t\/limits\/w-\d{5}\n)+\z/, 'wchc: the session, then whole path lines');
	@got = $body =~ /^\t(\/limits\/w-\d{5})$/mg;
	is_deeply(\@got, [ @paths[ 0 .. $#got ] ], 'wchc: a prefix of the full answer');

	($body, $line) = split_truncated($node->fourlw('dump') // '');
	like($line // '', $TRUNC_RE, 'dump over the cap: truncation line');
	cmp_ok(length $body, '<=', $CAP, "dump: at most $CAP bytes before it");
	like($body, qr/\ASessionTracker dump:\nSession Sets \(1\)\/\(1\):\n.*\nephemeral nodes dump:\nSessions with Ephemerals \(1\):\n\Q$hex\E:\n(?:\t\/limits\/e-\d{4}\n)+\z/s,
		'dump: the session queue, then the ephemerals that fit, whole lines');

	# Answers within the cap are what they always were.
	is($node->fourlw('ruok'), 'imok', 'ruok still answers imok');
	my $srvr = $node->fourlw('srvr') // '';
	like($srvr, qr/\AZookeeper version: .*\nNode count: \d+\n\z/s, 'srvr: unchanged, no truncation line');
	my $wchs = $node->fourlw('wchs') // '';
	is($wchs, "1 connections watching $NWATCH paths\nTotal watches:$NWATCH\n", 'wchs: the whole summary');
	unlike($node->fourlw('cons') // '', qr/truncated/, 'cons within the cap: not truncated');
}
$c1->close;
is($node->stop, 0, 'stopped cleanly');

# ---- 2. admin_http capped, fourlw not -------------------------------------------------------
# (a new node: the first one's session and nodes are in its data directory)
$node = Corral::Test::Cluster->new('limits2');
$node->init(modules => { fourlw => { allow => ['*'] },
	admin_http => { listen => "127.0.0.1:$aport", max_answer_bytes => $CAP } });
$node->start;
my $c2 = hold_watches($node);
{
	my $t = $node->fourlw('wchp') // '';
	my ($body, $line) = split_truncated($t);
	ok(!defined $line, 'wchp under the default cap (1 MiB): not truncated');
	my @got = $body =~ /^(\/limits\/w-\d{5})$/mg;
	is(scalar @got, $NWATCH, 'wchp under the default cap: every path');
	like($t, qr/\t0x[0-9a-f]+\n\n\z/, 'wchp: ends with its blank line, as ZooKeeper');

	for my $cmd (qw(wchp wchc dump))
	{
		my $r = http_get($aport, "/commands/$cmd");
		is($r->{status}, 200, "admin $cmd over the cap: 200");
		ok(ref $r->{json} eq 'HASH', "admin $cmd over the cap: still valid JSON") or diag(substr($r->{body}, -400));
		my $j = $r->{json} // {};
		ok(JSON::PP::is_bool($j->{truncated}) && $j->{truncated}, "admin $cmd: \"truncated\" : true");
		like($j->{error} // '', qr/truncated: the answer reached modules\.admin_http\.max_answer_bytes \(4096 bytes\)/,
			"admin $cmd: the error names the setting");
		cmp_ok(length $r->{body}, '<=', $CAP + 400, "admin $cmd: about the cap ($CAP bytes and the closing fields)");
		my @keys = $r->{body} =~ /^  "([^"]+)" : /mg;
		is_deeply([ @keys[ -3 .. -1 ] ], [qw(truncated command error)], "admin $cmd: truncated, command and error come last");
	}
	my $j = http_get($aport, '/commands/wchp')->{json} // {};
	my @got_paths = sort keys %{ $j->{path_to_session_ids} // {} };
	cmp_ok(scalar @got_paths, '>', 10, 'admin wchp: filled up to the cap');
	is_deeply(\@got_paths, [ @paths[ 0 .. $#got_paths ] ], 'admin wchp: a prefix of the paths');
	my $w = http_get($aport, '/commands/wchc')->{json}{session_id_to_watched_paths} // {};
	my @wp = @{ (values %$w)[0] // [] };
	is_deeply(\@wp, [ @paths[ 0 .. $#wp ] ], 'admin wchc: a prefix of the session\'s paths');
	my $d = http_get($aport, '/commands/dump')->{json} // {};
	is_deeply($d->{expiry_time_to_session_ids} && [ map { @$_ } values %{ $d->{expiry_time_to_session_ids} } ], [ $c2->session_id ],
		'admin dump: the expiry map is whole');
	my @eph = map { @$_ } values %{ $d->{session_id_to_ephemeral_paths} // {} };
	cmp_ok(scalar @eph, '<', $NEPH, 'admin dump: the ephemerals stop at the cap');
	my $srvr = http_get($aport, '/commands/srvr')->{json} // {};
	ok(!defined $srvr->{error} && !exists $srvr->{truncated}, 'admin srvr within the cap: untouched');
}
$c2->close;
is($node->stop, 0, 'stopped cleanly');

# ---- 3. the setting is checked ---------------------------------------------------------------
{
	$node->init(modules => { fourlw => { allow => ['*'], max_answer_bytes => 100 } });
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'max_answer_bytes below 1024: exit code 2');
	like($err, qr/max_answer_bytes/, 'max_answer_bytes below 1024: the error names the key') or diag($err);
	$node->init(modules => { admin_http => { max_answer_bytes => 'lots' } });
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'admin_http max_answer_bytes not a number: exit code 2');
	like($err, qr/max_answer_bytes/, 'admin_http max_answer_bytes not a number: the error names the key') or diag($err);
}

# ---- 4. cons counts what was written, not what was queued -----------------------------------
# A client with a small receive window asks for a 200 kB node 60 times in
# one write and reads nothing: the server stops taking its requests once
# 4 MiB of replies wait (net.c), so many answered requests are still
# unwritten.  cons (another connection) must show sent < recved; after the
# client reads everything, sent = recved.
$node = Corral::Test::Cluster->new('counts');
$node->init(modules => { fourlw => { allow => ['*'] } });
$node->start;
{
	my $cl = Corral::Test::Wire->connect($node->address, rcvbuf => 8192) or die 'no session';
	my @e = pipeline($cl, [ OP_CREATE, create_body('/big', 'b' x 200000, 0) ]);
	is_deeply(\@e, [0], 'a 200 kB node');
	my $n = 60;
	$cl->send_raw(join('', map { request_bytes(1 + $_, OP_GETDATA, path_body('/big', 0)) } 1 .. $n));
	my $hexsid = sprintf('0x%x', $cl->session_id);
	my $cons_line = sub {
		my $cons = $node->fourlw('cons') // '';
		my ($l) = grep { /,sid=\Q$hexsid\E,/ } split /\n/, $cons;
		diag($cons) unless $l;
		return $l && $l =~ /recved=(\d+),sent=(\d+)/ ? ($1, $2) : ();
	};
	# wait until the server stopped taking the client's requests
	my ($r, $s, $prev) = (0, 0, -1);
	wait_until(sub { ($r, $s) = $cons_line->(); my $still = defined $r && $r == $prev; $prev = $r // -1; $still }, 20);
	ok(defined $r && $r > 2, "cons lists the pipelining client (recved=$r)");
	cmp_ok($s, '<', $r, "cons: sent ($s) < recved ($r) while the replies wait unread");
	cmp_ok($r - $s, '>=', 5, 'cons: at least 5 replies answered but not written yet (4 MiB of 200 kB replies wait)');

	# read every reply: then everything answered was written
	my $got = 0;
	while (defined(my $body = $cl->read_frame(10))) { last if ++$got == $n; }
	is($got, $n, "the client reads its $n replies");
	my ($r2, $s2) = (0, -1);
	wait_until(sub { ($r2, $s2) = $cons_line->(); defined $r2 && $r2 == $s2 }, 10);
	is($s2, $r2, "cons after reading: sent ($s2) = recved ($r2)");
	cmp_ok($r2, '>=', $n + 2, 'cons after reading: every request counted');
	$cl->close;
}
is($node->stop, 0, 'stopped cleanly');

done_testing();
