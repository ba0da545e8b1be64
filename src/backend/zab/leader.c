/*
 * src/backend/zab/leader.c: the leader side of discovery, synchronisation
 * and broadcast; heartbeats, sync rounds, the quorum commit point and the
 * in-place epoch rollover.  See README.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corral/metrics.h"
#include "net/eventloop.h"
#include "zab/zab_int.h"

/* L_SNAPWAIT: waiting for the snapshot being written (no proposals yet). */
enum { L_NEW = 0, L_INFO, L_EPOCH, L_SNAPWAIT, L_SYNC, L_ACTIVE, L_UPTODATE };
enum { LD_DISCOVERY = 0, LD_EPOCHACK, LD_SYNC, LD_ESTABLISHED };

#define ROLLOVER_START 0xFFFF0000LL
#define ROLLOVER_REFUSE 0xFFFFFC00LL

typedef struct Learner {
    PeerConn *pc;
    int64_t sid;
    int observer;
    int phase;
    int got_info, got_ackepoch, fresh_ack;
    int64_t accepted_epoch, current_epoch, last_zxid;
    int want_snap;
    int64_t acked;
    int64_t sync_zxid;
    int64_t pong_round;
    int64_t newepoch_acked;
    int64_t informed;     /* observer: last txn sent (proposal or INFORM) */
    struct Learner *next;
} Learner;

typedef struct PendingSync {
    uint64_t token;
    int64_t round;
    int64_t zxid;
    int64_t learner;      /* sid, or -1 for a local client */
} PendingSync;

static struct {
    Learner *list;
    int phase;
    int64_t new_epoch;
    int64_t started_ms;
    int64_t hist_end;
    int64_t ping_round;
    PendingSync *syncs;
    size_t nsyncs, capsyncs;
    int64_t rollover_epoch;
    int active;
    int64_t last_ping_ms;
    int64_t round_sent_ms[64];   /* when ping round r went out: [r % 64] */
    int64_t snap_zxid;           /* a SNAP being written: its zxid, else -1 */
} ld;

static int is_voter_learner(const Learner *l) { return !l->observer && zab_is_voter(l->sid); }

int zab_learner_count(void)
{
    int n = 0;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_info)
            n++;
    return n;
}

int zab_synced_count(void)
{
    int n = 0;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_ACTIVE && is_voter_learner(l))
            n++;
    return n;
}

int zab_synced_observers(void)
{
    int n = 0;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_ACTIVE && !is_voter_learner(l))
            n++;
    return n;
}

static void drop_learner(Learner *l)
{
    Learner **pp = &ld.list;
    while (*pp && *pp != l)
        pp = &(*pp)->next;
    if (*pp)
        *pp = l->next;
    if (l->pc) {
        l->pc->ctx = NULL;
        pc_close(l->pc);
    }
    free(l);
}

/* COMMIT(zxid), with the leader's tree digest at zxid when it still has
 * it: the learner checks its own against it once it applied that far. */
static void send_commit(Learner *l, int64_t zxid)
{
    uint64_t d;
    if (zab_host_digest_at(zxid, &d) < 0) {
        pc_send(l->pc, ZP_COMMIT, zxid, NULL, 0);
        return;
    }
    size_t off = pc_begin(l->pc, ZP_COMMIT, zxid);
    zab_encode_long(&l->pc->out, (int64_t)d);
    pc_end(l->pc, off);
}

static void send_leaderinfo(Learner *l)
{
    int64_t e = ld.phase == LD_ESTABLISHED ? zab.epoch : ld.new_epoch;
    pc_send(l->pc, ZP_LEADERINFO, e, NULL, 0);
    l->phase = L_EPOCH;
}

static void maybe_uptodate(Learner *l)
{
    if (ld.phase == LD_ESTABLISHED && l->phase == L_ACTIVE && zab.commit >= l->sync_zxid) {
        send_commit(l, zab.commit);
        pc_send(l->pc, ZP_UPTODATE, zab.commit, NULL, 0);
        l->phase = L_UPTODATE;
        corral_log(CORRAL_LOG_INFO, "zab", "%s %lld is up to date at 0x%llx", l->observer ? "observer" : "follower",
                   (long long)l->sid, (unsigned long long)zab.commit);
    }
}

