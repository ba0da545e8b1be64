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
 * Everything runs on the event-loop thread and must not block it: nothing
 * here resolves names or talks to the network; `dirs` walks the data
 * directory (local metadata only), as ZooKeeper's does.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* dl_iterate_phdr; the makefile defines it too */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "corral/module.h"
#include "fourlw_format.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC("fourlw", CORRAL_VERSION);

#define LOG_SUB "fourlw"

/* AbstractFourLetterCommand.ZK_NOT_SERVING, printed with println. */
static const char zk_not_serving[] = "This ZooKeeper instance is not currently serving requests\n";

/* ZooKeeper's NIOServerCnxnFactory.sessionlessCnxnTimeout: the interval of
 * the connection expiry queue that `dump` shows. */
#define SESSIONLESS_CNXN_TIMEOUT_MS 10000

typedef long long ll;
typedef unsigned long long ull;

/* The size cap of an answer (modules.fourlw.max_answer_bytes) and the
 * answer being written: the event loop runs one word at a time. */
#define MAX_ANSWER_SETTING "modules.fourlw.max_answer_bytes"
static int64_t max_answer_bytes = 1 << 20;
static FourlwCap answer;

/* ---- server views --------------------------------------------------------- */

static void get_info(CorralServerInfo *info)
{
    memset(info, 0, sizeof *info);
    info->size = (uint32_t)sizeof *info;
    corral_server_info(info);
}

/* ZooKeeper answers most words with ZK_NOT_SERVING while the server is not
 * running (during leader election, for instance). */
static int serving(const CorralServerInfo *info)
{
    return info->mode && info->mode[0] && strcmp(info->mode, "looking") != 0;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        abort();   /* as the core's allocators: out of memory is fatal */
    return d;
}

static void *xrealloc_arr(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q)
        abort();
    return q;
}

/* ---- ruok / isro ---------------------------------------------------------- */

static void word_ruok(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    corral_strbuf_puts(out, "imok");   /* no newline, as RuokCommand */
}

static void word_isro(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    /* IsroCommand: print, not println. */
    corral_strbuf_puts(out, !serving(&info) ? "null" : info.read_only ? "ro" : "rw");
}

/* ---- srvr / stat / cons ---------------------------------------------------- */

typedef struct ConnCtx {
    CorralStrbuf *out;
    const char *self;       /* the asking connection, "ip:port" */
    int brief;
} ConnCtx;

/* ServerCnxn.dumpConnectionInfo followed by the caller's println: one item
 * of the answer. */
static int conn_line(void *vctx, const CorralConnInfo *c)
{
    ConnCtx *ctx = vctx;
    size_t mark = ctx->out->len;
    const char *peer = c->peer ? c->peer : "null";
    /* NIO interest ops: the connection running the word has none (0), any
     * other is waiting to read (OP_READ = 1), as ZooKeeper shows them. */
    const char *bare = peer[0] == '/' ? peer + 1 : peer;
    int ops = ctx->self && strcmp(bare, ctx->self) == 0 ? 0 : 1;
    corral_strbuf_printf(ctx->out, " %s[%d](queued=%lld,recved=%lld,sent=%lld", peer, ops, (ll)c->queued,
                         (ll)c->received, (ll)c->sent);
    if (!ctx->brief && c->session_id != 0) {
        corral_strbuf_printf(ctx->out, ",sid=0x%llx,lop=%s,est=%lld,to=%lld", (ull)c->session_id,
                             c->last_op && c->last_op[0] ? c->last_op : "NA", (ll)c->established_ms,
                             (ll)c->timeout_ms);
        if (c->last_cxid >= 0)
            corral_strbuf_printf(ctx->out, ",lcxid=0x%llx", (ull)c->last_cxid);
        /* avglat is a long division in ServerCnxn.getAvgLatency. */
        corral_strbuf_printf(ctx->out, ",lzxid=0x%llx,lresp=%lld,llat=%lld,minlat=%lld,avglat=%lld,maxlat=%lld",
                             (ull)c->last_zxid, (ll)c->last_response_ms, (ll)c->last_latency_ms,
                             (ll)c->min_latency_ms, (ll)c->avg_latency_ms, (ll)c->max_latency_ms);
    }
    corral_strbuf_puts(ctx->out, ")\n");
    return !fourlw_cap_keep(&answer, mark);
}

