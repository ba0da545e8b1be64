/*
 * regress/unit/test_wire.c: the jute wire codec (src/backend/wire and the
 * records generated from zookeeper.jute).
 *
 * Byte layouts are checked against what ZooKeeper's BinaryOutputArchive
 * writes; malformed-input cases copy each input into an exactly sized heap
 * block so that AddressSanitizer catches any read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "jute_records.h"
#include "tap.h"
#include "wire/wire.h"
#include "wire/wire_connect.h"
#include "wire/zk_proto.h"

static Arena arena;

/* A heap copy of exactly n bytes (never 0: malloc(0) may return NULL). */
static uint8_t *exact_copy(const void *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (n)
        memcpy(q, p, n);
    return q;
}

static int bytes_are(const WBuf *w, const char *hex_expected)
{
    char got[1024];
    size_t k = 0;
    for (size_t i = 0; i < w->len && k + 3 < sizeof(got); i++)
        k += (size_t)snprintf(got + k, sizeof(got) - k, "%02x", w->data[i]);
    got[k] = '\0';
    if (strcmp(got, hex_expected) != 0) {
        diag("bytes: %s", got);
        diag("want:  %s", hex_expected);
        return 0;
    }
    return 1;
}

/* ---- primitives --------------------------------------------------------------- */

static void test_primitives(void)
{
    WBuf w;
    RBuf r;
    wbuf_init(&w);

    wbuf_put_int(&w, 0x01020304);
    wbuf_put_int(&w, -1);
    wbuf_put_long(&w, INT64_C(0x0102030405060708));
    wbuf_put_bool(&w, 1);
    wbuf_put_bool(&w, 0);
    wbuf_put_bool(&w, 42);
    ok(bytes_are(&w, "01020304" "ffffffff" "0102030405060708" "01" "00" "01"),
       "int/long/bool are big endian, bool is one 0/1 byte");

    static const int32_t ints[] = {0, 1, -1, INT32_MIN, INT32_MAX, 0x7f, 0x80, -129};
    static const int64_t longs[] = {0, 1, -1, INT64_MIN, INT64_MAX, INT64_C(0x100000000), INT64_C(-4294967296)};
    wbuf_reset(&w);
    is_int(w.len, 0, "wbuf_reset empties");
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        wbuf_put_int(&w, ints[i]);
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
        wbuf_put_long(&w, longs[i]);
    wbuf_put_bool(&w, 1);
    wbuf_put_bool(&w, 0);
    uint8_t *copy = exact_copy(w.data, w.len);
    rbuf_init(&r, copy, w.len);
    int same = 1;
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        same &= rbuf_get_int(&r) == ints[i];
    ok(same, "ints round-trip (incl. INT32_MIN/MAX)");
    same = 1;
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
        same &= rbuf_get_long(&r) == longs[i];
    ok(same, "longs round-trip (incl. INT64_MIN/MAX)");
    is_int(rbuf_get_bool(&r), 1, "bool true round-trips");
    is_int(rbuf_get_bool(&r), 0, "bool false round-trips");
    ok(rbuf_at_end(&r) && !r.err, "reader at end, no error");
    free(copy);

    /* any non-zero byte reads as true (Java DataInput.readBoolean) */
    uint8_t two = 2;
    rbuf_init(&r, &two, 1);
    is_int(rbuf_get_bool(&r), 1, "bool byte 2 reads as true");

    /* bytes: null, empty, data */
    wbuf_reset(&w);
    wbuf_put_bytes(&w, ZK_BYTES_NULL);
    wbuf_put_bytes(&w, zk_bytes_cstr(NULL));
    wbuf_put_bytes(&w, zk_bytes_cstr(""));
    wbuf_put_bytes(&w, zk_bytes_make("a\0b", 3));
    ok(bytes_are(&w, "ffffffff" "ffffffff" "00000000" "00000003610062"),
       "bytes: null is -1, empty is 0, data is length + bytes");
    copy = exact_copy(w.data, w.len);
    rbuf_init(&r, copy, w.len);
    ZkBytes b1 = rbuf_get_bytes(&r), b2 = rbuf_get_bytes(&r), b3 = rbuf_get_bytes(&r), b4 = rbuf_get_bytes(&r);
    ok(b1.len == -1 && b1.data == NULL && zk_bytes_is_null(b2), "null bytes read back as {NULL,-1}");
    ok(b3.len == 0 && b3.data != NULL && !zk_bytes_is_null(b3), "empty bytes are not null");
    ok(b4.len == 3 && memcmp(b4.data, "a\0b", 3) == 0, "bytes with NUL round-trip");
    ok(b4.data == (const char *)copy + 16, "decoded bytes point into the frame (zero copy)");
    ok(zk_bytes_eq(b4, zk_bytes_make("a\0b", 3)) && !zk_bytes_eq(b3, b1) && zk_bytes_eq(b1, b2),
       "zk_bytes_eq: contents, null == null, null != empty");
    ok(zk_bytes_eq_cstr(zk_bytes_make("abc", 3), "abc") && !zk_bytes_eq_cstr(b1, "") && zk_bytes_eq_cstr(b1, NULL),
       "zk_bytes_eq_cstr");
    char *dup = zk_bytes_strdup(zk_bytes_make("xyz", 3));
    is_str(dup, "xyz", "zk_bytes_strdup NUL-terminates");
    free(dup);
    free(copy);
    ZkBytes cs = zk_bytes_cstr("hello");
    ok(cs.len == 5 && memcmp(cs.data, "hello", 5) == 0, "zk_bytes_cstr");

    /* raw + patch */
    wbuf_reset(&w);
    wbuf_put_raw(&w, "abc", 3);
    wbuf_put_int(&w, 0);
    wbuf_patch_int(&w, 3, 0x0a0b0c0d);
    ok(bytes_are(&w, "6162630a0b0c0d"), "put_raw and patch_int");
    rbuf_init(&r, w.data, w.len);
    const uint8_t *raw = rbuf_get_raw(&r, 3);
    ok(raw == w.data && rbuf_remaining(&r) == 4, "rbuf_get_raw returns a pointer into the input");

    /* growth well past the first allocation */
    wbuf_reset(&w);
    for (int i = 0; i < 100000; i++)
        wbuf_put_int(&w, i);
    rbuf_init(&r, w.data, w.len);
    same = 1;
    for (int i = 0; i < 100000; i++)
        same &= rbuf_get_int(&r) == i;
    ok(same && w.len == 400000, "WBuf grows (400000 bytes written and read back)");

    wbuf_free(&w);
    ok(w.data == NULL && w.len == 0 && w.cap == 0, "wbuf_free leaves an empty, reusable buffer");
}

