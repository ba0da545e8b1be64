/*
 * regress/unit/test_storage_file.c: the storage_file and storage_memory
 * modules driven through their vtables, as corrald drives them.
 *
 * The modules are the built .so files ($(BUILD)/modules), loaded by the real
 * loader from a YAML text, so their settings go through corral_config_apply.
 * The real event loop runs here: `durable` arrives through the module's
 * eventfd on this (the loop) thread.  wal_format.c is compiled in to check
 * the formats and to find and damage records on disk.
 *
 * Nothing here measures time: group commit is checked as "fewer fsyncs
 * than records", recovery by the exact records that come back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "config/config.h"
#include "corral/metrics.h"
#include "module/module.h"
#include "net/eventloop.h"

#include "../../src/modules/storage_file/wal_format.c"

/* Paths here are short temporary ones; GCC cannot know that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- loading the modules -------------------------------------------------- */

static char exe_dir[PATH_MAX];
static CoreConfig cfgs[64];          /* configurations live for the process */
static int ncfgs;
static char load_err[2048];

static const CorralStorage *load(const char *module, const char *settings)
{
    module_unload_all();
    load_err[0] = '\0';
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "server:\n  data_dir: /nonexistent\nmodule_path: [\"%s/../modules\"]\nmodules:\n  %s: %s\n", exe_dir,
             module, settings);
    if (ncfgs == (int)(sizeof cfgs / sizeof cfgs[0]))
        return NULL;
    CoreConfig *c = &cfgs[ncfgs++];
    if (config_load_string("test.yaml", yaml, strlen(yaml), c) < 0) {
        snprintf(load_err, sizeof load_err, "%s", config_last_error());
        return NULL;
    }
    if (module_load_all(c, NULL) < 0) {
        snprintf(load_err, sizeof load_err, "%s", module_last_error());
        return NULL;
    }
    return module_storage();
}

/* ---- the core's side: callbacks and the loop ------------------------------ */

static struct {
    int64_t last;
    long n;
    int disorder;
    int failed;
    char why[512];
    int snapreq;
    int64_t want;
} T;

static void cb_durable(void *ctx, int64_t z)
{
    if (z <= T.last)
        T.disorder++;
    T.last = z;
    T.n++;
    if (T.want && z >= T.want)
        el_stop();
}

static void cb_failed(void *ctx, const char *why)
{
    T.failed++;
    snprintf(T.why, sizeof T.why, "%s", why);
    el_stop();
}

static void cb_request_snapshot(void *ctx) { T.snapreq++; }

/* What `space` said last (not cleared by reset_t: recovery reports it). */
static struct {
    int calls, low;
    char why[512];
} SP;

static void cb_space(void *ctx, const char *why)
{
    SP.calls++;
    SP.low = why != NULL;
    snprintf(SP.why, sizeof SP.why, "%s", why ? why : "");
}

static int64_t on_timeout(void *arg)
{
    *(int *)arg = 1;
    el_stop();
    return -1;
}

/* Runs the loop until `durable` reached z (or 30 s passed: a failure). */
static int wait_durable(int64_t z)
{
    if (T.last >= z)
        return 1;
    T.want = z;
    int timed_out = 0;
    uint64_t t = el_add_timer(30000, on_timeout, &timed_out);
    el_run();
    if (!timed_out)
        el_cancel_timer(t);
    T.want = 0;
    return T.last >= z;
}

static int (*until_fn)(void);

static int64_t until_tick(void *arg)
{
    if (until_fn && until_fn()) {
        el_stop();
        return -1;
    }
    return 20;
}

/* Runs the loop until fn() holds (checked every 20 ms) or ms passed;
 * returns fn(). */
static int run_until(int (*fn)(void), int64_t ms)
{
    if (fn && fn())
        return 1;
    until_fn = fn;
    int timed_out = 0;
    uint64_t t = el_add_timer(ms, on_timeout, &timed_out);
    uint64_t k = el_add_timer(20, until_tick, NULL);
    el_run();
    el_cancel_timer(t);
    el_cancel_timer(k);
    until_fn = NULL;
    return fn ? fn() : 0;
}

static void reset_t(int64_t last)
{
    memset(&T, 0, sizeof T);
    T.last = last;
}

static CorralStorageEnv env_for(const char *dir)
{
    return (CorralStorageEnv){dir, cb_durable, cb_failed, cb_request_snapshot, NULL, cb_space};
}

/* ---- records and snapshots the test can recognise ------------------------- */

static size_t rec_base = 16;

static size_t rec_len(int64_t z) { return rec_base + (size_t)((z * 7919) % 97); }

static void rec_fill(unsigned char *b, int64_t z, size_t len)
{
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)(z * 31 + (int64_t)i + 1);
}

/* One append call with the records from..to. */
static int append_range(const CorralStorage *st, void *h, int64_t from, int64_t to, char *err, size_t errlen)
{
    size_t n = (size_t)(to - from + 1), total = 0;
    for (int64_t z = from; z <= to; z++)
        total += rec_len(z);
    unsigned char *buf = malloc(total ? total : 1);
    CorralTxnRecord *r = calloc(n, sizeof *r);
    size_t off = 0;
    for (int64_t z = from; z <= to; z++) {
        size_t len = rec_len(z);
        rec_fill(buf + off, z, len);
        r[z - from] = (CorralTxnRecord){z, buf + off, len};
        off += len;
    }
    int rc = st->append(h, r, n, err, errlen);
    free(r);
    free(buf);
    return rc;
}

/* Appends from..to in calls of `per` records, waiting for durability after
 * each call (so each call is its own write unit on disk). */
static int append_units(const CorralStorage *st, void *h, int64_t from, int64_t to, int64_t per)
{
    char err[512];
    for (int64_t z = from; z <= to; z += per) {
        int64_t e = z + per - 1 > to ? to : z + per - 1;
        if (append_range(st, h, z, e, err, sizeof err) < 0) {
            diag("append %lld..%lld: %s", (long long)z, (long long)e, err);
            return -1;
        }
        if (!wait_durable(e)) {
            diag("zxid %lld never became durable", (long long)e);
            return -1;
        }
    }
    return 0;
}

static void *snap_make(int64_t z, size_t *len)
{
    size_t n = 20000 + (size_t)(z % 1000);
    char *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)('a' + (z + (int64_t)(i / 64)) % 26);
    *len = n;
    return b;
}

typedef struct Got {
    int nsnap;
    int64_t snap_zxid;
    int snap_ok;
    long n;
    int64_t first, last;
    int bad;
} Got;

static int sink_snapshot(void *ctx, int64_t z, const void *data, size_t len)
{
    Got *g = ctx;
    size_t wl;
    void *want = snap_make(z, &wl);
    g->nsnap++;
    g->snap_zxid = z;
    g->snap_ok = wl == len && memcmp(want, data, len) == 0;
    free(want);
    return 0;
}

