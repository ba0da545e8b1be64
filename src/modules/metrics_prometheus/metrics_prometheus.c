/*
 * src/modules/metrics_prometheus/metrics_prometheus.c: the metrics registry
 * in Prometheus' text exposition format (version 0.0.4), on a listener of
 * its own, as ZooKeeper's PrometheusMetricsProvider does:
 *
 *     modules:
 *       metrics_prometheus: { listen: "127.0.0.1:7000", path: "/metrics" }
 *
 * `GET PATH` (or HEAD) answers the exposition; another path is 404, another
 * method 405.  What is exported (doc/observability.md has the details):
 *
 *   - ZooKeeper's ServerStats gauges (znode_count, avg_latency,
 *     packets_received, uptime, ...) under ZooKeeper's names, from
 *     corral_server_info, so that they equal what mntr and srvr show and
 *     ZooKeeper dashboards keep working; a registry metric of the same
 *     name lends its help text and is not written twice;
 *   - then every other metric of the registry (corral_metrics_foreach),
 *     so that metrics a module or the core adds later appear without a
 *     change here:
 *       counter X   -> X_total (counter)        ZooKeeper >= 3.9's naming
 *       gauge X     -> X (gauge)
 *       histogram X -> X_bucket{le=...}, X_sum, X_count (histogram)
 *     A name ending in a time unit abbreviation (_ms, _us, _ns, _s) is
 *     exported in seconds, as Prometheus wants base units:
 *     request_latency_ms -> request_latency_seconds, values / 1000;
 *   - the process_* metrics every Prometheus client library exports.
 *
 * Scrapes run on the event loop (httpd.c); building the answer reads
 * atomics and /proc/self, nothing that blocks.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "corral/module.h"
#include "httpd.h"
#include "prom_format.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

CORRAL_MODULE_MAGIC(.name = "metrics_prometheus", .version = CORRAL_VERSION);

#define LOG_SUB "metrics_prometheus"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct PromConf {
    CorralAddr listen;
    const char *path;
    int https;              /* TLS with the server's tls: settings */
} PromConf;

static struct {
    CorralModule *self;
    PromConf conf;
    Httpd httpd;
    double start_time;          /* wall clock seconds, process start */
    int64_t scrapes;
} prom;

/* ---- the exposition ------------------------------------------------------- */

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* process_start_time_seconds from /proc/self/stat (field 22, in clock
 * ticks since boot) and the boot time; now when unknown. */
static double process_start_time(void)
{
    double now = wall_now();
    FILE *f = fopen("/proc/self/stat", "re");
    if (!f)
        return now;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');   /* the command name may hold spaces */
    if (!p)
        return now;
    unsigned long long start = 0;
    /* after ")": state(3) ppid(4) ... starttime(22): skip 19 fields */
    p++;
    for (int field = 3; field < 22 && p; field++) {
        while (*p == ' ')
            p++;
        p = strchr(p, ' ');
    }
    if (!p || sscanf(p, " %llu", &start) != 1)
        return now;
    f = fopen("/proc/stat", "re");
    if (!f)
        return now;
    char line[256];
    long long btime = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &btime) == 1)
            break;
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (btime < 0 || hz <= 0)
        return now;
    return (double)btime + (double)start / (double)hz;
}

static void process_metrics(PromOut *o, const CorralServerInfo *info)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        prom_sample(o, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                    PROM_COUNTER, cpu);
    }
    if (info->open_fds >= 0)
        prom_sample(o, "process_open_fds", "Number of open file descriptors.", PROM_GAUGE, (double)info->open_fds);
    if (info->max_fds >= 0)
        prom_sample(o, "process_max_fds", "Maximum number of open file descriptors.", PROM_GAUGE,
                    (double)info->max_fds);
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        unsigned long long size = 0, rss = 0;
        if (fscanf(f, "%llu %llu", &size, &rss) == 2) {
            double page = (double)sysconf(_SC_PAGESIZE);
            prom_sample(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.", PROM_GAUGE,
                        (double)size * page);
            prom_sample(o, "process_resident_memory_bytes", "Resident memory size in bytes.", PROM_GAUGE,
                        (double)rss * page);
        }
        fclose(f);
    }
    prom_sample(o, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                PROM_GAUGE, prom.start_time);
}

/* ZooKeeper's ServerStats gauges (ZooKeeperServer.registerMetrics), from
 * the server view, so that they always equal what mntr and srvr say. */
