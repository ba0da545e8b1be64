# corral-module.mk: builds a Corral module outside Corral's source tree
# (PostgreSQL's PGXS is the model).  Installed as
# PREFIX/lib/corral/corral-module.mk; `corral-config --makefile` prints that
# path.  A module's Makefile:
#
#     MODULE = auth_token              # the module's name: builds auth_token.so
#     SRCS   = auth_token.c util.c     # default: $(MODULE).c
#     include $(shell corral-config --makefile)
#
# or, with a Corral that is not on PATH:
#
#     CORRAL_CONFIG ?= corral-config
#     include $(shell $(CORRAL_CONFIG) --makefile)
#
# (make CORRAL_CONFIG=/opt/corral/bin/corral-config).
#
# Optional variables, set before the include:
#   MODULE_VERSION   the version in the magic block, passed as
#                    -DMODULE_VERSION="..." (default 1.0)
#   MODULE_CFLAGS    more compiler flags (e.g. -I/usr/include/foo)
#   MODULE_LIBS      libraries the module links (e.g. -lsasl2)
#   BUILDDIR         where objects and the .so go (default: .)
#   CC, CFLAGS, LDFLAGS, CPPFLAGS as usual (CFLAGS default: -O2 -g -Wall
#                    -Wextra -Wno-unused-parameter -Wmissing-prototypes)
#
# Targets:
#   all (default)    $(BUILDDIR)/$(MODULE).so
#   install          copies it to DESTDIR + `corral-config --moduledir`
#                    (MODULEDIR=... to install elsewhere)
#   uninstall, clean
#   check-abi        checks that the .so exports exactly corral_module_magic
#                    and corral_module_init
#   check            runs $(CHECK_CMD) if the Makefile set it (default:
#                    check-abi)
#
# Objects are compiled with -fvisibility=hidden: only the two entry points
# (marked CORRAL_EXPORT by corral/module.h) are exported, so a module cannot
# clash with the server's symbols or with another module's.

ifndef MODULE
$(error corral-module.mk: set MODULE = <name> before including it)
endif
ifneq ($(words $(MODULE)),1)
$(error corral-module.mk: MODULE must be a single name, not "$(MODULE)")
endif

# Where this fragment is: PREFIX/lib/corral.  corral-config sits in
# PREFIX/bin; the Makefile may name another one.
CORRAL_PKGLIBDIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CORRAL_CONFIG    ?= $(CORRAL_PKGLIBDIR)/../../bin/corral-config

CORRAL_CFLAGS_   := $(shell $(CORRAL_CONFIG) --cflags)
CORRAL_LDFLAGS_  := $(shell $(CORRAL_CONFIG) --ldflags)
CORRAL_LIBS_     := $(shell $(CORRAL_CONFIG) --libs)
CORRAL_CC_       := $(shell $(CORRAL_CONFIG) --cc)
CORRAL_MODULEDIR := $(shell $(CORRAL_CONFIG) --moduledir)
CORRAL_VERSION_  := $(shell $(CORRAL_CONFIG) --version)
ifeq ($(strip $(CORRAL_CFLAGS_)),)
$(error corral-module.mk: "$(CORRAL_CONFIG) --cflags" answered nothing; set CORRAL_CONFIG to an installed corral-config)
endif

# Use the compiler Corral was built with unless one was asked for.
ifeq ($(origin CC),default)
CC := $(or $(CORRAL_CC_),cc)
endif

SRCS           ?= $(MODULE).c
MODULE_VERSION ?= 1.0
BUILDDIR       ?= .
MODULEDIR      ?= $(CORRAL_MODULEDIR)
CFLAGS         ?= -O2 -g -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes
CHECK_CMD      ?=

MODULE_SO   := $(BUILDDIR)/$(MODULE).so
MODULE_OBJS := $(patsubst %.c,$(BUILDDIR)/%.o,$(SRCS))

.PHONY: all install uninstall clean check check-abi
all: $(MODULE_SO)

$(BUILDDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CORRAL_CFLAGS_) -DMODULE_VERSION='"$(MODULE_VERSION)"' $(MODULE_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(MODULE_SO): $(MODULE_OBJS)
	$(CC) $(CORRAL_LDFLAGS_) $(LDFLAGS) -o $@ $(MODULE_OBJS) $(MODULE_LIBS) $(CORRAL_LIBS_)

install: $(MODULE_SO)
	install -d '$(DESTDIR)$(MODULEDIR)'
	install -m 755 $(MODULE_SO) '$(DESTDIR)$(MODULEDIR)/'

uninstall:
	rm -f '$(DESTDIR)$(MODULEDIR)/$(MODULE).so'

clean:
	rm -f $(MODULE_SO) $(MODULE_OBJS) $(MODULE_OBJS:.o=.d)

# The dynamic symbol table must hold the two entry points and nothing else
# the module defines.
check-abi: $(MODULE_SO)
	@syms=$$(nm -D --defined-only $(MODULE_SO) | awk '$$2 ~ /^[TDBRV]$$/ {print $$3}' | sort | tr '\n' ' '); \
	if [ "$$syms" = "corral_module_init corral_module_magic " ]; then \
	    echo "$(MODULE_SO): exports corral_module_init and corral_module_magic only"; \
	else \
	    echo "$(MODULE_SO): exports \"$$syms\"; expected corral_module_init and corral_module_magic only" >&2; \
	    exit 1; \
	fi

check: check-abi
ifneq ($(strip $(CHECK_CMD)),)
	$(CHECK_CMD)
endif

-include $(MODULE_OBJS:.o=.d)
