/*
 * src/backend/zab/zab.c: the member's state machine (LOOKING, FOLLOWING,
 * LEADING, OBSERVING), timers, epochs and the status views.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral/metrics.h"
#include "net/eventloop.h"
#include "zab/zab_int.h"

Zab zab = {.peer_listen_fd = -1, .election_listen_fd = -1};

const EnsembleMember *zab_member(int64_t id)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (zab.cfg->members[i].id == id)
            return &zab.cfg->members[i];
    return NULL;
}

int zab_is_voter(int64_t id)
{
    const EnsembleMember *m = zab_member(id);
    return m && !m->observer;
}

const char *zab_host_of_self_peer(void) { return zab.me->peer.host; }
const char *zab_host_of_self_election(void) { return zab.me->election.host; }

void zab_persist_epochs(int64_t accepted, int64_t current)
{
    if (accepted == zab.accepted_epoch && current == zab.current_epoch)
        return;
    if (epochs_store(zab.cfg->data_dir, accepted, current) < 0) {
        corral_fatal("zab", "cannot write %s/zab_epochs; exiting", zab.cfg->data_dir);
    }
    zab.accepted_epoch = accepted;
    zab.current_epoch = current;
}

static const char *state_name(ZabState s)
{
    switch (s) {
    case ZAB_LEADING: return "leader";
    case ZAB_FOLLOWING: return "follower";
    case ZAB_OBSERVING: return "observer";
    default: return "looking";
    }
}

/* election_time (ZooKeeper's metric): from entering LOOKING to a role. */
static CorralMetric *m_election_time;
static int64_t looking_since = -1;

void zab_set_state(ZabState s, int64_t leader)
{
    ZabState old = zab.state;
    if (s == ZAB_LOOKING && old != ZAB_LOOKING)
        looking_since = el_now_ms();
    else if (s != ZAB_LOOKING && looking_since >= 0) {
        corral_metric_observe(m_election_time, (double)(el_now_ms() - looking_since));
        looking_since = -1;
    }
    if (old == ZAB_LEADING)
        leader_stop();
    else if (old == ZAB_FOLLOWING || old == ZAB_OBSERVING)
        learner_stop();
    zab.state = s;
    zab.leader_id = s == ZAB_LOOKING ? -1 : leader;
    zab.serving = 0;
    corral_log(CORRAL_LOG_INFO, "zab", "state %s -> %s%s", state_name(old), state_name(s),
               s == ZAB_FOLLOWING || s == ZAB_OBSERVING ? " (leader is the member with the id below)" : "");
    if (s == ZAB_FOLLOWING || s == ZAB_OBSERVING)
        corral_log(CORRAL_LOG_INFO, "zab", "leader: %lld", (long long)leader);
    zab_host_role_changed(old, s);
    if (s == ZAB_LEADING)
        leader_start();
    else if (s == ZAB_FOLLOWING || s == ZAB_OBSERVING)
        learner_start(leader);
    else
        election_start();
}

void zab_go_looking(const char *why)
{
    corral_log(CORRAL_LOG_WARN, "zab", "going back to LOOKING: %s", why);
    if (zab.state == ZAB_LOOKING)
        return;
    zab_set_state(ZAB_LOOKING, -1);
}

/* The failure detector's timeout: server.peer_timeout_ms, else
 * sync_limit * tick_ms capped at ZAB_DEFAULT_PEER_TIMEOUT_MS (see
 * doc/ensemble.md, "Failure detection": ZooKeeper waits the full
 * syncLimit; five ticks of 1 s or 2 s are far more than a heartbeat every
 * tenth of the timeout needs). */
int64_t zab_default_peer_timeout(const CoreConfig *cfg)
{
    if (cfg->peer_timeout_ms > 0)
        return cfg->peer_timeout_ms;
    int64_t t = cfg->sync_limit * cfg->tick_ms;
    return t < ZAB_DEFAULT_PEER_TIMEOUT_MS ? t : ZAB_DEFAULT_PEER_TIMEOUT_MS;
}

static void accept_peer(int fd, void *arg)
{
    if (zab.state == ZAB_LEADING)
        leader_peer_accept(fd);
    else
        close(fd);
}

/* True while the peers' silence must not be judged: this process itself
 * did not run for a while (SIGSTOP, a long loop turn, swapped out), so the
 * frames they sent meanwhile may still sit unread in the sockets.  The
 * next turns read them; one heartbeat later the check resumes. */
int zab_self_stalled(void) { return el_now_ms() < zab.grace_until; }

/* The liveness check: every check_ms (tens of ms), not every heartbeat, so
 * that a silent peer is noticed within a few ms of the timeout and the
 * members of an ensemble notice it at about the same moment. */
static int64_t zab_tick(void *arg)
{
    int64_t now = el_now_ms();
    int64_t gap = zab.last_check_ms ? now - zab.last_check_ms : 0;
    if (gap > zab.check_ms + zab.heartbeat_ms) {
        zab.grace_until = now + 2 * zab.heartbeat_ms;
        if (gap > zab.peer_timeout_ms / 2)   /* only the stalls that matter: no noise from busy turns */
            corral_log(CORRAL_LOG_WARN, "zab", "this process did not run for %lld ms (paused, or a long loop turn): "
                       "peers are not judged before they were heard again", (long long)gap);
    }
    zab.last_check_ms = now;
    if (zab.state == ZAB_LEADING)
        leader_tick();
    else if (zab.state == ZAB_FOLLOWING || zab.state == ZAB_OBSERVING)
        learner_tick();
    return zab.check_ms;
}

