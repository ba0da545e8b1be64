/*
 * src/backend/wire/wire.c: jute buffer primitives and frame helpers.
 * See wire.h for the contracts.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "utils/alloc.h"
#include "wire/wire.h"

/* ---- ZkBytes ---------------------------------------------------------------- */

ZkBytes zk_bytes_cstr(const char *s)
{
    if (s == NULL)
        return ZK_BYTES_NULL;
    return zk_bytes_make(s, strlen(s));
}

ZkBytes zk_bytes_make(const void *p, size_t len)
{
    ZkBytes b;
    if (len > INT32_MAX)
        len = INT32_MAX;
    b.data = p;
    b.len = (int32_t)len;
    return b;
}

bool zk_bytes_eq(ZkBytes a, ZkBytes b)
{
    if (a.len < 0 || b.len < 0)
        return a.len < 0 && b.len < 0;
    if (a.len != b.len)
        return false;
    return a.len == 0 || memcmp(a.data, b.data, (size_t)a.len) == 0;
}

bool zk_bytes_eq_cstr(ZkBytes a, const char *s)
{
    if (s == NULL)
        return a.len < 0;
    if (a.len < 0)
        return false;
    size_t n = strlen(s);
    return (size_t)a.len == n && (n == 0 || memcmp(a.data, s, n) == 0);
}

char *zk_bytes_strdup(ZkBytes b)
{
    if (b.len <= 0)
        return xstrdup("");
    return xstrndup(b.data, (size_t)b.len);
}

/* ---- writer ----------------------------------------------------------------- */

void wbuf_init(WBuf *w)
{
    w->data = NULL;
    w->len = 0;
    w->cap = 0;
}

void wbuf_free(WBuf *w)
{
    free(w->data);
    wbuf_init(w);
}

void wbuf_reset(WBuf *w)
{
    w->len = 0;
}

void wbuf_reserve(WBuf *w, size_t extra)
{
    if (extra <= w->cap - w->len)
        return;
    size_t need = w->len + extra;
    if (need < w->len)
        abort();                    /* size_t overflow: cannot happen in practice */
    size_t cap = w->cap ? w->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    w->data = xrealloc(w->data, cap);
    w->cap = cap;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void wbuf_put_int(WBuf *w, int32_t v)
{
    wbuf_reserve(w, 4);
    put_be32(w->data + w->len, (uint32_t)v);
    w->len += 4;
}

void wbuf_put_long(WBuf *w, int64_t v)
{
    wbuf_reserve(w, 8);
    put_be32(w->data + w->len, (uint32_t)((uint64_t)v >> 32));
    put_be32(w->data + w->len + 4, (uint32_t)(uint64_t)v);
    w->len += 8;
}

void wbuf_put_bool(WBuf *w, int v)
{
    wbuf_reserve(w, 1);
    w->data[w->len++] = v ? 1 : 0;
}

void wbuf_put_raw(WBuf *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    wbuf_reserve(w, n);
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void wbuf_put_bytes(WBuf *w, ZkBytes b)
{
    if (b.len < 0 || (b.len > 0 && b.data == NULL)) {
        wbuf_put_int(w, -1);
        return;
    }
    wbuf_put_int(w, b.len);
    wbuf_put_raw(w, b.data, (size_t)b.len);
}

void wbuf_patch_int(WBuf *w, size_t off, int32_t v)
{
    if (off > w->len || w->len - off < 4)
        abort();                    /* caller bug */
    put_be32(w->data + off, (uint32_t)v);
}

size_t wbuf_begin_frame(WBuf *w)
{
    size_t off = w->len;
    wbuf_put_int(w, 0);
    return off;
}

void wbuf_end_frame(WBuf *w, size_t off)
{
    size_t body = w->len - off - 4;
    if (off > w->len || w->len - off < 4 || body > INT32_MAX)
        abort();                    /* caller bug */
    put_be32(w->data + off, (uint32_t)body);
}

/* ---- reader ----------------------------------------------------------------- */

void rbuf_init(RBuf *r, const void *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
    r->err = 0;
}

size_t rbuf_remaining(const RBuf *r)
{
    if (r->err || r->pos > r->len)
        return 0;
    return r->len - r->pos;
}

/* Claims n bytes; NULL and err set if they are not all there. */
static const uint8_t *take(RBuf *r, size_t n)
{
    if (r->err)
        return NULL;
    if (n > rbuf_remaining(r)) {
        r->err = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

int32_t rbuf_get_int(RBuf *r)
{
    const uint8_t *q = take(r, 4);
    return q ? (int32_t)get_be32(q) : 0;
}

int64_t rbuf_get_long(RBuf *r)
{
    const uint8_t *q = take(r, 8);
    if (!q)
        return 0;
    return (int64_t)(((uint64_t)get_be32(q) << 32) | get_be32(q + 4));
}

int rbuf_get_bool(RBuf *r)
{
    const uint8_t *q = take(r, 1);
    return q ? (*q != 0) : 0;
}

const uint8_t *rbuf_get_raw(RBuf *r, size_t n)
{
    return take(r, n);
}

ZkBytes rbuf_get_bytes(RBuf *r)
{
    int32_t n = rbuf_get_int(r);
    if (r->err)
        return ZK_BYTES_NULL;
    if (n == -1)
        return ZK_BYTES_NULL;
    if (n < -1) {
        r->err = 1;
        return ZK_BYTES_NULL;
    }
    const uint8_t *q = take(r, (size_t)n);
    if (!q)
        return ZK_BYTES_NULL;
    ZkBytes b = {(const char *)q, n};
    return b;
}

/* ---- frames ----------------------------------------------------------------- */

int wire_next_frame(const uint8_t *buf, size_t len, size_t max_len,
                    const uint8_t **frame, size_t *flen, size_t *consumed)
{
    if (len < 4)
        return 0;
    int32_t n = (int32_t)get_be32(buf);
    if (n < 0 || (size_t)n > max_len)
        return -1;
    if (len - 4 < (size_t)n)
        return 0;
    *frame = buf + 4;
    *flen = (size_t)n;
    *consumed = 4 + (size_t)n;
    return 1;
}

/* ---- dumps ------------------------------------------------------------------ */

void wire_dump_bytes(CorralStrbuf *out, ZkBytes b, size_t max)
{
    if (b.len < 0) {
        corral_strbuf_puts(out, "null");
        return;
    }
    size_t n = (size_t)b.len;
    size_t shown = (max > 0 && n > max) ? max : n;
    const unsigned char *s = (const unsigned char *)b.data;
    char tmp[8];

    corral_strbuf_reserve(out, shown + 2);
    corral_strbuf_append(out, "\"", 1);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            corral_strbuf_append(out, tmp, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            corral_strbuf_append(out, &s[i], 1);
        } else {
            static const char hex[] = "0123456789abcdef";
            tmp[0] = '\\';
            tmp[1] = 'x';
            tmp[2] = hex[c >> 4];
            tmp[3] = hex[c & 15];
            corral_strbuf_append(out, tmp, 4);
        }
    }
    corral_strbuf_append(out, "\"", 1);
    if (shown < n)
        corral_strbuf_printf(out, "...(%zu bytes)", n);
}
