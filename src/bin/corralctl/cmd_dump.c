/*
 * src/bin/corralctl/cmd_dump.c: corralctl dump -s HOST:PORT [--path /x]
 * and corralctl load -s HOST:PORT FILE: a logical export and import of a
 * subtree over the client protocol (data, ACLs, node kinds), for moving
 * configuration between environments.  Any ZooKeeper-compatible server.
 *
 * The file: one JSON object, one node per line in pre-order:
 *   {"corral_dump":1,"server":"...","path":"/x","nodes":[
 *   {"path":"/x","kind":"persistent","data":"...","acl":[{"perms":31,"scheme":"world","id":"anyone"}]},
 *   ...
 *   ]}
 * Strings are bytes: printable ASCII as is, every other byte as \u00XX
 * (json_bytes), so binary data round-trips.  kind: persistent, container,
 * ttl (with "ttl": ms) or ephemeral (dumped, never loaded: it belongs to a
 * session).  Stats (versions, zxids, times) are not kept: this is a logical
 * copy, not a backup.
 */
#include <getopt.h>
#include <poll.h>
#include <sys/socket.h>

#include "storage_tool.h"

#define FAIL(...) (ctl_fail(__VA_ARGS__), -1)

/* ---- a small blocking client ---------------------------------------------------- */

typedef struct Zc {
    int fd;
    int32_t xid;
    long long deadline_step;   /* timeout per call */
    const CtlServer *srv;
    int timeout_ms;
} Zc;

