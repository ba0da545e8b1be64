/*
 * src/backend/tree/tree.c: the in-memory znode tree: lifetime, lookups,
 * transactions, counters, walk.
 *
 * The contract is in tree.h; the memory layout and its measurements are in
 * README next to this file; the private types and the file map are in
 * tree_internal.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ======================================================================
 * Public: lifetime
 * ====================================================================== */

static int insert_node(Tree *T, const char *path, size_t len, uint64_t h, uint32_t pid,
                       const void *data, int32_t dlen, uint32_t acl_id, const ZStatPersisted *st,
                       int upd_parent, int32_t pcv, int64_t zxid, uint64_t parent_hp);

Tree *tree_new(void)
{
    Tree *T = xcalloc(1, sizeof *T);
    T->ntab_cap = 64;
    T->ntab = xcalloc(T->ntab_cap, sizeof(uint32_t));
    T->nid = ROOT_ID;
    ht_init(&T->ht[0], 64);
    T->acl_cap = 16;
    T->acl = xcalloc(T->acl_cap, sizeof(AclEnt));
    T->acl_next = 1;                   /* id 0 is TREE_ACL_NONE */

    TreeAclEntry open = {31, "world", "anyone"}, rd = {1, "world", "anyone"};
    uint32_t open_id = tree_acl_intern(T, &open, 1);   /* == TREE_ACL_OPEN_UNSAFE */
    T->acl[open_id].pinned = 1;
    T->acl[open_id].refs = 0;

    /* "/" */
    uint32_t root = id_alloc(T);
    Rec r;
    memset(&r, 0, sizeof r);
    r.name = (const uint8_t *)"";
    r.acl = open_id;
    rec_set_data(&r, "", 0);
    node_store(T, root, &r);
    acl_ref(T, open_id);
    T->nodes = 1;
    T->data_size = 1;
    T->digest = node_hash(T, h64("/", 1, S_PATH), &r);

    ZStatPersisted zero;
    memset(&zero, 0, sizeof zero);
    static const char *const paths[] = {"/zookeeper", "/zookeeper/quota", "/zookeeper/config"};
    for (int i = 0; i < 3; i++)
        tree_restore_node(T, paths[i], strlen(paths[i]), "", 0, open_id, &zero);

    /* DataTree.addConfigNode: setACL(READ_ACL_UNSAFE, -1). */
    uint32_t rd_id = tree_acl_intern(T, &rd, 1);
    tree_set_acl(T, "/zookeeper/config", 17, rd_id, -1, NULL);
    tree_acl_release(T, rd_id);
    return T;
}

void tree_free(Tree *T)
{
    if (!T)
        return;
    heap_destroy(&T->heap);
    free(T->ntab);
    free(T->free_ids);
    ht_destroy(&T->ht[0]);
    ht_destroy(&T->ht[1]);
    for (uint32_t i = 0; i < T->acl_next; i++)
        free(T->acl[i].v);
    free(T->acl);
    free(T->acl_free);
    free(T->acl_map);
    free(T->sess);
    free(T->scratch.p);
    free(T);
}

static void *dup_mem(const void *p, size_t n)
{
    if (!p)
        return NULL;
    void *q = xmalloc(n ? n : 1);
    memcpy(q, p, n);
    return q;
}

