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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
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

/* ---- the writer thread ---------------------------------------------------- */

static void publish_durable(Store *s, int64_t zxid, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    s->durable_zxid = zxid;
    s->durable_count += n;
    pthread_cond_broadcast(&s->cv_durable);
    pthread_mutex_unlock(&s->mu);
    notify(s);
}

/* Creates the next segment: written as NAME.tmp (preallocated, header,
 * synced), renamed, directory synced, so a segment under its final name
 * always has a complete header. */
static int create_segment(Store *s, int64_t first_zxid, char *why, size_t whylen)
{
    char name[40], path[PATH_MAX], tmp[PATH_MAX];
    uint64_t seq = s->next_seq;
    walf_seg_name(name, sizeof name, seq, first_zxid);
    sfmt(path, sizeof path, "%s/%s", s->waldir, name);
    sfmt(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sfmt(why, whylen, "cannot create WAL segment %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fallocate(fd, 0, 0, (off_t)s->set.segment_bytes) < 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS) {
            sfmt(why, whylen, "cannot preallocate %lld bytes for WAL segment %s: %s",
                     (long long)s->set.segment_bytes, tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
        if (!s->prealloc_warned) {
            s->prealloc_warned = 1;
            corral_log(CORRAL_LOG_INFO, SUB, "the file system of %s cannot preallocate; WAL segments grow as written",
                       s->waldir);
        }
    }
    WalfSegHeader h = {WALF_VERSION, seq, first_zxid, s->last_logged, (uint32_t)s->set.segment_bytes};
    unsigned char hdr[WALF_SEG_HEADER_SIZE];
    walf_seg_header_encode(hdr, &h);
    if (pwrite_full(fd, hdr, sizeof hdr, 0) < 0) {
        sfmt(why, whylen, "cannot write the header of WAL segment %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (s->set.fsync && fsync(fd) < 0) {
        sfmt(why, whylen, "fsync of new WAL segment %s failed: %s", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    if (rename(tmp, path) < 0) {
        sfmt(why, whylen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        close(fd);
        return -1;
    }
    if (s->set.fsync && fsync(s->waldirfd) < 0) {
        sfmt(why, whylen, "fsync of directory %s failed: %s", s->waldir, strerror(errno));
        close(fd);
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    if (s->nsegs == s->capsegs) {
        size_t ncap = s->capsegs ? s->capsegs * 2 : 16;
        SegInfo *n = realloc(s->segs, ncap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&s->mu);
            sfmt(why, whylen, "out of memory");
            close(fd);
            return -1;
        }
        s->segs = n;
        s->capsegs = ncap;
    }
    s->segs[s->nsegs++] = (SegInfo){seq, first_zxid, s->last_logged};
    pthread_mutex_unlock(&s->mu);
    s->seg_fd = fd;
    sfmt(s->seg_name, sizeof s->seg_name, "%s", name);
    s->seg_off = WALF_SEG_HEADER_SIZE;
    s->seg_records = 0;
    s->next_seq = seq + 1;
    corral_log(CORRAL_LOG_DEBUG, SUB, "new WAL segment %s", name);
    return 0;
}

/* Writes `writing` (records encoded by append, CRC and write-unit offset
 * still zero) to the log.  Each write unit (the part of a batch that goes
 * to one segment) is one pwrite and one fdatasync, and becomes durable as
 * a whole. */
static int write_batch(Store *s, char *why, size_t whylen)
{
    Buf *b = &s->writing;
    size_t pos = 0;
    while (pos < b->len) {
        if (s->seg_fd < 0 && create_segment(s, rd64(b->p + pos + 8), why, whylen) < 0)
            return -1;
        uint64_t unit = s->seg_off;
        size_t start = pos;
        uint64_t n = 0;
        int64_t last = 0;
        while (pos < b->len) {
            unsigned char *h = b->p + pos;
            uint32_t len = rd32(h + 4);
            size_t rl = WALF_REC_HEADER_SIZE + (size_t)len;
            if ((s->seg_records || n) && s->seg_off + (pos - start) + rl > (uint64_t)s->set.segment_bytes)
                break;
            last = rd64(h + 8);
            walf_rec_header_encode(h, last, unit, h + WALF_REC_HEADER_SIZE, len);
            pos += rl;
            n++;
        }
        if (n == 0) {
            /* Full: its last unit was synced already. */
            close(s->seg_fd);
            s->seg_fd = -1;
            continue;
        }
        if (pwrite_full(s->seg_fd, b->p + start, pos - start, s->seg_off) < 0) {
            sfmt(why, whylen, "write to WAL segment %s/%s at offset %" PRIu64 " failed: %s", s->waldir,
                     s->seg_name, s->seg_off, strerror(errno));
            return -1;
        }
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
        s->last_logged = last;
        publish_durable(s, last, n);
    }
    return 0;
}

static void *writer_main(void *arg)
{
    Store *s = arg;
    char why[512];
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->pending.len && !s->closing && !s->failed)
            pthread_cond_wait(&s->cv_work, &s->mu);
        if (s->failed || (!s->pending.len && s->closing))
            break;
        Buf t = s->writing;
        s->writing = s->pending;
        s->pending = t;
        s->pending.len = 0;
        pthread_cond_broadcast(&s->cv_space);
        pthread_mutex_unlock(&s->mu);
        int rc = write_batch(s, why, sizeof why);
        s->writing.len = 0;
        if (s->writing.cap > (size_t)s->set.max_backlog_bytes * 2) {
            /* One huge append grew it: do not keep that memory. */
            free(s->writing.p);
            s->writing = (Buf){0};
        }
        pthread_mutex_lock(&s->mu);
        if (rc < 0) {
            set_failed_locked(s, why);
            break;
        }
    }
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
