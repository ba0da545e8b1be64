/*
 * src/modules/auth_digest/sha1.h: SHA-1 (FIPS 180-4) and base64 (RFC 4648,
 * with padding), the two primitives of ZooKeeper's digest scheme.
 *
 * Why our own: ZooKeeper's DigestAuthenticationProvider.generateDigest is
 * user + ":" + base64(SHA1(user:password)), and nothing else in Corral needs
 * a crypto library.  Making libssl or libgcrypt a dependency of the server
 * for 20 bytes of SHA-1 (and libsasl2's internal MD5 is not SHA-1) is not
 * worth it; both functions are short and checked against the standards'
 * test vectors by regress/t/300_auth_digest.t.
 *
 * SHA-1 is used here exactly as ZooKeeper uses it, to name identities, not
 * as a password hash to be recommended: doc/auth.md says so.
 *
 * All symbols are hidden inside the module's .so.
 */
#ifndef CORRAL_AUTH_DIGEST_SHA1_H
#define CORRAL_AUTH_DIGEST_SHA1_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define DIGEST_HIDDEN __attribute__((visibility("hidden")))
#else
#define DIGEST_HIDDEN
#endif

#define SHA1_LEN 20
/* base64 of n bytes: 4 * ceil(n / 3) characters, plus the NUL. */
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4 + 1)

typedef struct Sha1 {
    uint32_t h[5];
    uint64_t total;          /* bytes hashed so far */
    uint8_t block[64];
    size_t used;             /* bytes in block */
} Sha1;

DIGEST_HIDDEN void sha1_init(Sha1 *s);
DIGEST_HIDDEN void sha1_update(Sha1 *s, const void *data, size_t len);
DIGEST_HIDDEN void sha1_final(Sha1 *s, uint8_t out[SHA1_LEN]);
DIGEST_HIDDEN void sha1(const void *data, size_t len, uint8_t out[SHA1_LEN]);

/* Writes the base64 text of data (RFC 4648 section 4, "=" padding) and a
 * NUL to out, which must hold BASE64_LEN(len) bytes; returns the length. */
DIGEST_HIDDEN size_t base64_encode(const void *data, size_t len, char *out);

/* Nonzero when a and b are equal; the time taken depends only on the
 * lengths, not on where the strings differ. */
DIGEST_HIDDEN int digest_const_eq(const char *a, const char *b);

#endif
