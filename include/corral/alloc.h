/*
 * include/corral/alloc.h: the core's allocator, for modules.
 *
 * These never return NULL: on out-of-memory they log one FATAL line
 * ("[alloc] out of memory allocating N bytes") and abort the process, as the
 * core's own allocations do (a server that must not lose acknowledged
 * writes half-way has no sane way to go on without memory; recovery starts
 * from what storage made durable).  So a caller never checks the result.
 *
 * Memory comes from the C library's malloc: release it with free().  A
 * size of 0 is served as 1 byte, so the result is always a unique pointer.
 * Safe from any thread.  Included by corral/module.h.
 *
 * A module that must survive an allocation failure (a cache it can drop,
 * a request it can refuse) calls malloc itself and checks.
 */
#ifndef CORRAL_ALLOC_H
#define CORRAL_ALLOC_H

#include <stddef.h>

void *corral_xmalloc(size_t n) __attribute__((malloc, returns_nonnull));
/* Zeroed; aborts as well when nmemb * size overflows. */
void *corral_xcalloc(size_t nmemb, size_t size) __attribute__((malloc, returns_nonnull));
/* realloc(p, n): p may be NULL; the old block is released on success. */
void *corral_xrealloc(void *p, size_t n) __attribute__((returns_nonnull));
/* Room for nmemb elements of size bytes (not zeroed); aborts when the
 * product overflows, so `v = corral_xreallocarray(v, cap, sizeof *v)` is
 * safe with any cap. */
void *corral_xreallocarray(void *p, size_t nmemb, size_t size) __attribute__((returns_nonnull));
/* Copies of a NUL-terminated string (s must not be NULL), and of the
 * first n bytes of s followed by a NUL (s may hold NULs; n bytes are read). */
char *corral_xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *corral_xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));

#endif
