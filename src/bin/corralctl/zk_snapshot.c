/*
 * src/bin/corralctl/zk_snapshot.c: ZooKeeper's data directory listing and
 * its snapshots (FileSnap), read into a Corral tree and written from one.
 * The byte layouts are in zk_format.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "utils/alloc.h"
#include "wire/wire.h"
#include "corralctl.h"
#include "storage_tool.h"
#include "zk_format.h"

/* ---- the directory ---------------------------------------------------------- */

/* ZooKeeper's Util.getZxidFromName: "<prefix>.<hex>" with an optional
 * ".gz"/".snappy" (snapshots).  0 with *zxid, or -1. */
static int parse_name(const char *name, const char *prefix, int64_t *zxid, ZkCodec *codec)
{
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] != '.')
        return -1;
    const char *p = name + pl + 1;
    size_t n = strspn(p, "0123456789abcdefABCDEF");
    if (n == 0 || n > 16)
        return -1;
    *codec = ZK_PLAIN;
    if (p[n] == '\0')
        ;
    else if (codec && strcmp(prefix, "snapshot") == 0 && strcmp(p + n, ".gz") == 0)
        *codec = ZK_GZ;
    else if (codec && strcmp(prefix, "snapshot") == 0 && strcmp(p + n, ".snappy") == 0)
        *codec = ZK_SNAPPY;
    else
        return -1;
    *zxid = (int64_t)strtoull(p, NULL, 16);
    return 0;
}

static int cmp_desc(const void *a, const void *b)
{
    const ZkFile *x = a, *y = b;
    return (x->zxid < y->zxid) - (x->zxid > y->zxid);
}

static int cmp_asc(const void *a, const void *b) { return -cmp_desc(a, b); }

static int list_files(const char *dir, const char *prefix, ZkFile **out, size_t *n, char *err, size_t errlen)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        ctl_fmt(err, errlen, "cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    size_t cap = 0;
    while ((e = readdir(dh)) != NULL) {
        int64_t z;
        ZkCodec c;
        if (parse_name(e->d_name, prefix, &z, &c) < 0)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            *out = xrealloc(*out, cap * sizeof **out);
        }
        ZkFile *f = &(*out)[(*n)++];
        ctl_fmt(f->path, sizeof f->path, "%s/%s", dir, e->d_name);
        f->zxid = z;
        f->codec = c;
    }
    closedir(dh);
    if (*n)
        qsort(*out, *n, sizeof **out, strcmp(prefix, "snapshot") == 0 ? cmp_desc : cmp_asc);
    return 0;
}

static int64_t read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long v = -1;
    if (fscanf(f, "%lld", &v) != 1)
        v = -1;
    fclose(f);
    return v;
}

/* dataDir or dataDir/version-2: the directory that holds the files. */
static void version_dir(char *out, size_t n, const char *dir)
{
    char v2[PATH_MAX];
    ctl_fmt(v2, sizeof v2, "%s/version-2", dir);
    ctl_fmt(out, n, "%s", is_dir(v2) ? v2 : dir);
}

int zk_dir_open(ZkDir *d, const char *from, const char *logdir, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->accepted_epoch = d->current_epoch = d->myid = -1;
    if (!is_dir(from)) {
        ctl_fmt(err, errlen, "%s is not a directory", from);
        return -1;
    }
    if (logdir && !is_dir(logdir)) {
        ctl_fmt(err, errlen, "%s is not a directory", logdir);
        return -1;
    }
    version_dir(d->snapdir, sizeof d->snapdir, from);
    version_dir(d->logdir, sizeof d->logdir, logdir ? logdir : from);
    if (list_files(d->snapdir, "snapshot", &d->snaps, &d->nsnaps, err, errlen) < 0 ||
        list_files(d->logdir, "log", &d->logs, &d->nlogs, err, errlen) < 0) {
        zk_dir_free(d);
        return -1;
    }
    char p[PATH_MAX + 32];
    ctl_fmt(p, sizeof p, "%s/acceptedEpoch", d->snapdir);
    d->accepted_epoch = read_number(p);
    ctl_fmt(p, sizeof p, "%s/currentEpoch", d->snapdir);
    d->current_epoch = read_number(p);
    ctl_fmt(p, sizeof p, "%s/myid", from);
    d->myid = read_number(p);
    if (d->nsnaps == 0 && d->nlogs == 0) {
        ctl_fmt(err, errlen, "%s holds no ZooKeeper snapshot (snapshot.*) and no transaction log (log.*)", d->snapdir);
        zk_dir_free(d);
        return -1;
    }
    return 0;
}

