=pod

=head1 NAME

Corral::Test::Ensemble - run a ZAB ensemble of corrald servers from TAP tests

=head1 SYNOPSIS

  use Test::More;
  use Corral::Test::Ensemble;

  my $e = Corral::Test::Ensemble->new('ens', n => 3, observers => 1, proxy => 1);
  $e->init(server => { tick_ms => 100 });
  $e->start;                                   # all members, then waits for a leader
  my $leader = $e->leader;                     # a Corral::Test::Cluster node
  my ($rc, $out, $err) = $e->kazoo($python_code, hosts => $e->hosts($leader));
  $e->isolate($leader->{zab_id});             # cut it off (proxy)
  $e->heal;
  ok($e->wait_converged, 'every member has the same tree');

=head1 DESCRIPTION

Builds on L<Corral::Test::Cluster>: member I (1, 2, ...) is a node on
C<127.0.0.1I> (so 127.0.0.11, .12, ...), with a client port, a peer port
and an election port allocated on that address.  Every member binds its
listeners and the source of its outgoing connections to its own address.

With C<< proxy => 1 >> a fault-injection proxy (F<regress/tools/tcpproxy.pl>)
sits on every peer and election link: each member's configuration lists the
OTHER members at proxy ports (on their addresses), and its own entry at its
real ports.  The proxy knows the source of a connection by its address, so
C<block>, C<isolate> and C<heal> cut or restore single links, both ways, as
a black hole (a partition, not a reset).

Storage: C<< storage => 'storage_file' >> (default), C<'storage_memory'> or
C<undef> (none).