static int io_all(Zc *z, void *buf, size_t n, int writing)
{
    long long deadline = ctl_now_ms() + z->timeout_ms;
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? send(z->fd, (char *)buf + done, n - done, MSG_NOSIGNAL)
                            : recv(z->fd, (char *)buf + done, n - done, 0);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r == 0) {
            ctl_fail("%s closed the connection", z->srv->label);
            return -1;
        }
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
            ctl_wait(z->fd, writing ? POLLOUT : POLLIN, deadline) == 1)
            continue;
        ctl_fail("%s: %s", z->srv->label, errno == EAGAIN ? "timed out" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Sends one frame (w holds it, framed) and reads one back into *buf. */
static int exchange(Zc *z, WBuf *w, unsigned char **buf, size_t *len)
{
    if (io_all(z, w->data, w->len, 1) < 0)
        return -1;
    unsigned char l4[4];
    if (io_all(z, l4, 4, 0) < 0)
        return -1;
    uint32_t l = (uint32_t)l4[0] << 24 | (uint32_t)l4[1] << 16 | (uint32_t)l4[2] << 8 | l4[3];
    if (l > (64u << 20)) {
        ctl_fail("%s sent a frame of %u bytes", z->srv->label, l);
        return -1;
    }
    *buf = malloc(l ? l : 1);
    if (!*buf)
        return -1;
    *len = l;
    return io_all(z, *buf, l, 0);
}

static int zc_connect(Zc *z, const CtlServer *srv, int timeout_ms)
{
    memset(z, 0, sizeof *z);
    z->srv = srv;
    z->timeout_ms = timeout_ms;
    z->xid = 1;
    z->fd = ctl_connect(srv, ctl_now_ms() + timeout_ms, timeout_ms);
    if (z->fd < 0)
        return -1;
    WBuf w = WBUF_INIT;
    size_t off = wbuf_begin_frame(&w);
    char pw[16] = {0};
    ConnectRequest cr = {0, 0, 30000, 0, {pw, 16}};
    jute_write_ConnectRequest(&w, &cr);
    wbuf_put_bool(&w, 0);
    wbuf_end_frame(&w, off);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = exchange(z, &w, &buf, &len);
    wbuf_free(&w);
    if (rc == 0) {
        RBuf r;
        Arena a;
        ConnectResponse resp;
        arena_init(&a, 256);
        rbuf_init(&r, buf, len);
        if (jute_read_ConnectResponse(&r, &a, &resp) < 0 || resp.sessionId == 0) {
            ctl_fail("%s refused the session", srv->label);
            rc = -1;
        }
        arena_free(&a);
    }
    free(buf);
    if (rc < 0) {
        close(z->fd);
        z->fd = -1;
    }
    return rc;
}

/* One request: body written by `put` after the header.  Returns the
 * ZooKeeper error (0 ok) with the reply body in r (over *buf, which the
 * caller frees), or 1 after printing a transport error. */
static int zc_call(Zc *z, int op, void (*put)(WBuf *, const void *), const void *req, RBuf *r, unsigned char **buf)
{
    WBuf w = WBUF_INIT;
    size_t off = wbuf_begin_frame(&w);
    int32_t xid = op == ZOO_OP_AUTH ? -4 : z->xid++;
    RequestHeader h = {xid, op};
    jute_write_RequestHeader(&w, &h);
    if (put)
        put(&w, req);
    wbuf_end_frame(&w, off);
    size_t len = 0;
    *buf = NULL;
    int rc = exchange(z, &w, buf, &len);
    wbuf_free(&w);
    if (rc < 0)
        return 1;
    Arena a;
    arena_init(&a, 64);
    ReplyHeader rh;
    rbuf_init(r, *buf, len);
    rc = jute_read_ReplyHeader(r, &a, &rh);
    arena_free(&a);
    if (rc < 0) {
        ctl_fail("%s sent a reply that does not decode", z->srv->label);
        return 1;
    }
    return rh.err;
}

static void zc_close(Zc *z)
{
    if (z->fd < 0)
        return;
    RBuf r;
    unsigned char *buf;
    zc_call(z, ZOO_OP_CLOSE_SESSION, NULL, NULL, &r, &buf);
    free(buf);
    close(z->fd);
    z->fd = -1;
}

#define PUT(T) static void put_##T(WBuf *w, const void *r) { jute_write_##T(w, r); }
PUT(GetDataRequest)
PUT(GetACLRequest)
PUT(GetChildrenRequest)
PUT(CreateRequest)
PUT(CreateTTLRequest)
PUT(SetDataRequest)
PUT(SetACLRequest)
PUT(AuthPacket)

static int zc_auth(Zc *z, const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon)
        return ctl_usage_error("--auth needs SCHEME:CREDENTIALS (digest:user:password), not \"%s\"", spec);
    char scheme[64];
    snprintf(scheme, sizeof scheme, "%.*s", (int)(colon - spec), spec);
    AuthPacket ap = {0, zk_bytes_cstr(scheme), zk_bytes_cstr(colon + 1)};
    RBuf r;
    unsigned char *buf;
    int rc = zc_call(z, ZOO_OP_AUTH, put_AuthPacket, &ap, &r, &buf);
    free(buf);
    if (rc)
        return rc == 1 ? CTL_EXIT_FAIL : ctl_fail("authentication as %s failed: %s", scheme, zk_err_name(rc));
    return 0;
}

/* ---- dump ------------------------------------------------------------------------- */

static const char *kind_of(int64_t owner, int64_t *ttl)
{
    *ttl = 0;
    if (owner == 0)
        return "persistent";
    if (owner == OWNER_CONTAINER)
        return "container";
    if (OWNER_IS_TTL(owner)) {
        *ttl = (int64_t)((uint64_t)owner & 0xFFFFFFFFFFULL);
        return "ttl";
    }
    return "ephemeral";
}

