/*
 * src/backend/tree/tree_hash.c: paths and the path hash table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ---- paths ---- */

void pb_reserve(PathBuf *b, size_t n)
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
size_t node_path(const Tree *T, uint32_t id, PathBuf *b)
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

void ht_init(HTab *t, uint32_t cap)
{
    t->cap = cap;                   /* a multiple of 8 (>= 64) */
    t->used = t->tombs = 0;
    t->g = xcalloc(cap / 8, sizeof(HGroup));
}
void ht_destroy(HTab *t)
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
void ht_put(HTab *t, uint64_t h, uint32_t id)
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

int ht_del_in(HTab *t, uint64_t h, uint32_t id)
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
void ht_migrate(Tree *T, uint32_t nids)
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
void ht_maintain(Tree *T)
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

uint32_t lookup_id(const Tree *T, const char *path, size_t len, uint64_t *hout)
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
