/*
 * src/bin/corralctl/storage_tool.c: shared by the commands reading the files of the storage_file
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
 * writes it.  `verify` does not apply the recovery rules itself: it prints
 * the plan of storage_file's recovery planner (recovery_plan.c, compiled in
 * through recovery_plan_link.c), the one sf_recover carries out, so its
 * messages are the server's own.  Nothing is changed on disk.
 *
 * Nothing here writes to the data directory.  doc/storage-tools.md is the
 * user documentation (output formats, exit codes).
 *
 * Exit status: 0 everything read is sound; 1 damage, a torn tail, a file
 * that cannot be read, or (verify) recovery would fail or truncate; 2 bad
 * usage.
 */
#include "storage_tool.h"

/* ---- output helpers ------------------------------------------------------ */

void emit(CorralStrbuf *sb)
{
    corral_strbuf_append(sb, "\n", 1);
    fwrite(sb->data, 1, sb->len, stdout);
    corral_strbuf_reset(sb);
}

void fmt_time(char *buf, size_t n, int64_t ms)
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
void json_text(CorralStrbuf *sb, const void *p, int32_t len)
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
void json_bytes(CorralStrbuf *sb, const void *p, int32_t len)
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

void json_cstr(CorralStrbuf *sb, const char *s)
{
    json_text(sb, s, (int32_t)strlen(s));
}

void json_key(CorralStrbuf *sb, const char *key)
{
    if (sb->len && sb->data[sb->len - 1] != '{' && sb->data[sb->len - 1] != '[')
        corral_strbuf_append(sb, ",", 1);
    corral_strbuf_printf(sb, "\"%s\":", key);
}

void json_kstr(CorralStrbuf *sb, const char *key, const char *v)
{
    json_key(sb, key);
    json_cstr(sb, v);
}

void json_khex(CorralStrbuf *sb, const char *key, int64_t v)
{
    json_key(sb, key);
    corral_strbuf_printf(sb, "\"0x%" PRIx64 "\"", (uint64_t)v);
}

void json_kint(CorralStrbuf *sb, const char *key, int64_t v)
{
    json_key(sb, key);
    corral_strbuf_printf(sb, "%" PRId64, v);
}

void json_kbool(CorralStrbuf *sb, const char *key, int v)
{
    json_key(sb, key);
    corral_strbuf_puts(sb, v ? "true" : "false");
}

/* Text: "..." with printable ASCII, \xNN otherwise, cut after max bytes. */
void text_bytes(CorralStrbuf *sb, ZkBytes b, size_t max)
{
    wire_dump_bytes(sb, b, max);
}

/* ---- arguments ----------------------------------------------------------- */


/* Own options only (the global -s/--timeout mean nothing here).  Returns -1
 * (usage error printed), 0, or 1 for --help (printed). */
int parse_args(int argc, char **argv, int allow_data, void (*usage)(FILE *), Args *a)
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
        } else if (!dashdash && strcmp(s, "--wal-dir") == 0) {
            if (i + 1 >= argc) {
                ctl_usage_error("%s: --wal-dir needs a directory", argv[0]);
                return -1;
            }
            a->wal_dir = argv[++i];
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

void text_acl(CorralStrbuf *sb, const JuteVec_ACL *v)
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

void json_acl(CorralStrbuf *sb, const JuteVec_ACL *v)
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
void f_path(CorralStrbuf *sb, int json, ZkBytes p)
{
    if (json) {
        json_key(sb, "path");
        json_text(sb, p.data, p.len);
    } else {
        corral_strbuf_puts(sb, " path=");
        text_bytes(sb, p, 0);
    }
}

void f_data(CorralStrbuf *sb, int json, ZkBytes d)
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

void f_acl(CorralStrbuf *sb, int json, const JuteVec_ACL *acl)
{
    if (json) {
        json_key(sb, "acl");
        json_acl(sb, acl);
    } else {
        corral_strbuf_puts(sb, " acl=");
        text_acl(sb, acl);
    }
}

void f_int(CorralStrbuf *sb, int json, const char *name, int64_t v)
{
    if (json)
        json_kint(sb, name, v);
    else
        corral_strbuf_printf(sb, " %s=%" PRId64, name, v);
}

void f_bool(CorralStrbuf *sb, int json, const char *name, int v)
{
    if (json)
        json_kbool(sb, name, v);
    else
        corral_strbuf_printf(sb, " %s=%s", name, v ? "true" : "false");
}

const char *op_name(int type)
{
    const char *n = zk_op_name(type);
    return strcmp(n, "unknown") == 0 ? NULL : n;
}

/* Appends the decoded (sub)transaction of `type` read from r: text
 * "create path=... data=..." or JSON fields ("type":"create","path":...).
 * 0, or -1 when the bytes do not decode (why in `why`). */
int render_txn(CorralStrbuf *sb, int json, int type, RBuf *r, Arena *a, int depth, char *why, size_t whylen)
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
    case ZOO_OP_SETDATA:
    case ZOO_OP_RECONFIG: {   /* a SetDataTxn of /zookeeper/config */
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
int decode_body(const WalfRecord *rec, CorralStrbuf *sb, int json, TxnHeader *h, char *why, size_t whylen)
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

/* ---- names and files ------------------------------------------------------
 * Directories are listed by recovery_plan.c (rp_list_segments,
 * rp_list_snapshots), as the server's recovery lists them. */

void names_add(NameList *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- the core's snapshot payload ----------------------------------------- */





int read_node(RBuf *r, SnapNode *n)
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

int cmp_sess(const void *a, const void *b)
{
    const SnapSession *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}


size_t parent_len(ZkBytes p)
{
    int32_t i = p.len - 1;
    while (i > 0 && p.data[i] != '/')
        i--;
    return i <= 0 ? 1 : (size_t)i;
}

/* Parses (and checks the structure of) the core's snapshot bytes, as
 * server_load_snapshot reads them.  0, or -1 with why.  With `expect_zxid`
 * >= 0, the payload's zxid must be that one. */
int parse_payload(const void *data, size_t len, int64_t expect_zxid, SnapPayload *sp, char *why, size_t whylen)
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

void payload_free(SnapPayload *sp)
{
    free(sp->sessions);
    free(sp->acls);
    free(sp->nchildren);
    memset(sp, 0, sizeof *sp);
}

void acl_entries(const SnapPayload *sp, const SnapAcl *a, CorralStrbuf *sb, int json)
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

