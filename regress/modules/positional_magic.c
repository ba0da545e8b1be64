/*
 * regress/modules/positional_magic.c: a module written for the first module
 * ABI, with the positional magic block CORRAL_MODULE_MAGIC(NAME, VERSION).
 * It still compiles against today's header (positional initializers follow
 * .abi with .name, then .version) and loads: rebuilding an old module needs
 * no source change.
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC("positional_magic", "0.9");

static void posm_run(void *arg, const CorralFourlwRequest *req, CorralStrbuf *out)
{
    corral_strbuf_puts(out, "positional magic loaded\n");
}

static const CorralFourlw posm = {
    CORRAL_ABI_VERSION, sizeof(CorralFourlw), "posm", "answers that the module loaded", posm_run, NULL, {NULL}};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    if (corral_config_apply(config, (CorralConfigKey[]){CORRAL_CONFIG_KEYS_END}, NULL) < 0)
        return -1;
    return corral_register_fourlw(self, &posm);
}
