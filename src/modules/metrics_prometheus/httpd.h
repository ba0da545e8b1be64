/*
 * src/modules/metrics_prometheus/httpd.h: a small HTTP/1.1 server on
 * corrald's event loop, for the metrics_prometheus and admin_http modules.
 *
 * One request per connection: the server reads the request line and the
 * headers (at most `max_request` bytes, else 431), calls the handler, writes
 * the answer with `Connection: close` and a Content-Length, then closes
 * (after draining what the client still sends, so a body it did not read
 * cannot turn the close into a reset that loses the answer).  Request
 * bodies are never read.  Nothing blocks: the listening socket and every
 * connection are watched with corral_loop_watch_fd, and a sweep timer closes
 * connections that take longer than `timeout_ms` to send their request.
 *
 * With `https` set, every connection is TLS (corral/tls.h: the server's
 * `tls:` certificate, CA and client_auth, reloaded with them): the
 * handshake runs first (state HANDSHAKE), then the same request cycle
 * through corral_tls_read/write.
 *
 * admin_http compiles this file in as well (src/modules/admin_http/httpd.c
 * includes it), so each module's .so has its own copy; every symbol is hidden.
 */
#ifndef CORRAL_MODULES_HTTPD_H
#define CORRAL_MODULES_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "corral/module.h"

#if defined(__GNUC__)
#define HTTPD_HIDDEN __attribute__((visibility("hidden")))
#else
#define HTTPD_HIDDEN
#endif

typedef struct HttpdRequest {
    const char *method;          /* "GET", as sent (methods are case-sensitive) */
    const char *path;            /* "/metrics": the target without its query */
    const char *query;           /* after '?', "" when none */
    const char *authorization;   /* the Authorization header's value, NULL when absent */
    const char *peer;            /* "127.0.0.1:50412" */
} HttpdRequest;

typedef struct HttpdResponse {
    int status;                  /* 200 unless the handler sets it */
    const char *content_type;    /* static string */
    CorralStrbuf headers;        /* extra header lines, each ending in \r\n */
    CorralStrbuf body;
} HttpdResponse;

typedef void (*HttpdHandler)(void *arg, const HttpdRequest *req, HttpdResponse *resp);

typedef struct HttpdConn HttpdConn;

typedef struct Httpd {
    /* set by the caller */
    const char *log_sub;         /* subsystem name for the log */
    char host[64];               /* numeric address, or "localhost" (= 127.0.0.1) */
    int port;                    /* 0: the kernel picks one (see `bound`) */
    size_t max_request;          /* bytes of request line + headers; default 8192 */
    int max_conns;               /* open connections; default 64 */
    int64_t timeout_ms;          /* to receive the request / to send the answer; default 10000 */
    int https;                   /* TLS on every connection (the `tls:` map must exist) */
    HttpdHandler handler;
    void *arg;
    /* state */
    int fd;                      /* listening socket, -1 when stopped */
    char bound[96];              /* "127.0.0.1:7000", "[::1]:7000" once started */
    HttpdConn *conns;
    int nconns;
    uint64_t timer;              /* the sweep, while connections exist */
    uint64_t pause_timer;        /* accepts paused after EMFILE and the like */
    int64_t last_accept_warn;
    int64_t requests;            /* answered, for logs and tests */
} Httpd;

/* Fills the defaults; the caller then sets host, port, handler. */
HTTPD_HIDDEN void httpd_init(Httpd *h, const char *log_sub);
/* Binds and starts watching.  0, or -1 with a message in err. */
HTTPD_HIDDEN int httpd_start(Httpd *h, char *err, size_t errlen);
/* Closes the listener and every connection; safe when never started. */
HTTPD_HIDDEN void httpd_stop(Httpd *h);

/* Helpers for handlers. */
HTTPD_HIDDEN const char *httpd_reason(int status);
/* True for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost". */
HTTPD_HIDDEN int httpd_is_loopback(const char *host);
/* Compares in time independent of where the strings differ. */
HTTPD_HIDDEN int httpd_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
