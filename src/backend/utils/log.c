/*
 * src/backend/utils/log.c: formatting and writing of log lines.
 *
 * One write(2) per line so that lines of concurrent threads (the fsync
 * thread, the snapshot thread) never interleave mid-line.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "corral/log.h"

static CorralLogLevel min_level = CORRAL_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

void corral_log_set_level(CorralLogLevel level) { min_level = level; }
CorralLogLevel corral_log_get_level(void) { return min_level; }

int corral_log_level_from_name(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

void corral_vlog(CorralLogLevel level, const char *subsystem, const char *fmt, va_list ap)
{
    if (level < min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02d %02d:%02d:%02d.%03ld %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
                     subsystem ? subsystem : "-");
    if (n < 0)
        return;
    if ((size_t)n < sizeof line) {
        int m = vsnprintf(line + n, sizeof line - n, fmt, ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n >= sizeof line - 1)
        n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void corral_log(CorralLogLevel level, const char *subsystem, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    corral_vlog(level, subsystem, fmt, ap);
    va_end(ap);
}

void corral_fatal_at(const char *file, int line, const char *subsystem, const char *fmt, ...)
{
    char msg[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    corral_log(CORRAL_LOG_FATAL, subsystem, "%s (%s:%d)", msg, base ? base + 1 : file, line);
    _exit(1);
}
