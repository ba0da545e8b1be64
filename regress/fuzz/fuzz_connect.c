/*
 * regress/fuzz/fuzz_connect.c: libFuzzer harness for the session handshake
 * (src/backend/wire/wire_connect.c).
 *
 * The input is the body of the first frame of a connection.  It is read as
 * corrald reads it (wire_read_connect_request: ConnectRequest plus the
 * optional readOnly byte) and as corral-cli and corralctl read a server's
 * answer (wire_read_connect_response).  Properties:
 *   - a failed read sets the reader's error; a good one leaves it clear;
 *   - read_only is -1 exactly when no byte followed the record, else 0/1;
 *   - writing the result back (with the same read_only) gives the bytes
 *     read, but for booleans (non-zero reads as 1), and reads back equal.
 */
#include "fuzz_common.h"

#include "jute_records.h"
#include "utils/alloc.h"
#include "wire/wire.h"
#include "wire/wire_connect.h"

static Arena arena;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    arena_init(&arena, 4096);
    return 0;
}

static void same_bytes(const uint8_t *in, const WBuf *w)
{
    for (size_t i = 0; i < w->len; i++)
        FUZZ_CHECK(in[i] == w->data[i] || (in[i] > 1 && w->data[i] == 1));
}

static int bytes_eq(ZkBytes a, ZkBytes b) { return zk_bytes_eq(a, b); }

static void request(const uint8_t *data, size_t size)
{
    RBuf r;
    rbuf_init(&r, data, size);
    ConnectRequest req;
    int ro = 99;
    if (wire_read_connect_request(&r, &arena, &req, &ro) < 0) {
        FUZZ_CHECK(r.err && ro == -1);
        return;
    }
    FUZZ_CHECK(!r.err && (ro == -1 || ro == 0 || ro == 1));
    size_t used = r.pos;
    WBuf w = WBUF_INIT;
    wire_write_connect_request(&w, &req, ro);
    FUZZ_CHECK(w.len == used);
    same_bytes(data, &w);
    /* The byte is absent only when the record ended the frame. */
    size_t record = used - (ro >= 0 ? 1 : 0);
    FUZZ_CHECK((ro == -1) == (record == size));

    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    ConnectRequest again;
    int ro2;
    FUZZ_CHECK(wire_read_connect_request(&r2, &arena, &again, &ro2) == 0 && rbuf_at_end(&r2));
    FUZZ_CHECK(ro2 == ro && again.protocolVersion == req.protocolVersion &&
               again.lastZxidSeen == req.lastZxidSeen && again.timeOut == req.timeOut &&
               again.sessionId == req.sessionId && bytes_eq(again.passwd, req.passwd));
    wbuf_free(&w);
}

static void response(const uint8_t *data, size_t size)
{
    RBuf r;
    rbuf_init(&r, data, size);
    ConnectResponse resp;
    int ro = 99;
    if (wire_read_connect_response(&r, &arena, &resp, &ro) < 0) {
        FUZZ_CHECK(r.err && ro == -1);
        return;
    }
    FUZZ_CHECK(!r.err && (ro == -1 || ro == 0 || ro == 1));
    WBuf w = WBUF_INIT;
    wire_write_connect_response(&w, &resp, ro);
    FUZZ_CHECK(w.len == r.pos);
    same_bytes(data, &w);
    RBuf r2;
    rbuf_init(&r2, w.data, w.len);
    ConnectResponse again;
    int ro2;
    FUZZ_CHECK(wire_read_connect_response(&r2, &arena, &again, &ro2) == 0 && rbuf_at_end(&r2));
    FUZZ_CHECK(ro2 == ro && again.protocolVersion == resp.protocolVersion && again.timeOut == resp.timeOut &&
               again.sessionId == resp.sessionId && bytes_eq(again.passwd, resp.passwd));
    wbuf_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    request(data, size);
    response(data, size);
    arena_reset(&arena);
    return 0;
}
