/*
 * src/backend/net/tls.c: OpenSSL contexts and non-blocking TLS connections.
 *
 * Why the contexts are rebuilt rather than changed in place: an SSL_CTX
 * that connections already use must not be modified (OpenSSL does not
 * lock it for that), while a fresh one can be swapped in at any moment;
 * each SSL holds a reference on the context it was made from, so the old
 * one lives until its last connection closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "corral/log.h"
#include "corral/metrics.h"
#include "corral/strbuf.h"
#include "corral/tls.h"
#include "net/tls.h"
#include "utils/alloc.h"

struct Tls {
    SSL *ssl;
    int handshake_done;
    int want_write;             /* the last call waits for writability */
    int read_wants_write;       /* the last read does (renegotiation, key update) */
    int write_wants_read;       /* the last write waits for readability */
    int eof;                    /* the failure was the peer going away */
    char *subject;              /* peer certificate subject, RFC 2253 */
    unsigned char *der;         /* peer certificate */
    size_t der_len;
    char err[256];
};

static struct {
    const CoreConfig *cfg;
    TlsConfig cur;              /* the settings in use (a reload may change the files, ciphers...) */
    SSL_CTX *client_ctx;        /* secure_client_listen */
    SSL_CTX *member_ctx;        /* tls.quorum: both directions */
    int64_t cert_days, ca_days; /* days to the earliest expiry */
    int64_t reloads, reload_failures;
    char error[512];
    int metrics_done;
} tls;

const char *tls_last_error(void) { return tls.error; }
int tls_quorum(void) { return tls.member_ctx != NULL; }
int tls_configured(void) { return tls.cur.present; }

/* The first queued OpenSSL error as text (the queue is then emptied). */
static const char *ssl_err_text(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static int fail(const char *fmt, const char *a, const char *b)
{
    char e[256];
    snprintf(tls.error, sizeof tls.error, fmt, a, b ? b : ssl_err_text(e, sizeof e));
    ERR_clear_error();
    return -1;
}

static int64_t days_left(const X509 *x)
{
    int day = 0, sec = 0;
    if (!ASN1_TIME_diff(&day, &sec, NULL, X509_get0_notAfter(x)))
        return 0;
    return day;   /* may be negative: already expired */
}

/* The earliest expiry among the certificates of a PEM file. */
static int pem_min_days(const char *path, int64_t *out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    X509 *x;
    int n = 0;
    while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        int64_t d = days_left(x);
        if (!n++ || d < *out)
            *out = d;
        X509_free(x);
    }
    ERR_clear_error();
    fclose(f);
    return n ? 0 : -1;
}

static int proto_version(const char *name) { return name && strcmp(name, "TLSv1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION; }

/* One context from the `tls:` map.  verify: 0 none, 1 ask for a
 * certificate, 2 require one. */
static SSL_CTX *make_ctx(const TlsConfig *t, int verify, int64_t *cert_days, int64_t *ca_days)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    if (!ctx) {
        fail("cannot create a TLS context: %s%s", "", NULL);
        return NULL;
    }
    /* No compression (CRIME), no renegotiation (a client could make the
     * server redo handshakes for free), the server's cipher order. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_min_proto_version(ctx, proto_version(t->min_protocol));
    if (t->max_protocol)
        SSL_CTX_set_max_proto_version(ctx, proto_version(t->max_protocol));
    if (t->ciphers && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
        fail("tls.ciphers \"%s\": %s", t->ciphers, NULL);
        goto bad;
    }
    if (t->ciphersuites && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
        fail("tls.ciphersuites \"%s\": %s", t->ciphersuites, NULL);
        goto bad;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        fail("tls.cert_file %s: %s", t->cert_file, NULL);
        goto bad;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        fail("tls.key_file %s: %s", t->key_file, NULL);
        goto bad;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        fail("tls.key_file %s does not match tls.cert_file %s", t->key_file, t->cert_file);
        goto bad;
    }
    *cert_days = days_left(SSL_CTX_get0_certificate(ctx));
    if (t->ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
            fail("tls.ca_file %s: %s", t->ca_file, NULL);
            goto bad;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_file);
        if (names)
            SSL_CTX_set_client_CA_list(ctx, names);
        pem_min_days(t->ca_file, ca_days);
    }
    ERR_clear_error();
    if (verify)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (verify == 2 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
    /* Session resumption across reloads would skip the new checks; tickets
     * are per context anyway.  A fixed id context keeps resumption legal
     * with client certificates. */
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"corral", 6);
    return ctx;
bad:
    SSL_CTX_free(ctx);
    return NULL;
}

