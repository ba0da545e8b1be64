/*
 * src/modules/metrics_prometheus/httpd.c: the small HTTP/1.1 server of the
 * observability modules (see httpd.h).
 *
 * A connection goes READING -> WRITING -> DRAINING -> closed:
 *   READING   bytes are collected until the empty line that ends the headers
 *             (CRLF CRLF, or LF LF from hand-typed requests); more than
 *             max_request bytes before it is answered 431.
 *   WRITING   the whole answer is built at once by the handler and written
 *             as the socket accepts it.
 *   DRAINING  our side is shut down; what the client still sends (a body we
 *             never read) is discarded until it closes, for at most a
 *             second, so that our close does not reset the connection
 *             before the client has read the answer.
 * A sweep timer, running only while connections exist, closes any that
 * overstay their deadline (slow or stuck clients cannot pile up; at most
 * max_conns are open, others get a 503 and are closed at once).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"

#define HTTPD_DEFAULT_MAX_REQUEST 8192
#define HTTPD_DEFAULT_MAX_CONNS 64
#define HTTPD_DEFAULT_TIMEOUT_MS 10000
#define HTTPD_DRAIN_MS 1000
#define HTTPD_SWEEP_MS 200
#define HTTPD_ACCEPTS_PER_EVENT 64
#define HTTPD_ACCEPT_PAUSE_MS 200

enum { ST_HANDSHAKE, ST_READING, ST_WRITING, ST_DRAINING };

struct HttpdConn {
    Httpd *h;
    HttpdConn *prev, *next;
    int fd;
    CorralTls *tls;            /* https */
    int state;
    int64_t deadline;
    char *in;                  /* max_request + 1 bytes */
    size_t in_len;
    CorralStrbuf out;
    size_t out_off;
    char peer[INET6_ADDRSTRLEN + 8];
};

static void conn_io(int fd, int events, void *arg);

const char *httpd_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

int httpd_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!host)
        return 0;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return 0;
}

int httpd_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Every byte of b is looked at whatever a holds, so the time taken
     * tells nothing about how much of a matched. */
    unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++)
        diff |= (unsigned char)((i < alen ? (unsigned char)a[i] : 0) ^ (unsigned char)b[i]);
    return diff == 0;
}

