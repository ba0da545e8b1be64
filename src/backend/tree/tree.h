/*
 * src/backend/tree/tree.h: the in-memory znode tree (ZooKeeper's DataTree).
 *
 * WHAT IT OWNS
 *   Every znode: path, data, persisted stat, ACL reference, children; the
 *   interned ACL lists; the per-session ephemeral sets; the container and TTL
 *   sets; the counters (node count, approximate data size, ephemerals) and a
 *   running digest.  It owns no watches, no sessions, no I/O.
 *
 * APPLY, NOT VALIDATE
 *   The mutating calls (tree_create, tree_delete, tree_set_data,
 *   tree_set_acl, tree_set_cversion_pzxid, tree_restore_node) apply a
 *   transaction that the caller has already validated (versions, ephemeral
 *   parents, sequential names, ACL checks, quotas).  They refuse only what
 *   would corrupt the tree, with ZooKeeper's codes: TREE_NONODE (missing node
 *   or parent), TREE_NODEEXISTS, TREE_NOTEMPTY (delete of a node with
 *   children), TREE_BADARGUMENTS (malformed path, unknown ACL id, bad data
 *   length, deleting "/").  A refused call changes nothing.  The same
 *   sequence of calls gives the same tree, the same walk and the same digest
 *   on every replica: this is what WAL replay and ZAB followers rely on.
 *
 * STATS: ZooKeeper's semantics, exactly (DataTree/DataNode of 3.8)
 *   A node stores ZooKeeper's StatPersisted (ZStatPersisted below).  As in
 *   ZooKeeper, the *stored* cversion counts child creations only; the
 *   client-visible cversion (ZStat, tree_stat) is 2*stored - numChildren,
 *   which is why a delete shows up as "parent cversion + 1" to clients while
 *   the stored value is unchanged.  Consequences for the caller:
 *     - the sequential suffix and CreateTxn.parentCVersion are computed from
 *       the STORED value: tree_node_cversion() (or tree_stat_persisted()),
 *       exactly as ZooKeeper's PrepRequestProcessor does with n.stat;
 *     - tree_create(parent_cversion): if parent_cversion > stored, the parent
 *       gets stored cversion = parent_cversion and pzxid = zxid (ZooKeeper's
 *       replay guard); -1 means "stored + 1".
 *     - tree_delete: parent pzxid = zxid if zxid is larger, numChildren - 1.
 *   ZStat.ephemeral_owner is 0 for container and TTL nodes (DataNode.copyStat);
 *   the raw owner is in ZStatPersisted.  ZStat.data_length is 0 for null data.
 *
 * NULL DATA
 *   Kept distinct from empty data (one flag bit, free): a node created or set
 *   with data == NULL, dlen == -1 reads back as NULL / -1 from tree_data, as
 *   ZooKeeper's getData returns a null byte[] (serialized with length -1).
 *   Its stat data_length is 0.
 *
 * ZNode POINTERS
 *   A ZNode * (from tree_lookup or tree_walk) is valid until the next call
 *   that modifies the tree (records move when they grow).  Look it up again
 *   after any modification.
 *
 * ACL IDS
 *   tree_acl_intern returns an id and takes one reference for the caller;
 *   every node using the id holds one more.  Release the caller's reference
 *   with tree_acl_release once the create/set_acl that used it has been
 *   applied (or was refused).  A list is freed when its count reaches 0.  A
 *   forgotten release only keeps a list alive; it never leaves a node with a
 *   dangling id.  Ids are local to one Tree (reused after a list is freed);
 *   the replicated state is the list, and the digest hashes the list, not
 *   the id.  TREE_ACL_OPEN_UNSAFE (world:anyone, perms 31) always exists.
 *
 * THREADING
 *   A Tree is single-threaded: owned by the event loop; no call takes a lock.
 *   Functions taking a const Tree * never write to it (no caches, no scratch
 *   buffers), so several threads may read a tree nobody modifies.  For a
 *   snapshot: on the loop thread call tree_clone() (a memcpy of the tree's
 *   few big blocks: about 30 ms for a million znodes, see README), hand the clone to the
 *   snapshot thread, which walks it with the const functions and then calls
 *   tree_free on it.  Alternatively fork() and walk in the child: the tree
 *   holds no pointers to anything but its own heap.
 *
 * INVARIANTS (checked by tree_verify)
 *   "/" always exists; every other node's parent exists; a node's children
 *   are kept sorted by name (byte order, shorter prefix first); numChildren,
 *   node count, ephemeral count, data size and digest always match the nodes;
 *   every node's ACL id is a live interned list; each session-ephemeral node
 *   is in exactly its session's set, each container/TTL node in its set.
 *
 * Node count: tree_node_count counts every node once (4 in a fresh tree).
 * ZooKeeper's zk_znode_count / "Node count" is that + 1, because its map
 * holds the root twice ("" and "/"); the metrics code should add 1 where it
 * must print ZooKeeper's number.
 */
