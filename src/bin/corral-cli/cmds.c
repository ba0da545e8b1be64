/*
 * src/bin/corral-cli/cmds.c: the ZooKeeper commands of corral-cli, each a
 * transposition of the zkCli.sh 3.8 CliCommand of the same name (option
 * parsing included: commons-cli PosixParser / DefaultParser behaviour and
 * error texts), plus the Corral extensions multi and multiRead.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- option parsing (commons-cli) ---------------------------------------------- */
typedef struct Opts {
    bool has[128];
    const char *val[128];
    StrVec args;               /* non-option arguments; args.v[0] is the command */
} Opts;

static bool opt_known(const char *spec, int c)
{
    return c > 0 && c < 128 && c != ':' && strchr(spec, c) != NULL;
}

static bool opt_takes_arg(const char *spec, int c)
{
    const char *p = strchr(spec, c);
    return p && p[1] == ':';
}

/* Would the parser see tok as an option (and so not as an option's value)? */
static bool looks_like_option(const char *spec, bool posix, const char *tok)
{
    if (tok[0] != '-' || tok[1] == '\0')
        return false;
    if (posix)
        return tok[2] == '\0' && opt_known(spec, (unsigned char)tok[1]);
    return opt_known(spec, (unsigned char)tok[1]);
}

static void opts_free(Opts *o)
{
    sv_free(&o->args);
}

/*
 * Parses argv like commons-cli with the given options ("sv:" = -s, and -v
 * with a value).  On error returns -1 and prints the CliParseException
 * message (the ParseException's toString()).
 */
static int opts_parse_group(Opts *o, const char *spec, const char *group, bool posix, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    bool dashdash = false;
    int selected = 0;                  /* OptionGroup: the member already given */
    for (int i = 0; i < argc; i++) {
        const char *t = argv[i];
        if (dashdash || t[0] != '-' || t[1] == '\0') {
            sv_push(&o->args, t);
            continue;
        }
        if (strcmp(t, "--") == 0) {
            dashdash = true;
            continue;
        }
        if (t[1] == '-')
            goto unrecognized;
        for (int j = 1; t[j]; j++) {
            int c = (unsigned char)t[j];
            if (!opt_known(spec, c))
                goto unrecognized;
            if (group && strchr(group, c)) {
                if (selected && selected != c) {
                    err_printf("org.apache.commons.cli.AlreadySelectedException: The option '%c' was specified "
                               "but an option from this group has already been selected: '%c'\n", c, selected);
                    return -1;
                }
                selected = c;
            }
            o->has[c] = true;
            if (opt_takes_arg(spec, c)) {
                if (t[j + 1]) {
                    o->val[c] = t + j + 1;
                } else if (i + 1 < argc && !looks_like_option(spec, posix, argv[i + 1])) {
                    o->val[c] = argv[++i];
                } else {
                    err_printf("org.apache.commons.cli.MissingArgumentException: Missing argument for option: %c\n", c);
                    return -1;
                }
                break;
            }
        }
        continue;
unrecognized:
        err_printf("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s\n", t);
        return -1;
    }
    return 0;
}

static int opts_parse(Opts *o, const char *spec, bool posix, int argc, char **argv)
{
    return opts_parse_group(o, spec, NULL, posix, argc, argv);
}

/* ---- helpers ------------------------------------------------------------------------- */
static int usage_fail(const CliCmd *c)
{
    err_printf("%s %s\n", c->name, c->options);
    return CLI_ERR;
}

static int fail_msg(char *msg)
{
    err_printf("%s\n", msg);
    free(msg);
    return CLI_ERR;
}

/* KeeperException.getMessage(). */
static void keeper_message(CorralStrbuf *sb, int rc, const char *path)
{
    corral_strbuf_puts(sb, zk_err_message(rc));
    if (path && *path)
        corral_strbuf_printf(sb, " for %s", path);
}

/* CliWrapperException(KeeperException.create(rc, path)).getMessage(). */
static void wrapper_message(CorralStrbuf *sb, int rc, const char *path)
{
    const char *p = path ? path : "null";
    switch (rc) {
    case ZERR_NONODE: corral_strbuf_printf(sb, "Node does not exist: %s", p); break;
    case ZERR_NOCHILDRENFOREPHEMERALS: corral_strbuf_printf(sb, "Ephemerals cannot have children: %s", p); break;
    case ZERR_NODEEXISTS: corral_strbuf_printf(sb, "Node already exists: %s", p); break;
    case ZERR_NOTEMPTY: corral_strbuf_printf(sb, "Node not empty: %s", p); break;
    case ZERR_NOTREADONLY: corral_strbuf_printf(sb, "Not a read-only call: %s", p); break;
    case ZERR_INVALIDACL: corral_strbuf_printf(sb, "Acl is not valid : %s", p); break;
    case ZERR_NOAUTH: corral_strbuf_printf(sb, "Insufficient permission : %s", p); break;
    case ZERR_BADARGUMENTS: corral_strbuf_printf(sb, "Arguments are not valid : %s", p); break;
    case ZERR_BADVERSION: corral_strbuf_printf(sb, "version No is not valid : %s", p); break;
    case ZERR_RECONFIGINPROGRESS:
        corral_strbuf_puts(sb, "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)");
        break;
    case ZERR_NEWCONFIGNOQUORUM:
        corral_strbuf_puts(sb, "No quorum of new config is connected and up-to-date with the leader of last "
                               "committed config - try invoking reconfiguration after new servers are "
                               "connected and synced");
        break;
    case ZERR_QUOTAEXCEEDED: corral_strbuf_printf(sb, "Quota has exceeded : %s", p); break;
    default: keeper_message(sb, rc, path); break;
    }
}

static int keeper_fail(int rc, const char *path)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    wrapper_message(&sb, rc, path);
    err_printf("%s\n", sb.data);
    corral_strbuf_free(&sb);
    return CLI_ERR;
}

static int path_check(const char *path, bool sequential)
{
    char *e = java_path_error(path, sequential);
    return e ? fail_msg(e) : CLI_OK;
}

/* Integer.parseInt / Long.parseLong. */
static bool java_parse_long(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int number_format_fail(const char *s)
{
    err_printf("java.lang.NumberFormatException: For input string: \"%s\"\n", s);
    return CLI_ERR;
}

static ZkBytes bytes_or_null(const char *s)
{
    return s ? zk_bytes_cstr(s) : ZK_BYTES_NULL;
}

static void print_string_list(JuteVec_ustring *v, bool sort)
{
    StrVec sv = {0};
    for (int32_t i = 0; i < v->count; i++)
        sv_push_n(&sv, v->items[i].data ? v->items[i].data : "", v->items[i].len > 0 ? (size_t)v->items[i].len : 0);
    if (sort)
        sv_sort(&sv);
    out_printf("[");
    for (int i = 0; i < sv.n; i++) {
        if (i)
            out_printf(", ");
        out_java_bytes(sv.v[i], strlen(sv.v[i]));
    }
    out_printf("]\n");
    sv_free(&sv);
}

static void print_data(ZkBytes d)
{
    if (d.len < 0)
        out_printf("null");
    else
        out_java_bytes(d.data, (size_t)d.len);
    out_printf("\n");
}

/* ---- ACLs (AclParser) ------------------------------------------------------------------ */
typedef struct AclList {
    JuteVec_ACL vec;
    StrVec strs;           /* owns the scheme/id strings */
} AclList;

static void acl_free(AclList *l)
{
    free(l->vec.items);
    sv_free(&l->strs);
}

static void acl_open(AclList *l)
{
    memset(l, 0, sizeof(*l));
    l->vec.count = 1;
    l->vec.items = xcalloc(1, sizeof(ACL));
    l->vec.items[0].perms = ZOO_PERM_ALL;
    l->vec.items[0].id.scheme = zk_bytes_cstr("world");
    l->vec.items[0].id.id = zk_bytes_cstr("anyone");
}

static void acl_parse(AclList *l, const char *s)
{
    memset(l, 0, sizeof(*l));
    /* String.split(","): trailing empty strings are dropped, but a string
     * without any match ("" included) splits to itself. */
    StrVec parts = {0};
    const char *p = s;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        sv_push_n(&parts, p, n);
        if (!c)
            break;
        p = c + 1;
    }
    if (strchr(s, ',')) {
        while (parts.n > 0 && parts.v[parts.n - 1][0] == '\0')
            free(parts.v[--parts.n]);
    }
    l->vec.items = xcalloc((size_t)parts.n + 1, sizeof(ACL));
    l->vec.count = 0;
    for (int i = 0; i < parts.n; i++) {
        const char *a = parts.v[i];
        const char *first = strchr(a, ':');
        const char *last = strrchr(a, ':');
        if (!first || first == last) {
            err_printf("%s does not have the form scheme:id:perm\n", a);
            continue;
        }
        sv_push_n(&l->strs, a, (size_t)(first - a));
        sv_push_n(&l->strs, first + 1, (size_t)(last - first - 1));
        int perms = 0;
        for (const char *q = last + 1; *q; q++) {
            switch (*q) {
            case 'r': perms |= ZOO_PERM_READ; break;
            case 'w': perms |= ZOO_PERM_WRITE; break;
            case 'c': perms |= ZOO_PERM_CREATE; break;
            case 'd': perms |= ZOO_PERM_DELETE; break;
            case 'a': perms |= ZOO_PERM_ADMIN; break;
            default: {
                /* One Java char: a whole UTF-8 sequence. */
                size_t k = 1;
                while (((unsigned char)q[k] & 0xc0) == 0x80)
                    k++;
                err_printf("Unknown perm type: %.*s\n", (int)k, q);
                q += k - 1;
                break;
            }
            }
        }
        ACL *acl = &l->vec.items[l->vec.count++];
        acl->perms = perms;
        /* strs may be reallocated later: fill the pointers at the end. */
        acl->id.scheme.len = l->strs.n - 2;
    }
    for (int i = 0; i < l->vec.count; i++) {
        int k = l->vec.items[i].id.scheme.len;
        l->vec.items[i].id.scheme = zk_bytes_cstr(l->strs.v[k]);
        l->vec.items[i].id.id = zk_bytes_cstr(l->strs.v[k + 1]);
    }
    sv_free(&parts);
}

