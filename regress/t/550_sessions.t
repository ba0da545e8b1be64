# regress/t/550_sessions.t: sessions in an ensemble.
#  - a client whose member goes away reconnects to another member with the
#    same session: its ephemerals stay, its watches are re-registered and
#    fire;
#  - a session kept alive by pings to a follower outlives its timeout (the
#    follower relays its liveness to the leader);
#  - a session that stops pinging expires on the leader, and its ephemerals
#    are deleted on every member through the broadcast;
#  - closing a session through a follower deletes its ephemerals at once.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time usleep);
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until);

my $e = Corral::Test::Ensemble->new('ss', n => 3);
$e->init;
my $leader = $e->start;
ok($leader, 'leader elected');
my @f = grep { $_ != $leader } $e->nodes;

# ---- moving to another member ------------------------------------------------------
my $mover = <<'PY';
import os, sys, time, threading, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
hosts = os.environ['HOSTS'].split(',')
c = KazooClient(hosts=hosts[0] + ',' + hosts[1], timeout=6, randomize_hosts=False)
c.start(timeout=30)
sid = c.client_id[0]
print('SESSION %x on %s' % (sid, c._connection._socket.getpeername()[0]), flush=True)
c.create('/eph-moved', b'', ephemeral=True)
fired = threading.Event()
c.exists('/watched', watch=lambda ev: fired.set())
print('READY', flush=True)
while not os.path.exists(sys.argv[1]): time.sleep(0.01)
# our member is gone: wait until kazoo is connected again
deadline = time.time() + 20
while time.time() < deadline and not (c.connected and c._connection._socket and c._connection._socket.getpeername()[0] != hosts[0].split(':')[0]):
    time.sleep(0.05)
print('NOW %x on %s' % (c.client_id[0], c._connection._socket.getpeername()[0]), flush=True)
other = KazooClient(hosts=hosts[2], timeout=10); other.start(timeout=30)
print('EPH', 'yes' if other.exists('/eph-moved') else 'no')
other.create('/watched', b'')
print('WATCH', 'fired' if fired.wait(10) else 'silent')
c.stop(); c.close()
other.sync('/')
print('EPH after close', 'yes' if other.exists('/eph-moved') else 'no')
other.stop()
PY
{
	my $go = $f[0]->basedir . '/go-move';
	my $h = $e->kazoo_bg($mover, hosts => $e->hosts($f[0], $f[1], $leader), args => [$go]);
	ok(wait_until(sub { Corral::Test::Utils::slurp_file($h->{out}) =~ /^READY/m }, 30),
		'client on follower ' . $f[0]->{zab_id} . ' with an ephemeral and a watch');
	$f[0]->stop;
	Corral::Test::Utils::write_file($go, '');
	my ($rc, $out, $err) = $e->kazoo_wait($h, 60);
	my ($s1) = $out =~ /^SESSION (\w+)/m;
	my ($s2) = $out =~ /^NOW (\w+) on 127\.0\.0\.1\Q$f[1]{zab_id}\E$/m;
	ok($s2, 'the client reconnected to the other follower') or diag($out, $err);
	is($s2, $s1, 'with the same session');
	like($out, qr/^EPH yes$/m, 'its ephemeral is still there');
	like($out, qr/^WATCH fired$/m, 'its watch was re-registered and fired');
	like($out, qr/^EPH after close no$/m, 'closing the session deleted the ephemeral');
	$f[0]->start;
	ok($e->wait_for_leader, 'member back');
}

# ---- liveness relayed by a follower; expiry on the leader ------------------------------
my $alive = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=1.2)
c.start(timeout=30)
c.create('/eph-alive', b'', ephemeral=True)
time.sleep(4)       # kazoo pings the follower every timeout/3
print('CONNECTED' if c.connected else 'LOST', c.client_id[0] if c.client_id else 0)
c.stop()
PY
my $check = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=10); c.start(timeout=30)
c.sync('/')
print('yes' if c.exists(sys.argv[1]) else 'no')
c.stop()
PY
{
	my $h = $e->kazoo_bg($alive, hosts => $f[1]->address);
	usleep(2_500_000);    # past the 1.2 s timeout
	my ($rc, $out) = $e->kazoo($check, hosts => $leader->address, args => ['/eph-alive']);
	is($out, "yes\n", 'a session pinging a follower outlives its timeout (liveness relayed to the leader)');
	($rc, $out) = $e->kazoo_wait($h, 30);
	like($out, qr/^CONNECTED/, 'and its client stayed connected');
}

