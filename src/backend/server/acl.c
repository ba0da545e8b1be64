/*
 * src/backend/server/acl.c: ACL checks and the identities a connection
 * holds, with ZooKeeper 3.8's rules (ZooKeeperServer.checkACL,
 * PrepRequestProcessor.fixupACL).  `world` and `auth` are built in; every
 * other scheme is a module (corral/auth.h).
 */
#include <stdlib.h>
#include <string.h>

#include "module/module.h"
#include "server/internal.h"

void acl_add_id(ClientConn *cc, const char *scheme, const char *id)
{
    for (size_t i = 0; i < cc->nids; i++)
        if (strcmp(cc->ids[i].scheme, scheme) == 0 && strcmp(cc->ids[i].id, id) == 0)
            return;
    cc->ids = xrealloc(cc->ids, (cc->nids + 1) * sizeof *cc->ids);
    cc->ids[cc->nids].scheme = xstrdup(scheme);
    cc->ids[cc->nids].id = xstrdup(id);
    cc->nids++;
}

void acl_free_ids(ClientConn *cc)
{
    for (size_t i = 0; i < cc->nids; i++) {
        free((char *)cc->ids[i].scheme);
        free((char *)cc->ids[i].id);
    }
    free(cc->ids);
    cc->ids = NULL;
    cc->nids = 0;
}

int acl_is_super(const Principal *who)
{
    for (size_t i = 0; who && i < who->nids; i++)
        if (strcmp(who->ids[i].scheme, "super") == 0)
            return 1;
    return 0;
}

int acl_check_list(const Principal *who, const TreeAclEntry *acl, int n, int perm)
{
    if (n <= 0 || acl_is_super(who))
        return ZERR_OK;
    for (int i = 0; i < n; i++) {
        if ((acl[i].perms & perm) == 0)
            continue;
        if (strcmp(acl[i].scheme, "world") == 0 && strcmp(acl[i].id, "anyone") == 0)
            return ZERR_OK;
        const CorralAuthScheme *s = module_find_auth(acl[i].scheme);
        if (!s || !who)
            continue;
        for (size_t j = 0; j < who->nids; j++)
            if (strcmp(who->ids[j].scheme, acl[i].scheme) == 0 && s->matches(s->arg, who->ids[j].id, acl[i].id))
                return ZERR_OK;
    }
    return ZERR_NOAUTH;
}

int acl_check(const Principal *who, uint32_t acl_id, int perm)
{
    const TreeAclEntry *acl;
    int n;
    if (tree_acl_get(srv.tree, acl_id, &acl, &n) < 0)
        return ZERR_OK;   /* no ACL: open, as ZooKeeper treats an empty list */
    return acl_check_list(who, acl, n, perm);
}

static int bytes_is(ZkBytes b, const char *s) { return zk_bytes_eq_cstr(b, s); }

int acl_fixup(const Principal *who, const JuteVec_ACL *in, Arena *a, JuteVec_ACL *out)
{
    if (in->count <= 0)
        return ZERR_INVALIDACL;
    /* Room for every entry, plus the expansion of "auth" entries. */
    size_t cap = (size_t)in->count * (who->nids + 1);
    ACL *v = arena_alloc(a, cap * sizeof *v);
    int32_t n = 0;
    for (int32_t i = 0; i < in->count; i++) {
        const ACL *e = &in->items[i];
        /* removeDuplicates */
        int dup = 0;
        for (int32_t k = 0; k < i && !dup; k++)
            dup = in->items[k].perms == e->perms && zk_bytes_eq(in->items[k].id.scheme, e->id.scheme) &&
                  zk_bytes_eq(in->items[k].id.id, e->id.id);
        if (dup)
            continue;
        if (e->id.scheme.len < 0)
            return ZERR_INVALIDACL;
        if (bytes_is(e->id.scheme, "world")) {
            /* A null id makes ZooKeeper's id.equals() throw: MarshallingError. */
            if (e->id.id.len < 0)
                return ZERR_MARSHALLINGERROR;
            if (!bytes_is(e->id.id, "anyone"))
                return ZERR_INVALIDACL;
            v[n++] = *e;
        } else if (bytes_is(e->id.scheme, "auth")) {
            /* The id of an "auth" entry is ignored (kazoo sends null). */
            int valid = 0;
            for (size_t j = 0; j < who->nids; j++) {
                const CorralAuthScheme *s = module_find_auth(who->ids[j].scheme);
                if (s && s->is_authenticated && s->is_authenticated(s->arg)) {
                    valid = 1;
                    v[n].perms = e->perms;
                    v[n].id.scheme = zk_bytes_cstr(who->ids[j].scheme);
                    v[n].id.id = zk_bytes_cstr(who->ids[j].id);
                    n++;
                }
            }
            if (!valid)
                return ZERR_INVALIDACL;
        } else {
            char *scheme = arena_strndup(a, e->id.scheme.data, (size_t)e->id.scheme.len);
            const CorralAuthScheme *s = module_find_auth(scheme);
            if (!s)
                return ZERR_INVALIDACL;
            if (e->id.id.len < 0)
                return ZERR_MARSHALLINGERROR;
            char *id = arena_strndup(a, e->id.id.data, (size_t)e->id.id.len);
            if (s->is_valid && !s->is_valid(s->arg, id))
                return ZERR_INVALIDACL;
            v[n++] = *e;
        }
    }
    out->count = n;
    out->items = v;
    return ZERR_OK;
}
