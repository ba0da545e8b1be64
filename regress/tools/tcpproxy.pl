#!/usr/bin/perl
# regress/tools/tcpproxy.pl: a fault-injection TCP proxy for ensemble tests.
#
#   tcpproxy.pl CONTROL_HOST:CONTROL_PORT ROUTE...
#   ROUTE = LISTEN_HOST:LISTEN_PORT=TARGET_HOST:TARGET_PORT/NAME
#
# Forwards every connection accepted on a LISTEN address to its TARGET.  A
# connection's link is (source host, NAME): members bind their outgoing
# connections to their own address (127.0.0.1N), so the source host says
# who connects and NAME (the target member) to whom.
#
# The control port takes one command per line and answers "ok" (or
# "error ..."):
#   block SRC_HOST NAME      stop forwarding between SRC_HOST and NAME
#   unblock SRC_HOST NAME    forward again
#   heal                     unblock everything
#   status                   one line per open connection, then "ok"
# A blocked link is a black hole, as a network partition: bytes in both
# directions are dropped, new connections are accepted but go nowhere.
# Connections that lost bytes are closed when the link is unblocked (their
# streams are no longer whole), so both ends reconnect cleanly.
#
# Only core Perl; one process, select(); dies with its parent test (it exits
# when the control connection's peer or STDIN goes away is not needed: the
# test harness kills it).
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Errno qw(EAGAIN EWOULDBLOCK EINPROGRESS);
use Socket qw(SOL_SOCKET SO_ERROR IPPROTO_TCP TCP_NODELAY);

$| = 1;
my ($control_addr, @routes) = @ARGV;
die "usage: $0 CONTROL_HOST:PORT LISTEN=TARGET/NAME...\n" unless $control_addr && @routes;

my $sel = IO::Select->new;
my (%listener, %conn, %blocked, %ctl);

sub listen_on
{
	my ($addr) = @_;
	my ($h, $p) = $addr =~ /^(.*):(\d+)$/ or die "bad address $addr\n";
	my $s = IO::Socket::INET->new(LocalAddr => $h, LocalPort => $p, Listen => 128, ReuseAddr => 1, Proto => 'tcp')
	  or die "cannot listen on $addr: $!\n";
	$s->blocking(0);
	return $s;
}

my $control = listen_on($control_addr);
$sel->add($control);
for my $r (@routes)
{
	my ($l, $t, $name) = $r =~ m{^([^=]+)=([^/]+)/(.+)$} or die "bad route $r\n";
	my $s = listen_on($l);
	$listener{ fileno $s } = { sock => $s, target => $t, name => $name };
	$sel->add($s);
}
print "ready\n";

sub link_blocked { my ($c) = @_; return $blocked{"$c->{src} $c->{name}"}; }

sub close_conn
{
	my ($c) = @_;
	for my $s ($c->{a}, $c->{b})
	{
		next unless $s;
		$sel->remove($s);
		delete $conn{ fileno $s } if defined fileno $s;
		close $s;
	}
	$c->{dead} = 1;
}

sub accept_one
{
	my ($l) = @_;
	my $a = $l->{sock}->accept or return;
	$a->blocking(0);
	setsockopt($a, IPPROTO_TCP, TCP_NODELAY, 1);
	my $c = { a => $a, src => $a->peerhost, name => $l->{name}, abuf => '', bbuf => '', lost => 0 };
	my ($th, $tp) = $l->{target} =~ /^(.*):(\d+)$/;
	if (link_blocked($c))
	{
		$c->{lost} = 1;    # a black hole: never connected upstream
	}
	else
	{
		my $b = IO::Socket::INET->new(PeerAddr => $th, PeerPort => $tp, Proto => 'tcp', Timeout => 2);
		if (!$b)
		{
			close $a;
			return;
		}
		$b->blocking(0);
		setsockopt($b, IPPROTO_TCP, TCP_NODELAY, 1);
		$c->{b} = $b;
		$conn{ fileno $b } = [ $c, 'b' ];
		$sel->add($b);
	}
	$conn{ fileno $a } = [ $c, 'a' ];
	$sel->add($a);
}

