=pod

=head1 NAME

Corral::Test::ZooKeeper - run a real Apache ZooKeeper 3.8 for comparison tests

=head1 SYNOPSIS

  use Test::More;
  use Corral::Test::Cluster;
  use Corral::Test::ZooKeeper qw(python3 run_python clients_dir expected_file);

  my $zk = Corral::Test::ZooKeeper->new('zk', tick_ms => 2000);
  if ($zk)    # undef when Java or the zookeeper package is missing
  {
      $zk->start;
      my ($rc, $out, $err) = run_python('kazoo_scenarios.py', $zk->address);
      $zk->stop;
  }

=head1 DESCRIPTION

Starts the ZooKeeper server of the Debian C<zookeeper> package
(F</usr/share/java/zookeeper.jar>, version 3.8) in standalone mode, on a
free port of 127.0.0.1, with its own data directory under
F<tmp_check/>, so that the real-client tests of F<regress/t/1*.t> can run the
same client against ZooKeeper and against corrald and compare what the
client saw.

The server runs as

  java -Dzookeeper.extendedTypesEnabled=true -Dznode.container.checkIntervalMs=N
       -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar:slf4j-api:slf4j-nop
       org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg

with C<zoo.cfg>:

  tickTime=TICK   dataDir=BASEDIR/data   clientPort=PORT
  clientPortAddress=127.0.0.1   4lw.commands.whitelist=*
  admin.enableServer=false   extendedTypesEnabled=true   maxClientCnxns=0

As with L<Corral::Test::Cluster>, every process is killed by an END block
(and DESTROY) however the test ends, waits are bounded
(C<CORRAL_TEST_TIMEOUT>), and the directory is removed when the test passes.

Set C<CORRAL_NO_ZOOKEEPER=1> to behave as if ZooKeeper were not installed
(the tests then compare with the expected files of F<regress/clients/>).

=head1 METHODS

=over

=cut

package Corral::Test::ZooKeeper;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use File::Path qw(make_path rmtree);
use File::Temp ();
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::Builder;
use Time::HiRes qw(time usleep);

use Corral::Test::Cluster;
use Corral::Test::Utils qw(tmp_check_dir test_name timeout_default run_command
  slurp_file write_file wait_until exit_code_of allocate_port release_port repo_root);

our @EXPORT_OK = qw(python3 run_python clients_dir expected_file zkcli zkcli_available
  compare_or_regen compare_transcripts unified_diff have_kazoo run_differential
  corrald_defaults rank_zxids kazoo_repl);

our $JAVA      = $ENV{CORRAL_JAVA} // '/usr/bin/java';
our $ZK_JAR    = '/usr/share/java/zookeeper.jar';
our @CLASSPATH = ('/etc/zookeeper/conf', $ZK_JAR, '/usr/share/java/slf4j-api.jar',
	'/usr/share/java/slf4j-nop.jar');
our $ZKCLI     = '/usr/share/zookeeper/bin/zkCli.sh';

# A ZooKeeper server is controlled like a corrald node (is_running, stop,
# kill9, teardown): those methods come from Corral::Test::Cluster.
our @ISA = ('Corral::Test::Cluster');
*LIVE_PIDS = \%Corral::Test::Utils::LIVE_PIDS;   # one registry (Corral::Test::Utils)
our %LIVE_PIDS;
my $tb = Test::Builder->new;

=item Corral::Test::ZooKeeper->available

True when Java and the ZooKeeper jar are installed and
C<CORRAL_NO_ZOOKEEPER> is not set.

=cut

sub available
{
	return 0 if $ENV{CORRAL_NO_ZOOKEEPER};
	return (-x $JAVA && -r $ZK_JAR) ? 1 : 0;
}

=item Corral::Test::ZooKeeper->new($name, %opts)

A server (not started yet), or undef when L</available> is false.
Options: C<tick_ms> (default 2000), C<container_check_ms> (default 100),
C<< cfg => { KEY => VALUE } >> (more zoo.cfg lines),
C<< jvm => [ARGS] >> (more JVM arguments),
C<< myid => N >> (a quorum member: QuorumPeerMain instead of
ZooKeeperServerMain, F<dataDir/myid> written; the C<server.N> lines go in
C<cfg>).