static int sink_record(void *ctx, const CorralTxnRecord *r)
{
    Got *g = ctx;
    if (g->n == 0)
        g->first = r->zxid;
    else if (r->zxid != g->last + 1)
        g->bad++;
    size_t len = rec_len(r->zxid);
    unsigned char *want = malloc(len);
    rec_fill(want, r->zxid, len);
    if (r->len != len || memcmp(want, r->data, len) != 0)
        g->bad++;
    free(want);
    g->last = r->zxid;
    g->n++;
    return 0;
}

static int do_recover(const CorralStorage *st, void *h, Got *g, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    err[0] = '\0';
    CorralRecoverySink sink = {sink_snapshot, sink_record, g};
    return st->recover(h, &sink, err, errlen);
}

/* Opens and recovers; returns the handle or NULL (with diag). */
static void *open_recover(const CorralStorage *st, const char *dir, Got *g)
{
    char err[1024] = "";
    CorralStorageEnv env = env_for(dir);
    void *h = st->open(st->arg, &env, err, sizeof err);
    if (!h) {
        diag("open %s: %s", dir, err);
        return NULL;
    }
    if (do_recover(st, h, g, err, sizeof err) < 0) {
        diag("recover %s: %s", dir, err);
        st->close(h);
        return NULL;
    }
    reset_t(g->n ? g->last : g->snap_zxid);
    return h;
}

/* ---- stderr capture (the module's log lines) ------------------------------ */

static int saved_stderr = -1;
static char cap_path[PATH_MAX];
static char cap_buf[1 << 16];

static void capture_start(void)
{
    snprintf(cap_path, sizeof cap_path, "%s/../test/stderr.XXXXXX", exe_dir);
    int fd = mkstemp(cap_path);
    if (fd < 0) {
        snprintf(cap_path, sizeof cap_path, "/tmp/corral-stderr.XXXXXX");
        fd = mkstemp(cap_path);
    }
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
    corral_log_set_level(CORRAL_LOG_INFO);
}

static const char *capture_end(void)
{
    corral_log_set_level(CORRAL_LOG_WARN);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    cap_buf[0] = '\0';
    int fd = open(cap_path, O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cap_buf, sizeof cap_buf - 1);
        cap_buf[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    unlink(cap_path);
    /* Show what the module said, as TAP comments. */
    char *save = NULL, copy[sizeof cap_buf];
    memcpy(copy, cap_buf, sizeof copy);
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        printf("#   | %s\n", line);
    return cap_buf;
}

/* ---- files ----------------------------------------------------------------- */

static char root[PATH_MAX];

static void mkdir_case(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", root, name);
    mkdir(out, 0755);
}

static int count_suffix(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The k-th (0-based; negative: from the end) file with `suffix` in sorted
 * order, as a full path. */
static int nth_file(const char *dir, const char *suffix, int k, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *names[4096];
    int cnt = 0;
    struct dirent *e;
    size_t sl = strlen(suffix);
    while ((e = readdir(d)) && cnt < 4096) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0)
            names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)cnt, sizeof names[0], cmp_str);
    int idx = k < 0 ? cnt + k : k, rc = -1;
    if (idx >= 0 && idx < cnt) {
        snprintf(out, n, "%s/%s", dir, names[idx]);
        rc = 0;
    }
    for (int i = 0; i < cnt; i++)
        free(names[i]);
    return rc;
}

/* Offset of the record with zxid z in a segment, or -1. */
static long long record_offset(const char *path, int64_t z, uint32_t *len)
{
    WalfSegment s;
    char err[256];
    if (walf_seg_open(&s, path, err, sizeof err) < 0)
        return -1;
    WalfIter it;
    WalfRecord r;
    WalfStop st;
    long long off = -1;
    walf_iter_init(&it, &s);
    while (walf_iter_next(&it, &r, &st))
        if (r.zxid == z) {
            off = (long long)r.offset;
            if (len)
                *len = r.len;
            break;
        }
    walf_seg_close(&s);
    return off;
}

static int patch_file(const char *path, long long off, const void *bytes, size_t n)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    ssize_t w = pwrite(fd, bytes, n, off);
    close(fd);
    return w == (ssize_t)n ? 0 : -1;
}

static int flip_byte(const char *path, long long off)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    if (fd < 0 || pread(fd, &c, 1, off) != 1)
        return -1;
    c ^= 0x5a;
    ssize_t w = pwrite(fd, &c, 1, off);
    close(fd);
    return w == 1 ? 0 : -1;
}

static int64_t counter(const char *name)
{
    CorralMetric *m = corral_metric_find(name);
    if (!m)
        return -1;
    CorralMetricView v;
    corral_metric_read(m, &v);
    return v.type == CORRAL_METRIC_HISTOGRAM ? (int64_t)v.count : v.value;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) { return remove(p); }

static int contains(const char *hay, const char *needle)
{
    int r = hay && strstr(hay, needle) != NULL;
    if (!r)
        diag("expected to find \"%s\"", needle);
    return r;
}

/* ---- tests: formats -------------------------------------------------------- */

static void test_formats(void)
{
    is_int(walf_crc32c(0, "123456789", 9), 0xE3069283u, "CRC32C check value");
    is_int(walf_crc32c_sw(0, "123456789", 9), 0xE3069283u, "CRC32C check value (slice-by-8)");
    diag("CRC32C implementation: %s", walf_crc32c_impl());
    unsigned char buf[1031];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    int same = 1;
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof buf; len += 37)
            if (walf_crc32c(0, buf + off, len) != walf_crc32c_sw(0, buf + off, len))
                same = 0;
    ok(same, "hardware and table CRC32C agree at every alignment");
    uint32_t whole = walf_crc32c(0, buf, sizeof buf);
    ok(walf_crc32c(walf_crc32c(walf_crc32c(0, buf, 5), buf + 5, 500), buf + 505, sizeof buf - 505) == whole,
       "CRC32C chains");

    char name[64];
    uint64_t seq;
    int64_t z;
    walf_seg_name(name, sizeof name, 7, 0x1234);
    is_str(name, "00000007-0000000000001234.wal", "segment name");
    ok(walf_parse_seg_name(name, &seq, &z) == 0 && seq == 7 && z == 0x1234, "segment name parses back");
    ok(walf_parse_seg_name("00000007-0000000000001234.wal.discarded", &seq, &z) < 0, "discarded segment not listed");
    ok(walf_parse_seg_name("00000007-000000000000123A.wal", &seq, &z) < 0, "uppercase hex refused");
    walf_snap_name(name, sizeof name, 0x100000005LL, "zst");
    is_str(name, "snapshot.0000000100000005.zst", "snapshot name");
    ok(walf_parse_snap_name(name, &z) == 0 && z == 0x100000005LL, "snapshot name parses back");

    unsigned char hdr[WALF_SEG_HEADER_SIZE];
    WalfSegHeader h = {WALF_VERSION, 3, 100, 99, 1 << 20}, h2;
    char err[256];
    walf_seg_header_encode(hdr, &h);
    ok(walf_seg_header_decode(hdr, sizeof hdr, &h2, err, sizeof err) == 0 && h2.seq == 3 && h2.first_zxid == 100 &&
           h2.prev_zxid == 99,
       "segment header round trip");
    hdr[20] ^= 1;
    ok(walf_seg_header_decode(hdr, sizeof hdr, &h2, err, sizeof err) < 0 && contains(err, "CRC mismatch"),
       "damaged segment header refused");
}

