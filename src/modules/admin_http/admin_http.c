/*
 * src/modules/admin_http/admin_http.c: ZooKeeper's AdminServer for corrald.
 *
 *     modules:
 *       admin_http:
 *         listen: "127.0.0.1:8080"           # loopback unless allow_remote: true
 *         commands: [ruok, srvr, stat, conf, envi, mntr, cons, wchs, dirs]
 *         auth_token_file: /etc/corral/admin.token   # or auth_token: "..."
 *
 * GET /commands lists the commands; GET /commands/NAME runs one and answers
 * JSON with the field names of ZooKeeper 3.8's AdminServer
 * (org.apache.zookeeper.server.admin.Commands, written by Jackson with
 * SNAKE_CASE names): every answer is an object ending with "command" (the
 * command's primary name) and "error" (null, or why it failed).  NAME is
 * any of a command's names: /commands/stat, /commands/stats.
 *
 * Safety: the module is off unless the YAML file names it; it listens on a
 * loopback address unless allow_remote is set; a command not in `commands`
 * is refused (403); commands that change the server (crst, srst) also need
 * `Authorization: Bearer TOKEN` with the configured token (401 without it,
 * 403 when no token is configured).  Without `commands`, every read-only
 * command is allowed.
 *
 * This file is the JSON renderer of the admin views (../fourlw/views.h),
 * which the fourlw module renders as text: what a command shows is
 * collected there, once.  The commands, their names, which change the
 * server and which run while it is not serving come from the core's table
 * of ZooKeeper's words (corral_zk_word).  The lists in an answer stop at
 * max_answer_bytes (json.h, json_keep).
 *
 * Everything runs on the event loop, as the four-letter words do: the views
 * of corral/server.h, the metrics registry, and `dirs` walking the data
 * directory as ZooKeeper does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../fourlw/fourlw_format.h"
#include "../fourlw/views.h"
#include "corral/module.h"
#include "../metrics_prometheus/httpd.h"
#include "json.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "admin_http", .version = CORRAL_VERSION);

#define LOG_SUB "admin_http"
#define JSON_TYPE "application/json"
#define MIN_TOKEN_LEN 16

typedef long long ll;

/* Peers come as ZooKeeper prints an InetSocketAddress ("/127.0.0.1:5000");
 * Jackson writes them without the slash. */
static const char *bare_peer(const char *peer)
{
    if (!peer)
        return "";
    return peer[0] == '/' ? peer + 1 : peer;
}

/* ---- commands --------------------------------------------------------------- */

typedef struct ConnCtx {
    Json *j;
    int brief;
} ConnCtx;

/* ServerCnxn.getConnectionInfo(brief): one item of the answer. */
static int conn_info(void *vctx, const CorralConnInfo *c)
{
    const ConnCtx *ctx = vctx;
    Json *j = ctx->j;
    int brief = ctx->brief;
    JsonMark m;
    json_mark(j, &m);
    json_obj_begin(j);
    json_kstr(j, "remote_socket_address", bare_peer(c->peer));
    json_kint(j, "interest_ops", 1);   /* OP_READ: an idle connection, as ZooKeeper shows it */
    json_kint(j, "outstanding_requests", c->queued);
    json_kint(j, "packets_received", c->received);
    json_kint(j, "packets_sent", c->sent);
    if (!brief) {
        json_kint(j, "session_id", c->session_id);
        json_kstr(j, "last_operation", c->last_op && c->last_op[0] ? c->last_op : "NA");
        json_kint(j, "established", c->established_ms);
        json_kint(j, "session_timeout", c->timeout_ms);
        json_kint(j, "last_cxid", c->last_cxid);
        json_kint(j, "last_zxid", c->last_zxid);
        json_kint(j, "last_response_time", c->last_response_ms);
        json_kint(j, "last_latency", c->last_latency_ms);
        json_kint(j, "min_latency", c->min_latency_ms);
        json_kint(j, "avg_latency", (int64_t)c->avg_latency_ms);   /* a long division in ZooKeeper */
        json_kint(j, "max_latency", c->max_latency_ms);
    }
    json_obj_end(j);
    return !json_keep(j, &m);
}

static void connections(Json *j, int brief)
{
    ConnCtx ctx = {j, brief};
    json_key(j, "connections");
    json_arr_begin(j);
    corral_server_visit_conns(conn_info, &ctx);
    json_arr_end(j);
    json_key(j, "secure_connections");
    json_arr_begin(j);
    json_arr_end(j);
}

/* BufferStats: -1 until a response was sent, as ZooKeeper. */
static void buffer_stats(Json *j, const char *key, const char *last, const char *min, const char *max)
{
    json_key(j, key);
    json_obj_begin(j);
    json_kint(j, "last_buffer_size", view_metric(last, -1));
    json_kint(j, "min_buffer_size", view_metric(min, -1));
    json_kint(j, "max_buffer_size", view_metric(max, -1));
    json_obj_end(j);
}

/* SrvrCommand: version, read_only, server_stats (ServerStats' getters),
 * client_response, node_count. */
