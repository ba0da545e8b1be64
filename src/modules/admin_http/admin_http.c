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
 * Everything runs on the event loop, as the four-letter words do: the views
 * of corral/server.h, the metrics registry, and `dirs` walking the data
 * directory as ZooKeeper does.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "../fourlw/fourlw_format.h"
#include "corral/module.h"
#include "../metrics_prometheus/httpd.h"
#include "json.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC("admin_http", CORRAL_VERSION);

#define LOG_SUB "admin_http"
#define JSON_TYPE "application/json"
#define NOT_SERVING "This ZooKeeper instance is not currently serving requests"
#define MIN_TOKEN_LEN 16

typedef long long ll;

/* ---- server views ----------------------------------------------------------- */

static void get_info(CorralServerInfo *info)
{
    memset(info, 0, sizeof *info);
    info->size = (uint32_t)sizeof *info;
    info->open_fds = info->max_fds = -1;
    corral_server_info(info);
}

static int serving(const CorralServerInfo *info)
{
    return info->mode && info->mode[0] && strcmp(info->mode, "looking") != 0;
}

/* A registry metric's value (a histogram's count), or dflt. */
static int64_t metric_value(const char *name, int64_t dflt)
{
    CorralMetric *m = corral_metric_find(name);
    if (!m)
        return dflt;
    CorralMetricView v;
    corral_metric_read(m, &v);
    return v.type == CORRAL_METRIC_HISTOGRAM ? (int64_t)v.count : v.value;
}

static void *xrealloc_arr(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q)
        abort();   /* as the core: out of memory is fatal */
    return q;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

/* Peers come as ZooKeeper prints an InetSocketAddress ("/127.0.0.1:5000");
 * Jackson writes them without the slash. */
static const char *bare_peer(const char *peer)
{
    if (!peer)
        return "";
    return peer[0] == '/' ? peer + 1 : peer;
}

/* ---- commands --------------------------------------------------------------- */

typedef struct Cmd Cmd;
typedef void (*CmdFn)(Json *j, const CorralServerInfo *info);

struct Cmd {
    const char *word;           /* the four-letter name, as in `commands:` */
    const char *names[4];       /* ZooKeeper's names, primary first */
    int writes;                 /* changes the server: needs the token */
    int needs_server;           /* CommandBase.serverRequired */
    CmdFn run;
    const char *description;
};

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

static void connections(Json *j, const char *key, int brief)
{
    ConnCtx ctx = {j, brief};
    json_key(j, key);
    json_arr_begin(j);
    corral_server_visit_conns(conn_info, &ctx);
    json_arr_end(j);
}

/* BufferStats: -1 until a response was sent, as ZooKeeper. */
static void buffer_stats(Json *j, const char *key)
{
    json_key(j, key);
    json_obj_begin(j);
    json_kint(j, "last_buffer_size", metric_value("last_client_response_size", -1));
    json_kint(j, "min_buffer_size", metric_value("min_client_response_size", -1));
    json_kint(j, "max_buffer_size", metric_value("max_client_response_size", -1));
    json_obj_end(j);
}

/* SrvrCommand: version, read_only, server_stats (ServerStats' getters),
 * client_response, node_count. */
static void cmd_srvr(Json *j, const CorralServerInfo *info)
{
    int64_t dir_size = fourlw_dir_size(info->data_dir);
    json_kstr(j, "version", info->version);
    json_kbool(j, "read_only", info->read_only);
    json_key(j, "server_stats");
    json_obj_begin(j);
    json_kint(j, "packets_sent", info->packets_sent);
    json_kint(j, "packets_received", info->packets_received);
    json_kint(j, "fsync_threshold_exceed_count", metric_value("fsync_threshold_exceed_count", 0));
    buffer_stats(j, "client_response_stats");
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
    json_kint(j, "auth_failed_count", metric_value("auth_failed_count", 0));
    /* Jackson's SNAKE_CASE turns getNonMTLSRemoteConnCount into these */
    json_kint(j, "non_mtlsremote_conn_count", metric_value("non_mtls_remote_conn_count", 0));
    json_kint(j, "non_mtlslocal_conn_count", metric_value("non_mtls_local_conn_count", 0));
    json_obj_end(j);
    buffer_stats(j, "client_response");
    if (info->mode && strcmp(info->mode, "leader") == 0) {
        json_key(j, "proposal_stats");
        json_obj_begin(j);
        json_kint(j, "last_buffer_size", metric_value("last_proposal_size", -1));
        json_kint(j, "min_buffer_size", metric_value("min_proposal_size", -1));
        json_kint(j, "max_buffer_size", metric_value("max_proposal_size", -1));
        json_obj_end(j);
    }
    json_kint(j, "node_count", info->node_count);
}

