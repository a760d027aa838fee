/* Modbus client: a blocking loop around the codec and the framers, with
 * connect on demand, retries, answer matching (transaction id, unit,
 * function) and several requests in flight on MBAP links. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "modbus/mb_client_internal.h"

/* ===========================================================================
 * Handle
 * ========================================================================= */

void plcio_modbus_client_options_init(plcio_modbus_client_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

int plcio_modbus_client_new(const char *url, const plcio_modbus_client_options *opts, plcio_modbus_client **out,
                            plcio_error *err)
{
    error_begin(err);
    if (!out) return error_end(err, PLCIO_EINVAL);
    *out = NULL;
    if (!url) return plcio_error_set(err, PLCIO_EINVAL, "no URL given");
    plcio_modbus_client *c = calloc(1, sizeof *c);
    if (!c) return error_end(err, PLCIO_ENOMEM);
    int rc = mb_url_parse(url, false, &c->cfg, ERROR_BUF(err));
    if (rc != PLCIO_OK) {
        free(c);
        return error_end(err, rc);
    }
    if (opts) {
        c->logger = opts->logger;
        c->clock = opts->clock;
        c->own_io = opts->clock.now || opts->transport;
        if (opts->transport && (c->cfg.link.ops != &mb_link_tcp)) {
            free(c);
            return plcio_error_set(err, PLCIO_EINVAL, "a transport of the options replaces a TCP stream only, not %s",
                                   url);
        }
    }
    uint32_t t15;
    mb_rtu_timing(c->cfg.link.serial.baud, &t15, &c->t35_us);
    c->sess = mb_session_new(c->cfg.framing, 1);
    if (!c->sess) {
        free(c);
        return error_end(err, PLCIO_ENOMEM);
    }
    mb_session_set_datagram(c->sess, c->cfg.link.ops->datagram);
    /* RTU answers of unknown length end at silence: t3.5 on a line, 20 ms on TCP */
    if (c->cfg.link.ops->serial) mb_session_set_silence(c->sess, (uint64_t)c->t35_us * 1000u);
    const mb_link *l = &c->cfg.link;
    if (l->ops->serial)
        snprintf(c->where, sizeof c->where, "%s", l->device);
    else
        snprintf(c->where, sizeof c->where, "%s:%d%s", l->host, l->port,
                 l->ops == &mb_link_tls              ? " (TLS)"
                 : c->cfg.framing == MB_FRAMING_MBAP ? ""
                 : c->cfg.framing == MB_FRAMING_RTU  ? " (RTU over TCP)"
                                                     : " (ASCII over TCP)");
    mb_client_async_init(c);
    if (opts) c->async.pump.transport = opts->transport;
    if (l->ops == &mb_link_tls && l->tls_cfg.insecure)
        log_msg(&c->logger, PLCIO_LOG_WARN, "modbus",
                "%s: insecure=1: the server's certificate is not checked; anyone on the path can read and change "
                "every value",
                c->where);
    *out = c;
    return PLCIO_OK;
}

int plcio_modbus_url_check(const char *url, plcio_error *err)
{
    error_begin(err);
    if (!url) return plcio_error_set(err, PLCIO_EINVAL, "no URL given");
    mb_url_config cfg;
    return error_end(err, mb_url_parse(url, false, &cfg, ERROR_BUF(err)));
}

void plcio_modbus_client_free(plcio_modbus_client *c)
{
    if (!c) return;
    mb_client_async_drop(c);
    mb_client_async_close(c);
    mb_link_free(&c->cfg.link);
    mb_session_free(c->sess);
    free(c);
}

static const char *framing_name(mb_framing f)
{
    return f == MB_FRAMING_MBAP ? "mbap" : f == MB_FRAMING_RTU ? "rtu" : "ascii";
}

int mb_client_blocking_ok(plcio_modbus_client *c)
{
    if (!c->own_io) return PLCIO_OK;
    return plcio_error_set(&c->last_error, PLCIO_EUNSUPPORTED,
                           "%s: this client runs on a clock or transport of its own: use the event-loop calls",
                           c->where);
}

int plcio_modbus_client_connect(plcio_modbus_client *c)
{
    if (!c) return PLCIO_EINVAL;
    int rc = mb_client_blocking_ok(c);
    if (rc) return rc;
    if (c->cfg.link.fd >= 0) return PLCIO_OK;
    rc = c->cfg.link.ops->open(&c->cfg.link, c->cfg.timeout_ms);
    if (rc == PLCIO_OK)
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "opened %s link (%s framing) to %s%s", c->cfg.link.ops->name,
                framing_name(c->cfg.framing), c->cfg.link.host, c->cfg.link.device);
    else if (c->cfg.link.why[0]) /* the link knows better (TLS) */
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "%s",
                plcio_error_set(&c->last_error, rc, "%s", c->cfg.link.why) ? c->last_error.text : "");
    else
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "%s",
                plcio_error_set(&c->last_error, rc, "open %s: %s", c->where, plcio_strerror(rc)) ? c->last_error.text
                                                                                                 : "");
    return rc;
}

