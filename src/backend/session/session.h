/*
 * src/backend/session/session.h: the session table and session expiry.
 *
 * Owns: every live session (id, password, negotiated timeout, the client
 * connection currently attached, if any) and the expiry queue.  Sessions are
 * created and closed only by applying transactions (createSession and
 * closeSession), so every replica agrees on them; expiry is decided by the
 * server that owns expiry (standalone: this one) and turned into a
 * closeSession transaction by the caller.
 *
 * Expiry follows ZooKeeper's ExpiryQueue: deadlines are rounded up to the
 * next multiple of the tick, sessions sit in one bucket per tick, and a
 * timer each tick hands the due bucket to the caller.  Touching a session
 * moves it between buckets in O(1).
 *
 * Single-threaded: event loop only.
 */
#ifndef CORRAL_SESSION_SESSION_H
#define CORRAL_SESSION_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_PASSWD_LEN 16

typedef struct Session {
    int64_t id;
    int32_t timeout_ms;
    uint8_t passwd[SESSION_PASSWD_LEN];
    int64_t expire_at;          /* monotonic ms, multiple of the tick */
    int64_t last_seen;          /* monotonic ms of the last touch (exact) */
    int closing;                /* closeSession queued: ignore further touches */
    void *client;               /* the attached ClientConn, or NULL */
    char last_client[64];       /* the last client address here ("/ip:port"), for logs; "" if none */
    struct Session *hnext;      /* hash chain */
    struct Session *eprev, *enext;  /* expiry bucket list */
    int bucket;                 /* -1: in no bucket */
} Session;

void session_table_init(int64_t tick_ms, int64_t max_timeout_ms, int64_t server_id, int64_t now_ms, int64_t wall_ms);
void session_table_free(void);

/* A new session id, unique across restarts and servers as ZooKeeper makes
 * them: server id in the top byte, start time in ms above a counter. */
int64_t session_next_id(void);
/* ZooKeeper's password for a session id (Java Random seeded with
 * id ^ 0xB3415C00), so that sessions keep working against ZooKeeper-made
 * expectations and across servers without storing the password. */
void session_password(int64_t id, uint8_t out[SESSION_PASSWD_LEN]);

Session *session_add(int64_t id, int32_t timeout_ms, int64_t now_ms);   /* applying createSession */
Session *session_find(int64_t id);
void session_remove(int64_t id);                                      /* applying closeSession */
void session_touch(Session *s, int64_t now_ms);
/* The session was seen alive at seen_ms (a learner's report): moves its
 * deadline forward only, never back. */
void session_extend(Session *s, int64_t seen_ms);
/* Exact ms left before the session's timeout runs out counted from its
 * last touch (not from its tick-rounded deadline: a learner reports this,
 * and the leader rounds once). */
int64_t session_remaining(const Session *s, int64_t now_ms);
int64_t session_count(void);
void session_foreach(void (*fn)(void *ctx, Session *s), void *ctx);

/* Calls fn for every session whose deadline has passed at now_ms (and
 * takes it out of the expiry queue; the caller closes it). */
void session_expire_due(int64_t now_ms, void (*fn)(void *ctx, Session *s), void *ctx);
/* Ms from now_ms to the next tick boundary session_expire_due has not
 * passed yet (>= 1): the expiry timer fires there, where deadlines sit,
 * not on a phase counted from the server's start. */
int64_t session_next_due_in(int64_t now_ms);

#endif