static void cmd_srvr(Json *j, const ServerView *v)
{
    const CorralServerInfo *info = &v->info;
    int64_t dir_size = fourlw_dir_size(info->data_dir);
    json_kstr(j, "version", info->version);
    json_kbool(j, "read_only", info->read_only);
    json_key(j, "server_stats");
    json_obj_begin(j);
    json_kint(j, "packets_sent", info->packets_sent);
    json_kint(j, "packets_received", info->packets_received);
    json_kint(j, "fsync_threshold_exceed_count", view_metric("fsync_threshold_exceed_count", 0));
    buffer_stats(j, "client_response_stats", "last_client_response_size", "min_client_response_size",
                 "max_client_response_size");
    json_kint(j, "data_dir_size", dir_size);
    json_kint(j, "log_dir_size", dir_size);   /* one data_dir holds snapshots and log */
    json_kbool(j, "provider_null", 0);
    json_kstr(j, "server_state", info->mode);
    json_kint(j, "last_processed_zxid", info->last_zxid);
    json_kint(j, "outstanding_requests", info->outstanding_requests);
    json_kdouble(j, "avg_latency", fourlw_round4(info->latency_avg_ms));
    json_kint(j, "max_latency", info->latency_max_ms);
    json_kint(j, "min_latency", info->latency_min_ms);
    json_kint(j, "num_alive_client_connections", info->connections);
    json_kint(j, "uptime", info->uptime_ms);
    json_kint(j, "auth_failed_count", view_metric("auth_failed_count", 0));
    /* Jackson's SNAKE_CASE turns getNonMTLSRemoteConnCount into these */
    json_kint(j, "non_mtlsremote_conn_count", view_metric("non_mtls_remote_conn_count", 0));
    json_kint(j, "non_mtlslocal_conn_count", view_metric("non_mtls_local_conn_count", 0));
    json_obj_end(j);
    buffer_stats(j, "client_response", "last_client_response_size", "min_client_response_size",
                 "max_client_response_size");
    if (v->leader)
        buffer_stats(j, "proposal_stats", "last_proposal_size", "min_proposal_size", "max_proposal_size");
    json_kint(j, "node_count", info->node_count);
}

static void cmd_stat(Json *j, const ServerView *v)
{
    cmd_srvr(j, v);
    connections(j, 1);
}

static void cmd_cons(Json *j, const ServerView *v) { connections(j, 0); }

static void cmd_ruok(Json *j, const ServerView *v) {}

static void cmd_isro(Json *j, const ServerView *v) { json_kbool(j, "read_only", v->info.read_only); }

static void cmd_dirs(Json *j, const ServerView *v)
{
    int64_t size = fourlw_dir_size(v->info.data_dir);
    json_kint(j, "datadir_size", size);
    json_kint(j, "logdir_size", size);
}

static void cmd_crst(Json *j, const ServerView *v) { corral_server_reset_conn_stats(); }

static void cmd_srst(Json *j, const ServerView *v) { corral_server_reset_stats(); }

/* SIGHUP over HTTP: the verdict, and what waits for a restart. */
static void cmd_reload(Json *j, const ServerView *v)
{
    char msg[1200];
    int rc = corral_server_reload(msg, sizeof msg);
    json_kstr(j, "result", rc == 0 ? "reloaded" : "refused");
    json_kstr(j, "message", msg);
    json_kstr(j, "pending_restart", corral_server_pending_restart());
}

static void cmd_hash(Json *j, const ServerView *v)
{
    /* DataTree.getDigestLog: Corral keeps the current digest only. */
    int64_t zxid = 0;
    uint64_t digest = corral_server_tree_digest(&zxid);
    json_key(j, "digests");
    json_arr_begin(j);
    json_obj_begin(j);
    json_kint(j, "zxid", zxid);
    json_kint(j, "digest", (int64_t)digest);   /* a Java long */
    json_obj_end(j);
    json_arr_end(j);
}

/* conf: ZooKeeperServerConf.toMap names: the core's camelCase keys
 * (clientPort) in snake_case (client_port); numbers as numbers. */
static void conf_kv(Json *j, const char *key, const char *value)
{
    if (!key || !*key)
        return;
    char name[128];
    size_t n = 0;
    for (const char *p = key; *p && n < sizeof name - 2; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            if (n)
                name[n++] = '_';
            name[n++] = (char)(*p - 'A' + 'a');
        } else {
            name[n++] = *p == '.' || *p == '-' ? '_' : *p;
        }
    }
    name[n] = '\0';
    json_key(j, name);
    const char *v = value ? value : "";
    const char *q = v[0] == '-' ? v + 1 : v;
    int numeric = *q && strspn(q, "0123456789") == strlen(q) && strlen(q) < 19;
    if (numeric)
        json_int(j, strtoll(v, NULL, 10));
    else
        json_str(j, v);
}

/* ZooKeeperServerConf.toMap's keys, in its order; the core's other keys
 * follow, except what toMap does not have (the sizes are the dirs
 * command's business, and there is no secure port). */
static const char *const zk_conf_keys[] = {"clientPort", "dataDir", "dataLogDir", "tickTime", "maxClientCnxns",
                                           "minSessionTimeout", "maxSessionTimeout", "serverId",
                                           "clientPortListenBacklog", NULL};
static const char *const conf_left_out[] = {"dataDirSize", "dataLogSize", "secureClientPort", NULL};

static int listed(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], key) == 0)
            return 1;
    return 0;
}

static void cmd_conf(Json *j, const ServerView *v)
{
    ViewKvList l = {NULL, 0, 0};
    view_conf(&l, 0);
    for (size_t i = 0; zk_conf_keys[i]; i++) {
        const char *value = view_kv_find(&l, zk_conf_keys[i]);
        if (value)
            conf_kv(j, zk_conf_keys[i], value);
    }
    for (size_t i = 0; i < l.n; i++)
        if (!listed(zk_conf_keys, l.kv[i].key) && !listed(conf_left_out, l.kv[i].key))
            conf_kv(j, l.kv[i].key, l.kv[i].value);
    view_kv_free(&l);
}

