/*
 * src/backend/server/request.c: client frames: the handshake, dispatch, and
 * every request that does not change the tree (reads, watches, auth, ping).
 * Writes go to write.c.
 *
 * Replies are written straight into the connection's output buffer behind a
 * hold mark at the tree's last zxid, so a reply never reveals state that is
 * not durable yet (net/net.h).  Per-session order is the order of the
 * frames: every request is answered in the turn it arrives in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/module.h"
#include "net/eventloop.h"
#include "server/admission.h"
#include "server/internal.h"
#include "server/replication.h"

static CorralMetric *m_auth_failed;

void request_register_metrics(void)
{
    m_auth_failed = corral_metric_counter("auth_failed_count", "Failed authentications (addauth and SASL)");
}

static void count_auth_failure(ClientConn *cc, const char *scheme)
{
    corral_metric_inc(m_auth_failed);
    HOOK_CLIENT_AUTH_FAILED(cc->conn->id, cc->session ? cc->session->id : 0, cc->conn->peer_ip, cc->conn->peer_port,
                            scheme);
}

/* The user an identity stands for, as its scheme's user_name says
 * (ZooKeeper's AuthenticationProvider.getUserName: "bob" for digest
 * "bob:<hash>"); the id itself when the scheme has none. */
static const char *id_user_name(const AuthId *id, char *buf, size_t n)
{
    const CorralAuthScheme *s = module_find_auth(id->scheme);
    return s && s->user_name ? s->user_name(s->arg, id->id, buf, n) : id->id;
}

/* The audit's user field: the users of the connection's identities, as
 * ZooKeeper's Request.getUsersForAudit ("127.0.0.1,bob"). */
static const char *audit_users(void *arg, char *buf, size_t n)
{
    const ClientConn *cc = arg;
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < cc->nids && o + 1 < n; i++) {
        char ubuf[256];
        int w = snprintf(buf + o, n - o, "%s%s", i ? "," : "", id_user_name(&cc->ids[i], ubuf, sizeof ubuf));
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

/* ---- replies ------------------------------------------------------------ */

static size_t reply_begin(ClientConn *cc, int32_t xid, int64_t zxid, int err)
{
    Conn *c = cc->conn;
    net_conn_hold(c, srv.last_zxid);
    size_t off = wbuf_begin_frame(&c->out);
    ReplyHeader rh = {xid, zxid, err};
    jute_write_ReplyHeader(&c->out, &rh);
    cc->last_zxid = zxid;
    return off;
}

static void reply_end(ClientConn *cc, size_t off)
{
    wbuf_end_frame(&cc->conn->out, off);
    HOOK_REQUEST_REPLY_FRAME(cc->conn->id, cc->conn->out.data + off, srv.last_zxid);
    net_count_sent(cc->conn);
    cc->conn->last_response_ms = el_wall_ms();
    net_conn_flush_later(cc->conn);
}

void reply_error(ClientConn *cc, int32_t xid, int err)
{
    reply_end(cc, reply_begin(cc, xid, srv.last_zxid, err));
}

static void reply_empty(ClientConn *cc, int32_t xid) { reply_error(cc, xid, ZERR_OK); }

ClientConn *client_of_session(int64_t session_id)
{
    Session *s = session_find(session_id);
    return s ? s->client : NULL;
}

static void stat_to_wire(const ZStat *z, Stat *s)
{
    s->czxid = z->czxid;
    s->mzxid = z->mzxid;
    s->ctime = z->ctime;
    s->mtime = z->mtime;
    s->version = z->version;
    s->cversion = z->cversion;
    s->aversion = z->aversion;
    s->ephemeralOwner = z->ephemeral_owner;
    s->dataLength = z->data_length;
    s->numChildren = z->num_children;
    s->pzxid = z->pzxid;
}

/* ---- handshake ---------------------------------------------------------- */

static void send_connect_response(ClientConn *cc, int32_t timeout, int64_t sid, const uint8_t *passwd)
{
    Conn *c = cc->conn;
    static const uint8_t zero[SESSION_PASSWD_LEN];
    net_conn_hold(c, srv.last_zxid);
    size_t off = wbuf_begin_frame(&c->out);
    ConnectResponse r = {0, timeout, sid, {(const char *)(passwd ? passwd : zero), SESSION_PASSWD_LEN}};
    wire_write_connect_response(&c->out, &r, cc->ro_layout < 0 ? -1 : 0);
    wbuf_end_frame(&c->out, off);
    net_count_sent(c);
    net_conn_flush_later(c);
}

const char *client_ids_desc(const ClientConn *cc, char *buf, size_t n)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < cc->nids && o + 1 < n; i++) {
        int w = snprintf(buf + o, n - o, "%s%s:%s", i ? "," : "", cc->ids[i].scheme, cc->ids[i].id);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return buf;
}

