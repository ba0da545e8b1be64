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
    int has_client;               /* client address known (ZooKeeper's ";host:port") */
    CorralAddr client;
} EnsembleMember;

/* The top-level `tls:` map (doc/security.md).  Files are read by net/tls.c
 * at startup and again on reload; the strings live as long as the
 * configuration. */
typedef struct TlsConfig {
    int present;                  /* a `tls:` map was given */
    const char *cert_file, *key_file, *ca_file;
    const char *client_auth;      /* "none", "want" or "need" */
    int client_auth_mode;         /* 0 none, 1 want, 2 need */
    const char *min_protocol, *max_protocol;   /* "TLSv1.2" or "TLSv1.3" */
    const char *ciphers;          /* TLS 1.2 cipher list (OpenSSL syntax) */
    const char *ciphersuites;     /* TLS 1.3 suites */
    int quorum;                   /* peer and election connections over mutual TLS */
    const CorralConfig *member_names;   /* map member id -> name its certificate carries */
} TlsConfig;

typedef struct CoreConfig {
    const char *file;             /* path given with -c, or "(built-in)" */
    /* server: */
    int64_t server_id;
    const char *data_dir;
    CorralAddr client_listen;
    int has_client_listen;            /* 0 when only secure_client_listen serves clients */
    CorralAddr secure_client_listen;  /* ZooKeeper's secureClientPort */
    int has_secure_client_listen;
    const char *ensemble_secret_file; /* members authenticate with HMAC over this secret */
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
    int reconfig_enabled;             /* reconfigEnabled: the reconfig request is allowed */
    int reconfig_skip_acl;            /* skipACL for reconfig: anyone may reconfigure */
    /* ensemble: */
    size_t n_members;
    EnsembleMember members[CORRAL_MAX_ENSEMBLE];
    /* module_path and modules: */
    CorralStrList module_path;
    const CorralConfig *modules;      /* map name -> module config */
    TlsConfig tls;
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
/* The name member `id`'s certificate must carry under tls.quorum. */
const char *config_member_tls_name(const CoreConfig *c, int64_t id);

/* ---- reload (src/backend/reload) ------------------------------------------
 * A reload parses the file again into a new generation of nodes: begin
 * one with config_new_generation() (-1: too many reloads), load, and
 * config_drop_generation() if the file is refused.  Older generations live
 * until config_free: modules may hold their strings. */
int config_new_generation(void);
void config_drop_generation(void);

typedef enum ConfigReload {
    CONFIG_RUNTIME,           /* a reload applies a new value */
    CONFIG_RESTART            /* a new value waits for a restart (pending_restart) */
} ConfigReload;

/* The keys of `server:`, with their reload class (i from 0; NULL past the
 * last). */
size_t config_server_key_count(void);
const CorralConfigKey *config_server_key(size_t i, ConfigReload *reload);
/* Compares / copies the field of key k between two CoreConfigs. */
int config_field_equal(const CorralConfigKey *k, const void *a, const void *b);
void config_field_copy(const CorralConfigKey *k, void *dst, const void *src);
/* Same YAML content (types, scalars, keys in order), wherever it was read. */
int config_node_equal(const CorralConfig *a, const CorralConfig *b);
int config_ensemble_equal(const CoreConfig *a, const CoreConfig *b);
int config_module_path_equal(const CoreConfig *a, const CoreConfig *b);

#endif