/* envi: Environment.list(), the lines of the envi word. */
static void cmd_envi(Json *j, const ServerView *v)
{
    ViewKvList l = {NULL, 0, 0};
    view_env(&l, v);
    for (size_t i = 0; i < l.n; i++)
        json_kstr(j, l.kv[i].key, l.kv[i].value);
    view_kv_free(&l);
}

/* mntr: ZooKeeperServer.dumpMonitorValues (version, server_state), then the
 * metrics provider's dump: the keys of the mntr word without "zk_", as
 * numbers.  Min, max and sum are longs in ZooKeeper: integral values are
 * written as such. */
static void mntr_value(void *ctx, const ViewValue *val)
{
    Json *j = ctx;
    switch (val->kind) {
    case VIEW_STR: json_kstr(j, val->key, val->s); break;
    case VIEW_INT: json_kint(j, val->key, val->i); break;
    case VIEW_AVG: json_kdouble(j, val->key, fourlw_round4(val->d)); break;
    case VIEW_NUM:
        if (val->d == (double)(int64_t)val->d)
            json_kint(j, val->key, (int64_t)val->d);
        else
            json_kdouble(j, val->key, val->d);
        break;
    }
}

static void cmd_mntr(Json *j, const ServerView *v) { view_mntr(v, mntr_value, j); }

/* wchs: WatchesSummary.toMap */
static void cmd_wchs(Json *j, const ServerView *v)
{
    json_kint(j, "num_connections", v->watching_sessions);
    json_kint(j, "num_paths", v->watch_paths);
    json_kint(j, "num_total_watches", v->info.watch_count);
}

/* wchc / wchp: maps of sets; an item is an element, with the opening of
 * its group when it starts one. */
typedef struct Group {
    Json *j;
    int open;
} Group;

static int group_item(void *ctx, int first, int64_t session, const char *path, size_t len, int by_path)
{
    Group *g = ctx;
    JsonMark m;
    json_mark(g->j, &m);
    int was_open = g->open;
    if (first) {
        if (g->open)
            json_arr_end(g->j);
        if (by_path) {
            json_keyn(g->j, path, len);
        } else {
            char key[32];
            snprintf(key, sizeof key, "%lld", (ll)session);   /* Jackson writes Long keys in decimal */
            json_key(g->j, key);
        }
        json_arr_begin(g->j);
        g->open = 1;
    }
    if (by_path)
        json_int(g->j, session);
    else
        json_strn(g->j, path, len);
    if (json_keep(g->j, &m))
        return 0;
    g->open = was_open;   /* the group the item opened was taken back too */
    return 1;
}

static int by_session_item(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    return group_item(ctx, first, session, path, len, 0);
}

static int by_path_item(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    return group_item(ctx, first, session, path, len, 1);
}

static void watches(Json *j, const char *key, int by_path)
{
    Group g = {j, 0};
    json_key(j, key);
    json_obj_begin(j);
    view_watches(by_path, by_path ? by_path_item : by_session_item, &g);
    if (g.open)
        json_arr_end(j);
    json_obj_end(j);
}

static void cmd_wchc(Json *j, const ServerView *v) { watches(j, "session_id_to_watched_paths", 0); }
static void cmd_wchp(Json *j, const ServerView *v) { watches(j, "path_to_session_ids", 1); }

/* dump: expiry_time_to_session_ids and session_id_to_ephemeral_paths.  A
 * session's key opens with its first path (sessions without ephemerals are
 * left out, as DataTree.getEphemerals does); each path is an item. */
static int eph_path(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    Json *j = ctx;
    JsonMark m;
    json_mark(j, &m);
    if (first) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (ll)session);
        json_key(j, key);
        json_arr_begin(j);
    }
    json_strn(j, path, len);
    return !json_keep(j, &m);
}

static void cmd_dump(Json *j, const ServerView *v)
{
    DumpView d;
    view_dump(&d, v);
    json_key(j, "expiry_time_to_session_ids");
    json_obj_begin(j);
    int open = 0;
    for (size_t i = 0; i < d.nsess; i++) {
        JsonMark m;
        json_mark(j, &m);
        int was_open = open;
        if (i == 0 || d.sess[i].expire_ms != d.sess[i - 1].expire_ms) {
            if (i)
                json_arr_end(j);
            char key[32];
            snprintf(key, sizeof key, "%lld", (ll)d.sess[i].expire_ms);
            json_key(j, key);
            json_arr_begin(j);
            open = 1;
        }
        json_int(j, d.sess[i].id);
        if (!json_keep(j, &m)) {
            open = was_open;
            break;
        }
    }
    if (open)
        json_arr_end(j);
    json_obj_end(j);

    json_key(j, "session_id_to_ephemeral_paths");
    json_obj_begin(j);
    for (size_t i = 0; i < d.nsess && !j->truncated; i++)
        if (view_ephemerals(d.sess[i].id, eph_path, j))
            json_arr_end(j);
    json_obj_end(j);
    view_dump_free(&d);
}

/* The commands admin_http answers, in the order GET /commands lists them;
 * names, flags and descriptions are the core's (corral_zk_word). */
typedef struct Cmd {
    const char *word;
    void (*run)(Json *j, const ServerView *v);
    const CorralZkWord *zw;     /* set by init */
} Cmd;

