/*
 * src/backend/reload/reload.h: re-reading the configuration of a running
 * corrald (SIGHUP, admin_http's reload command).
 *
 * Owns: the reload itself (parse the file again, check everything, then
 * apply what can change at runtime), the list of reload hooks, and what the
 * last reload left pending (PostgreSQL's pending_restart).
 *
 * A reload is all or nothing for what it applies: the file is parsed and
 * validated, every module's reload check and every hook's check run; if
 * any of them refuses, nothing changes and the error (FILE:LINE:COLUMN) is
 * logged and returned.  Otherwise each `server:` key marked RUNTIME in the
 * key table (config/config.c, SERVER_KEYS) takes its new value, each module
 * with reload callbacks and each hook applies; a changed key marked
 * RESTART, a changed `ensemble` or `module_path`, a module added or
 * removed, or changed settings of a module without reload callbacks are
 * logged and reported as pending_restart (in `conf` and the reload's
 * answer) until a restart or a file that no longer differs.
 *
 * THE place to hook into reload (e.g. re-reading TLS certificates): core
 * code calls reload_add_hook once at startup; modules call
 * corral_on_reload (corral/module.h), which the module registry runs in
 * the same reload, before the core hooks.  Hooks run on every reload, in
 * registration order: check (may refuse, nothing applied yet), then apply.
 * Single-threaded: everything runs on the event loop (a signal only sets a
 * flag and wakes the loop).
 */
#ifndef CORRAL_BACKEND_RELOAD_H
#define CORRAL_BACKEND_RELOAD_H

#include <stddef.h>

#include "config/config.h"

/* check: new is the new configuration, validated (not yet applied); return
 * 0, or -1 after corral_config_error() (the position of the bad value) or
 * with a message in err.  apply: switch to it; cannot fail. */
typedef int (*ReloadCheckFn)(void *arg, const CoreConfig *new_cfg, char *err, size_t errlen);
typedef void (*ReloadApplyFn)(void *arg, const CoreConfig *new_cfg);
void reload_add_hook(const char *name, ReloadCheckFn check, ReloadApplyFn apply, void *arg);

/* live: the CoreConfig every subsystem reads (runtime keys are updated in
 * place); file: the path given with -c, NULL for the built-in
 * configuration; log_level_locked: --log-level was given (it wins over
 * server.log_level, also on reload); notify (may be NULL) is told
 * "RELOADING=1" before and "READY=1" after every reload (systemd's
 * sd_notify, in main.c).  Registers the loop hook that runs a
 * requested reload. */
void reload_init(CoreConfig *live, const char *file, int log_level_locked, void (*notify)(const char *state));
/* Async-signal-safe: asks for a reload at the start of the next loop turn. */
void reload_request(void);
/* Runs a reload now.  Returns 0 (applied; out says what changed and what
 * is pending) or -1 (refused, nothing changed; out has the error). */
int reload_run(char *out, size_t outlen);

/* Comma-separated keys waiting for a restart ("" when none), the number of
 * reloads applied, and the last result ("" before the first reload). */
const char *reload_pending_restart(void);
long reload_count(void);
const char *reload_last_result(void);
/* Frees the hook list (at exit). */
void reload_shutdown(void);

#endif
