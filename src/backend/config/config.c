/*
 * src/backend/config/config.c: YAML into an immutable node tree, and the
 * core's keys.
 *
 * libyaml's document API does the parsing; we copy its nodes into our own
 * compact tree because libyaml's document keeps node ids, not pointers, and
 * we want nodes that a module can hold for the life of the process.  The
 * tree is never freed: configuration lives as long as the process.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include <yaml.h>

#include "config/config.h"
#include "corral/log.h"
#include "utils/alloc.h"

struct CorralConfig {
    CorralConfigType type;
    const char *file;
    int line, column;            /* 1-based */
    const char *scalar;          /* SCALAR */
    size_t n;                    /* SEQ: items; MAP: pairs */
    CorralConfig **items;        /* SEQ: n items; MAP: 2n (key, value, ...) */
};

/* Every node, string and list of one configuration comes from one arena:
 * the configuration lives as long as the process, and a failed load
 * releases everything at once (config_free, config_drop_generation).  A
 * reload parses into a new arena (a generation); the older ones stay,
 * since modules and the core may still point at their strings, and go at
 * exit. */
#define CONFIG_MAX_GENERATIONS 4096
static Arena *cfg_gens[CONFIG_MAX_GENERATIONS];
static size_t cfg_ngens;

static void *cfg_zalloc(size_t n)
{
    if (cfg_ngens == 0) {
        cfg_gens[0] = xcalloc(1, sizeof(Arena));
        arena_init(cfg_gens[0], 16384);
        cfg_ngens = 1;
    }
    return arena_zalloc(cfg_gens[cfg_ngens - 1], n);
}

static char *cfg_strndup(const char *s, size_t n)
{
    char *p = cfg_zalloc(n + 1);
    memcpy(p, s, n);
    return p;
}

void config_free(void)
{
    while (cfg_ngens > 0)
        config_drop_generation();
}

int config_new_generation(void)
{
    if (cfg_ngens == CONFIG_MAX_GENERATIONS)
        return -1;
    cfg_gens[cfg_ngens] = xcalloc(1, sizeof(Arena));
    arena_init(cfg_gens[cfg_ngens], 16384);
    cfg_ngens++;
    return 0;
}

void config_drop_generation(void)
{
    if (cfg_ngens == 0)
        return;
    arena_free(cfg_gens[cfg_ngens - 1]);
    free(cfg_gens[cfg_ngens - 1]);
    cfg_ngens--;
}

static char config_error_text[1024];
static int config_error_set;

const char *config_last_error(void) { return config_error_set ? config_error_text : NULL; }
void config_clear_error(void) { config_error_set = 0; config_error_text[0] = '\0'; }

static const CorralConfig null_node = {CORRAL_CFG_NULL, "(none)", 0, 0, NULL, 0, NULL};

int corral_config_error(const CorralConfig *node, const char *fmt, ...)
{
    if (config_error_set)
        return -1;
    if (!node)
        node = &null_node;
    int n = snprintf(config_error_text, sizeof config_error_text, "%s:%d:%d: ",
                     node->file, node->line, node->column);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof config_error_text)
        vsnprintf(config_error_text + n, sizeof config_error_text - n, fmt, ap);
    va_end(ap);
    config_error_set = 1;
    return -1;
}

/* ---- accessors ---------------------------------------------------------- */

CorralConfigType corral_config_type(const CorralConfig *node) { return node ? node->type : CORRAL_CFG_NULL; }

const char *corral_config_type_name(const CorralConfig *node)
{
    switch (corral_config_type(node)) {
    case CORRAL_CFG_SCALAR: return "a scalar";
    case CORRAL_CFG_SEQ: return "a list";
    case CORRAL_CFG_MAP: return "a map";
    default: return "null";
    }
}

const CorralConfig *corral_config_get(const CorralConfig *map, const char *key)
{
    if (!map || map->type != CORRAL_CFG_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const CorralConfig *k = map->items[2 * i];
        if (k->type == CORRAL_CFG_SCALAR && strcmp(k->scalar, key) == 0)
            return map->items[2 * i + 1];
    }
    return NULL;
}

size_t corral_config_len(const CorralConfig *node)
{
    return node && (node->type == CORRAL_CFG_SEQ || node->type == CORRAL_CFG_MAP) ? node->n : 0;
}

const CorralConfig *corral_config_at(const CorralConfig *node, size_t i)
{
    if (!node || i >= corral_config_len(node))
        return NULL;
    return node->type == CORRAL_CFG_SEQ ? node->items[i] : node->items[2 * i + 1];
}

const CorralConfig *corral_config_key_at(const CorralConfig *map, size_t i)
{
    if (!map || map->type != CORRAL_CFG_MAP || i >= map->n)
        return NULL;
    return map->items[2 * i];
}

