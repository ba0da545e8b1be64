# regress/t/591_restart_order.t: every member of a 3-member ensemble
# (ZooKeeper's timing: tick 1000 ms, init_limit 10) stopped, then started
# again one after the other (0 to 300 ms apart), in order and in reverse
# order:
# each time one leader is elected and every member serves soon after the
# last one started (no member stays on a stale vote, which used to keep
# one refusing clients until the initial limit, about 9 s).  The time from
# the last start to "all serve" is printed; the bound asserted is loose.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;

my $e = Corral::Test::Ensemble->new('rs', n => 3);
$e->init(server => { tick_ms => 1000 });
ok($e->start, 'leader elected');
my $setup = <<'PY';
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
for i in range(50): c.create('/r%d' % i, b'x' * 100)
c.stop()
PY
my ($rc) = $e->kazoo($setup);
is($rc, 0, 'some data written');

my @ids = map { $_->{zab_id} } $e->nodes;
# Gaps between the starts around the election's finalize wait: the stale
# vote needed a member to decide while the one it chose changed its mind.
for my $gap (0, 40, 120, 200, 300)
{
	for my $order ([@ids], [ reverse @ids ])
	{
		$_->stop for grep { $_->pid } $e->nodes;
		my $t_last;
		for my $id (@$order)
		{
			usleep($gap * 1000) if defined $t_last;
			$e->node($id)->start(wait => 0);
			$t_last = time;
		}
		my $l = $e->wait_for_leader(timeout => 30);
		my $ms = (time - $t_last) * 1000;
		my $name = "started " . join(',', @$order) . " ${gap} ms apart";
		ok($l, "$name: one leader, every member serving");
		note(sprintf "%s: all serving %.0f ms after the last start", $name, $ms);
		cmp_ok($ms, '<', 4000, "$name: within 4 s of the last start");
		# No member is left on a stale decision.
		my @modes = map { $e->mode($_) } $e->nodes;
		is(scalar(grep { $_ eq 'leader' } @modes), 1, "$name: exactly one leader (@modes)");
	}
}

$e->stop_all;
done_testing();
