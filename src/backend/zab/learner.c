/*
 * src/backend/zab/learner.c: the follower/observer side: connecting to the
 * leader, discovery, synchronisation (DIFF/TRUNC/SNAP), logging proposals
 * in batches, ACKs, applying commits, pings, forwarding requests.
 */
#include <stdlib.h>
#include <string.h>

#include "net/eventloop.h"
#include "zab/zab_int.h"

enum { C_IDLE = 0, C_CONNECTING, C_INFO_SENT, C_EPOCH_ACKED, C_SYNCING, C_NEWLEADER, C_ACTIVE, C_UPTODATE };

static struct {
    PeerConn *pc;
    int64_t leader;
    int phase;
    int64_t new_epoch;
    int64_t need_durable;
    int newleader_pending;
    ZabTxn *batch;
    size_t nbatch, capbatch;
    int64_t acked_sent;
    int want_snap;
    int snap_storing;       /* the SNAP's state is being stored */
    int64_t started_ms, next_try;
} ln;

static void on_frame(PeerConn *pc, int type, int64_t zxid, RBuf *r);
static void on_closed(PeerConn *pc);

static void on_connected(PeerConn *pc)
{
    size_t off = pc_begin(pc, ZP_FOLLOWERINFO, hist_last());
    ZabFollowerInfo fi = {zab.my_id, zab.accepted_epoch, zab.observer, ln.want_snap};
    zab_encode_followerinfo(&pc->out, &fi);
    pc_end(pc, off);
    ln.phase = C_INFO_SENT;
}

static void try_connect(void)
{
    const EnsembleMember *m = zab_member(ln.leader);
    ln.next_try = el_now_ms() + 20;
    if (!m)
        return;
    ln.pc = pc_connect(zab_host_of_self_peer(), m->id, &m->peer, on_frame, on_closed, on_connected, NULL);
    if (ln.pc)
        ln.phase = C_CONNECTING;
}

static void flush_batch(void);

static void reset_conn(void)
{
    flush_batch();
    if (ln.pc)
        pc_close(ln.pc);
    ln.pc = NULL;
    ln.phase = C_IDLE;
    ln.nbatch = 0;
    ln.newleader_pending = 0;
    ln.acked_sent = 0;
    zab.serving = 0;
}

void learner_start(int64_t leader)
{
    reset_conn();
    ln.leader = leader;
    ln.started_ms = el_now_ms();
    ln.next_try = 0;
    try_connect();
}

void learner_stop(void) { reset_conn(); }

static void apply_committed(void)
{
    int64_t before = zab_host_applied();
    for (size_t i = hist_after(before); i < hist_count(); i++) {
        const HistEntry *e = hist_at(i);
        if (e->zxid > zab.commit)
            break;
        zab_host_apply(e->zxid, e->data, e->len);
    }
    int64_t after = zab_host_applied();
    if (after > before || ln.phase == C_UPTODATE)
        zab_host_commit_point(after);
}

static void send_ack_if_due(void)
{
    if (!ln.pc || zab.observer)
        return;
    if (ln.phase >= C_ACTIVE && zab.durable > ln.acked_sent) {
        ln.acked_sent = zab.durable;
        pc_send(ln.pc, ZP_ACK, zab.durable, NULL, 0);
    }
}

static void try_ack_newleader(void)
{
    if (!ln.newleader_pending || zab.durable < ln.need_durable || !ln.pc || ln.snap_storing)
        return;
    ln.newleader_pending = 0;
    pc_send(ln.pc, ZP_ACKNEWLEADER, ln.new_epoch << 32, NULL, 0);
    ln.phase = C_ACTIVE;
    ln.acked_sent = ln.need_durable;
    send_ack_if_due();
}

void zab_snapshot_stored(void)
{
    ln.snap_storing = 0;
    try_ack_newleader();
}

void learner_durable(void)
{
    try_ack_newleader();
    send_ack_if_due();
}

static void restart_for_snap(void)
{
    corral_log(CORRAL_LOG_INFO, "zab", "cannot go back to the leader's TRUNC point: asking for a SNAP");
    ln.want_snap = 1;
    int64_t leader = ln.leader;
    reset_conn();
    ln.leader = leader;
    try_connect();
}

