/*
 * src/backend/server/admission.c: degraded mode (memory budget, storage out
 * of space) and the per-session caps.  See admission.h.
 *
 * Why resident memory (and not the tree's own accounting): what ends a
 * server is the kernel's view of it (an OOM kill, a cgroup limit), and that
 * includes connection buffers, watch tables and allocator slack.  The
 * allocator keeps freed pages, so while the budget is exceeded
 * malloc_trim(0) hands them back before each new reading; otherwise a
 * server whose clients deleted data could stay degraded for ever.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral/log.h"
#include "corral/metrics.h"
#include "net/eventloop.h"
#include "server/admission.h"
#include "server/internal.h"
#include "server/replication.h"

#define MEMORY_SAMPLE_MS 100
/* Writes resume below this share of the budget, so a server at the limit
 * does not flap between refusing and taking writes on every sample. */
#define MEMORY_RESUME_PERCENT 95

static struct {
    const CoreConfig *cfg;
    unsigned reasons;
    char why_memory[160], why_disk[256];
    uint64_t memory_timer;
    int statm_fd;
    long page_size;
    int64_t rss_bytes;
    CorralMetric *m_throttled, *m_refused_writes;
} adm = {.statm_fd = -1};

static int64_t g_reasons(void *a) { return (int64_t)adm.reasons; }
static int64_t g_rss(void *a) { return adm.rss_bytes; }

/* ---- degraded mode -------------------------------------------------------- */

unsigned admission_reasons(void) { return adm.reasons; }

void admission_set(unsigned reason, const char *why)
{
    char *slot = reason == ADMISSION_MEMORY ? adm.why_memory : adm.why_disk;
    size_t slotlen = reason == ADMISSION_MEMORY ? sizeof adm.why_memory : sizeof adm.why_disk;
    if (why) {
        if (!(adm.reasons & reason))
            corral_log(CORRAL_LOG_WARN, "server", "refusing writes (NotReadOnly) until this clears: %s", why);
        adm.reasons |= reason;
        snprintf(slot, slotlen, "%s", why);
    } else if (adm.reasons & reason) {
        adm.reasons &= ~reason;
        corral_log(CORRAL_LOG_INFO, "server", "taking writes again: %s no longer holds (%s)",
                   reason == ADMISSION_MEMORY ? "the memory budget" : "storage out of space", slot);
        slot[0] = '\0';
    }
}

static int64_t read_rss(void)
{
    char buf[128];
    if (adm.statm_fd < 0)
        return -1;
    ssize_t r = pread(adm.statm_fd, buf, sizeof buf - 1, 0);
    if (r <= 0)
        return -1;
    buf[r] = '\0';
    long long size, resident;
    if (sscanf(buf, "%lld %lld", &size, &resident) != 2)
        return -1;
    return (int64_t)resident * adm.page_size;
}

static int64_t memory_sample(void *arg)
{
    int64_t budget = adm.cfg->max_memory_bytes;
    int64_t rss = read_rss();
    if (rss < 0)
        return MEMORY_SAMPLE_MS;
    if (rss > budget * MEMORY_RESUME_PERCENT / 100) {
        /* Give freed memory back before judging: deletes must be able to
         * bring the server under its budget again. */
        malloc_trim(0);
        rss = read_rss();
    }
    adm.rss_bytes = rss;
    if (rss > budget) {
        char why[160];
        snprintf(why, sizeof why, "resident memory %lld bytes is above server.max_memory_bytes (%lld)",
                 (long long)rss, (long long)budget);
        admission_set(ADMISSION_MEMORY, why);
    } else if (rss < budget * MEMORY_RESUME_PERCENT / 100) {
        admission_set(ADMISSION_MEMORY, NULL);
    }
    return MEMORY_SAMPLE_MS;
}

