/*
 * src/backend/zab/peerconn.c: framed, non-blocking TCP connections between
 * members (election and peer protocol), on the event loop.
 *
 * Output is appended to a buffer and written at the end of the loop turn
 * (pc_flush_all), or when the socket becomes writable.  A closed PeerConn
 * stays allocated until the end of the turn, so callbacks may close the
 * connection they are called for.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "corral/metrics.h"
#include "net/eventloop.h"
#include "net/tls.h"
#include "zab/zab_int.h"

#define READ_CHUNK 65536
#define MAX_BACKLOG (256u << 20)
/* An accepted connection must say which member it is (an election
 * notification, FOLLOWERINFO) within this time, or it is closed: ZooKeeper's
 * zookeeper.cnxTimeout.  Keeps strangers from holding descriptors. */
#define HELLO_TIMEOUT_MS 5000
/* After EMFILE/ENFILE a listener is not polled for this long. */
#define ACCEPT_BACKOFF_MS 100

static PeerConn *dirty_list;
static PeerConn **dead;
static size_t ndead, capdead;
/* Accepted connections that have not said who they are yet. */
static PeerConn **strangers;
static size_t nstrangers, capstrangers;
static uint64_t stranger_timer;
static int64_t last_emfile_log_ms;

/* Member authentication (doc/security.md, "Members"). */
enum { AUTH_NONE, AUTH_SECRET, AUTH_TLS };
static struct {
    int mode;
    uint8_t secret[1024];
    size_t secret_len;
    CorralMetric *m_refused;
    int64_t last_log_ms;
    int64_t suppressed;
} auth;

static void pc_io(int fd, int events, void *arg);
static void pc_fail(PeerConn *pc);
static void mark_dirty(PeerConn *pc);

/* A refused member connection: a log line (at most one a second, the rest
 * counted), the counter, and the connection closed. */
