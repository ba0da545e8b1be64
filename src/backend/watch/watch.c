/*
 * src/backend/watch/watch.c: the watch manager (see watch.h for the rules).
 *
 * Storage.  Three slabs of fixed-size records addressed by 32-bit index,
 * each with a free list:
 *   PathEnt  one per watched path: the interned string and the head/tail of
 *            the list of entries on that path;
 *   SessEnt  one per watching session: its id, its list of entries, and the
 *            generation stamp that dedupes deliveries within one trigger;
 *   WEnt     one per (path, session): both tables' modes, linked into the
 *            path's list and the session's list (doubly, so removal is O(1)).
 * Three open-addressing hash tables (linear probing, backward-shift
 * deletion, slots are uint32 indices) find a path by its bytes, a session by
 * its id, and an entry by (path index, session index).
 *
 * Paths are hashed with FNV-1a (finalised with a 64-bit mixer), which
 * streams: one pass over "/a/b/c" yields the hashes of "/", "/a" and
 * "/a/b" too, so the ancestor walk for recursive watches costs one pass and
 * one probe per ancestor.
 */
#include <stdlib.h>
#include <string.h>

#include "utils/alloc.h"
#include "watch/watch.h"

#define NIL UINT32_MAX

/* A mode within one table (WatcherMode, plus "not registered"). */
enum { M_NONE = 0, M_STD = 1, M_PERS = 2, M_REC = 3 };

typedef struct WEnt {
    uint32_t path, sess;        /* path == NIL: free slot */
    uint32_t pprev, pnext;      /* the path's list; pnext links the free list */
    uint32_t sprev, snext;      /* the session's list */
    uint8_t dmode, cmode;       /* data-table mode, child-table mode */
} WEnt;

typedef struct PathEnt {
    char *str;                  /* NUL-terminated; NULL: free slot */
    uint32_t len, hash;
    uint32_t head, tail;        /* entries; RECURSIVE data modes first; head links the free list */
    uint32_t nent, ndata, nchild, nrec;
} PathEnt;

typedef struct SessEnt {
    uint64_t id;
    uint64_t gen;               /* last trigger that told this session */
    uint32_t head;              /* entries; links the free list */
    uint32_t nent, ndata;
    uint8_t used, data_key;
} SessEnt;

typedef struct IdxTab {
    uint32_t *slot;             /* NULL while empty */
    uint32_t mask;              /* capacity - 1 */
    uint32_t count;
} IdxTab;

struct WatchManager {
    WEnt *ent;
    uint32_t ent_cap, ent_top, ent_free, ent_live;
    PathEnt *path;
    uint32_t path_cap, path_top, path_free, path_live;
    SessEnt *sess;
    uint32_t sess_cap, sess_top, sess_free, sess_live;
    IdxTab path_tab, sess_tab, pair_tab;
    uint64_t gen;
    int64_t ndata, nchild, nrec;    /* registrations per table; recursive ones */
    int64_t data_paths;             /* paths with ndata > 0 */
    int64_t data_keys;              /* sessions with data_key */
    size_t str_bytes;
    WatcherId *scratch;             /* reused by watch_trigger */
    size_t scratch_cap;
};

#define SCRATCH_KEEP 16384          /* larger trigger buffers are freed after use */

/* ---- hashing ------------------------------------------------------------ */

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t fnv_step(uint64_t h, unsigned char c) { return (h ^ c) * FNV_PRIME; }
static inline uint32_t fnv_final(uint64_t h) { return (uint32_t)fmix64(h); }

static uint32_t path_hash(const char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = fnv_step(h, (unsigned char)s[i]);
    return fnv_final(h);
}

static inline uint32_t sess_hash(uint64_t id) { return (uint32_t)fmix64(id); }
static inline uint32_t pair_hash(uint32_t p, uint32_t s)
{
    return (uint32_t)fmix64(((uint64_t)p << 32 | s) ^ 0x9e3779b97f4a7c15ULL);
}

/* ---- index hash tables -------------------------------------------------- */

typedef uint32_t (*HashOf)(const WatchManager *wm, uint32_t idx);

static uint32_t path_hash_of(const WatchManager *wm, uint32_t i) { return wm->path[i].hash; }
static uint32_t sess_hash_of(const WatchManager *wm, uint32_t i) { return sess_hash(wm->sess[i].id); }
static uint32_t pair_hash_of(const WatchManager *wm, uint32_t i) { return pair_hash(wm->ent[i].path, wm->ent[i].sess); }

