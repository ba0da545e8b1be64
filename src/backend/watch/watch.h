/*
 * src/backend/watch/watch.h: the watch manager.
 *
 * Records which session watches which path, and when a change is applied
 * decides exactly which sessions receive which event, with the rules of
 * Apache ZooKeeper 3.8 (DataTree + WatchManager + WatcherModeManager).
 *
 * Owns: the interned watched paths (each stored once, shared by all its
 * watchers), one entry per watched (path, session) pair, the per-session
 * bookkeeping, and a scratch buffer reused by watch_trigger.  It does not
 * own the sessions or the tree: it knows sessions only by id and paths only
 * as bytes; the caller validates paths (absolute, no trailing '/').
 *
 * Threading: single-threaded, owned by the event loop.  No function may be
 * called from another thread.  A WatchDeliverFn may call back into the
 * manager (deliveries happen after the state change, from a detached
 * buffer); a WatchReportFn must not modify it.
 *
 * The model (why it is shaped like this): ZooKeeper 3.8 keeps two separate
 * watch tables, dataWatches and childWatches, and in each one mode per
 * (watcher, path): STANDARD, PERSISTENT or PERSISTENT_RECURSIVE
 * (WatcherModeManager holds one mode per key; a later addWatch overwrites
 * it).  Here one entry per (path, session) carries both tables' modes:
 *
 *   watch_add kind              data-table mode    child-table mode
 *   WATCH_DATA (getData/exists) STANDARD           unchanged
 *   WATCH_CHILD (getChildren)   unchanged          STANDARD
 *   WATCH_PERSISTENT            PERSISTENT         PERSISTENT
 *   WATCH_PERSISTENT_RECURSIVE  RECURSIVE          unchanged
 *
 * (DataTree.addWatch puts a persistent watch in both tables and a recursive
 * one in dataWatches only.)  Because a mode is overwritten, 3.8 quirks are
 * reproduced on purpose: a getData watch set after addWatch(PERSISTENT) on
 * the same path turns the data half back into a one-shot watch, and one set
 * after addWatch(PERSISTENT_RECURSIVE) replaces the recursive watch
 * (ZOOKEEPER-4466, fixed only in 3.9).
 *
 * Invariants (checked by watch_check):
 *   - an entry exists iff at least one of its two modes is set; the child
 *     mode is never RECURSIVE;
 *   - a path exists iff it has at least one entry; in its entry list every
 *     entry whose data mode is RECURSIVE comes before all others;
 *   - a session exists iff it has an entry or its "data key" is set: ZK
 *     never drops a watcher's (possibly empty) path set from dataWatches'
 *     watch2Paths until the session goes away, and wchs counts it;
 *   - all counters (per path, per session, global) match the entries.
 *
 * Costs: watch_trigger is O(entries on the path) plus, only while some
 * recursive watch exists anywhere, one O(len) pass over the path and one
 * hash lookup per ancestor, and then O(recursive entries on ancestors).  A
 * session is told at most once per trigger (generation stamp per session,
 * no per-trigger set).  An entry costs 28 bytes plus about 8 of hash slot.
 */
#ifndef CORRAL_WATCH_WATCH_H
#define CORRAL_WATCH_WATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct WatchManager WatchManager;
typedef uint64_t WatcherId;            /* the session id of the watching session */

enum WatchKind {
    WATCH_DATA = 1,                    /* getData and exists */
    WATCH_CHILD = 2,                   /* getChildren / getChildren2 */
    WATCH_PERSISTENT = 3,              /* addWatch mode 0 */
    WATCH_PERSISTENT_RECURSIVE = 4     /* addWatch mode 1 */
};

/* ZooKeeper event types (Watcher.Event.EventType). */
enum {
    ZEV_NONE = -1,
    ZEV_NODE_CREATED = 1,
    ZEV_NODE_DELETED = 2,
    ZEV_NODE_DATA_CHANGED = 3,
    ZEV_NODE_CHILDREN_CHANGED = 4,
    ZEV_DATA_WATCH_REMOVED = 5,
    ZEV_CHILD_WATCH_REMOVED = 6,
    ZEV_PERSISTENT_WATCH_REMOVED = 7
};