sub pump
{
	my ($c, $side) = @_;
	my $from = $c->{$side};
	my $to = $side eq 'a' ? $c->{b} : $c->{a};
	my $n = sysread($from, my $buf, 65536);
	if (!defined $n)
	{
		return if $! == EAGAIN || $! == EWOULDBLOCK;
		close_conn($c);
		return;
	}
	if ($n == 0)
	{
		if (link_blocked($c))
		{
			# A black hole does not pass a close either: drop this side
			# only; the other is closed when the link is unblocked.
			$sel->remove($from);
			delete $conn{ fileno $from };
			close $from;
			$c->{$side} = undef;
			$c->{lost} = 1;
			return;
		}
		close_conn($c);
		return;
	}
	if (link_blocked($c) || !$to)
	{
		$c->{lost} = 1;
		return;
	}
	my $off = 0;
	my $deadline = time + 5;
	while ($off < $n)
	{
		my $w = syswrite($to, $buf, $n - $off, $off);
		if (!defined $w)
		{
			if ($! == EAGAIN || $! == EWOULDBLOCK)
			{
				IO::Select->new($to)->can_write(0.05);
				if (time > $deadline) { close_conn($c); return; }
				next;
			}
			close_conn($c);
			return;
		}
		$off += $w;
	}
}

sub command
{
	my ($line) = @_;
	my @w = split ' ', $line;
	return "error empty" unless @w;
	if ($w[0] eq 'block' && @w == 3) { $blocked{"$w[1] $w[2]"} = 1; return "ok"; }
	if ($w[0] eq 'unblock' && @w == 3)
	{
		delete $blocked{"$w[1] $w[2]"};
		reset_lost();
		return "ok";
	}
	if ($w[0] eq 'heal') { %blocked = (); reset_lost(); return "ok"; }
	if ($w[0] eq 'status')
	{
		my %seen;
		my @all = values %conn;
		my @l = map { "$_->[0]{src} -> $_->[0]{name}" . ($_->[0]{lost} ? ' (lost bytes)' : '') }
		  grep { !$seen{ $_->[0] }++ } @all;
		return join("\n", sort(@l), "ok");
	}
	return "error unknown command";
}

sub reset_lost
{
	my %seen;
	my @all = values %conn;
	for my $e (@all)
	{
		next unless ref $e eq 'ARRAY';
		my $c = $e->[0];
		next if $seen{$c}++ || $c->{dead};
		close_conn($c) if $c->{lost} && !link_blocked($c);
	}
}

while (1)
{
	my @ready = $sel->can_read(1);
	for my $s (@ready)
	{
		next unless defined fileno $s;
		my $fd = fileno $s;
		if ($s == $control)
		{
			my $c = $control->accept or next;
			$c->blocking(0);
			$ctl{ fileno $c } = { sock => $c, buf => '' };
			$sel->add($c);
		}
		elsif (my $l = $listener{$fd})
		{
			accept_one($l);
		}
		elsif (my $cc = $ctl{$fd})
		{
			my $n = sysread($s, my $buf, 4096);
			if (!$n)
			{
				next if !defined $n && ($! == EAGAIN || $! == EWOULDBLOCK);
				$sel->remove($s);
				delete $ctl{$fd};
				close $s;
				next;
			}
			$cc->{buf} .= $buf;
			while ($cc->{buf} =~ s/^(.*?)\r?\n//)
			{
				my $reply = command($1);
				$s->blocking(1);
				print $s "$reply\n";
				$s->blocking(0);
			}
		}
		elsif (my $e = $conn{$fd})
		{
			pump(@$e) unless $e->[0]{dead};
		}
	}
}
