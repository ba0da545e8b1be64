/*
 * src/bin/corralctl/http.c: the small HTTP/1.0 client corralctl talks to
 * the admin endpoint (admin_http) with: one GET, the whole answer read
 * until the server closes, the status, headers and body split.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corralctl.h"

void ctl_http_free(CtlHttp *h)
{
    free(h->raw);
    memset(h, 0, sizeof *h);
}

const char *ctl_http_header(const CtlHttp *h, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = h->head; p && p < h->body;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol || eol > h->body)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t l = (size_t)(eol - v);
            static char buf[256];
            snprintf(buf, sizeof buf, "%.*s", (int)(l < sizeof buf - 1 ? l : sizeof buf - 1), v);
            return buf;
        }
        p = eol + 2;
    }
    return NULL;
}

/* Sends all of buf; 0, or -1 after printing the error. */
static int send_all(int fd, const char *buf, size_t n, long long deadline, const CtlServer *s)
{
    for (size_t sent = 0; sent < n;) {
        ssize_t w = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && ctl_wait(fd, POLLOUT, deadline) == 1)
            continue;
        ctl_fail("cannot send the request to %s: %s", s->label, w < 0 ? strerror(errno) : "timed out");
        return -1;
    }
    return 0;
}

int ctl_http_get(const CtlServer *s, const char *target, const char *token, int timeout_ms, CtlHttp *out)
{
    memset(out, 0, sizeof *out);
    long long deadline = ctl_now_ms() + timeout_ms;
    int fd = ctl_connect(s, deadline, timeout_ms);
    if (fd < 0)
        return -1;
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: corralctl\r\n%s%s%s\r\n", target,
                     s->label, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof req) {
        close(fd);
        ctl_fail("request too long");
        return -1;
    }
    if (send_all(fd, req, (size_t)n, deadline, s) < 0) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        close(fd);
        ctl_fail("out of memory");
        return -1;
    }
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                close(fd);
                ctl_fail("out of memory reading the answer (%zu bytes so far)", len);
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r > 0) {
            len += (size_t)r;
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = ctl_wait(fd, POLLIN, deadline);
            if (w == 1)
                continue;
            free(buf);
            close(fd);
            if (w == 0)
                ctl_fail("timed out after %d ms waiting for %s (%zu bytes read)", timeout_ms, s->label, len);
            else
                ctl_fail("cannot read from %s: %s", s->label, strerror(errno));
            return -1;
        }
        free(buf);
        close(fd);
        ctl_fail("cannot read from %s: %s", s->label, strerror(errno));
        return -1;
    }
    close(fd);
    buf[len] = '\0';
    char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            end = buf + i + 2;
            break;
        }
    int status = 0;
    if (!end || sscanf(buf, "HTTP/%*d.%*d %d", &status) != 1) {
        free(buf);
        ctl_fail("%s did not answer HTTP (is it the admin endpoint, modules.admin_http.listen?)", s->label);
        return -1;
    }
    out->raw = buf;
    out->status = status;
    out->head = buf;
    out->body = end + 2;
    out->body_len = len - (size_t)(out->body - buf);
    return 0;
}

/* The admin token: --token-file, else $CORRAL_ADMIN_TOKEN.  Returns a
 * malloc'd string or NULL (no token); -1 in *err on a file error. */
char *ctl_admin_token(const char *file, int *err)
{
    *err = 0;
    if (!file) {
        const char *e = getenv("CORRAL_ADMIN_TOKEN");
        return e && *e ? strdup(e) : NULL;
    }
    FILE *f = fopen(file, "r");
    if (!f) {
        ctl_fail("cannot read token file %s: %s", file, strerror(errno));
        *err = 1;
        return NULL;
    }
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return strdup(buf);
}