/* ServerStats.toString. */
static void server_stats(CorralStrbuf *out, const CorralServerInfo *info)
{
    corral_strbuf_printf(out, "Latency min/avg/max: %lld/", (ll)info->latency_min_ms);
    fourlw_java_double(out, fourlw_round4(info->latency_avg_ms));
    corral_strbuf_printf(out, "/%lld\n", (ll)info->latency_max_ms);
    corral_strbuf_printf(out, "Received: %lld\n", (ll)info->packets_received);
    corral_strbuf_printf(out, "Sent: %lld\n", (ll)info->packets_sent);
    corral_strbuf_printf(out, "Connections: %lld\n", (ll)info->connections);
    corral_strbuf_printf(out, "Outstanding: %lld\n", (ll)info->outstanding_requests);
    corral_strbuf_printf(out, "Zxid: 0x%llx\n", (ull)info->last_zxid);
    corral_strbuf_printf(out, "Mode: %s\n", info->mode);
}

static int64_t metric_value(const char *name, int64_t dflt)
{
    CorralMetric *m = corral_metric_find(name);
    if (!m)
        return dflt;
    CorralMetricView v;
    corral_metric_read(m, &v);
    return v.type == CORRAL_METRIC_HISTOGRAM ? (int64_t)v.count : v.value;
}

/* StatCommand: srvr is stat without the client list. */
static void stat_common(const CorralFourlwRequest *req, CorralStrbuf *out, int with_clients)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    corral_strbuf_printf(out, "Zookeeper version: %s\n", info.version ? info.version : "unknown");
    if (info.read_only)
        corral_strbuf_puts(out, "READ-ONLY mode; serving only read-only clients\n");
    if (with_clients) {
        corral_strbuf_puts(out, "Clients:\n");
        ConnCtx ctx = {out, req->peer, 1};
        corral_server_visit_conns(conn_line, &ctx);
        corral_strbuf_puts(out, "\n");
    }
    server_stats(out, &info);
    corral_strbuf_printf(out, "Node count: %lld\n", (ll)info.node_count);
    if (strcmp(info.mode, "leader") == 0)
        corral_strbuf_printf(out, "Proposal sizes last/min/max: %lld/%lld/%lld\n",
                             (ll)metric_value("last_proposal_size", -1), (ll)metric_value("min_proposal_size", -1),
                             (ll)metric_value("max_proposal_size", -1));
}

static void word_srvr(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out) { stat_common(req, out, 0); }
static void word_stat(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out) { stat_common(req, out, 1); }

static void word_cons(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    ConnCtx ctx = {out, req->peer, 0};
    corral_server_visit_conns(conn_line, &ctx);
    corral_strbuf_puts(out, "\n");
}

static void word_crst(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    corral_server_reset_conn_stats();
    corral_strbuf_puts(out, "Connection stats reset.\n");
}

static void word_srst(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    /* StatResetCommand resets ServerStats (latency, packet counts) and, on a
     * leader, the proposal sizes; ZooKeeper's metrics registry (the extra
     * mntr keys) is not reset, so neither is Corral's. */
    corral_server_reset_stats();
    corral_strbuf_puts(out, "Server stats reset.\n");
}

/* ---- conf / dirs ------------------------------------------------------------ */

typedef struct ConfKv {
    char *key, *value;
} ConfKv;

typedef struct ConfList {
    ConfKv *kv;
    size_t n, cap;
} ConfList;

static void conf_collect(void *ctx, const char *key, const char *value)
{
    ConfList *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->kv = xrealloc_arr(l->kv, l->cap, sizeof *l->kv);
    }
    l->kv[l->n++] = (ConfKv){xstrdup_or_null(key ? key : ""), xstrdup_or_null(value ? value : "")};
}

static const char *conf_find(const ConfList *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->kv[i].key, key) == 0)
            return l->kv[i].value;
    return NULL;
}

/* ZooKeeperServer.dumpConf: the core gives the key=value pairs; ZooKeeper
 * 3.8 also prints dataDirSize after dataDir and dataLogSize after
 * dataLogDir, which are added here when the core does not give them. */
static void word_conf(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    ConfList l = {NULL, 0, 0};
    corral_server_conf(conf_collect, &l);
    int add_data = !conf_find(&l, "dataDirSize"), add_log = !conf_find(&l, "dataLogSize");
    for (size_t i = 0; i < l.n; i++) {
        corral_strbuf_printf(out, "%s=%s\n", l.kv[i].key, l.kv[i].value);
        if (add_data && strcmp(l.kv[i].key, "dataDir") == 0)
            corral_strbuf_printf(out, "dataDirSize=%lld\n", (ll)fourlw_dir_size(l.kv[i].value));
        if (add_log && strcmp(l.kv[i].key, "dataLogDir") == 0)
            corral_strbuf_printf(out, "dataLogSize=%lld\n", (ll)fourlw_dir_size(l.kv[i].value));
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.kv[i].key);
        free(l.kv[i].value);
    }
    free(l.kv);
}

