/*
 * src/backend/server/txn.c: applying transactions to the tree.
 *
 * Transactions are ZooKeeper's own txn records (TxnHeader + CreateTxn,
 * DeleteTxn, ..., MultiTxn), encoded once by the write path and applied
 * from those bytes here, by the live server, by recovery and (later) by
 * followers alike: one code path, so a replayed tree is the same tree.
 * Apply never validates client intent (that was done before logging); it
 * only refuses what would corrupt the tree.
 */
#include <string.h>

#include "net/eventloop.h"
#include "server/internal.h"
#include "zab/zab.h"

#define EPHEMERAL_CONTAINER INT64_MIN
#define TTL_OWNER(ttl) ((int64_t)(0xFF00000000000000ULL | ((uint64_t)(ttl) & 0xFFFFFFFFFFULL)))

static size_t parent_len(ZkBytes path)
{
    int32_t i = path.len - 1;
    while (i > 0 && path.data[i] != '/')
        i--;
    return i <= 0 ? 1 : (size_t)i;   /* parent of "/x" is "/" */
}

void deliver_watch_event(void *ctx, WatcherId w, int event_type, const char *path, size_t len)
{
    int64_t zxid = *(const int64_t *)ctx;
    ClientConn *cc = client_of_session((int64_t)w);
    if (!cc || cc->conn->closed)
        return;
    Conn *c = cc->conn;
    net_conn_hold(c, zxid);
    size_t off = wbuf_begin_frame(&c->out);
    ReplyHeader rh = {-1, -1, 0};
    WatcherEvent ev = {event_type, 3 /* SyncConnected */, {path, (int32_t)len}};
    jute_write_ReplyHeader(&c->out, &rh);
    jute_write_WatcherEvent(&c->out, &ev);
    wbuf_end_frame(&c->out, off);
    net_count_sent(c);
    net_conn_flush_later(c);
}

static void fire(int64_t zxid, const char *path, size_t len, int type)
{
    watch_trigger(srv.watches, path, len, type, deliver_watch_event, &zxid);
}

static uint32_t intern_acl(const JuteVec_ACL *acl, Arena *a)
{
    int n = acl->count > 0 ? acl->count : 0;
    TreeAclEntry *e = arena_alloc(a, (size_t)(n ? n : 1) * sizeof *e);
    for (int i = 0; i < n; i++) {
        e[i].perms = acl->items[i].perms;
        e[i].scheme = arena_strndup(a, acl->items[i].id.scheme.data ? acl->items[i].id.scheme.data : "",
                                    acl->items[i].id.scheme.len > 0 ? (size_t)acl->items[i].id.scheme.len : 0);
        e[i].id = arena_strndup(a, acl->items[i].id.id.data ? acl->items[i].id.id.data : "",
                                acl->items[i].id.id.len > 0 ? (size_t)acl->items[i].id.id.len : 0);
    }
    return tree_acl_intern(srv.tree, e, n);
}

static int apply_create(const TxnHeader *h, ZkBytes path, ZkBytes data, const JuteVec_ACL *acl, int64_t owner,
                        int32_t parent_cversion, Arena *a, TxnResult *res)
{
    uint32_t acl_id = intern_acl(acl, a);
    int rc = tree_create(srv.tree, path.data, (size_t)path.len, data.data, data.len, acl_id, owner, parent_cversion,
                         h->zxid, h->time, &res->stat);
    tree_acl_release(srv.tree, acl_id);
    res->path = path;
    if (rc == 0) {
        quota_on_create(path.data, (size_t)path.len, data.len);
        fire(h->zxid, path.data, (size_t)path.len, ZEV_NODE_CREATED);
        fire(h->zxid, path.data, parent_len(path), ZEV_NODE_CHILDREN_CHANGED);
    }
    return rc;
}

static int apply_delete(const TxnHeader *h, ZkBytes path, TxnResult *res)
{
    ZNode *old = path.len > 0 ? tree_lookup(srv.tree, path.data, (size_t)path.len) : NULL;
    const char *od = NULL;
    int32_t odl = 0;
    if (old)
        tree_data(old, &od, &odl);
    int rc = tree_delete(srv.tree, path.data, (size_t)path.len, h->zxid);
    res->path = path;
    if (rc == 0) {
        quota_on_delete(path.data, (size_t)path.len, odl);
        fire(h->zxid, path.data, (size_t)path.len, ZEV_NODE_DELETED);
        fire(h->zxid, path.data, parent_len(path), ZEV_NODE_CHILDREN_CHANGED);
    }
    return rc;
}

static void close_session_watches(int64_t sid)
{
    watch_remove_watcher(srv.watches, (WatcherId)sid);
    session_remove(sid);
}

typedef struct EphList {
    ZkBytes *v;
    int32_t n, cap;
    Arena *a;
} EphList;

