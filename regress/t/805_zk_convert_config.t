# regress/t/805_zk_convert_config.t: corralctl convert-config on the zoo.cfg
# the tests' ZooKeeper ran with (Corral::Test::ZooKeeper writes it), then
# the documented migration end to end: the data imported into the data_dir
# the converted file names, corrald started with the converted file serves
# ZooKeeper's tree on ZooKeeper's port.  And a 3-member zoo.cfg with its
# dynamic file: the ensemble list, the id from myid, an observer, the
# unmappable keys as comments; corrald --check-config accepts both.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $corrald = build_dir() . '/bin/corrald';

my $zk = zk_server('zk');
$zk->start;
zk_client('workload', $zk->address, 2);
my $before = zk_dump($zk->address);
$zk->stop;
my $cfg = $zk->basedir . '/zoo.cfg';

my ($rc, $yaml, $err) = ctl('convert-config', $cfg);
is($rc, 0, 'convert-config on the tests\' zoo.cfg') or diag($err);
my $port = $zk->port;
like($yaml, qr/^  client_listen: "127\.0\.0\.1:$port"/m, 'clientPortAddress:clientPort -> server.client_listen');
like($yaml, qr/^  tick_ms: 2000\b/m, 'tickTime -> server.tick_ms');
like($yaml, qr/^  max_client_connections: 0\b/m, 'maxClientCnxns -> server.max_client_connections');
like($yaml, qr/^  extended_types: true\b/m, 'extendedTypesEnabled -> server.extended_types');
like($yaml, qr/^    allow: \["\*"\]/m, '4lw.commands.whitelist -> modules.fourlw.allow');
like($yaml, qr/^    snapshot_every_txns: 20\b/m, 'snapCount -> modules.storage_file.snapshot_every_txns');
like($yaml, qr/preAllocSize=64 \(KiB\): outside segment_bytes/, 'preAllocSize below 1 MiB: a comment saying why');
unlike($yaml, qr/admin_http/, 'admin.enableServer=false: no admin_http');
my ($dd) = $yaml =~ /^  data_dir: "([^"]+)"/m;
is($dd, $zk->data_dir . '-corral', 'dataDir -> a new data_dir beside it');
write_file("$tmp/corral.yaml", $yaml);
my ($crc, $cout, $cerr) = run_command([ $corrald, '-c', "$tmp/corral.yaml", '--check-config' ], timeout => 30);
is($crc, 0, 'corrald --check-config accepts the converted file') or diag("$cerr\n$yaml");

# The documented steps: import into that data_dir, start with that file.
($rc, undef, $err) = ctl('import-zookeeper', '--from', $zk->data_dir, '-D', $dd);
is($rc, 0, 'import into the converted data_dir') or diag($err);
my $node = Corral::Test::Cluster->new('c', port => $port);
$node->write_config($yaml);
$node->start;
is_deeply(zk_dump($node->address), $before, "corrald with the converted file serves ZooKeeper's tree on its port");
$node->stop;

# ---- a 3-member ensemble ---------------------------------------------------
mkdir "$tmp/zk3";
write_file("$tmp/zk3/myid", "2\n");
write_file("$tmp/zoo3.cfg", <<"EOC");
# a member of a 3-node ensemble
tickTime=1000
initLimit=5
syncLimit=2
dataDir=$tmp/zk3
dataLogDir=$tmp/zk3log
clientPort=2281
clientPortAddress=127.0.0.12
minSessionTimeout=4000
maxSessionTimeout=30000
autopurge.snapRetainCount=4
autopurge.purgeInterval=1
forceSync=no
jute.maxbuffer=2097152
readonlymode.enabled=true
authProvider.1=org.apache.zookeeper.server.auth.DigestAuthenticationProvider
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
admin.serverAddress=127.0.0.12
admin.serverPort=8181
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7012
metricsProvider.httpHost=127.0.0.12
reconfigEnabled=true
standaloneEnabled=false
localSessionsEnabled=true
EOC
write_file("$tmp/zoo3.cfg.dynamic", <<'EOC');
server.1=127.0.0.11:2888:3888:participant;127.0.0.11:2281
server.2=127.0.0.12:2888:3888:participant;127.0.0.12:2281
server.3=127.0.0.13:2888:3888:observer;127.0.0.13:2281
version=100000000
EOC
($rc, $yaml, $err) = ctl('convert-config', "$tmp/zoo3.cfg", "$tmp/zoo3.cfg.dynamic");
is($rc, 0, 'convert-config with a dynamic file') or diag($err);
like($yaml, qr/^  id: 2\b.*myid/m, 'server.id from dataDir/myid');
like($yaml, qr/\{ id: 1, peer: "127\.0\.0\.11:2888", election: "127\.0\.0\.11:3888" \}/, 'server.1 -> ensemble member 1');
like($yaml, qr/\{ id: 3, peer: "127\.0\.0\.13:2888", election: "127\.0\.0\.13:3888", role: observer \}/,
	'an observer keeps its role');
like($yaml, qr/^  min_session_timeout_ms: 4000\b/m, 'minSessionTimeout');
like($yaml, qr/^  max_session_timeout_ms: 30000\b/m, 'maxSessionTimeout');
like($yaml, qr/^  max_request_bytes: 2097152\b/m, 'jute.maxbuffer');
like($yaml, qr/^  read_only: true\b/m, 'readonlymode.enabled');
like($yaml, qr/^    fsync: false\b/m, 'forceSync=no');
like($yaml, qr/^    keep_snapshots: 4\b/m, 'autopurge.snapRetainCount');
like($yaml, qr/super_digest: "super:D\/InIHSb7yEEbrWz8b9l71RjZJU="/, 'superDigest (a zoo.cfg system property)');
like($yaml, qr/admin_http:.*\n    listen: "127\.0\.0\.12:8181"/, 'admin.serverAddress:serverPort -> admin_http.listen');
like($yaml, qr/metrics_prometheus:.*\n    listen: "127\.0\.0\.12:7012"/, 'the Prometheus provider -> metrics_prometheus');
like($yaml, qr/^  reconfig_enabled: true\b/m, 'reconfigEnabled -> server.reconfig_enabled');
like($yaml, qr/^    wal_dir: "\Q$tmp\E\/zk3log-corral"/m, 'dataLogDir -> modules.storage_file.wal_dir (a new directory)');
for my $k (qw(autopurge.purgeInterval standaloneEnabled localSessionsEnabled))
{
	like($yaml, qr/^#.*\Q$k\E=\S+: \S/m, "$k: a comment saying why it is not mapped");
}
write_file("$tmp/corral3.yaml", $yaml);
($crc, $cout, $cerr) = run_command([ $corrald, '-c', "$tmp/corral3.yaml", '--check-config' ], timeout => 30);
is($crc, 0, 'corrald --check-config accepts it') or diag("$cerr\n$yaml");
my $flags = '-Xmx2g -Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=';
($rc, $yaml) = ctl('convert-config', $cfg, '--jvm-flags', $flags);
like($yaml, qr/super_digest: "super:D\/InIHSb7yEEbrWz8b9l71RjZJU="/, 'superDigest given as a JVM flag (--jvm-flags)');
($rc) = ctl('convert-config');
is($rc, 2, 'no file: a usage error');
($rc, undef, $err) = ctl('convert-config', "$tmp/none.cfg");
is($rc, 1, 'a missing file: exit 1');

done_testing();
