/*
 * src/bin/corralctl/cmd_wal_dump.c: corralctl wal-dump DIR|FILE [--json].
 * (see storage_tool.c for the shared code and doc/storage-tools.md).
 */
#include "storage_tool.h"

/* ---- wal-dump ------------------------------------------------------------ */

static void wal_dump_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl wal-dump DIR|FILE [--json]\n"
            "\n"
            "Prints every record of storage_file's write-ahead log: the header of each\n"
            "segment, then one line per transaction (time, session, cxid, zxid, type and\n"
            "the decoded transaction), and how each segment ends.  DIR is a data\n"
            "directory (its wal/ is read) or a wal/ directory; FILE one segment (any\n"
            "name: *.discarded segments can be read too).  Damage is reported with the\n"
            "file and offset, and the valid records found after it are shown too.\n"
            "  -j, --json   one JSON object per line instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 every segment ends cleanly and every record decodes; 1 a\n"
            "torn tail, damage, a missing segment or a file that cannot be read; 2 bad\n"
            "usage.\n");
}

typedef struct DumpTotals {
    uint64_t records, segments, problems;
    int64_t first_zxid, last_zxid;
} DumpTotals;

static void dump_problem(CorralStrbuf *sb, int json, const char *file, const char *msg, DumpTotals *t)
{
    t->problems++;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "error");
        if (file)
            json_kstr(sb, "file", file);
        json_kstr(sb, "message", msg);
        corral_strbuf_puts(sb, "}");
    } else {
        corral_strbuf_printf(sb, "ERROR: %s", msg);
    }
    emit(sb);
}

static void dump_record(CorralStrbuf *sb, int json, const char *path, const WalfRecord *rec, int after_damage,
                        DumpTotals *t)
{
    char why[200] = "";
    TxnHeader h;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "record");
        json_kstr(sb, "file", path);
        json_kint(sb, "offset", (int64_t)rec->offset);
        json_kint(sb, "len", rec->len);
        json_khex(sb, "zxid", rec->zxid);
        if (after_damage)
            json_kbool(sb, "after_damage", 1);
    } else if (after_damage) {
        corral_strbuf_puts(sb, "(after the damage) ");
    }
    size_t mark = sb->len;
    if (decode_body(rec, sb, json, &h, why, sizeof why) < 0) {
        t->problems++;
        if (json) {
            json_kstr(sb, "error", why);
            corral_strbuf_puts(sb, "}");
        } else {
            /* keep what decoded, then say why the rest did not */
            if (sb->len == mark)
                corral_strbuf_printf(sb, "zxid 0x%" PRIx64, (uint64_t)rec->zxid);
            corral_strbuf_printf(sb, " ERROR: %s, at offset %" PRIu64 " of %s", why, rec->offset, path);
        }
        emit(sb);
        return;
    }
    if (json)
        corral_strbuf_puts(sb, "}");
    emit(sb);
}

/* Dumps one segment; *last_zxid gets the zxid of its last good record.
 * Returns 0 when it ends cleanly. */
