"""Shared pieces of Corral's kazoo-based real-client tests.

Everything here serves one purpose: let an unmodified kazoo client talk to a
server (Apache ZooKeeper 3.8 or corrald) and print a *normalised transcript*
of what the client saw, so that the transcripts of the two servers can be
compared line by line (regress/t/1*.t).

Normalisation (see doc/testing.md, "Real-client tests"):

* zxids are replaced by their rank among the distinct zxids printed in the
  same scenario ("z1", "z2", ...; 0 stays "0").  This keeps equalities and
  order (czxid == mzxid, pzxid == the last child's czxid, mzxid grows) and
  hides gaps: ZooKeeper gives a failed write its own zxid (an error txn),
  corrald does not, and session creation/closing takes zxids on both.
* ctime/mtime are checked, not printed: "times=ok" when both are within ten
  minutes of the client's clock, mtime >= ctime, and mtime == ctime while
  version == 0.
* ephemeralOwner prints as the name of the session that owns it ("A", "B"
  ...), "0", or "ttl:<ms>" for a TTL node (ZooKeeper encodes the TTL there).
* children lists are sorted (ZooKeeper's order is unspecified).
* watch events are recorded per client as they came off the wire (one line
  per notification, whatever the number of kazoo watchers it fed), and are
  printed at the next flush() point, which guarantees by ZooKeeper's
  ordering rules that every event caused by the operations before it has
  arrived.

kazoo 2.8 lacks some 3.6+ operations (createContainer, createTTL, addWatch,
removeWatches, checkWatches, getEphemerals, getAllChildrenNumber, whoAmI,
multiRead).  They are defined below as kazoo request classes (same
serialisation helpers, same conventions) and sent through kazoo's own
connection with KazooClient._call, so the framing, xids, session and error
handling are still kazoo's.  kazoo also lacks a few error codes; they are
added to its table.
"""

import collections
import logging
import os
import select
import socket
import struct
import sys
import threading
import time
import traceback
from collections import namedtuple

from kazoo.security import ACL

from kazoo.client import KazooClient
from kazoo.handlers.threading import (AsyncResult as _AsyncResult,
                                      SequentialThreadingHandler)
from kazoo.exceptions import EXCEPTIONS, ZookeeperError
from kazoo.protocol.serialization import (Create2, int_struct, read_buffer,
                                          read_string, stat_struct,
                                          write_buffer, write_string,
                                          multiheader_struct, MultiHeader,
                                          GetChildren, GetData)
from kazoo.protocol.states import (Callback, EventType, KazooState,
                                   ZnodeStat)

OP_TIMEOUT = float(os.environ.get('CORRAL_OP_TIMEOUT', '10'))

# ---------------------------------------------------------------------------
# Error codes kazoo 2.8 does not know (it would raise RuntimeError in its
# connection thread and drop the connection).


def _add_error(code, name):
    if code in EXCEPTIONS.keys():
        return
    cls = type(name, (ZookeeperError,), {'code': code})
    EXCEPTIONS[code] = cls


for _c, _n in ((-13, 'NewConfigNoQuorumError'), (-14, 'ReconfigInProgressError'),
               (-15, 'EphemeralOnLocalSessionError'), (-121, 'NoWatcherError'),
               (-122, 'RequestTimeoutError'), (-123, 'ReconfigDisabledError'),
               (-124, 'SessionClosedRequireSaslError'), (-125, 'QuotaExceededError'),
               (-127, 'ThrottledOpError')):
    _add_error(_c, _n)

# ---------------------------------------------------------------------------
# Extra requests (ZooKeeper 3.6+ opcodes), kazoo style.


def _write_acls(acl):
    b = bytearray()
    b.extend(int_struct.pack(len(acl)))
    for a in acl:
        b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) +
                 write_string(a.id.id))
    return b


class CreateContainer(namedtuple('CreateContainer', 'path data acl flags')):
    type = 19
    serialize = Create2.serialize
    deserialize = Create2.deserialize


class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
    type = 21

    def serialize(self):
        b = bytearray()
        b.extend(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(_write_acls(self.acl))
        b.extend(int_struct.pack(self.flags))
        b.extend(struct.pack('!q', self.ttl))
        return b

    deserialize = Create2.deserialize


class AddWatch(namedtuple('AddWatch', 'path mode')):
    type = 106

    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.mode)

    @classmethod
    def deserialize(cls, buf, offset):
        return True