/* ZooKeeper WatcherType, the "type" of checkWatches / removeWatches. */
enum {
    WATCHER_TYPE_CHILDREN = 1,
    WATCHER_TYPE_DATA = 2,
    WATCHER_TYPE_ANY = 3,
    WATCHER_TYPE_PERSISTENT = 4,           /* 3.9+ only: see watch_remove */
    WATCHER_TYPE_PERSISTENT_RECURSIVE = 5  /* 3.9+ only: see watch_remove */
};
#define WATCH_BAD_TYPE (-1)

WatchManager *watch_new(void);
void watch_free(WatchManager *wm);

/* Registers (or re-registers) a watch; see the table above.  An unknown kind
 * is ignored.  Adding what already exists changes nothing. */
void watch_add(WatchManager *wm, const char *path, size_t len, WatcherId w, enum WatchKind kind);

/*
 * Called by the request processor after a change is applied, with the same
 * calls DataTree makes:
 *   create P:   watch_trigger(P, ZEV_NODE_CREATED);  watch_trigger(parent, ZEV_NODE_CHILDREN_CHANGED)
 *   delete P:   watch_trigger(P, ZEV_NODE_DELETED);  watch_trigger(parent, ZEV_NODE_CHILDREN_CHANGED)
 *   setData P:  watch_trigger(P, ZEV_NODE_DATA_CHANGED)
 * where parent of "/x" is "/".  Rules (WatchManager.triggerWatch, 3.8):
 *   CREATED, DATA_CHANGED: data table at P (every mode fires; STANDARD
 *     entries are removed) and, if any recursive watch exists, RECURSIVE
 *     data entries on every ancestor of P;
 *   DELETED: as above, then the child table at P (STANDARD removed,
 *     PERSISTENT kept); a session told by the data table is not told again
 *     (DataTree.deleteNode passes the first result as "supress");
 *   CHILDREN_CHANGED: the child table at P only (recursive watches never
 *     see it, neither on P nor on an ancestor).
 * deliver is called once per session to be told, with event_type and the
 * trigger's own path (also for a recursive watch on an ancestor), after
 * the one-shot watches were removed.  Other event types do nothing.
 */
typedef void (*WatchDeliverFn)(void *ctx, WatcherId w, int event_type, const char *path, size_t len);
void watch_trigger(WatchManager *wm, const char *path, size_t len, int event_type,
                   WatchDeliverFn deliver, void *ctx);

/*
 * removeWatches (opcode 18) and checkWatches (opcode 17), mirroring 3.8's
 * DataTree.removeWatch / containsWatcher.  watcher_type is WatcherType:
 *   Children 1: the child-table half of (P, w), whatever its mode (so it
 *     removes the child half of a persistent watch and leaves the data half);
 *   Data 2: the data-table half, whatever its mode (standard, persistent or
 *     recursive);
 *   Any 3: both.
 * Returns 1 if something matched (and, for remove, was removed), 0 if not
 * (the caller answers NoWatcher -121).  Persistent 4 and PersistentRecursive
 * 5 do not exist in 3.8: WatcherType.fromInt throws and FinalRequestProcessor
 * answers MarshallingError (-5); for them, and any other value, these return
 * WATCH_BAD_TYPE (-1) and change nothing.
 *
 * watch_contains is exactly 3.8's WatchManager.containsWatcher, which since
 * ZOOKEEPER-1416 (3.6.0) answers whether ANY session has a watch of that
 * table on P: w is not looked at.  watch_has below is the per-session test.
 */
int watch_remove(WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type);
int watch_contains(const WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type);
/* Whether session w itself has a watch matching watcher_type (1..3) on P:
 * 1/0, or WATCH_BAD_TYPE. */
int watch_has(const WatchManager *wm, const char *path, size_t len, WatcherId w, int watcher_type);

