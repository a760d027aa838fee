/* S7 session: the connection state machine of an S7 client, fed with bytes
 * and time, handing back bytes to send and a deadline. No I/O: the blocking
 * client (s7_client.c) and any event loop drive it the same way:
 *
 *   plcio_s7_session_start(s, now)          queue CR (then setup follows by itself)
 *   loop:
 *     data = plcio_s7_session_tx(s, &len)   send what is pending, then
 *     plcio_s7_session_tx_done(s, sent)
 *     plcio_s7_session_feed(s, bytes, n, now)   when the socket is readable
 *     plcio_s7_session_on_time(s, now)      when plcio_s7_session_deadline() passed
 *   requests: plcio_s7_session_request_begin() gives a plcio_s7_out inside the
 *   transmit buffer and a PDU reference; encode into it with the codec, then
 *   plcio_s7_session_request_commit(). When plcio_s7_session_slot_done(),
 *   the answer PDU is in plcio_s7_session_slot_pdu() until _slot_release().
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

typedef enum plcio_s7_session_state {
    PLCIO_S7_SESSION_IDLE,
    PLCIO_S7_SESSION_COTP,  /* CR sent, waiting for CC */
    PLCIO_S7_SESSION_SETUP, /* setup communication sent */
    PLCIO_S7_SESSION_READY,
    PLCIO_S7_SESSION_FAILED
} plcio_s7_session_state;

typedef struct plcio_s7_session_cfg {
    uint8_t local_tsap[PLCIO_COTP_TSAP_MAX];
    uint8_t local_tsap_len;
    uint8_t remote_tsap[PLCIO_COTP_TSAP_MAX];
    uint8_t remote_tsap_len;
    uint16_t pdu_request;  /* PDU size asked for (240..960 usually) */
    uint16_t jobs_request; /* parallel jobs asked for (1..16) */
    uint64_t connect_timeout_ns;
    uint64_t request_timeout_ns;
    plcio_logger logger;
} plcio_s7_session_cfg;

typedef struct plcio_s7_session plcio_s7_session;

/* Returns NULL on allocation failure. Free with plcio_s7_session_free. */
plcio_s7_session *plcio_s7_session_new(const plcio_s7_session_cfg *cfg);
void plcio_s7_session_free(plcio_s7_session *s);

/* Forget everything (jobs, buffers) and queue the COTP connection request. */
void plcio_s7_session_start(plcio_s7_session *s, uint64_t now);
plcio_s7_session_state plcio_s7_session_state_get(const plcio_s7_session *s);
/* The error that failed the session (PLCIO_OK while not failed). */
int plcio_s7_session_error(const plcio_s7_session *s);
/* Move to FAILED with err (socket closed, send error). */
void plcio_s7_session_fail(plcio_s7_session *s, int err);
/* Negotiated values (valid in READY). */
uint16_t plcio_s7_session_pdu_size(const plcio_s7_session *s);
unsigned plcio_s7_session_jobs(const plcio_s7_session *s);

/* Bytes received from the socket. Returns PLCIO_OK, or the error that just
 * failed the session. */
int plcio_s7_session_feed(plcio_s7_session *s, const uint8_t *data, size_t len, uint64_t now);
/* Pending output: pointer and length (NULL/0 when nothing). Borrowed until
 * the next call on the session. */
const uint8_t *plcio_s7_session_tx(const plcio_s7_session *s, size_t *len);
void plcio_s7_session_tx_done(plcio_s7_session *s, size_t sent);
/* Earliest deadline of the connection phase or an in-flight job (0 = none). */
uint64_t plcio_s7_session_deadline(const plcio_s7_session *s);
/* Check deadlines; PLCIO_ETIMEDOUT when one passed (session FAILED). */
int plcio_s7_session_on_time(plcio_s7_session *s, uint64_t now);

/* Free job slots in READY (0 when the pipeline is full). */
unsigned plcio_s7_session_free_slots(const plcio_s7_session *s);
/* Reserve transmit space for one request frame: *out covers it (pdu_max =
 * negotiated size) and *ref is the PDU reference to encode. PLCIO_EBUSY when
 * no job slot is free, PLCIO_ESTATE when not READY. */
int plcio_s7_session_request_begin(plcio_s7_session *s, plcio_s7_out *out, uint16_t *ref);
/* The frame in *out was encoded with ref: queue it. *slot identifies the job. */
int plcio_s7_session_request_commit(plcio_s7_session *s, const plcio_s7_out *out, uint16_t ref, uint64_t now,
                                    int *slot);
bool plcio_s7_session_slot_done(const plcio_s7_session *s, int slot);
/* The answer S7 PDU of a done slot (borrowed until release). */
const uint8_t *plcio_s7_session_slot_pdu(const plcio_s7_session *s, int slot, size_t *len);
void plcio_s7_session_slot_release(plcio_s7_session *s, int slot);
/* Jobs the partner sends to us (during a download the PLC asks for the
 * block with its own download-block / download-ended jobs). Off by default:
 * an unexpected job fails the session. One is held at a time. */
void plcio_s7_session_accept_jobs(plcio_s7_session *s, bool on);
const uint8_t *plcio_s7_session_incoming(const plcio_s7_session *s, size_t *len);
void plcio_s7_session_incoming_release(plcio_s7_session *s);
/* Queue an answer frame (TPKT included) for the partner's job. */
int plcio_s7_session_send_frame(plcio_s7_session *s, const uint8_t *frame, size_t len);

/* Jobs sent and not yet answered. */
unsigned plcio_s7_session_in_flight(const plcio_s7_session *s);

#endif