void httpd_init(Httpd *h, const char *log_sub)
{
    memset(h, 0, sizeof *h);
    h->log_sub = log_sub;
    snprintf(h->host, sizeof h->host, "127.0.0.1");
    h->max_request = HTTPD_DEFAULT_MAX_REQUEST;
    h->max_conns = HTTPD_DEFAULT_MAX_CONNS;
    h->timeout_ms = HTTPD_DEFAULT_TIMEOUT_MS;
    h->fd = -1;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(HttpdConn *c)
{
    Httpd *h = c->h;
    corral_loop_unwatch_fd(c->fd);
    corral_tls_free(c->tls);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->nconns--;
    free(c->in);
    corral_strbuf_free(&c->out);
    free(c);
}

static int64_t sweep(void *arg)
{
    Httpd *h = arg;
    int64_t now = corral_loop_now_ms();
    for (HttpdConn *c = h->conns, *next; c; c = next) {
        next = c->next;
        if (now >= c->deadline) {
            if (c->state == ST_READING)
                corral_log(CORRAL_LOG_DEBUG, h->log_sub, "%s: no complete request within %lld ms; closed", c->peer,
                           (long long)h->timeout_ms);
            conn_close(c);
        }
    }
    if (!h->conns) {
        h->timer = 0;
        return -1;
    }
    return HTTPD_SWEEP_MS;
}

static void ensure_sweep(Httpd *h)
{
    if (!h->timer)
        h->timer = corral_loop_add_timer(HTTPD_SWEEP_MS, sweep, h);
}

static void http_date(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Status line, headers and (unless head_only) the body, into c->out. */
static void conn_set_answer(HttpdConn *c, const HttpdResponse *r, int head_only)
{
    char date[64];
    http_date(date, sizeof date);
    corral_strbuf_reset(&c->out);
    corral_strbuf_printf(&c->out,
                         "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                         "Cache-Control: no-store\r\nConnection: close\r\n",
                         r->status, httpd_reason(r->status), date,
                         r->content_type ? r->content_type : "text/plain; charset=utf-8", r->body.len);
    if (r->headers.len)
        corral_strbuf_append(&c->out, r->headers.data, r->headers.len);
    corral_strbuf_puts(&c->out, "\r\n");
    if (!head_only && r->body.len)
        corral_strbuf_append(&c->out, r->body.data, r->body.len);
    c->out_off = 0;
}

/* The transport: the socket, or TLS over it. */
static ssize_t conn_send(HttpdConn *c, const void *buf, size_t len)
{
    return c->tls ? corral_tls_write(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t conn_recv(HttpdConn *c, void *buf, size_t len)
{
    return c->tls ? corral_tls_read(c->tls, buf, len) : recv(c->fd, buf, len, 0);
}

/* TLS may wait for the other direction than the state's. */
static void conn_watch_tls(HttpdConn *c)
{
    if (corral_loop_watch_fd(c->fd, corral_tls_wants_write(c->tls) ? CORRAL_EV_WRITE : CORRAL_EV_READ, conn_io, c) < 0)
        conn_close(c);
}

static void conn_start_drain(HttpdConn *c)
{
    if (c->tls)
        corral_tls_close_notify(c->tls);
    shutdown(c->fd, SHUT_WR);
    c->state = ST_DRAINING;
    c->deadline = corral_loop_now_ms() + HTTPD_DRAIN_MS;
    if (corral_loop_watch_fd(c->fd, CORRAL_EV_READ, conn_io, c) < 0)
        conn_close(c);
}

/* Writes what the socket takes; moves on to DRAINING when all is out. */
static void conn_write(HttpdConn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = conn_send(c, c->out.data + c->out_off, c->out.len - c->out_off);
        if (w > 0) {
            c->out_off += (size_t)w;
            c->deadline = corral_loop_now_ms() + c->h->timeout_ms;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->tls)
                conn_watch_tls(c);
            return;   /* watched for WRITE: called again when there is room */
        }
        conn_close(c);   /* the client went away */
        return;
    }
    conn_start_drain(c);
}

static void conn_respond(HttpdConn *c, const HttpdResponse *r, int head_only)
{
    conn_set_answer(c, r, head_only);
    c->state = ST_WRITING;
    c->deadline = corral_loop_now_ms() + c->h->timeout_ms;
    c->h->requests++;
    if (corral_loop_watch_fd(c->fd, CORRAL_EV_WRITE, conn_io, c) < 0) {
        conn_close(c);
        return;
    }
    conn_write(c);
}

static void conn_error(HttpdConn *c, int status, const char *why)
{
    HttpdResponse r = {status, "text/plain; charset=utf-8", CORRAL_STRBUF_INIT, CORRAL_STRBUF_INIT};
    corral_strbuf_printf(&r.body, "%d %s: %s\n", status, httpd_reason(status), why);
    conn_respond(c, &r, 0);
    corral_strbuf_free(&r.body);
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Cuts the next line (ending in LF, an optional CR before it removed) off
 * *p; NULL at the end. */
static char *next_line(char **p, char *end)
{
    if (*p >= end)
        return NULL;
    char *line = *p;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl)
        nl = end;
    char *e = nl;
    if (e > line && e[-1] == '\r')
        e--;
    *e = '\0';
    *p = nl < end ? nl + 1 : end;
    return line;
}

/* The request head is in c->in[0..head_len) (terminator excluded). */
static void conn_handle(HttpdConn *c, size_t head_len)
{
    char *p = c->in, *end = c->in + head_len;
    *end = '\0';
    char *line = next_line(&p, end);
    /* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line */
    while (line && !*line)
        line = next_line(&p, end);
    if (!line) {
        conn_error(c, 400, "empty request");
        return;
    }

    /* request-line = method SP request-target SP HTTP-version */
    char *method = line;
    char *sp1 = strchr(line, ' ');
    if (!sp1 || sp1 == line) {
        conn_error(c, 400, "malformed request line");
        return;
    }
    *sp1 = '\0';
    for (char *m = method; *m; m++)
        if (!is_tchar((unsigned char)*m)) {
            conn_error(c, 400, "malformed method");
            return;
        }
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2 || sp2 == target) {
        conn_error(c, 400, "malformed request line");
        return;
    }
    *sp2 = '\0';
    const char *version = sp2 + 1;
    if (strncmp(version, "HTTP/", 5) != 0 || strchr(version, ' ')) {
        conn_error(c, 400, "malformed HTTP version");
        return;
    }
    if (strcmp(version, "HTTP/1.1") != 0 && strcmp(version, "HTTP/1.0") != 0) {
        conn_error(c, 505, "only HTTP/1.0 and HTTP/1.1 are served");
        return;
    }
    /* absolute-form (a proxy's request): keep the path */
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        char *slash = strchr(strstr(target, "//") + 2, '/');
        target = slash ? slash : (char *)"/";
    }
    if (target[0] != '/') {
        conn_error(c, 400, "the request target must be a path");
        return;
    }
    char *query = strchr(target, '?');
    if (query)
        *query++ = '\0';
    char *frag = strchr(query ? query : target, '#');
    if (frag)
        *frag = '\0';

    const char *authorization = NULL;
    while ((line = next_line(&p, end)) != NULL) {
        if (!*line)
            break;
        if (*line == ' ' || *line == '\t') {
            conn_error(c, 400, "obsolete header line folding");
            return;
        }
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            conn_error(c, 400, "malformed header line");
            return;
        }
        for (char *n = line; n < colon; n++)
            if (!is_tchar((unsigned char)*n)) {
                conn_error(c, 400, "malformed header name");
                return;
            }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            v[--vl] = '\0';
        if (strcasecmp(line, "Authorization") == 0) {
            if (authorization) {
                conn_error(c, 400, "more than one Authorization header");
                return;
            }
            authorization = v;
        }
    }

    HttpdRequest req = {method, target, query ? query : "", authorization, c->peer};
    HttpdResponse resp = {200, NULL, CORRAL_STRBUF_INIT, CORRAL_STRBUF_INIT};
    c->h->handler(c->h->arg, &req, &resp);
    conn_respond(c, &resp, strcmp(method, "HEAD") == 0);
    corral_strbuf_free(&resp.headers);
    corral_strbuf_free(&resp.body);
}

