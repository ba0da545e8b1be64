/*
 * src/bin/corral-cli/cmd_acl.c: ACL commands (getAcl, setAcl) and the ACL parser (AclParser).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- ACLs (AclParser) ------------------------------------------------------------------ */
void acl_free(AclList *l)
{
    free(l->vec.items);
    sv_free(&l->strs);
}

void acl_open(AclList *l)
{
    memset(l, 0, sizeof(*l));
    l->vec.count = 1;
    l->vec.items = xcalloc(1, sizeof(ACL));
    l->vec.items[0].perms = ZOO_PERM_ALL;
    l->vec.items[0].id.scheme = zk_bytes_cstr("world");
    l->vec.items[0].id.id = zk_bytes_cstr("anyone");
}

void acl_parse(AclList *l, const char *s)
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

int cmd_getacl(Zk *zk, int argc, char **argv)
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

int cmd_setacl(Zk *zk, int argc, char **argv)
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