static void word_dirs(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    /* Corral keeps its snapshots and its transaction log under one data_dir,
     * so both lines show the same total (as ZooKeeper does when dataLogDir
     * is not set). */
    int64_t size = fourlw_dir_size(info.data_dir);
    corral_strbuf_printf(out, "datadir_size: %lld\n", (ll)size);
    corral_strbuf_printf(out, "logdir_size: %lld\n", (ll)size);
}

/* ---- envi ----------------------------------------------------------------- */

/* Facts that do not change while the server runs, gathered once by the start
 * hook (user lookups may go through NSS, which must not run on the event
 * loop while it serves). */
static struct {
    int ready;
    char *exe;
    char *module_path;      /* directories the loaded modules came from */
    char *modules;          /* "name version, ..." in load order */
    char *user_name, *user_home;
} env;

typedef struct ObjList {
    char **names;
    size_t n;
} ObjList;

static int collect_object(struct dl_phdr_info *pi, size_t size, void *data)
{
    ObjList *l = data;
    if (pi->dlpi_name && pi->dlpi_name[0]) {
        l->names = xrealloc_arr(l->names, l->n + 1, sizeof *l->names);
        l->names[l->n++] = xstrdup_or_null(pi->dlpi_name);
    }
    return 0;
}

static void append_sep(CorralStrbuf *sb, const char *sep, const char *s)
{
    if (sb->len)
        corral_strbuf_puts(sb, sep);
    corral_strbuf_puts(sb, s);
}

/* The loaded Corral modules: every shared object exporting a magic block. */
static void find_modules(void)
{
    ObjList l = {NULL, 0};
    dl_iterate_phdr(collect_object, &l);
    CorralStrbuf mods = CORRAL_STRBUF_INIT, dirs = CORRAL_STRBUF_INIT;
    for (size_t i = 0; i < l.n; i++) {
        void *h = dlopen(l.names[i], RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            const CorralModuleMagic *(*magic_fn)(void);
            *(void **)&magic_fn = dlsym(h, CORRAL_MAGIC_FUNCTION);
            const CorralModuleMagic *mg = magic_fn ? magic_fn() : NULL;
            if (mg && mg->size >= sizeof(CorralModuleMagic) && mg->abi.abi_version == CORRAL_ABI_VERSION &&
                mg->name) {
                char item[256];
                snprintf(item, sizeof item, "%s %s", mg->name, mg->version ? mg->version : "");
                append_sep(&mods, ",", item);
                char *slash = strrchr(l.names[i], '/');
                if (slash) {
                    *slash = '\0';
                    const char *dir = slash == l.names[i] ? "/" : l.names[i];
                    int seen = 0;
                    /* dirs holds "a:b:c"; look for an exact component */
                    for (const char *p = dirs.data; p && *p && !seen;) {
                        const char *e = strchr(p, ':');
                        size_t n = e ? (size_t)(e - p) : strlen(p);
                        seen = n == strlen(dir) && memcmp(p, dir, n) == 0;
                        p = e ? e + 1 : p + n;
                    }
                    if (!seen)
                        append_sep(&dirs, ":", dir);
                }
            }
            dlclose(h);
        }
        free(l.names[i]);
    }
    free(l.names);
    env.modules = xstrdup_or_null(mods.data ? mods.data : "");
    env.module_path = xstrdup_or_null(dirs.data ? dirs.data : "");
    corral_strbuf_free(&mods);
    corral_strbuf_free(&dirs);
}

static int on_start(void *arg)
{
    tzset();
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        env.exe = xstrdup_or_null(buf);
    }
    find_modules();
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res) {
        env.user_name = xstrdup_or_null(pw.pw_name);
        env.user_home = xstrdup_or_null(pw.pw_dir);
    }
    if (!env.user_name)
        env.user_name = xstrdup_or_null(getenv("USER"));
    if (!env.user_home)
        env.user_home = xstrdup_or_null(getenv("HOME"));
    env.ready = 1;
    return 0;
}

static void on_stop(void *arg)
{
    free(env.exe);
    free(env.module_path);
    free(env.modules);
    free(env.user_name);
    free(env.user_home);
    memset(&env, 0, sizeof env);
}