/* The end of the request head in buf[0..len): the index just past the
 * empty line, and *head_len the bytes before that line's terminator. */
static int find_head_end(const char *buf, size_t len, size_t *head_len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        /* LF LF or LF CR LF */
        if (i + 1 < len && buf[i + 1] == '\n') {
            *head_len = i + 1;
            return 1;
        }
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            *head_len = i + 1;
            return 1;
        }
    }
    return 0;
}

static void conn_read(HttpdConn *c)
{
    Httpd *h = c->h;
    for (;;) {
        size_t room = h->max_request - c->in_len;
        if (room == 0) {
            corral_log(CORRAL_LOG_DEBUG, h->log_sub, "%s: request head over %zu bytes; answered 431", c->peer,
                       h->max_request);
            { conn_error(c, 431, "the request line and headers are limited in size"); return; }
        }
        ssize_t r = conn_recv(c, c->in + c->in_len, room);
        if (r > 0) {
            size_t from = c->in_len > 2 ? c->in_len - 2 : 0;
            c->in_len += (size_t)r;
            size_t head_len;
            if (find_head_end(c->in + from, c->in_len - from, &head_len)) {
                conn_handle(c, from + head_len);
                return;
            }
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->tls)
                conn_watch_tls(c);
            return;
        }
        conn_close(c);   /* closed or reset before a complete request */
        return;
    }
}

static void conn_drain(HttpdConn *c)
{
    char buf[4096];
    for (;;) {
        ssize_t r = conn_recv(c, buf, sizeof buf);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(c);
        return;
    }
}

static void conn_io(int fd, int events, void *arg)
{
    HttpdConn *c = arg;
    switch (c->state) {
    case ST_HANDSHAKE: {
        int rc = corral_tls_handshake(c->tls);
        if (rc < 0) {
            corral_log(CORRAL_LOG_DEBUG, c->h->log_sub, "%s: TLS handshake failed: %s", c->peer,
                       corral_tls_error(c->tls));
            conn_close(c);
        } else if (rc == 0) {
            conn_watch_tls(c);
        } else {
            c->state = ST_READING;
            if (corral_loop_watch_fd(c->fd, CORRAL_EV_READ, conn_io, c) < 0)
                conn_close(c);
            else
                conn_read(c);
        }
        break;
    }
    case ST_READING:
        if (events & CORRAL_EV_READ || c->tls)
            conn_read(c);
        break;
    case ST_WRITING:
        if (events & CORRAL_EV_WRITE || c->tls)
            conn_write(c);
        break;
    case ST_DRAINING:
        if (events & CORRAL_EV_READ)
            conn_drain(c);
        break;
    }
}

/* ---- listener ------------------------------------------------------------- */

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
        port = ntohs(s->sin_port);
        snprintf(buf, n, "%s:%d", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
        port = ntohs(s->sin6_port);
        snprintf(buf, n, "[%s]:%d", ip, port);
    } else {
        snprintf(buf, n, "?");
    }
}