Tree *tree_clone(const Tree *S)
{
    Tree *T = xmalloc(sizeof *T);
    *T = *S;
    Heap *H = &T->heap;
    H->chunk = dup_mem(S->heap.chunk, (size_t)S->heap.chunk_cap * sizeof(uint8_t *));
    for (uint32_t i = 0; i < H->nchunk; i++)
        H->chunk[i] = dup_mem(S->heap.chunk[i], CHUNK_BYTES);
    H->large = dup_mem(S->heap.large, (size_t)S->heap.large_cap * sizeof(Large));
    for (uint32_t i = 0; i < H->nlarge; i++)
        H->large[i].p = dup_mem(S->heap.large[i].p, S->heap.large[i].size);
    H->large_free = dup_mem(S->heap.large_free, (size_t)S->heap.large_free_cap * sizeof(uint32_t));
    T->ntab = dup_mem(S->ntab, (size_t)S->ntab_cap * sizeof(uint32_t));
    T->free_ids = dup_mem(S->free_ids, (size_t)S->free_cap * sizeof(uint32_t));
    for (int k = 0; k < 2; k++) {
        T->ht[k].g = dup_mem(S->ht[k].g, (size_t)S->ht[k].cap / 8 * sizeof(HGroup));
    }
    T->acl = dup_mem(S->acl, (size_t)S->acl_cap * sizeof(AclEnt));
    for (uint32_t i = 0; i < T->acl_next; i++)
        if (T->acl[i].live)
            T->acl[i].v = acl_list_copy(S->acl[i].v, S->acl[i].n);
    T->acl_free = dup_mem(S->acl_free, (size_t)S->acl_free_cap * sizeof(uint32_t));
    T->acl_map = dup_mem(S->acl_map, (size_t)S->acl_map_cap * sizeof(uint32_t));
    T->sess = dup_mem(S->sess, (size_t)S->sess_cap * sizeof(SessEnt));
    T->scratch.p = NULL;
    T->scratch.cap = 0;
    return T;
}

/* ======================================================================
 * Public: reading
 * ====================================================================== */

ZNode *tree_lookup(const Tree *T, const char *path, size_t len)
{
    if (!path)
        return NULL;
    uint32_t id = lookup_id(T, path, len, NULL);
    return id ? (ZNode *)node_ptr(T, id) : NULL;
}

static void rec_to_stat(const Rec *r, ZStat *s)
{
    s->czxid = r->czxid;
    s->mzxid = r->mzxid;
    s->ctime = r->ctime;
    s->mtime = r->mtime;
    s->version = r->version;
    /* DataNode.copyStat: creates counted, turned into changes. */
    s->cversion = (int32_t)((uint32_t)r->cversion * 2u - r->nkids);
    s->aversion = r->aversion;
    s->ephemeral_owner = owner_kind(r->owner) == K_SESSION ? r->owner : 0;
    s->data_length = r->dlen < 0 ? 0 : r->dlen;
    s->num_children = (int32_t)r->nkids;
    s->pzxid = r->pzxid;
}

void tree_stat(const Tree *T, const ZNode *n, ZStat *out)
{
    Rec r;
    (void)T;
    rec_decode((const uint8_t *)n, &r);
    rec_to_stat(&r, out);
}

void tree_stat_persisted(const ZNode *n, ZStatPersisted *o)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    o->czxid = r.czxid;
    o->mzxid = r.mzxid;
    o->ctime = r.ctime;
    o->mtime = r.mtime;
    o->version = r.version;
    o->cversion = r.cversion;
    o->aversion = r.aversion;
    o->ephemeral_owner = r.owner;
    o->pzxid = r.pzxid;
}

void tree_data(const ZNode *n, const char **data, int32_t *len)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    *data = (const char *)r.data;
    *len = r.dlen;
}

uint32_t tree_node_acl(const ZNode *n)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    return r.acl;
}

int32_t tree_node_cversion(const ZNode *n)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    return r.cversion;
}

int64_t tree_node_ephemeral_owner(const ZNode *n)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    return r.owner;
}

int32_t tree_num_children(const ZNode *n)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    return (int32_t)r.nkids;
}

void tree_children(const Tree *T, const ZNode *n, TreeChildFn fn, void *ctx)
{
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    KidIter it;
    kid_iter_init(&it, &r);
    for (uint32_t id; (id = kid_next(T, &it)) != 0;) {
        const uint8_t *name;
        uint32_t nl;
        node_name(T, id, &name, &nl);
        fn(ctx, (const char *)name, nl);
    }
}

