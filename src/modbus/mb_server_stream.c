/* One Modbus server link as a sans-I/O session (see mb_server_stream.h). */
#include "modbus/mb_server_stream.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void count(plcio_modbus_server *s, uint32_t *counter)
{
    pthread_mutex_lock(&s->lock);
    (*counter)++;
    pthread_mutex_unlock(&s->lock);
}

/* Answer one frame in the framing it came in. line: a serial line's FC 8
 * state, NULL for TCP/UDP. *n = 0: no answer is due. */
static int answer_frame(plcio_modbus_server *s, mb_line *line, mb_framing framing, const mb_frame *f, uint8_t *out,
                        size_t cap, size_t *n)
{
    uint8_t resp[PLCIO_MB_MAX_PDU];
    size_t rlen = 0;
    *n = 0;
    mb_server_count_bus_message(s);
    int rc = mb_server_process_line(s, line, f->unit, f->pdu, f->pdu_len, resp, sizeof resp, &rlen);
    if (rc != PLCIO_OK || rlen == 0) return rc;
    switch (framing) {
    case MB_FRAMING_MBAP: rc = mb_mbap_encode(f->tid, f->unit, resp, rlen, out, cap, n); break;
    case MB_FRAMING_RTU: rc = mb_rtu_encode(f->unit, resp, rlen, out, cap, n); break;
    default: rc = mb_ascii_encode(f->unit, resp, rlen, out, cap, n); break;
    }
    if (rc == PLCIO_OK) log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Tx", out, *n);
    return rc;
}

int mb_srv_answer_datagram(plcio_modbus_server *s, const uint8_t *in, size_t len, uint8_t *out, size_t cap, size_t *n)
{
    mb_frame f;
    size_t used = 0, need = 0;
    *n = 0;
    int rc = mb_mbap_decode(in, len, &f, &used, &need);
    if (rc != PLCIO_OK || used != len) { /* not exactly one frame: drop the datagram */
        log_hex(&s->logger, PLCIO_LOG_DEBUG, "modbus", "dropping bad datagram", in, len < 16 ? len : 16);
        return PLCIO_EPROTO;
    }
    log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", in, len);
    return answer_frame(s, NULL, MB_FRAMING_MBAP, &f, out, cap, n);
}

void mb_srv_stream_init(mb_srv_stream *st, plcio_modbus_server *s, mb_framing framing, bool serial, uint32_t t35_us,
                        uint64_t now)
{
    memset(st, 0, sizeof *st);
    st->s = s;
    st->framing = framing;
    st->serial = serial;
    st->t35_us = t35_us;
    st->reading = true;
    st->last_rx_ns = now;
    st->line.ascii_lf = '\n'; /* SL 2.5.2.1: CR LF ends an ASCII frame */
}

void mb_srv_stream_clear(mb_srv_stream *st)
{
    if (st->serial) mb_server_line_closed(st->s, &st->line);
    free(st->out);
    st->out = NULL;
    st->out_len = st->out_cap = 0;
}

const char *mb_srv_stream_why(const mb_srv_stream *st, int rc) { return st->why ? st->why : plcio_strerror(rc); }

static int out_append(mb_srv_stream *st, const uint8_t *p, size_t n)
{
    if (st->out_len + n > st->out_cap) {
        size_t cap = st->out_cap ? st->out_cap * 2 : 512; /* a few answers; grows under back-pressure */
        while (cap < st->out_len + n)
            cap *= 2;
        uint8_t *np = realloc(st->out, cap);
        if (!np) return PLCIO_ENOMEM;
        st->out = np;
        st->out_cap = cap;
    }
    memcpy(st->out + st->out_len, p, n);
    st->out_len += n;
    return PLCIO_OK;
}

const uint8_t *mb_srv_stream_tx(const mb_srv_stream *st, size_t *len)
{
    *len = st->out_len;
    return st->out_len ? st->out : NULL;
}

/* ===========================================================================
 * TCP (MBAP)
 * ========================================================================= */