void plcio_modbus_client_close(plcio_modbus_client *c)
{
    if (!c) return;
    if (mb_client_async_active(c)) mb_client_async_drop(c); /* closes the link, forgets its requests */
    mb_client_async_close(c);
}

void plcio_modbus_client_set_unit(plcio_modbus_client *c, uint8_t unit)
{
    if (c) c->cfg.unit = unit;
}
uint8_t plcio_modbus_client_unit(const plcio_modbus_client *c) { return c ? c->cfg.unit : 0; }
int plcio_modbus_last_exception(const plcio_modbus_client *c) { return c ? c->last_exception : 0; }

int plcio_modbus_client_set_timeout(plcio_modbus_client *c, int timeout_ms)
{
    if (!c || timeout_ms < 1) return PLCIO_EINVAL;
    c->cfg.timeout_ms = timeout_ms;
    return PLCIO_OK;
}

int plcio_modbus_client_set_retries(plcio_modbus_client *c, unsigned retries)
{
    if (!c || retries > 10) return PLCIO_EINVAL;
    c->cfg.retries = retries;
    return PLCIO_OK;
}

/* ===========================================================================
 * The loop around the session
 * ========================================================================= */

/* Length of the first MBAP frame in buf[0..n) (n when it cannot tell). */
size_t mb_client_mbap_frame_len(const uint8_t *buf, size_t n)
{
    if (n < 6) return n;
    size_t f = 6u + (size_t)(buf[4] << 8 | buf[5]);
    return f < n ? f : n;
}

/* Tx dump, one line per frame (MBAP frames are delimited by their length). */
void mb_client_log_tx(plcio_modbus_client *c, const uint8_t *buf, size_t n)
{
    if (!log_enabled(&c->logger, PLCIO_LOG_TRACE)) return;
    size_t off = 0;
    while (off < n) {
        size_t len = c->cfg.framing == MB_FRAMING_MBAP ? mb_client_mbap_frame_len(buf + off, n - off) : n - off;
        log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Tx", buf + off, len);
        off += len;
    }
}

/* Streams take the frames in one write; UDP needs one datagram per frame. */
static int send_frames(plcio_modbus_client *c, const uint8_t *buf, size_t n)
{
    uint64_t deadline = net_deadline(c->cfg.timeout_ms);
    if (!c->cfg.link.ops->datagram) return c->cfg.link.ops->send(&c->cfg.link, buf, n, deadline);
    for (size_t off = 0; off < n;) {
        size_t len = mb_client_mbap_frame_len(buf + off, n - off);
        int rc = c->cfg.link.ops->send(&c->cfg.link, buf + off, len, deadline);
        if (rc != PLCIO_OK) return rc;
        off += len;
    }
    return PLCIO_OK;
}

/* A link failure: close (the next request reconnects) and end everything
 * in flight with the error. */
static int link_failed(plcio_modbus_client *c, int rc, mb_session_answer_fn cb, void *ctx)
{
    if (c->cfg.link.why[0]) { /* TLS: the cause in words */
        (void)plcio_error_set(&c->last_error, rc, "%s", c->cfg.link.why);
        log_msg(&c->logger, PLCIO_LOG_WARN, "modbus", "%s; closing", c->cfg.link.why);
        c->cfg.link.why[0] = '\0';
    }
    log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "link error: %s; closing", plcio_strerror(rc));
    plcio_modbus_client_close(c);
    mb_session_reset(c->sess, rc, cb, ctx);
    return rc;
}

/* One turn: send what the session has, then wait once for bytes or for the
 * session's next deadline and hand either to it. */
