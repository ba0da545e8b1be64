/*
 * src/bin/corralctl/cmd_storage.c: reading the files of the storage_file
 * module without a server (ZooKeeper's zkTxnLogToolkit and
 * zkSnapShotToolkit are the model).
 *
 *     corralctl wal-dump DIR|FILE [--json]
 *     corralctl snapshot-dump FILE [--json] [--data]
 *     corralctl verify DATA_DIR [--json]
 *
 * The files are read with storage_file's own code (wal_format.c, compiled in
 * through wal_format_link.c): the same CRC32C, the same segment iterator that
 * tells a clean end from a torn tail from damage, the same snapshot checks.
 * Transactions are decoded with the generated jute readers (libcorral_common)
 * and the core's snapshot payload is parsed as src/backend/server/snapshot.c
 * writes it.  `verify` applies the recovery rules of storage_file.c
 * (doc/storage.md, "Recovery") without changing anything on disk, and words
 * its findings as the server's messages would be.
 *
 * Nothing here writes to the data directory.  doc/storage-tools.md is the
 * user documentation (output formats, exit codes).
 *
 * Exit status: 0 everything read is sound; 1 damage, a torn tail, a file
 * that cannot be read, or (verify) recovery would fail or truncate; 2 bad
 * usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corralctl.h"
#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/zk_proto.h"
#include "../../modules/storage_file/wal_format.h"

#define SNAP_MAGIC "CRLSNAP1"        /* the core's payload, src/backend/server/snapshot.c */
#define TEXT_DATA_MAX 64             /* bytes of data shown per value in text output */
#define MAX_MULTI_DEPTH 4

/* ---- output helpers ------------------------------------------------------ */

static void emit(CorralStrbuf *sb)
{
    corral_strbuf_append(sb, "\n", 1);
    fwrite(sb->data, 1, sb->len, stdout);
    corral_strbuf_reset(sb);
}

static void fmt_time(char *buf, size_t n, int64_t ms)
{
    time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)s * 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm)) {
        snprintf(buf, n, "%" PRId64 "ms", ms);
        return;
    }
    char d[32];
    strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", d, frac);
}

/* A JSON string from bytes that are text (paths, schemes, ids): valid UTF-8
 * sequences pass through, control characters and bytes that are not UTF-8
 * become \u00XX escapes. */
static void json_text(CorralStrbuf *sb, const void *p, int32_t len)
{
    if (len < 0 || !p) {
        corral_strbuf_puts(sb, "null");
        return;
    }
    const unsigned char *s = p;
    corral_strbuf_append(sb, "\"", 1);
    for (int32_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            corral_strbuf_append(sb, t, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            corral_strbuf_append(sb, &s[i], 1);
        } else if (c >= 0xc2 && c <= 0xf4) {
            int n = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3, ok = i + n < len;
            for (int k = 1; ok && k <= n; k++)
                ok = (s[i + k] & 0xc0) == 0x80;
            if (ok) {
                corral_strbuf_append(sb, &s[i], (size_t)n + 1);
                i += n;
            } else {
                corral_strbuf_printf(sb, "\\u%04x", c);
            }
        } else {
            corral_strbuf_printf(sb, "\\u%04x", c);
        }
    }
    corral_strbuf_append(sb, "\"", 1);
}

/* A JSON string from arbitrary bytes (znode data): each byte is the code
 * point of the same value (ISO-8859-1), so the bytes come back exactly with
 * Python's s.encode('latin-1'). */
static void json_bytes(CorralStrbuf *sb, const void *p, int32_t len)
{
    if (len < 0 || !p) {
        corral_strbuf_puts(sb, "null");
        return;
    }
    const unsigned char *s = p;
    corral_strbuf_reserve(sb, (size_t)len + 2);
    corral_strbuf_append(sb, "\"", 1);
    for (int32_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            corral_strbuf_append(sb, t, 2);
        } else if (c >= 0x20 && c < 0x7f) {
            corral_strbuf_append(sb, &s[i], 1);
        } else {
            corral_strbuf_printf(sb, "\\u%04x", c);
        }
    }
    corral_strbuf_append(sb, "\"", 1);
}

static void json_cstr(CorralStrbuf *sb, const char *s)
{
    json_text(sb, s, (int32_t)strlen(s));
}

static void json_key(CorralStrbuf *sb, const char *key)
{
    if (sb->len && sb->data[sb->len - 1] != '{' && sb->data[sb->len - 1] != '[')
        corral_strbuf_append(sb, ",", 1);
    corral_strbuf_printf(sb, "\"%s\":", key);
}

static void json_kstr(CorralStrbuf *sb, const char *key, const char *v)
{
    json_key(sb, key);
    json_cstr(sb, v);
}

static void json_khex(CorralStrbuf *sb, const char *key, int64_t v)
{
    json_key(sb, key);
    corral_strbuf_printf(sb, "\"0x%" PRIx64 "\"", (uint64_t)v);
}

static void json_kint(CorralStrbuf *sb, const char *key, int64_t v)
{
    json_key(sb, key);
    corral_strbuf_printf(sb, "%" PRId64, v);
}

static void json_kbool(CorralStrbuf *sb, const char *key, int v)
{
    json_key(sb, key);
    corral_strbuf_puts(sb, v ? "true" : "false");
}

/* Text: "..." with printable ASCII, \xNN otherwise, cut after max bytes. */
static void text_bytes(CorralStrbuf *sb, ZkBytes b, size_t max)
{
    wire_dump_bytes(sb, b, max);
}

/* ---- arguments ----------------------------------------------------------- */

typedef struct Args {
    int json, data;
    const char *path;
} Args;

/* Own options only (the global -s/--timeout mean nothing here).  Returns -1
 * (usage error printed), 0, or 1 for --help (printed). */
static int parse_args(int argc, char **argv, int allow_data, void (*usage)(FILE *), Args *a)
{
    int dashdash = 0;
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!dashdash && strcmp(s, "--") == 0) {
            dashdash = 1;
        } else if (!dashdash && (strcmp(s, "--json") == 0 || strcmp(s, "-j") == 0)) {
            a->json = 1;
        } else if (!dashdash && allow_data && (strcmp(s, "--data") == 0 || strcmp(s, "-d") == 0)) {
            a->data = 1;
        } else if (!dashdash && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)) {
            usage(stdout);
            return 1;
        } else if (!dashdash && s[0] == '-' && s[1]) {
            ctl_usage_error("%s: unknown option \"%s\"", argv[0], s);
            return -1;
        } else if (a->path) {
            ctl_usage_error("%s takes one path (got \"%s\" and \"%s\")", argv[0], a->path, s);
            return -1;
        } else {
            a->path = s;
        }
    }
    if (!a->path) {
        ctl_usage_error("%s needs a path", argv[0]);
        return -1;
    }
    return 0;
}

/* ---- transactions -------------------------------------------------------- */

static void text_acl(CorralStrbuf *sb, const JuteVec_ACL *v)
{
    if (v->count < 0) {
        corral_strbuf_puts(sb, "null");
        return;
    }
    corral_strbuf_puts(sb, "[");
    for (int32_t i = 0; i < v->count; i++) {
        const ACL *a = &v->items[i];
        corral_strbuf_printf(sb, "%s%d:%.*s:%.*s", i ? "," : "", a->perms, a->id.scheme.len > 0 ? a->id.scheme.len : 0,
                             a->id.scheme.data ? a->id.scheme.data : "", a->id.id.len > 0 ? a->id.id.len : 0,
                             a->id.id.data ? a->id.id.data : "");
    }
    corral_strbuf_puts(sb, "]");
}

static void json_acl(CorralStrbuf *sb, const JuteVec_ACL *v)
{
    if (v->count < 0) {
        corral_strbuf_puts(sb, "null");
        return;
    }
    corral_strbuf_puts(sb, "[");
    for (int32_t i = 0; i < v->count; i++) {
        const ACL *a = &v->items[i];
        corral_strbuf_printf(sb, "%s{\"perms\":%d,\"scheme\":", i ? "," : "", a->perms);
        json_text(sb, a->id.scheme.data, a->id.scheme.len);
        corral_strbuf_puts(sb, ",\"id\":");
        json_text(sb, a->id.id.data, a->id.id.len);
        corral_strbuf_puts(sb, "}");
    }
    corral_strbuf_puts(sb, "]");
}

/* Field writers that serve both outputs: text "name=value", JSON "name":value. */
static void f_path(CorralStrbuf *sb, int json, ZkBytes p)
{
    if (json) {
        json_key(sb, "path");
        json_text(sb, p.data, p.len);
    } else {
        corral_strbuf_puts(sb, " path=");
        text_bytes(sb, p, 0);
    }
}

static void f_data(CorralStrbuf *sb, int json, ZkBytes d)
{
    if (json) {
        json_key(sb, "data");
        json_bytes(sb, d.data, d.len);
        json_kint(sb, "data_len", d.len < 0 ? 0 : d.len);
    } else {
        corral_strbuf_puts(sb, " data=");
        text_bytes(sb, d, TEXT_DATA_MAX);
    }
}

static void f_acl(CorralStrbuf *sb, int json, const JuteVec_ACL *acl)
{
    if (json) {
        json_key(sb, "acl");
        json_acl(sb, acl);
    } else {
        corral_strbuf_puts(sb, " acl=");
        text_acl(sb, acl);
    }
}

static void f_int(CorralStrbuf *sb, int json, const char *name, int64_t v)
{
    if (json)
        json_kint(sb, name, v);
    else
        corral_strbuf_printf(sb, " %s=%" PRId64, name, v);
}

static void f_bool(CorralStrbuf *sb, int json, const char *name, int v)
{
    if (json)
        json_kbool(sb, name, v);
    else
        corral_strbuf_printf(sb, " %s=%s", name, v ? "true" : "false");
}

static const char *op_name(int type)
{
    const char *n = zk_op_name(type);
    return strcmp(n, "unknown") == 0 ? NULL : n;
}

/* Appends the decoded (sub)transaction of `type` read from r: text
 * "create path=... data=..." or JSON fields ("type":"create","path":...).
 * 0, or -1 when the bytes do not decode (why in `why`). */