static void auth_refuse(PeerConn *pc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void auth_refuse(PeerConn *pc, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    corral_metric_inc(auth.m_refused);
    if (el_now_ms() - auth.last_log_ms >= 1000) {
        corral_log(CORRAL_LOG_WARN, "zab", "refusing member connection %s: %s%s", pc->desc, why,
                   auth.suppressed ? " (others refused since the last line)" : "");
        auth.last_log_ms = el_now_ms();
        auth.suppressed = 0;
    } else {
        auth.suppressed++;
    }
    pc_fail(pc);
}

int pc_auth_init(const CoreConfig *cfg)
{
    auth.mode = tls_quorum() ? AUTH_TLS : cfg->ensemble_secret_file ? AUTH_SECRET : AUTH_NONE;
    if (auth.mode != AUTH_NONE)
        auth.m_refused = corral_metric_counter("member_connections_refused",
                                               "Member connections closed: authentication failed or a wrong id");
    if (auth.mode != AUTH_SECRET)
        return 0;
    const char *path = cfg->ensemble_secret_file;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        corral_log(CORRAL_LOG_FATAL, "zab", "ensemble_secret_file %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* As ssh with its keys: a secret others can read is no secret. */
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        corral_log(CORRAL_LOG_FATAL, "zab", "ensemble_secret_file %s is accessible to other users (mode %03o): "
                   "chmod 600 (or 640) it", path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return -1;
    }
    ssize_t n = read(fd, auth.secret, sizeof auth.secret);
    close(fd);
    while (n > 0 && (auth.secret[n - 1] == '\n' || auth.secret[n - 1] == '\r'))
        n--;
    if (n < 16) {
        corral_log(CORRAL_LOG_FATAL, "zab", "ensemble_secret_file %s: the secret must be at least 16 bytes "
                   "(e.g. openssl rand -hex 32 > FILE)", path);
        return -1;
    }
    auth.secret_len = (size_t)n;
    corral_log(CORRAL_LOG_INFO, "zab", "members authenticate with the shared secret of %s", path);
    return 0;
}

/* HMAC-SHA256 of one side's proof: the role of the prover (so that a proof
 * cannot be reflected back), both ids, the prover's nonce, then the
 * verifier's (so that an old proof cannot be replayed). */
static void proof_of(int connector, int64_t prover, int64_t verifier, const uint8_t *prover_nonce,
                     const uint8_t *verifier_nonce, uint8_t out[ZAB_PROOF_LEN])
{
    uint8_t msg[32 + 1 + 16 + 2 * ZAB_NONCE_LEN];
    size_t n = 0;
    memcpy(msg, "corral member authentication v1", 31);
    n = 31;
    msg[n++] = (uint8_t)connector;
    for (int i = 7; i >= 0; i--)
        msg[n++] = (uint8_t)((uint64_t)prover >> (8 * i));
    for (int i = 7; i >= 0; i--)
        msg[n++] = (uint8_t)((uint64_t)verifier >> (8 * i));
    memcpy(msg + n, prover_nonce, ZAB_NONCE_LEN);
    n += ZAB_NONCE_LEN;
    memcpy(msg + n, verifier_nonce, ZAB_NONCE_LEN);
    n += ZAB_NONCE_LEN;
    unsigned int len = ZAB_PROOF_LEN;
    HMAC(EVP_sha256(), auth.secret, (int)auth.secret_len, msg, n, out, &len);
}

static void auth_send(PeerConn *pc, int type, const void *payload, size_t len, int64_t sid)
{
    size_t off = wbuf_begin_frame(&pc->aout);
    wbuf_put_int(&pc->aout, type);
    wbuf_put_long(&pc->aout, 0);
    if (type == ZP_AUTH_HELLO)
        zab_encode_auth_hello(&pc->aout, sid, payload);
    else
        wbuf_put_raw(&pc->aout, payload, len);
    wbuf_end_frame(&pc->aout, off);
    mark_dirty(pc);
}

/* Any other id may say hello: knowing the secret is what admits a member,
 * and a joiner (reconfig) is not in the configuration yet.  The proof
 * binds the id it claims. */
static int is_member(int64_t id) { return id != zab.my_id && id >= 1 && id <= 255; }

/* The connection is authenticated: what waited in out may go, and an
 * outgoing connection's owner hears that it is up. */
static void auth_done(PeerConn *pc)
{
    pc->authed = 1;
    mark_dirty(pc);
    if (pc->on_connect && !pc->accepted_ms)
        pc->on_connect(pc);
}

/* ensemble_secret_file: a frame before authentication. */
static void auth_frame(PeerConn *pc, const ZabFrame *f)
{
    RBuf r = f->payload;
    int connector = !pc->accepted_ms;
    if (f->type == ZP_AUTH_HELLO && !pc->got_hello) {
        ZabAuthHello h;
        if (zab_decode_auth_hello(&r, &h) < 0) {
            auth_refuse(pc, "malformed authentication hello");
            return;
        }
        if (!is_member(h.sid)) {
            auth_refuse(pc, "it claims id %lld, not another member's id (1..255)", (long long)h.sid);
            return;
        }
        if (connector && h.sid != pc->expect_id) {
            auth_refuse(pc, "it answers as member %lld, not the member dialled", (long long)h.sid);
            return;
        }
        pc->got_hello = 1;
        pc->hello_id = h.sid;
        memcpy(pc->peer_nonce, h.nonce, ZAB_NONCE_LEN);
        uint8_t proof[ZAB_PROOF_LEN];
        proof_of(connector, zab.my_id, h.sid, pc->nonce, pc->peer_nonce, proof);
        auth_send(pc, ZP_AUTH_PROOF, proof, sizeof proof, 0);
        return;
    }
    if (f->type == ZP_AUTH_PROOF && pc->got_hello) {
        const uint8_t *got;
        uint8_t want[ZAB_PROOF_LEN];
        if (zab_decode_auth_proof(&r, &got) < 0) {
            auth_refuse(pc, "malformed authentication proof");
            return;
        }
        proof_of(!connector, pc->hello_id, zab.my_id, pc->peer_nonce, pc->nonce, want);
        if (CRYPTO_memcmp(got, want, ZAB_PROOF_LEN) != 0) {
            auth_refuse(pc, "it claims to be member %lld but does not know the ensemble secret",
                        (long long)pc->hello_id);
            return;
        }
        pc->auth_id = pc->hello_id;
        auth_done(pc);
        return;
    }
    auth_refuse(pc, "frame type %lld before member authentication (ensemble_secret_file)", (long long)f->type);
}

/* tls.quorum: whether the peer's certificate names some member other than
 * this one: a member of the configuration in force (zab.cfg, which a
 * reconfig changes) or an id of tls.member_names (a joiner to come). */
static int names_a_member(const PeerConn *pc)
{
    for (size_t i = 0; i < zab.cfg->n_members; i++)
        if (zab.cfg->members[i].id != zab.my_id &&
            tls_peer_is(pc->tls, config_member_tls_name(zab.cfg, zab.cfg->members[i].id)))
            return 1;
    const CorralConfig *names = zab.cfg->tls.member_names;
    for (size_t i = 0; i < corral_config_len(names); i++) {
        const char *k = corral_config_scalar(corral_config_key_at(names, i));
        if (k && strtoll(k, NULL, 10) != zab.my_id && tls_peer_is(pc->tls, corral_config_scalar(corral_config_at(names, i))))
            return 1;
    }
    return 0;
}

/* tls.quorum: the handshake finished; the certificate must name the member
 * dialled, or (accepted) at least one member. */
static void tls_check_member(PeerConn *pc)
{
    const char *subject = tls_peer_subject(pc->tls);
    if (!pc->accepted_ms) {
        const char *name = config_member_tls_name(zab.cfg, pc->expect_id);
        if (!tls_peer_is(pc->tls, name)) {
            auth_refuse(pc, "member %lld's certificate (%s) does not name %s", (long long)pc->expect_id,
                        subject ? subject : "?", name ? name : "?");
            return;
        }
    } else if (!names_a_member(pc)) {
        auth_refuse(pc, "its certificate (%s) names no member of the ensemble", subject ? subject : "?");
        return;
    }
    auth_done(pc);
}

int pc_authorize(PeerConn *pc, int64_t sid)
{
    if (auth.mode == AUTH_NONE || !pc->accepted_ms)
        return 0;
    if (auth.mode == AUTH_SECRET && pc->auth_id == sid)
        return 0;
    if (auth.mode == AUTH_TLS && tls_peer_is(pc->tls, config_member_tls_name(zab.cfg, sid)))
        return 0;
    auth_refuse(pc, "it authenticated as another member than the %lld it claims to be", (long long)sid);
    return -1;
}

/* Starts authentication on a connection whose TCP connection is up. */
static void auth_start(PeerConn *pc)
{
    if (auth.mode == AUTH_SECRET) {
        RAND_bytes(pc->nonce, ZAB_NONCE_LEN);
        auth_send(pc, ZP_AUTH_HELLO, pc->nonce, ZAB_NONCE_LEN, zab.my_id);
    }
}

/* tls.quorum: drives the handshake. */
static void tls_step(PeerConn *pc)
{
    int rc = tls_handshake(pc->tls);
    if (rc < 0) {
        if (tls_error_is_eof(pc->tls))
            pc_fail(pc);   /* the peer went away (a member closing a connection it no longer needs) */
        else
            auth_refuse(pc, "TLS handshake failed: %s", tls_error(pc->tls));
        return;
    }
    if (rc == 0) {
        el_watch(pc->fd, tls_wants_write(pc->tls) ? CORRAL_EV_WRITE : CORRAL_EV_READ, pc_io, pc);
        pc->want_write = -1;
        return;
    }
    pc->want_write = -1;
    tls_check_member(pc);
}

typedef struct Listener {
    int fd;
    void (*fn)(int fd, void *arg);
    void *arg;
    uint64_t backoff_timer;
} Listener;

#define MAX_LISTENERS 4
static Listener *listeners[MAX_LISTENERS];

static int to_sockaddr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof *sin;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof *sin6;
        return 0;
    }
    return -1;
}

