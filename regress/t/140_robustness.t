# Malformed input on raw sockets: truncated frames, negative and oversized
# lengths, garbage after a valid connect, a valid header with an
# undecodable body, an unknown opcode, a request before the connect...
# Each case runs on its own connection; what the server does with it
# (answers, closes, stays silent) must be what ZooKeeper 3.8 does
# (regress/clients/robustness.expected).  Meanwhile a kazoo client
# connected before the first case must keep working (it is asked to write
# and read after every case), and the server must keep running.
use strict;
use warnings;

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SHUT_WR);
use Time::HiRes qw(time);
use Corral::Test::ZooKeeper qw(run_differential corrald_defaults have_kazoo kazoo_repl);

my $MAX_REQUEST = 1048576;    # corrald's max_request_bytes; ZooKeeper's jute.maxbuffer is 0xfffff

# ---- the wire ---------------------------------------------------------------
sub frame { return pack('N', length $_[0]) . $_[0]; }

sub connect_request
{
	my (%o) = @_;
	return pack('N q> N q> N a16 C', 0, $o{last_zxid} // 0, $o{timeout} // 10000, $o{sid} // 0, 16,
		$o{passwd} // "\0" x 16, 0);
}

sub request
{
	my ($xid, $type, $body) = @_;
	return frame(pack('N N', $xid & 0xffffffff, $type & 0xffffffff) . ($body // ''));
}

sub ustring { return pack('N', length $_[0]) . $_[0]; }

# What the server sends back, until it closes, or is silent for $quiet s
# ("silent", unless no_silent), or it sent `frames` frames; with until_ping,
# until it answered the ping (xid -2) and then said nothing more for 0.3 s.
sub observe
{
	my ($s, $quiet, $connected, %o) = @_;
	my $buf = '';
	my @seen;
	my $frames = 0;
	my $sel = IO::Select->new($s);
	my $deadline = time() + $quiet;
	OUTER: while (1)
	{
		my $left = $deadline - time();
		if ($left <= 0)
		{
			push @seen, 'silent' unless $o{no_silent} || ($o{until_ping} && grep { /^reply xid=-2 / } @seen);
			last;
		}
		next unless $sel->can_read($left);
		my $n = sysread($s, my $chunk, 65536);
		if (!$n) { push @seen, 'closed'; last; }
		$buf .= $chunk;
		while (length $buf >= 4)
		{
			my $len = unpack('N', $buf);
			last if length $buf < 4 + $len;
			my $body = substr($buf, 4, $len);
			substr($buf, 0, 4 + $len) = '';
			$frames++;
			if (!$$connected)
			{
				my ($pv, $to, $sid) = unpack('N N q>', $body);
				push @seen, $to > 0 ? "connect-response timeout=$to" : "connect-response timeout=$to (refused)";
				$$connected = 1;
				last OUTER if $o{frames} && $frames >= $o{frames} && $to > 0;
			}
			else
			{
				my ($xid, $zxid, $err) = unpack('l> q> l>', $body);
				push @seen, "reply xid=$xid err=$err bodylen=" . ($len - 16);
				$deadline = time() + 0.3 if $o{until_ping} && $xid == -2;
				last OUTER if $o{frames} && $frames >= $o{frames};
			}
		}
	}
	push @seen, 'partial frame of ' . length($buf) . ' bytes' if length $buf;
	return @seen;
}

# One case: optionally a valid connect first, then the bytes; then what the
# server did.  With `then_ping`: the first answer (or the close), then 0.3 s
# for a close to follow (ZooKeeper closes some connections right after an
# error reply), and if the connection is still open, a ping, to tell an
# open connection from a dead one without waiting long.
sub run_case
{
	my ($addr, $name, %c) = @_;
	my ($host, $port) = split /:/, $addr;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5)
	  or return ("== $name", "cannot connect: $!");
	my @t = ("== $name");
	my $connected = 0;
	if ($c{connect})
	{
		syswrite($s, frame(connect_request(%{ $c{connect_opts} // {} })));
		push @t, 'handshake: ' . join(', ', observe($s, 5, \$connected, frames => 1));
	}
	local $SIG{PIPE} = 'IGNORE';
	syswrite($s, $c{send}) if length $c{send};
	shutdown($s, SHUT_WR) if $c{shutdown};
	my @seen;
	if ($c{then_ping})
	{
		@seen = length $c{send} ? observe($s, 1.5, \$connected, frames => 1) : ();
		if (!grep { $_ eq 'closed' } @seen)
		{
			my @more = observe($s, 0.3, \$connected, no_silent => 1);
			push @seen, @more;
			if (!grep { $_ eq 'closed' } @more)
			{
				syswrite($s, request(-2, 11));
				push @seen, 'ping sent', observe($s, 1.5, \$connected, until_ping => 1);
			}
		}
	}
	else
	{
		@seen = observe($s, $c{quiet} // 1.5, \$connected);
	}
	push @t, 'server: ' . join(', ', @seen);
	close $s;
	return @t;
}

my @cases = (
	# before any connect request
	[ 'negative length first' => send => pack('N', 0xffffffff) ],
	[ 'huge length first' => send => pack('N', 0x7fffffff) ],
	[ 'length over max_request_bytes first' => send => pack('N', 2 * $MAX_REQUEST) . 'x' x 1000 ],
	[ 'truncated connect, then EOF' => send => pack('N', 44) . 'abc', shutdown => 1 ],
	[ 'short connect request (5 bytes)' => send => frame('12345') ],
	[ 'getData before connect' => send => request(1, 4, ustring('/') . "\0") ],
	[ 'zero length first' => send => pack('N', 0) ],
	[ 'connect with wrong password of unknown session' => connect => 1,
		connect_opts => { sid => 0x7fff0000 * 4294967296 + 1, passwd => 'x' x 16 } ],
	[ 'connect with last_zxid from the future' => connect => 1,
		connect_opts => { last_zxid => 0x7fff * 4294967296 } ],
	# after a valid connect
	[ 'ping' => connect => 1, send => '', then_ping => 1 ],
	[ 'truncated frame, then EOF' => connect => 1, send => pack('N', 100) . 'x' x 10, shutdown => 1 ],
	[ 'truncated frame, then silence' => connect => 1, send => pack('N', 100) . 'x' x 10, quiet => 1 ],
	[ 'negative length' => connect => 1, send => pack('N', 0xfffffff0) ],
	[ 'length over max_request_bytes' => connect => 1, send => pack('N', 2 * $MAX_REQUEST) . 'x' x 1000 ],
	[ 'garbage after connect' => connect => 1,
		send => "\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08" ],
	[ 'four-letter word after connect' => connect => 1, send => 'ruok' ],
	[ 'zero-length frame' => connect => 1, send => pack('N', 0), then_ping => 1 ],
	[ 'header only (4 bytes)' => connect => 1, send => frame(pack('N', 7)), then_ping => 1 ],
	[ 'getData, path longer than the body' => connect => 1,
		send => request(1, 4, pack('N', 100) . 'abc'), then_ping => 1 ],
	[ 'getData, negative path length' => connect => 1,
		send => request(1, 4, pack('N', 0xfffffffe) . "\0"), then_ping => 1 ],
	[ 'getData, no watch byte' => connect => 1, send => request(1, 4, ustring('/')), then_ping => 1 ],
	[ 'create, truncated acl list' => connect => 1,
		send => request(1, 1, ustring('/x') . pack('N', 0) . pack('N', 5)), then_ping => 1 ],
	[ 'setData with trailing bytes' => connect => 1,
		send => request(1, 5, ustring('/') . pack('N', 0) . pack('N', 0xffffffff) . 'trailing'),
		then_ping => 1 ],
	[ 'unknown opcode 999' => connect => 1, send => request(1, 999), then_ping => 1 ],
	[ 'unknown opcode -50' => connect => 1, send => request(1, -50), then_ping => 1 ],
	[ 'opcode 0 (notification)' => connect => 1, send => request(1, 0), then_ping => 1 ],
	[ 'connect again on a connected socket' => connect => 1,
		send => frame(connect_request()), then_ping => 1 ],
	# (a second request right behind a closeSession is answered or not by
	# ZooKeeper depending on timing: not tested)
	[ 'closeSession' => connect => 1, send => request(1, -11) ],
	[ 'auth with unknown scheme' => connect => 1,
		send => request(-4, 100, pack('N', 0) . ustring('nosuch') . ustring('x')), then_ping => 1 ],
	[ 'watch event xid from the client' => connect => 1, send => request(-1, 4, ustring('/') . "\0"),
		then_ping => 1 ],
	[ 'multi with a bad op type' => connect => 1,
		send => request(1, 14, pack('N C N', 999, 0, 0xffffffff) . pack('N C N', 0xffffffff, 1, 0xffffffff)),
		then_ping => 1 ],
	[ 'setWatches with a huge vector count' => connect => 1,
		send => request(-8, 101, pack('q> N', 0, 0x7ffffff0)), then_ping => 1 ],
);

SKIP:
{
	skip('python3-kazoo is not installed', 1) unless have_kazoo();

	run_differential(
		what     => 'robustness',
		expected => 'robustness.expected',
		corrald  => { corrald_defaults(max_request_bytes => $MAX_REQUEST) },
		run      => sub {
			my ($addr, $kind, $server) = @_;
			my $repl = kazoo_repl($addr);
			ok($repl, "$kind: the parallel kazoo client connected") or return (1, '', 'no kazoo client');
			is($repl->cmd('create /robust 0'), 'ok /robust', "$kind: parallel client creates /robust");
			my $sid = $repl->cmd('sid');
			my @t;
			my $n = 0;
			for my $case (@cases)
			{
				my ($name, %c) = @$case;
				push @t, run_case($addr, $name, %c);
				$n++;
				my $r = $repl->cmd("set /robust $n");
				push @t, "parallel client: set -> " . ($r // 'no answer');
			}
			is($repl->cmd('sid'), $sid, "$kind: the parallel client kept its session");
			is($repl->cmd('states'), 'CONNECTED', "$kind: the parallel client never lost its connection");
			is($repl->cmd('get /robust'), "ok $n $n", "$kind: the parallel client reads its last write");
			$repl->quit;
			if ($kind eq 'corrald')
			{
				is($server->fourlw('ruok'), 'imok', 'corrald answers ruok after all the cases');
			}
			return (0, join("\n", @t) . "\n", '');
		});
}

done_testing();
