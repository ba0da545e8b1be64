/*
 * src/bin/corral-cli/cmd_config.c: ensemble configuration commands: config, reconfig.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

int cmd_config(Zk *zk, int argc, char **argv)
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

int cmd_reconfig(Zk *zk, int argc, char **argv)
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
