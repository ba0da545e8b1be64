/*
 * regress/unit/test_recovery_plan.c: storage_file's recovery planner
 * (src/modules/storage_file/recovery_plan.c) on its own.
 *
 * Most cases describe a data directory by its facts (what reading each file
 * gave), with no file at all, and check the plan: the snapshot chosen and
 * those set aside, the segments replayed, where replay stops and why, what
 * accept_truncation cuts and sets aside, and the exact message of a
 * refusal.  A counting reader checks that the planner reads no more than
 * the server did (snapshots newest first up to the first usable one).  The
 * last cases write real files with wal_format.c and plan through the file
 * reader, as sf_recover does.
 *
 * The server executing plans (real files, the real module) is
 * test_storage_file.c; verify printing them is regress/t/620..622.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#include "../../src/modules/storage_file/wal_format.c"
#include "../../src/modules/storage_file/recovery_plan.c"

/* Paths here are short temporary ones; GCC cannot know that. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- directories described by their facts ---------------------------------- */

#define MAXF 8
#define REC 100                 /* bytes per record in the described segments */

static RpDir D;
static RpSnap snaps[MAXF];
static RpSeg segs[MAXF];
static RpPlan P;

static void dir_reset(void)
{
    memset(&D, 0, sizeof D);
    memset(snaps, 0, sizeof snaps);
    memset(segs, 0, sizeof segs);
    snprintf(D.dir, sizeof D.dir, "/d");
    snprintf(D.waldir, sizeof D.waldir, "/d/wal");
    D.snaps = snaps;
    D.segs = segs;
}

/* Snapshots are added newest first. */
static RpSnap *add_snap(int64_t zxid, RpRead read, const char *why)
{
    RpSnap *s = &snaps[D.nsnaps++];
    walf_snap_name(s->name, sizeof s->name, zxid, "zst");
    s->zxid = zxid;
    s->read = read;
    snprintf(s->why, sizeof s->why, "%s", why ? why : "");
    return s;
}

/* A segment with a good header whose records first..last (none when first
 * is 0) end cleanly; REC bytes each from offset 48. */
static RpSeg *add_seg(uint64_t seq, int64_t prev, int64_t first, int64_t last)
{
    RpSeg *g = &segs[D.nsegs++];
    uint64_t n = first ? (uint64_t)(last - first + 1) : 0;
    walf_seg_name(g->name, sizeof g->name, seq, first ? first : prev + 1);
    g->seq = seq;
    g->first = first ? first : prev + 1;
    g->hdr = RP_OK;
    g->h = (WalfSegHeader){WALF_VERSION, seq, g->first, prev, 1 << 20};
    g->scan = RP_OK;
    g->size = 1 << 20;
    g->st.kind = WALF_STOP_CLEAN;
    g->st.offset = WALF_SEG_HEADER_SIZE + n * REC;
    g->st.nonzero_end = g->st.offset;
    g->st.last_zxid = n ? last : prev;
    g->st.nrecords = n;
    g->first_rec = n ? first : 0;
    g->first_rec_off = n ? WALF_SEG_HEADER_SIZE : 0;
    return g;
}

static uint64_t rec_off(int64_t first, int64_t z) { return WALF_SEG_HEADER_SIZE + (uint64_t)(z - first) * REC; }

/* The segment's records stop after zxid `after` (its records first..after
 * are good), with `bytes` non-zero bytes following; damage when later
 * records (of a later write unit) follow. */
static void stop_after(RpSeg *g, int64_t after, WalfStopKind kind, const char *reason, uint64_t bytes,
                       uint64_t n_after, int64_t first_after, int64_t last_after)
{
    WalfStop *st = &g->st;
    st->kind = kind;
    st->offset = rec_off(g->first, after + 1);
    st->last_zxid = after;
    st->nrecords = (uint64_t)(after - g->first + 1);
    st->nonzero_end = st->offset + bytes;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    st->n_after = n_after;
    st->first_after_zxid = first_after;
    st->last_after_zxid = last_after;
    st->first_after_offset = n_after ? rec_off(g->first, first_after) : 0;
    if (kind == WALF_STOP_CORRUPT) {
        st->later_offset = rec_off(g->first, first_after);
        st->later_zxid = first_after;
    }
}

/* How often the planner asked the reader, per file. */
static int snap_reads[MAXF], hdr_reads[MAXF], scans[MAXF];
static RpSnap snap_facts[MAXF];
static RpSeg seg_facts[MAXF];