static void test_reader_errors(void)
{
    RBuf r;
    static const uint8_t three[3] = {0, 0, 0};
    uint8_t *p = exact_copy(three, 3);

    rbuf_init(&r, p, 3);
    is_int(rbuf_get_int(&r), 0, "short int read returns 0");
    ok(r.err, "short int read sets err");
    is_int(rbuf_remaining(&r), 0, "remaining is 0 once err is set");
    is_int(rbuf_get_bool(&r), 0, "err is sticky: a 1-byte read that would fit still returns 0");
    ok(r.err, "err stays set");
    ok(rbuf_get_bytes(&r).len == -1 && rbuf_get_long(&r) == 0 && rbuf_get_raw(&r, 0) == NULL,
       "every get fails after err");

    rbuf_init(&r, p, 3);
    is_int(rbuf_get_long(&r), 0, "short long read returns 0");
    ok(r.err, "short long read sets err");

    rbuf_init(&r, NULL, 0);
    is_int(rbuf_get_bool(&r), 0, "reading an empty buffer fails");
    ok(r.err, "... with err");
    free(p);

    /* bytes with length -2 */
    static const uint8_t neg2[] = {0xff, 0xff, 0xff, 0xfe, 'a', 'b'};
    p = exact_copy(neg2, sizeof(neg2));
    rbuf_init(&r, p, sizeof(neg2));
    ZkBytes b = rbuf_get_bytes(&r);
    ok(r.err && b.len == -1 && b.data == NULL, "bytes length -2 is an error");
    free(p);

    /* length past the end, and INT32_MAX */
    static const uint8_t past[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd'};
    p = exact_copy(past, sizeof(past));
    rbuf_init(&r, p, sizeof(past));
    b = rbuf_get_bytes(&r);
    ok(r.err && b.data == NULL, "bytes length beyond the end is an error");
    free(p);
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 'a'};
    p = exact_copy(huge, sizeof(huge));
    rbuf_init(&r, p, sizeof(huge));
    b = rbuf_get_bytes(&r);
    ok(r.err && b.data == NULL, "bytes length INT32_MAX is an error");
    free(p);

    /* exactly fitting bytes are fine */
    static const uint8_t fit[] = {0, 0, 0, 2, 'h', 'i'};
    p = exact_copy(fit, sizeof(fit));
    rbuf_init(&r, p, sizeof(fit));
    b = rbuf_get_bytes(&r);
    ok(!r.err && b.len == 2 && rbuf_at_end(&r), "bytes ending exactly at the end of the buffer");
    free(p);
}

/* ---- frames ------------------------------------------------------------------- */

static void test_frames(void)
{
    WBuf w;
    wbuf_init(&w);
    size_t off = wbuf_begin_frame(&w);
    is_int(off, 0, "first frame starts at 0");
    wbuf_put_int(&w, 7);
    wbuf_put_bool(&w, 1);
    wbuf_end_frame(&w, off);
    size_t off2 = wbuf_begin_frame(&w);
    is_int(off2, 9, "second frame starts after the first");
    wbuf_end_frame(&w, off2);           /* empty body */
    ok(bytes_are(&w, "00000005" "0000000701" "00000000"), "frame length prefixes are patched");

    const uint8_t *frame = NULL;
    size_t flen = 0, consumed = 0;
    is_int(wire_next_frame(w.data, w.len, 1024, &frame, &flen, &consumed), 1, "complete frame found");
    ok(frame == w.data + 4 && flen == 5 && consumed == 9, "frame, flen, consumed");
    is_int(wire_next_frame(w.data + 9, w.len - 9, 1024, &frame, &flen, &consumed), 1, "empty frame is complete");
    ok(frame == w.data + 13 && flen == 0 && consumed == 4, "empty frame: flen 0, consumed 4");

    for (size_t n = 0; n < 9; n++) {
        int rc = wire_next_frame(w.data, n, 1024, &frame, &flen, &consumed);
        if (rc != 0) {
            ok(0, "partial frames need more bytes");
            diag("n = %zu gave %d", n, rc);
            goto partial_done;
        }
    }
    ok(1, "partial frames (0..8 bytes) need more bytes");
partial_done:
    is_int(wire_next_frame(NULL, 0, 1024, &frame, &flen, &consumed), 0, "empty input needs more");

    static const uint8_t neg[] = {0x80, 0, 0, 0};
    is_int(wire_next_frame(neg, 4, 1024, &frame, &flen, &consumed), -1, "negative length is an error");
    static const uint8_t minus1[] = {0xff, 0xff, 0xff, 0xff};
    is_int(wire_next_frame(minus1, 4, 1024, &frame, &flen, &consumed), -1, "length -1 is an error");
    static const uint8_t big[] = {0, 0, 4, 1};
    is_int(wire_next_frame(big, 4, 1024, &frame, &flen, &consumed), -1, "length > max is an error (before the body arrives)");
    static const uint8_t exact[] = {0, 0, 0, 2, 'o', 'k'};
    is_int(wire_next_frame(exact, 6, 2, &frame, &flen, &consumed), 1, "length == max is accepted");
    is_int(wire_next_frame(exact, 5, 2, &frame, &flen, &consumed), 0, "... once its body is complete");
    wbuf_free(&w);
}

