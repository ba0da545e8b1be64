# regress/t/012_debian_package.t: `dpkg-buildpackage -us -uc -b` builds the
# corral and corral-dev packages (debian/), and what they hold works.
#
# Runs when dpkg-buildpackage, dh and fakeroot are installed (README's
# second command installs them), on a copy of the tree (git's files),
# without the package's own unit tests (nocheck: CI runs them).  The
# packages are unpacked into a scratch root (dpkg -x): the file lists, the
# conffile, the maintainer scripts (the corral user through sysusers, the
# data directory through tmpfiles), then the unpacked corrald serves a
# client with its unpacked modules, and its man pages render.  lintian, when
# installed, must report no error and no warning (the remaining tags are
# overridden with their reason: doc/operations.md, "The Debian package").
# Takes a few minutes: it compiles the whole tree once more.
use strict;
use warnings;

use File::Temp ();
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;

sub have { my ($p) = @_; return scalar grep { -x "$_/$p" } split /:/, $ENV{PATH} // ''; }
plan skip_all => 'dpkg-buildpackage, dh or fakeroot is not installed'
  unless have('dpkg-buildpackage') && have('dh') && have('fakeroot');

my $root = repo_root();
my $tmp  = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $src  = "$tmp/corral";
mkdir $src or die "$src: $!";

# The tree as git knows it (tracked and new files), without build outputs.
my ($rc, $files, $err) = run_command([ 'git', '-C', $root, 'ls-files', '-co', '--exclude-standard', '-z' ]);
plan skip_all => 'not a git checkout' if $rc != 0;
my @files = grep { !m{^(?:tmp_check|build[^/]*)/} && -f "$root/$_" } split /\0/, $files;
($rc, undef, $err) = run_command([ 'tar', '-C', $root, '--null', '-T', '-', '-cf', "$tmp/src.tar" ],
	stdin => join("\0", @files) . "\0");
is($rc, 0, 'the tree is copied') or diag($err);
run_command([ 'tar', '-C', $src, '-xf', "$tmp/src.tar" ]);

($rc, my $out, $err) = run_command([ 'sh', '-c', 'cd "$1" && exec dpkg-buildpackage -us -uc -b', 'sh', $src ], timeout => 1800,
	env => { DEB_BUILD_OPTIONS => 'nocheck parallel=2' });
is($rc, 0, 'dpkg-buildpackage -us -uc -b succeeds') or diag(substr("$out$err", -4000));
my ($version) = slurp_file("$root/debian/changelog") =~ /^corral \(([^)]+)\)/;
my ($arch) = (run_command([ 'dpkg', '--print-architecture' ]))[1] =~ /(\S+)/;
my $deb = "$tmp/corral_${version}_$arch.deb";
my $dev = "$tmp/corral-dev_${version}_$arch.deb";
ok(-s $deb, 'corral .deb is built');
ok(-s $dev, 'corral-dev .deb is built');

# ---- the file lists ------------------------------------------------------------
my $scratch = "$tmp/root";
for my $d ($deb, $dev) { run_command([ 'dpkg', '-x', $d, $scratch ]); }
my @server = qw(
  etc/corral/corral.yaml
  lib/systemd/system/corral.service lib/systemd/system/corral@.service
  usr/bin/corrald usr/bin/corralctl usr/bin/corral-cli
  usr/lib/sysusers.d/corral.conf usr/lib/tmpfiles.d/corral.conf
  usr/share/man/man8/corrald.8.gz usr/share/man/man1/corralctl.1.gz usr/share/man/man1/corral-cli.1.gz
  usr/share/man/man5/corral.yaml.5.gz usr/share/corral/standalone.yaml usr/share/doc/corral/copyright);
push @server, map { "usr/lib/corral/modules/$_.so" }
  qw(storage_file storage_memory auth_digest auth_ip auth_sasl fourlw metrics_prometheus admin_http);
my @kit = (qw(usr/bin/corral-config usr/lib/corral/corral-module.mk), map { "usr/include/corral/$_" }
	  map { s{.*/}{}r } glob("$root/include/corral/*.h"));
my ($c1, $list) = run_command([ 'dpkg-deb', '-c', $deb ]);
my ($c2, $list2) = run_command([ 'dpkg-deb', '-c', $dev ]);
my %in_server = map { m{\./(\S+)$} ? ($1 => 1) : () } split /\n/, $list;
my %in_kit    = map { m{\./(\S+)$} ? ($1 => 1) : () } split /\n/, $list2;
is_deeply([ grep { !$in_server{$_} } @server ], [], 'corral has the server, modules, tools, units, man pages');
is_deeply([ grep { !$in_kit{$_} } @kit ],       [], 'corral-dev has the headers, corral-config, the makefile fragment');
ok(!(grep { m{^usr/include/} } keys %in_server), 'no header in corral');

