/*
 * src/backend/zab/quorum_config.c: the ensemble configuration as ZooKeeper
 * writes it in /zookeeper/config (QuorumMaj.toString) and reads it in a
 * reconfig request (QuorumServer, QuorumPeerConfig.parseDynamicConfig):
 *
 *   server.1=127.0.0.11:2888:3888:participant;127.0.0.11:2181
 *   server.4=127.0.0.14:2888:3888:observer
 *   version=100000000
 *
 * Pure functions on QuorumConfig values: no zab state, no I/O.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zab/zab.h"

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static int parse_port(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = v;
    return 0;
}

/* ConfigUtils.getHostAndPort: "[v6]:a:b" or "h:a:b", split on ':' (Java's
 * split: trailing empty parts dropped).  Returns the count of parts, -1 on
 * a malformed bracket. */
static int split_host_ports(const char *s, size_t len, const char **part, size_t *plen, int max)
{
    int n = 0;
    size_t i = 0;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        size_t c = (size_t)(close - s);
        if (c + 2 == len)
            return -1;   /* "[::1]:" : no port after the colon */
        part[n] = s + 1;
        plen[n++] = c - 1;
        if (c + 1 >= len)
            return n;
        if (s[c + 1] != ':')
            return -1;
        i = c + 2;
    }
    size_t start = i;
    for (; i <= len; i++)
        if (i == len || s[i] == ':') {
            if (n == max)
                return max + 1;
            part[n] = s + start;
            plen[n++] = i - start;
            start = i + 1;
        }
    while (n > 0 && plen[n - 1] == 0)
        n--;
    return n;
}

static int set_host(CorralAddr *a, const char *h, size_t len)
{
    if (len == 0 || len >= sizeof a->host)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (h[i] <= ' ' || h[i] == ';' || h[i] == ',' || h[i] == '=' || h[i] == '|')
            return -1;
    memcpy(a->host, h, len);
    a->host[len] = '\0';
    return 0;
}

int qc_parse_server(int64_t id, const char *spec, size_t len, EnsembleMember *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->id = id;
    const char *semi = memchr(spec, ';', len);
    size_t slen = semi ? (size_t)(semi - spec) : len;
    if (semi && memchr(semi + 1, ';', len - slen - 1)) {
        set_err(err, errlen, "wrong format of server string (more than one ';')");
        return -1;
    }
    if (memchr(spec, '|', slen)) {
        set_err(err, errlen, "multiple addresses per server are not supported");
        return -1;
    }
    const char *p[6];
    size_t pl[6];
    int n = split_host_ports(spec, slen, p, pl, 5);
    if (n < 3 || n > 4) {
        set_err(err, errlen, "wrong format of server string (host:port:port[:role] expected)");
        return -1;
    }
    if (set_host(&out->peer, p[0], pl[0]) < 0 || parse_port(p[1], pl[1], &out->peer.port) < 0 ||
        parse_port(p[2], pl[2], &out->election.port) < 0) {
        set_err(err, errlen, "address unresolved: bad host or port");
        return -1;
    }
    out->election = (CorralAddr){.port = out->election.port};
    memcpy(out->election.host, out->peer.host, sizeof out->peer.host);
    if (out->peer.port == out->election.port) {
        set_err(err, errlen, "the quorum and election ports must be different");
        return -1;
    }
    if (n == 4) {
        if (pl[3] == 8 && memcmp(p[3], "observer", 8) == 0)
            out->observer = 1;
        else if (!(pl[3] == 11 && memcmp(p[3], "participant", 11) == 0)) {
            set_err(err, errlen, "unrecognised peer type (participant or observer expected)");
            return -1;
        }
    }
    if (semi) {
        const char *c = semi + 1;
        size_t cl = len - slen - 1;
        n = split_host_ports(c, cl, p, pl, 3);
        if (n < 1 || n > 2) {
            set_err(err, errlen, "wrong format of the client address ([host:]port expected)");
            return -1;
        }
        if (n == 2 ? set_host(&out->client, p[0], pl[0]) : set_host(&out->client, "0.0.0.0", 7)) {
            set_err(err, errlen, "bad client host");
            return -1;
        }
        if (parse_port(p[n - 1], pl[n - 1], &out->client.port) < 0) {
            set_err(err, errlen, "bad client port");
            return -1;
        }
        out->has_client = 1;
    }
    return 0;
}

/* "server.N" (after trimming) -> N. */
static int parse_server_key(const char *k, size_t len, int64_t *id)
{
    if (len <= 7 || memcmp(k, "server.", 7) != 0 || len - 7 > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 7; i < len; i++) {
        if (!isdigit((unsigned char)k[i]))
            return -1;
        v = v * 10 + (k[i] - '0');
    }
    if (v <= 0)
        return -1;
    *id = v;
    return 0;
}

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

const EnsembleMember *qc_find(const QuorumConfig *qc, int64_t id)
{
    for (size_t i = 0; i < qc->n; i++)
        if (qc->m[i].id == id)
            return &qc->m[i];
    return NULL;
}

int qc_put(QuorumConfig *qc, const EnsembleMember *m)
{
    qc_remove(qc, m->id);
    if (qc->n == CORRAL_MAX_ENSEMBLE)
        return -1;
    qc->m[qc->n++] = *m;
    return 0;
}

void qc_remove(QuorumConfig *qc, int64_t id)
{
    for (size_t i = 0; i < qc->n; i++)
        if (qc->m[i].id == id) {
            memmove(&qc->m[i], &qc->m[i + 1], (qc->n - i - 1) * sizeof qc->m[0]);
            qc->n--;
            return;
        }
}

