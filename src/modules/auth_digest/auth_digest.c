/*
 * src/modules/auth_digest/auth_digest.c: the "digest" auth scheme, as
 * ZooKeeper 3.8's DigestAuthenticationProvider.
 *
 *     modules:
 *       auth_digest:
 *         super_digest: "super:D/InIHSb7yEEbrWz8b9l71RjZJU="   # optional
 *
 * addauth("digest", "user:password") gives the connection the identity
 *     ("digest", "user:" + BASE64(SHA1("user:password")))
 * (generateDigest: the user is everything before the first ':', the hash is
 * over the whole string), so ACL ids made by ZooKeeper's tools, or copied
 * from an existing ensemble, match.  As in ZooKeeper, addauth never fails
 * for a well-formed request: a wrong password just gives another identity,
 * which then matches no ACL.  When the generated digest equals
 * super_digest, the connection also gets ("super", ""), which the core's
 * ACL check lets through everything (ZooKeeper's superDigest system
 * property, zookeeper.DigestAuthenticationProvider.superDigest).
 *
 * ACL ids are valid when they split on ':' into exactly two fields (Java's
 * String.split, which drops trailing empty fields), and match a held
 * identity when the strings are equal.  Comparisons with the super digest
 * and with ACL ids take a time that does not depend on where they differ.
 *
 * Differences from ZooKeeper (doc/auth.md): addauth data holding a NUL byte
 * is refused with AuthFailed (identities are C strings); only SHA-1 is
 * offered (ZooKeeper 3.8's digestAlg property is not).
 */
#include <stdlib.h>
#include <string.h>

#include "corral/module.h"
#include "java_utf8.h"
#include "sha1.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "auth_digest", .version = CORRAL_VERSION);

#define LOG_SUB "auth_digest"

typedef struct DigestConf {
    const char *super_digest;
} DigestConf;

static const CorralConfigKey conf_keys[] = {
    {"super_digest", CORRAL_KEY_STRING, offsetof(DigestConf, super_digest), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static char *super_digest;   /* NULL when not configured */

/* ZooKeeper's generateDigest over the bytes Java would hash.  Returns a
 * malloc'd "user:BASE64", or NULL when the input holds a NUL. */
static char *generate_digest(const void *data, size_t len)
{
    if (memchr(data, '\0', len))
        return NULL;
    unsigned char *s = corral_xmalloc(3 * len + 1);
    size_t n = java_utf8_sanitize(data, len, s);
    uint8_t h[SHA1_LEN];
    sha1(s, n, h);
    const unsigned char *colon = memchr(s, ':', n);
    size_t ulen = colon ? (size_t)(colon - s) : n;
    char *id = corral_xmalloc(ulen + 1 + BASE64_LEN(SHA1_LEN));
    memcpy(id, s, ulen);
    id[ulen] = ':';
    base64_encode(h, SHA1_LEN, id + ulen + 1);
    memset(s, 0, 3 * len + 1);   /* it held the password */
    free(s);
    return id;
}

static int digest_authenticate(void *arg, const CorralAuthClient *client, const void *data, size_t len,
                               CorralAuthAddId add, void *add_ctx)
{
    /* A null buffer (length -1 on the wire; the core passes data NULL):
     * ZooKeeper's new String(null) throws, and handleAuthentication's
     * caller answers AuthFailed.  An empty buffer is the empty string. */
    if (!data)
        return -115;
    char *id = generate_digest(data, len);
    if (!id) {
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "refusing digest credentials from %s: they hold a NUL byte",
                   client->peer_ip);
        return -115;   /* ZooKeeper's AuthFailed */
    }
    /* ZooKeeper adds ("super", "") before the digest identity; whoAmI
     * shows them in that order. */
    if (super_digest && digest_const_eq(id, super_digest)) {
        corral_log(CORRAL_LOG_INFO, LOG_SUB, "super user authenticated from %s", client->peer_ip);
        add(add_ctx, "super", "");
    }
    add(add_ctx, "digest", id);
    free(id);
    return 0;
}

static int digest_matches(void *arg, const char *held, const char *acl_id)
{
    return digest_const_eq(held, acl_id);
}

/* DigestAuthenticationProvider.isValid: id.split(":").length == 2, where
 * Java drops the trailing empty fields ("a:b:" is valid, "a:" is not). */
static int digest_is_valid(void *arg, const char *acl_id)
{
    size_t fields = 0, nonempty_upto = 0;
    const char *p = acl_id;
    for (;;) {
        const char *c = strchr(p, ':');
        size_t flen = c ? (size_t)(c - p) : strlen(p);
        fields++;
        if (flen > 0)
            nonempty_upto = fields;
        if (!c)
            break;
        p = c + 1;
    }
    /* Without any ':' Java returns the whole string as the single field,
     * even when it is empty. */
    if (!strchr(acl_id, ':'))
        return 0;
    return nonempty_upto == 2;
}

static int digest_is_authenticated(void *arg) { return 1; }

/* whoAmI reports the user, not the digest (DigestAuthenticationProvider
 * .getUserName: everything before the first ':'). */
static const char *digest_user_name(void *arg, const char *id, char *buf, size_t len)
{
    const char *colon = strchr(id, ':');
    size_t n = colon ? (size_t)(colon - id) : strlen(id);
    if (n >= len)
        n = len - 1;
    memcpy(buf, id, n);
    buf[n] = '\0';
    return buf;
}

static const CorralAuthScheme digest_scheme = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralAuthScheme),
    .scheme = "digest",
    .authenticate = digest_authenticate,
    .matches = digest_matches,
    .is_valid = digest_is_valid,
    .is_authenticated = digest_is_authenticated,
    .user_name = digest_user_name,
};