/* ---- records ------------------------------------------------------------------ */

static int stat_eq(const Stat *a, const Stat *b)
{
    return a->czxid == b->czxid && a->mzxid == b->mzxid && a->ctime == b->ctime && a->mtime == b->mtime &&
           a->version == b->version && a->cversion == b->cversion && a->aversion == b->aversion &&
           a->ephemeralOwner == b->ephemeralOwner && a->dataLength == b->dataLength &&
           a->numChildren == b->numChildren && a->pzxid == b->pzxid;
}

static void test_layouts(void)
{
    WBuf w;
    wbuf_init(&w);

    ReplyHeader rh = {1, INT64_C(0x0102030405060708), ZERR_NONODE};
    jute_write_ReplyHeader(&w, &rh);
    is_int(w.len, 16, "ReplyHeader is 16 bytes");
    ok(bytes_are(&w, "00000001" "0102030405060708" "ffffff9b"), "ReplyHeader layout");

    wbuf_reset(&w);
    Stat st = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    jute_write_Stat(&w, &st);
    is_int(w.len, 68, "Stat is 68 bytes");
    is_int(JUTE_MINSIZE_Stat, 68, "JUTE_MINSIZE_Stat is 68");
    ok(bytes_are(&w, "0000000000000001" "0000000000000002" "0000000000000003" "0000000000000004"
                     "00000005" "00000006" "00000007" "0000000000000008" "00000009" "0000000a"
                     "000000000000000b"),
       "Stat field order czxid..pzxid");
    RBuf r;
    Stat st2;
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_Stat(&r, &arena, &st2) == 0 && stat_eq(&st, &st2), "Stat round-trips");

    /* ConnectRequest from an old client (no readOnly) and a new one */
    static const char passwd[16] = "0123456789abcdef";
    ConnectRequest cr = {0, INT64_C(0x100), 30000, INT64_C(0x1122334455667788), zk_bytes_make(passwd, 16)};
    wbuf_reset(&w);
    wire_write_connect_request(&w, &cr, -1);
    is_int(w.len, 44, "ConnectRequest without readOnly is 44 bytes");
    ok(bytes_are(&w, "00000000" "0000000000000100" "00007530" "1122334455667788" "00000010"
                     "30313233343536373839616263646566"),
       "ConnectRequest layout");
    int ro = 99;
    ConnectRequest cr2;
    uint8_t *p = exact_copy(w.data, w.len);
    rbuf_init(&r, p, w.len);
    is_int(wire_read_connect_request(&r, &arena, &cr2, &ro), 0, "44-byte ConnectRequest reads");
    is_int(ro, -1, "... and reports the readOnly byte absent");
    ok(cr2.timeOut == 30000 && cr2.sessionId == INT64_C(0x1122334455667788) && cr2.lastZxidSeen == 0x100 &&
       cr2.passwd.len == 16 && memcmp(cr2.passwd.data, passwd, 16) == 0, "... with the right fields");
    free(p);

    wbuf_reset(&w);
    wire_write_connect_request(&w, &cr, 1);
    is_int(w.len, 45, "ConnectRequest with readOnly is 45 bytes");
    is_int(w.data[44], 1, "readOnly is the last byte");
    p = exact_copy(w.data, w.len);
    rbuf_init(&r, p, w.len);
    is_int(wire_read_connect_request(&r, &arena, &cr2, &ro), 0, "45-byte ConnectRequest reads");
    ok(ro == 1 && rbuf_at_end(&r), "... readOnly = 1, all consumed");
    free(p);
    /* a truncated passwd is an error, not "no readOnly" */
    wbuf_reset(&w);
    wire_write_connect_request(&w, &cr, -1);
    p = exact_copy(w.data, 43);
    rbuf_init(&r, p, 43);
    is_int(wire_read_connect_request(&r, &arena, &cr2, &ro), -1, "43-byte ConnectRequest is malformed");
    free(p);

    ConnectResponse cresp = {0, 4000, INT64_C(0x0100000000000001), zk_bytes_make(passwd, 16)};
    wbuf_reset(&w);
    wire_write_connect_response(&w, &cresp, 0);
    is_int(w.len, 37, "ConnectResponse with readOnly is 37 bytes");
    ConnectResponse cresp2;
    rbuf_init(&r, w.data, w.len);
    ok(wire_read_connect_response(&r, &arena, &cresp2, &ro) == 0 && ro == 0 && cresp2.timeOut == 4000 &&
       cresp2.sessionId == INT64_C(0x0100000000000001), "ConnectResponse round-trips with readOnly 0");

    /* GetDataRequest{"/a", watch} as a Java client sends it, in a frame after a RequestHeader */
    wbuf_reset(&w);
    size_t off = wbuf_begin_frame(&w);
    RequestHeader hdr = {5, ZOO_OP_GETDATA};
    GetDataRequest gd = {zk_bytes_cstr("/a"), true};
    jute_write_RequestHeader(&w, &hdr);
    jute_write_GetDataRequest(&w, &gd);
    wbuf_end_frame(&w, off);
    ok(bytes_are(&w, "0000000f" "00000005" "00000004" "00000002" "2f61" "01"), "framed getData request layout");

    /* MultiHeader, as the server frames multi itself */
    wbuf_reset(&w);
    MultiHeader mh = {-1, true, -1};
    jute_write_MultiHeader(&w, &mh);
    ok(bytes_are(&w, "ffffffff" "01" "ffffffff"), "MultiHeader {-1, true, -1} (end of multi)");

    wbuf_free(&w);
}

