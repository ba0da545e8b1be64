#!/usr/bin/env python3
"""contrib/bench/restart_bench.py: how long a server takes to come back
after kill -9 with 1,000,000 znodes, from a snapshot.  A benchmark, not a
test (not part of `make check`); results: doc/storage.md, "Recovery
benchmark".

    contrib/bench/restart_bench.py                       # corrald of build/
    contrib/bench/restart_bench.py --build build-stt --zookeeper --runs 5
    contrib/bench/restart_bench.py --znodes 200000 --json /tmp/res.json
    contrib/bench/restart_bench.py --random-data          # incompressible data

For each server (corrald with storage_file, fsync on; and with --zookeeper,
Apache ZooKeeper 3.8 from the Debian package, forceSync=yes), on a free
127.0.0.1 port with a fresh data directory under a temporary directory:

 1. load: one session creates /bench, then ZNODES znodes /bench/nNNNNNNNN of
    DATA bytes each (the same bytes, or random ones with --random-data), in
    multi requests of BATCH creates, PIPELINE of them
    outstanding (the ZooKeeper protocol spoken by the small client below, no
    dependency);
 2. snapshot: corrald with `snapshot_every_txns: SNAP_EVERY`, and small
    setData writes after the load until a snapshot covering the whole load
    is on disk; ZooKeeper writes one when it starts (it snapshots after
    loading its database), so it is killed and started once first;
 3. kill -9, start, and time, from the fork of the new process:
      ruok   until `ruok` answers `imok`;
      read   until a new session's exists(/bench/n<last>) succeeds (ZooKeeper
             answers ruok while it is still loading: this is the figure to
             compare);
    RUNS times (each time killed again right after), median and spread.
Also reported: load time, snapshot size on disk, the WAL/txn log size, the
server's own recovery log line (corrald), peak RSS after the restart.

Every process started here is killed on exit; only 127.0.0.1 is used; the
temporary directory is removed unless --keep.
"""

import argparse
import atexit
import glob
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
JAVA = os.environ.get('JAVA', '/usr/bin/java')
ZK_CP = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-api.jar',
         '/usr/share/java/slf4j-nop.jar']

PROCS = []          # every Popen started here


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- a minimal ZooKeeper client (jute, big endian) -------------------------

def ustr(s):
    b = s.encode()
    return struct.pack('>i', len(b)) + b


def buf(b):
    return struct.pack('>i', len(b)) + b


ACL_OPEN = struct.pack('>i', 1) + struct.pack('>i', 31) + ustr('world') + ustr('anyone')
OP_CREATE, OP_EXISTS, OP_SETDATA, OP_MULTI, OP_CLOSE = 1, 3, 5, 14, -11


class Conn:
    def __init__(self, port, timeout=30.0):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rbuf = b''
        self.xid = 0
        req = struct.pack('>iqiq', 0, 0, 30000, 0) + buf(b'\0' * 16) + b'\0'
        self.s.sendall(struct.pack('>i', len(req)) + req)
        body = self.frame()
        self.session = struct.unpack('>iiq', body[:16])[2]

    def frame(self):
        while len(self.rbuf) < 4:
            self._more()
        n = struct.unpack('>i', self.rbuf[:4])[0]
        while len(self.rbuf) < 4 + n:
            self._more()
        f, self.rbuf = self.rbuf[4:4 + n], self.rbuf[4 + n:]
        return f

    def _more(self):
        d = self.s.recv(1 << 20)
        if not d:
            raise ConnectionError('connection closed')
        self.rbuf += d

    def send(self, op, body):
        self.xid += 1
        msg = struct.pack('>ii', self.xid, op) + body
        self.s.sendall(struct.pack('>i', len(msg)) + msg)
        return self.xid

    def reply(self):
        """(xid, zxid, err, body), skipping watch events and pings."""
        while True:
            f = self.frame()
            xid, zxid, err = struct.unpack('>iqi', f[:16])
            if xid in (-1, -2):
                continue
            return xid, zxid, err, f[16:]

    def call(self, op, body):
        self.send(op, body)
        return self.reply()

    def close(self):
        try:
            self.call(OP_CLOSE, b'')
        except Exception:
            pass
        self.s.close()


