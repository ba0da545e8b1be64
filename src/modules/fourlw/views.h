/*
 * src/modules/fourlw/views.h: the admin views, collected once for the two
 * renderers: the four-letter words (fourlw, text in ZooKeeper 3.8's format)
 * and the AdminServer commands (admin_http, JSON with ZooKeeper's names).
 *
 * A view is what ZooKeeper's command collects before printing: the server
 * statistics with the registry values srvr reads, the configuration with
 * its directory sizes, the environment lines, the mntr keys in ZooKeeper's
 * order, the watches grouped by session or path, the session and
 * connection expiry queues of dump.  Each renderer only writes a view in
 * its syntax; which facts, in which order, computed how, is decided here.
 *
 * Why a file both modules compile rather than core functions in
 * corral/server.h: the views are presentation (ZooKeeper's orders, its
 * key names, its estimates of deadlines), and they change whenever a
 * ZooKeeper format does.  In the module ABI every such change would be an
 * ABI change for every module author; here it is a rebuild of two modules.
 * The ABI keeps the raw facts (corral_server_info, the walks, the word
 * table) and the views are built on them only, so a third-party module can
 * build its own.  admin_http/views.c includes views.c (as it does
 * fourlw_format.c); every symbol is hidden, so the two copies never meet.
 */
#ifndef CORRAL_FOURLW_VIEWS_H
#define CORRAL_FOURLW_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "corral/module.h"
#include "fourlw_format.h"

/* ZooKeeper's NIOServerCnxnFactory.sessionlessCnxnTimeout: the interval of
 * the connection expiry queue that dump shows. */
#define VIEW_SESSIONLESS_CNXN_TIMEOUT_MS 10000

/* AbstractFourLetterCommand.ZK_NOT_SERVING (CommandResponse's error). */
#define VIEW_NOT_SERVING "This ZooKeeper instance is not currently serving requests"

/* Allocation: corral_xreallocarray and corral_xstrdup (corral/alloc.h),
 * which abort on out-of-memory as the core does. */

/* ---- srvr, stat, isro, wchs, dirs ---------------------------------------- */
typedef struct ServerView {
    CorralServerInfo info;      /* open_fds and max_fds are -1 when unknown */
    int serving;                /* a mode other than "looking" */
    int leader;
    int64_t watching_sessions;  /* wchs: sessions with data watches */
    int64_t watch_paths;        /* wchs: paths with data watches */
} ServerView;
FOURLW_HIDDEN void view_server(ServerView *v);
/* A registry metric's value (a histogram's count), or dflt when absent. */
FOURLW_HIDDEN int64_t view_metric(const char *name, int64_t dflt);

/* ---- conf ---------------------------------------------------------------- */
typedef struct ViewKv {
    char *key, *value;
} ViewKv;
typedef struct ViewKvList {
    ViewKv *kv;
    size_t n, cap;
} ViewKvList;
FOURLW_HIDDEN void view_kv_add(ViewKvList *l, const char *key, const char *value);
FOURLW_HIDDEN const char *view_kv_find(const ViewKvList *l, const char *key);
FOURLW_HIDDEN void view_kv_free(ViewKvList *l);
/* ZooKeeperServer.dumpConf: the core's key=value pairs; with_sizes adds
 * ZooKeeper 3.8's dataDirSize after dataDir and dataLogSize after
 * dataLogDir when the core does not give them (a walk of the directory). */
FOURLW_HIDDEN void view_conf(ViewKvList *l, int with_sizes);

/* ---- envi ----------------------------------------------------------------- */
/* Environment.list() with what a native server has in place of the JVM's
 * lines; a value that cannot be found is "<NA>", as ZooKeeper prints it.
 * view_env_start gathers what does not change (user lookups may block:
 * call it from a start hook, never while serving); view_env_stop frees it. */
FOURLW_HIDDEN void view_env_start(void);
FOURLW_HIDDEN void view_env_stop(void);
FOURLW_HIDDEN void view_env(ViewKvList *l, const ServerView *v);

/* ---- mntr ----------------------------------------------------------------- */
typedef enum ViewKind {
    VIEW_STR,                   /* s */
    VIEW_INT,                   /* i */
    VIEW_AVG,                   /* d, rounded as ZooKeeper's averages (fourlw_round4) */
    VIEW_NUM                    /* d: a long when integral, else a double */
} ViewKind;
typedef struct ViewValue {
    const char *key;            /* without ZooKeeper's "zk_" */
    ViewKind kind;
    const char *s;
    int64_t i;
    double d;
} ViewValue;
/* Every mntr key once: ZooKeeper 3.8's, in its order, then the registry in
 * registration order (a histogram as avg_, min_, max_, cnt_, sum_). */
FOURLW_HIDDEN void view_mntr(const ServerView *v, void (*fn)(void *ctx, const ViewValue *val), void *ctx);

/* ---- wchc, wchp ------------------------------------------------------------ */
/* The watches grouped by session (by_path 0: sessions ascending, then their
 * paths) or by path (paths ascending, then their sessions); first says that
 * the entry opens a group.  fn returns nonzero to stop (the cap); so does
 * the walk then. */
typedef int (*ViewWatchFn)(void *ctx, int first, int64_t session, const char *path, size_t len);
FOURLW_HIDDEN int view_watches(int by_path, ViewWatchFn fn, void *ctx);

/* A session's ephemeral nodes, in creation order (dump); first says the
 * path opens the session's list.  Returns how many paths fn took: it
 * returns nonzero for the one that did not fit, which ends the walk. */
FOURLW_HIDDEN size_t view_ephemerals(int64_t session, ViewWatchFn fn, void *ctx);

/* ---- dump ------------------------------------------------------------------ */
typedef struct ViewSession {
    int64_t id, timeout_ms;
    int64_t expire_ms;          /* estimated deadline, wall clock */
} ViewSession;
typedef struct ViewConn {
    char *peer;                 /* "/ip:port" */
    int64_t session_id;
    int64_t expire_ms;          /* the connection expiry queue's deadline */
} ViewConn;
typedef struct DumpView {
    ViewSession *sess;          /* by deadline, then id */
    size_t nsess;
    ViewConn *conns;            /* in the core's order */
    size_t nconns;
} DumpView;
/* The core does not publish each session's deadline, so it is estimated
 * as ZooKeeper sets it when a session is touched: the last answer on the
 * session's connection (now, for a session without one) plus the timeout,
 * rounded up to the next tick.  A connection expires a session timeout
 * after its last activity, or sessionlessCnxnTimeout for one without a
 * session, in buckets of sessionlessCnxnTimeout. */
FOURLW_HIDDEN void view_dump(DumpView *d, const ServerView *v);
FOURLW_HIDDEN void view_dump_free(DumpView *d);

#endif