static void cr_snapshot(void *ctx, RpDir *d, size_t i)
{
    snap_reads[i]++;
    d->snaps[i] = snap_facts[i];
}

static void cr_header(void *ctx, RpDir *d, size_t i)
{
    hdr_reads[i]++;
    d->segs[i].hdr = seg_facts[i].hdr;
    d->segs[i].h = seg_facts[i].h;
    memcpy(d->segs[i].hdr_why, seg_facts[i].hdr_why, sizeof d->segs[i].hdr_why);
}

static void cr_scan(void *ctx, RpDir *d, size_t i)
{
    scans[i]++;
    RpSeg keep = d->segs[i];
    d->segs[i] = seg_facts[i];
    d->segs[i].hdr = keep.hdr;
    d->segs[i].h = keep.h;
}

/* Moves the facts of D behind the counting reader: the planner sees only
 * the names until it asks. */
static RpReader counting_reader(void)
{
    memset(snap_reads, 0, sizeof snap_reads);
    memset(hdr_reads, 0, sizeof hdr_reads);
    memset(scans, 0, sizeof scans);
    memcpy(snap_facts, snaps, sizeof snaps);
    memcpy(seg_facts, segs, sizeof segs);
    for (size_t i = 0; i < D.nsnaps; i++) {
        snaps[i].read = RP_UNREAD;
        snaps[i].why[0] = '\0';
    }
    for (size_t i = 0; i < D.nsegs; i++) {
        RpSeg named;
        memset(&named, 0, sizeof named);
        memcpy(named.name, segs[i].name, sizeof named.name);
        named.seq = segs[i].seq;
        named.first = segs[i].first;
        segs[i] = named;
    }
    RpReader r = {cr_snapshot, cr_header, cr_scan, NULL};
    return r;
}

static const char *path_of(const RpSeg *g)
{
    static char p[2][PATH_MAX];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "/d/wal/%s", g->name);
    return p[k];
}

/* ---- the cases --------------------------------------------------------------- */

static void test_empty(void)
{
    dir_reset();
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == -1 && P.last_zxid == 0 && P.kept == 0 && !P.reopen && P.next_seq == 1,
       "empty directory: recovers nothing, the first segment will be number 1");
}

static void test_no_snapshot(void)
{
    dir_reset();
    add_seg(1, 0, 1, 100);
    add_seg(2, 100, 101, 150);
    RpReader r = counting_reader();
    rp_plan(&D, &r, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == -1 && P.snap_zxid == 0, "no snapshot: recovers from the WAL alone");
    ok(P.found && P.start == 0 && P.end == 2, "replays both segments, from the first");
    ok(P.stop_off == rec_off(101, 151) && P.stop.kind == WALF_STOP_CLEAN && !P.cut, "up to the clean end of the last");
    ok(P.last_zxid == 150 && P.wal_last == 150 && P.last_logged == 150, "recovers to zxid 150");
    ok(P.kept == 2 && P.reopen && P.tail_off == rec_off(101, 151) && P.tail_records == 50 && P.next_seq == 3,
       "the writer goes on in segment 2, after its 50 records");
    ok(hdr_reads[0] == 1 && hdr_reads[1] == 1 && scans[0] == 1 && scans[1] == 1, "each header and segment read once");
}

static void test_snapshot_ahead(void)
{
    /* A snapshot at 200 over a WAL that ends at 150 (accept_truncation cut
     * below it earlier, or a SNAP install): nothing to replay, and the next
     * record starts a new segment chained to 200. */
    dir_reset();
    add_snap(200, RP_OK, NULL);
    add_seg(1, 0, 1, 150);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == 0 && P.snap_zxid == 200, "snapshot ahead of the WAL: it is used");
    ok(P.found && P.start == 0 && P.end == 1 && P.wal_last == 150, "the WAL is read (records up to 150, none replayed)");
    ok(P.last_zxid == 200 && P.last_logged == 200 && !P.reopen && P.kept == 1 && P.next_seq == 2,
       "recovers to 200; the next record starts segment 2, chained to 200");

    dir_reset();
    add_snap(200, RP_OK, NULL);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == 0 && !P.found && P.kept == 0 && P.last_zxid == 200 && P.next_seq == 1,
       "a snapshot and no WAL at all: the snapshot is the state");
}

