/*
 * src/modules/fourlw/fourlw_format.c: Java-compatible number and date
 * formatting, expiry-queue dumps and directory sizes for the fourlw module.
 * See fourlw_format.h.  Nothing here touches server state, so the unit test
 * (regress/unit/test_fourlw_format.c) compiles this file on its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fourlw_format.h"

/* ---- Double.toString ------------------------------------------------------ */

void fourlw_java_double(CorralStrbuf *sb, double d)
{
    if (isnan(d)) {
        corral_strbuf_puts(sb, "NaN");
        return;
    }
    if (isinf(d)) {
        corral_strbuf_puts(sb, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        corral_strbuf_puts(sb, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    double a = fabs(d);
    /* The shortest %e form that reads back as the same double. */
    char e[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, a);
        if (strtod(e, NULL) == a)
            break;
    }
    /* e is "D.DDDDe[+-]XX" or "De[+-]XX": split into digits and exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1)
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';

    if (d < 0)
        corral_strbuf_puts(sb, "-");
    if (a >= 1e-3 && a < 1e7) {
        if (exp10 >= 0) {
            /* integer part: digits[0..exp10], padded with zeros */
            for (int i = 0; i <= exp10; i++)
                corral_strbuf_append(sb, (size_t)i < nd ? &digits[i] : "0", 1);
            corral_strbuf_puts(sb, ".");
            if ((size_t)exp10 + 1 < nd)
                corral_strbuf_append(sb, digits + exp10 + 1, nd - (size_t)exp10 - 1);
            else
                corral_strbuf_puts(sb, "0");
        } else {
            corral_strbuf_puts(sb, "0.");
            for (int i = 0; i < -exp10 - 1; i++)
                corral_strbuf_puts(sb, "0");
            corral_strbuf_append(sb, digits, nd);
        }
    } else {
        corral_strbuf_append(sb, digits, 1);
        corral_strbuf_puts(sb, ".");
        if (nd > 1)
            corral_strbuf_append(sb, digits + 1, nd - 1);
        else
            corral_strbuf_puts(sb, "0");
        corral_strbuf_printf(sb, "E%d", exp10);
    }
}

/* ---- BigDecimal.setScale(4, HALF_UP) ------------------------------------ */

double fourlw_round4(double x)
{
    if (!isfinite(x) || x == 0)
        return x;
    /* glibc prints the exact binary value; 80 decimals cover every double
     * whose fifth decimal could matter. */
    char buf[512];
    snprintf(buf, sizeof buf, "%.80f", fabs(x));
    char *dot = strchr(buf, '.');
    if (!dot)
        return x;
    int round_up = dot[5] >= '5';
    /* Keep "INT" + 4 decimals as one digit string, then add one unit. */
    char num[400];
    size_t ni = (size_t)(dot - buf);
    if (ni + 6 >= sizeof num)
        return x;
    memcpy(num, buf, ni);
    memcpy(num + ni, dot + 1, 4);
    size_t len = ni + 4;
    num[len] = '\0';
    if (round_up) {
        size_t i = len;
        while (i > 0) {
            if (num[i - 1] == '9') {
                num[--i] = '0';
                continue;
            }
            num[i - 1]++;
            break;
        }
        if (i == 0) {   /* 9999.9999 -> 10000.0000 */
            memmove(num + 1, num, len + 1);
            num[0] = '1';
            len++;
        }
    }
    char out[420];
    snprintf(out, sizeof out, "%.*s.%s", (int)(len - 4), num, num + len - 4);
    double r = strtod(out, NULL);
    return x < 0 ? -r : r;
}

void fourlw_java_number(CorralStrbuf *sb, double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9.2e18)
        corral_strbuf_printf(sb, "%lld", (long long)v);
    else
        fourlw_java_double(sb, v);
}

/* ---- Date.toString --------------------------------------------------------- */

