# regress/t/620_corruption_wal.t: damaged write-ahead logs, as doc/storage.md
# ("Recovery", "Every message") says they are handled, each also judged by
# `corralctl verify` and shown by `corralctl wal-dump`:
#   * a flipped byte in a record in the middle of a segment: startup stops
#     with the documented error (file, offset, zxids) and exit code 1, and
#     changes nothing on disk; accept_truncation: true then truncates there
#     and keeps exactly the transactions before the damage;
#   * a truncated tail, and garbage after the last record: recovery cuts it
#     and the log line says how many bytes;
#   * a missing segment in the middle: startup stops; accept_truncation keeps
#     the log up to the hole and sets the later segments aside (*.discarded);
#   * a missing first segment and no snapshot: startup stops, and
#     accept_truncation cannot help (never an empty tree instead of the data);
#   * damage in records a newer snapshot covers: recovery replays across it
#     (640); if that snapshot is damaged in turn, recovery must not fall back
#     to an older snapshot and replay the log across the damage (refusing is
#     right);
#   * a missing segment and damage before it, with accept_truncation: the
#     later segments are set aside once (before the fix in recovery_plan.c
#     the cut at the damage tried to set them aside again and startup
#     failed with "cannot rename"), and the log ends before the damage, as
#     verify says.
# verify must predict the server's error message word for word.
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


# ---- 1. a flipped byte in the middle of a segment ----------------------------
{
	my $n = storage_node('flip');
	$n->start;
	kazoo_c($n, 'create', 'n', 60, 100);
	my $before = listing($n);
	is($n->stop, 0, 'flip: clean stop');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my ($k)  = grep { ($recs[$_]{path} // '') eq '/c/n0030' } 0 .. $#recs;
	my ($r, $prev, $next) = @recs[ $k, $k - 1, $k + 1 ];
	my $seg = $r->{file};
	flip_byte($seg, $r->{offset} + 24 + int($r->{len} / 2));
	my $damaged = md5_of($seg);
	my $want = qr/^WAL segment \Q$seg\E, offset $r->{offset}: CRC mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) in the record after zxid $prev->{zxid}; valid records written later follow \(offset $next->{offset}, zxid $next->{zxid}\): the log is damaged, not torn\. Set accept_truncation: true to recover up to zxid $prev->{zxid} and drop the rest$/;

	my ($rc, $v) = verify_json($dir);
	is($rc, 1, 'flip: verify exits 1');
	is($v->{status}, 'fail', 'flip: verify says recovery would fail');
	like($v->{errors}[0] // '', $want, 'flip: verify gives the error, with file, offset and zxids');
	is($v->{recovers_to_zxid}, $prev->{zxid}, 'flip: verify: accept_truncation would keep up to the zxid before the damage');
	my ($drc, $dump) = ctl('wal-dump', $dir);
	is($drc, 1, 'flip: wal-dump exits 1');
	like($dump, qr/^DAMAGED: WAL segment \Q$seg\E, offset $r->{offset}: CRC mismatch/m, 'flip: wal-dump reports the damage with its offset');
	like($dump, qr/^\(after the damage\) .* zxid $next->{zxid} create path="\/c\/n0031"/m,
		'flip: wal-dump shows the valid records after the damage');

	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'flip: the server refuses to start');
	is($n->exit_code, 1, 'flip: exit code 1');
	my ($msg) = $n->log_content($pos) =~ /^.* FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	like($msg // '', $want, 'flip: the FATAL line names the file, the offset and the zxids');
	is($msg, $v->{errors}[0], 'flip: verify predicted the message word for word');
	is(md5_of($seg), $damaged, 'flip: the refused start changed nothing in the segment');

	# accept_truncation: true keeps the transactions before the damage.
	$n->init(modules => { storage_file => { accept_truncation => 'true' } });
	$pos = $n->log_position;
	$n->start;
	my $log = $n->log_content($pos);
	like($log, qr/ERROR \[storage\] accept_truncation: \Q$msg\E\. Truncating: \d+ bytes \(damaged, holding at least \d+ valid records, zxid $next->{zxid}\.\.0x[0-9a-f]+\) after zxid $prev->{zxid} are LOST/,
		'flip: accept_truncation logs what is LOST');
	is(listing($n), expected_listing(hex $prev->{zxid}, @recs), 'flip: exactly the nodes created before the damage are there');
	isnt(listing($n), $before, 'flip: (and the later ones are gone)');
	is($n->stop, 0, 'flip: clean stop');
	($rc, $v) = verify_json($dir);
	is($v->{status}, 'ok', 'flip: after the truncation, verify is clean');
	$n->init(modules => { storage_file => {} });
	$pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/recovered from /, $pos) && !$n->log_contains(qr/ERROR|FATAL/, $pos),
		'flip: a normal start afterwards');
	$n->stop;
}

