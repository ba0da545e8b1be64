# regress/t/641_salvage.t: corralctl salvage -D DATA_DIR (issue #13, doc/backup.md
# "Salvage"): a data directory the server refuses becomes one it starts from,
# with every intact record that can be applied in order, and a report of
# exactly what is lost (each lost record by zxid, operation and path); the
# original files are kept in DATA_DIR/salvage-TIME/ with REPORT.txt.  A
# running server's directory is refused; a healthy one is left alone.
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



# ---- 1. damage straddling the snapshot ----------------------------------------
{
	my $n = storage_node('straddle', snapshot_every_txns => 150);
	$n->start;
	kazoo_c($n, 'create', 'b', 185, 100);
	my ($rc, $out, $err) = ctl('salvage', '-D', $n->data_dir);
	is($rc, 1, 'running: salvage refuses a running server\'s directory');
	like($err, qr/is in use by a running server .*LOCK is locked\): stop it first/, 'running: and says why');
	is($n->stop, 0, 'clean stop');
	my $dir = $n->data_dir;
	($rc, $out) = ctl('salvage', '-D', $dir);
	is($rc, 0, 'healthy: exit 0');
	like($out, qr/^nothing to salvage: the server recovers \Q$dir\E as it is/, 'healthy: nothing to salvage');

	my @recs = wal_records($dir);
	my ($from, $to) = map { rec_at($_, @recs) } 0x94, 0x98;
	my $start = $from->{offset} + 30;
	patch($from->{file}, $start, "\xab" x ($to->{offset} + 24 + $to->{len} - $start));
	ok(!$n->start(fail_ok => 1), 'damaged: the server refuses to start');

	my @lost = grep { hex($_->{zxid}) >= 0x99 } @recs;
	($rc, $out) = ctl('salvage', '--dry-run', '-D', $dir);
	is($rc, 0, 'dry run: exit 0');
	like($out, qr/^problem: WAL segment \Q$from->{file}\E, offset $from->{offset}: CRC mismatch .* recover up to zxid 0x96 and drop the rest$/m,
		'dry run: the problem, as the server reports it');
	like($out, qr/^kept: snapshot snapshot.0000000000000096.zst \(zxid 0x96\), and every WAL record after it up to zxid 0x96$/m,
		'dry run: what is kept');
	my @listed = $out =~ /^  LOST .* zxid (0x[0-9a-f]+) /mg;
	is_deeply(\@listed, [ map { $_->{zxid} } @lost ], 'dry run: every intact record after the damage is listed as LOST');
	like($out, qr/^  LOST .* zxid \Q$lost[0]{zxid}\E create path="\Q$lost[0]{path}\E"/m, 'dry run: with operation and path');
	like($out, qr/^lost: ${\ scalar @lost} intact records \(zxid 0x99\.\.\Q$lost[-1]{zxid}\E\)/m, 'dry run: the count');
	like($out, qr/^dry run: nothing changed$/m, 'dry run: says so');
	ok(!$n->start(fail_ok => 1), 'dry run: the server still refuses');

	($rc, $out) = ctl('salvage', '-D', $dir);
	is($rc, 0, 'salvage: exit 0') or diag($out);
	my ($aside) = $out =~ /the original files are in (\S+)$/m;
	ok($aside && -f "$aside/REPORT.txt", 'salvage: the report is kept with the originals');
	ok(-f "$aside/snapshot.0000000000000096.zst" && (() = glob("$aside/wal/*.wal")), 'salvage: the original files are kept');
	my ($vrc, $v) = verify_json($dir);
	is($v->{status}, 'ok', 'salvage: verify finds the new directory clean');
	my $pos = $n->log_position;
	ok($n->start(fail_ok => 1), 'salvage: the server starts without accept_truncation');
	ok($n->log_contains(qr/last zxid 0x96$/m, $pos), 'salvage: at zxid 0x96');
	is(listing($n), expected_listing(0x96, @recs), 'salvage: every node up to the snapshot');
	kazoo_c($n, 'create', 'z', 3, 10);
	is($n->stop, 0, 'salvage: writes, clean stop');
	ok($n->start(fail_ok => 1), 'salvage: starts again');
	like(listing($n), qr/^z0002 10$/m, 'salvage: with the new writes');
	is($n->stop, 0, 'clean stop');
}

# ---- 2. no snapshot, a damaged record in the middle ----------------------------
{
	my $n = storage_node('nosnap');
	$n->start;
	kazoo_c($n, 'create', 'a', 100, 100);
	is($n->stop, 0, 'nosnap: clean stop');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my $r    = rec_at(0x50, @recs);
	flip_byte($r->{file}, $r->{offset} + 24 + int($r->{len} / 2));
	my ($rc, $out) = ctl('salvage', '-D', $dir);
	is($rc, 0, 'nosnap: salvaged');
	like($out, qr/^kept: no snapshot, and every WAL record after it up to zxid 0x4f$/m, 'nosnap: up to the damage');
	my @listed = $out =~ /^  LOST .* zxid (0x[0-9a-f]+) /mg;
	is_deeply(\@listed, [ map { $_->{zxid} } grep { hex($_->{zxid}) > 0x50 } @recs ],
		'nosnap: every intact record after the damage is listed');
	like($out, qr/^  damaged: \S+, offset $r->{offset}: CRC mismatch/m, 'nosnap: and the damaged bytes');
	ok($n->start(fail_ok => 1), 'nosnap: the server starts');
	is(listing($n), expected_listing(0x4f, @recs), 'nosnap: every node before the damage');
	is($n->stop, 0, 'nosnap: clean stop');
}

done_testing();