/* ======================================================================
 * Public: applying transactions
 * ====================================================================== */

static int path_ok(const char *path, size_t len)
{
    return path && len >= 2 && len < UINT32_MAX && path[0] == '/' && path[len - 1] != '/';
}

static size_t last_slash(const char *path, size_t len)
{
    const char *s = memrchr(path, '/', len);
    return (size_t)(s - path);
}

/* Hash of a parent path given the child's path and the last slash. */
static inline uint64_t parent_path_hash(const char *path, size_t slash)
{
    return slash ? h64(path, slash, S_PATH) : h64("/", 1, S_PATH);
}

/*
 * Inserts a node whose path is absent and whose parent pid exists.  With
 * upd_parent, applies CreateTxn's parent update (cversion/pzxid); else the
 * parent's stat is untouched (snapshot restore).
 */
static int insert_node(Tree *T, const char *path, size_t len, uint64_t h, uint32_t pid,
                       const void *data, int32_t dlen, uint32_t acl_id, const ZStatPersisted *st,
                       int upd_parent, int32_t pcv, int64_t zxid, uint64_t parent_hp)
{
    size_t slash = last_slash(path, len);
    const uint8_t *name = (const uint8_t *)path + slash + 1;
    size_t nl = len - slash - 1;

    /* The child. */
    uint32_t id = id_alloc(T);
    T->ntab[id] = 0;
    Rec c;
    memset(&c, 0, sizeof c);
    c.parent = pid;
    c.name = name;
    c.namelen = (uint32_t)nl;
    c.acl = acl_id;
    c.czxid = st->czxid;
    c.mzxid = st->mzxid;
    c.pzxid = st->pzxid;
    c.ctime = st->ctime;
    c.mtime = st->mtime;
    c.version = st->version;
    c.cversion = st->cversion;
    c.aversion = st->aversion;
    c.owner = st->ephemeral_owner;
    if (c.owner)
        c.eprev = list_tail(T, c.owner);
    rec_set_data(&c, data, dlen);
    node_store(T, id, &c);
    acl_ref(T, acl_id);
    ht_put(&T->ht[0], h, id);

    /* The parent. */
    Rec p;
    rec_decode(node_ptr(T, pid), &p);
    uint64_t old_ph = upd_parent ? node_hash(T, parent_hp, &p) : 0;
    kids_insert(T, &p, id, name, nl);
    if (upd_parent) {
        if (pcv == -1)
            pcv = (int32_t)((uint32_t)p.cversion + 1);
        if (pcv > p.cversion) {
            p.cversion = pcv;
            p.pzxid = zxid;
        }
    }
    node_store(T, pid, &p);
    if (upd_parent)
        T->digest += node_hash(T, parent_hp, &p) - old_ph;
    T->digest += node_hash(T, h, &c);

    if (c.owner)
        list_link(T, c.owner, id);
    T->nodes++;
    T->data_size += (int64_t)len + (dlen > 0 ? dlen : 0);
    if (owner_kind(c.owner) == K_SESSION)
        T->eph_count++;
    ht_maintain(T);
    ht_migrate(T, MIGRATE_STEP);
    return TREE_OK;
}

static int data_ok(const void *data, int32_t dlen)
{
    return dlen >= -1 && (dlen <= 0 || data);
}

int tree_create(Tree *T, const char *path, size_t len, const void *data, int32_t dlen,
                uint32_t acl_id, int64_t ephemeral_owner, int32_t parent_cversion,
                int64_t zxid, int64_t time_ms, ZStat *out_stat)
{
    if (path && len == 1 && path[0] == '/')
        return TREE_NODEEXISTS;
    if (!path_ok(path, len) || !data_ok(data, dlen) || !acl_live(T, acl_id))
        return TREE_BADARGUMENTS;
    if (dlen == 0 && !data)
        data = "";
    uint64_t h;
    if (lookup_id(T, path, len, &h))
        return TREE_NODEEXISTS;
    size_t slash = last_slash(path, len);
    uint32_t pid = slash ? lookup_id(T, path, slash, NULL) : ROOT_ID;
    if (!pid)
        return TREE_NONODE;
    ZStatPersisted st = {zxid, zxid, time_ms, time_ms, 0, 0, 0, ephemeral_owner, zxid};
    insert_node(T, path, len, h, pid, data, dlen, acl_id, &st, 1, parent_cversion, zxid,
                parent_path_hash(path, slash));
    if (out_stat)
        tree_stat(T, tree_lookup(T, path, len), out_stat);
    return TREE_OK;
}