static int pump(plcio_modbus_client *c, mb_session_answer_fn cb, void *ctx)
{
    size_t n;
    const uint8_t *tx = mb_session_next_tx(c->sess, &n);
    if (tx) {
        mb_client_log_tx(c, tx, n);
        int rc = send_frames(c, tx, n);
        if (rc != PLCIO_OK) return link_failed(c, rc, cb, ctx);
        c->last_io_ns = plcio_monotonic_ns();
        c->rx_unacked = false; /* the request carried our ACK */
        mb_session_sent(c->sess, c->last_io_ns, cb, ctx);
    }
    if (!mb_session_pending(c->sess)) return PLCIO_OK;
    if (c->rx_unacked) {
        /* waiting for more answers with nothing to send: ACK what we read at
         * once, or a server with Nagle's algorithm on holds its next answer
         * until our delayed ACK (net_tcp_quickack) */
        (void)net_tcp_quickack(c->cfg.link.fd);
        c->rx_unacked = false;
    }
    uint64_t deadline = mb_session_next_deadline(c->sess);
    if (deadline == 0) deadline = net_deadline(c->cfg.timeout_ms);
    size_t got = 0;
    /* right after sending a lone request its answer cannot be there yet: wait
     * first instead of a read that would only say EAGAIN (with several in
     * flight, answers stream in: read first) */
    int rc = tx && mb_session_pending(c->sess) == 1 && !mb_link_buffered(&c->cfg.link)
                 ? net_wait(c->cfg.link.fd, false, deadline)
                 : PLCIO_OK;
    if (rc == PLCIO_OK) rc = c->cfg.link.ops->recv(&c->cfg.link, c->rx, sizeof c->rx, &got, deadline);
    uint64_t now = plcio_monotonic_ns();
    if (rc == PLCIO_ETIMEDOUT) {
        size_t before = mb_session_pending(c->sess);
        rc = mb_session_on_timeout(c->sess, now, cb, ctx);
        /* An unanswered request on a TCP stream: the device may hold part of
         * it (its parser then reads the next request as garbage); only a new
         * connection puts both ends back at a frame boundary. */
        if (rc == PLCIO_OK && mb_session_pending(c->sess) < before && !c->cfg.link.ops->datagram &&
            !c->cfg.link.ops->serial)
            rc = PLCIO_ETIMEDOUT;
        return rc == PLCIO_OK ? rc : link_failed(c, rc, cb, ctx);
    }
    if (rc != PLCIO_OK) return link_failed(c, rc, cb, ctx);
    log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Rx", c->rx, got);
    c->last_io_ns = now;
    rc = mb_session_feed(c->sess, c->rx, got, now, cb, ctx);
    if (rc != PLCIO_OK) return link_failed(c, rc, cb, ctx);
    c->rx_unacked = c->cfg.link.ops == &mb_link_tcp || c->cfg.link.ops == &mb_link_tls;
    return PLCIO_OK;
}

/* Serial lines: at least t3.5 of silence before a new frame (SL 2.5.1.1),
 * and nothing stale left in the input. */
static void bus_prepare(plcio_modbus_client *c)
{
    c->cfg.link.ops->discard_input(&c->cfg.link);
    uint64_t ready = c->last_io_ns + (uint64_t)c->t35_us * 1000u;
    size_t got;
    while (plcio_monotonic_ns() < ready &&
           c->cfg.link.ops->recv(&c->cfg.link, c->rx, sizeof c->rx, &got, ready) == PLCIO_OK) {
        /* late bytes of an earlier answer: not ours */
    }
}

typedef struct one_answer {
    bool done;
    int result;
    size_t len;
    uint8_t pdu[PLCIO_MB_MAX_PDU];
} one_answer;

static void one_cb(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)token;
    (void)resp;
    one_answer *a = ctx;
    a->done = true;
    a->result = result;
    a->len = 0;
    if (raw && raw_len <= sizeof a->pdu) {
        memcpy(a->pdu, raw, raw_len);
        a->len = raw_len;
    }
}

/* ===========================================================================
 * One request, one answer
 * ========================================================================= */

/* Before a request on an idle TCP stream: what arrived meanwhile (late
 * answers) goes to the session, which drops it; a device that closed the
 * connection (an idle timeout, a request it could not parse) is noticed now,
 * so the request goes on a new connection instead of failing with ECLOSED. */
static void check_idle_stream(plcio_modbus_client *c)
{
    if (c->cfg.link.fd < 0 || c->cfg.link.ops->datagram || c->cfg.link.ops->serial || mb_session_pending(c->sess))
        return;
    size_t got = 0;
    int rc = c->cfg.link.ops->recv(&c->cfg.link, c->rx, sizeof c->rx, &got, 0);
    if (rc == PLCIO_EAGAIN || rc == PLCIO_ETIMEDOUT) return;
    if (rc == PLCIO_OK) rc = mb_session_feed(c->sess, c->rx, got, plcio_monotonic_ns(), NULL, NULL);
    if (rc != PLCIO_OK) link_failed(c, rc, NULL, NULL);
}

static int exchange_once(plcio_modbus_client *c, uint8_t unit, const uint8_t *pdu, size_t len, unsigned flags,
                         uint8_t *resp, size_t *resp_len)
{
    *resp_len = 0;
    if (mb_client_async_active(c)) return PLCIO_EBUSY; /* the event-loop mode has the link */
    int rc = mb_client_blocking_ok(c);
    if (rc != PLCIO_OK) return rc;
    check_idle_stream(c);
    rc = plcio_modbus_client_connect(c);
    if (rc != PLCIO_OK) return rc;
    if (c->cfg.link.ops->serial) bus_prepare(c);
    mb_session_set_window(c->sess, 1);
    one_answer a = {0};
    uint32_t token;
    rc = mb_session_submit_pdu(c->sess, unit, pdu, len, flags, net_deadline(c->cfg.timeout_ms), &token);
    if (rc != PLCIO_OK) return rc;
    while (!a.done)
        pump(c, one_cb, &a);
    memcpy(resp, a.pdu, a.len);
    *resp_len = a.len;
    return a.result;
}

