# regress/t/600_storage_tools.t: corralctl wal-dump, snapshot-dump and
# verify on a real data directory written by corrald (storage_file), through
# a real client (kazoo): every transaction type the client can produce shows
# up decoded, --json parses, the snapshot's znodes agree with the live tree,
# and verify predicts exactly what the server's recovery then logs.
use strict;
use warnings;

use File::Temp ();
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
my $node = Corral::Test::Cluster->new('tools');
plan skip_all => 'the storage_file module is not built' unless -e $node->modules_dir . '/storage_file.so';

my $tmp  = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ctl  = $node->build_dir . '/bin/corralctl';
my $json = JSON::PP->new->utf8;

sub ctl { return run_command([ $ctl, @_ ], timeout => 60); }

# Every line of a --json output must parse on its own.
sub json_lines
{
	my ($out, $label) = @_;
	my @objs;
	my $bad = 0;
	for my $l (split /\n/, $out)
	{
		my $o = eval { $json->decode($l) };
		if (!$o) { $bad++; diag("$label: not JSON: $l"); next; }
		push @objs, $o;
	}
	is($bad, 0, "$label: every line is a JSON object");
	return @objs;
}

# A workload with every transaction type a client produces.
write_file("$tmp/work.py", <<'EOP');
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.security import ACL, Id
from kazoo.exceptions import NoNodeError
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
c.create('/tools', b'')
c.create('/tools/a', b'alpha')
c.create('/tools/eph', b'e', ephemeral=True)
c.create('/tools/seq-', b'\x00\x01bin\xff"\\', sequence=True)
c.create('/tools/\u00e9t\u00e9', b'utf8 path')
for i in range(1, 31):
    c.set('/tools/a', ('v%d' % i).encode())
t = c.transaction()
t.create('/tools/m1', b'one'); t.create('/tools/m2', b'two'); t.set_data('/tools/a', b'multi', version=30)
t.check('/tools/a', 31)
assert all(isinstance(x, (str, object)) for x in t.commit())
t = c.transaction()
t.create('/tools/never', b'x'); t.set_data('/tools/a', b'bad', version=1)
t.commit()
c.set_acls('/tools/m1', [ACL(17, Id('world', 'anyone'))])
try:
    c.delete('/tools/none')
except NoNodeError:
    pass
c.delete('/tools/m2')
c.create('/tools/big', b'B' * 300)
c.stop()
# a second session that stays open (the server stops with it)
d = KazooClient(sys.argv[1], timeout=30); d.start(10)
d.create('/tools/eph2', b'still here', ephemeral=True)
d.set('/tools/a', b'last')
EOP

# Compares a snapshot-dump --json --data with the live tree: every znode the
# snapshot has and that did not change after its zxid has the same stat and
# data, and every live znode created up to its zxid is in it.
write_file("$tmp/compare.py", <<'EOP');
import sys, json, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
objs = [json.loads(l) for l in open(sys.argv[2])]
hdr = objs[0]
Z = int(hdr['last_zxid'], 16)
snap = {o['path']: o for o in objs if o['kind'] == 'znode'}
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
live = {}
def walk(p):
    data, st = c.get(p)
    live[p] = (data, st)
    for ch in c.get_children(p):
        walk((p.rstrip('/') + '/' + ch))
walk('/')
bad = []
checked = 0
for p, (data, st) in live.items():
    if st.czxid <= Z and p not in snap:
        bad.append('live %s (czxid 0x%x) is not in the snapshot at 0x%x' % (p, st.czxid, Z))
        continue
    if p not in snap or st.mzxid > Z or st.pzxid > Z:
        continue
    s = snap[p]['stat']
    want = {'czxid': hex(st.czxid), 'mzxid': hex(st.mzxid), 'pzxid': hex(st.pzxid), 'ctime': st.ctime,
            'mtime': st.mtime, 'version': st.version, 'cversion': st.cversion, 'aversion': st.aversion,
            'ephemeralOwner': hex(st.ephemeralOwner), 'dataLength': st.dataLength, 'numChildren': st.numChildren}
    # the snapshot keeps cversion as stored (creates counted); clients see
    # cversion * 2 - numChildren (ZooKeeper's DataNode.copyStat)
    s = dict(s, cversion=s['cversion'] * 2 - s['numChildren'])
    for k, v in want.items():
        if s[k] != v:
            bad.append('%s: %s is %r in the snapshot, %r live' % (p, k, s[k], v))
    if snap[p]['data'].encode('latin-1') != data:
        bad.append('%s: data %r in the snapshot, %r live' % (p, snap[p]['data'], data))
    checked += 1
