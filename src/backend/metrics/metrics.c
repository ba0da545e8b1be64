/*
 * src/backend/metrics/metrics.c: counters, gauges and histograms.
 *
 * Histogram min/max are kept with compare-and-swap loops; sum is kept as
 * an integer count of micro-units so it can be an atomic add.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "utils/alloc.h"

struct CorralMetric {
    char *name;
    char *help;
    CorralMetricType type;
    _Atomic int64_t value;
    CorralGaugeFn fn;
    void *fn_arg;
    int nbounds;
    double bounds[CORRAL_METRIC_MAX_BUCKETS];
    _Atomic uint64_t buckets[CORRAL_METRIC_MAX_BUCKETS + 1];
    _Atomic uint64_t count;
    _Atomic int64_t sum_micro;
    _Atomic int64_t min_micro, max_micro;
};

static CorralMetric **all;
static size_t nall, capall;

CorralMetric *corral_metric_find(const char *name)
{
    for (size_t i = 0; i < nall; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static CorralMetric *create(const char *name, const char *help, CorralMetricType type)
{
    CorralMetric *m = corral_metric_find(name);
    if (m)
        return m->type == type ? m : NULL;
    m = xcalloc(1, sizeof *m);
    m->name = xstrdup(name);
    m->help = xstrdup(help ? help : "");
    m->type = type;
    atomic_store(&m->min_micro, INT64_MAX);
    atomic_store(&m->max_micro, INT64_MIN);
    if (nall == capall) {
        capall = capall ? capall * 2 : 64;
        all = xrealloc(all, capall * sizeof *all);
    }
    all[nall++] = m;
    return m;
}

CorralMetric *corral_metric_counter(const char *name, const char *help) { return create(name, help, CORRAL_METRIC_COUNTER); }
CorralMetric *corral_metric_gauge(const char *name, const char *help) { return create(name, help, CORRAL_METRIC_GAUGE); }

CorralMetric *corral_metric_gauge_fn(const char *name, const char *help, CorralGaugeFn fn, void *arg)
{
    CorralMetric *m = create(name, help, CORRAL_METRIC_GAUGE);
    if (m) {
        m->fn = fn;
        m->fn_arg = arg;
    }
    return m;
}

CorralMetric *corral_metric_histogram(const char *name, const char *help, const double *bounds, int nbounds)
{
    if (nbounds < 0 || nbounds > CORRAL_METRIC_MAX_BUCKETS)
        return NULL;
    for (int i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    CorralMetric *m = create(name, help, CORRAL_METRIC_HISTOGRAM);
    if (m && m->nbounds == 0) {
        memcpy(m->bounds, bounds, (size_t)nbounds * sizeof *bounds);
        m->nbounds = nbounds;
    }
    return m;
}

void corral_metric_inc(CorralMetric *m) { corral_metric_add(m, 1); }

void corral_metric_add(CorralMetric *m, int64_t delta)
{
    if (m)
        atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void corral_metric_set(CorralMetric *m, int64_t value)
{
    if (m)
        atomic_store_explicit(&m->value, value, memory_order_relaxed);
}

void corral_metric_observe(CorralMetric *m, double value)
{
    if (!m || m->type != CORRAL_METRIC_HISTOGRAM || isnan(value))
        return;
    int b = 0;
    while (b < m->nbounds && value > m->bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    int64_t micro = (int64_t)llround(value * 1e6);
    atomic_fetch_add_explicit(&m->sum_micro, micro, memory_order_relaxed);
    int64_t cur = atomic_load_explicit(&m->min_micro, memory_order_relaxed);
    while (micro < cur && !atomic_compare_exchange_weak(&m->min_micro, &cur, micro))
        ;
    cur = atomic_load_explicit(&m->max_micro, memory_order_relaxed);
    while (micro > cur && !atomic_compare_exchange_weak(&m->max_micro, &cur, micro))
        ;
}

void corral_metric_read(const CorralMetric *cm, CorralMetricView *out)
{
    CorralMetric *m = (CorralMetric *)cm;
    memset(out, 0, sizeof *out);
    out->name = m->name;
    out->help = m->help;
    out->type = m->type;
    out->value = m->fn ? m->fn(m->fn_arg) : atomic_load_explicit(&m->value, memory_order_relaxed);
    if (m->type == CORRAL_METRIC_HISTOGRAM) {
        out->nbounds = m->nbounds;
        out->bounds = m->bounds;
        for (int i = 0; i <= m->nbounds; i++)
            out->buckets[i] = atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
        out->count = atomic_load_explicit(&m->count, memory_order_relaxed);
        out->sum = (double)atomic_load_explicit(&m->sum_micro, memory_order_relaxed) / 1e6;
        if (out->count) {
            out->min = (double)atomic_load_explicit(&m->min_micro, memory_order_relaxed) / 1e6;
            out->max = (double)atomic_load_explicit(&m->max_micro, memory_order_relaxed) / 1e6;
        }
    }
}

void corral_metrics_foreach(void (*fn)(void *ctx, const CorralMetricView *view), void *ctx)
{
    CorralMetricView v;
    for (size_t i = 0; i < nall; i++) {
        corral_metric_read(all[i], &v);
        fn(ctx, &v);
    }
}

void corral_metrics_reset(void)
{
    for (size_t i = 0; i < nall; i++) {
        CorralMetric *m = all[i];
        if (m->type == CORRAL_METRIC_GAUGE)
            continue;
        atomic_store(&m->value, 0);
        for (int b = 0; b <= CORRAL_METRIC_MAX_BUCKETS; b++)
            atomic_store(&m->buckets[b], 0);
        atomic_store(&m->count, 0);
        atomic_store(&m->sum_micro, 0);
        atomic_store(&m->min_micro, INT64_MAX);
        atomic_store(&m->max_micro, INT64_MIN);
    }
}

size_t metrics_count(void) { return nall; }

void metrics_free_all(void)
{
    for (size_t i = 0; i < nall; i++) {
        free(all[i]->name);
        free(all[i]->help);
        free(all[i]);
    }
    free(all);
    all = NULL;
    nall = capall = 0;
}
