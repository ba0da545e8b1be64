/*
 * src/modules/fourlw/views.c: the admin views of fourlw and admin_http,
 * collected once (see views.h; admin_http/views.c compiles this file too).
 *
 * Everything runs on the event loop: nothing here resolves names or talks
 * to the network; conf's sizes walk the data directory and envi reads
 * /proc, as ZooKeeper's commands do.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* dl_iterate_phdr; the makefile defines it too */
#endif
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pwd.h>
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

#include "views.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

typedef long long ll;

/* ---- srvr and the others ---------------------------------------------------- */

void view_server(ServerView *v)
{
    memset(v, 0, sizeof *v);
    v->info.size = (uint32_t)sizeof v->info;
    v->info.open_fds = v->info.max_fds = -1;
    corral_server_info(&v->info);
    const char *mode = v->info.mode;
    /* ZooKeeper answers most commands with ZK_NOT_SERVING while the server
     * is not running (during a leader election, for instance). */
    v->serving = mode && mode[0] && strcmp(mode, "looking") != 0;
    v->leader = mode && strcmp(mode, "leader") == 0;
    v->watching_sessions = corral_server_watching_sessions();
    v->watch_paths = corral_server_watch_paths();
}

int64_t view_metric(const char *name, int64_t dflt)
{
    CorralMetric *m = corral_metric_find(name);
    if (!m)
        return dflt;
    CorralMetricView v;
    corral_metric_read(m, &v);
    return v.type == CORRAL_METRIC_HISTOGRAM ? (int64_t)v.count : v.value;
}

/* ---- conf --------------------------------------------------------------------- */

void view_kv_add(ViewKvList *l, const char *key, const char *value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->kv = corral_xreallocarray(l->kv, l->cap, sizeof *l->kv);
    }
    l->kv[l->n++] = (ViewKv){corral_xstrdup(key ? key : ""), corral_xstrdup(value ? value : "")};
}

const char *view_kv_find(const ViewKvList *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->kv[i].key, key) == 0)
            return l->kv[i].value;
    return NULL;
}

void view_kv_free(ViewKvList *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->kv[i].key);
        free(l->kv[i].value);
    }
    free(l->kv);
    memset(l, 0, sizeof *l);
}

static void conf_collect(void *ctx, const char *key, const char *value) { view_kv_add(ctx, key, value); }

void view_conf(ViewKvList *l, int with_sizes)
{
    ViewKvList core = {NULL, 0, 0};
    corral_server_conf(conf_collect, &core);
    int add_data = with_sizes && !view_kv_find(&core, "dataDirSize");
    int add_log = with_sizes && !view_kv_find(&core, "dataLogSize");
    for (size_t i = 0; i < core.n; i++) {
        const ViewKv *kv = &core.kv[i];
        view_kv_add(l, kv->key, kv->value);
        char size[32];
        if ((add_data && strcmp(kv->key, "dataDir") == 0) || (add_log && strcmp(kv->key, "dataLogDir") == 0)) {
            snprintf(size, sizeof size, "%lld", (ll)fourlw_dir_size(kv->value));
            view_kv_add(l, strcmp(kv->key, "dataDir") == 0 ? "dataDirSize" : "dataLogSize", size);
        }
    }
    view_kv_free(&core);
}

/* ---- envi ---------------------------------------------------------------------- */

/* Facts that do not change while the server runs, gathered by the start
 * hook (user lookups may go through NSS, which must not run on the event
 * loop while it serves). */
static struct {
    char *exe;
    char *module_path;      /* directories the loaded modules came from */
    char *modules;          /* "name version,..." in load order */
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
        l->names = corral_xreallocarray(l->names, l->n + 1, sizeof *l->names);
        l->names[l->n++] = corral_xstrdup(pi->dlpi_name);
    }
    return 0;
}

static void append_sep(CorralStrbuf *sb, const char *sep, const char *s)
{
    if (sb->len)
        corral_strbuf_puts(sb, sep);
    corral_strbuf_puts(sb, s);
}

/* dirs holds "a:b:c": is dir one of them? */
static int has_component(const CorralStrbuf *dirs, const char *dir)
{
    for (const char *p = dirs->data; p && *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == strlen(dir) && memcmp(p, dir, n) == 0)
            return 1;
        p = e ? e + 1 : p + n;
    }
    return 0;
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
                    if (!has_component(&dirs, dir))
                        append_sep(&dirs, ":", dir);
                }
            }
            dlclose(h);
        }
        free(l.names[i]);
    }
    free(l.names);
    env.modules = corral_xstrdup(mods.data ? mods.data : "");
    env.module_path = corral_xstrdup(dirs.data ? dirs.data : "");
    corral_strbuf_free(&mods);
    corral_strbuf_free(&dirs);
}

