# regress/t/510_failover.t: kill -9 of the leader (three times) and of a
# follower under concurrent writers, 2 of 5 members down, a minority that
# refuses writes, and a rolling restart.  Every acknowledged write survives
# on every member; a multi is never half applied; the members converge to
# the same tree digest.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;

# Writes p and p+'b' in one multi, forever until the duration ends; prints
# "ACK p" for every acknowledged one.  A write whose answer was lost is
# never retried (its outcome is unknown, it is not acknowledged).
my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
tag, dur = sys.argv[1], float(sys.argv[2])
c = KazooClient(hosts=os.environ['HOSTS'], timeout=4,
                connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.2))
c.start(timeout=30)
end = time.time() + dur
i = 0
acks = 0
while time.time() < end:
    p = '/w/%s-%06d' % (tag, i)
    i += 1
    try:
        t = c.transaction(); t.create(p, b'x'); t.create(p + 'b', b'y')
        r = t.commit()
        if all(isinstance(x, str) for x in r):
            print('ACK', p); acks += 1
    except Exception as e:
        time.sleep(0.02)
print('DONE', i, acks)
c.stop()
PY

my $lister = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10)
c.start(timeout=30)
c.sync('/w')
print('\n'.join(sorted(c.get_children('/w'))))
c.stop()
PY

sub check_survivors
{
	my ($e, $label, @outs) = @_;
	my %acked;
	for my $o (@outs) { $acked{$1} = 1 while $o =~ /^ACK \/w\/(\S+)$/mg; }
	ok(scalar(keys %acked) > 0, "$label: some writes were acknowledged (" . scalar(keys %acked) . ")");
	ok($e->wait_converged, "$label: every member converged to one digest");
	for my $node (grep { $_->pid } $e->nodes)
	{
		my ($rc, $out, $err) = $e->kazoo($lister, hosts => $node->address);
		my %have = map { ($_ => 1) } split /\n/, $out;
		my @lost = grep { !$have{$_} || !$have{"${_}b"} } sort keys %acked;
		my @half = grep { /^(.*-\d{6})$/ && !$have{"${1}b"} } keys %have;
		is(scalar(@lost), 0, "$label: member $node->{zab_id} has every acknowledged write")
		  or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
		is(scalar(@half), 0, "$label: member $node->{zab_id} has no half-applied multi") or diag("half: @half");
	}
}

sub start_writers
{
	my ($e, $tag, $secs, $n) = @_;
	return map { $e->kazoo_bg($writer, args => [ "$tag$_", $secs ]) } 1 .. ($n // 3);
}

sub collect
{
	my ($e, @h) = @_;
	my @outs;
	for my $h (@h)
	{
		my ($rc, $out, $err) = $e->kazoo_wait($h, 60);
		is($rc, 0, 'writer finished') or diag($err);
		push @outs, $out;
	}
	return @outs;
}

# ---- 3 members: kill -9 the leader, three times; then a follower ------------------
my $e = Corral::Test::Ensemble->new('f3', n => 3);
$e->init;
my $leader = $e->start;
ok($leader, 'leader elected');
$e->kazoo("from kazoo.client import KazooClient\nimport os\nc=KazooClient(hosts=os.environ['HOSTS']);c.start(30);c.ensure_path('/w');c.stop()\n");

for my $round (1 .. 3)
{
	my @w = start_writers($e, "r$round-", 2.5);
	usleep(800_000);
	$leader = $e->leader;
	ok($leader, "round $round: leader is member " . ($leader ? $leader->{zab_id} : '?'));
	my $t0 = time;
	$leader->kill9;
	my $new = $e->wait_for_leader(exclude => [ $leader->{zab_id} ]);
	ok($new && $new != $leader, sprintf("round %d: new leader %s after %.0f ms", $round, $new ? $new->{zab_id} : '?',
		1000 * (time - $t0)));
	my @outs = collect($e, @w);
	$leader->start;
	ok($e->wait_for_leader, "round $round: the old leader rejoined");
	check_survivors($e, "kill leader round $round", @outs);
}

{
	my @w = start_writers($e, 'fol-', 2.5);
	usleep(700_000);
	my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
	$f->kill9;
	usleep(500_000);
	my @outs = collect($e, @w);
	$f->start;
	ok($e->wait_for_leader, 'follower restarted and rejoined');
	check_survivors($e, 'kill follower', @outs);
}

# ---- every member killed at once (kill -9) under writers: what was
# acknowledged is on the disks of a quorum ---------------------------------------------
for my $round (1 .. 2)
{
	my @w = start_writers($e, "all$round-", 2.5);
	usleep(900_000);
	$_->kill9 for $e->nodes;
	$_->start for $e->nodes;
	ok($e->wait_for_leader, "all killed $round: every member restarted, one leader");
	my @outs = collect($e, @w);
	check_survivors($e, "all killed $round", @outs);
}

# ---- rolling restart (SIGTERM each member in turn) under writers ---------------------
{
	my @w = start_writers($e, 'roll-', 5);
	for my $node ($e->nodes)
	{
		$node->stop;
		$node->start;
		$e->wait_for_leader;
	}
	my @outs = collect($e, @w);
	check_survivors($e, 'rolling restart', @outs);
}
$e->stop_all;

# ---- 5 members: 2 down keeps serving, 3 down refuses writes ------------------------------
my $e5 = Corral::Test::Ensemble->new('f5', n => 5);
$e5->init;
$leader = $e5->start;
ok($leader, '5 members: leader elected');
$e5->kazoo("from kazoo.client import KazooClient\nimport os\nc=KazooClient(hosts=os.environ['HOSTS']);c.start(30);c.ensure_path('/w');c.stop()\n");
{
	my @w = start_writers($e5, 'five-', 3);
	usleep(600_000);
	my @down = ($e5->leader, grep { $e5->mode($_) eq 'follower' } $e5->nodes)[ 0, 1 ];
	$_->kill9 for @down;
	my $l = $e5->wait_for_leader(exclude => [ map { $_->{zab_id} } @down ]);
	ok($l, '2 of 5 down: a leader serves with the 3 others');
	my @outs = collect($e5, @w);
	my @up = grep { $_->pid } $e5->nodes;
	check_survivors($e5, '2 of 5 down', @outs);

	# A third one down: no quorum, no writes (and no reads: not serving).
	$up[0]->kill9;
	my $refused = Corral::Test::Utils::wait_until(sub { !grep { $e5->mode($_) =~ /leader|follower/ } grep { $_->pid } $e5->nodes }, 10);
	ok($refused, 'minority of 2: no member serves');
	my ($rc, $out) = $e5->kazoo(<<'PY', hosts => join(',', map { $_->address } grep { $_->pid } $e5->nodes));
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=2)
try:
    c.start(timeout=2); c.create('/w/minority', b''); print('WROTE')
except Exception as e:
    print('REFUSED', type(e).__name__)
PY
	like($out, qr/^REFUSED/m, 'minority: a write is refused');
	$_->start for @down, $up[0];
	ok($e5->wait_for_leader, 'all 5 back: one leader');
	check_survivors($e5, '5 members back', @outs);
}
$e5->stop_all;

done_testing();
