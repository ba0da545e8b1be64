/*
 * src/backend/server/replication.h: the glue between the server and the
 * ZAB ensemble (src/backend/zab/).  Every function is a no-op (or returns
 * 0) when no `ensemble:` is configured, and the server calls them only
 * behind `if (replication_active())`, so the standalone path is unchanged.
 *
 * What the hooks do:
 *   server_log_txn      -> replication_logged: the leader broadcasts the txn
 *   storage durable     -> replication_local_durable: ACK / leader's own vote;
 *                          the commit point (not the fsync) releases replies
 *   request_on_frame    -> replication_client_frame: refuse while not
 *                          serving, forward writes/sessions/sync from
 *                          learners, FIFO per session
 *   request_on_close    -> replication_client_closed
 *   expiry_tick         -> replication_expiry_tick: only the leader expires
 *   reap_tick           -> replication_may_write: only the leader reaps
 */
#ifndef CORRAL_SERVER_REPLICATION_H
#define CORRAL_SERVER_REPLICATION_H

#include <stdint.h>

#include "server/internal.h"

int replication_active(void);
/* conf: the ensemble's lines (initLimit ... membership). */
void replication_conf(void (*fn)(void *ctx, const char *key, const char *value), void *ctx);
int replication_init(const CoreConfig *cfg);        /* after storage recovery, before net_init */
void replication_shutdown(void);
void replication_logged(const WBuf *txn, int64_t zxid);
void replication_local_durable(int64_t zxid);
int64_t replication_expiry_tick(void);
int replication_may_write(void);
/* The routing of a client's frames, in request_on_frame's order.  Each
 * returns 1 when replication took the frame (queued it, forwarded it,
 * answered it, or closed the connection), 0 when the core handles it.
 *   defer:  before decoding: a frame that must wait behind the session's
 *           forwarded requests is queued (and replayed through
 *           request_on_frame later); a read-only member closes clients
 *           that are not read-only ones.
 *   route_connect: a ConnectRequest: a follower forwards createSession or
 *           revalidates an unknown session; a read-only member makes a
 *           local session.
 *   route_request: sync waits for a round with the leader; a follower
 *           forwards writes and closeSession; a read-only member refuses
 *           what needs a quorum.
 * The frame bytes are passed for queueing and forwarding. */
int replication_defer(ClientConn *cc, const uint8_t *frame, size_t len);
int replication_route_connect(ClientConn *cc, const ConnectRequest *req, int ro, const uint8_t *frame, size_t len);
int replication_route_request(ClientConn *cc, const RequestHeader *h, RBuf *body, const uint8_t *frame, size_t len);
/* Answers a request refused by admission in its place among the session's
 * replies (after the forwarded requests before it). */
void replication_refuse(ClientConn *cc, int32_t xid, int err);
void replication_client_closed(ClientConn *cc);
/* Requests of cc forwarded to the leader (or waiting for a sync round) and
 * not answered yet: in flight, as unsent replies are. */
size_t replication_in_flight(const ClientConn *cc);
const char *replication_mode(void);
int replication_read_only(void);     /* serving read-only clients (no quorum) */

#endif
