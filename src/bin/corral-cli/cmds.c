/*
 * src/bin/corral-cli/cmds.c: the command table of corral-cli and what the
 * commands share: commons-cli option parsing, error messages, request and
 * tree-visiting helpers.  The commands are in cmd_*.c, each a
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

void opts_free(Opts *o)
{
    sv_free(&o->args);
}

/*
 * Parses argv like commons-cli with the given options ("sv:" = -s, and -v
 * with a value).  On error returns -1 and prints the CliParseException
 * message (the ParseException's toString()).
 */
int opts_parse_group(Opts *o, const char *spec, const char *group, bool posix, int argc, char **argv)
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

int opts_parse(Opts *o, const char *spec, bool posix, int argc, char **argv)
{
    return opts_parse_group(o, spec, NULL, posix, argc, argv);
}

/* ---- helpers ------------------------------------------------------------------------- */
int usage_fail(const CliCmd *c)
{
    err_printf("%s %s\n", c->name, c->options);
    return CLI_ERR;
}

int fail_msg(char *msg)
{
    err_printf("%s\n", msg);
    free(msg);
    return CLI_ERR;
}

/* KeeperException.getMessage(). */
void keeper_message(CorralStrbuf *sb, int rc, const char *path)
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

int keeper_fail(int rc, const char *path)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    wrapper_message(&sb, rc, path);
    err_printf("%s\n", sb.data);
    corral_strbuf_free(&sb);
    return CLI_ERR;
}

int path_check(const char *path, bool sequential)
{
    char *e = java_path_error(path, sequential);
    return e ? fail_msg(e) : CLI_OK;
}

/* Integer.parseInt / Long.parseLong. */
bool java_parse_long(const char *s, int64_t min, int64_t max, int64_t *out)
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

int number_format_fail(const char *s)
{
    err_printf("java.lang.NumberFormatException: For input string: \"%s\"\n", s);
    return CLI_ERR;
}

ZkBytes bytes_or_null(const char *s)
{
    return s ? zk_bytes_cstr(s) : ZK_BYTES_NULL;
}

void print_string_list(JuteVec_ustring *v, bool sort)
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

void print_data(ZkBytes d)
{
    if (d.len < 0)
        out_printf("null");
    else
        out_java_bytes(d.data, (size_t)d.len);
    out_printf("\n");
}

/* ---- simple request helpers ---------------------------------------------------------- */
int req_get_children(Zk *zk, const char *path, bool watch, bool v2, ZkReply *rep,
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

int req_get_data(Zk *zk, const char *path, bool watch, ZkReply *rep, GetDataResponse *out)
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

char *child_path(const char *parent, const ZkBytes *child)
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
int visit_tree_raw(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx, char **err_path)
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

int visit_tree(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx)
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
const CliCmd *self(const char *name)
{
    return cli_find_command(name);
}

/* Re-parse with argv[pos] replaced by "-w" ("cmd path watch" compatibility). */
int compat_watch(Opts *o, const char *spec, bool posix, int argc, char **argv, const char *msg)
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
