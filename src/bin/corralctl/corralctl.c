/*
 * src/bin/corralctl/corralctl.c: the admin tool of Corral, as a table of
 * subcommands.
 *
 *     corralctl [-s HOST:PORT] [--timeout MS] WORD
 *     corralctl [-s HOST:PORT] [--timeout MS] COMMAND [ARGS...]
 *
 * WORD (four lowercase letters) is short for `word WORD`: it sends a
 * four-letter word and prints the server's answer verbatim.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corralctl.h"
#include "utils/version.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "dev"
#endif

/* Later commands (wal-dump, snapshot-dump, verify, status) go here. */
int ctl_cmd_status(CtlOptions *opts, int argc, char **argv);   /* status.c */
static const CtlCommand commands[] = {
    {"word", "WORD", "send a four-letter word (ruok, srvr, stat, mntr, ...) and print the answer", ctl_cmd_word},
    {"status", "[--json]", "one screen about the member: mode, zxid, latency, znodes, sessions", ctl_cmd_status},
    {"wal-dump", "DIR|FILE [--json]", "print every record of a data directory's WAL (no server needed)", ctl_cmd_wal_dump},
    {"snapshot-dump", "FILE [--json] [--data]", "print a snapshot: header, sessions, every znode and its stat",
     ctl_cmd_snapshot_dump},
    {"verify", "DATA_DIR [--json]", "check every checksum of a data directory and what recovery would do",
     ctl_cmd_verify},
    {"import-zookeeper", "--from ZK_DIR -D DATA_DIR", "import an Apache ZooKeeper data directory (doc/migration.md)",
     ctl_cmd_import_zookeeper},
    {"export-zookeeper", "-D DATA_DIR --to ZK_DIR", "write a data directory as an Apache ZooKeeper one (rollback)",
     ctl_cmd_export_zookeeper},
    {"convert-config", "ZOO_CFG [DYNAMIC]", "print a ZooKeeper zoo.cfg as Corral YAML", ctl_cmd_convert_config},
    {"salvage", "-D DATA_DIR [--dry-run]", "rebuild a damaged data directory, reporting what is lost", ctl_cmd_salvage},
    {"snapshot", "-s HOST:ADMIN_PORT [-o FILE]", "a member's state as a snapshot file, through its admin endpoint",
     ctl_cmd_snapshot},
    {"backup", "-s HOST:ADMIN_PORT -o DIR", "an online backup of a running member, with a manifest", ctl_cmd_backup},
    {"restore", "BACKUP -D DATA_DIR [--archive DIR] [--to-zxid Z|--to-time T]",
     "a data directory from a backup and archived WAL (point in time)", ctl_cmd_restore},
    {"compare", "HOST:PORT HOST:PORT...", "compare the members' tree digests at the zxids they all list (hash)",
     ctl_cmd_compare},
    {"reconfig", "[--auth S:A] -add|-remove|-members ...", "change the ensemble's members (zkCli's reconfig)",
     ctl_cmd_reconfig},
    {"config", "[-c] [-s]", "print the ensemble's configuration (/zookeeper/config)", ctl_cmd_config},
    {"dump", "-s HOST:PORT [--path /x]", "a subtree as JSON over the client protocol (data, ACLs, kinds)",
     ctl_cmd_dump},
    {"load", "-s HOST:PORT FILE [--update]", "create the nodes of a dump file over the client protocol", ctl_cmd_load},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: corralctl [OPTIONS] WORD\n"
            "       corralctl [OPTIONS] COMMAND [ARGS...]\n"
            "\n"
            "Administers a Corral (or ZooKeeper) server.  WORD is a four-letter word\n"
            "(ruok srvr stat conf envi mntr isro dirs cons crst srst wchs wchc wchp dump):\n"
            "it is sent to the server and the answer is printed as it comes.  `dump` is\n"
            "the command below: the word is `corralctl word dump`.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].args);
        /* A long head gets a line of its own (man pages are made from
         * this text: src/tools/mkman.pl reads "  HEAD  TEXT" items). */
        if (strlen(head) > 18)
            fprintf(f, "  %s\n  %-18s %s\n", head, "", commands[i].summary);
        else
            fprintf(f, "  %-18s %s\n", head, commands[i].summary);
    }
    fprintf(f,
            "\n"
            "Options:\n"
            "  -s, --server HOST:PORT  server to ask (default %s); HOST is an IPv4 or\n"
            "                          IPv6 address ([::1]:2181), localhost, or a host name\n"
            "  -t, --timeout MS        give up after MS milliseconds (default %d)\n"
            "  -V, --version           print the version and the module ABI version, and exit\n"
            "  -h, --help              this text\n"
            "\n"
            "Exit status: 0 success, 1 the server could not be reached or did not answer\n"
            "in time, 2 bad usage.\n",
            CTL_DEFAULT_SERVER, CTL_DEFAULT_TIMEOUT_MS);
}

int ctl_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("corralctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'corralctl --help' for more information.\n", stderr);
    return CTL_EXIT_USAGE;
}

int ctl_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("corralctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CTL_EXIT_FAIL;
}

void ctl_fmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

static int parse_timeout(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 86400000)
        return -1;
    *out = (int)v;
    return 0;
}

int ctl_parse_options(CtlOptions *o, int argc, char **argv, int permute, int *help)
{
    static const struct option longopts[] = {
        {"server", required_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    optind = 0;     /* full re-initialisation (GNU), so commands can parse again */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, permute ? "s:t:hV" : "+s:t:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->server = optarg;
            break;
        case 't':
            if (parse_timeout(optarg, &o->timeout_ms) < 0) {
                ctl_usage_error("--timeout must be a number of milliseconds from 1 to 86400000, not \"%s\"", optarg);
                return -1;
            }
            break;
        case 'h':
            *help = 1;
            break;
        case 'V':
            corral_print_version("corralctl");
            exit(CTL_EXIT_OK);
        case '?':
        default:
            if (optopt && strchr("st", optopt))
                ctl_usage_error("option -%c needs an argument", optopt);
            else if (optopt)
                ctl_usage_error("unknown option -%c", optopt);
            else
                ctl_usage_error("unknown option \"%s\"", argv[optind - 1]);
            return -1;
        }
    }
    return optind;
}

int main(int argc, char **argv)
{
    CtlOptions o = {CTL_DEFAULT_SERVER, CTL_DEFAULT_TIMEOUT_MS};
    int help = 0;
    int first = ctl_parse_options(&o, argc, argv, 0, &help);
    if (first < 0)
        return CTL_EXIT_USAGE;
    if (help) {
        usage(stdout);
        return CTL_EXIT_OK;
    }
    if (first >= argc)
        return ctl_usage_error("a four-letter word or a command is needed");
    const char *name = argv[first];
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(&o, argc - first, argv + first);
    if (ctl_is_word(name)) {
        /* `corralctl srvr ...` is `corralctl word srvr ...` */
        int n = argc - first + 1;
        char **av = calloc((size_t)n + 1, sizeof *av);
        if (!av)
            return ctl_fail("out of memory");
        av[0] = "word";
        for (int i = first; i < argc; i++)
            av[i - first + 1] = argv[i];
        int rc = ctl_cmd_word(&o, n, av);
        free(av);
        return rc;
    }
    return ctl_usage_error("\"%s\" is neither a command nor a four-letter word (four lowercase letters)", name);
}
