/*
 * src/backend/module/module.c: dlopen, magic checks, init, registries.
 *
 * Refusals follow nginx's ngx_add_module: each says precisely what is wrong
 * and names the file.  The ABI values of the magic block are compared with
 * memcmp; when they differ, field by field, so that the message can tell an
 * ABI version mismatch from a different data model, other sanitizers or a
 * struct of another size.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "module/hooks.h"
#include "module/module.h"
#include "utils/alloc.h"

struct CorralModule {
    char *name;
    char *file;
    char *version;
    void *handle;
    char error[512];
    const CorralConfig *conf;        /* its settings now (NULL: the defaults) */
    int by_default;                  /* loaded without being named */
    CorralReloadCheckFn reload_check;
    CorralReloadApplyFn reload_apply;
    void *reload_arg;
};

typedef struct HookEntry {
    CorralModule *module;
    CorralStartFn start;
    CorralStopFn stop;
    void *arg;
} HookEntry;

typedef struct WordEntry {
    const CorralFourlw *def;
    CorralModule *module;
} WordEntry;

static struct {
    CorralModule **mods;
    size_t nmods;
    CorralModule *loading;          /* the module whose init runs now */
    CorralModule *reloading;        /* the module whose reload apply runs now */
    CorralModule *checking;         /* the module whose reload check runs now */
    void (*pending)(void *ctx, const char *what);
    void *pending_ctx;
    char error[1024];
    int error_is_config;
    const char **path;
    size_t npath;
    WordEntry *words;
    size_t nwords;
    int allow_all;
    int allow_set;
    char (*allowed)[5];
    size_t nallowed;
    const CorralAuthScheme **auths;
    size_t nauths;
    const CorralStorage *storage;
    CorralModule *storage_owner;
    const CorralMetricsExporter **exporters;
    size_t nexporters;
    HookEntry *hooks;
    size_t nhooks;
} reg;

static int set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reg.error, sizeof reg.error, fmt, ap);
    va_end(ap);
    return -1;
}

const char *module_last_error(void) { return reg.error; }
int module_error_is_config(void) { return reg.error_is_config; }

const char *corral_module_name(const CorralModule *m) { return m ? m->name : "?"; }

int corral_module_fail(CorralModule *m, const char *fmt, ...)
{
    if (!m || m->error[0])
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* Registration calls check that they come from the init of `m`. */
static int check_registering(CorralModule *m, const char *what)
{
    if (!m || m != reg.loading) {
        corral_log(CORRAL_LOG_ERROR, "module", "module %s: %s may only be registered during its init",
                   m ? m->name : "?", what);
        return -1;
    }
    return 0;
}

static int check_vtable(CorralModule *m, uint32_t abi, uint32_t size, uint32_t min_size, const char *what)
{
    if (abi != CORRAL_ABI_VERSION)
        return corral_module_fail(m, "%s built for ABI version %u, this server has version %d", what, abi,
                                  CORRAL_ABI_VERSION);
    if (size < min_size)
        return corral_module_fail(m, "%s vtable is %u bytes, expected at least %u", what, size, min_size);
    return 0;
}

static int valid_word(const char *w)
{
    if (!w || strlen(w) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return 0;
    return 1;
}

int corral_register_fourlw(CorralModule *m, const CorralFourlw *def)
{
    if (check_registering(m, "a four-letter word") < 0)
        return -1;
    if (!def || check_vtable(m, def->abi_version, def->size, (uint32_t)offsetof(CorralFourlw, reserved), "four-letter word") < 0)
        return -1;
    if (!valid_word(def->word) || !def->run)
        return corral_module_fail(m, "four-letter word \"%s\" must be four lowercase letters with a run function",
                                  def->word ? def->word : "(null)");
    if (module_find_fourlw(def->word))
        return corral_module_fail(m, "four-letter word \"%s\" is already registered", def->word);
    reg.words = xrealloc(reg.words, (reg.nwords + 1) * sizeof *reg.words);
    reg.words[reg.nwords++] = (WordEntry){def, m};
    return 0;
}

int corral_fourlw_set_allowed(CorralModule *m, const char *const *words, size_t n)
{
    if ((!m || m != reg.reloading) && check_registering(m, "the four-letter-word allow list") < 0)
        return -1;
    free(reg.allowed);
    reg.allowed = NULL;
    reg.nallowed = 0;
    reg.allow_set = 1;
    reg.allow_all = words == NULL;
    if (words) {
        reg.allowed = xcalloc(n ? n : 1, sizeof *reg.allowed);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(words[i], "*") == 0) {
                reg.allow_all = 1;
                continue;
            }
            if (!valid_word(words[i]))
                return corral_module_fail(m, "\"%s\" is not a four-letter word", words[i]);
            memcpy(reg.allowed[reg.nallowed++], words[i], 5);
        }
    }
    return 0;
}

