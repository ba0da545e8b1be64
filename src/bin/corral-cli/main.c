/*
 * src/bin/corral-cli/main.c: corral-cli's entry point: options, the input
 * loop (libedit when stdin is a terminal, plain line reading otherwise),
 * ZooKeeperMain's line tokenizer, history/redo/printwatches/connect/quit,
 * and command dispatch.
 *
 *   corral-cli [-server|-s host:port[,host:port...][/chroot]] [-timeout ms]
 *              [-r] [-waitforconnection] [--no-times] [-f script] [cmd args...]
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "cli.h"
#include "utils/version.h"

const char *cli_current_line;     /* raw text of the command being run (multi) */

typedef struct Cli {
    Zk zk;
    char *server;
    int timeout_ms;
    bool read_only;
    bool wait_for_connection;
    bool interactive;
    StrVec history;               /* ZooKeeperMain.history: index = command number */
    int command_count;
    bool any_failed;
    bool quit;
} Cli;

static Cli *g_cli;

/* ---- tokenizer --------------------------------------------------------------------- */
static bool jspace(char c)
{
    /* java.util.regex \s: [ \t\n\x0B\f\r] */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * MyCommandOptions.parseCommand: repeated find() of
 *   \s*([^"']\S*|"[^"]*"|'[^']*')\s*
 * with the quotes of a quoted token stripped.  The backtracking of the
 * leading \s* is reproduced (an unterminated quote after blanks yields a
 * token starting with a blank, as in Java).
 */
void cli_tokenize(const char *line, StrVec *out)
{
    size_t n = strlen(line), pos = 0;
    while (pos < n) {
        bool matched = false;
        for (size_t s = pos; s < n && !matched; s++) {
            size_t w = 0;
            while (s + w < n && jspace(line[s + w]))
                w++;
            for (size_t k = w + 1; k-- > 0;) {
                size_t p = s + k, b, e;
                if (p >= n)
                    continue;
                if (line[p] != '"' && line[p] != '\'') {
                    b = p;
                    e = p + 1;
                    while (e < n && !jspace(line[e]))
                        e++;
                } else {
                    const char *close = memchr(line + p + 1, line[p], n - p - 1);
                    if (!close)
                        continue;
                    b = p + 1;
                    e = (size_t)(close - line);
                    sv_push_n(out, line + b, e - b);
                    pos = e + 1;
                    goto trail;
                }
                sv_push_n(out, line + b, e - b);
                pos = e;
trail:
                while (pos < n && jspace(line[pos]))
                    pos++;
                matched = true;
                break;
            }
        }
        if (!matched)
            break;
    }
}

/* ---- dispatch ------------------------------------------------------------------------- */
static bool is_shell_cmd(const char *name)
{
    for (int i = 0; cli_shell_cmds[i][0]; i++)
        if (strcmp(cli_shell_cmds[i][0], name) == 0)
            return true;
    return false;
}

static void cli_connect(Cli *cli, const char *host, bool print_event)
{
    if (host != cli->server) {
        char *h = xstrdup(host);
        free(cli->server);
        cli->server = h;
    }
    bool pw = cli->zk.print_watches;
    zk_free(&cli->zk);
    zk_init(&cli->zk, cli->server, cli->timeout_ms, cli->read_only);
    cli->zk.print_watches = pw;
    cli->zk.wait_for_connection = cli->wait_for_connection;
    zk_connect(&cli->zk, print_event, true);
}

/* ZooKeeperMain.processZKCmd + processCmd: returns the exit code. */
static int process_cmd(Cli *cli, int argc, char **argv)
{
    Zk *zk = &cli->zk;
    if (argc < 1) {
        cli_usage();
        err_printf("No command entered\n");
        return CLI_ERR;
    }
    const char *cmd = argv[0];
    const CliCmd *c = cli_find_command(cmd);
    if (!c && !is_shell_cmd(cmd)) {
        cli_usage();
        err_printf("Command not found: Command not found %s\n", cmd);
        return CLI_NOTFOUND;
    }
    int rc = CLI_OK;
    if (strcmp(cmd, "quit") == 0) {
        zk_close(zk);
        cli->quit = true;
        return rc;
    } else if (strcmp(cmd, "redo") == 0 && argc >= 2) {
        char *end;
        errno = 0;
        long i = strtol(argv[1], &end, 0);     /* Integer.decode */
        if (errno || *end || end == argv[1]) {
            err_printf("java.lang.NumberFormatException: For input string: \"%s\"\n", argv[1]);
            return CLI_ERR;
        }
        if (cli->command_count <= i || i < 0) {
            err_printf("Command index out of range\n");
            return CLI_ERR;
        }
        const char *line = cli->history.v[i];
        StrVec t = {0};
        cli_tokenize(line, &t);
        if (t.n > 0 && strcmp(t.v[0], "redo") == 0) {
            sv_free(&t);
            err_printf("No redoing redos\n");
            return CLI_ERR;
        }
        free(cli->history.v[cli->command_count]);
        cli->history.v[cli->command_count] = xstrdup(line);
        const char *saved = cli_current_line;
        cli_current_line = line;
        rc = process_cmd(cli, t.n, t.v);
        cli_current_line = saved;
        sv_free(&t);
    } else if (strcmp(cmd, "history") == 0) {
        for (int i = cli->command_count - 10; i <= cli->command_count; ++i) {
            if (i < 0)
                continue;
            out_printf("%d - %s\n", i, i < cli->history.n ? cli->history.v[i] : "null");
        }
    } else if (strcmp(cmd, "printwatches") == 0) {
        if (argc == 1)
            out_printf("printwatches is %s\n", zk->print_watches ? "on" : "off");
        else
            zk->print_watches = strcmp(argv[1], "on") == 0;
    } else if (strcmp(cmd, "connect") == 0) {
        if (zk_state_alive(zk->state))
            zk_close(zk);
        cli_connect(cli, argc >= 2 ? argv[1] : cli->server, true);
    }
    /* Below commands all need a live connection. */
    if (!zk_state_alive(cli->zk.state)) {
        out_printf("Not connected\n");
        return rc;
    }
    if (c)
        rc = c->fn(&cli->zk, argc, argv);
    return rc;
}

static bool blank_or_comment(const char *line)
{
    while (jspace(*line))
        line++;
    return *line == '\0' || *line == '#';
}

/* ZooKeeperMain.executeLine. */
static void execute_line(Cli *cli, const char *line)
{
    if (blank_or_comment(line))
        return;
    StrVec t = {0};
    cli_tokenize(line, &t);
    while (cli->history.n <= cli->command_count)
        sv_push(&cli->history, "");
    free(cli->history.v[cli->command_count]);
    cli->history.v[cli->command_count] = xstrdup(line);
    cli_current_line = line;
    int rc = process_cmd(cli, t.n, t.v);
    cli_current_line = NULL;
    if (rc != CLI_OK)
        cli->any_failed = true;
    cli->command_count++;
    sv_free(&t);
    out_flush();
    arena_reset(&cli->zk.tmp);
}

static void cli_exit(Cli *cli, int code)
{
    out_flush();
    zk_free(&cli->zk);
    sv_free(&cli->history);
    free(cli->server);
    exit(code);
}

/* ---- non-interactive input ---------------------------------------------------------------- */
typedef struct LineReader {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
} LineReader;

/* Next line (malloc'd, without the terminator), servicing the session
 * (pings, events) while waiting; NULL at end of input. */
static char *lr_next(LineReader *lr, Zk *zk)
{
    for (;;) {
        char *nl = lr->len ? memchr(lr->buf, '\n', lr->len) : NULL;
        if (nl || (lr->eof && lr->len)) {
            size_t n = nl ? (size_t)(nl - lr->buf) : lr->len;
            size_t used = nl ? n + 1 : n;
            if (n && lr->buf[n - 1] == '\r')
                n--;
            char *line = xstrndup(lr->buf, n);
            memmove(lr->buf, lr->buf + used, lr->len - used);
            lr->len -= used;
            return line;
        }
        if (lr->eof)
            return NULL;
        struct pollfd p[2] = {{lr->fd, POLLIN, 0}, {zk->fd, POLLIN, 0}};
        int np = zk->fd >= 0 ? 2 : 1;
        int r = poll(p, (nfds_t)np, np == 2 ? zk_idle_timeout(zk) : -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            lr->eof = true;
            continue;
        }
        if (np == 2 && (r == 0 || p[1].revents)) {
            zk_idle(zk);
            arena_reset(&zk->tmp);
        }
        if (p[0].revents) {
            if (lr->cap - lr->len < 4096) {
                lr->cap = lr->cap ? lr->cap * 2 : 8192;
                lr->buf = xrealloc(lr->buf, lr->cap);
            }
            ssize_t k = read(lr->fd, lr->buf + lr->len, lr->cap - lr->len);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                lr->eof = true;
            else
                lr->len += (size_t)k;
        }
    }
}

/* --echo: script lines are printed before they run. */
static bool g_echo;

static void run_script(Cli *cli, int fd)
{
    LineReader lr = {fd, NULL, 0, 0, false};
    char *line;
    while ((line = lr_next(&lr, &cli->zk)) != NULL) {
        /* Events already received are shown before the next command. */
        zk_poll(&cli->zk);
        if (g_echo) {
            /* psql -a style: every input line, comments included, so a
             * transcript reads on its own (the regression suite's .out). */
            out_printf("%s\n", line);
            out_flush();
        }
        execute_line(cli, line);
        free(line);
        if (cli->quit)
            break;
    }
    free(lr.buf);
}

/* ---- interactive input (libedit) ------------------------------------------------------------ */
static char prompt_buf[512];

static char *prompt_fn(EditLine *el)
{
    snprintf(prompt_buf, sizeof(prompt_buf), "[zk: %s(%s) %d] ", g_cli->server,
             zk_state_str(g_cli->zk.state), g_cli->command_count);
    return prompt_buf;
}



/* libedit's character source: waits on the terminal and the session. */
static int getc_fn(EditLine *el, wchar_t *wc)
{
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    Zk *zk = &g_cli->zk;
    for (;;) {
        struct pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {zk->fd, POLLIN, 0}};
        int np = zk->fd >= 0 ? 2 : 1;
        int r = poll(p, (nfds_t)np, np == 2 ? zk_idle_timeout(zk) : -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (np == 2 && (r == 0 || p[1].revents)) {
            unsigned long before = g_events_printed;
            zk_idle(zk);
            arena_reset(&zk->tmp);
            if (g_events_printed != before)
                el_set(el, EL_REFRESH);
        }
        if (!p[0].revents)
            continue;
        char c;
        ssize_t k = read(STDIN_FILENO, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k == 0 ? 0 : -1;
        size_t m = mbrtowc(wc, &c, 1, &st);
        if (m == (size_t)-2)
            continue;
        if (m == (size_t)-1) {
            memset(&st, 0, sizeof(st));
            *wc = (wchar_t)(unsigned char)c;
        }
        return 1;
    }
}

/* Tab: complete a command name, or a znode path (JLineZNodeCompleter). */
static unsigned char complete_fn(EditLine *el, int ch)
{
    const LineInfo *li = el_line(el);
    const char *start = li->buffer, *cur = li->cursor;
    const char *w = cur;
    while (w > start && !isspace((unsigned char)w[-1]))
        w--;
    size_t wlen = (size_t)(cur - w);
    char *word = xstrndup(w, wlen);
    StrVec cands = {0};
    bool is_path = word[0] == '/';
    if (is_path) {
        char *slash = strrchr(word, '/');
        char *dir = slash == word ? xstrdup("/") : xstrndup(word, (size_t)(slash - word));
        const char *prefix = slash + 1;
        Zk *zk = &g_cli->zk;
        if (zk_state_alive(zk->state) && !java_path_error(dir, false)) {
            WBuf *wb = zk_req_begin(zk, ZOO_OP_GETCHILDREN);
            GetChildrenRequest rq = {zk_bytes_cstr(zk_server_path(zk, dir)), false};
            jute_write_GetChildrenRequest(wb, &rq);
            ZkReply rep;
            GetChildrenResponse gr;
            if (zk_req_call(zk, &rep) == ZERR_OK &&
                jute_read_GetChildrenResponse(&rep.body, &rep.arena, &gr) == 0) {
                for (int32_t i = 0; i < gr.children.count; i++) {
                    ZkBytes b = gr.children.items[i];
                    if (b.len >= 0 && (size_t)b.len >= strlen(prefix) && memcmp(b.data, prefix, strlen(prefix)) == 0)
                        sv_push_n(&cands, b.data, (size_t)b.len);
                }
            }
            zk_reply_free(&rep);
            arena_reset(&zk->tmp);
        }
        /* candidates are the rest of the name after the prefix */
        for (int i = 0; i < cands.n; i++) {
            char *full = cands.v[i];
            cands.v[i] = xstrdup(full + strlen(prefix));
            free(full);
        }
        free(dir);
    } else if (w == start) {
        static const char *const names[] = {
            "addWatch", "addauth", "close", "config", "connect", "create", "delete", "deleteall",
            "get", "getAcl", "getAllChildrenNumber", "getEphemerals", "history", "ls", "multi",
            "multiRead", "printwatches", "quit", "redo", "removewatches", "set", "setAcl", "stat",
            "sync", "version", "whoami"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strncmp(names[i], word, wlen) == 0)
                sv_push(&cands, names[i] + wlen);
    }
    unsigned char ret = CC_ERROR;
    if (cands.n == 1) {
        CorralStrbuf sb = CORRAL_STRBUF_INIT;
        corral_strbuf_puts(&sb, cands.v[0]);
        if (!is_path)
            corral_strbuf_puts(&sb, " ");
        el_insertstr(el, sb.data);
        corral_strbuf_free(&sb);
        ret = CC_REFRESH;
    } else if (cands.n > 1) {
        /* longest common prefix, then list */
        size_t l = strlen(cands.v[0]);
        for (int i = 1; i < cands.n; i++) {
            size_t k = 0;
            while (k < l && cands.v[i][k] == cands.v[0][k])
                k++;
            l = k;
        }
        if (l > 0) {
            char *pre = xstrndup(cands.v[0], l);
            el_insertstr(el, pre);
            free(pre);
            ret = CC_REFRESH;
        } else {
            sv_sort(&cands);
            out_printf("\n");
            for (int i = 0; i < cands.n; i++)
                out_printf("%s%s%s", word + (is_path ? strlen(word) - strlen(strrchr(word, '/') + 1) : 0),
                           cands.v[i], i + 1 < cands.n ? "  " : "\n");
            out_flush();
            ret = CC_REDISPLAY;
        }
    }
    sv_free(&cands);
    free(word);
    return ret;
}

static void run_interactive(Cli *cli)
{
    setlocale(LC_CTYPE, "");
    EditLine *el = el_init("corral-cli", stdin, stdout, stderr);
    History *hist = history_init();
    HistEvent ev;
    history(hist, &ev, H_SETSIZE, 1000);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_SIGNAL, 1);
    el_set(el, EL_PROMPT, prompt_fn);
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_GETCFN, getc_fn);
    /* el_wset: the narrow EL_ADDFN leaks its wcsdup'ed copies. */
    el_wset(el, EL_ADDFN, L"corral-complete", L"complete command or znode", complete_fn);
    el_set(el, EL_BIND, "^I", "corral-complete", NULL);
    el_source(el, NULL);
    for (;;) {
        int count = 0;
        out_flush();
        const char *l = el_gets(el, &count);
        if (!l || count <= 0)
            break;
        char *line = xstrdup(l);
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!blank_or_comment(line))
            history(hist, &ev, H_ENTER, line);
        zk_poll(&cli->zk);
        execute_line(cli, line);
        free(line);
        if (cli->quit)
            break;
    }
    if (!cli->quit)
        out_printf("\n");
    history_end(hist);
    el_end(el);
}

/* ---- main ------------------------------------------------------------------------------------ */
static void help(void)
{
    printf("usage: corral-cli [-server|-s host:port[,host:port...][/chroot]] [-timeout ms] [-r]\n"
           "                  [-waitforconnection] [--no-times] [-e] [-f script] [cmd args...]\n"
           "\n"
           "A ZooKeeper 3.8 command line client (zkCli.sh compatible).  Without a command,\n"
           "reads commands from the script, from the terminal (line editing), or from\n"
           "standard input (no prompt).  See doc/corral-cli.md.\n"
           "\n"
           "Options:\n"
           "  -server, -s HOSTS   host:port[,host:port...][/chroot] to connect to\n"
           "                      (default localhost:2181)\n"
           "  -timeout MS         session timeout in milliseconds (default 30000)\n"
           "  -r                  allow a read-only server (ZooKeeper's canBeReadOnly)\n"
           "  -waitforconnection  wait until connected before running commands\n"
           "  --no-times          print ctime/mtime as <time> and ephemeral owners as\n"
           "                      <session> (also CORRAL_CLI_DETERMINISTIC=1)\n"
           "  -e, --echo          print every input line before running it\n"
           "  -f FILE             read commands from FILE\n"
           "  -h, --help          this text\n"
           "      --version       print the version and the module ABI version, and exit\n");
}

int main(int argc, char **argv)
{
    static Cli cli;
    g_cli = &cli;
    cli.server = xstrdup("localhost:2181");
    cli.timeout_ms = 30000;
    const char *script = NULL;
    int cmd_at = -1;
    const char *det = getenv("CORRAL_CLI_DETERMINISTIC");
    if (det && *det && strcmp(det, "0") != 0)
        g_mask = true;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool takes = strcmp(a, "-server") == 0 || strcmp(a, "-s") == 0 || strcmp(a, "-timeout") == 0 ||
                     strcmp(a, "-f") == 0 || strcmp(a, "-client-configuration") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "Error: no argument found for option %s\n", a);
            return 2;
        }
        if (strcmp(a, "-server") == 0 || strcmp(a, "-s") == 0) {
            free(cli.server);
            cli.server = xstrdup(argv[++i]);
        } else if (strcmp(a, "-timeout") == 0) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t <= 0 || t > 0x7fffffff) {
                fprintf(stderr, "Error: invalid timeout %s\n", argv[i]);
                return 2;
            }
            cli.timeout_ms = (int)t;
        } else if (strcmp(a, "-f") == 0) {
            script = argv[++i];
        } else if (strcmp(a, "-client-configuration") == 0) {
            i++;                /* accepted for compatibility, ignored */
        } else if (strcmp(a, "-r") == 0) {
            cli.read_only = true;
        } else if (strcmp(a, "-waitforconnection") == 0) {
            cli.wait_for_connection = true;
        } else if (strcmp(a, "--no-times") == 0 || strcmp(a, "-no-times") == 0) {
            g_mask = true;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "--echo") == 0) {
            g_echo = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "-h") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            corral_print_version("corral-cli");
            return 0;
        } else if (a[0] != '-') {
            cmd_at = i;
            break;
        }
        /* other options are ignored, as ZooKeeperMain does */
    }

    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

    int script_fd = -1;
    if (script) {
        script_fd = open(script, O_RDONLY | O_CLOEXEC);
        if (script_fd < 0) {
            fprintf(stderr, "corral-cli: cannot open %s: %s\n", script, strerror(errno));
            return 2;
        }
    }
    cli.interactive = cmd_at < 0 && !script && isatty(STDIN_FILENO);

    zk_init(&cli.zk, cli.server, cli.timeout_ms, cli.read_only);
    cli.zk.wait_for_connection = cli.wait_for_connection;
    if (cli.interactive) {
        out_printf("Connecting to %s\n", cli.server);
        out_printf("Welcome to ZooKeeper!\n");
        out_flush();
    }
    zk_connect(&cli.zk, cli.interactive, true);

    int code = CLI_OK;
    if (cmd_at >= 0) {
        /* One command from the arguments, used as they are (no re-splitting). */
        CorralStrbuf line = CORRAL_STRBUF_INIT;
        for (int i = cmd_at; i < argc; i++)
            corral_strbuf_printf(&line, "%s%s", i > cmd_at ? " " : "", argv[i]);
        cli_current_line = line.data;
        code = process_cmd(&cli, argc - cmd_at, argv + cmd_at);
        cli_current_line = NULL;
        corral_strbuf_free(&line);
    } else if (script_fd >= 0) {
        run_script(&cli, script_fd);
        close(script_fd);
        code = cli.any_failed ? CLI_ERR : CLI_OK;
    } else if (cli.interactive) {
        run_interactive(&cli);
        code = cli.any_failed ? CLI_ERR : CLI_OK;
    } else {
        run_script(&cli, STDIN_FILENO);
        code = cli.any_failed ? CLI_ERR : CLI_OK;
    }
    out_flush();
    /* Close the session so that its ephemerals go now (zkCli leaves them to
     * expire); silently. */
    cli.zk.print_watches = false;
    zk_close(&cli.zk);
    cli_exit(&cli, code);
    return code;
}
