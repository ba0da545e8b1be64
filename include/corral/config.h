/*
 * include/corral/config.h: read access to the YAML configuration, for the core
 * and for modules.
 *
 * The whole file is parsed once at startup into an immutable tree of nodes
 * (maps, sequences, scalars), each remembering its file, line and column.
 * A module receives the node under `modules.<its name>` and validates it,
 * ideally with a key table (corral_config_apply), so that adding a setting
 * writes no parser code (nginx's ngx_command_t is the model).
 *
 * Every error is reported as "FILE:LINE:COLUMN: message" and makes
 * startup (or --check-config) fail with exit code 2.  Strings returned here
 * live as long as the configuration, i.e. for the life of the process.
 */
#ifndef CORRAL_CONFIG_H
#define CORRAL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralConfig CorralConfig;

typedef enum CorralConfigType {
    CORRAL_CFG_NULL = 0,     /* an absent node or an explicit null / ~ */
    CORRAL_CFG_SCALAR,
    CORRAL_CFG_SEQ,
    CORRAL_CFG_MAP
} CorralConfigType;

CorralConfigType corral_config_type(const CorralConfig *node);
const char *corral_config_type_name(const CorralConfig *node);
/* Map lookup; NULL when the node is not a map or has no such key. */
const CorralConfig *corral_config_get(const CorralConfig *map, const char *key);
/* Number of entries of a map or sequence (0 otherwise). */
size_t corral_config_len(const CorralConfig *node);
/* i-th element of a sequence, or i-th value of a map. */
const CorralConfig *corral_config_at(const CorralConfig *node, size_t i);
/* i-th key of a map (as a node, so errors can point at the key). */
const CorralConfig *corral_config_key_at(const CorralConfig *map, size_t i);
/* Text of a scalar; NULL for any other type. */
const char *corral_config_scalar(const CorralConfig *node);
int corral_config_line(const CorralConfig *node);    /* 1-based */
int corral_config_column(const CorralConfig *node);  /* 1-based */
const char *corral_config_file(const CorralConfig *node);

/* Records "FILE:LINE:COLUMN: message" for the node and returns -1.  The first
 * error recorded is the one reported. */
int corral_config_error(const CorralConfig *node, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Scalar conversions; each reports an error naming `what` and returns -1 on
 * a wrong type or a value out of range. */
int corral_config_int(const CorralConfig *node, const char *what, int64_t min, int64_t max, int64_t *out);
int corral_config_bool(const CorralConfig *node, const char *what, int *out);
int corral_config_string(const CorralConfig *node, const char *what, const char **out);

/* ---- table-driven validation ------------------------------------------ */
typedef enum CorralConfigKind {
    CORRAL_KEY_INT,        /* int64_t; min/max enforced */
    CORRAL_KEY_BOOL,       /* int, 0 or 1 (true/false/yes/no/on/off) */
    CORRAL_KEY_STRING,     /* const char * */
    CORRAL_KEY_STRLIST,    /* CorralStrList: a sequence of scalars */
    CORRAL_KEY_ADDR,       /* CorralAddr: "host:port" or "[v6]:port" */
    CORRAL_KEY_NODE        /* const CorralConfig *: validated by the caller */
} CorralConfigKind;

typedef struct CorralStrList {
    size_t n;
    const char **v;        /* allocated once, lives with the configuration */
} CorralStrList;

typedef struct CorralAddr {
    char host[64];         /* numeric address or "localhost"; [] stripped for v6 */
    int port;
} CorralAddr;

typedef struct CorralConfigKey {
    const char *name;
    CorralConfigKind kind;
    size_t offset;         /* offsetof() into the caller's struct */
    int required;
    int64_t min, max;      /* CORRAL_KEY_INT only (0,0 = no limits) */
} CorralConfigKey;

#define CORRAL_CONFIG_KEYS_END {NULL, 0, 0, 0, 0, 0}

/* Checks that `map` is a map (a null node counts as an empty map), that every
 * key in it is in `keys`, that every required key is present and that each
 * value has the declared kind; stores the values at base+offset.  Absent
 * optional keys leave the struct untouched, so set defaults before calling.
 * Returns 0, or -1 after recording the first error. */
int corral_config_apply(const CorralConfig *map, const CorralConfigKey *keys, void *base);

#endif
