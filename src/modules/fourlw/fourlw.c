/*
 * src/modules/fourlw/fourlw.c: ZooKeeper's four-letter words for corrald.
 *
 * Registers ruok srvr stat conf envi mntr isro dirs cons crst srst wchs wchc
 * wchp dump hash, each answering in Apache ZooKeeper 3.8's format (same lines,
 * order and separators; regress/fixtures/zk38 holds a real 3.8 server's
 * answers) with Corral's values, and sets the allow list from
 *
 *     modules:
 *       fourlw: { allow: [ruok, srvr, mntr] }     # or ["*"]
 *
 * An absent `allow` means ZooKeeper's default 4lw.commands.whitelist: srvr
 * only.  As ZooKeeper does (FourLetterCommands.isEnabled), srvr is always
 * allowed, because zkServer.sh status and many health checks rely on it.
 * doc/fourlw.md describes every word and each difference from ZooKeeper.
 *
 * This file is the text renderer of the admin views (views.h), which
 * admin_http renders as JSON: what a word shows is collected there, once;
 * here it is printed.  Which words exist, with their descriptions, comes
 * from the core's table of ZooKeeper's words (corral_zk_word).  Every
 * answer stops at max_answer_bytes (fourlw_format.h, FourlwCap).
 *
 * Everything runs on the event-loop thread and must not block it: nothing
 * here resolves names or talks to the network; `dirs` and `conf` walk the
 * data directory (local metadata only), as ZooKeeper's do.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/module.h"
#include "fourlw_format.h"
#include "views.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "fourlw", .version = CORRAL_VERSION);

#define LOG_SUB "fourlw"
#define MAX_ANSWER_SETTING "modules.fourlw.max_answer_bytes"

typedef long long ll;
typedef unsigned long long ull;

static int64_t max_answer_bytes = 1 << 20;

/* A word being answered: the request, the server view, and the answer
 * with its cap. */
typedef struct Text {
    const CorralFourlwRequest *req;
    const ServerView *v;
    CorralStrbuf *out;
    FourlwCap cap;
} Text;

/* Appends one item (a line, or a group's first line with it) that was
 * written from `mark`: 1 while the answer is within its cap. */
static int kept(Text *t, size_t mark) { return fourlw_cap_keep(&t->cap, mark); }

/* ---- ruok / isro ---------------------------------------------------------- */

static void word_ruok(Text *t)
{
    corral_strbuf_puts(t->out, "imok");   /* no newline, as RuokCommand */
}

static void word_isro(Text *t)
{
    /* IsroCommand: print, not println. */
    corral_strbuf_puts(t->out, !t->v->serving ? "null" : t->v->info.read_only ? "ro" : "rw");
}

/* ---- srvr / stat / cons ---------------------------------------------------- */

typedef struct ConnCtx {
    Text *t;
    int brief;
} ConnCtx;

/* ServerCnxn.dumpConnectionInfo followed by the caller's println: an item. */
static int conn_line(void *vctx, const CorralConnInfo *c)
{
    ConnCtx *ctx = vctx;
    CorralStrbuf *out = ctx->t->out;
    size_t mark = out->len;
    const char *peer = c->peer ? c->peer : "null";
    /* NIO interest ops: the connection running the word has none (0), any
     * other is waiting to read (OP_READ = 1), as ZooKeeper shows them. */
    const char *bare = peer[0] == '/' ? peer + 1 : peer;
    const char *self = ctx->t->req->peer;
    int ops = self && strcmp(bare, self) == 0 ? 0 : 1;
    corral_strbuf_printf(out, " %s[%d](queued=%lld,recved=%lld,sent=%lld", peer, ops, (ll)c->queued,
                         (ll)c->received, (ll)c->sent);
    if (!ctx->brief && c->session_id != 0) {
        corral_strbuf_printf(out, ",sid=0x%llx,lop=%s,est=%lld,to=%lld", (ull)c->session_id,
                             c->last_op && c->last_op[0] ? c->last_op : "NA", (ll)c->established_ms,
                             (ll)c->timeout_ms);
        if (c->last_cxid >= 0)
            corral_strbuf_printf(out, ",lcxid=0x%llx", (ull)c->last_cxid);
        /* avglat is a long division in ServerCnxn.getAvgLatency. */
        corral_strbuf_printf(out, ",lzxid=0x%llx,lresp=%lld,llat=%lld,minlat=%lld,avglat=%lld,maxlat=%lld",
                             (ull)c->last_zxid, (ll)c->last_response_ms, (ll)c->last_latency_ms,
                             (ll)c->min_latency_ms, (ll)c->avg_latency_ms, (ll)c->max_latency_ms);
    }
    corral_strbuf_puts(out, ")\n");
    return !kept(ctx->t, mark);
}

