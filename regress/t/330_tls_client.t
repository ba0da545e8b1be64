# TLS for clients (server.secure_client_listen, the top-level tls: map),
# with kazoo (use_ssl=True) and Python's ssl module:
#
# - the right CA works: a session, a 1 MB node (replies larger than a TLS
#   record and than one socket write), 500 pipelined requests, a
#   four-letter word over TLS, TLS 1.3 by default and 1.2 when capped;
# - refused: a client trusting another CA, an expired server certificate,
#   a client certificate from an unknown CA, no client certificate under
#   client_auth: need, TLS 1.2 against min_protocol: TLSv1.3;
# - garbage, a truncated ClientHello, a plaintext ConnectRequest and a
#   silent connection on the TLS port: each closed, the server carries on
#   and counts them (tls_handshake_failures);
# - the plaintext listener keeps working next to the TLS one; a TLS-only
#   server (no client_listen) does not listen in plaintext;
# - configuration errors: secure_client_listen without tls:, a missing
#   key file, a key that does not match the certificate, bad names.
use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(run_python have_kazoo);

plan skip_all => 'the openssl command is missing' unless openssl_ok();
plan skip_all => 'python3-kazoo is missing' unless have_kazoo();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca      = make_ca($tmp, 'ca');
my $other   = make_ca($tmp, 'other-ca');
my $server  = make_cert($tmp, $ca, 'server', cn => 'localhost', san => 'IP:127.0.0.1,DNS:localhost');
my $expired = make_cert($tmp, $ca, 'expired', cn => 'localhost', san => 'IP:127.0.0.1', days => -1);
my $client  = make_cert($tmp, $ca, 'client', subject => '/O=Corral test/OU=apps/CN=alice');
my $rogue   = make_cert($tmp, $other, 'rogue', subject => '/O=Elsewhere/CN=mallory');

