# Partitions of an ensemble whose members talk mutual TLS (tls.quorum),
# through the fault-injection proxy (it forwards TCP, so TLS passes it
# unchanged): 520's two scenarios, once each.
#  - the leader cut off from everyone steps down, the majority elects a
#    new leader over TLS and takes writes; after the heal the old leader
#    rejoins (new TLS connections) and every member converges;
#  - a follower cut off stops serving and catches up after the heal.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until tmp_check_dir test_name);
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);

plan skip_all => 'the openssl command is missing' unless openssl_ok();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca = make_ca($tmp, 'ca');
my %cert = map { ($_ => make_cert($tmp, $ca, "member$_", cn => "member$_", san => "IP:127.0.0.1$_")) } 1 .. 3;

my $e = Corral::Test::Ensemble->new('tp', n => 3, proxy => 1);
$e->init(extra_for => { map {
	($_ => { tls => { cert_file => $cert{$_}{cert}, key_file => $cert{$_}{key}, ca_file => $ca->{cert},
		quorum => 'true' } })
} 1 .. 3 });
ok($e->start, 'an ensemble over mutual TLS behind the proxy elects a leader');

my $write = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
c = KazooClient(hosts=os.environ['HOSTS'], timeout=3, connection_retry=KazooRetry(max_tries=0))
try:
    c.start(timeout=3)
    c.ensure_path('/p')
    c.create(sys.argv[1], b'v')
    print('OK')
except Exception as ex:
    print('FAILED', type(ex).__name__)
PY
my $ls = <<'PY';
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/p'); print(' '.join(sorted(c.get_children('/p')))); c.stop()
PY

my $old = $e->leader;
ok($old, "leader is member $old->{zab_id}");
my ($rc, $out) = $e->kazoo($write, hosts => $old->address, args => ['/p/before']);
is($out, "OK\n", 'a write before the cut');
$e->isolate($old->{zab_id});
ok(wait_until(sub { $e->mode($old) ne 'leader' }, 15), 'the cut-off leader stepped down');
my $new = $e->wait_for_leader(exclude => [ $old->{zab_id} ]);
ok($new && $new != $old, 'the majority elected member ' . ($new ? $new->{zab_id} : '?'));
($rc, $out) = $e->kazoo($write, hosts => $new->address, args => ['/p/new']);
is($out, "OK\n", 'the new leader takes writes');
$e->heal;
ok($e->wait_for_leader, 'healed, one leader');
ok($e->wait_converged, 'every member converged');
for my $node ($e->nodes)
{
	($rc, $out) = $e->kazoo($ls, hosts => $node->address);
	is($out, "before new\n", "member $node->{zab_id} has both writes");
}

my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
$e->isolate($f->{zab_id});
ok(wait_until(sub { $e->mode($f) eq 'looking' }, 15), 'a cut-off follower stops serving');
my $l = $e->wait_for_leader(exclude => [ $f->{zab_id} ]);
($rc, $out) = $e->kazoo($write, hosts => $l->address, args => ['/p/while']);
is($out, "OK\n", 'writes go on without it');
$e->heal;
ok($e->wait_for_leader, 'healed');
ok($e->wait_converged, 'converged');
($rc, $out) = $e->kazoo($ls, hosts => $f->address);
like($out, qr/\bwhile\b/, 'the follower caught up over TLS');
for my $node ($e->nodes)
{
	unlike($node->log_content, qr/refusing member connection/, "member $node->{zab_id} refused no member");
}

$e->stop_all;
done_testing();
