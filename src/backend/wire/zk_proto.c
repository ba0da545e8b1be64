/*
 * src/backend/wire/zk_proto.c: name tables for the protocol constants and
 * ZooKeeper's znode path validation.  See zk_proto.h.
 */
#include <stdint.h>
#include <stdio.h>

#include "wire/zk_proto.h"

/* ---- names -------------------------------------------------------------------- */

/* Indexed by opcode + ZK_OP_BIAS; rows ZooKeeper does not have are empty. */
static const ZkOpInfo op_table[ZK_OP_SLOTS] = {
#define ZK_OP(code, name, abbrev, class, flags, handler) [(code) + ZK_OP_BIAS] = {code, name, abbrev, ZK_OPC_##class, flags},
#include "wire/zk_ops.def"
#undef ZK_OP
};

const ZkOpInfo *zk_op_info(int op)
{
    if (op < -ZK_OP_BIAS || op >= ZK_OP_SLOTS - ZK_OP_BIAS)
        return NULL;
    const ZkOpInfo *i = &op_table[op + ZK_OP_BIAS];
    return i->name ? i : NULL;
}

const char *zk_op_name(int op)
{
    const ZkOpInfo *i = zk_op_info(op);
    return i ? i->name : "unknown";
}

typedef struct ErrInfo {
    int code;
    const char *name;       /* CamelCase */
    const char *enum_name;  /* KeeperException.Code constant */
    const char *message;    /* KeeperException.getCodeMessage(), NULL: none */
} ErrInfo;

static const ErrInfo err_table[] = {
    {ZERR_OK, "Ok", "OK", "ok"},
    {ZERR_SYSTEMERROR, "SystemError", "SYSTEMERROR", "SystemError"},
    {ZERR_RUNTIMEINCONSISTENCY, "RuntimeInconsistency", "RUNTIMEINCONSISTENCY", "RuntimeInconsistency"},
    {ZERR_DATAINCONSISTENCY, "DataInconsistency", "DATAINCONSISTENCY", "DataInconsistency"},
    {ZERR_CONNECTIONLOSS, "ConnectionLoss", "CONNECTIONLOSS", "ConnectionLoss"},
    {ZERR_MARSHALLINGERROR, "MarshallingError", "MARSHALLINGERROR", "MarshallingError"},
    {ZERR_UNIMPLEMENTED, "Unimplemented", "UNIMPLEMENTED", "Unimplemented"},
    {ZERR_OPERATIONTIMEOUT, "OperationTimeout", "OPERATIONTIMEOUT", "OperationTimeout"},
    {ZERR_BADARGUMENTS, "BadArguments", "BADARGUMENTS", "BadArguments"},
    {ZERR_UNKNOWNSESSION, "UnknownSession", "UNKNOWNSESSION", NULL},
    {ZERR_NEWCONFIGNOQUORUM, "NewConfigNoQuorum", "NEWCONFIGNOQUORUM", "NewConfigNoQuorum"},
    {ZERR_RECONFIGINPROGRESS, "ReconfigInProgress", "RECONFIGINPROGRESS", "ReconfigInProgress"},
    {ZERR_APIERROR, "APIError", "APIERROR", "APIError"},
    {ZERR_NONODE, "NoNode", "NONODE", "NoNode"},
    {ZERR_NOAUTH, "NoAuth", "NOAUTH", "NoAuth"},
    {ZERR_BADVERSION, "BadVersion", "BADVERSION", "BadVersion"},
    {ZERR_NOCHILDRENFOREPHEMERALS, "NoChildrenForEphemerals", "NOCHILDRENFOREPHEMERALS", "NoChildrenForEphemerals"},
    {ZERR_NODEEXISTS, "NodeExists", "NODEEXISTS", "NodeExists"},
    {ZERR_NOTEMPTY, "NotEmpty", "NOTEMPTY", "Directory not empty"},
    {ZERR_SESSIONEXPIRED, "SessionExpired", "SESSIONEXPIRED", "Session expired"},
    {ZERR_INVALIDCALLBACK, "InvalidCallback", "INVALIDCALLBACK", "Invalid callback"},
    {ZERR_INVALIDACL, "InvalidACL", "INVALIDACL", "InvalidACL"},
    {ZERR_AUTHFAILED, "AuthFailed", "AUTHFAILED", "AuthFailed"},
    {ZERR_SESSIONMOVED, "SessionMoved", "SESSIONMOVED", "Session moved"},
    {ZERR_NOTREADONLY, "NotReadOnly", "NOTREADONLY", "Not a read-only call"},
    {ZERR_EPHEMERALONLOCALSESSION, "EphemeralOnLocalSession", "EPHEMERALONLOCALSESSION", "Ephemeral node on local session"},
    {ZERR_NOWATCHER, "NoWatcher", "NOWATCHER", "No such watcher"},
    {ZERR_REQUESTTIMEOUT, "RequestTimeout", "REQUESTTIMEOUT", NULL},
    {ZERR_RECONFIGDISABLED, "ReconfigDisabled", "RECONFIGDISABLED", "Reconfig is disabled"},
    {ZERR_SESSIONCLOSEDREQUIRESASLAUTH, "SessionClosedRequireSaslAuth", "SESSIONCLOSEDREQUIRESASLAUTH",
     "Session closed because client failed to authenticate"},
    {ZERR_QUOTAEXCEEDED, "QuotaExceeded", "QUOTAEXCEEDED", "Quota has exceeded"},
    {ZERR_THROTTLEDOP, "ThrottledOp", "THROTTLEDOP", "Op throttled due to high load"},
};

