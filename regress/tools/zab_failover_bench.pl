#!/usr/bin/perl
# regress/tools/zab_failover_bench.pl: how long an ensemble cannot take
# writes after a fault of its leader, measured by clients.
#
#   CORRAL_BUILD=$PWD/build perl -I regress/perl regress/tools/zab_failover_bench.pl \
#       [--fault kill|stop|partition] [--rounds N] [--members N]
#       [--tick MS] [--sync-limit N] [--peer-timeout MS] [--zookeeper]
#
# Starts MEMBERS (default 3) members (storage_file; tick 100 ms unless
# --tick), one kazoo writer per member, each connected to that member only
# and writing without pause, then ROUNDS times (default 10): hurts the
# leader (kill: kill -9, then restart it; stop: SIGSTOP, then SIGCONT;
# partition: every link of the leader cut at the fault-injection proxy,
# then healed), waits for the ensemble to settle again, and reports for
# each round:
#   - next write: from the fault to the first acknowledged write that a
#     writer on another member started after the fault (what the issue
#     calls "writes resume");
#   - new leader: from the fault until srvr shows another leader (polling).
# With --zookeeper the same runs against a 3-member Apache ZooKeeper 3.8
# ensemble (the Debian package; QuorumPeerMain, tickTime/syncLimit from
# --tick/--sync-limit, initLimit 10); kill and stop only (no proxy).
# Timing is reported, never asserted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use Getopt::Long;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::ZooKeeper;
use IO::Select;
use Corral::Test::Utils qw(allocate_port slurp_file write_file wait_until);

my %o = (fault => 'kill', rounds => 10, members => 3, tick => 100, 'sync-limit' => 5);
GetOptions(\%o, 'fault=s', 'rounds=i', 'members=i', 'tick=i', 'sync-limit=i', 'peer-timeout=i', 'zookeeper')
  or die "usage: see the header of $0\n";
die "--fault must be kill, stop or partition\n" unless $o{fault} =~ /^(kill|stop|partition)$/;
die "--zookeeper: kill or stop only\n" if $o{zookeeper} && $o{fault} eq 'partition';

my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=15,
                connection_retry=KazooRetry(max_tries=-1, delay=0.01, max_delay=0.05))
c.start(timeout=60)
me = sys.argv[2]
c.ensure_path('/bench/' + me)
end = time.time() + float(sys.argv[1])
i = 0
while time.time() < end:
    i += 1
    t0 = time.time()
    try:
        c.create('/bench/%s/n%08d' % (me, i), b'')
        print('%.4f %.4f' % (t0, time.time()))
    except Exception:
        time.sleep(0.005)
c.stop()
PY

my $ens = $o{zookeeper} ? ZkEnsemble->new(%o) : CorralEnsemble->new(%o);
$ens->start;
my @members = $ens->members;
my $secs = 5 + $o{rounds} * (6 + 2 * $o{tick} * $o{'sync-limit'} / 1000);
my %w = map { ($_ => $ens->kazoo_bg($writer, hosts => $ens->address($_), args => [ $secs, "m$_" ])) } @members;
sleep 4;
my @rounds;
for my $r (1 .. $o{rounds})
{
	my $l = $ens->leader or do { sleep 1; next };
	# The fault is complete when fault() returns (the proxy cuts the links
	# one command at a time): count from then.
	$ens->fault($o{fault}, $l);
	my $t0 = time;
	my $t1;
	wait_until(sub { my $x = $ens->leader(exclude => $l); $t1 = time if defined $x; defined $x }, 30);
	push @rounds, { t0 => $t0, victim => $l, leader_ms => defined $t1 ? ($t1 - $t0) * 1000 : undef };
	sleep 1 + $o{tick} * $o{'sync-limit'} / 1000;
	$ens->heal($o{fault}, $l);
	$ens->settle;
	sleep 2;
}
my %acks;
for my $m (@members)
{
	my ($rc, $out) = $ens->kazoo_wait($w{$m}, $secs + 120);
	$acks{$m} = [ map { [ split / / ] } split /\n/, $out ];
}
printf "%s, fault %s, %d members, tick %d ms, sync_limit %d%s; writes acknowledged: %s\n",
  $o{zookeeper} ? 'ZooKeeper 3.8' : 'Corral', $o{fault}, $o{members}, $o{tick}, $o{'sync-limit'},
  $o{'peer-timeout'} ? ", peer_timeout_ms $o{'peer-timeout'}" : '',
  join(' ', map { "m$_=" . scalar @{ $acks{$_} } } @members);
