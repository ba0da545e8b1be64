/*
 * src/bin/corralctl/corralctl.h: what the parts of corralctl share.
 *
 * corralctl is a table of subcommands (corralctl.c); each gets the global
 * options and its own argv.  A command is added by writing its run function
 * in a file of this directory and one line in the table.
 *
 * Exit codes, for every command: 0 success, 1 failure (the server could not
 * be reached, timed out, answered badly; a file could not be read), 2 bad
 * usage.
 */
#ifndef CORRALCTL_H
#define CORRALCTL_H

#include <stddef.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

#define CTL_DEFAULT_SERVER "127.0.0.1:2181"
#define CTL_DEFAULT_PORT 2181
#define CTL_DEFAULT_TIMEOUT_MS 5000

typedef struct CtlOptions {
    const char *server;       /* HOST:PORT, -s/--server */
    int timeout_ms;           /* --timeout */
} CtlOptions;

typedef struct CtlCommand {
    const char *name;
    const char *args;         /* synopsis of its arguments, for usage */
    const char *summary;      /* one line, for usage */
    /* argv[0] is the command name; options may still be in argv (the
     * global ones are accepted after the command too, see ctl_parse_options). */
    int (*run)(CtlOptions *opts, int argc, char **argv);
} CtlCommand;

/* Parses the global options (-s, --timeout, -h, -V) found in argv from
 * index 1.  permute = 0 stops at the first non-option (for the options before
 * the command), 1 lets options follow positional arguments.  Returns the
 * index of the first positional argument, or -1 after printing a usage error;
 * sets *help when -h was given. */
int ctl_parse_options(CtlOptions *o, int argc, char **argv, int permute, int *help);

/* Prints "corralctl: MESSAGE" and the usage hint to stderr; returns 2. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "corralctl: MESSAGE" to stderr; returns 1. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- talking to a server (net.c) ---------------------------------------- */

typedef struct CtlServer {
    char host[256];
    char port[8];
    char label[280];          /* "127.0.0.1:2181", "[::1]:2181" for messages */
} CtlServer;

/* Splits "HOST:PORT", "[V6]:PORT", "V6", "HOST" (port 2181).  Returns 0, or -1
 * with a message in err. */
int ctl_parse_server(const char *text, CtlServer *out, char *err, size_t errlen);

/* Connects before deadline_ms (ctl_now_ms() time), trying every address of
 * the host.  Returns a non-blocking socket, or -1 after printing the error
 * (timeout_ms is only for the message). */
int ctl_connect(const CtlServer *s, long long deadline_ms, int timeout_ms);

/* Waits for events on fd until deadline_ms: 1 ready, 0 timed out, -1 error. */
int ctl_wait(int fd, short events, long long deadline_ms);

long long ctl_now_ms(void);   /* monotonic */

/* ---- commands ---------------------------------------------------------- */

int ctl_cmd_word(CtlOptions *opts, int argc, char **argv);
int ctl_is_word(const char *s);

/* storage_file's files, read without a server (cmd_wal_dump.c, cmd_snapshot_dump.c, cmd_verify.c; shared code in storage_tool.c) */
int ctl_cmd_wal_dump(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_snapshot_dump(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_verify(CtlOptions *opts, int argc, char **argv);

/* reconfig.c: through corral-cli. */
int ctl_cmd_reconfig(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_config(CtlOptions *opts, int argc, char **argv);

#endif
