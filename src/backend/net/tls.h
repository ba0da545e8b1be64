/*
 * src/backend/net/tls.h: TLS (OpenSSL) for client and member connections.
 *
 * Owns: the SSL_CTX built from the top-level `tls:` map (one for clients,
 * one for members under tls.quorum), its reload, the days-to-expiry gauges,
 * and the per-connection Tls state.  Event-loop thread only.
 *
 * A connection with TLS holds a Tls; one without holds NULL and never calls
 * in here (net.c and peerconn.c test the pointer once per read or write).
 * Everything is non-blocking: the socket is already O_NONBLOCK and each
 * call does what it can, then says what it waits for:
 *   tls_handshake  1 done, 0 in progress, -1 failed (tls_error says why)
 *   tls_read       >0 bytes, 0 peer closed, -1 with errno EAGAIN (wait:
 *                  tls_wants_write says for which direction) or EIO
 *   tls_write      the same; partial writes happen, and a write that
 *                  returned EAGAIN must be retried with at least the same
 *                  bytes (they may have moved: ACCEPT_MOVING_WRITE_BUFFER)
 * OpenSSL may hold decrypted bytes the socket no longer signals:
 * tls_pending says so, and the caller must read again without waiting
 * for readability.
 *
 * Reload (tls_reload) builds new contexts from the same file names; new
 * connections use them, established ones keep the context they started
 * with (OpenSSL reference-counts it).
 */
#ifndef CORRAL_NET_TLS_H
#define CORRAL_NET_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "config/config.h"

typedef struct Tls Tls;

/* Which context a connection uses. */
typedef enum TlsRole {
    TLS_CLIENT_SERVER,      /* we accept a client on secure_client_listen */
    TLS_MEMBER_SERVER,      /* we accept a member (tls.quorum) */
    TLS_MEMBER_CLIENT       /* we connect to a member (tls.quorum) */
} TlsRole;

/* Reads the files and builds the contexts; -1 with tls_last_error().  A
 * configuration without `tls:` makes this a no-op. */
int tls_init(const CoreConfig *cfg);
void tls_shutdown(void);
/* Rereads the certificate, key and CA files into new contexts; the old
 * ones stay in use by established connections.  0, or -1 with
 * tls_last_error() (the running contexts are kept). */
int tls_reload(void);
/* The same with the `tls:` map of a reloaded configuration: new file
 * names, protocols, ciphers and client_auth apply to new connections;
 * quorum and member_names, and adding or removing the map, take a restart
 * (logged). */
int tls_reload_config(const CoreConfig *new_cfg);
const char *tls_last_error(void);
int tls_quorum(void);          /* members talk mutual TLS */
int tls_configured(void);

Tls *tls_new(int fd, TlsRole role);    /* NULL + log when OpenSSL fails */
void tls_free(Tls *t);
int tls_handshake(Tls *t);
int tls_handshake_done(const Tls *t);
ssize_t tls_read(Tls *t, void *buf, size_t len);
ssize_t tls_write(Tls *t, const void *buf, size_t len);
int tls_wants_write(const Tls *t);     /* the last call waits for writability */
int tls_read_wants_write(const Tls *t);   /* the last tls_read waits for writability */
int tls_write_wants_read(const Tls *t);   /* the last tls_write waits for readability */
int tls_pending(const Tls *t);         /* bytes buffered inside OpenSSL */
const char *tls_error(const Tls *t);   /* why the handshake or I/O failed */
int tls_error_is_eof(const Tls *t);    /* ... because the peer closed the connection */
const char *tls_version(const Tls *t); /* "TLSv1.3" after the handshake */

/* The verified peer certificate (NULL / 0 when the peer sent none):
 * its subject as RFC 2253 text, and its DER encoding. */
const char *tls_peer_subject(const Tls *t);
const unsigned char *tls_peer_cert_der(const Tls *t, size_t *len);
/* Nonzero when the peer certificate names `name` (a DNS name matched
 * against the subject alternative names, or the common name when it has
 * none; or an IP address matched against IP address SANs). */
int tls_peer_is(const Tls *t, const char *name);

#endif
