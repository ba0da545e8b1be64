/*
 * regress/fuzz/fuzz_jute.c: libFuzzer harness for the jute decoder on what
 * a client sends after its handshake.
 *
 * The input is the byte stream of a client connection: it is cut into
 * frames with wire_next_frame (the limit corrald uses by default), and
 * each frame is decoded as request_on_frame and its handlers do:
 * RequestHeader, then the body record of the opcode (every request type the
 * server reads, CreateTTLRequest to GetSASLRequest), MultiHeader sequences
 * for multi (write ops) and multiRead (getData/getChildren), SetWatches,
 * SetWatches2, AuthPacket.  Paths go through zk_validate_path as the write
 * path does.
 *
 * The opcodes come from the one opcode table (wire/zk_ops.def): the harness
 * refuses to start if a client request of the table has no decoder here,
 * and multi / multiRead take the ops the table allows in them.
 *
 * Properties checked on every record decoded:
 *   - a failed decode sets the reader's sticky error;
 *   - re-encoding takes exactly the bytes decoded, equal to them except
 *     booleans (any non-zero byte is written back as 1);
 *   - the re-encoding decodes again, to the end, and encodes to the same
 *     bytes and dumps to the same text (the codec is a fixed point).
 */
#include "fuzz_common.h"

#include "corral/strbuf.h"
#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"

static Arena arena;

/* body(op, r): the body of a request of opcode op, as its handler reads
 * it: 0 decoded (or no body), -1 malformed, NO_DECODER when the harness
 * does not know op (LLVMFuzzerInitialize checks that no client request of
 * the opcode table, wire/zk_ops.def, is in that case). */
#define NO_DECODER (-2)

static int body(int op, RBuf *r);

/* The opcode table's rows with their request.c handler; `none` marks the
 * opcodes that are not client requests (answered Unimplemented without a
 * body being read). */
static const struct {
    int op;
    const char *handler;
} op_handlers[] = {
#define ZK_OP(code, name, abbrev, cls, flags, handler) {code, #handler},
#include "wire/zk_ops.def"
#undef ZK_OP
};

static int is_client_request(int op)
{
    for (size_t i = 0; i < sizeof op_handlers / sizeof op_handlers[0]; i++)
        if (op_handlers[i].op == op)
            return strcmp(op_handlers[i].handler, "none") != 0;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    arena_init(&arena, 65536);
    /* The harness must decode every request the table has, so that a new
     * opcode cannot go unfuzzed. */
    for (size_t i = 0; i < sizeof op_handlers / sizeof op_handlers[0]; i++) {
        int op = op_handlers[i].op;
        if (!is_client_request(op))
            continue;
        RBuf empty;
        rbuf_init(&empty, NULL, 0);
        if (body(op, &empty) == NO_DECODER) {
            fprintf(stderr, "fuzz_jute: no decoder for opcode %d (%s) of wire/zk_ops.def\n", op, zk_op_name(op));
            abort();
        }
        arena_reset(&arena);
    }
    return 0;
}

/* Original bytes vs re-encoding: equal but where a boolean was non-zero. */
static void check_same_bytes(const uint8_t *in, const uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(in[i] == out[i] || (in[i] > 1 && out[i] == 1));
}

static void check_same_buf(const WBuf *a, const WBuf *b)
{
    FUZZ_CHECK(a->len == b->len);
    if (a->len)
        FUZZ_CHECK(memcmp(a->data, b->data, a->len) == 0);
}

static void check_same_text(const CorralStrbuf *a, const CorralStrbuf *b)
{
    FUZZ_CHECK(a->len == b->len);
    if (a->len)
        FUZZ_CHECK(memcmp(a->data, b->data, a->len) == 0);
}

/* rt_T(r, &v): decodes a T from r into v and checks the properties above;
 * 0, or -1 when the bytes are not a T. */
