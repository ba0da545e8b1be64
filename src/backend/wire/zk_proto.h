/*
 * src/backend/wire/zk_proto.h: ZooKeeper protocol constants, with the exact
 * numbers the Java implementation puts on the wire, and their names.
 *
 * Sources (ZooKeeper 3.8/3.9): ZooDefs.OpCode, ZooDefs.Perms,
 * ZooDefs.AddWatchModes, KeeperException.Code, Watcher.Event.EventType,
 * Watcher.Event.KeeperState, Watcher.WatcherType, CreateMode, ClientCnxn
 * (special xids), common.PathUtils.
 */
#ifndef CORRAL_WIRE_ZK_PROTO_H
#define CORRAL_WIRE_ZK_PROTO_H

#include <stddef.h>

/* ---- ZooDefs.OpCode --------------------------------------------------------- */
typedef enum ZkOpCode {
    ZOO_OP_NOTIFICATION = 0,
    ZOO_OP_CREATE = 1,
    ZOO_OP_DELETE = 2,
    ZOO_OP_EXISTS = 3,
    ZOO_OP_GETDATA = 4,
    ZOO_OP_SETDATA = 5,
    ZOO_OP_GETACL = 6,
    ZOO_OP_SETACL = 7,
    ZOO_OP_GETCHILDREN = 8,
    ZOO_OP_SYNC = 9,
    ZOO_OP_PING = 11,
    ZOO_OP_GETCHILDREN2 = 12,
    ZOO_OP_CHECK = 13,
    ZOO_OP_MULTI = 14,
    ZOO_OP_CREATE2 = 15,
    ZOO_OP_RECONFIG = 16,
    ZOO_OP_CHECK_WATCHES = 17,
    ZOO_OP_REMOVE_WATCHES = 18,
    ZOO_OP_CREATE_CONTAINER = 19,
    ZOO_OP_DELETE_CONTAINER = 20,
    ZOO_OP_CREATE_TTL = 21,
    ZOO_OP_MULTI_READ = 22,
    ZOO_OP_AUTH = 100,
    ZOO_OP_SET_WATCHES = 101,
    ZOO_OP_SASL = 102,
    ZOO_OP_GET_EPHEMERALS = 103,
    ZOO_OP_GET_ALL_CHILDREN_NUMBER = 104,
    ZOO_OP_SET_WATCHES2 = 105,
    ZOO_OP_ADD_WATCH = 106,
    ZOO_OP_WHOAMI = 107,
    ZOO_OP_CREATE_SESSION = -10,
    ZOO_OP_CLOSE_SESSION = -11,
    ZOO_OP_ERROR = -1
} ZkOpCode;

/* ---- KeeperException.Code --------------------------------------------------- */
typedef enum ZkErr {
    ZERR_OK = 0,
    ZERR_SYSTEMERROR = -1,
    ZERR_RUNTIMEINCONSISTENCY = -2,
    ZERR_DATAINCONSISTENCY = -3,
    ZERR_CONNECTIONLOSS = -4,
    ZERR_MARSHALLINGERROR = -5,
    ZERR_UNIMPLEMENTED = -6,
    ZERR_OPERATIONTIMEOUT = -7,
    ZERR_BADARGUMENTS = -8,
    ZERR_UNKNOWNSESSION = -12,
    ZERR_NEWCONFIGNOQUORUM = -13,
    ZERR_RECONFIGINPROGRESS = -14,
    ZERR_APIERROR = -100,
    ZERR_NONODE = -101,
    ZERR_NOAUTH = -102,
    ZERR_BADVERSION = -103,
    ZERR_NOCHILDRENFOREPHEMERALS = -108,
    ZERR_NODEEXISTS = -110,
    ZERR_NOTEMPTY = -111,
    ZERR_SESSIONEXPIRED = -112,
    ZERR_INVALIDCALLBACK = -113,
    ZERR_INVALIDACL = -114,
    ZERR_AUTHFAILED = -115,
    ZERR_SESSIONMOVED = -118,
    ZERR_NOTREADONLY = -119,
    ZERR_EPHEMERALONLOCALSESSION = -120,
    ZERR_NOWATCHER = -121,
    ZERR_REQUESTTIMEOUT = -122,
    ZERR_RECONFIGDISABLED = -123,
    ZERR_SESSIONCLOSEDREQUIRESASLAUTH = -124,
    ZERR_QUOTAEXCEEDED = -125,
    ZERR_THROTTLEDOP = -127
} ZkErr;

