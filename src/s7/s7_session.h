/* S7 session: the connection state machine of an S7 client, fed with bytes
 * and time, handing back bytes to send and a deadline. No I/O: the blocking
 * client (s7_client.c) and any event loop drive it the same way:
 *
 *   s7_session_start(s, now)          queue CR (then setup follows by itself)
 *   loop:
 *     data = s7_session_tx(s, &len)   send what is pending, then
 *     s7_session_tx_done(s, sent)
 *     s7_session_feed(s, bytes, n, now)   when the socket is readable
 *     s7_session_on_time(s, now)      when s7_session_deadline() passed
 *   requests: s7_session_request_begin() gives a s7_out inside the
 *   transmit buffer and a PDU reference; encode into it with the codec, then
 *   s7_session_request_commit(). When s7_session_slot_done(),
 *   the answer PDU is in s7_session_slot_pdu() until _slot_release().
 *
 * Any protocol violation or timeout moves the session to FAILED with an
 * error: the owner closes the socket (the state of in-flight jobs is unknown).
 * Requests are pipelined up to the negotiated number of parallel jobs. */
#ifndef PLCIO_S7_SESSION_H
#define PLCIO_S7_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "s7/s7_codec.h"

#define PLCIO_S7_SESSION_MAX_JOBS 16

typedef enum s7_session_state {
    PLCIO_S7_SESSION_IDLE,
    PLCIO_S7_SESSION_COTP,  /* CR sent, waiting for CC */
    PLCIO_S7_SESSION_SETUP, /* setup communication sent */
    PLCIO_S7_SESSION_READY,
    PLCIO_S7_SESSION_FAILED
} s7_session_state;

typedef struct s7_session_cfg {
    uint8_t local_tsap[PLCIO_COTP_TSAP_MAX];
    uint8_t local_tsap_len;
    uint8_t remote_tsap[PLCIO_COTP_TSAP_MAX];
    uint8_t remote_tsap_len;
    uint16_t pdu_request;  /* PDU size asked for (240..960 usually) */
    uint16_t jobs_request; /* parallel jobs asked for (1..16) */
    uint64_t connect_timeout_ns;
    uint64_t request_timeout_ns;
    plcio_logger logger;
} s7_session_cfg;

typedef struct s7_session s7_session;

/* Returns NULL on allocation failure. Free with s7_session_free. */
s7_session *s7_session_new(const s7_session_cfg *cfg);
void s7_session_free(s7_session *s);

/* Forget everything (jobs, buffers) and queue the COTP connection request. */
void s7_session_start(s7_session *s, uint64_t now);
s7_session_state s7_session_state_get(const s7_session *s);
/* The error that failed the session (PLCIO_OK while not failed). */
int s7_session_error(const s7_session *s);
/* Move to FAILED with err (socket closed, send error). */
void s7_session_fail(s7_session *s, int err);
/* Negotiated values (valid in READY). */
uint16_t s7_session_pdu_size(const s7_session *s);
unsigned s7_session_jobs(const s7_session *s);

/* Bytes received from the socket. Returns PLCIO_OK, or the error that just
 * failed the session. */
int s7_session_feed(s7_session *s, const uint8_t *data, size_t len, uint64_t now);
/* Pending output: pointer and length (NULL/0 when nothing). Borrowed until
 * the next call on the session. */
const uint8_t *s7_session_tx(const s7_session *s, size_t *len);
void s7_session_tx_done(s7_session *s, size_t sent);
/* Earliest deadline of the connection phase or an in-flight job (0 = none). */
uint64_t s7_session_deadline(const s7_session *s);
/* Check deadlines; PLCIO_ETIMEDOUT when one passed (session FAILED). */
int s7_session_on_time(s7_session *s, uint64_t now);

/* Free job slots in READY (0 when the pipeline is full). */
unsigned s7_session_free_slots(const s7_session *s);
/* Reserve transmit space for one request frame: *out covers it (pdu_max =
 * negotiated size) and *ref is the PDU reference to encode. PLCIO_EBUSY when
 * no job slot is free, PLCIO_ESTATE when not READY. */
int s7_session_request_begin(s7_session *s, s7_out *out, uint16_t *ref);
/* The frame in *out was encoded with ref: queue it. *slot identifies the job. */
int s7_session_request_commit(s7_session *s, const s7_out *out, uint16_t ref, uint64_t now, int *slot);
bool s7_session_slot_done(const s7_session *s, int slot);
/* The answer S7 PDU of a done slot (borrowed until release). */
const uint8_t *s7_session_slot_pdu(const s7_session *s, int slot, size_t *len);
/* The same answer, decoded (s7_pdu_decode): borrowed until release, NULL
 * when the slot is not done. */
const s7_pdu *s7_session_slot_decoded(const s7_session *s, int slot);
/* Free the slot; a job still in flight is given up (its answer, when it
 * comes, fails the session as one nobody asked for). */
void s7_session_slot_release(s7_session *s, int slot);
/* Jobs the partner sends to us (during a download the PLC asks for the
 * block with its own download-block / download-ended jobs). Off by default:
 * an unexpected job fails the session. One is held at a time. */
void s7_session_accept_jobs(s7_session *s, bool on);
const uint8_t *s7_session_incoming(const s7_session *s, size_t *len);
void s7_session_incoming_release(s7_session *s);
/* Queue an answer frame (TPKT included) for the partner's job. */
int s7_session_send_frame(s7_session *s, const uint8_t *frame, size_t len);

/* Jobs sent and not yet answered. */
unsigned s7_session_in_flight(const s7_session *s);

#endif