#ifndef CORRAL_TREE_H
#define CORRAL_TREE_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: ZooKeeper's KeeperException codes. */
#define TREE_OK             0
#define TREE_BADARGUMENTS  (-8)
#define TREE_NONODE        (-101)
#define TREE_NODEEXISTS    (-110)
#define TREE_NOTEMPTY      (-111)

/* ephemeralOwner encodings (ZooKeeper's EphemeralType). */
#define TREE_OWNER_CONTAINER  ((int64_t)INT64_MIN)         /* 0x8000000000000000 */
#define TREE_OWNER_TTL_MASK   ((uint64_t)0xFF00000000000000ULL)
/* A TTL owner: high byte 0xFF, low 40 bits the TTL in ms.  Session ids must
 * therefore not have a high byte of 0xFF (ZooKeeper's rule: server id <= 254). */
static inline int tree_owner_is_container(int64_t o) { return o == TREE_OWNER_CONTAINER; }
static inline int tree_owner_is_ttl(int64_t o)
{
    return ((uint64_t)o & TREE_OWNER_TTL_MASK) == TREE_OWNER_TTL_MASK;
}
static inline int64_t tree_owner_ttl_ms(int64_t o) { return (int64_t)((uint64_t)o & 0xFFFFFFFFFFULL); }
static inline int64_t tree_ttl_owner(int64_t ttl_ms)
{
    return (int64_t)(TREE_OWNER_TTL_MASK | ((uint64_t)ttl_ms & 0xFFFFFFFFFFULL));
}
/* Session ephemeral: nonzero and neither container nor TTL. */
static inline int tree_owner_is_session(int64_t o)
{
    return o != 0 && !tree_owner_is_container(o) && !tree_owner_is_ttl(o);
}

typedef struct Tree Tree;
typedef struct ZNode ZNode;             /* opaque outside tree/ */

typedef struct ZStat {                  /* ZooKeeper's Stat, field for field */
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;
    int64_t ephemeral_owner;
    int32_t data_length, num_children;
    int64_t pzxid;
} ZStat;

typedef struct ZStatPersisted {         /* ZooKeeper's StatPersisted, field for field */
    int64_t czxid, mzxid, ctime, mtime;
    int32_t version, cversion, aversion;   /* cversion: the stored (create-counting) value */
    int64_t ephemeral_owner;               /* raw: session, container or TTL encoding */
    int64_t pzxid;
} ZStatPersisted;

typedef struct TreeAclEntry { int32_t perms; const char *scheme; const char *id; } TreeAclEntry;
#define TREE_ACL_NONE 0u         /* never a valid id */
#define TREE_ACL_OPEN_UNSAFE 1u  /* world:anyone perms 31; pinned, never freed */

/* ---- lifetime ---------------------------------------------------------- */

/* A tree as ZooKeeper 3.8's DataTree constructor leaves it: "/",
 * "/zookeeper", "/zookeeper/quota" (all-zero stats, empty data,
 * world:anyone perms 31) and "/zookeeper/config" (empty data, world:anyone
 * perms 1 (READ_ACL_UNSAFE), aversion -1).  Clients see cversion -1 on "/"
 * and -2 on "/zookeeper", as with ZooKeeper. */
Tree *tree_new(void);
void tree_free(Tree *);
/* A deep, independent copy (for a snapshot thread); see THREADING. */
Tree *tree_clone(const Tree *);

/* ---- ACLs -------------------------------------------------------------- */

/* Interns a list (n >= 0 entries; scheme/id NUL-terminated, copied), deduping
 * identical lists (same entries, same order).  Takes a reference for the
 * caller.  Returns TREE_ACL_NONE only for n < 0 or acl == NULL with n > 0. */
