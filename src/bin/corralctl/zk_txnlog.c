/*
 * src/bin/corralctl/zk_txnlog.c: ZooKeeper's transaction logs (FileTxnLog),
 * read entry by entry as its FileTxnIterator does, and written.  The byte
 * layout is in zk_format.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/zk_proto.h"
#include "corralctl.h"
#include "zk_format.h"

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

int zk_log_open(ZkLog *l, const char *path, char *err, size_t errlen)
{
    memset(l, 0, sizeof *l);
    ctl_fmt(l->path, sizeof l->path, "%s", path);
    l->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (l->fd < 0 || fstat(l->fd, &st) < 0) {
        ctl_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        zk_log_close(l);
        return -1;
    }
    l->size = (uint64_t)st.st_size;
    if (l->size < ZK_FILE_HEADER) {
        ctl_fmt(err, errlen, "%s is too short to be a ZooKeeper transaction log (%" PRIu64 " bytes)", path, l->size);
        zk_log_close(l);
        return -1;
    }
    l->map = mmap(NULL, l->size, PROT_READ, MAP_PRIVATE, l->fd, 0);
    if (l->map == MAP_FAILED) {
        l->map = NULL;
        ctl_fmt(err, errlen, "cannot map %s: %s", path, strerror(errno));
        zk_log_close(l);
        return -1;
    }
    madvise((void *)l->map, l->size, MADV_SEQUENTIAL);
    if (be32(l->map) != ZK_LOG_MAGIC) {
        ctl_fmt(err, errlen, "%s is not a ZooKeeper transaction log (bad magic)", path);
        zk_log_close(l);
        return -1;
    }
    if (be32(l->map + 4) != 2) {
        ctl_fmt(err, errlen, "%s: log format version %u (only 2 is known)", path, be32(l->map + 4));
        zk_log_close(l);
        return -1;
    }
    l->off = ZK_FILE_HEADER;
    return 0;
}

void zk_log_close(ZkLog *l)
{
    if (l->map)
        munmap((void *)l->map, l->size);
    if (l->fd > 0)
        close(l->fd);
    l->map = NULL;
    l->fd = -1;
}

/* The record after the TxnHeader, read to find where it ends (what follows
 * is the 3.6+ TxnDigest).  0, or -1 when it does not decode. */
static int skip_record(RBuf *r, Arena *a, int32_t type)
{
    switch (type) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2: {
        CreateTxn t;
        return jute_read_CreateTxn(r, a, &t);
    }
    case ZOO_OP_CREATE_CONTAINER: {
        CreateContainerTxn t;
        return jute_read_CreateContainerTxn(r, a, &t);
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLTxn t;
        return jute_read_CreateTTLTxn(r, a, &t);
    }
    case ZOO_OP_DELETE:
    case ZOO_OP_DELETE_CONTAINER: {
        DeleteTxn t;
        return jute_read_DeleteTxn(r, a, &t);
    }
    case ZOO_OP_SETDATA:
    case ZOO_OP_RECONFIG: {   /* SetDataTxn on /zookeeper/config */
        SetDataTxn t;
        return jute_read_SetDataTxn(r, a, &t);
    }
    case ZOO_OP_SETACL: {
        SetACLTxn t;
        return jute_read_SetACLTxn(r, a, &t);
    }
    case ZOO_OP_ERROR: {
        ErrorTxn t;
        return jute_read_ErrorTxn(r, a, &t);
    }
    case ZOO_OP_CREATE_SESSION: {
        CreateSessionTxn t;
        return jute_read_CreateSessionTxn(r, a, &t);
    }
    case ZOO_OP_CLOSE_SESSION: {
        /* A CloseSessionTxn (3.6+, closeSessionTxn.enabled, the default),
         * or nothing (older, or disabled): nothing, or just a TxnDigest, is
         * the second. */
        size_t rem = rbuf_remaining(r), at = r->pos;
        if (rem == 0 || rem == 12) {
            RBuf probe = *r;
            CloseSessionTxn t;
            if (jute_read_CloseSessionTxn(&probe, a, &t) == 0 &&
                (rbuf_remaining(&probe) == 0 || rbuf_remaining(&probe) == 12)) {
                *r = probe;
                return 0;
            }
            r->pos = at;
            return 0;
        }
        CloseSessionTxn t;
        return jute_read_CloseSessionTxn(r, a, &t);
    }
    case ZOO_OP_MULTI: {
        MultiTxn t;
        return jute_read_MultiTxn(r, a, &t);
    }
    default:
        return -1;
    }
}

