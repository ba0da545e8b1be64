/*
 * regress/fuzz/fuzz_config.c: libFuzzer harness for the configuration
 * parser (src/backend/config/config.c): YAML text -> node tree -> the
 * core's validated CoreConfig, through config_load_string, the function
 * config_load_file hands the file's bytes to.
 *
 * Properties:
 *   - a refusal always has a message, "fuzz.yaml:LINE:COLUMN: text" with
 *     LINE and COLUMN >= 1 (doc/configuration.md: every error points at its
 *     place);
 *   - an accepted file has no error, and every value is within the limits
 *     its key declares (tick_ms, session timeouts with min <= max, the
 *     ensemble's size and ids, ports, log_level), with the relations
 *     validate() derives or enforces (reply, output and request limits,
 *     throttle_error and its code);
 *   - every node of an accepted tree has a place (line, column >= 1), maps
 *     have scalar keys, scalars have text, and corral_config_get finds each
 *     key of a map (the first of equal keys).
 * config_free() releases everything after each input (LeakSanitizer).
 */
#include "fuzz_common.h"

#include <ctype.h>

#include "config/config.h"
#include "corral/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    corral_log_set_level(CORRAL_LOG_FATAL);
    return 0;
}

static void check_error_text(const char *e)
{
    FUZZ_CHECK(e != NULL);
    static const char prefix[] = "fuzz.yaml:";
    FUZZ_CHECK(strncmp(e, prefix, sizeof prefix - 1) == 0);
    const char *p = e + sizeof prefix - 1;
    for (int field = 0; field < 2; field++) {
        FUZZ_CHECK(isdigit((unsigned char)*p) && *p != '0');
        while (isdigit((unsigned char)*p))
            p++;
        FUZZ_CHECK(*p == ':');
        p++;
    }
    FUZZ_CHECK(*p == ' ' && p[1] != '\0');
}

static void walk(const CorralConfig *n, int depth)
{
    FUZZ_CHECK(depth <= 64);   /* convert() refuses deeper nesting */
    FUZZ_CHECK(corral_config_line(n) >= 1 && corral_config_column(n) >= 1);
    FUZZ_CHECK(strcmp(corral_config_file(n), "fuzz.yaml") == 0);
    switch (corral_config_type(n)) {
    case CORRAL_CFG_SCALAR:
        FUZZ_CHECK(corral_config_scalar(n) != NULL && corral_config_len(n) == 0);
        break;
    case CORRAL_CFG_SEQ:
        for (size_t i = 0; i < corral_config_len(n); i++)
            walk(corral_config_at(n, i), depth + 1);
        FUZZ_CHECK(corral_config_at(n, corral_config_len(n)) == NULL);
        FUZZ_CHECK(corral_config_key_at(n, 0) == NULL);
        break;
    case CORRAL_CFG_MAP:
        for (size_t i = 0; i < corral_config_len(n); i++) {
            const CorralConfig *k = corral_config_key_at(n, i);
            const char *ks = corral_config_scalar(k);
            FUZZ_CHECK(ks != NULL);
            walk(k, depth + 1);
            walk(corral_config_at(n, i), depth + 1);
            const CorralConfig *found = corral_config_get(n, ks);
            FUZZ_CHECK(found != NULL);
            size_t first = 0;
            while (strcmp(corral_config_scalar(corral_config_key_at(n, first)), ks) != 0)
                first++;
            FUZZ_CHECK(found == corral_config_at(n, first));
        }
        FUZZ_CHECK(corral_config_key_at(n, corral_config_len(n)) == NULL);
        break;
    default:
        FUZZ_CHECK(corral_config_scalar(n) == NULL && corral_config_len(n) == 0);
        break;
    }
}

static void check_addr(const CorralAddr *a)
{
    FUZZ_CHECK(a->port >= 0 && a->port <= 65535);
    FUZZ_CHECK(memchr(a->host, '\0', sizeof a->host) != NULL && a->host[0] != '\0');
}

static void check_config(const CoreConfig *c)
{
    FUZZ_CHECK(c->server_id >= 0 && c->server_id <= 255);
    FUZZ_CHECK(c->tick_ms >= 1 && c->tick_ms <= 600000);
    FUZZ_CHECK(c->min_session_timeout_ms >= 1 && c->min_session_timeout_ms <= c->max_session_timeout_ms);
    FUZZ_CHECK(c->max_session_timeout_ms <= INT32_MAX);
    FUZZ_CHECK(c->max_request_bytes >= 1024 && c->max_request_bytes <= (1 << 30));
    /* what validate() derives or enforces between the limits */
    FUZZ_CHECK(c->max_reply_bytes >= c->max_request_bytes + 1024);
    FUZZ_CHECK(c->max_output_bytes >= c->max_reply_bytes + CORRAL_OUTPUT_PAUSE_BYTES);
    FUZZ_CHECK(c->sessionless_timeout_ms >= 10 && c->sessionless_timeout_ms <= 3600000);
    FUZZ_CHECK((c->throttle_code == -127 && strcmp(c->throttle_error, "throttled") == 0) ||
               (c->throttle_code == -119 && strcmp(c->throttle_error, "not_read_only") == 0));
    FUZZ_CHECK(c->extended_types == 0 || c->extended_types == 1);
    FUZZ_CHECK(c->read_only == 0 || c->read_only == 1);
    FUZZ_CHECK(corral_log_level_from_name(c->log_level) >= 0);
    FUZZ_CHECK(c->data_dir != NULL);
    check_addr(&c->client_listen);
    FUZZ_CHECK(c->n_members <= CORRAL_MAX_ENSEMBLE);
    int self = 0;
    for (size_t i = 0; i < c->n_members; i++) {
        const EnsembleMember *m = &c->members[i];
        FUZZ_CHECK(m->id >= 1 && m->id <= 255);
        check_addr(&m->peer);
        check_addr(&m->election);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(c->members[j].id != m->id);
        if (m->id == c->server_id)
            self = 1;
    }
    FUZZ_CHECK(c->n_members == 0 || self);
    for (size_t i = 0; i < c->module_path.n; i++)
        FUZZ_CHECK(c->module_path.v[i] != NULL);
    for (size_t i = 0; i < corral_config_len(c->modules); i++) {
        const char *name = corral_config_scalar(corral_config_key_at(c->modules, i));
        FUZZ_CHECK(name != NULL);
        for (const char *p = name; *p; p++)
            FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-');
    }
    FUZZ_CHECK(corral_config_type(c->root) == CORRAL_CFG_MAP);
    walk(c->root, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CoreConfig cfg;
    if (config_load_string("fuzz.yaml", (const char *)data, size, &cfg) < 0)
        check_error_text(config_last_error());
    else {
        FUZZ_CHECK(config_last_error() == NULL);
        check_config(&cfg);
    }
    config_free();
    return 0;
}