=cut

sub new
{
	my ($class, $name, %opts) = @_;
	return undef unless $class->available;
	croak "name must match [A-Za-z0-9_-]+" unless $name =~ /^[A-Za-z0-9_-]+$/;
	my $basedir = File::Temp::tempdir(test_name() . "_${name}_XXXX",
		DIR => tmp_check_dir(), CLEANUP => 0);
	Corral::Test::Utils::register_tmpdir($basedir);
	my $self = bless {
		name               => $name,
		host               => '127.0.0.1',
		basedir            => $basedir,
		data_dir           => "$basedir/data",
		logfile            => "$basedir/zookeeper.log",
		tick_ms            => $opts{tick_ms} // 2000,
		container_check_ms => $opts{container_check_ms} // 100,
		cfg                => $opts{cfg} // {},
		jvm                => $opts{jvm} // [],
		myid               => $opts{myid},
		ports              => [],
	}, $class;
	return $self;
}

# name, host, port, basedir, logfile, pid, address: Corral::Test::Cluster's.
sub tick_ms  { $_[0]{tick_ms} }

sub _write_cfg
{
	my ($self) = @_;
	my %cfg = (
		tickTime                 => $self->{tick_ms},
		dataDir                  => $self->{data_dir},
		clientPort               => $self->{port},
		clientPortAddress        => $self->{host},
		'4lw.commands.whitelist' => '*',
		'admin.enableServer'     => 'false',
		extendedTypesEnabled     => 'true',
		maxClientCnxns           => 0,
		%{ $self->{cfg} });
	my $text = join('', map { "$_=$cfg{$_}\n" } sort keys %cfg);
	make_path($self->{data_dir});
	write_file("$self->{data_dir}/myid", "$self->{myid}\n") if defined $self->{myid};
	write_file("$self->{basedir}/zoo.cfg", $text);
	return $text;
}

=item $zk->start(%opts)

Starts the server and waits (bounded) until C<srvr> shows a C<Mode:>
line (C<ruok> answers C<imok> before the server accepts sessions).
Retries with another port when the port was taken.  Dies with the log's
tail on failure.  C<< timeout => SECONDS >>; C<< wait => 0 >> returns once
the process runs (a quorum member serves only once a quorum is up: see
L</wait_serving>).

=cut

