/* S7 server connection as a sans-I/O session (see s7_server_stream.h).
 *
 * TPKT frames are cut out of the input (tpkt_decode), COTP TPDUs decoded
 * (CR -> CC, DT -> reassembled S7 PDU -> s7srv_handle_pdu, DR -> close),
 * answers queued in a bounded output buffer. A slow or hostile client only
 * ever hurts itself:
 *   - a frame larger than the input buffer, bad TPKT, bad COTP: close;
 *   - a frame or COTP sequence that stalls longer than frame_timeout_ms: close;
 *   - a client that sends requests but does not read the answers: once its
 *     unsent answers exceed max_output_bytes it is closed;
 *   - a connection that sends nothing for idle_timeout_ms: close. */
#include "s7/s7_server_stream.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

#define LOG_MODULE "s7srv"
#define FRAME_CAP  (S7SRV_PDU_MAX + 64)

void s7srv_stream_init(s7srv_stream *st, plcio_s7_server *srv, unsigned client, uint64_t now)
{
    memset(st, 0, sizeof *st);
    st->srv = srv;
    st->ses.client = client;
    st->src_ref = (uint16_t)(client | 1u);
    atomic_init(&st->last_rx, now);
}

void s7srv_stream_clear(s7srv_stream *st)
{
    s7srv_session_clear(&st->ses);
    if (st->handoff) st->srv->cfg.handoff.close(st->handoff);
    st->handoff = NULL;
    free(st->out);
    st->out = NULL;
    st->out_len = st->out_off = st->out_cap = 0;
    free(st->hold);
    st->hold = NULL;
    st->hold_len = st->hold_cap = 0;
}

