/*
 * src/backend/server/server.c: server state, the commit pipeline (group
 * commit hand-off to storage, durability gating), session expiry, the
 * container/TTL reaper, and the read-only views modules see
 * (corral/server.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "module/module.h"
#include "net/eventloop.h"
#include "server/admission.h"
#include "server/internal.h"
#include "server/replication.h"
#include "server/server.h"

Server srv;

static CorralMetric *m_latency, *m_fsync_batch;

/* ---- zxids and the turn's batch ----------------------------------------- */

/* The zxid server_next_zxid() will hand out (a reconfig's version). */
int64_t server_peek_zxid(void)
{
    if ((srv.last_zxid & 0xffffffffLL) == 0xffffffffLL)
        return (srv.epoch + 1) << 32 | 1;
    return srv.last_zxid + 1;
}

int64_t server_next_zxid(void)
{
    /* The counter is the low 32 bits; standalone never changes epoch on its
     * own, so a full counter moves to the next epoch in place. */
    if ((srv.last_zxid & 0xffffffffLL) == 0xffffffffLL) {
        srv.epoch++;
        srv.last_zxid = srv.epoch << 32;
    }
    return ++srv.last_zxid;
}

void server_log_txn(const WBuf *txn, int64_t zxid)
{
    if (replication_active())
        replication_logged(txn, zxid);
    if (!srv.storage)
        return;
    if (srv.ntx == srv.captx) {
        srv.captx = srv.captx ? srv.captx * 2 : 64;
        srv.txrecs = xrealloc(srv.txrecs, srv.captx * sizeof *srv.txrecs);
    }
    /* data holds the offset until hand-off: txbuf may move while growing. */
    srv.txrecs[srv.ntx++] = (CorralTxnRecord){zxid, (const void *)(uintptr_t)srv.txbuf.len, txn->len};
    wbuf_put_raw(&srv.txbuf, txn->data, txn->len);
}

void server_pending_write(int64_t zxid, int64_t start_ms)
{
    if (srv.pend_len == srv.pend_cap) {
        size_t ncap = srv.pend_cap ? srv.pend_cap * 2 : 256;
        PendingWrite *n = xmalloc(ncap * sizeof *n);
        for (size_t i = 0; i < srv.pend_len; i++)
            n[i] = srv.pend[(srv.pend_head + i) % srv.pend_cap];
        free(srv.pend);
        srv.pend = n;
        srv.pend_cap = ncap;
        srv.pend_head = 0;
    }
    srv.pend[(srv.pend_head + srv.pend_len++) % srv.pend_cap] = (PendingWrite){zxid, start_ms};
}

static void record_latency(int64_t ms)
{
    if (srv.lat_count == 0 || ms < srv.lat_min)
        srv.lat_min = ms;
    if (ms > srv.lat_max)
        srv.lat_max = ms;
    srv.lat_sum += ms;
    srv.lat_count++;
    corral_metric_observe(m_latency, (double)ms);
}

void server_touch_latency(ClientConn *cc, int64_t start_ms)
{
    int64_t ms = el_now_ms() - start_ms;
    if (ms < 0)
        ms = 0;
    record_latency(ms);
    if (cc) {
        if (cc->lat_count == 0 || ms < cc->lat_min)
            cc->lat_min = ms;
        if (ms > cc->lat_max)
            cc->lat_max = ms;
        cc->lat_sum += ms;
        cc->lat_count++;
        cc->lat_last = ms;
    }
}

void server_commit_point(int64_t zxid)
{
    while (srv.pend_len && srv.pend[srv.pend_head].zxid <= zxid) {
        int64_t ms = el_now_ms() - srv.pend[srv.pend_head].start_ms;
        record_latency(ms < 0 ? 0 : ms);
        srv.pend_head = (srv.pend_head + 1) % srv.pend_cap;
        srv.pend_len--;
    }
    net_set_durable_zxid(zxid);
    HOOK_COMMIT_POINT(zxid);
}

static void on_durable(void *ctx, int64_t zxid)
{
    if (replication_active()) {
        replication_local_durable(zxid);
        return;
    }
    server_commit_point(zxid);
}