static void send_proposals_after(Learner *l, int64_t from)
{
    for (size_t i = hist_after(from); i < hist_count(); i++) {
        const HistEntry *e = hist_at(i);
        pc_send(l->pc, ZP_PROPOSAL, e->zxid, e->data, e->len);
    }
}

/* Our last zxid in the epoch of f, when it is below f (else -1). */
static int64_t trunc_point(int64_t f)
{
    size_t k = hist_after(f);
    int64_t t = k > 0 ? hist_at(k - 1)->zxid : hist_base();
    if (k == 0 && hist_base() > f)
        return -1;
    if ((t >> 32) != (f >> 32) || t >= f)
        return -1;
    return t;
}

static void finish_sync(Learner *l, const char *how)
{
    int64_t e = ld.phase == LD_ESTABLISHED ? zab.epoch : ld.new_epoch;
    pc_send(l->pc, ZP_NEWLEADER, e << 32, NULL, 0);
    l->sync_zxid = hist_last();
    l->informed = hist_last();
    l->phase = L_SYNC;
    if (ld.phase == LD_ESTABLISHED)
        send_commit(l, zab.commit);
    corral_log(CORRAL_LOG_INFO, "zab", "syncing %s %lld (at 0x%llx) by %s to 0x%llx",
               l->observer ? "observer" : "follower", (long long)l->sid, (unsigned long long)l->last_zxid, how,
               (unsigned long long)l->sync_zxid);
}

/* A snapshot written for an earlier term may still be running when a
 * learner needs one: its zxid is used only if it is in our history (then
 * its state is a prefix of ours and the proposals after it are kept);
 * otherwise SNAP_AGAIN: a new one starts once it is done. */
#define SNAP_AGAIN (-2)

static void start_snapshot(void)
{
    int64_t z = zab_host_snapshot_start();
    ld.snap_zxid = hist_contains(z) ? z : SNAP_AGAIN;
}

void zab_snapshot_ready(int64_t zxid, WBuf *w)
{
    if (zab.state != ZAB_LEADING)
        return;   /* stepped down meanwhile */
    if (ld.snap_zxid == SNAP_AGAIN) {
        start_snapshot();
        return;
    }
    if (zxid != ld.snap_zxid)
        return;
    ld.snap_zxid = -1;
    int n = 0;
    for (Learner *l = ld.list; l; l = l->next)
        n += l->phase == L_SNAPWAIT;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase == L_SNAPWAIT) {
            if (--n > 0)   /* copies for all but the last one */
                pc_send(l->pc, ZP_SNAP, zxid, w->data + ZAB_FRAME_HEADROOM, w->len - ZAB_FRAME_HEADROOM);
            else
                pc_send_buf(l->pc, ZP_SNAP, zxid, w);
            send_proposals_after(l, zxid);
            finish_sync(l, "SNAP");
        }
}

/* DIFF, TRUNC or SNAP, the proposals, then NEWLEADER. */
static void sync_learner(Learner *l)
{
    int64_t f = l->last_zxid, last = hist_last(), t;
    const char *how;
    if (!l->want_snap && f == last) {
        how = "DIFF (nothing)";
        pc_send(l->pc, ZP_DIFF, last, NULL, 0);
    } else if (!l->want_snap && f < last && f >= hist_base() && hist_contains(f)) {
        how = "DIFF";
        pc_send(l->pc, ZP_DIFF, last, NULL, 0);
        send_proposals_after(l, f);
    } else if (!l->want_snap && (t = trunc_point(f)) >= 0) {
        /* The learner has txns of epoch E after our last txn of epoch E
         * (t): never committed (we would have them).  Its history up to t
         * is ours (both came from epoch E's leader, in order). */
        how = "TRUNC";
        pc_send(l->pc, ZP_TRUNC, t, NULL, 0);
        send_proposals_after(l, t);
    } else {
        /* Written off the loop (zab_snapshot_ready); the history after
         * its zxid is kept until then (leader_before_sleep). */
        if (ld.snap_zxid < 0 && ld.snap_zxid != SNAP_AGAIN)
            start_snapshot();
        l->phase = L_SNAPWAIT;
        corral_log(CORRAL_LOG_INFO, "zab", "%s %lld (at 0x%llx) needs a SNAP: writing the state at 0x%llx",
                   l->observer ? "observer" : "follower", (long long)l->sid, (unsigned long long)f,
                   (unsigned long long)ld.snap_zxid);
        return;
    }
    finish_sync(l, how);
}

