# src/modules/storage_file/build.mk: included by the GNUmakefile.
#
# The module calls libzstd itself (snapshots); corrald does not export it.
MODULE_LIBS_storage_file = -lzstd

# Only corral_module_init and the magic function (marked CORRAL_EXPORT) leave
# the .so: wal_format.c's walf_* functions stay private, so they can never
# bind to another copy (a test or tool that compiles wal_format.c in too).
$(BUILD)/obj/src/modules/storage_file/%.o: CFLAGS += -fvisibility=hidden
