/*
 * src/backend/server/server.h: the ZooKeeper client protocol server.
 *
 * Owns: the znode tree (tree/), the watch manager (watch/), the session
 * table (session.c), request decoding and dispatch (request.c), the
 * transaction log hand-off to storage and the durable zxid that gates
 * replies (net/net.h "output gating").  Single-threaded: everything runs on
 * the event loop.
 *
 * Write path (standalone): decode -> validate against the tree -> encode a
 * txn (ZooKeeper's own txn records) -> apply it to the tree at once ->
 * queue the reply and watch events behind a hold mark for the txn's zxid ->
 * hand the txn to storage at the end of the loop turn (group commit) ->
 * storage reports the zxid durable -> replies are released.  Reads are
 * answered at once from the tree, but behind the same hold mark when the
 * tree holds writes that are not durable yet, so no client ever sees data
 * that could be lost in a crash.
 */
#ifndef CORRAL_SERVER_SERVER_H
#define CORRAL_SERVER_SERVER_H

#include "config/config.h"

void server_register_metrics(void);
int server_init(const CoreConfig *cfg);     /* recovery, listener; -1 + log */
int server_shutdown(void);                  /* 0, or -1 if something was lost */

#endif