/* StatCommand: srvr is stat without the client list; ServerStats.toString. */
static void stat_common(Text *t, int with_clients)
{
    const CorralServerInfo *info = &t->v->info;
    CorralStrbuf *out = t->out;
    corral_strbuf_printf(out, "Zookeeper version: %s\n", info->version ? info->version : "unknown");
    if (info->read_only)
        corral_strbuf_puts(out, "READ-ONLY mode; serving only read-only clients\n");
    if (with_clients) {
        corral_strbuf_puts(out, "Clients:\n");
        ConnCtx ctx = {t, 1};
        corral_server_visit_conns(conn_line, &ctx);
        corral_strbuf_puts(out, "\n");
    }
    corral_strbuf_printf(out, "Latency min/avg/max: %lld/", (ll)info->latency_min_ms);
    fourlw_java_double(out, fourlw_round4(info->latency_avg_ms));
    corral_strbuf_printf(out, "/%lld\n", (ll)info->latency_max_ms);
    corral_strbuf_printf(out, "Received: %lld\n", (ll)info->packets_received);
    corral_strbuf_printf(out, "Sent: %lld\n", (ll)info->packets_sent);
    corral_strbuf_printf(out, "Connections: %lld\n", (ll)info->connections);
    corral_strbuf_printf(out, "Outstanding: %lld\n", (ll)info->outstanding_requests);
    corral_strbuf_printf(out, "Zxid: 0x%llx\n", (ull)info->last_zxid);
    corral_strbuf_printf(out, "Mode: %s\n", info->mode);
    corral_strbuf_printf(out, "Node count: %lld\n", (ll)info->node_count);
    if (t->v->leader)
        corral_strbuf_printf(out, "Proposal sizes last/min/max: %lld/%lld/%lld\n",
                             (ll)view_metric("last_proposal_size", -1), (ll)view_metric("min_proposal_size", -1),
                             (ll)view_metric("max_proposal_size", -1));
}

static void word_srvr(Text *t) { stat_common(t, 0); }
static void word_stat(Text *t) { stat_common(t, 1); }

static void word_cons(Text *t)
{
    ConnCtx ctx = {t, 0};
    corral_server_visit_conns(conn_line, &ctx);
    corral_strbuf_puts(t->out, "\n");
}

static void word_crst(Text *t)
{
    corral_server_reset_conn_stats();
    corral_strbuf_puts(t->out, "Connection stats reset.\n");
}

static void word_srst(Text *t)
{
    /* StatResetCommand resets ServerStats (latency, packet counts) and, on a
     * leader, the proposal sizes; ZooKeeper's metrics registry (the extra
     * mntr keys) is not reset, so neither is Corral's. */
    corral_server_reset_stats();
    corral_strbuf_puts(t->out, "Server stats reset.\n");
}

/* ---- conf / dirs / envi ------------------------------------------------------ */

/* ZooKeeperServer.dumpConf, key=value lines. */
static void word_conf(Text *t)
{
    ViewKvList l = {NULL, 0, 0};
    view_conf(&l, 1);
    for (size_t i = 0; i < l.n; i++) {
        /* An ensemble member ends with its configuration, as ZooKeeper's
         * (QuorumZooKeeperServer.dumpConf: no newline after "version=..."). */
        if (strcmp(l.kv[i].key, "membership") == 0)
            corral_strbuf_printf(t->out, "membership: \n%s", l.kv[i].value);
        else
            corral_strbuf_printf(t->out, "%s=%s\n", l.kv[i].key, l.kv[i].value);
    }
    view_kv_free(&l);
}

