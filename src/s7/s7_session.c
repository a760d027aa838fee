/* S7 client session state machine (see s7_session.h). */
#include "s7/s7_session.h"

#include <stdlib.h>
#include <string.h>

#define PDU_CAP 8192 /* largest S7 PDU a session can be asked to negotiate */
/* The buffers are sized to the PDU we ask for (the partner can only lower it),
 * at least PLCIO_S7_PDU_MAX: an engine holds one session per PLC, and 8 KiB
 * buffers for 960-byte PDUs were most of its memory. A PDU larger than that
 * after COTP reassembly, or a TPKT frame longer than pdu_cap + 64, is refused. */
#define RX_CAP(s)    ((s)->pdu_cap + 64)
#define TX_SLOT(s)   ((s)->pdu_cap + PLCIO_S7_FRAME_OVERHEAD)
#define TX_SLOTS_MAX 3

typedef struct job {
    bool busy;
    bool done;
    uint16_t ref;
    uint64_t deadline;
    size_t rsp_len;
    uint8_t *rsp; /* pdu_cap bytes, from the slot's first request (NULL until then) */
    s7_pdu pdu;   /* rsp decoded (valid when done) */
} job;

struct s7_session {
    s7_session_cfg cfg;
    s7_session_state state;
    int error;
    uint64_t phase_deadline;
    uint16_t pdu_size;
    size_t pdu_cap; /* bytes of every PDU buffer */
    unsigned jobs_max;
    uint16_t next_ref;
    /* transmit: one linear buffer, appended to and drained from the front */
    uint8_t *tx;
    size_t tx_cap, tx_off, tx_len;
    /* receive: raw stream bytes, and the S7 PDU being reassembled */
    uint8_t *rx;
    size_t rx_len;
    uint8_t *pdu;
    size_t pdu_len;
    bool accept_jobs;
    bool incoming_ready;
    size_t incoming_len;
    uint8_t *incoming; /* pdu_cap bytes, from the first job a partner sends (NULL until then) */
    /* Kept with every change of a job instead of counted on each call: a
     * blocking read asks for the deadline and the free slots several times
     * (job_busy, job_done, job_release). Jobs only use slots below
     * cfg.jobs_request (s7_session_request_commit). */
    unsigned busy_n;       /* slots taken (in flight or done, not released) */
    unsigned flight_n;     /* slots in flight (busy, not done) */
    uint64_t job_deadline; /* earliest deadline of the jobs in flight (when flight_n) */
    job jobs[PLCIO_S7_SESSION_MAX_JOBS];
};

static const char MOD[] = "s7";

s7_session *s7_session_new(const s7_session_cfg *cfg)
{
    s7_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = *cfg;
    if (s->cfg.jobs_request == 0) s->cfg.jobs_request = 1;
    if (s->cfg.jobs_request > PLCIO_S7_SESSION_MAX_JOBS) s->cfg.jobs_request = PLCIO_S7_SESSION_MAX_JOBS;
    if (s->cfg.pdu_request < PLCIO_S7_PDU_MIN) s->cfg.pdu_request = PLCIO_S7_PDU_MIN;
    if (s->cfg.pdu_request > PDU_CAP) s->cfg.pdu_request = PDU_CAP;
    s->pdu_cap = s->cfg.pdu_request > PLCIO_S7_PDU_MAX ? s->cfg.pdu_request : PLCIO_S7_PDU_MAX;
    /* requests take their real length; room for one more worst-case frame
     * is made before each (tx_room) */
    s->tx_cap = TX_SLOT(s);
    s->tx = malloc(s->tx_cap);
    s->rx = malloc(RX_CAP(s));
    s->pdu = malloc(s->pdu_cap);
    /* s->incoming: with a partner's first job (only partner clients get any) */
    bool ok = s->tx && s->rx && s->pdu;
    /* The first slot's answer buffer now; the others when a request first
     * takes them (s7_session_request_commit): a client that keeps one
     * request in flight, as an engine polling a few hundred bytes per PLC
     * does, never pays for the parallel jobs it asked for. */
    s->jobs[0].rsp = ok ? malloc(s->pdu_cap) : NULL;
    ok = ok && s->jobs[0].rsp;
    if (!ok) {
        s7_session_free(s);
        return NULL;
    }
    return s;
}

void s7_session_free(s7_session *s)
{
    if (!s) return;
    for (int i = 0; i < PLCIO_S7_SESSION_MAX_JOBS; i++)
        free(s->jobs[i].rsp);
    free(s->tx);
    free(s->rx);
    free(s->pdu);
    free(s->incoming);
    free(s);
}

