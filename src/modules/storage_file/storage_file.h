/*
 * src/modules/storage_file/storage_file.h: what storage_file.c (settings,
 * the vtable, open, append, close), recovery.c (recovery, TRUNC),
 * snapshots.c (snapshots, retention) and wal_writer.c (the writer thread)
 * share: the Store, the settings, the metrics and a few helpers.
 * Private to the module (built with -fvisibility=hidden).
 *
 * Locking: `mu` guards pending, the durable position, the failure state and
 * the segment list; the writer's own position (seg_fd, seg_off, ...)
 * belongs to the writer once it runs (recover sets it up before starting
 * it).  The loop-thread fields are touched by the loop thread only.
 */
#ifndef CORRAL_STORAGE_FILE_H
#define CORRAL_STORAGE_FILE_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <corral/module.h>

#define SUB "storage"
#define MIB ((int64_t)1 << 20)
/* The next WAL segment, preallocated ahead in wal/ (doc/storage.md). */
#define WAL_SPARE "spare.tmp"
/* How often an idle writer checks that its files are still there. */
#define GONE_CHECK_MS 1000
/* How often the writer tries again for room. */
#define SPACE_RETRY_MS 1000

typedef struct Settings {
    int fsync;
    int64_t snapshot_every_txns;
    int64_t zstd_level;
    int64_t keep_snapshots;
    int64_t segment_bytes;
    int accept_truncation;
    const char *dir;
    int64_t max_backlog_bytes;
    int64_t test_write_delay_ms;
    int exit_on_storage_lost;      /* the data directory removed under the server: exit instead of staying up */
    const char *archive_dir;       /* WAL archiving (archiver.c): copy completed segments here, */
    const char *archive_command;   /* ... or run this (%p path, %f name) */
    int64_t archive_timeout;       /* seconds: complete a segment with records after this long (0 off) */
    const char *wal_dir;           /* the WAL elsewhere (ZooKeeper's dataLogDir); default <dir>/wal */   /* test only: the writer sleeps this long before each batch (a slow disk) */
} Settings;

typedef struct SfMetrics {
    CorralMetric *fsync_ms, *fsyncs, *wal_bytes, *txns_per_fsync, *snap_ms, *snap_size, *snapshots, *backpressure;
    CorralMetric *space_low, *space_failures, *snapshot_failures;
    CorralMetric *archived, *archive_failures, *archive_last_zxid, *archive_lag;
} SfMetrics;

extern SfMetrics M;

typedef struct Buf {
    unsigned char *p;
    size_t len, cap;
} Buf;

typedef struct SegInfo {
    uint64_t seq;
    int64_t first_zxid;
    int64_t prev_zxid;     /* INT64_MAX when the header could not be read */
} SegInfo;

typedef struct Store {
    Settings set;
    CorralStorageEnv env;
    char *dir, *waldir;
    int dirfd, waldirfd, lockfd, wallockfd, efd;
    int watching;
    int recovered;

    pthread_mutex_t mu;
    pthread_cond_t cv_work;      /* writer: pending has data, or closing (CLOCK_MONOTONIC) */
    pthread_cond_t cv_space;     /* append: the writer took pending */
    pthread_cond_t cv_durable;   /* snapshot: durable_zxid moved, or the writer ended */
    Buf pending;
    int64_t durable_zxid;
    uint64_t durable_count;      /* records made durable since recovery */
    int closing, failed, writer_done;
    char why[512];
    SegInfo *segs;
    size_t nsegs, capsegs;
    pthread_t writer;
    int writer_started;
    /* Disk space as the writer sees it (set by the writer, or by open
     * before it runs; reported by the loop thread with env->space). */
    int space_low;               /* no spare segment can be prepared (or writes wait for room) */
    int space_stalled;           /* the writer holds records it cannot write for lack of room */
    uint64_t space_gen;          /* bumped at every change of space_low or space_why */
    char space_why[400];
    int64_t space_low_since_ms;
    int gone;                    /* the data directory or the open segment was removed: nothing is acknowledged any more */

    /* writer thread (set up by recover) */
    Buf writing;
    int seg_fd;
    char seg_name[40];
    uint64_t seg_off, seg_records, next_seq;
    int64_t last_logged;         /* zxid of the last record in the WAL */
    int spare_fd;                /* wal/spare.tmp, preallocated, zeros; -1 when not ready */
    int no_prealloc;             /* the file system cannot fallocate: free space is watched instead */
    int64_t next_space_try_ms;   /* when the writer looks at the spare / free space again */

    /* loop thread */
    int64_t appended_zxid, reported_zxid;
    uint64_t reported_count, since_snapshot;
    int fail_reported;
    int space_reported;          /* wal_report_space ran once */
    uint64_t space_reported_gen;
    int64_t last_backlog_warn_ms;

    pthread_mutex_t snap_mu;     /* one snapshot at a time; close waits for it */

    /* WAL archiving (archiver.c); under mu */
    pthread_cond_t cv_archive;   /* a segment completed, or stop (CLOCK_MONOTONIC) */
    pthread_t archiver;
    int archiver_started, archiver_stop;
    uint64_t archived_seq;       /* segments up to this number are archived */
    int64_t archived_zxid;       /* the last zxid they hold */
    uint64_t open_seq;           /* the segment the writer has open (0: none): not complete */
    int64_t seg_opened_ms;       /* writer: when it opened it (archive_timeout) */
} Store;

/* ---- helpers ------------------------------------------------------------ */

/* snprintf that may cut (messages and paths are bounded; file names were
 * length-checked when parsed). */
static inline void sfmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void sfmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline double mono_ms_f(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- the vtable's entries in recovery.c and snapshots.c ------------------ */

/* CorralStorage.recover: carries out the plan of recovery_plan.c. */
int sf_recover(void *store, const CorralRecoverySink *sink, char *err, size_t errlen);
/* CorralStorage.truncate (ensemble TRUNC): the log ends at zxid. */
int sf_truncate(void *store, int64_t zxid, char *err, size_t errlen);
/* CorralStorage.snapshot (the core's snapshot thread), then retention. */
int sf_snapshot(void *store, int64_t last_zxid, const void *data, size_t len, char *err, size_t errlen);

/* ---- wal_writer.c --------------------------------------------------------- */

/* The loop thread's side of the hand-off: watched on s->efd, reports
 * `durable`, `failed` and `request_snapshot`. */
void wal_on_writer_event(int fd, int events, void *arg);
/* Starts the writer thread (end of recovery): 0, or -1 with err. */
int wal_start_writer(Store *s, char *err, size_t errlen);
/* At open, before the writer runs: refuses (-1, err) a segment size the
 * file system can never hold twice or preallocate; prepares the spare
 * segment, or records that there is no room for it. */
int wal_open_spare(Store *s, char *err, size_t errlen);
/* Loop thread: calls env->space when the space state changed since the
 * last call (and on the first call). */
void wal_report_space(Store *s);

/* ---- archiver.c ----------------------------------------------------------- */

int archiving(const Store *s);
/* Reads wal/archive_status (how far archiving got) into archived_seq/zxid. */
void archive_load_status(Store *s);
/* Starts the archiver thread when archiving is configured: 0, or -1 with err. */
int archive_start(Store *s, char *err, size_t errlen);
void archive_stop(Store *s);

#endif