static int valid_base64_sha1(const char *s)
{
    if (strlen(s) != BASE64_LEN(SHA1_LEN) - 1 || s[27] != '=')
        return 0;
    for (int i = 0; i < 27; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '+' || s[i] == '/'))
            return 0;
    return 1;
}

static void on_stop(void *arg)
{
    free(super_digest);
    super_digest = NULL;
}

/* The super digest of `config`, validated: *out NULL when none is set. */
static int parse_settings(const CorralConfig *config, const char **out)
{
    DigestConf conf = {NULL};
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    if (conf.super_digest) {
        const char *colon = strchr(conf.super_digest, ':');
        if (!colon || !valid_base64_sha1(colon + 1))
            return corral_config_error(corral_config_get(config, "super_digest"),
                                       "\"super_digest\" must be \"USER:DIGEST\", the DIGEST being the 28 "
                                       "characters of base64(SHA1(\"USER:PASSWORD\")), as ZooKeeper's "
                                       "DigestAuthenticationProvider prints it");
    }
    *out = conf.super_digest;
    return 0;
}

/* Reload: a new super digest is used by the next addauth; connections
 * already holding ("super", "") keep it, as they keep every identity. */
static int reload_check(void *arg, const CorralConfig *config)
{
    const char *sd;
    return parse_settings(config, &sd);
}

static void reload_apply(void *arg, const CorralConfig *config)
{
    const char *sd = NULL;
    if (parse_settings(config, &sd) < 0)
        return;   /* checked just before: cannot happen */
    on_stop(NULL);
    super_digest = sd ? corral_xstrdup(sd) : NULL;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    const char *sd;
    if (parse_settings(config, &sd) < 0)
        return -1;
    super_digest = sd ? corral_xstrdup(sd) : NULL;
    if (corral_register_auth(self, &digest_scheme) < 0 || corral_on_stop(self, on_stop, NULL) < 0 ||
        corral_on_reload(self, reload_check, reload_apply, NULL) < 0) {
        on_stop(NULL);
        return -1;
    }
    return 0;
}
