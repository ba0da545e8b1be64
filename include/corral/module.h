/*
 * include/corral/module.h: the module ABI of corrald.  A module author needs
 * this header (and the ones it includes) and nothing else.
 *
 * A module is a shared object that corrald loads at startup because the
 * YAML file names it under `modules:`.  It must contain, exactly once:
 *
 *     #include <corral/module.h>
 *     CORRAL_MODULE_MAGIC(.name = "my_module", .version = "1.0");
 *
 *     int corral_module_init(CorralModule *self, const CorralConfig *config)
 *     {
 *         ... validate config, register extensions ...
 *         return 0;    // nonzero refuses the module: startup stops
 *     }
 *
 * The magic block (PostgreSQL's PG_MODULE_MAGIC_EXT is the model) is a
 * function returning a constant struct whose first field is its own size,
 * then the ABI values (CorralModuleAbi: the ABI version and the build
 * signature, below), compared byte for byte with the core's, then the name
 * and version, set with designated initializers so that the struct can grow.
 * A module built against another ABI version, with another data model or
 * with other build flags is refused with a message naming its file and what
 * differs, before any of its code runs.  (The older positional form
 * CORRAL_MODULE_MAGIC("my_module", "1.0") still compiles: positional
 * initializers continue after .abi with .name, then .version.)
 *
 * Rules:
 * - Registration calls (corral_register_*, corral_on_start/stop) are only
 *   allowed while the module's init runs; afterwards they fail and log why.
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

#include "corral/alloc.h"
#include "corral/config.h"
#include "corral/log.h"
#include "corral/loop.h"
#include "corral/metrics.h"
#include "corral/strbuf.h"

/* Bumped on every incompatible change of this header or the headers it
 * includes.  Vtables carry their own size so that they can grow at the end
 * (into their reserved slots) without a bump.
 *   1: the first ABI.
 *   2: the magic block carries the build signature (CorralModuleAbi grew);
 *      corral/alloc.h and corral/hooks.h were added.  Rebuild modules; their
 *      source needs no change.
 *   3: CorralAuthClient carries the client's TLS certificate (tls_subject,
 *      tls_cert_der); a module that builds CorralAuthClient values with
 *      positional initializers must name its fields; corral/tls.h was
 *      added.  Rebuild modules. */
#define CORRAL_ABI_VERSION 3

#if defined(__GNUC__)
#define CORRAL_EXPORT __attribute__((visibility("default")))
#else
#define CORRAL_EXPORT
#endif

/* ---- the build signature --------------------------------------------------
 * nginx's NGX_MODULE_SIGNATURE and PostgreSQL's abi_extra, computed here
 * from what the compiler knows while it compiles this header, so that the
 * core and a module built the same way get the same bytes:
 * - the sanitizers the translation unit is built with.  A module built
 *   without AddressSanitizer runs unchecked inside a sanitizer build of
 *   corrald (and the reverse cannot even be loaded: the sanitizer runtime
 *   must come first in the process), so SAN=1 builds and normal builds do
 *   not mix.  GCC says __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__; clang
 *   says __has_feature(...).  GCC has no macro for -fsanitize=undefined:
 *   UndefinedBehaviorSanitizer is only seen by clang.
 * - the data model: pointer and long sizes, the alignment of int64_t;
 * - the size of every struct of this ABI that has no size field of its own
 *   (CORRAL_ABI_STRUCTS): the vtables, whose size must not change when they
 *   grow into their reserved slots, and the structs one side fills for the
 *   other (CorralStrbuf, CorralMetricView, CorralStorageEnv, ...).  Structs
 *   that start with their own size (CorralServerInfo, the hook events) grow
 *   freely and are not listed.  New structs are appended to the list. */
#define CORRAL_BUILD_ASAN  0x1u    /* AddressSanitizer */
#define CORRAL_BUILD_TSAN  0x2u    /* ThreadSanitizer */
#define CORRAL_BUILD_UBSAN 0x4u    /* UndefinedBehaviorSanitizer (clang only) */
#define CORRAL_BUILD_MSAN  0x8u    /* MemorySanitizer (clang only) */

#ifdef __has_feature
#define CORRAL_HAS_FEATURE_(f) __has_feature(f)
#else
#define CORRAL_HAS_FEATURE_(f) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || CORRAL_HAS_FEATURE_(address_sanitizer)
#define CORRAL_BUILD_ASAN_ CORRAL_BUILD_ASAN
#else
#define CORRAL_BUILD_ASAN_ 0u
#endif
#if defined(__SANITIZE_THREAD__) || CORRAL_HAS_FEATURE_(thread_sanitizer)
#define CORRAL_BUILD_TSAN_ CORRAL_BUILD_TSAN
#else
#define CORRAL_BUILD_TSAN_ 0u
#endif
#if CORRAL_HAS_FEATURE_(undefined_behavior_sanitizer)
#define CORRAL_BUILD_UBSAN_ CORRAL_BUILD_UBSAN
#else
#define CORRAL_BUILD_UBSAN_ 0u
#endif
#if CORRAL_HAS_FEATURE_(memory_sanitizer)
#define CORRAL_BUILD_MSAN_ CORRAL_BUILD_MSAN
#else
#define CORRAL_BUILD_MSAN_ 0u
#endif
/* What this translation unit is built with. */
#define CORRAL_BUILD_FLAGS (CORRAL_BUILD_ASAN_ | CORRAL_BUILD_TSAN_ | CORRAL_BUILD_UBSAN_ | CORRAL_BUILD_MSAN_)