void view_env_start(void)
{
    tzset();
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) {
        buf[n] = '\0';
        env.exe = corral_xstrdup(buf);
    }
    find_modules();
    struct passwd pw, *res = NULL;
    char pwbuf[4096];
    if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &res) == 0 && res) {
        env.user_name = corral_xstrdup(pw.pw_name);
        env.user_home = corral_xstrdup(pw.pw_dir);
    }
    const char *user = getenv("USER"), *home = getenv("HOME");
    if (!env.user_name && user)
        env.user_name = corral_xstrdup(user);
    if (!env.user_home && home)
        env.user_home = corral_xstrdup(home);
}

void view_env_stop(void)
{
    free(env.exe);
    free(env.module_path);
    free(env.modules);
    free(env.user_name);
    free(env.user_home);
    memset(&env, 0, sizeof env);
}

static void env_add(ViewKvList *l, const char *key, const char *value)
{
    view_kv_add(l, key, value && value[0] ? value : "<NA>");
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

static void env_mb(ViewKvList *l, const char *key, int64_t bytes)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lldMB", (ll)(bytes / (1024 * 1024)));
    env_add(l, key, bytes < 0 ? NULL : buf);
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

void view_env(ViewKvList *l, const ServerView *v)
{
    char buf[PATH_MAX];
    env_add(l, "zookeeper.version", v->info.version);
    char host[256] = "";
    if (gethostname(host, sizeof host) < 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    env_add(l, "host.name", host);
    /* In place of the java.* lines: what runs the server. */
    env_add(l, "corral.version", CORRAL_VERSION);
    env_add(l, "corral.executable", env.exe);
    env_add(l, "corral.config_file", v->info.config_file);
    env_add(l, "corral.data_dir", v->info.data_dir);
    env_add(l, "corral.module_path", env.module_path);
    env_add(l, "corral.modules", env.modules);
    snprintf(buf, sizeof buf, "%ld", (long)getpid());
    env_add(l, "corral.pid", buf);
#ifdef __GLIBC__
    snprintf(buf, sizeof buf, "glibc %s", gnu_get_libc_version());
    env_add(l, "libc.version", buf);
#endif
    const char *tmp = getenv("TMPDIR");
    env_add(l, "tmpdir", tmp && tmp[0] ? tmp : "/tmp");
    struct utsname u;
    int have_u = uname(&u) == 0;
    env_add(l, "os.name", have_u ? u.sysname : NULL);
    env_add(l, "os.arch", have_u ? java_arch(u.machine) : NULL);
    env_add(l, "os.version", have_u ? u.release : NULL);
    env_add(l, "user.name", env.user_name);
    env_add(l, "user.home", env.user_home);
    env_add(l, "user.dir", getcwd(buf, sizeof buf));
    /* The JVM heap lines, for a native process: free = memory the system
     * can still give (MemAvailable); max = the address-space limit, or the
     * machine's memory when unlimited; total = the server's resident size. */
    env_mb(l, "os.memory.free", meminfo("MemAvailable"));
    struct rlimit rl;
    int64_t max = meminfo("MemTotal");
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (max < 0 || (int64_t)rl.rlim_cur < max))
        max = (int64_t)rl.rlim_cur;
    env_mb(l, "os.memory.max", max);
    env_mb(l, "os.memory.total", resident_bytes());
}

/* ---- mntr ---------------------------------------------------------------------- */

typedef struct Mntr {
    void (*fn)(void *ctx, const ViewValue *val);
    void *ctx;
    char **keys;            /* given so far, to skip registry duplicates */
    size_t n, cap;
} Mntr;

static int mntr_claim(Mntr *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return 0;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = corral_xreallocarray(m->keys, m->cap, sizeof *m->keys);
    }
    m->keys[m->n++] = corral_xstrdup(key);
    return 1;
}

static void mntr_give(Mntr *m, ViewValue v)
{
    if (mntr_claim(m, v.key))
        m->fn(m->ctx, &v);
}

static void mntr_str(Mntr *m, const char *key, const char *s) { mntr_give(m, (ViewValue){key, VIEW_STR, s, 0, 0}); }
static void mntr_int(Mntr *m, const char *key, int64_t i) { mntr_give(m, (ViewValue){key, VIEW_INT, NULL, i, 0}); }
static void mntr_dbl(Mntr *m, const char *key, ViewKind kind, double d)
{
    mntr_give(m, (ViewValue){key, kind, NULL, 0, d});
}

/* A registry metric: the key is its name without "zk_" (the renderers add
 * ZooKeeper's prefix where they print it). */
