/*
 * src/backend/server/write.c: turning write requests into transactions.
 *
 * Validation follows ZooKeeper 3.8's PrepRequestProcessor step by step, in
 * its order, so clients get the same error for the same mistake.  A multi
 * is validated op by op against a small overlay ("view") of the nodes its
 * earlier ops touched, like ZooKeeper's outstanding ChangeRecords: nothing
 * touches the tree until every op passed; then one MultiTxn is logged and
 * applied.  A failed request is logged as an ErrorTxn (a failed multi as a
 * MultiTxn of ErrorTxns) and takes a zxid, exactly as in ZooKeeper.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "net/eventloop.h"
#include "server/admission.h"
#include "server/internal.h"

#define EPHEMERAL_CONTAINER INT64_MIN
#define MAX_TTL 0xFFFFFFFFFFLL

/* A node as the ops of one request see it. */
typedef struct VNode {
    const char *path;
    size_t len;
    int exists;
    int32_t version, cversion, aversion, num_children;
    int64_t owner;
    uint32_t acl_id;          /* tree ACL, when acl == NULL */
    const ACL *acl;           /* ACL given by an earlier create of this request */
    int32_t nacl;
} VNode;

typedef struct View {
    VNode *v;
    size_t n, cap;
    const Principal *who;
    Arena *a;
} View;

static VNode *view_get(View *w, const char *path, size_t len)
{
    if (len == 0) {
        path = "/";
        len = 1;
    }
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i].len == len && memcmp(w->v[i].path, path, len) == 0)
            return &w->v[i];
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 8;
        VNode *nv = arena_alloc(w->a, ncap * sizeof *nv);
        if (w->n)
            memcpy(nv, w->v, w->n * sizeof *nv);
        w->v = nv;
        w->cap = ncap;
    }
    VNode *vn = &w->v[w->n++];
    memset(vn, 0, sizeof *vn);
    vn->path = path;
    vn->len = len;
    ZNode *n = tree_lookup(srv.tree, path, len);
    if (n) {
        ZStat st;
        tree_stat(srv.tree, n, &st);
        vn->exists = 1;
        vn->version = st.version;
        vn->cversion = tree_node_cversion(n);   /* stored: sequential names use it */
        vn->aversion = st.aversion;
        vn->num_children = st.num_children;
        vn->owner = tree_node_ephemeral_owner(n);
        vn->acl_id = tree_node_acl(n);
    }
    return vn;
}

static int view_check_acl(View *w, const VNode *vn, int perm)
{
    if (!vn->acl)
        return acl_check(w->who, vn->acl_id, perm);
    TreeAclEntry *e = arena_alloc(w->a, (size_t)(vn->nacl ? vn->nacl : 1) * sizeof *e);
    for (int32_t i = 0; i < vn->nacl; i++) {
        e[i].perms = vn->acl[i].perms;
        e[i].scheme = arena_strndup(w->a, vn->acl[i].id.scheme.data, (size_t)vn->acl[i].id.scheme.len);
        e[i].id = arena_strndup(w->a, vn->acl[i].id.id.data, (size_t)vn->acl[i].id.id.len);
    }
    return acl_check_list(w->who, e, vn->nacl, perm);
}

static int check_and_inc_version(int32_t current, int32_t expected, int32_t *next)
{
    if (expected != -1 && expected != current)
        return ZERR_BADVERSION;
    *next = (int32_t)((uint32_t)current + 1);
    return 0;
}