uint32_t tree_acl_intern(Tree *, const TreeAclEntry *acl, int n);
/* Drops a reference taken by tree_acl_intern. */
void tree_acl_release(Tree *, uint32_t id);
/* TREE_OK and the list (valid until the list is freed), or TREE_BADARGUMENTS. */
int tree_acl_get(const Tree *, uint32_t id, const TreeAclEntry **acl, int *n);
int64_t tree_acl_refcount(const Tree *, uint32_t id);   /* -1 if not live */
int64_t tree_acl_count(const Tree *);                   /* live lists */
typedef void (*TreeAclFn)(void *ctx, uint32_t id, const TreeAclEntry *acl, int n);
void tree_acl_foreach(const Tree *, TreeAclFn fn, void *ctx);   /* by id */

/* ---- reading ----------------------------------------------------------- */

/* NULL if absent.  path need not be NUL-terminated.  One hash probe plus a
 * check of the path's components against the node and its ancestors. */
ZNode *tree_lookup(const Tree *, const char *path, size_t len);
void tree_stat(const Tree *, const ZNode *, ZStat *out);        /* client view */
void tree_stat_persisted(const ZNode *, ZStatPersisted *out);   /* stored view */
/* Data (not NUL-terminated); NULL and -1 for null data. */
void tree_data(const ZNode *, const char **data, int32_t *len);
uint32_t tree_node_acl(const ZNode *);
int32_t tree_node_cversion(const ZNode *);        /* STORED cversion: for sequential names */
int64_t tree_node_ephemeral_owner(const ZNode *); /* raw owner */
int32_t tree_num_children(const ZNode *);

/* Children of a node, names only (not full paths), sorted by name (byte
 * order).  name is valid during the call only; fn must not modify the tree. */
typedef void (*TreeChildFn)(void *ctx, const char *name, size_t len);
void tree_children(const Tree *, const ZNode *, TreeChildFn fn, void *ctx);

/* ---- applying transactions --------------------------------------------- */

/* CreateTxn.  dlen -1 with data NULL: null data.  acl_id must be live; the
 * node takes its own reference.  ephemeral_owner: 0 persistent, a session id,
 * TREE_OWNER_CONTAINER or tree_ttl_owner(ttl); stored as given.  The new
 * node gets czxid = mzxid = pzxid = zxid, ctime = mtime = time_ms, versions 0.
 * out_stat (may be NULL): the new node's client stat. */
int tree_create(Tree *, const char *path, size_t len, const void *data, int32_t dlen,
                uint32_t acl_id, int64_t ephemeral_owner, int32_t parent_cversion,
                int64_t zxid, int64_t time_ms, ZStat *out_stat);
/* DeleteTxn: parent numChildren - 1, parent pzxid = zxid if larger (the
 * client-visible parent cversion thereby goes up by 1). */
int tree_delete(Tree *, const char *path, size_t len, int64_t zxid);
/* SetDataTxn: version is the NEW version; mzxid = zxid, mtime = time_ms. */
int tree_set_data(Tree *, const char *path, size_t len, const void *data, int32_t dlen,
                  int32_t version, int64_t zxid, int64_t time_ms, ZStat *out_stat);
/* SetACLTxn: aversion is the NEW aversion.  The old list loses a reference. */
int tree_set_acl(Tree *, const char *path, size_t len, uint32_t acl_id, int32_t aversion,
                 ZStat *out_stat);
/* ZooKeeper's DataTree.setCversionPzxid (replay of a create that found its
 * node existing): cversion -1 means stored + 1; applied only if larger. */
int tree_set_cversion_pzxid(Tree *, const char *path, size_t len, int32_t cversion, int64_t zxid);
/* Snapshot load: creates the node with exactly this stored stat, without
 * touching the parent's stat (the snapshot has it); if the node exists (the
 * initial "/" and /zookeeper nodes) its data, ACL and stat are replaced.
 * Parents must be restored before children (pre-order, as tree_walk gives). */
int tree_restore_node(Tree *, const char *path, size_t len, const void *data, int32_t dlen,
                      uint32_t acl_id, const ZStatPersisted *st);

/* ---- sets -------------------------------------------------------------- */