#define DEFINE_RT(T) \
    static int rt_##T(RBuf *r, T *v) \
    { \
        size_t start = r->pos; \
        if (jute_read_##T(r, &arena, v) < 0) { \
            FUZZ_CHECK(r->err); \
            return -1; \
        } \
        FUZZ_CHECK(!r->err && r->pos >= start && r->pos <= r->len); \
        size_t used = r->pos - start; \
        WBuf w1 = WBUF_INIT, w2 = WBUF_INIT; \
        jute_write_##T(&w1, v); \
        FUZZ_CHECK(w1.len == used); \
        check_same_bytes(r->p + start, w1.data, used); \
        RBuf r2; \
        rbuf_init(&r2, w1.data, w1.len); \
        T again; \
        FUZZ_CHECK(jute_read_##T(&r2, &arena, &again) == 0); \
        FUZZ_CHECK(rbuf_at_end(&r2)); \
        jute_write_##T(&w2, &again); \
        check_same_buf(&w1, &w2); \
        CorralStrbuf d1 = CORRAL_STRBUF_INIT, d2 = CORRAL_STRBUF_INIT; \
        jute_dump_##T(&d1, v); \
        jute_dump_##T(&d2, &again); \
        check_same_text(&d1, &d2); \
        corral_strbuf_free(&d1); \
        corral_strbuf_free(&d2); \
        wbuf_free(&w1); \
        wbuf_free(&w2); \
        return 0; \
    }

DEFINE_RT(RequestHeader)
DEFINE_RT(MultiHeader)
DEFINE_RT(AuthPacket)
DEFINE_RT(SetWatches)
DEFINE_RT(SetWatches2)
DEFINE_RT(GetSASLRequest)
DEFINE_RT(ExistsRequest)
DEFINE_RT(GetDataRequest)
DEFINE_RT(GetChildrenRequest)
DEFINE_RT(GetChildren2Request)
DEFINE_RT(GetACLRequest)
DEFINE_RT(GetAllChildrenNumberRequest)
DEFINE_RT(GetEphemeralsRequest)
DEFINE_RT(SyncRequest)
DEFINE_RT(CheckWatchesRequest)
DEFINE_RT(RemoveWatchesRequest)
DEFINE_RT(AddWatchRequest)
DEFINE_RT(CreateRequest)
DEFINE_RT(CreateTTLRequest)
DEFINE_RT(DeleteRequest)
DEFINE_RT(SetDataRequest)
DEFINE_RT(SetACLRequest)
DEFINE_RT(CheckVersionRequest)
DEFINE_RT(ReconfigRequest)

/* zk_validate_path on a decoded path, as the write path calls it, plain
 * and sequential (Java validates path + "1").  A refusal has a reason, and
 * a valid path stays valid with the sequential suffix (it can only make
 * the last name longer, never "." or ".."). */
static void path(ZkBytes p)
{
    if (p.len < 0)
        return;
    const char *reason = NULL;
    int a = zk_validate_path_reason(p.data, (size_t)p.len, 0, &reason);
    int b = zk_validate_path(p.data, (size_t)p.len, 1);
    FUZZ_CHECK(a == zk_validate_path(p.data, (size_t)p.len, 0));
    FUZZ_CHECK(a == 0 || reason != NULL);
    if (a == 0)
        FUZZ_CHECK(b == 0);
}

static void watch_list(const JuteVec_ustring *v)
{
    FUZZ_CHECK(v->count >= -1);
    for (int32_t i = 0; i < v->count; i++)
        path(v->items[i]);
}

static void acl_list(const JuteVec_ACL *v)
{
    FUZZ_CHECK(v->count >= -1);
    for (int32_t i = 0; i < v->count; i++)
        FUZZ_CHECK(v->items[i].id.scheme.len >= -1 && v->items[i].id.id.len >= -1);
}

/* A write op (write.c prep_op), alone or inside a multi. */
static int write_op(int op, RBuf *body)
{
    switch (op) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2:
    case ZOO_OP_CREATE_CONTAINER: {
        CreateRequest q;
        if (rt_CreateRequest(body, &q) < 0)
            return -1;
        path(q.path);
        acl_list(&q.acl);
        return 0;
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLRequest q;
        if (rt_CreateTTLRequest(body, &q) < 0)
            return -1;
        path(q.path);
        acl_list(&q.acl);
        return 0;
    }
    case ZOO_OP_DELETE: {
        DeleteRequest q;
        if (rt_DeleteRequest(body, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_SETDATA: {
        SetDataRequest q;
        if (rt_SetDataRequest(body, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_SETACL: {
        SetACLRequest q;
        if (rt_SetACLRequest(body, &q) < 0)
            return -1;
        path(q.path);
        acl_list(&q.acl);
        return 0;
    }
    case ZOO_OP_CHECK: {
        CheckVersionRequest q;
        if (rt_CheckVersionRequest(body, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    default:
        return NO_DECODER;
    }
}

/* write.c's multi: MultiHeaders until done, each op one the table allows
 * in a multi (its limit on the count). */
static int multi(RBuf *body)
{
    for (int n = 0; n < 100000; n++) {
        MultiHeader mh;
        if (rt_MultiHeader(body, &mh) < 0)
            return -1;
        if (mh.done)
            return 0;
        if (!zk_op_has(mh.type, ZK_OPF_IN_MULTI))
            return -1;
        int rc = write_op(mh.type, body);
        FUZZ_CHECK(rc != NO_DECODER);   /* the table allows an op the harness cannot decode */
        if (rc < 0)
            return -1;
    }
    return -1;
}

/* request.c handle_multi_read: getData and getChildren only. */
static int multi_read(RBuf *body)
{
    for (int n = 0; n < 100000; n++) {
        MultiHeader mh;
        if (rt_MultiHeader(body, &mh) < 0)
            return -1;
        if (mh.done)
            return 0;
        if (!zk_op_has(mh.type, ZK_OPF_IN_MULTI_READ))
            return -1;
        if (mh.type == ZOO_OP_GETDATA) {
            GetDataRequest q;
            if (rt_GetDataRequest(body, &q) < 0)
                return -1;
            path(q.path);
        } else {
            FUZZ_CHECK(mh.type == ZOO_OP_GETCHILDREN);   /* the only other op the table allows */
            GetChildrenRequest q;
            if (rt_GetChildrenRequest(body, &q) < 0)
                return -1;
            path(q.path);
        }
    }
    return -1;
}

static int body(int op, RBuf *r)
{
    switch (op) {
    case ZOO_OP_PING:
    case ZOO_OP_CLOSE_SESSION:
    case ZOO_OP_WHOAMI:
        return 0;   /* no body */
    case ZOO_OP_AUTH: {
        AuthPacket q;
        return rt_AuthPacket(r, &q);
    }
    case ZOO_OP_SET_WATCHES: {
        SetWatches q;
        if (rt_SetWatches(r, &q) < 0)
            return -1;
        watch_list(&q.dataWatches);
        watch_list(&q.existWatches);
        watch_list(&q.childWatches);
        return 0;
    }
    case ZOO_OP_SET_WATCHES2: {
        SetWatches2 q;
        if (rt_SetWatches2(r, &q) < 0)
            return -1;
        watch_list(&q.dataWatches);
        watch_list(&q.existWatches);
        watch_list(&q.childWatches);
        watch_list(&q.persistentWatches);
        watch_list(&q.persistentRecursiveWatches);
        return 0;
    }
    case ZOO_OP_SASL: {
        GetSASLRequest q;
        return rt_GetSASLRequest(r, &q);
    }
    case ZOO_OP_EXISTS: {
        ExistsRequest q;
        if (rt_ExistsRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GETDATA: {
        GetDataRequest q;
        if (rt_GetDataRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GETCHILDREN: {
        GetChildrenRequest q;
        if (rt_GetChildrenRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GETCHILDREN2: {
        GetChildren2Request q;
        if (rt_GetChildren2Request(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GETACL: {
        GetACLRequest q;
        if (rt_GetACLRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GET_ALL_CHILDREN_NUMBER: {
        GetAllChildrenNumberRequest q;
        if (rt_GetAllChildrenNumberRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_GET_EPHEMERALS: {
        GetEphemeralsRequest q;
        if (rt_GetEphemeralsRequest(r, &q) < 0)
            return -1;
        path(q.prefixPath);
        return 0;
    }
    case ZOO_OP_SYNC: {
        SyncRequest q;
        if (rt_SyncRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_CHECK_WATCHES:
    case ZOO_OP_REMOVE_WATCHES: {
        /* The server reads both as CheckWatchesRequest (same layout). */
        RBuf r2 = *r;
        CheckWatchesRequest q;
        RemoveWatchesRequest q2;
        int a = rt_CheckWatchesRequest(r, &q), b = rt_RemoveWatchesRequest(&r2, &q2);
        FUZZ_CHECK(a == b);
        if (a < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_ADD_WATCH: {
        AddWatchRequest q;
        if (rt_AddWatchRequest(r, &q) < 0)
            return -1;
        path(q.path);
        return 0;
    }
    case ZOO_OP_MULTI_READ:
        return multi_read(r);
    case ZOO_OP_MULTI:
        return multi(r);
    case ZOO_OP_RECONFIG: {
        /* Answered ReconfigDisabled without reading the body; decoded here
         * all the same, as corral-cli writes it. */
        ReconfigRequest q;
        return rt_ReconfigRequest(r, &q);
    }
    default:
        return write_op(op, r);
    }
}

/* request_on_frame after the handshake: header, then the body by opcode. */
static void request(const uint8_t *frame, size_t len)
{
    RBuf r;
    rbuf_init(&r, frame, len);
    RequestHeader h;
    if (rt_RequestHeader(&r, &h) < 0)
        return;
    int rc = body(h.type, &r);
    FUZZ_CHECK(rc != -1 || r.err || h.type == ZOO_OP_MULTI || h.type == ZOO_OP_MULTI_READ);
    FUZZ_CHECK(rc != NO_DECODER || !is_client_request(h.type));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* server.max_request_bytes' default (jute.maxbuffer) */
    const size_t max_frame = 1048575;
    size_t off = 0;
    while (off < size) {
        const uint8_t *frame;
        size_t flen, used;
        int rc = wire_next_frame(data + off, size - off, max_frame, &frame, &flen, &used);
        if (rc <= 0) {
            FUZZ_CHECK(rc == 0 || size - off >= 4);
            break;
        }
        FUZZ_CHECK(used == flen + 4 && used <= size - off && frame == data + off + 4);
        request(frame, flen);
        arena_reset(&arena);
        off += used;
    }
    arena_reset(&arena);
    return 0;
}