static void listen_ready(int fd, int events, void *arg);

static int64_t listen_resume(void *arg)
{
    Listener *l = arg;
    l->backoff_timer = 0;
    el_watch(l->fd, CORRAL_EV_READ, listen_ready, l);
    return -1;
}

static void listen_ready(int fd, int events, void *arg)
{
    Listener *l = arg;
    for (int i = 0; i < 16; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The connection stays pending and the socket readable:
                 * stop polling it for a while rather than spin. */
                if (el_now_ms() - last_emfile_log_ms > 10000) {
                    last_emfile_log_ms = el_now_ms();
                    corral_log(CORRAL_LOG_WARN, "zab", "cannot accept a member connection: %s; retrying in %d ms",
                               strerror(errno), ACCEPT_BACKOFF_MS);
                }
                el_unwatch(fd);
                l->backoff_timer = el_add_timer(ACCEPT_BACKOFF_MS, listen_resume, l);
            }
            return;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        l->fn(cfd, l->arg);
    }
}

int pc_listen(const CorralAddr *addr, void (*fn)(int fd, void *arg), void *arg)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    if (to_sockaddr(addr->host, addr->port, &ss, &slen) < 0) {
        corral_log(CORRAL_LOG_ERROR, "zab", "bad address %s", addr->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, slen) < 0 || listen(fd, 128) < 0) {
        corral_log(CORRAL_LOG_ERROR, "zab", "cannot listen on %s:%d: %s", addr->host, addr->port, strerror(errno));
        close(fd);
        return -1;
    }
    Listener *l = xcalloc(1, sizeof *l);
    l->fd = fd;
    l->fn = fn;
    l->arg = arg;
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (!listeners[i]) {
            listeners[i] = l;
            break;
        }
    el_watch(fd, CORRAL_EV_READ, listen_ready, l);
    return fd;
}