static Cmd cmds[] = {
    {"ruok", cmd_ruok, NULL}, {"srvr", cmd_srvr, NULL}, {"stat", cmd_stat, NULL}, {"conf", cmd_conf, NULL},
    {"envi", cmd_envi, NULL}, {"mntr", cmd_mntr, NULL}, {"isro", cmd_isro, NULL}, {"dirs", cmd_dirs, NULL},
    {"cons", cmd_cons, NULL}, {"wchs", cmd_wchs, NULL}, {"wchc", cmd_wchc, NULL}, {"wchp", cmd_wchp, NULL},
    {"dump", cmd_dump, NULL}, {"hash", cmd_hash, NULL}, {"crst", cmd_crst, NULL}, {"srst", cmd_srst, NULL},
    {"rlod", cmd_reload, NULL},
    {"snap", NULL, NULL},       /* not JSON: snapshot_answer */
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static int writes(const Cmd *c) { return (c->zw->flags & CORRAL_WORD_CHANGES_STATE) != 0; }
static int needs_server(const Cmd *c) { return !(c->zw->flags & CORRAL_WORD_ADMIN_ANY_STATE); }

/* The command one of whose ZooKeeper names is name[0..len). */
static const Cmd *find_cmd(const char *name, size_t len)
{
    const CorralZkWord *zw = corral_zk_word_find(name, len);
    if (!zw || !zw->names[0])
        return NULL;
    for (size_t i = 0; i < NCMDS; i++)
        if (cmds[i].zw == zw)
            return &cmds[i];
    return NULL;
}

static int bind_cmds(void)
{
    for (size_t i = 0; i < NCMDS; i++) {
        cmds[i].zw = corral_zk_word_find(cmds[i].word, 4);
        if (!cmds[i].zw || !cmds[i].zw->names[0])
            return -1;
    }
    return 0;
}

/* ---- configuration and state ------------------------------------------------ */

typedef struct AdminConf {
    CorralAddr listen;
    const CorralConfig *commands;
    int allow_remote;
    const char *auth_token;
    const char *auth_token_file;
    int64_t max_answer_bytes;
    int https;              /* TLS with the server's tls: settings */
    int64_t snapshot_interval_ms;
    int64_t snapshot_async_nodes;
} AdminConf;

#define MAX_ANSWER_SETTING "modules.admin_http.max_answer_bytes"

static struct {
    CorralModule *self;
    AdminConf conf;
    Httpd httpd;
    int allowed[NCMDS];
    char *token;               /* NULL: no token, write commands are refused */
    size_t token_len;
    /* snapshot: the last one taken, and the one waiting to become durable */
    int64_t snap_last_ms;
    struct {
        CorralSnapshotJob *job;  /* being serialised off the loop */
        void *data;
        size_t len;
        int64_t zxid;
        uint64_t id;
        int64_t taken_ms;
    } pend;
    uint64_t pend_seq;
} adm;

static int cmd_index(const Cmd *c) { return (int)(c - cmds); }

/* ---- HTTP ------------------------------------------------------------------- */

static void error_answer(HttpdResponse *resp, int status, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void error_answer(HttpdResponse *resp, int status, const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    json_obj_begin(&j);
    json_kstr(&j, "command", command);
    json_kstr(&j, "error", msg);
    json_obj_end(&j);
    corral_strbuf_puts(&resp->body, "\n");
}

static void list_commands(HttpdResponse *resp)
{
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    json_obj_begin(&j);
    json_key(&j, "commands");
    json_arr_begin(&j);
    for (size_t i = 0; i < NCMDS; i++) {
        const Cmd *c = &cmds[i];
        char url[64];
        snprintf(url, sizeof url, "/commands/%s", c->word);
        json_obj_begin(&j);
        json_kstr(&j, "command", c->zw->names[0]);
        json_key(&j, "names");
        json_arr_begin(&j);
        for (size_t k = 0; k < 4 && c->zw->names[k]; k++)
            json_str(&j, c->zw->names[k]);
        json_arr_end(&j);
        json_kstr(&j, "url", url);
        json_kbool(&j, "allowed", adm.allowed[i]);
        json_kbool(&j, "changes_state", writes(c));
        json_kbool(&j, "needs_token", writes(c));
        json_kstr(&j, "description", c->zw->description);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_kstr(&j, "command", "commands");
    json_key(&j, "error");
    json_null(&j);
    json_obj_end(&j);
    corral_strbuf_puts(&resp->body, "\n");
}

/* "Bearer TOKEN" with the configured token. */
static int token_ok(const char *authorization)
{
    if (!adm.token || !authorization)
        return 0;
    if (strncasecmp(authorization, "Bearer", 6) != 0 || (authorization[6] != ' ' && authorization[6] != '\t'))
        return 0;
    const char *t = authorization + 6;
    while (*t == ' ' || *t == '\t')
        t++;
    return httpd_secret_equal(t, strlen(t), adm.token, adm.token_len);
}

/* A request that changes the server needs the token: 1 when it has it,
 * else 0 with the refusal answered. */
static int authorized(const HttpdRequest *req, HttpdResponse *resp, const char *primary, const char *word)
{
    if (!adm.token) {
        error_answer(resp, 403, primary, "Command %s changes the server's state and is refused: no auth_token is configured",
                     word);
        return 0;
    }
    if (!token_ok(req->authorization)) {
        corral_strbuf_puts(&resp->headers, "WWW-Authenticate: Bearer realm=\"corral\"\r\n");
        error_answer(resp, 401, primary, "Command %s needs authentication: send Authorization: Bearer TOKEN", word);
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "%s: %s refused: %s", req->peer, word,
                   req->authorization ? "wrong token" : "no Authorization header");
        return 0;
    }
    return 1;
}

/* POST /tls/reload: Corral's own (ZooKeeper has no such command): what
 * SIGHUP does to the certificates, for operators without a shell on the
 * host.  Needs the token. */
static void tls_reload_answer(const HttpdRequest *req, HttpdResponse *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        corral_strbuf_puts(&resp->headers, "Allow: POST\r\n");
        error_answer(resp, 405, "tls_reload", "%s is not allowed: use POST", req->method);
        return;
    }
    if (!authorized(req, resp, "tls_reload", "tls_reload"))
        return;
    char err[512];
    int rc = corral_tls_reload(err, sizeof err);
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s: tls_reload%s%s", req->peer, rc < 0 ? " refused: " : "", rc < 0 ? err : "");
    if (rc < 0) {
        error_answer(resp, 500, "tls_reload", "%s", err);
        return;
    }
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    json_obj_begin(&j);
    json_kint(&j, "cert_days_left", corral_tls_cert_days_left());
    json_kstr(&j, "command", "tls_reload");
    json_key(&j, "error");
    json_null(&j);
    json_obj_end(&j);
    corral_strbuf_puts(&resp->body, "\n");
}

/* ---- snapshot (ZooKeeper 3.9's SnapshotCommand) ------------------------------
 * GET /commands/snapshot[?streaming=false] takes the state (the core's
 * snapshot payload, exact at a zxid) and asks storage to store a snapshot
 * too.  Headers last_zxid (0x...) and snapshot_size, as ZooKeeper; the body
 * is the payload (application/octet-stream), or with streaming=false the
 * usual JSON.  Only acknowledged state leaves: when the member has not yet
 * acknowledged up to the payload's zxid (writes in flight), the answer is
 * 202 with a token (X-Corral-Snapshot-Token) and the payload is kept; GET
 * /commands/snapshot?token=T answers it once that zxid is acknowledged
 * (202 again before; 404 once replaced by a newer one or after 60 s);
 * ?wait=false streams it at once all the same (X-Corral-Durable-Zxid
 * tells how much of it is acknowledged); ?store=false leaves the data
 * directory alone (a backup needs only the stream).
 * A tree of snapshot_async_nodes znodes or more is cloned on the loop and
 * serialised on a thread: that answer is always 202 with the token.
 * ZooKeeper's rate limit: one snapshot per snapshot_interval_ms (429). */

#define SNAP_KEEP_MS 60000
/* From snapshot_async_nodes znodes on (default 50000), the state is
 * serialised on a thread of its own (the loop only clones the tree): at
 * 1,000,000 znodes serialising on the loop stalled writes for seconds
 * (doc/benchmarks.md). */

static void pend_free(void)
{
    corral_server_snapshot_cancel(adm.pend.job);
    free(adm.pend.data);
    memset(&adm.pend, 0, sizeof adm.pend);
}

static void pend_keep(CorralSnapshotJob *job, void *data, size_t len, int64_t zxid, int64_t now)
{
    pend_free();
    adm.pend.job = job;
    adm.pend.data = data;
    adm.pend.len = len;
    adm.pend.zxid = zxid;
    adm.pend.id = ++adm.pend_seq;
    adm.pend.taken_ms = now;
}

/* The value of `key` in a query string ("a=1&b=2"), into buf. */
static int query_get(const char *query, const char *key, char *buf, size_t n)
{
    size_t kl = strlen(key);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t l = amp ? (size_t)(amp - p) : strlen(p);
        if (l > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            snprintf(buf, n, "%.*s", (int)(l - kl - 1), p + kl + 1);
            return 1;
        }
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

static void snapshot_headers(HttpdResponse *resp, int64_t zxid, size_t len, int64_t durable)
{
    corral_strbuf_printf(&resp->headers, "last_zxid: 0x%llx\r\nsnapshot_size: %zu\r\nX-Corral-Durable-Zxid: 0x%llx\r\n",
                         (unsigned long long)zxid, len, (unsigned long long)durable);
}

static void snapshot_json(HttpdResponse *resp, const char *primary, int64_t zxid, size_t len, uint64_t token)
{
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    json_obj_begin(&j);
    char z[24];
    snprintf(z, sizeof z, "0x%llx", (unsigned long long)zxid);
    json_kstr(&j, "last_zxid", z);
    json_kint(&j, "snapshot_size", (int64_t)len);
    if (token) {
        json_kint(&j, "token", (int64_t)token);
        json_kstr(&j, "pending", "the member has not acknowledged up to last_zxid yet: ask again with ?token=TOKEN");
    }
    json_kstr(&j, "command", primary);
    json_key(&j, "error");
    json_null(&j);
    json_obj_end(&j);
    corral_strbuf_puts(&resp->body, "\n");
}

static void snapshot_stream(HttpdResponse *resp, const void *data, size_t len)
{
    resp->content_type = "application/octet-stream";
    corral_strbuf_append(&resp->body, data, len);
}

static void snapshot_answer(const HttpdRequest *req, HttpdResponse *resp, const char *primary)
{
    char v[32];
    int64_t now = corral_loop_now_ms();
    if ((adm.pend.data || adm.pend.job) && now - adm.pend.taken_ms > SNAP_KEEP_MS)
        pend_free();
    if (query_get(req->query, "token", v, sizeof v)) {
        uint64_t id = strtoull(v, NULL, 10);
        if ((!adm.pend.data && !adm.pend.job) || adm.pend.id != id) {
            error_answer(resp, 404, primary, "no snapshot is waiting under token %s (replaced, or older than %d s)", v,
                         SNAP_KEEP_MS / 1000);
            return;
        }
        if (adm.pend.job && corral_server_snapshot_poll(adm.pend.job, &adm.pend.data, &adm.pend.len))
            adm.pend.job = NULL;
        int64_t durable = corral_server_durable_zxid();
        snapshot_headers(resp, adm.pend.zxid, adm.pend.len, durable);
        if (adm.pend.job || durable < adm.pend.zxid) {
            resp->status = 202;
            corral_strbuf_printf(&resp->headers, "X-Corral-Snapshot-Token: %llu\r\n", (unsigned long long)id);
            snapshot_json(resp, primary, adm.pend.zxid, adm.pend.len, id);
            return;
        }
        snapshot_stream(resp, adm.pend.data, adm.pend.len);
        pend_free();
        return;
    }
    int streaming = !(query_get(req->query, "streaming", v, sizeof v) && strcasecmp(v, "false") == 0);
    if (adm.snap_last_ms && now - adm.snap_last_ms < adm.conf.snapshot_interval_ms) {
        corral_strbuf_printf(&resp->headers, "Retry-After: %lld\r\n",
                             (long long)((adm.conf.snapshot_interval_ms - (now - adm.snap_last_ms)) / 1000 + 1));
        error_answer(resp, 429, primary, "one snapshot per %lld ms (modules.admin_http.snapshot_interval_ms)",
                     (long long)adm.conf.snapshot_interval_ms);
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "%s: snapshot request rate limited", req->peer);
        return;
    }
    void *data = NULL;
    size_t len = 0;
    int64_t zxid = 0, durable = 0;
    int wait = !(query_get(req->query, "wait", v, sizeof v) && strcasecmp(v, "false") == 0);
    /* store=false: only the stream (a backup), no snapshot in the data dir. */
    int store = !(query_get(req->query, "store", v, sizeof v) && strcasecmp(v, "false") == 0);
    if (wait && corral_server_node_count() >= adm.conf.snapshot_async_nodes) {
        /* A big tree: cloned now, written by a thread, answered by token. */
        CorralSnapshotJob *job = corral_server_snapshot_start(&zxid, store);
        if (!job) {
            error_answer(resp, 503, primary, "the server holds no state yet, or cannot start a thread");
            return;
        }
        adm.snap_last_ms = now;
        pend_keep(job, NULL, 0, zxid, now);
        corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s: snapshot at zxid 0x%llx, being written (token %llu)", req->peer,
                   (unsigned long long)zxid, (unsigned long long)adm.pend.id);
        snapshot_headers(resp, zxid, 0, corral_server_durable_zxid());
        resp->status = streaming ? 202 : 200;
        corral_strbuf_printf(&resp->headers, "X-Corral-Snapshot-Token: %llu\r\n", (unsigned long long)adm.pend.id);
        snapshot_json(resp, primary, zxid, 0, adm.pend.id);
        return;
    }
    if (corral_server_snapshot(&data, &len, &zxid, &durable, store) < 0) {
        error_answer(resp, 503, primary, "the server holds no state yet");
        return;
    }
    adm.snap_last_ms = now;
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s: snapshot at zxid 0x%llx, %zu bytes%s", req->peer,
               (unsigned long long)zxid, len, streaming ? ", streamed" : "");
    snapshot_headers(resp, zxid, len, durable);
    if (!streaming) {
        snapshot_json(resp, primary, zxid, len, 0);
        free(data);
        return;
    }
    /* wait=false: the state as it is (rescuing a member whose storage is
     * gone: what it holds will never be acknowledged). */
    if (durable >= zxid || !wait) {
        snapshot_stream(resp, data, len);
        free(data);
        return;
    }
    pend_keep(NULL, data, len, zxid, now);
    resp->status = 202;
    corral_strbuf_printf(&resp->headers, "X-Corral-Snapshot-Token: %llu\r\n", (unsigned long long)adm.pend.id);
    snapshot_json(resp, primary, zxid, len, adm.pend.id);
}

