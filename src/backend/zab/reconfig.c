/*
 * src/backend/zab/reconfig.c: which configuration the member runs with,
 * and how a new one takes effect (ZooKeeper 3.5+ dynamic reconfiguration).
 *
 * The configuration lives in the tree, as the data of /zookeeper/config,
 * written only by configuration txns (type reconfig, a SetDataTxn): the
 * first leader records the YAML `ensemble` list (version = its epoch << 32,
 * as ZooKeeper's first leader does), and every accepted reconfig request
 * records the next one (version = the txn's zxid).  So the configuration
 * is in the WAL and in snapshots, and a restarted member runs with the
 * latest one it has (the YAML list is only the initial one).
 *
 * zab keeps its own copy of the CoreConfig whose `members` it rewrites when
 * a configuration takes effect (the rest of zab reads zab.cfg->members as
 * before).  On the established leader a configuration txn is only proposed
 * when applied; it takes effect when the commit point passes it, and until
 * then every commit at or after it needs a quorum of the old AND of the new
 * participants (leader.c, recompute_commit).  Everywhere else (learners,
 * which apply only committed txns; recovery; a leader establishing) it
 * takes effect when applied.
 *
 * Without data_dir/zab_config (a restored or seeded data directory) the
 * configuration in the recovered state is another ensemble's: the YAML
 * list is used and configurations up to that version are ignored.
 *
 * The configuration in force is also kept in data_dir/zab_config (written
 * when one takes effect): the tree a member recovers may end with
 * proposals that were never committed (a leader applies at once, a learner
 * logs before the commit), a configuration among them; a restarted member
 * runs with the last one it knew committed, as ZooKeeper (its dynamic file;
 * .next holds the proposed one), and learns a newer one when it syncs.
 *
 * What a member does when a configuration takes effect (after the loop
 * turn, never inside an apply):
 *   - removed (it was a member and is no longer): stops serving, says so,
 *     takes no part in elections; restarted, it runs as a non-voting
 *     joiner that can be added again;
 *   - role changed (observer <-> participant): reconnects in the new role;
 *   - leader no longer a participant: steps down after a heartbeat (its
 *     replies flushed); the participants elect a new leader among
 *     themselves, each of which has every committed txn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/eventloop.h"
#include "zab/zab_int.h"

static struct {
    CoreConfig cfg;              /* zab.cfg: the YAML settings, members = active */
    EnsembleMember self;         /* this member's own entry (YAML), zab.me */
    QuorumConfig yaml;           /* the configuration file's ensemble */
    QuorumConfig active;
    QuorumConfig pending;
    int64_t pending_zxid;        /* 0: none */
    int64_t stale_version;       /* configurations up to this one are another ensemble's */
    int removed;
    uint64_t effect_timer;
} rc;

const QuorumConfig *zab_config(void) { return &rc.active; }
const QuorumConfig *zab_config_pending(void) { return rc.pending_zxid ? &rc.pending : NULL; }
int64_t zab_config_pending_zxid(void) { return rc.pending_zxid; }
int zab_removed(void) { return rc.removed; }
int zab_votes(void) { return !rc.removed && qc_is_voter(&rc.active, zab.my_id); }

/* zab.cfg->members, the voter count and the quorum from rc.active.  Until
 * the first reconfig (the version of the first leader's record of the
 * file's list: epoch << 32) a member connects to the others at the
 * addresses of its own configuration file, as ZooKeeper uses its static
 * configuration until a reconfig: members may reach each other through
 * different addresses (a proxy, NAT), which one leader's record cannot
 * tell. */
static void install(void)
{
    const QuorumConfig *src = &rc.active;
    if ((rc.active.version & 0xffffffffLL) == 0 && qc_same_members(&rc.active, &rc.yaml))
        src = &rc.yaml;
    rc.cfg.n_members = src->n;
    memcpy(rc.cfg.members, src->m, src->n * sizeof src->m[0]);
    zab.n_voters = qc_voters(&rc.active);
    zab.quorum = zab.n_voters / 2 + 1;
    const EnsembleMember *me = qc_find(&rc.active, zab.my_id);
    zab.observer = me ? me->observer : rc.self.observer;
}

