/*
 * src/backend/reload/reload.c: re-reading the configuration (reload.h).
 *
 * The running CoreConfig is the one every subsystem points at; a reload
 * copies the new value of each RUNTIME key into it, so the next read
 * (admission, net, request) sees it with no notification.  The new file's
 * nodes live in a new configuration generation, kept when the reload is
 * applied (the copied strings point into it) and dropped when it is not.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "corral/log.h"
#include "module/module.h"
#include "net/eventloop.h"
#include "reload/reload.h"
#include "utils/alloc.h"

#define LOG_SUB "reload"

typedef struct Hook {
    const char *name;
    ReloadCheckFn check;
    ReloadApplyFn apply;
    void *arg;
} Hook;

/* What one reload found, built while checking. */
typedef struct Report {
    char applied[1024];
    char pending[1024];
} Report;

static struct {
    CoreConfig *live;
    const char *file;
    int log_locked;
    void (*notify)(const char *state);
    Hook *hooks;
    size_t nhooks;
    char pending[1024];
    char last[1200];
    long count;
    int armed;
} rl;

static volatile sig_atomic_t reload_wanted;

static void append(char *buf, size_t len, const char *what)
{
    size_t n = strlen(buf);
    if (n + 1 < len)
        snprintf(buf + n, len - n, "%s%s", n ? "," : "", what);
}

static void add_pending(void *ctx, const char *what) { append(((Report *)ctx)->pending, sizeof ((Report *)ctx)->pending, what); }
static void add_applied(void *ctx, const char *what) { append(((Report *)ctx)->applied, sizeof ((Report *)ctx)->applied, what); }

void reload_add_hook(const char *name, ReloadCheckFn check, ReloadApplyFn apply, void *arg)
{
    rl.hooks = xrealloc(rl.hooks, (rl.nhooks + 1) * sizeof *rl.hooks);
    rl.hooks[rl.nhooks++] = (Hook){name, check, apply, arg};
}

/* The core's keys: RUNTIME ones that differ are copied at apply; RESTART
 * ones that differ are pending. */
static void compare_core(const CoreConfig *nc, Report *r)
{
    char what[96];
    ConfigReload cls;
    for (size_t i = 0; i < config_server_key_count(); i++) {
        const CorralConfigKey *k = config_server_key(i, &cls);
        if (config_field_equal(k, rl.live, nc))
            continue;
        snprintf(what, sizeof what, "server.%s", k->name);
        if (cls == CONFIG_RUNTIME)
            append(r->applied, sizeof r->applied, what);
        else
            add_pending(r, what);
    }
    if (!config_ensemble_equal(rl.live, nc))
        add_pending(r, "ensemble");
    if (!config_module_path_equal(rl.live, nc))
        add_pending(r, "module_path");
}

static void apply_core(const CoreConfig *nc)
{
    ConfigReload cls;
    for (size_t i = 0; i < config_server_key_count(); i++) {
        const CorralConfigKey *k = config_server_key(i, &cls);
        if (cls == CONFIG_RUNTIME && !config_field_equal(k, rl.live, nc))
            config_field_copy(k, rl.live, nc);
    }
    rl.live->throttle_code = nc->throttle_code;   /* derived from throttle_error */
    rl.live->modules = nc->modules;
    rl.live->root = nc->root;
    if (!rl.log_locked)
        corral_log_set_level((CorralLogLevel)corral_log_level_from_name(rl.live->log_level));
}

static int load(CoreConfig *nc)
{
    if (rl.file)
        return config_load_file(rl.file, nc);
    return config_load_string("(built-in configuration)", corral_builtin_config, strlen(corral_builtin_config), nc);
}

static int refuse(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *out, size_t outlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outlen, fmt, ap);
    va_end(ap);
    config_drop_generation();
    corral_log(CORRAL_LOG_ERROR, LOG_SUB, "configuration not reloaded, nothing changed: %s", out);
    snprintf(rl.last, sizeof rl.last, "refused: %s", out);
    return -1;
}