static void on_storage_failed(void *ctx, const char *why)
{
    /* Nothing after the failure may be acknowledged: stop at once.  The
     * on-disk state is the truth; recovery starts from it. */
    corral_fatal("server", "storage failed: %s; exiting without acknowledging pending writes", why);
}

/* Storage foresees running out of space (why) or has room again (NULL). */
static void on_storage_space(void *ctx, const char *why) { admission_set(ADMISSION_DISK, why); }

/* End of every loop turn, before replies are flushed: hand the turn's
 * transactions to storage in one batch (group commit). */
static void commit_turn(void *arg)
{
    if (!srv.storage) {
        on_durable(NULL, srv.last_zxid);
        return;
    }
    if (srv.ntx == 0)
        return;
    for (size_t i = 0; i < srv.ntx; i++)
        srv.txrecs[i].data = srv.txbuf.data + (uintptr_t)srv.txrecs[i].data;
    char err[256] = "";
    corral_metric_observe(m_fsync_batch, (double)srv.ntx);
    if (srv.storage->append(srv.store, srv.txrecs, srv.ntx, err, sizeof err) < 0)
        on_storage_failed(NULL, err[0] ? err : "append failed");
    srv.ntx = 0;
    wbuf_reset(&srv.txbuf);
}

/* ---- expiry and reaping ------------------------------------------------- */

void server_expire_session(void *ctx, Session *s)
{
    ClientConn *cc = s->client;
    if (cc) {
        char ids[512];
        corral_log(CORRAL_LOG_INFO, "session",
                   "Expiring session 0x%llx, timeout of %dms exceeded; client %s, identities %s",
                   (unsigned long long)s->id, s->timeout_ms, cc->conn->peer_desc, client_ids_desc(cc, ids, sizeof ids));
    } else {
        corral_log(CORRAL_LOG_INFO, "session", "Expiring session 0x%llx, timeout of %dms exceeded; last client %s",
                   (unsigned long long)s->id, s->timeout_ms, s->last_client[0] ? s->last_client : "on another member");
    }
    int64_t id = s->id;
    HOOK_SESSION_EXPIRING(id);
    txn_close_session(id, el_now_ms());
    if (cc) {
        cc->session = NULL;
        net_conn_close_after_flush(cc->conn);
    }
}

static int64_t expiry_tick(void *arg)
{
    if (replication_active())
        return replication_expiry_tick();
    int64_t now = el_now_ms();
    session_expire_due(now, server_expire_session, NULL);
    return session_next_due_in(now);
}

typedef struct PathList {
    char **v;
    size_t n, cap;
} PathList;

static void collect_path(void *ctx, const char *path, size_t len)
{
    PathList *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = xstrndup(path, len);
}

/* Deletes one node by a deleteContainer transaction, as ZooKeeper's
 * ContainerManager does for empty containers and expired TTL nodes. */
static void reap(const char *path)
{
    TxnHeader h = {0, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_DELETE_CONTAINER};
    DeleteTxn d = {zk_bytes_cstr(path)};
    WBuf w = WBUF_INIT;
    jute_write_TxnHeader(&w, &h);
    jute_write_DeleteTxn(&w, &d);
    Arena a;
    arena_init(&a, 4096);
    txn_commit(&w, h.zxid, -1, &a, NULL);
    arena_free(&a);
    wbuf_free(&w);
}

static int64_t reap_tick(void *arg)
{
    if (replication_active() && !replication_may_write())
        return srv.cfg->container_check_ms;
    PathList l = {0};
    tree_containers(srv.tree, collect_path, &l);
    size_t ncontainers = l.n;
    tree_ttl_nodes(srv.tree, collect_path, &l);
    int64_t now = el_wall_ms();
    for (size_t i = 0; i < l.n; i++) {
        ZNode *n = tree_lookup(srv.tree, l.v[i], strlen(l.v[i]));
        if (n && tree_num_children(n) == 0) {
            ZStat st;
            tree_stat(srv.tree, n, &st);
            if (i < ncontainers) {
                if (st.cversion > 0)
                    reap(l.v[i]);
            } else {
                int64_t ttl = tree_owner_ttl_ms(tree_node_ephemeral_owner(n));
                if (now > st.mtime + ttl)
                    reap(l.v[i]);
            }
        }
        free(l.v[i]);
    }
    free(l.v);
    return srv.cfg->container_check_ms;
}

