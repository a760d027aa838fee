/* The Modbus client's event-loop mode: the same session as the blocking
 * calls, driven by the caller's loop through the fd pump of src/net (see
 * "event-loop use" in plcio/modbus.h). Requests wait in a queue and enter the
 * session only when the link can take them, so a timeout counts from the
 * wire and a retry keeps its place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_client_internal.h"
#include "net/loop.h"

#define ASYNC_QUEUE_MAX 4096u

void mb_client_async_init(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    net_pump_init(&a->pump, c->cfg.link.ops->datagram);
    a->depth = 1;
    if (c->cfg.link.ops->serial && c->cfg.framing == MB_FRAMING_RTU) a->gap_ns = (uint64_t)c->t35_us * 1000u;
}

bool mb_client_async_active(const plcio_modbus_client *c) { return c->async.n > 0 || c->async.pump.connecting; }

/* The link belongs to both modes: cfg.link.fd is the truth. */
static void sync_fd(plcio_modbus_client *c)
{
    if (!c->async.pump.connecting) c->async.pump.fd = c->cfg.link.fd;
}

static void close_link(plcio_modbus_client *c)
{
    c->async.pump.fd = c->cfg.link.fd;
    net_pump_close(&c->async.pump);
    c->cfg.link.fd = -1;
    if (c->cfg.link.tls.ssl) mb_tls_clear(&c->cfg.link.tls);
    c->async.tls_started = false;
}

void mb_client_async_close(plcio_modbus_client *c)
{
    if (c->async.pump.transport)
        close_link(c);
    else
        mb_link_close(&c->cfg.link); /* a serial line restores its settings */
}

void mb_client_async_drop(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    if (a->n || a->pump.connecting) close_link(c);
    free(a->base);
    a->base = a->q = NULL;
    a->head = a->n = a->cap = 0;
    mb_session_reset(c->sess, PLCIO_ECLOSED, NULL, NULL);
}

/* ---- handle ---- */

int plcio_modbus_client_fd(const plcio_modbus_client *c) { return c ? c->cfg.link.fd : -1; }

bool plcio_modbus_client_is_connected(const plcio_modbus_client *c)
{
    return c && c->cfg.link.fd >= 0 && !c->async.pump.connecting;
}

int plcio_modbus_client_set_depth(plcio_modbus_client *c, unsigned depth)
{
    if (!c || depth < 1 || depth > MB_SESSION_MAX_WINDOW) return PLCIO_EINVAL;
    c->async.depth = depth;
    return PLCIO_OK;
}

size_t plcio_modbus_client_pending(const plcio_modbus_client *c) { return c ? c->async.n : 0; }

const plcio_error *plcio_modbus_client_last_error(const plcio_modbus_client *c)
{
    static const plcio_error none = {PLCIO_EINVAL, "no client"};
    return c ? &c->last_error : &none;
}

int plcio_modbus_client_get_settings(const plcio_modbus_client *c, plcio_modbus_client_settings *out)
{
    if (!c || !out) return PLCIO_EINVAL;
    const mb_link *l = &c->cfg.link;
    memset(out, 0, sizeof *out);
    out->where = c->where;
    out->transport = l->ops->serial ? "serial" : l->ops->datagram ? "udp" : l->ops == &mb_link_tls ? "tls" : "tcp";
    out->framing = c->cfg.framing == MB_FRAMING_MBAP ? "mbap" : c->cfg.framing == MB_FRAMING_RTU ? "rtu" : "ascii";
    out->device = l->device;
    if (l->ops->serial) {
        out->baud = l->serial.baud;
        out->data_bits = l->serial.data_bits;
        out->stop_bits = l->serial.stop_bits;
        out->parity = l->serial.parity;
        out->rs485 = l->serial.rs485_rts;
    }
    out->unit = c->cfg.unit;
    out->timeout_ms = c->cfg.timeout_ms;
    out->retries = c->cfg.retries;
    return PLCIO_OK;
}

