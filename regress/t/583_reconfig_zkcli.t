# regress/t/583_reconfig_zkcli.t: zkCli.sh's `config` and `reconfig`
# (ZooKeeper 3.8's command line) against a Corral ensemble, and corral-cli
# printing the same; standalone, the same answers as ZooKeeper 3.8's
# standalone server.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::ZooKeeper;
use Corral::Test::Utils qw(run_command);

plan skip_all => 'zkCli.sh (package zookeeper) is not installed' unless Corral::Test::ZooKeeper::zkcli_available();

my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

# zkCli's own noise (SLF4J, the banner, watcher events) is not compared.
sub clean
{
	my ($t) = @_;
	my @keep;
	my $skip = 0;
	for my $l (split /\n/, $t // '')
	{
		next if $l =~ /^(SLF4J|Connecting to|Welcome to ZooKeeper|JLine support|WATCHER::|WatchedEvent|\s*$)/;
		next if $l =~ /^(ctime|mtime) = /;
		push @keep, $l;
	}
	return join("\n", @keep) . "\n";
}

my $e = Corral::Test::Ensemble->new('zc', n => 3);
$e->init(
	server  => { reconfig_enabled => 'true' },
	modules => { auth_digest      => { super_digest => $SUPER } });
ok($e->start, 'ensemble');
my $n2 = $e->node(2);
my $obs = 'server.100=0.0.0.0:1234:2345:observer;0.0.0.0:3456';
my $script = <<"CLI";
config
reconfig -remove 3
addauth digest super:test
reconfig -add $obs -s
reconfig -v 1 -remove 100
reconfig -add garbage
reconfig -remove 100
config -s
CLI
my ($rc, $zk) = Corral::Test::ZooKeeper::zkcli($n2->address, $script);
$zk = clean($zk);
my $members = join('', map { "server.$_->{zab_id}=$_->{host}:$_->{peer_port}:$_->{election_port}:participant;" . $_->address . "\n" } $e->nodes);
like($zk, qr/\A\Q$members\Eversion=100000000\n/, 'zkCli config: the members and version=100000000');
like($zk, qr/^Insufficient permission : $/m, 'zkCli reconfig without the super user: Insufficient permission');
like($zk, qr/^Committed new configuration:\n\Q$members$obs\E\nversion=([0-9a-f]+)\ncZxid = 0x0\nmZxid = 0x\1\n/m,
	'zkCli reconfig -add: the new configuration and its stat (mZxid = version)');
like($zk, qr/^dataVersion = -1$/m, 'the stat of /zookeeper/config has dataVersion -1, as ZooKeeper');
like($zk, qr/^version No is not valid : $/m, 'zkCli reconfig -v with an old version: BadVersion');
like($zk, qr/^Arguments are not valid : $/m, 'zkCli reconfig -add garbage: BadArguments');
like($zk, qr/^Committed new configuration:\n\Q$members\Eversion=([0-9a-f]+)\n\Q$members\Eversion=\1\n/m,
	'zkCli reconfig -remove 100, then config shows it');

# corral-cli: the same transcript (it reads the commands from stdin).
# stdout and stderr in one stream, as zkcli() gives zkCli's.
($rc, my $cc) = run_command([ '/bin/sh', '-c', 'exec "$0" -server "$1" 2>&1', $n2->build_dir . '/bin/corral-cli', $n2->address ],
	stdin => $script, timeout => 60);
$cc = clean($cc);
my @v_zk = $zk =~ /version=([0-9a-f]+)/g;
my @v_cc = $cc =~ /version=([0-9a-f]+)/g;
# The versions differ (zxids of the second run); everything else is equal.
(my $zk_n = $zk) =~ s/(version=|Zxid = 0x)[0-9a-f]+/$1V/g;
(my $cc_n = $cc) =~ s/(version=|Zxid = 0x)[0-9a-f]+/$1V/g;
is($cc_n, $zk_n, 'corral-cli prints what zkCli prints');
is(scalar(@v_cc), scalar(@v_zk), 'as many configurations');
$e->stop_all;

# Standalone: ZooKeeper 3.8 and Corral answer the same.
my $sa = <<'CLI';
config
reconfig -remove 1
CLI
my $c = Corral::Test::Cluster->new('zs');
$c->init;
$c->start;
($rc, my $corral_sa) = Corral::Test::ZooKeeper::zkcli($c->address, $sa);
$corral_sa = clean($corral_sa);
$c->stop;
like($corral_sa, qr/^KeeperErrorCode = Reconfig is disabled$/m, 'standalone Corral: reconfig is disabled');
SKIP:
{
	my $z = Corral::Test::ZooKeeper->new('zs');
	skip 'no ZooKeeper 3.8 to compare with', 1 unless $z;
	$z->start;
	($rc, my $zk_sa) = Corral::Test::ZooKeeper::zkcli($z->address, $sa);
	$z->stop;
	is($corral_sa, clean($zk_sa), 'standalone: the same answers as ZooKeeper 3.8 (empty config, reconfig disabled)');
}

done_testing();
