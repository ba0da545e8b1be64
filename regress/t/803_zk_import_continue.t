# regress/t/803_zk_import_continue.t: the migration with seconds of
# downtime (doc/migration.md): a client writes without pause, connected to
# "ZooKeeper,Corral"; the bulk is imported while ZooKeeper serves; ZooKeeper
# stops; `import-zookeeper --continue` adds only the transactions after the
# bulk; corrald starts on the directory.  The writer's session moves to
# Corral (same session), every write it was told succeeded is there, and
# the downtime (ZooKeeper stopped to corrald serving) is measured.  Also
# what --continue refuses.
use strict;
use warnings;

use File::Temp ();
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 clients_dir corrald_defaults);
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $dir = "$tmp/corral";

my $zk = zk_server('zk');
$zk->start;
zk_client('workload', $zk->address, 3);

my $node = Corral::Test::Cluster->new('c');
my %d = corrald_defaults(data_dir => $dir);
$node->init(%d, modules => { %{ $d{modules} }, storage_file => {} });

# The writer, for 12 s, through both addresses.
my $wlog = "$tmp/writer.out";
my $wpid = Corral::Test::Utils::spawn_logged($tmp, $wlog,
	[ python3(), clients_dir() . '/zk_migration.py', 'writer', $zk->address . ',' . $node->address, 12 ],
	{ PYTHONDONTWRITEBYTECODE => 1 }, 'writer');
sleep 2;

# The bulk, while ZooKeeper serves and the writer writes.
my ($rc, $j, $err) = ctl_json('import-zookeeper', '--from', $zk->data_dir, '-D', $dir, '--json');
is($rc, 0, 'bulk import while ZooKeeper serves') or diag($err);
my $bulk_last = hex($j->{last_zxid} // 0);
sleep 1;

# The switch.
my $t0 = time();
$zk->stop;
my ($crc, $cj, $cerr) = ctl_json('import-zookeeper', '--from', $zk->data_dir, '-D', $dir, '--continue', '--json');
is($crc, 0, '--continue after ZooKeeper stopped') or diag($cerr);
is(hex($cj->{base_zxid} // 0), $bulk_last, '--continue starts after what the bulk imported');
cmp_ok($cj->{txns}, '>', 0, "and adds only the tail ($cj->{txns} transactions)");
$node->start;
my $downtime = time() - $t0;
note(sprintf('downtime: ZooKeeper stopped to corrald serving: %.2f s (tail of %d transactions)', $downtime,
	$cj->{txns}));
cmp_ok($downtime, '<', 30, sprintf('the switch takes seconds (%.1f s)', $downtime));

waitpid($wpid, 0);
Corral::Test::Utils::untrack_pid($wpid);
is($? >> 8, 0, 'the writer ran to its end') or diag(slurp_file($wlog));
my ($line) = grep { /^\{/ } split /\n/, slurp_file($wlog);
my $w = JSON::PP->new->decode($line // '{}');
cmp_ok($w->{writes} // 0, '>', 0, "the writer wrote ($w->{writes} acknowledged creates)");
ok($w->{same_session}, 'its session moved from ZooKeeper to Corral (the same session id at the end)');

my $after = zk_dump($node->address);
my @missing = grep { !$after->{ sprintf('/w/n-%06d', $_) } } 0 .. ($w->{last} // -1);
is_deeply(\@missing, [], 'every write acknowledged by ZooKeeper or Corral is on Corral');
ok(defined $after->{'/w'}, 'the tree written before the switch is there');

# ---- what --continue refuses --------------------------------------------
($rc, undef, $err) = ctl('import-zookeeper', '--from', $zk->data_dir, '-D', $dir, '--continue');
is($rc, 1, '--continue while corrald runs on the directory is refused');
like($err, qr/in use by a running corrald/, '... saying so');
$node->stop;
# Corral wrote transactions of its own: ZooKeeper's history no longer
# continues it.
my $print = dir_fingerprint($dir);
($rc, undef, $err) = ctl('import-zookeeper', '--from', $zk->data_dir, '-D', $dir, '--continue');
is($rc, 1, '--continue once corrald wrote transactions of its own is refused');
like($err, qr/corrald has written transactions of its own/, '... saying so');
is(dir_fingerprint($dir), $print, '... changing nothing');
mkdir "$tmp/empty";
my $eprint = dir_fingerprint("$tmp/empty");
($rc, undef, $err) = ctl('import-zookeeper', '--from', $zk->data_dir, '-D', "$tmp/empty", '--continue');
is($rc, 1, '--continue into a directory without Corral data is refused');
like($err, qr/no Corral data/, '... saying so');
is(dir_fingerprint("$tmp/empty"), $eprint, '... writing nothing there');

done_testing();
