# regress/t/580_reconfig_kazoo.t: dynamic reconfiguration seen by clients.
#  - /zookeeper/config holds ZooKeeper's text (server.N=host:peer:election:
#    role;client lines, version=<hex>, the first leader's epoch << 32), the
#    same on every member, readable and watchable (kazoo 2.8 has no get_config: get);
#    conf ends with "membership: " and the configuration, mntr has
#    zk_quorum_size;
#  - kazoo's TestReconfig scenarios: add and remove an observer (the reply
#    carries the new configuration), a fromConfig in the future
#    (BadVersion), bad input (BadArguments), no super user (NoAuth);
#  - ReconfigInProgress is not reachable from one client; NewConfigNoQuorum
#    (a participant that is not running); fewer than 2 participants
#    (BadArguments); non-incremental newMembers;
#  - reconfig_enabled off (the default): ReconfigDisabled; a standalone
#    server: empty /zookeeper/config and ReconfigDisabled;
#  - a restart of every member keeps the configuration made by reconfig;
#    a joiner synchronised by SNAP afterwards gets it from the snapshot.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until run_command);

my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

my $e = Corral::Test::Ensemble->new('rk', n => 4);
$e->init(
	members => [ 1, 2, 3 ],    # 4 joins at the end
	server  => { reconfig_enabled => 'true' },
	modules => { auth_digest      => { super_digest => $SUPER } });
$e->node($_)->start for 1 .. 3;
my $leader = $e->wait_for_leader(exclude => [4]);
ok($leader, 'leader elected');
my @three = map { $e->node($_) } 1 .. 3;

sub expected_config
{
	my ($version, @extra) = @_;
	my @l = map {
		"server.$_->{zab_id}=$_->{host}:$_->{peer_port}:$_->{election_port}:participant;" . $_->address
	} @three;
	return join("\n", @l, @extra, "version=$version");
}

my $get = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
d, st = c.get('/zookeeper/config')
sys.stdout.write(d.decode() + '\n--\nmzxid=%x version=%d\n' % (st.mzxid, st.version))
c.stop()
PY
for my $n (@three)
{
	my ($rc, $out, $err) = $e->kazoo($get, args => [ $n->address ]);
	my ($text) = split /\n--\n/, $out // '';
	is($text, expected_config('100000000'), "member $n->{zab_id}: /zookeeper/config, version of the first epoch")
	  or diag($err);
	like($out, qr/version=-1$/m, "member $n->{zab_id}: the node's stat version is -1, as ZooKeeper's");
}
my $conf = $leader->fourlw('conf');
like($conf, qr/\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=$leader->{election_port}\nquorumPort=$leader->{peer_port}\npeerType=0\nmembership: \n\Q${\ expected_config('100000000')}\E\z/,
	'conf ends with the ensemble lines and the membership, as QuorumZooKeeperServer.dumpConf');
like($leader->fourlw('mntr'), qr/^zk_quorum_size\t3$/m, 'mntr: zk_quorum_size 3');

# kazoo's TestReconfig, against a follower (forwarded to the leader).
my ($f) = grep { $_ != $leader } @three;
my $scenarios = <<'PY';
import os, sys, socket, logging, threading
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
hosts = sys.argv[1]
client = KazooClient(hosts=hosts, timeout=10); client.start(timeout=30)
try:
    client.reconfig(joining='server.999=0.0.0.0:1234:2345:observer;3456', leaving=None, new_members=None)
    print('no_super_auth: accepted')
except NoAuthError:
    print('no_super_auth: NoAuthError')
sup = KazooClient(hosts=hosts, timeout=10, auth_data=[('digest', 'super:test')]); sup.start(timeout=30)
seen = []
ev = threading.Event()
def w(event):
    seen.append(event.type); ev.set()
sup.get('/zookeeper/config', watch=w)
def free_sock_port():
    s = socket.socket(); s.bind(('', 0)); return s, s.getsockname()[1]
