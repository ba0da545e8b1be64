/*
 * src/backend/wire/wire.h: jute wire primitives shared by corrald and tools.
 *
 * Encoding (ZooKeeper's BinaryOutputArchive): big endian; int = 4 bytes,
 * long = 8, boolean = 1 byte (0/1; any non-zero reads as true), ustring and
 * buffer = int length + bytes (length -1 = null), vector = int count + items
 * (count -1 = null).  Every message on a client connection is a frame: a
 * 4-byte big-endian body length followed by the body.
 *
 * Writers (WBuf) never fail: memory comes from xrealloc, which aborts on OOM.
 * Readers (RBuf) never read past the end: the first short or malformed read
 * sets r->err, and from then on every get returns 0 ({NULL,-1} for bytes)
 * and leaves err set, so a decoder may read a whole record and check err
 * once at the end.
 *
 * The record codecs generated from zookeeper.jute live in "jute_records.h"
 * (built into $(BUILD)/gen).  Protocol constants are in "wire/zk_proto.h",
 * included here.
 */
#ifndef CORRAL_WIRE_WIRE_H
#define CORRAL_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corral/strbuf.h"
#include "wire/zk_proto.h"

/*
 * A jute ustring or buffer.  len == -1 means null (data is then NULL).
 * Decoded values point INTO the frame they were read from (zero copy, not
 * NUL terminated); when encoding, data points to caller memory.  A decoded
 * empty (len 0) value has a non-NULL data pointer.
 */
typedef struct ZkBytes {
    const char *data;
    int32_t len;
} ZkBytes;

#define ZK_BYTES_NULL ((ZkBytes){NULL, -1})

ZkBytes zk_bytes_cstr(const char *s);              /* {s, strlen(s)}, or null for NULL */
ZkBytes zk_bytes_make(const void *p, size_t len);  /* {p, len}; len must fit int32 */
static inline bool zk_bytes_is_null(ZkBytes b) { return b.len < 0; }
/* Equal contents; two nulls are equal, null differs from empty. */
bool zk_bytes_eq(ZkBytes a, ZkBytes b);
bool zk_bytes_eq_cstr(ZkBytes a, const char *s);
/* NUL-terminated malloc'd copy (xmalloc; never NULL; "" for null). */
char *zk_bytes_strdup(ZkBytes b);

/* ---- writer ---------------------------------------------------------------- */
typedef struct WBuf {
    uint8_t *data;
    size_t len, cap;
} WBuf;

#define WBUF_INIT {NULL, 0, 0}

void wbuf_init(WBuf *w);
void wbuf_free(WBuf *w);       /* releases memory; w is then empty and reusable */
void wbuf_reset(WBuf *w);      /* len = 0, keeps memory */
void wbuf_reserve(WBuf *w, size_t extra);
void wbuf_put_int(WBuf *w, int32_t v);
void wbuf_put_long(WBuf *w, int64_t v);
void wbuf_put_bool(WBuf *w, int v);            /* writes 1 for any non-zero */
void wbuf_put_bytes(WBuf *w, ZkBytes b);       /* len (-1 for null) + bytes */
void wbuf_put_raw(WBuf *w, const void *p, size_t n);
/* Overwrite 4 bytes at off (which must be <= len - 4) with v, big endian. */
void wbuf_patch_int(WBuf *w, size_t off, int32_t v);

/*
 * Framing: off = wbuf_begin_frame(w); ...put the body...; wbuf_end_frame(w, off).
 * begin reserves the 4-byte length prefix and returns its offset; end patches
 * it with the number of bytes written since.  Frames may follow one another
 * in one WBuf (pipelined replies).
 */
size_t wbuf_begin_frame(WBuf *w);
void wbuf_end_frame(WBuf *w, size_t off);

/* ---- reader ---------------------------------------------------------------- */
typedef struct RBuf {
    const uint8_t *p;
    size_t len, pos;
    int err;            /* sticky: once set, every get returns 0 and err stays set */
} RBuf;

void rbuf_init(RBuf *r, const void *p, size_t len);
int32_t rbuf_get_int(RBuf *r);
int64_t rbuf_get_long(RBuf *r);
int rbuf_get_bool(RBuf *r);                    /* 0 or 1 (any non-zero byte is 1) */
/* Bounds checked: a length < -1, or one running past the end, sets err
 * and returns {NULL,-1}.  The result points into r's memory. */
ZkBytes rbuf_get_bytes(RBuf *r);
/* n raw bytes, or NULL (and err set) if fewer remain. */
const uint8_t *rbuf_get_raw(RBuf *r, size_t n);
size_t rbuf_remaining(const RBuf *r);           /* 0 once err is set */
static inline bool rbuf_at_end(const RBuf *r) { return !r->err && r->pos == r->len; }

/* ---- frames ---------------------------------------------------------------- */
/*
 * Looks at an input buffer.  Returns 1 and sets *frame and *flen if a complete
 * frame (4-byte BE length + body) is at the start, 0 if more bytes are
 * needed, -1 if the length is negative or > max_len.  On 1, *consumed =
 * 4 + flen.  Output pointers are only written when 1 is returned.
 */
int wire_next_frame(const uint8_t *buf, size_t len, size_t max_len,
                    const uint8_t **frame, size_t *flen, size_t *consumed);

/*
 * ZooKeeper's default jute.maxbuffer (0xfffff): the largest ustring/buffer
 * a stock server accepts.  A server adds some slack for the rest of the
 * packet when it bounds frames.
 */
#define WIRE_JUTE_MAXBUFFER_DEFAULT 0xfffff

/* ---- dump helpers (used by the generated jute_dump_* functions) ------------- */
/* Buffers in dumps are cut after this many bytes. */
#define WIRE_DUMP_BUFFER_MAX 64
/*
 * Appends b as a double-quoted string: printable ASCII as is, '"' and '\\'
 * backslash-escaped, anything else as \xNN.  null prints as null.  If max > 0
 * and b is longer, only max bytes are shown, followed by "...(N bytes)".
 */
void wire_dump_bytes(CorralStrbuf *out, ZkBytes b, size_t max);

#endif /* CORRAL_WIRE_WIRE_H */
