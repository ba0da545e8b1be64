/*
 * src/backend/zab/zab.h: the ZAB ensemble (ZooKeeper Atomic Broadcast):
 * leader election, discovery, synchronisation, broadcast, observers and
 * failover, between corrald processes.
 *
 * Owns
 * ----
 * - The election listener and one outgoing election connection per other
 *   member (votes), and the peer listener plus the learner->leader peer
 *   connections (the quorum protocol).  Every socket is non-blocking on the
 *   one event loop; listeners AND outgoing connections are bound to the host
 *   of this member's own `peer` / `election` entry, so that traffic can be
 *   cut per link (regress/tools/tcpproxy.pl).
 * - The persistent epochs (data_dir/zab_epochs: acceptedEpoch and
 *   currentEpoch, written with write+fsync+rename before they are acted on).
 * - The in-memory history: the tail of this member's log (proposals it
 *   logged as a learner or made as a leader), used for DIFF/TRUNC decisions,
 *   for applying proposals on COMMIT, and for voting (last logged zxid).
 * - The leader's per-learner state (acked zxid, liveness), the quorum commit
 *   point, heartbeat rounds (sync), and the learner's forwarded requests.
 *
 * It does NOT own the tree, sessions, watches, storage or client
 * connections: it reaches them only through the host functions below,
 * implemented by the server glue (src/backend/server/replication.c).
 *
 * Threads
 * -------
 * Event loop only.  No call here blocks except the tiny epoch file write
 * (fsync, at epoch changes only) and, on a learner receiving SNAP or TRUNC,
 * the storage calls the host makes while the learner is not serving.
 *
 * Invariants
 * ----------
 * - zxid = epoch << 32 | counter; a leader proposes only in an epoch a
 *   quorum accepted (discovery, or an in-place NEWEPOCH round before the
 *   32-bit counter runs out: no zxid-rollover election).
 * - A txn is committed once a quorum of voting members (the leader counts
 *   when its own storage reports the txn durable; a follower ACKs only after
 *   its storage did) logged it.  Commits are cumulative and in zxid order.
 * - The leader applies its txns at once (validation needs the latest
 *   state), but nothing depending on a txn leaves corrald before the commit
 *   point passes it (net output gating: the commit point, not the local
 *   fsync, is what the host passes to net_set_durable_zxid).
 * - Learners apply only committed txns, in order, with txn_apply: the same
 *   bytes the leader applied, so every member reaches the same tree.
 * - A leader serves (and proposes) only after a quorum acked NEWLEADER, and
 *   stops at once when it cannot hear from a quorum within the timeout.
 * - Observers never vote and never count toward any quorum.
 */
#ifndef CORRAL_ZAB_H
#define CORRAL_ZAB_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "corral/strbuf.h"
#include "wire/wire.h"

typedef enum ZabState {
    ZAB_LOOKING = 0,
    ZAB_FOLLOWING = 1,
    ZAB_LEADING = 2,
    ZAB_OBSERVING = 3
} ZabState;

/* ---- called by the server glue ------------------------------------------ */

/* Default cap of the failure detector's timeout (doc/ensemble.md). */
#define ZAB_DEFAULT_PEER_TIMEOUT_MS 1000
int64_t zab_default_peer_timeout(const CoreConfig *cfg);

/* Starts election.  last_logged: last zxid in local storage (recovered). */
int zab_init(const CoreConfig *cfg, int64_t last_logged);
void zab_shutdown(void);
/* Before-sleep work (after the core's commit hand-off): group-append of the
 * proposals received this turn, ACKs, flushing peer output. */
void zab_before_sleep(void);

ZabState zab_state(void);
const char *zab_state_name(void);        /* "leader", "follower", "observer", "looking" */
/* Established leader, or learner that received UPTODATE. */
int zab_serving(void);
int zab_is_leader(void);
int64_t zab_leader_id(void);
int64_t zab_epoch(void);
int64_t zab_commit_zxid(void);
int zab_learner_count(void);             /* leader: connected learners */
int zab_synced_count(void);              /* leader: synced followers (voting) */
int zab_synced_observers(void);
int64_t zab_last_logged(void);

/* Established leader that heard from a quorum recently enough that no
 * other leader can exist (see leader.c): may expire sessions. */
