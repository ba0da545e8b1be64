/*
 * src/bin/corral-cli/cmd_multi.c: the Corral extensions multi and multiRead.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- multi ---------------------------------------------------------------------------------- */
void multi_ops_free(MultiOp *ops, int n)
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

void multi_results_free(MultiResult *res, int n)
{
    for (int i = 0; i < n; i++)
        free(res[i].path);
    free(res);
}

/* Sends the ops as one multi (or multiRead); results via *res. */
int multi_call(Zk *zk, bool read, MultiOp *ops, int n, ZkReply *rep, MultiResult **res, int *nres)
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

int cmd_multi(Zk *zk, int argc, char **argv)
{
    return run_multi(zk, false, argc, argv);
}

int cmd_multiread(Zk *zk, int argc, char **argv)
{
    return run_multi(zk, true, argc, argv);
}
