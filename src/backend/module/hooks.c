/*
 * src/backend/module/hooks.c: the subscribers of corral/hooks.h and the
 * delivery of their events.  See hooks.h for the call sites.
 *
 * Two small tables, used only while somebody subscribes:
 * - begun: requests received and not answered yet, oldest first, keyed by
 *   (connection, xid).  Replies of a connection leave in request order, so
 *   the entry looked for is almost always the first of its connection.
 * - waiting: events whose zxid is not committed yet, in zxid order (every
 *   entry is queued at or above the zxids queued before it: txns as they
 *   are applied, replies behind the last applied zxid; a reply whose zxid
 *   is already committed is delivered at once instead), delivered by
 *   hook_commit_point.
 * Transactions are decoded here from their bytes (the same bytes storage
 * and the followers get), so txn.c only hands them over.
 */
#include <stdlib.h>
#include <string.h>

#include "jute_records.h"
#include "module/hooks.h"
#include "net/eventloop.h"
#include "net/net.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/zk_proto.h"

unsigned hook_mask;

static struct {
    const CorralHooks **subs;
    size_t nsubs;
    unsigned subscribed;        /* HOOK_EV_* someone wants */
} hk;

typedef struct Begun {
    uint64_t conn;
    int64_t session;
    int32_t xid, op;
    int64_t start_ms;
    CorralRequestEvent audit;   /* the audit fields only (owned strings) */
} Begun;

enum { W_REQUEST = 1, W_TXN };

typedef struct Waiting {
    int kind;
    int64_t zxid;
    CorralRequestEvent req;     /* W_REQUEST; latency_ms holds the start until delivery */
    CorralTxnEvent txn;         /* W_TXN: path and ops owned */
    int32_t timeout_ms;         /* createSession */
    int expired;                /* closeSession of a session this server expired */
} Waiting;

static struct {
    Begun *v;
    size_t n, cap;
} begun;

static struct {
    Waiting *v;
    size_t head, n, cap;        /* ring */
    int64_t last_txn;           /* highest txn zxid queued or delivered */
    int64_t expiring;           /* session of the closeSession txn about to be applied, 0: none */
} wq;

const char *corral_op_name(int32_t opcode) { return zk_op_name(opcode); }
const char *corral_err_name(int32_t err) { return zk_err_name(err); }

/* ---- subscribers ---------------------------------------------------------- */

void hooks_subscribe(const CorralHooks *h)
{
    hk.subs = xreallocarray(hk.subs, hk.nsubs + 1, sizeof *hk.subs);
    hk.subs[hk.nsubs++] = h;
    if (h->client_connected)
        hk.subscribed |= HOOK_EV_CONNECTED;
    if (h->client_authenticated)
        hk.subscribed |= HOOK_EV_AUTHENTICATED;
    if (h->request_completed)
        hk.subscribed |= HOOK_EV_REQUEST;
    if (h->txn_committed)
        hk.subscribed |= HOOK_EV_TXN;
    if (h->session_created || h->session_closed || h->session_expired)
        hk.subscribed |= HOOK_EV_SESSION;
    if (h->size >= offsetof(CorralHooks, client_auth_failed) + sizeof h->client_auth_failed && h->client_auth_failed)
        hk.subscribed |= HOOK_EV_AUTH_FAILED;
}

static void audit_free(CorralRequestEvent *ev)
{
    free((char *)ev->peer_ip);
    free((char *)ev->users);
    free((char *)ev->path);
    free((char *)ev->acl);
    for (size_t i = 0; i < ev->nops; i++)
        free((char *)ev->ops[i].path);
    free((CorralRequestOp *)ev->ops);
}

static void waiting_free(Waiting *w)
{
    if (w->kind == W_REQUEST)
        audit_free(&w->req);
    if (w->kind != W_TXN)
        return;
    free((char *)w->txn.path);
    for (size_t i = 0; i < w->txn.nops; i++)
        free((char *)w->txn.ops[i].path);
    free((CorralTxnOp *)w->txn.ops);
}