int tree_delete(Tree *T, const char *path, size_t len, int64_t zxid)
{
    if (!path_ok(path, len))
        return TREE_BADARGUMENTS;
    uint64_t h;
    uint32_t id = lookup_id(T, path, len, &h);
    if (!id)
        return TREE_NONODE;
    Rec c;
    rec_decode(node_ptr(T, id), &c);
    if (c.nkids)
        return TREE_NOTEMPTY;
    T->digest -= node_hash(T, h, &c);
    if (c.owner) {
        list_unlink(T, c.owner, id, c.eprev, c.enext);
        rec_decode(node_ptr(T, id), &c);
    }
    ht_del_in(&T->ht[0], h, id);
    ht_del_in(&T->ht[1], h, id);

    size_t slash = last_slash(path, len);
    uint64_t php = parent_path_hash(path, slash);
    uint32_t pid = c.parent;
    Rec p;
    rec_decode(node_ptr(T, pid), &p);
    uint64_t old_ph = node_hash(T, php, &p);
    kids_remove(T, &p, id, c.name, c.namelen);
    if (zxid > p.pzxid)
        p.pzxid = zxid;
    node_store(T, pid, &p);
    T->digest += node_hash(T, php, &p) - old_ph;

    T->nodes--;
    T->data_size -= (int64_t)len + (c.dlen > 0 ? c.dlen : 0);
    if (owner_kind(c.owner) == K_SESSION)
        T->eph_count--;
    acl_unref(T, c.acl);
    heap_free(&T->heap, T->ntab[id], c.size);
    id_release(T, id);
    ht_maintain(T);
    ht_migrate(T, MIGRATE_STEP);
    return TREE_OK;
}

int tree_set_data(Tree *T, const char *path, size_t len, const void *data, int32_t dlen,
                  int32_t version, int64_t zxid, int64_t time_ms, ZStat *out_stat)
{
    if (!path || !len || !data_ok(data, dlen))
        return TREE_BADARGUMENTS;
    if (dlen == 0 && !data)
        data = "";
    uint64_t h = h64(path, len, S_PATH);
    uint32_t id = lookup_id(T, path, len, NULL);
    if (!id)
        return TREE_NONODE;
    Rec r;
    rec_decode(node_ptr(T, id), &r);
    uint64_t old = node_hash(T, h, &r);
    T->data_size += (int64_t)(dlen > 0 ? dlen : 0) - (r.dlen > 0 ? r.dlen : 0);
    rec_set_data(&r, data, dlen);
    r.version = version;
    r.mzxid = zxid;
    r.mtime = time_ms;
    node_store(T, id, &r);
    T->digest += node_hash(T, h, &r) - old;
    if (out_stat)
        rec_to_stat(&r, out_stat);
    return TREE_OK;
}

int tree_set_acl(Tree *T, const char *path, size_t len, uint32_t acl_id, int32_t aversion,
                 ZStat *out_stat)
{
    if (!path || !len || !acl_live(T, acl_id))
        return TREE_BADARGUMENTS;
    uint64_t h = h64(path, len, S_PATH);
    uint32_t id = lookup_id(T, path, len, NULL);
    if (!id)
        return TREE_NONODE;
    Rec r;
    rec_decode(node_ptr(T, id), &r);
    uint64_t old = node_hash(T, h, &r);
    uint32_t old_acl = r.acl;
    acl_ref(T, acl_id);
    r.acl = acl_id;
    r.aversion = aversion;
    node_store(T, id, &r);
    T->digest += node_hash(T, h, &r) - old;
    acl_unref(T, old_acl);
    if (out_stat)
        rec_to_stat(&r, out_stat);
    return TREE_OK;
}

