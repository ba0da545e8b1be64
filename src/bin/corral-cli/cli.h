/*
 * src/bin/corral-cli/cli.h: corral-cli, a ZooKeeper command line client that
 * behaves like zkCli.sh (ZooKeeper 3.8) and speaks the client protocol
 * itself, with the project's wire codec.
 *
 * Layout:
 *   main.c     arguments, input loop (libedit when interactive), tokenizer,
 *              history, dispatch of the shell built-ins.
 *   cmds.c     the command table, and what the commands share: option
 *              parsing (commons-cli), error messages, request helpers.
 *   cmd_*.c    the ZooKeeper commands, by kind: cmd_read.c (ls, get, stat,
 *              ...), cmd_write.c (set, create, delete, deleteall),
 *              cmd_acl.c, cmd_watch.c, cmd_multi.c (multi, multiRead),
 *              cmd_quota.c, cmd_config.c (config, reconfig),
 *              cmd_session.c (addauth, sync, whoami, version, close).
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

/* ---- commands (cmds.c, cmd_*.c) ----------------------------------------------- */
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

/* ---- shared by the commands (cmds.c, cmd_*.c) -------------------------------- */
typedef struct Opts {
    bool has[128];
    const char *val[128];
    StrVec args;               /* non-option arguments; args.v[0] is the command */
} Opts;

typedef struct AclList {
    JuteVec_ACL vec;
    StrVec strs;           /* owns the scheme/id strings */
} AclList;

/* visit_dfs's callback (cmds.c). */
typedef bool (*VisitFn)(Zk *zk, const char *path, void *ctx);
#define VISIT_STOPPED 1

/* A multi / multiRead operation and its result (cmd_multi.c; deleteall too). */
typedef struct MultiOp {
    int type;                 /* opcode */
    char *path;               /* client path */
    char *data;               /* NULL = null */
    int32_t version;
    int flags;
    int64_t ttl;
    AclList acl;
    bool has_acl;
} MultiOp;

typedef struct MultiResult {
    int type;
    int err;
    char *path;               /* create: created path (client) */
    Stat stat;
    ZkBytes data;             /* getData; points into the reply */
    JuteVec_ustring children; /* getChildren; points into the reply */
} MultiResult;

/* cmds.c */
void opts_free(Opts *o);
int opts_parse_group(Opts *o, const char *spec, const char *group, bool posix, int argc, char **argv);
int opts_parse(Opts *o, const char *spec, bool posix, int argc, char **argv);
int usage_fail(const CliCmd *c);
int fail_msg(char *msg);
void keeper_message(CorralStrbuf *sb, int rc, const char *path);
int keeper_fail(int rc, const char *path);
int path_check(const char *path, bool sequential);
bool java_parse_long(const char *s, int64_t min, int64_t max, int64_t *out);
int number_format_fail(const char *s);
ZkBytes bytes_or_null(const char *s);
void print_string_list(JuteVec_ustring *v, bool sort);
void print_data(ZkBytes d);
int req_get_children(Zk *zk, const char *path, bool watch, bool v2, ZkReply *rep,
                     JuteVec_ustring *children, Stat *st);
int req_get_data(Zk *zk, const char *path, bool watch, ZkReply *rep, GetDataResponse *out);
char *child_path(const char *parent, const ZkBytes *child);
int visit_tree_raw(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx, char **err_path);
int visit_tree(Zk *zk, const char *path, bool watch, VisitFn fn, void *ctx);
const CliCmd *self(const char *name);
int compat_watch(Opts *o, const char *spec, bool posix, int argc, char **argv, const char *msg);

/* cmd_acl.c */
void acl_free(AclList *l);
void acl_open(AclList *l);
void acl_parse(AclList *l, const char *s);
int cmd_getacl(Zk *zk, int argc, char **argv);
int cmd_setacl(Zk *zk, int argc, char **argv);

/* cmd_read.c */
int cmd_ls(Zk *zk, int argc, char **argv);
int cmd_get(Zk *zk, int argc, char **argv);
int cmd_stat(Zk *zk, int argc, char **argv);
int cmd_getephemerals(Zk *zk, int argc, char **argv);
int cmd_getallchildrennumber(Zk *zk, int argc, char **argv);

/* cmd_write.c */
int cmd_set(Zk *zk, int argc, char **argv);
int create_mode(Opts *o, int *flags, int64_t *ttl);
int cmd_create(Zk *zk, int argc, char **argv);
int do_delete(Zk *zk, const char *path, int32_t version);
int cmd_delete(Zk *zk, int argc, char **argv);
int cmd_deleteall(Zk *zk, int argc, char **argv);

/* cmd_multi.c */
void multi_ops_free(MultiOp *ops, int n);
void multi_results_free(MultiResult *res, int n);
int multi_call(Zk *zk, bool read, MultiOp *ops, int n, ZkReply *rep, MultiResult **res, int *nres);
int cmd_multi(Zk *zk, int argc, char **argv);
int cmd_multiread(Zk *zk, int argc, char **argv);

/* cmd_session.c */
int cmd_addauth(Zk *zk, int argc, char **argv);
int cmd_sync(Zk *zk, int argc, char **argv);
int cmd_whoami(Zk *zk, int argc, char **argv);
int cmd_version(Zk *zk, int argc, char **argv);
int cmd_close(Zk *zk, int argc, char **argv);

/* cmd_watch.c */
int cmd_addwatch(Zk *zk, int argc, char **argv);
int cmd_removewatches(Zk *zk, int argc, char **argv);

/* cmd_config.c */
int cmd_config(Zk *zk, int argc, char **argv);
int cmd_reconfig(Zk *zk, int argc, char **argv);

/* cmd_quota.c */
int cmd_setquota(Zk *zk, int argc, char **argv);
int cmd_listquota(Zk *zk, int argc, char **argv);
int cmd_delquota(Zk *zk, int argc, char **argv);

#endif /* CORRAL_CLI_H */
