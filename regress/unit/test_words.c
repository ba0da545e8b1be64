/*
 * regress/unit/test_words.c: the core's table of ZooKeeper's four-letter
 * words and AdminServer commands (src/backend/server/words.c), which net.c,
 * fourlw and admin_http all read: every word of ZooKeeper 3.8's
 * FourLetterCommands is there once, lookups by word and by admin name, the
 * flags the modules act on.
 */
#include <stdio.h>
#include <string.h>

#include "corral/server.h"
#include "tap.h"

static int lowercase4(const char *w) { return w && strlen(w) == 4 && strspn(w, "abcdefghijklmnopqrstuvwxyz") == 4; }

/* The words having flag, in table order, space-separated. */
static const char *words_with(uint32_t flag)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; corral_zk_word(i); i++)
        if (corral_zk_word(i)->flags & flag)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", buf[0] ? " " : "", corral_zk_word(i)->word);
    return buf;
}

static const char *joined(const char *const *words)
{
    static char buf[256];
    buf[0] = '\0';
    for (size_t i = 0; words[i]; i++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? " " : "", words[i]);
    return buf;
}

int main(void)
{
    /* FourLetterCommands.cmd2String of ZooKeeper 3.8, plus hash (3.7+). */
    static const char *const zk38[] = {"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk", "srst",
                                       "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "icfg", "sysp", "hash"};
    size_t n = 0, nwords = 0;
    int well_formed = 1, unique = 1, names_hold_word = 1;
    for (const CorralZkWord *w; (w = corral_zk_word(n)); n++) {
        nwords += (w->flags & CORRAL_WORD_FOURLW) != 0;
        well_formed &= w->size == sizeof(CorralZkWord) && lowercase4(w->word) && w->description && w->description[0];
        for (size_t k = 0; k < n; k++)
            unique &= strcmp(corral_zk_word(k)->word, w->word) != 0;
        int has = 0;
        for (size_t k = 0; k < 4 && w->names[k]; k++)
            has |= strcmp(w->names[k], w->word) == 0;
        names_hold_word &= !w->names[0] || has;
    }
    is_int(nwords, sizeof zk38 / sizeof zk38[0], "one four-letter word per ZooKeeper 3.8 word");
    ok(corral_zk_word_find("reload", 6) && !(corral_zk_word_find("reload", 6)->flags & CORRAL_WORD_FOURLW) &&
           (corral_zk_word_find("reload", 6)->flags & CORRAL_WORD_CHANGES_STATE),
       "reload: an admin command that changes the server, not a four-letter word");
    ok(well_formed, "every entry: its size, four lowercase letters, a description");
    ok(unique, "no word twice");
    ok(names_hold_word, "an entry's admin names include the word itself");
    ok(corral_zk_word(n) == NULL && corral_zk_word((size_t)-1) == NULL, "past the end: NULL");
    for (size_t i = 0; i < sizeof zk38 / sizeof zk38[0]; i++) {
        const CorralZkWord *w = corral_zk_word_find(zk38[i], 4);
        char name[64];
        snprintf(name, sizeof name, "%s: found, a four-letter word", zk38[i]);
        ok(w && strcmp(w->word, zk38[i]) == 0 && (w->flags & CORRAL_WORD_FOURLW), name);
    }

    /* Admin names and aliases (admin.Commands). */
    is_str(corral_zk_word_find("server_stats", 12)->word, "srvr", "server_stats is srvr");
    is_str(corral_zk_word_find("config", 6)->word, "conf", "config is an alias of conf");
    is_str(corral_zk_word_find("env", 3)->word, "envi", "env is an alias of envi");
    is_str(corral_zk_word_find("watches_by_path", 15)->word, "wchp", "watches_by_path is wchp");
    is_str(corral_zk_word_find("stat_reset", 10)->word, "srst", "stat_reset is srst");
    is_str(corral_zk_word_find("connections", 11)->names[0], "connections", "the primary name comes first");
    is_str(corral_zk_word_find("statxyz", 4)->word, "stat", "name and length: the first four bytes");
    ok(corral_zk_word_find("nope", 4) == NULL, "an unknown word: NULL");
    ok(corral_zk_word_find("stats_", 6) == NULL, "a name is matched whole");
    ok(corral_zk_word_find(NULL, 0) == NULL, "NULL: NULL");

    /* The flags fourlw and admin_http act on (ZooKeeper's behaviour). */
    static const char *const changes[] = {"crst", "srst", "rlod", "stmk", NULL};
    static const char *const any4[] = {"ruok", "envi", "isro", NULL};
    static const char *const anyadmin[] = {"envi", "mntr", "rlod", NULL};
    is_str(words_with(CORRAL_WORD_CHANGES_STATE), joined(changes), "crst, srst, reload and stmk change the server");
    is_str(words_with(CORRAL_WORD_4LW_ANY_STATE), joined(any4),
           "ruok, envi and isro answer while not serving (FourLetterCommands)");
    is_str(words_with(CORRAL_WORD_ADMIN_ANY_STATE), joined(anyadmin),
           "the admin envi, mntr and reload run while not serving (serverRequired false)");
    return done_testing();
}
