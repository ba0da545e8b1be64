/*
 * src/backend/zab/election.c: fast leader election (FastLeaderElection
 * simplified) over the members' `election` addresses.  See README.
 */
#include <string.h>

#include "net/eventloop.h"
#include "zab/zab_int.h"

/* As ZooKeeper's finalizeWait: a vote that has a quorum is decided only
 * when nothing better arrived for this long (restarted from each change of
 * our proposal), unless every participant that is not down already voted
 * for it (nobody_else). */
#define FINALIZE_WAIT_MS 200
#define RESEND_MS 250
#define RECONNECT_MS 200

typedef struct Notif {
    int valid;
    int state;
    Vote v;
    int64_t round;
    int observer;
    PeerConn *via;
} Notif;

typedef struct Out {
    PeerConn *pc;
    int64_t next_try;
} Out;

static struct {
    int64_t round;
    Vote proposal;          /* while LOOKING */
    Vote decided;           /* while not LOOKING */
    Notif rec[CORRAL_MAX_ENSEMBLE];
    Out out[CORRAL_MAX_ENSEMBLE];
    uint64_t timer, finalize_timer;
    Vote finalize_for;      /* the proposal finalize_timer is for */
    int64_t decided_round;
    int64_t last_send;
    int listen_fd;
} el = {.listen_fd = -1};

static int idx_of(int64_t id)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (zab.cfg->members[i].id == id)
            return (int)i;
    return -1;
}

static int better(Vote a, Vote b)
{
    if (a.epoch != b.epoch)
        return a.epoch > b.epoch;
    if (a.zxid != b.zxid)
        return a.zxid > b.zxid;
    return a.leader > b.leader;
}

static int vote_eq(Vote a, Vote b) { return a.leader == b.leader && a.zxid == b.zxid && a.epoch == b.epoch; }

static Vote self_vote(void)
{
    Vote v = {zab_votes() ? zab.my_id : -1, zab_last_logged(), zab.current_epoch};
    return v;
}

static void put_notification(PeerConn *pc)
{
    Vote v = zab.state == ZAB_LOOKING ? el.proposal : el.decided;
    size_t off = pc_begin(pc, ZP_NOTIFICATION, v.zxid);
    ZabNotification m = {(int32_t)zab.state, v.leader, el.round, v.epoch, zab.my_id, zab.observer};
    zab_encode_notification(&pc->out, &m);
    pc_end(pc, off);
}

static void send_to(int i)
{
    if (el.out[i].pc && !el.out[i].pc->closed)
        put_notification(el.out[i].pc);
}

static void broadcast(void)
{
    el.last_send = el_now_ms();
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (zab.cfg->members[i].id != zab.my_id)
            send_to((int)i);
}

void election_announce(void)
{
    if (zab.state != ZAB_LOOKING)
        el.decided.leader = zab.leader_id;
    broadcast();
}

static void decide(Vote v)
{
    if (el.finalize_timer) {
        el_cancel_timer(el.finalize_timer);
        el.finalize_timer = 0;
    }
    el.decided = v;
    el.decided_round = el.round;
    corral_log(CORRAL_LOG_INFO, "zab", "election round %lld: leader is %lld (epoch %lld, zxid 0x%llx)",
               (long long)el.round, (long long)v.leader, (long long)v.epoch, (unsigned long long)v.zxid);
    ZabState s = v.leader == zab.my_id ? ZAB_LEADING : zab.observer ? ZAB_OBSERVING : ZAB_FOLLOWING;
    zab_set_state(s, v.leader);
    broadcast();
}

/* Participants (us included) whose latest vote of this round is v. */
static int votes_for(Vote v)
{
    int n = zab_votes() ? 1 : 0;   /* our own vote is the proposal */
    for (size_t i = 0; i < zab.cfg->n_members; i++) {
        const EnsembleMember *m = &zab.cfg->members[i];
        if (m->id == zab.my_id || m->observer)
            continue;
        Notif *r = &el.rec[i];
        /* A member that already decided in this round still counts. */
        if (r->valid && !r->observer && r->round == el.round && vote_eq(r->v, v))
            n++;
    }
    return n;
}

static int quorum_for(Vote v) { return votes_for(v) >= zab.quorum; }

/* Every participant that could still vote otherwise has voted for v: the
 * others are down (our election connection to them is closed or was
 * refused: a killed member, one not started yet).  Then the finalize wait
 * has nothing to wait for. */
static int nobody_else(Vote v)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++) {
        const EnsembleMember *m = &zab.cfg->members[i];
        if (m->id == zab.my_id || m->observer)
            continue;
        const Notif *r = &el.rec[i];
        if (r->valid && !r->observer && r->round == el.round && vote_eq(r->v, v))
            continue;
        if (el.out[i].pc)
            return 0;
    }
    return 1;
}

static int64_t finalize(void *arg)
{
    el.finalize_timer = 0;
    if (zab.state == ZAB_LOOKING && quorum_for(el.proposal))
        decide(el.proposal);
    return -1;
}