static void handle(void *arg, const HttpdRequest *req, HttpdResponse *resp)
{
    const char *path = req->path;
    int is_get = strcmp(req->method, "GET") == 0, is_head = strcmp(req->method, "HEAD") == 0;
    if (strcmp(path, "/tls/reload") == 0) {
        tls_reload_answer(req, resp);
        return;
    }
    if (strcmp(path, "/commands") == 0 || strcmp(path, "/commands/") == 0) {
        if (!is_get && !is_head) {
            corral_strbuf_puts(&resp->headers, "Allow: GET, HEAD\r\n");
            error_answer(resp, 405, "commands", "%s is not allowed: use GET", req->method);
            return;
        }
        list_commands(resp);
        return;
    }
    if (strncmp(path, "/commands/", 10) != 0) {
        error_answer(resp, 404, "", "Not found: %s (the commands are under /commands)", path);
        return;
    }
    const char *name = path + 10;
    size_t nlen = strlen(name);
    while (nlen && name[nlen - 1] == '/')
        nlen--;
    char shown[64];
    snprintf(shown, sizeof shown, "%.*s", (int)(nlen < 60 ? nlen : 60), name);
    for (char *p = shown; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    const Cmd *c = find_cmd(name, nlen);
    if (!c) {
        error_answer(resp, 404, shown, "Unknown command: %s", shown);
        return;
    }
    const char *primary = c->zw->names[0];
    if (!adm.allowed[cmd_index(c)]) {
        error_answer(resp, 403, primary,
                     "Command %s is not allowed: it is not in the commands list of the admin_http module", c->word);
        return;
    }
    int is_post = strcmp(req->method, "POST") == 0;
    if (writes(c) ? !(is_get || is_post) : !(is_get || is_head)) {
        corral_strbuf_puts(&resp->headers, writes(c) ? "Allow: GET, POST\r\n" : "Allow: GET, HEAD\r\n");
        error_answer(resp, 405, primary, "%s is not allowed for %s", req->method, c->word);
        return;
    }
    if (writes(c) && !authorized(req, resp, primary, c->word))
        return;
    ServerView v;
    view_server(&v);
    if (needs_server(c) && !v.serving) {
        error_answer(resp, 503, primary, VIEW_NOT_SERVING);
        return;
    }
    if (!c->run) {
        snapshot_answer(req, resp, primary);
        return;
    }
    if (writes(c))
        corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s: %s (%s)", req->peer, c->word, c->zw->description);
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    j.max = (size_t)adm.conf.max_answer_bytes;
    json_obj_begin(&j);
    c->run(&j, &v);
    int truncated = j.truncated;
    j.truncated = 0;
    /* CommandResponse.toMap: the data, then command and error; a truncated
     * answer says so in both a field and the error */
    if (truncated)
        json_kbool(&j, "truncated", 1);
    json_kstr(&j, "command", primary);
    json_key(&j, "error");
    if (truncated) {
        char msg[200];
        snprintf(msg, sizeof msg, "truncated: the answer reached %s (%lld bytes); raise it to see everything",
                 MAX_ANSWER_SETTING, (ll)adm.conf.max_answer_bytes);
        json_str(&j, msg);
    } else {
        json_null(&j);
    }
    json_obj_end(&j);
    corral_strbuf_puts(&resp->body, "\n");
}

static int on_start(void *arg)
{
    view_env_start();   /* NSS lookups may block: done once here, never while serving */
    char err[256];
    httpd_init(&adm.httpd, LOG_SUB);
    snprintf(adm.httpd.host, sizeof adm.httpd.host, "%s", adm.conf.listen.host);
    adm.httpd.port = adm.conf.listen.port;
    adm.httpd.https = adm.conf.https;
    adm.httpd.handler = handle;
    if (httpd_start(&adm.httpd, err, sizeof err) < 0)
        return corral_module_fail(adm.self, "%s", err);
    size_t nallowed = 0;
    for (size_t i = 0; i < NCMDS; i++)
        nallowed += adm.allowed[i] != 0;
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "serving the admin commands on http://%s/commands (%zu of %zu allowed%s)",
               adm.httpd.bound, nallowed, NCMDS, adm.token ? ", write commands with the token" : "");
    return 0;
}

