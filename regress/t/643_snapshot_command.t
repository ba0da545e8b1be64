# regress/t/643_snapshot_command.t: the admin `snapshot` command (ZooKeeper
# 3.9's AdminServer SnapshotCommand, in admin_http) and `corralctl snapshot`
# (issue #13, doc/backup.md "On-demand snapshot"):
#   * it needs the admin token (401 without), as ZooKeeper needs auth;
#   * the answer streams the state (headers last_zxid, snapshot_size), the
#     member also stores a snapshot in its data directory, and corralctl
#     writes a storage_file snapshot that snapshot-dump reads with every node;
#   * ?streaming=false only stores it (JSON with last_zxid);
#   * the rate limit (snapshot_interval_ms) answers 429;
#   * a member whose data directory was removed (642) can still be read out
#     with --unacknowledged, and the snapshot restores every acknowledged node.
use strict;
use warnings;

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

my $TOKEN = 'snapshot-token-0123456789abcdef';
my $tmp   = File::Temp::tempdir('643_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/token", "$TOKEN\n");
my $json = JSON::PP->new->utf8;

sub admin_node
{
	my ($name, $interval, %storage) = @_;
	my $async = delete $storage{async} // 50000;
	my $n     = storage_node($name);      # (sets up ctl)
	my $aport = $n->allocate_port;
	$n->init(modules => {
		storage_file => {%storage},
		admin_http   => { listen => "127.0.0.1:$aport", auth_token => $TOKEN, commands => ['*'],
			snapshot_interval_ms => $interval, snapshot_async_nodes => $async } });
	return ($n, "127.0.0.1:$aport");
}

{
	my ($n, $admin) = admin_node('snap', 0);
	$n->start;
	kazoo_c($n, 'create', 's', 50, 200);
	my ($rc, $out, $err) = ctl('snapshot', '-s', $admin, '-o', "$tmp/none.zst");
	is($rc, 1, 'no token: exit 1');
	like($err, qr/answered 401 to the snapshot command: .*needs authentication.*--token-file/s, 'no token: 401, and what to do');

	my $pos = $n->log_position;
	($rc, $out, $err) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '-o', "$tmp/s1.zst");
	is($rc, 0, 'snapshot: exit 0') or diag($err);
	my ($zxid) = $out =~ /^snapshot at zxid (0x[0-9a-f]+) from \S+: (\d+) znodes/;
	like($out, qr/: 5[0-9] znodes, \d+ sessions, \d+ bytes, written to \Q$tmp\E\/s1.zst/, 'snapshot: what was written');
	my ($drc, $dump) = ctl('snapshot-dump', '--json', "$tmp/s1.zst");
	is($drc, 0, 'snapshot-dump reads it');
	my @paths = map { $_->{path} } grep { ($_->{kind} // '') eq 'znode' } map { $json->decode($_) } split /\n/, $dump;
	is(scalar(grep { m{^/c/s\d{4}$} } @paths), 50, 'snapshot-dump: every node is in it');
	ok(wait_until(sub { -e sprintf('%s/snapshot.%016x.zst', $n->data_dir, hex $zxid) }, 10),
		'the member stored a snapshot at the same zxid in its data directory');
	ok($n->log_contains(qr/\[admin_http\] 127\.0\.0\.1:\d+: snapshot at zxid $zxid, \d+ bytes, streamed/, $pos),
		'the admin command is logged');

	($rc, $out, $err) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '-o', "$tmp/s2.zst", '--json');
	is($rc, 0, 'snapshot --json: exit 0') or diag($err);
	my $sj = eval { $json->decode($out) } // {};
	is($sj->{file}, "$tmp/s2.zst", 'snapshot --json: the file written');
	is($sj->{file_bytes}, -s "$tmp/s2.zst", 'snapshot --json: its size');
	cmp_ok($sj->{znodes} // 0, '>=', 50, "snapshot --json: the znodes ($sj->{znodes})");
	like($sj->{zxid} // '', qr/^0x[0-9a-f]+$/, 'snapshot --json: the zxid');

	($rc, $out) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '--no-stream');
	is($rc, 0, '--no-stream: exit 0');
	like($out, qr/stored a snapshot at zxid 0x[0-9a-f]+/, '--no-stream: says the zxid');

	# Under writes, the snapshot waits for what it holds to be acknowledged.
	my $pid = fork // die;
	if (!$pid) { kazoo_c($n, 'create', 'w', 300, 100); exit 0 }
	my @got;
	for (1 .. 3)
	{
		my ($r, $o, $e) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '-o', "$tmp/w$_.zst");
		push @got, $r == 0 && $o !~ /never acknowledged/ ? 1 : 0;
	}
	waitpid $pid, 0;
	is_deeply(\@got, [ 1, 1, 1 ], 'under writes: every snapshot holds acknowledged state only');
	is($n->stop, 0, 'clean stop');
}

# A tree at or above snapshot_async_nodes: cloned, written by a thread,
# answered by token (202 then 200); the result is the same.
{
	my ($n, $admin) = admin_node('async', 0, async => 1);
	$n->start;
	kazoo_c($n, 'create', 'z', 30, 100);
	my $pos = $n->log_position;
	my ($rc, $out, $err) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '-o', "$tmp/async.zst");
	is($rc, 0, 'async: exit 0') or diag($err);
	ok($n->log_contains(qr/\[admin_http\] 127\.0\.0\.1:\d+: snapshot at zxid 0x[0-9a-f]+, being written \(token \d+\)/, $pos),
		'async: written off the loop, answered by token');
	my ($drc, $dump) = ctl('snapshot-dump', '--json', "$tmp/async.zst");
	is(scalar(grep { /"path":"\/c\/z\d{4}"/ } split /\n/, $dump), 30, 'async: every node is in it');
	$n->stop;
}

{
	my ($n, $admin) = admin_node('rate', 60000);
	$n->start;
	my ($rc) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '--no-stream');
	is($rc, 0, 'rate: the first snapshot');
	my ($rc2, $out, $err) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '--no-stream');
	is($rc2, 1, 'rate: the second within snapshot_interval_ms is refused');
	like($err, qr/answered 429 .*one snapshot per 60000 ms/s, 'rate: 429, and the setting');
	$n->stop;
}

# ---- rescue: the data directory removed under the server --------------------------
{
	my ($n, $admin) = admin_node('rescue', 0);
	$n->start;
	kazoo_c($n, 'create', 'r', 20, 100);
	remove_tree($n->data_dir);
	ok(wait_until(sub { $n->log_contains(qr/storage lost: /) }, 10), 'rescue: storage lost');
	my ($rc, $out, $err) = ctl('snapshot', '-s', $admin, '--token-file', "$tmp/token", '--unacknowledged',
		'-o', "$tmp/rescue.zst");
	is($rc, 0, 'rescue: the state streams out') or diag($err);
	$n->stop;
	# A fresh data directory with that snapshot: every acknowledged node is back.
	mkdir $n->data_dir or die;
	system('cp', "$tmp/rescue.zst", $n->data_dir . '/' . ($out =~ /^snapshot at zxid (0x[0-9a-f]+)/ ? sprintf('snapshot.%016x.zst', hex $1) : 'x'));
	$n->start;
	is(scalar(() = listing($n) =~ /^r\d{4} 100$/mg), 20, 'rescue: restored, with every node');
	$n->stop;
}

done_testing();
