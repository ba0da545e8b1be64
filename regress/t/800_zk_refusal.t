# regress/t/800_zk_refusal.t: corrald (storage_file) and corralctl verify
# pointed at an Apache ZooKeeper data directory (written here by ZooKeeper
# 3.8) refuse, exit 1, name `corralctl import-zookeeper`, and leave the
# directory byte-identical: given as data_dir itself, as its version-2/, and
# as the directory above it.  A directory holding Corral data beside
# ZooKeeper's (imported into before) starts as usual.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $zk = zk_server('zk', snapCount => 10);
$zk->start;
zk_client('workload', $zk->address, 2);
$zk->stop;
my $zkdir = $zk->data_dir;
# a quorum member's files too
write_file("$zkdir/myid", "1\n");

my $parent = $zk->basedir;
for my $case ([ 'the dataDir', $zkdir ], [ 'its version-2/', "$zkdir/version-2" ], [ 'the directory above', $parent ])
{
	my ($what, $dir) = @$case;
	my $print = dir_fingerprint($parent);

	my $node = Corral::Test::Cluster->new('c');
	$node->init(server => { data_dir => $dir }, modules => { storage_file => {} });
	my $ok = $node->start(fail_ok => 1);
	is($ok, 0, "corrald does not start on $what");
	is($node->exit_code, 1, '... it exits 1');
	my $log = slurp_file($node->logfile);
	like($log, qr/holds Apache ZooKeeper data .*corralctl import-zookeeper/, '... naming corralctl import-zookeeper')
	  or diag($log);

	my ($rc, $out, $err) = ctl('verify', $dir);
	is($rc, 1, "corralctl verify on $what exits 1");
	like($err, qr/holds Apache ZooKeeper data .*corralctl import-zookeeper/, '... naming the import command');
	is(dir_fingerprint($parent), $print, "... and $what is byte-identical (nothing written, nothing created)");
}

# ZooKeeper's dataLogDir given as storage_file's wal_dir.
{
	my $print = dir_fingerprint($parent);
	my $node = Corral::Test::Cluster->new('cw');
	$node->init(server => { data_dir => "$parent/fresh" },
		modules => { storage_file => { wal_dir => "$zkdir/version-2" } });
	is($node->start(fail_ok => 1), 0, 'corrald does not start with ZooKeeper\'s log directory as wal_dir');
	like(slurp_file($node->logfile), qr/holds Apache ZooKeeper data .*corralctl import-zookeeper/, '... naming the import');
	is(dir_fingerprint($parent), $print, '... writing nothing, creating nothing');
	mkdir "$parent/fresh2";
	my ($rc, undef, $err) = ctl('verify', "$parent/fresh2", '--wal-dir', "$zkdir/version-2");
	is($rc, 1, 'corralctl verify of a new directory with --wal-dir on it exits 1');
	like($err, qr/holds Apache ZooKeeper data/, '... saying why');
	rmdir "$parent/fresh2";
}

# Corral data beside ZooKeeper's: started on as usual.
my ($rc, undef, $err) = ctl('import-zookeeper', '--from', $zkdir, '-D', "$parent/corral");
is($rc, 0, 'import into a new directory') or diag($err);
system('cp', '-a', "$zkdir/version-2", "$parent/corral/") == 0 or die "cp: $?";
my $node = Corral::Test::Cluster->new('c2');
$node->init(server => { data_dir => "$parent/corral" }, modules => { storage_file => {} });
ok($node->start(fail_ok => 1), 'corrald starts on a directory with Corral data beside ZooKeeper\'s');
$node->stop;

done_testing();
