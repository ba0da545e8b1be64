/*
 * src/backend/wire/wire_connect.c: ConnectRequest/ConnectResponse with the
 * optional trailing readOnly byte.  See wire_connect.h.
 */
#include "wire/wire_connect.h"

int wire_read_connect_request(RBuf *r, Arena *a, ConnectRequest *out, int *read_only)
{
    *read_only = -1;
    if (jute_read_ConnectRequest(r, a, out) < 0)
        return -1;
    if (rbuf_remaining(r) >= 1)
        *read_only = rbuf_get_bool(r);
    return 0;
}

void wire_write_connect_request(WBuf *w, const ConnectRequest *req, int read_only)
{
    jute_write_ConnectRequest(w, req);
    if (read_only >= 0)
        wbuf_put_bool(w, read_only);
}

int wire_read_connect_response(RBuf *r, Arena *a, ConnectResponse *out, int *read_only)
{
    *read_only = -1;
    if (jute_read_ConnectResponse(r, a, out) < 0)
        return -1;
    if (rbuf_remaining(r) >= 1)
        *read_only = rbuf_get_bool(r);
    return 0;
}

void wire_write_connect_response(WBuf *w, const ConnectResponse *resp, int read_only)
{
    jute_write_ConnectResponse(w, resp);
    if (read_only >= 0)
        wbuf_put_bool(w, read_only);
}
