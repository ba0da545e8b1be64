#!/usr/bin/python3
"""Differential kazoo scenarios: run against HOST:PORT and print a normalised
transcript of what the client saw (see zkcommon.py for the normalisation).

    kazoo_scenarios.py HOST:PORT [SCENARIO ...]

regress/t/100_kazoo_scenarios.t runs it against Apache ZooKeeper 3.8 and
against corrald and compares the transcripts; kazoo_scenarios.expected is
ZooKeeper's transcript, used when ZooKeeper cannot be run.

The server must have extended types (TTL) enabled and a short container
check interval (ZooKeeper: znode.container.checkIntervalMs=100; corrald:
server.container_check_ms: 100).
"""

import sys

import zkcommon as zc
from zkcommon import (AddWatch, CheckWatches, CreateContainer, CreateTTL,
                      GetAllChildrenNumber, GetEphemerals, MultiRead,
                      RemoveWatches, WhoAmI, fmt_stat)
from kazoo.protocol.serialization import GetChildren, GetData
from kazoo.security import (ACL, Id, OPEN_ACL_UNSAFE, Permissions,
                            make_digest_acl)

OPEN = list(OPEN_ACL_UNSAFE)
SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


# ---------------------------------------------------------------------------
@scenario
def create_basic(ctx):
    a = ctx.client('A')
    ctx.do('create /cb', a.create, '/cb', b'root')
    ctx.do('create /cb again', a.create, '/cb', b'x')
    ctx.do('create /cb/missing/child', a.create, '/cb/missing/child')
    ctx.do('create2 /cb/a', a.create, '/cb/a', b'data-a', include_data=True)
    ctx.do('exists /cb/a', a.exists, '/cb/a')
    ctx.do('get /cb', a.get, '/cb')
    ctx.do('create /cb/deep/er/path makepath', a.create, '/cb/deep/er/path', b'p', makepath=True)
    ctx.do('get /cb/deep', a.get, '/cb/deep')
    ctx.do('get /cb/deep/er', a.get, '/cb/deep/er')
    ctx.do('create /cb/empty', a.create, '/cb/empty', b'')
    ctx.do('get /cb/empty', a.get, '/cb/empty')
    ctx.do('create /cb/bin', a.create, '/cb/bin', bytes(range(256)) * 2)
    ctx.do('get /cb/bin', lambda: a.get('/cb/bin')[0] == bytes(range(256)) * 2)
    big = b'x' * 500000
    ctx.do('create /cb/big 500000 bytes', a.create, '/cb/big', big)
    ctx.do('get /cb/big', lambda: (len(a.get('/cb/big')[0]), a.get('/cb/big')[1]))
    ctx.do('create /cb/\u00fcn\u00ef', a.create, '/cb/\u00fcn\u00ef', b'u')
    ctx.do('get_children /cb', lambda: sorted(a.get_children('/cb')))
    ctx.do('get /cb', a.get, '/cb')
    ctx.do('create2 /cb/a again', a.create, '/cb/a', b'', include_data=True)


