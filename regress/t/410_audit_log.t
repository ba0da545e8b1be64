# regress/t/410_audit_log.t: the audit_log module (ZooKeeper's
# audit.enable).  A kazoo client with a digest identity makes every kind of
# change (create in each mode kazoo 2.8 can ask for, delete, setData, setACL, multi that succeeds
# and that fails, failures of single ops), fails an addauth, closes its
# session; another client is killed and its session expires.  Each event is
# one line with ZooKeeper's fields (session, user, ip, operation, znode,
# znode_type, acl, result); off means no file; a bad setting is refused.
# Then a 3-member ensemble: a client on a follower is audited there.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::Utils qw(wait_until slurp_file run_command ordered);

my $PY = '/usr/bin/python3';
my $node = Corral::Test::Cluster->new('audit');
my $audit = $node->basedir . '/audit.log';
my %server = (tick_ms => 200, min_session_timeout_ms => 600, max_session_timeout_ms => 20000);

# ---- settings ----------------------------------------------------------------------
$node->init(server => \%server, modules => { audit_log => {} });
{
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	isnt($rc, 0, 'neither file nor syslog: refused');
	like($err, qr/exactly one of file and syslog/, '... with a clear error');
}
$node->init(server => \%server, modules => { audit_log => { syslog => 'true', syslog_facility => 'nope' } });
{
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	like($err, qr/unknown syslog_facility "nope"/, 'an unknown facility is refused');
}
$node->init(server => \%server, modules => ordered(auth_digest => {}, audit_log => { file => $audit }));
{
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, '--check-config passes') or diag($err);
	ok(!-e $audit, '--check-config creates no audit file');
}
ok($node->start, 'corrald starts with audit_log');

my $script = <<'PY';
import os, sys, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE
c = KazooClient(hosts=sys.argv[1], timeout=5, auth_data=[('digest', 'bob:secret')])
c.start(timeout=30)
print('SESSION %x' % c.client_id[0], flush=True)
c.create('/p', b'1')
c.create('/e', b'', ephemeral=True)
c.create('/s-', b'', sequence=True)
c.create('/es-', b'', ephemeral=True, sequence=True)
c.set('/p', b'2')
c.set_acls('/p', [make_digest_acl('bob', 'secret', all=True)])
t = c.transaction(); t.create('/m1', b''); t.set_data('/m1', b'x'); t.delete('/m1'); t.commit()
t = c.transaction(); t.create('/m2', b''); t.delete('/nonexistent'); print('MULTI', t.commit(), flush=True)
for f in (lambda: c.create('/p', b''), lambda: c.delete('/nonexistent'), lambda: c.set('/nonexistent', b'')):
    try: f()
    except Exception as e: print('FAILED', type(e).__name__, flush=True)
c.delete('/e')
c.stop(); c.close()
d = KazooClient(hosts=sys.argv[1], timeout=5)
d.start(timeout=30)
try: d.add_auth('nosuchscheme', 'x')
except Exception as e: print('AUTH', type(e).__name__, flush=True)
k = KazooClient(hosts=sys.argv[1], timeout=1)
k.start(timeout=30)
k.create('/k', b'', ephemeral=True)
print('KILLED %x' % k.client_id[0], flush=True)
os._exit(0)
PY
my ($rc, $out, $err) = run_command([ $PY, '-c', $script, $node->address ], timeout => 60);
my ($sid) = $out =~ /SESSION ([0-9a-f]+)/;
my ($kid) = $out =~ /KILLED ([0-9a-f]+)/;
ok($sid && $kid, 'the client script ran') or diag("$out\n$err");
ok(wait_until(sub { slurp_file($audit) =~ /operation=expireSession/ }, 20), 'the killed session expired');
my @lines = split /\n/, slurp_file($audit);
note(join("\n", @lines));

