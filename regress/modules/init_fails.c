/*
 * regress/modules/init_fails.c: an init that refuses to start.
 *
 *   modules: { init_fails: { reason: "TEXT" } }   fails with that text
 *   modules: { init_fails: { silent: true } }     fails without a reason
 *   modules: { init_fails: {} }                   fails with "the disk is on fire"
 */
#include <string.h>

#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "init_fails", .version = "1.0");

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    const char *reason = corral_config_scalar(corral_config_get(config, "reason"));
    const char *silent = corral_config_scalar(corral_config_get(config, "silent"));
    if (silent && strcmp(silent, "true") == 0)
        return -1;
    return corral_module_fail(self, "%s", reason ? reason : "the disk is on fire");
}