const char *corral_config_scalar(const CorralConfig *node)
{
    return node && node->type == CORRAL_CFG_SCALAR ? node->scalar : NULL;
}

int corral_config_line(const CorralConfig *node) { return node ? node->line : 0; }
int corral_config_column(const CorralConfig *node) { return node ? node->column : 0; }
const char *corral_config_file(const CorralConfig *node) { return node ? node->file : "(none)"; }

int corral_config_int(const CorralConfig *node, const char *what, int64_t min, int64_t max, int64_t *out)
{
    const char *s = corral_config_scalar(node);
    if (!s)
        return corral_config_error(node, "\"%s\" must be an integer, not %s", what, corral_config_type_name(node));
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);   /* decimal: "010" is 10, not octal 8 */
    if (end == s || *end != '\0' || errno == ERANGE)
        return corral_config_error(node, "\"%s\" must be an integer, not \"%s\"", what, s);
    if ((min != 0 || max != 0) && (v < min || v > max))
        return corral_config_error(node, "\"%s\" must be between %lld and %lld, not %lld", what,
                                   (long long)min, (long long)max, v);
    *out = v;
    return 0;
}

int corral_config_bool(const CorralConfig *node, const char *what, int *out)
{
    const char *s = corral_config_scalar(node);
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    if (s) {
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(s, yes[i]) == 0) { *out = 1; return 0; }
            if (strcasecmp(s, no[i]) == 0) { *out = 0; return 0; }
        }
        return corral_config_error(node, "\"%s\" must be true or false, not \"%s\"", what, s);
    }
    return corral_config_error(node, "\"%s\" must be true or false, not %s", what, corral_config_type_name(node));
}

int corral_config_string(const CorralConfig *node, const char *what, const char **out)
{
    const char *s = corral_config_scalar(node);
    if (!s)
        return corral_config_error(node, "\"%s\" must be a string, not %s", what, corral_config_type_name(node));
    *out = s;
    return 0;
}

static int parse_addr(const CorralConfig *node, const char *what, CorralAddr *out)
{
    const char *s = corral_config_scalar(node);
    if (!s)
        return corral_config_error(node, "\"%s\" must be \"host:port\", not %s", what, corral_config_type_name(node));
    const char *host = s, *colon;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return corral_config_error(node, "\"%s\" must be \"host:port\", not \"%s\"", what, s);
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return corral_config_error(node, "\"%s\" must be \"host:port\", not \"%s\"", what, s);
        hlen = (size_t)(colon - s);
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535 || errno)
        return corral_config_error(node, "\"%s\": bad port in \"%s\"", what, s);
    if (hlen == 0 || hlen >= sizeof out->host)
        return corral_config_error(node, "\"%s\": bad host in \"%s\"", what, s);
    char hbuf[sizeof out->host];
    memcpy(hbuf, host, hlen);
    hbuf[hlen] = '\0';
    unsigned char tmp[16];
    if (strcmp(hbuf, "localhost") != 0 && inet_pton(AF_INET, hbuf, tmp) != 1 &&
        inet_pton(AF_INET6, hbuf, tmp) != 1)
        return corral_config_error(node, "\"%s\": \"%s\" is not a numeric IPv4 or IPv6 address", what, hbuf);
    memcpy(out->host, hbuf, hlen + 1);
    out->port = (int)port;
    return 0;
}

static int parse_strlist(const CorralConfig *node, const char *what, CorralStrList *out)
{
    if (corral_config_type(node) != CORRAL_CFG_SEQ)
        return corral_config_error(node, "\"%s\" must be a list, not %s", what, corral_config_type_name(node));
    const char **v = cfg_zalloc((node->n + 1) * sizeof *v);
    for (size_t i = 0; i < node->n; i++)
        if (corral_config_string(node->items[i], what, &v[i]) < 0)
            return -1;
    out->n = node->n;
    out->v = v;
    return 0;
}

