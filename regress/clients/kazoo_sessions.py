#!/usr/bin/python3
"""Session scenarios with kazoo: negotiation, expiry, reconnection to a live
session, a wrong password, close.

    kazoo_sessions.py HOST:PORT [SCENARIO ...]

The server must run with a 500 ms tick (ZooKeeper tickTime=500, corrald
server.tick_ms: 500), so that session timeouts are bounded by 1000 and
10000 ms.  A client's connection is made to stall (its pings unanswered, so
that the server expires the session) through a TCP proxy the script runs
(zkcommon.Proxy): the client itself is not touched.

regress/t/110_kazoo_sessions.t runs it against ZooKeeper 3.8 and corrald
and compares the transcripts (kazoo_sessions.expected is ZooKeeper's).
"""

import sys
import time

import zkcommon as zc
from zkcommon import GetEphemerals, Proxy, wait_for

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


def host_port(hosts):
    h, p = hosts.rsplit(':', 1)
    return (h, int(p))


def states(c):
    return ' '.join('%s/%s' % (s, k) for s, k in c.states)


@scenario
def negotiate(ctx):
    for req in (0.2, 1.0, 1.5, 5.0, 10.0, 60.0):
        c = ctx.client('N', timeout=req)
        ctx.out('requested %d ms -> negotiated %s' % (int(req * 1000), c.negotiated))
        c.stop()
        c.close()
        ctx.clients.remove(c)


@scenario
def expire(ctx):
    proxy = Proxy(host_port(ctx.hosts))
    try:
        w = ctx.client('W')
        a = ctx.client('A', hosts=proxy.address, timeout=1.5)
        ctx.out('A negotiated %s' % a.negotiated)
        old_sid = a.client_id[0]
        ctx.do('A create /ex', a.create, '/ex', b'd')
        ctx.do('A create /ex/e1 ephemeral', a.create, '/ex/e1', ephemeral=True)
        ctx.do('A create /ex/e2 ephemeral', a.create, '/ex/e2', ephemeral=True)
        ctx.do('A get /ex watch', a.get, '/ex', watch=ctx.watcher())
        ctx.do('W exists /ex/e1 watch', w.exists, '/ex/e1', watch=ctx.watcher())
        ctx.do('W get_children /ex watch', lambda: sorted(w.get_children('/ex', watch=ctx.watcher())))
        ctx.do('W getEphemerals / (own: none)', w.call, GetEphemerals('/'))
        ctx.no_flush.add(a)
        proxy.freeze()
        ctx.out('-- A stalls (its connection goes silent)')
        gone = wait_for(lambda: w.exists('/ex/e1') is None and w.exists('/ex/e2') is None, 30)
        ctx.out('W sees the ephemerals of A deleted by expiry: %s' % gone)
        ctx.flush('expiry', unordered=True)
        ctx.do('W set /ex (A had a data watch)', w.set, '/ex', b'x')
        ctx.do('W get_children /ex', w.get_children, '/ex')
        ctx.do('W get /ex', w.get, '/ex')
        ctx.out('A states while stalled: %s' % states(a))
        a.states[:] = []
        proxy.thaw()
        ok = wait_for(lambda: a.connected, 30)
        ctx.no_flush.discard(a)
        ctx.out('-- A reaches the server again')
        ctx.out('A connected again: %s' % bool(ok))
        ctx.out('A states: %s' % states(a))
        new_sid = a.client_id[0] if a.client_id else None
        ctx.out('A has a new session: %s' % (new_sid is not None and new_sid != old_sid))
        if new_sid:
            ctx.t.session(new_sid, 'A2')
        ctx.do('A exists /ex/e1', a.exists, '/ex/e1')
        ctx.do('A create /ex/e3 ephemeral', a.create, '/ex/e3', ephemeral=True)
        ctx.do('A exists /ex/e3', a.exists, '/ex/e3')
        ctx.flush('after the new session')
        # A reaches the server only through the proxy, which stops now:
        # later barriers must not race kazoo noticing the lost connection
        # (a flush of A could then print ConnectionLoss or not).
        ctx.no_flush.add(a)
    finally:
        proxy.stop()


