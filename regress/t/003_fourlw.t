# regress/t/003_fourlw.t: four-letter words, against ZooKeeper 3.8's answers.
#
# regress/fixtures/zk38/WORD.txt holds what a real ZooKeeper 3.8.0 answered.
# Values differ from server to server; what tools parse must not: the same
# lines, labels and keys in the same order, the same separators, the same
# trailing newlines.  Each word's answer is reduced to its "shape" and
# compared with the fixture's.
use strict;
use warnings;

use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

my $fixtures = repo_root() . '/regress/fixtures/zk38';
sub fixture { return slurp_file("$fixtures/$_[0].txt"); }

# Lines, keeping trailing empty ones: "a\nb\n" -> ('a', 'b', '').
sub lines { return split /\n/, $_[0], -1; }

# A connection line of cons/stat: " /IP:PORT[N](queued=N,recved=N,sent=N...)"
my $conn_re = qr{^ /[0-9a-f.:\[\]]+:\d+\[[0-9a-f]+\]\(queued=\d+,recved=\d+,sent=\d+(?:,.*)?\)$};

# srvr and stat: the label of each line ("Zxid", "Mode"...), client lines
# as CLIENT, empty lines as ''.
sub label_shape
{
	my ($text) = @_;
	return [ map { $_ eq '' ? '' : /$conn_re/ ? 'CLIENT' : /^([^:]+):/ ? $1 : "?$_" } lines($text) ];
}

# conf and envi: the keys of key=value lines; other lines as they are.
sub key_shape
{
	my ($text, $sep) = @_;
	return [ map { /^([^$sep]+)$sep/ ? $1 : $_ } lines($text) ];
}

# Values replaced by placeholders; consecutive identical lines merged (the
# number of connection sets or clients differs between servers).
sub generic_shape
{
	my ($text) = @_;
	my @out;
	for my $l (lines($text))
	{
		$l = 'CLIENT' if $l =~ $conn_re;
		$l =~ s{/[0-9a-f.:]+:\d+}{/IP:PORT}g;
		$l =~ s/\b[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}\b/DATE/g;
		$l =~ s/0x[0-9a-f]+/HEX/g;
		$l =~ s/\b\d+(\.\d+)?\b/N/g;
		push @out, $l unless @out && $out[-1] eq $l;
	}
	return \@out;
}

# The keys both lists have, in each list's order.
sub shared_order
{
	my ($ours, $theirs) = @_;
	my %in_ours   = map { $_ => 1 } @$ours;
	my %in_theirs = map { $_ => 1 } @$theirs;
	return ([ grep { $in_theirs{$_} } @$ours ], [ grep { $in_ours{$_} } @$theirs ]);
}

my $node = Corral::Test::Cluster->new('fourlw');
$node->init(modules => { fourlw => { allow => ['*'] } });
$node->start;

# ---- each word's shape --------------------------------------------------------
my %out = map { $_ => $node->fourlw($_) } qw(ruok srvr stat conf envi mntr isro dirs cons wchs wchc wchp dump);
for my $w (sort keys %out)
{
	ok(defined $out{$w}, "$w: answered and the connection closed") or $out{$w} = '';
}

is($out{ruok}, 'imok', 'ruok: imok (no newline, as ZooKeeper)');
is($out{isro}, fixture('isro'), 'isro: rw (standalone, not read-only)');
is($out{wchc}, fixture('wchc'), 'wchc: no watches');
is($out{wchp}, fixture('wchp'), 'wchp: no watches');

is_deeply(label_shape($out{srvr}), label_shape(fixture('srvr')), 'srvr: the same lines as ZooKeeper 3.8')
  or diag($out{srvr});
like($out{srvr}, qr/^Zookeeper version: \d+\.\d+\.\d+-\S+, built on .+\nLatency min\/avg\/max: \d+\/\d+\.\d+\/\d+\n/,
	'srvr: version line and latency format');