static const ErrInfo *err_info(int err)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return &err_table[i];
    return NULL;
}

const char *zk_err_name(int err)
{
    const ErrInfo *e = err_info(err);
    return e ? e->name : "Unknown";
}

const char *zk_err_enum_name(int err)
{
    const ErrInfo *e = err_info(err);
    return e ? e->enum_name : "UNKNOWN";
}

const char *zk_err_message(int err)
{
    /* Static strings for every known code, so the common path never formats. */
    static const char *const fixed[][2] = {
        {"OK", "KeeperErrorCode = ok"},
        {"SYSTEMERROR", "KeeperErrorCode = SystemError"},
        {"RUNTIMEINCONSISTENCY", "KeeperErrorCode = RuntimeInconsistency"},
        {"DATAINCONSISTENCY", "KeeperErrorCode = DataInconsistency"},
        {"CONNECTIONLOSS", "KeeperErrorCode = ConnectionLoss"},
        {"MARSHALLINGERROR", "KeeperErrorCode = MarshallingError"},
        {"UNIMPLEMENTED", "KeeperErrorCode = Unimplemented"},
        {"OPERATIONTIMEOUT", "KeeperErrorCode = OperationTimeout"},
        {"BADARGUMENTS", "KeeperErrorCode = BadArguments"},
        {"UNKNOWNSESSION", "KeeperErrorCode = Unknown error UNKNOWNSESSION"},
        {"NEWCONFIGNOQUORUM", "KeeperErrorCode = NewConfigNoQuorum"},
        {"RECONFIGINPROGRESS", "KeeperErrorCode = ReconfigInProgress"},
        {"APIERROR", "KeeperErrorCode = APIError"},
        {"NONODE", "KeeperErrorCode = NoNode"},
        {"NOAUTH", "KeeperErrorCode = NoAuth"},
        {"BADVERSION", "KeeperErrorCode = BadVersion"},
        {"NOCHILDRENFOREPHEMERALS", "KeeperErrorCode = NoChildrenForEphemerals"},
        {"NODEEXISTS", "KeeperErrorCode = NodeExists"},
        {"NOTEMPTY", "KeeperErrorCode = Directory not empty"},
        {"SESSIONEXPIRED", "KeeperErrorCode = Session expired"},
        {"INVALIDCALLBACK", "KeeperErrorCode = Invalid callback"},
        {"INVALIDACL", "KeeperErrorCode = InvalidACL"},
        {"AUTHFAILED", "KeeperErrorCode = AuthFailed"},
        {"SESSIONMOVED", "KeeperErrorCode = Session moved"},
        {"NOTREADONLY", "KeeperErrorCode = Not a read-only call"},
        {"EPHEMERALONLOCALSESSION", "KeeperErrorCode = Ephemeral node on local session"},
        {"NOWATCHER", "KeeperErrorCode = No such watcher"},
        {"REQUESTTIMEOUT", "KeeperErrorCode = Unknown error REQUESTTIMEOUT"},
        {"RECONFIGDISABLED", "KeeperErrorCode = Reconfig is disabled"},
        {"SESSIONCLOSEDREQUIRESASLAUTH", "KeeperErrorCode = Session closed because client failed to authenticate"},
        {"QUOTAEXCEEDED", "KeeperErrorCode = Quota has exceeded"},
        {"THROTTLEDOP", "KeeperErrorCode = Op throttled due to high load"},
    };
    _Static_assert(sizeof(fixed) / sizeof(fixed[0]) == sizeof(err_table) / sizeof(err_table[0]),
                   "zk_err_message table out of step with err_table");
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == err)
            return fixed[i][1];
    static __thread char buf[64];
    snprintf(buf, sizeof(buf), "KeeperErrorCode = Unknown error %d", err);
    return buf;
}

const char *zk_event_name(int type)
{
    switch (type) {
    case ZOO_EVENT_NONE: return "None";
    case ZOO_EVENT_NODE_CREATED: return "NodeCreated";
    case ZOO_EVENT_NODE_DELETED: return "NodeDeleted";
    case ZOO_EVENT_NODE_DATA_CHANGED: return "NodeDataChanged";
    case ZOO_EVENT_NODE_CHILDREN_CHANGED: return "NodeChildrenChanged";
    case ZOO_EVENT_DATA_WATCH_REMOVED: return "DataWatchRemoved";
    case ZOO_EVENT_CHILD_WATCH_REMOVED: return "ChildWatchRemoved";
    case ZOO_EVENT_PERSISTENT_WATCH_REMOVED: return "PersistentWatchRemoved";
    }
    return "Unknown";
}