int corral_register_auth(CorralModule *m, const CorralAuthScheme *s)
{
    if (check_registering(m, "an auth scheme") < 0)
        return -1;
    if (!s || check_vtable(m, s->abi_version, s->size, (uint32_t)offsetof(CorralAuthScheme, reserved), "auth scheme") < 0)
        return -1;
    if (!s->scheme || !s->scheme[0] || !s->authenticate || !s->matches)
        return corral_module_fail(m, "auth scheme needs a name, authenticate and matches");
    if (strcmp(s->scheme, "world") == 0 || strcmp(s->scheme, "auth") == 0 || strcmp(s->scheme, "super") == 0)
        return corral_module_fail(m, "auth scheme \"%s\" is built into the server", s->scheme);
    if (module_find_auth(s->scheme))
        return corral_module_fail(m, "auth scheme \"%s\" is already registered", s->scheme);
    reg.auths = xrealloc(reg.auths, (reg.nauths + 1) * sizeof *reg.auths);
    reg.auths[reg.nauths++] = s;
    return 0;
}

int corral_register_storage(CorralModule *m, const CorralStorage *s)
{
    if (check_registering(m, "a storage backend") < 0)
        return -1;
    if (!s || check_vtable(m, s->abi_version, s->size, (uint32_t)offsetof(CorralStorage, reserved), "storage backend") < 0)
        return -1;
    if (!s->name || !s->open || !s->recover || !s->append || !s->close)
        return corral_module_fail(m, "storage backend needs a name, open, recover, append and close");
    if (reg.storage)
        return corral_module_fail(m, "a storage backend (\"%s\" from module %s) is already registered; only one may be",
                                  reg.storage->name, reg.storage_owner->name);
    reg.storage = s;
    reg.storage_owner = m;
    return 0;
}

int corral_register_metrics_exporter(CorralModule *m, const CorralMetricsExporter *e)
{
    if (check_registering(m, "a metrics exporter") < 0)
        return -1;
    if (!e || check_vtable(m, e->abi_version, e->size, (uint32_t)offsetof(CorralMetricsExporter, reserved), "metrics exporter") < 0)
        return -1;
    if (!e->name)
        return corral_module_fail(m, "metrics exporter needs a name");
    reg.exporters = xrealloc(reg.exporters, (reg.nexporters + 1) * sizeof *reg.exporters);
    reg.exporters[reg.nexporters++] = e;
    return corral_on_start(m, e->start, e->arg) < 0 ? -1 : corral_on_stop(m, e->stop, e->arg);
}

int corral_register_hooks(CorralModule *m, const CorralHooks *h)
{
    if (check_registering(m, "an event hook") < 0)
        return -1;
    if (!h || check_vtable(m, h->abi_version, h->size, (uint32_t)offsetof(CorralHooks, reserved), "event hook") < 0)
        return -1;
    hooks_subscribe(h);
    return 0;
}

