/*
 * regress/modules/strict_conf.c: validates its settings with
 * corral_config_apply, as every module should, and registers the word
 * "stcf" that prints them.
 *
 *   modules:
 *     strict_conf:
 *       count: 3            # integer 1..10, required
 *       label: text         # optional string
 *       verbose: true       # optional bool
 *       tags: [a, b]        # optional list of strings
 */
#include <stddef.h>

#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "strict_conf", .version = "1.0");

static struct {
    int64_t count;
    const char *label;
    int verbose;
    CorralStrList tags;
} settings = {0, "none", 0, {0, NULL}};

static const CorralConfigKey keys[] = {
    {"count", CORRAL_KEY_INT, offsetof(__typeof__(settings), count), 1, 1, 10},
    {"label", CORRAL_KEY_STRING, offsetof(__typeof__(settings), label), 0, 0, 0},
    {"verbose", CORRAL_KEY_BOOL, offsetof(__typeof__(settings), verbose), 0, 0, 0},
    {"tags", CORRAL_KEY_STRLIST, offsetof(__typeof__(settings), tags), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END};

static void stcf_run(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    corral_strbuf_printf(out, "count=%lld\nlabel=%s\nverbose=%d\ntags=%zu\n", (long long)settings.count,
                         settings.label, settings.verbose, settings.tags.n);
}

static const CorralFourlw stcf_def = {
    CORRAL_ABI_VERSION, sizeof(CorralFourlw), "stcf", "prints strict_conf's settings", stcf_run, NULL, {NULL}};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    if (corral_config_apply(config, keys, &settings) < 0)
        return -1;
    return corral_register_fourlw(self, &stcf_def);
}
