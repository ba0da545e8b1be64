# Certificate rotation and HTTPS for the observability modules:
#
# - SIGHUP rereads tls.cert_file/key_file/ca_file: a kazoo session
#   established before keeps working (and moves 200 KB after), new
#   connections get the new certificate (a client trusting only the new CA
#   connects, one trusting only the old CA is refused); mntr's
#   tls_cert_days_left and tls_reloads follow;
# - a broken key file at the next SIGHUP: refused (logged, counted in
#   tls_reload_failures), the certificate in use stays in use;
# - POST /tls/reload on admin_http (the admin command): 401 without the
#   token, 200 with it and the new certificate's days left;
# - admin_http and metrics_prometheus serve HTTPS with the same settings
#   (/metrics shows tls_cert_days_left); a plaintext request to them gets
#   no answer; https: true without a tls: map is a configuration error.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Temp ();
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(python3 run_python have_kazoo clients_dir);

plan skip_all => 'the openssl command is missing' unless openssl_ok();
plan skip_all => 'python3-kazoo is missing' unless have_kazoo();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca1 = make_ca($tmp, 'ca1');
my $ca2 = make_ca($tmp, 'ca2');
my $old = make_cert($tmp, $ca1, 'old', cn => 'localhost', san => 'IP:127.0.0.1', days => 30);
my $new = make_cert($tmp, $ca2, 'new', cn => 'localhost', san => 'IP:127.0.0.1', days => 200);
my $both = "$tmp/both-cas.pem";
write_file($both, slurp_file($ca1->{cert}) . slurp_file($ca2->{cert}));
# The files the server is configured with; rotation overwrites them.
copy($old->{cert}, "$tmp/server.pem") or die;
copy($old->{key}, "$tmp/server.key") or die;

my $token = 'rotation-token-0123456789';
my $tls = { cert_file => "$tmp/server.pem", key_file => "$tmp/server.key", ca_file => $both };

{
	my $n = Corral::Test::Cluster->new('cfg');
	$n->init(modules => { metrics_prometheus => { https => 'true' } });
	my ($rc, $out, $err) = $n->run_corrald('-c', $n->config_file, '--check-config');
	is($rc, 2, 'https: true without a tls: map: a configuration error');
	like($err, qr/"https: true" needs the top-level "tls" map/, '... and why');
}

my $node = Corral::Test::Cluster->new('rot');
my $taddr = '127.0.0.1:' . $node->allocate_port;
my $prom = $node->allocate_port;
my $admin = $node->allocate_port;
$node->init(server => { secure_client_listen => $taddr },
	modules => {
		metrics_prometheus => { listen => "127.0.0.1:$prom", https => 'true' },
		admin_http => { listen => "127.0.0.1:$admin", https => 'true', auth_token => $token },
	},
	extra => { tls => $tls });
$node->start;

sub client
{
	my ($addr, @args) = @_;
	my ($rc, $out, $err) = run_python('tls_client.py', $addr, @args, { timeout => 60 });
	diag($err) if $rc;
	return $out;
}
sub mntr_value { my ($k) = @_; return ($node->fourlw('mntr') =~ /^zk_\Q$k\E\t(-?\d+)$/m)[0]; }

is(client($taddr, '--ca', $ca1->{cert}, 'kazoo'), "kazoo ok\n", 'before: a client of the old CA connects');
like(mntr_value('tls_cert_days_left'), qr/^(29|30)$/, 'mntr: 30 days left on the old certificate (29 and some hours)');
like(client("127.0.0.1:$prom", '--ca', $ca1->{cert}, 'https:GET:/metrics'),
	qr/^https 200 .*tls_cert_days_left (29|30)/, 'metrics_prometheus over HTTPS');
like(client("127.0.0.1:$admin", '--ca', $ca1->{cert}, 'https:GET:/commands/ruok'), qr/^https 200 .*"command"\s*:\s*"ruok"/,
	'admin_http over HTTPS');
{
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$admin", Timeout => 5) or die;
	print $s "GET /commands/ruok HTTP/1.1\r\nHost: x\r\n\r\n";
	my $got = '';
	while (sysread($s, my $b, 4096)) { $got .= $b; }
	unlike($got, qr/HTTP\/1\.1 200/, 'a plaintext request to the HTTPS port gets no answer');
}