my ($c3, $conffiles) = run_command([ 'dpkg-deb', '-I', $deb, 'conffiles' ]);
is($conffiles, "/etc/corral/corral.yaml\n", '/etc/corral/corral.yaml is a conffile');
my ($c4, $control) = run_command([ 'dpkg-deb', '-f', $deb, 'Depends' ]);
like($control, qr/libsystemd0/, 'corral depends on libsystemd0 (sd_notify)');
my ($c5, $postinst) = run_command([ 'dpkg-deb', '-I', $deb, 'postinst' ]);
like($postinst, qr/systemd-sysusers.*corral\.conf.*systemd-tmpfiles.*corral\.conf.*deb-systemd-helper enable 'corral\.service'/s,
	'postinst: the user, then the data directory, then the service');

# sysusers and tmpfiles, applied to the scratch root as the postinst would.
SKIP:
{
	skip 'systemd-sysusers is not installed', 2 unless have('systemd-sysusers') && have('systemd-tmpfiles');
	mkdir "$scratch/var";
	my ($r1, $o1, $e1) = run_command([ 'systemd-sysusers', "--root=$scratch", 'corral.conf' ]);
	like(slurp_file("$scratch/etc/passwd") // '', qr{^corral:x:\d+:\d+:Corral coordination server:/var/lib/corral:}m,
		'sysusers: the corral system user') or diag($e1);
	my ($r2, $o2, $e2) = run_command([ 'systemd-tmpfiles', "--root=$scratch", '--create', 'corral.conf' ]);
	ok(-d "$scratch/var/lib/corral", 'tmpfiles: /var/lib/corral') or diag($e2);
}

# ---- what was unpacked runs ------------------------------------------------------
($rc, $out) = run_command([ "$scratch/usr/bin/corrald", '--version' ]);
like($out, qr/^corrald \Q$version\E \(module ABI \d+\)$/, 'the packaged corrald runs');
($rc, $out, $err) = run_command([ "$scratch/usr/bin/corrald", '--check-config', '-c', "$scratch/etc/corral/corral.yaml" ]);
is($rc, 0, '/etc/corral/corral.yaml is valid with the packaged modules') or diag($err);
like($err, qr{loaded module fourlw \S* from \Q$scratch\E/usr/bin/\.\./lib/corral/modules/fourlw\.so},
	'modules are found next to the binary, without module_path');

{
	my $node = Corral::Test::Cluster->new('pkg');
	$node->{build} = "$scratch/usr";    # bin/corrald of the package
	my $conf = slurp_file("$scratch/etc/corral/corral.yaml");
	$conf =~ s{^  data_dir: /var/lib/corral$}{  data_dir: ${\ $node->data_dir}}m;
	$conf =~ s{^  client_listen: 127\.0\.0\.1:2181$}{  client_listen: ${\ $node->address}}m;
	$node->write_config($conf);
	$node->start;
	is($node->fourlw('ruok'), 'imok', 'the packaged server with the packaged configuration answers ruok');
	my ($r, $o) = run_command([ "$scratch/usr/bin/corralctl", '-s', $node->address, 'srvr' ]);
	like($o, qr/^Mode: standalone$/m, 'the packaged corralctl talks to it');
	is($node->stop, 0, 'stopped cleanly');
}

SKIP:
{
	skip 'man is not installed', 4 unless have('man');
	for my $page (qw(man8/corrald.8 man1/corralctl.1 man1/corral-cli.1 man5/corral.yaml.5))
	{
		my ($r, $o, $e) = run_command([ 'man', '--warnings', '-l', "$scratch/usr/share/man/$page.gz" ],
			env => { MANWIDTH => 80, MANPAGER => 'cat', PAGER => 'cat' });
		is($e, '', "$page from the package renders without a warning");
	}
}

SKIP:
{
	skip 'lintian is not installed', 1 unless have('lintian');
	my ($r, $o, $e) = run_command([ 'lintian', '--fail-on', 'error,warning', "$tmp/corral_${version}_$arch.changes" ],
		timeout => 600);
	is($r, 0, 'lintian: no error, no warning') or diag("$o$e");
}

done_testing();
