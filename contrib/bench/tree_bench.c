/*
 * contrib/bench/tree_bench.c: memory and speed of the znode tree.
 *
 * Not part of `make check`.  Build and run from the top of the tree:
 *
 *   cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc/backend contrib/bench/tree_bench.c \
 *      src/backend/tree/*.c src/backend/utils/alloc.c src/backend/utils/log.c -o /tmp/tree_bench
 *   /tmp/tree_bench                   # 1,000,000 znodes /app/service-%d/node-%d, 32-byte data
 *   /tmp/tree_bench -n 5000000 -f 1000 -d 32 -r
 *   /tmp/tree_bench -n 1000000 -f 1000000   # one parent with a million children
 *
 * Options: -n znodes (default 1000000), -f children per service (1000),
 * -d data bytes (32), -r insert in random order (default: service by service),
 * -q quiet (one line).
 *
 * Memory per znode is measured three ways, all as a delta over the inserts
 * (the paths to insert are generated before the first measurement):
 * mallinfo2 (bytes in use from malloc, incl. mmapped blocks), RSS from
 * /proc/self/statm, and tree_memory_bytes (what the tree holds).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tree/tree.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t malloc_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}

typedef struct Paths { char *buf; uint32_t *off; long n; } Paths;

static const char *path_at(const Paths *p, long i, size_t *len)
{
    *len = p->off[i + 1] - p->off[i] - 1;
    return p->buf + p->off[i];
}

static int count_cb(void *ctx, const char *path, size_t len, const ZNode *n)
{
    (void)path;
    (void)len;
    (void)n;
    ++*(long *)ctx;
    return 0;
}

static void child_cb(void *ctx, const char *name, size_t len)
{
    (void)name;
    *(size_t *)ctx += len;
}

int main(int argc, char **argv)
{
    long n = 1000000, fanout = 1000;
    int dlen = 32, random_order = 0, quiet = 0, opt;
    while ((opt = getopt(argc, argv, "n:f:d:rq")) != -1) {
        switch (opt) {
        case 'n': n = atol(optarg); break;
        case 'f': fanout = atol(optarg); break;
        case 'd': dlen = atoi(optarg); break;
        case 'r': random_order = 1; break;
        case 'q': quiet = 1; break;
        default:
            fprintf(stderr, "usage: %s [-n znodes] [-f fanout] [-d databytes] [-r] [-q]\n", argv[0]);
            return 2;
        }
    }
    if (n < 1 || fanout < 1 || dlen < 0)
        return 2;
    long services = (n + fanout - 1) / fanout;

    /* Paths of the leaf znodes, in insert order, generated up front. */
    Paths P;
    P.n = n;
    P.off = malloc(((size_t)n + 1) * sizeof(uint32_t));
    P.buf = malloc((size_t)n * 40 + 64);
    long *order = malloc((size_t)n * sizeof(long));
    for (long i = 0; i < n; i++)
        order[i] = i;
    if (random_order)
        for (long i = n - 1; i > 0; i--) {
            long j = (long)(rnd() % (uint64_t)(i + 1)), x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
    size_t pos = 0;
    for (long i = 0; i < n; i++) {
        P.off[i] = (uint32_t)pos;
        long k = order[i];
        pos += (size_t)sprintf(P.buf + pos, "/app/service-%ld/node-%ld", k / fanout, k % fanout) + 1;
    }
    P.off[n] = (uint32_t)pos;
    free(order);
    char *data = malloc((size_t)dlen + 1);
    memset(data, 'x', (size_t)dlen);
    /* Lookup order: a random permutation of the same paths. */
    long *lk = malloc((size_t)n * sizeof(long));
    for (long i = 0; i < n; i++)
        lk[i] = (long)(rnd() % (uint64_t)n);

    malloc_trim(0);
    size_t m0 = malloc_in_use(), r0 = rss_bytes();
    Tree *t = tree_new();
    size_t tb0 = tree_memory_bytes(t);
    int64_t zxid = 0x100000000LL;
    int64_t base_nodes = tree_node_count(t);

    double t0 = now();
    tree_create(t, "/app", 4, "", 0, TREE_ACL_OPEN_UNSAFE, 0, -1, zxid++, 1700000000000LL, NULL);
    char sp[64];
    for (long s = 0; s < services; s++) {
        int l = sprintf(sp, "/app/service-%ld", s);
        tree_create(t, sp, (size_t)l, "", 0, TREE_ACL_OPEN_UNSAFE, 0, -1, zxid++, 1700000000000LL, NULL);
    }
    long fails = 0;
    for (long i = 0; i < n; i++) {
        size_t len;
        const char *p = path_at(&P, i, &len);
        /* what the request processor does: the parent's stored cversion + 1 */
        fails += tree_create(t, p, len, data, dlen, TREE_ACL_OPEN_UNSAFE, 0, -1, zxid++,
                             1700000000000LL + i / 1000, NULL) != 0;
    }
    double t1 = now();
    size_t m1 = malloc_in_use(), r1 = rss_bytes(), tb1 = tree_memory_bytes(t);
    long total = (long)(tree_node_count(t) - base_nodes);

    long found = 0;
    double t2 = now();
    for (long i = 0; i < n; i++) {
        size_t len;
        const char *p = path_at(&P, lk[i], &len);
        found += tree_lookup(t, p, len) != NULL;
    }
    double t3 = now();

    ZStat st;
    double t4 = now();
    for (long i = 0; i < n; i++) {
        size_t len;
        const char *p = path_at(&P, lk[i], &len);
        tree_stat(t, tree_lookup(t, p, len), &st);
    }
    double t5 = now();

    long walked = 0;
    double t6 = now();
    tree_walk(t, "/", 1, count_cb, &walked);
    double t7 = now();
    uint64_t d = tree_digest_recompute(t);
    double t8 = now();
    Tree *c = tree_clone(t);
    double t9 = now();
    int clone_ok = tree_digest(c) == tree_digest(t), digest_ok = d == tree_digest(t);
    tree_free(c);

    size_t names = 0;
    double t10 = now();
    const ZNode *svc = tree_lookup(t, "/app/service-0", 14);
    tree_children(t, svc, child_cb, &names);
    double t11 = now();

    double t12 = now();
    for (long i = 0; i < n; i++) {
        size_t len;
        const char *p = path_at(&P, i, &len);
        tree_set_data(t, p, len, data, dlen, 1, zxid++, 1700000001000LL, NULL);
    }
    double t13 = now();
    double t14 = now();
    long dfails = 0;
    for (long i = 0; i < n; i++) {
        size_t len;
        const char *p = path_at(&P, i, &len);
        dfails += tree_delete(t, p, len, zxid++) != 0;
    }
    double t15 = now();

    double per_m = (double)(m1 - m0) / (double)total, per_r = (double)(r1 - r0) / (double)total;
    double per_t = (double)(tb1 - tb0) / (double)total;
    if (quiet) {
        printf("n=%ld fanout=%ld data=%d%s: %.1f B/znode (malloc), %.1f (RSS), %.0f inserts/s, %.0f lookups/s\n",
               n, fanout, dlen, random_order ? " random" : "", per_m, per_r, (double)n / (t1 - t0),
               (double)n / (t3 - t2));
    } else {
        printf("znodes inserted      %ld leaves + %ld services + /app  (%ld failures)\n", n, services, fails);
        printf("paths                /app/service-%%d/node-%%d, fanout %ld, %s order, %d-byte data\n", fanout,
               random_order ? "random" : "service-by-service", dlen);
        printf("memory / znode       %.1f B (mallinfo2)   %.1f B (RSS)   %.1f B (tree_memory_bytes)\n", per_m,
               per_r, per_t);
        printf("  payload / znode    %.1f B (name + data)\n",
               ((double)pos / (double)n - 1.0 - (double)strlen("/app/service-0/")) + dlen);
        printf("inserts              %.2f s   %.0f /s\n", t1 - t0, (double)n / (t1 - t0));
        printf("lookups (random)     %.2f s   %.0f /s   (%ld found)\n", t3 - t2, (double)n / (t3 - t2), found);
        printf("lookup+stat          %.2f s   %.0f /s\n", t5 - t4, (double)n / (t5 - t4));
        printf("walk (pre-order)     %.3f s   %.0f nodes/s\n", t7 - t6, (double)walked / (t7 - t6));
        printf("digest recompute     %.3f s   (matches incremental: %s)\n", t8 - t7,
               digest_ok ? "yes" : "NO");
        printf("clone                %.3f s   (%s)\n", t9 - t8, clone_ok ? "equal" : "NOT EQUAL");
        printf("getChildren(service) %.6f s   (%zu name bytes)\n", t11 - t10, names);
        printf("set_data             %.2f s   %.0f /s\n", t13 - t12, (double)n / (t13 - t12));
        printf("deletes              %.2f s   %.0f /s   (%ld failures)\n", t15 - t14, (double)n / (t15 - t14),
               dfails);
    }
    tree_free(t);
    free(P.buf);
    free(P.off);
    free(lk);
    free(data);
    return fails || dfails || found != n;
}
