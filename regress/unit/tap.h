/*
 * regress/unit/tap.h: a minimal TAP emitter for C unit tests (header only).
 *
 *   int main(void) { plan(2); ok(1 + 1 == 2, "adds"); is_int(f(), 3, "f"); return done_testing(); }
 *
 * Written here rather than taken from cmocka because each unit test is one
 * small binary run by prove, and TAP is all prove needs; no library to link.
 */
#ifndef CORRAL_TAP_H
#define CORRAL_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_planned = -1, tap_run = 0, tap_failed = 0;

static inline void plan(int n) { tap_planned = n; printf("1..%d\n", n); fflush(stdout); }

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
    tap_run++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_run, name);
    if (!cond)
        printf("#   Failed test '%s'\n#   at %s line %d.\n", name, file, line);
    fflush(stdout);
    return cond;
}
#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, name)
#define is_int(got, want, name) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!tap_ok(g_ == w_, __FILE__, __LINE__, name)) \
            printf("#          got: %lld\n#     expected: %lld\n", g_, w_); \
    } while (0)
#define is_str(got, want, name) do { \
        const char *g_ = (got), *w_ = (want); \
        int c_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_; \
        if (!tap_ok(c_, __FILE__, __LINE__, name)) \
            printf("#          got: '%s'\n#     expected: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)
#define diag(...) do { printf("# "); printf(__VA_ARGS__); printf("\n"); } while (0)

static inline int done_testing(void)
{
    if (tap_planned < 0)
        printf("1..%d\n", tap_run);
    else if (tap_planned != tap_run)
        printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
    fflush(stdout);
    return tap_failed ? 1 : (tap_planned >= 0 && tap_planned != tap_run) ? 255 : 0;
}

#endif
