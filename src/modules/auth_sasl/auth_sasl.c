/*
 * src/modules/auth_sasl/auth_sasl.c: SASL authentication (opcode 102) and
 * the "sasl" ACL scheme, as ZooKeeper 3.8 with the DIGEST-MD5 mechanism and
 * a JAAS user list (DigestLoginModule, user_bob="secret").
 *
 *     modules:
 *       auth_sasl:
 *         users: { bob: "secret", alice: "pw" }   # JAAS Server { user_NAME="..." }
 *         realm: zk-sasl-md5                       # default, as ZooKeeper
 *         mechanisms: [DIGEST-MD5]                 # the only one offered
 *         super_user: admin                        # zookeeper.superUser (optional)
 *
 * The exchange is Cyrus SASL's (libsasl2; the DIGEST-MD5 plugin comes with
 * libsasl2-modules).  Cyrus looks a user's password up through "auxprop"
 * plugins, normally sasldb (a Berkeley DB file, /etc/sasldb2); instead we
 * register an auxprop plugin of our own, "corral", that answers from the
 * user list of the YAML file, and tell Cyrus (SASL_CB_GETOPT) to use only
 * it and only DIGEST-MD5.  No file is read or written.
 *
 * As ZooKeeper (ZooKeeperSaslServer, SaslServerCallbackHandler):
 * - service "zookeeper", server name "zk-sasl-md5" (the digest-uri clients
 *   send is "zookeeper/zk-sasl-md5"), quality of protection "auth" only;
 * - the first client token is empty and gets the challenge; the second
 *   carries the response and gets rspauth, with which the exchange is
 *   complete and the connection holds ("sasl", USER), USER being the
 *   authentication id (an authorization id the client asks for is not
 *   used: ZooKeeper authorises everyone and sets the id from the
 *   authentication id);
 * - when USER is super_user the connection also holds ("super", "");
 * - a failure (unknown user or wrong password alike) is AuthFailed and the
 *   connection is closed (the core does that on -115).
 * An unknown user is given a random password, so that Cyrus does the same
 * work for it as for a wrong password and fails the same way.
 *
 * The ACL side (SASLAuthenticationProvider): an id is valid unless it holds
 * '@' without being "primary[/instance]@REALM" (KerberosName); a held id
 * matches an ACL id when equal, or when the held id is "super";
 * isAuthenticated is true; addauth("sasl", ...) always fails.
 *
 * Everything runs on the event-loop thread; Cyrus' DIGEST-MD5 only
 * computes (no I/O once the plugins are loaded at start).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "corral/module.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "auth_sasl", .version = CORRAL_VERSION);

#define LOG_SUB "auth_sasl"
#define SERVICE "zookeeper"
#define SERVER_NAME "zk-sasl-md5"   /* ZooKeeper's SaslQuorumServerCallbackHandler / SecurityUtils */
#define AUXPROP_NAME "corral"

typedef struct SaslUser {
    const char *name;
    const char *password;
} SaslUser;

typedef struct SaslConf {
    const CorralConfig *users;
    const char *realm;
    CorralStrList mechanisms;
    const char *super_user;
} SaslConf;