/* ---- recovery ----------------------------------------------------------- */

static int recover_snapshot(void *ctx, int64_t last_zxid, const void *data, size_t len)
{
    return server_load_snapshot(last_zxid, data, len);
}

static int recover_record(void *ctx, const CorralTxnRecord *rec)
{
    Arena *a = ctx;
    TxnResult res;
    if (txn_apply(rec->data, rec->len, a, &res) < 0) {
        corral_log(CORRAL_LOG_ERROR, "server", "cannot apply recovered transaction at zxid 0x%llx",
                   (unsigned long long)rec->zxid);
        return -1;
    }
    arena_reset(a);
    return 0;
}

static int open_storage(const CoreConfig *cfg)
{
    srv.storage = module_storage();
    if (!srv.storage) {
        corral_log(CORRAL_LOG_WARN, "server",
                   "no storage module configured: data lives in memory only and is lost at exit");
        return 0;
    }
    char err[512] = "";
    CorralStorageEnv env = {cfg->data_dir, on_durable, on_storage_failed, server_request_snapshot, NULL,
                             on_storage_space};
    srv.store = srv.storage->open(srv.storage->arg, &env, err, sizeof err);
    if (!srv.store) {
        corral_log(CORRAL_LOG_FATAL, "server", "storage %s: cannot open %s: %s", srv.storage->name, cfg->data_dir, err);
        return -1;
    }
    Arena a;
    arena_init(&a, 65536);
    CorralRecoverySink sink = {recover_snapshot, recover_record, &a};
    int rc = srv.storage->recover(srv.store, &sink, err, sizeof err);
    arena_free(&a);
    if (rc < 0) {
        corral_log(CORRAL_LOG_FATAL, "server", "storage %s: recovery failed: %s", srv.storage->name, err);
        return -1;
    }
    srv.epoch = srv.last_zxid >> 32;
    net_set_durable_zxid(srv.last_zxid);
    corral_log(CORRAL_LOG_INFO, "server", "recovered to zxid 0x%llx: %lld znodes, %lld sessions",
               (unsigned long long)srv.last_zxid, (long long)tree_node_count(srv.tree), (long long)session_count());
    return 0;
}

/* An ensemble member whose storage was truncated (TRUNC) rebuilds its state
 * from it: the caller emptied the tree, sessions and watches. */
int server_reopen_storage(void)
{
    if (!srv.storage || !srv.store)
        return -1;
    srv.storage->close(srv.store);
    srv.store = NULL;
    return open_storage(srv.cfg);
}

/* ---- lifecycle ---------------------------------------------------------- */

static int64_t g_outstanding(void *a) { return (int64_t)srv.pend_len; }
static int64_t g_znodes(void *a) { return srv.tree ? tree_node_count(srv.tree) : 0; }
static int64_t g_watches(void *a) { return srv.watches ? watch_mntr_count(srv.watches) : 0; }
static int64_t g_ephemerals(void *a) { return srv.tree ? tree_ephemeral_count(srv.tree) : 0; }
static int64_t g_datasize(void *a) { return srv.tree ? tree_approx_data_size(srv.tree) : 0; }
static int64_t g_conns(void *a) { return net_conn_count(); }
static int64_t g_sessions(void *a) { return session_count(); }
static int64_t g_recv(void *a) { return net_packets_received(); }
static int64_t g_sent(void *a) { return net_packets_sent(); }

