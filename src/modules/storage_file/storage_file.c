/*
 * src/modules/storage_file/storage_file.c: the durable storage backend of
 * corrald: a write-ahead log with group commit, zstd snapshots, crash
 * recovery and retention.  This file: the settings, the vtable, open,
 * append and close.  doc/storage.md is the design note; the file formats
 * are in wal_format.h, the writer thread in wal_writer.c, recovery (and
 * the ensemble's TRUNC) in recovery.c, following the plan of
 * recovery_plan.c, snapshots and retention in snapshots.c, what they share
 * in storage_file.h.
 *
 * Threads:
 *   loop thread    open, recover, append (copies records into `pending`,
 *                  never touches the disk), close, and the eventfd callback
 *                  (wal_writer.c) that reports `durable` / `failed` /
 *                  `request_snapshot`.
 *   writer thread  wal_writer.c: takes the whole of `pending` at once (group
 *                  commit), writes it, fdatasyncs, publishes the new durable
 *                  zxid and pokes the eventfd.
 *   snapshot       the core's snapshot thread calls sf_snapshot: it waits
 *                  until the WAL holds every record up to the snapshot's
 *                  zxid, writes and publishes the file, then applies the
 *                  retention rules.
 * `mu` guards pending, the durable position, the failure state and the
 * segment list; the writer's own position (seg_fd, seg_off, ...) belongs to
 * the writer once it runs (recover sets it up before starting it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_file.h"
#include "recovery_plan.h"
#include "wal_format.h"

CORRAL_MODULE_MAGIC(.name = "storage_file", .version = "0.1");

/* ---- settings (modules.storage_file) ------------------------------------ */

static const Settings default_settings = {1, 100000, 3, 3, 64 * MIB, 0, NULL, 64 * MIB, 0, 0, NULL, NULL, 0, NULL};
static Settings g_set;

static const CorralConfigKey g_keys[] = {
    {"fsync", CORRAL_KEY_BOOL, offsetof(Settings, fsync), 0, 0, 0},
    {"snapshot_every_txns", CORRAL_KEY_INT, offsetof(Settings, snapshot_every_txns), 0, 0, INT64_MAX},
    {"zstd_level", CORRAL_KEY_INT, offsetof(Settings, zstd_level), 0, 1, 19},
    {"keep_snapshots", CORRAL_KEY_INT, offsetof(Settings, keep_snapshots), 0, 1, 1000},
    {"segment_bytes", CORRAL_KEY_INT, offsetof(Settings, segment_bytes), 0, MIB, 1024 * MIB},
    {"accept_truncation", CORRAL_KEY_BOOL, offsetof(Settings, accept_truncation), 0, 0, 0},
    {"dir", CORRAL_KEY_STRING, offsetof(Settings, dir), 0, 0, 0},
    {"max_backlog_bytes", CORRAL_KEY_INT, offsetof(Settings, max_backlog_bytes), 0, MIB, 16384 * MIB},
    {"test_write_delay_ms", CORRAL_KEY_INT, offsetof(Settings, test_write_delay_ms), 0, 0, 10000},
    {"exit_on_storage_lost", CORRAL_KEY_BOOL, offsetof(Settings, exit_on_storage_lost), 0, 0, 0},
    {"archive_dir", CORRAL_KEY_STRING, offsetof(Settings, archive_dir), 0, 0, 0},
    {"archive_command", CORRAL_KEY_STRING, offsetof(Settings, archive_command), 0, 0, 0},
    {"archive_timeout", CORRAL_KEY_INT, offsetof(Settings, archive_timeout), 0, 0, 86400},
    {"wal_dir", CORRAL_KEY_STRING, offsetof(Settings, wal_dir), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END};

SfMetrics M;

static int buf_reserve(Buf *b, size_t extra)
{
    if (extra <= b->cap - b->len)
        return 0;
    size_t need = b->len + extra, cap = b->cap ? b->cap : 256 * 1024;
    if (need < b->len)
        return -1;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Creates every missing component of `path`, syncing each parent so that
 * the new directory entries survive a crash. */
static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) {
        sfmt(err, errlen, "path too long: %s", path);
        return -1;
    }
    memcpy(buf, path, strlen(path) + 1);
    size_t len = strlen(buf);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) == 0) {
            char parent[PATH_MAX];
            sfmt(parent, sizeof parent, "%s", buf);
            char *slash = strrchr(parent, '/');
            if (slash == parent)
                slash[1] = '\0';
            else if (slash)
                *slash = '\0';
            else
                sfmt(parent, sizeof parent, ".");
            int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (pfd >= 0) {
                fsync(pfd);
                close(pfd);
            }
        } else if (errno != EEXIST) {
            sfmt(err, errlen, "cannot create directory %s: %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        sfmt(err, errlen, "%s is not a directory", path);
        return -1;
    }
    return 0;
}

