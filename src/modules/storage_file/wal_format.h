/*
 * src/modules/storage_file/wal_format.h: the on-disk formats of the
 * storage_file module (WAL segments, records, snapshots) and the code that
 * reads and checks them.
 *
 * Self-contained on purpose: it needs libc and libzstd only, never corrald,
 * so that tools (`corralctl wal-dump`, `snapshot-dump`, `verify`) can compile
 * wal_format.c in as it is.  Nothing here logs, allocates globals or keeps
 * state between calls (the CRC32C tables are built once, thread-safely).
 * doc/storage.md has the byte layouts as tables; the comments below are the
 * reference the code follows.
 *
 * All integers on disk are little endian, written and read byte by byte
 * (no struct overlays, so no alignment or endianness assumptions).
 */
#ifndef CORRAL_STORAGE_FILE_WAL_FORMAT_H
#define CORRAL_STORAGE_FILE_WAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define WALF_VERSION 1

/* ---- little endian, byte by byte ----------------------------------------- */
static inline uint32_t walf_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t walf_get64(const unsigned char *p)
{
    return (uint64_t)walf_get32(p) | (uint64_t)walf_get32(p + 4) << 32;
}

static inline void walf_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void walf_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- CRC32C (Castagnoli) -----------------------------------------------
 * zlib-style chaining: walf_crc32c(0, buf, n) starts a checksum and
 * walf_crc32c(walf_crc32c(0, a, n), b, m) == walf_crc32c(0, a||b, n+m).
 * Standard check value: walf_crc32c(0, "123456789", 9) == 0xE3069283.     */
uint32_t walf_crc32c(uint32_t crc, const void *buf, size_t len);
/* The portable slice-by-8 implementation, always available (for tests). */
uint32_t walf_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* "sse4.2", "armv8-crc" or "slice-by-8": what walf_crc32c uses here. */
const char *walf_crc32c_impl(void);

/* Writes all n bytes at off (retrying short writes and EINTR): 0, or -1
 * with errno as pwrite left it (ENOSPC tells a full disk). */
int walf_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* ---- WAL segments --------------------------------------------------------
 * File name: "%08x-%016x.wal" of (sequence number, first zxid), in the
 * directory `<dir>/wal`.  Sequence numbers start at 1 and have no holes.
 *
 * Segment header, 48 bytes:
 *    0  8  magic "CORRALWL"
 *    8  4  format version (1)
 *   12  4  header size (48)
 *   16  8  sequence number (same as the name)
 *   24  8  first zxid: zxid of the first record (same as the name)
 *   32  8  prev zxid: zxid of the last record logged before this segment,
 *          0 at the start of history (lets recovery see a missing segment)
 *   40  4  bytes the segment was preallocated to (informational)
 *   44  4  CRC32C of bytes 0..43
 *
 * Records follow back to back from offset 48 to the first all-zero record
 * header (the preallocated space is zeros) or the end of the file:
 *    0  4  CRC32C of bytes 4 .. 24+len (the rest of the header, then the body)
 *    4  4  len: body length in bytes
 *    8  8  zxid (> 0, strictly increasing through the whole log)
 *   16  8  batch start: offset in this segment where the write unit that
 *          holds this record begins (the segment's synced size when the
 *          record was written).  Lets recovery tell a torn last write unit
 *          (harmless: never acknowledged) from damage to an earlier one.
 *   24 len body: the core's opaque bytes (TxnHeader + txn, jute)         */
#define WALF_SEG_MAGIC "CORRALWL"
#define WALF_SEG_HEADER_SIZE 48
#define WALF_REC_HEADER_SIZE 24
/* Largest record body accepted (the core's requests are at most ~1 MiB). */
#define WALF_MAX_RECORD ((uint32_t)256 << 20)

typedef struct WalfSegHeader {
    uint32_t version;
    uint64_t seq;
    int64_t first_zxid;
    int64_t prev_zxid;
    uint32_t prealloc_bytes;
} WalfSegHeader;

void walf_seg_header_encode(unsigned char out[WALF_SEG_HEADER_SIZE], const WalfSegHeader *h);
/* 0, or -1 with the reason in err ("bad magic", "header CRC mismatch", ...). */
int walf_seg_header_decode(const void *in, size_t len, WalfSegHeader *h, char *err, size_t errlen);

/* Writes a record header for `body` (fills the CRC, which covers the body). */
void walf_rec_header_encode(unsigned char out[WALF_REC_HEADER_SIZE], int64_t zxid, uint64_t batch_start,
                            const void *body, uint32_t len);

/* Names.  The *_name functions return snprintf's result. */
int walf_seg_name(char *buf, size_t n, uint64_t seq, int64_t first_zxid);
/* 0 when `name` is exactly "%08x-%016x.wal" (lowercase hex). */
int walf_parse_seg_name(const char *name, uint64_t *seq, int64_t *first_zxid);
/* Reads and checks the header of the segment at `path` (and that it agrees
 * with the file name).  0; -1 I/O error; -2 bad header; reason in err. */
int walf_seg_read_header(const char *path, WalfSegHeader *h, char *err, size_t errlen);

/* An open segment: the whole file mapped read-only. */
typedef struct WalfSegment {
    int fd;
    const unsigned char *map;     /* NULL for an empty file */
    uint64_t size;
    WalfSegHeader hdr;
} WalfSegment;

