/*
 * src/backend/tree/tree_children.c: children: sorted vectors of ids and pages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ---- children ---- */

int name_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
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
uint32_t cap_for(uint32_t n)
{
    uint32_t c = 2;
    while (c < n)
        c = (c & (c >> 1)) ? c / 3 * 4 : c + c / 2;
    return c;
}

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

void kids_insert(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl)
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
void kids_remove(Tree *T, Rec *pr, uint32_t id, const uint8_t *name, size_t nl)
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