static int render_txn(CorralStrbuf *sb, int json, int type, RBuf *r, Arena *a, int depth, char *why, size_t whylen)
{
    const char *name = op_name(type);
    if (json) {
        json_key(sb, "type");
        if (name)
            json_cstr(sb, name);
        else
            corral_strbuf_printf(sb, "%d", type);
    } else if (name) {
        corral_strbuf_puts(sb, name);
    } else {
        corral_strbuf_printf(sb, "type%d", type);
    }
    int rc = 0;
    switch (type) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2: {
        CreateTxn t;
        if ((rc = jute_read_CreateTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_data(sb, json, t.data);
            f_acl(sb, json, &t.acl);
            f_bool(sb, json, "ephemeral", t.ephemeral);
            f_int(sb, json, "parentCVersion", t.parentCVersion);
        }
        break;
    }
    case ZOO_OP_CREATE_CONTAINER: {
        CreateContainerTxn t;
        if ((rc = jute_read_CreateContainerTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_data(sb, json, t.data);
            f_acl(sb, json, &t.acl);
            f_int(sb, json, "parentCVersion", t.parentCVersion);
        }
        break;
    }
    case ZOO_OP_CREATE_TTL: {
        CreateTTLTxn t;
        if ((rc = jute_read_CreateTTLTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_data(sb, json, t.data);
            f_acl(sb, json, &t.acl);
            f_int(sb, json, "parentCVersion", t.parentCVersion);
            f_int(sb, json, "ttl", t.ttl);
        }
        break;
    }
    case ZOO_OP_DELETE:
    case ZOO_OP_DELETE_CONTAINER: {
        DeleteTxn t;
        if ((rc = jute_read_DeleteTxn(r, a, &t)) == 0)
            f_path(sb, json, t.path);
        break;
    }
    case ZOO_OP_SETDATA: {
        SetDataTxn t;
        if ((rc = jute_read_SetDataTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_data(sb, json, t.data);
            f_int(sb, json, "version", t.version);
        }
        break;
    }
    case ZOO_OP_SETACL: {
        SetACLTxn t;
        if ((rc = jute_read_SetACLTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_acl(sb, json, &t.acl);
            f_int(sb, json, "version", t.version);
        }
        break;
    }
    case ZOO_OP_CHECK: {
        CheckVersionTxn t;
        if ((rc = jute_read_CheckVersionTxn(r, a, &t)) == 0) {
            f_path(sb, json, t.path);
            f_int(sb, json, "version", t.version);
        }
        break;
    }
    case ZOO_OP_ERROR: {
        ErrorTxn t;
        if ((rc = jute_read_ErrorTxn(r, a, &t)) == 0) {
            if (json) {
                json_kint(sb, "err", t.err);
                json_kstr(sb, "err_name", zk_err_name(t.err));
            } else {
                corral_strbuf_printf(sb, " err=%d (%s)", t.err, zk_err_name(t.err));
            }
        }
        break;
    }
    case ZOO_OP_CREATE_SESSION: {
        CreateSessionTxn t;
        if ((rc = jute_read_CreateSessionTxn(r, a, &t)) == 0)
            f_int(sb, json, "timeout", t.timeOut);
        break;
    }
    case ZOO_OP_CLOSE_SESSION: {
        CloseSessionTxn t;
        if ((rc = jute_read_CloseSessionTxn(r, a, &t)) == 0) {
            if (json) {
                json_key(sb, "ephemerals");
                corral_strbuf_puts(sb, "[");
                for (int32_t i = 0; i < t.paths2Delete.count; i++) {
                    if (i)
                        corral_strbuf_puts(sb, ",");
                    json_text(sb, t.paths2Delete.items[i].data, t.paths2Delete.items[i].len);
                }
                corral_strbuf_puts(sb, "]");
            } else {
                corral_strbuf_puts(sb, " ephemerals=[");
                for (int32_t i = 0; i < t.paths2Delete.count; i++) {
                    if (i)
                        corral_strbuf_puts(sb, ",");
                    text_bytes(sb, t.paths2Delete.items[i], 0);
                }
                corral_strbuf_puts(sb, "]");
            }
        }
        break;
    }
    case ZOO_OP_MULTI: {
        MultiTxn t;
        if (depth >= MAX_MULTI_DEPTH) {
            snprintf(why, whylen, "multi transactions nested more than %d deep", MAX_MULTI_DEPTH);
            return -1;
        }
        if ((rc = jute_read_MultiTxn(r, a, &t)) < 0)
            break;
        int32_t n = t.txns.count > 0 ? t.txns.count : 0;
        if (json) {
            json_key(sb, "txns");
            corral_strbuf_puts(sb, "[");
        } else {
            corral_strbuf_printf(sb, " (%d ops) [", n);
        }
        for (int32_t i = 0; i < n; i++) {
            RBuf sr;
            const Txn *sub = &t.txns.items[i];
            rbuf_init(&sr, sub->data.data, sub->data.len > 0 ? (size_t)sub->data.len : 0);
            corral_strbuf_puts(sb, i ? (json ? ",{" : "; ") : (json ? "{" : ""));
            if (render_txn(sb, json, sub->type, &sr, a, depth + 1, why, whylen) < 0) {
                size_t l = strlen(why);
                snprintf(why + l, whylen - l, " (op %d of the multi)", i + 1);
                return -1;
            }
            if (json)
                corral_strbuf_puts(sb, "}");
        }
        corral_strbuf_puts(sb, "]");
        break;
    }
    default:
        /* Not a transaction type (the core never logs it): show the size. */
        snprintf(why, whylen, "unknown transaction type %d", type);
        return -1;
    }
    if (rc < 0 || r->err) {
        snprintf(why, whylen, "%s record does not decode (%zu bytes)", name ? name : "txn", r->len);
        return -1;
    }
    return 0;
}

/* Decodes one WAL record body (TxnHeader + txn).  Fills *h.  0, or -1 with
 * why. */
static int decode_body(const WalfRecord *rec, CorralStrbuf *sb, int json, TxnHeader *h, char *why, size_t whylen)
{
    RBuf r;
    Arena a;
    arena_init(&a, 4096);
    rbuf_init(&r, rec->data, rec->len);
    memset(h, 0, sizeof *h);
    int rc = -1;
    if (jute_read_TxnHeader(&r, &a, h) < 0) {
        snprintf(why, whylen, "TxnHeader does not decode (%u bytes)", rec->len);
        goto out;
    }
    if (!json) {
        char t[40];
        fmt_time(t, sizeof t, h->time);
        corral_strbuf_printf(sb, "%s session 0x%" PRIx64 " cxid 0x%x zxid 0x%" PRIx64 " ", t, (uint64_t)h->clientId,
                             (unsigned)h->cxid, (uint64_t)h->zxid);
    } else {
        char t[40];
        fmt_time(t, sizeof t, h->time);
        json_kint(sb, "time", h->time);
        json_kstr(sb, "time_iso", t);
        json_khex(sb, "session", h->clientId);
        json_kint(sb, "cxid", h->cxid);
    }
    if (render_txn(sb, json, h->type, &r, &a, 0, why, whylen) < 0)
        goto out;
    if (rbuf_remaining(&r)) {
        if (json)
            json_kint(sb, "trailing_bytes", (int64_t)rbuf_remaining(&r));
        else
            corral_strbuf_printf(sb, " (+%zu trailing bytes)", rbuf_remaining(&r));
    }
    if (h->zxid != rec->zxid) {
        snprintf(why, whylen, "the TxnHeader says zxid 0x%" PRIx64 ", the WAL record 0x%" PRIx64, (uint64_t)h->zxid,
                 (uint64_t)rec->zxid);
        goto out;
    }
    rc = 0;
out:
    arena_free(&a);
    return rc;
}

/* ---- directory listings -------------------------------------------------- */

typedef struct SegFile {
    char name[NAME_MAX + 1];
    char path[PATH_MAX];
    uint64_t seq;
    int64_t first;
} SegFile;

typedef struct NameList {
    char **v;
    size_t n;
} NameList;

static void names_add(NameList *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static void names_free(NameList *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int cmp_seg(const void *a, const void *b)
{
    const SegFile *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The segments in waldir (sorted by sequence number), and the names of the
 * other files there: *.discarded, *.tmp.  0, or -1 with err. */
static int list_segments(const char *waldir, SegFile **out, size_t *nout, NameList *discarded, NameList *tmp,
                         char *err, size_t errlen)
{
    DIR *d = opendir(waldir);
    *out = NULL;
    *nout = 0;
    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", waldir, strerror(errno));
        return -1;
    }
    SegFile *v = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        uint64_t seq;
        int64_t first;
        if (walf_parse_seg_name(e->d_name, &seq, &first) == 0) {
            v = xrealloc(v, (n + 1) * sizeof *v);
            snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name);
            snprintf(v[n].path, sizeof v[n].path, "%s/%s", waldir, e->d_name);
            v[n].seq = seq;
            v[n].first = first;
            n++;
        } else if (discarded && has_suffix(e->d_name, ".discarded")) {
            names_add(discarded, e->d_name);
        } else if (tmp && has_suffix(e->d_name, ".tmp")) {
            names_add(tmp, e->d_name);
        }
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_seg);
    if (discarded && discarded->n)
        qsort(discarded->v, discarded->n, sizeof *discarded->v, cmp_str);
    if (tmp && tmp->n)
        qsort(tmp->v, tmp->n, sizeof *tmp->v, cmp_str);
    *out = v;
    *nout = n;
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- wal-dump ------------------------------------------------------------ */

static void wal_dump_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl wal-dump DIR|FILE [--json]\n"
            "\n"
            "Prints every record of storage_file's write-ahead log: the header of each\n"
            "segment, then one line per transaction (time, session, cxid, zxid, type and\n"
            "the decoded transaction), and how each segment ends.  DIR is a data\n"
            "directory (its wal/ is read) or a wal/ directory; FILE one segment (any\n"
            "name: *.discarded segments can be read too).  Damage is reported with the\n"
            "file and offset, and the valid records found after it are shown too.\n"
            "  -j, --json   one JSON object per line instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 every segment ends cleanly and every record decodes; 1 a\n"
            "torn tail, damage, a missing segment or a file that cannot be read; 2 bad\n"
            "usage.\n");
}

typedef struct DumpTotals {
    uint64_t records, segments, problems;
    int64_t first_zxid, last_zxid;
} DumpTotals;

static void dump_problem(CorralStrbuf *sb, int json, const char *file, const char *msg, DumpTotals *t)
{
    t->problems++;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "error");
        if (file)
            json_kstr(sb, "file", file);
        json_kstr(sb, "message", msg);
        corral_strbuf_puts(sb, "}");
    } else {
        corral_strbuf_printf(sb, "ERROR: %s", msg);
    }
    emit(sb);
}

static void dump_record(CorralStrbuf *sb, int json, const char *path, const WalfRecord *rec, int after_damage,
                        DumpTotals *t)
{
    char why[200] = "";
    TxnHeader h;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "record");
        json_kstr(sb, "file", path);
        json_kint(sb, "offset", (int64_t)rec->offset);
        json_kint(sb, "len", rec->len);
        json_khex(sb, "zxid", rec->zxid);
        if (after_damage)
            json_kbool(sb, "after_damage", 1);
    } else if (after_damage) {
        corral_strbuf_puts(sb, "(after the damage) ");
    }
    size_t mark = sb->len;
    if (decode_body(rec, sb, json, &h, why, sizeof why) < 0) {
        t->problems++;
        if (json) {
            json_kstr(sb, "error", why);
            corral_strbuf_puts(sb, "}");
        } else {
            /* keep what decoded, then say why the rest did not */
            if (sb->len == mark)
                corral_strbuf_printf(sb, "zxid 0x%" PRIx64, (uint64_t)rec->zxid);
            corral_strbuf_printf(sb, " ERROR: %s, at offset %" PRIu64 " of %s", why, rec->offset, path);
        }
        emit(sb);
        return;
    }
    if (json)
        corral_strbuf_puts(sb, "}");
    emit(sb);
}

