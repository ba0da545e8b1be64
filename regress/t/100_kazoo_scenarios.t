# Differential test with a real client: the same kazoo scenarios
# (regress/clients/kazoo_scenarios.py) run against Apache ZooKeeper 3.8 and
# against corrald, and what the client saw must be the same, scenario by
# scenario.  Without Java/ZooKeeper, corrald is compared with
# regress/clients/kazoo_scenarios.expected (ZooKeeper's transcript,
# regenerated with CORRAL_REGEN_EXPECTED=1).
use strict;
use warnings;

use Test::More;
use Corral::Test::ZooKeeper qw(run_python have_kazoo run_differential corrald_defaults);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();

run_differential(
	what     => 'kazoo',
	expected => 'kazoo_scenarios.expected',
	zk       => { container_check_ms => 100 },
	corrald  => { corrald_defaults() },
	run      => sub { run_python('kazoo_scenarios.py', $_[0]) });

done_testing();
