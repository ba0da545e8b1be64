# contrib/bench/build.mk: builds $(BUILD)/bin/corral-bench, the ZooKeeper
# protocol load generator (doc/benchmarks.md), with the top GNUmakefile's
# compiler flags and libcorral_common.a.
#
# Used two ways:
#   - included by the top GNUmakefile (line: -include contrib/bench/build.mk),
#     which then builds corral-bench with `make` (it is added to `all`);
#   - by contrib/bench/Makefile, which runs the top GNUmakefile with this
#     file as a second -f, so nothing at the top needs to change:
#       make -C contrib/bench BUILD=build-bench
ifndef CORRAL_BENCH_MK
CORRAL_BENCH_MK := 1

BENCH_BIN = $(BUILD)/bin/corral-bench

.PHONY: bench
all: $(BENCH_BIN)
bench: $(BENCH_BIN)

$(BENCH_BIN): $(BUILD)/obj/contrib/bench/corral-bench.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBCOMMON) $(LIBS)

endif
