/*
 * src/bin/corralctl/status.c: `corralctl [-s HOST:PORT] status [--json]`,
 * one screen about one member.
 *
 * Built from two four-letter words, so that it works against any ZooKeeper
 * too: `srvr` (version, latency, packets, connections, outstanding, zxid,
 * mode, node count; ZooKeeper always allows it) and `mntr` (uptime,
 * sessions, watches, ephemerals, data size, file descriptors, and on a
 * leader zk_learners (zk_followers before ZooKeeper 3.5), zk_synced_followers
 * and zk_pending_syncs).  When `mntr` is not in the server's
 * allow list, what only it gives is shown as unknown.  Lag is the registry
 * gauge `follower_lag` (zk_follower_lag in mntr) when the server has one,
 * else zk_zab_commit_zxid - zk_zab_applied_zxid (committed, not yet
 * applied here) on a Corral ensemble member.
 *
 * Exit status: 0 the member serves; 1 it could not be reached, did not
 * answer in time, refused srvr, or is not serving (during an election);
 * 2 bad usage.  --json prints one JSON object in every case but bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corralctl.h"

int ctl_cmd_status(CtlOptions *o, int argc, char **argv);

#define NOT_SERVING "This ZooKeeper instance is not currently serving requests"
#define MAX_ANSWER (16u << 20)

typedef CtlBuf Buf;

static void buf_add(Buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            fprintf(stderr, "corralctl: out of memory\n");
            exit(CTL_EXIT_FAIL);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

int ctl_fetch_word(const CtlServer *srv, const char *word, long long deadline, int timeout_ms, CtlBuf *out,
                   char *err, size_t errlen)
{
    int fd = ctl_connect(srv, deadline, timeout_ms);
    if (fd < 0) {
        snprintf(err, errlen, "cannot reach %s", srv->label);
        return -1;
    }
    size_t sent = 0;
    while (sent < 4) {
        ssize_t w = send(fd, word + sent, 4 - sent, MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (ctl_wait(fd, POLLOUT, deadline) != 1) {
                close(fd);
                snprintf(err, errlen, "timed out after %d ms sending \"%s\" to %s", timeout_ms, word, srv->label);
                return -1;
            }
        } else {
            int e = errno;
            close(fd);
            snprintf(err, errlen, "cannot send \"%s\" to %s: %s", word, srv->label, strerror(e));
            return -1;
        }
    }
    char chunk[16384];
    for (;;) {
        ssize_t r = recv(fd, chunk, sizeof chunk, 0);
        if (r > 0) {
            if (out->len + (size_t)r > MAX_ANSWER) {
                close(fd);
                snprintf(err, errlen, "the answer of %s to \"%s\" is over %u bytes", srv->label, word, MAX_ANSWER);
                return -1;
            }
            buf_add(out, chunk, (size_t)r);
            continue;
        }
        if (r == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = ctl_wait(fd, POLLIN, deadline);
            if (w == 1)
                continue;
            close(fd);
            snprintf(err, errlen, "timed out after %d ms waiting for %s to answer \"%s\"", timeout_ms, srv->label,
                     word);
            return -1;
        }
        int e = errno;
        close(fd);
        snprintf(err, errlen, "connection to %s failed while reading \"%s\": %s", srv->label, word, strerror(e));
        return -1;
    }
    close(fd);
    if (out->len == 0) {
        snprintf(err, errlen, "%s closed the connection without answering \"%s\"", srv->label, word);
        return -1;
    }
    return 0;
}

/* ---- what the words said ---------------------------------------------------- */

typedef struct Status {
    int have_srvr, serving, read_only, have_mntr;
    char version[256], mode[64];
    char lat_avg[40];                    /* as the server printed it */
    long long lat_min, lat_max;
    long long received, sent, connections, outstanding, node_count;
    unsigned long long zxid;
    int have_zxid;
    /* from mntr: -1 when unknown */
    long long uptime, sessions, watches, ephemerals, data_size, open_fds, max_fds;
    long long followers, learners, synced_followers, pending_syncs, lag;
    long long commit_zxid, applied_zxid;   /* Corral's zab gauges */
    char mntr_state[64];
} Status;

static const char *after(const char *line, const char *label)
{
    size_t n = strlen(label);
    return strncmp(line, label, n) == 0 ? line + n : NULL;
}

