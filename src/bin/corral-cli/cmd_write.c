/*
 * src/bin/corral-cli/cmd_write.c: write commands: set, create, delete, deleteall.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_set(Zk *zk, int argc, char **argv)
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
int create_mode(Opts *o, int *flags, int64_t *ttl)
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

int cmd_create(Zk *zk, int argc, char **argv)
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

int do_delete(Zk *zk, const char *path, int32_t version)
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

int cmd_delete(Zk *zk, int argc, char **argv)
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

/* ---- deleteall ------------------------------------------------------------------------------- */
int cmd_deleteall(Zk *zk, int argc, char **argv)
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
