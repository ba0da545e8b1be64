/*
 * src/bin/corralctl/cmd_verify.c: corralctl verify DATA_DIR [--json]: the recovery rules, read-only.
 * (see storage_tool.c for the shared code and doc/storage-tools.md).
 */
#include "storage_tool.h"

/* ---- verify ---------------------------------------------------------------
 * Two passes.  First every file on its own: each snapshot through every
 * check recovery makes (and the payload's structure, as the core loads it),
 * each segment's header and every record (CRC, order, decoding).  Then
 * storage_file's recovery (sf_recover) replayed on those results, read-only:
 * which snapshot it would load, where replay starts, what it would cut, and
 * the error it would stop with. */

typedef struct VSnap {
    char name[NAME_MAX + 1];
    char path[PATH_MAX];
    int64_t zxid;
    int status;          /* 0 ok, -1 unreadable (I/O), -2 corrupt, -3 payload refused by the core */
    char why[320];
    uint64_t file_size, raw_len;
    uint64_t nnodes;
} VSnap;

typedef struct VSeg {
    SegFile f;
    int hdr;             /* 0 ok, -1 I/O, -2 bad */
    char why[320];
    WalfSegHeader h;
    uint64_t size;
    WalfStop st;
    int64_t first_rec;   /* zxid of the first record, 0 if none */
    uint64_t first_rec_off;
    /* The first record (zxid and offset) whose body does not decode; 0 if none. */
    int64_t bad_body_zxid;
    uint64_t bad_body_off;
    char bad_body_why[200];
    uint64_t bad_bodies;
} VSeg;

static int cmp_vsnap_desc(const void *a, const void *b)
{
    const VSnap *x = a, *y = b;
    return (x->zxid < y->zxid) - (x->zxid > y->zxid);
}

static void verify_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl verify DATA_DIR [--json]\n"
            "\n"
            "Checks a storage_file data directory without changing it: every snapshot\n"
            "(header, CRC32C, zstd checksum, the payload's structure), every WAL segment\n"
            "header and every record (CRC32C, zxid order, decoding), the chain of\n"
            "segments, then works out what the server's recovery would do: the snapshot\n"
            "it would load, the zxid it would recover to, torn tails it would cut, and\n"
            "the error it would stop with (and what accept_truncation: true would keep).\n"
            "  -j, --json   one JSON object instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 clean (recovery would load everything, cut nothing); 1\n"
            "recovery would fail or truncate, or a file is damaged or unreadable; 2 bad\n"
            "usage.\n");
}

typedef NameList Msgs;

static void msg_vadd(Msgs *m, const char *fmt, va_list ap)
{
    char buf[PATH_MAX * 2 + 600];
    vsnprintf(buf, sizeof buf, fmt, ap);
    names_add(m, buf);
}

