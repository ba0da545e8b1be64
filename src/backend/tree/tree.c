/*
 * src/backend/tree/tree.c: the in-memory znode tree.
 *
 * The contract is in tree.h; the memory layout and its measurements are in
 * README next to this file.  In short:
 *
 *   heap     a private allocator: 1 MiB chunks cut into 4-byte units, one
 *            LIFO free list per size class (4..4096 bytes), blobs above
 *            4 KiB malloc'd.  Every blob is named by a 32-bit handle, never
 *            by a pointer, so the whole tree can be memcpy'd (tree_clone).
 *   ntab     node id -> handle of the node's record.  Ids are stable; records
 *            move when they grow.
 *   record   one variable-length blob per node: parent id, flags, name,
 *            then varint-coded stat fields, only those that differ from the
 *            defaults (mzxid == pzxid == czxid, mtime == ctime, versions 0),
 *            the ephemeral links, the children handle and count, then data.
 *   htab     open addressing over ids keyed by a hash of the full path, with
 *            a parallel byte array of 7-bit tags; grown incrementally (a
 *            few slots migrated per write) so no write ever stalls on a
 *            rehash of millions of entries.
 *   children a sorted vector of child ids; above 512 children, a directory
 *            of sorted pages of at most 512 ids (a two-level B-tree), so that
 *            an insert under a parent with a million children is O(log n)
 *            compares plus a memmove of at most 2 KiB.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree.h"
#include "utils/alloc.h"

/* ======================================================================
 * Byte helpers and hashing
 * ====================================================================== */

