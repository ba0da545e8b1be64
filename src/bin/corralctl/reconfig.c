/*
 * src/bin/corralctl/reconfig.c: `corralctl reconfig` and `corralctl config`,
 * the ensemble's membership (doc/ensemble.md, "Changing the members").
 *
 * Both need a ZooKeeper session (and, for reconfig, the identity of a user
 * allowed to change /zookeeper/config), which corral-cli already speaks:
 * corralctl runs the corral-cli installed next to it and gives it the
 * commands on its standard input ("addauth SCHEME AUTH", then zkCli's
 * `reconfig` or `config` with the arguments as given), so the arguments,
 * the output and the errors are zkCli's.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corralctl.h"

static void reconfig_usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl [-s HOST:PORT] reconfig [--auth SCHEME:AUTH] [-s] [-v VERSION]\n"
            "                 (-add SERVERS [-remove IDS] | -remove IDS | -members SERVERS | -file FILE)\n"
            "       corralctl [-s HOST:PORT] config [-c] [-s]\n"
            "\n"
            "reconfig changes the members of the ensemble (zkCli's reconfig): SERVERS is a\n"
            "comma-separated list of server.N=host:quorumPort:electionPort[:role];[clientHost:]clientPort,\n"
            "IDS a comma-separated list of ids, VERSION the hex version the change starts from.\n"
            "--auth digest:USER:PASSWORD authenticates first (the super user, or a user the ACL of\n"
            "/zookeeper/config lets write).  config prints /zookeeper/config.  Both run corral-cli.\n");
}

/* corral-cli next to this corralctl, else the one on PATH. */
static void cli_path(char *buf, size_t n)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        snprintf(buf, n, "%s/corral-cli", dirname(self));
        if (access(buf, X_OK) == 0)
            return;
    }
    snprintf(buf, n, "corral-cli");
}

/* Runs corral-cli -server S with `script` on its stdin; its exit code. */
static int run_cli(const CtlOptions *o, const char *script)
{
    char cli[PATH_MAX + 16];
    cli_path(cli, sizeof cli);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", o->timeout_ms);
    int fds[2];
    if (pipe(fds) < 0)
        return ctl_fail("pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return ctl_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[0], STDIN_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp(cli, cli, "-server", o->server, "-timeout", timeout, (char *)NULL);
        fprintf(stderr, "corralctl: cannot run %s: %s\n", cli, strerror(errno));
        _exit(CTL_EXIT_FAIL);
    }
    close(fds[0]);
    size_t len = strlen(script), off = 0;
    while (off < len) {
        ssize_t w = write(fds[1], script + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fds[1]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

/* Appends one argument to the command line given to corral-cli, which
 * splits its lines on blanks. */
static int add_arg(char *line, size_t n, const char *arg)
{
    if (strpbrk(arg, " \t\r\n\"'"))
        return ctl_usage_error("arguments may not hold blanks or quotes: \"%s\"", arg);
    size_t used = strlen(line);
    if (used + strlen(arg) + 2 >= n)
        return ctl_usage_error("arguments too long");
    snprintf(line + used, n - used, " %s", arg);
    return 0;
}

static int run_cli_command(CtlOptions *o, int argc, char **argv, const char *what)
{
    const char *auth = NULL;
    char line[65536];
    snprintf(line, sizeof line, "%s", what);
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            reconfig_usage(stdout);
            return CTL_EXIT_OK;
        }
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end;
            long t = strtol(argv[++i], &end, 10);
            if (*end || t <= 0 || t > 86400000)
                return ctl_usage_error("--timeout must be a number of milliseconds from 1 to 86400000");
            o->timeout_ms = (int)t;
            continue;
        }
        if (strcmp(argv[i], "--auth") == 0) {
            if (i + 1 >= argc)
                return ctl_usage_error("--auth needs SCHEME:AUTH");
            auth = argv[++i];
            continue;
        }
        if (add_arg(line, sizeof line, argv[i]))
            return CTL_EXIT_USAGE;
        nargs++;
    }
    if (strcmp(what, "reconfig") == 0 && nargs == 0) {
        reconfig_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    char script[70000];
    script[0] = '\0';
    if (auth) {
        const char *colon = strchr(auth, ':');
        if (!colon || colon == auth || strpbrk(auth, " \t\r\n"))
            return ctl_usage_error("--auth must be SCHEME:AUTH (e.g. digest:super:secret)");
        snprintf(script, sizeof script, "addauth %.*s %s\n", (int)(colon - auth), auth, colon + 1);
    }
    size_t used = strlen(script);
    snprintf(script + used, sizeof script - used, "%s\n", line);
    return run_cli(o, script);
}

int ctl_cmd_reconfig(CtlOptions *o, int argc, char **argv) { return run_cli_command(o, argc, argv, "reconfig"); }

int ctl_cmd_config(CtlOptions *o, int argc, char **argv) { return run_cli_command(o, argc, argv, "config"); }