/* Dumps one segment; *last_zxid gets the zxid of its last good record.
 * Returns 0 when it ends cleanly. */
static int dump_segment(CorralStrbuf *sb, int json, const char *path, DumpTotals *t, int64_t *last_zxid,
                        WalfSegHeader *hdr_out)
{
    WalfSegment seg;
    char err[300];
    int r = walf_seg_open(&seg, path, err, sizeof err);
    if (r < 0) {
        char msg[PATH_MAX + 400];
        snprintf(msg, sizeof msg, r == -1 ? "cannot read WAL segment %s: %s" : "WAL segment %s: bad header (%s)", path,
                 err);
        dump_problem(sb, json, path, msg, t);
        return -1;
    }
    t->segments++;
    if (hdr_out)
        *hdr_out = seg.hdr;
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "segment");
        json_kstr(sb, "file", path);
        json_kint(sb, "sequence", (int64_t)seg.hdr.seq);
        json_khex(sb, "first_zxid", seg.hdr.first_zxid);
        json_khex(sb, "prev_zxid", seg.hdr.prev_zxid);
        json_kint(sb, "prealloc_bytes", seg.hdr.prealloc_bytes);
        json_kint(sb, "size", (int64_t)seg.size);
        json_kint(sb, "version", seg.hdr.version);
        corral_strbuf_puts(sb, "}");
    } else {
        corral_strbuf_printf(sb,
                             "WAL segment %s: format %u, sequence %" PRIu64 ", first zxid 0x%" PRIx64
                             ", prev zxid 0x%" PRIx64 ", preallocated %u bytes, %" PRIu64 " bytes on disk",
                             path, seg.hdr.version, seg.hdr.seq, (uint64_t)seg.hdr.first_zxid,
                             (uint64_t)seg.hdr.prev_zxid, seg.hdr.prealloc_bytes, seg.size);
    }
    emit(sb);

    WalfIter it;
    WalfRecord rec;
    WalfStop st;
    int64_t first = 0;
    walf_iter_init(&it, &seg);
    while (walf_iter_next(&it, &rec, &st)) {
        if (it.count == 1) {
            first = rec.zxid;
            if (rec.zxid != seg.hdr.first_zxid) {
                char msg[PATH_MAX + 200];
                snprintf(msg, sizeof msg,
                         "WAL segment %s, offset %" PRIu64 ": first record has zxid 0x%" PRIx64
                         ", the header says 0x%" PRIx64,
                         path, rec.offset, (uint64_t)rec.zxid, (uint64_t)seg.hdr.first_zxid);
                dump_problem(sb, json, path, msg, t);
            }
        }
        dump_record(sb, json, path, &rec, 0, t);
        t->records++;
        if (!t->first_zxid)
            t->first_zxid = rec.zxid;
        t->last_zxid = rec.zxid;
    }
    *last_zxid = st.last_zxid;
    uint64_t dropped = st.nonzero_end > st.offset ? st.nonzero_end - st.offset : 0;
    const char *status = st.kind == WALF_STOP_CLEAN ? "clean" : st.kind == WALF_STOP_TORN ? "torn" : "damaged";
    if (json) {
        corral_strbuf_puts(sb, "{");
        json_kstr(sb, "kind", "end");
        json_kstr(sb, "file", path);
        json_kstr(sb, "status", status);
        json_kint(sb, "offset", (int64_t)st.offset);
        json_kint(sb, "records", (int64_t)st.nrecords);
        if (st.nrecords)
            json_khex(sb, "first_zxid", first);
        json_khex(sb, "last_zxid", st.last_zxid);
        if (st.kind != WALF_STOP_CLEAN) {
            json_kstr(sb, "reason", st.reason);
            json_kint(sb, "bytes_after", (int64_t)dropped);
            json_kint(sb, "valid_records_after", (int64_t)st.n_after);
            if (st.n_after) {
                json_khex(sb, "first_after_zxid", st.first_after_zxid);
                json_khex(sb, "last_after_zxid", st.last_after_zxid);
            }
            if (st.kind == WALF_STOP_CORRUPT) {
                json_kint(sb, "later_offset", (int64_t)st.later_offset);
                json_khex(sb, "later_zxid", st.later_zxid);
            }
        }
        corral_strbuf_puts(sb, "}");
    } else if (st.kind == WALF_STOP_CLEAN) {
        corral_strbuf_printf(sb, "end of %s: clean at offset %" PRIu64 ", %" PRIu64 " records", path, st.offset,
                             st.nrecords);
        if (st.nrecords)
            corral_strbuf_printf(sb, " (zxid 0x%" PRIx64 "..0x%" PRIx64 ")", (uint64_t)first, (uint64_t)st.last_zxid);
    } else if (st.kind == WALF_STOP_TORN) {
        corral_strbuf_printf(sb,
                             "TORN TAIL in %s at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): %" PRIu64
                             " bytes after the last good record",
                             path, st.offset, (uint64_t)st.last_zxid, st.reason, dropped);
        if (st.n_after)
            corral_strbuf_printf(sb, ", including %" PRIu64 " complete records (zxid 0x%" PRIx64 "..0x%" PRIx64
                                     ") of an unfinished write",
                                 st.n_after, (uint64_t)st.first_after_zxid, (uint64_t)st.last_after_zxid);
        corral_strbuf_printf(sb, "; %" PRIu64 " good records before it", st.nrecords);
    } else {
        corral_strbuf_printf(sb,
                             "DAMAGED: WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                             "; valid records written later follow (offset %" PRIu64 ", zxid 0x%" PRIx64
                             "): %" PRIu64 " valid records (zxid 0x%" PRIx64 "..0x%" PRIx64 ") in the %" PRIu64
                             " bytes after the damage; %" PRIu64 " good records before it",
                             path, st.offset, st.reason, (uint64_t)st.last_zxid, st.later_offset,
                             (uint64_t)st.later_zxid, st.n_after, (uint64_t)st.first_after_zxid,
                             (uint64_t)st.last_after_zxid, dropped, st.nrecords);
    }
    emit(sb);
    if (st.kind != WALF_STOP_CLEAN)
        t->problems++;

    /* Forensics: the valid records beyond the stop, marked as such. */
    uint64_t from = st.offset;
    while (st.kind != WALF_STOP_CLEAN && st.n_after && st.first_after_offset > from) {
        from = st.first_after_offset;
        it.off = st.first_after_offset;
        it.last_zxid = st.last_zxid;
        while (walf_iter_next(&it, &rec, &st))
            dump_record(sb, json, path, &rec, 1, t);
    }
    walf_seg_close(&seg);
    return t->problems ? -1 : 0;
}

int ctl_cmd_wal_dump(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 0, wal_dump_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    DumpTotals t = {0, 0, 0, 0, 0};
    struct stat st;
    if (stat(a.path, &st) < 0)
        return ctl_fail("cannot read %s: %s", a.path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        int64_t last;
        dump_segment(&sb, a.json, a.path, &t, &last, NULL);
    } else {
        char waldir[PATH_MAX], err[PATH_MAX + 100];
        snprintf(waldir, sizeof waldir, "%s/wal", a.path);
        if (!is_dir(waldir))
            snprintf(waldir, sizeof waldir, "%s", a.path);
        SegFile *segs;
        size_t n;
        NameList disc = {NULL, 0};
        if (list_segments(waldir, &segs, &n, &disc, NULL, err, sizeof err) < 0)
            return ctl_fail("%s", err);
        if (n == 0 && !a.json) {
            corral_strbuf_printf(&sb, "no WAL segment in %s", waldir);
            emit(&sb);
        }
        int64_t prev_last = 0;
        int have_prev = 0;
        for (size_t i = 0; i < n; i++) {
            char msg[PATH_MAX * 2 + 200];
            if (i > 0 && segs[i].seq == segs[i - 1].seq) {
                snprintf(msg, sizeof msg, "two WAL segments with sequence number %" PRIu64 ": %s and %s in %s",
                         segs[i].seq, segs[i - 1].name, segs[i].name, waldir);
                dump_problem(&sb, a.json, segs[i].path, msg, &t);
            } else if (i > 0 && segs[i].seq != segs[i - 1].seq + 1) {
                snprintf(msg, sizeof msg,
                         "WAL segment number %08" PRIx64 " is missing from %s (between %s and %s)",
                         segs[i - 1].seq + 1, waldir, segs[i - 1].name, segs[i].name);
                dump_problem(&sb, a.json, segs[i].path, msg, &t);
                have_prev = 0;
            }
            WalfSegHeader h;
            int64_t last = 0;
            memset(&h, 0, sizeof h);
            dump_segment(&sb, a.json, segs[i].path, &t, &last, &h);
            if (h.first_zxid && have_prev && h.prev_zxid != prev_last) {
                snprintf(msg, sizeof msg,
                         "WAL segment %s starts after zxid 0x%" PRIx64 " but %s ends at zxid 0x%" PRIx64
                         ": the transactions in between are missing",
                         segs[i].path, (uint64_t)h.prev_zxid, segs[i - 1].name, (uint64_t)prev_last);
                dump_problem(&sb, a.json, segs[i].path, msg, &t);
            }
            have_prev = h.first_zxid != 0;
            prev_last = last;
        }
        if (disc.n) {
            if (a.json) {
                corral_strbuf_puts(&sb, "{");
                json_kstr(&sb, "kind", "discarded");
                json_key(&sb, "files");
                corral_strbuf_puts(&sb, "[");
                for (size_t i = 0; i < disc.n; i++) {
                    if (i)
                        corral_strbuf_puts(&sb, ",");
                    json_cstr(&sb, disc.v[i]);
                }
                corral_strbuf_puts(&sb, "]}");
            } else {
                corral_strbuf_printf(&sb, "not shown: %zu segments set aside by accept_truncation (", disc.n);
                for (size_t i = 0; i < disc.n; i++)
                    corral_strbuf_printf(&sb, "%s%s", i ? ", " : "", disc.v[i]);
                corral_strbuf_puts(&sb, "); dump them by file name");
            }
            emit(&sb);
        }
        names_free(&disc);
        free(segs);
    }
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "kind", "summary");
        json_kint(&sb, "segments", (int64_t)t.segments);
        json_kint(&sb, "records", (int64_t)t.records);
        if (t.records) {
            json_khex(&sb, "first_zxid", t.first_zxid);
            json_khex(&sb, "last_zxid", t.last_zxid);
        }
        json_kint(&sb, "problems", (int64_t)t.problems);
        corral_strbuf_puts(&sb, "}");
    } else {
        corral_strbuf_printf(&sb, "%" PRIu64 " records in %" PRIu64 " segments", t.records, t.segments);
        if (t.records)
            corral_strbuf_printf(&sb, ", zxid 0x%" PRIx64 "..0x%" PRIx64, (uint64_t)t.first_zxid,
                                 (uint64_t)t.last_zxid);
        if (t.problems)
            corral_strbuf_printf(&sb, "; %" PRIu64 " problems (see ERROR, TORN TAIL and DAMAGED above)", t.problems);
    }
    emit(&sb);
    corral_strbuf_free(&sb);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    (void)o;
    return t.problems ? CTL_EXIT_FAIL : CTL_EXIT_OK;
}