static void drop_waiting(void)
{
    for (size_t i = 0; i < wq.n; i++)
        waiting_free(&wq.v[(wq.head + i) % wq.cap]);
    free(wq.v);
    memset(&wq, 0, sizeof wq);
}

void hooks_arm(void)
{
    wq.last_txn = net_durable_zxid();
    hook_mask = hk.subscribed;
}

void hooks_disarm(void)
{
    hook_mask = 0;
    drop_waiting();
    for (size_t i = 0; i < begun.n; i++)
        audit_free(&begun.v[i].audit);
    free(begun.v);
    memset(&begun, 0, sizeof begun);
    free(hk.subs);
    memset(&hk, 0, sizeof hk);
}

/* ---- immediate events ----------------------------------------------------- */

void hook_fire_connected(uint64_t conn_id, const char *ip, int port)
{
    CorralClientEvent ev = {sizeof ev, conn_id, ip, port, 0, NULL, NULL};
    for (size_t i = 0; i < hk.nsubs; i++)
        if (hk.subs[i]->client_connected)
            hk.subs[i]->client_connected(hk.subs[i]->arg, &ev);
}

void hook_fire_authenticated(uint64_t conn_id, int64_t session, const char *ip, int port, const char *scheme,
                             const char *id)
{
    CorralClientEvent ev = {sizeof ev, conn_id, ip, port, session, scheme, id};
    for (size_t i = 0; i < hk.nsubs; i++)
        if (hk.subs[i]->client_authenticated)
            hk.subs[i]->client_authenticated(hk.subs[i]->arg, &ev);
}

void hook_fire_auth_failed(uint64_t conn_id, int64_t session, const char *ip, int port, const char *scheme)
{
    CorralClientEvent ev = {sizeof ev, conn_id, ip, port, session, scheme, NULL};
    for (size_t i = 0; i < hk.nsubs; i++)
        if (hk.subs[i]->size >= offsetof(CorralHooks, client_auth_failed) + sizeof hk.subs[i]->client_auth_failed &&
            hk.subs[i]->client_auth_failed)
            hk.subs[i]->client_auth_failed(hk.subs[i]->arg, &ev);
}

/* ---- the waiting queue ---------------------------------------------------- */

static Waiting *push_waiting(int kind, int64_t zxid)
{
    if (wq.n == wq.cap) {
        size_t ncap = wq.cap ? wq.cap * 2 : 64;
        Waiting *nv = xreallocarray(NULL, ncap, sizeof *nv);
        for (size_t i = 0; i < wq.n; i++)
            nv[i] = wq.v[(wq.head + i) % wq.cap];
        free(wq.v);
        wq.v = nv;
        wq.cap = ncap;
        wq.head = 0;
    }
    Waiting *w = &wq.v[(wq.head + wq.n++) % wq.cap];
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->zxid = zxid;
    return w;
}

static void deliver_request(CorralRequestEvent *ev)
{
    int64_t ms = el_now_ms() - ev->latency_ms;
    ev->latency_ms = ms < 0 ? 0 : ms;
    for (size_t i = 0; i < hk.nsubs; i++)
        if (hk.subs[i]->request_completed)
            hk.subs[i]->request_completed(hk.subs[i]->arg, ev);
}

static void deliver_txn(const Waiting *w)
{
    for (size_t i = 0; i < hk.nsubs; i++)
        if (hk.subs[i]->txn_committed)
            hk.subs[i]->txn_committed(hk.subs[i]->arg, &w->txn);
    if (w->txn.type != ZOO_OP_CREATE_SESSION && w->txn.type != ZOO_OP_CLOSE_SESSION)
        return;
    CorralSessionEvent ev = {sizeof ev, w->txn.session_id, w->zxid, w->timeout_ms};
    for (size_t i = 0; i < hk.nsubs; i++) {
        const CorralHooks *h = hk.subs[i];
        void (*fn)(void *, const CorralSessionEvent *) =
            w->txn.type == ZOO_OP_CREATE_SESSION ? h->session_created : w->expired ? h->session_expired : h->session_closed;
        if (fn)
            fn(h->arg, &ev);
    }
}

