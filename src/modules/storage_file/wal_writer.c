/*
 * src/modules/storage_file/wal_writer.c: the WAL writer thread of
 * storage_file (group commit) and the loop thread's side of its hand-off.
 *
 * The writer takes the whole of `pending` at once, writes it to the current
 * segment (one pwrite per write unit), fdatasyncs, publishes the new
 * durable zxid and pokes the eventfd; the loop thread's callback reports
 * `durable` / `failed` / `request_snapshot` to the core.  While it syncs,
 * appends pile up in `pending` and the next sync covers all of them.
 * See doc/storage.md, "The write path".
 *
 * Disk space ("Disk full" there): the writer keeps the next segment
 * preallocated ahead (wal/spare.tmp) and prepares a new one right after it
 * puts the spare into use, so a lack of space is seen while a whole segment
 * of room remains.  Without room it records why (set_space; the loop thread
 * passes it on with env->space) and tries again every second; with records
 * and nowhere to write them it waits, the records queued.  ENOSPC/EDQUOT
 * are never fatal; every other error, and every fdatasync error, is.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "storage_file.h"
#include "wal_format.h"

/* ---- failure and notification ------------------------------------------- */

static void notify(Store *s)
{
    uint64_t one = 1;
    ssize_t r = write(s->efd, &one, sizeof one);
    (void)r;   /* EAGAIN only if the counter is about to overflow: already signalled */
}

static void set_failed_locked(Store *s, const char *why)
{
    if (!s->failed) {
        s->failed = 1;
        sfmt(s->why, sizeof s->why, "%s", why);
        corral_log(CORRAL_LOG_ERROR, SUB, "%s", why);
    }
    pthread_cond_broadcast(&s->cv_space);
    pthread_cond_broadcast(&s->cv_durable);
}

/* Runs on the loop thread when the writer poked the eventfd. */
void wal_on_writer_event(int fd, int events, void *arg)
{
    Store *s = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&s->mu);
    int64_t z = s->durable_zxid;
    uint64_t cnt = s->durable_count;
    int failed = s->failed;
    char why[sizeof s->why];
    memcpy(why, s->why, sizeof why);
    pthread_mutex_unlock(&s->mu);
    if (failed) {
        /* Nothing more is ever reported durable: the core must stop. */
        if (!s->fail_reported) {
            s->fail_reported = 1;
            if (s->env.failed)
                s->env.failed(s->env.ctx, why);
        }
        return;
    }
    wal_report_space(s);
    if (z > s->reported_zxid) {
        s->reported_zxid = z;
        s->env.durable(s->env.ctx, z);
    }
    s->since_snapshot += cnt - s->reported_count;
    s->reported_count = cnt;
    if (s->set.snapshot_every_txns > 0 && s->since_snapshot >= (uint64_t)s->set.snapshot_every_txns) {
        s->since_snapshot = 0;
        if (s->env.request_snapshot)
            s->env.request_snapshot(s->env.ctx);
    }
}

/* ---- disk space ------------------------------------------------------------ */

static int no_room(int e) { return e == ENOSPC || e == EDQUOT; }

/* Records that the WAL is short of room (why) or has room again (NULL), for
 * the loop thread to report with env->space (wal_report_space).  Each
 * transition is logged once. */