static int is_special_path(const char *p, size_t len)
{
    static const char *const special[] = {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config", NULL};
    for (int i = 0; special[i]; i++)
        if (strlen(special[i]) == len && memcmp(special[i], p, len) == 0)
            return 1;
    return 0;
}

/* The parent of a path as ZooKeeper computes it (substring before the last
 * '/'; "" means the root).  -1 when there is no '/' or a NUL byte. */
static int parent_of(ZkBytes path, size_t *plen)
{
    if (path.len <= 0 || memchr(path.data, '\0', (size_t)path.len))
        return -1;
    int32_t i = path.len - 1;
    while (i >= 0 && path.data[i] != '/')
        i--;
    if (i < 0)
        return -1;
    *plen = (size_t)i;
    return 0;
}

/* ---- one op ------------------------------------------------------------- */

typedef struct PrepOut {
    int txn_type;             /* type of the txn record written */
} PrepOut;

static int prep_create(View *w, int op, RBuf *body, WBuf *rec, PrepOut *out)
{
    CreateRequest q;
    int64_t ttl = -1;
    if (op == ZOO_OP_CREATE_TTL) {
        CreateTTLRequest t;
        if (jute_read_CreateTTLRequest(body, w->a, &t) < 0)
            return -2;
        q.path = t.path;
        q.data = t.data;
        q.acl = t.acl;
        q.flags = t.flags;
        ttl = t.ttl;
    } else if (jute_read_CreateRequest(body, w->a, &q) < 0) {
        return -2;
    }
    int mode = q.flags;
    if (op == ZOO_OP_CREATE_CONTAINER)
        mode = 4;
    if (!zk_create_mode_valid(mode))
        return ZERR_BADARGUMENTS;
    if (zk_create_mode_is_ttl(mode) && !srv.cfg->extended_types)
        return ZERR_UNIMPLEMENTED;
    if (zk_create_mode_is_ttl(mode) ? (ttl <= 0 || ttl > MAX_TTL) : ttl >= 0)
        return ZERR_BADARGUMENTS;
    size_t plen;
    if (parent_of(q.path, &plen) < 0)
        return ZERR_BADARGUMENTS;
    JuteVec_ACL acl;
    int rc = acl_fixup(w->who, &q.acl, w->a, &acl);
    if (rc)
        return rc;
    VNode *parent = view_get(w, q.path.data, plen);
    if (!parent->exists)
        return ZERR_NONODE;
    if ((rc = view_check_acl(w, parent, ZOO_PERM_CREATE)))
        return rc;
    ZkBytes path = q.path;
    if (zk_create_mode_is_sequential(mode)) {
        char *p = arena_alloc(w->a, (size_t)q.path.len + 12);
        memcpy(p, q.path.data, (size_t)q.path.len);
        int n = snprintf(p + q.path.len, 12, "%010d", parent->cversion);
        path = (ZkBytes){p, q.path.len + n};
    }
    if (zk_validate_path(path.data, (size_t)path.len, 0))
        return ZERR_BADARGUMENTS;
    VNode *node = view_get(w, path.data, (size_t)path.len);
    /* view_get may have moved the array: fetch the parent again. */
    parent = view_get(w, q.path.data, plen);
    if (node->exists)
        return ZERR_NODEEXISTS;
    /* Only session-owned ephemerals refuse children (EphemeralType.NORMAL);
     * containers and TTL nodes take them. */
    if (parent->owner != 0 && parent->owner != EPHEMERAL_CONTAINER && ((uint64_t)parent->owner >> 56) != 0xFF)
        return ZERR_NOCHILDRENFOREPHEMERALS;
    /* server.max_ephemerals_per_session, against the nodes the session
     * owns already (not those created earlier in the same multi). */
    if (op != ZOO_OP_CREATE_CONTAINER && op != ZOO_OP_CREATE_TTL && zk_create_mode_is_ephemeral(mode) &&
        (rc = admission_check_ephemeral(w->who->session_id)))
        return rc;
    int32_t new_cversion = parent->cversion + 1;
    parent->cversion = new_cversion;
    parent->num_children++;
    node->exists = 1;
    node->version = node->cversion = node->aversion = node->num_children = 0;
    node->acl = acl.items;
    node->nacl = acl.count;
    if (op == ZOO_OP_CREATE_CONTAINER) {
        node->owner = EPHEMERAL_CONTAINER;
        CreateContainerTxn t = {path, q.data, acl, new_cversion};
        jute_write_CreateContainerTxn(rec, &t);
        out->txn_type = ZOO_OP_CREATE_CONTAINER;
    } else if (op == ZOO_OP_CREATE_TTL) {
        node->owner = (int64_t)(0xFF00000000000000ULL | (uint64_t)ttl);
        CreateTTLTxn t = {path, q.data, acl, new_cversion, ttl};
        jute_write_CreateTTLTxn(rec, &t);
        out->txn_type = ZOO_OP_CREATE_TTL;
    } else {
        int eph = zk_create_mode_is_ephemeral(mode);
        node->owner = eph ? w->who->session_id : 0;
        CreateTxn t = {path, q.data, acl, eph, new_cversion};
        jute_write_CreateTxn(rec, &t);
        out->txn_type = op;   /* create or create2: the reply differs */
    }
    return 0;
}

static int prep_delete(View *w, RBuf *body, WBuf *rec, PrepOut *out)
{
    DeleteRequest q;
    if (jute_read_DeleteRequest(body, w->a, &q) < 0)
        return -2;
    size_t plen;
    if (parent_of(q.path, &plen) < 0 || is_special_path(q.path.data, (size_t)q.path.len))
        return ZERR_BADARGUMENTS;
    VNode *parent = view_get(w, q.path.data, plen);
    if (!parent->exists)
        return ZERR_NONODE;
    int rc = view_check_acl(w, parent, ZOO_PERM_DELETE);
    if (rc)
        return rc;
    VNode *node = view_get(w, q.path.data, (size_t)q.path.len);
    parent = view_get(w, q.path.data, plen);
    if (!node->exists)
        return ZERR_NONODE;
    int32_t next;
    if ((rc = check_and_inc_version(node->version, q.version, &next)))
        return rc;
    if (node->num_children > 0)
        return ZERR_NOTEMPTY;
    node->exists = 0;
    parent->num_children--;
    DeleteTxn t = {q.path};
    jute_write_DeleteTxn(rec, &t);
    out->txn_type = ZOO_OP_DELETE;
    return 0;
}

/* The node a setData, setACL or check names: it must exist and the client
 * must hold `perm` on it (PrepRequestProcessor's getRecordForPath +
 * checkACL).  The path was validated by the caller. */
static int existing_node(View *w, ZkBytes path, int perm, VNode **out)
{
    VNode *node = view_get(w, path.data, (size_t)path.len);
    if (!node->exists)
        return ZERR_NONODE;
    *out = node;
    return view_check_acl(w, node, perm);
}

static int bad_path(ZkBytes path) { return path.len <= 0 || zk_validate_path(path.data, (size_t)path.len, 0); }

static int prep_set_data(View *w, RBuf *body, WBuf *rec, PrepOut *out)
{
    SetDataRequest q;
    if (jute_read_SetDataRequest(body, w->a, &q) < 0)
        return -2;
    if (bad_path(q.path))
        return ZERR_BADARGUMENTS;
    VNode *node;
    int rc = existing_node(w, q.path, ZOO_PERM_WRITE, &node);
    if (rc)
        return rc;
    int32_t next;
    if ((rc = check_and_inc_version(node->version, q.version, &next)))
        return rc;
    node->version = next;
    SetDataTxn t = {q.path, q.data, next};
    jute_write_SetDataTxn(rec, &t);
    out->txn_type = ZOO_OP_SETDATA;
    return 0;
}

static int prep_set_acl(View *w, RBuf *body, WBuf *rec, PrepOut *out)
{
    SetACLRequest q;
    if (jute_read_SetACLRequest(body, w->a, &q) < 0)
        return -2;
    if (bad_path(q.path))
        return ZERR_BADARGUMENTS;
    JuteVec_ACL acl;
    int rc = acl_fixup(w->who, &q.acl, w->a, &acl);
    if (rc)
        return rc;
    VNode *node;
    if ((rc = existing_node(w, q.path, ZOO_PERM_ADMIN, &node)))
        return rc;
    int32_t next;
    if ((rc = check_and_inc_version(node->aversion, q.version, &next)))
        return rc;
    node->aversion = next;
    node->acl = acl.items;
    node->nacl = acl.count;
    SetACLTxn t = {q.path, acl, next};
    jute_write_SetACLTxn(rec, &t);
    out->txn_type = ZOO_OP_SETACL;
    return 0;
}

static int prep_check(View *w, RBuf *body, WBuf *rec, PrepOut *out)
{
    CheckVersionRequest q;
    if (jute_read_CheckVersionRequest(body, w->a, &q) < 0)
        return -2;
    if (bad_path(q.path))
        return ZERR_BADARGUMENTS;
    VNode *node;
    int rc = existing_node(w, q.path, ZOO_PERM_READ, &node);
    if (rc)
        return rc;
    int32_t next;
    if ((rc = check_and_inc_version(node->version, q.version, &next)))
        return rc;
    CheckVersionTxn t = {q.path, next};
    jute_write_CheckVersionTxn(rec, &t);
    out->txn_type = ZOO_OP_CHECK;
    return 0;
}

/* Returns 0, a ZooKeeper error, or -2 for an undecodable request. */
static int prep_op(View *w, int op, RBuf *body, WBuf *rec, PrepOut *out)
{
    switch (op) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2:
    case ZOO_OP_CREATE_CONTAINER:
    case ZOO_OP_CREATE_TTL:
        return prep_create(w, op, body, rec, out);
    case ZOO_OP_DELETE:
        return prep_delete(w, body, rec, out);
    case ZOO_OP_SETDATA:
        return prep_set_data(w, body, rec, out);
    case ZOO_OP_SETACL:
        return prep_set_acl(w, body, rec, out);
    case ZOO_OP_CHECK:
        return prep_check(w, body, rec, out);
    case ZOO_OP_RECONFIG:
        return reconfig_prep(w->who, body, w->a, rec, &out->txn_type);
    default:
        return -2;
    }
}