uint64_t s7srv_stream_last_rx(const s7srv_stream *st)
{
    return atomic_load_explicit(&((s7srv_stream *)st)->last_rx, memory_order_relaxed);
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

static size_t pending(const s7srv_stream *st) { return st->out_len - st->out_off; }

const uint8_t *s7srv_stream_tx(const s7srv_stream *st, size_t *len)
{
    *len = pending(st);
    return *len ? st->out + st->out_off : NULL;
}

void s7srv_stream_tx_done(s7srv_stream *st, size_t sent)
{
    if (sent > pending(st)) sent = pending(st);
    st->out_off += sent;
    if (!pending(st)) st->out_len = st->out_off = 0;
}

/* Queue a frame; PLCIO_ELIMIT if the client does not read its answers. */
static int queue(s7srv_stream *st, const uint8_t *frame, size_t len)
{
    log_hex(&st->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Tx", frame, len);
    if (pending(st) + len > st->srv->cfg.max_output_bytes) return PLCIO_ELIMIT;
    if (st->out_off && st->out_len + len > st->out_cap) {
        memmove(st->out, st->out + st->out_off, pending(st));
        st->out_len -= st->out_off;
        st->out_off = 0;
    }
    if (st->out_len + len > st->out_cap) {
        size_t cap = st->out_cap ? st->out_cap : 1024; /* a CC or an answer or two; grows on demand */
        while (cap < st->out_len + len)
            cap *= 2;
        uint8_t *p = realloc(st->out, cap);
        if (!p) return PLCIO_ENOMEM;
        st->out = p;
        st->out_cap = cap;
    }
    memcpy(st->out + st->out_len, frame, len);
    st->out_len += len;
    return PLCIO_OK;
}

/* ---------------------------------------------------------------------------
 * Input: TPKT -> COTP -> S7
 * ------------------------------------------------------------------------- */

static int on_cr(s7srv_stream *st, const cotp_tpdu *t)
{
    if (st->cotp_open) return PLCIO_EPROTO;
    cotp_conn cc = t->conn;
    cc.dst_ref = t->conn.src_ref;
    cc.src_ref = st->src_ref;
    cc.class_option = 0;
    /* TPDU size (RFC 905 13.3.4 b): the responder may lower the proposal. 1024
     * carries a whole 960-byte PDU in one TPDU; smaller proposals are kept and
     * answers are then split over several DT TPDUs. Absent = 128. */
    if (!cc.tpdu_size) cc.tpdu_size = 128;
    if (cc.tpdu_size > 1024) cc.tpdu_size = 1024;
    st->tpdu_size = cc.tpdu_size;
    uint8_t frame[128];
    size_t len = 0;
    int rc = cotp_cc_frame(frame, sizeof frame, &cc, &len);
    if (rc) return rc;
    st->cotp_open = true;
    return queue(st, frame, len);
}

/* Queue an answer frame (TPKT + DT EOT + S7 PDU), split over several DT
 * TPDUs when it is longer than the negotiated TPDU size. */
static int queue_answer(s7srv_stream *st, const uint8_t *frame, size_t len)
{
    size_t tpdu_data = (size_t)st->tpdu_size - PLCIO_COTP_DT_HEADER_LEN;
    if (len - PLCIO_TPKT_HEADER_LEN <= st->tpdu_size) return queue(st, frame, len);
    const uint8_t *pdu = frame + PLCIO_S7_FRAME_OVERHEAD;
    size_t left = len - PLCIO_S7_FRAME_OVERHEAD;
    uint8_t part[PLCIO_S7_FRAME_OVERHEAD + 1024];
    while (left) {
        size_t n = left < tpdu_data ? left : tpdu_data;
        bool last = n == left;
        plcio_wcursor w = plcio_wcursor_make(part + PLCIO_TPKT_HEADER_LEN, sizeof part - PLCIO_TPKT_HEADER_LEN);
        if (tpkt_header_put(part, PLCIO_S7_FRAME_OVERHEAD + n) || cotp_dt_encode(&w, last)) return PLCIO_EINTERNAL;
        memcpy(part + PLCIO_S7_FRAME_OVERHEAD, pdu, n);
        int rc = queue(st, part, PLCIO_S7_FRAME_OVERHEAD + n);
        if (rc) return rc;
        pdu += n;
        left -= n;
    }
    return PLCIO_OK;
}

static int on_s7_pdu(s7srv_stream *st, const uint8_t *pdu, size_t len)
{
    uint8_t frame[FRAME_CAP];
    int rc = s7srv_handle_pdu(st->srv, &st->ses, pdu, len, frame, sizeof frame);
    if (rc < 0) return rc;
    if (rc > 0) rc = queue_answer(st, frame, (size_t)rc);
    if (!rc && st->ses.push_len) { /* the server's own job (download) follows its answer */
        rc = queue_answer(st, st->ses.push, st->ses.push_len);
        st->ses.push_len = 0;
    }
    return rc;
}

static int on_dt(s7srv_stream *st, const cotp_tpdu *t)
{
    if (!st->cotp_open) return PLCIO_EPROTO;
    if (!st->pdu_partial && t->eot) return on_s7_pdu(st, t->data, t->data_len); /* the usual case: one TPDU */
    if (st->pdu_len + t->data_len > S7SRV_STREAM_PDU_CAP) return PLCIO_ELIMIT;
    if (t->data_len) memcpy(st->pdu + st->pdu_len, t->data, t->data_len); /* an empty DT has data NULL */
    st->pdu_len += t->data_len;
    st->pdu_partial = !t->eot;
    if (!t->eot) return PLCIO_OK;
    size_t len = st->pdu_len;
    st->pdu_len = 0;
    return on_s7_pdu(st, st->pdu, len);
}

/* Bytes for the handed-off protocol; what it answers is queued (bounded by
 * max_output_bytes like S7 answers) and leaves through s7srv_stream_tx. */
static int handoff_feed(s7srv_stream *st, const uint8_t *data, size_t len)
{
    const plcio_s7_server_handoff *h = &st->srv->cfg.handoff;
    int rc = h->feed(st->handoff, data, len);
    size_t n = 0;
    const uint8_t *out;
    while (rc >= 0 && (out = h->output(st->handoff, &n)) != NULL && n) {
        rc = queue(st, out, n);
        if (rc) return rc;
        h->output_done(st->handoff, n);
    }
    return rc < 0 ? rc : PLCIO_OK;
}

int s7srv_stream_handoff_tick(s7srv_stream *st, uint64_t now)
{
    const plcio_s7_server_handoff *h = &st->srv->cfg.handoff;
    if (!st->handoff || !h->tick || pending(st) > st->srv->cfg.max_output_bytes / 2) return PLCIO_OK;
    int rc = h->tick(st->handoff, now);
    size_t n = 0;
    const uint8_t *out;
    while (rc >= 0 && (out = h->output(st->handoff, &n)) != NULL && n) {
        rc = queue(st, out, n);
        if (rc) return rc;
        h->output_done(st->handoff, n);
    }
    return rc < 0 ? rc : PLCIO_OK;
}

/* A CR another protocol takes (plcio_s7_server_handoff, by called TSAP):
 * 1 taken, 0 not, < 0 error. */
static int offer_handoff(s7srv_stream *st, const cotp_tpdu *t, const uint8_t *frame, size_t len)
{
    const plcio_s7_server_handoff *h = &st->srv->cfg.handoff;
    if (!h->accept || st->cotp_open) return 0;
    st->handoff = h->accept(h->ctx, t->conn.dst_tsap, t->conn.dst_tsap_len, st->ses.client);
    if (!st->handoff) return 0;
    int rc = handoff_feed(st, frame, len);
    return rc ? rc : 1;
}

static int on_frame(s7srv_stream *st, const uint8_t *frame, size_t len)
{
    log_hex(&st->srv->cfg.logger, PLCIO_LOG_TRACE, LOG_MODULE, "Rx", frame, len);
    cotp_tpdu t;
    int rc = cotp_decode(frame + PLCIO_TPKT_HEADER_LEN, len - PLCIO_TPKT_HEADER_LEN, &t);
    if (rc) return rc;
    switch (t.code) {
    case PLCIO_COTP_CR: rc = offer_handoff(st, &t, frame, len); return rc == 0 ? on_cr(st, &t) : rc < 0 ? rc : PLCIO_OK;
    case PLCIO_COTP_DT: return on_dt(st, &t);
    case PLCIO_COTP_DR: return PLCIO_ECLOSED; /* orderly disconnect */
    default: return PLCIO_EPROTO;
    }
}

/* Cut whole frames out of the input buffer and serve them. */
static int process_input(s7srv_stream *st, uint64_t now)
{
    size_t off = 0;
    int rc = PLCIO_OK;
    while (off < st->in_len && !st->ses.wait_job) { /* a deferred write holds what follows it */
        if (st->handoff) {                          /* everything after the CR belongs to the other protocol */
            rc = handoff_feed(st, st->in + off, st->in_len - off);
            off = st->in_len;
            break;
        }
        size_t frame_len = 0;
        rc = tpkt_decode(st->in + off, st->in_len - off, &frame_len);
        if (rc == PLCIO_EAGAIN) {
            rc = frame_len > S7SRV_STREAM_IN_CAP ? PLCIO_ELIMIT : PLCIO_OK;
            break;
        }
        if (rc) break;
        rc = on_frame(st, st->in + off, frame_len);
        off += frame_len;
        if (st->ses.wait_job && !st->wait_since) st->wait_since = now ? now : 1;
        if (rc) break;
    }
    if (off) {
        memmove(st->in, st->in + off, st->in_len - off);
        st->in_len -= off;
    }
    if (!st->handoff && !st->ses.wait_job && (st->in_len || st->pdu_partial)) {
        if (!st->partial_since) st->partial_since = now;
    } else {
        st->partial_since = 0;
    }
    return rc;
}

/* Keep bytes that arrive while a write job waits. */
static int hold(s7srv_stream *st, const uint8_t *data, size_t len)
{
    if (st->hold_len + len > S7SRV_STREAM_HOLD_CAP) return PLCIO_ELIMIT;
    if (st->hold_len + len > st->hold_cap) {
        size_t cap = st->hold_cap ? st->hold_cap : 2048;
        while (cap < st->hold_len + len)
            cap *= 2;
        uint8_t *p = realloc(st->hold, cap);
        if (!p) return PLCIO_ENOMEM;
        st->hold = p;
        st->hold_cap = cap;
    }
    memcpy(st->hold + st->hold_len, data, len);
    st->hold_len += len;
    return PLCIO_OK;
}

static int feed_bytes(s7srv_stream *st, const uint8_t *data, size_t len, uint64_t now)
{
    if (st->handoff && !st->in_len) return handoff_feed(st, data, len); /* no TPKT framing to cut */
    while (len) {
        if (st->ses.wait_job) return hold(st, data, len);
        /* process_input leaves less than a whole frame, which fits (or it
         * failed with PLCIO_ELIMIT), or stops at a deferred write (then the
         * rest is held above), so there is always room here */
        size_t n = S7SRV_STREAM_IN_CAP - st->in_len;
        if (n > len) n = len;
        memcpy(st->in + st->in_len, data, n);
        st->in_len += n;
        data += n;
        len -= n;
        int rc = process_input(st, now);
        if (rc) return rc;
    }
    return PLCIO_OK;
}

int s7srv_stream_feed(s7srv_stream *st, const uint8_t *data, size_t len, uint64_t now)
{
    if (len) atomic_store_explicit(&st->last_rx, now, memory_order_relaxed);
    bool outer = !st->feeding;
    st->feeding = true;
    int rc = feed_bytes(st, data, len, now);
    if (outer) st->feeding = false;
    return rc ? rc : st->broken;
}

/* The write job was answered: serve what waited behind it. */
static int resume(s7srv_stream *st, uint64_t now)
{
    st->feeding = true;
    int rc = process_input(st, now);
    while (!rc && !st->ses.wait_job && st->hold_len) {
        uint8_t *held = st->hold;
        size_t n = st->hold_len;
        st->hold = NULL;
        st->hold_len = st->hold_cap = 0;
        rc = feed_bytes(st, held, n, now);
        free(held);
    }
    st->feeding = false;
    return rc;
}

/* The answer to the job the stream waited for is in frame (rc bytes, or
 * rc < 0): queue it and serve what waited behind it. */
static int answered(s7srv_stream *st, const uint8_t *frame, int rc, uint64_t now)
{
    if (rc < 0) return rc;
    st->wait_since = 0;
    rc = queue_answer(st, frame, (size_t)rc);
    if (rc && st->feeding) {
        st->broken = rc; /* the connection closes when feed returns */
        return PLCIO_OK;
    }
    if (!rc && !st->feeding) rc = resume(st, now);
    return rc;
}

static int answer_write(s7srv_stream *st, const uint8_t *codes, size_t count, uint64_t now)
{
    uint8_t frame[FRAME_CAP];
    return answered(st, frame, s7srv_write_answer(&st->ses, codes, count, frame, sizeof frame), now);
}

static int answer_read(s7srv_stream *st, const plcio_s7_server_read_answer *answers, size_t count, uint64_t now)
{
    uint8_t frame[FRAME_CAP];
    return answered(st, frame, s7srv_read_answer(st->srv, &st->ses, answers, count, frame, sizeof frame), now);
}

int s7srv_stream_write_reply(s7srv_stream *st, uint64_t job, const uint8_t *codes, size_t count, uint64_t now)
{
    if (!job || st->ses.wait_job != job) return PLCIO_ENOTFOUND;
    if (st->ses.wait_read || count != st->ses.wait_count) return PLCIO_EINVAL;
    return answer_write(st, codes, count, now);
}

int s7srv_stream_read_reply(s7srv_stream *st, uint64_t job, const plcio_s7_server_read_answer *answers, size_t count,
                            uint64_t now)
{
    if (!job || st->ses.wait_job != job) return PLCIO_ENOTFOUND;
    if (!st->ses.wait_read || count != st->ses.wait_count || (count && !answers)) return PLCIO_EINVAL;
    return answer_read(st, answers, count, now);
}

/* ---------------------------------------------------------------------------
 * Time
 * ------------------------------------------------------------------------- */

uint64_t s7srv_stream_deadline(const s7srv_stream *st)
{
    uint64_t frame_ns = (uint64_t)st->srv->cfg.frame_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t idle_ns = (uint64_t)st->srv->cfg.idle_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t d = 0;
    if (frame_ns && st->partial_since) d = st->partial_since + frame_ns + 1;
    if (idle_ns) {
        uint64_t i = s7srv_stream_last_rx(st) + idle_ns + 1;
        if (!d || i < d) d = i;
    }
    if (st->ses.wait_job) {
        uint64_t w = st->wait_since + (uint64_t)st->srv->cfg.write_timeout_ms * PLCIO_NS_PER_MS + 1;
        if (!d || w < d) d = w;
    }
    return d;
}

int s7srv_stream_on_time(s7srv_stream *st, uint64_t now)
{
    uint64_t write_ns = (uint64_t)st->srv->cfg.write_timeout_ms * PLCIO_NS_PER_MS;
    if (st->ses.wait_job && now - st->wait_since > write_ns) {
        bool read = st->ses.wait_read;
        log_msg(&st->srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE,
                "client %u: %s job not answered within %u ms: hardware fault", st->ses.client, read ? "read" : "write",
                (unsigned)st->srv->cfg.write_timeout_ms);
        uint8_t codes[S7SRV_MAX_ITEMS];
        plcio_s7_server_read_answer answers[S7SRV_MAX_ITEMS];
        memset(codes, PLCIO_S7_SERVER_ITEM_HW_FAULT, sizeof codes);
        for (size_t i = 0; i < S7SRV_MAX_ITEMS; i++) {
            answers[i].code = PLCIO_S7_SERVER_ITEM_HW_FAULT;
            answers[i].data = NULL;
        }
        int rc =
            read ? answer_read(st, answers, st->ses.wait_count, now) : answer_write(st, codes, st->ses.wait_count, now);
        if (rc) return rc;
    }
    uint64_t frame_ns = (uint64_t)st->srv->cfg.frame_timeout_ms * PLCIO_NS_PER_MS;
    uint64_t idle_ns = (uint64_t)st->srv->cfg.idle_timeout_ms * PLCIO_NS_PER_MS;
    bool stalled = frame_ns && st->partial_since && now - st->partial_since > frame_ns; /* half a frame */
    bool idle = idle_ns && !st->ses.wait_job && now - s7srv_stream_last_rx(st) > idle_ns;
    return stalled || idle ? PLCIO_ETIMEDOUT : PLCIO_OK;
}
