/*
 * src/backend/server/info.c: the read-only views of corral/server.h, for
 * four-letter words, exporters and admin endpoints.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "metrics/metrics.h"
#include "module/module.h"
#include "net/eventloop.h"
#include "reload/reload.h"
#include "server/internal.h"
#include "server/replication.h"

static int64_t count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int64_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;   /* the directory's own fd */
}

void corral_server_info(CorralServerInfo *info)
{
    uint32_t size = info->size;
    CorralServerInfo v;
    memset(&v, 0, sizeof v);
    v.size = sizeof v;
    v.version = srv.version_line;
    v.mode = replication_active() ? replication_mode() : "standalone";
    v.last_zxid = srv.last_zxid;
    /* ZooKeeper counts the root twice ("" and "/"); print its number. */
    v.node_count = srv.tree ? tree_node_count(srv.tree) + 1 : 0;
    v.watch_count = srv.watches ? watch_count(srv.watches) : 0;
    v.ephemerals_count = srv.tree ? tree_ephemeral_count(srv.tree) : 0;
    v.approximate_data_size = srv.tree ? tree_approx_data_size(srv.tree) : 0;
    v.connections = net_conn_count();
    v.outstanding_requests = (int64_t)srv.pend_len;
    v.packets_received = net_packets_received();
    v.packets_sent = net_packets_sent();
    v.latency_min_ms = srv.lat_count ? srv.lat_min : 0;
    v.latency_avg_ms = srv.lat_count ? (double)srv.lat_sum / (double)srv.lat_count : 0.0;
    v.latency_max_ms = srv.lat_max;
    v.session_count = session_count();
    v.uptime_ms = el_wall_ms() - srv.start_wall_ms;
    if (srv.cfg) {
        v.server_id = srv.cfg->server_id;
        v.read_only = replication_active() ? replication_read_only() : 0;
        v.client_listen = net_listen_desc();
        v.client_port = net_listen_port();
        v.data_dir = srv.cfg->data_dir;
        v.config_file = srv.cfg->file;
        v.tick_ms = srv.cfg->tick_ms;
        v.min_session_timeout_ms = srv.cfg->min_session_timeout_ms;
        v.max_session_timeout_ms = srv.cfg->max_session_timeout_ms;
        v.max_client_connections = srv.cfg->max_client_connections;
        v.max_request_bytes = srv.cfg->max_request_bytes;
    }
    v.open_fds = count_open_fds();
    struct rlimit rl;
    v.max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int64_t)rl.rlim_cur : -1;
    memcpy(info, &v, size < sizeof v ? size : sizeof v);
    info->size = size;
}

/* net_foreach_conn cannot stop; once the visitor said stop, the remaining
 * connections are skipped without building their view (there are at most
 * as many as file descriptors). */
typedef struct ConnIter {
    CorralConnVisitFn fn;
    void *ctx;
    int stopped;
} ConnIter;

static void conn_visit(void *ctx, Conn *c)
{
    ConnIter *it = ctx;
    if (it->stopped)
        return;
    ClientConn *cc = c->proto;
    CorralConnInfo ci;
    memset(&ci, 0, sizeof ci);
    ci.size = sizeof ci;
    ci.peer = c->peer_desc;
    ci.session_id = cc && cc->session ? cc->session->id : 0;
    ci.received = c->packets_received;
    ci.sent = c->packets_sent;
    ci.established_ms = c->established_ms;
    ci.last_response_ms = c->last_response_ms;
    if (cc) {
        ci.timeout_ms = cc->session ? cc->session->timeout_ms : 0;
        ci.last_zxid = cc->last_zxid;
        ci.last_op = cc->last_op;
        ci.last_cxid = cc->last_cxid;
        ci.last_latency_ms = cc->lat_last;
        ci.min_latency_ms = cc->lat_count ? cc->lat_min : 0;
        ci.max_latency_ms = cc->lat_max;
        ci.avg_latency_ms = cc->lat_count ? (double)cc->lat_sum / (double)cc->lat_count : 0;
    } else {
        ci.last_op = "NA";
        ci.last_cxid = -1;
    }
    it->stopped = it->fn(it->ctx, &ci) != 0;
}

int corral_server_visit_conns(CorralConnVisitFn fn, void *ctx)
{
    ConnIter it = {fn, ctx, 0};
    net_foreach_conn(conn_visit, &it);
    return it.stopped;
}

/* The void-callback forms of corral/server.h, on top of the visits. */
typedef struct VoidCall {
    void (*conn)(void *ctx, const CorralConnInfo *c);
    CorralWatchFn path;
    void *ctx;
} VoidCall;

static int void_conn(void *ctx, const CorralConnInfo *c)
{
    VoidCall *v = ctx;
    v->conn(v->ctx, c);
    return 0;
}

static int void_path(void *ctx, int64_t session, const char *path, size_t len)
{
    VoidCall *v = ctx;
    v->path(v->ctx, session, path, len);
    return 0;
}

void corral_server_foreach_conn(void (*fn)(void *ctx, const CorralConnInfo *c), void *ctx)
{
    VoidCall v = {fn, NULL, ctx};
    corral_server_visit_conns(void_conn, &v);
}

