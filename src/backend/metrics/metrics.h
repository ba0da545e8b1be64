/*
 * src/backend/metrics/metrics.h: the metrics registry (API in corral/metrics.h).
 *
 * Owns: every metric object, created on the main thread and never freed
 * before exit.  Values are atomics updated with relaxed ordering from any
 * thread; readers get a view that may mix values of neighbouring instants,
 * which is what every metrics system accepts.
 */
#ifndef CORRAL_BACKEND_METRICS_H
#define CORRAL_BACKEND_METRICS_H

#include "corral/metrics.h"

void metrics_free_all(void);
size_t metrics_count(void);

#endif
