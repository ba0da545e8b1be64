/*
 * src/modules/storage_file/recovery_plan.c: the recovery planner of
 * storage_file (see recovery_plan.h): listing a data directory, reading the
 * facts of its files, deciding what recovery does (rp_plan), walking the
 * records it replays (rp_replay), and the messages.  libc + libzstd only.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recovery_plan.h"

/* snprintf that may cut (messages are bounded; GCC cannot see the lengths). */
static void rp_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rp_fmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

/* ---- listing ------------------------------------------------------------- */

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* By sequence number, then by name (a duplicate number is reported with
 * its two names in the same order by the server and by verify). */
static int cmp_seg(const void *a, const void *b)
{
    const RpSeg *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_snap_desc(const void *a, const void *b)
{
    const RpSnap *x = a, *y = b;
    return (x->zxid < y->zxid) - (x->zxid > y->zxid);
}

static int names_push(RpNames *l, const char *s)
{
    if (!l)
        return 0;
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (!v)
        return -1;
    l->v = v;
    if (!(l->v[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static void names_sort(RpNames *l)
{
    if (l && l->n)
        qsort(l->v, l->n, sizeof *l->v, cmp_name);
}

void rp_names_free(RpNames *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* One listing in progress: the files of one kind, and the names of the
 * other files kept (set aside, temporary). */
typedef struct Listing {
    void *v;                    /* RpSeg or RpSnap */
    size_t n, cap;
    size_t size;                /* of one element */
    int (*cmp)(const void *, const void *);
    int (*entry)(struct Listing *l, const char *name);     /* takes one name: 0, or -1 out of memory */
    RpNames *aside, *tmp;
} Listing;

/* A new, zeroed element at the end of l->v, or NULL when out of memory. */
static void *push(Listing *l)
{
    const size_t size = l->size;
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 16;
        void *v = realloc(l->v, c * size);
        if (!v)
            return NULL;
        l->v = v;
        l->cap = c;
    }
    void *e = (char *)l->v + l->n++ * size;
    memset(e, 0, size);
    return e;
}

/* Gives every entry of `dir` to l->entry, then sorts.  0, or -1 with err. */
static int list_dir(const char *dir, Listing *l, char *err, size_t errlen)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        rp_fmt(err, errlen, "cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(dh)))
        if (l->entry(l, e->d_name) < 0) {
            closedir(dh);
            free(l->v);
            l->v = NULL;
            l->n = 0;
            rp_fmt(err, errlen, "out of memory");
            return -1;
        }
    closedir(dh);
    if (l->n)
        qsort(l->v, l->n, l->size, l->cmp);
    names_sort(l->aside);
    names_sort(l->tmp);
    return 0;
}

static int segment_entry(Listing *l, const char *name)
{
    uint64_t seq;
    int64_t first;
    if (walf_parse_seg_name(name, &seq, &first) == 0) {
        RpSeg *g = push(l);
        if (!g)
            return -1;
        rp_fmt(g->name, sizeof g->name, "%s", name);
        g->seq = seq;
        g->first = first;
        return 0;
    }
    if (has_suffix(name, ".discarded"))
        return names_push(l->aside, name);
    if (has_suffix(name, ".tmp"))
        return names_push(l->tmp, name);
    return 0;
}

static int snapshot_entry(Listing *l, const char *name)
{
    int64_t z;
    if (walf_parse_snap_name(name, &z) == 0) {
        RpSnap *sn = push(l);
        if (!sn)
            return -1;
        rp_fmt(sn->name, sizeof sn->name, "%s", name);
        sn->zxid = z;
        return 0;
    }
    if (strncmp(name, "snapshot.", 9) != 0)
        return 0;
    if (has_suffix(name, ".corrupt"))
        return names_push(l->aside, name);
    if (has_suffix(name, ".tmp"))
        return names_push(l->tmp, name);
    return 0;
}

int rp_list_segments(const char *waldir, RpSeg **out, size_t *nout, RpNames *discarded, RpNames *tmp, char *err,
                     size_t errlen)
{
    Listing l = {NULL, 0, 0, sizeof **out, cmp_seg, segment_entry, discarded, tmp};
    int rc = list_dir(waldir, &l, err, errlen);
    *out = l.v;
    *nout = l.n;
    return rc;
}

int rp_list_snapshots(const char *dir, RpSnap **out, size_t *nout, RpNames *corrupt, RpNames *tmp, char *err,
                      size_t errlen)
{
    Listing l = {NULL, 0, 0, sizeof **out, cmp_snap_desc, snapshot_entry, corrupt, tmp};
    int rc = list_dir(dir, &l, err, errlen);
    *out = l.v;
    *nout = l.n;
    return rc;
}

int rp_dir_list(RpDir *d, const char *dir, const char *waldir)
{
    memset(d, 0, sizeof *d);
    rp_fmt(d->dir, sizeof d->dir, "%s", dir);
    if (waldir)
        rp_fmt(d->waldir, sizeof d->waldir, "%s", waldir);
    else
        rp_fmt(d->waldir, sizeof d->waldir, "%s/wal", dir);
    if (rp_list_segments(d->waldir, &d->segs, &d->nsegs, NULL, NULL, d->list_err, sizeof d->list_err) < 0 ||
        rp_list_snapshots(d->dir, &d->snaps, &d->nsnaps, NULL, NULL, d->list_err, sizeof d->list_err) < 0)
        return -1;
    return 0;
}

void rp_dir_free(RpDir *d)
{
    free(d->snaps);
    free(d->segs);
    d->snaps = NULL;
    d->segs = NULL;
    d->nsnaps = d->nsegs = 0;
}

/* ---- reading the files ----------------------------------------------------- */

void rp_read_snapshot(RpSnap *s, const char *path, void **data, size_t *len)
{
    WalfSnapHeader h;
    void *p = NULL;
    size_t l = 0;
    int r = walf_snapshot_read(path, &h, &p, &l, s->why, sizeof s->why);
    if (r == 0 && h.last_zxid != s->zxid) {
        rp_fmt(s->why, sizeof s->why, "its header says zxid 0x%" PRIx64, (uint64_t)h.last_zxid);
        r = -2;
    }
    s->read = r == 0 ? RP_OK : r == -1 ? RP_IO : RP_BAD;
    if (r == 0 && data) {
        *data = p;
        *len = l;
    } else {
        free(p);
    }
}

void rp_read_header(RpSeg *g, const char *path)
{
    int r = walf_seg_read_header(path, &g->h, g->hdr_why, sizeof g->hdr_why);
    g->hdr = r == 0 ? RP_OK : r == -1 ? RP_IO : RP_BAD;
}

void rp_scan_segment(RpSeg *g, const char *path, void (*each)(void *ctx, const WalfRecord *rec), void *ctx)
{
    WalfSegment seg;
    int r = walf_seg_open(&seg, path, g->scan_why, sizeof g->scan_why);
    g->scan = r == 0 ? RP_OK : r == -1 ? RP_IO : RP_BAD;
    if (!g->hdr) {
        /* The header as the scan found it (walf_seg_open checks it too). */
        g->hdr = g->scan;
        rp_fmt(g->hdr_why, sizeof g->hdr_why, "%s", g->scan_why);
        if (r == 0)
            g->h = seg.hdr;
    }
    if (r < 0)
        return;
    g->size = seg.size;
    WalfIter it;
    WalfRecord rec;
    walf_iter_init(&it, &seg);
    WalfStop *at = &g->st;
    g->nresumed = 0;
    for (;;) {
        while (walf_iter_next(&it, &rec, at)) {
            if (it.count == 1) {
                g->first_rec = rec.zxid;
                g->first_rec_off = rec.offset;
            }
            if (each)
                each(ctx, &rec);
        }
        if (g->nresumed == sizeof g->resumed / sizeof g->resumed[0] || !walf_iter_resume(&it, at))
            break;
        at = &g->resumed[g->nresumed++];
    }
    walf_seg_close(&seg);
}

static void fr_snapshot(void *ctx, RpDir *d, size_t i)
{
    RpFiles *f = ctx;
    char path[PATH_MAX];
    void *data = NULL;
    size_t len = 0;
    rp_fmt(path, sizeof path, "%s/%s", d->dir, d->snaps[i].name);
    rp_read_snapshot(&d->snaps[i], path, &data, &len);
    if (d->snaps[i].read == RP_OK) {
        free(f->snap_data);
        f->snap_data = data;
        f->snap_len = len;
    }
}

static void fr_header(void *ctx, RpDir *d, size_t i)
{
    char path[PATH_MAX];
    rp_fmt(path, sizeof path, "%s/%s", d->waldir, d->segs[i].name);
    rp_read_header(&d->segs[i], path);
}

static void fr_scan(void *ctx, RpDir *d, size_t i)
{
    char path[PATH_MAX];
    rp_fmt(path, sizeof path, "%s/%s", d->waldir, d->segs[i].name);
    rp_scan_segment(&d->segs[i], path, NULL, NULL);
}

RpReader rp_file_reader(RpFiles *f)
{
    RpReader r = {fr_snapshot, fr_header, fr_scan, f};
    return r;
}

void rp_files_free(RpFiles *f)
{
    free(f->snap_data);
    f->snap_data = NULL;
    f->snap_len = 0;
}

/* ---- messages -------------------------------------------------------------- */

uint64_t rp_stop_bytes(const WalfStop *st)
{
    return st->nonzero_end > st->offset ? st->nonzero_end - st->offset : 0;
}

int rp_torn_msg(char *buf, size_t n, const char *path, const WalfStop *st, const char *drop)
{
    if (st->n_after)
        return snprintf(buf, n,
                        "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): %s %" PRIu64
                        " bytes, including %" PRIu64 " complete records (zxid 0x%" PRIx64 "..0x%" PRIx64
                        ") of the unfinished last write, never acknowledged",
                        path, st->offset, (uint64_t)st->last_zxid, st->reason, drop, rp_stop_bytes(st), st->n_after,
                        (uint64_t)st->first_after_zxid, (uint64_t)st->last_after_zxid);
    return snprintf(buf, n, "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): %s %" PRIu64
                    " bytes", path, st->offset, (uint64_t)st->last_zxid, st->reason, drop, rp_stop_bytes(st));
}

int rp_corrupt_snapshot_msg(char *buf, size_t n, const char *dir, const RpSnap *s, int would)
{
    if (would)
        return snprintf(buf, n, "snapshot %s/%s is corrupt (%s); recovery would fall back to %s and rename it to "
                        "%s/%s.corrupt", dir, s->name, s->why, s->fallback, dir, s->name);
    return snprintf(buf, n, "snapshot %s/%s is corrupt (%s); falling back to %s; renamed to %s/%s.corrupt", dir,
                    s->name, s->why, s->fallback, dir, s->name);
}

int rp_load_failed_msg(char *buf, size_t n, const char *path, const char *why)
{
    return snprintf(buf, n, "the server could not load snapshot %s%s%s", path, why && why[0] ? ": " : "",
                    why ? why : "");
}

int rp_apply_failed_msg(char *buf, size_t n, int64_t zxid, const char *path, uint64_t off, const char *why)
{
    return snprintf(buf, n, "the server could not apply the transaction at zxid 0x%" PRIx64 " (WAL segment %s, offset %"
                    PRIu64 ")%s%s", (uint64_t)zxid, path, off, why && why[0] ? ": " : "", why ? why : "");
}

int rp_skip_msg(char *buf, size_t n, const char *path, const WalfStop *st, int64_t snap_zxid, const char *replay)
{
    return snprintf(buf, n, "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                    ": the snapshot at zxid 0x%" PRIx64 " holds every transaction up to zxid 0x%" PRIx64
                    ", the first intact record after the damage (offset %" PRIu64 "); %s there",
                    path, st->offset, st->reason, (uint64_t)st->last_zxid, (uint64_t)snap_zxid,
                    (uint64_t)st->first_after_zxid, st->first_after_offset, replay);
}

static const char *kind_name(WalfStopKind k)
{
    return k == WALF_STOP_CORRUPT ? "damaged" : k == WALF_STOP_TORN ? "torn" : "clean";
}

/* ---- the planner ----------------------------------------------------------- */

static void refuse(RpPlan *p, RpVerdict v, int hard, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void refuse(RpPlan *p, RpVerdict v, int hard, const char *fmt, ...)
{
    if (p->verdict != RP_RECOVER)
        return;     /* the first refusal is the one */
    p->verdict = v;
    p->hard = hard || p->accept_truncation;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
}

/* An error that refuses recovery, or that accept_truncation gets past: 1
 * when it is accepted (p->accepted gets it, with the log line `fmt`, whose
 * first %s is the message), 0 when recovery refuses with it. */
static int accept_or_refuse(RpPlan *p, RpVerdict v, RpCutKind kind, size_t seg, const char *msg,
                            const WalfStop *st, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int accept_or_refuse(RpPlan *p, RpVerdict v, RpCutKind kind, size_t seg, const char *msg,
                            const WalfStop *st, const char *fmt, ...)
{
    if (!p->accept_truncation || p->naccepted == sizeof p->accepted / sizeof p->accepted[0]) {
        refuse(p, v, 0, "%s", msg);
        return 0;
    }
    RpAccepted *a = &p->accepted[p->naccepted++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->seg = seg;
    rp_fmt(a->message, sizeof a->message, "%s", msg);
    if (st)
        a->st = *st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->log, sizeof a->log, fmt, ap);
    va_end(ap);
    return 1;
}

static void need_snapshot(RpDir *d, const RpReader *r, size_t i)
{
    if (!d->snaps[i].read && r && r->snapshot)
        r->snapshot(r->ctx, d, i);
}

static void need_header(RpDir *d, const RpReader *r, size_t i)
{
    if (!d->segs[i].hdr && r && r->header)
        r->header(r->ctx, d, i);
}

static void need_scan(RpDir *d, const RpReader *r, size_t i)
{
    if (!d->segs[i].scan && r && r->scan)
        r->scan(r->ctx, d, i);
}

/* 1. The newest snapshot that passes every check; the corrupt ones newer
 * than it are set aside.  An unreadable one stops recovery. */
static void plan_snapshot(RpDir *d, const RpReader *r, RpPlan *p)
{
    for (size_t i = 0; i < d->nsnaps; i++) {
        RpSnap *s = &d->snaps[i];
        need_snapshot(d, r, i);
        if (s->read == RP_BAD) {
            s->set_aside = 1;
            s->fallback = i + 1 < d->nsnaps ? "the previous snapshot" : "the WAL alone";
            p->bad_snaps++;
            continue;
        }
        if (s->read != RP_OK) {
            refuse(p, RP_REFUSE_EARLY, 1, "cannot read snapshot %s/%s: %s", d->dir, s->name,
                   s->read == RP_UNREAD ? "not read" : s->why);
            return;
        }
        p->snap = (long)i;
        p->snap_zxid = s->zxid;
        return;
    }
}

/* 2./3. Every segment's header; replay starts at the last segment that
 * begins at or before the snapshot (every later record is in it or after
 * it). */
static void plan_start(RpDir *d, const RpReader *r, RpPlan *p)
{
    for (size_t i = 0; i < d->nsegs; i++) {
        RpSeg *g = &d->segs[i];
        need_header(d, r, i);
        if (g->hdr == RP_IO || g->hdr == RP_UNREAD)
            refuse(p, RP_REFUSE_EARLY, 1, "cannot read WAL segment %s/%s: %s", d->waldir, g->name,
                   g->hdr == RP_UNREAD ? "not read" : g->hdr_why);
        if (g->hdr == RP_OK && g->h.prev_zxid <= p->snap_zxid) {
            p->start = i;
            p->found = 1;
        }
    }
    p->end = p->start;
}

/* The zxid segment i ends at (its header's prev zxid when it cannot be
 * read): where the log stops before a missing segment. */
static int64_t seg_last_zxid(RpDir *d, const RpReader *r, size_t i)
{
    need_scan(d, r, i);
    return d->segs[i].scan == RP_OK ? d->segs[i].st.last_zxid : d->segs[i].h.prev_zxid;
}

/* The WAL must reach back to the snapshot, and from the start on the
 * segments must have good headers and numbers without holes.  0 to go on. */
static int plan_listing(RpDir *d, const RpReader *r, RpPlan *p)
{
    char msg[RP_MSG_MAX];
    if (d->nsegs == 0 && p->snap < 0 && p->bad_snaps) {
        refuse(p, RP_REFUSE_EARLY, 1,
               "no usable snapshot in %s (%zu corrupt, renamed *.corrupt) and no WAL: refusing to start with an "
               "empty tree", d->dir, p->bad_snaps);
        return -1;
    }
    if (d->nsegs && !p->found) {
        const RpSeg *f = &d->segs[0];
        for (size_t i = 0; i < d->nsegs; i++)
            if (d->segs[i].hdr == RP_OK) {
                f = &d->segs[i];
                break;
            }
        char base[120];
        if (p->snap >= 0)
            rp_fmt(base, sizeof base, "the newest usable snapshot covers up to zxid 0x%" PRIx64,
                   (uint64_t)p->snap_zxid);
        else
            rp_fmt(base, sizeof base, "there is no usable snapshot%s", p->bad_snaps ? " (the others are corrupt)" : "");
        if (f->hdr != RP_OK)
            rp_fmt(msg, sizeof msg, "WAL segment %s/%s: bad header (%s), and %s", d->waldir, f->name, f->hdr_why, base);
        else
            rp_fmt(msg, sizeof msg,
                   "WAL segment %s/%s starts after zxid 0x%" PRIx64 ", but %s: the transactions in between are "
                   "missing (a deleted segment or snapshot?)",
                   d->waldir, f->name, (uint64_t)f->h.prev_zxid, base);
        /* Without a snapshot, an empty tree instead of the data is never an option. */
        if (p->snap < 0) {
            refuse(p, RP_REFUSE_EARLY, 1, "%s", msg);
            return -1;
        }
        if (!accept_or_refuse(p, RP_REFUSE_EARLY, RP_CUT_GAP, 0, msg, NULL,
                              "accept_truncation: %s; recovering to the snapshot at zxid 0x%" PRIx64, msg,
                              (uint64_t)p->snap_zxid))
            return -1;
        p->discard_early = p->discard_late = 0;
        p->listed_end = 0;
        return 0;
    }
    for (size_t i = p->start; p->found && i < p->listed_end; i++) {
        const RpSeg *g = &d->segs[i];
        msg[0] = '\0';
        if (g->hdr != RP_OK)
            rp_fmt(msg, sizeof msg, "WAL segment %s/%s: bad header (%s)", d->waldir, g->name, g->hdr_why);
        else if (i > p->start && g->seq == g[-1].seq)
            rp_fmt(msg, sizeof msg, "two WAL segments with sequence number %" PRIu64 ": %s and %s in %s", g->seq,
                   g[-1].name, g->name, d->waldir);
        else if (i > p->start && g->seq != g[-1].seq + 1)
            rp_fmt(msg, sizeof msg,
                   "WAL segment number %08" PRIx64 " is missing from %s (between %s and %s): the transactions after "
                   "zxid 0x%" PRIx64 " are not all there",
                   g[-1].seq + 1, d->waldir, g[-1].name, g->name, (uint64_t)seg_last_zxid(d, r, i - 1));
        if (!msg[0])
            continue;
        /* (i > start here: the start has a good header and no predecessor to follow.) */
        if (!accept_or_refuse(p, RP_REFUSE_EARLY, RP_CUT_LISTING, i, msg, NULL,
                              "accept_truncation: %s; keeping the log up to the end of %s", msg, g[-1].name))
            return -1;
        p->discard_early = p->discard_late = i;
        p->listed_end = i;
        break;
    }
    return 0;
}

/* 5./6. The records, segment after segment: each must start where the one
 * before ended, its first record must carry its header's first zxid, and
 * how its records stop decides the rest (doc/storage.md, the table). */
static void plan_replay(RpDir *d, const RpReader *r, RpPlan *p, int *empty_tail)
{
    const int64_t S = p->snap_zxid;
    char path[PATH_MAX], msg[RP_MSG_MAX];
    p->wal_last = p->found && p->listed_end > p->start ? d->segs[p->start].h.prev_zxid : S;
    for (size_t i = p->start; p->found && i < p->listed_end; i++) {
        RpSeg *g = &d->segs[i];
        rp_fmt(path, sizeof path, "%s/%s", d->waldir, g->name);
        need_scan(d, r, i);
        if (g->scan != RP_OK) {
            refuse(p, RP_REFUSE_LATE, 1, "cannot read WAL segment %s: %s", path,
                   g->scan == RP_UNREAD ? "not read" : g->scan_why);
            return;
        }
        if (i > p->start && g->h.prev_zxid != p->wal_last) {
            rp_fmt(msg, sizeof msg,
                   "WAL segment %s starts after zxid 0x%" PRIx64 " but %s ends at zxid 0x%" PRIx64
                   ": the transactions in between are missing",
                   path, (uint64_t)g->h.prev_zxid, g[-1].name, (uint64_t)p->wal_last);
            if (accept_or_refuse(p, RP_REFUSE_LATE, RP_CUT_CHAIN, i, msg, NULL,
                                 "accept_truncation: %s; keeping the log up to zxid 0x%" PRIx64, msg,
                                 (uint64_t)p->wal_last))
                p->discard_late = i;
            return;
        }
        WalfStop st = g->st;
        int mismatch = 0;
        if (g->st.nrecords && g->first_rec != g->h.first_zxid) {
            /* Cannot happen without damage: handled like a bad record. */
            memset(&st, 0, sizeof st);
            st.kind = WALF_STOP_CORRUPT;
            st.offset = g->first_rec_off;
            st.last_zxid = g->h.prev_zxid;
            st.nonzero_end = g->size;
            rp_fmt(st.reason, sizeof st.reason, "first record has zxid 0x%" PRIx64 ", the header says 0x%" PRIx64,
                   (uint64_t)g->first_rec, (uint64_t)g->h.first_zxid);
            mismatch = 1;
        }
        if (!mismatch && g->refused_zxid > S) {
            refuse(p, RP_REFUSE_LATE, 1, "the server could not apply the transaction at zxid 0x%" PRIx64
                   " (WAL segment %s, offset %" PRIu64 "): %s", (uint64_t)g->refused_zxid, path, g->refused_off,
                   g->refused_why);
            return;
        }
        /* Damage the snapshot covers hides no record replay needs: every
         * zxid it can hide lies between the last good record and the first
         * intact one after it, and that one is at most S + 1. */
        int is_last = i == d->nsegs - 1;
        for (size_t k = 0; !mismatch && st.kind != WALF_STOP_CLEAN && st.n_after && st.first_after_zxid <= S + 1 &&
                           k < g->nresumed; k++) {
            if (p->nskipped < sizeof p->skipped / sizeof p->skipped[0])
                p->skipped[p->nskipped] = (RpSkip){i, st};
            p->nskipped++;
            st = g->resumed[k];
        }
        p->end = i + 1;
        p->stop = st;
        p->stop_off = st.offset;
        p->wal_last = st.last_zxid;
        p->tail_off = st.offset;
        p->tail_records = st.nrecords;
        *empty_tail = st.nrecords == 0;
        if (st.kind == WALF_STOP_CLEAN)
            continue;
        if (st.kind == WALF_STOP_TORN && is_last) {
            p->cut = p->torn = 1;
            continue;
        }
        /* Damage: a bad record in a segment that is not the last, or one
         * followed by a later write unit.  Never silently dropped.  What
         * accept_truncation keeps reaches the snapshot when the damage is
         * below it. */
        const uint64_t kept = (uint64_t)(st.last_zxid > S ? st.last_zxid : S);
        if (mismatch)
            rp_fmt(msg, sizeof msg,
                   "WAL segment %s, offset %" PRIu64 ": %s: the log is damaged. Set accept_truncation: true to "
                   "recover up to zxid 0x%" PRIx64 " and drop the rest",
                   path, st.offset, st.reason, kept);
        else if (st.kind == WALF_STOP_CORRUPT)
            rp_fmt(msg, sizeof msg,
                   "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                   "; valid records written later follow (offset %" PRIu64 ", zxid 0x%" PRIx64
                   "): the log is damaged, not torn. Set accept_truncation: true to recover up to zxid 0x%" PRIx64
                   " and drop the rest",
                   path, st.offset, st.reason, (uint64_t)st.last_zxid, st.later_offset, (uint64_t)st.later_zxid,
                   kept);
        else
            rp_fmt(msg, sizeof msg,
                   "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                   ", in a segment that is not the last one (%zu follow): the log is damaged, not torn. Set "
                   "accept_truncation: true to recover up to zxid 0x%" PRIx64 " and drop the rest",
                   path, st.offset, st.reason, (uint64_t)st.last_zxid, d->nsegs - 1 - i, kept);
        int ok;
        if (st.n_after)
            ok = accept_or_refuse(p, RP_REFUSE_LATE, RP_CUT_DAMAGE, i, msg, &st,
                                  "accept_truncation: %s. Truncating: %" PRIu64 " bytes (%s, holding at least %" PRIu64
                                  " valid records, zxid 0x%" PRIx64 "..0x%" PRIx64 ") after zxid 0x%" PRIx64
                                  " are LOST",
                                  msg, rp_stop_bytes(&st), kind_name(st.kind), st.n_after,
                                  (uint64_t)st.first_after_zxid, (uint64_t)st.last_after_zxid, kept);
        else
            ok = accept_or_refuse(p, RP_REFUSE_LATE, RP_CUT_DAMAGE, i, msg, &st,
                                  "accept_truncation: %s. Truncating: %" PRIu64 " bytes after zxid 0x%" PRIx64
                                  " are LOST", msg, rp_stop_bytes(&st), kept);
        if (ok) {
            p->cut = 1;
            p->discard_late = i + 1 < p->discard_early ? i + 1 : p->discard_early;
        }
        return;
    }
}

void rp_plan_dir(RpDir *d, const char *dir, const char *waldir, int accept_truncation, RpFiles *files, RpPlan *p)
{
    rp_dir_list(d, dir, waldir);
    RpReader reader = rp_file_reader(files);
    rp_plan(d, &reader, accept_truncation, p);
}

void rp_plan(RpDir *d, const RpReader *r, int accept_truncation, RpPlan *p)
{
    memset(p, 0, sizeof *p);
    p->accept_truncation = accept_truncation;
    p->snap = -1;
    p->discard_early = p->discard_late = p->listed_end = d->nsegs;
    for (size_t i = 0; i < d->nsnaps; i++) {
        d->snaps[i].set_aside = 0;
        d->snaps[i].fallback = NULL;
    }
    if (d->list_err[0]) {
        refuse(p, RP_REFUSE_EARLY, 1, "%s", d->list_err);
        return;
    }
    plan_snapshot(d, r, p);
    plan_start(d, r, p);
    if (p->verdict != RP_RECOVER || plan_listing(d, r, p) < 0)
        return;
    /* The snapshot is loaded (after the listing's discards) before any
     * record: a snapshot the core would refuse stops there. */
    if (p->snap >= 0 && d->snaps[p->snap].refused) {
        char path[PATH_MAX];
        rp_fmt(path, sizeof path, "%s/%s", d->dir, d->snaps[p->snap].name);
        refuse(p, RP_REFUSE_EARLY, 1, "the server could not load snapshot %s: %s", path, d->snaps[p->snap].why);
        return;
    }
    int empty_tail = 0;
    plan_replay(d, r, p, &empty_tail);
    if (p->verdict != RP_RECOVER)
        return;

    /* The writer continues in the last segment kept, right after its last
     * good record; a last segment holding no record is removed (it was
     * being started when the server stopped). */
    p->kept = p->found ? p->end : 0;
    p->reopen = p->kept > 0;
    if (p->kept && empty_tail) {
        p->remove_empty = 1;
        p->kept--;
        p->reopen = 0;
    }
    p->next_seq = p->kept ? d->segs[p->kept - 1].seq + 1 : 1;
    p->last_logged = p->wal_last;
    if (p->nskipped) {
        /* Damage replayed across stays in its file (kept as found); new
         * records go to a new segment, so that the damaged one ages out
         * with retention. */
        p->reopen = 0;
    }
    if (p->snap_zxid > p->wal_last && p->kept) {
        /* The snapshot is ahead of the WAL (accept_truncation cut the WAL
         * below it, or a SNAP install): records from now on go to a new
         * segment chained to the snapshot's zxid, so that losing this
         * snapshot later shows as a hole in the chain instead of a silent
         * replay across the missing transactions. */
        p->last_logged = p->snap_zxid;
        p->reopen = 0;
    }
    p->last_zxid = p->wal_last > p->snap_zxid ? p->wal_last : p->snap_zxid;
}

/* ---- the records replayed -------------------------------------------------- */

int rp_replay(const RpDir *d, const RpPlan *p, int (*each)(void *ctx, const WalfRecord *rec, const char *path),
              void *ctx, uint64_t *count, char *err, size_t errlen)
{
    *count = 0;
    for (size_t i = p->start; p->found && i < p->end; i++) {
        char path[PATH_MAX], why[256];
        rp_fmt(path, sizeof path, "%s/%s", d->waldir, d->segs[i].name);
        WalfSegment seg;
        if (walf_seg_open(&seg, path, why, sizeof why) < 0) {
            rp_fmt(err, errlen, "cannot read WAL segment %s: %s", path, why);
            return -1;
        }
        WalfIter it;
        WalfRecord rec;
        WalfStop st;
        walf_iter_init(&it, &seg);
        /* Past damage the plan replays across (p->skipped): only before
         * the stop of the last segment; every damage in the others is. */
        for (;;) {
            while (walf_iter_next(&it, &rec, &st)) {
                if (i + 1 == p->end && rec.offset >= p->stop_off)
                    goto next;
                if (rec.zxid <= p->snap_zxid)
                    continue;
                int rc = each(ctx, &rec, path);
                if (rc < 0) {
                    walf_seg_close(&seg);
                    return rc;
                }
                (*count)++;
            }
            if (!p->nskipped || (i + 1 == p->end && st.offset >= p->stop_off) || !walf_iter_resume(&it, &st))
                break;
        }
    next:
        walf_seg_close(&seg);
    }
    return 0;
}

/* ---- an Apache ZooKeeper data directory ----------------------------------- */

/* "snapshot.<hex>", "snapshot.<hex>.gz", "snapshot.<hex>.snappy" or
 * "log.<hex>": the names ZooKeeper's Util.getZxidFromName accepts for the
 * files FileSnap and FileTxnLog write in version-2/. */
static int zk_file_name(const char *name)
{
    const char *p;
    if (strncmp(name, "snapshot.", 9) == 0)
        p = name + 9;
    else if (strncmp(name, "log.", 4) == 0)
        p = name + 4;
    else
        return 0;
    size_t n = strspn(p, "0123456789abcdefABCDEF");
    if (n == 0 || n > 16)
        return 0;
    return p[n] == '\0' || strcmp(p + n, ".gz") == 0 || strcmp(p + n, ".snappy") == 0;
}

/* The first ZooKeeper file of `dir` (a name zk_file_name accepts, or one
 * of `markers`) into out; 1 if found. */
static int zk_scan(const char *dir, const char *const *markers, char *out, size_t n)
{
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(dh)) != NULL) {
        int hit = zk_file_name(e->d_name);
        for (const char *const *m = markers; !hit && *m; m++)
            hit = strcmp(e->d_name, *m) == 0;
        if (hit) {
            rp_fmt(out, n, "%s/%s", dir, e->d_name);
            found = 1;
        }
    }
    closedir(dh);
    return found;
}

int rp_zookeeper_dir(const char *dir, char *found, size_t n)
{
    static const char *const top[] = {"myid", "acceptedEpoch", "currentEpoch", NULL};
    static const char *const v2[] = {"acceptedEpoch", "currentEpoch", NULL};
    char p[PATH_MAX];
    if (zk_scan(dir, top, found, n))
        return 1;
    rp_fmt(p, sizeof p, "%s/version-2", dir);
    if (zk_scan(p, v2, found, n))
        return 1;
    /* One level down: data_dir set to the parent of ZooKeeper's dataDir. */
    DIR *dh = opendir(dir);
    if (!dh)
        return 0;
    struct dirent *e;
    int hit = 0;
    while (!hit && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "wal") == 0)
            continue;
        rp_fmt(p, sizeof p, "%s/%s/version-2", dir, e->d_name);
        hit = zk_scan(p, v2, found, n);
    }
    closedir(dh);
    return hit;
}

int rp_zookeeper_refusal(const char *dir, const char *waldir, char *msg, size_t n)
{
    char found[PATH_MAX], wd[PATH_MAX], err[RP_MSG_MAX];
    const char *where = dir;
    if (waldir)
        rp_fmt(wd, sizeof wd, "%s", waldir);
    else
        rp_fmt(wd, sizeof wd, "%s/wal", dir);
    /* dataLogDir given as wal_dir counts too. */
    if (!rp_zookeeper_dir(dir, found, sizeof found)) {
        if (!waldir || !rp_zookeeper_dir(waldir, found, sizeof found))
            return 0;
        where = waldir;
    }
    /* Corral data beside it (a directory already imported into, or shared
     * on purpose) is started on as usual. */
    RpSnap *snaps = NULL;
    RpSeg *segs = NULL;
    size_t nsnaps = 0, nsegs = 0;
    rp_list_snapshots(dir, &snaps, &nsnaps, NULL, NULL, err, sizeof err);
    rp_list_segments(wd, &segs, &nsegs, NULL, NULL, err, sizeof err);
    free(snaps);
    free(segs);
    if (nsnaps || nsegs)
        return 0;
    rp_fmt(msg, n,
           "%s holds Apache ZooKeeper data (%s) and no Corral data: refusing to start on it, which would "
           "start with an empty tree; import it into a new directory with `corralctl import-zookeeper --from "
           "ZOOKEEPER_DATA_DIR -D NEW_DATA_DIR` (doc/migration.md), then point data_dir there",
           where, found);
    return 1;
}