static size_t tab_cap(const IdxTab *t) { return t->slot ? (size_t)t->mask + 1 : 0; }

static void tab_resize(const WatchManager *wm, IdxTab *t, size_t cap, HashOf hof)
{
    uint32_t *old = t->slot;
    size_t oldcap = tab_cap(t);
    t->slot = xmalloc(cap * sizeof *t->slot);
    memset(t->slot, 0xff, cap * sizeof *t->slot);
    t->mask = (uint32_t)(cap - 1);
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i] == NIL)
            continue;
        uint32_t j = hof(wm, old[i]) & t->mask;
        while (t->slot[j] != NIL)
            j = (j + 1) & t->mask;
        t->slot[j] = old[i];
    }
    free(old);
}

static void tab_insert(const WatchManager *wm, IdxTab *t, uint32_t idx, uint32_t h, HashOf hof)
{
    size_t cap = tab_cap(t);
    if ((size_t)(t->count + 1) * 4 > cap * 3)
        tab_resize(wm, t, cap ? cap * 2 : 16, hof);
    uint32_t j = h & t->mask;
    while (t->slot[j] != NIL)
        j = (j + 1) & t->mask;
    t->slot[j] = idx;
    t->count++;
}

/* Removes idx (which must be present; h is its hash). */
static void tab_delete(const WatchManager *wm, IdxTab *t, uint32_t idx, uint32_t h, HashOf hof)
{
    uint32_t mask = t->mask, i = h & mask;
    while (t->slot[i] != idx)
        i = (i + 1) & mask;
    /* Backward-shift deletion: pull later members of the cluster into the
     * hole unless their home slot lies cyclically in (hole, their slot]. */
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slot[j] == NIL)
            break;
        uint32_t k = hof(wm, t->slot[j]) & mask;
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        t->slot[i] = t->slot[j];
        i = j;
    }
    t->slot[i] = NIL;
    t->count--;
    size_t cap = tab_cap(t);
    if (t->count == 0) {
        free(t->slot);
        t->slot = NULL;
        t->mask = 0;
    } else if (cap > 16 && (size_t)t->count * 8 < cap) {
        tab_resize(wm, t, cap / 2, hof);
    }
}

static void tab_free(IdxTab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->mask = 0;
    t->count = 0;
}

/* ---- lookups ------------------------------------------------------------ */

static uint32_t path_find(const WatchManager *wm, const char *s, size_t len, uint32_t h)
{
    const IdxTab *t = &wm->path_tab;
    if (!t->slot)
        return NIL;
    for (uint32_t j = h & t->mask;; j = (j + 1) & t->mask) {
        uint32_t idx = t->slot[j];
        if (idx == NIL)
            return NIL;
        const PathEnt *p = &wm->path[idx];
        if (p->hash == h && p->len == len && memcmp(p->str, s, len) == 0)
            return idx;
    }
}

static uint32_t sess_find(const WatchManager *wm, uint64_t id)
{
    const IdxTab *t = &wm->sess_tab;
    if (!t->slot)
        return NIL;
    for (uint32_t j = sess_hash(id) & t->mask;; j = (j + 1) & t->mask) {
        uint32_t idx = t->slot[j];
        if (idx == NIL || wm->sess[idx].id == id)
            return idx;
    }
}

static uint32_t pair_find(const WatchManager *wm, uint32_t p, uint32_t s)
{
    const IdxTab *t = &wm->pair_tab;
    if (!t->slot)
        return NIL;
    for (uint32_t j = pair_hash(p, s) & t->mask;; j = (j + 1) & t->mask) {
        uint32_t idx = t->slot[j];
        if (idx == NIL || (wm->ent[idx].path == p && wm->ent[idx].sess == s))
            return idx;
    }
}

/* ---- slabs -------------------------------------------------------------- */

static uint32_t grow_cap(uint32_t cap)
{
    return cap < 16 ? 16 : cap + cap / 2;
}