/* ---- simple request helpers ---------------------------------------------------------- */
static int req_get_children(Zk *zk, const char *path, bool watch, bool v2, ZkReply *rep,
                            JuteVec_ustring *children, Stat *st)
{
    WBuf *w = zk_req_begin(zk, v2 ? ZOO_OP_GETCHILDREN2 : ZOO_OP_GETCHILDREN);
    GetChildrenRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), watch};
    jute_write_GetChildrenRequest(w, &rq);
    int rc = zk_req_call(zk, rep);
    if (rc != ZERR_OK)
        return rc;
    if (v2) {
        GetChildren2Response r;
        if (jute_read_GetChildren2Response(&rep->body, &rep->arena, &r) < 0)
            return ZERR_MARSHALLINGERROR;
        *children = r.children;
        if (st)
            *st = r.stat;
    } else {
        GetChildrenResponse r;
        if (jute_read_GetChildrenResponse(&rep->body, &rep->arena, &r) < 0)
            return ZERR_MARSHALLINGERROR;
        *children = r.children;
    }
    if (watch)
        zk_watch_add(zk, W_CHILD, path);
    return ZERR_OK;
}

static int req_get_data(Zk *zk, const char *path, bool watch, ZkReply *rep, GetDataResponse *out)
{
    WBuf *w = zk_req_begin(zk, ZOO_OP_GETDATA);
    GetDataRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), watch};
    jute_write_GetDataRequest(w, &rq);
    int rc = zk_req_call(zk, rep);
    if (rc != ZERR_OK)
        return rc;
    if (jute_read_GetDataResponse(&rep->body, &rep->arena, out) < 0)
        return ZERR_MARSHALLINGERROR;
    if (watch)
        zk_watch_add(zk, W_DATA, path);
    return ZERR_OK;
}

static char *child_path(const char *parent, const ZkBytes *child)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&sb, strcmp(parent, "/") == 0 ? "" : parent);
    corral_strbuf_puts(&sb, "/");
    corral_strbuf_append(&sb, child->data ? child->data : "", child->len > 0 ? (size_t)child->len : 0);
    return sb.data;
}

/*
 * ZKUtil.visitSubTreeDFSHelper: children of path sorted, the callback for
 * each, then recursion.  NoNode is ignored; other errors stop the walk and
 * set *err_path (malloc'd) to the failing node.  A callback returning true
 * stops the walk too (VISIT_STOPPED, as an exception thrown by a Java
 * callback would).
 */
typedef bool (*VisitFn)(Zk *zk, const char *path, void *ctx);
#define VISIT_STOPPED 1

static int visit_dfs(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx, char **err_path)
{
    ZkReply rep;
    JuteVec_ustring ch = {0, NULL};
    int rc = req_get_children(zk, path, watch, true, &rep, &ch, NULL);
    if (rc == ZERR_NONODE) {
        zk_reply_free(&rep);
        return ZERR_OK;
    }
    if (rc != ZERR_OK) {
        zk_reply_free(&rep);
        *err_path = xstrdup(path);
        return rc;
    }
    StrVec kids = {0};
    for (int32_t i = 0; i < ch.count; i++) {
        char *p = child_path(path, &ch.items[i]);
        sv_push(&kids, p);
        free(p);
    }
    zk_reply_free(&rep);
    sv_sort(&kids);
    for (int i = 0; i < kids.n && rc == ZERR_OK; i++)
        if (fn(zk, kids.v[i], ctx))
            rc = VISIT_STOPPED;
    for (int i = 0; i < kids.n && rc == ZERR_OK; i++)
        rc = visit_dfs(zk, kids.v[i], watch, fn, ctx, err_path);
    sv_free(&kids);
    return rc;
}

/* ZKUtil.visitSubTreeDFS after validation: getData the root, then walk. */
static int visit_tree_raw(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx, char **err_path)
{
    ZkReply rep;
    GetDataResponse gd;
    int rc = req_get_data(zk, path, watch, &rep, &gd);
    zk_reply_free(&rep);
    if (rc != ZERR_OK) {
        *err_path = xstrdup(path);
        return rc;
    }
    if (fn(zk, path, ctx))
        return VISIT_STOPPED;
    return visit_dfs(zk, path, watch, fn, ctx, err_path);
}

static int visit_tree(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx)
{
    if (path_check(path, false) != CLI_OK)
        return CLI_ERR;
    char *err_path = NULL;
    int rc = visit_tree_raw(zk, path, watch, fn, ctx, &err_path);
    if (rc != ZERR_OK && rc != VISIT_STOPPED) {
        keeper_fail(rc, err_path);
        free(err_path);
        return CLI_ERR;
    }
    free(err_path);
    return rc == ZERR_OK ? CLI_OK : CLI_ERR;
}

/* ---- commands ------------------------------------------------------------------------------- */
static const CliCmd *self(const char *name)
{
    return cli_find_command(name);
}

/* Re-parse with argv[pos] replaced by "-w" ("cmd path watch" compatibility). */
static int compat_watch(Opts *o, const char *spec, bool posix, int argc, char **argv, const char *msg)
{
    if (o->args.n <= 2)
        return 0;
    char **copy = xmalloc((size_t)argc * sizeof(char *));
    memcpy(copy, argv, (size_t)argc * sizeof(char *));
    copy[2] = (char *)"-w";
    err_printf("%s\n", msg);
    opts_free(o);
    int r = opts_parse(o, spec, posix, argc, copy);
    free(copy);
    return r;
}

static void print_ls_help(void)
{
    out_printf("usage: ls [options] path\n"
               " -?   help\n"
               " -R   recurse\n"
               " -s   stat\n"
               " -w   watch\n");
}

static bool ls_print_path(Zk *zk, const char *path, void *ctx)
{
    out_java_bytes(path, strlen(path));
    out_printf("\n");
    return false;
}

static int cmd_ls(Zk *zk, int argc, char **argv)
{
    static const char spec[] = "?swR";
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, spec, false, argc, argv) < 0)
        goto out;
    if (o.has['?'])
        print_ls_help();
    if (compat_watch(&o, spec, false, argc, argv,
                     "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.") < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("ls"));
        goto out;
    }
    const char *path = o.args.v[1];
    bool watch = o.has['w'];
    if (o.has['R']) {
        ret = visit_tree(zk, path, watch, ls_print_path, NULL);
        goto out;
    }
    if (path_check(path, false) != CLI_OK)
        goto out;
    ZkReply rep;
    JuteVec_ustring ch;
    Stat st;
    int rc = req_get_children(zk, path, watch, true, &rep, &ch, &st);
    if (rc != ZERR_OK) {
        zk_reply_free(&rep);
        ret = keeper_fail(rc, path);
        goto out;
    }
    print_string_list(&ch, true);
    if (o.has['s'])
        print_stat(&st);
    zk_reply_free(&rep);
    ret = CLI_OK;
out:
    opts_free(&o);
    return ret;
}

static int cmd_get(Zk *zk, int argc, char **argv)
{
    static const char spec[] = "sw";
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, spec, false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("get"));
        goto out;
    }
    if (compat_watch(&o, spec, false, argc, argv,
                     "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.") < 0)
        goto out;
    const char *path = o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    ZkReply rep;
    GetDataResponse gd;
    int rc = req_get_data(zk, path, o.has['w'], &rep, &gd);
    if (rc != ZERR_OK) {
        zk_reply_free(&rep);
        ret = keeper_fail(rc, path);
        goto out;
    }
    print_data(gd.data);
    if (o.has['s'])
        print_stat(&gd.stat);
    zk_reply_free(&rep);
    ret = CLI_OK;
out:
    opts_free(&o);
    return ret;
}