/* ---- the core's snapshot payload ----------------------------------------- */

typedef struct SnapSession {
    int64_t id;
    int32_t timeout;
    int64_t ephemerals;
} SnapSession;

typedef struct SnapAcl {
    int32_t ref;
    size_t off;       /* of its entry count, in the payload */
} SnapAcl;

typedef struct SnapNode {
    ZkBytes path, data;
    int32_t aclref;
    StatPersisted st;
} SnapNode;

typedef struct SnapPayload {
    const unsigned char *p;
    size_t len;
    int64_t zxid;
    SnapSession *sessions;
    int32_t nsessions;
    SnapAcl *acls;
    int32_t nacls;
    size_t nodes_off;       /* where the first node starts */
    uint64_t nnodes;
    uint64_t data_bytes;
    int32_t *nchildren;     /* per node, in pre-order */
    int64_t digest;
    uint64_t containers, ttls, ephemerals;
} SnapPayload;

static int read_node(RBuf *r, SnapNode *n)
{
    n->path = rbuf_get_bytes(r);
    if (r->err || n->path.len < 0)
        return 0;
    n->data = rbuf_get_bytes(r);
    n->aclref = rbuf_get_int(r);
    n->st.czxid = rbuf_get_long(r);
    n->st.mzxid = rbuf_get_long(r);
    n->st.ctime = rbuf_get_long(r);
    n->st.mtime = rbuf_get_long(r);
    n->st.version = rbuf_get_int(r);
    n->st.cversion = rbuf_get_int(r);
    n->st.aversion = rbuf_get_int(r);
    n->st.ephemeralOwner = rbuf_get_long(r);
    n->st.pzxid = rbuf_get_long(r);
    return r->err ? -1 : 1;
}

static int cmp_sess(const void *a, const void *b)
{
    const SnapSession *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

#define OWNER_CONTAINER INT64_MIN
#define OWNER_IS_TTL(o) (((uint64_t)(o) >> 56) == 0xFF && (o) != OWNER_CONTAINER)

static size_t parent_len(ZkBytes p)
{
    int32_t i = p.len - 1;
    while (i > 0 && p.data[i] != '/')
        i--;
    return i <= 0 ? 1 : (size_t)i;
}

/* Parses (and checks the structure of) the core's snapshot bytes, as
 * server_load_snapshot reads them.  0, or -1 with why.  With `expect_zxid`
 * >= 0, the payload's zxid must be that one. */
static int parse_payload(const void *data, size_t len, int64_t expect_zxid, SnapPayload *sp, char *why, size_t whylen)
{
    memset(sp, 0, sizeof *sp);
    sp->p = data;
    sp->len = len;
    RBuf r;
    rbuf_init(&r, data, len);
    const uint8_t *magic = rbuf_get_raw(&r, 8);
    if (!magic || memcmp(magic, SNAP_MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a Corral snapshot payload (bad magic, expected %s)", SNAP_MAGIC);
        return -1;
    }
    sp->zxid = rbuf_get_long(&r);
    if (!r.err && expect_zxid >= 0 && sp->zxid != expect_zxid) {
        snprintf(why, whylen, "the payload says zxid 0x%" PRIx64 ", the file header 0x%" PRIx64, (uint64_t)sp->zxid,
                 (uint64_t)expect_zxid);
        return -1;
    }
    int32_t ns = rbuf_get_int(&r);
    if (r.err || ns < 0 || (size_t)ns > rbuf_remaining(&r) / 12) {
        snprintf(why, whylen, "bad session count at offset %zu", r.pos);
        return -1;
    }
    sp->nsessions = ns;
    sp->sessions = xcalloc((size_t)ns + 1, sizeof *sp->sessions);
    for (int32_t i = 0; i < ns; i++) {
        sp->sessions[i].id = rbuf_get_long(&r);
        sp->sessions[i].timeout = rbuf_get_int(&r);
    }
    int32_t na = rbuf_get_int(&r);
    if (r.err || na < 0 || (size_t)na > rbuf_remaining(&r)) {
        snprintf(why, whylen, "bad ACL count at offset %zu", r.pos);
        return -1;
    }
    sp->nacls = na;
    sp->acls = xcalloc((size_t)na + 1, sizeof *sp->acls);
    for (int32_t i = 0; i < na && !r.err; i++) {
        sp->acls[i].ref = rbuf_get_int(&r);
        sp->acls[i].off = r.pos;
        int32_t n = rbuf_get_int(&r);
        if (r.err || n < 0 || (size_t)n > rbuf_remaining(&r)) {
            snprintf(why, whylen, "bad ACL entry count at offset %zu", r.pos);
            return -1;
        }
        for (int32_t k = 0; k < n; k++) {
            rbuf_get_int(&r);
            rbuf_get_bytes(&r);
            rbuf_get_bytes(&r);
        }
    }
    if (r.err) {
        snprintf(why, whylen, "the ACL table runs past the end of the payload");
        return -1;
    }
    sp->nodes_off = r.pos;
    /* Nodes: pre-order.  Children are counted with a stack of ancestors. */
    size_t cap = 1024, depth = 0, scap = 64;
    sp->nchildren = xcalloc(cap, sizeof *sp->nchildren);
    uint64_t *stack = xmalloc(scap * sizeof *stack);
    ZkBytes *spath = xmalloc(scap * sizeof *spath);
    if (ns)
        qsort(sp->sessions, (size_t)ns, sizeof *sp->sessions, cmp_sess);
    int rc = -1;
    for (;;) {
        SnapNode n;
        size_t at = r.pos;
        int k = read_node(&r, &n);
        if (k == 0 && !r.err)
            break;
        if (k < 0 || r.err) {
            snprintf(why, whylen, "node %" PRIu64 " at offset %zu runs past the end of the payload", sp->nnodes, at);
            goto out;
        }
        if (n.path.len < 1 || n.path.data[0] != '/') {
            snprintf(why, whylen, "node %" PRIu64 " at offset %zu has a bad path", sp->nnodes, at);
            goto out;
        }
        int found = 0;
        for (int32_t i = 0; i < na && !found; i++)
            found = sp->acls[i].ref == n.aclref;
        if (!found) {
            snprintf(why, whylen, "node %.*s refers to ACL %d, which the table lacks", n.path.len, n.path.data,
                     n.aclref);
            goto out;
        }
        if ((size_t)sp->nnodes == cap) {
            cap *= 2;
            sp->nchildren = xrealloc(sp->nchildren, cap * sizeof *sp->nchildren);
        }
        sp->nchildren[sp->nnodes] = 0;
        if (sp->nnodes == 0) {
            if (n.path.len != 1) {
                snprintf(why, whylen, "the first node is %.*s, not /", n.path.len, n.path.data);
                goto out;
            }
        } else {
            size_t pl = parent_len(n.path);
            while (depth && !((size_t)spath[depth - 1].len == pl && memcmp(spath[depth - 1].data, n.path.data, pl) == 0))
                depth--;
            if (!depth) {
                snprintf(why, whylen, "node %.*s (offset %zu) does not follow its parent (not in pre-order)",
                         n.path.len, n.path.data, at);
                goto out;
            }
            sp->nchildren[stack[depth - 1]]++;
        }
        if (depth == scap) {
            scap *= 2;
            stack = xrealloc(stack, scap * sizeof *stack);
            spath = xrealloc(spath, scap * sizeof *spath);
        }
        stack[depth] = sp->nnodes;
        spath[depth] = n.path;
        depth++;
        sp->data_bytes += n.data.len > 0 ? (uint64_t)n.data.len : 0;
        int64_t o = n.st.ephemeralOwner;
        if (o == OWNER_CONTAINER) {
            sp->containers++;
        } else if (OWNER_IS_TTL(o)) {
            sp->ttls++;
        } else if (o) {
            sp->ephemerals++;
            SnapSession key = {o, 0, 0};
            SnapSession *s = ns ? bsearch(&key, sp->sessions, (size_t)ns, sizeof key, cmp_sess) : NULL;
            if (s)
                s->ephemerals++;
        }
        sp->nnodes++;
    }
    sp->digest = rbuf_get_long(&r);
    if (r.err) {
        snprintf(why, whylen, "the digest is missing at the end of the payload");
        goto out;
    }
    if (rbuf_remaining(&r)) {
        snprintf(why, whylen, "%zu bytes follow the digest", rbuf_remaining(&r));
        goto out;
    }
    if (sp->nnodes == 0) {
        snprintf(why, whylen, "no root node");
        goto out;
    }
    rc = 0;
out:
    free(stack);
    free(spath);
    return rc;
}

static void payload_free(SnapPayload *sp)
{
    free(sp->sessions);
    free(sp->acls);
    free(sp->nchildren);
    memset(sp, 0, sizeof *sp);
}

static void acl_entries(const SnapPayload *sp, const SnapAcl *a, CorralStrbuf *sb, int json)
{
    RBuf r;
    rbuf_init(&r, sp->p, sp->len);
    r.pos = a->off;
    int32_t n = rbuf_get_int(&r);
    corral_strbuf_puts(sb, "[");
    for (int32_t k = 0; k < n && !r.err; k++) {
        int32_t perms = rbuf_get_int(&r);
        ZkBytes s = rbuf_get_bytes(&r), id = rbuf_get_bytes(&r);
        if (json) {
            corral_strbuf_printf(sb, "%s{\"perms\":%d,\"scheme\":", k ? "," : "", perms);
            json_text(sb, s.data, s.len);
            corral_strbuf_puts(sb, ",\"id\":");
            json_text(sb, id.data, id.len);
            corral_strbuf_puts(sb, "}");
        } else {
            corral_strbuf_printf(sb, "%s%d:%.*s:%.*s", k ? "," : "", perms, s.len > 0 ? s.len : 0, s.data ? s.data : "",
                                 id.len > 0 ? id.len : 0, id.data ? id.data : "");
        }
    }
    corral_strbuf_puts(sb, "]");
}

/* ---- snapshot-dump ------------------------------------------------------- */

static void snapshot_dump_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl snapshot-dump FILE [--json] [--data]\n"
            "\n"
            "Prints a storage_file snapshot (snapshot.<zxid>.zst, or a *.corrupt one):\n"
            "its header (zxid, sizes, checksums), the sessions, the ACL table, then\n"
            "every znode path with its stat, in pre-order, like zkSnapShotToolkit.\n"
            "Every check of recovery is applied first (header CRC, payload CRC32C,\n"
            "zstd content checksum and size) and the payload's structure is checked.\n"
            "  -d, --data   show each znode's data too (text: printable, cut after\n"
            "               64 bytes; JSON: complete)\n"
            "  -j, --json   one JSON object per line instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 the snapshot is sound; 1 it fails a check or cannot be\n"
            "read; 2 bad usage.\n");
}