/* ---- tests: the module ---------------------------------------------------- */

static const CorralStorage *sf(const char *settings)
{
    const CorralStorage *st = load("storage_file", settings);
    if (!st)
        diag("loading storage_file: %s", load_err);
    return st;
}

static void test_basic(void)
{
    char dir[PATH_MAX], err[1024];
    Got g;
    mkdir_case(dir, sizeof dir, "basic");
    rec_base = 16;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    ok(st && strcmp(st->name, "storage_file") == 0, "storage_file loads and registers");
    if (!st)
        return;
    CorralStorageEnv env = env_for(dir);
    void *h = st->open(st->arg, &env, err, sizeof err);
    ok(h != NULL, "open a fresh directory");
    if (!h)
        return;
    ok(append_range(st, h, 1, 1, err, sizeof err) < 0 && contains(err, "before recover"), "append before recover refused");
    void *h2 = st->open(st->arg, &env, err, sizeof err);
    ok(!h2 && contains(err, "in use by another process"), "a second open of the same directory is refused");
    if (h2)
        st->close(h2);
    ok(do_recover(st, h, &g, err, sizeof err) == 0 && g.n == 0 && g.nsnap == 0, "recover an empty directory");
    reset_t(0);
    int rc = 0;
    for (int64_t z = 1; z <= 1000 && rc == 0; z += 50)
        rc = append_range(st, h, z, z + 49, err, sizeof err);
    ok(rc == 0, "1000 records appended in 20 calls");
    ok(wait_durable(1000), "all 1000 reported durable");
    is_int(T.disorder, 0, "durable zxids only go up");
    is_int(T.failed, 0, "no failure reported");
    ok(append_range(st, h, 1000, 1000, err, sizeof err) < 0 && contains(err, "does not follow"),
       "a zxid that does not increase is refused");
    st->close(h);

    h = open_recover(st, dir, &g);
    ok(h && g.n == 1000 && g.first == 1 && g.last == 1000 && g.bad == 0 && g.nsnap == 0,
       "reopen: exactly records 1..1000 come back, intact and in order");
    if (!h)
        return;
    ok(append_units(st, h, 1001, 1500, 100) == 0, "append 1001..1500 after recovery");
    st->close(h);
    h = open_recover(st, dir, &g);
    ok(h && g.n == 1500 && g.last == 1500 && g.bad == 0, "reopen again: 1..1500");
    if (h)
        st->close(h);
    char wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    is_int(count_suffix(wal, ".wal"), 1, "one segment (the first one continued after recovery)");
}

static void test_rollover(void)
{
    char dir[PATH_MAX], wal[PATH_MAX];
    Got g;
    mkdir_case(dir, sizeof dir, "rollover");
    snprintf(wal, sizeof wal, "%s/wal", dir);
    rec_base = 3000;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    if (!st)
        return;
    void *h = open_recover(st, dir, &g);
    if (!h)
        return;
    ok(append_units(st, h, 1, 1000, 100) == 0, "1000 records of ~3 KB appended");
    st->close(h);
    int nseg = count_suffix(wal, ".wal");
    ok(nseg >= 3, "segments roll over at segment_bytes");
    diag("%d segments", nseg);
    /* Every segment header chains to the previous segment's last record. */
    int chained = 1;
    int64_t last = 0;
    for (int i = 0; i < nseg; i++) {
        char p[PATH_MAX], e[256];
        WalfSegment s;
        nth_file(wal, ".wal", i, p, sizeof p);
        if (walf_seg_open(&s, p, e, sizeof e) < 0) {
            chained = 0;
            break;
        }
        if (s.hdr.prev_zxid != last || s.hdr.seq != (uint64_t)i + 1)
            chained = 0;
        WalfIter it;
        WalfRecord r;
        WalfStop sp;
        walf_iter_init(&it, &s);
        while (walf_iter_next(&it, &r, &sp))
            ;
        if (sp.kind != WALF_STOP_CLEAN || (i < nseg - 1 && s.size != 1048576))
            chained = 0;
        last = sp.last_zxid;
        walf_seg_close(&s);
    }
    ok(chained && last == 1000, "segment headers chain, every segment ends clean, preallocated to segment_bytes");
    h = open_recover(st, dir, &g);
    ok(h && g.n == 1000 && g.first == 1 && g.last == 1000 && g.bad == 0, "recovery reads across segments");
    if (h)
        st->close(h);
    rec_base = 16;
}

static void test_group_commit(void)
{
    char dir[PATH_MAX], err[512];
    Got g;
    mkdir_case(dir, sizeof dir, "group");
    rec_base = 16;
    const CorralStorage *st = sf("{segment_bytes: 8388608, snapshot_every_txns: 0}");
    if (!st)
        return;
    void *h = open_recover(st, dir, &g);
    if (!h)
        return;
    int64_t f0 = counter("fsyncs_total"), b0 = counter("wal_bytes_written");
    CorralMetricView v0, v1;
    corral_metric_read(corral_metric_find("txns_per_fsync"), &v0);
    int rc = 0;
    int64_t z = 0;
    /* 100 bursts of 100 single-record appends (as 100 loop turns of 100
     * concurrent writers would give): the writer syncs while the next
     * appends pile up. */
    for (int b = 0; b < 100 && rc == 0; b++) {
        for (int i = 0; i < 100 && rc == 0; i++, z++)
            rc = append_range(st, h, z + 1, z + 1, err, sizeof err);
        if (b % 10 == 9 && !wait_durable(z))
            rc = -1;
    }
    ok(rc == 0 && wait_durable(10000), "10,000 appends durable");
    int64_t fsyncs = counter("fsyncs_total") - f0;
    corral_metric_read(corral_metric_find("txns_per_fsync"), &v1);
    double txns = v1.sum - v0.sum;
    diag("10000 records, %lld fdatasyncs, %.1f records per fdatasync", (long long)fsyncs,
         fsyncs ? txns / (double)fsyncs : 0.0);
    ok(fsyncs > 0 && fsyncs < 10000, "group commit: fewer fdatasyncs than records");
    is_int((int64_t)txns, 10000, "txns_per_fsync accounts for every record");
    ok(counter("wal_bytes_written") - b0 > 10000 * 40, "wal_bytes_written counts the bytes");
    is_int(T.disorder, 0, "durable in order under bursts");
    st->close(h);
    h = open_recover(st, dir, &g);
    ok(h && g.n == 10000 && g.bad == 0, "all 10,000 recovered");
    if (h)
        st->close(h);
}

/* Appends faster than the disk: above max_backlog_bytes, append waits for
 * the writer (on the loop thread) instead of growing memory without bound. */