static void word_dirs(Text *t)
{
    /* Corral keeps its snapshots and its transaction log under one data_dir,
     * so both lines show the same total (as ZooKeeper does when dataLogDir
     * is not set). */
    int64_t size = fourlw_dir_size(t->v->info.data_dir);
    corral_strbuf_printf(t->out, "datadir_size: %lld\n", (ll)size);
    corral_strbuf_printf(t->out, "logdir_size: %lld\n", (ll)size);
}

static void word_envi(Text *t)
{
    ViewKvList l = {NULL, 0, 0};
    view_env(&l, t->v);
    corral_strbuf_puts(t->out, "Environment:\n");
    for (size_t i = 0; i < l.n; i++)
        corral_strbuf_printf(t->out, "%s=%s\n", l.kv[i].key, l.kv[i].value);
    view_kv_free(&l);
}

static int on_start(void *arg)
{
    view_env_start();
    return 0;
}

static void on_stop(void *arg) { view_env_stop(); }

/* ---- mntr ----------------------------------------------------------------- */

/* MonitorCommand: "zk_KEY<TAB>VALUE" lines. */
static void mntr_line(void *ctx, const ViewValue *val)
{
    CorralStrbuf *out = ctx;
    char key[300];
    fourlw_mntr_key(key, sizeof key, "", val->key);
    corral_strbuf_printf(out, "%s\t", key);
    switch (val->kind) {
    case VIEW_STR: corral_strbuf_puts(out, val->s ? val->s : "null"); break;
    case VIEW_INT: corral_strbuf_printf(out, "%lld", (ll)val->i); break;
    case VIEW_AVG: fourlw_java_double(out, fourlw_round4(val->d)); break;
    case VIEW_NUM: fourlw_java_number(out, val->d); break;
    }
    corral_strbuf_puts(out, "\n");
}

static void word_mntr(Text *t) { view_mntr(t->v, mntr_line, t->out); }

/* ---- wchs / wchc / wchp --------------------------------------------------- */

static void word_wchs(Text *t)
{
    /* WatchManager.toString, then WatchCommand's println. */
    corral_strbuf_printf(t->out, "%lld connections watching %lld paths\nTotal watches:%lld\n",
                         (ll)t->v->watching_sessions, (ll)t->v->watch_paths, (ll)t->v->info.watch_count);
}

/* "0xSESSION" and suffix when the session's group opens, then "\tPATH":
 * one item (wchc, and the ephemeral nodes of dump). */
static int session_path(FourlwCap *cap, const char *suffix, int first, int64_t session, const char *path, size_t len)
{
    size_t mark = cap->out->len;
    if (first)
        corral_strbuf_printf(cap->out, "0x%llx%s\n", (ull)session, suffix);
    corral_strbuf_puts(cap->out, "\t");
    corral_strbuf_append(cap->out, path, len);
    corral_strbuf_puts(cap->out, "\n");
    return !fourlw_cap_keep(cap, mark);
}

/* WatchManager.dumpWatches(pw, false): "0xSESSION" then "\tPATH" lines. */
static int watch_by_session(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    Text *t = ctx;
    return session_path(&t->cap, "", first, session, path, len);
}

/* WatchManager.dumpWatches(pw, true): "PATH" then "\t0xSESSION" lines. */
static int watch_by_path(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    Text *t = ctx;
    size_t mark = t->out->len;
    if (first) {
        corral_strbuf_append(t->out, path, len);
        corral_strbuf_puts(t->out, "\n");
    }
    corral_strbuf_printf(t->out, "\t0x%llx\n", (ull)session);
    return !kept(t, mark);
}