void s7_session_fail(s7_session *s, int err)
{
    if (s->state == PLCIO_S7_SESSION_FAILED) return;
    s->state = PLCIO_S7_SESSION_FAILED;
    s->error = err ? err : PLCIO_EPROTO;
    log_msg(&s->cfg.logger, PLCIO_LOG_DEBUG, MOD, "session failed: %s", plcio_strerror(s->error));
}

/* Room for n more bytes at the end of tx: what was sent is compacted away,
 * then the buffer grows, up to TX_SLOTS_MAX worst-case frames (it starts
 * with one: a client with one request at a time never needs more). */
static bool tx_grow(s7_session *s, size_t n)
{
    if (s->tx_off) {
        memmove(s->tx, s->tx + s->tx_off, s->tx_len - s->tx_off);
        s->tx_len -= s->tx_off;
        s->tx_off = 0;
        if (s->tx_cap - s->tx_len >= n) return true;
    }
    size_t want = s->tx_len + n, max = TX_SLOT(s) * TX_SLOTS_MAX, cap = s->tx_cap * 2;
    if (want > max) return false;
    if (cap < want) cap = want;
    if (cap > max) cap = max;
    uint8_t *grown = realloc(s->tx, cap);
    if (!grown) return false;
    s->tx = grown;
    s->tx_cap = cap;
    return true;
}

static bool tx_room(s7_session *s, size_t n)
{
    if (s->tx_off && s->tx_off == s->tx_len) s->tx_off = s->tx_len = 0;
    return s->tx_cap - s->tx_len >= n || tx_grow(s, n);
}

static void tx_append(s7_session *s, const uint8_t *p, size_t n)
{
    if (!tx_room(s, n)) {
        s7_session_fail(s, PLCIO_ENOSPC);
        return;
    }
    memcpy(s->tx + s->tx_len, p, n);
    s->tx_len += n;
}

void s7_session_start(s7_session *s, uint64_t now)
{
    s->state = PLCIO_S7_SESSION_COTP;
    s->error = PLCIO_OK;
    s->tx_off = s->tx_len = s->rx_len = s->pdu_len = 0;
    s->pdu_size = 0;
    s->jobs_max = 0;
    s->accept_jobs = s->incoming_ready = false;
    for (int i = 0; i < PLCIO_S7_SESSION_MAX_JOBS; i++)
        s->jobs[i].busy = s->jobs[i].done = false;
    s->busy_n = s->flight_n = 0;
    s->job_deadline = 0;
    s->phase_deadline = now + s->cfg.connect_timeout_ns;
    cotp_conn c;
    memset(&c, 0, sizeof c);
    c.src_ref = 0x0001;
    c.tpdu_size = 1024; /* RFC 905 class 0 TPDU size: 1024 carries a 960-byte PDU */
    c.src_tsap_len = s->cfg.local_tsap_len;
    memcpy(c.src_tsap, s->cfg.local_tsap, c.src_tsap_len);
    c.dst_tsap_len = s->cfg.remote_tsap_len;
    memcpy(c.dst_tsap, s->cfg.remote_tsap, c.dst_tsap_len);
    uint8_t frame[128];
    size_t n = 0;
    if (cotp_cr_frame(frame, sizeof frame, &c, &n) != PLCIO_OK) {
        s7_session_fail(s, PLCIO_EINVAL);
        return;
    }
    tx_append(s, frame, n);
}

s7_session_state s7_session_state_get(const s7_session *s) { return s->state; }
int s7_session_error(const s7_session *s) { return s->state == PLCIO_S7_SESSION_FAILED ? s->error : 0; }
uint16_t s7_session_pdu_size(const s7_session *s) { return s->pdu_size; }
unsigned s7_session_jobs(const s7_session *s) { return s->jobs_max; }

const uint8_t *s7_session_tx(const s7_session *s, size_t *len)
{
    *len = s->tx_len - s->tx_off;
    return *len ? s->tx + s->tx_off : NULL;
}

void s7_session_tx_done(s7_session *s, size_t sent)
{
    if (log_enabled_fast(&s->cfg.logger, PLCIO_LOG_TRACE))
        log_hex(&s->cfg.logger, PLCIO_LOG_TRACE, MOD, "Tx", s->tx + s->tx_off, sent);
    s->tx_off += sent;
    if (s->tx_off >= s->tx_len) s->tx_off = s->tx_len = 0;
}

/* ---------------------------------------------------------------- job bookkeeping */