void pc_unlisten(int fd)
{
    if (fd < 0)
        return;
    el_unwatch(fd);
    close(fd);
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (listeners[i] && listeners[i]->fd == fd) {
            if (listeners[i]->backoff_timer)
                el_cancel_timer(listeners[i]->backoff_timer);
            free(listeners[i]);
            listeners[i] = NULL;
        }
}

static void set_write(PeerConn *pc, int on)
{
    if (pc->tls && tls_read_wants_write(pc->tls))
        on = 1;   /* a read waits for writability (TLS key update) */
    if (pc->closed || pc->want_write == on)
        return;
    pc->want_write = on;
    el_watch(pc->fd, CORRAL_EV_READ | (on ? CORRAL_EV_WRITE : 0), pc_io, pc);
}

static ssize_t pc_send_raw(PeerConn *pc, const void *buf, size_t len)
{
    return pc->tls ? tls_write(pc->tls, buf, len) : send(pc->fd, buf, len, MSG_NOSIGNAL);
}

/* Writes from buf[*sent..len); 0, or -1 after pc_fail. */
static int write_buf(PeerConn *pc, const WBuf *b, size_t *sent)
{
    while (*sent < b->len) {
        ssize_t w = pc_send_raw(pc, b->data + *sent, b->len - *sent);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            pc_fail(pc);
            return -1;
        }
        *sent += (size_t)w;
    }
    return 0;
}

static void pc_fail(PeerConn *pc)
{
    if (pc->closed)
        return;
    PcEventFn cb = pc->on_close;
    pc_close(pc);
    if (cb)
        cb(pc);
}

static void mark_dirty(PeerConn *pc)
{
    if (pc->dirty || pc->closed)
        return;
    pc->dirty = 1;
    pc->dirty_next = dirty_list;
    dirty_list = pc;
}

