/*
 * src/modules/audit_log/audit_log.c: ZooKeeper's audit log
 * (zookeeper.audit.enable, org.apache.zookeeper.audit) as a module fed by
 * the core's hooks (corral/hooks.h).  Off unless the module is loaded.
 *
 * One line per event, fields separated by tabs as ZooKeeper's AuditEvent
 * prints them (a field without a value is left out; tabs and newlines in
 * values are dropped):
 *
 *   session=0x... user=127.0.0.1,bob ip=127.0.0.1 operation=create
 *   znode=/a znode_type=persistent result=success
 *
 * operation: create (create, create2, createContainer, createTTL; with
 * znode_type), delete, setData, setAcl (with acl), for each of a multi's
 * ops when it succeeds and multiOperation (failure) when it fails, as
 * ZooKeeper; Corral adds closeSession (a client's request), expireSession
 * (this member, the leader, expired it; user and ip when a request of the
 * session was seen here) and auth (a failed addauth or SASL step: with
 * scheme; result=failure).  result: success or failure.  Requests are
 * logged by the member the client is connected to, once the reply is
 * released (after the write is committed).
 *
 * Destination: `file` (appended, one write(2) per line, a date in front
 * like ZooKeeper's log4j layout) or `syslog: true` (ident "corrald-audit",
 * facility `syslog_facility`, priority info; no date, syslog adds it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "audit_log", .version = "1.0");

typedef struct AuditConf {
    const char *file;
    int syslog;
    const char *syslog_facility;
} AuditConf;

static const CorralConfigKey audit_keys[] = {
    {"file", CORRAL_KEY_STRING, offsetof(AuditConf, file), 0, 0, 0},
    {"syslog", CORRAL_KEY_BOOL, offsetof(AuditConf, syslog), 0, 0, 0},
    {"syslog_facility", CORRAL_KEY_STRING, offsetof(AuditConf, syslog_facility), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static const struct {
    const char *name;
    int value;
} facilities[] = {
    {"user", LOG_USER},     {"daemon", LOG_DAEMON}, {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

/* Who a session was last seen as here (for expireSession lines). */
typedef struct Seen {
    int64_t session;
    char *ip, *users;
} Seen;

static struct {
    AuditConf conf;
    int facility;
    int fd;
    int use_syslog;
    CorralModule *self;
    Seen *seen;
    size_t nseen, capseen;
} audit = {.fd = -1};

typedef unsigned long long ull;

/* ---- output ----------------------------------------------------------------- */

static void field(CorralStrbuf *line, const char *key, const char *value)
{
    if (!value)
        return;
    if (line->len)
        corral_strbuf_puts(line, "\t");
    corral_strbuf_printf(line, "%s=", key);
    for (const char *p = value; *p; p++)
        if (*p != '\t' && *p != '\n' && *p != '\r')
            corral_strbuf_printf(line, "%c", *p);
}

static void emit(CorralStrbuf *line, int success)
{
    field(line, "result", success ? "success" : "failure");
    if (audit.use_syslog) {
        syslog(audit.facility | LOG_INFO, "%s", line->data);
        return;
    }
    if (audit.fd < 0)
        return;
    char stamp[64];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ",%03ldZ INFO audit: ", ts.tv_nsec / 1000000);
    CorralStrbuf out = CORRAL_STRBUF_INIT;
    corral_strbuf_printf(&out, "%s%s\n", stamp, line->data);
    if (write(audit.fd, out.data, out.len) != (ssize_t)out.len)
        corral_log(CORRAL_LOG_WARN, "audit_log", "cannot write to %s: %s", audit.conf.file, strerror(errno));
    corral_strbuf_free(&out);
}

/* session, user, ip, operation, znode, znode_type, acl in ZooKeeper's
 * order (ZKAuditProvider.createLogEvent), then result. */
static void log_event(int64_t session, const char *users, const char *ip, const char *op, const char *znode,
                      const char *type, const char *acl, const char *extra_key, const char *extra, int success)
{
    CorralStrbuf line = CORRAL_STRBUF_INIT;
    char sid[32];
    snprintf(sid, sizeof sid, "0x%llx", (ull)session);
    field(&line, "session", sid);
    field(&line, "user", users && *users ? users : NULL);
    field(&line, "ip", ip);
    field(&line, "operation", op);
    field(&line, "znode", znode);
    field(&line, "znode_type", type);
    field(&line, "acl", acl);
    if (extra_key)
        field(&line, extra_key, extra);
    emit(&line, success);
    corral_strbuf_free(&line);
}

/* ZooKeeper's CreateMode.toString().toLowerCase(). */
static const char *create_mode(int32_t flags)
{
    static const char *names[] = {"persistent",           "ephemeral", "persistent_sequential",
                                  "ephemeral_sequential", "container", "persistent_with_ttl",
                                  "persistent_sequential_with_ttl"};
    return flags >= 0 && flags < 7 ? names[flags] : NULL;
}

static int is_create(int32_t op) { return op == 1 || op == 15 || op == 19 || op == 21; }
static int is_delete(int32_t op) { return op == 2 || op == 20; }

/* ---- sessions seen ------------------------------------------------------------- */

static Seen *seen_find(int64_t session)
{
    for (size_t i = 0; i < audit.nseen; i++)
        if (audit.seen[i].session == session)
            return &audit.seen[i];
    return NULL;
}