int qc_voters(const QuorumConfig *qc)
{
    int n = 0;
    for (size_t i = 0; i < qc->n; i++)
        if (!qc->m[i].observer)
            n++;
    return n;
}

int qc_is_voter(const QuorumConfig *qc, int64_t id)
{
    const EnsembleMember *m = qc_find(qc, id);
    return m && !m->observer;
}

int qc_entry(const char *line, size_t len, QuorumConfig *qc, char *err, size_t errlen)
{
    const char *eq = memchr(line, '=', len);
    if (!eq) {
        set_err(err, errlen, "wrong format of server string (server.N=... expected)");
        return -1;
    }
    const char *k = line, *v = eq + 1;
    size_t kl = (size_t)(eq - line), vl = len - kl - 1;
    trim(&k, &kl);
    trim(&v, &vl);
    if (kl == 7 && memcmp(k, "version", 7) == 0) {
        char buf[24];
        if (vl == 0 || vl >= sizeof buf) {
            set_err(err, errlen, "bad version");
            return -1;
        }
        memcpy(buf, v, vl);
        buf[vl] = '\0';
        char *end;
        errno = 0;
        long long ver = strtoll(buf, &end, 16);
        if (errno || *end || ver < 0) {
            set_err(err, errlen, "bad version");
            return -1;
        }
        qc->version = ver;
        return 0;
    }
    int64_t id;
    if (parse_server_key(k, kl, &id) < 0) {
        set_err(err, errlen, "unrecognised parameter (server.N or version expected)");
        return -1;
    }
    EnsembleMember m;
    if (qc_parse_server(id, v, vl, &m, err, errlen) < 0)
        return -1;
    if (qc_put(qc, &m) < 0) {
        set_err(err, errlen, "too many servers");
        return -1;
    }
    return 0;
}

int qc_parse(const char *text, size_t len, char sep, QuorumConfig *qc, char *err, size_t errlen)
{
    memset(qc, 0, sizeof *qc);
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n' && text[j] != sep)
            j++;
        const char *l = text + i;
        size_t ll = j - i;
        trim(&l, &ll);
        if (ll > 0 && qc_entry(l, ll, qc, err, errlen) < 0)
            return -1;
        i = j + 1;
    }
    if (qc->n == 0) {
        set_err(err, errlen, "no servers in the configuration");
        return -1;
    }
    return 0;
}

static void put_host(CorralStrbuf *sb, const CorralAddr *a)
{
    if (strchr(a->host, ':'))
        corral_strbuf_printf(sb, "[%s]:%d", a->host, a->port);
    else
        corral_strbuf_printf(sb, "%s:%d", a->host, a->port);
}

void qc_format_server(const EnsembleMember *m, CorralStrbuf *sb)
{
    put_host(sb, &m->peer);
    corral_strbuf_printf(sb, ":%d:%s", m->election.port, m->observer ? "observer" : "participant");
    if (m->has_client) {
        corral_strbuf_puts(sb, ";");
        put_host(sb, &m->client);
    }
}

/* The order of QuorumMaj.toString: a java.util.HashMap<Long, ...>
 * iterated by bucket (the id, for ids below 65536, masked by the table
 * size), then by id.  The table: qc->java_table (the reconfig path's copy
 * of the last map, qc_java_copy_table) or 16, doubled whenever the entries
 * pass 3/4 of it. */
static size_t java_bucket(int64_t id, size_t cap)
{
    uint64_t u = (uint64_t)id;
    uint32_t h = (uint32_t)(u ^ (u >> 32));
    h ^= h >> 16;
    return h & (cap - 1);
}

size_t qc_java_copy_table(size_t n)
{
    /* HashMap(Map m): tableSizeFor(n / 0.75 + 1). */
    size_t t = (size_t)((float)n / 0.75f + 1.0f), cap = 1;
    while (cap < t)
        cap *= 2;
    return cap;
}

void qc_format(const QuorumConfig *qc, CorralStrbuf *sb)
{
    size_t idx[CORRAL_MAX_ENSEMBLE];
    size_t cap = qc->java_table ? qc->java_table : 16;
    while (qc->n * 4 > cap * 3)
        cap *= 2;
    for (size_t i = 0; i < qc->n; i++)
        idx[i] = i;
    for (size_t i = 1; i < qc->n; i++)
        for (size_t j = i; j > 0; j--) {
            const EnsembleMember *a = &qc->m[idx[j - 1]], *b = &qc->m[idx[j]];
            size_t ba = java_bucket(a->id, cap), bb = java_bucket(b->id, cap);
            if (ba < bb || (ba == bb && a->id < b->id))
                break;
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    for (size_t i = 0; i < qc->n; i++) {
        corral_strbuf_printf(sb, "server.%lld=", (long long)qc->m[idx[i]].id);
        qc_format_server(&qc->m[idx[i]], sb);
        corral_strbuf_puts(sb, "\n");
    }
    corral_strbuf_printf(sb, "version=%llx", (unsigned long long)qc->version);
}

int qc_same_members(const QuorumConfig *a, const QuorumConfig *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const EnsembleMember *o = qc_find(b, a->m[i].id);
        if (!o || o->observer != a->m[i].observer)
            return 0;
    }
    return 1;
}

int qc_has_quorum(const QuorumConfig *qc, const int64_t *ids, size_t n)
{
    int votes = 0;
    for (size_t i = 0; i < n; i++)
        if (qc_is_voter(qc, ids[i]))
            votes++;
    return votes > qc_voters(qc) / 2;
}