static void pc_write(PeerConn *pc)
{
    if (pc->closed || pc->connecting || (pc->tls && !tls_handshake_done(pc->tls)))
        return;
    /* Authentication frames first; the protocol's wait for it. */
    if (pc->aout_sent < pc->aout.len) {
        if (write_buf(pc, &pc->aout, &pc->aout_sent) < 0)
            return;
        if (pc->aout_sent == pc->aout.len)
            pc->aout_sent = pc->aout.len = 0;
    }
    if (!pc->authed) {
        set_write(pc, pc->aout_sent < pc->aout.len);
        return;
    }
    if (write_buf(pc, &pc->out, &pc->out_sent) < 0)
        return;
    if (pc->out_sent == pc->out.len) {
        pc->out_sent = 0;
        pc->out.len = 0;
        set_write(pc, 0);
    } else {
        /* Compact only once half is sent: a large frame (SNAP) is not
         * moved again after every partial send. */
        if (pc->out_sent > (1u << 20) && pc->out_sent >= pc->out.len / 2) {
            memmove(pc->out.data, pc->out.data + pc->out_sent, pc->out.len - pc->out_sent);
            pc->out.len -= pc->out_sent;
            pc->out_sent = 0;
        }
        set_write(pc, 1);
    }
}

/* The input buffer always has room for a whole TLS record (16 KiB) and
 * reading never pauses, so OpenSSL never keeps decrypted bytes after a
 * read; the last round goes on while it does anyway. */
static void pc_read(PeerConn *pc)
{
    for (int rounds = 0; (rounds < 8 || (pc->tls && tls_pending(pc->tls))) && !pc->closed; rounds++) {
        if (pc->in_cap - pc->in_len < READ_CHUNK / 2) {
            size_t cap = pc->in_cap ? pc->in_cap * 2 : READ_CHUNK;
            pc->in = xrealloc(pc->in, cap);
            pc->in_cap = cap;
        }
        ssize_t r = pc->tls ? tls_read(pc->tls, pc->in + pc->in_len, pc->in_cap - pc->in_len)
                            : recv(pc->fd, pc->in + pc->in_len, pc->in_cap - pc->in_len, 0);
        if (r == 0) {
            pc_fail(pc);
            return;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                pc_fail(pc);
            else if (pc->tls)
                set_write(pc, pc->out_sent < pc->out.len);   /* the read may wait for writability */
            return;
        }
        pc->in_len += (size_t)r;
        pc->last_rx_ms = el_now_ms();
        size_t off = 0;
        while (!pc->closed) {
            ZabFrame f;
            size_t used;
            int rc = zab_next_frame(pc->in + off, pc->in_len - off, &f, &used);
            if (rc < 0) {
                corral_log(CORRAL_LOG_WARN, "zab", "%s: bad frame length %u", pc->desc, f.len);
                pc_fail(pc);
                return;
            }
            if (rc == 0)
                break;
            off += used;
            if (pc->authed)
                pc->on_frame(pc, f.type, f.zxid, &f.payload);
            else
                auth_frame(pc, &f);
        }
        if (pc->closed)
            return;
        if (off) {
            memmove(pc->in, pc->in + off, pc->in_len - off);
            pc->in_len -= off;
        }
        if (pc->in_len == 0 && pc->in_cap > 4 * READ_CHUNK) {
            free(pc->in);
            pc->in = NULL;
            pc->in_cap = 0;
        }
    }
}

static void pc_io(int fd, int events, void *arg)
{
    PeerConn *pc = arg;
    if (pc->closed)
        return;
    if (pc->connecting && (events & (CORRAL_EV_WRITE | CORRAL_EV_READ))) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            pc_fail(pc);
            return;
        }
        pc->connecting = 0;
        pc->last_rx_ms = el_now_ms();
        pc->want_write = -1;
        set_write(pc, pc->out.len > 0);
        if (pc->tls) {
            tls_step(pc);
            return;
        }
        auth_start(pc);
        if (pc->authed && pc->on_connect)
            pc->on_connect(pc);
        if (pc->closed)
            return;
        mark_dirty(pc);
        return;
    }
    if (pc->tls && !tls_handshake_done(pc->tls)) {
        tls_step(pc);
        if (!pc->closed && tls_handshake_done(pc->tls))
            pc_read(pc);   /* frames may have come with the handshake's end */
        return;
    }
    if (pc->tls) {
        if (pc->out_sent < pc->out.len)
            pc_write(pc);
        if (!pc->closed)
            pc_read(pc);
        return;
    }
    if (events & CORRAL_EV_WRITE)
        pc_write(pc);
    if (!pc->closed && (events & CORRAL_EV_READ))
        pc_read(pc);
}

