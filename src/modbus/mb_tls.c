/* Modbus/TCP Security: TLS through OpenSSL 3 memory BIOs (see mb_tls.h). */
#include "modbus/mb_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "plcio/core.h"

struct mb_tls_ctx {
    SSL_CTX *ctx;
    bool verify_name;
    bool insecure;
    char server_name[256];
};

static int say(char *err, size_t cap, int rc, const char *fmt, ...) PLCIO_PRINTF(4, 5);
static int say(char *err, size_t cap, int rc, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The reason OpenSSL queued last, or "unknown"; clears the queue. */
static const char *openssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "unknown reason";
}

/* A file that must exist and be readable, tried first for a plain message. */
static int check_file(const char *what, const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return say(err, cap, PLCIO_ENOTFOUND, "cannot open the %s file %s: %s", what, path, strerror(errno));
    (void)fclose(f); /* opened to read only */
    return PLCIO_OK;
}

static int load_files(SSL_CTX *ctx, const mb_tls_config *cfg, char *err, size_t cap)
{
    int rc;
    if (cfg->cert[0]) {
        if ((rc = check_file("certificate", cfg->cert, err, cap)) != PLCIO_OK) return rc;
        if ((rc = check_file("key", cfg->key, err, cap)) != PLCIO_OK) return rc;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1)
            return say(err, cap, PLCIO_EPROTO, "certificate %s: %s", cfg->cert, openssl_reason());
        if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
            if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
                ERR_clear_error();
                return say(err, cap, PLCIO_EPROTO, "key %s does not belong to certificate %s", cfg->key, cfg->cert);
            }
            return say(err, cap, PLCIO_EPROTO, "key %s: %s", cfg->key, openssl_reason());
        }
        if (SSL_CTX_check_private_key(ctx) != 1)
            return say(err, cap, PLCIO_EPROTO, "key %s does not belong to certificate %s", cfg->key, cfg->cert);
    }
    if (cfg->ca[0]) {
        if ((rc = check_file("CA", cfg->ca, err, cap)) != PLCIO_OK) return rc;
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca, NULL) != 1)
            return say(err, cap, PLCIO_EPROTO, "CA file %s: %s", cfg->ca, openssl_reason());
    }
    return PLCIO_OK;
}

int mb_tls_ctx_new(const mb_tls_config *cfg, bool server, mb_tls_ctx **out, char *err, size_t cap)
{
    *out = NULL;
    if (server && (!cfg->cert[0] || !cfg->key[0]))
        return say(err, cap, PLCIO_EINVAL, "a TLS server needs a certificate and a key");
    if (server && !cfg->ca[0])
        return say(err, cap, PLCIO_EINVAL, "a TLS server needs the CA that signs its clients' certificates");
    if (!server && !cfg->ca[0] && !cfg->insecure)
        return say(err, cap, PLCIO_EINVAL, "modbus-tls needs ca=FILE to verify the server (or insecure=1)");
    if (!server && (!cfg->cert[0]) != (!cfg->key[0]))
        return say(err, cap, PLCIO_EINVAL, "cert=FILE and key=FILE go together");
    mb_tls_ctx *c = calloc(1, sizeof *c);
    if (!c) return PLCIO_ENOMEM;
    ERR_clear_error();
    c->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c->ctx) {
        free(c);
        return PLCIO_ENOMEM;
    }
    /* MB-TCP-Security: TLS 1.2 at least; no renegotiation, no compression */
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(c->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    int rc = load_files(c->ctx, cfg, err, cap);
    if (rc != PLCIO_OK) {
        mb_tls_ctx_free(c);
        return rc;
    }
    if (server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca);
        if (names) SSL_CTX_set_client_CA_list(c->ctx, names);
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER | (cfg->client_cert_optional ? 0 : SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
                           NULL);
    } else {
        SSL_CTX_set_verify(c->ctx, cfg->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    }
    c->insecure = cfg->insecure;
    c->verify_name = cfg->verify_name && !cfg->insecure;
    snprintf(c->server_name, sizeof c->server_name, "%s", cfg->server_name);
    ERR_clear_error();
    *out = c;
    return PLCIO_OK;
}