void zk_dir_free(ZkDir *d)
{
    free(d->snaps);
    free(d->logs);
    d->snaps = d->logs = NULL;
    d->nsnaps = d->nlogs = 0;
}

/* ---- reading a snapshot's stream --------------------------------------------- */

static int read_file(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        ctl_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        ctl_fmt(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ctl_fmt(err, errlen, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;
}

/* GZIPInputStream: one gzip member. */
static int gunzip(const unsigned char *in, size_t n, unsigned char **out, size_t *outlen, char *why, size_t whylen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        ctl_fmt(why, whylen, "zlib: cannot start");
        return -1;
    }
    size_t cap = n * 4 + 4096, len = 0;
    unsigned char *buf = xmalloc(cap);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (cap - len < 65536) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        z.next_out = buf + len;
        z.avail_out = (uInt)(cap - len > (1u << 30) ? (1u << 30) : cap - len);
        uInt before = z.avail_out;
        rc = inflate(&z, Z_NO_FLUSH);
        len += before - z.avail_out;
    } while (rc == Z_OK);
    int ok = rc == Z_STREAM_END && z.avail_in == 0;
    if (!ok)
        ctl_fmt(why, whylen, "gzip stream %s at compressed byte %lu",
             rc == Z_STREAM_END ? "has trailing bytes" : rc == Z_BUF_ERROR ? "is truncated" : "is corrupt",
             (unsigned long)z.total_in);
    inflateEnd(&z);
    if (!ok) {
        free(buf);
        return -2;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static const unsigned char snappy_magic[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};

/* xerial's SnappyInputStream: the header, then (int length, raw block)*. */
static int unsnappy(const unsigned char *in, size_t n, unsigned char **out, size_t *outlen, char *why,
                    size_t whylen)
{
    if (n < 16 || memcmp(in, snappy_magic, 8) != 0) {
        ctl_fmt(why, whylen, "not a snappy stream (bad magic)");
        return -2;
    }
    size_t pos = 16, cap = n * 3 + 4096, len = 0;
    unsigned char *buf = xmalloc(cap);
    while (pos < n) {
        if (n - pos < 4)
            goto bad;
        uint32_t bl = (uint32_t)in[pos] << 24 | (uint32_t)in[pos + 1] << 16 | (uint32_t)in[pos + 2] << 8 | in[pos + 3];
        pos += 4;
        size_t ul;
        if (bl > n - pos || snappy_uncompressed_length((const char *)in + pos, bl, &ul) != SNAPPY_OK)
            goto bad;
        while (cap - len < ul) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = ul;
        if (snappy_uncompress((const char *)in + pos, bl, (char *)buf + len, &got) != SNAPPY_OK || got != ul)
            goto bad;
        len += ul;
        pos += bl;
    }
    *out = buf;
    *outlen = len;
    return 0;
bad:
    ctl_fmt(why, whylen, "snappy block at byte %zu is truncated or corrupt", pos);
    free(buf);
    return -2;
}

/* ---- parsing ------------------------------------------------------------------- */

uint64_t zk_node_digest(const char *path, size_t plen, const void *data, int32_t dlen, const ZStatPersisted *st)
{
    if (plen >= 11 && memcmp(path, "/zookeeper/", 11) == 0)
        return 0;
    if (plen == 1 && path[0] == '/')
        plen = 0;
    unsigned char b[60], *p = b;
    int64_t l[5] = {st->czxid, st->mzxid, st->pzxid, st->ctime, st->mtime};
    for (int i = 0; i < 5; i++)
        for (int k = 7; k >= 0; k--)
            *p++ = (unsigned char)((uint64_t)l[i] >> (8 * k));
    int32_t v[3] = {st->version, st->cversion, st->aversion};
    for (int i = 0; i < 3; i++)
        for (int k = 3; k >= 0; k--)
            *p++ = (unsigned char)((uint32_t)v[i] >> (8 * k));
    for (int k = 7; k >= 0; k--)
        *p++ = (unsigned char)((uint64_t)st->ephemeral_owner >> (8 * k));
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)path, (uInt)plen);
    if (data && dlen > 0)
        c = crc32(c, data, (uInt)dlen);
    c = crc32(c, b, sizeof b);
    return (uint64_t)c;
}