static void on_frame(PeerConn *pc, int type, int64_t zxid, RBuf *r)
{
    if (pc != ln.pc)
        return;
    switch (type) {
    case ZP_LEADERINFO:
        if (zxid < zab.accepted_epoch) {
            zab_go_looking("the leader's epoch is older than our accepted epoch");
            return;
        }
        {
            /* An epoch we had already accepted (from another leader that
             * proposed the same number) must not be acknowledged as a
             * vote for it a second time (ZAB 1.0, as ZooKeeper). */
            int fresh = zxid > zab.accepted_epoch;
            zab_persist_epochs(zxid, zab.current_epoch);
            ln.new_epoch = zxid;
            size_t off = pc_begin(pc, ZP_ACKEPOCH, hist_last());
            ZabAckEpoch ae = {zab.current_epoch, fresh};
            zab_encode_ackepoch(&pc->out, &ae);
            pc_end(pc, off);
        }
        ln.phase = C_EPOCH_ACKED;
        break;
    case ZP_DIFF:
        ln.phase = C_SYNCING;
        break;
    case ZP_TRUNC:
        ln.phase = C_SYNCING;
        flush_batch();
        if (zab_host_applied() > zxid) {
            /* We applied some of what goes: rebuild the state from the
             * truncated storage (or, failing that, ask for a SNAP). */
            if (zab_host_reload(zxid) < 0) {
                restart_for_snap();
                return;
            }
        } else if (zab_host_truncate(zxid) < 0) {
            restart_for_snap();
            return;
        }
        corral_log(CORRAL_LOG_INFO, "zab", "TRUNC: dropped every txn after 0x%llx", (unsigned long long)zxid);
        hist_truncate(zxid);
        if (zab.durable > zxid)
            zab.durable = zxid;
        break;
    case ZP_SNAP: {
        ln.phase = C_SYNCING;
        flush_batch();
        size_t len = rbuf_remaining(r);
        const uint8_t *data = rbuf_get_raw(r, len);
        int rc = zab_host_install_snapshot(zxid, data, len);
        if (rc < 0) {
            zab_go_looking("cannot install the leader's snapshot");
            return;
        }
        ln.snap_storing = rc == 1;
        hist_reset(zxid);
        zab.durable = zxid;
        ln.want_snap = 0;
        corral_log(CORRAL_LOG_INFO, "zab", "SNAP: state replaced by the leader's at 0x%llx", (unsigned long long)zxid);
        break;
    }
    case ZP_PROPOSAL: {
        if (zxid <= hist_last())
            break;
        size_t len = rbuf_remaining(r);
        const uint8_t *data = rbuf_get_raw(r, len);
        hist_append(zxid, data, len);
        if (ln.nbatch == ln.capbatch) {
            ln.capbatch = ln.capbatch ? ln.capbatch * 2 : 64;
            ln.batch = xrealloc(ln.batch, ln.capbatch * sizeof *ln.batch);
        }
        ln.batch[ln.nbatch++] = (ZabTxn){zxid, NULL, 0};
        break;
    }
    case ZP_INFORM: {
        /* Observer: a committed txn; log it, then apply it. */
        if (zxid > hist_last()) {
            size_t len = rbuf_remaining(r);
            const uint8_t *data = rbuf_get_raw(r, len);
            hist_append(zxid, data, len);
            if (ln.nbatch == ln.capbatch) {
                ln.capbatch = ln.capbatch ? ln.capbatch * 2 : 64;
                ln.batch = xrealloc(ln.batch, ln.capbatch * sizeof *ln.batch);
            }
            ln.batch[ln.nbatch++] = (ZabTxn){zxid, NULL, 0};
        }
        if (zxid > zab.commit)
            zab.commit = zxid;
        apply_committed();
        break;
    }
    case ZP_REFUSED:
        zab_host_refused(zxid);
        break;
    case ZP_NEWLEADER: {
        int64_t e = zxid >> 32;
        zab_persist_epochs(e > zab.accepted_epoch ? e : zab.accepted_epoch, e);
        ln.new_epoch = e;
        ln.need_durable = hist_last();
        ln.newleader_pending = 1;
        ln.phase = C_NEWLEADER;
        /* Acknowledged once everything received is durable (maybe at the
         * end of this turn, after the batch is logged). */
        break;
    }
    case ZP_COMMIT: {
        if (zxid > zab.commit)
            zab.commit = zxid;
        apply_committed();
        int64_t digest;
        if (rbuf_remaining(r) >= 8 && zab_decode_long(r, &digest) == 0 && zab_host_applied() >= zxid)
            zab_host_check_digest(zxid, (uint64_t)digest);
        break;
    }
    case ZP_UPTODATE:
        if (zxid > zab.commit)
            zab.commit = zxid;
        ln.phase = C_UPTODATE;
        zab.epoch = ln.new_epoch;
        apply_committed();
        zab_config_sync_tree();   /* the state is the committed one now */
        zab.serving = 1;
        zab_host_commit_point(zab_host_applied());
        corral_log(CORRAL_LOG_INFO, "zab", "%s: up to date with leader %lld at 0x%llx, serving",
                   zab.observer ? "OBSERVING" : "FOLLOWING", (long long)ln.leader,
                   (unsigned long long)zab_host_applied());
        break;
    case ZP_PING: {
        int64_t round;
        zab_decode_long(r, &round);   /* 0 when missing: answered all the same */
        size_t off = pc_begin(pc, ZP_PONG, round);
        size_t cnt_at = pc->out.len;
        wbuf_put_int(&pc->out, 0);
        int n = ln.phase == C_UPTODATE ? zab_host_collect_touches(&pc->out) : 0;
        wbuf_patch_int(&pc->out, cnt_at, n);
        pc_end(pc, off);
        break;
    }
    case ZP_SYNCDONE: {
        int64_t token;
        if (zab_decode_long(r, &token) == 0)
            zab_host_sync_done((uint64_t)token, zxid);
        break;
    }
    case ZP_NEWEPOCH:
        if (zxid > zab.current_epoch) {
            zab_persist_epochs(zxid > zab.accepted_epoch ? zxid : zab.accepted_epoch, zxid);
            ln.new_epoch = zxid;
        }
        pc_send(pc, ZP_ACKNEWEPOCH, zab.current_epoch, NULL, 0);
        break;
    default:
        break;
    }
}

