/*
 * regress/modules/no_magic.c: a shared object with an init function but no
 * CORRAL_MODULE_MAGIC: not a Corral module.
 */
#include <corral/module.h>

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "no_magic's init must never run");
}
