/*
 * src/modules/storage_file/storage_file.c: the durable storage backend of
 * corrald: a write-ahead log with group commit, zstd snapshots, crash
 * recovery and retention.  doc/storage.md is the design note; the file
 * formats are in wal_format.h, the writer thread in wal_writer.c, what the
 * two share in storage_file.h.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_file.h"
#include "recovery_plan.h"
#include "wal_format.h"

CORRAL_MODULE_MAGIC("storage_file", "0.1");

/* How long a snapshot waits for the WAL to catch up with its zxid. */
#define SNAPSHOT_WAL_WAIT_S 300

/* ---- settings (modules.storage_file) ------------------------------------ */

static const Settings default_settings = {1, 100000, 3, 3, 64 * MIB, 0, NULL, 64 * MIB};
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
    Store *s = calloc(1, sizeof *s);
    if (!s) {
        sfmt(err, errlen, "out of memory");
        return NULL;
    }
    s->set = g_set;
    s->env = *env;
    s->dirfd = s->waldirfd = s->lockfd = s->efd = s->seg_fd = s->spare_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->snap_mu, NULL);
    pthread_cond_init(&s->cv_space, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv_work, &ca);
    pthread_cond_init(&s->cv_durable, &ca);
    pthread_condattr_destroy(&ca);

    size_t dl = strlen(dir) + 5;
    s->dir = strdup(dir);
    s->waldir = malloc(dl);
    if (!s->dir || !s->waldir) {
        sfmt(err, errlen, "out of memory");
        goto fail;
    }
    sfmt(s->waldir, dl, "%s/wal", dir);
    if (mkdir_p(s->waldir, err, errlen) < 0)
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

/* ---- recovery ----------------------------------------------------------- */

/* Removes NAME.tmp files a crash left behind (a segment or snapshot being
 * created; never referenced by anything), but `keep` (the spare segment,
 * which open prepared). */
static void remove_tmp_files(const char *dirpath, int dfd, const char *prefix, const char *keep)
{
    DIR *d = opendir(dirpath);
    if (!d)
        return;
    struct dirent *e;
    int removed = 0;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0 && strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
            !(keep && strcmp(e->d_name, keep) == 0)) {
            if (unlinkat(dfd, e->d_name, 0) == 0) {
                corral_log(CORRAL_LOG_INFO, SUB, "removed %s/%s left by an interrupted write", dirpath, e->d_name);
                removed = 1;
            }
        }
    }
    closedir(d);
    if (removed)
        fsync(dfd);
}

/* Cuts a segment at `off` (dropping everything after), restores its
 * preallocation and syncs it. */