static int add_hook(CorralModule *m, CorralStartFn start, CorralStopFn stop, void *arg)
{
    if (check_registering(m, "a lifecycle hook") < 0)
        return -1;
    if (!start && !stop)
        return 0;
    reg.hooks = xrealloc(reg.hooks, (reg.nhooks + 1) * sizeof *reg.hooks);
    reg.hooks[reg.nhooks++] = (HookEntry){m, start, stop, arg};
    return 0;
}

int corral_on_start(CorralModule *m, CorralStartFn fn, void *arg) { return add_hook(m, fn, NULL, arg); }

void corral_reload_pending_restart(CorralModule *m, const char *key)
{
    if (!m || m != reg.checking || !reg.pending || !key) {
        corral_log(CORRAL_LOG_ERROR, "module", "module %s: corral_reload_pending_restart outside its reload check",
                   m ? m->name : "?");
        return;
    }
    char what[200];
    snprintf(what, sizeof what, "modules.%s.%s", m->name, key);
    reg.pending(reg.pending_ctx, what);
}

int corral_on_reload(CorralModule *m, CorralReloadCheckFn check, CorralReloadApplyFn apply, void *arg)
{
    if (check_registering(m, "a reload callback") < 0)
        return -1;
    if (!check || !apply)
        return corral_module_fail(m, "corral_on_reload needs both check and apply");
    m->reload_check = check;
    m->reload_apply = apply;
    m->reload_arg = arg;
    return 0;
}
int corral_on_stop(CorralModule *m, CorralStopFn fn, void *arg) { return add_hook(m, NULL, fn, arg); }

/* ---- lookups ------------------------------------------------------------ */

const CorralFourlw *module_find_fourlw(const char *w)
{
    for (size_t i = 0; i < reg.nwords; i++)
        if (memcmp(reg.words[i].def->word, w, 4) == 0)
            return reg.words[i].def;
    return NULL;
}

int module_fourlw_allowed(const char *w)
{
    if (!reg.allow_set)
        return 0;
    if (reg.allow_all)
        return 1;
    for (size_t i = 0; i < reg.nallowed; i++)
        if (memcmp(reg.allowed[i], w, 4) == 0)
            return 1;
    return 0;
}

size_t module_fourlw_count(void) { return reg.nwords; }
const CorralFourlw *module_fourlw_at(size_t i) { return i < reg.nwords ? reg.words[i].def : NULL; }

const CorralAuthScheme *module_find_auth(const char *scheme)
{
    for (size_t i = 0; i < reg.nauths; i++)
        if (strcmp(reg.auths[i]->scheme, scheme) == 0)
            return reg.auths[i];
    return NULL;
}
size_t module_auth_count(void) { return reg.nauths; }
const CorralAuthScheme *module_auth_at(size_t i) { return i < reg.nauths ? reg.auths[i] : NULL; }
const CorralStorage *module_storage(void) { return reg.storage; }
size_t module_count(void) { return reg.nmods; }
const char *module_name_at(size_t i) { return i < reg.nmods ? reg.mods[i]->name : NULL; }
const char *module_version_at(size_t i) { return i < reg.nmods ? reg.mods[i]->version : NULL; }
const char *module_file_at(size_t i) { return i < reg.nmods ? reg.mods[i]->file : NULL; }
size_t module_search_path(const char ***dirs)
{
    *dirs = reg.path;
    return reg.npath;
}

/* ---- loading ------------------------------------------------------------ */

static void build_search_path(const CoreConfig *cfg, const char *exe_dir)
{
    size_t n = cfg->module_path.n + 2;
    reg.path = xcalloc(n, sizeof *reg.path);
    reg.npath = 0;
    for (size_t i = 0; i < cfg->module_path.n; i++)
        reg.path[reg.npath++] = xstrdup(cfg->module_path.v[i]);
    if (exe_dir) {
        /* Build tree (build/bin/../modules) and installed tree
         * (PREFIX/bin/../lib/corral/modules). */
        char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s/../modules", exe_dir);
        reg.path[reg.npath++] = xstrdup(buf);
        snprintf(buf, sizeof buf, "%s/../lib/corral/modules", exe_dir);
        reg.path[reg.npath++] = xstrdup(buf);
    }
}