static void parse_srvr(char *text, Status *s)
{
    if (strncmp(text, NOT_SERVING, strlen(NOT_SERVING)) == 0) {
        s->have_srvr = 1;
        return;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        const char *v;
        if ((v = after(line, "Zookeeper version: "))) {
            snprintf(s->version, sizeof s->version, "%s", v);
            s->have_srvr = 1;
        } else if (strncmp(line, "READ-ONLY mode", 14) == 0) {
            s->read_only = 1;
        } else if ((v = after(line, "Latency min/avg/max: "))) {
            char avg[40] = "";
            if (sscanf(v, "%lld/%39[^/]/%lld", &s->lat_min, avg, &s->lat_max) == 3)
                snprintf(s->lat_avg, sizeof s->lat_avg, "%s", avg);
        } else if ((v = after(line, "Received: "))) {
            s->received = strtoll(v, NULL, 10);
        } else if ((v = after(line, "Sent: "))) {
            s->sent = strtoll(v, NULL, 10);
        } else if ((v = after(line, "Connections: "))) {
            s->connections = strtoll(v, NULL, 10);
        } else if ((v = after(line, "Outstanding: "))) {
            s->outstanding = strtoll(v, NULL, 10);
        } else if ((v = after(line, "Zxid: 0x"))) {
            s->zxid = strtoull(v, NULL, 16);
            s->have_zxid = 1;
        } else if ((v = after(line, "Mode: "))) {
            snprintf(s->mode, sizeof s->mode, "%s", v);
        } else if ((v = after(line, "Node count: "))) {
            s->node_count = strtoll(v, NULL, 10);
        }
    }
    s->serving = s->have_srvr && s->version[0] && s->mode[0];
}

static void parse_mntr(char *text, Status *s)
{
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (strncmp(line, "zk_", 3) != 0 || !tab)
            continue;
        *tab = '\0';
        const char *k = line + 3, *v = tab + 1;
        s->have_mntr = 1;
        struct {
            const char *key;
            long long *field;
        } map[] = {
            {"uptime", &s->uptime},
            {"global_sessions", &s->sessions},
            {"watch_count", &s->watches},
            {"ephemerals_count", &s->ephemerals},
            {"approximate_data_size", &s->data_size},
            {"open_file_descriptor_count", &s->open_fds},
            {"max_file_descriptor_count", &s->max_fds},
            {"followers", &s->followers},     /* ZooKeeper 3.4 */
            {"learners", &s->learners},       /* ZooKeeper 3.5+: followers and observers */
            {"synced_followers", &s->synced_followers},
            {"pending_syncs", &s->pending_syncs},
            {"follower_lag", &s->lag},
            {"zab_commit_zxid", &s->commit_zxid},
            {"zab_applied_zxid", &s->applied_zxid},
        };
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcmp(k, map[i].key) == 0)
                *map[i].field = strtoll(v, NULL, 10);
        if (strcmp(k, "server_state") == 0)
            snprintf(s->mntr_state, sizeof s->mntr_state, "%s", v);
    }
    if (s->followers < 0)
        s->followers = s->learners;
    /* Without a follower_lag gauge, Corral's zab gauges give the
     * transactions this member knows committed but has not applied yet. */
    if (s->lag < 0 && s->commit_zxid >= 0 && s->applied_zxid >= 0) {
        if ((s->commit_zxid >> 32) == (s->applied_zxid >> 32))
            s->lag = s->commit_zxid > s->applied_zxid ? s->commit_zxid - s->applied_zxid : 0;
        else if (s->commit_zxid > s->applied_zxid)
            s->lag = s->commit_zxid & 0xffffffffLL;   /* a new epoch's transactions, at least */
        else
            s->lag = 0;
    }
}

/* ---- output ------------------------------------------------------------------- */