static PeerConn *pc_new(int fd, PcFrameFn on_frame, PcEventFn on_close, void *ctx)
{
    PeerConn *pc = xcalloc(1, sizeof *pc);
    pc->fd = fd;
    pc->on_frame = on_frame;
    pc->on_close = on_close;
    pc->ctx = ctx;
    pc->peer_id = -1;
    pc->expect_id = -1;
    pc->auth_id = -1;
    pc->authed = auth.mode == AUTH_NONE;
    pc->last_rx_ms = el_now_ms();
    wbuf_init(&pc->out);
    wbuf_init(&pc->aout);
    snprintf(pc->desc, sizeof pc->desc, "fd %d", fd);
    return pc;
}

static void forget_stranger(PeerConn *pc)
{
    for (size_t i = 0; i < nstrangers; i++)
        if (strangers[i] == pc) {
            strangers[i] = strangers[--nstrangers];
            return;
        }
}

static int64_t stranger_sweep(void *arg)
{
    int64_t now = el_now_ms();
    for (size_t i = 0; i < nstrangers;) {
        PeerConn *pc = strangers[i];
        if (pc->peer_id >= 0) {
            strangers[i] = strangers[--nstrangers];
            continue;
        }
        if (now - pc->accepted_ms > HELLO_TIMEOUT_MS) {
            corral_log(CORRAL_LOG_WARN, "zab", "closing connection from %s: it did not identify as a member within %d ms",
                       pc->desc, HELLO_TIMEOUT_MS);
            pc_fail(pc);   /* pc_close forgets it */
            continue;
        }
        i++;
    }
    if (nstrangers)
        return 1000;
    stranger_timer = 0;
    return -1;
}

PeerConn *pc_wrap(int fd, PcFrameFn on_frame, PcEventFn on_close, void *ctx)
{
    PeerConn *pc = pc_new(fd, on_frame, on_close, ctx);
    pc->accepted_ms = el_now_ms();
    if (nstrangers == capstrangers) {
        capstrangers = capstrangers ? capstrangers * 2 : 16;
        strangers = xrealloc(strangers, capstrangers * sizeof *strangers);
    }
    strangers[nstrangers++] = pc;
    if (!stranger_timer)
        stranger_timer = el_add_timer(1000, stranger_sweep, NULL);
    pc->want_write = 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 && ss.ss_family == AF_INET) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
        snprintf(pc->desc, sizeof pc->desc, "%s:%d", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    el_watch(fd, CORRAL_EV_READ, pc_io, pc);
    /* Without its Tls (OpenSSL out of memory, logged) the connection can
     * never authenticate: the stranger sweep closes it. */
    if (auth.mode == AUTH_TLS)
        pc->tls = tls_new(fd, TLS_MEMBER_SERVER);
    auth_start(pc);
    return pc;
}

