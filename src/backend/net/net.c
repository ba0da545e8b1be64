/*
 * src/backend/net/net.c: listener, connections, four-letter words, output
 * gating.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corral/log.h"
#include "corral/metrics.h"
#include "module/hooks.h"
#include "module/module.h"
#include "net/eventloop.h"
#include "net/net.h"
#include "net/tls.h"
#include "utils/alloc.h"

/* A reply backlog above CORRAL_OUTPUT_PAUSE_BYTES stops the handling of a
 * connection's requests (checked after every frame, not only when writing)
 * until the client drains it; one above server.max_output_bytes closes the
 * connection (a client that does not read while watch events pile up).  So
 * one slow or hostile reader costs at most max_output_bytes. */
#define READ_CHUNK 65536
/* Descriptors kept free for storage, snapshots and peers when
 * server.max_connections is 0 (derived from RLIMIT_NOFILE). */
#define FD_RESERVE 64
/* After EMFILE/ENFILE the listener is not polled for this long (the socket
 * stays readable, so a level-triggered loop would spin on it). */
#define ACCEPT_BACKOFF_MS 100
/* At most one log line per this interval for a repeated refusal. */
#define LOG_EVERY_MS 10000
/* While the unsent output of all connections together (sampled every
 * BACKLOG_SAMPLE_MS) is above server.max_output_total_bytes, a connection
 * stops being served already at this backlog: many connections that each
 * stay under the per-connection pause cannot add up without bound. */
#define OUTPUT_PAUSE_CROWDED (64u << 10)
#define BACKLOG_SAMPLE_MS 100

typedef struct IpCount {
    char ip[INET6_ADDRSTRLEN];
    int count;
} IpCount;

static struct {
    const CoreConfig *cfg;
    NetHandlers h;
    int listen_fd, secure_fd;    /* plaintext and TLS listeners (-1: none) */
    char listen_desc[96], secure_desc[96];
    int listen_port, secure_port;
    Conn **conns;            /* fd-indexed */
    int nconns_cap;
    int64_t nconns;
    uint64_t next_id;
    Conn *dirty;             /* flush list */
    Conn *held;              /* conns with held output */
    Conn **dead;             /* closed, to free at end of turn */
    size_t ndead, capdead;
    IpCount *ips;
    size_t nips, capips;
    int64_t durable_zxid;
    int64_t packets_received, packets_sent;
    int64_t max_conns;       /* effective global limit */
    uint64_t backoff_timer;  /* accept paused after EMFILE */
    uint64_t sessionless_timer, backlog_timer;
    int64_t total_backlog;   /* kept up to date where output grows and drains; resampled to correct drift */
    struct PendingHello { int fd; uint64_t id; int64_t since_ms; } *hello;   /* FIFO, oldest first */
    size_t hello_head, nhello, caphello;
    LogLimit log_emfile, log_maxconn, log_output, log_hello, log_tls;
    struct Kick { int fd; uint64_t id; } *kicks;   /* TLS conns with decrypted input OpenSSL holds */
    size_t nkicks, capkicks;
    uint64_t kick_timer;
} net = {.listen_fd = -1, .secure_fd = -1};

static void conn_io(int fd, int events, void *arg);

static CorralMetric *m_tls_failed, *m_conn_rejected, *m_large_rejected, *m_output_closed, *m_accept_backoff, *m_sessionless_closed;

int log_limit_due(LogLimit *rl, int64_t *suppressed)
{
    int64_t now = el_now_ms();
    if (rl->last_ms && now - rl->last_ms < LOG_EVERY_MS) {
        rl->suppressed++;
        return 0;
    }
    *suppressed = rl->suppressed;
    rl->suppressed = 0;
    rl->last_ms = now;
    return 1;
}

/* ---- per-IP counts ------------------------------------------------------ */

static IpCount *ip_slot(const char *ip, int create)
{
    for (size_t i = 0; i < net.nips; i++)
        if (strcmp(net.ips[i].ip, ip) == 0)
            return &net.ips[i];
    if (!create)
        return NULL;
    if (net.nips == net.capips) {
        net.capips = net.capips ? net.capips * 2 : 16;
        net.ips = xrealloc(net.ips, net.capips * sizeof *net.ips);
    }
    IpCount *s = &net.ips[net.nips++];
    snprintf(s->ip, sizeof s->ip, "%s", ip);
    s->count = 0;
    return s;
}

static void ip_release(const char *ip)
{
    IpCount *s = ip_slot(ip, 0);
    if (s && --s->count <= 0)
        *s = net.ips[--net.nips];
}