static void test_backpressure(void)
{
    char dir[PATH_MAX], err[512];
    Got g;
    mkdir_case(dir, sizeof dir, "backlog");
    rec_base = 500000;           /* ~0.5 MB records: three fill the 1 MiB backlog */
    /* A disk slower than the appends, whatever the machine: the writer
     * sleeps 50 ms before each batch (test_write_delay_ms). */
    const CorralStorage *st =
        sf("{segment_bytes: 4194304, snapshot_every_txns: 0, max_backlog_bytes: 1048576, test_write_delay_ms: 50}");
    if (!st)
        return;
    void *h = open_recover(st, dir, &g);
    if (!h)
        return;
    int64_t w0 = counter("wal_backpressure_waits"), z = 0;
    int rc = 0;
    capture_start();
    for (int round = 0; round < 50 && rc == 0 && counter("wal_backpressure_waits") == w0; round++)
        for (int i = 0; i < 4 && rc == 0; i++, z++)
            rc = append_range(st, h, z + 1, z + 1, err, sizeof err);
    const char *log = capture_end();
    ok(rc == 0 && counter("wal_backpressure_waits") > w0, "a backlog above max_backlog_bytes makes append wait");
    ok(contains(log, "WARN [storage] WAL backlog of"), "and says so (at most every 10 s)");
    ok(wait_durable(z) && T.disorder == 0, "every record still becomes durable, in order");
    st->close(h);
    h = open_recover(st, dir, &g);
    ok(h && g.n == z && g.bad == 0, "and recovers intact");
    if (h)
        st->close(h);
    rec_base = 16;
}

static void test_fsync_off(void)
{
    char dir[PATH_MAX];
    Got g;
    mkdir_case(dir, sizeof dir, "nofsync");
    const CorralStorage *st = sf("{fsync: false, segment_bytes: 1048576}");
    if (!st)
        return;
    capture_start();
    void *h = open_recover(st, dir, &g);
    const char *log = capture_end();
    ok(h && contains(log, "WARN") && contains(log, "acknowledged writes may be lost on a power failure"),
       "fsync: false warns at startup");
    if (!h)
        return;
    int64_t f0 = counter("fsyncs_total");
    ok(append_units(st, h, 1, 300, 100) == 0, "durable is still reported with fsync: false");
    is_int(counter("fsyncs_total") - f0, 0, "no fdatasync with fsync: false");
    st->close(h);
    h = open_recover(st, dir, &g);
    ok(h && g.n == 300 && g.bad == 0, "records written with fsync: false recover");
    if (h)
        st->close(h);
}

typedef struct SnapJob {
    const CorralStorage *st;
    void *h;
    int64_t zxid;
    int rc;
    char err[512];
} SnapJob;

static void *snap_thread(void *arg)
{
    SnapJob *j = arg;
    size_t len;
    void *data = snap_make(j->zxid, &len);
    j->rc = j->st->snapshot(j->h, j->zxid, data, len, j->err, sizeof j->err);
    free(data);
    return NULL;
}

static int snapshot_on_thread(const CorralStorage *st, void *h, int64_t zxid, int64_t wait_for)
{
    SnapJob j = {st, h, zxid, -1, ""};
    pthread_t t;
    pthread_create(&t, NULL, snap_thread, &j);
    if (wait_for)
        wait_durable(wait_for);
    pthread_join(t, NULL);
    if (j.rc < 0)
        diag("snapshot at %lld: %s", (long long)zxid, j.err);
    return j.rc;
}

static void test_snapshots(void)
{
    char dir[PATH_MAX], wal[PATH_MAX], err[1024];
    Got g;
    mkdir_case(dir, sizeof dir, "snap");
    snprintf(wal, sizeof wal, "%s/wal", dir);
    rec_base = 2000;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 100, keep_snapshots: 2, zstd_level: 5}");
    if (!st)
        return;
    void *h = open_recover(st, dir, &g);
    if (!h)
        return;
    int handled = 0, rc = 0;
    int64_t snaps_taken[64];
    int nsn = 0;
    int64_t s0 = counter("snapshots_total");
    for (int64_t z = 1; z <= 3000 && rc == 0; z += 50) {
        rc = append_units(st, h, z, z + 49, 50);
        while (rc == 0 && handled < T.snapreq) {
            /* The core clones its state at its last zxid and stores it from
             * its snapshot thread. */
            handled++;
            rc = snapshot_on_thread(st, h, T.last, 0);
            if (nsn < 64)
                snaps_taken[nsn++] = T.last;
        }
    }
    ok(rc == 0, "3000 records with snapshots on request");
    ok(T.snapreq >= 25 && T.snapreq <= 30, "request_snapshot every ~100 records");
    diag("%d snapshot requests", T.snapreq);
    is_int(counter("snapshots_total") - s0, nsn, "snapshots_total counts them");
    ok(counter("snapshot_size_bytes") > 0 && counter("snapshot_time_ms") >= nsn, "snapshot metrics set");
    is_int(count_suffix(dir, ".zst"), 2, "retention keeps keep_snapshots snapshots");
    char p[PATH_MAX];
    WalfSegHeader first;
    nth_file(wal, ".wal", 0, p, sizeof p);
    int64_t oldest_kept = nsn >= 2 ? snaps_taken[nsn - 2] : 0;
    ok(walf_seg_read_header(p, &first, err, sizeof err) == 0 && first.prev_zxid <= oldest_kept && first.seq > 1,
       "old WAL segments removed; the oldest kept one starts before the oldest kept snapshot");
    diag("first segment %s, prev zxid %lld, oldest kept snapshot %lld", p, (long long)first.prev_zxid,
         (long long)oldest_kept);

    /* A snapshot may name a zxid not yet durable: it waits for the WAL. */
    char e2[512];
    ok(append_range(st, h, 3001, 3100, e2, sizeof e2) == 0 && snapshot_on_thread(st, h, 3100, 3100) == 0,
       "snapshot waits for the WAL to hold its zxid");
    is_int(count_suffix(dir, ".zst"), 2, "still two snapshots");
    st->close(h);

    h = open_recover(st, dir, &g);
    ok(h && g.nsnap == 1 && g.snap_zxid == 3100 && g.snap_ok && g.n == 0, "recovery loads the newest snapshot intact");
    if (h) {
        ok(append_units(st, h, 3101, 3200, 50) == 0, "append after a snapshot-only recovery");
        st->close(h);
    }
    h = open_recover(st, dir, &g);
    ok(h && g.nsnap == 1 && g.snap_zxid == 3100 && g.snap_ok && g.n == 100 && g.first == 3101 && g.last == 3200 &&
           g.bad == 0,
       "snapshot, then exactly the records after it");
    if (h)
        st->close(h);

    /* A corrupt newest snapshot: fall back to the previous one + WAL. */
    char newest[PATH_MAX], older[PATH_MAX];
    nth_file(dir, ".zst", -1, newest, sizeof newest);
    nth_file(dir, ".zst", -2, older, sizeof older);
    int64_t older_zxid = 0;
    walf_parse_snap_name(strrchr(older, '/') + 1, &older_zxid);
    flip_byte(newest, 64 + 20);
    capture_start();
    h = open_recover(st, dir, &g);
    const char *log = capture_end();
    ok(h && g.nsnap == 1 && g.snap_zxid == older_zxid && g.snap_ok && g.first == older_zxid + 1 && g.last == 3200 &&
           g.bad == 0,
       "corrupt newest snapshot: the previous one and the WAL after it");
    ok(contains(log, "is corrupt") && contains(log, "payload CRC mismatch") && contains(log, "falling back"),
       "the fallback is logged with the reason");
    is_int(count_suffix(dir, ".corrupt"), 1, "the corrupt snapshot is set aside as .corrupt");
    if (h)
        st->close(h);

    /* Every snapshot corrupt and the WAL's start deleted: refuse, never an
     * empty tree. */
    nth_file(dir, ".zst", -1, older, sizeof older);
    flip_byte(older, 64 + 30);
    CorralStorageEnv env = env_for(dir);
    capture_start();
    h = st->open(st->arg, &env, err, sizeof err);
    rc = h ? do_recover(st, h, &g, err, sizeof err) : -1;
    capture_end();
    ok(rc < 0 && contains(err, "no usable snapshot") && contains(err, "missing"),
       "no usable snapshot and a WAL that does not reach back: recovery refuses");
    diag("error: %s", err);
    if (h)
        st->close(h);
    rec_base = 16;
}

