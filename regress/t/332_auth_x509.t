# auth_x509: a TLS client's certificate subject as an "x509" identity, as
# ZooKeeper's X509AuthenticationProvider (kazoo over TLS, three
# certificates of one CA):
#
# - an ACL naming alice's DN lets alice read and write, refuses bob, a TLS
#   client without a certificate and a plaintext client (NoAuth);
# - super_user (zookeeper.X509AuthenticationProvider.superUser) passes
#   every ACL;
# - x509 ids satisfy the `auth` scheme (isAuthenticated);
# - addauth x509 without a certificate fails (AuthFailed), with one it
#   succeeds; an ACL id that is not a DN is InvalidACL;
# - settings: super_user must be a DN; a module built for ABI 2 is refused.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(run_python have_kazoo);

plan skip_all => 'the openssl command is missing' unless openssl_ok();
plan skip_all => 'python3-kazoo is missing' unless have_kazoo();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca     = make_ca($tmp, 'ca');
my $server = make_cert($tmp, $ca, 'server', cn => 'localhost', san => 'IP:127.0.0.1');
my $alice  = make_cert($tmp, $ca, 'alice', subject => '/O=Corral test/OU=apps/CN=alice');
my $bob    = make_cert($tmp, $ca, 'bob', subject => '/O=Corral test/OU=apps/CN=bob');
my $admin  = make_cert($tmp, $ca, 'admin', subject => '/O=Corral test/CN=admin');
my $alice_dn = 'CN=alice,OU=apps,O=Corral test';
my $admin_dn = 'CN=admin,O=Corral test';

my $tls = { cert_file => $server->{cert}, key_file => $server->{key}, ca_file => $ca->{cert},
	client_auth => 'want' };

# ---- settings ------------------------------------------------------------------------
{
	my $n = Corral::Test::Cluster->new('cfg');
	$n->init(modules => { auth_x509 => { super_user => 'not a DN' } }, extra => { tls => $tls });
	my ($rc, $out, $err) = $n->run_corrald('-c', $n->config_file, '--check-config');
	is($rc, 3, 'super_user that is not a DN: refused');
	like($err, qr/auth_x509.*super_user "not a DN" is not an RFC 2253 distinguished name/, '... and why');
}

my $node = Corral::Test::Cluster->new('x509');
my $taddr = '127.0.0.1:' . $node->allocate_port;
$node->init(server => { secure_client_listen => $taddr },
	modules => { auth_x509 => { super_user => $admin_dn } }, extra => { tls => $tls });
$node->start;

sub as
{
	my ($who, @actions) = @_;
	my @creds = $who eq 'plain' ? ('--plain') : ('--ca', $ca->{cert});
	push @creds, '--cert', $who->{cert}, '--key', $who->{key} if ref $who;
	my $addr = $who eq 'plain' ? $node->address : $taddr;
	my ($rc, $out, $err) = run_python('tls_client.py', $addr, @creds, @actions, { timeout => 60 });
	diag($err) if $rc;
	return $out;
}

is(as($alice, "create:/alice:x509:$alice_dn:cdrwa", 'get:/alice', 'set:/alice:hello', 'get:/alice'),
	"create ok\nget ok secret\nset ok\nget ok hello\n", "alice creates a node only $alice_dn may use, and uses it");
is(as($bob, 'get:/alice', 'set:/alice:x'), "get error: NoAuthError\nset error: NoAuthError\n", 'bob may not');
is(as('anon', 'get:/alice'), "get error: NoAuthError\n", 'nor a TLS client without a certificate');
is(as('plain', 'get:/alice'), "get error: NoAuthError\n", 'nor a plaintext client');
is(as($admin, 'get:/alice', 'set:/alice:by-admin'), "get ok hello\nset ok\n", 'super_user passes the ACL');

is(as($alice, 'create:/authd:auth::cdrwa', 'get:/authd'), "create ok\nget ok secret\n",
	'x509 satisfies the auth scheme (the node gets x509:DN)');
is(as($bob, 'get:/authd'), "get error: NoAuthError\n", '... which bob does not hold');

is(as('plain', 'addauth:x509'), "addauth error: AuthFailedError\n", 'addauth x509 without a certificate fails');
is(as($bob, 'addauth:x509', 'get:/alice'), "addauth ok\nget error: NoAuthError\n",
	'with one it succeeds (and gives only its own DN)');
is(as($alice, 'create:/bad:x509:no equals sign:r'), "create error: InvalidACLError\n", 'an id that is not a DN is InvalidACL');
is(as($alice, "setacl:/alice:x509:CN=bob,OU=apps,O=Corral test:r", 'get:/alice'),
	"setacl ok\nget error: NoAuthError\n", 'alice gives the node to bob, and loses it');
is(as($bob, 'get:/alice'), "get ok by-admin\n", 'bob reads it now');

# ---- a module of the previous ABI is refused -------------------------------------------
{
	my $cc = $ENV{CC} // 'cc';
	my $root = repo_root();
	write_file("$tmp/old.c", <<'EOC');
#include "corral/module.h"
CORRAL_MODULE_MAGIC(.name = "old_abi", .version = "1");
int corral_module_init(CorralModule *self, const CorralConfig *config) { return 0; }
EOC
	# The ABI 2 CorralAuthClient had three fields.
	(my $h = slurp_file("$root/include/corral/auth.h")) =~ s/    const char \*tls_subject;\n.*?size_t tls_cert_der_len;\n//s;
	system('mkdir', '-p', "$tmp/inc/corral");
	for my $f (glob "$root/include/corral/*.h") { (my $b = $f) =~ s{.*/}{}; write_file("$tmp/inc/corral/$b", slurp_file($f)); }
	write_file("$tmp/inc/corral/auth.h", $h);
	(my $m = slurp_file("$tmp/inc/corral/module.h")) =~ s/#define CORRAL_ABI_VERSION 3/#define CORRAL_ABI_VERSION 2/;
	write_file("$tmp/inc/corral/module.h", $m);
	my ($rc, undef, $err) = run_command([ $cc, '-std=gnu11', '-shared', '-fPIC', "-I$tmp/inc", '-o', "$tmp/old_abi.so", "$tmp/old.c" ]);
	is($rc, 0, 'a module built with the ABI 2 headers compiles') or diag($err);
	my $n = Corral::Test::Cluster->new('old');
	$n->init(module_path => [ $tmp, $n->modules_dir ], modules => { old_abi => {} });
	(my $rc2, undef, my $err2) = $n->run_corrald('-c', $n->config_file, '--check-config');
	is($rc2, 3, 'corrald refuses it');
	like($err2, qr/old_abi.*ABI/i, '... naming the ABI');
}

$node->stop;
done_testing();
