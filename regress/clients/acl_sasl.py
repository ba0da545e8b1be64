#!/usr/bin/python3
"""SASL DIGEST-MD5 checks that need more than kazoo gives.

    acl_sasl.py HOST:PORT CHECK...

Checks (each prints one line "CHECK -> result"):

  authzid       bob/secret authenticates asking for the authorization id
                "admin" (the SASL super user): ZooKeeper authorises anyone
                and uses the authentication id, so the identity must be
                ("sasl", "bob") and no super.  pure-sasl does not send an
                authzid; this script adds it (RFC 2831: authzid in the
                response and in A1).
  borrowed      the ZooKeeper 3.8 callback-handler leak: bob tries a wrong
                password, then "nobody" (an unknown user) presents bob's
                password.  ZooKeeper 3.8 lets "nobody" in (its
                SaslServerCallbackHandler keeps the last known user name in a
                field shared by all connections); Corral must not.
  good, wrong, unknown
                plain kazoo: bob/secret, bob/wrong, nobody/x.
  otherrealm    bob@other.example/secret: a user of another realm is not
                bob.
"""

import hashlib
import sys

from kazoo.client import KazooClient
from kazoo.protocol.states import KazooState
from puresasl import mechanisms as M

import zkcommon as zc
from zkcommon import WhoAmI


def _patch_authzid():
    """DigestMD5Mechanism with an authzid (RFC 2831 2.1.2.1)."""
    orig_response = M.DigestMD5Mechanism.response

    def authzid(self):
        z = self.sasl.authorization_id
        return z.encode() if isinstance(z, str) else z

    def response(self):
        r = orig_response(self)
        if authzid(self):
            r += b',authzid="' + authzid(self) + b'"'
        return r

    def gen_hash(self, a2):
        if not getattr(self, 'key_hash', None):
            b = M.bytes   # pure-sasl's str-or-bytes to bytes
            kh = (b(self.username) + b':' + b(self.realm) + b':' +
                  b(self.password))
            self.key_hash = hashlib.md5(kh).digest()
        a1 = hashlib.md5(self.key_hash)
        a1.update(b':' + self.nonce + b':' + self.cnonce)
        if authzid(self):
            a1.update(b':' + authzid(self))
        self._a1 = a1.digest()
        rv = (a1.hexdigest().lower().encode() + b':' + self.nonce + b':' +
              ('%08x' % self.nc).encode() + b':' + self.cnonce + b':' +
              self.qop + b':' + hashlib.md5(a2).hexdigest().lower().encode())
        return hashlib.md5(rv).hexdigest().lower().encode()

    M.DigestMD5Mechanism.response = response
    M.DigestMD5Mechanism.gen_hash = gen_hash


def attempt(hosts, user, password, authzid=None):
    """Returns ("in", sorted whoami) or ("refused", None)."""
    opts = {'mechanism': 'DIGEST-MD5', 'username': user, 'password': password}
    if authzid:
        opts['authorization_id'] = authzid
    c = KazooClient(hosts=hosts, timeout=10, sasl_options=opts,
                    connection_retry={'max_tries': 0})
    try:
        c.start(timeout=zc.OP_TIMEOUT)
    except Exception as e:
        sys.stderr.write('%s/%s: start: %r\n' % (user, password, e))
    try:
        zc.wait_for(lambda: c.state != KazooState.CONNECTED, timeout=0.5)
        ar = c.handler.async_result()
        c._call(WhoAmI(), ar)
        who = sorted(ar.get(timeout=zc.OP_TIMEOUT))
        return ('in', who)
    except Exception as e:
        sys.stderr.write('%s/%s: whoami: %r\n' % (user, password, e))
        return ('refused', None)
    finally:
        try:
            c.stop()
            c.close()
        except Exception:
            pass


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    hosts = sys.argv[1]
    zc.quiet_kazoo_logs([])
    _patch_authzid()
    for check in sys.argv[2:]:
        if check == 'authzid':
            r = attempt(hosts, 'bob', 'secret', authzid='admin')
        elif check == 'borrowed':
            attempt(hosts, 'bob', 'wrong')
            r = attempt(hosts, 'nobody', 'secret')
        elif check == 'good':
            r = attempt(hosts, 'bob', 'secret')
        elif check == 'wrong':
            r = attempt(hosts, 'bob', 'wrong')
        elif check == 'unknown':
            r = attempt(hosts, 'nobody', 'x')
        elif check == 'otherrealm':
            r = attempt(hosts, 'bob@other.example', 'secret')
        else:
            r = ('unknown check', None)
        print('%s -> %s%s' % (check, r[0], '' if r[1] is None else ' %r' % (r[1],)))
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
