# regress/t/646_wal_dir.t: storage_file's wal_dir (ZooKeeper's dataLogDir, issue
# #13): the WAL on a directory of its own, the snapshots in the data
# directory; recovery, verify --wal-dir, salvage --wal-dir and restore
# --wal-dir follow it.  A wal_dir set while DATA_DIR/wal still holds
# segments is refused (their transactions would be lost), and two servers
# cannot share one WAL directory (its LOCK).
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'the storage_file module is not built'
  unless -e Corral::Test::Cluster->new('probe')->modules_dir . '/storage_file.so';

my $tmp = File::Temp::tempdir('646_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $wal = "$tmp/logdisk/wal";

my $n = storage_node('split', wal_dir => $wal, snapshot_every_txns => 50);
$n->start;
kazoo_c($n, 'create', 'a', 80, 100);
my $want = listing($n);
is($n->stop, 0, 'clean stop');
my $dir = $n->data_dir;
ok((() = glob("$wal/*.wal")) && !(() = glob("$dir/wal/*.wal")), 'the segments are in wal_dir, none in the data directory');
ok((() = glob("$dir/snapshot.*.zst")), 'the snapshots are in the data directory');
$n->start;
is(listing($n), $want, 'recovered from both');
is($n->stop, 0, 'clean stop');
my ($rc, $v) = (ctl('verify', $dir, '--wal-dir', $wal))[0];
is($rc, 0, 'verify --wal-dir: clean');

# Two servers, one WAL directory.
my $other = storage_node('other', wal_dir => $wal);
$n->start;
ok(!$other->start(fail_ok => 1), 'a second server on the same wal_dir is refused');
ok($other->log_contains(qr/\Q$wal\E is in use by another process \(\Q$wal\E\/LOCK is locked\)/), 'because of its LOCK');
$n->stop;

# wal_dir set while DATA_DIR/wal holds the WAL.
my $m = storage_node('moved');
$m->start;
kazoo_c($m, 'create', 'm', 5, 10);
$m->stop;
$m->init(modules => { storage_file => { wal_dir => "$tmp/elsewhere" } });
ok(!$m->start(fail_ok => 1), 'wal_dir with segments left in DATA_DIR/wal: refused');
ok($m->log_contains(qr/\Q${\ $m->data_dir}\E\/wal holds WAL segments, but wal_dir is \Q$tmp\E\/elsewhere: move them there first/),
	'with what to do');

# salvage --wal-dir
my @recs = wal_records($wal);
my ($r) = grep { hex($_->{zxid}) == hex($recs[-1]{zxid}) - 5 } @recs;
flip_byte($r->{file}, $r->{offset} + 24 + int($r->{len} / 2));
ok(!$n->start(fail_ok => 1), 'damage in wal_dir: refused');
my ($src, $out, $err) = ctl('salvage', '-D', $dir, '--wal-dir', $wal);
is($src, 0, 'salvage --wal-dir: exit 0') or diag($err);
like($out, qr/the original WAL is in \Q$wal\E\.salvage-\d{8}T\d{6}Z/, 'salvage --wal-dir: the original WAL is kept beside it');
ok($n->start(fail_ok => 1), 'salvaged: starts');
like(listing($n), qr/^a0000 100$/m, 'salvaged: the data is there');
$n->stop;
done_testing();
