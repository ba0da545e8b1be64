/*
 * src/bin/corralctl/cmd_convert_config.c: corralctl convert-config, a
 * ZooKeeper zoo.cfg (and its dynamic file) printed as Corral's YAML.
 *
 * Every key with a Corral meaning is mapped to the key doc/configuration.md
 * (and doc/storage.md for storage_file) names as its equivalent; every
 * other key is printed as a comment saying why it is not.  zoo.cfg is a Java
 * properties file: "key=value" (or "key: value", "key value"), # and !
 * comments.  Keys ZooKeeper does not know become system properties
 * "zookeeper.KEY" (QuorumPeerConfig), so "DigestAuthenticationProvider.
 * superDigest=..." in zoo.cfg is the same as the JVM flag
 * -Dzookeeper.DigestAuthenticationProvider.superDigest=...; --jvm-flags
 * reads such flags (SERVER_JVMFLAGS) too.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corralctl.h"
#include "utils/alloc.h"
#include "wire/wire.h"

typedef struct Kv {
    char *key, *val;
    int used;
} Kv;

typedef struct Cfg {
    Kv *v;
    size_t n;
} Cfg;

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void cfg_put(Cfg *c, const char *k, const char *v)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, k) == 0) {   /* the last one wins, as in Properties */
            free(c->v[i].val);
            c->v[i].val = xstrdup(v);
            return;
        }
    c->v = xrealloc(c->v, (c->n + 1) * sizeof *c->v);
    c->v[c->n++] = (Kv){xstrdup(k), xstrdup(v), 0};
}

static int cfg_read(Cfg *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ctl_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (!*s || *s == '#' || *s == '!')
            continue;
        size_t k = strcspn(s, "=: \t");
        char *v = s + k;
        if (*v) {
            *v++ = '\0';
            v = trim(v);
            if (*v == '=' || *v == ':')
                v = trim(v + 1);
        }
        cfg_put(c, s, v);
    }
    fclose(f);
    return 0;
}

static Kv *get(Cfg *c, const char *k)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, k) == 0) {
            c->v[i].used = 1;
            return &c->v[i];
        }
    return NULL;
}

static const char *val(Cfg *c, const char *k)
{
    Kv *kv = get(c, k);
    return kv ? kv->val : NULL;
}

static int truthy(const char *v) { return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0); }

static int is_int(const char *v)
{
    if (!v || !*v)
        return 0;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return 1;
}

