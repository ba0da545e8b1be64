# regress/modules/build.mk: test-only modules for regress/t/002_modules.t.
#
# Included by the GNUmakefile; uses its BUILD, CC, CPPFLAGS, CFLAGS and
# LDFLAGS so that `make check-asan` builds them with the sanitizers too.
# Each regress/modules/NAME.c becomes $(BUILD)/regress-modules/NAME.so;
# not_so.so is a text file that only has a shared object's name.

REGRESS_MODULE_SRCS = $(wildcard regress/modules/*.c)
REGRESS_MODULES     = $(patsubst regress/modules/%.c,$(BUILD)/regress-modules/%.so,$(REGRESS_MODULE_SRCS)) \
                      $(BUILD)/regress-modules/not_so.so

.PHONY: regress-modules
regress-modules: $(REGRESS_MODULES)
all: $(REGRESS_MODULES)

$(BUILD)/regress-modules/%.so: regress/modules/%.c $(wildcard include/corral/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -shared -o $@ $<

$(BUILD)/regress-modules/not_so.so: regress/modules/not_so.so.in
	@mkdir -p $(dir $@)
	cp $< $@
