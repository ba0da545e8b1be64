/*
 * src/backend/zab/history.c: the tail of this member's log in memory, and
 * the persistent epochs.
 *
 * The history is an array of txns in zxid order (a ring in spirit: old
 * entries are dropped from the front when it grows past its limits, never
 * one that is not applied yet).  `base` is the zxid just before the first
 * entry: everything up to base is in the state and storage, only not here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zab/zab_int.h"

#define HIST_MAX_ENTRIES 200000
#define HIST_MAX_BYTES (128u << 20)

static struct {
    HistEntry *v;
    size_t head, n, cap;    /* live entries are v[head .. head+n) */
    size_t bytes;
    int64_t base;
} h;

void hist_init(int64_t base)
{
    memset(&h, 0, sizeof h);
    h.base = base;
}

void hist_reset(int64_t base)
{
    for (size_t i = 0; i < h.n; i++)
        free(h.v[h.head + i].data);
    h.head = h.n = 0;
    h.bytes = 0;
    h.base = base;
}

void hist_append(int64_t zxid, const void *data, size_t len)
{
    if (h.head + h.n == h.cap) {
        if (h.head > h.cap / 2) {
            memmove(h.v, h.v + h.head, h.n * sizeof *h.v);
            h.head = 0;
        } else {
            h.cap = h.cap ? h.cap * 2 : 1024;
            h.v = xrealloc(h.v, h.cap * sizeof *h.v);
        }
    }
    HistEntry *e = &h.v[h.head + h.n++];
    e->zxid = zxid;
    e->len = len;
    e->data = xmalloc(len ? len : 1);
    memcpy(e->data, data, len);
    h.bytes += len;
}

int64_t hist_last(void) { return h.n ? h.v[h.head + h.n - 1].zxid : h.base; }
int64_t hist_base(void) { return h.base; }
size_t hist_count(void) { return h.n; }
const HistEntry *hist_at(size_t i) { return &h.v[h.head + i]; }

size_t hist_after(int64_t z)
{
    size_t lo = 0, hi = h.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (h.v[h.head + mid].zxid <= z)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int hist_contains(int64_t z)
{
    if (z == h.base)
        return 1;
    size_t i = hist_after(z);
    return i > 0 && h.v[h.head + i - 1].zxid == z;
}

void hist_truncate(int64_t z)
{
    if (z < h.base) {
        hist_reset(z);
        return;
    }
    size_t keep = hist_after(z);
    for (size_t i = keep; i < h.n; i++) {
        h.bytes -= h.v[h.head + i].len;
        free(h.v[h.head + i].data);
    }
    h.n = keep;
}

void hist_trim(int64_t keep_from)
{
    while (h.n && (h.n > HIST_MAX_ENTRIES || h.bytes > HIST_MAX_BYTES) && h.v[h.head].zxid <= keep_from) {
        HistEntry *e = &h.v[h.head];
        h.base = e->zxid;
        h.bytes -= e->len;
        free(e->data);
        h.head++;
        h.n--;
    }
    if (h.n == 0)
        h.head = 0;
}

/* ---- epochs ----------------------------------------------------------- */

static void path_of(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

int epochs_load(const char *data_dir, int64_t *accepted, int64_t *current)
{
    char p[4096];
    path_of(p, sizeof p, data_dir, "zab_epochs");
    *accepted = *current = 0;
    FILE *f = fopen(p, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    long long a = 0, c = 0;
    int rc = fscanf(f, "accepted %lld current %lld", &a, &c);
    fclose(f);
    if (rc != 2)
        return -1;
    *accepted = a;
    *current = c;
    return 0;
}

int epochs_store(const char *data_dir, int64_t accepted, int64_t current)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "accepted %lld current %lld\n", (long long)accepted, (long long)current);
    return zab_file_store(data_dir, "zab_epochs", buf, (size_t)n);
}

int zab_file_store(const char *data_dir, const char *name, const void *buf, size_t n)
{
    char p[4096], tmp[4200];
    mkdir(data_dir, 0700);
    path_of(p, sizeof p, data_dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (write(fd, buf, n) != (ssize_t)n || fsync(fd) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (rename(tmp, p) < 0)
        return -1;
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}