static void set_error(plcio_modbus_client *c, const char *what, int rc)
{
    if (c->cfg.link.why[0]) { /* TLS: the cause in words */
        (void)plcio_error_set(&c->last_error, rc, "%s", c->cfg.link.why);
        c->cfg.link.why[0] = '\0';
        return;
    }
    (void)plcio_error_set(&c->last_error, rc, "%s %s: %s", what, c->where, plcio_strerror(rc));
}

int plcio_modbus_client_connect_async(plcio_modbus_client *c)
{
    if (!c) return PLCIO_EINVAL;
    sync_fd(c);
    if (c->cfg.link.fd >= 0) return PLCIO_OK; /* open, or a connect under way */
    mb_async *a = &c->async;
    mb_session_reset(c->sess, PLCIO_ECLOSED, NULL, NULL); /* nothing of an old link is answered on a new one */
    int rc = PLCIO_OK;
    c->cfg.link.why[0] = '\0';
    a->tls_started = false;
    if (c->cfg.link.ops == &mb_link_tls) rc = mb_link_tls_prepare(&c->cfg.link); /* the files, once */
    if (rc != PLCIO_OK) {
    } else if (c->cfg.link.ops == &mb_link_tcp || c->cfg.link.ops == &mb_link_tls) {
        rc = net_pump_connect_tcp(&a->pump, c->cfg.link.host, c->cfg.link.port, c->cfg.timeout_ms,
                                  plcio_clock_now(&c->clock));
        if (rc == PLCIO_OK) c->cfg.link.fd = a->pump.fd;
    } else {
        rc = c->cfg.link.ops->open(&c->cfg.link, c->cfg.timeout_ms);
        if (rc == PLCIO_OK) net_pump_adopt(&a->pump, c->cfg.link.fd);
    }
    if (rc != PLCIO_OK) {
        c->cfg.link.fd = -1;
        set_error(c,
                  c->cfg.link.ops->serial     ? "open"
                  : c->cfg.link.ops->datagram ? "open a UDP socket to"
                                              : "connect to",
                  rc);
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "%s", c->last_error.text);
        return rc;
    }
    a->bus_ready_ns = plcio_clock_now(&c->clock) + a->gap_ns;
    return PLCIO_OK;
}

/* ---- the queue ---- */

static long find_req(const mb_async *a, const plcio_modbus_request *req)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->q[i].req == req) return (long)i;
    return -1;
}

static long find_token(const mb_async *a, uint32_t token)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->q[i].in_session && a->q[i].token == token) return (long)i;
    return -1;
}

/* Answers mostly come for the oldest requests: the entries before i move up
 * one place (few), the head moves on. */
static void remove_at(mb_async *a, size_t i)
{
    memmove(&a->q[1], &a->q[0], i * sizeof a->q[0]);
    a->head++;
    a->q = a->base + a->head;
    a->n--;
    if (a->n == 0) {
        a->head = 0;
        a->q = a->base;
    }
}

static int grow(mb_async *a)
{
    if (a->head + a->n < a->cap) return PLCIO_OK;
    if (a->head) { /* room at the front: move the queue down */
        memmove(a->base, a->q, a->n * sizeof a->q[0]);
        a->head = 0;
        a->q = a->base;
        return PLCIO_OK;
    }
    size_t cap = a->cap ? 2 * a->cap : 16;
    mb_async_req *base = realloc(a->base, cap * sizeof *base);
    if (!base) return PLCIO_ENOMEM;
    a->base = a->q = base;
    a->cap = cap;
    return PLCIO_OK;
}

/* The PDU of a request (pdu: PLCIO_MB_MAX_PDU bytes), its unit, checked: the
 * quantities, the buffers, a broadcast that is not a write. */