/* 200 records in 4 write units of 50; returns the last segment's path. */
static const CorralStorage *make_log(const char *name, char *dir, char *seg, int64_t n, int64_t per)
{
    Got g;
    mkdir_case(dir, PATH_MAX, name);
    rec_base = 16;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    if (!st)
        return NULL;
    void *h = open_recover(st, dir, &g);
    if (!h)
        return NULL;
    int rc = append_units(st, h, 1, n, per);
    st->close(h);
    char wal[PATH_MAX];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    if (rc < 0 || nth_file(wal, ".wal", -1, seg, PATH_MAX) < 0)
        return NULL;
    return st;
}

static void test_torn_tails(void)
{
    char dir[PATH_MAX], seg[PATH_MAX];
    Got g;

    /* Cut in the middle of the last record. */
    const CorralStorage *st = make_log("torn_cut", dir, seg, 200, 50);
    long long off = st ? record_offset(seg, 200, NULL) : -1;
    ok(off > 0 && truncate(seg, off + 30) == 0, "cut the segment 30 bytes into record 200");
    capture_start();
    void *h = st ? open_recover(st, dir, &g) : NULL;
    const char *log = capture_end();
    ok(h && g.n == 199 && g.last == 199 && g.bad == 0, "torn tail: recovers records 1..199");
    ok(contains(log, "WARN [storage]") && contains(log, "torn tail") && contains(log, "dropped 30 bytes"),
       "the truncation is logged with the bytes dropped");
    if (h) {
        ok(append_units(st, h, 200, 300, 50) == 0, "appending continues where the good records end");
        st->close(h);
        h = open_recover(st, dir, &g);
        ok(h && g.n == 300 && g.last == 300 && g.bad == 0, "and recovers 1..300 after that");
        if (h)
            st->close(h);
    }

    /* Cut, then zeros appended. */
    st = make_log("torn_zeros", dir, seg, 200, 50);
    off = st ? record_offset(seg, 200, NULL) : -1;
    ok(off > 0 && truncate(seg, off + 30) == 0 && truncate(seg, off + 30 + 65536) == 0,
       "cut record 200 and append 64 KiB of zeros");
    capture_start();
    h = st ? open_recover(st, dir, &g) : NULL;
    log = capture_end();
    ok(h && g.n == 199 && g.bad == 0 && contains(log, "dropped 30 bytes"), "partial record followed by zeros: torn");
    if (h)
        st->close(h);

    /* Zeros appended after a complete log: a clean end, nothing to say. */
    st = make_log("clean_zeros", dir, seg, 200, 50);
    struct stat sb;
    ok(st && stat(seg, &sb) == 0 && truncate(seg, sb.st_size + 8192) == 0, "append zeros after the last record");
    capture_start();
    h = st ? open_recover(st, dir, &g) : NULL;
    log = capture_end();
    ok(h && g.n == 200 && g.bad == 0 && !strstr(log, "torn"), "zeros after the last record are a clean end");
    if (h)
        st->close(h);

    /* Garbage after the last record. */
    st = make_log("torn_garbage", dir, seg, 200, 50);
    uint32_t len = 0;
    off = st ? record_offset(seg, 200, &len) : -1;
    unsigned char junk[100];
    for (int i = 0; i < 100; i++)
        junk[i] = (unsigned char)(i * 37 + 11) | 1;
    ok(off > 0 && patch_file(seg, off + WALF_REC_HEADER_SIZE + len, junk, sizeof junk) == 0,
       "100 bytes of garbage after record 200");
    capture_start();
    h = st ? open_recover(st, dir, &g) : NULL;
    log = capture_end();
    ok(h && g.n == 200 && g.bad == 0 && contains(log, "dropped 100 bytes"), "garbage tail dropped, every record kept");
    if (h)
        st->close(h);

    /* A hole inside the last write unit (its later pages reached the disk,
     * an earlier one did not): still a torn, unacknowledged write. */
    st = make_log("torn_hole", dir, seg, 200, 50);
    off = st ? record_offset(seg, 180, &len) : -1;
    unsigned char zeros[4096] = {0};
    ok(off > 0 && patch_file(seg, off, zeros, WALF_REC_HEADER_SIZE + len) == 0, "zero record 180 (last write unit)");
    capture_start();
    h = st ? open_recover(st, dir, &g) : NULL;
    log = capture_end();
    ok(h && g.n == 179 && g.bad == 0, "hole in the last write unit: recovers 1..179");
    ok(contains(log, "20 complete records") && contains(log, "never acknowledged"),
       "the dropped records of the unfinished write are named");
    if (h)
        st->close(h);
}