static bool retriable(int rc)
{
    return rc == PLCIO_ETIMEDOUT || rc == PLCIO_ECLOSED || rc == PLCIO_ECRC || rc == PLCIO_EIO || rc == PLCIO_EPROTO ||
           rc == PLCIO_ECONNREFUSED;
}

static int exchange(plcio_modbus_client *c, uint8_t unit, const uint8_t *pdu, size_t len, unsigned flags, uint8_t *resp,
                    size_t *resp_len)
{
    int rc = PLCIO_EINVAL;
    error_begin(&c->last_error); /* what this request fails with, not an earlier one */
    for (unsigned attempt = 0; attempt <= c->cfg.retries; attempt++) {
        if (attempt) log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "retry %u after: %s", attempt, plcio_strerror(rc));
        rc = exchange_once(c, unit, pdu, len, flags, resp, resp_len);
        if (!retriable(rc)) break;
    }
    return rc;
}

int mb_client_pick_unit(const plcio_modbus_client *c, int unit, uint8_t *out)
{
    if (unit == PLCIO_MODBUS_UNIT_DEFAULT) {
        *out = c->cfg.unit;
        return PLCIO_OK;
    }
    if (unit < 0 || unit > 255) return PLCIO_EINVAL;
    *out = (uint8_t)unit;
    return PLCIO_OK;
}

/* Broadcast (unit 0 on a serial bus, SL 2.1): only writes make sense. */
bool mb_client_is_broadcast(const plcio_modbus_client *c, uint8_t unit)
{
    return unit == 0 && (c->cfg.link.ops->serial || c->cfg.framing != MB_FRAMING_MBAP);
}

bool mb_client_broadcast_allowed(uint8_t fc)
{
    return fc == 5 || fc == 6 || fc == 15 || fc == 16 || fc == 21 || fc == 22;
}

/* Encode, exchange, decode, check. resp->data points into resp_buf. */
static int call(plcio_modbus_client *c, int unit_arg, const mb_pdu *req, uint8_t *resp_buf, mb_pdu *resp)
{
    if (!c) return PLCIO_EINVAL;
    c->last_exception = 0;
    memset(resp, 0, sizeof *resp); /* no stale exception code on any failure path */
    uint8_t unit, pdu[PLCIO_MB_MAX_PDU];
    size_t len, resp_len;
    int rc = mb_client_pick_unit(c, unit_arg, &unit);
    if (rc == PLCIO_OK) rc = mb_request_encode(req, pdu, sizeof pdu, &len);
    if (rc != PLCIO_OK) return rc;
    bool bcast = mb_client_is_broadcast(c, unit);
    if (bcast && !mb_client_broadcast_allowed(req->fc)) return PLCIO_EINVAL;
    bool no_answer = bcast || (req->fc == PLCIO_MB_FC_DIAGNOSTICS && req->sub == 0x04);
    rc = exchange(c, unit, pdu, len, no_answer ? MB_REQ_NO_ANSWER : 0u, resp_buf, &resp_len);
    if ((rc != PLCIO_OK && rc != PLCIO_EMBEXC) || no_answer) {
        memset(resp, 0, sizeof *resp);
        return rc;
    }
    if ((rc = mb_response_decode(resp_buf, resp_len, resp)) != PLCIO_OK) return rc;
    rc = mb_response_check(req, resp);
    if (rc == PLCIO_EMBEXC) {
        c->last_exception = resp->exception;
        log_msg(&c->logger, PLCIO_LOG_DEBUG, "modbus", "exception %u (%s) for %s", resp->exception,
                plcio_mb_exception_text(resp->exception), plcio_mb_function_name(req->fc));
    }
    return rc;
}

/* ===========================================================================
 * Function codes
 * ========================================================================= */

static int read_bits(plcio_modbus_client *c, int unit, uint8_t fc, uint16_t addr, uint16_t n, uint8_t *bits)
{
    if (!bits) return PLCIO_EINVAL;
    mb_pdu q = {.fc = fc, .addr = addr, .qty = n}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK && s.data) plcio_mb_unpack_bits(s.data, n, bits);
    return rc;
}

static int read_regs(plcio_modbus_client *c, int unit, uint8_t fc, uint16_t addr, uint16_t n, uint16_t *regs)
{
    if (!regs) return PLCIO_EINVAL;
    mb_pdu q = {.fc = fc, .addr = addr, .qty = n}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK && s.data) plcio_mb_bytes_to_regs(s.data, n, regs);
    return rc;
}

