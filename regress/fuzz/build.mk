# regress/fuzz/build.mk: the libFuzzer harnesses (included by GNUmakefile).
#
#   make fuzz          builds $(BUILD)/fuzz/fuzz_<name> for every regress/fuzz/fuzz_<name>.c
#   make check-fuzz    runs each one for FUZZ_CHECK_SECONDS from a copy of its seed
#                      corpus (part of make check)
#   make fuzz-long     runs each one for FUZZ_SECONDS (FUZZ_TARGETS="jute wal" for some),
#                      keeping what it finds in $(BUILD)/fuzz/corpus/<name>
#   make fuzz-seeds    rewrites regress/fuzz/corpus/*/seed-* from real encodings
#
# libFuzzer needs instrumented code, so the library sources are compiled
# again with clang (-fsanitize=fuzzer-no-link, ASan, UBSan) into
# $(BUILD)/fuzz-obj; CC stays what it is for everything else.  Without a
# clang that links -fsanitize=fuzzer (Debian: clang, libclang-rt-14-dev) the
# targets say they are skipped (and fail when CI=true).  doc/testing.md has
# the commands and what to do with a crash.

FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 600
FUZZ_CHECK_SECONDS ?= 5
FUZZ_TARGETS       ?= $(FUZZ_NAMES)

FUZZ_DIR    = $(BUILD)/fuzz
FUZZ_OBJ    = $(BUILD)/fuzz-obj
FUZZ_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(CSTD) -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -pthread
FUZZ_LDFLAGS = $(FUZZ_SAN) -fsanitize=fuzzer -pthread
FUZZ_NAMES  = $(patsubst regress/fuzz/fuzz_%.c,%,$(wildcard regress/fuzz/fuzz_*.c))
FUZZ_BINS   = $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
# Everything a harness may call: the common and backend libraries and the
# storage_file formats, in one archive (the linker takes what it needs).
FUZZ_LIB_SRCS = $(COMMON_SRCS) $(BACKEND_SRCS) src/modules/storage_file/wal_format.c
FUZZ_LIB_OBJS = $(patsubst %.c,$(FUZZ_OBJ)/%.o,$(FUZZ_LIB_SRCS)) $(FUZZ_OBJ)/gen/jute_records.o
FUZZ_LIB      = $(FUZZ_OBJ)/libcorral_fuzz.a
# Does $(FUZZ_CC) link a fuzzer?  (Run by the recipes only, not at parse time.)
FUZZ_PROBE = printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' | \
             $(FUZZ_CC) -fsanitize=fuzzer -x c - -o /dev/null >/dev/null 2>&1
FUZZ_SKIP_MSG = fuzz: skipped: $(FUZZ_CC) cannot link -fsanitize=fuzzer (Debian: apt-get install clang libclang-rt-14-dev)
# ... except in CI (CI=true), where .ci/run installs clang: a skip there
# would hide that the harnesses never ran.
FUZZ_SKIP = echo "$(FUZZ_SKIP_MSG)"; if [ "$${CI:-}" = true ]; then echo "fuzz: required when CI=true"; exit 1; fi

.PHONY: fuzz fuzz-build check-fuzz fuzz-long fuzz-seeds

fuzz:
	@if $(FUZZ_PROBE); then $(MAKE) --no-print-directory fuzz-build; else $(FUZZ_SKIP); fi

fuzz-build: $(FUZZ_BINS)

$(FUZZ_OBJ)/gen/jute_records.o: $(GEN_C) $(GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_OBJ)/%.o: %.c $(GEN_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_OBJ)/regress/fuzz/fuzz_%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $< $(FUZZ_LIB) $(LIBS)

# The harnesses always run under ASan and UBSan: a SAN=1 build (make
# check-asan) does not run them a second time.
check-fuzz:
ifeq ($(SAN),1)
	@echo "fuzz: skipped under SAN=1 (the harnesses run under ASan+UBSan in make check)"
else
	@if $(FUZZ_PROBE); then \
	    $(MAKE) --no-print-directory fuzz-build && \
	    regress/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_CHECK_SECONDS) "" $(FUZZ_NAMES); \
	else $(FUZZ_SKIP); fi
endif

fuzz-long:
	@if $(FUZZ_PROBE); then \
	    $(MAKE) --no-print-directory fuzz-build && \
	    regress/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_DIR)/corpus $(FUZZ_TARGETS); \
	else echo "$(FUZZ_SKIP_MSG)"; exit 1; fi

# The seed writer is an ordinary test program (gcc, the normal libraries).
$(FUZZ_DIR)/make_seeds: $(BUILD)/obj/regress/fuzz/make_seeds.o $(BUILD)/obj/src/modules/storage_file/wal_format.o \
                          $(LIBBACKEND) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBBACKEND) $(LIBCOMMON) $(LIBS)

fuzz-seeds: $(FUZZ_DIR)/make_seeds
	$(FUZZ_DIR)/make_seeds regress/fuzz/corpus

-include $(shell find $(FUZZ_OBJ) -name '*.d' 2>/dev/null)

# Keep the harness objects (intermediates of the pattern rules) so that a
# second make does not rebuild them.
.SECONDARY: $(patsubst %,$(FUZZ_OBJ)/regress/fuzz/fuzz_%.o,$(FUZZ_NAMES))