typedef struct AclRef {
    int64_t ref;
    uint32_t id;
} AclRef;

static int cmp_aclref(const void *a, const void *b)
{
    const AclRef *x = a, *y = b;
    return (x->ref > y->ref) - (x->ref < y->ref);
}

/* The seal: long Adler32 of every byte before it, then the string "/". */
static int check_seal(RBuf *r, const unsigned char *data, char *why, size_t whylen)
{
    size_t at = r->pos;
    uLong want = adler32_z(adler32(0L, Z_NULL, 0), data, at);
    int64_t val = rbuf_get_long(r);
    ZkBytes slash = rbuf_get_bytes(r);
    if (r->err || slash.len != 1 || slash.data[0] != '/') {
        ctl_fmt(why, whylen, "no checksum seal at byte %zu (the file is truncated)", at);
        return -1;
    }
    if ((uint64_t)val != (uint64_t)want) {
        ctl_fmt(why, whylen, "Adler32 mismatch at byte %zu: the file says 0x%08" PRIx64 ", its bytes give 0x%08lx", at,
             (uint64_t)val, (unsigned long)want);
        return -1;
    }
    return 0;
}

/* A quorum member keeps its dynamic configuration (the server.N lines of
 * the ZooKeeper ensemble) in /zookeeper/config, written locally at startup.
 * Carried over, it would point clients that follow it (Curator's
 * EnsembleTracker) at the old servers: the node is given back the state
 * Corral's tree starts with (that of a standalone ZooKeeper). */
static void reset_config_node(ZkSnapshot *s)
{
    static const char cfg[] = "/zookeeper/config";
    ZNode *n = tree_lookup(s->tree, cfg, sizeof cfg - 1);
    const char *d;
    int32_t dl;
    if (!n)
        return;
    tree_data(n, &d, &dl);
    if (dl <= 0)
        return;
    Tree *fresh = tree_new();
    ZStatPersisted st;
    tree_stat_persisted(tree_lookup(fresh, cfg, sizeof cfg - 1), &st);
    tree_free(fresh);
    tree_restore_node(s->tree, cfg, sizeof cfg - 1, "", 0, tree_node_acl(n), &st);
    s->config_reset = 1;
}

