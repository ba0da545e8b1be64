# src/bin/corralctl/build.mk: included by the GNUmakefile.
#
# import-zookeeper and export-zookeeper read ZooKeeper's .gz snapshots and
# check its Adler32/CRC32 sums (zlib), and read its .snappy snapshots
# (libsnappy's C API).
TOOL_LIBS_corralctl = -lz -lsnappy