/* ---- output ------------------------------------------------------------- */

void net_conn_flush_later(Conn *c)
{
    if (c->closed || c->dirty)
        return;
    c->dirty = 1;
    c->dirty_next = net.dirty;
    net.dirty = c;
}

void net_conn_hold(Conn *c, int64_t zxid)
{
    if (zxid <= net.durable_zxid)
        return;
    if (c->nmarks > c->mark_head && c->marks[c->nmarks - 1].zxid >= zxid)
        return;   /* bytes appended now are behind a mark at least as strict */
    if (c->nmarks == c->capmarks) {
        /* Compact consumed marks before growing. */
        if (c->mark_head) {
            memmove(c->marks, c->marks + c->mark_head, (c->nmarks - c->mark_head) * sizeof *c->marks);
            c->nmarks -= c->mark_head;
            c->mark_head = 0;
        }
        if (c->nmarks == c->capmarks) {
            c->capmarks = c->capmarks ? c->capmarks * 2 : 8;
            c->marks = xrealloc(c->marks, c->capmarks * sizeof *c->marks);
        }
    }
    c->marks[c->nmarks++] = (ConnMark){c->out.len, zxid};
    if (!c->held) {
        c->held = 1;
        c->held_next = net.held;
        net.held = c;
    }
}

/* How many bytes of out may be written now. */
static size_t releasable(Conn *c)
{
    while (c->mark_head < c->nmarks && c->marks[c->mark_head].zxid <= net.durable_zxid)
        c->mark_head++;
    if (c->mark_head == c->nmarks) {
        c->mark_head = c->nmarks = 0;
        return c->out.len;
    }
    return c->marks[c->mark_head].off;
}

/* Arms the events c waits for: readability unless reading is paused,
 * writability while output is pending.  With TLS, a read may wait for
 * writability (a key update to answer) and a write for readability. */
static void set_write_interest(Conn *c, int on)
{
    c->want_write = on;
    int rd = !c->read_paused && !c->close_after_flush, wr = on;
    if (c->tls) {
        if (tls_write_wants_read(c->tls))
            rd = 1;
        if (rd && tls_read_wants_write(c->tls))
            wr = 1;
    }
    int ev = (rd ? CORRAL_EV_READ : 0) | (wr ? CORRAL_EV_WRITE : 0);
    if (c->armed == ev)
        return;
    c->armed = ev;
    el_watch(c->fd, ev, conn_io, c);
}

/* The transport: plaintext sockets call the kernel directly, TLS
 * connections go through OpenSSL (net/tls.c). */
static ssize_t conn_send(Conn *c, const void *buf, size_t len)
{
    return c->tls ? tls_write(c->tls, buf, len) : send(c->fd, buf, len, MSG_NOSIGNAL);
}

static ssize_t conn_recv(Conn *c, void *buf, size_t len)
{
    return c->tls ? tls_read(c->tls, buf, len) : recv(c->fd, buf, len, 0);
}

static void conn_read(Conn *c);

/* OpenSSL may hold decrypted input that the socket no longer signals
 * (reading stopped after a few records, or paused): a zero-delay timer
 * reads it in this same loop turn, before the end-of-turn hooks, as an
 * event on the socket would have. */
static int64_t kick_run(void *arg)
{
    net.kick_timer = 0;
    size_t n = net.nkicks;
    struct Kick *k = xmalloc((n ? n : 1) * sizeof *k);
    memcpy(k, net.kicks, n * sizeof *k);
    net.nkicks = 0;
    for (size_t i = 0; i < n; i++) {
        Conn *c = k[i].fd < net.nconns_cap ? net.conns[k[i].fd] : NULL;
        if (c && c->id == k[i].id && !c->closed)
            conn_read(c);
    }
    free(k);
    return -1;
}

static void kick_if_buffered(Conn *c)
{
    if (!c->tls || c->closed || c->read_paused || c->close_after_flush || !tls_pending(c->tls))
        return;
    if (net.nkicks == net.capkicks) {
        net.capkicks = net.capkicks ? net.capkicks * 2 : 16;
        net.kicks = xrealloc(net.kicks, net.capkicks * sizeof *net.kicks);
    }
    net.kicks[net.nkicks++] = (struct Kick){c->fd, c->id};
    if (!net.kick_timer)
        net.kick_timer = el_add_timer(0, kick_run, NULL);
}

