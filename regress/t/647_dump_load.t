# regress/t/647_dump_load.t: corralctl dump and load (issue #13, doc/backup.md
# "Logical export"): a subtree with binary data, null data, digest and
# read-only ACLs (a parent whose ACL does not let anyone create under it),
# a container, a TTL node, sequential names and an ephemeral node is dumped
# from one server and loaded into another; the loaded tree has the same
# data, ACLs and kinds (the ephemeral is left out, and said so); loading
# again stops at the first existing node, --update overwrites; a file that
# does not parse loads nothing; `corralctl word dump` is still the word.
use strict;
use warnings;

use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();

my $tmp = File::Temp::tempdir('647_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/make.py", <<'EOP');
import sys, logging, time
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, make_acl, OPEN_ACL_UNSAFE
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
c.add_auth('digest', 'admin:secret')
c.create('/app', b'root of app')
c.create('/app/bin', bytes(range(256)))
c.create('/app/null', None)
c.create('/app/secret', b's3cr3t', acl=[make_digest_acl('admin', 'secret', all=True)])
c.create('/app/ro', b'read only', acl=[make_acl('world', 'anyone', read=True)])
c.create('/app/seq-', b'seq', sequence=True)
c.create('/app/eph', b'eph', ephemeral=True)
c.create('/other', b'not dumped')
print('made')
sys.stdout.flush()
import os; os._exit(0)
EOP
# Every node under /app: path kind data(hex) acl, one per line.
write_file("$tmp/show.py", <<'EOP');
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
c.add_auth('digest', 'admin:secret')
def walk(p):
    d, st = c.get(p)
    o = st.ephemeralOwner
    kind = 'persistent' if o == 0 else 'ephemeral'
    acl = sorted('%s:%s:%d' % (a.id.scheme, a.id.id, a.perms) for a in c.get_acls(p)[0])
    print(p, kind, 'null' if d is None else d.hex(), ','.join(acl))
    for ch in sorted(c.get_children(p)):
        walk(p + '/' + ch)
walk('/app')
c.stop()
EOP

sub node
{
	my ($name) = @_;
	my $n = storage_node($name);
	$n->init(server => { extended_types => 'true' }, modules => { storage_file => {}, auth_digest => {} });
	$n->start;
	return $n;
}

sub show
{
	my ($n) = @_;
	my ($rc, $out, $err) = run_command([ python3(), "$tmp/show.py", $n->address ], timeout => 60);
	die "show.py: $err" if $rc;
	return $out;
}

my $a = node('src');
my $b = node('dst');
my ($rc, $out, $err) = run_command([ python3(), "$tmp/make.py", $a->address ], timeout => 60);
is($out, "made\n", 'the source tree is made') or diag($err);
# A container and a TTL node (kazoo 2.9 cannot make them): corral-cli, as zkCli.sh.
my $cli = $a->build_dir . '/bin/corral-cli';
($rc, $out, $err) = run_command([ $cli, '-server', $a->address, '-f', "$tmp/cli.txt" ], timeout => 60)
  if write_file("$tmp/cli.txt", "create -c /app/ctr \"\"\ncreate /app/ctr/child keeps\ncreate -t 600000 /app/ttl ttl\n") || 1;
is($rc, 0, 'corral-cli made the container and the TTL node') or diag("$out $err");
my $want = show($a);
like($want, qr{^/app/ttl persistent }m, 'the source has a TTL node (shown as persistent: ZooKeeper hides the kind)');

($rc, $out, $err) = ctl('-s', $a->address, 'dump', '--path', '/app', '--auth', 'digest:admin:secret');
is($rc, 0, 'dump: exit 0') or diag($err);
write_file("$tmp/tree.json", $out);
like($err, qr/dumped 10 nodes from \S+\/app/, 'dump: says how many nodes');
my $doc = eval { JSON::PP->new->decode($out) };
ok($doc && @{ $doc->{nodes} } == 10, 'dump: the file is JSON, with every node');
my ($eph) = grep { $_->{path} eq '/app/eph' } @{ $doc->{nodes} // [] };
is($eph->{kind} // '', 'ephemeral', 'dump: the ephemeral node is marked');
my ($ctr) = grep { $_->{path} eq '/app/ctr' } @{ $doc->{nodes} // [] };
is($ctr->{kind} // '', 'persistent', 'dump: a container reads as persistent (ZooKeeper\'s getClientEphemeralOwner hides it)');

($rc, $out, $err) = ctl('-s', $b->address, 'load', "$tmp/tree.json");
is($rc, 0, 'load: exit 0') or diag($err);
like($out, qr/9 nodes created, 0 updated, 1 ephemeral nodes left out/, 'load: what was done');
my $got = show($b);
(my $want_noeph = $want) =~ s{^/app/eph .*\n}{}m;
is($got, $want_noeph, 'the loaded tree has the same data, ACLs and kinds (no ephemeral)');

# Into a server where /app exists already.
my $c = node('dst2');
kazoo_c($c, 'create', 'x', 1, 1);
run_command([ python3(), '-c', "import logging; logging.disable(50)\nfrom kazoo.client import KazooClient\nc=KazooClient('" . $c->address . "'); c.start(10); c.create('/app', b'old'); c.stop()" ], timeout => 60);
($rc, $out, $err) = ctl('-s', $c->address, 'load', "$tmp/tree.json");
is($rc, 1, 'an existing node: refused');
like($err, qr{/app already exists: nothing after it was loaded \(--update overwrites}, 'an existing node: named');
($rc, $out, $err) = ctl('-s', $c->address, 'load', '--update', "$tmp/tree.json");
is($rc, 0, 'load --update: exit 0') or diag($err);
like($out, qr/8 nodes created, 1 updated, 1 ephemeral nodes left out/, 'load --update: what was done');
is(show($c), $want_noeph, 'load --update: the same tree');
$c->stop;

write_file("$tmp/bad.json", "{\"corral_dump\":1,\"path\":\"/\",\"nodes\":[\n{\"path\":\"/x\",\"kind\":\"persistent\",\"data\":\"\\u1234\",\"acl\":[]}\n]}\n");
($rc, $out, $err) = ctl('-s', $b->address, 'load', "$tmp/bad.json");
like($err, qr/bad\.json:2: not a node as corralctl dump writes it; nothing was loaded/, 'a bad file: refused with its line');
($rc, $out) = ctl('-s', $a->address, 'word', 'dump');
like($out, qr/^SessionTracker dump:/m, 'corralctl word dump is still the four-letter word');
$a->stop;
$b->stop;
done_testing();
