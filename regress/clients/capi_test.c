/*
 * regress/clients/capi_test.c: scenarios run with ZooKeeper's own C client
 * (libzookeeper_mt, synchronous API, watcher callbacks), printing a
 * transcript that regress/t/130_capi.t compares between Apache ZooKeeper 3.8
 * and corrald (regress/clients/capi_test.expected is ZooKeeper's).
 *
 *     capi_test HOST:PORT [SCENARIO ...]
 *
 * The transcript:
 * - one section per scenario ("== name");
 * - results as the C API returns them: the return code's name (ZOK,
 *   ZNONODE ...), paths, data, stats;
 * - zxids printed as {zN} (N decimal): the test ranks them per section, as
 *   the kazoo scenarios do, so only equalities and order are compared;
 * - ctime/mtime checked, not printed ("times=ok"), ephemeralOwner printed
 *   as the name of the handle that owns it;
 * - watcher calls recorded by each handle's completion thread and printed
 *   at flush points, per handle, in the order they ran.  A flush first does
 *   an asynchronous exists() on every handle and waits for its completion:
 *   the completion thread runs completions and watcher calls in the order
 *   their packets arrived, and ZooKeeper sends a notification before the
 *   answer of any later request, so every notification caused by the
 *   operations before the flush has been delivered.
 *
 * The server must run with a 500 ms tick (session timeouts 1000..10000 ms),
 * extended types and a short container check.
 *
 * A small TCP proxy (a thread) stands between some handles and the server,
 * so that a scenario can cut their connection and keep them away (the
 * listening socket is closed: connections are refused) while other
 * handles change things: the C client then reconnects with its session and
 * sends SetWatches, or finds its session expired.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define THREADED 1    /* the synchronous API of libzookeeper_mt */
#include <zookeeper/zookeeper.h>

#define OP_TIMEOUT_MS 10000
#define MAX_HANDLES 16
#define MAX_EVENTS 512

static const char *server_hosts;   /* HOST:PORT of the server */
static int server_port;

/* ------------------------------------------------------------------------ */
/* output */

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *rc_name(int rc)
{
    static char buf[32];
    switch (rc) {
#define C(x) case x: return #x
    C(ZOK); C(ZSYSTEMERROR); C(ZRUNTIMEINCONSISTENCY); C(ZDATAINCONSISTENCY);
    C(ZCONNECTIONLOSS); C(ZMARSHALLINGERROR); C(ZUNIMPLEMENTED);
    C(ZOPERATIONTIMEOUT); C(ZBADARGUMENTS); C(ZINVALIDSTATE);
    C(ZNEWCONFIGNOQUORUM); C(ZRECONFIGINPROGRESS); C(ZSSLCONNECTIONERROR);
    C(ZAPIERROR); C(ZNONODE); C(ZNOAUTH); C(ZBADVERSION);
    C(ZNOCHILDRENFOREPHEMERALS); C(ZNODEEXISTS); C(ZNOTEMPTY);
    C(ZSESSIONEXPIRED); C(ZINVALIDCALLBACK); C(ZINVALIDACL); C(ZAUTHFAILED);
    C(ZCLOSING); C(ZNOTHING); C(ZSESSIONMOVED); C(ZNOTREADONLY);
    C(ZEPHEMERALONLOCALSESSION); C(ZNOWATCHER); C(ZRECONFIGDISABLED);
    C(ZSESSIONCLOSEDREQUIRESASLAUTH); C(ZTHROTTLEDOP);
#undef C
    }
    snprintf(buf, sizeof buf, "rc%d", rc);
    return buf;
}

static const char *type_name(int type)
{
    if (type == ZOO_CREATED_EVENT) return "CREATED";
    if (type == ZOO_DELETED_EVENT) return "DELETED";
    if (type == ZOO_CHANGED_EVENT) return "CHANGED";
    if (type == ZOO_CHILD_EVENT) return "CHILD";
    if (type == ZOO_SESSION_EVENT) return "SESSION";
    if (type == ZOO_NOTWATCHING_EVENT) return "NOTWATCHING";
    return "type?";
}

static const char *state_name(int state)
{
    if (state == ZOO_EXPIRED_SESSION_STATE) return "EXPIRED_SESSION";
    if (state == ZOO_AUTH_FAILED_STATE) return "AUTH_FAILED";
    if (state == ZOO_CONNECTING_STATE) return "CONNECTING";
    if (state == ZOO_ASSOCIATING_STATE) return "ASSOCIATING";
    if (state == ZOO_CONNECTED_STATE) return "CONNECTED";
    if (state == ZOO_READONLY_STATE) return "READONLY";
    if (state == ZOO_NOTCONNECTED_STATE) return "NOTCONNECTED";
    if (state == 0) return "0";
    return "state?";
}

/* ------------------------------------------------------------------------ */
/* handles and their recorded watcher calls */

typedef struct Handle {
    const char *name;
    zhandle_t *zh;
    int64_t sid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *events[MAX_EVENTS];
    int nevents;
    int barrier_done;
    int used;
} Handle;

static Handle handles[MAX_HANDLES];

/* The context of a watcher: which handle, which label. */
typedef struct WCtx {
    Handle *h;
    const char *label;
} WCtx;

static void record(Handle *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void record(Handle *h, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&h->mu);
    if (h->nevents < MAX_EVENTS)
        h->events[h->nevents++] = strdup(buf);
    pthread_mutex_unlock(&h->mu);
}