static void server_stats_gauges(PromOut *o, const CorralServerInfo *info)
{
    const struct {
        const char *name, *help;
        double value;
        int present;
    } g[] = {
        {"avg_latency", "Average request latency since the last srst, in ms (ZooKeeper ServerStats)",
         info->latency_avg_ms, 1},
        {"max_latency", "Maximum request latency since the last srst, in ms (ZooKeeper ServerStats)",
         (double)info->latency_max_ms, 1},
        {"min_latency", "Minimum request latency since the last srst, in ms (ZooKeeper ServerStats)",
         (double)info->latency_min_ms, 1},
        {"packets_received", "Packets received since the last srst", (double)info->packets_received, 1},
        {"packets_sent", "Packets sent since the last srst", (double)info->packets_sent, 1},
        {"num_alive_connections", "Open client connections", (double)info->connections, 1},
        {"outstanding_requests", "Requests waiting to be answered", (double)info->outstanding_requests, 1},
        {"uptime", "Time since the server started, in ms", (double)info->uptime_ms, 1},
        {"znode_count", "Number of znodes", (double)info->node_count, 1},
        {"watch_count", "Number of watches", (double)info->watch_count, 1},
        {"ephemerals_count", "Number of ephemeral znodes", (double)info->ephemerals_count, 1},
        {"approximate_data_size", "Sum of paths and data of all znodes, in bytes",
         (double)info->approximate_data_size, 1},
        {"global_sessions", "Live sessions", (double)info->session_count, 1},
        {"local_sessions", "Local sessions (Corral has global sessions only)", 0, 1},
        {"open_file_descriptor_count", "Open file descriptors", (double)info->open_fds, info->open_fds >= 0},
        {"max_file_descriptor_count", "File descriptor limit", (double)info->max_fds, info->max_fds >= 0},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        if (!g[i].present)
            continue;
        /* The value of the server view, as mntr and srvr show it; the
         * registry's help when it has a metric of that name. */
        const char *help = g[i].help;
        CorralMetric *m = corral_metric_find(g[i].name);
        if (m) {
            CorralMetricView v;
            corral_metric_read(m, &v);
            if (v.help && v.help[0])
                help = v.help;
        }
        prom_sample(o, g[i].name, help, PROM_GAUGE, g[i].value);
    }
}

static void registry_metric(void *ctx, const CorralMetricView *v)
{
    prom_registry_metric(ctx, v);
}

static void build_exposition(CorralStrbuf *out)
{
    CorralServerInfo info;
    memset(&info, 0, sizeof info);
    info.size = (uint32_t)sizeof info;
    info.open_fds = info.max_fds = -1;
    corral_server_info(&info);

    PromOut o;
    prom_out_init(&o, out);
    /* ZooKeeper's gauges first, from the same view as mntr and srvr; then
     * the registry (a family already written is skipped); then process_*. */
    server_stats_gauges(&o, &info);
    corral_metrics_foreach(registry_metric, &o);
    process_metrics(&o, &info);
    prom_out_free(&o);
}

/* ---- HTTP ----------------------------------------------------------------- */

static void handle(void *arg, const HttpdRequest *req, HttpdResponse *resp)
{
    if (strcmp(req->path, prom.conf.path) != 0) {
        resp->status = 404;
        corral_strbuf_printf(&resp->body, "404 Not Found: the metrics are at %s\n", prom.conf.path);
        return;
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp->status = 405;
        corral_strbuf_puts(&resp->headers, "Allow: GET, HEAD\r\n");
        corral_strbuf_printf(&resp->body, "405 Method Not Allowed: %s serves GET and HEAD\n", prom.conf.path);
        return;
    }
    resp->content_type = CONTENT_TYPE;
    build_exposition(&resp->body);
    prom.scrapes++;
}

static int exporter_start(void *arg)
{
    char err[256];
    httpd_init(&prom.httpd, LOG_SUB);
    snprintf(prom.httpd.host, sizeof prom.httpd.host, "%s", prom.conf.listen.host);
    prom.httpd.port = prom.conf.listen.port;
    prom.httpd.https = prom.conf.https;
    prom.httpd.handler = handle;
    prom.start_time = process_start_time();
    if (httpd_start(&prom.httpd, err, sizeof err) < 0)
        return corral_module_fail(prom.self, "%s", err);
    corral_log(CORRAL_LOG_INFO, LOG_SUB, "serving Prometheus metrics on http://%s%s", prom.httpd.bound,
               prom.conf.path);
    return 0;
}

static void exporter_stop(void *arg)
{
    httpd_stop(&prom.httpd);
}

static const CorralMetricsExporter exporter = {
    CORRAL_ABI_VERSION, (uint32_t)sizeof(CorralMetricsExporter), "prometheus", exporter_start, exporter_stop,
    NULL, {NULL},
};

static const CorralConfigKey conf_keys[] = {
    {"listen", CORRAL_KEY_ADDR, offsetof(PromConf, listen), 0, 0, 0},
    {"path", CORRAL_KEY_STRING, offsetof(PromConf, path), 0, 0, 0},
    {"https", CORRAL_KEY_BOOL, offsetof(PromConf, https), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END,
};

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    memset(&prom, 0, sizeof prom);
    prom.self = self;
    prom.httpd.fd = -1;
    snprintf(prom.conf.listen.host, sizeof prom.conf.listen.host, "127.0.0.1");
    prom.conf.listen.port = 7000;   /* ZooKeeper's metricsProvider.httpPort */
    prom.conf.path = "/metrics";
    if (corral_config_type(config) != CORRAL_CFG_NULL && corral_config_type(config) != CORRAL_CFG_MAP)
        return corral_config_error(config, "expected a map of settings (listen, path), not %s",
                                   corral_config_type_name(config));
    if (corral_config_apply(config, conf_keys, &prom.conf) < 0)
        return -1;
    const char *p = prom.conf.path;
    int bad = p[0] != '/';
    for (const char *q = p; *q && !bad; q++)
        bad = (unsigned char)*q <= ' ' || *q == '?' || *q == '#' || (unsigned char)*q >= 0x7f;
    if (bad)
        return corral_config_error(corral_config_get(config, "path"),
                                   "\"path\" must be an absolute URL path such as \"/metrics\", not \"%s\"", p);
    if (prom.conf.https && !corral_tls_available())
        return corral_config_error(corral_config_get(config, "https"),
                                   "\"https: true\" needs the top-level \"tls\" map (cert_file, key_file)");
    return corral_register_metrics_exporter(self, &exporter);
}
