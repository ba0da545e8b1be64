=pod

=head1 NAME

Corral::Test::Utils - helpers shared by Corral's TAP tests

=head1 SYNOPSIS

  use Corral::Test::Utils;

  my $bin = build_dir() . '/bin/corrald';
  my ($rc, $out, $err) = run_command([$bin, '--version']);
  my $port = allocate_port('127.0.0.1');
  write_file("$dir/x.yaml", yaml_dump({ server => { tick_ms => 2000 } }));
  ok(wait_until(sub { -e $file }, 10), 'file appeared');

=head1 DESCRIPTION

Functions that do not need a running server.  Everything here is used by
L<Corral::Test::Cluster>; tests may use them directly.  Only core Perl
modules are used, so the tests run on a bare Debian with C<perl>.

=head1 FUNCTIONS

=over

=cut

package Corral::Test::Utils;

use strict;
use warnings;

use Carp;
use Cwd qw(abs_path);
use Errno qw(EEXIST);
use Exporter 'import';
use Fcntl qw(O_CREAT O_EXCL O_WRONLY);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);
use File::Spec;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Socket qw(SOMAXCONN);
use Time::HiRes qw(usleep time);

our @EXPORT = qw(
  build_dir repo_root tmp_check_dir test_name timeout_default
  run_command slurp_file write_file append_file asan_build
  yaml_dump yaml_quote ordered
  allocate_port release_port
  wait_until exit_code_of
  track_pid untrack_pid register_tmpdir spawn_logged
);

our $ORIG_PID = $$;

=item repo_root()

The top of the source tree (three levels above this file's directory).

=cut

my $REPO_ROOT;
sub repo_root
{
	return $REPO_ROOT if defined $REPO_ROOT;
	my $here = dirname(abs_path(__FILE__));    # regress/perl/Corral/Test
	$REPO_ROOT = abs_path("$here/../../../..");
	return $REPO_ROOT;
}

=item build_dir()

The build directory that holds C<bin/corrald>: C<$ENV{CORRAL_BUILD}> (set by
C<make check>), else C<build/> of the source tree.  Dies when C<bin/corrald>
is not there.

=cut

sub build_dir
{
	my $b = $ENV{CORRAL_BUILD} // repo_root() . '/build';
	$b = abs_path($b) // $b;
	croak "no corrald in $b/bin (build first, or set CORRAL_BUILD)"
	  unless -x "$b/bin/corrald";
	return $b;
}

=item tmp_check_dir()

C<tmp_check/> at the top of the source tree (created on demand).  Every
test's files live below it.

=cut

sub tmp_check_dir
{
	my $d = repo_root() . '/tmp_check';
	make_path($d) unless -d $d;
	return $d;
}

=item test_name()

The running test's name: the basename of C<$0> without C<.t>.

=cut

sub test_name
{
	my $n = basename($0);
	$n =~ s/\.t$//;
	$n =~ s/[^A-Za-z0-9_.-]/_/g;
	return $n;
}

=item timeout_default()

Seconds a bounded wait lasts: C<$ENV{CORRAL_TEST_TIMEOUT}>, default 30
(sanitizer builds start slower).

=cut

sub timeout_default
{
	return $ENV{CORRAL_TEST_TIMEOUT} // 30;
}

=item slurp_file($path), write_file($path, $text), append_file($path, $text)

Read or write a whole file (raw bytes).  C<slurp_file> returns '' for a file
that does not exist.

=cut

sub slurp_file
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or return '';
	local $/;
	my $c = <$fh>;
	close $fh;
	return $c // '';
}

sub write_file
{
	my ($path, $text) = @_;
	open(my $fh, '>:raw', $path) or croak "cannot write $path: $!";
	print $fh $text;
	close $fh or croak "cannot write $path: $!";
	return;
}

