/*
 * regress/fuzz/fuzz_server.h: the slice of corrald's state that applying
 * transactions and loading snapshots use (srv.tree, srv.watches, the
 * session table, the quota counters), set up without a loop, storage,
 * listener or ensemble, for the harnesses that drive txn.c and
 * snapshot.c (header only).  Each input gets a fresh state, released at
 * its end, so that LeakSanitizer sees every leak of one input.
 */
#ifndef CORRAL_FUZZ_SERVER_H
#define CORRAL_FUZZ_SERVER_H

#include "fuzz_common.h"

#include "config/config.h"
#include "corral/log.h"
#include "server/internal.h"

static CoreConfig fuzz_cfg;

/* Once: the built-in configuration's settings, and quiet logs. */
static inline void fuzz_server_init(void)
{
    corral_log_set_level(CORRAL_LOG_FATAL);
    FUZZ_CHECK(config_load_string("(built-in)", corral_builtin_config, strlen(corral_builtin_config), &fuzz_cfg) == 0);
    memset(&srv, 0, sizeof srv);
    srv.cfg = &fuzz_cfg;
}

/* A fresh server state, as server_init and a learner's reset make it: the
 * tree of a new server, no sessions, no watches. */
static inline void fuzz_server_begin(void)
{
    server_reset_state();
    arena_init(&srv.req_arena, 16384);
    quota_rescan();
}

static inline void fuzz_server_end(void)
{
    tree_free(srv.tree);
    watch_free(srv.watches);
    session_table_free();
    arena_free(&srv.req_arena);
    srv.tree = NULL;
    srv.watches = NULL;
}

/* The tree's own consistency check, and its incremental digest. */
static inline void fuzz_check_tree(void)
{
    char err[512] = "";
    int rc = tree_verify(srv.tree, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "tree_verify: %s\n", err);
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(tree_digest(srv.tree) == tree_digest_recompute(srv.tree));
}

typedef struct FuzzStateSummary {
    uint64_t digest;
    int64_t nodes, sessions, last_zxid;
} FuzzStateSummary;

static inline FuzzStateSummary fuzz_summary(void)
{
    FuzzStateSummary s = {tree_digest(srv.tree), tree_node_count(srv.tree), session_count(), srv.last_zxid};
    return s;
}

/*
 * The live state, serialised as the snapshot thread does, must load back
 * into a fresh state (recovery and a learner's SNAP depend on it) with the
 * same digest, nodes, sessions and zxid.  Leaves that fresh state in srv.
 */
static inline void fuzz_check_snapshot_round_trip(void)
{
    FuzzStateSummary before = fuzz_summary();
    WBuf w = WBUF_INIT;
    int64_t zxid = server_serialize_state(&w);
    FUZZ_CHECK(zxid == srv.last_zxid);
    fuzz_server_end();
    fuzz_server_begin();
    FUZZ_CHECK(server_load_snapshot(zxid, w.data, w.len) == 0);
    FuzzStateSummary after = fuzz_summary();
    FUZZ_CHECK(after.digest == before.digest && after.nodes == before.nodes && after.sessions == before.sessions &&
               after.last_zxid == before.last_zxid);
    fuzz_check_tree();
    wbuf_free(&w);
}

#endif
