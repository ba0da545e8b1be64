/*
 * src/backend/tree/tree_snapshot.c: the core's snapshot payload, encoded
 * from a Tree and decoded into a new one.
 *
 * One codec for everyone who writes or reads the payload: the server's
 * snapshot thread and recovery (server/snapshot.c), and corralctl's
 * import-zookeeper and export-zookeeper, which write and read a Corral
 * data directory without a server.  storage_file stores the bytes opaquely.
 *
 * Format (jute-style big-endian, see doc/storage.md):
 *   "CRLSNAP1" | long last_zxid | int nsessions | (long id, int timeout)*
 *   | int nacls | (int ref, int n, (int perms, ustring scheme, ustring id)*)*
 *   | (ustring path, buffer data, int aclref, StatPersisted)* pre-order
 *   | ustring null (end) | long digest
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree.h"
#include "utils/alloc.h"
#include "wire/wire.h"

#define SNAP_MAGIC "CRLSNAP1"

static void put_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n)
{
    WBuf *w = ctx;
    wbuf_put_int(w, (int32_t)id);
    wbuf_put_int(w, n);
    for (int i = 0; i < n; i++) {
        wbuf_put_int(w, acl[i].perms);
        wbuf_put_bytes(w, zk_bytes_cstr(acl[i].scheme));
        wbuf_put_bytes(w, zk_bytes_cstr(acl[i].id));
    }
}

static void count_acl(void *ctx, uint32_t id, const TreeAclEntry *acl, int n) { (*(int32_t *)ctx)++; }

static int put_node(void *ctx, const char *path, size_t len, const ZNode *n)
{
    WBuf *w = ctx;
    const char *d;
    int32_t dl;
    ZStatPersisted st;
    tree_data(n, &d, &dl);
    tree_stat_persisted(n, &st);
    wbuf_put_bytes(w, (ZkBytes){path, (int32_t)len});
    wbuf_put_bytes(w, (ZkBytes){d, dl});
    wbuf_put_int(w, (int32_t)tree_node_acl(n));
    tree_stat_persisted_put(w, &st);
    return 0;
}

void tree_stat_persisted_put(WBuf *w, const ZStatPersisted *st)
{
    wbuf_put_long(w, st->czxid);
    wbuf_put_long(w, st->mzxid);
    wbuf_put_long(w, st->ctime);
    wbuf_put_long(w, st->mtime);
    wbuf_put_int(w, st->version);
    wbuf_put_int(w, st->cversion);
    wbuf_put_int(w, st->aversion);
    wbuf_put_long(w, st->ephemeral_owner);
    wbuf_put_long(w, st->pzxid);
}

void tree_stat_persisted_get(RBuf *r, ZStatPersisted *st)
{
    st->czxid = rbuf_get_long(r);
    st->mzxid = rbuf_get_long(r);
    st->ctime = rbuf_get_long(r);
    st->mtime = rbuf_get_long(r);
    st->version = rbuf_get_int(r);
    st->cversion = rbuf_get_int(r);
    st->aversion = rbuf_get_int(r);
    st->ephemeral_owner = rbuf_get_long(r);
    st->pzxid = rbuf_get_long(r);
}

void tree_snapshot_encode(WBuf *w, const Tree *t, int64_t zxid, const int64_t *sessions, size_t nsessions)
{
    wbuf_put_raw(w, SNAP_MAGIC, 8);
    wbuf_put_long(w, zxid);
    wbuf_put_int(w, (int32_t)nsessions);
    for (size_t i = 0; i < nsessions; i++) {
        wbuf_put_long(w, sessions[2 * i]);
        wbuf_put_int(w, (int32_t)sessions[2 * i + 1]);
    }
    int32_t nacls = 0;
    tree_acl_foreach(t, count_acl, &nacls);
    wbuf_put_int(w, nacls);
    tree_acl_foreach(t, put_acl, w);
    tree_walk(t, "/", 1, put_node, w);
    wbuf_put_bytes(w, ZK_BYTES_NULL);
    wbuf_put_long(w, (int64_t)tree_digest(t));
}

typedef struct AclMap {
    int32_t from;
    uint32_t to;
} AclMap;

int tree_snapshot_decode(const void *data, size_t len, int64_t expect_zxid, TreeSnapshot *out, char *why,
                         size_t whylen)
{
    memset(out, 0, sizeof *out);
    RBuf r;
    rbuf_init(&r, data, len);
    const uint8_t *magic = rbuf_get_raw(&r, 8);
    if (!magic || memcmp(magic, SNAP_MAGIC, 8) != 0) {
        snprintf(why, whylen, "not a Corral snapshot (bad magic)");
        return -1;
    }
    int64_t zxid = rbuf_get_long(&r);
    if (zxid != expect_zxid) {
        snprintf(why, whylen, "snapshot says zxid 0x%llx, storage says 0x%llx", (unsigned long long)zxid,
                 (unsigned long long)expect_zxid);
        return -1;
    }
    /* A negative count is corrupt, as corralctl verify says. */
    int32_t ns = rbuf_get_int(&r);
    if (r.err || ns < 0 || (size_t)ns > rbuf_remaining(&r) / 12)
        goto corrupt;
    const uint8_t *sessions = rbuf_get_raw(&r, (size_t)ns * 12);
    int32_t nacls = rbuf_get_int(&r);
    if (r.err || nacls < 0 || (size_t)nacls > rbuf_remaining(&r))
        goto corrupt;
    Tree *t = tree_new();
    AclMap *map = xcalloc((size_t)nacls + 1, sizeof *map);
    Arena a;
    arena_init(&a, 65536);
    for (int32_t i = 0; i < nacls && !r.err; i++) {
        int32_t ref = rbuf_get_int(&r);
        int32_t n = rbuf_get_int(&r);
        if (r.err || n < 0 || (size_t)n > rbuf_remaining(&r))
            break;
        TreeAclEntry *e = arena_alloc(&a, (size_t)(n ? n : 1) * sizeof *e);
        for (int32_t k = 0; k < n; k++) {
            e[k].perms = rbuf_get_int(&r);
            ZkBytes s = rbuf_get_bytes(&r), id = rbuf_get_bytes(&r);
            e[k].scheme = arena_strndup(&a, s.data ? s.data : "", s.len > 0 ? (size_t)s.len : 0);
            e[k].id = arena_strndup(&a, id.data ? id.data : "", id.len > 0 ? (size_t)id.len : 0);
        }
        map[i] = (AclMap){ref, tree_acl_intern(t, e, n)};
    }
    int rc = 0;
    while (!r.err) {
        ZkBytes path = rbuf_get_bytes(&r);
        if (path.len < 0)
            break;
        ZkBytes d = rbuf_get_bytes(&r);
        int32_t ref = rbuf_get_int(&r);
        ZStatPersisted st;
        tree_stat_persisted_get(&r, &st);
        if (r.err)
            break;
        uint32_t acl = TREE_ACL_NONE;
        for (int32_t i = 0; i < nacls; i++)
            if (map[i].from == ref) {
                acl = map[i].to;
                break;
            }
        if (acl == TREE_ACL_NONE || tree_restore_node(t, path.data, (size_t)path.len, d.data, d.len, acl, &st) != 0) {
            rc = -1;
            break;
        }
    }
    int64_t digest = rbuf_get_long(&r);
    for (int32_t i = 0; i < nacls; i++)
        if (map[i].to != TREE_ACL_NONE)
            tree_acl_release(t, map[i].to);
    free(map);
    arena_free(&a);
    if (r.err || rc < 0 || (uint64_t)digest != tree_digest(t)) {
        tree_free(t);
        goto corrupt;
    }
    out->tree = t;
    out->zxid = zxid;
    out->nsessions = (size_t)ns;
    out->sessions = xcalloc((size_t)ns + 1, 2 * sizeof *out->sessions);
    RBuf sr;
    rbuf_init(&sr, sessions, (size_t)ns * 12);
    for (int32_t i = 0; i < ns; i++) {
        out->sessions[2 * i] = rbuf_get_long(&sr);
        out->sessions[2 * i + 1] = rbuf_get_int(&sr);
    }
    return 0;
corrupt:
    snprintf(why, whylen, "snapshot at zxid 0x%llx is corrupt (offset %zu)", (unsigned long long)expect_zxid, r.pos);
    return -1;
}

void tree_snapshot_free(TreeSnapshot *s)
{
    if (s->tree)
        tree_free(s->tree);
    free(s->sessions);
    memset(s, 0, sizeof *s);
}
