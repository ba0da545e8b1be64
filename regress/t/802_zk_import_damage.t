# regress/t/802_zk_import_damage.t: import-zookeeper on what ZooKeeper 3.8
# writes with zookeeper.snapshot.compression.method=gz and =snappy, and on
# damaged directories, handled as ZooKeeper handles them: a corrupt newest
# snapshot falls back to the previous one (and the longer replay gives the
# same tree), a torn last log entry is ignored (the tree ZooKeeper had before
# that write), a log entry failing its checksum stops the import there, and
# says so; every snapshot corrupt is refused, writing nothing.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Migration qw(:all);

need_zookeeper();

my $tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);

sub hexname { my ($f) = @_; return hex(($f =~ /\.([0-9a-f]+)(?:\.\w+)?$/)[0]); }

# ZooKeeper with compressed snapshots: the workload, the tree it serves.
sub zk_tree
{
	my ($name, $method) = @_;
	# snappy-java (Debian libsnappy-java) is not on ZooKeeper's default
	# class path.
	local @Corral::Test::ZooKeeper::CLASSPATH = (@Corral::Test::ZooKeeper::CLASSPATH, '/usr/share/java/snappy-java.jar');
	my $zk = zk_server($name, jvm => $method ? ["-Dzookeeper.snapshot.compression.method=$method"] : []);
	$zk->start;
	zk_client('workload', $zk->address, 4);
	zk_client('seq', $zk->address, '/app') for 1 .. 3;   # a log tail after the last snapshot
	my $dump = zk_dump($zk->address);
	$zk->stop;
	return ($zk->data_dir, $dump);
}

sub import_and_compare
{
	my ($from, $dest, $want, $label) = @_;
	my ($rc, $j, $err, $out) = ctl_json('import-zookeeper', '--from', $from, '-D', $dest, '--json');
	is($rc, 0, "$label: import exits 0") or diag($err);
	my $node = corral_on('c', $dest);
	my $got = zk_dump($node->address);
	$node->stop;
	# The dump's own sessions leave no trace in the tree but /zookeeper's
	# pzxid-free nodes; compare everything.
	is_deeply($got, $want, "$label: corrald serves ZooKeeper's tree exactly");
	return $j;
}

