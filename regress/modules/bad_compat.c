/*
 * regress/modules/bad_compat.c: right ABI version, but a magic block that
 * says another data model (pointer size 2): "not binary compatible".
 */
#include <corral/module.h>

CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void);
const CorralModuleMagic *corral_module_magic(void)
{
    static const CorralModuleMagic magic = {
        sizeof(CorralModuleMagic),
        {CORRAL_ABI_VERSION, 2, (uint16_t)sizeof(long), (uint32_t)_Alignof(int64_t), 0},
        "bad_compat", "1.0"};
    return &magic;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "bad_compat's init must never run");
}
