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

/* The same walks, for answers with a size cap: fn returns nonzero to stop
 * the walk there (the answer is full), and the walk then returns nonzero.
 * Nothing else differs from the functions above, which these implement. */
typedef int (*CorralConnVisitFn)(void *ctx, const CorralConnInfo *c);
typedef int (*CorralWatchVisitFn)(void *ctx, int64_t session, const char *path, size_t len);
int corral_server_visit_conns(CorralConnVisitFn fn, void *ctx);
int corral_server_visit_watches_by_session(CorralWatchVisitFn fn, void *ctx);
int corral_server_visit_watches_by_path(CorralWatchVisitFn fn, void *ctx);
int corral_server_visit_session_ephemerals(int64_t session, CorralWatchVisitFn fn, void *ctx);

/* The configuration as ZooKeeper's `conf` prints it: key=value lines. */
void corral_server_conf(void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* Re-reads the configuration file, as SIGHUP does (doc/operations.md,
 * "Reload"): 0 when applied, -1 when refused (nothing changed); out gets
 * the verdict line (what changed, what is pending, or FILE:LINE:COLUMN of
 * the error).  pending_restart: the keys that wait for a restart,
 * comma-separated, "" when none. */
int corral_server_reload(char *out, size_t outlen);
const char *corral_server_pending_restart(void);

/* The core's tree digest (for the digest word), and the zxid it covers. */
uint64_t corral_server_tree_digest(int64_t *zxid);
/* The digest log (ZooKeeper's: the digest at every zxid whose counter is a
 * multiple of 128, the last 1024 of them), oldest first: up to max entries
 * (the newest), their count returned. */
size_t corral_server_digest_log(int64_t *zxids, uint64_t *digests, size_t max);

/* The state as the core's snapshot payload (doc/storage.md, "The core's
 * snapshot payload"), exact at *zxid (the last transaction applied), in
 * *data (malloc'd; the caller frees it) of *len bytes.  *durable_zxid: the
 * zxid up to which this member acknowledges (replies are released); while
 * it is below *zxid the payload holds transactions a crash may still lose,
 * and whoever keeps the payload waits for it to pass *zxid.  With store,
 * the storage backend is also asked to store a snapshot, as its own
 * request_snapshot does.  Loop thread.  0, or -1 when there is no state
 * (not recovered yet). */
int corral_server_snapshot(void **data, size_t *len, int64_t *zxid, int64_t *durable_zxid, int store);
/* The zxid up to which this member acknowledges (see above). */
int64_t corral_server_durable_zxid(void);
/* The same state, serialised off the loop thread: the loop only clones the
 * tree (a copy of a few big blocks) and the sessions at *zxid, a thread of
 * its own writes the payload.  Returns a handle (NULL: no state, or no
 * thread); corral_server_snapshot_poll then gives 0 while it runs, 1 with
 * *data (malloc'd, the caller frees) and *len once done (the handle is
 * freed), and corral_server_snapshot_cancel drops it.  With store, storage
 * is also asked to store a snapshot.  Loop thread. */
typedef struct CorralSnapshotJob CorralSnapshotJob;
CorralSnapshotJob *corral_server_snapshot_start(int64_t *zxid, int store);
int corral_server_snapshot_poll(CorralSnapshotJob *job, void **data, size_t *len);
void corral_server_snapshot_cancel(CorralSnapshotJob *job);
/* Znodes in the tree now (to choose between the two). */
int64_t corral_server_node_count(void);

/* ---- ZooKeeper's words: one table ----------------------------------------
 * Every four-letter word of ZooKeeper 3.8 (FourLetterCommands) with the
 * names of the matching AdminServer command (admin.Commands), in one table
 * (src/backend/server/words.c): the core recognises the words on the client
 * port with it, fourlw answers them as text and admin_http as JSON.  A
 * module answers the entries it implements; the others are refused. */
#define CORRAL_WORD_FOURLW        0x01u   /* a four-letter word (else an admin command only) */
#define CORRAL_WORD_CHANGES_STATE 0x02u   /* resets or sets something (crst, srst, stmk) */
#define CORRAL_WORD_4LW_ANY_STATE 0x04u   /* the word answers while the server is not serving */
#define CORRAL_WORD_ADMIN_ANY_STATE 0x08u /* so does the admin command (CommandBase.serverRequired false) */

typedef struct CorralZkWord {
    uint32_t size;                /* sizeof(CorralZkWord) as the core was built */
    const char *word;             /* four lowercase letters */
    const char *names[4];         /* the AdminServer command's names, primary first,
                                   * then NULLs; names[0] NULL: no admin command */
    uint32_t flags;               /* CORRAL_WORD_* */
    const char *description;      /* one line */
} CorralZkWord;

/* The i-th entry (from 0), NULL past the last one. */
const CorralZkWord *corral_zk_word(size_t i);
/* The entry whose word, or one of whose admin names, is name[0..len);
 * NULL when there is none. */
const CorralZkWord *corral_zk_word_find(const char *name, size_t len);

#endif