static void test_damage(void)
{
    char dir[PATH_MAX], seg[PATH_MAX], err[1024], expect[PATH_MAX + 64];
    Got g;
    const CorralStorage *st = make_log("flip", dir, seg, 200, 50);
    long long off = st ? record_offset(seg, 60, NULL) : -1;
    ok(off > 0 && flip_byte(seg, off + WALF_REC_HEADER_SIZE + 3) == 0, "flip a byte in record 60 (second write unit)");
    CorralStorageEnv env = env_for(dir);
    void *h = st ? st->open(st->arg, &env, err, sizeof err) : NULL;
    int rc = h ? do_recover(st, h, &g, err, sizeof err) : 0;
    ok(rc < 0, "a damaged record followed by later writes stops recovery");
    diag("error: %s", err);
    snprintf(expect, sizeof expect, "WAL segment %s, offset %lld: CRC mismatch", seg, off);
    ok(contains(err, expect), "the error names the file, the offset and the check that failed");
    ok(contains(err, "after zxid 0x3b") && contains(err, "zxid 0x65") && contains(err, "accept_truncation"),
       "the error names the last good zxid, the later record and the way out");
    is_int(g.n, 59, "records before the damage were delivered, none after");
    if (h)
        st->close(h);

    /* The operator accepts the loss. */
    const CorralStorage *sta = sf("{segment_bytes: 1048576, snapshot_every_txns: 0, accept_truncation: true}");
    capture_start();
    h = sta ? open_recover(sta, dir, &g) : NULL;
    const char *log = capture_end();
    ok(h && g.n == 59 && g.last == 59 && g.bad == 0, "accept_truncation: recovers to the last good record");
    ok(contains(log, "ERROR [storage] accept_truncation") && contains(log, "LOST") && contains(log, "0x3d..0xc8"),
       "and says loudly what is lost");
    if (h)
        sta->close(h);
    st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    h = st ? open_recover(st, dir, &g) : NULL;
    ok(h && g.n == 59 && g.bad == 0, "the truncation is on disk: a normal start now recovers 1..59");
    if (h) {
        ok(append_units(st, h, 60, 120, 30) == 0, "and the log continues from there");
        st->close(h);
    }

    /* Damage in a segment that is not the last, and a missing segment. */
    char wal[PATH_MAX], seg1[PATH_MAX], seg2[PATH_MAX], moved[PATH_MAX + 8];
    mkdir_case(dir, sizeof dir, "multi");
    snprintf(wal, sizeof wal, "%s/wal", dir);
    rec_base = 3000;
    h = open_recover(st, dir, &g);
    rc = h ? append_units(st, h, 1, 1000, 100) : -1;
    if (h)
        st->close(h);
    ok(rc == 0 && count_suffix(wal, ".wal") >= 3, "three or more segments");
    nth_file(wal, ".wal", 0, seg1, sizeof seg1);
    nth_file(wal, ".wal", 1, seg2, sizeof seg2);
    int64_t seg1_last = 0;
    {
        WalfSegment s;
        WalfIter it;
        WalfRecord r;
        WalfStop sp;
        char e[256];
        if (walf_seg_open(&s, seg1, e, sizeof e) == 0) {
            walf_iter_init(&it, &s);
            while (walf_iter_next(&it, &r, &sp))
                ;
            seg1_last = sp.last_zxid;
            walf_seg_close(&s);
        }
    }
    /* The last record of the first segment: its tail looks torn, but a
     * segment that is not the last was synced before the next began. */
    off = record_offset(seg1, seg1_last, NULL);
    flip_byte(seg1, off + 40);
    h = st->open(st->arg, &env, err, sizeof err);
    rc = h ? do_recover(st, h, &g, err, sizeof err) : 0;
    diag("error: %s", err);
    snprintf(expect, sizeof expect, "WAL segment %s, offset %lld", seg1, off);
    ok(rc < 0 && contains(err, expect) && contains(err, "not the last one"), "damage in an older segment stops recovery");
    if (h)
        st->close(h);
    flip_byte(seg1, off + 40);
    snprintf(moved, sizeof moved, "%s.away", seg2);
    rename(seg2, moved);
    h = st->open(st->arg, &env, err, sizeof err);
    rc = h ? do_recover(st, h, &g, err, sizeof err) : 0;
    diag("error: %s", err);
    ok(rc < 0 && contains(err, "00000002 is missing"), "a missing segment stops recovery");
    if (h)
        st->close(h);
    const CorralStorage *st2 = sf("{segment_bytes: 1048576, accept_truncation: true}");
    capture_start();
    h = st2 ? open_recover(st2, dir, &g) : NULL;
    log = capture_end();
    ok(h && g.n == seg1_last && g.bad == 0 && contains(log, "LOST"),
       "accept_truncation with a missing segment: recovers to the end of the segment before the hole");
    ok(count_suffix(wal, ".discarded") >= 1, "later segments set aside as .discarded");
    if (h)
        st2->close(h);
    rec_base = 16;
}

static void test_leftovers(void)
{
    char dir[PATH_MAX], seg[PATH_MAX], wal[PATH_MAX], p[PATH_MAX];
    Got g;
    const CorralStorage *st = make_log("leftovers", dir, seg, 100, 50);
    if (!st)
        return;
    snprintf(wal, sizeof wal, "%s/wal", dir);
    /* A segment created (header synced, renamed) but never written: the
     * server died between creating it and its first write. */
    unsigned char hdr[WALF_SEG_HEADER_SIZE];
    WalfSegHeader h0 = {WALF_VERSION, 2, 101, 100, 1 << 20};
    walf_seg_header_encode(hdr, &h0);
    char name[64];
    walf_seg_name(name, sizeof name, 2, 101);
    snprintf(p, sizeof p, "%s/%s", wal, name);
    int fd = open(p, O_CREAT | O_WRONLY, 0644);
    ssize_t w = write(fd, hdr, sizeof hdr);
    close(fd);
    snprintf(p, sizeof p, "%s/snapshot.0000000000000050.tmp", dir);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    snprintf(p, sizeof p, "%s/00000003-0000000000000200.wal.tmp", wal);
    close(open(p, O_CREAT | O_WRONLY, 0644));
    capture_start();
    void *h = open_recover(st, dir, &g);
    capture_end();
    ok(w == (ssize_t)sizeof hdr && h && g.n == 100 && g.bad == 0, "an empty last segment and .tmp files: recovery fine");
    is_int(count_suffix(wal, ".wal"), 1, "the empty segment was removed");
    snprintf(p, sizeof p, "%s/spare.tmp", wal);
    ok(count_suffix(dir, ".tmp") + count_suffix(wal, ".tmp") == 1 && access(p, F_OK) == 0,
       ".tmp leftovers removed, the spare segment kept");
    if (h) {
        ok(append_units(st, h, 101, 150, 50) == 0, "append after that");
        st->close(h);
        h = open_recover(st, dir, &g);
        ok(h && g.n == 150 && g.bad == 0, "recovers 1..150");
        if (h)
            st->close(h);
    }
}

/* A segment whose header disagrees with its first record (rewritten
 * header, consistent name): damage, reported as such. */
static void test_header_mismatch(void)
{
    char dir[PATH_MAX], seg[PATH_MAX], wal[PATH_MAX], p[PATH_MAX], err[1024];
    Got g;
    const CorralStorage *st = make_log("mismatch", dir, seg, 100, 50);
    if (!st)
        return;
    snprintf(wal, sizeof wal, "%s/wal", dir);
    unsigned char hdr[WALF_SEG_HEADER_SIZE];
    WalfSegHeader h0 = {WALF_VERSION, 1, 2, 0, 1 << 20};
    walf_seg_header_encode(hdr, &h0);
    char name[64];
    walf_seg_name(name, sizeof name, 1, 2);
    snprintf(p, sizeof p, "%s/%s", wal, name);
    ok(patch_file(seg, 0, hdr, sizeof hdr) == 0 && rename(seg, p) == 0, "segment header rewritten to say first zxid 2");
    CorralStorageEnv env = env_for(dir);
    void *h = st->open(st->arg, &env, err, sizeof err);
    int rc = h ? do_recover(st, h, &g, err, sizeof err) : 0;
    diag("error: %s", err);
    ok(rc < 0 && contains(err, "offset 48: first record has zxid 0x1, the header says 0x2: the log is damaged"),
       "first record and header disagree: recovery refuses");
    if (h)
        st->close(h);
}

