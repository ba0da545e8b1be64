# ACLs survive restarts with a storage module (storage_file): the ACL of
# every node, its aversion, and what each identity may do are the same after
# a clean restart (recovered from a snapshot and the log) and after a crash
# (kill -9: recovered from the log).  setACL and create-with-ACL are both
# replayed; an `auth` entry stays expanded to the identity that created it.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
my $node = Corral::Test::Cluster->new('restart');
plan skip_all => 'the storage_file module is not built' unless -e $node->modules_dir . '/storage_file.so';

my $tmp   = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $super = 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=';    # super:secret

write_file("$tmp/acl.py", <<'EOP');
import sys
from kazoo.client import KazooClient
from kazoo.security import ACL, Id
P_R, P_W, P_C, P_D, P_A = 1, 2, 4, 8, 16
BOB = 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0='
hosts, mode = sys.argv[1], sys.argv[2]

def cli(*auth):
    c = KazooClient(hosts, connection_retry={'max_tries': 0}); c.start(10)
    for a in auth:
        c.add_auth(*a)
    return c

def attempt(fn, *a):
    try:
        fn(*a); return 'ok'
    except Exception as e:
        return type(e).__name__

nodes = ['/r', '/r/digest', '/r/ip', '/r/world', '/r/auth', '/r/multi', '/r/changed', '/r/none']
if mode in ('create', 'more'):
    b = cli(('digest', 'bob:secret'))
    if mode == 'create':
        b.create('/r', b'')
        b.create('/r/digest', b'd', acl=[ACL(31, Id('digest', BOB))])
        b.create('/r/ip', b'i', acl=[ACL(P_R, Id('ip', '127.0.0.1')), ACL(P_A, Id('ip', '10.0.0.0/8'))])
        b.create('/r/world', b'w', acl=[ACL(P_R | P_A, Id('world', 'anyone'))])
        b.create('/r/auth', b'a', acl=[ACL(31, Id('auth', 'x'))])
        b.create('/r/multi', b'm', acl=[ACL(P_R, Id('world', 'anyone')), ACL(31, Id('digest', BOB)),
                                       ACL(P_W, Id('ip', '127.0.0.0/8'))])
        b.create('/r/changed', b'c')
        b.create('/r/none', b'n', acl=[ACL(0, Id('world', 'anyone'))])
        for i in range(3):
            b.set_acls('/r/changed', [ACL(P_R | P_A, Id('world', 'anyone')), ACL(31, Id('digest', BOB))])
    else:
        b.set_acls('/r/changed', [ACL(P_A, Id('world', 'anyone'))], version=3)
        b.create('/r/late', b'l', acl=[ACL(P_R, Id('digest', BOB))])
        nodes.append('/r/late')
    b.stop()
if mode == 'more_check':
    nodes.append('/r/late')

s = cli(('digest', 'super:secret'))
anon = cli()
bob = cli(('digest', 'bob:secret'))
for n in nodes:
    acl, st = s.get_acls(n)
    print('%s aversion=%d acl=%s' % (n, st.aversion, sorted('%d:%s:%s' % (a.perms, a.id.scheme, a.id.id) for a in acl)))
    print('  anon get=%s set=%s' % (attempt(anon.get, n), attempt(anon.set, n, b'x')))
    print('  bob  get=%s getacl=%s' % (attempt(bob.get, n), attempt(bob.get_acls, n)))
EOP

sub state
{
	my ($mode) = @_;
	my ($rc, $out, $err) = run_command([ python3(), "$tmp/acl.py", $node->address, $mode ], timeout => 60);
	is($rc, 0, "acl.py $mode ran") or diag($err);
	return $out;
}

sub configure
{
	my ($snap_every) = @_;
	$node->init(modules => {
		storage_file => { snapshot_every_txns => $snap_every },
		auth_digest  => { super_digest => $super },
		auth_ip      => {},
	});
}

# Snapshots every 4 transactions: the clean restart reads ACLs back from a
# snapshot.
configure(4);
$node->start;
my $before = state('create');
like($before, qr{^/r/auth aversion=0 acl=\['31:digest:bob:fyVmFCwVbTJYrznoSu1koqYEYF0='\]$}m,
	'the auth entry was expanded to bob');
like($before, qr{^/r/changed aversion=3 }m, 'three setACLs: aversion 3');
like($before, qr{^  anon get=NoAuthError set=NoAuthError$}m, 'some nodes refuse the anonymous client');
is($node->stop, 0, 'clean stop');
my $pos = $node->log_position;
$node->start;
ok($node->log_contains(qr/recovered from .*: snapshot at zxid/, $pos), 'recovered from a snapshot');
is(state('check'), $before, 'after a clean restart: the same ACLs, aversions and rights');
is($node->stop, 0, 'clean stop');

# No snapshot in sight: after a crash, the log replays setACL and
# create-with-ACL.
configure(100000);
$node->start;
my $more = state('more');
like($more, qr{^/r/changed aversion=4 acl=\['16:world:anyone'\]$}m, 'a fourth setACL (version 3) applies');
$node->kill9;
$pos = $node->log_position;
$node->start;
ok($node->log_contains(qr/recovered from .*then [1-9]\d* WAL records/, $pos), 'recovered from the log');
is(state('more_check'), $more, 'after kill -9: the same ACLs, aversions and rights');
is($node->stop, 0, 'clean stop');

done_testing();
