/*
 * contrib/bench/corral-bench.c: a load generator speaking the ZooKeeper
 * client protocol (with Corral's own codec, src/backend/wire), for Corral
 * and Apache ZooKeeper alike.
 *
 * Not part of `make check`.  Build (after `make BUILD=build-bench`):
 *
 *   make -C contrib/bench BUILD=build-bench        # -> build-bench/bin/corral-bench
 *
 * Usage:
 *
 *   corral-bench -s 127.0.0.1:2181 -c 32 -p 16 -d 20 --op set --size 1024
 *   corral-bench --op mixed:90 --keys 10000 --json
 *   corral-bench --op create -n 1000000 --size 32 --tag load     # load exactly 1M znodes
 *   corral-bench --probe /corral-bench --expect-children 1000000 # restart probe
 *
 * Model: T threads (default 1), each with an epoll set over its share of the
 * C sessions; every session keeps P requests outstanding (pipelining), and a
 * completed request is replaced at once by a new one (closed loop).  Sockets
 * are non-blocking; the requests issued in one loop turn leave in one send().
 * ZooKeeper answers a session's requests in order, so each session keeps a
 * FIFO of (xid, op, start time) and matches every reply to its head.
 *
 * Phases: handshake of every session (ConnectRequest), populate (for
 * set/get/exists/mixed: create PREFIX and the --keys nodes PREFIX/k<i>, an
 * existing node is fine), warm-up (--warmup seconds, not recorded), the
 * measured run (--duration seconds, or -n operations), drain (replies to the
 * requests still outstanding, not recorded), then closeSession on every
 * session.  Latency is the time from the request being queued for send()
 * to its reply being parsed, recorded for replies that arrive inside the
 * measured window; throughput = replies inside the window / window.
 *
 * Latency histogram (HDR-like): values in ns, exact below 64, then 32
 * linear sub-buckets per power of two (relative error < 3.2%); a
 * percentile is reported as the middle of its bucket, max is exact.
 *
 * Operations:
 *   create    CreateRequest PREFIX/c-TAG-<seq>, PERSISTENT, world:anyone ALL;
 *             seq is global over all sessions (0, 1, 2, ...), so with -n N
 *             exactly PREFIX/c-TAG-0 .. c-TAG-(N-1) are created.
 *   set       SetDataRequest on a random key, version -1, --size bytes
 *   get       GetDataRequest on a random key, no watch
 *   exists    ExistsRequest on a random key, no watch
 *   mixed:R   R% get, (100-R)% set, random keys
 *
 * Errors (a reply with err != 0) are counted by code and are not in the
 * throughput; a lost connection counts its outstanding requests as lost.
 * Exit status: 0 if the run completed some operation with no lost session,
 * 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/wire_connect.h"

#define MAX_FRAME (64u * 1024 * 1024)
#define MAX_ERRCODE 256          /* -err below this is counted per code */

/* ---- time ---------------------------------------------------------------- */
static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- histogram ------------------------------------------------------------- */
#define H_SUB_BITS 5
#define H_SUB (1 << H_SUB_BITS)               /* 32 sub-buckets per octave */
#define H_LINEAR (2 * H_SUB)                   /* exact below 64 */
#define H_BUCKETS (H_LINEAR + (64 - (H_SUB_BITS + 1)) * H_SUB)

typedef struct Hist {
    uint64_t b[H_BUCKETS];
    uint64_t n;
    int64_t min, max;
    double sum;
} Hist;

static void hist_init(Hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = INT64_MAX;
}

static inline int hist_index(uint64_t v)
{
    if (v < H_LINEAR)
        return (int)v;
    int e = 63 - __builtin_clzll(v);              /* >= H_SUB_BITS + 1 */
    int sub = (int)((v >> (e - H_SUB_BITS)) & (H_SUB - 1));
    return H_LINEAR + (e - (H_SUB_BITS + 1)) * H_SUB + sub;
}

/* Lowest value of bucket i, and its width. */
static void hist_bucket(int i, uint64_t *lo, uint64_t *width)
{
    if (i < H_LINEAR) {
        *lo = (uint64_t)i;
        *width = 1;
        return;
    }
    int k = i - H_LINEAR;
    int e = k / H_SUB + H_SUB_BITS + 1;
    int sub = k % H_SUB;
    *width = 1ull << (e - H_SUB_BITS);
    *lo = (1ull << e) + (uint64_t)sub * *width;
}