static int parse(const unsigned char *data, size_t len, ZkSnapshot *s, ZkProgressFn progress, void *pctx, char *why,
                 size_t whylen)
{
    RBuf r;
    rbuf_init(&r, data, len);
    uint32_t magic = (uint32_t)rbuf_get_int(&r);
    int32_t version = rbuf_get_int(&r);
    rbuf_get_long(&r);
    if (r.err || magic != ZK_SNAP_MAGIC) {
        ctl_fmt(why, whylen, "not a ZooKeeper snapshot (bad magic)");
        return -1;
    }
    if (version != 2) {
        ctl_fmt(why, whylen, "snapshot format version %d (only 2 is known)", version);
        return -1;
    }
    int32_t ns = rbuf_get_int(&r);
    if (r.err || ns < 0 || (size_t)ns > rbuf_remaining(&r) / 12) {
        ctl_fmt(why, whylen, "bad session count at byte %zu", r.pos);
        return -1;
    }
    s->nsessions = (size_t)ns;
    s->sessions = xcalloc((size_t)ns + 1, 2 * sizeof *s->sessions);
    for (int32_t i = 0; i < ns; i++) {
        s->sessions[2 * i] = rbuf_get_long(&r);
        s->sessions[2 * i + 1] = rbuf_get_int(&r);
    }
    int32_t nacls = rbuf_get_int(&r);
    if (r.err || nacls < 0 || (size_t)nacls > rbuf_remaining(&r) / 12) {
        ctl_fmt(why, whylen, "bad ACL count at byte %zu", r.pos);
        return -1;
    }
    Tree *t = s->tree = tree_new();
    AclRef *refs = xcalloc((size_t)nacls + 1, sizeof *refs);
    int rc = -1;
    for (int32_t i = 0; i < nacls; i++) {
        refs[i].ref = rbuf_get_long(&r);
        int32_t n = rbuf_get_int(&r);
        if (r.err || n < 0 || (size_t)n > rbuf_remaining(&r) / 12) {
            ctl_fmt(why, whylen, "bad ACL list at byte %zu", r.pos);
            goto out;
        }
        TreeAclEntry *e = xcalloc((size_t)n + 1, sizeof *e);
        char **strs = xcalloc(2 * (size_t)n + 1, sizeof *strs);
        for (int32_t k = 0; k < n; k++) {
            e[k].perms = rbuf_get_int(&r);
            ZkBytes sc = rbuf_get_bytes(&r), id = rbuf_get_bytes(&r);
            strs[2 * k] = xstrndup(sc.data ? sc.data : "", sc.len > 0 ? (size_t)sc.len : 0);
            strs[2 * k + 1] = xstrndup(id.data ? id.data : "", id.len > 0 ? (size_t)id.len : 0);
            e[k].scheme = strs[2 * k];
            e[k].id = strs[2 * k + 1];
        }
        refs[i].id = r.err ? TREE_ACL_NONE : tree_acl_intern(t, e, n);
        for (int32_t k = 0; k < 2 * n; k++)
            free(strs[k]);
        free(strs);
        free(e);
        if (r.err) {
            ctl_fmt(why, whylen, "ACL list truncated at byte %zu", r.pos);
            goto out;
        }
    }
    qsort(refs, (size_t)nacls, sizeof *refs, cmp_aclref);
    for (;;) {
        size_t at = r.pos;
        ZkBytes path = rbuf_get_bytes(&r);
        if (r.err || path.len < 0) {
            ctl_fmt(why, whylen, "bad node path at byte %zu (the file is truncated)", at);
            goto out;
        }
        if (path.len == 1 && path.data[0] == '/')
            break;
        ZkBytes d = rbuf_get_bytes(&r);
        int64_t ref = rbuf_get_long(&r);
        ZStatPersisted st;
        tree_stat_persisted_get(&r, &st);
        if (r.err) {
            ctl_fmt(why, whylen, "node %.*s truncated at byte %zu", path.len > 200 ? 200 : path.len, path.data, at);
            goto out;
        }
        uint32_t acl = TREE_ACL_NONE;
        if (ref == -1) {
            acl = TREE_ACL_OPEN_UNSAFE;
        } else {
            AclRef key = {ref, 0};
            AclRef *hit = bsearch(&key, refs, (size_t)nacls, sizeof *refs, cmp_aclref);
            if (hit)
                acl = hit->id;
        }
        if (acl == TREE_ACL_NONE) {
            ctl_fmt(why, whylen, "node %.*s (byte %zu) refers to ACL %" PRId64 ", which the snapshot does not have",
                 path.len > 200 ? 200 : path.len, path.data, at, ref);
            goto out;
        }
        /* ZooKeeper's root is "", Corral's "/". */
        const char *p = path.len ? path.data : "/";
        size_t pl = path.len ? (size_t)path.len : 1;
        s->zk_digest += zk_node_digest(path.data ? path.data : "", (size_t)path.len, d.data, d.len, &st);
        if (tree_restore_node(t, p, pl, d.data, d.len, acl, &st) != 0) {
            ctl_fmt(why, whylen, "node %.*s (byte %zu) cannot be restored (its parent is missing or the path is bad)",
                 path.len > 200 ? 200 : path.len, path.data, at);
            goto out;
        }
        s->nodes++;
        s->data_bytes += d.len > 0 ? (uint64_t)d.len : 0;
        if (progress && (s->nodes & 0xFFFF) == 0)
            progress(pctx, "snapshot", s->nodes, r.pos);
    }
    if (check_seal(&r, data, why, whylen) < 0)
        goto out;
    if (rbuf_remaining(&r) > 0) {
        s->digest_zxid = rbuf_get_long(&r);
        s->digest_version = rbuf_get_int(&r);
        s->digest = rbuf_get_long(&r);
        if (r.err) {
            ctl_fmt(why, whylen, "truncated tree digest at the end");
            goto out;
        }
        s->has_digest = 1;
        if (check_seal(&r, data, why, whylen) < 0)
            goto out;
    }
    reset_config_node(s);
    if (rbuf_remaining(&r) > 0) {
        ctl_fmt(why, whylen, "%zu unexpected bytes after the end", rbuf_remaining(&r));
        goto out;
    }
    rc = 0;
out:
    for (int32_t i = 0; i < nacls; i++)
        if (refs[i].id != TREE_ACL_NONE)
            tree_acl_release(t, refs[i].id);
    free(refs);
    return rc;
}