like($out{srvr}, qr/^Zxid: 0x[0-9a-f]+\nMode: standalone\nNode count: \d+\n\z/m, 'srvr: zxid, mode and node count');

is_deeply(label_shape($out{stat}), label_shape(fixture('stat')), 'stat: the same lines as ZooKeeper 3.8')
  or diag($out{stat});

is_deeply(key_shape($out{conf}, '='), key_shape(fixture('conf'), '='), 'conf: the same keys in the same order')
  or diag($out{conf});
like($out{conf}, qr/^clientPort=${\ $node->port}$/m, 'conf: clientPort is ours');

is_deeply(key_shape($out{dirs}, ':'), key_shape(fixture('dirs'), ':'), 'dirs: the same lines');
like($out{dirs}, qr/\Adatadir_size: \d+\nlogdir_size: \d+\n\z/, 'dirs: sizes are numbers');

is_deeply(generic_shape($out{cons}), generic_shape(fixture('cons')), 'cons: the same shape')
  or diag($out{cons});
is_deeply(generic_shape($out{wchs}), generic_shape(fixture('wchs')), 'wchs: the same shape')
  or diag($out{wchs});
is_deeply(generic_shape($out{dump}), generic_shape(fixture('dump')), 'dump: the same shape')
  or diag($out{dump});

