# regress/t/560_observers_rollover.t:
#  - observers (role: observer) follow the leader, serve reads, forward
#    writes, report Mode: observer, and never count toward a quorum: with
#    2 of 3 voters down, the observers do not keep the ensemble serving;
#  - the 32-bit zxid counter running out moves the leader to the next epoch
#    in place (no election, no zxid reused), with the test knob
#    server.zab_start_counter.
use strict;
use warnings;
no warnings 'portable';    # 64-bit zxids in hex

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $rw = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/o')
n = int(sys.argv[2])
czx = []
for i in range(n):
    p = c.create('/o/%s-%05d' % (sys.argv[1], i), b'v')
    czx.append(c.exists(p).czxid) if i % 50 == 0 or i == n - 1 else None
c.sync('/')
print('COUNT', len(c.get_children('/o')))
print('CZXID', ' '.join('%x' % z for z in czx))
c.stop()
PY

my $e = Corral::Test::Ensemble->new('ob', n => 3, observers => 2);
$e->init;
my $leader = $e->start;
ok($leader, 'leader elected with 2 observers');
for my $o ($e->observers)
{
	is($e->mode($o), 'observer', "member $o->{zab_id}: Mode: observer");
}
is($e->mntr($leader)->{zk_synced_observers}, 2, 'mntr: 2 synced observers');
is($e->mntr($leader)->{zk_synced_followers}, 2, 'mntr: 2 synced followers');
my ($o4, $o5) = $e->observers;
my ($rc, $out, $err) = $e->kazoo($rw, hosts => $o4->address, args => [ 'obs', 30 ]);
like($out, qr/^COUNT 30$/m, 'writes through an observer') or diag($err);
ok($e->wait_converged, 'observers converged with the voters');

# The leader killed: observers find the new one.
{
	my $old = $e->leader;
	$old->kill9;
	my $l = $e->wait_for_leader(exclude => [ $old->{zab_id} ]);
	ok($l, 'leader killed: a new leader, and both observers observe it');
	($rc, $out, $err) = $e->kazoo($rw, hosts => $o5->address, args => [ 'obs2', 20 ]);
	like($out, qr/^COUNT 50$/m, 'writes through the other observer after the failover') or diag($err);
	$old->start;
	ok($e->wait_for_leader, 'old leader back');
	ok($e->wait_converged, 'converged');
	$leader = $e->leader;
}

# Observers do not count: with two voters down, nobody serves.
my @v = grep { $_ != $leader } $e->voters;
$_->kill9 for @v;
ok(wait_until(sub { !grep { $e->mode($_) =~ /leader|follower|observer/ } grep { $_->pid } $e->nodes }, 15),
	'1 voter + 2 observers: no quorum, nobody serves');
$_->start for @v;
ok($e->wait_for_leader, 'voters back: leader again, observers observing');
ok($e->wait_converged, 'converged');
$e->stop_all;

# ---- zxid counter rollover ---------------------------------------------------------------
my $r = Corral::Test::Ensemble->new('ro', n => 3);
# The NEWEPOCH round starts at counter 0xFFFF0000 (src/backend/zab/README).
$r->init(server => { zab_start_counter => 0xFFFF0000 - 300 });
$leader = $r->start;
ok($leader, 'leader elected with the counter near 2^32');
my $e0 = $r->mntr($leader)->{zk_zab_epoch};
($rc, $out, $err) = $r->kazoo($rw, args => [ 'roll', 600 ]);
like($out, qr/^COUNT 600$/m, '600 writes across the end of the counter') or diag($err);
my @z = map { hex } split ' ', ($out =~ /^CZXID (.*)$/m)[0] // '';
ok(!grep({ $z[$_] <= $z[ $_ - 1 ] } 1 .. $#z), 'zxids strictly increase (none reused or wrapped)');
is($z[-1] >> 32, ($z[0] >> 32) + 1, 'the last writes are in the next epoch');
cmp_ok($z[0] & 0xFFFFFFFF, '>=', 0xFFFF0000 - 300, 'the first writes were near the end of the counter');
is($r->leader, $leader, 'the same member still leads (no election)');
is($r->mntr($leader)->{zk_zab_epoch}, $e0 + 1, 'the leader moved to the next epoch in place');
ok($leader->log_contains(qr/moving to epoch \d+ in place/), 'logged');
ok($r->wait_converged, 'every member converged');
my $f = (grep { $_ != $leader } $r->nodes)[0];
$f->kill9;
$f->start;
ok($r->wait_for_leader, 'a follower restarted after the rollover');
ok($r->wait_converged, 'and converged');
$r->stop_all;
done_testing();