int plcio_modbus_read_coils(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, uint8_t *bits)
{
    return read_bits(c, unit, PLCIO_MB_FC_READ_COILS, addr, n, bits);
}
int plcio_modbus_read_discrete_inputs(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, uint8_t *bits)
{
    return read_bits(c, unit, PLCIO_MB_FC_READ_DISCRETE_INPUTS, addr, n, bits);
}
int plcio_modbus_read_holding_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, uint16_t *regs)
{
    return read_regs(c, unit, PLCIO_MB_FC_READ_HOLDING_REGISTERS, addr, n, regs);
}
int plcio_modbus_read_input_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, uint16_t *regs)
{
    return read_regs(c, unit, PLCIO_MB_FC_READ_INPUT_REGISTERS, addr, n, regs);
}

int plcio_modbus_write_coil(plcio_modbus_client *c, int unit, uint16_t addr, bool on)
{
    mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_SINGLE_COIL, .addr = addr, .value = on ? 0xFF00 : 0x0000}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t value)
{
    mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_SINGLE_REGISTER, .addr = addr, .value = value}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_coils(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, const uint8_t *bits)
{
    if (!bits || n > PLCIO_MB_MAX_WRITE_BITS) return bits ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint8_t packed[PLCIO_MB_MAX_WRITE_BITS / 8 + 1], buf[PLCIO_MB_MAX_PDU];
    size_t bytes = plcio_mb_pack_bits(bits, n, packed);
    mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_MULTIPLE_COILS, .addr = addr, .qty = n, .data = packed, .data_len = bytes};
    mb_pdu s;
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, const uint16_t *regs)
{
    if (!regs || n > PLCIO_MB_MAX_WRITE_REGISTERS) return regs ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint8_t bytes[2 * PLCIO_MB_MAX_WRITE_REGISTERS], buf[PLCIO_MB_MAX_PDU];
    plcio_mb_regs_to_bytes(regs, n, bytes);
    mb_pdu q = {
        .fc = PLCIO_MB_FC_WRITE_MULTIPLE_REGISTERS, .addr = addr, .qty = n, .data = bytes, .data_len = (size_t)n * 2};
    mb_pdu s;
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_mask_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t and_mask,
                                     uint16_t or_mask)
{
    mb_pdu q = {.fc = PLCIO_MB_FC_MASK_WRITE_REGISTER, .addr = addr, .and_mask = and_mask, .or_mask = or_mask};
    mb_pdu s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_read_write_registers(plcio_modbus_client *c, int unit, uint16_t read_addr, uint16_t read_n,
                                      uint16_t *read_regs, uint16_t write_addr, uint16_t write_n,
                                      const uint16_t *write_regs)
{
    if (!read_regs || !write_regs) return PLCIO_EINVAL;
    if (write_n > PLCIO_MB_MAX_RW_WRITE_REGISTERS) return PLCIO_ERANGE;
    uint8_t bytes[2 * PLCIO_MB_MAX_RW_WRITE_REGISTERS], buf[PLCIO_MB_MAX_PDU];
    plcio_mb_regs_to_bytes(write_regs, write_n, bytes);
    mb_pdu q = {.fc = PLCIO_MB_FC_READ_WRITE_REGISTERS,
                .addr = read_addr,
                .qty = read_n,
                .write_addr = write_addr,
                .write_qty = write_n,
                .data = bytes,
                .data_len = (size_t)write_n * 2};
    mb_pdu s;
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK && s.data) plcio_mb_bytes_to_regs(s.data, read_n, read_regs);
    return rc;
}

int plcio_modbus_read_fifo_queue(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t *regs, uint16_t *count)
{
    if (!regs || !count) return PLCIO_EINVAL;
    mb_pdu q = {.fc = PLCIO_MB_FC_READ_FIFO_QUEUE, .addr = addr}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc != PLCIO_OK) return rc;
    *count = s.qty;
    if (s.qty) plcio_mb_bytes_to_regs(s.data, s.qty, regs);
    return PLCIO_OK;
}

int plcio_modbus_read_exception_status(plcio_modbus_client *c, int unit, uint8_t *status)
{
    if (!status) return PLCIO_EINVAL;
    mb_pdu q = {.fc = PLCIO_MB_FC_READ_EXCEPTION_STATUS}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK) *status = (uint8_t)s.value;
    return rc;
}

int plcio_modbus_diagnostics(plcio_modbus_client *c, int unit, uint16_t sub, const uint8_t *data, size_t len,
                             uint8_t *out, size_t cap, size_t *out_len)
{
    if ((len && !data) || (cap && !out)) return PLCIO_EINVAL;
    mb_pdu q = {.fc = PLCIO_MB_FC_DIAGNOSTICS, .sub = sub, .data = data, .data_len = len}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (out_len) *out_len = 0;
    if (rc != PLCIO_OK) return rc;
    if (s.data_len > cap) return PLCIO_ENOSPC;
    if (s.data_len) memcpy(out, s.data, s.data_len);
    if (out_len) *out_len = s.data_len;
    return PLCIO_OK;
}

