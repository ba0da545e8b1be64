/*
 * src/backend/server/digest.c: the tree's digest at recent zxids.
 *
 * - A dense ring: the digest after every applied txn, the last DENSE of
 *   them.  The leader attaches the digest at the commit point to its
 *   COMMITs; learners compare after applying that far (ZooKeeper 3.6's
 *   digest check: `digest_mismatches_count`).
 * - A sparse log: the digest at every zxid whose counter is a multiple of
 *   DIGEST_LOG_INTERVAL, the last DIGEST_LOG_LIMIT of them (ZooKeeper's
 *   digest log, zookeeper.digest.log.interval / limit: 128 and 1024), so
 *   that `hash` on two busy members shows entries at the same zxids.
 */
#include <string.h>

#include "corral/log.h"
#include "corral/metrics.h"
#include "server/internal.h"

#define DENSE 4096
#define DIGEST_LOG_INTERVAL 128
#define DIGEST_LOG_LIMIT 1024

typedef struct DigestEntry {
    int64_t zxid;
    uint64_t digest;
} DigestEntry;

static struct {
    DigestEntry dense[DENSE];
    DigestEntry log[DIGEST_LOG_LIMIT];
    size_t nlog, loghead;        /* ring: oldest at loghead */
    CorralMetric *mismatches;
} dg;

void digest_register_metrics(void)
{
    dg.mismatches = corral_metric_counter("digest_mismatches_count",
                                          "Times this member's tree digest differed from the leader's at a zxid");
}

void digest_reset(void)
{
    CorralMetric *m = dg.mismatches;
    memset(&dg, 0, sizeof dg);
    dg.mismatches = m;
}

void digest_note(int64_t zxid, uint64_t digest)
{
    DigestEntry e = {zxid, digest};
    dg.dense[(uint64_t)zxid % DENSE] = e;
    if ((zxid & 0xffffffffLL) % DIGEST_LOG_INTERVAL != 0)
        return;
    if (dg.nlog && dg.log[(dg.loghead + dg.nlog - 1) % DIGEST_LOG_LIMIT].zxid >= zxid)
        return;   /* replayed */
    if (dg.nlog == DIGEST_LOG_LIMIT) {
        dg.log[dg.loghead] = e;
        dg.loghead = (dg.loghead + 1) % DIGEST_LOG_LIMIT;
    } else {
        dg.log[(dg.loghead + dg.nlog++) % DIGEST_LOG_LIMIT] = e;
    }
}

int digest_at(int64_t zxid, uint64_t *digest)
{
    const DigestEntry *e = &dg.dense[(uint64_t)zxid % DENSE];
    if (e->zxid != zxid || zxid == 0)
        return -1;
    *digest = e->digest;
    return 0;
}

void digest_check(int64_t zxid, uint64_t leader_digest)
{
    uint64_t ours;
    if (digest_at(zxid, &ours) < 0 || ours == leader_digest)
        return;
    corral_metric_inc(dg.mismatches);
    corral_log(CORRAL_LOG_ERROR, "digest",
               "Digest mismatch at zxid 0x%llx: this member's tree digest is %lld, the leader's %lld: this "
               "member's data differs from the leader's",
               (unsigned long long)zxid, (long long)(int64_t)ours, (long long)(int64_t)leader_digest);
    if (srv.cfg->digest_mismatch_exit)
        corral_fatal("digest", "server.digest_mismatch_exit is set: exiting after a digest mismatch at zxid 0x%llx",
                     (unsigned long long)zxid);
}

size_t corral_server_digest_log(int64_t *zxids, uint64_t *digests, size_t max)
{
    size_t n = dg.nlog < max ? dg.nlog : max;
    size_t skip = dg.nlog - n;   /* the newest max entries */
    for (size_t i = 0; i < n; i++) {
        const DigestEntry *e = &dg.log[(dg.loghead + skip + i) % DIGEST_LOG_LIMIT];
        zxids[i] = e->zxid;
        digests[i] = e->digest;
    }
    return n;
}