static int cmd_set(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "sv:", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 3) {
        ret = usage_fail(self("set"));
        goto out;
    }
    const char *path = o.args.v[1];
    int64_t version = -1;
    if (o.has['v'] && !java_parse_long(o.val['v'], INT32_MIN, INT32_MAX, &version)) {
        ret = number_format_fail(o.val['v']);
        goto out;
    }
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_SETDATA);
    SetDataRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), zk_bytes_cstr(o.args.v[2]), (int32_t)version};
    jute_write_SetDataRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    SetDataResponse r;
    if (rc == ZERR_OK && jute_read_SetDataResponse(&rep.body, &rep.arena, &r) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        if (o.has['s'])
            print_stat(&r.stat);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

/* create's option checks, shared with multi.  0 = ok (flags/ttl set). */
static int create_mode(Opts *o, int *flags, int64_t *ttl)
{
    bool e = o->has['e'], s = o->has['s'], c = o->has['c'], t = o->has['t'];
    if (c && (e || s)) {
        err_printf("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.\n");
        return -1;
    }
    *ttl = 0;
    if (t && !java_parse_long(o->val['t'], INT64_MIN, INT64_MAX, ttl)) {
        err_printf("-t argument must be a long value\n");
        return -1;
    }
    if (t && e) {
        err_printf("TTLs cannot be used with Ephemeral znodes\n");
        return -1;
    }
    if (t && c) {
        err_printf("TTLs cannot be used with Container znodes\n");
        return -1;
    }
    if (e && s)
        *flags = ZOO_CREATE_EPHEMERAL_SEQUENTIAL;
    else if (e)
        *flags = ZOO_CREATE_EPHEMERAL;
    else if (s)
        *flags = t ? ZOO_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL : ZOO_CREATE_PERSISTENT_SEQUENTIAL;
    else if (c)
        *flags = ZOO_CREATE_CONTAINER;
    else
        *flags = t ? ZOO_CREATE_PERSISTENT_WITH_TTL : ZOO_CREATE_PERSISTENT;
    if (t && (*ttl <= 0 || *ttl > 0xFFFFFFFFFFLL)) {
        err_printf("ttl must be positive and cannot be larger than: 1099511627775\n");
        return -1;
    }
    return 0;
}

static int cmd_create(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    AclList acl;
    bool have_acl = false;
    if (opts_parse(&o, "esct:", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("create"));
        goto out;
    }
    int flags;
    int64_t ttl;
    if (create_mode(&o, &flags, &ttl) < 0)
        goto out;
    const char *path = o.args.v[1];
    const char *data = o.args.n > 2 ? o.args.v[2] : NULL;
    if (o.args.n > 3)
        acl_parse(&acl, o.args.v[3]);
    else
        acl_open(&acl);
    have_acl = true;
    if (path_check(path, zk_create_mode_is_sequential(flags)) != CLI_OK)
        goto out;
    if (acl.vec.count == 0) {
        err_printf("%s\n", zk_err_message(ZERR_INVALIDACL));
        ret = keeper_fail(ZERR_INVALIDACL, NULL);
        goto out;
    }
    ZkBytes sp = zk_bytes_cstr(zk_server_path(zk, path));
    WBuf *w;
    if (o.has['t']) {
        w = zk_req_begin(zk, ZOO_OP_CREATE_TTL);
        CreateTTLRequest rq = {sp, bytes_or_null(data), acl.vec, flags, ttl};
        jute_write_CreateTTLRequest(w, &rq);
    } else {
        w = zk_req_begin(zk, zk_create_mode_is_container(flags) ? ZOO_OP_CREATE_CONTAINER : ZOO_OP_CREATE);
        CreateRequest rq = {sp, bytes_or_null(data), acl.vec, flags};
        jute_write_CreateRequest(w, &rq);
    }
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    CreateResponse cr;
    if (rc == ZERR_OK && jute_read_CreateResponse(&rep.body, &rep.arena, &cr) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc == ZERR_OK) {
        const char *np = cr.path.len >= 0 ? zk_client_path(zk, cr.path.data, (size_t)cr.path.len) : "null";
        err_printf("Created %s\n", np);
        ret = CLI_OK;
    } else {
        if (rc == ZERR_EPHEMERALONLOCALSESSION) {
            err_printf("Unable to create ephemeral node on a local session\n");
        } else if (rc == ZERR_INVALIDACL) {
            CorralStrbuf sb = CORRAL_STRBUF_INIT;
            keeper_message(&sb, rc, path);
            err_printf("%s\n", sb.data);
            corral_strbuf_free(&sb);
        }
        ret = keeper_fail(rc, path);
    }
    zk_reply_free(&rep);
out:
    if (have_acl)
        acl_free(&acl);
    opts_free(&o);
    return ret;
}

static int do_delete(Zk *zk, const char *path, int32_t version)
{
    WBuf *w = zk_req_begin(zk, ZOO_OP_DELETE);
    /* ZooKeeper.delete sends "/" itself, unprefixed by the chroot. */
    DeleteRequest rq = {zk_bytes_cstr(strcmp(path, "/") == 0 ? path : zk_server_path(zk, path)), version};
    jute_write_DeleteRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    return rc;
}

static int cmd_delete(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "v:", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("delete"));
        goto out;
    }
    if (o.args.n > 2) {
        /* 'delete path version': rewritten to delete -v version path. */
        char *nv[4] = {argv[0], (char *)"-v", argc > 2 ? argv[2] : (char *)"", argv[1]};
        err_printf("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.\n");
        opts_free(&o);
        if (opts_parse(&o, "v:", true, 4, nv) < 0)
            goto out;
        if (o.args.n < 2) {
            ret = usage_fail(self("delete"));
            goto out;
        }
    }
    const char *path = o.args.v[1];
    int64_t version = -1;
    if (o.has['v'] && !java_parse_long(o.val['v'], INT32_MIN, INT32_MAX, &version)) {
        ret = number_format_fail(o.val['v']);
        goto out;
    }
    if (path_check(path, false) != CLI_OK)
        goto out;
    int rc = do_delete(zk, path, (int32_t)version);
    ret = rc == ZERR_OK ? CLI_OK : keeper_fail(rc, path);
out:
    opts_free(&o);
    return ret;
}

/* ---- multi ---------------------------------------------------------------------------------- */
typedef struct MultiOp {
    int type;                 /* opcode */
    char *path;               /* client path */
    char *data;               /* NULL = null */
    int32_t version;
    int flags;
    int64_t ttl;
    AclList acl;
    bool has_acl;
} MultiOp;

typedef struct MultiResult {
    int type;
    int err;
    char *path;               /* create: created path (client) */
    Stat stat;
    ZkBytes data;             /* getData; points into the reply */
    JuteVec_ustring children; /* getChildren; points into the reply */
} MultiResult;

static void multi_ops_free(MultiOp *ops, int n)
{
    for (int i = 0; i < n; i++) {
        free(ops[i].path);
        free(ops[i].data);
        if (ops[i].has_acl)
            acl_free(&ops[i].acl);
    }
    free(ops);
}

static void multi_write_ops(Zk *zk, WBuf *w, MultiOp *ops, int n)
{
    for (int i = 0; i < n; i++) {
        MultiOp *op = &ops[i];
        MultiHeader mh = {op->type, false, -1};
        jute_write_MultiHeader(w, &mh);
        ZkBytes sp = zk_bytes_cstr(zk_server_path(zk, op->path));
        switch (op->type) {
        case ZOO_OP_CREATE:
        case ZOO_OP_CREATE2:
        case ZOO_OP_CREATE_CONTAINER: {
            CreateRequest rq = {sp, bytes_or_null(op->data), op->acl.vec, op->flags};
            jute_write_CreateRequest(w, &rq);
            break;
        }
        case ZOO_OP_CREATE_TTL: {
            CreateTTLRequest rq = {sp, bytes_or_null(op->data), op->acl.vec, op->flags, op->ttl};
            jute_write_CreateTTLRequest(w, &rq);
            break;
        }
        case ZOO_OP_DELETE: {
            DeleteRequest rq = {sp, op->version};
            jute_write_DeleteRequest(w, &rq);
            break;
        }
        case ZOO_OP_SETDATA: {
            SetDataRequest rq = {sp, bytes_or_null(op->data), op->version};
            jute_write_SetDataRequest(w, &rq);
            break;
        }
        case ZOO_OP_CHECK: {
            CheckVersionRequest rq = {sp, op->version};
            jute_write_CheckVersionRequest(w, &rq);
            break;
        }
        case ZOO_OP_GETCHILDREN: {
            GetChildrenRequest rq = {sp, false};
            jute_write_GetChildrenRequest(w, &rq);
            break;
        }
        case ZOO_OP_GETDATA: {
            GetDataRequest rq = {sp, false};
            jute_write_GetDataRequest(w, &rq);
            break;
        }
        }
    }
    MultiHeader end = {-1, true, -1};
    jute_write_MultiHeader(w, &end);
}

/* MultiResponse.deserialize.  Returns the number of results or -1. */
static int multi_read_results(Zk *zk, ZkReply *rep, MultiResult **out)
{
    int n = 0, cap = 8;
    MultiResult *res = xcalloc((size_t)cap, sizeof(MultiResult));
    MultiHeader h;
    if (jute_read_MultiHeader(&rep->body, NULL, &h) < 0)
        goto bad;
    while (!h.done) {
        if (n == cap) {
            cap *= 2;
            res = xrealloc(res, (size_t)cap * sizeof(MultiResult));
        }
        MultiResult *r = &res[n];
        memset(r, 0, sizeof(*r));
        r->type = h.type;
        switch (h.type) {
        case ZOO_OP_CREATE: {
            CreateResponse cr;
            if (jute_read_CreateResponse(&rep->body, &rep->arena, &cr) < 0)
                goto bad;
            r->path = xstrdup(cr.path.len >= 0 ? zk_client_path(zk, cr.path.data, (size_t)cr.path.len) : "null");
            break;
        }
        case ZOO_OP_CREATE2: {
            Create2Response cr;
            if (jute_read_Create2Response(&rep->body, &rep->arena, &cr) < 0)
                goto bad;
            r->path = xstrdup(cr.path.len >= 0 ? zk_client_path(zk, cr.path.data, (size_t)cr.path.len) : "null");
            r->stat = cr.stat;
            break;
        }
        case ZOO_OP_DELETE:
        case ZOO_OP_CHECK:
            break;
        case ZOO_OP_SETDATA: {
            SetDataResponse sr;
            if (jute_read_SetDataResponse(&rep->body, &rep->arena, &sr) < 0)
                goto bad;
            r->stat = sr.stat;
            break;
        }
        case ZOO_OP_GETCHILDREN: {
            GetChildrenResponse gr;
            if (jute_read_GetChildrenResponse(&rep->body, &rep->arena, &gr) < 0)
                goto bad;
            r->children = gr.children;
            break;
        }
        case ZOO_OP_GETDATA: {
            GetDataResponse gr;
            if (jute_read_GetDataResponse(&rep->body, &rep->arena, &gr) < 0)
                goto bad;
            r->data = gr.data;
            r->stat = gr.stat;
            break;
        }
        case ZOO_OP_ERROR: {
            ErrorResponse er;
            if (jute_read_ErrorResponse(&rep->body, NULL, &er) < 0)
                goto bad;
            r->err = er.err;
            break;
        }
        default:
            goto bad;
        }
        n++;
        if (jute_read_MultiHeader(&rep->body, NULL, &h) < 0)
            goto bad;
    }
    *out = res;
    return n;
bad:
    for (int i = 0; i < n; i++)
        free(res[i].path);
    free(res);
    *out = NULL;
    return -1;
}

static void multi_results_free(MultiResult *res, int n)
{
    for (int i = 0; i < n; i++)
        free(res[i].path);
    free(res);
}

/* Sends the ops as one multi (or multiRead); results via *res. */
static int multi_call(Zk *zk, bool read, MultiOp *ops, int n, ZkReply *rep, MultiResult **res, int *nres)
{
    WBuf *w = zk_req_begin(zk, read ? ZOO_OP_MULTI_READ : ZOO_OP_MULTI);
    multi_write_ops(zk, w, ops, n);
    int rc = zk_req_call(zk, rep);
    *res = NULL;
    *nres = 0;
    if (rep->frame && rbuf_remaining(&rep->body) > 0) {
        int k = multi_read_results(zk, rep, res);
        if (k < 0)
            return rc != ZERR_OK ? rc : ZERR_MARSHALLINGERROR;
        *nres = k;
    }
    return rc;
}

