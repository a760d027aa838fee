/* One Modbus server link as a sans-I/O session: a TCP connection (MBAP) or
 * a serial line (RTU with t3.5 silence, or ASCII), fed bytes and time,
 * handing back bytes to send and its next deadline. No I/O; mb_server_io.c
 * drives one per socket or line, tests and fuzz harnesses drive it directly:
 *
 *   mb_srv_stream_init(st, server, framing, serial, t35_us, now)
 *   loop:
 *     n = mb_srv_stream_room(st)                 bytes it takes now (TCP: 0 while
 *                                                the client does not read answers)
 *     rc = mb_srv_stream_feed(st, bytes, n, now, &used)
 *     data = mb_srv_stream_tx(st, &len)          send, then
 *     rc = mb_srv_stream_tx_done(st, sent, now)  (may serve input held back)
 *     rc = mb_srv_stream_on_time(st, now)        at mb_srv_stream_deadline()
 *   mb_srv_stream_clear(st)
 *
 * TCP: a non-zero rc means close the connection; mb_srv_stream_why() says
 * why in words. PLCIO_EPROTO: unframeable MBAP; PLCIO_ETIMEDOUT: silent for
 * idle_timeout_ms or stuck in a half frame for frame_timeout_ms. Answers a
 * client does not take are kept: past MB_SRV_STREAM_OUT_LIMIT bytes the
 * stream takes no input (room 0) until they are sent.
 * Serial: never fails; a bad frame is dropped and counted (SL 2.5.1.1), a
 * full output queue (limits.serial_output_bytes) drops the answer (counted).
 * A single-datagram (UDP) answer needs no state: mb_srv_answer_datagram. */
#ifndef PLCIO_SRC_MODBUS_MB_SERVER_STREAM_H
#define PLCIO_SRC_MODBUS_MB_SERVER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modbus/mb_server.h"

#define MB_SRV_STREAM_IN_CAP    4096
#define MB_SRV_STREAM_OUT_LIMIT ((size_t)64 * 1024) /* stop reading a client that does not read its answers */

typedef struct mb_srv_stream {
    plcio_modbus_server *s;
    mb_framing framing;
    bool serial;
    uint8_t in[MB_SRV_STREAM_IN_CAP];
    size_t in_len;
    uint64_t last_rx_ns;    /* last byte received (TCP: or the accept) */
    uint64_t partial_since; /* TCP: when the unfinished frame in `in` started; 0 = none */
    uint8_t *out;           /* what the socket or line did not take yet */
    size_t out_len, out_cap;
    bool reading;    /* TCP: input taken (not held back by unsent answers) */
    const char *why; /* TCP: why the connection must close */
    mb_line line;    /* serial: FC 8 state of this line */
    uint32_t t35_us; /* serial RTU: silence that ends a frame */
    uint8_t scratch[PLCIO_MB_RTU_MAX_ADU];
    /* TCP with forwarding (mb_server.h: s->forward) */
    size_t slot;                   /* the link's, for mb_fwd_origin */
    uint64_t link_id;              /* the link's, for mb_fwd_origin */
    bool held;                     /* forward() said not now: take no input until resumed */
    bool in_process;               /* inside tcp_process: answers are queued, not flushed */
    const plcio_modbus_peer *peer; /* TCP: who is on the other end (authorization); NULL: not asked */
} mb_srv_stream;

void mb_srv_stream_init(mb_srv_stream *st, plcio_modbus_server *s, mb_framing framing, bool serial, uint32_t t35_us,
                        uint64_t now);
/* Free the output queue; a serial line's listen-only state is forgotten. */
void mb_srv_stream_clear(mb_srv_stream *st);
/* Bytes the stream takes now (TCP: 0 while answers are held back). */
size_t mb_srv_stream_room(const mb_srv_stream *st);
/* Bytes from the peer: TCP takes up to room (*used, may be NULL); a serial
 * line takes them all as one arrival. */
int mb_srv_stream_feed(mb_srv_stream *st, const uint8_t *data, size_t len, uint64_t now, size_t *used);
const uint8_t *mb_srv_stream_tx(const mb_srv_stream *st, size_t *len);
/* sent bytes left; TCP: input held back is served once answers drain. */
int mb_srv_stream_tx_done(mb_srv_stream *st, size_t sent, uint64_t now);
/* TCP: queue an answer frame that was produced later (a forwarded request). */
int mb_srv_stream_reply(mb_srv_stream *st, const uint8_t *frame, size_t n);
/* TCP: forward() takes requests again: serve the input held back. */
int mb_srv_stream_resume(mb_srv_stream *st, uint64_t now);
/* Serial: the line failed a write (a pty without its other end): the queue
 * is lost (counted as dropped answers). */
void mb_srv_stream_tx_failed(mb_srv_stream *st);
uint64_t mb_srv_stream_deadline(const mb_srv_stream *st);
int mb_srv_stream_on_time(mb_srv_stream *st, uint64_t now);
const char *mb_srv_stream_why(const mb_srv_stream *st, int rc);

/* UDP: answer one datagram that must hold exactly one MBAP frame. PLCIO_OK
 * with *n = 0: no answer; PLCIO_EPROTO: not one frame (drop it). */
int mb_srv_answer_datagram(plcio_modbus_server *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *n);

#endif
