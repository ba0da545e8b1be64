/*
 * src/backend/zab/zab_int.h: what the files of src/backend/zab/ share.
 * Not for use outside src/backend/zab/.
 */
#ifndef CORRAL_ZAB_INT_H
#define CORRAL_ZAB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "corral/log.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "zab/zab.h"
#include "zab/zab_msg.h"

/* ---- frame types -------------------------------------------------------- */
enum {
    /* election */
    ZP_NOTIFICATION = 1,
    /* peer protocol */
    ZP_FOLLOWERINFO = 11,
    ZP_LEADERINFO = 12,
    ZP_ACKEPOCH = 13,
    ZP_DIFF = 14,
    ZP_TRUNC = 15,
    ZP_SNAP = 16,
    ZP_NEWLEADER = 17,
    ZP_ACKNEWLEADER = 18,
    ZP_UPTODATE = 19,
    ZP_PROPOSAL = 20,
    ZP_ACK = 21,
    ZP_COMMIT = 22,
    ZP_PING = 23,
    ZP_PONG = 24,
    ZP_REQUEST = 25,
    ZP_SYNC = 26,
    ZP_SYNCDONE = 27,
    ZP_NEWEPOCH = 28,
    ZP_ACKNEWEPOCH = 29,
    ZP_INFORM = 30,      /* observer: a committed txn */
    ZP_REFUSED = 31,     /* a forwarded request the leader cannot take now */
    /* member authentication with ensemble_secret_file (peerconn.c) */
    ZP_AUTH_HELLO = 40,
    ZP_AUTH_PROOF = 41
};

/* ---- peer connections (peerconn.c) ------------------------------------- */
typedef struct PeerConn PeerConn;
typedef void (*PcFrameFn)(PeerConn *pc, int type, int64_t zxid, RBuf *payload);
typedef void (*PcEventFn)(PeerConn *pc);

struct PeerConn {
    int fd;
    struct Tls *tls;         /* tls.quorum: mutual TLS (net/tls.h) */
    int authed;              /* member authentication done (or not configured) */
    int64_t expect_id;       /* outgoing: the member dialled */
    int64_t auth_id;         /* ensemble_secret_file: the member the peer proved to be */
    int got_hello;
    int64_t hello_id;
    uint8_t nonce[32], peer_nonce[32];
    WBuf aout;               /* authentication frames: written before anything in out */
    size_t aout_sent;
    int connecting;          /* non-blocking connect in progress */
    int closed;
    uint8_t *in;
    size_t in_len, in_cap;
    WBuf out;
    size_t out_sent;
    int want_write;
    int dirty;
    PeerConn *dirty_next;
    int64_t last_rx_ms;      /* monotonic */
    PcFrameFn on_frame;
    PcEventFn on_close;      /* EOF, error or refused connect (not pc_close) */
    PcEventFn on_connect;    /* outgoing connect completed */
    void *ctx;
    int64_t peer_id;         /* -1 until the peer said which member it is */
    int64_t accepted_ms;     /* accepted (not connected out): when */
    char desc[96];
};

/* Listens on addr (SO_REUSEADDR); calls fn with each accepted fd. */
int pc_listen(const CorralAddr *addr, void (*fn)(int fd, void *arg), void *arg);
void pc_unlisten(int fd);
/* Non-blocking connect to member `id` at dst, bound to src_host (port 0).
 * on_connect runs once the member is authenticated (when configured). */
PeerConn *pc_connect(const char *src_host, int64_t id, const CorralAddr *dst, PcFrameFn on_frame,
                     PcEventFn on_close, PcEventFn on_connect, void *ctx);
/* Member authentication (tls.quorum, or ensemble_secret_file): reads the
 * secret; -1 + log. */
int pc_auth_init(const CoreConfig *cfg);
/* An accepted connection claims to be member `sid` (election notification,
 * FOLLOWERINFO): 0 when its authentication allows that, else the
 * connection is logged and closed (on_close runs) and -1 returned. */
int pc_authorize(PeerConn *pc, int64_t sid);
PeerConn *pc_wrap(int fd, PcFrameFn on_frame, PcEventFn on_close, void *ctx);
/* Frames: pc_begin returns the offset to pass to pc_end; write the
 * payload into pc->out in between. */
size_t pc_begin(PeerConn *pc, int type, int64_t zxid);
void pc_end(PeerConn *pc, size_t off);
void pc_send(PeerConn *pc, int type, int64_t zxid, const void *payload, size_t len);
/* The same for a payload held in w after ZAB_FRAME_HEADROOM bytes; may
 * take w's buffer (w is then empty). */
