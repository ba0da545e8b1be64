/*
 * src/bin/corralctl/cmd_import_zookeeper.c: corralctl import-zookeeper,
 * an Apache ZooKeeper data directory into a Corral one (doc/migration.md).
 *
 * What it writes is what storage_file itself would have written at the same
 * zxid: the newest valid ZooKeeper snapshot becomes a Corral snapshot at
 * that snapshot's zxid (tree_snapshot_encode, walf_snapshot_write: the
 * server's own code), and every logged transaction after it becomes a WAL
 * record, byte for byte (ZooKeeper's TxnHeader + txn is what Corral logs
 * too; only the 3.6+ TxnDigest is left out).  corrald's recovery then
 * replays them with its own txn_apply, whose replay rules are ZooKeeper's,
 * which is what makes the fuzzy ZooKeeper snapshot exact.  Sessions keep
 * their ids and timeouts; their passwords are derived from the id exactly
 * as ZooKeeper does, so clients reconnect to the same sessions.
 *
 * --continue appends, as a new WAL segment, only the transactions after the
 * last one the Corral directory holds: the bulk is imported while ZooKeeper
 * serves, the tail after it stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage_tool.h"
#include "zk_format.h"

typedef struct ImportOpts {
    const char *from, *logdir, *datadir, *waldir;
    int json, cont;
} ImportOpts;

/* ---- progress on a terminal ---------------------------------------------------- */

typedef struct Progress {
    int on;
    long long t0, last;
} Progress;

static void progress(void *ctx, const char *what, uint64_t count, uint64_t bytes)
{
    Progress *p = ctx;
    if (!p->on)
        return;
    long long t = ctl_now_ms();
    if (t - p->last < 200)
        return;
    p->last = t;
    double s = (double)(t - p->t0) / 1000.0;
    fprintf(stderr, "\r%s: %" PRIu64 " %s, %.1f MB read, %.0f/s   ", what, count,
            strcmp(what, "snapshot") == 0 ? "znodes" : "txns", (double)bytes / 1e6, s > 0 ? (double)count / s : 0.0);
    fflush(stderr);
}

static void progress_done(Progress *p)
{
    if (p->on)
        fputs("\r\033[K", stderr);
}

/* ---- the WAL segment being written ------------------------------------------------ */

typedef struct SegOut {
    char dir[PATH_MAX];          /* the WAL directory */
    uint64_t seq;
    int64_t prev_zxid;
    FILE *f;
    char tmp[PATH_MAX + 64], name[PATH_MAX + 64];
    uint64_t records, bytes;
    int64_t first, last;
} SegOut;

