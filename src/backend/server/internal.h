/*
 * src/backend/server/internal.h: what the files of the server subsystem
 * share.  Not for use outside src/backend/server/.
 */
#ifndef CORRAL_SERVER_INTERNAL_H
#define CORRAL_SERVER_INTERNAL_H

#include <stdint.h>

#include "config/config.h"
#include "corral/module.h"
#include "module/hooks.h"
#include "jute_records.h"
#include "net/net.h"
#include "session/session.h"
#include "tree/tree.h"
#include "utils/alloc.h"
#include "watch/watch.h"
#include "wire/wire.h"
#include "wire/wire_connect.h"

/* An identity a connection holds (ZooKeeper's Id in cnxn.authInfo). */
typedef struct AuthId {
    const char *scheme;
    const char *id;
} AuthId;

/* Who a request acts for: its session and the identities it holds.  A
 * client's own request and a write a follower forwarded to the leader both
 * carry one; the write path and the ACL checks see nothing else of the
 * client (no connection). */
typedef struct Principal {
    int64_t session_id;
    const AuthId *ids;
    size_t nids;
} Principal;

/* Per client connection state (Conn.proto). */
typedef struct ClientConn {
    Conn *conn;
    Session *session;          /* NULL until the handshake completed */
    int connected;             /* handshake done */
    int ro_layout;             /* -1: client sent no readOnly byte */
    AuthId *ids;
    size_t nids;
    const CorralAuthScheme *sasl_scheme;   /* SASL exchange in progress */
    void *sasl_state;
    /* statistics for cons */
    int64_t last_cxid;
    int64_t last_zxid;
    const char *last_op;
    int64_t lat_min, lat_max, lat_sum, lat_count, lat_last;
    void *repl;                /* replication.c: forwarded requests, FIFO queue */
    int64_t rate_ms, rate_tokens;   /* admission.c: request bytes per second */
} ClientConn;

/* digest.c: the tree's digest at recent zxids (digest log, digest check). */
void digest_register_metrics(void);
void digest_reset(void);
void digest_note(int64_t zxid, uint64_t digest);      /* after each applied txn */
int digest_at(int64_t zxid, uint64_t *digest);        /* 0, or -1 when not kept */
void digest_check(int64_t zxid, uint64_t leader_digest);   /* learner: applied up to zxid */

/* request.c: a session takes a client connection; the identities a
 * connection holds as "scheme:id,..." (for logs); session events logged at
 * INFO with the client's address and identities, as ZooKeeper does. */
void session_attach(ClientConn *cc, Session *s);
const char *client_ids_desc(const ClientConn *cc, char *buf, size_t n);
void client_log_session(const ClientConn *cc, const char *what, int64_t sid);

/* A write waiting for durability, for latency accounting. */
typedef struct PendingWrite {
    int64_t zxid;
    int64_t start_ms;
} PendingWrite;

typedef struct Server {
    const CoreConfig *cfg;
    Tree *tree;
    WatchManager *watches;
    int64_t last_zxid;          /* last applied */
    int64_t epoch;              /* zxid high 32 bits */
    Arena req_arena;            /* reset after every frame */
    WBuf txbuf;                 /* encoded txns of this turn, not yet handed to storage */
    CorralTxnRecord *txrecs;    /* offsets into txbuf (data = offset until hand-off) */
    size_t ntx, captx;
    const CorralStorage *storage;
    void *store;
    PendingWrite *pend;         /* ring of writes waiting for durability */
    size_t pend_head, pend_len, pend_cap;
    int64_t start_wall_ms;
    uint64_t expiry_timer, container_timer;
    /* statistics */
    int64_t lat_min, lat_max, lat_sum, lat_count;
    char version_line[128];
} Server;

extern Server srv;

/* server.c */
void server_touch_latency(ClientConn *cc, int64_t start_ms);
int64_t server_next_zxid(void);
int64_t server_peek_zxid(void);   /* what server_next_zxid() returns next */
/* Appends an encoded txn (header + record) to this turn's batch. */
void server_log_txn(const WBuf *txn, int64_t zxid);
void server_pending_write(int64_t zxid, int64_t start_ms);
/* Releases replies up to zxid (the durable point standalone, the quorum
 * commit point in an ensemble). */
void server_commit_point(int64_t zxid);
/* Empties the tree, watches and sessions (startup, a state rebuilt). */
void server_reset_state(void);
/* Expires one due session (session_expire_due callback): logs it, hooks,
 * closeSession txn, drops its client. */
void server_expire_session(void *ctx, Session *s);
/* Closes and reopens storage, recovering the state from it (ensemble TRUNC). */
int server_reopen_storage(void);

/* request.c */
void request_register_metrics(void);
void request_on_frame(Conn *c, const uint8_t *frame, size_t len);
void request_on_close(Conn *c);
/* The session timeout granted for a requested one (min/max_session_timeout_ms). */
int32_t session_negotiated_timeout(int32_t requested);
/* Closes cc (logged) when server.max_sessions sessions exist: returns 1. */
int session_refused_for_limit(ClientConn *cc);
/* Reply helpers: header + optional body (via a writer callback). */
void reply_error(ClientConn *cc, int32_t xid, int err);
ClientConn *client_of_session(int64_t session_id);

