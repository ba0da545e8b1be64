/*
 * src/bin/corralctl/cmd_verify.c: corralctl verify DATA_DIR [--json]: the plan of
 * storage_file's recovery for a data directory, read-only.
 * (see storage_tool.c for the shared code and doc/storage-tools.md).
 */
#include "storage_tool.h"

/* ---- verify ---------------------------------------------------------------
 * Two passes.  First every file on its own: each snapshot through every
 * check recovery makes (and the payload's structure, as the core loads it),
 * each segment's header and every record (CRC, order, decoding).  Then the
 * plan of storage_file's recovery planner (recovery_plan.c, compiled in
 * through recovery_plan_link.c: the very code sf_recover follows) on those
 * facts, with accept_truncation on: the errors it gets past are the errors
 * the server stops with without it, word for word, and its plan is what the
 * option would keep.  What verify adds is its own: damage in files recovery
 * does not need now, records that do not decode, gaps in the zxids. */

/* What verify knows beyond the planner's facts. */
typedef struct VSnap {
    uint64_t file_size;
    uint64_t nnodes;
} VSnap;

typedef struct VSeg {
    uint64_t bad_bodies;      /* records whose body does not decode (the first is RpSeg.refused_*) */
} VSeg;

static void verify_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl verify DATA_DIR [--wal-dir DIR] [--json]\n"
            "\n"
            "Checks a storage_file data directory without changing it: every snapshot\n"
            "(header, CRC32C, zstd checksum, the payload's structure), every WAL segment\n"
            "header and every record (CRC32C, zxid order, decoding), the chain of\n"
            "segments, then works out what the server's recovery would do: the snapshot\n"
            "it would load, the zxid it would recover to, torn tails it would cut, and\n"
            "the error it would stop with (and what accept_truncation: true would keep).\n"
            "  -j, --json   one JSON object instead (see doc/storage-tools.md)\n"
            "  --wal-dir DIR  the WAL segments (storage_file wal_dir), default DATA_DIR/wal\n"
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