static uint32_t path_create(WatchManager *wm, const char *s, size_t len, uint32_t h)
{
    uint32_t idx;
    if (wm->path_free != NIL) {
        idx = wm->path_free;
        wm->path_free = wm->path[idx].head;
    } else {
        if (wm->path_top == wm->path_cap) {
            wm->path_cap = grow_cap(wm->path_cap);
            wm->path = xrealloc(wm->path, (size_t)wm->path_cap * sizeof *wm->path);
        }
        idx = wm->path_top++;
    }
    PathEnt *p = &wm->path[idx];
    p->str = xstrndup(s, len);
    p->len = (uint32_t)len;
    p->hash = h;
    p->head = p->tail = NIL;
    p->nent = p->ndata = p->nchild = p->nrec = 0;
    wm->str_bytes += len + 1;
    wm->path_live++;
    tab_insert(wm, &wm->path_tab, idx, h, path_hash_of);
    return idx;
}

static void path_destroy(WatchManager *wm, uint32_t idx)
{
    PathEnt *p = &wm->path[idx];
    tab_delete(wm, &wm->path_tab, idx, p->hash, path_hash_of);
    wm->str_bytes -= (size_t)p->len + 1;
    free(p->str);
    p->str = NULL;
    if (--wm->path_live == 0) {
        free(wm->path);
        wm->path = NULL;
        wm->path_cap = wm->path_top = 0;
        wm->path_free = NIL;
        return;
    }
    p->head = wm->path_free;
    wm->path_free = idx;
}

static uint32_t sess_create(WatchManager *wm, uint64_t id)
{
    uint32_t idx;
    if (wm->sess_free != NIL) {
        idx = wm->sess_free;
        wm->sess_free = wm->sess[idx].head;
    } else {
        if (wm->sess_top == wm->sess_cap) {
            wm->sess_cap = grow_cap(wm->sess_cap);
            wm->sess = xrealloc(wm->sess, (size_t)wm->sess_cap * sizeof *wm->sess);
        }
        idx = wm->sess_top++;
    }
    SessEnt *s = &wm->sess[idx];
    s->id = id;
    s->gen = 0;
    s->head = NIL;
    s->nent = s->ndata = 0;
    s->used = 1;
    s->data_key = 0;
    wm->sess_live++;
    tab_insert(wm, &wm->sess_tab, idx, sess_hash(id), sess_hash_of);
    return idx;
}

static void sess_destroy(WatchManager *wm, uint32_t idx)
{
    SessEnt *s = &wm->sess[idx];
    tab_delete(wm, &wm->sess_tab, idx, sess_hash(s->id), sess_hash_of);
    if (s->data_key)
        wm->data_keys--;
    s->used = 0;
    s->data_key = 0;
    if (--wm->sess_live == 0) {
        free(wm->sess);
        wm->sess = NULL;
        wm->sess_cap = wm->sess_top = 0;
        wm->sess_free = NIL;
        return;
    }
    s->head = wm->sess_free;
    wm->sess_free = idx;
}

static void path_link(WatchManager *wm, uint32_t e, int at_head)
{
    WEnt *E = &wm->ent[e];
    PathEnt *P = &wm->path[E->path];
    if (at_head) {
        E->pprev = NIL;
        E->pnext = P->head;
        if (P->head != NIL)
            wm->ent[P->head].pprev = e;
        else
            P->tail = e;
        P->head = e;
    } else {
        E->pnext = NIL;
        E->pprev = P->tail;
        if (P->tail != NIL)
            wm->ent[P->tail].pnext = e;
        else
            P->head = e;
        P->tail = e;
    }
}

static void path_unlink(WatchManager *wm, uint32_t e)
{
    WEnt *E = &wm->ent[e];
    PathEnt *P = &wm->path[E->path];
    if (E->pprev != NIL)
        wm->ent[E->pprev].pnext = E->pnext;
    else
        P->head = E->pnext;
    if (E->pnext != NIL)
        wm->ent[E->pnext].pprev = E->pprev;
    else
        P->tail = E->pprev;
}

static uint32_t ent_create(WatchManager *wm, uint32_t p, uint32_t s)
{
    uint32_t e;
    if (wm->ent_free != NIL) {
        e = wm->ent_free;
        wm->ent_free = wm->ent[e].pnext;
    } else {
        if (wm->ent_top == wm->ent_cap) {
            wm->ent_cap = grow_cap(wm->ent_cap);
            wm->ent = xrealloc(wm->ent, (size_t)wm->ent_cap * sizeof *wm->ent);
        }
        e = wm->ent_top++;
    }
    WEnt *E = &wm->ent[e];
    E->path = p;
    E->sess = s;
    E->dmode = E->cmode = M_NONE;
    path_link(wm, e, 0);
    SessEnt *S = &wm->sess[s];
    E->sprev = NIL;
    E->snext = S->head;
    if (S->head != NIL)
        wm->ent[S->head].sprev = e;
    S->head = e;
    S->nent++;
    wm->path[p].nent++;
    wm->ent_live++;
    tab_insert(wm, &wm->pair_tab, e, pair_hash(p, s), pair_hash_of);
    return e;
}