static void test_snapshot_fallback(void)
{
    char msg[RP_LOG_MAX];
    dir_reset();
    add_snap(0x300, RP_BAD, "payload CRC mismatch (stored 0x1, computed 0x2)");
    add_snap(0x200, RP_OK, NULL);
    add_snap(0x100, RP_OK, NULL);
    add_seg(1, 0, 1, 0x150);
    add_seg(2, 0x150, 0x151, 0x350);
    RpReader r = counting_reader();
    rp_plan(&D, &r, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == 1 && P.snap_zxid == 0x200 && P.bad_snaps == 1,
       "damaged newest snapshot: falls back to the previous one");
    ok(snaps[0].set_aside && !snaps[1].set_aside && !snaps[2].set_aside, "only the damaged one is set aside");
    ok(snap_reads[0] == 1 && snap_reads[1] == 1 && snap_reads[2] == 0,
       "snapshots are read newest first, up to the first usable one");
    rp_corrupt_snapshot_msg(msg, sizeof msg, D.dir, &snaps[0], 0);
    is_str(msg, "snapshot /d/snapshot.0000000000000300.zst is corrupt (payload CRC mismatch (stored 0x1, computed "
                "0x2)); falling back to the previous snapshot; renamed to /d/snapshot.0000000000000300.zst.corrupt",
           "the server's line");
    rp_corrupt_snapshot_msg(msg, sizeof msg, D.dir, &snaps[0], 1);
    is_str(msg, "snapshot /d/snapshot.0000000000000300.zst is corrupt (payload CRC mismatch (stored 0x1, computed "
                "0x2)); recovery would fall back to the previous snapshot and rename it to "
                "/d/snapshot.0000000000000300.zst.corrupt",
           "verify's line");
    ok(P.start == 1 && P.end == 2 && scans[0] == 0 && scans[1] == 1,
       "replay starts in the segment holding 0x201; the one before is not read");
    ok(P.last_zxid == 0x350, "and reaches the end of the WAL");

    /* Every snapshot damaged, the WAL reaching back to the start: the WAL alone. */
    dir_reset();
    add_snap(0x200, RP_BAD, "file is 40 bytes, shorter than the 64-byte snapshot header");
    add_snap(0x100, RP_BAD, "snapshot header CRC mismatch");
    add_seg(1, 0, 1, 0x250);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.snap == -1 && P.bad_snaps == 2 && P.start == 0 && P.last_zxid == 0x250,
       "every snapshot damaged: the WAL alone");
    is_str(snaps[0].fallback, "the previous snapshot", "the newest falls back to the previous snapshot");
    is_str(snaps[1].fallback, "the WAL alone", "the oldest to the WAL alone");

    /* ... and the WAL no longer reaching back: never an empty tree. */
    for (int accept = 0; accept <= 1; accept++) {
        dir_reset();
        add_snap(0x200, RP_BAD, "x");
        add_seg(7, 0x180, 0x181, 0x250);
        rp_plan(&D, NULL, accept, &P);
        ok(P.verdict == RP_REFUSE_EARLY && P.hard && P.naccepted == 0, accept ? "... also with accept_truncation"
                                                                              : "all snapshots damaged, WAL cut: refused");
        is_str(P.message, "WAL segment /d/wal/00000007-0000000000000181.wal starts after zxid 0x180, but there is no "
                          "usable snapshot (the others are corrupt): the transactions in between are missing (a "
                          "deleted segment or snapshot?)", "the message");
    }
    dir_reset();
    add_snap(0x200, RP_BAD, "x");
    add_snap(0x100, RP_BAD, "y");
    rp_plan(&D, NULL, 1, &P);
    is_str(P.message, "no usable snapshot in /d (2 corrupt, renamed *.corrupt) and no WAL: refusing to start with an "
                      "empty tree", "every snapshot damaged and no WAL: refused");
    dir_reset();
    add_snap(0x200, RP_IO, "cannot read: Input/output error");
    add_snap(0x100, RP_OK, NULL);
    rp_plan(&D, NULL, 1, &P);
    ok(P.verdict == RP_REFUSE_EARLY && P.hard && !snaps[0].set_aside, "an unreadable snapshot stops recovery");
    is_str(P.message, "cannot read snapshot /d/snapshot.0000000000000200.zst: cannot read: Input/output error",
           "... with its error");
}