static void word_wchc(Text *t)
{
    view_watches(0, watch_by_session, t);
    corral_strbuf_puts(t->out, "\n");   /* WatchCommand's final println */
}

static void word_wchp(Text *t)
{
    view_watches(1, watch_by_path, t);
    corral_strbuf_puts(t->out, "\n");
}

/* ---- hash ----------------------------------------------------------------- */

/* DigestCommand (ZooKeeper 3.7+): one "ZXID_HEX: DIGEST" line per entry of
 * the digest log (the digest at every zxid whose counter is a multiple of
 * 128, oldest first, as ZooKeeper's), then the zxid the tree has applied
 * and its digest when that is not the last entry.  Digests are printed as
 * the Java long ZooKeeper prints (signed decimal).  Corral's digest is its
 * own hash of the tree (tree.h), not ZooKeeper's CRC sum: equal between
 * Corral members with the same data at the same zxid, not comparable with a
 * ZooKeeper's.  Two busy members are compared on the zxids both list. */
static void word_hash(Text *t)
{
    enum { MAX = 1024 };
    static int64_t zxids[MAX];
    static uint64_t digests[MAX];
    size_t n = corral_server_digest_log(zxids, digests, MAX);
    for (size_t i = 0; i < n; i++)
        corral_strbuf_printf(t->out, "%llx: %lld\n", (ull)zxids[i], (ll)(int64_t)digests[i]);
    int64_t zxid = 0;
    uint64_t digest = corral_server_tree_digest(&zxid);
    if (!n || zxids[n - 1] != zxid)
        corral_strbuf_printf(t->out, "%llx: %lld\n", (ull)zxid, (ll)(int64_t)digest);
}

/* ---- dump ----------------------------------------------------------------- */

/* dumpEphemerals' lines of a session: "0xSESSION:" with its first path,
 * then "\tPATH"; each path is an item of a part gathered apart. */
static int eph_line(void *ctx, int first, int64_t session, const char *path, size_t len)
{
    return session_path(ctx, ":", first, session, path, len);
}

/* ZooKeeperServer.dumpEphemerals: the count of sessions comes first, so
 * their lines are gathered apart, within what the cap leaves (minus room
 * for the count line). */
static void dump_ephemerals(Text *t, const DumpView *d)
{
    CorralStrbuf *out = t->out;
    corral_strbuf_puts(out, "ephemeral nodes dump:\n");
    CorralStrbuf eph = CORRAL_STRBUF_INIT;
    FourlwCap cap;
    size_t used = out->len + 64;
    fourlw_cap_init(&cap, &eph, used < (size_t)max_answer_bytes ? (size_t)max_answer_bytes - used : 1);
    size_t with_eph = 0;
    for (size_t i = 0; i < d->nsess && !t->cap.truncated && !cap.truncated; i++)
        with_eph += view_ephemerals(d->sess[i].id, eph_line, &cap) > 0;
    corral_strbuf_printf(out, "Sessions with Ephemerals (%zu):\n", with_eph);
    if (eph.len)
        corral_strbuf_append(out, eph.data, eph.len);
    if (cap.truncated)
        fourlw_cap_stop(&t->cap);
    corral_strbuf_free(&eph);
}

/* SessionTrackerImpl.dumpSessions, dumpEphemerals and
 * NIOServerCnxnFactory.dumpConnections: two ExpiryQueue dumps around the
 * ephemeral nodes. */