static void stat_text(CorralStrbuf *sb, const SnapNode *n, int32_t nchildren)
{
    char t1[40], t2[40];
    fmt_time(t1, sizeof t1, n->st.ctime);
    fmt_time(t2, sizeof t2, n->st.mtime);
    corral_strbuf_printf(sb,
                         "  cZxid = 0x%" PRIx64 "\n  ctime = %s\n  mZxid = 0x%" PRIx64 "\n  mtime = %s\n"
                         "  pZxid = 0x%" PRIx64 "\n  cversion = %d\n  dataVersion = %d\n  aclVersion = %d\n"
                         "  ephemeralOwner = 0x%" PRIx64,
                         (uint64_t)n->st.czxid, t1, (uint64_t)n->st.mzxid, t2, (uint64_t)n->st.pzxid, n->st.cversion,
                         n->st.version, n->st.aversion, (uint64_t)n->st.ephemeralOwner);
    if (n->st.ephemeralOwner == OWNER_CONTAINER)
        corral_strbuf_puts(sb, " (container)");
    else if (OWNER_IS_TTL(n->st.ephemeralOwner))
        corral_strbuf_printf(sb, " (ttl %" PRIu64 " ms)", (uint64_t)((uint64_t)n->st.ephemeralOwner & 0xFFFFFFFFFFULL));
    corral_strbuf_printf(sb, "\n  dataLength = %d\n  numChildren = %d\n  aclRef = %d", n->data.len < 0 ? 0 : n->data.len,
                         nchildren, n->aclref);
}

int ctl_cmd_snapshot_dump(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 1, snapshot_dump_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    (void)o;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    WalfSnapHeader h;
    void *data = NULL;
    size_t len = 0;
    char err[300];
    int r = walf_snapshot_read(a.path, &h, &data, &len, err, sizeof err);
    if (r == -1)
        return ctl_fail("cannot read snapshot %s: %s", a.path, err);
    if (r == -2)
        return ctl_fail("snapshot %s is corrupt (%s)", a.path, err);
    int64_t name_zxid;
    const char *base = strrchr(a.path, '/');
    base = base ? base + 1 : a.path;
    int name_ok = walf_parse_snap_name(base, &name_zxid) == 0 ||
                  (has_suffix(base, ".zst.corrupt") && strlen(base) == 25 + 4 + 8 &&
                   sscanf(base, "snapshot.%16" SCNx64 ".zst.corrupt", (uint64_t *)&name_zxid) == 1);
    if (name_ok && name_zxid != h.last_zxid) {
        free(data);
        return ctl_fail("snapshot %s is corrupt (its header says zxid 0x%" PRIx64 ")", a.path, (uint64_t)h.last_zxid);
    }
    SnapPayload sp;
    char why[300];
    if (parse_payload(data, len, h.last_zxid, &sp, why, sizeof why) < 0) {
        payload_free(&sp);
        free(data);
        return ctl_fail("snapshot %s: the server could not load it: %s", a.path, why);
    }

    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    char ct[40];
    fmt_time(ct, sizeof ct, h.created_ms);
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "kind", "header");
        json_kstr(&sb, "file", a.path);
        json_kint(&sb, "version", h.version);
        json_khex(&sb, "last_zxid", h.last_zxid);
        json_kint(&sb, "created_ms", h.created_ms);
        json_kstr(&sb, "created", ct);
        json_kint(&sb, "zstd_level", h.level);
        json_kint(&sb, "compressed_bytes", (int64_t)h.comp_len);
        json_kint(&sb, "uncompressed_bytes", (int64_t)h.raw_len);
        json_key(&sb, "payload_crc32c");
        corral_strbuf_printf(&sb, "\"0x%08x\"", h.payload_crc);
        json_kbool(&sb, "checks_ok", 1);
        json_kint(&sb, "sessions", sp.nsessions);
        json_kint(&sb, "acls", sp.nacls);
        json_kint(&sb, "znodes", (int64_t)sp.nnodes);
        json_kint(&sb, "data_bytes", (int64_t)sp.data_bytes);
        json_kint(&sb, "ephemerals", (int64_t)sp.ephemerals);
        json_kint(&sb, "containers", (int64_t)sp.containers);
        json_kint(&sb, "ttl_nodes", (int64_t)sp.ttls);
        json_khex(&sb, "digest", sp.digest);
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
    } else {
        corral_strbuf_printf(&sb, "Snapshot %s\n", a.path);
        corral_strbuf_printf(&sb, "  format %u, last zxid 0x%" PRIx64 ", created %s, zstd level %u\n", h.version,
                             (uint64_t)h.last_zxid, ct, h.level);
        corral_strbuf_printf(&sb,
                             "  %" PRIu64 " bytes compressed, %" PRIu64 " uncompressed; header CRC32C ok, payload "
                             "CRC32C 0x%08x ok, zstd checksum ok\n",
                             h.comp_len, h.raw_len, h.payload_crc);
        corral_strbuf_printf(&sb,
                             "  %d sessions, %d ACLs, %" PRIu64 " znodes (%" PRIu64 " ephemeral, %" PRIu64
                             " containers, %" PRIu64 " TTL), %" PRIu64 " data bytes, digest 0x%016" PRIx64 "\n",
                             sp.nsessions, sp.nacls, sp.nnodes, sp.ephemerals, sp.containers, sp.ttls, sp.data_bytes,
                             (uint64_t)sp.digest);
        corral_strbuf_printf(&sb, "Session Details (sid, timeout, ephemeralCount):");
        emit(&sb);
    }
    for (int32_t i = 0; i < sp.nsessions; i++) {
        const SnapSession *s = &sp.sessions[i];
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "session");
            json_khex(&sb, "id", s->id);
            json_kint(&sb, "timeout", s->timeout);
            json_kint(&sb, "ephemerals", s->ephemerals);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_printf(&sb, "  0x%016" PRIx64 ", %d, %" PRId64, (uint64_t)s->id, s->timeout, s->ephemerals);
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_puts(&sb, "ACLs (ref: entries perms:scheme:id):");
        emit(&sb);
    }
    for (int32_t i = 0; i < sp.nacls; i++) {
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "acl");
            json_kint(&sb, "ref", sp.acls[i].ref);
            json_key(&sb, "acl");
            acl_entries(&sp, &sp.acls[i], &sb, 1);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_printf(&sb, "  %d: ", sp.acls[i].ref);
            acl_entries(&sp, &sp.acls[i], &sb, 0);
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_printf(&sb, "ZNode Details (count=%" PRIu64 "):", sp.nnodes);
        emit(&sb);
    }
    RBuf rb;
    rbuf_init(&rb, data, len);
    rb.pos = sp.nodes_off;
    for (uint64_t i = 0; i < sp.nnodes; i++) {
        SnapNode n;
        read_node(&rb, &n);
        if (a.json) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "kind", "znode");
            json_key(&sb, "path");
            json_text(&sb, n.path.data, n.path.len);
            json_key(&sb, "stat");
            corral_strbuf_puts(&sb, "{");
            json_khex(&sb, "czxid", n.st.czxid);
            json_khex(&sb, "mzxid", n.st.mzxid);
            json_khex(&sb, "pzxid", n.st.pzxid);
            json_kint(&sb, "ctime", n.st.ctime);
            json_kint(&sb, "mtime", n.st.mtime);
            json_kint(&sb, "version", n.st.version);
            json_kint(&sb, "cversion", n.st.cversion);
            json_kint(&sb, "aversion", n.st.aversion);
            json_khex(&sb, "ephemeralOwner", n.st.ephemeralOwner);
            json_kint(&sb, "dataLength", n.data.len < 0 ? 0 : n.data.len);
            json_kint(&sb, "numChildren", sp.nchildren[i]);
            corral_strbuf_puts(&sb, "}");
            json_kint(&sb, "aclref", n.aclref);
            if (a.data) {
                json_key(&sb, "data");
                json_bytes(&sb, n.data.data, n.data.len);
            }
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_puts(&sb, "----\n");
            corral_strbuf_append(&sb, n.path.data, (size_t)n.path.len);
            corral_strbuf_puts(&sb, "\n");
            stat_text(&sb, &n, sp.nchildren[i]);
            if (a.data) {
                corral_strbuf_puts(&sb, "\n  data = ");
                text_bytes(&sb, n.data, TEXT_DATA_MAX);
            }
        }
        emit(&sb);
    }
    if (!a.json) {
        corral_strbuf_printf(&sb, "----\nLast zxid: 0x%" PRIx64, (uint64_t)h.last_zxid);
        emit(&sb);
    }
    corral_strbuf_free(&sb);
    payload_free(&sp);
    free(data);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return CTL_EXIT_OK;
}

