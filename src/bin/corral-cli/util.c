/*
 * src/bin/corral-cli/util.c: output helpers, StatPrinter, Java-compatible
 * path validation and string vectors for corral-cli.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

bool g_mask = false;

/* ---- string vectors ----------------------------------------------------------- */
void sv_push_n(StrVec *s, const char *str, size_t n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->v = xrealloc(s->v, (size_t)s->cap * sizeof(char *));
    }
    s->v[s->n++] = xstrndup(str, n);
}

void sv_push(StrVec *s, const char *str)
{
    sv_push_n(s, str, strlen(str));
}

int sv_find(const StrVec *s, const char *str)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return i;
    return -1;
}

bool sv_remove(StrVec *s, const char *str)
{
    int i = sv_find(s, str);
    if (i < 0)
        return false;
    free(s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (size_t)(s->n - i - 1) * sizeof(char *));
    s->n--;
    return true;
}

void sv_clear(StrVec *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

void sv_free(StrVec *s)
{
    sv_clear(s);
    free(s->v);
    s->v = NULL;
    s->cap = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void sv_sort(StrVec *s)
{
    if (s->n > 1)
        qsort(s->v, (size_t)s->n, sizeof(char *), cmp_str);
}

/* ---- output --------------------------------------------------------------------- */
void out_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
}

void out_write(const void *p, size_t n)
{
    if (n)
        fwrite(p, 1, n, stdout);
}

void err_printf(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
}

void out_flush(void)
{
    fflush(stdout);
}

/*
 * Length of the valid UTF-8 sequence at p (1..4), or -k where k >= 1 is the
 * number of bytes Java's decoder (new String(bytes, UTF_8)) replaces by one
 * U+FFFD: the Unicode "maximal subpart", except that an encoded surrogate
 * (ED A0..BF xx) is one malformed 3-byte sequence for Java.
 */
static int utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        if (b == 0xe0)
            lo = 0xa0;
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return -1;
    }
    uint32_t v = b & (need == 1 ? 0x1f : need == 2 ? 0x0f : 0x07);
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n)
            return -i;
        unsigned char c = p[i];
        unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
        if (c < l || c > h)
            return -i;
        v = (v << 6) | (c & 0x3f);
    }
    if (v >= 0xd800 && v <= 0xdfff)
        return -3;
    *cp = v;
    return need + 1;
}

void out_java_bytes(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, start = 0;
    while (i < n) {
        uint32_t cp;
        int k = utf8_seq(s + i, n - i, &cp);
        if (k > 0) {
            i += (size_t)k;
            continue;
        }
        out_write(s + start, i - start);
        out_write("\xef\xbf\xbd", 3);
        i += (size_t)-k;
        start = i;
    }
    out_write(s + start, n - start);
}

void format_java_date(int64_t ms, char *buf, size_t len)
{
    int64_t secs = ms / 1000;
    if (ms % 1000 < 0)
        secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%a %b %d %H:%M:%S %Z %Y", &tm) == 0)
        snprintf(buf, len, "%" PRId64, ms);
}

void print_stat(const Stat *st)
{
    char ct[64], mt[64];
    if (g_mask) {
        strcpy(ct, "<time>");
        strcpy(mt, "<time>");
    } else {
        format_java_date(st->ctime, ct, sizeof(ct));
        format_java_date(st->mtime, mt, sizeof(mt));
    }
    out_printf("cZxid = 0x%" PRIx64 "\n", (uint64_t)st->czxid);
    out_printf("ctime = %s\n", ct);
    out_printf("mZxid = 0x%" PRIx64 "\n", (uint64_t)st->mzxid);
    out_printf("mtime = %s\n", mt);
    out_printf("pZxid = 0x%" PRIx64 "\n", (uint64_t)st->pzxid);
    out_printf("cversion = %d\n", st->cversion);
    out_printf("dataVersion = %d\n", st->version);
    out_printf("aclVersion = %d\n", st->aversion);
    if (g_mask && st->ephemeralOwner != 0)
        out_printf("ephemeralOwner = <session>\n");
    else
        out_printf("ephemeralOwner = 0x%" PRIx64 "\n", (uint64_t)st->ephemeralOwner);
    out_printf("dataLength = %d\n", st->dataLength);
    out_printf("numChildren = %d\n", st->numChildren);
}

