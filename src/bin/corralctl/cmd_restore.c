/*
 * src/bin/corralctl/cmd_restore.c: corralctl restore BACKUP -D DATA_DIR
 * [--archive DIR] [--to-zxid Z | --to-time T | --to-latest]: a data
 * directory from a backup (cmd_backup.c) and, for a point in time after it,
 * the WAL segments archived since (archiver.c), as PostgreSQL's
 * restore_command + recovery_target_*.
 *
 * Nothing is trusted: the manifest's own CRC32C and every file's size and
 * CRC32C are checked, and the chain backup + archive is planned by the
 * recovery planner of storage_file (recovery_plan.c, with the backup as the
 * directory of snapshots and the archive as its wal/), so a missing or
 * damaged archived segment, or a gap between the backup and the archive,
 * is refused with the planner's precise message, before anything is
 * written.  The data directory is then written by datadir.c: the backup's
 * snapshot and the archived records up to the target, in fresh segments.
 */
#include <ctype.h>
#include <getopt.h>

#include "storage_tool.h"

#define MANIFEST "backup_manifest"

static void restore_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl restore BACKUP -D DATA_DIR [--archive DIR]\n"
            "                         [--to-zxid Z | --to-time T | --to-latest] [--json]\n"
            "\n"
            "Builds a new data directory from a backup (corralctl backup) and, with\n"
            "--archive, the WAL segments archived since (storage_file archive_dir).\n"
            "The backup's manifest and checksums and the chain of archived segments are\n"
            "checked first; a damaged backup, a missing or damaged segment, or a gap is\n"
            "refused with the file and zxids, and nothing is written.\n"
            "  -D, --data-dir DIR   the new data directory (must not exist or be empty)\n"
            "  --archive DIR        archived WAL segments to replay after the backup\n"
            "  --to-zxid Z          stop after the transaction with zxid Z (hex 0x... or decimal)\n"
            "  --to-time T          stop before the first transaction after T (ISO 8601 UTC,\n"
            "                       2026-12-07T02:30:00Z, or Unix milliseconds)\n"
            "  --to-latest          replay every archived transaction (the default)\n"
            "  --wal-dir DIR        write the WAL there (storage_file wal_dir), not DATA_DIR/wal\n"
            "  -j, --json           a JSON summary\n"
            "\n"
            "The result starts as a standalone server, or seeds a new ensemble: start it\n"
            "as one member, the others with empty data directories synchronise from it.\n"
            "Exit status: 0 restored, 1 refused or failed, 2 bad usage.\n");
}