s1, port1 = free_sock_port(); s2, port2 = free_sock_port(); s3, port3 = free_sock_port()
joining = 'server.100=0.0.0.0:%d:%d:observer;0.0.0.0:%d' % (port1, port2, port3)
data, st = sup.reconfig(joining=joining, leaving=None, new_members=None)
print('add: joining in data', joining.encode() in data)
print('add: last line', data.decode().split('\n')[-1], 'mzxid %x' % st.mzxid)
ev.wait(10)
print('watch:', seen)
d2, _ = client.get('/zookeeper/config')
print('add: follower reads the same', d2 == data)
data, _ = sup.reconfig(joining=None, leaving='100', new_members=None)
print('remove: joining not in data', joining.encode() not in data)
curver = int(data.decode().split('\n')[-1].split('=')[1], base=16)
try:
    client.reconfig(joining=joining, leaving=None, new_members=None, from_config=curver + 1)
    print('future version: accepted')
except BadVersionError:
    print('future version: BadVersionError')
for name, kw in [('bad input', dict(joining='some thing', leaving=None, new_members=None)),
                 ('two ports', dict(joining='server.7=127.0.0.1:1234', leaving=None, new_members=None)),
                 ('no client port', dict(joining='server.7=127.0.0.1:1234:1235:participant', leaving=None, new_members=None)),
                 ('bad role', dict(joining='server.7=127.0.0.1:1234:1235:voter;1236', leaving=None, new_members=None)),
                 ('bad leaving', dict(joining=None, leaving='x', new_members=None)),
                 ('one participant left', dict(joining=None, leaving=sys.argv[2] + ',' + sys.argv[3], new_members=None)),
                 ('bad newMembers', dict(joining=None, leaving=None, new_members='server.1=nonsense')),
                 ('unknown key', dict(joining=None, leaving=None, new_members='foo=bar'))]:
    try:
        sup.reconfig(**kw)
        print(name + ': accepted')
    except BadArgumentsError:
        print(name + ': BadArgumentsError')
    except Exception as ex:
        print(name + ': ' + type(ex).__name__)
try:
    absent = []
    for sid in (9, 10, 11):   # 3 of 6 participants synced: no majority
        ps = [free_sock_port()[1] for _ in range(3)]
        absent.append('server.%d=127.0.0.1:%d:%d:participant;127.0.0.1:%d' % (sid, ps[0], ps[1], ps[2]))
    sup.reconfig(joining=','.join(absent), leaving=None, new_members=None)
    print('absent participant: accepted')
except NewConfigNoQuorumError:
    print('absent participant: NewConfigNoQuorumError')
# non-incremental: the same members given whole, plus an observer.
cur = sup.get('/zookeeper/config')[0].decode().split('\n')
members = [l for l in cur if l.startswith('server.')] + [joining]
data, _ = sup.reconfig(joining=None, leaving=None, new_members=','.join(members), from_config=curver)
print('newMembers: observer in data', joining.encode() in data)
print('final:', data.decode().replace('\n', '|'))
PY
my ($rc, $out, $err) = $e->kazoo($scenarios, args => [ $f->address, map { $_->{zab_id} } grep { $_ != $f } @three ]);
is($rc, 0, 'scenarios ran') or diag($err);
like($out, qr/^no_super_auth: NoAuthError$/m,             'no super user: NoAuth');
like($out, qr/^add: joining in data True$/m,              'add an observer: the reply has its line');
like($out, qr/^add: last line version=([0-9a-f]+) mzxid \1$/m, 'the version is the zxid of the reconfig txn');
like($out, qr/^watch: \[.CHANGED.\]$/m,                   'a watch on /zookeeper/config fires');
like($out, qr/^add: follower reads the same True$/m,      'the follower serves the new configuration');
like($out, qr/^remove: joining not in data True$/m,       'remove the observer');
like($out, qr/^future version: BadVersionError$/m,        'fromConfig in the future: BadVersion');
like($out, qr/^bad input: BadArgumentsError$/m,           'bad input: BadArguments');
like($out, qr/^two ports: BadArgumentsError$/m,           'server string with 2 ports: BadArguments');
like($out, qr/^no client port: BadArgumentsError$/m,      'joiner without client port: BadArguments');
like($out, qr/^bad role: BadArgumentsError$/m,            'unknown role: BadArguments');
like($out, qr/^bad leaving: BadArgumentsError$/m,         'non-numeric leaving id: BadArguments');
like($out, qr/^one participant left: BadArgumentsError$/m, 'fewer than 2 participants: BadArguments');
like($out, qr/^bad newMembers: BadArgumentsError$/m,      'malformed newMembers: BadArguments');
like($out, qr/^unknown key: BadArgumentsError$/m,         'newMembers with an unknown key: BadArguments');
like($out, qr/^absent participant: NewConfigNoQuorumError$/m, 'three new participants that are not running: NewConfigNoQuorum');
like($out, qr/^newMembers: observer in data True$/m,      'non-incremental reconfig');
my ($final) = $out =~ /^final: (.*)$/m;
$final //= '';
$final =~ s/\|/\n/g;

