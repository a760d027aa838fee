/* Modbus client session: requests queued, framed, matched to answers and
 * timed out, without I/O (see mb_session.h). */
#include "modbus/mb_session.h"

#include <stdlib.h>
#include <string.h>

#define RX_CAP    4096
#define FRAME_MAX ((size_t)PLCIO_MB_ASCII_MAX_ADU + 8)
#define TX_MAX    (MB_SESSION_MAX_WINDOW * FRAME_MAX)

typedef struct mb_req {
    uint32_t token;
    uint16_t tid;
    uint8_t unit;
    bool sent;
    unsigned flags;
    uint64_t deadline;
    size_t pdu_len;
    uint8_t pdu[PLCIO_MB_MAX_PDU];
} mb_req;

struct mb_session {
    mb_framing framing;
    unsigned window;
    bool datagram;
    uint16_t next_tid;
    uint32_t next_token;
    /* The queue and the transmit buffer grow with use (up to MB_SESSION_QUEUE
     * requests and a window of frames): an engine holds one session per
     * device, most of them with a request or two out at a time. */
    size_t count; /* reqs[0..count) in submission order */
    size_t reqs_cap;
    mb_req *reqs;
    size_t tx_len, tx_cap;
    uint8_t *tx;
    size_t rx_len;
    uint64_t last_rx_ns;
    uint64_t silence_ns; /* RTU frames of unknown length end after this much quiet */
    uint8_t rx[RX_CAP];
    uint8_t scratch[PLCIO_MB_RTU_MAX_ADU];
};

mb_session *mb_session_new(mb_framing framing, unsigned window)
{
    mb_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->framing = framing;
    if (window < 1) window = 1;
    if (window > MB_SESSION_MAX_WINDOW) window = MB_SESSION_MAX_WINDOW;
    s->window = framing == MB_FRAMING_MBAP ? window : 1; /* a serial bus has one request out at a time */
    s->silence_ns = 20 * PLCIO_NS_PER_MS;
    s->next_tid = (uint16_t)plcio_monotonic_ns();
    return s;
}

void mb_session_free(mb_session *s)
{
    if (!s) return;
    free(s->reqs);
    free(s->tx);
    free(s);
}

/* Room for one more request in the queue: PLCIO_ELIMIT when it is full,
 * PLCIO_ENOMEM when it cannot grow. */
static int reserve_req(mb_session *s)
{
    if (s->count == MB_SESSION_QUEUE) return PLCIO_ELIMIT;
    if (s->count < s->reqs_cap) return PLCIO_OK;
    size_t cap = s->reqs_cap ? s->reqs_cap * 2 : 4;
    if (cap > MB_SESSION_QUEUE) cap = MB_SESSION_QUEUE;
    mb_req *r = realloc(s->reqs, cap * sizeof *r);
    if (!r) return PLCIO_ENOMEM;
    s->reqs = r;
    s->reqs_cap = cap;
    return PLCIO_OK;
}

/* Room for one more frame after tx_len; false when the buffer is at its
 * largest (a window of frames) or cannot grow. */
static bool reserve_tx(mb_session *s)
{
    if (s->tx_cap - s->tx_len >= FRAME_MAX) return true;
    size_t cap = s->tx_cap ? s->tx_cap * 2 : 2 * FRAME_MAX;
    while (cap - s->tx_len < FRAME_MAX)
        cap *= 2;
    if (cap > TX_MAX) cap = TX_MAX;
    if (cap - s->tx_len < FRAME_MAX) return false;
    uint8_t *t = realloc(s->tx, cap);
    if (!t) return false;
    s->tx = t;
    s->tx_cap = cap;
    return true;
}

void mb_session_set_silence(mb_session *s, uint64_t ns) { s->silence_ns = ns; }

void mb_session_set_window(mb_session *s, unsigned window)
{
    if (window < 1) window = 1;
    if (window > MB_SESSION_MAX_WINDOW) window = MB_SESSION_MAX_WINDOW;
    s->window = s->framing == MB_FRAMING_MBAP ? window : 1;
}

void mb_session_set_datagram(mb_session *s, bool datagram) { s->datagram = datagram; }

size_t mb_session_pending(const mb_session *s) { return s->count; }

static int enqueue(mb_session *s, mb_req *r, uint8_t unit, unsigned flags, uint64_t deadline_ns, uint32_t *token)
{
    r->token = ++s->next_token;
    r->flags = flags;
    r->unit = unit;
    r->sent = false;
    r->deadline = deadline_ns;
    s->count++;
    *token = r->token;
    return PLCIO_OK;
}

int mb_session_submit_pdu(mb_session *s, uint8_t unit, const uint8_t *pdu, size_t len, unsigned flags,
                          uint64_t deadline_ns, uint32_t *token)
{
    if (!s || !pdu || !token || len < 1 || len > PLCIO_MB_MAX_PDU) return PLCIO_EINVAL;
    int rc = reserve_req(s);
    if (rc != PLCIO_OK) return rc;
    mb_req *r = &s->reqs[s->count];
    memcpy(r->pdu, pdu, len);
    r->pdu_len = len;
    return enqueue(s, r, unit, flags, deadline_ns, token);
}