static int build(const TlsConfig *t)
{
    int64_t cd = 0, ad = 0;
    SSL_CTX *cc = NULL, *mc = NULL;
    /* The client context also serves the HTTPS of modules (corral/tls.h). */
    if (!(cc = make_ctx(t, t->client_auth_mode, &cd, &ad)))
        return -1;
    if (t->quorum && tls.cfg->n_members > 1 && !(mc = make_ctx(t, 2, &cd, &ad))) {
        SSL_CTX_free(cc);
        return -1;
    }
    SSL_CTX_free(tls.client_ctx);
    SSL_CTX_free(tls.member_ctx);
    tls.client_ctx = cc;
    tls.member_ctx = mc;
    tls.cert_days = cd;
    tls.ca_days = ad;
    return 0;
}

static int64_t g_cert_days(void *arg) { return tls.cert_days; }
static int64_t g_ca_days(void *arg) { return tls.ca_days; }
static int64_t g_reloads(void *arg) { return tls.reloads; }
static int64_t g_reload_failures(void *arg) { return tls.reload_failures; }

int tls_init(const CoreConfig *cfg)
{
    tls.cfg = cfg;
    tls.cur = cfg->tls;
    tls.error[0] = '\0';
    if (!cfg->tls.present)
        return 0;
    if (build(&tls.cur) < 0)
        return -1;
    if (!tls.metrics_done) {
        tls.metrics_done = 1;
        corral_metric_gauge_fn("tls_cert_days_left", "Days until tls.cert_file expires (negative: expired)",
                               g_cert_days, NULL);
        if (cfg->tls.ca_file)
            corral_metric_gauge_fn("tls_ca_days_left", "Days until the first of the tls.ca_file certificates to expire expires",
                                   g_ca_days, NULL);
        corral_metric_gauge_fn("tls_reloads", "TLS certificate reloads that succeeded", g_reloads, NULL);
        corral_metric_gauge_fn("tls_reload_failures", "TLS certificate reloads refused (the old files stay in use)",
                               g_reload_failures, NULL);
    }
    return 0;
}

/* Builds contexts from t; on success t becomes the settings in use. */
static int reload_from(const TlsConfig *t)
{
    if (build(t) < 0) {
        tls.reload_failures++;
        corral_log(CORRAL_LOG_ERROR, "tls", "reload refused, the previous certificates stay in use: %s", tls.error);
        return -1;
    }
    tls.cur = *t;
    tls.reloads++;
    corral_log(CORRAL_LOG_INFO, "tls", "reloaded %s (%lld days left), %s; new connections use them", tls.cur.cert_file,
               (long long)tls.cert_days, tls.cur.ca_file ? tls.cur.ca_file : "no CA");
    return 0;
}

int tls_reload(void)
{
    return tls.cur.present ? reload_from(&tls.cur) : 0;
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Two tls.member_names maps say the same (in the same order). */
static int names_equal(const CorralConfig *a, const CorralConfig *b)
{
    size_t n = corral_config_len(a);
    if (n != corral_config_len(b))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!same_str(corral_config_scalar(corral_config_key_at(a, i)), corral_config_scalar(corral_config_key_at(b, i))) ||
            !same_str(corral_config_scalar(corral_config_at(a, i)), corral_config_scalar(corral_config_at(b, i))))
            return 0;
    return 1;
}

int tls_reload_config(const CoreConfig *nc)
{
    const TlsConfig *n = &nc->tls;
    if (n->present != tls.cur.present) {
        corral_log(CORRAL_LOG_WARN, "tls", "the tls: map was %s: that takes a restart (pending)",
                   n->present ? "added" : "removed");
        return tls_reload();
    }
    if (!n->present)
        return 0;
    TlsConfig t = *n;
    if (t.quorum != tls.cur.quorum || !names_equal(t.member_names, tls.cur.member_names)) {
        /* How members authenticate is fixed for the life of the process. */
        corral_log(CORRAL_LOG_WARN, "tls", "tls.quorum and tls.member_names take a restart (pending)");
        t.quorum = tls.cur.quorum;
        t.member_names = tls.cur.member_names;
    }
    return reload_from(&t);
}

void tls_shutdown(void)
{
    SSL_CTX_free(tls.client_ctx);
    SSL_CTX_free(tls.member_ctx);
    tls.client_ctx = tls.member_ctx = NULL;
}

/* ---- connections ---------------------------------------------------------- */

Tls *tls_new(int fd, TlsRole role)
{
    SSL_CTX *ctx = role == TLS_CLIENT_SERVER ? tls.client_ctx : tls.member_ctx;
    if (!ctx)
        return NULL;
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1) {
        char e[256];
        corral_log(CORRAL_LOG_ERROR, "tls", "cannot set up a TLS connection: %s", ssl_err_text(e, sizeof e));
        SSL_free(ssl);
        return NULL;
    }
    if (role == TLS_MEMBER_CLIENT)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    Tls *t = xcalloc(1, sizeof *t);
    t->ssl = ssl;
    return t;
}

