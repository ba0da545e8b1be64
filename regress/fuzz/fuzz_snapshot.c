/*
 * regress/fuzz/fuzz_snapshot.c: libFuzzer harness for the core's snapshot
 * loader, server_load_snapshot (src/backend/server/snapshot.c): the bytes
 * storage hands back at recovery (after its own checks) and a learner gets
 * in a SNAP from its leader.  Sessions, ACL lists, then every node, then
 * the tree digest.
 *
 * The input is the snapshot's bytes; the zxid the caller expects is taken
 * from them (bytes 8..15), as storage passes the one its file names.
 * Properties:
 *   - a load that fails leaves the tree, the sessions and the zxid as they
 *     were;
 *   - a load that succeeds leaves a tree that passes tree_verify, whose
 *     digest is the recomputed one, at the snapshot's zxid;
 *   - and that state, serialised again, loads back the same
 *     (fuzz_check_snapshot_round_trip).
 */
#include "fuzz_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_server_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_server_begin();
    int64_t zxid = 0;
    if (size >= 16) {
        RBuf r;
        rbuf_init(&r, data + 8, 8);
        zxid = rbuf_get_long(&r);
    }
    const Tree *before = srv.tree;
    FuzzStateSummary s0 = fuzz_summary();
    if (server_load_snapshot(zxid, data, size) < 0) {
        FuzzStateSummary s1 = fuzz_summary();
        FUZZ_CHECK(srv.tree == before && s1.digest == s0.digest && s1.nodes == s0.nodes &&
                   s1.last_zxid == s0.last_zxid && s1.sessions == s0.sessions);
        fuzz_check_tree();
    } else {
        FUZZ_CHECK(srv.last_zxid == zxid);
        fuzz_check_tree();
        fuzz_check_snapshot_round_trip();
    }
    fuzz_server_end();
    return 0;
}