/* "2026-12-07T02:30:00Z" (optionally .mmm) or Unix ms: 0, or -1. */
static int parse_time(const char *s, int64_t *ms)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s && !*end) {
        *ms = v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    int frac = 0;
    if (*p == '.') {
        p++;
        for (int i = 0; i < 3; i++)
            frac = frac * 10 + (isdigit((unsigned char)*p) ? *p++ - '0' : 0);
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p)
        return -1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

/* Checks BACKUP/backup_manifest and every file it lists; fills the
 * snapshot's name and zxid and the backup's time.  0, or -1 after printing
 * why the backup is refused. */
static int check_manifest(const char *backup, char *snap, size_t snaplen, int64_t *zxid, int64_t *created_ms)
{
    char path[2 * PATH_MAX], err[2 * PATH_MAX + 200];
    snprintf(path, sizeof path, "%s/%s", backup, MANIFEST);
    FILE *f = fopen(path, "r");
    if (!f)
        return ctl_fail("%s is not a backup: cannot read %s: %s", backup, path, strerror(errno));
    char *text = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *t = realloc(text, cap);
            if (!t) {
                fclose(f);
                free(text);
                return ctl_fail("out of memory");
            }
            text = t;
        }
        size_t r = fread(text + len, 1, cap - len - 1, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    text[len] = '\0';
    int rc = -1;
    const char *mc = strstr(text, "\"manifest_crc32c\": \"");
    unsigned crc_stored;
    if (!strstr(text, "\"corral_backup_manifest\": 1") || !mc || sscanf(mc + 20, "0x%x", &crc_stored) != 1) {
        ctl_fail("backup %s is damaged: %s is not a Corral backup manifest (format 1)", backup, path);
        goto out;
    }
    uint32_t crc = walf_crc32c(0, text, (size_t)(mc - text));
    if (crc != crc_stored) {
        ctl_fail("backup %s is damaged: %s fails its checksum (stored 0x%08x, computed 0x%08x)", backup, path,
                 crc_stored, crc);
        goto out;
    }
    const char *t = strstr(text, "\"created_ms\": ");
    *created_ms = t ? strtoll(t + 14, NULL, 10) : 0;
    int nfiles = 0;
    snap[0] = '\0';
    for (const char *line = strstr(text, "{\"path\": \""); line; line = strstr(line + 1, "{\"path\": \"")) {
        char name[256];
        unsigned long long size;
        unsigned fcrc;
        if (sscanf(line, "{\"path\": \"%255[^\"]\", \"size\": %llu, \"crc32c\": \"0x%x\"", name, &size, &fcrc) != 3 ||
            strchr(name, '/')) {
            ctl_fail("backup %s is damaged: a file entry of %s does not parse", backup, path);
            goto out;
        }
        nfiles++;
        char fp[2 * PATH_MAX];
        snprintf(fp, sizeof fp, "%s/%s", backup, name);
        uint32_t got;
        uint64_t gsize;
        if (ctl_file_crc32c(fp, &got, &gsize, err, sizeof err) < 0) {
            ctl_fail("backup %s is incomplete: %s", backup, err);
            goto out;
        }
        if (gsize != size) {
            ctl_fail("backup %s is damaged: %s is %" PRIu64 " bytes, the manifest says %llu", backup, fp, gsize, size);
            goto out;
        }
        if (got != fcrc) {
            ctl_fail("backup %s is damaged: %s fails its checksum (manifest 0x%08x, computed 0x%08x)", backup, fp, fcrc,
                     got);
            goto out;
        }
        int64_t z;
        if (walf_parse_snap_name(name, &z) == 0) {
            dd_err(snap, snaplen, "%s", name);
            *zxid = z;
        }
    }
    if (!nfiles || !snap[0]) {
        ctl_fail("backup %s is damaged: its manifest lists no snapshot", backup);
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}

typedef struct Target {
    int64_t zxid;          /* INT64_MAX: no zxid target */
    int64_t time_ms;       /* INT64_MAX: no time target */
    DdWriter *w;
    int64_t last;          /* last zxid written */
    uint64_t records;
    int reached;           /* a record beyond the target was seen */
    int progress;
} Target;

static int put_until(void *ctx, const WalfRecord *rec, const char *path)
{
    Target *t = ctx;
    if (rec->zxid > t->zxid)
        return t->reached = 1, 1;
    if (t->time_ms != INT64_MAX) {
        RBuf r;
        Arena a;
        TxnHeader h;
        arena_init(&a, 256);
        rbuf_init(&r, rec->data, rec->len);
        int ok = jute_read_TxnHeader(&r, &a, &h) == 0;
        arena_free(&a);
        if (!ok) {
            ctl_fail("archived record zxid 0x%" PRIx64 " in %s does not decode: cannot tell its time", (uint64_t)rec->zxid,
                     path);
            return -1;
        }
        if (h.time > t->time_ms)
            return t->reached = 1, 1;
    }
    char err[512];
    if (dd_put_record(t->w, rec->zxid, rec->data, rec->len, err, sizeof err) < 0) {
        ctl_fail("%s", err);
        return -1;
    }
    t->last = rec->zxid;
    if (++t->records % 100000 == 0 && t->progress)
        fprintf(stderr, "restore: %" PRIu64 " records, zxid 0x%" PRIx64 "\n", t->records, (uint64_t)rec->zxid);
    return 0;
}

int ctl_cmd_restore(CtlOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'D'}, {"archive", required_argument, NULL, 'A'},
        {"to-zxid", required_argument, NULL, 'Z'},  {"to-time", required_argument, NULL, 'T'},
        {"to-latest", no_argument, NULL, 'L'},      {"json", no_argument, NULL, 'j'},
        {"wal-dir", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *data = NULL, *archive = NULL, *wal_dir = NULL;
    int64_t to_zxid = INT64_MAX, to_time = INT64_MAX;
    int targets = 0, json = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "D:jh", longopts, NULL)) != -1) {
        switch (c) {
        case 'D': data = optarg; break;
        case 'A': archive = optarg; break;
        case 'Z': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 0);
            if (errno || *end || !*optarg || v > INT64_MAX)
                return ctl_usage_error("--to-zxid needs a zxid (0x... or decimal), not \"%s\"", optarg);
            to_zxid = (int64_t)v;
            targets++;
            break;
        }
        case 'T':
            if (parse_time(optarg, &to_time) < 0)
                return ctl_usage_error("--to-time needs 2026-12-07T02:30:00Z (UTC) or Unix milliseconds, not \"%s\"",
                                       optarg);
            targets++;
            break;
        case 'L': targets++; break;
        case 'W': wal_dir = optarg; break;
        case 'j': json = 1; break;
        case 'h': restore_usage(stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error("restore: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc || !data)
        return ctl_usage_error("restore needs BACKUP and -D DATA_DIR");
    if (targets > 1)
        return ctl_usage_error("one of --to-zxid, --to-time, --to-latest");
    if ((to_zxid != INT64_MAX || to_time != INT64_MAX) && !archive)
        return ctl_usage_error("--to-zxid and --to-time need --archive (the backup alone holds one point in time)");
    const char *backup = argv[optind];
    if (!dd_dir_empty(data))
        return ctl_fail("%s exists and is not empty: restore writes a new data directory", data);
    if (wal_dir && !dd_dir_empty(wal_dir))
        return ctl_fail("%s exists and is not empty: restore writes a new WAL directory", wal_dir);

    char snap[64];
    int64_t end_zxid = 0, created_ms = 0;
    if (check_manifest(backup, snap, sizeof snap, &end_zxid, &created_ms) < 0)
        return CTL_EXIT_FAIL;
    if (to_zxid < end_zxid)
        return ctl_fail("backup %s ends at zxid 0x%" PRIx64 ": it cannot restore to the earlier zxid 0x%" PRIx64
                        " (use an older backup)", backup, (uint64_t)end_zxid, (uint64_t)to_zxid);
    if (to_time != INT64_MAX && to_time < created_ms) {
        char t[40];
        fmt_time(t, sizeof t, created_ms);
        return ctl_fail("backup %s was taken at %s (zxid 0x%" PRIx64 "): it cannot restore to an earlier time (use an "
                        "older backup)", backup, t, (uint64_t)end_zxid);
    }

    /* The plan: the backup's snapshot, then the archive as its WAL. */
    int rc = CTL_EXIT_FAIL;
    RpDir *d = calloc(1, sizeof *d);
    RpPlan *p = calloc(1, sizeof *p);
    RpFiles files = {NULL, 0};
    if (!d || !p) {
        ctl_fail("out of memory");
        goto out;
    }
    snprintf(d->dir, sizeof d->dir, "%s", backup);
    snprintf(d->waldir, sizeof d->waldir, "%s", archive ? archive : backup);
    char err[RP_MSG_MAX + 200];
    if (rp_list_snapshots(backup, &d->snaps, &d->nsnaps, NULL, NULL, err, sizeof err) < 0 ||
        (archive && rp_list_segments(archive, &d->segs, &d->nsegs, NULL, NULL, err, sizeof err) < 0)) {
        ctl_fail("%s", err);
        goto out;
    }
    RpReader reader = rp_file_reader(&files);
    rp_plan(d, &reader, 0, p);
    rp_files_free(&files);
    if (p->verdict != RP_RECOVER || p->nskipped || p->torn || p->snap < 0 || p->snap_zxid != end_zxid) {
        if (p->verdict != RP_RECOVER)
            ctl_fail("cannot restore: %s", p->message);
        else if (p->snap < 0 || p->snap_zxid != end_zxid)
            ctl_fail("cannot restore: the snapshot of backup %s (%s) does not pass its checks", backup, snap);
        else
            ctl_fail("cannot restore: an archived segment is damaged or incomplete (%s)",
                     p->nskipped ? "damage inside it" : "a torn end: an archived segment is complete");
        goto out;
    }
    if (to_zxid != INT64_MAX && to_zxid > p->last_zxid) {
        ctl_fail("cannot restore to zxid 0x%" PRIx64 ": the backup and the archive reach only zxid 0x%" PRIx64,
                 (uint64_t)to_zxid, (uint64_t)p->last_zxid);
        goto out;
    }

    DdWriter w;
    if (dd_create(&w, data, wal_dir, end_zxid, err, sizeof err) < 0) {
        ctl_fail("%s", err);
        goto out;
    }
    char src[2 * PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", backup, snap);
    if (dd_put_snapshot(&w, src, end_zxid, err, sizeof err) < 0) {
        ctl_fail("%s", err);
        dd_abort(&w);
        goto out;
    }
    Target t = {to_zxid, to_time, &w, end_zxid, 0, 0, isatty(2)};
    uint64_t n = 0;
    err[0] = '\0';
    int r = rp_replay(d, p, put_until, &t, &n, err, sizeof err);
    if (r < 0 || dd_finish(&w, err, sizeof err) < 0) {
        if (err[0])
            ctl_fail("%s", err);
        dd_abort(&w);
        ctl_fail("restore failed; %s is incomplete: remove it", data);
        goto out;
    }
    if (json) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "data_dir", data);
        json_kstr(&sb, "backup", backup);
        json_khex(&sb, "backup_end_zxid", end_zxid);
        json_kint(&sb, "archived_records", (int64_t)t.records);
        json_khex(&sb, "last_zxid", t.last);
        json_kbool(&sb, "target_reached", t.reached || to_zxid == t.last);
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
        corral_strbuf_free(&sb);
    } else {
        printf("restored %s: backup %s (zxid 0x%" PRIx64 ") and %" PRIu64 " archived records; last zxid 0x%" PRIx64
               "%s\n", data, backup, (uint64_t)end_zxid, t.records, (uint64_t)t.last,
               !archive ? "" : t.reached ? " (stopped at the target)" : " (the end of the archive)");
    }
    rc = CTL_EXIT_OK;
out:
    if (d)
        rp_dir_free(d);
    free(d);
    free(p);
    return rc;
}