static int64_t retry_timer(void *arg)
{
    if ((zab.state == ZAB_FOLLOWING || zab.state == ZAB_OBSERVING) && !ln.pc && el_now_ms() >= ln.next_try)
        try_connect();
    return -1;
}

static void on_closed(PeerConn *pc)
{
    if (pc != ln.pc)
        return;
    ln.pc = NULL;
    if (ln.phase >= C_EPOCH_ACKED) {
        zab_go_looking("connection to the leader lost");
        return;
    }
    /* Refused or closed before the leader knew it leads (it may decide a
     * moment after us): retry until the initial limit. */
    ln.phase = C_IDLE;
    ln.nbatch = 0;
    ln.next_try = el_now_ms() + 20;
    el_add_timer(20, retry_timer, NULL);
}

void learner_tick(void)
{
    int64_t now = el_now_ms();
    if (!ln.pc) {
        if (now - ln.started_ms > zab.init_timeout_ms) {
            zab_go_looking("cannot connect to the leader");
            return;
        }
        if (now >= ln.next_try)
            try_connect();
        return;
    }
    int64_t limit = ln.phase >= C_UPTODATE ? zab.peer_timeout_ms : zab.init_timeout_ms;
    if (now - ln.pc->last_rx_ms > limit && !zab_self_stalled()) {
        zab_go_looking("the leader is silent");
        return;
    }
    if (ln.phase < C_UPTODATE && now - ln.started_ms > 2 * zab.init_timeout_ms)
        zab_go_looking("synchronisation with the leader takes too long");
}

/* Hands the proposals received since the last call to storage, in one
 * append (group commit). */
static void flush_batch(void)
{
    if (ln.nbatch) {
        /* Resolve the batch against the history (stable this turn). */
        size_t first = hist_after(ln.batch[0].zxid - 1);
        size_t n = 0;
        for (size_t i = first; i < hist_count() && n < ln.nbatch; i++) {
            const HistEntry *e = hist_at(i);
            ln.batch[n++] = (ZabTxn){e->zxid, e->data, e->len};
        }
        ln.nbatch = 0;
        if (n && zab_host_log(ln.batch, n) < 0)
            zab_go_looking("cannot log proposals");
    }
}

void learner_before_sleep(void)
{
    flush_batch();
    try_ack_newleader();
    send_ack_if_due();
    if (ln.phase == C_UPTODATE)
        hist_trim(zab_host_applied());
}

int learner_sync(uint64_t token)
{
    if (!ln.pc || ln.phase != C_UPTODATE)
        return -1;
    size_t off = pc_begin(ln.pc, ZP_SYNC, 0);
    zab_encode_long(&ln.pc->out, (int64_t)token);
    pc_end(ln.pc, off);
    return 0;
}

int learner_forward(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                    size_t nids, const void *body, size_t len)
{
    if (!ln.pc || ln.phase != C_UPTODATE)
        return -1;
    PeerConn *pc = ln.pc;
    size_t off = pc_begin(pc, ZP_REQUEST, 0);
    ZabRequestHead h = {kind, session, cxid, type, timeout};
    zab_encode_request(&pc->out, &h, ids, nids, body, len);
    pc_end(pc, off);
    return 0;
}
