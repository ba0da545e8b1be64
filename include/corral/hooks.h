/*
 * include/corral/hooks.h: events a module can subscribe to (PostgreSQL's
 * hooks: ClientAuthentication_hook, ExecutorEnd_hook...).  Included by
 * corral/module.h.
 *
 * A module fills a CorralHooks table with the callbacks it wants (the others
 * NULL) and registers it from its init with corral_register_hooks.  The
 * core keeps a registration list and calls every subscriber of an event, in
 * registration order (the YAML order of the modules).
 *
 * Why a list and not PostgreSQL's chaining (each subscriber saves the
 * previous value of a global function pointer and calls it): with a list,
 * registration goes through the core, so it is checked like every other
 * registration (only during init, the table's ABI version and size), one
 * subscriber that forgets to call its predecessor cannot silence the others,
 * and the core knows when nobody listens.  The core's cost for an event
 * nobody subscribes to is one test of a flag word at the call site.
 *
 * When: events are delivered between the start hooks and the stop hooks,
 * while the server serves: never during recovery, never under
 * --check-config, never after the module's stop hook ran.  Every callback
 * runs on the event-loop thread, one at a time, and must not block it (no
 * disk waits, no network round trips: hand slow work to a thread of your
 * own).  It must not call registration functions; it may call the
 * read-only views of corral/server.h and the metrics.  Strings and arrays in
 * an event are valid during the call only: copy what you keep.
 *
 * Every event struct starts with its size: the core fills what it knows,
 * and a field added later is only there when
 * offsetof(struct, field) < ev->size.
 *
 * Order and meaning (standalone; an ensemble below):
 * - client_connected: a TCP connection was accepted on the client port
 *   (before the server knows whether it speaks the protocol or asks a
 *   four-letter word).
 * - client_authenticated: addauth or a SASL exchange succeeded and gave the
 *   connection an identity it did not hold yet; once per new identity
 *   (`auth_digest` gives one, a super user gets "super").
 * - client_auth_failed: addauth or a SASL step was refused.
 * - request_completed: a request (every opcode but the handshake) was
 *   answered and its reply released to the connection: after the write it
 *   waited for is durable, so `latency_ms` is what the client waited, fsync
 *   included.  `err` is the error code of the reply header, except for a
 *   multi that failed: the error of the op that failed (the reply header of
 *   a multi always says 0).  A request whose connection closed before it
 *   was answered is not reported.
 * - txn_committed: a transaction is durable (standalone) or committed by a
 *   quorum (ensemble); in zxid order.  Failed writes are transactions too,
 *   as in ZooKeeper: type -1 (error) with their error code.  A multi is one
 *   transaction with one op per sub-transaction.
 * - session_created / session_closed / session_expired: the createSession
 *   or closeSession transaction of the session committed, right after its
 *   txn_committed.  Expired means this server decided it (its timeout
 *   passed); closed means the client asked, or another member expired it.
 *
 * In an ensemble every member reports the transactions it commits (the
 * leader when a quorum acknowledged them, a follower or an observer when it
 * learns the commit), so a module that audits transactions runs on every
 * member or picks one.  Only the leader decides expiry: followers report an
 * expired session as closed.  A request is reported by the member the client
 * is connected to.  A member that resynchronises with a new leader from a
 * full snapshot does not report the transactions the snapshot skipped, and
 * a transaction a deposed leader never got committed is never reported.
 */
#ifndef CORRAL_HOOKS_H
#define CORRAL_HOOKS_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralModule CorralModule;

/* client_connected, client_authenticated. */
typedef struct CorralClientEvent {
    uint32_t size;              /* sizeof(CorralClientEvent) as the core knows it */
    uint64_t conn_id;           /* unique per connection for the life of the process */
    const char *peer_ip;        /* numeric: "127.0.0.1", "::1" */
    int peer_port;
    int64_t session_id;         /* 0: none yet (always 0 for client_connected) */
    const char *scheme;         /* client_authenticated: "digest", "sasl", "super", ...; else NULL */
    const char *id;             /* client_authenticated: the identity ("bob:<digest>"); else NULL */
} CorralClientEvent;

/* One op of a multi request (request_completed). */
typedef struct CorralRequestOp {
    int32_t opcode;             /* 1 create, 2 delete, 5 setData, 13 check, ... */
    const char *path;
    int32_t create_flags;       /* create ops: ZooKeeper's CreateMode flag; else -1 */
} CorralRequestOp;