for my $method (qw(gz snappy))
{
	my ($dir, $dump) = zk_tree("zk$method", $method);
	my @snaps = glob("$dir/version-2/snapshot.*.$method");
	cmp_ok(scalar @snaps, '>=', 2, "ZooKeeper wrote .$method snapshots (" . scalar(@snaps) . ')');
	my $j = import_and_compare($dir, "$tmp/$method", $dump, ".$method");
	like($j->{snapshot} // '', qr/\.$method$/, ".$method: the snapshot read is a .$method one");
	like($j->{digest}, qr/^(match$|not (checked|confirmed) \(fuzzy)/, ".$method: its digest was read and compared ($j->{digest})");
}

my ($dir, $dump) = zk_tree('zk');
my @snaps = sort { hexname($b) <=> hexname($a) } glob("$dir/version-2/snapshot.*");
my @logs  = sort { hexname($a) <=> hexname($b) } glob("$dir/version-2/log.*");

# ---- a corrupt newest snapshot -----------------------------------------
{
	my $copy = "$tmp/corrupt-snap";
	system('cp', '-a', $dir, $copy) == 0 or die;
	my $newest = "$copy/version-2/" . ($snaps[0] =~ m{([^/]+)$})[0];
	my $data = slurp_file($newest);
	my $pos = int(length($data) / 2);
	substr($data, $pos, 1) = chr(ord(substr($data, $pos, 1)) ^ 0x55);
	write_file($newest, $data);
	my $j = import_and_compare($copy, "$tmp/c1", $dump, 'corrupt newest snapshot');
	is(scalar @{ $j->{skipped_snapshots} }, 1, 'the corrupt snapshot is skipped, and reported') or diag(explain($j->{skipped_snapshots}));
	like($j->{skipped_snapshots}[0]{why} // '', qr/Adler32|truncated|cannot|bad|refers/, '... with the reason')
	  or diag(explain($j->{skipped_snapshots}));
	is(hexname($j->{snapshot}), hexname($snaps[1]), '... the previous snapshot is used');
}

# ---- every snapshot corrupt: refused, nothing written ----------------------
{
	my $copy = "$tmp/all-corrupt";
	system('cp', '-a', $dir, $copy) == 0 or die;
	for my $s (glob("$copy/version-2/snapshot.*"))
	{
		my $data = slurp_file($s);
		substr($data, -20, 1) = chr(ord(substr($data, -20, 1)) ^ 0xFF);
		write_file($s, $data);
	}
	my ($rc, undef, $err) = ctl('import-zookeeper', '--from', $copy, '-D', "$tmp/c2");
	is($rc, 1, 'no valid snapshot: refused');
	like($err, qr/no valid snapshot/, '... saying so');
	ok(!-e "$tmp/c2", '... creating nothing');
}

# ---- a torn last log entry ---------------------------------------------------
{
	my $copy = "$tmp/torn";
	system('cp', '-a', $dir, $copy) == 0 or die;
	my $last = "$copy/version-2/" . ($logs[-1] =~ m{([^/]+)$})[0];
	my @e = log_entries($last);
	my ($off, $len) = @{ $e[-1] };
	# the entry half written, the zeros of the preallocated file after it
	my $data = slurp_file($last);
	substr($data, $off + int($len / 2), $len - int($len / 2)) = "\0" x ($len - int($len / 2));
	write_file($last, $data);
	my ($rc, $j, $err) = ctl_json('import-zookeeper', '--from', $copy, '-D', "$tmp/c3", '--json');
	is($rc, 0, 'torn last entry: import exits 0') or diag($err);
	like($j->{torn_log_tail} // '', qr/partial entry at offset $off/, '... reports the torn entry');
	my ($rc2, $j2) = ctl_json('import-zookeeper', '--from', $dir, '-D', "$tmp/c3b", '--json');
	is(hex($j->{last_zxid}), hex($j2->{last_zxid}) - 1, '... and stops just before it');
}

# ---- a log entry failing its checksum --------------------------------------
{
	my $copy = "$tmp/damaged";
	system('cp', '-a', $dir, $copy) == 0 or die;
	# the first entry after the newest snapshot
	my $snapz = hexname($snaps[0]);
	my ($last, $off);
	for my $l (sort { hexname($a) <=> hexname($b) } glob("$copy/version-2/log.*"))
	{
		($off) = map { $_->[0] } grep { $_->[2] > $snapz } log_entries($l);
		if (defined $off) { $last = $l; last; }
	}
	my $data = slurp_file($last);
	substr($data, $off + 20, 1) = chr(ord(substr($data, $off + 20, 1)) ^ 0x01);
	write_file($last, $data);
	my ($rc, $j, $err, $out) = ctl_json('import-zookeeper', '--from', $copy, '-D', "$tmp/c4", '--json');
	is($rc, 0, 'damaged entry: import exits 0') or diag($err);
	like($j->{log_damage} // '', qr/offset $off fails its Adler32 check/, '... reports where it stopped')
	  or diag($out);
	is(hex($j->{last_zxid}), $snapz, '... which is the last zxid imported');
	my ($rc2, $t, $terr) = ctl('import-zookeeper', '--from', $copy, '-D', "$tmp/c5");
	like($t, qr/WARNING: stopped at damage/, '... and warns in the text summary');
}

# ---- random damage: a clear answer, never a crash ---------------------------
{
	srand(802);
	my @bad;
	for my $i (1 .. 40)
	{
		my $copy = "$tmp/rnd";
		system('rm', '-rf', $copy, "$tmp/rnd-c");
		system('cp', '-a', $dir, $copy) == 0 or die;
		my @f = glob("$copy/version-2/*");
		my $f = $f[ int(rand(@f)) ];
		my $data = slurp_file($f);
		for (1 .. 1 + int(rand(8)))
		{
			my $lim = length($data) < 20000 ? length($data) : 20000;
			next unless $lim;
			if (rand() < 0.2) { substr($data, int(rand($lim))) = ''; }
			else { substr($data, int(rand($lim)), 1) = chr(int(rand(256))); }
		}
		write_file($f, $data);
		my ($rc, $out, $err) = ctl('import-zookeeper', '--from', $copy, '-D', "$tmp/rnd-c", '--json');
		push @bad, "$f: exit $rc: $err" if ($rc != 0 && $rc != 1) || ($rc == 1 && $err !~ /^corralctl: \S/);
		push @bad, "$f: nothing imported but the directory exists" if $rc == 1 && -e "$tmp/rnd-c";
	}
	is_deeply(\@bad, [], '40 randomly damaged copies: each imported or refused with a message, never a crash');
}

done_testing();
