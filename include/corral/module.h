/*
 * include/corral/module.h: the module ABI of corrald.  A module author needs
 * this header (and the ones it includes) and nothing else.
 *
 * A module is a shared object that corrald loads at startup because the
 * YAML file names it under `modules:`.  It must contain, exactly once:
 *
 *     #include <corral/module.h>
 *     CORRAL_MODULE_MAGIC("my_module", "1.0");
 *
 *     int corral_module_init(CorralModule *self, const CorralConfig *config)
 *     {
 *         ... validate config, register extensions ...
 *         return 0;    // nonzero refuses the module: startup stops
 *     }
 *
 * The magic block (PostgreSQL's PG_MODULE_MAGIC is the model) is a function
 * returning a constant struct whose first field is its own size and whose ABI
 * fields are compared byte for byte with the core's: a module built against
 * another ABI version or with another data model is refused with a message
 * naming its file, before any of its code runs.
 *
 * Rules:
 * - Registration calls (corral_register_*) are only allowed while the
 *   module's init runs; afterwards they fail and log why.
 * - Everything a module passes to a registration call (vtables, names) must
 *   stay valid until exit: use static storage.
 * - Module code runs on the event-loop thread unless it makes threads of its
 *   own; it must never block that thread.
 * - Memory the core hands to a callback belongs to the core and is valid only
 *   during the call, unless the call's comment says otherwise.
 */
#ifndef CORRAL_MODULE_H
#define CORRAL_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "corral/config.h"
#include "corral/log.h"
#include "corral/loop.h"
#include "corral/metrics.h"
#include "corral/strbuf.h"

/* Bumped on every incompatible change of this header or the headers it
 * includes.  Vtables carry their own size so that they can grow at the end
 * without a bump. */
#define CORRAL_ABI_VERSION 1

#if defined(__GNUC__)
#define CORRAL_EXPORT __attribute__((visibility("default")))
#else
#define CORRAL_EXPORT
#endif

typedef struct CorralModuleAbi {
    uint32_t abi_version;     /* CORRAL_ABI_VERSION */
    uint16_t pointer_size;    /* sizeof(void *) */
    uint16_t long_size;       /* sizeof(long) */
    uint32_t int64_align;     /* _Alignof(int64_t) */
    uint32_t reserved;        /* 0 */
} CorralModuleAbi;

#define CORRAL_MODULE_ABI_DATA \
    { CORRAL_ABI_VERSION, (uint16_t)sizeof(void *), (uint16_t)sizeof(long), \
      (uint32_t)_Alignof(int64_t), 0 }

typedef struct CorralModuleMagic {
    uint32_t size;            /* sizeof(CorralModuleMagic) as the module saw it */
    CorralModuleAbi abi;
    const char *name;         /* must equal the name the YAML file uses */
    const char *version;      /* the module's own version, for logs and `conf` */
} CorralModuleMagic;

#define CORRAL_MAGIC_FUNCTION "corral_module_magic"
#define CORRAL_INIT_FUNCTION  "corral_module_init"

#define CORRAL_MODULE_MAGIC(NAME, VERSION) \
    CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void); \
    const CorralModuleMagic *corral_module_magic(void) \
    { \
        static const CorralModuleMagic magic_data = { \
            sizeof(CorralModuleMagic), CORRAL_MODULE_ABI_DATA, (NAME), (VERSION) }; \
        return &magic_data; \
    } \
    extern int corral_module_magic_defined_once

/* Opaque handle of a loaded module, passed to its init. */
typedef struct CorralModule CorralModule;

/* The entry point every module defines. */
CORRAL_EXPORT int corral_module_init(CorralModule *self, const CorralConfig *config);
typedef int (*CorralModuleInitFn)(CorralModule *self, const CorralConfig *config);

const char *corral_module_name(const CorralModule *m);
/* Records why init failed; the loader prints "module NAME (FILE): message".
 * Returns -1 for `return corral_module_fail(...)`. */
int corral_module_fail(CorralModule *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- lifecycle hooks -----------------------------------------------------
 * start: after every module is loaded and the server is about to serve
 *        (not called under --check-config); nonzero stops startup.
 * stop:  on shutdown, in reverse load order.                               */
typedef int (*CorralStartFn)(void *arg);
typedef void (*CorralStopFn)(void *arg);
int corral_on_start(CorralModule *m, CorralStartFn fn, void *arg);
int corral_on_stop(CorralModule *m, CorralStopFn fn, void *arg);

/* ---- four-letter words ---------------------------------------------------
 * A word is answered when a fresh client connection starts with its four
 * bytes; the text written to `out` is sent and the connection closed.  Words
 * are still subject to the allow list (modules.fourlw.allow).             */
typedef struct CorralFourlwRequest {
    const char *word;           /* the four letters, NUL terminated */
    const char *peer;           /* "ip:port" of the asking client */
} CorralFourlwRequest;

typedef struct CorralFourlw {
    uint32_t abi_version;       /* CORRAL_ABI_VERSION */
    uint32_t size;              /* sizeof(CorralFourlw) */
    const char *word;           /* exactly four lowercase letters */
    const char *description;    /* one line, for docs and `corralctl` help */
    void (*run)(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out);
    void *arg;
    void *reserved[4];
} CorralFourlw;

int corral_register_fourlw(CorralModule *m, const CorralFourlw *word);

/* The allow list (ZooKeeper's 4lw.commands.whitelist).  NULL or a list
 * holding "*" allows every registered word.  Before any module sets it,
 * every word is refused, as a ZooKeeper without the fourlw module would. */
int corral_fourlw_set_allowed(CorralModule *m, const char *const *words, size_t n);

/* ---- metrics exporters ---------------------------------------------------
 * An exporter publishes the registry somewhere (an HTTP endpoint, a push
 * gateway).  It reads metrics with corral_metrics_foreach.                */
typedef struct CorralMetricsExporter {
    uint32_t abi_version;
    uint32_t size;
    const char *name;
    int (*start)(void *arg);    /* may be NULL */
    void (*stop)(void *arg);    /* may be NULL */
    void *arg;
    void *reserved[4];
} CorralMetricsExporter;

int corral_register_metrics_exporter(CorralModule *m, const CorralMetricsExporter *exp);

/* ---- auth schemes and storage backends ----------------------------------
 * Declared in corral/auth.h and corral/storage.h (included below).        */
#include "corral/auth.h"
#include "corral/storage.h"

/* ---- what the server is doing, for admin words and exporters ------------ */
#include "corral/server.h"

#endif