static void test_roundtrips(void)
{
    WBuf w, w2;
    RBuf r;
    wbuf_init(&w);
    wbuf_init(&w2);

    /* CreateRequest with an ACL vector */
    ACL acl[2] = {
        {ZOO_PERM_ALL, {zk_bytes_cstr("world"), zk_bytes_cstr("anyone")}},
        {ZOO_PERM_READ | ZOO_PERM_ADMIN, {zk_bytes_cstr("digest"), zk_bytes_cstr("u:h=")}},
    };
    CreateRequest cr = {zk_bytes_cstr("/app/lock-"), zk_bytes_make("\0\1\2", 3), {2, acl}, ZOO_CREATE_EPHEMERAL_SEQUENTIAL};
    jute_write_CreateRequest(&w, &cr);
    ok(bytes_are(&w, "0000000a2f6170702f6c6f636b2d" "00000003000102" "00000002"
                     "0000001f" "00000005776f726c64" "00000006616e796f6e65"
                     "00000011" "00000006646967657374" "00000004753a683d"
                     "00000003"),
       "CreateRequest layout (vector<ACL>)");
    CreateRequest cr2;
    rbuf_init(&r, w.data, w.len);
    is_int(jute_read_CreateRequest(&r, &arena, &cr2), 0, "CreateRequest reads");
    ok(rbuf_at_end(&r) && cr2.acl.count == 2 && cr2.acl.items[1].perms == 17 &&
       zk_bytes_eq_cstr(cr2.acl.items[1].id.scheme, "digest") && zk_bytes_eq_cstr(cr2.path, "/app/lock-") &&
       cr2.flags == 3, "CreateRequest fields");
    jute_write_CreateRequest(&w2, &cr2);
    ok(w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0, "CreateRequest re-encodes identically");

    /* SetWatches2: empty, null and populated vectors */
    ZkBytes paths[3] = {zk_bytes_cstr("/a"), zk_bytes_cstr("/b/c"), zk_bytes_cstr("")};
    SetWatches2 sw = {INT64_C(0x500000003), {3, paths}, {0, NULL}, {-1, NULL}, {1, paths + 1}, {-1, NULL}};
    wbuf_reset(&w);
    wbuf_reset(&w2);
    jute_write_SetWatches2(&w, &sw);
    SetWatches2 sw2;
    rbuf_init(&r, w.data, w.len);
    is_int(jute_read_SetWatches2(&r, &arena, &sw2), 0, "SetWatches2 reads");
    ok(sw2.relativeZxid == INT64_C(0x500000003) && sw2.dataWatches.count == 3 && sw2.existWatches.count == 0 &&
       sw2.childWatches.count == -1 && sw2.childWatches.items == NULL && sw2.persistentWatches.count == 1 &&
       sw2.persistentRecursiveWatches.count == -1, "SetWatches2 vector counts (3, empty, null, 1, null)");
    ok(zk_bytes_eq_cstr(sw2.dataWatches.items[1], "/b/c") && sw2.dataWatches.items[2].len == 0,
       "vector<ustring> items");
    jute_write_SetWatches2(&w2, &sw2);
    ok(w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0, "SetWatches2 re-encodes identically");

    /* MultiTxn: vector of records holding buffers */
    Txn txns[2] = {{ZOO_OP_DELETE, zk_bytes_make("xx", 2)}, {ZOO_OP_ERROR, ZK_BYTES_NULL}};
    MultiTxn mt = {{2, txns}};
    wbuf_reset(&w);
    wbuf_reset(&w2);
    jute_write_MultiTxn(&w, &mt);
    MultiTxn mt2;
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_MultiTxn(&r, &arena, &mt2) == 0 && mt2.txns.count == 2 && mt2.txns.items[0].type == 2 &&
       mt2.txns.items[0].data.len == 2 && mt2.txns.items[1].data.len == -1, "MultiTxn round-trips");

    /* WhoAmIResponse, GetChildren2Response, CreateTxn (boolean in the middle) */
    ClientInfo ci[1] = {{zk_bytes_cstr("ip"), zk_bytes_cstr("127.0.0.1")}};
    WhoAmIResponse wr = {{1, ci}}, wr2;
    wbuf_reset(&w);
    jute_write_WhoAmIResponse(&w, &wr);
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_WhoAmIResponse(&r, &arena, &wr2) == 0 && wr2.clientInfo.count == 1 &&
       zk_bytes_eq_cstr(wr2.clientInfo.items[0].user, "127.0.0.1"), "WhoAmIResponse round-trips");

    GetChildren2Response gc = {{2, paths}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}, gc2;
    wbuf_reset(&w);
    jute_write_GetChildren2Response(&w, &gc);
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_GetChildren2Response(&r, &arena, &gc2) == 0 && gc2.children.count == 2 && gc2.stat.pzxid == 11 &&
       gc2.stat.numChildren == 10 && rbuf_at_end(&r), "GetChildren2Response round-trips");

    CreateTxn ct = {zk_bytes_cstr("/e"), ZK_BYTES_NULL, {-1, NULL}, true, 7}, ct2;
    wbuf_reset(&w);
    jute_write_CreateTxn(&w, &ct);
    ok(bytes_are(&w, "000000022f65" "ffffffff" "ffffffff" "01" "00000007"), "CreateTxn layout (null data, null acl)");
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_CreateTxn(&r, &arena, &ct2) == 0 && ct2.ephemeral == true && ct2.parentCVersion == 7 &&
       ct2.data.len == -1 && ct2.acl.count == -1, "CreateTxn round-trips");

    TxnHeader th = {INT64_C(0x1234), 9, INT64_C(0x200000001), INT64_C(1700000000000), ZOO_OP_CREATE}, th2;
    TxnDigest td = {2, INT64_C(-5)}, td2;
    wbuf_reset(&w);
    jute_write_TxnHeader(&w, &th);
    jute_write_TxnDigest(&w, &td);
    is_int(w.len, 32 + 12, "TxnHeader is 32 bytes, TxnDigest 12");
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_TxnHeader(&r, &arena, &th2) == 0 && jute_read_TxnDigest(&r, &arena, &td2) == 0 &&
       th2.clientId == 0x1234 && th2.cxid == 9 && th2.zxid == INT64_C(0x200000001) &&
       th2.time == INT64_C(1700000000000) && th2.type == ZOO_OP_CREATE && td2.version == 2 && td2.treeDigest == -5, "TxnHeader + TxnDigest round-trip");

    QuorumPacket qp = {2, INT64_C(0x100000001), zk_bytes_make("pp", 2), {0, NULL}}, qp2;
    wbuf_reset(&w);
    jute_write_QuorumPacket(&w, &qp);
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_QuorumPacket(&r, &arena, &qp2) == 0 && qp2.authinfo.count == 0 && qp2.zxid == qp.zxid,
       "QuorumPacket (server.quorum module) round-trips");

    wbuf_free(&w);
    wbuf_free(&w2);
}

