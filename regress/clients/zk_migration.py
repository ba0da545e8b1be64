"""regress/clients/zk_migration.py: the client side of the migration tests
(regress/t/80x_zk_*.t), run against Apache ZooKeeper 3.8 and against corrald.

  zk_migration.py workload ADDR [ROUNDS]  a tree with every node kind, ACL
                                          scheme, sequential nodes, a quota,
                                          multi, deletes
  zk_migration.py live ADDR FILE          a session with ephemerals that is
                                          left open (the process exits
                                          without closing it); FILE gets
                                          "session_id hex_password"
  zk_migration.py resume ADDR FILE        reconnects with that session: JSON
                                          {session_id, same, ephemerals}
  zk_migration.py dump ADDR               every znode as JSON: data (hex),
                                          every Stat field, ACL
  zk_migration.py seq ADDR PATH           creates PATH/n- sequential: its name
  zk_migration.py writer ADDR SECONDS     sets /w/n-<i> for SECONDS, then
                                          prints how many writes succeeded
"""
import binascii
import json
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
logging.disable(logging.CRITICAL)

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import BadVersionError, NodeExistsError  # noqa: E402
from kazoo.security import ACL, Id, OPEN_ACL_UNSAFE, make_digest_acl  # noqa: E402

from zkcommon import CreateContainer, CreateTTL, RecordingClient  # noqa: E402

USER = ('user', 'pw')


def client(addr, **kw):
    c = RecordingClient('m', addr, timeout=kw.pop('timeout', 10), **kw)
    c.start(15)
    c.add_auth('digest', '%s:%s' % USER)
    return c


def workload(addr, rounds):
    c = client(addr)
    digest = make_digest_acl(USER[0], USER[1], all=True)
    c.create('/app', b'root data')
    c.create('/app/empty', b'')
    c.create('/app/bin', bytes(range(256)))
    c.create('/app/big', b'B' * 100000)
    c.create('/app/\u00e9t\u00e9', b'utf-8 path')
    for r in range(rounds):
        for i in range(10):
            c.create('/app/seq-', b'%d' % i, sequence=True)
        c.set('/app', b'v%d' % r)
    c.create('/app/pseq-', b'', sequence=True)
    c.create('/app/eseq-', b'gone', ephemeral=True, sequence=True)
    c.create('/app/eph', b'gone at close', ephemeral=True)
    # ACL schemes: world, digest, auth, ip; several entries; setACL
    c.create('/acl', b'')
    c.create('/acl/world-read', b'r', acl=[ACL(1, Id('world', 'anyone'))])
    c.create('/acl/digest', b'd', acl=[digest])
    c.create('/acl/auth', b'a', acl=[ACL(31, Id('auth', ''))])
    c.create('/acl/ip', b'i', acl=[ACL(31, Id('ip', '127.0.0.1'))])
    c.create('/acl/mixed', b'm', acl=[ACL(1, Id('world', 'anyone')), digest, ACL(31, Id('ip', '127.0.0.0/8'))])
    c.create('/acl/changed', b'c')
    c.set_acls('/acl/changed', [ACL(3, Id('world', 'anyone')), digest])
    c.set_acls('/acl/changed', [ACL(31, Id('world', 'anyone'))])
    # containers (one with a child, so it stays) and TTL nodes
    c.call(CreateContainer('/ct', b'container', OPEN_ACL_UNSAFE, 4))
    c.create('/ct/child', b'keeps it')
    c.call(CreateTTL('/ttl', b'lives 1h', OPEN_ACL_UNSAFE, 5, 3600000))
    c.call(CreateTTL('/ttlseq-', b'', OPEN_ACL_UNSAFE, 6, 3600000))
    # a quota on /app, as zkCli's setquota writes it
    c.create('/zookeeper/quota/app/zookeeper_limits', b'count=1000,bytes=10000000', makepath=True)
    c.create('/zookeeper/quota/app/zookeeper_stats', b'count=0,bytes=0')
    # multi: a committed one and a failed one
    t = c.transaction()
    t.create('/multi', b'')
    t.create('/multi/a', b'1')
    t.set_data('/app', b'set in a multi')
    t.delete('/app/' + min(n for n in c.get_children('/app') if n.startswith('seq-')))
    t.check('/app/empty', 0)
    res = t.commit()
    assert not any(isinstance(x, Exception) for x in res), res
    t = c.transaction()
    t.create('/multi/never', b'x')
    t.check('/app/empty', 7)
    res = t.commit()
    assert isinstance(res[-1], BadVersionError), res
    # deletes: leaves, a whole subtree, a re-created name
    c.create('/del/x/y', b'', makepath=True)
    c.create('/del/keep', b'k')
    c.delete('/del/x', recursive=True)
    c.create('/del/again', b'1')
    c.delete('/del/again')
    c.create('/del/again', b'2')
    c.set('/del/again', b'3')
    c.stop()
    c.close()


