/*
 * src/backend/server/replication.c: the server side of the ZAB ensemble:
 * the host functions zab/zab.h asks for (apply, log, truncate, snapshots,
 * forwarded requests, sessions) and the hooks the server calls
 * (replication.h).
 *
 * Requests on a learner: reads are served locally; writes, createSession,
 * closeSession and sync are forwarded to the leader and answered when the
 * matching committed txn is applied here (TxnHeader clientId + cxid) or the
 * sync round comes back.  A session's frames that arrive while one of its
 * forwarded requests is outstanding are queued and replayed in order
 * (FIFO per session).  On the leader, only sync is asynchronous.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "net/eventloop.h"
#include "server/admission.h"
#include "server/replication.h"
#include "zab/zab.h"

#define QUEUE_MAX_FRAMES 100000

/* OUT_REFUSED: a request refused here (admission) behind forwarded ones;
 * its error (in token) is answered when it reaches the head. */
/* OUT_READINDEX: a sync round before reads (server.linearizable_reads); its
 * token's `covers`: the reads received before it was sent. */
enum { OUT_WRITE = 1, OUT_CREATE, OUT_CLOSE, OUT_SYNC, OUT_REVALIDATE, OUT_REFUSED, OUT_READINDEX };

typedef struct Outstanding {
    int kind;
    int32_t xid;
    uint64_t token;
    int64_t start_ms;
    char *path;               /* sync */
    uint64_t covers;          /* OUT_READINDEX: frames with seq < covers */
} Outstanding;

typedef struct QFrame {
    uint8_t *data;
    size_t len;
    uint64_t seq;             /* arrival order on the connection */
} QFrame;

typedef struct ReplClient {
    ClientConn *cc;
    int read_only;            /* a read-only client with a local session */
    Outstanding *out;
    size_t nout, capout;
    QFrame *q;
    size_t qhead, nq, capq;
    int64_t pending_sid;      /* createSession forwarded */
    int revalidated;          /* an unknown session id was checked once */
    uint64_t next_seq;        /* the next frame's arrival number */
    uint64_t read_fence;      /* reads with seq below it follow a completed sync round */
    struct ReplClient *prev, *next;
} ReplClient;

static struct {
    int active;
    const CoreConfig *cfg;
    uint64_t next_token;
    int replaying;
    uint64_t cur_seq;         /* arrival number of the frame being handled */
    ReplClient *clients;
    Arena arena;
} rp;

int replication_active(void) { return rp.active; }

/* ---- per-client state ---------------------------------------------------- */

static ReplClient *rc_of(ClientConn *cc)
{
    if (cc->repl)
        return cc->repl;
    ReplClient *rc = xcalloc(1, sizeof *rc);
    rc->cc = cc;
    rc->next = rp.clients;
    if (rp.clients)
        rp.clients->prev = rc;
    rp.clients = rc;
    cc->repl = rc;
    return rc;
}

static void rc_free(ReplClient *rc)
{
    for (size_t i = 0; i < rc->nout; i++)
        free(rc->out[i].path);
    for (size_t i = 0; i < rc->nq; i++)
        free(rc->q[rc->qhead + i].data);
    free(rc->out);
    free(rc->q);
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        rp.clients = rc->next;
    if (rc->next)
        rc->next->prev = rc->prev;
    free(rc);
}

static void forget_syncs(ClientConn *cc);

void replication_client_closed(ClientConn *cc)
{
    ReplClient *rc = cc->repl;
    forget_syncs(cc);
    if (rc && rc->read_only && cc->session) {
        /* A local session: it never was replicated and ends here. */
        int64_t sid = cc->session->id;
        watch_remove_watcher(srv.watches, (WatcherId)sid);
        session_remove(sid);
        cc->session = NULL;
    }
    if (cc->repl) {
        rc_free(cc->repl);
        cc->repl = NULL;
    }
}

static void push_out(ReplClient *rc, int kind, int32_t xid, uint64_t token, const char *path, size_t plen)
{
    if (rc->nout == rc->capout) {
        rc->capout = rc->capout ? rc->capout * 2 : 4;
        rc->out = xrealloc(rc->out, rc->capout * sizeof *rc->out);
    }
    rc->out[rc->nout++] = (Outstanding){kind, xid, token, el_now_ms(), path ? xstrndup(path, plen) : NULL, 0};
}

static void pop_out(ReplClient *rc)
{
    free(rc->out[0].path);
    memmove(rc->out, rc->out + 1, (rc->nout - 1) * sizeof *rc->out);
    rc->nout--;
}

static int has_sync_out(const ReplClient *rc)
{
    for (size_t i = 0; i < rc->nout; i++)
        if (rc->out[i].kind != OUT_WRITE && rc->out[i].kind != OUT_CLOSE)
            return 1;
    return 0;
}

static int enqueue(ReplClient *rc, const uint8_t *frame, size_t len)
{
    if (rc->nq >= QUEUE_MAX_FRAMES) {
        net_conn_close(rc->cc->conn, "too many requests queued behind a forwarded one");
        return 1;
    }
    if (rc->qhead + rc->nq == rc->capq) {
        if (rc->qhead) {
            memmove(rc->q, rc->q + rc->qhead, rc->nq * sizeof *rc->q);
            rc->qhead = 0;
        } else {
            rc->capq = rc->capq ? rc->capq * 2 : 8;
            rc->q = xrealloc(rc->q, rc->capq * sizeof *rc->q);
        }
    }
    uint8_t *d = xmalloc(len ? len : 1);
    memcpy(d, frame, len);
    rc->q[rc->qhead + rc->nq++] = (QFrame){d, len, rp.cur_seq};
    return 1;
}

/* The frame being replayed goes back to the head of the queue (it waits
 * for a sync round of its own; the frames behind it keep their place). */