static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint64_t le64(const uint8_t *p)
{
    uint64_t v = rd64(p);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline uint32_t le32(const uint8_t *p)
{
    uint32_t v = rd32(p);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

/*
 * h64: XXH64's short-input algorithm applied to every length (it IS XXH64
 * for inputs under 32 bytes; longer inputs keep the single 8-byte lane
 * instead of XXH64's four).  Little-endian reads, so the value is the same
 * on every architecture.
 */
static uint64_t h64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *b = data;
    uint64_t h = seed + P5 + (uint64_t)len;
    while (len >= 8) {
        uint64_t k = le64(b) * P2;
        k = rotl64(k, 31) * P1;
        h ^= k;
        h = rotl64(h, 27) * P1 + P4;
        b += 8;
        len -= 8;
    }
    if (len >= 4) {
        h ^= (uint64_t)le32(b) * P1;
        h = rotl64(h, 23) * P2 + P3;
        b += 4;
        len -= 4;
    }
    while (len) {
        h ^= (uint64_t)(*b++) * P5;
        h = rotl64(h, 11) * P1;
        len--;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* Seeds of the digest's component hashes (see README). */
#define S_PATH 0x0ULL                  /* also the hash-table hash */
#define S_DATA 0x636f7272616c4441ULL   /* "corralDA" */
#define S_NULL 0x636f7272616c4e55ULL   /* "corralNU" */
#define S_STAT 0x636f7272616c5354ULL   /* "corralST" */
#define S_ACL  0x636f7272616c4143ULL   /* "corralAC" */
#define S_NODE 0x636f7272616c4e4fULL   /* "corralNO" */

/* ======================================================================
 * Varints
 * ====================================================================== */

static inline unsigned varint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static inline uint8_t *varint_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}
static inline const uint8_t *varint_get(const uint8_t *p, uint64_t *v)
{
    uint64_t r = 0;
    unsigned s = 0;
    uint8_t b;
    do {
        b = *p++;
        r |= (uint64_t)(b & 0x7f) << s;
        s += 7;
    } while (b & 0x80);
    *v = r;
    return p;
}
static inline uint64_t zz(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t unzz(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }
static inline int64_t sub64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static inline int64_t add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/* ======================================================================
 * Heap: handles, size classes, chunks
 * ====================================================================== */

/*
 * Handles below LARGE_BASE name small blobs: chunk (h >> CHUNK_SHIFT), unit
 * offset (low bits), 4-byte units, so 12 GiB of small blobs at most.  Handles
 * from LARGE_BASE up index the table of malloc'd large blobs.
 */
#define UNIT_SHIFT 2
#define UNIT ((uint32_t)1 << UNIT_SHIFT)
#define CHUNK_SHIFT 18                               /* units per chunk */
#define CHUNK_UNITS ((uint32_t)1 << CHUNK_SHIFT)
#define CHUNK_BYTES ((size_t)CHUNK_UNITS << UNIT_SHIFT)   /* 1 MiB */
#define LARGE_BASE 0xC0000000u
#define MAX_CHUNKS (LARGE_BASE >> CHUNK_SHIFT)       /* 12288: 12 GiB of small blobs */
#define SMALL_MAX 4096u
#define NCLASS (SMALL_MAX / UNIT)                    /* class c: (c+1)*4 bytes */
#define IS_LARGE(h) ((h) >= LARGE_BASE)

typedef struct Large { uint8_t *p; size_t size; } Large;

typedef struct Heap {
    uint8_t **chunk;
    uint32_t nchunk, chunk_cap;
    uint32_t bump, bump_end;          /* unit handles in the newest chunk */
    uint32_t free_head[NCLASS];
    uint64_t nonempty[NCLASS / 64];
    Large *large;
    uint32_t nlarge, large_cap;
    uint32_t *large_free;
    uint32_t nlarge_free, large_free_cap;
    size_t large_bytes;
} Heap;

static inline uint8_t *hptr(const Heap *H, uint32_t h)
{
    if (IS_LARGE(h))
        return H->large[h - LARGE_BASE].p;
    return H->chunk[h >> CHUNK_SHIFT] + ((size_t)(h & (CHUNK_UNITS - 1)) << UNIT_SHIFT);
}
static inline uint32_t units_of(size_t n) { return (uint32_t)((n + UNIT - 1) >> UNIT_SHIFT); }

static void free_push(Heap *H, uint32_t h, uint32_t c)
{
    wr32(hptr(H, h), H->free_head[c]);
    H->free_head[c] = h;
    H->nonempty[c >> 6] |= (uint64_t)1 << (c & 63);
}
static uint32_t free_pop(Heap *H, uint32_t c)
{
    uint32_t h = H->free_head[c];
    H->free_head[c] = rd32(hptr(H, h));
    if (!H->free_head[c])
        H->nonempty[c >> 6] &= ~((uint64_t)1 << (c & 63));
    return h;
}
static int next_nonempty(const Heap *H, uint32_t c)
{
    for (uint32_t w = c >> 6; w < NCLASS / 64; w++) {
        uint64_t m = H->nonempty[w];
        if (w == c >> 6)
            m &= ~(uint64_t)0 << (c & 63);
        if (m)
            return (int)(w * 64 + (uint32_t)__builtin_ctzll(m));
    }
    return -1;
}

static uint32_t large_alloc(Heap *H, size_t size)
{
    uint32_t i;
    if (H->nlarge_free)
        i = H->large_free[--H->nlarge_free];
    else {
        if (H->nlarge == H->large_cap) {
            H->large_cap = H->large_cap ? H->large_cap * 2 : 16;
            H->large = xrealloc(H->large, H->large_cap * sizeof(Large));
        }
        if (H->nlarge == 0xFFFFFFFFu - LARGE_BASE) {
            corral_log(CORRAL_LOG_FATAL, "tree", "too many large znode blobs");
            abort();
        }
        i = H->nlarge++;
    }
    H->large[i].p = xmalloc(size);
    H->large[i].size = size;
    H->large_bytes += size;
    return LARGE_BASE + i;
}
static void large_release(Heap *H, uint32_t h)
{
    uint32_t i = h - LARGE_BASE;
    H->large_bytes -= H->large[i].size;
    free(H->large[i].p);
    H->large[i].p = NULL;
    H->large[i].size = 0;
    if (H->nlarge_free == H->large_free_cap) {
        H->large_free_cap = H->large_free_cap ? H->large_free_cap * 2 : 16;
        H->large_free = xrealloc(H->large_free, H->large_free_cap * sizeof(uint32_t));
    }
    H->large_free[H->nlarge_free++] = i;
}

static uint32_t heap_alloc(Heap *H, size_t size)
{
    if (size > SMALL_MAX)
        return large_alloc(H, size);
    uint32_t u = units_of(size ? size : 1), c = u - 1;
    if (H->free_head[c])
        return free_pop(H, c);
    if (H->bump_end - H->bump >= u) {
        uint32_t h = H->bump;
        H->bump += u;
        return h;
    }
    /* Split a larger free block before taking a new chunk. */
    int c2 = next_nonempty(H, c + 1);
    if (c2 >= 0) {
        uint32_t h = free_pop(H, (uint32_t)c2);
        free_push(H, h + u, (uint32_t)c2 - c - 1);
        return h;
    }
    if (H->bump_end > H->bump)
        free_push(H, H->bump, H->bump_end - H->bump - 1);
    if (H->nchunk == MAX_CHUNKS) {
        corral_log(CORRAL_LOG_FATAL, "tree", "znode heap exhausted (%u chunks)", MAX_CHUNKS);
        abort();
    }
    if (H->nchunk == H->chunk_cap) {
        H->chunk_cap = H->chunk_cap ? H->chunk_cap * 2 : 4;
        H->chunk = xrealloc(H->chunk, H->chunk_cap * sizeof(uint8_t *));
    }
    uint32_t k = H->nchunk++;
    H->chunk[k] = xmalloc(CHUNK_BYTES);
    H->bump = k << CHUNK_SHIFT;
    H->bump_end = H->bump + CHUNK_UNITS;
    if (k == 0)
        H->bump = 1;               /* handle 0 is NIL */
    uint32_t h = H->bump;
    H->bump += u;
    return h;
}

static void heap_free(Heap *H, uint32_t h, size_t size)
{
    if (IS_LARGE(h))
        large_release(H, h);
    else
        free_push(H, h, units_of(size ? size : 1) - 1);
}

/* Whether a blob of size a can be rewritten in place as size b. */
static inline int same_class(uint32_t h, size_t a, size_t b)
{
    if (IS_LARGE(h))
        return a == b;
    return b <= SMALL_MAX && units_of(a) == units_of(b);
}

static void heap_destroy(Heap *H)
{
    for (uint32_t i = 0; i < H->nchunk; i++)
        free(H->chunk[i]);
    free(H->chunk);
    for (uint32_t i = 0; i < H->nlarge; i++)
        free(H->large[i].p);
    free(H->large);
    free(H->large_free);
    memset(H, 0, sizeof *H);
}

/* ======================================================================
 * Records
 * ====================================================================== */

enum {
    F_MZXID = 0x01,  /* mzxid != czxid */
    F_PZXID = 0x02,  /* pzxid != czxid */
    F_MTIME = 0x04,  /* mtime != ctime */
    F_VERS = 0x08,   /* version, cversion or aversion != 0 */
    F_EPH = 0x10,    /* ephemeralOwner != 0: owner + list links */
    F_NULLD = 0x20,  /* null data */
    F_KIDS = 0x40,   /* has children: handle + count */
    F_DHASH = 0x80   /* data hash cached (data >= DHASH_MIN bytes) */
};
#define DHASH_MIN 256

/*
 * Layout:  u32 parent | u8 flags | varint namelen | name |
 *          varint acl | varint czxid | zz ctime | [zz mzxid-czxid] |
 *          [zz pzxid-czxid] | [zz mtime-ctime] | [zz version zz cversion
 *          zz aversion] | [u64 owner u32 prev u32 next] | [u32 kids,
 *          varint count<<1|paged] | [varint dlen [u64 dhash] data]
 */
typedef struct Rec {
    uint32_t parent;
    uint32_t namelen;
    const uint8_t *name;
    uint32_t acl;
    int64_t czxid, mzxid, pzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t owner;
    uint32_t eprev, enext;
    uint32_t kids, nkids;
    int paged;
    int32_t dlen;                /* -1: null */
    const uint8_t *data;
    uint64_t dhash;              /* valid if dlen >= DHASH_MIN */
    uint32_t size;               /* encoded size of the stored blob */
    uint32_t eph_off;            /* offset of owner (if F_EPH) */
} Rec;

static void rec_decode(const uint8_t *p, Rec *r)
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
static void rec_set_data(Rec *r, const void *data, int32_t dlen)
{
    r->dlen = dlen;
    r->data = dlen < 0 ? NULL : data;
    r->dhash = dlen >= DHASH_MIN ? h64(data, (size_t)dlen, S_DATA) : 0;
}

/* ======================================================================
 * The tree
 * ====================================================================== */

#define ROOT_ID 1u
#define PAGE_MAX 512u       /* ids per children page; flat vector up to this */
#define UNPAGE_AT 256u      /* a paged node goes back to flat at this count */
#define MIGRATE_STEP 64u    /* hash slots migrated per write while growing */

/* Slots in groups of 8: the tags and ids of a probe share a cache line. */
typedef struct HGroup { uint8_t tag[8]; uint32_t id[8]; } HGroup;
typedef struct HTab { HGroup *g; uint32_t cap, used, tombs; } HTab;
#define HTAG(t, i) ((t)->g[(i) >> 3].tag[(i) & 7])
#define HID(t, i) ((t)->g[(i) >> 3].id[(i) & 7])
#define TAG_EMPTY 0
#define TAG_TOMB 1

typedef struct AclEnt {
    TreeAclEntry *v;
    int32_t n;
    uint8_t live, pinned;
    int64_t refs;
    uint64_t hash;
} AclEnt;

typedef struct SessEnt { int64_t sid; uint32_t head, tail; int64_t count; } SessEnt;
typedef struct NList { uint32_t head, tail; int64_t count; } NList;

typedef struct PathBuf { char *p; size_t cap; } PathBuf;

struct Tree {
    Heap heap;
    uint32_t *ntab;                 /* id -> record handle */
    uint32_t ntab_cap, nid;
    uint32_t *free_ids;
    uint32_t nfree, free_cap;
    HTab ht[2];                     /* [0] current; [1] old, while migrating */
    uint32_t mig_pos;               /* ids below this are in ht[0] */
    AclEnt *acl;                    /* by id; [0] unused */
    uint32_t acl_cap, acl_next;
    uint32_t *acl_free;
    uint32_t acl_nfree, acl_free_cap;
    uint32_t *acl_map;              /* open addressing over ids by content hash */
    uint32_t acl_map_cap, acl_live;
    SessEnt *sess;
    uint32_t sess_cap, sess_used;
    NList cont, ttl;
    int64_t nodes, eph_count, data_size;
    uint64_t digest;
    PathBuf scratch;                /* mutating calls only */
};

static inline const uint8_t *node_ptr(const Tree *T, uint32_t id) { return hptr(&T->heap, T->ntab[id]); }
static inline uint8_t *node_mut(Tree *T, uint32_t id) { return hptr(&T->heap, T->ntab[id]); }

static inline void node_name(const Tree *T, uint32_t id, const uint8_t **name, uint32_t *nl)
{
    uint64_t v;
    *name = varint_get(node_ptr(T, id) + 5, &v);
    *nl = (uint32_t)v;
}

enum { K_NONE, K_SESSION, K_CONTAINER, K_TTL };
static inline int owner_kind(int64_t o)
{
    if (!o)
        return K_NONE;
    if (tree_owner_is_container(o))
        return K_CONTAINER;
    if (tree_owner_is_ttl(o))
        return K_TTL;
    return K_SESSION;
}

/* ---- ids ---- */

static uint32_t id_alloc(Tree *T)
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
static void id_release(Tree *T, uint32_t id)
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
static void node_store(Tree *T, uint32_t id, Rec *r)
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

/* ---- paths ---- */

static void pb_reserve(PathBuf *b, size_t n)
{
    if (n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < n)
            c *= 2;
        b->p = xrealloc(b->p, c);
        b->cap = c;
    }
}

/* Full path of id into b (NUL-terminated); returns its length. */
static size_t node_path(const Tree *T, uint32_t id, PathBuf *b)
{
    if (id == ROOT_ID) {
        pb_reserve(b, 2);
        b->p[0] = '/';
        b->p[1] = 0;
        return 1;
    }
    size_t len = 0;
    for (uint32_t x = id; x != ROOT_ID;) {
        const uint8_t *p = node_ptr(T, x);
        uint64_t nl;
        varint_get(p + 5, &nl);
        len += 1 + nl;
        x = rd32(p);
    }
    pb_reserve(b, len + 1);
    b->p[len] = 0;
    size_t end = len;
    for (uint32_t x = id; x != ROOT_ID;) {
        const uint8_t *p = node_ptr(T, x);
        uint64_t nl;
        const uint8_t *name = varint_get(p + 5, &nl);
        end -= nl;
        memcpy(b->p + end, name, nl);
        b->p[--end] = '/';
        x = rd32(p);
    }
    return len;
}

static int path_matches(const Tree *T, uint32_t id, const char *path, size_t len)
{
    size_t end = len;
    while (id != ROOT_ID) {
        const uint8_t *p = node_ptr(T, id);
        uint64_t nl;
        const uint8_t *name = varint_get(p + 5, &nl);
        if (end < nl + 1 || path[end - nl - 1] != '/' || memcmp(path + end - nl, name, nl) != 0)
            return 0;
        end -= nl + 1;
        id = rd32(p);
    }
    return end == 0;
}

/* ---- hash table ---- */

static inline uint8_t tag_of(uint64_t h) { return (uint8_t)(0x80 | (h >> 57)); }
/* Capacities are 2^k or 3*2^(k-1) (growth x1.5 / x1.33, so the load stays
 * between 0.58 and 0.875); the home slot is the low 32 hash bits scaled to
 * cap (multiply-shift), independent of the tag's top 7 bits. */
static inline uint32_t ht_home(uint64_t h, uint32_t cap) { return (uint32_t)(((h & 0xffffffffu) * cap) >> 32); }
static inline uint32_t ht_next(uint32_t i, uint32_t cap) { return i + 1 < cap ? i + 1 : 0; }
static uint32_t ht_cap_at_least(uint64_t n)
{
    uint64_t c = 64;
    while (c < n)
        c = (c & (c >> 1)) ? c / 3 * 4 : c + c / 2;
    if (c > 0xC0000000u) {
        corral_log(CORRAL_LOG_FATAL, "tree", "path hash table too large");
        abort();
    }
    return (uint32_t)c;
}

static void ht_init(HTab *t, uint32_t cap)
{
    t->cap = cap;                   /* a multiple of 8 (>= 64) */
    t->used = t->tombs = 0;
    t->g = xcalloc(cap / 8, sizeof(HGroup));
}
static void ht_destroy(HTab *t)
{
    free(t->g);
    memset(t, 0, sizeof *t);
}

static uint32_t ht_find(const Tree *T, const HTab *t, uint64_t h, const char *path, size_t len)
{
    if (!t->cap)
        return 0;
    uint32_t i = ht_home(h, t->cap);
    uint8_t tg = tag_of(h);
    for (;;) {
        uint8_t x = HTAG(t, i);
        if (x == TAG_EMPTY)
            return 0;
        if (x == tg && path_matches(T, HID(t, i), path, len))
            return HID(t, i);
        i = ht_next(i, t->cap);
    }
}

/* Inserts id unless it is already there (a migration may meet a node that
 * was inserted into the new table directly). */
static void ht_put(HTab *t, uint64_t h, uint32_t id)
{
    uint32_t i = ht_home(h, t->cap), at = UINT32_MAX;
    uint8_t tg = tag_of(h);
    for (;; i = ht_next(i, t->cap)) {
        uint8_t x = HTAG(t, i);
        if (x == TAG_EMPTY)
            break;
        if (x == TAG_TOMB) {
            if (at == UINT32_MAX)
                at = i;
        } else if (x == tg && HID(t, i) == id) {
            return;
        }
    }
    if (at == UINT32_MAX)
        at = i;
    else
        t->tombs--;
    HTAG(t, at) = tg;
    HID(t, at) = id;
    t->used++;
}

static int ht_del_in(HTab *t, uint64_t h, uint32_t id)
{
    if (!t->cap)
        return 0;
    uint32_t i = ht_home(h, t->cap);
    uint8_t tg = tag_of(h);
    for (;;) {
        uint8_t x = HTAG(t, i);
        if (x == TAG_EMPTY)
            return 0;
        if (x == tg && HID(t, i) == id) {
            HTAG(t, i) = TAG_TOMB;
            HID(t, i) = 0;
            t->used--;
            t->tombs++;
            return 1;
        }
        i = ht_next(i, t->cap);
    }
}

/*
 * Incremental rehash.  While ht[1] (the old table) exists, every node whose
 * id is below mig_pos is in ht[0]; the others are in ht[1] and possibly also
 * in ht[0] (created since).  Lookups try ht[0] then ht[1]; removals remove
 * from both; each write moves the next nids ids.  Ids are visited in order
 * because ids, ntab and records are laid out roughly in creation order:
 * rebuilding a path is then mostly cache hits, and the only random access
 * is the put into the new table.
 */
static void ht_migrate(Tree *T, uint32_t nids)
{
    if (!T->ht[1].cap)
        return;
    /* Go fast enough to finish before ht[0] fills: ids left over the
     * inserts ht[0] can still take (after mass deletes most ids are free
     * and cost one ntab read). */
    uint64_t left = T->nid - T->mig_pos, room = (uint64_t)T->ht[0].cap * 7 / 8;
    room = room > (uint64_t)T->ht[0].used + T->ht[0].tombs ? room - T->ht[0].used - T->ht[0].tombs : 0;
    uint64_t need = left / (room / 2 + 1) + 1;
    if (need > nids)
        nids = need > UINT32_MAX ? UINT32_MAX : (uint32_t)need;
    while (nids-- && T->mig_pos < T->nid) {
        uint32_t id = T->mig_pos++;
        if (id <= ROOT_ID || !T->ntab[id])
            continue;
        size_t len = node_path(T, id, &T->scratch);
        ht_put(&T->ht[0], h64(T->scratch.p, len, S_PATH), id);
    }
    if (T->mig_pos >= T->nid)
        ht_destroy(&T->ht[1]);
}

/* Called after every insert or removal: grow, clean or shrink, by starting
 * an incremental migration into a fresh table. */
static void ht_maintain(Tree *T)
{
    HTab *t = &T->ht[0];
    uint32_t ncap;
    if ((uint64_t)(t->used + t->tombs) * 8 >= (uint64_t)t->cap * 7) {
        if (T->ht[1].cap) {
            /* Full while migrating (should not happen given the pace of
             * ht_migrate): rebuild from ntab into a table sized for all. */
            ht_destroy(&T->ht[1]);
            ht_destroy(t);
            ht_init(t, ht_cap_at_least((uint64_t)T->nodes * 2));
            for (uint32_t id = ROOT_ID + 1; id < T->nid; id++)
                if (T->ntab[id]) {
                    size_t len = node_path(T, id, &T->scratch);
                    ht_put(t, h64(T->scratch.p, len, S_PATH), id);
                }
            return;
        }
        /* grow one step, or rebuild at the same size to drop tombstones */
        ncap = (uint64_t)t->used * 2 >= t->cap ? ht_cap_at_least((uint64_t)t->cap + 1) : t->cap;
    } else if (t->cap > 64 && (uint64_t)t->used * 8 < t->cap && !T->ht[1].cap) {
        ncap = ht_cap_at_least((uint64_t)t->used * 3);
    } else {
        return;
    }
    T->ht[1] = *t;
    T->mig_pos = 0;
    ht_init(t, ncap);
}

static uint32_t lookup_id(const Tree *T, const char *path, size_t len, uint64_t *hout)
{
    if (len == 1 && path[0] == '/')
        return ROOT_ID;
    if (len < 2 || path[0] != '/')
        return 0;
    uint64_t h = h64(path, len, S_PATH);
    if (hout)
        *hout = h;
    uint32_t id = ht_find(T, &T->ht[0], h, path, len);
    if (!id)
        id = ht_find(T, &T->ht[1], h, path, len);
    return id;
}

/* ---- children ---- */

static int name_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}
static inline int cmp_id(const Tree *T, const uint8_t *name, size_t nl, uint32_t id)
{
    const uint8_t *n2;
    uint32_t l2;
    node_name(T, id, &n2, &l2);
    return name_cmp(name, nl, n2, l2);
}
static uint32_t lower_bound(const Tree *T, const uint32_t *ids, uint32_t n, const uint8_t *name, size_t nl)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_id(T, name, nl, ids[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Capacity of a vector of n elements: 2, 3, 4, 6, 8, 12, 16, 24, ... */
static uint32_t cap_for(uint32_t n)
{
    uint32_t c = 2;
    while (c < n)
        c = (c & (c >> 1)) ? c / 3 * 4 : c + c / 2;
    return c;
}

#define VEC(T, h) ((uint32_t *)hptr(&(T)->heap, (h)))

/* Resizes vector *hdl from n to m elements (contents kept up to min). */
static void vec_resize(Tree *T, uint32_t *hdl, uint32_t n, uint32_t m)
{
    uint32_t oc = n ? cap_for(n) : 0, nc = m ? cap_for(m) : 0;
    if (oc == nc)
        return;
    uint32_t nh = 0;
    if (nc) {
        nh = heap_alloc(&T->heap, (size_t)nc * 4);
        if (n)
            memcpy(VEC(T, nh), VEC(T, *hdl), (size_t)(n < m ? n : m) * 4);
    }
    if (oc)
        heap_free(&T->heap, *hdl, (size_t)oc * 4);
    *hdl = nh;
}

static void vec_insert(Tree *T, uint32_t *hdl, uint32_t n, uint32_t pos, uint32_t id)
{
    uint32_t oc = n ? cap_for(n) : 0, nc = cap_for(n + 1);
    if (oc == nc) {
        uint32_t *v = VEC(T, *hdl);
        memmove(v + pos + 1, v + pos, (size_t)(n - pos) * 4);
        v[pos] = id;
        return;
    }
    uint32_t nh = heap_alloc(&T->heap, (size_t)nc * 4);
    uint32_t *nv = VEC(T, nh);
    if (n) {
        uint32_t *v = VEC(T, *hdl);
        memcpy(nv, v, (size_t)pos * 4);
        memcpy(nv + pos + 1, v + pos, (size_t)(n - pos) * 4);
        heap_free(&T->heap, *hdl, (size_t)oc * 4);
    }
    nv[pos] = id;
    *hdl = nh;
}

static void vec_remove(Tree *T, uint32_t *hdl, uint32_t n, uint32_t pos)
{
    uint32_t oc = cap_for(n), nc = n > 1 ? cap_for(n - 1) : 0;
    uint32_t *v = VEC(T, *hdl);
    if (oc == nc) {
        memmove(v + pos, v + pos + 1, (size_t)(n - pos - 1) * 4);
        return;
    }
    uint32_t nh = 0;
    if (nc) {
        nh = heap_alloc(&T->heap, (size_t)nc * 4);
        uint32_t *nv = VEC(T, nh);
        memcpy(nv, v, (size_t)pos * 4);
        memcpy(nv + pos, v + pos + 1, (size_t)(n - pos - 1) * 4);
    }
    heap_free(&T->heap, *hdl, (size_t)oc * 4);
    *hdl = nh;
}

/* Directory of pages: u32 npages, u32 cap, then cap x {u32 handle, u32 count}. */
typedef struct DirEnt { uint32_t h, n; } DirEnt;
#define DIR_NP(T, d) (((uint32_t *)hptr(&(T)->heap, (d)))[0])
#define DIR_CAP(T, d) (((uint32_t *)hptr(&(T)->heap, (d)))[1])
#define DIR_ENT(T, d) ((DirEnt *)(((uint32_t *)hptr(&(T)->heap, (d))) + 2))
static inline size_t dir_bytes(uint32_t cap) { return 8 + (size_t)cap * 8; }

static void dir_insert(Tree *T, uint32_t *dh, uint32_t pos, DirEnt e)
{
    uint32_t np = DIR_NP(T, *dh), cap = DIR_CAP(T, *dh);
    if (np + 1 > cap) {
        uint32_t nc = cap_for(np + 1);
        uint32_t nh = heap_alloc(&T->heap, dir_bytes(nc));
        memcpy(hptr(&T->heap, nh), hptr(&T->heap, *dh), dir_bytes(np));
        heap_free(&T->heap, *dh, dir_bytes(cap));
        *dh = nh;
        DIR_CAP(T, nh) = nc;
    }
    DirEnt *de = DIR_ENT(T, *dh);
    memmove(de + pos + 1, de + pos, (size_t)(np - pos) * sizeof(DirEnt));
    de[pos] = e;
    DIR_NP(T, *dh) = np + 1;
}

static void dir_remove(Tree *T, uint32_t *dh, uint32_t pos)
{
    uint32_t np = DIR_NP(T, *dh), cap = DIR_CAP(T, *dh);
    DirEnt *de = DIR_ENT(T, *dh);
    memmove(de + pos, de + pos + 1, (size_t)(np - pos - 1) * sizeof(DirEnt));
    np--;
    DIR_NP(T, *dh) = np;
    uint32_t nc = cap_for(np);
    if (nc < cap) {
        uint32_t nh = heap_alloc(&T->heap, dir_bytes(nc));
        memcpy(hptr(&T->heap, nh), hptr(&T->heap, *dh), dir_bytes(np));
        heap_free(&T->heap, *dh, dir_bytes(cap));
        *dh = nh;
        DIR_CAP(T, nh) = nc;
    }
}

/* Page that holds (or would hold) name: the last page whose first child is
 * <= name, or page 0. */
static uint32_t dir_find_page(const Tree *T, uint32_t dh, const uint8_t *name, size_t nl)
{
    uint32_t np = DIR_NP(T, dh);
    const DirEnt *de = DIR_ENT(T, dh);
    uint32_t lo = 0, hi = np;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_id(T, name, nl, VEC(T, de[mid].h)[0]) >= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

static void kids_insert(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl)
{
    if (!pr->nkids) {
        pr->kids = 0;
        vec_insert(T, &pr->kids, 0, 0, id);
        pr->nkids = 1;
        pr->paged = 0;
        return;
    }
    if (!pr->paged) {
        if (pr->nkids < PAGE_MAX) {
            uint32_t pos = lower_bound(T, VEC(T, pr->kids), pr->nkids, name, nl);
            vec_insert(T, &pr->kids, pr->nkids, pos, id);
            pr->nkids++;
            return;
        }
        /* A full flat vector becomes the only page of a new directory. */
        uint32_t dh = heap_alloc(&T->heap, dir_bytes(2));
        DIR_NP(T, dh) = 1;
        DIR_CAP(T, dh) = 2;
        DIR_ENT(T, dh)[0] = (DirEnt){pr->kids, pr->nkids};
        pr->kids = dh;
        pr->paged = 1;
    }
    uint32_t pi = dir_find_page(T, pr->kids, name, nl);
    DirEnt e = DIR_ENT(T, pr->kids)[pi];
    uint32_t pos = lower_bound(T, VEC(T, e.h), e.n, name, nl);
    if (e.n < PAGE_MAX) {
        vec_insert(T, &e.h, e.n, pos, id);
        e.n++;
        DIR_ENT(T, pr->kids)[pi] = e;
    } else {
        uint32_t np = DIR_NP(T, pr->kids);
        DirEnt ne = {0, 0};
        if (pos == e.n && pi == np - 1) {              /* appending: new last page */
            vec_insert(T, &ne.h, 0, 0, id);
            ne.n = 1;
            dir_insert(T, &pr->kids, pi + 1, ne);
        } else if (pos == 0 && pi == 0) {              /* prepending: new first page */
            vec_insert(T, &ne.h, 0, 0, id);
            ne.n = 1;
            dir_insert(T, &pr->kids, 0, ne);
        } else {                                       /* split in halves */
            uint32_t half = e.n / 2;
            ne.n = e.n - half;
            ne.h = heap_alloc(&T->heap, (size_t)cap_for(ne.n) * 4);
            memcpy(VEC(T, ne.h), VEC(T, e.h) + half, (size_t)ne.n * 4);
            vec_resize(T, &e.h, e.n, half);
            e.n = half;
            if (pos <= half) {
                vec_insert(T, &e.h, e.n, pos, id);
                e.n++;
            } else {
                vec_insert(T, &ne.h, ne.n, pos - half, id);
                ne.n++;
            }
            DIR_ENT(T, pr->kids)[pi] = e;
            dir_insert(T, &pr->kids, pi + 1, ne);
        }
    }
    pr->nkids++;
}

static void kids_flatten(Tree *T, Rec *pr)
{
    uint32_t dh = pr->kids, np = DIR_NP(T, dh);
    uint32_t vh = heap_alloc(&T->heap, (size_t)cap_for(pr->nkids) * 4);
    uint32_t k = 0;
    for (uint32_t i = 0; i < np; i++) {
        DirEnt e = DIR_ENT(T, dh)[i];
        memcpy(VEC(T, vh) + k, VEC(T, e.h), (size_t)e.n * 4);
        k += e.n;
        heap_free(&T->heap, e.h, (size_t)cap_for(e.n) * 4);
    }
    heap_free(&T->heap, dh, dir_bytes(DIR_CAP(T, dh)));
    pr->kids = vh;
    pr->paged = 0;
}

/* Removes child id (named name) from pr's children. */
static void kids_remove(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl)
{
    if (!pr->paged) {
        uint32_t pos = lower_bound(T, VEC(T, pr->kids), pr->nkids, name, nl);
        (void)id;
        vec_remove(T, &pr->kids, pr->nkids, pos);
        pr->nkids--;
        if (!pr->nkids)
            pr->kids = 0;
        return;
    }
    uint32_t pi = dir_find_page(T, pr->kids, name, nl);
    DirEnt e = DIR_ENT(T, pr->kids)[pi];
    uint32_t pos = lower_bound(T, VEC(T, e.h), e.n, name, nl);
    vec_remove(T, &e.h, e.n, pos);
    e.n--;
    DIR_ENT(T, pr->kids)[pi] = e;
    pr->nkids--;
    if (!e.n) {
        dir_remove(T, &pr->kids, pi);
    } else {
        /* Merge with a neighbour when both fit in half a page. */
        uint32_t np = DIR_NP(T, pr->kids);
        if (np >= 2) {
            uint32_t a = pi + 1 < np ? pi : pi - 1;          /* merge pages a, a+1 */
            DirEnt ea = DIR_ENT(T, pr->kids)[a], eb = DIR_ENT(T, pr->kids)[a + 1];
            if (ea.n + eb.n <= PAGE_MAX / 2) {
                uint32_t nh = heap_alloc(&T->heap, (size_t)cap_for(ea.n + eb.n) * 4);
                memcpy(VEC(T, nh), VEC(T, ea.h), (size_t)ea.n * 4);
                memcpy(VEC(T, nh) + ea.n, VEC(T, eb.h), (size_t)eb.n * 4);
                heap_free(&T->heap, ea.h, (size_t)cap_for(ea.n) * 4);
                heap_free(&T->heap, eb.h, (size_t)cap_for(eb.n) * 4);
                DIR_ENT(T, pr->kids)[a] = (DirEnt){nh, ea.n + eb.n};
                dir_remove(T, &pr->kids, a + 1);
            }
        }
    }
    if (pr->nkids <= UNPAGE_AT)
        kids_flatten(T, pr);
}

/* Iterates a node's children in order.  The tree must not change meanwhile. */
typedef struct KidIter { uint32_t kids, nkids, pi, i; int paged; } KidIter;

static void kid_iter_init(KidIter *it, const Rec *r)
{
    it->kids = r->kids;
    it->nkids = r->nkids;
    it->paged = r->paged;
    it->pi = it->i = 0;
}
static uint32_t kid_next(const Tree *T, KidIter *it)
{
    if (!it->nkids)
        return 0;
    if (!it->paged) {
        if (it->i >= it->nkids)
            return 0;
        return VEC(T, it->kids)[it->i++];
    }
    uint32_t np = DIR_NP(T, it->kids);
    const DirEnt *de = DIR_ENT(T, it->kids);
    while (it->pi < np) {
        if (it->i < de[it->pi].n)
            return VEC(T, de[it->pi].h)[it->i++];
        it->pi++;
        it->i = 0;
    }
    return 0;
}

/* ---- ACL table ---- */

static uint64_t acl_list_hash(const TreeAclEntry *a, int n)
{
    uint8_t b[4];
    put_le32(b, (uint32_t)n);
    uint64_t h = h64(b, 4, S_ACL);
    for (int i = 0; i < n; i++) {
        const char *s = a[i].scheme ? a[i].scheme : "", *d = a[i].id ? a[i].id : "";
        put_le32(b, (uint32_t)a[i].perms);
        h = h64(b, 4, h);
        h = h64(s, strlen(s), h);
        h = h64(d, strlen(d), h);
    }
    return h;
}

static int acl_list_eq(const TreeAclEntry *a, int an, const TreeAclEntry *b, int bn)
{
    if (an != bn)
        return 0;
    for (int i = 0; i < an; i++) {
        const char *as = a[i].scheme ? a[i].scheme : "", *ai = a[i].id ? a[i].id : "";
        if (a[i].perms != b[i].perms || strcmp(as, b[i].scheme) || strcmp(ai, b[i].id))
            return 0;
    }
    return 1;
}

static TreeAclEntry *acl_list_copy(const TreeAclEntry *a, int n)
{
    size_t sz = (size_t)n * sizeof(TreeAclEntry);
    for (int i = 0; i < n; i++)
        sz += strlen(a[i].scheme ? a[i].scheme : "") + strlen(a[i].id ? a[i].id : "") + 2;
    TreeAclEntry *v = xmalloc(sz);
    char *s = (char *)(v + n);
    for (int i = 0; i < n; i++) {
        const char *sc = a[i].scheme ? a[i].scheme : "", *id = a[i].id ? a[i].id : "";
        size_t l1 = strlen(sc) + 1, l2 = strlen(id) + 1;
        v[i].perms = a[i].perms;
        v[i].scheme = memcpy(s, sc, l1);
        s += l1;
        v[i].id = memcpy(s, id, l2);
        s += l2;
    }
    return v;
}

static void acl_map_put(Tree *T, uint32_t id)
{
    uint32_t mask = T->acl_map_cap - 1, i = (uint32_t)T->acl[id].hash & mask;
    while (T->acl_map[i])
        i = (i + 1) & mask;
    T->acl_map[i] = id;
}

static void acl_map_grow(Tree *T)
{
    uint32_t oc = T->acl_map_cap, *old = T->acl_map;
    T->acl_map_cap = oc ? oc * 2 : 16;
    T->acl_map = xcalloc(T->acl_map_cap, sizeof(uint32_t));
    for (uint32_t i = 0; i < oc; i++)
        if (old[i])
            acl_map_put(T, old[i]);
    free(old);
}

static void acl_map_del(Tree *T, uint32_t id)
{
    uint32_t mask = T->acl_map_cap - 1, i = (uint32_t)T->acl[id].hash & mask;
    while (T->acl_map[i] != id)
        i = (i + 1) & mask;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint32_t x = T->acl_map[j];
        if (!x)
            break;
        uint32_t home = (uint32_t)T->acl[x].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            T->acl_map[i] = x;
            i = j;
        }
    }
    T->acl_map[i] = 0;
}

static inline int acl_live(const Tree *T, uint32_t id) { return id && id < T->acl_next && T->acl[id].live; }

static void acl_drop(Tree *T, uint32_t id)
{
    acl_map_del(T, id);
    free(T->acl[id].v);
    memset(&T->acl[id], 0, sizeof(AclEnt));
    T->acl_live--;
    if (T->acl_nfree == T->acl_free_cap) {
        T->acl_free_cap = T->acl_free_cap ? T->acl_free_cap * 2 : 16;
        T->acl_free = xrealloc(T->acl_free, (size_t)T->acl_free_cap * sizeof(uint32_t));
    }
    T->acl_free[T->acl_nfree++] = id;
}

static inline void acl_ref(Tree *T, uint32_t id) { T->acl[id].refs++; }
static void acl_unref(Tree *T, uint32_t id)
{
    if (T->acl[id].pinned) {
        if (T->acl[id].refs > 0)       /* over-release of a pinned list: ignored */
            T->acl[id].refs--;
        return;
    }
    if (--T->acl[id].refs <= 0)
        acl_drop(T, id);
}

uint32_t tree_acl_intern(Tree *T, const TreeAclEntry *acl, int n)
{
    if (n < 0 || (n > 0 && !acl))
        return TREE_ACL_NONE;
    uint64_t h = acl_list_hash(acl, n);
    if (T->acl_map_cap) {
        uint32_t mask = T->acl_map_cap - 1, i = (uint32_t)h & mask;
        for (uint32_t x; (x = T->acl_map[i]) != 0; i = (i + 1) & mask) {
            if (T->acl[x].hash == h && acl_list_eq(acl, n, T->acl[x].v, T->acl[x].n)) {
                T->acl[x].refs++;
                return x;
            }
        }
    }
    uint32_t id;
    if (T->acl_nfree)
        id = T->acl_free[--T->acl_nfree];
    else {
        if (T->acl_next == T->acl_cap) {
            uint32_t oc = T->acl_cap;
            T->acl_cap = oc ? oc * 2 : 16;
            T->acl = xrealloc(T->acl, (size_t)T->acl_cap * sizeof(AclEnt));
            memset(T->acl + oc, 0, (size_t)(T->acl_cap - oc) * sizeof(AclEnt));
        }
        id = T->acl_next++;
    }
    AclEnt *e = &T->acl[id];
    e->v = acl_list_copy(acl, n);
    e->n = n;
    e->live = 1;
    e->pinned = 0;
    e->refs = 1;
    e->hash = h;
    T->acl_live++;
    if ((uint64_t)T->acl_live * 2 > T->acl_map_cap)
        acl_map_grow(T);
    acl_map_put(T, id);
    return id;
}

void tree_acl_release(Tree *T, uint32_t id)
{
    if (acl_live(T, id))
        acl_unref(T, id);
}

int tree_acl_get(const Tree *T, uint32_t id, const TreeAclEntry **acl, int *n)
{
    if (!acl_live(T, id)) {
        if (acl)
            *acl = NULL;
        if (n)
            *n = 0;
        return TREE_BADARGUMENTS;
    }
    if (acl)
        *acl = T->acl[id].v;
    if (n)
        *n = T->acl[id].n;
    return TREE_OK;
}

int64_t tree_acl_refcount(const Tree *T, uint32_t id) { return acl_live(T, id) ? T->acl[id].refs : -1; }
int64_t tree_acl_count(const Tree *T) { return T->acl_live; }

void tree_acl_foreach(const Tree *T, TreeAclFn fn, void *ctx)
{
    for (uint32_t id = 1; id < T->acl_next; id++)
        if (T->acl[id].live)
            fn(ctx, id, T->acl[id].v, T->acl[id].n);
}

/* ---- sessions and lists ---- */

static SessEnt *sess_find(const Tree *T, int64_t sid)
{
    if (!T->sess_cap)
        return NULL;
    uint32_t mask = T->sess_cap - 1, i = (uint32_t)fmix64((uint64_t)sid) & mask;
    for (; T->sess[i].sid; i = (i + 1) & mask)
        if (T->sess[i].sid == sid)
            return &T->sess[i];
    return NULL;
}

static void sess_put_raw(SessEnt *tab, uint32_t cap, const SessEnt *e)
{
    uint32_t mask = cap - 1, i = (uint32_t)fmix64((uint64_t)e->sid) & mask;
    while (tab[i].sid)
        i = (i + 1) & mask;
    tab[i] = *e;
}

static SessEnt *sess_get(Tree *T, int64_t sid)
{
    SessEnt *s = sess_find(T, sid);
    if (s)
        return s;
    if ((uint64_t)(T->sess_used + 1) * 2 > T->sess_cap) {
        uint32_t oc = T->sess_cap, nc = oc ? oc * 2 : 16;
        SessEnt *nt = xcalloc(nc, sizeof(SessEnt));
        for (uint32_t i = 0; i < oc; i++)
            if (T->sess[i].sid)
                sess_put_raw(nt, nc, &T->sess[i]);
        free(T->sess);
        T->sess = nt;
        T->sess_cap = nc;
    }
    SessEnt e = {sid, 0, 0, 0};
    sess_put_raw(T->sess, T->sess_cap, &e);
    T->sess_used++;
    return sess_find(T, sid);
}

static void sess_del(Tree *T, int64_t sid)
{
    uint32_t mask = T->sess_cap - 1, i = (uint32_t)fmix64((uint64_t)sid) & mask;
    while (T->sess[i].sid != sid)
        i = (i + 1) & mask;
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!T->sess[j].sid)
            break;
        uint32_t home = (uint32_t)fmix64((uint64_t)T->sess[j].sid) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            T->sess[i] = T->sess[j];
            i = j;
        }
    }
    memset(&T->sess[i], 0, sizeof(SessEnt));
    T->sess_used--;
}