static void establish(void)
{
    ld.phase = LD_ESTABLISHED;
    zab.epoch = ld.new_epoch;
    if (ld.hist_end > zab.commit)
        zab.commit = ld.hist_end;
    corral_log(CORRAL_LOG_INFO, "zab", "LEADING: epoch %lld established with %d of %d voting members synced",
               (long long)zab.epoch, zab_synced_count() + 1, zab.n_voters);
    zab_host_commit_point(zab.commit);
    zab.serving = 1;
    zab_host_start_epoch(zab.epoch, zab.cfg->zab_start_counter);
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_SYNC) {
            send_commit(l, zab.commit);
            maybe_uptodate(l);
        }
    zab_host_leader_ready();
}

static void check_established(void)
{
    if (ld.phase != LD_SYNC)
        return;
    int n = zab.durable >= ld.hist_end ? 1 : 0;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_ACTIVE && is_voter_learner(l))
            n++;
    if (n >= zab.quorum)
        establish();
}

static void check_epochack(void)
{
    if (ld.phase != LD_EPOCHACK)
        return;
    int n = 1;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_ackepoch && l->fresh_ack && is_voter_learner(l))
            n++;
    if (n < zab.quorum)
        return;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_ackepoch && is_voter_learner(l) &&
            (l->current_epoch > zab.current_epoch ||
             (l->current_epoch == zab.current_epoch && l->last_zxid > hist_last()))) {
            corral_log(CORRAL_LOG_WARN, "zab", "follower %lld is ahead of this leader (epoch %lld, zxid 0x%llx)",
                       (long long)l->sid, (long long)l->current_epoch, (unsigned long long)l->last_zxid);
            zab_go_looking("a follower has a newer history");
            return;
        }
    zab_persist_epochs(ld.new_epoch, ld.new_epoch);
    ld.phase = LD_SYNC;
    ld.hist_end = hist_last();
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_ackepoch)
            sync_learner(l);
    check_established();
}

static void check_discovery(void)
{
    if (ld.phase != LD_DISCOVERY)
        return;
    int n = 1;
    int64_t maxe = zab.accepted_epoch;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_info) {
            if (is_voter_learner(l))
                n++;
            if (l->accepted_epoch > maxe)
                maxe = l->accepted_epoch;
        }
    if (n < zab.quorum)
        return;
    ld.new_epoch = maxe + 1;
    zab_persist_epochs(ld.new_epoch, zab.current_epoch);
    ld.phase = LD_EPOCHACK;
    corral_log(CORRAL_LOG_INFO, "zab", "new epoch %lld proposed", (long long)ld.new_epoch);
    for (Learner *l = ld.list; l; l = l->next)
        if (l->got_info)
            send_leaderinfo(l);
    check_epochack();
}

/* Observers get committed txns only (INFORM: the txn and its commit in
 * one message), never proposals. */
static void inform(Learner *l)
{
    for (size_t i = hist_after(l->informed); i < hist_count(); i++) {
        const HistEntry *e = hist_at(i);
        if (e->zxid > zab.commit)
            break;
        pc_send(l->pc, ZP_INFORM, e->zxid, e->data, e->len);
        l->informed = e->zxid;
    }
}

/* The highest zxid that a quorum of qc's participants logged (this leader
 * counts when it is one of them); -1 without a quorum of synced ones. */
