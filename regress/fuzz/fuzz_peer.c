/*
 * regress/fuzz/fuzz_peer.c: libFuzzer harness for the frames members of an
 * ensemble exchange (src/backend/zab/zab_msg.c): the splitter pc_read uses
 * (zab_next_frame) and the decoder of every message whose payload is read
 * by election.c, leader.c or learner.c: NOTIFICATION, FOLLOWERINFO,
 * ACKEPOCH, PING, SYNC, SYNCDONE, PONG (session touches), REQUEST
 * (a forwarded client request with its identities).  The payloads that are
 * handed on whole (PROPOSAL and INFORM: transactions; SNAP: a snapshot)
 * are fuzzed by fuzz_txn and fuzz_snapshot.
 *
 * Input: the byte stream of a peer connection.  Properties:
 *   - the splitter consumes exactly 4 + length bytes, refuses lengths
 *     below 12 or above ZAB_MAX_FRAME, and its payload is the rest of the
 *     frame;
 *   - a decoder fails exactly when the payload is shorter than its
 *     fields (or, for REQUEST, holds a bad identity count);
 *   - a decoded message encoded again decodes to the same message, using
 *     exactly the bytes the first decode used (REQUEST identities go
 *     through zk_bytes_strdup, as leader.c hands them on: cut at a NUL);
 *   - PONG entries come out whole, never more than announced, and never
 *     more than the payload holds.
 */
#include "fuzz_common.h"

#include "zab/zab_int.h"
#include "zab/zab_msg.h"

/* The payload re-encoded must be what was read (for fixed layouts). */
static void same_prefix(const RBuf *r, const WBuf *w)
{
    FUZZ_CHECK(w->len == r->pos);
    if (w->len)
        FUZZ_CHECK(memcmp(w->data, r->p, w->len) == 0);
}

static void notification(RBuf *r)
{
    ZabNotification n, m;
    size_t need = 4 + 8 * 4 + 4;
    int rc = zab_decode_notification(r, &n);
    FUZZ_CHECK((rc == 0) == (r->len >= need));
    if (rc < 0)
        return;
    WBuf w = WBUF_INIT;
    zab_encode_notification(&w, &n);
    same_prefix(r, &w);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    FUZZ_CHECK(zab_decode_notification(&r2, &m) == 0 && rbuf_at_end(&r2));
    FUZZ_CHECK(m.state == n.state && m.leader == n.leader && m.round == n.round && m.epoch == n.epoch &&
               m.sid == n.sid && m.observer == n.observer);
    wbuf_free(&w);
}

static void followerinfo(RBuf *r)
{
    ZabFollowerInfo f, g;
    int rc = zab_decode_followerinfo(r, &f);
    FUZZ_CHECK((rc == 0) == (r->len >= 24));
    if (rc < 0)
        return;
    WBuf w = WBUF_INIT;
    zab_encode_followerinfo(&w, &f);
    same_prefix(r, &w);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    FUZZ_CHECK(zab_decode_followerinfo(&r2, &g) == 0 && rbuf_at_end(&r2));
    FUZZ_CHECK(g.sid == f.sid && g.accepted_epoch == f.accepted_epoch && g.observer == f.observer &&
               g.want_snap == f.want_snap);
    wbuf_free(&w);
}

static void ackepoch(RBuf *r)
{
    ZabAckEpoch a, b;
    int rc = zab_decode_ackepoch(r, &a);
    FUZZ_CHECK((rc == 0) == (r->len >= 12));
    if (rc < 0) {
        /* leader.c acts on a short ACKEPOCH with what was read: the rest is 0 */
        FUZZ_CHECK(a.fresh == 0 && (r->len >= 8 || a.current_epoch == 0));
        return;
    }
    WBuf w = WBUF_INIT;
    zab_encode_ackepoch(&w, &a);
    same_prefix(r, &w);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    FUZZ_CHECK(zab_decode_ackepoch(&r2, &b) == 0 && b.current_epoch == a.current_epoch && b.fresh == a.fresh);
    wbuf_free(&w);
}

static void one_long(RBuf *r)
{
    int64_t v, v2;
    int rc = zab_decode_long(r, &v);
    FUZZ_CHECK((rc == 0) == (r->len >= 8));
    if (rc < 0) {
        FUZZ_CHECK(v == 0);
        return;
    }
    WBuf w = WBUF_INIT;
    zab_encode_long(&w, v);
    same_prefix(r, &w);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    FUZZ_CHECK(zab_decode_long(&r2, &v2) == 0 && v2 == v);
    wbuf_free(&w);
}

/* ZP_AUTH_HELLO / ZP_AUTH_PROOF (ensemble_secret_file): whole when the
 * payload holds the fields, the nonce and proof pointing into it. */
