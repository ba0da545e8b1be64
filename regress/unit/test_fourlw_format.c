/*
 * regress/unit/test_fourlw_format.c: the pure formatting helpers of the
 * fourlw module (src/modules/fourlw/fourlw_format.c), which reproduce the
 * Java formatting ZooKeeper's four-letter words print.
 *
 * The module is a shared object the test binaries are not linked with, so
 * the helpers' source is compiled in here.  Expected values come from Java
 * semantics: Double.toString, new BigDecimal(x).setScale(4, HALF_UP) (checked
 * with Python's Decimal on the exact binary value), Date.toString in UTC,
 * ExpiryQueue.dump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/modules/fourlw/fourlw_format.c"
#include "tap.h"

static const char *jdbl(double d)
{
    static CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_reset(&sb);
    fourlw_java_double(&sb, d);
    return sb.data;
}

static const char *jnum(double d)
{
    static CorralStrbuf sb = CORRAL_STRBUF_INIT;
    corral_strbuf_reset(&sb);
    fourlw_java_number(&sb, d);
    return sb.data;
}

static void test_java_double(void)
{
    is_str(jdbl(0.0), "0.0", "0.0");
    is_str(jdbl(-0.0), "-0.0", "-0.0");
    is_str(jdbl(1.0), "1.0", "1.0");
    is_str(jdbl(9.0), "9.0", "9.0 (zk_avg_dbinittime in the fixture)");
    is_str(jdbl(1.5), "1.5", "1.5");
    is_str(jdbl(-2.5), "-2.5", "-2.5");
    is_str(jdbl(0.1), "0.1", "0.1");
    is_str(jdbl(0.3333), "0.3333", "0.3333");
    is_str(jdbl(100.0), "100.0", "100.0");
    is_str(jdbl(123.456), "123.456", "123.456");
    is_str(jdbl(1234567.0), "1234567.0", "largest plain range");
    is_str(jdbl(9999999.5), "9999999.5", "just under 1e7");
    is_str(jdbl(1e7), "1.0E7", "1e7 switches to E notation");
    is_str(jdbl(12345678.9), "1.23456789E7", "E notation keeps all digits");
    is_str(jdbl(1e21), "1.0E21", "1e21");
    is_str(jdbl(0.001), "0.001", "0.001 stays plain");
    is_str(jdbl(0.00123), "0.00123", "0.00123");
    is_str(jdbl(0.0001), "1.0E-4", "below 1e-3 is E notation");
    is_str(jdbl(1.2345e-5), "1.2345E-5", "1.2345E-5");
    is_str(jdbl(0.1 + 0.2), "0.30000000000000004", "shortest round-trip digits");
    is_str(jdbl(0.0 / 0.0), "NaN", "NaN");
    is_str(jdbl(1.0 / 0.0), "Infinity", "Infinity");
    is_str(jdbl(-1.0 / 0.0), "-Infinity", "-Infinity");
}

static void test_round4(void)
{
    static const struct {
        double in, want;
    } v[] = {
        {0.33333, 0.3333},     {0.66666, 0.6667},         {2.5, 2.5},
        {0.00005, 0.0001},     {1.00005, 1.0001},         {0.12345, 0.1235},
        {1.23455, 1.2346},     {2.00015, 2.0002},         {0.99995, 1.0},
        {9999.99995, 9999.9999 /* exact value is below the half */},
        {-0.00015, -0.0001},   {1234.56785, 1234.5678},   {0.0, 0.0},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "round4(%.17g)", v[i].in);
        ok(fourlw_round4(v[i].in) == v[i].want, name);
    }
    is_str(jdbl(fourlw_round4(1.0 / 3.0)), "0.3333", "avg latency 1/3 prints as 0.3333");
    is_str(jdbl(fourlw_round4(2.0 / 3.0)), "0.6667", "avg latency 2/3 prints as 0.6667");
}

static void test_java_number(void)
{
    is_str(jnum(0), "0", "0 as a long");
    is_str(jnum(3.0), "3", "integral as a long");
    is_str(jnum(-7.0), "-7", "negative integral");
    is_str(jnum(2.5), "2.5", "fraction as a double");
}