/* The structs whose sizes are part of the signature, in signature order
 * (X is applied to each type name).  Append only. */
#define CORRAL_ABI_STRUCTS(X) \
    X(CorralStrbuf) X(CorralConfigKey) X(CorralStrList) X(CorralAddr) X(CorralMetricView) \
    X(CorralFourlwRequest) X(CorralFourlw) X(CorralMetricsExporter) X(CorralAuthClient) \
    X(CorralAuthScheme) X(CorralTxnRecord) X(CorralStorageEnv) X(CorralRecoverySink) X(CorralStorage) \
    X(CorralHooks)
#define CORRAL_ABI_MAX_STRUCTS 24

/* The ABI values of the magic block: only fixed-width fields, no padding
 * (checked below), so that memcmp compares them all. */
typedef struct CorralModuleAbi {
    uint32_t abi_version;     /* CORRAL_ABI_VERSION */
    uint32_t build;           /* CORRAL_BUILD_FLAGS */
    uint16_t pointer_size;    /* sizeof(void *) */
    uint16_t long_size;       /* sizeof(long) */
    uint16_t int64_align;     /* _Alignof(int64_t) */
    uint16_t reserved;        /* 0 */
    /* sizeof each struct of CORRAL_ABI_STRUCTS, in order, then zeros */
    uint32_t struct_sizes[CORRAL_ABI_MAX_STRUCTS];
} CorralModuleAbi;

#define CORRAL_ABI_SIZEOF_(T) (uint32_t)sizeof(T),
/* Expands where every struct is complete (after this header is included). */
#define CORRAL_MODULE_ABI_DATA \
    { CORRAL_ABI_VERSION, CORRAL_BUILD_FLAGS, (uint16_t)sizeof(void *), (uint16_t)sizeof(long), \
      (uint16_t)_Alignof(int64_t), 0, { CORRAL_ABI_STRUCTS(CORRAL_ABI_SIZEOF_) } }

typedef struct CorralModuleMagic {
    uint32_t size;            /* sizeof(CorralModuleMagic) as the module saw it */
    CorralModuleAbi abi;      /* compared with memcmp */
    const char *name;         /* must equal the name the YAML file uses */
    const char *version;      /* the module's own version, for logs and `conf` */
} CorralModuleMagic;

#define CORRAL_MAGIC_FUNCTION "corral_module_magic"
#define CORRAL_INIT_FUNCTION  "corral_module_init"

/* CORRAL_MODULE_MAGIC(.name = "my_module", .version = "1.0"): defines the
 * exported magic function.  .name is required; .version may be left out
 * (logged as empty). */
#define CORRAL_MODULE_MAGIC(...) \
    CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void); \
    const CorralModuleMagic *corral_module_magic(void) \
    { \
        static const CorralModuleMagic corral_magic_data_ = { \
            .size = sizeof(CorralModuleMagic), .abi = CORRAL_MODULE_ABI_DATA, __VA_ARGS__}; \
        return &corral_magic_data_; \
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

/* ---- reload ----------------------------------------------------------------
 * corrald re-reads its configuration on SIGHUP (and admin_http's reload
 * command).  A module that can take new settings without a restart asks
 * for two calls with corral_on_reload (during its init), made on every
 * reload, whether its settings changed or not (a module may re-read files
 * it names, such as certificates):
 *   check(arg, config): validate the new settings (the node under
 *       modules.<name>, NULL when the module is loaded by default) and
 *       prepare; report a problem with corral_config_error (or
 *       corral_module_fail) and return nonzero: the whole reload is
 *       refused and nothing changes anywhere;
 *   apply(arg, config): switch to them; cannot fail.  Called only when
 *       every check passed.  corral_fourlw_set_allowed may be called here.
 * `config` lives until exit.  A module without these calls keeps the
 * settings it started with; if they changed in the file, the reload
 * reports modules.<name> as pending_restart.
 * Added to ABI version 2 without a bump (a new function, no struct
 * changed): modules built before still load.  Test CORRAL_HAVE_RELOAD to
 * build against older headers. */
#define CORRAL_HAVE_RELOAD 1
typedef int (*CorralReloadCheckFn)(void *arg, const CorralConfig *config);
typedef void (*CorralReloadApplyFn)(void *arg, const CorralConfig *config);
int corral_on_reload(CorralModule *m, CorralReloadCheckFn check, CorralReloadApplyFn apply, void *arg);
/* From a reload check: the setting `key` of this module changed but only
 * takes effect at a restart (a listening address); the reload reports
 * modules.<name>.<key> as pending_restart.  The apply must then keep the
 * running value of that setting. */
void corral_reload_pending_restart(CorralModule *m, const char *key);

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
 * every word is refused, as a ZooKeeper without the fourlw module would.
 * Allowed during the module's init and its reload apply. */
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

/* ---- events: connections, requests, commits, sessions ------------------- */
#include "corral/hooks.h"

/* ---- TLS on a module's own sockets (HTTPS) ------------------------------ */
#include "corral/tls.h"

#define CORRAL_ABI_COUNT_(T) +1
_Static_assert(0 CORRAL_ABI_STRUCTS(CORRAL_ABI_COUNT_) <= CORRAL_ABI_MAX_STRUCTS,
               "CORRAL_ABI_STRUCTS outgrew CorralModuleAbi.struct_sizes");
_Static_assert(sizeof(CorralModuleAbi) == 16 + 4 * CORRAL_ABI_MAX_STRUCTS, "CorralModuleAbi must have no padding");

#endif
