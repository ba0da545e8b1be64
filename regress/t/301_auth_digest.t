# auth_digest: its primitives against the standards and Java, its settings,
# and what the ACL scenarios (300) do not cover.
#
# - SHA-1 against FIPS 180's examples and Perl's Digest::SHA (every length
#   around the block boundaries, fed in odd chunks), base64 against RFC 4648
#   section 10 and MIME::Base64; a small C driver is compiled from this file
#   with the module's own sha1.c;
# - the Java UTF-8 replacement (java_utf8.c) against the installed Java's
#   new String(bytes, UTF_8).getBytes(UTF_8) on random byte strings;
# - ZooKeeper's generateDigest from Java for the documentation's examples;
# - super_digest validation (FILE:LINE:COLUMN), a super user of another
#   name, credentials holding a NUL byte.
use strict;
use warnings;

use Digest::SHA qw(sha1_hex sha1_base64);
use File::Temp ();
use MIME::Base64 qw(encode_base64);
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

my $root = repo_root();
my $mod  = "$root/src/modules/auth_digest";
my $tmp  = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $cc   = $ENV{CC} // 'cc';

# ---- SHA-1 and base64 ----------------------------------------------------------
write_file("$tmp/drv.c", <<'EOC');
/* reads lines "CHUNK HEX": prints "SHA1HEX BASE64" of the bytes, hashed by
 * sha1_update calls of CHUNK bytes (0: one sha1() call) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sha1.h"
int main(void)
{
    static char line[1 << 21];
    static unsigned char in[1 << 20];
    static char b64[BASE64_LEN(1 << 20)];
    while (fgets(line, sizeof line, stdin)) {
        size_t chunk = strtoul(line, NULL, 10), n = 0;
        char *h = strchr(line, ' ') + 1;
        for (; h[0] && h[0] != '\n'; h += 2) {   /* no sscanf: it strlen()s the line */
            char pair[3] = {h[0], h[1], 0};
            in[n++] = (unsigned char)strtoul(pair, NULL, 16);
        }
        uint8_t d[SHA1_LEN];
        if (chunk == 0) {
            sha1(in, n, d);
        } else {
            Sha1 s;
            sha1_init(&s);
            for (size_t i = 0; i < n; i += chunk)
                sha1_update(&s, in + i, n - i < chunk ? n - i : chunk);
            sha1_final(&s, d);
        }
        for (int i = 0; i < SHA1_LEN; i++)
            printf("%02x", d[i]);
        base64_encode(in, n, b64);
        printf(" %s\n", b64);
    }
    return 0;
}
EOC
my ($rc, $out, $err) = run_command([ $cc, '-std=gnu11', '-O1', '-Wall', '-Werror', "-I$mod", '-o', "$tmp/drv",
	"$tmp/drv.c", "$mod/sha1.c" ]);
is($rc, 0, 'the SHA-1/base64 driver compiles with the module\'s sha1.c') or diag($err);

sub drv
{
	my (@cases) = @_;    # [chunk, bytes]
	my $in = join('', map { "$_->[0] " . unpack('H*', $_->[1]) . "\n" } @cases);
	my ($c, $o, $e) = run_command([ "$tmp/drv" ], stdin => $in, timeout => 60);
	die "driver failed: $e" if $c;
	return map { [ split / / ] } split /\n/, $o;
}

