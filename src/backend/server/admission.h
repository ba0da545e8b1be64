/*
 * src/backend/server/admission.h: whether a request is taken, before any
 * work is done for it.
 *
 * Owns the server's degraded mode and the per-session caps:
 *   - writes are refused while resident memory is above
 *     server.max_memory_bytes, or while storage reports that it is running
 *     out of space (CorralStorageEnv.space); reads, watches, pings, auth,
 *     session establishment, deletes and closeSession go on, so clients
 *     keep working and can free space;
 *   - per session: requests whose replies are not yet sent
 *     (server.max_outstanding_requests), request bytes per second
 *     (server.max_session_bytes_per_second), watches
 *     (server.max_watches_per_session), ephemeral nodes
 *     (server.max_ephemerals_per_session).
 * A refused request changes nothing.  Degraded mode answers writes with
 * NotReadOnly (-119), as ZooKeeper's read-only server does; a per-session
 * cap answers with server.throttle_error: ZooKeeper 3.6's Throttled (-127)
 * by default, or NotReadOnly for clients that do not know -127 (kazoo 2.8
 * loses its connection on it).  Loop thread only.
 */
#ifndef CORRAL_SERVER_ADMISSION_H
#define CORRAL_SERVER_ADMISSION_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

struct ClientConn;

/* Why writes are refused (a bit set: several may hold at once). */
enum AdmissionReason {
    ADMISSION_MEMORY = 1u << 0,   /* resident memory above server.max_memory_bytes */
    ADMISSION_DISK = 1u << 1,     /* storage reported it is out of space */
};

void admission_init(const CoreConfig *cfg);
void admission_shutdown(void);

/* Sets (why != NULL, logged) or clears (why == NULL) a reason. */
void admission_set(unsigned reason, const char *why);
/* The reasons in force now (0: writes are taken). */
unsigned admission_reasons(void);

/* Called for every request frame of an established session, before it is
 * decoded further: 0 to go on, or the error code to answer the request
 * with, doing nothing else.  `op` is the request's opcode. */
int admission_check_request(struct ClientConn *cc, int32_t op, size_t frame_len);

/* A new watch for this session: 0, or the throttle error above
 * server.max_watches_per_session. */
int admission_check_watch(int64_t session_id);
/* A new ephemeral node for this session: 0, or the throttle error above
 * server.max_ephemerals_per_session. */
int admission_check_ephemeral(int64_t session_id);

#endif
