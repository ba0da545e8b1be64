/*
 * regress/modules/other_build.c: an ordinary module, built with the other
 * sanitizer setting than the server (regress/modules/build.mk): the build
 * signature of its magic block says so and corrald refuses it as "not
 * binary compatible" before running any of its code.
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "other_build", .version = "1.0");

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "other_build's init must never run");
}
