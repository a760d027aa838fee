/* Modbus/TCP Security (MB-TCP-Security v21, 2018-07-24): TLS 1.2 or later
 * on port 802 around an unchanged MBAP stream, mutual authentication with
 * X.509v3 certificates, and the client's role from the certificate
 * extension 1.3.6.1.4.1.50316.802.1 (an ASN.1 UTF8String).
 *
 * mb_tls is sans-I/O: OpenSSL works on memory BIOs, the caller moves the
 * ciphertext between them and the socket, so the blocking client, the
 * event-loop client and the server's loop drive the same code:
 *
 *   mb_tls_put(t, bytes from the socket)      ciphertext in
 *   mb_tls_step(t)                            handshake (until t->up)
 *   mb_tls_read(t, buf, cap, &got)            plaintext out (after t->up)
 *   mb_tls_write(t, plaintext)                plaintext in
 *   p = mb_tls_out(t, &n); send; mb_tls_sent  ciphertext out
 *
 * On failure t->why holds one line naming the cause ("certificate has
 * expired", "peer did not return a certificate", "not TLS: ..."). Nothing
 * here logs, blocks or touches a file descriptor. */
#ifndef PLCIO_SRC_MODBUS_MB_TLS_H
#define PLCIO_SRC_MODBUS_MB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_TLS_PORT     802 /* MB-TCP-Security: the registered port of Modbus over TLS */
#define MB_TLS_ROLE_OID "1.3.6.1.4.1.50316.802.1"
#define MB_TLS_ROLE_MAX 128
#define MB_TLS_PATH_MAX 512

/* What a TLS context is made of (a modbus-tls URL, or the server's options). */
typedef struct mb_tls_config {
    char ca[MB_TLS_PATH_MAX];   /* PEM CA certificate(s) that sign the peer */
    char cert[MB_TLS_PATH_MAX]; /* PEM certificate (chain) of our side */
    char key[MB_TLS_PATH_MAX];  /* PEM private key of our side */
    char server_name[256];      /* client: the name (or IP) the server's certificate must carry; "" = the host */
    bool verify_name;           /* client: check server_name against the certificate (default on) */
    bool insecure;              /* client: verify nothing (tests against unknown servers only) */
    bool client_cert_optional;  /* server: let clients without a certificate in (role "") */
} mb_tls_config;

/* An SSL_CTX, opaque outside mb_tls.c. */
typedef struct mb_tls_ctx mb_tls_ctx;

/* Load the files of cfg into a new context. PLCIO_OK; PLCIO_EINVAL (a file
 * missing for this side), PLCIO_ENOTFOUND / PLCIO_EPROTO (a file unreadable
 * or not what it should be) with a sentence in err; PLCIO_ENOMEM. */
int mb_tls_ctx_new(const mb_tls_config *cfg, bool server, mb_tls_ctx **out, char *err, size_t cap);
void mb_tls_ctx_free(mb_tls_ctx *ctx);

typedef struct mb_tls {
    void *ssl;       /* SSL *, NULL when not in use */
    bool server;     /* accept side */
    bool up;         /* handshake done (and, on a server, the client's role read) */
    bool has_role;   /* the peer's certificate carries the role extension */
    bool seen_input; /* ciphertext arrived (tells "not TLS" from a silent peer) */
    bool got_plain;  /* plaintext arrived (a close before any: the peer may have refused us) */
    char role[MB_TLS_ROLE_MAX];
    char peer_name[256]; /* subject CN of the peer's certificate ("" without one) */
    char why[300];
    uint8_t *out; /* ciphertext not yet sent: out[out_off..out_len) */
    size_t out_len, out_off, out_cap;
} mb_tls;

/* Start a connection on ctx: host (client: the server's host, for SNI and the
 * name check; server: NULL). PLCIO_OK or PLCIO_ENOMEM. A client's first call
 * to mb_tls_step produces its ClientHello. */
int mb_tls_init(mb_tls *t, mb_tls_ctx *ctx, bool server, const char *host);
/* Free the connection (not the context); t can be initialized again. */
void mb_tls_clear(mb_tls *t);
/* Ciphertext from the peer. */
int mb_tls_put(mb_tls *t, const uint8_t *in, size_t n);
/* Advance the handshake: PLCIO_OK (t->up tells whether it is done) or
 * PLCIO_EACCESS (a certificate refused by either side), PLCIO_EPROTO (not TLS,
 * a TLS error), PLCIO_ECLOSED, with t->why. */
int mb_tls_step(mb_tls *t);
/* Plaintext that arrived, up to cap: PLCIO_OK with *got (0: nothing yet),
 * PLCIO_ECLOSED (close_notify), PLCIO_EACCESS / PLCIO_EPROTO with t->why. */
int mb_tls_read(mb_tls *t, uint8_t *buf, size_t cap, size_t *got);
/* Plaintext or ciphertext still inside (a read may give more without new input). */
bool mb_tls_buffered(const mb_tls *t);
/* Encrypt plaintext (after t->up): PLCIO_OK, PLCIO_ENOMEM, PLCIO_EPROTO. */
int mb_tls_write(mb_tls *t, const uint8_t *p, size_t n);
/* Ciphertext to send (NULL when none); mb_tls_sent(n) after n bytes went. */
const uint8_t *mb_tls_out(mb_tls *t, size_t *n);
void mb_tls_sent(mb_tls *t, size_t n);
/* "TLSv1.3, TLS_AES_256_GCM_SHA384" after the handshake. */
void mb_tls_describe(const mb_tls *t, char *buf, size_t cap);

#endif