int plcio_modbus_diagnostic_counter(plcio_modbus_client *c, int unit, uint16_t sub, uint16_t *value)
{
    if (!value) return PLCIO_EINVAL;
    static const uint8_t zero[2] = {0, 0};
    uint8_t out[8];
    size_t n;
    int rc = plcio_modbus_diagnostics(c, unit, sub, zero, 2, out, sizeof out, &n);
    if (rc != PLCIO_OK) return rc;
    if (n != 2) return PLCIO_EPROTO;
    *value = (uint16_t)(out[0] << 8 | out[1]);
    return PLCIO_OK;
}

int plcio_modbus_get_comm_event_counter(plcio_modbus_client *c, int unit, uint16_t *status, uint16_t *event_count)
{
    mb_pdu q = {.fc = PLCIO_MB_FC_GET_COMM_EVENT_COUNTER}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc != PLCIO_OK) return rc;
    if (status) *status = s.status;
    if (event_count) *event_count = s.event_count;
    return PLCIO_OK;
}

int plcio_modbus_get_comm_event_log(plcio_modbus_client *c, int unit, plcio_modbus_event_log *log)
{
    if (!log) return PLCIO_EINVAL;
    mb_pdu q = {.fc = PLCIO_MB_FC_GET_COMM_EVENT_LOG}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc != PLCIO_OK) return rc;
    log->status = s.status;
    log->event_count = s.event_count;
    log->message_count = s.message_count;
    log->event_len = s.data_len;
    if (s.data_len) memcpy(log->events, s.data, s.data_len);
    return PLCIO_OK;
}

int plcio_modbus_report_server_id(plcio_modbus_client *c, int unit, uint8_t *out, size_t cap, size_t *len)
{
    if (!len || (cap && !out)) return PLCIO_EINVAL;
    mb_pdu q = {.fc = PLCIO_MB_FC_REPORT_SERVER_ID}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc != PLCIO_OK) return rc;
    if (s.data_len > cap) return PLCIO_ENOSPC;
    if (s.data_len) memcpy(out, s.data, s.data_len);
    *len = s.data_len;
    return PLCIO_OK;
}

int plcio_modbus_read_file_record(plcio_modbus_client *c, int unit, plcio_modbus_file_record *recs, size_t n)
{
    if (!recs || n == 0 || n > 35) return PLCIO_EINVAL;
    uint8_t req[7 * 35], buf[PLCIO_MB_MAX_PDU];
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = req + 7 * i;
        p[0] = 6; /* AP 6.14: reference type 6 */
        p[1] = (uint8_t)(recs[i].file >> 8), p[2] = (uint8_t)recs[i].file;
        p[3] = (uint8_t)(recs[i].record >> 8), p[4] = (uint8_t)recs[i].record;
        p[5] = (uint8_t)(recs[i].length >> 8), p[6] = (uint8_t)recs[i].length;
    }
    mb_pdu q = {.fc = PLCIO_MB_FC_READ_FILE_RECORD, .data = req, .data_len = 7 * n}, s;
    int rc = call(c, unit, &q, buf, &s);
    if (rc != PLCIO_OK) return rc;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) { /* sub-response: length, ref type, registers */
        if (off >= s.data_len || s.data[off] != 1 + 2u * recs[i].length) return PLCIO_EPROTO;
        if (recs[i].regs) plcio_mb_bytes_to_regs(s.data + off + 2, recs[i].length, recs[i].regs);
        off += 1u + s.data[off];
    }
    return off == s.data_len ? PLCIO_OK : PLCIO_EPROTO;
}

int plcio_modbus_write_file_record(plcio_modbus_client *c, int unit, const plcio_modbus_file_record *recs, size_t n)
{
    if (!recs || n == 0) return PLCIO_EINVAL;
    uint8_t req[PLCIO_MB_MAX_PDU], buf[PLCIO_MB_MAX_PDU];
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t need = 7u + 2u * recs[i].length;
        if (!recs[i].regs || off + need > 0xFB) return PLCIO_ERANGE;
        uint8_t *p = req + off;
        p[0] = 6;
        p[1] = (uint8_t)(recs[i].file >> 8), p[2] = (uint8_t)recs[i].file;
        p[3] = (uint8_t)(recs[i].record >> 8), p[4] = (uint8_t)recs[i].record;
        p[5] = (uint8_t)(recs[i].length >> 8), p[6] = (uint8_t)recs[i].length;
        plcio_mb_regs_to_bytes(recs[i].regs, recs[i].length, p + 7);
        off += need;
    }
    mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_FILE_RECORD, .data = req, .data_len = off}, s;
    return call(c, unit, &q, buf, &s);
}