static int dump_segment(CorralStrbuf *sb, int json, const char *path, DumpTotals *t, int64_t *last_zxid,
                        WalfSegHeader *hdr_out)
{
    WalfSegment seg;
    char err[300];
    int r = walf_seg_open(&seg, path, err, sizeof err);
    if (r < 0) {
        char msg[PATH_MAX + 400];
        snprintf(msg, sizeof msg, r == -1 ? "cannot read WAL segment %s: %s" : "WAL segment %s: bad header (%s)", path,
                 err);
        dump_problem(sb, json, path, msg, t);
        return -1;
    }
    t->segments++;
    if (hdr_out)
        *hdr_out = seg.hdr;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "segment");
        json_kstr(sb, "file", path);
        json_kint(sb, "sequence", (int64_t)seg.hdr.seq);
        json_khex(sb, "first_zxid", seg.hdr.first_zxid);
        json_khex(sb, "prev_zxid", seg.hdr.prev_zxid);
        json_kint(sb, "prealloc_bytes", seg.hdr.prealloc_bytes);
        json_kint(sb, "size", (int64_t)seg.size);
        json_kint(sb, "version", seg.hdr.version);
        corral_strbuf_puts(sb, "}");
    } else {
        corral_strbuf_printf(sb,
                             "WAL segment %s: format %u, sequence %" PRIu64 ", first zxid 0x%" PRIx64
                             ", prev zxid 0x%" PRIx64 ", preallocated %u bytes, %" PRIu64 " bytes on disk",
                             path, seg.hdr.version, seg.hdr.seq, (uint64_t)seg.hdr.first_zxid,
                             (uint64_t)seg.hdr.prev_zxid, seg.hdr.prealloc_bytes, seg.size);
    }
    emit(sb);

    WalfIter it;
    WalfRecord rec;
    WalfStop st;
    int64_t first = 0;
    walf_iter_init(&it, &seg);
    while (walf_iter_next(&it, &rec, &st)) {
        if (it.count == 1) {
            first = rec.zxid;
            if (rec.zxid != seg.hdr.first_zxid) {
                char msg[PATH_MAX + 200];
                snprintf(msg, sizeof msg,
                         "WAL segment %s, offset %" PRIu64 ": first record has zxid 0x%" PRIx64
                         ", the header says 0x%" PRIx64,
                         path, rec.offset, (uint64_t)rec.zxid, (uint64_t)seg.hdr.first_zxid);
                dump_problem(sb, json, path, msg, t);
            }
        }
        dump_record(sb, json, path, &rec, 0, t);
        t->records++;
        if (!t->first_zxid)
            t->first_zxid = rec.zxid;
        t->last_zxid = rec.zxid;
    }
    *last_zxid = st.last_zxid;
    uint64_t dropped = st.nonzero_end > st.offset ? st.nonzero_end - st.offset : 0;
    const char *status = st.kind == WALF_STOP_CLEAN ? "clean" : st.kind == WALF_STOP_TORN ? "torn" : "damaged";
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "end");
        json_kstr(sb, "file", path);
        json_kstr(sb, "status", status);
        json_kint(sb, "offset", (int64_t)st.offset);
        json_kint(sb, "records", (int64_t)st.nrecords);
        if (st.nrecords)
            json_khex(sb, "first_zxid", first);
        json_khex(sb, "last_zxid", st.last_zxid);
        if (st.kind != WALF_STOP_CLEAN) {
            json_kstr(sb, "reason", st.reason);
            json_kint(sb, "bytes_after", (int64_t)dropped);
            json_kint(sb, "valid_records_after", (int64_t)st.n_after);
            if (st.n_after) {
                json_khex(sb, "first_after_zxid", st.first_after_zxid);
                json_khex(sb, "last_after_zxid", st.last_after_zxid);
            }
            if (st.kind == WALF_STOP_CORRUPT) {
                json_kint(sb, "later_offset", (int64_t)st.later_offset);
                json_khex(sb, "later_zxid", st.later_zxid);
            }
        }
        corral_strbuf_puts(sb, "}");
    } else if (st.kind == WALF_STOP_CLEAN) {
        corral_strbuf_printf(sb, "end of %s: clean at offset %" PRIu64 ", %" PRIu64 " records", path, st.offset,
                             st.nrecords);
        if (st.nrecords)
            corral_strbuf_printf(sb, " (zxid 0x%" PRIx64 "..0x%" PRIx64 ")", (uint64_t)first, (uint64_t)st.last_zxid);
    } else if (st.kind == WALF_STOP_TORN) {
        corral_strbuf_printf(sb,
                             "TORN TAIL in %s at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): %" PRIu64
                             " bytes after the last good record",
                             path, st.offset, (uint64_t)st.last_zxid, st.reason, dropped);
        if (st.n_after)
            corral_strbuf_printf(sb, ", including %" PRIu64 " complete records (zxid 0x%" PRIx64 "..0x%" PRIx64
                                     ") of an unfinished write",
                                 st.n_after, (uint64_t)st.first_after_zxid, (uint64_t)st.last_after_zxid);
        corral_strbuf_printf(sb, "; %" PRIu64 " good records before it", st.nrecords);
    } else {
        corral_strbuf_printf(sb,
                             "DAMAGED: WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                             "; valid records written later follow (offset %" PRIu64 ", zxid 0x%" PRIx64
                             "): %" PRIu64 " valid records (zxid 0x%" PRIx64 "..0x%" PRIx64 ") in the %" PRIu64
                             " bytes after the damage; %" PRIu64 " good records before it",
                             path, st.offset, st.reason, (uint64_t)st.last_zxid, st.later_offset,
                             (uint64_t)st.later_zxid, st.n_after, (uint64_t)st.first_after_zxid,
                             (uint64_t)st.last_after_zxid, dropped, st.nrecords);
    }
    emit(sb);
    if (st.kind != WALF_STOP_CLEAN)
        t->problems++;

    /* Forensics: the valid records beyond the stop, marked as such. */
    uint64_t from = st.offset;
    while (st.kind != WALF_STOP_CLEAN && st.n_after && st.first_after_offset > from) {
        from = st.first_after_offset;
        it.off = st.first_after_offset;
        it.last_zxid = st.last_zxid;
        while (walf_iter_next(&it, &rec, &st))
            dump_record(sb, json, path, &rec, 1, t);
    }
    walf_seg_close(&seg);
    return t->problems ? -1 : 0;
}