void hook_commit_point(int64_t zxid)
{
    /* An entry leaves the queue before its callbacks run, so a callback
     * that makes the core commit again cannot deliver it twice. */
    while (wq.n && wq.v[wq.head].zxid <= zxid) {
        Waiting w = wq.v[wq.head];
        wq.head = (wq.head + 1) % wq.cap;
        wq.n--;
        if (w.kind == W_REQUEST)
            deliver_request(&w.req);
        else
            deliver_txn(&w);
        waiting_free(&w);
    }
}

void hook_truncated(int64_t zxid)
{
    while (wq.n) {
        Waiting *w = &wq.v[(wq.head + wq.n - 1) % wq.cap];
        if (w->zxid <= zxid)
            break;
        waiting_free(w);
        wq.n--;
    }
    if (wq.last_txn > zxid)
        wq.last_txn = zxid;
}

/* ---- requests ------------------------------------------------------------- */

static int32_t be32(const uint8_t *p) { return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]); }

static char *dup_bytes(ZkBytes b) { return b.data && b.len >= 0 ? xstrndup(b.data, (size_t)b.len) : NULL; }

/* ZooKeeper's ZKUtil.aclToString: "scheme:id:perms" joined by ",". */
static char *acl_string(const JuteVec_ACL *v)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    for (int32_t i = 0; i < v->count; i++) {
        const ACL *a = &v->items[i];
        int32_t p = a->perms;
        corral_strbuf_printf(&sb, "%s%.*s:%.*s:%s%s%s%s%s", i ? "," : "", a->id.scheme.len > 0 ? a->id.scheme.len : 0,
                             a->id.scheme.data ? a->id.scheme.data : "", a->id.id.len > 0 ? a->id.id.len : 0,
                             a->id.id.data ? a->id.id.data : "", p & 4 ? "c" : "", p & 8 ? "d" : "", p & 1 ? "r" : "",
                             p & 2 ? "w" : "", p & 16 ? "a" : "");
    }
    char *s = xstrndup(sb.data ? sb.data : "", sb.len);
    corral_strbuf_free(&sb);
    return s;
}

/* The path (and create flags, ACL) of one request record of `op`; 0, or
 * -1 when op is not one the audit fields describe or the record is bad. */