# A live session across the rotation: it connects now, waits, then works.
my $live_out = "$tmp/live.out";
my $pid = fork() // die;
if (!$pid)
{
	open(STDOUT, '>', $live_out);
	open(STDERR, '>', "$live_out.err");
	exec(python3(), clients_dir() . '/tls_client.py', $taddr, '--ca', $ca1->{cert}, 'kazoo', 'hold:4', 'big:200000')
	  or POSIX::_exit(127);
}
track_pid($pid, 'live kazoo');
ok(wait_until(sub { -s $live_out }, 20), 'the live session is established');

my $pos = $node->log_position;
copy($new->{cert}, "$tmp/server.pem") or die;
copy($new->{key}, "$tmp/server.key") or die;
$node->signal('HUP');
ok($node->wait_for_log(qr/\[tls\] reloaded \S+server\.pem \((199|200) days left\)/, $pos, 10), 'SIGHUP: reloaded, logged');
is(mntr_value('tls_reloads'), 1, 'mntr: tls_reloads 1');
like(mntr_value('tls_cert_days_left'), qr/^(199|200)$/, 'mntr: 200 days left on the new certificate');
is(client($taddr, '--ca', $ca2->{cert}, 'kazoo'), "kazoo ok\n", 'after: a client of the new CA connects');
like(client($taddr, '--ca', $ca1->{cert}, 'version'), qr/^version error: SSLCertVerificationError/,
	'one trusting only the old CA is refused (the new certificate is served)');
waitpid($pid, 0);
untrack_pid($pid);
is(slurp_file($live_out), "kazoo ok\nhold ok\nbig ok 200000\n",
	'the session established before the rotation kept working');

# ---- a broken key: refused, the certificate in use stays -------------------------------
$pos = $node->log_position;
write_file("$tmp/server.key", "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n");
$node->signal('HUP');
ok($node->wait_for_log(qr/\[tls\] reload refused, the previous certificates stay in use: tls\.key_file/, $pos, 10),
	'a broken key file: the reload is refused and logged');
is(mntr_value('tls_reload_failures'), 1, 'mntr: tls_reload_failures 1');
is(client($taddr, '--ca', $ca2->{cert}, 'kazoo'), "kazoo ok\n", 'new connections still get the good certificate');
ok($node->is_running, 'the server runs on');

# ---- the admin command ---------------------------------------------------------------------
copy($new->{key}, "$tmp/server.key") or die;
like(client("127.0.0.1:$admin", '--ca', $ca2->{cert}, 'https:POST:/tls/reload'), qr/^https 401 /,
	'POST /tls/reload without the token: 401');
like(client("127.0.0.1:$admin", '--ca', $ca2->{cert}, "https:GET:/tls/reload:$token"), qr/^https 405 /,
	'GET /tls/reload: 405');
like(client("127.0.0.1:$admin", '--ca', $ca2->{cert}, "https:POST:/tls/reload:$token"),
	qr/^https 200 \{ "cert_days_left" : (199|200), "command" : "tls_reload", "error" : null \}/,
	'POST /tls/reload with the token: reloaded');
is(mntr_value('tls_reloads'), 2, 'mntr: tls_reloads 2');
like(client("127.0.0.1:$prom", '--ca', $ca2->{cert}, 'https:GET:/metrics'), qr/^https 200 .*tls_cert_days_left (199|200)/,
	'metrics_prometheus serves the new certificate');

# ---- new file names and settings in the configuration, then SIGHUP -------------------
my $third = make_cert($tmp, $ca2, 'third', cn => 'localhost', san => 'IP:127.0.0.1', days => 100);
$node->init(server => { secure_client_listen => $taddr },
	modules => {
		metrics_prometheus => { listen => "127.0.0.1:$prom", https => 'true' },
		admin_http => { listen => "127.0.0.1:$admin", https => 'true', auth_token => $token },
	},
	extra => { tls => { %$tls, cert_file => $third->{cert}, key_file => $third->{key}, min_protocol => 'TLSv1.3' } });
$pos = $node->log_position;
$node->signal('HUP');
ok($node->wait_for_log(qr/\[tls\] reloaded \S+third\.pem \((99|100) days left\)/, $pos, 10),
	'a reloaded configuration naming other files: they are loaded');
like(mntr_value('tls_cert_days_left'), qr/^(99|100)$/, 'mntr: the third certificate\'s days');
like(client($taddr, '--ca', $ca2->{cert}, '--maxver', '1.2', 'version'), qr/^version error: /,
	'and its min_protocol: TLSv1.3 refuses a TLS 1.2 client');
is(client($taddr, '--ca', $ca2->{cert}, 'kazoo'), "kazoo ok\n", 'a TLS 1.3 client connects');

$node->stop;
done_testing();
