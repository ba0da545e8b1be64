/*
 * src/modules/storage_file/recovery_plan.h: the one place that decides what
 * storage_file's recovery does with a data directory.
 *
 * Given the directory's listing and what can be read of its files, the
 * planner chooses the snapshot to start from (the newest that passes every
 * check; corrupt ones are set aside, falling back to older ones or to the
 * WAL alone), the first segment to replay, checks the chain of segments
 * (numbering, headers, prev zxid), decides how the WAL ends (clean, a torn
 * tail to cut, damage) and, with accept_truncation, what is cut and set
 * aside; or the exact message recovery refuses with.  The result is an
 * RpPlan.
 *
 *   the server   sf_recover (recovery.c) reads the files through
 *                rp_file_reader, plans, and executes the plan: sets corrupt
 *                snapshots aside, loads the snapshot, replays the records
 *                (rp_replay) into the core, cuts a torn tail, discards.
 *   the tool     `corralctl verify` reads every file (rp_read_snapshot,
 *                rp_scan_segment, plus its own decoding), plans with
 *                accept_truncation on, and prints the plan: the errors
 *                accept_truncation gets past are the errors the server
 *                stops with without it, word for word.
 *
 * Like wal_format.c: libc and libzstd only, no logging, no globals, so that
 * corralctl (src/bin/corralctl/recovery_plan_link.c) and the unit tests
 * compile it in as it is.  The planner itself (rp_plan) does no I/O but
 * through the reader it is given, and changes nothing on disk.
 * doc/storage.md "Recovery" states the rules in prose.
 */
#ifndef CORRAL_STORAGE_FILE_RECOVERY_PLAN_H
#define CORRAL_STORAGE_FILE_RECOVERY_PLAN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "wal_format.h"

#define RP_NAME_MAX 64                  /* file names: snapshot.%016x.zst, %08x-%016x.wal */
#define RP_WHY_MAX 320                  /* why one file failed a check */
#define RP_MSG_MAX (2 * PATH_MAX + 400) /* a message: up to two paths and the words around them */
#define RP_LOG_MAX (RP_MSG_MAX + 400)   /* an accept_truncation log line: a message and what is lost */

/* What reading a file gave. */
typedef enum RpRead {
    RP_UNREAD = 0,   /* not read (yet): the planner asks the reader */
    RP_OK,
    RP_IO,           /* an I/O error (or out of memory): recovery stops */
    RP_BAD           /* the file fails a check */
} RpRead;

/* A snapshot file, snapshot.%016x.zst. */
typedef struct RpSnap {
    char name[RP_NAME_MAX];
    int64_t zxid;                /* from the name */
    /* filled by the reader */
    RpRead read;                 /* every check of walf_snapshot_read, and the header's zxid against the name's */
    char why[RP_WHY_MAX];        /* RP_IO, RP_BAD: the reason; with `refused`: the core's */
    int refused;                 /* RP_OK but the core would not load it (corralctl's payload check) */
    /* set by the planner */
    int set_aside;               /* corrupt: renamed NAME.corrupt */
    const char *fallback;        /* set_aside: "the previous snapshot" or "the WAL alone" */
} RpSnap;

/* A WAL segment, wal/%08x-%016x.wal. */
typedef struct RpSeg {
    char name[RP_NAME_MAX];
    uint64_t seq;                /* from the name */
    int64_t first;               /* from the name */
    /* filled by the reader: the header (walf_seg_read_header) */
    RpRead hdr;
    char hdr_why[RP_WHY_MAX];
    WalfSegHeader h;
    /* filled by the reader: the records (walf_seg_open, then the iterator) */
    RpRead scan;
    char scan_why[RP_WHY_MAX];
    uint64_t size;               /* bytes on disk */
    WalfStop st;                 /* how its records stop (first) */
    /* Damage with valid records beyond it: the scan resumes at the first
     * of them (walf_iter_resume) and resumed[k] is how it stops next time
     * (after st, then after resumed[0], ...).  The planner replays across
     * damage only when the snapshot holds every record it can hide. */
    WalfStop resumed[8];
    size_t nresumed;
    int64_t first_rec;           /* zxid of the first record, 0 if none */
    uint64_t first_rec_off;
    /* The first record the core would refuse (corralctl decodes the
     * bodies; the server learns it only when its sink refuses): 0 if none. */
    int64_t refused_zxid;
    uint64_t refused_off;
    char refused_why[200];
} RpSeg;

/* A data directory: its snapshots (newest first) and segments (by sequence
 * number, then name). */
typedef struct RpDir {
    char dir[PATH_MAX], waldir[PATH_MAX];
    RpSnap *snaps;
    size_t nsnaps;
    RpSeg *segs;
    size_t nsegs;
    char list_err[RP_MSG_MAX];   /* the directory could not be listed: recovery refuses with this */
} RpDir;

