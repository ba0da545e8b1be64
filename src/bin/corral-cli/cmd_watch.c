/*
 * src/bin/corral-cli/cmd_watch.c: watch commands: addWatch, removewatches.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_addwatch(Zk *zk, int argc, char **argv)
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

int cmd_removewatches(Zk *zk, int argc, char **argv)
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