static void msg_add(Msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_add(Msgs *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vadd(m, fmt, ap);
    va_end(ap);
}

/* A warning about damage that recovery would not trip over (a file it does
 * not need now): counted, since verify then exits 1 all the same. */
static void damage_add(int *count, Msgs *m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void damage_add(int *count, Msgs *m, const char *fmt, ...)
{
    va_list ap;
    (*count)++;
    va_start(ap, fmt);
    msg_vadd(m, fmt, ap);
    va_end(ap);
}

static void check_snapshot(VSnap *v)
{
    WalfSnapHeader h;
    void *data = NULL;
    size_t len = 0;
    char why[300];
    struct stat st;
    if (stat(v->path, &st) == 0)
        v->file_size = (uint64_t)st.st_size;
    int r = walf_snapshot_read(v->path, &h, &data, &len, why, sizeof why);
    if (r == 0 && h.last_zxid != v->zxid) {
        snprintf(why, sizeof why, "its header says zxid 0x%" PRIx64, (uint64_t)h.last_zxid);
        r = -2;
    }
    if (r < 0) {
        v->status = r;
        snprintf(v->why, sizeof v->why, "%s", why);
        free(data);
        return;
    }
    v->raw_len = h.raw_len;
    SnapPayload sp;
    if (parse_payload(data, len, v->zxid, &sp, why, sizeof why) < 0) {
        v->status = -3;
        snprintf(v->why, sizeof v->why, "%s", why);
    } else {
        v->nnodes = sp.nnodes;
    }
    payload_free(&sp);
    free(data);
}

static void check_segment(VSeg *v)
{
    WalfSegment seg;
    v->hdr = walf_seg_open(&seg, v->f.path, v->why, sizeof v->why);
    if (v->hdr < 0)
        return;
    v->h = seg.hdr;
    v->size = seg.size;
    WalfIter it;
    WalfRecord rec;
    walf_iter_init(&it, &seg);
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    while (walf_iter_next(&it, &rec, &v->st)) {
        if (it.count == 1) {
            v->first_rec = rec.zxid;
            v->first_rec_off = rec.offset;
        }
        TxnHeader th;
        char why[200];
        corral_strbuf_reset(&sb);
        if (decode_body(&rec, &sb, 1, &th, why, sizeof why) < 0) {
            if (!v->bad_bodies++) {
                v->bad_body_zxid = rec.zxid;
                v->bad_body_off = rec.offset;
                snprintf(v->bad_body_why, sizeof v->bad_body_why, "%s", why);
            }
        }
    }
    corral_strbuf_free(&sb);
    walf_seg_close(&seg);
}

typedef struct Verdict {
    int fail;                 /* recovery would stop with an error */
    int fail_hard;            /* ... that accept_truncation cannot help with */
    int truncate;             /* recovery would cut (torn tail) */
    int64_t snap_zxid;        /* -1: no snapshot */
    const VSnap *snap;
    uint64_t replay;          /* WAL records replayed after the snapshot */
    int64_t last_zxid;        /* what recovery reaches */
    int64_t accept_zxid;      /* with accept_truncation (fail && !fail_hard) */
    int64_t wal_first, wal_last;
} Verdict;

int ctl_cmd_verify(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 0, verify_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    (void)o;
    const char *dir = a.path;
    if (!is_dir(dir))
        return ctl_fail("%s is not a directory", dir);
    char waldir[PATH_MAX], err[PATH_MAX + 200];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);

    Msgs errors = {NULL, 0}, warnings = {NULL, 0}, notes = {NULL, 0};
    Verdict vd;
    int damage = 0;
    memset(&vd, 0, sizeof vd);
    vd.snap_zxid = -1;

    /* In use?  (A running server may be writing the last records.) */
    char lockp[PATH_MAX];
    snprintf(lockp, sizeof lockp, "%s/LOCK", dir);
    int lfd = open(lockp, O_RDONLY | O_CLOEXEC);
    if (lfd >= 0) {
        if (flock(lfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
            msg_add(&warnings, "%s is in use by a running server (%s is locked): the last records may be being "
                               "written, a torn tail may be a write in progress", dir, lockp);
        close(lfd);
    }

    /* Snapshots, and what else lies in the directory. */
    VSnap *snaps = NULL;
    size_t nsnaps = 0;
    NameList corrupt = {NULL, 0}, stmp = {NULL, 0}, wtmp = {NULL, 0}, disc = {NULL, 0};
    DIR *d = opendir(dir);
    if (!d)
        return ctl_fail("cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t z;
        if (walf_parse_snap_name(e->d_name, &z) == 0) {
            snaps = xrealloc(snaps, (nsnaps + 1) * sizeof *snaps);
            memset(&snaps[nsnaps], 0, sizeof *snaps);
            snprintf(snaps[nsnaps].name, sizeof snaps[nsnaps].name, "%s", e->d_name);
            snprintf(snaps[nsnaps].path, sizeof snaps[nsnaps].path, "%s/%s", dir, e->d_name);
            snaps[nsnaps].zxid = z;
            nsnaps++;
        } else if (strncmp(e->d_name, "snapshot.", 9) == 0 && has_suffix(e->d_name, ".corrupt")) {
            names_add(&corrupt, e->d_name);
        } else if (strncmp(e->d_name, "snapshot.", 9) == 0 && has_suffix(e->d_name, ".tmp")) {
            names_add(&stmp, e->d_name);
        }
    }
    closedir(d);
    if (nsnaps)
        qsort(snaps, nsnaps, sizeof *snaps, cmp_vsnap_desc);
    for (size_t i = 0; i < nsnaps; i++)
        check_snapshot(&snaps[i]);

    SegFile *files = NULL;
    size_t nsegs = 0;
    int have_waldir = is_dir(waldir);
    if (have_waldir && list_segments(waldir, &files, &nsegs, &disc, &wtmp, err, sizeof err) < 0) {
        msg_add(&errors, "%s", err);
        vd.fail = vd.fail_hard = 1;
    }
    VSeg *segs = xcalloc(nsegs ? nsegs : 1, sizeof *segs);
    for (size_t i = 0; i < nsegs; i++) {
        segs[i].f = files[i];
        check_segment(&segs[i]);
    }
    free(files);

    for (size_t i = 0; i < stmp.n; i++)
        msg_add(&notes, "%s/%s: left by an interrupted snapshot; recovery removes it", dir, stmp.v[i]);
    for (size_t i = 0; i < wtmp.n; i++)
        if (strcmp(wtmp.v[i], "spare.tmp") == 0)
            msg_add(&notes, "%s/%s: the next segment, preallocated ahead (storage_file keeps it)", waldir, wtmp.v[i]);
        else
            msg_add(&notes, "%s/%s: left by an interrupted segment creation; recovery removes it", waldir,
                    wtmp.v[i]);
    for (size_t i = 0; i < corrupt.n; i++)
        msg_add(&notes, "%s/%s: set aside earlier as corrupt (never read)", dir, corrupt.v[i]);
    for (size_t i = 0; i < disc.n; i++)
        msg_add(&notes, "%s/%s: set aside earlier by accept_truncation (never read)", waldir, disc.v[i]);

    /* ---- recovery, as storage_file.c does it ---- */
    /* 1. The newest snapshot that verifies; corrupt ones would be set aside. */
    size_t bad_snaps = 0;
    int64_t S = 0;
    int have_snap = 0;
    for (size_t i = 0; i < nsnaps && !vd.fail; i++) {
        VSnap *s = &snaps[i];
        if (have_snap) {
            if (s->status < 0)
                damage_add(&damage, &warnings, "older snapshot %s is %s (%s): not needed now, but no fallback",
                        s->path, s->status == -1 ? "unreadable" : "corrupt", s->why);
            continue;
        }
        if (s->status == -1) {
            msg_add(&errors, "cannot read snapshot %s: %s", s->path, s->why);
            vd.fail = vd.fail_hard = 1;
            break;
        }
        if (s->status == -2) {
            bad_snaps++;
            damage_add(&damage, &warnings, "snapshot %s is corrupt (%s); recovery would fall back to %s and rename it to %s.corrupt",
                    s->path, s->why, i + 1 < nsnaps ? "the previous snapshot" : "the WAL alone", s->path);
            continue;
        }
        if (s->status == -3) {
            msg_add(&errors, "the server could not load snapshot %s: %s", s->path, s->why);
            vd.fail = vd.fail_hard = 1;
            break;
        }
        have_snap = 1;
        S = s->zxid;
        vd.snap = s;
        vd.snap_zxid = S;
    }

    /* 2./3. Where replay starts. */
    size_t start = 0, end = nsegs;
    int found = 0;
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].hdr == 0 && segs[i].h.prev_zxid <= S) {
            start = i;
            found = 1;
        }
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].hdr == -1) {
            msg_add(&errors, "cannot read WAL segment %s: %s", segs[i].f.path, segs[i].why);
            vd.fail = vd.fail_hard = 1;
        }
    int64_t accept_last = -1;      /* where accept_truncation would stop (zxid), -1 unknown */
    if (!vd.fail && nsegs == 0 && !have_snap && bad_snaps) {
        msg_add(&errors, "no usable snapshot in %s (%zu corrupt, renamed *.corrupt) and no WAL: refusing to start with "
                         "an empty tree", dir, bad_snaps);
        vd.fail = vd.fail_hard = 1;
    }
    if (!vd.fail && nsegs && !found) {
        const VSeg *f = &segs[0];
        for (size_t i = 0; i < nsegs; i++)
            if (segs[i].hdr == 0) {
                f = &segs[i];
                break;
            }
        char base[120];
        if (have_snap)
            snprintf(base, sizeof base, "the newest usable snapshot covers up to zxid 0x%" PRIx64, (uint64_t)S);
        else
            snprintf(base, sizeof base, "there is no usable snapshot%s", bad_snaps ? " (the others are corrupt)" : "");
        if (f->hdr != 0)
            msg_add(&errors, "WAL segment %s: bad header (%s), and %s", f->f.path, f->why, base);
        else
            msg_add(&errors,
                    "WAL segment %s starts after zxid 0x%" PRIx64 ", but %s: the transactions in between are missing "
                    "(a deleted segment or snapshot?)", f->f.path, (uint64_t)f->h.prev_zxid, base);
        vd.fail = 1;
        if (!have_snap)
            vd.fail_hard = 1;
        else
            accept_last = S;
        end = 0;
    }
    /* 4. Headers and numbering from the start on. */
    for (size_t i = start; found && !vd.fail && i < end; i++) {
        char msg[PATH_MAX * 2 + 300] = "";
        if (segs[i].hdr != 0)
            snprintf(msg, sizeof msg, "WAL segment %s: bad header (%s)", segs[i].f.path, segs[i].why);
        else if (i > start && segs[i].f.seq == segs[i - 1].f.seq)
            snprintf(msg, sizeof msg, "two WAL segments with sequence number %" PRIu64 ": %s and %s in %s",
                     segs[i].f.seq, segs[i - 1].f.name, segs[i].f.name, waldir);
        else if (i > start && segs[i].f.seq != segs[i - 1].f.seq + 1)
            walf_missing_segment_msg(msg, sizeof msg, segs[i - 1].f.seq + 1, waldir, segs[i - 1].f.name,
                                     segs[i].f.name,
                                     walf_seg_last_zxid(segs[i - 1].f.path, segs[i - 1].h.prev_zxid));
        if (!msg[0])
            continue;
        msg_add(&errors, "%s", msg);
        vd.fail = 1;
        if (i == start)
            vd.fail_hard = 1;
        end = i;      /* accept_truncation keeps the log up to the end of segment i-1 */
        break;
    }
    /* 5./6. Replay. */
    int64_t wal_last = found && end > start ? segs[start].h.prev_zxid : S;
    int64_t replay_prev = S;     /* zxid of the last record replayed, or the snapshot's */
    int gaps = 0;                /* jumps in the zxids replayed */
    int cut_done = 0;
    for (size_t i = start; found && !vd.fail_hard && !cut_done && i < end; i++) {
        const VSeg *g = &segs[i];
        if (i > start && g->h.prev_zxid != wal_last) {
            msg_add(&errors,
                    "WAL segment %s starts after zxid 0x%" PRIx64 " but %s ends at zxid 0x%" PRIx64
                    ": the transactions in between are missing",
                    g->f.path, (uint64_t)g->h.prev_zxid, segs[i - 1].f.name, (uint64_t)wal_last);
            vd.fail = 1;
            break;
        }
        if (g->st.nrecords && g->first_rec != g->h.first_zxid) {
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": first record has zxid 0x%" PRIx64 ", the header says 0x%" PRIx64
                    ": the log is damaged. Set accept_truncation: true to recover up to zxid 0x%" PRIx64
                    " and drop the rest",
                    g->f.path, g->first_rec_off, (uint64_t)g->first_rec, (uint64_t)g->h.first_zxid,
                    (uint64_t)g->h.prev_zxid);
            vd.fail = 1;
            cut_done = 1;
            break;
        }
        /* Records the server would apply: zxid > S. */
        if (g->bad_bodies && g->bad_body_zxid > S) {
            msg_add(&errors,
                    "the server could not apply the transaction at zxid 0x%" PRIx64 " (WAL segment %s, offset %" PRIu64
                    "): %s", (uint64_t)g->bad_body_zxid, g->f.path, g->bad_body_off, g->bad_body_why);
            vd.fail = vd.fail_hard = 1;
            break;
        } else if (g->bad_bodies) {
            damage_add(&damage, &warnings, "%" PRIu64 " records of WAL segment %s do not decode (first: zxid 0x%" PRIx64
                               ", offset %" PRIu64 ": %s); the snapshot covers them",
                    g->bad_bodies, g->f.path, (uint64_t)g->bad_body_zxid, g->bad_body_off, g->bad_body_why);
        }
        if (!vd.wal_first && g->first_rec)
            vd.wal_first = g->first_rec;
        /* The records recovery would replay (zxid > S), in order.  Within
         * one epoch every zxid the core hands out is logged, so the zxids
         * replayed follow each other (the snapshot's, then +1, +2, ...).  A
         * jump means transactions that are neither in the snapshot nor in
         * the WAL, and recovery, which only checks that zxids increase,
         * would replay across it without a word: reported as damage.  (It
         * happens when the snapshot that covered them is set aside and an
         * older one is used, e.g. after a member installed its leader's
         * snapshot, SNAP, over a log that stopped earlier.) */
        {
            WalfSegment seg;
            char why[300];
            if (walf_seg_open(&seg, g->f.path, why, sizeof why) == 0) {
                WalfIter it;
                WalfRecord rec;
                WalfStop st;
                walf_iter_init(&it, &seg);
                while (walf_iter_next(&it, &rec, &st)) {
                    if (rec.zxid <= S)
                        continue;
                    vd.replay++;
                    if ((rec.zxid >> 32) == (replay_prev >> 32) && rec.zxid != replay_prev + 1) {
                        gaps++;
                        damage_add(&damage, &warnings,
                                   "WAL segment %s, offset %" PRIu64 ": zxid 0x%" PRIx64 " follows 0x%" PRIx64
                                   " (%s): the %" PRId64 " transactions 0x%" PRIx64 "..0x%" PRIx64
                                   " are neither in %s nor in the WAL, and recovery would replay across the gap "
                                   "without an error: they would be missing from the tree",
                                   g->f.path, rec.offset, (uint64_t)rec.zxid, (uint64_t)replay_prev,
                                   replay_prev == S ? (have_snap ? "the snapshot's zxid" : "the start of history")
                                                    : "the record before",
                                   rec.zxid - replay_prev - 1, (uint64_t)(replay_prev + 1), (uint64_t)(rec.zxid - 1),
                                   have_snap ? "the snapshot recovery would load" : "any snapshot");
                    }
                    replay_prev = rec.zxid;
                }
                walf_seg_close(&seg);
            }
        }
        wal_last = g->st.last_zxid;
        int is_last = i == nsegs - 1;
        uint64_t nz = g->st.nonzero_end > g->st.offset ? g->st.nonzero_end - g->st.offset : 0;
        if (g->st.kind == WALF_STOP_CLEAN) {
            if (is_last && g->st.nrecords == 0)
                msg_add(&notes, "WAL segment %s holds no record: recovery removes it", g->f.path);
            continue;
        }
        if (g->st.kind == WALF_STOP_TORN && is_last) {
            vd.truncate = 1;
            if (g->st.n_after)
                msg_add(&warnings,
                        "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): recovery would "
                        "drop %" PRIu64 " bytes, including %" PRIu64 " complete records (zxid 0x%" PRIx64 "..0x%" PRIx64
                        ") of the unfinished last write, never acknowledged",
                        g->f.path, g->st.offset, (uint64_t)g->st.last_zxid, g->st.reason, nz, g->st.n_after,
                        (uint64_t)g->st.first_after_zxid, (uint64_t)g->st.last_after_zxid);
            else
                msg_add(&warnings,
                        "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): recovery would "
                        "drop %" PRIu64 " bytes",
                        g->f.path, g->st.offset, (uint64_t)g->st.last_zxid, g->st.reason, nz);
            continue;
        }
        if (g->st.kind == WALF_STOP_CORRUPT)
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                    "; valid records written later follow (offset %" PRIu64 ", zxid 0x%" PRIx64
                    "): the log is damaged, not torn. Set accept_truncation: true to recover up to zxid 0x%" PRIx64
                    " and drop the rest",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid, g->st.later_offset,
                    (uint64_t)g->st.later_zxid, (uint64_t)g->st.last_zxid);
        else
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                    ", in a segment that is not the last one (%zu follow): the log is damaged, not torn. Set "
                    "accept_truncation: true to recover up to zxid 0x%" PRIx64 " and drop the rest",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid, nsegs - 1 - i,
                    (uint64_t)g->st.last_zxid);
        if (g->st.n_after)
            msg_add(&notes, "with accept_truncation: true, %" PRIu64 " bytes of %s (holding at least %" PRIu64
                            " valid records, zxid 0x%" PRIx64 "..0x%" PRIx64 ") after zxid 0x%" PRIx64 " would be LOST",
                    nz, g->f.path, g->st.n_after, (uint64_t)g->st.first_after_zxid, (uint64_t)g->st.last_after_zxid,
                    (uint64_t)g->st.last_zxid);
        vd.fail = 1;
        cut_done = 1;
        break;
    }
    if (vd.fail && !vd.fail_hard && accept_last < 0)
        accept_last = wal_last > S ? wal_last : S;
    vd.accept_zxid = accept_last;
    vd.last_zxid = wal_last > S ? wal_last : S;
    vd.wal_last = wal_last;
    /* Damage in files recovery would not read (segments before the replay
     * start, older snapshots): reported, they are the fallback. */
    for (size_t i = 0; i < nsegs; i++) {
        const VSeg *g = &segs[i];
        if (g->hdr == -2 && !(found && i >= start && i < end))
            damage_add(&damage, &warnings, "WAL segment %s: bad header (%s)", g->f.path, g->why);
        if (found && i >= start)
            continue;
        if (g->hdr == 0 && g->st.kind != WALF_STOP_CLEAN)
            damage_add(&damage, &warnings, "WAL segment %s (before the replay start, kept for older snapshots), offset %" PRIu64
                               ": %s in the record after zxid 0x%" PRIx64 ": damaged",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid);
        if (g->hdr == 0 && g->bad_bodies)
            damage_add(&damage, &warnings, "%" PRIu64 " records of WAL segment %s do not decode (first: zxid 0x%" PRIx64
                               ", offset %" PRIu64 ": %s)",
                    g->bad_bodies, g->f.path, (uint64_t)g->bad_body_zxid, g->bad_body_off, g->bad_body_why);
    }
    if (!have_snap && !vd.fail && nsegs == 0)
        msg_add(&notes, "no snapshot and no WAL: a new, empty data directory");

    const char *status = vd.fail ? "fail" : vd.truncate ? "truncate" : damage ? "damaged" : "ok";
    int rc = strcmp(status, "ok") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;

    /* ---- report ---- */
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "dir", dir);
        json_kstr(&sb, "status", status);
        json_key(&sb, "snapshot");
        if (vd.snap) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "file", vd.snap->path);
            json_khex(&sb, "zxid", vd.snap->zxid);
            json_kint(&sb, "size", (int64_t)vd.snap->file_size);
            json_kint(&sb, "znodes", (int64_t)vd.snap->nnodes);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_puts(&sb, "null");
        }
        json_kint(&sb, "replay_records", (int64_t)vd.replay);
        if (!vd.fail_hard)
            json_khex(&sb, "recovers_to_zxid", vd.fail ? vd.accept_zxid : vd.last_zxid);
        else
            json_kstr(&sb, "recovers_to_zxid", "none");
        json_kbool(&sb, "accept_truncation_needed", vd.fail && !vd.fail_hard);
        json_key(&sb, "snapshots");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < nsnaps; i++) {
            const VSnap *s = &snaps[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kstr(&sb, "file", s->path);
            json_khex(&sb, "zxid", s->zxid);
            json_kint(&sb, "size", (int64_t)s->file_size);
            json_kstr(&sb, "status", s->status == 0 ? "ok" : s->status == -1 ? "unreadable" : s->status == -2 ? "corrupt"
                                                                                                          : "bad payload");
            if (s->status)
                json_kstr(&sb, "reason", s->why);
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        json_key(&sb, "segments");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < nsegs; i++) {
            const VSeg *g = &segs[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kstr(&sb, "file", g->f.path);
            json_kint(&sb, "sequence", (int64_t)g->f.seq);
            if (g->hdr) {
                json_kstr(&sb, "status", g->hdr == -1 ? "unreadable" : "bad header");
                json_kstr(&sb, "reason", g->why);
            } else {
                json_khex(&sb, "prev_zxid", g->h.prev_zxid);
                json_kint(&sb, "records", (int64_t)g->st.nrecords);
                if (g->first_rec)
                    json_khex(&sb, "first_zxid", g->first_rec);
                json_khex(&sb, "last_zxid", g->st.last_zxid);
                json_kstr(&sb, "status", g->st.kind == WALF_STOP_CLEAN ? "clean" : g->st.kind == WALF_STOP_TORN ? "torn"
                                                                                                              : "damaged");
                json_kint(&sb, "end_offset", (int64_t)g->st.offset);
                if (g->st.kind != WALF_STOP_CLEAN)
                    json_kstr(&sb, "reason", g->st.reason);
                if (g->bad_bodies)
                    json_kint(&sb, "undecodable_records", (int64_t)g->bad_bodies);
            }
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        Msgs *lists[] = {&errors, &warnings, &notes};
        const char *keys[] = {"errors", "warnings", "notes"};
        for (int k = 0; k < 3; k++) {
            json_key(&sb, keys[k]);
            corral_strbuf_puts(&sb, "[");
            for (size_t i = 0; i < lists[k]->n; i++) {
                if (i)
                    corral_strbuf_puts(&sb, ",");
                json_cstr(&sb, lists[k]->v[i]);
            }
            corral_strbuf_puts(&sb, "]");
        }
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
    } else {
        corral_strbuf_printf(&sb, "data directory %s", dir);
        emit(&sb);
        for (size_t i = 0; i < nsnaps; i++) {
            const VSnap *s = &snaps[i];
            corral_strbuf_printf(&sb, "snapshot %s: zxid 0x%" PRIx64 ", %" PRIu64 " bytes: ", s->name, (uint64_t)s->zxid,
                                 s->file_size);
            if (s->status == 0)
                corral_strbuf_printf(&sb, "ok (%" PRIu64 " znodes)%s", s->nnodes, s == vd.snap ? ", newest valid" : "");
            else
                corral_strbuf_printf(&sb, "%s (%s)",
                                     s->status == -1 ? "UNREADABLE" : s->status == -2 ? "CORRUPT" : "BAD PAYLOAD", s->why);
            emit(&sb);
        }
        if (!nsnaps) {
            corral_strbuf_puts(&sb, "no snapshot");
            emit(&sb);
        }
        for (size_t i = 0; i < nsegs; i++) {
            const VSeg *g = &segs[i];
            corral_strbuf_printf(&sb, "WAL segment %s: ", g->f.name);
            if (g->hdr) {
                corral_strbuf_printf(&sb, "%s (%s)", g->hdr == -1 ? "UNREADABLE" : "BAD HEADER", g->why);
            } else {
                corral_strbuf_printf(&sb, "sequence %" PRIu64 ", prev zxid 0x%" PRIx64 ", %" PRIu64 " records",
                                     g->f.seq, (uint64_t)g->h.prev_zxid, g->st.nrecords);
                if (g->st.nrecords)
                    corral_strbuf_printf(&sb, " (zxid 0x%" PRIx64 "..0x%" PRIx64 ")", (uint64_t)g->first_rec,
                                         (uint64_t)g->st.last_zxid);
                if (g->st.kind == WALF_STOP_CLEAN)
                    corral_strbuf_printf(&sb, ", clean end at offset %" PRIu64, g->st.offset);
                else
                    corral_strbuf_printf(&sb, ", %s at offset %" PRIu64 " (%s)",
                                         g->st.kind == WALF_STOP_TORN ? "TORN" : "DAMAGED", g->st.offset, g->st.reason);
                if (g->bad_bodies)
                    corral_strbuf_printf(&sb, ", %" PRIu64 " records do not decode", g->bad_bodies);
            }
            emit(&sb);
        }
        if (!nsegs) {
            corral_strbuf_printf(&sb, "no WAL segment%s", have_waldir ? "" : " (no wal/ directory)");
            emit(&sb);
        }
        for (size_t i = 0; i < notes.n; i++) {
            corral_strbuf_printf(&sb, "note: %s", notes.v[i]);
            emit(&sb);
        }
        for (size_t i = 0; i < warnings.n; i++) {
            corral_strbuf_printf(&sb, "WARNING: %s", warnings.v[i]);
            emit(&sb);
        }
        for (size_t i = 0; i < errors.n; i++) {
            corral_strbuf_printf(&sb, "ERROR: %s", errors.v[i]);
            emit(&sb);
        }
        if (!vd.fail) {
            if (vd.snap)
                corral_strbuf_printf(&sb, "recovery: snapshot at zxid 0x%" PRIx64 ", then %" PRIu64
                                          " WAL records; last zxid 0x%" PRIx64,
                                     (uint64_t)vd.snap_zxid, vd.replay, (uint64_t)vd.last_zxid);
            else
                corral_strbuf_printf(&sb, "recovery: no snapshot, %" PRIu64 " WAL records; last zxid 0x%" PRIx64,
                                     vd.replay, (uint64_t)vd.last_zxid);
        } else if (vd.fail_hard) {
            corral_strbuf_puts(&sb, "recovery: would FAIL (see ERROR); accept_truncation cannot help");
        } else {
            corral_strbuf_printf(&sb,
                                 "recovery: would FAIL (see ERROR); with accept_truncation: true it would recover up "
                                 "to zxid 0x%" PRIx64 " and drop the rest",
                                 (uint64_t)vd.accept_zxid);
        }
        emit(&sb);
        corral_strbuf_printf(&sb, "result: %s",
                             rc == CTL_EXIT_OK ? "OK"
                             : vd.fail         ? "FAIL: recovery would stop with an error"
                             : gaps            ? "DAMAGED: recovery would succeed but skip transactions (see WARNING)"
                             : vd.truncate     ? "TRUNCATE: recovery would cut a torn tail"
                                               : "DAMAGED: a file is damaged (see WARNING); recovery would go around it");
        emit(&sb);
    }
    corral_strbuf_free(&sb);
    names_free(&errors);
    names_free(&warnings);
    names_free(&notes);
    names_free(&corrupt);
    names_free(&stmp);
    names_free(&wtmp);
    names_free(&disc);
    free(snaps);
    free(segs);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return rc;
}