/* The earliest deadline of the jobs in flight, found again (the job that
 * held it was answered or released). */
static void jobs_deadline_scan(s7_session *s)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < s->cfg.jobs_request; i++) {
        const job *j = &s->jobs[i];
        if (j->busy && !j->done && (!d || j->deadline < d)) d = j->deadline;
    }
    s->job_deadline = d;
}

static void job_take(s7_session *s, job *j, uint16_t ref, uint64_t deadline)
{
    j->busy = true;
    j->done = false;
    j->ref = ref;
    j->deadline = deadline;
    j->rsp_len = 0;
    s->busy_n++;
    if (!s->flight_n++ || deadline < s->job_deadline) s->job_deadline = deadline;
}

/* j, no longer in flight (answered, or released unanswered), left it. */
static void job_landed(s7_session *s, const job *j)
{
    if (--s->flight_n == 0)
        s->job_deadline = 0;
    else if (j->deadline == s->job_deadline)
        jobs_deadline_scan(s);
}

/* ---------------------------------------------------------------- input */

static void on_setup(s7_session *s, const s7_pdu *pdu)
{
    s7_setup st;
    if (pdu->rosctr != PLCIO_S7_ACK_DATA || s7_pdu_error(pdu) || s7_setup_decode(pdu, &st)) {
        s7_session_fail(s, s7_pdu_error(pdu) ? PLCIO_EPLC : PLCIO_EPROTO);
        return;
    }
    /* the partner may lower both values, never raise them */
    s->pdu_size = st.pdu_size < s->cfg.pdu_request ? st.pdu_size : s->cfg.pdu_request;
    if (s->pdu_size < PLCIO_S7_PDU_MIN / 2) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    unsigned jobs = st.max_amq_calling ? st.max_amq_calling : 1;
    s->jobs_max = jobs < s->cfg.jobs_request ? jobs : s->cfg.jobs_request;
    s->state = PLCIO_S7_SESSION_READY;
    s->phase_deadline = 0;
    log_msg(&s->cfg.logger, PLCIO_LOG_DEBUG, MOD, "connected: PDU %u, %u parallel jobs", s->pdu_size, s->jobs_max);
}

static void on_pdu(s7_session *s, const uint8_t *p, size_t n)
{
    s7_pdu pdu;
    if (s7_pdu_decode(p, n, &pdu) != PLCIO_OK) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    if (s->state == PLCIO_S7_SESSION_SETUP) {
        on_setup(s, &pdu);
        return;
    }
    if (s->state == PLCIO_S7_SESSION_READY && pdu.rosctr == PLCIO_S7_JOB && s->accept_jobs && !s->incoming_ready) {
        if (!s->incoming && !(s->incoming = malloc(s->pdu_cap))) { /* a partner's first job */
            s7_session_fail(s, PLCIO_ENOMEM);
            return;
        }
        memcpy(s->incoming, p, n);
        s->incoming_len = n;
        s->incoming_ready = true;
        return;
    }
    if (s->state != PLCIO_S7_SESSION_READY || pdu.rosctr == PLCIO_S7_JOB) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    for (unsigned i = 0; s->flight_n && i < s->cfg.jobs_request; i++) {
        job *j = &s->jobs[i];
        if (j->busy && !j->done && j->ref == pdu.pdu_ref) {
            memcpy(j->rsp, p, n);
            j->rsp_len = n;
            /* the decoded header too, pointing into rsp: the owner needs not decode it again */
            j->pdu = pdu;
            if (pdu.param) j->pdu.param = j->rsp + (pdu.param - p);
            if (pdu.data) j->pdu.data = j->rsp + (pdu.data - p);
            j->done = true;
            job_landed(s, j);
            return;
        }
    }
    /* an answer nobody waits for: the partner is confused or we are */
    log_msg(&s->cfg.logger, PLCIO_LOG_WARN, MOD, "answer with unknown PDU reference %u", pdu.pdu_ref);
    s7_session_fail(s, PLCIO_EPROTO);
}

static void send_setup(s7_session *s)
{
    uint8_t frame[64];
    s7_out out = s7_out_make(frame, sizeof frame, 0);
    s7_setup st = {s->cfg.jobs_request, s->cfg.jobs_request, s->cfg.pdu_request};
    if (s7_setup_encode(&out, PLCIO_S7_JOB, 0, &st) != PLCIO_OK) {
        s7_session_fail(s, PLCIO_EINTERNAL);
        return;
    }
    tx_append(s, frame, out.len);
    s->state = PLCIO_S7_SESSION_SETUP;
}