/* Unlinks and frees an entry whose modes are both M_NONE; frees its path
 * and its session when they become empty. */
static void ent_destroy(WatchManager *wm, uint32_t e)
{
    WEnt *E = &wm->ent[e];
    uint32_t p = E->path, s = E->sess;
    tab_delete(wm, &wm->pair_tab, e, pair_hash(p, s), pair_hash_of);
    path_unlink(wm, e);
    SessEnt *S = &wm->sess[s];
    if (E->sprev != NIL)
        wm->ent[E->sprev].snext = E->snext;
    else
        S->head = E->snext;
    if (E->snext != NIL)
        wm->ent[E->snext].sprev = E->sprev;
    E->path = NIL;
    if (--wm->ent_live == 0) {
        free(wm->ent);
        wm->ent = NULL;
        wm->ent_cap = wm->ent_top = 0;
        wm->ent_free = NIL;
    } else {
        E->pnext = wm->ent_free;
        wm->ent_free = e;
    }
    if (--wm->path[p].nent == 0)
        path_destroy(wm, p);
    if (--S->nent == 0 && !S->data_key)
        sess_destroy(wm, s);
}

/* Sets both modes of entry e, keeping every counter and the RECURSIVE-first
 * order of the path's list; frees the entry if both become M_NONE. */
static void ent_set(WatchManager *wm, uint32_t e, uint8_t nd, uint8_t nc)
{
    WEnt *E = &wm->ent[e];
    PathEnt *P = &wm->path[E->path];
    SessEnt *S = &wm->sess[E->sess];
    uint8_t od = E->dmode, oc = E->cmode;

    if (od != nd) {
        if (od == M_NONE) {
            if (P->ndata++ == 0)
                wm->data_paths++;
            S->ndata++;
            wm->ndata++;
        } else if (nd == M_NONE) {
            if (--P->ndata == 0)
                wm->data_paths--;
            S->ndata--;
            wm->ndata--;
        }
        if (od == M_REC) {
            P->nrec--;
            wm->nrec--;
        } else if (nd == M_REC) {
            P->nrec++;
            wm->nrec++;
        }
        E->dmode = nd;
    }
    if (oc != nc) {
        if (oc == M_NONE) {
            P->nchild++;
            wm->nchild++;
        } else if (nc == M_NONE) {
            P->nchild--;
            wm->nchild--;
        }
        E->cmode = nc;
    }
    if (nd == M_NONE && nc == M_NONE) {
        ent_destroy(wm, e);
        return;
    }
    if ((od == M_REC) != (nd == M_REC)) {
        path_unlink(wm, e);
        path_link(wm, e, nd == M_REC);
    }
}

/* ---- public ------------------------------------------------------------- */

WatchManager *watch_new(void)
{
    WatchManager *wm = xcalloc(1, sizeof *wm);
    wm->ent_free = wm->path_free = wm->sess_free = NIL;
    return wm;
}

void watch_free(WatchManager *wm)
{
    if (!wm)
        return;
    for (uint32_t i = 0; i < wm->path_top; i++)
        free(wm->path[i].str);
    free(wm->path);
    free(wm->sess);
    free(wm->ent);
    tab_free(&wm->path_tab);
    tab_free(&wm->sess_tab);
    tab_free(&wm->pair_tab);
    free(wm->scratch);
    free(wm);
}

void watch_add(WatchManager *wm, const char *path, size_t len, WatcherId w, enum WatchKind kind)
{
    if (kind < WATCH_DATA || kind > WATCH_PERSISTENT_RECURSIVE || len >= UINT32_MAX)
        return;
    uint32_t h = path_hash(path, len);
    uint32_t p = path_find(wm, path, len, h);
    if (p == NIL)
        p = path_create(wm, path, len, h);
    uint32_t s = sess_find(wm, w);
    if (s == NIL)
        s = sess_create(wm, w);
    uint32_t e = pair_find(wm, p, s);
    if (e == NIL)
        e = ent_create(wm, p, s);

    uint8_t nd = wm->ent[e].dmode, nc = wm->ent[e].cmode;
    switch (kind) {
    case WATCH_DATA:                 nd = M_STD; break;
    case WATCH_CHILD:                nc = M_STD; break;
    case WATCH_PERSISTENT:           nd = nc = M_PERS; break;
    case WATCH_PERSISTENT_RECURSIVE: nd = M_REC; break;
    }
    if (kind != WATCH_CHILD && !wm->sess[s].data_key) {
        wm->sess[s].data_key = 1;
        wm->data_keys++;
    }
    ent_set(wm, e, nd, nc);
}