void admission_init(const CoreConfig *cfg)
{
    adm.cfg = cfg;
    adm.reasons = 0;
    adm.page_size = sysconf(_SC_PAGESIZE);
    adm.m_throttled = corral_metric_counter("throttled_requests",
                                            "Requests refused by a per-session cap (server.throttle_error)");
    adm.m_refused_writes = corral_metric_counter("writes_refused_degraded",
                                                 "Writes refused while over the memory budget or out of disk space");
    corral_metric_gauge_fn("write_admission", "Why writes are refused: 0 none, 1 memory, 2 disk, 3 both", g_reasons,
                           NULL);
    corral_metric_gauge_fn("resident_memory_bytes", "Resident memory as last sampled for server.max_memory_bytes",
                           g_rss, NULL);
    if (cfg->max_memory_bytes > 0) {
        adm.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        if (adm.statm_fd < 0)
            corral_log(CORRAL_LOG_WARN, "server", "cannot open /proc/self/statm (%s): server.max_memory_bytes is not "
                       "enforced", strerror(errno));
        else
            adm.memory_timer = el_add_timer(MEMORY_SAMPLE_MS, memory_sample, NULL);
    }
}

void admission_shutdown(void)
{
    if (adm.memory_timer)
        el_cancel_timer(adm.memory_timer);
    adm.memory_timer = 0;
    if (adm.statm_fd >= 0)
        close(adm.statm_fd);
    adm.statm_fd = -1;
}

/* ---- per request ---------------------------------------------------------- */

static int throttled(void)
{
    corral_metric_inc(adm.m_throttled);
    return adm.cfg->throttle_code;
}

/* A token bucket per connection holding at most one second of the rate.
 * A request is taken while the bucket is not empty and may leave it in debt,
 * so that a request larger than one second's worth still passes, once. */
static int over_rate(ClientConn *cc, size_t frame_len)
{
    int64_t rate = adm.cfg->max_session_bytes_per_second;
    int64_t now = el_now_ms();
    if (cc->rate_ms == 0) {
        cc->rate_ms = now;
        cc->rate_tokens = rate;
    }
    int64_t refill = (now - cc->rate_ms) * rate / 1000;
    if (refill > 0) {
        cc->rate_tokens = cc->rate_tokens + refill > rate ? rate : cc->rate_tokens + refill;
        cc->rate_ms = now;
    }
    if (cc->rate_tokens <= 0)
        return 1;
    cc->rate_tokens -= (int64_t)frame_len;
    return 0;
}

int admission_check_request(ClientConn *cc, int32_t op, size_t frame_len)
{
    /* What must never be refused (a session would die or could not end)
     * and what degraded mode refuses are columns of wire/zk_ops.def. */
    if (zk_op_has(op, ZK_OPF_NEVER_REFUSED))
        return 0;
    const CoreConfig *cfg = adm.cfg;
    if (cfg->max_outstanding_requests > 0 &&
        net_conn_unsent_replies(cc->conn) + replication_in_flight(cc) >= (size_t)cfg->max_outstanding_requests)
        return throttled();
    if (cfg->max_session_bytes_per_second > 0 && over_rate(cc, frame_len))
        return throttled();
    if (adm.reasons && zk_op_has(op, ZK_OPF_GROWS)) {
        /* What ZooKeeper's read-only server answers: every client knows
         * it (kazoo 2.8 does not know Throttled and drops its connection
         * thread on it), and it says what holds: reads only, for now. */
        corral_metric_inc(adm.m_refused_writes);
        return ZERR_NOTREADONLY;
    }
    return 0;
}

int admission_check_watch(int64_t session_id)
{
    int64_t cap = adm.cfg->max_watches_per_session;
    if (cap > 0 && watch_session_paths(srv.watches, (WatcherId)session_id) >= cap)
        return throttled();
    return 0;
}

int admission_check_ephemeral(int64_t session_id)
{
    int64_t cap = adm.cfg->max_ephemerals_per_session;
    if (cap > 0 && tree_session_ephemeral_count(srv.tree, session_id) >= cap)
        return throttled();
    return 0;
}
