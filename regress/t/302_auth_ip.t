# auth_ip: ZooKeeper 3.8's IPv4 rules, exactly, and the IPv6 extension.
#
# - isValid and matches, compiled from the module's source with stubs for
#   the core, against the installed ZooKeeper's IPAuthenticationProvider on
#   20000 random expressions (ipv6: false, i.e. ZooKeeper's own rules);
# - the extension: IPv6 expressions and prefixes, IPv4-mapped and scoped
#   peer addresses, unit-checked through the same harness;
# - live, on [::1]: a client's ip identity, ACLs naming ::1 and prefixes,
#   and `ipv6: false` giving ZooKeeper's InvalidACL;
# - the module's settings.
use strict;
use warnings;

use File::Temp ();
use IO::Socket::IP;
use Test::More;
use Corral::Test::Cluster;
use Corral::Test::Utils;
use Corral::Test::ZooKeeper qw(python3 have_kazoo);

my $root = repo_root();
my $tmp  = File::Temp::tempdir(test_name() . '_XXXX', DIR => tmp_check_dir(), CLEANUP => 1);
my $cc   = $ENV{CC} // 'cc';

# ---- the module's functions, with the core stubbed out -------------------------
write_file("$tmp/h.c", <<'EOC');
/* stdin: "V6FLAG\tHELD\tEXPR" lines; stdout: "<isValid><matches>" */
#include "corral/module.h"
#include <stdio.h>
int corral_register_auth(CorralModule *m, const CorralAuthScheme *s) { return 0; }
int corral_config_apply(const CorralConfig *map, const CorralConfigKey *keys, void *base) { return 0; }
#include "auth_ip.c"
int main(void)
{
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        char *held = strchr(line, '\t'), *expr;
        if (!held || !(expr = strchr(held + 1, '\t')))
            return 2;
        *held++ = 0;
        *expr++ = 0;
        conf.ipv6 = line[0] == '1';
        printf("%d%d\n", ip_is_valid(NULL, expr), ip_matches(NULL, held, expr));
    }
    return 0;
}
EOC
my ($rc, $out, $err) = run_command([ $cc, '-std=gnu11', '-D_GNU_SOURCE', '-O1', "-I$root/include",
	"-I$root/src/modules/auth_ip", '-o', "$tmp/h", "$tmp/h.c" ]);
is($rc, 0, 'the harness compiles with the module\'s auth_ip.c') or diag($err);

sub harness
{
	my (@cases) = @_;    # [v6flag, held, expr]
	my ($c, $o, $e) = run_command([ "$tmp/h" ], stdin => join('', map { join("\t", @$_) . "\n" } @cases));
	die "harness: $e" if $c;
	return split /\n/, $o;
}

