# regress/t/621_corruption_snapshot.t: damaged snapshots, and the fallback
# doc/storage.md documents ("Recovery", step 2): a snapshot that fails a
# check is logged, renamed *.corrupt, and recovery uses the previous one (or
# the WAL alone) with the WAL after it, losing nothing:
#   * the newest snapshot with a flipped byte in its payload;
#   * the newest snapshot truncated;
#   * every snapshot damaged (header, payload, truncation), with a WAL that
#     reaches back to the start of history: the WAL alone;
#   * every snapshot damaged and the WAL no longer reaching back (retention
#     removed the first segments): startup stops, exit code 1, rather than
#     start from an empty tree.
# Each case is also judged by `corralctl verify` (which must predict the
# server's recovery line or error word for word) and `snapshot-dump`.
use strict;
use warnings;

use Digest::MD5;
use File::Temp ();
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'the storage_file module is not built'
  unless -e Corral::Test::Cluster->new('probe')->modules_dir . '/storage_file.so';

my $json = JSON::PP->new->utf8;

sub snaps { return sort glob("$_[0]/snapshot.*.zst"); }

# Creates $batches x $per znodes, waiting after each batch (more than
# snapshot_every_txns transactions) until a new snapshot is on disk, so that
# the number of snapshots does not depend on the machine's speed (requests
# that come while a snapshot is being written are merged into one).
sub load_with_snapshots
{
	my ($n, $prefix, $batches, $per, $size) = @_;
	for my $b (1 .. $batches)
	{
		my %had = map { $_ => 1 } snaps($n->data_dir);
		kazoo_c($n, 'create', "$prefix$b-", $per, $size);
		ok(wait_until(sub { grep { !$had{$_} } snaps($n->data_dir) }, 60),
			$n->name . ": a new snapshot after batch $b");
	}
}

sub zxid_of { my ($z) = $_[0] =~ /snapshot\.([0-9a-f]{16})\.zst/; return sprintf('0x%x', hex $z); }

# The server's "recovered from" line after $pos, as (snapshot zxid or '',
# records, last zxid).
sub recovered
{
	my ($n, $pos) = @_;
	my $log = $n->log_content($pos);
	return ($1, $2, $3) if $log =~ /recovered from \S+: snapshot at zxid (0x[0-9a-f]+), then (\d+) WAL records; last zxid (0x[0-9a-f]+)/;
	return ('', $1, $2) if $log =~ /recovered from \S+: no snapshot, (\d+) WAL records; last zxid (0x[0-9a-f]+)/;
	return;
}

# What verify (text) says recovery will do, in the same shape.
sub predicted
{
	my ($out) = @_;
	return ($1, $2, $3) if $out =~ /^recovery: snapshot at zxid (0x[0-9a-f]+), then (\d+) WAL records; last zxid (0x[0-9a-f]+)$/m;
	return ('', $1, $2) if $out =~ /^recovery: no snapshot, (\d+) WAL records; last zxid (0x[0-9a-f]+)$/m;
	return;
}

# Damages the newest snapshot with $how, restarts, and checks the fallback.
sub newest_damaged
{
	my ($label, $how, $reason_re) = @_;
	my $n = storage_node($label, snapshot_every_txns => 20);
	$n->start;
	load_with_snapshots($n, 's', 4, 25, 200);
	my $before = listing($n);
	is($n->stop, 0, "$label: clean stop");
	my $dir = $n->data_dir;
	my @s   = snaps($dir);
	ok(@s >= 2, "$label: " . scalar(@s) . ' snapshots');
	my ($newest, $prev) = @s[ -1, -2 ];
	my ($rc, $clean) = ctl('verify', $dir);
	my (undef, undef, $last) = predicted($clean);
	$how->($newest);

	my $vout;
	($rc, $vout) = ctl('verify', $dir);
	is($rc, 1, "$label: verify exits 1 (a damaged snapshot)");
	like($vout, qr/^WARNING: snapshot \Q$newest\E is corrupt \($reason_re\); recovery would fall back to the previous snapshot and rename it to \Q$newest\E\.corrupt$/m,
		"$label: verify says the snapshot is corrupt, why, and what recovery does");
	my @p = predicted($vout);
	is($p[0], zxid_of($prev), "$label: verify: recovery would use the previous snapshot");
	is($p[2], $last, "$label: verify: ... and still reach the last zxid");
	like($vout, qr/^result: DAMAGED/m, "$label: verify: result DAMAGED");
	my ($src, $sout, $serr) = ctl('snapshot-dump', $newest);
	is($src, 1, "$label: snapshot-dump of the damaged snapshot exits 1");
	like($serr, qr/snapshot \Q$newest\E is corrupt \($reason_re\)/, "$label: snapshot-dump says why");

	my $pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/ERROR \[storage\] snapshot \Q$newest\E is corrupt \($reason_re\); falling back to the previous snapshot; renamed to \Q$newest\E\.corrupt$/m, $pos),
		"$label: the server logs the fallback");
	is(join(' ', recovered($n, $pos)), join(' ', @p), "$label: the server recovered as verify said (@p)");
	ok(-e "$newest.corrupt" && !-e $newest, "$label: the snapshot was set aside as .corrupt");
	is(listing($n), $before, "$label: nothing was lost");
	is($n->stop, 0, "$label: clean stop");
	($rc, $vout) = ctl('verify', $dir);
	is($rc, 0, "$label: verify is clean afterwards") or diag($vout);
	like($vout, qr/^note: .*\.corrupt: set aside earlier as corrupt/m, "$label: verify mentions the .corrupt file");
}

