/*
 * src/backend/config/builtin.c: the configuration corrald runs on when it is
 * started without -c: a standalone server on 127.0.0.1:2181 with the
 * four-letter words ZooKeeper operators use most, minus those that show
 * session ids (cons, dump, wchc, wchp list every session with what it
 * watches or owns, to anyone who reaches the port); ZooKeeper's default
 * allow list (srvr alone) leaves them out too.  The digest and ip auth
 * schemes, which ZooKeeper always has, would be loaded without being named
 * (module/module.c, default_modules); they are named to be seen.
 */
#include "config/config.h"

const char corral_builtin_config[] =
    "server:\n"
    "  data_dir: ./data\n"
    "  client_listen: 127.0.0.1:2181\n"
    "  tick_ms: 2000\n"
    "  max_client_connections: 60\n"
    "  max_request_bytes: 1048575\n"
    "modules:\n"
    "  fourlw: { allow: [ruok, srvr, stat, mntr, conf, envi, isro, dirs, wchs, hash] }\n"
    "  auth_digest: {}\n"
    "  auth_ip: {}\n";
