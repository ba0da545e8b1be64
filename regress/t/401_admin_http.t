# regress/t/401_admin_http.t: the admin_http module (ZooKeeper's AdminServer).
#
# Every command answers JSON with the fields ZooKeeper 3.8's AdminServer
# writes (the key lists below were taken from a real 3.8.0 server with
# admin.enableServer=true, one kazoo session holding an ephemeral node and
# watches); the allow list holds for every command; commands that change the
# server need the bearer token; the endpoint is off unless configured and
# loopback unless allow_remote.
use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $PYTHON = '/usr/bin/python3';
my $TOKEN  = 'test-token-0123456789abcdef';

# ---- helpers -----------------------------------------------------------------------

sub http_raw
{
	my ($host, $port, $raw) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp', Timeout => 5)
	  or return { status => 0, error => "connect: $!" };
	syswrite($s, $raw);
	my ($buf, $eof) = Corral::Test::Cluster::read_until_eof($s, 10);
	close $s;
	my %r = (raw => $buf // '', closed => $eof);
	my ($head, $body) = split /\r\n\r\n/, $r{raw}, 2;
	my @lines = split /\r\n/, $head // '';
	my $status = shift(@lines) // '';
	$r{status} = $status =~ m{^HTTP/1\.1 (\d{3}) } ? $1 : 0;
	$r{headers} = { map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } @lines };
	$r{body} = $body // '';
	$r{json} = eval { JSON::PP->new->decode($r{body}) } if ($r{headers}{'content-type'} // '') eq 'application/json';
	$r{json_error} = $@;
	# the top-level keys in the order written (the answer is indented)
	$r{keys} = [ $r{body} =~ /^  "([^"]+)" : /mg ];
	return \%r;
}

sub http
{
	my ($node, $port, $method, $path, @headers) = @_;
	my $h = join '', map { "$_\r\n" } @headers;
	return http_raw($node->host, $port, "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n$h\r\n");
}

sub have_kazoo
{
	return 0 unless -x $PYTHON;
	my ($rc) = run_command([ $PYTHON, '-c', 'import kazoo.client' ]);
	return $rc == 0;
}

# Listening TCP ports of a process (/proc/PID/fd and /proc/net/tcp{,6}).
sub listening_ports
{
	my ($pid) = @_;
	my (%inodes, @ports);
	opendir(my $dh, "/proc/$pid/fd") or return ();
	for my $fd (readdir $dh)
	{
		my $l = readlink("/proc/$pid/fd/$fd") // next;
		$inodes{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
	}
	closedir $dh;
	for my $table ('/proc/net/tcp', '/proc/net/tcp6')
	{
		for my $line (split /\n/, slurp_file($table))
		{
			my @f = split ' ', $line;
			next unless @f > 9 && $f[3] eq '0A' && $inodes{ $f[9] };
			push @ports, hex($1) if $f[1] =~ /:([0-9A-F]+)$/;
		}
	}
	return sort { $a <=> $b } @ports;
}

# A kazoo session in the background holding an ephemeral node, a node with
# a quote and a backslash in its name, and watches, until stop_session().
my $KAZOO_SESSION = <<'PY';
import os, sys, time
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start(timeout=10)
zk.ensure_path("/adm")
zk.create("/adm/eph", b"x", ephemeral=True)
zk.create('/adm/q"b\\', b"")
zk.get("/adm/eph", watch=lambda e: None)
zk.get('/adm/q"b\\', watch=lambda e: None)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % zk.client_id[0])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
deadline = time.time() + 120
while time.time() < deadline and not os.path.exists(sys.argv[3]):
    time.sleep(0.05)
zk.stop()
zk.close()
PY
my %session;
sub start_session
{
	my ($node) = @_;
	my $dir = $node->basedir;
	unlink "$dir/session.ready", "$dir/session.stop";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', "$dir/kazoo.log");
		open(STDERR, '>>&', \*STDOUT);
		{ no warnings 'exec'; exec $PYTHON, '-c', $KAZOO_SESSION, $node->address, "$dir/session.ready", "$dir/session.stop"; }
		POSIX::_exit(127);
	}
	%session = (pid => $pid, dir => $dir);
	wait_until(sub { -e "$dir/session.ready" || waitpid($pid, WNOHANG) == $pid }, 30);
	my $id = -e "$dir/session.ready" ? slurp_file("$dir/session.ready") : undef;
	chomp $id if defined $id;
	return $id;
}
sub stop_session
{
	return unless $session{pid};
	write_file("$session{dir}/session.stop", '');
	unless (wait_until(sub { waitpid($session{pid}, WNOHANG) == $session{pid} }, 20))
	{
		kill 'KILL', $session{pid};
		waitpid($session{pid}, 0);
	}
	%session = ();
}
END { if ($session{pid}) { kill 'KILL', $session{pid}; waitpid($session{pid}, 0); } }

