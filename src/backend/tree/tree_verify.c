/*
 * src/backend/tree/tree_verify.c: tree_verify: a full consistency check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

typedef struct VerifyCtx {
    const Tree *T;
    char *err;
    size_t errlen;
    int64_t nodes, eph, cont, ttl, data_size;
    uint64_t digest;
    int64_t *acl_uses;
    size_t live_units;
    int bad;
} VerifyCtx;

#define VFAIL(v, ...) do { snprintf((v)->err, (v)->errlen, __VA_ARGS__); (v)->bad = 1; return 1; } while (0)

static int verify_cb(void *vctx, const char *path, size_t len, const ZNode *n)
{
    VerifyCtx *v = vctx;
    const Tree *T = v->T;
    uint32_t id = lookup_id(T, path, len, NULL);
    if (!id || (const uint8_t *)n != node_ptr(T, id))
        VFAIL(v, "%s: not found by lookup", path);
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    if (!acl_live(T, r.acl))
        VFAIL(v, "%s: dead acl %u", path, r.acl);
    v->acl_uses[r.acl]++;
    v->nodes++;
    v->data_size += (int64_t)len + (r.dlen > 0 ? r.dlen : 0);
    v->digest += node_hash(T, h64(path, len, S_PATH), &r);
    if (r.dlen >= DHASH_MIN && r.dhash != h64(r.data, (size_t)r.dlen, S_DATA))
        VFAIL(v, "%s: stale data hash", path);
    v->live_units += IS_LARGE(T->ntab[id]) ? 0 : units_of(r.size);
    switch (owner_kind(r.owner)) {
    case K_SESSION: v->eph++; break;
    case K_CONTAINER: v->cont++; break;
    case K_TTL: v->ttl++; break;
    }
    /* Children: parent links, order, counts, container shape. */
    uint32_t count = 0;
    if (r.nkids) {
        if (r.paged) {
            if (r.nkids <= UNPAGE_AT)
                VFAIL(v, "%s: paged with %u children", path, r.nkids);
            uint32_t np = DIR_NP(T, r.kids), tot = 0;
            if (np > DIR_CAP(T, r.kids) || DIR_CAP(T, r.kids) != cap_for(np))
                VFAIL(v, "%s: bad directory capacity", path);
            if (!IS_LARGE(r.kids))
                v->live_units += units_of(dir_bytes(DIR_CAP(T, r.kids)));
            for (uint32_t i = 0; i < np; i++) {
                DirEnt e = DIR_ENT(T, r.kids)[i];
                if (!e.n || e.n > PAGE_MAX)
                    VFAIL(v, "%s: page %u has %u ids", path, i, e.n);
                tot += e.n;
                if (!IS_LARGE(e.h))
                    v->live_units += units_of((size_t)cap_for(e.n) * 4);
            }
            if (tot != r.nkids)
                VFAIL(v, "%s: pages hold %u, count %u", path, tot, r.nkids);
        } else {
            if (r.nkids > PAGE_MAX)
                VFAIL(v, "%s: flat with %u children", path, r.nkids);
            if (!IS_LARGE(r.kids))
                v->live_units += units_of((size_t)cap_for(r.nkids) * 4);
        }
        KidIter it;
        kid_iter_init(&it, &r);
        const uint8_t *prev = NULL;
        uint32_t prevl = 0;
        for (uint32_t k; (k = kid_next(T, &it)) != 0;) {
            const uint8_t *p = node_ptr(T, k);
            if (rd32(p) != id)
                VFAIL(v, "%s: child with wrong parent", path);
            const uint8_t *nm;
            uint32_t nl;
            node_name(T, k, &nm, &nl);
            if (!nl)
                VFAIL(v, "%s: child with empty name", path);
            if (prev && name_cmp(prev, prevl, nm, nl) >= 0)
                VFAIL(v, "%s: children not sorted", path);
            prev = nm;
            prevl = nl;
            count++;
        }
    }
    if (count != r.nkids)
        VFAIL(v, "%s: %u children iterated, count %u", path, count, r.nkids);
    return 0;
}