/* ToStringOutputArchive.escapeString: a leading quote, then %-escapes. */
static void jute_escape(CorralStrbuf *sb, ZkBytes b)
{
    if (b.len < 0)
        return;             /* null prints as "" */
    corral_strbuf_puts(sb, "'");
    for (int32_t i = 0; i < b.len; i++) {
        char c = b.data[i];
        switch (c) {
        case '\0': corral_strbuf_puts(sb, "%00"); break;
        case '\n': corral_strbuf_puts(sb, "%0A"); break;
        case '\r': corral_strbuf_puts(sb, "%0D"); break;
        case ',': corral_strbuf_puts(sb, "%2C"); break;
        case '}': corral_strbuf_puts(sb, "%7D"); break;
        case '%': corral_strbuf_puts(sb, "%25"); break;
        default: corral_strbuf_append(sb, &c, 1); break;
        }
    }
}

void format_jute_id(CorralStrbuf *sb, const Id *id)
{
    jute_escape(sb, id->scheme);
    corral_strbuf_puts(sb, ",");
    jute_escape(sb, id->id);
    corral_strbuf_puts(sb, "\n");
}

void format_perms(int perms, char *buf)
{
    char *p = buf;
    if (perms & ZOO_PERM_CREATE)
        *p++ = 'c';
    if (perms & ZOO_PERM_DELETE)
        *p++ = 'd';
    if (perms & ZOO_PERM_READ)
        *p++ = 'r';
    if (perms & ZOO_PERM_WRITE)
        *p++ = 'w';
    if (perms & ZOO_PERM_ADMIN)
        *p++ = 'a';
    *p = '\0';
}

/* ---- PathUtils.validatePath ------------------------------------------------------- */
static char *path_msg(const char *fmt, const char *path, const char *reason, size_t at)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (path)
        corral_strbuf_printf(&sb, fmt, path, reason, at);
    else
        corral_strbuf_puts(&sb, fmt);
    return sb.data;
}

char *java_path_error(const char *path_in, bool sequential)
{
    if (path_in == NULL)
        return xstrdup("Path cannot be null");
    CorralStrbuf full = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&full, path_in);
    if (sequential)
        corral_strbuf_puts(&full, "1");
    const char *path = full.data;
    size_t blen = full.len;

    /* Java works on UTF-16 code units; decode (malformed -> U+FFFD). */
    uint16_t *u = xmalloc((blen + 1) * sizeof(uint16_t));
    size_t n = 0;
    for (size_t i = 0; i < blen;) {
        uint32_t cp;
        int k = utf8_seq((const unsigned char *)path + i, blen - i, &cp);
        if (k < 0) {
            u[n++] = 0xfffd;
            i += (size_t)-k;
        } else {
            if (cp >= 0x10000) {
                cp -= 0x10000;
                u[n++] = (uint16_t)(0xd800 + (cp >> 10));
                u[n++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
            } else {
                u[n++] = (uint16_t)cp;
            }
            i += (size_t)k;
        }
    }

    char *msg = NULL;
    const char *reason = NULL;
    size_t at = 0;
    if (n == 0) {
        msg = xstrdup("Path length must be > 0");
        goto out;
    }
    if (u[0] != '/') {
        msg = xstrdup("Path must start with / character");
        goto out;
    }
    if (n == 1)
        goto out;
    if (u[n - 1] == '/') {
        msg = xstrdup("Path must not end with / character");
        goto out;
    }
    uint16_t lastc = '/';
    for (size_t i = 1; i < n; lastc = u[i], i++) {
        uint16_t c = u[i];
        if (c == 0) {
            reason = "null character not allowed @";
        } else if (c == '/' && lastc == '/') {
            reason = "empty node name specified @";
        } else if (c == '.' && lastc == '.') {
            if (u[i - 2] == '/' && (i + 1 == n || u[i + 1] == '/'))
                reason = "relative paths not allowed @";
        } else if (c == '.') {
            if (u[i - 1] == '/' && (i + 1 == n || u[i + 1] == '/'))
                reason = "relative paths not allowed @";
        } else if ((c > 0 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
                   (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0) {
            reason = "invalid character @";
        }
        if (reason) {
            at = i;
            break;
        }
    }
    if (reason)
        msg = path_msg("Invalid path string \"%s\" caused by %s%zu", path, reason, at);
out:
    free(u);
    corral_strbuf_free(&full);
    return msg;
}
