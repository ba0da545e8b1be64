/*
 * src/backend/server/quota.c: ZooKeeper's quota bookkeeping.
 *
 * `setquota` (a client-side command) creates /zookeeper/quota/P/zookeeper_limits
 * and /zookeeper/quota/P/zookeeper_stats; from then on every create, delete
 * and setData under P updates the stats node's data ("count=N,bytes=M")
 * in place, without a version change, exactly as ZooKeeper 3.8's DataTree
 * (updateCountBytes, updateQuotaForPath) does.  Quotas are not enforced
 * (3.8's default): the counts are informational.  Being derived inside
 * txn_apply, the counts are the same on every replica and after replay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"

#define QUOTA_ROOT "/zookeeper/quota"
#define LIMITS "zookeeper_limits"
#define STATS "zookeeper_stats"

static int64_t limit_nodes;   /* how many zookeeper_limits nodes exist */

static int ends_with(const char *p, size_t len, const char *suffix)
{
    size_t sl = strlen(suffix);
    return len > sl && p[len - sl - 1] == '/' && memcmp(p + len - sl, suffix, sl) == 0;
}

static int under_quota_root(const char *p, size_t len)
{
    size_t rl = sizeof QUOTA_ROOT - 1;
    return len > rl && memcmp(p, QUOTA_ROOT, rl) == 0 && p[rl] == '/';
}

/* The deepest ancestor-or-self of path that has a limits node; its length
 * in *qlen, or 0 when none (ZooKeeper ignores a quota on "/"). */
static size_t max_prefix_with_quota(const char *path, size_t len)
{
    if (limit_nodes <= 0 || under_quota_root(path, len))
        return 0;
    char buf[4096];
    size_t rl = sizeof QUOTA_ROOT - 1;
    for (size_t l = len; l > 1;) {
        if (rl + l + sizeof "/" LIMITS <= sizeof buf) {
            memcpy(buf, QUOTA_ROOT, rl);
            memcpy(buf + rl, path, l);
            memcpy(buf + rl + l, "/" LIMITS, sizeof "/" LIMITS - 1);
            if (tree_lookup(srv.tree, buf, rl + l + sizeof "/" LIMITS - 1))
                return l;
        }
        while (l > 1 && path[l - 1] != '/')
            l--;
        if (l > 1)
            l--;   /* drop the '/' */
    }
    return 0;
}

static void parse_stats(const char *d, int32_t dl, int64_t *count, int64_t *bytes)
{
    char tmp[256];
    size_t n = dl > 0 ? (size_t)dl : 0;
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    memcpy(tmp, d ? d : "", n);
    tmp[n] = '\0';
    *count = 0;
    *bytes = 0;
    for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(tok, "count") == 0)
            *count = strtoll(eq + 1, NULL, 10);
        else if (strcmp(tok, "bytes") == 0)
            *bytes = strtoll(eq + 1, NULL, 10);
    }
}

/* Rewrites the stats node's data in place (no version, no mzxid). */
static void set_stats(const char *stat_path, size_t sl, int64_t count, int64_t bytes)
{
    ZNode *n = tree_lookup(srv.tree, stat_path, sl);
    if (!n)
        return;
    char data[96];
    int dl = snprintf(data, sizeof data, "count=%lld,bytes=%lld", (long long)count, (long long)bytes);
    ZStatPersisted st;
    tree_stat_persisted(n, &st);
    tree_restore_node(srv.tree, stat_path, sl, data, dl, tree_node_acl(n), &st);
}

static void update_count_bytes(const char *prefix, size_t plen, int64_t dbytes, int64_t dcount)
{
    char sp[4096];
    size_t rl = sizeof QUOTA_ROOT - 1;
    if (rl + plen + sizeof "/" STATS > sizeof sp)
        return;
    memcpy(sp, QUOTA_ROOT, rl);
    memcpy(sp + rl, prefix, plen);
    memcpy(sp + rl + plen, "/" STATS, sizeof "/" STATS);
    size_t sl = rl + plen + sizeof "/" STATS - 1;
    ZNode *n = tree_lookup(srv.tree, sp, sl);
    if (!n)
        return;
    const char *d;
    int32_t dl;
    tree_data(n, &d, &dl);
    int64_t count, bytes;
    parse_stats(d, dl, &count, &bytes);
    set_stats(sp, sl, count + dcount, bytes + dbytes);
}