static const char *multi_op_name(int type)
{
    switch (type) {
    case ZOO_OP_CREATE:
    case ZOO_OP_CREATE2:
    case ZOO_OP_CREATE_CONTAINER:
    case ZOO_OP_CREATE_TTL: return "create";
    case ZOO_OP_DELETE: return "delete";
    case ZOO_OP_SETDATA: return "setData";
    case ZOO_OP_CHECK: return "check";
    case ZOO_OP_GETCHILDREN: return "getChildren";
    case ZOO_OP_GETDATA: return "getData";
    }
    return "unknown";
}

static const char multi_usage[] =
    "multi { create [-e] [-s] [-c] [-t ttl] path [data] [acl] ; setData [-v version] path data ; "
    "check [-v version] path ; delete [-v version] path ; ... }";
static const char multiread_usage[] = "multiRead { getData path ; getChildren path ; ... }";

/* Splits the text after the command word into op strings at ';' outside quotes. */
static void split_ops(const char *s, StrVec *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n && s[0] == '{' && s[n - 1] == '}') {
        s++;
        n -= 2;
    }
    size_t start = 0;
    char quote = 0;
    bool tok_start = true;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : ';';
        if (quote) {
            if (c == quote && i < n)
                quote = 0;
            else if (i == n)
                quote = 0;
            else
                continue;
        } else if ((c == '"' || c == '\'') && tok_start) {
            quote = c;
            continue;
        }
        if (c == ';' && !quote) {
            size_t a = start, b = i;
            while (a < b && (s[a] == ' ' || s[a] == '\t'))
                a++;
            while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
                b--;
            if (b > a)
                sv_push_n(out, s + a, b - a);
            start = i + 1;
            tok_start = true;
            continue;
        }
        tok_start = (c == ' ' || c == '\t');
    }
}

/* Parses one op; returns 0 or -1 (message printed). */
static int parse_multi_op(Zk *zk, bool read, const char *text, MultiOp *op)
{
    StrVec t = {0};
    Opts o;
    int ret = -1;
    memset(op, 0, sizeof(*op));
    memset(&o, 0, sizeof(o));
    cli_tokenize(text, &t);
    if (t.n == 0)
        goto out;
    const char *name = t.v[0];
    int64_t v;
    if (read) {
        if (strcmp(name, "getData") == 0 || strcmp(name, "get") == 0)
            op->type = ZOO_OP_GETDATA;
        else if (strcmp(name, "getChildren") == 0 || strcmp(name, "ls") == 0)
            op->type = ZOO_OP_GETCHILDREN;
        else
            goto unknown;
        if (opts_parse(&o, "", true, t.n, t.v) < 0)
            goto out;
        if (o.args.n != 2)
            goto syntax;
        op->path = xstrdup(o.args.v[1]);
    } else if (strcmp(name, "create") == 0) {
        if (opts_parse(&o, "esct:", true, t.n, t.v) < 0)
            goto out;
        if (o.args.n < 2 || o.args.n > 4)
            goto syntax;
        int64_t ttl;
        if (create_mode(&o, &op->flags, &ttl) < 0)
            goto out;
        op->ttl = ttl;
        op->type = o.has['t'] ? ZOO_OP_CREATE_TTL
                   : zk_create_mode_is_container(op->flags) ? ZOO_OP_CREATE_CONTAINER : ZOO_OP_CREATE;
        op->path = xstrdup(o.args.v[1]);
        op->data = o.args.n > 2 ? xstrdup(o.args.v[2]) : NULL;
        if (o.args.n > 3)
            acl_parse(&op->acl, o.args.v[3]);
        else
            acl_open(&op->acl);
        op->has_acl = true;
        if (op->acl.vec.count == 0) {
            err_printf("%s\n", zk_err_message(ZERR_INVALIDACL));
            keeper_fail(ZERR_INVALIDACL, NULL);
            goto out;
        }
    } else if (strcmp(name, "delete") == 0 || strcmp(name, "check") == 0 ||
               strcmp(name, "setData") == 0 || strcmp(name, "set") == 0) {
        bool is_set = name[0] == 's';
        bool is_check = name[0] == 'c';
        op->type = is_set ? ZOO_OP_SETDATA : is_check ? ZOO_OP_CHECK : ZOO_OP_DELETE;
        if (opts_parse(&o, "v:", true, t.n, t.v) < 0)
            goto out;
        int need = is_set ? 3 : 2;
        if (o.args.n < need || o.args.n > need + 1 || (o.args.n == need + 1 && o.has['v']))
            goto syntax;
        op->path = xstrdup(o.args.v[1]);
        if (is_set)
            op->data = xstrdup(o.args.v[2]);
        const char *vs = o.has['v'] ? o.val['v'] : o.args.n == need + 1 ? o.args.v[need] : NULL;
        op->version = -1;
        if (vs) {
            if (!java_parse_long(vs, INT32_MIN, INT32_MAX, &v)) {
                number_format_fail(vs);
                goto out;
            }
            op->version = (int32_t)v;
        } else if (is_check) {
            goto syntax;
        }
    } else {
        goto unknown;
    }
    if (path_check(op->path, op->type != ZOO_OP_GETDATA && op->type != ZOO_OP_GETCHILDREN &&
                                 zk_create_mode_is_sequential(op->flags) &&
                                 (op->type == ZOO_OP_CREATE || op->type == ZOO_OP_CREATE_TTL)) != CLI_OK)
        goto out;
    ret = 0;
    goto out;
unknown:
    err_printf("Unknown %s operation: %s\n", read ? "multiRead" : "multi", name);
    err_printf("%s\n", read ? multiread_usage : multi_usage);
    goto out;
syntax:
    err_printf("%s\n", read ? multiread_usage : multi_usage);
out:
    opts_free(&o);
    sv_free(&t);
    (void)zk;
    return ret;
}

extern const char *cli_current_line;

static int run_multi(Zk *zk, bool read, int argc, char **argv)
{
    /* Re-split the raw line: ';' may be glued to a word ("x;"). */
    const char *line = cli_current_line ? cli_current_line : "";
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    p += strlen(argv[0]) <= strlen(p) ? strlen(argv[0]) : strlen(p);
    StrVec texts = {0};
    split_ops(p, &texts);
    MultiOp *ops = xcalloc((size_t)texts.n + 1, sizeof(MultiOp));
    int n = 0, ret = CLI_ERR;
    for (int i = 0; i < texts.n; i++) {
        if (parse_multi_op(zk, read, texts.v[i], &ops[n]) < 0) {
            free(ops[n].path);
            free(ops[n].data);
            if (ops[n].has_acl)
                acl_free(&ops[n].acl);
            goto out;
        }
        n++;
    }
    if (n == 0) {
        ret = CLI_OK;     /* ZooKeeper.multi of nothing sends nothing */
        goto out;
    }
    ZkReply rep;
    MultiResult *res;
    int nres;
    int rc = multi_call(zk, read, ops, n, &rep, &res, &nres);
    if (nres == 0) {
        if (rc == ZERR_OK)
            rc = ZERR_MARSHALLINGERROR;
        ret = keeper_fail(rc, NULL);
        zk_reply_free(&rep);
        goto out;
    }
    int first_err = -1;
    for (int i = 0; i < nres; i++) {
        MultiResult *r = &res[i];
        const char *opname = i < n ? multi_op_name(ops[i].type) : multi_op_name(r->type);
        const char *opath = i < n ? ops[i].path : "?";
        out_printf("%s ", opname);
        out_java_bytes(opath, strlen(opath));
        out_printf(" -> ");
        if (r->type == ZOO_OP_ERROR) {
            if (r->err == ZERR_OK) {
                out_printf("rolled back\n");
            } else {
                out_printf("error %s\n", zk_err_name(r->err));
                if (first_err < 0)
                    first_err = i;
            }
            continue;
        }
        switch (r->type) {
        case ZOO_OP_CREATE:
        case ZOO_OP_CREATE2:
            out_java_bytes(r->path, strlen(r->path));
            out_printf("\n");
            break;
        case ZOO_OP_SETDATA:
            out_printf("dataVersion = %d\n", r->stat.version);
            break;
        case ZOO_OP_GETDATA:
            print_data(r->data);
            break;
        case ZOO_OP_GETCHILDREN:
            print_string_list(&r->children, true);
            break;
        default:
            out_printf("ok\n");
            break;
        }
    }
    ret = CLI_OK;
    if (!read && first_err >= 0) {
        keeper_fail(res[first_err].err, first_err < n ? ops[first_err].path : NULL);
        ret = CLI_ERR;
    } else if (!read && rc != ZERR_OK) {
        ret = keeper_fail(rc, NULL);
    }
    multi_results_free(res, nres);
    zk_reply_free(&rep);
out:
    multi_ops_free(ops, n);
    sv_free(&texts);
    return ret;
}

static int cmd_multi(Zk *zk, int argc, char **argv)
{
    return run_multi(zk, false, argc, argv);
}

static int cmd_multiread(Zk *zk, int argc, char **argv)
{
    return run_multi(zk, true, argc, argv);
}