static int devid_collect(const mb_pdu *s, plcio_modbus_device_object *objs, size_t cap, size_t *count)
{
    size_t off = 0;
    for (unsigned i = 0; i < s->object_count; i++) {
        if (*count >= cap) return PLCIO_ENOSPC;
        plcio_modbus_device_object *o = &objs[(*count)++];
        o->id = s->data[off];
        o->length = s->data[off + 1];
        memcpy(o->value, s->data + off + 2, o->length);
        o->value[o->length] = '\0';
        off += 2u + o->length;
    }
    return PLCIO_OK;
}

int plcio_modbus_read_device_id(plcio_modbus_client *c, int unit, uint8_t code, uint8_t object_id,
                                plcio_modbus_device_object *objs, size_t cap, size_t *count)
{
    if (!objs || !count) return PLCIO_EINVAL;
    *count = 0;
    uint8_t next = object_id;
    for (int round = 0; round < 256; round++) {
        mb_pdu q = {
            .fc = PLCIO_MB_FC_ENCAPSULATED, .mei = PLCIO_MB_MEI_DEVICE_ID, .devid_code = code, .object_id = next};
        mb_pdu s;
        uint8_t buf[PLCIO_MB_MAX_PDU];
        int rc = call(c, unit, &q, buf, &s);
        if (rc == PLCIO_OK) rc = devid_collect(&s, objs, cap, count);
        if (rc != PLCIO_OK) return rc;
        /* AP 6.21: more follows 0xFF -> ask again from next object id. */
        if (code == 4 || s.more_follows != 0xFF) return PLCIO_OK;
        if (s.next_object_id <= next && round > 0) return PLCIO_EPROTO; /* no progress: a loop */
        next = s.next_object_id;
    }
    return PLCIO_EPROTO;
}

int plcio_modbus_execute(plcio_modbus_client *c, int unit_arg, const uint8_t *pdu, size_t len, uint8_t *resp,
                         size_t cap, size_t *resp_len)
{
    if (!c || !pdu || !resp || !resp_len || len < 1 || len > PLCIO_MB_MAX_PDU) return PLCIO_EINVAL;
    c->last_exception = 0;
    uint8_t unit, buf[PLCIO_MB_MAX_PDU];
    size_t n = 0;
    int rc = mb_client_pick_unit(c, unit_arg, &unit);
    if (rc != PLCIO_OK) return rc;
    unsigned flags = MB_REQ_RAW | (mb_client_is_broadcast(c, unit) ? MB_REQ_NO_ANSWER : 0u);
    rc = exchange(c, unit, pdu, len, flags, buf, &n);
    if (rc != PLCIO_OK && rc != PLCIO_EMBEXC) return rc;
    if (n > cap) return PLCIO_ENOSPC;
    if (n) memcpy(resp, buf, n);
    *resp_len = n;
    if (rc == PLCIO_EMBEXC) c->last_exception = buf[1];
    return rc;
}

/* ===========================================================================
 * Typed helpers
 * ========================================================================= */

int plcio_modbus_read_floats(plcio_modbus_client *c, int unit, bool input, uint16_t addr, size_t n, float *out,
                             plcio_mb_order order)
{
    if (!out || n == 0 || n > PLCIO_MB_MAX_READ_REGISTERS / 2) return out ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint16_t regs[PLCIO_MB_MAX_READ_REGISTERS];
    int rc = input ? plcio_modbus_read_input_registers(c, unit, addr, (uint16_t)(2 * n), regs)
                   : plcio_modbus_read_holding_registers(c, unit, addr, (uint16_t)(2 * n), regs);
    if (rc == PLCIO_OK) plcio_mb_get_f32_array(regs, out, n, order);
    return rc;
}

int plcio_modbus_write_floats(plcio_modbus_client *c, int unit, uint16_t addr, size_t n, const float *v,
                              plcio_mb_order order)
{
    if (!v || n == 0 || n > PLCIO_MB_MAX_WRITE_REGISTERS / 2) return v ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint16_t regs[PLCIO_MB_MAX_WRITE_REGISTERS];
    plcio_mb_put_f32_array(regs, v, n, order);
    return plcio_modbus_write_registers(c, unit, addr, (uint16_t)(2 * n), regs);
}

/* ===========================================================================
 * Several requests in flight
 * ========================================================================= */