static void env_line(CorralStrbuf *out, const char *key, const char *value)
{
    corral_strbuf_printf(out, "%s=%s\n", key, value && value[0] ? value : "<NA>");
}

/* A "NAME:   N kB" line of /proc/meminfo, in bytes; -1 if absent. */
static int64_t meminfo(const char *name)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[256];
    size_t nl = strlen(name);
    int64_t v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            v = strtoll(line + nl + 1, NULL, 10) * 1024;
            break;
        }
    fclose(f);
    return v;
}

static int64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    if (!f)
        return -1;
    long long size = 0, rss = -1;
    if (fscanf(f, "%lld %lld", &size, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (int64_t)sysconf(_SC_PAGESIZE);
}

static void env_mb(CorralStrbuf *out, const char *key, int64_t bytes)
{
    if (bytes < 0)
        env_line(out, key, NULL);
    else
        corral_strbuf_printf(out, "%s=%lldMB\n", key, (ll)(bytes / (1024 * 1024)));
}

/* Java's os.arch names for what uname calls the machine. */
static const char *java_arch(const char *machine)
{
    if (strcmp(machine, "x86_64") == 0)
        return "amd64";
    if (machine[0] == 'i' && strlen(machine) == 4 && strcmp(machine + 2, "86") == 0)
        return "i386";
    return machine;
}

static void word_envi(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    corral_strbuf_puts(out, "Environment:\n");
    env_line(out, "zookeeper.version", info.version);
    char host[256] = "";
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    env_line(out, "host.name", host);
    /* In place of the java.* lines: what runs the server. */
    env_line(out, "corral.version", CORRAL_VERSION);
    env_line(out, "corral.executable", env.exe);
    env_line(out, "corral.config_file", info.config_file);
    env_line(out, "corral.data_dir", info.data_dir);
    env_line(out, "corral.module_path", env.module_path);
    env_line(out, "corral.modules", env.modules);
    corral_strbuf_printf(out, "corral.pid=%ld\n", (long)getpid());
#ifdef __GLIBC__
    corral_strbuf_printf(out, "libc.version=glibc %s\n", gnu_get_libc_version());
#endif
    const char *tmp = getenv("TMPDIR");
    env_line(out, "tmpdir", tmp && tmp[0] ? tmp : "/tmp");
    struct utsname u;
    if (uname(&u) == 0) {
        env_line(out, "os.name", u.sysname);
        env_line(out, "os.arch", java_arch(u.machine));
        env_line(out, "os.version", u.release);
    } else {
        env_line(out, "os.name", NULL);
        env_line(out, "os.arch", NULL);
        env_line(out, "os.version", NULL);
    }
    env_line(out, "user.name", env.user_name);
    env_line(out, "user.home", env.user_home);
    char cwd[PATH_MAX];
    env_line(out, "user.dir", getcwd(cwd, sizeof cwd) ? cwd : NULL);
    /* The JVM heap lines, for a native process: free = memory the system
     * can still give (MemAvailable); max = the address-space limit, or the
     * machine's memory when unlimited; total = the server's resident size. */
    env_mb(out, "os.memory.free", meminfo("MemAvailable"));
    struct rlimit rl;
    int64_t max = meminfo("MemTotal");
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (max < 0 || (int64_t)rl.rlim_cur < max))
        max = (int64_t)rl.rlim_cur;
    env_mb(out, "os.memory.max", max);
    env_mb(out, "os.memory.total", resident_bytes());
}

/* ---- mntr ----------------------------------------------------------------- */

typedef struct Mntr {
    CorralStrbuf *out;
    char **keys;            /* printed so far, to skip registry duplicates */
    size_t nkeys, capkeys;
} Mntr;

static int mntr_claim(Mntr *m, const char *key)
{
    for (size_t i = 0; i < m->nkeys; i++)
        if (strcmp(m->keys[i], key) == 0)
            return 0;
    if (m->nkeys == m->capkeys) {
        m->capkeys = m->capkeys ? m->capkeys * 2 : 64;
        m->keys = xrealloc_arr(m->keys, m->capkeys, sizeof *m->keys);
    }
    m->keys[m->nkeys++] = xstrdup_or_null(key);
    return 1;
}

static void mntr_str(Mntr *m, const char *key, const char *v)
{
    if (mntr_claim(m, key))
        corral_strbuf_printf(m->out, "%s\t%s\n", key, v ? v : "null");
}

static void mntr_int(Mntr *m, const char *key, int64_t v)
{
    if (mntr_claim(m, key))
        corral_strbuf_printf(m->out, "%s\t%lld\n", key, (ll)v);
}

