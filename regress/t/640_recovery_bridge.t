# regress/t/640_recovery_bridge.t: damage in the WAL under a snapshot
# (issue #13), as doc/storage.md "Recovery" says:
#   * a damaged record at zxid 0x50, an intact snapshot at 0x96, records up
#     to 0xbc: the snapshot holds every transaction the damage can hide, so
#     recovery replays across it (a WARN line says where), keeps every
#     record after the snapshot and starts without accept_truncation;
#     verify predicts the line word for word and reports the damage;
#   * damage that straddles the snapshot (records 0x94..0x98 overwritten):
#     the snapshot no longer bridges it; recovery refuses, and the message
#     names the zxid accept_truncation keeps (0x96, the snapshot, not the
#     record before the damage); accept_truncation keeps exactly that.
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


# A data directory as in the issue: 185 nodes written one by one, a
# snapshot after 150 transactions (zxid 0x96), records up to 0xbc.
sub bridge_node
{
	my ($name) = @_;
	my $n = storage_node($name, snapshot_every_txns => 150);
	$n->start;
	kazoo_c($n, 'create', 'b', 185, 100);
	my $listing = listing($n);
	is($n->stop, 0, "$name: clean stop");
	my @snaps = glob($n->data_dir . '/snapshot.*.zst');
	is_deeply([ map { (split m{/})[-1] } @snaps ], ['snapshot.0000000000000096.zst'], "$name: one snapshot, at 0x96");
	return ($n, $listing);
}


# ---- 1. damage the snapshot covers ---------------------------------------------
{
	my ($n, $before) = bridge_node('covered');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my $last = $recs[-1]{zxid};
	ok(hex($last) >= 0xbb, "covered: the WAL reaches $last");
	my ($r, $prev, $next) = map { rec_at($_, @recs) } 0x50, 0x4f, 0x51;
	flip_byte($r->{file}, $r->{offset} + 24 + int($r->{len} / 2));
	my $line = qr/WAL segment \Q$r->{file}\E, offset $r->{offset}: CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) in the record after zxid 0x4f: the snapshot at zxid 0x96 holds every transaction up to zxid 0x51, the first intact record after the damage \(offset $next->{offset}\); /;

	my ($rc, $v) = verify_json($dir);
	is($rc, 1, 'covered: verify exits 1 (a file is damaged)');
	is($v->{status}, 'damaged', 'covered: verify: damaged, but recovery would not fail');
	is($v->{recovers_to_zxid}, $last, "covered: verify: recovery reaches $last");
	my ($w) = grep { /the snapshot at zxid 0x96 holds/ } @{ $v->{warnings} };
	like($w // '', qr/^${line}recovery would replay from there$/, 'covered: verify says where recovery replays from');

	my $pos = $n->log_position;
	ok($n->start(fail_ok => 1), 'covered: the server starts without accept_truncation');
	my $log = $n->log_content($pos);
	my ($got) = $log =~ /WARN \[storage\] (WAL segment .* replaying from there)$/m;
	like($got // '', qr/^${line}replaying from there$/, 'covered: recovery logs the damage it replays across');
	(my $want = $w // '') =~ s/recovery would replay from there$/replaying from there/;
	is($got, $want, 'covered: verify predicted the line word for word');
	my $count = grep { hex($_->{zxid}) > 0x96 } @recs;
	like($log, qr/recovered from .*snapshot at zxid 0x96, then $count WAL records; last zxid $last$/m,
		"covered: every record after the snapshot is replayed (0x97..$last)");
	unlike($log, qr/ERROR|FATAL/, 'covered: no error');
	is(listing($n), $before, 'covered: every acknowledged write is there');
	kazoo_c($n, 'create', 'after', 5, 100);
	my $after = listing($n);
	is($n->stop, 0, 'covered: 5 more writes, clean stop');
	ok((grep { !/00000001-/ } glob("$dir/wal/*.wal")), 'covered: new records went to a new segment');
	$pos = $n->log_position;
	ok($n->start(fail_ok => 1), 'covered: and it starts again');
	is(listing($n), $after, 'covered: with everything');
	is($n->stop, 0, 'covered: clean stop');
}

# ---- 2. damage across the snapshot's zxid --------------------------------------
{
	my ($n, $before) = bridge_node('straddle');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my ($from, $to, $after) = map { rec_at($_, @recs) } 0x94, 0x98, 0x99;
	my $start = $from->{offset} + 30;
	patch($from->{file}, $start, "\xab" x ($to->{offset} + 24 + $to->{len} - $start));
	my $want = qr/^WAL segment \Q$from->{file}\E, offset $from->{offset}: CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) in the record after zxid 0x93; valid records written later follow \(offset $after->{offset}, zxid 0x99\): the log is damaged, not torn\. Set accept_truncation: true to recover up to zxid 0x96 and drop the rest$/;

	my ($rc, $v) = verify_json($dir);
	is($v->{status}, 'fail', 'straddle: verify says recovery would fail');
	like($v->{errors}[0] // '', $want, 'straddle: the message names 0x96, the zxid accept_truncation keeps');
	is($v->{recovers_to_zxid}, '0x96', 'straddle: verify: accept_truncation would keep up to 0x96');

	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'straddle: the server refuses to start');
	my ($msg) = $n->log_content($pos) =~ /FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	is($msg, $v->{errors}[0], 'straddle: verify predicted the message word for word');

	$n->init(modules => { storage_file => { snapshot_every_txns => 150, accept_truncation => 'true' } });
	$pos = $n->log_position;
	$n->start;
	my $log = $n->log_content($pos);
	like($log, qr/ERROR \[storage\] accept_truncation: \Q$msg\E\. Truncating: \d+ bytes \(damaged, holding at least \d+ valid records, zxid 0x99\.\.$recs[-1]{zxid}\) after zxid 0x96 are LOST/,
		'straddle: accept_truncation names what it keeps and what is LOST');
	like($log, qr/last zxid 0x96$/m, 'straddle: recovered to the snapshot');
	is(listing($n), expected_listing(0x96, @recs), 'straddle: exactly the nodes up to the snapshot');
	is($n->stop, 0, 'straddle: clean stop');
}

done_testing();
