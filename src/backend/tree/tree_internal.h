/*
 * src/backend/tree/tree_internal.h: the znode tree's private declarations,
 * shared by the tree_*.c files (never included outside src/backend/tree).
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
#ifndef CORRAL_TREE_INTERNAL_H
#define CORRAL_TREE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tree/tree.h"

/*
 * Files:
 *   tree.c           lifetime (new, free, clone), reading, applying
 *                    transactions (create, delete, set_data, set_acl,
 *                    restore), counters, walk
 *   tree_heap.c      the private allocator
 *   tree_record.c    record encoding, node ids, storing a record
 *   tree_hash.c      paths and the path hash table
 *   tree_children.c  sorted children vectors and pages
 *   tree_acl.c       ACL interning
 *   tree_session.c   session, container and TTL lists
 *   tree_digest.c    the digest
 *   tree_verify.c    tree_verify
 */

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
static inline uint64_t h64(const void *data, size_t len, uint64_t seed)
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

/* Whether a blob of size a can be rewritten in place as size b. */
static inline int same_class(uint32_t h, size_t a, size_t b)
{
    if (IS_LARGE(h))
        return a == b;
    return b <= SMALL_MAX && units_of(a) == units_of(b);
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

/* ---- children (tree_children.c) ---- */

#define VEC(T, h) ((uint32_t *)hptr(&(T)->heap, (h)))

/* Directory of pages: u32 npages, u32 cap, then cap x {u32 handle, u32 count}. */
typedef struct DirEnt { uint32_t h, n; } DirEnt;
#define DIR_NP(T, d) (((uint32_t *)hptr(&(T)->heap, (d)))[0])
#define DIR_CAP(T, d) (((uint32_t *)hptr(&(T)->heap, (d)))[1])
#define DIR_ENT(T, d) ((DirEnt *)(((uint32_t *)hptr(&(T)->heap, (d))) + 2))
static inline size_t dir_bytes(uint32_t cap) { return 8 + (size_t)cap * 8; }

/* Iterates a node's children in order.  The tree must not change meanwhile. */
typedef struct KidIter { uint32_t kids, nkids, pi, i; int paged; } KidIter;

static inline void kid_iter_init(KidIter *it, const Rec *r)
{
    it->kids = r->kids;
    it->nkids = r->nkids;
    it->paged = r->paged;
    it->pi = it->i = 0;
}
static inline uint32_t kid_next(const Tree *T, KidIter *it)
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

/* ---- ACL table (tree_acl.c) ---- */

static inline int acl_live(const Tree *T, uint32_t id) { return id && id < T->acl_next && T->acl[id].live; }
static inline void acl_ref(Tree *T, uint32_t id) { T->acl[id].refs++; }

/* ======================================================================
 * Functions shared between the tree_*.c files.  Hidden: corrald exports its
 * symbols to modules (-rdynamic), these are not part of that interface.
 * ====================================================================== */

#pragma GCC visibility push(hidden)

/* tree_heap.c */
uint32_t heap_alloc(Heap *H, size_t size);
void heap_free(Heap *H, uint32_t h, size_t size);
void heap_destroy(Heap *H);

/* tree_record.c */
void rec_decode(const uint8_t *p, Rec *r);
void rec_set_data(Rec *r, const void *data, int32_t dlen);
uint32_t id_alloc(Tree *T);
void id_release(Tree *T, uint32_t id);
void node_store(Tree *T, uint32_t id, Rec *r);

/* tree_hash.c */
void pb_reserve(PathBuf *b, size_t n);
size_t node_path(const Tree *T, uint32_t id, PathBuf *b);
void ht_init(HTab *t, uint32_t cap);
void ht_destroy(HTab *t);
void ht_put(HTab *t, uint64_t h, uint32_t id);
int ht_del_in(HTab *t, uint64_t h, uint32_t id);
void ht_migrate(Tree *T, uint32_t nids);
void ht_maintain(Tree *T);
uint32_t lookup_id(const Tree *T, const char *path, size_t len, uint64_t *hout);

/* tree_children.c */
int name_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl);
uint32_t cap_for(uint32_t n);
void kids_insert(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl);
void kids_remove(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl);

/* tree_acl.c */
TreeAclEntry *acl_list_copy(const TreeAclEntry *a, int n);
void acl_unref(Tree *T, uint32_t id);

/* tree_session.c */
void list_link(Tree *T, int64_t owner, uint32_t id);
void list_unlink(Tree *T, int64_t owner, uint32_t id, uint32_t prev, uint32_t next);
uint32_t list_tail(Tree *T, int64_t owner);

/* tree_digest.c */
uint64_t node_hash(const Tree *T, uint64_t hp, const Rec *r);

#pragma GCC visibility pop

#endif /* CORRAL_TREE_INTERNAL_H */
