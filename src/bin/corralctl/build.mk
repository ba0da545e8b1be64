# src/bin/corralctl/build.mk: included by the GNUmakefile.
#
# wal-dump, snapshot-dump and verify (cmd_wal_dump.c, cmd_snapshot_dump.c,
# cmd_verify.c, storage_tool.c) compile in storage_file's wal_format.c and
# recovery_plan.c (through wal_format_link.c and recovery_plan_link.c);
# wal_format.c calls libzstd.  LIBS already has -lzstd for every tool; it is
# named here too so that corralctl keeps linking if that changes.
TOOL_LIBS_corralctl = -lzstd