print('checked %d znodes' % checked)
for b in bad:
    print('BAD', b)
c.stop()
EOP

$node->init(modules => { storage_file => { snapshot_every_txns => 25 } });
$node->start;
my ($rc, $out, $err) = run_command([ python3(), "$tmp/work.py", $node->address ], timeout => 60);
is($rc, 0, 'workload ran') or diag($err);
my $data = $node->data_dir;
my $wal  = "$data/wal";

# verify while the server runs: it says so, and finds nothing wrong.
($rc, $out) = ctl('verify', $data);
is($rc, 0, 'verify of a live directory: exit 0') or diag($out);
like($out, qr/WARNING: .* is in use by a running server/, 'verify says the directory is in use');

is($node->stop, 0, 'clean stop');

# ---- wal-dump, text ----
($rc, $out, $err) = ctl('wal-dump', $data);
is($rc, 0, 'wal-dump: exit 0') or diag($err);
like($out, qr{^WAL segment \Q$wal\E/00000001-0000000000000001\.wal: format 1, sequence 1, first zxid 0x1, prev zxid 0x0, preallocated \d+ bytes, \d+ bytes on disk$}m,
	'segment header line');
like($out, qr{^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z session 0x[0-9a-f]+ cxid 0x0 zxid 0x1 createSession timeout=10000$}m,
	'createSession: time, session, cxid, zxid, timeout');
like($out, qr{ zxid 0x2 create path="/tools" data="" acl=\[31:world:anyone\] ephemeral=false parentCVersion=\d+$}m,
	'create with path, data, acl, flags');