/* Names of the other files in a directory (sorted). */
typedef struct RpNames {
    char **v;
    size_t n;
} RpNames;

/* Lists WALDIR (segments; NULL: DIR/wal) and DIR (snapshots), reading
 * nothing.  0, or -1 with d->list_err ("cannot read directory DIR: ...",
 * "out of memory"), which rp_plan refuses with. */
int rp_dir_list(RpDir *d, const char *dir, const char *waldir);
/* The segments of one wal/ directory, sorted, and with `discarded`/`tmp`
 * the names of its *.discarded and *.tmp files.  0, or -1 with err. */
int rp_list_segments(const char *waldir, RpSeg **out, size_t *n, RpNames *discarded, RpNames *tmp, char *err,
                     size_t errlen);
/* The snapshots of a data directory, newest first, and with `corrupt`/`tmp`
 * the names of its snapshot.*.corrupt and snapshot.*.tmp files. */
int rp_list_snapshots(const char *dir, RpSnap **out, size_t *n, RpNames *corrupt, RpNames *tmp, char *err,
                      size_t errlen);
void rp_dir_free(RpDir *d);
void rp_names_free(RpNames *l);

/* Reading the files.  Each fills the facts of one file (never fails: what
 * went wrong is in the facts). */
/* Reads snapshot `path` through every check; with RP_OK and `data`, *data
 * (malloc'd, the caller frees) and *len hold the core's bytes. */
void rp_read_snapshot(RpSnap *s, const char *path, void **data, size_t *len);
void rp_read_header(RpSeg *g, const char *path);
/* Reads every record of the segment at `path` (the header too); `each`,
 * when given, sees every good record in order. */
void rp_scan_segment(RpSeg *g, const char *path, void (*each)(void *ctx, const WalfRecord *rec), void *ctx);

/* How the planner reads what it needs, when it needs it (newest snapshot
 * first, stopping at the first usable one; the segments it replays).  Facts
 * already filled (read != RP_UNREAD) are used as they are: corralctl and the
 * unit tests fill everything and pass no reader. */
typedef struct RpReader {
    void (*snapshot)(void *ctx, RpDir *d, size_t i);
    void (*header)(void *ctx, RpDir *d, size_t i);
    void (*scan)(void *ctx, RpDir *d, size_t i);
    void *ctx;
} RpReader;

/* The files, as the server reads them: the snapshot data of the last
 * usable snapshot read is kept (the one the plan loads). */
typedef struct RpFiles {
    void *snap_data;
    size_t snap_len;
} RpFiles;
RpReader rp_file_reader(RpFiles *f);
void rp_files_free(RpFiles *f);

/* An error accept_truncation gets past: the message recovery refuses with
 * without it, and the line logged (ERROR) when it is accepted. */
typedef enum RpCutKind {
    RP_CUT_GAP,          /* no segment reaches back to the snapshot: every segment set aside */
    RP_CUT_LISTING,      /* a bad header, a duplicate or missing number: segments from `seg` on set aside */
    RP_CUT_CHAIN,        /* segment `seg` does not start where the one before ends: `seg` on set aside */
    RP_CUT_DAMAGE        /* damage in segment `seg`: cut there, the later ones set aside */
} RpCutKind;

typedef struct RpAccepted {
    RpCutKind kind;
    size_t seg;
    char message[RP_MSG_MAX];
    char log[RP_LOG_MAX];
    WalfStop st;                 /* RP_CUT_DAMAGE: where and what */
} RpAccepted;

/* Damage the planner replays across: every record it can hide (the zxids
 * between st.last_zxid and st.first_after_zxid) is in the snapshot, and
 * replay resumes at st.first_after_offset. */
typedef struct RpSkip {
    size_t seg;
    WalfStop st;
} RpSkip;

typedef enum RpVerdict {
    RP_RECOVER = 0,              /* recovery succeeds */
    RP_REFUSE_EARLY,             /* refuses before loading anything */
    RP_REFUSE_LATE               /* refuses once the records before the problem were replayed */
} RpVerdict;

