/*
 * src/backend/utils/strbuf.c: growable byte buffer (see corral/strbuf.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/strbuf.h"
#include "utils/alloc.h"

void corral_strbuf_reserve(CorralStrbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap *= 2;
    sb->data = xrealloc(sb->data, cap);
    sb->cap = cap;
}

void corral_strbuf_append(CorralStrbuf *sb, const void *data, size_t len)
{
    corral_strbuf_reserve(sb, len);
    if (len)
        memcpy(sb->data + sb->len, data, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void corral_strbuf_puts(CorralStrbuf *sb, const char *s) { corral_strbuf_append(sb, s, strlen(s)); }

void corral_strbuf_vprintf(CorralStrbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    corral_strbuf_reserve(sb, 64);
    int n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
    if (n >= 0 && (size_t)n >= sb->cap - sb->len) {
        corral_strbuf_reserve(sb, (size_t)n);
        n = vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
    }
    va_end(ap2);
    if (n > 0)
        sb->len += (size_t)n;
}

void corral_strbuf_printf(CorralStrbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral_strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void corral_strbuf_reset(CorralStrbuf *sb)
{
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

void corral_strbuf_free(CorralStrbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}