static void check_quorum(void)
{
    if (!zab_votes())
        return;
    if (quorum_for(el.proposal) && nobody_else(el.proposal)) {
        decide(el.proposal);
    } else if (quorum_for(el.proposal)) {
        if (el.finalize_timer && !vote_eq(el.finalize_for, el.proposal)) {
            el_cancel_timer(el.finalize_timer);
            el.finalize_timer = 0;
        }
        if (!el.finalize_timer) {
            el.finalize_for = el.proposal;
            el.finalize_timer = el_add_timer(FINALIZE_WAIT_MS, finalize, NULL);
        }
    } else if (el.finalize_timer) {
        el_cancel_timer(el.finalize_timer);
        el.finalize_timer = 0;
    }
}

/* Join a running leader: a quorum of participants follow/lead it and it
 * says it leads. */
static void check_join(const Notif *n)
{
    int64_t x = n->v.leader;
    int xi = idx_of(x);
    if (xi < 0 || zab.cfg->members[xi].observer)
        return;
    if (x == zab.my_id)
        return;
    Notif *lr = &el.rec[xi];
    if (!lr->valid || lr->state != ZAB_LEADING || lr->v.leader != x)
        return;
    int cnt = 0;
    for (size_t i = 0; i < zab.cfg->n_members; i++) {
        const EnsembleMember *m = &zab.cfg->members[i];
        Notif *r = &el.rec[i];
        if (m->observer || m->id == zab.my_id || !r->valid)
            continue;
        if ((r->state == ZAB_FOLLOWING || r->state == ZAB_LEADING) && r->v.leader == x && r->v.epoch == lr->v.epoch)
            cnt++;
    }
    if (cnt >= zab.quorum) {
        el.round = lr->round > el.round ? lr->round : el.round;
        decide(lr->v);
    }
}

/* A learner whose leader says it is not leading for this decision (it
 * follows someone else, or it looks for a leader in a later round or for
 * another one) decided on a stale vote: the leader changed its mind within
 * the finalize wait, or stepped down.  Looking again at once joins the
 * real leader (check_join) instead of knocking at a closed door until the
 * initial limit runs out. */
/* Members (not us) that report following or leading `leader`. */
static int backers_of(int64_t leader)
{
    int cnt = 0;
    for (size_t i = 0; i < zab.cfg->n_members; i++) {
        const EnsembleMember *m = &zab.cfg->members[i];
        const Notif *r = &el.rec[i];
        if (m->observer || m->id == zab.my_id || !r->valid)
            continue;
        if ((r->state == ZAB_FOLLOWING || r->state == ZAB_LEADING) && r->v.leader == leader)
            cnt++;
    }
    return cnt;
}

/* The same for a leader that is not established yet: another member
 * leads with a better vote, or a quorum follows another leader.  It could
 * otherwise wait the whole initial limit for followers that went
 * elsewhere. */
static void check_rival_leader(int64_t sid, const Notif *n)
{
    if (zab.state != ZAB_LEADING || zab.serving || n->v.leader == zab.my_id)
        return;
    if (n->state != ZAB_LEADING && n->state != ZAB_FOLLOWING)
        return;
    if ((n->state == ZAB_LEADING && n->v.leader == sid && better(n->v, el.decided)) ||
        backers_of(n->v.leader) >= zab.quorum)
        zab_go_looking("another member leads (stale vote)");
}

static void check_stale_decision(int64_t sid, const Notif *n)
{
    check_rival_leader(sid, n);
    if ((zab.state != ZAB_FOLLOWING && zab.state != ZAB_OBSERVING) || sid != zab.leader_id)
        return;
    int stale = 0;
    if (n->state == ZAB_FOLLOWING || n->state == ZAB_OBSERVING)
        stale = 1;
    else if (n->state == ZAB_LOOKING)
        stale = n->v.leader != sid || n->round > el.decided_round;
    if (stale)
        zab_go_looking("the member we follow is not leading (stale vote)");
}

static void on_notification(PeerConn *pc, int type, int64_t zxid, RBuf *r)
{
    if (type != ZP_NOTIFICATION)
        return;
    ZabNotification m;
    if (zab_decode_notification(r, &m) < 0)
        return;
    Notif n = {1, m.state, {m.leader, zxid, m.epoch}, m.round, m.observer, pc};
    int64_t sid = m.sid;
    int i = idx_of(sid);
    if (zab_removed() || sid == zab.my_id)
        return;
    if (pc->peer_id != sid && pc_authorize(pc, sid) < 0)
        return;
    if (i < 0) {
        /* A member the configuration does not list yet (a joiner): tell
         * it who leads, on its own connection. */
        if (zab.state != ZAB_LOOKING && n.state == ZAB_LOOKING)
            put_notification(pc);
        return;
    }
    pc->peer_id = sid;
    el.rec[i] = n;
    if (zab.state != ZAB_LOOKING) {
        if (n.state == ZAB_LOOKING)
            send_to(i);
        check_stale_decision(sid, &n);
        return;
    }
    if (n.state == ZAB_LOOKING) {
        if (n.observer || zab.cfg->members[i].observer)
            return;
        if (!zab_votes())
            return;
        if (n.round > el.round) {
            el.round = n.round;
            Vote s = self_vote();
            el.proposal = better(n.v, s) ? n.v : s;
            broadcast();
        } else if (n.round < el.round) {
            send_to(i);
            return;
        } else if (better(n.v, el.proposal)) {
            el.proposal = n.v;
            broadcast();
        }
        check_quorum();
    } else {
        if (n.round == el.round && !n.observer && !zab.cfg->members[i].observer)
            check_quorum();
        if (zab.state == ZAB_LOOKING)
            check_join(&n);
    }
}