#define CONFIG_FILE "zab_config"

/* data_dir/zab_config, NUL-terminated (NULL when absent). */
static char *load_file(const char *dir, size_t *len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, CONFIG_FILE);
    FILE *f = fopen(p, "r");
    if (!f) {
        if (errno != ENOENT)
            corral_log(CORRAL_LOG_WARN, "zab", "cannot read %s: %s", p, strerror(errno));
        return NULL;
    }
    size_t cap = 65536;
    char *buf = xmalloc(cap + 1);
    *len = fread(buf, 1, cap, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static void store_file(const QuorumConfig *qc)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    qc_format(qc, &sb);
    if (zab_file_store(rc.cfg.data_dir, CONFIG_FILE, sb.data, sb.len) < 0)
        corral_fatal("zab", "cannot write %s/%s; exiting", rc.cfg.data_dir, CONFIG_FILE);
    corral_strbuf_free(&sb);
}

int zab_config_init(const CoreConfig *cfg)
{
    rc.cfg = *cfg;
    zab.cfg = &rc.cfg;
    const EnsembleMember *me = NULL;
    for (size_t i = 0; i < cfg->n_members; i++)
        if (cfg->members[i].id == cfg->server_id)
            me = &cfg->members[i];
    if (!me)
        return -1;
    rc.self = *me;
    zab.me = &rc.self;
    memset(&rc.yaml, 0, sizeof rc.yaml);
    rc.yaml.n = cfg->n_members;
    memcpy(rc.yaml.m, cfg->members, cfg->n_members * sizeof cfg->members[0]);
    rc.active = rc.yaml;
    size_t len = 0;
    char *file = load_file(cfg->data_dir, &len);
    QuorumConfig qc;
    char err[160];
    if (file && len) {
        if (qc_parse(file, len, '\n', &qc, err, sizeof err) < 0)
            corral_log(CORRAL_LOG_WARN, "zab", "%s/%s is unusable (%s); using the configuration file's ensemble",
                       cfg->data_dir, CONFIG_FILE, err);
        else {
            rc.active = qc;
            corral_log(CORRAL_LOG_INFO, "zab", "using the ensemble configuration of version %llx from the data "
                       "directory's %s (%zu members; the configuration file's list is only the initial one)",
                       (unsigned long long)qc.version, CONFIG_FILE, qc.n);
        }
    } else {
        /* No zab_config: the data directory was restored, seeded or
         * imported (or this member never ran with a recorded configuration).
         * A configuration in its state is another ensemble's: the file's
         * list is the initial one, as ZooKeeper takes its members from its
         * own files; configurations up to that version are ignored. */
        const char *text = zab_host_config_text(&len);
        if (text && len && qc_parse(text, len, '\n', &qc, err, sizeof err) == 0) {
            rc.stale_version = qc.version;
            corral_log(CORRAL_LOG_INFO, "zab", "the recovered state holds an ensemble configuration (version %llx) "
                       "but the data directory has no %s: using the configuration file's ensemble",
                       (unsigned long long)qc.version, CONFIG_FILE);
        }
    }
    free(file);
    /* A member the latest configuration does not list runs as a non-voting
     * joiner: it synchronises with the leader and is counted once a
     * reconfig adds it. */
    if (!qc_find(&rc.active, zab.my_id))
        corral_log(CORRAL_LOG_WARN, "zab", "this member (%lld) is not in the ensemble configuration of version %llx: "
                   "it joins as a non-voting learner until a reconfig adds it", (long long)zab.my_id,
                   (unsigned long long)rc.active.version);
    install();
    return 0;
}