/* The handle's default watcher: session events, and notifications of watches
 * set with watch=1. */
static void default_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    Handle *h = ctx;
    (void)zh;
    if (type == ZOO_SESSION_EVENT)
        record(h, "session %s", state_name(state));
    else
        record(h, "default: %s %s", type_name(type), path ? path : "(null)");
}

static void watch_fn(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    WCtx *w = ctx;
    (void)zh;
    (void)state;
    /* The C client passes session events to every watcher, after the
     * default one: that is the library's doing, not the server's, and only
     * the default watcher records them. */
    if (type != ZOO_SESSION_EVENT)
        record(w->h, "%s: %s %s", w->label, type_name(type), path ? path : "(null)");
}

static WCtx *wctx(Handle *h, const char *label)
{
    WCtx *w = calloc(1, sizeof *w);
    w->h = h;
    w->label = label;
    return w;
}

static const char *owner_name(int64_t owner)
{
    static char buf[32];
    if (owner == 0)
        return "0";
    for (int i = 0; i < MAX_HANDLES; i++)
        if (handles[i].used && handles[i].sid == owner)
            return handles[i].name;
    snprintf(buf, sizeof buf, "unknown");
    return buf;
}

static void drop_events(Handle *h);

static int has_event(Handle *h, const char *prefix)
{
    int found = 0;
    pthread_mutex_lock(&h->mu);
    for (int k = 0; k < h->nevents; k++)
        if (!strncmp(h->events[k], prefix, strlen(prefix)))
            found = 1;
    pthread_mutex_unlock(&h->mu);
    return found;
}

static int has_session_event(Handle *h)
{
    return has_event(h, "session ");
}

/* Waits until the handle lost its connection and its default watcher was
 * told (CONNECTING), then forgets that event. */
static void wait_cut(Handle *h)
{
    double end = now_ms() + OP_TIMEOUT_MS;
    while (now_ms() < end && !has_event(h, "session CONNECTING"))
        sleep_ms(2);
    drop_events(h);
}

static int wait_state(Handle *h, int want, int ms)
{
    double end = now_ms() + ms;
    while (now_ms() < end) {
        int st = zoo_state(h->zh);
        if (st == want)
            return 1;
        if (want == ZOO_CONNECTED_STATE && (st == ZOO_EXPIRED_SESSION_STATE || st == ZOO_AUTH_FAILED_STATE))
            return 0;
        sleep_ms(5);
    }
    return 0;
}

/* Opens a handle to `hosts` (the server, or a proxy); waits until it is
 * connected (or refused).  `cid` reattaches to a session. */
static Handle *open_handle(const char *name, const char *hosts, int timeout_ms, const clientid_t *cid)
{
    Handle *h = NULL;
    for (int i = 0; i < MAX_HANDLES; i++)
        if (!handles[i].used) {
            h = &handles[i];
            break;
        }
    if (!h) {
        out("!! too many handles");
        exit(1);
    }
    memset(h, 0, sizeof *h);
    h->used = 1;
    h->name = name;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->zh = zookeeper_init(hosts, default_watcher, timeout_ms, cid, h, 0);
    if (!h->zh) {
        out("!! zookeeper_init %s: %s", name, strerror(errno));
        exit(1);
    }
    wait_state(h, ZOO_CONNECTED_STATE, OP_TIMEOUT_MS);
    /* the session event (CONNECTED or EXPIRED_SESSION) reaches the default
     * watcher a moment later, from the completion thread: wait for it so
     * that it does not land in a later flush; the scenario prints the state
     * itself when it matters */
    double end = now_ms() + OP_TIMEOUT_MS;
    while (now_ms() < end && !has_session_event(h))
        sleep_ms(2);
    drop_events(h);
    const clientid_t *c = zoo_client_id(h->zh);
    if (c && zoo_state(h->zh) == ZOO_CONNECTED_STATE && !(cid && cid->client_id == c->client_id))
        h->sid = c->client_id;
    else if (cid && c && cid->client_id == c->client_id)
        h->sid = 0;    /* the session has its name already */
    return h;
}

static void close_handle(Handle *h, const char *label)
{
    int rc = zookeeper_close(h->zh);
    if (label)
        out("%s -> %s", label, rc_name(rc));
    h->zh = NULL;
}

/* ------------------------------------------------------------------------ */
/* flush: barrier on every handle, then print what the watchers recorded */

static void barrier_cb(int rc, const struct Stat *stat, const void *data)
{
    Handle *h = (Handle *)data;
    (void)rc;
    (void)stat;
    pthread_mutex_lock(&h->mu);
    h->barrier_done = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void flush_opt(const char *label, int sorted)
{
    for (int i = 0; i < MAX_HANDLES; i++) {
        Handle *h = &handles[i];
        if (!h->used || !h->zh || zoo_state(h->zh) != ZOO_CONNECTED_STATE)
            continue;
        h->barrier_done = 0;
        if (zoo_aexists(h->zh, "/", 0, barrier_cb, h) != ZOK)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += OP_TIMEOUT_MS / 1000;
        pthread_mutex_lock(&h->mu);
        while (!h->barrier_done)
            if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT)
                break;
        if (!h->barrier_done)
            out("flush %s: TIMEOUT", h->name);
        pthread_mutex_unlock(&h->mu);
    }
    int any = 0;
    for (int i = 0; i < MAX_HANDLES; i++) {
        Handle *h = &handles[i];
        if (!h->used)
            continue;
        pthread_mutex_lock(&h->mu);
        if (sorted && h->nevents > 1)
            qsort(h->events, h->nevents, sizeof h->events[0], cmp_str);
        if (sorted && h->nevents)
            out("  (sorted)");
        for (int k = 0; k < h->nevents; k++) {
            out("  %s %s", h->name, h->events[k]);
            free(h->events[k]);
            any = 1;
        }
        h->nevents = 0;
        pthread_mutex_unlock(&h->mu);
    }
    if (!any && label && *label)
        out("  (no events) %s", label);
}