void client_log_session(const ClientConn *cc, const char *what, int64_t sid)
{
    char ids[512];
    corral_log(CORRAL_LOG_INFO, "session", "%s session 0x%llx for client %s, identities %s", what,
               (unsigned long long)sid, cc->conn->peer_desc, client_ids_desc(cc, ids, sizeof ids));
}

static void attach(ClientConn *cc, Session *s)
{
    if (s->client && s->client != cc) {
        /* The client moved to this connection: the old one is stale. */
        ClientConn *old = s->client;
        old->session = NULL;
        net_conn_close(old->conn, "session moved to a new connection");
    }
    session_attach(cc, s);
}

void session_attach(ClientConn *cc, Session *s)
{
    s->client = cc;
    cc->session = s;
    cc->connected = 1;
    snprintf(s->last_client, sizeof s->last_client, "%s", cc->conn->peer_desc);
    net_conn_established(cc->conn);
}

int32_t session_negotiated_timeout(int32_t requested)
{
    int32_t timeout = requested;
    if (timeout < srv.cfg->min_session_timeout_ms)
        timeout = (int32_t)srv.cfg->min_session_timeout_ms;
    if (timeout > srv.cfg->max_session_timeout_ms)
        timeout = (int32_t)srv.cfg->max_session_timeout_ms;
    return timeout;
}

int session_refused_for_limit(ClientConn *cc)
{
    if (srv.cfg->max_sessions > 0 && session_count() >= srv.cfg->max_sessions) {
        net_conn_close(cc->conn, "too many sessions (server.max_sessions)");
        return 1;
    }
    return 0;
}

static void handle_connect(ClientConn *cc, const ConnectRequest *rq, int ro)
{
    const ConnectRequest req = *rq;
    cc->ro_layout = ro;
    if (req.lastZxidSeen > srv.last_zxid) {
        corral_log(CORRAL_LOG_INFO, "session",
                   "Refusing session request for client %s as it has seen zxid 0x%llx our last zxid is 0x%llx "
                   "client must try another server",
                   cc->conn->peer_desc, (unsigned long long)req.lastZxidSeen, (unsigned long long)srv.last_zxid);
        net_conn_close(cc->conn, NULL);
        return;
    }
    int32_t timeout = session_negotiated_timeout(req.timeOut);

    if (req.sessionId == 0) {
        if (session_refused_for_limit(cc))
            return;
        int64_t sid = session_next_id();
        TxnHeader h = {sid, 0, server_next_zxid(), el_wall_ms(), ZOO_OP_CREATE_SESSION};
        CreateSessionTxn t = {timeout};
        WBuf w = WBUF_INIT;
        jute_write_TxnHeader(&w, &h);
        jute_write_CreateSessionTxn(&w, &t);
        txn_commit(&w, h.zxid, el_now_ms(), &srv.req_arena, NULL);
        wbuf_free(&w);
        Session *s = session_find(sid);
        attach(cc, s);
        client_log_session(cc, "Established", sid);
        send_connect_response(cc, timeout, sid, s->passwd);
        return;
    }
    Session *s = session_find(req.sessionId);
    if (s && s->client && s->client != cc) {
        /* ZooKeeper closes the session's current connection before it
         * checks the password (CLIENT_RECONNECT). */
        ClientConn *old = s->client;
        old->session = NULL;
        s->client = NULL;
        net_conn_close(old->conn, NULL);
    }
    if (!s || s->closing || req.passwd.len != SESSION_PASSWD_LEN ||
        memcmp(req.passwd.data, s->passwd, SESSION_PASSWD_LEN) != 0) {
        corral_log(CORRAL_LOG_INFO, "session", "Invalid session 0x%llx for client %s, probably expired",
                   (unsigned long long)req.sessionId, cc->conn->peer_desc);
        send_connect_response(cc, 0, 0, NULL);
        net_conn_close_after_flush(cc->conn);
        return;
    }
    attach(cc, s);
    session_touch(s, el_now_ms());
    send_connect_response(cc, timeout, s->id, s->passwd);
}

/* ---- reads -------------------------------------------------------------- */

typedef struct ChildList {
    ZkBytes *v;
    int32_t n, cap;
    size_t bytes;   /* encoded size of the names seen, counted on past the limit */
} ChildList;

/* A reply above server.max_reply_bytes is not built (a huge directory, a
 * multiRead of many large nodes): the request fails with MarshallingError
 * and the connection stays. */
