# regress/t/642_storage_gone.t: storage that disappears under a running
# server (issue #13, doc/storage.md "Storage that disappears"): after an
# `rm -rf` of the data directory, nothing more is acknowledged: the write in
# flight is never answered, the WAL writer notices within a second even when
# idle (ERROR "storage lost: ..."), later writes are refused (NotReadOnly),
# reads still work (so the data can be read out), and close says what was
# not written.  Also a data directory moved away (mv) is noticed.
use strict;
use warnings;

use File::Path qw(remove_tree);
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::Storage;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

plan skip_all => 'python3-kazoo is not installed' unless have_kazoo();
plan skip_all => 'the storage_file module is not built'
  unless -e Corral::Test::Cluster->new('probe')->modules_dir . '/storage_file.so';

my $tmp = File::Temp::tempdir('642_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
# Two sessions, opened while the storage is there (a new session is a
# transaction too, and nothing is acknowledged once it is gone): the first
# creates /before, waits for $tmp/go, tries /after (3 s; its session then
# waits behind it, as ZooKeeper orders a session's requests); the second,
# once $tmp/lost exists, tries /later (3 s).  Reads are not answered either:
# every reply waits behind the unacknowledged /after (a read never shows a
# write a crash could lose); the admin snapshot command streams the state.
write_file("$tmp/w.py", <<'EOP');
import sys, os, time, logging
logging.disable(logging.CRITICAL)
from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.handlers.threading import KazooTimeoutError
c = KazooClient(sys.argv[1], timeout=30); c.start(10)
r = KazooClient(sys.argv[1], timeout=30); r.start(10)
tmp = sys.argv[2]
def wait_for(f):
    while not os.path.exists(f):
        time.sleep(0.05)
def create(p, t, c=c):
    try:
        c.create_async(p, b'x').get(timeout=t)
        return 'ok'
    except NotReadOnlyCallError:
        return 'NotReadOnly'
    except KazooTimeoutError:
        return 'timeout'
print(create('/before', 5), flush=True)
wait_for(tmp + '/go')
print(create('/after', 3), flush=True)
wait_for(tmp + '/lost')
print(create('/later', 3, r), flush=True)
os._exit(0)     # no closeSession: it would wait for the storage too
EOP

for my $how ('rm', 'mv')
{
	my $n = storage_node("gone_$how");
	$n->start;
	kazoo_c($n, 'create', 'a', 10, 100);
	unlink "$tmp/go", "$tmp/lost";
	open(my $py, '-|', python3(), "$tmp/w.py", $n->address, $tmp) or die "python3: $!";
	my $line = <$py>;
	is($line, "ok\n", "$how: a write before");
	my $dir = $n->data_dir;
	my $pos = $n->log_position;
	if ($how eq 'rm') { remove_tree($dir); ok(!-e $dir, 'rm: the data directory is gone') }
	else { rename($dir, "$dir.moved") or die "mv: $!"; ok(-d "$dir.moved", 'mv: the data directory is moved away') }
	# At once: the group commit (or the idle check, if it came first) finds
	# the storage gone and does not acknowledge.
	write_file("$tmp/go", '');
	$line = <$py>;
	isnt($line, "ok\n", "$how: the write right after is not acknowledged (" . ($line // 'EOF') =~ s/\n//r . ')');
	ok(wait_until(sub { $n->log_contains(qr/ERROR \[storage\] storage lost: /, $pos) }, 10), "$how: storage lost is logged");
	my $what = $how eq 'rm' ? qr/(WAL segment \S+ was removed|directory \S+ was removed or replaced under the running server)/
	  : qr/directory \Q$dir\E was removed or replaced under the running server/;
	ok($n->log_contains(qr/storage lost: $what; nothing more is acknowledged/, $pos), "$how: the log says what is gone");
	ok($n->log_contains(qr/WARN \[server\] refusing writes \(NotReadOnly\) until this clears: storage lost: /, $pos),
		"$how: the core refuses writes");
	write_file("$tmp/lost", '');
	$line = <$py>;
	close $py;
	isnt($line, "ok\n", "$how: a later write in another session is not acknowledged either");
	my ($rc, $out) = ctl('-s', $n->address, 'ruok');
	is($out, 'imok', "$how: the server is still up");
	$pos = $n->log_position;
	is($n->stop, 0, "$how: clean stop");
	ok($n->log_contains(qr/closing with the storage gone: the transactions after zxid 0x[0-9a-f]+ were not written \(never acknowledged\)/, $pos),
		"$how: close says what was not written");
	if ($how eq 'mv')
	{
		rename("$dir.moved", $dir) or die "mv back: $!";
		$n->start;
		like(listing($n), qr/^a0009 100$/m, 'mv: moved back, the data acknowledged before is there');
		$n->stop;
	}
}

# ---- exit_on_storage_lost: the server exits at once -----------------------------
{
	my $n = storage_node('gone_exit', exit_on_storage_lost => 'true');
	$n->start;
	kazoo_c($n, 'create', 'a', 3, 10);
	my $pos = $n->log_position;
	remove_tree($n->data_dir);
	ok(wait_until(sub { !$n->is_running }, 10), 'exit: the server exits within the idle check');
	ok($n->log_contains(qr/FATAL \[server\] storage failed: storage lost: .* was removed.*; exiting without acknowledging more \(exit_on_storage_lost\)/, $pos),
		'exit: with a FATAL line that says why');
	$n->stop;
}

done_testing();