/* A COTP DT TPDU's data (class 0: header 02 F0 EOT|0). */
static void on_dt(s7_session *s, const uint8_t *data, size_t len, bool eot)
{
    if (s->state != PLCIO_S7_SESSION_SETUP && s->state != PLCIO_S7_SESSION_READY) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    if (s->pdu_len + len > s->pdu_cap) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    if (eot && s->pdu_len == 0) { /* a whole PDU in one TPDU, the usual case: no copy */
        on_pdu(s, data, len);
        return;
    }
    if (len) memcpy(s->pdu + s->pdu_len, data, len);
    s->pdu_len += len;
    if (eot) {
        size_t total = s->pdu_len;
        s->pdu_len = 0;
        on_pdu(s, s->pdu, total);
    }
}

static void on_tpdu(s7_session *s, const uint8_t *p, size_t n)
{
    /* DT, the TPDU of every answer, without cotp_decode's general case
     * (the same checks: length indicator 2, TPDU-NR 0) */
    if (n >= 3 && p[0] == 2 && p[1] == PLCIO_COTP_DT && (p[2] & 0x7F) == 0) {
        on_dt(s, p + 3, n - 3, (p[2] & PLCIO_COTP_EOT) != 0);
        return;
    }
    cotp_tpdu t;
    if (cotp_decode(p, n, &t) != PLCIO_OK) {
        s7_session_fail(s, PLCIO_EPROTO);
        return;
    }
    switch (t.code) {
    case PLCIO_COTP_CC:
        if (s->state != PLCIO_S7_SESSION_COTP) {
            s7_session_fail(s, PLCIO_EPROTO);
            return;
        }
        send_setup(s);
        return;
    case PLCIO_COTP_DT: on_dt(s, t.data, t.data_len, t.eot); return;
    case PLCIO_COTP_DR:
        /* refused connection (wrong rack/slot/TSAP) or closed by the partner */
        s7_session_fail(s, s->state == PLCIO_S7_SESSION_COTP ? PLCIO_ECONNREFUSED : PLCIO_ECLOSED);
        return;
    default: s7_session_fail(s, PLCIO_EPROTO); return;
    }
}

/* Handle the complete TPKT frames at the start of buf; *used: their bytes.
 * A frame longer than RX_CAP is refused. Returns the session's error when
 * it failed. */
static int frames(s7_session *s, const uint8_t *buf, size_t len, size_t *used)
{
    size_t off = 0, frame = 0;
    while (len - off >= PLCIO_TPKT_HEADER_LEN) { /* less: tpkt_decode could only say EAGAIN */
        int rc = tpkt_decode(buf + off, len - off, &frame);
        if (frame > RX_CAP(s)) rc = PLCIO_EPROTO;
        if (rc == PLCIO_EAGAIN) break;
        if (rc != PLCIO_OK) {
            s7_session_fail(s, PLCIO_EPROTO);
            return s->error;
        }
        on_tpdu(s, buf + off + PLCIO_TPKT_HEADER_LEN, frame - PLCIO_TPKT_HEADER_LEN);
        if (s->state == PLCIO_S7_SESSION_FAILED) return s->error;
        off += frame;
    }
    *used = off;
    return PLCIO_OK;
}

int s7_session_feed(s7_session *s, const uint8_t *data, size_t len, uint64_t now)
{
    (void)now;
    if (s->state == PLCIO_S7_SESSION_FAILED) return s->error;
    if (s->state == PLCIO_S7_SESSION_IDLE) {
        s7_session_fail(s, PLCIO_EPROTO);
        return s->error;
    }
    if (log_enabled_fast(&s->cfg.logger, PLCIO_LOG_TRACE))
        log_hex(&s->cfg.logger, PLCIO_LOG_TRACE, MOD, "Rx", data, len);
    while (len) {
        if (s->rx_len == 0) {
            /* nothing buffered: the frames are handled where they are, and
             * only an incomplete last one is kept (it fits: frames() refuses
             * one longer than RX_CAP) */
            size_t used = 0;
            if (frames(s, data, len, &used)) return s->error;
            if (len > used) memcpy(s->rx, data + used, len - used);
            s->rx_len = len - used;
            return PLCIO_OK;
        }
        size_t take = RX_CAP(s) - s->rx_len < len ? RX_CAP(s) - s->rx_len : len;
        memcpy(s->rx + s->rx_len, data, take);
        s->rx_len += take;
        data += take;
        len -= take;
        size_t off = 0;
        if (frames(s, s->rx, s->rx_len, &off)) return s->error;
        memmove(s->rx, s->rx + off, s->rx_len - off);
        s->rx_len -= off;
    }
    return PLCIO_OK;
}