/* The session timeout bounds default to 2 and 20 ticks; tick_ms only
 * changes at a restart, so until then the defaults stay those of the
 * running tick (a new tick_ms alone is pending, not a new minimum). */
static void keep_running_tick(CoreConfig *nc)
{
    const CorralConfig *server = corral_config_get(nc->root, "server");
    if (!corral_config_get(server, "min_session_timeout_ms"))
        nc->min_session_timeout_ms = 2 * rl.live->tick_ms;
    if (!corral_config_get(server, "max_session_timeout_ms"))
        nc->max_session_timeout_ms = 20 * rl.live->tick_ms;
}

int reload_run(char *out, size_t outlen)
{
    static CoreConfig nc;
    Report r = {{0}, {0}};
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "re-reading %s", rl.file ? rl.file : "the built-in configuration");
    if (config_new_generation() < 0) {
        snprintf(out, outlen, "too many reloads in one run (restart corrald)");
        corral_log(CORRAL_LOG_ERROR, LOG_SUB, "configuration not reloaded: %s", out);
        return -1;
    }
    if (load(&nc) < 0)
        return refuse(out, outlen, "%s", config_last_error() ? config_last_error() : "cannot read the file");
    keep_running_tick(&nc);
    if (nc.min_session_timeout_ms > nc.max_session_timeout_ms)
        return refuse(out, outlen, "%s: min_session_timeout_ms (%lld) is above max_session_timeout_ms (%lld) with the "
                      "running tick_ms (%lld)", nc.file, (long long)nc.min_session_timeout_ms,
                      (long long)nc.max_session_timeout_ms, (long long)rl.live->tick_ms);
    compare_core(&nc, &r);
    if (module_reload_check(&nc, add_pending, add_applied, &r) < 0)
        return refuse(out, outlen, "%s", module_last_error());
    for (size_t i = 0; i < rl.nhooks; i++) {
        char err[512] = "";
        config_clear_error();
        if (rl.hooks[i].check && rl.hooks[i].check(rl.hooks[i].arg, &nc, err, sizeof err) != 0)
            return refuse(out, outlen, "%s", config_last_error() ? config_last_error()
                                             : err[0]             ? err
                                                                  : rl.hooks[i].name);
    }

    /* Every check passed: apply. */
    apply_core(&nc);
    module_reload_apply(&nc);
    for (size_t i = 0; i < rl.nhooks; i++)
        if (rl.hooks[i].apply)
            rl.hooks[i].apply(rl.hooks[i].arg, &nc);
    rl.count++;
    snprintf(rl.pending, sizeof rl.pending, "%s", r.pending);
    snprintf(out, outlen, "reloaded %s; changed: %s; pending restart: %s", nc.file, r.applied[0] ? r.applied : "none",
             r.pending[0] ? r.pending : "none");
    snprintf(rl.last, sizeof rl.last, "%s", out);
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "%s", out);
    if (r.pending[0])
        corral_log(CORRAL_LOG_WARN, LOG_SUB, "changed but only applied at the next restart (pending_restart): %s",
                   r.pending);
    return 0;
}

static void run_requested(void *arg)
{
    if (!reload_wanted)
        return;
    reload_wanted = 0;
    char msg[1200];
    if (rl.notify)
        rl.notify("RELOADING=1");
    reload_run(msg, sizeof msg);
    if (rl.notify)
        rl.notify("READY=1");
}

void reload_init(CoreConfig *live, const char *file, int log_level_locked, void (*notify)(const char *state))
{
    rl.notify = notify;
    rl.live = live;
    rl.file = file;
    rl.log_locked = log_level_locked;
    if (!rl.armed) {
        el_add_before_sleep(run_requested, NULL);
        rl.armed = 1;
    }
}

void reload_request(void)
{
    reload_wanted = 1;
    el_wakeup();
}

const char *reload_pending_restart(void) { return rl.pending; }
long reload_count(void) { return rl.count; }
const char *reload_last_result(void) { return rl.last; }

void reload_shutdown(void)
{
    free(rl.hooks);
    memset(&rl, 0, sizeof rl);
}