static int encode(const plcio_modbus_client *c, const plcio_modbus_request *r, uint8_t *pdu, size_t *len, uint8_t *unit)
{
    mb_pdu q;
    /* cppcheck-suppress variableScope ; q points into scratch until it is encoded */
    uint8_t scratch[PLCIO_MB_MAX_PDU];
    int rc = mb_client_pick_unit(c, r->unit, unit);
    if (rc == PLCIO_OK && r->function == 0) { /* raw: sent as it is */
        if (!r->pdu || !r->resp || r->pdu_len < 1 || r->pdu_len > PLCIO_MB_MAX_PDU || (r->pdu[0] & 0x80))
            return PLCIO_EINVAL;
        memcpy(pdu, r->pdu, r->pdu_len);
        *len = r->pdu_len;
    } else {
        if (rc == PLCIO_OK) rc = mb_client_request_pdu(r, &q, scratch);
        if (rc == PLCIO_OK) rc = mb_request_encode(&q, pdu, PLCIO_MB_MAX_PDU, len);
    }
    if (rc == PLCIO_OK && mb_client_is_broadcast(c, *unit) && !mb_client_broadcast_allowed(pdu[0])) rc = PLCIO_EINVAL;
    return rc;
}

int plcio_modbus_submit(plcio_modbus_client *c, plcio_modbus_request *req, plcio_modbus_done_fn done, void *ctx)
{
    if (!c || !req) return PLCIO_EINVAL;
    mb_async *a = &c->async;
    sync_fd(c);
    uint8_t pdu[PLCIO_MB_MAX_PDU], unit;
    size_t len;
    int rc = encode(c, req, pdu, &len, &unit); /* nothing bad is queued */
    if (rc != PLCIO_OK) return rc;
    if (c->cfg.link.fd < 0) return PLCIO_ENOTCONN;
    /* a pending request has result PLCIO_EAGAIN: only then can it be queued already */
    if (req->result == PLCIO_EAGAIN && find_req(a, req) >= 0) return PLCIO_EBUSY;
    if (a->n == ASYNC_QUEUE_MAX) return PLCIO_ELIMIT;
    if (grow(a) != PLCIO_OK) return PLCIO_ENOMEM;
    req->result = PLCIO_EAGAIN; /* not done yet */
    req->resp_len = 0;
    req->exception = 0;
    req->sent = false;
    a->q[a->n++] = (mb_async_req){.req = req, .done = done, .ctx = ctx};
    return PLCIO_OK;
}

bool plcio_modbus_cancel(plcio_modbus_client *c, plcio_modbus_request *req)
{
    if (!c || !req) return false;
    mb_async *a = &c->async;
    long i = find_req(a, req);
    if (i < 0) return false;
    if (a->q[i].in_session)
        a->q[i].req = NULL; /* on the wire: its answer is dropped */
    else
        remove_at(a, (size_t)i);
    return true;
}

/* ---- answers ---- */

static unsigned retries_of(const plcio_modbus_client *c, const plcio_modbus_request *r)
{
    if (r->retries < 0) return 0;
    return r->retries > 0 ? (unsigned)r->retries : c->cfg.retries;
}

/* Worth sending again: no answer, or (on a bus) a damaged one. */
static bool retriable(const plcio_modbus_client *c, int result)
{
    if (result == PLCIO_ETIMEDOUT) return true;
    return c->cfg.framing != MB_FRAMING_MBAP && (result == PLCIO_ECRC || result == PLCIO_EPROTO);
}

/* The session's callback: take the request out of the queue (or put it
 * back for a retry) and report it. */
static void on_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t len)
{
    plcio_modbus_client *c = ctx;
    mb_async *a = &c->async;
    long i = find_token(a, token);
    if (i < 0) return;
    mb_async_req e = a->q[i];
    if (!e.req) { /* cancelled */
        remove_at(a, (size_t)i);
        return;
    }
    if (!a->failing && retriable(c, result) && e.attempts < retries_of(c, e.req)) {
        a->q[i].attempts++;
        a->q[i].in_session = false; /* keeps its place: goes out before anything queued later */
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "%s: retry %u of %s after %s", c->where, e.attempts + 1,
                plcio_mb_function_name(e.req->function), plcio_strerror(result));
        return;
    }
    remove_at(a, (size_t)i);
    if (e.req->function == 0) { /* raw: the answer as it came */
        e.req->resp_len = (result == PLCIO_OK || result == PLCIO_EMBEXC) && raw ? len : 0;
        if (e.req->resp_len) memcpy(e.req->resp, raw, len);
        e.req->result = result;
        if (result == PLCIO_EMBEXC && raw && len >= 2) e.req->exception = raw[1];
    } else {
        mb_client_request_finish(e.req, result, resp);
    }
    if (result == PLCIO_EMBEXC && resp)
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "exception %u (%s) for %s", resp->exception,
                plcio_mb_exception_text(resp->exception), plcio_mb_function_name(e.req->function));
    if (e.done) e.done(e.ctx, c, e.req);
}

