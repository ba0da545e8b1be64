# regress/t/402_corralctl_status.t: `corralctl status [--json]`.
#
# One screen built from srvr and mntr: against corrald (all words allowed,
# srvr only, no fourlw module, down), and against a real ZooKeeper 3.8 when
# one is installed (the same two words, so it must work there too).
use strict;
use warnings;

use JSON::PP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $node = Corral::Test::Cluster->new('status');
$node->init;
$node->start;

# ---- the screen ----------------------------------------------------------------------
{
	my ($rc, $out, $err) = $node->corralctl('status');
	is($rc, 0, 'status: exit code 0') or diag($err);
	is($err, '', 'status: nothing on stderr');
	my %line = map { /^([A-Z][A-Za-z ]+):\s+(.*)$/ ? ($1 => $2) : () } split /\n/, $out;
	is($line{Server}, $node->address, 'Server: the address asked');
	like($line{Version}, qr/^\d+\.\d+\.\d+-corral-/, 'Version');
	is($line{Mode}, 'standalone', 'Mode: standalone');
	my ($zxid) = $node->fourlw('srvr') =~ /^Zxid: (0x[0-9a-f]+)$/m;
	like($line{Zxid}, qr/^\Q$zxid\E \(epoch \d+, counter \d+\)$/, 'Zxid: as srvr, with epoch and counter');
	like($line{Uptime}, qr/^\d/, 'Uptime');
	like($line{Connections}, qr/^\d+$/, 'Connections');
	like($line{Outstanding}, qr/^\d+$/, 'Outstanding');
	like($line{Latency}, qr/^min \d+ ms, avg \d+\.\d+(E\d+)? ms, max \d+ ms$/, 'Latency: min/avg/max');
	like($line{Packets}, qr/^\d+ received, \d+ sent$/, 'Packets');
	like($line{Znodes}, qr/^\d+ \(\d+ ephemeral, \d+ bytes of data\)$/, 'Znodes, ephemerals, data size');
	like($line{Watches}, qr/^\d+$/, 'Watches');
	like($line{Sessions}, qr/^\d+$/, 'Sessions');
	is($line{Lag}, '- (standalone)', 'Lag: none on a standalone server');
	like($line{'Open files'}, qr/^\d+ of \d+$/, 'Open files');
	ok(!exists $line{Followers}, 'no Followers line on a standalone server');
}

# ---- --json ----------------------------------------------------------------------------
{
	my ($rc, $out, $err) = $node->corralctl('status', '--json');
	is($rc, 0, 'status --json: exit code 0') or diag($err);
	my @lines = split /\n/, $out;
	is(scalar @lines, 1, 'status --json: one line');
	my $j = eval { JSON::PP->new->decode($out) };
	ok(ref $j eq 'HASH', 'status --json: one JSON object') or diag($@, $out);
	$j //= {};
	is($j->{server}, $node->address, 'json: server');
	ok(JSON::PP::is_bool($j->{serving}) && $j->{serving}, 'json: serving is true');
	is($j->{mode}, 'standalone', 'json: mode');
	like($j->{zxid}, qr/^0x[0-9a-f]+$/, 'json: zxid in hex');
	is(($j->{epoch} << 32) + $j->{counter}, hex($j->{zxid}), 'json: epoch and counter make the zxid');
	for my $k (qw(uptime_ms connections outstanding packets_received packets_sent znodes ephemerals
		approximate_data_size watches sessions open_file_descriptors max_file_descriptors))
	{
		like($j->{$k}, qr/^\d+$/, "json: $k is a number");
	}
	is_deeply([ sort keys %{ $j->{latency_ms} } ], [qw(avg max min)], 'json: latency_ms has min, avg, max');
	ok(!defined $j->{lag} && exists $j->{lag}, 'json: lag is null on a standalone server');
	ok(exists $j->{followers} && !defined $j->{followers}, 'json: followers is null');
	ok($j->{mntr}, 'json: mntr was used');
	my ($nodes) = $node->fourlw('srvr') =~ /^Node count: (\d+)$/m;
	is($j->{znodes}, $nodes, 'json: znodes as srvr says');
	my ($rc2, $out2) = $node->corralctl('status', '-j');
	ok($rc2 == 0 && eval { JSON::PP->new->decode($out2) }, '-j is --json');
	my ($rc3, $out3) = run_command([ $node->build_dir . '/bin/corralctl', 'status', '--json', '-s', $node->address ]);
	ok($rc3 == 0 && eval { JSON::PP->new->decode($out3) }, 'global options after the command');
}

