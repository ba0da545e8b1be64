/*
 * regress/unit/test_tree.c: the znode tree (src/backend/tree).
 *
 * Stats are checked against what ZooKeeper 3.8's DataTree/DataNode produce
 * for the same transactions (values worked out from DataTree.createNode,
 * deleteNode, setData, setACL and DataNode.copyStat).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "tree/tree.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char verr[256];
static int verify(const Tree *t)
{
    int rc = tree_verify(t, verr, sizeof verr);
    if (rc)
        diag("tree_verify: %s", verr);
    return rc == 0;
}

static ZNode *look(const Tree *t, const char *p) { return tree_lookup(t, p, strlen(p)); }

static ZStat st_of(const Tree *t, const char *p)
{
    ZStat s;
    memset(&s, 0x5a, sizeof s);
    ZNode *n = look(t, p);
    if (n)
        tree_stat(t, n, &s);
    return s;
}

static int create(Tree *t, const char *p, const char *data, uint32_t acl, int64_t owner, int64_t zxid)
{
    const ZNode *parent;
    char pp[1024];
    const char *sl = strrchr(p, '/');
    if (!sl)
        return tree_create(t, p, strlen(p), data, 0, acl, owner, 0, zxid, 0, NULL);
    size_t pl = (size_t)(sl - p);
    if (pl == 0)
        pp[0] = '/', pl = 1;
    else
        memcpy(pp, p, pl);
    parent = tree_lookup(t, pp, pl);
    int32_t pcv = parent ? tree_node_cversion(parent) + 1 : 0;
    return tree_create(t, p, strlen(p), data, data ? (int32_t)strlen(data) : -1, acl, owner, pcv, zxid,
                       1000 + zxid, NULL);
}

/* ---- children / walk collectors ---- */

typedef struct Strs { char **v; size_t n, cap; } Strs;
static void strs_add(Strs *s, const char *p, size_t len)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = realloc(s->v, s->cap * sizeof(char *));
    }
    s->v[s->n] = malloc(len + 1);
    memcpy(s->v[s->n], p, len);
    s->v[s->n][len] = 0;
    s->n++;
}
static void strs_free(Strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
static void child_cb(void *ctx, const char *name, size_t len) { strs_add(ctx, name, len); }
static void path_cb(void *ctx, const char *path, size_t len) { strs_add(ctx, path, len); }
static int walk_cb(void *ctx, const char *path, size_t len, const ZNode *n)
{
    (void)n;
    strs_add(ctx, path, len);
    return 0;
}
static char *joined(const Strs *s)
{
    static char buf[4096];
    buf[0] = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            strcat(buf, " ");
        strncat(buf, s->v[i], sizeof buf - strlen(buf) - 2);
    }
    return buf;
}
static char *children_of(const Tree *t, const char *p)
{
    Strs s = {0};
    tree_children(t, look(t, p), child_cb, &s);
    char *r = joined(&s);
    strs_free(&s);
    return r;
}

/* ---- tests ---- */

static void test_initial(void)
{
    Tree *t = tree_new();
    ok(verify(t), "initial tree verifies");
    is_int(tree_node_count(t), 4, "4 nodes: / /zookeeper /zookeeper/quota /zookeeper/config");
    is_int(tree_approx_data_size(t), 1 + 10 + 16 + 17, "approx data size = path lengths");
    is_int(tree_ephemeral_count(t), 0, "no ephemerals");

    ZStat s = st_of(t, "/");
    ok(s.czxid == 0 && s.mzxid == 0 && s.pzxid == 0 && s.ctime == 0 && s.mtime == 0 && s.version == 0 &&
           s.aversion == 0 && s.ephemeral_owner == 0 && s.data_length == 0,
       "/ stat all zero");
    is_int(s.num_children, 1, "/ numChildren 1");
    is_int(s.cversion, -1, "/ cversion -1 (ZooKeeper: 0*2 - 1)");
    s = st_of(t, "/zookeeper");
    is_int(s.num_children, 2, "/zookeeper numChildren 2");
    is_int(s.cversion, -2, "/zookeeper cversion -2");
    s = st_of(t, "/zookeeper/quota");
    ok(s.num_children == 0 && s.cversion == 0 && s.aversion == 0 && s.czxid == 0, "/zookeeper/quota stat");
    s = st_of(t, "/zookeeper/config");
    is_int(s.aversion, -1, "/zookeeper/config aversion -1 (setACL(.., -1))");
    ok(s.czxid == 0 && s.version == 0 && s.cversion == 0 && s.data_length == 0, "/zookeeper/config stat");

    const TreeAclEntry *a;
    int n;
    ok(tree_acl_get(t, tree_node_acl(look(t, "/")), &a, &n) == 0 && n == 1 && a[0].perms == 31 &&
           !strcmp(a[0].scheme, "world") && !strcmp(a[0].id, "anyone"),
       "/ acl world:anyone 31");
    is_int(tree_node_acl(look(t, "/")), TREE_ACL_OPEN_UNSAFE, "/ uses TREE_ACL_OPEN_UNSAFE");
    is_int(tree_node_acl(look(t, "/zookeeper")), TREE_ACL_OPEN_UNSAFE, "/zookeeper open acl");
    is_int(tree_node_acl(look(t, "/zookeeper/quota")), TREE_ACL_OPEN_UNSAFE, "/zookeeper/quota open acl");
    ok(tree_acl_get(t, tree_node_acl(look(t, "/zookeeper/config")), &a, &n) == 0 && n == 1 &&
           a[0].perms == 1 && !strcmp(a[0].scheme, "world") && !strcmp(a[0].id, "anyone"),
       "/zookeeper/config acl world:anyone READ");
    is_int(tree_acl_refcount(t, tree_node_acl(look(t, "/zookeeper/config"))), 1, "read acl: one user");

    const char *d;
    int32_t dl;
    tree_data(look(t, "/zookeeper/config"), &d, &dl);
    ok(d != NULL && dl == 0, "config data empty, not null");
    is_str(children_of(t, "/"), "zookeeper", "children of /");
    is_str(children_of(t, "/zookeeper"), "config quota", "children of /zookeeper sorted");
    ok(look(t, "/zookeeper/") == NULL && look(t, "zookeeper") == NULL && look(t, "") == NULL &&
           look(t, "/zookeeperx") == NULL && look(t, "/zoo") == NULL,
       "malformed or absent paths not found");
    ok(tree_lookup(t, "/zookeeper/quotaXYZ", 16) == look(t, "/zookeeper/quota"), "lookup uses len, not NUL");
    is_int(tree_all_children_number(t, look(t, "/")), 3, "getAllChildrenNumber(/) = 3");
    is_int(tree_all_children_number(t, look(t, "/zookeeper")), 2, "getAllChildrenNumber(/zookeeper) = 2");
    ok(tree_digest(t) == tree_digest_recompute(t), "initial digest consistent");
    tree_free(t);
}

