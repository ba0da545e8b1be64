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

# other_build.so is built with the other sanitizer setting than this build,
# so its build signature differs from the server's.  In a SAN=1 build it is
# really built without the sanitizers.  In a normal build it only says it
# was built with AddressSanitizer (what -fsanitize=address tells the
# headers): a really instrumented module cannot even be loaded into a
# process without the sanitizer runtime, which must come first.
ifeq ($(SAN),1)
OTHER_BUILD_FLAGS = $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS) $(LDFLAGS))
else
OTHER_BUILD_FLAGS = -D__SANITIZE_ADDRESS__=1 $(CFLAGS) $(LDFLAGS)
endif
$(BUILD)/regress-modules/other_build.so: regress/modules/other_build.c $(wildcard include/corral/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(OTHER_BUILD_FLAGS) -shared -o $@ $<

# sanitizer_built.so is really built with a sanitizer this corrald lacks:
# AddressSanitizer in a normal build, ThreadSanitizer (which cannot share a
# process with AddressSanitizer) in a SAN=1 build.  It needs that runtime.
ifeq ($(SAN),1)
SANITIZER_BUILT_FLAGS = -fsanitize=thread $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(CFLAGS) $(LDFLAGS))
else
SANITIZER_BUILT_FLAGS = -fsanitize=address $(CFLAGS) $(LDFLAGS)
endif
$(BUILD)/regress-modules/sanitizer_built.so: regress/modules/sanitizer_built.c $(wildcard include/corral/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SANITIZER_BUILT_FLAGS) -shared -o $@ $<

$(BUILD)/regress-modules/not_so.so: regress/modules/not_so.so.in
	@mkdir -p $(dir $@)
	cp $< $@