static int truncate_segment(Store *s, const char *name, uint64_t off, char *err, size_t errlen)
{
    char path[PATH_MAX];
    sfmt(path, sizeof path, "%s/%s", s->waldir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)off) < 0) {
        sfmt(err, errlen, "cannot truncate WAL segment %s at offset %" PRIu64 ": %s", path, off, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (off < (uint64_t)s->set.segment_bytes)
        (void)fallocate(fd, 0, (off_t)off, (off_t)((uint64_t)s->set.segment_bytes - off));
    if (fsync(fd) < 0) {
        sfmt(err, errlen, "fsync of WAL segment %s failed: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* accept_truncation: segments [from, to) are set aside as NAME.discarded
 * (kept for forensics, never read again). */
static int discard_segments(Store *s, const RpDir *d, size_t from, size_t to, char *err, size_t errlen)
{
    for (size_t i = from; i < to; i++) {
        char dst[RP_NAME_MAX + 16];
        sfmt(dst, sizeof dst, "%s.discarded", d->segs[i].name);
        if (renameat(s->waldirfd, d->segs[i].name, s->waldirfd, dst) < 0) {
            sfmt(err, errlen, "cannot rename %s/%s: %s", s->waldir, d->segs[i].name, strerror(errno));
            return -1;
        }
        corral_log(CORRAL_LOG_ERROR, SUB,
                   "accept_truncation: WAL segment %s/%s (records from zxid 0x%" PRIx64 ") is discarded; its "
                   "transactions are LOST (kept as %s for inspection)",
                   s->waldir, d->segs[i].name, (uint64_t)d->segs[i].first, dst);
    }
    if (from < to)
        fsync(s->waldirfd);
    return 0;
}

typedef struct Replay {
    const CorralRecoverySink *sink;
    char *err;
    size_t errlen;
} Replay;

static int replay_record(void *ctx, const WalfRecord *rec, const char *path)
{
    Replay *r = ctx;
    CorralTxnRecord tr = {rec->zxid, rec->data, rec->len};
    if (r->sink->record(r->sink->ctx, &tr) < 0) {
        rp_apply_failed_msg(r->err, r->errlen, rec->zxid, path, rec->offset, NULL);
        return -1;
    }
    return 0;
}

/* Recovery: recovery_plan.c decides (rp_plan), this carries the plan out,
 * in the order the plan lists: corrupt snapshots set aside, segments set
 * aside by accept_truncation before loading, the snapshot loaded, the
 * records replayed, then the cut (a torn tail, or damage accepted), the
 * later segments set aside, an empty last segment removed, and the writer
 * started where the log ends. */
static int sf_recover(void *store, const CorralRecoverySink *sink, char *err, size_t errlen)
{
    Store *s = store;
    int rc = -1;
    char path[PATH_MAX], line[RP_LOG_MAX];
    RpFiles files = {NULL, 0};

    if (s->recovered) {
        sfmt(err, errlen, "recover was already called");
        return -1;
    }
    if (!sink || !sink->record) {
        sfmt(err, errlen, "no recovery sink");
        return -1;
    }
    RpDir *d = calloc(1, sizeof *d);
    RpPlan *p = malloc(sizeof *p);
    if (!d || !p) {
        sfmt(err, errlen, "out of memory");
        goto out;
    }
    remove_tmp_files(s->dir, s->dirfd, "snapshot.", NULL);
    remove_tmp_files(s->waldir, s->waldirfd, "", WAL_SPARE);
    rp_dir_list(d, s->dir);
    RpReader reader = rp_file_reader(&files);
    rp_plan(d, &reader, s->set.accept_truncation, p);

    for (size_t i = 0; i < d->nsnaps; i++) {
        if (!d->snaps[i].set_aside)
            continue;
        char to[PATH_MAX + 16];
        rp_corrupt_snapshot_msg(line, sizeof line, d->dir, &d->snaps[i], 0);
        corral_log(CORRAL_LOG_ERROR, SUB, "%s", line);
        sfmt(path, sizeof path, "%s/%s", s->dir, d->snaps[i].name);
        sfmt(to, sizeof to, "%s.corrupt", path);
        if (rename(path, to) == 0)
            fsync(s->dirfd);
    }
    if (p->verdict == RP_REFUSE_EARLY) {
        sfmt(err, errlen, "%s", p->message);
        goto out;
    }
    size_t acc = 0;
    if (p->naccepted && (p->accepted[0].kind == RP_CUT_GAP || p->accepted[0].kind == RP_CUT_LISTING)) {
        corral_log(CORRAL_LOG_ERROR, SUB, "%s", p->accepted[0].log);
        if (discard_segments(s, d, p->discard_early, d->nsegs, err, errlen) < 0)
            goto out;
        acc = 1;
    }

    /* The snapshot, then every record after it. */
    if (p->snap >= 0) {
        if (!sink->snapshot) {
            sfmt(err, errlen, "a snapshot exists but the server gave no way to load it");
            goto out;
        }
        if (sink->snapshot(sink->ctx, p->snap_zxid, files.snap_data, files.snap_len) < 0) {
            sfmt(path, sizeof path, "%s/%s", s->dir, d->snaps[p->snap].name);
            rp_load_failed_msg(err, errlen, path, NULL);
            goto out;
        }
        rp_files_free(&files);
    }
    uint64_t replayed = 0;
    Replay ctx = {sink, err, errlen};
    if (rp_replay(d, p, replay_record, &ctx, &replayed, err, errlen) < 0)
        goto out;
    if (p->verdict == RP_REFUSE_LATE) {
        sfmt(err, errlen, "%s", p->message);
        goto out;
    }

    /* How the WAL ends. */
    if (p->torn) {
        sfmt(path, sizeof path, "%s/%s", s->waldir, d->segs[p->end - 1].name);
        rp_torn_msg(line, sizeof line, path, &p->stop, "dropped");
        corral_log(CORRAL_LOG_WARN, SUB, "%s", line);
        if (truncate_segment(s, d->segs[p->end - 1].name, p->stop_off, err, errlen) < 0)
            goto out;
    }
    if (acc < p->naccepted) {
        corral_log(CORRAL_LOG_ERROR, SUB, "%s", p->accepted[acc].log);
        if (p->cut && truncate_segment(s, d->segs[p->end - 1].name, p->stop_off, err, errlen) < 0)
            goto out;
        if (discard_segments(s, d, p->discard_late, p->discard_early, err, errlen) < 0)
            goto out;
    }
    /* A last segment holding no record is removed (it was being started
     * when the server stopped).  Segments before the replay start stay
     * until retention removes them (an older snapshot may need them). */
    if (p->remove_empty) {
        const char *name = d->segs[p->kept].name;
        if (unlinkat(s->waldirfd, name, 0) < 0) {
            sfmt(err, errlen, "cannot remove empty WAL segment %s/%s: %s", s->waldir, name, strerror(errno));
            goto out;
        }
        fsync(s->waldirfd);
        corral_log(CORRAL_LOG_INFO, SUB, "removed WAL segment %s/%s: it holds no record", s->waldir, name);
    }

    /* The writer continues where the plan says. */
    s->segs = calloc(p->kept ? p->kept : 1, sizeof *s->segs);
    if (!s->segs) {
        sfmt(err, errlen, "out of memory");
        goto out;
    }
    s->capsegs = p->kept ? p->kept : 1;
    for (size_t i = 0; i < p->kept; i++) {
        const RpSeg *g = &d->segs[i];
        s->segs[s->nsegs++] = (SegInfo){g->seq, g->first, g->hdr == RP_OK ? g->h.prev_zxid : INT64_MAX};
    }
    s->next_seq = p->next_seq;
    s->last_logged = p->last_logged;
    if (p->reopen) {
        sfmt(path, sizeof path, "%s/%s", s->waldir, d->segs[p->kept - 1].name);
        s->seg_fd = open(path, O_RDWR | O_CLOEXEC);
        if (s->seg_fd < 0) {
            sfmt(err, errlen, "cannot open WAL segment %s: %s", path, strerror(errno));
            goto out;
        }
        struct stat stt;
        if (fstat(s->seg_fd, &stt) == 0 && (uint64_t)stt.st_size < (uint64_t)s->set.segment_bytes)
            (void)fallocate(s->seg_fd, 0, stt.st_size, (off_t)(s->set.segment_bytes - stt.st_size));
        sfmt(s->seg_name, sizeof s->seg_name, "%s", d->segs[p->kept - 1].name);
        s->seg_off = p->tail_off;
        s->seg_records = p->tail_records;
    }
    int64_t top = p->last_zxid;
    s->durable_zxid = s->appended_zxid = s->reported_zxid = top;
    s->since_snapshot = replayed;
    if (wal_start_writer(s, err, errlen) < 0)
        goto out;
    s->recovered = 1;
    if (p->snap >= 0)
        corral_log(CORRAL_LOG_INFO, SUB,
                   "recovered from %s: snapshot at zxid 0x%" PRIx64 ", then %" PRIu64 " WAL records; last zxid 0x%" PRIx64,
                   s->dir, (uint64_t)p->snap_zxid, replayed, (uint64_t)top);
    else
        corral_log(CORRAL_LOG_INFO, SUB, "recovered from %s: no snapshot, %" PRIu64 " WAL records; last zxid 0x%" PRIx64,
                   s->dir, replayed, (uint64_t)top);
    /* Out of space since open: the core refuses writes from the start and
     * serves reads (and clears what a previous store reported). */
    wal_report_space(s);
    rc = 0;
out:
    rp_files_free(&files);
    if (d)
        rp_dir_free(d);
    free(d);
    free(p);
    return rc;
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
        wr32(p + 4, (uint32_t)recs[i].len);
        wr64(p + 8, (uint64_t)recs[i].zxid);
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

/* ---- snapshots and retention ------------------------------------------- */

/* Keeps the newest keep_snapshots snapshots and the WAL segments that an
 * older kept snapshot still needs; deletes the rest, oldest first (a crash
 * half way never leaves a hole in the log). */
static void retention(Store *s)
{
    char err[256];
    RpSnap *snaps = NULL;
    size_t n = 0;
    if (rp_list_snapshots(s->dir, &snaps, &n, NULL, NULL, err, sizeof err) < 0) {
        corral_log(CORRAL_LOG_WARN, SUB, "retention skipped: %s", err);
        return;
    }
    size_t keep = (size_t)s->set.keep_snapshots;
    int removed = 0;
    for (size_t i = keep; i < n; i++) {
        if (unlinkat(s->dirfd, snaps[i].name, 0) == 0) {
            removed = 1;
            corral_log(CORRAL_LOG_INFO, SUB, "retention: removed snapshot %s/%s", s->dir, snaps[i].name);
        } else {
            corral_log(CORRAL_LOG_WARN, SUB, "retention: cannot remove %s/%s: %s", s->dir, snaps[i].name,
                       strerror(errno));
        }
    }
    if (removed)
        fsync(s->dirfd);
    if (n == 0) {
        free(snaps);
        return;
    }
    int64_t oldest = snaps[(n < keep ? n : keep) - 1].zxid;
    free(snaps);

    /* Segment i is not needed when segment i+1 starts at or before the
     * oldest kept snapshot.  The last segment is never removed. */
    pthread_mutex_lock(&s->mu);
    size_t k = 0;
    while (k + 1 < s->nsegs && s->segs[k + 1].prev_zxid <= oldest)
        k++;
    SegInfo *drop = NULL;
    if (k) {
        drop = malloc(k * sizeof *drop);
        if (drop) {
            memcpy(drop, s->segs, k * sizeof *drop);
            memmove(s->segs, s->segs + k, (s->nsegs - k) * sizeof *s->segs);
            s->nsegs -= k;
        } else {
            k = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < k; i++) {
        char name[40];
        walf_seg_name(name, sizeof name, drop[i].seq, drop[i].first_zxid);
        if (unlinkat(s->waldirfd, name, 0) == 0)
            corral_log(CORRAL_LOG_INFO, SUB, "retention: removed WAL segment %s/%s", s->waldir, name);
        else if (errno != ENOENT)
            corral_log(CORRAL_LOG_WARN, SUB, "retention: cannot remove %s/%s: %s", s->waldir, name, strerror(errno));
    }
    if (k)
        fsync(s->waldirfd);
    free(drop);
}

static int sf_snapshot(void *store, int64_t last_zxid, const void *data, size_t len, char *err, size_t errlen)
{
    Store *s = store;
    if (!s->recovered) {
        sfmt(err, errlen, "storage_file: snapshot before recover");
        return -1;
    }
    pthread_mutex_lock(&s->snap_mu);
    double t0 = mono_ms_f();
    int rc = -1, e = 0;
    char what[PATH_MAX + 320];

    /* A snapshot is published only once the WAL holds every record up to
     * its zxid: the WAL alone can then always rebuild any state from an
     * older snapshot, which is what makes falling back safe.  A writer that
     * waits for disk space will not get there soon: no waiting then. */
    pthread_mutex_lock(&s->mu);
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += SNAPSHOT_WAL_WAIT_S;
    while (s->durable_zxid < last_zxid && !s->failed && !s->writer_done && !s->space_stalled)
        if (pthread_cond_timedwait(&s->cv_durable, &s->mu, &dl) == ETIMEDOUT)
            break;
    int64_t durable = s->durable_zxid;
    int stalled = s->space_stalled;
    pthread_mutex_unlock(&s->mu);
    if (durable < last_zxid) {
        sfmt(what, sizeof what, "snapshot at zxid 0x%" PRIx64 " not stored: the WAL is durable only up to zxid 0x%" PRIx64
             "%s", (uint64_t)last_zxid, (uint64_t)durable, stalled ? " (its writer waits for disk space)" : "");
        goto out;
    }

    char name[64], tmp[64], path[PATH_MAX];
    walf_snap_name(name, sizeof name, last_zxid, "zst");
    walf_snap_name(tmp, sizeof tmp, last_zxid, "tmp");
    int fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        e = errno;
        sfmt(what, sizeof what, "cannot create %s/%s: %s", s->dir, tmp, strerror(e));
        goto out;
    }
    uint64_t size = 0;
    char why[256];
    if (walf_snapshot_write(fd, last_zxid, data, len, (int)s->set.zstd_level, &size, why, sizeof why) < 0) {
        e = errno;
        sfmt(what, sizeof what, "writing %s/%s: %s", s->dir, tmp, why);
        close(fd);
        unlinkat(s->dirfd, tmp, 0);
        goto out;
    }
    /* Snapshots are synced even with fsync: false: they are rare, and a
     * renamed but empty file would cost a fallback at the next start.  A
     * failed fsync drops the file (it is never retried nor published). */
    if (fsync(fd) < 0) {
        e = errno;
        sfmt(what, sizeof what, "fsync of %s/%s failed: %s", s->dir, tmp, strerror(e));
        close(fd);
        unlinkat(s->dirfd, tmp, 0);
        goto out;
    }
    close(fd);
    if (renameat(s->dirfd, tmp, s->dirfd, name) < 0 || fsync(s->dirfd) < 0) {
        e = errno;
        sfmt(what, sizeof what, "cannot publish %s/%s: %s", s->dir, name, strerror(e));
        unlinkat(s->dirfd, tmp, 0);
        goto out;
    }
    double ms = mono_ms_f() - t0;
    corral_metric_observe(M.snap_ms, ms);
    corral_metric_set(M.snap_size, (int64_t)size);
    corral_metric_inc(M.snapshots);
    sfmt(path, sizeof path, "%s/%s", s->dir, name);
    corral_log(CORRAL_LOG_INFO, SUB, "snapshot %s stored: %zu bytes, %" PRIu64 " compressed (zstd %lld), %.0f ms", path,
               len, size, (long long)s->set.zstd_level, ms);
    retention(s);
    rc = 0;
out:
    pthread_mutex_unlock(&s->snap_mu);
    if (rc < 0) {
        /* Nothing was deleted (retention runs only after a stored
         * snapshot), and the WAL still holds every record: the next
         * request tries again. */
        corral_metric_inc(M.snapshot_failures);
        if (e == ENOSPC || e == EDQUOT)
            sfmt(err, errlen,
                 "storage_file: snapshot at zxid 0x%" PRIx64 " skipped for lack of space (%s); the WAL still holds "
                 "every transaction", (uint64_t)last_zxid, what);
        else
            sfmt(err, errlen, "storage_file: %s", what);
    }
    return rc;
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
    free(s);
}

/* ---- truncation (ensemble TRUNC) ----------------------------------------- */

/* Cuts the log after zxid, with the writer idle (caller holds mu and
 * snap_mu): whole segments that start after zxid are deleted, the segment
 * that holds zxid is cut after it.  The next write continues that segment
 * when it is the open one, else starts the next number. */
static int cut_log(Store *s, int64_t zxid, int64_t *last_out, char *err, size_t errlen)
{
    size_t i = s->nsegs;
    while (i > 0 && s->segs[i - 1].first_zxid > zxid)
        i--;
    uint64_t cur_seq = s->seg_fd >= 0 ? s->next_seq - 1 : 0;
    int64_t last = i < s->nsegs ? s->segs[i].prev_zxid : s->last_logged;
    for (size_t k = s->nsegs; k-- > i;) {
        char name[40];
        walf_seg_name(name, sizeof name, s->segs[k].seq, s->segs[k].first_zxid);
        if (s->seg_fd >= 0 && s->segs[k].seq == cur_seq) {
            close(s->seg_fd);
            s->seg_fd = -1;
        }
        if (unlinkat(s->waldirfd, name, 0) < 0 && errno != ENOENT) {
            sfmt(err, errlen, "cannot remove WAL segment %s/%s: %s", s->waldir, name, strerror(errno));
            return -1;
        }
        corral_log(CORRAL_LOG_INFO, SUB, "truncate: WAL segment %s removed (starts after zxid 0x%" PRIx64 ")", name,
                   (uint64_t)zxid);
    }
    if (i < s->nsegs)
        s->next_seq = s->segs[i].seq;
    if (i > 0) {
        SegInfo *g = &s->segs[i - 1];
        char name[40], path[PATH_MAX], why[256];
        walf_seg_name(name, sizeof name, g->seq, g->first_zxid);
        sfmt(path, sizeof path, "%s/%s", s->waldir, name);
        WalfSegment seg;
        if (walf_seg_open(&seg, path, why, sizeof why) < 0) {
            sfmt(err, errlen, "cannot read WAL segment %s: %s", path, why);
            return -1;
        }
        WalfIter it;
        walf_iter_init(&it, &seg);
        WalfRecord rec;
        WalfStop stop;
        uint64_t cut = 0, kept = 0;
        int cutting = 0;
        last = g->prev_zxid;
        while (walf_iter_next(&it, &rec, &stop) == 1) {
            if (rec.zxid > zxid) {
                cut = rec.offset;
                cutting = 1;
                break;
            }
            last = rec.zxid;
            kept++;
        }
        walf_seg_close(&seg);
        if (cutting) {
            if (truncate_segment(s, name, cut, err, errlen) < 0)
                return -1;
            if (s->seg_fd >= 0 && g->seq == cur_seq) {
                s->seg_off = cut;
                s->seg_records = kept;
            }
            corral_log(CORRAL_LOG_INFO, SUB, "truncate: WAL segment %s cut after zxid 0x%" PRIx64, name,
                       (uint64_t)last);
        }
    }
    s->nsegs = i;
    s->last_logged = last;
    /* Snapshots after zxid hold the effect of the records dropped: they go
     * too (recovery would prefer them, being the newest). */
    RpSnap *snaps = NULL;
    size_t nsnaps = 0;
    if (rp_list_snapshots(s->dir, &snaps, &nsnaps, NULL, NULL, err, errlen) < 0)
        return -1;
    int removed = 0;
    for (size_t k = 0; k < nsnaps; k++)
        if (snaps[k].zxid > zxid) {
            if (unlinkat(s->dirfd, snaps[k].name, 0) < 0 && errno != ENOENT) {
                sfmt(err, errlen, "cannot remove snapshot %s/%s: %s", s->dir, snaps[k].name, strerror(errno));
                free(snaps);
                return -1;
            }
            corral_log(CORRAL_LOG_INFO, SUB, "truncate: snapshot %s removed (after zxid 0x%" PRIx64 ")",
                       snaps[k].name, (uint64_t)zxid);
            removed = 1;
        }
    free(snaps);
    if (removed && fsync(s->dirfd) < 0) {
        sfmt(err, errlen, "fsync of directory %s failed: %s", s->dir, strerror(errno));
        return -1;
    }
    if (s->set.fsync && fsync(s->waldirfd) < 0) {
        sfmt(err, errlen, "fsync of directory %s failed: %s", s->waldir, strerror(errno));
        return -1;
    }
    *last_out = last;
    return 0;
}

/* Drops every record with zxid > zxid, and makes the log end at zxid
 * (CorralStorage.truncate).  Loop thread, rare, while the member serves
 * nobody: waits until the writer has made everything appended durable,
 * then cuts with the writer idle. */
static int sf_truncate(void *store, int64_t zxid, char *err, size_t errlen)
{
    Store *s = store;
    if (!s->recovered) {
        sfmt(err, errlen, "storage_file: truncate before recover");
        return -1;
    }
    pthread_mutex_lock(&s->snap_mu);
    pthread_mutex_lock(&s->mu);
    while ((s->pending.len || s->durable_zxid < s->appended_zxid) && !s->failed && !s->writer_done &&
           !s->space_stalled)
        pthread_cond_wait(&s->cv_durable, &s->mu);
    int rc = -1;
    if (s->failed || s->writer_done) {
        sfmt(err, errlen, "storage_file: %s", s->failed ? s->why : "the WAL writer has stopped");
    } else if (s->space_stalled) {
        /* The writer holds records it cannot write: waiting here would
         * block the loop thread for as long as the disk stays full. */
        sfmt(err, errlen, "storage_file: cannot truncate while the WAL writer waits for disk space (%s)",
             s->space_why);
    } else {
        int64_t last = s->last_logged;
        rc = cut_log(s, zxid, &last, err, errlen);
        if (rc == 0) {
            /* The log now ends at zxid: the next record follows it, and a
             * snapshot at zxid (the leader's state) may be stored at once. */
            s->durable_zxid = s->reported_zxid = s->appended_zxid = zxid;
            if (zxid > s->last_logged) {
                /* A forward jump (SNAP install): the transactions between
                 * the last record and zxid exist only in the snapshot about
                 * to be stored.  The next record starts a new segment whose
                 * header chains to zxid, so a recovery that cannot use that
                 * snapshot (damaged) finds the hole in the segment chain
                 * and refuses to start, instead of replaying the older
                 * snapshot and WAL across the gap. */
                if (s->seg_fd >= 0) {
                    close(s->seg_fd);
                    s->seg_fd = -1;
                }
                s->last_logged = zxid;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->snap_mu);
    return rc;
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
#undef NB
    if (!M.fsync_ms || !M.fsyncs || !M.wal_bytes || !M.txns_per_fsync || !M.snap_ms || !M.snap_size ||
        !M.snapshots || !M.backpressure || !M.space_low || !M.space_failures || !M.snapshot_failures)
        return corral_module_fail(self, "a metric name is already registered with another type");
    return corral_register_storage(self, &storage_file_def);
}