void mb_tls_ctx_free(mb_tls_ctx *ctx)
{
    if (!ctx) return;
    SSL_CTX_free(ctx->ctx);
    free(ctx);
}

static bool is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int mb_tls_init(mb_tls *t, mb_tls_ctx *ctx, bool server, const char *host)
{
    memset(t, 0, sizeof *t);
    t->server = server;
    SSL *ssl = SSL_new(ctx->ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (!ssl || !rb || !wb) {
        SSL_free(ssl);
        BIO_free(rb);
        BIO_free(wb);
        return PLCIO_ENOMEM;
    }
    BIO_set_mem_eof_return(rb, -1); /* an empty input BIO means "more later", not EOF */
    SSL_set_bio(ssl, rb, wb);
    t->ssl = ssl;
    if (server) {
        SSL_set_accept_state(ssl);
        return PLCIO_OK;
    }
    SSL_set_connect_state(ssl);
    const char *name = ctx->server_name[0] ? ctx->server_name : host ? host : "";
    if (name[0] && !is_ip(name)) SSL_set_tlsext_host_name(ssl, name);
    if (ctx->verify_name && name[0]) {
        int ok = is_ip(name) ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) : SSL_set1_host(ssl, name);
        if (ok != 1) {
            mb_tls_clear(t);
            return PLCIO_ENOMEM;
        }
    }
    return PLCIO_OK;
}

void mb_tls_clear(mb_tls *t)
{
    SSL_free(t->ssl);
    free(t->out);
    memset(t, 0, sizeof *t);
}

/* Move what OpenSSL wrote into the output buffer. */
static int drain(mb_tls *t)
{
    BIO *wb = SSL_get_wbio(t->ssl);
    size_t pending;
    while ((pending = BIO_ctrl_pending(wb)) > 0) {
        if (t->out_len + pending > t->out_cap) {
            size_t cap = t->out_cap ? t->out_cap : 4096;
            while (cap < t->out_len + pending)
                cap *= 2;
            uint8_t *p = realloc(t->out, cap);
            if (!p) return PLCIO_ENOMEM;
            t->out = p;
            t->out_cap = cap;
        }
        int n = BIO_read(wb, t->out + t->out_len, (int)pending);
        if (n <= 0) break;
        t->out_len += (size_t)n;
    }
    return PLCIO_OK;
}

int mb_tls_put(mb_tls *t, const uint8_t *in, size_t n)
{
    if (!n) return PLCIO_OK;
    if (!t->seen_input && in[0] != 0x16 && in[0] != 0x15) {
        /* A TLS stream starts with a handshake (22) or an alert (21) record. */
        snprintf(t->why, sizeof t->why,
                 "not TLS: the peer's first byte is 0x%02x, not a TLS record (plain Modbus/TCP on a TLS port?)", in[0]);
        t->seen_input = true;
        return PLCIO_EPROTO;
    }
    t->seen_input = true;
    return BIO_write(SSL_get_rbio(t->ssl), in, (int)n) == (int)n ? PLCIO_OK : PLCIO_ENOMEM;
}

/* A TLS alert reason: the peer's refusal of our certificate or its own. */
static bool certificate_alert(int reason)
{
    if (reason < SSL_AD_REASON_OFFSET) return false;
    switch (reason - SSL_AD_REASON_OFFSET) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED: return true;
    default: return false;
    }
}

/* Why the TLS layer failed, in t->why; the plcio error for it. */
static int failure(mb_tls *t, int ssl_error)
{
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {
        snprintf(t->why, sizeof t->why, "the peer closed the TLS connection");
        return PLCIO_ECLOSED;
    }
    unsigned long e = ERR_peek_last_error();
    int reason = e ? ERR_GET_REASON(e) : 0;
    const char *text = e ? ERR_reason_error_string(e) : NULL;
    long verify = SSL_get_verify_result(t->ssl);
    int rc = PLCIO_EPROTO;
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
        snprintf(t->why, sizeof t->why, "%s certificate refused: %s", t->server ? "client" : "server",
                 X509_verify_cert_error_string(verify));
        rc = PLCIO_EACCESS;
    } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        snprintf(t->why, sizeof t->why, "the client sent no certificate (Modbus/TCP Security requires one)");
        rc = PLCIO_EACCESS;
    } else if (certificate_alert(reason)) {
        snprintf(t->why, sizeof t->why, "the peer refused our certificate (%s)", text ? text : "alert");
        rc = PLCIO_EACCESS;
    } else if (text) {
        snprintf(t->why, sizeof t->why, "TLS error: %s", text);
    } else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_SSL) {
        snprintf(t->why, sizeof t->why, "TLS error (no reason given)");
    }
    ERR_clear_error();
    return rc;
}

