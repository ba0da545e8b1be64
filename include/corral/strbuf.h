/*
 * include/corral/strbuf.h: a growable byte buffer, used for text that modules
 * hand back to the core (four-letter-word answers, metrics expositions).
 *
 * Allocation failure aborts the process (out of memory is not recoverable in a
 * server that must not lose writes half-way); so no call here returns an
 * error.  The buffer is always NUL terminated after `len` bytes.
 */
#ifndef CORRAL_STRBUF_H
#define CORRAL_STRBUF_H

#include <stddef.h>
#include <stdarg.h>

typedef struct CorralStrbuf {
    char *data;
    size_t len;
    size_t cap;
} CorralStrbuf;

#define CORRAL_STRBUF_INIT {NULL, 0, 0}

void corral_strbuf_reserve(CorralStrbuf *sb, size_t extra);
void corral_strbuf_append(CorralStrbuf *sb, const void *data, size_t len);
void corral_strbuf_puts(CorralStrbuf *sb, const char *s);
void corral_strbuf_printf(CorralStrbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void corral_strbuf_vprintf(CorralStrbuf *sb, const char *fmt, va_list ap);
void corral_strbuf_reset(CorralStrbuf *sb);   /* len = 0, keeps memory */
void corral_strbuf_free(CorralStrbuf *sb);    /* releases memory, back to INIT */

#endif
