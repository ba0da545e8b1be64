"""TLS client checks for regress/t/33x_*.t, with kazoo and Python's ssl.

usage: tls_client.py HOST:PORT [--ca F] [--cert F --key F] ACTION...

Actions (each prints one line):
  kazoo            connect with KazooClient(use_ssl=True): "kazoo ok" or
                   "kazoo error: EXCEPTION"
  big:N            create /big-RANDOM with N bytes, read it back: "big ok N"
  pipeline:N       N async creates then N async gets: "pipeline ok N"
  word:WORD        a four-letter word over TLS: "word <answer or EOF>"
  version          the negotiated protocol: "version TLSv1.3"
  create:PATH:ACL  create PATH with one ACL "scheme:id:perms" ('-' = open)
  get:PATH         "get ok DATA" or "get error: EXCEPTION"
  set:PATH:DATA    "set ok" or "set error: EXCEPTION"
  addauth:SCHEME   add_auth(SCHEME, ""): "addauth ok" or "addauth error: E"
  setacl:PATH:ACL  set_acls with one ACL
Options: --plain (no TLS), --maxver 1.2 (cap the protocol).
  hold:S           keep the session S seconds, then check it: "hold ok"
  https:M:PATH[:TOKEN]  an HTTPS request: "https STATUS BODY" (whitespace squeezed)
"""
import socket
import ssl
import sys
import time
import uuid

from kazoo.client import KazooClient
from kazoo.security import make_acl, OPEN_ACL_UNSAFE


def parse(argv):
    opts = {"ca": None, "cert": None, "key": None, "maxver": None, "plain": False}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--plain":
            opts["plain"] = True
            i += 1
        elif a in ("--ca", "--cert", "--key", "--maxver"):
            opts[a[2:]] = argv[i + 1]
            i += 2
        else:
            rest.append(a)
            i += 1
    return opts, rest


def ssl_context(opts):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if opts["ca"]:
        ctx.load_verify_locations(opts["ca"])
    if opts["cert"]:
        ctx.load_cert_chain(opts["cert"], opts["key"])
    if opts["maxver"] == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def raw(hostport, opts, payload):
    host, port = hostport.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    t = ssl_context(opts).wrap_socket(s)
    ver = t.version()
    if payload is None:
        t.close()
        return ver, b""
    t.sendall(payload)
    out = b""
    while True:
        try:
            d = t.recv(65536)
        except (ssl.SSLError, OSError):
            break
        if not d:
            break
        out += d
    t.close()
    return ver, out


def kazoo(hostport, opts):
    zk = KazooClient(hosts=hostport, use_ssl=not opts["plain"], ca=opts["ca"], certfile=opts["cert"],
                     keyfile=opts["key"], timeout=10, connection_retry={"max_tries": 1})
    zk.start(timeout=5)
    return zk


def main():
    opts, rest = parse(sys.argv[1:])
    hostport, actions = rest[0], rest[1:]
    zk = None
    for act in actions:
        name, _, arg = act.partition(":")
        try:
            if name == "https":
                # https:METHOD:PATH[:TOKEN] -> "https STATUS BODY"
                import http.client
                method, _, rest2 = arg.partition(":")
                path, _, token = rest2.partition(":")
                host, port = hostport.rsplit(":", 1)
                conn = http.client.HTTPSConnection(host, int(port), context=ssl_context(opts), timeout=10)
                conn.request(method, path, headers={"Authorization": "Bearer " + token} if token else {})
                r = conn.getresponse()
                body = r.read().decode(errors="replace")
                print("https", r.status, " ".join(body.split())[:2000])
                conn.close()
                continue
            if name in ("word", "version"):
                ver, out = raw(hostport, opts, arg.encode() if name == "word" else None)
                if name == "version":
                    print("version", ver)
                else:
                    print("word", out.decode(errors="replace").strip() or "EOF")
                continue
            if zk is None:
                zk = kazoo(hostport, opts)
            if name == "kazoo":
                print("kazoo ok")
            elif name == "big":
                n = int(arg)
                data = bytes((i * 7) & 0xFF for i in range(n))
                path = zk.create("/big-" + uuid.uuid4().hex, data)
                got, _ = zk.get(path)
                print("big ok" if got == data else "big MISMATCH", len(got))
            elif name == "pipeline":
                n = int(arg)
                base = zk.create("/pipe-" + uuid.uuid4().hex)
                fs = [zk.create_async("%s/n%05d" % (base, i), b"x" * 100) for i in range(n)]
                for f in fs:
                    f.get(timeout=30)
                gs = [zk.get_async("%s/n%05d" % (base, i)) for i in range(n)]
                ok = all(g.get(timeout=30)[0] == b"x" * 100 for g in gs)
                print("pipeline ok" if ok else "pipeline MISMATCH", n)
            elif name == "create":
                path, _, acl = arg.partition(":")
                if acl == "-":
                    acls = OPEN_ACL_UNSAFE
                else:
                    scheme, ident_perms = acl.split(":", 1)
                    ident, perms = ident_perms.rsplit(":", 1)
                    acls = [make_acl(scheme, ident, read="r" in perms, write="w" in perms,
                                     create="c" in perms, delete="d" in perms, admin="a" in perms)]
                try:
                    zk.create(path, b"secret", acl=acls)
                    print("create ok")
                except Exception as e:
                    print("create error:", type(e).__name__)
            elif name == "get":
                try:
                    print("get ok", zk.get(arg)[0].decode())
                except Exception as e:
                    print("get error:", type(e).__name__)
            elif name == "set":
                path, _, data = arg.partition(":")
                try:
                    zk.set(path, data.encode())
                    print("set ok")
                except Exception as e:
                    print("set error:", type(e).__name__)
            elif name == "addauth":
                try:
                    zk.add_auth(arg, "")
                    print("addauth ok")
                except Exception as e:
                    print("addauth error:", type(e).__name__)
            elif name == "setacl":
                path, _, acl = arg.partition(":")
                scheme, ident_perms = acl.split(":", 1)
                ident, perms = ident_perms.rsplit(":", 1)
                try:
                    zk.set_acls(path, [make_acl(scheme, ident, read="r" in perms, write="w" in perms,
                                                create="c" in perms, delete="d" in perms, admin="a" in perms)])
                    print("setacl ok")
                except Exception as e:
                    print("setacl error:", type(e).__name__)
            elif name == "hold":
                time.sleep(float(arg))
                zk.get("/")
                print("hold ok")
            else:
                print("unknown action", act)
        except Exception as e:
            print(name, "error:", type(e).__name__, str(e)[:200].replace("\n", " "))
            if zk is not None:
                try:
                    zk.stop()
                    zk.close()
                except Exception:
                    pass
            zk = None
        sys.stdout.flush()
    if zk is not None:
        zk.stop()
        zk.close()


main()
