/*
 * src/backend/module/hooks.h: where the core reports the events of
 * corral/hooks.h.
 *
 * Each HOOK_* macro is one line at its call site and costs one test of
 * hook_mask when nobody subscribes: the arguments are not even evaluated.
 * hook_mask is 0 until module_run_start_hooks() succeeded and again once
 * module_run_stop_hooks() begins, so recovery, --check-config and shutdown
 * report nothing.  Everything here runs on the event-loop thread.
 *
 * Events that depend on a zxid (txn_committed, the session events, and
 * request_completed, whose reply waits for the zxid it shows) are queued in
 * zxid order and delivered by HOOK_COMMIT_POINT, the point up to which
 * replies are released (server_commit_point).  Requests are remembered from
 * their arrival (HOOK_REQUEST_BEGIN, keyed by connection and xid) to their
 * reply (HOOK_REQUEST_REPLY).
 */
#ifndef CORRAL_BACKEND_MODULE_HOOKS_H
#define CORRAL_BACKEND_MODULE_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "corral/hooks.h"

/* hook_mask bits: the events someone subscribes to, while the server serves. */
#define HOOK_EV_CONNECTED     0x01u
#define HOOK_EV_AUTHENTICATED 0x02u
#define HOOK_EV_REQUEST       0x04u
#define HOOK_EV_TXN           0x08u
#define HOOK_EV_SESSION       0x10u   /* created, closed or expired */
#define HOOK_EV_AUTH_FAILED   0x20u
extern unsigned hook_mask;

/* A connection was accepted (net.c). */
#define HOOK_CLIENT_CONNECTED(conn_id, ip, port) \
    do { if (hook_mask & HOOK_EV_CONNECTED) hook_fire_connected(conn_id, ip, port); } while (0)
/* addauth / SASL gave the connection a new identity (request.c). */
#define HOOK_CLIENT_AUTHENTICATED(conn_id, session, ip, port, scheme, id) \
    do { if (hook_mask & HOOK_EV_AUTHENTICATED) hook_fire_authenticated(conn_id, session, ip, port, scheme, id); } while (0)
/* A frame of an established session arrived (request.c, before any
 * dispatch, replays included: the first arrival counts). */
#define HOOK_REQUEST_BEGIN(conn_id, session, frame, len, now_ms, ip, users_fn, users_arg) \
    do { if (hook_mask & HOOK_EV_REQUEST) hook_request_begin(conn_id, session, frame, len, now_ms, ip, users_fn, users_arg); } while (0)
/* The reply of xid was written, behind a hold at zxid (every place that
 * writes a ReplyHeader for a request). */
#define HOOK_REQUEST_REPLY(conn_id, xid, err, zxid) \
    do { if (hook_mask & HOOK_EV_REQUEST) hook_request_reply(conn_id, xid, err, zxid); } while (0)
/* The same, read from a reply frame just completed (its 4-byte length,
 * then the ReplyHeader): for replies built in several steps, where only the
 * frame that is finally sent counts (multiRead drops a partial reply and
 * answers an error instead). */
#define HOOK_REQUEST_REPLY_FRAME(conn_id, frame, zxid) \
    do { if (hook_mask & HOOK_EV_REQUEST) hook_request_reply_frame(conn_id, frame, zxid); } while (0)
/* The connection is gone: its unanswered requests are forgotten. */
#define HOOK_CONN_CLOSED(conn_id) \
    do { if (hook_mask & HOOK_EV_REQUEST) hook_conn_closed(conn_id); } while (0)
/* txn_apply applied an encoded txn (TxnHeader + record). */
#define HOOK_TXN_APPLIED(data, len) \
    do { if (hook_mask & (HOOK_EV_TXN | HOOK_EV_SESSION)) hook_txn_applied(data, len); } while (0)
/* This server expires the session: its closeSession txn follows. */
#define HOOK_SESSION_EXPIRING(session) \
    do { if (hook_mask & HOOK_EV_SESSION) hook_session_expiring(session); } while (0)
/* Replies up to zxid are released: deliver what waited for it. */
#define HOOK_COMMIT_POINT(zxid) \
    do { if (hook_mask & (HOOK_EV_REQUEST | HOOK_EV_TXN | HOOK_EV_SESSION)) hook_commit_point(zxid); } while (0)
/* The log was cut after zxid (an ensemble member resynchronising): what
 * waited for a later zxid will never be committed. */
#define HOOK_TRUNCATED(zxid) \
    do { if (hook_mask & (HOOK_EV_REQUEST | HOOK_EV_TXN | HOOK_EV_SESSION)) hook_truncated(zxid); } while (0)

void hook_fire_connected(uint64_t conn_id, const char *ip, int port);
void hook_fire_authenticated(uint64_t conn_id, int64_t session, const char *ip, int port, const char *scheme,
                             const char *id);
/* The connection's identities as the audit's user field, into buf; called
 * only for the requests that change the tree. */
typedef const char *(*HookUsersFn)(void *arg, char *buf, size_t n);
void hook_request_begin(uint64_t conn_id, int64_t session, const uint8_t *frame, size_t len, int64_t now_ms,
                        const char *ip, HookUsersFn users_fn, void *users_arg);
/* addauth or a SASL step failed. */
#define HOOK_CLIENT_AUTH_FAILED(conn_id, session, ip, port, scheme) \
    do { if (hook_mask & HOOK_EV_AUTH_FAILED) hook_fire_auth_failed(conn_id, session, ip, port, scheme); } while (0)
void hook_fire_auth_failed(uint64_t conn_id, int64_t session, const char *ip, int port, const char *scheme);
void hook_request_reply(uint64_t conn_id, int32_t xid, int32_t err, int64_t zxid);
void hook_request_reply_frame(uint64_t conn_id, const uint8_t *frame, int64_t zxid);
void hook_conn_closed(uint64_t conn_id);
void hook_txn_applied(const uint8_t *data, size_t len);
void hook_session_expiring(int64_t session);
void hook_commit_point(int64_t zxid);
void hook_truncated(int64_t zxid);

/* For module.c. */
void hooks_subscribe(const CorralHooks *h);
/* Starts delivering the events someone subscribed to; stops, and drops
 * whatever still waits for a commit. */
void hooks_arm(void);
void hooks_disarm(void);

#endif