static void test_missing_segment(void)
{
    char want[RP_MSG_MAX];
    for (int accept = 0; accept <= 1; accept++) {
        dir_reset();
        add_seg(1, 0, 1, 100);
        add_seg(2, 100, 101, 200);
        RpSeg *g4 = add_seg(4, 300, 301, 400);
        (void)g4;
        rp_plan(&D, NULL, accept, &P);
        snprintf(want, sizeof want,
                 "WAL segment number 00000003 is missing from /d/wal (between %s and %s): the transactions after zxid "
                 "0xc8 are not all there", segs[1].name, segs[2].name);
        if (!accept) {
            ok(P.verdict == RP_REFUSE_EARLY && !P.hard, "missing segment: refused before loading anything");
            is_str(P.message, want, "the message names the hole and the last zxid before it");
            continue;
        }
        ok(P.verdict == RP_RECOVER && P.naccepted == 1 && P.accepted[0].kind == RP_CUT_LISTING &&
           P.accepted[0].seg == 2, "with accept_truncation: recovers");
        is_str(P.accepted[0].message, want, "the error it got past");
        snprintf(want + strlen(want), sizeof want - strlen(want), "; keeping the log up to the end of %s",
                 segs[1].name);
        char log[RP_LOG_MAX];
        snprintf(log, sizeof log, "accept_truncation: %s", want);
        is_str(P.accepted[0].log, log, "the line it logs");
        ok(P.discard_early == 2 && P.discard_late == 2 && P.end == 2 && P.kept == 2 && P.reopen &&
           P.last_zxid == 200 && P.next_seq == 3, "keeps segments 1 and 2, sets 4 aside, recovers to 200");
    }
    dir_reset();
    add_seg(1, 0, 1, 100);
    RpSeg *b = add_seg(2, 100, 101, 200);
    add_seg(2, 100, 101, 200);
    snprintf(b->name, sizeof b->name, "00000002-0000000000000065.wal");
    snprintf(segs[2].name, sizeof segs[2].name, "00000002-0000000000000066.wal");
    rp_plan(&D, NULL, 0, &P);
    is_str(P.message, "two WAL segments with sequence number 2: 00000002-0000000000000065.wal and "
                      "00000002-0000000000000066.wal in /d/wal", "a duplicate number is refused");
    dir_reset();
    add_seg(1, 0, 1, 100);
    RpSeg *bad = add_seg(2, 100, 101, 200);
    bad->hdr = RP_BAD;
    snprintf(bad->hdr_why, sizeof bad->hdr_why, "bad magic (not a Corral WAL segment)");
    rp_plan(&D, NULL, 0, &P);
    snprintf(want, sizeof want, "WAL segment /d/wal/%s: bad header (bad magic (not a Corral WAL segment))", bad->name);
    is_str(P.message, want, "a bad header after the start is refused");
}

static void test_torn_tail(void)
{
    char msg[RP_LOG_MAX];
    dir_reset();
    add_seg(1, 0, 1, 100);
    RpSeg *g = add_seg(2, 100, 101, 200);
    stop_after(g, 190, WALF_STOP_TORN, "CRC mismatch (stored 0x1, computed 0x2)", 900, 9, 192, 200);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.naccepted == 0, "torn tail of the last segment: recovers, no error");
    ok(P.cut && P.torn && P.end == 2 && P.stop_off == rec_off(101, 191), "cut at the end of the last good record");
    ok(P.last_zxid == 190 && P.reopen && P.tail_off == P.stop_off && P.tail_records == 90,
       "recovers to 190; the writer goes on at the cut");
    rp_torn_msg(msg, sizeof msg, path_of(g), &P.stop, "dropped");
    char want[RP_LOG_MAX];
    snprintf(want, sizeof want, "WAL segment %s: torn tail at offset %llu after zxid 0xbe (CRC mismatch (stored 0x1, "
             "computed 0x2)): dropped 900 bytes, including 9 complete records (zxid 0xc0..0xc8) of the unfinished "
             "last write, never acknowledged", path_of(g), (unsigned long long)rec_off(101, 191));
    is_str(msg, want, "the server's WARN line");

    /* The same in a segment that is not the last: damage. */
    dir_reset();
    g = add_seg(1, 0, 1, 100);
    stop_after(g, 90, WALF_STOP_TORN, "zero record header", 50, 0, 0, 0);
    add_seg(2, 90, 91, 150);
    rp_plan(&D, NULL, 0, &P);
    snprintf(want, sizeof want, "WAL segment %s, offset %llu: zero record header in the record after zxid 0x5a, in a "
             "segment that is not the last one (1 follow): the log is damaged, not torn. Set accept_truncation: true "
             "to recover up to zxid 0x5a and drop the rest", path_of(g), (unsigned long long)rec_off(1, 91));
    ok(P.verdict == RP_REFUSE_LATE && !P.cut, "a torn end in a segment that is not the last: refused");
    is_str(P.message, want, "as damage");

    /* A last segment with no record: removed, its number used again. */
    dir_reset();
    add_seg(1, 0, 1, 100);
    add_seg(2, 100, 0, 0);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.remove_empty && P.kept == 1 && !P.reopen && P.next_seq == 2 && P.last_zxid == 100,
       "an empty last segment is removed");
}

