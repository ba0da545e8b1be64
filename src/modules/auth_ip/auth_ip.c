/*
 * src/modules/auth_ip/auth_ip.c: the "ip" auth scheme, as ZooKeeper 3.8's
 * IPAuthenticationProvider.
 *
 *     modules:
 *       auth_ip: {}                 # or { ipv6: false } for 3.8's exact rules
 *
 * Every connection holds ("ip", its peer address): the core adds it when
 * the connection opens, as ZooKeeper's ServerCnxn does.  An ACL id is an
 * address, optionally followed by "/BITS": "10.0.0.0/8", "127.0.0.1".  It
 * matches when the first BITS bits of both addresses are equal.
 *
 * The IPv4 rules are ZooKeeper's, character for character:
 * - the address splits on '.' into exactly four fields (Java's
 *   split("\\.", -1): empty fields count, so "1.2.3." and "1..2.3" fail);
 * - each field is a Java Integer.parseInt (optional '+' or '-' sign, at
 *   least one digit, leading zeros allowed: "010" is 10, "+1" is 1, "-0" is
 *   0) in 0..255;
 * - BITS (after the first '/') is parsed the same way and must be in
 *   0..32; "1.2.3.4/" is invalid;
 * - isAuthenticated is false: ip ids do not satisfy the `auth` scheme.
 *
 * IPv6 (an address holding ':', in any form inet_pton accepts; BITS in
 * 0..128) is an extension: ZooKeeper 3.8's provider has only
 * v4addr2Bytes ("TODO Write the v6addr2Bytes") and refuses such ACLs with
 * InvalidACL.  `ipv6: false` restores that.  A client connected over IPv6
 * with an IPv4-mapped address (::ffff:a.b.c.d) matches IPv4 ACLs, as Java
 * reports such peers as IPv4 addresses; a zone suffix (%eth0) is ignored.
 *
 * addauth("ip", anything) gives the connection its own address again
 * (handleAuthentication ignores the data), which it already holds.
 *
 * Differences (doc/auth.md): Java's parseInt also takes non-ASCII decimal
 * digits (U+0660..), this module only ASCII ones.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "corral/module.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "auth_ip", .version = CORRAL_VERSION);

typedef struct IpConf {
    int ipv6;
} IpConf;

static const CorralConfigKey conf_keys[] = {
    {"ipv6", CORRAL_KEY_BOOL, offsetof(IpConf, ipv6), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static IpConf conf = {1};

/* Java's Integer.parseInt on s[0..n), for values that only matter up to
 * a few hundred: returns 0 and the value (saturated at 100000) in *out, or
 * -1 where Java throws NumberFormatException. */
static int java_parse_int(const char *s, size_t n, long *out)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;   /* "", "+", "-" */
    long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v < 100000)
            v = v * 10 + (s[i] - '0');
    }
    /* Saturation keeps out-of-int values (which Java rejects) out of
     * range too, so the callers' range checks refuse them either way. */
    *out = neg ? -v : v;
    return 0;
}

/* IPAuthenticationProvider.v4addr2Bytes on s[0..n). */
static int v4_bytes(const char *s, size_t n, uint8_t b[4])
{
    size_t start = 0;
    int field = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (field == 4)
            return -1;   /* a fifth field */
        long v;
        if (java_parse_int(s + start, i - start, &v) < 0 || v < 0 || v > 255)
            return -1;
        b[field++] = (uint8_t)v;
        start = i + 1;
    }
    return field == 4 ? 0 : -1;
}

/* An address in s[0..n): 4 bytes (IPv4) or 16 (IPv6); returns the length
 * or -1.  `held` marks a connection's own address (zone and mapped forms). */
static int addr_bytes(const char *s, size_t n, uint8_t b[16], int held)
{
    if (!memchr(s, ':', n))
        return v4_bytes(s, n, b) == 0 ? 4 : -1;
    if ((!conf.ipv6 && !held) || n >= INET6_ADDRSTRLEN + 16)
        return -1;
    char tmp[INET6_ADDRSTRLEN + 16];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (held) {
        char *pct = strchr(tmp, '%');
        if (pct)
            *pct = '\0';
    }
    struct in6_addr a;
    if (inet_pton(AF_INET6, tmp, &a) != 1)
        return -1;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (held && memcmp(a.s6_addr, mapped, 12) == 0) {
        memcpy(b, a.s6_addr + 12, 4);
        return 4;
    }
    if (!conf.ipv6)
        return -1;
    memcpy(b, a.s6_addr, 16);
    return 16;
}

/* IPAuthenticationProvider.mask */
static void mask(uint8_t *b, int len, long bits)
{
    int start = (int)(bits / 8);
    int start_mask = ~((1 << (8 - (bits % 8))) - 1);
    for (; start < len; start++) {
        b[start] &= (uint8_t)start_mask;
        start_mask = 0;
    }
}

/* Parses an ACL expression: address and prefix length.  Returns the
 * address length or -1 (isValid's false). */
static int parse_acl(const char *expr, uint8_t b[16], long *bits)
{
    const char *slash = strchr(expr, '/');
    size_t alen = slash ? (size_t)(slash - expr) : strlen(expr);
    int len = addr_bytes(expr, alen, b, 0);
    if (len < 0)
        return -1;
    *bits = len * 8;
    if (slash && (java_parse_int(slash + 1, strlen(slash + 1), bits) < 0 || *bits < 0 || *bits > len * 8))
        return -1;
    return len;
}

static int ip_matches(void *arg, const char *held, const char *acl_id)
{
    uint8_t acl[16], remote[16];
    long bits;
    int len = parse_acl(acl_id, acl, &bits);
    if (len < 0)
        return 0;
    mask(acl, len, bits);
    int rlen = addr_bytes(held, strlen(held), remote, 1);
    if (rlen < 0)
        return 0;
    if (rlen != len) {
        /* an IPv4 client against an IPv6 ACL: compare as ::ffff:a.b.c.d */
        if (rlen != 4)
            return 0;
        uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(m + 12, remote, 4);
        memcpy(remote, m, 16);
        rlen = 16;
    }
    mask(remote, rlen, bits);
    return memcmp(remote, acl, (size_t)len) == 0;
}

static int ip_is_valid(void *arg, const char *acl_id)
{
    uint8_t b[16];
    long bits;
    return parse_acl(acl_id, b, &bits) >= 0;
}

static int ip_is_authenticated(void *arg) { return 0; }

static int ip_authenticate(void *arg, const CorralAuthClient *client, const void *data, size_t len,
                           CorralAuthAddId add, void *add_ctx)
{
    add(add_ctx, "ip", client->peer_ip);
    return 0;
}

static const CorralAuthScheme ip_scheme = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralAuthScheme),
    .scheme = "ip",
    .authenticate = ip_authenticate,
    .matches = ip_matches,
    .is_valid = ip_is_valid,
    .is_authenticated = ip_is_authenticated,
};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    conf.ipv6 = 1;
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    return corral_register_auth(self, &ip_scheme) < 0 ? -1 : 0;
}