# envi: Corral is no JVM, so the java.* lines have no counterpart; the keys
# both have come in ZooKeeper's order, and those that tools read are there.
{
	my @ours   = lines($out{envi});
	my @theirs = lines(fixture('envi'));
	is($ours[0], 'Environment:', 'envi: first line');
	my @bad = grep { $_ ne '' && !/^[A-Za-z0-9_.]+=/ } @ours[ 1 .. $#ours ];
	is_deeply(\@bad, [], 'envi: every other line is key=value');
	my @ok = map { /^([^=]+)=/ ? $1 : () } @ours;
	my @tk = map { /^([^=]+)=/ ? $1 : () } @theirs;
	my ($a, $b) = shared_order(\@ok, \@tk);
	is_deeply($a, $b, 'envi: the keys shared with ZooKeeper come in its order');
	my %have = map { $_ => 1 } @ok;
	is_deeply([ grep { !$have{$_} } qw(zookeeper.version host.name os.name os.arch os.version user.name user.home user.dir) ],
		[], 'envi: the keys tools read are there');
}

# mntr: tab-separated; the zk_* keys both servers have come in ZooKeeper's
# order; the keys every monitoring tool reads are there.
{
	my @ours = grep { $_ ne '' } lines($out{mntr});
	my @bad  = grep { !/^zk_[a-z0-9_]+\t\S/ } @ours;
	is_deeply(\@bad, [], 'mntr: every line is zk_KEY<TAB>VALUE');
	like($out{mntr}, qr/\n\z/, 'mntr: ends with a newline');
	my @ok = map { (split /\t/)[0] } @ours;
	my @tk = map { (split /\t/)[0] } grep { $_ ne '' } lines(fixture('mntr'));
	my ($a, $b) = shared_order(\@ok, \@tk);
	is_deeply($a, $b, 'mntr: the keys shared with ZooKeeper come in its order');
	my %have = map { $_ => 1 } @ok;
	my @core = qw(zk_version zk_server_state zk_ephemerals_count zk_num_alive_connections zk_avg_latency
	  zk_outstanding_requests zk_znode_count zk_global_sessions zk_packets_sent zk_packets_received
	  zk_watch_count zk_min_latency zk_max_file_descriptor_count zk_approximate_data_size
	  zk_open_file_descriptor_count zk_local_sessions zk_uptime zk_max_latency);
	is_deeply([ grep { !$have{$_} } @core ], [], 'mntr: the keys monitoring tools read are there');
	my %dup;
	is_deeply([ grep { $dup{$_}++ } @ok ], [], 'mntr: no key twice');
	like($out{mntr}, qr/^zk_server_state\tstandalone$/m, 'mntr: zk_server_state standalone');
}

# crst and srst reset counters and say so, exactly as ZooKeeper.
is($node->fourlw('crst'), fixture('crst'), 'crst: ZooKeeper\'s text');
is($node->fourlw('srst'), fixture('srst'), 'srst: ZooKeeper\'s text');

# The word may come with a newline (echo ruok | nc); only four bytes count.
is($node->fourlw('ruok', send => "ruok\n"), 'imok', 'ruok followed by a newline');

# ---- corralctl prints what nc would ------------------------------------------------
for my $w (qw(ruok isro conf wchs wchc dirs crst))
{
	my ($rc, $stdout, $stderr) = $node->corralctl($w);
	is($rc, 0, "corralctl $w: exit code 0") or diag($stderr);
	is($stdout, $node->fourlw($w), "corralctl $w: the same bytes as the raw answer");
}
is($node->stop, 0, 'stopped cleanly');

# ---- the allow list ---------------------------------------------------------------
sub refusal { return "$_[0] is not executed because it is not in the whitelist.\n"; }

$node->init(modules => { fourlw => { allow => [ 'ruok', 'conf' ] } });
$node->start;
is($node->fourlw('ruok'), 'imok', 'allow [ruok, conf]: ruok is answered');
like($node->fourlw('conf'), qr/^clientPort=/, 'allow [ruok, conf]: conf is answered');
for my $w (qw(stat mntr envi cons dump wchs isro dirs crst srst))
{
	is($node->fourlw($w), refusal($w), "allow [ruok, conf]: $w gets ZooKeeper's refusal");
}
like($node->fourlw('srvr'), qr/^Zookeeper version: /, 'srvr is always allowed (zkServer.sh status needs it)');
is($node->fourlw('gtmk'), refusal('gtmk'), 'a ZooKeeper word no module provides gets the refusal');
{
	my ($rc, $stdout) = $node->corralctl('mntr');
	is($stdout, refusal('mntr'), 'corralctl prints the refusal as nc would');
}
is($node->stop, 0, 'stopped cleanly');

# No allow list: ZooKeeper's default, srvr alone.
$node->init(modules => { fourlw => {} });
$node->start;
is($node->fourlw('ruok'), refusal('ruok'), 'no allow list: ruok is refused');
like($node->fourlw('srvr'), qr/^Zookeeper version: /, 'no allow list: srvr is answered');
is($node->stop, 0, 'stopped cleanly');

# No fourlw module at all: every word is refused, as by ZooKeeper.
$node->init(modules => { fourlw => undef });
$node->start;
is($node->fourlw('ruok'), refusal('ruok'), 'without the module: ruok is refused');
is($node->fourlw('srvr'), refusal('srvr'), 'without the module: srvr is refused');
is($node->stop, 0, 'stopped cleanly');

# "*" allows everything, as ZooKeeper's 4lw.commands.whitelist=*.
$node->init(modules => { fourlw => { allow => ['*'] } });
$node->start;
for my $w (qw(ruok srvr stat conf envi mntr isro dirs cons wchs wchc wchp dump crst srst))
{
	my $o = $node->fourlw($w) // '';
	isnt($o, refusal($w), "allow [*]: $w is answered");
}
is($node->stop, 0, 'stopped cleanly');

# A bad allow list is a configuration error, reported with its position.
{
	$node->write_config("server:\n  client_listen: " . $node->address . "\nmodules:\n  fourlw:\n    allow: [ruok, toolong]\n");
	my ($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'allow [toolong]: exit code 2');
	like($err, qr/^\Q${\ $node->config_file}\E:5:19: .*toolong/m, 'allow [toolong]: FILE:LINE:COLUMN names the entry');
	$node->write_config("server: {}\nmodules:\n  fourlw:\n    allow: ruok\n");
	($rc, $out, $err) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($rc, 2, 'allow: ruok (not a list): exit code 2');
	like($err, qr/^\Q${\ $node->config_file}\E:4:12: .*allow/m, 'allow: ruok: FILE:LINE:COLUMN');
}

done_testing();
