# regress/t/806_zk_import_ensemble.t: a 3-member Apache ZooKeeper 3.8
# ensemble (QuorumPeerMain, myid, server.N) migrated to a 3-member Corral
# ensemble, both ways doc/migration.md describes: one member imported and the
# others synchronising from it (empty data directories), and every member
# imported.  Member ids come from ZooKeeper's myid (the import's --json
# says it).  After the start, every member serves ZooKeeper's tree, and a
# session left open on ZooKeeper resumes on Corral.
use strict;
use warnings;

use File::Temp ();
use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(corrald_defaults);
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

# ---- the ZooKeeper ensemble ---------------------------------------------
my @lines;
for my $i (1 .. 3)
{
	my ($p, $e) = (allocate_port('127.0.0.1'), allocate_port('127.0.0.1'));
	push @lines, ("server.$i" => "127.0.0.1:$p:$e:participant");
}
my @zk = map {
	zk_server("zk$_", myid => $_, initLimit => 10, syncLimit => 5, @lines)
} 1 .. 3;
$_->start(wait => 0) for @zk;
$_->wait_serving for @zk;
my $hosts = join(',', map { $_->address } @zk);
zk_client('workload', $hosts, 3);
zk_client('live', $hosts, "$tmp/live");
my $before = zk_dump($hosts);
$_->stop for @zk;

# The member ids, from ZooKeeper's myid.
my %dir_of;
for my $z (@zk)
{
	my ($rc, $j, $err) = ctl_json('import-zookeeper', '--from', $z->data_dir, '-D', "$tmp/probe-" . $z->name, '--json');
	is($rc, 0, 'import of ' . $z->name) or diag($err);
	$dir_of{ $j->{myid} } = $z->data_dir;
	ok($j->{zookeeper_config_reset}, $z->name . ": its /zookeeper/config server list is not carried over");
	cmp_ok($j->{current_epoch}, '>', 0, $z->name . ": the epochs of a quorum member ($j->{accepted_epoch}/$j->{current_epoch})");
}
is_deeply([ sort keys %dir_of ], [ 1, 2, 3 ], 'myid gives the member ids 1, 2, 3');

sub corral_ensemble
{
	my ($label, @imported) = @_;
	my $e = Corral::Test::Ensemble->new("e$label", n => 3);
	my %for;
	for my $id (@imported)
	{
		my $d = "$tmp/$label-$id";
		my ($rc, undef, $err) = ctl('import-zookeeper', '--from', $dir_of{$id}, '-D', $d);
		is($rc, 0, "$label: member $id imported") or diag($err);
		$for{$id} = { data_dir => $d };
	}
	my %d = corrald_defaults();
	$e->init(server => { %{ $d{server} } }, server_for => \%for, modules => $d{modules});
	$e->start;
	# /zookeeper/config: a ZooKeeper quorum member writes its server list
	# there at startup (not a transaction: it differs between members).
	# The import does not carry it over (Corral would take its members
	# from it, Curator's EnsembleTracker would follow it to the old
	# servers); the Corral ensemble writes its own.
	my %want = %$before;
	delete $want{'/zookeeper/config'};
	for my $n ($e->nodes)
	{
		my $got = zk_dump($n->address);
		my $cfg = pack('H*', delete($got->{'/zookeeper/config'})->{data} // '');
		is_deeply($got, \%want, "$label: member $n->{zab_id} serves ZooKeeper's tree");
		like($cfg, qr/^server\.1=127\.0\.0\.11:\d+:\d+:participant/m,
			"$label: member $n->{zab_id}: /zookeeper/config lists the Corral members, not ZooKeeper's")
		  or diag($cfg);
	}
	my $r = JSON::PP->new->decode(zk_client('resume', join(',', map { $_->address } $e->nodes), "$tmp/live"));
	ok($r->{same}, "$label: the session left open on ZooKeeper resumes");
	$_->stop for $e->nodes;
	return;
}

corral_ensemble('one', 1) unless $ENV{SKIP_ONE};
corral_ensemble('all', 1, 2, 3);

done_testing();