static void test_malformed(void)
{
    WBuf w;
    RBuf r;
    wbuf_init(&w);

    /* every truncation of a valid CreateRequest fails, never reading past the end */
    ACL acl[1] = {{ZOO_PERM_ALL, {zk_bytes_cstr("world"), zk_bytes_cstr("anyone")}}};
    CreateRequest cr = {zk_bytes_cstr("/x"), zk_bytes_cstr("data"), {1, acl}, 0}, out;
    jute_write_CreateRequest(&w, &cr);
    int all_fail = 1;
    for (size_t n = 0; n < w.len; n++) {
        uint8_t *p = exact_copy(w.data, n);
        rbuf_init(&r, p, n);
        if (jute_read_CreateRequest(&r, &arena, &out) != -1 || !r.err)
            all_fail = 0;
        free(p);
    }
    ok(all_fail, "every truncated CreateRequest returns -1 with err set");
    uint8_t *p = exact_copy(w.data, w.len);
    rbuf_init(&r, p, w.len);
    is_int(jute_read_CreateRequest(&r, &arena, &out), 0, "the full CreateRequest reads");
    free(p);

    /* every truncation of SetWatches2 too (five vectors) */
    volatile unsigned sink = 0;
    ZkBytes paths[2] = {zk_bytes_cstr("/a"), zk_bytes_cstr("/b")};
    SetWatches2 sw = {1, {2, paths}, {1, paths}, {0, NULL}, {2, paths}, {1, paths + 1}}, sw2;
    wbuf_reset(&w);
    jute_write_SetWatches2(&w, &sw);
    all_fail = 1;
    for (size_t n = 0; n < w.len; n++) {
        p = exact_copy(w.data, n);
        rbuf_init(&r, p, n);
        if (jute_read_SetWatches2(&r, &arena, &sw2) != -1)
            all_fail = 0;
        /* whatever was read must be safe to walk */
        JuteVec_ustring *vs[] = {&sw2.dataWatches, &sw2.existWatches, &sw2.childWatches,
                                 &sw2.persistentWatches, &sw2.persistentRecursiveWatches};
        for (size_t k = 0; k < 5; k++)
            for (int32_t i = 0; i < vs[k]->count; i++)
                for (int32_t j = 0; j < vs[k]->items[i].len; j++)
                    sink += (unsigned char)vs[k]->items[i].data[j];   /* ASan checks these reads */
        free(p);
    }
    (void)sink;
    ok(all_fail, "every truncated SetWatches2 returns -1; partial vectors stay walkable");

    /* negative string length */
    wbuf_reset(&w);
    wbuf_put_int(&w, -2);
    wbuf_put_bool(&w, 1);
    GetDataRequest gd;
    p = exact_copy(w.data, w.len);
    rbuf_init(&r, p, w.len);
    is_int(jute_read_GetDataRequest(&r, &arena, &gd), -1, "ustring length -2 is rejected");
    free(p);

    /* vector counts */
    static const struct { int32_t count; const char *name; } bad_counts[] = {
        {-2, "vector count -2 is rejected"},
        {INT32_MIN, "vector count INT32_MIN is rejected"},
        {INT32_MAX, "vector count INT32_MAX is rejected without allocating"},
        {0x10000000, "vector count 2^28 with 16 bytes left is rejected"},
        {2, "ACL vector count 2 with room for one ACL is rejected"},
    };
    for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
        wbuf_reset(&w);
        wbuf_put_bytes(&w, zk_bytes_cstr("/p"));
        wbuf_put_int(&w, bad_counts[i].count);
        /* one minimal ACL: perms + two empty strings = 12 bytes, + version */
        wbuf_put_int(&w, 1);
        wbuf_put_bytes(&w, zk_bytes_cstr(""));
        wbuf_put_bytes(&w, zk_bytes_cstr(""));
        wbuf_put_int(&w, 0);
        SetACLRequest sa;
        p = exact_copy(w.data, w.len);
        rbuf_init(&r, p, w.len);
        ok(jute_read_SetACLRequest(&r, &arena, &sa) == -1 && r.err, bad_counts[i].name);
        free(p);
    }
    /* the same bytes with count 1 are fine */
    wbuf_reset(&w);
    wbuf_put_bytes(&w, zk_bytes_cstr("/p"));
    wbuf_put_int(&w, 1);
    wbuf_put_int(&w, 1);
    wbuf_put_bytes(&w, zk_bytes_cstr(""));
    wbuf_put_bytes(&w, zk_bytes_cstr(""));
    wbuf_put_int(&w, 0);
    SetACLRequest sa;
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_SetACLRequest(&r, &arena, &sa) == 0 && sa.acl.count == 1 && rbuf_at_end(&r),
       "ACL vector count 1 with exactly one minimal ACL reads");

    /* null vector is fine; vector<ustring> with count > remaining/4 is not */
    wbuf_reset(&w);
    wbuf_put_int(&w, -1);
    GetChildrenResponse gcr;
    rbuf_init(&r, w.data, w.len);
    ok(jute_read_GetChildrenResponse(&r, &arena, &gcr) == 0 && gcr.children.count == -1, "null vector reads as count -1");
    wbuf_reset(&w);
    wbuf_put_int(&w, 3);
    wbuf_put_int(&w, 0);
    wbuf_put_int(&w, 0);
    rbuf_init(&r, w.data, w.len);
    is_int(jute_read_GetChildrenResponse(&r, &arena, &gcr), -1, "vector<ustring> count 3 with 8 bytes left is rejected");

    wbuf_free(&w);
}

