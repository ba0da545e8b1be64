# regress/t/008_default_modules.t: the modules loaded without being named.
#
# As ZooKeeper always has the digest and ip schemes, corrald loads
# auth_digest and auth_ip when the configuration does not name them (as it
# loads storage_file when no storage module is named); `NAME: false` under
# `modules:` leaves such a module out.  Checked with kazoo: a digest ACL
# and an ip ACL work on a configuration that names no auth module, and are
# InvalidACL once the modules are switched off; the example configurations
# and the built-in one load them; storage_file switched off without another
# storage module is a configuration error.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

my $root = repo_root();
my $tmp  = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

# ---- --check-config: what is loaded -----------------------------------------------
{
	my $node = Corral::Test::Cluster->new('check');
	$node->init(modules => ordered(fourlw => { allow => ['ruok'] }));
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file, '--log-level', 'debug');
	is($rc, 0, 'no auth module named: valid') or diag($err);
	like($out, qr/configuration is valid \(4 modules\)/, 'fourlw + auth_digest + auth_ip + storage_file');
	like($err, qr/loaded module auth_digest .* from .*auth_digest\.so/, 'auth_digest is loaded by default');
	like($err, qr/loaded module auth_ip .* from .*auth_ip\.so/,         'auth_ip is loaded by default');

	$node->init(modules => ordered(fourlw => { allow => ['ruok'] }, auth_digest => 'false', auth_ip => 'off'));
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'auth modules switched off: valid') or diag($err);
	like($out, qr/configuration is valid \(2 modules\)/, 'only fourlw and storage_file are loaded');
	like($err, qr/module auth_digest is disabled \(modules\.auth_digest: false\)/, 'the opt-out is logged');

	$node->init(modules => ordered(auth_ip => { ipv6 => 'false' }));
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	like($out, qr/configuration is valid \(3 modules\)/, 'a default module named with settings is loaded once');

	$node->init(modules => ordered(storage_file => 'false'));
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'storage_file: false without another storage module: exit 2');
	like($err, qr/^\Q${\ $node->config_file}\E:\d+:\d+: storage_file is disabled and no other storage module is named/m,
		'... with the position of the opt-out');

	$node->init(modules => ordered(storage_file => 'false', storage_memory => {}));
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 0, 'storage_file: false with storage_memory: valid') or diag($err);

	for my $ex (qw(standalone ensemble-3 ensemble-5))
	{
		my $text = slurp_file("$root/config/$ex.yaml");
		like($text, qr/^  auth_digest:/m, "config/$ex.yaml names auth_digest");
		like($text, qr/^  auth_ip:/m,     "config/$ex.yaml names auth_ip");
	}
	($rc, $out, $err) = Corral::Test::Cluster->run_corrald('--check-config', '--log-level', 'debug');
	like($err, qr/loaded module auth_digest/, 'the built-in configuration has auth_digest');
	like($err, qr/loaded module auth_ip/,     'the built-in configuration has auth_ip');
}

# ---- kazoo: a digest ACL on a configuration naming no auth module --------------------
my $script = "$tmp/acl.py";
write_file($script, <<'EOP');
import sys
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, make_acl
from kazoo.exceptions import InvalidACLError, NoAuthError
addr = sys.argv[1]
# Without the digest scheme, addauth digest is AuthFailed (which ends the
# session, as ZooKeeper's does): only ask for it when the scheme is there.
auth = [("digest", "alice:secret")] if sys.argv[2] == "auth" else []
zk = KazooClient(hosts=addr, auth_data=auth)
zk.start(timeout=15)
try:
    zk.create("/d-" + sys.argv[2], b"hidden", acl=[make_digest_acl("alice", "secret", all=True)])
    print("digest create ok")
    print("owner reads", zk.get("/d-" + sys.argv[2])[0].decode())
except InvalidACLError:
    print("digest create InvalidACL")
try:
    zk.create("/i-" + sys.argv[2], b"x", acl=[make_acl("ip", "127.0.0.1", all=True)])
    print("ip create ok")
except InvalidACLError:
    print("ip create InvalidACL")
zk.stop()
other = KazooClient(hosts=addr)
other.start(timeout=15)
try:
    other.get("/d-" + sys.argv[2])
    print("stranger reads")
except NoAuthError:
    print("stranger NoAuth")
except Exception as e:
    print("stranger", type(e).__name__)
other.stop()
EOP

SKIP:
{
	skip 'python3-kazoo is not installed', 3 unless have_kazoo();
	my $node = Corral::Test::Cluster->new('kazoo');
	$node->init;    # fourlw only: no auth module named
	$node->start;
	my ($rc, $out, $err) = run_command([ python3(), $script, $node->address, 'auth' ], timeout => 60);
	is($out, "digest create ok\nowner reads hidden\nip create ok\nstranger NoAuth\n",
		'default configuration: digest and ip ACLs work, as in ZooKeeper') or diag($err);
	$node->stop;

	$node->init(modules => { auth_digest => 'false', auth_ip => 'false' });
	$node->start;
	($rc, $out, $err) = run_command([ python3(), $script, $node->address, 'none' ], timeout => 60);
	is($out, "digest create InvalidACL\nip create InvalidACL\nstranger NoNodeError\n",
		'auth_digest: false, auth_ip: false: the schemes are gone') or diag($err);
	is($node->stop, 0, 'stopped cleanly');
}

done_testing();
