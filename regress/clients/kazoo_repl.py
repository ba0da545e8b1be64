#!/usr/bin/python3
"""A kazoo client driven line by line on stdin, for tests that need a real
client running alongside something else (regress/t/140_robustness.t,
regress/t/150_watch_storm.t).

    kazoo_repl.py HOST:PORT [SESSION_TIMEOUT_S]

Prints "ready" once connected, then one line per command:

    set PATH DATA     -> ok VERSION | ERROR-CLASS
    get PATH          -> ok DATA VERSION | ERROR-CLASS
    create PATH DATA  -> ok PATH | ERROR-CLASS
    sid               -> SESSION-ID (hex)
    states            -> the connection state changes seen so far
    watch PATH        -> ok (a data watch; its notifications are counted)
    fill PREFIX SIZE N -> ok N | stopped I ERROR-CLASS (creates PREFIX0..PREFIX<N-1>,
                         SIZE bytes each, stopping at the first error)
    delete PATH       -> ok | ERROR-CLASS
    count PATH        -> ok NUMBER-OF-CHILDREN | ERROR-CLASS
    events            -> the notifications received so far, as TYPE:PATH,...
    quit              -> bye (closes the session)

Every call is bounded (CORRAL_OP_TIMEOUT seconds, default 10).
"""

import sys

import zkcommon as zc
from zkcommon import RecordingClient, fmt_exc


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    zc.quiet_kazoo_logs([])
    c = RecordingClient('R', hosts=sys.argv[1], timeout=timeout)
    c.start(timeout=zc.OP_TIMEOUT)
    print('ready', flush=True)
    for line in sys.stdin:
        words = line.strip().split(None, 2)
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == 'set':
                st = c.set(args[0], (args[1] if len(args) > 1 else '').encode())
                r = 'ok %d' % st.version
            elif cmd == 'get':
                data, st = c.get(args[0])
                r = 'ok %s %d' % (data.decode(errors='replace'), st.version)
            elif cmd == 'create':
                r = 'ok ' + c.create(args[0], (args[1] if len(args) > 1 else '').encode())
            elif cmd == 'sid':
                r = '%x' % c.client_id[0] if c.client_id else 'none'
            elif cmd == 'states':
                r = ' '.join(str(s) for s, _ in c.states)
            elif cmd == 'watch':
                c.get(args[0], watch=lambda ev: None)
                r = 'ok'
            elif cmd == 'events':
                c.exists('/')
                c.drain_callbacks()
                r = ','.join(zc.fmt_event(e).replace(' ', ':') for e in c.events)
            elif cmd == 'fill':
                prefix, rest = args[0], args[1].split()
                size, n = int(rest[0]), int(rest[1])
                data = b'x' * size
                r = 'ok %d' % n
                for i in range(n):
                    try:
                        c.create('%s%d' % (prefix, i), data)
                    except Exception as e:
                        r = 'stopped %d %s' % (i, fmt_exc(e))
                        break
            elif cmd == 'delete':
                c.delete(args[0])
                r = 'ok'
            elif cmd == 'count':
                r = 'ok %d' % len(c.get_children(args[0]))
            elif cmd == 'quit':
                c.stop()
                print('bye', flush=True)
                return 0
            else:
                r = 'unknown command'
        except Exception as e:
            r = fmt_exc(e)
        print(r, flush=True)
    c.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