# Every member restarted: the configuration made by reconfig is kept.
$_->stop for @three;
$_->start for @three;
ok($e->wait_for_leader(exclude => [4]), 'restarted');
for my $n (@three)
{
	my ($rc2, $out2, $err2) = $e->kazoo($get, args => [ $n->address ]);
	my ($text) = split /\n--\n/, $out2 // '';
	is($text, $final, "member $n->{zab_id}: the configuration survives a restart") or diag($err2);
}
my $l2 = $e->leader;
like($l2->fourlw('conf'), qr/membership: \n.*server\.100=/s, 'conf shows the observer after the restart');
ok($l2->log_contains(qr/using the ensemble configuration of version [0-9a-f]+ from the data directory/),
	'the restarted member says it uses the stored configuration');
# A joiner now gets the leader's snapshot (its history starts at the restart).
$e->node(4)->start;
ok(wait_until(sub { $e->mode($e->node(4)) eq 'follower' }, 30), 'a joiner with an empty disk follows');
ok($l2->log_contains(qr/syncing follower 4 \(at 0x0\) by SNAP/), 'it was synchronised by SNAP');
($rc, $out, $err) = $e->kazoo($get, args => [ $e->node(4)->address ]);
my ($t4) = split /\n--\n/, $out // '';
is($t4, $final, 'the joiner serves the configuration it got in the snapshot');
like($e->node(4)->fourlw('conf'), qr/membership: \n.*server\.100=/s, 'and runs with it');
$e->stop_all;

# reconfig_enabled defaults to false.
my $d = Corral::Test::Ensemble->new('rd', n => 3);
$d->init(modules => { auth_digest => { super_digest => $SUPER } });
ok($d->start, 'ensemble without reconfig_enabled');
my $disabled = <<'PY';
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
print('config has version', c.get('/zookeeper/config')[0].decode().split('\n')[-1].startswith('version='))
PY
($rc, $out, $err) = $d->kazoo($disabled, args => [ $d->node(2)->address ]);
like($out, qr/^config has version True$/m, 'reconfig disabled: /zookeeper/config is there all the same') or diag($err);
# kazoo 2.8 does not know ReconfigDisabled (-123): its thread dies on it.
($rc, $out, $err) = run_command([ $d->node(2)->build_dir . "/bin/corral-cli", '-server', $d->node(2)->address,
	'reconfig', '-remove', '1' ], timeout => 30);
like($out . $err, qr/Reconfig is disabled|ReconfigDisabled/i, 'reconfig disabled: ReconfigDisabled (corral-cli)');
$d->stop_all;

# Standalone (ZooKeeper 3.8 standalone: empty node, ReconfigDisabled).
my $s = Corral::Test::Cluster->new('rs');
$s->init(server => { reconfig_enabled => 'true' });
$s->start;
my $standalone = <<'PY';
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
print('data %r' % (c.get('/zookeeper/config')[0],))
try:
    c.reconfig(joining=None, leaving='1', new_members=None)
    print('reconfig: accepted')
except Exception as ex:
    print('reconfig: ' + type(ex).__name__)
PY
($rc, $out, $err) = $e->kazoo($standalone, args => [ $s->address ]);
like($out, qr/^data b''$/m, 'standalone: /zookeeper/config is empty') or diag($err);
like($out, qr/^reconfig: UnimplementedError$/m, 'standalone with reconfig_enabled: Unimplemented (as ZooKeeper)');
$s->stop;

done_testing();
