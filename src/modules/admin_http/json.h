/*
 * src/modules/admin_http/json.h: a streaming JSON writer for the admin
 * endpoint's answers, indented as ZooKeeper's AdminServer (Jackson's
 * INDENT_OUTPUT) writes them:
 *
 *   {
 *     "key" : "value",
 *     "list" : [ 1, 2 ],
 *     "empty" : { }
 *   }
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 (znode
 * paths are bytes to the server) become U+FFFD, so the output always
 * parses.
 */
#ifndef CORRAL_ADMIN_JSON_H
#define CORRAL_ADMIN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "corral/strbuf.h"

#if defined(__GNUC__)
#define JSON_HIDDEN __attribute__((visibility("hidden")))
#else
#define JSON_HIDDEN
#endif

#define JSON_MAX_DEPTH 32

typedef struct Json {
    CorralStrbuf *sb;
    int depth;
    char kind[JSON_MAX_DEPTH];    /* '{' or '[' */
    int count[JSON_MAX_DEPTH];    /* members written at each level */
    int after_key;
    size_t max;                   /* the answer's cap in bytes (json_keep); 0 = none */
    int truncated;                /* json_keep refused an item: see below */
    int skip;                     /* levels opened while truncated */
} Json;

JSON_HIDDEN void json_init(Json *j, CorralStrbuf *sb);

/* Answers with a size cap (modules.admin_http.max_answer_bytes).  Mark
 * before writing an item (an array element, an object member with its
 * value); json_keep then says 1 when the answer is still within j->max.
 * Otherwise it takes the item back, sets j->truncated and says 0: the
 * caller stops its walk.  While truncated, keys, values and new levels
 * are not written; the ends of the levels open at the truncation are, so
 * the answer stays valid JSON.  Clear j->truncated to write again. */
typedef struct JsonMark {
    size_t len;
    Json state;
} JsonMark;
JSON_HIDDEN void json_mark(const Json *j, JsonMark *m);
JSON_HIDDEN int json_keep(Json *j, const JsonMark *m);
JSON_HIDDEN void json_obj_begin(Json *j);
JSON_HIDDEN void json_obj_end(Json *j);
JSON_HIDDEN void json_arr_begin(Json *j);
JSON_HIDDEN void json_arr_end(Json *j);
JSON_HIDDEN void json_key(Json *j, const char *key);
JSON_HIDDEN void json_keyn(Json *j, const char *key, size_t len);
JSON_HIDDEN void json_str(Json *j, const char *s);          /* NULL writes null */
JSON_HIDDEN void json_strn(Json *j, const char *s, size_t len);
JSON_HIDDEN void json_int(Json *j, int64_t v);
JSON_HIDDEN void json_double(Json *j, double v);             /* Java's Double.toString, as Jackson */
JSON_HIDDEN void json_bool(Json *j, int v);
JSON_HIDDEN void json_null(Json *j);
/* Shorthands: key + value. */
JSON_HIDDEN void json_kstr(Json *j, const char *key, const char *s);
JSON_HIDDEN void json_kint(Json *j, const char *key, int64_t v);
JSON_HIDDEN void json_kdouble(Json *j, const char *key, double v);
JSON_HIDDEN void json_kbool(Json *j, const char *key, int v);

/* Appends s as a JSON string literal (quotes included). */
JSON_HIDDEN void json_quote(CorralStrbuf *sb, const char *s, size_t len);

#endif