def create_body(path, data):
    return ustr(path) + buf(data) + ACL_OPEN + struct.pack('>i', 0)


def multi_creates(paths, datas):
    parts = []
    hdr = struct.pack('>i?i', OP_CREATE, False, -1)
    for p, d in zip(paths, datas):
        parts.append(hdr)
        parts.append(create_body(p, d))
    parts.append(struct.pack('>i?i', -1, True, -1))
    return b''.join(parts)


def load(port, znodes, batch, pipeline, data_bytes, random_data):
    """Creates /bench and its children; returns (seconds, zxid of the last).
    The data is the same DATA bytes everywhere, or random bytes (which no
    compression can shrink: a pessimistic snapshot size)."""
    c = Conn(port)
    xid, zxid, err, _ = c.call(OP_CREATE, create_body('/bench', b''))
    if err:
        raise RuntimeError('create /bench: error %d' % err)
    data = (b'0123456789abcdef' * (data_bytes // 16 + 1))[:data_bytes]
    t0 = time.time()
    sent = done = 0
    last = 0
    nbatches = (znodes + batch - 1) // batch
    while done < nbatches:
        while sent < nbatches and sent - done < pipeline:
            lo = sent * batch
            paths = ['/bench/n%08d' % i for i in range(lo, min(lo + batch, znodes))]
            if random_data:
                r = os.urandom(data_bytes * len(paths))
                datas = [r[k * data_bytes:(k + 1) * data_bytes] for k in range(len(paths))]
            else:
                datas = [data] * len(paths)
            c.send(OP_MULTI, multi_creates(paths, datas))
            sent += 1
        xid, zxid, err, body = c.reply()
        if err:
            raise RuntimeError('multi: error %d' % err)
        done += 1
        last = max(last, zxid)
        if done % 100 == 0:
            print('  loaded %d znodes, %.1f s' % (done * batch, time.time() - t0), flush=True)
    secs = time.time() - t0
    c.close()
    return secs, last


def ruok(port, timeout=0.5):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        s.sendall(b'ruok')
        s.settimeout(timeout)
        out = b''
        while True:
            d = s.recv(64)
            if not d:
                break
            out += d
        s.close()
        return out == b'imok'
    except OSError:
        return False


def read_ok(port, path):
    try:
        c = Conn(port, timeout=5.0)
        xid, zxid, err, body = c.call(OP_EXISTS, ustr(path) + b'\0')
        c.close()
        return err == 0
    except (OSError, ConnectionError, struct.error):
        return False


def rss_kb(pid):
    try:
        for line in open('/proc/%d/status' % pid):
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    except OSError:
        pass
    return None


# ---- servers ----------------------------------------------------------------

class Server:
    def __init__(self, base, port):
        self.base, self.port, self.proc = base, port, None
        self.logfile = os.path.join(base, 'server.log')

    def start(self):
        log = open(self.logfile, 'ab')
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=self.base)
        PROCS.append(self.proc)
        return self.proc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill9()

    def wait_ready(self, probe, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('server exited with %d; log %s' % (self.proc.returncode, self.logfile))
            if probe():
                return True
            time.sleep(0.005)
        raise RuntimeError('server not ready after %d s; log %s' % (timeout, self.logfile))

    def timed_restart(self, last_path):
        """kill -9 (done by the caller), start, time ruok and the first read."""
        log_off = os.path.getsize(self.logfile) if os.path.exists(self.logfile) else 0
        t0 = time.time()
        self.start()
        self.wait_ready(lambda: ruok(self.port))
        t_ruok = time.time() - t0
        self.wait_ready(lambda: read_ok(self.port, last_path))
        t_read = time.time() - t0
        with open(self.logfile, 'rb') as f:
            f.seek(log_off)
            tail = f.read().decode(errors='replace')
        return t_ruok, t_read, tail


class Corrald(Server):
    def __init__(self, base, port, build, snap_every):
        super().__init__(base, port)
        self.build = build
        self.data = os.path.join(base, 'data')
        with open(os.path.join(base, 'corrald.yaml'), 'w') as f:
            f.write('server:\n  data_dir: %s\n  client_listen: 127.0.0.1:%d\n'
                    '  max_request_bytes: 16777216\n'
                    'modules:\n  fourlw: { allow: ["*"] }\n'
                    '  storage_file: { snapshot_every_txns: %d }\n' % (self.data, port, snap_every))

    def argv(self):
        return [os.path.join(self.build, 'bin', 'corrald'), '-c', os.path.join(self.base, 'corrald.yaml')]

    def snapshots(self):
        out = []
        for p in glob.glob(os.path.join(self.data, 'snapshot.*.zst')):
            m = re.search(r'snapshot\.([0-9a-f]{16})\.zst$', p)
            out.append((int(m.group(1), 16), p))
        return sorted(out)

    def wal_bytes(self):
        """Bytes of records in the WAL (segments are preallocated)."""
        ctl = os.path.join(self.build, 'bin', 'corralctl')
        try:
            out = subprocess.run([ctl, 'verify', '--json', self.data], capture_output=True, text=True,
                                 timeout=600).stdout
            v = json.loads(out)
            return sum(s.get('end_offset', 0) for s in v['segments']), len(v['segments'])
        except Exception:
            return None, None


class ZooKeeper(Server):
    def __init__(self, base, port, heap):
        super().__init__(base, port)
        self.data = os.path.join(base, 'data')
        self.heap = heap
        os.makedirs(self.data, exist_ok=True)
        with open(os.path.join(base, 'zoo.cfg'), 'w') as f:
            f.write('tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n'
                    '4lw.commands.whitelist=*\nadmin.enableServer=false\nmaxClientCnxns=0\n'
                    'forceSync=yes\n' % (self.data, port))

    def argv(self):
        return [JAVA, '-Xmx' + self.heap, '-Xms' + self.heap, '-Dzookeeper.admin.enableServer=false',
                '-Djute.maxbuffer=16777216', '-cp', ':'.join(ZK_CP),
                'org.apache.zookeeper.server.ZooKeeperServerMain', os.path.join(self.base, 'zoo.cfg')]

    def snapshots(self):
        out = []
        for p in glob.glob(os.path.join(self.data, 'version-2', 'snapshot.*')):
            out.append((int(p.rsplit('.', 1)[1], 16), p))
        return sorted(out)

    def wal_bytes(self):
        # (preallocated: 64 MiB per file, as ZooKeeper's preAllocSize)
        logs = glob.glob(os.path.join(self.data, 'version-2', 'log.*'))
        return sum(os.path.getsize(p) for p in logs), len(logs)


def summarize(xs):
    return {'median': statistics.median(xs), 'min': min(xs), 'max': max(xs), 'runs': xs}


def bench(name, srv, args):
    print('== %s (port %d, %s)' % (name, srv.port, srv.base), flush=True)
    srv.start()
    srv.wait_ready(lambda: ruok(srv.port) and read_ok(srv.port, '/'))
    secs, last_zxid = load(srv.port, args.znodes, args.batch, args.pipeline, args.data_bytes, args.random_data)
    rate = args.znodes / secs
    print('  load: %d znodes in %.1f s (%.0f/s), last zxid 0x%x' % (args.znodes, secs, rate, last_zxid), flush=True)
    last_path = '/bench/n%08d' % (args.znodes - 1)
    if isinstance(srv, Corrald) and args.snap_every == 0:
        pass            # no snapshot: the restart replays the whole WAL
    elif isinstance(srv, Corrald):
        # Small writes until a snapshot covers the load (one is written every
        # snapshot_every_txns transactions made durable).
        c = Conn(srv.port)
        end = time.time() + 600
        while not any(z >= last_zxid for z, p in srv.snapshots()):
            if time.time() > end:
                raise RuntimeError('no snapshot covering zxid 0x%x after 600 s' % last_zxid)
            for _ in range(20):
                c.call(OP_SETDATA, ustr('/bench') + buf(b'x') + struct.pack('>i', -1))
            time.sleep(0.05)
        c.close()
        # let a snapshot still being written finish (as a steady state would)
        while glob.glob(os.path.join(srv.data, '*.tmp')):
            time.sleep(0.05)
    else:
        # ZooKeeper snapshots after loading its database at startup.
        srv.kill9()
        srv.start()
        srv.wait_ready(lambda: read_ok(srv.port, last_path))
        end = time.time() + 600
        while not any(z >= last_zxid for z, p in srv.snapshots()):
            if time.time() > end:
                raise RuntimeError('ZooKeeper wrote no snapshot covering zxid 0x%x' % last_zxid)
            time.sleep(0.1)
        time.sleep(1)
    z, snap = srv.snapshots()[-1] if srv.snapshots() else (0, None)
    snap_size = os.path.getsize(snap) if snap else 0
    raw = snap_size
    if isinstance(srv, Corrald) and snap:
        with open(snap, 'rb') as f:     # storage_file's header: uncompressed length at 24
            raw = struct.unpack('<Q', f.read(64)[24:32])[0]
    wal, nwal = srv.wal_bytes()
    print('  snapshot %s: zxid 0x%x, %d bytes on disk, %d uncompressed; log: %s bytes in %s files'
          % (os.path.basename(snap or 'none'), z, snap_size, raw, wal, nwal), flush=True)
    ruoks, reads, rss, recovery = [], [], [], None
    for r in range(args.runs):
        srv.kill9()
        t_ruok, t_read, tail = srv.timed_restart(last_path)
        ruoks.append(round(t_ruok, 3))
        reads.append(round(t_read, 3))
        rss.append(rss_kb(srv.proc.pid))
        m = re.search(r'(recovered from .*)', tail)
        if m:
            recovery = m.group(1)
        print('  restart %d: ruok after %.3f s, first read after %.3f s%s'
              % (r + 1, t_ruok, t_read, ('; ' + recovery) if m else ''), flush=True)
    srv.stop()
    return {'server': name, 'znodes': args.znodes, 'data_bytes': args.data_bytes, 'random_data': args.random_data,
            'batch': args.batch,
            'load_seconds': round(secs, 2), 'load_rate': round(rate), 'snapshot_file': os.path.basename(snap or 'none'),
            'snapshot_bytes': snap_size, 'snapshot_uncompressed_bytes': raw, 'log_bytes': wal, 'log_files': nwal,
            'restart_ruok_s': summarize(ruoks), 'restart_read_s': summarize(reads),
            'peak_rss_kb_after_restart': rss, 'recovery_log': recovery}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default='build', help='build directory, relative to the top (default build)')
    ap.add_argument('--znodes', type=int, default=1000000)
    ap.add_argument('--batch', type=int, default=1000, help='creates per multi (default 1000)')
    ap.add_argument('--pipeline', type=int, default=8, help='multis outstanding (default 8)')
    ap.add_argument('--data-bytes', type=int, default=32)
    ap.add_argument('--random-data', action='store_true', help='random data bytes (incompressible)')
    ap.add_argument('--snap-every', type=int, default=1000,
                    help='corrald snapshot_every_txns (default 1000; 0: no snapshot, the restart replays the WAL)')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--zookeeper', action='store_true', help='also Apache ZooKeeper 3.8 (Debian package)')
    ap.add_argument('--zk-heap', default='4g')
    ap.add_argument('--no-corrald', action='store_true')
    ap.add_argument('--json', help='write the results there')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    args = ap.parse_args()
    build = os.path.join(TOP, args.build)
    tmp = tempfile.mkdtemp(prefix='restart_bench_')
    results = []
    try:
        if not args.no_corrald:
            base = os.path.join(tmp, 'corrald')
            os.makedirs(base)
            results.append(bench('corrald', Corrald(base, free_port(), build, args.snap_every), args))
        if args.zookeeper:
            base = os.path.join(tmp, 'zookeeper')
            os.makedirs(base)
            results.append(bench('zookeeper', ZooKeeper(base, free_port(), args.zk_heap), args))
    finally:
        cleanup()
        if args.keep:
            print('kept', tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