typedef struct SubtreeSum {
    int64_t count, bytes;
} SubtreeSum;

static int sum_node(void *ctx, const char *path, size_t len, const ZNode *n)
{
    SubtreeSum *s = ctx;
    const char *d;
    int32_t dl;
    tree_data(n, &d, &dl);
    s->count++;
    s->bytes += dl > 0 ? dl : 0;
    return 0;
}

/* A stats node was just created for quota path Q: fill it from the tree
 * (DataTree.updateQuotaForPath). */
static void init_stats(const char *stat_path, size_t sl)
{
    size_t rl = sizeof QUOTA_ROOT - 1;
    size_t qlen = sl - rl - (sizeof "/" STATS - 1);
    char q[4096];
    if (qlen == 0 || qlen >= sizeof q)
        return;
    memcpy(q, stat_path + rl, qlen);
    q[qlen] = '\0';
    SubtreeSum sum = {0, 0};
    tree_walk(srv.tree, q, qlen, sum_node, &sum);
    set_stats(stat_path, sl, sum.count, sum.bytes);
}

void quota_on_create(const char *path, size_t len, int32_t dlen)
{
    if (under_quota_root(path, len)) {
        if (ends_with(path, len, LIMITS))
            limit_nodes++;
        else if (ends_with(path, len, STATS))
            init_stats(path, len);
        return;
    }
    size_t q = max_prefix_with_quota(path, len);
    if (q)
        update_count_bytes(path, q, dlen > 0 ? dlen : 0, 1);
}

void quota_on_delete(const char *path, size_t len, int32_t old_dlen)
{
    if (under_quota_root(path, len)) {
        if (ends_with(path, len, LIMITS))
            limit_nodes--;
        return;
    }
    size_t q = max_prefix_with_quota(path, len);
    if (q)
        update_count_bytes(path, q, -(int64_t)(old_dlen > 0 ? old_dlen : 0), -1);
}

void quota_on_set_data(const char *path, size_t len, int32_t old_dlen, int32_t new_dlen)
{
    size_t q = max_prefix_with_quota(path, len);
    if (q)
        update_count_bytes(path, q, (int64_t)(new_dlen > 0 ? new_dlen : 0) - (old_dlen > 0 ? old_dlen : 0), 0);
}

typedef struct LimitPaths {
    char **v;
    size_t n;
} LimitPaths;

static int count_limits(void *ctx, const char *path, size_t len, const ZNode *n)
{
    LimitPaths *l = ctx;
    if (ends_with(path, len, LIMITS)) {
        limit_nodes++;
        l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = xstrndup(path, len);
    }
    return 0;
}

/* After a snapshot is loaded: the limits nodes, and every stats node
 * counted again from the tree, as ZooKeeper's DataTree.setupQuota does at
 * every load (a snapshot imported from ZooKeeper is fuzzy: the counts it
 * carries may be off by the changes made while it was written). */
void quota_rescan(void)
{
    limit_nodes = 0;
    LimitPaths l = {NULL, 0};
    tree_walk(srv.tree, QUOTA_ROOT, sizeof QUOTA_ROOT - 1, count_limits, &l);
    for (size_t i = 0; i < l.n; i++) {
        size_t len = strlen(l.v[i]) - strlen(LIMITS);
        char sp[4096];
        if (len + sizeof STATS <= sizeof sp) {
            memcpy(sp, l.v[i], len);
            memcpy(sp + len, STATS, sizeof STATS);
            init_stats(sp, len + sizeof STATS - 1);
        }
        free(l.v[i]);
    }
    free(l.v);
}
