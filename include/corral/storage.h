/*
 * include/corral/storage.h: storage backends.
 *
 * The core never touches files itself: it hands each transaction, already
 * encoded, to the storage backend, and learns back (on the event-loop
 * thread) when a prefix of them is durable.  Clients are answered only then.
 * At startup the backend replays what it kept.  Included by corral/module.h.
 *
 * Threads: every callback of this vtable except `snapshot` is called on the
 * event-loop thread and must not block it.  A backend does its fsyncs on a thread of its own
 * (group commit) and reports completion with `durable`, also on the loop
 * thread (watch an eventfd with corral_loop_watch_fd).
 */
#ifndef CORRAL_STORAGE_H
#define CORRAL_STORAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralModule CorralModule;

/* One transaction as the core encodes it; `data` is opaque to the backend
 * and only valid during the call. */
typedef struct CorralTxnRecord {
    int64_t zxid;
    const void *data;
    size_t len;
} CorralTxnRecord;

/* What the core gives the backend when opening it. */
typedef struct CorralStorageEnv {
    const char *data_dir;
    /* Called on the loop thread when every record up to `zxid` is durable. */
    void (*durable)(void *ctx, int64_t zxid);
    /* Called on the loop thread when the backend cannot go on (an fsync
     * failed): the core stops serving and exits without acknowledging. */
    void (*failed)(void *ctx, const char *why);
    /* Called on the loop thread when the backend wants a snapshot (e.g.
     * every N records): the core later calls `snapshot` with the state as
     * of some zxid >= every record appended before this call. */
    void (*request_snapshot)(void *ctx);
    void *ctx;
    /* Called on the loop thread when the backend foresees that it will run
     * out of space (why != NULL: e.g. the next WAL segment cannot be
     * preallocated, ENOSPC) and again when it has room again (why == NULL).
     * While out of space the core refuses new client writes (NotReadOnly,
     * as a read-only ZooKeeper does) and keeps serving reads, so the backend must keep
     * enough room in reserve for what the core already handed it.  May be
     * NULL-checked by the backend: an older core leaves it NULL. */
    void (*space)(void *ctx, const char *why);
} CorralStorageEnv;

/* Where recovery sends what it finds: first at most one snapshot, as a
 * stream of bytes the core wrote earlier, then every record after it in
 * zxid order.  Each returns 0, or -1 to abort recovery. */
typedef struct CorralRecoverySink {
    int (*snapshot)(void *ctx, int64_t last_zxid, const void *data, size_t len);
    int (*record)(void *ctx, const CorralTxnRecord *rec);
    void *ctx;
} CorralRecoverySink;

typedef struct CorralStorage {
    uint32_t abi_version;        /* CORRAL_ABI_VERSION */
    uint32_t size;               /* sizeof(CorralStorage) */
    const char *name;
    /* Returns the backend's handle, or NULL with a message in err. */
    void *(*open)(void *arg, const CorralStorageEnv *env, char *err, size_t errlen);
    int (*recover)(void *store, const CorralRecoverySink *sink, char *err, size_t errlen);
    /* Queues records for durability; they are durable once `durable` says
     * so.  Returns 0, or -1 with a message in err. */
    int (*append)(void *store, const CorralTxnRecord *recs, size_t n, char *err, size_t errlen);
    /* Stores a snapshot stream covering every record up to last_zxid; once
     * it is durable, records up to last_zxid are no longer needed for
     * recovery (retention may drop them).  Called from the core's snapshot
     * thread, NOT the loop thread, concurrently with append: the backend
     * synchronises.  Returns 0 when the snapshot is durable.
     * May be NULL for a backend that keeps no snapshots. */
    int (*snapshot)(void *store, int64_t last_zxid, const void *data, size_t len,
                    char *err, size_t errlen);
    void (*close)(void *store);
    void *arg;
    /* Drops every record with zxid > zxid, including records appended but
     * not yet durable, and every snapshot after zxid, and makes the log end
     * at zxid: the next record
     * appended follows zxid, even when zxid is beyond the last record (an
     * ensemble member that received the leader's state as a snapshot at
     * zxid stores it with `snapshot` right after, without waiting for
     * records it will never have).  Durable when it returns.  Called on the
     * loop thread, rarely (synchronisation with a new leader: TRUNC, SNAP),
     * while the member serves no client.  Returns 0, or -1 with a message
     * in err.  NULL when the backend cannot (it then cannot serve in an
     * ensemble). */
    int (*truncate)(void *store, int64_t zxid, char *err, size_t errlen);
    void *reserved[7];
} CorralStorage;

int corral_register_storage(CorralModule *m, const CorralStorage *storage);

#endif