/* Patches a link of an ephemeral-type node in place (which: 0 prev, 1 next). */
static void patch_link(Tree *T, uint32_t id, int which, uint32_t v)
{
    Rec r;
    uint8_t *p = node_mut(T, id);
    rec_decode(p, &r);
    wr32(p + r.eph_off + 8 + 4 * which, v);
}

/* The list head/tail/count for an owner, creating a session entry if asked. */
static NList *owner_list(Tree *T, int64_t owner, NList *tmp, int create)
{
    switch (owner_kind(owner)) {
    case K_CONTAINER:
        return &T->cont;
    case K_TTL:
        return &T->ttl;
    case K_SESSION: {
        SessEnt *s = create ? sess_get(T, owner) : sess_find(T, owner);
        if (!s)
            return NULL;
        tmp->head = s->head;
        tmp->tail = s->tail;
        tmp->count = s->count;
        return tmp;
    }
    default:
        return NULL;
    }
}
static void owner_list_save(Tree *T, int64_t owner, const NList *L)
{
    if (owner_kind(owner) != K_SESSION)
        return;
    SessEnt *s = sess_find(T, owner);
    if (!L->count) {
        sess_del(T, owner);
        return;
    }
    s->head = L->head;
    s->tail = L->tail;
    s->count = L->count;
}

