/*
 * src/bin/corralctl/cmd_salvage.c: corralctl salvage -D DATA_DIR [--dry-run]:
 * recovers a stopped server's data directory after damage, keeping every
 * intact record that can be applied in order, and reports exactly what is
 * lost.
 *
 * It follows the recovery planner (recovery_plan.c) with accept_truncation
 * on, the very plan the server would carry out, but instead of cutting the
 * damaged files in place it writes a new, clean directory (datadir.c: the
 * snapshot the plan loads, and the records it replays, in fresh segments),
 * moves every original file into DATA_DIR/salvage-TIME/ and writes the
 * report there too (REPORT.txt).  Nothing is deleted.
 */
#include <getopt.h>

#include "storage_tool.h"

static void salvage_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl salvage -D DATA_DIR [--wal-dir DIR] [--dry-run]\n"
            "\n"
            "Recovers a storage_file data directory that the server refuses to start\n"
            "from (damage in the WAL or the snapshots), with the server stopped: keeps\n"
            "the newest usable snapshot and every intact record that can be applied\n"
            "in order after it, in a new directory layout, and reports every record\n"
            "that cannot be kept (zxid, operation, path).  The original files are\n"
            "moved to DATA_DIR/salvage-TIME/, with REPORT.txt; nothing is deleted.\n"
            "  -D, --data-dir DIR   the data directory (server.data_dir)\n"
            "  -n, --dry-run        print the report, change nothing\n"
            "  --wal-dir DIR        the WAL (storage_file wal_dir), default DATA_DIR/wal; the\n"
            "                       original segments then go to DIR.salvage-TIME\n"
            "\n"
            "Exit status: 0 salvaged (or nothing to salvage), 1 it cannot be salvaged\n"
            "or a file could not be written, 2 bad usage.\n");
}

/* The report, as it is printed and written to REPORT.txt. */
typedef struct Report {
    CorralStrbuf sb;
    uint64_t lost;
    int64_t lost_first, lost_last;
} Report;

/* Every intact record of every segment (past damage too) with a zxid above
 * what the plan keeps: those are lost, listed with what they did. */
static void report_lost(Report *r, const RpDir *d, int64_t kept)
{
    CorralStrbuf line = CORRAL_STRBUF_INIT;
    for (size_t i = 0; i < d->nsegs; i++) {
        char path[PATH_MAX + RP_NAME_MAX], why[256];
        snprintf(path, sizeof path, "%s/%s", d->waldir, d->segs[i].name);
        WalfSegment seg;
        if (walf_seg_open(&seg, path, why, sizeof why) < 0) {
            corral_strbuf_printf(&r->sb, "  WAL segment %s cannot be read (%s): its records are not recovered\n",
                                 path, why);
            continue;
        }
        WalfIter it;
        WalfRecord rec;
        WalfStop st;
        walf_iter_init(&it, &seg);
        do {
            while (walf_iter_next(&it, &rec, &st)) {
                if (rec.zxid <= kept)
                    continue;
                if (!r->lost++)
                    r->lost_first = rec.zxid;
                if (rec.zxid > r->lost_last)
                    r->lost_last = rec.zxid;
                TxnHeader th;
                char bad[200];
                corral_strbuf_reset(&line);
                if (decode_body(&rec, &line, 0, &th, bad, sizeof bad) < 0)
                    corral_strbuf_printf(&r->sb, "  LOST zxid 0x%" PRIx64 " (%s, offset %" PRIu64 "): %s\n",
                                         (uint64_t)rec.zxid, d->segs[i].name, rec.offset, bad);
                else
                    corral_strbuf_printf(&r->sb, "  LOST %s (%s, offset %" PRIu64 ")\n", line.data ? line.data : "",
                                         d->segs[i].name, rec.offset);
            }
            if (st.kind != WALF_STOP_CLEAN && !(st.kind == WALF_STOP_TORN && i + 1 == d->nsegs && !st.n_after))
                corral_strbuf_printf(&r->sb, "  damaged: %s, offset %" PRIu64 ": %s, %" PRIu64
                                     " bytes after zxid 0x%" PRIx64 " cannot be read\n",
                                     d->segs[i].name, st.offset, st.reason, rp_stop_bytes(&st),
                                     (uint64_t)st.last_zxid);
        } while (walf_iter_resume(&it, &st));
        walf_seg_close(&seg);
    }
    corral_strbuf_free(&line);
}

static int put_record(void *ctx, const WalfRecord *rec, const char *path)
{
    static char err[512];
    DdWriter *w = ctx;
    if (dd_put_record(w, rec->zxid, rec->data, rec->len, err, sizeof err) < 0) {
        fprintf(stderr, "corralctl: %s\n", err);
        return -1;
    }
    return 0;
}

