/*
 * src/bin/corralctl/word.c: `corralctl [word] WORD`, sending a four-letter
 * word and printing the answer.
 *
 * As `echo WORD | nc HOST PORT` does, minus the newline: the four bytes are
 * sent, and everything the server writes until it closes the connection is
 * copied to stdout unchanged (ruok and isro end without a newline, and that
 * is kept).  The whole exchange must finish within --timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corralctl.h"

int ctl_is_word(const char *s)
{
    if (!s || strlen(s) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (s[i] < 'a' || s[i] > 'z')
            return 0;
    return 1;
}

static void word_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl [-s HOST:PORT] [--timeout MS] [word] WORD\n"
            "\n"
            "Sends the four-letter word WORD to the server and prints its answer verbatim.\n"
            "Words: ruok srvr stat conf envi mntr isro dirs cons crst srst wchs wchc wchp dump\n"
            "(the server answers only those its allow list permits).\n");
}

int ctl_cmd_word(CtlOptions *o, int argc, char **argv)
{
    int help = 0;
    int first = ctl_parse_options(o, argc, argv, 1, &help);
    if (first < 0)
        return CTL_EXIT_USAGE;
    if (help) {
        word_usage(stdout);
        return CTL_EXIT_OK;
    }
    if (first >= argc)
        return ctl_usage_error("which four-letter word?");
    if (argc - first > 1)
        return ctl_usage_error("one four-letter word at a time (got \"%s\" and \"%s\")", argv[first], argv[first + 1]);
    const char *word = argv[first];
    if (!ctl_is_word(word))
        return ctl_usage_error("\"%s\" is not a four-letter word (four lowercase letters)", word);

    CtlServer srv;
    char err[300];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0)
        return ctl_usage_error("%s", err);

    long long deadline = ctl_now_ms() + o->timeout_ms;
    int fd = ctl_connect(&srv, deadline, o->timeout_ms);
    if (fd < 0)
        return CTL_EXIT_FAIL;

    size_t sent = 0;
    while (sent < 4) {
        ssize_t w = send(fd, word + sent, 4 - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = ctl_wait(fd, POLLOUT, deadline);
            if (r == 1)
                continue;
            close(fd);
            return r == 0 ? ctl_fail("timed out after %d ms sending \"%s\" to %s", o->timeout_ms, word, srv.label)
                          : ctl_fail("cannot send \"%s\" to %s: %s", word, srv.label, strerror(errno));
        }
        int e = errno;
        close(fd);
        return ctl_fail("cannot send \"%s\" to %s: %s", word, srv.label, strerror(e));
    }

    char buf[65536];
    size_t total = 0;
    int rc = CTL_EXIT_OK;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
            if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r) {
                rc = ctl_fail("cannot write the answer: %s", strerror(errno));
                break;
            }
            total += (size_t)r;
            continue;
        }
        if (r == 0)
            break;   /* the server closed: the answer is complete */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = ctl_wait(fd, POLLIN, deadline);
            if (w == 1)
                continue;
            fflush(stdout);
            rc = w == 0 ? ctl_fail("timed out after %d ms waiting for %s to answer \"%s\"%s", o->timeout_ms,
                                   srv.label, word, total ? " (the answer above is incomplete)" : "")
                        : ctl_fail("error waiting for %s: %s", srv.label, strerror(errno));
            break;
        }
        /* A reset after a complete answer still loses nothing we could know
         * of; report it all the same, since the answer may be cut. */
        int e = errno;
        fflush(stdout);
        rc = ctl_fail("connection to %s failed while reading the answer: %s", srv.label, strerror(e));
        break;
    }
    close(fd);
    if (fflush(stdout) != 0 && rc == CTL_EXIT_OK)
        rc = ctl_fail("cannot write the answer: %s", strerror(errno));
    if (rc == CTL_EXIT_OK && total == 0)
        rc = ctl_fail("%s closed the connection without answering \"%s\" (a word it does not know?)", srv.label,
                      word);
    return rc;
}
