/*
 * regress/modules/hook_audit.c: subscribes to every event of corral/hooks.h
 * and writes one line per event to the file named by its `file` setting,
 * for regress/t/006_hooks.t (and as the example of doc/modules.md):
 *
 *   connected conn=3 peer=127.0.0.1:41234
 *   authenticated conn=3 session=0x100000000000001 scheme=digest id=bob:...
 *   request conn=3 session=0x100000000000001 xid=1 op=1/create err=0/Ok zxid=0x2 latency_ms=0
 *   txn zxid=0x2 session=0x100000000000001 cxid=1 type=1/create err=0 path=/a
 *   txn zxid=0x5 session=0x100000000000001 cxid=4 type=14/multi err=0 ops=-1/error:0:-,-1/error:-101:-
 *   session_created session=0x100000000000001 zxid=0x1 timeout_ms=10000
 *   session_closed session=0x100000000000001 zxid=0x9
 *   session_expired session=0x100000000000002 zxid=0xc
 *
 * The file is opened in the start hook (so --check-config writes nothing)
 * with O_APPEND, and each line is one write(2): a reader never sees half a
 * line.  A write to a local file lands in the page cache and does not wait
 * for the disk; an audit module that must not slow the loop at all would
 * hand its lines to a thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "hook_audit", .version = "1.0");

typedef struct AuditConf {
    const char *file;
} AuditConf;

static const CorralConfigKey audit_keys[] = {
    {"file", CORRAL_KEY_STRING, offsetof(AuditConf, file), 1, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

static struct {
    AuditConf conf;
    int fd;
    CorralModule *self;
} audit = {.fd = -1};

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
    CorralStrbuf line = CORRAL_STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    corral_strbuf_vprintf(&line, fmt, ap);
    va_end(ap);
    corral_strbuf_puts(&line, "\n");
    if (audit.fd >= 0 && write(audit.fd, line.data, line.len) != (ssize_t)line.len)
        corral_log(CORRAL_LOG_WARN, "hook_audit", "cannot write to %s: %s", audit.conf.file, strerror(errno));
    corral_strbuf_free(&line);
}

typedef unsigned long long ull;

static void on_connected(void *arg, const CorralClientEvent *ev)
{
    emit("connected conn=%llu peer=%s:%d", (ull)ev->conn_id, ev->peer_ip, ev->peer_port);
}

static void on_authenticated(void *arg, const CorralClientEvent *ev)
{
    emit("authenticated conn=%llu session=0x%llx scheme=%s id=%s", (ull)ev->conn_id, (ull)ev->session_id,
         ev->scheme, ev->id);
}

static void on_request(void *arg, const CorralRequestEvent *ev)
{
    emit("request conn=%llu session=0x%llx xid=%d op=%d/%s err=%d/%s zxid=0x%llx latency_ms=%lld",
         (ull)ev->conn_id, (ull)ev->session_id, ev->xid, ev->opcode, corral_op_name(ev->opcode), ev->err,
         corral_err_name(ev->err), (ull)ev->zxid, (long long)ev->latency_ms);
}

static void on_txn(void *arg, const CorralTxnEvent *ev)
{
    CorralStrbuf ops = CORRAL_STRBUF_INIT;
    for (size_t i = 0; i < ev->nops; i++)
        corral_strbuf_printf(&ops, "%s%d/%s:%d:%s", i ? "," : " ops=", ev->ops[i].type,
                             corral_op_name(ev->ops[i].type), ev->ops[i].err, ev->ops[i].path ? ev->ops[i].path : "-");
    emit("txn zxid=0x%llx session=0x%llx cxid=%d type=%d/%s err=%d%s%s%s", (ull)ev->zxid, (ull)ev->session_id,
         ev->cxid, ev->type, corral_op_name(ev->type), ev->err, ev->path ? " path=" : "", ev->path ? ev->path : "",
         ops.data ? ops.data : "");
    corral_strbuf_free(&ops);
}

static void on_session_created(void *arg, const CorralSessionEvent *ev)
{
    emit("session_created session=0x%llx zxid=0x%llx timeout_ms=%d", (ull)ev->session_id, (ull)ev->zxid,
         ev->timeout_ms);
}

static void on_session_closed(void *arg, const CorralSessionEvent *ev)
{
    emit("session_closed session=0x%llx zxid=0x%llx", (ull)ev->session_id, (ull)ev->zxid);
}

static void on_session_expired(void *arg, const CorralSessionEvent *ev)
{
    emit("session_expired session=0x%llx zxid=0x%llx", (ull)ev->session_id, (ull)ev->zxid);
}

static const CorralHooks audit_hooks = {
    .abi_version = CORRAL_ABI_VERSION,
    .size = sizeof(CorralHooks),
    .name = "hook_audit",
    .client_connected = on_connected,
    .client_authenticated = on_authenticated,
    .request_completed = on_request,
    .txn_committed = on_txn,
    .session_created = on_session_created,
    .session_closed = on_session_closed,
    .session_expired = on_session_expired,
};

static int audit_start(void *arg)
{
    audit.fd = open(audit.conf.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (audit.fd < 0)
        return corral_module_fail(audit.self, "cannot open %s: %s", audit.conf.file, strerror(errno));
    emit("started");
    return 0;
}

static void audit_stop(void *arg)
{
    if (audit.fd < 0)
        return;
    emit("stopped");
    close(audit.fd);
    audit.fd = -1;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    audit.self = self;
    if (corral_config_apply(config, audit_keys, &audit.conf) < 0)
        return -1;
    if (corral_register_hooks(self, &audit_hooks) < 0 || corral_on_start(self, audit_start, NULL) < 0 ||
        corral_on_stop(self, audit_stop, NULL) < 0)
        return -1;
    return 0;
}
