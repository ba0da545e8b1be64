/*
 * src/backend/module/module.h: loading modules and the registries they fill.
 *
 * Owns: the list of loaded modules (dlopen handles, never closed before
 * exit: a module's code may be referenced by vtables until then), and the
 * registries of four-letter words, auth schemes, the storage backend and
 * metrics exporters, plus start/stop hooks.  Single-threaded (startup and
 * the event loop).
 *
 * Invariant: registration only happens inside a module's init; after
 * module_load_all() returns successfully the registries never change.
 * If any module is refused, module_load_all() fails and the caller exits:
 * nothing starts half-loaded.
 */
#ifndef CORRAL_BACKEND_MODULE_H
#define CORRAL_BACKEND_MODULE_H

#include "config/config.h"
#include "corral/module.h"

/* Exit codes of corrald (documented in doc/operations.md). */
#define CORRAL_EXIT_OK 0
#define CORRAL_EXIT_RUNTIME 1
#define CORRAL_EXIT_CONFIG 2
#define CORRAL_EXIT_MODULE 3

/* Loads every module named under `modules:`.  exe_dir is the directory of
 * the corrald binary, used for the default search path.  On failure returns
 * -1; module_last_error() says why ("module NAME (FILE): ...") and
 * module_error_is_config() tells whether it was a configuration error found
 * by the module (reported as FILE:LINE:COLUMN). */
int module_load_all(const CoreConfig *cfg, const char *exe_dir);
const char *module_last_error(void);
int module_error_is_config(void);

int module_run_start_hooks(void);      /* 0, or -1 with module_last_error() */
void module_run_stop_hooks(void);      /* reverse order */
void module_unload_all(void);          /* at exit, for leak checkers */

/* Reload (src/backend/reload): check calls every module's reload check
 * with its settings in `cfg` and tells `pending` what needs a restart
 * (a module added or removed, changed settings of a module without reload
 * callbacks) and `applied` the modules whose changed settings they take
 * now; -1 with module_last_error() when a module refuses.  apply then
 * switches every module that has callbacks. */
int module_reload_check(const CoreConfig *cfg, void (*pending)(void *ctx, const char *what),
                        void (*applied)(void *ctx, const char *what), void *ctx);
void module_reload_apply(const CoreConfig *cfg);

/* The search path actually used, for logs and `conf`. */
size_t module_search_path(const char ***dirs);

/* Registries. */
const CorralFourlw *module_find_fourlw(const char *word4);   /* exact 4 bytes */
int module_fourlw_allowed(const char *word4);
size_t module_fourlw_count(void);
const CorralFourlw *module_fourlw_at(size_t i);
const CorralAuthScheme *module_find_auth(const char *scheme);
size_t module_auth_count(void);
const CorralAuthScheme *module_auth_at(size_t i);
const CorralStorage *module_storage(void);           /* NULL: none registered */
size_t module_count(void);
const char *module_name_at(size_t i);
const char *module_version_at(size_t i);
const char *module_file_at(size_t i);

#endif