/* ---- replies ------------------------------------------------------------ */

static void stat_out(const ZStat *z, Stat *s)
{
    *s = (Stat){z->czxid, z->mzxid, z->ctime, z->mtime, z->version, z->cversion, z->aversion,
                z->ephemeral_owner, z->data_length, z->num_children, z->pzxid};
}

/* Writes the body of a successful op's result. */
static void write_op_result(WBuf *o, int op, const TxnResult *r)
{
    Stat st;
    switch (op) {
    case ZOO_OP_CREATE: {
        CreateResponse cr = {r->path};
        jute_write_CreateResponse(o, &cr);
        break;
    }
    case ZOO_OP_CREATE2:
    case ZOO_OP_CREATE_CONTAINER:
    case ZOO_OP_CREATE_TTL: {
        stat_out(&r->stat, &st);
        Create2Response cr = {r->path, st};
        jute_write_Create2Response(o, &cr);
        break;
    }
    case ZOO_OP_SETDATA:
    case ZOO_OP_CHECK: {
        stat_out(&r->stat, &st);
        SetDataResponse sr = {st};
        jute_write_SetDataResponse(o, &sr);
        break;
    }
    case ZOO_OP_SETACL: {
        stat_out(&r->stat, &st);
        SetACLResponse sr = {st};
        jute_write_SetACLResponse(o, &sr);
        break;
    }
    case ZOO_OP_RECONFIG:
        reconfig_write_result(o, &r->stat);
        break;
    default:
        break;
    }
}