uint64_t s7_session_deadline(const s7_session *s)
{
    if (s->state == PLCIO_S7_SESSION_FAILED || s->state == PLCIO_S7_SESSION_IDLE) return 0;
    uint64_t d = s->state == PLCIO_S7_SESSION_READY ? 0 : s->phase_deadline;
    if (s->flight_n && (!d || s->job_deadline < d)) d = s->job_deadline;
    return d;
}

int s7_session_on_time(s7_session *s, uint64_t now)
{
    uint64_t d = s7_session_deadline(s);
    if (d && now >= d) s7_session_fail(s, PLCIO_ETIMEDOUT);
    return s7_session_error(s);
}

/* ---------------------------------------------------------------- jobs */

unsigned s7_session_in_flight(const s7_session *s) { return s->flight_n; }

unsigned s7_session_free_slots(const s7_session *s)
{
    if (s->state != PLCIO_S7_SESSION_READY) return 0;
    return s->busy_n >= s->jobs_max ? 0 : s->jobs_max - s->busy_n;
}

int s7_session_request_begin(s7_session *s, s7_out *out, uint16_t *ref)
{
    if (s->state != PLCIO_S7_SESSION_READY) return s->state == PLCIO_S7_SESSION_FAILED ? s->error : PLCIO_ESTATE;
    if (!s7_session_free_slots(s)) return PLCIO_EBUSY;
    if (!tx_room(s, TX_SLOT(s))) return PLCIO_EBUSY; /* frames still unsent: they drain */
    *out = s7_out_make(s->tx + s->tx_len, TX_SLOT(s), s->pdu_size);
    do
        s->next_ref++;
    while (s->next_ref == 0);
    *ref = s->next_ref;
    return PLCIO_OK;
}

int s7_session_request_commit(s7_session *s, const s7_out *out, uint16_t ref, uint64_t now, int *slot)
{
    if (out->buf != s->tx + s->tx_len || out->len == 0 || out->len > TX_SLOT(s)) return PLCIO_EINVAL;
    for (int i = 0; i < s->cfg.jobs_request; i++) {
        job *j = &s->jobs[i];
        if (j->busy) continue;
        if (!j->rsp && !(j->rsp = malloc(s->pdu_cap))) return PLCIO_ENOMEM;
        job_take(s, j, ref, now + s->cfg.request_timeout_ns);
        s->tx_len += out->len;
        *slot = i;
        return PLCIO_OK;
    }
    return PLCIO_EBUSY;
}

bool s7_session_slot_done(const s7_session *s, int slot)
{
    return slot >= 0 && slot < PLCIO_S7_SESSION_MAX_JOBS && s->jobs[slot].busy && s->jobs[slot].done;
}

const uint8_t *s7_session_slot_pdu(const s7_session *s, int slot, size_t *len)
{
    if (!s7_session_slot_done(s, slot)) return NULL;
    *len = s->jobs[slot].rsp_len;
    return s->jobs[slot].rsp;
}

const s7_pdu *s7_session_slot_decoded(const s7_session *s, int slot)
{
    return s7_session_slot_done(s, slot) ? &s->jobs[slot].pdu : NULL;
}

void s7_session_slot_release(s7_session *s, int slot)
{
    if (slot < 0 || slot >= PLCIO_S7_SESSION_MAX_JOBS || !s->jobs[slot].busy) return;
    job *j = &s->jobs[slot];
    bool flying = !j->done;
    j->busy = j->done = false;
    s->busy_n--;
    if (flying) job_landed(s, j); /* given up unanswered: an answer that comes still fails the session */
}

void s7_session_accept_jobs(s7_session *s, bool on)
{
    s->accept_jobs = on;
    if (!on) s->incoming_ready = false;
}

const uint8_t *s7_session_incoming(const s7_session *s, size_t *len)
{
    if (!s->incoming_ready) return NULL;
    *len = s->incoming_len;
    return s->incoming;
}

void s7_session_incoming_release(s7_session *s) { s->incoming_ready = false; }

int s7_session_send_frame(s7_session *s, const uint8_t *frame, size_t len)
{
    if (s->state != PLCIO_S7_SESSION_READY) return s->state == PLCIO_S7_SESSION_FAILED ? s->error : PLCIO_ESTATE;
    tx_append(s, frame, len);
    return s7_session_error(s);
}