sub start
{
	my ($self, %opts) = @_;
	croak "zookeeper $self->{name} is already running" if $self->{pid};
	my $timeout = $opts{timeout} // timeout_default();
	for my $attempt (1 .. 5)
	{
		$self->{port} = allocate_port($self->{host});
		push @{ $self->{ports} }, $self->{port};
		$self->_write_cfg;
		my $off = -s $self->{logfile} // 0;
		my @argv = ($JAVA, '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
			'-Dzookeeper.extendedTypesEnabled=true',
			"-Dznode.container.checkIntervalMs=$self->{container_check_ms}",
			'-Dzookeeper.admin.enableServer=false',
			@{ $self->{jvm} },
			'-cp', join(':', @CLASSPATH),
			defined $self->{myid}
			? 'org.apache.zookeeper.server.quorum.QuorumPeerMain'
			: 'org.apache.zookeeper.server.ZooKeeperServerMain',
			"$self->{basedir}/zoo.cfg");
		$tb->note("starting ZooKeeper $self->{name} on $self->{host}:$self->{port}");
		my $pid = Corral::Test::Utils::spawn_logged($self->{basedir}, $self->{logfile}, \@argv, undef,
			"ZooKeeper $self->{name}");
		$self->{pid} = $pid;
		return 1 if defined $opts{wait} && !$opts{wait};
		my $deadline = time() + $timeout;
		while (1)
		{
			if (!$self->is_running)
			{
				my $log = substr(slurp_file($self->{logfile}), $off);
				if ($log =~ /Address already in use/ && $attempt < 5)
				{
					$tb->note("port $self->{port} is taken, trying another one");
					last;
				}
				$self->_fail("exited with code $self->{exit_code} during startup");
			}
			# ruok answers before the server takes sessions; srvr says
			# "not currently serving requests" until it does
			return 1 if (($self->fourlw('srvr', timeout => 2) // '') =~ /^Mode: /m);
			if (time() > $deadline)
			{
				$self->kill9;
				$self->_fail("was not ready after $timeout s");
			}
			usleep(50_000);
		}
	}
	croak "zookeeper $self->{name}: no free port after 5 attempts";
}

=item $zk->wait_serving(%opts)

Waits (bounded, C<< timeout => SECONDS >>) until C<srvr> shows a C<Mode:>
line; dies with the log's tail if it does not.

=cut

sub wait_serving
{
	my ($self, %opts) = @_;
	my $deadline = time() + ($opts{timeout} // timeout_default());
	while (time() < $deadline)
	{
		return 1 if (($self->fourlw('srvr', timeout => 2) // '') =~ /^Mode: /m);
		$self->_fail("exited with code $self->{exit_code}") if !$self->is_running;
		usleep(100_000);
	}
	$self->_fail('was not serving in time');
}

sub _fail
{
	my ($self, $why) = @_;
	my @l = split /\n/, slurp_file($self->{logfile});
	@l = @l[ -40 .. -1 ] if @l > 40;
	$tb->diag("ZooKeeper $self->{name} $why; log $self->{logfile}:\n" . join("\n", @l));
	croak "ZooKeeper $self->{name} $why";
}

=item $zk->is_running, $zk->stop, $zk->kill9, $zk->wait_exit, $zk->teardown

Inherited from L<Corral::Test::Cluster>: one implementation of process
control for both servers.  C<stop> sends SIGTERM and waits (bounded), then
SIGKILL; C<teardown> (DESTROY calls it) kills the server and gives its
ports back.

=cut

=item $zk->fourlw($word, %opts)

Sends a four-letter word and returns the answer (undef when refused or
not closed within C<< timeout => SECONDS >>, default 10).

=cut

sub fourlw
{
	my ($self, $word, %opts) = @_;
	my $t = $opts{timeout} // 10;
	my $s = IO::Socket::INET->new(PeerAddr => $self->{host}, PeerPort => $self->{port},
		Proto => 'tcp', Timeout => $t) or return undef;
	syswrite($s, $word) == length($word) or return undef;
	my $out = '';
	my $deadline = time() + $t;
	my $sel = IO::Select->new($s);
	while (time() < $deadline)
	{
		next unless $sel->can_read($deadline - time());
		my $r = sysread($s, my $buf, 65536);
		last if !$r;
		$out .= $buf;
	}
	close $s;
	return $out;
}

=back

=head1 FUNCTIONS (exported on request)

=over

=item python3()

The Python that has kazoo: C<$ENV{CORRAL_PYTHON}>, default
F</usr/bin/python3> (Debian's, which sees C<python3-kazoo>; the C<python3>
first on PATH may be another install).

=item have_kazoo()

True when that Python can C<import kazoo>.

=cut

sub python3 { return $ENV{CORRAL_PYTHON} // '/usr/bin/python3'; }

my $have_kazoo;
sub have_kazoo
{
	return $have_kazoo if defined $have_kazoo;
	my ($rc) = run_command([ python3(), '-c', 'import kazoo' ], timeout => 30);
	return $have_kazoo = ($rc == 0 ? 1 : 0);
}

=item clients_dir()

F<regress/clients> of the source tree.

=item expected_file($name)

F<regress/clients/$name>.

=cut

sub clients_dir   { return repo_root() . '/regress/clients'; }
sub expected_file { return clients_dir() . '/' . $_[0]; }

=item run_python($script, @args, {timeout => S, stdin => TEXT})

Runs F<regress/clients/$script> with L</python3>; returns
C<($exit_code, $stdout, $stderr)>.  A trailing hash reference gives
options for C<run_command>.

=cut

sub run_python
{
	my ($script, @args) = @_;
	my %o = (ref $args[-1] eq 'HASH') ? %{ pop @args } : ();
	my %env = (PYTHONDONTWRITEBYTECODE => 1, %{ delete $o{env} // {} });
	return run_command([ python3(), clients_dir() . "/$script", @args ],
		timeout => $o{timeout} // 120, env => \%env, %o);
}

=item zkcli_available()

True when F</usr/share/zookeeper/bin/zkCli.sh> and Java are there.

=item zkcli($address, $commands, %opts)

Runs C<zkCli.sh -server ADDRESS> with C<$commands> (text, one command a
line; C<quit> is appended) on stdin; returns C<($exit_code, $output, '')>,
stdout and stderr merged in one stream.

=cut

sub zkcli_available { return (-x $JAVA && -r $ZKCLI && -r $ZK_JAR) ? 1 : 0; }

sub zkcli
{
	my ($address, $commands, %opts) = @_;
	$commands .= "\n" unless $commands =~ /\n\z/;
	# stdout and stderr merged (zkCli prints "Created ..." and errors on
	# stderr, data on stdout): one stream in the order it was written.
	return run_command([ '/bin/sh', '-c', 'exec /bin/bash "$0" -server "$1" 2>&1', $ZKCLI, $address ],
		stdin => $commands . "quit\n", timeout => $opts{timeout} // 60,
		env => { JVMFLAGS => '-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1',
			ZOO_LOG_DIR => tmp_check_dir() });
}

=item compare_or_regen($name, $got_from_zookeeper)

With a transcript from the live ZooKeeper: when C<CORRAL_REGEN_EXPECTED> is
set, writes it to F<regress/clients/$name>; otherwise a test checks that the
committed expected file still matches it (so that the file stays
ZooKeeper's behaviour).  Returns the text corrald must produce: ZooKeeper's
live transcript when there is one, else the expected file's content.

=cut

sub compare_or_regen
{
	my ($name, $zk_out) = @_;
	my $file = expected_file($name);
	if (defined $zk_out)
	{
		if ($ENV{CORRAL_REGEN_EXPECTED})
		{
			write_file($file, $zk_out);
			$tb->note("wrote $file from ZooKeeper");
		}
		elsif (-e $file)
		{
			my $exp = slurp_file($file);
			$tb->ok($exp eq $zk_out, "$name is still what ZooKeeper does")
			  or $tb->diag("-$name +zookeeper now (regenerate with CORRAL_REGEN_EXPECTED=1):\n"
				  . unified_diff($exp, $zk_out));
		}
		return $zk_out;
	}
	croak "no ZooKeeper and no expected file $file" unless -e $file;
	return slurp_file($file);
}

=item compare_transcripts($got, $expected, $what)

Splits both transcripts into sections (a line C<== NAME> starts one) and
runs one test per section of C<$expected>: "C<$what: NAME>", passing when the
section's lines are equal, else failing with a C<diff -u> of the section
(C<-> ZooKeeper, C<+> corrald) in the diagnostics.  Sections corrald printed
that ZooKeeper did not are a failure too.  Returns the number of sections
that differ.

=cut

sub _sections
{
	my ($text) = @_;
	my (@order, %sec);
	my $cur = '(preamble)';
	for my $l (split /\n/, $text // '')
	{
		if ($l =~ /^== (.*)$/)
		{
			$cur = $1;
			push @order, $cur;
			$sec{$cur} = [];
			next;
		}
		push @{ $sec{$cur} }, $l;
	}
	return (\@order, \%sec);
}

sub compare_transcripts
{
	my ($got, $exp, $what) = @_;
	my ($eorder, $esec) = _sections($exp);
	my ($gorder, $gsec) = _sections($got);
	my $bad = 0;
	for my $name (@$eorder)
	{
		my $e = join("\n", @{ $esec->{$name} }) . "\n";
		my $g = exists $gsec->{$name} ? join("\n", @{ $gsec->{$name} }) . "\n" : "<section missing>\n";
		if ($tb->ok($e eq $g, "$what: $name"))
		{
			next;
		}
		$bad++;
		$tb->diag("-zookeeper +corrald ($what: $name):\n" . unified_diff($e, $g));
	}
	my %known = map { $_ => 1 } @$eorder;
	for my $name (grep { !$known{$_} } @$gorder)
	{
		$bad++;
		$tb->ok(0, "$what: unexpected section $name");
	}
	return $bad;
}

=item run_differential(%opts)

The whole differential test of one client program:

=over

=item 1.

when ZooKeeper is available, starts one (C<< zk => {OPTIONS of new} >>),
runs C<< run => sub { my ($address) = @_; ...; return ($rc, $out, $err) } >>
against it, checks the exit code, stops it, and checks that the
C<< expected => NAME >> file of F<regress/clients/> is still ZooKeeper's
transcript (or rewrites it under C<CORRAL_REGEN_EXPECTED>);

=item 2.

starts corrald (C<< corrald => {ARGUMENTS of init} >>, the node named
C<< name => NAME >>), runs the same program against it, and compares its
transcript with ZooKeeper's, section by section (L</compare_transcripts>);

=item 3.

checks that corrald still runs and stops cleanly.

=back

C<< normalise => sub { my ($text, $server_kind) = @_; ... } >> rewrites a
transcript before the comparison (the same function for both servers).
Returns the corrald node (stopped).

=cut

sub run_differential
{
	my (%o) = @_;
	my $what = $o{what} // $o{expected};
	my $norm = $o{normalise} // sub { $_[0] };
	my $zk_out;
	if (my $zk = Corral::Test::ZooKeeper->new('zk', %{ $o{zk} // {} }))
	{
		$zk->start;
		my ($rc, $out, $err) = $o{run}->($zk->address, 'zookeeper', $zk);
		$tb->is_eq($rc, 0, "$what: ran against ZooKeeper") or $tb->diag($err);
		$tb->unlike($out, qr/^!! /m, "$what: nothing aborted against ZooKeeper") or $tb->diag($err);
		$zk_out = $norm->($out, 'zookeeper');
		$zk->stop;
	}
	else
	{
		$tb->note("ZooKeeper is not available: $what is compared with $o{expected}");
	}
	my $expected = compare_or_regen($o{expected}, $zk_out);

	my $node = Corral::Test::Cluster->new($o{name} // 'corral');
	$node->init(%{ $o{corrald} // {} });
	$node->start;
	my ($rc, $out, $err) = $o{run}->($node->address, 'corrald', $node);
	$tb->is_eq($rc, 0, "$what: ran against corrald") or $tb->diag($err);
	compare_transcripts($norm->($out, 'corrald'), $expected, $what);
	$tb->ok($node->is_running, "$what: corrald is still running")
	  or $tb->diag($node->log_tail(30));
	$tb->is_eq($node->stop, 0, "$what: corrald exits cleanly");
	return $node;
}

=item corrald_defaults(%server)

The corrald configuration the real-client tests use: C<init> arguments
with extended types on, a 100 ms container check, no connection limit,
the digest and ip auth modules (ZooKeeper has both by default), and the
C<%server> keys merged in.

=cut

sub corrald_defaults
{
	my (%server) = @_;
	return (
		server => {
			extended_types         => 'true',
			container_check_ms     => 100,
			max_client_connections => 0,
			%server,
		},
		modules => { auth_digest => {}, auth_ip => {} });
}

=item rank_zxids($text)

Replaces the tokens C<{zN}> (N a decimal zxid) of a transcript by the
rank of N among the distinct zxids of the same section (C<z1>, C<z2> ...;
0 stays C<0>): the normalisation of doc/testing.md, for the programs that
print raw zxids.

=cut

sub rank_zxids
{
	my ($text) = @_;
	my @out;
	for my $sec (split /(?=^== )/m, $text)
	{
		my %seen;
		$seen{$1} = 1 while $sec =~ /\{z(-?\d+)\}/g;
		my $i = 0;
		my %rank = map { $_ => ($_ == 0 ? '0' : 'z' . ++$i) } sort { $a <=> $b } grep { $_ != 0 } keys %seen;
		$rank{0} = '0';
		$sec =~ s/\{z(-?\d+)\}/$rank{$1}/g;
		push @out, $sec;
	}
	return join('', @out);
}

=item unified_diff($a, $b)

C<diff -u> of two texts (the header lines dropped).

=cut

sub unified_diff
{
	my ($x, $y) = @_;
	my $dir = tmp_check_dir() . '/cmd';
	make_path($dir) unless -d $dir;
	my ($fa, $fb) = ("$dir/diff.$$.a", "$dir/diff.$$.b");
	write_file($fa, $x);
	write_file($fb, $y);
	my (undef, $out) = run_command([ 'diff', '-u', $fa, $fb ], timeout => 30);
	unlink $fa, $fb;
	$out =~ s/\A---[^\n]*\n\+\+\+[^\n]*\n//;
	return $out;
}

=item kazoo_repl($address, %opts)

Starts F<regress/clients/kazoo_repl.py> (a kazoo client driven line by
line) and waits (bounded) for it to connect.  Returns an object with
C<< ->cmd($line) >> (sends one command, returns the answer line, or undef
after C<< timeout => S >>, default 15 s) and C<< ->quit >>.  The process is
killed at exit if still running.  Returns undef when it could not connect
(C<< ->{error} >> of the class says why).

=cut

sub kazoo_repl
{
	my ($address, %opts) = @_;
	require IPC::Open2;
	my ($out, $in);
	local $ENV{PYTHONDONTWRITEBYTECODE} = 1;
	my $pid = IPC::Open2::open2($out, $in, python3(), clients_dir() . '/kazoo_repl.py', $address,
		$opts{session_timeout} // 10);
	$LIVE_PIDS{$pid} = 1;
	my $r = bless { pid => $pid, out => $out, in => $in, buf => '' }, 'Corral::Test::ZooKeeper::Repl';
	my $ready = $r->_line($opts{timeout} // 20);
	if (!defined $ready || $ready ne 'ready')
	{
		$r->terminate;
		return undef;
	}
	return $r;
}

package Corral::Test::ZooKeeper::Repl;

use IO::Select;
use POSIX ();
use Time::HiRes qw(time);

sub _line
{
	my ($self, $timeout) = @_;
	my $deadline = time() + $timeout;
	my $sel = IO::Select->new($self->{out});
	while ($self->{buf} !~ /\n/)
	{
		my $left = $deadline - time();
		return undef if $left <= 0;
		next unless $sel->can_read($left);
		my $n = sysread($self->{out}, my $chunk, 4096);
		return undef unless $n;
		$self->{buf} .= $chunk;
	}
	$self->{buf} =~ s/\A([^\n]*)\n//;
	return $1;
}

sub cmd
{
	my ($self, $line, %opts) = @_;
	return undef unless $self->{pid};
	local $SIG{PIPE} = 'IGNORE';
	syswrite($self->{in}, "$line\n") or return undef;
	return $self->_line($opts{timeout} // 15);
}

sub terminate
{
	my ($self) = @_;
	my $pid = delete $self->{pid} or return;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	delete $Corral::Test::ZooKeeper::LIVE_PIDS{$pid};
	return;
}

sub quit
{
	my ($self) = @_;
	return unless $self->{pid};
	my $r = $self->cmd('quit', timeout => 15);
	close $self->{in};
	my $pid = $self->{pid};
	my $deadline = time() + 10;
	while (time() < $deadline)
	{
		last if waitpid($pid, POSIX::WNOHANG()) == $pid;
		select(undef, undef, undef, 0.02);
	}
	$self->terminate;
	return $r;
}

sub DESTROY { $_[0]->terminate; }

package Corral::Test::ZooKeeper;

=back

=head1 ENVIRONMENT

C<CORRAL_NO_ZOOKEEPER> (pretend ZooKeeper is missing),
C<CORRAL_REGEN_EXPECTED> (rewrite the expected files of F<regress/clients/>
from the live ZooKeeper), C<CORRAL_PYTHON>, C<CORRAL_JAVA>,
C<CORRAL_TEST_TIMEOUT>, C<CORRAL_KEEP_TMP>.

=cut

1;