static void flush(const char *label)
{
    flush_opt(label, 0);
}

static void drop_events(Handle *h)
{
    pthread_mutex_lock(&h->mu);
    for (int k = 0; k < h->nevents; k++)
        free(h->events[k]);
    h->nevents = 0;
    pthread_mutex_unlock(&h->mu);
}

/* ------------------------------------------------------------------------ */
/* formatting */

static const char *fmt_times(const struct Stat *st)
{
    static char buf[96];
    double now = (double)time(NULL) * 1000.0;
    const char *c = st->ctime == 0 ? "0" : (st->ctime > now - 600000 && st->ctime < now + 600000 ? "ok" : "bad");
    const char *m = st->mtime == 0 ? "0" : (st->mtime > now - 600000 && st->mtime < now + 600000 ? "ok" : "bad");
    int rel = st->mtime >= st->ctime && (st->version > 0 || st->mtime == st->ctime);
    if (!strcmp(c, "ok") && !strcmp(m, "ok") && rel)
        return "ok";
    snprintf(buf, sizeof buf, "ctime:%s,mtime:%s,%s", c, m, rel ? "ordered" : "unordered");
    return buf;
}

static char *fmt_stat(const struct Stat *st)
{
    static char bufs[4][512];
    static int which;
    char *buf = bufs[which++ & 3];
    snprintf(buf, 512,
             "czxid={z%lld} mzxid={z%lld} pzxid={z%lld} times=%s version=%d cversion=%d aversion=%d "
             "owner=%s dataLength=%d numChildren=%d",
             (long long)st->czxid, (long long)st->mzxid, (long long)st->pzxid, fmt_times(st), st->version,
             st->cversion, st->aversion, owner_name(st->ephemeralOwner), st->dataLength, st->numChildren);
    return buf;
}