# ---- 2. a truncated tail, and garbage after the last record ----------------
{
	my $n = storage_node('torn');
	$n->start;
	kazoo_c($n, 'create', 't', 40, 300);
	$n->kill9;
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my ($last, $prev) = @recs[ -1, -2 ];
	my $seg  = $last->{file};
	my $cut  = $last->{offset} + 24 + int($last->{len} / 2);
	truncate($seg, $cut) or die "truncate $seg: $!";
	# Recovery counts the bytes up to the last non-zero one.
	open(my $fh, '<:raw', $seg) or die "$seg: $!";
	sysseek($fh, $last->{offset}, 0);
	sysread($fh, my $tail, $cut - $last->{offset});
	close $fh;
	$tail =~ s/\x00+\z//;
	my $dropped = length $tail;

	my ($rc, $v) = verify_json($dir);
	is($rc, 1, 'torn: verify exits 1 (recovery would truncate)');
	is($v->{status}, 'truncate', 'torn: verify says truncate');
	like(join("\n", @{ $v->{warnings} }),
		qr/torn tail at offset $last->{offset} after zxid $prev->{zxid} \(record length $last->{len} runs past the end of the file\): recovery would drop $dropped bytes/,
		'torn: verify says where and how many bytes');
	is($v->{recovers_to_zxid}, $prev->{zxid}, 'torn: verify: recovery reaches the record before');
	my ($drc, $dump) = ctl('wal-dump', $dir);
	is($drc, 1, 'torn: wal-dump exits 1');
	like($dump, qr/^TORN TAIL in \Q$seg\E at offset $last->{offset} after zxid $prev->{zxid} \(record length $last->{len} runs past the end of the file\): $dropped bytes/m,
		'torn: wal-dump reports the torn tail');

	my $pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/WARN \[storage\] WAL segment \Q$seg\E: torn tail at offset $last->{offset} after zxid $prev->{zxid} \(record length $last->{len} runs past the end of the file\): dropped $dropped bytes$/m, $pos),
		"torn: recovery cuts the tail and says how many bytes ($dropped)");
	ok($n->log_contains(qr/recovered from .*; last zxid \Q$prev->{zxid}\E/, $pos), 'torn: recovered to the record before');
	is(listing($n), expected_listing(hex $prev->{zxid}, @recs), 'torn: every node up to the torn record is there');

	# Garbage after the last record (a write that got no further than a few
	# bytes of a header).
	kazoo_c($n, 'create', 'u', 5, 50);
	$n->kill9;
	@recs = wal_records($dir);
	$last = $recs[-1];
	my $end = $last->{offset} + 24 + $last->{len};
	patch($last->{file}, $end, "\xab" x 10);
	($rc, $v) = verify_json($dir);
	is($v->{status}, 'truncate', 'garbage: verify says truncate');
	$pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/WAL segment \Q$last->{file}\E: torn tail at offset $end after zxid $last->{zxid} \([^)]*\)+: dropped 10 bytes$/m, $pos),
		'garbage: recovery drops the 10 bytes');
	is(listing($n), expected_listing(hex $last->{zxid}, @recs), 'garbage: every node is there');
	is($n->stop, 0, 'torn: clean stop');
	($rc) = verify_json($dir);
	is($rc, 0, 'torn: verify is clean afterwards');
}

