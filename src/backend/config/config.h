/*
 * src/backend/config/config.h: the configuration subsystem.
 *
 * Owns: parsing the one YAML file (libyaml) into an immutable node tree that
 * lives for the whole process, validating the core's own keys into a typed
 * CoreConfig, and the error text ("FILE:LINE:COLUMN: message") of the first
 * problem found.  Modules validate their own subtrees through
 * corral/config.h.  Single-threaded: startup only.
 */
#ifndef CORRAL_BACKEND_CONFIG_H
#define CORRAL_BACKEND_CONFIG_H

#include "corral/config.h"

#define CORRAL_MAX_ENSEMBLE 32
/* Unsent output of one connection above which the server stops reading
 * (and so stops taking requests) from it until the client drains it. */
#define CORRAL_OUTPUT_PAUSE_BYTES (4 << 20)

typedef struct EnsembleMember {
    int64_t id;
    CorralAddr peer;
    CorralAddr election;
    int observer;                 /* role: observer */
} EnsembleMember;

typedef struct CoreConfig {
    const char *file;             /* path given with -c, or "(built-in)" */
    /* server: */
    int64_t server_id;
    const char *data_dir;
    CorralAddr client_listen;
    int64_t tick_ms;
    int64_t min_session_timeout_ms;   /* default 2 * tick */
    int64_t max_session_timeout_ms;   /* default 20 * tick */
    int64_t max_client_connections;   /* per IP; 0 = unlimited */
    int64_t max_request_bytes;
    int64_t max_sessions;             /* 0 = unlimited */
    /* Bounds against hostile or runaway clients (doc/operations.md, "Limits"). */
    int64_t max_connections;          /* all clients; 0 = the descriptor limit less a reserve */
    int64_t max_output_bytes;         /* unsent output of one connection before it is closed */
    int64_t max_output_total_bytes;   /* unsent output of all connections above which each pauses early */
    int64_t max_reply_bytes;          /* a larger reply is not built: the request fails */
    int64_t sessionless_timeout_ms;   /* a connection without a session is closed after this */
    int64_t max_memory_bytes;         /* resident memory above which writes are refused; 0 = off */
    int64_t max_outstanding_requests; /* per connection: replies not yet sent; 0 = unlimited */
    int64_t max_session_bytes_per_second;  /* per connection; 0 = unlimited */
    int64_t max_watches_per_session;  /* 0 = unlimited */
    int64_t max_ephemerals_per_session;    /* 0 = unlimited */
    const char *throttle_error;       /* "throttled" (-127) or "not_read_only" (-119) for the per-session caps */
    int throttle_code;                /* the ZooKeeper error code it names */
    int extended_types;               /* TTL nodes allowed (zookeeper.extendedTypesEnabled) */
    int read_only;                    /* readonlymode.enabled */
    const char *log_level;
    int64_t init_limit, sync_limit;
    int64_t container_check_ms;       /* znode.container.checkIntervalMs */
    int64_t peer_timeout_ms;          /* ensemble failure detection; 0 = sync_limit * tick_ms */
    int64_t zab_start_counter;        /* test knob: first zxid counter of a new epoch */
    int linearizable_reads;           /* every read as if the client had called sync first */
    int digest_mismatch_exit;         /* a learner whose digest differs from the leader's exits */
    const char *test_diverge_path;    /* test knob: a learner corrupts this znode's data as it applies it */
    /* ensemble: */
    size_t n_members;
    EnsembleMember members[CORRAL_MAX_ENSEMBLE];
    /* module_path and modules: */
    CorralStrList module_path;
    const CorralConfig *modules;      /* map name -> module config */
    const CorralConfig *root;
} CoreConfig;

/* The configuration used when corrald is started without -c. */
extern const char corral_builtin_config[];

/* Parses and validates.  Returns 0, or -1 with the message available from
 * config_last_error().  `name` is used in messages for text sources. */
int config_load_file(const char *path, CoreConfig *out);
int config_load_string(const char *name, const char *text, size_t len, CoreConfig *out);
const char *config_last_error(void);
/* Releases every configuration node (at exit, or after a failed load). */
void config_free(void);
void config_clear_error(void);

#endif