int zab_init(const CoreConfig *cfg, int64_t last_logged)
{
    static const double election_bounds[] = {10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000};
    m_election_time = corral_metric_histogram("election_time", "Time from LOOKING to leading or following, in ms",
                                              election_bounds,
                                              (int)(sizeof election_bounds / sizeof election_bounds[0]));
    looking_since = el_now_ms();   /* a member starts LOOKING */
    zab.my_id = cfg->server_id;
    if (zab_config_init(cfg) < 0)
        return -1;
    cfg = zab.cfg;
    if (zab.n_voters == 0) {
        corral_log(CORRAL_LOG_FATAL, "zab", "the ensemble has no participant (every member is an observer)");
        return -1;
    }
    if (epochs_load(cfg->data_dir, &zab.accepted_epoch, &zab.current_epoch) < 0) {
        corral_log(CORRAL_LOG_FATAL, "zab", "cannot read %s/zab_epochs", cfg->data_dir);
        return -1;
    }
    /* A recovered log may hold an epoch the file does not know (file lost):
     * never go below it. */
    if ((last_logged >> 32) > zab.current_epoch) {
        int64_t e = last_logged >> 32;
        zab_persist_epochs(e > zab.accepted_epoch ? e : zab.accepted_epoch, e);
    }
    hist_init(last_logged);
    zab.durable = last_logged;
    zab.commit = 0;
    zab.leader_id = -1;
    int64_t tick = cfg->tick_ms;
    zab.peer_timeout_ms = zab_default_peer_timeout(cfg);
    zab.init_timeout_ms = cfg->init_limit * tick;
    if (zab.init_timeout_ms < zab.peer_timeout_ms)
        zab.init_timeout_ms = zab.peer_timeout_ms;
    /* Ten heartbeats per timeout: one or two lost or late pings (a busy
     * loop turn, a retransmission) never look like a dead peer. */
    zab.heartbeat_ms = zab.peer_timeout_ms / 10;
    if (zab.heartbeat_ms < 5)
        zab.heartbeat_ms = 5;
    if (pc_auth_init(cfg) < 0)
        return -1;
    zab.check_ms = zab.heartbeat_ms / 2 < 25 ? zab.heartbeat_ms / 2 : 25;
    if (zab.check_ms < 2)
        zab.check_ms = 2;
    zab.peer_listen_fd = pc_listen(&zab.me->peer, accept_peer, NULL);
    if (zab.peer_listen_fd < 0)
        return -1;
    if (election_init() < 0)
        return -1;
    corral_log(CORRAL_LOG_INFO, "zab",
               "member %lld of %zu (%d voting, quorum %d)%s: peer %s:%d, election %s:%d, epochs %lld/%lld, "
               "last zxid 0x%llx, peer timeout %lld ms",
               (long long)zab.my_id, cfg->n_members, zab.n_voters, zab.quorum, zab.observer ? ", observer" : "",
               zab.me->peer.host, zab.me->peer.port, zab.me->election.host, zab.me->election.port,
               (long long)zab.accepted_epoch, (long long)zab.current_epoch, (unsigned long long)last_logged,
               (long long)zab.peer_timeout_ms);
    zab.state = ZAB_LOOKING;
    zab.tick_timer = el_add_timer(zab.check_ms, zab_tick, NULL);
    election_start();
    return 0;
}

void zab_shutdown(void)
{
    if (!zab.cfg)
        return;
    if (zab.state == ZAB_LEADING)
        leader_stop();
    else if (zab.state == ZAB_FOLLOWING || zab.state == ZAB_OBSERVING)
        learner_stop();
    election_shutdown();
    pc_unlisten(zab.peer_listen_fd);
    zab.peer_listen_fd = -1;
    pc_flush_all();
    hist_reset(0);
}

void zab_before_sleep(void)
{
    if (zab.state == ZAB_LEADING)
        leader_before_sleep();
    else if (zab.state == ZAB_FOLLOWING || zab.state == ZAB_OBSERVING)
        learner_before_sleep();
    pc_flush_all();
}

ZabState zab_state(void) { return zab.state; }
const char *zab_state_name(void) { return state_name(zab.state); }
int zab_serving(void) { return zab.serving; }
int zab_is_leader(void) { return zab.state == ZAB_LEADING; }
int64_t zab_leader_id(void) { return zab.leader_id; }
int64_t zab_epoch(void) { return zab.epoch; }
int64_t zab_commit_zxid(void) { return zab.commit; }
int64_t zab_last_logged(void) { return hist_last(); }

void zab_local_durable(int64_t zxid)
{
    if (zxid > hist_last())
        zxid = hist_last();
    if (zxid <= zab.durable)
        return;
    zab.durable = zxid;
    if (zab.state == ZAB_LEADING)
        leader_durable();
    else if (zab.state == ZAB_FOLLOWING || zab.state == ZAB_OBSERVING)
        learner_durable();
}

int zab_propose(int64_t zxid, const void *data, size_t len)
{
    if (zab.state != ZAB_LEADING)
        return -1;
    return leader_propose(zxid, data, len);
}

int zab_can_write(void) { return zab.state == ZAB_LEADING && zab.serving && leader_can_write(); }

int zab_sync(uint64_t token)
{
    if (!zab.serving)
        return -1;
    if (zab.state == ZAB_LEADING)
        return leader_sync(token);
    return learner_sync(token);
}

int zab_forward(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                size_t nids, const void *body, size_t len)
{
    if (!zab.serving || zab.state == ZAB_LEADING)
        return -1;
    return learner_forward(kind, session, cxid, type, timeout, ids, nids, body, len);
}