static void test_dump(void)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    ACL acl[1] = {{31, {zk_bytes_cstr("world"), zk_bytes_cstr("anyone")}}};
    CreateRequest cr = {zk_bytes_cstr("/a\"b"), zk_bytes_make("x\0\n\xff", 4), {1, acl}, 1};
    jute_dump_CreateRequest(&sb, &cr);
    is_str(sb.data, "CreateRequest{path=\"/a\\\"b\", data=\"x\\x00\\x0a\\xff\", acl=[ACL{perms=31, id=Id{scheme=\"world\", id=\"anyone\"}}], flags=1}",
           "dump CreateRequest");

    corral_strbuf_reset(&sb);
    CreateTxn ct = {ZK_BYTES_NULL, zk_bytes_cstr(""), {-1, NULL}, false, -3};
    jute_dump_CreateTxn(&sb, &ct);
    is_str(sb.data, "CreateTxn{path=null, data=\"\", acl=null, ephemeral=false, parentCVersion=-3}",
           "dump nulls, empty buffer, false");

    corral_strbuf_reset(&sb);
    char big[100];
    memset(big, 'z', sizeof(big));
    SetDataTxn sd = {zk_bytes_cstr("/p"), zk_bytes_make(big, sizeof(big)), 2};
    jute_dump_SetDataTxn(&sb, &sd);
    is_str(sb.data, "SetDataTxn{path=\"/p\", data=\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"...(100 bytes), version=2}",
           "dump truncates buffers after 64 bytes");

    corral_strbuf_reset(&sb);
    ZkBytes ch[2] = {zk_bytes_cstr("a"), zk_bytes_cstr("b")};
    GetChildren2Response gc = {{2, ch}, {0x100, 0x200, 3, 4, 5, 6, 7, -8, 9, 10, 11}};
    jute_dump_GetChildren2Response(&sb, &gc);
    is_str(sb.data, "GetChildren2Response{children=[\"a\", \"b\"], stat=Stat{czxid=256, mzxid=512, ctime=3, mtime=4, "
                    "version=5, cversion=6, aversion=7, ephemeralOwner=-8, dataLength=9, numChildren=10, pzxid=11}}",
           "dump vector<ustring> and nested Stat");

    corral_strbuf_reset(&sb);
    GetChildrenResponse empty = {{0, NULL}};
    jute_dump_GetChildrenResponse(&sb, &empty);
    is_str(sb.data, "GetChildrenResponse{children=[]}", "dump empty vector");
    corral_strbuf_free(&sb);

    is_int(JUTE_RECORD_COUNT, 72, "72 records generated from zookeeper.jute");
    is_str(jute_record_names[0], "org.apache.zookeeper.data.Id", "first record name");
    is_str(jute_record_names[JUTE_RECORD_COUNT - 1], "org.apache.zookeeper.txn.MultiTxn", "last record name");
}

