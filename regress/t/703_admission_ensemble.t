# regress/t/703_admission_ensemble.t: per-session caps on a follower, where
# writes are forwarded to the leader (issue #10).  A write refused on the
# follower is answered in its place among the session's forwarded writes:
# replies stay in request order, and what was refused is not applied on any
# member.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils;
use Corral::Test::Wire qw(path_body create_body OP_CREATE OP_EXISTS);

my $THROTTLED = -127;

my $e = Corral::Test::Ensemble->new('adm', n => 3);
$e->init(server => { tick_ms => 200, max_outstanding_requests => 5 });
$e->start;
my $leader = $e->leader or BAIL_OUT('no leader');
my ($follower) = grep { $_ != $leader } $e->voters;

my $c = Corral::Test::Wire->connect($follower->address) or BAIL_OUT('cannot connect to a follower');
$c->send_raw(join('', map { Corral::Test::Wire::request_bytes($_, OP_CREATE, create_body("/n$_", 'v')) } 1 .. 40));
my (@order, %errs, @created);
for (1 .. 40)
{
	my ($x, undef, $err) = $c->read_reply(20);
	last unless defined $x;
	push @order, $x;
	$errs{$err}++;
	push @created, $x if $err == 0;
}
is_deeply(\@order, [ 1 .. 40 ], 'every pipelined create on the follower is answered, in order');
ok(($errs{0} // 0) >= 5 && ($errs{$THROTTLED} // 0) >= 1,
	'beyond max_outstanding_requests writes are refused with Throttled ('
	  . join(', ', map {"$_=$errs{$_}"} sort keys %errs) . ')');
ok($e->wait_converged, 'the members converge');
my $ok = 1;
for my $node ($e->nodes)
{
	my $r = Corral::Test::Wire->connect($node->address) or next;
	for my $i (1 .. 40)
	{
		$r->send_request($i, OP_EXISTS, path_body("/n$i", 0));
		my (undef, undef, $err) = $r->read_reply(10);
		my $want = (grep { $_ == $i } @created) ? 0 : -101;
		$ok = 0, diag("member $node->{zab_id}: /n$i: $err, expected $want") if ($err // 'none') ne $want;
	}
	$r->close;
}
ok($ok, 'on every member exactly the acknowledged creates exist');
$c->close;
$e->stop_all;
done_testing();