static int cmp_cstr(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

/* The node at path and its subtree, in pre-order; /zookeeper (the
 * server's own) is left out unless asked for (top). */
static int dump_node(Zc *z, const char *path, CorralStrbuf *sb, uint64_t *count, int top)
{
    if (!top && strcmp(path, "/zookeeper") == 0)
        return 0;
    RBuf r;
    unsigned char *b1 = NULL, *b2 = NULL, *b3 = NULL;
    Arena a;
    arena_init(&a, 4096);
    int rc = 0;
    GetDataRequest gd = {zk_bytes_cstr(path), 0};
    GetDataResponse data;
    int e = zc_call(z, ZOO_OP_GETDATA, put_GetDataRequest, &gd, &r, &b1);
    if (e == ZERR_NONODE)
        goto out;     /* deleted meanwhile */
    if (e || jute_read_GetDataResponse(&r, &a, &data) < 0) {
        rc = e == 1 ? -1 : FAIL("getData %s: %s", path, e ? zk_err_name(e) : "bad reply");
        goto out;
    }
    GetACLRequest ga = {zk_bytes_cstr(path)};
    GetACLResponse acl;
    e = zc_call(z, ZOO_OP_GETACL, put_GetACLRequest, &ga, &r, &b2);
    if (e || jute_read_GetACLResponse(&r, &a, &acl) < 0) {
        rc = e == 1 ? -1 : FAIL("getACL %s: %s", path, e ? zk_err_name(e) : "bad reply");
        goto out;
    }
    int64_t ttl;
    const char *kind = kind_of(data.stat.ephemeralOwner, &ttl);
    if (*count)
        corral_strbuf_puts(sb, ",\n");
    corral_strbuf_puts(sb, "{\"path\":");
    json_bytes(sb, path, (int32_t)strlen(path));
    corral_strbuf_printf(sb, ",\"kind\":\"%s\"", kind);
    if (ttl)
        corral_strbuf_printf(sb, ",\"ttl\":%lld", (long long)ttl);
    corral_strbuf_puts(sb, ",\"data\":");
    json_bytes(sb, data.data.data, data.data.len);
    corral_strbuf_puts(sb, ",\"acl\":[");
    for (int32_t i = 0; i < acl.acl.count; i++) {
        const ACL *x = &acl.acl.items[i];
        corral_strbuf_printf(sb, "%s{\"perms\":%d,\"scheme\":", i ? "," : "", x->perms);
        json_bytes(sb, x->id.scheme.data, x->id.scheme.len);
        corral_strbuf_puts(sb, ",\"id\":");
        json_bytes(sb, x->id.id.data, x->id.id.len);
        corral_strbuf_puts(sb, "}");
    }
    corral_strbuf_puts(sb, "]}");
    fwrite(sb->data, 1, sb->len, stdout);
    corral_strbuf_reset(sb);
    (*count)++;
    GetChildrenRequest gc = {zk_bytes_cstr(path), 0};
    GetChildrenResponse ch;
    e = zc_call(z, ZOO_OP_GETCHILDREN, put_GetChildrenRequest, &gc, &r, &b3);
    if (e == ZERR_NONODE)
        goto out;
    if (e || jute_read_GetChildrenResponse(&r, &a, &ch) < 0) {
        rc = e == 1 ? -1 : FAIL("getChildren %s: %s", path, e ? zk_err_name(e) : "bad reply");
        goto out;
    }
    /* Sorted: the same tree dumps to the same file. */
    char **names = calloc((size_t)(ch.children.count > 0 ? ch.children.count : 1), sizeof *names);
    for (int32_t i = 0; names && i < ch.children.count; i++)
        names[i] = strndup(ch.children.items[i].data, (size_t)ch.children.items[i].len);
    int32_t nch = ch.children.count > 0 ? ch.children.count : 0;
    free(b3);
    b3 = NULL;
    arena_free(&a);
    arena_init(&a, 64);
    if (!names)
        return FAIL("out of memory");
    qsort(names, (size_t)nch, sizeof *names, cmp_cstr);
    for (int32_t i = 0; i < nch && rc == 0; i++) {
        if (!names[i]) {
            rc = FAIL("out of memory");
            break;
        }
        size_t pl = strlen(path) + strlen(names[i]) + 2;
        char *cp = malloc(pl);
        if (!cp) {
            rc = -1;
            break;
        }
        snprintf(cp, pl, "%s/%s", strcmp(path, "/") == 0 ? "" : path, names[i]);
        rc = dump_node(z, cp, sb, count, 0);
        free(cp);
    }
    for (int32_t i = 0; i < nch; i++)
        free(names[i]);
    free(names);
out:
    free(b1);
    free(b2);
    free(b3);
    arena_free(&a);
    return rc;
}

static void dump_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl dump -s HOST:PORT [--path /x] [--auth SCHEME:CREDENTIALS] > tree.json\n"
            "\n"
            "Writes the subtree at --path (default /, without /zookeeper) over the client\n"
            "protocol: every node's path, kind (persistent, container, ttl, ephemeral),\n"
            "data and ACL, one per line (doc/backup.md, \"Logical export\").  Not a backup:\n"
            "versions, zxids and times are not kept, and it is not one point in time.\n"
            "  --auth digest:user:password   authenticate first (repeatable)\n");
}

