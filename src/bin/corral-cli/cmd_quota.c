/*
 * src/bin/corral-cli/cmd_quota.c: quota commands: setquota, listquota, delquota.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

int cmd_setquota(Zk *zk, int argc, char **argv)
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

int cmd_listquota(Zk *zk, int argc, char **argv)
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

int cmd_delquota(Zk *zk, int argc, char **argv)
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