/* The role extension of a certificate: false when absent, -1 when malformed. */
static int read_role(X509 *x, char *role, size_t cap)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(MB_TLS_ROLE_OID, 1);
    if (!oid) return -1;
    int idx = X509_get_ext_by_OBJ(x, oid, -1);
    ASN1_OBJECT_free(oid);
    if (idx < 0) return 0;
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(x, idx));
    const unsigned char *p = ASN1_STRING_get0_data(data);
    ASN1_UTF8STRING *s = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(data));
    if (!s) return -1;
    int len = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int ok = len > 0 && (size_t)len < cap && p == ASN1_STRING_get0_data(data) + ASN1_STRING_length(data);
    for (int i = 0; ok && i < len; i++)
        ok = d[i] >= 0x20 && d[i] != 0x7f; /* printable: it goes into logs and callbacks */
    if (ok) {
        memcpy(role, d, (size_t)len);
        role[len] = '\0';
    }
    ASN1_UTF8STRING_free(s);
    return ok ? 1 : -1;
}

static int on_handshake_done(mb_tls *t)
{
    X509 *peer = SSL_get1_peer_certificate(t->ssl);
    if (!peer) return PLCIO_OK;
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, t->peer_name, sizeof t->peer_name);
    int r = read_role(peer, t->role, sizeof t->role);
    X509_free(peer);
    if (r < 0) {
        snprintf(t->why, sizeof t->why,
                 "the certificate's role extension (%s) is not a printable ASN.1 UTF8String of 1 to %d bytes",
                 MB_TLS_ROLE_OID, MB_TLS_ROLE_MAX - 1);
        return PLCIO_EACCESS;
    }
    t->has_role = r == 1;
    return PLCIO_OK;
}

int mb_tls_step(mb_tls *t)
{
    if (t->up) return PLCIO_OK;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    int rc = drain(t);
    if (rc != PLCIO_OK) return rc;
    if (r == 1) {
        if ((rc = on_handshake_done(t)) != PLCIO_OK) return rc;
        t->up = true;
        return PLCIO_OK;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return PLCIO_OK;
    return failure(t, e);
}

int mb_tls_read(mb_tls *t, uint8_t *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (!cap) return PLCIO_OK;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(t->ssl, buf, cap, &n);
    int rc = drain(t); /* TLS 1.3 answers some records (key updates) */
    if (rc != PLCIO_OK) return rc;
    if (r == 1) {
        *got = n;
        t->got_plain = true;
        return PLCIO_OK;
    }
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return PLCIO_OK;
    return failure(t, e);
}

bool mb_tls_buffered(const mb_tls *t)
{
    return t->ssl && (SSL_pending(t->ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(t->ssl)) > 0);
}

int mb_tls_write(mb_tls *t, const uint8_t *p, size_t n)
{
    if (!n) return PLCIO_OK;
    ERR_clear_error();
    size_t done = 0;
    if (SSL_write_ex(t->ssl, p, n, &done) != 1 || done != n) return failure(t, SSL_get_error(t->ssl, 0));
    return drain(t);
}

const uint8_t *mb_tls_out(mb_tls *t, size_t *n)
{
    *n = t->out_len - t->out_off;
    return *n ? t->out + t->out_off : NULL;
}

void mb_tls_sent(mb_tls *t, size_t n)
{
    t->out_off += n;
    if (t->out_off >= t->out_len) t->out_off = t->out_len = 0;
}

void mb_tls_describe(const mb_tls *t, char *buf, size_t cap)
{
    if (!t->ssl || !t->up) {
        snprintf(buf, cap, "TLS not up");
        return;
    }
    snprintf(buf, cap, "%s, %s", SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
}