static void requeue_front(ReplClient *rc, const uint8_t *frame, size_t len)
{
    if (rc->qhead == 0) {
        enqueue(rc, frame, len);   /* makes room at the end, then rotate it to the front */
        QFrame f = rc->q[rc->nq - 1];
        memmove(rc->q + 1, rc->q, (rc->nq - 1) * sizeof *rc->q);
        rc->q[0] = f;
        return;
    }
    uint8_t *d = xmalloc(len ? len : 1);
    memcpy(d, frame, len);
    rc->q[--rc->qhead] = (QFrame){d, len, rp.cur_seq};
    rc->nq++;
}

/* A request that becomes a transaction (forwarded to the leader). */
static int op_is_write(int32_t type) { return zk_op_is(type, ZK_OPC_WRITE); }

/* May this frame be handled now (else it waits behind the outstanding
 * requests)?  A learner pipelines writes behind writes (the leader keeps
 * their order); anything else waits until nothing is outstanding. */
static int may_run(ReplClient *rc, const uint8_t *frame, size_t len)
{
    if (rc->nout == 0)
        return 1;
    if (zab_is_leader() || len < 8 || has_sync_out(rc))
        return 0;
    int32_t type = (int32_t)((uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 | (uint32_t)frame[6] << 8 | frame[7]);
    return op_is_write(type) || type == ZOO_OP_CLOSE_SESSION;
}

static void drain(ReplClient *rc)
{
    ClientConn *cc = rc->cc;
    Conn *c = cc->conn;
    while (rc->nq && !c->closed && c->proto == cc) {
        QFrame f = rc->q[rc->qhead];
        if (!may_run(rc, f.data, f.len))
            break;
        rc->qhead++;
        rc->nq--;
        rp.replaying = 1;
        rp.cur_seq = f.seq;
        request_on_frame(c, f.data, f.len);
        rp.replaying = 0;
        free(f.data);
        if (c->closed || c->proto != cc)
            return;   /* cc and rc are gone */
    }
}

static void complete_head(ReplClient *rc)
{
    if (rc->nout)
        pop_out(rc);
    while (rc->nout && rc->out[0].kind == OUT_REFUSED) {
        reply_error(rc->cc, rc->out[0].xid, (int32_t)(uint32_t)rc->out[0].token);
        pop_out(rc);
    }
    drain(rc);
}

size_t replication_in_flight(const ClientConn *cc)
{
    const ReplClient *rc = cc->repl;
    return rc ? rc->nout : 0;
}

/* Answers a refused request in its place among the session's replies. */
static void refuse_in_order(ReplClient *rc, int32_t xid, int err)
{
    if (rc->nout == 0)
        reply_error(rc->cc, xid, err);
    else
        push_out(rc, OUT_REFUSED, xid, (uint64_t)(uint32_t)err, NULL, 0);
}

/* ---- replies built on a learner ------------------------------------------ */


static void send_connect_response(ClientConn *cc, Session *s)
{
    Conn *c = cc->conn;
    net_conn_hold(c, srv.last_zxid);
    size_t off = wbuf_begin_frame(&c->out);
    ConnectResponse r = {0, s->timeout_ms, s->id, {(const char *)s->passwd, SESSION_PASSWD_LEN}};
    /* readOnly true for a read-only member's local session (the client
     * shows CONNECTED_RO); absent when the client sent no readOnly byte. */
    const ReplClient *rc = cc->repl;
    wire_write_connect_response(&c->out, &r, rc && rc->read_only ? 1 : cc->ro_layout < 0 ? -1 : 0);
    wbuf_end_frame(&c->out, off);
    net_count_sent(c);
    net_conn_flush_later(c);
}

static ReplClient *find_pending_create(int64_t sid)
{
    for (ReplClient *rc = rp.clients; rc; rc = rc->next)
        if (rc->pending_sid == sid && rc->nout && rc->out[0].kind == OUT_CREATE)
            return rc;
    return NULL;
}

/* ---- host functions: learner ------------------------------------------------ */

int64_t zab_host_applied(void) { return srv.last_zxid; }

/* server.test_diverge_path (test only): this learner corrupts the data of
 * that znode each time it applies a txn, so that its tree differs from the
 * leader's and the digest check must notice. */
static void test_diverge(void)
{
    const char *p = rp.cfg->test_diverge_path;
    if (!p || !tree_lookup(srv.tree, p, strlen(p)))
        return;
    tree_set_data(srv.tree, p, strlen(p), "diverged", 8, 0, srv.last_zxid, 0, NULL);
    digest_note(srv.last_zxid, tree_digest(srv.tree));
}

void zab_host_apply(int64_t zxid, const uint8_t *txn, size_t len)
{
    arena_reset(&rp.arena);
    RBuf r;
    rbuf_init(&r, txn, len);
    TxnHeader h;
    if (jute_read_TxnHeader(&r, &rp.arena, &h) < 0)
        goto broken;
    ClientConn *closing = NULL;
    if (h.type == ZOO_OP_CLOSE_SESSION) {
        Session *s = session_find(h.clientId);
        closing = s ? s->client : NULL;
        if (s && s->last_client[0] && !zab_is_leader())
            corral_log(CORRAL_LOG_INFO, "session", "Session 0x%llx closed (zxid 0x%llx); its last client here was %s",
                       (unsigned long long)s->id, (unsigned long long)h.zxid, s->last_client);
    }
    TxnResult res;
    if (txn_apply(txn, len, &rp.arena, &res) < 0)
        goto broken;
    if (rp.cfg->test_diverge_path)
        test_diverge();
    if (h.clientId == 0)
        return;
    if (h.type == ZOO_OP_CREATE_SESSION) {
        ReplClient *rc = find_pending_create(h.clientId);
        Session *s = session_find(h.clientId);
        if (rc && s && !rc->cc->conn->closed) {
            ClientConn *cc = rc->cc;
            session_attach(cc, s);
            client_log_session(cc, "Established", s->id);
            rc->pending_sid = 0;
            send_connect_response(cc, s);
            complete_head(rc);
        }
        return;
    }
    if (h.type == ZOO_OP_CLOSE_SESSION) {
        if (closing) {
            ReplClient *rc = closing->repl;
            closing->session = NULL;
            if (rc && rc->nout && rc->out[0].kind == OUT_CLOSE) {
                net_conn_hold(closing->conn, h.zxid);
                reply_error(closing, rc->out[0].xid, ZERR_OK);
                pop_out(rc);
            }
            net_conn_close_after_flush(closing->conn);
        }
        return;
    }
    Session *s = session_find(h.clientId);
    ClientConn *cc = s ? s->client : NULL;
    ReplClient *rc = cc ? cc->repl : NULL;
    if (!rc || !rc->nout || rc->out[0].kind != OUT_WRITE || rc->out[0].xid != h.cxid)
        return;
    write_reply(cc, &h, &res);
    server_touch_latency(cc, rc->out[0].start_ms);
    complete_head(rc);
    return;
broken:
    corral_fatal("replication", "cannot apply the committed txn 0x%llx; exiting",
               (unsigned long long)zxid);
}

static void try_complete_syncs(void);

void zab_host_commit_point(int64_t zxid)
{
    server_commit_point(zxid);
    try_complete_syncs();
}

int zab_host_log(const ZabTxn *t, size_t n)
{
    if (!srv.storage) {
        zab_local_durable(t[n - 1].zxid);
        return 0;
    }
    CorralTxnRecord *recs = xmalloc(n * sizeof *recs);
    for (size_t i = 0; i < n; i++)
        recs[i] = (CorralTxnRecord){t[i].zxid, t[i].data, t[i].len};
    char err[256] = "";
    int rc = srv.storage->append(srv.store, recs, n, err, sizeof err);
    free(recs);
    if (rc < 0) {
        corral_fatal("replication", "storage append failed: %s; exiting", err);
    }
    return 0;
}

static int storage_truncate(int64_t zxid)
{
    if (!srv.storage)
        return 0;
    if (srv.storage->size < offsetof(CorralStorage, truncate) + sizeof srv.storage->truncate ||
        !srv.storage->truncate) {
        corral_log(CORRAL_LOG_ERROR, "replication", "storage %s cannot truncate", srv.storage->name);
        return -1;
    }
    HOOK_TRUNCATED(zxid);
    char err[256] = "";
    if (srv.storage->truncate(srv.store, zxid, err, sizeof err) < 0) {
        corral_fatal("replication", "storage truncate to 0x%llx failed: %s; exiting",
                   (unsigned long long)zxid, err);
    }
    return 0;
}

int zab_host_truncate(int64_t zxid) { return storage_truncate(zxid); }

static void drop_clients(const char *why);
static void snapshot_join(void);

/* TRUNC below what this member applied (an old leader, a restarted member
 * that replayed its uncommitted proposals): truncate the storage and
 * rebuild the state from it.  -1 when the storage keeps nothing to rebuild
 * from (then the learner asks for a SNAP). */
int zab_host_reload(int64_t zxid)
{
    if (!srv.storage || !srv.storage->snapshot || !srv.store)
        return -1;
    if (srv.storage->size < offsetof(CorralStorage, truncate) + sizeof srv.storage->truncate ||
        !srv.storage->truncate)
        return -1;
    snapshot_join();
    server_snapshot_finish();
    if (storage_truncate(zxid) < 0)
        return -1;
    drop_clients(NULL);
    server_reset_state();
    if (server_reopen_storage() < 0) {
        corral_fatal("replication", "cannot reopen the storage after truncating it; exiting");
    }
    corral_log(CORRAL_LOG_INFO, "replication", "state rebuilt from storage up to 0x%llx (TRUNC to 0x%llx)",
               (unsigned long long)srv.last_zxid, (unsigned long long)zxid);
    return srv.last_zxid == zxid ? 0 : -1;
}

static void close_client(void *ctx, Conn *c)
{
    if (c->is_client)
        net_conn_close(c, ctx);
}

static void drop_clients(const char *why) { net_foreach_conn(close_client, (void *)why); }

/* Storing the leader's snapshot happens on a thread of its own, so the
 * learner's loop keeps answering the leader's pings; the learner
 * acknowledges NEWLEADER only once zab_snapshot_stored() said so. */
static struct {
    pthread_t thread;
    int running;
    int efd;
    int64_t zxid;
    void *data;
    size_t len;
    int ok;
    char err[256];
} snapjob = {.efd = -1};

static void *snapshot_store_thread(void *arg)
{
    snapjob.ok = srv.storage->snapshot(srv.store, snapjob.zxid, snapjob.data, snapjob.len, snapjob.err,
                                       sizeof snapjob.err) == 0;
    uint64_t one = 1;
    ssize_t w = write(snapjob.efd, &one, sizeof one);
    (void)w;
    return NULL;
}

static void snapshot_join(void)
{
    if (!snapjob.running)
        return;
    pthread_join(snapjob.thread, NULL);
    snapjob.running = 0;
    free(snapjob.data);
    snapjob.data = NULL;
    uint64_t v;
    ssize_t r = read(snapjob.efd, &v, sizeof v);
    (void)r;
    if (!snapjob.ok) {
        corral_fatal("replication", "storing the leader's snapshot failed: %s; exiting", snapjob.err);
    }
    corral_log(CORRAL_LOG_INFO, "replication", "the leader's snapshot at 0x%llx is stored",
               (unsigned long long)snapjob.zxid);
}

static void snapshot_stored_event(int fd, int events, void *arg)
{
    if (!snapjob.running) {
        uint64_t v;
        ssize_t r = read(fd, &v, sizeof v);
        (void)r;
        return;
    }
    snapshot_join();
    zab_snapshot_stored();
}

int zab_host_install_snapshot(int64_t zxid, const void *data, size_t len)
{
    HOOK_TRUNCATED(zxid);
    snapshot_join();
    drop_clients(NULL);
    server_snapshot_finish();
    server_reset_state();
    if (server_load_snapshot(zxid, data, len) < 0)
        return -1;
    srv.epoch = zxid >> 32;
    zab_config_sync_tree();
    if (srv.storage) {
        if (storage_truncate(zxid) < 0)
            corral_log(CORRAL_LOG_WARN, "replication", "storage kept records after 0x%llx", (unsigned long long)zxid);
        if (srv.storage->snapshot) {
            if (snapjob.efd < 0) {
                snapjob.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
                if (snapjob.efd < 0 || el_watch(snapjob.efd, CORRAL_EV_READ, snapshot_stored_event, NULL) < 0) {
                    corral_fatal("replication", "cannot create an eventfd; exiting");
                }
            }
            snapjob.zxid = zxid;
            snapjob.len = len;
            snapjob.data = xmalloc(len ? len : 1);
            memcpy(snapjob.data, data, len);
            snapjob.ok = 0;
            if (pthread_create(&snapjob.thread, NULL, snapshot_store_thread, NULL) != 0) {
                corral_fatal("replication", "cannot start a thread to store the snapshot; exiting");
            }
            snapjob.running = 1;
            return 1;
        }
    }
    return 0;
}

int zab_host_digest_at(int64_t zxid, uint64_t *digest) { return digest_at(zxid, digest); }
void zab_host_check_digest(int64_t zxid, uint64_t digest) { digest_check(zxid, digest); }

/* ---- host functions: leader ------------------------------------------------- */

/* The state in snapshot.c's format (doc/storage.md), for SNAP: cloned on
 * the loop, serialized on a thread (a million znodes take over a second:
 * on the loop, the followers would take the leader for dead), handed back
 * to zab on the loop (zab_snapshot_ready). */
static struct {
    pthread_t thread;
    int running;
    int efd;
    StateCopy *copy;
    int64_t zxid;
    WBuf w;
} sersnap = {.efd = -1};

static void *serialize_thread(void *arg)
{
    wbuf_reserve(&sersnap.w, ZAB_FRAME_HEADROOM);
    memset(sersnap.w.data, 0, ZAB_FRAME_HEADROOM);
    sersnap.w.len = ZAB_FRAME_HEADROOM;
    server_state_copy_serialize(sersnap.copy, &sersnap.w);
    sersnap.copy = NULL;
    uint64_t one = 1;
    ssize_t w = write(sersnap.efd, &one, sizeof one);
    (void)w;
    return NULL;
}

static void serialize_join(void)
{
    if (!sersnap.running)
        return;
    pthread_join(sersnap.thread, NULL);
    sersnap.running = 0;
    uint64_t v;
    ssize_t r = read(sersnap.efd, &v, sizeof v);
    (void)r;
}

static void serialized_event(int fd, int events, void *arg)
{
    if (!sersnap.running) {
        uint64_t v;
        ssize_t r = read(fd, &v, sizeof v);
        (void)r;
        return;
    }
    serialize_join();
    zab_snapshot_ready(sersnap.zxid, &sersnap.w);
    wbuf_free(&sersnap.w);
}

int64_t zab_host_snapshot_start(void)
{
    if (sersnap.running)
        return sersnap.zxid;
    if (sersnap.efd < 0) {
        sersnap.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (sersnap.efd < 0 || el_watch(sersnap.efd, CORRAL_EV_READ, serialized_event, NULL) < 0)
            corral_fatal("replication", "cannot create an eventfd; exiting");
    }
    int64_t t0 = el_now_ms();
    el_update_time();
    sersnap.copy = server_state_copy(&sersnap.zxid);
    el_update_time();
    corral_log(CORRAL_LOG_INFO, "replication", "state at 0x%llx copied for a SNAP in %lld ms",
               (unsigned long long)sersnap.zxid, (long long)(el_now_ms() - t0));
    sersnap.w = (WBuf)WBUF_INIT;
    if (pthread_create(&sersnap.thread, NULL, serialize_thread, NULL) != 0)
        corral_fatal("replication", "cannot start a thread to serialize a snapshot; exiting");
    sersnap.running = 1;
    return sersnap.zxid;
}

/* Logs and applies a txn made here (leader). */
static void log_and_apply(WBuf *w, int64_t zxid, int64_t start)
{
    arena_reset(&rp.arena);
    txn_commit(w, zxid, start, &rp.arena, NULL);
}

static void log_error_txn(int64_t session, int32_t cxid, int err, int64_t start)
{
    TxnHeader h = {session, cxid, server_next_zxid(), el_wall_ms(), ZOO_OP_ERROR};
    ErrorTxn e = {err};
    WBuf w = WBUF_INIT;
    jute_write_TxnHeader(&w, &h);
    jute_write_ErrorTxn(&w, &e);
    log_and_apply(&w, h.zxid, start);
    wbuf_free(&w);
}

void zab_host_forwarded(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                        size_t nids, const uint8_t *body, size_t len)
{
    int64_t start = el_now_ms();
    if (!zab_can_write())
        return;
    if (kind == ZAB_REQ_CREATE_SESSION) {
        if (session_find(session))
            return;
        TxnHeader h = {session, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_CREATE_SESSION};
        CreateSessionTxn t = {timeout};
        WBuf w = WBUF_INIT;
        jute_write_TxnHeader(&w, &h);
        jute_write_CreateSessionTxn(&w, &t);
        log_and_apply(&w, h.zxid, start);
        wbuf_free(&w);
        return;
    }
    Session *s = session_find(session);
    if (!s || s->closing) {
        log_error_txn(session, cxid, ZERR_SESSIONEXPIRED, start);
        return;
    }
    if (kind == ZAB_REQ_CLOSE_SESSION) {
        ClientConn *local = s->client;
        txn_close_session(session, start);
        if (local) {
            local->session = NULL;
            net_conn_close_after_flush(local->conn);
        }
        return;
    }
    /* A leader in degraded mode (memory budget, storage out of space)
     * refuses the writes its learners forward as it refuses its own
     * clients' (admission.c); the answer travels as an ErrorTxn, so the
     * learner gives it to its client in request order. */
    if (admission_reasons() && zk_op_has(type, ZK_OPF_GROWS)) {
        log_error_txn(session, cxid, ZERR_NOTREADONLY, start);
        return;
    }
    /* The write runs for the client's principal (its session and the
     * identities its follower sent), through the same validation as a
     * client of this member; the follower answers its client when the
     * commit arrives.  An undecodable request is logged as an ErrorTxn so
     * that the follower can answer it too. */
    arena_reset(&srv.req_arena);
    AuthId *who_ids = arena_alloc(&srv.req_arena, (nids ? nids : 1) * sizeof *who_ids);
    for (size_t i = 0; i < nids; i++)
        who_ids[i] = (AuthId){ids[i].scheme, ids[i].id};
    Principal who = {session, who_ids, nids};
    RequestHeader h = {cxid, type};
    RBuf rb;
    rbuf_init(&rb, body, len);
    WBuf txn = WBUF_INIT;
    TxnHeader th;
    if (!op_is_write(type) || write_prepare(&who, &h, &rb, &txn, &th) < 0) {
        wbuf_free(&txn);
        log_error_txn(session, cxid, ZERR_MARSHALLINGERROR, start);
        return;
    }
    txn_commit(&txn, th.zxid, start, &srv.req_arena, NULL);
    wbuf_free(&txn);
}

void zab_host_start_epoch(int64_t epoch, int64_t first_counter)
{
    srv.epoch = epoch;
    srv.last_zxid = epoch << 32 | (first_counter & 0xffffffffLL);
    TxnHeader h = {0, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_ERROR};
    ErrorTxn e = {0};
    WBuf w = WBUF_INIT;
    jute_write_TxnHeader(&w, &h);
    jute_write_ErrorTxn(&w, &e);
    server_log_txn(&w, h.zxid);
    TxnResult res;
    arena_reset(&rp.arena);
    txn_apply(w.data, w.len, &rp.arena, &res);
    wbuf_free(&w);
    /* Everything the new leader had is committed now, configuration txns
     * included; the first leader records the configuration file's
     * ensemble as ZooKeeper's does (version: the epoch's first zxid). */
    zab_config_sync_tree();
    if (zab_config()->version == 0) {
        QuorumConfig qc = *zab_config();
        qc.version = epoch << 32;
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        qc_format(&qc, &sb);
        zab_host_log_config(sb.data, sb.len);
        corral_strbuf_free(&sb);
    }
}

const char *zab_host_config_text(size_t *len)
{
    const char *d = NULL;
    int32_t dl = 0;
    ZNode *n = tree_lookup(srv.tree, CONFIG_NODE, strlen(CONFIG_NODE));
    if (n)
        tree_data(n, &d, &dl);
    *len = dl > 0 ? (size_t)dl : 0;
    return d;
}

void zab_host_log_config(const char *text, size_t len)
{
    TxnHeader h = {0, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_RECONFIG};
    SetDataTxn t = {zk_bytes_cstr(CONFIG_NODE), {text, (int32_t)len}, -1};
    WBuf w = WBUF_INIT;
    jute_write_TxnHeader(&w, &h);
    jute_write_SetDataTxn(&w, &t);
    server_log_txn(&w, h.zxid);
    TxnResult res;
    arena_reset(&rp.arena);
    txn_apply(w.data, w.len, &rp.arena, &res);
    wbuf_free(&w);
}

static void touch_all(void *ctx, Session *s) { session_touch(s, el_now_ms()); }

void zab_host_refused(int64_t session)
{
    ClientConn *cc = client_of_session(session);
    if (cc)
        net_conn_close(cc->conn, "the leader cannot take writes now");
    else
        for (ReplClient *rc = rp.clients; rc; rc = rc->next)
            if (rc->pending_sid == session) {
                net_conn_close(rc->cc->conn, "the leader cannot take writes now");
                break;
            }
}

void zab_host_leader_ready(void) { session_foreach(touch_all, NULL); }

void zab_host_touch(int64_t session, int32_t remaining_ms)
{
    Session *s = session_find(session);
    if (!s || s->closing || remaining_ms <= 0)
        return;
    /* remaining_ms is exact (session_remaining on the learner): the
     * learner saw the client at about now - (timeout - remaining), and the
     * deadline is rounded up to a tick once, here. */
    session_extend(s, el_now_ms() - (s->timeout_ms - remaining_ms));
}

typedef struct TouchCtx {
    WBuf *out;
    int n;
    int64_t now;
} TouchCtx;

static void collect_touch(void *ctx, Session *s)
{
    TouchCtx *t = ctx;
    int64_t left = session_remaining(s, t->now);
    if (!s->client || s->closing || left <= 0)
        return;
    wbuf_put_long(t->out, s->id);
    wbuf_put_int(t->out, (int32_t)left);
    t->n++;
}

int zab_host_collect_touches(WBuf *out)
{
    TouchCtx t = {out, 0, el_now_ms()};
    session_foreach(collect_touch, &t);
    return t.n;
}

/* ---- sync ------------------------------------------------------------------- */

typedef struct PendingSync {
    uint64_t token;
    ClientConn *cc;
    int done;
    int64_t zxid;
} PendingSync;

static PendingSync *psyncs;
static size_t npsyncs, cappsyncs;

/* The client went away: its syncs are answered to nobody. */
static void forget_syncs(ClientConn *cc)
{
    for (size_t i = 0; i < npsyncs; i++)
        if (psyncs[i].cc == cc)
            psyncs[i].cc = NULL;
}

static void try_complete_syncs(void)
{
    size_t k = 0;
    for (size_t i = 0; i < npsyncs; i++) {
        PendingSync p = psyncs[i];
        if (p.done && srv.last_zxid >= p.zxid && p.cc) {
            ReplClient *rc = p.cc->repl;
            if (rc && rc->nout && (rc->out[0].kind == OUT_REVALIDATE || rc->out[0].kind == OUT_READINDEX) &&
                rc->out[0].token == p.token) {
                if (rc->out[0].kind == OUT_READINDEX && rc->out[0].covers > rc->read_fence)
                    rc->read_fence = rc->out[0].covers;
                /* Up to date with the leader now: the connect request
                 * queued behind it runs again and finds the session, or
                 * not (then it did expire). */
                for (size_t j = i + 1; j < npsyncs; j++)
                    psyncs[k++] = psyncs[j];
                npsyncs = k;
                complete_head(rc);
                try_complete_syncs();
                return;
            }
            if (rc && rc->nout && rc->out[0].kind == OUT_SYNC && rc->out[0].token == p.token) {
                ClientConn *cc = p.cc;
                Conn *c = cc->conn;
                net_conn_hold(c, srv.last_zxid);
                size_t off = wbuf_begin_frame(&c->out);
                ReplyHeader rh = {rc->out[0].xid, srv.last_zxid, 0};
                jute_write_ReplyHeader(&c->out, &rh);
                HOOK_REQUEST_REPLY(c->id, rh.xid, 0, srv.last_zxid);
                SyncResponse resp = {zk_bytes_cstr(rc->out[0].path)};
                jute_write_SyncResponse(&c->out, &resp);
                wbuf_end_frame(&c->out, off);
                net_count_sent(c);
                c->last_response_ms = el_wall_ms();
                net_conn_flush_later(c);
                server_touch_latency(cc, rc->out[0].start_ms);
                /* The list may change while draining: finish this pass
                 * with the entries not looked at yet. */
                for (size_t j = i + 1; j < npsyncs; j++)
                    psyncs[k++] = psyncs[j];
                npsyncs = k;
                complete_head(rc);
                try_complete_syncs();
                return;
            }
            continue;   /* stale: drop */
        }
        if (p.cc)
            psyncs[k++] = p;
    }
    npsyncs = k;
}

void zab_host_sync_done(uint64_t token, int64_t zxid)
{
    for (size_t i = 0; i < npsyncs; i++)
        if (psyncs[i].token == token) {
            psyncs[i].done = 1;
            psyncs[i].zxid = zxid;
        }
    try_complete_syncs();
}

static void start_sync(ClientConn *cc, ReplClient *rc, const RequestHeader *h, RBuf *body)
{
    SyncRequest q;
    if (jute_read_SyncRequest(body, &srv.req_arena, &q) < 0) {
        net_conn_close(cc->conn, "malformed sync request");
        return;
    }
    cc->last_op = "SYNC";
    uint64_t token = ++rp.next_token;
    if (zab_sync(token) < 0) {
        net_conn_close(cc->conn, "this member stopped serving");
        return;
    }
    push_out(rc, OUT_SYNC, h->xid, token, q.path.data ? q.path.data : "", q.path.len > 0 ? (size_t)q.path.len : 0);
    if (npsyncs == cappsyncs) {
        cappsyncs = cappsyncs ? cappsyncs * 2 : 16;
        psyncs = xrealloc(psyncs, cappsyncs * sizeof *psyncs);
    }
    psyncs[npsyncs++] = (PendingSync){token, cc, 0, 0};
}

/* ---- hooks ------------------------------------------------------------------ */

void replication_logged(const WBuf *txn, int64_t zxid)
{
    if (zab_propose(zxid, txn->data, txn->len) < 0) {
        corral_fatal("replication", "a txn (0x%llx) was made while this member is not an established leader; exiting",
                   (unsigned long long)zxid);
    }
}

void replication_local_durable(int64_t zxid)
{
    if (!srv.storage)
        zxid = zab_last_logged();
    zab_local_durable(zxid);
}

/* Only a leader that holds its quorum lease expires sessions: an old
 * leader resumed after a pause, or cut off, has not heard from its
 * followers lately and may have been replaced; it steps down instead of
 * closing sessions the new leader keeps alive. */
int64_t replication_expiry_tick(void)
{
    int64_t now = el_now_ms();
    if (!zab_can_write())
        return session_next_due_in(now);
    if (!zab_leader_lease_ok())
        return 10;
    session_expire_due(now, server_expire_session, NULL);
    return session_next_due_in(now);
}

int replication_may_write(void) { return zab_can_write(); }

/* Read-only mode (server.read_only): a member that is looking for a
 * quorum serves read-only clients from its last state. */
int replication_read_only(void) { return rp.active && rp.cfg->read_only && zab_state() == ZAB_LOOKING; }

const char *replication_mode(void)
{
    if (zab_serving())
        return zab_state_name();
    return replication_read_only() ? "read-only" : "looking";
}

void zab_host_role_changed(ZabState old_state, ZabState new_state)
{
    drop_clients("this member changed role");
    for (size_t i = 0; i < npsyncs; i++)
        psyncs[i].cc = NULL;
    npsyncs = 0;
}

/* A read-only member (no quorum, readonlymode.enabled): ZooKeeper's
 * read-only server gives every read-only client a new local session; it
 * is never replicated and dies with the connection. */
static int read_only_connect(ClientConn *cc, const ConnectRequest *req, int ro)
{
    if (!replication_read_only() || ro != 1) {
        net_conn_close(cc->conn, NULL);
        return 1;
    }
    ReplClient *rc = rc_of(cc);
    rc->read_only = 1;
    cc->ro_layout = ro;
    int32_t timeout = session_negotiated_timeout(req->timeOut);
    int64_t sid = session_next_id();
    Session *s = session_add(sid, timeout, el_now_ms());
    s->client = cc;
    cc->session = s;
    cc->connected = 1;
    net_conn_established(cc->conn);
    send_connect_response(cc, s);
    return 1;
}

static int read_only_request(ClientConn *cc, const RequestHeader *h)
{
    if (zk_op_has(h->type, ZK_OPF_NEEDS_QUORUM)) {
        cc->last_op = h->type == ZOO_OP_SYNC ? "SYNC" : "WRIT";
        reply_error(cc, h->xid, ZERR_NOTREADONLY);
        return 1;
    }
    if (h->type == ZOO_OP_CLOSE_SESSION) {
        reply_error(cc, h->xid, ZERR_OK);
        net_conn_close_after_flush(cc->conn);
        return 1;
    }
    return 0;   /* reads, pings, watches: served from the state we have */
}

int replication_defer(ClientConn *cc, const uint8_t *frame, size_t len)
{
    if (!zab_serving()) {
        ReplClient *rc = cc->repl;
        if (cc->connected && (!rc || !rc->read_only || !replication_read_only())) {
            net_conn_close(cc->conn, NULL);
            return 1;
        }
        return 0;
    }
    ReplClient *rc = rc_of(cc);
    if (rc->read_only) {
        net_conn_close(cc->conn, "this member serves read-write again");
        return 1;
    }
    if (!rp.replaying)
        rp.cur_seq = rc->next_seq++;
    if ((!rp.replaying && rc->nq) || !may_run(rc, frame, len))
        return enqueue(rc, frame, len);
    return 0;
}

/* A session we do not know may be one created a moment ago through another
 * member: catch up with the leader (a sync round) before answering, as
 * ZooKeeper revalidates it.  The ConnectRequest waits in the queue. */
static int revalidate(ClientConn *cc, ReplClient *rc, const uint8_t *frame, size_t len)
{
    uint64_t token = ++rp.next_token;
    rc->revalidated = 1;
    if (zab_sync(token) < 0)
        return 0;
    push_out(rc, OUT_REVALIDATE, 0, token, NULL, 0);
    if (npsyncs == cappsyncs) {
        cappsyncs = cappsyncs ? cappsyncs * 2 : 16;
        psyncs = xrealloc(psyncs, cappsyncs * sizeof *psyncs);
    }
    psyncs[npsyncs++] = (PendingSync){token, cc, 0, 0};
    return enqueue(rc, frame, len);
}

int replication_route_connect(ClientConn *cc, const ConnectRequest *req, int ro, const uint8_t *frame, size_t len)
{
    if (!zab_serving())
        return read_only_connect(cc, req, ro);
    if (zab_is_leader()) {
        if (zab_can_write())
            return 0;   /* the core creates (or reattaches) the session */
        net_conn_close(cc->conn, "the leader cannot take writes now");
        return 1;
    }
    if (req->lastZxidSeen > srv.last_zxid)
        return 0;   /* the core refuses it */
    ReplClient *rc = rc_of(cc);
    if (req->sessionId != 0) {
        if (session_find(req->sessionId) || rc->revalidated)
            return 0;   /* the core reattaches, or says it expired */
        return revalidate(cc, rc, frame, len);
    }
    cc->ro_layout = ro;
    if (session_refused_for_limit(cc))
        return 1;
    int32_t timeout = session_negotiated_timeout(req->timeOut);
    int64_t sid = session_next_id();
    if (zab_forward(ZAB_REQ_CREATE_SESSION, sid, 0, ZOO_OP_CREATE_SESSION, timeout, NULL, 0, NULL, 0) < 0) {
        net_conn_close(cc->conn, NULL);
        return 1;
    }
    rc->pending_sid = sid;
    push_out(rc, OUT_CREATE, 0, 0, NULL, 0);
    return 1;
}

/* A request answered from the tree (what server.linearizable_reads
 * fences). */
static int op_reads_tree(int32_t type)
{
    switch (type) {
    case ZOO_OP_EXISTS: case ZOO_OP_GETDATA: case ZOO_OP_GETACL: case ZOO_OP_GETCHILDREN: case ZOO_OP_GETCHILDREN2:
    case ZOO_OP_MULTI_READ: case ZOO_OP_GET_EPHEMERALS: case ZOO_OP_GET_ALL_CHILDREN_NUMBER:
        return 1;
    default:
        return 0;
    }
}

/* server.linearizable_reads: a read is answered only once this member has
 * applied everything committed when it arrived.  A leader holding its
 * quorum lease has (it applies before it acknowledges, and no other leader
 * can exist); otherwise the read waits for a sync round (ReadIndex: a
 * quorum answers a heartbeat sent after the read arrived, the leader's
 * commit point then is applied here).  One round covers every read of the
 * connection received before it was sent, so a burst of reads costs one
 * round per connection, not one per read.  1: the read waits. */
static int fence_read(ClientConn *cc, ReplClient *rc, const uint8_t *frame, size_t len)
{
    if (rp.cur_seq < rc->read_fence)
        return 0;
    if (zab_is_leader() && zab_leader_lease_ok())
        return 0;
    uint64_t token = ++rp.next_token;
    if (zab_sync(token) < 0) {
        net_conn_close(cc->conn, "this member stopped serving");
        return 1;
    }
    push_out(rc, OUT_READINDEX, 0, token, NULL, 0);
    rc->out[rc->nout - 1].covers = rc->next_seq;
    if (npsyncs == cappsyncs) {
        cappsyncs = cappsyncs ? cappsyncs * 2 : 16;
        psyncs = xrealloc(psyncs, cappsyncs * sizeof *psyncs);
    }
    psyncs[npsyncs++] = (PendingSync){token, cc, 0, 0};
    if (rp.replaying)
        requeue_front(rc, frame, len);
    else
        enqueue(rc, frame, len);
    return 1;
}

int replication_route_request(ClientConn *cc, const RequestHeader *h, RBuf *body, const uint8_t *frame, size_t len)
{
    if (!zab_serving())
        return read_only_request(cc, h);
    ReplClient *rc = rc_of(cc);
    if (h->type == ZOO_OP_SYNC) {
        start_sync(cc, rc, h, body);
        return 1;
    }
    if (rp.cfg->linearizable_reads && op_reads_tree(h->type) && fence_read(cc, rc, frame, len))
        return 1;
    int kind = op_is_write(h->type) ? ZAB_REQ_WRITE : h->type == ZOO_OP_CLOSE_SESSION ? ZAB_REQ_CLOSE_SESSION : 0;
    if (zab_is_leader()) {
        if (kind && !zab_can_write()) {
            net_conn_close(cc->conn, "the leader cannot take writes now");
            return 1;
        }
        return 0;   /* the leader's own clients: the core's write path proposes */
    }
    if (!kind)
        return 0;   /* a read: served here */
    ZabAuth ids[64];
    size_t nids = cc->nids < 64 ? cc->nids : 64;
    for (size_t i = 0; i < nids; i++)
        ids[i] = (ZabAuth){cc->ids[i].scheme, cc->ids[i].id};
    size_t hdr = 8;   /* the RequestHeader: xid and type travel as arguments */
    if (zab_forward(kind, cc->session->id, h->xid, h->type, 0, ids, nids, frame + hdr, len - hdr) < 0) {
        net_conn_close(cc->conn, "this member stopped serving");
        return 1;
    }
    if (kind == ZAB_REQ_CLOSE_SESSION)
        client_log_session(cc, "Closing (client's request)", cc->session->id);
    push_out(rc, kind == ZAB_REQ_WRITE ? OUT_WRITE : OUT_CLOSE, h->xid, 0, NULL, 0);
    return 1;
}

void replication_refuse(ClientConn *cc, int32_t xid, int err) { refuse_in_order(rc_of(cc), xid, err); }

/* ---- lifecycle ------------------------------------------------------------- */

static int64_t g_followers(void *a) { return zab_is_leader() ? zab_learner_count() : 0; }
static int64_t g_synced(void *a) { return zab_is_leader() ? zab_synced_count() : 0; }
static int64_t g_synced_obs(void *a) { return zab_is_leader() ? zab_synced_observers() : 0; }
static int64_t g_pending_syncs(void *a) { return (int64_t)npsyncs; }
static int64_t g_epoch(void *a) { return zab_epoch(); }
static int64_t g_commit(void *a) { return zab_commit_zxid(); }
static int64_t g_digest(void *a) { return (int64_t)tree_digest(srv.tree); }
static int64_t g_leader(void *a) { return zab_leader_id(); }
static int64_t g_applied(void *a) { return srv.last_zxid; }

static void zab_hook(void *arg) { zab_before_sleep(); }
static int64_t g_quorum_size(void *a) { return qc_voters(zab_config()); }

/* QuorumZooKeeperServer.dumpConf's lines after ZooKeeperServer's; the
 * last, "membership", is the configuration in force (QuorumMaj.toString). */
void replication_conf(void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
    const QuorumConfig *qc = zab_config();
    const EnsembleMember *me = NULL;
    for (size_t i = 0; i < rp.cfg->n_members; i++)
        if (rp.cfg->members[i].id == rp.cfg->server_id)
            me = &rp.cfg->members[i];
    const EnsembleMember *cur = qc_find(qc, rp.cfg->server_id);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)rp.cfg->init_limit);
    fn(ctx, "initLimit", buf);
    snprintf(buf, sizeof buf, "%lld", (long long)rp.cfg->sync_limit);
    fn(ctx, "syncLimit", buf);
    fn(ctx, "electionAlg", "3");
    snprintf(buf, sizeof buf, "%d", me ? me->election.port : 0);
    fn(ctx, "electionPort", buf);
    snprintf(buf, sizeof buf, "%d", me ? me->peer.port : 0);
    fn(ctx, "quorumPort", buf);
    fn(ctx, "peerType", (cur ? cur->observer : me && me->observer) ? "1" : "0");
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    qc_format(qc, &sb);
    fn(ctx, "membership", sb.data);
    corral_strbuf_free(&sb);
}