static int reply_too_large(ClientConn *cc, const char *what, size_t bytes)
{
    static LogLimit limit;   /* a client can ask again and again: at most a line per 10 s */
    int64_t n;
    if (log_limit_due(&limit, &n))
        corral_log(CORRAL_LOG_WARN, "server",
                   "%s from %s (session 0x%llx) would answer at least %zu bytes, above server.max_reply_bytes "
                   "(%lld): answered MarshallingError%s",
                   what, cc->conn->peer_desc, (unsigned long long)(cc->session ? cc->session->id : 0), bytes,
                   (long long)srv.cfg->max_reply_bytes, n ? " (others like it not logged)" : "");
    return ZERR_MARSHALLINGERROR;
}

static void collect_child(void *ctx, const char *name, size_t len)
{
    ChildList *l = ctx;
    l->bytes += 4 + len;
    if (l->bytes > (size_t)srv.cfg->max_reply_bytes)
        return;   /* the reply will be refused: copy no more */
    if (l->n == l->cap) {
        int32_t ncap = l->cap ? l->cap * 2 : 16;
        ZkBytes *nv = arena_alloc(&srv.req_arena, (size_t)ncap * sizeof *nv);
        if (l->n)
            memcpy(nv, l->v, (size_t)l->n * sizeof *nv);
        l->v = nv;
        l->cap = ncap;
    }
    /* The tree reuses its name buffer between calls: copy. */
    l->v[l->n++] = (ZkBytes){arena_strndup(&srv.req_arena, name, len), (int32_t)len};
}

/* Lookups take the path as sent; like ZooKeeper, reads do not validate it:
 * a malformed path simply does not exist. */
static ZNode *lookup(ZkBytes path) { return path.len > 0 ? tree_lookup(srv.tree, path.data, (size_t)path.len) : NULL; }

/* A watch the request would add: refused above the session's cap, before
 * anything is read (a read that silently dropped its watch would leave the
 * client waiting for an event that never comes). */
static int watch_admitted(ClientConn *cc, bool watch)
{
    return watch ? admission_check_watch(cc->session->id) : 0;
}

static int read_get_data(ClientConn *cc, const GetDataRequest *q, GetDataResponse *out)
{
    Principal who = client_principal(cc);
    int rc = watch_admitted(cc, q->watch);
    if (rc)
        return rc;
    ZNode *n = lookup(q->path);
    if (!n)
        return ZERR_NONODE;
    if ((rc = acl_check(&who, tree_node_acl(n), ZOO_PERM_READ)))
        return rc;
    const char *d;
    int32_t dl;
    tree_data(n, &d, &dl);
    out->data = (ZkBytes){d, dl};
    ZStat st;
    tree_stat(srv.tree, n, &st);
    stat_to_wire(&st, &out->stat);
    if (q->watch)
        watch_add(srv.watches, q->path.data, (size_t)q->path.len, (WatcherId)cc->session->id, WATCH_DATA);
    return 0;
}

static int read_children(ClientConn *cc, ZkBytes path, bool watch, JuteVec_ustring *kids, Stat *stat)
{
    Principal who = client_principal(cc);
    int rc = watch_admitted(cc, watch);
    if (rc)
        return rc;
    ZNode *n = lookup(path);
    if (!n)
        return ZERR_NONODE;
    if ((rc = acl_check(&who, tree_node_acl(n), ZOO_PERM_READ)))
        return rc;
    ChildList l = {0};
    tree_children(srv.tree, n, collect_child, &l);
    if (l.bytes > (size_t)srv.cfg->max_reply_bytes)
        return reply_too_large(cc, "getChildren", l.bytes);
    kids->count = l.n;
    kids->items = l.v;
    if (stat) {
        ZStat st;
        tree_stat(srv.tree, n, &st);
        stat_to_wire(&st, stat);
    }
    if (watch)
        watch_add(srv.watches, path.data, (size_t)path.len, (WatcherId)cc->session->id, WATCH_CHILD);
    return 0;
}

static int cmp_auth_id(const void *a, const void *b)
{
    const AuthId *x = a, *y = b;
    int c = strcmp(x->scheme, y->scheme);
    return c ? c : strcmp(x->id, y->id);
}

/* ---- per-op handlers (wire/zk_ops.def binds them to opcodes) ------------- */

/* Every handler: the decoded header, the body after it, the time the frame
 * arrived.  A handler answers the request (or closes the connection). */
typedef void (*OpHandler)(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start);

