# regress/t/403_fourlw_hash.t: the `hash` four-letter word (the tree digest).
#
# ZooKeeper 3.7+ prints its digest log as "ZXID_HEX: DIGEST" lines
# (DigestCommand); Corral prints one line, the current tree digest and the
# zxid it covers.  The digest changes with every write, not with reads, and
# is the same as the admin endpoint's `hash` command.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $PYTHON = '/usr/bin/python3';

sub have_kazoo
{
	return 0 unless -x $PYTHON;
	my ($rc) = run_command([ $PYTHON, '-c', 'import kazoo.client' ]);
	return $rc == 0;
}

my $KAZOO = <<'PY';
import sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
if sys.argv[2] == "write":
    zk.ensure_path("/h")
    zk.create("/h/a", b"one")
    zk.set("/h/a", b"two")
else:
    zk.get("/h/a")
    zk.get_children("/h")
    zk.exists("/h/none")
zk.stop()
zk.close()
PY

my $node = Corral::Test::Cluster->new('hash');
$node->init(modules => { fourlw => { allow => ['*'] } });
$node->start;

my $HASH_RE = qr/\A([0-9a-f]+): (-?\d+)\n\z/;
my $h0 = $node->fourlw('hash');
like($h0, $HASH_RE, 'hash: one "ZXID_HEX: DIGEST" line, as ZooKeeper\'s DigestCommand');
my ($z0, $d0) = $h0 =~ $HASH_RE;
my ($srvr_zxid) = $node->fourlw('srvr') =~ /^Zxid: 0x([0-9a-f]+)$/m;
is($z0, $srvr_zxid, 'hash: the zxid is the one srvr shows');
cmp_ok(abs($d0), '<', 2**63, 'hash: the digest is a Java long');
is($node->fourlw('hash'), $h0, 'hash: the same answer twice');
{
	my ($rc, $out) = $node->corralctl('hash');
	is($out, $h0, 'corralctl hash prints it');
}

SKIP:
{
	skip "kazoo is not installed for $PYTHON", 6 unless have_kazoo();
	my ($rc, $out, $err) = run_command([ $PYTHON, '-c', $KAZOO, $node->address, 'write' ]);
	is($rc, 0, 'kazoo wrote') or diag($err);
	my ($z1, $d1) = ($node->fourlw('hash') // '') =~ $HASH_RE;
	cmp_ok(hex($z1 // 0), '>', hex($z0), 'after writes: a later zxid');
	isnt($d1, $d0, 'after writes: another digest');
	($rc, $out, $err) = run_command([ $PYTHON, '-c', $KAZOO, $node->address, 'read' ]);
	is($rc, 0, 'kazoo read') or diag($err);
	my ($z2, $d2) = ($node->fourlw('hash') // '') =~ $HASH_RE;
	is($d2, $d1, 'reads leave the digest alone');
	# Sessions are transactions too (createSession/closeSession): the zxid
	# moves, the tree (and so the digest) does not.
	cmp_ok(hex($z2 // 0), '>=', hex($z1 // 0), 'the zxid does not go back');
}
is($node->stop, 0, 'stopped cleanly');

# Not in the allow list: ZooKeeper's refusal.
$node->init(modules => { fourlw => { allow => [qw(ruok srvr)] } });
$node->start;
is($node->fourlw('hash'), "hash is not executed because it is not in the whitelist.\n", 'hash obeys the allow list');
is($node->stop, 0, 'stopped cleanly');

# hash is a ZooKeeper word: listing it draws no warning.
{
	$node->init(modules => { fourlw => { allow => ['hash'] } });
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'allow [hash] is valid');
	unlike($out . $err, qr/not a ZooKeeper four-letter word/, 'allow [hash]: no warning');
}

done_testing();