/* ---- special xids (ClientCnxn) ---------------------------------------------- */
enum {
    XID_WATCH_EVENT = -1,       /* NOTIFICATION_XID: server -> client watch events */
    XID_PING = -2,
    XID_AUTH = -4,              /* AuthPacket */
    XID_SET_WATCHES = -8        /* SetWatches / SetWatches2 on reconnect */
};

/* ---- Watcher.Event.EventType ------------------------------------------------ */
typedef enum ZkEventType {
    ZOO_EVENT_NONE = -1,
    ZOO_EVENT_NODE_CREATED = 1,
    ZOO_EVENT_NODE_DELETED = 2,
    ZOO_EVENT_NODE_DATA_CHANGED = 3,
    ZOO_EVENT_NODE_CHILDREN_CHANGED = 4,
    ZOO_EVENT_DATA_WATCH_REMOVED = 5,
    ZOO_EVENT_CHILD_WATCH_REMOVED = 6,
    ZOO_EVENT_PERSISTENT_WATCH_REMOVED = 7
} ZkEventType;

/* ---- Watcher.Event.KeeperState ---------------------------------------------- */
typedef enum ZkKeeperState {
    ZOO_STATE_UNKNOWN = -1,             /* deprecated, never sent */
    ZOO_STATE_DISCONNECTED = 0,
    ZOO_STATE_NO_SYNC_CONNECTED = 1,    /* deprecated, never sent */
    ZOO_STATE_SYNC_CONNECTED = 3,
    ZOO_STATE_AUTH_FAILED = 4,
    ZOO_STATE_CONNECTED_READ_ONLY = 5,
    ZOO_STATE_SASL_AUTHENTICATED = 6,
    ZOO_STATE_EXPIRED = -112,
    ZOO_STATE_CLOSED = 7                /* client-local, never sent */
} ZkKeeperState;

/* ---- Watcher.WatcherType (CheckWatches/RemoveWatches "type") ----------------- */
typedef enum ZkWatcherType {
    ZOO_WATCHER_CHILDREN = 1,
    ZOO_WATCHER_DATA = 2,
    ZOO_WATCHER_ANY = 3,
    ZOO_WATCHER_PERSISTENT = 4,             /* 3.9+ */
    ZOO_WATCHER_PERSISTENT_RECURSIVE = 5    /* 3.9+ */
} ZkWatcherType;

/* ---- ZooDefs.AddWatchModes (AddWatchRequest.mode) ----------------------------- */
typedef enum ZkAddWatchMode {
    ZOO_ADD_WATCH_PERSISTENT = 0,
    ZOO_ADD_WATCH_PERSISTENT_RECURSIVE = 1
} ZkAddWatchMode;

/* ---- ZooDefs.Perms ---------------------------------------------------------- */
enum {
    ZOO_PERM_READ = 1 << 0,
    ZOO_PERM_WRITE = 1 << 1,
    ZOO_PERM_CREATE = 1 << 2,
    ZOO_PERM_DELETE = 1 << 3,
    ZOO_PERM_ADMIN = 1 << 4,
    ZOO_PERM_ALL = 31
};

/* ---- CreateMode (CreateRequest.flags) ----------------------------------------- */
typedef enum ZkCreateMode {
    ZOO_CREATE_PERSISTENT = 0,
    ZOO_CREATE_EPHEMERAL = 1,
    ZOO_CREATE_PERSISTENT_SEQUENTIAL = 2,
    ZOO_CREATE_EPHEMERAL_SEQUENTIAL = 3,
    ZOO_CREATE_CONTAINER = 4,
    ZOO_CREATE_PERSISTENT_WITH_TTL = 5,
    ZOO_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL = 6
} ZkCreateMode;

static inline int zk_create_mode_valid(int m) { return m >= 0 && m <= 6; }
static inline int zk_create_mode_is_sequential(int m) { return m == 2 || m == 3 || m == 6; }
static inline int zk_create_mode_is_ephemeral(int m) { return m == 1 || m == 3; }
static inline int zk_create_mode_is_container(int m) { return m == 4; }
static inline int zk_create_mode_is_ttl(int m) { return m == 5 || m == 6; }

/* ---- names -------------------------------------------------------------------- */
/*
 * zk_op_name: the ZooDefs.OpCode field name ("create", "getChildren2",
 * "whoAmI", "closeSession", ...); "unknown" for anything else.
 */