static void auth(RBuf *r, int hello)
{
    if (hello) {
        ZabAuthHello h;
        int rc = zab_decode_auth_hello(r, &h);
        FUZZ_CHECK((rc == 0) == (r->len >= 8 + ZAB_NONCE_LEN));
        if (rc == 0) {
            FUZZ_CHECK(h.nonce == r->p + 8);
            WBuf w = WBUF_INIT;
            zab_encode_auth_hello(&w, h.sid, h.nonce);
            same_prefix(r, &w);
            wbuf_free(&w);
        }
    } else {
        const uint8_t *proof;
        int rc = zab_decode_auth_proof(r, &proof);
        FUZZ_CHECK((rc == 0) == (r->len >= ZAB_PROOF_LEN));
        FUZZ_CHECK(rc < 0 || proof == r->p);
    }
}

static void pong(RBuf *r)
{
    ZabPongIter it;
    ZabTouch t;
    zab_pong_begin(&it, r);
    int64_t k = 0;
    while (zab_pong_next(&it, &t)) {
        k++;
        FUZZ_CHECK(!r->err && r->pos == 4 + 12 * (size_t)k);
    }
    size_t fit = r->len >= 4 ? (r->len - 4) / 12 : 0, announced = it.n > 0 ? (size_t)it.n : 0;
    FUZZ_CHECK((size_t)k == (announced < fit ? announced : fit));
}

static int strings_eq(ZkBytes b, const char *s)
{
    char *d = zk_bytes_strdup(b);
    int eq = strcmp(d, s) == 0;
    free(d);
    return eq;
}

static void request(RBuf *r)
{
    /* 32 KiB each: on the heap (leader.c keeps one on its stack). */
    ZabRequestMsg *q = malloc(sizeof *q), *q2 = malloc(sizeof *q2);
    int rc = zab_decode_request(r, q);
    if (rc < 0) {
        if (!r->err) {
            /* then the identity count (bytes 24..27) was out of range */
            RBuf c;
            rbuf_init(&c, r->p + 24, 4);
            int32_t n = rbuf_get_int(&c);
            FUZZ_CHECK(r->len >= 28 && (n < 0 || n > ZAB_MAX_AUTH_IDS) && q->nids == 0);
        }
        goto out;
    }
    FUZZ_CHECK(q->nids >= 0 && q->nids <= ZAB_MAX_AUTH_IDS && q->body.len >= -1);
    ZabAuth *ids = calloc((size_t)q->nids + 1, sizeof *ids);
    for (int32_t i = 0; i < q->nids; i++) {
        ids[i].scheme = zk_bytes_strdup(q->scheme[i]);
        ids[i].id = zk_bytes_strdup(q->id[i]);
    }
    size_t blen = q->body.len > 0 ? (size_t)q->body.len : 0;
    WBuf w = WBUF_INIT;
    zab_encode_request(&w, &q->h, ids, (size_t)q->nids, q->body.data, blen);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    FUZZ_CHECK(zab_decode_request(&r2, q2) == 0 && rbuf_at_end(&r2));
    FUZZ_CHECK(q2->h.kind == q->h.kind && q2->h.session == q->h.session && q2->h.cxid == q->h.cxid &&
               q2->h.op == q->h.op && q2->h.timeout == q->h.timeout && q2->nids == q->nids);
    for (int32_t i = 0; i < q->nids; i++)
        FUZZ_CHECK(strings_eq(q2->scheme[i], ids[i].scheme) && strings_eq(q2->id[i], ids[i].id));
    /* A null body is sent as an empty one (leader.c hands on 0 bytes for both). */
    FUZZ_CHECK(q2->body.len == (int32_t)blen);
    if (blen)
        FUZZ_CHECK(memcmp(q2->body.data, q->body.data, blen) == 0);
    for (int32_t i = 0; i < q->nids; i++) {
        free((char *)ids[i].scheme);
        free((char *)ids[i].id);
    }
    free(ids);
    wbuf_free(&w);
out:
    free(q);
    free(q2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (;;) {
        ZabFrame f;
        size_t used = 0;
        int rc = zab_next_frame(data + off, size - off, &f, &used);
        if (rc < 0) {
            FUZZ_CHECK(f.len < ZAB_FRAME_HEAD || f.len > ZAB_MAX_FRAME);
            break;
        }
        if (rc == 0) {
            FUZZ_CHECK(size - off < 4 || size - off - 4 < f.len);
            break;
        }
        FUZZ_CHECK(used == 4 + (size_t)f.len && used <= size - off);
        FUZZ_CHECK(f.payload.p == data + off + 16 && f.payload.len == f.len - ZAB_FRAME_HEAD && f.payload.pos == 0);
        switch (f.type) {
        case ZP_NOTIFICATION:
            notification(&f.payload);
            break;
        case ZP_FOLLOWERINFO:
            followerinfo(&f.payload);
            break;
        case ZP_ACKEPOCH:
            ackepoch(&f.payload);
            break;
        case ZP_PING:
        case ZP_SYNC:
        case ZP_SYNCDONE:
            one_long(&f.payload);
            break;
        case ZP_PONG:
            pong(&f.payload);
            break;
        case ZP_REQUEST:
            request(&f.payload);
            break;
        case ZP_AUTH_HELLO:
        case ZP_AUTH_PROOF:
            auth(&f.payload, f.type == ZP_AUTH_HELLO);
            break;
        default:
            break;   /* zxid-only frames, and whole payloads handed on */
        }
        off += used;
    }
    return 0;
}