/* Counts as sent the reply frames whose last byte has been written. */
static void count_written_frames(Conn *c)
{
    while (c->frame_head < c->nframes && c->frame_ends[c->frame_head] <= c->out_sent) {
        c->frame_head++;
        c->packets_sent++;
        net.packets_sent++;
    }
    if (c->frame_head == c->nframes)
        c->frame_head = c->nframes = 0;
}

static size_t backlog(const Conn *c) { return c->out.len - c->out_sent; }

static size_t pause_bytes(void)
{
    return net.total_backlog > net.cfg->max_output_total_bytes ? OUTPUT_PAUSE_CROWDED : CORRAL_OUTPUT_PAUSE_BYTES;
}

static int64_t sample_backlog(void *arg)
{
    int64_t total = 0;
    for (int fd = 0; fd < net.nconns_cap; fd++)
        if (net.conns[fd] && !net.conns[fd]->closed)
            total += (int64_t)backlog(net.conns[fd]);
    net.total_backlog = total;
    return BACKLOG_SAMPLE_MS;
}

static int64_t g_total_backlog(void *arg) { return net.total_backlog; }

static void conn_process_input(Conn *c);

static void conn_write(Conn *c)
{
    if (backlog(c) > (size_t)net.cfg->max_output_bytes) {
        int64_t n;
        if (log_limit_due(&net.log_output, &n))
            corral_log(CORRAL_LOG_WARN, "net",
                       "closing connection from %s: %zu bytes of replies and events are not read by the client, "
                       "above server.max_output_bytes (%lld)%s",
                       c->peer_desc, backlog(c), (long long)net.cfg->max_output_bytes,
                       n ? " (and others like it not logged)" : "");
        corral_metric_inc(m_output_closed);
        net_conn_close(c, NULL);
        return;
    }
    size_t limit = releasable(c);
    size_t unsent_before = backlog(c);
    while (c->out_sent < limit) {
        ssize_t w = conn_send(c, c->out.data + c->out_sent, limit - c->out_sent);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            net_conn_close(c, NULL);
            return;
        }
        c->out_sent += (size_t)w;
    }
    net.total_backlog -= (int64_t)(unsent_before - backlog(c));
    if (net.total_backlog < 0)
        net.total_backlog = 0;
    count_written_frames(c);
    if (c->out_sent == c->out.len) {
        /* Everything written: rewind the buffer (marks are all consumed). */
        c->out_sent = 0;
        c->out.len = 0;
        c->mark_head = c->nmarks = 0;
        if (c->close_after_flush) {
            net_conn_close(c, NULL);
            return;
        }
    } else if (c->out_sent > (1u << 20) && c->out_sent * 2 > c->out.len) {
        /* Slide the unsent tail to the front so the buffer does not creep. */
        size_t shift = c->out_sent;
        memmove(c->out.data, c->out.data + shift, c->out.len - shift);
        c->out.len -= shift;
        c->out_sent = 0;
        for (size_t i = c->mark_head; i < c->nmarks; i++)
            c->marks[i].off -= shift;
        for (size_t i = c->frame_head; i < c->nframes; i++)
            c->frame_ends[i] -= shift;
    }
    int pending_now = c->out_sent < releasable(c);
    set_write_interest(c, pending_now);
    if (c->read_paused && backlog(c) <= pause_bytes()) {
        c->read_paused = 0;
        set_write_interest(c, pending_now);
        /* Frames that arrived while paused are still in the input buffer.
         * This may run from the end-of-turn flush, after the commit hook
         * handed this turn's txns to storage: make the loop turn again at
         * once so that what they produce is not left until a timer fires. */
        conn_process_input(c);
        kick_if_buffered(c);
        el_wakeup();
    }
}

/* Stops taking requests from c until its backlog drains (conn_write
 * resumes it). */
static void pause_reading(Conn *c)
{
    if (c->read_paused)
        return;
    c->read_paused = 1;
    set_write_interest(c, c->out_sent < releasable(c));
}

void net_set_durable_zxid(int64_t zxid)
{
    if (zxid <= net.durable_zxid)
        return;
    net.durable_zxid = zxid;
    Conn **pp = &net.held;
    while (*pp) {
        Conn *c = *pp;
        releasable(c);
        if (c->closed || c->mark_head == c->nmarks) {
            c->held = 0;
            *pp = c->held_next;
        } else {
            pp = &c->held_next;
        }
        if (!c->closed)
            net_conn_flush_later(c);
    }
}

int64_t net_durable_zxid(void) { return net.durable_zxid; }

/* ---- lifecycle ---------------------------------------------------------- */

