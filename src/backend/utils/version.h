/*
 * src/backend/utils/version.h: the one `--version` line of every program
 * (corrald, corralctl, corral-cli): "PROGRAM VERSION (module ABI N)", so an
 * operator can tell which modules a server takes without loading one.
 */
#ifndef CORRAL_UTILS_VERSION_H
#define CORRAL_UTILS_VERSION_H

#include <stdio.h>

#include "corral/module.h"

static inline void corral_print_version(const char *program)
{
    printf("%s %s (module ABI %d)\n", program, CORRAL_VERSION, CORRAL_ABI_VERSION);
}

#endif