static void scratch_push(WatcherId **buf, size_t *n, size_t *cap, WatcherId id)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *buf = xrealloc(*buf, *cap * sizeof **buf);
    }
    (*buf)[(*n)++] = id;
}

/* Notes every session with a RECURSIVE data watch on the ancestor
 * path[0, alen) (hash h); those entries head the path's list. */
static void tell_recursive(WatchManager *wm, const char *path, size_t alen, uint32_t h, uint64_t gen,
                           WatcherId **buf, size_t *n, size_t *cap)
{
    uint32_t a = path_find(wm, path, alen, h);
    if (a == NIL || wm->path[a].nrec == 0)
        return;
    for (uint32_t e = wm->path[a].head; e != NIL && wm->ent[e].dmode == M_REC; e = wm->ent[e].pnext) {
        SessEnt *S = &wm->sess[wm->ent[e].sess];
        if (S->gen != gen) {
            S->gen = gen;
            scratch_push(buf, n, cap, S->id);
        }
    }
}

void watch_trigger(WatchManager *wm, const char *path, size_t len, int event_type,
                   WatchDeliverFn deliver, void *ctx)
{
    int data_ev, child_ev;
    switch (event_type) {
    case ZEV_NODE_CREATED:
    case ZEV_NODE_DATA_CHANGED:     data_ev = 1; child_ev = 0; break;
    case ZEV_NODE_DELETED:          data_ev = 1; child_ev = 1; break;
    case ZEV_NODE_CHILDREN_CHANGED: data_ev = 0; child_ev = 1; break;
    default: return;
    }
    if (len >= UINT32_MAX)
        return;

    uint64_t gen = ++wm->gen;
    /* Detach the scratch buffer so that deliver may re-enter. */
    WatcherId *buf = wm->scratch;
    size_t cap = wm->scratch_cap, n = 0;
    wm->scratch = NULL;
    wm->scratch_cap = 0;

    /* The path itself: data table for data events, child table for child
     * events; STANDARD halves are removed, the others stay. */
    uint32_t p = path_find(wm, path, len, path_hash(path, len));
    if (p != NIL) {
        uint32_t e = wm->path[p].head;
        while (e != NIL) {
            WEnt *E = &wm->ent[e];
            uint32_t next = E->pnext;
            uint8_t nd = E->dmode, nc = E->cmode;
            int fire = 0;
            if (data_ev && nd != M_NONE) {
                fire = 1;
                if (nd == M_STD)
                    nd = M_NONE;
            }
            if (child_ev && nc != M_NONE) {
                fire = 1;
                if (nc == M_STD)
                    nc = M_NONE;
            }
            if (fire) {
                SessEnt *S = &wm->sess[E->sess];
                if (S->gen != gen) {
                    S->gen = gen;
                    scratch_push(&buf, &n, &cap, S->id);
                }
                if (nd != E->dmode || nc != E->cmode)
                    ent_set(wm, e, nd, nc);     /* may free e, and p after the last */
            }
            e = next;
        }
    }

    /* Ancestors: RECURSIVE data entries, which head each path's list.  The
     * child table never holds recursive watches, so children-changed stops
     * here, as does everything while no recursive watch exists. */
    if (data_ev && wm->nrec > 0 && len > 1 && path[0] == '/') {
        uint64_t h = fnv_step(FNV_OFFSET, '/');     /* the state after "/" */
        tell_recursive(wm, path, 1, fnv_final(h), gen, &buf, &n, &cap);
        for (size_t i = 1; i < len; i++) {
            if (path[i] == '/' && i > 1)            /* h covers path[0, i) */
                tell_recursive(wm, path, i, fnv_final(h), gen, &buf, &n, &cap);
            h = fnv_step(h, (unsigned char)path[i]);
        }
    }

    for (size_t i = 0; i < n; i++)
        deliver(ctx, buf[i], event_type, path, len);

    if (wm->scratch == NULL && cap <= SCRATCH_KEEP) {
        wm->scratch = buf;
        wm->scratch_cap = cap;
    } else {
        free(buf);
    }
}