my (@next, @newl);
for my $rd (@rounds)
{
	my $t0 = $rd->{t0};
	my $first;
	for my $m (grep { $_ != $rd->{victim} } @members)
	{
		for my $a (@{ $acks{$m} })
		{
			next unless $a->[0] > $t0;
			$first = $a->[1] if !defined $first || $a->[1] < $first;
			last;
		}
	}
	my $nw = defined $first ? ($first - $t0) * 1000 : undef;
	push @next, $nw if defined $nw;
	push @newl, $rd->{leader_ms} if defined $rd->{leader_ms};
	printf "fault on %d at %.3f: next acknowledged write %s ms, new leader (srvr polling) %s ms\n", $rd->{victim}, $t0,
	  defined $nw ? sprintf('%5.0f', $nw) : 'none', defined $rd->{leader_ms} ? sprintf('%5.0f', $rd->{leader_ms}) : 'none';
}
sub med { my @s = sort { $a <=> $b } @_; return @s ? $s[ $#s / 2 ] : 0; }
sub max { my @s = sort { $b <=> $a } @_; return @s ? $s[0] : 0; }
printf "SUMMARY rounds=%d next write median %.0f ms max %.0f ms; new leader median %.0f ms max %.0f ms\n",
  scalar @next, med(@next), max(@next), med(@newl), max(@newl);
$ens->stop_all;

# ---- Corral ---------------------------------------------------------------
package CorralEnsemble;

sub new
{
	my ($class, %o) = @_;
	my $e = Corral::Test::Ensemble->new('bench', n => $o{members}, proxy => $o{fault} eq 'partition');
	$e->init(server => { tick_ms => $o{tick}, sync_limit => $o{'sync-limit'},
		($o{'peer-timeout'} ? (peer_timeout_ms => $o{'peer-timeout'}) : ()) });
	return bless { e => $e, o => \%o }, $class;
}
sub start    { $_[0]{e}->start or die "no leader\n"; }
sub members  { return map { $_->{zab_id} } $_[0]{e}->nodes; }
sub address  { return $_[0]{e}->node($_[1])->address; }
sub kazoo_bg { my $s = shift; return $s->{e}->kazoo_bg(@_); }
sub kazoo_wait { my $s = shift; return $s->{e}->kazoo_wait(@_); }
sub stop_all { $_[0]{e}->stop_all; }

sub leader
{
	my ($self, %x) = @_;
	my $ex = $x{exclude};
	for my $n ($self->{e}->nodes)
	{
		next if defined $ex && $n->{zab_id} == $ex;
		return $n->{zab_id} if $self->{e}->mode($n) eq 'leader';
	}
	return undef;
}

sub fault
{
	my ($self, $f, $id) = @_;
	my $n = $self->{e}->node($id);
	if    ($f eq 'kill') { $n->kill9; }
	elsif ($f eq 'stop') { $n->signal('STOP'); }
	else                 { $self->{e}->isolate($id); }
}

sub heal
{
	my ($self, $f, $id) = @_;
	my $n = $self->{e}->node($id);
	if    ($f eq 'kill') { $n->start; }
	elsif ($f eq 'stop') { $n->signal('CONT'); }
	else                 { $self->{e}->heal; }
}

sub settle { $_[0]{e}->wait_for_leader(timeout => 30); }

# ---- Apache ZooKeeper 3.8 ---------------------------------------------------
package ZkEnsemble;

use Corral::Test::Utils qw(allocate_port write_file slurp_file wait_until tmp_check_dir);
use File::Path qw(make_path rmtree);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);

sub new
{
	my ($class, %o) = @_;
	die "ZooKeeper is not installed\n" unless Corral::Test::ZooKeeper->available;
	my $dir = tmp_check_dir() . "/zk_failover_bench.$$";
	rmtree($dir);
	my @m;
	for my $i (1 .. $o{members})
	{
		my $host = "127.0.0." . (40 + $i);
		push @m, { id => $i, host => $host, client => allocate_port($host), peer => allocate_port($host),
			election => allocate_port($host), dir => "$dir/zk$i" };
	}
	for my $m (@m)
	{
		make_path("$m->{dir}/data");
		write_file("$m->{dir}/data/myid", "$m->{id}\n");
		my $cfg = "tickTime=$o{tick}\ninitLimit=10\nsyncLimit=$o{'sync-limit'}\ndataDir=$m->{dir}/data\n"
		  . "clientPort=$m->{client}\nclientPortAddress=$m->{host}\n4lw.commands.whitelist=*\n"
		  . "admin.enableServer=false\nmaxClientCnxns=0\n"
		  . join('', map { "server.$_->{id}=$_->{host}:$_->{peer}:$_->{election}\n" } @m);
		write_file("$m->{dir}/zoo.cfg", $cfg);
	}
	return bless { m => \@m, o => \%o, dir => $dir, seq => 0 }, $class;
}

sub spawn
{
	my ($self, $m) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', "$m->{dir}/zk.log");
		open(STDERR, '>&', \*STDOUT);
		exec($Corral::Test::ZooKeeper::JAVA, '-Xmx512m', '-XX:+UseSerialGC',
			'-Dzookeeper.admin.enableServer=false', '-cp', join(':', @Corral::Test::ZooKeeper::CLASSPATH),
			'org.apache.zookeeper.server.quorum.QuorumPeerMain', "$m->{dir}/zoo.cfg")
		  or POSIX::_exit(127);
	}
	$m->{pid} = $pid;
	$Corral::Test::Utils::LIVE_PIDS{$pid} = 'zookeeper';
}