static char *find_module_file(const char *name)
{
    char buf[PATH_MAX];
    for (size_t i = 0; i < reg.npath; i++) {
        snprintf(buf, sizeof buf, "%s/%s.so", reg.path[i], name);
        if (access(buf, F_OK) == 0)
            return xstrdup(buf);
    }
    return NULL;
}

static const char *const abi_struct_names[] = {
#define CORRAL_ABI_NAME_(T) #T,
    CORRAL_ABI_STRUCTS(CORRAL_ABI_NAME_)
#undef CORRAL_ABI_NAME_
};

static const struct {
    uint32_t bit;
    const char *name;
} build_flag_names[] = {
    {CORRAL_BUILD_ASAN, "AddressSanitizer"},
    {CORRAL_BUILD_TSAN, "ThreadSanitizer"},
    {CORRAL_BUILD_UBSAN, "UndefinedBehaviorSanitizer"},
    {CORRAL_BUILD_MSAN, "MemorySanitizer"},
};

/* Says what differs between two build signatures of the same ABI version,
 * e.g. "the module was built with AddressSanitizer, this server without;
 * struct CorralStorage is 160 bytes in the module, 152 in this server". */
static void abi_difference(const CorralModuleAbi *mod, const CorralModuleAbi *ours, char *out, size_t outlen)
{
    size_t off = 0;
    out[0] = '\0';
#define SAY(...) \
    do { \
        if (off < outlen) \
            off += (size_t)snprintf(out + off, outlen - off, "%s", off ? "; " : ""); \
        if (off < outlen) \
            off += (size_t)snprintf(out + off, outlen - off, __VA_ARGS__); \
    } while (0)
    for (size_t i = 0; i < sizeof build_flag_names / sizeof *build_flag_names; i++) {
        uint32_t bit = build_flag_names[i].bit;
        if ((mod->build & bit) != (ours->build & bit))
            SAY("the module was built %s %s, this server %s", mod->build & bit ? "with" : "without",
                build_flag_names[i].name, ours->build & bit ? "with it" : "without");
    }
    uint32_t unknown = (mod->build ^ ours->build) & ~(uint32_t)(CORRAL_BUILD_ASAN | CORRAL_BUILD_TSAN |
                                                                  CORRAL_BUILD_UBSAN | CORRAL_BUILD_MSAN);
    if (unknown)
        SAY("build flags 0x%x in the module, 0x%x in this server", mod->build, ours->build);
    if (mod->pointer_size != ours->pointer_size)
        SAY("pointers are %u bytes in the module, %u in this server", mod->pointer_size, ours->pointer_size);
    if (mod->long_size != ours->long_size)
        SAY("long is %u bytes in the module, %u in this server", mod->long_size, ours->long_size);
    if (mod->int64_align != ours->int64_align)
        SAY("int64_t is aligned on %u bytes in the module, %u in this server", mod->int64_align, ours->int64_align);
    if (mod->reserved != ours->reserved)
        SAY("reserved field %u in the module, %u in this server", mod->reserved, ours->reserved);
    for (size_t i = 0; i < CORRAL_ABI_MAX_STRUCTS; i++) {
        if (mod->struct_sizes[i] == ours->struct_sizes[i])
            continue;
        if (i < sizeof abi_struct_names / sizeof *abi_struct_names)
            SAY("struct %s is %u bytes in the module, %u in this server", abi_struct_names[i], mod->struct_sizes[i],
                ours->struct_sizes[i]);
        else
            SAY("ABI struct #%zu is %u bytes in the module, %u in this server", i, mod->struct_sizes[i],
                ours->struct_sizes[i]);
    }
#undef SAY
    if (off >= outlen && outlen > 4)
        memcpy(out + outlen - 4, "...", 4);
}

