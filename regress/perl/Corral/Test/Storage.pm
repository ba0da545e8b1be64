# regress/perl/Corral/Test/Storage.pm: what the storage damage tests
# (regress/t/62*.t) share: a corrald with storage_file, a kazoo client that
# writes and lists /c, corralctl's JSON views, and byte patching.
#
#   use Corral::Test::Storage;
#   my $n = storage_node('flip', segment_bytes => 1 << 20);
#   $n->start;
#   kazoo_c($n, 'create', 'a', 100, 1000);    # /c/a0000 .. /c/a0099, 1000 bytes each
#   my ($rc, $v) = verify_json($n->data_dir);
#   flip_byte($file, $offset);
package Corral::Test::Storage;

use strict;
use warnings;

use Digest::MD5;
use Exporter 'import';
use File::Temp ();
use JSON::PP;

use Corral::Test::Cluster;
use Corral::Test::Utils qw(run_command write_file tmp_check_dir test_name);
use Corral::Test::ZooKeeper qw(python3);

our @EXPORT = qw(storage_node kazoo_c listing ctl wal_records verify_json patch flip_byte md5_of expected_listing rec_at);

my $json = JSON::PP->new->utf8;
my ($tmp, $ctl);

# The client script, written once per test: `create PREFIX COUNT SIZE`
# makes /c/PREFIXnnnn one at a time (each acknowledged before the next is
# sent); `list` prints "name size" for every child of /c.
sub _script
{
	return "$tmp/c.py" if $tmp;
	$tmp = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
	write_file("$tmp/c.py", <<'EOP');
import sys, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
c = KazooClient(sys.argv[1], timeout=10); c.start(10)
if sys.argv[2] == 'create':
    prefix, count, size = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    c.ensure_path('/c')
    for i in range(count):
        p = '/c/%s%04d' % (prefix, i)
        c.create(p, (p * (size // len(p) + 1)).encode()[:size])
else:
    for ch in sorted(c.get_children('/c')):
        d, st = c.get('/c/' + ch)
        print(ch, len(d))
c.stop()
EOP
	return "$tmp/c.py";
}

# A node with storage_file and the given storage settings.
sub storage_node
{
	my ($name, %storage) = @_;
	my $n = Corral::Test::Cluster->new($name);
	$n->init(modules => { storage_file => {%storage} });
	$ctl //= $n->build_dir . '/bin/corralctl';
	return $n;
}

# Runs the client script against $n; dies when it fails.
sub kazoo_c
{
	my ($n, @args) = @_;
	my ($rc, $out, $err) = run_command([ python3(), _script(), $n->address, @args ], timeout => 120);
	die "c.py @args: $err" if $rc;
	return $out;
}

# The znodes under /c, as "name size" lines.
sub listing { return kazoo_c($_[0], 'list'); }

# corralctl with these arguments: (exit code, stdout, stderr).
sub ctl { return run_command([ $ctl, @_ ], timeout => 60); }

# The records of the WAL in $dir, from wal-dump --json.
sub wal_records
{
	my ($dir) = @_;
	my ($rc, $out) = ctl('wal-dump', '--json', $dir);
	return grep { $_->{kind} eq 'record' } map { $json->decode($_) } split /\n/, $out;
}

# verify --json on $dir: (exit code, the decoded report).
sub verify_json
{
	my ($dir) = @_;
	my ($rc, $out) = ctl('verify', '--json', $dir);
	return ($rc, $json->decode($out));
}

# Writes $bytes at $off in $file.
sub patch
{
	my ($file, $off, $bytes) = @_;
	open(my $fh, '+<:raw', $file) or die "$file: $!";
	sysseek($fh, $off, 0);
	syswrite($fh, $bytes) == length $bytes or die "write $file: $!";
	close $fh;
}

# Inverts every bit of the byte at $off in $file.
sub flip_byte
{
	my ($file, $off) = @_;
	open(my $fh, '<:raw', $file) or die "$file: $!";
	sysseek($fh, $off, 0);
	sysread($fh, my $b, 1);
	close $fh;
	patch($file, $off, chr(ord($b) ^ 0xff));
}

# The listing (as `listing` prints it) that the create records of /c up to
# zxid $max_zxid make, from wal_records.
sub expected_listing
{
	my ($max_zxid, @recs) = @_;
	my @l;
	for my $r (@recs)
	{
		next unless $r->{type} eq 'create' && $r->{path} =~ m{^/c/(.+)$} && hex($r->{zxid}) <= $max_zxid;
		push @l, "$1 $r->{data_len}\n";
	}
	return join '', sort @l;
}

# The record with zxid $z among wal_records.
sub rec_at
{
	my ($z, @recs) = @_;
	my ($r) = grep { hex($_->{zxid}) == $z } @recs;
	return $r;
}

sub md5_of
{
	open(my $fh, '<:raw', $_[0]) or return '';
	return Digest::MD5->new->addfile($fh)->hexdigest;
}

1;