class _PathType(object):
    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.wtype)

    @classmethod
    def deserialize(cls, buf, offset):
        return True


class CheckWatches(_PathType, namedtuple('CheckWatches', 'path wtype')):
    type = 17


class RemoveWatches(_PathType, namedtuple('RemoveWatches', 'path wtype')):
    type = 18


class GetEphemerals(namedtuple('GetEphemerals', 'path')):
    type = 103

    def serialize(self):
        return write_string(self.path)

    @classmethod
    def deserialize(cls, buf, offset):
        n = int_struct.unpack_from(buf, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            s, offset = read_string(buf, offset)
            out.append(s)
        return out


class GetAllChildrenNumber(namedtuple('GetAllChildrenNumber', 'path')):
    type = 104

    def serialize(self):
        return write_string(self.path)

    @classmethod
    def deserialize(cls, buf, offset):
        return int_struct.unpack_from(buf, offset)[0]


class WhoAmI(namedtuple('WhoAmI', '')):
    type = 107

    def __bool__(self):       # kazoo ignores the answer to a false request
        return True

    def serialize(self):
        return b''

    @classmethod
    def deserialize(cls, buf, offset):
        n = int_struct.unpack_from(buf, offset)[0]
        offset += 4
        out = []
        for _ in range(max(n, 0)):
            scheme, offset = read_string(buf, offset)
            user, offset = read_string(buf, offset)
            out.append((scheme, user))
        return out


class MultiRead(namedtuple('MultiRead', 'operations')):
    """operations: kazoo GetChildren / GetData requests (watch False)."""
    type = 22

    def serialize(self):
        b = bytearray()
        for op in self.operations:
            b.extend(MultiHeader(op.type, False, -1).serialize() +
                     op.serialize())
        return b + multiheader_struct.pack(-1, True, -1)

    @classmethod
    def deserialize(cls, buf, offset):
        out = []
        while True:
            h, offset = MultiHeader.deserialize(buf, offset)
            if h.done:
                break
            if h.type == GetChildren.type:
                n = int_struct.unpack_from(buf, offset)[0]
                offset += 4
                ch = []
                for _ in range(max(n, 0)):
                    s, offset = read_string(buf, offset)
                    ch.append(s)
                out.append(('children', ch))
            elif h.type == GetData.type:
                data, offset = read_buffer(buf, offset)
                st = ZnodeStat._make(stat_struct.unpack_from(buf, offset))
                offset += stat_struct.size
                out.append(('data', data, st))
            elif h.type == -1:
                err = int_struct.unpack_from(buf, offset)[0]
                offset += 4
                out.append(('error', err))
            else:
                out.append(('type?', h.type))
                break
        return out


# ---------------------------------------------------------------------------
# Every blocking kazoo call gets a time limit: a server that never answers
# makes the call raise KazooTimeoutError instead of hanging the test.


class BoundedAsyncResult(_AsyncResult):
    def get(self, block=True, timeout=None):
        if block and timeout is None:
            timeout = OP_TIMEOUT
        return _AsyncResult.get(self, block, timeout)


class BoundedHandler(SequentialThreadingHandler):
    def async_result(self):
        return BoundedAsyncResult(self)


# ---------------------------------------------------------------------------
# A kazoo client that records the watch notifications it receives.


class _TapDict(collections.defaultdict):
    """kazoo keeps its watchers in two defaultdict(set) keyed by path and
    pops them when a notification arrives.  This one also hands the
    notification to the recorder, whatever the path (notifications of
    persistent and recursive watches, which kazoo 2.8 does not know, are
    recorded too)."""

    def __init__(self, rec):
        super().__init__(set)
        self._rec = rec

    def pop(self, path, *default):
        got = list(super().pop(path, *default) or [])
        return got + [self._rec]


class RecordingClient(KazooClient):
    def __init__(self, name, *args, **kw):
        self.name = name
        self.events = []          # (event type name, path)
        self._seen_ev = set()
        self._ev_lock = threading.Lock()
        self.states = []          # (KazooState, kazoo's KeeperState) changes
        self.negotiated = []      # session timeouts the server granted
        kw.setdefault('handler', BoundedHandler())
        kw.setdefault('logger', self._make_logger(name))
        KazooClient.__init__(self, *args, **kw)
        self.add_listener(self._on_state)

    def _make_logger(self, name):
        lg = logging.getLogger('kazoo.client.%s.%x' % (name, id(self)))
        lg.setLevel(5)            # kazoo's BLATHER level
        me = self

        class H(logging.Handler):
            def emit(self, record):
                import re
                m = re.search(r'negotiated session timeout: (\d+)', record.getMessage())
                if m:
                    me.negotiated.append(int(m.group(1)))
        lg.addHandler(H())
        return lg

    def _record(self, ev):
        with self._ev_lock:
            if id(ev) in self._seen_ev:
                return
            self._seen_ev.add(id(ev))
            self.events.append((ev.type, ev.path))
            self._keep = getattr(self, '_keep', [])
            self._keep.append(ev)     # keep ids unique

    def _reset_watchers(self):
        KazooClient._reset_watchers(self)
        self._child_watchers = _TapDict(self._record)
        self._data_watchers = _TapDict(self._record)

    def _on_state(self, state):
        self.states.append((state, self._state))

    def take_events(self):
        with self._ev_lock:
            ev, self.events = self.events, []
            return ev

    def drain_callbacks(self, timeout=OP_TIMEOUT):
        """Waits until kazoo's callback thread has run everything queued so
        far (watch callbacks run there, in order)."""
        done = threading.Event()
        self.handler.dispatch_callback(Callback('watch', done.set, ()))
        return done.wait(timeout)

    def call(self, request):
        """Sends a request (kazoo's or one of the classes above) and waits."""
        ar = self.handler.async_result()
        self._call(request, ar)
        return ar.get(timeout=OP_TIMEOUT)


# ---------------------------------------------------------------------------
# Transcript


class Transcript(object):
    def __init__(self, out=sys.stdout):
        self.out = out
        self.lines = []
        self.sessions = {}        # session id -> name
        self.scenario = None

    def begin(self, name):
        self.scenario = name
        self.lines = []
        self.sessions = {}

    def add(self, line):
        self.lines.append(line)

    def end(self):
        # zxids are written as \x01Z<decimal>\x01: rank them now.
        import re
        zx = set()
        for l in self.lines:
            for m in re.finditer('\x01Z(-?\\d+)\x01', l):
                zx.add(int(m.group(1)))
        rank = {}
        for i, z in enumerate(sorted(v for v in zx if v != 0)):
            rank[z] = 'z%d' % (i + 1)
        rank[0] = '0'
        self.out.write('== %s\n' % self.scenario)
        for l in self.lines:
            l = re.sub('\x01Z(-?\\d+)\x01',
                       lambda m: rank[int(m.group(1))], l)
            self.out.write(l + '\n')
        self.out.flush()
        self.lines = []

    def session(self, sid, name):
        self.sessions[sid] = name


def zx(z):
    return '\x01Z%d\x01' % z


def fmt_owner(t, owner):
    if owner == 0:
        return '0'
    if owner == -(1 << 63):
        return 'container'
    if t.sessions.get(owner):
        return t.sessions[owner]
    if (owner >> 56) & 0xff == 0xff:
        return 'ttl:%d' % (owner & 0x00ffffffffffffff)
    return 'unknown'


def fmt_times(st):
    """ctime/mtime are not comparable between servers; print what must
    hold: both near the client's clock (or 0, as ZooKeeper has for / and
    /zookeeper), mtime >= ctime, and mtime == ctime while version == 0."""
    now = time.time() * 1000

    def one(v):
        if v == 0:
            return '0'
        return 'ok' if abs(v - now) < 600000 else 'bad'
    c, m = one(st.ctime), one(st.mtime)
    rel = st.mtime >= st.ctime and (st.version > 0 or st.mtime == st.ctime)
    if c == 'ok' and m == 'ok' and rel:
        return 'ok'
    return 'ctime:%s,mtime:%s,%s' % (c, m, 'ordered' if rel else 'unordered')


def fmt_stat(t, st):
    if st is None:
        return 'None'
    return ('czxid=%s mzxid=%s pzxid=%s times=%s version=%d cversion=%d '
            'aversion=%d owner=%s dataLength=%d numChildren=%d' % (
                zx(st.czxid), zx(st.mzxid), zx(st.pzxid), fmt_times(st),
                st.version, st.cversion, st.aversion,
                fmt_owner(t, st.ephemeralOwner), st.dataLength,
                st.numChildren))


def fmt_exc(e):
    if isinstance(e, ZookeeperError):
        return '%s' % type(e).__name__
    if type(e).__name__ in ('KazooTimeoutError', 'TimeoutError'):
        return 'TIMEOUT'
    return 'client:%s' % type(e).__name__


_EVNAMES = {EventType.CREATED: 'NodeCreated', EventType.DELETED: 'NodeDeleted',
            EventType.CHANGED: 'NodeDataChanged',
            EventType.CHILD: 'NodeChildrenChanged', EventType.NONE: 'None'}


def fmt_event(ev):
    typ, path = ev
    return '%s %s' % (_EVNAMES.get(typ, typ), path)


# ---------------------------------------------------------------------------
# A TCP proxy the tests can cut and freeze, to drop a client's connection or
# make its session expire without touching the client.


class Proxy(object):
    """Listens on 127.0.0.1:<free port> and forwards to target (host, port).

    freeze(): stop forwarding and stop accepting (held connections stay open,
              so the client sees silence: its pings go unanswered).
    cut():    close every proxied connection at once.
    thaw():   forward and accept again.
    """

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.address = '127.0.0.1:%d' % self.port
        self.pairs = []
        self.frozen = False
        self.stopped = False
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _wake(self):
        os.write(self.wake_w, b'x')

    def freeze(self):
        with self.lock:
            self.frozen = True
        self._wake()

    def thaw(self):
        with self.lock:
            self.frozen = False
        self._wake()

    def cut(self):
        with self.lock:
            for a, b in self.pairs:
                for s in (a, b):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    s.close()
            self.pairs = []
        self._wake()

    def stop(self):
        self.stopped = True
        self.cut()
        self.thread.join(5)
        self.lsock.close()

    def _run(self):
        while not self.stopped:
            with self.lock:
                frozen = self.frozen
                pairs = list(self.pairs)
            rl = [self.wake_r]
            if not frozen:
                rl.append(self.lsock)
                for a, b in pairs:
                    rl += [a, b]
            try:
                r, _, _ = select.select(rl, [], [], 0.5)
            except (OSError, ValueError):
                continue
            for s in r:
                if s == self.wake_r:
                    os.read(self.wake_r, 64)
                elif s == self.lsock:
                    c, _ = self.lsock.accept()
                    try:
                        u = socket.create_connection(self.target, timeout=5)
                    except OSError:
                        c.close()
                        continue
                    with self.lock:
                        self.pairs.append((c, u))
                else:
                    with self.lock:
                        pair = [p for p in self.pairs if s in p]
                    if not pair:
                        continue
                    a, b = pair[0]
                    other = b if s is a else a
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b''
                    if data:
                        try:
                            other.sendall(data)
                            continue
                        except OSError:
                            pass
                    with self.lock:
                        if pair[0] in self.pairs:
                            self.pairs.remove(pair[0])
                    for x in pair[0]:
                        try:
                            x.close()
                        except OSError:
                            pass


# ---------------------------------------------------------------------------
# Scenario context and runner


class Ctx(object):
    def __init__(self, hosts, t):
        self.hosts = hosts
        self.t = t
        self.clients = []
        self.unknown_events = []
        self.no_flush = set()     # clients whose connection is made to stall

    # -- clients -----------------------------------------------------------
    def client(self, name, hosts=None, **kw):
        kw.setdefault('handler', BoundedHandler())
        c = RecordingClient(name, hosts=hosts or self.hosts, **kw)
        c.start(timeout=OP_TIMEOUT)
        self.clients.append(c)
        if c.client_id[0] not in self.t.sessions:
            self.t.session(c.client_id[0], name)
        return c

    def close(self):
        for c in self.clients:
            try:
                c.stop()
                c.close()
            except Exception:
                pass
        self.clients = []

    # -- output ------------------------------------------------------------
    def out(self, line):
        self.t.add(line)

    def fmt(self, v):
        if isinstance(v, ZnodeStat):
            return fmt_stat(self.t, v)
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], ZnodeStat):
            return '%s %s' % (self.fmt(v[0]), fmt_stat(self.t, v[1]))
        if isinstance(v, Exception):
            return fmt_exc(v)
        if isinstance(v, bytes):
            if len(v) > 64:
                return 'bytes(len=%d)' % len(v)
            return repr(v)
        if isinstance(v, list):
            return '[' + ', '.join(self.fmt(x) for x in v) + ']'
        if isinstance(v, ACL):
            return 'ACL(%d,%s:%s)' % (v.perms, v.id.scheme, v.id.id)
        return repr(v)

    def do(self, label, fn, *args, **kw):
        """Runs fn; prints 'label -> result' (or the exception class)."""
        fmt = kw.pop('fmt', None)
        try:
            r = fn(*args, **kw)
        except Exception as e:
            self.out('%s -> %s' % (label, fmt_exc(e)))
            if not isinstance(e, ZookeeperError) and fmt_exc(e) == 'TIMEOUT':
                raise
            return e
        self.out('%s -> %s' % (label, fmt(r) if fmt else self.fmt(r)))
        return r

    def flush(self, label='', unordered=False):
        """Barrier: every client does a round trip and kazoo's callback
        thread catches up; then the notifications each client received
        since the last flush are printed, in arrival order (sorted when
        unordered: a closed or expired session's ephemerals are deleted in
        an unspecified order)."""
        for c in self.clients:
            if c.connected and c not in self.no_flush:
                try:
                    c.exists_async('/').get(timeout=OP_TIMEOUT)
                except Exception as e:
                    self.out('flush %s: %s' % (c.name, fmt_exc(e)))
        for c in self.clients:
            if c.handler.running:
                c.drain_callbacks()
        got = False
        for c in sorted(self.clients, key=lambda c: c.name):
            evs = c.take_events()
            if unordered:
                evs.sort(key=lambda e: (str(e[1]), str(e[0])))
                if evs:
                    self.out('  (sorted)')
            for ev in evs:
                self.out('  event %s: %s' % (c.name, fmt_event(ev)))
                got = True
        if self.unknown_events:
            for m in self.unknown_events:
                self.out('  unknown notification: %s' % m)
            del self.unknown_events[:]
        if not got and label:
            self.out('  (no events) %s' % label)

    def watcher(self):
        return lambda ev: None

    def sorted_children(self, v):
        if isinstance(v, tuple):
            return (sorted(v[0]), v[1])
        return sorted(v)