sub append_file
{
	my ($path, $text) = @_;
	open(my $fh, '>>:raw', $path) or croak "cannot append to $path: $!";
	print $fh $text;
	close $fh or croak "cannot append to $path: $!";
	return;
}

=item asan_build($build)

True when the corrald of the build directory C<$build> is an
AddressSanitizer build (C<make check-asan>, C<SAN=1>): it then needs
F<libasan.so.N> (the versioned name is in its dynamic section; corrald
itself only knows the unversioned prefix).  Modules loaded into it must
be built the same way (their build signature says so).

=cut

sub asan_build
{
	my ($build) = @_;
	return slurp_file("$build/bin/corrald") =~ /libasan\.so\.\d/ ? 1 : 0;
}

=item exit_code_of($wait_status)

Turns a C<$?>-style status into an exit code; a process killed by signal N
gives C<128 + N>, as a shell would say.

=cut

sub exit_code_of
{
	my ($st) = @_;
	return undef unless defined $st;
	return 128 + WTERMSIG($st) if WIFSIGNALED($st);
	return WEXITSTATUS($st);
}

=item run_command(\@argv, %opts)

Runs a program (no shell) with stdin from F</dev/null> (or the string
C<< stdin => TEXT >>), waits at most C<< timeout => SECONDS >> (default
C<timeout_default()>; then the program is killed and the exit code is 124,
as timeout(1) says), and returns C<($exit_code, $stdout, $stderr)>.
C<< env => { NAME => VALUE } >> adds environment variables.

=cut

my $run_seq = 0;
sub run_command
{
	my ($argv, %opts) = @_;
	my $timeout = $opts{timeout} // timeout_default();
	my $dir = tmp_check_dir() . "/cmd";
	make_path($dir) unless -d $dir;
	$run_seq++;
	my $base = "$dir/$$.$run_seq";
	my ($in, $out, $err) = ("$base.in", "$base.out", "$base.err");
	write_file($in, $opts{stdin} // '');

	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', $in) or POSIX::_exit(126);
		open(STDOUT, '>', $out) or POSIX::_exit(126);
		open(STDERR, '>', $err) or POSIX::_exit(126);
		$ENV{$_} = $opts{env}{$_} for keys %{ $opts{env} // {} };
		{ no warnings 'exec'; exec { $argv->[0] } @$argv; }
		print STDERR "exec $argv->[0]: $!\n";
		POSIX::_exit(127);
	}
	my $deadline = time() + $timeout;
	my $status;
	while (1)
	{
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) { $status = $?; last; }
		if (time() > $deadline)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
			$status = 124 << 8;
			last;
		}
		usleep(10_000);
	}
	my @res = (exit_code_of($status), slurp_file($out), slurp_file($err));
	unlink $in, $out, $err;
	return @res;
}

=item wait_until(\&cond, $seconds)

Calls C<cond> every 20 ms until it returns true (returns that value) or
C<$seconds> (default C<timeout_default()>) have passed (returns false).

=cut

