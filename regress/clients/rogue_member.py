"""A process that claims to be an ensemble member (regress/t/334, 335).

usage: rogue_member.py HOST PORT KIND ID [--ca F --cert F --key F]

KIND:
  notify       an election notification from member ID voting for itself
               with an enormous epoch and zxid (a vote that would win)
  followerinfo a FOLLOWERINFO from member ID (peer port of the leader)
  hello        ensemble_secret_file's AUTH_HELLO as member ID, then a
               proof of random bytes
With --cert the connection is TLS (the certificate given).

Prints "closed" when the server closes the connection within 5 s,
"open" when it keeps it, "tls-refused: WHY" when the handshake fails.
"""
import os
import socket
import ssl
import struct
import sys
import time


def frame(ftype, zxid, payload):
    return struct.pack(">iiq", 12 + len(payload), ftype, zxid) + payload


def main():
    host, port, kind, sid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    opts = dict(zip(sys.argv[5::2], sys.argv[6::2]))
    s = socket.create_connection((host, port), timeout=5)
    if "--cert" in opts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(opts["--ca"])
        ctx.load_cert_chain(opts["--cert"], opts["--key"])
        try:
            s = ctx.wrap_socket(s)
        except (ssl.SSLError, OSError) as e:
            print("tls-refused:", type(e).__name__)
            return
    huge = 0x7FFFFFFF
    if kind == "notify":
        payload = struct.pack(">iqqqqi", 0, sid, 1 << 40, huge, sid, 0)
        data = frame(1, (huge << 32) | 1, payload)
    elif kind == "followerinfo":
        data = frame(11, (huge << 32) | 1, struct.pack(">qqii", sid, huge, 0, 0))
    elif kind == "hello":
        data = frame(40, 0, struct.pack(">q", sid) + os.urandom(32)) + frame(41, 0, os.urandom(32))
    else:
        raise SystemExit("unknown kind " + kind)
    try:
        s.sendall(data)
    except OSError:
        print("closed")
        return
    end = time.time() + 5
    s.settimeout(0.5)
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        except (ssl.SSLError, OSError):
            print("closed")
            return
        if not d:
            print("closed")
            return
    print("open")


main()