int zab_leader_lease_ok(void);
/* Leader: a txn the core just logged (server_log_txn): broadcast it.
 * Returns -1 when it must not be (not an established leader). */
int zab_propose(int64_t zxid, const void *data, size_t len);
/* Storage says every record up to zxid is durable (or, without storage,
 * everything this member logged). */
void zab_local_durable(int64_t zxid);
/* True when the leader may hand out zxids now (established, and the
 * counter is not about to run out before a NEWEPOCH round completed). */
int zab_can_write(void);

/* Heartbeat-confirmed sync: the leader completes `token` (host
 * zab_host_sync_done) once a quorum answered a heartbeat sent after this
 * call; a learner forwards it to the leader.  -1 when not serving. */
int zab_sync(uint64_t token);

/* Learner: forward a client request to the leader.  kind: ZAB_REQ_*. */
enum { ZAB_REQ_WRITE = 1, ZAB_REQ_CREATE_SESSION = 2, ZAB_REQ_CLOSE_SESSION = 3 };
typedef struct ZabAuth {
    const char *scheme, *id;
} ZabAuth;
int zab_forward(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                size_t nids, const void *body, size_t len);
/* The snapshot zab_host_install_snapshot() was storing is durable. */
void zab_snapshot_stored(void);
/* Leader: the snapshot zab_host_snapshot_start() began, in w as said
 * there; zab may take w's buffer (w is then empty; the host frees w). */
void zab_snapshot_ready(int64_t zxid, WBuf *w);

/* ---- the ensemble configuration (quorum_config.c, reconfig.c) ----------- */

/* A membership and its version (ZooKeeper's QuorumMaj: majority of the
 * participants).  version: the zxid of the reconfig txn that made it, or
 * 0 for the YAML `ensemble` list before the first leader recorded it. */
typedef struct QuorumConfig {
    int64_t version;
    size_t n;
    EnsembleMember m[CORRAL_MAX_ENSEMBLE];
    size_t java_table;   /* the HashMap table size the text's order follows; 0: 16 */
} QuorumConfig;

/* "host:port:port[:participant|observer][;[host:]port]" (QuorumServer).
 * -1 with a message in err on a malformed one. */
int qc_parse_server(int64_t id, const char *spec, size_t len, EnsembleMember *out, char *err, size_t errlen);
/* One "server.N=spec" or "version=hex" entry (trimmed) added to qc. */
int qc_entry(const char *line, size_t len, QuorumConfig *qc, char *err, size_t errlen);
/* Entries separated by newlines or `sep`; at least one server. */
int qc_parse(const char *text, size_t len, char sep, QuorumConfig *qc, char *err, size_t errlen);
/* The text of /zookeeper/config (QuorumMaj.toString; no final newline). */
void qc_format(const QuorumConfig *qc, CorralStrbuf *sb);
void qc_format_server(const EnsembleMember *m, CorralStrbuf *sb);
/* The table of ZooKeeper's copy of an n-member map (incremental reconfig). */
size_t qc_java_copy_table(size_t n);
const EnsembleMember *qc_find(const QuorumConfig *qc, int64_t id);
int qc_put(QuorumConfig *qc, const EnsembleMember *m);   /* replaces the same id */
void qc_remove(QuorumConfig *qc, int64_t id);
int qc_voters(const QuorumConfig *qc);
int qc_is_voter(const QuorumConfig *qc, int64_t id);
int qc_same_members(const QuorumConfig *a, const QuorumConfig *b);
/* A majority of qc's participants are among ids. */
int qc_has_quorum(const QuorumConfig *qc, const int64_t *ids, size_t n);

/* The configuration in force (committed), and the one proposed but not
 * yet committed (the leader's: NULL when none). */
const QuorumConfig *zab_config(void);
const QuorumConfig *zab_config_pending(void);
/* This member was removed from the ensemble by a committed configuration
 * (it stops serving until it is added again and restarted). */
int zab_removed(void);
/* Leader (established): a quorum of qc's participants is connected and
 * synchronised with it (Leader.isQuorumSynced), counting itself. */
int zab_quorum_synced(const QuorumConfig *qc);
/* A configuration txn (zxid) was applied to the tree: on the established
 * leader it is proposed (it takes effect once committed by a quorum of the
 * old AND of the new configuration); anywhere else it is committed and
 * takes effect now. */