sub fourlw
{
	my ($self, $m, $cmd) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $m->{host}, PeerPort => $m->{client}, Timeout => 1) or return '';
	print $s $cmd;
	local $/;
	my $t = '';
	my $sel = IO::Select->new($s);
	while ($sel->can_read(1)) { my $n = sysread($s, my $buf, 65536); last unless $n; $t .= $buf; }
	return $t;
}

sub mode
{
	my ($self, $m) = @_;
	return 'stopped' if $m->{stopped};
	my $t = $self->fourlw($m, 'srvr');
	return $t =~ /^Mode: (\w+)/m ? $1 : 'looking';
}

sub start
{
	my ($self) = @_;
	$self->spawn($_) for @{ $self->{m} };
	$self->settle or die "ZooKeeper ensemble did not form\n";
}

sub settle
{
	my ($self) = @_;
	return wait_until(
		sub {
			my @x = map { $self->mode($_) } @{ $self->{m} };
			(grep { $_ eq 'leader' } @x) == 1 && !grep { $_ !~ /^(leader|follower)$/ } @x;
		},
		90);
}

sub members { return map { $_->{id} } @{ $_[0]{m} }; }
sub address { my $m = $_[0]{m}[ $_[1] - 1 ]; return "$m->{host}:$m->{client}"; }

sub leader
{
	my ($self, %x) = @_;
	for my $m (@{ $self->{m} })
	{
		next if defined $x{exclude} && $m->{id} == $x{exclude};
		return $m->{id} if $self->mode($m) eq 'leader';
	}
	return undef;
}

sub fault
{
	my ($self, $f, $id) = @_;
	my $m = $self->{m}[ $id - 1 ];
	if ($f eq 'kill') { kill 'KILL', $m->{pid}; waitpid($m->{pid}, 0); $m->{stopped} = 1; }
	else              { kill 'STOP', $m->{pid}; $m->{stopped} = 1; }
}

sub heal
{
	my ($self, $f, $id) = @_;
	my $m = $self->{m}[ $id - 1 ];
	$m->{stopped} = 0;
	if ($f eq 'kill') { $self->spawn($m); }
	else              { kill 'CONT', $m->{pid}; }
}

sub kazoo_bg
{
	my ($self, $code, %opts) = @_;
	$self->{seq}++;
	my $f = "$self->{dir}/client_$self->{seq}.py";
	write_file($f, $code);
	my $h = { out => "$f.out", err => "$f.err" };
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', $h->{out});
		open(STDERR, '>', $h->{err});
		$ENV{HOSTS} = $opts{hosts};
		$ENV{PYTHONUNBUFFERED} = 1;
		exec(Corral::Test::ZooKeeper::python3(), $f, @{ $opts{args} // [] }) or POSIX::_exit(127);
	}
	$h->{pid} = $pid;
	$Corral::Test::Utils::LIVE_PIDS{$pid} = 'python';
	return $h;
}

sub kazoo_wait
{
	my ($self, $h, $secs) = @_;
	wait_until(sub { waitpid($h->{pid}, WNOHANG) == $h->{pid} }, $secs) or do { kill 'KILL', $h->{pid}; waitpid($h->{pid}, 0) };
	delete $Corral::Test::Utils::LIVE_PIDS{ $h->{pid} };
	return (0, slurp_file($h->{out}), slurp_file($h->{err}));
}

sub stop_all
{
	my ($self) = @_;
	for my $m (@{ $self->{m} })
	{
		next unless $m->{pid};
		kill 'CONT', $m->{pid};
		kill 'KILL', $m->{pid};
		waitpid($m->{pid}, 0);
		delete $Corral::Test::Utils::LIVE_PIDS{ $m->{pid} };
	}
	rmtree($self->{dir});
}