static void in_closed(PeerConn *pc)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (el.rec[i].via == pc)
            el.rec[i].valid = 0;
    if (zab.state == ZAB_LOOKING)
        check_quorum();
}

static void accept_election(int fd, void *arg) { pc_wrap(fd, on_notification, in_closed, NULL); }

static void out_closed(PeerConn *pc)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (el.out[i].pc == pc) {
            el.out[i].pc = NULL;
            el.out[i].next_try = el_now_ms() + RECONNECT_MS;
        }
    if (zab.state == ZAB_LOOKING)
        check_quorum();   /* one fewer member to wait for */
}

static void out_connected(PeerConn *pc)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (el.out[i].pc == pc)
            send_to((int)i);
}

/* Outgoing connections carry only our votes, except the answers of
 * members that do not know us (we are joining). */
static void out_frame(PeerConn *pc, int type, int64_t zxid, RBuf *r) { on_notification(pc, type, zxid, r); }

static int64_t election_timer(void *arg)
{
    int64_t now = el_now_ms();
    if (zab_removed())
        return 50;
    for (size_t i = 0; i < zab.cfg->n_members; i++) {
        const EnsembleMember *m = &zab.cfg->members[i];
        if (m->id == zab.my_id || el.out[i].pc || now < el.out[i].next_try)
            continue;
        el.out[i].pc = pc_connect(zab_host_of_self_election(), m->id, &m->election, out_frame, out_closed, out_connected,
                                  NULL);
        el.out[i].next_try = now + RECONNECT_MS;
        if (el.out[i].pc)
            put_notification(el.out[i].pc);
    }
    if (zab.state == ZAB_LOOKING && now - el.last_send >= RESEND_MS) {
        broadcast();
        check_quorum();
    }
    return 50;
}

int election_init(void)
{
    el.listen_fd = pc_listen(&zab.me->election, accept_election, NULL);
    if (el.listen_fd < 0)
        return -1;
    zab.election_listen_fd = el.listen_fd;
    el.timer = el_add_timer(0, election_timer, NULL);
    return 0;
}

void election_shutdown(void)
{
    pc_unlisten(el.listen_fd);
    el.listen_fd = -1;
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (el.out[i].pc) {
            pc_close(el.out[i].pc);
            el.out[i].pc = NULL;
        }
}

void election_start(void)
{
    if (zab_removed())
        return;
    /* What members reported before we started looking is stale (the
     * leader we followed may be gone): only answers to this round count. */
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (el.rec[i].state != ZAB_LOOKING)
            el.rec[i].valid = 0;
    el.round++;
    el.proposal = self_vote();
    if (el.finalize_timer) {
        el_cancel_timer(el.finalize_timer);
        el.finalize_timer = 0;
    }
    corral_log(CORRAL_LOG_INFO, "zab", "LOOKING: election round %lld, voting for %lld (epoch %lld, zxid 0x%llx)",
               (long long)el.round, (long long)el.proposal.leader, (long long)el.proposal.epoch,
               (unsigned long long)el.proposal.zxid);
    broadcast();
    /* Votes already received may settle it (or a leader may be running). */
    for (size_t i = 0; i < zab.cfg->n_members && zab.state == ZAB_LOOKING; i++) {
        Notif *r = &el.rec[i];
        if (!r->valid || zab.cfg->members[i].observer || r->observer)
            continue;
        if (r->state == ZAB_LOOKING && r->round == el.round && zab_votes() && better(r->v, el.proposal)) {
            el.proposal = r->v;
            broadcast();
        } else if (r->state != ZAB_LOOKING) {
            check_join(r);
        }
    }
    if (zab.state == ZAB_LOOKING)
        check_quorum();
}

/* Positions in el.rec/el.out follow zab.cfg->members, which a new
 * configuration rewrites: start over with the new members. */
void election_config_changed(void)
{
    for (size_t i = 0; i < CORRAL_MAX_ENSEMBLE; i++) {
        if (el.out[i].pc)
            pc_close(el.out[i].pc);
        el.out[i] = (Out){NULL, 0};
        el.rec[i].valid = 0;
    }
}