/* Decodes the request record or answers MarshallingError: ZooKeeper answers
 * an undecodable body so and keeps the connection. */
#define READ_REQ(T, var) \
    T var; \
    if (jute_read_##T(body, &srv.req_arena, &var) < 0) { \
        reply_error(cc, h->xid, ZERR_MARSHALLINGERROR); \
        return; \
    }

/* Replies with a record: header (error 0) + the record's jute encoding. */
#define REPLY_WITH(T, resp) \
    do { \
        size_t off_ = reply_begin(cc, h->xid, srv.last_zxid, 0); \
        jute_write_##T(&cc->conn->out, &(resp)); \
        reply_end(cc, off_); \
    } while (0)

static void handle_exists(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(ExistsRequest, q);
    if (q.path.len > 0 && memchr(q.path.data, '\0', (size_t)q.path.len)) {
        reply_error(cc, h->xid, ZERR_BADARGUMENTS);   /* ZooKeeper checks exists paths for NUL */
        return;
    }
    int rc = watch_admitted(cc, q.watch);
    if (rc) {
        reply_error(cc, h->xid, rc);
        return;
    }
    ZNode *n = lookup(q.path);
    if (q.watch && q.path.len > 0)
        watch_add(srv.watches, q.path.data, (size_t)q.path.len, (WatcherId)cc->session->id, WATCH_DATA);
    if (!n) {
        reply_error(cc, h->xid, ZERR_NONODE);
        return;
    }
    ZStat st;
    tree_stat(srv.tree, n, &st);
    ExistsResponse resp;
    stat_to_wire(&st, &resp.stat);
    REPLY_WITH(ExistsResponse, resp);
}

static void handle_get_data(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(GetDataRequest, q);
    GetDataResponse resp;
    int rc = read_get_data(cc, &q, &resp);
    if (rc)
        reply_error(cc, h->xid, rc);
    else
        REPLY_WITH(GetDataResponse, resp);
}

static void handle_get_children(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(GetChildrenRequest, q);
    GetChildrenResponse resp;
    int rc = read_children(cc, q.path, q.watch, &resp.children, NULL);
    if (rc)
        reply_error(cc, h->xid, rc);
    else
        REPLY_WITH(GetChildrenResponse, resp);
}

static void handle_get_children2(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(GetChildren2Request, q);
    GetChildren2Response resp;
    int rc = read_children(cc, q.path, q.watch, &resp.children, &resp.stat);
    if (rc)
        reply_error(cc, h->xid, rc);
    else
        REPLY_WITH(GetChildren2Response, resp);
}

/* ZooKeeper hides digests from clients without ADMIN: "user:x". */
static const char *redact_digest(const char *id)
{
    const char *colon = strchr(id, ':');
    size_t ul = colon ? (size_t)(colon - id) : strlen(id);
    char *r = arena_alloc(&srv.req_arena, ul + 3);
    memcpy(r, id, ul);
    memcpy(r + ul, ":x", 3);
    return r;
}

static void handle_get_acl(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    Principal who = client_principal(cc);
    READ_REQ(GetACLRequest, q);
    ZNode *n = lookup(q.path);
    int rc = n ? acl_check(&who, tree_node_acl(n), ZOO_PERM_READ | ZOO_PERM_ADMIN) : ZERR_NONODE;
    if (rc) {
        reply_error(cc, h->xid, rc);
        return;
    }
    int redact = acl_check(&who, tree_node_acl(n), ZOO_PERM_ADMIN) != 0;
    const TreeAclEntry *acl;
    int na = 0;
    if (tree_acl_get(srv.tree, tree_node_acl(n), &acl, &na) < 0)
        na = 0;
    GetACLResponse resp;
    resp.acl.count = na;
    resp.acl.items = arena_alloc(&srv.req_arena, (size_t)(na ? na : 1) * sizeof(ACL));
    for (int i = 0; i < na; i++) {
        resp.acl.items[i].perms = acl[i].perms;
        resp.acl.items[i].id.scheme = zk_bytes_cstr(acl[i].scheme);
        const char *id = redact && strcmp(acl[i].scheme, "digest") == 0 ? redact_digest(acl[i].id) : acl[i].id;
        resp.acl.items[i].id.id = zk_bytes_cstr(id);
    }
    ZStat st;
    tree_stat(srv.tree, n, &st);
    stat_to_wire(&st, &resp.stat);
    REPLY_WITH(GetACLResponse, resp);
}