int zk_log_next(ZkLog *l, ZkTxn *t, ZkLogEnd *end, char *why, size_t whylen)
{
    *end = ZK_LOG_CLEAN;
    why[0] = '\0';
    uint64_t off = l->off, size = l->size;
    const unsigned char *m = l->map;
    if (size - off < 12)
        return 0;   /* EOF while reading crc and length: the end */
    uint64_t crc = be64(m + off);
    int32_t len = (int32_t)be32(m + off + 8);
    if (len == 0)
        return 0;   /* the preallocated zeros */
    if (len < 0 || (uint64_t)len > size - off - 12 || size - off - 12 - (uint64_t)len < 1 ||
        m[off + 12 + (uint64_t)len] != 'B') {
        *end = ZK_LOG_TORN;
        ctl_fmt(why, whylen, "a partial entry at offset %" PRIu64 " (ZooKeeper: \"Last transaction was partial\")", off);
        return 0;
    }
    const unsigned char *bytes = m + off + 12;
    uLong a32 = adler32_z(adler32(0L, Z_NULL, 0), bytes, (size_t)len);
    if ((uint64_t)a32 != crc) {
        *end = ZK_LOG_DAMAGED;
        ctl_fmt(why, whylen, "the entry at offset %" PRIu64 " fails its Adler32 check (ZooKeeper: \"CRC check failed\")",
             off);
        return 0;
    }
    RBuf r;
    Arena a;
    arena_init(&a, 4096);
    rbuf_init(&r, bytes, (size_t)len);
    TxnHeader h;
    int ok = jute_read_TxnHeader(&r, &a, &h) == 0 && skip_record(&r, &a, h.type) == 0;
    size_t rec_end = r.pos;
    memset(t, 0, sizeof *t);
    if (ok && rbuf_remaining(&r) == 12) {
        TxnDigest d;
        ok = jute_read_TxnDigest(&r, &a, &d) == 0;
        t->has_digest = 1;
        t->digest_version = d.version;
        t->digest = d.treeDigest;
    }
    ok = ok && rbuf_remaining(&r) == 0;
    arena_free(&a);
    if (!ok) {
        *end = ZK_LOG_DAMAGED;
        ctl_fmt(why, whylen, "the entry at offset %" PRIu64 " (zxid 0x%" PRIx64 ", type %d) does not decode", off,
             (uint64_t)h.zxid, h.type);
        return 0;
    }
    t->zxid = h.zxid;
    t->type = h.type;
    t->data = bytes;
    t->len = rec_end;
    t->offset = off;
    l->off = off + 12 + (uint64_t)len + 1;
    return 1;
}

/* ---- writing ------------------------------------------------------------------ */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

int zk_log_out_add(ZkLogOut *o, int64_t zxid, const void *rec, size_t len, char *err, size_t errlen)
{
    if (!o->f) {
        ctl_fmt(o->path, sizeof o->path, "%s/log.%" PRIx64, o->dir, (uint64_t)zxid);
        ctl_fmt(o->tmp, sizeof o->tmp, "%s.tmp", o->path);
        FILE *f = fopen(o->tmp, "wbxe");
        if (!f) {
            ctl_fmt(err, errlen, "cannot create %s: %s", o->tmp, strerror(errno));
            return -1;
        }
        o->f = f;
        unsigned char h[16];
        put32(h, ZK_LOG_MAGIC);
        put32(h + 4, 2);
        put64(h + 8, 0);
        fwrite(h, 1, sizeof h, f);
    }
    unsigned char eh[12];
    put64(eh, (uint64_t)adler32_z(adler32(0L, Z_NULL, 0), rec, len));
    put32(eh + 8, (uint32_t)len);
    fwrite(eh, 1, sizeof eh, o->f);
    fwrite(rec, 1, len, o->f);
    fputc('B', o->f);
    o->records++;
    if (ferror((FILE *)o->f)) {
        ctl_fmt(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int zk_log_out_finish(ZkLogOut *o, char *err, size_t errlen)
{
    FILE *f = o->f;
    if (!f)
        return 0;
    o->f = NULL;
    /* Zeros after the last entry, as in ZooKeeper's preallocated files: a
     * zero length ends its reading. */
    static const unsigned char zeros[4096];
    fwrite(zeros, 1, sizeof zeros, f);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(o->tmp, o->path) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", o->tmp, strerror(errno));
        unlink(o->tmp);
        return -1;
    }
    return 0;
}

void zk_log_out_abort(ZkLogOut *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
        unlink(o->tmp);
    }
}
