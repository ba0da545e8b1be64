/*
 * src/backend/wire/wire_connect.h: the session handshake records, which need
 * hand care around the generated codec.
 *
 * ZooKeeper 3.8's zookeeper.jute ConnectRequest/ConnectResponse end at
 * `passwd`; clients since 3.3 append one more boolean, readOnly, outside the
 * record, and the server answers with (or without) the same trailing byte:
 * a ConnectRequest body is 44 bytes from an old client, 45 from a newer one
 * (with a 16-byte passwd).  The Java server reads the byte if it is there
 * and remembers an "old client" otherwise, to leave it out of the reply.
 *
 * read_only is tri-state: -1 = the byte is absent (old client), 0 or 1.
 */
#ifndef CORRAL_WIRE_WIRE_CONNECT_H
#define CORRAL_WIRE_WIRE_CONNECT_H

#include "jute_records.h"

/*
 * Reads a ConnectRequest plus the optional readOnly byte.  0 on success,
 * -1 if malformed (r->err set).  Bytes after the readOnly byte are left
 * unread (callers wanting strictness check rbuf_at_end()).
 */
int wire_read_connect_request(RBuf *r, Arena *a, ConnectRequest *out, int *read_only);
/* Writes the record, then the readOnly byte unless read_only < 0. */
void wire_write_connect_request(WBuf *w, const ConnectRequest *req, int read_only);
int wire_read_connect_response(RBuf *r, Arena *a, ConnectResponse *out, int *read_only);
void wire_write_connect_response(WBuf *w, const ConnectResponse *resp, int read_only);

#endif /* CORRAL_WIRE_WIRE_CONNECT_H */