# A raw client: creates an ephemeral with a 1 s session, then falls silent.
my $silent = <<'PY';
import os, socket, struct, sys, time
host, port = os.environ['HOSTS'].split(':')
s = socket.create_connection((host, int(port)), timeout=20)
def frame(b): s.sendall(struct.pack('>i', len(b)) + b)
def recv_exact(n):
    d = b''
    while len(d) < n:
        x = s.recv(n - len(d))
        if not x: raise EOFError()
        d += x
    return d
def read_frame(): return recv_exact(struct.unpack('>i', recv_exact(4))[0])
def ustr(p): b = p.encode(); return struct.pack('>i', len(b)) + b
frame(struct.pack('>iqiqi', 0, 0, 1000, 0, 16) + b'\0' * 16 + b'\0')
read_frame()
acl = struct.pack('>i', 1) + struct.pack('>i', 31) + ustr('world') + ustr('anyone')
frame(struct.pack('>ii', 1, 1) + ustr(sys.argv[1]) + struct.pack('>i', 0) + acl + struct.pack('>i', 1))
r = read_frame()
print('CREATED err=%d' % struct.unpack('>iqi', r[:16])[2], flush=True)
time.sleep(30)
PY
for my $n ($f[1], $leader)
{
	my $path = "/eph-silent-$n->{zab_id}";
	my $h = $e->kazoo_bg($silent, hosts => $n->address, args => [$path]);
	ok(wait_until(sub { Corral::Test::Utils::slurp_file($h->{out}) =~ /CREATED err=0/ }, 20),
		"silent client created $path on member $n->{zab_id}");
	my $t0 = time;
	my $gone = wait_until(sub {
		!grep { my ($rc, $out) = $e->kazoo($check, hosts => $_->address, args => [$path]); $out ne "no\n" } $e->nodes;
	}, 20);
	ok($gone, sprintf('the silent session expired: %s deleted on every member (%.1f s)', $path, time - $t0));
	kill 'KILL', $h->{pid};
	$e->kazoo_wait($h, 5);
}
# ---- a session created through one member, at once resumed on another ---------------
# (the other may not have applied the createSession yet: it catches up with
# the leader before answering, instead of calling the session expired)
my $hop = <<'PY';
import os, socket, struct, sys, time
a, b = os.environ['HOSTS'].split(',')
def conn(hp, sid, pw):
    h, p = hp.split(':')
    s = socket.create_connection((h, int(p)), timeout=10)
    body = struct.pack('>iqiq', 0, 0, 5000, sid) + struct.pack('>i', len(pw)) + pw + b'\0'
    s.sendall(struct.pack('>i', len(body)) + body)
    d = b''
    while len(d) < 4:
        x = s.recv(4 - len(d))
        if not x: return s, None
        d += x
    n = struct.unpack('>i', d)[0]
    d = b''
    while len(d) < n:
        x = s.recv(n - len(d))
        if not x: return s, None
        d += x
    proto, to, sid2, pwlen = struct.unpack('>iiqi', d[:20])
    return s, (to, sid2, d[20:20 + pwlen])
ok = 0
for i in range(20):
    s1, r1 = conn(a, 0, b'\0' * 16)
    s2, r2 = conn(b, r1[1], r1[2])
    if r2 and r2[0] > 0 and r2[1] == r1[1]: ok += 1
    s1.close(); s2.close()
print('resumed', ok)
t0 = time.time()
s3, r3 = conn(b, 0x7f00000000001234, b'\0' * 16)
print('unknown', 'expired' if r3 and r3[0] == 0 else 'other', '%.1f' % (time.time() - t0))
PY
{
	my ($rc, $out, $err) = $e->kazoo($hop, hosts => join(',', $f[0]->address, $f[1]->address));
	like($out, qr/^resumed 20$/m, 'a new session resumes at once on another member, 20 times out of 20') or diag($out, $err);
	like($out, qr/^unknown expired/m, 'an unknown session is still told it expired');
}

ok($e->wait_converged, 'converged');
$e->stop_all;
done_testing();
