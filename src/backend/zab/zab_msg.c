/*
 * src/backend/zab/zab_msg.c: splitting and decoding the frames of the
 * election and peer protocols (and encoding their payloads).  Pure: no
 * state, no allocation.  See zab_msg.h.
 */
#include "zab/zab_msg.h"

int zab_next_frame(const uint8_t *buf, size_t len, ZabFrame *f, size_t *consumed)
{
    if (len < 4)
        return 0;
    uint32_t flen = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    f->len = flen;
    if (flen < ZAB_FRAME_HEAD || flen > ZAB_MAX_FRAME)
        return -1;
    if (len - 4 < flen)
        return 0;
    RBuf head;
    rbuf_init(&head, buf + 4, ZAB_FRAME_HEAD);
    f->type = rbuf_get_int(&head);
    f->zxid = rbuf_get_long(&head);
    rbuf_init(&f->payload, buf + 4 + ZAB_FRAME_HEAD, flen - ZAB_FRAME_HEAD);
    *consumed = 4 + (size_t)flen;
    return 1;
}

static int done(const RBuf *r) { return r->err ? -1 : 0; }

void zab_encode_notification(WBuf *w, const ZabNotification *n)
{
    wbuf_put_int(w, n->state);
    wbuf_put_long(w, n->leader);
    wbuf_put_long(w, n->round);
    wbuf_put_long(w, n->epoch);
    wbuf_put_long(w, n->sid);
    wbuf_put_int(w, n->observer);
}

int zab_decode_notification(RBuf *r, ZabNotification *n)
{
    n->state = rbuf_get_int(r);
    n->leader = rbuf_get_long(r);
    n->round = rbuf_get_long(r);
    n->epoch = rbuf_get_long(r);
    n->sid = rbuf_get_long(r);
    n->observer = rbuf_get_int(r);
    return done(r);
}

void zab_encode_followerinfo(WBuf *w, const ZabFollowerInfo *fi)
{
    wbuf_put_long(w, fi->sid);
    wbuf_put_long(w, fi->accepted_epoch);
    wbuf_put_int(w, fi->observer);
    wbuf_put_int(w, fi->want_snap);
}

int zab_decode_followerinfo(RBuf *r, ZabFollowerInfo *fi)
{
    fi->sid = rbuf_get_long(r);
    fi->accepted_epoch = rbuf_get_long(r);
    fi->observer = rbuf_get_int(r);
    fi->want_snap = rbuf_get_int(r);
    return done(r);
}

void zab_encode_ackepoch(WBuf *w, const ZabAckEpoch *a)
{
    wbuf_put_long(w, a->current_epoch);
    wbuf_put_int(w, a->fresh);
}

int zab_decode_ackepoch(RBuf *r, ZabAckEpoch *a)
{
    a->current_epoch = rbuf_get_long(r);
    a->fresh = rbuf_get_int(r);
    return done(r);
}

void zab_encode_long(WBuf *w, int64_t v) { wbuf_put_long(w, v); }

int zab_decode_long(RBuf *r, int64_t *v)
{
    *v = rbuf_get_long(r);
    return done(r);
}

void zab_pong_begin(ZabPongIter *it, RBuf *r)
{
    it->r = r;
    it->n = rbuf_get_int(r);
    it->i = 0;
}

int zab_pong_next(ZabPongIter *it, ZabTouch *t)
{
    if (it->i >= it->n || it->r->err)
        return 0;
    it->i++;
    t->session = rbuf_get_long(it->r);
    t->remaining_ms = rbuf_get_int(it->r);
    return !it->r->err;
}

void zab_encode_request(WBuf *w, const ZabRequestHead *h, const ZabAuth *ids, size_t nids, const void *body,
                        size_t len)
{
    wbuf_put_int(w, h->kind);
    wbuf_put_long(w, h->session);
    wbuf_put_int(w, h->cxid);
    wbuf_put_int(w, h->op);
    wbuf_put_int(w, h->timeout);
    wbuf_put_int(w, (int32_t)nids);
    for (size_t i = 0; i < nids; i++) {
        wbuf_put_bytes(w, zk_bytes_cstr(ids[i].scheme));
        wbuf_put_bytes(w, zk_bytes_cstr(ids[i].id));
    }
    wbuf_put_bytes(w, (ZkBytes){(const char *)body, (int32_t)len});
}

int zab_decode_request(RBuf *r, ZabRequestMsg *m)
{
    m->h.kind = rbuf_get_int(r);
    m->h.session = rbuf_get_long(r);
    m->h.cxid = rbuf_get_int(r);
    m->h.op = rbuf_get_int(r);
    m->h.timeout = rbuf_get_int(r);
    m->nids = rbuf_get_int(r);
    m->body = ZK_BYTES_NULL;
    if (r->err || m->nids < 0 || m->nids > ZAB_MAX_AUTH_IDS) {
        m->nids = 0;
        return -1;
    }
    for (int32_t i = 0; i < m->nids; i++) {
        m->scheme[i] = rbuf_get_bytes(r);
        m->id[i] = rbuf_get_bytes(r);
    }
    m->body = rbuf_get_bytes(r);
    return done(r);
}

void zab_encode_auth_hello(WBuf *w, int64_t sid, const uint8_t *nonce)
{
    wbuf_put_long(w, sid);
    wbuf_put_raw(w, nonce, ZAB_NONCE_LEN);
}

int zab_decode_auth_hello(RBuf *r, ZabAuthHello *h)
{
    h->sid = rbuf_get_long(r);
    h->nonce = rbuf_get_raw(r, ZAB_NONCE_LEN);
    return done(r) < 0 || !h->nonce ? -1 : 0;
}

int zab_decode_auth_proof(RBuf *r, const uint8_t **proof)
{
    *proof = rbuf_get_raw(r, ZAB_PROOF_LEN);
    return done(r) < 0 || !*proof ? -1 : 0;
}