static int64_t take_effect(void *arg)
{
    rc.effect_timer = 0;
    const EnsembleMember *me = qc_find(&rc.active, zab.my_id);
    if (rc.removed) {
        if (zab.state != ZAB_LOOKING)
            zab_set_state(ZAB_LOOKING, -1);
        return -1;
    }
    if (zab.state == ZAB_LEADING && !zab_votes()) {
        zab_go_looking("this leader is no longer a participant of the ensemble configuration");
        return -1;
    }
    if ((zab.state == ZAB_FOLLOWING && me && me->observer) || (zab.state == ZAB_OBSERVING && me && !me->observer))
        zab_go_looking(me->observer ? "this member is now an observer" : "this member is now a participant");
    return -1;
}

/* live: a committed txn applied by a serving member (not a catch-up, a
 * replay or a snapshot): only then does leaving the list mean removal (a
 * joiner catching up applies configurations that do not list it yet). */
static void activate(const QuorumConfig *qc, int64_t zxid, int live)
{
    int was_member = qc_find(&rc.active, zab.my_id) != NULL;
    int changed = !qc_same_members(&rc.active, qc);
    size_t old_n = rc.cfg.n_members;
    EnsembleMember old[CORRAL_MAX_ENSEMBLE];
    memcpy(old, rc.cfg.members, sizeof old);
    rc.active = *qc;
    rc.pending_zxid = 0;
    install();
    store_file(qc);
    if (old_n != rc.cfg.n_members || memcmp(old, rc.cfg.members, old_n * sizeof old[0]) != 0)
        election_config_changed();   /* members or their addresses */
    corral_log(CORRAL_LOG_INFO, "zab", "ensemble configuration version %llx in effect (zxid 0x%llx): %zu members, "
               "%d participants, quorum %d", (unsigned long long)qc->version, (unsigned long long)zxid, qc->n,
               zab.n_voters, zab.quorum);
    if (!changed)
        return;
    if (live && was_member && !qc_find(qc, zab.my_id) && !rc.removed) {
        rc.removed = 1;
        corral_log(CORRAL_LOG_WARN, "zab", "this member (%lld) was removed from the ensemble by the configuration of "
                   "version %llx: it stops serving (add it again with reconfig, then restart it)",
                   (long long)zab.my_id, (unsigned long long)qc->version);
    }
    if (!rc.effect_timer)
        rc.effect_timer = el_add_timer(zab.state == ZAB_LEADING ? zab.heartbeat_ms : 0, take_effect, NULL);
}

void zab_config_applied(int64_t zxid, const char *text, size_t len)
{
    if (!zab.cfg)
        return;   /* recovery before zab_init: zab_config_init reads the tree */
    QuorumConfig qc;
    char err[160];
    if (qc_parse(text, len, '\n', &qc, err, sizeof err) < 0) {
        corral_log(CORRAL_LOG_ERROR, "zab", "configuration txn 0x%llx is unusable (%s); ignored",
                   (unsigned long long)zxid, err);
        return;
    }
    if (qc.version <= rc.stale_version)
        return;   /* replayed from another ensemble's history */
    if (zab.state == ZAB_LEADING && zab.serving && zxid > zab.commit) {
        rc.pending = qc;
        rc.pending_zxid = zxid;
        corral_log(CORRAL_LOG_INFO, "zab", "ensemble configuration version %llx proposed at 0x%llx",
                   (unsigned long long)qc.version, (unsigned long long)zxid);
        return;
    }
    activate(&qc, zxid, zab.serving);
}

void zab_config_sync_tree(void)
{
    if (!zab.cfg)
        return;
    size_t len = 0;
    const char *text = zab_host_config_text(&len);
    QuorumConfig qc;
    char err[160];
    if (!text || !len || qc_parse(text, len, '\n', &qc, err, sizeof err) < 0 || qc.version <= rc.stale_version)
        return;
    if (qc.version != rc.active.version || !qc_same_members(&qc, &rc.active))
        activate(&qc, qc.version, 0);
}

void zab_config_committed(int64_t commit)
{
    if (rc.pending_zxid && commit >= rc.pending_zxid) {
        QuorumConfig qc = rc.pending;
        activate(&qc, rc.pending_zxid, 1);
    }
}

void zab_config_reset_pending(void) { rc.pending_zxid = 0; }