int corral_config_apply(const CorralConfig *map, const CorralConfigKey *keys, void *base)
{
    const CorralConfig *where = map;   /* errors about a null map point at it */
    if (corral_config_type(map) == CORRAL_CFG_NULL)
        map = NULL;
    else if (map->type != CORRAL_CFG_MAP)
        return corral_config_error(map, "expected a map of settings, not %s", corral_config_type_name(map));
    for (size_t i = 0; map && i < map->n; i++) {
        const CorralConfig *k = map->items[2 * i];
        const CorralConfigKey *d = keys;
        while (d->name && (!k->scalar || strcmp(d->name, k->scalar) != 0))
            d++;
        if (!d->name)
            return corral_config_error(k, "unknown key \"%s\"", k->scalar ? k->scalar : "?");
        for (size_t j = 0; j < i; j++)
            if (strcmp(map->items[2 * j]->scalar, k->scalar) == 0)
                return corral_config_error(k, "duplicate key \"%s\"", k->scalar);
        const CorralConfig *v = map->items[2 * i + 1];
        char *field = (char *)base + d->offset;
        int rc = 0;
        switch (d->kind) {
        case CORRAL_KEY_INT: rc = corral_config_int(v, d->name, d->min, d->max, (int64_t *)field); break;
        case CORRAL_KEY_BOOL: rc = corral_config_bool(v, d->name, (int *)field); break;
        case CORRAL_KEY_STRING: rc = corral_config_string(v, d->name, (const char **)field); break;
        case CORRAL_KEY_STRLIST: rc = parse_strlist(v, d->name, (CorralStrList *)field); break;
        case CORRAL_KEY_ADDR: rc = parse_addr(v, d->name, (CorralAddr *)field); break;
        case CORRAL_KEY_NODE: *(const CorralConfig **)field = v; break;
        }
        if (rc < 0)
            return -1;
    }
    for (const CorralConfigKey *d = keys; d->name; d++)
        if (d->required && !corral_config_get(map, d->name))
            return corral_config_error(map ? map : where, "missing required key \"%s\"", d->name);
    return 0;
}

/* ---- YAML to nodes ------------------------------------------------------ */

/*
 * An alias is copied wherever it is used, so a few lines of anchors that
 * alias each other ("billion laughs": ten aliases of ten aliases of ...)
 * expand exponentially: seven levels took 10 s and 850 MB before this
 * limit (found by regress/fuzz/fuzz_config.c).  A real configuration has
 * a few hundred nodes.
 */
#define CONFIG_MAX_NODES 100000
static size_t cfg_nodes;    /* converted by this parse_yaml */

static CorralConfig *convert(yaml_document_t *doc, yaml_node_t *yn, const char *file, int depth)
{
    CorralConfig *c = cfg_zalloc(sizeof *c);
    c->file = file;
    c->line = (int)yn->start_mark.line + 1;
    c->column = (int)yn->start_mark.column + 1;
    if (depth > 64) {
        corral_config_error(c, "nesting deeper than 64 levels");
        return NULL;
    }
    if (++cfg_nodes > CONFIG_MAX_NODES) {
        corral_config_error(c, "more than %d nodes (aliases expanding too much?)", CONFIG_MAX_NODES);
        return NULL;
    }
    switch (yn->type) {
    case YAML_SCALAR_NODE: {
        const char *v = (const char *)yn->data.scalar.value;
        size_t len = yn->data.scalar.length;
        int plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && (len == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
                      strcmp(v, "NULL") == 0)) {
            c->type = CORRAL_CFG_NULL;
        } else {
            if (memchr(v, '\0', len)) {
                corral_config_error(c, "NUL character in value");
                return NULL;
            }
            c->type = CORRAL_CFG_SCALAR;
            c->scalar = cfg_strndup(v, len);
        }
        break;
    }
    case YAML_SEQUENCE_NODE: {
        c->type = CORRAL_CFG_SEQ;
        size_t n = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        c->items = cfg_zalloc((n ? n : 1) * sizeof *c->items);
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *child = yaml_document_get_node(doc, yn->data.sequence.items.start[i]);
            if (!(c->items[i] = convert(doc, child, file, depth + 1)))
                return NULL;
        }
        c->n = n;
        break;
    }
    case YAML_MAPPING_NODE: {
        c->type = CORRAL_CFG_MAP;
        size_t n = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        c->items = cfg_zalloc((2 * n + 1) * sizeof *c->items);
        for (size_t i = 0; i < n; i++) {
            yaml_node_pair_t *p = &yn->data.mapping.pairs.start[i];
            CorralConfig *k = convert(doc, yaml_document_get_node(doc, p->key), file, depth + 1);
            if (!k)
                return NULL;
            if (k->type != CORRAL_CFG_SCALAR) {
                corral_config_error(k, "map keys must be plain strings");
                return NULL;
            }
            CorralConfig *v = convert(doc, yaml_document_get_node(doc, p->value), file, depth + 1);
            if (!v)
                return NULL;
            c->items[2 * i] = k;
            c->items[2 * i + 1] = v;
        }
        c->n = n;
        break;
    }
    default:
        c->type = CORRAL_CFG_NULL;
    }
    return c;
}