static void test_dates_and_expiry(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    char buf[96];
    fourlw_java_date(buf, sizeof buf, 0);
    is_str(buf, "Thu Jan 01 00:00:00 UTC 1970", "epoch");
    fourlw_java_date(buf, sizeof buf, 1795326160000LL + 999);
    is_str(buf, "Sun Nov 22 05:42:40 UTC 2026", "the fixture's date (milliseconds dropped)");
    fourlw_java_date(buf, sizeof buf, 1704067200000LL + 5 * 86400000LL);
    is_str(buf, "Sat Jan 06 00:00:00 UTC 2024", "day of month padded to two digits");

    is_int(fourlw_round_next(12345, 2000), 14000, "round_next up");
    is_int(fourlw_round_next(14000, 2000), 16000, "round_next on a boundary goes to the next one");
    is_int(fourlw_round_next(777, 0), 777, "round_next without interval");

    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    FourlwCap cap;
    fourlw_cap_init(&cap, &sb, 0);
    fourlw_dump_expiry(&cap, NULL, 0);
    is_str(sb.data, "Sets (0)/(0):\n", "empty expiry queue, as the fixture");
    corral_strbuf_reset(&sb);
    FourlwExpiry e[] = {
        {1795326170000LL, "0x2", 0},
        {1795326160000LL, "0x1", 0},
        {1795326170000LL, "0x3", 0},
    };
    is_int(fourlw_dump_expiry(&cap, e, 3), 1, "an uncapped dump runs to its end");
    is_str(sb.data,
           "Sets (2)/(3):\n"
           "1 expire at Sun Nov 22 05:42:40 UTC 2026:\n"
           "\t0x1\n"
           "2 expire at Sun Nov 22 05:42:50 UTC 2026:\n"
           "\t0x2\n"
           "\t0x3\n",
           "buckets ascending, elements in input order");

    /* With a cap of 70 bytes: the header (14) and the first bucket line
     * (42) fit, its element (5) too; the second bucket line does not. */
    corral_strbuf_reset(&sb);
    fourlw_cap_init(&cap, &sb, 70);
    is_int(fourlw_dump_expiry(&cap, e, 3), 0, "a capped dump says it stopped");
    is_str(sb.data, "Sets (2)/(3):\n1 expire at Sun Nov 22 05:42:40 UTC 2026:\n\t0x1\n",
           "a capped dump keeps whole lines only");
    fourlw_cap_finish_text(&cap, "modules.fourlw.max_answer_bytes");
    is_str(sb.data,
           "Sets (2)/(3):\n1 expire at Sun Nov 22 05:42:40 UTC 2026:\n\t0x1\n"
           "*** truncated: the answer reached modules.fourlw.max_answer_bytes (70 bytes); raise it to see "
           "everything\n",
           "and ends with the truncation line naming the setting");
    corral_strbuf_free(&sb);
}

/* Appends one item and asks the cap whether it stays. */
static int item(FourlwCap *cap, const char *s)
{
    size_t mark = cap->out->len;
    corral_strbuf_puts(cap->out, s);
    return fourlw_cap_keep(cap, mark);
}

/* text written in one go into an answer capped at max, then finished */
static const char *finished(size_t max, const char *text)
{
    static CorralStrbuf sb = CORRAL_STRBUF_INIT;
    FourlwCap cap;
    corral_strbuf_reset(&sb);
    fourlw_cap_init(&cap, &sb, max);
    corral_strbuf_puts(&sb, text);
    fourlw_cap_finish_text(&cap, "S");
    return sb.data;
}