/* ---- sanitizer runtimes, before dlopen ------------------------------------
 * A module built with AddressSanitizer (or ThreadSanitizer) needs its
 * runtime, which must be the first library of the process: dlopen'ing such
 * a module into a corrald built without it makes the runtime stop the
 * whole process.  So the libraries the module needs (DT_NEEDED, read from
 * the file) are looked at first: a sanitizer runtime this process has not
 * loaded is a refusal, with the same words as the build signature's. */

static const struct {
    const char *prefix;         /* of the runtime's file name */
    const char *name;
} sanitizer_runtimes[] = {
    {"libasan.so", "AddressSanitizer"},
    {"libhwasan.so", "HWAddressSanitizer"},
    {"libtsan.so", "ThreadSanitizer"},
    {"libclang_rt.asan", "AddressSanitizer"},
    {"libclang_rt.tsan", "ThreadSanitizer"},
    {"libclang_rt.msan", "MemorySanitizer"},
};

static int loaded_prefix(struct dl_phdr_info *info, size_t size, void *ctx)
{
    const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    const char *base = slash ? slash + 1 : info->dlpi_name;
    return base && strncmp(base, ctx, strlen(ctx)) == 0;
}

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
    return pread(fd, buf, n, off) == (ssize_t)n ? 0 : -1;
}

/* Writes why into out and returns 1 when the module at `file` needs a
 * sanitizer runtime this process lacks; 0 otherwise, or when the file
 * cannot be read as an ELF object of this machine (dlopen then says why). */
static int needs_missing_runtime(const char *file, char *out, size_t outlen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int found = 0;
    char *dynstr = NULL;
    ElfW(Dyn) *dyn = NULL;
    ElfW(Ehdr) eh;
    if (pread_all(fd, &eh, sizeof eh, 0) < 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0 || eh.e_shnum > 4096)
        goto done;
    for (size_t i = 0; i < eh.e_shnum; i++) {
        ElfW(Shdr) sh, strsh;
        if (pread_all(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + i * sizeof sh)) < 0)
            goto done;
        if (sh.sh_type != SHT_DYNAMIC || sh.sh_link >= eh.e_shnum || sh.sh_size > (1 << 20))
            continue;
        if (pread_all(fd, &strsh, sizeof strsh, (off_t)(eh.e_shoff + sh.sh_link * sizeof strsh)) < 0 ||
            strsh.sh_size == 0 || strsh.sh_size > (16 << 20))
            goto done;
        dyn = xmalloc(sh.sh_size);
        dynstr = xmalloc(strsh.sh_size + 1);
        if (pread_all(fd, dyn, sh.sh_size, (off_t)sh.sh_offset) < 0 ||
            pread_all(fd, dynstr, strsh.sh_size, (off_t)strsh.sh_offset) < 0)
            goto done;
        dynstr[strsh.sh_size] = '\0';
        for (size_t k = 0; k < sh.sh_size / sizeof *dyn && dyn[k].d_tag != DT_NULL && !found; k++) {
            if (dyn[k].d_tag != DT_NEEDED || dyn[k].d_un.d_val >= strsh.sh_size)
                continue;
            const char *needed = dynstr + dyn[k].d_un.d_val;
            for (size_t r = 0; r < sizeof sanitizer_runtimes / sizeof *sanitizer_runtimes; r++) {
                const char *prefix = sanitizer_runtimes[r].prefix;
                if (strncmp(needed, prefix, strlen(prefix)) != 0 ||
                    dl_iterate_phdr(loaded_prefix, (void *)prefix))
                    continue;
                snprintf(out, outlen, "the module was built with %s (it needs %s), this server without",
                         sanitizer_runtimes[r].name, needed);
                found = 1;
                break;
            }
        }
        break;   /* an object has one dynamic section */
    }
done:
    free(dyn);
    free(dynstr);
    close(fd);
    return found;
}

