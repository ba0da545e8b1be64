# regress/t/593_session_log.t: who did what.  Session creation, close and
# expiry are logged at INFO with the client's address and the identities
# its connection holds (ZooKeeper logs these at INFO), on the member the
# client used; the leader's expiry line names the last client address it
# knows.
use strict;
use warnings;

use Test::More;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file);

my $e = Corral::Test::Ensemble->new('sl', n => 3);
$e->init(modules => { auth_digest => {} });
my $leader = $e->start;
ok($leader, 'leader elected');
my ($f) = grep { $_ != $leader } $e->nodes;
my %off = map { ($_->{zab_id} => -s $_->logfile) } $e->nodes;

my $script = <<'PY';
import os, sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=sys.argv[1], timeout=2, auth_data=[('digest', 'bob:secret')])
c.start(timeout=30)
print('SESSION %x' % c.client_id[0], flush=True)
if sys.argv[2] == 'close':
    c.stop(); c.close()
else:
    c.create('/eph', b'', ephemeral=True)
    os.kill(os.getpid(), 9)
PY
my ($rc, $out) = $e->kazoo($script, args => [ $f->address, 'close' ]);
my ($closed) = $out =~ /SESSION ([0-9a-f]+)/;
ok($closed, 'a client with a digest identity on a follower opened and closed its session');
($rc, $out) = $e->kazoo($script, args => [ $leader->address, 'kill' ]);
my ($killed) = $out =~ /SESSION ([0-9a-f]+)/;
ok($killed, 'a client on the leader was killed');
ok(wait_until(sub { slurp_file($leader->logfile) =~ /Expiring session 0x$killed/ }, 20), 'its session expired');

my $flog = substr(slurp_file($f->logfile), $off{ $f->{zab_id} });
my $llog = substr(slurp_file($leader->logfile), $off{ $leader->{zab_id} });
like($flog, qr/INFO.*Established session 0x$closed for client \/127\.0\.0\.1:\d+, identities ip:127\.0\.0\.1/,
	'follower: creation with address and identities');
like($flog,
	qr/INFO.*Closing \(client's request\) session 0x$closed for client \/127\.0\.0\.1:\d+, identities .*digest:bob:/,
	'follower: close with address and the digest identity');
like($llog, qr/INFO.*Established session 0x$killed for client \/127\.0\.0\.1:\d+/, 'leader: creation');
like($llog, qr/INFO.*Expiring session 0x$killed, timeout of \d+ms exceeded; last client \/127\.0\.0\.1:\d+/,
	'leader: expiry with the last client address');
$e->stop_all;
done_testing();