static void conn_free(Conn *c)
{
    tls_free(c->tls);
    free(c->in);
    wbuf_free(&c->out);
    free(c->marks);
    free(c->frame_ends);
    free(c);
}

void net_conn_close(Conn *c, const char *why)
{
    if (c->closed)
        return;
    if (why)
        corral_log(CORRAL_LOG_INFO, "net", "closing connection from %s: %s", c->peer_desc, why);
    if (c->is_client && net.h.on_close)
        net.h.on_close(c);
    c->closed = 1;
    net.total_backlog -= (int64_t)backlog(c);
    if (net.total_backlog < 0)
        net.total_backlog = 0;
    el_unwatch(c->fd);
    if (c->tls) {
        tls_free(c->tls);   /* close_notify, before the descriptor goes */
        c->tls = NULL;
    }
    close(c->fd);
    if (c->fd < net.nconns_cap)
        net.conns[c->fd] = NULL;
    net.nconns--;
    ip_release(c->peer_ip);
    if (net.ndead == net.capdead) {
        net.capdead = net.capdead ? net.capdead * 2 : 16;
        net.dead = xrealloc(net.dead, net.capdead * sizeof *net.dead);
    }
    net.dead[net.ndead++] = c;
}

void net_conn_close_after_flush(Conn *c)
{
    if (c->closed)
        return;
    c->close_after_flush = 1;
    set_write_interest(c, c->want_write);
    net_conn_flush_later(c);
}

/* End of a loop turn: write what became writable, then free the dead. */
static void before_sleep(void *arg)
{
    while (net.dirty) {
        Conn *c = net.dirty;
        net.dirty = c->dirty_next;
        c->dirty = 0;
        if (!c->closed)
            conn_write(c);
    }
    if (net.ndead) {
        /* Dead conns may still sit on the held list. */
        Conn **pp = &net.held;
        while (*pp) {
            if ((*pp)->closed) {
                (*pp)->held = 0;
                *pp = (*pp)->held_next;
            } else {
                pp = &(*pp)->held_next;
            }
        }
        for (size_t i = 0; i < net.ndead; i++)
            conn_free(net.dead[i]);
        net.ndead = 0;
    }
}

/* ---- four-letter words -------------------------------------------------- */

/* Every word Apache ZooKeeper 3.8 knows (FourLetterCommands.java, the
 * table of server/words.c): a word in it that is not allowed (or not
 * provided by a module) is answered with ZooKeeper's refusal, not treated
 * as a frame length. */
static int is_known_word(const char *w)
{
    const CorralZkWord *zw = corral_zk_word_find(w, 4);
    if (zw && (zw->flags & CORRAL_WORD_FOURLW) && memcmp(zw->word, w, 4) == 0)
        return 1;
    return module_find_fourlw(w) != NULL;
}

static void answer_fourlw(Conn *c, const char *w4)
{
    char word[5];
    memcpy(word, w4, 4);
    word[4] = '\0';
    const CorralFourlw *def = module_find_fourlw(word);
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    if (!def || !module_fourlw_allowed(word)) {
        corral_strbuf_printf(&sb, "%s is not executed because it is not in the whitelist.\n", word);
    } else {
        CorralFourlwRequest req = {word, c->peer_desc + 1};
        def->run(def->arg, &req, &sb);
    }
    corral_log(CORRAL_LOG_DEBUG, "net", "four-letter word %s from %s", word, c->peer_desc);
    wbuf_put_raw(&c->out, sb.data ? sb.data : "", sb.len);
    corral_strbuf_free(&sb);
    /* ZooKeeper counts the word as a received and a sent packet, after
     * answering it. */
    c->packets_received++;
    net.packets_received++;
    c->packets_sent++;
    net.packets_sent++;
    net_conn_close_after_flush(c);
}

/* ---- input -------------------------------------------------------------- */

/* Handles the complete frames in c's input buffer, one by one, stopping
 * when the connection's reply backlog passes CORRAL_OUTPUT_PAUSE_BYTES: the
 * rest waits in the buffer until the client has read its replies.  A
 * pipelining client that never reads therefore costs the pause threshold
 * plus one reply, however many requests it sent. */
