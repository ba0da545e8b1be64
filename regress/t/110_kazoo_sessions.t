# Sessions seen by a real client (regress/clients/kazoo_sessions.py), compared
# with Apache ZooKeeper 3.8 (or kazoo_sessions.expected): timeout
# negotiation, expiry (ephemerals deleted, watchers of other sessions
# notified, the expired client told so and given a new session), a second
# client taking over a live session with its id and password, a wrong
# password, closeSession deleting ephemerals at once, pings keeping an idle
# session alive.  Both servers run with a 500 ms tick.
use strict;
use warnings;

use Test::More;
use Corral::Test::ZooKeeper qw(run_python have_kazoo run_differential corrald_defaults);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();

run_differential(
	what     => 'sessions',
	expected => 'kazoo_sessions.expected',
	zk       => { tick_ms => 500 },
	corrald  => { corrald_defaults(tick_ms => 500) },
	run      => sub { run_python('kazoo_sessions.py', $_[0]) });

done_testing();
