/*
 * regress/modules/no_init.c: a valid magic block but no corral_module_init().
 */
#include <corral/module.h>

CORRAL_MODULE_MAGIC(.name = "no_init", .version = "1.0");

/* Something for the object to contain besides the magic block. */
int no_init_placeholder(void);
int no_init_placeholder(void) { return 42; }