static void on_stop(void *arg)
{
    httpd_stop(&adm.httpd);
    view_env_stop();
    pend_free();
    if (adm.token) {
        memset(adm.token, 0, adm.token_len);
        free(adm.token);
        adm.token = NULL;
    }
}

/* ---- init ------------------------------------------------------------------- */

static const CorralConfigKey conf_keys[] = {
    {"listen", CORRAL_KEY_ADDR, offsetof(AdminConf, listen), 0, 0, 0},
    {"commands", CORRAL_KEY_NODE, offsetof(AdminConf, commands), 0, 0, 0},
    {"allow_remote", CORRAL_KEY_BOOL, offsetof(AdminConf, allow_remote), 0, 0, 0},
    {"auth_token", CORRAL_KEY_STRING, offsetof(AdminConf, auth_token), 0, 0, 0},
    {"auth_token_file", CORRAL_KEY_STRING, offsetof(AdminConf, auth_token_file), 0, 0, 0},
    {"max_answer_bytes", CORRAL_KEY_INT, offsetof(AdminConf, max_answer_bytes), 0, 1024, INT64_C(1) << 30},
    {"https", CORRAL_KEY_BOOL, offsetof(AdminConf, https), 0, 0, 0},
    {"snapshot_interval_ms", CORRAL_KEY_INT, offsetof(AdminConf, snapshot_interval_ms), 0, 0, INT64_C(86400000)},
    {"snapshot_async_nodes", CORRAL_KEY_INT, offsetof(AdminConf, snapshot_async_nodes), 0, 1, INT64_C(1) << 40},
    CORRAL_CONFIG_KEYS_END,
};

