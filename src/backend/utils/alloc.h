/*
 * src/backend/utils/alloc.h: allocation helpers and the arena.
 *
 * xmalloc/xcalloc/xrealloc/xreallocarray/xstrdup abort on out-of-memory
 * with a log line: they never return NULL.  Callers therefore never check.
 * Modules get the same functions as corral_xmalloc... (corral/alloc.h).
 *
 * Arena: a bump allocator for objects sharing one lifetime (a decoded
 * request, a loop turn).  arena_reset() frees everything at once but keeps
 * the first block, so a steady-state request allocates nothing from malloc.
 */
#ifndef CORRAL_UTILS_ALLOC_H
#define CORRAL_UTILS_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);   /* aborts on overflow too */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
    ArenaBlock *head;      /* current block; older blocks chained behind it */
    size_t block_size;     /* size of ordinary blocks */
} Arena;

void arena_init(Arena *a, size_t block_size);
void *arena_alloc(Arena *a, size_t n);          /* 16-byte aligned, never NULL */
void *arena_zalloc(Arena *a, size_t n);
char *arena_strndup(Arena *a, const char *s, size_t n);
void arena_reset(Arena *a);                      /* keep one block */
void arena_free(Arena *a);                       /* keep nothing */

#endif
