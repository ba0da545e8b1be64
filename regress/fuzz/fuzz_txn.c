/*
 * regress/fuzz/fuzz_txn.c: libFuzzer harness for applying transactions,
 * txn_apply (src/backend/server/txn.c): the bytes of a WAL record replayed
 * at recovery, and of a PROPOSAL or INFORM a learner applies from its
 * leader.  TxnHeader, then the record of its type (create, create2,
 * container and TTL creates, delete, setData, setACL, check, error,
 * createSession, closeSession, multi with its sub-transactions).
 *
 * Input: a sequence of transactions, each a 2-byte big-endian length and
 * that many bytes, applied in order to a fresh server state.  Properties:
 *   - the zxid only moves forward, to the header's of a txn applied;
 *   - a multi holding a multi is refused (regress-nested-multi);
 *   - after every transaction, the tree passes tree_verify and its digest
 *     is the recomputed one;
 *   - at the end, the state serialised as a snapshot loads back the same
 *     (a state that transactions can build, recovery must be able to
 *     restore).
 */
#include "fuzz_server.h"

static Arena arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_server_init();
    arena_init(&arena, 65536);
    return 0;
}

/* A multi holding a multi: txn_apply refuses it (apply recursed once per
 * level, and 1.2 MB of nesting overflowed the stack). */
static int nests_multi(const uint8_t *txn, size_t len)
{
    RBuf r;
    rbuf_init(&r, txn, len);
    TxnHeader h;
    MultiTxn m;
    if (jute_read_TxnHeader(&r, &arena, &h) < 0 || h.type != ZOO_OP_MULTI || jute_read_MultiTxn(&r, &arena, &m) < 0)
        return 0;
    for (int32_t i = 0; i < m.txns.count; i++)
        if (m.txns.items[i].type == ZOO_OP_MULTI)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_server_begin();
    size_t off = 0;
    while (size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        int64_t z0 = srv.last_zxid;
        TxnResult res;
        /* A copy of exactly len bytes, so that ASan sees any read past it. */
        uint8_t *txn = malloc(len ? len : 1);
        if (len)
            memcpy(txn, data + off, len);
        int rc = txn_apply(txn, len, &arena, &res);
        FUZZ_CHECK(srv.last_zxid >= z0);
        if (rc < 0)
            FUZZ_CHECK(srv.last_zxid == z0);
        if (nests_multi(txn, len))
            FUZZ_CHECK(rc < 0);
        fuzz_check_tree();
        free(txn);
        arena_reset(&arena);
        off += len;
    }
    fuzz_check_snapshot_round_trip();
    fuzz_server_end();
    return 0;
}
