# regress/t/404_observability_ensemble.t: metrics, admin commands, status
# and hash on a 3-member ensemble: roles, followers, lag, the leader-only
# fields, and digests that agree once the members converge.
use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils;

sub http_get
{
	my ($host, $port, $path) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5) or return {};
	syswrite($s, "GET $path HTTP/1.1\r\nHost: $host\r\n\r\n");
	my $buf = Corral::Test::Cluster::read_until_eof($s, 10) // '';
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $buf, 2;
	my ($status) = ($head // '') =~ m{^HTTP/1\.1 (\d+)};
	return { status => $status // 0, body => $body // '' };
}

# The ports the modules bound (listen ...:0), from each member's log.
sub bound_port
{
	my ($node, $re) = @_;
	my ($p) = $node->log_content =~ $re;
	return $p;
}

my $e = Corral::Test::Ensemble->new('obs', n => 3);
$e->init(modules => {
	fourlw             => { allow => ['*'] },
	metrics_prometheus => { listen => '127.0.0.1:0' },
	admin_http         => { listen => '127.0.0.1:0' } });
my $leader = $e->start;
ok($leader, 'a leader is elected');
my @followers = grep { $_ != $leader } $e->nodes;

my (%mport, %aport);
for my $n ($e->nodes)
{
	$mport{$n} = bound_port($n, qr{serving Prometheus metrics on http://127\.0\.0\.1:(\d+)/metrics});
	$aport{$n} = bound_port($n, qr{serving the admin commands on http://127\.0\.0\.1:(\d+)/commands});
	ok($mport{$n} && $aport{$n}, $n->name . ': both listeners bound a port of their own');
}

# ---- corralctl status -----------------------------------------------------------------------
{
	my ($rc, $out, $err) = $leader->corralctl('status');
	is($rc, 0, 'status on the leader: exit 0') or diag($err);
	like($out, qr/^Mode:\s+leader$/m, 'leader: Mode: leader');
	like($out, qr/^Followers:\s+2 \(2 synced, \d+ pending syncs\)$/m, 'leader: Followers: 2, synced');
	like($out, qr/^Lag:\s+\d+ transactions$/m, 'leader: a Lag line');
	($rc, $out) = $leader->corralctl('status', '--json');
	my $j = eval { JSON::PP->new->decode($out) } // {};
	is($j->{mode}, 'leader', 'leader json: mode');
	is($j->{followers}, 2, 'leader json: followers');
	is($j->{synced_followers}, 2, 'leader json: synced_followers');
	like($j->{lag} // '', qr/^\d+$/, 'leader json: lag is a number');
	for my $f (@followers)
	{
		($rc, $out, $err) = $f->corralctl('status');
		is($rc, 0, $f->name . ': status exit 0') or diag($err);
		like($out, qr/^Mode:\s+follower$/m, $f->name . ': Mode: follower');
		like($out, qr/^Lag:\s+\d+ transactions$/m, $f->name . ': Lag in transactions');
		unlike($out, qr/^Followers:/m, $f->name . ': no Followers line');
	}
}

# ---- /metrics on the leader ------------------------------------------------------------------
{
	my $r = http_get('127.0.0.1', $mport{$leader}, '/metrics');
	is($r->{status}, 200, 'leader /metrics: 200');
	for my $g (qw(followers synced_followers pending_syncs zab_epoch zab_commit_zxid zab_applied_zxid))
	{
		like($r->{body}, qr/^# TYPE \Q$g\E gauge$/m, "leader /metrics: the registry's $g appears by itself");
	}
	SKIP:
	{
		skip 'promtool is not installed', 1 unless -x '/usr/bin/promtool';
		my ($rc, $out, $err) = run_command([ '/usr/bin/promtool', 'check', 'metrics' ], stdin => $r->{body});
		my @other = grep { $_ ne '' && !/non-histogram and non-summary metrics should not have "_count" suffix$/ }
		  split /\n/, $out . $err;
		ok(($rc == 0 || $rc == 3) && !@other, "leader /metrics: promtool finds nothing new (exit $rc)")
		  or diag($out, $err);
	}
}

# ---- admin commands ----------------------------------------------------------------------------
{
	my $s = eval { JSON::PP->new->decode(http_get('127.0.0.1', $aport{$leader}, '/commands/srvr')->{body}) } // {};
	is($s->{server_stats}{server_state}, 'leader', 'admin srvr on the leader: server_state leader');
	is_deeply([ sort keys %{ $s->{proposal_stats} // {} } ], [qw(last_buffer_size max_buffer_size min_buffer_size)],
		'admin srvr on the leader: proposal_stats, as ZooKeeper\'s leader');
	my $f = eval { JSON::PP->new->decode(http_get('127.0.0.1', $aport{ $followers[0] }, '/commands/srvr')->{body}) } // {};
	is($f->{server_stats}{server_state}, 'follower', 'admin srvr on a follower: server_state follower');
	ok(!exists $f->{proposal_stats}, 'admin srvr on a follower: no proposal_stats');
	my $m = eval { JSON::PP->new->decode(http_get('127.0.0.1', $aport{$leader}, '/commands/mntr')->{body}) } // {};
	is($m->{synced_followers}, 2, 'admin mntr on the leader: synced_followers');
}

# ---- hash agrees once converged -------------------------------------------------------------------
{
	my ($rc, $out, $err) = $e->kazoo(<<'PY');
import os
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10)
c.start(timeout=20)
for i in range(5):
    c.create('/obs-%d' % i, b'x')
c.stop()
PY
	is($rc, 0, 'writes through the ensemble') or diag($err);
	ok($e->wait_converged, 'the members converge');
	my @h = map { $_->fourlw('hash') } $e->nodes;
	like($h[0], qr/^[0-9a-f]+: -?\d+\n\z/, 'hash: one line');
	is(scalar(keys %{ { map { ($_ => 1) } @h } }), 1, 'hash: the same zxid and digest on every member');
	my @a = map {
		my $j = eval { JSON::PP->new->decode(http_get('127.0.0.1', $aport{$_}, '/commands/hash')->{body}) } // {};
		$j->{digests}[0]{digest} // 'none'
	} $e->nodes;
	is(scalar(keys %{ { map { ($_ => 1) } @a } }), 1, 'admin hash: the same digest on every member');
	my ($wd) = $h[0] =~ /: (-?\d+)$/m;
	is($a[0], $wd, 'admin hash: the digest of the word');
}

$e->stop_all;
done_testing();
