/*
 * src/bin/corral-cli/cli.h: corral-cli, a ZooKeeper command line client that
 * behaves like zkCli.sh (ZooKeeper 3.8) and speaks the client protocol
 * itself, with the project's wire codec.
 *
 * Layout:
 *   main.c     arguments, input loop (libedit when interactive), tokenizer,
 *              history, dispatch of the shell built-ins.
 *   cmds.c     the ZooKeeper commands (ls, get, create, multi, ...).
 *   conn.c     the connection: handshake, framing, request/reply by xid,
 *              pings, watch events and the local watch registry (so events
 *              are shown exactly when the Java client would show them).
 *   util.c     output helpers, StatPrinter, Java-compatible path checks,
 *              string vectors.
 *
 * Single threaded: a command sends one request and waits for its reply;
 * frames read meanwhile (watch events, pings, auth replies) are handled in
 * wire order, so events that arrive before a reply are printed before the
 * command's output.
 */
#ifndef CORRAL_CLI_H
#define CORRAL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/wire_connect.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.0.0"
#endif

/* ---- string vectors (util.c) ---------------------------------------------- */
typedef struct StrVec {
    char **v;
    int n, cap;
} StrVec;

void sv_push(StrVec *s, const char *str);             /* copies */
void sv_push_n(StrVec *s, const char *str, size_t n); /* copies n bytes + NUL */
int sv_find(const StrVec *s, const char *str);        /* index or -1 */
bool sv_remove(StrVec *s, const char *str);           /* true if it was there */
void sv_clear(StrVec *s);
void sv_free(StrVec *s);
void sv_sort(StrVec *s);                              /* strcmp order */

/* ---- output (util.c) ------------------------------------------------------ */
/*
 * stdout is fully buffered and flushed before anything is written to stderr
 * and after every command, so the two interleave in program order when they
 * share a pipe.  zkCli writes some results to stderr ("Created /a", every
 * error message); corral-cli does the same.
 */
extern bool g_mask;            /* --no-times: mask times and session ids */

void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_write(const void *p, size_t n);
void err_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_flush(void);
/* Bytes as Java's new String(bytes, UTF_8) would print them: malformed
 * sequences become U+FFFD. */
void out_java_bytes(const char *p, size_t n);
/* StatPrinter.print. */
void print_stat(const Stat *st);
/* Date.toString() of a millisecond timestamp, in the local time zone. */
void format_java_date(int64_t ms, char *buf, size_t len);
/* Id.toString() (jute ToStringOutputArchive): "'scheme,'id\n". */
void format_jute_id(CorralStrbuf *sb, const Id *id);
/* ZKUtil.getPermString order: c d r w a. */
void format_perms(int perms, char *buf);

/*
 * PathUtils.validatePath(path, isSequential) with Java's exact message, or
 * NULL if the path is valid.  The result is malloc'd.
 */
char *java_path_error(const char *path, bool sequential);

/* ---- connection (conn.c) ---------------------------------------------------- */
/* ZooKeeper.States, as the prompt shows them. */
typedef enum ZkState {
    ZS_NOT_CONNECTED,
    ZS_CONNECTING,
    ZS_CONNECTED,
    ZS_CONNECTEDREADONLY,
    ZS_CLOSED,
    ZS_AUTH_FAILED
} ZkState;

const char *zk_state_str(ZkState s);
static inline bool zk_state_alive(ZkState s) { return s != ZS_CLOSED && s != ZS_AUTH_FAILED; }

/* Local watch registry (ZKWatchManager), all for the one default watcher. */
enum { W_DATA, W_EXIST, W_CHILD, W_PERSISTENT, W_PERSISTENT_RECURSIVE, W_NKINDS };

typedef struct AuthInfo {
    char *scheme;
    char *auth;           /* NULL: null buffer */
    size_t auth_len;
} AuthInfo;

