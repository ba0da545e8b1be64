# regress/t/804_zk_export.t: the rollback path.  A tree written through
# kazoo to corrald (storage_file with snapshots every 20 transactions, so the
# export has a snapshot and a WAL tail), exported with
# `corralctl export-zookeeper`; Debian's Apache ZooKeeper 3.8 started on the
# result serves every znode with the data, Stat and ACL corrald served, finds
# its tree digest equal to the one the snapshot carries, keeps the sessions,
# and continues the sequential numbering.  Then the round trip back:
# import-zookeeper of what ZooKeeper wrote.
use strict;
use warnings;

use File::Temp ();
use Compress::Zlib ();
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(corrald_defaults);
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

my $node = Corral::Test::Cluster->new('c');
my %d = corrald_defaults();
$node->init(%d, modules => { %{ $d{modules} }, storage_file => { snapshot_every_txns => 20 } });
$node->start;
zk_client('workload', $node->address, 4);
zk_client('live', $node->address, "$tmp/live");
my $before = zk_dump($node->address);
$node->stop;
my @snaps = glob($node->data_dir . '/snapshot.*.zst');
ok(@snaps >= 1, 'corrald wrote snapshots (' . scalar(@snaps) . ')');

my $zk = zk_server('zk');
my ($rc, $j, $err, $out) = ctl_json('export-zookeeper', '-D', $node->data_dir, '--to', $zk->data_dir, '--json');
is($rc, 0, 'export-zookeeper exits 0') or diag($err);
cmp_ok($j->{txns}, '>', 0, "a snapshot and a log of $j->{txns} transactions");
ok(-e $zk->data_dir . "/version-2/snapshot." . substr($j->{snapshot_zxid}, 2), 'version-2/snapshot.<zxid>');
ok(-e $zk->data_dir . '/version-2/acceptedEpoch' && -e $zk->data_dir . '/version-2/currentEpoch', 'and the epoch files');

# ZooKeeper compares the digest the snapshot carries with its own as it
# loads it (FileSnap.deserialize, compareSnapshotDigests): mntr counts the
# mismatches.  A copy whose digest is off by one (seals recomputed) shows
# that the check runs.
sub mismatches
{
	my ($addr) = @_;
	my (undef, $m) = ctl('-s', $addr, 'mntr');
	return ($m =~ /^zk_digest_mismatches_count\s+(\d+)/m) ? $1 : 'absent';
}
my $zk2 = zk_server('zk2');
system('mkdir', '-p', $zk2->data_dir) == 0 or die;
system('cp', '-a', $zk->data_dir . '/version-2', $zk2->data_dir . '/') == 0 or die;
my ($sf) = glob($zk2->data_dir . '/version-2/snapshot.*');
my $bytes = slurp_file($sf);
my $L = length $bytes;
my ($hi, $lo) = unpack('NN', substr($bytes, $L - 21, 8));
substr($bytes, $L - 21, 8) = pack('NN', $hi, ($lo + 1) & 0xffffffff);
substr($bytes, $L - 13, 8) = pack('NN', 0, Compress::Zlib::adler32(substr($bytes, 0, $L - 13)));
write_file($sf, $bytes);
$zk2->start;
is(mismatches($zk2->address), 1, 'ZooKeeper checks the digest an exported snapshot carries (one changed by 1: a mismatch)');
$zk2->stop;

$zk->start;
my $served = zk_dump($zk->address);
my @diff = tree_diff($before, $served, 'Corral', 'ZooKeeper');
is_deeply(\@diff, [], 'ZooKeeper 3.8 serves every znode with the data, Stat and ACL corrald served')
  or diag(join("\n", @diff));
is(mismatches($zk->address), 0, "ZooKeeper's digest check at load finds no mismatch");

my $st   = $before->{'/app'}{stat};
my $next = ($st->{cversion} + $st->{numChildren}) / 2;
my $name = zk_client('seq', $zk->address, '/app');
chomp $name;
is($name, sprintf('/app/n-%010d', $next), "ZooKeeper continues Corral's sequential numbering ($next)");
my $r = JSON::PP->new->decode(zk_client('resume', $zk->address, "$tmp/live"));
ok($r->{same}, 'a session left open on Corral resumes on ZooKeeper');
my $after_zk = zk_dump($zk->address);
$zk->stop;

# ---- and back -------------------------------------------------------------
($rc, $j, $err) = ctl_json('import-zookeeper', '--from', $zk->data_dir, '-D', "$tmp/back", '--json');
is($rc, 0, 'what ZooKeeper wrote after the rollback imports again') or diag($err);
my $n2 = corral_on('c2', "$tmp/back");
my $back = zk_dump($n2->address);
$n2->stop;
is_deeply($back, $after_zk, 'and corrald serves what ZooKeeper served');

($rc, undef, $err) = ctl('export-zookeeper', '-D', "$tmp/back", '--to', $zk->data_dir);
is($rc, 1, 'exporting into a non-empty directory is refused');
like($err, qr/is not empty/, '... saying so');

done_testing();
