/*
 * src/backend/tree/tree_acl.c: ACL interning and reference counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

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

TreeAclEntry *acl_list_copy(const TreeAclEntry *a, int n)
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

void acl_unref(Tree *T, uint32_t id)
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