PeerConn *pc_connect(const char *src_host, int64_t id, const CorralAddr *dst, PcFrameFn on_frame,
                     PcEventFn on_close, PcEventFn on_connect, void *ctx)
{
    struct sockaddr_storage ss, src;
    socklen_t slen, srclen;
    if (to_sockaddr(dst->host, dst->port, &ss, &slen) < 0)
        return NULL;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (src_host && to_sockaddr(src_host, 0, &src, &srclen) == 0 && src.ss_family == ss.ss_family) {
        if (bind(fd, (struct sockaddr *)&src, srclen) < 0) {
            corral_log(CORRAL_LOG_WARN, "zab", "cannot bind the source address %s: %s", src_host, strerror(errno));
            close(fd);
            return NULL;
        }
    }
    int rc = connect(fd, (struct sockaddr *)&ss, slen);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    Tls *t = NULL;
    if (auth.mode == AUTH_TLS && !(t = tls_new(fd, TLS_MEMBER_CLIENT))) {
        close(fd);
        return NULL;
    }
    PeerConn *pc = pc_new(fd, on_frame, on_close, ctx);
    pc->tls = t;
    pc->expect_id = id;
    pc->on_connect = on_connect;
    pc->connecting = 1;
    pc->want_write = 1;
    snprintf(pc->desc, sizeof pc->desc, "%s:%d", dst->host, dst->port);
    el_watch(fd, CORRAL_EV_READ | CORRAL_EV_WRITE, pc_io, pc);
    return pc;
}

size_t pc_begin(PeerConn *pc, int type, int64_t zxid)
{
    size_t off = wbuf_begin_frame(&pc->out);
    wbuf_put_int(&pc->out, type);
    wbuf_put_long(&pc->out, zxid);
    return off;
}

void pc_end(PeerConn *pc, size_t off)
{
    wbuf_end_frame(&pc->out, off);
    mark_dirty(pc);
    if (pc->out.len - pc->out_sent > MAX_BACKLOG) {
        corral_log(CORRAL_LOG_WARN, "zab", "%s: output backlog above %u MiB, closing", pc->desc, MAX_BACKLOG >> 20);
        pc_fail(pc);
    }
}

void pc_send(PeerConn *pc, int type, int64_t zxid, const void *payload, size_t len)
{
    if (pc->closed)
        return;
    size_t off = pc_begin(pc, type, zxid);
    if (len)
        wbuf_put_raw(&pc->out, payload, len);
    pc_end(pc, off);
}

void pc_send_buf(PeerConn *pc, int type, int64_t zxid, WBuf *w)
{
    if (pc->closed)
        return;
    if (pc->out.len != pc->out_sent || w->len < ZAB_FRAME_HEADROOM) {
        pc_send(pc, type, zxid, w->data + ZAB_FRAME_HEADROOM, w->len - ZAB_FRAME_HEADROOM);
        return;
    }
    /* Nothing queued: the buffer becomes the output as it is (no copy of
     * a snapshot of hundreds of MB on the loop thread). */
    wbuf_free(&pc->out);
    pc->out = *w;
    *w = (WBuf)WBUF_INIT;
    pc->out_sent = 0;
    wbuf_patch_int(&pc->out, 4, type);
    wbuf_patch_int(&pc->out, 8, (int32_t)((uint64_t)zxid >> 32));
    wbuf_patch_int(&pc->out, 12, (int32_t)(uint64_t)zxid);
    pc_end(pc, 0);
}

size_t pc_backlog(const PeerConn *pc) { return pc->out.len - pc->out_sent; }

void pc_close(PeerConn *pc)
{
    if (pc->closed)
        return;
    pc->closed = 1;
    if (pc->accepted_ms)
        forget_stranger(pc);
    el_unwatch(pc->fd);
    if (pc->tls) {
        tls_free(pc->tls);   /* close_notify before the descriptor goes */
        pc->tls = NULL;
    }
    close(pc->fd);
    if (ndead == capdead) {
        capdead = capdead ? capdead * 2 : 16;
        dead = xrealloc(dead, capdead * sizeof *dead);
    }
    dead[ndead++] = pc;
}

void pc_flush_all(void)
{
    while (dirty_list) {
        PeerConn *pc = dirty_list;
        dirty_list = pc->dirty_next;
        pc->dirty = 0;
        if (!pc->closed)
            pc_write(pc);
    }
    for (size_t i = 0; i < ndead; i++) {
        PeerConn *pc = dead[i];
        free(pc->in);
        wbuf_free(&pc->out);
        wbuf_free(&pc->aout);
        free(pc);
    }
    ndead = 0;
}
