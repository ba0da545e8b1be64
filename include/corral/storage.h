/*
 * include/corral/storage.h: storage backends, and the contract between a
 * backend and corrald.  Included by corral/module.h.  doc/storage.md says
 * the same at more length, with storage_file as the worked example;
 * src/modules/storage_memory/ is the smallest complete backend.
 *
 * The core never touches files itself: it hands each transaction, already
 * encoded, to the backend, and learns back (on the event-loop thread) when a
 * prefix of them is durable.  Clients are answered only then.  At startup the
 * backend gives back a snapshot and the transactions after it.  One backend
 * per server (corral_register_storage, from the module's init); without one
 * named in the YAML, corrald loads storage_file.
 *
 * Call order (one backend instance, "store", the handle open returned):
 *   open -> recover -> (append | snapshot | truncate)* -> close
 * - open and recover run once at startup, before the server listens, and
 *   again (on a new handle, after close) when an ensemble member rebuilds
 *   its state from storage after truncate.
 * - recover runs before any append, and only once per handle.
 * - close comes last: the core joined its snapshot thread before, and calls
 *   nothing of this handle afterwards.
 *
 * Threads:
 * - open, recover, append, truncate and close are called on the event-loop
 *   thread; they must not block it on I/O that can wait (fsync, a full
 *   queue of a slow disk): a backend does its fsyncs on a thread of its own
 *   (group commit).
 * - snapshot is called on a thread of the core (never the loop thread),
 *   concurrently with append and truncate, at most one snapshot at a time:
 *   the backend synchronises.
 * - The CorralStorageEnv callbacks (durable, failed, request_snapshot,
 *   space) must be called on the loop thread: a writer thread hands its
 *   results back through a file descriptor watched with
 *   corral_loop_watch_fd (an eventfd, a pipe).  Metrics and corral_log may
 *   be used from any thread.
 *
 * Durability, what corrald promises its clients on the backend's word:
 * - A reply that depends on a transaction leaves only after the backend
 *   called env->durable(ctx, Z) with Z >= its zxid.  durable(Z) means every
 *   record appended with a zxid <= Z will be given back by recover after a
 *   crash of the process or of the machine.  Z only ever increases.
 * - Never report durable for data you are not sure of.  When the backend
 *   cannot go on (an fsync failed: the page cache may have dropped the
 *   data), it calls env->failed: the core stops at once without
 *   acknowledging anything more; the next start recovers from what is on
 *   disk.
 * - An append or truncate that returns -1 is treated like failed.
 * - recover must refuse (return -1 with a message) rather than guess: a
 *   state older than what was acknowledged, silently served, is the one
 *   failure the core cannot detect.  A torn tail of records never reported
 *   durable may be cut.
 * - snapshot returning 0 means the snapshot is durable; records up to its
 *   zxid may then be dropped.  A failed snapshot the backend asked for is
 *   logged and the core goes on (the records stay needed); a member that
 *   fails to store the snapshot its leader sent stops.
 * - space (the backend calls it if it can tell): it foresees running
 *   out of room.  While it says so, the core refuses new writes that grow
 *   the state and keeps serving the rest, so the backend must keep enough
 *   in reserve to make durable what the core already handed it.
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

/* What the core gives the backend when opening it.  The struct is on the
 * core's stack during open: copy it.  Every callback takes ctx as its first
 * argument and must be called on the loop thread. */
typedef struct CorralStorageEnv {
    const char *data_dir;       /* server.data_dir; lives as long as the process */
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
     * out of space (why != NULL, a message for the log: e.g. the next WAL
     * segment cannot be preallocated, ENOSPC) and again when it has room
     * again (why == NULL).  Calls may repeat; the last one counts.  While
     * out of space the core refuses new client writes that grow the state
     * (create, setData, setACL, multi: NotReadOnly, see doc/operations.md)
     * and keeps serving reads, deletes, sessions and pings, so the backend
     * must keep enough room in reserve for what the core already handed
     * it.  Always set by a core of module ABI 2 or later. */
    void (*space)(void *ctx, const char *why);
} CorralStorageEnv;

/* Where recovery sends what it finds: first at most one snapshot, as a
 * stream of bytes the core wrote earlier (the newest durable one), then
 * every record after it in zxid order, without gaps.  The data passed is
 * read during the call only.  Each returns 0, or -1 to abort recovery
 * (recover then returns -1). */
typedef struct CorralRecoverySink {
    int (*snapshot)(void *ctx, int64_t last_zxid, const void *data, size_t len);
    int (*record)(void *ctx, const CorralTxnRecord *rec);
    void *ctx;
} CorralRecoverySink;

typedef struct CorralStorage {
    uint32_t abi_version;        /* CORRAL_ABI_VERSION */
    uint32_t size;               /* sizeof(CorralStorage) */
    const char *name;
    /* Returns the backend's handle, or NULL with a message in err (corrald
     * then exits).  Loop thread, before the server listens. */
    void *(*open)(void *arg, const CorralStorageEnv *env, char *err, size_t errlen);
    /* Gives back what the backend kept, through sink, then returns 0; or
     * -1 with a message in err (corrald exits: it never serves a state it
     * cannot prove complete).  Loop thread, once per handle, before any
     * append.  It may read synchronously: at startup nothing is served
     * yet, and a member rebuilding its state serves no client meanwhile. */
    int (*recover)(void *store, const CorralRecoverySink *sink, char *err, size_t errlen);
    /* Queues records for durability, the turn's batch (group commit): zxids
     * strictly increasing across calls, each record's data valid during the
     * call only (copy it).  They are durable once `durable` says so.
     * Returns 0, or -1 with a message in err (the core treats it as
     * `failed`).  Loop thread. */
    int (*append)(void *store, const CorralTxnRecord *recs, size_t n, char *err, size_t errlen);
    /* Stores a snapshot stream covering every record up to last_zxid; once
     * it is durable, records up to last_zxid are no longer needed for
     * recovery (retention may drop them).  Called from the core's snapshot
     * thread, NOT the loop thread, concurrently with append: the backend
     * synchronises.  Returns 0 when the snapshot is durable.
     * May be NULL for a backend that keeps no snapshots. */
    int (*snapshot)(void *store, int64_t last_zxid, const void *data, size_t len,
                    char *err, size_t errlen);
    /* Flushes what was appended as far as it can (the core waits for no
     * durable call any more) and frees the handle.  Loop thread, last call
     * on the handle. */
    void (*close)(void *store);
    void *arg;                   /* passed to open */
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
    void *reserved[7];           /* NULL */
} CorralStorage;

/* Only during the module's init; at most one backend per server.  name,
 * open, recover, append and close are required.  The vtable must stay
 * valid until exit (static storage). */
int corral_register_storage(CorralModule *m, const CorralStorage *storage);

#endif