/* ---- deleteall ------------------------------------------------------------------------------- */
static int cmd_deleteall(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    StrVec tree = {0};
    if (opts_parse(&o, "b:", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("deleteall"));
        goto out;
    }
    int64_t batch = 1000;
    if (o.has['b'] && !java_parse_long(o.val['b'], INT32_MIN, INT32_MAX, &batch)) {
        err_printf("-b argument must be an int value\n");
        goto out;
    }
    const char *root = o.args.v[1];
    if (path_check(root, false) != CLI_OK)
        goto out;
    /* ZKUtil.listSubTreeBFS */
    sv_push(&tree, root);
    for (int i = 0; i < tree.n; i++) {
        ZkReply rep;
        JuteVec_ustring ch;
        char *node = xstrdup(tree.v[i]);
        int rc = req_get_children(zk, node, false, false, &rep, &ch, NULL);
        if (rc != ZERR_OK) {
            zk_reply_free(&rep);
            ret = keeper_fail(rc, node);
            free(node);
            goto out;
        }
        for (int32_t k = 0; k < ch.count; k++) {
            char *cp = child_path(node, &ch.items[k]);
            sv_push(&tree, cp);
            free(cp);
        }
        zk_reply_free(&rep);
        free(node);
    }
    if (batch <= 0) {
        for (int i = tree.n - 1; i >= 0; i--) {
            int rc = do_delete(zk, tree.v[i], -1);
            if (rc != ZERR_OK) {
                ret = keeper_fail(rc, tree.v[i]);
                goto out;
            }
        }
        ret = CLI_OK;
        goto out;
    }
    /* ZKUtil.deleteInBatch: leaves first, batch ops per multi. */
    bool ok = true;
    int i = tree.n - 1;
    while (i >= 0 && ok) {
        int cnt = 0;
        MultiOp *ops = xcalloc((size_t)batch < (size_t)tree.n ? (size_t)batch : (size_t)tree.n, sizeof(MultiOp));
        while (i >= 0 && cnt < batch) {
            ops[cnt].type = ZOO_OP_DELETE;
            ops[cnt].path = xstrdup(tree.v[i]);
            ops[cnt].version = -1;
            cnt++;
            i--;
        }
        ZkReply rep;
        MultiResult *res;
        int nres;
        int rc = multi_call(zk, false, ops, cnt, &rep, &res, &nres);
        if (rc != ZERR_OK)
            ok = false;
        for (int k = 0; k < nres; k++)
            if (res[k].type == ZOO_OP_ERROR && res[k].err != ZERR_OK)
                ok = false;
        multi_results_free(res, nres);
        zk_reply_free(&rep);
        multi_ops_free(ops, cnt);
    }
    if (!ok)
        err_printf("Failed to delete some node(s) in the subtree!\n");
    ret = CLI_OK;
out:
    sv_free(&tree);
    opts_free(&o);
    return ret;
}

static int cmd_stat(Zk *zk, int argc, char **argv)
{
    static const char spec[] = "w";
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, spec, false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("stat"));
        goto out;
    }
    if (compat_watch(&o, spec, false, argc, argv,
                     "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.") < 0)
        goto out;
    const char *path = o.args.v[1];
    bool watch = o.has['w'];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_EXISTS);
    ExistsRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), watch};
    jute_write_ExistsRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    ExistsResponse er;
    if (rc == ZERR_OK && jute_read_ExistsResponse(&rep.body, &rep.arena, &er) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (watch && (rc == ZERR_OK || rc == ZERR_NONODE))
        zk_watch_add(zk, rc == ZERR_OK ? W_DATA : W_EXIST, path);
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        print_stat(&er.stat);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

static int cmd_getacl(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "s", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("getAcl"));
        goto out;
    }
    const char *path = o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_GETACL);
    GetACLRequest rq = {zk_bytes_cstr(zk_server_path(zk, path))};
    jute_write_GetACLRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    GetACLResponse ar;
    if (rc == ZERR_OK && jute_read_GetACLResponse(&rep.body, &rep.arena, &ar) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        for (int32_t i = 0; i < ar.acl.count; i++) {
            CorralStrbuf sb = CORRAL_STRBUF_INIT;
            char perms[8];
            format_jute_id(&sb, &ar.acl.items[i].id);
            format_perms(ar.acl.items[i].perms, perms);
            corral_strbuf_printf(&sb, ": %s\n", perms);
            out_java_bytes(sb.data, sb.len);
            corral_strbuf_free(&sb);
        }
        if (o.has['s'])
            print_stat(&ar.stat);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

static int do_set_acl(Zk *zk, const char *path, JuteVec_ACL *acl, int32_t version, Stat *st)
{
    WBuf *w = zk_req_begin(zk, ZOO_OP_SETACL);
    SetACLRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), *acl, version};
    jute_write_SetACLRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    SetACLResponse sr;
    if (rc == ZERR_OK && jute_read_SetACLResponse(&rep.body, &rep.arena, &sr) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc == ZERR_OK && st)
        *st = sr.stat;
    zk_reply_free(&rep);
    return rc;
}

typedef struct SetAclCtx {
    JuteVec_ACL *acl;
    int32_t version;
} SetAclCtx;

static bool setacl_visit(Zk *zk, const char *path, void *vctx)
{
    SetAclCtx *ctx = vctx;
    int rc = ctx->acl->count == 0 ? ZERR_INVALIDACL : do_set_acl(zk, path, ctx->acl, ctx->version, NULL);
    if (rc != ZERR_OK) {
        /* out.print(e.getMessage()): no newline */
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        keeper_message(&sb, rc, ctx->acl->count == 0 ? NULL : path);
        out_printf("%s", sb.data);
        corral_strbuf_free(&sb);
    }
    return false;
}

static int cmd_setacl(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    AclList acl;
    bool have_acl = false;
    if (opts_parse(&o, "sv:R", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 3) {
        ret = usage_fail(self("setAcl"));
        goto out;
    }
    const char *path = o.args.v[1];
    acl_parse(&acl, o.args.v[2]);
    have_acl = true;
    int64_t version = -1;
    if (o.has['v'] && !java_parse_long(o.val['v'], INT32_MIN, INT32_MAX, &version)) {
        ret = number_format_fail(o.val['v']);
        goto out;
    }
    if (o.has['R']) {
        SetAclCtx ctx = {&acl.vec, (int32_t)version};
        ret = visit_tree(zk, path, false, setacl_visit, &ctx);
        goto out;
    }
    if (path_check(path, false) != CLI_OK)
        goto out;
    if (acl.vec.count == 0) {
        ret = keeper_fail(ZERR_INVALIDACL, NULL);
        goto out;
    }
    Stat st;
    int rc = do_set_acl(zk, path, &acl.vec, (int32_t)version, &st);
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
        goto out;
    }
    if (o.has['s'])
        print_stat(&st);
    ret = CLI_OK;
out:
    if (have_acl)
        acl_free(&acl);
    opts_free(&o);
    return ret;
}

static int cmd_addauth(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("addauth"));
        goto out;
    }
    const char *auth = o.args.n >= 3 ? o.args.v[2] : NULL;
    zk_add_auth(zk, o.args.v[1], auth, auth ? strlen(auth) : 0);
    ret = CLI_OK;
out:
    opts_free(&o);
    return ret;
}

static int cmd_sync(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "", true, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("sync"));
        goto out;
    }
    const char *path = o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_SYNC);
    SyncRequest rq = {zk_bytes_cstr(zk_server_path(zk, path))};
    jute_write_SyncRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    if (rc == ZERR_OK)
        out_printf("Sync is OK\n");
    else
        out_printf("Sync has failed. rc=%d\n", rc);
    ret = CLI_OK;
out:
    opts_free(&o);
    return ret;
}

static int cmd_addwatch(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "m:", true, argc, argv) < 0)
        goto out;
    if (o.args.n != 2) {
        ret = usage_fail(self("addWatch"));
        goto out;
    }
    int mode = ZOO_ADD_WATCH_PERSISTENT_RECURSIVE;
    if (o.has['m']) {
        const char *m = o.val['m'];
        if (strcasecmp(m, "persistent") == 0)
            mode = ZOO_ADD_WATCH_PERSISTENT;
        else if (strcasecmp(m, "persistent_recursive") == 0 || strcasecmp(m, "persistentRecursive") == 0)
            mode = ZOO_ADD_WATCH_PERSISTENT_RECURSIVE;
        else {
            ret = usage_fail(self("addWatch"));
            goto out;
        }
    }
    const char *path = o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_ADD_WATCH);
    AddWatchRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), mode};
    jute_write_AddWatchRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
        goto out;
    }
    zk_watch_add(zk, mode == ZOO_ADD_WATCH_PERSISTENT ? W_PERSISTENT : W_PERSISTENT_RECURSIVE, path);
    ret = CLI_OK;
out:
    opts_free(&o);
    return ret;
}

static int cmd_removewatches(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "cdal", false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("removewatches"));
        goto out;
    }
    const char *path = o.args.v[1];
    int type = ZOO_WATCHER_ANY;
    if (o.has['c'])
        type = ZOO_WATCHER_CHILDREN;
    else if (o.has['d'])
        type = ZOO_WATCHER_DATA;
    else if (o.has['a'])
        type = ZOO_WATCHER_ANY;
    bool local = o.has['l'];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_REMOVE_WATCHES);
    RemoveWatchesRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), type};
    jute_write_RemoveWatchesRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    rc = zk_remove_watches_local(zk, path, type, local, rc);
    ret = rc == ZERR_OK ? CLI_OK : keeper_fail(rc, path);
out:
    opts_free(&o);
    return ret;
}

static int cmd_whoami(Zk *zk, int argc, char **argv)
{
    zk_req_begin(zk, ZOO_OP_WHOAMI);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    WhoAmIResponse wr;
    if (rc == ZERR_OK && jute_read_WhoAmIResponse(&rep.body, &rep.arena, &wr) < 0)
        rc = ZERR_MARSHALLINGERROR;
    int ret;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, NULL);
    } else {
        out_printf("Auth scheme: User\n");
        for (int32_t i = 0; i < wr.clientInfo.count; i++) {
            ClientInfo *ci = &wr.clientInfo.items[i];
            CorralStrbuf sb = CORRAL_STRBUF_INIT;
            if (ci->authScheme.len >= 0)
                corral_strbuf_append(&sb, ci->authScheme.data, (size_t)ci->authScheme.len);
            else
                corral_strbuf_puts(&sb, "null");
            corral_strbuf_puts(&sb, ": ");
            if (ci->user.len >= 0)
                corral_strbuf_append(&sb, ci->user.data, (size_t)ci->user.len);
            else
                corral_strbuf_puts(&sb, "null");
            corral_strbuf_puts(&sb, "\n");
            out_java_bytes(sb.data, sb.len);
            corral_strbuf_free(&sb);
        }
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
    return ret;
}

