/*
 * src/backend/server/snapshot.c: the state snapshot (tree + sessions) the
 * core hands to storage, and loading it back at recovery.
 *
 * Consistency: when storage asks for a snapshot, the loop thread clones the
 * tree (tree_clone: a copy of a few big blocks) and the session list at one
 * zxid, and a snapshot thread serialises the clone.  The snapshot is exact
 * at that zxid, not fuzzy, and writes never stop.
 *
 * The payload's format and its codec: tree/tree_snapshot.c (shared with
 * corralctl import-zookeeper and export-zookeeper).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "net/eventloop.h"
#include "server/internal.h"

typedef struct SnapJob {
    Tree *tree;
    int64_t zxid;
    int64_t *sessions;     /* id, timeout pairs */
    size_t nsessions;
} SnapJob;

static struct {
    pthread_t thread;
    int thread_started;
    atomic_int running;
    int again;             /* a request arrived while running */
} snap;

static void *snapshot_thread(void *arg)
{
    SnapJob *job = arg;
    WBuf w = WBUF_INIT;
    int64_t t0 = el_now_ms();
    tree_snapshot_encode(&w, job->tree, job->zxid, job->sessions, job->nsessions);
    char err[256] = "";
    if (srv.storage->snapshot(srv.store, job->zxid, w.data, w.len, err, sizeof err) < 0)
        corral_log(CORRAL_LOG_ERROR, "snapshot", "storing the snapshot at zxid 0x%llx failed: %s",
                   (unsigned long long)job->zxid, err);
    else
        corral_log(CORRAL_LOG_INFO, "snapshot", "snapshot at zxid 0x%llx: %zu bytes before compression",
                   (unsigned long long)job->zxid, w.len);
    (void)t0;
    wbuf_free(&w);
    tree_free(job->tree);
    free(job->sessions);
    free(job);
    atomic_store(&snap.running, 0);
    return NULL;
}

typedef struct SessCollect {
    int64_t *v;
    size_t n, cap;
} SessCollect;

static void collect_session(void *ctx, Session *s)
{
    SessCollect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, 2 * c->cap * sizeof *c->v);
    }
    c->v[2 * c->n] = s->id;
    c->v[2 * c->n + 1] = s->timeout_ms;
    c->n++;
}

void server_request_snapshot(void *ctx)
{
    if (!srv.storage || !srv.storage->snapshot)
        return;
    if (atomic_load(&snap.running)) {
        snap.again = 1;
        return;
    }
    if (snap.thread_started) {
        pthread_join(snap.thread, NULL);
        snap.thread_started = 0;
    }
    int64_t zxid;
    SnapJob *job = (SnapJob *)server_state_copy(&zxid);
    atomic_store(&snap.running, 1);
    if (pthread_create(&snap.thread, NULL, snapshot_thread, job) != 0) {
        corral_log(CORRAL_LOG_ERROR, "snapshot", "cannot start the snapshot thread; snapshot skipped");
        atomic_store(&snap.running, 0);
        server_state_copy_free((StateCopy *)job);
        return;
    }
    snap.thread_started = 1;
}

StateCopy *server_state_copy(int64_t *zxid)
{
    SnapJob *job = xcalloc(1, sizeof *job);
    job->tree = tree_clone(srv.tree);
    job->zxid = srv.last_zxid;
    SessCollect sc = {0};
    session_foreach(collect_session, &sc);
    job->sessions = sc.v;
    job->nsessions = sc.n;
    *zxid = job->zxid;
    return (StateCopy *)job;
}

void server_state_copy_free(StateCopy *copy)
{
    SnapJob *job = (SnapJob *)copy;
    tree_free(job->tree);
    free(job->sessions);
    free(job);
}

void server_state_copy_serialize(StateCopy *copy, WBuf *w)
{
    SnapJob *job = (SnapJob *)copy;
    tree_snapshot_encode(w, job->tree, job->zxid, job->sessions, job->nsessions);
    server_state_copy_free(copy);
}

/* The state at this instant, encoded on the loop thread (no clone). */
int64_t server_serialize_state(WBuf *w)
{
    SessCollect sc = {0};
    session_foreach(collect_session, &sc);
    tree_snapshot_encode(w, srv.tree, srv.last_zxid, sc.v, sc.n);
    free(sc.v);
    return srv.last_zxid;
}

int corral_server_snapshot(void **data, size_t *len, int64_t *zxid, int64_t *durable_zxid, int store)
{
    if (!srv.tree)
        return -1;
    WBuf w = WBUF_INIT;
    *zxid = server_serialize_state(&w);
    *data = w.data;     /* handed over: the caller frees it */
    *len = w.len;
    *durable_zxid = net_durable_zxid();
    if (store)
        server_request_snapshot(NULL);
    return 0;
}

int64_t corral_server_durable_zxid(void) { return net_durable_zxid(); }

int64_t corral_server_node_count(void) { return srv.tree ? tree_node_count(srv.tree) : 0; }

struct CorralSnapshotJob {
    StateCopy *copy;        /* consumed by the thread */
    pthread_t thread;
    atomic_int done;
    WBuf w;
};

static void *admin_snapshot_thread(void *arg)
{
    CorralSnapshotJob *j = arg;
    server_state_copy_serialize(j->copy, &j->w);
    j->copy = NULL;
    atomic_store(&j->done, 1);
    return NULL;
}

CorralSnapshotJob *corral_server_snapshot_start(int64_t *zxid, int store)
{
    if (!srv.tree)
        return NULL;
    CorralSnapshotJob *j = xcalloc(1, sizeof *j);
    j->copy = server_state_copy(zxid);
    if (pthread_create(&j->thread, NULL, admin_snapshot_thread, j) != 0) {
        server_state_copy_free(j->copy);
        free(j);
        return NULL;
    }
    if (store)
        server_request_snapshot(NULL);
    return j;
}

int corral_server_snapshot_poll(CorralSnapshotJob *j, void **data, size_t *len)
{
    if (!atomic_load(&j->done))
        return 0;
    pthread_join(j->thread, NULL);
    *data = j->w.data;
    *len = j->w.len;
    free(j);
    return 1;
}

void corral_server_snapshot_cancel(CorralSnapshotJob *j)
{
    if (!j)
        return;
    pthread_join(j->thread, NULL);
    wbuf_free(&j->w);
    free(j);
}

void server_snapshot_finish(void)
{
    if (snap.thread_started) {
        pthread_join(snap.thread, NULL);
        snap.thread_started = 0;
    }
}

/* ---- loading ------------------------------------------------------------ */

int server_load_snapshot(int64_t last_zxid, const void *data, size_t len)
{
    /* The sessions are added only once the whole snapshot is accepted: a
     * snapshot refused half-way leaves nothing behind (fuzz_snapshot's
     * check that a failed load changes nothing). */
    TreeSnapshot ts;
    char why[200];
    if (tree_snapshot_decode(data, len, last_zxid, &ts, why, sizeof why) < 0) {
        corral_log(CORRAL_LOG_ERROR, "snapshot", "%s", why);
        return -1;
    }
    tree_free(srv.tree);
    srv.tree = ts.tree;
    ts.tree = NULL;
    srv.last_zxid = ts.zxid;
    quota_rescan();
    for (size_t i = 0; i < ts.nsessions; i++)
        session_add(ts.sessions[2 * i], (int32_t)ts.sessions[2 * i + 1], el_now_ms());
    tree_snapshot_free(&ts);
    return 0;
}