static int audit_record(int32_t op, RBuf *r, Arena *a, char **path, int32_t *flags, char **acl)
{
    *flags = -1;
    switch (op) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2:
    case ZOO_OP_CREATE_CONTAINER: {
        CreateRequest q;
        if (jute_read_CreateRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        *flags = op == ZOO_OP_CREATE_CONTAINER ? 4 : q.flags;
        if (acl)
            *acl = acl_string(&q.acl);
        return 0;
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLRequest q;
        if (jute_read_CreateTTLRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        *flags = q.flags;
        if (acl)
            *acl = acl_string(&q.acl);
        return 0;
    }
    case ZOO_OP_DELETE:
    case ZOO_OP_DELETE_CONTAINER: {
        DeleteRequest q;
        if (jute_read_DeleteRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        return 0;
    }
    case ZOO_OP_SETDATA: {
        SetDataRequest q;
        if (jute_read_SetDataRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        return 0;
    }
    case ZOO_OP_SETACL: {
        SetACLRequest q;
        if (jute_read_SetACLRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        if (acl)
            *acl = acl_string(&q.acl);
        return 0;
    }
    case ZOO_OP_CHECK: {
        CheckVersionRequest q;
        if (jute_read_CheckVersionRequest(r, a, &q) < 0)
            return -1;
        *path = dup_bytes(q.path);
        return 0;
    }
    default:
        return -1;
    }
}

/* The audit fields of a request that changes the tree (else nothing). */
static void audit_fields(CorralRequestEvent *ev, int32_t op, const uint8_t *body, size_t len, const char *ip,
                         HookUsersFn users_fn, void *users_arg)
{
    switch (op) {
    case ZOO_OP_CREATE: case ZOO_OP_CREATE2: case ZOO_OP_CREATE_CONTAINER: case ZOO_OP_CREATE_TTL:
    case ZOO_OP_DELETE: case ZOO_OP_DELETE_CONTAINER: case ZOO_OP_SETDATA: case ZOO_OP_SETACL: case ZOO_OP_MULTI:
    case ZOO_OP_CLOSE_SESSION:
        break;
    default:
        return;
    }
    char users[1024];
    ev->peer_ip = ip ? xstrdup(ip) : NULL;
    ev->users = users_fn ? xstrdup(users_fn(users_arg, users, sizeof users)) : NULL;
    if (op == ZOO_OP_CLOSE_SESSION)
        return;
    Arena a;
    arena_init(&a, 1024);
    RBuf r;
    rbuf_init(&r, body, len);
    char *path = NULL, *acl = NULL;
    int32_t flags = -1;
    if (op == ZOO_OP_MULTI) {
        CorralRequestOp *ops = NULL;
        size_t n = 0;
        for (;;) {
            MultiHeader mh;
            if (jute_read_MultiHeader(&r, &a, &mh) < 0 || mh.done || n >= 1000)
                break;
            CorralRequestOp o = {mh.type, NULL, -1};
            char *p = NULL;
            if (audit_record(mh.type, &r, &a, &p, &o.create_flags, NULL) < 0)
                break;
            o.path = p;
            ops = xreallocarray(ops, n + 1, sizeof *ops);
            ops[n++] = o;
        }
        ev->ops = ops;
        ev->nops = n;
    } else if (audit_record(op, &r, &a, &path, &flags, &acl) < 0) {
        arena_free(&a);
        return;
    }
    arena_free(&a);
    ev->path = path;
    ev->create_flags = flags;
    ev->acl = acl;
}

void hook_request_begin(uint64_t conn_id, int64_t session, const uint8_t *frame, size_t len, int64_t now_ms,
                        const char *ip, HookUsersFn users_fn, void *users_arg)
{
    if (session == 0 || len < 8)
        return;
    int32_t xid = be32(frame), op = be32(frame + 4);
    /* A frame that waited behind a forwarded request comes here again when
     * it is replayed: keep its first arrival. */
    for (size_t i = 0; i < begun.n; i++)
        if (begun.v[i].conn == conn_id && begun.v[i].xid == xid && begun.v[i].op == op)
            return;
    if (begun.n == begun.cap) {
        begun.cap = begun.cap ? begun.cap * 2 : 64;
        begun.v = xreallocarray(begun.v, begun.cap, sizeof *begun.v);
    }
    Begun *b = &begun.v[begun.n++];
    *b = (Begun){conn_id, session, xid, op, now_ms, {0}};
    b->audit.create_flags = -1;
    audit_fields(&b->audit, op, frame + 8, len - 8, ip, users_fn, users_arg);
}

void hook_request_reply(uint64_t conn_id, int32_t xid, int32_t err, int64_t zxid)
{
    size_t i = 0;
    while (i < begun.n && !(begun.v[i].conn == conn_id && begun.v[i].xid == xid))
        i++;
    if (i == begun.n)
        return;   /* not a client's request (a forwarded write on the leader) */
    Begun b = begun.v[i];
    memmove(begun.v + i, begun.v + i + 1, (begun.n - i - 1) * sizeof *begun.v);
    begun.n--;
    CorralRequestEvent ev = b.audit;
    ev.size = sizeof ev;
    ev.conn_id = b.conn;
    ev.session_id = b.session;
    ev.xid = b.xid;
    ev.opcode = b.op;
    ev.err = err;
    ev.zxid = zxid;
    ev.latency_ms = b.start_ms;
    if (zxid <= net_durable_zxid()) {
        deliver_request(&ev);   /* released at once: it shows only committed state */
        audit_free(&ev);
        return;
    }
    /* Behind a hold: delivered when the reply is released. */
    push_waiting(W_REQUEST, zxid)->req = ev;
}

void hook_request_reply_frame(uint64_t conn_id, const uint8_t *frame, int64_t zxid)
{
    /* length (4), then ReplyHeader: xid (4), zxid (8), err (4) */
    hook_request_reply(conn_id, be32(frame + 4), be32(frame + 16), zxid);
}

void hook_conn_closed(uint64_t conn_id)
{
    size_t k = 0;
    for (size_t i = 0; i < begun.n; i++)
        if (begun.v[i].conn != conn_id)
            begun.v[k++] = begun.v[i];
        else
            audit_free(&begun.v[i].audit);
    begun.n = k;
}

/* ---- transactions --------------------------------------------------------- */

/* The path of a (sub)txn of `type`, decoded from r; NULL when it has none.
 * *err gets an error txn's code, *timeout a createSession's. */
static char *txn_path(int32_t type, RBuf *r, Arena *a, int32_t *err, int32_t *timeout)
{
    ZkBytes path = ZK_BYTES_NULL;
    switch (type) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2: {
        CreateTxn t;
        if (jute_read_CreateTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_CREATE_CONTAINER: {
        CreateContainerTxn t;
        if (jute_read_CreateContainerTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLTxn t;
        if (jute_read_CreateTTLTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_DELETE:
    case ZOO_OP_DELETE_CONTAINER: {
        DeleteTxn t;
        if (jute_read_DeleteTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_SETDATA:
    case ZOO_OP_RECONFIG: {
        SetDataTxn t;
        if (jute_read_SetDataTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_SETACL: {
        SetACLTxn t;
        if (jute_read_SetACLTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_CHECK: {
        CheckVersionTxn t;
        if (jute_read_CheckVersionTxn(r, a, &t) == 0)
            path = t.path;
        break;
    }
    case ZOO_OP_ERROR: {
        ErrorTxn t;
        if (jute_read_ErrorTxn(r, a, &t) == 0)
            *err = t.err;
        break;
    }
    case ZOO_OP_CREATE_SESSION: {
        CreateSessionTxn t;
        if (jute_read_CreateSessionTxn(r, a, &t) == 0)
            *timeout = t.timeOut;
        break;
    }
    default:
        break;
    }
    return path.len >= 0 && path.data ? xstrndup(path.data, (size_t)path.len) : NULL;
}

void hook_session_expiring(int64_t session) { wq.expiring = session; }

void hook_txn_applied(const uint8_t *data, size_t len)
{
    Arena a;
    arena_init(&a, 1024);
    RBuf r;
    rbuf_init(&r, data, len);
    TxnHeader h;
    if (jute_read_TxnHeader(&r, &a, &h) < 0 || h.zxid <= wq.last_txn) {
        /* A txn replayed from storage after a truncation was reported (or
         * dropped) the first time. */
        arena_free(&a);
        return;
    }
    wq.last_txn = h.zxid;
    Waiting *w = push_waiting(W_TXN, h.zxid);
    w->txn = (CorralTxnEvent){sizeof w->txn, h.zxid, h.clientId, h.cxid, h.type, 0, NULL, h.time, 0, NULL};
    if (h.type == ZOO_OP_MULTI) {
        MultiTxn m;
        if (jute_read_MultiTxn(&r, &a, &m) == 0 && m.txns.count > 0) {
            CorralTxnOp *ops = xcalloc((size_t)m.txns.count, sizeof *ops);
            for (int32_t i = 0; i < m.txns.count; i++) {
                RBuf sr;
                rbuf_init(&sr, m.txns.items[i].data.data,
                          m.txns.items[i].data.len > 0 ? (size_t)m.txns.items[i].data.len : 0);
                int32_t ignored = 0;
                ops[i].type = m.txns.items[i].type;
                ops[i].path = txn_path(ops[i].type, &sr, &a, &ops[i].err, &ignored);
            }
            w->txn.ops = ops;
            w->txn.nops = (size_t)m.txns.count;
        }
    } else {
        w->txn.path = txn_path(h.type, &r, &a, &w->txn.err, &w->timeout_ms);
    }
    if (h.type == ZOO_OP_CLOSE_SESSION && wq.expiring == h.clientId) {
        w->expired = 1;
        wq.expiring = 0;
    }
    arena_free(&a);
}