/* ---- open --------------------------------------------------------------- */

/* wal_dir set while DIR/wal still holds segments (the WAL was not moved):
 * starting would recover without them and lose their transactions. */
static int wal_dir_conflict(Store *s, char *err, size_t errlen)
{
    char old[PATH_MAX];
    sfmt(old, sizeof old, "%s/wal", s->dir);
    struct stat a, b;
    if (stat(old, &a) < 0 || stat(s->waldir, &b) < 0 || (a.st_dev == b.st_dev && a.st_ino == b.st_ino))
        return 0;
    DIR *d = opendir(old);
    if (!d)
        return 0;
    struct dirent *e;
    uint64_t seq;
    int64_t first;
    int found = 0;
    while ((e = readdir(d)))
        if (walf_parse_seg_name(e->d_name, &seq, &first) == 0)
            found = 1;
    closedir(d);
    if (found)
        sfmt(err, errlen, "%s holds WAL segments, but wal_dir is %s: move them there first (with the server stopped), "
             "or remove wal_dir", old, s->waldir);
    return found ? -1 : 0;
}

static void sf_close(void *store);

static void *sf_open(void *arg, const CorralStorageEnv *env, char *err, size_t errlen)
{
    const char *dir = g_set.dir ? g_set.dir : env->data_dir;
    if (!dir || !dir[0]) {
        sfmt(err, errlen, "no directory: set server.data_dir or modules.storage_file.dir");
        return NULL;
    }
    if (!env->durable) {
        sfmt(err, errlen, "the core gave no durable callback");
        return NULL;
    }
    /* Before anything is created in it: a ZooKeeper dataDir given as is
     * would otherwise start empty beside the data (issue #12). */
    if (rp_zookeeper_refusal(dir, g_set.wal_dir, err, errlen))
        return NULL;
    Store *s = calloc(1, sizeof *s);
    if (!s) {
        sfmt(err, errlen, "out of memory");
        return NULL;
    }
    s->set = g_set;
    s->env = *env;
    s->dirfd = s->waldirfd = s->lockfd = s->wallockfd = s->efd = s->seg_fd = s->spare_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->snap_mu, NULL);
    pthread_cond_init(&s->cv_space, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv_work, &ca);
    pthread_cond_init(&s->cv_durable, &ca);
    pthread_cond_init(&s->cv_archive, &ca);
    pthread_condattr_destroy(&ca);

    size_t dl = strlen(dir) + 5;
    s->dir = strdup(dir);
    s->waldir = s->set.wal_dir ? strdup(s->set.wal_dir) : malloc(dl);
    if (!s->dir || !s->waldir) {
        sfmt(err, errlen, "out of memory");
        goto fail;
    }
    if (!s->set.wal_dir)
        sfmt(s->waldir, dl, "%s/wal", dir);
    if (mkdir_p(s->dir, err, errlen) < 0 || mkdir_p(s->waldir, err, errlen) < 0)
        goto fail;
    if (s->set.wal_dir && wal_dir_conflict(s, err, errlen) < 0)
        goto fail;
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->waldirfd = open(s->waldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0 || s->waldirfd < 0) {
        sfmt(err, errlen, "cannot open directory %s: %s", s->dirfd < 0 ? s->dir : s->waldir, strerror(errno));
        goto fail;
    }
    s->lockfd = openat(s->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lockfd < 0) {
        sfmt(err, errlen, "cannot create %s/LOCK: %s", s->dir, strerror(errno));
        goto fail;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
        sfmt(err, errlen, "%s is in use by another process (%s/LOCK is locked)", s->dir, s->dir);
        goto fail;
    }
    if (s->set.wal_dir) {
        /* A WAL directory of its own is locked too: two servers must not
         * share one through different data directories. */
        s->wallockfd = openat(s->waldirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->wallockfd < 0 || flock(s->wallockfd, LOCK_EX | LOCK_NB) < 0) {
            sfmt(err, errlen, "%s is in use by another process (%s/LOCK is locked)", s->waldir, s->waldir);
            goto fail;
        }
    }
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->efd < 0) {
        sfmt(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    if (corral_loop_watch_fd(s->efd, CORRAL_EV_READ, wal_on_writer_event, s) < 0) {
        sfmt(err, errlen, "cannot watch the writer's eventfd: %s", strerror(errno));
        goto fail;
    }
    s->watching = 1;
    if (s->set.archive_dir) {
        struct stat ast;
        if (stat(s->set.archive_dir, &ast) < 0 || !S_ISDIR(ast.st_mode)) {
            sfmt(err, errlen, "archive_dir %s is not a directory%s%s", s->set.archive_dir, errno ? ": " : "",
                 errno ? strerror(errno) : "");
            goto fail;
        }
    }
    archive_load_status(s);
    corral_log(CORRAL_LOG_INFO, SUB,
               "storage_file in %s: WAL segments of %lld MiB, fsync %s, snapshot every %lld txns, zstd level %lld, "
               "keep %lld snapshots, CRC32C by %s",
               s->dir, (long long)(s->set.segment_bytes / MIB), s->set.fsync ? "on" : "OFF",
               (long long)s->set.snapshot_every_txns, (long long)s->set.zstd_level, (long long)s->set.keep_snapshots,
               walf_crc32c_impl());
    if (!s->set.fsync)
        corral_log(CORRAL_LOG_WARN, SUB,
                   "fsync is off (modules.storage_file.fsync: false): acknowledged writes may be lost on a power "
                   "failure or OS crash");
    /* The spare segment: a size that can never fit is refused here, not at
     * the first write after ready; no room now only starts short of space. */
    if (wal_open_spare(s, err, errlen) < 0)
        goto fail;
    return s;
fail:
    sf_close(s);
    return NULL;
}

/* ---- append ------------------------------------------------------------- */

static int sf_append(void *store, const CorralTxnRecord *recs, size_t n, char *err, size_t errlen)
{
    Store *s = store;
    if (!s->recovered) {
        sfmt(err, errlen, "storage_file: append before recover");
        return -1;
    }
    if (n == 0)
        return 0;
    size_t bytes = 0;
    int64_t prev = s->appended_zxid;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].zxid <= prev) {
            sfmt(err, errlen, "storage_file: zxid 0x%" PRIx64 " does not follow 0x%" PRIx64,
                     (uint64_t)recs[i].zxid, (uint64_t)prev);
            return -1;
        }
        if (recs[i].len > WALF_MAX_RECORD) {
            sfmt(err, errlen, "storage_file: transaction 0x%" PRIx64 " is %zu bytes, above the %u-byte limit",
                     (uint64_t)recs[i].zxid, recs[i].len, WALF_MAX_RECORD);
            return -1;
        }
        prev = recs[i].zxid;
        bytes += WALF_REC_HEADER_SIZE + recs[i].len;
    }
    pthread_mutex_lock(&s->mu);
    /* Backpressure: a backlog above max_backlog_bytes waits (on the loop
     * thread) until the writer takes it, i.e. at most one write + fsync.
     * Not while the writer waits for disk space: that wait has no bound,
     * and the core then only sends what shrinks the tree (deletes, closed
     * and expired sessions), whose records cost about the memory they
     * free. */
    while (s->pending.len && s->pending.len + bytes > (size_t)s->set.max_backlog_bytes && !s->failed &&
           !s->writer_done && !s->space_stalled) {
        int64_t now = mono_ms();
        corral_metric_inc(M.backpressure);
        if (now - s->last_backlog_warn_ms > 10000) {
            s->last_backlog_warn_ms = now;
            corral_log(CORRAL_LOG_WARN, SUB,
                       "WAL backlog of %zu bytes is above max_backlog_bytes (%lld): the disk is slower than the "
                       "writes; waiting for it",
                       s->pending.len + bytes, (long long)s->set.max_backlog_bytes);
        }
        pthread_cond_wait(&s->cv_space, &s->mu);
    }
    if (s->failed || s->writer_done) {
        sfmt(err, errlen, "storage_file: %s", s->failed ? s->why : "the WAL writer has stopped");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (buf_reserve(&s->pending, bytes) < 0) {
        pthread_mutex_unlock(&s->mu);
        sfmt(err, errlen, "storage_file: out of memory queueing %zu bytes", bytes);
        return -1;
    }
    unsigned char *p = s->pending.p + s->pending.len;
    for (size_t i = 0; i < n; i++) {
        /* CRC and write-unit offset are filled in by the writer. */
        memset(p, 0, WALF_REC_HEADER_SIZE);
        walf_put32(p + 4, (uint32_t)recs[i].len);
        walf_put64(p + 8, (uint64_t)recs[i].zxid);
        if (recs[i].len)
            memcpy(p + WALF_REC_HEADER_SIZE, recs[i].data, recs[i].len);
        p += WALF_REC_HEADER_SIZE + recs[i].len;
    }
    s->pending.len += bytes;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    s->appended_zxid = prev;
    return 0;
}

