/*
 * src/backend/server/snapshot.c: the state snapshot (tree + sessions) the
 * core hands to storage, and loading it back at recovery.
 *
 * Consistency: when storage asks for a snapshot, the loop thread clones the
 * tree (tree_clone: a copy of a few big blocks) and the session list at one
 * zxid, and a snapshot thread serialises the clone.  The snapshot is exact
 * at that zxid, not fuzzy, and writes never stop.
 *
 * Format (jute-style big-endian, see doc/storage.md):
 *   "CRLSNAP1" | long last_zxid | int nsessions | (long id, int timeout)*
 *   | int nacls | (int ref, int n, (int perms, ustring scheme, ustring id)*)*
 *   | (ustring path, buffer data, int aclref, StatPersisted)* pre-order
 *   | ustring null (end) | long digest
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "net/eventloop.h"
#include "server/internal.h"

#define SNAP_MAGIC "CRLSNAP1"

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

static void put_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n)
{
    WBuf *w = ctx;
    wbuf_put_int(w, (int32_t)id);
    wbuf_put_int(w, n);
    for (int i = 0; i < n; i++) {
        wbuf_put_int(w, acl[i].perms);
        wbuf_put_bytes(w, zk_bytes_cstr(acl[i].scheme));
        wbuf_put_bytes(w, zk_bytes_cstr(acl[i].id));
    }
}

static void count_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n) { (*(int32_t *)ctx)++; }

static int put_node(void *ctx, const char *path, size_t len, const ZNode *n)
{
    WBuf *w = ctx;
    const char *d;
    int32_t dl;
    ZStatPersisted st;
    tree_data(n, &d, &dl);
    tree_stat_persisted(n, &st);
    wbuf_put_bytes(w, (ZkBytes){path, (int32_t)len});
    wbuf_put_bytes(w, (ZkBytes){d, dl});
    wbuf_put_int(w, (int32_t)tree_node_acl(n));
    wbuf_put_long(w, st.czxid);
    wbuf_put_long(w, st.mzxid);
    wbuf_put_long(w, st.ctime);
    wbuf_put_long(w, st.mtime);
    wbuf_put_int(w, st.version);
    wbuf_put_int(w, st.cversion);
    wbuf_put_int(w, st.aversion);
    wbuf_put_long(w, st.ephemeral_owner);
    wbuf_put_long(w, st.pzxid);
    return 0;
}

static void serialize(WBuf *w, const Tree *t, int64_t zxid, const int64_t *sessions, size_t nsessions)
{
    wbuf_put_raw(w, SNAP_MAGIC, 8);
    wbuf_put_long(w, zxid);
    wbuf_put_int(w, (int32_t)nsessions);
    for (size_t i = 0; i < nsessions; i++) {
        wbuf_put_long(w, sessions[2 * i]);
        wbuf_put_int(w, (int32_t)sessions[2 * i + 1]);
    }
    int32_t nacls = 0;
    tree_acl_foreach(t, count_acl, &nacls);
    wbuf_put_int(w, nacls);
    tree_acl_foreach(t, put_acl, w);
    tree_walk(t, "/", 1, put_node, w);
    wbuf_put_bytes(w, ZK_BYTES_NULL);
    wbuf_put_long(w, (int64_t)tree_digest(t));
}

static void *snapshot_thread(void *arg)
{
    SnapJob *job = arg;
    WBuf w = WBUF_INIT;
    int64_t t0 = el_now_ms();
    serialize(&w, job->tree, job->zxid, job->sessions, job->nsessions);
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
        tree_free(job->tree);
        free(job->sessions);
        free(job);
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

int64_t server_serialize_state(WBuf *w)
{
    int64_t zxid;
    server_state_copy_serialize(server_state_copy(&zxid), w);
    return zxid;
}

void server_state_copy_serialize(StateCopy *copy, WBuf *w)
{
    SnapJob *job = (SnapJob *)copy;
    serialize(w, job->tree, job->zxid, job->sessions, job->nsessions);
    tree_free(job->tree);
    free(job->sessions);
    free(job);
}

void server_snapshot_finish(void)
{
    if (snap.thread_started) {
        pthread_join(snap.thread, NULL);
        snap.thread_started = 0;
    }
}

/* ---- loading ------------------------------------------------------------ */

typedef struct AclMap {
    int32_t from;
    uint32_t to;
} AclMap;

