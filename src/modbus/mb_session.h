/* Modbus client session: a state machine fed bytes and time, for event
 * loops (the sync engine) that drive many devices from one thread. It does
 * no I/O: it hands out frames to send, takes the bytes that arrived, and
 * reports each request's outcome through a callback.
 *
 *   s = mb_session_new(MB_FRAMING_MBAP, 16);
 *   mb_session_submit(s, unit, &req, now + timeout, &token);
 *   while ((tx = mb_session_next_tx(s, &n))) send(fd, tx, n);   // then mb_session_sent(s)
 *   ... on readable: mb_session_feed(s, buf, got, now, on_answer, ctx);
 *   ... on timer:    mb_session_on_timeout(s, now, on_answer, ctx);
 *   arm a timer at mb_session_next_deadline(s)
 *
 * Answers are matched by transaction id (MBAP), unit and function code; a
 * stray answer is dropped. MBAP allows up to `window` requests in flight;
 * RTU and ASCII one at a time (the others wait in the queue). Nothing here
 * allocates after mb_session_new. Internal to libplcio. */
#ifndef PLCIO_SRC_MODBUS_MB_SESSION_H
#define PLCIO_SRC_MODBUS_MB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_link.h"

#define MB_SESSION_MAX_WINDOW 64
#define MB_SESSION_QUEUE      128

typedef struct mb_session mb_session;

/* result: PLCIO_OK (resp is the answer), PLCIO_EMBEXC (resp->exception set),
 * PLCIO_ETIMEDOUT, PLCIO_EPROTO (answer does not fit the request),
 * PLCIO_ECRC, or the error given to mb_session_reset (resp NULL then).
 * resp and its data are valid during the call only. */
typedef void (*mb_session_answer_fn)(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw,
                                     size_t raw_len);
/* raw/raw_len: the answer PDU as received (NULL/0 when there is none). */

/* Request flags for mb_session_submit_pdu. */
#define MB_REQ_RAW       1u /* answer matched by unit/function/tid only, not decoded (resp NULL) */
#define MB_REQ_NO_ANSWER 2u /* broadcast, FC 8/04: done with PLCIO_OK once sent */

/* NULL on out of memory. window: 1..64 (MBAP), ignored for RTU/ASCII. */
mb_session *mb_session_new(mb_framing framing, unsigned window);
void mb_session_free(mb_session *s);

/* Requests in flight at once (MBAP; RTU and ASCII stay at 1). */
void mb_session_set_window(mb_session *s, unsigned window);
/* UDP: every feed is one datagram; what it holds beyond whole frames is
 * dropped, and a bad datagram does not end the session. */
void mb_session_set_datagram(mb_session *s, bool datagram);

/* RTU: quiet time that ends a frame whose length the content does not
 * tell (default 20 ms; on a serial line use t3.5, mb_rtu_timing). */
void mb_session_set_silence(mb_session *s, uint64_t ns);

/* Encode and queue a request; the deadline counts from now. PLCIO_ERANGE
 * (quantities), PLCIO_EUNSUPPORTED, PLCIO_ELIMIT (queue full), PLCIO_ENOMEM. */
int mb_session_submit(mb_session *s, uint8_t unit, const mb_pdu *req, uint64_t deadline_ns, uint32_t *token);
/* Queue an encoded PDU (function code first, 1..253 bytes). */
int mb_session_submit_pdu(mb_session *s, uint8_t unit, const uint8_t *pdu, size_t len, unsigned flags,
                          uint64_t deadline_ns, uint32_t *token);
/* Frames to send now, concatenated (borrowed until the next call); NULL when
 * nothing is ready. Call mb_session_sent once they are written. */
const uint8_t *mb_session_next_tx(mb_session *s, size_t *len);
void mb_session_sent(mb_session *s, uint64_t now, mb_session_answer_fn cb, void *ctx);
/* Bytes from the peer (not from inside a callback). PLCIO_EPROTO: an MBAP stream cannot be framed any
 * more; close the connection and call mb_session_reset. */
int mb_session_feed(mb_session *s, const uint8_t *data, size_t len, uint64_t now, mb_session_answer_fn cb, void *ctx);
/* Expire requests whose deadline passed; end RTU frames at silence.
 * PLCIO_EPROTO when a request expired while an MBAP stream holds part of a
 * frame (its length field may be damaged): close the connection and call
 * mb_session_reset, as after a failed feed. PLCIO_OK otherwise. */
int mb_session_on_timeout(mb_session *s, uint64_t now, mb_session_answer_fn cb, void *ctx);
/* Earliest deadline in flight (0: none). */
uint64_t mb_session_next_deadline(const mb_session *s);
/* The connection is gone: every queued and in-flight request completes with err. */
void mb_session_reset(mb_session *s, int err, mb_session_answer_fn cb, void *ctx);
/* Requests queued or in flight. */
size_t mb_session_pending(const mb_session *s);

#endif