void zab_config_applied(int64_t zxid, const char *text, size_t len);
/* The tree was replaced (snapshot from the leader) or the leader was just
 * established (its whole history committed): the configuration in the
 * tree is committed; it takes effect if it is not the one in force. */
void zab_config_sync_tree(void);

/* ---- implemented by the server glue (server/replication.c) -------------- */

/* The member changed role (clients must be dropped). */
void zab_host_role_changed(ZabState old_state, ZabState new_state);
/* Highest zxid applied to the tree. */
int64_t zab_host_applied(void);
/* Learner: apply one committed txn (TxnHeader + record), reply to a
 * forwarded request it answers. */
void zab_host_apply(int64_t zxid, const uint8_t *txn, size_t len);
/* Everything up to zxid is committed and applied here: release output. */
void zab_host_commit_point(int64_t zxid);
/* Learner: append txns to local storage (durability is reported through
 * zab_local_durable).  Returns 0 or -1. */
typedef struct ZabTxn {
    int64_t zxid;
    const uint8_t *data;
    size_t len;
} ZabTxn;
int zab_host_log(const ZabTxn *t, size_t n);
/* Learner: drop every stored record with zxid > zxid (TRUNC).  0 or -1. */
int zab_host_truncate(int64_t zxid);
/* Learner that applied txns after zxid: truncate the storage and rebuild
 * the state from it; 0 when the state is then exactly at zxid, -1 when it
 * cannot (the learner then asks for a SNAP). */
int zab_host_reload(int64_t zxid);
/* Leader: start writing the whole state as a snapshot stream, off the
 * loop, after ZAB_FRAME_HEADROOM unused bytes (room for the frame header:
 * the buffer is sent as it is); returns its zxid.  zab_snapshot_ready()
 * follows, on the loop thread.  While one is being written, a second call
 * returns its zxid. */
#define ZAB_FRAME_HEADROOM 16
int64_t zab_host_snapshot_start(void);
/* Learner: replace the state by a snapshot (SNAP) and make it durable:
 * 0 when it is, 1 when it is being stored (zab_snapshot_stored() follows,
 * on the loop thread), -1 on failure. */
int zab_host_install_snapshot(int64_t zxid, const void *data, size_t len);
/* Leader: a request forwarded by a learner (validate, log, apply). */
void zab_host_forwarded(int kind, int64_t session, int32_t cxid, int32_t type, int32_t timeout, const ZabAuth *ids,
                        size_t nids, const uint8_t *body, size_t len);
/* Leader (established): set the zxid counter (new epoch) and log the
 * epoch's first txn (a no-op), so that the epoch start is in the history. */
void zab_host_start_epoch(int64_t epoch, int64_t first_counter);
/* A sync round finished: `zxid` is the leader's commit point when it
 * started; a learner answers once it applied it. */
void zab_host_sync_done(uint64_t token, int64_t zxid);
/* Leader: the tree's digest right after zxid was applied (0), or -1 when
 * it is not kept any more.  Learner: it applied up to zxid, where the
 * leader's digest was `digest`: compare (ZooKeeper 3.6's digest check). */
int zab_host_digest_at(int64_t zxid, uint64_t *digest);
void zab_host_check_digest(int64_t zxid, uint64_t digest);
/* Leader: a learner says a session is alive for `remaining_ms` more. */
void zab_host_touch(int64_t session, int32_t remaining_ms);
/* Learner: sessions its clients keep alive, as (long id, int remaining)
 * pairs appended to out; returns the count. */
int zab_host_collect_touches(WBuf *out);
/* Leader just established: take over session expiry. */
void zab_host_leader_ready(void);
/* The data of /zookeeper/config in the recovered tree (NULL or "" when
 * none: the YAML `ensemble` is used). */
const char *zab_host_config_text(size_t *len);
/* Leader (established): log a configuration txn whose data is `text` (the
 * first leader records the YAML membership this way, with version = its
 * epoch << 32, as ZooKeeper's first leader does). */
void zab_host_log_config(const char *text, size_t len);
/* Learner: the leader could not take a forwarded request of this session
 * (it is about to change epoch): drop the client, it will retry. */
void zab_host_refused(int64_t session);

#endif