static uint32_t find_ent(const WatchManager *wm, const char *path, size_t len, WatcherId w)
{
    if (len >= UINT32_MAX)
        return NIL;
    uint32_t p = path_find(wm, path, len, path_hash(path, len));
    if (p == NIL)
        return NIL;
    uint32_t s = sess_find(wm, w);
    if (s == NIL)
        return NIL;
    return pair_find(wm, p, s);
}

int watch_remove(WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type)
{
    if (watcher_type < WATCHER_TYPE_CHILDREN || watcher_type > WATCHER_TYPE_ANY)
        return WATCH_BAD_TYPE;
    uint32_t e = find_ent(wm, path, len, w);
    if (e == NIL)
        return 0;
    uint8_t nd = wm->ent[e].dmode, nc = wm->ent[e].cmode;
    int removed = 0;
    if (watcher_type != WATCHER_TYPE_DATA && nc != M_NONE) {
        nc = M_NONE;
        removed = 1;
    }
    if (watcher_type != WATCHER_TYPE_CHILDREN && nd != M_NONE) {
        nd = M_NONE;
        removed = 1;
    }
    if (removed)
        ent_set(wm, e, nd, nc);
    return removed;
}

int watch_contains(const WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type)
{
    if (watcher_type < WATCHER_TYPE_CHILDREN || watcher_type > WATCHER_TYPE_ANY)
        return WATCH_BAD_TYPE;
    if (len >= UINT32_MAX)
        return 0;
    uint32_t p = path_find(wm, path, len, path_hash(path, len));
    if (p == NIL)
        return 0;
    const PathEnt *P = &wm->path[p];
    int child = P->nchild > 0, data = P->ndata > 0;
    switch (watcher_type) {
    case WATCHER_TYPE_CHILDREN: return child;
    case WATCHER_TYPE_DATA:     return data;
    default:                    return child || data;
    }
}

int watch_has(const WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type)
{
    if (watcher_type < WATCHER_TYPE_CHILDREN || watcher_type > WATCHER_TYPE_ANY)
        return WATCH_BAD_TYPE;
    uint32_t e = find_ent(wm, path, len, w);
    if (e == NIL)
        return 0;
    int child = wm->ent[e].cmode != M_NONE, data = wm->ent[e].dmode != M_NONE;
    switch (watcher_type) {
    case WATCHER_TYPE_CHILDREN: return child;
    case WATCHER_TYPE_DATA:     return data;
    default:                    return child || data;
    }
}

void watch_remove_watcher(WatchManager *wm, WatcherId w)
{
    uint32_t s = sess_find(wm, w);
    if (s == NIL)
        return;
    SessEnt *S = &wm->sess[s];
    if (S->data_key) {
        S->data_key = 0;
        wm->data_keys--;
    }
    if (S->head == NIL) {
        sess_destroy(wm, s);
        return;
    }
    /* The last ent_set frees the session (and S with it). */
    for (uint32_t e = S->head; e != NIL;) {
        uint32_t next = wm->ent[e].snext;
        ent_set(wm, e, M_NONE, M_NONE);
        e = next;
    }
}

int watch_set_one(WatchManager *wm, enum WatchSetList list, const char *path, size_t len,
                  WatcherId w, int64_t relative_zxid, int node_exists, int64_t mzxid, int64_t pzxid)
{
    switch (list) {
    case WATCH_SET_DATA:
        if (!node_exists)
            return ZEV_NODE_DELETED;
        if (mzxid > relative_zxid)
            return ZEV_NODE_DATA_CHANGED;
        watch_add(wm, path, len, w, WATCH_DATA);
        return ZEV_NONE;
    case WATCH_SET_EXIST:
        if (node_exists)
            return ZEV_NODE_CREATED;
        watch_add(wm, path, len, w, WATCH_DATA);
        return ZEV_NONE;
    case WATCH_SET_CHILD:
        if (!node_exists)
            return ZEV_NODE_DELETED;
        if (pzxid > relative_zxid)
            return ZEV_NODE_CHILDREN_CHANGED;
        watch_add(wm, path, len, w, WATCH_CHILD);
        return ZEV_NONE;
    case WATCH_SET_PERSISTENT:
        watch_add(wm, path, len, w, WATCH_PERSISTENT);
        return ZEV_NONE;
    case WATCH_SET_PERSISTENT_RECURSIVE:
        watch_add(wm, path, len, w, WATCH_PERSISTENT_RECURSIVE);
        return ZEV_NONE;
    }
    return ZEV_NONE;
}