void pc_send_buf(PeerConn *pc, int type, int64_t zxid, WBuf *w);
void pc_close(PeerConn *pc);          /* quiet; freed at the end of the turn */
void pc_flush_all(void);              /* before sleep */
size_t pc_backlog(const PeerConn *pc);

/* ---- history and epochs (history.c) ------------------------------------ */
typedef struct HistEntry {
    int64_t zxid;
    uint8_t *data;
    size_t len;
} HistEntry;

void hist_init(int64_t base);
void hist_reset(int64_t base);        /* empty, last logged = base */
void hist_append(int64_t zxid, const void *data, size_t len);
int64_t hist_last(void);
int64_t hist_base(void);
/* Index of the first entry with zxid > z (hist_count() if none). */
size_t hist_after(int64_t z);
size_t hist_count(void);
const HistEntry *hist_at(size_t i);
int hist_contains(int64_t z);         /* z is an entry, or the base */
void hist_truncate(int64_t z);        /* drop entries > z */
/* Drop old entries, never one above keep_from. */
void hist_trim(int64_t keep_from);

int epochs_load(const char *data_dir, int64_t *accepted, int64_t *current);
int epochs_store(const char *data_dir, int64_t accepted, int64_t current);
/* data_dir/name replaced by buf, durably (write, fsync, rename, fsync). */
int zab_file_store(const char *data_dir, const char *name, const void *buf, size_t n);

/* ---- election (election.c) --------------------------------------------- */
typedef struct Vote {
    int64_t leader, zxid, epoch;
} Vote;

int election_init(void);
void election_shutdown(void);
void election_start(void);             /* enter LOOKING: new round */
void election_announce(void);          /* our state changed: tell everyone */
void election_config_changed(void);    /* the members changed: forget the old ones */

/* ---- roles (leader.c, learner.c) --------------------------------------- */
void leader_start(void);
void leader_stop(void);
void leader_tick(void);
void leader_durable(void);
int leader_propose(int64_t zxid, const void *data, size_t len);
int leader_sync(uint64_t token);
int leader_can_write(void);
void leader_before_sleep(void);
void leader_peer_accept(int fd);

void learner_start(int64_t leader_id);
void learner_stop(void);
void learner_tick(void);
void learner_durable(void);
void learner_before_sleep(void);
int learner_sync(uint64_t token);
int learner_forward(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                    size_t nids, const void *body, size_t len);

/* ---- shared state (zab.c) ----------------------------------------------- */
typedef struct Zab {
    const CoreConfig *cfg;
    int64_t my_id;
    int observer;                /* this member is an observer */
    const EnsembleMember *me;
    int n_voters;
    int quorum;                  /* n_voters / 2 + 1 */
    ZabState state;
    int serving;
    int64_t leader_id;
    int64_t accepted_epoch, current_epoch;
    int64_t epoch;               /* established (leader) or synced (learner) epoch */
    int64_t commit;              /* highest committed zxid known */
    int64_t durable;             /* local storage durable up to */
    int64_t peer_timeout_ms, init_timeout_ms, heartbeat_ms;
    int64_t check_ms;            /* liveness check period (tens of ms) */
    int64_t last_check_ms;
    int64_t grace_until;         /* this process stalled: judge no peer before */
    int peer_listen_fd, election_listen_fd;
    uint64_t tick_timer;
} Zab;

extern Zab zab;

const EnsembleMember *zab_member(int64_t id);
int zab_is_voter(int64_t id);
void zab_set_state(ZabState s, int64_t leader);   /* transitions + host callback */
void zab_go_looking(const char *why);
int zab_self_stalled(void);
void zab_persist_epochs(int64_t accepted, int64_t current);
const char *zab_host_of_self_peer(void);
const char *zab_host_of_self_election(void);

/* ---- configuration (reconfig.c) ----------------------------------------- */
/* zab.cfg (a copy whose members are the configuration in force), zab.me,
 * n_voters, quorum, observer: from the recovered tree's /zookeeper/config,
 * else from the configuration file. */
int zab_config_init(const CoreConfig *cfg);
int64_t zab_config_pending_zxid(void);  /* 0: no configuration proposed */
void zab_config_committed(int64_t commit);   /* leader: the commit point moved */
void zab_config_reset_pending(void);    /* leader stopped */
int zab_votes(void);                    /* a participant of the configuration in force */

#endif
