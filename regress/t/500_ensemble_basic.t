# regress/t/500_ensemble_basic.t: 3- and 5-member ensembles form, elect one
# leader, replicate writes made through every member (forwarded writes,
# multi, failed writes, ephemerals, sessions), serve reads locally, and
# agree on the tree digest; srvr/mntr report the roles.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;

my $writer = <<'PY';
import os, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError, BadVersionError
hosts = os.environ['HOSTS'].split(',')
tag = sys.argv[1]
clients = []
for h in hosts:
    c = KazooClient(hosts=h, timeout=10)
    c.start(timeout=20)
    clients.append(c)
for i, c in enumerate(clients):
    p = '/%s-%d' % (tag, i)
    c.create(p, b'v0')
    st = c.set(p, b'v1')
    assert st.version == 1, st
    c.create(p + '/eph', b'', ephemeral=True)
    seq = c.create(p + '/s-', b'', sequence=True)
    try:
        c.create(p, b'dup'); print('NO ERROR')
    except NodeExistsError:
        print('dup %d NodeExists' % i)
    try:
        c.set(p, b'x', version=7); print('NO ERROR')
    except BadVersionError:
        print('badversion %d' % i)
    t = c.transaction(); t.create(p + '/m'); t.set_data(p, b'v2'); t.check(p, 2)
    print('multi %d' % i, [type(r).__name__ for r in t.commit()])
    t = c.transaction(); t.create(p + '/never'); t.delete('/nonexistent')
    print('multi-fail %d' % i, [type(r).__name__ for r in t.commit()])
    # read your own write on the member the session is on
    assert c.get(p)[0] == b'v2'
# FIFO per session: reads pipelined behind forwarded writes see them
for i, c in enumerate(clients):
    base = '/%s-%d' % (tag, i)
    ops = []
    for k in range(40):
        ops.append(c.create_async('%s/f%02d' % (base, k), b'%d' % k))
        ops.append(c.get_async('%s/f%02d' % (base, k)))
        ops.append(c.set_async('%s/f%02d' % (base, k), b'again'))
        ops.append(c.get_async('%s/f%02d' % (base, k)))
    res = [o.get(timeout=20) for o in ops]
    ok = all(res[4 * k + 1][0] == b'%d' % k and res[4 * k + 3][0] == b'again' for k in range(40))
    print('fifo %d %s' % (i, 'ok' if ok else 'BROKEN'))
    for k in range(40):
        c.delete('%s/f%02d' % (base, k))
for c in clients:
    c.sync('/')
    kids = sorted(k for k in c.get_children('/') if k.startswith(tag))
    print('children', kids, c.get('/%s-0' % tag)[0], len(c.get_children('/%s-0' % tag)))
# a session keeps its ephemerals while it lives; they go when it closes
for c in clients:
    c.stop(); c.close()
c = KazooClient(hosts=hosts[-1], timeout=10); c.start(timeout=20)
c.sync('/')
print('after close', sorted(c.get_children('/%s-0' % tag)))
c.stop()
PY

for my $n (3, 5)
{
	my $e = Corral::Test::Ensemble->new("b$n", n => $n);
	$e->init;
	my $leader = $e->start;
	ok($leader, "$n members: a leader is elected");
	my @modes = map { $e->mode($_) } $e->nodes;
	is(scalar(grep { $_ eq 'leader' } @modes), 1, "$n members: exactly one leader");
	is(scalar(grep { $_ eq 'follower' } @modes), $n - 1, "$n members: the others follow");
	my $m = $e->mntr($leader);
	is($m->{zk_server_state}, 'leader', 'mntr zk_server_state on the leader');
	is($m->{zk_synced_followers}, $n - 1, 'mntr: every follower is synced');

	my ($rc, $out, $err) = $e->kazoo($writer, args => ["w$n"]);
	is($rc, 0, "$n members: writes through every member succeed") or diag($err);
	for my $i (0 .. $n - 1)
	{
		like($out, qr/^dup $i NodeExists$/m, "member $i: NodeExists forwarded back");
		like($out, qr/^badversion $i$/m, "member $i: BadVersion forwarded back");
		like($out, qr/^multi $i \['str', 'ZnodeStat', 'bool'\]$/m, "member $i: multi results");
		like($out, qr/^multi-fail $i \['RolledBackError', 'NoNodeError'\]$/m, "member $i: failed multi results");
		like($out, qr/^fifo $i ok$/m, "member $i: pipelined reads see the session's earlier writes (FIFO)");
	}
	my @kids = map { "'w$n-$_'" } 0 .. $n - 1;
	my $want = "children [" . join(', ', @kids) . "] b'v2' 3";
	is(scalar(() = $out =~ /^\Q$want\E$/mg), $n, 'every member sees every write after sync');
	like($out, qr/^after close \['m', 's-0000000001'\]$/m, 'ephemerals deleted when their session closed');
	ok($e->wait_converged, "$n members: same applied zxid and tree digest everywhere");
	my @d = map { $e->state($_)->[1] } $e->nodes;
	is(scalar(keys %{ { map { ($_ => 1) } @d } }), 1, "digests equal: $d[0]");
	like($e->srvr($leader), qr/^Zxid: 0x[0-9a-f]+$/m, 'srvr shows the zxid');
	$e->stop_all;
}

# ---- identities travel with forwarded writes; sync orders reads -------------------
{
	my $e = Corral::Test::Ensemble->new('acl', n => 3);
	$e->init(modules => { auth_digest => {} });
	my $leader = $e->start;
	ok($leader, 'auth ensemble: leader elected');
	my ($f1, $f2) = grep { $_ != $leader } $e->nodes;
	my ($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $e->hosts($f1, $f2, $leader));
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl
from kazoo.exceptions import NoAuthError
h = os.environ['HOSTS'].split(',')
alice = KazooClient(hosts=h[0], timeout=10); alice.start(timeout=30)
alice.add_auth('digest', 'alice:secret')
acl = [make_digest_acl('alice', 'secret', all=True)]
alice.create('/private', b'mine', acl=acl)          # forwarded with alice's identity
alice.set('/private', b'mine2')                     # allowed: alice's identity checked on the leader
print('alice ok')
bob = KazooClient(hosts=h[1], timeout=10); bob.start(timeout=30)
try:
    bob.set('/private', b'stolen'); print('bob WROTE')
except NoAuthError:
    print('bob NoAuth')
bob.add_auth('digest', 'alice:secret')
bob.set('/private', b'bob-as-alice'); print('bob as alice ok')
# sync, then pipelined reads on another member see the write
alice.set('/private', b'last')
r = [bob.sync_async('/private'), bob.get_async('/private')]
print('sync+get', r[0].get(timeout=10), r[1].get(timeout=10)[0].decode())
alice.stop(); bob.stop()
PY
	like($out, qr/^alice ok$/m, 'a follower forwards its client\'s identity with the write') or diag($err);
	like($out, qr/^bob NoAuth$/m, 'another client on another follower is refused (NoAuth from the leader)');
	like($out, qr/^bob as alice ok$/m, 'and allowed once authenticated');
	like($out, qr/^sync\+get \/private last$/m, 'sync then a pipelined read on another follower sees the last write');
	ok($e->wait_converged, 'auth ensemble converged');
	$e->stop_all;
}

done_testing();
