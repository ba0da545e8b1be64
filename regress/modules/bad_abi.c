/*
 * regress/modules/bad_abi.c: a module whose magic block claims another
 * module ABI version; corrald must refuse it before running any of its code.
 */
#include <corral/module.h>

CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void);
const CorralModuleMagic *corral_module_magic(void)
{
    static const CorralModuleMagic magic = {
        sizeof(CorralModuleMagic),
        {999, (uint16_t)sizeof(void *), (uint16_t)sizeof(long), (uint32_t)_Alignof(int64_t), 0},
        "bad_abi", "1.0"};
    return &magic;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "bad_abi's init must never run");
}