/* ---- tests: the spare segment and a full disk ------------------------------ */

static int file_info(const char *path, struct stat *st) { return stat(path, st); }

/* The next segment is prepared ahead (wal/spare.tmp, preallocated) and is
 * the very file the next segment becomes. */
static void test_spare(void)
{
    char dir[PATH_MAX], wal[PATH_MAX], spare[PATH_MAX], p[PATH_MAX];
    Got g;
    mkdir_case(dir, sizeof dir, "spare");
    snprintf(wal, sizeof wal, "%s/wal", dir);
    snprintf(spare, sizeof spare, "%s/spare.tmp", wal);
    rec_base = 3000;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    if (!st)
        return;
    memset(&SP, 0, sizeof SP);
    void *h = open_recover(st, dir, &g);
    if (!h)
        return;
    struct stat s0, s1, s2;
    ok(file_info(spare, &s0) == 0 && s0.st_size == 1048576 && (int64_t)s0.st_blocks * 512 >= 1048576,
       "open prepares wal/spare.tmp, preallocated to segment_bytes");
    ok(SP.calls == 1 && !SP.low, "recovery reports room (space(NULL)) once");
    ok(append_units(st, h, 1, 100, 50) == 0, "first records");
    ok(nth_file(wal, ".wal", 0, p, sizeof p) == 0 && file_info(p, &s1) == 0 && s1.st_ino == s0.st_ino,
       "the first segment is the former spare (same inode)");
    ok(file_info(spare, &s2) == 0 && s2.st_ino != s0.st_ino && s2.st_size == 1048576,
       "a new spare is prepared once the spare is in use");
    ok(append_units(st, h, 101, 800, 100) == 0 && count_suffix(wal, ".wal") >= 3, "roll over to more segments");
    ok(file_info(spare, &s0) == 0 && s0.st_size == 1048576, "a spare is always ready");
    is_int(counter("wal_space_low"), 0, "wal_space_low is 0");
    st->close(h);
    capture_start();
    h = open_recover(st, dir, &g);
    const char *log = capture_end();
    ok(h && g.n == 800 && g.bad == 0, "recovery across segments made from spares");
    ok(!strstr(log, "spare.tmp"), "recovery keeps the spare without a word");
    if (h)
        st->close(h);

    /* A segment that cannot be preallocated at all (here: beyond the file
     * size limit) is refused at open, not at the first write. */
    mkdir_case(dir, sizeof dir, "spare_refused");
    struct rlimit old, small;
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 512 * 1024;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    char err[1024] = "";
    CorralStorageEnv env = env_for(dir);
    h = st->open(st->arg, &env, err, sizeof err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    diag("%s", err);
    ok(!h && contains(err, "WAL segments of 1048576 bytes cannot be preallocated in") &&
           contains(err, "the file size limit of this process (ulimit -f, RLIMIT_FSIZE) is 524288 bytes"),
       "a segment size above the file size limit: open refuses (before fallocate could raise SIGXFSZ)");
    if (h)
        st->close(h);
    /* Any other error preparing the spare (here: EISDIR) is no lack of
     * space: open refuses too. */
    snprintf(p, sizeof p, "%s/wal", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/wal/spare.tmp", dir);
    mkdir(p, 0755);
    err[0] = '\0';
    h = st->open(st->arg, &env, err, sizeof err);
    diag("%s", err);
    ok(!h && contains(err, "cannot be preallocated in") && contains(err, "spare.tmp: Is a directory"),
       "an error other than ENOSPC preparing the spare: open refuses with it");
    if (h)
        st->close(h);
    rmdir(p);
    rec_base = 16;
}

static int tmpfs_ok;
static char tmpfs_why[256] = "not tried";

/* A private mount namespace, so that the test's tmpfs is nobody else's and
 * goes away with the process.  Must run before any thread exists. */
static void tmpfs_setup(void)
{
    if (geteuid() != 0) {
        snprintf(tmpfs_why, sizeof tmpfs_why, "not root: no tmpfs to fill");
        return;
    }
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        snprintf(tmpfs_why, sizeof tmpfs_why, "no private mount namespace: %s", strerror(errno));
        return;
    }
    tmpfs_ok = 1;
}

/* Takes every free byte of the file system of `path` into that file. */
static long long fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return -1;
    static char chunk[65536];
    memset(chunk, 'f', sizeof chunk);
    long long n = 0;
    for (size_t sz = sizeof chunk; sz >= 512; sz /= 2) {
        ssize_t w;
        while ((w = write(fd, chunk, sz)) > 0)
            n += w;
    }
    close(fd);
    return n;
}

static int space_is_low(void) { return SP.low; }
static int space_is_back(void) { return !SP.low; }
static int never(void) { return 0; }