/* Links id (whose record already has eprev = current tail, enext = 0). */
static void list_link(Tree *T, int64_t owner, uint32_t id)
{
    NList tmp, *L = owner_list(T, owner, &tmp, 1);
    if (L->tail)
        patch_link(T, L->tail, 1, id);
    else
        L->head = id;
    L->tail = id;
    L->count++;
    owner_list_save(T, owner, L);
}

static void list_unlink(Tree *T, int64_t owner, uint32_t id, uint32_t prev, uint32_t next)
{
    NList tmp, *L = owner_list(T, owner, &tmp, 0);
    if (prev)
        patch_link(T, prev, 1, next);
    else
        L->head = next;
    if (next)
        patch_link(T, next, 0, prev);
    else
        L->tail = prev;
    L->count--;
    (void)id;
    owner_list_save(T, owner, L);
}

static uint32_t list_tail(Tree *T, int64_t owner)
{
    NList tmp, *L = owner_list(T, owner, &tmp, 1);
    return L ? L->tail : 0;
}

/* ---- digest ---- */

static uint64_t rec_data_hash(const Rec *r)
{
    if (r->dlen < 0)
        return h64("", 0, S_NULL);
    if (r->dlen >= DHASH_MIN)
        return r->dhash;
    return h64(r->data, (size_t)r->dlen, S_DATA);
}

