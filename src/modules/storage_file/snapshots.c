/*
 * src/modules/storage_file/snapshots.c: storage_file's snapshots
 * (sf_snapshot, on the core's snapshot thread) and retention (ZooKeeper's
 * autopurge, after each snapshot).  doc/storage.md "Snapshots",
 * "Retention".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_file.h"
#include "recovery_plan.h"
#include "wal_format.h"

/* How long a snapshot waits for the WAL to catch up with its zxid. */
#define SNAPSHOT_WAL_WAIT_S 300

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
    while (k + 1 < s->nsegs && s->segs[k + 1].prev_zxid <= oldest &&
           (!archiving(s) || s->segs[k].seq <= s->archived_seq))
        k++;     /* an unarchived segment stays, whatever the snapshots */
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

int sf_snapshot(void *store, int64_t last_zxid, const void *data, size_t len, char *err, size_t errlen)
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
