/*
 * src/backend/tree/tree_digest.c: the tree digest (sum of per-node hashes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corral/log.h"
#include "tree/tree_internal.h"
#include "utils/alloc.h"

/* ---- digest ---- */

static uint64_t rec_data_hash(const Rec *r)
{
    if (r->dlen < 0)
        return h64("", 0, S_NULL);
    if (r->dlen >= DHASH_MIN)
        return r->dhash;
    return h64(r->data, (size_t)r->dlen, S_DATA);
}

static uint64_t rec_stat_hash(const Rec *r)
{
    uint8_t b[60];
    put_le64(b, (uint64_t)r->czxid);
    put_le64(b + 8, (uint64_t)r->mzxid);
    put_le64(b + 16, (uint64_t)r->ctime);
    put_le64(b + 24, (uint64_t)r->mtime);
    put_le64(b + 32, (uint64_t)r->pzxid);
    put_le32(b + 40, (uint32_t)r->version);
    put_le32(b + 44, (uint32_t)r->cversion);
    put_le32(b + 48, (uint32_t)r->aversion);
    put_le64(b + 52, (uint64_t)r->owner);
    return h64(b, 60, S_STAT);
}

static uint64_t node_hash_parts(uint64_t hp, uint64_t hd, uint64_t hs, uint64_t ha)
{
    uint8_t b[32];
    put_le64(b, hp);
    put_le64(b + 8, hd);
    put_le64(b + 16, hs);
    put_le64(b + 24, ha);
    return h64(b, 32, S_NODE);
}

uint64_t node_hash(const Tree *T, uint64_t hp, const Rec *r)
{
    return node_hash_parts(hp, rec_data_hash(r), rec_stat_hash(r), T->acl[r->acl].hash);
}

uint64_t tree_digest(const Tree *T) { return T->digest; }

typedef struct DigestCtx { const Tree *T; uint64_t sum; } DigestCtx;
static int digest_cb(void *vctx, const char *path, size_t len, const ZNode *n)
{
    DigestCtx *d = vctx;
    Rec r;
    rec_decode((const uint8_t *)n, &r);
    d->sum += node_hash(d->T, h64(path, len, S_PATH), &r);
    return 0;
}

uint64_t tree_digest_recompute(const Tree *T)
{
    DigestCtx d = {T, 0};
    tree_walk(T, "/", 1, digest_cb, &d);
    return d.sum;
}