/* Session closed/expired: drops all its watches (DataTree.removeCnxn). */
void watch_remove_watcher(WatchManager *wm, WatcherId w);

/*
 * setWatches / setWatches2 (opcodes 101/105) for one path of one of the
 * request's lists, as DataTree.setWatches does it.  The caller looks the
 * node up and passes whether it exists and its mzxid / pzxid, and processes
 * the lists in ZooKeeper's order: data, exist, child, persistent,
 * persistentRecursive.  Returns ZEV_NONE when a watch was registered, or
 * the event type the caller must send to w for this path at once instead:
 *   data:  missing -> NodeDeleted; mzxid > relative_zxid -> NodeDataChanged
 *   exist: exists  -> NodeCreated
 *   child: missing -> NodeDeleted; pzxid > relative_zxid -> NodeChildrenChanged
 *   persistent, persistentRecursive: always registered.
 */
enum WatchSetList {
    WATCH_SET_DATA = 0,
    WATCH_SET_EXIST = 1,
    WATCH_SET_CHILD = 2,
    WATCH_SET_PERSISTENT = 3,
    WATCH_SET_PERSISTENT_RECURSIVE = 4
};
int watch_set_one(WatchManager *wm, enum WatchSetList list, const char *path, size_t len,
                  WatcherId w, int64_t relative_zxid, int node_exists, int64_t mzxid, int64_t pzxid);

/*
 * Stats.  ZooKeeper's four-letter words wchs, wchc and wchp look at
 * dataWatches only (DataTree.dumpWatchesSummary / dumpWatches /
 * getWatches*); mntr's zk_watch_count is dataWatches.size() +
 * childWatches.size() (DataTree.getWatchCount).  Hence:
 */
/* Watched paths of one session (its (path, session) entries): what
 * server.max_watches_per_session bounds. */
int64_t watch_session_paths(const WatchManager *wm, WatcherId w);
int64_t watch_count(const WatchManager *wm);          /* wchs "Total watches:": data-table registrations */
int64_t watch_path_count(const WatchManager *wm);     /* wchs "... watching N paths": paths with a data-table watch */
int64_t watch_watcher_count(const WatchManager *wm);  /* wchs "N connections watching": sessions with a data key */
int64_t watch_mntr_count(const WatchManager *wm);     /* mntr zk_watch_count: data + child registrations */
int64_t watch_recursive_count(const WatchManager *wm);/* recursive registrations (getRecursiveWatchQty) */

/*
 * wchc: for each session (ascending id), the paths of its data-table
 * watches (ascending, bytewise); wchp: for each path (ascending), the
 * sessions watching it (ascending).  fn gets a NUL-terminated path.
 * The _ex forms also call a header callback before each group (may be
 * NULL); watch_report_by_session_ex calls it also for a session whose
 * data watches all fired, which ZooKeeper prints as a bare "0x<id>" line.
 * A WatchReportFn returns nonzero to stop the report there (an answer that
 * reached its size cap); the report functions then return nonzero.
 */
typedef int (*WatchReportFn)(void *ctx, WatcherId w, const char *path, size_t len);
typedef void (*WatchSessionFn)(void *ctx, WatcherId w, int64_t npaths);
typedef void (*WatchPathFn)(void *ctx, const char *path, size_t len, int64_t nsessions);
int watch_report_by_session(const WatchManager *wm, WatchReportFn fn, void *ctx);
int watch_report_by_path(const WatchManager *wm, WatchReportFn fn, void *ctx);
int watch_report_by_session_ex(const WatchManager *wm, WatchSessionFn head, WatchReportFn fn, void *ctx);
int watch_report_by_path_ex(const WatchManager *wm, WatchPathFn head, WatchReportFn fn, void *ctx);

/* Bytes the manager holds from malloc; *path_bytes (if not NULL) gets the
 * part spent on path storage (path records and strings). */
size_t watch_memory(const WatchManager *wm, size_t *path_bytes);

/* Verifies every invariant above; returns the number of violations (0). */
int watch_check(const WatchManager *wm);

#endif