/* ---- verify ---------------------------------------------------------------
 * Two passes.  First every file on its own: each snapshot through every
 * check recovery makes (and the payload's structure, as the core loads it),
 * each segment's header and every record (CRC, order, decoding).  Then
 * storage_file's recovery (sf_recover) replayed on those results, read-only:
 * which snapshot it would load, where replay starts, what it would cut, and
 * the error it would stop with. */

typedef struct VSnap {
    char name[NAME_MAX + 1];
    char path[PATH_MAX];
    int64_t zxid;
    int status;          /* 0 ok, -1 unreadable (I/O), -2 corrupt, -3 payload refused by the core */
    char why[320];
    uint64_t file_size, raw_len;
    uint64_t nnodes;
} VSnap;

typedef struct VSeg {
    SegFile f;
    int hdr;             /* 0 ok, -1 I/O, -2 bad */
    char why[320];
    WalfSegHeader h;
    uint64_t size;
    WalfStop st;
    int64_t first_rec;   /* zxid of the first record, 0 if none */
    uint64_t first_rec_off;
    /* The first record (zxid and offset) whose body does not decode; 0 if none. */
    int64_t bad_body_zxid;
    uint64_t bad_body_off;
    char bad_body_why[200];
    uint64_t bad_bodies;
} VSeg;

static int cmp_vsnap_desc(const void *a, const void *b)
{
    const VSnap *x = a, *y = b;
    return (x->zxid < y->zxid) - (x->zxid > y->zxid);
}

static void verify_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl verify DATA_DIR [--json]\n"
            "\n"
            "Checks a storage_file data directory without changing it: every snapshot\n"
            "(header, CRC32C, zstd checksum, the payload's structure), every WAL segment\n"
            "header and every record (CRC32C, zxid order, decoding), the chain of\n"
            "segments, then works out what the server's recovery would do: the snapshot\n"
            "it would load, the zxid it would recover to, torn tails it would cut, and\n"
            "the error it would stop with (and what accept_truncation: true would keep).\n"
            "  -j, --json   one JSON object instead (see doc/storage-tools.md)\n"
            "\n"
            "Exit status: 0 clean (recovery would load everything, cut nothing); 1\n"
            "recovery would fail or truncate, or a file is damaged or unreadable; 2 bad\n"
            "usage.\n");
}

typedef NameList Msgs;

static void msg_vadd(Msgs *m, const char *fmt, va_list ap)
{
    char buf[PATH_MAX * 2 + 600];
    vsnprintf(buf, sizeof buf, fmt, ap);
    names_add(m, buf);
}