static void mntr_metric(void *ctx, const CorralMetricView *v)
{
    Mntr *m = ctx;
    char key[256];
    if (!v->name)
        return;
    const char *name = strncmp(v->name, "zk_", 3) == 0 ? v->name + 3 : v->name;
    if (v->type != CORRAL_METRIC_HISTOGRAM) {
        mntr_int(m, name, v->value);
        return;
    }
    /* AvgMinMaxCounter.values(): avg (a double), min, max, cnt, sum. */
    snprintf(key, sizeof key, "avg_%s", name);
    mntr_dbl(m, key, VIEW_AVG, v->count ? v->sum / (double)v->count : 0.0);
    snprintf(key, sizeof key, "min_%s", name);
    mntr_dbl(m, key, VIEW_NUM, v->count ? v->min : 0);
    snprintf(key, sizeof key, "max_%s", name);
    mntr_dbl(m, key, VIEW_NUM, v->count ? v->max : 0);
    snprintf(key, sizeof key, "cnt_%s", name);
    mntr_int(m, key, (int64_t)v->count);
    snprintf(key, sizeof key, "sum_%s", name);
    mntr_dbl(m, key, VIEW_NUM, v->sum);
}

/* A registry metric that ZooKeeper's mntr has, at ZooKeeper's position
 * (when the core or a module registered it). */
static void mntr_registry(Mntr *m, const char *name)
{
    const CorralMetric *met = corral_metric_find(name);
    if (!met)
        return;
    CorralMetricView v;
    corral_metric_read(met, &v);
    mntr_metric(m, &v);
}

void view_mntr(const ServerView *v, void (*fn)(void *ctx, const ViewValue *val), void *ctx)
{
    const CorralServerInfo *info = &v->info;
    Mntr m = {fn, ctx, NULL, 0, 0};
    /* The keys of ZooKeeper 3.8's mntr that Corral has values for, in the
     * order a 3.8 server prints them (regress/fixtures/zk38/mntr.txt). */
    mntr_str(&m, "version", info->version);
    mntr_str(&m, "server_state", info->mode && info->mode[0] ? info->mode : "looking");
    mntr_int(&m, "ephemerals_count", info->ephemerals_count);
    mntr_int(&m, "num_alive_connections", info->connections);
    mntr_dbl(&m, "avg_latency", VIEW_AVG, info->latency_avg_ms);
    mntr_int(&m, "outstanding_requests", info->outstanding_requests);
    mntr_int(&m, "znode_count", info->node_count);
    mntr_int(&m, "global_sessions", info->session_count);
    mntr_int(&m, "packets_sent", info->packets_sent);
    mntr_int(&m, "packets_received", info->packets_received);
    mntr_int(&m, "watch_count", info->watch_count);
    mntr_registry(&m, "auth_failed_count");
    mntr_int(&m, "min_latency", info->latency_min_ms);
    if (info->max_fds >= 0)
        mntr_int(&m, "max_file_descriptor_count", info->max_fds);
    mntr_int(&m, "approximate_data_size", info->approximate_data_size);
    if (info->open_fds >= 0)
        mntr_int(&m, "open_file_descriptor_count", info->open_fds);
    mntr_int(&m, "local_sessions", 0);   /* Corral has global sessions only */
    mntr_int(&m, "uptime", info->uptime_ms);
    mntr_int(&m, "max_latency", info->latency_max_ms);
    mntr_registry(&m, "large_requests_rejected");
    mntr_registry(&m, "connection_rejected");
    /* Then the metrics registry, in registration order. */
    corral_metrics_foreach(mntr_metric, &m);
    for (size_t i = 0; i < m.n; i++)
        free(m.keys[i]);
    free(m.keys);
}

/* ---- wchc, wchp ------------------------------------------------------------------- */

typedef struct Groups {
    ViewWatchFn fn;
    void *ctx;
    int by_path, started;
    int64_t last_session;
    CorralStrbuf last_path;
} Groups;

static int group_visit(void *ctx, int64_t session, const char *path, size_t len)
{
    Groups *g = ctx;
    int first;
    if (g->by_path) {
        first = !g->started || len != g->last_path.len || (len && memcmp(path, g->last_path.data, len) != 0);
        if (first) {
            corral_strbuf_reset(&g->last_path);
            corral_strbuf_append(&g->last_path, path, len);
        }
    } else {
        first = !g->started || session != g->last_session;
        g->last_session = session;
    }
    g->started = 1;
    return g->fn(g->ctx, first, session, path, len);
}

int view_watches(int by_path, ViewWatchFn fn, void *ctx)
{
    Groups g = {fn, ctx, by_path, 0, 0, CORRAL_STRBUF_INIT};
    int stopped = by_path ? corral_server_visit_watches_by_path(group_visit, &g)
                          : corral_server_visit_watches_by_session(group_visit, &g);
    corral_strbuf_free(&g.last_path);
    return stopped;
}