static void refuse_busy(int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                               "Content-Length: 31\r\nConnection: close\r\n\r\n503 Service Unavailable: busy\r\n";
    ssize_t w = send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    close(fd);
}

static void on_accept(int fd, int events, void *arg);

static int64_t resume_accept(void *arg)
{
    Httpd *h = arg;
    h->pause_timer = 0;
    if (h->fd >= 0 && corral_loop_watch_fd(h->fd, CORRAL_EV_READ, on_accept, h) < 0)
        return HTTPD_ACCEPT_PAUSE_MS;   /* try again later */
    return -1;
}

static void on_accept(int fd, int events, void *arg)
{
    Httpd *h = arg;
    for (int i = 0; i < HTTPD_ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* Out of descriptors or memory: the listening socket stays
             * readable, so stop watching it for a moment instead of
             * spinning (and logging) on every loop turn. */
            int64_t now = corral_loop_now_ms();
            if (now - h->last_accept_warn >= 10000) {
                corral_log(CORRAL_LOG_WARN, h->log_sub, "accept on %s: %s; pausing accepts for %d ms", h->bound,
                           strerror(errno), HTTPD_ACCEPT_PAUSE_MS);
                h->last_accept_warn = now;
            }
            corral_loop_unwatch_fd(fd);
            if (!h->pause_timer)
                h->pause_timer = corral_loop_add_timer(HTTPD_ACCEPT_PAUSE_MS, resume_accept, h);
            return;
        }
        if (h->nconns >= h->max_conns) {
            if (h->https)
                close(cfd);   /* no plaintext answer on a TLS port */
            else
                refuse_busy(cfd);
            continue;
        }
        CorralTls *tls = NULL;
        if (h->https && !(tls = corral_tls_server(cfd))) {
            close(cfd);
            continue;
        }
        HttpdConn *c = corral_xcalloc(1, sizeof *c);
        char *in = corral_xmalloc(h->max_request + 1);
        c->h = h;
        c->fd = cfd;
        c->tls = tls;
        c->in = in;
        c->state = tls ? ST_HANDSHAKE : ST_READING;
        c->deadline = corral_loop_now_ms() + h->timeout_ms;
        format_peer(&ss, c->peer, sizeof c->peer);
        if (corral_loop_watch_fd(cfd, CORRAL_EV_READ, conn_io, c) < 0) {
            corral_tls_free(tls);
            free(in);
            free(c);
            close(cfd);
            continue;
        }
        c->next = h->conns;
        if (h->conns)
            h->conns->prev = c;
        h->conns = c;
        h->nconns++;
        ensure_sweep(h);
    }
}

int httpd_start(Httpd *h, char *err, size_t errlen)
{
    if (!h->max_request)
        h->max_request = HTTPD_DEFAULT_MAX_REQUEST;
    if (h->max_conns <= 0)
        h->max_conns = HTTPD_DEFAULT_MAX_CONNS;
    if (h->timeout_ms <= 0)
        h->timeout_ms = HTTPD_DEFAULT_TIMEOUT_MS;
    const char *host = strcmp(h->host, "localhost") == 0 ? "127.0.0.1" : h->host;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)h->port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)h->port);
        sl = sizeof *s6;
    } else {
        snprintf(err, errlen, "\"%s\" is not a numeric address", h->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "cannot listen on %s%s%s:%d: %s", ss.ss_family == AF_INET6 ? "[" : "", host,
                 ss.ss_family == AF_INET6 ? "]" : "", h->port, strerror(e));
        return -1;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        format_peer(&got, h->bound, sizeof h->bound);
    else
        snprintf(h->bound, sizeof h->bound, "%s:%d", host, h->port);
    if (corral_loop_watch_fd(fd, CORRAL_EV_READ, on_accept, h) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(e));
        return -1;
    }
    h->fd = fd;
    return 0;
}

void httpd_stop(Httpd *h)
{
    while (h->conns)
        conn_close(h->conns);
    if (h->timer) {
        corral_loop_cancel_timer(h->timer);
        h->timer = 0;
    }
    if (h->pause_timer) {
        corral_loop_cancel_timer(h->pause_timer);
        h->pause_timer = 0;
    }
    if (h->fd >= 0) {
        corral_loop_unwatch_fd(h->fd);
        close(h->fd);
        h->fd = -1;
    }
}
