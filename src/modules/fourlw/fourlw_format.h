/*
 * src/modules/fourlw/fourlw_format.h: the pure formatting helpers of the
 * fourlw module (no server state), shared with regress/unit/test_fourlw_format.c.
 *
 * They reproduce the Java formatting that ZooKeeper's four-letter words rely
 * on, so that Corral's answers parse the same way: Double.toString,
 * BigDecimal.setScale(4, HALF_UP) (the rounding of every ZooKeeper average),
 * Date.toString, ExpiryQueue.dump.  All are hidden inside the module's .so.
 */
#ifndef CORRAL_FOURLW_FORMAT_H
#define CORRAL_FOURLW_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "corral/strbuf.h"

#if defined(__GNUC__)
#define FOURLW_HIDDEN __attribute__((visibility("hidden")))
#else
#define FOURLW_HIDDEN
#endif

/* Appends d as Java's Double.toString prints it: "0.0", "1.5", "1.0E7",
 * "1.0E-4", "NaN", "Infinity" (shortest digits that read back as d). */
FOURLW_HIDDEN void fourlw_java_double(CorralStrbuf *sb, double d);

/* new BigDecimal(x).setScale(4, RoundingMode.HALF_UP).doubleValue(), done on
 * the exact binary value as Java does (AvgMinMaxCounter.getAvg). */
FOURLW_HIDDEN double fourlw_round4(double x);

/* Appends v as a Java long if it is integral (and fits), else as a Java
 * double.  Used for histogram min/max/sum, which ZooKeeper keeps as longs. */
FOURLW_HIDDEN void fourlw_java_number(CorralStrbuf *sb, double v);

/* Java's Date.toString for wall-clock milliseconds, in the local time zone:
 * "Sun Nov 22 05:42:40 UTC 2026".  Returns the length written. */
FOURLW_HIDDEN size_t fourlw_java_date(char *buf, size_t n, int64_t wall_ms);

/* ZooKeeper's ExpiryQueue.roundToNextInterval: the next multiple of
 * interval strictly after t (t itself when interval <= 0). */
FOURLW_HIDDEN int64_t fourlw_round_next(int64_t t, int64_t interval);

/* ---- answers with a size cap ----------------------------------------------
 * Words such as wchp, wchc and dump list everything the server holds; with
 * millions of watches the answer would be hundreds of megabytes, built in
 * memory on the event loop.  An answer therefore has a cap
 * (modules.fourlw.max_answer_bytes, modules.admin_http.max_answer_bytes):
 * the writer appends one item (a line, a group of lines, a JSON element)
 * and asks fourlw_cap_keep whether it still fits; when it does not, the
 * item is taken back, the answer is marked truncated and the walk stops,
 * so memory and time stay bounded too. */
typedef struct FourlwCap {
    CorralStrbuf *out;
    size_t max;             /* bytes; 0 = no cap */
    size_t cut;             /* where the answer ends once truncated */
    int truncated;
} FourlwCap;

FOURLW_HIDDEN void fourlw_cap_init(FourlwCap *c, CorralStrbuf *out, size_t max);
/* The item appended since out->len was `mark` stays if the answer is within
 * the cap: 1.  Otherwise it is removed, the answer is truncated at mark,
 * and 0 says "stop".  After a truncation every call answers 0. */
FOURLW_HIDDEN int fourlw_cap_keep(FourlwCap *c, size_t mark);
/* Truncates the answer where it ends now (a part gathered apart did not
 * fit). */
FOURLW_HIDDEN void fourlw_cap_stop(FourlwCap *c);
/* Text answers: when the answer was truncated, or is longer than the cap
 * anyway (an answer that was not written item by item), it is cut after
 * its last complete line within the cap, and a last line says so:
 * "*** truncated: ...SETTING...".  An answer within the cap is untouched. */
FOURLW_HIDDEN void fourlw_cap_finish_text(FourlwCap *c, const char *setting);

/* One element of an expiry queue dump. */
typedef struct FourlwExpiry {
    int64_t expire_ms;      /* wall clock */
    const char *text;       /* the element, as its toString prints it */
    size_t seq;             /* set by fourlw_dump_expiry: keeps equal deadlines in input order */
} FourlwExpiry;

/* ExpiryQueue.dump: "Sets (BUCKETS)/(ELEMENTS):\n", then for each deadline,
 * ascending, "COUNT expire at DATE:\n" and one "\tTEXT\n" per element.  The
 * caller prints the prefix ("Session " or "Connections ").  Sorts e.  Each
 * bucket line and element is an item of the cap: returns 0 when the cap
 * stopped the dump. */
FOURLW_HIDDEN int fourlw_dump_expiry(FourlwCap *c, FourlwExpiry *e, size_t n);

/* An allow-list entry: exactly four lowercase ASCII letters, or "*". */
FOURLW_HIDDEN int fourlw_word_valid(const char *w);

/* Total size in bytes of the regular files under path (recursively, not
 * following symbolic links); a regular file counts itself; 0 when path does
 * not exist or cannot be read (ZooKeeper's getDirSize does the same). */
FOURLW_HIDDEN int64_t fourlw_dir_size(const char *path);

/* The mntr key of a registry metric: "zk_" + name, unless name already
 * starts with "zk_".  Writes at most n bytes (NUL included). */
FOURLW_HIDDEN void fourlw_mntr_key(char *buf, size_t n, const char *prefix, const char *name);

#endif