static void test_create_delete_stats(void)
{
    Tree *t = tree_new();
    ZStat s;
    int rc = tree_create(t, S("/a"), "hello", 5, TREE_ACL_OPEN_UNSAFE, 0, 1, 0x100000001LL, 5000, &s);
    is_int(rc, TREE_OK, "create /a");
    ok(s.czxid == 0x100000001LL && s.mzxid == 0x100000001LL && s.pzxid == 0x100000001LL, "czxid=mzxid=pzxid=zxid");
    ok(s.ctime == 5000 && s.mtime == 5000, "ctime=mtime=time");
    ok(s.version == 0 && s.cversion == 0 && s.aversion == 0 && s.ephemeral_owner == 0, "versions 0, persistent");
    ok(s.data_length == 5 && s.num_children == 0, "dataLength 5, numChildren 0");
    ZStat r = st_of(t, "/");
    is_int(r.num_children, 2, "/ numChildren 2");
    is_int(r.pzxid, 0x100000001LL, "/ pzxid = zxid");
    is_int(tree_node_cversion(look(t, "/")), 1, "/ stored cversion 1 (parent_cversion 1 given)");
    is_int(r.cversion, 0, "/ client cversion = 1*2 - 2 = 0");

    /* parent_cversion -1 means stored+1 */
    is_int(tree_create(t, S("/a/x"), NULL, -1, TREE_ACL_OPEN_UNSAFE, 0, -1, 0x100000002LL, 6000, &s), 0,
           "create /a/x with null data, parent_cversion -1");
    is_int(s.data_length, 0, "null data: dataLength 0");
    const char *d;
    int32_t dl;
    tree_data(look(t, "/a/x"), &d, &dl);
    ok(d == NULL && dl == -1, "null data reads back as NULL / -1");
    r = st_of(t, "/a");
    ok(r.num_children == 1 && r.cversion == 1 && r.pzxid == 0x100000002LL && r.mzxid == 0x100000001LL,
       "/a after create child: numChildren 1, cversion 1, pzxid, mzxid unchanged");
    is_int(tree_node_cversion(look(t, "/a")), 1, "/a stored cversion 1");

    /* A stale parent_cversion (replay) leaves cversion and pzxid alone. */
    is_int(create(t, "/a/y", "", TREE_ACL_OPEN_UNSAFE, 0, 0x100000003LL), 0, "create /a/y");
    is_int(tree_node_cversion(look(t, "/a")), 2, "/a stored cversion 2");
    is_int(tree_create(t, S("/a/z"), "", 0, TREE_ACL_OPEN_UNSAFE, 0, 1, 0x100000004LL, 1, NULL), 0,
           "create /a/z with parent_cversion 1 (not larger)");
    r = st_of(t, "/a");
    ok(tree_node_cversion(look(t, "/a")) == 2 && r.pzxid == 0x100000003LL && r.num_children == 3,
       "stale parent_cversion: stored cversion and pzxid unchanged, numChildren 3");
    is_int(r.cversion, 1, "client cversion 2*2-3 = 1");

    /* errors */
    is_int(create(t, "/a", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_NODEEXISTS, "create existing: NODEEXISTS");
    is_int(create(t, "/", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_NODEEXISTS, "create /: NODEEXISTS");
    is_int(create(t, "/nope/x", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_NONODE, "missing parent: NONODE");
    is_int(create(t, "/a//x", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_NONODE, "empty component: NONODE");
    is_int(create(t, "/a/", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_BADARGUMENTS, "trailing slash: BADARGUMENTS");
    is_int(create(t, "a", "x", TREE_ACL_OPEN_UNSAFE, 0, 9), TREE_BADARGUMENTS, "relative: BADARGUMENTS");
    is_int(create(t, "/b", "x", 999, 0, 9), TREE_BADARGUMENTS, "unknown acl: BADARGUMENTS");
    is_int(create(t, "/b", "x", TREE_ACL_NONE, 0, 9), TREE_BADARGUMENTS, "TREE_ACL_NONE: BADARGUMENTS");
    is_int(tree_create(t, S("/b"), "x", -2, TREE_ACL_OPEN_UNSAFE, 0, 0, 9, 9, NULL), TREE_BADARGUMENTS,
           "dlen -2: BADARGUMENTS");
    is_int(tree_create(t, S("/b"), NULL, 3, TREE_ACL_OPEN_UNSAFE, 0, 0, 9, 9, NULL), TREE_BADARGUMENTS,
           "NULL data with dlen 3: BADARGUMENTS");
    ok(look(t, "/b") == NULL && verify(t), "refused creates changed nothing");

    /* delete */
    uint64_t dg = tree_digest(t);
    is_int(tree_delete(t, S("/a"), 0x100000010LL), TREE_NOTEMPTY, "delete non-empty: NOTEMPTY");
    is_int(tree_delete(t, S("/a/q"), 0x100000010LL), TREE_NONODE, "delete absent: NONODE");
    is_int(tree_delete(t, S("/"), 0x100000010LL), TREE_BADARGUMENTS, "delete /: BADARGUMENTS");
    ok(tree_digest(t) == dg, "refused deletes leave the digest");
    is_int(tree_delete(t, S("/a/x"), 0x100000010LL), TREE_OK, "delete /a/x");
    r = st_of(t, "/a");
    ok(r.num_children == 2 && r.pzxid == 0x100000010LL, "/a after delete: numChildren 2, pzxid = zxid");
    is_int(tree_node_cversion(look(t, "/a")), 2, "stored cversion unchanged by delete");
    is_int(r.cversion, 2, "client cversion 2*2-2 = 2 (was 1: +1)");
    is_int(tree_delete(t, S("/a/y"), 0x100000005LL), TREE_OK, "delete /a/y with a smaller zxid");
    r = st_of(t, "/a");
    ok(r.pzxid == 0x100000010LL && r.cversion == 3, "smaller zxid: pzxid kept; cversion 3");
    ok(look(t, "/a/x") == NULL, "deleted node gone");
    is_int(tree_node_count(t), 6, "node count");
    is_int(tree_approx_data_size(t), 44 + 2 + 5 + 4, "approx data size after creates/deletes");

    /* set_data */
    is_int(tree_set_data(t, S("/a"), "much longer data", 16, 1, 0x100000020LL, 7777, &s), 0, "set_data /a");
    ok(s.version == 1 && s.mzxid == 0x100000020LL && s.mtime == 7777 && s.czxid == 0x100000001LL &&
           s.ctime == 5000 && s.data_length == 16 && s.num_children == 1,
       "set_data stat: version, mzxid, mtime; czxid, ctime kept");
    tree_data(look(t, "/a"), &d, &dl);
    ok(dl == 16 && !memcmp(d, "much longer data", 16), "data replaced");
    is_int(tree_approx_data_size(t), 44 + 2 + 16 + 4, "data size follows set_data");
    is_int(tree_set_data(t, S("/a"), NULL, -1, 2, 0x100000021LL, 7778, &s), 0, "set_data null");
    tree_data(look(t, "/a"), &d, &dl);
    ok(d == NULL && dl == -1 && s.data_length == 0 && s.version == 2, "null data after set_data");
    is_int(tree_set_data(t, S("/zz"), "x", 1, 1, 1, 1, NULL), TREE_NONODE, "set_data absent: NONODE");
    is_int(tree_set_data(t, S("/"), "root", 4, 1, 0x100000022LL, 1, &s), 0, "set_data on /");
    tree_data(look(t, "/"), &d, &dl);
    ok(dl == 4 && !memcmp(d, "root", 4) && s.version == 1, "/ data set");

    /* set_acl */
    TreeAclEntry dig = {31, "digest", "u:hash"};
    uint32_t id = tree_acl_intern(t, &dig, 1);
    is_int(tree_set_acl(t, S("/a"), id, 5, &s), 0, "set_acl");
    tree_acl_release(t, id);
    ok(s.aversion == 5 && s.version == 2 && s.mzxid == 0x100000021LL, "set_acl: aversion, rest unchanged");
    is_int(tree_node_acl(look(t, "/a")), id, "acl id stored");
    is_int(tree_set_acl(t, S("/a"), 12345, 6, NULL), TREE_BADARGUMENTS, "set_acl unknown id");
    is_int(tree_set_acl(t, S("/q"), id, 6, NULL), TREE_NONODE, "set_acl absent");
    ok(tree_digest(t) == tree_digest_recompute(t), "digest consistent");
    ok(verify(t), "verifies");
    tree_free(t);
}

static void test_acl_refcounts(void)
{
    Tree *t = tree_new();
    TreeAclEntry l1[2] = {{31, "digest", "a:x"}, {1, "world", "anyone"}};
    TreeAclEntry l1b[2] = {{31, "digest", "a:x"}, {1, "world", "anyone"}};
    TreeAclEntry l1rev[2] = {{1, "world", "anyone"}, {31, "digest", "a:x"}};
    TreeAclEntry l2[1] = {{3, "ip", "10.0.0.1"}};
    int64_t before = tree_acl_count(t);
    uint32_t a = tree_acl_intern(t, l1, 2);
    ok(a > 0, "intern returns id > 0");
    is_int(tree_acl_intern(t, l1b, 2), a, "identical list (other storage): same id");
    uint32_t rev = tree_acl_intern(t, l1rev, 2);
    ok(rev != a, "different order: different list");
    tree_acl_release(t, rev);
    is_int(tree_acl_refcount(t, rev), -1, "released: freed");
    is_int(tree_acl_refcount(t, a), 2, "two caller references");
    tree_acl_release(t, a);
    is_int(tree_acl_count(t), before + 1, "one new list live (reverse one released)");
    for (int i = 0; i < 3; i++) {
        char p[16];
        snprintf(p, sizeof p, "/n%d", i);
        create(t, p, "", a, 0, 10 + i);
    }
    is_int(tree_acl_refcount(t, a), 4, "3 nodes + caller");
    tree_acl_release(t, a);
    is_int(tree_acl_refcount(t, a), 3, "3 nodes after release");
    const TreeAclEntry *v;
    int n;
    ok(tree_acl_get(t, a, &v, &n) == 0 && n == 2 && v[0].perms == 31 && !strcmp(v[0].id, "a:x") &&
           !strcmp(v[1].scheme, "world"),
       "list contents copied");
    uint32_t b = tree_acl_intern(t, l2, 1);
    tree_set_acl(t, S("/n0"), b, 1, NULL);
    is_int(tree_acl_refcount(t, a), 2, "set_acl to a new list releases the old one");
    tree_delete(t, S("/n1"), 20);
    is_int(tree_acl_refcount(t, a), 1, "delete releases");
    tree_set_acl(t, S("/n2"), b, 1, NULL);
    is_int(tree_acl_refcount(t, a), -1, "last user gone: list freed");
    is_int(tree_acl_get(t, a, &v, &n), TREE_BADARGUMENTS, "freed id rejected");
    is_int(create(t, "/n9", "", a, 0, 30), TREE_BADARGUMENTS, "create with freed id refused");
    is_int(tree_acl_refcount(t, b), 3, "new list: 2 nodes + caller");
    tree_set_acl(t, S("/n2"), b, 2, NULL);
    is_int(tree_acl_refcount(t, b), 3, "set_acl to the same id: count unchanged");
    tree_acl_release(t, b);
    uint32_t c = tree_acl_intern(t, l1, 2);
    ok(c > 0 && tree_acl_refcount(t, c) == 1, "re-intern after free");
    tree_acl_release(t, c);
    is_int(tree_acl_refcount(t, c), -1, "interned, never used, released: freed");
    tree_acl_release(t, TREE_ACL_OPEN_UNSAFE);
    tree_acl_release(t, TREE_ACL_OPEN_UNSAFE);
    ok(tree_acl_get(t, TREE_ACL_OPEN_UNSAFE, &v, &n) == 0, "open acl is pinned");
    TreeAclEntry empty_scheme = {0, "", ""};
    uint32_t e = tree_acl_intern(t, &empty_scheme, 1), z = tree_acl_intern(t, NULL, 0);
    ok(e && z && e != z, "empty strings and empty lists intern");
    is_int(tree_acl_intern(t, NULL, 3), TREE_ACL_NONE, "NULL list with n>0: NONE");
    tree_acl_release(t, e);
    tree_acl_release(t, z);
    ok(verify(t), "verifies");
    tree_free(t);
}

static void test_ephemerals(void)
{
    Tree *t = tree_new();
    const int64_t A = 0x0100000000000001LL, B = 0x0100000000000002LL;
    const int64_t NEG = (int64_t)0x8100000000000005ULL;   /* server id 129: negative session id */
    create(t, "/e", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    create(t, "/e/a1", "", TREE_ACL_OPEN_UNSAFE, A, 2);
    create(t, "/e/b1", "", TREE_ACL_OPEN_UNSAFE, B, 3);
    create(t, "/e/a2", "", TREE_ACL_OPEN_UNSAFE, A, 4);
    create(t, "/a3", "", TREE_ACL_OPEN_UNSAFE, A, 5);
    create(t, "/n1", "", TREE_ACL_OPEN_UNSAFE, NEG, 6);
    is_int(tree_ephemeral_count(t), 5, "5 ephemerals");
    is_int(tree_session_ephemeral_count(t, A), 3, "session A: 3");
    Strs s = {0};
    tree_session_ephemerals(t, A, path_cb, &s);
    is_str(joined(&s), "/e/a1 /e/a2 /a3", "session A paths in creation order");
    strs_free(&s);
    tree_session_ephemerals(t, NEG, path_cb, &s);
    is_str(joined(&s), "/n1", "negative session id is a session");
    strs_free(&s);
    is_int(st_of(t, "/e/a1").ephemeral_owner, A, "stat ephemeralOwner = session");
    tree_delete(t, S("/e/a2"), 7);
    tree_session_ephemerals(t, A, path_cb, &s);
    is_str(joined(&s), "/e/a1 /a3", "delete removes from the session set");
    strs_free(&s);

    /* containers and TTL */
    int64_t ttl = tree_ttl_owner(60000);
    ok(tree_owner_is_ttl(ttl) && tree_owner_ttl_ms(ttl) == 60000, "ttl encoding");
    create(t, "/c1", "", TREE_ACL_OPEN_UNSAFE, TREE_OWNER_CONTAINER, 8);
    create(t, "/c1/c2", "", TREE_ACL_OPEN_UNSAFE, TREE_OWNER_CONTAINER, 9);
    create(t, "/t1", "", TREE_ACL_OPEN_UNSAFE, ttl, 10);
    create(t, "/c1/t2", "", TREE_ACL_OPEN_UNSAFE, tree_ttl_owner(5), 11);
    is_int(tree_ephemeral_count(t), 4, "containers and TTL are not ephemerals");
    is_int(tree_container_count(t), 2, "2 containers");
    is_int(tree_ttl_count(t), 2, "2 ttl nodes");
    tree_containers(t, path_cb, &s);
    is_str(joined(&s), "/c1 /c1/c2", "containers");
    strs_free(&s);
    tree_ttl_nodes(t, path_cb, &s);
    is_str(joined(&s), "/t1 /c1/t2", "ttl nodes");
    strs_free(&s);
    is_int(st_of(t, "/c1").ephemeral_owner, 0, "container: client ephemeralOwner 0");
    is_int(st_of(t, "/t1").ephemeral_owner, 0, "ttl: client ephemeralOwner 0");
    ZStatPersisted sp;
    tree_stat_persisted(look(t, "/t1"), &sp);
    ok(sp.ephemeral_owner == ttl && tree_node_ephemeral_owner(look(t, "/c1")) == TREE_OWNER_CONTAINER,
       "persisted stat keeps the raw owner");
    tree_delete(t, S("/c1/c2"), 12);
    tree_containers(t, path_cb, &s);
    is_str(joined(&s), "/c1", "container removed from set");
    strs_free(&s);

    /* session close: delete each path as it is handed over */
    ok(verify(t), "verifies before session close");
    Strs paths = {0};
    tree_session_ephemerals(t, A, path_cb, &paths);
    for (size_t i = 0; i < paths.n; i++)
        tree_delete(t, paths.v[i], strlen(paths.v[i]), 20);
    strs_free(&paths);
    is_int(tree_session_ephemeral_count(t, A), 0, "session A closed");
    is_int(tree_ephemeral_count(t), 2, "B and NEG remain");
    ok(verify(t), "verifies after session close");
    tree_free(t);
}

/* delete-the-current-node during iteration is allowed */
typedef struct DelCtx { Tree *t; int n; } DelCtx;
static void del_cb(void *ctx, const char *p, size_t len)
{
    DelCtx *d = ctx;
    d->n += tree_delete(d->t, p, len, 100) == 0;
}
static void sess_count_cb(void *ctx, int64_t sid, int64_t count)
{
    (void)sid;
    *(int64_t *)ctx += count;
}

static void test_ephemeral_delete_during_iteration(void)
{
    Tree *t = tree_new();
    const int64_t A = 77;
    create(t, "/p", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    for (int i = 0; i < 50; i++) {
        char p[32];
        snprintf(p, sizeof p, "/p/e%d", i);
        create(t, p, "", TREE_ACL_OPEN_UNSAFE, i % 2 ? A : 78, 2 + i);
    }
    int64_t total = 0;
    tree_ephemeral_sessions(t, sess_count_cb, &total);
    is_int(total, 50, "sessions enumerate all ephemerals");
    DelCtx d = {t, 0};
    tree_session_ephemerals(t, A, del_cb, &d);
    is_int(d.n, 25, "deleted each node during iteration");
    is_int(tree_session_ephemeral_count(t, A), 0, "session empty");
    is_int(tree_num_children(look(t, "/p")), 25, "others remain");
    ok(verify(t), "verifies");
    tree_free(t);
}

static void test_children_order_and_walk(void)
{
    Tree *t = tree_new();
    const char *names[] = {"b", "a", "ab", "a0", "A", "a-", "\xc3\xa9", "aa", "a.b"};
    create(t, "/d", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char p[32];
        snprintf(p, sizeof p, "/d/%s", names[i]);
        create(t, p, "", TREE_ACL_OPEN_UNSAFE, 0, 2 + (int64_t)i);
    }
    is_str(children_of(t, "/d"), "A a a- a.b a0 aa ab b \xc3\xa9", "children in byte order");
    create(t, "/d/a/x", "", TREE_ACL_OPEN_UNSAFE, 0, 20);
    create(t, "/d/a-/y", "", TREE_ACL_OPEN_UNSAFE, 0, 21);
    create(t, "/d/a/x/z", "", TREE_ACL_OPEN_UNSAFE, 0, 22);
    Strs s = {0};
    is_int(tree_walk(t, S("/d"), walk_cb, &s), 0, "walk /d returns 0");
    is_str(joined(&s),
           "/d /d/A /d/a /d/a/x /d/a/x/z /d/a- /d/a-/y /d/a.b /d/a0 /d/aa /d/ab /d/b /d/\xc3\xa9",
           "pre-order walk, siblings sorted, parents first");
    strs_free(&s);
    tree_walk(t, S("/"), walk_cb, &s);
    ok(s.n == 17 && !strcmp(s.v[0], "/") && !strcmp(s.v[1], "/d") && !strcmp(s.v[14], "/zookeeper") &&
           !strcmp(s.v[15], "/zookeeper/config") && !strcmp(s.v[16], "/zookeeper/quota"),
       "walk from / covers everything");
    strs_free(&s);
    is_int(tree_walk(t, S("/nope"), walk_cb, &s), TREE_NONODE, "walk of absent root");
    is_int(tree_all_children_number(t, look(t, "/d")), 12, "getAllChildrenNumber(/d)");
    is_int(tree_all_children_number(t, look(t, "/d/a")), 2, "getAllChildrenNumber(/d/a)");
    is_int(tree_all_children_number(t, look(t, "/d/b")), 0, "leaf: 0");
    tree_free(t);
}

static int stop_cb(void *ctx, const char *p, size_t len, const ZNode *n)
{
    (void)p;
    (void)len;
    (void)n;
    return ++*(int *)ctx == 3 ? 42 : 0;
}

static void test_walk_stop(void)
{
    Tree *t = tree_new();
    int n = 0;
    is_int(tree_walk(t, S("/"), stop_cb, &n), 42, "walk returns the stopping value");
    is_int(n, 3, "stopped after 3 nodes");
    tree_free(t);
}

/* Builds the same tree with a given op sequence; extra perturbs ACL ids. */
static Tree *build_seq(int extra_acls)
{
    Tree *t = tree_new();
    for (int i = 0; i < extra_acls; i++) {
        char id[16];
        snprintf(id, sizeof id, "junk%d", i);
        TreeAclEntry j = {1, "x", id};
        tree_acl_intern(t, &j, 1);   /* never released: shifts later ids */
    }
    TreeAclEntry l = {31, "digest", "bob:pw"};
    uint32_t a = tree_acl_intern(t, &l, 1);
    create(t, "/app", "cfg", TREE_ACL_OPEN_UNSAFE, 0, 1);
    for (int i = 0; i < 300; i++) {
        char p[64], data[300];
        snprintf(p, sizeof p, "/app/n%03d", i);
        memset(data, 'a' + i % 26, sizeof data);
        tree_create(t, p, strlen(p), data, i % 300, i % 3 ? a : TREE_ACL_OPEN_UNSAFE, i % 7 == 0 ? 99 : 0,
                    tree_node_cversion(look(t, "/app")) + 1, 100 + i, 5000 + i, NULL);
    }
    for (int i = 0; i < 300; i += 5) {
        char p[64];
        snprintf(p, sizeof p, "/app/n%03d", i);
        tree_delete(t, p, strlen(p), 1000 + i);
    }
    tree_set_data(t, S("/app/n001"), "new", 3, 1, 2000, 9000, NULL);
    tree_acl_release(t, a);
    return t;
}

static void test_digest(void)
{
    Tree *t1 = build_seq(0), *t2 = build_seq(0), *t3 = build_seq(5);
    ok(tree_digest(t1) == tree_digest(t2), "same sequence: same digest");
    ok(tree_digest(t1) == tree_digest(t3), "different ACL ids, same lists: same digest");
    ok(tree_digest(t1) == tree_digest_recompute(t1), "incremental digest = recomputed");
    uint64_t d0 = tree_digest(t1);
    tree_set_data(t1, S("/app/n002"), "x", 1, 1, 3000, 1, NULL);
    ok(tree_digest(t1) != d0, "set_data changes the digest");
    ok(tree_digest(t1) == tree_digest_recompute(t1), "still consistent");
    uint64_t d1 = tree_digest(t2);
    tree_set_data(t2, S("/app/n002"), "y", 1, 1, 3000, 1, NULL);
    ok(tree_digest(t2) != d1 && tree_digest(t2) != tree_digest(t1), "one byte of data differs: digests differ");
    Tree *t4 = build_seq(0);
    TreeAclEntry other = {31, "digest", "bob:pX"};
    uint32_t o = tree_acl_intern(t4, &other, 1);
    tree_set_acl(t4, S("/app/n001"), o, 0, NULL);   /* aversion as before: only the list differs */
    tree_acl_release(t4, o);
    ok(tree_digest(t4) != d0, "ACL contents are in the digest");
    Tree *t5 = build_seq(0);
    tree_set_data(t5, S("/app/n003"), NULL, -1, 0, 103, 5003, NULL);   /* same stat, null vs empty? */
    Tree *t6 = build_seq(0);
    tree_set_data(t6, S("/app/n003"), "", 0, 0, 103, 5003, NULL);
    ok(tree_digest(t5) != tree_digest(t6), "null data and empty data differ");
    ok(verify(t1) && verify(t3) && verify(t4), "verify");
    tree_free(t1);
    tree_free(t2);
    tree_free(t3);
    tree_free(t4);
    tree_free(t5);
    tree_free(t6);
}

/* Snapshot-load emulation: restore every node of restore_src into dst. */
static const Tree *restore_src;
typedef struct RCtx { Tree *dst; int fails; } RCtx;
static int restore_cb(void *ctx, const char *p, size_t len, const ZNode *n)
{
    RCtx *rc = ctx;
    ZStatPersisted sp;
    tree_stat_persisted(n, &sp);
    const char *d;
    int32_t dl;
    tree_data(n, &d, &dl);
    /* ACL lists are re-interned by content (ids may differ between trees) */
    const TreeAclEntry *acl = NULL;
    int an = 0;
    tree_acl_get(restore_src, tree_node_acl(n), &acl, &an);
    uint32_t id = tree_acl_intern(rc->dst, acl, an);
    if (tree_restore_node(rc->dst, p, len, d, dl, id, &sp))
        rc->fails++;
    tree_acl_release(rc->dst, id);
    return 0;
}

static void test_cversion_pzxid_and_restore(void)
{
    Tree *t = tree_new();
    create(t, "/p", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    is_int(tree_set_cversion_pzxid(t, S("/p/"), -1, 50), 0, "setCversionPzxid (trailing slash ok)");
    ZStatPersisted sp;
    tree_stat_persisted(look(t, "/p"), &sp);
    ok(sp.cversion == 1 && sp.pzxid == 50, "cversion+1, pzxid");
    tree_set_cversion_pzxid(t, S("/p"), 1, 60);
    tree_stat_persisted(look(t, "/p"), &sp);
    ok(sp.cversion == 1 && sp.pzxid == 50, "not larger: unchanged");
    is_int(tree_set_cversion_pzxid(t, S("/q"), 1, 60), TREE_NONODE, "absent: NONODE");
    ok(tree_digest(t) == tree_digest_recompute(t), "digest consistent");

    /* Restore a snapshot-like tree from a walk of another. */
    Tree *src = build_seq(0), *dst = tree_new();
    RCtx rc = {dst, 0};
    restore_src = src;
    tree_walk(src, S("/"), restore_cb, &rc);
    is_int(rc.fails, 0, "restore of every node succeeded");
    ok(tree_digest(dst) == tree_digest(src), "restored tree has the same digest");
    is_int(tree_node_count(dst), tree_node_count(src), "same node count");
    is_int(tree_ephemeral_count(dst), tree_ephemeral_count(src), "same ephemeral count");
    is_int(tree_approx_data_size(dst), tree_approx_data_size(src), "same data size");
    ZStat a = st_of(src, "/app"), b = st_of(dst, "/app");
    ok(!memcmp(&a, &b, sizeof a), "same client stat for /app");
    ok(verify(dst), "restored tree verifies");
    /* restoring an existing node with another owner moves it between sets */
    ZStatPersisted z;
    tree_stat_persisted(look(dst, "/app/n001"), &z);
    z.ephemeral_owner = 1234;
    tree_restore_node(dst, S("/app/n001"), "q", 1, TREE_ACL_OPEN_UNSAFE, &z);
    is_int(tree_session_ephemeral_count(dst, 1234), 1, "restore moved node to session 1234");
    z.ephemeral_owner = 0;
    tree_restore_node(dst, S("/app/n001"), "q", 1, TREE_ACL_OPEN_UNSAFE, &z);
    is_int(tree_session_ephemeral_count(dst, 1234), 0, "and back to persistent");
    ok(verify(dst), "verifies after restores");
    tree_free(src);
    tree_free(dst);
    tree_free(t);
}

/* ---- big fan-out ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_fanout(void)
{
    Tree *t = tree_new();
    create(t, "/f", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    enum { N = 100000 };
    char **names = malloc(N * sizeof(char *));
    for (int i = 0; i < N; i++) {
        names[i] = malloc(16);
        snprintf(names[i], 16, "k%07d", i);
    }
    for (int i = N - 1; i > 0; i--) {   /* shuffle */
        int j = (int)(rnd() % (uint64_t)(i + 1));
        char *x = names[i];
        names[i] = names[j];
        names[j] = x;
    }
    clock_t c0 = clock();
    int bad = 0;
    for (int i = 0; i < N; i++) {
        char p[32];
        snprintf(p, sizeof p, "/f/%s", names[i]);
        bad += tree_create(t, p, strlen(p), "", 0, TREE_ACL_OPEN_UNSAFE, 0, -1, 10 + i, 0, NULL) != 0;
    }
    diag("100k random-order creates under one parent: %.2fs", (double)(clock() - c0) / CLOCKS_PER_SEC);
    is_int(bad, 0, "100k creates under one parent");
    is_int(tree_num_children(look(t, "/f")), N, "numChildren 100000");
    ok(verify(t), "verifies (paged children)");
    Strs s = {0};
    tree_children(t, look(t, "/f"), child_cb, &s);
    qsort(names, N, sizeof(char *), cmp_str);
    int same = s.n == N;
    for (size_t i = 0; same && i < s.n; i++)
        same = !strcmp(s.v[i], names[i]);
    ok(same, "children come out sorted");
    strs_free(&s);
    /* delete all but every 1000th, in random order, checking as we go */
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint64_t)(i + 1));
        char *x = names[i];
        names[i] = names[j];
        names[j] = x;
    }
    int kept = 0;
    bad = 0;
    for (int i = 0; i < N; i++) {
        char p[32];
        snprintf(p, sizeof p, "/f/%s", names[i]);
        if (atoi(names[i] + 1) % 1000 == 0) {
            kept++;
            continue;
        }
        bad += tree_delete(t, p, strlen(p), 200000 + i) != 0;
        if (i == N / 2 && !verify(t))
            bad++;
    }
    is_int(bad, 0, "deletes down to 100 children");
    is_int(tree_num_children(look(t, "/f")), kept, "numChildren 100");
    ok(verify(t), "verifies (back to a flat vector)");
    for (int i = 0; i < N; i++)
        free(names[i]);
    free(names);
    /* sequential (appending) names: pages fill completely */
    create(t, "/s", "", TREE_ACL_OPEN_UNSAFE, 0, 1);
    for (int i = 0; i < 5000; i++) {
        char p[40];
        snprintf(p, sizeof p, "/s/lock-%010d", tree_node_cversion(look(t, "/s")));
        tree_create(t, p, strlen(p), "", 0, TREE_ACL_OPEN_UNSAFE, 0, -1, 10, 0, NULL);
    }
    ok(look(t, "/s/lock-0000004999") && tree_num_children(look(t, "/s")) == 5000, "5000 sequential names");
    ok(verify(t), "verifies");
    tree_free(t);
}

/* ---- randomized stress against a reference model ---- */

typedef struct MNode {
    char *path;
    int64_t owner;
    int32_t version;
    int32_t dlen;        /* -1 null */
    uint32_t seed;       /* data = bytes derived from seed */
    int nkids;
    int used;            /* slot in use */
} MNode;

typedef struct Model { MNode *v; size_t cap, n; } Model;

static uint64_t strhash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}
static MNode *m_find(Model *m, const char *p, int insert)
{
    size_t i = strhash(p) & (m->cap - 1), tomb = SIZE_MAX;
    for (;;) {
        MNode *e = &m->v[i];
        if (!e->path) {
            if (!insert)
                return NULL;
            if (tomb != SIZE_MAX)
                e = &m->v[tomb];
            free(e->path);
            e->path = strdup(p);
            e->used = 1;
            m->n++;
            return e;
        }
        if (e->used && !strcmp(e->path, p))
            return e;
        if (!e->used && tomb == SIZE_MAX)
            tomb = i;
        i = (i + 1) & (m->cap - 1);
    }
}
static void m_del(MNode *e) { e->used = 0; }   /* path kept as a tombstone */

static void fill_data(char *buf, uint32_t seed, int32_t len)
{
    for (int32_t i = 0; i < len; i++)
        buf[i] = (char)((seed * 2654435761u + (uint32_t)i * 40503u) >> 13);
}

/* Paths from a small namespace so that collisions and missing parents are common. */
static char recent[4096][256];
static void rand_path(char *buf, size_t cap)
{
    uint64_t k = rnd() % 100;
    if (k < 25) {          /* a hot parent with up to 1500 children: pages split and merge */
        snprintf(buf, cap, "/hot/h%d", (int)(rnd() % 1500));
        return;
    }
    if (k < 45) {          /* a recently created path (for deletes/sets) */
        snprintf(buf, cap, "%s", recent[rnd() % 4096]);
        if (buf[0])
            return;
    }
    static const char *comp[] = {"a", "b", "a-b", "c0", "zz", "a.b", "x", "yy", "q", "long-component-name-1"};
    int depth = 1 + (int)(rnd() % 4);
    size_t n = 0;
    for (int d = 0; d < depth; d++)
        n += (size_t)snprintf(buf + n, cap - n, "/%s%d", comp[rnd() % 10], (int)(rnd() % (d < 2 ? 12 : 4)));
}

static int cmp_components(const void *pa, const void *pb)
{
    const char *a = *(char *const *)pa, *b = *(char *const *)pb;
    for (;;) {
        const char *ea = strchr(a + 1, '/'), *eb = strchr(b + 1, '/');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        size_t m = la < lb ? la : lb;
        int c = memcmp(a + 1, b + 1, m - 1);   /* compare after the leading '/' */
        if (c)
            return c;
        if (la != lb)
            return la < lb ? -1 : 1;
        if (!ea || !eb)
            return ea ? 1 : eb ? -1 : 0;
        a = ea;
        b = eb;
    }
}

static void test_stress(void)
{
    Tree *t = tree_new();
    Model m = {calloc(1 << 18, sizeof(MNode)), 1 << 18, 0};
    const int64_t owners[] = {0, 0, 0, 0, 11, 12, 13, TREE_OWNER_CONTAINER, (int64_t)0xFF00000000001000ULL};
    TreeAclEntry la = {31, "digest", "u1:x"}, lb = {1, "world", "anyone"};
    uint32_t acls[3] = {TREE_ACL_OPEN_UNSAFE, tree_acl_intern(t, &la, 1), tree_acl_intern(t, &lb, 1)};
    int64_t zxid = 0x500000000LL;
    int hot_max = 0, hot_cycles = 0, hot_low = 0;
    int mismatches = 0, creates = 0, deletes = 0, sets = 0, verifies_ok = 1;
    char path[256], *data = malloc(10000);
    const int OPS = 200000;
    tree_create(t, S("/hot"), "", 0, TREE_ACL_OPEN_UNSAFE, 0, -1, zxid, 0, NULL);
    m_find(&m, "/hot", 1)->dlen = 0;
    clock_t c0 = clock();
    for (int op = 0; op < OPS; op++) {
        rand_path(path, sizeof path);
        uint64_t r = rnd() % 100;
        zxid++;
        /* alternate create-heavy and delete-heavy phases, so the hot
         * parent crosses the flat/paged thresholds both ways */
        uint64_t ct = (op / 25000) % 2 ? 10 : 60;
        if (r < ct) {
            char par[256];
            strcpy(par, path);
            *strrchr(par, '/') = 0;
            MNode *pe = par[0] ? m_find(&m, par, 0) : NULL;
            MNode *e = m_find(&m, path, 0);
            int parent_ok = !par[0] || pe;
            int parent_eph = pe && pe->owner != 0 && pe->owner != TREE_OWNER_CONTAINER &&
                             !tree_owner_is_ttl(pe->owner);
            int32_t dlen = (int32_t)(rnd() % 8 == 0 ? -1 : rnd() % 10 == 0 ? (int32_t)(rnd() % 9000) : (int32_t)(rnd() % 40));
            uint32_t seed = (uint32_t)rnd();
            fill_data(data, seed, dlen);
            int64_t owner = parent_eph ? 0 : owners[rnd() % 9];   /* caller's rule: no children for ephemerals */
            if (parent_eph)
                continue;   /* the caller refuses NoChildrenForEphemerals */
            int want = e ? TREE_NODEEXISTS : !parent_ok ? TREE_NONODE : TREE_OK;
            int got = tree_create(t, path, strlen(path), dlen < 0 ? NULL : data, dlen, acls[rnd() % 3], owner,
                                  -1, zxid, zxid * 3, NULL);
            if (got != want)
                mismatches++;
            if (got == TREE_OK) {
                e = m_find(&m, path, 1);
                e->owner = owner;
                e->version = 0;
                e->dlen = dlen;
                e->seed = seed;
                e->nkids = 0;
                if (pe)
                    pe->nkids++;
                creates++;
                snprintf(recent[rnd() % 4096], sizeof recent[0], "%s", path);
            }
        } else if (r < 85) {
            /* delete: prefer existing nodes by picking one from a create-likely path */
            MNode *e = m_find(&m, path, 0);
            int want = !e ? TREE_NONODE : e->nkids ? TREE_NOTEMPTY : TREE_OK;
            int got = tree_delete(t, path, strlen(path), zxid);
            if (got != want)
                mismatches++;
            if (got == TREE_OK) {
                char par[256];
                strcpy(par, path);
                *strrchr(par, '/') = 0;
                if (par[0])
                    m_find(&m, par, 0)->nkids--;
                m_del(e);
                deletes++;
            }
        } else if (r < 97) {
            MNode *e = m_find(&m, path, 0);
            int32_t dlen = (int32_t)(rnd() % 6 == 0 ? -1 : rnd() % 5 == 0 ? (int32_t)(rnd() % 6000) : (int32_t)(rnd() % 64));
            uint32_t seed = (uint32_t)rnd();
            fill_data(data, seed, dlen);
            int got = tree_set_data(t, path, strlen(path), dlen < 0 ? NULL : data, dlen, e ? e->version + 1 : 0,
                                    zxid, zxid * 3, NULL);
            if (got != (e ? TREE_OK : TREE_NONODE))
                mismatches++;
            if (e && got == TREE_OK) {
                e->version++;
                e->dlen = dlen;
                e->seed = seed;
                sets++;
            }
        } else {
            /* read check */
            MNode *e = m_find(&m, path, 0);
            ZNode *n = tree_lookup(t, path, strlen(path));
            if (!!e != !!n) {
                mismatches++;
                continue;
            }
            if (n) {
                ZStat s;
                tree_stat(t, n, &s);
                const char *d;
                int32_t dl;
                tree_data(n, &d, &dl);
                fill_data(data, e->seed, e->dlen);
                if (s.version != e->version || s.num_children != e->nkids || dl != e->dlen ||
                    (dl > 0 && memcmp(d, data, (size_t)dl)) ||
                    s.ephemeral_owner != (tree_owner_is_session(e->owner) ? e->owner : 0))
                    mismatches++;
            }
        }
        int hk = tree_num_children(look(t, "/hot"));
        hot_max = hk > hot_max ? hk : hot_max;
        if (hot_max > 600 && hk < 200)
            hot_cycles += !hot_low, hot_low = 1;
        if (hk > 600)
            hot_low = 0;
        if (op % 1000 == 0 && !verify(t))
            verifies_ok = 0;
    }
    diag("stress: %d ops in %.2fs (%d creates, %d deletes, %d set_data)", OPS,
         (double)(clock() - c0) / CLOCKS_PER_SEC, creates, deletes, sets);
    diag("hot parent: max %d children, %d paged->flat cycles", hot_max, hot_cycles);
    ok(hot_max > 600 && hot_cycles >= 2, "stress crossed the paged/flat thresholds both ways");
    is_int(mismatches, 0, "200k random ops: every return code and read matches the model");
    ok(verifies_ok && verify(t), "tree_verify held throughout");

    /* final state: walk == model sorted component-wise */
    Strs walked = {0}, want = {0};
    tree_walk(t, S("/"), walk_cb, &walked);
    for (size_t i = 0; i < m.cap; i++)
        if (m.v[i].path && m.v[i].used)
            strs_add(&want, m.v[i].path, strlen(m.v[i].path));
    strs_add(&want, "/zookeeper", 10);
    strs_add(&want, "/zookeeper/quota", 16);
    strs_add(&want, "/zookeeper/config", 17);
    qsort(want.v, want.n, sizeof(char *), cmp_components);
    int same = walked.n == want.n + 1 && !strcmp(walked.v[0], "/");
    for (size_t i = 0; same && i < want.n; i++)
        same = !strcmp(walked.v[i + 1], want.v[i]);
    ok(same, "final walk equals the model (pre-order, sorted siblings)");
    diag("final: %zu nodes", walked.n);
    is_int(tree_node_count(t), (int64_t)walked.n, "node count");
    int64_t eph = 0;
    for (size_t i = 0; i < m.cap; i++)
        if (m.v[i].path && m.v[i].used && tree_owner_is_session(m.v[i].owner))
            eph++;
    is_int(tree_ephemeral_count(t), eph, "ephemeral count matches model");
    strs_free(&walked);
    strs_free(&want);

    /* clone: equal, then independent */
    Tree *c = tree_clone(t);
    ok(tree_digest(c) == tree_digest(t) && verify(c), "clone equal and consistent");
    uint64_t d = tree_digest(t);
    tree_create(t, S("/clone-test"), "x", 1, TREE_ACL_OPEN_UNSAFE, 0, -1, zxid + 1, 0, NULL);
    ok(tree_digest(c) == d && !look(c, "/clone-test") && look(t, "/clone-test"), "clone independent");
    tree_free(c);

    /* delete everything bottom-up: back to the initial tree */
    Strs all = {0};
    tree_walk(t, S("/"), walk_cb, &all);
    for (size_t i = all.n; i-- > 0;)
        if (strncmp(all.v[i], "/zookeeper", 10) && strcmp(all.v[i], "/"))
            tree_delete(t, all.v[i], strlen(all.v[i]), zxid + 2);
    strs_free(&all);
    is_int(tree_node_count(t), 4, "all deleted: 4 nodes left");
    is_int(tree_ephemeral_count(t) + tree_container_count(t) + tree_ttl_count(t), 0, "sets empty");
    is_int(tree_approx_data_size(t), 44, "data size back to 44");
    ok(verify(t), "verifies when emptied (hash table shrunk)");
    tree_acl_release(t, acls[1]);
    tree_acl_release(t, acls[2]);
    is_int(tree_acl_count(t), 2, "only the open and read lists remain");
    for (size_t i = 0; i < m.cap; i++)
        free(m.v[i].path);
    free(m.v);
    free(data);
    tree_free(t);
}

int main(void)
{
    test_initial();
    test_create_delete_stats();
    test_acl_refcounts();
    test_ephemerals();
    test_ephemeral_delete_during_iteration();
    test_children_order_and_walk();
    test_walk_stop();
    test_digest();
    test_cversion_pzxid_and_restore();
    test_fanout();
    test_stress();
    return done_testing();
}