static void set_space(Store *s, const char *why)
{
    int changed = 0;
    pthread_mutex_lock(&s->mu);
    if (why) {
        if (!s->space_low) {
            s->space_low_since_ms = mono_ms();
            corral_metric_set(M.space_low, !s->gone);
            if (!s->gone)
                corral_log(CORRAL_LOG_WARN, SUB, "out of space for the WAL: %s; retrying every second", why);
        }
        if (!s->space_low || strcmp(s->space_why, why) != 0) {
            s->space_low = 1;
            sfmt(s->space_why, sizeof s->space_why, "%s", why);
            s->space_gen++;
            changed = 1;
        }
    } else if (s->space_low) {
        corral_log(CORRAL_LOG_INFO, SUB, "room for the WAL again after %.1f s: the next segment is ready (was: %s)",
                   (double)(mono_ms() - s->space_low_since_ms) / 1000.0, s->space_why);
        corral_metric_set(M.space_low, 0);
        s->space_low = 0;
        s->space_why[0] = '\0';
        s->space_gen++;
        changed = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (changed && s->efd >= 0)
        notify(s);
}

/* Loop thread: tells the core what set_space recorded, once per change
 * (and always the first time, so that a reopened store clears what the
 * previous one reported). */
void wal_report_space(Store *s)
{
    char why[sizeof s->space_why];
    pthread_mutex_lock(&s->mu);
    uint64_t gen = s->space_gen;
    int low = s->space_low;
    memcpy(why, s->space_why, sizeof why);
    pthread_mutex_unlock(&s->mu);
    if (s->space_reported && gen == s->space_reported_gen)
        return;
    s->space_reported = 1;
    s->space_reported_gen = gen;
    if (s->env.space)
        s->env.space(s->env.ctx, low ? why : NULL);
}

/* Creates wal/spare.tmp preallocated to segment_bytes, unless it is ready.
 * Its content stays zero: the header is written when it is put into use.
 * 0 ready, 1 no room (why), -1 another error (why). */
static int spare_create(Store *s, char *why, size_t whylen)
{
    if (s->spare_fd >= 0)
        return 0;
    int fd = openat(s->waldirfd, WAL_SPARE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        sfmt(why, whylen, "cannot create the next WAL segment %s/%s: %s", s->waldir, WAL_SPARE, strerror(e));
        if (no_room(e))
            corral_metric_inc(M.space_failures);
        return no_room(e) ? 1 : -1;
    }
    if (fallocate(fd, 0, 0, (off_t)s->set.segment_bytes) < 0) {
        int e = errno;
        if (e != EOPNOTSUPP && e != ENOSYS) {
            /* Give back whatever the attempt took. */
            close(fd);
            unlinkat(s->waldirfd, WAL_SPARE, 0);
            sfmt(why, whylen, "cannot preallocate %lld bytes for the next WAL segment %s/%s: %s",
                 (long long)s->set.segment_bytes, s->waldir, WAL_SPARE, strerror(e));
            if (no_room(e))
                corral_metric_inc(M.space_failures);
            return no_room(e) ? 1 : -1;
        }
        if (!s->no_prealloc) {
            s->no_prealloc = 1;
            corral_log(CORRAL_LOG_INFO, SUB, "the file system of %s cannot preallocate; WAL segments grow as written",
                       s->waldir);
        }
    }
    s->spare_fd = fd;
    return 0;
}

/* Whether the WAL has room for what the core may hand it: a spare segment
 * ready (preallocated), and on a file system that cannot preallocate, two
 * segments' worth of free space.  0 yes, 1 no (why), -1 an error (why). */
static int space_check(Store *s, char *why, size_t whylen)
{
    int r = spare_create(s, why, whylen);
    if (r != 0)
        return r;
    struct statvfs v;
    if (s->no_prealloc && fstatvfs(s->waldirfd, &v) == 0) {
        uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize, need = 2 * (uint64_t)s->set.segment_bytes;
        if (avail < need) {
            sfmt(why, whylen,
                 "the file system of %s cannot preallocate and has %" PRIu64 " bytes free, less than two WAL "
                 "segments (%" PRIu64 " bytes)", s->waldir, avail, need);
            corral_metric_inc(M.space_failures);
            return 1;
        }
    }
    return 0;
}

/* Loop thread, at open (the writer is not running): refuses a segment size
 * that can never be preallocated on this file system; otherwise prepares
 * the spare, or records that there is no room for it (the store then starts
 * short of space and reports it after recovery, so that reads work). */
int wal_open_spare(Store *s, char *err, size_t errlen)
{
    struct statvfs v;
    if (fstatvfs(s->waldirfd, &v) == 0) {
        uint64_t total = (uint64_t)v.f_blocks * v.f_frsize, need = 2 * (uint64_t)s->set.segment_bytes;
        if (total < need) {
            sfmt(err, errlen,
                 "WAL segments of %lld bytes (modules.storage_file.segment_bytes) do not fit on the file system of "
                 "%s: it holds %" PRIu64 " bytes in all, and the WAL needs room for two (the segment being written "
                 "and a spare)", (long long)s->set.segment_bytes, s->waldir, total);
            return -1;
        }
    }
    /* Checked here: past the limit, fallocate would raise SIGXFSZ, which
     * kills the process unless the signal is ignored. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)s->set.segment_bytes) {
        sfmt(err, errlen,
             "WAL segments of %lld bytes cannot be preallocated in %s: the file size limit of this process "
             "(ulimit -f, RLIMIT_FSIZE) is %llu bytes", (long long)s->set.segment_bytes, s->waldir,
             (unsigned long long)rl.rlim_cur);
        return -1;
    }
    char why[sizeof s->space_why];
    int r = space_check(s, why, sizeof why);
    if (r < 0) {
        sfmt(err, errlen, "WAL segments of %lld bytes cannot be preallocated in %s: %s",
             (long long)s->set.segment_bytes, s->waldir, why);
        return -1;
    }
    if (r > 0)
        set_space(s, why);
    return 0;
}

static int maintenance_wanted(const Store *s) { return s->spare_fd < 0 || s->no_prealloc || s->space_low; }

/* Writer, between batches: prepares the spare if there is none, checks the
 * free space on a file system that cannot preallocate, and reports room or
 * its lack.  At most once a second unless a segment was just put into use.
 * 0, or -1 (why) on an error that is not a lack of space. */
static int maintain_space(Store *s, char *why, size_t whylen)
{
    if (!maintenance_wanted(s) || mono_ms() < s->next_space_try_ms)
        return 0;
    char msg[sizeof s->space_why];
    int r = space_check(s, msg, sizeof msg);
    if (r < 0) {
        sfmt(why, whylen, "%s", msg);
        return -1;
    }
    s->next_space_try_ms = mono_ms() + SPACE_RETRY_MS;
    set_space(s, r ? msg : NULL);
    return 0;
}

/* Writer, holding records it cannot write for lack of room: says so, waits
 * a second (or until close), and tells whether to try again (0) or to give
 * up because the store is closing (-1). */
static int wait_for_room(Store *s, const char *why)
{
    set_space(s, why);
    pthread_mutex_lock(&s->mu);
    if (!s->space_stalled) {
        s->space_stalled = 1;
        /* A snapshot or truncation waiting for these records stops waiting. */
        pthread_cond_broadcast(&s->cv_durable);
        pthread_cond_broadcast(&s->cv_space);
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += SPACE_RETRY_MS / 1000;
    while (!s->closing && !s->failed)
        if (pthread_cond_timedwait(&s->cv_work, &s->mu, &dl) == ETIMEDOUT)
            break;
    int rc = s->closing || s->failed ? -1 : 0;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void unstall(Store *s)
{
    pthread_mutex_lock(&s->mu);
    s->space_stalled = 0;
    pthread_mutex_unlock(&s->mu);
}

/* ---- storage that disappears ---------------------------------------------- */

/* Whether the files the writer writes are still the data directory's: the
 * open segment still has a link, and DIR and DIR/wal still name the
 * directories opened at start (not removed, not moved away or replaced).
 * An `rm -rf` of the data directory under a running server otherwise goes
 * unnoticed until the next segment: writes land in deleted files and are
 * acknowledged, and the restart finds nothing.  1 gone (why), 0 fine. */
static int storage_gone(Store *s, char *why, size_t whylen)
{
    struct stat st, at;
    if (s->seg_fd >= 0 && fstat(s->seg_fd, &st) == 0 && st.st_nlink == 0) {
        sfmt(why, whylen, "WAL segment %s/%s was removed", s->waldir, s->seg_name);
        return 1;
    }
    const struct {
        int fd;
        const char *path;
    } dirs[] = {{s->dirfd, s->dir}, {s->waldirfd, s->waldir}};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (fstat(dirs[i].fd, &st) < 0)
            continue;
        if (st.st_nlink == 0 || stat(dirs[i].path, &at) < 0 || at.st_ino != st.st_ino || at.st_dev != st.st_dev) {
            sfmt(why, whylen, "directory %s was removed or replaced under the running server", dirs[i].path);
            return 1;
        }
    }
    return 0;
}

/* Writer: the storage is gone (why: what).  Nothing more is acknowledged,
 * ever (the records in hand went to deleted files at best).  By default the
 * server stays up, the core told through env->space: it refuses writes, and
 * since every reply waits behind the unacknowledged records, clients get
 * nothing more; but the data acknowledged so far, which now exists only in
 * this process's memory, can still be streamed out with the admin
 * `snapshot` command before the operator restarts it.  Exiting would lose
 * it.  With exit_on_storage_lost (an ensemble member: the others have the
 * data, and a hung leader is worse than an election) the store fails: the
 * core exits at once.  -1 (fail; why rewritten), or -2 at close (what is
 * left was never acknowledged). */
static int wait_gone(Store *s, char *why, size_t whylen)
{
    char msg[sizeof s->space_why];
    if (s->set.exit_on_storage_lost) {
        sfmt(msg, sizeof msg, "storage lost: %s; exiting without acknowledging more (exit_on_storage_lost)", why);
        sfmt(why, whylen, "%s", msg);
        return -1;
    }
    sfmt(msg, sizeof msg,
         "storage lost: %s; nothing more is acknowledged (writes refused until restart); the data acknowledged so "
         "far is only in this process's memory: stream it out now (corralctl snapshot -s HOST:ADMIN_PORT "
         "--unacknowledged) "
         "before restarting the server", why);
    pthread_mutex_lock(&s->mu);
    int first = !s->gone;
    s->gone = 1;
    pthread_mutex_unlock(&s->mu);
    if (first)
        corral_log(CORRAL_LOG_ERROR, SUB, "%s", msg);
    sfmt(why, whylen, "%s", msg);
    for (;;)
        if (wait_for_room(s, msg) < 0)
            return -2;
}

/* ---- the writer thread ---------------------------------------------------- */

/* The open segment is complete (full, or archive_timeout): closed, and
 * the archiver may take it. */
static void segment_done(Store *s)
{
    close(s->seg_fd);
    s->seg_fd = -1;
    pthread_mutex_lock(&s->mu);
    s->open_seq = 0;
    pthread_cond_broadcast(&s->cv_archive);
    pthread_mutex_unlock(&s->mu);
}

/* archive_timeout: a segment holding records, open that long, is completed
 * so that it is archived; the next record starts a new one. */
static void archive_timeout_check(Store *s)
{
    if (s->set.archive_timeout > 0 && s->seg_fd >= 0 && s->seg_records > 0 &&
        mono_ms() - s->seg_opened_ms >= s->set.archive_timeout * 1000) {
        corral_log(CORRAL_LOG_DEBUG, SUB, "archive_timeout: WAL segment %s completed after %lld s", s->seg_name,
                   (long long)s->set.archive_timeout);
        segment_done(s);
    }
}

static void publish_durable(Store *s, int64_t zxid, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    s->durable_zxid = zxid;
    s->durable_count += n;
    pthread_cond_broadcast(&s->cv_durable);
    pthread_mutex_unlock(&s->mu);
    notify(s);
}

/* Puts the spare into use as the next segment: its header is written and
 * synced, then it is renamed to its segment name and the directory synced,
 * so a segment under its final name always has a complete header.
 * 0, 1 no room (why), -1 another error (why). */
static int use_spare(Store *s, int64_t first_zxid, char *why, size_t whylen)
{
    char name[40];
    uint64_t seq = s->next_seq;
    walf_seg_name(name, sizeof name, seq, first_zxid);
    WalfSegHeader h = {WALF_VERSION, seq, first_zxid, s->last_logged, (uint32_t)s->set.segment_bytes};
    unsigned char hdr[WALF_SEG_HEADER_SIZE];
    walf_seg_header_encode(hdr, &h);
    if (walf_pwrite_all(s->spare_fd, hdr, sizeof hdr, 0) < 0) {
        int e = errno;
        sfmt(why, whylen, "cannot write the header of WAL segment %s/%s (%s): %s", s->waldir, WAL_SPARE, name,
             strerror(e));
        return no_room(e) ? 1 : -1;
    }
    if (s->set.fsync && fsync(s->spare_fd) < 0) {
        sfmt(why, whylen, "fsync of new WAL segment %s/%s (%s) failed: %s", s->waldir, WAL_SPARE, name,
             strerror(errno));
        return -1;
    }
    if (renameat(s->waldirfd, WAL_SPARE, s->waldirfd, name) < 0) {
        int e = errno;
        sfmt(why, whylen, "cannot rename %s/%s to %s: %s", s->waldir, WAL_SPARE, name, strerror(e));
        return no_room(e) ? 1 : -1;
    }
    if (s->set.fsync && fsync(s->waldirfd) < 0) {
        sfmt(why, whylen, "fsync of directory %s failed: %s", s->waldir, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    if (s->nsegs == s->capsegs) {
        size_t ncap = s->capsegs ? s->capsegs * 2 : 16;
        SegInfo *n = realloc(s->segs, ncap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&s->mu);
            sfmt(why, whylen, "out of memory");
            return -1;
        }
        s->segs = n;
        s->capsegs = ncap;
    }
    s->segs[s->nsegs++] = (SegInfo){seq, first_zxid, s->last_logged};
    s->open_seq = seq;
    pthread_mutex_unlock(&s->mu);
    s->seg_opened_ms = mono_ms();
    s->seg_fd = s->spare_fd;
    s->spare_fd = -1;
    sfmt(s->seg_name, sizeof s->seg_name, "%s", name);
    s->seg_off = WALF_SEG_HEADER_SIZE;
    s->seg_records = 0;
    s->next_seq = seq + 1;
    s->next_space_try_ms = 0;    /* the next spare, right after this batch */
    corral_log(CORRAL_LOG_DEBUG, SUB, "new WAL segment %s", name);
    return 0;
}

/* Starts the next segment (its first record: first_zxid) from the spare,
 * preparing one first if none is ready.  Without room it waits and retries
 * every second for as long as it takes: the records stay queued.
 * 0, -1 (why) on an error that is not a lack of space, -2 (why) when the
 * store closed while there was still no room. */
static int next_segment(Store *s, int64_t first_zxid, char *why, size_t whylen)
{
    for (int last_try = 0;;) {
        char msg[sizeof s->space_why];
        int r = spare_create(s, msg, sizeof msg);
        if (r == 0)
            r = use_spare(s, first_zxid, msg, sizeof msg);
        if (r == 0) {
            unstall(s);
            return 0;
        }
        sfmt(why, whylen, "%s", msg);
        if (r < 0)
            return -1;
        if (last_try)
            return -2;
        if (wait_for_room(s, msg) < 0)
            last_try = 1;
    }
}

/* pwrite of one write unit; without room (a segment that is not
 * preallocated), waits and retries the same unit every second.  A failed
 * write is not a failed fsync: nothing was reported written, and writing
 * the whole unit again at the same offset replaces whatever part went in.
 * 0, -1 or -2 (why) as next_segment. */
static int write_unit(Store *s, const unsigned char *p, size_t n, char *why, size_t whylen)
{
    for (int last_try = 0;;) {
        if (walf_pwrite_all(s->seg_fd, p, n, s->seg_off) == 0) {
            unstall(s);
            return 0;
        }
        int e = errno;
        sfmt(why, whylen, "write to WAL segment %s/%s at offset %" PRIu64 " failed: %s", s->waldir, s->seg_name,
             s->seg_off, strerror(e));
        if (!no_room(e))
            return -1;
        corral_metric_inc(M.space_failures);
        if (last_try)
            return -2;
        if (wait_for_room(s, why) < 0)
            last_try = 1;
    }
}

/* Writes `writing` (records encoded by append, CRC and write-unit offset
 * still zero) to the log.  Each write unit (the part of a batch that goes
 * to one segment) is one pwrite and one fdatasync, and becomes durable as
 * a whole.  0, -1 (why: fatal), -2 (why: closed without room; what is
 * left was never acknowledged). */
static int write_batch(Store *s, char *why, size_t whylen)
{
    Buf *b = &s->writing;
    size_t pos = 0;
    while (pos < b->len) {
        int rc;
        if (s->seg_fd < 0 && (rc = next_segment(s, (int64_t)walf_get64(b->p + pos + 8), why, whylen)) < 0)
            return rc;
        uint64_t unit = s->seg_off;
        size_t start = pos;
        uint64_t n = 0;
        int64_t last = 0;
        while (pos < b->len) {
            unsigned char *h = b->p + pos;
            uint32_t len = walf_get32(h + 4);
            size_t rl = WALF_REC_HEADER_SIZE + (size_t)len;
            if ((s->seg_records || n) && s->seg_off + (pos - start) + rl > (uint64_t)s->set.segment_bytes)
                break;
            last = (int64_t)walf_get64(h + 8);
            walf_rec_header_encode(h, last, unit, h + WALF_REC_HEADER_SIZE, len);
            pos += rl;
            n++;
        }
        if (n == 0) {
            /* Full: its last unit was synced already. */
            segment_done(s);
            continue;
        }
        if ((rc = write_unit(s, b->p + start, pos - start, why, whylen)) < 0)
            return rc;
        s->seg_off += pos - start;
        s->seg_records += n;
        corral_metric_add(M.wal_bytes, (int64_t)(pos - start));
        if (s->set.fsync) {
            double t0 = mono_ms_f();
            if (fdatasync(s->seg_fd) < 0) {
                /* Never retried: after a failed fsync the kernel may have
                 * dropped the dirty pages (PostgreSQL's "fsyncgate"). */
                sfmt(why, whylen, "fdatasync of WAL segment %s/%s failed: %s", s->waldir, s->seg_name,
                         strerror(errno));
                return -1;
            }
            corral_metric_observe(M.fsync_ms, mono_ms_f() - t0);
            corral_metric_inc(M.fsyncs);
            corral_metric_observe(M.txns_per_fsync, (double)n);
        }
        /* At every group commit, before anything is reported durable. */
        if (storage_gone(s, why, whylen))
            return wait_gone(s, why, whylen);
        s->last_logged = last;
        publish_durable(s, last, n);
    }
    return 0;
}

static void *writer_main(void *arg)
{
    Store *s = arg;
    char why[512];
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->pending.len && !s->closing && !s->failed) {
            if (!maintenance_wanted(s)) {
                /* Idle: wakes every GONE_CHECK_MS to see that the files
                 * are still there, so that a removed data directory stops
                 * writes before the next one is acknowledged. */
                struct timespec dl;
                clock_gettime(CLOCK_MONOTONIC, &dl);
                dl.tv_sec += GONE_CHECK_MS / 1000;
                if (pthread_cond_timedwait(&s->cv_work, &s->mu, &dl) != ETIMEDOUT)
                    continue;
                pthread_mutex_unlock(&s->mu);
                archive_timeout_check(s);
                int gone = storage_gone(s, why, sizeof why);
                if (gone)
                    rc = wait_gone(s, why, sizeof why);      /* until close, or -1 */
                pthread_mutex_lock(&s->mu);
                if (rc < 0 && rc != -2)
                    break;
                if (gone) {
                    if (s->pending.len)
                        corral_log(CORRAL_LOG_ERROR, SUB, "closing with the storage gone: the transactions after "
                                   "zxid 0x%" PRIx64 " were not written (never acknowledged)",
                                   (uint64_t)s->last_logged);
                    s->pending.len = 0;
                    goto done;
                }
                continue;
            }
            int64_t wait_ms = s->next_space_try_ms - mono_ms();
            if (wait_ms > 0) {
                struct timespec dl;
                clock_gettime(CLOCK_MONOTONIC, &dl);
                dl.tv_sec += wait_ms / 1000;
                dl.tv_nsec += (wait_ms % 1000) * 1000000;
                if (dl.tv_nsec >= 1000000000) {
                    dl.tv_sec++;
                    dl.tv_nsec -= 1000000000;
                }
                if (pthread_cond_timedwait(&s->cv_work, &s->mu, &dl) != ETIMEDOUT)
                    continue;
            }
            pthread_mutex_unlock(&s->mu);
            rc = maintain_space(s, why, sizeof why);
            pthread_mutex_lock(&s->mu);
            if (rc < 0)
                break;
        }
        if (rc < 0 || s->failed || (!s->pending.len && s->closing))
            break;
        Buf t = s->writing;
        s->writing = s->pending;
        s->pending = t;
        s->pending.len = 0;
        pthread_cond_broadcast(&s->cv_space);
        pthread_mutex_unlock(&s->mu);
        if (s->set.test_write_delay_ms > 0)
            usleep((useconds_t)s->set.test_write_delay_ms * 1000);
        rc = write_batch(s, why, sizeof why);
        int64_t first_left = rc == -2 ? s->last_logged : 0;
        s->writing.len = 0;
        if (s->writing.cap > (size_t)s->set.max_backlog_bytes * 2) {
            /* One huge append grew it: do not keep that memory. */
            free(s->writing.p);
            s->writing = (Buf){0};
        }
        if (rc == 0)
            rc = maintain_space(s, why, sizeof why);
        if (rc == 0)
            archive_timeout_check(s);
        pthread_mutex_lock(&s->mu);
        if (rc == -2) {
            /* Closing with no room: what is left was never reported
             * durable, so never acknowledged; recovery finds the log as it
             * is (at worst a torn tail). */
            corral_log(CORRAL_LOG_ERROR, SUB,
                       "closing %s: the transactions after zxid 0x%" PRIx64 " were not written (never "
                       "acknowledged): %s", s->gone ? "with the storage gone" : "without room for the WAL",
                       (uint64_t)first_left, why);
            s->pending.len = 0;
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
    }
    if (rc < 0)
        set_failed_locked(s, why);
done:
    s->space_stalled = 0;
    s->writer_done = 1;
    pthread_cond_broadcast(&s->cv_durable);
    pthread_cond_broadcast(&s->cv_space);
    pthread_mutex_unlock(&s->mu);
    notify(s);
    return NULL;
}

int wal_start_writer(Store *s, char *err, size_t errlen)
{
    int rc = pthread_create(&s->writer, NULL, writer_main, s);
    if (rc != 0) {
        sfmt(err, errlen, "cannot start the WAL writer thread: %s", strerror(rc));
        return -1;
    }
    s->writer_started = 1;
    return 0;
}