static void conn_process_input(Conn *c)
{
    size_t max_frame = (size_t)net.cfg->max_request_bytes + 1024;   /* jute.maxbuffer + extrasize */
    size_t off = 0;
    if (!c->is_fourlw_checked) {
        if (c->in_len < 4)
            return;
        c->is_fourlw_checked = 1;
        if (is_known_word((const char *)c->in)) {
            answer_fourlw(c, (const char *)c->in);
            c->in_len = 0;
            return;
        }
        c->is_client = 1;
    }
    while (!c->closed && !c->close_after_flush) {
        if (backlog(c) > pause_bytes()) {
            pause_reading(c);
            break;
        }
        const uint8_t *frame;
        size_t flen, used;
        int rc = wire_next_frame(c->in + off, c->in_len - off, max_frame, &frame, &flen, &used);
        if (rc == 0)
            break;
        if (rc < 0) {
            int32_t bad = (int32_t)((uint32_t)c->in[off] << 24 | (uint32_t)c->in[off + 1] << 16 |
                                    (uint32_t)c->in[off + 2] << 8 | c->in[off + 3]);
            corral_log(CORRAL_LOG_WARN, "net",
                       "closing connection from %s: frame length %d is negative or above the limit of %zu bytes "
                       "(server.max_request_bytes)", c->peer_desc, bad, max_frame);
            corral_metric_inc(m_large_rejected);
            net_conn_close(c, NULL);
            return;
        }
        c->packets_received++;
        net.packets_received++;
        size_t before = backlog(c);
        net.h.on_frame(c, frame, flen);
        if (!c->closed)
            net.total_backlog += (int64_t)backlog(c) - (int64_t)before;
        off += used;
    }
    if (c->closed)
        return;
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    /* Keep the input buffer from staying huge after one big request. */
    if (c->in_len == 0 && c->in_cap > 4 * READ_CHUNK) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static void conn_read(Conn *c)
{
    size_t max_frame = (size_t)net.cfg->max_request_bytes + 1024;
    for (int rounds = 0; rounds < 4 && !c->closed && !c->read_paused && !c->close_after_flush; rounds++) {
        if (c->in_cap - c->in_len < READ_CHUNK / 2) {
            if (c->in_len > 0 && c->in_cap > max_frame + 8) {
                /* A whole frame would have fitted: what is there is not one. */
                net_conn_close(c, "input buffer overflow");
                return;
            }
            size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
            c->in = xrealloc(c->in, cap);
            c->in_cap = cap;
        }
        ssize_t r = conn_recv(c, c->in + c->in_len, c->in_cap - c->in_len);
        if (r == 0) {
            net_conn_close(c, NULL);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                net_conn_close(c, NULL);
            break;
        }
        c->in_len += (size_t)r;
        conn_process_input(c);
    }
    if (c->tls && !c->closed) {
        kick_if_buffered(c);
        set_write_interest(c, c->want_write);   /* a read may now wait for writability */
    }
}

/* A TLS connection's handshake, driven by its socket events; the
 * sessionless timeout bounds a handshake that never ends.  A failure
 * (garbage, a refused certificate, a truncated hello) closes only this
 * connection. */
static void conn_handshake(Conn *c)
{
    int rc = tls_handshake(c->tls);
    if (rc < 0) {
        int64_t n;
        corral_metric_inc(m_tls_failed);
        if (log_limit_due(&net.log_tls, &n))
            corral_log(CORRAL_LOG_INFO, "net", "closing connection from %s: TLS handshake failed: %s%s", c->peer_desc,
                       tls_error(c->tls), n ? " (and others like it not logged)" : "");
        net_conn_close(c, NULL);
        return;
    }
    if (rc == 0) {
        int ev = tls_wants_write(c->tls) ? CORRAL_EV_WRITE : CORRAL_EV_READ;
        if (c->armed != ev) {
            c->armed = ev;
            el_watch(c->fd, ev, conn_io, c);
        }
        return;
    }
    const char *subject = tls_peer_subject(c->tls);
    corral_log(CORRAL_LOG_DEBUG, "net", "TLS (%s) with %s%s%s", tls_version(c->tls), c->peer_desc,
               subject ? ", certificate " : "", subject ? subject : "");
    set_write_interest(c, c->out.len > c->out_sent);
    conn_read(c);   /* the client's first request may have come with its Finished */
}

static void conn_io(int fd, int events, void *arg)
{
    Conn *c = arg;
    if (c->closed)
        return;
    if (c->tls && !tls_handshake_done(c->tls)) {
        conn_handshake(c);
        return;
    }
    if (c->tls) {
        /* Either direction may be what the other waits for. */
        if (c->out_sent < c->out.len)
            conn_write(c);
        if (!c->closed && !c->read_paused && !c->close_after_flush)
            conn_read(c);
        return;
    }
    if (events & CORRAL_EV_WRITE)
        conn_write(c);
    if (!c->closed && (events & CORRAL_EV_READ) && !c->read_paused && !c->close_after_flush)
        conn_read(c);
}

/* ---- accepting ------------------------------------------------------------ */

static void accept_ready(int fd, int events, void *arg);

/* The listeners' callback argument says whether they speak TLS. */
static int plain_tag, secure_tag;

static int64_t accept_resume(void *arg)
{
    net.backoff_timer = 0;
    if (net.listen_fd >= 0)
        el_watch(net.listen_fd, CORRAL_EV_READ, accept_ready, &plain_tag);
    if (net.secure_fd >= 0)
        el_watch(net.secure_fd, CORRAL_EV_READ, accept_ready, &secure_tag);
    return -1;
}

/* Out of descriptors: the pending connection stays in the backlog and the
 * listener stays readable, so stop polling it for a while instead of
 * spinning (nginx's accept back-off); connections closing meanwhile give
 * descriptors back. */
static void accept_backoff(int err)
{
    int64_t n;
    corral_metric_inc(m_accept_backoff);
    if (log_limit_due(&net.log_emfile, &n))
        corral_log(CORRAL_LOG_WARN, "net",
                   "cannot accept: %s (%lld client connections open); not accepting for %d ms%s", strerror(err),
                   (long long)net.nconns, ACCEPT_BACKOFF_MS, n ? " (repeated, not logged every time)" : "");
    if (net.listen_fd >= 0)
        el_unwatch(net.listen_fd);
    if (net.secure_fd >= 0)
        el_unwatch(net.secure_fd);
    if (!net.backoff_timer)
        net.backoff_timer = el_add_timer(ACCEPT_BACKOFF_MS, accept_resume, NULL);
}

static void hello_push(Conn *c)
{
    if (net.hello_head + net.nhello == net.caphello) {
        if (net.hello_head) {
            memmove(net.hello, net.hello + net.hello_head, net.nhello * sizeof *net.hello);
            net.hello_head = 0;
        }
        if (net.nhello == net.caphello) {
            net.caphello = net.caphello ? net.caphello * 2 : 64;
            net.hello = xrealloc(net.hello, net.caphello * sizeof *net.hello);
        }
    }
    net.hello[net.hello_head + net.nhello++] = (struct PendingHello){c->fd, c->id, el_now_ms()};
}

/* Closes connections that have not established a session (or sent a
 * four-letter word) within server.sessionless_timeout_ms, as ZooKeeper's
 * NIOServerCnxnFactory does after sessionlessCnxnTimeout. */
static int64_t sessionless_sweep(void *arg)
{
    int64_t now = el_now_ms(), timeout = net.cfg->sessionless_timeout_ms;
    while (net.nhello) {
        struct PendingHello *h = &net.hello[net.hello_head];
        Conn *c = h->fd < net.nconns_cap ? net.conns[h->fd] : NULL;
        if (c && c->id == h->id && !c->closed && !c->established) {
            if (now - h->since_ms < timeout)
                break;
            int64_t n;
            corral_metric_inc(m_sessionless_closed);
            if (log_limit_due(&net.log_hello, &n))
                corral_log(CORRAL_LOG_INFO, "net",
                           "closing connection from %s: no session within %lld ms (server.sessionless_timeout_ms)%s",
                           c->peer_desc, (long long)timeout, n ? " (repeated, not logged every time)" : "");
            net_conn_close(c, NULL);
        }
        net.hello_head++;
        net.nhello--;
    }
    if (!net.nhello)
        net.hello_head = 0;
    return timeout < 1000 ? timeout / 2 + 1 : 500;
}

void net_conn_established(Conn *c) { c->established = 1; }

static void accept_ready(int fd, int events, void *arg)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t slen = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                accept_backoff(errno);
            return;
        }
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
            port = ntohs(sin6->sin6_port);
        }
        if (net.nconns >= net.max_conns) {
            int64_t n;
            if (log_limit_due(&net.log_maxconn, &n))
                corral_log(CORRAL_LOG_WARN, "net", "Too many connections (%lld): refusing /%s:%d (server.max_connections)%s",
                           (long long)net.nconns, ip, port, n ? " (repeated, not logged every time)" : "");
            corral_metric_inc(m_conn_rejected);
            close(cfd);
            continue;
        }
        IpCount *slot = ip_slot(ip, 1);
        if (net.cfg->max_client_connections > 0 && slot->count >= net.cfg->max_client_connections) {
            int64_t n;
            if (log_limit_due(&net.log_maxconn, &n))
                corral_log(CORRAL_LOG_WARN, "net", "Too many connections from /%s - max is %lld", ip,
                           (long long)net.cfg->max_client_connections);
            corral_metric_inc(m_conn_rejected);
            if (slot->count == 0)
                ip_release(ip);
            close(cfd);
            continue;
        }
        slot->count++;
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn *c = xcalloc(1, sizeof *c);
        c->fd = cfd;
        c->id = ++net.next_id;
        snprintf(c->peer_ip, sizeof c->peer_ip, "%s", ip);
        c->peer_port = port;
        snprintf(c->peer_desc, sizeof c->peer_desc, "/%s:%d", ip, port);
        c->established_ms = el_wall_ms();
        c->armed = -1;
        wbuf_init(&c->out);
        if (cfd >= net.nconns_cap) {
            int n = net.nconns_cap ? net.nconns_cap : 256;
            while (n <= cfd)
                n *= 2;
            net.conns = xrealloc(net.conns, (size_t)n * sizeof *net.conns);
            memset(net.conns + net.nconns_cap, 0, (size_t)(n - net.nconns_cap) * sizeof *net.conns);
            net.nconns_cap = n;
        }
        net.conns[cfd] = c;
        net.nconns++;
        HOOK_CLIENT_CONNECTED(c->id, c->peer_ip, c->peer_port);
        hello_push(c);
        if (arg == &secure_tag && !(c->tls = tls_new(cfd, TLS_CLIENT_SERVER))) {
            net_conn_close(c, "cannot start TLS");
            continue;
        }
        c->armed = CORRAL_EV_READ;
        if (el_watch(cfd, CORRAL_EV_READ, conn_io, c) < 0)
            net_conn_close(c, "cannot watch the socket");
    }
}

