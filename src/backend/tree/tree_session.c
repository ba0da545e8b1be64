/*
 * src/backend/tree/tree_session.c: session, container and TTL lists.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

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
void list_link(Tree *T, int64_t owner, uint32_t id)
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

void list_unlink(Tree *T, int64_t owner, uint32_t id, uint32_t prev, uint32_t next)
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

uint32_t list_tail(Tree *T, int64_t owner)
{
    NList tmp, *L = owner_list(T, owner, &tmp, 1);
    return L ? L->tail : 0;
}

/* ======================================================================
 * Public: sets
 * ====================================================================== */

static int visit_paths(const Tree *T, uint32_t head, TreePathVisitFn fn, void *ctx)
{
    PathBuf b = {NULL, 0};
    int stopped = 0;
    for (uint32_t id = head; id && !stopped;) {
        Rec r;
        rec_decode(node_ptr(T, id), &r);
        uint32_t next = r.enext;
        size_t len = node_path(T, id, &b);
        stopped = fn(ctx, b.p, len) != 0;
        id = next;
    }
    free(b.p);
    return stopped;
}

typedef struct PathFnCall {
    TreePathFn fn;
    void *ctx;
} PathFnCall;

static int call_path_fn(void *ctx, const char *path, size_t len)
{
    PathFnCall *c = ctx;
    c->fn(c->ctx, path, len);
    return 0;
}

static void list_paths(const Tree *T, uint32_t head, TreePathFn fn, void *ctx)
{
    PathFnCall c = {fn, ctx};
    visit_paths(T, head, call_path_fn, &c);
}

int tree_session_ephemerals_visit(const Tree *T, int64_t session, TreePathVisitFn fn, void *ctx)
{
    if (owner_kind(session) != K_SESSION)
        return 0;
    const SessEnt *s = sess_find(T, session);
    return s ? visit_paths(T, s->head, fn, ctx) : 0;
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