/* Frame and answer everything complete in the input buffer. */
static int tcp_process_frames(mb_srv_stream *st, uint64_t now)
{
    size_t pos = 0;
    while (st->out_len < MB_SRV_STREAM_OUT_LIMIT) {
        mb_frame f;
        size_t used = 0, need = 0;
        int rc = mb_mbap_decode(st->in + pos, st->in_len - pos, &f, &used, &need);
        if (rc == PLCIO_EAGAIN) break;
        if (rc != PLCIO_OK) {
            log_hex(&st->s->logger, PLCIO_LOG_DEBUG, "modbus", "unframeable input", st->in + pos,
                    st->in_len - pos < 16 ? st->in_len - pos : 16);
            st->why = "malformed MBAP header";
            return rc;
        }
        log_hex(&st->s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", st->in + pos, used);
        uint8_t refuse = st->peer && f.pdu_len ? mb_server_authorize(st->s, st->peer, f.unit, f.pdu, f.pdu_len) : 0;
        if (refuse) { /* answered here: neither forwarded nor served */
            uint8_t pdu[2] = {(uint8_t)(f.pdu[0] | 0x80), refuse}, frame[16];
            size_t n = 0;
            rc = mb_mbap_encode(f.tid, f.unit, pdu, sizeof pdu, frame, sizeof frame, &n);
            if (rc == PLCIO_OK) rc = out_append(st, frame, n);
            if (rc != PLCIO_OK) return rc;
            pos += used;
            continue;
        }
        if (st->s->forward) {
            mb_fwd_origin o = {.slot = st->slot, .link_id = st->link_id, .tid = f.tid, .unit = f.unit};
            rc = st->s->forward(st->s->forward_ctx, &o, f.pdu, f.pdu_len);
            if (rc == PLCIO_EAGAIN) { /* not now: the frame waits in `in` */
                st->held = true;
                break;
            }
            if (rc == PLCIO_OK) {
                pos += used;
                continue;
            }
        }
        uint8_t frame[PLCIO_MB_TCP_MAX_ADU];
        size_t n;
        rc = answer_frame(st->s, NULL, st->framing, &f, frame, sizeof frame, &n);
        if (rc == PLCIO_OK && n) rc = out_append(st, frame, n);
        if (rc != PLCIO_OK) return rc;
        pos += used;
    }
    memmove(st->in, st->in + pos, st->in_len - pos);
    st->in_len -= pos;
    /* a half frame is timed from its first byte (frame_timeout_ms) */
    if (!st->in_len)
        st->partial_since = 0;
    else if (pos || !st->partial_since)
        st->partial_since = now;
    return PLCIO_OK;
}

static int tcp_process(mb_srv_stream *st, uint64_t now)
{
    if (st->held) return PLCIO_OK;
    st->in_process = true;
    int rc = tcp_process_frames(st, now);
    st->in_process = false;
    return rc;
}

/* Back-pressure: a client that floods requests without reading answers is
 * not read from until its answers are taken. */
static void tcp_update_reading(mb_srv_stream *st, uint64_t now)
{
    bool want_read = st->out_len < MB_SRV_STREAM_OUT_LIMIT;
    if (want_read && !st->reading && st->in_len) st->partial_since = now; /* not its fault */
    st->reading = want_read;
}

/* ===========================================================================
 * Serial lines
 * ========================================================================= */

static uint64_t serial_gap_ns(const mb_srv_stream *st)
{
    /* RTU: t3.5 of silence ends a frame. ASCII: a 1 s inter-character
     * timeout (SL 2.5.2.1 leaves it to the implementation). */
    return st->framing == MB_FRAMING_RTU ? (uint64_t)st->t35_us * 1000u : PLCIO_NS_PER_S;
}

static int serial_decode(mb_srv_stream *st, bool idle, mb_frame *f, size_t *used)
{
    size_t need;
    if (st->framing == MB_FRAMING_RTU) return mb_rtu_decode(st->in, st->in_len, true, idle, f, used, &need);
    return mb_ascii_decode(st->in, st->in_len, st->line.ascii_lf, st->scratch, sizeof st->scratch, f, used, &need);
}

static void serial_consume(mb_srv_stream *st, size_t n)
{
    if (n > st->in_len) n = st->in_len;
    memmove(st->in, st->in + n, st->in_len - n);
    st->in_len -= n;
}

/* Queue one whole answer frame, never part of one; a full queue (the peer
 * does not read) drops it and counts it instead of waiting. */
static void serial_send(mb_srv_stream *st, const uint8_t *frame, size_t n)
{
    if (st->out_len + n > st->s->limits.serial_output_bytes || out_append(st, frame, n) != PLCIO_OK)
        count(st->s, &st->s->stats.serial_answers_dropped);
}

static void serial_process(mb_srv_stream *st, bool idle)
{
    plcio_modbus_server *s = st->s;
    while (st->in_len) {
        mb_frame f;
        size_t used = 0;
        int rc = serial_decode(st, idle, &f, &used);
        if (rc == PLCIO_EAGAIN) {
            if (idle && st->framing == MB_FRAMING_RTU) st->in_len = 0; /* cannot happen: decode drops at idle */
            break;
        }
        if (rc == PLCIO_ECRC || rc == PLCIO_EPROTO) {
            /* SL 2.5.1.1/2.5.2.1: a bad frame is discarded, never answered. */
            log_hex(&s->logger, PLCIO_LOG_DEBUG, "modbus", rc == PLCIO_ECRC ? "bad CRC/LRC" : "bad frame", st->in,
                    used ? used : st->in_len);
            if (rc == PLCIO_ECRC || st->framing == MB_FRAMING_RTU) mb_server_count_comm_error(s, &st->line);
            serial_consume(st, used ? used : st->in_len);
            continue;
        }
        log_hex(&s->logger, PLCIO_LOG_TRACE, "modbus", "Rx", st->in, used);
        uint8_t frame[PLCIO_MB_ASCII_MAX_ADU + 8];
        size_t n = 0;
        rc = answer_frame(s, &st->line, st->framing, &f, frame, sizeof frame, &n);
        serial_consume(st, used);
        if (rc == PLCIO_OK && n) serial_send(st, frame, n);
    }
}

static void serial_feed(mb_srv_stream *st, const uint8_t *data, size_t got, uint64_t now)
{
    /* RTU: bytes after a silence longer than t3.5 start a new frame. */
    if (st->framing == MB_FRAMING_RTU && st->in_len && now - st->last_rx_ns > (uint64_t)st->t35_us * 1000u) {
        serial_process(st, true);
        st->in_len = 0;
    }
    if (st->in_len + got > MB_SRV_STREAM_IN_CAP) { /* more than any frame can be: overrun */
        mb_server_count_overrun(st->s);
        st->in_len = 0;
        if (got > MB_SRV_STREAM_IN_CAP) got = 0;
    }
    if (got) memcpy(st->in + st->in_len, data, got);
    st->in_len += got;
    st->last_rx_ns = now;
    serial_process(st, false);
}

/* ===========================================================================
 * Common
 * ========================================================================= */

size_t mb_srv_stream_room(const mb_srv_stream *st)
{
    if (st->serial) return MB_SRV_STREAM_IN_CAP;
    return st->out_len < MB_SRV_STREAM_OUT_LIMIT && !st->held ? MB_SRV_STREAM_IN_CAP - st->in_len : 0;
}

int mb_srv_stream_reply(mb_srv_stream *st, const uint8_t *frame, size_t n)
{
    log_hex(&st->s->logger, PLCIO_LOG_TRACE, "modbus", "Tx", frame, n);
    return out_append(st, frame, n);
}

int mb_srv_stream_resume(mb_srv_stream *st, uint64_t now)
{
    if (!st->held) return PLCIO_OK;
    st->held = false;
    if (st->in_len) st->partial_since = now; /* the wait was ours, not the client's */
    int rc = tcp_process(st, now);
    if (!rc) tcp_update_reading(st, now);
    return rc;
}

int mb_srv_stream_feed(mb_srv_stream *st, const uint8_t *data, size_t len, uint64_t now, size_t *used)
{
    if (used) *used = 0;
    if (st->serial) {
        serial_feed(st, data, len, now);
        if (used) *used = len;
        return PLCIO_OK;
    }
    size_t taken = 0;
    int rc = PLCIO_OK;
    while (taken < len) {
        size_t n = mb_srv_stream_room(st);
        if (!n) break;
        if (n > len - taken) n = len - taken;
        memcpy(st->in + st->in_len, data + taken, n);
        st->in_len += n;
        taken += n;
        st->last_rx_ns = now;
        rc = tcp_process(st, now);
        if (rc) break;
    }
    if (used) *used = taken;
    if (!rc) tcp_update_reading(st, now);
    return rc;
}

int mb_srv_stream_tx_done(mb_srv_stream *st, size_t sent, uint64_t now)
{
    if (sent > st->out_len) sent = st->out_len;
    if (sent) {
        memmove(st->out, st->out + sent, st->out_len - sent);
        st->out_len -= sent;
    }
    if (st->serial) return PLCIO_OK;
    bool was_reading = st->reading;
    tcp_update_reading(st, now);
    /* resume what back-pressure held back */
    if (!was_reading && st->reading && st->in_len) {
        int rc = tcp_process(st, now);
        if (rc) return rc;
        tcp_update_reading(st, now);
    }
    return PLCIO_OK;
}

void mb_srv_stream_tx_failed(mb_srv_stream *st)
{
    if (st->out_len) count(st->s, &st->s->stats.serial_answers_dropped);
    st->out_len = 0;
}

uint64_t mb_srv_stream_deadline(const mb_srv_stream *st)
{
    if (st->serial) return st->in_len ? st->last_rx_ns + serial_gap_ns(st) : 0;
    uint64_t idle_ns = (uint64_t)st->s->limits.idle_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t frame_ns = (uint64_t)st->s->limits.frame_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t d = idle_ns ? st->last_rx_ns + idle_ns + 1 : 0;
    if (frame_ns && st->reading && !st->held && st->partial_since) {
        uint64_t f = st->partial_since + frame_ns + 1;
        if (!d || f < d) d = f;
    }
    return d;
}

int mb_srv_stream_on_time(mb_srv_stream *st, uint64_t now)
{
    if (st->serial) {
        if (!st->in_len || now < st->last_rx_ns + serial_gap_ns(st)) return PLCIO_OK;
        if (st->framing == MB_FRAMING_RTU) serial_process(st, true); /* ASCII: a frame that never ended */
        st->in_len = 0;
        return PLCIO_OK;
    }
    uint64_t idle_ns = (uint64_t)st->s->limits.idle_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t frame_ns = (uint64_t)st->s->limits.frame_timeout_ms * PLCIO_NS_PER_MS;
    bool idle = idle_ns && now - st->last_rx_ns > idle_ns;
    bool stalled = frame_ns && st->reading && !st->held && st->partial_since && now - st->partial_since > frame_ns;
    if (!idle && !stalled) return PLCIO_OK;
    st->why = idle ? "idle timeout" : "half frame timed out";
    return PLCIO_ETIMEDOUT;
}