static void handle_all_children_number(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    Principal who = client_principal(cc);
    READ_REQ(GetAllChildrenNumberRequest, q);
    ZNode *n = lookup(q.path);
    int rc = n ? acl_check(&who, tree_node_acl(n), ZOO_PERM_READ) : ZERR_NONODE;
    if (rc) {
        reply_error(cc, h->xid, rc);
        return;
    }
    GetAllChildrenNumberResponse resp = {(int32_t)tree_all_children_number(srv.tree, n)};
    REPLY_WITH(GetAllChildrenNumberResponse, resp);
}

static void handle_get_ephemerals(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(GetEphemeralsRequest, q);
    ChildList l = {0};
    tree_session_ephemerals(srv.tree, cc->session->id, collect_child, &l);
    int all = q.prefixPath.len <= 0 || (q.prefixPath.len == 1 && q.prefixPath.data[0] == '/');
    GetEphemeralsResponse resp = {{0, l.v}};
    for (int32_t i = 0; i < l.n; i++)
        if (all || (l.v[i].len >= q.prefixPath.len &&
                    memcmp(l.v[i].data, q.prefixPath.data, (size_t)q.prefixPath.len) == 0))
            l.v[resp.ephemerals.count++] = l.v[i];
    REPLY_WITH(GetEphemeralsResponse, resp);
}

/* Standalone (and on a leader): every earlier write is already applied. */
static void handle_sync(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(SyncRequest, q);
    SyncResponse resp = {q.path};
    REPLY_WITH(SyncResponse, resp);
}

/* checkWatches and removeWatches (the same request layout). */
static void handle_check_watches(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(CheckWatchesRequest, q);
    if (q.path.len <= 0 || q.path.data[0] != '/') {
        reply_error(cc, h->xid, ZERR_MARSHALLINGERROR);   /* ZooKeeper's path walk throws on a relative path */
        return;
    }
    size_t plen = (size_t)q.path.len;
    WatcherId w = (WatcherId)cc->session->id;
    int found = h->type == ZOO_OP_CHECK_WATCHES ? watch_contains(srv.watches, q.path.data, plen, w, q.type)
                                                : watch_remove(srv.watches, q.path.data, plen, w, q.type);
    reply_error(cc, h->xid, found == 1 ? 0 : found == 0 ? ZERR_NOWATCHER : ZERR_MARSHALLINGERROR);
}

static void handle_add_watch(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    READ_REQ(AddWatchRequest, q);
    int rc = q.mode != 0 && q.mode != 1 ? ZERR_MARSHALLINGERROR : watch_admitted(cc, true);
    if (rc) {
        reply_error(cc, h->xid, rc);
        return;
    }
    if (q.path.len > 0)
        watch_add(srv.watches, q.path.data, (size_t)q.path.len, (WatcherId)cc->session->id,
                  q.mode == 0 ? WATCH_PERSISTENT : WATCH_PERSISTENT_RECURSIVE);
    ErrorResponse resp = {0};
    REPLY_WITH(ErrorResponse, resp);
}

static void handle_whoami(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    WhoAmIResponse resp;
    resp.clientInfo.count = (int32_t)cc->nids;
    resp.clientInfo.items = arena_alloc(&srv.req_arena, (cc->nids ? cc->nids : 1) * sizeof(ClientInfo));
    /* Sorted by scheme, then id: the order ZooKeeper's set of Ids comes out
     * in for the usual schemes (digest before ip before super). */
    qsort(cc->ids, cc->nids, sizeof *cc->ids, cmp_auth_id);
    for (size_t i = 0; i < cc->nids; i++) {
        resp.clientInfo.items[i].authScheme = zk_bytes_cstr(cc->ids[i].scheme);
        const char *user = id_user_name(&cc->ids[i], arena_alloc(&srv.req_arena, 256), 256);
        resp.clientInfo.items[i].user = zk_bytes_cstr(user);
    }
    REPLY_WITH(WhoAmIResponse, resp);
}