my $java   = $ENV{CORRAL_JAVA} // '/usr/bin/java';
my $zk_jar = '/usr/share/java/zookeeper.jar';
SKIP:
{
	skip 'Java or the ZooKeeper jar is missing', 1 unless -x $java && -r $zk_jar;
	write_file("$tmp/IpJ.java", <<'EOJ');
import java.io.*;
import org.apache.zookeeper.server.auth.IPAuthenticationProvider;
public class IpJ {
  public static void main(String[] a) throws Exception {
    IPAuthenticationProvider p = new IPAuthenticationProvider();
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
    StringBuilder sb = new StringBuilder(); String line;
    while ((line = r.readLine()) != null) {
      String[] f = line.split("\t", -1);
      sb.append(p.isValid(f[2]) ? 1 : 0).append(p.matches(f[1], f[2]) ? 1 : 0).append('\n');
    }
    System.out.print(sb);
  }
}
EOJ
	srand(302);
	my @tok = ('1', '2', '10', '127', '0', '00', '010', '255', '256', '-0', '+1', '-1', '', '1a', ' 1',
		'99999999999', '+', '-', '3', '::1', 'ff');
	my @bits = ('0', '1', '7', '8', '9', '15', '16', '24', '31', '32', '33', '-0', '+8', '', 'x', '8/1', '008',
		'128');
	my $addr = sub { join('.', map { $tok[ int(rand(@tok)) ] } 1 .. (3, 4, 4, 4, 4, 5)[ int(rand(6)) ]) };
	my @cases;
	for (1 .. 20000)
	{
		my $held = ('127.0.0.1', '10.1.2.3', '127.0.0.2', '10.0.0.1', '0.0.0.0', $addr->())[ int(rand(6)) ];
		my $e = $addr->();
		$e .= '/' . $bits[ int(rand(@bits)) ] if rand() < 0.6;
		push @cases, [ 0, $held, $e ];
	}
	my $in = join('', map { join("\t", @$_) . "\n" } @cases);
	my ($jrc, $jout, $jerr) = run_command([ $java, '-cp', $zk_jar, "$tmp/IpJ.java" ], stdin => $in,
		timeout => 120);
	die "java: $jerr" if $jrc;
	my @j = split /\n/, $jout;
	my @c = harness(@cases);
	my @diff = grep { $j[$_] ne $c[$_] } 0 .. $#cases;
	is(scalar(@diff), 0, 'isValid and matches are ZooKeeper\'s on 20000 random IPv4 expressions')
	  or diag(join("\n", map { "held $cases[$_][1] expr '$cases[$_][2]': zookeeper $j[$_], corral $c[$_]" }
		  @diff[ 0 .. ($#diff < 9 ? $#diff : 9) ]));
}

# The extension, case by case: [v6, held, expr, isValid.matches, why]
my @ext = (
	[ 1, '::1',             '::1',             '11', 'IPv6 address' ],
	[ 1, '::1',             '::1/128',         '11', '/128' ],
	[ 1, '::1',             '::/0',            '11', '/0' ],
	[ 1, '::1',             '::2',             '10', 'another address' ],
	[ 1, '::1',             '::/127',          '11', '/127 holds ::1' ],
	[ 1, '::2',             '::/127',          '10', '/127 does not hold ::2' ],
	[ 1, '::1',             '::1/129',         '00', 'more than 128 bits' ],
	[ 1, '::1',             '::1/-1',          '00', 'negative bits' ],
	[ 1, '::1',             '::1/',            '00', 'empty bits' ],
	[ 1, 'fe80::1%eth0',    'fe80::/10',       '11', 'a scoped peer address matches without its zone' ],
	[ 1, '2001:db8::5',     '2001:db8::/32',   '11', 'a /32' ],
	[ 1, '2001:db9::5',     '2001:db8::/32',   '10', 'outside the /32' ],
	[ 1, '2001:db8::5',     '2001:0db8:0:0::/+32', '11', 'long forms and a + sign' ],
	[ 1, '::1',             '::1%eth0',        '00', 'no zone in an ACL' ],
	[ 1, '::1',             ':::1',            '00', 'not an address' ],
	[ 1, '::ffff:127.0.0.1', '127.0.0.0/8',    '11', 'an IPv4-mapped peer is IPv4' ],
	[ 1, '::ffff:127.0.0.1', '::ffff:127.0.0.1', '11', 'and matches its mapped form' ],
	[ 1, '127.0.0.1',       '::ffff:127.0.0.0/104', '11', 'an IPv4 peer against a mapped IPv6 prefix' ],
	[ 1, '127.0.0.1',       '::1',             '10', 'IPv4 peer, IPv6 ACL' ],
	[ 1, '::1',             '127.0.0.1',       '10', 'IPv6 peer, IPv4 ACL' ],
	[ 0, '::1',             '::1',             '00', 'ipv6: false refuses IPv6 ACLs (ZooKeeper 3.8)' ],
	[ 0, '::ffff:10.1.2.3', '10.0.0.0/8',      '11', 'ipv6: false still sees mapped peers as IPv4' ],
	[ 0, '::1',             '0.0.0.0/0',       '10', 'ipv6: false: an IPv6 peer matches no IPv4 ACL' ],
);
my @got = harness(map { [ @$_[ 0 .. 2 ] ] } @ext);
is($got[$_], $ext[$_][3], "$ext[$_][4] ($ext[$_][1] vs $ext[$_][2])") for 0 .. $#ext;

# ---- settings ---------------------------------------------------------------------
my $node = Corral::Test::Cluster->new('ip');
$node->write_config(<<"EOY");
server: { data_dir: @{[ $node->data_dir ]}, client_listen: @{[ $node->address ]} }
modules:
  auth_ip: { ipv6: maybe }
EOY
my ($crc, undef, $cerr) = $node->run_corrald('--check-config', '-c', $node->config_file);
is($crc, 2, 'ipv6: maybe: exit code 2');
like($cerr, qr/\Q@{[ $node->config_file ]}\E:3:20: "ipv6" must be true or false/, 'ipv6: maybe: reported at its value') or diag($cerr);

# ---- live, over IPv6 -------------------------------------------------------------
SKIP:
{
	skip 'python3-kazoo is not installed', 4 unless have_kazoo();
	my $s = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0, Listen => 1);
	skip 'no IPv6 loopback here', 4 unless $s;
	my $port = $s->sockport;
	close $s;
	write_file("$tmp/v6.py", <<'EOP');
import sys
sys.path.insert(0, sys.argv[2])
from kazoo.client import KazooClient
from kazoo.security import ACL, Id
import zkcommon as zc
c = KazooClient(sys.argv[1], connection_retry={'max_tries': 0}); c.start(10)
ar = c.handler.async_result(); c._call(zc.WhoAmI(), ar)
print('whoami', ar.get(timeout=10))
for i, e in enumerate(['::1', '::1/128', '::/0', '::2', 'fe80::/10', '::1/129', '127.0.0.1', '0.0.0.0/0']):
    try:
        c.create('/v%d' % i, b'x', acl=[ACL(1, Id('ip', e))])
    except Exception as ex:
        print(e, 'create', type(ex).__name__); continue
    try:
        c.get('/v%d' % i); print(e, 'read')
    except Exception as ex:
        print(e, 'get', type(ex).__name__)
EOP
	for my $v6 ('true', 'false')
	{
		my $n6 = Corral::Test::Cluster->new("v6$v6");
		$n6->init(server => { client_listen => "[::1]:$port" },
			modules => ordered(auth_ip => { ipv6 => $v6 }));
		$n6->start;
		my ($prc, $pout, $perr) = run_command([ python3(), "$tmp/v6.py", "[::1]:$port",
			"$root/regress/clients" ], timeout => 60);
		my $exp = $v6 eq 'true'
		  ? "whoami [('ip', '::1')]\n::1 read\n::1/128 read\n::/0 read\n::2 get NoAuthError\n"
		  . "fe80::/10 get NoAuthError\n::1/129 create InvalidACLError\n127.0.0.1 get NoAuthError\n"
		  . "0.0.0.0/0 get NoAuthError\n"
		  : "whoami [('ip', '::1')]\n::1 create InvalidACLError\n::1/128 create InvalidACLError\n"
		  . "::/0 create InvalidACLError\n::2 create InvalidACLError\nfe80::/10 create InvalidACLError\n"
		  . "::1/129 create InvalidACLError\n127.0.0.1 get NoAuthError\n0.0.0.0/0 get NoAuthError\n";
		is($prc, 0, "ipv6: $v6: the client ran") or diag($perr);
		is($pout, $exp, $v6 eq 'true' ? 'ipv6: true: IPv6 ACLs and prefixes match an IPv6 client'
			: 'ipv6: false: IPv6 ACLs are InvalidACL, as in ZooKeeper 3.8');
		$n6->stop;
	}
}

done_testing();
