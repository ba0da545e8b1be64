/*
 * src/backend/zab/zab_msg.h: the frames members exchange (election and peer
 * protocol), split and decoded without touching any state.
 *
 * Every frame is: int32 length | int32 type | int64 zxid | payload, big
 * endian (jute primitives, wire/wire.h).  The length counts type, zxid and
 * payload, so it is at least 12.  The decoders below are the only code that
 * reads a peer's bytes; election.c, leader.c and learner.c act on what they
 * return.  They never allocate, never read past the frame (RBuf), and say
 * whether the payload was whole; they are what regress/fuzz/fuzz_peer.c
 * feeds with hostile bytes.  Depends on wire/ only.
 */
#ifndef CORRAL_ZAB_MSG_H
#define CORRAL_ZAB_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"
#include "zab/zab.h"

#define ZAB_FRAME_HEAD 12              /* type + zxid */
#define ZAB_MAX_FRAME (512u << 20)     /* largest length accepted (a SNAP is big) */

typedef struct ZabFrame {
    uint32_t len;        /* the length field (also set when it is bad) */
    int32_t type;
    int64_t zxid;
    RBuf payload;        /* over the bytes after the zxid */
} ZabFrame;

/*
 * Looks at the start of an input buffer: 1 with a complete frame in *f and
 * *consumed = 4 + length; 0 when more bytes are needed; -1 when the length
 * is below 12 or above ZAB_MAX_FRAME (f->len says which).  f->payload
 * points into buf.
 */
int zab_next_frame(const uint8_t *buf, size_t len, ZabFrame *f, size_t *consumed);

/* Each decoder returns 0, or -1 when the payload was short (r->err set);
 * the fields read before the end are filled either way (0 after it), since
 * some callers act on a partial frame exactly as they always have.  Bytes
 * after the fields are left unread. */

/* ZP_NOTIFICATION (election): the sender's state, its vote and round.
 * The proposed zxid travels in the frame's zxid. */
typedef struct ZabNotification {
    int32_t state;       /* ZabState as sent: not checked here */
    int64_t leader;
    int64_t round;
    int64_t epoch;
    int64_t sid;
    int32_t observer;
} ZabNotification;
void zab_encode_notification(WBuf *w, const ZabNotification *n);
int zab_decode_notification(RBuf *r, ZabNotification *n);

/* ZP_FOLLOWERINFO (learner -> leader); frame zxid: its last logged zxid. */
typedef struct ZabFollowerInfo {
    int64_t sid;
    int64_t accepted_epoch;
    int32_t observer;
    int32_t want_snap;
} ZabFollowerInfo;
void zab_encode_followerinfo(WBuf *w, const ZabFollowerInfo *fi);
int zab_decode_followerinfo(RBuf *r, ZabFollowerInfo *fi);

/* ZP_ACKEPOCH (learner -> leader); frame zxid: its last logged zxid. */
typedef struct ZabAckEpoch {
    int64_t current_epoch;
    int32_t fresh;
} ZabAckEpoch;
void zab_encode_ackepoch(WBuf *w, const ZabAckEpoch *a);
int zab_decode_ackepoch(RBuf *r, ZabAckEpoch *a);

/* ZP_PING (round), ZP_SYNC and ZP_SYNCDONE (token): one int64. */
void zab_encode_long(WBuf *w, int64_t v);
int zab_decode_long(RBuf *r, int64_t *v);

/*
 * ZP_PONG (learner -> leader); frame zxid: the ping round answered.
 * Payload: int32 n, then n x (int64 session, int32 remaining ms).  Read
 * with zab_pong_begin, then zab_pong_next until it returns 0: it yields the
 * entries that are whole, in order, and stops at the first short one (n
 * may be larger than the payload holds; a negative n means none).
 */
typedef struct ZabTouch {
    int64_t session;
    int32_t remaining_ms;
} ZabTouch;
typedef struct ZabPongIter {
    RBuf *r;
    int32_t n, i;
} ZabPongIter;
void zab_pong_begin(ZabPongIter *it, RBuf *r);
int zab_pong_next(ZabPongIter *it, ZabTouch *t);

/*
 * ZP_REQUEST (learner -> leader): a client request forwarded with the
 * identities of its connection.  Payload: int32 kind | int64 session |
 * int32 cxid | int32 op | int32 timeout | int32 nids | nids x (ustring
 * scheme, ustring id) | buffer body.  More than ZAB_MAX_AUTH_IDS
 * identities, or a negative count, is malformed.
 */
#define ZAB_MAX_AUTH_IDS 1024
typedef struct ZabRequestHead {
    int32_t kind;        /* ZAB_REQ_* (not checked here) */
    int64_t session;
    int32_t cxid;
    int32_t op;
    int32_t timeout;
} ZabRequestHead;
typedef struct ZabRequestMsg {
    ZabRequestHead h;
    int32_t nids;
    ZkBytes scheme[ZAB_MAX_AUTH_IDS], id[ZAB_MAX_AUTH_IDS];   /* into the frame */
    ZkBytes body;                                              /* into the frame */
} ZabRequestMsg;
void zab_encode_request(WBuf *w, const ZabRequestHead *h, const ZabAuth *ids, size_t nids, const void *body,
                        size_t len);
int zab_decode_request(RBuf *r, ZabRequestMsg *m);

/* ZP_AUTH_HELLO (both ways, first frame with ensemble_secret_file): the
 * sender's member id and a fresh nonce.  ZP_AUTH_PROOF: an HMAC-SHA256
 * (peerconn.c says over what). */
#define ZAB_NONCE_LEN 32
#define ZAB_PROOF_LEN 32
typedef struct ZabAuthHello {
    int64_t sid;
    const uint8_t *nonce;       /* ZAB_NONCE_LEN bytes, into the frame */
} ZabAuthHello;
void zab_encode_auth_hello(WBuf *w, int64_t sid, const uint8_t *nonce);
int zab_decode_auth_hello(RBuf *r, ZabAuthHello *h);
int zab_decode_auth_proof(RBuf *r, const uint8_t **proof);

#endif
