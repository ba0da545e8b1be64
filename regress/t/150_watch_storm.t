# Watch storm: 200 sessions on raw sockets (regress/clients/watch_storm.py)
# each set a data watch on /storm; one setData must give every session
# exactly one NodeDataChanged, while a ping from another session is
# answered.  The summary must match ZooKeeper 3.8's
# (regress/clients/watch_storm.expected).  No timing is asserted.
use strict;
use warnings;

use Test::More;
use Corral::Test::ZooKeeper qw(run_python run_differential corrald_defaults);

run_differential(
	what     => 'watch storm',
	expected => 'watch_storm.expected',
	corrald  => { corrald_defaults() },
	run      => sub {
		my ($address) = @_;
		my ($rc, $out, $err) = run_python('watch_storm.py', $address, 200);
		return ($rc, "== watch storm\n$out", $err);
	});

done_testing();