# FIPS 180-2 appendix A (and the empty message).
my @fips = (
	[ 'abc', 'a9993e364706816aba3e25717850c26c9cd0d89d' ],
	[ 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1' ],
	[ 'a' x 1000000, '34aa973cd4c4daa4f61eeb2bdbad27316534016f' ],
	[ '', 'da39a3ee5e6b4b0d3255bfef95601890afd80709' ]);
for my $chunk (0, 1, 63, 64, 1000)
{
	my @r = drv(map { [ $chunk, $_->[0] ] } @fips);
	is_deeply([ map { $_->[0] } @r ], [ map { $_->[1] } @fips ], "FIPS 180 examples (chunks of $chunk)");
}

# Every length from 0 to 300 (all the padding cases), random bytes.
srand(180);
my @msgs = map { my $l = $_; join('', map { chr(int(rand(256))) } 1 .. $l) } 0 .. 300;
for my $chunk (0, 7, 55, 56, 64)
{
	my @r = drv(map { [ $chunk, $_ ] } @msgs);
	my @bad = grep { $r[$_][0] ne sha1_hex($msgs[$_]) } 0 .. $#msgs;
	is("@bad", '', "SHA-1 of lengths 0..300 is Digest::SHA's (chunks of $chunk)");
}

# RFC 4648 section 10.
my %rfc = ('' => '', f => 'Zg==', fo => 'Zm8=', foo => 'Zm9v', foob => 'Zm9vYg==', fooba => 'Zm9vYmE=',
	foobar => 'Zm9vYmFy');
my @k = sort keys %rfc;
my @r = drv(map { [ 0, $_ ] } @k);
is_deeply([ map { $_->[1] // '' } @r ], [ map { $rfc{$_} } @k ], 'base64: RFC 4648 test vectors');
@r = drv(map { [ 0, $_ ] } @msgs);
my @bad = grep { ($r[$_][1] // '') ne encode_base64($msgs[$_], '') } 0 .. $#msgs;
is("@bad", '', 'base64 of lengths 0..300 is MIME::Base64\'s');

# ---- Java's view -------------------------------------------------------------------
my $java   = $ENV{CORRAL_JAVA} // '/usr/bin/java';
my $zk_jar = '/usr/share/java/zookeeper.jar';
my $cp     = join(':', $zk_jar, '/usr/share/java/slf4j-api.jar', '/usr/share/java/slf4j-nop.jar');
SKIP:
{
	skip 'Java or the ZooKeeper jar is missing', 3 unless -x $java && -r $zk_jar;

	# java_utf8.c against Java, on random short byte strings rich in
	# UTF-8 lead and continuation bytes.
	write_file("$tmp/J.java", <<'EOJ');
import java.io.*;
import java.nio.charset.StandardCharsets;
public class J {
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
    StringBuilder sb = new StringBuilder(); String line;
    while ((line = r.readLine()) != null) {
      int n = line.length() / 2; byte[] b = new byte[n];
      for (int i = 0; i < n; i++) b[i] = (byte) Integer.parseInt(line.substring(2 * i, 2 * i + 2), 16);
      for (byte x : new String(b, StandardCharsets.UTF_8).getBytes(StandardCharsets.UTF_8))
        sb.append(String.format("%02x", x & 0xff));
      sb.append('\n');
    }
    System.out.print(sb);
  }
}
EOJ
	write_file("$tmp/u.c", <<'EOC');
#include <stdio.h>
#include <string.h>
#include "java_utf8.h"
int main(void)
{
    char line[256];
    unsigned char in[128], out[400];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strcspn(line, "\n") / 2;
        for (size_t i = 0; i < n; i++) {
            unsigned v;
            sscanf(line + 2 * i, "%2x", &v);
            in[i] = (unsigned char)v;
        }
        size_t o = java_utf8_sanitize(in, n, out);
        for (size_t i = 0; i < o; i++)
            printf("%02x", out[i]);
        printf("\n");
    }
    return 0;
}
EOC
	($rc, $out, $err) = run_command([ $cc, '-std=gnu11', '-O1', "-I$mod", '-o', "$tmp/u", "$tmp/u.c",
		"$mod/java_utf8.c" ]);
	die "u.c: $err" if $rc;
	my @v = (0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
		0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff);
	srand(8);
	my $in = join('', map { join('', map { sprintf('%02x', $v[ int(rand(@v)) ]) } 1 .. int(rand(8))) . "\n" }
		  1 .. 30000);
	my ($jrc, $jout, $jerr) = run_command([ $java, "$tmp/J.java" ], stdin => $in, timeout => 120);
	is($jrc, 0, 'the Java side ran') or diag($jerr);
	my ($crc, $cout) = run_command([ "$tmp/u" ], stdin => $in);
	my @j = split /\n/, $jout, -1;
	my @c = split /\n/, $cout, -1;
	my @i = split /\n/, $in, -1;
	my @diff = grep { ($j[$_] // '') ne ($c[$_] // '') } 0 .. $#i;
	is(scalar(@diff), 0, 'invalid UTF-8 is replaced exactly as Java 17 does (30000 random strings)')
	  or diag(join("\n", map { "in $i[$_]: java $j[$_], corral $c[$_]" } @diff[ 0 .. ($#diff < 9 ? $#diff : 9) ]));

	# generateDigest for the examples doc/auth.md shows
	my ($grc, $gout) = run_command([ $java, '-cp', $cp,
		'org.apache.zookeeper.server.auth.DigestAuthenticationProvider', 'super:secret', 'super:test',
		'bob:secret' ], timeout => 60);
	is($gout, "super:secret->super:lK75jTNcA+U9vtVEw5vB51mj/w4=\nsuper:test->super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
		  . "bob:secret->bob:fyVmFCwVbTJYrznoSu1koqYEYF0=\n", 'ZooKeeper\'s generateDigest of the documented examples');
}

# ---- settings ------------------------------------------------------------------------
my $node = Corral::Test::Cluster->new('digest');
for my $case (
	[ 'plain password', '"super:secret"' ],
	[ 'no user', '"lK75jTNcA+U9vtVEw5vB51mj/w4="' ],
	[ 'short digest', '"super:lK75jTNcA+U9vtVEw5vB51mj/w4"' ],
	[ 'not base64', '"super:lK75jTNcA+U9vtVEw5vB51mj*w4="' ])
{
	my ($name, $value) = @$case;
	$node->write_config(<<"EOY");
server: { data_dir: @{[ $node->data_dir ]}, client_listen: @{[ $node->address ]} }
modules:
  auth_digest:
    super_digest: $value
EOY
	my ($crc, undef, $cerr) = $node->run_corrald('--check-config', '-c', $node->config_file);
	is($crc, 2, "super_digest $name: exit code 2");
	like($cerr, qr/\Q@{[ $node->config_file ]}\E:4:19: "super_digest" must be "USER:DIGEST"/,
		"super_digest $name: reported at its value");
}
$node->write_config(<<"EOY");
server: { data_dir: @{[ $node->data_dir ]}, client_listen: @{[ $node->address ]} }
modules:
  auth_digest: { superdigest: x }
EOY
my ($crc, undef, $cerr) = $node->run_corrald('--check-config', '-c', $node->config_file);
is($crc, 2, 'an unknown key: exit code 2');
like($cerr, qr/:3:18: unknown key "superdigest"/, 'an unknown key is reported at its place') or diag($cerr);

# ---- the server side --------------------------------------------------------------------
SKIP:
{
	skip 'python3-kazoo is not installed', 6 unless have_kazoo();
	# A super user need not be called "super" (ZooKeeper compares the whole
	# generated digest).
	$node->init(modules => { auth_digest => { super_digest => 'admin:' . sha1_base64('admin:pw') . '=' } });
	$node->start;
	my $py = <<'EOP';
import sys
sys.path.insert(0, sys.argv[2])
from kazoo.client import KazooClient
from kazoo.security import ACL, Id
import zkcommon as zc
from acl_scenarios import AuthRaw
def cli(*auth):
    c = KazooClient(sys.argv[1], connection_retry={'max_tries': 0}); c.start(10)
    for a in auth: c.add_auth(*a)
    return c
def call(c, req):
    ar = c.handler.async_result(); c._call(req, ar); return ar.get(timeout=10)
a = cli()
a.create('/locked', b'x', acl=[ACL(0, Id('world', 'anyone'))])
s = cli(('digest', 'admin:pw'))
print('admin get', s.get('/locked')[0])
print('admin whoami', sorted(call(s, zc.WhoAmI())))
s2 = cli(('digest', 'super:pw'))
try: s2.get('/locked'); print('super:pw get ok')
except Exception as e: print('super:pw get', type(e).__name__)
n = cli()
try: print('nul addauth', call(n, AuthRaw('digest', b'bob\x00:secret')))
except Exception as e: print('nul addauth', type(e).__name__)
EOP
	write_file("$tmp/srv.py", $py);
	my ($prc, $pout, $perr) = run_command([ python3(), "$tmp/srv.py", $node->address, "$root/regress/clients" ],
		timeout => 60);
	is($prc, 0, 'server checks ran') or diag($perr);
	like($pout, qr/^admin get b'x'$/m, 'a super_digest of another name gives super rights');
	like($pout, qr/^admin whoami \[\('digest', 'admin'\), \('ip', '127\.0\.0\.1'\), \('super', ''\)\]$/m,
		'it holds ("super", "") as well as its digest id (whoAmI shows the user name)');
	like($pout, qr/^super:pw get NoAuthError$/m, 'the name "super" alone gives nothing');
	like($pout, qr/^nul addauth AuthFailedError$/m, 'credentials holding a NUL byte: AuthFailed (doc/auth.md)');
	ok($node->log_contains(qr/refusing digest credentials from 127\.0\.0\.1: they hold a NUL byte/),
		'and the refusal is logged');
	$node->stop;
}

done_testing();