/* ---- protocol constants and names ---------------------------------------------- */

static void test_names(void)
{
    ok(ZOO_OP_CREATE == 1 && ZOO_OP_DELETE == 2 && ZOO_OP_PING == 11 && ZOO_OP_MULTI == 14 &&
       ZOO_OP_MULTI_READ == 22 && ZOO_OP_SET_WATCHES2 == 105 && ZOO_OP_WHOAMI == 107 &&
       ZOO_OP_CREATE_SESSION == -10 && ZOO_OP_CLOSE_SESSION == -11 && ZOO_OP_ERROR == -1,
       "opcode numbers");
    ok(ZERR_OK == 0 && ZERR_SYSTEMERROR == -1 && ZERR_BADARGUMENTS == -8 && ZERR_NONODE == -101 &&
       ZERR_NODEEXISTS == -110 && ZERR_SESSIONEXPIRED == -112 && ZERR_SESSIONMOVED == -118 &&
       ZERR_THROTTLEDOP == -127, "error numbers");
    ok(XID_WATCH_EVENT == -1 && XID_PING == -2 && XID_AUTH == -4 && XID_SET_WATCHES == -8, "special xids");
    ok(ZOO_PERM_READ == 1 && ZOO_PERM_WRITE == 2 && ZOO_PERM_CREATE == 4 && ZOO_PERM_DELETE == 8 &&
       ZOO_PERM_ADMIN == 16 && ZOO_PERM_ALL == 31, "perms");
    ok(ZOO_STATE_SYNC_CONNECTED == 3 && ZOO_STATE_EXPIRED == -112 && ZOO_EVENT_NODE_CHILDREN_CHANGED == 4 &&
       ZOO_EVENT_PERSISTENT_WATCH_REMOVED == 7 && ZOO_ADD_WATCH_PERSISTENT_RECURSIVE == 1 && ZOO_WATCHER_ANY == 3,
       "states, events, modes");
    ok(zk_create_mode_is_sequential(ZOO_CREATE_PERSISTENT_SEQUENTIAL_WITH_TTL) &&
       !zk_create_mode_is_sequential(ZOO_CREATE_CONTAINER) && zk_create_mode_is_ephemeral(3) &&
       !zk_create_mode_valid(7) && !zk_create_mode_valid(-1), "create mode predicates");

    is_str(zk_op_name(ZOO_OP_CREATE), "create", "op name create");
    is_str(zk_op_name(ZOO_OP_GETCHILDREN2), "getChildren2", "op name getChildren2");
    is_str(zk_op_name(ZOO_OP_WHOAMI), "whoAmI", "op name whoAmI");
    is_str(zk_op_name(ZOO_OP_CLOSE_SESSION), "closeSession", "op name closeSession");
    is_str(zk_op_name(10), "unknown", "op 10 is unknown");
    is_str(zk_err_name(ZERR_NONODE), "NoNode", "err name NoNode");
    is_str(zk_err_name(ZERR_NODEEXISTS), "NodeExists", "err name NodeExists");
    is_str(zk_err_name(ZERR_SESSIONCLOSEDREQUIRESASLAUTH), "SessionClosedRequireSaslAuth", "err name -124");
    is_str(zk_err_name(-9), "Unknown", "err -9 is unknown");
    is_str(zk_err_enum_name(ZERR_NOTEMPTY), "NOTEMPTY", "err enum name NOTEMPTY");
    is_str(zk_err_message(ZERR_NONODE), "KeeperErrorCode = NoNode", "message NoNode");
    is_str(zk_err_message(ZERR_OK), "KeeperErrorCode = ok", "message ok");
    is_str(zk_err_message(ZERR_NOTEMPTY), "KeeperErrorCode = Directory not empty", "message NotEmpty");
    is_str(zk_err_message(ZERR_THROTTLEDOP), "KeeperErrorCode = Op throttled due to high load", "message ThrottledOp");
    is_str(zk_err_message(ZERR_REQUESTTIMEOUT), "KeeperErrorCode = Unknown error REQUESTTIMEOUT",
           "message RequestTimeout (Java has no text for it)");
    is_str(zk_err_message(-999), "KeeperErrorCode = Unknown error -999", "message for a code outside the enum");
    is_str(zk_event_name(ZOO_EVENT_NODE_DATA_CHANGED), "NodeDataChanged", "event name");
    is_str(zk_event_name(ZOO_EVENT_NONE), "None", "event None");
    is_str(zk_event_name(0), "Unknown", "event 0 is unknown");
    is_str(zk_state_name(ZOO_STATE_SYNC_CONNECTED), "SyncConnected", "state SyncConnected");
    is_str(zk_state_name(ZOO_STATE_EXPIRED), "Expired", "state Expired");
    is_str(zk_create_mode_name(ZOO_CREATE_CONTAINER), "CONTAINER", "create mode name");
}