static const CorralConfigKey conf_keys[] = {
    {"users", CORRAL_KEY_NODE, offsetof(SaslConf, users), 1, 0, 0},
    {"realm", CORRAL_KEY_STRING, offsetof(SaslConf, realm), 0, 0, 0},
    {"mechanisms", CORRAL_KEY_STRLIST, offsetof(SaslConf, mechanisms), 0, 0, 0},
    {"super_user", CORRAL_KEY_STRING, offsetof(SaslConf, super_user), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static struct {
    SaslUser *users;
    size_t nusers;
    const char *realm;
    const char *super_user;
    char dummy_password[33];   /* for unknown users */
    int initialised;            /* sasl_server_init succeeded */
} G;

/* Per connection. */
typedef struct SaslState {
    sasl_conn_t *conn;
    int started;
    int done;
    char peer[64];
} SaslState;

/* ---- Cyrus callbacks ----------------------------------------------------- */

static int cb_getopt(void *context, const char *plugin_name, const char *option, const char **result,
                     unsigned *len)
{
    const char *v = NULL;
    if (strcmp(option, "mech_list") == 0)
        v = "DIGEST-MD5";
    else if (strcmp(option, "auxprop_plugin") == 0)
        v = AUXPROP_NAME;
    else if (strcmp(option, "log_level") == 0)
        v = "2";   /* SASL_LOG_FAIL */
    else if (strcmp(option, "canon_user_plugin") == 0)
        v = "INTERNAL";
    if (!v)
        return SASL_FAIL;   /* not ours: Cyrus uses its default */
    *result = v;
    if (len)
        *len = (unsigned)strlen(v);
    return SASL_OK;
}

static int cb_log(void *context, int level, const char *message)
{
    CorralLogLevel l = level <= SASL_LOG_ERR ? CORRAL_LOG_ERROR
                       : level <= SASL_LOG_WARN ? CORRAL_LOG_WARN
                       : level <= SASL_LOG_NOTE ? CORRAL_LOG_INFO
                                                : CORRAL_LOG_DEBUG;
    /* Authentication failures are reported by the core and by us. */
    if (level == SASL_LOG_FAIL)
        l = CORRAL_LOG_DEBUG;
    corral_log(l, LOG_SUB, "cyrus: %s", message);
    return SASL_OK;
}

/* Everyone may act as the authorization id they ask for: ZooKeeper's
 * handleAuthorizeCallback authorises all, then uses the authentication id. */
static int cb_proxy_policy(sasl_conn_t *conn, void *context, const char *requested_user, unsigned rlen,
                           const char *auth_identity, unsigned alen, const char *def_realm, unsigned urlen,
                           struct propctx *propctx)
{
    return SASL_OK;
}

typedef int (*SaslCb)(void);
static sasl_callback_t global_callbacks[] = {
    {SASL_CB_GETOPT, (SaslCb)(void (*)(void))cb_getopt, NULL},
    {SASL_CB_LOG, (SaslCb)(void (*)(void))cb_log, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static sasl_callback_t conn_callbacks[] = {
    {SASL_CB_PROXY_POLICY, (SaslCb)(void (*)(void))cb_proxy_policy, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* ---- the in-memory auxprop plugin --------------------------------------- */

static int ct_streq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    size_t n = alen > blen ? alen : blen;
    volatile unsigned char d = (unsigned char)(alen != blen);
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)((i < alen ? (unsigned char)a[i] : 0) ^ (i < blen ? (unsigned char)b[i] : 0));
    return d == 0;
}

/* Length of the user name in Cyrus's canonical "name@realm" form, or -1
 * when the realm is not ours (configured names hold no '@'). */
static long user_part(const char *user, size_t ulen)
{
    const char *at = memchr(user, '@', ulen);
    if (!at)
        return (long)ulen;
    size_t rlen = strlen(G.realm);
    if (ulen - (size_t)(at - user) - 1 != rlen || memcmp(at + 1, G.realm, rlen) != 0)
        return -1;
    return (long)(at - user);
}

/* The password of `user` ("name@realm", as Cyrus canonicalises it), or the
 * dummy one for anyone else.  Every entry is compared, so the time does
 * not say whether the user exists. */
static const char *password_of(const char *user, unsigned ulen)
{
    long n = user_part(user, ulen);
    const char *pw = G.dummy_password;
    for (size_t i = 0; n >= 0 && i < G.nusers; i++)
        if (ct_streq(user, (size_t)n, G.users[i].name))
            pw = G.users[i].password;
    return pw;
}

static int auxprop_lookup(void *glob_context, sasl_server_params_t *sparams, unsigned flags, const char *user,
                          unsigned ulen)
{
    if (!sparams || !user)
        return SASL_BADPARAM;
    const struct propval *pv = sparams->utils->prop_get(sparams->propctx);
    if (!pv)
        return SASL_OK;
    for (; pv->name; pv++) {
        const char *name = pv->name;
        /* authid lookups ask for "*NAME"; authzid ones for "NAME" */
        if (flags & SASL_AUXPROP_AUTHZID) {
            if (name[0] == '*')
                continue;
        } else {
            if (name[0] != '*')
                continue;
            name++;
        }
        if (strcmp(name, SASL_AUX_PASSWORD_PROP) != 0)
            continue;
        if (pv->values && !(flags & SASL_AUXPROP_VERIFY_AGAINST_HASH)) {
            if (!(flags & SASL_AUXPROP_OVERRIDE))
                continue;
            sparams->utils->prop_erase(sparams->propctx, pv->name);
        }
        const char *pw = password_of(user, ulen);
        sparams->utils->prop_set(sparams->propctx, pv->name, pw, (int)strlen(pw));
    }
    return SASL_OK;
}

static sasl_auxprop_plug_t auxprop_plug = {
    0, 0, NULL, NULL, auxprop_lookup, (char *)AUXPROP_NAME, NULL,
};

static int auxprop_init(const sasl_utils_t *utils, int max_version, int *out_version, sasl_auxprop_plug_t **plug,
                        const char *plugname)
{
    if (max_version < SASL_AUXPROP_PLUG_VERSION)
        return SASL_BADVERS;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &auxprop_plug;
    return SASL_OK;
}

/* ---- the exchange ------------------------------------------------------- */

static void *sasl_start_cb(void *arg, const CorralAuthClient *client)
{
    SaslState *st = corral_xcalloc(1, sizeof *st);
    snprintf(st->peer, sizeof st->peer, "%s:%d", client->peer_ip, client->peer_port);
    if (!G.initialised) {
        corral_log(CORRAL_LOG_ERROR, LOG_SUB, "SASL is not initialised");
        return st;
    }
    int rc = sasl_server_new(SERVICE, SERVER_NAME, G.realm, NULL, NULL, conn_callbacks, SASL_SUCCESS_DATA,
                             &st->conn);
    if (rc != SASL_OK) {
        corral_log(CORRAL_LOG_ERROR, LOG_SUB, "sasl_server_new: %s", sasl_errstring(rc, NULL, NULL));
        st->conn = NULL;
        return st;
    }
    /* No security layer: ZooKeeper's DIGEST-MD5 server offers qop=auth. */
    sasl_security_properties_t sp;
    memset(&sp, 0, sizeof sp);
    sp.min_ssf = 0;
    sp.max_ssf = 0;
    sp.maxbufsize = 0;
    sp.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT;
    sasl_setprop(st->conn, SASL_SEC_PROPS, &sp);
    return st;
}

static int sasl_step_cb(void *arg, void *state, const void *in, size_t inlen, const void **out, size_t *outlen,
                        CorralAuthAddId add, void *add_ctx)
{
    SaslState *st = state;
    *out = NULL;
    *outlen = 0;
    if (!st || !st->conn || st->done)
        return -115;
    const char *o = NULL;
    unsigned olen = 0;
    int rc;
    if (inlen > 65536)
        return -115;
    if (!st->started) {
        st->started = 1;
        rc = sasl_server_start(st->conn, "DIGEST-MD5", inlen ? in : NULL, (unsigned)inlen, &o, &olen);
    } else {
        rc = sasl_server_step(st->conn, in, (unsigned)inlen, &o, &olen);
    }
    if (rc == SASL_CONTINUE) {
        *out = o;
        *outlen = olen;
        return 0;
    }
    if (rc != SASL_OK) {
        st->done = 1;
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "client %s failed to SASL authenticate: %s", st->peer,
                   sasl_errdetail(st->conn));
        return -115;
    }
    const void *authid = NULL;
    if (sasl_getprop(st->conn, SASL_AUTHUSER, &authid) != SASL_OK || !authid) {
        st->done = 1;
        return -115;
    }
    /* Cyrus qualifies the name with the realm ("bob@zk-sasl-md5"); the
     * identity is the bare name, as ZooKeeper's. */
    st->done = 1;
    const char *full = authid;
    long n = user_part(full, strlen(full));
    char *user = n >= 0 ? strndup(full, (size_t)n) : NULL;
    if (!user) {
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "client %s: unexpected SASL identity \"%s\"", st->peer, full);
        return -115;
    }
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "client %s: adding SASL authorization for authorizationID: %s", st->peer,
               user);
    add(add_ctx, "sasl", user);
    if (G.super_user && G.super_user[0] && strcmp(user, G.super_user) == 0) {
        corral_log(CORRAL_LOG_INFO, LOG_SUB, "client %s: authenticated id '%s' as super user", st->peer, user);
        add(add_ctx, "super", "");
    }
    free(user);
    *out = o;
    *outlen = olen;
    return 1;
}

static void sasl_end_cb(void *arg, void *state)
{
    SaslState *st = state;
    if (!st)
        return;
    if (st->conn)
        sasl_dispose(&st->conn);
    free(st);
}

/* ---- the ACL scheme ----------------------------------------------------- */

/* addauth with scheme "sasl": SASLAuthenticationProvider.handleAuthentication
 * returns AUTHFAILED; SASL goes through opcode 102. */
static int sasl_authenticate(void *arg, const CorralAuthClient *client, const void *data, size_t len,
                             CorralAuthAddId add, void *add_ctx)
{
    return -115;
}

static int sasl_matches(void *arg, const char *held, const char *acl_id)
{
    return strcmp(held, "super") == 0 || strcmp(held, acl_id) == 0;
}

/* new KerberosName(id) does not throw: it matches
 * ([^/@]*)(/([^/@]*))?@([^/@]*), or holds no '@'. */
static int sasl_is_valid(void *arg, const char *id)
{
    const char *at = strchr(id, '@');
    if (!at)
        return 1;
    if (strchr(at + 1, '@') || strchr(at + 1, '/'))
        return 0;
    const char *slash = memchr(id, '/', (size_t)(at - id));
    if (slash && memchr(slash + 1, '/', (size_t)(at - slash - 1)))
        return 0;
    return 1;
}

static int sasl_is_authenticated(void *arg) { return 1; }

static const CorralAuthScheme sasl_scheme = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralAuthScheme),
    .scheme = "sasl",
    .authenticate = sasl_authenticate,
    .matches = sasl_matches,
    .is_valid = sasl_is_valid,
    .is_authenticated = sasl_is_authenticated,
    .sasl_start = sasl_start_cb,
    .sasl_step = sasl_step_cb,
    .sasl_end = sasl_end_cb,
};