static void mntr_num(Mntr *m, const char *key, double v, int is_avg)
{
    if (!mntr_claim(m, key))
        return;
    corral_strbuf_printf(m->out, "%s\t", key);
    if (is_avg)
        fourlw_java_double(m->out, fourlw_round4(v));
    else
        fourlw_java_number(m->out, v);
    corral_strbuf_puts(m->out, "\n");
}

static void mntr_metric(void *ctx, const CorralMetricView *v)
{
    Mntr *m = ctx;
    char key[256];
    if (!v->name)
        return;
    switch (v->type) {
    case CORRAL_METRIC_COUNTER:
    case CORRAL_METRIC_GAUGE:
        fourlw_mntr_key(key, sizeof key, "", v->name);
        mntr_int(m, key, v->value);
        break;
    case CORRAL_METRIC_HISTOGRAM:
        /* AvgMinMaxCounter.values(): avg (a double), min, max, cnt, sum. */
        fourlw_mntr_key(key, sizeof key, "avg_", v->name);
        mntr_num(m, key, v->count ? v->sum / (double)v->count : 0.0, 1);
        fourlw_mntr_key(key, sizeof key, "min_", v->name);
        mntr_num(m, key, v->count ? v->min : 0, 0);
        fourlw_mntr_key(key, sizeof key, "max_", v->name);
        mntr_num(m, key, v->count ? v->max : 0, 0);
        fourlw_mntr_key(key, sizeof key, "cnt_", v->name);
        mntr_int(m, key, (int64_t)v->count);
        fourlw_mntr_key(key, sizeof key, "sum_", v->name);
        mntr_num(m, key, v->sum, 0);
        break;
    }
}

/* A registry metric that ZooKeeper's mntr has, printed at ZooKeeper's
 * position (when the core or a module registered it). */
static void mntr_registry(Mntr *m, const char *name)
{
    const CorralMetric *met = corral_metric_find(name);
    if (!met)
        return;
    CorralMetricView v;
    corral_metric_read(met, &v);
    mntr_metric(m, &v);
}

static void word_mntr(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    Mntr m = {out, NULL, 0, 0};
    /* The keys of ZooKeeper 3.8's mntr that Corral has values for, in the
     * order a 3.8 server prints them (regress/fixtures/zk38/mntr.txt). */
    mntr_str(&m, "zk_version", info.version);
    mntr_str(&m, "zk_server_state", info.mode);
    mntr_int(&m, "zk_ephemerals_count", info.ephemerals_count);
    mntr_int(&m, "zk_num_alive_connections", info.connections);
    mntr_num(&m, "zk_avg_latency", info.latency_avg_ms, 1);
    mntr_int(&m, "zk_outstanding_requests", info.outstanding_requests);
    mntr_int(&m, "zk_znode_count", info.node_count);
    mntr_int(&m, "zk_global_sessions", info.session_count);
    mntr_int(&m, "zk_packets_sent", info.packets_sent);
    mntr_int(&m, "zk_packets_received", info.packets_received);
    mntr_int(&m, "zk_watch_count", info.watch_count);
    mntr_registry(&m, "auth_failed_count");
    mntr_int(&m, "zk_min_latency", info.latency_min_ms);
    if (info.max_fds >= 0)
        mntr_int(&m, "zk_max_file_descriptor_count", info.max_fds);
    mntr_int(&m, "zk_approximate_data_size", info.approximate_data_size);
    if (info.open_fds >= 0)
        mntr_int(&m, "zk_open_file_descriptor_count", info.open_fds);
    mntr_int(&m, "zk_local_sessions", 0);   /* Corral has global sessions only */
    mntr_int(&m, "zk_uptime", info.uptime_ms);
    mntr_int(&m, "zk_max_latency", info.latency_max_ms);
    mntr_registry(&m, "large_requests_rejected");
    mntr_registry(&m, "connection_rejected");
    /* Then the metrics registry, in registration order. */
    corral_metrics_foreach(mntr_metric, &m);
    for (size_t i = 0; i < m.nkeys; i++)
        free(m.keys[i]);
    free(m.keys);
}

/* ---- wchs / wchc / wchp --------------------------------------------------- */

static void word_wchs(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    /* WatchManager.toString, then WatchCommand's println. */
    corral_strbuf_printf(out, "%lld connections watching %lld paths\nTotal watches:%lld\n",
                         (ll)corral_server_watching_sessions(), (ll)corral_server_watch_paths(),
                         (ll)info.watch_count);
}

