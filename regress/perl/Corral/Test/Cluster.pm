=pod

=head1 NAME

Corral::Test::Cluster - run corrald servers from TAP tests

=head1 SYNOPSIS

  use Test::More;
  use Corral::Test::Cluster;

  my $node = Corral::Test::Cluster->new('main');
  $node->init(server => { max_client_connections => 2 },
              modules => { fourlw => { allow => ['ruok', 'srvr'] } });
  $node->start;
  is($node->fourlw('ruok'), 'imok', 'ruok');
  my ($rc, $out, $err) = $node->corralctl('srvr');
  ok($node->log_contains(qr/ready: serving clients on/), 'ready logged');
  is($node->stop, 0, 'clean exit');

  # exit code and output of corrald itself (--check-config, --version ...)
  my ($code, $stdout, $stderr) =
    $node->run_corrald('--check-config', '-c', $node->config_file);

  done_testing();

=head1 DESCRIPTION

The model is PostgreSQL's C<PostgreSQL::Test::Cluster>: one object per
server, a private directory for its configuration, data and log, and
cleanup that happens however the test ends.

=over

=item *

Every node gets a directory C<tmp_check/TEST_NODE_XXXX/> at the top of the
source tree, holding F<corrald.yaml>, F<corrald.log> and F<data/>.  The
directories are removed when the test passes, and kept (and named in the
TAP output) when it fails or when C<CORRAL_KEEP_TMP> is set in the
environment.

=item *