/* ---- lifecycle ---------------------------------------------------------- */

static int on_start(void *arg)
{
    int rc = sasl_server_init(global_callbacks, "corral");
    if (rc != SASL_OK) {
        corral_log(CORRAL_LOG_ERROR, LOG_SUB, "sasl_server_init: %s", sasl_errstring(rc, NULL, NULL));
        return -1;
    }
    G.initialised = 1;
    rc = sasl_auxprop_add_plugin(AUXPROP_NAME, auxprop_init);
    if (rc != SASL_OK) {
        corral_log(CORRAL_LOG_ERROR, LOG_SUB, "cannot add the in-memory password plugin: %s",
                   sasl_errstring(rc, NULL, NULL));
        return -1;
    }
    const char *mechs = NULL;
    sasl_conn_t *probe = NULL;
    if (sasl_server_new(SERVICE, SERVER_NAME, G.realm, NULL, NULL, conn_callbacks, 0, &probe) == SASL_OK &&
        sasl_listmech(probe, NULL, "", " ", "", &mechs, NULL, NULL) == SASL_OK && mechs &&
        strstr(mechs, "DIGEST-MD5")) {
        sasl_dispose(&probe);
    } else {
        if (probe)
            sasl_dispose(&probe);
        corral_log(CORRAL_LOG_ERROR, LOG_SUB,
                   "Cyrus SASL has no DIGEST-MD5 mechanism (install libsasl2-modules); offered: %s",
                   mechs ? mechs : "none");
        return -1;
    }
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "SASL DIGEST-MD5 ready: %zu user%s, realm %s", G.nusers,
               G.nusers == 1 ? "" : "s", G.realm);
    return 0;
}

