/*
 * src/modules/storage_file/recovery.c: storage_file's recovery at startup
 * (sf_recover), which carries out the plan of recovery_plan.c, and the
 * ensemble's truncation of the log (sf_truncate, TRUNC): the two places
 * that cut the WAL.  Loop thread, before the writer runs (recover) or with
 * it idle (truncate).  doc/storage.md "Recovery" has the rules and every
 * message.
 */
#include <dirent.h>
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
int sf_recover(void *store, const CorralRecoverySink *sink, char *err, size_t errlen)
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
    rp_plan_dir(d, s->dir, s->waldir, s->set.accept_truncation, &files, p);

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
    /* Damage below the snapshot: logged, replayed across, kept on disk. */
    for (size_t k = 0; k < p->nskipped && k < sizeof p->skipped / sizeof p->skipped[0]; k++) {
        sfmt(path, sizeof path, "%s/%s", s->waldir, d->segs[p->skipped[k].seg].name);
        rp_skip_msg(line, sizeof line, path, &p->skipped[k].st, p->snap_zxid, "replaying from");
        corral_log(CORRAL_LOG_WARN, SUB, "%s", line);
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
    if (p->reopen && archiving(s) && d->segs[p->kept - 1].seq <= s->archived_seq) {
        /* Archived already (archive_timeout completed it): it never
         * changes again; the next record starts a new segment. */
        p->reopen = 0;
    }
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
        s->open_seq = d->segs[p->kept - 1].seq;
        s->seg_opened_ms = mono_ms();
        s->seg_off = p->tail_off;
        s->seg_records = p->tail_records;
    }
    int64_t top = p->last_zxid;
    s->durable_zxid = s->appended_zxid = s->reported_zxid = top;
    s->since_snapshot = replayed;
    if (wal_start_writer(s, err, errlen) < 0 || archive_start(s, err, errlen) < 0)
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
int sf_truncate(void *store, int64_t zxid, char *err, size_t errlen)
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
