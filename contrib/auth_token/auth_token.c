/*
 * contrib/auth_token/auth_token.c: an example auth scheme module built
 * outside Corral's tree, with nothing but the installed headers and
 * makefile fragment (see README.md and doc/modules.md).
 *
 * Scheme "token": a client sends a secret token with addauth and, when it
 * is one of the configured tokens, its connection holds ("token", NAME),
 * NAME being the token's name.  ACLs then say "token:NAME":
 *
 *     module_path: [contrib/auth_token]
 *     modules:
 *       auth_token:
 *         tokens:
 *           - { name: ci,     token: "9f2c0a6e-ci-secret" }
 *           - { name: deploy, token: "51b7d2aa-deploy-secret" }
 *
 *     kazoo: zk.add_auth("token", "9f2c0a6e-ci-secret")
 *            zk.create("/jobs", acl=[make_acl("token", "ci", all=True)])
 *
 * An unknown token fails the addauth: the server answers AuthFailed and
 * closes the connection, as ZooKeeper does for any failed authentication.
 * Tokens are compared in a time that does not depend on which token, or
 * which byte, differs.
 *
 * What this file shows, in order: the magic block; settings validated with
 * a key table (errors come out as FILE:LINE:COLUMN); a vtable in static
 * storage registered during init; state freed by a stop hook.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <corral/module.h>

#ifndef MODULE_VERSION
#define MODULE_VERSION "1.0"   /* corral-module.mk passes -DMODULE_VERSION */
#endif

CORRAL_MODULE_MAGIC(.name = "auth_token", .version = MODULE_VERSION);

#define LOG_SUB "auth_token"
#define ZERR_AUTHFAILED (-115)

typedef struct Token {
    const char *name;    /* owned by the configuration: lives as long as the process */
    const char *secret;
} Token;

static Token *tokens;
static size_t ntokens;

/* Settings of `modules.auth_token`. */
typedef struct TokenConf {
    const CorralConfig *tokens;
} TokenConf;

static const CorralConfigKey conf_keys[] = {
    {"tokens", CORRAL_KEY_NODE, offsetof(TokenConf, tokens), 1, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

/* One entry of the list. */
typedef struct EntryConf {
    const char *name;
    const char *token;
} EntryConf;

static const CorralConfigKey entry_keys[] = {
    {"name", CORRAL_KEY_STRING, offsetof(EntryConf, name), 1, 0, 0},
    {"token", CORRAL_KEY_STRING, offsetof(EntryConf, token), 1, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

/* Nonzero when the len bytes at a equal the string b; the time depends on
 * the lengths only. */
static int same(const unsigned char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    size_t n = alen > blen ? alen : blen;
    volatile unsigned char d = (unsigned char)(alen != blen);
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)((i < alen ? a[i] : 0) ^ (i < blen ? (unsigned char)b[i] : 0));
    return d == 0;
}

static int token_authenticate(void *arg, const CorralAuthClient *client, const void *data, size_t len,
                              CorralAuthAddId add, void *add_ctx)
{
    const char *name = NULL;
    /* Look at every token, without stopping at the first match. */
    for (size_t i = 0; i < ntokens; i++)
        if (same(data, data ? len : 0, tokens[i].secret))
            name = tokens[i].name;
    if (!name) {
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "unknown token from %s", client->peer_ip);
        return ZERR_AUTHFAILED;
    }
    add(add_ctx, "token", name);   /* the core copies the strings */
    return 0;
}

static int token_matches(void *arg, const char *held, const char *acl_id)
{
    return strcmp(held, acl_id) == 0;
}

/* An ACL may only name a configured token: a typo is InvalidACL rather
 * than a node nobody can open. */
static int token_is_valid(void *arg, const char *acl_id)
{
    for (size_t i = 0; i < ntokens; i++)
        if (strcmp(tokens[i].name, acl_id) == 0)
            return 1;
    return 0;
}

/* Token identities count for the `auth` pseudo-scheme (CREATOR_ALL_ACL). */
static int token_is_authenticated(void *arg) { return 1; }

static const CorralAuthScheme token_scheme = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralAuthScheme),
    .scheme = "token",
    .authenticate = token_authenticate,
    .matches = token_matches,
    .is_valid = token_is_valid,
    .is_authenticated = token_is_authenticated,
};

static void on_stop(void *arg)
{
    free(tokens);
    tokens = NULL;
    ntokens = 0;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    TokenConf conf = {NULL};
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    if (corral_config_type(conf.tokens) != CORRAL_CFG_SEQ)
        return corral_config_error(conf.tokens, "\"tokens\" must be a list of {name, token}, not %s",
                                   corral_config_type_name(conf.tokens));
    size_t n = corral_config_len(conf.tokens);
    if (n == 0)
        return corral_config_error(conf.tokens, "\"tokens\" is empty: nobody could authenticate");
    tokens = corral_xcalloc(n, sizeof *tokens);   /* aborts on out-of-memory, as the core */
    for (size_t i = 0; i < n; i++) {
        const CorralConfig *item = corral_config_at(conf.tokens, i);
        EntryConf e = {NULL, NULL};
        if (corral_config_type(item) != CORRAL_CFG_MAP) {
            on_stop(NULL);
            return corral_config_error(item, "each token must be a map {name, token}, not %s",
                                       corral_config_type_name(item));
        }
        if (corral_config_apply(item, entry_keys, &e) < 0) {
            on_stop(NULL);
            return -1;
        }
        if (!e.name[0] || !e.token[0]) {
            on_stop(NULL);
            return corral_config_error(item, "a token's name and token must not be empty");
        }
        for (size_t j = 0; j < ntokens; j++) {
            int same_name = strcmp(tokens[j].name, e.name) == 0;
            if (same_name || strcmp(tokens[j].secret, e.token) == 0) {
                on_stop(NULL);
                if (same_name)
                    return corral_config_error(corral_config_get(item, "name"), "token name \"%s\" is listed twice",
                                               e.name);
                return corral_config_error(corral_config_get(item, "token"),
                                           "the token of \"%s\" is already the token of another name", e.name);
            }
        }
        tokens[ntokens].name = e.name;
        tokens[ntokens].secret = e.token;
        ntokens++;
    }
    if (corral_register_auth(self, &token_scheme) < 0 || corral_on_stop(self, on_stop, NULL) < 0) {
        on_stop(NULL);
        return -1;
    }
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "%zu token%s configured", ntokens, ntokens == 1 ? "" : "s");
    return 0;
}