/* multiRead: getChildren and getData, each answered or failed on its own. */
static void handle_multi_read(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    Conn *c = cc->conn;
    size_t off = reply_begin(cc, h->xid, srv.last_zxid, 0);
    for (int guard = 0; guard < 100000; guard++) {
        if (c->out.len - off > (size_t)srv.cfg->max_reply_bytes) {
            int rc = reply_too_large(cc, "multiRead", c->out.len - off);
            c->out.len = off;   /* drop the partial reply */
            reply_error(cc, h->xid, rc);
            return;
        }
        MultiHeader mh;
        if (jute_read_MultiHeader(body, &srv.req_arena, &mh) < 0)
            goto malformed;
        if (mh.done)
            break;
        int rc;
        if (mh.type == ZOO_OP_GETDATA) {
            GetDataRequest q;
            if (jute_read_GetDataRequest(body, &srv.req_arena, &q) < 0)
                goto malformed;
            GetDataResponse resp;
            if (!(rc = read_get_data(cc, &q, &resp))) {
                MultiHeader out = {ZOO_OP_GETDATA, false, 0};
                jute_write_MultiHeader(&c->out, &out);
                jute_write_GetDataResponse(&c->out, &resp);
                continue;
            }
        } else if (mh.type == ZOO_OP_GETCHILDREN) {
            GetChildrenRequest q;
            if (jute_read_GetChildrenRequest(body, &srv.req_arena, &q) < 0)
                goto malformed;
            GetChildrenResponse resp;
            if (!(rc = read_children(cc, q.path, q.watch, &resp.children, NULL))) {
                MultiHeader out = {ZOO_OP_GETCHILDREN, false, 0};
                jute_write_MultiHeader(&c->out, &out);
                jute_write_GetChildrenResponse(&c->out, &resp);
                continue;
            }
        } else {
            goto malformed;   /* ZooKeeper: IOException "Invalid type of op" closes the connection */
        }
        MultiHeader out = {ZOO_OP_ERROR, false, rc};
        ErrorResponse er = {rc};
        jute_write_MultiHeader(&c->out, &out);
        jute_write_ErrorResponse(&c->out, &er);
    }
    MultiHeader end = {-1, true, -1};
    jute_write_MultiHeader(&c->out, &end);
    reply_end(cc, off);
    return;
malformed:
    c->out.len = off;   /* drop the partial reply */
    reply_error(cc, h->xid, ZERR_MARSHALLINGERROR);
}

/* ---- watches on reconnect, auth ----------------------------------------- */

static void send_event_now(ClientConn *cc, int type, ZkBytes path)
{
    int64_t z = srv.last_zxid;
    deliver_watch_event(&z, (WatcherId)cc->session->id, type, path.data, (size_t)path.len);
}

static void set_watch_list(ClientConn *cc, enum WatchSetList which, const JuteVec_ustring *v, int64_t rel)
{
    for (int32_t i = 0; i < v->count; i++) {
        ZkBytes p = v->items[i];
        if (p.len <= 0)
            continue;
        ZNode *n = lookup(p);
        ZStat st = {0};
        if (n)
            tree_stat(srv.tree, n, &st);
        int ev = watch_set_one(srv.watches, which, p.data, (size_t)p.len, (WatcherId)cc->session->id, rel, n != NULL,
                               st.mzxid, st.pzxid);
        if (ev != ZEV_NONE)
            send_event_now(cc, ev, p);
    }
}

static void handle_set_watches(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    if (h->type == ZOO_OP_SET_WATCHES) {
        SetWatches q;
        if (jute_read_SetWatches(body, &srv.req_arena, &q) < 0)
            goto malformed;
        set_watch_list(cc, WATCH_SET_DATA, &q.dataWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_EXIST, &q.existWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_CHILD, &q.childWatches, q.relativeZxid);
    } else {
        SetWatches2 q;
        if (jute_read_SetWatches2(body, &srv.req_arena, &q) < 0)
            goto malformed;
        set_watch_list(cc, WATCH_SET_DATA, &q.dataWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_EXIST, &q.existWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_CHILD, &q.childWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_PERSISTENT, &q.persistentWatches, q.relativeZxid);
        set_watch_list(cc, WATCH_SET_PERSISTENT_RECURSIVE, &q.persistentRecursiveWatches, q.relativeZxid);
    }
    reply_empty(cc, h->xid);
    return;
malformed:
    reply_error(cc, h->xid, ZERR_MARSHALLINGERROR);
}

static void add_id_cb(void *ctx, const char *scheme, const char *id) { acl_add_id(ctx, scheme, id); }

/* What an auth scheme may know of connection c (corral/auth.h). */
static CorralAuthClient auth_client(Conn *c, int64_t session_id)
{
    CorralAuthClient who = {.peer_ip = c->peer_ip, .peer_port = c->peer_port, .session_id = session_id};
    who.tls_subject = net_conn_tls_subject(c);
    who.tls_cert_der = net_conn_tls_cert(c, &who.tls_cert_der_len);
    return who;
}

/* The identities a successful addauth or SASL exchange added (from index
 * `had` on) go to the client_authenticated hook. */
static void report_new_ids(ClientConn *cc, size_t had)
{
    for (size_t i = had; i < cc->nids; i++)
        HOOK_CLIENT_AUTHENTICATED(cc->conn->id, cc->session ? cc->session->id : 0, cc->conn->peer_ip,
                                  cc->conn->peer_port, cc->ids[i].scheme, cc->ids[i].id);
}