int zk_snapshot_read(const ZkFile *f, ZkSnapshot *s, ZkProgressFn progress, void *pctx, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->zxid = f->zxid;
    unsigned char *file = NULL, *raw = NULL;
    size_t flen = 0, rlen = 0;
    if (read_file(f->path, &file, &flen, err, errlen) < 0)
        return -1;
    s->file_bytes = flen;
    char why[400] = "";
    int rc = 0;
    if (f->codec == ZK_GZ)
        rc = gunzip(file, flen, &raw, &rlen, why, sizeof why);
    else if (f->codec == ZK_SNAPPY)
        rc = unsnappy(file, flen, &raw, &rlen, why, sizeof why);
    else {
        raw = file;
        rlen = flen;
        file = NULL;
    }
    free(file);
    if (rc == 0) {
        s->raw_bytes = rlen;
        if (parse(raw, rlen, s, progress, pctx, why, sizeof why) < 0)
            rc = -2;
    }
    free(raw);
    if (rc < 0) {
        ctl_fmt(err, errlen, "%s", why);
        zk_snapshot_free(s);
        return -2;
    }
    return 0;
}

void zk_snapshot_free(ZkSnapshot *s)
{
    if (s->tree)
        tree_free(s->tree);
    free(s->sessions);
    s->tree = NULL;
    s->sessions = NULL;
}

/* ---- writing a snapshot ------------------------------------------------------ */

/* The stream with its running Adler32: everything FileSnap checks. */
typedef struct SnapOut {
    WBuf w;
    FILE *f;
    uLong adler;
    int err;
} SnapOut;

static void out_flush(SnapOut *o, int all)
{
    if (o->w.len < (all ? 1u : 1u << 20))
        return;
    o->adler = adler32_z(o->adler, (const Bytef *)o->w.data, o->w.len);
    if (fwrite(o->w.data, 1, o->w.len, o->f) != o->w.len)
        o->err = 1;
    wbuf_reset(&o->w);
}

static void out_seal(SnapOut *o)
{
    out_flush(o, 1);
    wbuf_put_long(&o->w, (int64_t)o->adler);
    wbuf_put_bytes(&o->w, (ZkBytes){"/", 1});
    out_flush(o, 1);
}