static int cmd_getephemerals(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "", true, argc, argv) < 0)
        goto out;
    const char *path = o.args.n < 2 ? "/" : o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_GET_EPHEMERALS);
    GetEphemeralsRequest rq = {zk_bytes_cstr(zk_server_path(zk, path))};
    jute_write_GetEphemeralsRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    GetEphemeralsResponse er;
    if (rc == ZERR_OK && jute_read_GetEphemeralsResponse(&rep.body, &rep.arena, &er) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        print_string_list(&er.ephemerals, false);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

static int cmd_getallchildrennumber(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "", false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("getAllChildrenNumber"));
        goto out;
    }
    const char *path = o.args.v[1];
    if (path_check(path, false) != CLI_OK)
        goto out;
    WBuf *w = zk_req_begin(zk, ZOO_OP_GET_ALL_CHILDREN_NUMBER);
    GetAllChildrenNumberRequest rq = {zk_bytes_cstr(zk_server_path(zk, path))};
    jute_write_GetAllChildrenNumberRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    GetAllChildrenNumberResponse gr;
    if (rc == ZERR_OK && jute_read_GetAllChildrenNumberResponse(&rep.body, &rep.arena, &gr) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        out_printf("%d\n", gr.totalNumber);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

/* ConfigUtils.getClientConfigStr: "version host:port,host:port". */
static void print_client_config(ZkBytes d)
{
    char *s = d.len >= 0 ? xstrndup(d.data, (size_t)d.len) : xstrdup("");
    char *version = xstrdup("");
    StrVec servers = {0};
    char *save = NULL;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *key = line, *val = eq + 1;
        while (*key == ' ')
            key++;
        if (strcmp(key, "version") == 0) {
            free(version);
            version = xstrdup(val);
        }
        if (strncmp(key, "server.", 7) != 0)
            continue;
        char *semi = strchr(val, ';');
        if (!semi)
            continue;
        char *client = semi + 1;
        char *colon = strrchr(client, ':');
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        if (colon)
            corral_strbuf_puts(&sb, client);
        else
            corral_strbuf_printf(&sb, "0.0.0.0:%s", client);
        sv_push(&servers, sb.data);
        corral_strbuf_free(&sb);
    }
    out_printf("%s ", version);
    for (int i = 0; i < servers.n; i++)
        out_printf("%s%s", i ? "," : "", servers.v[i]);
    out_printf("\n");
    sv_free(&servers);
    free(version);
    free(s);
}

static int cmd_config(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "cws", false, argc, argv) < 0)
        goto out;
    const char *path = "/zookeeper/config";
    bool watch = o.has['w'];
    WBuf *w = zk_req_begin(zk, ZOO_OP_GETDATA);
    GetDataRequest rq = {zk_bytes_cstr(path), watch};
    jute_write_GetDataRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    GetDataResponse gd;
    if (rc == ZERR_OK && jute_read_GetDataResponse(&rep.body, &rep.arena, &gd) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, path);
    } else {
        if (watch)
            zk_watch_add(zk, W_DATA, path);
        if (o.has['c'])
            print_client_config(gd.data);
        else
            print_data(gd.data);
        if (o.has['s'])
            print_stat(&gd.stat);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    opts_free(&o);
    return ret;
}

static int cmd_version(Zk *zk, int argc, char **argv)
{
    out_printf("ZooKeeper CLI version: corral-cli %s\n", CORRAL_VERSION);
    return CLI_OK;
}

static int cmd_close(Zk *zk, int argc, char **argv)
{
    zk_close(zk);
    return CLI_OK;
}

/* ---- quotas (SetQuotaCommand, ListQuotaCommand, DelQuotaCommand) ------------------------ */
#define QUOTA_ROOT "/zookeeper/quota"
#define QUOTA_LIMITS "zookeeper_limits"
#define QUOTA_STATS "zookeeper_stats"

/* org.apache.zookeeper.StatsTrack: "count=N,bytes=N[=;key=N...]". */
typedef struct StatsTrack {
    int n;
    char key[8][32];
    int64_t val[8];
} StatsTrack;

static void st_set(StatsTrack *t, const char *k, size_t klen, int64_t v)
{
    if (klen >= sizeof(t->key[0]))
        klen = sizeof(t->key[0]) - 1;
    for (int i = 0; i < t->n; i++)
        if (strlen(t->key[i]) == klen && memcmp(t->key[i], k, klen) == 0) {
            t->val[i] = v;
            return;
        }
    if (t->n == 8)
        return;
    memcpy(t->key[t->n], k, klen);
    t->key[t->n][klen] = '\0';
    t->val[t->n++] = v;
}

static void st_put(StatsTrack *t, const char *k, int64_t v)
{
    st_set(t, k, strlen(k), v);
}

static int64_t st_get(const StatsTrack *t, const char *k)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->key[i], k) == 0)
            return t->val[i];
    return -1;
}

static void st_parse(StatsTrack *t, ZkBytes d)
{
    memset(t, 0, sizeof(*t));
    if (d.len <= 0)
        return;
    char *s = xstrndup(d.data, (size_t)d.len);
    char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",;");
        char *pair = p;
        p += n;
        while (*p == ',' || *p == ';')
            *p++ = '\0';
        pair[n] = '\0';
        char *eq = strchr(pair, '=');
        if (!eq)
            continue;       /* Java: ArrayIndexOutOfBounds */
        char *v = eq + 1;
        char *eq2 = strchr(v, '=');
        if (eq2)
            *eq2 = '\0';
        int64_t val = -1;
        if (*v && !java_parse_long(v, INT64_MIN, INT64_MAX, &val))
            continue;       /* Java: NumberFormatException */
        st_set(t, pair, (size_t)(eq - pair), val);
    }
    free(s);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void st_format(const StatsTrack *t, CorralStrbuf *sb)
{
    corral_strbuf_printf(sb, "count=%" PRId64 ",bytes=%" PRId64, st_get(t, "count"), st_get(t, "bytes"));
    char keys[8][32];
    int nk = 0;
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->key[i], "count") != 0 && strcmp(t->key[i], "bytes") != 0)
            memcpy(keys[nk++], t->key[i], sizeof(keys[0]));
    if (nk == 0)
        return;
    qsort(keys, (size_t)nk, sizeof(keys[0]), cmp_key);
    corral_strbuf_puts(sb, "=");
    for (int i = 0; i < nk; i++)
        corral_strbuf_printf(sb, ";%s=%" PRId64, keys[i], st_get(t, keys[i]));
}

/* The failure of a quota helper: an exception to report. */
typedef struct QuotaErr {
    int rc;             /* ZERR_*, or 0 with msg set (IllegalArgumentException) */
    char *path;         /* the KeeperException path */
    char *msg;
} QuotaErr;

static int qerr_keeper(QuotaErr *e, int rc, const char *path)
{
    e->rc = rc;
    e->path = xstrdup(path);
    return -1;
}

static int qerr_msg(QuotaErr *e, char *msg)
{
    e->rc = 0;
    e->msg = msg;
    return -1;
}

static void qerr_free(QuotaErr *e)
{
    free(e->path);
    free(e->msg);
}

static int q_exists(Zk *zk, const char *path, bool *exists, QuotaErr *e)
{
    WBuf *w = zk_req_begin(zk, ZOO_OP_EXISTS);
    ExistsRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), false};
    jute_write_ExistsRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    *exists = rc == ZERR_OK;
    if (rc == ZERR_OK || rc == ZERR_NONODE)
        return 0;
    return qerr_keeper(e, rc, path);
}

static int q_create(Zk *zk, const char *path, const char *data, QuotaErr *e)
{
    AclList acl;
    acl_open(&acl);
    WBuf *w = zk_req_begin(zk, ZOO_OP_CREATE);
    CreateRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), bytes_or_null(data), acl.vec, 0};
    jute_write_CreateRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    acl_free(&acl);
    return rc == ZERR_OK ? 0 : (qerr_keeper(e, rc, path), rc);
}

static int q_get_track(Zk *zk, const char *path, StatsTrack *t, QuotaErr *e)
{
    ZkReply rep;
    GetDataResponse gd;
    int rc = req_get_data(zk, path, false, &rep, &gd);
    if (rc == ZERR_OK)
        st_parse(t, gd.data);
    zk_reply_free(&rep);
    return rc == ZERR_OK ? 0 : qerr_keeper(e, rc, path);
}

static int q_set_track(Zk *zk, const char *path, const StatsTrack *t, QuotaErr *e)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    st_format(t, &sb);
    WBuf *w = zk_req_begin(zk, ZOO_OP_SETDATA);
    SetDataRequest rq = {zk_bytes_cstr(zk_server_path(zk, path)), zk_bytes_cstr(sb.data), -1};
    jute_write_SetDataRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    zk_reply_free(&rep);
    corral_strbuf_free(&sb);
    return rc == ZERR_OK ? 0 : qerr_keeper(e, rc, path);
}

static int q_children(Zk *zk, const char *path, StrVec *out, int *rcp)
{
    ZkReply rep;
    JuteVec_ustring ch;
    int rc = req_get_children(zk, path, false, false, &rep, &ch, NULL);
    if (rc == ZERR_OK)
        for (int32_t i = 0; i < ch.count; i++)
            sv_push_n(out, ch.items[i].data, (size_t)ch.items[i].len);
    zk_reply_free(&rep);
    *rcp = rc;
    return rc == ZERR_OK ? 0 : -1;
}

static char *str_cat3(const char *a, const char *b, const char *c)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_printf(&sb, "%s%s%s", a, b, c);
    return sb.data;
}

typedef struct ChildQuotaCtx {
    const char *path;        /* the node the quota is for */
    char *real;              /* QUOTA_ROOT + path */
    char *found;             /* message when a child has a quota */
} ChildQuotaCtx;

static bool child_quota_visit(Zk *zk, const char *qpath, void *vctx)
{
    ChildQuotaCtx *ctx = vctx;
    StrVec ch = {0};
    int rc;
    q_children(zk, qpath, &ch, &rc);
    bool stop = false;
    if (strcmp(qpath, ctx->real) != 0 && sv_find(&ch, QUOTA_LIMITS) >= 0) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_printf(&sb, "%s has a child %s which has a quota", ctx->path, qpath + strlen(QUOTA_ROOT));
        ctx->found = sb.data;
        stop = true;
    }
    sv_free(&ch);
    return stop;
}

