/*
 * src/bin/corral-cli/cmd_read.c: read commands: ls, get, stat, getEphemerals, getAllChildrenNumber.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

int cmd_ls(Zk *zk, int argc, char **argv)
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

int cmd_get(Zk *zk, int argc, char **argv)
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

int cmd_stat(Zk *zk, int argc, char **argv)
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

int cmd_getephemerals(Zk *zk, int argc, char **argv)
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

int cmd_getallchildrennumber(Zk *zk, int argc, char **argv)
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