/* txn.c: the one place transactions change the tree. */
typedef struct TxnResult {
    int err;
    int type;                   /* op type of the (sub)txn */
    ZkBytes path;               /* created path (points into the txn) */
    ZStat stat;
    struct TxnResult *sub;      /* multi: one result per sub-txn */
    int nsub;
} TxnResult;
/* Decodes and applies one encoded txn (TxnHeader + record).  Watches fire
 * (events queued behind the txn's zxid).  Results are allocated from a.
 * -1 when it cannot be decoded, or is a multi holding a multi. */
int txn_apply(const uint8_t *data, size_t len, Arena *a, TxnResult *res);
/* Logs (storage, and the proposal on a leader) and applies a transaction
 * this server made: the one way such a txn enters the state.  start_ms is
 * when the client asked (>= 0: counted in the write latency), -1 for a
 * txn no client waits for.  Results from a (res may be NULL).  An apply
 * failure is fatal. */
void txn_commit(const WBuf *txn, int64_t zxid, int64_t start_ms, Arena *a, TxnResult *res);
/* Close a session by a transaction listing its ephemerals; returns zxid. */
int64_t txn_close_session(int64_t session_id, int64_t start_ms);

/* write.c: validating write requests into transactions. */
/* Validates the write request h/body of `who` (create, create2,
 * createContainer, createTTL, delete, setData, setACL, check, multi)
 * against the state into a transaction (TxnHeader with the next zxid +
 * record) in txn.  A request that fails validation still becomes one: an
 * ErrorTxn (a MultiTxn of them for multi), as ZooKeeper logs failed writes.
 * Returns 0 with the header in *th, or -1 for an undecodable request
 * (txn empty, no zxid taken). */
int write_prepare(const Principal *who, const RequestHeader *h, RBuf *body, WBuf *txn, TxnHeader *th);

/* reconfig.c: the node that holds the ensemble configuration. */
#define CONFIG_NODE "/zookeeper/config"
/* A reconfig request: 0 with the SetDataTxn in rec, a ZooKeeper error, or
 * -2 when it cannot be decoded. */
int reconfig_prep(const Principal *who, RBuf *body, Arena *a, WBuf *rec, int *txn_type);
/* The body of a reconfig's reply (GetDataResponse of the configuration). */
void reconfig_write_result(WBuf *o, const ZStat *stat);
/* A client's write: write_prepare, txn_commit, reply (MarshallingError
 * without a txn for an undecodable request). */
void write_request(ClientConn *cc, const RequestHeader *h, RBuf *body, int64_t start_ms);
/* The reply to a committed write: header (xid, zxid, error) and the result
 * records, from the txn's header and what applying it did.  On a leader or
 * standalone for the client's own request; on a learner when the leader's
 * commit of a forwarded request arrives. */
void write_reply(ClientConn *cc, const TxnHeader *h, const TxnResult *res);

/* acl.c */
static inline Principal client_principal(const ClientConn *cc)
{
    return (Principal){cc->session ? cc->session->id : 0, cc->ids, cc->nids};
}
/* 0 or ZERR_NOAUTH. */
int acl_check(const Principal *who, uint32_t acl_id, int perm);
int acl_check_list(const Principal *who, const TreeAclEntry *acl, int n, int perm);
/* fixupACL: validates a request's ACL list and expands the "auth" scheme;
 * returns 0 or ZERR_INVALIDACL, with the result allocated from a. */
int acl_fixup(const Principal *who, const JuteVec_ACL *in, Arena *a, JuteVec_ACL *out);
void acl_add_id(ClientConn *cc, const char *scheme, const char *id);
void acl_free_ids(ClientConn *cc);
int acl_is_super(const Principal *who);

/* quota.c: ZooKeeper's quota stats nodes, kept by txn_apply. */
void quota_on_create(const char *path, size_t len, int32_t dlen);
void quota_on_delete(const char *path, size_t len, int32_t old_dlen);
void quota_on_set_data(const char *path, size_t len, int32_t old_dlen, int32_t new_dlen);
void quota_rescan(void);   /* after loading a snapshot */

/* snapshot.c */
void server_request_snapshot(void *ctx);     /* storage env callback, loop thread */
void server_snapshot_finish(void);           /* joins a running snapshot */
/* The state as it is now (a clone of the tree, the sessions), taken on the
 * loop thread; serialized (snapshot format) and freed on any thread. */
typedef struct StateCopy StateCopy;
StateCopy *server_state_copy(int64_t *zxid);
void server_state_copy_serialize(StateCopy *copy, WBuf *w);   /* frees copy */
void server_state_copy_free(StateCopy *copy);
/* The live state in the snapshot format at once (tools, fuzzing); returns
 * its zxid. */
int64_t server_serialize_state(WBuf *w);
int server_load_snapshot(int64_t last_zxid, const void *data, size_t len);

/* Watch events and durability gating. */
void deliver_watch_event(void *ctx, WatcherId w, int event_type, const char *path, size_t len);

#endif