const char *zk_state_name(int state)
{
    switch (state) {
    case ZOO_STATE_UNKNOWN: return "Unknown";
    case ZOO_STATE_DISCONNECTED: return "Disconnected";
    case ZOO_STATE_NO_SYNC_CONNECTED: return "NoSyncConnected";
    case ZOO_STATE_SYNC_CONNECTED: return "SyncConnected";
    case ZOO_STATE_AUTH_FAILED: return "AuthFailed";
    case ZOO_STATE_CONNECTED_READ_ONLY: return "ConnectedReadOnly";
    case ZOO_STATE_SASL_AUTHENTICATED: return "SaslAuthenticated";
    case ZOO_STATE_EXPIRED: return "Expired";
    case ZOO_STATE_CLOSED: return "Closed";
    }
    return "Unknown";
}

const char *zk_create_mode_name(int mode)
{
    switch (mode) {
    case ZOO_CREATE_PERSISTENT: return "PERSISTENT";
    case ZOO_CREATE_EPHEMERAL: return "EPHEMERAL";
    case ZOO_CREATE_PERSISTENT_SEQUENTIAL: return "PERSISTENT_SEQUENTIAL";
    case ZOO_CREATE_EPHEMERAL_SEQUENTIAL: return "EPHEMERAL_SEQUENTIAL";
    case ZOO_CREATE_CONTAINER: return "CONTAINER";
    case ZOO_CREATE_PERSISTENT_WITH_TTL: return "PERSISTENT_WITH_TTL";
    case ZOO_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL: return "PERSISTENT_SEQUENTIAL_WITH_TTL";
    }
    return "UNKNOWN";
}

/* ---- path validation ---------------------------------------------------------- */

/*
 * Decodes one UTF-8 sequence at s[0..n) (n >= 1).  Returns its length and
 * the code point, or 0 if the bytes are malformed the way Java's decoder
 * sees it (bad lead or continuation byte, truncated, overlong, surrogate,
 * > U+10FFFF); Java would substitute U+FFFD, which validatePath rejects.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 2; v = c & 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3; v = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4; v = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return need;
}

int zk_validate_path_reason(const char *path, size_t len, int is_sequential, const char **reason)
{
    const char *why = NULL;
    const unsigned char *s = (const unsigned char *)path;
    /* Sequential: Java validates path + "1"; the extra char is virtual here. */
    size_t n = is_sequential ? len + 1 : len;
#define AT(i) ((i) < len ? s[i] : (unsigned char)'1')

    if (path == NULL) {
        why = "Path cannot be null";
        goto bad;
    }
    if (n == 0) {
        why = "Path length must be > 0";
        goto bad;
    }
    if (AT(0) != '/') {
        why = "Path must start with / character";
        goto bad;
    }
    if (n == 1)
        goto good;                  /* the root */
    if (AT(n - 1) == '/') {
        why = "Path must not end with / character";
        goto bad;
    }

    unsigned char lastc = '/';
    for (size_t i = 1; i < n;) {
        unsigned char c = AT(i);
        if (c >= 0x80) {
            uint32_t cp;
            size_t k = utf8_decode(s + i, len - i, &cp);   /* i < len: the virtual '1' is ASCII */
            if (k == 0) {
                why = "invalid character (malformed UTF-8)";
                goto bad;
            }
            if ((cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xf8ff) ||
                cp >= 0xfff0 /* includes supplementary chars: surrogates in Java */) {
                why = "invalid character";
                goto bad;
            }
            lastc = 0x80;           /* anything that is neither '/' nor '.' */
            i += k;
            continue;
        }
        if (c == 0) {
            why = "null character not allowed";
            goto bad;
        } else if (c == '/' && lastc == '/') {
            why = "empty node name specified";
            goto bad;
        } else if (c == '.' && lastc == '.') {
            if (AT(i - 2) == '/' && (i + 1 == n || AT(i + 1) == '/')) {
                why = "relative paths not allowed";
                goto bad;
            }
        } else if (c == '.') {
            if (AT(i - 1) == '/' && (i + 1 == n || AT(i + 1) == '/')) {
                why = "relative paths not allowed";
                goto bad;
            }
        } else if (c <= 0x1f || c == 0x7f) {
            why = "invalid character";
            goto bad;
        }
        lastc = c;
        i++;
    }
#undef AT
good:
    if (reason)
        *reason = NULL;
    return ZERR_OK;
bad:
    if (reason)
        *reason = why;
    return ZERR_BADARGUMENTS;
}

int zk_validate_path(const char *path, size_t len, int is_sequential)
{
    return zk_validate_path_reason(path, len, is_sequential, NULL);
}