/* ---- close -------------------------------------------------------------- */

static void sf_close(void *store)
{
    Store *s = store;
    if (!s)
        return;
    if (s->writer_started) {
        /* The writer flushes and syncs everything appended, then ends. */
        pthread_mutex_lock(&s->mu);
        s->closing = 1;
        pthread_cond_broadcast(&s->cv_work);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->writer, NULL);
        if (!s->failed)
            corral_log(CORRAL_LOG_INFO, SUB, "WAL closed: durable up to zxid 0x%" PRIx64, (uint64_t)s->durable_zxid);
    }
    archive_stop(s);
    /* A snapshot in progress on the core's thread finishes first. */
    pthread_mutex_lock(&s->snap_mu);
    pthread_mutex_unlock(&s->snap_mu);
    if (s->watching)
        corral_loop_unwatch_fd(s->efd);
    if (s->efd >= 0)
        close(s->efd);
    if (s->seg_fd >= 0)
        close(s->seg_fd);
    if (s->spare_fd >= 0)
        close(s->spare_fd);     /* wal/spare.tmp stays: the next open takes it again */
    if (s->waldirfd >= 0)
        close(s->waldirfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    if (s->lockfd >= 0)
        close(s->lockfd);     /* releases the flock */
    if (s->wallockfd >= 0)
        close(s->wallockfd);
    free(s->pending.p);
    free(s->writing.p);
    free(s->segs);
    free(s->dir);
    free(s->waldir);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->snap_mu);
    pthread_cond_destroy(&s->cv_work);
    pthread_cond_destroy(&s->cv_space);
    pthread_cond_destroy(&s->cv_durable);
    pthread_cond_destroy(&s->cv_archive);
    free(s);
}