static void cmd_stat(Json *j, const CorralServerInfo *info)
{
    cmd_srvr(j, info);
    connections(j, "connections", 1);
    json_key(j, "secure_connections");
    json_arr_begin(j);
    json_arr_end(j);
}

static void cmd_cons(Json *j, const CorralServerInfo *info)
{
    connections(j, "connections", 0);
    json_key(j, "secure_connections");
    json_arr_begin(j);
    json_arr_end(j);
}

static void cmd_ruok(Json *j, const CorralServerInfo *info) {}

static void cmd_isro(Json *j, const CorralServerInfo *info) { json_kbool(j, "read_only", info->read_only); }

static void cmd_dirs(Json *j, const CorralServerInfo *info)
{
    int64_t size = fourlw_dir_size(info->data_dir);
    json_kint(j, "datadir_size", size);
    json_kint(j, "logdir_size", size);
}

static void cmd_crst(Json *j, const CorralServerInfo *info) { corral_server_reset_conn_stats(); }

static void cmd_srst(Json *j, const CorralServerInfo *info) { corral_server_reset_stats(); }

static void cmd_hash(Json *j, const CorralServerInfo *info)
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
static void conf_kv(void *ctx, const char *key, const char *value)
{
    Json *j = ctx;
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
 * follow. */
static const char *const zk_conf_keys[] = {"clientPort", "dataDir", "dataLogDir", "tickTime", "maxClientCnxns",
                                           "minSessionTimeout", "maxSessionTimeout", "serverId",
                                           "clientPortListenBacklog", NULL};

typedef struct ConfPass {
    Json *j;
    const char *only;       /* this key, or NULL for the keys not in zk_conf_keys */
} ConfPass;

static void conf_pass(void *ctx, const char *key, const char *value)
{
    ConfPass *p = ctx;
    if (!key)
        return;
    if (p->only) {
        if (strcmp(key, p->only) == 0)
            conf_kv(p->j, key, value);
        return;
    }
    for (size_t i = 0; zk_conf_keys[i]; i++)
        if (strcmp(key, zk_conf_keys[i]) == 0)
            return;
    /* not in ZooKeeperServerConf.toMap: the sizes are the dirs command's
     * business, and there is no secure port */
    if (strcmp(key, "dataDirSize") == 0 || strcmp(key, "dataLogSize") == 0 || strcmp(key, "secureClientPort") == 0)
        return;
    conf_kv(p->j, key, value);
}

static void cmd_conf(Json *j, const CorralServerInfo *info)
{
    ConfPass p = {j, NULL};
    for (size_t i = 0; zk_conf_keys[i]; i++) {
        p.only = zk_conf_keys[i];
        corral_server_conf(conf_pass, &p);
    }
    p.only = NULL;
    corral_server_conf(conf_pass, &p);
}

/* mntr: ZooKeeperServer.dumpMonitorValues (version, server_state), then the
 * metrics provider's dump: the keys of the `mntr` word without "zk_". */
typedef struct Mntr {
    Json *j;
    char **keys;
    size_t n, cap;
} Mntr;

static int mntr_claim(Mntr *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return 0;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = xrealloc_arr(m->keys, m->cap, sizeof *m->keys);
    }
    m->keys[m->n++] = xstrdup(key);
    return 1;
}

static void mntr_int(Mntr *m, const char *key, int64_t v)
{
    if (mntr_claim(m, key))
        json_kint(m->j, key, v);
}