static uint64_t rec_stat_hash(const Rec *r)
{
    uint8_t b[60];
    put_le64(b, (uint64_t)r->czxid);
    put_le64(b + 8, (uint64_t)r->mzxid);
    put_le64(b + 16, (uint64_t)r->ctime);
    put_le64(b + 24, (uint64_t)r->mtime);
    put_le64(b + 32, (uint64_t)r->pzxid);
    put_le32(b + 40, (uint32_t)r->version);
    put_le32(b + 44, (uint32_t)r->cversion);
    put_le32(b + 48, (uint32_t)r->aversion);
    put_le64(b + 52, (uint64_t)r->owner);
    return h64(b, 60, S_STAT);
}

static uint64_t node_hash_parts(uint64_t hp, uint64_t hd, uint64_t hs, uint64_t ha)
{
    uint8_t b[32];
    put_le64(b, hp);
    put_le64(b + 8, hd);
    put_le64(b + 16, hs);
    put_le64(b + 24, ha);
    return h64(b, 32, S_NODE);
}

static uint64_t node_hash(const Tree *T, uint64_t hp, const Rec *r)
{
    return node_hash_parts(hp, rec_data_hash(r), rec_stat_hash(r), T->acl[r->acl].hash);
}

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
 * Public: sets and counters
 * ====================================================================== */

