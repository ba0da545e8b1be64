/*
 * src/backend/utils/alloc.c: aborting allocators and the arena.
 *
 * The aborting allocators are also the module API of corral/alloc.h: each
 * corral_x* name is an alias of the function below (one body, two names).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/alloc.h"
#include "corral/log.h"
#include "utils/alloc.h"

static void oom(size_t n)
{
    corral_log(CORRAL_LOG_FATAL, "alloc", "out of memory allocating %zu bytes", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        oom(nmemb * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size) {
        corral_log(CORRAL_LOG_FATAL, "alloc", "out of memory allocating %zu elements of %zu bytes", nmemb, size);
        abort();
    }
    return xrealloc(p, nmemb * size);
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* corral/alloc.h, for modules. */
void *corral_xmalloc(size_t n) __attribute__((alias("xmalloc")));
void *corral_xcalloc(size_t nmemb, size_t size) __attribute__((alias("xcalloc")));
void *corral_xrealloc(void *p, size_t n) __attribute__((alias("xrealloc")));
void *corral_xreallocarray(void *p, size_t nmemb, size_t size) __attribute__((alias("xreallocarray")));
char *corral_xstrdup(const char *s) __attribute__((alias("xstrdup")));
char *corral_xstrndup(const char *s, size_t n) __attribute__((alias("xstrndup")));

struct ArenaBlock {
    ArenaBlock *next;
    size_t size;   /* usable bytes in data[] */
    size_t used;
    _Alignas(16) unsigned char data[];
};

static ArenaBlock *block_new(size_t size)
{
    ArenaBlock *b = xmalloc(sizeof(ArenaBlock) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

void arena_init(Arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 8192;
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    ArenaBlock *b = a->head;
    if (!b || b->size - b->used < n) {
        /* Oversized requests get a block of their own behind the current
         * one, so the current block keeps serving small allocations. */
        if (n > a->block_size / 4 && b) {
            ArenaBlock *big = block_new(n);
            big->used = n;
            big->next = b->next;
            b->next = big;
            return big->data;
        }
        b = block_new(n > a->block_size ? n : a->block_size);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *arena_zalloc(Arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_reset(Arena *a)
{
    if (!a->head)
        return;
    /* Keep the most recently added ordinary-sized block, drop the rest. */
    ArenaBlock *keep = NULL, *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        if (!keep && b->size == a->block_size)
            keep = b;
        else
            free(b);
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
}

void arena_free(Arena *a)
{
    ArenaBlock *b = a->head;
    while (b) {
        ArenaBlock *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
