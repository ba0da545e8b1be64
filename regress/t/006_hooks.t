# regress/t/006_hooks.t: the event hooks of corral/hooks.h, seen through
# regress/modules/hook_audit.c, which writes one line per event to a file.
#
# A raw wire client (Corral::Test::Wire) connects, authenticates, makes
# requests that succeed and fail, a multi that fails, closes its session; a
# second one lets its session expire.  Every event must be there, once, with
# its fields, in the order the core promises: a write's txn_committed before
# its request_completed (both after durability), session events right after
# their transaction.  Then a 3-member ensemble: a follower reports the
# requests of its clients and the commits it learns, the leader the expiry.
use strict;
use warnings;

use Digest::SHA qw(sha1_base64);
use IO::Socket::INET;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Ensemble;
use Corral::Test::Utils;
use Corral::Test::Wire
  qw(frame ustring buffer path_body create_body multi_read_body OP_CREATE OP_DELETE OP_GETDATA OP_SETDATA OP_PING OP_MULTI_READ);

use constant {
	OP_MULTI         => 14,
	OP_AUTH          => 100,
	OP_CLOSE_SESSION => -11,
	XID_AUTH         => -4,
	XID_PING         => -2,
};

my $node = Corral::Test::Cluster->new('hooks');
my $rdir = $node->regress_modules_dir;
my $mdir = $node->modules_dir;
if (!-e "$rdir/hook_audit.so")
{
	fail("hook_audit.so is not built in $rdir");
	done_testing();
	exit 1;
}

my $audit = $node->basedir . '/audit.log';
my $hex   = sub { sprintf('0x%x', $_[0]) };