static void test_damage(void)
{
    char want[RP_MSG_MAX], log[RP_LOG_MAX];
    for (int accept = 0; accept <= 1; accept++) {
        dir_reset();
        add_seg(1, 0, 1, 100);
        RpSeg *g = add_seg(2, 100, 101, 200);
        stop_after(g, 150, WALF_STOP_CORRUPT, "CRC mismatch (stored 0x1, computed 0x2)", 4000, 49, 152, 200);
        add_seg(3, 200, 201, 300);
        RpReader r = counting_reader();
        rp_plan(&D, &r, accept, &P);
        snprintf(want, sizeof want, "WAL segment %s, offset %llu: CRC mismatch (stored 0x1, computed 0x2) in the record "
                 "after zxid 0x96; valid records written later follow (offset %llu, zxid 0x98): the log is damaged, "
                 "not torn. Set accept_truncation: true to recover up to zxid 0x96 and drop the rest",
                 path_of(&segs[1]), (unsigned long long)rec_off(101, 151), (unsigned long long)rec_off(101, 152));
        ok(P.end == 2 && P.stop_off == rec_off(101, 151) && scans[2] == 0,
           "damage in the middle: replay stops there; the segment after it is not read");
        if (!accept) {
            ok(P.verdict == RP_REFUSE_LATE && !P.hard && !P.cut && P.discard_late == 3,
               "without accept_truncation: refused after replaying the records before it");
            is_str(P.message, want, "the message: file, offset, zxids");
            continue;
        }
        ok(P.verdict == RP_RECOVER && P.naccepted == 1 && P.accepted[0].kind == RP_CUT_DAMAGE && P.accepted[0].seg == 1,
           "with accept_truncation: recovers");
        is_str(P.accepted[0].message, want, "the error it got past");
        snprintf(log, sizeof log, "accept_truncation: %s. Truncating: 4000 bytes (damaged, holding at least 49 valid "
                 "records, zxid 0x98..0xc8) after zxid 0x96 are LOST", want);
        is_str(P.accepted[0].log, log, "the line it logs: what is LOST");
        ok(P.cut && !P.torn && P.discard_late == 2 && P.discard_early == 3,
           "cuts segment 2 at the damage, sets segment 3 aside");
        ok(P.last_zxid == 0x96 && P.kept == 2 && P.reopen && P.tail_off == rec_off(101, 151) && P.next_seq == 3,
           "recovers to 0x96 and writes on after it");
    }

    /* The first record disagrees with the header. */
    dir_reset();
    add_seg(1, 0, 1, 100);
    RpSeg *g = add_seg(2, 100, 101, 200);
    g->first_rec = 105;
    rp_plan(&D, NULL, 1, &P);
    snprintf(want, sizeof want, "WAL segment %s, offset 48: first record has zxid 0x69, the header says 0x65: the log "
             "is damaged. Set accept_truncation: true to recover up to zxid 0x64 and drop the rest", path_of(g));
    is_str(P.accepted[0].message, want, "a first record that disagrees with the header: damage");
    ok(P.verdict == RP_RECOVER && P.stop_off == 48 && P.remove_empty && P.kept == 1 && P.last_zxid == 100,
       "accepted: nothing of that segment is replayed, and it is removed once cut empty");

    /* The chain of prev zxids broken. */
    dir_reset();
    add_seg(1, 0, 1, 100);
    add_seg(2, 120, 121, 200);
    rp_plan(&D, NULL, 0, &P);
    snprintf(want, sizeof want, "WAL segment %s starts after zxid 0x78 but %s ends at zxid 0x64: the transactions in "
             "between are missing", path_of(&segs[1]), segs[0].name);
    ok(P.verdict == RP_REFUSE_LATE && P.end == 1, "a broken chain: refused after the segment before");
    is_str(P.message, want, "the message");
    rp_plan(&D, NULL, 1, &P);
    ok(P.verdict == RP_RECOVER && P.accepted[0].kind == RP_CUT_CHAIN && P.discard_late == 1 && P.last_zxid == 100 &&
       P.kept == 1, "accepted: the log up to the break, the rest set aside");

    /* A hole in the numbering after the damage: what accept_truncation sets
     * aside early is not set aside twice. */
    dir_reset();
    add_seg(1, 0, 1, 100);
    g = add_seg(2, 100, 101, 200);
    stop_after(g, 150, WALF_STOP_CORRUPT, "CRC mismatch", 100, 1, 152, 152);
    add_seg(3, 200, 201, 300);
    add_seg(5, 400, 401, 500);
    rp_plan(&D, NULL, 1, &P);
    ok(P.verdict == RP_RECOVER && P.naccepted == 2 && P.accepted[0].kind == RP_CUT_LISTING &&
       P.accepted[1].kind == RP_CUT_DAMAGE, "a hole, then damage before it: both accepted, in order");
    ok(P.discard_early == 3 && P.discard_late == 2 && P.last_zxid == 150,
       "segment 5 set aside before loading, segment 3 after the cut");
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_REFUSE_EARLY && strstr(P.message, "number 00000004 is missing"),
       "without accept_truncation the hole refuses first, before loading");
}