# ---- 3. a missing segment in the middle ------------------------------------
{
	my $n = storage_node('hole', segment_bytes => 1048576);
	$n->start;
	kazoo_c($n, 'create', 'h', 60, 50000);
	is($n->stop, 0, 'hole: clean stop');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my @segs = sort glob("$dir/wal/*.wal");
	ok(@segs >= 3, 'hole: the WAL has ' . scalar(@segs) . ' segments');
	my ($s1, $s2, $s3) = map { (split m{/}, $_)[-1] } @segs[ 0 .. 2 ];
	my ($last1) = grep { $_->{file} eq $segs[0] } reverse @recs;
	unlink $segs[1] or die "unlink: $!";
	my $want = qr/^WAL segment number 00000002 is missing from \Q$dir\E\/wal \(between \Q$s1\E and \Q$s3\E\): the transactions after zxid (0x[0-9a-f]+) are not all there$/;

	my ($rc, $v) = verify_json($dir);
	is($rc, 1, 'hole: verify exits 1');
	like($v->{errors}[0] // '', $want, 'hole: verify names the missing segment');
	is($v->{recovers_to_zxid}, $last1->{zxid}, 'hole: accept_truncation would keep the first segment');
	my ($drc, $dump) = ctl('wal-dump', $dir);
	is($drc, 1, 'hole: wal-dump exits 1');
	like($dump, qr/^ERROR: WAL segment number 00000002 is missing/m, 'hole: wal-dump reports the hole');

	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'hole: the server refuses to start');
	is($n->exit_code, 1, 'hole: exit code 1');
	my ($msg) = $n->log_content($pos) =~ /^.* FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	like($msg // '', $want, 'hole: the FATAL line names the hole');
	is($msg, $v->{errors}[0], 'hole: verify predicted the message word for word');
	# The transactions missing are those after the end of the first segment
	# (up to the start of the third): the zxid named should be the last one
	# before the hole, where accept_truncation stops.
	my ($named) = ($msg // '') =~ $want;
	is($named, $last1->{zxid}, 'hole: the message names the last zxid before the hole');
	$want = $msg // '';

	$n->init(modules => { storage_file => { segment_bytes => 1048576, accept_truncation => 'true' } });
	$pos = $n->log_position;
	$n->start;
	ok($n->log_contains(qr/ERROR \[storage\] accept_truncation: \Q$want\E; keeping the log up to the end of \Q$s1\E/, $pos),
		'hole: accept_truncation keeps the log up to the hole');
	ok($n->log_contains(qr/accept_truncation: WAL segment \Q$dir\E\/wal\/\Q$s3\E \(records from zxid 0x[0-9a-f]+\) is discarded; its transactions are LOST \(kept as \Q$s3\E\.discarded for inspection\)/, $pos),
		'hole: each later segment is set aside, and logged');
	ok(-e "$dir/wal/$s3.discarded", 'hole: the discarded segment is kept');
	is(listing($n), expected_listing(hex $last1->{zxid}, @recs), 'hole: the nodes of the first segment are there, no more');
	is($n->stop, 0, 'hole: clean stop');
	my $vo;
	($rc, $vo) = ctl('verify', $dir);
	is($rc, 0, 'hole: verify is clean afterwards') or diag($vo);
	like($vo, qr/note: .*\Q$s3\E\.discarded: set aside earlier by accept_truncation/, 'hole: verify mentions the discarded segment');
	($rc, $vo) = ctl('wal-dump', "$dir/wal/$s3.discarded");
	is($rc, 0, 'hole: wal-dump reads a discarded segment by name');
}

# ---- 4. the first segment missing, and no snapshot -------------------------
{
	my $n = storage_node('nofirst', segment_bytes => 1048576);
	$n->start;
	kazoo_c($n, 'create', 'f', 30, 50000);
	is($n->stop, 0, 'nofirst: clean stop');
	my $dir  = $n->data_dir;
	my @segs = sort glob("$dir/wal/*.wal");
	ok(@segs >= 2, 'nofirst: ' . scalar(@segs) . ' segments');
	my ($rc, $out) = ctl('wal-dump', '--json', $segs[1]);
	my ($h) = map { $json->decode($_) } grep { /"kind":"segment"/ } split /\n/, $out;
	unlink $segs[0] or die "unlink: $!";
	my $want = "WAL segment $segs[1] starts after zxid $h->{prev_zxid}, but there is no usable snapshot: the transactions in between are missing (a deleted segment or snapshot?)";
	my $v;
	($rc, $v) = verify_json($dir);
	is($rc, 1, 'nofirst: verify exits 1');
	is($v->{errors}[0], $want, 'nofirst: verify names the gap');
	is($v->{recovers_to_zxid}, 'none', 'nofirst: verify: accept_truncation cannot help');
	for my $accept (0, 1)
	{
		$n->init(modules => { storage_file => { segment_bytes => 1048576, $accept ? (accept_truncation => 'true') : () } });
		my $pos = $n->log_position;
		ok(!$n->start(fail_ok => 1), "nofirst: the server refuses to start (accept_truncation: $accept)");
		is($n->exit_code, 1, "nofirst: exit code 1 (accept_truncation: $accept)");
		ok($n->log_contains(qr/FATAL \[server\] storage storage_file: recovery failed: \Q$want\E$/m, $pos),
			"nofirst: the FATAL line, as verify said (accept_truncation: $accept)");
	}
	ok(-e $segs[1], 'nofirst: nothing was set aside');
}

# ---- 5. accept_truncation under a newer snapshot, then that snapshot lost --
{
	my $n = storage_node('under', snapshot_every_txns => 20);
	$n->start;
	for my $b (1 .. 3)
	{
		my %had = map { $_ => 1 } glob($n->data_dir . '/snapshot.*.zst');
		kazoo_c($n, 'create', "u$b-", 25, 100);
		ok(wait_until(sub { grep { !$had{$_} } glob($n->data_dir . '/snapshot.*.zst') }, 60),
			"under: a new snapshot after batch $b");
	}
	is($n->stop, 0, 'under: clean stop');
	my $dir   = $n->data_dir;
	my @snaps = sort glob("$dir/snapshot.*.zst");
	ok(@snaps >= 2, 'under: ' . scalar(@snaps) . ' snapshots');
	my ($older) = $snaps[-2] =~ /snapshot\.([0-9a-f]{16})\.zst$/;
	my ($newer) = $snaps[-1] =~ /snapshot\.([0-9a-f]{16})\.zst$/;
	# damage a record between the two newest snapshots
	my @recs = wal_records($dir);
	my ($r) = grep { hex($_->{zxid}) == hex($older) + 2 } @recs;
	ok($r && hex($r->{zxid}) < hex($newer), "under: damaging zxid $r->{zxid}, covered by the snapshot at 0x$newer");
	flip_byte($r->{file}, $r->{offset} + 24 + int($r->{len} / 2));
	# The newest snapshot holds every transaction the damage can hide:
	# recovery replays across it (regress/t/640 has the details).
	ok($n->start(fail_ok => 1), 'under: the server starts (the newest snapshot covers the damage)');
	kazoo_c($n, 'create', 'late-', 5, 100);
	my $before = listing($n);
	is($n->stop, 0, 'under: 5 more writes, clean stop');
	my ($rc, $v) = verify_json($dir);
	is($v->{status}, 'damaged', 'under: verify: damaged, but recovery does not fail (the newest snapshot covers it)');

	# The newest snapshots (those at or after the one that covered the
	# damage) are lost in turn: only older ones remain.
	for my $s (glob("$dir/snapshot.*.zst"))
	{
		my ($z) = $s =~ /snapshot\.([0-9a-f]{16})\.zst$/;
		flip_byte($s, 70) if hex($z) >= hex($newer);
	}
	($rc, $v) = verify_json($dir);
	is($rc, 1, 'under: verify exits 1');
	like(join("\n", @{ $v->{warnings} }, @{ $v->{errors} }),
		qr/^WAL segment \Q$r->{file}\E, offset $r->{offset}: CRC mismatch .* the log is damaged, not torn/m,
		'under: verify: the older snapshot does not cover the damage');
	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'under: the server refuses to start (no replay across damage it needs)');
	my ($msg) = $n->log_content($pos) =~ /FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	is($msg, $v->{errors}[0], 'under: with the error verify gave');
}

# ---- 6. a missing segment, and damage before it ----------------------------
{
	my $n = storage_node('holedamage', segment_bytes => 1048576);
	$n->start;
	kazoo_c($n, 'create', 'd', 60, 50000);
	is($n->stop, 0, 'holedamage: clean stop');
	my $dir  = $n->data_dir;
	my @recs = wal_records($dir);
	my @segs = sort glob("$dir/wal/*.wal");
	ok(@segs >= 3, 'holedamage: the WAL has ' . scalar(@segs) . ' segments');
	my @first = grep { $_->{file} eq $segs[0] } @recs;
	my $k = int(@first / 2);
	my ($r, $prev) = @first[ $k, $k - 1 ];
	flip_byte($segs[0], $r->{offset} + 24 + int($r->{len} / 2));
	unlink $segs[1] or die "unlink: $!";
	my @later = map { (split m{/}, $_)[-1] } @segs[ 2 .. $#segs ];

	my ($rc, $v) = verify_json($dir);
	is($v->{status}, 'fail', 'holedamage: verify says recovery would fail');
	like($v->{errors}[0] // '', qr/^WAL segment number 00000002 is missing/, 'holedamage: first the hole');
	like($v->{errors}[1] // '', qr/^WAL segment \Q$segs[0]\E, offset $r->{offset}: CRC mismatch/, 'holedamage: then the damage');
	is($v->{recovers_to_zxid}, $prev->{zxid}, 'holedamage: accept_truncation would keep up to the zxid before the damage');

	my $pos = $n->log_position;
	ok(!$n->start(fail_ok => 1), 'holedamage: the server refuses to start');
	my ($msg) = $n->log_content($pos) =~ /FATAL \[server\] storage storage_file: recovery failed: (.*)$/m;
	is($msg, $v->{errors}[0], 'holedamage: with the first error verify gave');

	$n->init(modules => { storage_file => { segment_bytes => 1048576, accept_truncation => 'true' } });
	$pos = $n->log_position;
	ok($n->start(fail_ok => 1), 'holedamage: accept_truncation: the server starts');
	my $log = $n->log_content($pos);
	unlike($log, qr/cannot rename/, 'holedamage: no segment is set aside twice');
	ok($log =~ /accept_truncation: \Q$v->{errors}[0]\E; keeping the log up to the end of/
		  && $log =~ /accept_truncation: \Q$v->{errors}[1]\E\. Truncating: /,
		'holedamage: both errors are accepted, and logged');
	is(scalar(grep { -e "$dir/wal/$_.discarded" && !-e "$dir/wal/$_" } @later), scalar @later,
		'holedamage: every segment after the hole is set aside');
	is(listing($n), expected_listing(hex $prev->{zxid}, @recs), 'holedamage: exactly the nodes created before the damage');
	is($n->stop, 0, 'holedamage: clean stop');
	($rc, $v) = verify_json($dir);
	is($v->{status}, 'ok', 'holedamage: verify is clean afterwards');
}

done_testing();
