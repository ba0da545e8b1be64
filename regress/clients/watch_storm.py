#!/usr/bin/python3
"""Watch storm: N sessions on raw sockets each set a data watch on one node,
one setData fires them all.  Every session must get exactly one
NodeDataChanged for the node, and a ping from another session must be
answered while the notifications go out.

    watch_storm.py HOST:PORT [N]        (N defaults to 200)

Prints a summary that does not depend on timing (regress/t/150_watch_storm.t
compares it between ZooKeeper and corrald).  Nothing here measures speed.
Every wait is bounded (CORRAL_OP_TIMEOUT seconds per phase, default 30).
"""

import os
import selectors
import socket
import struct
import sys
import time

TIMEOUT = float(os.environ.get('CORRAL_OP_TIMEOUT', '30'))
NODE = '/storm'


def frame(body):
    return struct.pack('!i', len(body)) + body


def connect_request(timeout_ms=30000):
    return frame(struct.pack('!iqiqi', 0, 0, timeout_ms, 0, 16) + b'\0' * 16 + b'\0')


def ustring(s):
    b = s.encode()
    return struct.pack('!i', len(b)) + b


def request(xid, op, body=b''):
    return frame(struct.pack('!ii', xid, op) + body)


def get_data(xid, path, watch):
    return request(xid, 4, ustring(path) + (b'\1' if watch else b'\0'))


class Conn(object):
    def __init__(self, addr, n):
        self.n = n
        self.sock = socket.create_connection(addr, timeout=10)
        self.sock.setblocking(False)
        self.buf = b''
        self.frames = []
        self.connected = False
        self.closed = False
        self.out = b''

    def send(self, data):
        self.out += data
        self.flush()

    def flush(self):
        while self.out:
            try:
                k = self.sock.send(self.out)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                self.out = b''
                return
            self.out = self.out[k:]

    def read(self):
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self.closed = True
            return
        self.buf += data
        while len(self.buf) >= 4:
            (n,) = struct.unpack_from('!i', self.buf)
            if len(self.buf) < 4 + n:
                break
            body = self.buf[4:4 + n]
            self.buf = self.buf[4 + n:]
            if not self.connected:
                proto, to, sid = struct.unpack_from('!iiq', body)
                self.connected = to > 0
                self.sid = sid
                self.frames.append(('connect', to))
            else:
                xid, zxid, err = struct.unpack_from('!iqi', body)
                if xid == -1:
                    typ, state = struct.unpack_from('!ii', body, 16)
                    (plen,) = struct.unpack_from('!i', body, 24)
                    path = body[28:28 + plen].decode()
                    self.frames.append(('event', typ, state, path))
                else:
                    self.frames.append(('reply', xid, err))


def pump(conns, cond, timeout=TIMEOUT):
    """Reads from every connection until cond() holds or time is up."""
    sel = selectors.DefaultSelector()
    for c in conns:
        if not c.closed:
            sel.register(c.sock, selectors.EVENT_READ, c)
    deadline = time.time() + timeout
    try:
        while not cond():
            left = deadline - time.time()
            if left <= 0:
                return False
            for key, _ in sel.select(min(left, 0.5)):
                c = key.data
                c.read()
                if c.closed:
                    sel.unregister(c.sock)
            for c in conns:
                if c.out and not c.closed:
                    c.flush()
        return True
    finally:
        sel.close()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    host, port = sys.argv[1].rsplit(':', 1)
    addr = (host, int(port))
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200

    # the writer and the pinger: two more sessions
    writer = Conn(addr, -1)
    pinger = Conn(addr, -2)
    for c in (writer, pinger):
        c.send(connect_request())
    ok = pump([writer, pinger], lambda: writer.connected and pinger.connected)
    print('writer and pinger connected: %s' % ok)
    writer.frames.clear()
    pinger.frames.clear()
    acl = struct.pack('!i', 1) + struct.pack('!i', 31) + ustring('world') + ustring('anyone')
    writer.send(request(1, 1, ustring(NODE) + struct.pack('!i', 1) + b'0' + acl + struct.pack('!i', 0)))
    pump([writer], lambda: writer.frames)
    print('create %s: %s' % (NODE, str(writer.frames[0]) if writer.frames else 'no answer'))
    writer.frames.clear()

    conns = []
    for i in range(n):
        conns.append(Conn(addr, i))
    for c in conns:
        c.send(connect_request())
    pump(conns, lambda: all(c.connected or c.closed for c in conns))
    print('sessions connected: %d of %d' % (sum(c.connected for c in conns), n))
    print('distinct session ids: %d' % len(set(c.sid for c in conns if c.connected)))
    for c in conns:
        c.frames.clear()
        c.send(get_data(1, NODE, True))
    pump(conns, lambda: all(c.frames or c.closed for c in conns))
    replies = [c.frames[0] if c.frames else None for c in conns]
    print('watches set: %d (getData answers %s)' % (
        sum(1 for r in replies if r and r[0] == 'reply' and r[2] == 0),
        sorted(set(str(r) for r in replies))))
    for c in conns:
        c.frames.clear()

    # the storm: one setData; the pinger pings while the notifications go out
    writer.send(request(2, 5, ustring(NODE) + struct.pack('!i', 1) + b'1' + struct.pack('!i', -1)))
    pings = 0
    pinger.send(request(-2, 11))
    everyone = conns + [writer, pinger]

    def storm_done():
        nonlocal pings
        answered = sum(1 for f in pinger.frames if f[0] == 'reply' and f[1] == -2)
        if answered > pings:
            pings = answered
            if pings < 3:
                pinger.send(request(-2, 11))
        return (pings >= 3 and writer.frames and
                all(any(f[0] == 'event' for f in c.frames) or c.closed for c in conns))

    ok = pump(everyone, storm_done)
    print('storm finished in time: %s' % ok)
    print('writer setData: %s' % (str(writer.frames[0]) if writer.frames else 'no answer'))
    print('pings answered during the storm: %d' % min(pings, 3))
    print('pinger notifications: %d' % sum(1 for f in pinger.frames if f[0] == 'event'))

    # a barrier per session: a getData without watch; the next frame after
    # the notification must be its answer (no second notification)
    for c in conns:
        c.send(get_data(3, NODE, False))
    pump(conns, lambda: all(any(f[0] == 'reply' and f[1] == 3 for f in c.frames) or c.closed
                            for c in conns))
    exactly_one = wrong = dup = missing = closed = 0
    for c in conns:
        evs = [f for f in c.frames if f[0] == 'event']
        if c.closed:
            closed += 1
        if not evs:
            missing += 1
        elif len(evs) > 1:
            dup += 1
        elif evs[0][1:] != (3, 3, NODE):
            wrong += 1
        else:
            exactly_one += 1
        order = [f[0] for f in c.frames]
        if order and order[0] != 'event':
            wrong += 1
    print('sessions with exactly one NodeDataChanged %s: %d' % (NODE, exactly_one))
    print('sessions with more than one notification: %d' % dup)
    print('sessions with no notification: %d' % missing)
    print('sessions with a wrong notification or order: %d' % wrong)
    print('sessions closed by the server: %d' % closed)

    # close every session
    for c in everyone:
        c.frames.clear()
        c.send(request(9, -11))
    pump(everyone, lambda: all(c.frames or c.closed for c in everyone))
    print('closeSession answered: %d of %d' % (
        sum(1 for c in everyone if c.frames and c.frames[0][:3] == ('reply', 9, 0)), len(everyone)))
    for c in everyone:
        c.sock.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