/* Damage the snapshot covers (issue #13): the first intact record after it
 * is at most the snapshot's zxid + 1, so replay goes on past it; damage that
 * reaches beyond still refuses, naming the zxid accept_truncation keeps. */
static void covered_dir(int64_t snap, int64_t after, int64_t first_after)
{
    dir_reset();
    add_snap(snap, RP_OK, NULL);
    RpSeg *g = add_seg(1, 0, 1, 200);
    stop_after(g, after, WALF_STOP_CORRUPT, "CRC mismatch", 100, (uint64_t)(201 - first_after), first_after, 200);
    WalfStop *rest = &g->resumed[g->nresumed++];
    rest->kind = WALF_STOP_CLEAN;
    rest->offset = rest->nonzero_end = rec_off(1, 201);
    rest->last_zxid = 200;
    rest->nrecords = (uint64_t)(200 - (first_after - after - 1));
}

static void test_covered_damage(void)
{
    covered_dir(0x96, 0x4f, 0x51);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.nskipped == 1 && P.skipped[0].seg == 0 && P.skipped[0].st.last_zxid == 0x4f,
       "damage at 0x50 under a snapshot at 0x96: recovers, the damage replayed across");
    ok(P.last_zxid == 200 && P.wal_last == 200 && P.stop.kind == WALF_STOP_CLEAN && !P.cut,
       "every record to the end is kept, nothing cut");
    ok(!P.reopen && P.next_seq == 2 && P.last_logged == 200, "new records go to a new segment");

    covered_dir(0x96, 0x93, 0x97);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_RECOVER && P.nskipped == 1, "the first intact record is the snapshot's zxid + 1: covered");

    covered_dir(0x96, 0x93, 0x99);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_REFUSE_LATE && !P.nskipped && strstr(P.message, "recover up to zxid 0x96 and drop the rest"),
       "damage reaching past the snapshot: refused, naming the snapshot's zxid as what is kept");
    rp_plan(&D, NULL, 1, &P);
    ok(P.verdict == RP_RECOVER && P.last_zxid == 0x96 && strstr(P.accepted[0].log, "after zxid 0x96 are LOST"),
       "accept_truncation keeps up to the snapshot, and says so");

    covered_dir(0x40, 0x4f, 0x51);
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_REFUSE_LATE && strstr(P.message, "recover up to zxid 0x4f"),
       "a snapshot below the damage: refused as before");
}

static void test_gap_after_snapshot(void)
{
    char want[RP_MSG_MAX];
    dir_reset();
    add_snap(100, RP_OK, NULL);
    add_seg(5, 200, 201, 300);
    rp_plan(&D, NULL, 0, &P);
    snprintf(want, sizeof want, "WAL segment /d/wal/%s starts after zxid 0xc8, but the newest usable snapshot covers "
             "up to zxid 0x64: the transactions in between are missing (a deleted segment or snapshot?)", segs[0].name);
    ok(P.verdict == RP_REFUSE_EARLY && !P.hard, "a WAL that starts after the snapshot: refused");
    is_str(P.message, want, "the message");
    rp_plan(&D, NULL, 1, &P);
    ok(P.verdict == RP_RECOVER && P.accepted[0].kind == RP_CUT_GAP && P.discard_early == 0 && P.kept == 0 &&
       P.last_zxid == 100 && P.next_seq == 1, "accepted: every segment set aside, the snapshot is the state");
    snprintf(want + strlen(want), sizeof want - strlen(want), "; recovering to the snapshot at zxid 0x64");
    char log[RP_LOG_MAX];
    snprintf(log, sizeof log, "accept_truncation: %s", want);
    is_str(P.accepted[0].log, log, "the line it logs");
}