static int load_one(const char *name, const CorralConfig *conf, int by_default)
{
    char *file = find_module_file(name);
    if (!file) {
        char dirs[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < reg.npath && off < sizeof dirs; i++)
            off += (size_t)snprintf(dirs + off, sizeof dirs - off, "%s%s", i ? ", " : "", reg.path[i]);
        return set_error("module \"%s\": %s.so not found in module_path (searched: %s)", name, name, dirs);
    }
    for (size_t i = 0; i < reg.nmods; i++)
        if (strcmp(reg.mods[i]->file, file) == 0) {
            set_error("module \"%s\" (%s): already loaded", name, file);
            free(file);
            return -1;
        }
    char runtime[256];
    if (needs_missing_runtime(file, runtime, sizeof runtime)) {
        set_error("module \"%s\" (%s): is not binary compatible with this server: %s", name, file, runtime);
        free(file);
        return -1;
    }
    dlerror();
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        set_error("module \"%s\" (%s): cannot be loaded: %s", name, file, e ? e : "unknown error");
        free(file);
        return -1;
    }
    CorralModule *m = xcalloc(1, sizeof *m);
    m->name = xstrdup(name);
    m->file = file;
    m->handle = h;
    m->conf = conf;
    m->by_default = by_default;
    reg.mods = xrealloc(reg.mods, (reg.nmods + 1) * sizeof *reg.mods);
    reg.mods[reg.nmods++] = m;

    const CorralModuleMagic *(*magic_fn)(void);
    *(void **)&magic_fn = dlsym(h, CORRAL_MAGIC_FUNCTION);
    if (!magic_fn)
        return set_error("module \"%s\" (%s): is not a Corral module: it has no magic block (add CORRAL_MODULE_MAGIC)",
                         name, file);
    const CorralModuleMagic *magic = magic_fn();
    if (!magic || magic->size < offsetof(CorralModuleMagic, abi) + sizeof magic->abi.abi_version)
        return set_error("module \"%s\" (%s): has a malformed magic block", name, file);
    if (magic->abi.abi_version != CORRAL_ABI_VERSION)
        return set_error("module \"%s\" (%s): was built for module ABI version %u, but this server has version %u",
                         name, file, magic->abi.abi_version, CORRAL_ABI_VERSION);
    if (magic->size != sizeof(CorralModuleMagic))
        return set_error("module \"%s\" (%s): is not binary compatible with this server: its magic block is %u bytes, "
                         "this server's %zu", name, file, magic->size, sizeof(CorralModuleMagic));
    static const CorralModuleAbi ours = CORRAL_MODULE_ABI_DATA;
    if (memcmp(&magic->abi, &ours, sizeof ours) != 0) {
        char why[512];
        abi_difference(&magic->abi, &ours, why, sizeof why);
        return set_error("module \"%s\" (%s): is not binary compatible with this server: %s", name, file, why);
    }
    if (!magic->name || strcmp(magic->name, name) != 0)
        return set_error("module \"%s\" (%s): its magic block names it \"%s\"", name, file,
                         magic->name ? magic->name : "(null)");
    m->version = xstrdup(magic->version ? magic->version : "");

    CorralModuleInitFn init;
    *(void **)&init = dlsym(h, CORRAL_INIT_FUNCTION);
    if (!init)
        return set_error("module \"%s\" (%s): has no %s() entry point", name, file, CORRAL_INIT_FUNCTION);

    config_clear_error();
    reg.loading = m;
    int rc = init(m, conf);
    reg.loading = NULL;
    if (rc != 0) {
        if (config_last_error()) {
            reg.error_is_config = 1;
            return set_error("%s", config_last_error());
        }
        return set_error("module \"%s\" (%s): initialisation failed: %s", name, file,
                         m->error[0] ? m->error : "(the module gave no reason)");
    }
    if (m->error[0])
        return set_error("module \"%s\" (%s): initialisation failed: %s", name, file, m->error);
    corral_log(CORRAL_LOG_INFO, "module", "loaded module %s %s from %s", name, m->version, file);
    return 0;
}

/* `NAME: false` (or off, no, 0) under `modules:` names a module only to
 * leave it out: the way to run without a module loaded by default.
 * `NAME: true` loads it with its defaults.  Returns 0 (off), 1 (on) or -1
 * when the value is not a boolean (the module's settings then). */
