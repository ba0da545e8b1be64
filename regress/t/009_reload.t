# regress/t/009_reload.t: SIGHUP re-reads the configuration of a running
# corrald (src/backend/reload, doc/operations.md "Reload").
#
# - the four-letter-word allow list and the log level change at once;
# - a broken file (YAML error, a bad value found by the core or by a module)
#   changes nothing and is logged with FILE:LINE:COLUMN;
# - a key that needs a restart (server.tick_ms), a module added, changed
#   settings of a module without reload callbacks are logged and shown as
#   pending_restart by conf, until the file no longer differs;
# - admin_http's reload command does the same, behind its token;
# - auth_sasl takes new users: a kazoo SASL login works after the reload;
# - the key table and doc/configuration.md agree on which keys reload.
use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(have_kazoo run_python);

my $node = Corral::Test::Cluster->new('reload');
my %server = (log_level => 'info', tick_ms => 200);
my %fourlw = (allow => [qw(ruok srvr conf)]);
sub configure { $node->init(server => {%server}, modules => ordered(fourlw => {%fourlw}, @_)); }
configure();
$node->start;

# Sends SIGHUP and waits for the reload's verdict in the log; returns the
# log of this reload.
sub hup
{
	my $pos = $node->log_position;
	$node->signal('HUP');
	ok($node->wait_for_log(qr/\[reload\] (?:reloaded|configuration not reloaded)/, $pos), 'the reload is logged')
	  or diag($node->log_tail);
	return $node->log_content($pos);
}

sub conf_of
{
	my %c = map { /^([^=]+)=(.*)$/ ? ($1 => $2) : () } split /\n/, ($node->fourlw('conf') // '');
	return \%c;
}

like($node->fourlw('mntr'), qr/is not executed because it is not in the whitelist/, 'mntr is not allowed at first');
unlike($node->log_content, qr/DEBUG/, 'nothing is logged at debug level at first');
ok(!exists conf_of()->{pending_restart}, 'conf before any reload: ZooKeeper\'s keys only');

# ---- runtime keys ------------------------------------------------------------
$fourlw{allow} = [qw(ruok srvr conf mntr)];
$server{log_level} = 'debug';
configure();
my $log = hup();
like($log, qr/INFO \[reload\] reloaded \Q${\ $node->config_file}\E; changed: server\.log_level,modules\.fourlw; pending restart: none/,
	'the reload says what changed');
like($node->fourlw('mntr'), qr/^zk_version\t/m, 'SIGHUP: mntr is allowed now');
my $pos = $node->log_position;
$node->fourlw('ruok');
ok($node->wait_for_log(qr/DEBUG \[net\] four-letter word ruok/, $pos), 'SIGHUP: debug lines are logged now');
is(conf_of()->{pending_restart}, '', 'conf: nothing pending');
like(conf_of()->{last_reload}, qr/^reloaded /, 'conf: the last reload');

# ---- a broken file changes nothing ------------------------------------------------
my $good = $node->config_text;
(my $broken = $good) =~ s/^(\s+log_level: debug)$/$1\n  tick_ms: [1, 2/m;
$broken =~ s/\bmntr\b//;    # were it applied, mntr would be refused again
$node->write_config($broken);
$log = hup();
like($log, qr/ERROR \[reload\] configuration not reloaded, nothing changed: \Q${\ $node->config_file}\E:\d+:\d+: /,
	'a YAML error: refused with FILE:LINE:COLUMN');
like($node->fourlw('mntr'), qr/^zk_version\t/m, 'a YAML error: the allow list is unchanged');
like(conf_of()->{last_reload}, qr/^refused: /, 'conf: the last reload was refused');

(my $badword = $good) =~ s/- mntr$/- mntrx/m;
isnt($badword, $good, 'the allow list is found in the file');
$node->write_config($badword);
$log = hup();
like($log, qr/configuration not reloaded, nothing changed: \Q${\ $node->config_file}\E:\d+:\d+: "mntrx" is not a four-letter word/,
	'a bad value found by a module: refused with its position');
like($node->fourlw('mntr'), qr/^zk_version\t/m, 'a bad module value: the allow list is unchanged');

(my $badlevel = $good) =~ s/log_level: debug/log_level: loud/;
$badlevel =~ s/^\s+- mntr\n//m;
$node->write_config($badlevel);
$log = hup();
like($log, qr/nothing changed: \S+:\d+:\d+: "log_level" must be debug, info, warn or error, not "loud"/,
	'a bad core value: refused with its position');
like($node->fourlw('mntr'), qr/^zk_version\t/m, 'a bad core value: the allow list is unchanged too');
$pos = $node->log_position;
$node->fourlw('ruok');
ok($node->wait_for_log(qr/DEBUG \[net\] four-letter word ruok/, $pos), 'a bad core value: still at debug level');

# ---- restart-only keys ---------------------------------------------------------------
$server{tick_ms} = 300;
configure(auth_ip => { ipv6 => 'false' });
$log = hup();
like($log, qr/WARN \[reload\] changed but only applied at the next restart \(pending_restart\): server\.tick_ms,modules\.auth_ip/,
	'a restart-only key and a module without reload callbacks: logged as pending_restart');
my $c = conf_of();
is($c->{pending_restart}, 'server.tick_ms,modules.auth_ip', 'conf: pending_restart');
is($c->{tickTime}, 200, 'conf: the running tickTime is unchanged');

$server{tick_ms} = 200;
configure(metrics_prometheus => { listen => '127.0.0.1:0' });
$log = hup();
like($log, qr/pending_restart\): modules\.metrics_prometheus \(loading a module\)/, 'a new module: pending_restart');

configure();
$log = hup();
like($log, qr/pending restart: none/, 'back to the running settings: nothing pending');
is(conf_of()->{pending_restart}, '', 'conf: nothing pending');

# ---- admin_http's reload command: the token guards it, as crst and srst ---------------
{
	my $token = 'reload-token-0123456789abcdef';
	my $aport = Corral::Test::Utils::allocate_port('127.0.0.1');
	my @admin = (admin_http => { listen => "127.0.0.1:$aport", commands => [qw(ruok reload)], auth_token => $token });
	configure(@admin);
	$log = hup();
	like($log, qr/pending_restart\): modules\.admin_http \(loading a module\)/, 'admin_http added: pending');
	is($node->stop, 0, 'stopped to load admin_http');
	$node->start;
	my $http = sub {
		my ($method, @h) = @_;
		my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $aport, Proto => 'tcp', Timeout => 5)
		  or return '';
		syswrite($s, "$method /commands/reload HTTP/1.1\r\nHost: x\r\n" . join('', map { "$_\r\n" } @h) . "\r\n");
		my ($buf) = Corral::Test::Cluster::read_until_eof($s, 10);
		return $buf // '';
	};
	like($http->('POST'), qr{^HTTP/1\.1 401 }, 'reload without the token: 401');
	$fourlw{allow} = [qw(ruok srvr conf)];
	configure(@admin);
	my $r = $http->('POST', "Authorization: Bearer $token");
	like($r, qr{^HTTP/1\.1 200 }, 'reload with the token: 200');
	like($r, qr/"result" : "reloaded"/, 'reload: the verdict');
	like($node->fourlw('mntr'), qr/not in the whitelist/, 'reload over HTTP: the new allow list is in force');
	(my $bad = $node->config_text) =~ s/log_level: debug/log_level: loud/;
	$node->write_config($bad);
	$r = $http->('POST', "Authorization: Bearer $token");
	like($r, qr/"result" : "refused"/, 'a broken file over HTTP: refused');
	like($r, qr/"message" : "[^"]*:\d+:\d+: \\"log_level\\" must be/, '... with the position');

	# admin_http's own settings: a new token at once, a new address at the next start.
	my $token2 = 'rotated-token-0123456789abcdef';
	my $aport2 = Corral::Test::Utils::allocate_port('127.0.0.1');
	configure(admin_http => { listen => "127.0.0.1:$aport2", commands => [qw(ruok reload)], auth_token => $token2 });
	$r = $http->('POST', "Authorization: Bearer $token");
	like($r, qr/"result" : "reloaded"/, 'reload with the old token: the new file is read');
	like($r, qr/"pending_restart" : "modules\.admin_http\.listen"/, 'a new listen address is pending');
	like($http->('POST', "Authorization: Bearer $token"), qr{^HTTP/1\.1 401 }, 'the old token is refused now');
	like($http->('POST', "Authorization: Bearer $token2"), qr{^HTTP/1\.1 200 }, 'the new token works, on the old port');
	configure();
}