static int seg_add(SegOut *s, int64_t zxid, const unsigned char *body, size_t len, char *err, size_t errlen)
{
    if (!s->f) {
        char base[64];
        walf_seg_name(base, sizeof base, s->seq, zxid);
        ctl_fmt(s->name, sizeof s->name, "%s/%s", s->dir, base);
        ctl_fmt(s->tmp, sizeof s->tmp, "%s.tmp", s->name);
        s->f = fopen(s->tmp, "wbxe");
        if (!s->f) {
            ctl_fmt(err, errlen, "cannot create %s: %s", s->tmp, strerror(errno));
            return -1;
        }
        unsigned char h[WALF_SEG_HEADER_SIZE];
        WalfSegHeader sh = {WALF_VERSION, s->seq, zxid, s->prev_zxid, 0};
        walf_seg_header_encode(h, &sh);
        fwrite(h, 1, sizeof h, s->f);
        s->first = zxid;
        s->bytes = WALF_SEG_HEADER_SIZE;
    }
    /* One write unit, starting after the header: the file is complete
     * before it gets its name. */
    unsigned char rh[WALF_REC_HEADER_SIZE];
    walf_rec_header_encode(rh, zxid, WALF_SEG_HEADER_SIZE, body, (uint32_t)len);
    fwrite(rh, 1, sizeof rh, s->f);
    fwrite(body, 1, len, s->f);
    s->bytes += sizeof rh + len;
    s->records++;
    s->last = zxid;
    if (ferror(s->f)) {
        ctl_fmt(err, errlen, "cannot write %s: %s", s->tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int seg_finish(SegOut *s, char *err, size_t errlen)
{
    if (!s->f)
        return 0;
    int bad = fflush(s->f) != 0 || fsync(fileno(s->f)) != 0;
    bad |= fclose(s->f) != 0;
    s->f = NULL;
    if (bad || rename(s->tmp, s->name) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", s->tmp, strerror(errno));
        unlink(s->tmp);
        return -1;
    }
    sync_dir(s->dir);
    return 0;
}

static void seg_abort(SegOut *s)
{
    if (s->f) {
        fclose(s->f);
        s->f = NULL;
        unlink(s->tmp);
    }
}

/* ---- replaying the logs ---------------------------------------------------------- */

typedef struct LogResult {
    uint64_t txns, files, skipped;
    int64_t first, last;
    int found_base;              /* a logged txn has the base zxid itself */
    int damaged;                 /* stopped at a damaged entry */
    char damage[PATH_MAX + 300];
    char torn[PATH_MAX + 300];   /* the last torn file end seen */
    uint64_t gaps;               /* zxids missing inside an epoch */
    char gap[200];
    int digests, digest_versions_other;
    uint64_t reconfigs;          /* reconfig txns, imported as no-ops */
} LogResult;

/* ZooKeeper's FileTxnLog.getLogFiles: the newest log starting at or before
 * the base zxid, and every later one. */
static size_t first_log(const ZkDir *d, int64_t base)
{
    size_t start = 0;
    for (size_t i = 0; i < d->nlogs; i++)
        if (d->logs[i].zxid <= base)
            start = i;
    return start;
}

static int copy_logs(const ZkDir *d, int64_t base, SegOut *seg, Progress *pg, LogResult *lr, char *err,
                     size_t errlen)
{
    memset(lr, 0, sizeof *lr);
    int64_t prev = base;
    uint64_t bytes_read = 0;
    for (size_t i = first_log(d, base); i < d->nlogs && !lr->damaged; i++) {
        ZkLog l;
        if (zk_log_open(&l, d->logs[i].path, err, errlen) < 0)
            return -1;
        lr->files++;
        ZkTxn t;
        ZkLogEnd end;
        char why[300];
        while (zk_log_next(&l, &t, &end, why, sizeof why) == 1) {
            if (t.zxid == base)
                lr->found_base = 1;
            if (t.zxid <= base) {
                lr->skipped++;
                continue;
            }
            if (t.zxid <= prev) {
                ctl_fmt(err, errlen, "%s: zxid 0x%" PRIx64 " at offset %" PRIu64 " does not follow 0x%" PRIx64,
                         l.path, (uint64_t)t.zxid, t.offset, (uint64_t)prev);
                zk_log_close(&l);
                return -1;
            }
            if ((t.zxid >> 32) == (prev >> 32) && t.zxid != prev + 1 && prev != 0) {
                if (!lr->gaps++)
                    ctl_fmt(lr->gap, sizeof lr->gap, "zxids 0x%" PRIx64 "..0x%" PRIx64 " are missing", (uint64_t)prev + 1,
                             (uint64_t)t.zxid - 1);
            }
            if (t.has_digest) {
                lr->digests++;
                if (t.digest_version != ZK_DIGEST_VERSION)
                    lr->digest_versions_other++;
            }
            /* reconfig (a SetDataTxn of the quorum's server list on
             * /zookeeper/config) becomes a no-op ErrorTxn: Corral's members
             * come from its ensemble list, and /zookeeper/config is not
             * carried over (reset_config_node, zk_snapshot.c). */
            const unsigned char *body = t.data;
            size_t blen = t.len;
            unsigned char noop[36];
            if (t.type == ZOO_OP_RECONFIG) {
                memcpy(noop, t.data, 32);
                noop[28] = 0xFF, noop[29] = 0xFF, noop[30] = 0xFF, noop[31] = 0xFF;   /* type -1: error */
                memset(noop + 32, 0, 4);                                             /* ErrorTxn{0} */
                body = noop;
                blen = sizeof noop;
                lr->reconfigs++;
            }
            int rc = seg_add(seg, t.zxid, body, blen, err, errlen);
            if (rc < 0) {
                zk_log_close(&l);
                return -1;
            }
            if (!lr->txns)
                lr->first = t.zxid;
            lr->txns++;
            lr->last = prev = t.zxid;
            bytes_read += t.len;
            if ((lr->txns & 0x3FFF) == 0)
                progress(pg, "log", lr->txns, bytes_read);
        }
        if (end == ZK_LOG_DAMAGED) {
            lr->damaged = 1;
            ctl_fmt(lr->damage, sizeof lr->damage, "%s: %s", l.path, why);
        } else if (end == ZK_LOG_TORN) {
            ctl_fmt(lr->torn, sizeof lr->torn, "%s: %s", l.path, why);
        }
        zk_log_close(&l);
    }
    return 0;
}

/* ---- the Corral directory ------------------------------------------------------- */

static int dir_is_empty(const char *dir, int *exists)
{
    DIR *dh = opendir(dir);
    *exists = dh != NULL || errno != ENOENT;
    if (!dh)
        return errno == ENOENT;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(dh)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(dh);
    return empty;
}

static int write_snapshot(const char *dir, const ZkSnapshot *s, uint64_t *bytes, char *err, size_t errlen)
{
    WBuf w = WBUF_INIT;
    tree_snapshot_encode(&w, s->tree, s->zxid, s->sessions, s->nsessions);
    char name[64], path[PATH_MAX + 64], tmp[PATH_MAX + 64];
    walf_snap_name(name, sizeof name, s->zxid, "zst");
    ctl_fmt(path, sizeof path, "%s/%s", dir, name);
    walf_snap_name(name, sizeof name, s->zxid, "tmp");
    ctl_fmt(tmp, sizeof tmp, "%s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int rc = -1;
    char why[256];
    if (fd < 0) {
        ctl_fmt(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    } else if (walf_snapshot_write(fd, s->zxid, w.data, w.len, 3, bytes, why, sizeof why) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", tmp, why);
    } else if (fsync(fd) < 0 || rename(tmp, path) < 0 || sync_dir(dir) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
    } else {
        rc = 0;
    }
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    wbuf_free(&w);
    return rc;
}

/* The epochs, in the file zab reads (src/backend/zab/history.c): a quorum
 * member's from its acceptedEpoch/currentEpoch, else the last zxid's. */
static int write_epochs(const char *dir, const ZkDir *d, int64_t last_zxid, int64_t *acc, int64_t *cur, char *err,
                        size_t errlen)
{
    int64_t e = last_zxid >> 32;
    *cur = d->current_epoch >= 0 ? d->current_epoch : e;
    if (*cur < e)
        *cur = e;
    *acc = d->accepted_epoch >= 0 ? d->accepted_epoch : *cur;
    if (*acc < *cur)
        *acc = *cur;
    char p[PATH_MAX + 32], tmp[PATH_MAX + 40];
    ctl_fmt(p, sizeof p, "%s/zab_epochs", dir);
    ctl_fmt(tmp, sizeof tmp, "%s.tmp", p);
    FILE *f = fopen(tmp, "we");
    if (!f || fprintf(f, "accepted %lld current %lld\n", (long long)*acc, (long long)*cur) < 0 || fflush(f) != 0 ||
        fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, p) < 0) {
        ctl_fmt(err, errlen, "cannot write %s: %s", p, strerror(errno));
        return -1;
    }
    return 0;
}

/* The last zxid a Corral directory holds, as its recovery would reach it,
 * and the number of the next WAL segment.  0, or -1 with err. */
static int corral_end(const char *dir, const char *waldir, int64_t *last, int64_t *last_logged, uint64_t *next_seq,
                      char *err, size_t errlen)
{
    static RpDir d;
    static RpPlan p;
    RpFiles files = {NULL, 0};
    rp_plan_dir(&d, dir, waldir, 0, &files, &p);
    rp_files_free(&files);
    rp_dir_free(&d);
    RpSnap *snaps = NULL;
    size_t nsnaps = 0;
    if (rp_list_snapshots(dir, &snaps, &nsnaps, NULL, NULL, err, errlen) == 0 && nsnaps == 0 && !is_dir(waldir)) {
        free(snaps);
        ctl_fmt(err, errlen, "%s holds no Corral data to continue (no snapshot, no wal/)", dir);
        return -1;
    }
    free(snaps);
    if (p.verdict != RP_RECOVER) {
        ctl_fmt(err, errlen, "%s cannot be continued: its recovery would refuse: %s", dir, p.message);
        return -1;
    }
    if (p.cut || p.naccepted || p.bad_snaps) {
        ctl_fmt(err, errlen,
                 "%s cannot be continued: it has a torn WAL tail or a corrupt snapshot (see `corralctl verify %s`); "
                 "start and stop corrald on it once, or import again from scratch",
                 dir, dir);
        return -1;
    }
    if (p.snap < 0 && p.wal_last == 0) {
        ctl_fmt(err, errlen, "%s holds no Corral data to continue", dir);
        return -1;
    }
    *last = p.last_zxid;
    *last_logged = p.last_logged;
    *next_seq = p.next_seq;
    return 0;
}

/* ---- the command -------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl import-zookeeper --from ZK_DATA_DIR [--log-dir ZK_DATALOG_DIR] -D DATA_DIR\n"
            "                                  [--wal-dir DIR] [--continue] [--json]\n"
            "\n"
            "Imports an Apache ZooKeeper (3.4 to 3.9) data directory into a Corral one: the\n"
            "newest valid snapshot (plain, .gz or .snappy; older ones if it fails its\n"
            "checksum) and every logged transaction after it.  Corral then starts at the\n"
            "same zxid with the same znodes (data, every Stat field, ACLs), sessions (ids,\n"
            "passwords, timeouts) and ephemerals, and the same epochs.  ZooKeeper's files\n"
            "are only read.\n"
            "\n"
            "  --from DIR       ZooKeeper's dataDir (the one holding version-2/)\n"
            "  --log-dir DIR    ZooKeeper's dataLogDir, when it is not dataDir\n"
            "  -D, --data-dir   the Corral data directory: new or empty, or with --continue\n"
            "                   one imported before\n"
            "  --wal-dir DIR    the WAL segments' directory (storage_file wal_dir), default\n"
            "                   DATA_DIR/wal: new or empty\n"
            "  --continue       add only the transactions after the last one DATA_DIR holds\n"
            "                   (import while ZooKeeper serves, stop it, continue: seconds of\n"
            "                   downtime)\n"
            "  --json           print the summary as one JSON object\n"
            "\n"
            "Exit status: 0 imported; 1 nothing imported (the reason on stderr); 2 bad usage.\n");
}

static int parse_opts(int argc, char **argv, ImportOpts *o)
{
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'f'},      {"log-dir", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'D'},  {"json", no_argument, NULL, 'j'},
        {"continue", no_argument, NULL, 'c'},        {"help", no_argument, NULL, 'h'},
        {"wal-dir", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "f:l:D:jchW:", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->from = optarg; break;
        case 'l': o->logdir = optarg; break;
        case 'D': o->datadir = optarg; break;
        case 'j': o->json = 1; break;
        case 'c': o->cont = 1; break;
        case 'W': o->waldir = optarg; break;
        case 'h': usage(stdout); return 1;
        default:
            ctl_usage_error("import-zookeeper: unknown option or missing argument \"%s\"", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        ctl_usage_error("import-zookeeper: unexpected argument \"%s\"", argv[optind]);
        return -1;
    }
    if (!o->from || !o->datadir) {
        ctl_usage_error("import-zookeeper needs --from ZK_DATA_DIR and -D DATA_DIR");
        return -1;
    }
    return 0;
}

typedef struct Skipped {
    char path[PATH_MAX];
    char why[400];
} Skipped;

static void print_summary(const ImportOpts *o, const ZkDir *d, const ZkSnapshot *s, const char *snap_path,
                          Skipped *sk, size_t nsk, const LogResult *lr, const SegOut *seg, int64_t base,
                          int64_t last, int64_t acc, int64_t cur, const char *digest_state, double secs)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (o->json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "from", o->from);
        json_kstr(&sb, "data_dir", o->datadir);
        json_kbool(&sb, "continue", o->cont);
        if (snap_path)
            json_kstr(&sb, "snapshot", snap_path);
        json_khex(&sb, "base_zxid", base);
        json_key(&sb, "skipped_snapshots");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < nsk; i++) {
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kstr(&sb, "file", sk[i].path);
            json_kstr(&sb, "why", sk[i].why);
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        if (s) {
            json_kint(&sb, "znodes", (int64_t)s->nodes);
            json_kint(&sb, "data_bytes", (int64_t)s->data_bytes);
            json_kint(&sb, "sessions", (int64_t)s->nsessions);
        }
        json_kstr(&sb, "digest", digest_state);
        if (s)
            json_kbool(&sb, "zookeeper_config_reset", s->config_reset);
        json_kint(&sb, "reconfigs", (int64_t)lr->reconfigs);
        json_kint(&sb, "log_files", (int64_t)lr->files);
        json_kint(&sb, "txns", (int64_t)lr->txns);
        json_kint(&sb, "txn_digests", lr->digests);
        json_khex(&sb, "last_zxid", last);
        if (seg->records)
            json_kstr(&sb, "wal_segment", seg->name);
        json_kint(&sb, "accepted_epoch", acc);
        json_kint(&sb, "current_epoch", cur);
        if (d->myid >= 0)
            json_kint(&sb, "myid", d->myid);
        if (lr->damaged)
            json_kstr(&sb, "log_damage", lr->damage);
        if (lr->torn[0])
            json_kstr(&sb, "torn_log_tail", lr->torn);
        if (lr->gaps)
            json_kstr(&sb, "zxid_gap", lr->gap);
        json_key(&sb, "seconds");
        corral_strbuf_printf(&sb, "%.3f", secs);
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
    } else {
        for (size_t i = 0; i < nsk; i++)
            corral_strbuf_printf(&sb, "skipped snapshot %s: %s\n", sk[i].path, sk[i].why);
        if (s)
            corral_strbuf_printf(&sb,
                                 "snapshot %s: zxid 0x%" PRIx64 ", %" PRIu64 " znodes, %" PRIu64
                                 " data bytes, %zu sessions; ZooKeeper digest %s\n",
                                 snap_path, (uint64_t)s->zxid, s->nodes, s->data_bytes, s->nsessions, digest_state);
        else if (!o->cont)
            corral_strbuf_printf(&sb, "no snapshot: every transaction from the first log\n");
        corral_strbuf_printf(&sb, "transaction logs: %" PRIu64 " files, %" PRIu64 " transactions after 0x%" PRIx64 "\n",
                             lr->files, lr->txns, (uint64_t)base);
        if (s && s->config_reset)
            corral_strbuf_printf(&sb, "/zookeeper/config held the ZooKeeper ensemble's server list: emptied, as in "
                                      "a new Corral tree\n");
        if (lr->reconfigs)
            corral_strbuf_printf(&sb, "%" PRIu64 " reconfig transactions imported as no-ops (Corral's members come "
                                 "from its ensemble list)\n", lr->reconfigs);
        if (lr->torn[0])
            corral_strbuf_printf(&sb, "torn last write (ignored, as ZooKeeper does): %s\n", lr->torn);
        if (lr->damaged)
            corral_strbuf_printf(&sb, "WARNING: stopped at damage: %s; later transactions are not imported\n",
                                 lr->damage);
        if (lr->gaps)
            corral_strbuf_printf(&sb, "WARNING: %s\n", lr->gap);
        corral_strbuf_printf(&sb, "imported into %s: last zxid 0x%" PRIx64 ", epochs %lld/%lld, %.2f s\n",
                             o->datadir, (uint64_t)last, (long long)acc, (long long)cur, secs);
        emit(&sb);
    }
    corral_strbuf_free(&sb);
}

static const char *check_digest(const ZkSnapshot *s)
{
    if (!s || !s->has_digest || s->digest_zxid == 0)
        return "absent";
    if (s->digest_version != ZK_DIGEST_VERSION)
        return "not checked (unknown digest version)";
    /* ZooKeeper compares it once replay reaches its zxid: a snapshot that
     * changed while it was written carries a later one. */
    if (s->digest_zxid != s->zxid)
        return "not checked (fuzzy snapshot: its digest is of a later zxid)";
    /* Equal zxids do not prove the snapshot is exact: DataTree.processTxn
     * changes the tree before logZxidDigest records the txn's zxid, so a
     * txn applied while the tree was written can be in the nodes and not
     * yet in the digest (seen in 801 under load).  ZooKeeper never compares
     * this case (its replay starts after the snapshot's zxid); a
     * difference here is reported, not taken as damage (the Adler32 seal
     * is the integrity check). */
    if ((uint64_t)s->digest == s->zk_digest)
        return "match";
    return "not confirmed (fuzzy snapshot: a transaction after its zxid may be in its nodes and not in its digest)";
}

int ctl_cmd_import_zookeeper(CtlOptions *opts, int argc, char **argv)
{
    (void)opts;
    ImportOpts o;
    int pr = parse_opts(argc, argv, &o);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    long long t0 = ctl_now_ms();
    Progress pg = {isatty(STDERR_FILENO) && !o.json, t0, 0};
    char err[2 * PATH_MAX + 600];
    ZkDir d;
    if (zk_dir_open(&d, o.from, o.logdir, err, sizeof err) < 0)
        return ctl_fail("%s", err);

    int exists = 0, made_dir = 0, rc = CTL_EXIT_FAIL, lockfd = -1;
    ZkSnapshot snap;
    memset(&snap, 0, sizeof snap);
    const char *snap_path = NULL;
    Skipped *skipped = xcalloc(d.nsnaps + 1, sizeof *skipped);
    size_t nskipped = 0;
    SegOut seg;
    memset(&seg, 0, sizeof seg);
    char waldir[PATH_MAX + 8];
    if (o.waldir)
        ctl_fmt(waldir, sizeof waldir, "%s", o.waldir);
    else
        ctl_fmt(waldir, sizeof waldir, "%s/wal", o.datadir);
    ctl_fmt(seg.dir, sizeof seg.dir, "%s", waldir);
    int made_wal = 0;
    LogResult lr;
    memset(&lr, 0, sizeof lr);
    int64_t base = 0, acc = 0, cur = 0;
    int have_snap = 0;
    uint64_t snap_bytes = 0;

    if (!o.cont) {
        if (!dir_is_empty(o.datadir, &exists)) {
            ctl_fmt(err, sizeof err,
                     "%s is not empty: import into a new directory, or add --continue to bring one imported "
                     "before up to date",
                     o.datadir);
            goto fail;
        }
        /* The newest snapshot that passes every check (FileSnap.deserialize). */
        for (size_t i = 0; i < d.nsnaps && !have_snap; i++) {
            char why[600];
            int r = zk_snapshot_read(&d.snaps[i], &snap, progress, &pg, why, sizeof why);
            if (r == 0) {
                have_snap = 1;
                snap_path = d.snaps[i].path;
            } else if (r == -1) {
                ctl_fmt(err, sizeof err, "%s", why);
                goto fail;
            } else {
                ctl_fmt(skipped[nskipped].path, sizeof skipped[nskipped].path, "%s", d.snaps[i].path);
                ctl_fmt(skipped[nskipped].why, sizeof skipped[nskipped].why, "%s", why);
                nskipped++;
            }
        }
        if (d.nsnaps && !have_snap) {
            ctl_fmt(err, sizeof err, "no valid snapshot in %s (ZooKeeper: \"Not able to find valid snapshots\"); the "
                     "newest, %s: %s", d.snapdir, skipped[0].path, skipped[0].why);
            goto fail;
        }
        if (!have_snap) {
            /* No snapshot at all: ZooKeeper starts from its empty tree and
             * replays every log, so does Corral. */
            snap.tree = tree_new();
            snap.sessions = xcalloc(1, 2 * sizeof *snap.sessions);
        }
        base = snap.zxid;
        if (!exists) {
            if (mkdir(o.datadir, 0755) < 0) {
                ctl_fmt(err, sizeof err, "cannot create %s: %s", o.datadir, strerror(errno));
                goto fail;
            }
            made_dir = 1;
        }
        int wexists = 0;
        if (!dir_is_empty(waldir, &wexists)) {
            ctl_fmt(err, sizeof err, "%s is not empty: give a new WAL directory", waldir);
            goto fail;
        }
        if (!wexists && mkdir(waldir, 0755) < 0) {
            ctl_fmt(err, sizeof err, "cannot create %s: %s", waldir, strerror(errno));
            goto fail;
        }
        made_wal = !wexists;
        seg.seq = 1;
        seg.prev_zxid = base;
    } else {
        char lockp[PATH_MAX + 8];
        ctl_fmt(lockp, sizeof lockp, "%s/LOCK", o.datadir);
        /* corrald creates and locks LOCK; without one, none ran here. */
        lockfd = open(lockp, O_RDWR | O_CLOEXEC);
        if (lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) < 0) {
            ctl_fmt(err, sizeof err, "%s is in use by a running corrald (%s is locked): stop it first", o.datadir,
                     lockp);
            goto fail;
        }
        int64_t last_logged;
        if (corral_end(o.datadir, waldir, &base, &last_logged, &seg.seq, err, sizeof err) < 0)
            goto fail;
        seg.prev_zxid = last_logged;
    }

    if (copy_logs(&d, base, &seg, &pg, &lr, err, sizeof err) < 0)
        goto fail;
    progress_done(&pg);
    /* --continue must join the history it continues: ZooKeeper's logs
     * hold the Corral directory's last transaction. */
    if (o.cont && !lr.found_base) {
        ctl_fmt(err, sizeof err,
             "ZooKeeper's logs do not hold zxid 0x%" PRIx64 ", the last one %s holds: they no longer reach back that "
             "far, or corrald has written transactions of its own there; import again from scratch into a new "
             "directory",
             (uint64_t)base, o.datadir);
        goto fail;
    }
    if (!o.cont && write_snapshot(o.datadir, &snap, &snap_bytes, err, sizeof err) < 0)
        goto fail;
    if (seg_finish(&seg, err, sizeof err) < 0)
        goto fail;
    int64_t last = lr.txns ? lr.last : base;
    if (write_epochs(o.datadir, &d, last, &acc, &cur, err, sizeof err) < 0)
        goto fail;
    sync_dir(o.datadir);
    print_summary(&o, &d, have_snap ? &snap : NULL, snap_path, skipped, nskipped, &lr, &seg, base, last, acc, cur,
                  check_digest(have_snap ? &snap : NULL), (double)(ctl_now_ms() - t0) / 1000.0);
    rc = CTL_EXIT_OK;
    goto out;
fail:
    progress_done(&pg);
    seg_abort(&seg);
    if (!o.cont && (made_dir || exists)) {
        /* Leave the directory as it was: empty (or absent). */
        char p[PATH_MAX + 80];
        if (have_snap || base >= 0) {
            char name[64];
            walf_snap_name(name, sizeof name, snap.zxid, "zst");
            ctl_fmt(p, sizeof p, "%s/%s", o.datadir, name);
            unlink(p);
        }
        if (seg.name[0])
            unlink(seg.name);
        if (made_wal)
            rmdir(waldir);
        if (made_dir)
            rmdir(o.datadir);
    }
    ctl_fail("%s", err);
out:
    if (lockfd >= 0)
        close(lockfd);
    zk_snapshot_free(&snap);
    free(skipped);
    zk_dir_free(&d);
    return rc;
}
