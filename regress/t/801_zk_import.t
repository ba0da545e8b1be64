# regress/t/801_zk_import.t: corralctl import-zookeeper on a data directory
# written by Apache ZooKeeper 3.8 (several snapshots, a log tail after the
# last one): after the import, corrald serves every znode with the data, Stat
# and ACL ZooKeeper served; a new sequential child continues ZooKeeper's
# numbering; a session left open on ZooKeeper resumes on Corral with its
# ephemerals; ZooKeeper's files are left as they were.  Also the refusals of
# the command itself (a non-empty target, no ZooKeeper data).
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

my $zk = zk_server('zk');
$zk->start;
zk_client('workload', $zk->address, 6);
zk_client('live', $zk->address, "$tmp/live");
my $before = zk_dump($zk->address);
$zk->stop;
my $zkdir = $zk->data_dir;
my @snaps = glob("$zkdir/version-2/snapshot.*");
my @logs  = glob("$zkdir/version-2/log.*");
cmp_ok(scalar @snaps, '>=', 3, 'ZooKeeper wrote several snapshots (' . scalar(@snaps) . ')');
cmp_ok(scalar @logs,  '>=', 2, 'and several logs (' . scalar(@logs) . ')');
my $zk_print = dir_fingerprint($zkdir);

# ---- import -------------------------------------------------------------
my ($rc, $j, $err, $out) = ctl_json('import-zookeeper', '--from', $zkdir, '-D', "$tmp/c", '--json');
is($rc, 0, 'import-zookeeper exits 0') or diag($err);
ok($j, '--json prints one JSON object') or diag($out);
my ($newest) = sort { hex(($b =~ /\.([0-9a-f]+)$/)[0]) <=> hex(($a =~ /\.([0-9a-f]+)$/)[0]) } @snaps;
is($j->{snapshot}, $newest, 'it starts from the newest snapshot');
cmp_ok($j->{txns}, '>', 0, "and replays the log tail after it ($j->{txns} transactions)");
# "match", or, when writes went on while ZooKeeper wrote it, "not checked
# (fuzzy ...)" or "not confirmed (fuzzy ...)" (a txn applied during the
# write can be in the nodes and not in the digest).  The import itself is
# checked node by node below, and 804 has ZooKeeper check Corral's digest.
like($j->{digest}, qr/^(match$|not (checked|confirmed) \(fuzzy)/, "the snapshot's digest agrees with its nodes ($j->{digest})");
is_deeply($j->{skipped_snapshots}, [], 'no snapshot skipped');
is(dir_fingerprint($zkdir), $zk_print, "ZooKeeper's directory is unchanged");

my ($vrc, $vout) = ctl('verify', "$tmp/c");
is($vrc, 0, 'corralctl verify accepts the imported directory') or diag($vout);
like($vout, qr/last zxid $j->{last_zxid}\b/, "verify reaches the import's last zxid ($j->{last_zxid})");

# ---- the same tree through a client ---------------------------------------
my $node = corral_on('c', "$tmp/c");
my $after = zk_dump($node->address);
is_deeply([ sort keys %$after ], [ sort keys %$before ], 'the same znodes (' . scalar(keys %$before) . ')');
my @diff = tree_diff($before, $after, 'ZooKeeper', 'Corral');
is_deeply(\@diff, [], 'every znode has the same data, every Stat field and the same ACL') or diag(join("\n", @diff));

# ---- sequential numbering continues --------------------------------------
my $st   = $before->{'/app'}{stat};
my $next = ($st->{cversion} + $st->{numChildren}) / 2;   # ZooKeeper's stored cversion
my $name = zk_client('seq', $node->address, '/app');
chomp $name;
is($name, sprintf('/app/n-%010d', $next), "a new sequential child gets ZooKeeper's next number ($next)");

# ---- the session left open resumes ----------------------------------------
my ($sid) = split ' ', slurp_file("$tmp/live");
my $r = JSON::PP->new->decode(zk_client('resume', $node->address, "$tmp/live"));
ok($r->{same}, 'the session left open on ZooKeeper resumes on Corral (same id, its password accepted)');
is_deeply([ sort keys %{ $r->{ephemerals} } ], [ grep { s{^/live/}{} } map { $_ } sort grep { m{^/live/} } keys %$before ],
	'its ephemerals are there');
is_deeply([ grep { $_ != $sid } values %{ $r->{ephemerals} } ], [], 'and still belong to it');
$node->stop;

# ---- the WAL on a directory of its own (storage_file wal_dir: dataLogDir) ----
($rc, $j, $err) = ctl_json('import-zookeeper', '--from', $zkdir, '-D', "$tmp/w", '--wal-dir', "$tmp/wlog", '--json');
is($rc, 0, 'import with --wal-dir') or diag($err);
ok(!-e "$tmp/w/wal" && glob("$tmp/wlog/*.wal"), '... the WAL segment is in the WAL directory');
{
	my $n = Corral::Test::Cluster->new('w');
	my %d = Corral::Test::ZooKeeper::corrald_defaults(data_dir => "$tmp/w");
	$n->init(%d, modules => { %{ $d{modules} }, storage_file => { wal_dir => "$tmp/wlog" } });
	$n->start;
	my $got = zk_dump($n->address);
	$n->stop;
	is_deeply([ sort grep { !m{^/live|^/app/n-} } keys %$got ], [ sort grep { !m{^/live} } keys %$before ],
		'corrald with wal_dir serves the imported tree');
}

# ---- refusals of the command -----------------------------------------------
($rc, undef, $err) = ctl('import-zookeeper', '--from', $zkdir, '-D', "$tmp/c");
is($rc, 1, 'importing into a non-empty directory is refused');
like($err, qr/is not empty/, '... saying so');
mkdir "$tmp/nozk";
($rc, undef, $err) = ctl('import-zookeeper', '--from', "$tmp/nozk", '-D', "$tmp/d");
is($rc, 1, 'a directory without ZooKeeper data is refused');
like($err, qr/holds no ZooKeeper snapshot/, '... saying so');
ok(!-e "$tmp/d", '... and nothing is created');
($rc) = ctl('import-zookeeper', '-D', "$tmp/d");
is($rc, 2, 'a missing --from is a usage error');

done_testing();
