#!/bin/sh
# corral-config: where an installed Corral keeps what a module author needs
# (PostgreSQL's pg_config is the model).  `make install` copies this script
# to PREFIX/bin/corral-config, replacing the @...@ words.
#
# The paths are found from the script's own location (PREFIX/bin), so an
# installation can be moved, or staged with DESTDIR, and still answer
# right.  A module's Makefile normally needs only
#
#     MODULE = my_module
#     SRCS   = my_module.c
#     include $(shell corral-config --makefile)
#
# See doc/modules.md.

version='@VERSION@'
cc='@CC@'
# The sanitizer flags corrald was built with (make SAN=1): a module must be
# built with them too, or its build signature differs from the server's
# and corrald refuses it ("is not binary compatible").
sanflags='@SANFLAGS@'

self=$0
case $self in
*/*) ;;
*) self=$(command -v -- "$self") || { echo "corral-config: cannot find myself" >&2; exit 1; } ;;
esac
self=$(readlink -f -- "$self" 2>/dev/null || echo "$self")
bindir=$(cd "$(dirname -- "$self")" && pwd) || exit 1
prefix=$(dirname -- "$bindir")
includedir=$prefix/include
pkglibdir=$prefix/lib/corral
moduledir=$pkglibdir/modules
makefile=$pkglibdir/corral-module.mk
sharedir=$prefix/share/corral

abi_version() {
    sed -n 's/^#define CORRAL_ABI_VERSION \([0-9][0-9]*\).*/\1/p' "$includedir/corral/module.h"
}

usage() {
    cat <<EOF
Usage: corral-config [OPTION]...

Prints what building a Corral module needs, one answer a line, in the
order of the options given (all of them, labelled, without options).

  --cflags       compiler flags for a module's sources (with the sanitizer
                 flags corrald was built with, if any)
  --ldflags      linker flags that make a module (.so)
  --libs         libraries a module must link (none: the server provides
                 the module API, as postgres does for extensions)
  --cc           the C compiler Corral was built with
  --prefix       the installation prefix
  --bindir       where corrald and the tools are
  --includedir   the directory holding corral/module.h
  --pkglibdir    Corral's library directory (the makefile fragment)
  --moduledir    where corrald looks for modules by default
  --sharedir     example configurations
  --makefile     the makefile fragment to include (PGXS-style)
  --version      Corral's version
  --abi-version  the module ABI version (CORRAL_ABI_VERSION)
  --help         this text
EOF
}

answer() {
    case $1 in
    --cflags) echo "-I$includedir -std=gnu11 -fPIC -fvisibility=hidden -pthread -D_GNU_SOURCE${sanflags:+ $sanflags}" ;;
    --ldflags) echo "-shared -pthread${sanflags:+ $sanflags}" ;;
    --libs) echo "" ;;
    --cc) echo "$cc" ;;
    --prefix) echo "$prefix" ;;
    --bindir) echo "$bindir" ;;
    --includedir) echo "$includedir" ;;
    --pkglibdir) echo "$pkglibdir" ;;
    --moduledir) echo "$moduledir" ;;
    --sharedir) echo "$sharedir" ;;
    --makefile) echo "$makefile" ;;
    --version) echo "$version" ;;
    --abi-version) abi_version ;;
    --help | -h) usage; exit 0 ;;
    *) echo "corral-config: unknown option \"$1\" (see --help)" >&2; exit 2 ;;
    esac
}

if [ $# -eq 0 ]; then
    for o in cflags ldflags libs cc prefix bindir includedir pkglibdir moduledir sharedir makefile \
        version abi-version; do
        printf '%-12s= %s\n' "$(echo "$o" | tr 'a-z-' 'A-Z_')" "$(answer --$o)"
    done
    exit 0
fi
for o in "$@"; do
    answer "$o" || exit $?
done