/* Moves the original files into `aside` and the new ones into place. */
static int swap_in(const char *dir, const char *fresh, const char *aside, const char *fresh_wal,
                   const char *aside_wal, const RpDir *d, const RpPlan *p, char *err, size_t n)
{
    char a[2 * PATH_MAX], b[2 * PATH_MAX];
    if (mkdir(aside, 0755) < 0) {
        dd_err(err, n, "cannot create %s: %s", aside, strerror(errno));
        return -1;
    }
    dd_err(a, sizeof a, "%s", d->waldir);
    dd_err(b, sizeof b, "%s", aside_wal);
    if (rename(a, b) < 0) {
        dd_err(err, n, "cannot move %s to %s: %s", a, b, strerror(errno));
        return -1;
    }
    DIR *dh = opendir(dir);
    if (!dh) {
        dd_err(err, n, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dh)))
        if (strncmp(e->d_name, "snapshot.", 9) == 0) {
            snprintf(a, sizeof a, "%s/%s", dir, e->d_name);
            snprintf(b, sizeof b, "%s/%s", aside, e->d_name);
            if (rename(a, b) < 0) {
                dd_err(err, n, "cannot move %s to %s: %s", a, b, strerror(errno));
                rc = -1;
                break;
            }
        }
    closedir(dh);
    if (rc < 0)
        return -1;
    dd_err(a, sizeof a, "%s", fresh_wal);
    dd_err(b, sizeof b, "%s", d->waldir);
    if (rename(a, b) < 0) {
        dd_err(err, n, "cannot move %s to %s: %s", a, b, strerror(errno));
        return -1;
    }
    if (p->snap >= 0) {
        snprintf(a, sizeof a, "%s/%s", fresh, d->snaps[p->snap].name);
        snprintf(b, sizeof b, "%s/%s", dir, d->snaps[p->snap].name);
        if (rename(a, b) < 0) {
            dd_err(err, n, "cannot move %s to %s: %s", a, b, strerror(errno));
            return -1;
        }
    }
    if (rmdir(fresh) < 0) {
        dd_err(err, n, "cannot remove %s: %s", fresh, strerror(errno));
        return -1;
    }
    if (dd_fsync_path(aside, err, n) < 0 || dd_fsync_path(dir, err, n) < 0)
        return -1;
    return 0;
}