void tls_free(Tls *t)
{
    if (!t)
        return;
    /* A close_notify if the socket takes it; never waits. */
    if (t->handshake_done && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t->subject);
    free(t->der);
    free(t);
}

/* After a call returned <= 0: -1 with errno EAGAIN (and want_write set) to
 * wait, 0 for a clean close, -1 with errno EIO and t->err otherwise. */
static int io_result(Tls *t, int rc)
{
    int e = SSL_get_error(t->ssl, rc);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        t->want_write = 0;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        t->want_write = 1;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (errno == EAGAIN || errno == EINTR) {
            errno = EAGAIN;
            return -1;
        }
        t->eof = 1;
        snprintf(t->err, sizeof t->err, "%s", errno ? strerror(errno) : "connection closed during TLS");
        ERR_clear_error();
        errno = EIO;
        return -1;
    default: {
        char buf[200];
        unsigned long first = ERR_peek_error();
        t->eof = ERR_GET_LIB(first) == ERR_LIB_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
        ssl_err_text(buf, sizeof buf);
        long v = SSL_get_verify_result(t->ssl);
        if (v != X509_V_OK)
            snprintf(t->err, sizeof t->err, "%s (certificate: %s)", buf, X509_verify_cert_error_string(v));
        else
            snprintf(t->err, sizeof t->err, "%s", buf);
        errno = EIO;
        return -1;
    }
    }
}

/* ---- the subject as ZooKeeper sees it -------------------------------------- */

/* The keywords Java's X500Principal.getName() (RFC 2253 form) prints; any
 * other attribute is printed as its OID and the hex of its DER value. */
static const char *java_keyword(int nid)
{
    switch (nid) {
    case NID_commonName: return "CN";
    case NID_countryName: return "C";
    case NID_localityName: return "L";
    case NID_stateOrProvinceName: return "ST";
    case NID_organizationName: return "O";
    case NID_organizationalUnitName: return "OU";
    case NID_streetAddress: return "STREET";
    case NID_domainComponent: return "DC";
    case NID_userId: return "UID";
    default: return NULL;
    }
}

static void put_java_value(CorralStrbuf *sb, const ASN1_STRING *v)
{
    unsigned char *u = NULL;
    int n = ASN1_STRING_to_UTF8(&u, v);
    for (int i = 0; i < n; i++) {
        unsigned char c = u[i];
        /* AVA.toRFC2253String: these anywhere, a space at either end. */
        if (strchr(",=+<>#;\"\\", c) || (c == ' ' && (i == 0 || i == n - 1)))
            corral_strbuf_append(sb, "\\", 1);
        corral_strbuf_append(sb, &c, 1);
    }
    OPENSSL_free(u);
}

static void put_java_hex(CorralStrbuf *sb, const ASN1_STRING *v)
{
    ASN1_TYPE *at = ASN1_TYPE_new();
    unsigned char *der = NULL;
    int n = at && ASN1_TYPE_set1(at, ASN1_STRING_type(v), v) ? i2d_ASN1_TYPE(at, &der) : -1;
    corral_strbuf_puts(sb, "#");
    for (int i = 0; i < n; i++)
        corral_strbuf_printf(sb, "%02x", der[i]);
    OPENSSL_free(der);
    ASN1_TYPE_free(at);
}

/* The subject exactly as ZooKeeper's X509AuthenticationProvider names a
 * client (X500Principal.getName()): RDNs most significant last, the
 * attributes of a multi-valued RDN in their encoded order, values in
 * UTF-8 with Java's escapes, unknown attributes as OID=#hex.  OpenSSL's
 * XN_FLAG_RFC2253 differs on all four points. */
static char *java_subject(const X509_NAME *name)
{
    CorralStrbuf sb = CORRAL_STRBUF_INIT;
    int n = X509_NAME_entry_count(name);
    for (int i = n - 1; i >= 0;) {
        int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
        int first = i;
        while (first > 0 && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, first - 1)) == set)
            first--;
        if (sb.len)
            corral_strbuf_puts(&sb, ",");
        for (int k = first; k <= i; k++) {
            const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, k);
            const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
            const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
            const char *kw = java_keyword(OBJ_obj2nid(obj));
            if (k > first)
                corral_strbuf_puts(&sb, "+");
            if (kw) {
                corral_strbuf_printf(&sb, "%s=", kw);
                put_java_value(&sb, v);
            } else {
                char oid[128];
                OBJ_obj2txt(oid, sizeof oid, obj, 1);
                corral_strbuf_printf(&sb, "%s=", oid);
                put_java_hex(&sb, v);
            }
        }
        i = first - 1;
    }
    if (!sb.data)
        corral_strbuf_puts(&sb, "");   /* the empty DN */
    return sb.data;   /* malloc'd: freed with the Tls */
}