static void on_stop(void *arg)
{
    if (G.initialised)
        sasl_server_done();
    G.initialised = 0;
    free(G.users);
    G.users = NULL;
    G.nusers = 0;
}

/* The settings of `config`, validated: users (malloc'd; names and
 * passwords point into the configuration), realm, super user. */
typedef struct Settings {
    SaslUser *users;
    size_t nusers;
    const char *realm;
    const char *super_user;
} Settings;

static int parse_settings(const CorralConfig *config, Settings *out)
{
    SaslConf conf = {NULL, SERVER_NAME, {0, NULL}, NULL};
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    const CorralConfig *users = conf.users;
    if (corral_config_type(users) != CORRAL_CFG_MAP)
        return corral_config_error(users, "\"users\" must be a map of user names to passwords, not %s",
                                   corral_config_type_name(users));
    if (!conf.realm[0])
        return corral_config_error(corral_config_get(config, "realm"), "\"realm\" must not be empty");
    for (size_t i = 0; i < conf.mechanisms.n; i++)
        if (strcmp(conf.mechanisms.v[i], "DIGEST-MD5") != 0)
            return corral_config_error(corral_config_at(corral_config_get(config, "mechanisms"), i),
                                       "SASL mechanism \"%s\" is not offered: ZooKeeper clients use "
                                       "DIGEST-MD5 (Kerberos/GSSAPI is not supported)",
                                       conf.mechanisms.v[i]);
    if (conf.mechanisms.v && conf.mechanisms.n == 0)
        return corral_config_error(corral_config_get(config, "mechanisms"),
                                   "\"mechanisms\" must list DIGEST-MD5");
    size_t n = corral_config_len(users);
    SaslUser *v = corral_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const CorralConfig *k = corral_config_key_at(users, i);
        const CorralConfig *pv = corral_config_at(users, i);
        const char *name = corral_config_scalar(k);
        const char *pw = corral_config_scalar(pv);
        if (!name || !name[0] || strchr(name, '@') || !pw) {
            free(v);
            if (!pw && name && name[0] && !strchr(name, '@'))
                return corral_config_error(pv, "the password of SASL user \"%s\" must be a string, not %s", name,
                                           corral_config_type_name(pv));
            return corral_config_error(k, "SASL user names must be non-empty and hold no '@'");
        }
        v[i] = (SaslUser){name, pw};
    }
    *out = (Settings){v, n, conf.realm, conf.super_user};
    return 0;
}

