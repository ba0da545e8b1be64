/*
 * src/bin/corralctl/storage_tool.h: what the storage commands of corralctl
 * (wal-dump, snapshot-dump, verify) share: output helpers, transaction
 * rendering, directory listings and the core's snapshot payload parser.
 */
#ifndef CORRALCTL_STORAGE_TOOL_H
#define CORRALCTL_STORAGE_TOOL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "corralctl.h"
#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/zk_proto.h"
#include "../../modules/storage_file/recovery_plan.h"
#include "../../modules/storage_file/wal_format.h"

#define SNAP_MAGIC "CRLSNAP1"        /* the core's payload, src/backend/tree/tree_snapshot.c */
#define TEXT_DATA_MAX 64             /* bytes of data shown per value in text output */
#define MAX_MULTI_DEPTH 4
#define OWNER_CONTAINER INT64_MIN
#define OWNER_IS_TTL(o) (((uint64_t)(o) >> 56) == 0xFF && (o) != OWNER_CONTAINER)


typedef struct Args {
    int json, data;
    const char *path;
    const char *wal_dir;      /* --wal-dir: the WAL elsewhere (storage_file wal_dir) */
} Args;

/* Lists of names and of messages (rp_names_free frees them). */
typedef RpNames NameList;

typedef struct SnapSession {
    int64_t id;
    int32_t timeout;
    int64_t ephemerals;
} SnapSession;

typedef struct SnapAcl {
    int32_t ref;
    size_t off;       /* of its entry count, in the payload */
} SnapAcl;

typedef struct SnapNode {
    ZkBytes path, data;
    int32_t aclref;
    StatPersisted st;
} SnapNode;

typedef struct SnapPayload {
    const unsigned char *p;
    size_t len;
    int64_t zxid;
    SnapSession *sessions;
    int32_t nsessions;
    SnapAcl *acls;
    int32_t nacls;
    size_t nodes_off;       /* where the first node starts */
    uint64_t nnodes;
    uint64_t data_bytes;
    int32_t *nchildren;     /* per node, in pre-order */
    int64_t digest;
    uint64_t containers, ttls, ephemerals;
} SnapPayload;

void emit(CorralStrbuf *sb);
void fmt_time(char *buf, size_t n, int64_t ms);
void json_text(CorralStrbuf *sb, const void *p, int32_t len);
void json_bytes(CorralStrbuf *sb, const void *p, int32_t len);
void json_cstr(CorralStrbuf *sb, const char *s);
void json_key(CorralStrbuf *sb, const char *key);
void json_kstr(CorralStrbuf *sb, const char *key, const char *v);
void json_khex(CorralStrbuf *sb, const char *key, int64_t v);
void json_kint(CorralStrbuf *sb, const char *key, int64_t v);
void json_kbool(CorralStrbuf *sb, const char *key, int v);
void text_bytes(CorralStrbuf *sb, ZkBytes b, size_t max);
int parse_args(int argc, char **argv, int allow_data, void (*usage)(FILE *), Args *a);
void text_acl(CorralStrbuf *sb, const JuteVec_ACL *v);
void json_acl(CorralStrbuf *sb, const JuteVec_ACL *v);
void f_path(CorralStrbuf *sb, int json, ZkBytes p);
void f_data(CorralStrbuf *sb, int json, ZkBytes d);
void f_acl(CorralStrbuf *sb, int json, const JuteVec_ACL *acl);
void f_int(CorralStrbuf *sb, int json, const char *name, int64_t v);
void f_bool(CorralStrbuf *sb, int json, const char *name, int v);
const char *op_name(int type);
int render_txn(CorralStrbuf *sb, int json, int type, RBuf *r, Arena *a, int depth, char *why, size_t whylen);
int decode_body(const WalfRecord *rec, CorralStrbuf *sb, int json, TxnHeader *h, char *why, size_t whylen);
void names_add(NameList *l, const char *s);
int has_suffix(const char *s, const char *suf);
int is_dir(const char *p);
int read_node(RBuf *r, SnapNode *n);
int cmp_sess(const void *a, const void *b);
size_t parent_len(ZkBytes p);
int parse_payload(const void *data, size_t len, int64_t expect_zxid, SnapPayload *sp, char *why, size_t whylen);
void payload_free(SnapPayload *sp);
void acl_entries(const SnapPayload *sp, const SnapAcl *a, CorralStrbuf *sb, int json);

/* ---- a member's state through its admin endpoint (cmd_snapshot.c) ---- */
typedef struct CtlSnapshot {
    void *data;                /* the core's payload (malloc'd), NULL with --no-stream */
    size_t len;
    int64_t zxid;
    int64_t durable_zxid;      /* what the member had acknowledged when it answered */
    uint64_t nnodes, nsessions;
} CtlSnapshot;

/* GET /commands/snapshot (waiting while the member acknowledges what it
 * holds; stream 0: ?streaming=false, 2: ?wait=false, 3: ?store=false), the
 * payload checked.
 * 0, or -1 after printing the error. */
int ctl_fetch_snapshot(const CtlServer *s, const char *token, int timeout_ms, int stream, CtlSnapshot *out);
/* Writes sn as a storage_file snapshot file at path (through path.tmp, fsynced). */
int ctl_write_snapshot_file(const char *path, const CtlSnapshot *sn, uint64_t *size, char *err, size_t errlen);

/* CRC32C and size of a whole file (backup manifests): 0, or -1 with err. */
int ctl_file_crc32c(const char *path, uint32_t *crc, uint64_t *size, char *err, size_t errlen);

/* ---- building a data directory (datadir.c) ---- */
typedef struct DdWriter {
    char dir[PATH_MAX], waldir[PATH_MAX + 8];
    char name[64];             /* the open segment */
    int fd;
    uint64_t seq, off;
    int64_t prev;              /* zxid of the last record written (the snapshot's at first) */
    uint64_t records, bytes, segments;
} DdWriter;

/* Creates DIR (may exist) and WALDIR (NULL: DIR/wal; must not exist, or be
 * empty); the first record written must follow start_zxid (the
 * snapshot's, or 0). */
int dd_create(DdWriter *w, const char *dir, const char *waldir, int64_t start_zxid, char *err, size_t n);
/* Copies snapshot file `src` into the directory as snapshot.ZXID.zst (fsynced). */
int dd_put_snapshot(DdWriter *w, const char *src, int64_t zxid, char *err, size_t n);
int dd_put_record(DdWriter *w, int64_t zxid, const void *data, uint32_t len, char *err, size_t n);
/* Syncs the last segment and both directories. */
int dd_finish(DdWriter *w, char *err, size_t n);
void dd_abort(DdWriter *w);
int dd_copy_file(const char *src, const char *dst, char *err, size_t n);
int dd_fsync_path(const char *path, char *err, size_t n);
/* snprintf into an error buffer, cutting when it must (paths are long). */
void dd_err(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Takes DIR/LOCK as the server does (0; *fd -1 when there is none), or -1
 * with "DIR is in use by a running server ..." */
int dd_lock(const char *dir, int *fd, char *err, size_t n);
/* 1 when dir does not exist or holds nothing (a new directory may go there). */
int dd_dir_empty(const char *dir);

#endif
