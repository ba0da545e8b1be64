/*
 * src/modules/auth_digest/java_utf8.h: Java's lenient UTF-8 decoding, as
 * ZooKeeper applies it to addauth data (see java_utf8.c).
 */
#ifndef CORRAL_AUTH_DIGEST_JAVA_UTF8_H
#define CORRAL_AUTH_DIGEST_JAVA_UTF8_H

#include <stddef.h>

#include "sha1.h"   /* DIGEST_HIDDEN */

/* Writes to out (room for 3 * n bytes) the UTF-8 bytes of
 * new String(in, UTF_8).getBytes(UTF_8) as Java 17 computes it: every
 * malformed sequence becomes U+FFFD.  Returns the number of bytes written. */
DIGEST_HIDDEN size_t java_utf8_sanitize(const unsigned char *in, size_t n, unsigned char *out);

#endif