int tree_set_cversion_pzxid(Tree *T, const char *path, size_t len, int32_t cversion, int64_t zxid)
{
    if (!path || !len)
        return TREE_BADARGUMENTS;
    if (len > 1 && path[len - 1] == '/')   /* as DataTree.setCversionPzxid */
        len--;
    uint64_t h = h64(path, len, S_PATH);
    uint32_t id = lookup_id(T, path, len, NULL);
    if (!id)
        return TREE_NONODE;
    Rec r;
    rec_decode(node_ptr(T, id), &r);
    if (cversion == -1)
        cversion = (int32_t)((uint32_t)r.cversion + 1);
    if (cversion > r.cversion) {
        uint64_t old = node_hash(T, h, &r);
        r.cversion = cversion;
        r.pzxid = zxid;
        node_store(T, id, &r);
        T->digest += node_hash(T, h, &r) - old;
    }
    return TREE_OK;
}

int tree_restore_node(Tree *T, const char *path, size_t len, const void *data, int32_t dlen,
                      uint32_t acl_id, const ZStatPersisted *st)
{
    if (!path || !st || !data_ok(data, dlen) || !acl_live(T, acl_id))
        return TREE_BADARGUMENTS;
    if (!(len == 1 && path[0] == '/') && !path_ok(path, len))
        return TREE_BADARGUMENTS;
    if (dlen == 0 && !data)
        data = "";
    uint64_t h = h64(path, len, S_PATH);
    uint32_t id = lookup_id(T, path, len, NULL);
    if (!id) {
        size_t slash = last_slash(path, len);
        uint32_t pid = slash ? lookup_id(T, path, slash, NULL) : ROOT_ID;
        if (!pid)
            return TREE_NONODE;
        return insert_node(T, path, len, h, pid, data, dlen, acl_id, st, 0, 0, 0, 0);
    }
    /* Replace data, ACL and stat of an existing node. */
    Rec r;
    rec_decode(node_ptr(T, id), &r);
    uint64_t old = node_hash(T, h, &r);
    int relink = 0;
    if (r.owner != st->ephemeral_owner) {
        if (r.owner) {
            list_unlink(T, r.owner, id, r.eprev, r.enext);
            if (owner_kind(r.owner) == K_SESSION)
                T->eph_count--;
        }
        r.owner = st->ephemeral_owner;
        r.eprev = r.enext = 0;
        if (r.owner) {
            r.eprev = list_tail(T, r.owner);
            relink = 1;
        }
    }
    T->data_size += (int64_t)(dlen > 0 ? dlen : 0) - (r.dlen > 0 ? r.dlen : 0);
    uint32_t old_acl = r.acl;
    acl_ref(T, acl_id);
    r.acl = acl_id;
    rec_set_data(&r, data, dlen);
    r.czxid = st->czxid;
    r.mzxid = st->mzxid;
    r.pzxid = st->pzxid;
    r.ctime = st->ctime;
    r.mtime = st->mtime;
    r.version = st->version;
    r.cversion = st->cversion;
    r.aversion = st->aversion;
    node_store(T, id, &r);
    if (relink) {
        list_link(T, r.owner, id);
        if (owner_kind(r.owner) == K_SESSION)
            T->eph_count++;
    }
    acl_unref(T, old_acl);
    T->digest += node_hash(T, h, &r) - old;
    return TREE_OK;
}

/* ======================================================================
 * Public: counters
 * ====================================================================== */

