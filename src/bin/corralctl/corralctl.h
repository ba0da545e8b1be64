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
/* snprintf that may cut: for messages, bounded on purpose (GCC's
 * -Wformat-truncation cannot see the lengths of the paths in them). */
void ctl_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
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

/* ---- the admin endpoint over HTTP (http.c) ------------------------------ */

typedef struct CtlHttp {
    int status;
    char *raw;                /* the whole answer, NUL terminated */
    const char *head;         /* the status line and headers */
    const char *body;
    size_t body_len;
} CtlHttp;

/* GET target (with Authorization: Bearer token when given), reading until
 * the server closes.  0, or -1 after printing the error. */
int ctl_http_get(const CtlServer *s, const char *target, const char *token, int timeout_ms, CtlHttp *out);
/* A header's value (case-insensitive name), or NULL; valid until the next call. */
const char *ctl_http_header(const CtlHttp *h, const char *name);
void ctl_http_free(CtlHttp *h);
/* The admin token from `file` (--token-file) or $CORRAL_ADMIN_TOKEN; NULL
 * when none (*err set when the file cannot be read).  The caller frees it. */
char *ctl_admin_token(const char *file, int *err);

/* A growing, NUL-terminated text buffer (free data when done). */
typedef struct CtlBuf {
    char *data;
    size_t len, cap;
} CtlBuf;

/* Sends WORD and collects the answer until the server closes (status.c).
 * 0, or -1 with the reason in err. */
int ctl_fetch_word(const CtlServer *srv, const char *word, long long deadline, int timeout_ms, CtlBuf *out,
                   char *err, size_t errlen);

/* ---- commands ---------------------------------------------------------- */

int ctl_cmd_word(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_compare(CtlOptions *opts, int argc, char **argv);   /* compare.c */
int ctl_is_word(const char *s);

/* storage_file's files, read without a server (cmd_wal_dump.c, cmd_snapshot_dump.c, cmd_verify.c; shared code in storage_tool.c) */
int ctl_cmd_wal_dump(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_snapshot_dump(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_verify(CtlOptions *opts, int argc, char **argv);
/* Backup, restore, salvage (issue #13): cmd_salvage.c */
int ctl_cmd_salvage(CtlOptions *opts, int argc, char **argv);
/* cmd_snapshot.c: snapshot (admin endpoint) */
int ctl_cmd_snapshot(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_backup(CtlOptions *opts, int argc, char **argv);     /* cmd_backup.c */
int ctl_cmd_restore(CtlOptions *opts, int argc, char **argv);    /* cmd_restore.c */
int ctl_cmd_dump(CtlOptions *opts, int argc, char **argv);       /* cmd_dump.c */
int ctl_cmd_load(CtlOptions *opts, int argc, char **argv);

/* Migration from and to Apache ZooKeeper (doc/migration.md) */
int ctl_cmd_import_zookeeper(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_export_zookeeper(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_convert_config(CtlOptions *opts, int argc, char **argv);

/* reconfig.c: through corral-cli. */
int ctl_cmd_reconfig(CtlOptions *opts, int argc, char **argv);
int ctl_cmd_config(CtlOptions *opts, int argc, char **argv);

#endif