static void uptime_text(char *buf, size_t n, long long ms)
{
    long long s = ms / 1000;
    if (s < 60)
        snprintf(buf, n, "%.1f s", (double)ms / 1000.0);
    else if (s < 3600)
        snprintf(buf, n, "%lldm %02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, n, "%lldh %02lldm %02llds", s / 3600, (s / 60) % 60, s % 60);
    else
        snprintf(buf, n, "%lldd %02lldh %02lldm", s / 86400, (s / 3600) % 24, (s / 60) % 60);
}

static void print_text(const char *server, const Status *s)
{
    char buf[128];
    printf("%-14s%s\n", "Server:", server);
    printf("%-14s%s\n", "Version:", s->version);
    printf("%-14s%s%s\n", "Mode:", s->mode, s->read_only ? " (read-only)" : "");
    printf("%-14s0x%llx (epoch %llu, counter %llu)\n", "Zxid:", s->zxid, s->zxid >> 32, s->zxid & 0xffffffffULL);
    if (s->uptime >= 0) {
        uptime_text(buf, sizeof buf, s->uptime);
        printf("%-14s%s\n", "Uptime:", buf);
    } else {
        printf("%-14s?\n", "Uptime:");
    }
    printf("%-14s%lld\n", "Connections:", s->connections);
    printf("%-14s%lld\n", "Outstanding:", s->outstanding);
    printf("%-14smin %lld ms, avg %s ms, max %lld ms\n", "Latency:", s->lat_min, s->lat_avg[0] ? s->lat_avg : "?",
           s->lat_max);
    printf("%-14s%lld received, %lld sent\n", "Packets:", s->received, s->sent);
    printf("%-14s%lld", "Znodes:", s->node_count);
    if (s->ephemerals >= 0 && s->data_size >= 0)
        printf(" (%lld ephemeral, %lld bytes of data)", s->ephemerals, s->data_size);
    printf("\n");
    if (s->watches >= 0)
        printf("%-14s%lld\n", "Watches:", s->watches);
    else
        printf("%-14s?\n", "Watches:");
    if (s->sessions >= 0)
        printf("%-14s%lld\n", "Sessions:", s->sessions);
    else
        printf("%-14s?\n", "Sessions:");
    if (s->followers >= 0)
        printf("%-14s%lld (%lld synced, %lld pending syncs)\n", "Followers:", s->followers,
               s->synced_followers < 0 ? 0 : s->synced_followers, s->pending_syncs < 0 ? 0 : s->pending_syncs);
    if (s->lag >= 0)
        printf("%-14s%lld transactions\n", "Lag:", s->lag);
    else
        printf("%-14s-%s\n", "Lag:", strcmp(s->mode, "standalone") == 0 ? " (standalone)" : " (not reported)");
    if (s->open_fds >= 0)
        printf("%-14s%lld of %lld\n", "Open files:", s->open_fds, s->max_fds);
    if (!s->have_mntr)
        printf("(mntr is not allowed by this server: uptime, watches and sessions are unknown)\n");
}

static void json_string(const char *str)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p == '\n')
            printf("\\n");
        else if (*p == '\t')
            printf("\\t");
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void json_num_or_null(const char *key, long long v)
{
    printf(",\"%s\":", key);
    if (v >= 0)
        printf("%lld", v);
    else
        printf("null");
}

/* The average as the server printed it (Java's Double.toString) is a JSON
 * number unless it is NaN or Infinity. */
static int json_number_text(const char *t)
{
    char *end;
    if (!*t || strchr(t, 'N') || strchr(t, 'I'))
        return 0;
    strtod(t, &end);
    return *end == '\0';
}

static void print_json(const char *server, const Status *s, const char *error)
{
    printf("{\"server\":");
    json_string(server);
    printf(",\"serving\":%s", s->serving ? "true" : "false");
    if (error) {
        printf(",\"error\":");
        json_string(error);
        printf("}\n");
        return;
    }
    printf(",\"version\":");
    json_string(s->version);
    printf(",\"mode\":");
    json_string(s->mode);
    printf(",\"read_only\":%s", s->read_only ? "true" : "false");
    printf(",\"zxid\":\"0x%llx\",\"epoch\":%llu,\"counter\":%llu", s->zxid, s->zxid >> 32, s->zxid & 0xffffffffULL);
    json_num_or_null("uptime_ms", s->uptime);
    printf(",\"connections\":%lld,\"outstanding\":%lld", s->connections, s->outstanding);
    printf(",\"latency_ms\":{\"min\":%lld,\"avg\":%s,\"max\":%lld}", s->lat_min,
           json_number_text(s->lat_avg) ? s->lat_avg : "null", s->lat_max);
    printf(",\"packets_received\":%lld,\"packets_sent\":%lld", s->received, s->sent);
    printf(",\"znodes\":%lld", s->node_count);
    json_num_or_null("ephemerals", s->ephemerals);
    json_num_or_null("approximate_data_size", s->data_size);
    json_num_or_null("watches", s->watches);
    json_num_or_null("sessions", s->sessions);
    json_num_or_null("followers", s->followers);
    json_num_or_null("synced_followers", s->synced_followers);
    json_num_or_null("lag", s->lag);
    json_num_or_null("open_file_descriptors", s->open_fds);
    json_num_or_null("max_file_descriptors", s->max_fds);
    printf(",\"mntr\":%s}\n", s->have_mntr ? "true" : "false");
}

