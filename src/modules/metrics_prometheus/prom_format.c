/*
 * src/modules/metrics_prometheus/prom_format.c: Prometheus text exposition
 * (see prom_format.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/alloc.h"
#include "prom_format.h"

void prom_out_init(PromOut *o, CorralStrbuf *out)
{
    memset(o, 0, sizeof *o);
    o->out = out;
}

void prom_out_free(PromOut *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->names[i]);
    free(o->names);
    memset(o, 0, sizeof *o);
}

/* Records a family name; 0 when it was already written. */
static int claim(PromOut *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->names[i], name) == 0)
            return 0;
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->names = corral_xreallocarray(o->names, o->cap, sizeof *o->names);
    }
    o->names[o->n++] = corral_xstrdup(name);
    return 1;
}

void prom_double(CorralStrbuf *sb, double d)
{
    if (isnan(d)) {
        corral_strbuf_puts(sb, "NaN");
        return;
    }
    if (isinf(d)) {
        corral_strbuf_puts(sb, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (d == 0) {
        corral_strbuf_puts(sb, "0");
        return;
    }
    if (d == trunc(d) && fabs(d) < 1e15) {
        corral_strbuf_printf(sb, "%.0f", d);
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    corral_strbuf_puts(sb, buf);
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

void prom_metric_name(char *buf, size_t n, const char *name, CorralMetricType type, double *scale)
{
    static const struct {
        const char *suffix;
        double scale;
    } units[] = {{"_ms", 1e-3}, {"_us", 1e-6}, {"_ns", 1e-9}, {"_s", 1}};
    char tmp[256];
    size_t len = 0;
    *scale = 1;
    for (const char *p = name; *p && len < sizeof tmp - 1; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':' ||
                 (len > 0 && ch >= '0' && ch <= '9');
        if (len == 0 && ch >= '0' && ch <= '9')
            tmp[len++] = '_';
        tmp[len++] = ok || (ch >= '0' && ch <= '9') ? ch : '_';
    }
    if (len == 0)
        tmp[len++] = '_';
    tmp[len] = '\0';
    /* "x_total" counters keep their name; the unit sits before _total */
    int had_total = type == CORRAL_METRIC_COUNTER && ends_with(tmp, len, "_total");
    if (had_total) {
        len -= 6;
        tmp[len] = '\0';
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ends_with(tmp, len, units[i].suffix) && len > strlen(units[i].suffix)) {
            len -= strlen(units[i].suffix);
            tmp[len] = '\0';
            *scale = units[i].scale;
            snprintf(tmp + len, sizeof tmp - len, "_seconds");
            len = strlen(tmp);
            break;
        }
    snprintf(buf, n, "%s%s", tmp, type == CORRAL_METRIC_COUNTER ? "_total" : "");
}

static void help_line(CorralStrbuf *sb, const char *name, const char *help)
{
    corral_strbuf_printf(sb, "# HELP %s ", name);
    if (!help || !*help)
        help = name;   /* ZooKeeper's provider uses the name as help */
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            corral_strbuf_puts(sb, "\\\\");
        else if (*p == '\n')
            corral_strbuf_puts(sb, "\\n");
        else
            corral_strbuf_append(sb, p, 1);
    }
    corral_strbuf_puts(sb, "\n");
}

static const char *type_name(PromType t)
{
    return t == PROM_COUNTER ? "counter" : t == PROM_GAUGE ? "gauge" : "histogram";
}

static void family_head(PromOut *o, const char *name, const char *help, PromType type)
{
    help_line(o->out, name, help);
    corral_strbuf_printf(o->out, "# TYPE %s %s\n", name, type_name(type));
}

int prom_sample(PromOut *o, const char *name, const char *help, PromType type, double value)
{
    if (!claim(o, name))
        return -1;
    family_head(o, name, help, type);
    corral_strbuf_printf(o->out, "%s ", name);
    prom_double(o->out, value);
    corral_strbuf_puts(o->out, "\n");
    return 0;
}

/* An integer value, scaled: exact when the scale is 1. */
static void scaled_int(CorralStrbuf *sb, int64_t v, double scale)
{
    if (scale == 1)
        corral_strbuf_printf(sb, "%" PRId64, v);
    else
        prom_double(sb, (double)v * scale);
}

void prom_registry_metric(PromOut *o, const CorralMetricView *v)
{
    if (!v->name)
        return;
    char name[300];
    double scale;
    prom_metric_name(name, sizeof name, v->name, v->type, &scale);
    /* A renamed unit is said in the help, so the help's "in ms" does not
     * mislead. */
    char help[512];
    if (scale != 1) {
        snprintf(help, sizeof help, "%s (registry metric %s, exported in seconds)",
                 v->help && *v->help ? v->help : v->name, v->name);
    } else {
        snprintf(help, sizeof help, "%s", v->help ? v->help : "");
    }
    switch (v->type) {
    case CORRAL_METRIC_COUNTER:
    case CORRAL_METRIC_GAUGE:
        if (!claim(o, name))
            return;
        family_head(o, name, help, v->type == CORRAL_METRIC_COUNTER ? PROM_COUNTER : PROM_GAUGE);
        corral_strbuf_printf(o->out, "%s ", name);
        scaled_int(o->out, v->value, scale);
        corral_strbuf_puts(o->out, "\n");
        break;
    case CORRAL_METRIC_HISTOGRAM: {
        if (!claim(o, name))
            return;
        family_head(o, name, help, PROM_HISTOGRAM);
        /* The buckets are read one by one while requests go on: _count is
         * their sum, so that it always equals the +Inf bucket. */
        uint64_t cum = 0;
        int nb = v->nbounds < 0 ? 0 : v->nbounds > CORRAL_METRIC_MAX_BUCKETS ? CORRAL_METRIC_MAX_BUCKETS : v->nbounds;
        for (int i = 0; i < nb; i++) {
            cum += v->buckets[i];
            corral_strbuf_printf(o->out, "%s_bucket{le=\"", name);
            prom_double(o->out, v->bounds[i] * scale);
            corral_strbuf_printf(o->out, "\"} %" PRIu64 "\n", cum);
        }
        cum += v->buckets[nb];
        corral_strbuf_printf(o->out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
        corral_strbuf_printf(o->out, "%s_sum ", name);
        prom_double(o->out, v->sum * scale);
        corral_strbuf_printf(o->out, "\n%s_count %" PRIu64 "\n", name, cum);
        break;
    }
    }
}
