/*
 * src/modules/metrics_prometheus/prom_format.h: writing metric families in
 * Prometheus' text exposition format 0.0.4 (pure functions, no server
 * state).
 *
 *   # HELP name text        (backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name value
 *
 * Each family is written once: a second family of the same name is
 * skipped, so the registry, ZooKeeper's ServerStats gauges and the process
 * metrics can overlap without making the exposition invalid.
 */
#ifndef CORRAL_PROM_FORMAT_H
#define CORRAL_PROM_FORMAT_H

#include <stddef.h>

#include "corral/metrics.h"
#include "corral/strbuf.h"

#if defined(__GNUC__)
#define PROM_HIDDEN __attribute__((visibility("hidden")))
#else
#define PROM_HIDDEN
#endif

typedef enum PromType { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } PromType;

typedef struct PromOut {
    CorralStrbuf *out;
    char **names;               /* families written so far */
    size_t n, cap;
} PromOut;

PROM_HIDDEN void prom_out_init(PromOut *o, CorralStrbuf *out);
PROM_HIDDEN void prom_out_free(PromOut *o);

/* A float as Prometheus reads it: "+Inf", "-Inf", "NaN", otherwise the
 * shortest decimal that reads back as the same double ("0.005", "1e+06"). */
PROM_HIDDEN void prom_double(CorralStrbuf *sb, double d);

/* The exported name of a registry metric: invalid characters become '_';
 * a trailing time-unit abbreviation (_ms, _us, _ns, _s) becomes _seconds
 * and *scale the factor to seconds (1 otherwise); counters get _total
 * unless they already end in it.  Writes at most n bytes (NUL included). */
PROM_HIDDEN void prom_metric_name(char *buf, size_t n, const char *name, CorralMetricType type, double *scale);

/* One family with one sample and no labels.  Returns 0, or -1 when a family
 * of that name was already written (nothing is written then). */
PROM_HIDDEN int prom_sample(PromOut *o, const char *name, const char *help, PromType type, double value);

/* A registry metric (counter, gauge or histogram), renamed by
 * prom_metric_name.  Histograms get cumulative _bucket{le} samples ending
 * in le="+Inf", then _sum and _count (= the +Inf bucket). */
PROM_HIDDEN void prom_registry_metric(PromOut *o, const CorralMetricView *v);

#endif