static int64_t quorum_point(const QuorumConfig *qc)
{
    int64_t vals[CORRAL_MAX_ENSEMBLE + 1];
    int n = 0;
    if (qc_is_voter(qc, zab.my_id))
        vals[n++] = zab.durable < hist_last() ? zab.durable : hist_last();
    for (Learner *l = ld.list; l && n <= CORRAL_MAX_ENSEMBLE; l = l->next)
        if (l->phase >= L_ACTIVE && !l->observer && qc_is_voter(qc, l->sid))
            vals[n++] = l->acked;
    int quorum = qc_voters(qc) / 2 + 1;
    if (n < quorum)
        return -1;
    /* The quorum-th largest. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (vals[j] > vals[i]) {
                int64_t t = vals[i];
                vals[i] = vals[j];
                vals[j] = t;
            }
    return vals[quorum - 1];
}

int zab_quorum_synced(const QuorumConfig *qc)
{
    return zab.state == ZAB_LEADING && ld.phase == LD_ESTABLISHED && quorum_point(qc) >= 0;
}

static void recompute_commit(void)
{
    if (ld.phase != LD_ESTABLISHED)
        return;
    int64_t c = quorum_point(zab_config());
    /* A proposed configuration (reconfig.c): from its txn on, a quorum of
     * the new participants must have logged it too (QuorumVerifier sets). */
    int64_t pz = zab_config_pending_zxid();
    if (pz && c >= pz) {
        int64_t cn = quorum_point(zab_config_pending());
        if (cn < c)
            c = cn > pz - 1 ? cn : pz - 1;
    }
    if (c <= zab.commit)
        return;
    zab.commit = c;
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_SYNC) {
            if (l->observer)
                inform(l);
            else
                send_commit(l, c);
            maybe_uptodate(l);
        }
    zab_host_commit_point(c);
    zab_config_committed(c);
}

void leader_durable(void)
{
    if (ld.phase == LD_SYNC)
        check_established();
    else
        recompute_commit();
}

static void check_syncs(void)
{
    if (!ld.nsyncs)
        return;
    size_t k = 0;
    for (size_t i = 0; i < ld.nsyncs; i++) {
        PendingSync *s = &ld.syncs[i];
        int n = 1;
        for (Learner *l = ld.list; l; l = l->next)
            if (l->phase >= L_ACTIVE && is_voter_learner(l) && l->pong_round >= s->round)
                n++;
        if (n >= zab.quorum) {
            if (s->learner < 0) {
                zab_host_sync_done(s->token, s->zxid);
            } else {
                for (Learner *l = ld.list; l; l = l->next)
                    if (l->sid == s->learner && l->phase >= L_SYNC) {
                        size_t off = pc_begin(l->pc, ZP_SYNCDONE, s->zxid);
                        zab_encode_long(&l->pc->out, (int64_t)s->token);
                        pc_end(l->pc, off);
                    }
            }
        } else {
            ld.syncs[k++] = *s;
        }
    }
    ld.nsyncs = k;
}

static void send_pings(void)
{
    ld.ping_round++;
    ld.round_sent_ms[ld.ping_round % 64] = el_now_ms();
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_EPOCH) {
            size_t off = pc_begin(l->pc, ZP_PING, zab.commit);
            zab_encode_long(&l->pc->out, ld.ping_round);
            pc_end(l->pc, off);
        }
}

static void add_sync(uint64_t token, int64_t learner)
{
    if (ld.nsyncs == ld.capsyncs) {
        ld.capsyncs = ld.capsyncs ? ld.capsyncs * 2 : 16;
        ld.syncs = xrealloc(ld.syncs, ld.capsyncs * sizeof *ld.syncs);
    }
    /* Pings sent from now on carry round ping_round + 1. */
    ld.syncs[ld.nsyncs++] = (PendingSync){token, ld.ping_round + 1, zab.commit, learner};
}

static int sync_round_pending;

int leader_sync(uint64_t token)
{
    if (ld.phase != LD_ESTABLISHED)
        return -1;
    add_sync(token, -1);
    sync_round_pending = 1;
    return 0;
}

