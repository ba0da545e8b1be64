/*
 * src/modules/storage_file/archiver.c: WAL archiving, as PostgreSQL's
 * archiver: every completed WAL segment goes to archive_dir (copied,
 * fsynced, renamed into place) or to archive_command (%p the segment's
 * path, %f its name, run by /bin/sh; exit status 0 means archived), in
 * order, on a thread of its own.  A failure is retried (1 s, doubling to
 * 60 s) and counted; retention never removes a segment not yet archived
 * (snapshots.c); how far archiving got survives restarts in
 * wal/archive_status.  The writer completes a segment when it is full, or
 * after archive_timeout seconds with records in it (wal_writer.c), so that
 * what an operator can lose with the disk is bounded.  doc/backup.md
 * "WAL archiving".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage_file.h"
#include "wal_format.h"

#define ARCHIVE_STATUS "archive_status"
#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 60000

int archiving(const Store *s) { return s->set.archive_dir || s->set.archive_command; }

/* wal/archive_status: "SEQ LAST_ZXID\n" in hex, of the last segment archived. */
void archive_load_status(Store *s)
{
    char buf[64] = "";
    int fd = openat(s->waldirfd, ARCHIVE_STATUS, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unsigned long long seq, z;
    if (n > 0 && sscanf(buf, "%llx %llx", &seq, &z) == 2) {
        s->archived_seq = seq;
        s->archived_zxid = (int64_t)z;
    }
}

static int save_status(Store *s, uint64_t seq, int64_t zxid, char *why, size_t whylen)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%08" PRIx64 " %016" PRIx64 "\n", seq, (uint64_t)zxid);
    int fd = openat(s->waldirfd, ARCHIVE_STATUS ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, (size_t)n) != n || fsync(fd) < 0 ||
        renameat(s->waldirfd, ARCHIVE_STATUS ".tmp", s->waldirfd, ARCHIVE_STATUS) < 0) {
        sfmt(why, whylen, "cannot write %s/%s: %s", s->waldir, ARCHIVE_STATUS, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    fsync(s->waldirfd);
    return 0;
}

/* Where the records of a complete segment end (the bytes worth copying) and
 * its last zxid. */
static int segment_extent(const char *path, uint64_t *end, int64_t *last, char *why, size_t whylen)
{
    WalfSegment seg;
    char e[256];
    if (walf_seg_open(&seg, path, e, sizeof e) < 0) {
        sfmt(why, whylen, "cannot read %s: %s", path, e);
        return -1;
    }
    WalfIter it;
    WalfRecord rec;
    WalfStop st;
    walf_iter_init(&it, &seg);
    while (walf_iter_next(&it, &rec, &st))
        ;
    *end = st.nonzero_end > st.offset ? st.nonzero_end : st.offset;
    *last = st.last_zxid;
    walf_seg_close(&seg);
    return 0;
}

/* Copies src[0, len) to fd, and returns the CRC32C of what it copied. */
static int copy_prefix(int in, int out, uint64_t len, uint32_t *crc)
{
    char buf[1 << 16];
    uint64_t off = 0;
    *crc = 0;
    while (off < len) {
        size_t want = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
        ssize_t r = pread(in, buf, want, (off_t)off);
        if (r <= 0)
            return -1;
        if (out >= 0 && walf_pwrite_all(out, buf, (size_t)r, off) < 0)
            return -1;
        *crc = walf_crc32c(*crc, buf, (size_t)r);
        off += (uint64_t)r;
    }
    return 0;
}

static int to_dir(Store *s, const char *path, const char *name, uint64_t len, char *why, size_t whylen)
{
    const char *dir = s->set.archive_dir;
    char dst[PATH_MAX], tmp[PATH_MAX + 8];
    sfmt(dst, sizeof dst, "%s/%s", dir, name);
    sfmt(tmp, sizeof tmp, "%s.tmp", dst);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        sfmt(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    uint32_t crc = 0;
    struct stat st;
    if (stat(dst, &st) == 0) {
        /* There already (archived before a crash, or another server's):
         * fine only if it holds exactly these bytes. */
        int old = open(dst, O_RDONLY | O_CLOEXEC);
        uint32_t ours, theirs;
        int same = old >= 0 && (uint64_t)st.st_size == len && copy_prefix(in, -1, len, &ours) == 0 &&
                   copy_prefix(old, -1, len, &theirs) == 0 && ours == theirs;
        if (old >= 0)
            close(old);
        close(in);
        if (!same)
            sfmt(why, whylen, "%s already exists with other content: refusing to overwrite it", dst);
        return same ? 0 : -1;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = -1;
    if (out < 0)
        sfmt(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
    else if (copy_prefix(in, out, len, &crc) < 0 || fsync(out) < 0)
        sfmt(why, whylen, "cannot copy %s to %s: %s", path, tmp, strerror(errno));
    else if (rename(tmp, dst) < 0)
        sfmt(why, whylen, "cannot rename %s to %s: %s", tmp, dst, strerror(errno));
    else
        rc = 0;
    if (out >= 0)
        close(out);
    close(in);
    if (rc < 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* archive_command with %p, %f and %% replaced. */
static int to_command(Store *s, const char *path, const char *name, char *why, size_t whylen)
{
    char cmd[4 * PATH_MAX];
    size_t o = 0;
    for (const char *p = s->set.archive_command; *p && o + 1 < sizeof cmd; p++) {
        const char *add = NULL;
        char one[2] = {*p, 0};
        if (*p == '%' && p[1] == 'p')
            add = path, p++;
        else if (*p == '%' && p[1] == 'f')
            add = name, p++;
        else if (*p == '%' && p[1] == '%')
            add = "%", p++;
        else
            add = one;
        size_t l = strlen(add);
        if (o + l >= sizeof cmd) {
            sfmt(why, whylen, "archive_command is too long once expanded");
            return -1;
        }
        memcpy(cmd + o, add, l);
        o += l;
    }
    cmd[o] = '\0';
    pid_t pid = fork();
    if (pid < 0) {
        sfmt(why, whylen, "cannot run archive_command: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            sfmt(why, whylen, "archive_command: waitpid: %s", strerror(errno));
            return -1;
        }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        sfmt(why, whylen, "archive_command \"%s\" exited with status %d", cmd, WEXITSTATUS(status));
    else
        sfmt(why, whylen, "archive_command \"%s\" was killed by signal %d", cmd, WTERMSIG(status));
    return -1;
}

static int archive_one(Store *s, const SegInfo *g, int64_t *last, char *why, size_t whylen)
{
    char name[40], path[PATH_MAX];
    walf_seg_name(name, sizeof name, g->seq, g->first_zxid);
    sfmt(path, sizeof path, "%s/%s", s->waldir, name);
    uint64_t end;
    if (segment_extent(path, &end, last, why, whylen) < 0)
        return -1;
    return s->set.archive_dir ? to_dir(s, path, name, end, why, whylen) : to_command(s, path, name, why, whylen);
}

/* The next segment to archive (complete: not the one the writer has
 * open), and how many wait; caller holds mu. */
static int next_segment_locked(Store *s, SegInfo *out, int64_t *lag)
{
    int found = 0;
    *lag = 0;
    for (size_t i = 0; i < s->nsegs; i++) {
        const SegInfo *g = &s->segs[i];
        if (g->seq <= s->archived_seq || (s->open_seq && g->seq >= s->open_seq))
            continue;
        if (!found++)
            *out = *g;
        (*lag)++;
    }
    return found;
}

static void wait_ms_locked(Store *s, int64_t ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&s->cv_archive, &s->mu, &dl);
}

static void *archiver_main(void *arg)
{
    Store *s = arg;
    int64_t backoff = RETRY_MIN_MS;
    char why[PATH_MAX + 400];
    pthread_mutex_lock(&s->mu);
    while (!s->archiver_stop) {
        SegInfo g = {0, 0, 0};
        int64_t lag;
        int have = next_segment_locked(s, &g, &lag);
        corral_metric_set(M.archive_lag, lag);
        if (!have) {
            wait_ms_locked(s, 1000);
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        int64_t last = 0;
        int rc = archive_one(s, &g, &last, why, sizeof why);
        if (rc == 0)
            rc = save_status(s, g.seq, last, why, sizeof why);
        pthread_mutex_lock(&s->mu);
        if (rc == 0) {
            s->archived_seq = g.seq;
            s->archived_zxid = last;
            backoff = RETRY_MIN_MS;
            corral_metric_inc(M.archived);
            corral_metric_set(M.archive_last_zxid, last);
            corral_metric_set(M.archive_lag, lag - 1);
            corral_log(CORRAL_LOG_INFO, SUB, "archived WAL segment %08" PRIx64 " (up to zxid 0x%" PRIx64 ")", g.seq,
                       (uint64_t)last);
            continue;
        }
        corral_metric_inc(M.archive_failures);
        corral_log(CORRAL_LOG_WARN, SUB, "archiving WAL segment %08" PRIx64 " failed (retrying in %lld s; "
                   "retention keeps it): %s", g.seq, (long long)(backoff / 1000), why);
        wait_ms_locked(s, backoff);
        backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int archive_start(Store *s, char *err, size_t errlen)
{
    if (!archiving(s))
        return 0;
    corral_metric_set(M.archive_last_zxid, s->archived_zxid);
    int rc = pthread_create(&s->archiver, NULL, archiver_main, s);
    if (rc != 0) {
        sfmt(err, errlen, "cannot start the WAL archiver thread: %s", strerror(rc));
        return -1;
    }
    s->archiver_started = 1;
    corral_log(CORRAL_LOG_INFO, SUB, "WAL archiving to %s%s (archive_timeout %lld s); archived up to segment %08" PRIx64,
               s->set.archive_dir ? s->set.archive_dir : "archive_command ",
               s->set.archive_dir ? "" : s->set.archive_command, (long long)s->set.archive_timeout,
               s->archived_seq);
    return 0;
}

void archive_stop(Store *s)
{
    if (!s->archiver_started)
        return;
    pthread_mutex_lock(&s->mu);
    s->archiver_stop = 1;
    pthread_cond_broadcast(&s->cv_archive);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->archiver, NULL);
    s->archiver_started = 0;
}