def main(scenarios, doc):
    if len(sys.argv) < 2:
        sys.stderr.write(doc)
        return 2
    hosts = sys.argv[1]
    only = set(sys.argv[2:])
    t = Transcript()
    unknown = []
    quiet_kazoo_logs(unknown)
    failed = 0
    for fn in scenarios:
        if only and fn.__name__ not in only:
            continue
        t.begin(fn.__name__)
        t0 = time.time()
        ctx = Ctx(hosts, t)
        ctx.unknown_events = unknown
        try:
            fn(ctx)
            ctx.flush()
        except Exception as e:
            t.add('!! scenario aborted: %s' % fmt_exc(e))
            traceback.print_exc(file=sys.stderr)
            failed += 1
        finally:
            ctx.close()
        t.end()
        sys.stderr.write('scenario %s: %.2f s\n' % (fn.__name__, time.time() - t0))
        if os.environ.get('KAZOO_SCENARIOS_DEBUG_ROOT'):
            c = RecordingClient('dbg', hosts=hosts)
            c.start()
            st = c.exists('/')
            sys.stderr.write('  root cversion=%d numChildren=%d\n' % (st.cversion, st.numChildren))
            c.stop()
    return 0



def wait_for(cond, timeout=OP_TIMEOUT, step=0.02):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.time() > deadline:
            return v
        time.sleep(step)


def quiet_kazoo_logs(capture):
    """Routes kazoo's log to stderr (warnings only) and collects the
    messages that say a notification was not understood."""

    class H(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            if 'unknown event' in msg:
                capture.append(msg)

    root = logging.getLogger('kazoo')
    root.setLevel(logging.WARNING)
    root.addHandler(H())
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(logging.ERROR)
    root.addHandler(h)
