/* S7 server connection as a sans-I/O session: one client's byte stream
 * (TPKT -> COTP -> S7 PDU -> s7srv_handle_pdu), fed bytes and time, handing
 * back bytes to send and its next deadline. It does no I/O and takes no
 * locks of its own; s7_server_conn.c drives one per socket, and tests and
 * fuzz harnesses drive it directly:
 *
 *   s7srv_stream_init(st, srv, client, now)
 *   loop:
 *     rc = s7srv_stream_feed(st, bytes, n, now)    bytes from the client
 *     data = s7srv_stream_tx(st, &len)             send, then
 *     s7srv_stream_tx_done(st, sent)
 *     rc = s7srv_stream_on_time(st, now)           at s7srv_stream_deadline()
 *   s7srv_stream_clear(st)
 *
 * A non-zero rc means: close the connection. PLCIO_ECLOSED is the client's
 * orderly COTP disconnect; another error a malformed frame,
 * PLCIO_ELIMIT a frame larger than the input buffer or answers the client
 * does not take (srv->cfg.max_output_bytes), PLCIO_ETIMEDOUT a half frame
 * older than frame_timeout_ms or no byte for idle_timeout_ms. */
#ifndef PLCIO_SRC_S7_SERVER_STREAM_H
#define PLCIO_SRC_S7_SERVER_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s7/s7_server_priv.h"

/* Largest TPKT frame accepted: a whole PDU of the largest size plus headers,
 * with room for long TSAPs in a CR. */
#define S7SRV_STREAM_IN_CAP 2048
/* Largest S7 PDU reassembled from COTP DT fragments before giving up. */
#define S7SRV_STREAM_PDU_CAP 2048

typedef struct s7srv_stream {
    plcio_s7_server *srv;
    bool cotp_open; /* CR received, CC sent */
    uint16_t src_ref;
    uint16_t tpdu_size; /* negotiated in CR/CC: longest TPDU either side sends */
    s7srv_session ses;
    uint8_t in[S7SRV_STREAM_IN_CAP];
    size_t in_len;
    uint8_t pdu[S7SRV_STREAM_PDU_CAP];
    size_t pdu_len;
    bool pdu_partial;         /* DT fragments without EOT received */
    uint64_t partial_since;   /* ns when the unfinished frame/PDU started; 0 = none */
    _Atomic uint64_t last_rx; /* ns of the last byte received (or of init); read by other threads */
    uint8_t *out;
    size_t out_len, out_off, out_cap;
    void *handoff; /* the connection belongs to another protocol (options.handoff) */
    /* A deferred write job (ses.wait_job) holds the input: bytes that come
     * meanwhile wait here (bounded) and are served after the answer. */
    uint64_t wait_since; /* ns when the job was handed over */
    uint8_t *hold;
    size_t hold_len, hold_cap;
    bool feeding; /* inside s7srv_stream_feed (a reply then needs no resume) */
    int broken;   /* a reply from inside feed could not be queued: feed returns it */
} s7srv_stream;

/* Most bytes a connection may send while its write job waits. */
#define S7SRV_STREAM_HOLD_CAP ((size_t)64 * 1024)

/* Start a connection of client id `client` at time now (no allocation). */
void s7srv_stream_init(s7srv_stream *st, plcio_s7_server *srv, unsigned client, uint64_t now);
/* Free what the session holds (output buffer, upload in progress). */
void s7srv_stream_clear(s7srv_stream *st);
/* Bytes from the client (any split). PLCIO_OK, or why to close. */
int s7srv_stream_feed(s7srv_stream *st, const uint8_t *data, size_t len, uint64_t now);
/* Pending output (NULL/0 when none); borrowed until the next call. */
const uint8_t *s7srv_stream_tx(const s7srv_stream *st, size_t *len);
void s7srv_stream_tx_done(s7srv_stream *st, size_t sent);
/* The handed-off protocol's tick (plcio_s7_server_handoff.tick) and its output queued. */
int s7srv_stream_handoff_tick(s7srv_stream *st, uint64_t now);
/* When on_time has something to check (0 = no deadline: timeouts off). */
uint64_t s7srv_stream_deadline(const s7srv_stream *st);
/* PLCIO_ETIMEDOUT when a half frame stalled or the client went silent. A
 * deferred write job older than write_timeout_ms is answered (hardware
 * fault) here, and the input held behind it served. */
int s7srv_stream_on_time(s7srv_stream *st, uint64_t now);
/* The application's answer to the write job the stream waits for: queue it
 * and serve the input held behind it (unless inside s7srv_stream_feed, which
 * goes on by itself). PLCIO_ENOTFOUND: the stream waits for no such job;
 * PLCIO_EINVAL: wrong count; another error: close the connection. */
int s7srv_stream_write_reply(s7srv_stream *st, uint64_t job, const uint8_t *codes, size_t count, uint64_t now);
/* The same for a deferred read job (plcio_s7_server_read_reply);
 * PLCIO_EINVAL also when the job waiting is a write. */
int s7srv_stream_read_reply(s7srv_stream *st, uint64_t job, const plcio_s7_server_read_answer *answers, size_t count,
                            uint64_t now);
/* ns of the last byte received (eviction picks the oldest). */
uint64_t s7srv_stream_last_rx(const s7srv_stream *st);

#endif