sub tls_map
{
	my (%o) = @_;
	return { cert_file => $o{cert} // $server->{cert}, key_file => $o{key} // $server->{key},
		ca_file => $ca->{cert}, %{ $o{extra} // {} } };
}

sub client
{
	my ($addr, @args) = @_;
	my ($rc, $out, $err) = run_python('tls_client.py', $addr, @args, { timeout => 90 });
	diag("tls_client.py: $err") if $rc;
	return $out;
}

# ---- configuration errors -------------------------------------------------------
{
	my $n = Corral::Test::Cluster->new('cfg');
	my $check = sub {
		my ($what, $re, %init) = @_;
		$n->init(%init);
		my ($rc, $out, $err) = $n->run_corrald('-c', $n->config_file, '--check-config');
		is($rc, 2, "$what: exit code 2");
		like($err, $re, "$what: the message");
	};
	$check->('secure_client_listen without tls:', qr/"secure_client_listen" needs a top-level "tls" map/,
		server => { secure_client_listen => '127.0.0.1:' . $n->allocate_port });
	$check->('tls: without key_file', qr/corrald\.yaml:\d+:\d+: "tls" needs cert_file and key_file/,
		extra => { tls => { cert_file => $server->{cert} } });
	$check->('client_auth: maybe', qr/"client_auth" must be none, want or need, not "maybe"/,
		extra => { tls => tls_map(extra => { client_auth => 'maybe' }) });
	$check->('min_protocol: TLSv1.1', qr/"min_protocol" must be TLSv1.2 or TLSv1.3, not "TLSv1.1"/,
		extra => { tls => tls_map(extra => { min_protocol => 'TLSv1.1' }) });
	$check->('a missing key file', qr/tls\.key_file \S*nonexistent\.key: .*(No such file|system lib)/,
		extra => { tls => tls_map(key => "$tmp/nonexistent.key") });
	$check->('a key of another certificate', qr/tls\.key_file \S+(?: does not match tls\.cert_file|: .*key values mismatch)/,
		extra => { tls => tls_map(key => $client->{key}) });
	$check->('ciphers nobody has', qr/tls\.ciphers "NOPE":/,
		extra => { tls => tls_map(extra => { ciphers => 'NOPE' }) });
}

# ---- plaintext and TLS side by side, client_auth: want ---------------------------
my $node = Corral::Test::Cluster->new('tls');
my $tport = $node->allocate_port;
my $taddr = "127.0.0.1:$tport";
$node->init(server => { secure_client_listen => $taddr, sessionless_timeout_ms => 1500 },
	extra => { tls => tls_map(extra => { client_auth => 'want' }) });
$node->start;
my $pos;
like($node->log_content, qr/listening for TLS clients on 127\.0\.0\.1:$tport/, 'the TLS listener is logged');

is(client($taddr, '--ca', $ca->{cert}, 'kazoo', 'big:1000000', 'pipeline:500', 'version', 'word:ruok'),
	"kazoo ok\nbig ok 1000000\npipeline ok 500\nversion TLSv1.3\nword imok\n",
	'kazoo over TLS: a session, a 1 MB node, 500 pipelined requests; TLS 1.3; ruok over TLS');
is(client($taddr, '--ca', $ca->{cert}, '--cert', $client->{cert}, '--key', $client->{key}, 'kazoo'),
	"kazoo ok\n", 'with a client certificate of the CA (client_auth: want)');
is(client($taddr, '--ca', $ca->{cert}, '--maxver', '1.2', 'version', 'big:100000'),
	"version TLSv1.2\nbig ok 100000\n", 'a TLS 1.2 client');
$pos = $node->log_position;
like(client($taddr, '--ca', $ca->{cert}, '--cert', $rogue->{cert}, '--key', $rogue->{key}, 'word:ruok'),
	qr/^word (?:error|EOF)/, 'a client certificate from an unknown CA is refused');
ok($node->wait_for_log(qr/TLS handshake failed: .*certificate: unable to get local issuer certificate/, $pos, 10),
	'the server says why (the first failure; the next ones within 10 s are counted, not logged)');
like(client($taddr, '--ca', $other->{cert}, 'version', 'kazoo'),
	qr/^version error: SSLCertVerificationError .*certificate verify failed.*\nkazoo error: /,
	'a client trusting another CA refuses the server (ssl and kazoo)');
is($node->fourlw('ruok'), 'imok', 'the plaintext listener still answers');

# ---- garbage on the TLS port -------------------------------------------------------
sub handshake_failures { return ($node->fourlw('mntr') =~ /^zk_tls_handshake_failures\t(\d+)$/m)[0] // 0; }
my $fails_before = handshake_failures();
sub raw_send
{
	my ($bytes, $linger) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => $taddr, Timeout => 5) or die "connect: $!";
	syswrite($s, $bytes) if length $bytes;
	select(undef, undef, undef, $linger // 0.1);
	close $s;
}
raw_send(join('', map { chr(int(rand(256))) } 1 .. 4096));
# A ClientHello cut after its record and handshake headers.
raw_send("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\x00" x 40));
# A plaintext ZooKeeper ConnectRequest.
raw_send(pack('N', 44) . pack('N q> N q> N', 0, 0, 30000, 0, 16) . ("\0" x 16) . "\0");
# A connection that says nothing: the sessionless timeout closes it.
my $silent = IO::Socket::INET->new(PeerAddr => $taddr, Timeout => 5) or die;
ok(wait_until(sub { handshake_failures() >= $fails_before + 3 }, 10),
	'tls_handshake_failures counts the garbage, the truncated hello and the plaintext request');
my $eof = wait_until(sub {
	my $r = sysread($silent, my $buf, 1);
	return defined $r && $r == 0;
}, 10);
ok($eof, 'a silent connection on the TLS port is closed (sessionless timeout)');
is(client($taddr, '--ca', $ca->{cert}, 'kazoo', 'big:20000'), "kazoo ok\nbig ok 20000\n",
	'the server carries on after garbage and truncated handshakes');
like($node->fourlw('mntr'), qr/^zk_tls_cert_days_left\t36[45]$/m, 'mntr: days until the certificate expires');
ok($node->is_running, 'still running');
$node->stop;

# ---- TLS only, client_auth: need, min_protocol: TLSv1.3 -----------------------------
my $need = Corral::Test::Cluster->new('need');
my $naddr = '127.0.0.1:' . $need->port;
$need->init(server => { client_listen => undef, secure_client_listen => $naddr },
	modules => { fourlw => { allow => [qw(mntr srvr)] } },
	extra => { tls => tls_map(extra => { client_auth => 'need', min_protocol => 'TLSv1.3' }) });
$need->start;
unlike($need->log_content, qr/listening for clients on/, 'no plaintext listener without client_listen');
like(client($naddr, '--ca', $ca->{cert}, 'kazoo'), qr/^kazoo error: /,
	'client_auth: need refuses a client without a certificate');
my $out = client($naddr, '--ca', $ca->{cert}, '--cert', $client->{cert}, '--key', $client->{key}, 'kazoo', 'word:srvr');
like($out, qr/^kazoo ok\nword Zookeeper version: .*Mode: standalone/s,
	'client_auth: need accepts a client with a certificate of the CA; srvr over TLS');
like(client($naddr, '--ca', $ca->{cert}, '--cert', $client->{cert}, '--key', $client->{key}, '--maxver', '1.2', 'version'),
	qr/^version error: /, 'min_protocol: TLSv1.3 refuses a TLS 1.2 client');
$need->stop;

# ---- an expired server certificate --------------------------------------------------
my $old = Corral::Test::Cluster->new('expired');
my $oaddr = '127.0.0.1:' . $old->allocate_port;
$old->init(server => { secure_client_listen => $oaddr },
	extra => { tls => tls_map(cert => $expired->{cert}, key => $expired->{key}) });
$old->start;
like(client($oaddr, '--ca', $ca->{cert}, 'version'), qr/^version error: SSLCertVerificationError .*certificate has expired/,
	'a client refuses an expired server certificate');
like($old->fourlw('mntr'), qr/^zk_tls_cert_days_left\t-1$/m, 'mntr says it expired');
$old->stop;

done_testing();