int ctl_cmd_salvage(CtlOptions *opts, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'D'},
        {"dry-run", no_argument, NULL, 'n'},
        {"wal-dir", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *wal_dir = NULL;
    int dry = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "D:nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'D':
            dir = optarg;
            break;
        case 'n':
            dry = 1;
            break;
        case 'W':
            wal_dir = optarg;
            break;
        case 'h':
            salvage_usage(stdout);
            return CTL_EXIT_OK;
        default:
            return ctl_usage_error("salvage: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (!dir || optind < argc)
        return ctl_usage_error("salvage needs -D DATA_DIR and nothing else");
    if (!is_dir(dir))
        return ctl_fail("%s is not a directory", dir);

    char err[RP_MSG_MAX + 200];
    int lockfd = -1;
    if (dd_lock(dir, &lockfd, err, sizeof err) < 0)
        return ctl_fail("%s", err);
    int rc = CTL_EXIT_FAIL;
    RpDir *d = calloc(1, sizeof *d);
    RpPlan *p = calloc(1, sizeof *p);
    RpFiles files = {NULL, 0};
    Report r = {CORRAL_STRBUF_INIT, 0, 0, 0};
    if (!d || !p) {
        ctl_fail("out of memory");
        goto out;
    }
    rp_plan_dir(d, dir, wal_dir, 1, &files, p);
    rp_files_free(&files);
    if (p->verdict != RP_RECOVER) {
        ctl_fail("cannot salvage %s: %s", dir, p->message);
        goto out;
    }
    if (!p->naccepted && !p->nskipped && !p->bad_snaps) {
        printf("nothing to salvage: the server recovers %s as it is (%s%s, last zxid 0x%" PRIx64 ")\n", dir,
               p->snap >= 0 ? "from snapshot " : "from the WAL alone", p->snap >= 0 ? d->snaps[p->snap].name : "",
               (uint64_t)p->last_zxid);
        rc = CTL_EXIT_OK;
        goto out;
    }

    /* The report: what was wrong, what is kept, what is lost. */
    char line[RP_LOG_MAX];
    corral_strbuf_printf(&r.sb, "salvage of %s\n", dir);
    for (size_t i = 0; i < d->nsnaps; i++)
        if (d->snaps[i].set_aside) {
            rp_corrupt_snapshot_msg(line, sizeof line, dir, &d->snaps[i], 1);
            corral_strbuf_printf(&r.sb, "problem: %s\n", line);
        }
    for (size_t k = 0; k < p->nskipped && k < sizeof p->skipped / sizeof p->skipped[0]; k++) {
        char path[PATH_MAX + RP_NAME_MAX];
        snprintf(path, sizeof path, "%s/%s", d->waldir, d->segs[p->skipped[k].seg].name);
        rp_skip_msg(line, sizeof line, path, &p->skipped[k].st, p->snap_zxid, "salvage replays from");
        corral_strbuf_printf(&r.sb, "covered: %s (nothing lost)\n", line);
    }
    for (size_t k = 0; k < p->naccepted; k++)
        corral_strbuf_printf(&r.sb, "problem: %s\n", p->accepted[k].message);
    if (p->snap >= 0)
        corral_strbuf_printf(&r.sb, "kept: snapshot %s (zxid 0x%" PRIx64 ")", d->snaps[p->snap].name,
                             (uint64_t)p->snap_zxid);
    else
        corral_strbuf_printf(&r.sb, "kept: no snapshot");
    corral_strbuf_printf(&r.sb, ", and every WAL record after it up to zxid 0x%" PRIx64 "\n", (uint64_t)p->last_zxid);
    corral_strbuf_printf(&r.sb, "records that cannot be applied in order after zxid 0x%" PRIx64 ":\n",
                         (uint64_t)p->last_zxid);
    report_lost(&r, d, p->last_zxid);
    if (r.lost)
        corral_strbuf_printf(&r.sb, "lost: %" PRIu64 " intact records (zxid 0x%" PRIx64 "..0x%" PRIx64
                             "), and whatever the damaged bytes held\n",
                             r.lost, (uint64_t)r.lost_first, (uint64_t)r.lost_last);
    else
        corral_strbuf_printf(&r.sb, "lost: no intact record; only what the damaged bytes held\n");
    if (dry) {
        fputs((r.sb.data ? r.sb.data : ""), stdout);
        printf("dry run: nothing changed\n");
        rc = CTL_EXIT_OK;
        goto out;
    }

    /* The new directory, then the swap. */
    char stamp[32], fresh[PATH_MAX], aside[PATH_MAX];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(fresh, sizeof fresh, "%s/salvage-%s.new", dir, stamp);
    snprintf(aside, sizeof aside, "%s/salvage-%s", dir, stamp);
    /* A WAL directory of its own: the new and the old WAL stay on its
     * file system (renames), next to it. */
    char fresh_wal[2 * PATH_MAX], aside_wal[2 * PATH_MAX];
    if (wal_dir) {
        dd_err(fresh_wal, sizeof fresh_wal, "%s.salvage-%s.new", d->waldir, stamp);
        dd_err(aside_wal, sizeof aside_wal, "%s.salvage-%s", d->waldir, stamp);
    } else {
        dd_err(fresh_wal, sizeof fresh_wal, "%s/wal", fresh);
        dd_err(aside_wal, sizeof aside_wal, "%s/wal", aside);
    }
    DdWriter w;
    if (dd_create(&w, fresh, fresh_wal, p->snap_zxid, err, sizeof err) < 0) {
        ctl_fail("%s", err);
        goto out;
    }
    if (p->snap >= 0) {
        char src[PATH_MAX + RP_NAME_MAX];
        snprintf(src, sizeof src, "%s/%s", dir, d->snaps[p->snap].name);
        if (dd_put_snapshot(&w, src, p->snap_zxid, err, sizeof err) < 0) {
            ctl_fail("%s", err);
            dd_abort(&w);
            goto out;
        }
    }
    uint64_t count = 0;
    if (rp_replay(d, p, put_record, &w, &count, err, sizeof err) < 0 || dd_finish(&w, err, sizeof err) < 0) {
        if (err[0])
            ctl_fail("%s", err);
        dd_abort(&w);
        ctl_fail("nothing changed in %s; the partial copy is in %s", dir, fresh);
        goto out;
    }
    if (swap_in(dir, fresh, aside, fresh_wal, aside_wal, d, p, err, sizeof err) < 0) {
        ctl_fail("%s (the new files are in %s, the originals in %s)", err, fresh, aside);
        goto out;
    }
    corral_strbuf_printf(&r.sb, "salvaged: %s now holds %s and %" PRIu64 " WAL records; last zxid 0x%" PRIx64
                         "; %s%s%sthe original files are in %s\n", dir,
                         p->snap >= 0 ? d->snaps[p->snap].name : "no snapshot", count, (uint64_t)p->last_zxid,
                         wal_dir ? "the original WAL is in " : "", wal_dir ? aside_wal : "", wal_dir ? "; " : "", aside);
    char rpath[PATH_MAX + 16];
    snprintf(rpath, sizeof rpath, "%s/REPORT.txt", aside);
    FILE *f = fopen(rpath, "w");
    if (!f || fputs((r.sb.data ? r.sb.data : ""), f) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0) {
        fputs((r.sb.data ? r.sb.data : ""), stdout);
        ctl_fail("cannot write %s: %s", rpath, strerror(errno));
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    fputs((r.sb.data ? r.sb.data : ""), stdout);
    rc = CTL_EXIT_OK;
out:
    corral_strbuf_free(&r.sb);
    rp_files_free(&files);
    if (d)
        rp_dir_free(d);
    free(d);
    free(p);
    if (lockfd >= 0)
        close(lockfd);
    return rc;
}