static void start_rollover(void)
{
    if (ld.rollover_epoch || ld.phase != LD_ESTABLISHED)
        return;
    ld.rollover_epoch = zab.epoch + 1;
    corral_log(CORRAL_LOG_INFO, "zab", "zxid counter near its end: moving to epoch %lld in place",
               (long long)ld.rollover_epoch);
    zab_persist_epochs(ld.rollover_epoch, zab.current_epoch);
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_SYNC)
            pc_send(l->pc, ZP_NEWEPOCH, ld.rollover_epoch, NULL, 0);
}

static void check_rollover(void)
{
    if (!ld.rollover_epoch)
        return;
    int n = 1;
    for (Learner *l = ld.list; l; l = l->next)
        if (is_voter_learner(l) && l->phase >= L_SYNC && l->newepoch_acked >= ld.rollover_epoch)
            n++;
    if (n < zab.quorum)
        return;
    int64_t e = ld.rollover_epoch;
    ld.rollover_epoch = 0;
    zab_persist_epochs(e, e);
    zab.epoch = e;
    corral_log(CORRAL_LOG_INFO, "zab", "LEADING: now in epoch %lld", (long long)e);
    zab_host_start_epoch(e, 0);
}

/* proposal_size (ZooKeeper's metric): bytes of each proposal. */
static CorralMetric *m_proposal_size;

int leader_propose(int64_t zxid, const void *data, size_t len)
{
    if (ld.phase != LD_ESTABLISHED)
        return -1;
    if (!m_proposal_size) {
        /* Created on the loop (main) thread on the first proposal; it
         * shows in mntr and /metrics from then on. */
        static const double b[] = {64, 128, 256, 512, 1024, 4096, 16384, 65536, 262144, 1048576};
        m_proposal_size = corral_metric_histogram("proposal_size", "Bytes of each proposal sent to followers", b,
                                                  (int)(sizeof b / sizeof b[0]));
    }
    corral_metric_observe(m_proposal_size, (double)len);
    if ((zxid >> 32) != zab.epoch) {
        corral_fatal("zab", "txn 0x%llx is not in the leader's epoch %lld; exiting",
                   (unsigned long long)zxid, (long long)zab.epoch);
    }
    hist_append(zxid, data, len);
    for (Learner *l = ld.list; l; l = l->next)
        if (l->phase >= L_SYNC && !l->observer)
            pc_send(l->pc, ZP_PROPOSAL, zxid, data, len);
    if ((zxid & 0xffffffffLL) >= ROLLOVER_START)
        start_rollover();
    return 0;
}

int leader_can_write(void)
{
    if (ld.phase != LD_ESTABLISHED)
        return 0;
    int64_t counter = hist_last() & 0xffffffffLL;
    return (hist_last() >> 32) != zab.epoch || counter < ROLLOVER_REFUSE;
}