static void collect_eph(void *ctx, const char *path, size_t len)
{
    EphList *l = ctx;
    if (l->n == l->cap) {
        int32_t ncap = l->cap ? l->cap * 2 : 8;
        ZkBytes *nv = arena_alloc(l->a, (size_t)ncap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, (size_t)l->n * sizeof *nv);
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = (ZkBytes){arena_strndup(l->a, path, len), (int32_t)len};
}

/* Applies one (sub)transaction record of `type` read from r. */
static int apply_op(const TxnHeader *h, int type, RBuf *r, Arena *a, TxnResult *res)
{
    memset(res, 0, sizeof *res);
    res->type = type;
    int rc = 0;
    switch (type) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2: {
        CreateTxn t;
        if (jute_read_CreateTxn(r, a, &t) < 0)
            return -1;
        rc = apply_create(h, t.path, t.data, &t.acl, t.ephemeral ? h->clientId : 0, t.parentCVersion, a, res);
        /* ZooKeeper's DataTree.processTxn: a create (not create2) that
         * finds its node is a replay onto a fuzzy snapshot (one imported
         * from ZooKeeper; Corral's own are exact): the parent still gets
         * the create's cversion and pzxid. */
        if (rc == ZERR_NODEEXISTS && type == ZOO_OP_CREATE && t.path.len > 0)
            tree_set_cversion_pzxid(srv.tree, t.path.data, parent_len(t.path), t.parentCVersion, h->zxid);
        break;
    }
    case ZOO_OP_CREATE_CONTAINER: {
        CreateContainerTxn t;
        if (jute_read_CreateContainerTxn(r, a, &t) < 0)
            return -1;
        rc = apply_create(h, t.path, t.data, &t.acl, EPHEMERAL_CONTAINER, t.parentCVersion, a, res);
        break;
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLTxn t;
        if (jute_read_CreateTTLTxn(r, a, &t) < 0)
            return -1;
        rc = apply_create(h, t.path, t.data, &t.acl, TTL_OWNER(t.ttl), t.parentCVersion, a, res);
        break;
    }
    case ZOO_OP_DELETE:
    case ZOO_OP_DELETE_CONTAINER: {
        DeleteTxn t;
        if (jute_read_DeleteTxn(r, a, &t) < 0)
            return -1;
        rc = apply_delete(h, t.path, res);
        break;
    }
    case ZOO_OP_SETDATA:
    case ZOO_OP_RECONFIG: {   /* a SetDataTxn of /zookeeper/config */
        SetDataTxn t;
        if (jute_read_SetDataTxn(r, a, &t) < 0)
            return -1;
        ZNode *old = t.path.len > 0 ? tree_lookup(srv.tree, t.path.data, (size_t)t.path.len) : NULL;
        const char *od = NULL;
        int32_t odl = 0;
        if (old)
            tree_data(old, &od, &odl);
        rc = tree_set_data(srv.tree, t.path.data, (size_t)t.path.len, t.data.data, t.data.len, t.version, h->zxid,
                           h->time, &res->stat);
        res->path = t.path;
        if (rc == 0)
            quota_on_set_data(t.path.data, (size_t)t.path.len, odl, t.data.len);
        if (rc == 0)
            fire(h->zxid, t.path.data, (size_t)t.path.len, ZEV_NODE_DATA_CHANGED);
        if (rc == 0 && type == ZOO_OP_RECONFIG)
            zab_config_applied(h->zxid, t.data.data, t.data.len > 0 ? (size_t)t.data.len : 0);
        break;
    }
    case ZOO_OP_SETACL: {
        SetACLTxn t;
        if (jute_read_SetACLTxn(r, a, &t) < 0)
            return -1;
        uint32_t acl_id = intern_acl(&t.acl, a);
        rc = tree_set_acl(srv.tree, t.path.data, (size_t)t.path.len, acl_id, t.version, &res->stat);
        tree_acl_release(srv.tree, acl_id);
        res->path = t.path;
        break;
    }
    case ZOO_OP_CHECK: {
        CheckVersionTxn t;
        if (jute_read_CheckVersionTxn(r, a, &t) < 0)
            return -1;
        res->path = t.path;
        ZNode *n = tree_lookup(srv.tree, t.path.data, (size_t)t.path.len);
        if (n)
            tree_stat(srv.tree, n, &res->stat);
        break;
    }
    case ZOO_OP_ERROR: {
        ErrorTxn t;
        if (jute_read_ErrorTxn(r, a, &t) < 0)
            return -1;
        rc = t.err;
        break;
    }
    case ZOO_OP_CREATE_SESSION: {
        CreateSessionTxn t;
        if (jute_read_CreateSessionTxn(r, a, &t) < 0)
            return -1;
        session_add(h->clientId, t.timeOut, el_now_ms());
        break;
    }
    case ZOO_OP_CLOSE_SESSION: {
        /* ZooKeeper's killSession: the paths the txn lists, then whatever
         * ephemerals the session still has (a txn without a body, as
         * ZooKeeper before 3.6 or with closeSessionTxn disabled logs it, and
         * a replay onto a fuzzy imported snapshot). */
        CloseSessionTxn t = {{0, NULL}};
        if (rbuf_remaining(r) > 0 && jute_read_CloseSessionTxn(r, a, &t) < 0)
            return -1;
        for (int32_t i = 0; i < t.paths2Delete.count; i++) {
            TxnResult sub;
            apply_delete(h, t.paths2Delete.items[i], &sub);
        }
        if (tree_session_ephemeral_count(srv.tree, h->clientId) > 0) {
            EphList l = {NULL, 0, 0, a};
            tree_session_ephemerals(srv.tree, h->clientId, collect_eph, &l);
            for (int32_t i = 0; i < l.n; i++) {
                TxnResult sub;
                apply_delete(h, l.v[i], &sub);
            }
        }
        close_session_watches(h->clientId);
        break;
    }
    case ZOO_OP_MULTI: {
        MultiTxn t;
        if (jute_read_MultiTxn(r, a, &t) < 0)
            return -1;
        res->nsub = t.txns.count > 0 ? t.txns.count : 0;
        res->sub = arena_zalloc(a, (size_t)(res->nsub ? res->nsub : 1) * sizeof *res->sub);
        /* ZooKeeper's DataTree.processTxn: a multi with an ErrorTxn in it
         * failed as a whole, whatever ops it logged before the failing one
         * (ZooKeeper logs those as their own types): none is applied, they
         * answer OK before the first error, RUNTIMEINCONSISTENCY after. */
        int failed = 0;
        for (int i = 0; i < res->nsub; i++)
            failed |= t.txns.items[i].type == ZOO_OP_ERROR;
        for (int i = 0; failed && i < res->nsub; i++) {
            if (t.txns.items[i].type == ZOO_OP_MULTI)
                return -1;
            if (t.txns.items[i].type != ZOO_OP_ERROR) {
                res->sub[i].type = ZOO_OP_ERROR;
                res->sub[i].err = failed > 1 ? ZERR_RUNTIMEINCONSISTENCY : 0;
                continue;
            }
            failed = 2;
            RBuf sr;
            rbuf_init(&sr, t.txns.items[i].data.data, t.txns.items[i].data.len > 0 ? (size_t)t.txns.items[i].data.len : 0);
            if (apply_op(h, ZOO_OP_ERROR, &sr, a, &res->sub[i]) < 0)
                return -1;
            if (res->sub[i].err && !res->err)
                res->err = res->sub[i].err;
        }
        for (int i = 0; !failed && i < res->nsub; i++) {
            /* A multi never holds a multi (the write path, as ZooKeeper's,
             * only puts the ops and ErrorTxns in one).  Nested ones in a
             * WAL record or a PROPOSAL recursed once per level: 100000
             * levels, 1.2 MB, overflowed the stack. */
            if (t.txns.items[i].type == ZOO_OP_MULTI)
                return -1;
            RBuf sr;
            rbuf_init(&sr, t.txns.items[i].data.data, t.txns.items[i].data.len > 0 ? (size_t)t.txns.items[i].data.len : 0);
            if (apply_op(h, t.txns.items[i].type, &sr, a, &res->sub[i]) < 0)
                return -1;
            if (res->sub[i].err && !res->err)
                res->err = res->sub[i].err;
        }
        return 0;
    }
    default:
        return -1;
    }
    res->err = rc;
    return 0;
}

