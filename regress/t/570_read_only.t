# regress/t/570_read_only.t: a member cut off from the quorum refuses
# everything by default; with server.read_only: true it serves read-only
# clients (kazoo read_only=True) from its last state: reads answer, writes
# fail with NotReadOnly, isro says "ro", srvr says "Mode: read-only" and
# READ-ONLY mode; read-write clients are refused.  After the heal it serves
# read-write clients again.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $e = Corral::Test::Ensemble->new('ro', n => 3, proxy => 1);
$e->init(server => { read_only => 'true' }, modules => { fourlw => { allow => ['*'] } });
my $leader = $e->start;
ok($leader, 'leader elected');
my ($rc, $out, $err) = $e->kazoo(<<'PY');
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/ro', b'before'); c.stop(); print('OK')
PY
is($out, "OK\n", 'wrote /ro');
ok($e->wait_converged, 'converged');

my ($f) = grep { $e->mode($_) eq 'follower' } $e->nodes;
is($f->fourlw('isro'), 'rw', 'isro: rw while in the quorum');
$e->isolate($f->{zab_id});
ok(wait_until(sub { $e->mode($f) eq 'read-only' }, 15), 'the cut-off member switches to read-only mode');
like($f->fourlw('srvr'), qr/^READ-ONLY mode; serving only read-only clients$/m, 'srvr says READ-ONLY mode');
is($f->fourlw('isro'), 'ro', 'isro: ro');

($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $f->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10, read_only=True); c.start(timeout=15)
print('STATE', c.client_state)
print('READ', c.get('/ro')[0].decode())
try:
    c.create('/ro-write', b''); print('WRITE accepted')
except NotReadOnlyCallError:
    print('WRITE NotReadOnly')
c.stop()
rw = KazooClient(hosts=os.environ['HOSTS'], timeout=2)
try:
    rw.start(timeout=3); print('RW connected')
except Exception as ex:
    print('RW refused')
PY
like($out, qr/^STATE CONNECTED_RO$/m, 'a read-only client connects') or diag($err);
like($out, qr/^READ before$/m, 'and reads the last state');
like($out, qr/^WRITE NotReadOnly$/m, 'writes fail with NotReadOnly');
like($out, qr/^RW refused$/m, 'a read-write client is refused');

$e->heal;
ok($e->wait_for_leader, 'healed');
is($f->fourlw('isro'), 'rw', 'isro: rw again');
($rc, $out) = $e->kazoo(<<'PY', hosts => $f->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.create('/ro-after', b''); print('OK', sorted(k for k in c.get_children('/') if k.startswith('ro')))
c.stop()
PY
is($out, "OK ['ro', 'ro-after']\n", 'read-write clients again after the heal');
ok($e->wait_converged, 'converged (no read-only session left behind)');
$e->stop_all;

# Without read_only, a cut-off member serves nobody.
my $n = Corral::Test::Ensemble->new('nro', n => 3, proxy => 1);
$n->init;
$leader = $n->start;
($f) = grep { $n->mode($_) eq 'follower' } $n->nodes;
$n->isolate($f->{zab_id});
ok(wait_until(sub { $n->mode($f) eq 'looking' }, 15), 'without read_only: the cut-off member is looking');
($rc, $out) = $n->kazoo(<<'PY', hosts => $f->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=2, read_only=True)
try:
    c.start(timeout=3); print('connected')
except Exception:
    print('refused')
PY
is($out, "refused\n", 'even read-only clients are refused');
$n->stop_all;
done_testing();
