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

# ---- a leader in degraded mode refuses forwarded writes ------------------------
# Member 3 (the highest id: it leads a fresh ensemble) has a memory budget
# it is always above; the followers have none.  A create through a follower
# is forwarded, refused by the leader with NotReadOnly, and applied nowhere;
# a delete (which frees memory) goes through.
my $d = Corral::Test::Ensemble->new('deg', n => 3);
$d->init(server => { tick_ms => 200 }, server_for => { 3 => { max_memory_bytes => 1 } });
$d->start;
SKIP:
{
	my $l = $d->leader;
	skip 'member 3 did not lead this time', 5 unless $l && $l == $d->node(3);
	ok($l->wait_for_log(qr/refusing writes \(NotReadOnly\) until this clears: resident memory/), 'the leader is degraded');
	my ($f) = grep { $_ != $l } $d->voters;
	my $w = Corral::Test::Wire->connect($f->address) or BAIL_OUT('cannot connect to a follower');
	$w->send_request(1, OP_CREATE, create_body('/refused', 'v'));
	my (undef, undef, $err) = $w->read_reply(20);
	is($err, -119, 'a create through a follower is refused by the degraded leader with NotReadOnly');
	$w->send_request(2, OP_EXISTS, path_body('/refused', 0));
	(undef, undef, $err) = $w->read_reply(10);
	is($err, -101, '... and was applied nowhere');
	$w->send_request(3, 2, Corral::Test::Wire::ustring('/zookeeper/quota') . pack('l>', -1));
	(undef, undef, $err) = $w->read_reply(10);
	isnt($err, -119, 'a delete is not refused for the memory budget (it fails or succeeds on its own merits)');
	ok($d->wait_converged, 'the members converge');
	$w->close;
}
$d->stop_all;
done_testing();
