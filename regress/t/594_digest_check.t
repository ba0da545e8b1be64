# regress/t/594_digest_check.t: the digest log and the learners' digest
# check (ZooKeeper 3.6's digest check and digest log).
#  - after a few hundred writes, `hash` on every member lists the digest at
#    the same zxids (every 128th), and they agree: busy members are
#    compared at the same zxid;
#  - a learner whose tree diverges from the leader's (the test-only knob
#    server.test_diverge_path makes it corrupt one znode as it applies) is
#    detected as it applies: digest_mismatches_count rises and the log
#    names the zxid; with server.digest_mismatch_exit it stops.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file);

my $e = Corral::Test::Ensemble->new('dg', n => 3);
$e->init(modules => { fourlw => { allow => ['*'] } });
my $leader = $e->start;
ok($leader, 'leader elected');
# The knob acts on learners: give it to the two followers, restarted one
# after the other (the leader keeps leading).
my ($fa, $fb) = grep { $_ != $leader } $e->nodes;
$e->init(
	modules    => { fourlw => { allow => ['*'] } },
	server_for => {
		$fa->{zab_id} => { test_diverge_path => '/div' },
		$fb->{zab_id} => { test_diverge_path => '/div', digest_mismatch_exit => 'true' }
	});
for my $n ($fa, $fb) { $n->stop; $n->start; }
{
	ok($e->wait_for_leader(timeout => 30) == $leader, 'the followers rejoined the same leader');
	my ($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $leader->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
for i in range(300): c.create('/n%d' % i, b'x')
c.stop()
PY
	is($rc, 0, '300 writes') or diag($err);
	ok($e->wait_converged(timeout => 20), 'members converged');
	my ($a, $b, $l) = map { $_->{zab_id} } $fa, $fb, $leader;
	my %h = map { ($_->{zab_id} => { map { split /: / } split /\n/, $_->fourlw('hash') // '' }) } $e->nodes;
	my @common = grep { exists $h{$a}{$_} && exists $h{$b}{$_} } keys %{ $h{$l} };
	cmp_ok(scalar @common, '>=', 2, 'hash: every member lists the digest at the same zxids (' . scalar(@common) . ')');
	is(scalar(grep { $h{$a}{$_} ne $h{$l}{$_} || $h{$b}{$_} ne $h{$l}{$_} } @common), 0, '... and they agree');
	my ($crc, $cout, $cerr) = $leader->corralctl('compare', map { $_->address } $e->nodes);
	is($crc, 0, 'corralctl compare: exit 0') or diag($cout . $cerr);
	like($cout, qr/^3 members agree at \d+ zxids/m, 'corralctl compare: they agree');

	($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $leader->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/div', b'v0')
for i in range(5): c.set('/div', b'v%d' % (i + 1)); c.create('/after%d' % i, b'')
c.stop()
PY
	is($rc, 0, 'writes to the znode member 1 and 2 corrupt') or diag($err);
	my $m1 = $fa;
	ok(wait_until(sub { slurp_file($m1->logfile) =~ /Digest mismatch at zxid 0x[0-9a-f]+: this member's tree digest is/ }, 20),
		'the diverged follower logs the mismatch with its zxid');
	my ($count) = ($m1->fourlw('mntr') // '') =~ /digest_mismatches_count\s+(\d+)/;
	cmp_ok($count // 0, '>=', 1, "... digest_mismatches_count " . ($count // 'none'));
	my ($c3) = ($leader->fourlw('mntr') // '') =~ /digest_mismatches_count\s+(\d+)/;
	is($c3 // 0, 0, 'the leader counts no mismatch');
	# More writes, so that the digest log has an entry after the divergence.
	$e->kazoo(<<'PY', hosts => $leader->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
for i in range(140): c.create('/late%d' % i, b'')
c.stop()
PY
	($crc, $cout, $cerr) = $leader->corralctl('compare', $leader->address, $fa->address);
	is($crc, 1, 'corralctl compare with the diverged member: exit 1') or diag($cout . $cerr);
	like($cout, qr/DIFFERENT/, '... naming the zxids where they differ');
	ok($fb->wait_exit(20), 'the other (digest_mismatch_exit) stopped');
	like(slurp_file($fb->logfile), qr/digest_mismatch_exit is set: exiting after a digest mismatch at zxid/,
		'... saying why');
}
$e->stop_all;
done_testing();