/* ---- path validation (cases from ZooKeeper's PathUtilsTest, plus more) --------- */

static void path_case(const char *path, size_t len, int seq, int want_ok, const char *name)
{
    /* exact heap copy: the validator must not read a terminating NUL */
    uint8_t *p = exact_copy(path, len);
    int rc = zk_validate_path((const char *)p, len, seq);
    free(p);
    if (!tap_ok(rc == (want_ok ? ZERR_OK : ZERR_BADARGUMENTS), __FILE__, __LINE__, name))
        diag("got %d", rc);
}
#define VALID(s, name) path_case(s, sizeof(s) - 1, 0, 1, name)
#define INVALID(s, name) path_case(s, sizeof(s) - 1, 0, 0, name)
#define VALID_SEQ(s, name) path_case(s, sizeof(s) - 1, 1, 1, name)
#define INVALID_SEQ(s, name) path_case(s, sizeof(s) - 1, 1, 0, name)

static void test_paths(void)
{
    /* PathUtilsTest */
    VALID("/this is / a valid/path", "valid path");
    is_int(zk_validate_path(NULL, 0, 0), ZERR_BADARGUMENTS, "null path");
    INVALID("", "empty string");
    INVALID("not/valid", "not absolute");
    INVALID("/ends/with/slash/", "ends with slash");
    INVALID("/test\0", "contains null character");
    INVALID("/double//slash", "double slash");
    INVALID("/single/./period", "single period");
    INVALID("/double/../period", "double period");
    VALID("/name/with.period.", "name containing period");
    INVALID("/test\x01", "0x01");
    INVALID("/test\x1f", "0x1F");
    VALID("/test\x20", "0x20, the first allowable character");
    VALID("/test\x7e", "0x7e, the last valid ASCII character");
    INVALID("/test\x7f", "0x7f");
    INVALID("/test\xc2\x9f", "U+009F");
    INVALID("/test\xed\xa0\x80", "U+D800 (a surrogate)");
    INVALID("/test\xef\xa3\xbf", "U+F8FF");
    VALID("/test\xef\xbf\xaf", "U+FFEF, the highest allowable char");
    INVALID("/test\xef\xbf\xb0", "U+FFF0");

    /* more */
    VALID("/", "root");
    INVALID("//", "root with a trailing slash");
    INVALID("/.", "/.");
    INVALID("/..", "/..");
    VALID("/...", "/... is a name");
    VALID("/.a/a./..b/b..", "dots inside names");
    INVALID("/a/.", "trailing . component");
    INVALID("/a/../b", "inner .. component");
    INVALID("/a\0b", "embedded NUL");
    VALID("/caf\xc3\xa9", "U+00E9");
    VALID("/\xc2\xa0", "U+00A0 (just past the C1 range)");
    VALID("/\xe4\xb8\xad\xe6\x96\x87", "CJK");
    VALID("/\xef\xa4\x80", "U+F900 (just past private use)");
    INVALID("/\xee\x80\x80", "U+E000 (private use)");
    INVALID("/\xf0\x9f\x98\x80", "supplementary character (Java: surrogate pair)");
    INVALID("/\xff", "invalid UTF-8 byte");
    INVALID("/\xc0\xaf", "overlong '/'");
    INVALID("/\xe0\x80\xaf", "3-byte overlong");
    INVALID("/a\xc3", "truncated UTF-8 sequence");
    INVALID("/\x80x", "stray continuation byte");
    INVALID("a", "relative single char");
    INVALID("/a\tb", "tab");

    /* sequential: validated as path + "1" */
    VALID_SEQ("/a/", "sequential: trailing slash allowed");
    VALID_SEQ("/", "sequential: / becomes /1");
    VALID_SEQ("/a/lock-", "sequential: prefix");
    VALID_SEQ("/a/.", "sequential: /a/. becomes /a/.1");
    VALID_SEQ("/a/..", "sequential: /a/.. becomes /a/..1");
    INVALID_SEQ("", "sequential: empty is still invalid");
    INVALID_SEQ("a/", "sequential: still must start with /");
    INVALID_SEQ("/a//", "sequential: empty component before the suffix");
    INVALID_SEQ("/./", "sequential: . component");
    INVALID_SEQ("/a\x01", "sequential: control char");

    const char *why = NULL;
    is_int(zk_validate_path_reason("/a//b", 5, 0, &why), ZERR_BADARGUMENTS, "reason variant fails");
    is_str(why, "empty node name specified", "... with a reason");
    is_int(zk_validate_path_reason("/ok", 3, 0, &why), ZERR_OK, "reason variant passes");
    ok(why == NULL, "... and clears the reason");
}

int main(void)
{
    plan(189);
    arena_init(&arena, 4096);
    test_primitives();
    test_reader_errors();
    test_frames();
    test_layouts();
    test_roundtrips();
    test_malformed();
    test_dump();
    test_names();
    test_paths();
    arena_free(&arena);
    return done_testing();
}