@scenario
def create_ephemeral(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('A create /ce', a.create, '/ce')
    ctx.do('A create /ce/e ephemeral', a.create, '/ce/e', b'eph', ephemeral=True)
    ctx.do('A exists /ce/e', a.exists, '/ce/e')
    ctx.do('B exists /ce/e', b.exists, '/ce/e')
    ctx.do('A create /ce/e/child', a.create, '/ce/e/child')
    ctx.do('A create /ce/e/child ephemeral', a.create, '/ce/e/child', ephemeral=True)
    ctx.do('A create /ce/es ephemeral sequence', a.create, '/ce/es', ephemeral=True, sequence=True)
    ctx.do('A create /ce/p1/p2/eph ephemeral makepath', a.create, '/ce/p1/p2/eph',
           ephemeral=True, makepath=True)
    ctx.do('A exists /ce/p1', a.exists, '/ce/p1')
    ctx.do('B create /ce/be ephemeral', b.create, '/ce/be', ephemeral=True)
    ctx.do('A set /ce/be (other owner)', a.set, '/ce/be', b'x')
    ctx.do('B exists /ce/be', b.exists, '/ce/be')
    ctx.do('A get /ce', a.get, '/ce')
    ctx.do('B exists /ce/e watch', b.exists, '/ce/e', watch=ctx.watcher())
    ctx.do('B get_children /ce watch', lambda: sorted(b.get_children('/ce', watch=ctx.watcher())))
    ctx.do('A stop (close session)', a.stop)
    ctx.flush('after A closed', unordered=True)
    ctx.do('B exists /ce/e', b.exists, '/ce/e')
    ctx.do('B exists /ce/p1/p2/eph', b.exists, '/ce/p1/p2/eph')
    ctx.do('B exists /ce/p1/p2', b.exists, '/ce/p1/p2')
    ctx.do('B get_children /ce', lambda: sorted(b.get_children('/ce')))
    ctx.do('B get /ce', b.get, '/ce')
    ctx.do('B delete /ce/be (own ephemeral)', b.delete, '/ce/be')
    ctx.do('B get /ce', b.get, '/ce')


@scenario
def sequential(ctx):
    a = ctx.client('A')
    ctx.do('create /sq', a.create, '/sq')
    for i in range(3):
        ctx.do('create /sq/n- sequence', a.create, '/sq/n-', b'', sequence=True)
    ctx.do('create /sq/plain', a.create, '/sq/plain')
    ctx.do('delete /sq/n-0000000001', a.delete, '/sq/n-0000000001')
    ctx.do('create /sq/n- sequence', a.create, '/sq/n-', b'', sequence=True)
    ctx.do('create /sq/ sequence (empty prefix)', a.create, '/sq/', b'', sequence=True)
    ctx.do('get /sq', a.get, '/sq')
    # a plain node that has the name the next sequential create will pick
    st = a.exists('/sq')
    nxt = '/sq/x%010d' % (st.cversion + 1)
    ctx.do('create the next sequential name plainly', a.create, nxt)
    ctx.do('create /sq/x sequence (collides)', a.create, '/sq/x', b'', sequence=True)
    ctx.do('create /sq/x sequence (next)', a.create, '/sq/x', b'', sequence=True)
    ctx.do('create /sq/e- ephemeral sequence', a.create, '/sq/e-', ephemeral=True, sequence=True)
    ctx.do('create /sq/e- ephemeral sequence', a.create, '/sq/e-', ephemeral=True, sequence=True)
    ctx.do('create2 /sq/d- sequence', a.create, '/sq/d-', b'v', sequence=True, include_data=True)
    ctx.do('get_children /sq', lambda: sorted(a.get_children('/sq')))
    ctx.do('create /sq/new/n- sequence (no parent)', a.create, '/sq/new/n-', sequence=True)
    ctx.do('create /sq/new/n- sequence makepath', a.create, '/sq/new/n-', sequence=True, makepath=True)
    # the counter is the parent's cversion: it survives deletes of all children
    ctx.do('create /sq2', a.create, '/sq2')
    for i in range(3):
        ctx.do('create /sq2/c sequence', a.create, '/sq2/c', sequence=True)
    for n in ('/sq2/c0000000000', '/sq2/c0000000001', '/sq2/c0000000002'):
        ctx.do('delete %s' % n, a.delete, n)
    ctx.do('create /sq2/c sequence', a.create, '/sq2/c', sequence=True)
    ctx.do('get /sq2', a.get, '/sq2')
    t = a.transaction()
    t.create('/sq2/t', b'', sequence=True)
    t.create('/sq2/t', b'', sequence=True)
    ctx.do('commit', t.commit)


@scenario
def delete_errors(ctx):
    a = ctx.client('A')
    ctx.do('create /de', a.create, '/de')
    ctx.do('create /de/c', a.create, '/de/c')
    ctx.do('delete /de (has child)', a.delete, '/de')
    ctx.do('delete /de/nope', a.delete, '/de/nope')
    ctx.do('delete /de/c version=5', a.delete, '/de/c', version=5)
    ctx.do('set /de/c', a.set, '/de/c', b'1')
    ctx.do('delete /de/c version=0', a.delete, '/de/c', version=0)
    ctx.do('delete /de/c version=-2', a.delete, '/de/c', version=-2)
    ctx.do('delete /de/c version=1', a.delete, '/de/c', version=1)
    ctx.do('get /de', a.get, '/de')
    ctx.do('delete /de version=-1', a.delete, '/de', version=-1)
    ctx.do('delete /de again', a.delete, '/de')
    ctx.do('delete /', a.delete, '/')
    ctx.do('delete /zookeeper', a.delete, '/zookeeper')
    ctx.do('delete /zookeeper/quota', a.delete, '/zookeeper/quota')
    ctx.do('delete /zookeeper/config', a.delete, '/zookeeper/config')
    ctx.do('create /de2/a/b makepath', a.create, '/de2/a/b', makepath=True)
    ctx.do('delete /de2 recursive', a.delete, '/de2', recursive=True)
    ctx.do('exists /de2', a.exists, '/de2')


@scenario
def set_get(ctx):
    a = ctx.client('A')
    ctx.do('create /sg', a.create, '/sg', b'v0')
    ctx.do('get /sg', a.get, '/sg')
    ctx.do('set /sg v1', a.set, '/sg', b'v1')
    ctx.do('set /sg version=1', a.set, '/sg', b'v2', version=1)
    ctx.do('set /sg version=1 again', a.set, '/sg', b'v3', version=1)
    ctx.do('set /sg version=7', a.set, '/sg', b'v3', version=7)
    ctx.do('set /sg version=-2', a.set, '/sg', b'v3', version=-2)
    ctx.do('set /sg version=-1', a.set, '/sg', b'v3', version=-1)
    ctx.do('get /sg', a.get, '/sg')
    ctx.do('set /sg empty', a.set, '/sg', b'')
    ctx.do('get /sg', a.get, '/sg')
    ctx.do('set /sg same data', a.set, '/sg', b'')
    ctx.do('set /sg 100000 bytes', a.set, '/sg', b'y' * 100000)
    ctx.do('exists /sg', a.exists, '/sg')
    ctx.do('set /sg/none', a.set, '/sg/none', b'x')
    ctx.do('get /sg/none', a.get, '/sg/none')
    ctx.do('exists /sg/none', a.exists, '/sg/none')
    ctx.do('create /sg/c', a.create, '/sg/c')
    ctx.do('set /sg/c', a.set, '/sg/c', b'c')
    ctx.do('get /sg', a.get, '/sg')
    ctx.do('delete /sg/c', a.delete, '/sg/c')
    ctx.do('get /sg', a.get, '/sg')
    ctx.do('get /', lambda: a.get('/')[0])
    ctx.do('exists / version fields', lambda: (lambda s: (s.version, s.aversion, s.ephemeralOwner, s.dataLength))(a.exists('/')))


@scenario
def bad_paths(ctx):
    a = ctx.client('A')
    ctx.do('create /bp', a.create, '/bp')
    paths = ['', 'noslash', '/bp/', '/bp//x', '/bp/.', '/bp/./x', '/bp/..', '/bp/../x',
             '/bp/x\u0000y', '/bp/\u0001', '/bp/\ud7ff', '/bp/\uf8ff', '/bp/x.y', '/bp/...']
    for p in paths:
        ctx.do('create %r' % p, a.create, p, b'')
    for p in paths[:10]:
        ctx.do('get %r' % p, a.get, p)
        ctx.do('exists %r' % p, a.exists, p)
        ctx.do('set %r' % p, a.set, p, b'')
        ctx.do('get_children %r' % p, lambda p=p: sorted(a.get_children(p)))
        ctx.do('delete %r' % p, a.delete, p)
    ctx.do('create /bp/s/ sequence', a.create, '/bp/s/', sequence=True)
    ctx.do('create /bp/ sequence', a.create, '/bp/', sequence=True)
    ctx.do('create /bp// sequence', a.create, '/bp//', sequence=True)
    ctx.do('get_children /bp', lambda: sorted(a.get_children('/bp')))
    ctx.do('client still works', a.exists, '/bp')


@scenario
def children(ctx):
    a = ctx.client('A')
    ctx.do('create /ch', a.create, '/ch', b'parent')
    for n in ('c3', 'c1', 'c2', 'a', 'b0'):
        ctx.do('create /ch/%s' % n, a.create, '/ch/' + n, n.encode())
    ctx.do('get_children /ch', lambda: sorted(a.get_children('/ch')))
    ctx.do('get_children /ch include_data',
           lambda: ctx.sorted_children(a.get_children('/ch', include_data=True)))
    ctx.do('get_children /ch/c1', a.get_children, '/ch/c1')
    ctx.do('get_children /ch/c1 include_data', a.get_children, '/ch/c1', include_data=True)
    ctx.do('get_children /ch/none', a.get_children, '/ch/none')
    ctx.do('get_children /ch/none include_data', a.get_children, '/ch/none', include_data=True)
    ctx.do('delete /ch/c2', a.delete, '/ch/c2')
    ctx.do('get_children /ch include_data',
           lambda: ctx.sorted_children(a.get_children('/ch', include_data=True)))
    ctx.do('zookeeper in /', lambda: 'zookeeper' in a.get_children('/'))
    ctx.do('get_children /zookeeper', lambda: sorted(a.get_children('/zookeeper')))
    ctx.do('get /zookeeper data', lambda: a.get('/zookeeper')[0])
    for p in ('/zookeeper', '/zookeeper/quota', '/zookeeper/config'):
        ctx.do('exists %s fields' % p, lambda p=p: (lambda s: (
            s.czxid, s.mzxid, s.version, s.cversion, s.aversion, s.ephemeralOwner,
            s.dataLength, s.numChildren))(a.exists(p)))
    ctx.do('get_acls /zookeeper', lambda: a.get_acls('/zookeeper')[0])
    ctx.do('get_acls /zookeeper/config', lambda: a.get_acls('/zookeeper/config')[0])
    ctx.do('create /zookeeper/x', a.create, '/zookeeper/x')
    ctx.do('set /zookeeper/config', a.set, '/zookeeper/config', b'x')
    ctx.do('create /zookeeper/quota/x', a.create, '/zookeeper/quota/x')
    ctx.do('exists /zookeeper/quota/x', a.exists, '/zookeeper/quota/x')


@scenario
def transactions(ctx):
    a = ctx.client('A')
    ctx.do('create /tx', a.create, '/tx', b'p')
    t = a.transaction()
    t.create('/tx/a', b'1')
    t.create('/tx/b', b'2', ephemeral=True)
    t.set_data('/tx', b'x')
    t.check('/tx/a', 0)
    t.create('/tx/s', b'', sequence=True)
    t.delete('/tx/b')
    ctx.do('commit ok', t.commit)
    ctx.do('get /tx', a.get, '/tx')
    ctx.do('get /tx/a', a.get, '/tx/a')
    ctx.do('exists /tx/b', a.exists, '/tx/b')

    t = a.transaction()
    t.create('/tx/c', b'')
    t.check('/tx', 99)
    t.set_data('/tx/a', b'z')
    ctx.do('commit check fails', t.commit)
    ctx.do('exists /tx/c', a.exists, '/tx/c')
    ctx.do('get /tx/a', a.get, '/tx/a')

    t = a.transaction()
    t.create('/tx/d', b'')
    t.create('/tx/d', b'')
    t.set_data('/tx/nonexistent', b'')
    ctx.do('commit create twice', t.commit)
    ctx.do('exists /tx/d', a.exists, '/tx/d')

    t = a.transaction()
    t.set_data('/tx/a', b'q', version=5)
    t.create('/tx/e', b'')
    ctx.do('commit first op fails', t.commit)

    t = a.transaction()
    t.delete('/tx')
    ctx.do('commit delete non-empty', t.commit)

    t = a.transaction()
    t.create('/tx/none/x', b'')
    ctx.do('commit create without parent', t.commit)

    t = a.transaction()
    t.create('/tx/f', b'')
    t.create('/tx/f/g', b'')
    t.delete('/tx/f/g')
    t.delete('/tx/f')
    t.create('/tx/f', b'again')
    ctx.do('commit create-delete-create', t.commit)
    ctx.do('get /tx/f', a.get, '/tx/f')

    t = a.transaction()
    ctx.do('commit empty', t.commit)

    t = a.transaction()
    t.check('/tx/a', 0)
    t.check('/tx/f', 0)
    ctx.do('commit checks only', t.commit)

    t = a.transaction()
    t.check('/tx/none', 0)
    ctx.do('commit check missing node', t.commit)

    t = a.transaction()
    t.create('/tx/eph', b'', ephemeral=True)
    t.create('/tx/eph/child', b'')
    ctx.do('commit child of ephemeral', t.commit)

    t = a.transaction()
    t.create('/tx/bad//path', b'')
    ctx.do('commit bad path', t.commit)

    t = a.transaction()
    t.create('/tx/g', b'')
    t.create('/tx/h', b'')
    ctx.do('commit two creates', t.commit)
    ctx.do('exists /tx/g', a.exists, '/tx/g')
    ctx.do('exists /tx/h', a.exists, '/tx/h')
    ctx.do('get /tx', a.get, '/tx')


@scenario
def watch_data(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    w = ctx.watcher
    ctx.do('B create /wd', b.create, '/wd', b'0')
    ctx.do('A get /wd watch', a.get, '/wd', watch=w())
    ctx.do('B set /wd', b.set, '/wd', b'1')
    ctx.flush('set with a data watch')
    ctx.do('B set /wd', b.set, '/wd', b'2')
    ctx.flush('second set (watch was one-shot)')

    ctx.do('A exists /wd/n watch', a.exists, '/wd/n', watch=w())
    ctx.do('B create /wd/n', b.create, '/wd/n')
    ctx.flush('create with an exists watch')
    ctx.do('A exists /wd/n watch', a.exists, '/wd/n', watch=w())
    ctx.do('B set /wd/n', b.set, '/wd/n', b'x')
    ctx.flush('set with an exists watch')
    ctx.do('A get /wd/n watch', a.get, '/wd/n', watch=w())
    ctx.do('B delete /wd/n', b.delete, '/wd/n')
    ctx.flush('delete with a data watch')

    ctx.do('A exists /wd/none watch', a.exists, '/wd/none', watch=w())
    ctx.do('B delete /wd/none', b.delete, '/wd/none')
    ctx.do('B set /wd/none', b.set, '/wd/none', b'')
    ctx.flush('failed writes')
    ctx.do('B create /wd/none', b.create, '/wd/none')
    ctx.flush('create after failed writes')

    ctx.do('A get /wd watch', a.get, '/wd', watch=w())
    ctx.do('A exists /wd watch', a.exists, '/wd', watch=w())
    ctx.do('A get /wd watch (2nd watcher)', a.get, '/wd', watch=w())
    ctx.do('B set /wd', b.set, '/wd', b'3')
    ctx.flush('three watchers, one client')

    ctx.do('A get /wd watch', a.get, '/wd', watch=w())
    ctx.do('A set /wd (own change)', a.set, '/wd', b'4')
    ctx.flush('own change')

    ctx.do('A get /wd watch', a.get, '/wd', watch=w())
    ctx.do('B set_acls /wd', b.set_acls, '/wd', OPEN)
    ctx.do('B set /wd version=99', b.set, '/wd', b'', version=99)
    ctx.do('B create /wd/kid', b.create, '/wd/kid')
    ctx.flush('setACL, failed set, child create: no data event')
    ctx.do('B set /wd', b.set, '/wd', b'5')
    ctx.flush('watch still armed')

    ctx.do('A exists /wd/t1 watch', a.exists, '/wd/t1', watch=w())
    ctx.do('A get_children /wd watch', lambda: sorted(a.get_children('/wd', watch=w())))
    ctx.do('A get /wd/kid watch', a.get, '/wd/kid', watch=w())
    tx = b.transaction()
    tx.create('/wd/t1')
    tx.create('/wd/t2')
    tx.delete('/wd/kid')
    tx.set_data('/wd/t1', b'x')
    ctx.do('B commit create t1,t2 delete kid set t1', tx.commit)
    ctx.flush('events of one transaction, in order')

    ctx.do('A get /wd watch', a.get, '/wd', watch=w())
    ctx.do('A get /wd/t1 watch', a.get, '/wd/t1', watch=w())
    ctx.do('B get /wd/t1 watch', b.get, '/wd/t1', watch=w())
    ctx.do('B delete /wd/t1', b.delete, '/wd/t1')
    ctx.do('B set /wd', b.set, '/wd', b'6')
    ctx.flush('two clients watching')


@scenario
def watch_child(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    w = ctx.watcher
    ctx.do('B create /wc', b.create, '/wc')
    ctx.do('A get_children /wc watch', a.get_children, '/wc', watch=w())
    ctx.do('B create /wc/x', b.create, '/wc/x')
    ctx.flush('child created')
    ctx.do('B create /wc/y', b.create, '/wc/y')
    ctx.flush('one-shot')
    ctx.do('A get_children /wc watch', lambda: sorted(a.get_children('/wc', watch=w())))
    ctx.do('B set /wc', b.set, '/wc', b'd')
    ctx.do('B set /wc/x', b.set, '/wc/x', b'd')
    ctx.do('B create /wc/x/gc', b.create, '/wc/x/gc')
    ctx.flush('data changes and grandchildren do not fire a child watch')
    ctx.do('B delete /wc/x/gc', b.delete, '/wc/x/gc')
    ctx.do('B delete /wc/x', b.delete, '/wc/x')
    ctx.flush('child deleted')
    ctx.do('A get_children /wc include_data watch', lambda: ctx.sorted_children(
        a.get_children('/wc', watch=w(), include_data=True)))
    ctx.do('A get /wc watch', a.get, '/wc', watch=w())
    ctx.do('B delete /wc/y', b.delete, '/wc/y')
    ctx.do('B delete /wc', b.delete, '/wc')
    ctx.flush('delete children then the node')
    ctx.do('B create /wc2', b.create, '/wc2')
    ctx.do('A get_children /wc2 watch', a.get_children, '/wc2', watch=w())
    ctx.do('A get /wc2 watch', a.get, '/wc2', watch=w())
    ctx.do('B delete /wc2', b.delete, '/wc2')
    ctx.flush('delete with child+data watches: one notification')
    ctx.do('B create /wc3', b.create, '/wc3')
    ctx.do('A get_children /wc3 watch', a.get_children, '/wc3', watch=w())
    ctx.do('B create /wc3/e ephemeral', b.create, '/wc3/e', ephemeral=True)
    ctx.do('A get_children /wc3 watch', a.get_children, '/wc3', watch=w())
    ctx.do('B stop (close)', b.stop)
    ctx.flush('ephemeral child removed by close')
    ctx.do('A get_children / watch', lambda: 'wc3' in a.get_children('/', watch=w()))
    ctx.do('A create /wc4', a.create, '/wc4')
    ctx.flush('child watch on /')


@scenario
def watch_persistent(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('B create /wp', b.create, '/wp')
    ctx.do('A addWatch /wp PERSISTENT', a.call, AddWatch('/wp', 0))
    ctx.do('B set /wp', b.set, '/wp', b'1')
    ctx.do('B set /wp', b.set, '/wp', b'2')
    ctx.do('B create /wp/c', b.create, '/wp/c')
    ctx.do('B set /wp/c', b.set, '/wp/c', b'x')
    ctx.do('B create /wp/c/gc', b.create, '/wp/c/gc')
    ctx.do('B delete /wp/c/gc', b.delete, '/wp/c/gc')
    ctx.do('B delete /wp/c', b.delete, '/wp/c')
    ctx.flush('persistent watch')
    ctx.do('B delete /wp', b.delete, '/wp')
    ctx.do('B create /wp', b.create, '/wp')
    ctx.do('B set /wp', b.set, '/wp', b'3')
    ctx.flush('persistent watch survives delete')
    ctx.do('A checkWatches /wp Persistent(4)', a.call, CheckWatches('/wp', 4))
    ctx.do('A checkWatches /wp Data(2)', a.call, CheckWatches('/wp', 2))
    ctx.do('A checkWatches /wp Children(1)', a.call, CheckWatches('/wp', 1))
    ctx.do('A checkWatches /wp Any(3)', a.call, CheckWatches('/wp', 3))
    ctx.do('A checkWatches /wp PersistentRecursive(5)', a.call, CheckWatches('/wp', 5))
    ctx.do('A removeWatches /wp Data(2)', a.call, RemoveWatches('/wp', 2))
    ctx.do('A checkWatches /wp Persistent(4)', a.call, CheckWatches('/wp', 4))
    ctx.do('A removeWatches /wp Persistent(4)', a.call, RemoveWatches('/wp', 4))
    ctx.do('A checkWatches /wp Persistent(4)', a.call, CheckWatches('/wp', 4))
    ctx.do('B set /wp', b.set, '/wp', b'4')
    ctx.flush('removed')

    ctx.do('A addWatch /wp PERSISTENT', a.call, AddWatch('/wp', 0))
    ctx.do('A get /wp watch', a.get, '/wp', watch=ctx.watcher())
    ctx.do('A addWatch /wp PERSISTENT again', a.call, AddWatch('/wp', 0))
    ctx.do('B set /wp', b.set, '/wp', b'5')
    ctx.flush('persistent + one-shot on one path: one notification')
    ctx.do('A removeWatches /wp Any(3)', a.call, RemoveWatches('/wp', 3))
    ctx.do('B set /wp', b.set, '/wp', b'6')
    ctx.flush('removed with Any')

    ctx.do('A addWatch /none PERSISTENT', a.call, AddWatch('/wp/none', 0))
    ctx.do('B create /wp/none', b.create, '/wp/none')
    ctx.do('B delete /wp/none', b.delete, '/wp/none')
    ctx.flush('persistent watch on a missing node')
    ctx.do('A addWatch bad mode 7', a.call, AddWatch('/wp', 7))
    ctx.do('A addWatch bad path', a.call, AddWatch('wp', 0))
    ctx.do('A still connected', a.exists, '/wp')


@scenario
def watch_recursive(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('B create /wr', b.create, '/wr')
    ctx.do('A addWatch /wr PERSISTENT_RECURSIVE', a.call, AddWatch('/wr', 1))
    ctx.do('B create /wr/a', b.create, '/wr/a')
    ctx.do('B create /wr/a/b', b.create, '/wr/a/b')
    ctx.do('B set /wr/a/b', b.set, '/wr/a/b', b'x')
    ctx.do('B set /wr', b.set, '/wr', b'x')
    ctx.do('B delete /wr/a/b', b.delete, '/wr/a/b')
    ctx.do('B create /wrx (sibling prefix)', b.create, '/wrx')
    ctx.do('B set_acls /wr/a', b.set_acls, '/wr/a', OPEN)
    ctx.flush('recursive watch')
    ctx.do('A get_children /wr/a watch', a.get_children, '/wr/a', watch=ctx.watcher())
    ctx.do('A get /wr/a watch', a.get, '/wr/a', watch=ctx.watcher())
    ctx.do('B create /wr/a/c', b.create, '/wr/a/c')
    ctx.do('B set /wr/a', b.set, '/wr/a', b'y')
    ctx.flush('recursive + child watch + data watch')
    t = b.transaction()
    t.create('/wr/t')
    t.create('/wr/t/u')
    t.delete('/wr/t/u')
    ctx.do('B commit create /wr/t,/wr/t/u delete /wr/t/u', t.commit)
    ctx.flush('transaction under a recursive watch')
    ctx.do('A checkWatches /wr PersistentRecursive(5)', a.call, CheckWatches('/wr', 5))
    ctx.do('A checkWatches /wr Persistent(4)', a.call, CheckWatches('/wr', 4))
    ctx.do('A checkWatches /wr/a PersistentRecursive(5)', a.call, CheckWatches('/wr/a', 5))
    ctx.do('A addWatch /wr/a PERSISTENT', a.call, AddWatch('/wr/a', 0))
    ctx.do('B create /wr/a/d', b.create, '/wr/a/d')
    ctx.flush('recursive on /wr and persistent on /wr/a')
    ctx.do('A removeWatches /wr PersistentRecursive(5)', a.call, RemoveWatches('/wr', 5))
    ctx.do('B create /wr/a/e', b.create, '/wr/a/e')
    ctx.do('B set /wr', b.set, '/wr', b'z')
    ctx.flush('recursive removed, persistent on /wr/a stays')
    ctx.do('A addWatch / PERSISTENT_RECURSIVE', a.call, AddWatch('/', 1))
    ctx.do('B create /wr2', b.create, '/wr2')
    ctx.do('B create /wr2/x ephemeral', b.create, '/wr2/x', ephemeral=True)
    ctx.do('B stop (close)', b.stop)
    ctx.flush('recursive watch on /, ephemeral removed by close')


@scenario
def remove_watches(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('B create /rw', b.create, '/rw')
    ctx.do('A checkWatches /rw Data(2) (none)', a.call, CheckWatches('/rw', 2))
    ctx.do('A get /rw watch', a.get, '/rw', watch=ctx.watcher())
    ctx.do('A checkWatches /rw Data(2)', a.call, CheckWatches('/rw', 2))
    ctx.do('A checkWatches /rw Children(1)', a.call, CheckWatches('/rw', 1))
    ctx.do('A checkWatches /rw Any(3)', a.call, CheckWatches('/rw', 3))
    ctx.do('B checkWatches /rw Data(2) (other session)', b.call, CheckWatches('/rw', 2))
    ctx.do('A removeWatches /rw Children(1)', a.call, RemoveWatches('/rw', 1))
    ctx.do('A removeWatches /rw Data(2)', a.call, RemoveWatches('/rw', 2))
    ctx.do('A checkWatches /rw Data(2)', a.call, CheckWatches('/rw', 2))
    ctx.do('B set /rw', b.set, '/rw', b'1')
    ctx.flush('data watch removed')
    ctx.do('A exists /rw/none watch', a.exists, '/rw/none', watch=ctx.watcher())
    ctx.do('A checkWatches /rw/none Data(2)', a.call, CheckWatches('/rw/none', 2))
    ctx.do('A get_children /rw watch', a.get_children, '/rw', watch=ctx.watcher())
    ctx.do('A get /rw watch', a.get, '/rw', watch=ctx.watcher())
    ctx.do('A removeWatches /rw Any(3)', a.call, RemoveWatches('/rw', 3))
    ctx.do('A checkWatches /rw Any(3)', a.call, CheckWatches('/rw', 3))
    ctx.do('B create /rw/c', b.create, '/rw/c')
    ctx.do('B create /rw/none', b.create, '/rw/none')
    ctx.flush('all removed but /rw/none')
    ctx.do('A removeWatches /nowhere Any(3)', a.call, RemoveWatches('/rw/nowhere', 3))
    ctx.do('A removeWatches bad type 9', a.call, RemoveWatches('/rw', 9))
    ctx.do('A checkWatches bad path', a.call, CheckWatches('rw', 2))
    ctx.do('A still connected', a.exists, '/rw')


@scenario
def acls(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    P = Permissions
    ctx.do('create /acl', a.create, '/acl', b'x')
    ctx.do('get_acls /acl', a.get_acls, '/acl')
    ctx.do('set_acls /acl READ|ADMIN', a.set_acls, '/acl',
           [ACL(P.READ | P.ADMIN, Id('world', 'anyone'))])
    ctx.do('get_acls /acl', a.get_acls, '/acl')
    ctx.do('get /acl', a.get, '/acl')
    ctx.do('set /acl', a.set, '/acl', b'y')
    ctx.do('create /acl/c', a.create, '/acl/c')
    ctx.do('set_acls /acl version=0', a.set_acls, '/acl', OPEN, version=0)
    ctx.do('set_acls /acl version=1', a.set_acls, '/acl', OPEN, version=1)
    ctx.do('create /acl/c', a.create, '/acl/c')
    ctx.do('set_acls /acl/c CREATE|DELETE', a.set_acls, '/acl/c',
           [ACL(P.CREATE | P.DELETE, Id('world', 'anyone'))])
    ctx.do('get /acl/c', a.get, '/acl/c')
    ctx.do('B get /acl/c', b.get, '/acl/c')
    ctx.do('exists /acl/c', a.exists, '/acl/c')
    ctx.do('get_children /acl/c', a.get_children, '/acl/c')
    ctx.do('get_acls /acl/c', a.get_acls, '/acl/c')
    ctx.do('set_acls /acl/c', a.set_acls, '/acl/c', OPEN)
    ctx.do('create /acl/c/gc', a.create, '/acl/c/gc')
    ctx.do('delete /acl/c/gc', a.delete, '/acl/c/gc')
    ctx.do('set_acls /acl NONE', a.set_acls, '/acl',
           [ACL(P.ADMIN, Id('world', 'anyone'))])
    ctx.do('delete /acl/c (no DELETE on /acl)', a.delete, '/acl/c')
    ctx.do('set_acls /acl ALL', a.set_acls, '/acl', OPEN)
    ctx.do('delete /acl/c', a.delete, '/acl/c')
    ctx.do('set_acls /acl []', a.set_acls, '/acl', [])
    ctx.do('set_acls /acl bogus scheme', a.set_acls, '/acl', [ACL(31, Id('bogus', 'x'))])
    ctx.do('set_acls /acl world:someone', a.set_acls, '/acl', [ACL(31, Id('world', 'someone'))])
    ctx.do('set_acls /acl perms 0', a.set_acls, '/acl', [ACL(0, Id('world', 'anyone'))])
    ctx.do('set_acls /acl two entries', a.set_acls, '/acl',
           [ACL(P.READ, Id('world', 'anyone')), ACL(P.WRITE, Id('world', 'anyone'))])
    ctx.do('get_acls /acl', a.get_acls, '/acl')
    ctx.do('set /acl (WRITE from 2nd entry)', a.set, '/acl', b'z')
    ctx.do('set_acls /acl (no ADMIN)', a.set_acls, '/acl', OPEN)
    ctx.do('create /acl2 acl=[]', a.create, '/acl2', b'', acl=[])
    ctx.do('create /acl2 acl=bogus', a.create, '/acl2', b'', acl=[ACL(31, Id('bogus', 'x'))])
    ctx.do('create /acl2 acl=auth (not authenticated)', a.create, '/acl2', b'',
           acl=[ACL(31, Id('auth', ''))])
    ctx.do('create /acl2 READ', a.create, '/acl2', b'r', acl=[ACL(P.READ, Id('world', 'anyone'))])
    ctx.do('get_acls /acl2', a.get_acls, '/acl2')
    ctx.do('create /acl2/c', a.create, '/acl2/c')
    ctx.do('delete /acl2', a.delete, '/acl2')
    ctx.do('get_acls /none', a.get_acls, '/acl/none')
    ctx.do('set_acls /none', a.set_acls, '/acl/none', OPEN)
    ctx.do('create /acl3 ip:127.0.0.1', a.create, '/acl3', b'ip',
           acl=[ACL(31, Id('ip', '127.0.0.1'))])
    ctx.do('get /acl3', a.get, '/acl3')
    ctx.do('create /acl4 ip:10.1.2.3', a.create, '/acl4', b'ip',
           acl=[ACL(31, Id('ip', '10.1.2.3'))])
    ctx.do('get /acl4', a.get, '/acl4')
    ctx.do('create /acl5 ip:127.0.0.0/8', a.create, '/acl5', b'ip',
           acl=[ACL(31, Id('ip', '127.0.0.0/8'))])
    ctx.do('get /acl5', a.get, '/acl5')
    ctx.do('create /acl6 ip:bad', a.create, '/acl6', b'ip', acl=[ACL(31, Id('ip', 'bad'))])


@scenario
def acl_digest(ctx):
    a = ctx.client('A', auth_data=[('digest', 'alice:secret')])
    b = ctx.client('B')
    ctx.do('A whoAmI', lambda: sorted(a.call(WhoAmI())))
    ctx.do('B whoAmI', lambda: sorted(b.call(WhoAmI())))
    acl = make_digest_acl('alice', 'secret', all=True)
    ctx.do('A create /dg digest acl', a.create, '/dg', b'secret', acl=[acl])
    ctx.do('A get /dg', a.get, '/dg')
    ctx.do('B get /dg', b.get, '/dg')
    ctx.do('B exists /dg', lambda: b.exists('/dg') is not None)
    ctx.do('B set /dg', b.set, '/dg', b'x')
    ctx.do('A get_acls /dg', a.get_acls, '/dg')
    ctx.do('A create /dg2 auth acl', a.create, '/dg2', b'', acl=[ACL(31, Id('auth', ''))])
    ctx.do('A get_acls /dg2', a.get_acls, '/dg2')
    ctx.do('B add_auth digest alice:secret', b.add_auth, 'digest', 'alice:secret')
    ctx.do('B get /dg', b.get, '/dg')
    ctx.do('B whoAmI', lambda: sorted(b.call(WhoAmI())))
    ctx.do('B add_auth digest bob:x', b.add_auth, 'digest', 'bob:x')
    ctx.do('B whoAmI', lambda: sorted(b.call(WhoAmI())))


@scenario
def misc_ops(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('sync /', a.sync, '/')
    ctx.do('sync /none', a.sync, '/none')
    ctx.do('server_version major.minor', lambda: a.server_version()[:2])
    ctx.do('whoAmI', a.call, WhoAmI())
    ctx.do('reconfig', a.reconfig, joining='server.2=127.0.0.1:1:2;3', leaving=None,
           new_members=None)
    ctx.do('create /mo/a/b makepath', a.create, '/mo/a/b', b'ab', makepath=True)
    ctx.do('create /mo/c', a.create, '/mo/c', b'c')
    ctx.do('create /mo/a/e1 ephemeral', a.create, '/mo/a/e1', ephemeral=True)
    ctx.do('create /mo/e2 ephemeral', a.create, '/mo/e2', ephemeral=True)
    ctx.do('create /moe3 ephemeral', a.create, '/moe3', ephemeral=True)
    ctx.do('B create /mo/b1 ephemeral', b.create, '/mo/b1', ephemeral=True)
    ctx.do('getAllChildrenNumber /mo', a.call, GetAllChildrenNumber('/mo'))
    ctx.do('getAllChildrenNumber /mo/a', a.call, GetAllChildrenNumber('/mo/a'))
    ctx.do('getAllChildrenNumber /mo/c', a.call, GetAllChildrenNumber('/mo/c'))
    ctx.do('getAllChildrenNumber /mo/none', a.call, GetAllChildrenNumber('/mo/none'))
    ctx.do('getEphemerals /mo', lambda: sorted(a.call(GetEphemerals('/mo'))))
    ctx.do('getEphemerals /mo/', lambda: sorted(a.call(GetEphemerals('/mo/'))))
    ctx.do('getEphemerals /mo/a', lambda: sorted(a.call(GetEphemerals('/mo/a'))))
    ctx.do('getEphemerals /', lambda: sorted(a.call(GetEphemerals('/'))))
    ctx.do('getEphemerals /none', lambda: sorted(a.call(GetEphemerals('/none'))))
    ctx.do('B getEphemerals /', lambda: sorted(b.call(GetEphemerals('/'))))
    ctx.do('multiRead', a.call, MultiRead([GetData('/mo/a/b', None), GetChildren('/mo', None),
                                           GetData('/mo/none', None),
                                           GetChildren('/mo/none', None)]),
           fmt=lambda r: '; '.join(
               'children %r' % sorted(x[1]) if x[0] == 'children' else
               'data %r %s' % (x[1], fmt_stat(ctx.t, x[2])) if x[0] == 'data' else
               '%s %r' % x for x in r))
    ctx.do('multiRead empty', a.call, MultiRead([]))


@scenario
def containers(ctx):
    a = ctx.client('A')
    ctx.do('createContainer /ct', a.call, CreateContainer('/ct', b'c', OPEN, 4))
    ctx.do('createContainer /ct2 (never used)', a.call, CreateContainer('/ct2', b'', OPEN, 4))
    ctx.do('createContainer /ct again', a.call, CreateContainer('/ct', b'', OPEN, 4))
    ctx.do('createContainer /ct3 flags=0', a.call, CreateContainer('/ct3', b'', OPEN, 0))
    ctx.do('create /ct4 flags=4 (opcode create2)', a.call,
           zc.Create2('/ct4', b'', OPEN, 4))
    ctx.do('create /ct/child', a.create, '/ct/child')
    ctx.do('get /ct', a.get, '/ct')
    ctx.do('create /ct/e ephemeral', a.create, '/ct/e', ephemeral=True)
    ctx.do('delete /ct/child', a.delete, '/ct/child')
    ctx.do('exists /ct (has a child left)', lambda: a.exists('/ct') is not None)
    ctx.do('get_children /ct watch', a.get_children, '/ct', watch=ctx.watcher())
    ctx.do('delete /ct/e', a.delete, '/ct/e')
    ctx.do('wait until /ct is gone', lambda: zc.wait_for(lambda: a.exists('/ct') is None, 15))
    ctx.flush('container reaped')
    ctx.do('exists /ct2 (never had children)', lambda: a.exists('/ct2') is not None)
    ctx.do('createContainer /ct5/sub (no parent)', a.call, CreateContainer('/ct5/sub', b'', OPEN, 4))
    t = a.transaction()
    t.create('/ct6', b'')
    ctx.do('transaction create', t.commit)


@scenario
def ttl_nodes(ctx):
    a = ctx.client('A')
    ctx.do('createTTL /ttl ttl=300', a.call, CreateTTL('/ttl', b'x', OPEN, 5, 300))
    ctx.do('createTTL /ttl2 ttl=300', a.call, CreateTTL('/ttl2', b'x', OPEN, 5, 300))
    ctx.do('create /ttl2/child', a.create, '/ttl2/child')
    ctx.do('create /ttlp', a.create, '/ttlp')
    ctx.do('createTTL /ttlp/s- sequential ttl=60000', a.call, CreateTTL('/ttlp/s-', b'', OPEN, 6, 60000))
    ctx.do('createTTL /ttl3 ttl=0', a.call, CreateTTL('/ttl3', b'', OPEN, 5, 0))
    ctx.do('createTTL /ttl3 ttl=-5', a.call, CreateTTL('/ttl3', b'', OPEN, 5, -5))
    ctx.do('createTTL /ttl3 ttl=2^40', a.call, CreateTTL('/ttl3', b'', OPEN, 5, 1 << 40))
    ctx.do('createTTL /ttl3 flags=0', a.call, CreateTTL('/ttl3', b'', OPEN, 0, 1000))
    ctx.do('createTTL /ttl3 flags=1 (ephemeral)', a.call, CreateTTL('/ttl3', b'', OPEN, 1, 1000))
    ctx.do('createTTL /ttl3 flags=4 (container)', a.call, CreateTTL('/ttl3', b'', OPEN, 4, 1000))
    ctx.do('create2 /ttl3 flags=5', a.call, zc.Create2('/ttl3', b'', OPEN, 5))
    ctx.do('createTTL /ttl again', a.call, CreateTTL('/ttl', b'', OPEN, 5, 300))
    ctx.do('exists /ttl', a.exists, '/ttl')
    ctx.do('wait until /ttl is gone', lambda: zc.wait_for(lambda: a.exists('/ttl') is None, 15))
    ctx.do('exists /ttl2 (has a child)', lambda: a.exists('/ttl2') is not None)
    ctx.do('get_children /', lambda: sorted(x for x in a.get_children('/') if x.startswith('ttl')))
    ctx.do('get_children /ttlp', a.get_children, '/ttlp')


@scenario
def session_close(ctx):
    a = ctx.client('A')
    b = ctx.client('B')
    ctx.do('A create /sc', a.create, '/sc')
    ctx.do('A create /sc/e1 ephemeral', a.create, '/sc/e1', b'', ephemeral=True)
    ctx.do('A create /sc/e2 ephemeral', a.create, '/sc/e2', b'', ephemeral=True)
    ctx.do('B exists /sc/e1 watch', b.exists, '/sc/e1', watch=ctx.watcher())
    ctx.do('B get /sc/e2 watch', b.get, '/sc/e2', watch=ctx.watcher())
    ctx.do('B get_children /sc watch', b.get_children, '/sc', watch=ctx.watcher())
    ctx.do('A getEphemerals /sc', lambda: sorted(a.call(GetEphemerals('/sc'))))
    ctx.do('A stop (closeSession)', a.stop)
    ctx.flush('ephemerals deleted by closeSession', unordered=True)
    ctx.do('B get_children /sc', b.get_children, '/sc')
    ctx.do('B get /sc', b.get, '/sc')


@scenario
def oversized_request(ctx):
    # A request over the server's limit (ZooKeeper: jute.maxbuffer, 1 MB;
    # corrald: max_request_bytes, the same) closes the connection; the
    # session survives and kazoo reconnects to it.
    a = ctx.client('A')
    ctx.do('create /big', a.create, '/big', b'x')
    sid = a.client_id[0]
    ctx.do('set /big 2 MB', a.set, '/big', b'y' * (2 << 20))
    ctx.do('create /big/c 2 MB', a.create, '/big/c', b'y' * (2 << 20))
    ctx.do('exists /big (after reconnecting)', a.exists, '/big')
    ctx.out('same session: %s' % (a.client_id is not None and a.client_id[0] == sid))
    ctx.do('set /big 900000 bytes', a.set, '/big', b'z' * 900000)
    ctx.do('get /big length', lambda: len(a.get('/big')[0]))


@scenario
def root_summary(ctx):
    # Last: what all the scenarios above did to / (sequential names at the
    # root depend on its cversion).
    a = ctx.client('A')
    ctx.do('get /', a.get, '/')
    ctx.do('get_children /', lambda: sorted(a.get_children('/')))


def main():
    return zc.main(SCENARIOS, __doc__)


if __name__ == '__main__':
    sys.exit(main())
