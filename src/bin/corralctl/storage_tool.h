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

#endif
