/*
 * src/backend/tree/tree_record.c: znode records: encoding, node ids, storing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ======================================================================
 * Records
 * ====================================================================== */

void rec_decode(const uint8_t *p, Rec *r)
{
    const uint8_t *q = p;
    uint64_t v;
    r->parent = rd32(q);
    uint8_t f = q[4];
    q = varint_get(q + 5, &v);
    r->namelen = (uint32_t)v;
    r->name = q;
    q += r->namelen;
    q = varint_get(q, &v);
    r->acl = (uint32_t)v;
    q = varint_get(q, &v);
    r->czxid = (int64_t)v;
    q = varint_get(q, &v);
    r->ctime = unzz(v);
    r->mzxid = r->pzxid = r->czxid;
    r->mtime = r->ctime;
    if (f & F_MZXID) {
        q = varint_get(q, &v);
        r->mzxid = add64(r->czxid, unzz(v));
    }
    if (f & F_PZXID) {
        q = varint_get(q, &v);
        r->pzxid = add64(r->czxid, unzz(v));
    }
    if (f & F_MTIME) {
        q = varint_get(q, &v);
        r->mtime = add64(r->ctime, unzz(v));
    }
    r->version = r->cversion = r->aversion = 0;
    if (f & F_VERS) {
        q = varint_get(q, &v);
        r->version = (int32_t)unzz(v);
        q = varint_get(q, &v);
        r->cversion = (int32_t)unzz(v);
        q = varint_get(q, &v);
        r->aversion = (int32_t)unzz(v);
    }
    r->owner = 0;
    r->eprev = r->enext = 0;
    r->eph_off = 0;
    if (f & F_EPH) {
        r->eph_off = (uint32_t)(q - p);
        r->owner = (int64_t)rd64(q);
        r->eprev = rd32(q + 8);
        r->enext = rd32(q + 12);
        q += 16;
    }
    r->kids = r->nkids = 0;
    r->paged = 0;
    if (f & F_KIDS) {
        r->kids = rd32(q);
        q = varint_get(q + 4, &v);
        r->nkids = (uint32_t)(v >> 1);
        r->paged = (int)(v & 1);
    }
    r->dhash = 0;
    if (f & F_NULLD) {
        r->dlen = -1;
        r->data = NULL;
    } else {
        q = varint_get(q, &v);
        r->dlen = (int32_t)v;
        if (f & F_DHASH) {
            r->dhash = rd64(q);
            q += 8;
        }
        r->data = q;
        q += r->dlen;
    }
    r->size = (uint32_t)(q - p);
}

static inline int64_t zz32(int32_t v) { return (int64_t)v; }   /* int32 fields, zigzag as int64 */

static uint8_t rec_flags(const Rec *r)
{
    uint8_t f = 0;
    if (r->mzxid != r->czxid)
        f |= F_MZXID;
    if (r->pzxid != r->czxid)
        f |= F_PZXID;
    if (r->mtime != r->ctime)
        f |= F_MTIME;
    if (r->version || r->cversion || r->aversion)
        f |= F_VERS;
    if (r->owner)
        f |= F_EPH;
    if (r->dlen < 0)
        f |= F_NULLD;
    if (r->nkids)
        f |= F_KIDS;
    if (r->dlen >= DHASH_MIN)
        f |= F_DHASH;
    return f;
}

static size_t rec_hdr_size(const Rec *r)
{
    uint8_t f = rec_flags(r);
    size_t n = 5 + varint_len(r->namelen) + r->namelen + varint_len(r->acl) +
               varint_len((uint64_t)r->czxid) + varint_len(zz(r->ctime));
    if (f & F_MZXID)
        n += varint_len(zz(sub64(r->mzxid, r->czxid)));
    if (f & F_PZXID)
        n += varint_len(zz(sub64(r->pzxid, r->czxid)));
    if (f & F_MTIME)
        n += varint_len(zz(sub64(r->mtime, r->ctime)));
    if (f & F_VERS)
        n += varint_len(zz(zz32(r->version))) + varint_len(zz(zz32(r->cversion))) +
             varint_len(zz(zz32(r->aversion)));
    if (f & F_EPH)
        n += 16;
    if (f & F_KIDS)
        n += 4 + varint_len(((uint64_t)r->nkids << 1) | (uint64_t)(r->paged & 1));
    if (!(f & F_NULLD)) {
        n += varint_len((uint64_t)r->dlen);
        if (f & F_DHASH)
            n += 8;
    }
    return n;
}