static void learner_frame(PeerConn *pc, int type, int64_t zxid, RBuf *r)
{
    Learner *l = pc->ctx;
    if (!l)
        return;
    switch (type) {
    case ZP_FOLLOWERINFO: {
        ZabFollowerInfo fi;
        int bad = zab_decode_followerinfo(r, &fi) < 0;
        int64_t sid = fi.sid, acc = fi.accepted_epoch;
        int obs = fi.observer, want = fi.want_snap;
        /* A learner the configuration does not list (or lists in the other
         * role) is synchronised and served but never counts until a
         * configuration makes it a participant (reconfig). */
        if (bad || sid <= 0 || sid == zab.my_id) {
            corral_log(CORRAL_LOG_WARN, "zab", "%s: refusing learner id %lld", pc->desc, (long long)sid);
            drop_learner(l);
            return;
        }
        if (pc_authorize(pc, sid) < 0)
            return;   /* closed: learner_closed dropped it */
        for (Learner *o = ld.list; o; o = o->next)
            if (o != l && o->sid == sid) {
                drop_learner(o);
                break;
            }
        l->sid = sid;
        pc->peer_id = sid;
        l->observer = obs;
        l->accepted_epoch = acc;
        l->last_zxid = zxid;
        l->want_snap = want;
        l->got_info = 1;
        l->phase = L_INFO;
        if (ld.phase == LD_DISCOVERY)
            check_discovery();
        else
            send_leaderinfo(l);
        break;
    }
    case ZP_ACKEPOCH: {
        if (l->phase != L_EPOCH)
            break;
        ZabAckEpoch ae;
        zab_decode_ackepoch(r, &ae);   /* a short one counts as read (0s), as it always did */
        l->current_epoch = ae.current_epoch;
        l->fresh_ack = ae.fresh;
        l->last_zxid = zxid;
        l->got_ackepoch = 1;
        if (ld.phase == LD_EPOCHACK)
            check_epochack();
        else if (ld.phase >= LD_SYNC)
            sync_learner(l);
        break;
    }
    case ZP_ACKNEWLEADER:
        if (l->phase != L_SYNC)
            break;
        l->phase = L_ACTIVE;
        l->acked = l->sync_zxid;
        l->pong_round = ld.ping_round;
        if (ld.phase == LD_SYNC)
            check_established();
        else {
            maybe_uptodate(l);
            recompute_commit();
        }
        break;
    case ZP_ACK:
        if (l->phase >= L_ACTIVE && zxid > l->acked) {
            l->acked = zxid;
            recompute_commit();
        }
        break;
    case ZP_PONG: {
        if (zxid > l->pong_round)
            l->pong_round = zxid;
        ZabPongIter it;
        ZabTouch t;
        zab_pong_begin(&it, r);
        while (zab_pong_next(&it, &t))
            if (ld.phase == LD_ESTABLISHED)
                zab_host_touch(t.session, t.remaining_ms);
        check_syncs();
        break;
    }
    case ZP_REQUEST: {
        if (ld.phase != LD_ESTABLISHED || l->phase < L_ACTIVE)
            break;
        ZabRequestMsg q;
        int bad = zab_decode_request(r, &q) < 0;
        if (!leader_can_write()) {
            /* q.h.session is 0 when the frame is too short to hold it. */
            pc_send(l->pc, ZP_REFUSED, q.h.session, NULL, 0);
            break;
        }
        if (bad)
            break;
        int32_t nids = q.nids;
        ZabAuth ids[nids ? nids : 1];
        char *strs[2 * (nids ? nids : 1)];
        for (int32_t i = 0; i < nids; i++) {
            strs[2 * i] = zk_bytes_strdup(q.scheme[i]);
            strs[2 * i + 1] = zk_bytes_strdup(q.id[i]);
            ids[i].scheme = strs[2 * i];
            ids[i].id = strs[2 * i + 1];
        }
        zab_host_forwarded(q.h.kind, q.h.session, q.h.cxid, q.h.op, q.h.timeout, ids, (size_t)nids,
                           (const uint8_t *)q.body.data, q.body.len > 0 ? (size_t)q.body.len : 0);
        for (int32_t i = 0; i < 2 * nids; i++)
            free(strs[i]);
        break;
    }
    case ZP_SYNC: {
        int64_t token;
        if (zab_decode_long(r, &token) < 0 || ld.phase != LD_ESTABLISHED)
            break;
        add_sync((uint64_t)token, l->sid);
        sync_round_pending = 1;
        break;
    }
    case ZP_ACKNEWEPOCH:
        if (zxid > l->newepoch_acked)
            l->newepoch_acked = zxid;
        check_rollover();
        break;
    default:
        break;
    }
}

static void learner_closed(PeerConn *pc)
{
    Learner *l = pc->ctx;
    if (!l)
        return;
    corral_log(CORRAL_LOG_INFO, "zab", "connection to learner %lld lost", (long long)l->sid);
    l->pc = NULL;
    drop_learner(l);
}

void leader_peer_accept(int fd)
{
    Learner *l = xcalloc(1, sizeof *l);
    l->sid = -1;
    l->pc = pc_wrap(fd, learner_frame, learner_closed, l);
    l->next = ld.list;
    ld.list = l;
}