static CorralConfig *parse_yaml(const char *file, const unsigned char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    CorralConfig *root = NULL;
    CorralConfig where = {CORRAL_CFG_NULL, file, 1, 1, NULL, 0, NULL};

    if (!yaml_parser_initialize(&parser)) {
        corral_config_error(&where, "cannot initialise the YAML parser");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        where.line = (int)parser.problem_mark.line + 1;
        where.column = (int)parser.problem_mark.column + 1;
        if (parser.context)
            corral_config_error(&where, "%s %s", parser.problem ? parser.problem : "YAML error", parser.context);
        else
            corral_config_error(&where, "%s", parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_node_t *top = yaml_document_get_root_node(&doc);
    cfg_nodes = 0;
    if (!top) {
        corral_config_error(&where, "the configuration is empty");
    } else {
        root = convert(&doc, top, file, 0);
        if (root && root->type != CORRAL_CFG_MAP) {
            corral_config_error(root, "the configuration must be a map with a \"server\" key, not %s",
                                corral_config_type_name(root));
            root = NULL;
        }
    }
    /* A second document in the same file is almost certainly a mistake. */
    if (root) {
        yaml_document_t extra;
        if (yaml_parser_load(&parser, &extra)) {
            yaml_node_t *n2 = yaml_document_get_root_node(&extra);
            if (n2) {
                where.line = (int)n2->start_mark.line + 1;
                where.column = (int)n2->start_mark.column + 1;
                corral_config_error(&where, "only one YAML document is allowed");
                root = NULL;
            }
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return root;
}

/* ---- the core's keys ---------------------------------------------------- */

/* The core's keys, once: the parser's table (server_keys) and the reload
 * classes (server_key_reload) are both made from this list, so a key
 * cannot be added to one and forgotten in the other.
 *   RUNTIME: a reload (SIGHUP, admin_http's reload) applies a new value;
 *   RESTART: a new value is reported as pending_restart and waits for the
 *            next start (listeners, storage, the ensemble, buffer sizes
 *            that connections were made with).
 * doc/configuration.md has a "reload" column for each; 009 compares it
 * with `corrald --describe-config`. */
#define SERVER_KEYS(X) \
    X(id, INT, server_id, 1, 255, RESTART) \
    X(data_dir, STRING, data_dir, 0, 0, RESTART) \
    X(client_listen, ADDR, client_listen, 0, 0, RESTART) \
    X(secure_client_listen, ADDR, secure_client_listen, 0, 0, RESTART) \
    X(ensemble_secret_file, STRING, ensemble_secret_file, 0, 0, RESTART) \
    X(tick_ms, INT, tick_ms, 1, 600000, RESTART) \
    X(min_session_timeout_ms, INT, min_session_timeout_ms, 1, INT32_MAX, RUNTIME) \
    X(max_session_timeout_ms, INT, max_session_timeout_ms, 1, INT32_MAX, RESTART) \
    X(max_client_connections, INT, max_client_connections, 0, 1000000, RUNTIME) \
    X(max_request_bytes, INT, max_request_bytes, 1024, 1 << 30, RESTART) \
    X(max_sessions, INT, max_sessions, 0, 100000000, RUNTIME) \
    X(max_connections, INT, max_connections, 0, 10000000, RESTART) \
    X(max_output_bytes, INT, max_output_bytes, 65536, INT64_C(1) << 40, RUNTIME) \
    X(max_output_total_bytes, INT, max_output_total_bytes, 1 << 20, INT64_C(1) << 50, RUNTIME) \
    X(max_reply_bytes, INT, max_reply_bytes, 4096, INT64_C(1) << 31, RESTART) \
    X(sessionless_timeout_ms, INT, sessionless_timeout_ms, 10, 3600000, RUNTIME) \
    X(max_memory_bytes, INT, max_memory_bytes, 0, INT64_C(1) << 50, RESTART) \
    X(max_outstanding_requests, INT, max_outstanding_requests, 0, 100000000, RUNTIME) \
    X(max_session_bytes_per_second, INT, max_session_bytes_per_second, 0, INT64_C(1) << 40, RUNTIME) \
    X(max_watches_per_session, INT, max_watches_per_session, 0, 1000000000, RUNTIME) \
    X(max_ephemerals_per_session, INT, max_ephemerals_per_session, 0, 1000000000, RUNTIME) \
    X(throttle_error, STRING, throttle_error, 0, 0, RUNTIME) \
    X(extended_types, BOOL, extended_types, 0, 0, RESTART) \
    X(read_only, BOOL, read_only, 0, 0, RESTART) \
    X(log_level, STRING, log_level, 0, 0, RUNTIME) \
    X(init_limit, INT, init_limit, 1, 1000, RESTART) \
    X(sync_limit, INT, sync_limit, 1, 1000, RESTART) \
    X(container_check_ms, INT, container_check_ms, 10, 86400000, RUNTIME) \
    X(peer_timeout_ms, INT, peer_timeout_ms, 20, 3600000, RESTART) \
    X(zab_start_counter, INT, zab_start_counter, 0, 0xFFFFFFF0LL, RESTART) \
    X(digest_mismatch_exit, BOOL, digest_mismatch_exit, 0, 0, RUNTIME) \
    X(linearizable_reads, BOOL, linearizable_reads, 0, 0, RESTART) \
    X(test_diverge_path, STRING, test_diverge_path, 0, 0, RESTART) \
    X(reconfig_enabled, BOOL, reconfig_enabled, 0, 0, RESTART) \
    X(reconfig_skip_acl, BOOL, reconfig_skip_acl, 0, 0, RESTART)

#define SRV(f) offsetof(CoreConfig, f)
#define SERVER_KEY_(NAME, KIND, FIELD, MIN, MAX, RELOAD) {#NAME, CORRAL_KEY_##KIND, SRV(FIELD), 0, MIN, MAX},
static const CorralConfigKey server_keys[] = {SERVER_KEYS(SERVER_KEY_) CORRAL_CONFIG_KEYS_END};
#define SERVER_RELOAD_(NAME, KIND, FIELD, MIN, MAX, RELOAD) CONFIG_##RELOAD,
static const ConfigReload server_key_reload[] = {SERVER_KEYS(SERVER_RELOAD_)};
_Static_assert(sizeof server_keys / sizeof *server_keys == sizeof server_key_reload / sizeof *server_key_reload + 1,
               "one reload class per server key");

size_t config_server_key_count(void) { return sizeof server_key_reload / sizeof *server_key_reload; }

const CorralConfigKey *config_server_key(size_t i, ConfigReload *reload)
{
    if (i >= config_server_key_count())
        return NULL;
    if (reload)
        *reload = server_key_reload[i];
    return &server_keys[i];
}

static size_t key_size(CorralConfigKind kind)
{
    switch (kind) {
    case CORRAL_KEY_INT: return sizeof(int64_t);
    case CORRAL_KEY_BOOL: return sizeof(int);
    case CORRAL_KEY_ADDR: return sizeof(CorralAddr);
    case CORRAL_KEY_STRLIST: return sizeof(CorralStrList);
    default: return sizeof(const char *);
    }
}

static int strlist_equal(const CorralStrList *a, const CorralStrList *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return 0;
    return 1;
}

int config_field_equal(const CorralConfigKey *k, const void *a, const void *b)
{
    const char *fa = (const char *)a + k->offset, *fb = (const char *)b + k->offset;
    switch (k->kind) {
    case CORRAL_KEY_STRING: {
        const char *sa = *(const char *const *)fa, *sb = *(const char *const *)fb;
        return (!sa && !sb) || (sa && sb && strcmp(sa, sb) == 0);
    }
    case CORRAL_KEY_STRLIST: return strlist_equal((const CorralStrList *)fa, (const CorralStrList *)fb);
    case CORRAL_KEY_NODE:
        return config_node_equal(*(const CorralConfig *const *)fa, *(const CorralConfig *const *)fb);
    default: return memcmp(fa, fb, key_size(k->kind)) == 0;
    }
}

void config_field_copy(const CorralConfigKey *k, void *dst, const void *src)
{
    memcpy((char *)dst + k->offset, (const char *)src + k->offset, key_size(k->kind));
}

int config_node_equal(const CorralConfig *a, const CorralConfig *b)
{
    if (corral_config_type(a) != corral_config_type(b))
        return 0;
    if (!a || !b || a->type == CORRAL_CFG_NULL)
        return 1;
    if (a->type == CORRAL_CFG_SCALAR)
        return strcmp(a->scalar, b->scalar) == 0;
    if (a->n != b->n)
        return 0;
    size_t items = a->type == CORRAL_CFG_MAP ? 2 * a->n : a->n;
    for (size_t i = 0; i < items; i++)
        if (!config_node_equal(a->items[i], b->items[i]))
            return 0;
    return 1;
}

int config_ensemble_equal(const CoreConfig *a, const CoreConfig *b)
{
    return a->n_members == b->n_members && memcmp(a->members, b->members, a->n_members * sizeof *a->members) == 0;
}

int config_module_path_equal(const CoreConfig *a, const CoreConfig *b)
{
    return strlist_equal(&a->module_path, &b->module_path);
}

typedef struct MemberTmp {
    int64_t id;
    CorralAddr peer, election, client;
    const char *role;
} MemberTmp;

static const CorralConfigKey member_keys[] = {
    {"id", CORRAL_KEY_INT, offsetof(MemberTmp, id), 1, 1, 255},
    {"peer", CORRAL_KEY_ADDR, offsetof(MemberTmp, peer), 1, 0, 0},
    {"election", CORRAL_KEY_ADDR, offsetof(MemberTmp, election), 1, 0, 0},
    {"role", CORRAL_KEY_STRING, offsetof(MemberTmp, role), 0, 0, 0},
    {"client", CORRAL_KEY_ADDR, offsetof(MemberTmp, client), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END};

#define TLS(f) offsetof(TlsConfig, f)
static const CorralConfigKey tls_keys[] = {
    {"cert_file", CORRAL_KEY_STRING, TLS(cert_file), 0, 0, 0},
    {"key_file", CORRAL_KEY_STRING, TLS(key_file), 0, 0, 0},
    {"ca_file", CORRAL_KEY_STRING, TLS(ca_file), 0, 0, 0},
    {"client_auth", CORRAL_KEY_STRING, TLS(client_auth), 0, 0, 0},
    {"min_protocol", CORRAL_KEY_STRING, TLS(min_protocol), 0, 0, 0},
    {"max_protocol", CORRAL_KEY_STRING, TLS(max_protocol), 0, 0, 0},
    {"ciphers", CORRAL_KEY_STRING, TLS(ciphers), 0, 0, 0},
    {"ciphersuites", CORRAL_KEY_STRING, TLS(ciphersuites), 0, 0, 0},
    {"quorum", CORRAL_KEY_BOOL, TLS(quorum), 0, 0, 0},
    {"member_names", CORRAL_KEY_NODE, TLS(member_names), 0, 0, 0},
    CORRAL_CONFIG_KEYS_END};

/* The `tls:` map: shape and names only; net/tls.c reads the files (and
 * reports what is wrong with them) when it builds its contexts. */
static int validate_tls(CoreConfig *c, const CorralConfig *node)
{
    TlsConfig *t = &c->tls;
    t->client_auth = "none";
    t->min_protocol = "TLSv1.2";
    if (!node || corral_config_type(node) == CORRAL_CFG_NULL)
        return 0;
    if (corral_config_type(node) != CORRAL_CFG_MAP)
        return corral_config_error(node, "\"tls\" must be a map, not %s", corral_config_type_name(node));
    if (corral_config_apply(node, tls_keys, t) < 0)
        return -1;
    t->present = 1;
    static const char *const modes[] = {"none", "want", "need"};
    t->client_auth_mode = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(t->client_auth, modes[i]) == 0)
            t->client_auth_mode = i;
    if (t->client_auth_mode < 0)
        return corral_config_error(corral_config_get(node, "client_auth"),
                                   "\"client_auth\" must be none, want or need, not \"%s\"", t->client_auth);
    const char *const *protos[] = {&t->min_protocol, &t->max_protocol};
    for (int i = 0; i < 2; i++) {
        const char *v = *protos[i];
        if (v && strcmp(v, "TLSv1.2") != 0 && strcmp(v, "TLSv1.3") != 0)
            return corral_config_error(corral_config_get(node, i ? "max_protocol" : "min_protocol"),
                                       "\"%s\" must be TLSv1.2 or TLSv1.3, not \"%s\"",
                                       i ? "max_protocol" : "min_protocol", v);
    }
    if (t->max_protocol && strcmp(t->min_protocol, "TLSv1.3") == 0 && strcmp(t->max_protocol, "TLSv1.2") == 0)
        return corral_config_error(corral_config_get(node, "max_protocol"), "max_protocol is below min_protocol");
    if (!t->cert_file || !t->key_file)
        return corral_config_error(node, "\"tls\" needs cert_file and key_file");
    if ((t->client_auth_mode > 0 || t->quorum) && !t->ca_file)
        return corral_config_error(node, "\"tls\" needs ca_file to verify %s certificates",
                                   t->quorum ? "members'" : "clients'");
    if (t->member_names) {
        if (corral_config_type(t->member_names) != CORRAL_CFG_MAP)
            return corral_config_error(t->member_names, "\"member_names\" must be a map of member id to name");
        for (size_t i = 0; i < corral_config_len(t->member_names); i++) {
            const CorralConfig *k = corral_config_key_at(t->member_names, i);
            int64_t id;
            const char *name;
            if (corral_config_int(k, "member_names", 1, 255, &id) < 0 ||
                corral_config_string(corral_config_at(t->member_names, i), "member_names", &name) < 0)
                return -1;
            /* An id outside "ensemble" names a member that will join by
             * reconfig. */
        }
    }
    return 0;
}

/* The name member `id`'s certificate must carry (tls.member_names, or
 * else its peer address's host). */
const char *config_member_tls_name(const CoreConfig *c, int64_t id)
{
    for (size_t i = 0; i < corral_config_len(c->tls.member_names); i++) {
        const char *k = corral_config_scalar(corral_config_key_at(c->tls.member_names, i));
        if (k && strtoll(k, NULL, 10) == id)
            return corral_config_scalar(corral_config_at(c->tls.member_names, i));
    }
    for (size_t i = 0; i < c->n_members; i++)
        if (c->members[i].id == id)
            return c->members[i].peer.host;
    return NULL;
}

static void set_defaults(CoreConfig *c)
{
    memset(c, 0, sizeof *c);
    c->data_dir = "./data";
    snprintf(c->client_listen.host, sizeof c->client_listen.host, "127.0.0.1");
    c->client_listen.port = 2181;
    c->tick_ms = 2000;
    c->max_client_connections = 60;
    c->max_request_bytes = 1048575;      /* jute.maxbuffer default 0xfffff */
    c->max_output_bytes = 64 << 20;
    c->max_output_total_bytes = 256 << 20;
    c->max_reply_bytes = -1;             /* derived from max_request_bytes below */
    c->sessionless_timeout_ms = 10000;   /* zookeeper.nio.sessionlessCnxnTimeout */
    c->throttle_error = "throttled";
    c->log_level = "info";
    c->init_limit = 10;
    c->sync_limit = 5;
    c->container_check_ms = 60000;
    c->min_session_timeout_ms = -1;
    c->max_session_timeout_ms = -1;
}

static int validate(CoreConfig *c, CorralConfig *root)
{
    struct { const CorralConfig *server, *ensemble, *module_path, *modules, *tls; } top = {0};
    if (corral_config_apply(root, (CorralConfigKey[]){
            {"server", CORRAL_KEY_NODE, offsetof(__typeof__(top), server), 1, 0, 0},
            {"ensemble", CORRAL_KEY_NODE, offsetof(__typeof__(top), ensemble), 0, 0, 0},
            {"module_path", CORRAL_KEY_NODE, offsetof(__typeof__(top), module_path), 0, 0, 0},
            {"modules", CORRAL_KEY_NODE, offsetof(__typeof__(top), modules), 0, 0, 0},
            {"tls", CORRAL_KEY_NODE, offsetof(__typeof__(top), tls), 0, 0, 0},
            CORRAL_CONFIG_KEYS_END}, &top) < 0)
        return -1;
    c->root = root;
    if (corral_config_type(top.server) != CORRAL_CFG_MAP)
        return corral_config_error(top.server ? top.server : root, "\"server\" must be a map, not %s",
                                   corral_config_type_name(top.server));
    if (corral_config_apply(top.server, server_keys, c) < 0)
        return -1;
    c->has_secure_client_listen = corral_config_get(top.server, "secure_client_listen") != NULL;
    /* ZooKeeper: clientPort may be left out when secureClientPort is set. */
    c->has_client_listen = corral_config_get(top.server, "client_listen") != NULL || !c->has_secure_client_listen;
    if (corral_log_level_from_name(c->log_level) < 0)
        return corral_config_error(corral_config_get(top.server, "log_level"),
                                   "\"log_level\" must be debug, info, warn or error, not \"%s\"", c->log_level);
    if (c->min_session_timeout_ms < 0)
        c->min_session_timeout_ms = 2 * c->tick_ms;
    if (c->max_session_timeout_ms < 0)
        c->max_session_timeout_ms = 20 * c->tick_ms;
    if (c->min_session_timeout_ms > c->max_session_timeout_ms)
        return corral_config_error(top.server, "min_session_timeout_ms (%lld) is above max_session_timeout_ms (%lld)",
                                   (long long)c->min_session_timeout_ms, (long long)c->max_session_timeout_ms);
    if (strcmp(c->throttle_error, "throttled") == 0)
        c->throttle_code = -127;   /* ZooKeeper 3.6+ Code.THROTTLEDOP */
    else if (strcmp(c->throttle_error, "not_read_only") == 0)
        c->throttle_code = -119;   /* Code.NOTREADONLY: known to clients older than 3.6 (kazoo 2.8) */
    else
        return corral_config_error(corral_config_get(top.server, "throttle_error"),
                                   "\"throttle_error\" must be throttled or not_read_only, not \"%s\"",
                                   c->throttle_error);
    /* A reply must fit a getData of the largest node; the output limit must
     * fit the largest reply on top of the backlog that pauses reading. */
    if (c->max_reply_bytes < 0)
        c->max_reply_bytes = c->max_request_bytes + 65536 > (16 << 20) ? c->max_request_bytes + 65536 : (16 << 20);
    else if (c->max_reply_bytes < c->max_request_bytes + 1024)
        return corral_config_error(corral_config_get(top.server, "max_reply_bytes"),
                                   "max_reply_bytes (%lld) must be at least max_request_bytes + 1024 (%lld)",
                                   (long long)c->max_reply_bytes, (long long)c->max_request_bytes + 1024);
    if (!corral_config_get(top.server, "max_output_bytes") &&
        c->max_output_bytes < c->max_reply_bytes + CORRAL_OUTPUT_PAUSE_BYTES)
        c->max_output_bytes = c->max_reply_bytes + 2 * CORRAL_OUTPUT_PAUSE_BYTES;
    else if (c->max_output_bytes < c->max_reply_bytes + CORRAL_OUTPUT_PAUSE_BYTES)
        return corral_config_error(corral_config_get(top.server, "max_output_bytes"),
                                   "max_output_bytes (%lld) must be at least max_reply_bytes + %d (%lld)",
                                   (long long)c->max_output_bytes, CORRAL_OUTPUT_PAUSE_BYTES,
                                   (long long)c->max_reply_bytes + CORRAL_OUTPUT_PAUSE_BYTES);

    if (top.ensemble && corral_config_type(top.ensemble) != CORRAL_CFG_NULL) {
        if (corral_config_type(top.ensemble) != CORRAL_CFG_SEQ)
            return corral_config_error(top.ensemble, "\"ensemble\" must be a list of members, not %s",
                                       corral_config_type_name(top.ensemble));
        size_t n = corral_config_len(top.ensemble);
        if (n > CORRAL_MAX_ENSEMBLE)
            return corral_config_error(top.ensemble, "at most %d ensemble members", CORRAL_MAX_ENSEMBLE);
        int self_found = 0;
        for (size_t i = 0; i < n; i++) {
            const CorralConfig *mnode = corral_config_at(top.ensemble, i);
            MemberTmp t = {0};
            if (corral_config_apply(mnode, member_keys, &t) < 0)
                return -1;
            if (corral_config_type(mnode) == CORRAL_CFG_NULL)
                return corral_config_error(mnode, "an ensemble member must be a map with id, peer and election");
            EnsembleMember *m = &c->members[i];
            m->id = t.id;
            m->peer = t.peer;
            m->election = t.election;
            m->has_client = corral_config_get(mnode, "client") != NULL;
            m->client = t.client;
            if (t.role && strcmp(t.role, "observer") == 0)
                m->observer = 1;
            else if (t.role && strcmp(t.role, "participant") != 0)
                return corral_config_error(corral_config_get(mnode, "role"),
                                           "\"role\" must be participant or observer, not \"%s\"", t.role);
            for (size_t j = 0; j < i; j++)
                if (c->members[j].id == m->id)
                    return corral_config_error(corral_config_get(mnode, "id"), "duplicate ensemble member id %lld",
                                               (long long)m->id);
            if (m->id == c->server_id)
                self_found = 1;
        }
        c->n_members = n;
        if (!corral_config_get(top.server, "id"))
            return corral_config_error(top.server, "missing required key \"id\" (required when \"ensemble\" is present)");
        if (!self_found)
            return corral_config_error(corral_config_get(top.server, "id"),
                                       "server id %lld is not a member of \"ensemble\"", (long long)c->server_id);
    }

    if (validate_tls(c, top.tls) < 0)
        return -1;
    if (c->has_secure_client_listen && !c->tls.present)
        return corral_config_error(corral_config_get(top.server, "secure_client_listen"),
                                   "\"secure_client_listen\" needs a top-level \"tls\" map (cert_file, key_file)");
    if (c->tls.quorum && c->ensemble_secret_file)
        return corral_config_error(corral_config_get(top.server, "ensemble_secret_file"),
                                   "\"ensemble_secret_file\" and tls.quorum exclude each other (mutual TLS "
                                   "authenticates members)");

    if (top.module_path && parse_strlist(top.module_path, "module_path", &c->module_path) < 0)
        return -1;
    if (top.modules && corral_config_type(top.modules) != CORRAL_CFG_NULL &&
        corral_config_type(top.modules) != CORRAL_CFG_MAP)
        return corral_config_error(top.modules, "\"modules\" must be a map of module name to settings, not %s",
                                   corral_config_type_name(top.modules));
    c->modules = top.modules;
    for (size_t i = 0; i < corral_config_len(c->modules); i++) {
        const char *name = corral_config_scalar(corral_config_key_at(c->modules, i));
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                return corral_config_error(corral_config_key_at(c->modules, i),
                                           "module name \"%s\" may only contain a-z, 0-9, _ and -", name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(name, corral_config_scalar(corral_config_key_at(c->modules, j))) == 0)
                return corral_config_error(corral_config_key_at(c->modules, i), "duplicate key \"%s\"", name);
    }
    return 0;
}

int config_load_string(const char *name, const char *text, size_t len, CoreConfig *out)
{
    config_clear_error();
    set_defaults(out);
    out->file = name;
    CorralConfig *root = parse_yaml(cfg_strndup(name, strlen(name)), (const unsigned char *)text, len);
    if (!root)
        return -1;
    return validate(out, root);
}

int config_load_file(const char *path, CoreConfig *out)
{
    config_clear_error();
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(config_error_text, sizeof config_error_text, "%s: cannot open: %s", path, strerror(errno));
        config_error_set = 1;
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 4096)
            buf = xrealloc(buf, cap = cap ? cap * 2 : 8192);
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
        if (len > (1 << 24)) {
            fclose(f);
            free(buf);
            snprintf(config_error_text, sizeof config_error_text, "%s: larger than 16 MiB", path);
            config_error_set = 1;
            return -1;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        snprintf(config_error_text, sizeof config_error_text, "%s: read error", path);
        config_error_set = 1;
        return -1;
    }
    int rc = config_load_string(path, buf, len, out);
    free(buf);
    return rc;
}