/* Writes the header (everything but the data bytes); returns its size. */
static size_t rec_write_hdr(uint8_t *p, const Rec *r)
{
    uint8_t f = rec_flags(r);
    uint8_t *q = p;
    wr32(q, r->parent);
    q[4] = f;
    q = varint_put(q + 5, r->namelen);
    memmove(q, r->name, r->namelen);
    q += r->namelen;
    q = varint_put(q, r->acl);
    q = varint_put(q, (uint64_t)r->czxid);
    q = varint_put(q, zz(r->ctime));
    if (f & F_MZXID)
        q = varint_put(q, zz(sub64(r->mzxid, r->czxid)));
    if (f & F_PZXID)
        q = varint_put(q, zz(sub64(r->pzxid, r->czxid)));
    if (f & F_MTIME)
        q = varint_put(q, zz(sub64(r->mtime, r->ctime)));
    if (f & F_VERS) {
        q = varint_put(q, zz(zz32(r->version)));
        q = varint_put(q, zz(zz32(r->cversion)));
        q = varint_put(q, zz(zz32(r->aversion)));
    }
    if (f & F_EPH) {
        wr64(q, (uint64_t)r->owner);
        wr32(q + 8, r->eprev);
        wr32(q + 12, r->enext);
        q += 16;
    }
    if (f & F_KIDS) {
        wr32(q, r->kids);
        q = varint_put(q + 4, ((uint64_t)r->nkids << 1) | (uint64_t)(r->paged & 1));
    }
    if (!(f & F_NULLD)) {
        q = varint_put(q, (uint64_t)r->dlen);
        if (f & F_DHASH) {
            wr64(q, r->dhash);
            q += 8;
        }
    }
    return (size_t)(q - p);
}

/* Sets data fields (and the cached hash for big data). */
void rec_set_data(Rec *r, const void *data, int32_t dlen)
{
    r->dlen = dlen;
    r->data = dlen < 0 ? NULL : data;
    r->dhash = dlen >= DHASH_MIN ? h64(data, (size_t)dlen, S_DATA) : 0;
}

/* ---- ids ---- */

uint32_t id_alloc(Tree *T)
{
    if (T->nfree)
        return T->free_ids[--T->nfree];
    if (T->nid == T->ntab_cap) {
        if (T->ntab_cap >= 0x80000000u) {
            corral_log(CORRAL_LOG_FATAL, "tree", "too many znodes");
            abort();
        }
        T->ntab_cap *= 2;
        T->ntab = xrealloc(T->ntab, (size_t)T->ntab_cap * sizeof(uint32_t));
    }
    return T->nid++;
}
void id_release(Tree *T, uint32_t id)
{
    T->ntab[id] = 0;
    if (T->nfree == T->free_cap) {
        T->free_cap = T->free_cap ? T->free_cap * 2 : 64;
        T->free_ids = xrealloc(T->free_ids, (size_t)T->free_cap * sizeof(uint32_t));
    }
    T->free_ids[T->nfree++] = id;
}

/* Stores r as node id's record, in place when the size class allows.
 * r->size must be the size of the currently stored blob (0 for a new node).
 * r->name and r->data may point into the current blob. */
void node_store(Tree *T, uint32_t id, Rec *r)
{
    size_t hdr = rec_hdr_size(r);
    size_t dl = r->dlen > 0 ? (size_t)r->dlen : 0;
    size_t nsz = hdr + dl;
    uint32_t h = T->ntab[id];
    if (h && same_class(h, r->size, nsz)) {
        uint8_t *p = hptr(&T->heap, h);
        if (dl && r->data != p + hdr)
            memmove(p + hdr, r->data, dl);
        rec_write_hdr(p, r);
        r->data = p + hdr;
    } else {
        uint32_t nh = heap_alloc(&T->heap, nsz);
        uint8_t *p = hptr(&T->heap, nh);
        rec_write_hdr(p, r);
        if (dl)
            memcpy(p + hdr, r->data, dl);
        if (h)
            heap_free(&T->heap, h, r->size);
        T->ntab[id] = nh;
        r->name = p + 5 + varint_len(r->namelen);
        r->data = p + hdr;
    }
    if (r->dlen < 0)
        r->data = NULL;
    r->size = (uint32_t)nsz;
}