/* The link failed: close it and complete every request with err. */
static int fail(plcio_modbus_client *c, int err, const char *what)
{
    mb_async *a = &c->async;
    set_error(c, what, err);
    log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "%s; closing", c->last_error.text);
    close_link(c);
    a->failing = true;
    mb_session_reset(c->sess, err, on_answer, c); /* those on the wire */
    while (a->n) {                                /* and those waiting (a callback may submit: it gets ENOTCONN) */
        mb_async_req e = a->q[0];
        remove_at(a, 0);
        if (!e.req) continue;
        e.req->result = err;
        if (e.done) e.done(e.ctx, c, e.req);
    }
    a->failing = false;
    return err;
}

/* ---- I/O ---- */

static int feed(void *ctx, const uint8_t *buf, size_t len)
{
    plcio_modbus_client *c = ctx;
    mb_async *a = &c->async;
    log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Rx", buf, len);
    if (a->gap_ns) a->bus_ready_ns = a->now + a->gap_ns; /* t3.5 after the last byte on the line */
    return mb_session_feed(c->sess, buf, len, a->now, on_answer, c);
}

/* ---- modbus-tls: the session's bytes through mb_tls ---- */

static int tls_failed(plcio_modbus_client *c, int rc, const char *what)
{
    if (c->cfg.link.tls.why[0])
        snprintf(c->cfg.link.why, sizeof c->cfg.link.why, "%s %s: %s", what, c->where, c->cfg.link.tls.why);
    return rc;
}

static int tls_step(plcio_modbus_client *c)
{
    mb_tls *t = &c->cfg.link.tls;
    int rc = mb_tls_step(t);
    if (rc != PLCIO_OK) return tls_failed(c, rc, "TLS handshake with");
    if (t->up) {
        char how[128];
        mb_tls_describe(t, how, sizeof how);
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "TLS up with %s (%s; certificate of '%s')", c->where, how,
                t->peer_name);
    }
    return PLCIO_OK;
}