/* A YAML double-quoted scalar. */
static void yq(CorralStrbuf *sb, const char *s)
{
    corral_strbuf_puts(sb, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            corral_strbuf_printf(sb, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            corral_strbuf_printf(sb, "\\x%02x", (unsigned char)*s);
        else
            corral_strbuf_append(sb, s, 1);
    }
    corral_strbuf_puts(sb, "\"");
}

/* An integer setting: its value, or a comment when it is not a number. */
static void int_key(CorralStrbuf *sb, Cfg *c, const char *zk, const char *indent, const char *key, long long mul)
{
    const char *v = val(c, zk);
    if (!v)
        return;
    if (!is_int(v)) {
        corral_strbuf_printf(sb, "%s# %s=%s: not a whole number, not mapped\n", indent, zk, v);
        return;
    }
    corral_strbuf_printf(sb, "%s%s: %lld   # %s\n", indent, key, strtoll(v, NULL, 10) * mul, zk);
}

/* "host:port" in YAML (IPv6 in brackets). */
static void addr(char *out, size_t n, const char *host, const char *port)
{
    if (strchr(host, ':') && host[0] != '[')
        ctl_fmt(out, n, "[%s]:%s", host, port);
    else
        ctl_fmt(out, n, "%s:%s", host, port);
}

typedef struct Member {
    long id;
    char peer[300], election[300];
    int observer;
    char line[600];
} Member;

static int cmp_member(const void *a, const void *b)
{
    const Member *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* server.N=host:peerPort:electionPort[:participant|observer][;[clientAddr:]clientPort] */
static int parse_member(const char *key, const char *v, Member *m)
{
    memset(m, 0, sizeof *m);
    char *end;
    m->id = strtol(key + 7, &end, 10);
    if (*end || m->id < 1)
        return -1;
    ctl_fmt(m->line, sizeof m->line, "%s=%s", key, v);
    char buf[600];
    ctl_fmt(buf, sizeof buf, "%s", v);
    char *semi = strchr(buf, ';');
    if (semi)
        *semi = '\0';
    char *parts[5];
    int np = 0;
    char *p = buf;
    /* host may be [v6] */
    if (*p == '[') {
        char *rb = strchr(p, ']');
        if (!rb)
            return -1;
        *rb = '\0';
        parts[np++] = p + 1;
        p = rb + 1;
        if (*p == ':')
            p++;
    }
    for (char *tok = strtok(p, ":"); tok && np < 5; tok = strtok(NULL, ":"))
        parts[np++] = tok;
    if (np < 3)
        return -1;
    addr(m->peer, sizeof m->peer, parts[0], parts[1]);
    addr(m->election, sizeof m->election, parts[0], parts[2]);
    m->observer = np >= 4 && strcmp(parts[3], "observer") == 0;
    return 0;
}

/* Why the keys Corral has no setting for are left out. */
static const struct {
    const char *key, *why;
} unmapped[] = {
    {"autopurge.purgeInterval", "Corral purges after every snapshot, keeping modules.storage_file.keep_snapshots"},
    {"electionAlg", "Corral has one leader election (ZooKeeper's FastLeaderElection, 3)"},
    {"electionPortBindRetry", "Corral retries binding the election port itself"},
    {"quorumListenOnAllIPs", "Corral listens on the peer/election addresses of the ensemble list"},
    {"standaloneEnabled", "Corral runs standalone exactly when there is no ensemble list"},
    {"dynamicConfigFile", "its server.N lines are read (give it as the second argument if it is elsewhere)"},
    {"localSessionsEnabled", "Corral has no local sessions: every session is global"},
    {"localSessionsUpgradingEnabled", "Corral has no local sessions"},
    {"globalOutstandingLimit", "server-wide in ZooKeeper; Corral's max_outstanding_requests is per connection"},
    {"leaderServes", "a Corral leader always serves clients"},
    {"syncEnabled", "Corral's observers always log to disk"},
    {"clientPortListenBacklog", "Corral uses the system's listen backlog"},
    {"connectToLearnerMasterLimit", "Corral has no learner masters"},
    {"serverCnxnFactory", "Corral has one event loop, no Netty/NIO choice"},
    {"sslQuorum", "members use TLS with tls.quorum (PEM files, doc/security.md), or ensemble_secret_file"},
    {"portUnification", "Corral serves TLS on its own port (secure_client_listen), not on the plain one"},
    {"skipACL", "ZooKeeper's skipACL turns every ACL off; Corral only has reconfig_skip_acl (for reconfig)"},
    {"initialConfig", "Corral has no dynamic configuration"},
    {"metricsProvider.exportJvmInfo", "Corral has no JVM"},
    {"fsync.warningthresholdms", "Corral reports fsync latency in its metrics"},
    {"maxCnxns", "use server.max_connections (all addresses together)"},
    {NULL, NULL},
};

static int convert(Cfg *c, Cfg *dyn, const char *dynpath, CorralStrbuf *sb)
{
    corral_strbuf_puts(sb, "# Corral configuration converted from ZooKeeper's zoo.cfg by corralctl convert-config.\n"
                           "# Check it, then see doc/migration.md for the data.\n");
    /* ---- server ---- */
    corral_strbuf_puts(sb, "server:\n");
    const char *myid = NULL;
    char myidbuf[32] = "";
    const char *dd = val(c, "dataDir");
    if (dd) {
        char p[4096];
        ctl_fmt(p, sizeof p, "%s/myid", dd);
        FILE *f = fopen(p, "r");
        if (f) {
            if (fgets(myidbuf, sizeof myidbuf, f))
                myid = trim(myidbuf);
            fclose(f);
        }
    }
    /* server.N lines: zoo.cfg's, or the dynamic file's */
    Member *mem = NULL;
    size_t nmem = 0;
    Cfg *srcs[2] = {c, dyn};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; srcs[s] && i < srcs[s]->n; i++) {
            Kv *kv = &srcs[s]->v[i];
            if (strncmp(kv->key, "server.", 7) != 0)
                continue;
            kv->used = 1;
            Member m;
            if (parse_member(kv->key, kv->val, &m) < 0) {
                corral_strbuf_printf(sb, "  # %s=%s: not host:peerPort:electionPort[:role], not mapped\n", kv->key,
                                     kv->val);
                continue;
            }
            mem = xrealloc(mem, (nmem + 1) * sizeof *mem);
            mem[nmem++] = m;
        }
    if (nmem) {
        qsort(mem, nmem, sizeof *mem, cmp_member);
        if (myid)
            corral_strbuf_printf(sb, "  id: %s   # myid in %s\n", myid, dd);
        else
            corral_strbuf_puts(sb, "  id: 1   # FIXME: this member's id (ZooKeeper's dataDir/myid was not readable)\n");
    }
    if (dd) {
        corral_strbuf_puts(sb, "  data_dir: ");
        char nd[4096];
        ctl_fmt(nd, sizeof nd, "%s-corral", dd);
        yq(sb, nd);
        corral_strbuf_printf(sb, "   # a new directory: corralctl import-zookeeper --from %s -D %s\n", dd, nd);
    }
    const char *port = val(c, "clientPort"), *caddr = val(c, "clientPortAddress");
    if (port) {
        char a[400];
        addr(a, sizeof a, caddr ? caddr : "0.0.0.0", port);
        corral_strbuf_puts(sb, "  client_listen: ");
        yq(sb, a);
        corral_strbuf_printf(sb, "   # clientPortAddress:clientPort%s\n",
                             caddr ? "" : " (ZooKeeper listens on every address without clientPortAddress)");
    } else if (nmem) {
        corral_strbuf_puts(sb, "  # no clientPort: ZooKeeper took it from this member's server.N line (;port)\n");
    }
    int_key(sb, c, "tickTime", "  ", "tick_ms", 1);
    int_key(sb, c, "initLimit", "  ", "init_limit", 1);
    int_key(sb, c, "syncLimit", "  ", "sync_limit", 1);
    int_key(sb, c, "maxClientCnxns", "  ", "max_client_connections", 1);
    int_key(sb, c, "minSessionTimeout", "  ", "min_session_timeout_ms", 1);
    int_key(sb, c, "maxSessionTimeout", "  ", "max_session_timeout_ms", 1);
    int_key(sb, c, "jute.maxbuffer", "  ", "max_request_bytes", 1);
    int_key(sb, c, "znode.container.checkIntervalMs", "  ", "container_check_ms", 1);
    const char *v;
    const char *sport = val(c, "secureClientPort"), *saddr = val(c, "secureClientPortAddress");
    if (sport) {
        char a[400];
        addr(a, sizeof a, saddr ? saddr : "0.0.0.0", sport);
        corral_strbuf_puts(sb, "  secure_client_listen: ");
        yq(sb, a);
        corral_strbuf_puts(sb, "   # secureClientPortAddress:secureClientPort; needs the top-level tls: map with PEM "
                               "files (ZooKeeper's ssl.keyStore/trustStore are JKS/PKCS12: convert them; "
                               "doc/security.md)\n");
    }
    if ((v = val(c, "reconfigEnabled")))
        corral_strbuf_printf(sb, "  reconfig_enabled: %s   # reconfigEnabled\n", truthy(v) ? "true" : "false");
    if ((v = val(c, "readonlymode.enabled")))
        corral_strbuf_printf(sb, "  read_only: %s   # readonlymode.enabled\n", truthy(v) ? "true" : "false");
    if ((v = val(c, "extendedTypesEnabled")) || (v = val(c, "zookeeper.extendedTypesEnabled")))
        corral_strbuf_printf(sb, "  extended_types: %s   # extendedTypesEnabled (TTL nodes)\n",
                             truthy(v) ? "true" : "false");

    /* ---- ensemble ---- */
    if (nmem) {
        corral_strbuf_printf(sb, "ensemble:   # the server.N lines%s%s\n", dyn ? " of " : "", dyn ? dynpath : "");
        for (size_t i = 0; i < nmem; i++) {
            corral_strbuf_printf(sb, "  - { id: %ld, peer: ", mem[i].id);
            yq(sb, mem[i].peer);
            corral_strbuf_puts(sb, ", election: ");
            yq(sb, mem[i].election);
            corral_strbuf_printf(sb, "%s }   # %s\n", mem[i].observer ? ", role: observer" : "", mem[i].line);
        }
    }

    /* ---- modules ---- */
    corral_strbuf_puts(sb, "modules:\n");
    const char *wl = val(c, "4lw.commands.whitelist");
    corral_strbuf_puts(sb, "  fourlw:\n    allow: [");
    if (wl) {
        char buf[2048];
        ctl_fmt(buf, sizeof buf, "%s", wl);
        int first = 1;
        for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
            corral_strbuf_puts(sb, first ? "" : ", ");
            yq(sb, tok);
            first = 0;
        }
        corral_strbuf_puts(sb, "]   # 4lw.commands.whitelist\n");
    } else {
        corral_strbuf_puts(sb, "srvr]   # ZooKeeper's default without 4lw.commands.whitelist\n");
    }
    corral_strbuf_puts(sb, "  storage_file:\n");
    int_key(sb, c, "snapCount", "    ", "snapshot_every_txns", 1);
    int_key(sb, c, "autopurge.snapRetainCount", "    ", "keep_snapshots", 1);
    if ((v = val(c, "preAllocSize"))) {
        long long kb = is_int(v) ? strtoll(v, NULL, 10) : -1;
        if (kb < 0)
            corral_strbuf_printf(sb, "    # preAllocSize=%s: not a whole number, not mapped\n", v);
        else if (kb * 1024 < (1 << 20) || kb * 1024 > (1LL << 30))
            corral_strbuf_printf(sb,
                                 "    # preAllocSize=%s (KiB): outside segment_bytes' 1 MiB..1 GiB, the default "
                                 "(64 MiB) is kept\n",
                                 v);
        else
            corral_strbuf_printf(sb, "    segment_bytes: %lld   # preAllocSize (KiB)\n", kb * 1024);
    }
    if ((v = val(c, "forceSync")))
        corral_strbuf_printf(sb, "    fsync: %s   # forceSync\n", strcasecmp(v, "no") == 0 ? "false" : "true");
    if ((v = val(c, "dataLogDir"))) {
        char wd[4200];
        ctl_fmt(wd, sizeof wd, "%s-corral", v);
        corral_strbuf_puts(sb, "    wal_dir: ");
        yq(sb, wd);
        corral_strbuf_printf(sb, "   # dataLogDir (a new directory; import with --log-dir %s)\n", v);
    }
    if (truthy(val(c, "audit.enable")))
        corral_strbuf_puts(sb, "  audit_log:   # audit.enable (ZooKeeper logs it with log4j: give a file or syslog)\n"
                               "    syslog: true\n");
    /* authentication providers */
    int digest = 0, ip = 0, sasl = 0;
    for (size_t i = 0; i < c->n; i++) {
        Kv *kv = &c->v[i];
        if (strncmp(kv->key, "authProvider.", 13) != 0)
            continue;
        kv->used = 1;
        if (strstr(kv->val, "DigestAuthenticationProvider"))
            digest = 1;
        else if (strstr(kv->val, "IPAuthenticationProvider"))
            ip = 1;
        else if (strstr(kv->val, "SASLAuthenticationProvider"))
            sasl = 1;
        else
            corral_strbuf_printf(sb, "  # %s=%s: a custom provider; write a Corral auth module (doc/modules.md)\n",
                                 kv->key, kv->val);
    }
    const char *super = val(c, "DigestAuthenticationProvider.superDigest");
    if (!super)
        super = val(c, "zookeeper.DigestAuthenticationProvider.superDigest");
    /* ZooKeeper always has digest and ip */
    corral_strbuf_puts(sb, "  auth_digest:");
    if (super) {
        corral_strbuf_puts(sb, "\n    super_digest: ");
        yq(sb, super);
        corral_strbuf_puts(sb, "   # zookeeper.DigestAuthenticationProvider.superDigest\n");
    } else {
        corral_strbuf_puts(sb, " {}   # ZooKeeper's built-in digest scheme\n");
    }
    corral_strbuf_puts(sb, "  auth_ip: {}   # ZooKeeper's built-in ip scheme\n");
    (void)digest;
    (void)ip;
    if (sasl)
        corral_strbuf_puts(sb, "  auth_sasl:   # authProvider SASLAuthenticationProvider: the users come from the JAAS "
                               "file, which is not read\n    users: {}   # FIXME: NAME: PASSWORD, as user_NAME in the JAAS "
                               "Server section\n");
    /* AdminServer: on by default in ZooKeeper */
    const char *ae = val(c, "admin.enableServer");
    if (!ae || truthy(ae)) {
        const char *ap = val(c, "admin.serverPort"), *aa = val(c, "admin.serverAddress");
        char a[400];
        addr(a, sizeof a, aa ? aa : "0.0.0.0", ap ? ap : "8080");
        corral_strbuf_puts(sb, "  admin_http:   # ZooKeeper's AdminServer (admin.enableServer is true by default)\n"
                               "    listen: ");
        yq(sb, a);
        corral_strbuf_puts(sb, "\n");
        if (!aa || strcmp(aa, "127.0.0.1") != 0)
            corral_strbuf_puts(sb, "    allow_remote: true   # ZooKeeper's AdminServer listens on every address\n");
    }
    get(c, "admin.serverPort");
    get(c, "admin.serverAddress");
    get(c, "admin.commandURL");
    const char *mp = val(c, "metricsProvider.className");
    if (mp && strstr(mp, "Prometheus")) {
        const char *hp = val(c, "metricsProvider.httpPort"), *hh = val(c, "metricsProvider.httpHost");
        char a[400];
        addr(a, sizeof a, hh ? hh : "0.0.0.0", hp ? hp : "7000");
        corral_strbuf_puts(sb, "  metrics_prometheus:   # metricsProvider.className PrometheusMetricsProvider\n    listen: ");
        yq(sb, a);
        corral_strbuf_puts(sb, "\n");
    }
    /* dataDir, clientPort... consumed above; the rest, each with why */
    get(c, "clientPort");
    get(c, "clientPortAddress");
    get(c, "dataDir");
    int header = 0;
    for (size_t i = 0; i < c->n; i++) {
        Kv *kv = &c->v[i];
        if (kv->used)
            continue;
        if (!header) {
            corral_strbuf_puts(sb, "# Not mapped:\n");
            header = 1;
        }
        const char *why = "Corral has no such setting";
        for (int k = 0; unmapped[k].key; k++)
            if (strcmp(unmapped[k].key, kv->key) == 0)
                why = unmapped[k].why;
        if (strncmp(kv->key, "ssl.", 4) == 0 || strncmp(kv->key, "ssl", 3) == 0)
            why = "this Corral has no TLS";
        else if (strncmp(kv->key, "metricsProvider.", 16) == 0)
            why = "only the Prometheus provider has a Corral equivalent (metrics_prometheus)";
        else if (strncmp(kv->key, "admin.", 6) == 0)
            why = "admin_http has no such setting";
        corral_strbuf_printf(sb, "#   %s=%s: %s\n", kv->key, kv->val, why);
    }
    for (size_t i = 0; dyn && i < dyn->n; i++)
        if (!dyn->v[i].used && strcmp(dyn->v[i].key, "version") != 0)
            corral_strbuf_printf(sb, "#   %s=%s (dynamic file): Corral has no such setting\n", dyn->v[i].key,
                                 dyn->v[i].val);
    free(mem);
    return 0;
}

