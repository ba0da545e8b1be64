# regress/t/644_backup_restore.t: online backup, WAL archiving and
# point-in-time restore (issue #13, doc/backup.md):
#   * corralctl backup of a standalone member while writers run: restored,
#     every node whose create was acknowledged at or before the backup's end
#     zxid is there, and none after it;
#   * the manifest: a damaged snapshot, a damaged manifest, no manifest are
#     refused with the file named;
#   * archive_dir + archive_timeout: every completed segment is archived;
#     restore --archive to a zxid in the middle, to a time, to the latest;
#   * an archive with a missing segment is refused (the planner's message);
#   * archive_command failing: retention removes no unarchived segment, the
#     failures show in mntr (wal_archive_failures, wal_archive_lag_segments).
use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(remove_tree);
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'the storage_file module is not built'
  unless -e Corral::Test::Cluster->new('probe')->modules_dir . '/storage_file.so';

my $TOKEN = 'backup-token-0123456789abcdef';
my $tmp   = File::Temp::tempdir('644_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/token", "$TOKEN\n");
my $json = JSON::PP->new->utf8;
write_file("$tmp/czxid.py", <<'EOP');
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
for ch in sorted(c.get_children('/c')):
    print(ch, hex(c.exists('/c/' + ch).czxid))
c.stop()
EOP

# name => czxid of every child of /c on $n
sub czxids
{
	my ($n) = @_;
	my ($rc, $out, $err) = run_command([ python3(), "$tmp/czxid.py", $n->address ], timeout => 120);
	die "czxid.py: $err" if $rc;
	return { map { split / / } split /\n/, $out };
}

sub names_upto
{
	my ($all, $z) = @_;
	return join ',', sort grep { hex($all->{$_}) <= $z } keys %$all;
}

# A node started on a restored data directory.
sub restored_node
{
	my ($name, $dir) = @_;
	my $r = Corral::Test::Cluster->new($name);
	$r->init(server => { data_dir => $dir }, modules => { storage_file => {} });
	$r->start;
	return $r;
}

my $arch = "$tmp/archive";
mkdir $arch or die;
my $n     = storage_node('primary');
my $aport = $n->allocate_port;
$n->init(modules => {
	storage_file => { segment_bytes => 1048576, archive_dir => $arch, archive_timeout => 1 },
	admin_http   => { listen => "127.0.0.1:$aport", auth_token => $TOKEN, commands => ['*'], snapshot_interval_ms => 0 } });
$n->start;
kazoo_c($n, 'create', 'a', 100, 100);

# ---- 1. backup under concurrent writers ---------------------------------------------
my $pid = fork // die;
if (!$pid) { kazoo_c($n, 'create', 'w', 1500, 2000); exit 0 }
sleep 1;
my ($rc, $out, $err) = ctl('backup', '-s', "127.0.0.1:$aport", '--token-file', "$tmp/token", '-o', "$tmp/bk", '--json');
is($rc, 0, 'backup: exit 0') or diag($err);
my $sum = eval { $json->decode($out) } // {};
my $end = hex($sum->{end_zxid} // 0);
waitpid $pid, 0;
is($?, 0, 'the writers finished');
# More writes after the backup, whatever the race above gave (on a quiet
# machine the writer can finish before the backup's snapshot): the
# archive and the point-in-time restores below need records after its end.
kazoo_c($n, 'create', 'x', 1500, 2000);
ok($end > 0, "backup: end zxid $sum->{end_zxid}, mode $sum->{mode}");
is($sum->{mode}, 'standalone', 'backup: the mode is in the summary');
ok(-f "$tmp/bk/backup_manifest" && -f sprintf('%s/bk/snapshot.%016x.zst', $tmp, $end), 'backup: manifest and snapshot');
my $manifest = do { local $/; open(my $fh, '<', "$tmp/bk/backup_manifest") or die; <$fh> };
like($manifest, qr/"start_zxid": "0x[0-9a-f]+",\n"end_zxid": "$sum->{end_zxid}"/, 'manifest: start and end zxid');
like($manifest, qr/"server_version": "[^"]*corral[^"]*"/i, 'manifest: the server version');
like($manifest, qr/\{"path": "snapshot\.[0-9a-f]{16}\.zst", "size": \d+, "crc32c": "0x[0-9a-f]{8}"/, 'manifest: the file, size and checksum');
my $all = czxids($n);
my $late = grep { hex($all->{$_}) > $end } keys %$all;
ok($late > 0, "some writes ($late) came after the backup's end");

($rc, $out, $err) = ctl('restore', "$tmp/bk", '-D', "$tmp/r1");
is($rc, 0, 'restore: exit 0') or diag($err);
my $r = restored_node('r1', "$tmp/r1");
is(names_upto(czxids($r), 1 << 62), names_upto($all, $end), 'restore: every write up to the end zxid, none after');
$r->stop;

# ---- 2. damaged backups ---------------------------------------------------------------
{
	system('cp', '-a', "$tmp/bk", "$tmp/bk_bad") == 0 or die;
	my ($snapf) = glob("$tmp/bk_bad/snapshot.*.zst");
	flip_byte($snapf, 100);
	($rc, $out, $err) = ctl('restore', "$tmp/bk_bad", '-D', "$tmp/rbad");
	is($rc, 1, 'damaged snapshot: refused');
	like($err, qr/backup \S+ is damaged: \Q$snapf\E fails its checksum \(manifest 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/, 'damaged snapshot: the file is named');
	ok(!-e "$tmp/rbad", 'damaged snapshot: nothing written');
	system('cp', "$tmp/bk/snapshot." . sprintf('%016x', $end) . '.zst', $snapf);
	patch("$tmp/bk_bad/backup_manifest", 30, 'X');
	($rc, $out, $err) = ctl('restore', "$tmp/bk_bad", '-D', "$tmp/rbad");
	like($err, qr/backup_manifest (fails its checksum|is not a Corral backup manifest)/, 'damaged manifest: refused');
	unlink "$tmp/bk_bad/backup_manifest";
	($rc, $out, $err) = ctl('restore', "$tmp/bk_bad", '-D', "$tmp/rbad");
	like($err, qr/is not a backup: cannot read \S+backup_manifest/, 'no manifest: refused');
}

# ---- 3. archiving and point in time ---------------------------------------------------
my @recs = wal_records($n->data_dir);
my $last = hex($recs[-1]{zxid});
ok(wait_until(sub { my @a = map { wal_records($_) } glob("$arch/*.wal"); @a && hex($a[-1]{zxid}) >= $last }, 30),
	'archive_timeout: the last records are archived within seconds');
my @arch = sort glob("$arch/*.wal");
ok(@arch >= 3, scalar(@arch) . ' segments archived');
my ($mrc, $mntr) = ctl('-s', $n->address, 'mntr');
like($mntr, qr/wal_archived_segments\s+\d+/, 'mntr: wal_archived_segments');
like($mntr, qr/wal_archive_last_zxid\s+\d+/, 'mntr: wal_archive_last_zxid');
like($mntr, qr/wal_archive_lag_segments\s+0\b/, 'mntr: no lag');

my @after = grep { hex($_->{zxid}) > $end } map { wal_records($_) } @arch;
my $mid = $after[ int(@after / 2) ];
($rc, $out, $err) = ctl('restore', "$tmp/bk", '--archive', $arch, '-D', "$tmp/r2", '--to-zxid', $mid->{zxid});
is($rc, 0, "PITR to zxid $mid->{zxid}: exit 0") or diag($err);
like($out, qr/last zxid $mid->{zxid} \(stopped at the target\)/, 'PITR to a zxid: says where it stopped');
$r = restored_node('r2', "$tmp/r2");
is(names_upto(czxids($r), 1 << 62), names_upto($all, hex $mid->{zxid}), 'PITR to a zxid: exactly the writes up to it');
$r->stop;

($rc, $out, $err) = ctl('restore', "$tmp/bk", '--archive', $arch, '-D', "$tmp/r3");
is($rc, 0, 'PITR to the latest: exit 0') or diag($err);
$r = restored_node('r3', "$tmp/r3");
is(names_upto(czxids($r), 1 << 62), names_upto($all, 1 << 62), 'PITR to the latest: every write');
$r->stop;

my $t = $after[ int(@after / 3) ]{time};
my ($upto) = reverse grep { $_->{time} <= $t } @after;
($rc, $out, $err) = ctl('restore', "$tmp/bk", '--archive', $arch, '-D', "$tmp/r4", '--to-time', $t);
is($rc, 0, 'PITR to a time: exit 0') or diag($err);
$r = restored_node('r4', "$tmp/r4");
is(names_upto(czxids($r), 1 << 62), names_upto($all, hex $upto->{zxid}), "PITR to a time ($t ms): the writes up to it");
$r->stop;

($rc, $out, $err) = ctl('restore', "$tmp/bk", '--archive', $arch, '-D', "$tmp/r5", '--to-zxid', sprintf('0x%x', $end - 1));
like($err, qr/ends at zxid 0x[0-9a-f]+: it cannot restore to the earlier zxid/, 'a zxid before the backup: refused');

# a missing segment in the middle of the archive
{
	system('cp', '-a', $arch, "$tmp/arch2") == 0 or die;
	my @a2 = sort glob("$tmp/arch2/*.wal");
	unlink $a2[-2] or die;
	($rc, $out, $err) = ctl('restore', "$tmp/bk", '--archive', "$tmp/arch2", '-D', "$tmp/r6");
	is($rc, 1, 'missing archived segment: refused');
	like($err, qr/cannot restore: WAL segment number [0-9a-f]{8} is missing from \Q$tmp\E\/arch2/, 'missing archived segment: named');
	ok(!-e "$tmp/r6", 'missing archived segment: nothing written');
}
is($n->stop, 0, 'primary: clean stop');

# ---- 4. archive_command failing: retention keeps every unarchived segment ----------------
{
	my $f = storage_node('failing', segment_bytes => 1048576, keep_snapshots => 1, snapshot_every_txns => 100,
		archive_command => 'exit 3');
	$f->start;
	kazoo_c($f, 'create', 'f', 800, 3000);
	ok(wait_until(sub { $f->log_contains(qr/archiving WAL segment 00000001 failed \(retrying in \d+ s; retention keeps it\): archive_command "exit 3" exited with status 3/) }, 20),
		'failing: the failure is logged');
	my @segs = sort glob($f->data_dir . '/wal/0*.wal');
	ok(@segs >= 3 && $segs[0] =~ m{/00000001-}, 'failing: retention removed no segment (' . scalar(@segs) . ', the first still there)');
	my ($frc, $fm) = ctl('-s', $f->address, 'mntr');
	like($fm, qr/wal_archive_failures\s+[1-9]/, 'failing: mntr counts the failures');
	like($fm, qr/wal_archive_lag_segments\s+[1-9]/, 'failing: mntr shows the lag');
	$f->stop;
}

done_testing();
