# regress/t/004_limits.t: the per-IP connection limit (max_client_connections,
# ZooKeeper's maxClientCnxns).
#
# A connection counts from the moment it is accepted, whether or not it has
# sent anything; one over the limit is closed at once and logged as
# ZooKeeper logs it.  Connections from another address have their own count.
use strict;
use warnings;

use Test::More;
use IO::Socket::INET;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $node = Corral::Test::Cluster->new('limits');
$node->init(server => { max_client_connections => 2 });
$node->start;

# Idle connections: connected, nothing sent.
my $c1 = $node->connect or BAIL_OUT("cannot connect to " . $node->address);
my $c2 = $node->connect or BAIL_OUT("cannot connect to " . $node->address);

my $pos = $node->log_position;
my $c3  = $node->connect;
ok($c3, 'the third connection is accepted by the kernel');
my ($data, $eof) = Corral::Test::Cluster::read_until_eof($c3, 10);
ok($eof, 'the third connection is closed at once by the server');
is($data, '', '... without a word');
close $c3;
ok($node->wait_for_log(qr/WARN \[net\] Too many connections from \/127\.0\.0\.1 - max is 2$/m, $pos),
	'the refusal is logged as ZooKeeper logs it');

# The two idle connections were counted and are still served.
syswrite($c1, 'ruok');
is(Corral::Test::Cluster::read_until_eof($c1, 10), 'imok', 'the first idle connection is still served');
close $c1;

# Once the server has seen it go, there is room for one more.  (The close
# reaches the server asynchronously: retry, bounded.)
my $answer;
ok(wait_until(sub { ($answer = $node->fourlw('ruok') // '') eq 'imok' }),
	'after one connection closed, a new one is accepted');

# Another source address has its own count.
{
	my $c4 = $node->connect or BAIL_OUT('cannot connect');    # with $c2: 2 from 127.0.0.1
	my $other = IO::Socket::INET->new(
		LocalAddr => '127.0.0.2',
		PeerAddr  => $node->host,
		PeerPort  => $node->port,
		Proto     => 'tcp',
		Timeout   => 5);
	ok($other, 'connected from 127.0.0.2');
	syswrite($other, 'ruok');
	is(Corral::Test::Cluster::read_until_eof($other, 10), 'imok', 'a connection from 127.0.0.2 is not counted with 127.0.0.1');
	close $other;
	my $c5 = $node->connect;
	my ($d5, $eof5) = Corral::Test::Cluster::read_until_eof($c5, 10);
	ok($eof5 && $d5 eq '', '127.0.0.1 is still at its limit');
	close $c5;
	close $c4;
}
close $c2;
is($node->stop, 0, 'stopped cleanly');

# max_client_connections: 0 means no limit.
$node->init(server => { max_client_connections => 0 });
$node->start;
my $pos2 = $node->log_position;
my @idle = map { $node->connect } 1 .. 20;
is(scalar(grep { defined } @idle), 20, '20 idle connections');
syswrite($_, 'ruok') for @idle;
is(scalar(grep { (Corral::Test::Cluster::read_until_eof($_, 10) // '') eq 'imok' } @idle), 20,
	'with max_client_connections 0 all of them are served');
close $_ for @idle;
ok(!$node->log_contains(qr/Too many connections/, $pos2), 'and nothing is refused');
is($node->stop, 0, 'stopped cleanly');

# The default is ZooKeeper's: 60.
$node->init(server => { max_client_connections => undef });
$node->start;
like($node->fourlw('conf'), qr/^maxClientCnxns=60$/m, 'the default limit is 60');
is($node->stop, 0, 'stopped cleanly');

done_testing();