typedef struct WatchDump {
    CorralStrbuf *out;
    int started;
    int64_t last_session;
    CorralStrbuf last_path;
} WatchDump;

/* WatchManager.dumpWatches(pw, false): "0xSESSION" then "\tPATH" lines.
 * An item of the answer is a path line, with its session's line if it
 * opens the group. */
static int watch_by_session(void *ctx, int64_t session, const char *path, size_t len)
{
    WatchDump *w = ctx;
    size_t mark = w->out->len;
    if (!w->started || session != w->last_session)
        corral_strbuf_printf(w->out, "0x%llx\n", (ull)session);
    w->started = 1;
    w->last_session = session;
    corral_strbuf_puts(w->out, "\t");
    corral_strbuf_append(w->out, path, len);
    corral_strbuf_puts(w->out, "\n");
    return !fourlw_cap_keep(&answer, mark);
}

/* WatchManager.dumpWatches(pw, true): "PATH" then "\t0xSESSION" lines. */
static int watch_by_path(void *ctx, int64_t session, const char *path, size_t len)
{
    WatchDump *w = ctx;
    size_t mark = w->out->len;
    if (!w->started || len != w->last_path.len || (len && memcmp(path, w->last_path.data, len) != 0)) {
        corral_strbuf_append(w->out, path, len);
        corral_strbuf_puts(w->out, "\n");
        corral_strbuf_reset(&w->last_path);
        corral_strbuf_append(&w->last_path, path, len);
    }
    w->started = 1;
    corral_strbuf_printf(w->out, "\t0x%llx\n", (ull)session);
    return !fourlw_cap_keep(&answer, mark);
}

static void watch_dump(CorralStrbuf *out, int by_path)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    WatchDump w = {out, 0, 0, CORRAL_STRBUF_INIT};
    if (by_path)
        corral_server_visit_watches_by_path(watch_by_path, &w);
    else
        corral_server_visit_watches_by_session(watch_by_session, &w);
    corral_strbuf_free(&w.last_path);
    corral_strbuf_puts(out, "\n");   /* WatchCommand's final println */
}

static void word_wchc(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out) { watch_dump(out, 0); }
static void word_wchp(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out) { watch_dump(out, 1); }

/* ---- hash ----------------------------------------------------------------- */

/* DigestCommand (ZooKeeper 3.7+): one "ZXID_HEX: DIGEST" line per entry of
 * the digest log.  Corral keeps the current digest only, so there is one
 * line: the zxid the tree has applied and the tree's digest, printed as the
 * Java long ZooKeeper prints (signed decimal).  Corral's digest is its own
 * hash of the tree (tree.h), not ZooKeeper's CRC sum: equal between Corral
 * members with the same data, not comparable with a ZooKeeper's. */
static void word_hash(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    int64_t zxid = 0;
    uint64_t digest = corral_server_tree_digest(&zxid);
    corral_strbuf_printf(out, "%llx: %lld\n", (ull)zxid, (ll)(int64_t)digest);
}

/* ---- dump ----------------------------------------------------------------- */

typedef struct SessRec {
    int64_t id, timeout_ms;
} SessRec;

typedef struct ConnRec {
    char *peer;
    int64_t session_id, timeout_ms, last_active_ms;
} ConnRec;

typedef struct DumpCtx {
    SessRec *sess;
    size_t nsess, capsess;
    ConnRec *conns;
    size_t nconns, capconns;
} DumpCtx;

static void dump_session(void *vctx, int64_t session, int64_t timeout_ms)
{
    DumpCtx *d = vctx;
    if (d->nsess == d->capsess) {
        d->capsess = d->capsess ? d->capsess * 2 : 16;
        d->sess = xrealloc_arr(d->sess, d->capsess, sizeof *d->sess);
    }
    d->sess[d->nsess++] = (SessRec){session, timeout_ms};
}

static void dump_conn(void *vctx, const CorralConnInfo *c)
{
    DumpCtx *d = vctx;
    if (d->nconns == d->capconns) {
        d->capconns = d->capconns ? d->capconns * 2 : 16;
        d->conns = xrealloc_arr(d->conns, d->capconns, sizeof *d->conns);
    }
    int64_t last = c->last_response_ms > c->established_ms ? c->last_response_ms : c->established_ms;
    d->conns[d->nconns++] = (ConnRec){xstrdup_or_null(c->peer ? c->peer : "null"), c->session_id, c->timeout_ms, last};
}

/* One "\tPATH" line of dumpEphemerals: an item of the answer. */
typedef struct EphCtx {
    FourlwCap *cap;
    size_t paths;
} EphCtx;