sub has
{
	my ($name, @kv) = @_;
	my @hit = @lines;
	while (@kv)
	{
		my ($k, $v) = splice(@kv, 0, 2);
		@hit = grep { /(?:^|\t|: )\Q$k\E=\Q$v\E(?:\t|$)/ } @hit;
	}
	ok(@hit >= 1, $name) or diag('no such line');
	return $hit[0];
}

my $s = "0x$sid";
my $l = has('create persistent', session => $s, operation => 'create', znode => '/p', znode_type => 'persistent',
	result => 'success');
like($l // '', qr/\tuser=127\.0\.0\.1,bob\tip=127\.0\.0\.1\t/, 'user: the users of the ip and digest identities');
like($l // '', qr/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}Z INFO audit: session=/, 'date, then the fields');
has('create ephemeral', session => $s, operation => 'create', znode => '/e', znode_type => 'ephemeral');
has('create sequential', session => $s, operation => 'create', znode => '/s-', znode_type => 'persistent_sequential');
has('create ephemeral sequential', session => $s, operation => 'create', znode => '/es-',
	znode_type => 'ephemeral_sequential');
has('setData', session => $s, operation => 'setData', znode => '/p', result => 'success');
has('setAcl with the ACL', session => $s, operation => 'setAcl', znode => '/p', result => 'success');
like(join("\n", grep { /operation=setAcl/ } @lines), qr/\tacl=digest:bob:[^:\t]+=?:cdrwa\t/, 'acl as ZooKeeper prints it');
has('multi: its create', session => $s, operation => 'create', znode => '/m1', result => 'success');
has('multi: its setData', session => $s, operation => 'setData', znode => '/m1', result => 'success');
has('multi: its delete', session => $s, operation => 'delete', znode => '/m1', result => 'success');
has('failed multi', session => $s, operation => 'multiOperation', result => 'failure');
ok(!grep({ /znode=\/m2\t/ } @lines), 'no line for an op of the failed multi');
has('failed create', session => $s, operation => 'create', znode => '/p', result => 'failure');
has('failed delete', session => $s, operation => 'delete', znode => '/nonexistent', result => 'failure');
has('failed setData', session => $s, operation => 'setData', znode => '/nonexistent', result => 'failure');
has('delete', session => $s, operation => 'delete', znode => '/e', result => 'success');
has('closeSession', session => $s, operation => 'closeSession', ip => '127.0.0.1', result => 'success');
has('auth failure', operation => 'auth', ip => '127.0.0.1', scheme => 'nosuchscheme', result => 'failure');
has('expireSession with the client address', session => "0x$kid", operation => 'expireSession', ip => '127.0.0.1',
	result => 'success');
ok(!grep({ /operation=(getData|exists|getChildren)/ } @lines), 'reads are not audited');
$node->stop;

# ---- ensemble: audited by the member the client uses -----------------------------
my $e = Corral::Test::Ensemble->new('au', n => 3);
my %files = map { ($_->{zab_id} => $_->basedir . '/audit.log') } $e->nodes;
$e->init(modules_for => { map { ($_ => { audit_log => { file => $files{$_} } }) } keys %files });
my $leader = $e->start;
ok($leader, 'ensemble with audit_log on every member');
my ($f) = grep { $_ != $leader } $e->nodes;
($rc, $out, $err) = $e->kazoo(<<'PY', hosts => $f->address);
import os, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(hosts=os.environ['HOSTS'], timeout=5); c.start(timeout=30)
c.create('/via-follower', b'')
c.stop()
PY
is($rc, 0, 'a client on a follower created a znode') or diag($err);
ok(wait_until(sub { slurp_file($files{ $f->{zab_id} }) =~ /operation=create\tznode=\/via-follower\tznode_type=persistent\tresult=success/ }, 10),
	'the follower audited it');
unlike(slurp_file($files{ $leader->{zab_id} }) // '', qr/via-follower/, 'the leader did not (the client was not there)');
$e->stop_all;
done_testing();
