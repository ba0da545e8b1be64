/*
 * regress/modules/bad_abi.c: a module whose magic block claims another
 * module ABI version; corrald must refuse it before running any of its code.
 */
#include <corral/module.h>

CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void);
const CorralModuleMagic *corral_module_magic(void)
{
    /* Past the version, nothing of the ABI values is looked at. */
    static const CorralModuleMagic magic = {
        .size = sizeof(CorralModuleMagic), .abi = {.abi_version = 999}, .name = "bad_abi", .version = "1.0"};
    return &magic;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "bad_abi's init must never run");
}