static void reset_conn(void *ctx, Conn *c)
{
    ClientConn *cc = c->proto;
    c->packets_received = c->packets_sent = 0;
    if (cc) {
        cc->lat_min = cc->lat_max = cc->lat_sum = cc->lat_count = cc->lat_last = 0;
        cc->last_op = "NA";
        cc->last_cxid = -1;
        cc->last_zxid = -1;
    }
}

void corral_server_reset_stats(void)
{
    srv.lat_min = srv.lat_max = srv.lat_sum = srv.lat_count = 0;
    net_reset_stats();
}

void corral_server_reset_conn_stats(void) { net_foreach_conn(reset_conn, NULL); }

int64_t corral_server_watch_paths(void) { return srv.watches ? watch_path_count(srv.watches) : 0; }
int64_t corral_server_watching_sessions(void) { return srv.watches ? watch_watcher_count(srv.watches) : 0; }

typedef struct WatchIter {
    CorralWatchVisitFn fn;
    void *ctx;
} WatchIter;

static int watch_visit(void *ctx, WatcherId w, const char *path, size_t len)
{
    WatchIter *it = ctx;
    return it->fn(it->ctx, (int64_t)w, path, len);
}

int corral_server_visit_watches_by_session(CorralWatchVisitFn fn, void *ctx)
{
    WatchIter it = {fn, ctx};
    return srv.watches ? watch_report_by_session(srv.watches, watch_visit, &it) : 0;
}

int corral_server_visit_watches_by_path(CorralWatchVisitFn fn, void *ctx)
{
    WatchIter it = {fn, ctx};
    return srv.watches ? watch_report_by_path(srv.watches, watch_visit, &it) : 0;
}

void corral_server_watches_by_session(CorralWatchFn fn, void *ctx)
{
    VoidCall v = {NULL, fn, ctx};
    corral_server_visit_watches_by_session(void_path, &v);
}

void corral_server_watches_by_path(CorralWatchFn fn, void *ctx)
{
    VoidCall v = {NULL, fn, ctx};
    corral_server_visit_watches_by_path(void_path, &v);
}

typedef struct SessIter {
    CorralSessionFn fn;
    void *ctx;
} SessIter;

static void sess_visit(void *ctx, Session *s)
{
    SessIter *it = ctx;
    it->fn(it->ctx, s->id, s->timeout_ms);
}

void corral_server_foreach_session(CorralSessionFn fn, void *ctx)
{
    SessIter it = {fn, ctx};
    session_foreach(sess_visit, &it);
}

typedef struct EphIter {
    CorralWatchVisitFn fn;
    void *ctx;
    int64_t session;
} EphIter;

static int eph_visit(void *ctx, const char *path, size_t len)
{
    EphIter *it = ctx;
    return it->fn(it->ctx, it->session, path, len);
}

int corral_server_visit_session_ephemerals(int64_t session, CorralWatchVisitFn fn, void *ctx)
{
    EphIter it = {fn, ctx, session};
    return srv.tree ? tree_session_ephemerals_visit(srv.tree, session, eph_visit, &it) : 0;
}

void corral_server_session_ephemerals(int64_t session, CorralWatchFn fn, void *ctx)
{
    VoidCall v = {NULL, fn, ctx};
    corral_server_visit_session_ephemerals(session, void_path, &v);
}

void corral_server_conf(void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    const CoreConfig *c = srv.cfg;
    if (!c)
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "%d", net_listen_port());
    fn(ctx, "clientPort", buf);
    fn(ctx, "secureClientPort", "-1");
    fn(ctx, "dataDir", c->data_dir);
    fn(ctx, "dataLogDir", c->data_dir);
    snprintf(buf, sizeof buf, "%lld", (long long)c->tick_ms);
    fn(ctx, "tickTime", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->max_client_connections);
    fn(ctx, "maxClientCnxns", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->min_session_timeout_ms);
    fn(ctx, "minSessionTimeout", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)c->max_session_timeout_ms);
    fn(ctx, "maxSessionTimeout", buf);
    fn(ctx, "clientPortListenBacklog", "1024");
    snprintf(buf, sizeof buf, "%lld", (long long)c->server_id);
    fn(ctx, "serverId", buf);
    /* After a reload only, so that a fresh server's conf is ZooKeeper's:
     * what the file changed that waits for a restart (PostgreSQL's
     * pending_restart), and how the last reload went. */
    if (reload_count() > 0 || reload_last_result()[0]) {
        fn(ctx, "pending_restart", reload_pending_restart());
        fn(ctx, "last_reload", reload_last_result());
    }
    /* Last: ZooKeeper's conf ends with the membership. */
    if (replication_active())
        replication_conf(fn, ctx);
}

int corral_server_reload(char *out, size_t outlen) { return reload_run(out, outlen); }
const char *corral_server_pending_restart(void) { return reload_pending_restart(); }

uint64_t corral_server_tree_digest(int64_t *zxid)
{
    if (zxid)
        *zxid = srv.last_zxid;
    return srv.tree ? tree_digest(srv.tree) : 0;
}
