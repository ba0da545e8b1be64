# regress/t/581_reconfig_membership.t: changing the members of a running
# ensemble under concurrent writers (doc/ensemble.md, "Grow from 3 to 5").
#  - two members with empty disks join (their YAML lists the ensemble and
#    themselves): they synchronise as non-voting followers before counting;
#  - reconfig adds them (3 -> 5); with two of the original three down the
#    ensemble still takes writes (the joiners count);
#  - reconfig removes them again (5 -> 3): each says it was removed and
#    stops serving;
#  - reconfig removes the leader: the others elect a new one, writes go on;
#  - every write a writer saw acknowledged is on every remaining member,
#    and a restart of every remaining member keeps the membership.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

my $e = Corral::Test::Ensemble->new('rm', n => 5);
$e->init(
	members => [ 1, 2, 3 ],
	server  => { reconfig_enabled => 'true' },
	modules => { auth_digest      => { super_digest => $SUPER } });
$e->node($_)->start for 1 .. 3;
ok($e->wait_for_leader(exclude => [ 4, 5 ]), 'initial ensemble of 3');

my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
tag, stop = sys.argv[1], sys.argv[2]
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/w')
i = 0
while not os.path.exists(stop):
    p = '/w/%s-%06d' % (tag, i)
    try:
        c.create(p, b'x')
        print('ACK', p, flush=True)
        i += 1
    except NodeExistsError:
        i += 1      # an earlier attempt went through; not counted as acknowledged
    except (ConnectionLoss, SessionExpiredError, OperationTimeoutError):
        time.sleep(0.05)
    except Exception as ex:
        print('ERR', type(ex).__name__, flush=True)
        time.sleep(0.05)
c.stop()
PY
my $stop = $e->node(1)->basedir . '/stop-writers';
my @w = map { $e->kazoo_bg($writer, args => [ "w$_", $stop ], hosts => $e->hosts($e->node(1), $e->node(2), $e->node(3))) } 1 .. 2;

my $reconfig = <<'PY';
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=sys.argv[1], timeout=15, auth_data=[('digest', 'super:test')]); c.start(timeout=30)
j = sys.argv[2] if sys.argv[2] != '-' else None
l = sys.argv[3] if sys.argv[3] != '-' else None
for attempt in range(50):
    try:
        data, st = c.reconfig(joining=j, leaving=l, new_members=None)
        print('OK'); print(data.decode()); break
    except (ConnectionLoss, NewConfigNoQuorumError, ReconfigInProcessError) as ex:
        print('retry', type(ex).__name__, file=sys.stderr)
        import time; time.sleep(0.2)
    except Exception as ex:
        print('FAIL', type(ex).__name__); break