def live(addr, path):
    c = client(addr, timeout=30)
    c.ensure_path('/live')
    c.create('/live/e1', b'one', ephemeral=True)
    c.create('/live/e2', b'two', ephemeral=True)
    c.create('/live/es-', b'seq', ephemeral=True, sequence=True)
    sid, pw = c.client_id
    with open(path, 'w') as f:
        f.write('%d %s\n' % (sid, binascii.hexlify(pw).decode()))
    os._exit(0)   # no closeSession: the session stays, as a client's would


def resume(addr, path):
    sid, pw = open(path).read().split()
    sid = int(sid)
    c = RecordingClient('m', addr, timeout=30, client_id=(sid, binascii.unhexlify(pw)))
    c.start(15)
    eph = {}
    for n in sorted(c.get_children('/live')):
        st = c.exists('/live/' + n)
        eph[n] = st.ephemeralOwner
    print(json.dumps({'session_id': c.client_id[0], 'same': c.client_id[0] == sid, 'ephemerals': eph}))
    c.stop()
    c.close()


def dump(addr):
    c = client(addr)
    out = {}

    def walk(path):
        data, st = c.get(path)
        acl, _ = c.get_acls(path)
        out[path] = {
            'data': None if data is None else binascii.hexlify(data).decode(),
            'stat': {k: getattr(st, k) for k in ('czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion',
                                                 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren')},
            'acl': [[a.perms, a.id.scheme, a.id.id] for a in acl],
        }
        for ch in sorted(c.get_children(path)):
            walk(path.rstrip('/') + '/' + ch)

    walk('/')
    print(json.dumps(out, sort_keys=True))
    c.stop()
    c.close()


def seq(addr, path):
    c = client(addr)
    print(c.create(path + '/n-', b'', sequence=True))
    c.stop()
    c.close()


def writer(addr, seconds):
    """Writes in a loop; connection losses while the server moves are
    retried by the next write."""
    c = RecordingClient('m', addr, timeout=10, connection_retry={'max_tries': -1, 'delay': 0.05, 'max_delay': 0.2})
    c.start(15)
    c.ensure_path('/w')
    first_sid = c.client_id[0]
    end = time.time() + seconds
    ok = 0
    i = 0
    while time.time() < end:
        try:
            c.create('/w/n-%06d' % i, b'%d' % i)
            ok += 1
            i += 1
        except NodeExistsError:   # it was written before a connection loss
            ok += 1
            i += 1
        except Exception:
            time.sleep(0.05)
    print(json.dumps({'writes': ok, 'last': i - 1, 'same_session': c.client_id[0] == first_sid}))
    c.stop()
    c.close()


if __name__ == '__main__':
    cmd, addr = sys.argv[1], sys.argv[2]
    if cmd == 'workload':
        workload(addr, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
    elif cmd == 'live':
        live(addr, sys.argv[3])
    elif cmd == 'resume':
        resume(addr, sys.argv[3])
    elif cmd == 'dump':
        dump(addr)
    elif cmd == 'seq':
        seq(addr, sys.argv[3])
    elif cmd == 'writer':
        writer(addr, float(sys.argv[3]))
    else:
        sys.exit('unknown command ' + cmd)
