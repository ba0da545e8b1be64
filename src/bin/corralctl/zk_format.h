/*
 * src/bin/corralctl/zk_format.h: Apache ZooKeeper's data directory, read
 * (import-zookeeper) and written (export-zookeeper) by corralctl.
 *
 * The formats, as ZooKeeper 3.4 to 3.9 write them (read from its sources:
 * server/persistence/FileSnap.java, SnapStream.java, FileTxnLog.java,
 * Util.java, server/DataTree.java, ReferenceCountedACLCache.java,
 * util/SerializeUtils.java, DigestCalculator.java).  Integers big endian
 * (jute).
 *
 * dataDir/version-2/snapshot.<zxid hex>[.gz|.snappy]  (FileSnap)
 *   The stream, after decompression (gz: a gzip member; snappy: xerial's
 *   SnappyOutputStream, a 16-byte header 0x82 "SNAPPY" 0 | int 1 | int 1
 *   then blocks of int length + raw snappy):
 *     int magic "ZKSN" | int version 2 | long dbid -1
 *     int nsessions | (long id, int timeout)*
 *     int nacls | (long ref, int n, (int perms, ustring scheme, ustring id)*)*
 *     (ustring path, buffer data, long aclref, StatPersisted)* in pre-order,
 *       the root's path "", children in hash order
 *     ustring "/" (end of the tree)
 *     long Adler32 of every byte before it | ustring "/"          (the seal)
 *     3.6+ with digests on: long zxid | int version | long digest (ZxidDigest)
 *       | long Adler32 of every byte before it | ustring "/"
 *   aclref -1 is world:anyone perms 31 (OPEN_ACL_UNSAFE), never in the map.
 *   The snapshot is fuzzy: taken while writes went on, it may hold changes
 *   of transactions after the zxid in its name; replaying the log from that
 *   zxid + 1 makes it exact (DataTree.processTxn's replay rules).
 *
 * dataLogDir/version-2/log.<zxid hex of its first txn>  (FileTxnLog)
 *     int magic "ZKLG" | int version 2 | long dbid 0
 *     (long Adler32 of the bytes | buffer bytes | byte 'B')*
 *     zeros up to the preallocated size (64 MiB by default)
 *   bytes = TxnHeader | the txn record [| TxnDigest (int version, long
 *   digest) in 3.6+].  A zero length ends the file (the preallocated tail);
 *   a short entry or a missing 'B' is a torn last write (the file ends
 *   there too); a wrong Adler32 is damage.
 *
 * dataDir/version-2/acceptedEpoch, currentEpoch: decimal, a quorum
 * member's epochs.  dataDir/myid: the member's id.
 */
#ifndef CORRALCTL_ZK_FORMAT_H
#define CORRALCTL_ZK_FORMAT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "tree/tree.h"

#define ZK_SNAP_MAGIC 0x5A4B534Eu   /* "ZKSN" */
#define ZK_LOG_MAGIC 0x5A4B4C47u    /* "ZKLG" */
#define ZK_FILE_HEADER 16
#define ZK_DIGEST_VERSION 2         /* DigestCalculator.DIGEST_VERSION */

typedef enum ZkCodec { ZK_PLAIN = 0, ZK_GZ, ZK_SNAPPY } ZkCodec;

typedef struct ZkFile {
    char path[PATH_MAX];
    int64_t zxid;        /* from the name */
    ZkCodec codec;
} ZkFile;

/* A ZooKeeper data directory: its snapshots (newest first), its logs
 * (oldest first), its epoch files and myid (-1 when absent). */
typedef struct ZkDir {
    char snapdir[PATH_MAX], logdir[PATH_MAX];
    ZkFile *snaps;
    size_t nsnaps;
    ZkFile *logs;
    size_t nlogs;
    int64_t accepted_epoch, current_epoch, myid;
} ZkDir;

/* from: ZooKeeper's dataDir (or its version-2/); logdir: its dataLogDir
 * (NULL: the same).  0, or -1 with err. */
int zk_dir_open(ZkDir *d, const char *from, const char *logdir, char *err, size_t errlen);
void zk_dir_free(ZkDir *d);