/* request_completed. */
typedef struct CorralRequestEvent {
    uint32_t size;
    uint64_t conn_id;
    int64_t session_id;
    int32_t xid;                /* as the client sent it (-2 ping, -4 auth) */
    int32_t opcode;             /* ZooKeeper's OpCode: 1 create, 4 getData, 14 multi, ... (corral_op_name) */
    int32_t err;                /* ZooKeeper's error code, 0 = ok (corral_err_name) */
    int64_t zxid;               /* the zxid of the reply header */
    int64_t latency_ms;         /* from the request's arrival to the release of its reply */
    /* What an audit log needs (ZooKeeper's audit.enable), filled for the
     * requests that change the tree (create*, delete, setData, setACL,
     * multi) and closeSession (peer_ip and users only); NULL / -1 / 0 for
     * the others. */
    const char *peer_ip;        /* the client's address, numeric */
    const char *users;          /* the ids of the identities the connection held ("127.0.0.1,bob") */
    const char *path;           /* the znode the request names */
    int32_t create_flags;       /* create*: CreateMode flag (0 persistent, 1 ephemeral, 2 persistent
                                 * sequential, 3 ephemeral sequential, 4 container, 5 ttl, 6 sequential
                                 * ttl); else -1 */
    const char *acl;            /* create* and setACL: "scheme:id:perms,..." (perms as "cdrwa"); else NULL */
    size_t nops;                /* multi: its ops */
    const CorralRequestOp *ops;
} CorralRequestEvent;

/* One op of a transaction (a multi has one per sub-transaction). */
typedef struct CorralTxnOp {
    int32_t type;               /* OpCode of the (sub)txn: 1 create, 2 delete, 5 setData, -1 error, ... */
    int32_t err;                /* type -1: the error code; else 0 */
    const char *path;           /* the znode, NULL when the op has none (error) */
} CorralTxnOp;

/* txn_committed. */
typedef struct CorralTxnEvent {
    uint32_t size;
    int64_t zxid;
    int64_t session_id;         /* the session that made it (the txn header's clientId); 0: the server */
    int32_t cxid;               /* the client's xid */
    int32_t type;               /* OpCode: 1 create, 2 delete, 5 setData, 7 setACL, 14 multi, -1 error,
                                 * -10 createSession, -11 closeSession, 20 deleteContainer, ... */
    int32_t err;                /* type -1: the error code; else 0 */
    const char *path;           /* the znode, NULL when there is none (sessions, multi, error) */
    int64_t time_ms;            /* wall clock of the txn header */
    size_t nops;                /* type 14 (multi): its sub-transactions; else 0 */
    const CorralTxnOp *ops;
} CorralTxnEvent;

/* session_created, session_closed, session_expired. */
typedef struct CorralSessionEvent {
    uint32_t size;
    int64_t session_id;
    int64_t zxid;               /* of the createSession / closeSession transaction */
    int32_t timeout_ms;         /* session_created: the negotiated timeout; else 0 */
} CorralSessionEvent;

typedef struct CorralHooks {
    uint32_t abi_version;       /* CORRAL_ABI_VERSION */
    uint32_t size;              /* sizeof(CorralHooks) */
    const char *name;           /* for logs */
    /* Each may be NULL.  arg is the table's arg. */
    void (*client_connected)(void *arg, const CorralClientEvent *ev);
    void (*client_authenticated)(void *arg, const CorralClientEvent *ev);
    void (*request_completed)(void *arg, const CorralRequestEvent *ev);
    void (*txn_committed)(void *arg, const CorralTxnEvent *ev);
    void (*session_created)(void *arg, const CorralSessionEvent *ev);
    void (*session_closed)(void *arg, const CorralSessionEvent *ev);
    void (*session_expired)(void *arg, const CorralSessionEvent *ev);
    void *arg;
    /* addauth or a SASL step failed (the connection is closed after the
     * reply): scheme set, id NULL.  After `arg` (it took a reserved slot). */
    void (*client_auth_failed)(void *arg, const CorralClientEvent *ev);
    void *reserved[7];          /* NULL */
} CorralHooks;

/* Only during the module's init.  A module may register several tables.
 * The table must stay valid until exit (static storage). */
int corral_register_hooks(CorralModule *m, const CorralHooks *hooks);

/* ZooKeeper's names: corral_op_name(1) = "create", corral_err_name(-101) =
 * "NoNode"; "unknown" / "Unknown" for numbers ZooKeeper does not define. */
const char *corral_op_name(int32_t opcode);
const char *corral_err_name(int32_t err);

#endif