/* 0; -1 I/O error; -2 bad header (nothing left open); reason in err. */
int walf_seg_open(WalfSegment *s, const char *path, char *err, size_t errlen);
void walf_seg_close(WalfSegment *s);

typedef struct WalfRecord {
    int64_t zxid;
    uint64_t offset;              /* of the record header */
    uint64_t batch_start;
    uint32_t len;
    const unsigned char *data;    /* into the mapping */
} WalfRecord;

/* Why a segment's records stop. */
typedef enum WalfStopKind {
    WALF_STOP_CLEAN = 0,   /* only zeros (or nothing) after the last good record */
    WALF_STOP_TORN,        /* non-zero bytes after it, but no valid record of a later
                            * write unit: an unfinished last write */
    WALF_STOP_CORRUPT      /* a bad record followed by valid records of a later write
                            * unit: damage inside data that was already synced */
} WalfStopKind;

typedef struct WalfStop {
    WalfStopKind kind;
    uint64_t offset;        /* end of the last good record = where the log stops */
    int64_t last_zxid;      /* zxid of the last good record (header's prev zxid if none) */
    uint64_t nrecords;      /* good records in the segment */
    uint64_t nonzero_end;   /* one past the last non-zero byte >= offset (== offset if clean) */
    char reason[160];       /* what is wrong at `offset` (empty when clean) */
    /* Valid records found beyond `offset` (TORN or CORRUPT): */
    uint64_t n_after;
    int64_t first_after_zxid, last_after_zxid;
    uint64_t first_after_offset;
    /* CORRUPT: the first valid record of a later write unit. */
    uint64_t later_offset;
    int64_t later_zxid;
} WalfStop;

typedef struct WalfIter {
    const WalfSegment *seg;
    uint64_t off;
    int64_t last_zxid;
    uint64_t count;
    uint64_t released;            /* pages before this offset were given back */
} WalfIter;

void walf_iter_init(WalfIter *it, const WalfSegment *seg);
/* Returns 1 with the next good record in *rec, or 0 at the end with *stop
 * describing it (scanning what follows, so it may take a moment on a
 * damaged segment). */
int walf_iter_next(WalfIter *it, WalfRecord *rec, WalfStop *stop);
/* After a stop with valid records beyond it (stop->n_after): moves the
 * iterator to the first of them (stop->first_after_offset), so that
 * walf_iter_next goes on past the damage; 1, or 0 when there is nothing
 * beyond.  The records found keep their order checks (zxid after the last
 * good one).  Recovery resumes only past damage that a snapshot covers. */
int walf_iter_resume(WalfIter *it, const WalfStop *stop);

/* ---- snapshots -----------------------------------------------------------
 * File name: "snapshot.%016x.zst" of the last zxid it covers, in <dir>.
 * Written as "snapshot.%016x.tmp", synced, then renamed.
 *
 * Snapshot header, 64 bytes, then the payload (one zstd frame with its
 * own XXH64 content checksum):
 *    0  8  magic "CORRALSN"
 *    8  4  format version (1)
 *   12  4  header size (64)
 *   16  8  last zxid covered
 *   24  8  uncompressed length (the core's bytes)
 *   32  8  compressed length (payload bytes after the header)
 *   40  4  CRC32C of the payload
 *   44  4  codec: 1 = zstd
 *   48  8  creation time, Unix ms (informational)
 *   56  4  zstd level used (informational)
 *   60  4  CRC32C of bytes 0..59                                          */
#define WALF_SNAP_MAGIC "CORRALSN"
#define WALF_SNAP_HEADER_SIZE 64
#define WALF_CODEC_ZSTD 1

typedef struct WalfSnapHeader {
    uint32_t version;
    int64_t last_zxid;
    uint64_t raw_len;
    uint64_t comp_len;
    uint32_t payload_crc;
    uint32_t codec;
    int64_t created_ms;
    uint32_t level;
} WalfSnapHeader;

int walf_snap_name(char *buf, size_t n, int64_t zxid, const char *suffix /* "zst" or "tmp" */);
/* 0 when `name` is exactly "snapshot.%016x.zst". */
int walf_parse_snap_name(const char *name, int64_t *zxid);

void walf_snap_header_encode(unsigned char out[WALF_SNAP_HEADER_SIZE], const WalfSnapHeader *h);
int walf_snap_header_decode(const void *in, size_t len, WalfSnapHeader *h, char *err, size_t errlen);

/* Compresses `data` with zstd at `level` and writes header + payload to fd
 * from offset 0 (streaming: memory use stays small).  Does not sync.
 * 0 with the file size in *file_size, or -1 with err (errno as the failing
 * call left it: ENOSPC tells a full disk). */
int walf_snapshot_write(int fd, int64_t last_zxid, const void *data, size_t len, int level,
                        uint64_t *file_size, char *err, size_t errlen);
/* Checks header and payload CRC without decompressing.  0, -1 I/O, -2 bad. */
int walf_snapshot_verify(const char *path, WalfSnapHeader *h, char *err, size_t errlen);
/* Checks everything and decompresses: *data (malloc'd; the caller frees)
 * holds h->raw_len bytes.  0, -1 I/O or memory, -2 bad. */
int walf_snapshot_read(const char *path, WalfSnapHeader *h, void **data, size_t *len, char *err, size_t errlen);

#endif
