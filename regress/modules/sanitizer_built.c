/*
 * regress/modules/sanitizer_built.c: an ordinary module really built with a
 * sanitizer this corrald lacks (regress/modules/build.mk: AddressSanitizer
 * in a normal build, ThreadSanitizer in a SAN=1 build), so it needs that
 * sanitizer's runtime library.  dlopen'ing it would make the runtime stop
 * the whole process (it must be the first library loaded); corrald reads
 * the libraries the file needs first and refuses it as "not binary
 * compatible", naming the sanitizer and the runtime.
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "sanitizer_built", .version = "1.0");

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "sanitizer_built's init must never run");
}
