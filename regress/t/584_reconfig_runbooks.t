# regress/t/584_reconfig_runbooks.t: the runbooks of doc/ensemble.md, step
# by step with the commands they give (corralctl config / reconfig / srvr /
# mntr), under a writer:
#  - "Grow from 3 to 5": two joiners with empty disks follow without
#    counting, one reconfig -add makes them participants;
#  - "Replace a failed member": member 3 killed and its disk gone, a
#    replacement (id 6) joins, one reconfig -remove 3 -add server.6 swaps
#    them; the ensemble then survives losing two of the others.
# Every write the writer saw acknowledged is on every member at the end.
use strict;
use warnings;

use File::Path qw(rmtree);
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until write_file run_command);

my $SUPER = 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=';    # super:test

my $e = Corral::Test::Ensemble->new('rb', n => 6);
$e->init(
	members     => [ 1, 2, 3 ],
	members_for => { 6 => [ 1, 2, 4, 5 ] },    # the replacement lists the members alive then
	server      => { reconfig_enabled => 'true' },
	modules     => { auth_digest      => { super_digest => $SUPER } });
$e->node($_)->start for 1 .. 3;
ok($e->wait_for_leader(exclude => [ 4, 5, 6 ]), 'an ensemble of 3');

my $ctl = $e->node(1)->build_dir . '/bin/corralctl';
sub ctl
{
	my ($node, @args) = @_;
	my ($rc, $out, $err) = run_command([ $ctl, '-s', $node->address, @args ], timeout => 60);
	return ($rc, ($out // '') . ($err // ''));
}
sub spec
{
	my ($n) = @_;
	return "server.$n->{zab_id}=$n->{host}:$n->{peer_port}:$n->{election_port}:participant;" . $n->address;
}
sub quorum_size
{
	my ($n) = @_;
	my ($rc, $out) = ctl($n, 'mntr');
	return $out =~ /^zk_quorum_size\t(\d+)$/m ? $1 : -1;
}

my $writer = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import *
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.ensure_path('/rb')
i = 0
while not os.path.exists(sys.argv[1]):
    try:
        c.create('/rb/n-%06d' % i, b'x'); print('ACK /rb/n-%06d' % i, flush=True); i += 1
    except NodeExistsError:
        i += 1
    except Exception:
        time.sleep(0.05)
PY
my $stop = $e->node(1)->basedir . '/stop-writer';
my $w = $e->kazoo_bg($writer, args => [$stop], hosts => $e->hosts($e->node(1), $e->node(2)));

# ---- Grow from 3 to 5 ------------------------------------------------------
my ($rc, $out) = ctl($e->node(1), 'config');
is($rc, 0, 'step 1: corralctl config');
like($out, qr/^server\.3=.*\nversion=[0-9a-f]+$/m, 'step 1: it prints the three members and the version');
$e->node($_)->start for 4, 5;
ok(wait_until(sub { !grep { (ctl($e->node($_), 'srvr'))[1] !~ /^Mode: follower$/m } 4, 5 }, 30),
	'step 3: the joiners say Mode: follower');
is(quorum_size($e->node(4)), 3, 'step 3: and zk_quorum_size 3 (not counted yet)');
($rc, $out) = ctl($e->node(1), 'reconfig', '--auth', 'digest:super:test', '-add', join(',', spec($e->node(4)), spec($e->node(5))));
is($rc, 0, 'step 4: corralctl reconfig -add') or diag($out);
like($out, qr/^Committed new configuration:\n(server\.\d+=.*\n){5}version=[0-9a-f]+$/m, 'step 4: five members committed');
ok(wait_until(sub { !grep { quorum_size($e->node($_)) != 5 } 1 .. 5 }, 30), 'step 5: zk_quorum_size 5 everywhere');

# ---- Replace a failed member ---------------------------------------------
my $dead = $e->node(3);
$dead->kill9;
rmtree($dead->data_dir);
ok($e->wait_for_leader(exclude => [ 3, 6 ], all => 0), 'member 3 lost: the other four serve');
$e->node(6)->start;
ok(wait_until(sub { (ctl($e->node(6), 'srvr'))[1] =~ /^Mode: follower$/m }, 30), 'step 1: the replacement follows');
($rc, $out) = ctl($e->node(1), 'reconfig', '--auth', 'digest:super:test', '-remove', '3', '-add', spec($e->node(6)));
is($rc, 0, 'step 2: corralctl reconfig -remove 3 -add server.6') or diag($out);
unlike($out, qr/^server\.3=/m, 'step 2: member 3 is gone');
like($out, qr/^\Q${\ spec($e->node(6))}\E$/m, 'step 2: member 6 is in');
ok(wait_until(sub { !grep { quorum_size($e->node($_)) != 5 } 1, 2, 4, 5, 6 }, 30), 'step 3: zk_quorum_size 5 on the five members');
($rc, $out) = ctl($e->node(6), 'config');
like($out, qr/^\Q${\ spec($e->node(6))}\E$/m, 'step 3: corralctl config on the replacement lists it');

# The replacement counts: with 1 and 2 gone, 4, 5 and 6 are a quorum of 5.
$e->node($_)->stop for 1, 2;
ok(wait_until(sub {
			my @m = map { $e->mode($e->node($_)) } 4, 5, 6;
			return (grep { $_ eq 'leader' } @m) == 1 && !grep { !/^(leader|follower)$/ } @m;
		}, 30), '1 and 2 down: 4, 5 and 6 keep a leader');
($rc, $out) = $e->kazoo(<<'PY', hosts => $e->hosts($e->node(6)));
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/rb-after', b'q'); print('WROTE')
PY
like($out, qr/^WROTE$/m, 'a write commits with 4, 5 and 6');
$e->node($_)->start for 1, 2;
ok($e->wait_for_leader(exclude => [3], all => 0), '1 and 2 back');

write_file($stop, '');
my ($code, $wout, $werr) = $e->kazoo_wait($w, 60);
is($code, 0, 'writer finished') or diag($werr);
my %acked;
$acked{$1} = 1 while $wout =~ /^ACK (\S+)$/mg;
cmp_ok(scalar(keys %acked), '>', 10, 'writes acknowledged during both runbooks (' . scalar(keys %acked) . ')');
my @members = map { $e->node($_) } 1, 2, 4, 5, 6;
ok($e->wait_converged(nodes => \@members), 'the five members converged');
for my $n (@members)
{
	my ($r, $o, $er) = $e->kazoo(<<'PY', args => [ $n->address ]);
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=10); c.start(timeout=30)
c.sync('/')
for ch in c.get_children('/rb'): print('/rb/' + ch)
PY
	my %have = map { ($_ => 1) } split /\n/, $o // '';
	is(scalar(grep { !$have{$_} } keys %acked), 0, "member $n->{zab_id} has every acknowledged write");
}

$e->stop_all;
done_testing();
