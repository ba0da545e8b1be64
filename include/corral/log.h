/*
 * include/corral/log.h: the one logging entry point of corrald and its modules.
 *
 * Lines go to stderr as "TIMESTAMP LEVEL [subsystem] message".  corral_log
 * never fails and never allocates; messages longer than 2 KiB are cut.
 */
#ifndef CORRAL_LOG_H
#define CORRAL_LOG_H

#include <stdarg.h>

typedef enum CorralLogLevel {
    CORRAL_LOG_DEBUG = 0,
    CORRAL_LOG_INFO = 1,
    CORRAL_LOG_WARN = 2,
    CORRAL_LOG_ERROR = 3,
    CORRAL_LOG_FATAL = 4
} CorralLogLevel;

void corral_log(CorralLogLevel level, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void corral_vlog(CorralLogLevel level, const char *subsystem, const char *fmt, va_list ap);

/* Messages below this level are dropped (default INFO). */
void corral_log_set_level(CorralLogLevel level);
CorralLogLevel corral_log_get_level(void);
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int corral_log_level_from_name(const char *name);

/* For states the process must not go on from (the tree and the log
 * disagree, a failed fsync, an epoch that cannot be stored): logs a FATAL
 * line ending with the source file and line, and exits at once with status
 * 1 (_exit: no atexit handlers, no buffered output), so that nothing after
 * it is acknowledged.  Never returns. */
#define corral_fatal(sub, ...) corral_fatal_at(__FILE__, __LINE__, sub, __VA_ARGS__)
_Noreturn void corral_fatal_at(const char *file, int line, const char *subsystem, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define corral_debug(sub, ...) corral_log(CORRAL_LOG_DEBUG, sub, __VA_ARGS__)
#define corral_info(sub, ...)  corral_log(CORRAL_LOG_INFO, sub, __VA_ARGS__)
#define corral_warn(sub, ...)  corral_log(CORRAL_LOG_WARN, sub, __VA_ARGS__)
#define corral_error(sub, ...) corral_log(CORRAL_LOG_ERROR, sub, __VA_ARGS__)

#endif