static char *fmt_data(const char *d, int len)
{
    static char bufs[4][600];
    static int which;
    char *buf = bufs[which++ & 3];
    if (len < 0 || !d) {
        snprintf(buf, 600, "len=%d", len);
        return buf;
    }
    int n = snprintf(buf, 600, "len=%d '", len);
    for (int i = 0; i < len && i < 64 && n < 580; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c >= 32 && c < 127 && c != '\'' && c != '\\')
            buf[n++] = (char)c;
        else
            n += snprintf(buf + n, 600 - n, "\\x%02x", c);
    }
    snprintf(buf + n, 600 - n, "'%s", len > 64 ? "..." : "");
    return buf;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *fmt_children(struct String_vector *sv)
{
    static char buf[4096];
    qsort(sv->data, sv->count, sizeof sv->data[0], cmp_cstr);
    int n = snprintf(buf, sizeof buf, "[");
    for (int i = 0; i < sv->count && n < (int)sizeof buf - 64; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", sv->data[i]);
    snprintf(buf + n, sizeof buf - n, "]");
    return buf;
}

static char *fmt_acl(struct ACL_vector *v)
{
    static char buf[2048];
    int n = snprintf(buf, sizeof buf, "[");
    for (int i = 0; i < v->count && n < (int)sizeof buf - 200; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%d:%s:%s", i ? " " : "", v->data[i].perms, v->data[i].id.scheme,
                      v->data[i].id.id);
    snprintf(buf + n, sizeof buf - n, "]");
    return buf;
}

/* ------------------------------------------------------------------------ */
/* operations that print their result */

static void do_create(Handle *h, const char *path, const char *data, int len, const struct ACL_vector *acl,
                      int mode, int64_t ttl, int with_stat)
{
    char pbuf[512] = "";
    struct Stat st;
    int rc;
    memset(&st, 0, sizeof st);
    if (ttl)
        rc = with_stat ? zoo_create2_ttl(h->zh, path, data, len, acl, mode, ttl, pbuf, sizeof pbuf, &st)
                       : zoo_create_ttl(h->zh, path, data, len, acl, mode, ttl, pbuf, sizeof pbuf);
    else
        rc = with_stat ? zoo_create2(h->zh, path, data, len, acl, mode, pbuf, sizeof pbuf, &st)
                       : zoo_create(h->zh, path, data, len, acl, mode, pbuf, sizeof pbuf);
    if (rc == ZOK && with_stat)
        out("%s create2 %s mode=%d%s -> ZOK %s %s", h->name, path, mode, ttl ? " ttl" : "", pbuf, fmt_stat(&st));
    else if (rc == ZOK)
        out("%s create %s mode=%d%s -> ZOK %s", h->name, path, mode, ttl ? " ttl" : "", pbuf);
    else
        out("%s create%s %s mode=%d%s -> %s", h->name, with_stat ? "2" : "", path, mode, ttl ? " ttl" : "",
            rc_name(rc));
}

static void create(Handle *h, const char *path, const char *data, int mode)
{
    do_create(h, path, data, data ? (int)strlen(data) : -1, &ZOO_OPEN_ACL_UNSAFE, mode, 0, 0);
}

static void do_get(Handle *h, const char *path, WCtx *w, int bufsize)
{
    char *buf = malloc(bufsize > 0 ? bufsize : 1);
    int len = bufsize;
    struct Stat st;
    int rc = w ? zoo_wget(h->zh, path, watch_fn, w, buf, &len, &st) : zoo_get(h->zh, path, 0, buf, &len, &st);
    if (rc == ZOK)
        out("%s get %s%s%s -> ZOK %s %s", h->name, path, w ? " watch=" : "", w ? w->label : "", fmt_data(buf, len),
            fmt_stat(&st));
    else
        out("%s get %s%s%s -> %s", h->name, path, w ? " watch=" : "", w ? w->label : "", rc_name(rc));
    free(buf);
}

static void get(Handle *h, const char *path)
{
    do_get(h, path, NULL, 1024);
}

static void set(Handle *h, const char *path, const char *data, int len, int version)
{
    struct Stat st;
    int rc = zoo_set2(h->zh, path, data, len, version, &st);
    if (rc == ZOK)
        out("%s set %s v=%d -> ZOK %s", h->name, path, version, fmt_stat(&st));
    else
        out("%s set %s v=%d -> %s", h->name, path, version, rc_name(rc));
}

static void exists(Handle *h, const char *path, WCtx *w)
{
    struct Stat st;
    int rc = w ? zoo_wexists(h->zh, path, watch_fn, w, &st) : zoo_exists(h->zh, path, 0, &st);
    if (rc == ZOK)
        out("%s exists %s%s%s -> ZOK %s", h->name, path, w ? " watch=" : "", w ? w->label : "", fmt_stat(&st));
    else
        out("%s exists %s%s%s -> %s", h->name, path, w ? " watch=" : "", w ? w->label : "", rc_name(rc));
}

static void children(Handle *h, const char *path, WCtx *w, int with_stat)
{
    struct String_vector sv;
    struct Stat st;
    int rc;
    memset(&sv, 0, sizeof sv);
    if (with_stat)
        rc = w ? zoo_wget_children2(h->zh, path, watch_fn, w, &sv, &st) : zoo_get_children2(h->zh, path, 0, &sv, &st);
    else
        rc = w ? zoo_wget_children(h->zh, path, watch_fn, w, &sv) : zoo_get_children(h->zh, path, 0, &sv);
    if (rc == ZOK)
        out("%s children%s %s%s%s -> ZOK %s%s%s", h->name, with_stat ? "2" : "", path, w ? " watch=" : "",
            w ? w->label : "", fmt_children(&sv), with_stat ? " " : "", with_stat ? fmt_stat(&st) : "");
    else
        out("%s children%s %s%s%s -> %s", h->name, with_stat ? "2" : "", path, w ? " watch=" : "",
            w ? w->label : "", rc_name(rc));
    deallocate_String_vector(&sv);
}

static void del(Handle *h, const char *path, int version)
{
    out("%s delete %s v=%d -> %s", h->name, path, version, rc_name(zoo_delete(h->zh, path, version)));
}

/* ------------------------------------------------------------------------ */
/* TCP proxy: forwards 127.0.0.1:<port> to the server; down() closes every
 * connection and the listening socket (new connections are refused);
 * up() listens again on the same port. */

typedef struct Proxy {
    int port;
    int lfd;
    int pairs[64][2];
    int npairs;
    int up;
    int stop;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    char address[64];
} Proxy;

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in a;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)server_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void proxy_drop(Proxy *p, int i)
{
    close(p->pairs[i][0]);
    close(p->pairs[i][1]);
    p->pairs[i][0] = p->pairs[p->npairs - 1][0];
    p->pairs[i][1] = p->pairs[p->npairs - 1][1];
    p->npairs--;
}

