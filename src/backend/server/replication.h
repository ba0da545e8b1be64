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
int replication_init(const CoreConfig *cfg);        /* after storage recovery, before net_init */
void replication_shutdown(void);
void replication_logged(const WBuf *txn, int64_t zxid);
void replication_local_durable(int64_t zxid);
int64_t replication_expiry_tick(void);
int replication_may_write(void);
int replication_client_frame(ClientConn *cc, const uint8_t *frame, size_t len);
void replication_client_closed(ClientConn *cc);
/* Requests of cc forwarded to the leader (or waiting for a sync round) and
 * not answered yet: in flight, as unsent replies are. */
size_t replication_in_flight(const ClientConn *cc);
const char *replication_mode(void);
int replication_read_only(void);     /* serving read-only clients (no quorum) */

#endif