static int valid_token(const char *t, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
            return 0;
    return 1;
}

static int load_token(const CorralConfig *config)
{
    const CorralConfig *tnode = corral_config_get(config, "auth_token");
    const CorralConfig *fnode = corral_config_get(config, "auth_token_file");
    if (tnode && fnode)
        return corral_config_error(fnode, "set \"auth_token\" or \"auth_token_file\", not both");
    if (tnode) {
        size_t len = strlen(adm.conf.auth_token);
        if (!valid_token(adm.conf.auth_token, len))
            return corral_config_error(tnode, "\"auth_token\" must be a non-empty string of printable characters "
                                              "without spaces");
        adm.token = corral_xstrdup(adm.conf.auth_token);
        adm.token_len = len;
    } else if (fnode) {
        FILE *f = fopen(adm.conf.auth_token_file, "re");
        if (!f)
            return corral_config_error(fnode, "cannot read \"auth_token_file\" %s: %s", adm.conf.auth_token_file,
                                       strerror(errno));
        char buf[1024];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        int toolong = !feof(f);
        fclose(f);
        buf[len] = '\0';
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (toolong || !valid_token(buf, len)) {
            memset(buf, 0, sizeof buf);
            return corral_config_error(fnode, "\"auth_token_file\" %s must hold one token: printable characters, no "
                                              "spaces, at most 1000 bytes",
                                       adm.conf.auth_token_file);
        }
        adm.token = corral_xstrdup(buf);
        adm.token_len = len;
        memset(buf, 0, sizeof buf);
    }
    if (adm.token && adm.token_len < MIN_TOKEN_LEN) {
        const CorralConfig *n = tnode ? tnode : fnode;
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "%s:%d:%d: the auth token has %zu characters; use at least %d random ones",
                   corral_config_file(n), corral_config_line(n), corral_config_column(n), adm.token_len,
                   MIN_TOKEN_LEN);
    }
    return 0;
}

