/*
 * include/corral/auth.h: auth schemes (ZooKeeper's AuthenticationProvider).
 *
 * A scheme gives connections identities (addauth, or implicitly from the
 * connection as the `ip` scheme does) and decides whether an identity a
 * connection holds matches the id of an ACL entry of the same scheme.
 * `world` and `auth` are built into the core.  Included by corral/module.h.
 */
#ifndef CORRAL_AUTH_H
#define CORRAL_AUTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct CorralModule CorralModule;

/* What a scheme may know of the connection asking. */
typedef struct CorralAuthClient {
    const char *peer_ip;        /* numeric, e.g. "127.0.0.1" or "::1" */
    int peer_port;
    int64_t session_id;         /* 0 before the session exists */
    /* ABI 3: the client certificate of a TLS connection (secure_client_listen),
     * already verified against tls.ca_file by the handshake; NULL / 0 when
     * the connection is plaintext or the client sent no certificate.
     * tls_subject is the subject DN exactly as Java's
     * X500Principal.getName() prints it (RFC 2253, most significant RDN
     * last: "CN=alice,OU=apps,O=Example"; UTF-8 values; attributes Java
     * has no keyword for as OID=#hex), which is what ZooKeeper's
     * X509AuthenticationProvider names a client; tls_cert_der is the whole
     * certificate (DER), for schemes that look at more than the subject. */
    const char *tls_subject;
    const unsigned char *tls_cert_der;
    size_t tls_cert_der_len;
} CorralAuthClient;

/* Called by a scheme to give the connection an identity; the core copies
 * the string. */
typedef void (*CorralAuthAddId)(void *ctx, const char *scheme, const char *id);

typedef struct CorralAuthScheme {
    uint32_t abi_version;       /* CORRAL_ABI_VERSION */
    uint32_t size;              /* sizeof(CorralAuthScheme) */
    const char *scheme;         /* "digest", "ip", ... */
    /* addauth: returns 0 after adding ids, or a ZooKeeper error code
     * (-115 AuthFailed) on failure. */
    int (*authenticate)(void *arg, const CorralAuthClient *client,
                        const void *data, size_t len, CorralAuthAddId add, void *add_ctx);
    /* Nonzero when the identity `held` matches the ACL id expression `acl_id`. */
    int (*matches)(void *arg, const char *held, const char *acl_id);
    /* Nonzero when `acl_id` is well-formed for this scheme (setACL, create). */
    int (*is_valid)(void *arg, const char *acl_id);
    /* Nonzero when ids of this scheme count as authenticated for the `auth`
     * pseudo-scheme (ZooKeeper: ip does not, digest does). */
    int (*is_authenticated)(void *arg);
    /* Optional: identities every connection gets when it opens (ip). */
    void (*connection_ids)(void *arg, const CorralAuthClient *client,
                           CorralAuthAddId add, void *add_ctx);
    /* Optional SASL (opcode 102, ZooKeeper's GetSASLRequest/SetSASLResponse).
     * At most one registered scheme may provide these.  sasl_start makes the
     * per-connection state on the first token; sasl_step consumes a client
     * token and produces the server's reply token (*out points into the
     * module's memory, valid until the next call on that state); it returns
     * 0 to go on, 1 when authentication completed (after calling add with
     * the identity, e.g. ("sasl", "bob")), or -115 (AuthFailed).  sasl_end
     * frees the state when the connection closes. */
    void *(*sasl_start)(void *arg, const CorralAuthClient *client);
    int (*sasl_step)(void *arg, void *state, const void *in, size_t inlen,
                     const void **out, size_t *outlen, CorralAuthAddId add, void *add_ctx);
    void (*sasl_end)(void *arg, void *state);
    void *arg;
    /* Optional: the user name whoAmI reports for an identity (ZooKeeper's
     * ServerAuthenticationProvider.getUserName; digest reports "bob" for
     * "bob:<digest>").  Writes at most len bytes incl. NUL into buf and
     * returns buf.  NULL: the identity itself is reported. */
    const char *(*user_name)(void *arg, const char *id, char *buf, size_t len);
    void *reserved[5];
} CorralAuthScheme;

int corral_register_auth(CorralModule *m, const CorralAuthScheme *scheme);

#endif