typedef struct RpPlan {
    int accept_truncation;
    /* The snapshot: index into d->snaps of the one loaded, or -1 (then
     * snap_zxid is 0); the others read and set aside have set_aside. */
    long snap;
    int64_t snap_zxid;
    size_t bad_snaps;
    /* The WAL.  found: a segment starts at or before the snapshot's zxid;
     * replay starts in segment `start` (the last such), with the records
     * after snap_zxid.  Segments before `start` stay (an older snapshot may
     * need them) but are not read. */
    int found;
    size_t start;
    size_t listed_end;           /* one past the last segment the listing checks keep */
    size_t end;                  /* records of segments [start, end) are replayed ... */
    uint64_t stop_off;           /* ... in segment end-1, only those before this offset */
    WalfStop stop;               /* how segment end-1 stops (when end > start) */
    /* What recovery does on disk, in this order: sets snapshots aside
     * (set_aside); discards segments [discard_early, nsegs) before loading;
     * replays; cuts segment end-1 at stop_off (`cut`: a torn tail when
     * `torn`, else accepted damage); discards [discard_late, discard_early);
     * removes segment end-1 when it holds no record (`remove_empty`). */
    size_t discard_early, discard_late;
    int cut, torn;
    int remove_empty;
    /* Where the writer goes on: segments [0, kept) stay; it continues in
     * segment kept-1 at tail_off (`reopen`), or starts segment number
     * next_seq. */
    size_t kept;
    int reopen;
    uint64_t tail_off, tail_records;
    uint64_t next_seq;
    int64_t wal_last;            /* zxid of the last record kept in the WAL */
    int64_t last_logged;         /* what the next segment's prev zxid chains to */
    int64_t last_zxid;           /* the zxid recovery reaches: max(wal_last, snap_zxid) */
    /* Damage replayed across (covered by the snapshot), in order; nskipped
     * counts them all, skipped[] holds the first ones. */
    RpSkip skipped[8];
    size_t nskipped;
    /* Errors accept_truncation gets past (with accept_truncation), in order. */
    RpAccepted accepted[2];
    size_t naccepted;
    /* The verdict, and the message when refusing; `hard`: accept_truncation
     * cannot help (an I/O error, no usable snapshot, the core refusing). */
    RpVerdict verdict;
    int hard;
    char message[RP_MSG_MAX];
} RpPlan;

/* Plans recovery of d (listed by rp_dir_list; facts read through r, which
 * may be NULL when d is filled).  Always returns a plan (p->verdict). */
void rp_plan(RpDir *d, const RpReader *r, int accept_truncation, RpPlan *p);
/* What recovery and every tool do to plan a data directory: rp_dir_list
 * (WALDIR NULL: DIR/wal), then rp_plan reading through rp_file_reader
 * into files (the caller frees them with rp_files_free, after using the
 * snapshot they hold). */
void rp_plan_dir(RpDir *d, const char *dir, const char *waldir, int accept_truncation, RpFiles *files, RpPlan *p);

/* Calls `each` for every record the plan replays, in order: the records
 * after the snapshot's zxid in segments [start, end), before stop_off in
 * the last.  Stops at the first `each` < 0 and returns it; 0 when done; -1
 * with err when a segment cannot be read ("cannot read WAL segment ...").
 * *count gets the records passed to `each`. */
int rp_replay(const RpDir *d, const RpPlan *p,
              int (*each)(void *ctx, const WalfRecord *rec, const char *path), void *ctx, uint64_t *count,
              char *err, size_t errlen);

/* Messages shared by the planner's users. */
/* The torn-tail line: "WAL segment PATH: torn tail at offset O after zxid Z
 * (REASON): <drop> N bytes[, including K complete records ...]"; `drop` is
 * "dropped" (the server) or "recovery would drop" (verify). */
int rp_torn_msg(char *buf, size_t n, const char *path, const WalfStop *st, const char *drop);
/* "snapshot PATH is corrupt (WHY); falling back to X; renamed to PATH.corrupt" */
int rp_corrupt_snapshot_msg(char *buf, size_t n, const char *dir, const RpSnap *s, int would);
/* "the server could not load snapshot PATH[: WHY]" */
int rp_load_failed_msg(char *buf, size_t n, const char *path, const char *why);
/* "the server could not apply the transaction at zxid Z (WAL segment PATH, offset O)[: WHY]" */
int rp_apply_failed_msg(char *buf, size_t n, int64_t zxid, const char *path, uint64_t off, const char *why);
/* "WAL segment PATH, offset O: REASON in the record after zxid A: the
 * snapshot at zxid S holds every transaction up to zxid B, the first intact
 * record after the damage (offset F); <replay> there" with `replay`
 * "replaying from" (the server) or "recovery would replay from" (verify). */
int rp_skip_msg(char *buf, size_t n, const char *path, const WalfStop *st, int64_t snap_zxid, const char *replay);
/* Bytes after the stop that are not zeros: what a cut drops. */
uint64_t rp_stop_bytes(const WalfStop *st);

/* An Apache ZooKeeper data directory in or under dir (version-2/snapshot.*,
 * version-2/log.*, myid, acceptedEpoch, currentEpoch; dir itself, its
 * version-2/, or one subdirectory's version-2/): 1 with the first file
 * found in `found`, else 0.  Reads directory listings only. */
int rp_zookeeper_dir(const char *dir, char *found, size_t n);
/* The refusal both the server (sf_open, before it creates anything) and
 * corralctl verify give: 1 with the message when dir (or waldir, the
 * storage_file wal_dir when set, else NULL for DIR/wal) holds ZooKeeper
 * data and there is no Corral data (no snapshot in dir, no WAL segment in
 * the WAL directory), else 0. */
int rp_zookeeper_refusal(const char *dir, const char *waldir, char *msg, size_t n);

#endif