static void put_zk_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n)
{
    SnapOut *o = ctx;
    if (id == TREE_ACL_OPEN_UNSAFE)
        return;   /* ZooKeeper's -1, never in its map */
    wbuf_put_long(&o->w, (int64_t)id);
    wbuf_put_int(&o->w, n);
    for (int i = 0; i < n; i++) {
        wbuf_put_int(&o->w, acl[i].perms);
        wbuf_put_bytes(&o->w, zk_bytes_cstr(acl[i].scheme));
        wbuf_put_bytes(&o->w, zk_bytes_cstr(acl[i].id));
    }
}

static void count_zk_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n)
{
    if (id != TREE_ACL_OPEN_UNSAFE)
        (*(int32_t *)ctx)++;
}

typedef struct NodeOut {
    SnapOut *o;
    uint64_t digest;
} NodeOut;

static int put_zk_node(void *ctx, const char *path, size_t len, const ZNode *n)
{
    NodeOut *no = ctx;
    WBuf *w = &no->o->w;
    const char *d;
    int32_t dl;
    ZStatPersisted st;
    tree_data(n, &d, &dl);
    tree_stat_persisted(n, &st);
    if (len == 1 && path[0] == '/')
        len = 0;   /* ZooKeeper's root is "" */
    wbuf_put_bytes(w, (ZkBytes){path, (int32_t)len});
    wbuf_put_bytes(w, (ZkBytes){d, dl});
    uint32_t acl = tree_node_acl(n);
    wbuf_put_long(w, acl == TREE_ACL_OPEN_UNSAFE ? -1 : (int64_t)acl);
    tree_stat_persisted_put(w, &st);
    no->digest += zk_node_digest(path, len, d, dl, &st);
    out_flush(no->o, 0);
    return 0;
}

int zk_snapshot_write(const char *dir, int64_t zxid, const Tree *t, const int64_t *sessions, size_t nsessions,
                      char *err, size_t errlen)
{
    char path[PATH_MAX + 40], tmp[PATH_MAX + 48];
    ctl_fmt(path, sizeof path, "%s/snapshot.%" PRIx64, dir, (uint64_t)zxid);
    ctl_fmt(tmp, sizeof tmp, "%s.tmp", path);
    SnapOut o = {WBUF_INIT, fopen(tmp, "wbxe"), adler32(0L, Z_NULL, 0), 0};
    if (!o.f) {
        ctl_fmt(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    wbuf_put_int(&o.w, (int32_t)ZK_SNAP_MAGIC);
    wbuf_put_int(&o.w, 2);
    wbuf_put_long(&o.w, -1);
    wbuf_put_int(&o.w, (int32_t)nsessions);
    for (size_t i = 0; i < nsessions; i++) {
        wbuf_put_long(&o.w, sessions[2 * i]);
        wbuf_put_int(&o.w, (int32_t)sessions[2 * i + 1]);
    }
    int32_t nacls = 0;
    tree_acl_foreach(t, count_zk_acl, &nacls);
    wbuf_put_int(&o.w, nacls);
    tree_acl_foreach(t, put_zk_acl, &o);
    NodeOut no = {&o, 0};
    tree_walk(t, "/", 1, put_zk_node, &no);
    wbuf_put_bytes(&o.w, (ZkBytes){"/", 1});
    out_seal(&o);
    /* The ZxidDigest of 3.6+: ZooKeeper compares it with its own digest of
     * the tree as soon as it has loaded the snapshot (its zxid is the
     * snapshot's: this one is exact). */
    wbuf_put_long(&o.w, zxid);
    wbuf_put_int(&o.w, ZK_DIGEST_VERSION);
    wbuf_put_long(&o.w, (int64_t)no.digest);
    out_seal(&o);
    wbuf_free(&o.w);
    int bad = o.err || fflush(o.f) != 0 || fsync(fileno(o.f)) != 0;
    bad |= fclose(o.f) != 0;
    if (bad || rename(tmp, path) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