# ---- 1. newest snapshot: a flipped byte in the payload ---------------------
newest_damaged('payload', sub {
		my ($f) = @_;
		flip_byte($f, 64 + int(((-s $f) - 64) / 2));
	},
	qr/payload CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);

# ---- 2. newest snapshot: truncated -----------------------------------------
newest_damaged('truncated', sub {
		my ($f) = @_;
		truncate($f, int((-s $f) / 2)) or die "truncate: $!";
	},
	qr/file is \d+ bytes but its header says \d+/);

# ---- 3. every snapshot damaged; the WAL reaches back to the start ----------
{
	my $n = storage_node('walonly', snapshot_every_txns => 20);
	$n->start;
	load_with_snapshots($n, 'w', 4, 25, 200);
	my $before = listing($n);
	is($n->stop, 0, 'walonly: clean stop');
	my $dir = $n->data_dir;
	my @s   = snaps($dir);
	ok(@s == 3, 'walonly: 3 snapshots kept');
	flip_byte($s[0], 20);                                        # header
	flip_byte($s[1], 64 + int(((-s $s[1]) - 64) / 2));            # payload
	truncate($s[2], 40) or die "truncate: $!";                   # shorter than a header
	my ($rc, $vout) = ctl('verify', $dir);
	is($rc, 1, 'walonly: verify exits 1');
	like($vout, qr/^WARNING: snapshot \Q$s[0]\E is corrupt \(snapshot header CRC mismatch .*\); recovery would fall back to the WAL alone/m,
		'walonly: the oldest: header CRC');
	like($vout, qr/^WARNING: snapshot \Q$s[2]\E is corrupt \(file is 40 bytes, shorter than the 64-byte snapshot header\); recovery would fall back to the previous snapshot/m,
		'walonly: the newest: too short');
	my @p = predicted($vout);
	is($p[0], '', 'walonly: verify: no snapshot usable, the WAL alone');
	my $pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/snapshot \Q$s[0]\E is corrupt \(snapshot header CRC mismatch .*\); falling back to the WAL alone; renamed/, $pos),
		'walonly: the server falls back to the WAL alone');
	is(join(' ', recovered($n, $pos)), join(' ', @p), "walonly: the server recovered as verify said (@p)");
	is(listing($n), $before, 'walonly: nothing was lost');
	is($n->stop, 0, 'walonly: clean stop');
}

# ---- 4. every snapshot damaged; retention removed the first segments -------
{
	my $n = storage_node('nosnap', snapshot_every_txns => 20, keep_snapshots => 2, segment_bytes => 1048576);
	$n->start;
	load_with_snapshots($n, 'r', 4, 25, 50000);
	is($n->stop, 0, 'nosnap: clean stop');
	my $dir  = $n->data_dir;
	my @segs = sort glob("$dir/wal/*.wal");
	my ($seq1) = $segs[0] =~ m{/([0-9a-f]{8})-[0-9a-f]{16}\.wal$};
	ok(hex($seq1) > 1, "nosnap: retention removed the first segments (the oldest left is number $seq1)");
	my @s = snaps($dir);
	flip_byte($_, 64 + int(((-s $_) - 64) / 2)) for @s;
	my %md5 = map { $_ => md5_of($_) } @segs;
	my ($rc, $v) = verify_json($dir);
	is($rc, 1, 'nosnap: verify exits 1');
	is($v->{status}, 'fail', 'nosnap: verify: recovery would fail');
	is($v->{recovers_to_zxid}, 'none', 'nosnap: verify: accept_truncation cannot help');
	like($v->{errors}[0] // '', qr/^WAL segment \Q$segs[0]\E starts after zxid 0x[0-9a-f]+, but there is no usable snapshot \(the others are corrupt\): the transactions in between are missing \(a deleted segment or snapshot\?\)$/,
		'nosnap: verify gives the error');
	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'nosnap: the server refuses to start');
	is($n->exit_code, 1, 'nosnap: exit code 1');
	my ($msg) = $n->log_content($pos) =~ /FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	is($msg, $v->{errors}[0], 'nosnap: the FATAL line, as verify said');
	is(scalar(grep { md5_of($_) eq $md5{$_} } @segs), scalar @segs, 'nosnap: the WAL segments are untouched');
	is(scalar(grep { -e "$_.corrupt" } @s), scalar @s, 'nosnap: the damaged snapshots were set aside, not deleted');
}

done_testing();