/* ---- setup -------------------------------------------------------------- */

/* Binds and listens on a; -1 + log. */
static int open_listener(const CorralAddr *a, char *desc, size_t desclen, int *port)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    memset(&ss, 0, sizeof ss);
    const char *host = strcmp(a->host, "localhost") == 0 ? "127.0.0.1" : a->host;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)a->port);
        slen = sizeof *sin;
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)a->port);
        slen = sizeof *sin6;
    } else {
        corral_log(CORRAL_LOG_ERROR, "net", "client_listen: bad address %s", a->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        corral_log(CORRAL_LOG_ERROR, "net", "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 1024) < 0) {
        corral_log(CORRAL_LOG_ERROR, "net", "cannot listen on %s:%d: %s", a->host, a->port, strerror(errno));
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&ss, &slen);
    *port = ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
    snprintf(desc, desclen, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", a->host, *port);
    return fd;
}

int net_init(const CoreConfig *cfg, const NetHandlers *handlers)
{
    net.cfg = cfg;
    net.h = *handlers;
    m_conn_rejected = corral_metric_counter("connection_rejected",
                                            "Connections refused by the per-IP limit (max_client_connections)");
    m_large_rejected = corral_metric_counter("large_requests_rejected",
                                             "Connections closed for a frame above max_request_bytes");
    m_output_closed = corral_metric_counter("connections_closed_output",
                                            "Connections closed for unread output above server.max_output_bytes");
    m_accept_backoff = corral_metric_counter("accept_backoffs",
                                             "Times accepting paused for lack of descriptors (EMFILE, ENFILE)");
    m_sessionless_closed = corral_metric_counter("connections_closed_sessionless",
                                                 "Connections closed without a session after sessionless_timeout_ms");
    net.max_conns = cfg->max_connections;
    if (net.max_conns == 0) {
        struct rlimit rl;
        net.max_conns = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                            ? (int64_t)rl.rlim_cur - FD_RESERVE
                            : INT64_MAX;
        if (net.max_conns < 1)
            net.max_conns = 1;
    }
    if (cfg->has_client_listen && (net.listen_fd = open_listener(&cfg->client_listen, net.listen_desc,
                                                                  sizeof net.listen_desc, &net.listen_port)) < 0)
        return -1;
    if (cfg->has_secure_client_listen &&
        (net.secure_fd = open_listener(&cfg->secure_client_listen, net.secure_desc, sizeof net.secure_desc,
                                       &net.secure_port)) < 0)
        return -1;
    el_add_before_sleep(before_sleep, NULL);
    if ((net.listen_fd >= 0 && el_watch(net.listen_fd, CORRAL_EV_READ, accept_ready, &plain_tag) < 0) ||
        (net.secure_fd >= 0 && el_watch(net.secure_fd, CORRAL_EV_READ, accept_ready, &secure_tag) < 0))
        return -1;
    net.backlog_timer = el_add_timer(BACKLOG_SAMPLE_MS, sample_backlog, NULL);
    corral_metric_gauge_fn("output_backlog_bytes", "Unsent replies and events of all connections (sampled)",
                           g_total_backlog, NULL);
    net.sessionless_timer = el_add_timer(cfg->sessionless_timeout_ms < 1000 ? cfg->sessionless_timeout_ms / 2 + 1 : 500,
                                         sessionless_sweep, NULL);
    if (net.secure_fd >= 0)
        m_tls_failed = corral_metric_counter("tls_handshake_failures",
                                             "TLS client connections closed because the handshake failed");
    if (net.listen_fd >= 0)
        corral_log(CORRAL_LOG_INFO, "net", "listening for clients on %s", net.listen_desc);
    if (net.secure_fd >= 0)
        corral_log(CORRAL_LOG_INFO, "net", "listening for TLS clients on %s", net.secure_desc);
    return 0;
}

void net_stop_listening(void)
{
    if (net.backoff_timer) {
        el_cancel_timer(net.backoff_timer);
        net.backoff_timer = 0;
    }
    int *fds[] = {&net.listen_fd, &net.secure_fd};
    for (int i = 0; i < 2; i++)
        if (*fds[i] >= 0) {
            el_unwatch(*fds[i]);
            close(*fds[i]);
            *fds[i] = -1;
        }
}

void net_shutdown(void)
{
    net_stop_listening();
    for (int fd = 0; fd < net.nconns_cap; fd++)
        if (net.conns[fd])
            net_conn_close(net.conns[fd], NULL);
    before_sleep(NULL);
    if (net.sessionless_timer)
        el_cancel_timer(net.sessionless_timer);
    if (net.backlog_timer)
        el_cancel_timer(net.backlog_timer);
    if (net.kick_timer)
        el_cancel_timer(net.kick_timer);
    net.sessionless_timer = net.backlog_timer = net.kick_timer = 0;
    free(net.kicks);
    net.kicks = NULL;
    net.nkicks = net.capkicks = 0;
    free(net.conns);
    free(net.dead);
    free(net.ips);
    free(net.hello);
    net.hello = NULL;
    net.hello_head = net.nhello = net.caphello = 0;
    net.conns = NULL;
    net.dead = NULL;
    net.ips = NULL;
    net.nconns_cap = 0;
    net.capdead = net.capips = net.nips = 0;
}

void net_foreach_conn(void (*fn)(void *ctx, Conn *c), void *ctx)
{
    for (int fd = 0; fd < net.nconns_cap; fd++)
        if (net.conns[fd] && !net.conns[fd]->closed)
            fn(ctx, net.conns[fd]);
}

int64_t net_conn_count(void) { return net.nconns; }
int64_t net_packets_received(void) { return net.packets_received; }
int64_t net_packets_sent(void) { return net.packets_sent; }
void net_count_sent(Conn *c)
{
    if (c->closed)
        return;   /* nothing will be written (and replication's stand-in connection never writes) */
    /* frame_ends[frame_head .. nframes) are the frames not yet written. */
    if (c->nframes == c->capframes) {
        if (c->frame_head) {
            memmove(c->frame_ends, c->frame_ends + c->frame_head, (c->nframes - c->frame_head) * sizeof *c->frame_ends);
            c->nframes -= c->frame_head;
            c->frame_head = 0;
        }
        if (c->nframes == c->capframes) {
            c->capframes = c->capframes ? c->capframes * 2 : 16;
            c->frame_ends = xrealloc(c->frame_ends, c->capframes * sizeof *c->frame_ends);
        }
    }
    c->frame_ends[c->nframes++] = c->out.len;
}

size_t net_conn_unsent_replies(const Conn *c) { return c->nframes - c->frame_head; }
void net_reset_stats(void) { net.packets_received = net.packets_sent = 0; }
const char *net_listen_desc(void) { return net.listen_fd >= 0 || !net.secure_desc[0] ? net.listen_desc : net.secure_desc; }
int net_listen_port(void) { return net.listen_fd >= 0 || !net.secure_desc[0] ? net.listen_port : net.secure_port; }
const char *net_secure_listen_desc(void) { return net.secure_desc; }
const char *net_conn_tls_subject(const Conn *c) { return c->tls ? tls_peer_subject(c->tls) : NULL; }
const unsigned char *net_conn_tls_cert(const Conn *c, size_t *len) { return tls_peer_cert_der(c->tls, len); }
