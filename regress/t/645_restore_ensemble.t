# regress/t/645_restore_ensemble.t: a restored data directory seeds a new
# 3-node ensemble (issue #13, doc/backup.md "Seeding an ensemble"): the
# backup of a standalone server is restored into member 1's data directory,
# members 2 and 3 start empty and synchronise from it; every node is on
# every member, and the ensemble takes writes.  Then a backup of a follower
# while the ensemble serves writes (backup works on any member).
use strict;
use warnings;

use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'the storage_file module is not built'
  unless -e Corral::Test::Cluster->new('probe')->modules_dir . '/storage_file.so';

my $TOKEN = 'seed-token-0123456789abcdef';
my $tmp   = File::Temp::tempdir('645_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$tmp/token", "$TOKEN\n");
my $json = JSON::PP->new->utf8;

# The source: a standalone server with 200 nodes, backed up.
my $src   = storage_node('source');
my $sport = $src->allocate_port;
$src->init(modules => { storage_file => {},
	admin_http => { listen => "127.0.0.1:$sport", auth_token => $TOKEN, commands => ['*'], snapshot_interval_ms => 0 } });
$src->start;
kazoo_c($src, 'create', 'e', 200, 500);
my $want = listing($src);
my ($rc, $out, $err) = ctl('backup', '-s', "127.0.0.1:$sport", '--token-file', "$tmp/token", '-o', "$tmp/bk");
is($rc, 0, 'the standalone server is backed up') or diag($err);
$src->stop;

my $e = Corral::Test::Ensemble->new('seed', n => 3);
my $aport = $e->node(2)->allocate_port;
$e->init(modules_for => { 2 => { admin_http => { listen => "127.0.0.1:$aport", auth_token => $TOKEN,
	commands => ['*'], snapshot_interval_ms => 0 } } });
($rc, $out, $err) = ctl('restore', "$tmp/bk", '-D', $e->node(1)->data_dir);
is($rc, 0, 'restored into member 1\'s data directory') or diag($err);
ok($e->start, 'the ensemble elects a leader');
ok($e->wait_converged, 'every member has the same tree');
is($e->mode($e->node(1)), 'leader', 'member 1 (the most recent data) leads');
for my $m ($e->nodes)
{
	is(listing($m), $want, "member $m->{zab_id} has every node");
}
kazoo_c($e->node(3), 'create', 'after', 10, 10);
ok($e->wait_converged, 'the seeded ensemble takes writes');

# A backup of member 2 (a follower) while writes go on.
my $pid = fork // die;
if (!$pid) { kazoo_c($e->node(1), 'create', 'busy', 200, 100); exit 0 }
($rc, $out, $err) = ctl('backup', '-s', "127.0.0.1:$aport", '--token-file', "$tmp/token", '-o', "$tmp/bk2", '--json');
waitpid $pid, 0;
is($rc, 0, 'backup of a follower: exit 0') or diag($err);
my $sum = eval { $json->decode($out) } // {};
is($sum->{mode}, 'follower', 'backup of a follower: the manifest says follower');
($rc, $out, $err) = ctl('restore', "$tmp/bk2", '-D', "$tmp/r2");
is($rc, 0, 'the follower\'s backup restores');
my $r = Corral::Test::Cluster->new('fromfollower');
$r->init(server => { data_dir => "$tmp/r2" }, modules => { storage_file => {} });
$r->start;
my $l = listing($r);
is(scalar(() = $l =~ /^e\d{4} 500$/mg), 200, 'the follower\'s backup: every seeded node');
is(scalar(() = $l =~ /^after\d{4} 10$/mg), 10, 'the follower\'s backup: and the writes before it');
$r->stop;
$e->stop_all;
done_testing();
