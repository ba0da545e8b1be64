/*
 * regress/fuzz/fuzz_snapfile.c: libFuzzer harness for the snapshot file
 * reader of storage_file (src/modules/storage_file/wal_format.c):
 * walf_snap_header_decode, walf_snapshot_verify (CRCs only, as `corralctl
 * verify` and the choice of a snapshot at recovery) and walf_snapshot_read
 * (everything, then zstd), on a file built from the input.
 *
 * Input: one byte of flags, then the file (an in-memory file).  The flags
 * let the fuzzer ask for what it cannot guess to be made right:
 *   bit 0  the header's magic, version, size and codec fields
 *   bit 1  the compressed length (= the file's size - 64)
 *   bit 2  the uncompressed length (= what the zstd frame header says)
 *   bit 3  the payload CRC
 *   bit 4  the header CRC (last)
 *
 * Properties: a read that succeeds was verified, and holds the header's
 * uncompressed length; a failure has a reason; what was read, written
 * again with walf_snapshot_write, reads back the same (zxid and bytes).
 */
#include "fuzz_common.h"

#include <zstd.h>

#include "../../src/modules/storage_file/wal_format.h"

enum { FIX_FIELDS = 1, FIX_COMP_LEN = 2, FIX_RAW_LEN = 4, FIX_PAYLOAD_CRC = 8, FIX_HEADER_CRC = 16 };

static void fix_up(uint8_t *f, size_t n, int flags)
{
    if (n < WALF_SNAP_HEADER_SIZE)
        return;
    const uint8_t *payload = f + WALF_SNAP_HEADER_SIZE;
    size_t plen = n - WALF_SNAP_HEADER_SIZE;
    if (flags & FIX_FIELDS) {
        memcpy(f, WALF_SNAP_MAGIC, 8);
        walf_put32(f + 8, WALF_VERSION);
        walf_put32(f + 12, WALF_SNAP_HEADER_SIZE);
        walf_put32(f + 44, WALF_CODEC_ZSTD);
    }
    if (flags & FIX_COMP_LEN)
        walf_put64(f + 32, plen);
    if (flags & FIX_RAW_LEN) {
        unsigned long long fcs = ZSTD_getFrameContentSize(payload, plen);
        if (fcs != ZSTD_CONTENTSIZE_ERROR && fcs != ZSTD_CONTENTSIZE_UNKNOWN)
            walf_put64(f + 24, fcs);
    }
    if (flags & FIX_PAYLOAD_CRC)
        walf_put32(f + 40, walf_crc32c(0, payload, plen));
    if (flags & FIX_HEADER_CRC)
        walf_put32(f + 60, walf_crc32c(0, f, 60));
}

/* What was read, written again by the writer, must read back the same. */
static void rewrite(const WalfSnapHeader *h, const void *data, size_t len)
{
    char path[64], err[256];
    int fd = fuzz_file(NULL, 0, path, sizeof path);
    uint64_t fsize = 0;
    FUZZ_CHECK(walf_snapshot_write(fd, h->last_zxid, data, len, 1, &fsize, err, sizeof err) == 0);
    WalfSnapHeader h2;
    void *d2;
    size_t l2;
    FUZZ_CHECK(walf_snapshot_read(path, &h2, &d2, &l2, err, sizeof err) == 0);
    FUZZ_CHECK(h2.last_zxid == h->last_zxid && l2 == len && h2.comp_len + WALF_SNAP_HEADER_SIZE == fsize);
    FUZZ_CHECK(len == 0 || memcmp(d2, data, len) == 0);
    free(d2);
    fuzz_file_close(fd);
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

    char err[256] = "", path[64];
    WalfSnapHeader direct;
    int dec = walf_snap_header_decode(f, n, &direct, err, sizeof err);
    FUZZ_CHECK(dec == 0 || err[0] != '\0');

    int fd = fuzz_file(f, n, path, sizeof path);
    WalfSnapHeader hv, hr;
    err[0] = '\0';
    int v = walf_snapshot_verify(path, &hv, err, sizeof err);
    FUZZ_CHECK(v == 0 || (v == -2 && err[0] != '\0'));
    if (dec < 0)
        FUZZ_CHECK(v == -2);
    void *raw = NULL;
    size_t len = 0;
    err[0] = '\0';
    int r = walf_snapshot_read(path, &hr, &raw, &len, err, sizeof err);
    FUZZ_CHECK(r == 0 || ((r == -1 || r == -2) && err[0] != '\0' && raw == NULL && len == 0));
    if (r == 0) {
        FUZZ_CHECK(v == 0);
        FUZZ_CHECK(hr.last_zxid == hv.last_zxid && hr.raw_len == hv.raw_len && hr.comp_len == hv.comp_len &&
                   hr.payload_crc == hv.payload_crc && hr.last_zxid >= 0);
        FUZZ_CHECK(len == hr.raw_len && hr.comp_len + WALF_SNAP_HEADER_SIZE == n);
        rewrite(&hr, raw, len);
    }
    free(raw);
    fuzz_file_close(fd);
    free(f);
    return 0;
}