/* Reload: users, passwords, realm and super user change for the next
 * SASL exchange; identities already held stay. */
static int reload_check(void *arg, const CorralConfig *config)
{
    Settings s;
    if (parse_settings(config, &s) < 0)
        return -1;
    free(s.users);
    return 0;
}

static void reload_apply(void *arg, const CorralConfig *config)
{
    Settings s;
    if (parse_settings(config, &s) < 0)
        return;   /* checked just before: cannot happen */
    free(G.users);
    G.users = s.users;
    G.nusers = s.nusers;
    G.realm = s.realm;
    G.super_user = s.super_user;
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "reloaded: %zu user%s, realm %s", G.nusers, G.nusers == 1 ? "" : "s",
               G.realm);
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    Settings set;
    if (parse_settings(config, &set) < 0)
        return -1;
    G.users = set.users;
    G.nusers = set.nusers;
    G.realm = set.realm;
    G.super_user = set.super_user;

    /* The password unknown users are checked against: random, so that no
     * password works for them. */
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return corral_module_fail(self, "getrandom failed");
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(G.dummy_password + 2 * i, 3, "%02x", rnd[i]);

    if (corral_register_auth(self, &sasl_scheme) < 0 || corral_on_start(self, on_start, NULL) < 0 ||
        corral_on_stop(self, on_stop, NULL) < 0 || corral_on_reload(self, reload_check, reload_apply, NULL) < 0)
        return -1;
    return 0;
}
