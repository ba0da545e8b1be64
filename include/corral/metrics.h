/*
 * include/corral/metrics.h: the core's metrics registry, shared by the core
 * and the modules.
 *
 * Metrics are created once (at startup or in a module's init) and live until
 * exit.  Updating one is a relaxed atomic add: no lock, cheap enough for every
 * request, safe from the fsync and snapshot threads.  Creating metrics is
 * only allowed from the main thread.  Names follow ZooKeeper's where
 * ZooKeeper has the metric, so mntr and Prometheus dashboards keep working.
 */
#ifndef CORRAL_METRICS_H
#define CORRAL_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralMetric CorralMetric;

typedef enum CorralMetricType {
    CORRAL_METRIC_COUNTER = 1,   /* only goes up */
    CORRAL_METRIC_GAUGE = 2,     /* set, add, or computed on read by a callback */
    CORRAL_METRIC_HISTOGRAM = 3  /* fixed buckets plus count, sum, min, max */
} CorralMetricType;

typedef int64_t (*CorralGaugeFn)(void *arg);

/* Creating a metric whose name exists returns the existing one when the
 * type matches (so two modules may share a metric), NULL otherwise. */
CorralMetric *corral_metric_counter(const char *name, const char *help);
CorralMetric *corral_metric_gauge(const char *name, const char *help);
CorralMetric *corral_metric_gauge_fn(const char *name, const char *help, CorralGaugeFn fn, void *arg);
/* bounds: ascending upper bounds (the +Inf bucket is implicit); copied.
 * At most CORRAL_METRIC_MAX_BUCKETS. */
#define CORRAL_METRIC_MAX_BUCKETS 24
CorralMetric *corral_metric_histogram(const char *name, const char *help,
                                      const double *bounds, int nbounds);

void corral_metric_inc(CorralMetric *m);                  /* counter/gauge +1 */
void corral_metric_add(CorralMetric *m, int64_t delta);   /* counter/gauge */
void corral_metric_set(CorralMetric *m, int64_t value);   /* gauge */
void corral_metric_observe(CorralMetric *m, double value);/* histogram */

/* A consistent-enough copy of one metric for exporters and mntr. */
typedef struct CorralMetricView {
    const char *name;
    const char *help;
    CorralMetricType type;
    int64_t value;                 /* counter / gauge */
    /* histogram */
    int nbounds;
    const double *bounds;
    uint64_t buckets[CORRAL_METRIC_MAX_BUCKETS + 1];  /* non-cumulative; last = +Inf */
    uint64_t count;
    double sum, min, max;          /* min/max are 0 when count == 0 */
} CorralMetricView;

void corral_metric_read(const CorralMetric *m, CorralMetricView *out);
CorralMetric *corral_metric_find(const char *name);
/* Visits every metric in registration order. */
void corral_metrics_foreach(void (*fn)(void *ctx, const CorralMetricView *view), void *ctx);
/* Resets counters and histograms (srst / crst); gauges are left alone. */
void corral_metrics_reset(void);

#endif