int64_t tree_node_count(const Tree *T) { return T->nodes; }
int64_t tree_approx_data_size(const Tree *T) { return T->data_size; }
int64_t tree_ephemeral_count(const Tree *T) { return T->eph_count; }
int64_t tree_container_count(const Tree *T) { return T->cont.count; }
int64_t tree_ttl_count(const Tree *T) { return T->ttl.count; }

int64_t tree_all_children_number(const Tree *T, const ZNode *n)
{
    if ((const uint8_t *)n == node_ptr(T, ROOT_ID))
        return T->nodes - 1;
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    size_t depth = 0, cap = 16;
    KidIter *st = xmalloc(cap * sizeof(KidIter));
    kid_iter_init(&st[depth++], &r);
    int64_t count = 0;
    while (depth) {
        uint32_t id = kid_next(T, &st[depth - 1]);
        if (!id) {
            depth--;
            continue;
        }
        count++;
        rec_decode(node_ptr(T, id), &r);
        if (r.nkids) {
            if (depth == cap) {
                cap *= 2;
                st = xrealloc(st, cap * sizeof(KidIter));
            }
            kid_iter_init(&st[depth++], &r);
        }
    }
    free(st);
    return count;
}

size_t tree_memory_bytes(const Tree *T)
{
    const Heap *H = &T->heap;
    size_t n = sizeof *T + (size_t)H->nchunk * CHUNK_BYTES + H->large_bytes +
               (size_t)H->chunk_cap * sizeof(uint8_t *) + (size_t)H->large_cap * sizeof(Large) +
               (size_t)H->large_free_cap * 4 + (size_t)T->ntab_cap * 4 + (size_t)T->free_cap * 4 +
               (size_t)T->acl_cap * sizeof(AclEnt) + (size_t)T->acl_free_cap * 4 +
               (size_t)T->acl_map_cap * 4 + (size_t)T->sess_cap * sizeof(SessEnt) + T->scratch.cap;
    for (int k = 0; k < 2; k++)
        n += (size_t)T->ht[k].cap * 5;
    return n;
}

/* ======================================================================
 * Public: walk
 * ====================================================================== */

typedef struct Frame { KidIter it; size_t base; } Frame;

int tree_walk(const Tree *T, const char *root, size_t rootlen, TreeWalkFn fn, void *ctx)
{
    uint32_t rid = root ? lookup_id(T, root, rootlen, NULL) : 0;
    if (!rid)
        return TREE_NONODE;
    PathBuf b = {NULL, 0};
    pb_reserve(&b, rootlen + 1);
    memcpy(b.p, root, rootlen);
    b.p[rootlen] = 0;
    int rc = fn(ctx, b.p, rootlen, (const ZNode *)node_ptr(T, rid));
    if (rc) {
        free(b.p);
        return rc;
    }
    size_t depth = 0, cap = 16;
    Frame *st = xmalloc(cap * sizeof(Frame));
    Rec r;
    rec_decode(node_ptr(T, rid), &r);
    kid_iter_init(&st[0].it, &r);
    st[0].base = rid == ROOT_ID ? 0 : rootlen;
    depth = 1;
    while (depth) {
        Frame *f = &st[depth - 1];
        uint32_t id = kid_next(T, &f->it);
        if (!id) {
            depth--;
            continue;
        }
        const uint8_t *p = node_ptr(T, id);
        rec_decode(p, &r);
        size_t len = f->base + 1 + r.namelen;
        pb_reserve(&b, len + 1);
        b.p[f->base] = '/';
        memcpy(b.p + f->base + 1, r.name, r.namelen);
        b.p[len] = 0;
        rc = fn(ctx, b.p, len, (const ZNode *)p);
        if (rc)
            break;
        if (r.nkids) {
            if (depth == cap) {
                cap *= 2;
                st = xrealloc(st, cap * sizeof(Frame));
            }
            kid_iter_init(&st[depth].it, &r);
            st[depth].base = len;
            depth++;
        }
    }
    free(st);
    free(b.p);
    return rc;
}