/* Min, max and sum are longs in ZooKeeper: integral values print as such. */
static void mntr_num(Mntr *m, const char *key, double v, int is_avg)
{
    if (!mntr_claim(m, key))
        return;
    if (is_avg)
        json_kdouble(m->j, key, fourlw_round4(v));
    else if (v == (double)(int64_t)v)
        json_kint(m->j, key, (int64_t)v);
    else
        json_kdouble(m->j, key, v);
}

static void mntr_metric(void *ctx, const CorralMetricView *v)
{
    Mntr *m = ctx;
    char key[256];
    if (!v->name)
        return;
    /* the registry's names, without a "zk_" prefix if one has it */
    const char *name = strncmp(v->name, "zk_", 3) == 0 ? v->name + 3 : v->name;
    if (v->type != CORRAL_METRIC_HISTOGRAM) {
        mntr_int(m, name, v->value);
        return;
    }
    snprintf(key, sizeof key, "avg_%s", name);
    mntr_num(m, key, v->count ? v->sum / (double)v->count : 0.0, 1);
    snprintf(key, sizeof key, "min_%s", name);
    mntr_num(m, key, v->count ? v->min : 0, 0);
    snprintf(key, sizeof key, "max_%s", name);
    mntr_num(m, key, v->count ? v->max : 0, 0);
    snprintf(key, sizeof key, "cnt_%s", name);
    mntr_int(m, key, (int64_t)v->count);
    snprintf(key, sizeof key, "sum_%s", name);
    mntr_num(m, key, v->sum, 0);
}

static void cmd_mntr(Json *j, const CorralServerInfo *info)
{
    json_kstr(j, "version", info->version);
    json_kstr(j, "server_state", info->mode && info->mode[0] ? info->mode : "looking");
    Mntr m = {j, NULL, 0, 0};
    mntr_claim(&m, "version");
    mntr_claim(&m, "server_state");
    /* The order of the `mntr` word (ZooKeeper 3.8's), then the registry. */
    mntr_int(&m, "ephemerals_count", info->ephemerals_count);
    mntr_int(&m, "num_alive_connections", info->connections);
    mntr_num(&m, "avg_latency", info->latency_avg_ms, 1);
    mntr_int(&m, "outstanding_requests", info->outstanding_requests);
    mntr_int(&m, "znode_count", info->node_count);
    mntr_int(&m, "global_sessions", info->session_count);
    mntr_int(&m, "packets_sent", info->packets_sent);
    mntr_int(&m, "packets_received", info->packets_received);
    mntr_int(&m, "watch_count", info->watch_count);
    mntr_int(&m, "min_latency", info->latency_min_ms);
    if (info->max_fds >= 0)
        mntr_int(&m, "max_file_descriptor_count", info->max_fds);
    mntr_int(&m, "approximate_data_size", info->approximate_data_size);
    if (info->open_fds >= 0)
        mntr_int(&m, "open_file_descriptor_count", info->open_fds);
    mntr_int(&m, "local_sessions", 0);
    mntr_int(&m, "uptime", info->uptime_ms);
    mntr_int(&m, "max_latency", info->latency_max_ms);
    corral_metrics_foreach(mntr_metric, &m);
    for (size_t i = 0; i < m.n; i++)
        free(m.keys[i]);
    free(m.keys);
}

/* wchs: WatchesSummary.toMap */
static void cmd_wchs(Json *j, const CorralServerInfo *info)
{
    json_kint(j, "num_connections", corral_server_watching_sessions());
    json_kint(j, "num_paths", corral_server_watch_paths());
    json_kint(j, "num_total_watches", info->watch_count);
}

/* wchc / wchp: maps of sets.  The core hands the pairs grouped by session
 * (wchc) or by path (wchp). */
typedef struct Group {
    Json *j;
    int open;
    int64_t last_session;
    CorralStrbuf last_path;
} Group;

/* One item: an element, with the opening of its group when it starts one. */
static int group_kept(Group *g, const JsonMark *m, int was_open)
{
    if (json_keep(g->j, m))
        return 1;
    g->open = was_open;   /* the group opened by the item was taken back too */
    return 0;
}