static void handle_auth(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    AuthPacket q;
    if (jute_read_AuthPacket(body, &srv.req_arena, &q) < 0) {
        net_conn_close(cc->conn, "malformed auth packet");
        return;
    }
    char *scheme = arena_strndup(&srv.req_arena, q.scheme.data ? q.scheme.data : "", q.scheme.len > 0 ? (size_t)q.scheme.len : 0);
    const CorralAuthScheme *s = module_find_auth(scheme);
    int rc = ZERR_AUTHFAILED;
    size_t had = cc->nids;
    if (s) {
        CorralAuthClient who = auth_client(cc->conn, cc->session ? cc->session->id : 0);
        rc = s->authenticate(s->arg, &who, q.auth.data, q.auth.len > 0 ? (size_t)q.auth.len : 0, add_id_cb, cc);
    }
    if (rc != 0) {
        corral_log(CORRAL_LOG_WARN, "auth", "Authentication failed for scheme: %s from %s", scheme, cc->conn->peer_desc);
        count_auth_failure(cc, scheme);
        reply_error(cc, XID_AUTH, ZERR_AUTHFAILED);
        net_conn_close_after_flush(cc->conn);
        return;
    }
    report_new_ids(cc, had);
    reply_error(cc, XID_AUTH, ZERR_OK);
}

static const CorralAuthScheme *sasl_provider(void)
{
    for (size_t i = 0; i < module_auth_count(); i++)
        if (module_auth_at(i)->sasl_step)
            return module_auth_at(i);
    return NULL;
}

/* SASL (opcode 102): relays tokens between the client and the scheme
 * module that speaks SASL, until it reports completion or failure. */
static void handle_sasl(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    GetSASLRequest q;
    if (jute_read_GetSASLRequest(body, &srv.req_arena, &q) < 0) {
        net_conn_close(cc->conn, "malformed SASL request");
        return;
    }
    const CorralAuthScheme *s = cc->sasl_scheme ? cc->sasl_scheme : sasl_provider();
    if (!s) {
        corral_log(CORRAL_LOG_WARN, "auth", "client %s attempted SASL authentication, but no SASL module is loaded",
                   cc->conn->peer_desc);
        reply_error(cc, h->xid, ZERR_AUTHFAILED);
        net_conn_close_after_flush(cc->conn);
        return;
    }
    if (!cc->sasl_scheme) {
        CorralAuthClient who = auth_client(cc->conn, cc->session ? cc->session->id : 0);
        cc->sasl_state = s->sasl_start ? s->sasl_start(s->arg, &who) : NULL;
        cc->sasl_scheme = s;
    }
    const void *out = NULL;
    size_t outlen = 0;
    size_t had = cc->nids;
    int rc = s->sasl_step(s->arg, cc->sasl_state, q.token.data, q.token.len > 0 ? (size_t)q.token.len : 0, &out,
                          &outlen, add_id_cb, cc);
    if (rc < 0) {
        corral_log(CORRAL_LOG_WARN, "auth", "SASL authentication failed for client %s", cc->conn->peer_desc);
        count_auth_failure(cc, "sasl");
        /* With an (empty) SetSASLResponse body, as ZooKeeper: the Java
         * client reads it whatever the error code. */
        SetSASLResponse none = {ZK_BYTES_NULL};
        size_t eoff = reply_begin(cc, h->xid, srv.last_zxid, ZERR_AUTHFAILED);
        jute_write_SetSASLResponse(&cc->conn->out, &none);
        reply_end(cc, eoff);
        net_conn_close_after_flush(cc->conn);
        return;
    }
    if (rc == 1)
        report_new_ids(cc, had);
    SetSASLResponse resp = {{out, out ? (int32_t)outlen : -1}};
    size_t off = reply_begin(cc, h->xid, srv.last_zxid, 0);
    jute_write_SetSASLResponse(&cc->conn->out, &resp);
    reply_end(cc, off);
}

static void handle_close_session(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    Session *s = cc->session;
    client_log_session(cc, "Closing (client's request)", s->id);
    int64_t zxid = txn_close_session(s->id, start);
    cc->session = NULL;   /* txn removed it */
    net_conn_hold(cc->conn, zxid);
    reply_error(cc, h->xid, ZERR_OK);
    net_conn_close_after_flush(cc->conn);
}

/* ---- dispatch ----------------------------------------------------------- */

static void handle_ping(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    reply_end(cc, reply_begin(cc, XID_PING, srv.last_zxid, 0));
}

