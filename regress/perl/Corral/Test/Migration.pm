=pod

=head1 NAME

Corral::Test::Migration - what the ZooKeeper migration tests (regress/t/80x) share

=head1 SYNOPSIS

  use Corral::Test::Migration qw(:all);

  my $zk = zk_server('zk', snapCount => 20);      # undef without ZooKeeper/kazoo
  $zk->start;
  zk_client('workload', $zk->address, 5);
  my $before = zk_dump($zk->address);
  $zk->stop;
  my ($rc, $out, $err) = ctl('import-zookeeper', '--from', $zk->data_dir, '-D', $dir, '--json');
  my $node = corral_on('c', $dir);
  is_deeply(zk_dump($node->address), $before, 'same tree');

=head1 DESCRIPTION

ZooKeeper servers with a small C<snapCount> (several snapshots and a log
tail), the client script F<regress/clients/zk_migration.py>, corrald nodes
on an imported directory, and a fingerprint of a directory (every file's
name, size, mode, mtime and SHA-1) to show that a refusal wrote nothing.

=cut

package Corral::Test::Migration;

use strict;
use warnings;

use Digest::SHA;
use Exporter 'import';
use File::Find ();
use JSON::PP;
use Test::More;

use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 run_python have_kazoo corrald_defaults);

our @EXPORT_OK = qw(zk_server zk_client zk_dump ctl ctl_json corral_on dir_fingerprint need_zookeeper
  log_entries tree_diff);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my $json = JSON::PP->new->utf8->canonical;

=over

=item need_zookeeper()

Skips the whole test unless ZooKeeper 3.8, kazoo and storage_file are there.

=cut

sub need_zookeeper
{
	plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
	plan skip_all => 'Apache ZooKeeper (Debian zookeeper) is not installed'
	  unless Corral::Test::ZooKeeper->available;
	my $n = Corral::Test::Cluster->new('probe');
	plan skip_all => 'the storage_file module is not built' unless -e $n->modules_dir . '/storage_file.so';
	return;
}

=item zk_server($name, %cfg)

A standalone ZooKeeper 3.8 (not started) whose zoo.cfg has C<%cfg> too
(default C<snapCount=20>, C<preAllocSize=64>: several snapshots, small
logs).  C<< jvm => [ARGS] >> passes JVM flags; C<< myid => N >> makes it a
quorum member (give the C<server.N> lines in C<%cfg>).

=cut

sub zk_server
{
	my ($name, %cfg) = @_;
	my $jvm  = delete $cfg{jvm} // [];
	my $myid = delete $cfg{myid};
	return Corral::Test::ZooKeeper->new($name,
		cfg  => { snapCount => 20, preAllocSize => 64, %cfg },
		jvm  => $jvm,
		myid => $myid);
}

=item zk_client($cmd, @args)

Runs F<zk_migration.py> C<$cmd @args>; dies if it fails; returns stdout.

=cut

sub zk_client
{
	my ($cmd, @args) = @_;
	my ($rc, $out, $err) = run_python('zk_migration.py', $cmd, @args, { timeout => 120 });
	die "zk_migration.py $cmd failed ($rc): $err$out" if $rc != 0;
	return $out;
}

=item zk_dump($address)

Every znode the server serves: { path => { data, stat, acl } }.

=cut

sub zk_dump { return $json->decode(zk_client('dump', $_[0])); }

=item tree_diff($want, $got, $want_name, $got_name)

The differences between two dumps, one line each: a znode missing on one
side, data or ACL that differ, each Stat field that differs (with both
values).

=cut

sub tree_diff
{
	my ($want, $got, $wn, $gn) = @_;
	my @diff;
	for my $p (sort keys %$want)
	{
		if (!$got->{$p}) { push @diff, "$p missing on $gn"; next; }
		for my $k (qw(data acl))
		{
			push @diff, "$p $k differs"
			  if $json->encode([ $want->{$p}{$k} ]) ne $json->encode([ $got->{$p}{$k} ]);
		}
		for my $f (sort keys %{ $want->{$p}{stat} })
		{
			push @diff, "$p $f: $wn $want->{$p}{stat}{$f}, $gn $got->{$p}{stat}{$f}"
			  if $want->{$p}{stat}{$f} != $got->{$p}{stat}{$f};
		}
	}
	push @diff, map { "$_ only on $gn" } grep { !$want->{$_} } sort keys %$got;
	return @diff;
}

=item ctl(@args), ctl_json(@args)

Runs corralctl: C<($rc, $stdout, $stderr)>; C<ctl_json> also decodes stdout.

=cut

sub ctl
{
	my $bin = build_dir() . '/bin/corralctl';
	return run_command([ $bin, @_ ], timeout => 300);
}

sub ctl_json
{
	my ($rc, $out, $err) = ctl(@_);
	my $j = eval { $json->decode($out) };
	return ($rc, $j, $err, $out);
}

=item corral_on($name, $dir, %server)

A corrald (started) with storage_file on data directory C<$dir>.

=cut

sub corral_on
{
	my ($name, $dir, %server) = @_;
	my $node = Corral::Test::Cluster->new($name);
	my %d = corrald_defaults(data_dir => $dir, %server);
	$node->init(%d, modules => { %{ $d{modules} }, storage_file => {} });
	$node->start;
	return $node;
}

=item dir_fingerprint($dir)

One line per file and directory under C<$dir> (sorted): path, type, size,
mode, mtime and the SHA-1 of a file's contents.

=cut

sub dir_fingerprint
{
	my ($dir) = @_;
	my @lines;
	File::Find::find(
		{
			no_chdir => 1,
			wanted   => sub {
				my @st = lstat($_);
				my $rel = substr($_, length $dir);
				my $sha = -f _ ? Digest::SHA->new(1)->addfile($_)->hexdigest : '-';
				push @lines, join(' ', $rel, (-d _ ? 'd' : 'f'), $st[7], sprintf('%o', $st[2]), $st[9], $sha);
			},
		},
		$dir);
	return join("\n", sort @lines) . "\n";
}

=item log_entries($path)

The entries of a ZooKeeper transaction log: a list of [offset, length,
zxid] (offset and length of the whole entry: checksum, length, bytes, 'B').

=cut

sub log_entries
{
	my ($path) = @_;
	my $data = slurp_file($path);
	my @e;
	my $off = 16;
	while ($off + 12 <= length $data)
	{
		my $len = unpack('N', substr($data, $off + 8, 4));
		last if $len == 0 || $off + 13 + $len > length $data;
		my ($hi, $lo) = unpack('NN', substr($data, $off + 12 + 12, 8));
		push @e, [ $off, 13 + $len, $hi * 4294967296 + $lo ];
		$off += 13 + $len;
	}
	return @e;
}

=back

=cut

1;
