/*
 * src/modules/admin_http/json.c: the JSON writer (see json.h).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "../fourlw/fourlw_format.h"
#include "json.h"

void json_init(Json *j, CorralStrbuf *sb)
{
    memset(j, 0, sizeof *j);
    j->sb = sb;
}

static void indent(Json *j, int depth)
{
    corral_strbuf_puts(j->sb, "\n");
    for (int i = 0; i < depth; i++)
        corral_strbuf_puts(j->sb, "  ");
}

/* Separator and indentation before a value (or, in an object, a key). */
static void before_value(Json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    int d = j->depth - 1;
    if (j->kind[d] == '{') {
        if (j->count[d])
            corral_strbuf_puts(j->sb, ",");
        indent(j, j->depth);
    } else {
        corral_strbuf_puts(j->sb, j->count[d] ? ", " : " ");
    }
    j->count[d]++;
}

void json_mark(const Json *j, JsonMark *m)
{
    m->len = j->sb->len;
    m->state = *j;
}

int json_keep(Json *j, const JsonMark *m)
{
    if (j->truncated)
        return 0;
    if (!j->max || j->sb->len <= j->max)
        return 1;
    *j = m->state;
    j->sb->len = m->len;
    j->sb->data[m->len] = '\0';
    j->truncated = 1;
    j->skip = 0;
    return 0;
}

static void open_level(Json *j, char kind)
{
    if (j->truncated) {
        j->skip++;
        return;
    }
    before_value(j);
    corral_strbuf_append(j->sb, kind == '{' ? "{" : "[", 1);
    if (j->depth < JSON_MAX_DEPTH) {
        j->kind[j->depth] = kind;
        j->count[j->depth] = 0;
    }
    j->depth++;
}

void json_obj_begin(Json *j) { open_level(j, '{'); }
void json_arr_begin(Json *j) { open_level(j, '['); }

/* A level opened while truncated was not written: nor is its end. */
static int skipped_end(Json *j)
{
    if (!j->truncated || !j->skip)
        return 0;
    j->skip--;
    return 1;
}

void json_obj_end(Json *j)
{
    if (skipped_end(j))
        return;
    j->depth--;
    if (j->count[j->depth])
        indent(j, j->depth);
    else
        corral_strbuf_puts(j->sb, " ");
    corral_strbuf_puts(j->sb, "}");
}

void json_arr_end(Json *j)
{
    if (skipped_end(j))
        return;
    j->depth--;
    corral_strbuf_puts(j->sb, " ]");
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

void json_quote(CorralStrbuf *sb, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    corral_strbuf_puts(sb, "\"");
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            corral_strbuf_append(sb, "\\", 1);
            corral_strbuf_append(sb, &s[i], 1);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': corral_strbuf_puts(sb, "\\n"); break;
            case '\r': corral_strbuf_puts(sb, "\\r"); break;
            case '\t': corral_strbuf_puts(sb, "\\t"); break;
            case '\b': corral_strbuf_puts(sb, "\\b"); break;
            case '\f': corral_strbuf_puts(sb, "\\f"); break;
            default: corral_strbuf_printf(sb, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            corral_strbuf_append(sb, &s[i], 1);
            i++;
        } else {
            size_t n = utf8_len(s + i, len - i);
            if (n) {
                corral_strbuf_append(sb, &s[i], n);
                i += n;
            } else {
                corral_strbuf_puts(sb, "\\ufffd");
                i++;
            }
        }
    }
    corral_strbuf_puts(sb, "\"");
}

void json_keyn(Json *j, const char *key, size_t len)
{
    if (j->truncated)
        return;
    before_value(j);
    json_quote(j->sb, key, len);
    corral_strbuf_puts(j->sb, " : ");
    j->after_key = 1;
}

void json_key(Json *j, const char *key) { json_keyn(j, key, strlen(key)); }

void json_strn(Json *j, const char *s, size_t len)
{
    if (j->truncated)
        return;
    before_value(j);
    json_quote(j->sb, s, len);
}

void json_str(Json *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    json_strn(j, s, strlen(s));
}

void json_int(Json *j, int64_t v)
{
    if (j->truncated)
        return;
    before_value(j);
    corral_strbuf_printf(j->sb, "%" PRId64, v);
}

void json_double(Json *j, double v)
{
    if (j->truncated)
        return;
    before_value(j);
    if (isnan(v) || isinf(v))
        corral_strbuf_puts(j->sb, "null");   /* not representable in JSON */
    else
        fourlw_java_double(j->sb, v);
}

void json_bool(Json *j, int v)
{
    if (j->truncated)
        return;
    before_value(j);
    corral_strbuf_puts(j->sb, v ? "true" : "false");
}

void json_null(Json *j)
{
    if (j->truncated)
        return;
    before_value(j);
    corral_strbuf_puts(j->sb, "null");
}

void json_kstr(Json *j, const char *key, const char *s)
{
    json_key(j, key);
    json_str(j, s);
}

void json_kint(Json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_int(j, v);
}

void json_kdouble(Json *j, const char *key, double v)
{
    json_key(j, key);
    json_double(j, v);
}

void json_kbool(Json *j, const char *key, int v)
{
    json_key(j, key);
    json_bool(j, v);
}