static void checkq(const StatsTrack *q, const StatsTrack *s)
{
    int64_t qc = st_get(q, "count"), qch = st_get(q, "countHardLimit"), sc = st_get(s, "count");
    int64_t qb = st_get(q, "bytes"), qbh = st_get(q, "byteHardLimit"), sbytes = st_get(s, "bytes");
    if ((qc > -1 && qc < sc) || (qch > -1 && qch < sc))
        out_printf("[Warning]: the count quota you create is less than the existing count:%" PRId64 "\n", sc);
    if ((qb > -1 && qb < sbytes) || (qbh > -1 && qbh < sbytes))
        out_printf("[Warning]: the bytes quota you create is less than the existing bytes:%" PRId64 "\n", sbytes);
}

/* SetQuotaCommand.createQuota */
static int create_quota(Zk *zk, const char *path, const StatsTrack *quota, QuotaErr *e)
{
    char *perr = java_path_error(path, false);
    if (perr)
        return qerr_msg(e, perr);
    bool ex;
    if (q_exists(zk, path, &ex, e) < 0)
        return -1;
    if (!ex)
        return qerr_msg(e, str_cat3(path, " does not exist.", ""));

    /* checkIfChildQuota */
    ChildQuotaCtx cctx = {path, str_cat3(QUOTA_ROOT, path, ""), NULL};
    perr = java_path_error(cctx.real, false);
    if (perr) {
        free(cctx.real);
        return qerr_msg(e, perr);
    }
    char *err_path = NULL;
    int rc = visit_tree_raw(zk, cctx.real, false, child_quota_visit, &cctx, &err_path);
    free(cctx.real);
    if (cctx.found) {
        free(err_path);
        return qerr_msg(e, cctx.found);
    }
    if (rc != ZERR_OK && rc != ZERR_NONODE) {
        qerr_keeper(e, rc, err_path);
        free(err_path);
        return -1;
    }
    free(err_path);

    /* checkIfParentQuota: path.split("/") drops trailing empties */
    StrVec parts = {0};
    {
        const char *p = path;
        for (;;) {
            const char *sl = strchr(p, '/');
            size_t n = sl ? (size_t)(sl - p) : strlen(p);
            sv_push_n(&parts, p, n);
            if (!sl)
                break;
            p = sl + 1;
        }
        while (parts.n > 0 && parts.v[parts.n - 1][0] == '\0')
            free(parts.v[--parts.n]);
    }
    CorralStrbuf qp = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&qp, QUOTA_ROOT);
    char *own = str_cat3(QUOTA_ROOT, path, "");
    int ret = 0;
    for (int i = 1; i < parts.n - 1; i++) {
        corral_strbuf_printf(&qp, "/%s", parts.v[i]);
        StrVec ch = {0};
        int crc;
        if (q_children(zk, qp.data, &ch, &crc) < 0) {
            sv_free(&ch);
            if (crc != ZERR_NONODE)
                ret = qerr_keeper(e, crc, qp.data);
            break;
        }
        bool stop = ch.n == 0;
        if (!stop && strcmp(qp.data, own) != 0 && sv_find(&ch, QUOTA_LIMITS) >= 0) {
            CorralStrbuf m = CORRAL_STRBUF_INIT;
            corral_strbuf_printf(&m, "%s has a parent %s which has a quota", path, qp.data + strlen(QUOTA_ROOT));
            ret = qerr_msg(e, m.data);
            stop = true;
        }
        sv_free(&ch);
        if (stop)
            break;
    }
    free(own);
    corral_strbuf_free(&qp);
    if (ret < 0) {
        sv_free(&parts);
        return ret;
    }

    /* the quota tree */
    if (q_exists(zk, QUOTA_ROOT, &ex, e) < 0)
        goto fail;
    if (!ex) {
        int r1 = q_create(zk, "/zookeeper", NULL, e);
        if (r1 == 0)
            r1 = q_create(zk, QUOTA_ROOT, NULL, e);
        if (r1 == ZERR_NODEEXISTS) {
            qerr_free(e);
            memset(e, 0, sizeof(*e));
        } else if (r1 != 0) {
            goto fail;
        }
    }
    CorralStrbuf qpath = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&qpath, QUOTA_ROOT);
    for (int i = 1; i < parts.n; i++) {
        corral_strbuf_printf(&qpath, "/%s", parts.v[i]);
        if (q_exists(zk, qpath.data, &ex, e) < 0) {
            corral_strbuf_free(&qpath);
            goto fail;
        }
        if (!ex) {
            int r1 = q_create(zk, qpath.data, NULL, e);
            if (r1 == ZERR_NODEEXISTS) {
                qerr_free(e);
                memset(e, 0, sizeof(*e));
            } else if (r1 != 0) {
                corral_strbuf_free(&qpath);
                goto fail;
            }
        }
    }
    char *stat_path = str_cat3(qpath.data, "/", QUOTA_STATS);
    char *limit_path = str_cat3(qpath.data, "/", QUOTA_LIMITS);
    corral_strbuf_free(&qpath);
    StatsTrack qt, stt;
    ret = -1;
    if (q_exists(zk, limit_path, &ex, e) < 0)
        goto out2;
    if (!ex) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        st_format(quota, &sb);
        int r1 = q_create(zk, limit_path, sb.data, e);
        corral_strbuf_free(&sb);
        if (r1 != 0)
            goto out2;
        StatsTrack zero = {0};
        st_put(&zero, "count", 0);
        st_put(&zero, "bytes", 0);
        st_format(&zero, &sb);
        r1 = q_create(zk, stat_path, sb.data, e);
        corral_strbuf_free(&sb);
        if (r1 != 0)
            goto out2;
        if (q_get_track(zk, limit_path, &qt, e) < 0 || q_get_track(zk, stat_path, &stt, e) < 0)
            goto out2;
        checkq(&qt, &stt);
    } else {
        if (q_get_track(zk, limit_path, &qt, e) < 0)
            goto out2;
        static const char *const keys[] = {"count", "bytes", "countHardLimit", "byteHardLimit"};
        for (int i = 0; i < 4; i++)
            if (st_get(quota, keys[i]) > -1)
                st_put(&qt, keys[i], st_get(quota, keys[i]));
        if (q_get_track(zk, stat_path, &stt, e) < 0)
            goto out2;
        checkq(&qt, &stt);
        if (q_set_track(zk, limit_path, &qt, e) < 0)
            goto out2;
    }
    ret = 0;
out2:
    free(stat_path);
    free(limit_path);
    sv_free(&parts);
    return ret;
fail:
    sv_free(&parts);
    return -1;
}

static int quota_fail(QuotaErr *e)
{
    int r = e->msg ? fail_msg(e->msg) : keeper_fail(e->rc, e->path);
    e->msg = NULL;
    qerr_free(e);
    return r;
}

static int cmd_setquota(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse_group(&o, "n:b:N:B:", "nbNB", false, argc, argv) < 0)
        goto out;
    if (!o.has['n'] && !o.has['b'] && !o.has['N'] && !o.has['B']) {
        err_printf("org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, "
                   "-b bytes soft quota, -N num hard quota, -B bytes hard quota]\n");
        goto out;
    }
    if (o.args.n < 2) {
        ret = usage_fail(self("setquota"));
        goto out;
    }
    const char *path = o.args.v[1];
    ret = CLI_OK;
    if (strncmp(path, QUOTA_ROOT, strlen(QUOTA_ROOT)) == 0) {
        err_printf("cannot set a quota under the path: " QUOTA_ROOT "\n");
        goto out;
    }
    StatsTrack q = {0};
    st_put(&q, "count", -1);
    st_put(&q, "bytes", -1);
    st_put(&q, "countHardLimit", -1);
    st_put(&q, "byteHardLimit", -1);
    static const struct { char opt; const char *key; bool is_count; } m[] = {
        {'n', "count", true}, {'b', "bytes", false}, {'N', "countHardLimit", true}, {'B', "byteHardLimit", false}};
    for (int i = 0; i < 4; i++) {
        if (!o.has[(int)m[i].opt])
            continue;
        int64_t v;
        if (!java_parse_long(o.val[(int)m[i].opt], m[i].is_count ? INT32_MIN : INT64_MIN,
                             m[i].is_count ? INT32_MAX : INT64_MAX, &v)) {
            err_printf("NumberFormatException happens when parsing the option value\n");
            goto out;
        }
        if (m[i].is_count ? v <= 0 : v < 0) {
            err_printf(m[i].is_count ? "the num quota must be greater than zero\n"
                                     : "the bytes quota must be greater than or equal to zero\n");
            goto out;
        }
        st_put(&q, m[i].key, v);
    }
    QuotaErr e = {0};
    if (create_quota(zk, path, &q, &e) < 0)
        ret = quota_fail(&e);
out:
    opts_free(&o);
    return ret;
}

static int cmd_listquota(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse(&o, "", false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("listquota"));
        goto out;
    }
    const char *path = o.args.v[1];
    char *limit = str_cat3(QUOTA_ROOT, path, "/" QUOTA_LIMITS);
    char *stat = str_cat3(QUOTA_ROOT, path, "/" QUOTA_STATS);
    err_printf("absolute path is %s\n", limit);
    StatsTrack lt, stt;
    QuotaErr e = {0};
    char *perr = java_path_error(limit, false);
    ret = CLI_OK;
    if (perr) {
        ret = fail_msg(perr);
    } else if (q_get_track(zk, limit, &lt, &e) < 0 ||
               ((perr = java_path_error(stat, false)) == NULL && q_get_track(zk, stat, &stt, &e) < 0)) {
        if (e.rc == ZERR_NONODE) {
            err_printf("quota for %s does not exist.\n", path);
            qerr_free(&e);
        } else {
            ret = quota_fail(&e);
        }
    } else if (perr) {
        ret = fail_msg(perr);
    } else {
        CorralStrbuf a = CORRAL_STRBUF_INIT, b = CORRAL_STRBUF_INIT;
        st_format(&lt, &a);
        st_format(&stt, &b);
        out_printf("Output quota for %s %s\n", path, a.data);
        out_printf("Output stat for %s %s\n", path, b.data);
        corral_strbuf_free(&a);
        corral_strbuf_free(&b);
    }
    free(limit);
    free(stat);
out:
    opts_free(&o);
    return ret;
}