static int load_commands(void)
{
    const CorralConfig *list = adm.conf.commands;
    if (!list) {
        /* the default: every command that only reads */
        for (size_t i = 0; i < NCMDS; i++)
            adm.allowed[i] = !writes(&cmds[i]);
        return 0;
    }
    if (corral_config_type(list) != CORRAL_CFG_SEQ)
        return corral_config_error(list, "\"commands\" must be a list of admin commands, not %s",
                                   corral_config_type_name(list));
    for (size_t i = 0; i < corral_config_len(list); i++) {
        const CorralConfig *item = corral_config_at(list, i);
        const char *w = corral_config_scalar(item);
        if (!w)
            return corral_config_error(item, "\"commands\" entries must be command names, not %s",
                                       corral_config_type_name(item));
        if (strcmp(w, "*") == 0) {
            for (size_t k = 0; k < NCMDS; k++)
                adm.allowed[k] = 1;
            continue;
        }
        const Cmd *c = find_cmd(w, strlen(w));
        if (!c) {
            char known[512] = "";
            size_t off = 0;
            for (size_t k = 0; k < NCMDS && off < sizeof known; k++)
                off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", k ? ", " : "", cmds[k].word);
            return corral_config_error(item, "unknown admin command \"%s\" (commands: %s, or \"*\")", w, known);
        }
        if (writes(c) && !adm.token)
            return corral_config_error(item,
                                       "\"%s\" changes the server's state: it needs \"auth_token\" (or "
                                       "\"auth_token_file\"), which requests then send as Authorization: Bearer TOKEN",
                                       w);
        adm.allowed[cmd_index(c)] = 1;
    }
    return 0;
}

/* Reads `config` into adm.conf, adm.allowed and adm.token (the settings;
 * the server in adm.httpd is left alone): init, the reload check and the
 * reload apply all go through here. */
static int parse_settings(const CorralConfig *config)
{
    memset(&adm.conf, 0, sizeof adm.conf);
    memset(adm.allowed, 0, sizeof adm.allowed);
    adm.token = NULL;
    adm.token_len = 0;
    snprintf(adm.conf.listen.host, sizeof adm.conf.listen.host, "127.0.0.1");
    adm.conf.listen.port = 8080;   /* ZooKeeper's admin.serverPort */
    adm.conf.max_answer_bytes = 1 << 20;
    adm.conf.snapshot_interval_ms = 10000;
    adm.conf.snapshot_async_nodes = 50000;
    if (corral_config_type(config) != CORRAL_CFG_NULL && corral_config_type(config) != CORRAL_CFG_MAP)
        return corral_config_error(config, "expected a map of settings (listen, commands, allow_remote, auth_token), "
                                           "not %s",
                                   corral_config_type_name(config));
    if (corral_config_apply(config, conf_keys, &adm.conf) < 0)
        return -1;
    if (adm.conf.https && !corral_tls_available())
        return corral_config_error(corral_config_get(config, "https"),
                                   "\"https: true\" needs the top-level \"tls\" map (cert_file, key_file)");
    if (!adm.conf.allow_remote && !httpd_is_loopback(adm.conf.listen.host))
        return corral_config_error(corral_config_get(config, "listen"),
                                   "\"listen\": %s is not a loopback address; the admin endpoint shows sessions, "
                                   "connections and configuration to whoever reaches it: set \"allow_remote: true\" "
                                   "to listen there",
                                   adm.conf.listen.host);
    if (load_token(config) < 0 || load_commands() < 0) {
        free(adm.token);
        adm.token = NULL;
        return -1;
    }
    return 0;
}

static void drop_token(char *token, size_t len)
{
    if (token) {
        memset(token, 0, len);
        free(token);
    }
}

/* Reload: commands, the token (auth_token_file is read again: a rotated
 * token takes effect) and max_answer_bytes change at once; listen and
 * allow_remote need a restart (the socket is bound) and are reported as
 * pending.  The check parses into adm and puts the running settings back. */
static int reload_check(void *arg, const CorralConfig *config)
{
    __typeof__(adm) running = adm;
    int rc = parse_settings(config);
    if (rc == 0) {
        if (memcmp(&adm.conf.listen, &running.conf.listen, sizeof adm.conf.listen) != 0)
            corral_reload_pending_restart(adm.self, "listen");
        if (adm.conf.allow_remote != running.conf.allow_remote)
            corral_reload_pending_restart(adm.self, "allow_remote");
        if (adm.conf.https != running.conf.https)
            corral_reload_pending_restart(adm.self, "https");
        drop_token(adm.token, adm.token_len);
    }
    adm = running;
    return rc;
}

static void reload_apply(void *arg, const CorralConfig *config)
{
    __typeof__(adm) running = adm;
    if (parse_settings(config) < 0) {
        adm = running;   /* checked just before: cannot happen */
        return;
    }
    adm.conf.listen = running.conf.listen;
    adm.conf.allow_remote = running.conf.allow_remote;
    adm.conf.https = running.conf.https;
    drop_token(running.token, running.token_len);
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    memset(&adm, 0, sizeof adm);
    adm.self = self;
    adm.httpd.fd = -1;
    if (bind_cmds() < 0)
        return corral_module_fail(self, "the core's table of ZooKeeper's words lacks a command of this module");
    if (parse_settings(config) < 0)
        return -1;
    if (corral_on_start(self, on_start, NULL) < 0 || corral_on_stop(self, on_stop, NULL) < 0 ||
        corral_on_reload(self, reload_check, reload_apply, NULL) < 0)
        return -1;
    return 0;
}
