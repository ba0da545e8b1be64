/*
 * src/backend/tree/tree_heap.c: the znode tree's private allocator.
 *
 * 1 MiB chunks of 4-byte units, one LIFO free list per size class
 * (4..4096 bytes), blobs above 4 KiB malloc'd; every blob is named by a
 * 32-bit handle (the handle layout and Heap are in tree_internal.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ======================================================================
 * Heap: handles, size classes, chunks
 * ====================================================================== */

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

uint32_t heap_alloc(Heap *H, size_t size)
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

void heap_free(Heap *H, uint32_t h, size_t size)
{
    if (IS_LARGE(h))
        large_release(H, h);
    else
        free_push(H, h, units_of(size ? size : 1) - 1);
}

void heap_destroy(Heap *H)
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