static void test_refused_by_core(void)
{
    /* corralctl verify knows what the core would refuse (it decodes). */
    dir_reset();
    RpSnap *s = add_snap(100, RP_OK, "bad session count at offset 12");
    s->refused = 1;
    add_seg(1, 0, 1, 150);
    rp_plan(&D, NULL, 1, &P);
    is_str(P.message, "the server could not load snapshot /d/snapshot.0000000000000064.zst: bad session count at "
                      "offset 12", "a snapshot the core refuses stops recovery (no fallback)");
    ok(P.hard, "accept_truncation cannot help");
    dir_reset();
    RpSeg *g = add_seg(1, 0, 1, 150);
    g->refused_zxid = 120;
    g->refused_off = rec_off(1, 120);
    snprintf(g->refused_why, sizeof g->refused_why, "TxnHeader does not decode (3 bytes)");
    rp_plan(&D, NULL, 0, &P);
    char want[RP_MSG_MAX];
    rp_apply_failed_msg(want, sizeof want, 120, path_of(g), rec_off(1, 120), g->refused_why);
    ok(P.verdict == RP_REFUSE_LATE && P.hard && P.end == 0, "a record the core refuses stops recovery");
    is_str(P.message, want, "the message");
    dir_reset();
    add_seg(1, 0, 1, 150);
    snprintf(D.list_err, sizeof D.list_err, "cannot read directory /d/wal: Permission denied");
    rp_plan(&D, NULL, 0, &P);
    ok(P.verdict == RP_REFUSE_EARLY && P.hard && strcmp(P.message, D.list_err) == 0, "a directory that cannot be read");
}

/* ---- real files, through the file reader ----------------------------------- */

static char root[PATH_MAX];