/* Full paths, in creation order.  The path buffer is reused between calls.
 * fn may delete the node it is handed (the next one is read before the
 * call) but must make no other change to the tree. */
typedef void (*TreePathFn)(void *ctx, const char *path, size_t len);
void tree_session_ephemerals(const Tree *, int64_t session, TreePathFn fn, void *ctx);
/* The same walk, stopped as soon as fn returns nonzero (an answer that
 * reached its size cap); returns nonzero when it stopped early. */
typedef int (*TreePathVisitFn)(void *ctx, const char *path, size_t len);
int tree_session_ephemerals_visit(const Tree *, int64_t session, TreePathVisitFn fn, void *ctx);
int64_t tree_session_ephemeral_count(const Tree *, int64_t session);
typedef void (*TreeSessionFn)(void *ctx, int64_t session, int64_t count);
void tree_ephemeral_sessions(const Tree *, TreeSessionFn fn, void *ctx); /* unordered */
void tree_containers(const Tree *, TreePathFn fn, void *ctx);
void tree_ttl_nodes(const Tree *, TreePathFn fn, void *ctx);

/* ---- counters ---------------------------------------------------------- */

int64_t tree_node_count(const Tree *);          /* every node once, "/" included */
int64_t tree_approx_data_size(const Tree *);    /* sum of path lengths + data lengths */
int64_t tree_ephemeral_count(const Tree *);     /* session ephemerals only, as ZooKeeper */
int64_t tree_container_count(const Tree *);
int64_t tree_ttl_count(const Tree *);
int64_t tree_all_children_number(const Tree *, const ZNode *);  /* all descendants */
size_t tree_memory_bytes(const Tree *);         /* bytes the tree holds from malloc */

/* ---- walking and digests ----------------------------------------------- */

/* Pre-order walk from root (parents before children, siblings sorted), with
 * each node's full path (NUL-terminated, valid during the call).  fn must
 * not modify the tree; a nonzero return stops the walk and is returned.
 * Returns TREE_NONODE if root does not exist, else 0. */
typedef int (*TreeWalkFn)(void *ctx, const char *path, size_t len, const ZNode *node);
int tree_walk(const Tree *, const char *root, size_t rootlen, TreeWalkFn fn, void *ctx);

/* Order-independent digest of every node (path, data incl. null-ness, stored
 * stat, ACL list contents): the sum mod 2^64 of one 64-bit hash per node (see
 * README for the exact definition).  Maintained incrementally: O(1).  Equal
 * trees give equal digests whatever their history or ACL ids. */
uint64_t tree_digest(const Tree *);
uint64_t tree_digest_recompute(const Tree *);   /* O(n), the same value */

/* Full consistency check (O(n)); for tests and debugging.  0 if consistent,
 * else -1 with a message in err. */
int tree_verify(const Tree *, char *err, size_t errlen);

/* ---- the core's snapshot payload (tree_snapshot.c) ------------------------
 * One codec for the server (server/snapshot.c) and the tools that write or
 * read a data directory without one (corralctl import-zookeeper,
 * export-zookeeper).  The format is in tree_snapshot.c and doc/storage.md. */
struct WBuf;
/* sessions: nsessions (id, timeout) pairs. */
void tree_snapshot_encode(struct WBuf *w, const Tree *, int64_t zxid, const int64_t *sessions, size_t nsessions);
typedef struct TreeSnapshot {
    Tree *tree;
    int64_t zxid;
    int64_t *sessions;     /* nsessions (id, timeout) pairs */
    size_t nsessions;
} TreeSnapshot;
/* Decodes a payload that must say expect_zxid, checking every count, the
 * parent of every node and the digest.  0 with *out filled (free it with
 * tree_snapshot_free), or -1 with the reason in why and nothing allocated. */
int tree_snapshot_decode(const void *data, size_t len, int64_t expect_zxid, TreeSnapshot *out, char *why,
                         size_t whylen);
void tree_snapshot_free(TreeSnapshot *);
/* ZooKeeper's StatPersisted record, jute (big endian), field by field: the
 * payload's and ZooKeeper's own snapshots' encoding of a node's stat. */
struct RBuf;
void tree_stat_persisted_put(struct WBuf *w, const ZStatPersisted *st);
void tree_stat_persisted_get(struct RBuf *r, ZStatPersisted *st);

#endif
