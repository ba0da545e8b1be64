/*
 * src/bin/corralctl/cmd_export_zookeeper.c: corralctl export-zookeeper, a
 * Corral data directory into an Apache ZooKeeper one (the rollback path of
 * doc/migration.md).
 *
 * The mirror of import-zookeeper: the snapshot recovery would load
 * (decoded by tree_snapshot_decode, the server's own codec) becomes
 * ZooKeeper's version-2/snapshot.<zxid>, and the WAL records recovery would
 * replay after it become version-2/log.<first zxid>, byte for byte (they
 * are ZooKeeper's TxnHeader + txn already).  ZooKeeper's own startup
 * replays them, with the same rules.  acceptedEpoch and currentEpoch come
 * from zab_epochs (or the last zxid's epoch).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_tool.h"
#include "zk_format.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl export-zookeeper -D DATA_DIR [--wal-dir DIR] --to ZK_DATA_DIR [--json]\n"
            "\n"
            "Writes the state of a Corral data directory (corrald stopped) as an Apache\n"
            "ZooKeeper 3.8 data directory: ZK_DATA_DIR/version-2/snapshot.<zxid> (with its\n"
            "tree digest), the transactions after it as version-2/log.<zxid>, and the\n"
            "acceptedEpoch and currentEpoch files.  ZooKeeper started with dataDir=ZK_DATA_DIR\n"
            "serves the same znodes, sessions and zxid.  ZK_DATA_DIR must be new or empty.\n"
            "\n"
            "Exit status: 0 written; 1 nothing written (the reason on stderr); 2 bad usage.\n");
}

typedef struct ExportCtx {
    ZkLogOut log;
    char *err;
    size_t errlen;
    int64_t last;
} ExportCtx;

static int each_record(void *ctx, const WalfRecord *rec, const char *path)
{
    ExportCtx *x = ctx;
    x->last = rec->zxid;
    return zk_log_out_add(&x->log, rec->zxid, rec->data, rec->len, x->err, x->errlen);
}

static int write_number(const char *dir, const char *name, int64_t v)
{
    char p[PATH_MAX + 32];
    ctl_fmt(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "we");
    if (!f)
        return -1;
    int bad = fprintf(f, "%lld", (long long)v) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

int ctl_cmd_export_zookeeper(CtlOptions *opts, int argc, char **argv)
{
    (void)opts;
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'D'}, {"to", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},           {"help", no_argument, NULL, 'h'},
        {"wal-dir", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *to = NULL, *waldir = NULL;
    int json = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "D:t:jhW:", longopts, NULL)) != -1) {
        switch (c) {
        case 'D': dir = optarg; break;
        case 't': to = optarg; break;
        case 'j': json = 1; break;
        case 'W': waldir = optarg; break;
        case 'h': usage(stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error("export-zookeeper: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ctl_usage_error("export-zookeeper: unexpected argument \"%s\"", argv[optind]);
    if (!dir || !to)
        return ctl_usage_error("export-zookeeper needs -D DATA_DIR and --to ZK_DATA_DIR");
    if (!is_dir(dir))
        return ctl_fail("%s is not a directory", dir);

    char err[2 * PATH_MAX + 400] = "";
    char lockp[PATH_MAX + 8];
    ctl_fmt(lockp, sizeof lockp, "%s/LOCK", dir);
    int lockfd = open(lockp, O_RDONLY | O_CLOEXEC);
    if (lockfd >= 0 && flock(lockfd, LOCK_SH | LOCK_NB) < 0) {
        close(lockfd);
        return ctl_fail("%s is in use by a running corrald (%s is locked): stop it first", dir, lockp);
    }
    /* The destination: new, or an empty directory. */
    DIR *dh = opendir(to);
    if (dh) {
        struct dirent *e;
        int empty = 1;
        while (empty && (e = readdir(dh)) != NULL)
            empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(dh);
        if (!empty) {
            if (lockfd >= 0)
                close(lockfd);
            return ctl_fail("%s is not empty: export into a new or empty directory", to);
        }
    }

    /* What recovery would do: the snapshot it loads, the records it replays. */
    static RpDir d;
    static RpPlan p;
    RpFiles files = {NULL, 0};
    rp_plan_dir(&d, dir, waldir, 0, &files, &p);
    int rc = CTL_EXIT_FAIL, made = 0, made_v2 = 0;
    TreeSnapshot ts;
    memset(&ts, 0, sizeof ts);
    char v2[PATH_MAX + 16];
    ctl_fmt(v2, sizeof v2, "%s/version-2", to);
    ExportCtx x;
    memset(&x, 0, sizeof x);
    x.err = err;
    x.errlen = sizeof err;
    ctl_fmt(x.log.dir, sizeof x.log.dir, "%s", v2);
    if (p.verdict != RP_RECOVER) {
        ctl_fmt(err, sizeof err, "corrald would not start on %s: %s", dir, p.message);
        goto out;
    }
    if (p.snap >= 0) {
        char why[300];
        if (tree_snapshot_decode(files.snap_data, files.snap_len, p.snap_zxid, &ts, why, sizeof why) < 0) {
            ctl_fmt(err, sizeof err, "%s/%s: %s", dir, d.snaps[p.snap].name, why);
            goto out;
        }
    } else {
        ts.tree = tree_new();
        ts.sessions = xcalloc(1, 2 * sizeof *ts.sessions);
    }
    rp_files_free(&files);
    if (mkdir(to, 0755) == 0)
        made = 1;
    else if (errno != EEXIST) {
        ctl_fmt(err, sizeof err, "cannot create %s: %s", to, strerror(errno));
        goto out;
    }
    if (mkdir(v2, 0755) < 0) {
        ctl_fmt(err, sizeof err, "cannot create %s: %s", v2, strerror(errno));
        goto out;
    }
    made_v2 = 1;
    if (zk_snapshot_write(v2, ts.zxid, ts.tree, ts.sessions, ts.nsessions, err, sizeof err) < 0)
        goto out;
    x.last = ts.zxid;
    uint64_t replayed = 0;
    if (rp_replay(&d, &p, each_record, &x, &replayed, err, sizeof err) < 0 ||
        zk_log_out_finish(&x.log, err, sizeof err) < 0)
        goto out;
    /* The epochs: zab's file, else the last zxid's. */
    long long acc = -1, cur = -1;
    char ep[PATH_MAX + 16];
    ctl_fmt(ep, sizeof ep, "%s/zab_epochs", dir);
    FILE *f = fopen(ep, "r");
    if (f) {
        if (fscanf(f, "accepted %lld current %lld", &acc, &cur) != 2)
            acc = cur = -1;
        fclose(f);
    }
    long long e = (long long)(x.last >> 32);
    if (cur < e)
        cur = e;
    if (acc < cur)
        acc = cur;
    if (write_number(v2, "acceptedEpoch", acc) < 0 || write_number(v2, "currentEpoch", cur) < 0) {
        ctl_fmt(err, sizeof err, "cannot write the epoch files in %s: %s", v2, strerror(errno));
        goto out;
    }
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "data_dir", dir);
        json_kstr(&sb, "to", to);
        json_khex(&sb, "snapshot_zxid", ts.zxid);
        json_kint(&sb, "znodes", tree_node_count(ts.tree));
        json_kint(&sb, "sessions", (int64_t)ts.nsessions);
        json_kint(&sb, "txns", (int64_t)replayed);
        json_khex(&sb, "last_zxid", x.last);
        json_kint(&sb, "accepted_epoch", acc);
        json_kint(&sb, "current_epoch", cur);
        corral_strbuf_puts(&sb, "}");
    } else {
        corral_strbuf_printf(&sb,
                             "exported %s into %s: snapshot.%" PRIx64 " (%" PRId64 " znodes, %zu sessions), %" PRIu64
                             " transactions after it, last zxid 0x%" PRIx64 ", epochs %lld/%lld",
                             dir, v2, (uint64_t)ts.zxid, tree_node_count(ts.tree), ts.nsessions, replayed,
                             (uint64_t)x.last, acc, cur);
    }
    emit(&sb);
    corral_strbuf_free(&sb);
    rc = CTL_EXIT_OK;
out:
    rp_files_free(&files);
    zk_log_out_abort(&x.log);
    if (rc != CTL_EXIT_OK) {
        /* Leave the destination as it was. */
        if (made_v2) {
            char q[PATH_MAX + 64];
            ctl_fmt(q, sizeof q, "%s/snapshot.%" PRIx64, v2, (uint64_t)ts.zxid);
            unlink(q);
            if (x.log.path[0])
                unlink(x.log.path);
            rmdir(v2);
        }
        if (made)
            rmdir(to);
        ctl_fail("%s", err);
    }
    if (ts.tree)
        tree_snapshot_free(&ts);
    rp_dir_free(&d);
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}