static void test_cap(void)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    FourlwCap cap;
    fourlw_cap_init(&cap, &sb, 10);
    is_int(item(&cap, "abcd\n"), 1, "an item within the cap stays");
    is_int(item(&cap, "efgh\n"), 1, "an item that ends exactly at the cap stays");
    is_int(item(&cap, "i\n"), 0, "an item past the cap is refused");
    is_str(sb.data, "abcd\nefgh\n", "and taken back");
    ok(cap.truncated, "the answer is marked truncated");
    is_int(item(&cap, "\n"), 0, "after a truncation nothing more is kept");
    is_str(sb.data, "abcd\nefgh\n", "not even what was written after it");
    corral_strbuf_puts(&sb, "closing\n");
    fourlw_cap_finish_text(&cap, "S");
    is_str(sb.data, "abcd\nefgh\n*** truncated: the answer reached S (10 bytes); raise it to see everything\n",
           "finish: cut where the walk stopped, then the truncation line");

    /* An answer written in one go: cut after its last complete line.
     * Within the cap, or without one (max 0): untouched. */
    is_str(finished(12, "line one\nline two\nline three\n"),
           "line one\n*** truncated: the answer reached S (12 bytes); raise it to see everything\n",
           "finish: a long answer keeps its complete lines within the cap");
    is_str(finished(100, "short\n"), "short\n", "an answer within the cap is untouched");
    is_str(finished(0, "no cap at all\n"), "no cap at all\n", "max 0: no cap, untouched");
    corral_strbuf_reset(&sb);
    fourlw_cap_init(&cap, &sb, 0);
    corral_strbuf_puts(&sb, "no cap\n");
    is_int(fourlw_cap_keep(&cap, 0), 1, "max 0: every item stays");
    corral_strbuf_free(&sb);
}

static void test_words_and_keys(void)
{
    ok(fourlw_word_valid("ruok"), "ruok is a word");
    ok(fourlw_word_valid("*"), "* is allowed");
    ok(!fourlw_word_valid("RUOK"), "upper case is not");
    ok(!fourlw_word_valid("ruo"), "three letters are not");
    ok(!fourlw_word_valid("ruokk"), "five letters are not");
    ok(!fourlw_word_valid("ru0k"), "digits are not");
    ok(!fourlw_word_valid(""), "empty is not");
    ok(!fourlw_word_valid("**"), "** is not");
    ok(!fourlw_word_valid(NULL), "NULL is not");

    char key[64];
    fourlw_mntr_key(key, sizeof key, "", "packets_received");
    is_str(key, "zk_packets_received", "mntr key gets zk_");
    fourlw_mntr_key(key, sizeof key, "", "zk_packets_received");
    is_str(key, "zk_packets_received", "no double zk_");
    fourlw_mntr_key(key, sizeof key, "avg_", "fsynctime");
    is_str(key, "zk_avg_fsynctime", "histogram key");
    fourlw_mntr_key(key, sizeof key, "cnt_", "zk_fsynctime");
    is_str(key, "zk_cnt_fsynctime", "histogram key from a zk_ name");
}

static void write_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < n; i++)
        fputc('x', f);
    if (f)
        fclose(f);
}

static void test_dir_size(void)
{
    char tmpl[] = "/tmp/fourlw_test_XXXXXX";
    char *dir = mkdtemp(tmpl);
    ok(dir != NULL, "temporary directory");
    if (!dir)
        return;
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/a", dir);
    write_file(p, 10);
    snprintf(p, sizeof p, "%s/b", dir);
    write_file(p, 20);
    snprintf(p, sizeof p, "%s/sub", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sub/c", dir);
    write_file(p, 5);
    snprintf(p, sizeof p, "%s/sub/deeper", dir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/sub/deeper/d", dir);
    write_file(p, 7);
    snprintf(p, sizeof p, "%s/a", dir);
    snprintf(q, sizeof q, "%s/link", dir);
    ok(symlink(p, q) == 0, "symlink made");
    snprintf(q, sizeof q, "%s/dirlink", dir);
    ok(symlink(dir, q) == 0, "symlink to a directory made");

    is_int(fourlw_dir_size(dir), 42, "regular files counted recursively, symlinks not followed");
    is_int(fourlw_dir_size(p), 10, "a file counts itself");
    snprintf(q, sizeof q, "%s/missing", dir);
    is_int(fourlw_dir_size(q), 0, "missing directory is 0");
    is_int(fourlw_dir_size(NULL), 0, "NULL is 0");

    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ok(system(cmd) == 0, "cleaned up");
}

int main(void)
{
    test_java_double();
    test_round4();
    test_java_number();
    test_dates_and_expiry();
    test_words_and_keys();
    test_dir_size();
    test_cap();
    return done_testing();
}