static void msg_add(Msgs *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg_add(Msgs *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    msg_vadd(m, fmt, ap);
    va_end(ap);
}

/* A warning about damage that recovery would not trip over (a file it does
 * not need now): counted, since verify then exits 1 all the same. */
static void damage_add(int *count, Msgs *m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void damage_add(int *count, Msgs *m, const char *fmt, ...)
{
    va_list ap;
    (*count)++;
    va_start(ap, fmt);
    msg_vadd(m, fmt, ap);
    va_end(ap);
}

static void check_snapshot(VSnap *v)
{
    WalfSnapHeader h;
    void *data = NULL;
    size_t len = 0;
    char why[300];
    struct stat st;
    if (stat(v->path, &st) == 0)
        v->file_size = (uint64_t)st.st_size;
    int r = walf_snapshot_read(v->path, &h, &data, &len, why, sizeof why);
    if (r == 0 && h.last_zxid != v->zxid) {
        snprintf(why, sizeof why, "its header says zxid 0x%" PRIx64, (uint64_t)h.last_zxid);
        r = -2;
    }
    if (r < 0) {
        v->status = r;
        snprintf(v->why, sizeof v->why, "%s", why);
        free(data);
        return;
    }
    v->raw_len = h.raw_len;
    SnapPayload sp;
    if (parse_payload(data, len, v->zxid, &sp, why, sizeof why) < 0) {
        v->status = -3;
        snprintf(v->why, sizeof v->why, "%s", why);
    } else {
        v->nnodes = sp.nnodes;
    }
    payload_free(&sp);
    free(data);
}

static void check_segment(VSeg *v)
{
    WalfSegment seg;
    v->hdr = walf_seg_open(&seg, v->f.path, v->why, sizeof v->why);
    if (v->hdr < 0)
        return;
    v->h = seg.hdr;
    v->size = seg.size;
    WalfIter it;
    WalfRecord rec;
    walf_iter_init(&it, &seg);
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    while (walf_iter_next(&it, &rec, &v->st)) {
        if (it.count == 1) {
            v->first_rec = rec.zxid;
            v->first_rec_off = rec.offset;
        }
        TxnHeader th;
        char why[200];
        corral_strbuf_reset(&sb);
        if (decode_body(&rec, &sb, 1, &th, why, sizeof why) < 0) {
            if (!v->bad_bodies++) {
                v->bad_body_zxid = rec.zxid;
                v->bad_body_off = rec.offset;
                snprintf(v->bad_body_why, sizeof v->bad_body_why, "%s", why);
            }
        }
    }
    corral_strbuf_free(&sb);
    walf_seg_close(&seg);
}

typedef struct Verdict {
    int fail;                 /* recovery would stop with an error */
    int fail_hard;            /* ... that accept_truncation cannot help with */
    int truncate;             /* recovery would cut (torn tail) */
    int64_t snap_zxid;        /* -1: no snapshot */
    const VSnap *snap;
    uint64_t replay;          /* WAL records replayed after the snapshot */
    int64_t last_zxid;        /* what recovery reaches */
    int64_t accept_zxid;      /* with accept_truncation (fail && !fail_hard) */
    int64_t wal_first, wal_last;
} Verdict;

int ctl_cmd_verify(CtlOptions *o, int argc, char **argv)
{
    Args a;
    int pr = parse_args(argc, argv, 0, verify_usage, &a);
    if (pr)
        return pr > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    (void)o;
    const char *dir = a.path;
    if (!is_dir(dir))
        return ctl_fail("%s is not a directory", dir);
    char waldir[PATH_MAX], err[PATH_MAX + 200];
    snprintf(waldir, sizeof waldir, "%s/wal", dir);

    Msgs errors = {NULL, 0}, warnings = {NULL, 0}, notes = {NULL, 0};
    Verdict vd;
    int damage = 0;
    memset(&vd, 0, sizeof vd);
    vd.snap_zxid = -1;

    /* In use?  (A running server may be writing the last records.) */
    char lockp[PATH_MAX];
    snprintf(lockp, sizeof lockp, "%s/LOCK", dir);
    int lfd = open(lockp, O_RDONLY | O_CLOEXEC);
    if (lfd >= 0) {
        if (flock(lfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
            msg_add(&warnings, "%s is in use by a running server (%s is locked): the last records may be being "
                               "written, a torn tail may be a write in progress", dir, lockp);
        close(lfd);
    }

    /* Snapshots, and what else lies in the directory. */
    VSnap *snaps = NULL;
    size_t nsnaps = 0;
    NameList corrupt = {NULL, 0}, stmp = {NULL, 0}, wtmp = {NULL, 0}, disc = {NULL, 0};
    DIR *d = opendir(dir);
    if (!d)
        return ctl_fail("cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        int64_t z;
        if (walf_parse_snap_name(e->d_name, &z) == 0) {
            snaps = xrealloc(snaps, (nsnaps + 1) * sizeof *snaps);
            memset(&snaps[nsnaps], 0, sizeof *snaps);
            snprintf(snaps[nsnaps].name, sizeof snaps[nsnaps].name, "%s", e->d_name);
            snprintf(snaps[nsnaps].path, sizeof snaps[nsnaps].path, "%s/%s", dir, e->d_name);
            snaps[nsnaps].zxid = z;
            nsnaps++;
        } else if (strncmp(e->d_name, "snapshot.", 9) == 0 && has_suffix(e->d_name, ".corrupt")) {
            names_add(&corrupt, e->d_name);
        } else if (strncmp(e->d_name, "snapshot.", 9) == 0 && has_suffix(e->d_name, ".tmp")) {
            names_add(&stmp, e->d_name);
        }
    }
    closedir(d);
    if (nsnaps)
        qsort(snaps, nsnaps, sizeof *snaps, cmp_vsnap_desc);
    for (size_t i = 0; i < nsnaps; i++)
        check_snapshot(&snaps[i]);

    SegFile *files = NULL;
    size_t nsegs = 0;
    int have_waldir = is_dir(waldir);
    if (have_waldir && list_segments(waldir, &files, &nsegs, &disc, &wtmp, err, sizeof err) < 0) {
        msg_add(&errors, "%s", err);
        vd.fail = vd.fail_hard = 1;
    }
    VSeg *segs = xcalloc(nsegs ? nsegs : 1, sizeof *segs);
    for (size_t i = 0; i < nsegs; i++) {
        segs[i].f = files[i];
        check_segment(&segs[i]);
    }
    free(files);

    for (size_t i = 0; i < stmp.n; i++)
        msg_add(&notes, "%s/%s: left by an interrupted snapshot; recovery removes it", dir, stmp.v[i]);
    for (size_t i = 0; i < wtmp.n; i++)
        msg_add(&notes, "%s/%s: left by an interrupted segment creation; recovery removes it", waldir, wtmp.v[i]);
    for (size_t i = 0; i < corrupt.n; i++)
        msg_add(&notes, "%s/%s: set aside earlier as corrupt (never read)", dir, corrupt.v[i]);
    for (size_t i = 0; i < disc.n; i++)
        msg_add(&notes, "%s/%s: set aside earlier by accept_truncation (never read)", waldir, disc.v[i]);

    /* ---- recovery, as storage_file.c does it ---- */
    /* 1. The newest snapshot that verifies; corrupt ones would be set aside. */
    size_t bad_snaps = 0;
    int64_t S = 0;
    int have_snap = 0;
    for (size_t i = 0; i < nsnaps && !vd.fail; i++) {
        VSnap *s = &snaps[i];
        if (have_snap) {
            if (s->status < 0)
                damage_add(&damage, &warnings, "older snapshot %s is %s (%s): not needed now, but no fallback",
                        s->path, s->status == -1 ? "unreadable" : "corrupt", s->why);
            continue;
        }
        if (s->status == -1) {
            msg_add(&errors, "cannot read snapshot %s: %s", s->path, s->why);
            vd.fail = vd.fail_hard = 1;
            break;
        }
        if (s->status == -2) {
            bad_snaps++;
            damage_add(&damage, &warnings, "snapshot %s is corrupt (%s); recovery would fall back to %s and rename it to %s.corrupt",
                    s->path, s->why, i + 1 < nsnaps ? "the previous snapshot" : "the WAL alone", s->path);
            continue;
        }
        if (s->status == -3) {
            msg_add(&errors, "the server could not load snapshot %s: %s", s->path, s->why);
            vd.fail = vd.fail_hard = 1;
            break;
        }
        have_snap = 1;
        S = s->zxid;
        vd.snap = s;
        vd.snap_zxid = S;
    }

    /* 2./3. Where replay starts. */
    size_t start = 0, end = nsegs;
    int found = 0;
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].hdr == 0 && segs[i].h.prev_zxid <= S) {
            start = i;
            found = 1;
        }
    for (size_t i = 0; i < nsegs; i++)
        if (segs[i].hdr == -1) {
            msg_add(&errors, "cannot read WAL segment %s: %s", segs[i].f.path, segs[i].why);
            vd.fail = vd.fail_hard = 1;
        }
    int64_t accept_last = -1;      /* where accept_truncation would stop (zxid), -1 unknown */
    if (!vd.fail && nsegs == 0 && !have_snap && bad_snaps) {
        msg_add(&errors, "no usable snapshot in %s (%zu corrupt, renamed *.corrupt) and no WAL: refusing to start with "
                         "an empty tree", dir, bad_snaps);
        vd.fail = vd.fail_hard = 1;
    }
    if (!vd.fail && nsegs && !found) {
        const VSeg *f = &segs[0];
        for (size_t i = 0; i < nsegs; i++)
            if (segs[i].hdr == 0) {
                f = &segs[i];
                break;
            }
        char base[120];
        if (have_snap)
            snprintf(base, sizeof base, "the newest usable snapshot covers up to zxid 0x%" PRIx64, (uint64_t)S);
        else
            snprintf(base, sizeof base, "there is no usable snapshot%s", bad_snaps ? " (the others are corrupt)" : "");
        if (f->hdr != 0)
            msg_add(&errors, "WAL segment %s: bad header (%s), and %s", f->f.path, f->why, base);
        else
            msg_add(&errors,
                    "WAL segment %s starts after zxid 0x%" PRIx64 ", but %s: the transactions in between are missing "
                    "(a deleted segment or snapshot?)", f->f.path, (uint64_t)f->h.prev_zxid, base);
        vd.fail = 1;
        if (!have_snap)
            vd.fail_hard = 1;
        else
            accept_last = S;
        end = 0;
    }
    /* 4. Headers and numbering from the start on. */
    for (size_t i = start; found && !vd.fail && i < end; i++) {
        char msg[PATH_MAX * 2 + 300] = "";
        if (segs[i].hdr != 0)
            snprintf(msg, sizeof msg, "WAL segment %s: bad header (%s)", segs[i].f.path, segs[i].why);
        else if (i > start && segs[i].f.seq == segs[i - 1].f.seq)
            snprintf(msg, sizeof msg, "two WAL segments with sequence number %" PRIu64 ": %s and %s in %s",
                     segs[i].f.seq, segs[i - 1].f.name, segs[i].f.name, waldir);
        else if (i > start && segs[i].f.seq != segs[i - 1].f.seq + 1)
            walf_missing_segment_msg(msg, sizeof msg, segs[i - 1].f.seq + 1, waldir, segs[i - 1].f.name,
                                     segs[i].f.name,
                                     walf_seg_last_zxid(segs[i - 1].f.path, segs[i - 1].h.prev_zxid));
        if (!msg[0])
            continue;
        msg_add(&errors, "%s", msg);
        vd.fail = 1;
        if (i == start)
            vd.fail_hard = 1;
        end = i;      /* accept_truncation keeps the log up to the end of segment i-1 */
        break;
    }
    /* 5./6. Replay. */
    int64_t wal_last = found && end > start ? segs[start].h.prev_zxid : S;
    int64_t replay_prev = S;     /* zxid of the last record replayed, or the snapshot's */
    int gaps = 0;                /* jumps in the zxids replayed */
    int cut_done = 0;
    for (size_t i = start; found && !vd.fail_hard && !cut_done && i < end; i++) {
        const VSeg *g = &segs[i];
        if (i > start && g->h.prev_zxid != wal_last) {
            msg_add(&errors,
                    "WAL segment %s starts after zxid 0x%" PRIx64 " but %s ends at zxid 0x%" PRIx64
                    ": the transactions in between are missing",
                    g->f.path, (uint64_t)g->h.prev_zxid, segs[i - 1].f.name, (uint64_t)wal_last);
            vd.fail = 1;
            break;
        }
        if (g->st.nrecords && g->first_rec != g->h.first_zxid) {
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": first record has zxid 0x%" PRIx64 ", the header says 0x%" PRIx64
                    ": the log is damaged. Set accept_truncation: true to recover up to zxid 0x%" PRIx64
                    " and drop the rest",
                    g->f.path, g->first_rec_off, (uint64_t)g->first_rec, (uint64_t)g->h.first_zxid,
                    (uint64_t)g->h.prev_zxid);
            vd.fail = 1;
            cut_done = 1;
            break;
        }
        /* Records the server would apply: zxid > S. */
        if (g->bad_bodies && g->bad_body_zxid > S) {
            msg_add(&errors,
                    "the server could not apply the transaction at zxid 0x%" PRIx64 " (WAL segment %s, offset %" PRIu64
                    "): %s", (uint64_t)g->bad_body_zxid, g->f.path, g->bad_body_off, g->bad_body_why);
            vd.fail = vd.fail_hard = 1;
            break;
        } else if (g->bad_bodies) {
            damage_add(&damage, &warnings, "%" PRIu64 " records of WAL segment %s do not decode (first: zxid 0x%" PRIx64
                               ", offset %" PRIu64 ": %s); the snapshot covers them",
                    g->bad_bodies, g->f.path, (uint64_t)g->bad_body_zxid, g->bad_body_off, g->bad_body_why);
        }
        if (!vd.wal_first && g->first_rec)
            vd.wal_first = g->first_rec;
        /* The records recovery would replay (zxid > S), in order.  Within
         * one epoch every zxid the core hands out is logged, so the zxids
         * replayed follow each other (the snapshot's, then +1, +2, ...).  A
         * jump means transactions that are neither in the snapshot nor in
         * the WAL, and recovery, which only checks that zxids increase,
         * would replay across it without a word: reported as damage.  (It
         * happens when the snapshot that covered them is set aside and an
         * older one is used, e.g. after a member installed its leader's
         * snapshot, SNAP, over a log that stopped earlier.) */
        {
            WalfSegment seg;
            char why[300];
            if (walf_seg_open(&seg, g->f.path, why, sizeof why) == 0) {
                WalfIter it;
                WalfRecord rec;
                WalfStop st;
                walf_iter_init(&it, &seg);
                while (walf_iter_next(&it, &rec, &st)) {
                    if (rec.zxid <= S)
                        continue;
                    vd.replay++;
                    if ((rec.zxid >> 32) == (replay_prev >> 32) && rec.zxid != replay_prev + 1) {
                        gaps++;
                        damage_add(&damage, &warnings,
                                   "WAL segment %s, offset %" PRIu64 ": zxid 0x%" PRIx64 " follows 0x%" PRIx64
                                   " (%s): the %" PRId64 " transactions 0x%" PRIx64 "..0x%" PRIx64
                                   " are neither in %s nor in the WAL, and recovery would replay across the gap "
                                   "without an error: they would be missing from the tree",
                                   g->f.path, rec.offset, (uint64_t)rec.zxid, (uint64_t)replay_prev,
                                   replay_prev == S ? (have_snap ? "the snapshot's zxid" : "the start of history")
                                                    : "the record before",
                                   rec.zxid - replay_prev - 1, (uint64_t)(replay_prev + 1), (uint64_t)(rec.zxid - 1),
                                   have_snap ? "the snapshot recovery would load" : "any snapshot");
                    }
                    replay_prev = rec.zxid;
                }
                walf_seg_close(&seg);
            }
        }
        wal_last = g->st.last_zxid;
        int is_last = i == nsegs - 1;
        uint64_t nz = g->st.nonzero_end > g->st.offset ? g->st.nonzero_end - g->st.offset : 0;
        if (g->st.kind == WALF_STOP_CLEAN) {
            if (is_last && g->st.nrecords == 0)
                msg_add(&notes, "WAL segment %s holds no record: recovery removes it", g->f.path);
            continue;
        }
        if (g->st.kind == WALF_STOP_TORN && is_last) {
            vd.truncate = 1;
            if (g->st.n_after)
                msg_add(&warnings,
                        "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): recovery would "
                        "drop %" PRIu64 " bytes, including %" PRIu64 " complete records (zxid 0x%" PRIx64 "..0x%" PRIx64
                        ") of the unfinished last write, never acknowledged",
                        g->f.path, g->st.offset, (uint64_t)g->st.last_zxid, g->st.reason, nz, g->st.n_after,
                        (uint64_t)g->st.first_after_zxid, (uint64_t)g->st.last_after_zxid);
            else
                msg_add(&warnings,
                        "WAL segment %s: torn tail at offset %" PRIu64 " after zxid 0x%" PRIx64 " (%s): recovery would "
                        "drop %" PRIu64 " bytes",
                        g->f.path, g->st.offset, (uint64_t)g->st.last_zxid, g->st.reason, nz);
            continue;
        }
        if (g->st.kind == WALF_STOP_CORRUPT)
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                    "; valid records written later follow (offset %" PRIu64 ", zxid 0x%" PRIx64
                    "): the log is damaged, not torn. Set accept_truncation: true to recover up to zxid 0x%" PRIx64
                    " and drop the rest",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid, g->st.later_offset,
                    (uint64_t)g->st.later_zxid, (uint64_t)g->st.last_zxid);
        else
            msg_add(&errors,
                    "WAL segment %s, offset %" PRIu64 ": %s in the record after zxid 0x%" PRIx64
                    ", in a segment that is not the last one (%zu follow): the log is damaged, not torn. Set "
                    "accept_truncation: true to recover up to zxid 0x%" PRIx64 " and drop the rest",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid, nsegs - 1 - i,
                    (uint64_t)g->st.last_zxid);
        if (g->st.n_after)
            msg_add(&notes, "with accept_truncation: true, %" PRIu64 " bytes of %s (holding at least %" PRIu64
                            " valid records, zxid 0x%" PRIx64 "..0x%" PRIx64 ") after zxid 0x%" PRIx64 " would be LOST",
                    nz, g->f.path, g->st.n_after, (uint64_t)g->st.first_after_zxid, (uint64_t)g->st.last_after_zxid,
                    (uint64_t)g->st.last_zxid);
        vd.fail = 1;
        cut_done = 1;
        break;
    }
    if (vd.fail && !vd.fail_hard && accept_last < 0)
        accept_last = wal_last > S ? wal_last : S;
    vd.accept_zxid = accept_last;
    vd.last_zxid = wal_last > S ? wal_last : S;
    vd.wal_last = wal_last;
    /* Damage in files recovery would not read (segments before the replay
     * start, older snapshots): reported, they are the fallback. */
    for (size_t i = 0; i < nsegs; i++) {
        const VSeg *g = &segs[i];
        if (g->hdr == -2 && !(found && i >= start && i < end))
            damage_add(&damage, &warnings, "WAL segment %s: bad header (%s)", g->f.path, g->why);
        if (found && i >= start)
            continue;
        if (g->hdr == 0 && g->st.kind != WALF_STOP_CLEAN)
            damage_add(&damage, &warnings, "WAL segment %s (before the replay start, kept for older snapshots), offset %" PRIu64
                               ": %s in the record after zxid 0x%" PRIx64 ": damaged",
                    g->f.path, g->st.offset, g->st.reason, (uint64_t)g->st.last_zxid);
        if (g->hdr == 0 && g->bad_bodies)
            damage_add(&damage, &warnings, "%" PRIu64 " records of WAL segment %s do not decode (first: zxid 0x%" PRIx64
                               ", offset %" PRIu64 ": %s)",
                    g->bad_bodies, g->f.path, (uint64_t)g->bad_body_zxid, g->bad_body_off, g->bad_body_why);
    }
    if (!have_snap && !vd.fail && nsegs == 0)
        msg_add(&notes, "no snapshot and no WAL: a new, empty data directory");

    const char *status = vd.fail ? "fail" : vd.truncate ? "truncate" : damage ? "damaged" : "ok";
    int rc = strcmp(status, "ok") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;

    /* ---- report ---- */
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (a.json) {
        corral_strbuf_puts(&sb, "{");
        json_kstr(&sb, "dir", dir);
        json_kstr(&sb, "status", status);
        json_key(&sb, "snapshot");
        if (vd.snap) {
            corral_strbuf_puts(&sb, "{");
            json_kstr(&sb, "file", vd.snap->path);
            json_khex(&sb, "zxid", vd.snap->zxid);
            json_kint(&sb, "size", (int64_t)vd.snap->file_size);
            json_kint(&sb, "znodes", (int64_t)vd.snap->nnodes);
            corral_strbuf_puts(&sb, "}");
        } else {
            corral_strbuf_puts(&sb, "null");
        }
        json_kint(&sb, "replay_records", (int64_t)vd.replay);
        if (!vd.fail_hard)
            json_khex(&sb, "recovers_to_zxid", vd.fail ? vd.accept_zxid : vd.last_zxid);
        else
            json_kstr(&sb, "recovers_to_zxid", "none");
        json_kbool(&sb, "accept_truncation_needed", vd.fail && !vd.fail_hard);
        json_key(&sb, "snapshots");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < nsnaps; i++) {
            const VSnap *s = &snaps[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kstr(&sb, "file", s->path);
            json_khex(&sb, "zxid", s->zxid);
            json_kint(&sb, "size", (int64_t)s->file_size);
            json_kstr(&sb, "status", s->status == 0 ? "ok" : s->status == -1 ? "unreadable" : s->status == -2 ? "corrupt"
                                                                                                          : "bad payload");
            if (s->status)
                json_kstr(&sb, "reason", s->why);
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        json_key(&sb, "segments");
        corral_strbuf_puts(&sb, "[");
        for (size_t i = 0; i < nsegs; i++) {
            const VSeg *g = &segs[i];
            corral_strbuf_puts(&sb, i ? ",{" : "{");
            json_kstr(&sb, "file", g->f.path);
            json_kint(&sb, "sequence", (int64_t)g->f.seq);
            if (g->hdr) {
                json_kstr(&sb, "status", g->hdr == -1 ? "unreadable" : "bad header");
                json_kstr(&sb, "reason", g->why);
            } else {
                json_khex(&sb, "prev_zxid", g->h.prev_zxid);
                json_kint(&sb, "records", (int64_t)g->st.nrecords);
                if (g->first_rec)
                    json_khex(&sb, "first_zxid", g->first_rec);
                json_khex(&sb, "last_zxid", g->st.last_zxid);
                json_kstr(&sb, "status", g->st.kind == WALF_STOP_CLEAN ? "clean" : g->st.kind == WALF_STOP_TORN ? "torn"
                                                                                                              : "damaged");
                json_kint(&sb, "end_offset", (int64_t)g->st.offset);
                if (g->st.kind != WALF_STOP_CLEAN)
                    json_kstr(&sb, "reason", g->st.reason);
                if (g->bad_bodies)
                    json_kint(&sb, "undecodable_records", (int64_t)g->bad_bodies);
            }
            corral_strbuf_puts(&sb, "}");
        }
        corral_strbuf_puts(&sb, "]");
        Msgs *lists[] = {&errors, &warnings, &notes};
        const char *keys[] = {"errors", "warnings", "notes"};
        for (int k = 0; k < 3; k++) {
            json_key(&sb, keys[k]);
            corral_strbuf_puts(&sb, "[");
            for (size_t i = 0; i < lists[k]->n; i++) {
                if (i)
                    corral_strbuf_puts(&sb, ",");
                json_cstr(&sb, lists[k]->v[i]);
            }
            corral_strbuf_puts(&sb, "]");
        }
        corral_strbuf_puts(&sb, "}");
        emit(&sb);
    } else {
        corral_strbuf_printf(&sb, "data directory %s", dir);
        emit(&sb);
        for (size_t i = 0; i < nsnaps; i++) {
            const VSnap *s = &snaps[i];
            corral_strbuf_printf(&sb, "snapshot %s: zxid 0x%" PRIx64 ", %" PRIu64 " bytes: ", s->name, (uint64_t)s->zxid,
                                 s->file_size);
            if (s->status == 0)
                corral_strbuf_printf(&sb, "ok (%" PRIu64 " znodes)%s", s->nnodes, s == vd.snap ? ", newest valid" : "");
            else
                corral_strbuf_printf(&sb, "%s (%s)",
                                     s->status == -1 ? "UNREADABLE" : s->status == -2 ? "CORRUPT" : "BAD PAYLOAD", s->why);
            emit(&sb);
        }
        if (!nsnaps) {
            corral_strbuf_puts(&sb, "no snapshot");
            emit(&sb);
        }
        for (size_t i = 0; i < nsegs; i++) {
            const VSeg *g = &segs[i];
            corral_strbuf_printf(&sb, "WAL segment %s: ", g->f.name);
            if (g->hdr) {
                corral_strbuf_printf(&sb, "%s (%s)", g->hdr == -1 ? "UNREADABLE" : "BAD HEADER", g->why);
            } else {
                corral_strbuf_printf(&sb, "sequence %" PRIu64 ", prev zxid 0x%" PRIx64 ", %" PRIu64 " records",
                                     g->f.seq, (uint64_t)g->h.prev_zxid, g->st.nrecords);
                if (g->st.nrecords)
                    corral_strbuf_printf(&sb, " (zxid 0x%" PRIx64 "..0x%" PRIx64 ")", (uint64_t)g->first_rec,
                                         (uint64_t)g->st.last_zxid);
                if (g->st.kind == WALF_STOP_CLEAN)
                    corral_strbuf_printf(&sb, ", clean end at offset %" PRIu64, g->st.offset);
                else
                    corral_strbuf_printf(&sb, ", %s at offset %" PRIu64 " (%s)",
                                         g->st.kind == WALF_STOP_TORN ? "TORN" : "DAMAGED", g->st.offset, g->st.reason);
                if (g->bad_bodies)
                    corral_strbuf_printf(&sb, ", %" PRIu64 " records do not decode", g->bad_bodies);
            }
            emit(&sb);
        }
        if (!nsegs) {
            corral_strbuf_printf(&sb, "no WAL segment%s", have_waldir ? "" : " (no wal/ directory)");
            emit(&sb);
        }
        for (size_t i = 0; i < notes.n; i++) {
            corral_strbuf_printf(&sb, "note: %s", notes.v[i]);
            emit(&sb);
        }
        for (size_t i = 0; i < warnings.n; i++) {
            corral_strbuf_printf(&sb, "WARNING: %s", warnings.v[i]);
            emit(&sb);
        }
        for (size_t i = 0; i < errors.n; i++) {
            corral_strbuf_printf(&sb, "ERROR: %s", errors.v[i]);
            emit(&sb);
        }
        if (!vd.fail) {
            if (vd.snap)
                corral_strbuf_printf(&sb, "recovery: snapshot at zxid 0x%" PRIx64 ", then %" PRIu64
                                          " WAL records; last zxid 0x%" PRIx64,
                                     (uint64_t)vd.snap_zxid, vd.replay, (uint64_t)vd.last_zxid);
            else
                corral_strbuf_printf(&sb, "recovery: no snapshot, %" PRIu64 " WAL records; last zxid 0x%" PRIx64,
                                     vd.replay, (uint64_t)vd.last_zxid);
        } else if (vd.fail_hard) {
            corral_strbuf_puts(&sb, "recovery: would FAIL (see ERROR); accept_truncation cannot help");
        } else {
            corral_strbuf_printf(&sb,
                                 "recovery: would FAIL (see ERROR); with accept_truncation: true it would recover up "
                                 "to zxid 0x%" PRIx64 " and drop the rest",
                                 (uint64_t)vd.accept_zxid);
        }
        emit(&sb);
        corral_strbuf_printf(&sb, "result: %s",
                             rc == CTL_EXIT_OK ? "OK"
                             : vd.fail         ? "FAIL: recovery would stop with an error"
                             : gaps            ? "DAMAGED: recovery would succeed but skip transactions (see WARNING)"
                             : vd.truncate     ? "TRUNCATE: recovery would cut a torn tail"
                                               : "DAMAGED: a file is damaged (see WARNING); recovery would go around it");
        emit(&sb);
    }
    corral_strbuf_free(&sb);
    names_free(&errors);
    names_free(&warnings);
    names_free(&notes);
    names_free(&corrupt);
    names_free(&stmp);
    names_free(&wtmp);
    names_free(&disc);
    free(snaps);
    free(segs);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return rc;
}
