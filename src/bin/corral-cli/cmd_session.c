/*
 * src/bin/corral-cli/cmd_session.c: session commands: addauth, sync, whoami, version, close.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cmd_addauth(Zk *zk, int argc, char **argv)
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

int cmd_sync(Zk *zk, int argc, char **argv)
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

int cmd_whoami(Zk *zk, int argc, char **argv)
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

int cmd_version(Zk *zk, int argc, char **argv)
{
    out_printf("ZooKeeper CLI version: corral-cli %s\n", CORRAL_VERSION);
    return CLI_OK;
}

int cmd_close(Zk *zk, int argc, char **argv)
{
    zk_close(zk);
    return CLI_OK;
}
