# ACLs and authentication, differentially: regress/clients/acl_scenarios.py
# (kazoo) runs unchanged against Apache ZooKeeper 3.8 and against corrald
# with auth_digest, auth_ip and auth_sasl, and what the client saw must be
# the same, scenario by scenario.  Without Java/ZooKeeper, corrald is
# compared with regress/clients/acl_scenarios.expected (ZooKeeper's
# transcript; regenerate it with CORRAL_REGEN_EXPECTED=1).
#
# Both servers get the same credentials: the digest super user super/secret,
# and SASL DIGEST-MD5 users bob/secret, admin/adminpw (the SASL super user)
# and super/superpw.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(run_python compare_or_regen compare_transcripts have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
my $have_puresasl = (system(Corral::Test::ZooKeeper::python3(), '-c', 'import puresasl') == 0);
my @sasl_arg = $have_puresasl ? () : ('--no-sasl');
note('python3-pure-sasl is missing: SASL scenarios skipped') unless $have_puresasl;

my $script      = 'acl_scenarios.py';
my $super       = 'super:lK75jTNcA+U9vtVEw5vB51mj/w4=';    # super:secret
my %sasl_users  = (bob => 'secret', admin => 'adminpw', super => 'superpw');

# ---- ZooKeeper ------------------------------------------------------------
my $zk_out;
my $dir = File::Temp::tempdir(test_name() . '_jaas_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
write_file("$dir/jaas.conf",
	"Server {\n    org.apache.zookeeper.server.auth.DigestLoginModule required\n"
	  . join('', map { qq{    user_$_="$sasl_users{$_}"\n} } sort keys %sasl_users)
	  . "    ;\n};\n");
if (my $zk = Corral::Test::ZooKeeper->new('zk',
		cfg => { 'authProvider.1' => 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider' },
		jvm => [ "-Dzookeeper.DigestAuthenticationProvider.superDigest=$super",
			"-Djava.security.auth.login.config=$dir/jaas.conf",
			'-Dzookeeper.superUser=admin' ]))
{
	$zk->start;
	my ($rc, $out, $err) = run_python($script, $zk->address, @sasl_arg);
	is($rc, 0, 'scenarios ran against ZooKeeper') or diag($err);
	unlike($out, qr/^!! /m, 'no scenario aborted against ZooKeeper') or diag($err);
	$zk_out = $out;
	$zk->stop;
}
else
{
	note('ZooKeeper is not available: comparing with the expected file');
}
my $expected = compare_or_regen('acl_scenarios.expected', $zk_out);
if (!$have_puresasl)
{
	# the expected file has the SASL section; this run cannot produce it
	$expected =~ s/^== sasl\n(?:(?!== ).*\n)*//m;
}

# ---- corrald ---------------------------------------------------------------
my $node = Corral::Test::Cluster->new('corral');
$node->init(
	server  => { max_client_connections => 0 },
	modules => {
		auth_digest => { super_digest => $super },
		auth_ip     => { ipv6 => 'false' },
		auth_sasl   => { users => {%sasl_users}, super_user => 'admin' },
	});
$node->start;
my ($rc, $out, $err) = run_python($script, $node->address, @sasl_arg);
is($rc, 0, 'scenarios ran against corrald') or diag($err);
compare_transcripts($out, $expected, 'acl');
ok($node->is_running, 'corrald is still running');
is($node->stop, 0, 'corrald exits cleanly');

done_testing();