# ---- usage ------------------------------------------------------------------------------
{
	my ($rc, $out, $err) = $node->corralctl('status', 'extra');
	is($rc, 2, 'status extra: exit code 2');
	like($err, qr/status takes no arguments/, 'status extra: says why');
	($rc, $out, $err) = $node->corralctl('status', '--bogus');
	is($rc, 2, 'status --bogus: exit code 2');
	($rc, $out, $err) = $node->corralctl('status', '--help');
	is($rc, 0, 'status --help: exit code 0');
	like($out, qr/^Usage: corralctl .*status \[--json\]/m, 'status --help: usage');
	($rc, $out) = run_command([ $node->build_dir . '/bin/corralctl', '--help' ]);
	like($out, qr/^\s+status \[--json\]\s+/m, 'corralctl --help lists status');
}
is($node->stop, 0, 'stopped cleanly');

# ---- srvr only (ZooKeeper's default allow list) -----------------------------------------
$node->init(modules => { fourlw => {} });
$node->start;
{
	my ($rc, $out, $err) = $node->corralctl('status');
	is($rc, 0, 'srvr only: status still exits 0');
	like($out, qr/^Mode:\s+standalone$/m, 'srvr only: the mode');
	like($out, qr/^Watches:\s+\?$/m, 'srvr only: watches unknown');
	like($out, qr/mntr is not allowed/, 'srvr only: says mntr is not allowed');
	($rc, $out) = $node->corralctl('status', '--json');
	my $j = eval { JSON::PP->new->decode($out) } // {};
	ok(!$j->{mntr}, 'srvr only: json mntr is false');
	ok(exists $j->{sessions} && !defined $j->{sessions}, 'srvr only: json sessions is null');
	like($j->{znodes}, qr/^\d+$/, 'srvr only: json znodes from srvr');
}
is($node->stop, 0, 'stopped cleanly');

# ---- no fourlw module: srvr refused ---------------------------------------------------------
$node->init(modules => { fourlw => undef });
$node->start;
{
	my ($rc, $out, $err) = $node->corralctl('status');
	is($rc, 1, 'srvr refused: exit code 1');
	like($err, qr/did not answer srvr: "srvr is not executed because it is not in the whitelist\."/,
		'srvr refused: quotes the refusal');
	($rc, $out) = $node->corralctl('status', '--json');
	my $j = eval { JSON::PP->new->decode($out) } // {};
	ok(defined $j->{serving} && !$j->{serving}, 'srvr refused: json serving is false');
	like($j->{error} // '', qr/did not answer srvr/, 'srvr refused: json error');
}
is($node->stop, 0, 'stopped cleanly');

# ---- down ---------------------------------------------------------------------------------
{
	my ($rc, $out, $err) = $node->corralctl('status');
	is($rc, 1, 'down: exit code 1');
	like($err, qr/cannot connect to \Q${\ $node->address}\E: Connection refused/, 'down: says why');
	($rc, $out, $err) = $node->corralctl('--timeout', '2000', 'status', '--json');
	is($rc, 1, 'down --json: exit code 1');
	my $j = eval { JSON::PP->new->decode($out) } // {};
	ok(defined $j->{serving} && !$j->{serving}, 'down --json: serving false');
	like($j->{error} // '', qr/cannot reach/, 'down --json: error');
}

# ---- against ZooKeeper 3.8 ----------------------------------------------------------------------
SKIP:
{
	my $zk = eval { require Corral::Test::ZooKeeper; Corral::Test::ZooKeeper->new('zk') };
	skip 'no ZooKeeper 3.8 to compare with (Corral::Test::ZooKeeper, Java, the zookeeper package)', 5 unless $zk;
	$zk->start;
	# ZooKeeper may listen a moment before it serves (srvr says so): wait.
	my ($rc, $out, $err);
	wait_until(sub {
		($rc, $out, $err) = run_command([ $node->build_dir . '/bin/corralctl', '-s', $zk->address, 'status' ]);
		$rc == 0;
	}, 30);
	is($rc, 0, 'ZooKeeper: status exits 0') or diag($err);
	like($out, qr/^Mode:\s+standalone$/m, 'ZooKeeper: mode');
	like($out, qr/^Sessions:\s+\d+$/m, 'ZooKeeper: sessions from its mntr');
	($rc, $out) = run_command([ $node->build_dir . '/bin/corralctl', '-s', $zk->address, 'status', '--json' ]);
	my $j = eval { JSON::PP->new->decode($out) } // {};
	ok($j->{serving} && $j->{mntr}, 'ZooKeeper: json with mntr');
	like($j->{version} // '', qr/^3\.8\./, 'ZooKeeper: its version');
	$zk->stop;
}

done_testing();
