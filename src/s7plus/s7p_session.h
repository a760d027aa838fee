/* S7CommPlus client session: a state machine fed TCP bytes and time, handing
 * back bytes to send. No sockets here (the blocking client and, later, the
 * event loop drive it); TLS runs through OpenSSL memory BIOs.
 *
 *   COTP CR/CC (calling TSAP 0x0600, called TSAP "SIMATIC-ROOT-HMI")
 *   -> InitSSL (V1 frame)
 *   -> TLS handshake inside COTP DT (unless tls is off: V1 test peers only)
 *   -> CreateObject (V1 frame, session 288, request id 285): the session id is
 *      ObjectIds[0] of the answer, the ServerSessionVersion (attribute 306)
 *      is kept
 *   -> SetMultiVariables on the session object echoing that version (V2 frame
 *      over TLS)
 *   -> ready: one request at a time; over TLS each request carries an
 *      integrity id (VLQ, read and write counters apart) before its 4 fill
 *      bytes
 *   -> close: DeleteObject, answer awaited briefly.
 *
 * Buffers are allocated by s7p_session_new and grow up to S7P_SESSION_MAX_PDU;
 * longer answers fail with PLCIO_ELIMIT. */
#ifndef PLCIO_S7P_SESSION_H
#define PLCIO_S7P_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "s7plus/s7p_codec.h"

#define S7P_SESSION_MAX_PDU (4u << 20)
/* Requests under way at once (s7p_session_request in BUSY). */
#define S7P_SESSION_WINDOW 16

typedef struct ssl_ctx_st s7p_ssl_ctx; /* OpenSSL's SSL_CTX */

typedef enum s7p_state {
    S7PS_IDLE,
    S7PS_COTP,
    S7PS_INIT_SSL,
    S7PS_TLS,
    S7PS_CREATE,
    S7PS_SETUP,
    S7PS_READY,
    S7PS_BUSY,
    S7PS_CLOSING,
    S7PS_CLOSED,
    S7PS_FAILED
} s7p_state;

typedef struct s7p_session_config {
    s7p_ssl_ctx *ssl_ctx;    /* borrowed, kept for the session's life; NULL: no TLS (V1) */
    const char *client_name; /* shown to the PLC (attribute 233); copied */
    int timeout_ms;          /* per step and per request */
    /* python-snap7's peers: Blobs without a root id (codec dialect) */
    bool compact_blob;
    plcio_logger logger;
    /* Notifications (opcode 0x33) arrive unasked, between answers too: each
     * one's body (after the opcode) goes here, during feed. A return < 0
     * fails the session with that code. NULL: dropped. */
    int (*on_notification)(void *ctx, const uint8_t *body, size_t len);
    void *notify_ctx;
} s7p_session_config;

typedef struct s7p_session s7p_session;

int s7p_session_new(const s7p_session_config *cfg, s7p_session **out, plcio_error *err);
void s7p_session_free(s7p_session *s);

/* Begin: queues the COTP connection request. now in ns (monotonic). */
int s7p_session_start(s7p_session *s, uint64_t now);
/* Bytes received from the peer. Errors are sticky (state FAILED); the detail
 * is in s7p_session_error. */
int s7p_session_feed(s7p_session *s, const uint8_t *data, size_t len, uint64_t now);
/* Bytes waiting to be sent; mark n of them sent. */
const uint8_t *s7p_session_tx(const s7p_session *s, size_t *len);
void s7p_session_tx_done(s7p_session *s, size_t n);
/* PLCIO_ETIMEDOUT (and FAILED) once the deadline of the current step passed. */
int s7p_session_on_time(s7p_session *s, uint64_t now);
uint64_t s7p_session_deadline(const s7p_session *s); /* 0: none */

s7p_state s7p_session_state(const s7p_session *s);
const plcio_error *s7p_session_error(const s7p_session *s);
uint32_t s7p_session_id(const s7p_session *s);
bool s7p_session_tls(const s7p_session *s);
/* The session's OpenSSL SSL (NULL without TLS), for the TLS exporter. */
void *s7p_session_ssl(const s7p_session *s);
const char *s7p_session_tls_version(const s7p_session *s); /* "TLSv1.3", "" without TLS */

/* In READY, or in BUSY with fewer than S7P_SESSION_WINDOW requests under
 * way: send one request (s7p_session_last_seq: its sequence number). body is
 * the function's payload without the tail (integrity id and fill are added
 * here). read_class picks the read integrity counter (Get*, Explore). The
 * state is BUSY until every request is answered; an answer is matched to its
 * request by sequence number (and must carry its function), in any order;
 * the deadline is the oldest unanswered request's. */
int s7p_session_request(s7p_session *s, uint16_t function, const uint8_t *body, size_t len, bool read_class,
                        uint64_t now);
/* After a request: 1 and the answer (borrowed until the next request or
 * drain; answer->h.seq says whose it is) when one arrived, 0 while waiting.
 * Several answers that came together: take one, s7p_session_drain, take the
 * next. The state is READY again after the last. */
int s7p_session_response(s7p_session *s, s7p_pdu *answer);
unsigned s7p_session_pending(const s7p_session *s); /* requests not answered yet */
uint16_t s7p_session_last_seq(const s7p_session *s);
bool s7p_session_has_answer(const s7p_session *s); /* an answer waits to be taken */
/* A request that wants no answer (transport flags 0x74, as the credit
 * SetVariable of a subscription in the real capture), in READY or BUSY; the
 * state does not change. An answer the PLC sends anyway is dropped. */
int s7p_session_send_oneway(s7p_session *s, uint16_t function, const uint8_t *body, size_t len, uint64_t now);
/* PDUs already received but not yet handled (they wait while an answer is
 * untaken): handle them now (notifications). */
int s7p_session_drain(s7p_session *s, uint64_t now);
/* Queue DeleteObject (state CLOSING, then CLOSED when answered). */
int s7p_session_close(s7p_session *s, uint64_t now);

#endif