static void *proxy_main(void *arg)
{
    Proxy *p = arg;
    char buf[65536];
    for (;;) {
        struct pollfd fds[2 + 128];
        int n = 0;
        pthread_mutex_lock(&p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        fds[n].fd = p->wake[0];
        fds[n++].events = POLLIN;
        if (p->up && p->lfd >= 0) {
            fds[n].fd = p->lfd;
            fds[n++].events = POLLIN;
        }
        int base = n;
        for (int i = 0; i < p->npairs; i++) {
            fds[n].fd = p->pairs[i][0];
            fds[n++].events = POLLIN;
            fds[n].fd = p->pairs[i][1];
            fds[n++].events = POLLIN;
        }
        pthread_mutex_unlock(&p->mu);
        if (poll(fds, n, 500) <= 0)
            continue;
        pthread_mutex_lock(&p->mu);
        if (fds[0].revents) {
            char c[64];
            if (read(p->wake[0], c, sizeof c) < 0) {
                /* nothing */
            }
            pthread_mutex_unlock(&p->mu);
            continue;    /* the sets changed: poll again */
        }
        if (base == 2 && fds[1].revents) {
            int c = accept(p->lfd, NULL, NULL);
            if (c >= 0) {
                int s = connect_server();
                if (s < 0 || p->npairs >= 64) {
                    close(c);
                    if (s >= 0)
                        close(s);
                } else {
                    p->pairs[p->npairs][0] = c;
                    p->pairs[p->npairs][1] = s;
                    p->npairs++;
                }
            }
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        for (int k = base; k < n; k++) {
            if (!fds[k].revents)
                continue;
            int pi = (k - base) / 2, side = (k - base) % 2;
            if (pi >= p->npairs || p->pairs[pi][side] != fds[k].fd)
                break;
            ssize_t r = read(fds[k].fd, buf, sizeof buf);
            int ok = r > 0;
            for (ssize_t off = 0; ok && off < r;) {
                ssize_t w = write(p->pairs[pi][1 - side], buf + off, r - off);
                if (w <= 0)
                    ok = 0;
                else
                    off += w;
            }
            if (!ok) {
                proxy_drop(p, pi);
                break;    /* indexes moved: poll again */
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static void proxy_wake(Proxy *p)
{
    if (write(p->wake[1], "x", 1) < 0) {
        /* nothing */
    }
}

static Proxy *proxy_start(void)
{
    Proxy *p = calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->lfd = listen_on(0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    getsockname(p->lfd, (struct sockaddr *)&a, &al);
    p->port = ntohs(a.sin_port);
    snprintf(p->address, sizeof p->address, "127.0.0.1:%d", p->port);
    p->up = 1;
    if (pipe(p->wake) < 0) {
        perror("pipe");
        exit(1);
    }
    pthread_create(&p->thread, NULL, proxy_main, p);
    return p;
}

static void proxy_down(Proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->up = 0;
    if (p->lfd >= 0)
        close(p->lfd);
    p->lfd = -1;
    while (p->npairs)
        proxy_drop(p, 0);
    pthread_mutex_unlock(&p->mu);
    proxy_wake(p);
}

static void proxy_up(Proxy *p)
{
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < 200 && p->lfd < 0; i++) {
        p->lfd = listen_on(p->port);
        if (p->lfd < 0)
            sleep_ms(10);
    }
    p->up = 1;
    pthread_mutex_unlock(&p->mu);
    proxy_wake(p);
}

static void proxy_stop(Proxy *p)
{
    proxy_down(p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_mutex_unlock(&p->mu);
    proxy_wake(p);
    pthread_join(p->thread, NULL);
}

/* ------------------------------------------------------------------------ */
/* scenarios */

static void sc_basic(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    create(a, "/ca", "hello", 0);
    create(a, "/ca", "again", 0);
    create(a, "/ca/none/child", "x", 0);
    do_create(a, "/ca/c2", "two", 3, &ZOO_OPEN_ACL_UNSAFE, 0, 0, 1);
    create(a, "/ca/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
    create(a, "/ca/s-", "", ZOO_PERSISTENT_SEQUENTIAL);
    create(a, "/ca/e", "eph", ZOO_EPHEMERAL);
    exists(a, "/ca/e", NULL);
    create(a, "/ca/e/x", "", 0);
    create(a, "/ca/es-", "", ZOO_EPHEMERAL_SEQUENTIAL);
    create(a, "/ca/cont", "", ZOO_CONTAINER);
    do_create(a, "/ca/ttl", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, 60000, 0);
    do_create(a, "/ca/ttlz", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_WITH_TTL, -1, 0);
    do_create(a, "/ca/ttls-", "t", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL_WITH_TTL, 60000, 1);
    create(a, "/ca/null", NULL, 0);
    get(a, "/ca/null");
    do_create(a, "/ca/bin", "a\0b\0c", 5, &ZOO_OPEN_ACL_UNSAFE, 0, 0, 0);
    get(a, "/ca/bin");
    get(a, "/ca");
    do_get(a, "/ca", NULL, 2);
    do_get(a, "/ca", NULL, 0);
    set(a, "/ca", "world", 5, -1);
    set(a, "/ca", "v2", 2, 1);
    set(a, "/ca", "v3", 2, 1);
    set(a, "/ca", NULL, -1, -1);
    get(a, "/ca");
    set(a, "/ca", "", 0, -1);
    get(a, "/ca");
    set(a, "/ca/none", "x", 1, -1);
    get(a, "/ca/none");
    exists(a, "/ca/none", NULL);
    exists(a, "/ca", NULL);
    children(a, "/ca", NULL, 0);
    children(a, "/ca", NULL, 1);
    children(a, "/ca/none", NULL, 1);
    children(a, "/ca/c2", NULL, 1);
    del(a, "/ca", -1);
    del(a, "/ca/c2", 5);
    del(a, "/ca/c2", 0);
    del(a, "/ca/c2", 0);
    del(a, "/", -1);
    get(a, "/ca");
    close_handle(a, "A close");
}

static void sc_watches(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    Handle *b = open_handle("B", server_hosts, 10000, NULL);
    create(b, "/cw", "0", 0);
    do_get(a, "/cw", wctx(a, "data1"), 64);
    set(b, "/cw", "1", 1, -1);
    flush("data watch");
    set(b, "/cw", "2", 1, -1);
    flush("one-shot");

    exists(a, "/cw/n", wctx(a, "exist1"));
    create(b, "/cw/n", "", 0);
    flush("exists watch, created");
    exists(a, "/cw/n", wctx(a, "exist2"));
    set(b, "/cw/n", "x", 1, -1);
    flush("exists watch, changed");

    children(a, "/cw", wctx(a, "child1"), 1);
    create(b, "/cw/c", "", 0);
    flush("child watch");

    WCtx *same = wctx(a, "same");
    do_get(a, "/cw/n", same, 64);
    do_get(a, "/cw/n", same, 64);
    do_get(a, "/cw/n", wctx(a, "other"), 64);
    exists(a, "/cw/n", wctx(a, "exist3"));
    del(b, "/cw/n", -1);
    flush("several watchers of one handle, one notification");

    /* watch=1: the handle's default watcher */
    struct Stat st;
    int rc = zoo_exists(a->zh, "/cw/d", 1, &st);
    out("A exists /cw/d watch=1 -> %s", rc_name(rc));
    create(b, "/cw/d", "", 0);
    flush("default watcher");

    children(a, "/cw", wctx(a, "child2"), 0);
    do_get(a, "/cw", wctx(a, "data2"), 64);
    del(b, "/cw/c", -1);
    del(b, "/cw/d", -1);
    set(b, "/cw", "3", 1, -1);
    del(b, "/cw", -1);
    flush("children deleted, data set, node deleted");
    exists(a, "/cw", NULL);
    close_handle(b, "B close");
    close_handle(a, "A close");
}

static void print_results(const char *label, int rc, zoo_op_result_t *res, int n)
{
    out("%s -> %s", label, rc_name(rc));
    for (int i = 0; i < n; i++) {
        if (res[i].err == ZOK && res[i].value)
            out("  op%d: ZOK %s", i, res[i].value);
        else if (res[i].err == ZOK && res[i].stat)
            out("  op%d: ZOK %s", i, fmt_stat(res[i].stat));
        else
            out("  op%d: %s", i, rc_name(res[i].err));
    }
}

static void sc_multi(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    create(a, "/cm", "", 0);
    zoo_op_t ops[8];
    zoo_op_result_t res[8];
    char p0[128], p1[128], p2[128];
    struct Stat st;

    zoo_create_op_init(&ops[0], "/cm/a", "1", 1, &ZOO_OPEN_ACL_UNSAFE, 0, p0, sizeof p0);
    zoo_create_op_init(&ops[1], "/cm/s-", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT_SEQUENTIAL, p1, sizeof p1);
    zoo_set_op_init(&ops[2], "/cm", "x", 1, 0, &st);
    zoo_check_op_init(&ops[3], "/cm/a", 0);
    zoo_create_op_init(&ops[4], "/cm/e", "", 0, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, p2, sizeof p2);
    zoo_delete_op_init(&ops[5], "/cm/e", 0);
    memset(res, 0, sizeof res);
    print_results("A multi ok", zoo_multi(a->zh, 6, ops, res), res, 6);
    get(a, "/cm");
    get(a, "/cm/a");

    zoo_create_op_init(&ops[0], "/cm/b", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p0, sizeof p0);
    zoo_check_op_init(&ops[1], "/cm/a", 5);
    zoo_set_op_init(&ops[2], "/cm/a", "z", 1, -1, &st);
    memset(res, 0, sizeof res);
    print_results("A multi check fails", zoo_multi(a->zh, 3, ops, res), res, 3);
    exists(a, "/cm/b", NULL);

    zoo_delete_op_init(&ops[0], "/cm", -1);
    memset(res, 0, sizeof res);
    print_results("A multi delete non-empty", zoo_multi(a->zh, 1, ops, res), res, 1);

    zoo_create_op_init(&ops[0], "/cm/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p0, sizeof p0);
    zoo_create_op_init(&ops[1], "/cm/c", "", 0, &ZOO_OPEN_ACL_UNSAFE, 0, p1, sizeof p1);
    memset(res, 0, sizeof res);
    print_results("A multi create twice", zoo_multi(a->zh, 2, ops, res), res, 2);

    memset(res, 0, sizeof res);
    print_results("A multi empty", zoo_multi(a->zh, 0, ops, res), res, 0);
    close_handle(a, "A close");
}

static void auth_cb(int rc, const void *data)
{
    Handle *h = (Handle *)data;
    pthread_mutex_lock(&h->mu);
    h->barrier_done = 1000 + rc;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void sc_acl(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    struct ACL_vector acl;
    struct Stat st;
    create(a, "/cacl", "x", 0);
    int rc = zoo_get_acl(a->zh, "/cacl", &acl, &st);
    out("A get_acl /cacl -> %s %s %s", rc_name(rc), rc == ZOK ? fmt_acl(&acl) : "", rc == ZOK ? fmt_stat(&st) : "");
    if (rc == ZOK)
        deallocate_ACL_vector(&acl);
    out("A set_acl /cacl read -> %s", rc_name(zoo_set_acl(a->zh, "/cacl", -1, &ZOO_READ_ACL_UNSAFE)));
    set(a, "/cacl", "y", 1, -1);
    out("A set_acl /cacl v=0 -> %s", rc_name(zoo_set_acl(a->zh, "/cacl", 0, &ZOO_OPEN_ACL_UNSAFE)));
    create(a, "/cacl/c", "", 0);
    rc = zoo_get_acl(a->zh, "/cacl", &acl, &st);
    out("A get_acl /cacl -> %s %s %s", rc_name(rc), rc == ZOK ? fmt_acl(&acl) : "", rc == ZOK ? fmt_stat(&st) : "");
    if (rc == ZOK)
        deallocate_ACL_vector(&acl);
    do_create(a, "/cacl2", "", 0, &ZOO_CREATOR_ALL_ACL, 0, 0, 0);
    struct ACL_vector empty = {0, NULL};
    do_create(a, "/cacl2", "", 0, &empty, 0, 0, 0);

    a->barrier_done = 0;
    rc = zoo_add_auth(a->zh, "digest", "carol:pw", 8, auth_cb, a);
    pthread_mutex_lock(&a->mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (!a->barrier_done)
        if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
            break;
    int arc = a->barrier_done ? a->barrier_done - 1000 : -999;
    pthread_mutex_unlock(&a->mu);
    out("A add_auth digest -> %s, completion %s", rc_name(rc), rc_name(arc));
    do_create(a, "/cacl3", "secret", 6, &ZOO_CREATOR_ALL_ACL, 0, 0, 0);
    rc = zoo_get_acl(a->zh, "/cacl3", &acl, &st);
    out("A get_acl /cacl3 -> %s %s", rc_name(rc), rc == ZOK ? fmt_acl(&acl) : "");
    if (rc == ZOK)
        deallocate_ACL_vector(&acl);
    get(a, "/cacl3");
    Handle *b = open_handle("B", server_hosts, 10000, NULL);
    get(b, "/cacl3");
    close_handle(b, "B close");
    close_handle(a, "A close");
}

static void sc_remove_watches(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    Handle *b = open_handle("B", server_hosts, 10000, NULL);
    create(b, "/crw", "", 0);
    WCtx *d = wctx(a, "data"), *c = wctx(a, "child");
    do_get(a, "/crw", d, 64);
    children(a, "/crw", c, 0);
    out("A remove_watches /crw CHILD (other watcher) -> %s",
        rc_name(zoo_remove_watches(a->zh, "/crw", ZWATCHTYPE_CHILD, watch_fn, d, 0)));
    out("A remove_watches /crw DATA -> %s", rc_name(zoo_remove_watches(a->zh, "/crw", ZWATCHTYPE_DATA, watch_fn, d, 0)));
    out("A remove_watches /crw DATA again -> %s",
        rc_name(zoo_remove_watches(a->zh, "/crw", ZWATCHTYPE_DATA, watch_fn, d, 0)));
    set(b, "/crw", "x", 1, -1);
    flush("data watch removed");
    create(b, "/crw/k", "", 0);
    flush("child watch still there");
    do_get(a, "/crw", d, 64);
    children(a, "/crw", c, 0);
    out("A remove_all_watches /crw ANY -> %s", rc_name(zoo_remove_all_watches(a->zh, "/crw", ZWATCHTYPE_ANY, 0)));
    out("A remove_all_watches /crw ANY again -> %s",
        rc_name(zoo_remove_all_watches(a->zh, "/crw", ZWATCHTYPE_ANY, 0)));
    set(b, "/crw", "y", 1, -1);
    create(b, "/crw/l", "", 0);
    flush("all removed");
    exists(a, "/crw/none", wctx(a, "exist"));
    out("A remove_all_watches /crw/none DATA -> %s",
        rc_name(zoo_remove_all_watches(a->zh, "/crw/none", ZWATCHTYPE_DATA, 0)));
    create(b, "/crw/none", "", 0);
    flush("exists watch removed");
    close_handle(b, "B close");
    close_handle(a, "A close");
}

static void string_cb(int rc, const char *value, const void *data)
{
    Handle *h = (Handle *)data;
    record(h, "sync completion %s %s", rc_name(rc), value ? value : "(null)");
}

static void sc_misc(void)
{
    Handle *a = open_handle("A", server_hosts, 10000, NULL);
    out("A sync / -> %s", rc_name(zoo_async(a->zh, "/", string_cb, a)));
    out("A sync /none -> %s", rc_name(zoo_async(a->zh, "/none", string_cb, a)));
    flush("");
    char buf[4096];
    int len = sizeof buf;
    struct Stat st;
    int rc = zoo_getconfig(a->zh, 0, buf, &len, &st);
    out("A getconfig -> %s %s", rc_name(rc), rc == ZOK ? fmt_data(buf, len) : "");
    if (rc == ZOK)
        out("  stat czxid={z%lld} version=%d aversion=%d dataLength=%d", (long long)st.czxid, st.version,
            st.aversion, st.dataLength);
    len = sizeof buf;
    rc = zoo_reconfig(a->zh, "server.9=127.0.0.1:1:2;3", NULL, NULL, -1, buf, &len, &st);
    out("A reconfig -> %s", rc_name(rc));
    children(a, "/zookeeper", NULL, 0);
    close_handle(a, "A close");
}

/* SetWatches: A's watches are sent again when it reconnects, and the server
 * fires those whose node changed while A was away. */
static void sc_setwatches(void)
{
    Proxy *p = proxy_start();
    Handle *b = open_handle("B", server_hosts, 10000, NULL);
    Handle *a = open_handle("A", p->address, 10000, NULL);
    create(b, "/csw", "", 0);
    create(b, "/csw/d", "", 0);
    create(b, "/csw/gone", "", 0);
    create(b, "/csw/same", "", 0);
    do_get(a, "/csw/d", wctx(a, "data-d"), 64);
    do_get(a, "/csw/gone", wctx(a, "data-gone"), 64);
    do_get(a, "/csw/same", wctx(a, "data-same"), 64);
    exists(a, "/csw/new", wctx(a, "exist-new"));
    exists(a, "/csw/never", wctx(a, "exist-never"));
    children(a, "/csw", wctx(a, "child-csw"), 0);
    children(a, "/csw/same", wctx(a, "child-same"), 0);
    flush("");
    proxy_down(p);
    out("-- A's connection is cut and the proxy refuses connections");
    wait_cut(a);
    set(b, "/csw/d", "x", 1, -1);
    del(b, "/csw/gone", -1);
    create(b, "/csw/new", "", 0);
    flush("");
    proxy_up(p);
    int ok = wait_state(a, ZOO_CONNECTED_STATE, OP_TIMEOUT_MS);
    out("-- A reconnected: %s", ok ? "yes" : "no");
    flush_opt("watches fired by SetWatches", 1);
    set(b, "/csw/same", "y", 1, -1);
    create(b, "/csw/same/k", "", 0);
    flush("watches of unchanged nodes are still armed");
    close_handle(a, "A close");
    close_handle(b, "B close");
    proxy_stop(p);
}

static void sc_sessions(void)
{
    Proxy *p = proxy_start();
    Handle *w = open_handle("W", server_hosts, 10000, NULL);
    Handle *a = open_handle("A", p->address, 4000, NULL);
    out("A recv timeout %d", zoo_recv_timeout(a->zh));
    create(a, "/cs", "", 0);
    create(a, "/cs/e", "", ZOO_EPHEMERAL);
    exists(w, "/cs/e", wctx(w, "exist-e"));
    clientid_t cid = *zoo_client_id(a->zh);
    proxy_down(p);
    out("-- A is cut off");
    wait_cut(a);
    clientid_t bad = cid;
    bad.passwd[0] ^= 0x55;
    Handle *c = open_handle("C", server_hosts, 4000, &bad);
    out("C (A's session, wrong password) state %s", state_name(zoo_state(c->zh)));
    exists(c, "/cs/e", NULL);
    Handle *b = open_handle("B", server_hosts, 4000, &cid);
    out("B (A's session and password) state %s, same session %s", state_name(zoo_state(b->zh)),
        zoo_client_id(b->zh)->client_id == cid.client_id ? "yes" : "no");
    exists(b, "/cs/e", NULL);
    create(b, "/cs/e2", "", ZOO_EPHEMERAL);
    flush("");
    exists(w, "/cs/e2", wctx(w, "exist-e2"));
    close_handle(b, "B close (closeSession)");
    flush_opt("ephemerals of the session gone", 1);
    exists(w, "/cs/e", NULL);
    close_handle(c, NULL);
    close_handle(a, NULL);
    drop_events(a);
    proxy_stop(p);

    /* expiry */
    p = proxy_start();
    Handle *x = open_handle("X", p->address, 1000, NULL);
    out("X recv timeout %d", zoo_recv_timeout(x->zh));
    create(x, "/cs/x", "", ZOO_EPHEMERAL);
    exists(w, "/cs/x", wctx(w, "exist-x"));
    proxy_down(p);
    out("-- X is cut off until its session expires");
    wait_cut(x);
    double end = now_ms() + 30000;
    struct Stat st;
    while (now_ms() < end && zoo_exists(w->zh, "/cs/x", 0, &st) == ZOK)
        sleep_ms(20);
    exists(w, "/cs/x", NULL);
    flush("expiry");
    proxy_up(p);
    int expired = wait_state(x, ZOO_EXPIRED_SESSION_STATE, OP_TIMEOUT_MS);
    out("-- X reaches the server again: expired %s", expired ? "yes" : "no");
    flush("");
    exists(x, "/cs/x", NULL);
    close_handle(x, NULL);
    drop_events(x);
    close_handle(w, "W close");
    proxy_stop(p);
}

static struct {
    const char *name;
    void (*fn)(void);
} scenarios[] = {
    {"basic", sc_basic},
    {"watches", sc_watches},
    {"multi", sc_multi},
    {"acl", sc_acl},
    {"remove_watches", sc_remove_watches},
    {"misc", sc_misc},
    {"setwatches", sc_setwatches},
    {"sessions", sc_sessions},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s HOST:PORT [SCENARIO ...]\n", argv[0]);
        return 2;
    }
    server_hosts = argv[1];
    const char *colon = strrchr(server_hosts, ':');
    server_port = colon ? atoi(colon + 1) : 2181;
    zoo_set_debug_level(getenv("CAPI_TEST_DEBUG") ? ZOO_LOG_LEVEL_DEBUG : ZOO_LOG_LEVEL_ERROR);
    zoo_deterministic_conn_order(1);
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        int run = argc == 2;
        for (int k = 2; k < argc; k++)
            if (!strcmp(argv[k], scenarios[i].name))
                run = 1;
        if (!run)
            continue;
        out("== %s", scenarios[i].name);
        double t0 = now_ms();
        scenarios[i].fn();
        flush(NULL);
        for (int k = 0; k < MAX_HANDLES; k++)
            if (handles[k].used && !handles[k].zh)
                handles[k].used = 0;
        fprintf(stderr, "scenario %s: %.0f ms\n", scenarios[i].name, now_ms() - t0);
    }
    return 0;
}
