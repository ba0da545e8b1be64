/*
 * src/backend/server/words.c: the one table of ZooKeeper's four-letter words
 * and AdminServer commands (corral/server.h, corral_zk_word).
 *
 * The core needs it without any module: net.c answers a connection that
 * starts with one of these words (with ZooKeeper's refusal when no module
 * answers it or the allow list leaves it out) instead of reading the four
 * bytes as a frame length.  The fourlw module takes the descriptions from
 * it, admin_http the command names, which need a token and which run while
 * the server is not serving.  Order: the commands as admin_http lists them,
 * then the words neither module answers yet.
 */
#include <string.h>

#include "corral/server.h"

#define W(WORD, FLAGS, DESC, ...) \
    {(uint32_t)sizeof(CorralZkWord), WORD, {__VA_ARGS__}, CORRAL_WORD_FOURLW | (FLAGS), DESC}

static const CorralZkWord words[] = {
    W("ruok", CORRAL_WORD_4LW_ANY_STATE, "tests that the server runs in a non-error state (the word answers imok)",
      "ruok"),
    W("srvr", 0, "server statistics: version, latency, packets, zxid, mode, node count", "server_stats",
      "srvr"),
    W("stat", 0, "srvr with the list of client connections", "stats", "stat"),
    W("conf", 0, "the serving configuration", "configuration", "conf", "config"),
    W("envi", CORRAL_WORD_4LW_ANY_STATE | CORRAL_WORD_ADMIN_ANY_STATE,
      "the server's environment: version, host, OS, user, memory", "environment", "env", "envi"),
    W("mntr", CORRAL_WORD_ADMIN_ANY_STATE, "monitoring values: ZooKeeper's keys, then every registry metric",
      "monitor", "mntr"),
    W("isro", CORRAL_WORD_4LW_ANY_STATE, "whether the server serves read-only clients only (rw or ro)", "is_read_only",
      "isro"),
    W("dirs", 0, "bytes used by the data directory (datadir_size, logdir_size)", "dirs"),
    W("cons", 0, "every client connection with its statistics", "connections", "cons"),
    W("wchs", 0, "summary of the watches", "watch_summary", "wchs"),
    W("wchc", 0, "watched paths by session", "watches", "wchc"),
    W("wchp", 0, "watching sessions by path", "watches_by_path", "wchp"),
    W("dump", 0, "sessions by expiry time and their ephemeral nodes (the word adds the connections)", "dump"),
    W("hash", 0, "the tree digest and the zxid it covers", "hash"),
    W("crst", CORRAL_WORD_CHANGES_STATE, "resets the statistics of every connection", "connection_stat_reset", "crst"),
    W("srst", CORRAL_WORD_CHANGES_STATE, "resets the server statistics (latency, packet counts)", "stat_reset",
      "srst"),
    /* Corral's own admin command (no four-letter word: a word has no
     * token to guard it): SIGHUP over HTTP (reload/reload.h). */
    {(uint32_t)sizeof(CorralZkWord), "rlod", {"reload", "rlod"},
     CORRAL_WORD_CHANGES_STATE | CORRAL_WORD_ADMIN_ANY_STATE,
     "re-reads the configuration file and applies what can change at runtime (Corral's, not ZooKeeper's)"},
    /* ZooKeeper 3.9's AdminServer command, not a four-letter word: the
     * state as a snapshot (it reads every znode: token only). */
    {(uint32_t)sizeof(CorralZkWord), "snap", {"snapshot", "snap"}, CORRAL_WORD_CHANGES_STATE,
     "takes a snapshot and streams it out (?streaming=false: only last_zxid and snapshot_size)"},
    /* ZooKeeper's, answered by no module of Corral (no trace mask, no
     * dynamic configuration, no Java system properties). */
    W("gtmk", 0, "the trace mask", "get_trace_mask", "gtmk"),
    W("stmk", CORRAL_WORD_CHANGES_STATE, "sets the trace mask", "set_trace_mask", "stmk"),
    W("icfg", 0, "the initial configuration", "initial_configuration", "icfg"),
    W("sysp", 0, "the system properties", "system_properties", "sysp"),
};

#define NWORDS (sizeof words / sizeof words[0])

const CorralZkWord *corral_zk_word(size_t i) { return i < NWORDS ? &words[i] : NULL; }

const CorralZkWord *corral_zk_word_find(const char *name, size_t len)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NWORDS; i++)
        if (len == 4 && memcmp(words[i].word, name, 4) == 0)
            return &words[i];
    for (size_t i = 0; i < NWORDS; i++)
        for (size_t k = 0; k < 4 && words[i].names[k]; k++)
            if (strlen(words[i].names[k]) == len && memcmp(words[i].names[k], name, len) == 0)
                return &words[i];
    return NULL;
}
