/*
 * src/bin/corralctl/recovery_plan_link.c: compiles storage_file's recovery
 * planner (src/modules/storage_file/recovery_plan.c) into corralctl,
 * unchanged, the way wal_format_link.c compiles wal_format.c: `verify`
 * prints the very plan the server's recovery (sf_recover) carries out.
 * recovery_plan.c needs libc and wal_format.c only.
 */
#include "../../modules/storage_file/recovery_plan.c"
