# regress/t/582_reconfig_roles_crash.t:
#  - an observer becomes a participant and back (reconfig with the same id
#    and the other role), under a writer: it reconnects in its new role,
#    counts while it is a participant, and every acknowledged write is on
#    every member;
#  - the leader killed in the middle of a reconfig (its followers stopped
#    so that the proposal cannot commit, then the leader killed -9, then
#    the followers resumed and the old leader restarted): afterwards every
#    member has the same configuration, either with the change or without
#    it, and runs with it.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until write_file slurp_file);

my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

my $e = Corral::Test::Ensemble->new('rr', n => 3, observers => 1);
$e->init(
	server  => { reconfig_enabled => 'true', peer_timeout_ms => 3000 },
	modules => { auth_digest      => { super_digest => $SUPER } });
ok($e->start, 'leader, 2 followers and an observer');
my $o = $e->node(4);

my $reconfig = <<'PY';
import sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=sys.argv[1], timeout=15, auth_data=[('digest', 'super:test')]); c.start(timeout=30)
for attempt in range(50):
    try:
        data, st = c.reconfig(joining=sys.argv[2], leaving=None, new_members=None)
        print('OK'); print(data.decode()); break
    except (ConnectionLoss, NewConfigNoQuorumError, ReconfigInProcessError) as ex:
        time.sleep(0.2)
    except Exception as ex:
        print('FAIL', type(ex).__name__); break
PY
my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/w')
i = 0
while not os.path.exists(sys.argv[1]):
    try:
        c.create('/w/n-%06d' % i, b'x'); print('ACK /w/n-%06d' % i, flush=True); i += 1
    except NodeExistsError:
        i += 1
    except Exception:
        time.sleep(0.05)
PY
sub spec
{
	my ($n, $role) = @_;
	return "server.$n->{zab_id}=$n->{host}:$n->{peer_port}:$n->{election_port}:$role;" . $n->address;
}
sub quorum_size { my $m = $e->mntr($_[0]); return $m ? $m->{zk_quorum_size} // -1 : -1; }

my $stop = $e->node(1)->basedir . '/stop-writer';
my $w = $e->kazoo_bg($writer, args => [$stop], hosts => $e->hosts($e->node(1), $e->node(2), $e->node(3)));

my ($rc, $out, $err) = $e->kazoo($reconfig, args => [ $e->node(1)->address, spec($o, 'participant') ]);
like($out, qr/^OK$/m, 'reconfig makes the observer a participant') or diag($out, $err);
ok(wait_until(sub { $e->mode($o) eq 'follower' }, 20), 'member 4 reconnects as a follower');
ok(wait_until(sub { !grep { quorum_size($_) != 4 } $e->nodes }, 20), 'every member runs with 4 participants');

# It counts: with two of the three others down, no quorum (2 of 4);
# with one down, 3 of 4 (4 included) take writes.
my ($down) = grep { $e->mode($_) eq 'follower' && $_ != $o } $e->nodes;
$down->stop;
my $l = $e->wait_for_leader(exclude => [ $down->{zab_id} ], all => 0);
ok($l, "member $down->{zab_id} down: a leader with member 4 counted");
$down->start;
ok($e->wait_for_leader(all => 0), 'back');

($rc, $out, $err) = $e->kazoo($reconfig, args => [ $e->node(1)->address, spec($o, 'observer') ]);
like($out, qr/^OK$/m, 'reconfig makes it an observer again') or diag($out, $err);
ok(wait_until(sub { $e->mode($o) eq 'observer' }, 20), 'member 4 reconnects as an observer');
ok(wait_until(sub { !grep { quorum_size($_) != 3 } $e->nodes }, 20), 'every member runs with 3 participants');

write_file($stop, '');
my ($code, $wout, $werr) = $e->kazoo_wait($w, 60);
is($code, 0, 'writer finished') or diag($werr);
my %acked;
$acked{$1} = 1 while $wout =~ /^ACK (\S+)$/mg;
cmp_ok(scalar(keys %acked), '>', 10, 'writes acknowledged meanwhile (' . scalar(keys %acked) . ')');
ok($e->wait_converged, 'converged');
my $ls = <<'PY';
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
c.sync('/')
for ch in c.get_children('/w'): print('/w/' + ch)
print('CONFIG ' + c.get('/zookeeper/config')[0].decode().replace('\n', '|'))
PY
for my $n ($e->nodes)
{
	($rc, $out, $err) = $e->kazoo($ls, args => [ $n->address ]);
	my %have = map { ($_ => 1) } grep { m{^/w/} } split /\n/, $out // '';
	is(scalar(grep { !$have{$_} } keys %acked), 0, "member $n->{zab_id} has every acknowledged write");
}

# The leader killed in the middle of a reconfig.
my $leader = $e->leader;
my @f = grep { $e->mode($_) eq 'follower' } $e->nodes;
is(scalar(@f), 2, 'two followers');
my $go = $e->node(1)->basedir . '/go';
my $bg = $e->kazoo_bg(<<'PY', args => [ $leader->address, $go ]);
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=30, auth_data=[('digest', 'super:test')]); c.start(timeout=30)
print('READY', flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.01)
try:
    c.reconfig(joining='server.9=127.0.0.1:1:2:observer;127.0.0.1:3', leaving=None, new_members=None)
    print('ANSWERED', flush=True)
except Exception as ex:
    print('ERROR', type(ex).__name__, flush=True)
PY
ok(wait_until(sub { -s $bg->{out} }, 30), 'reconfig client connected to the leader');
sub proposals { my $t = slurp_file($leader->logfile); return scalar(() = $t =~ /ensemble configuration version [0-9a-f]+ proposed/g); }
my $before = proposals();
kill 'STOP', $_->pid for @f;
write_file($go, '');
ok(wait_until(sub { proposals() > $before }, 10), 'the leader proposed the configuration (its followers are stopped)');
$leader->kill9;
# The client must not send its request again (kazoo would, on reconnecting).
kill 'KILL', $bg->{pid};
kill 'CONT', $_->pid for @f;
my $new = $e->wait_for_leader(exclude => [ $leader->{zab_id} ], all => 0);
ok($new, 'the followers elect a new leader');
$leader->start;
ok($e->wait_for_leader, 'the old leader rejoins');
ok($e->wait_converged, 'converged');
my %configs;
for my $n ($e->nodes)
{
	($rc, $out, $err) = $e->kazoo($ls, args => [ $n->address ]);
	my ($c) = ($out // '') =~ /^CONFIG (.*)$/m;
	$configs{ $c // 'none' }++;
	my $has9 = ($c // '') =~ /server\.9=/ ? 1 : 0;
	like($n->fourlw('conf'), $has9 ? qr/\nserver\.9=/ : qr/membership: \n(?!.*server\.9=)/s,
		"member $n->{zab_id} runs with the configuration it serves");
}
is(scalar(keys %configs), 1, 'every member has the same configuration (all or nothing)') or diag(join("\n", keys %configs));
diag('the proposal ' . ((keys %configs)[0] =~ /server\.9=/ ? 'survived' : 'was dropped'));
$e->kazoo_wait($bg, 5);
$e->stop_all;
done_testing();
