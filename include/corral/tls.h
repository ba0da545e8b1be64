/*
 * include/corral/tls.h: TLS on a module's own sockets (ABI 3), with the
 * server's top-level `tls:` settings (certificate, key, CA, client_auth,
 * protocols, ciphers) and their reloads: a module that serves HTTPS does
 * not read certificate files itself, and picks up rotated certificates on
 * its next connection.  Included by corral/module.h.
 *
 * Everything is non-blocking, for sockets watched with corral_loop_watch_fd
 * (O_NONBLOCK): each call does what it can and says what it waits for.
 * Event-loop thread only.
 */
#ifndef CORRAL_TLS_H
#define CORRAL_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct CorralTls CorralTls;

/* Nonzero when the configuration has a `tls:` map. */
int corral_tls_available(void);
/* Server-side TLS on an accepted socket; NULL without a `tls:` map (or
 * when OpenSSL fails, logged).  The caller still owns and closes fd. */
CorralTls *corral_tls_server(int fd);
/* 1 when the handshake is done, 0 while it goes on (wait for what
 * corral_tls_wants_write says), -1 when it failed (corral_tls_error). */
int corral_tls_handshake(CorralTls *t);
/* > 0 bytes; 0 when the peer closed; -1 with errno EAGAIN (wait for what
 * corral_tls_wants_write says) or EIO / EPIPE.  A write that returned
 * EAGAIN must be retried with at least the same bytes. */
ssize_t corral_tls_read(CorralTls *t, void *buf, size_t len);
ssize_t corral_tls_write(CorralTls *t, const void *buf, size_t len);
int corral_tls_wants_write(const CorralTls *t);
const char *corral_tls_error(const CorralTls *t);
/* Sends close_notify (once; never waits). */
void corral_tls_close_notify(CorralTls *t);
/* Frees the TLS state (not the socket). */
void corral_tls_free(CorralTls *t);

/* Rereads the certificate, key and CA files of the `tls:` map (what SIGHUP
 * does): new connections use them, established ones are kept.  0, or -1
 * with the reason in err (the files in use stay in use). */
int corral_tls_reload(char *err, size_t errlen);
/* Days until the certificate in use expires (negative: expired). */
int64_t corral_tls_cert_days_left(void);

#endif