typedef struct EphWalk {
    ViewWatchFn fn;
    void *ctx;
    size_t taken;
} EphWalk;

static int eph_visit(void *ctx, int64_t session, const char *path, size_t len)
{
    EphWalk *w = ctx;
    if (w->fn(w->ctx, w->taken == 0, session, path, len))
        return 1;
    w->taken++;
    return 0;
}

size_t view_ephemerals(int64_t session, ViewWatchFn fn, void *ctx)
{
    EphWalk w = {fn, ctx, 0};
    corral_server_visit_session_ephemerals(session, eph_visit, &w);
    return w.taken;
}

/* ---- dump --------------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct DumpRec {
    DumpView *d;
    size_t capsess, capconns;
    int64_t *timeout, *last;    /* per connection, until the deadlines are known */
} DumpRec;

/* Sessions are first kept with their last activity in expire_ms. */
static void dump_session(void *ctx, int64_t session, int64_t timeout_ms)
{
    DumpRec *r = ctx;
    DumpView *d = r->d;
    if (d->nsess == r->capsess) {
        r->capsess = r->capsess ? r->capsess * 2 : 16;
        d->sess = corral_xreallocarray(d->sess, r->capsess, sizeof *d->sess);
    }
    d->sess[d->nsess++] = (ViewSession){session, timeout_ms, 0};
}

static void dump_conn(void *ctx, const CorralConnInfo *c)
{
    DumpRec *r = ctx;
    DumpView *d = r->d;
    if (d->nconns == r->capconns) {
        r->capconns = r->capconns ? r->capconns * 2 : 16;
        d->conns = corral_xreallocarray(d->conns, r->capconns, sizeof *d->conns);
        r->timeout = corral_xreallocarray(r->timeout, r->capconns, sizeof *r->timeout);
        r->last = corral_xreallocarray(r->last, r->capconns, sizeof *r->last);
    }
    r->timeout[d->nconns] = c->timeout_ms;
    r->last[d->nconns] = c->last_response_ms > c->established_ms ? c->last_response_ms : c->established_ms;
    d->conns[d->nconns++] = (ViewConn){corral_xstrdup(c->peer ? c->peer : "null"), c->session_id, 0};
}

static int by_id(const void *a, const void *b)
{
    const ViewSession *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_deadline(const void *a, const void *b)
{
    const ViewSession *x = a, *y = b;
    if (x->expire_ms != y->expire_ms)
        return x->expire_ms < y->expire_ms ? -1 : 1;
    return by_id(a, b);
}

void view_dump(DumpView *d, const ServerView *v)
{
    memset(d, 0, sizeof *d);
    int64_t tick = v->info.tick_ms > 0 ? v->info.tick_ms : 2000;
    int64_t now = wall_ms();
    DumpRec r = {d, 0, 0, NULL, NULL};
    corral_server_foreach_session(dump_session, &r);
    corral_server_foreach_conn(dump_conn, &r);
    /* A session's last activity: its connection's (sessions by id, looked
     * up by bisection, so the cost stays n log n). */
    if (d->nsess > 1)
        qsort(d->sess, d->nsess, sizeof *d->sess, by_id);
    for (size_t i = 0; i < d->nconns; i++) {
        ViewSession key = {d->conns[i].session_id, 0, 0};
        ViewSession *s = d->conns[i].session_id && d->nsess
                             ? bsearch(&key, d->sess, d->nsess, sizeof *d->sess, by_id) : NULL;
        if (s && r.last[i] > s->expire_ms)
            s->expire_ms = r.last[i];
        int64_t timeout = d->conns[i].session_id && r.timeout[i] > 0 ? r.timeout[i]
                                                                     : VIEW_SESSIONLESS_CNXN_TIMEOUT_MS;
        int64_t last = r.last[i] > 0 ? r.last[i] : now;
        d->conns[i].expire_ms = fourlw_round_next(last + timeout, VIEW_SESSIONLESS_CNXN_TIMEOUT_MS);
    }
    for (size_t i = 0; i < d->nsess; i++) {
        int64_t last = d->sess[i].expire_ms > 0 ? d->sess[i].expire_ms : now;
        d->sess[i].expire_ms = fourlw_round_next(last + d->sess[i].timeout_ms, tick);
    }
    if (d->nsess > 1)
        qsort(d->sess, d->nsess, sizeof *d->sess, by_deadline);
    free(r.timeout);
    free(r.last);
}

void view_dump_free(DumpView *d)
{
    for (size_t i = 0; i < d->nconns; i++)
        free(d->conns[i].peer);
    free(d->conns);
    free(d->sess);
    memset(d, 0, sizeof *d);
}