size_t fourlw_java_date(char *buf, size_t n, int64_t wall_ms)
{
    /* Java divides toward negative infinity for dates before 1970. */
    time_t t = (time_t)(wall_ms >= 0 ? wall_ms / 1000 : -((-wall_ms + 999) / 1000));
    struct tm tm;
    if (!n)
        return 0;
    if (!localtime_r(&t, &tm)) {
        buf[0] = '\0';
        return 0;
    }
    /* Java's Date.toString always uses English names, whatever the locale. */
    static const char *const dow[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char zone[64];
    if (!strftime(zone, sizeof zone, "%Z", &tm) || !zone[0])
        snprintf(zone, sizeof zone, "GMT");
    int w = snprintf(buf, n, "%s %s %02d %02d:%02d:%02d %s %d", dow[tm.tm_wday % 7], mon[tm.tm_mon % 12],
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, zone, tm.tm_year + 1900);
    if (w < 0)
        return 0;
    return (size_t)w < n ? (size_t)w : n - 1;
}

/* ---- ExpiryQueue ---------------------------------------------------------- */

int64_t fourlw_round_next(int64_t t, int64_t interval)
{
    if (interval <= 0)
        return t;
    return (t / interval + 1) * interval;
}

static int expiry_cmp(const void *a, const void *b)
{
    const FourlwExpiry *x = a, *y = b;
    if (x->expire_ms != y->expire_ms)
        return x->expire_ms < y->expire_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int fourlw_dump_expiry(FourlwCap *c, FourlwExpiry *e, size_t n)
{
    CorralStrbuf *sb = c->out;
    for (size_t i = 0; i < n; i++)
        e[i].seq = i;
    if (n > 1)
        qsort(e, n, sizeof *e, expiry_cmp);
    size_t buckets = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || e[i].expire_ms != e[i - 1].expire_ms)
            buckets++;
    size_t mark = sb->len;
    corral_strbuf_printf(sb, "Sets (%zu)/(%zu):\n", buckets, n);
    if (!fourlw_cap_keep(c, mark))
        return 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && e[j].expire_ms == e[i].expire_ms)
            j++;
        char date[96];
        fourlw_java_date(date, sizeof date, e[i].expire_ms);
        mark = sb->len;
        corral_strbuf_printf(sb, "%zu expire at %s:\n", j - i, date);
        if (!fourlw_cap_keep(c, mark))
            return 0;
        for (; i < j; i++) {
            mark = sb->len;
            corral_strbuf_printf(sb, "\t%s\n", e[i].text ? e[i].text : "");
            if (!fourlw_cap_keep(c, mark))
                return 0;
        }
    }
    return 1;
}

/* ---- answers with a size cap ------------------------------------------------ */

void fourlw_cap_init(FourlwCap *c, CorralStrbuf *out, size_t max)
{
    c->out = out;
    c->max = max;
    c->cut = 0;
    c->truncated = 0;
}

static void cap_cut(FourlwCap *c, size_t at)
{
    if (!c->truncated || at < c->cut)
        c->cut = at;
    c->truncated = 1;
    if (c->out->len > at) {
        c->out->len = at;
        c->out->data[at] = '\0';
    }
}

int fourlw_cap_keep(FourlwCap *c, size_t mark)
{
    if (c->truncated) {
        cap_cut(c, mark < c->cut ? mark : c->cut);
        return 0;
    }
    if (!c->max || c->out->len <= c->max)
        return 1;
    cap_cut(c, mark);
    return 0;
}

void fourlw_cap_stop(FourlwCap *c) { cap_cut(c, c->truncated && c->cut < c->out->len ? c->cut : c->out->len); }

void fourlw_cap_finish_text(FourlwCap *c, const char *setting)
{
    CorralStrbuf *sb = c->out;
    if (!c->truncated && c->max && sb->len > c->max) {
        /* Not written item by item: keep the complete lines within the cap. */
        size_t at = c->max;
        while (at > 0 && sb->data[at - 1] != '\n')
            at--;
        cap_cut(c, at);
    }
    if (!c->truncated)
        return;
    cap_cut(c, c->cut);
    corral_strbuf_printf(sb, "*** truncated: the answer reached %s (%zu bytes); raise it to see everything\n",
                         setting, c->max);
}

/* ---- allow list, directories, mntr keys ----------------------------------- */

int fourlw_word_valid(const char *w)
{
    if (!w)
        return 0;
    if (strcmp(w, "*") == 0)
        return 1;
    if (strlen(w) != 4)
        return 0;
    for (int i = 0; i < 4; i++)
        if (w[i] < 'a' || w[i] > 'z')
            return 0;
    return 1;
}

static int64_t dir_size_at(int dfd, int depth)
{
    /* dfd is owned here: closedir closes it. */
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return 0;
    }
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode)) {
            total += (int64_t)st.st_size;
        } else if (S_ISDIR(st.st_mode) && depth < 64) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                total += dir_size_at(sub, depth + 1);
        }
    }
    closedir(d);
    return total;
}

int64_t fourlw_dir_size(const char *path)
{
    struct stat st;
    if (!path || !path[0] || stat(path, &st) < 0)
        return 0;
    if (S_ISREG(st.st_mode))
        return (int64_t)st.st_size;
    if (!S_ISDIR(st.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    return dir_size_at(fd, 0);
}

void fourlw_mntr_key(char *buf, size_t n, const char *prefix, const char *name)
{
    if (!n)
        return;
    if (strncmp(name, "zk_", 3) == 0)
        name += 3;
    snprintf(buf, n, "zk_%s%s", prefix ? prefix : "", name);
}
