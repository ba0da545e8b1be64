# The Java client over TLS (ZooKeeper's own Netty TLS code, as zkCli.sh
# runs it with -Dzookeeper.client.secure=true), and the x509 identity
# against Java's own naming of the certificate subject.
#
# - ZooKeeperMain (zkCli's class) with a client certificate: create, get,
#   whoami shows x509:DN;
# - for subjects that OpenSSL and Java print differently (non-ASCII
#   values, escapes, attributes Java has no keyword for, a multi-valued
#   RDN): the identity Corral gives (whoAmI over TLS) equals
#   X509Certificate.getSubjectX500Principal().getName(), which is what
#   ZooKeeper's X509AuthenticationProvider uses (getClientId).
#
# Debian's zookeeper.jar lists netty-handler but not netty-codec and
# netty-resolver in its Class-Path, so zkCli.sh as packaged cannot load
# ClientCnxnSocketNetty (doc/security.md): the test runs the same class
# with them on the class path.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::TLS qw(make_ca make_cert openssl_ok);
use Corral::Test::ZooKeeper qw(clients_dir);

my $java = $ENV{CORRAL_JAVA} // '/usr/bin/java';
my @cp = ('/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', map { "/usr/share/java/$_.jar" }
	qw(netty-codec netty-resolver netty-transport-native-unix-common slf4j-api slf4j-nop));
plan skip_all => 'the openssl command is missing' unless openssl_ok();
plan skip_all => 'Java or the ZooKeeper and Netty jars are missing' unless -x $java && !grep { !-r } @cp[ 1 .. $#cp ];

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $ca = make_ca($tmp, 'ca');
my $server = make_cert($tmp, $ca, 'server', cn => 'localhost', san => 'IP:127.0.0.1');
my @subjects = (
	'/C=FR/O=Corral, Inc./OU=ops/CN=java user',
	"/CN=Jos\x{c3}\x{a9} M\x{c3}\x{bc}ller/O=\x{c3}\x{9c}n\x{c3}\x{af}",
	'/CN=#lead/OU= sp /O=a',
	'/emailAddress=e@x.org/CN=mail',
	'/DC=org/DC=corral/UID=42/serialNumber=7/CN=x',
	'/CN=a+UID=b/O=multi',
	'/street=1 Main St/L=Paris/ST=IdF/title=boss/CN=t',
);
my @clients = map { make_cert($tmp, $ca, "client$_", subject => $subjects[$_]) } 0 .. $#subjects;

my $node = Corral::Test::Cluster->new('java');
my $taddr = '127.0.0.1:' . $node->allocate_port;
$node->init(server => { secure_client_listen => $taddr },
	modules => { auth_x509 => {} },
	extra => { tls => { cert_file => $server->{cert}, key_file => $server->{key}, ca_file => $ca->{cert},
		client_auth => 'need' } });
$node->start;

my @jvm = ('-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1');
my @secure = ('-Dzookeeper.client.secure=true', '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
	"-Dzookeeper.ssl.trustStore.location=$ca->{cert}", '-Dzookeeper.ssl.trustStore.type=PEM',
	"-Dzookeeper.ssl.keyStore.location=$clients[0]{both}", '-Dzookeeper.ssl.keyStore.type=PEM',
	'-Dzookeeper.ssl.hostnameVerification=false');
my ($rc, $out, $err) = run_command([ $java, @jvm, @secure, '-cp', join(':', @cp), 'org.apache.zookeeper.ZooKeeperMain',
	'-server', $taddr ], stdin => "create /javatls hello\nget /javatls\nwhoami\nquit\n", timeout => 90);
like($out . $err, qr/Created \/javatls/, 'zkCli over TLS: create');
like($out, qr/^hello$/m, 'zkCli over TLS: get');
like($out, qr/^x509: CN=java user,OU=ops,O=Corral\\, Inc\.,C=FR$/m, 'zkCli over TLS: whoami shows the x509 identity')
  or diag($out . $err);

($rc, $out, $err) = run_command([ $java, @jvm, '-cp', join(':', @cp), clients_dir() . '/TlsWhoAmI.java', $taddr,
	$ca->{cert}, map { $_->{both} } @clients ], timeout => 120);
is($rc, 0, 'TlsWhoAmI ran') or diag($err);
my @blocks = split /^(?=expect )/m, $out;
is(scalar(@blocks), scalar(@clients), 'one answer per certificate');
for my $b (@blocks)
{
	my ($want) = $b =~ /^expect (.*)$/m;
	my ($got) = $b =~ /^got x509:(.*)$/m;
	is($got, $want, "x509 identity is Java's getName(): $want");
}

$node->stop;
done_testing();