/* Ciphertext in: the handshake goes on, plaintext goes to the session. */
static int feed_tls(void *ctx, const uint8_t *buf, size_t len)
{
    plcio_modbus_client *c = ctx;
    mb_tls *t = &c->cfg.link.tls;
    int rc = mb_tls_put(t, buf, len);
    if (rc != PLCIO_OK) return tls_failed(c, rc, "TLS handshake with");
    if (!t->up && (rc = tls_step(c)) != PLCIO_OK) return rc;
    while (t->up) {
        uint8_t plain[MB_RX_CAP];
        size_t got = 0;
        if ((rc = mb_tls_read(t, plain, sizeof plain, &got)) != PLCIO_OK) return tls_failed(c, rc, "TLS from");
        if (!got) break;
        if ((rc = feed(c, plain, got)) != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

/* Send what mb_tls has, as far as the socket takes it. */
static int tls_flush_out(plcio_modbus_client *c)
{
    size_t n;
    const uint8_t *p = mb_tls_out(&c->cfg.link.tls, &n);
    if (!p) return PLCIO_OK;
    bool done = false;
    int rc = net_pump_send(&c->async.pump, p, n, NULL, &done);
    if (rc == PLCIO_OK && done) mb_tls_sent(&c->cfg.link.tls, n);
    return rc;
}

/* Right after the TCP connect: our ClientHello. */
static int tls_start(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    if (a->tls_started) return PLCIO_OK;
    int rc = mb_tls_init(&c->cfg.link.tls, c->cfg.link.tls_ctx, false, c->cfg.link.host);
    if (rc != PLCIO_OK) return rc;
    a->tls_started = true;
    a->tls_deadline = a->now + (uint64_t)c->cfg.timeout_ms * PLCIO_NS_PER_MS;
    return tls_step(c);
}

/* Queued requests into the session while the link can take them. */
static void feed_session(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    unsigned depth = c->cfg.framing == MB_FRAMING_MBAP ? a->depth : 1u;
    mb_session_set_window(c->sess, depth); /* the blocking calls set their own */
    while (mb_session_pending(c->sess) < depth) {
        if (a->gap_ns && a->now < a->bus_ready_ns) return; /* wants() asks to be called at bus_ready */
        size_t i = 0;
        while (i < a->n && a->q[i].in_session)
            i++;
        if (i == a->n) return;
        mb_async_req *e = &a->q[i];
        plcio_modbus_request *r = e->req;
        if (c->cfg.link.ops->serial) c->cfg.link.ops->discard_input(&c->cfg.link); /* a late answer is not this one's */
        uint8_t pdu[PLCIO_MB_MAX_PDU], unit = 0;
        size_t len = 0;
        int rc = encode(c, r, pdu, &len, &unit);
        if (rc == PLCIO_OK) {
            unsigned flags =
                (mb_client_is_broadcast(c, unit) ? MB_REQ_NO_ANSWER : 0u) | (r->function ? 0u : MB_REQ_RAW);
            int timeout = r->timeout_ms > 0 ? r->timeout_ms : c->cfg.timeout_ms;
            rc = mb_session_submit_pdu(c->sess, unit, pdu, len, flags, a->now + (uint64_t)timeout * PLCIO_NS_PER_MS,
                                       &e->token);
        }
        if (rc != PLCIO_OK) { /* the buffers changed since submit: report, go on */
            mb_async_req copy = *e;
            remove_at(a, i);
            copy.req->result = rc;
            if (copy.done) copy.done(copy.ctx, c, copy.req);
            continue;
        }
        e->in_session = true;
        r->sent = true;
    }
}

/* Write what the session has framed, as far as the socket takes it. */
static int flush_tx(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    size_t n;
    const uint8_t *tx;
    if (c->cfg.link.ops == &mb_link_tls) {
        int rc = tls_flush_out(c);
        if (rc != PLCIO_OK || a->pump.tx_blocked || !c->cfg.link.tls.up) return rc;
        while ((tx = mb_session_next_tx(c->sess, &n)) != NULL) {
            if ((rc = mb_tls_write(&c->cfg.link.tls, tx, n)) != PLCIO_OK) return tls_failed(c, rc, "TLS to");
            mb_client_log_tx(c, tx, n);
            c->last_io_ns = a->now;
            mb_session_sent(c->sess, a->now, on_answer, c);
        }
        return tls_flush_out(c);
    }
    while ((tx = mb_session_next_tx(c->sess, &n)) != NULL) {
        bool done;
        int rc = net_pump_send(&a->pump, tx, n, mb_client_mbap_frame_len, &done);
        if (rc != PLCIO_OK || !done) return rc;
        mb_client_log_tx(c, tx, n);
        c->last_io_ns = a->now;
        mb_session_sent(c->sess, a->now, on_answer, c); /* broadcasts are done here */
        if (a->gap_ns) a->bus_ready_ns = a->now + a->gap_ns;
    }
    return PLCIO_OK;
}

static int process_once(plcio_modbus_client *c)
{
    mb_async *a = &c->async;
    a->now = plcio_clock_now(&c->clock);
    if (a->pump.connecting) {
        int rc = net_pump_connect_poll(&a->pump, a->now);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc != PLCIO_OK) return fail(c, rc, "connect to");
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "connected to %s", c->where);
        a->bus_ready_ns = a->now + a->gap_ns;
    }
    bool tls = c->cfg.link.ops == &mb_link_tls;
    if (tls) {
        int rc = tls_start(c);
        if (rc != PLCIO_OK) return fail(c, rc, "TLS handshake with");
        if (!c->cfg.link.tls.up && a->now >= a->tls_deadline) {
            snprintf(c->cfg.link.why, sizeof c->cfg.link.why,
                     "TLS handshake with %s: no answer in %d ms (not a Modbus/TCP Security server?)", c->where,
                     c->cfg.timeout_ms);
            return fail(c, PLCIO_ETIMEDOUT, "TLS handshake with");
        }
    }
    int rc = net_pump_recv(&a->pump, c->rx, sizeof c->rx, tls ? feed_tls : feed, c);
    if (rc == PLCIO_ECLOSED && tls && !c->cfg.link.tls.up)
        snprintf(c->cfg.link.why, sizeof c->cfg.link.why,
                 "%s closed the connection during the TLS handshake (not a Modbus/TCP Security server?)", c->where);
    else if (rc == PLCIO_ECLOSED && tls && !c->cfg.link.tls.got_plain)
        snprintf(c->cfg.link.why, sizeof c->cfg.link.why,
                 "%s closed the TLS connection before any answer (did it refuse our certificate?)", c->where);
    if (rc != PLCIO_OK && tls && c->cfg.link.why[0]) return fail(c, rc, "connection to");
    if (rc == PLCIO_OK && tls && !c->cfg.link.tls.up) { /* requests wait for the handshake */
        if ((rc = tls_flush_out(c)) != PLCIO_OK) return fail(c, rc, "send to");
        return PLCIO_OK;
    }
    if (rc == PLCIO_EPROTO) return fail(c, rc, "answer from"); /* an MBAP stream that cannot be framed any more */
    if (rc != PLCIO_OK) return fail(c, rc, "connection to");
    /* An answer overdue while part of a frame waits on a stream: the framing is lost. */
    if ((rc = mb_session_on_timeout(c->sess, a->now, on_answer, c)) != PLCIO_OK) return fail(c, rc, "answer from");
    feed_session(c);
    if ((rc = flush_tx(c)) != PLCIO_OK) return fail(c, rc, "send to");
    /* answers still due and no request went out to carry our ACK (net_pump_quickack) */
    if (mb_session_pending(c->sess)) net_pump_quickack(&a->pump);
    return PLCIO_OK;
}

int plcio_modbus_client_process(plcio_modbus_client *c)
{
    if (!c) return PLCIO_EINVAL;
    mb_async *a = &c->async;
    if (a->in_process) { /* from a callback: the running round goes once more */
        a->again = true;
        return PLCIO_OK;
    }
    sync_fd(c);
    int rc = PLCIO_OK;
    a->in_process = true;
    do {
        a->again = false;
        if (c->cfg.link.fd < 0) break;
        rc = process_once(c);
    } while (rc == PLCIO_OK && a->again);
    a->in_process = false;
    return rc;
}

unsigned plcio_modbus_client_wants(const plcio_modbus_client *c, uint64_t *deadline)
{
    if (deadline) *deadline = 0;
    if (!c || c->cfg.link.fd < 0) return 0;
    const mb_async *a = &c->async;
    if (a->pump.connecting) {
        if (deadline) *deadline = a->pump.connect_deadline;
        return PLCIO_MODBUS_WANT_WRITE;
    }
    unsigned events = PLCIO_MODBUS_WANT_READ | (a->pump.tx_blocked ? PLCIO_MODBUS_WANT_WRITE : 0u);
    if (!deadline) return events;
    if (c->cfg.link.ops == &mb_link_tls && !c->cfg.link.tls.up) { /* the handshake: until it ends or times out */
        *deadline = a->tls_started ? a->tls_deadline : plcio_clock_now(&c->clock);
        return events;
    }
    uint64_t d = mb_session_next_deadline(c->sess);
    unsigned depth = c->cfg.framing == MB_FRAMING_MBAP ? a->depth : 1u;
    bool waiting = false;
    for (size_t i = 0; i < a->n && !waiting; i++)
        waiting = !a->q[i].in_session;
    if (waiting && mb_session_pending(c->sess) < depth) { /* process() can send one now (or at bus_ready) */
        uint64_t go = a->gap_ns ? a->bus_ready_ns : 0;
        uint64_t now = plcio_clock_now(&c->clock);
        if (go < now) go = now;
        if (!d || go < d) d = go;
    }
    *deadline = d;
    return events;
}
