/*
 * regress/fuzz/fuzz_wal.c: libFuzzer harness for the WAL segment reader of
 * storage_file (src/modules/storage_file/wal_format.c): the segment header
 * decoder, walf_seg_open (a file mapped whole) and the record iterator that
 * tells a clean end from a torn tail from corruption, as recovery and
 * `corralctl wal-dump` / `verify` run them.
 *
 * Input: one byte of flags, then the segment file.  CRCs would stop a
 * fuzzer at the first check, so the flags let it ask for them to be made
 * right before the file is written (an in-memory file, fuzz_file):
 *   bit 0  fix the header's magic, version and size fields
 *   bit 1  fix the header CRC
 *   bit 2  fix the CRC of each record, following their lengths from
 *          offset 48 until an all-zero record header or the end
 *
 * Properties: the iterator's records lie inside the file, back to back from
 * the header, with zxids strictly increasing above the header's prev zxid
 * and write-unit offsets not after the record; the stop is where the last
 * good record ends, kind and counters agree (clean <=> nothing non-zero
 * after it; corrupt only with a valid record of a later write unit after
 * it); walf_seg_read_header agrees with walf_seg_open.
 */
#include "fuzz_common.h"

#include "../../src/modules/storage_file/wal_format.h"

enum { FIX_FIELDS = 1, FIX_HEADER_CRC = 2, FIX_RECORD_CRCS = 4 };

static void fix_up(uint8_t *f, size_t n, int flags)
{
    if (n < WALF_SEG_HEADER_SIZE)
        return;
    if (flags & FIX_FIELDS) {
        memcpy(f, WALF_SEG_MAGIC, 8);
        walf_put32(f + 8, WALF_VERSION);
        walf_put32(f + 12, WALF_SEG_HEADER_SIZE);
    }
    if (flags & FIX_HEADER_CRC)
        walf_put32(f + 44, walf_crc32c(0, f, 44));
    if (!(flags & FIX_RECORD_CRCS))
        return;
    static const uint8_t zero[WALF_REC_HEADER_SIZE];
    size_t off = WALF_SEG_HEADER_SIZE;
    while (n - off >= WALF_REC_HEADER_SIZE && memcmp(f + off, zero, sizeof zero) != 0) {
        uint32_t len = walf_get32(f + off + 4);
        if (len > n - off - WALF_REC_HEADER_SIZE)
            break;
        uint32_t crc = walf_crc32c(0, f + off + 4, WALF_REC_HEADER_SIZE - 4);
        walf_put32(f + off, walf_crc32c(crc, f + off + WALF_REC_HEADER_SIZE, len));
        off += WALF_REC_HEADER_SIZE + (size_t)len;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *f = malloc(n ? n : 1);
    if (n)
        memcpy(f, data + 1, n);
    fix_up(f, n, data[0]);

    char err[256];
    WalfSegHeader direct;
    int dec = walf_seg_header_decode(f, n, &direct, err, sizeof err);
    FUZZ_CHECK(dec == 0 || err[0] != '\0');
    if (dec == 0)
        FUZZ_CHECK(direct.first_zxid > 0 && direct.prev_zxid >= 0 && direct.prev_zxid < direct.first_zxid);

    char path[64];
    int fd = fuzz_file(f, n, path, sizeof path);
    WalfSegHeader h;
    int rh = walf_seg_read_header(path, &h, err, sizeof err);
    FUZZ_CHECK(rh == (dec == 0 ? 0 : -2));   /* the memfd's name is not a segment name: no name check */

    WalfSegment seg;
    int ro = walf_seg_open(&seg, path, err, sizeof err);
    FUZZ_CHECK(ro == rh);
    if (ro == 0) {
        FUZZ_CHECK(seg.size == n && seg.hdr.version == direct.version && seg.hdr.seq == direct.seq &&
                   seg.hdr.first_zxid == direct.first_zxid && seg.hdr.prev_zxid == direct.prev_zxid &&
                   seg.hdr.prealloc_bytes == direct.prealloc_bytes);
        WalfIter it;
        WalfRecord rec;
        WalfStop stop;
        walf_iter_init(&it, &seg);
        uint64_t expect_off = WALF_SEG_HEADER_SIZE, count = 0;
        int64_t last = seg.hdr.prev_zxid;
        while (walf_iter_next(&it, &rec, &stop) == 1) {
            FUZZ_CHECK(rec.offset == expect_off);
            FUZZ_CHECK(rec.len <= WALF_MAX_RECORD);
            FUZZ_CHECK(rec.offset + WALF_REC_HEADER_SIZE + rec.len <= seg.size);
            FUZZ_CHECK(rec.data == seg.map + rec.offset + WALF_REC_HEADER_SIZE);
            FUZZ_CHECK(rec.zxid > last);
            FUZZ_CHECK(rec.batch_start >= WALF_SEG_HEADER_SIZE && rec.batch_start <= rec.offset);
            last = rec.zxid;
            expect_off = rec.offset + WALF_REC_HEADER_SIZE + rec.len;
            count++;
        }
        FUZZ_CHECK(stop.offset == expect_off && stop.last_zxid == last && stop.nrecords == count);
        FUZZ_CHECK(stop.offset <= seg.size);
        FUZZ_CHECK(stop.nonzero_end >= stop.offset && stop.nonzero_end <= seg.size);
        size_t tail = stop.offset < seg.size ? (size_t)(seg.size - stop.offset) : 0;
        int clean_tail = tail == 0 || all_zero(seg.map + stop.offset, tail);
        FUZZ_CHECK((stop.kind == WALF_STOP_CLEAN) == clean_tail);
        if (stop.kind == WALF_STOP_CLEAN) {
            FUZZ_CHECK(stop.reason[0] == '\0' && stop.nonzero_end == stop.offset && stop.n_after == 0);
        } else {
            FUZZ_CHECK(stop.reason[0] != '\0');
            FUZZ_CHECK(seg.map[stop.nonzero_end - 1] != 0);
            FUZZ_CHECK(all_zero(seg.map + stop.nonzero_end, (size_t)(seg.size - stop.nonzero_end)));
        }
        if (stop.n_after) {
            FUZZ_CHECK(stop.first_after_offset > stop.offset && stop.first_after_offset < stop.nonzero_end);
            FUZZ_CHECK(stop.first_after_zxid > stop.last_zxid && stop.last_after_zxid >= stop.first_after_zxid);
        }
        if (stop.kind == WALF_STOP_CORRUPT)
            FUZZ_CHECK(stop.n_after > 0 && stop.later_offset >= stop.first_after_offset &&
                       stop.later_zxid > stop.last_zxid);
        walf_seg_close(&seg);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }
    fuzz_file_close(fd);
    free(f);
    return 0;
}