static int dump_ephemeral(void *ctx, int64_t session, const char *path, size_t len)
{
    EphCtx *e = ctx;
    CorralStrbuf *sb = e->cap->out;
    size_t mark = sb->len;
    corral_strbuf_puts(sb, "\t");
    corral_strbuf_append(sb, path, len);
    corral_strbuf_puts(sb, "\n");
    if (!fourlw_cap_keep(e->cap, mark))
        return 1;
    e->paths++;
    return 0;
}

static void word_dump(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    CorralServerInfo info;
    get_info(&info);
    if (!serving(&info)) {
        corral_strbuf_puts(out, zk_not_serving);
        return;
    }
    int64_t tick = info.tick_ms > 0 ? info.tick_ms : 2000;
    int64_t now = wall_ms();
    DumpCtx d = {0};
    corral_server_foreach_session(dump_session, &d);
    corral_server_foreach_conn(dump_conn, &d);

    /* SessionTrackerImpl.dumpSessions: the session expiry queue.  The core
     * does not publish each session's deadline, so it is estimated as
     * ZooKeeper sets it when the session is touched: the last answer on
     * the session's connection (now, for a session without one) plus the
     * timeout, rounded up to the next tick. */
    size_t nitems = d.nsess > d.nconns ? d.nsess : d.nconns;
    FourlwExpiry *items = xrealloc_arr(NULL, nitems, sizeof *items);
    char (*texts)[96] = xrealloc_arr(NULL, nitems, sizeof *texts);
    for (size_t i = 0; i < d.nsess; i++) {
        int64_t last = now;
        for (size_t j = 0; j < d.nconns; j++)
            if (d.conns[j].session_id == d.sess[i].id && d.conns[j].last_active_ms > 0) {
                last = d.conns[j].last_active_ms;
                break;
            }
        snprintf(texts[i], sizeof texts[i], "0x%llx", (ull)d.sess[i].id);
        items[i] = (FourlwExpiry){fourlw_round_next(last + d.sess[i].timeout_ms, tick), texts[i], 0};
    }
    corral_strbuf_puts(out, "SessionTracker dump:\nSession ");
    fourlw_dump_expiry(&answer, items, d.nsess);

    /* ZooKeeperServer.dumpEphemerals.  The count of sessions comes first,
     * so the lines are gathered apart, each session's as one item, within
     * what the cap leaves (minus room for the count line). */
    corral_strbuf_puts(out, "ephemeral nodes dump:\n");
    CorralStrbuf eph = CORRAL_STRBUF_INIT;
    FourlwCap eph_cap;
    size_t used = out->len + 64;
    fourlw_cap_init(&eph_cap, &eph, used < (size_t)max_answer_bytes ? (size_t)max_answer_bytes - used : 1);
    size_t with_eph = 0;
    for (size_t i = 0; i < d.nsess && !answer.truncated && !eph_cap.truncated; i++) {
        size_t mark = eph.len;
        corral_strbuf_printf(&eph, "0x%llx:\n", (ull)d.sess[i].id);
        EphCtx e = {&eph_cap, 0};
        if (fourlw_cap_keep(&eph_cap, mark))
            corral_server_visit_session_ephemerals(d.sess[i].id, dump_ephemeral, &e);
        if (e.paths) {
            with_eph++;
        } else {   /* no ephemerals (or none fitted): no header either */
            eph.len = mark;
            eph.data[mark] = '\0';
        }
    }
    corral_strbuf_printf(out, "Sessions with Ephemerals (%zu):\n", with_eph);
    if (eph.len)
        corral_strbuf_append(out, eph.data, eph.len);
    if (eph_cap.truncated)
        fourlw_cap_stop(&answer);
    corral_strbuf_free(&eph);

    /* NIOServerCnxnFactory.dumpConnections: the connection expiry queue,
     * whose interval is sessionlessCnxnTimeout; a connection with a session
     * expires a session timeout after its last activity, others after
     * sessionlessCnxnTimeout. */
    CorralStrbuf ctext = CORRAL_STRBUF_INIT;
    char **conn_texts = xrealloc_arr(NULL, d.nconns, sizeof *conn_texts);
    for (size_t i = 0; i < d.nconns; i++) {
        ConnRec *c = &d.conns[i];
        corral_strbuf_reset(&ctext);
        corral_strbuf_printf(&ctext, "ip: %s sessionId: 0x%llx", c->peer, (ull)c->session_id);
        conn_texts[i] = xstrdup_or_null(ctext.data);
        int64_t timeout = c->session_id && c->timeout_ms > 0 ? c->timeout_ms : SESSIONLESS_CNXN_TIMEOUT_MS;
        int64_t last = c->last_active_ms > 0 ? c->last_active_ms : now;
        items[i] = (FourlwExpiry){fourlw_round_next(last + timeout, SESSIONLESS_CNXN_TIMEOUT_MS), conn_texts[i], 0};
    }
    corral_strbuf_puts(out, "Connections dump:\nConnections ");
    fourlw_dump_expiry(&answer, items, d.nconns);
    corral_strbuf_free(&ctext);

    for (size_t i = 0; i < d.nconns; i++) {
        free(conn_texts[i]);
        free(d.conns[i].peer);
    }
    free(conn_texts);
    free(texts);
    free(items);
    free(d.sess);
    free(d.conns);
}