/* The TxnHeader of a transaction made for who's request h, with the next
 * zxid, then the record(s). */
static void begin_txn(WBuf *txn, const Principal *who, const RequestHeader *h, int type, TxnHeader *th)
{
    *th = (TxnHeader){who->session_id, h->xid, server_next_zxid(), el_wall_ms(), type};
    jute_write_TxnHeader(txn, th);
}

static int prepare_single(const Principal *who, const RequestHeader *h, RBuf *body, WBuf *txn, TxnHeader *th)
{
    View w = {NULL, 0, 0, who, &srv.req_arena};
    WBuf rec = WBUF_INIT;
    PrepOut po = {0};
    int rc = prep_op(&w, h->type, body, &rec, &po);
    if (rc == -2) {
        wbuf_free(&rec);
        return -1;
    }
    if (rc) {
        /* As ZooKeeper: a failed write is logged as an error txn and takes
         * a zxid, so clients see the same zxids (and followers can answer
         * a forwarded request from the log). */
        wbuf_reset(&rec);
        ErrorTxn et = {rc};
        jute_write_ErrorTxn(&rec, &et);
        po.txn_type = ZOO_OP_ERROR;
    }
    begin_txn(txn, who, h, po.txn_type, th);
    wbuf_put_raw(txn, rec.data, rec.len);
    wbuf_free(&rec);
    return 0;
}

#define MAX_MULTI_OPS 100000

/* A multi: every op validated against the view of the earlier ones; one
 * MultiTxn of their records, or, when one fails, a MultiTxn of ErrorTxns
 * as ZooKeeper logs a failed multi (0 before the failing op, its code,
 * RuntimeInconsistency after). */