sub wait_until
{
	my ($cond, $seconds) = @_;
	my $deadline = time() + ($seconds // timeout_default());
	while (1)
	{
		my $v = $cond->();
		return $v if $v;
		return 0 if time() > $deadline;
		usleep(20_000);
	}
}

=item allocate_port($host)

Returns a TCP port on C<$host> that nothing listened on a moment ago:
binds C<$host:0>, lets the kernel pick, closes.  A lock file in
F<tmp_check/ports/> keeps two tests that run in parallel (C<prove -j>)
from getting the same port; the lock is released by C<release_port()> or when
the test exits.  The port can still be taken by someone else before the
server binds it: L<Corral::Test::Cluster/start> retries on EADDRINUSE.

=cut

my %my_ports;    # "host:port" -> lock file
sub allocate_port
{
	my ($host) = @_;
	$host //= '127.0.0.1';
	my $lockdir = tmp_check_dir() . '/ports';
	make_path($lockdir) unless -d $lockdir;
	for my $try (1 .. 200)
	{
		my $s = IO::Socket::INET->new(
			LocalAddr => $host,
			LocalPort => 0,
			Proto     => 'tcp',
			Listen    => 1,
			ReuseAddr => 1) or croak "cannot bind $host:0: $!";
		my $port = $s->sockport;
		close $s;
		next if $my_ports{"$host:$port"};
		my $lock = "$lockdir/$host-$port";
		my $fh;
		if (!sysopen($fh, $lock, O_CREAT | O_EXCL | O_WRONLY))
		{
			next unless $! == EEXIST;
			# A stale lock of a test that is gone may be taken over.
			my $owner = slurp_file($lock);
			next if $owner =~ /^(\d+)/ && kill(0, $1);
			unlink $lock;
			next;
		}
		print $fh "$$\n";
		close $fh;
		$my_ports{"$host:$port"} = $lock;
		return $port;
	}
	croak "could not find a free port on $host";
}

=item release_port($host, $port)

Gives a port from C<allocate_port()> back.

=cut

sub release_port
{
	my ($host, $port) = @_;
	my $lock = delete $my_ports{"$host:$port"};
	unlink $lock if $lock;
	return;
}

END
{
	if ($$ == $ORIG_PID)
	{
		unlink $_ for values %my_ports;
		%my_ports = ();
	}
}

=item ordered(KEY => VALUE, ...)

A map whose keys C<yaml_dump()> writes in the given order (for example
C<modules>, which are loaded in file order).

=cut

sub ordered
{
	croak "ordered() needs KEY => VALUE pairs" if @_ % 2;
	return bless [@_], 'Corral::Test::Ordered';
}

=item yaml_quote($scalar)

The scalar as a YAML plain scalar when that is safe, else double-quoted.

=cut

sub yaml_quote
{
	my ($v) = @_;
	return '~' unless defined $v;
	return $v if $v =~ m{^[A-Za-z0-9_./\-][A-Za-z0-9_./:\-]*$} && $v !~ m{:$};
	my $q = $v;
	$q =~ s/\\/\\\\/g;
	$q =~ s/"/\\"/g;
	$q =~ s/\n/\\n/g;
	$q =~ s/\t/\\t/g;
	$q =~ s/([\x00-\x1f])/sprintf('\\x%02x', ord $1)/ge;
	return qq{"$q"};
}

=item yaml_dump($data)

Block-style YAML for nested hashes, arrays, C<ordered()> maps and scalars.
Hash keys come in a fixed order: the top-level and C<server> keys in the
order of doc/configuration.md, anything else sorted.  Scalars are written
as they are (C<'true'> is a YAML boolean, C<'2000'> an integer); C<undef>
is C<~>.

=cut

my @KEY_ORDER = qw(server ensemble module_path modules
  id data_dir client_listen tick_ms min_session_timeout_ms
  max_session_timeout_ms max_client_connections max_request_bytes
  max_sessions extended_types read_only log_level init_limit sync_limit
  peer election role);
my %KEY_RANK = map { $KEY_ORDER[$_] => $_ } 0 .. $#KEY_ORDER;

sub _pairs
{
	my ($d) = @_;
	return @$d if ref $d eq 'Corral::Test::Ordered';
	my @k = sort {
		($KEY_RANK{$a} // 1e6) <=> ($KEY_RANK{$b} // 1e6) or $a cmp $b
	} keys %$d;
	return map { ($_, $d->{$_}) } @k;
}

sub _is_map { my $r = ref $_[0]; return $r eq 'HASH' || $r eq 'Corral::Test::Ordered'; }

sub _dump
{
	my ($d, $ind) = @_;
	my $pad = ' ' x $ind;
	my $out = '';
	if (_is_map($d))
	{
		my @p = _pairs($d);
		while (my ($k, $v) = splice(@p, 0, 2))
		{
			$out .= $pad . yaml_quote($k) . ':';
			if (_is_map($v) && (_pairs($v)) > 0)
			{
				$out .= "\n" . _dump($v, $ind + 2);
			}
			elsif (ref $v eq 'ARRAY' && @$v)
			{
				$out .= "\n" . _dump($v, $ind + 2);
			}
			else
			{
				$out .= ' ' . _inline($v) . "\n";
			}
		}
	}
	elsif (ref $d eq 'ARRAY')
	{
		for my $v (@$d)
		{
			if (_is_map($v) && (_pairs($v)) > 0)
			{
				my $sub = _dump($v, $ind + 2);
				substr($sub, $ind, 1) = '-';    # "  key:" -> "- key:" on the first line
				$out .= $sub;
			}
			elsif (ref $v eq 'ARRAY' && @$v)
			{
				$out .= "$pad-\n" . _dump($v, $ind + 2);
			}
			else
			{
				$out .= "$pad- " . _inline($v) . "\n";
			}
		}
	}
	else
	{
		$out .= $pad . _inline($d) . "\n";
	}
	return $out;
}

sub _inline
{
	my ($v) = @_;
	return '{}' if _is_map($v);
	return '[]' if ref $v eq 'ARRAY';
	croak "yaml_dump: cannot write a " . ref($v) if ref $v;
	return yaml_quote($v);
}

sub yaml_dump
{
	my ($d) = @_;
	return _dump($d, 0);
}

=back

=cut

=head2 Processes and directories a test leaves behind

C<track_pid($pid, $what)> registers a process that must not outlive the
test (a server, a client, a proxy); C<untrack_pid($pid)> once it has been
reaped.  C<register_tmpdir($dir)> registers a directory to remove when the
test passes (it is kept, and named, when it fails or with
C<CORRAL_KEEP_TMP>).  One END block does both for every module of the
harness (L<Corral::Test::Cluster>, L<Corral::Test::Ensemble>,
L<Corral::Test::ZooKeeper>), after their own END blocks have stopped their
servers cleanly.

=cut

our %LIVE_PIDS;    # pid -> what it is
our @TMPDIRS;

# Starts @$argv in $dir with stdin from /dev/null and stdout and stderr
# appended to $logfile (and %$env added to the environment); registers it
# with track_pid as $what.  Returns the pid.
sub spawn_logged
{
	my ($dir, $logfile, $argv, $env, $what) = @_;
	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		chdir $dir or POSIX::_exit(126);
		open(STDIN, '<', '/dev/null') or POSIX::_exit(126);
		open(STDOUT, '>>', $logfile) or POSIX::_exit(126);
		open(STDERR, '>>&', \*STDOUT) or POSIX::_exit(126);
		$ENV{$_} = $env->{$_} for keys %{ $env // {} };
		{ no warnings 'exec'; exec { $argv->[0] } @$argv; }
		print STDERR "exec $argv->[0]: $!\n";
		POSIX::_exit(127);
	}
	track_pid($pid, $what);
	return $pid;
}

sub track_pid       { my ($pid, $what) = @_; $LIVE_PIDS{$pid} = $what // 'process'; return; }
sub untrack_pid     { delete $LIVE_PIDS{ $_[0] }; return; }
sub register_tmpdir { push @TMPDIRS, $_[0]; return; }

END
{
	my $exit = $?;
	if ($$ == $ORIG_PID)
	{
		for my $pid (keys %LIVE_PIDS)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
		}
		%LIVE_PIDS = ();
		require Test::Builder;
		my $tb = Test::Builder->new;
		my $passed = $exit == 0 && $tb->is_passing;
		if ($passed && !$ENV{CORRAL_KEEP_TMP})
		{
			require File::Path;
			File::Path::rmtree($_) for grep { -d } @TMPDIRS;
		}
		elsif (@TMPDIRS)
		{
			$tb->diag("kept the test directories: @TMPDIRS") unless $passed;
		}
	}
	$? = $exit;
}

1;