Binaries come from C<$ENV{CORRAL_BUILD}> (an absolute build directory, set by
C<make check>; default F<build/>): F<bin/corrald>, F<bin/corralctl>,
F<modules/*.so> and the test-only modules in F<regress-modules/>.

=item *

Every process a node starts is killed by an END block (and by the node's
DESTROY) even when the test dies, so no test leaves a server behind.

=item *

Waits are bounded: C<$ENV{CORRAL_TEST_TIMEOUT}> seconds (default 30).
Nothing sleeps for a fixed time.

=back

=head2 Ensembles

A node's address is not fixed to 127.0.0.1: C<< new(NAME, host => '127.0.0.12') >>
runs it on another loopback address (Linux routes all of 127.0.0.0/8 to
C<lo>), and C<allocate_port> hands out further free ports on that address
(peer and election ports).  L<Corral::Test::Ensemble> builds on this: it
makes N nodes on 127.0.0.11, .12, ..., allocates their ports first, and
calls C<init> on each with the same C<ensemble> list and its own
C<server.id>.

=head1 METHODS

=over

=cut

package Corral::Test::Cluster;

use strict;
use warnings;

use Carp;
use File::Path qw(make_path rmtree);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Test::Builder;
use Time::HiRes qw(time usleep);

use Corral::Test::Utils qw(tmp_check_dir test_name timeout_default run_command
  slurp_file write_file yaml_dump ordered wait_until exit_code_of);

our @ALL_NODES;         # weak references to every node
# The processes and directories of every test module are registered in one
# place (Corral::Test::Utils: track_pid, register_tmpdir); %LIVE_PIDS is
# that table under this package's name too.
*LIVE_PIDS = \%Corral::Test::Utils::LIVE_PIDS;
our %LIVE_PIDS;
my $ORIG_PID = $$;

my $tb = Test::Builder->new;

# Perl runs no END block when a signal kills it: turn the usual ones into a
# die, so that an interrupted test (Ctrl-C, prove killed by a timeout) still
# kills its servers.
for my $sig (qw(INT TERM HUP))
{
	$SIG{$sig} = sub { die "killed by SIG$_[0]\n" }
	  if !defined $SIG{$sig} || $SIG{$sig} eq '' || $SIG{$sig} eq 'DEFAULT';
}

=item Corral::Test::Cluster->new($name, %opts)

Creates a node (nothing runs yet).  Options: C<host> (default 127.0.0.1),
C<port> (default: a free port from C<allocate_port>; a node whose port was
chosen for it gets another one when the start finds it taken).

=cut

sub new
{
	my ($class, $name, %opts) = @_;
	croak "node name must match [A-Za-z0-9_-]+" unless $name =~ /^[A-Za-z0-9_-]+$/;
	my $host = $opts{host} // '127.0.0.1';
	my $build = Corral::Test::Utils::build_dir();
	my $basedir = File::Temp::tempdir(test_name() . "_${name}_XXXX",
		DIR => tmp_check_dir(), CLEANUP => 0);
	my $self = bless {
		name        => $name,
		host        => $host,
		port        => $opts{port},
		port_auto   => !defined $opts{port},
		build       => $build,
		basedir     => $basedir,
		data_dir    => "$basedir/data",
		config_file => "$basedir/corrald.yaml",
		logfile     => "$basedir/corrald.log",
		log_offset  => 0,
		pid         => undef,
		exit_code   => undef,
		ports       => [],
	}, $class;
	$self->{port} //= $self->allocate_port;
	Corral::Test::Utils::register_tmpdir($basedir);
	push @ALL_NODES, $self;
	weaken($ALL_NODES[-1]);
	return $self;
}

=item $node->name, host, port, basedir, data_dir, config_file, logfile, pid, build_dir

Accessors.  C<pid> is undef when the node is not running.  C<build_dir> is
the build directory the binaries come from.

=cut

sub name        { $_[0]{name} }
sub host        { $_[0]{host} }
sub port        { $_[0]{port} }
sub basedir     { $_[0]{basedir} }
sub data_dir    { $_[0]{data_dir} }
sub config_file { $_[0]{config_file} }
sub logfile     { $_[0]{logfile} }
sub pid         { $_[0]{pid} }
sub build_dir   { $_[0]{build} }

=item $node->address

C<"HOST:PORT">, the client address.

=cut

sub address { my $s = shift; return "$s->{host}:$s->{port}"; }

=item $node->modules_dir, $node->regress_modules_dir

F<BUILD/modules> (the shipped modules) and F<BUILD/regress-modules> (the
test-only modules of F<regress/modules/>).

=cut

sub modules_dir         { return $_[0]{build} . '/modules'; }
sub regress_modules_dir { return $_[0]{build} . '/regress-modules'; }

=item $node->allocate_port

Another free port on the node's host (for ensemble peer and election
ports); given back when the test ends.

=cut

sub allocate_port
{
	my ($self) = @_;
	my $p = Corral::Test::Utils::allocate_port($self->{host});
	push @{ $self->{ports} }, $p;
	return $p;
}

=item $node->init(%args)

Writes the node's YAML configuration: the defaults below, with C<%args>
merged over them.

  server:
    data_dir: BASEDIR/data
    client_listen: HOST:PORT
  module_path: [BUILD/modules]
  modules:
    fourlw: { allow: ["*"] }

=over

=item C<< server => { KEY => VALUE } >>

Merged key by key over the defaults; a value of undef drops the key.
Setting C<client_listen> also sets the node's host and port.

=item C<< modules => { NAME => SETTINGS } >>

Merged over the default C<fourlw> entry; C<< NAME => undef >> drops a
module.  Modules are written in a fixed order (C<fourlw> first, then by
name); pass C<< modules => ordered(...) >> (from L<Corral::Test::Utils>) to
give the exact list and order, without the default.

=item C<< module_path => [DIRS] >>

Replaces the default.

=item C<< ensemble => [ { id, peer, election, role } ... ] >>

Written as given.

=item C<< extra => { KEY => VALUE } >>

More top-level keys, as given (to test the rejection of unknown keys).

=back

Returns the YAML text written.

=cut

sub init
{
	my ($self, %args) = @_;
	$self->{config_args} = {%args};
	if (my $cl = $args{server} && $args{server}{client_listen})
	{
		if ($cl =~ /^\[?([^\]]+)\]?:(\d+)$/)
		{
			@$self{qw(host port port_auto)} = ($1, $2, 0);
		}
	}
	return $self->_write_config;
}

sub _write_config
{
	my ($self) = @_;
	my %args = %{ $self->{config_args} };
	my %server = (
		data_dir      => $self->{data_dir},
		client_listen => "$self->{host}:$self->{port}");
	while (my ($k, $v) = each %{ $args{server} // {} })
	{
		if (defined $v) { $server{$k} = $v } else { delete $server{$k} }
	}
	$server{client_listen} = "$self->{host}:$self->{port}"
	  if $self->{port_auto} && exists $server{client_listen};

	my $modules;
	if (ref $args{modules} eq 'Corral::Test::Ordered')
	{
		$modules = $args{modules};
	}
	else
	{
		my %m = (fourlw => { allow => ['*'] });
		while (my ($k, $v) = each %{ $args{modules} // {} })
		{
			if (defined $v) { $m{$k} = $v } else { delete $m{$k} }
		}
		my @names = sort { ($a ne 'fourlw') <=> ($b ne 'fourlw') or $a cmp $b } keys %m;
		$modules = ordered(map { ($_ => $m{$_}) } @names);
	}

	my @top = (server => \%server);
	push @top, ensemble => $args{ensemble} if exists $args{ensemble};
	push @top, module_path => $args{module_path} // [ $self->modules_dir ];
	push @top, modules => $modules;
	push @top, map { ($_ => $args{extra}{$_}) } sort keys %{ $args{extra} // {} };

	my $text = "# written by Corral::Test::Cluster for node $self->{name}\n"
	  . yaml_dump(ordered(@top));
	write_file($self->{config_file}, $text);
	$self->{config_text} = $text;
	return $text;
}

=item $node->write_config($text)

Writes C<$text> as the configuration, verbatim (for tests of exact error
positions).  A node configured this way keeps its port: a start that finds
the port taken fails instead of retrying.

=cut

sub write_config
{
	my ($self, $text) = @_;
	delete $self->{config_args};
	write_file($self->{config_file}, $text);
	$self->{config_text} = $text;
	return $text;
}

=item $node->config_text

The configuration last written.

=cut

sub config_text { return $_[0]{config_text}; }

sub _allows_ruok
{
	my ($self) = @_;
	my $a = $self->{config_args} or return 0;
	my $m = $a->{modules};
	my $f;
	if (ref $m eq 'Corral::Test::Ordered')
	{
		my %h = @$m;
		return 0 unless exists $h{fourlw};
		$f = $h{fourlw};
	}
	else
	{
		return 0 if $m && exists $m->{fourlw} && !defined $m->{fourlw};
		$f = ($m && $m->{fourlw}) // { allow => ['*'] };
	}
	my $allow = ref $f eq 'HASH' ? $f->{allow} : undef;
	return 0 unless ref $allow eq 'ARRAY';
	return scalar grep { $_ eq 'ruok' || $_ eq '*' } @$allow;
}

=item $node->start(%opts)

Runs C<BUILD/bin/corrald -c CONFIG> (in the node's directory, stdin from
F</dev/null>, stdout and stderr appended to the log file) and waits until it
is ready: the log of this run says C<ready: serving clients on> (or, when
the log level hides that line, the process has a listening socket on the
port) and, when the configuration allows C<ruok>, C<ruok> answers C<imok>.  If the port turns out to be
taken (the log says "Address already in use") and the node's port was
chosen for it, it picks another port, rewrites the configuration and tries
again (up to 5 times).

Dies with the log's tail when the server exits or is not ready within the
timeout, unless C<< fail_ok => 1 >>: then returns 0 (the exit code is in
C<< $node->exit_code >>, or the process is still running after a
timeout).  Returns 1 when ready.  Options: C<< timeout => SECONDS >>,
C<< args => [EXTRA ARGUMENTS] >>, C<< env => { NAME => VALUE } >>,
C<< wait => 0 >> (return as soon as the process is started, without
waiting until it is ready: to start several members at nearly the same
moment).

=cut

sub start
{
	my ($self, %opts) = @_;
	croak "node $self->{name} is already running (pid $self->{pid})" if $self->{pid};
	croak "node $self->{name} has no configuration: call init or write_config first"
	  unless -e $self->{config_file};
	my $timeout = $opts{timeout} // timeout_default();

	for my $attempt (1 .. 5)
	{
		$self->{log_offset} = -s $self->{logfile} // 0;
		$self->{exit_code} = undef;
		my @argv = ("$self->{build}/bin/corrald", '-c', $self->{config_file}, @{ $opts{args} // [] });
		$tb->note("starting node $self->{name} on $self->{host}:$self->{port}: @argv");
		my $pid = Corral::Test::Utils::spawn_logged($self->{basedir}, $self->{logfile}, \@argv, $opts{env},
			$self->{name});
		$self->{pid} = $pid;
		return 1 if defined $opts{wait} && !$opts{wait};

		my $use_ruok = $self->_allows_ruok;
		my $deadline = time() + $timeout;
		while (1)
		{
			if (!$self->is_running)
			{
				my $log = $self->log_content($self->{log_offset});
				if ($log =~ /Address already in use/ && $self->{port_auto} && $self->{config_args}
					&& $attempt < 5)
				{
					$tb->note("port $self->{port} is taken, trying another one");
					$self->{port} = $self->allocate_port;
					$self->_write_config;
					last;    # next attempt
				}
				return 0 if $opts{fail_ok};
				$self->_fail_start("exited with code $self->{exit_code} during startup");
			}
			# The log line (or, when the log level hides it, the socket
			# table) proves that this process, not another one on the same
			# port, is serving; ruok that it answers.
			my $ready = ($self->log_contains(qr/ready: serving clients on/, $self->{log_offset})
				  || $self->_pid_listens)
			  && (!$use_ruok || ($self->fourlw('ruok', timeout => 2) // '') eq 'imok');
			return 1 if $ready && $self->is_running;
			if (time() > $deadline)
			{
				return 0 if $opts{fail_ok};
				$self->kill9;
				$self->_fail_start("was not ready after $timeout s");
			}
			usleep(20_000);
		}
	}
	croak "node $self->{name}: no free port after 5 attempts";
}

# True when the node's process has a listening TCP socket on its port
# (Linux: /proc/PID/fd and /proc/net/tcp{,6}).
sub _pid_listens
{
	my ($self) = @_;
	my $pid = $self->{pid} or return 0;
	my %inodes;
	opendir(my $dh, "/proc/$pid/fd") or return 0;
	for my $fd (readdir $dh)
	{
		my $l = readlink("/proc/$pid/fd/$fd") // next;
		$inodes{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
	}
	closedir $dh;
	for my $table ('/proc/net/tcp', '/proc/net/tcp6')
	{
		for my $line (split /\n/, slurp_file($table))
		{
			my @f = split ' ', $line;
			next unless @f > 9 && $f[3] eq '0A';    # LISTEN
			my ($port) = $f[1] =~ /:([0-9A-F]+)$/ or next;
			return 1 if hex($port) == $self->{port} && $inodes{ $f[9] };
		}
	}
	return 0;
}

sub _fail_start
{
	my ($self, $why) = @_;
	$tb->diag("node $self->{name}: corrald $why; log $self->{logfile}:\n"
		  . $self->log_tail(40));
	croak "node $self->{name}: corrald $why";
}

=item $node->is_running

True while the process runs (reaps it and records the exit code when it
has exited).

=cut

sub is_running
{
	my ($self) = @_;
	my $pid = $self->{pid} or return 0;
	my $r = waitpid($pid, WNOHANG);
	return 1 if $r == 0;
	$self->{exit_status} = $?;
	$self->{exit_code} = exit_code_of($?) if $r == $pid;
	delete $LIVE_PIDS{$pid};
	$self->{pid} = undef;
	return 0;
}

=item $node->exit_code

The exit code of the last run that ended (128 + N for a death by signal N),
undef while running or before any run.

=cut

sub exit_code { return $_[0]{exit_code}; }

=item $node->signal($name)

Sends a signal (C<'TERM'>, C<'INT'>, C<'HUP'> ...) and returns at once.

=cut

sub signal
{
	my ($self, $sig) = @_;
	croak "node $self->{name} is not running" unless $self->{pid};
	return kill $sig, $self->{pid};
}

=item $node->wait_exit($seconds)

Waits (bounded) for the process to exit; returns its exit code, or undef
if it still runs after C<$seconds> (default: the test timeout).

=cut

sub wait_exit
{
	my ($self, $seconds) = @_;
	return $self->{exit_code} unless $self->{pid};
	wait_until(sub { !$self->is_running }, $seconds);
	return $self->{pid} ? undef : $self->{exit_code};
}

=item $node->stop(%opts)

Clean shutdown: sends C<SIGTERM> (or C<< signal => 'INT' >>), waits up to
the timeout, then sends C<SIGKILL> (with a diagnostic).  Returns the exit
code (0 for a clean exit); undef if the node was not running.

=cut

sub stop
{
	my ($self, %opts) = @_;
	return undef unless $self->is_running;
	my $sig = $opts{signal} // 'TERM';
	kill $sig, $self->{pid};
	my $code = $self->wait_exit($opts{timeout});
	return $code if defined $code;
	$tb->diag("node $self->{name} did not exit within the timeout after SIG$sig; sending SIGKILL");
	return $self->kill9;
}

=item $node->kill9

Kills the process with C<SIGKILL> at once and reaps it; returns 137.

=cut

sub kill9
{
	my ($self) = @_;
	my $pid = $self->{pid} or return undef;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	$self->{exit_status} = $?;
	$self->{exit_code} = exit_code_of($?);
	delete $LIVE_PIDS{$pid};
	$self->{pid} = undef;
	return $self->{exit_code};
}

=item $node->restart(%opts)

C<stop> then C<start> (same options as C<start>).

=cut

sub restart
{
	my ($self, %opts) = @_;
	$self->stop;
	return $self->start(%opts);
}

=item $node->connect(%opts)

A TCP connection to the node's client port (an L<IO::Socket::INET>), or
undef when the connection is refused.  C<< timeout => SECONDS >>
(default 5) bounds the connect.

=cut

sub connect
{
	my ($self, %opts) = @_;
	return IO::Socket::INET->new(
		PeerAddr => $self->{host},
		PeerPort => $self->{port},
		Proto    => 'tcp',
		Timeout  => $opts{timeout} // 5);
}

=item $node->can_connect

True when something accepts connections on the node's address.

=cut

sub can_connect
{
	my ($self) = @_;
	my $s = $self->connect(timeout => 2) or return 0;
	close $s;
	return 1;
}

=item read_until_eof($socket, $seconds)

(Function.)  Reads until the peer closes the connection; returns the bytes,
or undef if it did not close within C<$seconds> (default 10).  In list
context also returns whether EOF was seen.

=cut

sub read_until_eof
{
	my ($sock, $seconds) = @_;
	my $deadline = time() + ($seconds // 10);
	my $sel = IO::Select->new($sock);
	my $buf = '';
	while (1)
	{
		my $left = $deadline - time();
		last if $left <= 0;
		next unless $sel->can_read($left);
		my $r = sysread($sock, my $chunk, 65536);
		if (!defined $r)
		{
			next if $!{EINTR} || $!{EAGAIN};
			return wantarray ? ($buf, 1) : $buf;    # ECONNRESET counts as closed
		}
		return wantarray ? ($buf, 1) : $buf if $r == 0;
		$buf .= $chunk;
	}
	return wantarray ? ($buf, 0) : undef;
}

=item $node->fourlw($word, %opts)

Sends a four-letter word as C<nc> would (the four bytes, or
C<< send => BYTES >>) and returns everything the server wrote until it
closed the connection.  Returns undef when the connection is refused or the
server did not close it within C<< timeout => SECONDS >> (default 10).

=cut

sub fourlw
{
	my ($self, $word, %opts) = @_;
	my $s = $self->connect(timeout => $opts{timeout} // 5) or return undef;
	my $data = $opts{send} // $word;
	my $w = syswrite($s, $data);
	unless (defined $w && $w == length $data)
	{
		close $s;
		return undef;
	}
	my $out = read_until_eof($s, $opts{timeout} // 10);
	close $s;
	return $out;
}

=item $node->corralctl(@args)

Runs C<BUILD/bin/corralctl -s HOST:PORT @args>; returns
C<($exit_code, $stdout, $stderr)>.

=cut

sub corralctl
{
	my ($self, @args) = @_;
	return run_command([ "$self->{build}/bin/corralctl", '-s', $self->address, @args ]);
}

=item $node->run_corrald(@args), Corral::Test::Cluster->run_corrald(@args)

Runs C<BUILD/bin/corrald @args> to completion (bounded) from the current
directory and returns C<($exit_code, $stdout, $stderr)>: for
C<--check-config>, C<--version>, configuration errors, module refusals.

=cut

sub run_corrald
{
	my ($self, @args) = @_;
	my $build = ref $self ? $self->{build} : Corral::Test::Utils::build_dir();
	return run_command([ "$build/bin/corrald", @args ]);
}

=item $node->log_content($offset), $node->log_tail($lines)

The log from byte C<$offset> (default 0), or its last C<$lines> lines
(default 20).

=cut

sub log_content
{
	my ($self, $offset) = @_;
	my $c = slurp_file($self->{logfile});
	$offset //= 0;
	return $offset >= length $c ? '' : substr($c, $offset);
}

sub log_tail
{
	my ($self, $n) = @_;
	my @l = split /\n/, $self->log_content;
	$n //= 20;
	@l = @l[ -$n .. -1 ] if @l > $n;
	return join("\n", @l) . "\n";
}

=item $node->log_position

The log's current size: pass it to C<log_contains> or C<wait_for_log> to
look only at what is logged afterwards.  (C<< $node->{log_offset} >> is
where the current run's log starts.)

=cut

sub log_position { return -s $_[0]{logfile} // 0; }

=item $node->log_contains(qr/.../, $offset)

True when the log (from C<$offset>, default 0) matches.

=cut

sub log_contains
{
	my ($self, $re, $offset) = @_;
	return scalar($self->log_content($offset) =~ $re);
}

=item $node->wait_for_log(qr/.../, $offset, $seconds)

Waits (bounded) until the log from C<$offset> matches; returns true if it
did.

=cut

sub wait_for_log
{
	my ($self, $re, $offset, $seconds) = @_;
	return wait_until(sub { $self->log_contains($re, $offset) }, $seconds);
}

=item $node->teardown

Kills the process if it runs (SIGKILL) and gives the node's ports back.
Called by DESTROY and by the END block.

=cut

sub teardown
{
	my ($self) = @_;
	$self->kill9 if $self->{pid};
	Corral::Test::Utils::release_port($self->{host}, $_) for @{ $self->{ports} };
	$self->{ports} = [];
	return;
}

sub DESTROY
{
	my ($self) = @_;
	return unless $$ == $ORIG_PID;
	local ($?, $!, $@);
	$self->teardown;
}

END
{
	# Stop every node cleanly first; Corral::Test::Utils' END block (which
	# runs after this one) kills what is left and removes the directories.
	local $?;
	if ($$ == $ORIG_PID)
	{
		for my $node (grep { defined } @ALL_NODES)
		{
			$node->teardown;
		}
	}
}

=back

=head1 ENVIRONMENT

=over

=item CORRAL_BUILD

Absolute path of the build directory (C<make check> sets it).

=item CORRAL_KEEP_TMP

Keep the test directories even when the test passes.

=item CORRAL_TEST_TIMEOUT

Seconds for each bounded wait (default 30).

=back

=cut

1;
