# Differential test with a real client: the same kazoo scenarios
# (regress/clients/kazoo_scenarios.py) run against Apache ZooKeeper 3.8 and
# against corrald, and what the client saw must be the same, scenario by
# scenario.  Without Java/ZooKeeper, corrald is compared with
# regress/clients/kazoo_scenarios.expected (ZooKeeper's transcript,
# regenerated with CORRAL_REGEN_EXPECTED=1).
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::ZooKeeper qw(run_python compare_or_regen compare_transcripts have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();

my $script = 'kazoo_scenarios.py';

# ---- ZooKeeper ------------------------------------------------------------
my $zk_out;
if (my $zk = Corral::Test::ZooKeeper->new('zk', container_check_ms => 100))
{
	$zk->start;
	my ($rc, $out, $err) = run_python($script, $zk->address);
	is($rc, 0, 'scenarios ran against ZooKeeper') or diag($err);
	unlike($out, qr/^!! /m, 'no scenario aborted against ZooKeeper') or diag($err);
	$zk_out = $out;
	$zk->stop;
}
else
{
	note('ZooKeeper is not available: comparing with the expected file');
}
my $expected = compare_or_regen('kazoo_scenarios.expected', $zk_out);

# ---- corrald ---------------------------------------------------------------
my $node = Corral::Test::Cluster->new('corral');
$node->init(
	server => {
		extended_types         => 'true',
		container_check_ms     => 100,
		max_client_connections => 0,
	},
	modules => { auth_digest => {}, auth_ip => {} });
$node->start;
my ($rc, $out, $err) = run_python($script, $node->address);
is($rc, 0, 'scenarios ran against corrald') or diag($err);
compare_transcripts($out, $expected, 'kazoo');
ok($node->is_running, 'corrald is still running');
is($node->stop, 0, 'corrald exits cleanly');

done_testing();