/* DelQuotaCommand.trimProcQuotas */
static int trim_proc_quotas(Zk *zk, const char *path, QuotaErr *e)
{
    char *p = xstrdup(path);
    int ret = 0;
    while (strcmp(p, QUOTA_ROOT) != 0) {
        StrVec ch = {0};
        int rc;
        if (q_children(zk, p, &ch, &rc) < 0) {
            ret = qerr_keeper(e, rc, p);
            break;
        }
        bool empty = ch.n == 0;
        sv_free(&ch);
        if (!empty)
            break;
        rc = do_delete(zk, p, -1);
        if (rc != ZERR_OK) {
            ret = qerr_keeper(e, rc, p);
            break;
        }
        char *sl = strrchr(p, '/');
        if (!sl)
            break;
        *sl = '\0';
    }
    free(p);
    return ret;
}

static int cmd_delquota(Zk *zk, int argc, char **argv)
{
    Opts o;
    int ret = CLI_ERR;
    if (opts_parse_group(&o, "nbNB", "nbNB", false, argc, argv) < 0)
        goto out;
    if (o.args.n < 2) {
        ret = usage_fail(self("delquota"));
        goto out;
    }
    const char *path = o.args.v[1];
    bool flag_set = o.has['n'] || o.has['b'] || o.has['N'] || o.has['B'];
    char *parent = str_cat3(QUOTA_ROOT, path, "");
    char *qpath = str_cat3(QUOTA_ROOT, path, "/" QUOTA_LIMITS);
    QuotaErr e = {0};
    bool ex;
    int r = 0;
    ret = CLI_OK;
    char *perr = java_path_error(qpath, false);
    if (perr) {
        ret = fail_msg(perr);
        goto out2;
    }
    if ((r = q_exists(zk, qpath, &ex, &e)) < 0)
        goto done;
    if (!ex) {
        out_printf("Quota does not exist for %s\n", path);
        goto out2;
    }
    StatsTrack st;
    if ((r = q_get_track(zk, qpath, &st, &e)) < 0)
        goto done;
    if (!flag_set) {
        StrVec ch = {0};
        int rc;
        if (q_children(zk, parent, &ch, &rc) < 0) {
            r = qerr_keeper(&e, rc, parent);
        } else {
            for (int i = 0; i < ch.n && r == 0; i++) {
                char *cp = str_cat3(parent, "/", ch.v[i]);
                rc = do_delete(zk, cp, -1);
                if (rc != ZERR_OK)
                    r = qerr_keeper(&e, rc, cp);
                free(cp);
            }
            if (r == 0)
                r = trim_proc_quotas(zk, parent, &e);
        }
        sv_free(&ch);
    } else {
        if (o.has['n'])
            st_put(&st, "count", -1);
        if (o.has['b'])
            st_put(&st, "bytes", -1);
        if (o.has['N'])
            st_put(&st, "countHardLimit", -1);
        if (o.has['B'])
            st_put(&st, "byteHardLimit", -1);
        r = q_set_track(zk, qpath, &st, &e);
    }
done:
    if (r < 0) {
        if (e.rc == ZERR_NONODE && !e.msg) {
            err_printf("quota for %s does not exist.\n", path);
            qerr_free(&e);
        } else {
            ret = quota_fail(&e);
        }
    }
out2:
    free(parent);
    free(qpath);
out:
    opts_free(&o);
    return ret;
}

/* ---- reconfig (ReconfigCommand) ------------------------------------------------------------ */
static char *lowercase_dup(const char *s)
{
    char *d = xstrdup(s);
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* -file: the server.N / group / weight lines of a dynamic config file. */
static char *read_members_file(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return NULL;
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    char line[4096];
    while (fgets(line, sizeof(line), f)) {
        char *l = line;
        while (isspace((unsigned char)*l))
            l++;
        size_t n = strlen(l);
        while (n && isspace((unsigned char)l[n - 1]))
            l[--n] = '\0';
        if (strncmp(l, "server.", 7) == 0 || strncmp(l, "group.", 6) == 0 || strncmp(l, "weight.", 7) == 0)
            corral_strbuf_printf(&sb, "%s%s", sb.len ? "\n" : "", l);
    }
    fclose(f);
    if (!sb.data)
        corral_strbuf_puts(&sb, "");
    return sb.data;
}

static int cmd_reconfig(Zk *zk, int argc, char **argv)
{
    static const char *const names[] = {"s", "v", "file", "members", "add", "remove"};
    const char *val[6] = {0};
    bool has[6] = {0};
    const CliCmd *me = self("reconfig");
    for (int i = 1; i < argc; i++) {
        const char *t = argv[i];
        if (t[0] != '-' || t[1] == '\0')
            continue;           /* stray arguments are ignored */
        int k = -1;
        for (int j = 0; j < 6; j++)
            if (strcmp(t + 1, names[j]) == 0)
                k = j;
        if (k < 0) {
            err_printf("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: %s\n", t);
            return CLI_ERR;
        }
        has[k] = true;
        if (k == 0)
            continue;
        if (i + 1 >= argc) {
            err_printf("org.apache.commons.cli.MissingArgumentException: Missing argument for option: %s\n", names[k]);
            return CLI_ERR;
        }
        val[k] = argv[++i];
    }
    if (!(has[2] || has[3]) && !has[4] && !has[5])
        return usage_fail(me);
    int64_t version = -1;
    if (has[1]) {
        char *end;
        errno = 0;
        long long v = strtoll(val[1], &end, 16);
        if (errno || *end || end == val[1]) {
            err_printf("-v must be followed by a long (configuration version)\n");
            return CLI_ERR;
        }
        version = v;
    }
    if ((has[2] || has[3]) && (has[4] || has[5])) {
        err_printf("Can't use -file or -members together with -add or -remove (mixing incremental and "
                   "non-incremental modes is not allowed)\n");
        return CLI_ERR;
    }
    if (has[2] && has[3]) {
        err_printf("Can't use -file and -members together (conflicting non-incremental modes)\n");
        return CLI_ERR;
    }
    char *joining = has[4] ? lowercase_dup(val[4]) : NULL;
    char *leaving = has[5] ? lowercase_dup(val[5]) : NULL;
    char *members = has[3] ? lowercase_dup(val[3]) : NULL;
    int ret = CLI_ERR;
    if (has[2]) {
        members = read_members_file(val[2]);
        if (!members) {
            err_printf("Error processing %s%s (%s)\n", val[2], val[2], strerror(errno));
            goto out;
        }
    }
    WBuf *w = zk_req_begin(zk, ZOO_OP_RECONFIG);
    ReconfigRequest rq = {bytes_or_null(joining), bytes_or_null(leaving), bytes_or_null(members), version};
    jute_write_ReconfigRequest(w, &rq);
    ZkReply rep;
    int rc = zk_req_call(zk, &rep);
    GetDataResponse gd;
    if (rc == ZERR_OK && jute_read_GetDataResponse(&rep.body, &rep.arena, &gd) < 0)
        rc = ZERR_MARSHALLINGERROR;
    if (rc != ZERR_OK) {
        ret = keeper_fail(rc, "");
    } else {
        out_printf("Committed new configuration:\n");
        print_data(gd.data);
        if (has[0])
            print_stat(&gd.stat);
        ret = CLI_OK;
    }
    zk_reply_free(&rep);
out:
    free(joining);
    free(leaving);
    free(members);
    return ret;
}

/* ---- table ------------------------------------------------------------------------------------- */
static const CliCmd commands[] = {
    {"addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is "
                 "PERSISTENT_RECURSIVE", cmd_addwatch},
    {"addauth", "scheme auth", cmd_addauth},
    {"close", "", cmd_close},
    {"config", "[-c] [-w] [-s]", cmd_config},
    {"create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]", cmd_create},
    {"delquota", "[-n|-b|-N|-B] path", cmd_delquota},
    {"delete", "[-v version] path", cmd_delete},
    {"deleteall", "path [-b batch size]", cmd_deleteall},
    {"get", "[-s] [-w] path", cmd_get},
    {"getAcl", "[-s] path", cmd_getacl},
    {"getAllChildrenNumber", "path", cmd_getallchildrennumber},
    {"getEphemerals", "path", cmd_getephemerals},
    {"listquota", "path", cmd_listquota},
    {"ls", "[-s] [-w] [-R] path", cmd_ls},
    {"multi", "{ op ; op ; ... } # op: create|setData|check|delete, see doc/corral-cli.md", cmd_multi},
    {"multiRead", "{ op ; op ; ... } # op: getData|getChildren path", cmd_multiread},
    {"reconfig", "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | "
                 "[-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]", cmd_reconfig},
    {"removewatches", "path [-c|-d|-a] [-l]", cmd_removewatches},
    {"set", "[-s] [-v version] path data", cmd_set},
    {"setAcl", "[-s] [-v version] [-R] path acl", cmd_setacl},
    {"setquota", "-n|-b|-N|-B val path", cmd_setquota},
    {"stat", "[-w] path", cmd_stat},
    {"sync", "path", cmd_sync},
    {"version", "", cmd_version},
    {"whoami", "", cmd_whoami},
};

const CliCmd *cli_find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const char *const cli_shell_cmds[][2] = {
    {"connect", "host:port"},
    {"history", ""},
    {"printwatches", "on|off"},
    {"quit", ""},
    {"redo", "cmdno"},
    {NULL, NULL},
};

void cli_usage(void)
{
    StrVec lines = {0};
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_printf(&sb, "\t%s %s", commands[i].name, commands[i].options);
        sv_push(&lines, sb.data);
        corral_strbuf_free(&sb);
    }
    for (int i = 0; cli_shell_cmds[i][0]; i++) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_printf(&sb, "\t%s %s", cli_shell_cmds[i][0], cli_shell_cmds[i][1]);
        sv_push(&lines, sb.data);
        corral_strbuf_free(&sb);
    }
    sv_sort(&lines);
    CorralStrbuf all = CORRAL_STRBUF_INIT;
    corral_strbuf_puts(&all, "ZooKeeper -server host:port -client-configuration properties-file cmd args\n");
    for (int i = 0; i < lines.n; i++)
        corral_strbuf_printf(&all, "%s\n", lines.v[i]);
    err_printf("%s", all.data);
    corral_strbuf_free(&all);
    sv_free(&lines);
}
