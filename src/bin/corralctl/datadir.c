/*
 * src/bin/corralctl/datadir.c: builds a storage_file data directory from a
 * snapshot file and a stream of WAL records, as the server would have
 * written them: what `corralctl salvage` writes (and what a restore
 * writes).  The records go to fresh segments numbered from 1, the first
 * chained to the snapshot's zxid, each record its own write unit (so that
 * later damage to any of them is told from a torn tail), everything
 * fsynced.  The server then recovers the directory as its own.
 */
#include "storage_tool.h"

#define DD_SEGMENT_BYTES ((uint64_t)64 << 20)

void dd_err(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

int dd_fsync_path(const char *path, char *err, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        dd_err(err, n, "fsync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int dd_create(DdWriter *w, const char *dir, const char *waldir, int64_t start_zxid, char *err, size_t n)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->seq = 1;
    w->prev = start_zxid;
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    if (waldir)
        dd_err(w->waldir, sizeof w->waldir, "%s", waldir);
    else
        dd_err(w->waldir, sizeof w->waldir, "%s/wal", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        dd_err(err, n, "cannot create directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (mkdir(w->waldir, 0755) < 0 && !(errno == EEXIST && waldir)) {
        dd_err(err, n, "cannot create directory %s: %s", w->waldir, strerror(errno));
        return -1;
    }
    return 0;
}

int dd_copy_file(const char *src, const char *dst, char *err, size_t n)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        dd_err(err, n, "cannot open %s: %s", src, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        dd_err(err, n, "cannot create %s: %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    char buf[1 << 16];
    ssize_t r;
    int rc = 0;
    while ((r = read(in, buf, sizeof buf)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            dd_err(err, n, "cannot read %s: %s", src, strerror(errno));
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < r;) {
            ssize_t k = write(out, buf + off, (size_t)(r - off));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                dd_err(err, n, "cannot write %s: %s", dst, strerror(errno));
                rc = -1;
                goto done;
            }
            off += k;
        }
    }
    if (rc == 0 && fsync(out) < 0) {
        dd_err(err, n, "fsync %s: %s", dst, strerror(errno));
        rc = -1;
    }
done:
    close(in);
    close(out);
    return rc;
}

int dd_put_snapshot(DdWriter *w, const char *src, int64_t zxid, char *err, size_t n)
{
    char name[64], dst[2 * PATH_MAX];
    walf_snap_name(name, sizeof name, zxid, "zst");
    snprintf(dst, sizeof dst, "%s/%s", w->dir, name);
    return dd_copy_file(src, dst, err, n);
}

static int dd_close_segment(DdWriter *w, char *err, size_t n)
{
    if (w->fd < 0)
        return 0;
    int rc = 0;
    if (fsync(w->fd) < 0) {
        dd_err(err, n, "fsync %s/%s: %s", w->waldir, w->name, strerror(errno));
        rc = -1;
    }
    close(w->fd);
    w->fd = -1;
    w->seq++;
    return rc;
}

int dd_put_record(DdWriter *w, int64_t zxid, const void *data, uint32_t len, char *err, size_t n)
{
    if (zxid <= w->prev) {
        dd_err(err, n, "record zxid 0x%" PRIx64 " does not follow 0x%" PRIx64, (uint64_t)zxid, (uint64_t)w->prev);
        return -1;
    }
    if (w->fd >= 0 && w->off + WALF_REC_HEADER_SIZE + len > DD_SEGMENT_BYTES && dd_close_segment(w, err, n) < 0)
        return -1;
    if (w->fd < 0) {
        char path[2 * PATH_MAX];
        unsigned char hdr[WALF_SEG_HEADER_SIZE];
        WalfSegHeader h = {WALF_VERSION, w->seq, zxid, w->prev, (uint32_t)DD_SEGMENT_BYTES};
        walf_seg_name(w->name, sizeof w->name, w->seq, zxid);
        snprintf(path, sizeof path, "%s/%s", w->waldir, w->name);
        w->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (w->fd < 0) {
            dd_err(err, n, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        walf_seg_header_encode(hdr, &h);
        if (walf_pwrite_all(w->fd, hdr, sizeof hdr, 0) < 0) {
            dd_err(err, n, "cannot write %s: %s", path, strerror(errno));
            return -1;
        }
        w->off = WALF_SEG_HEADER_SIZE;
        w->segments++;
    }
    unsigned char rh[WALF_REC_HEADER_SIZE];
    walf_rec_header_encode(rh, zxid, w->off, data, len);
    if (walf_pwrite_all(w->fd, rh, sizeof rh, w->off) < 0 ||
        (len && walf_pwrite_all(w->fd, data, len, w->off + sizeof rh) < 0)) {
        dd_err(err, n, "cannot write %s/%s: %s", w->waldir, w->name, strerror(errno));
        return -1;
    }
    w->off += sizeof rh + len;
    w->prev = zxid;
    w->records++;
    w->bytes += sizeof rh + len;
    return 0;
}

int dd_finish(DdWriter *w, char *err, size_t n)
{
    if (dd_close_segment(w, err, n) < 0 || dd_fsync_path(w->waldir, err, n) < 0 || dd_fsync_path(w->dir, err, n) < 0)
        return -1;
    return 0;
}

void dd_abort(DdWriter *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

int dd_lock(const char *dir, int *fd, char *err, size_t n)
{
    char path[PATH_MAX + 8];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd < 0)
        return 0;       /* never opened by a server: nobody holds it */
    if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        dd_err(err, n, "%s is in use by a running server (%s is locked): stop it first", dir, path);
        close(*fd);
        *fd = -1;
        return -1;
    }
    return 0;
}

int dd_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}
