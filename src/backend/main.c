/*
 * src/backend/main.c: corrald, the Corral server.
 *
 * Startup order: arguments -> configuration -> modules (each validates its
 * own settings) -> server state (storage recovery, tree) -> listener ->
 * module start hooks -> event loop.  Any failure before the loop exits with
 * a precise message and a documented exit code (module/module.h).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config/config.h"
#include "corral/log.h"
#include "metrics/metrics.h"
#include "module/module.h"
#include "net/eventloop.h"
#include "net/net.h"
#include "reload/reload.h"
#include "net/tls.h"
#include "server/server.h"
#include "utils/version.h"

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    if (++signals_seen > 1) {
        static const char msg[] = "corrald: second signal, exiting at once\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
        _exit(CORRAL_EXIT_RUNTIME);
    }
    el_stop();
}

/* systemd's Type=notify (PostgreSQL's --with-systemd): READY=1 once
 * clients are served, RELOADING=1 ... READY=1 around a reload, STOPPING=1
 * at shutdown.  Without NOTIFY_SOCKET (not under systemd) sd_notify does
 * nothing. */
static void notify_state(const char *state)
{
    if (strcmp(state, "RELOADING=1") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    } else {
        sd_notify(0, state);
    }
}

/* SIGHUP: re-read the configuration at the next loop turn (reload.h). */
static void on_hup(int sig) { reload_request(); }

/* TLS certificates, keys and CAs are reread on every reload (rotation),
 * with the new file names and TLS settings if they changed: new
 * connections get the new contexts, established ones keep theirs.  Files
 * that no longer load keep the running contexts and are logged. */
static void tls_reload_apply(void *arg, const CoreConfig *new_cfg)
{
    (void)arg;
    if (tls_reload_config(new_cfg) < 0)
        corral_log(CORRAL_LOG_WARN, "main", "reload: TLS files kept as they were: %s", tls_last_error());
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: corrald [-c FILE] [--check-config] [--log-level LEVEL]\n"
            "\n"
            "Runs a Corral server (ZooKeeper wire protocol) in the foreground, logging to stderr.\n"
            "\n"
            "  -c, --config FILE   YAML configuration (default: the built-in standalone\n"
            "                      configuration on 127.0.0.1:2181; see config/standalone.yaml)\n"
            "      --check-config  validate the configuration and the modules it names, then exit\n"
            "                      (0: valid; 2: configuration error; 3: a module was refused)\n"
            "      --print-builtin-config  print the built-in configuration and exit\n"
            "      --describe-config  print the server keys: name, reload class (runtime or\n"
            "                      restart), type and range, one a line, and exit\n"
            "      --log-level L   debug, info, warn or error (overrides server.log_level)\n"
            "  -V, --version       print the version and the module ABI version, and exit\n"
            "  -h, --help          this text\n");
}

/* The key table (config/config.c), for doc/configuration.md's reload
 * column and corral.yaml(5): 009 and the man page build read it. */
static void describe_config(void)
{
    static const char *const kinds[] = {"integer", "bool", "string", "list", "address", "node"};
    ConfigReload cls;
    for (size_t i = 0; i < config_server_key_count(); i++) {
        const CorralConfigKey *k = config_server_key(i, &cls);
        printf("server.%s\t%s\t%s", k->name, cls == CONFIG_RUNTIME ? "runtime" : "restart", kinds[k->kind]);
        if (k->kind == CORRAL_KEY_INT)
            printf("\t%lld..%lld", (long long)k->min, (long long)k->max);
        putchar('\n');
    }
}

