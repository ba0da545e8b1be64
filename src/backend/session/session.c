/*
 * src/backend/session/session.c: session table (open hash by id) and the
 * tick-bucketed expiry queue.
 */
#include <stdlib.h>
#include <string.h>

#include "session/session.h"
#include "utils/alloc.h"

static struct {
    Session **buckets;           /* hash table */
    size_t nbuckets;
    int64_t count;
    int64_t tick;
    int64_t next_id;
    Session **ring;              /* expiry ring: one list per tick */
    int nring;
    int64_t ring_base;           /* deadline (ms) that slot ring_base_slot holds */
} st;

static size_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

void session_table_init(int64_t tick_ms, int64_t max_timeout_ms, int64_t server_id, int64_t now_ms, int64_t wall_ms)
{
    memset(&st, 0, sizeof st);
    st.nbuckets = 1024;
    st.buckets = xcalloc(st.nbuckets, sizeof *st.buckets);
    st.tick = tick_ms > 0 ? tick_ms : 2000;
    /* Enough slots for the longest timeout plus slack; deadlines never lie
     * further ahead than that. */
    st.nring = (int)(max_timeout_ms / st.tick) + 4;
    st.ring = xcalloc((size_t)st.nring, sizeof *st.ring);
    st.ring_base = (now_ms / st.tick) * st.tick;
    /* ZooKeeper: (elapsed << 24) >>> 8 | (myid << 56). */
    st.next_id = (int64_t)(((uint64_t)wall_ms << 24) >> 8) | (int64_t)((uint64_t)server_id << 56);
}

int64_t session_next_id(void) { return st.next_id++; }

void session_password(int64_t id, uint8_t out[SESSION_PASSWD_LEN])
{
    /* java.util.Random: 48-bit LCG, nextBytes takes 4 bytes per nextInt,
     * low byte first. */
    const uint64_t mult = 0x5DEECE66DULL, mask = (1ULL << 48) - 1;
    uint64_t seed = ((uint64_t)(id ^ 0xB3415C00LL) ^ mult) & mask;
    for (int i = 0; i < SESSION_PASSWD_LEN;) {
        seed = (seed * mult + 0xBULL) & mask;
        int32_t rnd = (int32_t)(uint32_t)(seed >> 16);
        for (int n = SESSION_PASSWD_LEN - i < 4 ? SESSION_PASSWD_LEN - i : 4; n-- > 0; rnd >>= 8)
            out[i++] = (uint8_t)rnd;
    }
}

/* The ring slot of a deadline, in [0, nring) for any deadline: a timeout
 * read from a snapshot, a CreateSessionTxn or a peer may be negative, and
 * C's % then was negative too, an index before st.ring (heap overflow found
 * by regress/fuzz/fuzz_snapshot.c).  Such a session lands in a slot like
 * any other and expires the first time the ring passes it. */
static int slot_of(int64_t deadline)
{
    int64_t slot = (deadline / st.tick) % st.nring;
    return (int)(slot < 0 ? slot + st.nring : slot);
}

static void unlink_expiry(Session *s)
{
    if (s->bucket < 0)
        return;
    if (s->eprev)
        s->eprev->enext = s->enext;
    else
        st.ring[s->bucket] = s->enext;
    if (s->enext)
        s->enext->eprev = s->eprev;
    s->eprev = s->enext = NULL;
    s->bucket = -1;
}

void session_touch(Session *s, int64_t now_ms)
{
    if (s->closing)
        return;
    s->last_seen = now_ms;
    /* Round up to the next tick, as ExpiryQueue.roundToNextInterval. */
    int64_t deadline = ((now_ms + s->timeout_ms) / st.tick + 1) * st.tick;
    if (deadline == s->expire_at && s->bucket >= 0)
        return;
    unlink_expiry(s);
    s->expire_at = deadline;
    s->bucket = slot_of(deadline);
    s->eprev = NULL;
    s->enext = st.ring[s->bucket];
    if (s->enext)
        s->enext->eprev = s;
    st.ring[s->bucket] = s;
}

void session_extend(Session *s, int64_t seen_ms)
{
    if (seen_ms > s->last_seen)
        session_touch(s, seen_ms);
}

int64_t session_remaining(const Session *s, int64_t now_ms) { return s->last_seen + s->timeout_ms - now_ms; }

int64_t session_next_due_in(int64_t now_ms)
{
    /* ring_base may lag far behind on a member that did not expire (a
     * learner): the next boundary after now_ms then. */
    int64_t next = st.ring_base > now_ms ? st.ring_base : (now_ms / st.tick + 1) * st.tick;
    return next - now_ms;
}

static void grow(void)
{
    size_t n = st.nbuckets * 2;
    Session **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < st.nbuckets; i++) {
        Session *s = st.buckets[i];
        while (s) {
            Session *next = s->hnext;
            size_t h = hash_id(s->id) & (n - 1);
            s->hnext = b[h];
            b[h] = s;
            s = next;
        }
    }
    free(st.buckets);
    st.buckets = b;
    st.nbuckets = n;
}

Session *session_find(int64_t id)
{
    for (Session *s = st.buckets[hash_id(id) & (st.nbuckets - 1)]; s; s = s->hnext)
        if (s->id == id)
            return s;
    return NULL;
}

Session *session_add(int64_t id, int32_t timeout_ms, int64_t now_ms)
{
    Session *s = session_find(id);
    if (s)
        return s;
    if ((size_t)st.count >= st.nbuckets)
        grow();
    s = xcalloc(1, sizeof *s);
    s->id = id;
    s->timeout_ms = timeout_ms;
    s->bucket = -1;
    session_password(id, s->passwd);
    size_t h = hash_id(id) & (st.nbuckets - 1);
    s->hnext = st.buckets[h];
    st.buckets[h] = s;
    st.count++;
    /* Ids handed out later must not collide with a recovered one. */
    if (id >= st.next_id && (id >> 56) == (st.next_id >> 56))
        st.next_id = id + 1;
    session_touch(s, now_ms);
    return s;
}

void session_remove(int64_t id)
{
    Session **pp = &st.buckets[hash_id(id) & (st.nbuckets - 1)];
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->hnext;
    Session *s = *pp;
    if (!s)
        return;
    *pp = s->hnext;
    unlink_expiry(s);
    st.count--;
    free(s);
}

int64_t session_count(void) { return st.count; }

void session_foreach(void (*fn)(void *ctx, Session *s), void *ctx)
{
    for (size_t i = 0; i < st.nbuckets; i++)
        for (Session *s = st.buckets[i]; s;) {
            Session *next = s->hnext;   /* fn may remove s */
            fn(ctx, s);
            s = next;
        }
}

void session_expire_due(int64_t now_ms, void (*fn)(void *ctx, Session *s), void *ctx)
{
    while (st.ring_base <= now_ms) {
        int slot = slot_of(st.ring_base);
        Session *s = st.ring[slot];
        while (s) {
            Session *next = s->enext;
            if (s->expire_at <= now_ms) {
                unlink_expiry(s);
                s->closing = 1;
                fn(ctx, s);
            }
            s = next;
        }
        st.ring_base += st.tick;
    }
}

void session_table_free(void)
{
    for (size_t i = 0; i < st.nbuckets; i++)
        for (Session *s = st.buckets[i]; s;) {
            Session *next = s->hnext;
            free(s);
            s = next;
        }
    free(st.buckets);
    free(st.ring);
    memset(&st, 0, sizeof st);
}
