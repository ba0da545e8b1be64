/*
 * regress/modules/wrong_name.c: installed as wrong_name.so, but its magic
 * block says it is "someone_else".
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "someone_else", .version = "1.0");

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "wrong_name's init must never run");
}