typedef struct Zk {
    char *connect_string;     /* as given, with chroot */
    StrVec hosts;             /* "host:port" entries */
    char *chroot;             /* NULL or "/x" */
    int host_next;            /* next host to try */
    int timeout_ms;           /* requested session timeout */
    int negotiated_ms;        /* from ConnectResponse */
    bool read_only;           /* -r: allow read-only servers */
    bool wait_for_connection; /* -waitforconnection */

    int fd;
    ZkState state;
    int64_t session_id;
    uint8_t passwd[16];
    int32_t passwd_len;
    int64_t last_zxid;
    int32_t xid;
    bool had_session;

    uint8_t *in;              /* unparsed input */
    size_t in_len, in_cap;
    int64_t last_send_ms, last_recv_ms;

    WBuf req;                 /* the request being built */
    size_t req_off;
    int32_t req_xid;
    Arena tmp;                /* per-command scratch (paths), reset by main */

    StrVec watches[W_NKINDS];
    bool print_watches;
    int event_state;          /* EventThread.sessionState: last event's state */
    int auth_rc;              /* result of the last auth packet */
    AuthInfo *auths;
    int nauths;
} Zk;

/* A reply: the header, and a reader over the body (valid until freed). */
typedef struct ZkReply {
    ReplyHeader hdr;
    uint8_t *frame;
    size_t len;
    RBuf body;
    Arena arena;
} ZkReply;

void zk_init(Zk *zk, const char *connect_string, int timeout_ms, bool read_only);
void zk_free(Zk *zk);
/*
 * Opens a connection (new session, or the existing one after a connection
 * loss).  Prints the SyncConnected / Expired event if print_event.  0 on
 * success, -1 on failure (a reason on stderr if verbose).
 */
int zk_connect(Zk *zk, bool print_event, bool verbose);
/* closeSession, then state CLOSED; prints the Closed event. */
void zk_close(Zk *zk);
/* Server path for a client path (chroot prepended), in zk->tmp. */
const char *zk_server_path(Zk *zk, const char *client_path);
/* Client path for a server path (chroot stripped), in zk->tmp. */
const char *zk_client_path(Zk *zk, const char *server_path, size_t len);

/*
 * Requests: w = zk_req_begin(zk, op) gives a buffer with the frame and
 * header started; write the record; rc = zk_req_call(zk, &rep).  rc is the
 * reply's error code, or ZERR_CONNECTIONLOSS / ZERR_SESSIONEXPIRED /
 * ZERR_AUTHFAILED when the request could not be answered.  On any rc the
 * reply must be released with zk_reply_free (it is empty when no frame came).
 */
WBuf *zk_req_begin(Zk *zk, int op);
int zk_req_call(Zk *zk, ZkReply *rep);
void zk_reply_free(ZkReply *rep);

/* Sends an AuthPacket and waits for its answer; on AUTHFAILED the state
 * becomes AUTH_FAILED and the event is printed. */
int zk_add_auth(Zk *zk, const char *scheme, const char *auth, size_t auth_len);

/* Reads whatever is already on the socket (no waiting) and handles it. */
void zk_poll(Zk *zk);
/* Services the connection while idle: pings when due, reads events.
 * Returns the poll timeout (ms) to use before the next call, -1 = none. */
int zk_idle_timeout(Zk *zk);
void zk_idle(Zk *zk);

/* Watch registry. */
void zk_watch_add(Zk *zk, int kind, const char *client_path);
/* Prints "WATCHER::" + the event if print_watches (counted here). */
extern unsigned long g_events_printed;
void zk_print_event(Zk *zk, int state, int type, const char *path);
/* ZKWatchManager.removeWatcher for RemoveWatches; returns the error code. */
int zk_remove_watches_local(Zk *zk, const char *path, int wtype, bool local, int rc);

/* ---- commands (cmds.c) ------------------------------------------------------- */
/* Command outcome: CLI_OK, or the exit code of the Java CliException. */
enum { CLI_OK = 0, CLI_ERR = 1, CLI_NOTFOUND = 127 };

typedef struct CliCmd {
    const char *name;
    const char *options;      /* CliCommand optionStr, for usage */
    int (*fn)(Zk *zk, int argc, char **argv);
} CliCmd;

const CliCmd *cli_find_command(const char *name);
/* usage(): the sorted command list, on stderr. */
void cli_usage(void);
/* The shell-level part of the command table (connect, history, ...), for usage. */
extern const char *const cli_shell_cmds[][2];

/* Splits a line like ZooKeeperMain.MyCommandOptions.parseCommand. */
void cli_tokenize(const char *line, StrVec *out);

/* Session time helpers. */
int64_t now_ms(void);

#endif /* CORRAL_CLI_H */
