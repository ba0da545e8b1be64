/*
 * src/bin/corral-cli/conn.c: the client side of a ZooKeeper session for
 * corral-cli: TCP connection, ConnectRequest/Response (with the readOnly
 * byte), framing, requests matched to replies by xid, pings, watch events,
 * and the local watch registry of the Java client (ZKWatchManager), so that
 * an event is printed exactly when a watch of this client is registered for
 * it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Largest frame accepted from a server (replies can exceed jute.maxbuffer:
 * a getChildren of a huge directory). */
#define MAX_FRAME (64u * 1024 * 1024)
#define XID_NONE INT32_MIN

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *zk_state_str(ZkState s)
{
    switch (s) {
    case ZS_NOT_CONNECTED: return "NOT_CONNECTED";
    case ZS_CONNECTING: return "CONNECTING";
    case ZS_CONNECTED: return "CONNECTED";
    case ZS_CONNECTEDREADONLY: return "CONNECTEDREADONLY";
    case ZS_CLOSED: return "CLOSED";
    case ZS_AUTH_FAILED: return "AUTH_FAILED";
    }
    return "UNKNOWN";
}

/* ---- setup ------------------------------------------------------------------------ */
void zk_init(Zk *zk, const char *cs, int timeout_ms, bool read_only)
{
    memset(zk, 0, sizeof(*zk));
    zk->fd = -1;
    zk->state = ZS_CONNECTING;
    zk->connect_string = xstrdup(cs);
    zk->timeout_ms = timeout_ms;
    zk->negotiated_ms = timeout_ms;
    zk->read_only = read_only;
    zk->passwd_len = 16;
    zk->xid = 1;
    zk->print_watches = true;
    zk->event_state = ZOO_STATE_DISCONNECTED;
    wbuf_init(&zk->req);
    arena_init(&zk->tmp, 4096);

    /* ConnectStringParser: chroot from the first '/', hosts split on ','. */
    const char *slash = strchr(cs, '/');
    size_t hlen = slash ? (size_t)(slash - cs) : strlen(cs);
    if (slash && strlen(slash) > 1)
        zk->chroot = xstrdup(slash);
    char *hosts = xstrndup(cs, hlen);
    char *save = NULL;
    for (char *h = strtok_r(hosts, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        while (*h == ' ' || *h == '\t')
            h++;
        size_t n = strlen(h);
        while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
            h[--n] = '\0';
        if (!n)
            continue;
        const char *close = strrchr(h, ']');
        const char *colon = strrchr(h, ':');
        bool has_port = colon && (!close || colon > close) && (h[0] == '[' || strchr(h, ':') == colon);
        if (has_port) {
            sv_push(&zk->hosts, h);
        } else {
            CorralStrbuf sb = CORRAL_STRBUF_INIT;
            corral_strbuf_printf(&sb, "%s:2181", h);
            sv_push(&zk->hosts, sb.data);
            corral_strbuf_free(&sb);
        }
    }
    free(hosts);
}

void zk_free(Zk *zk)
{
    if (zk->fd >= 0)
        close(zk->fd);
    zk->fd = -1;
    free(zk->connect_string);
    free(zk->chroot);
    sv_free(&zk->hosts);
    free(zk->in);
    wbuf_free(&zk->req);
    arena_free(&zk->tmp);
    for (int i = 0; i < W_NKINDS; i++)
        sv_free(&zk->watches[i]);
    for (int i = 0; i < zk->nauths; i++) {
        free(zk->auths[i].scheme);
        free(zk->auths[i].auth);
    }
    free(zk->auths);
    memset(zk, 0, sizeof(*zk));
    zk->fd = -1;
}

const char *zk_server_path(Zk *zk, const char *client_path)
{
    if (!zk->chroot || !client_path)
        return client_path;
    size_t cl = strlen(zk->chroot);
    if (strcmp(client_path, "/") == 0)
        return arena_strndup(&zk->tmp, zk->chroot, cl);
    size_t pl = strlen(client_path);
    char *p = arena_alloc(&zk->tmp, cl + pl + 1);
    memcpy(p, zk->chroot, cl);
    memcpy(p + cl, client_path, pl + 1);
    return p;
}

const char *zk_client_path(Zk *zk, const char *server_path, size_t len)
{
    if (zk->chroot) {
        size_t cl = strlen(zk->chroot);
        if (len >= cl && memcmp(server_path, zk->chroot, cl) == 0) {
            if (len == cl)
                return "/";
            if (server_path[cl] == '/')
                return arena_strndup(&zk->tmp, server_path + cl, len - cl);
        }
    }
    return arena_strndup(&zk->tmp, server_path, len);
}

/* ---- events and watches -------------------------------------------------------------- */
unsigned long g_events_printed;

void zk_print_event(Zk *zk, int state, int type, const char *path)
{
    /* ClientCnxn.EventThread.queueEvent drops a state event equal to the
     * last event's state. */
    if (type == ZOO_EVENT_NONE && state == zk->event_state)
        return;
    zk->event_state = state;
    if (!zk->print_watches)
        return;
    out_printf("\nWATCHER::\n\nWatchedEvent state:%s type:%s path:%s\n",
               zk_state_name(state), zk_event_name(type), path ? path : "null");
    out_flush();
    g_events_printed++;
}

void zk_watch_add(Zk *zk, int kind, const char *client_path)
{
    if (sv_find(&zk->watches[kind], client_path) < 0)
        sv_push(&zk->watches[kind], client_path);
}

static bool has_recursive_watch(Zk *zk, const char *path)
{
    /* PathParentIterator.forAll: the path, then each parent up to "/". */
    size_t n = strlen(path);
    char *p = xstrndup(path, n);
    bool found = false;
    for (;;) {
        if (sv_find(&zk->watches[W_PERSISTENT_RECURSIVE], p) >= 0) {
            found = true;
            break;
        }
        if (strcmp(p, "/") == 0)
            break;
        char *slash = strrchr(p, '/');
        if (!slash)
            break;
        if (slash == p)
            p[1] = '\0';
        else
            *slash = '\0';
    }
    free(p);
    return found;
}

/* ZKWatchManager.materialize for a server event: true if any watch fires. */
static bool materialize(Zk *zk, int type, const char *path)
{
    bool hit = false;
    switch (type) {
    case ZOO_EVENT_NODE_DATA_CHANGED:
    case ZOO_EVENT_NODE_CREATED:
        hit |= sv_remove(&zk->watches[W_DATA], path);
        hit |= sv_remove(&zk->watches[W_EXIST], path);
        break;
    case ZOO_EVENT_NODE_CHILDREN_CHANGED:
        hit |= sv_remove(&zk->watches[W_CHILD], path);
        break;
    case ZOO_EVENT_NODE_DELETED:
        hit |= sv_remove(&zk->watches[W_DATA], path);
        hit |= sv_remove(&zk->watches[W_EXIST], path);
        hit |= sv_remove(&zk->watches[W_CHILD], path);
        break;
    default:
        return false;
    }
    hit |= sv_find(&zk->watches[W_PERSISTENT], path) >= 0;
    hit |= has_recursive_watch(zk, path);
    return hit;
}

int zk_remove_watches_local(Zk *zk, const char *path, int wtype, bool local, int rc)
{
    /* containsWatcher */
    bool contains = false;
    StrVec *w = zk->watches;
    bool in_child = sv_find(&w[W_CHILD], path) >= 0;
    bool in_data = sv_find(&w[W_DATA], path) >= 0 || sv_find(&w[W_EXIST], path) >= 0;
    bool in_pers = sv_find(&w[W_PERSISTENT], path) >= 0 ||
                   sv_find(&w[W_PERSISTENT_RECURSIVE], path) >= 0;
    switch (wtype) {
    case ZOO_WATCHER_CHILDREN: contains = in_child || in_pers; break;
    case ZOO_WATCHER_DATA: contains = in_data || in_pers; break;
    default: contains = in_child || in_data || in_pers; break;
    }
    if (!contains)
        return ZERR_NOWATCHER;
    if (!local && rc != ZERR_OK)
        return rc;

    bool child = false, data = false, pers = false;
    if (wtype == ZOO_WATCHER_CHILDREN || wtype == ZOO_WATCHER_ANY)
        child = sv_remove(&w[W_CHILD], path);
    if (wtype == ZOO_WATCHER_DATA || wtype == ZOO_WATCHER_ANY) {
        data |= sv_remove(&w[W_DATA], path);
        data |= sv_remove(&w[W_EXIST], path);
    }
    if (wtype == ZOO_WATCHER_ANY) {
        pers |= sv_remove(&w[W_PERSISTENT], path);
        pers |= sv_remove(&w[W_PERSISTENT_RECURSIVE], path);
    }
    if (!child && !data && !pers)
        return ZERR_NOWATCHER;
    if (child)
        zk_print_event(zk, ZOO_STATE_SYNC_CONNECTED, ZOO_EVENT_CHILD_WATCH_REMOVED, path);
    if (data)
        zk_print_event(zk, ZOO_STATE_SYNC_CONNECTED, ZOO_EVENT_DATA_WATCH_REMOVED, path);
    if (pers)
        zk_print_event(zk, ZOO_STATE_SYNC_CONNECTED, ZOO_EVENT_PERSISTENT_WATCH_REMOVED, path);
    return rc;
}

/* ---- socket ---------------------------------------------------------------------------- */
static void conn_drop(Zk *zk)
{
    if (zk->fd >= 0)
        close(zk->fd);
    zk->fd = -1;
    zk->in_len = 0;
}

/* The connection broke: Disconnected event, the client goes on "CONNECTING". */
static void conn_lost(Zk *zk)
{
    bool was_connected = zk->fd >= 0 && (zk->state == ZS_CONNECTED || zk->state == ZS_CONNECTEDREADONLY);
    conn_drop(zk);
    if (zk_state_alive(zk->state))
        zk->state = ZS_CONNECTING;
    if (was_connected)
        zk_print_event(zk, ZOO_STATE_DISCONNECTED, ZOO_EVENT_NONE, NULL);
}

static int lost_code(Zk *zk)
{
    switch (zk->state) {
    case ZS_AUTH_FAILED: return ZERR_AUTHFAILED;
    case ZS_CLOSED: return ZERR_SESSIONEXPIRED;
    default: return ZERR_CONNECTIONLOSS;
    }
}

static int send_all(Zk *zk, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = send(zk->fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pfd = {zk->fd, POLLOUT, 0};
                poll(&pfd, 1, 1000);
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    zk->last_send_ms = now_ms();
    return 0;
}

static int send_ping(Zk *zk)
{
    WBuf w = WBUF_INIT;
    size_t off = wbuf_begin_frame(&w);
    RequestHeader h = {XID_PING, ZOO_OP_PING};
    jute_write_RequestHeader(&w, &h);
    wbuf_end_frame(&w, off);
    int rc = send_all(zk, w.data, w.len);
    wbuf_free(&w);
    return rc;
}

/* Reads what the socket has (at most once); 1 = got bytes, 0 = nothing, -1 = lost. */
static int read_some(Zk *zk)
{
    if (zk->in_cap - zk->in_len < 65536) {
        zk->in_cap = zk->in_cap ? zk->in_cap * 2 : 131072;
        zk->in = xrealloc(zk->in, zk->in_cap);
    }
    for (;;) {
        ssize_t k = recv(zk->fd, zk->in + zk->in_len, zk->in_cap - zk->in_len, MSG_DONTWAIT);
        if (k > 0) {
            zk->in_len += (size_t)k;
            zk->last_recv_ms = now_ms();
            return 1;
        }
        if (k == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -1;
    }
}

static void consume(Zk *zk, size_t n)
{
    memmove(zk->in, zk->in + n, zk->in_len - n);
    zk->in_len -= n;
}

static void auth_failed(Zk *zk)
{
    conn_drop(zk);
    zk->state = ZS_AUTH_FAILED;
    zk_print_event(zk, ZOO_STATE_AUTH_FAILED, ZOO_EVENT_NONE, NULL);
}

/*
 * One frame from the server.  Returns 1 if it is the reply to `want` (and
 * copies it into rep if rep != NULL), 0 if it was handled otherwise, -1 on a
 * protocol error.
 */
static int handle_frame(Zk *zk, const uint8_t *f, size_t flen, int32_t want, ZkReply *rep)
{
    RBuf r;
    ReplyHeader h;
    rbuf_init(&r, f, flen);
    if (jute_read_ReplyHeader(&r, NULL, &h) < 0)
        return -1;
    if (h.xid == XID_AUTH) {
        zk->auth_rc = h.err;
        if (h.err == ZERR_AUTHFAILED)
            auth_failed(zk);
        return want == XID_AUTH;
    }
    if (h.xid == want && want != XID_NONE) {
        if (h.zxid > 0)
            zk->last_zxid = h.zxid;
        if (rep) {
            rep->hdr = h;
            rep->frame = xmalloc(flen ? flen : 1);
            memcpy(rep->frame, f, flen);
            rep->len = flen;
            rbuf_init(&rep->body, rep->frame + r.pos, flen - r.pos);
        }
        return 1;
    }
    switch (h.xid) {
    case XID_PING:
        return 0;
    case XID_SET_WATCHES:
        return 0;
    case XID_WATCH_EVENT: {
        WatcherEvent ev;
        if (jute_read_WatcherEvent(&r, NULL, &ev) < 0)
            return -1;
        const char *path = NULL;
        if (ev.path.len >= 0)
            path = zk_client_path(zk, ev.path.data, (size_t)ev.path.len);
        if (ev.type == ZOO_EVENT_NONE) {
            zk_print_event(zk, ev.state, ev.type, path);
        } else if (path && materialize(zk, ev.type, path)) {
            zk_print_event(zk, ev.state, ev.type, path);
        }
        return 0;
    }
    default:
        /* A reply nobody waits for: Java calls this "Xid out of order". */
        return -1;
    }
}

/*
 * Handles frames until the reply to `want` arrives (block) or until the
 * socket has nothing more (!block).  Returns 0 when the reply came (or, when
 * not blocking, when there is nothing more to read), else an error code.
 */
static int zk_wait(Zk *zk, int32_t want, ZkReply *rep, bool block)
{
    for (;;) {
        while (zk->fd >= 0 && zk->in_len) {
            const uint8_t *f;
            size_t flen, used;
            int r = wire_next_frame(zk->in, zk->in_len, MAX_FRAME, &f, &flen, &used);
            if (r == 0)
                break;
            if (r < 0) {
                conn_lost(zk);
                break;
            }
            int got = handle_frame(zk, f, flen, want, rep);
            if (got < 0) {
                conn_lost(zk);
                break;
            }
            if (zk->fd >= 0)
                consume(zk, used);
            if (got > 0)
                return 0;
        }
        if (zk->fd < 0)
            return lost_code(zk);
        if (!block) {
            int r = read_some(zk);
            if (r < 0) {
                conn_lost(zk);
                return lost_code(zk);
            }
            if (r == 0)
                return 0;
            continue;
        }
        int64_t now = now_ms();
        int64_t ping_at = zk->last_send_ms + zk->negotiated_ms / 3;
        int64_t dead_at = zk->last_recv_ms + zk->negotiated_ms * 2 / 3;
        if (now >= dead_at) {
            err_printf("Client session timed out, have not heard from server in %" PRId64 "ms\n",
                       now - zk->last_recv_ms);
            conn_lost(zk);
            return lost_code(zk);
        }
        if (now >= ping_at) {
            if (send_ping(zk) < 0) {
                conn_lost(zk);
                return lost_code(zk);
            }
            continue;
        }
        int64_t until = ping_at < dead_at ? ping_at : dead_at;
        struct pollfd pfd = {zk->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(until - now));
        if (pr < 0 && errno != EINTR) {
            conn_lost(zk);
            return lost_code(zk);
        }
        if (pr > 0) {
            int r = read_some(zk);
            if (r < 0) {
                conn_lost(zk);
                return lost_code(zk);
            }
        }
    }
}

void zk_poll(Zk *zk)
{
    if (zk->fd >= 0)
        zk_wait(zk, XID_NONE, NULL, false);
}

int zk_idle_timeout(Zk *zk)
{
    if (zk->fd < 0)
        return -1;
    int64_t t = zk->last_send_ms + zk->negotiated_ms / 3 - now_ms();
    return t < 0 ? 0 : (int)t;
}

void zk_idle(Zk *zk)
{
    if (zk->fd < 0)
        return;
    zk_wait(zk, XID_NONE, NULL, false);
    if (zk->fd < 0)
        return;
    int64_t now = now_ms();
    if (now - zk->last_recv_ms >= zk->negotiated_ms * 2 / 3) {
        conn_lost(zk);
        return;
    }
    if (now >= zk->last_send_ms + zk->negotiated_ms / 3 && send_ping(zk) < 0)
        conn_lost(zk);
}

/* ---- connecting ---------------------------------------------------------------------------- */
static int tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen)
{
    char *h = xstrdup(hostport);
    char *host = h, *port = NULL;
    if (h[0] == '[') {
        char *close = strchr(h, ']');
        if (close) {
            *close = '\0';
            host = h + 1;
            if (close[1] == ':')
                port = close + 2;
        }
    } else {
        char *colon = strrchr(h, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gr = getaddrinfo(host, port && *port ? port : "2181", &hints, &res);
    if (gr != 0) {
        snprintf(err, errlen, "%s", gai_strerror(gr));
        free(h);
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            continue;
        }
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        int cr = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (cr < 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            int pr = poll(&pfd, 1, timeout_ms);
            if (pr == 0) {
                snprintf(err, errlen, "connect timed out");
                close(fd);
                fd = -1;
                continue;
            }
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
            cr = soerr ? -1 : 0;
            errno = soerr;
        }
        if (cr < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            close(fd);
            fd = -1;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        break;
    }
    freeaddrinfo(res);
    free(h);
    return fd;
}

/* Waits for one whole frame on a fresh connection. */
static int read_frame_blocking(Zk *zk, int timeout_ms, const uint8_t **f, size_t *flen, size_t *used)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int r = wire_next_frame(zk->in, zk->in_len, MAX_FRAME, f, flen, used);
        if (r != 0)
            return r > 0 ? 0 : -1;
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {zk->fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        if (read_some(zk) < 0)
            return -1;
    }
}

static void put_watch_vec(WBuf *w, Zk *zk, const StrVec *sv)
{
    wbuf_put_int(w, sv->n);
    for (int i = 0; i < sv->n; i++)
        wbuf_put_bytes(w, zk_bytes_cstr(zk_server_path(zk, sv->v[i])));
}

/* After a reconnect: SetWatches(2) for the registered watches, then auth. */
static int prime_connection(Zk *zk)
{
    StrVec *w = zk->watches;
    bool any = false;
    for (int i = 0; i < W_NKINDS; i++)
        any |= w[i].n > 0;
    WBuf b = WBUF_INIT;
    if (any) {
        bool v2 = w[W_PERSISTENT].n || w[W_PERSISTENT_RECURSIVE].n;
        size_t off = wbuf_begin_frame(&b);
        RequestHeader h = {XID_SET_WATCHES, v2 ? ZOO_OP_SET_WATCHES2 : ZOO_OP_SET_WATCHES};
        jute_write_RequestHeader(&b, &h);
        wbuf_put_long(&b, zk->last_zxid);
        put_watch_vec(&b, zk, &w[W_DATA]);
        put_watch_vec(&b, zk, &w[W_EXIST]);
        put_watch_vec(&b, zk, &w[W_CHILD]);
        if (v2) {
            put_watch_vec(&b, zk, &w[W_PERSISTENT]);
            put_watch_vec(&b, zk, &w[W_PERSISTENT_RECURSIVE]);
        }
        wbuf_end_frame(&b, off);
    }
    for (int i = 0; i < zk->nauths; i++) {
        size_t off = wbuf_begin_frame(&b);
        RequestHeader h = {XID_AUTH, ZOO_OP_AUTH};
        jute_write_RequestHeader(&b, &h);
        AuthPacket ap = {0, zk_bytes_cstr(zk->auths[i].scheme),
                         zk->auths[i].auth ? zk_bytes_make(zk->auths[i].auth, zk->auths[i].auth_len)
                                           : ZK_BYTES_NULL};
        jute_write_AuthPacket(&b, &ap);
        wbuf_end_frame(&b, off);
    }
    int rc = 0;
    if (b.len) {
        rc = send_all(zk, b.data, b.len);
        if (rc == 0 && any)
            rc = zk_wait(zk, XID_SET_WATCHES, NULL, true);
        for (int i = 0; rc == 0 && i < zk->nauths && zk->fd >= 0; i++)
            rc = zk_wait(zk, XID_AUTH, NULL, true);
    }
    wbuf_free(&b);
    return rc;
}

int zk_connect(Zk *zk, bool print_event, bool verbose)
{
    if (!zk_state_alive(zk->state))
        return -1;
    conn_drop(zk);
    int n = zk->hosts.n;
    if (n == 0) {
        if (verbose)
            err_printf("No valid host in connect string %s\n", zk->connect_string);
        return -1;
    }
    int per_host = zk->timeout_ms / n;
    if (per_host < 100)
        per_host = 100;
    int64_t deadline = now_ms() + zk->timeout_ms;
    char err[256] = "";
    const char *last_host = "";
    for (;;) {
        for (int i = 0; i < n; i++) {
            int idx = (zk->host_next + i) % n;
            last_host = zk->hosts.v[idx];
            int fd = tcp_connect(last_host, per_host, err, sizeof(err));
            if (fd < 0)
                continue;
            zk->fd = fd;
            zk->in_len = 0;
            zk->host_next = (idx + 1) % n;

            WBuf w = WBUF_INIT;
            size_t off = wbuf_begin_frame(&w);
            ConnectRequest req = {0, zk->last_zxid, zk->timeout_ms,
                                  zk->had_session ? zk->session_id : 0,
                                  zk_bytes_make(zk->passwd, (size_t)zk->passwd_len)};
            wire_write_connect_request(&w, &req, zk->read_only ? 1 : 0);
            wbuf_end_frame(&w, off);
            int sr = send_all(zk, w.data, w.len);
            wbuf_free(&w);
            const uint8_t *f;
            size_t flen, used;
            if (sr < 0 || read_frame_blocking(zk, per_host, &f, &flen, &used) < 0) {
                snprintf(err, sizeof(err), "no ConnectResponse");
                conn_drop(zk);
                continue;
            }
            RBuf r;
            rbuf_init(&r, f, flen);
            ConnectResponse resp;
            int ro = -1;
            Arena a;
            arena_init(&a, 256);
            int pr = wire_read_connect_response(&r, &a, &resp, &ro);
            if (pr < 0) {
                arena_free(&a);
                snprintf(err, sizeof(err), "malformed ConnectResponse");
                conn_drop(zk);
                continue;
            }
            if (resp.timeOut <= 0) {
                arena_free(&a);
                conn_drop(zk);
                zk->state = ZS_CLOSED;
                zk_print_event(zk, ZOO_STATE_EXPIRED, ZOO_EVENT_NONE, NULL);
                if (verbose)
                    err_printf("Session 0x%" PRIx64 " has expired\n", (uint64_t)zk->session_id);
                return -1;
            }
            zk->negotiated_ms = resp.timeOut;
            zk->session_id = resp.sessionId;
            memset(zk->passwd, 0, sizeof(zk->passwd));
            int32_t pl = resp.passwd.len > 16 ? 16 : resp.passwd.len;
            if (pl > 0)
                memcpy(zk->passwd, resp.passwd.data, (size_t)pl);
            zk->passwd_len = 16;
            arena_free(&a);
            consume(zk, used);
            zk->had_session = true;
            zk->state = ro == 1 ? ZS_CONNECTEDREADONLY : ZS_CONNECTED;
            zk->last_recv_ms = now_ms();
            if (print_event)
                zk_print_event(zk, ro == 1 ? ZOO_STATE_CONNECTED_READ_ONLY : ZOO_STATE_SYNC_CONNECTED,
                               ZOO_EVENT_NONE, NULL);
            else
                zk->event_state = ro == 1 ? ZOO_STATE_CONNECTED_READ_ONLY : ZOO_STATE_SYNC_CONNECTED;
            if (prime_connection(zk) != 0 || zk->fd < 0)
                return -1;
            return 0;
        }
        if (!zk->wait_for_connection || now_ms() >= deadline)
            break;
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (verbose)
        err_printf("Unable to connect to %s: %s\n", last_host, err);
    return -1;
}

/* ---- requests ------------------------------------------------------------------------------ */
WBuf *zk_req_begin(Zk *zk, int op)
{
    wbuf_reset(&zk->req);
    zk->req_off = wbuf_begin_frame(&zk->req);
    zk->req_xid = zk->xid++;
    if (zk->xid <= 0)
        zk->xid = 1;
    RequestHeader h = {zk->req_xid, op};
    jute_write_RequestHeader(&zk->req, &h);
    return &zk->req;
}

int zk_req_call(Zk *zk, ZkReply *rep)
{
    memset(rep, 0, sizeof(*rep));
    arena_init(&rep->arena, 4096);
    rep->hdr.err = ZERR_CONNECTIONLOSS;
    if (!zk_state_alive(zk->state))
        return rep->hdr.err = lost_code(zk);
    if (zk->fd < 0 && zk_connect(zk, true, false) < 0)
        return rep->hdr.err = lost_code(zk);
    /* Read what already came (events sent before this request). */
    int rc = zk_wait(zk, XID_NONE, NULL, false);
    if (rc != 0)
        return rep->hdr.err = rc;
    wbuf_end_frame(&zk->req, zk->req_off);
    if (send_all(zk, zk->req.data, zk->req.len) < 0) {
        conn_lost(zk);
        return rep->hdr.err = lost_code(zk);
    }
    rc = zk_wait(zk, zk->req_xid, rep, true);
    if (rc != 0)
        return rep->hdr.err = rc;
    return rep->hdr.err;
}

void zk_reply_free(ZkReply *rep)
{
    free(rep->frame);
    rep->frame = NULL;
    arena_free(&rep->arena);
}

int zk_add_auth(Zk *zk, const char *scheme, const char *auth, size_t auth_len)
{
    zk->auths = xrealloc(zk->auths, (size_t)(zk->nauths + 1) * sizeof(AuthInfo));
    AuthInfo *ai = &zk->auths[zk->nauths++];
    ai->scheme = xstrdup(scheme);
    ai->auth = auth ? xstrndup(auth, auth_len) : NULL;
    ai->auth_len = auth_len;
    if (!zk_state_alive(zk->state))
        return lost_code(zk);
    if (zk->fd < 0)   /* connecting sends every auth */
        return zk_connect(zk, true, false) < 0 ? lost_code(zk) : zk->auth_rc;
    int rc = zk_wait(zk, XID_NONE, NULL, false);
    if (rc != 0)
        return rc;
    WBuf b = WBUF_INIT;
    size_t off = wbuf_begin_frame(&b);
    RequestHeader h = {XID_AUTH, ZOO_OP_AUTH};
    jute_write_RequestHeader(&b, &h);
    AuthPacket ap = {0, zk_bytes_cstr(scheme), auth ? zk_bytes_make(auth, auth_len) : ZK_BYTES_NULL};
    jute_write_AuthPacket(&b, &ap);
    wbuf_end_frame(&b, off);
    rc = send_all(zk, b.data, b.len);
    wbuf_free(&b);
    if (rc < 0) {
        conn_lost(zk);
        return lost_code(zk);
    }
    rc = zk_wait(zk, XID_AUTH, NULL, true);
    return rc != 0 ? rc : zk->auth_rc;
}

void zk_close(Zk *zk)
{
    if (!zk_state_alive(zk->state))
        return;
    if (zk->fd >= 0) {
        ZkReply rep;
        zk_req_begin(zk, ZOO_OP_CLOSE_SESSION);
        zk_req_call(zk, &rep);
        zk_reply_free(&rep);
    }
    conn_drop(zk);
    zk->state = ZS_CLOSED;
    zk_print_event(zk, ZOO_STATE_CLOSED, ZOO_EVENT_NONE, NULL);
}