int mb_session_submit(mb_session *s, uint8_t unit, const mb_pdu *req, uint64_t deadline_ns, uint32_t *token)
{
    if (!s || !req || !token) return PLCIO_EINVAL;
    int rc = reserve_req(s);
    if (rc != PLCIO_OK) return rc;
    mb_req *r = &s->reqs[s->count];
    rc = mb_request_encode(req, r->pdu, sizeof r->pdu, &r->pdu_len);
    if (rc != PLCIO_OK) return rc;
    return enqueue(s, r, unit, 0, deadline_ns, token);
}

static size_t in_flight(const mb_session *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += s->reqs[i].sent;
    return n;
}

static int frame(mb_session *s, mb_req *r, uint8_t *out, size_t cap, size_t *n)
{
    switch (s->framing) {
    case MB_FRAMING_MBAP: return mb_mbap_encode(r->tid, r->unit, r->pdu, r->pdu_len, out, cap, n);
    case MB_FRAMING_RTU: return mb_rtu_encode(r->unit, r->pdu, r->pdu_len, out, cap, n);
    default: return mb_ascii_encode(r->unit, r->pdu, r->pdu_len, out, cap, n);
    }
}

const uint8_t *mb_session_next_tx(mb_session *s, size_t *len)
{
    size_t flying = in_flight(s);
    for (size_t i = 0; i < s->count && flying < s->window; i++) {
        mb_req *r = &s->reqs[i];
        if (r->sent) continue;
        size_t n;
        r->tid = ++s->next_tid;
        if (!reserve_tx(s) || frame(s, r, s->tx + s->tx_len, s->tx_cap - s->tx_len, &n)) break;
        s->tx_len += n;
        r->sent = true;
        flying++;
        if (s->framing != MB_FRAMING_MBAP) s->rx_len = 0; /* a new exchange on the bus: old bytes are stale */
    }
    *len = s->tx_len;
    return s->tx_len ? s->tx : NULL;
}

static void complete(mb_session *s, size_t i, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len,
                     mb_session_answer_fn cb, void *ctx);

void mb_session_sent(mb_session *s, uint64_t now, mb_session_answer_fn cb, void *ctx)
{
    s->tx_len = 0;
    s->last_rx_ns = now;
    for (size_t i = 0; i < s->count;) { /* nothing comes back for these */
        if (s->reqs[i].sent && (s->reqs[i].flags & MB_REQ_NO_ANSWER)) {
            complete(s, i, PLCIO_OK, NULL, NULL, 0, cb, ctx);
            i = 0;
            continue;
        }
        i++;
    }
}

/* Take request i out of the queue and report it. The callback may submit. */
static void complete(mb_session *s, size_t i, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len,
                     mb_session_answer_fn cb, void *ctx)
{
    uint32_t token = s->reqs[i].token;
    memmove(&s->reqs[i], &s->reqs[i + 1], (s->count - i - 1) * sizeof s->reqs[0]);
    s->count--;
    if (cb) cb(ctx, token, result, resp, raw, raw_len);
}

/* Report request i answered by frame f; returns the result reported. */
static int answer(mb_session *s, size_t i, const mb_frame *f, mb_session_answer_fn cb, void *ctx)
{
    mb_pdu q, resp;
    uint8_t copy[PLCIO_MB_MAX_PDU];
    memcpy(copy, f->pdu, f->pdu_len); /* rx moves on before the callback returns */
    if (s->reqs[i].flags & MB_REQ_RAW) {
        int rc = (copy[0] & 0x80) ? (f->pdu_len == 2 ? PLCIO_EMBEXC : PLCIO_EPROTO) : PLCIO_OK;
        complete(s, i, rc, NULL, copy, f->pdu_len, cb, ctx);
        return rc;
    }
    mb_request_decode(s->reqs[i].pdu, s->reqs[i].pdu_len, &q);
    int rc = mb_response_decode(copy, f->pdu_len, &resp);
    if (rc == PLCIO_OK) rc = mb_response_check(&q, &resp);
    complete(s, i, rc, (rc == PLCIO_OK || rc == PLCIO_EMBEXC) ? &resp : NULL, copy, f->pdu_len, cb, ctx);
    return rc;
}

static long match(const mb_session *s, const mb_frame *f)
{
    for (size_t i = 0; i < s->count; i++) {
        const mb_req *r = &s->reqs[i];
        if (!r->sent || r->unit != f->unit || f->pdu_len < 1 || (f->pdu[0] & 0x7F) != r->pdu[0]) continue;
        if (s->framing == MB_FRAMING_MBAP && f->tid != r->tid) continue;
        return (long)i;
    }
    return -1;
}