/* Progress, called now and then while reading (count: znodes or txns so
 * far, bytes: input bytes so far). */
typedef void (*ZkProgressFn)(void *ctx, const char *what, uint64_t count, uint64_t bytes);

/* A snapshot, read into a Corral tree. */
typedef struct ZkSnapshot {
    int64_t zxid;            /* from the name */
    Tree *tree;
    int64_t *sessions;       /* nsessions (id, timeout) pairs */
    size_t nsessions;
    uint64_t nodes, data_bytes, file_bytes, raw_bytes;
    int has_digest;          /* the 3.6+ ZxidDigest was there */
    int64_t digest_zxid;
    int32_t digest_version;
    int64_t digest;
    uint64_t zk_digest;      /* ZooKeeper's tree digest of the nodes as read */
    int config_reset;        /* /zookeeper/config held a quorum's server list: emptied */
} ZkSnapshot;

/* Reads, checks (magic, structure, every Adler32 seal, nothing after the
 * end) and converts one snapshot.  0; -1 I/O error or out of memory; -2 the
 * file fails a check.  The reason is in err. */
int zk_snapshot_read(const ZkFile *f, ZkSnapshot *out, ZkProgressFn progress, void *pctx, char *err,
                     size_t errlen);
void zk_snapshot_free(ZkSnapshot *s);

/* ZooKeeper's digest of one node (DigestCalculator, version 2): CRC32 of the
 * path ("" for the root), the data and the stat; 0 under /zookeeper/. */
uint64_t zk_node_digest(const char *path, size_t plen, const void *data, int32_t dlen, const ZStatPersisted *st);

/* ---- transaction logs ---------------------------------------------------- */

typedef struct ZkLog {
    char path[PATH_MAX];
    int fd;
    const unsigned char *map;
    uint64_t size, off;
} ZkLog;

typedef struct ZkTxn {
    int64_t zxid;
    int32_t type;            /* TxnHeader.type as logged */
    const unsigned char *data;   /* TxnHeader + record, without the TxnDigest */
    size_t len;
    uint64_t offset;         /* of the entry in the file */
    int has_digest;
    int32_t digest_version;
    int64_t digest;
} ZkTxn;

/* How a log file's entries stop. */
typedef enum ZkLogEnd {
    ZK_LOG_CLEAN = 0,        /* end of file, or the zero-filled preallocated tail */
    ZK_LOG_TORN,             /* a short entry or no 'B': an unfinished last write */
    ZK_LOG_DAMAGED           /* a wrong checksum, or a record that does not decode */
} ZkLogEnd;

/* 0; -1 with err (cannot open, bad header). */
int zk_log_open(ZkLog *l, const char *path, char *err, size_t errlen);
void zk_log_close(ZkLog *l);
/* 1 with the next entry; 0 at the end of the file's entries with *end and,
 * unless clean, the reason in why. */
int zk_log_next(ZkLog *l, ZkTxn *t, ZkLogEnd *end, char *why, size_t whylen);

/* ---- writing (export-zookeeper) -------------------------------------------- */

/* Writes tree and sessions (nsessions (id, timeout) pairs) as ZooKeeper's
 * plain snapshot.<zxid hex> in dir (version-2/), with its ZxidDigest:
 * written as .tmp, synced, renamed.  0, or -1 with err. */
int zk_snapshot_write(const char *dir, int64_t zxid, const Tree *t, const int64_t *sessions, size_t nsessions,
                      char *err, size_t errlen);

/* A transaction log being written: log.<first zxid hex> in dir, created at
 * the first record (TxnHeader + txn, as ZooKeeper logs them). */
typedef struct ZkLogOut {
    char dir[PATH_MAX];
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    void *f;                 /* FILE * */
    uint64_t records;
} ZkLogOut;
int zk_log_out_add(ZkLogOut *o, int64_t zxid, const void *rec, size_t len, char *err, size_t errlen);
/* Ends the log (zeros after the last entry), syncs and names it. */
int zk_log_out_finish(ZkLogOut *o, char *err, size_t errlen);
void zk_log_out_abort(ZkLogOut *o);

#endif
