# regress/t/611_crash_kill9_snapshots.t: 610_crash_kill9.t again, with a
# snapshot every 200 transactions (modules.storage_file.snapshot_every_txns),
# so that kill -9 lands during snapshots and retention too, and recovery goes
# through a snapshot then the WAL after it.  The test itself, its writers and
# its checker are those of 610_crash_kill9.t.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;

our $CRASH_SNAPSHOTS = 1;
my $file = File::Spec->rel2abs(dirname(__FILE__) . '/610_crash_kill9.t');
my $rc = do $file;
die "$file: $@" if $@;
die "$file: $!" unless defined $rc;