static void list_paths(const Tree *T, uint32_t head, TreePathFn fn, void *ctx)
{
    PathBuf b = {NULL, 0};
    for (uint32_t id = head; id;) {
        Rec r;
        rec_decode(node_ptr(T, id), &r);
        uint32_t next = r.enext;
        size_t len = node_path(T, id, &b);
        fn(ctx, b.p, len);
        id = next;
    }
    free(b.p);
}

void tree_session_ephemerals(const Tree *T, int64_t session, TreePathFn fn, void *ctx)
{
    if (owner_kind(session) != K_SESSION)
        return;
    const SessEnt *s = sess_find(T, session);
    if (s)
        list_paths(T, s->head, fn, ctx);
}

int64_t tree_session_ephemeral_count(const Tree *T, int64_t session)
{
    const SessEnt *s = owner_kind(session) == K_SESSION ? sess_find(T, session) : NULL;
    return s ? s->count : 0;
}

void tree_ephemeral_sessions(const Tree *T, TreeSessionFn fn, void *ctx)
{
    for (uint32_t i = 0; i < T->sess_cap; i++)
        if (T->sess[i].sid)
            fn(ctx, T->sess[i].sid, T->sess[i].count);
}

void tree_containers(const Tree *T, TreePathFn fn, void *ctx) { list_paths(T, T->cont.head, fn, ctx); }
void tree_ttl_nodes(const Tree *T, TreePathFn fn, void *ctx) { list_paths(T, T->ttl.head, fn, ctx); }

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
 * Public: walk, digest, verify
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

uint64_t tree_digest(const Tree *T) { return T->digest; }

typedef struct DigestCtx { const Tree *T; uint64_t sum; } DigestCtx;
static int digest_cb(void *vctx, const char *path, size_t len, const ZNode *n)
{
    DigestCtx *d = vctx;
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    d->sum += node_hash(d->T, h64(path, len, S_PATH), &r);
    return 0;
}

uint64_t tree_digest_recompute(const Tree *T)
{
    DigestCtx d = {T, 0};
    tree_walk(T, "/", 1, digest_cb, &d);
    return d.sum;
}

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