int64_t watch_session_paths(const WatchManager *wm, WatcherId w)
{
    uint32_t s = sess_find(wm, w);
    return s == NIL ? 0 : wm->sess[s].nent;
}

int64_t watch_count(const WatchManager *wm) { return wm->ndata; }
int64_t watch_path_count(const WatchManager *wm) { return wm->data_paths; }
int64_t watch_watcher_count(const WatchManager *wm) { return wm->data_keys; }
int64_t watch_mntr_count(const WatchManager *wm) { return wm->ndata + wm->nchild; }
int64_t watch_recursive_count(const WatchManager *wm) { return wm->nrec; }

/* ---- reports ------------------------------------------------------------ */

static int cmp_path(const void *a, const void *b)
{
    const PathEnt *x = *(const PathEnt *const *)a, *y = *(const PathEnt *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static int cmp_id(const void *a, const void *b)
{
    WatcherId x = *(const WatcherId *)a, y = *(const WatcherId *)b;
    return (x > y) - (x < y);
}

static int cmp_sess(const void *a, const void *b)
{
    const SessEnt *x = *(const SessEnt *const *)a, *y = *(const SessEnt *const *)b;
    return (x->id > y->id) - (x->id < y->id);
}

int watch_report_by_session_ex(const WatchManager *wm, WatchSessionFn head, WatchReportFn fn, void *ctx)
{
    if (wm->data_keys == 0)
        return 0;
    const SessEnt **ss = xmalloc((size_t)wm->data_keys * sizeof *ss);
    size_t ns = 0;
    uint32_t maxn = 0;
    for (uint32_t i = 0; i < wm->sess_top; i++) {
        const SessEnt *S = &wm->sess[i];
        if (S->used && S->data_key) {
            ss[ns++] = S;
            if (S->ndata > maxn)
                maxn = S->ndata;
        }
    }
    qsort(ss, ns, sizeof *ss, cmp_sess);
    const PathEnt **ps = xmalloc(((size_t)maxn + 1) * sizeof *ps);
    int stopped = 0;
    for (size_t i = 0; i < ns && !stopped; i++) {
        const SessEnt *S = ss[i];
        size_t np = 0;
        for (uint32_t e = S->head; e != NIL; e = wm->ent[e].snext)
            if (wm->ent[e].dmode != M_NONE)
                ps[np++] = &wm->path[wm->ent[e].path];
        qsort(ps, np, sizeof *ps, cmp_path);
        if (head)
            head(ctx, S->id, (int64_t)np);
        if (fn)
            for (size_t j = 0; j < np && !stopped; j++)
                stopped = fn(ctx, S->id, ps[j]->str, ps[j]->len) != 0;
    }
    free(ps);
    free(ss);
    return stopped;
}

int watch_report_by_path_ex(const WatchManager *wm, WatchPathFn head, WatchReportFn fn, void *ctx)
{
    if (wm->data_paths == 0)
        return 0;
    const PathEnt **ps = xmalloc((size_t)wm->data_paths * sizeof *ps);
    size_t np = 0;
    uint32_t maxn = 0;
    for (uint32_t i = 0; i < wm->path_top; i++) {
        const PathEnt *P = &wm->path[i];
        if (P->str && P->ndata > 0) {
            ps[np++] = P;
            if (P->ndata > maxn)
                maxn = P->ndata;
        }
    }
    qsort(ps, np, sizeof *ps, cmp_path);
    WatcherId *ids = xmalloc(((size_t)maxn + 1) * sizeof *ids);
    int stopped = 0;
    for (size_t i = 0; i < np && !stopped; i++) {
        const PathEnt *P = ps[i];
        size_t n = 0;
        for (uint32_t e = P->head; e != NIL; e = wm->ent[e].pnext)
            if (wm->ent[e].dmode != M_NONE)
                ids[n++] = wm->sess[wm->ent[e].sess].id;
        qsort(ids, n, sizeof *ids, cmp_id);
        if (head)
            head(ctx, P->str, P->len, (int64_t)n);
        if (fn)
            for (size_t j = 0; j < n && !stopped; j++)
                stopped = fn(ctx, ids[j], P->str, P->len) != 0;
    }
    free(ids);
    free(ps);
    return stopped;
}

int watch_report_by_session(const WatchManager *wm, WatchReportFn fn, void *ctx)
{
    return watch_report_by_session_ex(wm, NULL, fn, ctx);
}

int watch_report_by_path(const WatchManager *wm, WatchReportFn fn, void *ctx)
{
    return watch_report_by_path_ex(wm, NULL, fn, ctx);
}

/* ---- introspection ------------------------------------------------------ */

size_t watch_memory(const WatchManager *wm, size_t *path_bytes)
{
    size_t pb = (size_t)wm->path_cap * sizeof(PathEnt) + wm->str_bytes
              + tab_cap(&wm->path_tab) * sizeof(uint32_t);
    if (path_bytes)
        *path_bytes = pb;
    return sizeof *wm + pb
         + (size_t)wm->ent_cap * sizeof(WEnt) + tab_cap(&wm->pair_tab) * sizeof(uint32_t)
         + (size_t)wm->sess_cap * sizeof(SessEnt) + tab_cap(&wm->sess_tab) * sizeof(uint32_t)
         + wm->scratch_cap * sizeof(WatcherId);
}

int watch_check(const WatchManager *wm)
{
    int bad = 0;
    int64_t ndata = 0, nchild = 0, nrec = 0, data_paths = 0, data_keys = 0;
    uint32_t ents = 0, paths = 0, sessions = 0;

    for (uint32_t p = 0; p < wm->path_top; p++) {
        const PathEnt *P = &wm->path[p];
        if (!P->str)
            continue;
        paths++;
        bad += path_find(wm, P->str, P->len, path_hash(P->str, P->len)) != p;
        bad += P->nent == 0;
        uint32_t n = 0, nd = 0, nc = 0, nr = 0, prev = NIL;
        int seen_nonrec = 0;
        for (uint32_t e = P->head; e != NIL; prev = e, e = wm->ent[e].pnext) {
            const WEnt *E = &wm->ent[e];
            n++;
            bad += E->path != p;
            bad += E->pprev != prev;
            bad += E->dmode > M_REC || E->cmode > M_PERS;
            bad += E->dmode == M_NONE && E->cmode == M_NONE;
            bad += E->sess >= wm->sess_top || !wm->sess[E->sess].used;
            bad += pair_find(wm, p, E->sess) != e;
            nd += E->dmode != M_NONE;
            nc += E->cmode != M_NONE;
            if (E->dmode == M_REC) {
                nr++;
                bad += seen_nonrec;
            } else {
                seen_nonrec = 1;
            }
            if (n > wm->ent_live)
                return bad + 1;     /* a cycle */
        }
        bad += P->tail != prev;
        bad += n != P->nent || nd != P->ndata || nc != P->nchild || nr != P->nrec;
        ents += n;
        ndata += nd;
        nchild += nc;
        nrec += nr;
        data_paths += nd > 0;
    }
    for (uint32_t s = 0; s < wm->sess_top; s++) {
        const SessEnt *S = &wm->sess[s];
        if (!S->used)
            continue;
        sessions++;
        bad += sess_find(wm, S->id) != s;
        bad += S->nent == 0 && !S->data_key;
        data_keys += S->data_key;
        uint32_t n = 0, nd = 0, prev = NIL;
        for (uint32_t e = S->head; e != NIL; prev = e, e = wm->ent[e].snext) {
            const WEnt *E = &wm->ent[e];
            n++;
            bad += E->sess != s || E->sprev != prev;
            nd += E->dmode != M_NONE;
            bad += E->dmode != M_NONE && !S->data_key;
            if (n > wm->ent_live)
                return bad + 1;
        }
        bad += n != S->nent || nd != S->ndata;
    }
    bad += ents != wm->ent_live || paths != wm->path_live || sessions != wm->sess_live;
    bad += wm->pair_tab.count != wm->ent_live || wm->path_tab.count != wm->path_live
        || wm->sess_tab.count != wm->sess_live;
    bad += ndata != wm->ndata || nchild != wm->nchild || nrec != wm->nrec;
    bad += data_paths != wm->data_paths || data_keys != wm->data_keys;
    return bad;
}