static void cfg_free(Cfg *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].key);
        free(c->v[i].val);
    }
    free(c->v);
    c->v = NULL;
    c->n = 0;
}

int ctl_cmd_convert_config(CtlOptions *opts, int argc, char **argv)
{
    (void)opts;
    static const struct option longopts[] = {
        {"jvm-flags", required_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *jvm = NULL;
    int ch;
    optind = 0;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "J:h", longopts, NULL)) != -1) {
        if (ch == 'J')
            jvm = optarg;
        else if (ch == 'h') {
            printf("Usage: corralctl convert-config ZOO_CFG [ZOO_CFG_DYNAMIC] [--jvm-flags \"$SERVER_JVMFLAGS\"]\n"
                   "\n"
                   "Prints the Corral YAML equivalent of a ZooKeeper configuration: every key with\n"
                   "a Corral meaning mapped (doc/configuration.md), a comment for each other key\n"
                   "saying why it is not.  --jvm-flags reads -Dzookeeper.KEY=VALUE flags (e.g. the\n"
                   "super digest, extendedTypesEnabled) as zoo.cfg keys.\n");
            return CTL_EXIT_OK;
        } else
            return ctl_usage_error("convert-config: unknown option or missing argument \"%s\"", argv[optind - 1]);
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2)
        return ctl_usage_error("convert-config needs ZOO_CFG [ZOO_CFG_DYNAMIC]");
    Cfg c = {NULL, 0}, d = {NULL, 0};
    char err[4200];
    if (cfg_read(&c, argv[optind], err, sizeof err) < 0)
        return ctl_fail("%s", err);
    if (jvm) {
        char *buf = xstrdup(jvm);
        for (char *tok = strtok(buf, " \t"); tok; tok = strtok(NULL, " \t")) {
            if (strncmp(tok, "-Dzookeeper.", 12) != 0)
                continue;
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            cfg_put(&c, tok + 12, eq + 1);
        }
        free(buf);
    }
    const char *dynpath = nargs == 2 ? argv[optind + 1] : NULL;
    const char *dcf = NULL;
    for (size_t i = 0; i < c.n; i++)
        if (strcmp(c.v[i].key, "dynamicConfigFile") == 0)
            dcf = c.v[i].val;
    if (!dynpath && dcf)
        dynpath = dcf;
    if (dynpath && cfg_read(&d, dynpath, err, sizeof err) < 0) {
        cfg_free(&c);
        return ctl_fail("%s", err);
    }
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    convert(&c, dynpath ? &d : NULL, dynpath, &sb);
    fwrite(sb.data, 1, sb.len, stdout);
    corral_strbuf_free(&sb);
    cfg_free(&c);
    cfg_free(&d);
    return fflush(stdout) == 0 ? CTL_EXIT_OK : ctl_fail("cannot write: %s", strerror(errno));
}