static int prepare_multi(const Principal *who, const RequestHeader *h, RBuf *body, WBuf *txn, TxnHeader *th)
{
    View w = {NULL, 0, 0, who, &srv.req_arena};
    WBuf recs = WBUF_INIT;
    int *types = NULL;
    size_t *offs = NULL;
    int n = 0, cap = 0, failed_at = -1, fail_rc = 0, result = -1;
    for (;;) {
        MultiHeader mh;
        if (jute_read_MultiHeader(body, &srv.req_arena, &mh) < 0)
            goto out;
        if (mh.done)
            break;
        if (n == MAX_MULTI_OPS || !zk_op_has(mh.type, ZK_OPF_IN_MULTI))
            goto out;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            types = xrealloc(types, (size_t)cap * sizeof *types);
            offs = xrealloc(offs, ((size_t)cap + 1) * sizeof *offs);
        }
        offs[n] = recs.len;
        PrepOut po = {0};
        int rc = prep_op(&w, mh.type, body, &recs, &po);
        if (rc == -2)
            goto out;
        types[n] = po.txn_type;
        n++;
        if (rc && failed_at < 0) {
            failed_at = n - 1;
            fail_rc = rc;
            /* Later ops are still decoded (to answer each of them) but no
             * longer validated: ZooKeeper marks them RuntimeInconsistency. */
            w.n = 0;
        }
        offs[n] = recs.len;
    }
    if (failed_at >= 0) {
        wbuf_reset(&recs);
        for (int i = 0; i < n; i++) {
            offs[i] = recs.len;
            types[i] = ZOO_OP_ERROR;
            ErrorTxn et = {i < failed_at ? 0 : i == failed_at ? fail_rc : ZERR_RUNTIMEINCONSISTENCY};
            jute_write_ErrorTxn(&recs, &et);
        }
        offs[n] = recs.len;
    }
    Txn *items = arena_alloc(&srv.req_arena, ((size_t)n + 1) * sizeof *items);
    for (int i = 0; i < n; i++)
        items[i] = (Txn){types[i], {(const char *)recs.data + offs[i], (int32_t)(offs[i + 1] - offs[i])}};
    MultiTxn mt = {{n, items}};
    begin_txn(txn, who, h, ZOO_OP_MULTI, th);
    jute_write_MultiTxn(txn, &mt);
    result = 0;
out:
    wbuf_free(&recs);
    free(types);
    free(offs);
    return result;
}

int write_prepare(const Principal *who, const RequestHeader *h, RBuf *body, WBuf *txn, TxnHeader *th)
{
    return h->type == ZOO_OP_MULTI ? prepare_multi(who, h, body, txn, th) : prepare_single(who, h, body, txn, th);
}

/* A multi's result: per op its result, or, when the multi failed (its
 * records are ErrorTxns), every op's error. */
static void write_multi_result(WBuf *o, const TxnResult *res)
{
    int failed = 0;
    for (int i = 0; i < res->nsub; i++)
        if (res->sub[i].type == ZOO_OP_ERROR)
            failed = 1;
    for (int i = 0; i < res->nsub; i++) {
        if (failed) {
            MultiHeader mh = {ZOO_OP_ERROR, false, res->sub[i].err};
            ErrorResponse er = {res->sub[i].err};
            jute_write_MultiHeader(o, &mh);
            jute_write_ErrorResponse(o, &er);
        } else {
            MultiHeader mh = {res->sub[i].type, false, 0};
            jute_write_MultiHeader(o, &mh);
            if (res->sub[i].type != ZOO_OP_CHECK)   /* CheckResult has no body in a MultiResponse */
                write_op_result(o, res->sub[i].type, &res->sub[i]);
        }
    }
    MultiHeader end = {-1, true, -1};
    jute_write_MultiHeader(o, &end);
}

void write_reply(ClientConn *cc, const TxnHeader *h, const TxnResult *res)
{
    Conn *c = cc->conn;
    net_conn_hold(c, h->zxid);
    size_t off = wbuf_begin_frame(&c->out);
    int err = h->type == ZOO_OP_MULTI ? 0 : res->err;
    ReplyHeader rh = {h->cxid, h->zxid, err};
    jute_write_ReplyHeader(&c->out, &rh);
    HOOK_REQUEST_REPLY(c->id, h->cxid, res->err, h->zxid);
    if (h->type == ZOO_OP_MULTI)
        write_multi_result(&c->out, res);
    else if (err == 0 && h->type != ZOO_OP_ERROR)
        write_op_result(&c->out, h->type, res);
    wbuf_end_frame(&c->out, off);
    cc->last_zxid = h->zxid;
    net_count_sent(c);
    c->last_response_ms = el_wall_ms();
    net_conn_flush_later(c);
}

void write_request(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start)
{
    Principal who = client_principal(cc);
    WBuf txn = WBUF_INIT;
    TxnHeader th;
    if (write_prepare(&who, h, body, &txn, &th) < 0) {
        wbuf_free(&txn);
        reply_error(cc, h->xid, ZERR_MARSHALLINGERROR);
        return;
    }
    TxnResult res;
    txn_commit(&txn, th.zxid, start, &srv.req_arena, &res);
    write_reply(cc, &th, &res);
    wbuf_free(&txn);   /* results point into it */
}