int ctl_cmd_dump(CtlOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'}, {"timeout", required_argument, NULL, 't'},
        {"path", required_argument, NULL, 'p'},   {"auth", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *path = "/";
    const char *auths[8];
    int nauth = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:t:p:a:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->server = optarg; break;
        case 't': o->timeout_ms = atoi(optarg) > 0 ? atoi(optarg) : o->timeout_ms; break;
        case 'p': path = optarg; break;
        case 'a':
            if (nauth < 8)
                auths[nauth++] = optarg;
            break;
        case 'h': dump_usage(stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error("dump: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc || path[0] != '/' || (strlen(path) > 1 && path[strlen(path) - 1] == '/'))
        return ctl_usage_error("dump takes -s HOST:PORT and --path /ABSOLUTE/PATH (no trailing /)");
    CtlServer srv;
    char err[300];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0)
        return ctl_usage_error("%s", err);
    Zc z;
    if (zc_connect(&z, &srv, o->timeout_ms) < 0)
        return CTL_EXIT_FAIL;
    for (int i = 0; i < nauth; i++) {
        int r = zc_auth(&z, auths[i]);
        if (r) {
            zc_close(&z);
            return r;
        }
    }
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&sb, "{\"corral_dump\":1,\"server\":");
    json_cstr(&sb, srv.label);
    corral_strbuf_puts(&sb, ",\"path\":");
    json_bytes(&sb, path, (int32_t)strlen(path));
    corral_strbuf_puts(&sb, ",\"nodes\":[\n");
    uint64_t count = 0;
    int rc = dump_node(&z, path, &sb, &count, 1);
    corral_strbuf_puts(&sb, "\n]}\n");
    fwrite(sb.data, 1, sb.len, stdout);
    corral_strbuf_free(&sb);
    zc_close(&z);
    if (rc < 0)
        return CTL_EXIT_FAIL;
    fprintf(stderr, "dumped %" PRIu64 " nodes from %s%s\n", count, srv.label, path);
    return CTL_EXIT_OK;
}

/* ---- load ------------------------------------------------------------------------- */

typedef struct LAcl {
    int32_t perms;
    CorralStrbuf scheme, id;
} LAcl;

typedef struct LNode {
    CorralStrbuf path, data;
    int data_null;
    char kind[16];
    int64_t ttl;
    LAcl acl[16];
    int nacl;
    int open;                  /* created with an open ACL: its own is set at the end */
} LNode;

static void lnode_free(LNode *n)
{
    corral_strbuf_free(&n->path);
    corral_strbuf_free(&n->data);
    for (int i = 0; i < n->nacl; i++) {
        corral_strbuf_free(&n->acl[i].scheme);
        corral_strbuf_free(&n->acl[i].id);
    }
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
        (*p)++;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string of bytes (as json_bytes writes it) into out; 0 or -1. */
static int parse_str(const char **p, CorralStrbuf *out)
{
    skip_ws(p);
    if (**p != '"')
        return -1;
    (*p)++;
    for (;;) {
        char c = *(*p)++;
        if (!c)
            return -1;
        if (c == '"')
            return 0;
        if (c != '\\') {
            corral_strbuf_append(out, &c, 1);
            continue;
        }
        char e = *(*p)++;
        const char *map = strchr("\"\"\\\\//b\bf\fn\nr\rt\t", e);
        if (e == 'u') {
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval((*p)[i]);
                if (h < 0)
                    return -1;
                v = v * 16 + h;
            }
            if (v > 0xff)
                return -1;     /* not a byte: not written by corralctl dump */
            *p += 4;
            unsigned char b = (unsigned char)v;
            corral_strbuf_append(out, &b, 1);
        } else if (e && map && ((map - "\"\"\\\\//b\bf\fn\nr\rt\t") % 2 == 0)) {
            corral_strbuf_append(out, map + 1, 1);
        } else {
            return -1;
        }
    }
}

static int expect(const char **p, char c)
{
    skip_ws(p);
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

/* One node line: {"path":...,"kind":...,["ttl":N,]"data":...,"acl":[...]} */
static int parse_node(const char *line, LNode *n)
{
    memset(n, 0, sizeof *n);
    const char *p = line;
    if (expect(&p, '{') < 0)
        return -1;
    for (;;) {
        CorralStrbuf key = CORRAL_STRBUF_INIT;
        if (parse_str(&p, &key) < 0 || expect(&p, ':') < 0) {
            corral_strbuf_free(&key);
            return -1;
        }
        int rc = 0;
        char k[16];
        snprintf(k, sizeof k, "%.*s", (int)(key.len < 15 ? key.len : 15), key.data ? key.data : "");
        corral_strbuf_free(&key);
        skip_ws(&p);
        if (strcmp(k, "path") == 0) {
            rc = parse_str(&p, &n->path);
        } else if (strcmp(k, "kind") == 0) {
            CorralStrbuf v = CORRAL_STRBUF_INIT;
            rc = parse_str(&p, &v);
            snprintf(n->kind, sizeof n->kind, "%.*s", (int)(v.len < 15 ? v.len : 15), v.data ? v.data : "");
            corral_strbuf_free(&v);
        } else if (strcmp(k, "ttl") == 0) {
            char *end;
            n->ttl = strtoll(p, &end, 10);
            rc = end == p ? -1 : 0;
            p = end;
        } else if (strcmp(k, "data") == 0) {
            if (strncmp(p, "null", 4) == 0) {
                n->data_null = 1;
                p += 4;
            } else {
                rc = parse_str(&p, &n->data);
            }
        } else if (strcmp(k, "acl") == 0) {
            rc = expect(&p, '[');
            skip_ws(&p);
            while (rc == 0 && *p != ']') {
                if (n->nacl == (int)(sizeof n->acl / sizeof n->acl[0]))
                    return -1;
                LAcl *a = &n->acl[n->nacl++];
                rc = expect(&p, '{');
                for (int f = 0; rc == 0 && f < 3; f++) {
                    CorralStrbuf ak = CORRAL_STRBUF_INIT;
                    rc = parse_str(&p, &ak) < 0 || expect(&p, ':') < 0 ? -1 : 0;
                    skip_ws(&p);
                    if (rc == 0 && ak.len == 5 && memcmp(ak.data, "perms", 5) == 0) {
                        char *end;
                        a->perms = (int32_t)strtol(p, &end, 10);
                        rc = end == p ? -1 : 0;
                        p = end;
                    } else if (rc == 0 && ak.len == 6 && memcmp(ak.data, "scheme", 6) == 0) {
                        rc = parse_str(&p, &a->scheme);
                    } else if (rc == 0 && ak.len == 2 && memcmp(ak.data, "id", 2) == 0) {
                        rc = parse_str(&p, &a->id);
                    } else {
                        rc = -1;
                    }
                    corral_strbuf_free(&ak);
                    skip_ws(&p);
                    if (rc == 0 && *p == ',')
                        p++;
                }
                if (rc == 0)
                    rc = expect(&p, '}');
                skip_ws(&p);
                if (rc == 0 && *p == ',')
                    p++;
                skip_ws(&p);
            }
            if (rc == 0)
                rc = expect(&p, ']');
        } else {
            rc = -1;
        }
        if (rc < 0)
            return -1;
        skip_ws(&p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}')
            break;
        return -1;
    }
    if (!n->path.len || n->path.data[0] != '/' || !n->kind[0])
        return -1;
    corral_strbuf_append(&n->path, "", 1);   /* NUL terminated for messages */
    n->path.len--;
    return 0;
}

static void to_jacl(const LNode *n, ACL *items, JuteVec_ACL *v, int open)
{
    static char world[] = "world", anyone[] = "anyone";
    if (open) {
        items[0] = (ACL){31, {{world, 5}, {anyone, 6}}};
        *v = (JuteVec_ACL){1, items};
        return;
    }
    for (int i = 0; i < n->nacl; i++)
        items[i] = (ACL){n->acl[i].perms, {{n->acl[i].scheme.data, (int32_t)n->acl[i].scheme.len},
                                          {n->acl[i].id.data, (int32_t)n->acl[i].id.len}}};
    *v = (JuteVec_ACL){n->nacl, items};
}

static int set_acl(Zc *z, const LNode *n)
{
    ACL items[16];
    JuteVec_ACL v;
    to_jacl(n, items, &v, 0);
    SetACLRequest sa = {{n->path.data, (int32_t)n->path.len}, v, -1};
    RBuf r;
    unsigned char *buf;
    int e = zc_call(z, ZOO_OP_SETACL, put_SetACLRequest, &sa, &r, &buf);
    free(buf);
    if (e)
        return e == 1 ? -1 : FAIL("setACL %s: %s", n->path.data, zk_err_name(e));
    return 0;
}

static int set_data(Zc *z, const LNode *n)
{
    SetDataRequest sd = {{n->path.data, (int32_t)n->path.len},
                         n->data_null ? ZK_BYTES_NULL : (ZkBytes){n->data.data ? n->data.data : "", (int32_t)n->data.len},
                         -1};
    RBuf r;
    unsigned char *buf;
    int e = zc_call(z, ZOO_OP_SETDATA, put_SetDataRequest, &sd, &r, &buf);
    free(buf);
    if (e)
        return e == 1 ? -1 : FAIL("setData %s: %s", n->path.data, zk_err_name(e));
    return 0;
}

/* Creates n (has_children: with an open ACL, its own set at the end, so
 * that its children can be created whatever its ACL allows). */
static int create_node(Zc *z, LNode *n, int has_children, int update, uint64_t *created, uint64_t *updated)
{
    ACL items[16];
    JuteVec_ACL v;
    n->open = has_children;
    to_jacl(n, items, &v, n->open);
    ZkBytes path = {n->path.data, (int32_t)n->path.len};
    ZkBytes data = n->data_null ? ZK_BYTES_NULL : (ZkBytes){n->data.data ? n->data.data : "", (int32_t)n->data.len};
    RBuf r;
    unsigned char *buf = NULL;
    int e;
    if (strcmp(n->kind, "ttl") == 0) {
        CreateTTLRequest c = {path, data, v, 5, n->ttl};
        e = zc_call(z, ZOO_OP_CREATE_TTL, put_CreateTTLRequest, &c, &r, &buf);
    } else {
        int container = strcmp(n->kind, "container") == 0;
        if (!container && strcmp(n->kind, "persistent") != 0) {
            return FAIL("%s: unknown kind \"%s\"", n->path.data, n->kind);
        }
        CreateRequest c = {path, data, v, container ? 4 : 0};
        e = zc_call(z, container ? ZOO_OP_CREATE_CONTAINER : ZOO_OP_CREATE, put_CreateRequest, &c, &r, &buf);
    }
    free(buf);
    if (e == 0) {
        (*created)++;
        return 0;
    }
    if (e == ZERR_NODEEXISTS && update) {
        n->open = 1;     /* its ACL is set at the end too */
        (*updated)++;
        return set_data(z, n);
    }
    if (e == ZERR_NODEEXISTS)
        return FAIL("%s already exists: nothing after it was loaded (--update overwrites the data and ACL of "
                    "existing nodes)", n->path.data);
    return e == 1 ? -1 : FAIL("create %s: %s", n->path.data, zk_err_name(e));
}

static void load_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl load -s HOST:PORT FILE [--update] [--auth SCHEME:CREDENTIALS]\n"
            "\n"
            "Creates the nodes of a `corralctl dump` file over the client protocol, parents\n"
            "first, with their data, ACL and kind (persistent, container, ttl).  Ephemeral\n"
            "nodes are not loaded (they belong to sessions); the root's data and ACL are\n"
            "set.  A node that exists stops the load, unless --update (then its data and\n"
            "ACL are overwritten).  Nodes with children are created with an open ACL and\n"
            "get their own at the end, so that the children can be created.\n");
}