static void keep_peer_cert(Tls *t)
{
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    if (!x)
        return;
    t->subject = java_subject(X509_get_subject_name(x));
    int n = i2d_X509(x, NULL);
    if (n > 0) {
        t->der = xmalloc((size_t)n);
        unsigned char *p = t->der;
        i2d_X509(x, &p);
        t->der_len = (size_t)n;
    }
    X509_free(x);
    ERR_clear_error();
}

int tls_handshake(Tls *t)
{
    if (t->handshake_done)
        return 1;
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->handshake_done = 1;
        t->want_write = 0;
        keep_peer_cert(t);
        return 1;
    }
    if (io_result(t, rc) < 0 && errno == EAGAIN)
        return 0;
    if (!t->err[0]) {
        t->eof = 1;
        snprintf(t->err, sizeof t->err, "connection closed during the TLS handshake");
    }
    return -1;
}

int tls_handshake_done(const Tls *t) { return t->handshake_done; }

ssize_t tls_read(Tls *t, void *buf, size_t len)
{
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_read_ex(t->ssl, buf, len, &n);
    t->read_wants_write = 0;
    if (rc == 1) {
        t->want_write = 0;
        return (ssize_t)n;
    }
    int r = io_result(t, 0);
    t->read_wants_write = r < 0 && errno == EAGAIN && t->want_write;
    return r;
}

ssize_t tls_write(Tls *t, const void *buf, size_t len)
{
    ERR_clear_error();
    size_t n = 0;
    int rc = SSL_write_ex(t->ssl, buf, len, &n);
    t->write_wants_read = 0;
    if (rc == 1) {
        t->want_write = 0;
        return (ssize_t)n;
    }
    int r = io_result(t, 0);
    t->write_wants_read = r < 0 && errno == EAGAIN && !t->want_write;
    return r == 0 ? (errno = EPIPE, -1) : r;
}

int tls_wants_write(const Tls *t) { return t->want_write; }
int tls_read_wants_write(const Tls *t) { return t->read_wants_write; }
int tls_write_wants_read(const Tls *t) { return t->write_wants_read; }
/* Decrypted bytes only: a partial record (SSL_has_pending) needs more from
 * the socket, which will say so. */
int tls_pending(const Tls *t) { return SSL_pending(t->ssl) > 0; }
const char *tls_error(const Tls *t) { return t->err[0] ? t->err : "TLS error"; }
int tls_error_is_eof(const Tls *t) { return t->eof; }
const char *tls_version(const Tls *t) { return SSL_get_version(t->ssl); }
const char *tls_peer_subject(const Tls *t) { return t ? t->subject : NULL; }

const unsigned char *tls_peer_cert_der(const Tls *t, size_t *len)
{
    *len = t ? t->der_len : 0;
    return t ? t->der : NULL;
}

int tls_peer_is(const Tls *t, const char *name)
{
    X509 *x = SSL_get0_peer_certificate(t->ssl);
    if (!x || !name)
        return 0;
    unsigned char tmp[16];
    int is_ip = inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
    int rc = is_ip ? X509_check_ip_asc(x, name, 0) : X509_check_host(x, name, 0, 0, NULL);
    ERR_clear_error();
    return rc == 1;
}

/* ---- the module ABI (corral/tls.h) ---------------------------------------- */

int corral_tls_available(void) { return tls.client_ctx != NULL; }
CorralTls *corral_tls_server(int fd) { return (CorralTls *)tls_new(fd, TLS_CLIENT_SERVER); }
int corral_tls_handshake(CorralTls *t) { return tls_handshake((Tls *)t); }
ssize_t corral_tls_read(CorralTls *t, void *buf, size_t len) { return tls_read((Tls *)t, buf, len); }
ssize_t corral_tls_write(CorralTls *t, const void *buf, size_t len) { return tls_write((Tls *)t, buf, len); }
int corral_tls_wants_write(const CorralTls *t) { return tls_wants_write((const Tls *)t); }
const char *corral_tls_error(const CorralTls *t) { return tls_error((const Tls *)t); }
void corral_tls_free(CorralTls *t) { tls_free((Tls *)t); }

int corral_tls_reload(char *err, size_t errlen)
{
    if (!tls.cur.present) {
        snprintf(err, errlen, "no tls: map in the configuration");
        return -1;
    }
    int rc = tls_reload();
    snprintf(err, errlen, "%s", rc < 0 ? tls.error : "");
    return rc;
}

int64_t corral_tls_cert_days_left(void) { return tls.cert_days; }

void corral_tls_close_notify(CorralTls *ct)
{
    Tls *t = (Tls *)ct;
    if (t->handshake_done && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
}