static void word_dump(Text *t)
{
    DumpView d;
    view_dump(&d, t->v);
    size_t n = d.nsess > d.nconns ? d.nsess : d.nconns;
    FourlwExpiry *items = corral_xreallocarray(NULL, n, sizeof *items);
    char (*ids)[24] = corral_xreallocarray(NULL, d.nsess, sizeof *ids);
    for (size_t i = 0; i < d.nsess; i++) {
        snprintf(ids[i], sizeof ids[i], "0x%llx", (ull)d.sess[i].id);
        items[i] = (FourlwExpiry){d.sess[i].expire_ms, ids[i], 0};
    }
    corral_strbuf_puts(t->out, "SessionTracker dump:\nSession ");
    fourlw_dump_expiry(&t->cap, items, d.nsess);
    free(ids);

    dump_ephemerals(t, &d);

    char **texts = corral_xreallocarray(NULL, d.nconns, sizeof *texts);
    size_t ntexts = 0;
    CorralStrbuf ctext = CORRAL_STRBUF_INIT;
    for (size_t i = 0; i < d.nconns && !t->cap.truncated; i++, ntexts++) {
        corral_strbuf_reset(&ctext);
        corral_strbuf_printf(&ctext, "ip: %s sessionId: 0x%llx", d.conns[i].peer, (ull)d.conns[i].session_id);
        texts[i] = corral_xstrdup(ctext.data);
        items[i] = (FourlwExpiry){d.conns[i].expire_ms, texts[i], 0};
    }
    corral_strbuf_free(&ctext);
    corral_strbuf_puts(t->out, "Connections dump:\nConnections ");
    fourlw_dump_expiry(&t->cap, items, ntexts);
    for (size_t i = 0; i < ntexts; i++)
        free(texts[i]);
    free(texts);
    free(items);
    view_dump_free(&d);
}

/* ---- registration and configuration ---------------------------------------- */

typedef struct TextWord {
    const char *word;
    void (*fn)(Text *t);
    const CorralZkWord *zw;     /* the core's entry, set by init */
} TextWord;

static TextWord texts[] = {
    {"ruok", word_ruok, NULL}, {"srvr", word_srvr, NULL}, {"stat", word_stat, NULL}, {"conf", word_conf, NULL},
    {"envi", word_envi, NULL}, {"mntr", word_mntr, NULL}, {"isro", word_isro, NULL}, {"dirs", word_dirs, NULL},
    {"cons", word_cons, NULL}, {"crst", word_crst, NULL}, {"srst", word_srst, NULL}, {"wchs", word_wchs, NULL},
    {"wchc", word_wchc, NULL}, {"wchp", word_wchp, NULL}, {"dump", word_dump, NULL}, {"hash", word_hash, NULL},
};
#define NWORDS (sizeof texts / sizeof texts[0])
static CorralFourlw words[NWORDS];

/* What the core calls for every word: ZooKeeper's answer while the server
 * is not serving (unless the word answers anyway), else the word, within
 * the cap. */
static void run_word(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    const TextWord *w = arg;
    ServerView v;
    view_server(&v);
    if (!v.serving && !(w->zw && (w->zw->flags & CORRAL_WORD_4LW_ANY_STATE))) {
        corral_strbuf_puts(out, VIEW_NOT_SERVING "\n");
        return;
    }
    Text t = {req, &v, out, {0}};
    fourlw_cap_init(&t.cap, out, (size_t)max_answer_bytes);
    w->fn(&t);
    fourlw_cap_finish_text(&t.cap, MAX_ANSWER_SETTING);
}

typedef struct FourlwConf {
    const CorralConfig *allow;
    int64_t max_answer_bytes;
} FourlwConf;

static const CorralConfigKey conf_keys[] = {
    {"allow", CORRAL_KEY_NODE, offsetof(FourlwConf, allow), 0, 0, 0},
    {"max_answer_bytes", CORRAL_KEY_INT, offsetof(FourlwConf, max_answer_bytes), 0, 1024, INT64_C(1) << 30},
    CORRAL_CONFIG_KEYS_END,
};

/* A word of ZooKeeper's (the core's table), to warn about typos in `allow`. */
static int known_word(const char *w)
{
    const CorralZkWord *zw = corral_zk_word_find(w, strlen(w));
    return zw && (zw->flags & CORRAL_WORD_FOURLW) && strcmp(zw->word, w) == 0;
}

/* The settings, parsed: init, the reload check and the reload apply all
 * go through parse_settings. */
typedef struct Settings {
    int64_t max_answer_bytes;
    const char **allowed;       /* malloc'd; the words point into the configuration */
    size_t n;
} Settings;