const char *zk_op_name(int op);

/* What kind of request an opcode is: one row of wire/zk_ops.def. */
enum ZkOpClass { ZK_OPC_READ = 1, ZK_OPC_WRITE, ZK_OPC_SESSION, ZK_OPC_CONTROL };
enum {
    ZK_OPF_IN_MULTI = 1 << 0,        /* allowed inside multi */
    ZK_OPF_IN_MULTI_READ = 1 << 1,   /* allowed inside multiRead */
    ZK_OPF_NEEDS_QUORUM = 1 << 2,    /* refused by a read-only server */
    ZK_OPF_GROWS = 1 << 3,           /* refused in degraded mode */
    ZK_OPF_NEVER_REFUSED = 1 << 4,   /* never refused by a per-session cap */
};
typedef struct ZkOpInfo {
    int op;
    const char *name;
    const char *abbrev;              /* cons' lop; NULL: leaves it */
    int cls;                         /* enum ZkOpClass */
    unsigned flags;
} ZkOpInfo;
/* Opcodes run from -11 to 107: tables indexed by opcode + ZK_OP_BIAS. */
#define ZK_OP_BIAS 16
#define ZK_OP_SLOTS (128 + ZK_OP_BIAS)
/* The row of op, or NULL for an opcode ZooKeeper does not have. */
const ZkOpInfo *zk_op_info(int op);
/* True for an opcode whose row has every bit of `flags` / is of class cls. */
static inline int zk_op_has(int op, unsigned flags)
{
    const ZkOpInfo *i = zk_op_info(op);
    return i && (i->flags & flags) == flags;
}
static inline int zk_op_is(int op, int cls)
{
    const ZkOpInfo *i = zk_op_info(op);
    return i && i->cls == cls;
}
/*
 * zk_err_name: a CamelCase name per code, the one KeeperException's messages
 * use where that is a name ("NoNode", "NodeExists", "BadVersion", "Ok") and
 * the CamelCase of the Code enum otherwise ("NotEmpty", "SessionExpired",
 * "SessionMoved", "ThrottledOp"); "Unknown" for an unknown code.
 */
const char *zk_err_name(int err);
/* zk_err_enum_name: the KeeperException.Code constant ("NONODE"); "UNKNOWN". */
const char *zk_err_enum_name(int err);
/*
 * zk_err_message: exactly KeeperException.getMessage() for a path-less
 * exception: "KeeperErrorCode = " + getCodeMessage(code), e.g.
 * "KeeperErrorCode = NoNode", "KeeperErrorCode = Directory not empty".
 * Codes Java has no message for give "KeeperErrorCode = Unknown error
 * REQUESTTIMEOUT" as Java does; codes outside the enum give
 * "KeeperErrorCode = Unknown error -999" (returned from a thread-local buffer).
 */
const char *zk_err_message(int err);
/* Watcher.Event.EventType names ("NodeCreated", "None"); "Unknown". */
const char *zk_event_name(int type);
/* Watcher.Event.KeeperState names ("SyncConnected", "Expired"); "Unknown". */
const char *zk_state_name(int state);
/* CreateMode names ("PERSISTENT_SEQUENTIAL"); "UNKNOWN". */
const char *zk_create_mode_name(int mode);

/* ---- paths ---------------------------------------------------------------------- */
/*
 * Exactly ZooKeeper's PathUtils.validatePath(path, isSequential): returns
 * ZERR_OK or ZERR_BADARGUMENTS.  The path is len bytes of UTF-8 as received
 * (need not be NUL terminated; NULL is invalid).  Rules: non-empty, starts
 * with '/', "/" alone is fine, no trailing '/' (unless sequential: the
 * check is done on path + "1"), no empty component ("//"), no "." or ".."
 * component, no U+0000..U+001F, U+007F..U+009F, U+D800..U+F8FF (so no
 * supplementary characters, which Java holds as surrogates), U+FFF0..U+FFFF;
 * malformed UTF-8, which Java would decode to U+FFFD, is invalid too.
 * If reason is non-NULL it receives a static description of the failure.
 */
int zk_validate_path(const char *path, size_t len, int is_sequential);
int zk_validate_path_reason(const char *path, size_t len, int is_sequential, const char **reason);

#endif /* CORRAL_WIRE_ZK_PROTO_H */