int txn_apply(const uint8_t *data, size_t len, Arena *a, TxnResult *res)
{
    RBuf r;
    rbuf_init(&r, data, len);
    TxnHeader h;
    if (jute_read_TxnHeader(&r, a, &h) < 0)
        return -1;
    if (apply_op(&h, h.type, &r, a, res) < 0)
        return -1;
    if (h.zxid > srv.last_zxid)
        srv.last_zxid = h.zxid;
    digest_note(h.zxid, tree_digest(srv.tree));
    HOOK_TXN_APPLIED(data, len);
    return 0;
}

void txn_commit(const WBuf *txn, int64_t zxid, int64_t start_ms, Arena *a, TxnResult *res)
{
    server_log_txn(txn, zxid);
    if (start_ms >= 0)
        server_pending_write(zxid, start_ms);
    TxnResult scratch;
    if (txn_apply(txn->data, txn->len, a, res ? res : &scratch) < 0) {
        /* Cannot happen for a txn this server just made; if it does, the
         * tree and the log disagree: stop before acknowledging anything. */
        corral_fatal("server", "cannot apply the transaction just logged at zxid 0x%llx; exiting",
                   (unsigned long long)zxid);
    }
}

int64_t txn_close_session(int64_t session_id, int64_t start_ms)
{
    Arena a;
    arena_init(&a, 4096);
    EphList l = {NULL, 0, 0, &a};
    tree_session_ephemerals(srv.tree, session_id, collect_eph, &l);
    TxnHeader h = {session_id, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_CLOSE_SESSION};
    CloseSessionTxn t = {{l.n, l.v}};
    WBuf w = WBUF_INIT;
    jute_write_TxnHeader(&w, &h);
    jute_write_CloseSessionTxn(&w, &t);
    txn_commit(&w, h.zxid, start_ms, &a, NULL);
    wbuf_free(&w);
    arena_free(&a);
    return h.zxid;
}