# ---- auth_sasl: new users for the next login (kazoo, DIGEST-MD5) ---------------------
SKIP:
{
	skip 'python3-kazoo is not installed', 5 unless have_kazoo();
	configure(auth_sasl => { users => { alice => 'wonderland' } });
	is($node->stop, 0, 'stopped to load auth_sasl');
	$node->start;
	my ($rc, $out, $err) = run_python('acl_sasl.py', $node->address, 'good');
	is($out, "good -> refused\n", 'bob is not a SASL user yet') or diag($err);
	configure(auth_sasl => { users => { alice => 'wonderland', bob => 'secret' } });
	$log = hup();
	like($log, qr/INFO \[auth_sasl\] reloaded: 2 users, realm zk-sasl-md5/, 'auth_sasl takes the new users');
	like($log, qr/pending restart: none/, 'nothing pending');
	($rc, $out, $err) = run_python('acl_sasl.py', $node->address, 'good');
	like($out, qr/^good -> in .*'sasl', 'bob'/, 'bob logs in after the reload, without a restart') or diag($err);
	configure();
	is($node->stop, 0, 'stopped');
	$node->start;
}

# ---- the table and the documentation agree ------------------------------------------
{
	my ($rc, $out) = $node->run_corrald('--describe-config');
	is($rc, 0, '--describe-config');
	my %table = map { /^server\.(\S+)\t(runtime|restart)\t/ ? ($1 => $2) : () } split /\n/, $out;
	ok(scalar(keys %table) > 20, 'the key table has the server keys');
	my $doc = slurp_file(repo_root() . '/doc/configuration.md');
	my %doc;
	# The rows of the `server` section only (other sections, such as
	# `tls`, have their own tables).
	my ($server_section) = $doc =~ /^## `server`\n(.*?)^## /ms;
	for (split /\n/, $server_section)
	{
		next unless /^\| `([a-z_]+)` \| (?:integer|string|address|bool) \|/;
		my $key = $1;
		my @cells = split /\s*\|\s*/;
		$doc{$key} = $cells[-1] =~ /^(?:runtime|restart)$/ ? $cells[-1] : '?';
	}
	is_deeply(\%doc, \%table, 'doc/configuration.md\'s reload column is the key table\'s');
}

is($node->stop, 0, 'stopped cleanly');
done_testing();