int server_load_snapshot(int64_t last_zxid, const void *data, size_t len)
{
    RBuf r;
    rbuf_init(&r, data, len);
    const uint8_t *magic = rbuf_get_raw(&r, 8);
    if (!magic || memcmp(magic, SNAP_MAGIC, 8) != 0) {
        corral_log(CORRAL_LOG_ERROR, "snapshot", "not a Corral snapshot (bad magic)");
        return -1;
    }
    int64_t zxid = rbuf_get_long(&r);
    if (zxid != last_zxid) {
        corral_log(CORRAL_LOG_ERROR, "snapshot", "snapshot says zxid 0x%llx, storage says 0x%llx",
                   (unsigned long long)zxid, (unsigned long long)last_zxid);
        return -1;
    }
    /* The sessions are added only once the whole snapshot is accepted (at
     * the end): they were added as they were read, so a snapshot refused
     * later left them behind, with the old tree (fuzz_snapshot's check
     * that a failed load changes nothing).  A negative count is corrupt,
     * as corralctl verify says. */
    int32_t ns = rbuf_get_int(&r);
    if (r.err || ns < 0 || (size_t)ns > rbuf_remaining(&r) / 12)
        goto corrupt;
    const uint8_t *sessions = rbuf_get_raw(&r, (size_t)ns * 12);
    int32_t nacls = rbuf_get_int(&r);
    if (r.err || nacls < 0 || (size_t)nacls > rbuf_remaining(&r))
        goto corrupt;
    Tree *t = tree_new();
    AclMap *map = xcalloc((size_t)nacls + 1, sizeof *map);
    Arena a;
    arena_init(&a, 65536);
    for (int32_t i = 0; i < nacls && !r.err; i++) {
        int32_t ref = rbuf_get_int(&r);
        int32_t n = rbuf_get_int(&r);
        if (r.err || n < 0 || (size_t)n > rbuf_remaining(&r))
            break;
        TreeAclEntry *e = arena_alloc(&a, (size_t)(n ? n : 1) * sizeof *e);
        for (int32_t k = 0; k < n; k++) {
            e[k].perms = rbuf_get_int(&r);
            ZkBytes s = rbuf_get_bytes(&r), id = rbuf_get_bytes(&r);
            e[k].scheme = arena_strndup(&a, s.data ? s.data : "", s.len > 0 ? (size_t)s.len : 0);
            e[k].id = arena_strndup(&a, id.data ? id.data : "", id.len > 0 ? (size_t)id.len : 0);
        }
        map[i] = (AclMap){ref, tree_acl_intern(t, e, n)};
    }
    int rc = 0;
    while (!r.err) {
        ZkBytes path = rbuf_get_bytes(&r);
        if (path.len < 0)
            break;
        ZkBytes d = rbuf_get_bytes(&r);
        int32_t ref = rbuf_get_int(&r);
        ZStatPersisted st;
        st.czxid = rbuf_get_long(&r);
        st.mzxid = rbuf_get_long(&r);
        st.ctime = rbuf_get_long(&r);
        st.mtime = rbuf_get_long(&r);
        st.version = rbuf_get_int(&r);
        st.cversion = rbuf_get_int(&r);
        st.aversion = rbuf_get_int(&r);
        st.ephemeral_owner = rbuf_get_long(&r);
        st.pzxid = rbuf_get_long(&r);
        if (r.err)
            break;
        uint32_t acl = TREE_ACL_NONE;
        for (int32_t i = 0; i < nacls; i++)
            if (map[i].from == ref) {
                acl = map[i].to;
                break;
            }
        if (acl == TREE_ACL_NONE || tree_restore_node(t, path.data, (size_t)path.len, d.data, d.len, acl, &st) != 0) {
            rc = -1;
            break;
        }
    }
    int64_t digest = rbuf_get_long(&r);
    for (int32_t i = 0; i < nacls; i++)
        if (map[i].to != TREE_ACL_NONE)
            tree_acl_release(t, map[i].to);
    free(map);
    arena_free(&a);
    if (r.err || rc < 0 || (uint64_t)digest != tree_digest(t)) {
        tree_free(t);
        goto corrupt;
    }
    tree_free(srv.tree);
    srv.tree = t;
    srv.last_zxid = zxid;
    quota_rescan();
    RBuf sr;
    rbuf_init(&sr, sessions, (size_t)ns * 12);
    for (int32_t i = 0; i < ns; i++) {
        int64_t id = rbuf_get_long(&sr);
        int32_t to = rbuf_get_int(&sr);
        session_add(id, to, el_now_ms());
    }
    return 0;
corrupt:
    corral_log(CORRAL_LOG_ERROR, "snapshot", "snapshot at zxid 0x%llx is corrupt (offset %zu)",
               (unsigned long long)last_zxid, r.pos);
    return -1;
}
