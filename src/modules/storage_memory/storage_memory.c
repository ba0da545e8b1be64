/*
 * src/modules/storage_memory/storage_memory.c: a storage backend that keeps
 * nothing.  Every append is reported durable at once (from inside append,
 * as the core does itself when no storage module is loaded); recovery finds
 * nothing; there are no snapshots.  For tests and for setups that choose to
 * have no durability, explicitly: it says so at startup.
 *
 *   modules:
 *     storage_memory: {}       # no settings
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "storage_memory", .version = "0.1");

typedef struct MemStore {
    CorralStorageEnv env;
    int64_t last_zxid;
    int recovered;
} MemStore;

static const CorralConfigKey no_keys[] = {CORRAL_CONFIG_KEYS_END};

static void *mem_open(void *arg, const CorralStorageEnv *env, char *err, size_t errlen)
{
    if (!env->durable) {
        snprintf(err, errlen, "the core gave no durable callback");
        return NULL;
    }
    MemStore *s = corral_xcalloc(1, sizeof *s);
    s->env = *env;
    corral_log(CORRAL_LOG_WARN, "storage",
               "storage_memory: nothing is durable: every transaction is lost when the server stops");
    return s;
}

static int mem_recover(void *store, const CorralRecoverySink *sink, char *err, size_t errlen)
{
    MemStore *s = store;
    s->recovered = 1;
    return 0;
}

static int mem_append(void *store, const CorralTxnRecord *recs, size_t n, char *err, size_t errlen)
{
    MemStore *s = store;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].zxid <= s->last_zxid) {
            snprintf(err, errlen, "storage_memory: zxid 0x%" PRIx64 " does not follow 0x%" PRIx64,
                     (uint64_t)recs[i].zxid, (uint64_t)s->last_zxid);
            return -1;
        }
        s->last_zxid = recs[i].zxid;
    }
    s->env.durable(s->env.ctx, s->last_zxid);
    return 0;
}

/* TRUNC in an ensemble: records after zxid are forgotten, so appends may
 * continue from there. */
static int mem_truncate(void *store, int64_t zxid, char *err, size_t errlen)
{
    MemStore *s = store;
    s->last_zxid = zxid;
    return 0;
}

static void mem_close(void *store)
{
    free(store);
}

static const CorralStorage storage_memory_def = {
    CORRAL_ABI_VERSION, sizeof(CorralStorage), "storage_memory", mem_open, mem_recover, mem_append, NULL,
    mem_close, NULL, mem_truncate, {NULL}};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    if (corral_config_apply(config, no_keys, NULL) < 0)
        return -1;
    return corral_register_storage(self, &storage_memory_def);
}