Every process is killed when the test ends (Cluster's END block), and every
wait is bounded (C<CORRAL_TEST_TIMEOUT>).

=head1 METHODS

=over

=cut

package Corral::Test::Ensemble;

use strict;
use warnings;

use Carp;
use POSIX qw(:sys_wait_h);
use IO::Select;
use IO::Socket::INET;
use Test::Builder;
use Time::HiRes qw(time usleep);

use Corral::Test::Cluster;
use Corral::Test::Utils qw(timeout_default write_file slurp_file wait_until repo_root run_command);

my $tb = Test::Builder->new;
our $PYTHON = '/usr/bin/python3';

=item Corral::Test::Ensemble->new($name, n => 3, observers => 0, proxy => 0)

Creates the members (nothing runs yet).  Ids are 1..n for the voting
members, then n+1.. for the observers.

=cut

sub new
{
	my ($class, $name, %o) = @_;
	my $n = $o{n} // 3;
	my $nobs = $o{observers} // 0;
	croak "at most 9 members" if $n + $nobs > 9;
	my $self = bless { name => $name, n => $n, nobs => $nobs, proxy => $o{proxy} // 0, nodes => [] }, $class;
	for my $i (1 .. $n + $nobs)
	{
		my $node = Corral::Test::Cluster->new("${name}$i", host => "127.0.0.1$i");
		$node->{zab_id} = $i;
		$node->{zab_observer} = $i > $n ? 1 : 0;
		$node->{peer_port} = $node->allocate_port;
		$node->{election_port} = $node->allocate_port;
		if ($self->{proxy})
		{
			$node->{proxy_peer_port} = $node->allocate_port;
			$node->{proxy_election_port} = $node->allocate_port;
		}
		push @{ $self->{nodes} }, $node;
	}
	return $self;
}

=item $e->nodes, $e->node($id), $e->voters, $e->observers

The members (L<Corral::Test::Cluster> nodes with C<< {zab_id} >>).

=cut

sub nodes     { return @{ $_[0]{nodes} }; }
sub node      { my ($s, $id) = @_; return $s->{nodes}[ $id - 1 ]; }
sub voters    { return grep { !$_->{zab_observer} } @{ $_[0]{nodes} }; }
sub observers { return grep { $_->{zab_observer} } @{ $_[0]{nodes} }; }

=item $e->init(server => {...}, server_for => { ID => {...} }, modules => {...}, modules_for => { ID => {...} }, extra => {...}, extra_for => { ID => {...} }, module_path => [...], storage => NAME, members => [IDS], members_for => { ID => [IDS] })

Writes every member's configuration (C<server_for>, C<modules_for>:
settings or modules of one member only; C<extra>, C<extra_for>: more
top-level keys, such as C<tls>, for every member or one; C<module_path>: where to find
modules, default the build's; C<members>: the ids of the initial
ensemble, the others join with reconfig and list it and themselves;
C<members_for>: the list of one member).  Server defaults: C<tick_ms: 100>,
C<init_limit: 10>, C<sync_limit: 5>, session timeouts 1..30 s.

=cut

sub init
{
	my ($self, %args) = @_;
	$self->{init_args} = {%args};
	my $storage = exists $args{storage} ? $args{storage} : 'storage_file';
	for my $node (@{ $self->{nodes} })
	{
		my @ens;
		for my $m (@{ $self->{nodes} })
		{
			# members => [ids]: the initial ensemble; a member not in it
			# (a joiner, for reconfig) lists it and itself.
			my $list = ($args{members_for} // {})->{ $node->{zab_id} } // $args{members};
			next if $list && $m != $node && !grep { $_ == $m->{zab_id} } @{$list};
			my $self_entry = $m == $node || !$self->{proxy};
			my $pp = $self_entry ? $m->{peer_port} : $m->{proxy_peer_port};
			my $ep = $self_entry ? $m->{election_port} : $m->{proxy_election_port};
			my %e = (id => $m->{zab_id}, peer => "$m->{host}:$pp", election => "$m->{host}:$ep");
			$e{role} = 'observer' if $m->{zab_observer};
			$e{client} = $m->address;
			push @ens, Corral::Test::Utils::ordered(map { ($_ => $e{$_}) } grep { exists $e{$_} } qw(id peer election role client));
		}
		my %server = (
			id                     => $node->{zab_id},
			tick_ms                => 100,
			init_limit             => 10,
			sync_limit             => 5,
			min_session_timeout_ms => 1000,
			max_session_timeout_ms => 30000,
			%{ $args{server} // {} },
			%{ ($args{server_for} // {})->{ $node->{zab_id} } // {} });
		my %modules = (%{ $args{modules} // {} }, %{ ($args{modules_for} // {})->{ $node->{zab_id} } // {} });
		$modules{$storage} //= {} if $storage;
		my %extra = (%{ $args{extra} // {} }, %{ ($args{extra_for} // {})->{ $node->{zab_id} } // {} });
		$node->init(
			server   => \%server,
			ensemble => \@ens,
			modules  => \%modules,
			(%extra ? (extra => \%extra) : ()),
			($args{module_path} ? (module_path => $args{module_path}) : ()));
	}
	return;
}

=item $e->start(%opts)

Starts the proxy (if any) and every member that is not running, then
waits for a leader (C<wait_for_leader>) unless C<< wait => 0 >>.

=cut

sub start
{
	my ($self, %opts) = @_;
	$self->_start_proxy if $self->{proxy} && !$self->{proxy_pid};
	for my $node (@{ $self->{nodes} })
	{
		$node->start unless $node->pid;
	}
	return 1 if defined $opts{wait} && !$opts{wait};
	return $self->wait_for_leader;
}

sub _start_proxy
{
	my ($self) = @_;
	my $ctl = Corral::Test::Utils::allocate_port('127.0.0.1');
	$self->{proxy_ctl} = $ctl;
	my @routes;
	for my $m (@{ $self->{nodes} })
	{
		push @routes, "$m->{host}:$m->{proxy_peer_port}=$m->{host}:$m->{peer_port}/$m->{zab_id}";
		push @routes, "$m->{host}:$m->{proxy_election_port}=$m->{host}:$m->{election_port}/$m->{zab_id}";
	}
	my $log = $self->{nodes}[0]->basedir . "/tcpproxy.log";
	pipe(my $r, my $w) or croak "pipe: $!";
	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		close $r;
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>&', $w);
		open(STDERR, '>>', $log);
		exec($^X, repo_root() . '/regress/tools/tcpproxy.pl', "127.0.0.1:$ctl", @routes) or POSIX::_exit(127);
	}
	close $w;
	$self->{proxy_pid} = $pid;
	$Corral::Test::Cluster::LIVE_PIDS{$pid} = 'tcpproxy';
	my $sel = IO::Select->new($r);
	my $line = '';
	$sel->can_read(timeout_default()) and sysread($r, $line, 64);
	croak "tcpproxy did not start: " . slurp_file($log) unless $line =~ /ready/;
	close $r;
	return;
}

=item $e->proxy($command)

Sends one command to the proxy (C<block SRC NAME>, C<unblock SRC NAME>,
C<heal>, C<status>); returns its answer.

=cut

sub proxy
{
	my ($self, $cmd) = @_;
	croak "no proxy" unless $self->{proxy_pid};
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{proxy_ctl}, Timeout => 5)
	  or croak "proxy control: $!";
	print $s "$cmd\n";
	my $answer = '';
	my $deadline = time + 10;
	while (time < $deadline)
	{
		my $l = <$s>;
		last unless defined $l;
		$answer .= $l;
		last if $l =~ /^(ok|error)/;
	}
	close $s;
	return $answer;
}

=item $e->block($a, $b), $e->unblock($a, $b), $e->isolate($id), $e->heal

Cut (or restore) the peer and election links between members $a and $b
(ids), both ways; C<isolate> cuts every link of one member.

=cut

sub block
{
	my ($self, $a, $b, $verb) = @_;
	$verb //= 'block';
	my ($na, $nb) = ($self->node($a), $self->node($b));
	$self->proxy("$verb $na->{host} $b");
	$self->proxy("$verb $nb->{host} $a");
	return;
}

sub unblock { my ($s, $a, $b) = @_; return $s->block($a, $b, 'unblock'); }

sub isolate
{
	my ($self, $id) = @_;
	$self->block($id, $_->{zab_id}) for grep { $_->{zab_id} != $id } @{ $self->{nodes} };
	return;
}

sub heal { my ($self) = @_; $self->proxy('heal'); return; }

=item $e->srvr($node), $e->mode($node), $e->mntr($node)

C<srvr> text; the mode it shows (C<leader>, C<follower>, C<observer>,
C<looking> when not serving, C<down> when nothing answers); C<mntr> as a
hash.

=cut

sub srvr { my ($self, $node) = @_; return $node->pid ? $node->fourlw('srvr', timeout => 3) : undef; }

sub mode
{
	my ($self, $node) = @_;
	return 'down' unless $node->pid;
	my $t = $node->fourlw('srvr', timeout => 3) // return 'down';
	return $1 if $t =~ /^Mode: ([\w-]+)/m;
	return 'looking';
}

sub mntr
{
	my ($self, $node) = @_;
	my $t = $node->pid ? $node->fourlw('mntr', timeout => 3) : undef;
	my %h;
	for (split /\n/, $t // '')
	{
		my ($k, $v) = split /\t/, $_, 2;
		$h{$k} = $v if defined $v;
	}
	return \%h;
}

=item $e->leader

The member that reports itself leader right now (or undef).

=cut

sub leader
{
	my ($self) = @_;
	my @l = grep { $self->mode($_) eq 'leader' } @{ $self->{nodes} };
	return @l == 1 ? $l[0] : undef;
}

=item $e->wait_for_leader(%opts)

Waits (bounded) until exactly one running member leads and every other
running member serves as follower or observer (C<< all => 0 >>: until a
leader and a quorum serve; C<< exclude => [ids] >>: ignore those members).
Returns the leader node, or undef after the timeout.

=cut

sub wait_for_leader
{
	my ($self, %opts) = @_;
	my %ex = map { ($_ => 1) } @{ $opts{exclude} // [] };
	my $all = $opts{all} // 1;
	my $leader;
	wait_until(
		sub {
			my @nodes = grep { $_->pid && !$ex{ $_->{zab_id} } } @{ $self->{nodes} };
			my %m = map { ($_->{zab_id} => $self->mode($_)) } @nodes;
			my @l = grep { $m{ $_->{zab_id} } eq 'leader' } @nodes;
			return 0 unless @l == 1;
			my $serving = grep { $m{ $_->{zab_id} } =~ /^(leader|follower)$/ } @nodes;
			my $ok = $all
			  ? !grep { my $x = $m{ $_->{zab_id} }; $_->{zab_observer} ? $x ne 'observer' : $x !~ /^(leader|follower)$/ }
			  @nodes
			  : $serving >= int($self->{n} / 2) + 1;
			$leader = $l[0] if $ok;
			return $ok;
		},
		$opts{timeout});
	return $leader;
}

=item $e->state($node)

C<[applied zxid, tree digest]> from C<mntr> (undef when it does not answer).

=item $e->wait_converged(%opts)

Waits (bounded) until every running member (or C<< nodes => [...] >>)
serves and reports the same applied zxid and tree digest.  True when they
do.

=cut

sub state
{
	my ($self, $node) = @_;
	my $m = $self->mntr($node);
	return undef unless defined $m->{zk_tree_digest} && defined $m->{zk_zab_applied_zxid};
	return [ $m->{zk_zab_applied_zxid}, $m->{zk_tree_digest}, $m->{zk_server_state} ];
}

sub wait_converged
{
	my ($self, %opts) = @_;
	my @nodes = @{ $opts{nodes} // [ grep { $_->pid } @{ $self->{nodes} } ] };
	return wait_until(
		sub {
			my @s = map { $self->state($_) } @nodes;
			return 0 if grep { !defined $_ || $_->[2] !~ /^(leader|follower|observer)$/ } @s;
			my %z = map { ("$_->[0] $_->[1]" => 1) } @s;
			return keys %z == 1;
		},
		$opts{timeout});
}

=item $e->hosts(@nodes)

The client connect string of the nodes (default: every member).

=cut

sub hosts
{
	my ($self, @nodes) = @_;
	@nodes = @{ $self->{nodes} } unless @nodes;
	return join(',', map { $_->address } @nodes);
}

=item $e->kazoo($code, %opts), $e->kazoo_bg($code, %opts), $e->kazoo_wait($handle, $seconds)

Runs Python code (kazoo available) with C<HOSTS> in the environment
(C<< hosts => STRING >>, default every member) and C<sys.argv[1:]> from
C<< args => [...] >>.  C<kazoo> waits (bounded by C<< timeout >>) and returns
C<($exit_code, $stdout, $stderr)>; C<kazoo_bg> returns a handle at once and
C<kazoo_wait> collects it the same way.

=cut

sub _script
{
	my ($self, $code) = @_;
	$self->{seq}++;
	my $f = $self->{nodes}[0]->basedir . "/client_$self->{seq}.py";
	write_file($f, $code);
	return $f;
}

sub kazoo
{
	my ($self, $code, %opts) = @_;
	my $f = $self->_script($code);
	return run_command([ $PYTHON, $f, @{ $opts{args} // [] } ],
		timeout => $opts{timeout} // 120,
		env     => { HOSTS => $opts{hosts} // $self->hosts, PYTHONUNBUFFERED => 1 });
}

sub kazoo_bg
{
	my ($self, $code, %opts) = @_;
	my $f = $self->_script($code);
	my $h = { out => "$f.out", err => "$f.err" };
	my $pid = fork();
	croak "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', $h->{out});
		open(STDERR, '>', $h->{err});
		$ENV{HOSTS} = $opts{hosts} // $self->hosts;
		$ENV{PYTHONUNBUFFERED} = 1;
		exec($PYTHON, $f, @{ $opts{args} // [] }) or POSIX::_exit(127);
	}
	$h->{pid} = $pid;
	$Corral::Test::Cluster::LIVE_PIDS{$pid} = 'python';
	return $h;
}

sub kazoo_wait
{
	my ($self, $h, $seconds) = @_;
	my $done = wait_until(sub { waitpid($h->{pid}, WNOHANG) == $h->{pid} }, $seconds // 120);
	my $code;
	if ($done) { $code = Corral::Test::Utils::exit_code_of($?); }
	else
	{
		kill 'KILL', $h->{pid};
		waitpid($h->{pid}, 0);
		$code = 124;
	}
	delete $Corral::Test::Cluster::LIVE_PIDS{ $h->{pid} };
	return ($code, slurp_file($h->{out}), slurp_file($h->{err}));
}

=item $e->stop_all

Stops every member (SIGTERM, bounded) and the proxy.

=cut

sub stop_all
{
	my ($self) = @_;
	$_->stop for grep { $_->pid } @{ $self->{nodes} };
	if (my $pid = delete $self->{proxy_pid})
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
		delete $Corral::Test::Cluster::LIVE_PIDS{$pid};
	}
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($?, $!, $@);
	if (my $pid = $self->{proxy_pid})
	{
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
}

=back

=cut

1;