static int verify_list(const Tree *T, uint32_t head, uint32_t tail, int64_t count, int64_t owner_or_kind,
                       int by_kind, char *err, size_t errlen)
{
    uint32_t prev = 0;
    int64_t n = 0;
    for (uint32_t id = head; id; n++) {
        if (n > count) {
            snprintf(err, errlen, "list longer than its count");
            return -1;
        }
        Rec r;
        rec_decode(node_ptr(T, id), &r);
        if (r.eprev != prev || (by_kind ? owner_kind(r.owner) != owner_or_kind : r.owner != owner_or_kind)) {
            snprintf(err, errlen, "list link/owner mismatch at id %u", id);
            return -1;
        }
        prev = id;
        id = r.enext;
    }
    if (n != count || prev != tail) {
        snprintf(err, errlen, "list count %lld, walked %lld", (long long)count, (long long)n);
        return -1;
    }
    return 0;
}

int tree_verify(const Tree *T, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = 0;
    VerifyCtx v;
    memset(&v, 0, sizeof v);
    v.T = T;
    v.err = err;
    v.errlen = errlen;
    v.acl_uses = xcalloc(T->acl_next + 1, sizeof(int64_t));
    tree_walk(T, "/", 1, verify_cb, &v);
    int rc = -1;
    if (v.bad)
        goto out;
#define CHECK(c, ...) do { if (!(c)) { snprintf(err, errlen, __VA_ARGS__); goto out; } } while (0)
    CHECK(v.nodes == T->nodes, "walked %lld nodes, count %lld", (long long)v.nodes, (long long)T->nodes);
    if (!T->ht[1].cap)
        CHECK((int64_t)T->ht[0].used == T->nodes - 1, "hash table holds %u, nodes %lld", T->ht[0].used,
              (long long)T->nodes);
    else   /* migrating: every node is found (checked by the walk), some twice */
        CHECK((int64_t)T->ht[0].used <= T->nodes - 1 && (int64_t)T->ht[1].used <= T->nodes - 1 &&
                  (int64_t)T->ht[0].used + T->ht[1].used >= T->nodes - 1,
              "hash tables hold %u+%u, nodes %lld", T->ht[0].used, T->ht[1].used, (long long)T->nodes);
    CHECK((int64_t)(T->nid - 1 - T->nfree) == T->nodes, "ids in use %u, nodes %lld",
          T->nid - 1 - T->nfree, (long long)T->nodes);
    CHECK(v.data_size == T->data_size, "data size %lld, counter %lld", (long long)v.data_size,
          (long long)T->data_size);
    CHECK(v.digest == T->digest, "digest mismatch");
    CHECK(v.eph == T->eph_count, "ephemerals %lld, counter %lld", (long long)v.eph, (long long)T->eph_count);
    CHECK(v.cont == T->cont.count && v.ttl == T->ttl.count, "container/ttl counts");
    for (uint32_t i = 1; i < T->acl_next; i++) {
        const AclEnt *e = &T->acl[i];
        if (e->live)
            CHECK(e->pinned || (e->refs >= v.acl_uses[i] && e->refs > 0), "acl %u refs %lld < uses %lld",
                  i, (long long)e->refs, (long long)v.acl_uses[i]);
        else
            CHECK(!v.acl_uses[i], "dead acl %u in use", i);
    }
    if (verify_list(T, T->cont.head, T->cont.tail, T->cont.count, K_CONTAINER, 1, err, errlen) ||
        verify_list(T, T->ttl.head, T->ttl.tail, T->ttl.count, K_TTL, 1, err, errlen))
        goto out;
    int64_t sess_total = 0;
    uint32_t sess_n = 0;
    for (uint32_t i = 0; i < T->sess_cap; i++) {
        const SessEnt *s = &T->sess[i];
        if (!s->sid)
            continue;
        sess_n++;
        sess_total += s->count;
        CHECK(s->count > 0, "empty session entry");
        if (verify_list(T, s->head, s->tail, s->count, s->sid, 0, err, errlen))
            goto out;
    }
    CHECK(sess_n == T->sess_used && sess_total == T->eph_count, "session table totals");
    /* Heap accounting: live + free + unbumped units == all units. */
    {
        const Heap *H = &T->heap;
        size_t free_units = 0;
        for (uint32_t c = 0; c < NCLASS; c++)
            for (uint32_t h = H->free_head[c]; h; h = rd32(hptr(H, h)))
                free_units += c + 1;
        size_t total = (size_t)H->nchunk * CHUNK_UNITS - (H->nchunk ? 1 : 0);
        size_t unbumped = H->bump_end - H->bump;
        CHECK(v.live_units + free_units + unbumped == total, "heap: live %zu + free %zu + tail %zu != %zu",
              v.live_units, free_units, unbumped, total);
    }
    rc = 0;
out:
    free(v.acl_uses);
    return rc;
#undef CHECK
}
