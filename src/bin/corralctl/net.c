/*
 * src/bin/corralctl/net.c: reaching a server within a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "corralctl.h"

long long ctl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int valid_port(const char *p)
{
    if (!*p || strlen(p) > 5)
        return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return 0;
    long v = strtol(p, NULL, 10);
    return v >= 1 && v <= 65535;
}

int ctl_parse_server(const char *text, CtlServer *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *host = text, *port = NULL;
    size_t hlen;
    struct in6_addr a6;
    if (!text || !*text) {
        snprintf(err, errlen, "the server address is empty");
        return -1;
    }
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (close[1] && close[1] != ':')) {
            snprintf(err, errlen, "\"%s\" is not [IPV6]:PORT", text);
            return -1;
        }
        host = text + 1;
        hlen = (size_t)(close - host);
        port = close[1] ? close + 2 : NULL;
    } else if (inet_pton(AF_INET6, text, &a6) == 1) {
        hlen = strlen(text);   /* a bare IPv6 address, default port */
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && memchr(text, ':', (size_t)(colon - text))) {
            snprintf(err, errlen, "\"%s\": write an IPv6 address with a port as [ADDRESS]:PORT", text);
            return -1;
        }
        hlen = colon ? (size_t)(colon - text) : strlen(text);
        port = colon ? colon + 1 : NULL;
    }
    if (hlen == 0 || hlen >= sizeof out->host) {
        snprintf(err, errlen, "\"%s\" has no usable host", text);
        return -1;
    }
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    if (port && !valid_port(port)) {
        snprintf(err, errlen, "\"%s\": the port must be a number from 1 to 65535", text);
        return -1;
    }
    snprintf(out->port, sizeof out->port, "%s", port ? port : "2181");
    if (strchr(out->host, ':'))
        snprintf(out->label, sizeof out->label, "[%s]:%s", out->host, out->port);
    else
        snprintf(out->label, sizeof out->label, "%s:%s", out->host, out->port);
    return 0;
}

int ctl_wait(int fd, short events, long long deadline_ms)
{
    for (;;) {
        long long left = deadline_ms - ctl_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (r > 0)
            return 1;
        if (r == 0)
            continue;   /* re-check the deadline */
        if (errno != EINTR)
            return -1;
    }
}

int ctl_connect(const CtlServer *s, long long deadline_ms, int timeout_ms)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int gai = getaddrinfo(s->host, s->port, &hints, &res);
    if (gai != 0) {
        ctl_fail("cannot resolve \"%s\": %s", s->host, gai_strerror(gai));
        return -1;
    }
    int last_err = 0, timed_out = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            freeaddrinfo(res);
            return fd;
        }
        if (errno == EINPROGRESS) {
            int w = ctl_wait(fd, POLLOUT, deadline_ms);
            if (w == 1) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) {
                    freeaddrinfo(res);
                    return fd;
                }
                last_err = soerr ? soerr : errno;
            } else if (w == 0) {
                timed_out = 1;
                close(fd);
                break;
            } else {
                last_err = errno;
            }
        } else {
            last_err = errno;
        }
        close(fd);
    }
    freeaddrinfo(res);
    if (timed_out)
        ctl_fail("timed out after %d ms connecting to %s", timeout_ms, s->label);
    else
        ctl_fail("cannot connect to %s: %s", s->label, strerror(last_err ? last_err : ECONNREFUSED));
    return -1;
}