int ctl_cmd_load(CtlOptions *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'}, {"timeout", required_argument, NULL, 't'},
        {"update", no_argument, NULL, 'u'},       {"auth", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *auths[8];
    int nauth = 0, update = 0, c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "s:t:ua:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': o->server = optarg; break;
        case 't': o->timeout_ms = atoi(optarg) > 0 ? atoi(optarg) : o->timeout_ms; break;
        case 'u': update = 1; break;
        case 'a':
            if (nauth < 8)
                auths[nauth++] = optarg;
            break;
        case 'h': load_usage(stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error("load: unknown option or missing argument \"%s\"", argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return ctl_usage_error("load takes -s HOST:PORT and one dump file");
    const char *file = argv[optind];
    FILE *f = fopen(file, "r");
    if (!f)
        return ctl_fail("cannot read %s: %s", file, strerror(errno));
    /* Every node first: a file that does not parse loads nothing. */
    LNode *nodes = NULL;
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t l;
    int rc = CTL_EXIT_FAIL, lineno = 0, header = 0;
    while ((l = getline(&line, &lcap, f)) > 0) {
        lineno++;
        if (lineno == 1) {
            header = strncmp(line, "{\"corral_dump\":1,", 17) == 0;
            if (!header)
                break;
            continue;
        }
        if (strncmp(line, "{\"path\":", 8) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            LNode *nn = realloc(nodes, cap * sizeof *nn);
            if (!nn) {
                ctl_fail("out of memory");
                goto out;
            }
            nodes = nn;
        }
        if (parse_node(line, &nodes[n]) < 0) {
            lnode_free(&nodes[n]);
            ctl_fail("%s:%d: not a node as corralctl dump writes it; nothing was loaded", file, lineno);
            goto out;
        }
        n++;
    }
    if (!header) {
        ctl_fail("%s is not a corralctl dump file (its first line is not {\"corral_dump\":1,...)", file);
        goto out;
    }
    CtlServer srv;
    char err[300];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0) {
        rc = ctl_usage_error("%s", err);
        goto out;
    }
    Zc z;
    if (zc_connect(&z, &srv, o->timeout_ms) < 0)
        goto out;
    for (int i = 0; i < nauth; i++)
        if (zc_auth(&z, auths[i])) {
            zc_close(&z);
            goto out;
        }
    uint64_t created = 0, updated = 0, ephemeral = 0;
    int failed = 0;
    for (size_t i = 0; i < n && !failed; i++) {
        LNode *x = &nodes[i];
        if (strcmp(x->kind, "ephemeral") == 0) {
            ephemeral++;
            continue;
        }
        if (strcmp(x->path.data, "/") == 0) {
            x->open = 1;
            failed = set_data(&z, x) < 0;
            continue;
        }
        int has_children = i + 1 < n && nodes[i + 1].path.len > x->path.len &&
                           memcmp(nodes[i + 1].path.data, x->path.data, x->path.len) == 0 &&
                           nodes[i + 1].path.data[x->path.len] == '/';
        failed = create_node(&z, x, has_children, update, &created, &updated) < 0;
    }
    /* The ACLs held back, children before parents. */
    for (size_t i = n; !failed && i-- > 0;)
        if (nodes[i].open && strcmp(nodes[i].kind, "ephemeral") != 0)
            failed = set_acl(&z, &nodes[i]) < 0;
    zc_close(&z);
    if (failed)
        goto out;
    printf("loaded %s into %s: %" PRIu64 " nodes created, %" PRIu64 " updated, %" PRIu64
           " ephemeral nodes left out\n", file, srv.label, created, updated, ephemeral);
    rc = CTL_EXIT_OK;
out:
    for (size_t i = 0; i < n; i++)
        lnode_free(&nodes[i]);
    free(nodes);
    free(line);
    fclose(f);
    return rc;
}