/* "KEY":"DIR/NAME" */
static void json_kpath(CorralStrbuf *sb, const char *key, const char *dir, const char *name)
{
    char path[PATH_MAX + RP_NAME_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_kstr(sb, key, path);
}

static const char *snap_status(const RpSnap *s, int upper)
{
    if (s->read == RP_OK && !s->refused)
        return upper ? "OK" : "ok";
    if (s->read == RP_BAD)
        return upper ? "CORRUPT" : "corrupt";
    if (s->refused)
        return upper ? "BAD PAYLOAD" : "bad payload";
    return upper ? "UNREADABLE" : "unreadable";
}

static void check_snapshot(const RpDir *d, RpSnap *s, VSnap *v)
{
    char path[PATH_MAX + RP_NAME_MAX], why[300];
    void *data = NULL;
    size_t len = 0;
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", d->dir, s->name);
    if (stat(path, &st) == 0)
        v->file_size = (uint64_t)st.st_size;
    rp_read_snapshot(s, path, &data, &len);
    if (s->read != RP_OK)
        return;
    SnapPayload sp;
    if (parse_payload(data, len, s->zxid, &sp, why, sizeof why) < 0) {
        s->refused = 1;
        snprintf(s->why, sizeof s->why, "%s", why);
    } else {
        v->nnodes = sp.nnodes;
    }
    payload_free(&sp);
    free(data);
}

typedef struct Decode {
    RpSeg *g;
    VSeg *v;
    CorralStrbuf sb;
} Decode;

static void decode_one(void *ctx, const WalfRecord *rec)
{
    Decode *dc = ctx;
    TxnHeader th;
    char why[200];
    corral_strbuf_reset(&dc->sb);
    if (decode_body(rec, &dc->sb, 1, &th, why, sizeof why) < 0 && !dc->v->bad_bodies++) {
        dc->g->refused_zxid = rec->zxid;
        dc->g->refused_off = rec->offset;
        snprintf(dc->g->refused_why, sizeof dc->g->refused_why, "%s", why);
    }
}

static void check_segment(const RpDir *d, RpSeg *g, VSeg *v)
{
    char path[PATH_MAX + RP_NAME_MAX];
    snprintf(path, sizeof path, "%s/%s", d->waldir, g->name);
    Decode dc = {g, v, CORRAL_STRBUF_INIT};
    rp_scan_segment(g, path, decode_one, &dc);
    corral_strbuf_free(&dc.sb);
}

/* Records of a segment that do not decode, the first of them named. */
static void undecodable(int *damage, Msgs *warnings, const char *waldir, const RpSeg *g, const VSeg *v,
                        const char *why)
{
    damage_add(damage, warnings, "%" PRIu64 " records of WAL segment %s/%s do not decode (first: zxid 0x%" PRIx64
               ", offset %" PRIu64 ": %s)%s", v->bad_bodies, waldir, g->name, (uint64_t)g->refused_zxid,
               g->refused_off, g->refused_why, why);
}

/* The records recovery would replay (rp_replay), in order.  Within one
 * epoch every zxid the core hands out is logged, so the zxids replayed
 * follow each other (the snapshot's, then +1, +2, ...).  A jump means
 * transactions that are neither in the snapshot nor in the WAL, and
 * recovery, which only checks that zxids increase, would replay across it
 * without a word: reported as damage.  (It happens when the snapshot that
 * covered them is set aside and an older one is used.) */
typedef struct Gaps {
    int64_t prev;             /* zxid of the last record replayed, or the snapshot's */
    int64_t snap_zxid;
    int have_snap;
    int gaps, *damage;
    Msgs *warnings;
} Gaps;

static int gap_check(void *ctx, const WalfRecord *rec, const char *path)
{
    Gaps *g = ctx;
    if ((rec->zxid >> 32) == (g->prev >> 32) && rec->zxid != g->prev + 1) {
        g->gaps++;
        damage_add(g->damage, g->warnings,
                   "WAL segment %s, offset %" PRIu64 ": zxid 0x%" PRIx64 " follows 0x%" PRIx64
                   " (%s): the %" PRId64 " transactions 0x%" PRIx64 "..0x%" PRIx64
                   " are neither in %s nor in the WAL, and recovery would replay across the gap "
                   "without an error: they would be missing from the tree",
                   path, rec->offset, (uint64_t)rec->zxid, (uint64_t)g->prev,
                   g->prev == g->snap_zxid ? (g->have_snap ? "the snapshot's zxid" : "the start of history")
                                           : "the record before",
                   rec->zxid - g->prev - 1, (uint64_t)(g->prev + 1), (uint64_t)(rec->zxid - 1),
                   g->have_snap ? "the snapshot recovery would load" : "any snapshot");
    }
    g->prev = rec->zxid;
    return 0;
}

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
    char zkmsg[2 * PATH_MAX + 400];
    if (rp_zookeeper_refusal(dir, a.wal_dir, zkmsg, sizeof zkmsg))
        return ctl_fail("%s", zkmsg);
    static RpDir d;
    static RpPlan plan;
    char err[PATH_MAX + 200];
    snprintf(d.dir, sizeof d.dir, "%s", dir);
    if (a.wal_dir)
        snprintf(d.waldir, sizeof d.waldir, "%s", a.wal_dir);
    else
        snprintf(d.waldir, sizeof d.waldir, "%s/wal", dir);
    const char *waldir = d.waldir;

    Msgs errors = {NULL, 0}, warnings = {NULL, 0}, notes = {NULL, 0};
    int damage = 0;

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

    /* Every file on its own, and what else lies in the directory. */
    NameList corrupt = {NULL, 0}, stmp = {NULL, 0}, wtmp = {NULL, 0}, disc = {NULL, 0};
    if (rp_list_snapshots(dir, &d.snaps, &d.nsnaps, &corrupt, &stmp, err, sizeof err) < 0)
        return ctl_fail("%s", err);
    int have_waldir = is_dir(waldir);
    if (have_waldir && rp_list_segments(waldir, &d.segs, &d.nsegs, &disc, &wtmp, err, sizeof err) < 0)
        snprintf(d.list_err, sizeof d.list_err, "%s", err);
    VSnap *vsnaps = xcalloc(d.nsnaps + 1, sizeof *vsnaps);
    VSeg *vsegs = xcalloc(d.nsegs + 1, sizeof *vsegs);
    for (size_t i = 0; i < d.nsnaps; i++)
        check_snapshot(&d, &d.snaps[i], &vsnaps[i]);
    for (size_t i = 0; i < d.nsegs; i++)
        check_segment(&d, &d.segs[i], &vsegs[i]);

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

    /* ---- recovery, as storage_file plans it ---- */
    RpPlan *p = &plan;
    rp_plan(&d, NULL, 1, p);
    const int fail = p->naccepted > 0 || p->verdict != RP_RECOVER;   /* without accept_truncation */
    const int fail_hard = p->verdict != RP_RECOVER;                  /* ... and with it */
    const long snap = p->snap >= 0 && !d.snaps[p->snap].refused ? p->snap : -1;
    char line[RP_LOG_MAX];
    for (size_t i = 0; i < d.nsnaps; i++) {
        const RpSnap *s = &d.snaps[i];
        if (s->set_aside) {
            rp_corrupt_snapshot_msg(line, sizeof line, dir, s, 1);
            damage_add(&damage, &warnings, "%s", line);
        } else if (p->snap >= 0 && (long)i > p->snap && (s->read != RP_OK || s->refused)) {
            damage_add(&damage, &warnings, "older snapshot %s/%s is %s (%s): not needed now, but no fallback", dir,
                       s->name, s->read == RP_IO ? "unreadable" : "corrupt", s->why);
        }
    }
    for (size_t k = 0; k < p->naccepted; k++) {
        const RpAccepted *acc = &p->accepted[k];
        msg_add(&errors, "%s", acc->message);
        if (acc->kind == RP_CUT_DAMAGE && acc->st.n_after)
            msg_add(&notes, "with accept_truncation: true, %" PRIu64 " bytes of %s/%s (holding at least %" PRIu64
                            " valid records, zxid 0x%" PRIx64 "..0x%" PRIx64 ") after zxid 0x%" PRIx64 " would be LOST",
                    rp_stop_bytes(&acc->st), waldir, d.segs[acc->seg].name, acc->st.n_after,
                    (uint64_t)acc->st.first_after_zxid, (uint64_t)acc->st.last_after_zxid,
                    (uint64_t)(acc->st.last_zxid > p->snap_zxid ? acc->st.last_zxid : p->snap_zxid));
    }
    for (size_t k = 0; k < p->nskipped && k < sizeof p->skipped / sizeof p->skipped[0]; k++) {
        char path[PATH_MAX + RP_NAME_MAX];
        snprintf(path, sizeof path, "%s/%s", waldir, d.segs[p->skipped[k].seg].name);
        rp_skip_msg(line, sizeof line, path, &p->skipped[k].st, p->snap_zxid, "recovery would replay from");
        damage_add(&damage, &warnings, "%s", line);
    }
    if (p->verdict != RP_RECOVER)
        msg_add(&errors, "%s", p->message);

    /* The records replayed: their count, and the gaps in their zxids. */
    for (size_t i = p->start; p->found && i < p->end; i++)
        if (d.segs[i].refused_zxid && d.segs[i].refused_zxid <= p->snap_zxid)
            undecodable(&damage, &warnings, waldir, &d.segs[i], &vsegs[i], "; the snapshot covers them");
    Gaps gp = {p->snap_zxid, p->snap_zxid, p->snap >= 0, 0, &damage, &warnings};
    uint64_t replay = 0;
    if (rp_replay(&d, p, gap_check, &gp, &replay, err, sizeof err) < 0)
        msg_add(&errors, "%s", err);
    if (p->torn) {
        char path[PATH_MAX + RP_NAME_MAX];
        snprintf(path, sizeof path, "%s/%s", waldir, d.segs[p->end - 1].name);
        rp_torn_msg(line, sizeof line, path, &p->stop, "recovery would drop");
        msg_add(&warnings, "%s", line);
    }
    if (p->remove_empty)
        msg_add(&notes, "WAL segment %s/%s holds no record: recovery removes it", waldir, d.segs[p->kept].name);

    /* Damage in files recovery would not read (segments before the replay
     * start, older snapshots): reported, they are the fallback. */
    for (size_t i = 0; i < d.nsegs; i++) {
        const RpSeg *g = &d.segs[i];
        if (g->hdr == RP_BAD && !(p->found && i >= p->start && i < p->listed_end))
            damage_add(&damage, &warnings, "WAL segment %s/%s: bad header (%s)", waldir, g->name, g->hdr_why);
        if (p->found && i >= p->start)
            continue;
        if (g->hdr == RP_OK && g->st.kind != WALF_STOP_CLEAN)
            damage_add(&damage, &warnings, "WAL segment %s/%s (before the replay start, kept for older snapshots), "
                       "offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64 ": damaged",
                       waldir, g->name, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid);
        if (g->hdr == RP_OK && vsegs[i].bad_bodies)
            undecodable(&damage, &warnings, waldir, g, &vsegs[i], "");
    }
    if (snap < 0 && !fail && d.nsegs == 0)
        msg_add(&notes, "no snapshot and no WAL: a new, empty data directory");

    const char *status = fail ? "fail" : p->torn ? "truncate" : damage ? "damaged" : "ok";
    int rc = strcmp(status, "ok") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;

    /* ---- report ---- */
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "dir", dir);
        json_kstr(&sb, "status", status);
        json_key(&sb, "snapshot");
        if (snap >= 0) {
            corral_strbuf_puts(&sb, "{");
            json_kpath(&sb, "file", dir, d.snaps[snap].name);
            json_khex(&sb, "zxid", d.snaps[snap].zxid);
            json_kint(&sb, "size", (int64_t)vsnaps[snap].file_size);
            json_kint(&sb, "znodes", (int64_t)vsnaps[snap].nnodes);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_puts(&sb, "null");
        }
        json_kint(&sb, "replay_records", (int64_t)replay);
        if (!fail_hard)
            json_khex(&sb, "recovers_to_zxid", p->last_zxid);
        else
            json_kstr(&sb, "recovers_to_zxid", "none");
        json_kbool(&sb, "accept_truncation_needed", fail && !fail_hard);
        json_key(&sb, "snapshots");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < d.nsnaps; i++) {
            const RpSnap *s = &d.snaps[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kpath(&sb, "file", dir, s->name);
            json_khex(&sb, "zxid", s->zxid);
            json_kint(&sb, "size", (int64_t)vsnaps[i].file_size);
            json_kstr(&sb, "status", snap_status(s, 0));
            if (s->read != RP_OK || s->refused)
                json_kstr(&sb, "reason", s->why);
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        json_key(&sb, "segments");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < d.nsegs; i++) {
            const RpSeg *g = &d.segs[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kpath(&sb, "file", waldir, g->name);
            json_kint(&sb, "sequence", (int64_t)g->seq);
            if (g->hdr != RP_OK) {
                json_kstr(&sb, "status", g->hdr == RP_BAD ? "bad header" : "unreadable");
                json_kstr(&sb, "reason", g->hdr_why);
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
                if (vsegs[i].bad_bodies)
                    json_kint(&sb, "undecodable_records", (int64_t)vsegs[i].bad_bodies);
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
        for (size_t i = 0; i < d.nsnaps; i++) {
            const RpSnap *s = &d.snaps[i];
            corral_strbuf_printf(&sb, "snapshot %s: zxid 0x%" PRIx64 ", %" PRIu64 " bytes: ", s->name, (uint64_t)s->zxid,
                                 vsnaps[i].file_size);
            if (s->read == RP_OK && !s->refused)
                corral_strbuf_printf(&sb, "ok (%" PRIu64 " znodes)%s", vsnaps[i].nnodes,
                                     (long)i == snap ? ", newest valid" : "");
            else
                corral_strbuf_printf(&sb, "%s (%s)", snap_status(s, 1), s->why);
            emit(&sb);
        }
        if (!d.nsnaps) {
            corral_strbuf_puts(&sb, "no snapshot");
            emit(&sb);
        }
        for (size_t i = 0; i < d.nsegs; i++) {
            const RpSeg *g = &d.segs[i];
            corral_strbuf_printf(&sb, "WAL segment %s: ", g->name);
            if (g->hdr != RP_OK) {
                corral_strbuf_printf(&sb, "%s (%s)", g->hdr == RP_BAD ? "BAD HEADER" : "UNREADABLE", g->hdr_why);
            } else {
                corral_strbuf_printf(&sb, "sequence %" PRIu64 ", prev zxid 0x%" PRIx64 ", %" PRIu64 " records",
                                     g->seq, (uint64_t)g->h.prev_zxid, g->st.nrecords);
                if (g->st.nrecords)
                    corral_strbuf_printf(&sb, " (zxid 0x%" PRIx64 "..0x%" PRIx64 ")", (uint64_t)g->first_rec,
                                         (uint64_t)g->st.last_zxid);
                if (g->st.kind == WALF_STOP_CLEAN)
                    corral_strbuf_printf(&sb, ", clean end at offset %" PRIu64, g->st.offset);
                else
                    corral_strbuf_printf(&sb, ", %s at offset %" PRIu64 " (%s)",
                                         g->st.kind == WALF_STOP_TORN ? "TORN" : "DAMAGED", g->st.offset, g->st.reason);
                if (vsegs[i].bad_bodies)
                    corral_strbuf_printf(&sb, ", %" PRIu64 " records do not decode", vsegs[i].bad_bodies);
            }
            emit(&sb);
        }
        if (!d.nsegs) {
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
        if (!fail) {
            if (snap >= 0)
                corral_strbuf_printf(&sb, "recovery: snapshot at zxid 0x%" PRIx64 ", then %" PRIu64
                                          " WAL records; last zxid 0x%" PRIx64,
                                     (uint64_t)p->snap_zxid, replay, (uint64_t)p->last_zxid);
            else
                corral_strbuf_printf(&sb, "recovery: no snapshot, %" PRIu64 " WAL records; last zxid 0x%" PRIx64,
                                     replay, (uint64_t)p->last_zxid);
        } else if (fail_hard) {
            corral_strbuf_puts(&sb, "recovery: would FAIL (see ERROR); accept_truncation cannot help");
        } else {
            corral_strbuf_printf(&sb,
                                 "recovery: would FAIL (see ERROR); with accept_truncation: true it would recover up "
                                 "to zxid 0x%" PRIx64 " and drop the rest",
                                 (uint64_t)p->last_zxid);
        }
        emit(&sb);
        corral_strbuf_printf(&sb, "result: %s",
                             rc == CTL_EXIT_OK ? "OK"
                             : fail            ? "FAIL: recovery would stop with an error"
                             : gp.gaps         ? "DAMAGED: recovery would succeed but skip transactions (see WARNING)"
                             : p->torn         ? "TRUNCATE: recovery would cut a torn tail"
                                               : "DAMAGED: a file is damaged (see WARNING); recovery would go around it");
        emit(&sb);
    }
    corral_strbuf_free(&sb);
    rp_names_free(&errors);
    rp_names_free(&warnings);
    rp_names_free(&notes);
    rp_names_free(&corrupt);
    rp_names_free(&stmp);
    rp_names_free(&wtmp);
    rp_names_free(&disc);
    rp_dir_free(&d);
    free(vsnaps);
    free(vsegs);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return rc;
}