PY
sub spec
{
	my ($n, $role) = @_;
	return "server.$n->{zab_id}=$n->{host}:$n->{peer_port}:$n->{election_port}:" . ($role // 'participant') . ';' . $n->address;
}
sub quorum_size
{
	my ($n) = @_;
	my $m = $e->mntr($n);
	return $m ? $m->{zk_quorum_size} // -1 : -1;
}

# Joiners with empty disks: they follow (non-voting) before being added.
$e->node($_)->start for 4, 5;
ok(wait_until(sub { !grep { $e->mode($e->node($_)) ne 'follower' } 4, 5 }, 30),
	'joiners 4 and 5 synchronise and follow before they are members');
is(quorum_size($e->node(4)), 3, 'a joiner knows it is not counted yet (quorum size 3)');

my ($rc, $out, $err) = $e->kazoo($reconfig, args => [ $e->node(3)->address, join(',', spec($e->node(4)), spec($e->node(5))), '-' ]);
like($out, qr/^OK$/m, 'reconfig adds 4 and 5 as participants') or diag($out, $err);
like($out, qr/^\Q${\ spec($e->node(5))}\E$/m, 'the reply lists member 5');
ok(wait_until(sub { !grep { quorum_size($_) != 5 } $e->nodes }, 30), 'every member runs with 5 participants');

# The joiners count: with 1 and 2 down, 3, 4 and 5 are a quorum.
$e->node($_)->stop for 1, 2;
my $l = $e->wait_for_leader(exclude => [ 1, 2 ]);
ok($l, 'members 1 and 2 down: 3, 4 and 5 elect a leader (the joiners count)');
($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $e->hosts($e->node(4), $e->node(5)));
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/written-by-3-4-5', b'q'); print('WROTE'); c.stop()
PY
like($out, qr/^WROTE$/m, 'a write commits with 3, 4 and 5') or diag($err);
$e->node($_)->start for 1, 2;
ok($e->wait_for_leader, 'members 1 and 2 back');

# Shrink 5 -> 3.
($rc, $out, $err) = $e->kazoo($reconfig, args => [ $e->node(1)->address, '-', '4,5' ]);
like($out, qr/^OK$/m, 'reconfig removes 4 and 5') or diag($out, $err);
unlike($out, qr/^server\.[45]=/m, 'the reply no longer lists them');
for my $id (4, 5)
{
	my $n = $e->node($id);
	ok(wait_until(sub { $n->log_contains(qr/this member \($id\) was removed from the ensemble by the configuration of version [0-9a-f]+: it stops serving/) }, 20),
		"member $id says it was removed");
	ok(wait_until(sub { ($e->srvr($n) // '') =~ /not currently serving requests/ }, 20), "member $id stops serving");
}
ok(wait_until(sub { !grep { quorum_size($e->node($_)) != 3 } 1 .. 3 }, 30), 'members 1..3 run with 3 participants');
$e->node($_)->stop for 4, 5;

# Remove the leader under writers.
my $old = $e->wait_for_leader(exclude => [ 4, 5 ]);
ok($old, 'leader before its removal');
my ($stay) = grep { $_ != $old } map { $e->node($_) } 1 .. 3;
($rc, $out, $err) = $e->kazoo($reconfig, args => [ $stay->address, '-', $old->{zab_id} ]);
like($out, qr/^OK$/m, "reconfig removes the leader ($old->{zab_id})") or diag($out, $err);
my $new = $e->wait_for_leader(exclude => [ 4, 5, $old->{zab_id} ]);
ok($new && $new != $old, 'the two remaining members elect a new leader');
ok(wait_until(sub { $old->log_contains(qr/was removed from the ensemble/) }, 20), 'the old leader says it was removed');
sleep 1;

open(my $fh, '>', $stop) or die;
close $fh;
my %acked;
for my $h (@w)
{
	my ($code, $wout, $werr) = $e->kazoo_wait($h, 60);
	is($code, 0, 'writer finished') or diag($werr);
	$acked{$1} = 1 while $wout =~ /^ACK (\S+)$/mg;
}
cmp_ok(scalar(keys %acked), '>', 20, 'writers had writes acknowledged (' . scalar(keys %acked) . ')');
my @remaining = grep { $_ != $old } map { $e->node($_) } 1 .. 3;
my $check = <<'PY';
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
c.sync('/')
for ch in c.get_children('/w'): print('/w/' + ch)
print('Q' if c.exists('/written-by-3-4-5') else 'noQ')
PY
for my $n (@remaining)
{
	($rc, $out, $err) = $e->kazoo($check, args => [ $n->address ]);
	my %have = map { ($_ => 1) } grep { m{^/w/} } split /\n/, $out // '';
	my @missing = grep { !$have{$_} } sort keys %acked;
	is(scalar(@missing), 0, "member $n->{zab_id} has every acknowledged write") or diag("missing: @missing[0..($#missing < 9 ? $#missing : 9)]", $err);
	like($out, qr/^Q$/m, "member $n->{zab_id} has the write made by 3, 4 and 5");
}
ok($e->wait_converged(nodes => \@remaining), 'remaining members converged');

# Restart: the membership made by reconfig is kept.
$old->stop;
$_->stop for @remaining;
$_->start for @remaining;
ok($e->wait_for_leader(exclude => [ 4, 5, $old->{zab_id} ]), 'the two members restart and elect a leader');
is(quorum_size($_), 2, "member $_->{zab_id} still runs with 2 participants after the restart") for @remaining;

$e->stop_all;
done_testing();