static int group_by_session(void *ctx, int64_t session, const char *path, size_t len)
{
    Group *g = ctx;
    JsonMark m;
    json_mark(g->j, &m);
    int was_open = g->open;
    if (!g->open || session != g->last_session) {
        if (g->open)
            json_arr_end(g->j);
        char key[32];
        snprintf(key, sizeof key, "%lld", (ll)session);   /* Jackson writes Long keys in decimal */
        json_key(g->j, key);
        json_arr_begin(g->j);
        g->open = 1;
        g->last_session = session;
    }
    json_strn(g->j, path, len);
    return !group_kept(g, &m, was_open);
}

static int group_by_path(void *ctx, int64_t session, const char *path, size_t len)
{
    Group *g = ctx;
    JsonMark m;
    json_mark(g->j, &m);
    int was_open = g->open;
    if (!g->open || len != g->last_path.len || (len && memcmp(path, g->last_path.data, len) != 0)) {
        if (g->open)
            json_arr_end(g->j);
        json_keyn(g->j, path, len);
        json_arr_begin(g->j);
        g->open = 1;
        corral_strbuf_reset(&g->last_path);
        corral_strbuf_append(&g->last_path, path, len);
    }
    json_int(g->j, session);
    return !group_kept(g, &m, was_open);
}

static void cmd_wchc(Json *j, const CorralServerInfo *info)
{
    Group g = {j, 0, 0, CORRAL_STRBUF_INIT};
    json_key(j, "session_id_to_watched_paths");
    json_obj_begin(j);
    corral_server_visit_watches_by_session(group_by_session, &g);
    if (g.open)
        json_arr_end(j);
    json_obj_end(j);
    corral_strbuf_free(&g.last_path);
}

static void cmd_wchp(Json *j, const CorralServerInfo *info)
{
    Group g = {j, 0, 0, CORRAL_STRBUF_INIT};
    json_key(j, "path_to_session_ids");
    json_obj_begin(j);
    corral_server_visit_watches_by_path(group_by_path, &g);
    if (g.open)
        json_arr_end(j);
    json_obj_end(j);
    corral_strbuf_free(&g.last_path);
}

/* dump: expiry_time_to_session_ids and session_id_to_ephemeral_paths.  As
 * the `dump` word, the deadline of a session is estimated as ZooKeeper sets
 * it when the session is touched: last answer + timeout, rounded up to the
 * next tick. */
typedef struct Sess {
    int64_t id, timeout_ms, last_ms, expire_ms;
} Sess;

typedef struct DumpCtx {
    Sess *s;
    size_t n, cap;
} DumpCtx;

static void dump_session(void *ctx, int64_t session, int64_t timeout_ms)
{
    DumpCtx *d = ctx;
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->s = xrealloc_arr(d->s, d->cap, sizeof *d->s);
    }
    d->s[d->n++] = (Sess){session, timeout_ms, 0, 0};
}

static void dump_conn(void *ctx, const CorralConnInfo *c)
{
    DumpCtx *d = ctx;
    int64_t last = c->last_response_ms > c->established_ms ? c->last_response_ms : c->established_ms;
    for (size_t i = 0; i < d->n; i++)
        if (d->s[i].id == c->session_id && c->session_id != 0 && last > d->s[i].last_ms)
            d->s[i].last_ms = last;
}