int mb_client_request_pdu(const plcio_modbus_request *r, mb_pdu *q, uint8_t *scratch)
{
    memset(q, 0, sizeof *q);
    q->fc = r->function;
    q->addr = r->addr;
    q->qty = r->n;
    switch (r->function) {
    case 1:
    case 2:
        if (!r->bits) return PLCIO_EINVAL;
        return PLCIO_OK;
    case 3:
    case 4:
        if (!r->regs) return PLCIO_EINVAL;
        return PLCIO_OK;
    case 5:
        if (!r->bits) return PLCIO_EINVAL;
        q->value = r->bits[0] ? 0xFF00 : 0;
        return PLCIO_OK;
    case 6:
        if (!r->regs) return PLCIO_EINVAL;
        q->value = r->regs[0];
        return PLCIO_OK;
    case 15:
        if (!r->bits || r->n > PLCIO_MB_MAX_WRITE_BITS) return PLCIO_ERANGE;
        q->data = scratch;
        q->data_len = plcio_mb_pack_bits(r->bits, r->n, scratch);
        return PLCIO_OK;
    case 16:
        if (!r->regs || r->n > PLCIO_MB_MAX_WRITE_REGISTERS) return PLCIO_ERANGE;
        plcio_mb_regs_to_bytes(r->regs, r->n, scratch);
        q->data = scratch;
        q->data_len = (size_t)r->n * 2;
        return PLCIO_OK;
    default: return PLCIO_EUNSUPPORTED;
    }
}

/* Copy an answer into the request's buffers. */
void mb_client_request_finish(plcio_modbus_request *r, int result, const mb_pdu *s)
{
    r->result = result;
    if (result == PLCIO_EMBEXC && s) r->exception = s->exception;
    if (result != PLCIO_OK || !s) return;
    if (r->function <= 2) plcio_mb_unpack_bits(s->data, r->n, r->bits);
    if (r->function == 3 || r->function == 4) plcio_mb_bytes_to_regs(s->data, r->n, r->regs);
}

typedef struct many_ctx {
    plcio_modbus_request *reqs;
    uint32_t *tokens;
    size_t n;
} many_ctx;

static void many_cb(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    many_ctx *m = ctx;
    for (size_t i = 0; i < m->n; i++)
        if (m->tokens[i] == token) {
            mb_client_request_finish(&m->reqs[i], result, resp);
            return;
        }
}

static int transact_serial(plcio_modbus_client *c, plcio_modbus_request *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        plcio_modbus_request *r = &reqs[i];
        mb_pdu q, s;
        uint8_t scratch[PLCIO_MB_MAX_PDU], buf[PLCIO_MB_MAX_PDU];
        r->result = mb_client_request_pdu(r, &q, scratch);
        if (r->result != PLCIO_OK) continue;
        r->result = call(c, r->unit, &q, buf, &s);
        if (r->result == PLCIO_EMBEXC) r->exception = s.exception;
        if (r->result == PLCIO_OK && r->function <= 2) plcio_mb_unpack_bits(s.data, r->n, r->bits);
        if (r->result == PLCIO_OK && (r->function == 3 || r->function == 4))
            plcio_mb_bytes_to_regs(s.data, r->n, r->regs);
    }
    return PLCIO_OK;
}

int plcio_modbus_transact_many(plcio_modbus_client *c, plcio_modbus_request *reqs, size_t n, size_t window)
{
    if (!c || (!reqs && n)) return PLCIO_EINVAL;
    for (size_t i = 0; i < n; i++)
        reqs[i].result = PLCIO_ECANCELED, reqs[i].exception = 0;
    if (n == 0) return PLCIO_OK; /* calloc(0) may return NULL: not an out-of-memory */
    if (mb_client_async_active(c)) return PLCIO_EBUSY;
    if (c->cfg.framing != MB_FRAMING_MBAP || window <= 1) return transact_serial(c, reqs, n);
    int rc = plcio_modbus_client_connect(c);
    if (rc != PLCIO_OK) return rc;
    many_ctx m = {reqs, calloc(n, sizeof(uint32_t)), n};
    if (!m.tokens) return PLCIO_ENOMEM;
    if (window > MB_SESSION_MAX_WINDOW) window = MB_SESSION_MAX_WINDOW;
    mb_session_set_window(c->sess, (unsigned)window);
    size_t next = 0;
    while (rc == PLCIO_OK && (next < n || mb_session_pending(c->sess))) {
        /* keep the queue at the window: a queued request's deadline is already running */
        while (next < n && mb_session_pending(c->sess) < window) {
            plcio_modbus_request *r = &reqs[next];
            mb_pdu q;
            /* cppcheck-suppress variableScope ; q points into scratch until mb_session_submit copies it */
            uint8_t scratch[PLCIO_MB_MAX_PDU], unit;
            int e = mb_client_pick_unit(c, r->unit, &unit);
            if (e == PLCIO_OK) e = mb_client_request_pdu(r, &q, scratch);
            if (e == PLCIO_OK)
                e = mb_session_submit(c->sess, unit, &q, net_deadline(c->cfg.timeout_ms), &m.tokens[next]);
            if (e != PLCIO_OK) r->result = e;
            next++;
        }
        rc = pump(c, many_cb, &m);
    }
    free(m.tokens);
    mb_session_set_window(c->sess, 1);
    return rc;
}