static int write_segment(const char *waldir, uint64_t seq, int64_t prev, int64_t first, int64_t last)
{
    char name[64], path[PATH_MAX];
    walf_seg_name(name, sizeof name, seq, first);
    snprintf(path, sizeof path, "%s/%s", waldir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    unsigned char hdr[WALF_SEG_HEADER_SIZE], buf[WALF_REC_HEADER_SIZE + 40];
    WalfSegHeader h = {WALF_VERSION, seq, first, prev, 1 << 20};
    walf_seg_header_encode(hdr, &h);
    int rc = walf_pwrite_all(fd, hdr, sizeof hdr, 0);
    uint64_t off = WALF_SEG_HEADER_SIZE;
    for (int64_t z = first; rc == 0 && z <= last; z++) {
        memset(buf + WALF_REC_HEADER_SIZE, (int)(z & 0xff) | 1, 40);
        walf_rec_header_encode(buf, z, off, buf + WALF_REC_HEADER_SIZE, 40);
        rc = walf_pwrite_all(fd, buf, sizeof buf, off);
        off += sizeof buf;
    }
    if (rc == 0 && ftruncate(fd, 1 << 20) < 0)
        rc = -1;
    close(fd);
    return rc;
}

static int count_rec(void *ctx, const WalfRecord *rec, const char *path)
{
    int64_t *last = ctx;
    if (rec->zxid <= *last)
        return -1;
    *last = rec->zxid;
    return 0;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f) { return remove(p); }

static void test_files(void)
{
    char dir[PATH_MAX], waldir[PATH_MAX], path[PATH_MAX], err[512];
    snprintf(dir, sizeof dir, "%s/data", root);
    snprintf(waldir, sizeof waldir, "%s/wal", dir);
    ok(mkdir(dir, 0755) == 0 && mkdir(waldir, 0755) == 0, "a data directory");
    ok(write_segment(waldir, 1, 0, 1, 100) == 0 && write_segment(waldir, 2, 100, 101, 200) == 0,
       "two segments, records 1..200, each its own write unit");
    static const char payload[] = "the core's bytes at zxid 150";
    uint64_t size;
    snprintf(path, sizeof path, "%s/snapshot.%016x.zst", dir, 150);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(fd >= 0 && walf_snapshot_write(fd, 150, payload, sizeof payload, 3, &size, err, sizeof err) == 0,
       "a snapshot at zxid 150");
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/snapshot.%016x.zst", dir, 180);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(fd >= 0 && write(fd, "garbage", 7) == 7, "a damaged snapshot at zxid 180");
    if (fd >= 0)
        close(fd);

    static RpDir d;
    static RpPlan p;
    RpFiles files = {NULL, 0};
    RpReader r = rp_file_reader(&files);
    ok(rp_dir_list(&d, dir, NULL) == 0 && d.nsnaps == 2 && d.nsegs == 2 && d.snaps[0].zxid == 180 && d.segs[0].seq == 1,
       "listed: snapshots newest first, segments by number");
    rp_plan(&d, &r, 0, &p);
    ok(p.verdict == RP_RECOVER && p.snap == 1 && d.snaps[0].set_aside && p.start == 1 && p.last_zxid == 200,
       "plan: the snapshot at 150 (180 set aside), replay from segment 2, up to 200");
    ok(files.snap_len == sizeof payload && memcmp(files.snap_data, payload, sizeof payload) == 0,
       "the file reader kept the chosen snapshot's bytes");
    int64_t last = 150;
    uint64_t n = 0;
    ok(rp_replay(&d, &p, count_rec, &last, &n, err, sizeof err) == 0 && n == 50 && last == 200,
       "replay: the 50 records after the snapshot, in order");
    rp_files_free(&files);
    rp_dir_free(&d);

    /* Tear the last record, and flip a byte in segment 1. */
    snprintf(path, sizeof path, "%s/00000002-%016x.wal", waldir, 101);
    uint64_t at = WALF_SEG_HEADER_SIZE + 99 * (WALF_REC_HEADER_SIZE + 40);
    unsigned char zero[64] = {0};
    fd = open(path, O_WRONLY);
    ok(fd >= 0 && walf_pwrite_all(fd, zero, 30, at + 34) == 0, "record 200 torn (its last 30 bytes zeroed)");
    if (fd >= 0)
        close(fd);
    rp_dir_list(&d, dir, NULL);
    rp_plan(&d, &r, 0, &p);
    ok(p.verdict == RP_RECOVER && p.torn && p.stop_off == at && p.last_zxid == 199, "plan: cut the torn tail at 199");
    rp_files_free(&files);
    rp_dir_free(&d);
    snprintf(path, sizeof path, "%s/00000001-%016x.wal", waldir, 1);
    at = WALF_SEG_HEADER_SIZE + 49 * (WALF_REC_HEADER_SIZE + 40);
    unsigned char bad = 0x5a;
    fd = open(path, O_WRONLY);
    ok(fd >= 0 && walf_pwrite_all(fd, &bad, 1, at + 30) == 0, "a byte of record 50 changed");
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "%s/snapshot.%016x.zst", dir, 150);
    ok(unlink(path) == 0, "and the snapshot removed: replay must read segment 1");
    rp_dir_list(&d, dir, NULL);
    rp_plan(&d, &r, 0, &p);
    ok(p.verdict == RP_REFUSE_LATE && p.end == 1 && p.stop_off == at && strstr(p.message, "CRC mismatch") &&
       strstr(p.message, "in the record after zxid 0x31; valid records written later follow"),
       "plan: damage in segment 1 refuses");
    diag("%s", p.message);
    last = 0;
    ok(rp_replay(&d, &p, count_rec, &last, &n, err, sizeof err) == 0 && n == 49 && last == 49,
       "the records before the damage are the ones replayed");
    rp_files_free(&files);
    rp_dir_free(&d);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    ok(rp_dir_list(&d, dir, NULL) < 0 && strstr(d.list_err, "cannot read directory"), "a missing directory: listing fails");
    rp_plan(&d, &r, 0, &p);
    ok(p.verdict == RP_REFUSE_EARLY && strcmp(p.message, d.list_err) == 0, "and the plan refuses with it");
    rp_dir_free(&d);
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/corral-plan-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(root)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_empty();
    test_no_snapshot();
    test_snapshot_ahead();
    test_snapshot_fallback();
    test_missing_segment();
    test_torn_tail();
    test_damage();
    test_covered_damage();
    test_gap_after_snapshot();
    test_refused_by_core();
    test_files();
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return done_testing();
}