static inline void hist_add(Hist *h, int64_t v)
{
    if (v < 0)
        v = 0;
    h->b[hist_index((uint64_t)v)]++;
    h->n++;
    h->sum += (double)v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(Hist *dst, const Hist *src)
{
    for (int i = 0; i < H_BUCKETS; i++)
        dst->b[i] += src->b[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* Value at quantile q (0..1), in ns; the middle of its bucket, clamped to max. */
static double hist_quantile(const Hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < H_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t lo, w;
            hist_bucket(i, &lo, &w);
            double v = (double)lo + (double)(w - 1) / 2.0;
            if (v > (double)h->max)
                v = (double)h->max;
            if (v < (double)h->min)
                v = (double)h->min;
            return v;
        }
    }
    return (double)h->max;
}

/* ---- options ---------------------------------------------------------------- */
enum { OP_CREATE, OP_SET, OP_GET, OP_EXISTS, OP_MIXED, OP_POPULATE, OP_CLOSE };

static struct {
    const char *server;
    int conns;
    double duration;
    double warmup;
    int pipeline;
    int op;
    int read_pct;
    const char *op_name;
    int size;
    long keys;
    long total;              /* -n: operations in the measured run (0 = by duration) */
    int threads;
    const char *prefix;
    const char *tag;
    bool json;
    bool no_populate;
    bool quiet;
    int session_timeout_ms;
    const char *probe;
    long expect_children;
    double probe_timeout;
    const char *tls_ca;      /* --tls CA: the server's secure_client_listen */
    const char *tls_cert, *tls_key;
} opt = {
    .server = "127.0.0.1:2181",
    .conns = 32,
    .duration = 10,
    .warmup = 2,
    .pipeline = 16,
    .op = OP_GET,
    .read_pct = 100,
    .op_name = "get",
    .size = 128,
    .keys = 10000,
    .threads = 1,
    .prefix = "/corral-bench",
    .tag = NULL,
    .session_timeout_ms = 30000,
    .expect_children = -1,
    .probe_timeout = 600,
};

static char g_tag[64];
static char *g_data;                 /* --size bytes of payload */
static struct sockaddr_storage g_addr;
static socklen_t g_addrlen;

/* ---- shared run state --------------------------------------------------------- */
static atomic_long g_seq;            /* next create sequence number / populate key */
static long g_limit;                 /* issue no sequence number >= this (LONG_MAX = none) */
static atomic_long g_done_total;     /* completed ops in the measured run (for -n) */
static atomic_int g_stop;            /* set by SIGINT/SIGTERM: end the run early */

typedef struct Pending {
    int64_t t0;
    int32_t xid;
    uint8_t op;                       /* 0 = read, 1 = write */
} Pending;

typedef struct Conn {
    int fd;
    int id;
    bool dead;
    bool want_out;                    /* EPOLLOUT registered */
    bool closed;                      /* closeSession answered (or EOF) */
    int64_t session_id;
    int32_t xid;
    int32_t close_xid;
    uint8_t *in;
    size_t in_len, in_cap;
    WBuf out;
    size_t out_off;                   /* bytes of out already sent */
    Pending *ring;
    unsigned head, count, cap;        /* FIFO of outstanding requests */
    int64_t last_send_ns;
    SSL *ssl;                         /* --tls */
} Conn;

/* ---- the transport: plain sockets, or TLS with --tls ------------------------------ */
static SSL_CTX *g_tls;
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void tls_setup(void)
{
    g_tls = SSL_CTX_new(TLS_client_method());
    if (!g_tls || SSL_CTX_load_verify_locations(g_tls, opt.tls_ca, NULL) != 1)
        die("--tls %s: cannot load the CA file", opt.tls_ca);
    SSL_CTX_set_verify(g_tls, SSL_VERIFY_PEER, NULL);
    if (opt.tls_cert && (SSL_CTX_use_certificate_chain_file(g_tls, opt.tls_cert) != 1 ||
                         SSL_CTX_use_PrivateKey_file(g_tls, opt.tls_key ? opt.tls_key : opt.tls_cert,
                                                     SSL_FILETYPE_PEM) != 1))
        die("--tls-cert %s: cannot load the certificate or its key", opt.tls_cert);
    SSL_CTX_set_mode(g_tls, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

/* send()/recv() semantics: -1 with EAGAIN when TLS must wait. */
static ssize_t tls_result(Conn *c, int ok, size_t n)
{
    if (ok)
        return (ssize_t)n;
    int e = SSL_get_error(c->ssl, 0);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = EIO;
    return -1;
}

static ssize_t c_send(Conn *c, const void *p, size_t n)
{
    if (!c->ssl)
        return send(c->fd, p, n, MSG_NOSIGNAL);
    size_t k = 0;
    int ok = SSL_write_ex(c->ssl, p, n, &k);
    return tls_result(c, ok, k);
}

static ssize_t c_recv(Conn *c, void *p, size_t n)
{
    if (!c->ssl)
        return recv(c->fd, p, n, 0);
    size_t k = 0;
    int ok = SSL_read_ex(c->ssl, p, n, &k);
    return tls_result(c, ok, k);
}

static void c_close(Conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    close(c->fd);
    c->fd = -1;
}

typedef struct Thread {
    int idx;
    pthread_t tid;
    Conn *conns;
    int nconns;
    int ep;
    bool issuing;                            /* this phase issues requests (copy of g_issuing) */
    uint64_t rng;
    char path[512];
    /* results of the measured window */
    Hist all, rd, wr;
    uint64_t ok, errors, lost, issued;
    uint64_t errcode[MAX_ERRCODE + 1];       /* index -err; last = other */
    uint64_t drain_left;                     /* requests left when drain timed out */
    uint64_t populate_errors;
} Thread;

static Thread *g_threads;

/* phase timing (set by the main thread before the workers run a phase) */
static int g_phase_op;
static int64_t g_rec_start, g_rec_end, g_phase_end;  /* ns; record in [start,end) */
static bool g_phase_count_limited;
static pthread_barrier_t g_barrier;

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "corral-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- address ------------------------------------------------------------------- */
static void resolve(const char *hostport)
{
    char *h = xstrdup(hostport);
    char *host = h, *port = "2181";
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
    int gr = getaddrinfo(host, port, &hints, &res);
    if (gr != 0 || !res)
        die("cannot resolve %s: %s", hostport, gai_strerror(gr));
    memcpy(&g_addr, res->ai_addr, res->ai_addrlen);
    g_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    free(h);
}

/* ---- blocking helpers (handshake, probe, close) ------------------------------------- */
static int tcp_connect(int timeout_ms)
{
    int fd = socket(g_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int cr = connect(fd, (struct sockaddr *)&g_addr, g_addrlen);
    if (cr < 0 && errno == EINPROGRESS) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, timeout_ms) <= 0) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr) {
            close(fd);
            errno = soerr;
            return -1;
        }
    } else if (cr < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static int send_all_blocking(Conn *c, const uint8_t *p, size_t n, int timeout_ms)
{
    int fd = c->fd;
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    while (n) {
        ssize_t k = c_send(c, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int64_t left = (deadline - now_ns()) / 1000000;
                if (left <= 0)
                    return -1;
                struct pollfd pfd = {fd, POLLOUT | POLLIN, 0};
                poll(&pfd, 1, (int)left);
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads until one whole frame is in c->in; returns 0 and sets *flen and *used, -1 on failure. */
static int read_frame_blocking(Conn *c, int timeout_ms, const uint8_t **f, size_t *flen, size_t *used)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int r = wire_next_frame(c->in, c->in_len, MAX_FRAME, f, flen, used);
        if (r != 0)
            return r > 0 ? 0 : -1;
        if (c->in_cap - c->in_len < 4096) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 65536;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t k = c_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (k > 0) {
            c->in_len += (size_t)k;
            continue;
        }
        if (k == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        int64_t left = (deadline - now_ns()) / 1000000;
        if (left <= 0)
            return -1;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        poll(&pfd, 1, (int)left);
    }
}

static void consume(Conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* TCP connect + ConnectRequest/Response.  0 on success. */
static int conn_open(Conn *c, int timeout_ms, char *err, size_t errlen)
{
    c->fd = tcp_connect(timeout_ms);
    if (c->fd < 0) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        return -1;
    }
    if (g_tls) {
        c->ssl = SSL_new(g_tls);
        SSL_set_fd(c->ssl, c->fd);
        int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
        int rc;
        while ((rc = SSL_connect(c->ssl)) != 1) {
            int e = SSL_get_error(c->ssl, rc);
            int64_t left = (deadline - now_ns()) / 1000000;
            if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || left <= 0) {
                char buf[160];
                ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
                snprintf(err, errlen, "TLS handshake: %s", buf);
                ERR_clear_error();
                c_close(c);
                return -1;
            }
            struct pollfd pfd = {c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
            poll(&pfd, 1, (int)left);
        }
    }
    c->in_len = 0;
    WBuf w = WBUF_INIT;
    size_t off = wbuf_begin_frame(&w);
    static const char zero_pw[16];
    ConnectRequest req = {0, 0, opt.session_timeout_ms, 0, zk_bytes_make(zero_pw, 16)};
    wire_write_connect_request(&w, &req, 0);
    wbuf_end_frame(&w, off);
    int sr = send_all_blocking(c, w.data, w.len, timeout_ms);
    wbuf_free(&w);
    const uint8_t *f;
    size_t flen, used;
    if (sr < 0 || read_frame_blocking(c, timeout_ms, &f, &flen, &used) < 0) {
        snprintf(err, errlen, "no ConnectResponse");
        c_close(c);
        return -1;
    }
    RBuf r;
    rbuf_init(&r, f, flen);
    ConnectResponse resp;
    int ro = -1;
    Arena a;
    arena_init(&a, 256);
    int pr = wire_read_connect_response(&r, &a, &resp, &ro);
    arena_free(&a);
    if (pr < 0 || resp.timeOut <= 0) {
        snprintf(err, errlen, pr < 0 ? "malformed ConnectResponse" : "session refused");
        c_close(c);
        return -1;
    }
    c->session_id = resp.sessionId;
    consume(c, used);
    c->xid = 1;
    return 0;
}

/* ---- requests ------------------------------------------------------------------------- */
static inline Pending *ring_push(Conn *c)
{
    Pending *p = &c->ring[(c->head + c->count) & (c->cap - 1)];
    c->count++;
    return p;
}

static void key_path(Thread *t, long k)
{
    snprintf(t->path, sizeof(t->path), "%s/k%ld", opt.prefix, k);
}

/* Queues one request of kind op on c; returns false if the phase issues no more. */
static bool issue(Thread *t, Conn *c, int op, int64_t now)
{
    int32_t xid = c->xid++;
    if (c->xid <= 0)
        c->xid = 1;
    uint8_t is_write = 1;
    WBuf *w = &c->out;
    size_t off;
    switch (op) {
    case OP_CREATE:
    case OP_POPULATE: {
        long seq = atomic_fetch_add_explicit(&g_seq, 1, memory_order_relaxed);
        if (seq >= g_limit) {
            c->xid = xid;
            return false;
        }
        if (op == OP_CREATE)
            snprintf(t->path, sizeof(t->path), "%s/c-%s-%ld", opt.prefix, g_tag, seq);
        else
            key_path(t, seq);
        off = wbuf_begin_frame(w);
        RequestHeader h = {xid, ZOO_OP_CREATE};
        jute_write_RequestHeader(w, &h);
        static char world[] = "world", anyone[] = "anyone";
        ACL acl = {ZOO_PERM_ALL, {{world, 5}, {anyone, 6}}};
        CreateRequest cr = {zk_bytes_cstr(t->path), zk_bytes_make(g_data, (size_t)opt.size),
                            {1, &acl}, ZOO_CREATE_PERSISTENT};
        jute_write_CreateRequest(w, &cr);
        break;
    }
    case OP_SET: {
        key_path(t, (long)(rng_next(&t->rng) % (uint64_t)opt.keys));
        off = wbuf_begin_frame(w);
        RequestHeader h = {xid, ZOO_OP_SETDATA};
        jute_write_RequestHeader(w, &h);
        SetDataRequest sr = {zk_bytes_cstr(t->path), zk_bytes_make(g_data, (size_t)opt.size), -1};
        jute_write_SetDataRequest(w, &sr);
        break;
    }
    case OP_GET: {
        is_write = 0;
        key_path(t, (long)(rng_next(&t->rng) % (uint64_t)opt.keys));
        off = wbuf_begin_frame(w);
        RequestHeader h = {xid, ZOO_OP_GETDATA};
        jute_write_RequestHeader(w, &h);
        GetDataRequest gr = {zk_bytes_cstr(t->path), false};
        jute_write_GetDataRequest(w, &gr);
        break;
    }
    case OP_EXISTS: {
        is_write = 0;
        key_path(t, (long)(rng_next(&t->rng) % (uint64_t)opt.keys));
        off = wbuf_begin_frame(w);
        RequestHeader h = {xid, ZOO_OP_EXISTS};
        jute_write_RequestHeader(w, &h);
        ExistsRequest er = {zk_bytes_cstr(t->path), false};
        jute_write_ExistsRequest(w, &er);
        break;
    }
    case OP_MIXED: {
        int read = (int)(rng_next(&t->rng) % 100) < opt.read_pct;
        c->xid = xid;
        return issue(t, c, read ? OP_GET : OP_SET, now);
    }
    default:
        return false;
    }
    wbuf_end_frame(w, off);
    Pending *p = ring_push(c);
    p->t0 = now;
    p->xid = xid;
    p->op = is_write;
    t->issued++;
    return true;
}

static void conn_kill(Thread *t, Conn *c)
{
    if (c->dead)
        return;
    c->dead = true;
    t->lost += c->count;
    c->count = 0;
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    c_close(c);
    if (!opt.quiet)
        fprintf(stderr, "corral-bench: session %d (0x%" PRIx64 ") lost\n", c->id, (uint64_t)c->session_id);
}

static void flush_out(Thread *t, Conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t k = c_send(c, c->out.data + c->out_off, c->out.len - c->out_off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            conn_kill(t, c);
            return;
        }
        c->out_off += (size_t)k;
        c->last_send_ns = now_ns();
    }
    if (c->out_off == c->out.len) {
        wbuf_reset(&c->out);
        c->out_off = 0;
    }
    bool want = c->out_off < c->out.len;
    if (want != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
        epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want;
    }
}

static bool g_issuing;   /* per phase: false during drain (read by the workers) */

/* Tops the pipeline of c up to --pipeline outstanding requests. */
static void refill(Thread *t, Conn *c, int64_t now)
{
    if (!t->issuing || c->dead)
        return;
    while (c->count < (unsigned)opt.pipeline) {
        if (!issue(t, c, g_phase_op, now))
            break;
    }
}

static void on_reply(Thread *t, Conn *c, const uint8_t *f, size_t flen, int64_t now)
{
    RBuf r;
    ReplyHeader h;
    rbuf_init(&r, f, flen);
    if (jute_read_ReplyHeader(&r, NULL, &h) < 0) {
        conn_kill(t, c);
        return;
    }
    if (h.xid == XID_PING || h.xid == XID_WATCH_EVENT || h.xid == XID_AUTH || h.xid == XID_SET_WATCHES)
        return;
    if (c->close_xid && h.xid == c->close_xid) {
        c->closed = true;
        return;
    }
    if (c->count == 0 || c->ring[c->head].xid != h.xid) {
        if (!opt.quiet)
            fprintf(stderr, "corral-bench: session %d: reply xid %d out of order\n", c->id, h.xid);
        conn_kill(t, c);
        return;
    }
    Pending p = c->ring[c->head];
    c->head = (c->head + 1) & (c->cap - 1);
    c->count--;
    if (now < g_rec_start || now >= g_rec_end)
        return;
    if (g_phase_op == OP_POPULATE) {
        if (h.err != ZERR_OK && h.err != ZERR_NODEEXISTS)
            t->populate_errors++;
        return;
    }
    if (h.err != ZERR_OK) {
        t->errors++;
        int code = -h.err;
        t->errcode[code > 0 && code < MAX_ERRCODE ? code : MAX_ERRCODE]++;
        return;
    }
    t->ok++;
    int64_t lat = now - p.t0;
    hist_add(&t->all, lat);
    hist_add(p.op ? &t->wr : &t->rd, lat);
    if (g_phase_count_limited)
        atomic_fetch_add_explicit(&g_done_total, 1, memory_order_relaxed);
}

static void on_readable(Thread *t, Conn *c)
{
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            c->in_cap = c->in_cap ? c->in_cap * 2 : 65536;
            c->in = xrealloc(c->in, c->in_cap);
        }
        ssize_t k = c_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (k > 0) {
            c->in_len += (size_t)k;
            /* A short read drains a socket; TLS returns one record a call
             * and may hold more (read until it says EAGAIN). */
            if (c->in_len < c->in_cap && !c->ssl)
                break;
            continue;
        }
        if (k == 0) {
            if (c->close_xid) {
                c->closed = true;
                epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
                c_close(c);
                c->dead = true;
            } else {
                conn_kill(t, c);
            }
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
        conn_kill(t, c);
        return;
    }
    int64_t now = now_ns();
    size_t pos = 0;
    while (!c->dead) {
        const uint8_t *f;
        size_t flen, used;
        int r = wire_next_frame(c->in + pos, c->in_len - pos, MAX_FRAME, &f, &flen, &used);
        if (r == 0)
            break;
        if (r < 0) {
            conn_kill(t, c);
            return;
        }
        on_reply(t, c, f, flen, now);
        pos += used;
    }
    if (c->dead)
        return;
    if (pos)
        consume(c, pos);
}

static void send_ping(Conn *c)
{
    size_t off = wbuf_begin_frame(&c->out);
    RequestHeader h = {XID_PING, ZOO_OP_PING};
    jute_write_RequestHeader(&c->out, &h);
    wbuf_end_frame(&c->out, off);
}

/* Runs the current phase on thread t until g_phase_end (or the count is met). */
static void run_phase(Thread *t)
{
    struct epoll_event evs[256];
    int64_t now = now_ns();
    t->issuing = g_issuing;
    if (t->issuing) {
        for (int i = 0; i < t->nconns; i++) {
            Conn *c = &t->conns[i];
            if (c->dead)
                continue;
            refill(t, c, now);
            flush_out(t, c);
        }
    }
    int64_t next_ping_check = now + 100000000;
    for (;;) {
        now = now_ns();
        if (now >= g_phase_end)
            break;
        if (g_phase_count_limited && g_phase_op != OP_CREATE && g_phase_op != OP_POPULATE &&
            atomic_load_explicit(&g_done_total, memory_order_relaxed) >= g_limit)
            t->issuing = false;
        if (atomic_load_explicit(&g_stop, memory_order_relaxed))
            t->issuing = false;
        unsigned outstanding = 0;
        int alive = 0;
        for (int i = 0; i < t->nconns; i++) {
            outstanding += t->conns[i].count;
            alive += !t->conns[i].dead;
        }
        if (!alive)
            break;
        /* Nothing outstanding and nothing more to issue: the phase is over here. */
        if (outstanding == 0) {
            bool more = false;
            if (t->issuing) {
                for (int i = 0; i < t->nconns && !more; i++) {
                    Conn *c = &t->conns[i];
                    if (c->dead)
                        continue;
                    refill(t, c, now);
                    more = c->count > 0;
                    flush_out(t, c);
                }
            }
            if (!more)
                break;
        }
        int64_t left_ms = (g_phase_end - now) / 1000000 + 1;
        int timeout = left_ms > 50 ? 50 : (int)left_ms;
        int n = epoll_wait(t->ep, evs, 256, timeout);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            Conn *c = evs[i].data.ptr;
            if (c->dead)
                continue;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                on_readable(t, c);
            if (c->dead)
                continue;
            if (t->issuing)
                refill(t, c, now_ns());
            flush_out(t, c);
        }
        if (now >= next_ping_check) {
            next_ping_check = now + 100000000;
            int64_t idle = (int64_t)opt.session_timeout_ms * 1000000 / 3;
            for (int i = 0; i < t->nconns; i++) {
                Conn *c = &t->conns[i];
                if (!c->dead && now - c->last_send_ns > idle) {
                    send_ping(c);
                    flush_out(t, c);
                }
            }
        }
    }
}

static void *thread_main(void *arg)
{
    Thread *t = arg;
    /* Phases are driven by the main thread through the barrier:
     * each round: wait (phase set up) -> run -> wait (phase done). */
    for (;;) {
        pthread_barrier_wait(&g_barrier);
        if (g_phase_op == OP_CLOSE)
            break;
        run_phase(t);
        pthread_barrier_wait(&g_barrier);
    }
    return NULL;
}

/* Main thread: sets the phase up, lets the workers run it, waits for them. */
static void phase(int op, bool issuing, int64_t rec_start, int64_t rec_end, int64_t end, bool count_limited)
{
    g_phase_op = op;
    g_issuing = issuing;
    g_rec_start = rec_start;
    g_rec_end = rec_end;
    g_phase_end = end;
    g_phase_count_limited = count_limited;
    pthread_barrier_wait(&g_barrier);
    pthread_barrier_wait(&g_barrier);
}

/* closeSession on every live session, then close the sockets. */
static void close_sessions(void)
{
    for (int ti = 0; ti < opt.threads; ti++) {
        Thread *t = &g_threads[ti];
        for (int i = 0; i < t->nconns; i++) {
            Conn *c = &t->conns[i];
            if (c->dead)
                continue;
            c->close_xid = c->xid++;
            size_t off = wbuf_begin_frame(&c->out);
            RequestHeader h = {c->close_xid, ZOO_OP_CLOSE_SESSION};
            jute_write_RequestHeader(&c->out, &h);
            wbuf_end_frame(&c->out, off);
            flush_out(t, c);
        }
    }
    int64_t deadline = now_ns() + 5000000000LL;
    for (int ti = 0; ti < opt.threads; ti++) {
        Thread *t = &g_threads[ti];
        for (int i = 0; i < t->nconns; i++) {
            Conn *c = &t->conns[i];
            while (!c->dead && !c->closed && now_ns() < deadline) {
                if (c->out_off < c->out.len)
                    flush_out(t, c);
                if (c->dead)
                    break;
                struct pollfd pfd = {c->fd, POLLIN, 0};
                if (poll(&pfd, 1, 100) > 0)
                    on_readable(t, c);
            }
            if (c->fd >= 0)
                c_close(c);
        }
    }
}

/* ---- probe ------------------------------------------------------------------------------- */
/*
 * --probe PATH: until the deadline, connect, open a session and send
 * exists(PATH); done when it is there (and has at least --expect-children
 * children).  Prints the time since the probe started.  For restart timing.
 */
static int probe(void)
{
    int64_t t0 = now_ns();
    int64_t deadline = t0 + (int64_t)(opt.probe_timeout * 1e9);
    int attempts = 0;
    char err[256] = "";
    int64_t first_answer = -1;
    for (;;) {
        attempts++;
        Conn c;
        memset(&c, 0, sizeof(c));
        c.fd = -1;
        if (conn_open(&c, 1000, err, sizeof(err)) == 0) {
            if (first_answer < 0)
                first_answer = now_ns() - t0;
            WBuf w = WBUF_INIT;
            size_t off = wbuf_begin_frame(&w);
            RequestHeader h = {1, ZOO_OP_EXISTS};
            jute_write_RequestHeader(&w, &h);
            ExistsRequest er = {zk_bytes_cstr(opt.probe), false};
            jute_write_ExistsRequest(&w, &er);
            wbuf_end_frame(&w, off);
            off = wbuf_begin_frame(&w);
            RequestHeader hc = {2, ZOO_OP_CLOSE_SESSION};
            jute_write_RequestHeader(&w, &hc);
            wbuf_end_frame(&w, off);
            const uint8_t *f;
            size_t flen, used;
            int done = 0;
            if (send_all_blocking(&c, w.data, w.len, 1000) == 0 &&
                read_frame_blocking(&c, 5000, &f, &flen, &used) == 0) {
                RBuf r;
                rbuf_init(&r, f, flen);
                ReplyHeader rh;
                ExistsResponse er2;
                if (jute_read_ReplyHeader(&r, NULL, &rh) == 0 && rh.xid == 1) {
                    if (rh.err == ZERR_OK && jute_read_ExistsResponse(&r, NULL, &er2) == 0) {
                        if (opt.expect_children < 0 || er2.stat.numChildren >= opt.expect_children) {
                            done = 1;
                            double ms = (double)(now_ns() - t0) / 1e6;
                            if (opt.json)
                                printf("{\"probe\":\"%s\",\"ready_ms\":%.1f,\"first_session_ms\":%.1f,"
                                       "\"attempts\":%d,\"num_children\":%d}\n",
                                       opt.probe, ms, (double)first_answer / 1e6, attempts,
                                       er2.stat.numChildren);
                            else
                                printf("probe %s ready after %.1f ms (first session at %.1f ms, %d attempts, "
                                       "numChildren=%d)\n",
                                       opt.probe, ms, (double)first_answer / 1e6, attempts,
                                       er2.stat.numChildren);
                        } else {
                            snprintf(err, sizeof(err), "numChildren %d < %ld", er2.stat.numChildren,
                                     opt.expect_children);
                        }
                    } else {
                        snprintf(err, sizeof(err), "exists: %s", zk_err_name(rh.err));
                    }
                }
                consume(&c, used);
                read_frame_blocking(&c, 1000, &f, &flen, &used);  /* closeSession reply */
            }
            wbuf_free(&w);
            c_close(&c);
            free(c.in);
            if (done) {
                fflush(stdout);
                return 0;
            }
        } else {
            free(c.in);
        }
        if (now_ns() >= deadline) {
            fprintf(stderr, "corral-bench: probe %s: not ready after %.0f s (%s)\n", opt.probe,
                    opt.probe_timeout, err);
            return 1;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- report ------------------------------------------------------------------------------ */
static void print_json_hist(const char *name, const Hist *h, bool comma)
{
    printf("\"%s\":{\"count\":%" PRIu64 ",\"mean_us\":%.1f,\"min_us\":%.1f,\"p50_us\":%.1f,"
           "\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}%s",
           name, h->n, h->n ? h->sum / (double)h->n / 1e3 : 0.0, h->n ? (double)h->min / 1e3 : 0.0,
           hist_quantile(h, 0.50) / 1e3, hist_quantile(h, 0.90) / 1e3, hist_quantile(h, 0.99) / 1e3,
           hist_quantile(h, 0.999) / 1e3, (double)h->max / 1e3, comma ? "," : "");
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: corral-bench [options]\n"
            "  -s, --server HOST:PORT      server (default 127.0.0.1:2181)\n"
            "  -c, --connections N         sessions (default 32)\n"
            "  -d, --duration SECONDS      measured run (default 10)\n"
            "  -w, --warmup SECONDS        unrecorded load before it (default 2)\n"
            "  -p, --pipeline N            outstanding requests per session (default 16)\n"
            "  -n, --ops N                 stop after N operations instead (create: exactly N nodes)\n"
            "  -t, --threads N             client threads (default 1)\n"
            "      --op OP                 create | set | get | exists | mixed:R (R%% reads; default get)\n"
            "      --size BYTES            data size for create/set/populate (default 128)\n"
            "      --keys N                keys PREFIX/k0..k(N-1) for set/get/exists/mixed (default 10000)\n"
            "      --prefix PATH           parent znode (default /corral-bench)\n"
            "      --tag STR               create names PREFIX/c-STR-SEQ (default: pid and time)\n"
            "      --no-populate           do not create PREFIX and the keys first\n"
            "      --session-timeout MS    requested session timeout (default 30000)\n"
            "      --json                  print one JSON object instead of the summary line\n"
            "  -q, --quiet                 no progress on stderr\n"
            "      --probe PATH            wait until PATH exists (restart timing) and exit\n"
            "      --expect-children N     with --probe: and has at least N children\n"
            "      --probe-timeout SECONDS with --probe (default 600)\n"
            "      --tls CA_FILE           TLS (the server's secure_client_listen), verifying it with CA_FILE\n"
            "      --tls-cert FILE         with --tls: a client certificate (PEM; its key in it or --tls-key)\n"
            "      --tls-key FILE          with --tls-cert: its private key\n");
}

static int parse_op(const char *s)
{
    if (!strcmp(s, "create"))
        return OP_CREATE;
    if (!strcmp(s, "set"))
        return OP_SET;
    if (!strcmp(s, "get"))
        return OP_GET;
    if (!strcmp(s, "exists"))
        return OP_EXISTS;
    if (!strncmp(s, "mixed", 5)) {
        opt.read_pct = 90;
        if (s[5] == ':') {
            char *end;
            long v = strtol(s + 6, &end, 10);
            if (*end || v < 0 || v > 100)
                return -1;
            opt.read_pct = (int)v;
        } else if (s[5]) {
            return -1;
        }
        return OP_MIXED;
    }
    return -1;
}

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        {"server", required_argument, 0, 's'},
        {"connections", required_argument, 0, 'c'},
        {"duration", required_argument, 0, 'd'},
        {"warmup", required_argument, 0, 'w'},
        {"pipeline", required_argument, 0, 'p'},
        {"ops", required_argument, 0, 'n'},
        {"threads", required_argument, 0, 't'},
        {"op", required_argument, 0, 'O'},
        {"size", required_argument, 0, 'S'},
        {"keys", required_argument, 0, 'K'},
        {"prefix", required_argument, 0, 'P'},
        {"tag", required_argument, 0, 'T'},
        {"no-populate", no_argument, 0, 'N'},
        {"session-timeout", required_argument, 0, 'z'},
        {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},
        {"probe", required_argument, 0, 'R'},
        {"expect-children", required_argument, 0, 'E'},
        {"probe-timeout", required_argument, 0, 'Z'},
        {"tls", required_argument, 0, 1001},
        {"tls-cert", required_argument, 0, 1002},
        {"tls-key", required_argument, 0, 1003},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "s:c:d:w:p:n:t:qh", lopts, NULL)) != -1) {
        switch (ch) {
        case 's': opt.server = optarg; break;
        case 1001: opt.tls_ca = optarg; break;
        case 1002: opt.tls_cert = optarg; break;
        case 1003: opt.tls_key = optarg; break;
        case 'c': opt.conns = atoi(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'w': opt.warmup = atof(optarg); break;
        case 'p': opt.pipeline = atoi(optarg); break;
        case 'n': opt.total = atol(optarg); break;
        case 't': opt.threads = atoi(optarg); break;
        case 'O':
            opt.op = parse_op(optarg);
            opt.op_name = optarg;
            if (opt.op < 0) {
                fprintf(stderr, "corral-bench: unknown --op %s\n", optarg);
                return 2;
            }
            break;
        case 'S': opt.size = atoi(optarg); break;
        case 'K': opt.keys = atol(optarg); break;
        case 'P': opt.prefix = optarg; break;
        case 'T': opt.tag = optarg; break;
        case 'N': opt.no_populate = true; break;
        case 'z': opt.session_timeout_ms = atoi(optarg); break;
        case 'j': opt.json = true; break;
        case 'q': opt.quiet = true; break;
        case 'R': opt.probe = optarg; break;
        case 'E': opt.expect_children = atol(optarg); break;
        case 'Z': opt.probe_timeout = atof(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || opt.conns < 1 || opt.pipeline < 1 || opt.threads < 1 || opt.size < 0 ||
        opt.size > 1048576 || opt.keys < 1 || opt.duration <= 0 || opt.warmup < 0 || opt.total < 0 ||
        opt.session_timeout_ms < 1 || strlen(opt.prefix) > 200 || opt.prefix[0] != '/') {
        usage(stderr);
        return 2;
    }
    if (opt.threads > opt.conns)
        opt.threads = opt.conns;
    signal(SIGPIPE, SIG_IGN);
    resolve(opt.server);
    if (opt.tls_ca)
        tls_setup();
    if (opt.probe)
        return probe();

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (opt.tag)
        snprintf(g_tag, sizeof(g_tag), "%s", opt.tag);
    else
        snprintf(g_tag, sizeof(g_tag), "%x%lx", (unsigned)getpid(), (long)time(NULL));
    g_data = xmalloc((size_t)opt.size + 1);
    for (int i = 0; i < opt.size; i++)
        g_data[i] = (char)('a' + i % 26);

    /* sessions */
    unsigned cap = 1;
    while (cap < (unsigned)opt.pipeline + 1)
        cap <<= 1;
    g_threads = xcalloc((size_t)opt.threads, sizeof(Thread));
    int next_conn = 0;
    for (int ti = 0; ti < opt.threads; ti++) {
        Thread *t = &g_threads[ti];
        t->idx = ti;
        t->nconns = opt.conns / opt.threads + (ti < opt.conns % opt.threads);
        t->conns = xcalloc((size_t)t->nconns, sizeof(Conn));
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)(ti + 1) * 0xBF58476D1CE4E5B9ull) ^ (uint64_t)getpid();
        hist_init(&t->all);
        hist_init(&t->rd);
        hist_init(&t->wr);
        for (int i = 0; i < t->nconns; i++) {
            Conn *c = &t->conns[i];
            c->id = next_conn++;
            c->cap = cap;
            c->ring = xcalloc(cap, sizeof(Pending));
            wbuf_init(&c->out);
            char err[256];
            if (conn_open(c, 10000, err, sizeof(err)) < 0)
                die("session %d to %s: %s", c->id, opt.server, err);
            c->last_send_ns = now_ns();
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev);
        }
    }
    if (!opt.quiet)
        fprintf(stderr, "corral-bench: %d sessions to %s\n", opt.conns, opt.server);

    pthread_barrier_init(&g_barrier, NULL, (unsigned)opt.threads + 1);
    for (int ti = 0; ti < opt.threads; ti++)
        pthread_create(&g_threads[ti].tid, NULL, thread_main, &g_threads[ti]);

    /* populate: PREFIX (on one session), then the keys */
    if (!opt.no_populate) {
        Thread *t0 = &g_threads[0];
        Conn *c0 = &t0->conns[0];
        WBuf w = WBUF_INIT;
        size_t off = wbuf_begin_frame(&w);
        RequestHeader h = {c0->xid++, ZOO_OP_CREATE};
        jute_write_RequestHeader(&w, &h);
        static char world[] = "world", anyone[] = "anyone";
        ACL acl = {ZOO_PERM_ALL, {{world, 5}, {anyone, 6}}};
        CreateRequest cr = {zk_bytes_cstr(opt.prefix), ZK_BYTES_NULL, {1, &acl}, ZOO_CREATE_PERSISTENT};
        jute_write_CreateRequest(&w, &cr);
        wbuf_end_frame(&w, off);
        const uint8_t *f;
        size_t flen, used;
        if (send_all_blocking(c0, w.data, w.len, 10000) < 0 ||
            read_frame_blocking(c0, 30000, &f, &flen, &used) < 0)
            die("create %s: no reply", opt.prefix);
        RBuf r;
        rbuf_init(&r, f, flen);
        ReplyHeader rh;
        jute_read_ReplyHeader(&r, NULL, &rh);
        if (rh.err != ZERR_OK && rh.err != ZERR_NODEEXISTS)
            die("create %s: %s", opt.prefix, zk_err_name(rh.err));
        consume(c0, used);
        wbuf_free(&w);
        if (opt.op != OP_CREATE) {
            int64_t t = now_ns();
            atomic_store(&g_seq, 0);
            g_limit = opt.keys;
            phase(OP_POPULATE, true, 0, INT64_MAX, INT64_MAX, false);
            uint64_t perr = 0;
            for (int ti = 0; ti < opt.threads; ti++)
                perr += g_threads[ti].populate_errors + g_threads[ti].lost;
            if (perr)
                die("populate: %" PRIu64 " creates failed", perr);
            if (!opt.quiet)
                fprintf(stderr, "corral-bench: %ld keys under %s ready (%.1f s)\n", opt.keys, opt.prefix,
                        (double)(now_ns() - t) / 1e9);
        }
    }

    atomic_store(&g_seq, 0);
    g_limit = (opt.op == OP_CREATE && opt.total) ? opt.total : (opt.total ? opt.total : LONG_MAX);

    int64_t start = now_ns();
    int64_t rec_start = start, rec_end, end;
    if (opt.total) {
        /* Count-limited: every completion is recorded; no warm-up. */
        rec_end = end = INT64_MAX;
    } else {
        rec_start = start + (int64_t)(opt.warmup * 1e9);
        rec_end = end = rec_start + (int64_t)(opt.duration * 1e9);
    }
    phase(opt.op, true, rec_start, rec_end, end, opt.total != 0);
    int64_t stop = now_ns();
    if (opt.total)
        rec_end = stop;
    /* drain */
    phase(opt.op, false, 0, 0, now_ns() + 10000000000LL, false);
    uint64_t drain_left = 0;
    for (int ti = 0; ti < opt.threads; ti++)
        for (int i = 0; i < g_threads[ti].nconns; i++)
            drain_left += g_threads[ti].conns[i].count;

    g_phase_op = OP_CLOSE;
    pthread_barrier_wait(&g_barrier);
    for (int ti = 0; ti < opt.threads; ti++)
        pthread_join(g_threads[ti].tid, NULL);
    close_sessions();

    /* results */
    Hist all, rd, wr;
    hist_init(&all);
    hist_init(&rd);
    hist_init(&wr);
    uint64_t ok = 0, errors = 0, lost = 0, issued = 0;
    uint64_t errcode[MAX_ERRCODE + 1] = {0};
    for (int ti = 0; ti < opt.threads; ti++) {
        Thread *t = &g_threads[ti];
        hist_merge(&all, &t->all);
        hist_merge(&rd, &t->rd);
        hist_merge(&wr, &t->wr);
        ok += t->ok;
        errors += t->errors;
        lost += t->lost;
        issued += t->issued;
        for (int k = 0; k <= MAX_ERRCODE; k++)
            errcode[k] += t->errcode[k];
    }
    int64_t win_end = rec_end < stop ? rec_end : stop;
    double secs = (double)(win_end - rec_start) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    double ops_s = (double)ok / secs;

    if (opt.json) {
        printf("{\"server\":\"%s\",\"op\":\"%s\",\"read_pct\":%d,\"connections\":%d,\"pipeline\":%d,"
               "\"threads\":%d,\"size\":%d,\"keys\":%ld,\"warmup_s\":%.1f,\"duration_s\":%.3f,"
               "\"ops\":%" PRIu64 ",\"ops_per_s\":%.1f,\"errors\":%" PRIu64 ",\"lost\":%" PRIu64
               ",\"undrained\":%" PRIu64 ",\"errors_by_code\":{",
               opt.server, opt.op_name, opt.op == OP_MIXED ? opt.read_pct : (opt.op == OP_GET || opt.op == OP_EXISTS) ? 100 : 0,
               opt.conns, opt.pipeline, opt.threads, opt.size, opt.keys, opt.total ? 0.0 : opt.warmup, secs, ok,
               ops_s, errors, lost, drain_left);
        bool first = true;
        for (int k = 0; k <= MAX_ERRCODE; k++) {
            if (!errcode[k])
                continue;
            printf("%s\"%s\":%" PRIu64, first ? "" : ",", k < MAX_ERRCODE ? zk_err_name(-k) : "other",
                   errcode[k]);
            first = false;
        }
        printf("},\"latency\":{");
        print_json_hist("all", &all, true);
        print_json_hist("read", &rd, true);
        print_json_hist("write", &wr, false);
        printf("}}\n");
    } else {
        printf("op=%s conns=%d pipeline=%d threads=%d size=%d secs=%.2f ops=%" PRIu64 " ops/s=%.0f "
               "errors=%" PRIu64 " lost=%" PRIu64 " p50=%.3fms p90=%.3fms p99=%.3fms p99.9=%.3fms max=%.3fms\n",
               opt.op_name, opt.conns, opt.pipeline, opt.threads, opt.size, secs, ok, ops_s, errors, lost,
               hist_quantile(&all, 0.50) / 1e6, hist_quantile(&all, 0.90) / 1e6, hist_quantile(&all, 0.99) / 1e6,
               hist_quantile(&all, 0.999) / 1e6, (double)all.max / 1e6);
        if (errors) {
            printf("errors by code:");
            for (int k = 0; k <= MAX_ERRCODE; k++)
                if (errcode[k])
                    printf(" %s=%" PRIu64, k < MAX_ERRCODE ? zk_err_name(-k) : "other", errcode[k]);
            printf("\n");
        }
    }
    fflush(stdout);
    (void)issued;
    for (int ti = 0; ti < opt.threads; ti++) {
        Thread *t = &g_threads[ti];
        for (int i = 0; i < t->nconns; i++) {
            free(t->conns[i].in);
            free(t->conns[i].ring);
            wbuf_free(&t->conns[i].out);
        }
        free(t->conns);
        close(t->ep);
    }
    free(g_threads);
    free(g_data);
    return (ok > 0 && lost == 0) ? 0 : 1;
}