static int parse_settings(const CorralConfig *config, Settings *out)
{
    FourlwConf conf = {NULL, 1 << 20};
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    out->max_answer_bytes = conf.max_answer_bytes;

    /* ZooKeeper's default whitelist is srvr alone (plus isro when
     * readonlymode.enabled, which a module cannot see: list it). */
    size_t n = 0;
    const char **allowed = NULL;
    if (conf.allow) {
        if (corral_config_type(conf.allow) != CORRAL_CFG_SEQ)
            return corral_config_error(conf.allow, "\"allow\" must be a list of four-letter words, not %s",
                                       corral_config_type_name(conf.allow));
        size_t len = corral_config_len(conf.allow);
        allowed = corral_xreallocarray(NULL, len + 1, sizeof *allowed);
        for (size_t i = 0; i < len; i++) {
            const CorralConfig *item = corral_config_at(conf.allow, i);
            const char *w = corral_config_scalar(item);
            if (!w) {
                free(allowed);
                return corral_config_error(item, "\"allow\" entries must be four-letter words, not %s",
                                           corral_config_type_name(item));
            }
            if (!fourlw_word_valid(w)) {
                free(allowed);
                return corral_config_error(item,
                                           "\"%s\" is not a four-letter word: \"allow\" entries are four "
                                           "lowercase letters, or \"*\" for every word",
                                           w);
            }
            if (strcmp(w, "*") != 0 && !known_word(w))
                corral_log(CORRAL_LOG_WARN, LOG_SUB,
                           "%s:%d:%d: \"%s\" is not a ZooKeeper four-letter word; it is allowed in case "
                           "another module provides it",
                           corral_config_file(item), corral_config_line(item), corral_config_column(item), w);
            allowed[n++] = w;
        }
    } else {
        allowed = corral_xreallocarray(NULL, 1, sizeof *allowed);
    }
    /* zkServer.sh depends on srvr: ZooKeeper always allows it. */
    int has_srvr = 0;
    for (size_t i = 0; i < n; i++)
        has_srvr |= strcmp(allowed[i], "srvr") == 0;
    if (!has_srvr)
        allowed[n++] = "srvr";
    out->allowed = allowed;
    out->n = n;
    return 0;
}

static CorralModule *self_module;

/* Reload: the allow list and max_answer_bytes change at once. */
static int reload_check(void *arg, const CorralConfig *config)
{
    Settings s;
    if (parse_settings(config, &s) < 0)
        return -1;
    free(s.allowed);
    return 0;
}

static void reload_apply(void *arg, const CorralConfig *config)
{
    Settings s;
    if (parse_settings(config, &s) < 0)
        return;   /* checked just before: cannot happen */
    max_answer_bytes = s.max_answer_bytes;
    corral_fourlw_set_allowed(self_module, s.allowed, s.n);
    free(s.allowed);
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    Settings set;
    if (parse_settings(config, &set) < 0)
        return -1;
    max_answer_bytes = set.max_answer_bytes;
    const char **allowed = set.allowed;
    size_t n = set.n;
    self_module = self;

    /* The descriptions are those of the core's table of ZooKeeper's words. */
    for (size_t i = 0; i < NWORDS; i++) {
        texts[i].zw = corral_zk_word_find(texts[i].word, 4);
        words[i] = (CorralFourlw){CORRAL_ABI_VERSION, (uint32_t)sizeof(CorralFourlw), texts[i].word,
                                  texts[i].zw ? texts[i].zw->description : "", run_word, &texts[i], {NULL}};
    }
    for (size_t i = 0; i < NWORDS; i++)
        if (corral_register_fourlw(self, &words[i]) < 0) {
            free(allowed);
            return -1;
        }
    int rc = corral_fourlw_set_allowed(self, allowed, n);
    free(allowed);
    if (rc < 0)
        return -1;
    if (corral_on_start(self, on_start, NULL) < 0 || corral_on_stop(self, on_stop, NULL) < 0 ||
        corral_on_reload(self, reload_check, reload_apply, NULL) < 0)
        return -1;
    return 0;
}