static int module_switch(const CorralConfig *conf)
{
    int on = -1;
    if (corral_config_type(conf) == CORRAL_CFG_SCALAR && corral_config_bool(conf, "module", &on) < 0)
        on = -1;
    config_clear_error();
    return on;
}

/* The modules loaded when the YAML does not name them, as ZooKeeper always
 * has the digest and ip schemes (ProviderRegistry.initialize).  A module
 * named with settings is loaded once, with them; `NAME: false` opts out. */
static const char *const default_modules[] = {"auth_digest", "auth_ip"};

int module_load_all(const CoreConfig *cfg, const char *exe_dir)
{
    reg.error[0] = '\0';
    reg.error_is_config = 0;
    build_search_path(cfg, exe_dir);
    for (size_t i = 0; i < corral_config_len(cfg->modules); i++) {
        const char *name = corral_config_scalar(corral_config_key_at(cfg->modules, i));
        const CorralConfig *conf = corral_config_at(cfg->modules, i);
        int on = module_switch(conf);
        if (on == 0) {
            corral_log(CORRAL_LOG_INFO, "module", "module %s is disabled (modules.%s: false)", name, name);
            continue;
        }
        if (on == 1)
            conf = NULL;
        if (load_one(name, conf, 0) < 0)
            return -1;
    }
    for (size_t i = 0; i < sizeof default_modules / sizeof *default_modules; i++) {
        const char *name = default_modules[i];
        if (corral_config_get(cfg->modules, name))
            continue;
        corral_log(CORRAL_LOG_DEBUG, "module", "loading %s by default (modules.%s: false leaves it out)", name, name);
        if (load_one(name, NULL, 1) < 0)
            return -1;
    }
    /* Durability is the default: without a storage module named in the
     * YAML, storage_file is loaded with its defaults (files under
     * server.data_dir).  Running without durability must be chosen
     * explicitly (storage_memory). */
    if (!reg.storage) {
        const CorralConfig *sf = corral_config_get(cfg->modules, "storage_file");
        if (sf && module_switch(sf) == 0) {
            reg.error_is_config = 1;
            return set_error("%s:%d:%d: storage_file is disabled and no other storage module is named "
                             "(name storage_memory to run without durability)",
                             corral_config_file(sf), corral_config_line(sf), corral_config_column(sf));
        }
        corral_log(CORRAL_LOG_INFO, "module", "no storage module configured: loading storage_file with its defaults");
        if (load_one("storage_file", NULL, 1) < 0)
            return -1;
    }
    return 0;
}

/* ---- reload -------------------------------------------------------------- */

/* A module's settings as a reload compares them: an empty map, null and
 * `true` all mean "the defaults". */
static const CorralConfig *effective(const CorralConfig *conf)
{
    if (corral_config_type(conf) == CORRAL_CFG_MAP && corral_config_len(conf) == 0)
        return NULL;
    if (corral_config_type(conf) == CORRAL_CFG_SCALAR && module_switch(conf) == 1)
        return NULL;
    return corral_config_type(conf) == CORRAL_CFG_NULL ? NULL : conf;
}

static int is_default_module(const char *name)
{
    for (size_t i = 0; i < sizeof default_modules / sizeof *default_modules; i++)
        if (strcmp(default_modules[i], name) == 0)
            return 1;
    return 0;
}

/* The settings the new file gives loaded module m; *gone when the file
 * would not load it (removed, or NAME: false). */
static const CorralConfig *new_settings(const CorralModule *m, const CoreConfig *cfg, int *gone)
{
    const CorralConfig *node = corral_config_get(cfg->modules, m->name);
    *gone = 0;
    if (!node) {
        *gone = !m->by_default || !(is_default_module(m->name) || reg.storage_owner == m);
        return NULL;
    }
    if (module_switch(node) == 0)
        *gone = 1;
    return node;
}

