/*
 * include/corral/server.h: read-only views of the running server, for
 * four-letter words, exporters and admin endpoints.
 *
 * Structs start with their size so they can grow: set `size` before
 * calling, the core fills what both sides know.  Strings point into the core
 * and are valid until the next call of the same function.
 */
#ifndef CORRAL_SERVER_H
#define CORRAL_SERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralServerInfo {
    uint32_t size;
    const char *version;          /* "3.8.4-corral-0.1.0, built on ..." style line */
    const char *mode;             /* "standalone", "leader", "follower", "observer" */
    int64_t last_zxid;
    int64_t node_count;
    int64_t watch_count;
    int64_t ephemerals_count;
    int64_t approximate_data_size;
    int64_t connections;          /* open client connections */
    int64_t outstanding_requests;
    int64_t packets_received;
    int64_t packets_sent;
    int64_t latency_min_ms;
    double latency_avg_ms;
    int64_t latency_max_ms;
    int64_t session_count;
    int64_t uptime_ms;
    int64_t server_id;            /* 0 standalone */
    int read_only;                /* serving read-only clients only */
    const char *client_listen;    /* "127.0.0.1:2181" */
    int client_port;
    const char *data_dir;
    const char *config_file;
    int64_t tick_ms;
    int64_t min_session_timeout_ms;
    int64_t max_session_timeout_ms;
    int64_t max_client_connections;
    int64_t max_request_bytes;
    int64_t open_fds;
    int64_t max_fds;
} CorralServerInfo;

void corral_server_info(CorralServerInfo *info);

/* One line per client connection, as ZooKeeper's `cons`. */
typedef struct CorralConnInfo {
    uint32_t size;
    const char *peer;             /* "/127.0.0.1:53312" style, as ZooKeeper prints */
    int64_t session_id;
    int64_t queued;               /* requests waiting */
    int64_t received, sent;
    int64_t timeout_ms;
    int64_t last_zxid;
    int64_t last_latency_ms, min_latency_ms, max_latency_ms;
    double avg_latency_ms;
    int64_t established_ms;       /* wall clock */
    int64_t last_response_ms;     /* wall clock */
    const char *last_op;          /* "GETD", "PING", ... as ZooKeeper abbreviates */
    int64_t last_cxid;
} CorralConnInfo;

void corral_server_foreach_conn(void (*fn)(void *ctx, const CorralConnInfo *c), void *ctx);
/* Resets connection and server statistics (srst, crst). */
void corral_server_reset_stats(void);
void corral_server_reset_conn_stats(void);

/* Watches and sessions, for wchs/wchc/wchp/dump.  Paths are not NUL
 * terminated. */
typedef void (*CorralWatchFn)(void *ctx, int64_t session, const char *path, size_t len);
int64_t corral_server_watch_paths(void);
int64_t corral_server_watching_sessions(void);
void corral_server_watches_by_session(CorralWatchFn fn, void *ctx);
void corral_server_watches_by_path(CorralWatchFn fn, void *ctx);
/* dump: sessions with their ephemeral nodes. */
typedef void (*CorralSessionFn)(void *ctx, int64_t session, int64_t timeout_ms);
void corral_server_foreach_session(CorralSessionFn fn, void *ctx);
void corral_server_session_ephemerals(int64_t session, CorralWatchFn fn, void *ctx);

/* The configuration as ZooKeeper's `conf` prints it: key=value lines. */
void corral_server_conf(void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* The core's tree digest (for the digest word), and the zxid it covers. */
uint64_t corral_server_tree_digest(int64_t *zxid);

#endif