static char *exe_dir(const char *argv0)
{
    static char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
        snprintf(buf, sizeof buf, "%s", argv0);
    } else {
        buf[n] = '\0';
    }
    return dirname(buf);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", no_argument, NULL, 'k'},
        {"print-builtin-config", no_argument, NULL, 'p'},
        {"describe-config", no_argument, NULL, 'D'},
        {"log-level", required_argument, NULL, 'l'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *config_file = NULL, *log_level = NULL;
    int check_only = 0, c;
    while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_file = optarg; break;
        case 'k': check_only = 1; break;
        case 'p': fputs(corral_builtin_config, stdout); return 0;
        case 'D': describe_config(); return 0;
        case 'l': log_level = optarg; break;
        case 'V': corral_print_version("corrald"); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CORRAL_EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "corrald: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return CORRAL_EXIT_CONFIG;
    }
    if (log_level && corral_log_level_from_name(log_level) < 0) {
        fprintf(stderr, "corrald: --log-level must be debug, info, warn or error, not \"%s\"\n", log_level);
        return CORRAL_EXIT_CONFIG;
    }

    static CoreConfig cfg;
    int rc = config_file ? config_load_file(config_file, &cfg)
                         : config_load_string("(built-in configuration)", corral_builtin_config,
                                              strlen(corral_builtin_config), &cfg);
    if (rc < 0) {
        fprintf(stderr, "%s\n", config_last_error());
        config_free();
        return CORRAL_EXIT_CONFIG;
    }
    corral_log_set_level((CorralLogLevel)corral_log_level_from_name(log_level ? log_level : cfg.log_level));

    if (tls_init(&cfg) < 0) {
        fprintf(stderr, "%s: %s\n", cfg.file, tls_last_error());
        config_free();
        return CORRAL_EXIT_CONFIG;
    }
    if (el_init() < 0) {
        corral_log(CORRAL_LOG_FATAL, "main", "cannot create the event loop: %s", strerror(errno));
        return CORRAL_EXIT_RUNTIME;
    }
    server_register_metrics();
    if (module_load_all(&cfg, exe_dir(argv[0])) < 0) {
        int is_config = module_error_is_config();
        if (is_config)
            fprintf(stderr, "%s\n", module_last_error());
        else
            corral_log(CORRAL_LOG_FATAL, "module", "%s", module_last_error());
        /* Nothing started: release what loading made, so leak checkers
         * see a clean refusal. */
        module_unload_all();
        metrics_free_all();
        el_shutdown();
        tls_shutdown();
        config_free();
        return is_config ? CORRAL_EXIT_CONFIG : CORRAL_EXIT_MODULE;
    }
    if (check_only) {
        printf("%s: configuration is valid (%zu module%s)\n", cfg.file, module_count(),
               module_count() == 1 ? "" : "s");
        module_unload_all();
        metrics_free_all();
        el_shutdown();
        tls_shutdown();
        config_free();
        return CORRAL_EXIT_OK;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    reload_init(&cfg, config_file, log_level != NULL, notify_state);
    reload_add_hook("tls", NULL, tls_reload_apply, NULL);

    corral_log(CORRAL_LOG_INFO, "main", "corrald %s starting (config %s, pid %d)", CORRAL_VERSION, cfg.file,
               (int)getpid());
    int exit_code = CORRAL_EXIT_OK;
    if (server_init(&cfg) < 0) {
        exit_code = CORRAL_EXIT_RUNTIME;
    } else if (module_run_start_hooks() < 0) {
        corral_log(CORRAL_LOG_FATAL, "module", "%s", module_last_error());
        exit_code = CORRAL_EXIT_MODULE;
    } else {
        corral_log(CORRAL_LOG_INFO, "main", "ready: serving clients on %s", net_listen_desc());
        notify_state("READY=1");
        if (el_run() < 0) {
            corral_log(CORRAL_LOG_FATAL, "main", "event loop failed: %s", strerror(errno));
            exit_code = CORRAL_EXIT_RUNTIME;
        }
        notify_state("STOPPING=1");
        corral_log(CORRAL_LOG_INFO, "main", "shutting down");
    }
    exit_code = server_shutdown() < 0 && exit_code == 0 ? CORRAL_EXIT_RUNTIME : exit_code;
    module_run_stop_hooks();
    module_unload_all();
    reload_shutdown();
    metrics_free_all();
    el_shutdown();
    tls_shutdown();
    if (exit_code == CORRAL_EXIT_OK)
        corral_log(CORRAL_LOG_INFO, "main", "exited cleanly");
    config_free();
    return exit_code;
}