@scenario
def reattach(ctx):
    """A second client takes over a live session (id + password): the
    ephemerals stay, nothing fires."""
    proxy = Proxy(host_port(ctx.hosts))
    try:
        w = ctx.client('W')
        a = ctx.client('A', hosts=proxy.address, timeout=4)
        ctx.do('A create /ra', a.create, '/ra')
        ctx.do('A create /ra/e ephemeral', a.create, '/ra/e', b'mine', ephemeral=True)
        ctx.do('W exists /ra/e watch', w.exists, '/ra/e', watch=ctx.watcher())
        sid, pwd = a.client_id
        ctx.no_flush.add(a)
        proxy.freeze()
        ctx.out('-- A stalls; B connects with A\'s session id and password')
        b = ctx.client('B', client_id=(sid, pwd), timeout=4)
        ctx.out('B has A\'s session: %s' % (b.client_id[0] == sid))
        ctx.out('B negotiated %s' % b.negotiated)
        ctx.do('B exists /ra/e', b.exists, '/ra/e')
        ctx.do('B getEphemerals /', lambda: sorted(b.call(GetEphemerals('/'))))
        ctx.do('B create /ra/e2 ephemeral', b.create, '/ra/e2', ephemeral=True)
        ctx.do('B exists /ra/e2', b.exists, '/ra/e2')
        ctx.do('B set /ra/e', b.set, '/ra/e', b'still mine')
        ctx.flush('session moved to another connection')
        ctx.do('W exists /ra/e watch', w.exists, '/ra/e', watch=ctx.watcher())
        proxy.stop()                  # A can no longer reach anything
        ctx.do('B stop (closeSession)', b.stop)
        ctx.flush('closed by the new owner', unordered=True)
        ctx.do('W exists /ra/e', w.exists, '/ra/e')
        ctx.do('W exists /ra/e2', w.exists, '/ra/e2')
    finally:
        proxy.stop()


@scenario
def wrong_password(ctx):
    w = ctx.client('W')
    a = ctx.client('A')
    ctx.do('A create /wpw', a.create, '/wpw')
    ctx.do('A create /wpw/e ephemeral', a.create, '/wpw/e', ephemeral=True)
    ctx.do('W exists /wpw/e watch', w.exists, '/wpw/e', watch=ctx.watcher())
    sid, pwd = a.client_id
    bad = bytes([pwd[0] ^ 0xff]) + pwd[1:]
    d = ctx.client('D', client_id=(sid, bad))
    ctx.out('D states: %s' % states(d))
    ctx.out('D got A\'s session: %s' % (d.client_id[0] == sid))
    ctx.t.session(d.client_id[0], 'D')
    ctx.do('D exists /wpw/e', d.exists, '/wpw/e')
    # ZooKeeper closes the session's connection when a client asks for the
    # session, before it checks the password: A sees a drop and reconnects.
    wait_for(lambda: len(a.states) > 1, 2)
    wait_for(lambda: a.connected, 10)
    ctx.do('A exists /wpw/e', a.exists, '/wpw/e')
    ctx.out('A states: %s' % states(a))
    ctx.flush('a refused password changes nothing')
    e = ctx.client('E', client_id=(0x7fffffffffff, b'\x00' * 16))
    ctx.out('E (unknown session id) states: %s' % states(e))
    ctx.t.session(e.client_id[0], 'E')
    ctx.do('E exists /wpw/e', e.exists, '/wpw/e')


@scenario
def close_now(ctx):
    w = ctx.client('W')
    a = ctx.client('A', timeout=10)
    ctx.do('A create /cn', a.create, '/cn')
    for i in range(5):
        ctx.do('A create /cn/e%d ephemeral' % i, a.create, '/cn/e%d' % i, ephemeral=True)
    ctx.do('W get_children /cn watch', lambda: sorted(w.get_children('/cn', watch=ctx.watcher())))
    ctx.do('A stop (closeSession)', a.stop)
    ctx.do('W get_children /cn (no wait)', w.get_children, '/cn')
    ctx.flush('close', unordered=True)
    ctx.do('W get /cn', w.get, '/cn')


@scenario
def pings_keep_alive(ctx):
    a = ctx.client('A', timeout=1.0)
    ctx.out('A negotiated %s' % a.negotiated)
    ctx.do('A create /pk ephemeral', a.create, '/pk', ephemeral=True)
    time.sleep(3.5)               # more than three session timeouts, idle
    ctx.do('A exists /pk', a.exists, '/pk')
    ctx.out('A states: %s' % states(a))


def main():
    return zc.main(SCENARIOS, __doc__)


if __name__ == '__main__':
    sys.exit(main())