# ---- off by default -------------------------------------------------------------------
my $node = Corral::Test::Cluster->new('admin');
my $aport = $node->allocate_port;
$node->init;
$node->start;
is_deeply([ listening_ports($node->pid) ], [ $node->port ],
	'without admin_http in the configuration only the client port listens');
ok(!$node->log_contains(qr/\[admin_http\]/), 'nothing from admin_http in the log');
is($node->stop, 0, 'stopped cleanly');

# ---- every command, against ZooKeeper 3.8's fields ---------------------------------------
$node->init(modules => { admin_http => { listen => "127.0.0.1:$aport", auth_token => $TOKEN, commands => ['*'] } });
$node->start;
ok($node->log_contains(qr{\[admin_http\] serving the admin commands on http://127\.0\.0\.1:$aport/commands}),
	'the listener is logged');
is_deeply([ listening_ports($node->pid) ], [ sort { $a <=> $b } $node->port, $aport ],
	'admin_http listens on its port');

my $sid;
SKIP:
{
	skip "kazoo is not installed for $PYTHON", 1 unless have_kazoo();
	$sid = start_session($node);
	ok($sid, 'a kazoo session with an ephemeral node and watches') or diag(slurp_file($node->basedir . '/kazoo.log'));
}

my @SERVER_STATS = qw(packets_sent packets_received fsync_threshold_exceed_count client_response_stats
  data_dir_size log_dir_size provider_null server_state last_processed_zxid outstanding_requests avg_latency
  max_latency min_latency num_alive_client_connections uptime auth_failed_count non_mtlsremote_conn_count
  non_mtlslocal_conn_count);
my @BRIEF = qw(remote_socket_address interest_ops outstanding_requests packets_received packets_sent);
my @FULL  = (@BRIEF, qw(session_id last_operation established session_timeout last_cxid last_zxid
	  last_response_time last_latency min_latency avg_latency max_latency));
my @SRVR = qw(version read_only server_stats client_response node_count);

# word => [ primary name, top-level keys in ZooKeeper's order (undef: a map with variable keys) ]
my %expect = (
	ruok => [ 'ruok',                  [] ],
	srvr => [ 'server_stats',          [@SRVR] ],
	stat => [ 'stats',                 [ @SRVR, 'connections', 'secure_connections' ] ],
	cons => [ 'connections',           [qw(connections secure_connections)] ],
	conf => [ 'configuration',         [qw(client_port data_dir data_log_dir tick_time max_client_cnxns
		min_session_timeout max_session_timeout server_id client_port_listen_backlog)] ],
	isro => [ 'is_read_only',          ['read_only'] ],
	dirs => [ 'dirs',                  [qw(datadir_size logdir_size)] ],
	wchs => [ 'watch_summary',         [qw(num_connections num_paths num_total_watches)] ],
	wchc => [ 'watches',               ['session_id_to_watched_paths'] ],
	wchp => [ 'watches_by_path',       ['path_to_session_ids'] ],
	dump => [ 'dump',                  [qw(expiry_time_to_session_ids session_id_to_ephemeral_paths)] ],
	hash => [ 'hash',                  ['digests'] ],
	envi => [ 'environment',           undef ],
	mntr => [ 'monitor',               undef ],
);
my %answer;
for my $w (sort keys %expect)
{
	my ($primary, $keys) = @{ $expect{$w} };
	my $r = http($node, $aport, 'GET', "/commands/$w");
	$answer{$w} = $r;
	is($r->{status}, 200, "$w: 200");
	is($r->{headers}{'content-type'}, 'application/json', "$w: application/json");
	ok(ref $r->{json} eq 'HASH', "$w: the body is a JSON object") or diag($r->{json_error}, $r->{body});
	my $j = $r->{json} // {};
	is($j->{command}, $primary, "$w: \"command\" is ZooKeeper's primary name $primary");
	ok(exists $j->{error} && !defined $j->{error}, "$w: \"error\" is null");
	is_deeply([ @{ $r->{keys} }[ -2, -1 ] ], [qw(command error)], "$w: command and error come last");
	if ($keys)
	{
		is_deeply([ @{ $r->{keys} }[ 0 .. $#{ $r->{keys} } - 2 ] ], $keys, "$w: ZooKeeper's fields in its order");
	}
}

{
	my $s = $answer{srvr}{json};
	is_deeply([ sort keys %{ $s->{server_stats} } ], [ sort @SERVER_STATS ], 'srvr: server_stats has ZooKeeper\'s fields');
	is_deeply([ sort keys %{ $s->{client_response} } ], [qw(last_buffer_size max_buffer_size min_buffer_size)],
		'srvr: client_response is a BufferStats');
	is($s->{server_stats}{server_state}, 'standalone', 'srvr: server_state');
	like($s->{version}, qr/^\d+\.\d+\.\d+-corral-/, 'srvr: version');
	is($s->{node_count}, ($node->fourlw('srvr') =~ /^Node count: (\d+)$/m)[0], 'srvr: node_count as the srvr word');
	ok(JSON::PP::is_bool($s->{read_only}) && !$s->{read_only}, 'srvr: read_only is false');
	is($answer{conf}{json}{client_port}, $node->port, 'conf: client_port is a number, ours');
	is($answer{conf}{json}{data_dir}, $node->data_dir, 'conf: data_dir');
	ok(JSON::PP::is_bool($answer{isro}{json}{read_only}), 'isro: read_only is a boolean');
	like($answer{dirs}{json}{datadir_size}, qr/^\d+$/, 'dirs: a number of bytes');
	my $e = $answer{envi}{json};
	for my $k (qw(zookeeper.version host.name os.name os.arch os.version user.name user.home user.dir
		os.memory.free os.memory.max os.memory.total))
	{
		ok(defined $e->{$k}, "envi: $k (ZooKeeper's key)");
	}
	my $m = $answer{mntr}{json};
	for my $k (qw(version server_state ephemerals_count num_alive_connections avg_latency outstanding_requests
		znode_count global_sessions packets_sent packets_received watch_count min_latency approximate_data_size
		local_sessions uptime max_latency))
	{
		ok(defined $m->{$k}, "mntr: $k (ZooKeeper's key)");
	}
	my %word = map { split /\t/, $_, 2 } grep { /\t/ } split /\n/, $node->fourlw('mntr');
	my @missing = grep { !exists $m->{ substr($_, 3) } } grep { !/^zk_(version|server_state)$/ } keys %word;
	is_deeply(\@missing, [], 'mntr: every key of the mntr word, without zk_');
	is($m->{znode_count}, $word{zk_znode_count}, 'mntr: the same values as the word');
	# The word and the command render one view: the same keys, in the same order.
	my @word_keys = map { /^zk_([^\t]+)\t/ ? $1 : () } split /\n/, $node->fourlw('mntr');
	my @json_keys = grep { $_ ne 'command' && $_ ne 'error' } @{ $answer{mntr}{keys} };
	is_deeply(\@json_keys, \@word_keys, 'mntr: the keys of the word, in its order');
	my @envi_word = map { /^([^=]+)=/ ? $1 : () } split /\n/, $node->fourlw('envi');
	my @envi_json = grep { $_ ne 'command' && $_ ne 'error' } @{ $answer{envi}{keys} };
	is_deeply(\@envi_json, \@envi_word, 'envi: the lines of the word, in its order');
	my $h = $answer{hash}{json}{digests};
	is(ref $h, 'ARRAY', 'hash: digests is a list');
	my ($wz, $wd) = ($node->fourlw('hash') // '') =~ /^([0-9a-f]+): (-?\d+)$/m;
	is_deeply($h->[0], { zxid => hex($wz // 0), digest => $wd }, 'hash: the zxid and digest of the hash word');
}

SKIP:
{
	skip 'no kazoo session', 17 unless $sid;
	my $st = $answer{stat}{json};
	my ($mine) = grep { $_->{packets_received} > 0 } @{ $st->{connections} };
	ok($mine, 'stat: the kazoo connection is listed');
	is_deeply([ sort keys %{ $mine // {} } ], [ sort @BRIEF ], 'stat: connections are brief');
	like($mine->{remote_socket_address}, qr/^127\.0\.0\.1:\d+$/, 'stat: remote_socket_address is ip:port');
	my ($full) = grep { $_->{session_id} == $sid } @{ $answer{cons}{json}{connections} };
	ok($full, 'cons: the kazoo session is listed with its session_id');
	is_deeply([ sort keys %{ $full // {} } ], [ sort @FULL ], 'cons: connections have every field');
	like($full->{last_operation}, qr/^[A-Z]{4}$|^NA$/, 'cons: last_operation');
	is_deeply($answer{wchc}{json}{session_id_to_watched_paths}{$sid}, [ '/adm/eph', '/adm/q"b\\' ],
		'wchc: the watched paths of the session (a quote and a backslash survive)');
	is_deeply($answer{wchp}{json}{path_to_session_ids}{'/adm/eph'}, [ 0 + $sid ], 'wchp: the sessions of a path');
	is_deeply($answer{wchp}{json}{path_to_session_ids}{'/adm/q"b\\'}, [ 0 + $sid ], 'wchp: an escaped path');
	is($answer{wchs}{json}{num_paths}, 2, 'wchs: 2 watched paths');
	is($answer{wchs}{json}{num_connections}, 1, 'wchs: 1 watching session');
	is_deeply($answer{dump}{json}{session_id_to_ephemeral_paths}, { $sid => ['/adm/eph'] },
		'dump: the session\'s ephemeral node');
	my @exp = keys %{ $answer{dump}{json}{expiry_time_to_session_ids} };
	is(scalar @exp, 1, 'dump: one expiry time');
	like($exp[0], qr/^\d+$/, 'dump: the expiry time is a number (a map key)');
	is_deeply($answer{dump}{json}{expiry_time_to_session_ids}{ $exp[0] }, [ 0 + $sid ], 'dump: the session expires then');
	cmp_ok($answer{mntr}{json}{ephemerals_count}, '>=', 1, 'mntr: ephemerals_count');
	cmp_ok($answer{srvr}{json}{server_stats}{num_alive_client_connections}, '>=', 1, 'srvr: a live connection');
}

# Every name of a command works (ZooKeeper's primary names and aliases).
for my $pair ([ stats => 'stats' ], [ server_stats => 'server_stats' ], [ configuration => 'configuration' ],
	[ config => 'configuration' ], [ env => 'environment' ], [ environment => 'environment' ],
	[ monitor => 'monitor' ], [ watch_summary => 'watch_summary' ], [ watches => 'watches' ],
	[ watches_by_path => 'watches_by_path' ], [ is_read_only => 'is_read_only' ], [ connections => 'connections' ])
{
	my $r = http($node, $aport, 'GET', "/commands/$pair->[0]");
	is($r->{status} . ' ' . ($r->{json}{command} // ''), "200 $pair->[1]", "/commands/$pair->[0] runs $pair->[1]");
}

# The list of commands.
{
	my $r = http($node, $aport, 'GET', '/commands');
	is($r->{status}, 200, 'GET /commands: 200');
	my @cmds = @{ $r->{json}{commands} // [] };
	is_deeply([ sort map { $_->{url} } @cmds ],
		[ sort map { "/commands/$_" } qw(ruok srvr stat conf envi mntr isro dirs cons wchs wchc wchp dump hash crst srst rlod snap) ],
		'GET /commands lists every command');
	is_deeply([ sort map { $_->{names}[-1] } grep { $_->{changes_state} } @cmds ], [qw(crst rlod snap srst)],
		'crst, srst, reload and snapshot (643) are marked as changing the server / needing the token');
	ok(!(grep { !$_->{allowed} } @cmds), 'with commands: ["*"] every one is allowed');
	is(http($node, $aport, 'GET', '/commands/')->{status}, 200, 'GET /commands/: the list too');
}

# Errors are JSON too.
{
	my $r = http($node, $aport, 'GET', '/commands/nope');
	is($r->{status}, 404, 'an unknown command: 404');
	is($r->{json}{error}, 'Unknown command: nope', 'an unknown command: ZooKeeper\'s error text');
	is(http($node, $aport, 'GET', '/')->{status}, 404, 'GET /: 404');
	is(http($node, $aport, 'GET', '/metrics')->{status}, 404, 'GET /metrics: 404');
	my $d = http($node, $aport, 'DELETE', '/commands/srvr');
	is($d->{status}, 405, 'DELETE /commands/srvr: 405');
	is($d->{headers}{allow}, 'GET, HEAD', 'DELETE: Allow: GET, HEAD');
	is(http($node, $aport, 'HEAD', '/commands/srst')->{status}, 405, 'HEAD on a write command: 405 (HEAD is safe)');
	is(http_raw($node->host, $aport, "GET /commands/srvr HTTP/1.1\r\nX: " . ('y' x 10000) . "\r\n\r\n")->{status}, 431,
		'a 10 kB request head: 431');
}

# Write commands need the token.
{
	my $r = http($node, $aport, 'GET', '/commands/srst');
	is($r->{status}, 401, 'srst without a token: 401');
	like($r->{headers}{'www-authenticate'}, qr/^Bearer /, 'srst without a token: WWW-Authenticate: Bearer');
	is($r->{json}{command}, 'stat_reset', 'srst without a token: JSON error with the command');
	like($r->{json}{error}, qr/needs authentication/, 'srst without a token: says why');
	is(http($node, $aport, 'GET', '/commands/srst', 'Authorization: Bearer wrong-token-0123456789abcd')->{status},
		401, 'srst with a wrong token: 401');
	is(http($node, $aport, 'GET', '/commands/srst', "Authorization: Basic $TOKEN")->{status}, 401,
		'srst with another scheme: 401');
	is(http($node, $aport, 'GET', '/commands/srst', "Authorization: Bearer ${TOKEN}x")->{status}, 401,
		'srst with a longer token: 401');
	is(http($node, $aport, 'GET', '/commands/crst', 'Authorization: Bearer ' . substr($TOKEN, 0, -1))->{status}, 401,
		'crst with a shorter token: 401');
	is(http($node, $aport, 'GET', '/commands/stat_reset', "Authorization: Bearer $TOKEN")->{status}, 200,
		'stat_reset with the token: 200');
	my $after = http($node, $aport, 'GET', '/commands/srvr')->{json}{server_stats};
	cmp_ok($after->{packets_received}, '<=', 3, 'srst reset the packet counts');
	my $c = http($node, $aport, 'POST', '/commands/crst', "authorization: bearer $TOKEN");
	is($c->{status}, 200, 'POST crst with the token (header and scheme in any case): 200');
	is($c->{json}{command}, 'connection_stat_reset', 'crst: connection_stat_reset');
	ok($node->log_contains(qr/\[admin_http\] 127\.0\.0\.1:\d+: crst /), 'a write command is logged');
	ok($node->log_contains(qr/\[admin_http\] 127\.0\.0\.1:\d+: srst refused: no Authorization header/),
		'a refused write command is logged');
	ok(!$node->log_contains(qr/\Q$TOKEN\E/), 'the token is never logged');
}
stop_session();
is($node->stop, 0, 'stopped cleanly');

# ---- the allow list holds for every command ----------------------------------------------------
$node->init(modules => { admin_http => { listen => "127.0.0.1:$aport", commands => [qw(ruok srvr)] } });
$node->start;
for my $w (qw(ruok srvr server_stats))
{
	is(http($node, $aport, 'GET', "/commands/$w")->{status}, 200, "commands [ruok, srvr]: $w answered");
}
for my $w (qw(stat stats cons conf envi mntr monitor isro dirs wchs wchc wchp dump hash crst srst reload))
{
	my $r = http($node, $aport, 'GET', "/commands/$w");
	is($r->{status}, 403, "commands [ruok, srvr]: $w is 403");
	like($r->{json}{error} // '', qr/is not allowed/, "commands [ruok, srvr]: $w: a JSON error");
}
{
	my $r = http($node, $aport, 'GET', '/commands');
	my %allowed = map { $_->{names}[-1] => $_->{allowed} ? 1 : 0 } @{ $r->{json}{commands} };
	is_deeply([ sort grep { $allowed{$_} } keys %allowed ], [qw(ruok srvr)], '/commands shows what is allowed');
}
is($node->stop, 0, 'stopped cleanly');

# Without `commands`: every read-only command, no write command.
$node->init(modules => { admin_http => { listen => "127.0.0.1:$aport" } });
$node->start;
for my $w (qw(ruok srvr stat conf envi mntr isro dirs cons wchs wchc wchp dump hash))
{
	is(http($node, $aport, 'GET', "/commands/$w")->{status}, 200, "default list: $w answered");
}
for my $w (qw(crst srst reload))
{
	is(http($node, $aport, 'GET', "/commands/$w", "Authorization: Bearer $TOKEN")->{status}, 403,
		"default list: $w is 403");
}
is($node->stop, 0, 'stopped cleanly');

# commands: ["*"] without a token: write commands stay refused.
$node->init(modules => { admin_http => { listen => "127.0.0.1:$aport", commands => ['*'] } });
$node->start;
{
	my $r = http($node, $aport, 'GET', '/commands/crst', "Authorization: Bearer $TOKEN");
	is($r->{status}, 403, '"*" without auth_token: crst is 403');
	like($r->{json}{error}, qr/no auth_token is configured/, '"*" without auth_token: says why');
	is(http($node, $aport, 'GET', '/commands/mntr')->{status}, 200, '"*" without auth_token: mntr answered');
}
is($node->stop, 0, 'stopped cleanly');

# The token from a file.
{
	my $tf = $node->basedir . '/admin.token';
	write_file($tf, "$TOKEN\n");
	$node->init(modules => { admin_http => { listen => "127.0.0.1:$aport", commands => [qw(srvr crst)],
		auth_token_file => $tf } });
	$node->start;
	is(http($node, $aport, 'GET', '/commands/crst', "Authorization: Bearer $TOKEN")->{status}, 200,
		'auth_token_file: the token of the file works');
	is(http($node, $aport, 'GET', '/commands/crst', "Authorization: Bearer ${TOKEN}%0A")->{status}, 401,
		'auth_token_file: the newline is not part of the token');
	is($node->stop, 0, 'stopped cleanly');
}

# ---- configuration errors ----------------------------------------------------------------------
my $cf = qr/^\Q${\ $node->config_file}\E:\d+:\d+: /m;
sub config_error
{
	my ($name, $settings, $re) = @_;
	$node->init(modules => { admin_http => $settings });
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, "$name: exit code 2");
	like($err, $re, "$name: FILE:LINE:COLUMN and the reason") or diag($err);
}
config_error('listen on 0.0.0.0', { listen => "0.0.0.0:$aport" }, qr/${cf}"listen": 0\.0\.0\.0 is not a loopback address.*allow_remote/);
config_error('listen on ::', { listen => "[::]:$aport" }, qr/${cf}"listen": :: is not a loopback address/);
config_error('an unknown command', { commands => [qw(srvr nope)] }, qr/${cf}unknown admin command "nope"/);
config_error('crst without a token', { commands => ['crst'] }, qr/${cf}"crst" changes the server's state: it needs "auth_token"/);
config_error('commands not a list', { commands => 'srvr' }, qr/${cf}"commands" must be a list/);
config_error('an empty token', { auth_token => '' }, qr/${cf}"auth_token" must be a non-empty string/);
config_error('a token with a space', { auth_token => 'a b' }, qr/${cf}"auth_token" must be a non-empty string/);
config_error('token and token file', { auth_token => $TOKEN, auth_token_file => '/nonexistent' },
	qr/${cf}set "auth_token" or "auth_token_file", not both/);
config_error('a missing token file', { auth_token_file => '/nonexistent/token' },
	qr/${cf}cannot read "auth_token_file" \/nonexistent\/token/);
config_error('an unknown key', { listen_port => 1 }, qr/${cf}.*unknown key "listen_port"/);
{
	$node->init(modules => { admin_http => { listen => "0.0.0.0:$aport", allow_remote => 'true' } });
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'allow_remote: true permits a non-loopback address') or diag($err);
	$node->init(modules => { admin_http => { listen => "[::1]:$aport" } });
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, '[::1] is loopback') or diag($err);
	$node->init(modules => { admin_http => { listen => "127.0.0.2:$aport" } });
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, '127.0.0.2 is loopback') or diag($err);
	$node->init(modules => { admin_http => { auth_token => 'short' } });
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'a short token is accepted');
	like($out . $err, qr/the auth token has 5 characters; use at least 16/, 'with a warning');
}

done_testing();