static void status_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl [-s HOST:PORT] [--timeout MS] status [--json]\n"
            "\n"
            "Shows one member's mode, zxid, connections, latency, outstanding requests,\n"
            "znodes, watches, sessions and (on ensembles) followers and lag, from the\n"
            "srvr and mntr four-letter words (so it works against ZooKeeper too).\n"
            "  -j, --json   print one JSON object instead\n"
            "\n"
            "Exit status: 0 the member serves, 1 it could not be reached or is not\n"
            "serving, 2 bad usage.\n");
}

int ctl_cmd_status(CtlOptions *o, int argc, char **argv)
{
    int json = 0, help = 0;
    /* --json is this command's own option: take it out before the global
     * options are parsed. */
    char **av = calloc((size_t)argc + 1, sizeof *av);
    if (!av)
        return ctl_fail("out of memory");
    int n = 0, dashdash = 0;
    for (int i = 0; i < argc; i++) {
        if (!dashdash && i > 0 && (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0)) {
            json = 1;
            continue;
        }
        if (strcmp(argv[i], "--") == 0)
            dashdash = 1;
        av[n++] = argv[i];
    }
    int first = ctl_parse_options(o, n, av, 1, &help);
    if (first < 0) {
        free(av);
        return CTL_EXIT_USAGE;
    }
    if (help) {
        free(av);
        status_usage(stdout);
        return CTL_EXIT_OK;
    }
    if (first < n) {
        int rc = ctl_usage_error("status takes no arguments (got \"%s\")", av[first]);
        free(av);
        return rc;
    }
    free(av);

    CtlServer srv;
    char err[400];
    if (ctl_parse_server(o->server, &srv, err, sizeof err) < 0)
        return ctl_usage_error("%s", err);

    Status s;
    memset(&s, 0, sizeof s);
    s.uptime = s.sessions = s.watches = s.ephemerals = s.data_size = s.open_fds = s.max_fds = -1;
    s.followers = s.learners = s.synced_followers = s.pending_syncs = s.lag = -1;
    s.commit_zxid = s.applied_zxid = -1;

    long long deadline = ctl_now_ms() + o->timeout_ms;
    Buf srvr = {NULL, 0, 0}, mntr = {NULL, 0, 0};
    int rc = CTL_EXIT_OK;
    if (ctl_fetch_word(&srv, "srvr", deadline, o->timeout_ms, &srvr, err, sizeof err) < 0) {
        rc = CTL_EXIT_FAIL;
    } else {
        parse_srvr(srvr.data, &s);
        if (!s.have_srvr) {
            /* a refusal ("srvr is not executed because ...") or not ZooKeeper */
            size_t l = strcspn(srvr.data ? srvr.data : "", "\n");
            snprintf(err, sizeof err, "%s did not answer srvr: \"%.*s\"", srv.label, (int)(l > 200 ? 200 : l),
                     srvr.data ? srvr.data : "");
            rc = CTL_EXIT_FAIL;
        } else if (!s.serving) {
            snprintf(err, sizeof err, "%s is not serving requests (no quorum, or starting up)", srv.label);
            rc = CTL_EXIT_FAIL;
        } else {
            char merr[400];
            if (ctl_fetch_word(&srv, "mntr", deadline, o->timeout_ms, &mntr, merr, sizeof merr) == 0)
                parse_mntr(mntr.data, &s);
            else
                fprintf(stderr, "corralctl: %s; showing what srvr said\n", merr);
            /* followers are a leader's business (a member may export the
             * gauges as 0 in other roles) */
            if (strcmp(s.mode, "leader") != 0)
                s.followers = s.learners = s.synced_followers = s.pending_syncs = -1;
        }
    }
    free(srvr.data);
    free(mntr.data);

    if (rc != CTL_EXIT_OK) {
        if (json)
            print_json(srv.label, &s, err);
        if (strncmp(err, "cannot reach", 12) != 0)   /* ctl_connect already said why */
            ctl_fail("%s", err);
        return rc;
    }
    if (json)
        print_json(srv.label, &s, NULL);
    else
        print_text(srv.label, &s);
    if (fflush(stdout) != 0)
        return ctl_fail("cannot write: %s", strerror(errno));
    return CTL_EXIT_OK;
}