static void handle_write(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    write_request(cc, h, body, start);
}

/* Not a client request, or an opcode ZooKeeper does not have: ZooKeeper
 * answers Unimplemented and closes the connection. */
static void handle_none(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    cc->last_op = "UNKN";
    reply_error(cc, h->xid, ZERR_UNIMPLEMENTED);
    net_conn_close_after_flush(cc->conn);
}

static const OpHandler handlers[ZK_OP_SLOTS] = {
#define ZK_OP(code, name, abbrev, class, flags, handler) [(code) + ZK_OP_BIAS] = handle_##handler,
#include "wire/zk_ops.def"
#undef ZK_OP
};

static void dispatch(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    const ZkOpInfo *op = zk_op_info(h->type);
    if (!op) {
        handle_none(cc, h, body, start);
        return;
    }
    if (op->abbrev)
        cc->last_op = op->abbrev;
    handlers[h->type + ZK_OP_BIAS](cc, h, body, start);
    if (op->cls == ZK_OPC_READ)
        server_touch_latency(cc, start);
}

static ClientConn *client_new(Conn *c)
{
    ClientConn *cc = xcalloc(1, sizeof *cc);
    cc->conn = c;
    cc->last_op = "NA";
    cc->last_cxid = -1;
    c->proto = cc;
    /* Every connection holds its address as an "ip" identity, as in
     * ZooKeeper (whoami shows it; ip ACLs match it when the auth_ip module
     * is loaded).  Modules may add more identities per connection. */
    acl_add_id(cc, "ip", c->peer_ip);
    for (size_t i = 0; i < module_auth_count(); i++) {
        const CorralAuthScheme *s = module_auth_at(i);
        if (s->connection_ids) {
            CorralAuthClient who = auth_client(c, 0);
            s->connection_ids(s->arg, &who, add_id_cb, cc);
        }
    }
    return cc;
}

/* Every frame of a client connection: decoded once here; in an ensemble,
 * replication says whether it is handled there (forwarded to the leader,
 * waiting behind forwarded requests, refused by a read-only member) or
 * here. */
void request_on_frame(Conn *c, const uint8_t *frame, size_t len)
{
    ClientConn *cc = c->proto ? c->proto : client_new(c);
    HOOK_REQUEST_BEGIN(c->id, cc->session ? cc->session->id : 0, frame, len, el_now_ms(), c->peer_ip, audit_users,
                       cc);
    int repl = replication_active();
    arena_reset(&srv.req_arena);
    if (repl && replication_defer(cc, frame, len))
        return;
    RBuf r;
    rbuf_init(&r, frame, len);
    int64_t start = el_now_ms();
    if (!cc->connected) {
        ConnectRequest req;
        int ro;
        if (wire_read_connect_request(&r, &srv.req_arena, &req, &ro) < 0) {
            net_conn_close(c, "malformed ConnectRequest");
            return;
        }
        if (!repl || !replication_route_connect(cc, &req, ro, frame, len))
            handle_connect(cc, &req, ro);
        return;
    }
    if (!cc->session) {
        net_conn_close(c, "request on a closed session");
        return;
    }
    RequestHeader h;
    if (jute_read_RequestHeader(&r, &srv.req_arena, &h) < 0) {
        net_conn_close(c, "malformed request header");
        return;
    }
    session_touch(cc->session, start);
    if (h.xid >= 0)
        cc->last_cxid = h.xid;
    int refused = admission_check_request(cc, h.type, len);
    if (refused) {
        cc->last_op = "THRO";
        if (repl)
            replication_refuse(cc, h.xid, refused);   /* in its place among forwarded requests */
        else
            reply_error(cc, h.xid, refused);
        return;
    }
    if (repl && replication_route_request(cc, &h, &r, frame, len))
        return;
    dispatch(cc, &h, &r, start);
}

void request_on_close(Conn *c)
{
    ClientConn *cc = c->proto;
    if (!cc)
        return;
    HOOK_CONN_CLOSED(c->id);
    if (replication_active())
        replication_client_closed(cc);
    if (cc->session && cc->session->client == cc) {
        /* The session lives on until it expires; its watches go with the
         * connection, as in ZooKeeper (the client re-sends setWatches). */
        watch_remove_watcher(srv.watches, (WatcherId)cc->session->id);
        cc->session->client = NULL;
    }
    if (cc->sasl_scheme && cc->sasl_scheme->sasl_end)
        cc->sasl_scheme->sasl_end(cc->sasl_scheme->arg, cc->sasl_state);
    acl_free_ids(cc);
    free(cc);
    c->proto = NULL;
}