/* ---- registration ------------------------------------------------------- */

static const CorralStorage storage_file_def = {
    CORRAL_ABI_VERSION, sizeof(CorralStorage), "storage_file", sf_open, sf_recover, sf_append, sf_snapshot,
    sf_close, NULL, sf_truncate, {NULL}};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    g_set = default_settings;
    if (corral_config_apply(config, g_keys, &g_set) < 0)
        return -1;
    static const double ms_bounds[] = {0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    static const double n_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
    static const double snap_bounds[] = {10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000};
#define NB(a) ((int)(sizeof a / sizeof a[0]))
    M.fsync_ms = corral_metric_histogram("fsync_time_ms", "Time of one WAL fdatasync, in ms", ms_bounds, NB(ms_bounds));
    M.fsyncs = corral_metric_counter("fsyncs_total", "WAL fdatasync calls");
    M.wal_bytes = corral_metric_counter("wal_bytes_written", "Bytes written to the WAL");
    M.txns_per_fsync = corral_metric_histogram("txns_per_fsync", "Transactions made durable by one WAL fdatasync",
                                               n_bounds, NB(n_bounds));
    M.snap_ms = corral_metric_histogram("snapshot_time_ms", "Time to compress, write and sync a snapshot, in ms",
                                        snap_bounds, NB(snap_bounds));
    M.snap_size = corral_metric_gauge("snapshot_size_bytes", "Size on disk of the last snapshot written");
    M.snapshots = corral_metric_counter("snapshots_total", "Snapshots written");
    M.backpressure = corral_metric_counter("wal_backpressure_waits", "Appends that waited for the WAL writer");
    M.space_low = corral_metric_gauge("wal_space_low",
                                      "1 while the next WAL segment cannot be prepared for lack of disk space");
    M.space_failures = corral_metric_counter("wal_space_failures",
                                             "WAL preallocations and writes that failed for lack of space (retries "
                                             "included)");
    M.snapshot_failures = corral_metric_counter("snapshot_failures", "Snapshots not stored (disk full, I/O error)");
    M.archived = corral_metric_counter("wal_archived_segments", "WAL segments archived (archive_dir, archive_command)");
    M.archive_failures = corral_metric_counter("wal_archive_failures", "WAL archiving attempts that failed (retried)");
    M.archive_last_zxid = corral_metric_gauge("wal_archive_last_zxid", "Last zxid of the last WAL segment archived");
    M.archive_lag = corral_metric_gauge("wal_archive_lag_segments",
                                        "Completed WAL segments not archived yet (retention keeps them)");
#undef NB
    if (!M.archived || !M.archive_failures || !M.archive_last_zxid || !M.archive_lag)
        return corral_module_fail(self, "a metric name is already registered with another type");
    if (g_set.archive_dir && g_set.archive_command)
        return corral_module_fail(self, "set archive_dir or archive_command, not both");
    if (g_set.archive_timeout && !g_set.archive_dir && !g_set.archive_command)
        return corral_module_fail(self, "archive_timeout needs archive_dir or archive_command");
    if (!M.fsync_ms || !M.fsyncs || !M.wal_bytes || !M.txns_per_fsync || !M.snap_ms || !M.snap_size ||
        !M.snapshots || !M.backpressure || !M.space_low || !M.space_failures || !M.snapshot_failures)
        return corral_module_fail(self, "a metric name is already registered with another type");
    return corral_register_storage(self, &storage_file_def);
}