void leader_start(void)
{
    free(ld.syncs);
    memset(&ld, 0, sizeof ld);
    ld.active = 1;
    ld.snap_zxid = -1;
    ld.phase = LD_DISCOVERY;
    ld.started_ms = el_now_ms();
    /* Our own logged proposals are part of the history we will commit:
     * apply them now (replies are held until the commit point anyway). */
    for (size_t i = hist_after(zab_host_applied()); i < hist_count(); i++) {
        const HistEntry *e = hist_at(i);
        zab_host_apply(e->zxid, e->data, e->len);
    }
    check_discovery();
}

void leader_stop(void)
{
    while (ld.list)
        drop_learner(ld.list);
    free(ld.syncs);
    memset(&ld, 0, sizeof ld);
    sync_round_pending = 0;
    zab_config_reset_pending();
}

/* The leader's quorum lease: a follower that answered ping round r heard
 * this leader after r was sent, so it will not give up on it (nor vote for
 * anyone else) before r's send time + the peer timeout.  While a quorum
 * answered a round sent less than (peer timeout - one heartbeat) ago, no
 * other leader can have been elected: expiring sessions is safe then, and
 * a paused or cut-off old leader never expires anything. */
int zab_leader_lease_ok(void)
{
    if (zab.state != ZAB_LEADING || ld.phase != LD_ESTABLISHED)
        return 0;
    int64_t rounds[CORRAL_MAX_ENSEMBLE + 1];
    int n = 0;
    rounds[n++] = ld.ping_round;
    for (Learner *l = ld.list; l && n <= CORRAL_MAX_ENSEMBLE; l = l->next)
        if (l->phase >= L_ACTIVE && is_voter_learner(l))
            rounds[n++] = l->pong_round;
    if (n < zab.quorum)
        return 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (rounds[j] > rounds[i]) {
                int64_t t = rounds[i];
                rounds[i] = rounds[j];
                rounds[j] = t;
            }
    int64_t r = rounds[zab.quorum - 1];
    if (r <= 0 || ld.ping_round - r >= 64)
        return 0;
    return el_now_ms() < ld.round_sent_ms[r % 64] + zab.peer_timeout_ms - zab.heartbeat_ms;
}

void leader_tick(void)
{
    int64_t now = el_now_ms();
    if (ld.phase != LD_ESTABLISHED) {
        if (now - ld.started_ms > zab.init_timeout_ms) {
            zab_go_looking("no quorum of followers within the initial limit");
            return;
        }
    }
    for (Learner *l = ld.list, *next; l && !zab_self_stalled(); l = next) {
        next = l->next;
        int64_t limit = l->phase >= L_ACTIVE ? zab.peer_timeout_ms : zab.init_timeout_ms;
        if (l->pc && now - l->pc->last_rx_ms > limit) {
            corral_log(CORRAL_LOG_WARN, "zab", "learner %lld silent for %lld ms: dropping it", (long long)l->sid,
                       (long long)(now - l->pc->last_rx_ms));
            drop_learner(l);
        }
    }
    if (ld.phase == LD_ESTABLISHED) {
        int n = 1;
        for (Learner *l = ld.list; l; l = l->next)
            if (l->phase >= L_ACTIVE && is_voter_learner(l))
                n++;
        if (n < zab.quorum) {
            zab_go_looking("lost the quorum of followers");
            return;
        }
        if (ld.rollover_epoch)
            for (Learner *l = ld.list; l; l = l->next)
                if (l->phase >= L_SYNC && l->newepoch_acked < ld.rollover_epoch)
                    pc_send(l->pc, ZP_NEWEPOCH, ld.rollover_epoch, NULL, 0);
    }
    if (now - ld.last_ping_ms >= zab.heartbeat_ms) {
        ld.last_ping_ms = now;
        send_pings();
        sync_round_pending = 0;
    }
}

void leader_before_sleep(void)
{
    if (sync_round_pending) {
        sync_round_pending = 0;
        send_pings();
    }
    if (ld.nsyncs && zab.quorum == 1)
        check_syncs();
    if (ld.phase == LD_ESTABLISHED)
        hist_trim(ld.snap_zxid >= 0 && ld.snap_zxid < zab.commit ? ld.snap_zxid : zab.commit);
}
