#!/usr/bin/python3
"""contrib/auth_token/test/token_client.py HOST:PORT

Checks the "token" scheme against a corrald that loaded auth_token with the
tokens ci -> "ci-secret-1" and deploy -> "deploy-secret-2".  Prints TAP.
"""
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import (AuthFailedError, InvalidACLError, NoAuthError,
                              ConnectionClosedError, SessionExpiredError)
from kazoo.security import ACL, Id, make_acl

n = 0
failed = 0


def ok(cond, name):
    global n, failed
    n += 1
    if not cond:
        failed += 1
    print('%sok %d - %s' % ('' if cond else 'not ', n, name))


def raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc:
        return True
    except Exception as e:
        print('# got %r' % (e,))
        return False
    return False


def client(hosts):
    c = KazooClient(hosts=hosts, timeout=10, connection_retry={'max_tries': 0})
    c.start(timeout=10)
    return c


def main():
    hosts = sys.argv[1]
    ci = client(hosts)
    ci.add_auth('token', 'ci-secret-1')
    ci.create('/jobs', b'j', acl=[make_acl('token', 'ci', all=True)])
    ok(ci.get('/jobs')[0] == b'j', 'the token owner reads its node')
    acl = ci.get_acls('/jobs')[0]
    ok(acl == [ACL(31, Id('token', 'ci'))], 'the ACL names the token, not its secret')
    # the `auth` pseudo-scheme: "every identity of mine that counts as
    # authenticated" (its id is not used)
    ci.create('/mine', b'm', acl=[ACL(31, Id('auth', 'me'))])
    ok(ci.get_acls('/mine')[0] == [ACL(31, Id('token', 'ci'))],
       'the auth scheme expands to the token identity')
    ok(raises(InvalidACLError, ci.create, '/typo', b'',
              acl=[make_acl('token', 'nosuch', all=True)]),
       'an ACL naming an unknown token is InvalidACL')

    other = client(hosts)
    ok(raises(NoAuthError, other.get, '/jobs'), 'no token: NoAuth')
    other.add_auth('token', 'deploy-secret-2')
    ok(raises(NoAuthError, other.get, '/jobs'), 'another token: NoAuth')
    other.stop()
    other.close()

    bad = client(hosts)
    ok(raises((AuthFailedError, ConnectionClosedError, SessionExpiredError),
              bad.add_auth, 'token', 'wrong'),
       'an unknown token fails the addauth (AuthFailed)')
    ok(raises(Exception, bad.get, '/jobs'), 'and the connection is gone')
    try:
        bad.stop()
        bad.close()
    except Exception:
        pass

    ci.delete('/jobs')
    ci.delete('/mine')
    ci.stop()
    ci.close()
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