static void test_disk_full(void)
{
    const int ntests = 24;
    char mnt[PATH_MAX], dir[PATH_MAX], wal[PATH_MAX], filler[PATH_MAX], p[PATH_MAX], err[1024];
    snprintf(mnt, sizeof mnt, "%s/tmpfs", root);
    mkdir(mnt, 0755);
    if (tmpfs_ok && mount("tmpfs", mnt, "tmpfs", 0, "size=8m") < 0) {
        snprintf(tmpfs_why, sizeof tmpfs_why, "cannot mount a tmpfs: %s", strerror(errno));
        tmpfs_ok = 0;
    }
    if (!tmpfs_ok) {
        for (int i = 0; i < ntests; i++)
            printf("ok %d # skip disk full: %s\n", ++tap_run, tmpfs_why);
        return;
    }
    int ran = tap_run;
    Got g;
    snprintf(dir, sizeof dir, "%s/data", mnt);
    snprintf(wal, sizeof wal, "%s/wal", dir);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    rec_base = 3000;
    const CorralStorage *st = sf("{segment_bytes: 1048576, snapshot_every_txns: 0}");
    if (!st)
        goto done;
    memset(&SP, 0, sizeof SP);
    void *h = open_recover(st, dir, &g);
    if (!h)
        goto done;
    ok(fill_disk(filler) > 0, "a filler file takes every free byte of the 8 MiB tmpfs");

    /* The spare becomes the first segment; no room for the next spare. */
    capture_start();
    int rc = append_units(st, h, 1, 100, 50);
    int low = run_until(space_is_low, 5000);
    const char *log = capture_end();
    ok(rc == 0, "writes go on in the segment that was the spare");
    ok(low && contains(SP.why, "spare.tmp") && contains(SP.why, "No space left on device") &&
           contains(SP.why, "1048576 bytes"),
       "space(why) is reported while the current segment still has room, naming the file, size and error");
    ok(contains(log, "WARN [storage] out of space for the WAL: "), "and logged once as a WARN");
    is_int(counter("wal_space_low"), 1, "wal_space_low is 1");

    /* A snapshot without room is skipped; nothing is removed. */
    SnapJob j = {st, h, 100, -1, ""};
    pthread_t th;
    pthread_create(&th, NULL, snap_thread, &j);
    pthread_join(th, NULL);
    ok(j.rc < 0 && contains(j.err, "skipped for lack of space") && contains(j.err, "the WAL still holds every"),
       "a snapshot without room is skipped with a clear message");
    is_int(count_suffix(dir, ".zst") + count_suffix(dir, ".tmp"), 0, "and leaves no file behind");

    /* Past the end of the segment, with no spare: the writer waits. */
    int64_t f0 = counter("wal_space_failures");
    ok(append_range(st, h, 101, 500, err, sizeof err) == 0, "400 more records (more than the segment holds)");
    run_until(never, 2500);
    int64_t stuck = T.last;
    ok(stuck >= 100 && stuck < 500, "what fits is durable, the rest waits");
    diag("durable up to %lld of 500", (long long)stuck);
    is_int(T.failed, 0, "no failure: the writer waits for room");
    ok(counter("wal_space_failures") - f0 >= 2, "and retries (wal_space_failures counts the attempts)");
    ok(append_range(st, h, 501, 510, err, sizeof err) == 0, "append still takes records while the writer waits");

    /* Room again: the queued records go out, then a new spare. */
    capture_start();
    unlink(filler);
    int back = wait_durable(510);
    back = back && run_until(space_is_back, 5000);
    log = capture_end();
    ok(back && T.disorder == 0 && T.failed == 0, "room again: every queued record becomes durable, in order");
    ok(contains(log, "INFO [storage] room for the WAL again"), "space(NULL) reported and logged");
    is_int(counter("wal_space_low"), 0, "wal_space_low back to 0");
    st->close(h);
    h = open_recover(st, dir, &g);
    ok(h && g.n == 510 && g.last == 510 && g.bad == 0, "recovery: records 1..510, intact");
    if (!h)
        goto done;

    /* Closing while the writer waits for room: close does not hang, and
     * recovery finds exactly what was durable. */
    fill_disk(filler);
    rc = append_range(st, h, 511, 1500, err, sizeof err);
    run_until(never, 2500);
    stuck = T.last;
    ok(rc == 0 && stuck >= 510 && stuck < 1500, "disk full again: the writer waits with records queued");
    capture_start();
    st->close(h);
    log = capture_end();
    ok(contains(log, "closing without room for the WAL"), "close gives up on what it cannot write, and says so");
    unlink(filler);
    h = open_recover(st, dir, &g);
    ok(h && g.last == stuck && g.bad == 0, "recovery: exactly what was durable");
    diag("recovered up to %lld", (long long)g.last);
    if (h)
        st->close(h);

    /* No room at startup: open and recovery work, space(why) is reported
     * at once, and room coming back clears it. */
    snprintf(p, sizeof p, "%s/spare.tmp", wal);
    unlink(p);
    fill_disk(filler);
    memset(&SP, 0, sizeof SP);
    int64_t want = stuck;
    h = open_recover(st, dir, &g);
    ok(h && g.last == want, "no room at startup: open and recovery still work");
    ok(SP.low && contains(SP.why, "spare.tmp"), "space(why) is reported by recovery");
    if (h) {
        unlink(filler);
        ok(run_until(space_is_back, 5000), "room again: space(NULL) without any write");
        ok(append_units(st, h, want + 1, want + 10, 10) == 0, "and writes work");
        st->close(h);
    } else {
        ok(0, "room again: space(NULL) without any write");
        ok(0, "and writes work");
    }

    /* A segment size the file system cannot hold twice is refused at open. */
    st = sf("{segment_bytes: 8388608}");
    CorralStorageEnv env = env_for(dir);
    h = st ? st->open(st->arg, &env, err, sizeof err) : NULL;
    diag("%s", err);
    ok(!h && contains(err, "do not fit on the file system") && contains(err, "8388608"),
       "segment_bytes above half the file system: open refuses with a clear message");
    if (h)
        st->close(h);
done:
    while (tap_run < ran + ntests)
        ok(0, "disk full test did not get this far");
    rec_base = 16;
    umount2(mnt, MNT_DETACH);
}

static void test_memory(void)
{
    const CorralStorage *st = load("storage_memory", "{}");
    ok(st && strcmp(st->name, "storage_memory") == 0 && st->snapshot == NULL, "storage_memory loads, keeps no snapshots");
    if (!st)
        return;
    char err[512];
    Got g;
    CorralStorageEnv env = env_for("/nonexistent");
    capture_start();
    void *h = st->open(st->arg, &env, err, sizeof err);
    const char *log = capture_end();
    ok(h && contains(log, "WARN") && contains(log, "nothing is durable"), "storage_memory warns at startup");
    if (!h)
        return;
    ok(do_recover(st, h, &g, err, sizeof err) == 0 && g.n == 0 && g.nsnap == 0, "storage_memory recovers nothing");
    reset_t(0);
    ok(append_range(st, h, 1, 10, err, sizeof err) == 0 && T.last == 10, "storage_memory: durable at once");
    ok(append_range(st, h, 5, 5, err, sizeof err) < 0, "storage_memory refuses a zxid going back");
    st->close(h);
    ok(!load("storage_memory", "{dir: x}") && contains(load_err, "test.yaml:"), "storage_memory takes no settings");
}

static void test_config(void)
{
    ok(!load("storage_file", "{zstd_level: 25}") && contains(load_err, "test.yaml:5:") &&
           contains(load_err, "zstd_level"),
       "zstd_level out of range: FILE:LINE:COLUMN error");
    diag("%s", load_err);
    ok(!load("storage_file", "{bogus: 1}") && contains(load_err, "bogus"), "unknown key refused");
    diag("%s", load_err);
    ok(!load("storage_file", "{segment_bytes: 1000}") && contains(load_err, "segment_bytes"),
       "segment_bytes below 1 MiB refused");
    ok(!load("storage_file", "{fsync: maybe}") && contains(load_err, "fsync"), "fsync must be a bool");
    ok(!load("storage_file", "{keep_snapshots: 0}") && contains(load_err, "keep_snapshots"), "keep_snapshots >= 1");
    ok(load("storage_file", "{}") != NULL, "no settings: defaults");
}

int main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        printf("Bail out! cannot find myself\n");
        return 1;
    }
    self[n] = '\0';
    snprintf(exe_dir, sizeof exe_dir, "%s", dirname(self));
    char so[PATH_MAX + 32];
    snprintf(so, sizeof so, "%s/../modules/storage_file.so", exe_dir);
    if (access(so, R_OK) != 0) {
        printf("Bail out! %s is not built\n", so);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/corral-storage-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    tmpfs_setup();
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (el_init() < 0) {
        printf("Bail out! el_init\n");
        return 1;
    }
    /* The modules' INFO lines only while a test captures them. */
    corral_log_set_level(CORRAL_LOG_WARN);

    test_formats();
    test_config();
    test_basic();
    test_rollover();
    test_group_commit();
    test_backpressure();
    test_fsync_off();
    test_snapshots();
    test_torn_tails();
    test_damage();
    test_leftovers();
    test_header_mismatch();
    test_spare();
    test_disk_full();
    test_memory();

    module_unload_all();
    el_shutdown();
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
