# regress/perl/Corral/Test/Wire.pm: a raw ZooKeeper wire client for tests
# that must do what no well-behaved client library does: pipeline without
# reading, never send a ConnectRequest, flood, stall.
#
#   my $c = Corral::Test::Wire->connect('127.0.0.1:2181') or die;
#   $c->send_request(1, OP_GETDATA, Corral::Test::Wire::path_body('/a', 0));
#   my ($xid, $zxid, $err, $body) = $c->read_reply(5);
package Corral::Test::Wire;

use strict;
use warnings;

use Exporter 'import';
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_RCVBUF inet_aton pack_sockaddr_in);
use Time::HiRes qw(time);

our @EXPORT_OK = qw(frame ustring buffer path_body create_body multi_read_body
  OP_CREATE OP_DELETE OP_EXISTS OP_GETDATA OP_SETDATA OP_GETCHILDREN OP_PING OP_ADD_WATCH OP_MULTI_READ
  OP_GETCHILDREN2);

use constant {
	OP_CREATE       => 1,
	OP_DELETE       => 2,
	OP_EXISTS       => 3,
	OP_GETDATA      => 4,
	OP_SETDATA      => 5,
	OP_GETCHILDREN  => 8,
	OP_PING         => 11,
	OP_GETCHILDREN2 => 12,
	OP_MULTI_READ   => 22,
	OP_ADD_WATCH    => 106,
};

sub frame   { return pack('N', length $_[0]) . $_[0]; }
sub ustring { return pack('N', length $_[0]) . $_[0]; }
sub buffer  { return pack('N', length $_[0]) . $_[0]; }

# GetDataRequest, ExistsRequest, GetChildrenRequest: path + watch flag.
sub path_body { my ($path, $watch) = @_; return ustring($path) . pack('C', $watch ? 1 : 0); }

# CreateRequest with world:anyone all permissions.
sub create_body
{
	my ($path, $data, $flags) = @_;
	return ustring($path) . buffer($data) . pack('N', 1) . pack('N', 31) . ustring('world') . ustring('anyone')
	  . pack('N', $flags // 0);
}

# multiRead of getData ops on the given paths.
sub multi_read_body
{
	my (@paths) = @_;
	my $b = '';
	$b .= pack('l> C l>', OP_GETDATA, 0, -1) . path_body($_, 0) for @paths;
	return $b . pack('l> C l>', -1, 1, -1);
}

# Connects and completes the handshake (unless handshake => 0).  With
# rcvbuf => BYTES the socket's receive buffer is set before connecting, so
# the TCP window stays that small (a client that reads slowly, or not).
sub connect
{
	my ($class, $addr, %o) = @_;
	my ($host, $port) = split /:/, $addr;
	my $s;
	if ($o{rcvbuf})
	{
		$s = IO::Socket::INET->new(Proto => 'tcp') or return undef;
		setsockopt($s, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) or return undef;
		$s->connect(pack_sockaddr_in($port, inet_aton($host))) or return undef;
	}
	else
	{
		$s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5)
		  or return undef;
	}
	my $self = bless { s => $s, buf => '' }, $class;
	return $self if defined $o{handshake} && !$o{handshake};
	$self->send_raw(frame(pack('N q> N q> N a16 C', 0, 0, $o{timeout} // 10000, 0, 16, "\0" x 16, 0)));
	my $f = $self->read_frame($o{wait} // 10) // return undef;
	my (undef, $to, $sid) = unpack('N N q>', $f);
	return undef unless $to > 0;
	$self->{session_id} = $sid;
	return $self;
}

sub socket     { return $_[0]{s}; }
sub session_id { return $_[0]{session_id}; }

sub send_raw
{
	my ($self, $bytes) = @_;
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $bytes)
	{
		my $n = syswrite($self->{s}, $bytes, length($bytes) - $off, $off);
		return 0 unless defined $n;
		$off += $n;
	}
	return 1;
}

sub request_bytes { my ($xid, $op, $body) = @_; return frame(pack('l> l>', $xid, $op) . ($body // '')); }

sub send_request { my ($self, $xid, $op, $body) = @_; return $self->send_raw(request_bytes($xid, $op, $body)); }

# The next frame's body, or undef on timeout or EOF ($self->{eof} set).
sub read_frame
{
	my ($self, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $sel = IO::Select->new($self->{s});
	while (1)
	{
		if (length $self->{buf} >= 4)
		{
			my $len = unpack('N', $self->{buf});
			if (length $self->{buf} >= 4 + $len)
			{
				my $body = substr($self->{buf}, 4, $len);
				substr($self->{buf}, 0, 4 + $len) = '';
				return $body;
			}
		}
		my $left = $deadline - time();
		return undef if $left <= 0;
		next unless $sel->can_read($left);
		my $n = sysread($self->{s}, my $chunk, 1 << 20);
		if (!$n)
		{
			$self->{eof} = 1;
			return undef;
		}
		$self->{buf} .= $chunk;
	}
}

# The next reply that is not a watch event (xid -1): (xid, zxid, err, body).
sub read_reply
{
	my ($self, $timeout) = @_;
	my $deadline = time() + $timeout;
	while ((my $left = $deadline - time()) > 0)
	{
		my $f = $self->read_frame($left) // return;
		my ($xid, $zxid, $err) = unpack('l> q> l>', $f);
		next if $xid == -1;
		return ($xid, $zxid, $err, substr($f, 16));
	}
	return;
}

# True once the server has closed the connection (reads and drops data).
sub wait_closed
{
	my ($self, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $sel = IO::Select->new($self->{s});
	while ((my $left = $deadline - time()) > 0)
	{
		next unless $sel->can_read($left);
		my $n = sysread($self->{s}, my $chunk, 1 << 20);
		return 1 if !$n;
	}
	return 0;
}

sub close { my ($self) = @_; close $self->{s} if $self->{s}; delete $self->{s}; return; }

1;