# The lines of the audit file, chomped.
sub audit_lines
{
	my ($file) = @_;
	return split /\n/, slurp_file($file // $audit);
}

# Waits (bounded) until the audit file has a line matching $re; returns it.
sub wait_line
{
	my ($re, $file) = @_;
	my $found;
	wait_until(sub { ($found) = grep { /$re/ } audit_lines($file); defined $found }, timeout_default());
	return $found;
}

# The index of the first line matching $re in @lines, or -1.
sub index_of
{
	my ($re, @lines) = @_;
	for my $i (0 .. $#lines) { return $i if $lines[$i] =~ $re; }
	return -1;
}

# A multi of a create and a delete of a node that does not exist: fails
# on its second op with NoNode.
sub failing_multi_body
{
	my ($path) = @_;
	return pack('l> C l>', OP_CREATE, 0, -1) . create_body($path, 'm', 0)
	  . pack('l> C l>', OP_DELETE, 0, -1) . ustring('/no/such/node') . pack('l>', -1)
	  . pack('l> C l>', -1, 1, -1);
}

# ---- --check-config runs no start hook: nothing is written --------------------
$node->init(
	module_path => [ $rdir, $mdir ],
	server      => {
		tick_ms                => 200,
		min_session_timeout_ms => 600,
		max_session_timeout_ms => 20000,
		max_request_bytes      => 4096,
		max_reply_bytes        => 8192
	},
	modules     => ordered(fourlw => { allow => ['*'] }, auth_digest => {}, hook_audit => { file => $audit }));
{
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, '--check-config passes') or diag($err);
	ok(!-e $audit, '--check-config: the audit file is not even created');
}

ok($node->start, 'corrald starts with hook_audit') or BAIL_OUT('cannot start');
is((audit_lines())[0], 'started', 'the start hook opened the file; no event came before it');

# ---- one session: connect, auth, requests, multi, ping, close -------------------
my $c = Corral::Test::Wire->connect($node->address) or BAIL_OUT('cannot connect');
my $port = $c->socket->sockport;
my $sid  = $c->session_id;
my $sidx = $hex->($sid);

my $connected = wait_line(qr/^connected conn=\d+ peer=127\.0\.0\.1:$port$/);
ok($connected, 'client_connected: the connection, with its peer address') or diag(slurp_file($audit));
my ($conn) = ($connected // '') =~ /conn=(\d+)/;
$conn //= -1;

my $created = wait_line(qr/^session_created session=$sidx /);
like($created, qr/^session_created session=$sidx zxid=0x[0-9a-f]+ timeout_ms=10000$/,
	'session_created: the id the client got, the negotiated timeout');
my ($create_session_zxid) = ($created // '') =~ /zxid=(0x[0-9a-f]+)/;

my @replies;
sub request
{
	my ($xid, $op, $body, $what) = @_;
	$c->send_request($xid, $op, $body);
	my ($rxid, $zxid, $err) = $c->read_reply(timeout_default());
	is($rxid, $xid, "$what: answered");
	push @replies, [ $xid, $op, $err, $zxid ];
	return ($err, $zxid);
}

my $secret = 'bob:secret';
my $digest = 'bob:' . sha1_base64($secret) . '=';
request(XID_AUTH, OP_AUTH, pack('l>', 0) . ustring('digest') . buffer($secret), 'addauth digest');
my ($e1, $z1) = request(1, OP_CREATE, create_body('/audited', 'v1', 0), 'create /audited');
is($e1, 0, 'create: ok');
my ($e2, $z2) = request(2, OP_CREATE, create_body('/audited', 'v2', 0), 'create /audited again');
is($e2, -110, 'create again: NodeExists');
my ($e3) = request(3, OP_GETDATA, path_body('/nowhere', 0), 'getData /nowhere');
is($e3, -101, 'getData: NoNode');
my ($e4, $z4) = request(4, OP_MULTI, failing_multi_body('/m1'), 'a multi that fails');
my ($e5, $z5) = request(5, OP_SETDATA, ustring('/audited') . buffer('v3') . pack('l>', -1), 'setData /audited');
is($e5, 0, 'setData: ok');
request(XID_PING, OP_PING, '', 'ping');
request(6, OP_CREATE, create_body('/big', 'x' x 3000, 0), 'create /big (3000 bytes)');
# Built in steps, dropped half-way for MarshallingError: the error counts.
my ($e7) = request(7, OP_MULTI_READ, multi_read_body(('/big') x 4), 'multiRead above max_reply_bytes');
is($e7, -5, 'multiRead above max_reply_bytes: MarshallingError');
my ($e6, $z6) = request(8, OP_CLOSE_SESSION, '', 'closeSession');
is($e6, 0, 'closeSession: ok');
ok($c->wait_closed(timeout_default()), 'the server closes the connection after closeSession');
$c->close;

wait_line(qr/^session_closed session=$sidx /) or diag(slurp_file($audit));
my @lines = audit_lines();

like(
	(grep { /^authenticated conn=$conn / } @lines)[0] // '',
	qr/^authenticated conn=$conn session=$sidx scheme=digest id=\Q$digest\E$/,
	'client_authenticated: the connection, its session, the scheme and the identity gained');

# request_completed: one line per request, with its opcode and error code.
my @req = grep { /^request conn=$conn / } @lines;
is(scalar @req, scalar @replies, 'request_completed: one event per request answered') or diag(join("\n", @req));
for my $i (0 .. $#replies)
{
	my ($xid, $op, $err, $zxid) = @{ $replies[$i] };
	# A failed multi: the error of the op that failed, not the header's 0.
	$err = -101 if $op == OP_MULTI;
	my $zx = $hex->($zxid);
	like($req[$i] // '',
		qr/^request conn=$conn session=$sidx xid=$xid op=$op\/\w+ err=$err\/\w+ zxid=$zx latency_ms=\d+$/,
		"request_completed $i: xid $xid, opcode $op, error $err, the zxid of the reply");
}
like($req[1] // '', qr/ op=1\/create err=0\/Ok /,          'names: create, Ok');
like($req[2] // '', qr/ op=1\/create err=-110\/NodeExists /, 'names: NodeExists');
like($req[3] // '', qr/ op=4\/getData err=-101\/NoNode /,    'names: getData, NoNode');
like($req[8] // '', qr/ xid=7 op=22\/multiRead err=-5\/MarshallingError /,
	'a multiRead answered MarshallingError after a partial reply was dropped: the error sent is reported');

# txn_committed: the writes, in zxid order, with their types and paths.
my @txn = grep { /^txn / } @lines;
my @zx  = map { /zxid=0x([0-9a-f]+)/ ? hex $1 : -1 } @txn;
is_deeply(\@zx, [ sort { $a <=> $b } @zx ], 'txn_committed: in zxid order');
my %txn_at = map { /zxid=(0x[0-9a-f]+)/ ? ($1 => $_) : () } @txn;
like($txn_at{ $create_session_zxid // '' } // '', qr/ session=$sidx cxid=0 type=-10\/createSession err=0$/,
	'txn: the createSession');
like($txn_at{ $hex->($z1) } // '', qr/ session=$sidx cxid=1 type=1\/create err=0 path=\/audited$/, 'txn: the create, with its path');
like($txn_at{ $hex->($z2) } // '', qr/ session=$sidx cxid=2 type=-1\/error err=-110$/,
	'txn: the failed create is an error txn with its code (as ZooKeeper logs it)');
like($txn_at{ $hex->($z4) } // '',
	qr/ session=$sidx cxid=4 type=14\/multi err=0 ops=-1\/error:0:-,-1\/error:-101:-$/,
	'txn: the failed multi, one error op per sub-transaction');
like($txn_at{ $hex->($z5) } // '', qr/ cxid=5 type=5\/setData err=0 path=\/audited$/, 'txn: the setData');
like($txn_at{ $hex->($z6) } // '', qr/ session=$sidx cxid=\d+ type=-11\/closeSession err=0$/, 'txn: the closeSession');
ok(!(grep { /cxid=3 / } @txn), 'txn: a read makes none');

# Order: a write's txn before its request, its request after it is durable;
# session events right after their transaction.
for my $z ($z1, $z5)
{
	my $x = $hex->($z);
	my $t = index_of(qr/^txn zxid=$x /, @lines);
	my $r = index_of(qr/^request .* zxid=$x /, @lines);
	ok($t >= 0 && $r > $t, "the txn at $x comes before the request that made it");
}
{
	my $t = index_of(qr/^txn zxid=\Q$create_session_zxid\E /, @lines);
	is($lines[ $t + 1 ] // '', $created, 'session_created right after its createSession txn');
	my $x = $hex->($z6);
	$t = index_of(qr/^txn zxid=$x /, @lines);
	is($lines[ $t + 1 ] // '', "session_closed session=$sidx zxid=$x", 'session_closed right after its closeSession txn');
}

# ---- a session that expires ----------------------------------------------------
my $e = Corral::Test::Wire->connect($node->address, timeout => 600) or BAIL_OUT('cannot connect');
my $esid = $hex->($e->session_id);
wait_line(qr/^session_created session=$esid zxid=0x[0-9a-f]+ timeout_ms=600$/);
$e->close;    # no closeSession: the server expires it
my $expired = wait_line(qr/^session_expired session=$esid /);
like($expired, qr/^session_expired session=$esid zxid=0x[0-9a-f]+$/, 'session_expired when its timeout passed')
  or diag(slurp_file($audit));
@lines = audit_lines();
ok(!(grep { /^session_closed session=$esid / } @lines), 'an expired session is not also reported closed');
{
	my ($x) = ($expired // '') =~ /zxid=(0x[0-9a-f]+)/;
	$x //= 'none';
	my $t = index_of(qr/^txn zxid=$x session=$esid cxid=\d+ type=-11\/closeSession /, @lines);
	ok($t >= 0 && ($lines[ $t + 1 ] // '') eq $expired, 'its closeSession txn, then session_expired');
}

# ---- four-letter words: a connection, no request --------------------------------
my $before = scalar audit_lines();
is($node->fourlw('ruok'), 'imok', 'ruok');
wait_until(sub { scalar(audit_lines()) > $before }, timeout_default());
my @after = (audit_lines())[ $before .. scalar(audit_lines()) - 1 ];
ok((grep { /^connected / } @after), 'a four-letter word is a connection');
ok(!(grep { /^request / } @after), '... and no request');

is($node->stop, 0, 'clean stop');
is((audit_lines())[-1], 'stopped', 'no event after the stop hook');
my %seen;
$seen{$_}++ for map { /^(connected conn=\d+)/ ? $1 : () } audit_lines();
ok(!(grep { $_ > 1 } values %seen), 'each connection is reported once');

# ---- an ensemble: a follower's client --------------------------------------------
# Each member audits into its own file.  A client of a follower: its
# requests are reported by the follower (the write answered once the
# commit is learned), the txn by every member; only the leader expires.
my $ens = Corral::Test::Ensemble->new('hooksens', n => 3);
my %file = map { ($_->{zab_id} => $_->basedir . '/audit.log') } $ens->nodes;
$ens->init(
	module_path => [ $rdir, $mdir ],
	modules_for => { map { ($_ => { hook_audit => { file => $file{$_} } }) } keys %file });
ok($ens->start, 'a 3-member ensemble with hook_audit on each member') or BAIL_OUT('no leader');
my $leader = $ens->leader;
my ($follower) = grep { $_ != $leader && !$_->{zab_observer} } $ens->nodes;
my $ff = $file{ $follower->{zab_id} };
my $lf = $file{ $leader->{zab_id} };

my $fc = Corral::Test::Wire->connect($follower->address, timeout => 1000) or BAIL_OUT('cannot connect to a follower');
my $fsid = $hex->($fc->session_id);
$fc->send_request(1, OP_CREATE, create_body('/from_follower', 'x', 0));
my ($fx, $fz, $ferr) = $fc->read_reply(timeout_default());
is($ferr, 0, 'a create through a follower');
my $fzx = $hex->($fz // 0);
$fc->send_request(2, OP_CREATE, create_body('/from_follower', 'x', 0));
my (undef, $fz2, $ferr2) = $fc->read_reply(timeout_default());
is($ferr2, -110, 'again: NodeExists');

like(wait_line(qr/^request .* xid=1 /, $ff) // '',
	qr/^request conn=\d+ session=$fsid xid=1 op=1\/create err=0\/Ok zxid=$fzx latency_ms=\d+$/,
	'the follower reports its client\'s forwarded write, with the zxid the leader gave it');
like(wait_line(qr/^request .* xid=2 /, $ff) // '', qr/ xid=2 op=1\/create err=-110\/NodeExists /,
	'... and the failed one, with its error');
for my $n ($ens->nodes)
{
	like(wait_line(qr/^txn zxid=$fzx /, $file{ $n->{zab_id} }) // '',
		qr/^txn zxid=$fzx session=$fsid cxid=1 type=1\/create err=0 path=\/from_follower$/,
		"member $n->{zab_id} reports the committed txn");
}
ok(!(grep { /^request / } audit_lines($lf)), 'the leader reports no request of a follower\'s client');
{
	my @fl = audit_lines($ff);
	my $t = index_of(qr/^txn zxid=$fzx /, @fl);
	my $r = index_of(qr/^request .* zxid=$fzx /, @fl);
	ok($t >= 0 && $r > $t, 'on the follower too, the txn before the request');
}
$fc->close;    # expires: the leader decides it
like(wait_line(qr/^session_expired session=$fsid /, $lf) // '', qr/^session_expired session=$fsid zxid=0x/,
	'the leader reports the expiry');
like(wait_line(qr/^session_closed session=$fsid /, $ff) // '', qr/^session_closed session=$fsid zxid=0x/,
	'a follower learns it as a close');
$ens->stop_all;

done_testing();