int module_reload_check(const CoreConfig *cfg, void (*pending)(void *ctx, const char *what),
                        void (*applied)(void *ctx, const char *what), void *ctx)
{
    char what[160];
    reg.error[0] = '\0';
    for (size_t i = 0; i < reg.nmods; i++) {
        CorralModule *m = reg.mods[i];
        int gone;
        const CorralConfig *node = new_settings(m, cfg, &gone);
        if (gone) {
            snprintf(what, sizeof what, "modules.%s (unloading a module)", m->name);
            pending(ctx, what);
            continue;
        }
        if (m->reload_check) {
            config_clear_error();
            m->error[0] = '\0';
            reg.checking = m;
            reg.pending = pending;
            reg.pending_ctx = ctx;
            int rc = m->reload_check(m->reload_arg, effective(node));
            reg.checking = NULL;
            reg.pending = NULL;
            if (rc != 0) {
                if (config_last_error())
                    return set_error("%s", config_last_error());
                return set_error("module \"%s\" (%s): refused the new settings: %s", m->name, m->file,
                                 m->error[0] ? m->error : "(the module gave no reason)");
            }
            if (!config_node_equal(effective(m->conf), effective(node))) {
                snprintf(what, sizeof what, "modules.%s", m->name);
                applied(ctx, what);
            }
        } else if (!config_node_equal(effective(m->conf), effective(node))) {
            snprintf(what, sizeof what, "modules.%s", m->name);
            pending(ctx, what);
        }
    }
    for (size_t i = 0; i < corral_config_len(cfg->modules); i++) {
        const char *name = corral_config_scalar(corral_config_key_at(cfg->modules, i));
        int loaded = 0;
        for (size_t j = 0; j < reg.nmods && !loaded; j++)
            loaded = strcmp(reg.mods[j]->name, name) == 0;
        if (!loaded && module_switch(corral_config_at(cfg->modules, i)) != 0) {
            snprintf(what, sizeof what, "modules.%s (loading a module)", name);
            pending(ctx, what);
        }
    }
    return 0;
}

void module_reload_apply(const CoreConfig *cfg)
{
    for (size_t i = 0; i < reg.nmods; i++) {
        CorralModule *m = reg.mods[i];
        int gone;
        const CorralConfig *node = new_settings(m, cfg, &gone);
        if (gone || !m->reload_apply)
            continue;
        reg.reloading = m;
        m->reload_apply(m->reload_arg, effective(node));
        reg.reloading = NULL;
        m->conf = node;
    }
}

int module_run_start_hooks(void)
{
    for (size_t i = 0; i < reg.nhooks; i++) {
        HookEntry *h = &reg.hooks[i];
        if (h->start && h->start(h->arg) != 0)
            return set_error("module \"%s\" (%s): failed to start%s%s", h->module->name, h->module->file,
                             h->module->error[0] ? ": " : "", h->module->error);
    }
    /* Every module is ready: events flow from now on until the stop hooks. */
    hooks_arm();
    return 0;
}

void module_run_stop_hooks(void)
{
    hooks_disarm();
    for (size_t i = reg.nhooks; i-- > 0;)
        if (reg.hooks[i].stop)
            reg.hooks[i].stop(reg.hooks[i].arg);
}

void module_unload_all(void)
{
    /* The dlopen handles are never closed: vtables and strings a module
     * registered point into it until the process exits (and leak reports
     * keep the module's symbols). */
    hooks_disarm();
    for (size_t i = 0; i < reg.nmods; i++) {
        CorralModule *m = reg.mods[i];
        free(m->name);
        free(m->file);
        free(m->version);
        free(m);
    }
    free(reg.mods);
    for (size_t i = 0; i < reg.npath; i++)
        free((char *)reg.path[i]);
    free(reg.path);
    free(reg.words);
    free(reg.allowed);
    free(reg.auths);
    free(reg.exporters);
    free(reg.hooks);
    memset(&reg, 0, sizeof reg);
}