static void seen_note(int64_t session, const char *ip, const char *users)
{
    if (!ip)
        return;
    Seen *s = seen_find(session);
    if (!s) {
        if (audit.nseen == audit.capseen) {
            audit.capseen = audit.capseen ? audit.capseen * 2 : 64;
            Seen *v = realloc(audit.seen, audit.capseen * sizeof *v);
            if (!v)
                return;
            audit.seen = v;
        }
        s = &audit.seen[audit.nseen++];
        *s = (Seen){session, NULL, NULL};
    } else if (s->ip && !strcmp(s->ip, ip) && s->users && users && !strcmp(s->users, users)) {
        return;
    }
    free(s->ip);
    free(s->users);
    s->ip = strdup(ip);
    s->users = users ? strdup(users) : NULL;
}

static void seen_forget(int64_t session)
{
    Seen *s = seen_find(session);
    if (!s)
        return;
    free(s->ip);
    free(s->users);
    *s = audit.seen[--audit.nseen];
}

/* ---- events -------------------------------------------------------------------- */

static void on_request(void *arg, const CorralRequestEvent *ev)
{
    if (ev->size < offsetof(CorralRequestEvent, ops) + sizeof ev->ops || !ev->peer_ip)
        return;   /* not a request the audit describes */
    int ok = ev->err == 0;
    const char *u = ev->users, *ip = ev->peer_ip;
    int32_t op = ev->opcode;
    if (op == -11) {
        log_event(ev->session_id, u, ip, "closeSession", NULL, NULL, NULL, NULL, NULL, ok);
        seen_forget(ev->session_id);
        return;
    }
    seen_note(ev->session_id, ip, u);
    if (is_create(op))
        log_event(ev->session_id, u, ip, "create", ev->path, create_mode(ev->create_flags), NULL, NULL, NULL, ok);
    else if (is_delete(op))
        log_event(ev->session_id, u, ip, "delete", ev->path, NULL, NULL, NULL, NULL, ok);
    else if (op == 5)
        log_event(ev->session_id, u, ip, "setData", ev->path, NULL, NULL, NULL, NULL, ok);
    else if (op == 7)
        log_event(ev->session_id, u, ip, "setAcl", ev->path, NULL, ev->acl, NULL, NULL, ok);
    else if (op == 14 && !ok)
        log_event(ev->session_id, u, ip, "multiOperation", NULL, NULL, NULL, NULL, NULL, 0);
    else if (op == 14)
        for (size_t i = 0; i < ev->nops; i++) {
            const CorralRequestOp *o = &ev->ops[i];
            if (is_create(o->opcode))
                log_event(ev->session_id, u, ip, "create", o->path, create_mode(o->create_flags), NULL, NULL, NULL, 1);
            else if (is_delete(o->opcode))
                log_event(ev->session_id, u, ip, "delete", o->path, NULL, NULL, NULL, NULL, 1);
            else if (o->opcode == 5)
                log_event(ev->session_id, u, ip, "setData", o->path, NULL, NULL, NULL, NULL, 1);
        }
}

static void on_auth_failed(void *arg, const CorralClientEvent *ev)
{
    log_event(ev->session_id, NULL, ev->peer_ip, "auth", NULL, NULL, NULL, "scheme", ev->scheme, 0);
}

static void on_session_expired(void *arg, const CorralSessionEvent *ev)
{
    Seen *s = seen_find(ev->session_id);
    log_event(ev->session_id, s ? s->users : NULL, s ? s->ip : NULL, "expireSession", NULL, NULL, NULL, NULL, NULL, 1);
    seen_forget(ev->session_id);
}

static void on_session_closed(void *arg, const CorralSessionEvent *ev) { seen_forget(ev->session_id); }

static const CorralHooks audit_hooks = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralHooks),
    .name = "audit_log",
    .request_completed = on_request,
    .session_closed = on_session_closed,
    .session_expired = on_session_expired,
    .client_auth_failed = on_auth_failed,
};

/* ---- lifecycle ----------------------------------------------------------------- */

static int audit_start(void *arg)
{
    if (audit.use_syslog) {
        openlog("corrald-audit", LOG_PID | LOG_NDELAY, audit.facility);
        return 0;
    }
    audit.fd = open(audit.conf.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (audit.fd < 0)
        return corral_module_fail(audit.self, "cannot open %s: %s", audit.conf.file, strerror(errno));
    return 0;
}

static void audit_stop(void *arg)
{
    if (audit.use_syslog)
        closelog();
    if (audit.fd >= 0)
        close(audit.fd);
    audit.fd = -1;
    for (size_t i = 0; i < audit.nseen; i++) {
        free(audit.seen[i].ip);
        free(audit.seen[i].users);
    }
    free(audit.seen);
    audit.seen = NULL;
    audit.nseen = audit.capseen = 0;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    audit.self = self;
    if (corral_config_apply(config, audit_keys, &audit.conf) < 0)
        return -1;
    if ((audit.conf.file != NULL) == (audit.conf.syslog != 0))
        return corral_module_fail(self, "set exactly one of file and syslog: true");
    audit.use_syslog = audit.conf.syslog;
    audit.facility = LOG_USER;
    if (audit.conf.syslog_facility) {
        size_t i = 0;
        while (i < sizeof facilities / sizeof facilities[0] && strcmp(facilities[i].name, audit.conf.syslog_facility))
            i++;
        if (i == sizeof facilities / sizeof facilities[0])
            return corral_module_fail(self, "unknown syslog_facility \"%s\" (user, daemon, auth, authpriv, local0..local7)",
                                      audit.conf.syslog_facility);
        audit.facility = facilities[i].value;
    }
    if (corral_register_hooks(self, &audit_hooks) < 0 || corral_on_start(self, audit_start, NULL) < 0 ||
        corral_on_stop(self, audit_stop, NULL) < 0)
        return -1;
    return 0;
}