like($out, qr{ create path="/tools/eph" data="e" acl=\[31:world:anyone\] ephemeral=true }m, 'ephemeral create');
like($out, qr{ create path="/tools/seq-0000000002" data="\\x00\\x01bin\\xff\\"\\\\" }m,
	'sequential create, binary data escaped');
like($out, qr{ create path="/tools/\\xc3\\xa9t\\xc3\\xa9" }m, 'a UTF-8 path, escaped in text');
like($out, qr{ setData path="/tools/a" data="v7" version=7$}m, 'setData with its new version');
# (a check is logged with the version + 1, as ZooKeeper's CheckVersionTxn)
like($out, qr{ multi \(4 ops\) \[create path="/tools/m1" data="one" .*; create path="/tools/m2" .*; setData path="/tools/a" data="multi" version=31; check path="/tools/a" version=32\]$}m,
	'a multi with its sub-transactions');
like($out, qr{ multi \(2 ops\) \[error err=0 \(Ok\); error err=-103 \(BadVersion\)\]$}m,
	'a failed multi is logged as errors');
like($out, qr{ setACL path="/tools/m1" acl=\[17:world:anyone\] version=1$}m, 'setACL');
like($out, qr{ error err=-101 \(NoNode\)$}m, 'a failed delete is an error txn');
like($out, qr{ delete path="/tools/m2"$}m, 'delete');
like($out, qr{ create path="/tools/big" data="B{64}"\.\.\.\(300 bytes\) }m, 'long data cut after 64 bytes');
like($out, qr{ closeSession ephemerals=\["/tools/eph"\]$}m, 'closeSession with the ephemerals it deletes');
like($out, qr{^end of \Q$wal\E/00000001-0000000000000001\.wal: clean at offset \d+, (\d+) records \(zxid 0x1\.\.0x[0-9a-f]+\)$}m,
	'segment end line');
my ($nrec) = $out =~ /^(\d+) records in 1 segments, zxid 0x1\.\.0x[0-9a-f]+$/m;
ok($nrec, 'summary line');
my @reclines = grep { / zxid 0x[0-9a-f]+ / } split /\n/, $out;
is(scalar @reclines, $nrec, 'one line per record');

# ---- wal-dump --json ----
($rc, $out, $err) = ctl('wal-dump', '--json', $data);
is($rc, 0, 'wal-dump --json: exit 0') or diag($err);
my @o = json_lines($out, 'wal-dump --json');
my @recs = grep { $_->{kind} eq 'record' } @o;
is(scalar @recs, $nrec, 'as many records as in text');
is($o[0]{kind}, 'segment', 'first object: the segment header');
is($o[0]{sequence}, 1, 'segment sequence');
is($o[-1]{kind}, 'summary', 'last object: the summary');
is($o[-1]{problems}, 0, 'no problem');
my $increasing = 1;
for my $i (1 .. $#recs) { $increasing = 0 unless hex($recs[$i]{zxid}) > hex($recs[ $i - 1 ]{zxid}); }
ok($increasing, 'zxids strictly increase');
my ($seq) = grep { ($_->{path} // '') =~ m{^/tools/seq-} } @recs;
is($seq->{data}, "\x00\x01bin\xff\"\\", 'binary data comes back byte for byte (one code point per byte)');
my ($utf) = grep { ($_->{path} // '') =~ m{^/tools/\x{e9}} } @recs;
ok($utf, 'a UTF-8 path stays UTF-8 in JSON');
my ($multi) = grep { $_->{type} eq 'multi' && @{ $_->{txns} } == 4 } @recs;
is(join(',', map { $_->{type} } @{ $multi->{txns} }), 'create,create,setData,check', 'multi sub-transactions');
my ($big) = grep { ($_->{path} // '') eq '/tools/big' } @recs;
is(length $big->{data}, 300, 'JSON data is complete');
is($big->{data_len}, 300, 'data_len');
like($recs[0]{time_iso}, qr/^\d{4}-\d\d-\d\dT/, 'time_iso');
my $last_zxid = $recs[-1]{zxid};

# a single segment by file name
my ($segfile) = glob("$wal/*.wal");
($rc, $out) = ctl('wal-dump', '--json', $segfile);
is($rc, 0, 'wal-dump FILE: exit 0');
is(scalar(grep { $_->{kind} eq 'record' } json_lines($out, 'wal-dump FILE --json')), $nrec, 'wal-dump FILE: the same records');

# ---- snapshot-dump ----
my @snaps = sort glob("$data/snapshot.*.zst");
ok(@snaps >= 1, 'snapshots were taken (' . scalar(@snaps) . ')');
my $newest = $snaps[-1];
my ($snapz) = $newest =~ /snapshot\.([0-9a-f]{16})\.zst$/;
($rc, $out, $err) = ctl('snapshot-dump', $newest);
is($rc, 0, 'snapshot-dump: exit 0') or diag($err);
like($out, qr{^Snapshot \Q$newest\E\n  format 1, last zxid 0x0*\Q@{[sprintf '%x', hex $snapz]}\E, created \d{4}-.*, zstd level 3$}m,
	'snapshot header: zxid, creation time, level');
like($out, qr{header CRC32C ok, payload CRC32C 0x[0-9a-f]{8} ok, zstd checksum ok}, 'checksums reported');
like($out, qr{^Session Details \(sid, timeout, ephemeralCount\):$}m, 'sessions section');
like($out, qr{^ZNode Details \(count=\d+\):$}m, 'znodes section');
like($out, qr{^----\n/tools/a\n  cZxid = 0x2?[0-9a-f]+\n  ctime = \d{4}-.*\n  mZxid = 0x[0-9a-f]+\n  mtime = .*\n  pZxid = .*\n  cversion = \d+\n  dataVersion = \d+\n  aclVersion = 0\n  ephemeralOwner = 0x0\n  dataLength = \d+\n  numChildren = 0\n  aclRef = \d+$}m,
	'a znode with its stat, zkSnapShotToolkit style');
unlike($out, qr/  data = /, 'no data without --data');
($rc, $out) = ctl('snapshot-dump', '--data', $newest);
like($out, qr{^/tools/seq-0000000002\n(?:  .*\n)*  data = "\\x00\\x01bin\\xff\\"\\\\"$}m, '--data shows the data');
($rc, $out) = ctl('snapshot-dump', '--json', '--data', $newest);
is($rc, 0, 'snapshot-dump --json: exit 0');
my @so = json_lines($out, 'snapshot-dump --json');
is($so[0]{kind}, 'header', 'first object: the header');
is(hex($so[0]{last_zxid}), hex($snapz), 'header zxid is the one in the name');
my %paths = map { $_->{path} => $_ } grep { $_->{kind} eq 'znode' } @so;
is($so[0]{znodes}, scalar(keys %paths), 'znode count');
ok($paths{'/'} && $paths{'/zookeeper'} && $paths{'/tools'}, 'the root, /zookeeper and /tools are there');
write_file("$tmp/snap.json", $out);

# ---- verify ----
($rc, $out, $err) = ctl('verify', $data);
is($rc, 0, 'verify: exit 0 on a clean directory') or diag($out . $err);
like($out, qr/^result: OK$/m, 'verify: result OK');
my ($vs, $vn, $vl) = $out =~ /^recovery: snapshot at zxid (0x[0-9a-f]+), then (\d+) WAL records; last zxid (0x[0-9a-f]+)$/m;
is(hex($vs // 0), hex($snapz), 'verify names the newest snapshot');
is($vl, $last_zxid, 'verify: recovery reaches the last zxid of the WAL');
($rc, $out) = ctl('verify', '--json', $data);
my ($v) = json_lines($out, 'verify --json');
is($v->{status}, 'ok', 'verify --json: status ok');
is($v->{recovers_to_zxid}, $last_zxid, 'verify --json: recovers_to_zxid');
is(scalar @{ $v->{errors} }, 0, 'verify --json: no error');

# The server's recovery then says exactly what verify predicted, and the
# snapshot's znodes agree with the live tree.
my $pos = $node->log_position;
$node->start;
ok($node->log_contains(qr/recovered from \S+: snapshot at zxid \Q$vs\E, then \Q$vn\E WAL records; last zxid \Q$vl\E/, $pos),
	"the server recovered as verify said: snapshot $vs, $vn records, $vl");
($rc, $out, $err) = run_command([ python3(), "$tmp/compare.py", $node->address, "$tmp/snap.json" ], timeout => 60);
is($rc, 0, 'compare.py ran') or diag($err);
like($out, qr/^checked [1-9]\d* znodes$/m, 'znodes compared with the live tree');
unlike($out, qr/^BAD/m, 'the snapshot agrees with the live tree') or diag($out);
is($node->stop, 0, 'clean stop');

# ---- usage and errors ----
($rc, $out, $err) = ctl('--help');
like($out, qr/^  wal-dump DIR\|FILE.*\n.*\n  snapshot-dump FILE.*\n.*\n  verify DATA_DIR/m, 'corralctl --help lists the commands');
for my $cmd ([ 'wal-dump' ], [ 'verify' ], [ 'snapshot-dump' ], [ 'wal-dump', '--bogus', $data ],
	[ 'verify', $data, $data ], [ 'wal-dump', '--data', $data ])
{
	($rc, $out, $err) = ctl(@$cmd);
	is($rc, 2, "corralctl @$cmd: usage error, exit 2");
}
($rc, $out) = ctl('verify', '--help');
is($rc, 0, 'verify --help: exit 0');
like($out, qr/^Usage: corralctl verify DATA_DIR/m, 'verify --help: usage');
($rc, $out, $err) = ctl('verify', "$tmp/none");
is($rc, 1, 'verify of a missing directory: exit 1');
($rc, $out, $err) = ctl('snapshot-dump', $segfile);
is($rc, 1, 'snapshot-dump of a WAL segment: exit 1');
like($err, qr/snapshot .* is corrupt \(bad magic \(not a Corral snapshot\)\)/, '... bad magic');
($rc, $out, $err) = ctl('wal-dump', $newest);
is($rc, 1, 'wal-dump of a snapshot: exit 1');
like($out, qr/bad header \(bad magic \(not a Corral WAL segment\)\)/, '... bad magic');
mkdir "$tmp/empty";
($rc, $out) = ctl('verify', "$tmp/empty");
is($rc, 0, 'verify of an empty directory: exit 0 (a new data directory)');
like($out, qr/no snapshot and no WAL/, '... says so');
($rc, $out) = ctl('wal-dump', "$tmp/empty");
is($rc, 0, 'wal-dump of an empty directory: exit 0');
like($out, qr/^no WAL segment in /m, '... says so');

done_testing();