static int decode(mb_session *s, bool idle, mb_frame *f, size_t *used)
{
    size_t need;
    switch (s->framing) {
    case MB_FRAMING_MBAP: return mb_mbap_decode(s->rx, s->rx_len, f, used, &need);
    case MB_FRAMING_RTU: return mb_rtu_decode(s->rx, s->rx_len, false, idle, f, used, &need);
    default: return mb_ascii_decode(s->rx, s->rx_len, '\n', s->scratch, sizeof s->scratch, f, used, &need);
    }
}

static void consume(mb_session *s, size_t n)
{
    if (n > s->rx_len) n = s->rx_len;
    memmove(s->rx, s->rx + n, s->rx_len - n);
    s->rx_len -= n;
}

/* The first request on the wire (serial buses have one). */
static long first_sent(const mb_session *s)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->reqs[i].sent) return (long)i;
    return -1;
}

static int drain(mb_session *s, bool idle, mb_session_answer_fn cb, void *ctx)
{
    while (s->rx_len) {
        mb_frame f;
        size_t used = 0;
        int rc = decode(s, idle, &f, &used);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc != PLCIO_OK) {
            if (s->datagram) { /* a bad datagram: drop it, the session goes on */
                s->rx_len = 0;
                return PLCIO_OK;
            }
            if (s->framing == MB_FRAMING_MBAP) return PLCIO_EPROTO;
            long k = first_sent(s);
            consume(s, used ? used : s->rx_len);
            if (rc == PLCIO_ECRC && k >= 0) complete(s, (size_t)k, PLCIO_ECRC, NULL, NULL, 0, cb, ctx);
            continue;
        }
        long i = match(s, &f);
        int result = PLCIO_OK;
        if (i >= 0) {
            /* decode into a copy, then consume, then report */
            result = answer(s, (size_t)i, &f, cb, ctx);
        }
        consume(s, used);
        /* The answer's MBAP header fitted but its PDU did not (a byte count or
         * an echo that disagrees): the MBAP length may be the damaged part, so
         * where the next frame starts on this stream is not known any more. */
        if (result == PLCIO_EPROTO && s->framing == MB_FRAMING_MBAP && !s->datagram) return PLCIO_EPROTO;
    }
    return PLCIO_OK;
}

int mb_session_feed(mb_session *s, const uint8_t *data, size_t len, uint64_t now, mb_session_answer_fn cb, void *ctx)
{
    if (!s || (len && !data)) return PLCIO_EINVAL;
    while (len) {
        size_t n = len < RX_CAP - s->rx_len ? len : RX_CAP - s->rx_len;
        if (n == 0) { /* never framed: an MBAP stream is lost, a bus just drops it */
            if (s->framing == MB_FRAMING_MBAP) return PLCIO_EPROTO;
            s->rx_len = 0;
            continue;
        }
        memcpy(s->rx + s->rx_len, data, n);
        s->rx_len += n;
        data += n;
        len -= n;
        s->last_rx_ns = now;
        int rc = drain(s, false, cb, ctx);
        if (rc != PLCIO_OK) return rc;
    }
    if (s->datagram) s->rx_len = 0; /* a datagram's leftovers are not the start of a frame */
    return PLCIO_OK;
}

int mb_session_on_timeout(mb_session *s, uint64_t now, mb_session_answer_fn cb, void *ctx)
{
    bool expired = false;
    if (s->framing == MB_FRAMING_RTU && s->rx_len && now >= s->last_rx_ns + s->silence_ns) {
        drain(s, true, cb, ctx);
        s->rx_len = 0;
    }
    for (size_t i = 0; i < s->count;) {
        if (s->reqs[i].deadline && s->reqs[i].deadline <= now) {
            complete(s, i, PLCIO_ETIMEDOUT, NULL, NULL, 0, cb, ctx);
            expired = true;
            i = 0; /* the callback may have changed the queue */
            continue;
        }
        i++;
    }
    /* Part of a frame waits on an MBAP stream and an answer is overdue: the
     * frame's length may be the damaged part (then it swallows the next
     * answers), so the stream cannot be trusted to find the next frame. */
    if (expired && s->framing == MB_FRAMING_MBAP && !s->datagram && s->rx_len) return PLCIO_EPROTO;
    return PLCIO_OK;
}

uint64_t mb_session_next_deadline(const mb_session *s)
{
    uint64_t d = 0;
    for (size_t i = 0; i < s->count; i++)
        if (s->reqs[i].deadline && (!d || s->reqs[i].deadline < d)) d = s->reqs[i].deadline;
    if (s->framing == MB_FRAMING_RTU && s->rx_len) {
        uint64_t quiet = s->last_rx_ns + s->silence_ns;
        if (!d || quiet < d) d = quiet;
    }
    return d;
}

void mb_session_reset(mb_session *s, int err, mb_session_answer_fn cb, void *ctx)
{
    s->rx_len = 0;
    s->tx_len = 0;
    while (s->count)
        complete(s, 0, err, NULL, NULL, 0, cb, ctx);
}