void server_register_metrics(void)
{
    static const double lat_bounds[] = {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    static const double batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
    m_latency = corral_metric_histogram("request_latency_ms", "Time from request to reply, in ms", lat_bounds,
                                        (int)(sizeof lat_bounds / sizeof *lat_bounds));
    m_fsync_batch = corral_metric_histogram("commit_batch_txns", "Transactions handed to storage per loop turn",
                                            batch_bounds, (int)(sizeof batch_bounds / sizeof *batch_bounds));
    request_register_metrics();
    digest_register_metrics();
    corral_metric_gauge_fn("outstanding_requests", "Writes waiting for durability", g_outstanding, NULL);
    corral_metric_gauge_fn("znode_count", "Number of znodes", g_znodes, NULL);
    corral_metric_gauge_fn("watch_count", "Number of watches", g_watches, NULL);
    corral_metric_gauge_fn("ephemerals_count", "Number of ephemeral znodes", g_ephemerals, NULL);
    corral_metric_gauge_fn("approximate_data_size", "Sum of paths and data of all znodes", g_datasize, NULL);
    corral_metric_gauge_fn("num_alive_connections", "Open client connections", g_conns, NULL);
    corral_metric_gauge_fn("global_sessions", "Live sessions", g_sessions, NULL);
    corral_metric_gauge_fn("packets_received", "Packets received", g_recv, NULL);
    corral_metric_gauge_fn("packets_sent", "Packets sent", g_sent, NULL);
}

/* The in-memory state (tree, watches, sessions) made empty, as at startup:
 * the one place it is created anew (startup, and a member that rebuilds
 * its state from storage or from the leader's snapshot). */
void server_reset_state(void)
{
    if (srv.watches)
        watch_free(srv.watches);
    srv.watches = watch_new();
    session_table_free();
    session_table_init(srv.cfg->tick_ms, srv.cfg->max_session_timeout_ms, srv.cfg->server_id, el_now_ms(),
                       el_wall_ms());
    if (srv.tree)
        tree_free(srv.tree);
    srv.tree = tree_new();
    srv.last_zxid = 0;
    srv.epoch = 0;
    digest_reset();
}

/* The GNUmakefile sets it (from SOURCE_DATE_EPOCH when set, so that a
 * package build is reproducible); __DATE__ would defeat that. */
#ifndef CORRAL_BUILD_DATE
#define CORRAL_BUILD_DATE "unknown date"
#endif

int server_init(const CoreConfig *cfg)
{
    memset(&srv, 0, sizeof srv);
    srv.cfg = cfg;
    server_reset_state();
    srv.start_wall_ms = el_wall_ms();
    arena_init(&srv.req_arena, 16384);
    wbuf_init(&srv.txbuf);
    snprintf(srv.version_line, sizeof srv.version_line, "3.8.0-corral-%s, built on %s UTC", CORRAL_VERSION,
             CORRAL_BUILD_DATE);
    admission_init(cfg);
    /* Before net_init: the commit hand-off must run before replies flush. */
    el_add_before_sleep(commit_turn, NULL);
    if (open_storage(cfg) < 0)
        return -1;
    /* After recovery; before net_init, so that its before-sleep hook runs
     * before replies are flushed. */
    if (replication_init(cfg) < 0)
        return -1;
    NetHandlers h = {request_on_frame, request_on_close};
    if (net_init(cfg, &h) < 0)
        return -1;
    srv.expiry_timer = el_add_timer(cfg->tick_ms, expiry_tick, NULL);
    srv.container_timer = el_add_timer(cfg->container_check_ms, reap_tick, NULL);
    return 0;
}

int server_shutdown(void)
{
    replication_shutdown();
    net_shutdown();
    admission_shutdown();
    /* Whatever the last turn produced goes to storage before closing it. */
    commit_turn(NULL);
    server_snapshot_finish();
    if (srv.store) {
        srv.storage->close(srv.store);
        srv.store = NULL;
    }
    if (srv.tree)
        tree_free(srv.tree);
    if (srv.watches)
        watch_free(srv.watches);
    session_table_free();
    arena_free(&srv.req_arena);
    wbuf_free(&srv.txbuf);
    free(srv.txrecs);
    free(srv.pend);
    memset(&srv, 0, sizeof srv);
    return 0;
}