static int by_expiry(const void *a, const void *b)
{
    const Sess *x = a, *y = b;
    if (x->expire_ms != y->expire_ms)
        return x->expire_ms < y->expire_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* session_id_to_ephemeral_paths: a session's key opens with its first
 * path (sessions without ephemerals are left out, as
 * DataTree.getEphemerals does); each path is an item. */
typedef struct EphJson {
    Json *j;
    size_t paths;
} EphJson;

static int dump_ephemeral(void *ctx, int64_t session, const char *path, size_t len)
{
    EphJson *e = ctx;
    JsonMark m;
    json_mark(e->j, &m);
    if (!e->paths) {
        char key[32];
        snprintf(key, sizeof key, "%lld", (ll)session);
        json_key(e->j, key);
        json_arr_begin(e->j);
    }
    json_strn(e->j, path, len);
    if (!json_keep(e->j, &m))
        return 1;
    e->paths++;
    return 0;
}

static void cmd_dump(Json *j, const CorralServerInfo *info)
{
    int64_t tick = info->tick_ms > 0 ? info->tick_ms : 2000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    DumpCtx d = {NULL, 0, 0};
    corral_server_foreach_session(dump_session, &d);
    corral_server_foreach_conn(dump_conn, &d);
    for (size_t i = 0; i < d.n; i++)
        d.s[i].expire_ms = fourlw_round_next((d.s[i].last_ms > 0 ? d.s[i].last_ms : now) + d.s[i].timeout_ms, tick);

    json_key(j, "expiry_time_to_session_ids");
    json_obj_begin(j);
    Sess *sorted = xrealloc_arr(NULL, d.n, sizeof *sorted);
    if (d.n)
        memcpy(sorted, d.s, d.n * sizeof *sorted);
    qsort(sorted, d.n, sizeof *sorted, by_expiry);
    int open = 0;
    for (size_t i = 0; i < d.n; i++) {
        JsonMark m;
        json_mark(j, &m);
        int was_open = open;
        if (i == 0 || sorted[i].expire_ms != sorted[i - 1].expire_ms) {
            if (i)
                json_arr_end(j);
            char key[32];
            snprintf(key, sizeof key, "%lld", (ll)sorted[i].expire_ms);
            json_key(j, key);
            json_arr_begin(j);
            open = 1;
        }
        json_int(j, sorted[i].id);
        if (!json_keep(j, &m)) {
            open = was_open;
            break;
        }
    }
    if (open)
        json_arr_end(j);
    json_obj_end(j);
    free(sorted);

    json_key(j, "session_id_to_ephemeral_paths");
    json_obj_begin(j);
    for (size_t i = 0; i < d.n && !j->truncated; i++) {
        EphJson e = {j, 0};
        corral_server_visit_session_ephemerals(d.s[i].id, dump_ephemeral, &e);
        if (e.paths)
            json_arr_end(j);
    }
    json_obj_end(j);
    free(d.s);
}

/* envi: Environment.list() as ZooKeeper's, with what a native server has in
 * place of the JVM's lines (the same lines as the `envi` word). */
static struct {
    char *exe, *user_name, *user_home;
} env;

static void env_kv(Json *j, const char *key, const char *value)
{
    json_kstr(j, key, value && value[0] ? value : "<NA>");
}

static int64_t meminfo(const char *name)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[256];
    size_t nl = strlen(name);
    int64_t v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            v = strtoll(line + nl + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

static void env_mb(Json *j, const char *key, int64_t bytes)
{
    char buf[32];
    if (bytes < 0) {
        env_kv(j, key, NULL);
        return;
    }
    snprintf(buf, sizeof buf, "%lldMB", (ll)(bytes / (1024 * 1024)));
    env_kv(j, key, buf);
}

static void cmd_envi(Json *j, const CorralServerInfo *info)
{
    char buf[PATH_MAX];
    env_kv(j, "zookeeper.version", info->version);
    char host[256] = "";
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    env_kv(j, "host.name", host);
    env_kv(j, "corral.version", CORRAL_VERSION);
    env_kv(j, "corral.executable", env.exe);
    env_kv(j, "corral.config_file", info->config_file);
    env_kv(j, "corral.data_dir", info->data_dir);
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    env_kv(j, "corral.pid", buf);
#ifdef __GLIBC__
    snprintf(buf, sizeof buf, "glibc %s", gnu_get_libc_version());
    env_kv(j, "libc.version", buf);
#endif
    const char *tmp = getenv("TMPDIR");
    env_kv(j, "tmpdir", tmp && tmp[0] ? tmp : "/tmp");
    struct utsname u;
    int have_u = uname(&u) == 0;
    env_kv(j, "os.name", have_u ? u.sysname : NULL);
    env_kv(j, "os.arch", !have_u ? NULL : strcmp(u.machine, "x86_64") == 0 ? "amd64" : u.machine);
    env_kv(j, "os.version", have_u ? u.release : NULL);
    env_kv(j, "user.name", env.user_name);
    env_kv(j, "user.home", env.user_home);
    env_kv(j, "user.dir", getcwd(buf, sizeof buf));
    env_mb(j, "os.memory.free", meminfo("MemAvailable"));
    struct rlimit rl;
    int64_t max = meminfo("MemTotal");
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (max < 0 || (int64_t)rl.rlim_cur < max))
        max = (int64_t)rl.rlim_cur;
    env_mb(j, "os.memory.max", max);
    int64_t rss = -1;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        long long size, pages;
        if (fscanf(f, "%lld %lld", &size, &pages) == 2)
            rss = pages * (int64_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    env_mb(j, "os.memory.total", rss);
}

static const Cmd cmds[] = {
    {"ruok", {"ruok"}, 0, 1, cmd_ruok, "no-op: the server runs"},
    {"srvr", {"server_stats", "srvr"}, 0, 1, cmd_srvr, "server statistics: version, latency, packets, zxid, mode"},
    {"stat", {"stats", "stat"}, 0, 1, cmd_stat, "srvr with the client connections"},
    {"conf", {"configuration", "conf", "config"}, 0, 1, cmd_conf, "the serving configuration"},
    {"envi", {"environment", "env", "envi"}, 0, 0, cmd_envi, "the server's environment"},
    {"mntr", {"monitor", "mntr"}, 0, 0, cmd_mntr, "monitoring values: the keys of the mntr word"},
    {"isro", {"is_read_only", "isro"}, 0, 1, cmd_isro, "whether the server serves read-only clients only"},
    {"dirs", {"dirs"}, 0, 1, cmd_dirs, "bytes used by the data directory"},
    {"cons", {"connections", "cons"}, 0, 1, cmd_cons, "every client connection with its statistics"},
    {"wchs", {"watch_summary", "wchs"}, 0, 1, cmd_wchs, "summary of the watches"},
    {"wchc", {"watches", "wchc"}, 0, 1, cmd_wchc, "watched paths by session"},
    {"wchp", {"watches_by_path", "wchp"}, 0, 1, cmd_wchp, "watching sessions by path"},
    {"dump", {"dump"}, 0, 1, cmd_dump, "sessions by expiry time, and their ephemeral nodes"},
    {"hash", {"hash"}, 0, 1, cmd_hash, "the tree digest and the zxid it covers"},
    {"crst", {"connection_stat_reset", "crst"}, 1, 1, cmd_crst, "resets every connection's statistics"},
    {"srst", {"stat_reset", "srst"}, 1, 1, cmd_srst, "resets the server statistics"},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static const Cmd *find_cmd(const char *name, size_t len)
{
    for (size_t i = 0; i < NCMDS; i++)
        for (size_t k = 0; k < 4 && cmds[i].names[k]; k++)
            if (strlen(cmds[i].names[k]) == len && memcmp(cmds[i].names[k], name, len) == 0)
                return &cmds[i];
    return NULL;
}

/* ---- configuration and state ------------------------------------------------ */

typedef struct AdminConf {
    CorralAddr listen;
    const CorralConfig *commands;
    int allow_remote;
    const char *auth_token;
    const char *auth_token_file;
    int64_t max_answer_bytes;
} AdminConf;

#define MAX_ANSWER_SETTING "modules.admin_http.max_answer_bytes"

static struct {
    CorralModule *self;
    AdminConf conf;
    Httpd httpd;
    int allowed[sizeof cmds / sizeof cmds[0]];
    char *token;               /* NULL: no token, write commands are refused */
    size_t token_len;
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
        json_kstr(&j, "command", c->names[0]);
        json_key(&j, "names");
        json_arr_begin(&j);
        for (size_t k = 0; k < 4 && c->names[k]; k++)
            json_str(&j, c->names[k]);
        json_arr_end(&j);
        json_kstr(&j, "url", url);
        json_kbool(&j, "allowed", adm.allowed[i]);
        json_kbool(&j, "changes_state", c->writes);
        json_kbool(&j, "needs_token", c->writes);
        json_kstr(&j, "description", c->description);
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

static void handle(void *arg, const HttpdRequest *req, HttpdResponse *resp)
{
    const char *path = req->path;
    int is_get = strcmp(req->method, "GET") == 0, is_head = strcmp(req->method, "HEAD") == 0;
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
    const char *primary = c->names[0];
    if (!adm.allowed[cmd_index(c)]) {
        error_answer(resp, 403, primary,
                     "Command %s is not allowed: it is not in the commands list of the admin_http module", c->word);
        return;
    }
    int is_post = strcmp(req->method, "POST") == 0;
    if (c->writes ? !(is_get || is_post) : !(is_get || is_head)) {
        corral_strbuf_puts(&resp->headers, c->writes ? "Allow: GET, POST\r\n" : "Allow: GET, HEAD\r\n");
        error_answer(resp, 405, primary, "%s is not allowed for %s", req->method, c->word);
        return;
    }
    if (c->writes) {
        if (!adm.token) {
            error_answer(resp, 403, primary,
                         "Command %s changes the server's state and is refused: no auth_token is configured",
                         c->word);
            return;
        }
        if (!token_ok(req->authorization)) {
            corral_strbuf_puts(&resp->headers, "WWW-Authenticate: Bearer realm=\"corral\"\r\n");
            error_answer(resp, 401, primary, "Command %s needs authentication: send Authorization: Bearer TOKEN",
                         c->word);
            corral_log(CORRAL_LOG_WARN, LOG_SUB, "%s: %s refused: %s", req->peer, c->word,
                       req->authorization ? "wrong token" : "no Authorization header");
            return;
        }
    }
    CorralServerInfo info;
    get_info(&info);
    if (c->needs_server && !serving(&info)) {
        error_answer(resp, 503, primary, NOT_SERVING);
        return;
    }
    if (c->writes)
        corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s: %s (%s)", req->peer, c->word, c->description);
    resp->content_type = JSON_TYPE;
    Json j;
    json_init(&j, &resp->body);
    j.max = (size_t)adm.conf.max_answer_bytes;
    json_obj_begin(&j);
    c->run(&j, &info);
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
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        env.exe = xstrdup(buf);
    }
    /* NSS lookups may block: done once here, never while serving */
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res) {
        env.user_name = xstrdup(pw.pw_name);
        env.user_home = xstrdup(pw.pw_dir);
    }

    char err[256];
    httpd_init(&adm.httpd, LOG_SUB);
    snprintf(adm.httpd.host, sizeof adm.httpd.host, "%s", adm.conf.listen.host);
    adm.httpd.port = adm.conf.listen.port;
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
    free(env.exe);
    free(env.user_name);
    free(env.user_home);
    memset(&env, 0, sizeof env);
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
        adm.token = xstrdup(adm.conf.auth_token);
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
        adm.token = xstrdup(buf);
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
            adm.allowed[i] = !cmds[i].writes;
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
        if (c->writes && !adm.token)
            return corral_config_error(item,
                                       "\"%s\" changes the server's state: it needs \"auth_token\" (or "
                                       "\"auth_token_file\"), which requests then send as Authorization: Bearer TOKEN",
                                       w);
        adm.allowed[cmd_index(c)] = 1;
    }
    return 0;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    memset(&adm, 0, sizeof adm);
    adm.self = self;
    adm.httpd.fd = -1;
    snprintf(adm.conf.listen.host, sizeof adm.conf.listen.host, "127.0.0.1");
    adm.conf.listen.port = 8080;   /* ZooKeeper's admin.serverPort */
    adm.conf.max_answer_bytes = 1 << 20;
    if (corral_config_type(config) != CORRAL_CFG_NULL && corral_config_type(config) != CORRAL_CFG_MAP)
        return corral_config_error(config, "expected a map of settings (listen, commands, allow_remote, auth_token), "
                                           "not %s",
                                   corral_config_type_name(config));
    if (corral_config_apply(config, conf_keys, &adm.conf) < 0)
        return -1;
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
    if (corral_on_start(self, on_start, NULL) < 0 || corral_on_stop(self, on_stop, NULL) < 0)
        return -1;
    return 0;
}