int replication_init(const CoreConfig *cfg)
{
    if (cfg->n_members == 0)
        return 0;
    rp.cfg = cfg;
    rp.active = 1;
    arena_init(&rp.arena, 65536);
    corral_metric_gauge_fn("followers", "Learners connected to this leader", g_followers, NULL);
    corral_metric_gauge_fn("synced_followers", "Voting followers synced with this leader", g_synced, NULL);
    corral_metric_gauge_fn("synced_observers", "Observers synced with this leader", g_synced_obs, NULL);
    corral_metric_gauge_fn("pending_syncs", "sync requests waiting for a heartbeat round", g_pending_syncs, NULL);
    corral_metric_gauge_fn("zab_epoch", "Current ZAB epoch", g_epoch, NULL);
    corral_metric_gauge_fn("zab_commit_zxid", "Highest committed zxid known", g_commit, NULL);
    corral_metric_gauge_fn("zab_leader_id", "Id of the leader (-1 while looking)", g_leader, NULL);
    corral_metric_gauge_fn("tree_digest", "Digest of the whole tree", g_digest, NULL);
    corral_metric_gauge_fn("zab_applied_zxid", "Highest zxid applied to the tree", g_applied, NULL);
    corral_metric_gauge_fn("quorum_size", "Participants in the ensemble configuration in force", g_quorum_size, NULL);
    el_add_before_sleep(zab_hook, NULL);
    return zab_init(cfg, srv.last_zxid);
}

void replication_shutdown(void)
{
    if (!rp.active)
        return;
    snapshot_join();
    if (snapjob.efd >= 0) {
        el_unwatch(snapjob.efd);
        close(snapjob.efd);
        snapjob.efd = -1;
    }
    serialize_join();
    wbuf_free(&sersnap.w);
    if (sersnap.efd >= 0) {
        el_unwatch(sersnap.efd);
        close(sersnap.efd);
        sersnap.efd = -1;
    }
    zab_shutdown();
    arena_free(&rp.arena);
    free(psyncs);
    psyncs = NULL;
    npsyncs = cappsyncs = 0;
    rp.active = 0;
}
