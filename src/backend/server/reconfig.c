/*
 * src/backend/server/reconfig.c: the reconfig request (opcode 16), as
 * ZooKeeper 3.8's PrepRequestProcessor validates it, in its order:
 *
 *   reconfig disabled (server.reconfig_enabled)  ReconfigDisabled
 *   standalone server                             Unimplemented
 *   a configuration proposed, not yet committed   ReconfigInProgress
 *   curConfigId neither -1 nor the current one    BadVersion
 *   malformed servers, fewer than 2 participants  BadArguments
 *   no synced quorum of the new participants      NewConfigNoQuorum
 *   no WRITE permission on /zookeeper/config      NoAuth
 *     (super users always have it; server.reconfig_skip_acl skips it)
 *
 * The transaction is a SetDataTxn of /zookeeper/config with the new
 * configuration's text (QuorumMaj.toString, version = the txn's zxid), of
 * type reconfig; zab decides when it takes effect (zab/reconfig.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"
#include "server/replication.h"
#include "zab/zab.h"

static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
        (*s)++;
        (*len)--;
    }
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\n' ||
                    (*s)[*len - 1] == '\r'))
        (*len)--;
}

static int same_addr(const CorralAddr *a, const CorralAddr *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* QuorumServer.checkAddressDuplicate: a joiner may not reuse another
 * server's quorum or election address. */
static int duplicate_address(const QuorumConfig *qc, const EnsembleMember *m)
{
    for (size_t i = 0; i < qc->n; i++) {
        const EnsembleMember *o = &qc->m[i];
        if (o->id == m->id)
            continue;
        if (same_addr(&o->peer, &m->peer) || same_addr(&o->election, &m->election) ||
            same_addr(&o->peer, &m->election) || same_addr(&o->election, &m->peer))
            return 1;
    }
    return 0;
}

/* One "server.N=spec" of `joiningServers`. */
static int join_one(QuorumConfig *qc, const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    if (!eq || memchr(eq + 1, '=', len - (size_t)(eq - s) - 1))
        return ZERR_BADARGUMENTS;   /* "Wrong format of server string" */
    const char *k = s, *v = eq + 1;
    size_t kl = (size_t)(eq - s), vl = len - kl - 1;
    trim(&k, &kl);
    trim(&v, &vl);
    /* The id is what follows the last '.' of "server.N". */
    const char *dot = k;
    for (size_t i = 0; i < kl; i++)
        if (k[i] == '.')
            dot = k + i + 1;
    size_t dl = kl - (size_t)(dot - k);
    if (dl == 0 || dl > 18)
        return ZERR_BADARGUMENTS;
    int64_t id = 0;
    for (size_t i = 0; i < dl; i++) {
        if (dot[i] < '0' || dot[i] > '9')
            return ZERR_BADARGUMENTS;
        id = id * 10 + (dot[i] - '0');
    }
    EnsembleMember m;
    char err[160];
    if (id <= 0 || qc_parse_server(id, v, vl, &m, err, sizeof err) < 0 || !m.has_client ||
        duplicate_address(qc, &m) || qc_put(qc, &m) < 0)
        return ZERR_BADARGUMENTS;
    return 0;
}

/* Calls fn for each trimmed, non-empty, comma-separated item
 * (StringUtils.split); stops at the first error. */
static int each_item(ZkBytes list, int (*fn)(QuorumConfig *, const char *, size_t), QuorumConfig *qc)
{
    size_t i = 0, len = list.len > 0 ? (size_t)list.len : 0;
    while (i < len) {
        size_t j = i;
        while (j < len && list.data[j] != ',')
            j++;
        const char *it = list.data + i;
        size_t il = j - i;
        trim(&it, &il);
        if (il) {
            int rc = fn(qc, it, il);
            if (rc)
                return rc;
        }
        i = j + 1;
    }
    return 0;
}

static int leave_one(QuorumConfig *qc, const char *s, size_t len)
{
    if (len > 18)
        return ZERR_BADARGUMENTS;
    int64_t id = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ZERR_BADARGUMENTS;
        id = id * 10 + (s[i] - '0');
    }
    qc_remove(qc, id);
    return 0;
}

/* The next configuration, from the request and the current one. */
static int next_config(const ReconfigRequest *q, QuorumConfig *next)
{
    if (q->newMembers.len >= 0) {
        char err[160];
        if (qc_parse(q->newMembers.data, (size_t)q->newMembers.len, ',', next, err, sizeof err) < 0) {
            corral_log(CORRAL_LOG_INFO, "reconfig", "refused: %s", err);
            return ZERR_BADARGUMENTS;
        }
        return 0;
    }
    *next = *zab_config();
    /* PrepRequestProcessor: new HashMap<>(lastSeenQV.getAllMembers()), so
     * the text lists the members in that map's order. */
    next->java_table = qc_java_copy_table(next->n);
    int rc = each_item(q->leavingServers, leave_one, next);
    if (!rc)
        rc = each_item(q->joiningServers, join_one, next);
    return rc;
}

int reconfig_prep(const Principal *who, RBuf *body, Arena *a, WBuf *rec, int *txn_type)
{
    ReconfigRequest q;
    if (jute_read_ReconfigRequest(body, a, &q) < 0)
        return -2;
    if (!srv.cfg->reconfig_enabled)
        return ZERR_RECONFIGDISABLED;
    if (!replication_active())
        return ZERR_UNIMPLEMENTED;
    if (zab_config_pending())
        return ZERR_RECONFIGINPROGRESS;
    if (q.curConfigId != -1 && q.curConfigId != zab_config()->version)
        return ZERR_BADVERSION;
    QuorumConfig next;
    int rc = next_config(&q, &next);
    if (rc)
        return rc;
    if (qc_voters(&next) < 2)
        return ZERR_BADARGUMENTS;   /* "new configuration must include at least 2 followers" */
    if (!zab_quorum_synced(&next))
        return ZERR_NEWCONFIGNOQUORUM;
    ZNode *n = tree_lookup(srv.tree, CONFIG_NODE, strlen(CONFIG_NODE));
    if (!n)
        return ZERR_NONODE;
    if (!srv.cfg->reconfig_skip_acl && acl_check(who, tree_node_acl(n), ZOO_PERM_WRITE) != 0)
        return ZERR_NOAUTH;
    next.version = server_peek_zxid();
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    qc_format(&next, &sb);
    SetDataTxn t = {zk_bytes_cstr(CONFIG_NODE), {sb.data, (int32_t)sb.len}, -1};
    jute_write_SetDataTxn(rec, &t);
    corral_strbuf_free(&sb);
    *txn_type = ZOO_OP_RECONFIG;
    corral_log(CORRAL_LOG_INFO, "reconfig", "session 0x%llx proposes configuration version %llx (%zu members)",
               (unsigned long long)who->session_id, (unsigned long long)next.version, next.n);
    return 0;
}

/* The reply of a committed reconfig: GetDataResponse(configuration, stat),
 * as ZooKeeper's FinalRequestProcessor. */
void reconfig_write_result(WBuf *o, const ZStat *z)
{
    const char *d = NULL;
    int32_t dl = 0;
    ZNode *n = tree_lookup(srv.tree, CONFIG_NODE, strlen(CONFIG_NODE));
    if (n)
        tree_data(n, &d, &dl);
    Stat st = {z->czxid, z->mzxid, z->ctime, z->mtime, z->version, z->cversion, z->aversion,
               z->ephemeral_owner, z->data_length, z->num_children, z->pzxid};
    GetDataResponse r = {{d, dl}, st};
    jute_write_GetDataResponse(o, &r);
}
