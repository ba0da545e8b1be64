/*
 * src/modules/auth_x509/auth_x509.c: the "x509" auth scheme, as ZooKeeper
 * 3.8's X509AuthenticationProvider.
 *
 *     modules:
 *       auth_x509: { super_user: "CN=admin,O=Example" }   # super_user optional
 *
 * A client that connects on server.secure_client_listen with a certificate
 * (tls.client_auth: want or need) holds ("x509", its subject DN) from the
 * start, as ZooKeeper's Netty server adds it when the handshake completes.
 * The handshake has already verified the certificate against tls.ca_file,
 * which is what ZooKeeper's trust manager check does again.
 *
 * - the DN is what Java's X500Principal.getName() prints, which the core
 *   reproduces (net/tls.c): RFC 2253, most significant RDN last,
 *   "CN=alice,OU=apps,O=Example", UTF-8 values, Java's escapes, OID=#hex
 *   for attributes without a Java keyword (333 checks it against Java);
 * - matches: the held DN equals the ACL id, byte for byte; or the held DN
 *   is super_user (zookeeper.X509AuthenticationProvider.superUser), which
 *   also holds ("super", DN): every ACL check passes;
 * - isAuthenticated: yes (x509 ids satisfy the `auth` scheme);
 * - addauth("x509", anything) gives the identities again from the
 *   connection's certificate, or fails (AuthFailed) without one;
 * - isValid: the id parses as an RFC 2253 DN (X500Principal's rules,
 *   simplified: attribute type keyword or dotted OID, '=', a value that is
 *   #hex, "quoted" or with backslash escapes; RDNs joined by ',' or ';',
 *   multi-valued RDNs by '+').
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "corral/module.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "auth_x509", .version = CORRAL_VERSION);

typedef struct X509Conf {
    const char *super_user;
} X509Conf;

static const CorralConfigKey conf_keys[] = {
    {"super_user", CORRAL_KEY_STRING, offsetof(X509Conf, super_user), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static X509Conf conf;

static void give_ids(const CorralAuthClient *client, CorralAuthAddId add, void *add_ctx)
{
    if (conf.super_user && strcmp(client->tls_subject, conf.super_user) == 0)
        add(add_ctx, "super", client->tls_subject);
    add(add_ctx, "x509", client->tls_subject);
}

static void x509_connection_ids(void *arg, const CorralAuthClient *client, CorralAuthAddId add, void *add_ctx)
{
    if (client->tls_subject)
        give_ids(client, add, add_ctx);
}

static int x509_authenticate(void *arg, const CorralAuthClient *client, const void *data, size_t len,
                             CorralAuthAddId add, void *add_ctx)
{
    if (!client->tls_subject)
        return -115;   /* AuthFailed: "No certificate chain available to authenticate" */
    give_ids(client, add, add_ctx);
    return 0;
}

static int x509_matches(void *arg, const char *held, const char *acl_id)
{
    return strcmp(held, acl_id) == 0 || (conf.super_user && strcmp(held, conf.super_user) == 0);
}

/* An attribute type: a keyword (letter, then letters, digits, '-') or a
 * dotted OID, optionally "OID."-prefixed.  Returns the end, or NULL. */
static const char *parse_type(const char *p)
{
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "OID.", 4) == 0)
        p += 4;
    if (isalpha((unsigned char)*p)) {
        while (isalnum((unsigned char)*p) || *p == '-')
            p++;
        return p;
    }
    if (!isdigit((unsigned char)*p))
        return NULL;
    for (;;) {
        if (!isdigit((unsigned char)*p))
            return NULL;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p != '.')
            return p;
        p++;
    }
}

/* A value: #hex, "quoted", or plain with backslash escapes.  Returns the
 * end (at ',', ';', '+' or NUL), or NULL. */
static const char *parse_value(const char *p)
{
    while (*p == ' ')
        p++;
    if (*p == '#') {
        const char *h = ++p;
        while (isxdigit((unsigned char)*p))
            p++;
        if (p == h || (p - h) % 2)
            return NULL;
    } else if (*p == '"') {
        for (p++; *p != '"'; p++) {
            if (!*p)
                return NULL;
            if (*p == '\\' && !*++p)
                return NULL;
        }
        p++;
    } else {
        for (; *p && *p != ',' && *p != ';' && *p != '+'; p++) {
            if (*p == '\\') {
                if (isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]))
                    p += 2;
                else if (p[1] && strchr(",=+<>#;\\\" ", p[1]))
                    p++;
                else
                    return NULL;
            } else if (*p == '=' || *p == '<' || *p == '>' || *p == '"') {
                return NULL;
            }
        }
    }
    while (*p == ' ')
        p++;
    return *p == '\0' || *p == ',' || *p == ';' || *p == '+' ? p : NULL;
}

static int x509_is_valid(void *arg, const char *id)
{
    const char *p = id;
    if (!*p)
        return 1;   /* the empty DN, as new X500Principal("") */
    for (;;) {
        if (!(p = parse_type(p)))
            return 0;
        while (*p == ' ')
            p++;
        if (*p++ != '=')
            return 0;
        if (!(p = parse_value(p)))
            return 0;
        if (!*p)
            return 1;
        p++;   /* ',' ';' '+' */
    }
}

static int x509_is_authenticated(void *arg) { return 1; }

static const CorralAuthScheme x509_scheme = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralAuthScheme),
    .scheme = "x509",
    .authenticate = x509_authenticate,
    .matches = x509_matches,
    .is_valid = x509_is_valid,
    .is_authenticated = x509_is_authenticated,
    .connection_ids = x509_connection_ids,
};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    conf.super_user = NULL;
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    if (conf.super_user && !x509_is_valid(NULL, conf.super_user))
        return corral_module_fail(self, "super_user \"%s\" is not an RFC 2253 distinguished name", conf.super_user);
    return corral_register_auth(self, &x509_scheme) < 0 ? -1 : 0;
}