int ctl_cmd_wal_dump(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 0, wal_dump_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    DumpTotals t = {0, 0, 0, 0, 0};
    struct stat st;
    if (stat(a.path, &st) < 0)
        return ctl_fail("cannot read %s: %s", a.path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int64_t last;
        dump_segment(&sb, a.json, a.path, &t, &last, NULL);
    } else {
        char waldir[PATH_MAX], err[PATH_MAX + 100];
        snprintf(waldir, sizeof waldir, "%s/wal", a.path);
        if (!is_dir(waldir))
            snprintf(waldir, sizeof waldir, "%s", a.path);
        RpSeg *segs;
        size_t n;
        NameList disc = {NULL, 0};
        if (rp_list_segments(waldir, &segs, &n, &disc, NULL, err, sizeof err) < 0)
            return ctl_fail("%s", err);
        if (n == 0 && !a.json) {
            corral_strbuf_printf(&sb, "no WAL segment in %s", waldir);
            emit(&sb);
        }
        int64_t prev_last = 0;
        int have_prev = 0;
        for (size_t i = 0; i < n; i++) {
            char msg[PATH_MAX * 2 + 200], path[PATH_MAX + RP_NAME_MAX];
            snprintf(path, sizeof path, "%s/%s", waldir, segs[i].name);
            if (i > 0 && segs[i].seq == segs[i - 1].seq) {
                snprintf(msg, sizeof msg, "two WAL segments with sequence number %" PRIu64 ": %s and %s in %s",
                         segs[i].seq, segs[i - 1].name, segs[i].name, waldir);
                dump_problem(&sb, a.json, path, msg, &t);
            } else if (i > 0 && segs[i].seq != segs[i - 1].seq + 1) {
                snprintf(msg, sizeof msg,
                         "WAL segment number %08" PRIx64 " is missing from %s (between %s and %s)",
                         segs[i - 1].seq + 1, waldir, segs[i - 1].name, segs[i].name);
                dump_problem(&sb, a.json, path, msg, &t);
                have_prev = 0;
            }
            WalfSegHeader h;
            int64_t last = 0;
            memset(&h, 0, sizeof h);
            dump_segment(&sb, a.json, path, &t, &last, &h);
            if (h.first_zxid && have_prev && h.prev_zxid != prev_last) {
                snprintf(msg, sizeof msg,
                         "WAL segment %s starts after zxid 0x%" PRIx64 " but %s ends at zxid 0x%" PRIx64
                         ": the transactions in between are missing",
                         path, (uint64_t)h.prev_zxid, segs[i - 1].name, (uint64_t)prev_last);
                dump_problem(&sb, a.json, path, msg, &t);
            }
            have_prev = h.first_zxid != 0;
            prev_last = last;
        }
        if (disc.n) {
            if (a.json) {
                corral_strbuf_puts(&sb, "{");
                json_kstr(&sb, "kind", "discarded");
                json_key(&sb, "files");
                corral_strbuf_puts(&sb, "[");
                for (size_t i = 0; i < disc.n; i++) {
                    if (i)
                        corral_strbuf_puts(&sb, ",");
                    json_cstr(&sb, disc.v[i]);
                }
                corral_strbuf_puts(&sb, "]}");
            } else {
                corral_strbuf_printf(&sb, "not shown: %zu segments set aside by accept_truncation (", disc.n);
                for (size_t i = 0; i < disc.n; i++)
                    corral_strbuf_printf(&sb, "%s%s", i ? ", " : "", disc.v[i]);
                corral_strbuf_puts(&sb, "); dump them by file name");
            }
            emit(&sb);
        }
        rp_names_free(&disc);
        free(segs);
    }
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "kind", "summary");
        json_kint(&sb, "segments", (int64_t)t.segments);
        json_kint(&sb, "records", (int64_t)t.records);
        if (t.records) {
            json_khex(&sb, "first_zxid", t.first_zxid);
            json_khex(&sb, "last_zxid", t.last_zxid);
        }
        json_kint(&sb, "problems", (int64_t)t.problems);
        corral_strbuf_puts(&sb, "}");
    } else {
        corral_strbuf_printf(&sb, "%" PRIu64 " records in %" PRIu64 " segments", t.records, t.segments);
        if (t.records)
            corral_strbuf_printf(&sb, ", zxid 0x%" PRIx64 "..0x%" PRIx64, (uint64_t)t.first_zxid,
                                 (uint64_t)t.last_zxid);
        if (t.problems)
            corral_strbuf_printf(&sb, "; %" PRIu64 " problems (see ERROR, TORN TAIL and DAMAGED above)", t.problems);
    }
    emit(&sb);
    corral_strbuf_free(&sb);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    (void)o;
    return t.problems ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