/* ---- registration and configuration ---------------------------------------- */

typedef void (*WordFn)(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out);

/* What the core calls for every word: the word's function, within the cap. */
static void run_capped(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    const WordFn *fn = arg;
    fourlw_cap_init(&answer, out, (size_t)max_answer_bytes);
    (*fn)(NULL, req, out);
    fourlw_cap_finish_text(&answer, MAX_ANSWER_SETTING);
}

static const struct {
    const char *word;
    WordFn fn;
} word_fns[] = {
    {"ruok", word_ruok}, {"srvr", word_srvr}, {"stat", word_stat}, {"conf", word_conf},
    {"envi", word_envi}, {"mntr", word_mntr}, {"isro", word_isro}, {"dirs", word_dirs},
    {"cons", word_cons}, {"crst", word_crst}, {"srst", word_srst}, {"wchs", word_wchs},
    {"wchc", word_wchc}, {"wchp", word_wchp}, {"dump", word_dump}, {"hash", word_hash},
};
#define NWORDS (sizeof word_fns / sizeof word_fns[0])
static CorralFourlw words[NWORDS];

typedef struct FourlwConf {
    const CorralConfig *allow;
    int64_t max_answer_bytes;
} FourlwConf;

static const CorralConfigKey conf_keys[] = {
    {"allow", CORRAL_KEY_NODE, offsetof(FourlwConf, allow), 0, 0, 0},
    {"max_answer_bytes", CORRAL_KEY_INT, offsetof(FourlwConf, max_answer_bytes), 0, 1024, INT64_C(1) << 30},
    CORRAL_CONFIG_KEYS_END,
};

/* A word of ZooKeeper's (server/words.c), to warn about typos in `allow`. */
static int known_word(const char *w)
{
    const CorralZkWord *zw = corral_zk_word_find(w, strlen(w));
    return zw && (zw->flags & CORRAL_WORD_FOURLW) && strcmp(zw->word, w) == 0;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    FourlwConf conf = {NULL, 1 << 20};
    if (corral_config_apply(config, conf_keys, &conf) < 0)
        return -1;
    max_answer_bytes = conf.max_answer_bytes;

    /* ZooKeeper's default whitelist is srvr alone (plus isro when
     * readonlymode.enabled, which a module cannot see: list it). */
    size_t n = 0;
    const char **allowed = NULL;
    if (conf.allow) {
        if (corral_config_type(conf.allow) != CORRAL_CFG_SEQ)
            return corral_config_error(conf.allow, "\"allow\" must be a list of four-letter words, not %s",
                                       corral_config_type_name(conf.allow));
        size_t len = corral_config_len(conf.allow);
        allowed = xrealloc_arr(NULL, len + 1, sizeof *allowed);
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
        allowed = xrealloc_arr(NULL, 1, sizeof *allowed);
    }
    /* zkServer.sh depends on srvr: ZooKeeper always allows it. */
    int has_srvr = 0;
    for (size_t i = 0; i < n; i++)
        has_srvr |= strcmp(allowed[i], "srvr") == 0;
    if (!has_srvr)
        allowed[n++] = "srvr";

    for (size_t i = 0; i < NWORDS; i++) {
        const CorralZkWord *zw = corral_zk_word_find(word_fns[i].word, 4);
        words[i] = (CorralFourlw){CORRAL_ABI_VERSION, (uint32_t)sizeof(CorralFourlw), word_fns[i].word,
                                  zw ? zw->description : "", run_capped, (void *)&word_fns[i].fn, {NULL}};
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
    if (corral_on_start(self, on_start, NULL) < 0 || corral_on_stop(self, on_stop, NULL) < 0)
        return -1;
    return 0;
}
