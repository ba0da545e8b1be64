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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    arena_init(&arena, 65536);
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

/* One write op of a multi (write.c prep_op), or -1 when malformed. */
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
        return -1;
    }
}

/* write.c multi_write and request.c handle_multi_read: MultiHeaders until
 * done, each followed by its op (the servers' limits on the count). */
static void multi(RBuf *body, int read_only)
{
    for (int n = 0; n < 100000; n++) {
        MultiHeader mh;
        if (rt_MultiHeader(body, &mh) < 0)
            return;
        if (mh.done)
            return;
        if (read_only) {
            if (mh.type == ZOO_OP_GETDATA) {
                GetDataRequest q;
                if (rt_GetDataRequest(body, &q) < 0)
                    return;
                path(q.path);
            } else if (mh.type == ZOO_OP_GETCHILDREN) {
                GetChildrenRequest q;
                if (rt_GetChildrenRequest(body, &q) < 0)
                    return;
                path(q.path);
            } else {
                return;
            }
        } else if (write_op(mh.type, body) < 0) {
            return;
        }
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
    switch (h.type) {
    case ZOO_OP_AUTH: {
        AuthPacket q;
        rt_AuthPacket(&r, &q);
        break;
    }
    case ZOO_OP_SET_WATCHES: {
        SetWatches q;
        if (rt_SetWatches(&r, &q) == 0) {
            watch_list(&q.dataWatches);
            watch_list(&q.existWatches);
            watch_list(&q.childWatches);
        }
        break;
    }
    case ZOO_OP_SET_WATCHES2: {
        SetWatches2 q;
        if (rt_SetWatches2(&r, &q) == 0) {
            watch_list(&q.dataWatches);
            watch_list(&q.existWatches);
            watch_list(&q.childWatches);
            watch_list(&q.persistentWatches);
            watch_list(&q.persistentRecursiveWatches);
        }
        break;
    }
    case ZOO_OP_SASL: {
        GetSASLRequest q;
        rt_GetSASLRequest(&r, &q);
        break;
    }
    case ZOO_OP_EXISTS: {
        ExistsRequest q;
        if (rt_ExistsRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GETDATA: {
        GetDataRequest q;
        if (rt_GetDataRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GETCHILDREN: {
        GetChildrenRequest q;
        if (rt_GetChildrenRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GETCHILDREN2: {
        GetChildren2Request q;
        if (rt_GetChildren2Request(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GETACL: {
        GetACLRequest q;
        if (rt_GetACLRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GET_ALL_CHILDREN_NUMBER: {
        GetAllChildrenNumberRequest q;
        if (rt_GetAllChildrenNumberRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_GET_EPHEMERALS: {
        GetEphemeralsRequest q;
        if (rt_GetEphemeralsRequest(&r, &q) == 0)
            path(q.prefixPath);
        break;
    }
    case ZOO_OP_SYNC: {
        SyncRequest q;
        if (rt_SyncRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_CHECK_WATCHES:
    case ZOO_OP_REMOVE_WATCHES: {
        /* The server reads both as CheckWatchesRequest (same layout). */
        RBuf r2 = r;
        CheckWatchesRequest q;
        RemoveWatchesRequest q2;
        int a = rt_CheckWatchesRequest(&r, &q), b = rt_RemoveWatchesRequest(&r2, &q2);
        FUZZ_CHECK(a == b);
        if (a == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_ADD_WATCH: {
        AddWatchRequest q;
        if (rt_AddWatchRequest(&r, &q) == 0)
            path(q.path);
        break;
    }
    case ZOO_OP_MULTI_READ:
        multi(&r, 1);
        break;
    case ZOO_OP_MULTI:
        multi(&r, 0);
        break;
    case ZOO_OP_RECONFIG: {
        /* Answered ReconfigDisabled without reading the body; decoded here
         * all the same, as corral-cli writes it. */
        ReconfigRequest q;
        rt_ReconfigRequest(&r, &q);
        break;
    }
    default:
        write_op(h.type, &r);
        break;
    }
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
