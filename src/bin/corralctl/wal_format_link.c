/*
 * src/bin/corralctl/wal_format_link.c: compiles storage_file's format code
 * (src/modules/storage_file/wal_format.c) into corralctl, unchanged.
 *
 * Why a file that includes another .c: the GNUmakefile builds a tool from
 * the objects of the .c files in src/bin/<tool>/ (plus libcorral_common.a), and
 * wal_format.c belongs to the storage_file module, whose objects are built
 * with -fvisibility=hidden for the .so.  Including it here gives corralctl
 * its own object of the very same code (the formats, the CRC32C, the
 * checking segment iterator and the snapshot reader), so `wal-dump`,
 * `snapshot-dump` and `verify` read the files exactly as the server's
 * recovery does, with no second implementation to drift, and no edit to the
 * GNUmakefile or to the module.  wal_format.c needs libc and libzstd only
 * (-lzstd is in the tools' link, see build.mk).
 */
#include "../../modules/storage_file/wal_format.c"
