/*
 * src/backend/net/net.h: the client listener and client connections.
 *
 * Owns: the listening socket, every client connection (Conn), their input
 * and output buffers, the per-IP connection counts, and the answer to
 * four-letter words.  Runs on the event-loop thread only.
 *
 * A connection's first four bytes decide what it is: a registered
 * four-letter word is answered and the connection closed (as ZooKeeper's
 * NIOServerCnxn.checkFourLetterWord does); anything else is the client
 * protocol, and every complete frame goes to the protocol handler.
 *
 * Output gating: replies that describe state not yet durable are appended
 * behind a "hold" mark carrying a zxid; bytes behind a mark are not written
 * to the socket until net_set_durable_zxid() reaches that zxid.  This is
 * how a standalone server answers only after the fsync (group commit)
 * without copying replies aside: writes are applied to the tree at once,
 * but nobody can see their effect before it is on disk.
 *
 * Lifetime: a Conn is freed at the end of the loop turn in which it was
 * closed, so a handler may close its own connection and return safely.
 */
#ifndef CORRAL_NET_NET_H
#define CORRAL_NET_NET_H

#include <netinet/in.h>
#include <stdint.h>

#include "config/config.h"
#include "wire/wire.h"

typedef struct ConnMark {
    size_t off;          /* absolute offset in out where held bytes start */
    int64_t zxid;        /* durable zxid needed */
} ConnMark;

typedef struct Conn {
    int fd;
    uint64_t id;
    char peer_ip[INET6_ADDRSTRLEN];
    int peer_port;
    char peer_desc[INET6_ADDRSTRLEN + 12];   /* "/127.0.0.1:52311" as ZooKeeper prints */
    int is_fourlw_checked;   /* first bytes looked at */
    int is_client;           /* speaks the client protocol (not a 4lw) */
    int established;         /* has a session (net_conn_established): no sessionless timeout */
    int closed;              /* no more I/O; freed at end of turn */
    int close_after_flush;   /* stop reading; close when output drained */
    int read_paused;         /* output backlog too large */
    int want_write;          /* output pending: EPOLLOUT wanted */
    int armed;               /* events last given to el_watch; -1: re-arm */
    struct Tls *tls;         /* NULL: plaintext (secure_client_listen: net/tls.h) */
    uint8_t *in;
    size_t in_len, in_cap;
    WBuf out;
    size_t out_sent;         /* bytes of out already written */
    ConnMark *marks;
    size_t nmarks, mark_head, capmarks;
    size_t *frame_ends;      /* absolute end offsets in out of queued reply frames, oldest first */
    size_t nframes, frame_head, capframes;
    struct Conn *dirty_next; /* on the flush list */
    int dirty;
    struct Conn *held_next;  /* on the held list (has marks) */
    int held;
    void *proto;             /* the protocol handler's per-connection state */
    /* statistics for cons / mntr */
    int64_t established_ms, last_response_ms;
    int64_t packets_received, packets_sent;
} Conn;

/* A log line for an event a client can repeat thousands of times a second
 * (a descriptor shortage, a flood of connections, oversized replies): at
 * most one per 10 s.  log_limit_due returns 1 when the caller should log
 * now, with *suppressed the number of events not logged since the last
 * line.  Loop thread (uses its cached clock). */
typedef struct LogLimit {
    int64_t last_ms;
    int64_t suppressed;
} LogLimit;
int log_limit_due(LogLimit *l, int64_t *suppressed);

typedef struct NetHandlers {
    /* Called with each complete frame of a client-protocol connection. */
    void (*on_frame)(Conn *c, const uint8_t *frame, size_t len);
    /* Called once when a client-protocol connection goes away. */
    void (*on_close)(Conn *c);
} NetHandlers;

int net_init(const CoreConfig *cfg, const NetHandlers *handlers);  /* binds; -1 + log */
void net_shutdown(void);               /* closes listener and every connection */
void net_stop_listening(void);

/* Appending output: write into c->out (frames via wbuf_begin_frame), then
 * call net_conn_flush_later.  net_conn_hold(c, zxid) before appending makes
 * the bytes appended from now on wait for durability of zxid. */
void net_conn_hold(Conn *c, int64_t zxid);
void net_conn_flush_later(Conn *c);
void net_conn_close(Conn *c, const char *why);      /* at once; why is logged (NULL: quiet) */
void net_conn_close_after_flush(Conn *c);
void net_set_durable_zxid(int64_t zxid);
int64_t net_durable_zxid(void);

/* Iteration and counts for admin commands. */
void net_foreach_conn(void (*fn)(void *ctx, Conn *c), void *ctx);
int64_t net_conn_count(void);
int64_t net_packets_received(void);
int64_t net_packets_sent(void);
void net_reset_stats(void);
const char *net_listen_desc(void);    /* "127.0.0.1:2181" (the TLS one when there is no plaintext listener) */
int net_listen_port(void);            /* the bound port (useful with port 0) */
const char *net_secure_listen_desc(void);   /* "" without secure_client_listen */
/* The connection's verified client certificate: subject (RFC 2253) and
 * DER; NULL without TLS or without a certificate. */
const char *net_conn_tls_subject(const Conn *c);
const unsigned char *net_conn_tls_cert(const Conn *c, size_t *len);
/* One reply frame was appended (call after wbuf_end_frame): it counts as
 * sent (cons, mntr) once its last byte is written to the socket. */
void net_count_sent(Conn *c);
/* Reply frames appended but not yet written (held or unsent). */
size_t net_conn_unsent_replies(const Conn *c);
/* The connection has a session: the sessionless timeout no longer applies. */
void net_conn_established(Conn *c);

#endif
