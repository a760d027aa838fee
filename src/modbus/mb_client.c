/* Modbus client: a blocking loop around the codec and the framers, with
 * connect on demand, retries, answer matching (transaction id, unit,
 * function) and several requests in flight on MBAP links. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_codec.h"
#include "modbus/mb_link.h"
#include "plcio/modbus.h"

#define MB_RX_CAP     4096
#define MB_MAX_WINDOW 64

struct plcio_modbus_client {
    mb_url_config cfg; /* link, framing, default unit, timeout, retries */
    plcio_logger logger;
    uint16_t next_tid;
    int last_exception;
    uint32_t t35_us;     /* serial inter-frame silence */
    uint64_t last_io_ns; /* end of the last frame on a serial line */
    uint8_t ascii_lf;    /* ASCII end delimiter */
    size_t rx_len;
    uint8_t rx[MB_RX_CAP];
    uint8_t scratch[PLCIO_MB_RTU_MAX_ADU]; /* ASCII hex decoded */
};

/* ===========================================================================
 * Handle
 * ========================================================================= */

plcio_modbus_client *plcio_modbus_client_new(const char *url, const plcio_logger *logger, int *err)
{
    int rc = PLCIO_EINVAL;
    plcio_modbus_client *c = NULL;
    if (url) {
        c = calloc(1, sizeof *c);
        rc = c ? mb_url_parse(url, false, &c->cfg) : PLCIO_ENOMEM;
    }
    if (rc != PLCIO_OK) {
        free(c);
        if (err) *err = rc;
        return NULL;
    }
    if (logger) c->logger = *logger;
    uint32_t t15;
    plcio_mb_rtu_timing(c->cfg.link.serial.baud, &t15, &c->t35_us);
    c->ascii_lf = '\n';
    c->next_tid = (uint16_t)(plcio_monotonic_ns() & 0xFFFF); /* differ across reconnects of processes */
    if (err) *err = PLCIO_OK;
    return c;
}

void plcio_modbus_client_free(plcio_modbus_client *c)
{
    if (!c) return;
    mb_link_close(&c->cfg.link);
    free(c);
}

static const char *framing_name(mb_framing f)
{
    return f == MB_FRAMING_MBAP ? "mbap" : f == MB_FRAMING_RTU ? "rtu" : "ascii";
}

int plcio_modbus_client_connect(plcio_modbus_client *c)
{
    if (!c) return PLCIO_EINVAL;
    if (c->cfg.link.fd >= 0) return PLCIO_OK;
    int rc = c->cfg.link.ops->open(&c->cfg.link, c->cfg.timeout_ms);
    c->rx_len = 0;
    if (rc == PLCIO_OK)
        plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "opened %s link (%s framing) to %s%s", c->cfg.link.ops->name,
                  framing_name(c->cfg.framing), c->cfg.link.host, c->cfg.link.device);
    else
        plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "open %s%s failed: %s", c->cfg.link.host, c->cfg.link.device,
                  plcio_strerror(rc));
    return rc;
}

void plcio_modbus_client_close(plcio_modbus_client *c)
{
    if (!c) return;
    mb_link_close(&c->cfg.link);
    c->rx_len = 0;
}

bool plcio_modbus_client_is_open(const plcio_modbus_client *c) { return c && c->cfg.link.fd >= 0; }
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
 * Framing
 * ========================================================================= */

static int frame_encode(plcio_modbus_client *c, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t len,
                        uint8_t *out, size_t cap, size_t *n)
{
    switch (c->cfg.framing) {
    case MB_FRAMING_MBAP: return plcio_mb_mbap_encode(tid, unit, pdu, len, out, cap, n);
    case MB_FRAMING_RTU: return plcio_mb_rtu_encode(unit, pdu, len, out, cap, n);
    default: return plcio_mb_ascii_encode(unit, pdu, len, out, cap, n);
    }
}

static int frame_decode(plcio_modbus_client *c, bool idle, plcio_mb_frame *f, size_t *used)
{
    size_t need;
    switch (c->cfg.framing) {
    case MB_FRAMING_MBAP: return plcio_mb_mbap_decode(c->rx, c->rx_len, f, used, &need);
    case MB_FRAMING_RTU: return plcio_mb_rtu_decode(c->rx, c->rx_len, false, idle, f, used, &need);
    default: return plcio_mb_ascii_decode(c->rx, c->rx_len, c->ascii_lf, c->scratch, sizeof c->scratch, f, used, &need);
    }
}

static void rx_consume(plcio_modbus_client *c, size_t n)
{
    if (n >= c->rx_len) {
        c->rx_len = 0;
        return;
    }
    memmove(c->rx, c->rx + n, c->rx_len - n);
    c->rx_len -= n;
}

/* A link failure: close, so the next request reconnects. */
static int link_failed(plcio_modbus_client *c, int rc)
{
    plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "link error: %s; closing", plcio_strerror(rc));
    plcio_modbus_client_close(c);
    return rc;
}

/* Read more bytes into rx until `deadline`; on serial lines report silence
 * (t3.5 after the last byte) through *idle. */
static int rx_fill(plcio_modbus_client *c, uint64_t deadline, bool *idle)
{
    *idle = false;
    if (c->rx_len == MB_RX_CAP) c->rx_len = 0; /* garbage that never framed */
    uint64_t until = deadline;
    /* RTU frames whose length the content does not tell (unknown function,
     * FC 8/00) end at silence: t3.5 on a line, 20 ms on a TCP stream. */
    bool bus = (c->cfg.link.ops->serial || c->cfg.framing == MB_FRAMING_RTU) && c->rx_len > 0;
    if (bus) {
        uint64_t silence = c->cfg.link.ops->serial ? (uint64_t)c->t35_us * 1000u : 20 * PLCIO_NS_PER_MS;
        uint64_t gap = c->last_io_ns + silence;
        if (gap < until) until = gap;
    }
    size_t got = 0;
    int rc = c->cfg.link.ops->recv(&c->cfg.link, c->rx + c->rx_len, MB_RX_CAP - c->rx_len, &got, until);
    if (rc == PLCIO_ETIMEDOUT && bus && until < deadline) {
        *idle = true;
        return PLCIO_OK;
    }
    if (rc != PLCIO_OK) return rc;
    c->rx_len += got;
    c->last_io_ns = plcio_monotonic_ns();
    return PLCIO_OK;
}

/* Wait for the next frame. PLCIO_OK: *f points into rx/scratch and *used
 * bytes are to be consumed after use. */
static int rx_frame(plcio_modbus_client *c, uint64_t deadline, plcio_mb_frame *f, size_t *used)
{
    bool idle = false;
    for (;;) {
        int rc = frame_decode(c, idle, f, used);
        if (rc == PLCIO_OK) {
            plcio_log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Rx", c->rx, *used);
            return PLCIO_OK;
        }
        if (rc == PLCIO_EAGAIN && c->cfg.link.ops->datagram && c->rx_len) rc = PLCIO_EPROTO; /* short datagram */
        if (rc != PLCIO_EAGAIN) {
            plcio_log_hex(&c->logger, PLCIO_LOG_DEBUG, "modbus", "dropping bad frame", c->rx, c->rx_len);
            if (c->cfg.framing == MB_FRAMING_MBAP && !c->cfg.link.ops->datagram) return link_failed(c, PLCIO_EPROTO);
            size_t drop = c->cfg.link.ops->datagram ? c->rx_len : *used;
            rx_consume(c, drop ? drop : c->rx_len);
            if (rc == PLCIO_ECRC) return rc; /* the answer is lost: let the caller retry */
            idle = false;
            continue;
        }
        rc = rx_fill(c, deadline, &idle);
        if (rc != PLCIO_OK) return rc == PLCIO_ETIMEDOUT ? rc : link_failed(c, rc);
    }
}

static int send_frame(plcio_modbus_client *c, const uint8_t *frame, size_t n, uint64_t deadline)
{
    plcio_log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Tx", frame, n);
    int rc = c->cfg.link.ops->send(&c->cfg.link, frame, n, deadline);
    if (rc != PLCIO_OK) return link_failed(c, rc);
    c->last_io_ns = plcio_monotonic_ns();
    return PLCIO_OK;
}

/* Serial lines: at least t3.5 of silence before a new frame (SL 2.5.1.1),
 * and nothing stale left in the input. */
static void bus_prepare(plcio_modbus_client *c)
{
    c->cfg.link.ops->discard_input(&c->cfg.link);
    c->rx_len = 0;
    uint64_t ready = c->last_io_ns + (uint64_t)c->t35_us * 1000u;
    while (plcio_monotonic_ns() < ready) {
        bool idle;
        if (rx_fill(c, ready, &idle) != PLCIO_OK) break;
        c->rx_len = 0; /* late bytes of an earlier answer: not ours */
    }
}

/* ===========================================================================
 * One request, one answer
 * ========================================================================= */

/* Is this frame the answer to (tid, unit, fc)? */
static bool answer_matches(const plcio_modbus_client *c, const plcio_mb_frame *f, uint16_t tid, uint8_t unit,
                           uint8_t fc)
{
    if (c->cfg.framing == MB_FRAMING_MBAP && f->tid != tid) return false;
    return f->unit == unit && f->pdu_len >= 1 && (f->pdu[0] & 0x7F) == fc;
}

static int exchange_once(plcio_modbus_client *c, uint8_t unit, const uint8_t *pdu, size_t len, bool no_answer,
                         uint8_t *resp, size_t *resp_len)
{
    int rc = plcio_modbus_client_connect(c);
    if (rc != PLCIO_OK) return rc;
    if (c->cfg.link.ops->serial)
        bus_prepare(c);
    else if (c->cfg.framing != MB_FRAMING_MBAP)
        c->rx_len = 0; /* RTU/ASCII over TCP: no ids to match */
    uint8_t frame[PLCIO_MB_ASCII_MAX_ADU + 8];
    size_t n;
    uint16_t tid = ++c->next_tid;
    if ((rc = frame_encode(c, tid, unit, pdu, len, frame, sizeof frame, &n)) != PLCIO_OK) return rc;
    uint64_t deadline = plcio_net_deadline(c->cfg.timeout_ms);
    if ((rc = send_frame(c, frame, n, deadline)) != PLCIO_OK) return rc;
    *resp_len = 0;
    if (no_answer) return PLCIO_OK;
    for (;;) {
        plcio_mb_frame f;
        size_t used;
        if ((rc = rx_frame(c, deadline, &f, &used)) != PLCIO_OK) return rc;
        if (answer_matches(c, &f, tid, unit, pdu[0])) {
            memcpy(resp, f.pdu, f.pdu_len);
            *resp_len = f.pdu_len;
            rx_consume(c, used);
            return PLCIO_OK;
        }
        plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus",
                  "dropping answer that is not for this request (tid %u unit %u fc %u; want tid %u unit %u fc %u)",
                  f.tid, f.unit, f.pdu_len ? f.pdu[0] : 0u, tid, unit, pdu[0]);
        rx_consume(c, used);
    }
}

static bool retriable(int rc)
{
    return rc == PLCIO_ETIMEDOUT || rc == PLCIO_ECLOSED || rc == PLCIO_ECRC || rc == PLCIO_EIO || rc == PLCIO_EPROTO ||
           rc == PLCIO_ECONNREFUSED;
}

static int exchange(plcio_modbus_client *c, uint8_t unit, const uint8_t *pdu, size_t len, bool no_answer, uint8_t *resp,
                    size_t *resp_len)
{
    int rc = PLCIO_EINVAL;
    for (unsigned attempt = 0; attempt <= c->cfg.retries; attempt++) {
        if (attempt)
            plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "retry %u after: %s", attempt, plcio_strerror(rc));
        rc = exchange_once(c, unit, pdu, len, no_answer, resp, resp_len);
        if (!retriable(rc)) break;
    }
    return rc;
}

static int pick_unit(const plcio_modbus_client *c, int unit, uint8_t *out)
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
static bool is_broadcast(const plcio_modbus_client *c, uint8_t unit)
{
    return unit == 0 && (c->cfg.link.ops->serial || c->cfg.framing != MB_FRAMING_MBAP);
}

static bool broadcast_allowed(uint8_t fc) { return fc == 5 || fc == 6 || fc == 15 || fc == 16 || fc == 21 || fc == 22; }

/* Encode, exchange, decode, check. resp->data points into resp_buf. */
static int call(plcio_modbus_client *c, int unit_arg, const plcio_mb_pdu *req, uint8_t *resp_buf, plcio_mb_pdu *resp)
{
    if (!c) return PLCIO_EINVAL;
    c->last_exception = 0;
    uint8_t unit, pdu[PLCIO_MB_MAX_PDU];
    size_t len, resp_len;
    int rc = pick_unit(c, unit_arg, &unit);
    if (rc == PLCIO_OK) rc = plcio_mb_request_encode(req, pdu, sizeof pdu, &len);
    if (rc != PLCIO_OK) return rc;
    bool bcast = is_broadcast(c, unit);
    if (bcast && !broadcast_allowed(req->fc)) return PLCIO_EINVAL;
    bool no_answer = bcast || (req->fc == PLCIO_MB_FC_DIAGNOSTICS && req->sub == 0x04);
    rc = exchange(c, unit, pdu, len, no_answer, resp_buf, &resp_len);
    if (rc != PLCIO_OK || no_answer) {
        memset(resp, 0, sizeof *resp);
        return rc;
    }
    if ((rc = plcio_mb_response_decode(resp_buf, resp_len, resp)) != PLCIO_OK) return rc;
    rc = plcio_mb_response_check(req, resp);
    if (rc == PLCIO_EMBEXC) {
        c->last_exception = resp->exception;
        plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "exception %u (%s) for %s", resp->exception,
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
    plcio_mb_pdu q = {.fc = fc, .addr = addr, .qty = n}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK && s.data) plcio_mb_unpack_bits(s.data, n, bits);
    return rc;
}

static int read_regs(plcio_modbus_client *c, int unit, uint8_t fc, uint16_t addr, uint16_t n, uint16_t *regs)
{
    if (!regs) return PLCIO_EINVAL;
    plcio_mb_pdu q = {.fc = fc, .addr = addr, .qty = n}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_SINGLE_COIL, .addr = addr, .value = on ? 0xFF00 : 0x0000}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t value)
{
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_SINGLE_REGISTER, .addr = addr, .value = value}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_coils(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, const uint8_t *bits)
{
    if (!bits || n > PLCIO_MB_MAX_WRITE_BITS) return bits ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint8_t packed[PLCIO_MB_MAX_WRITE_BITS / 8 + 1], buf[PLCIO_MB_MAX_PDU];
    size_t bytes = plcio_mb_pack_bits(bits, n, packed);
    plcio_mb_pdu q = {
        .fc = PLCIO_MB_FC_WRITE_MULTIPLE_COILS, .addr = addr, .qty = n, .data = packed, .data_len = bytes};
    plcio_mb_pdu s;
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_write_registers(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t n, const uint16_t *regs)
{
    if (!regs || n > PLCIO_MB_MAX_WRITE_REGISTERS) return regs ? PLCIO_ERANGE : PLCIO_EINVAL;
    uint8_t bytes[2 * PLCIO_MB_MAX_WRITE_REGISTERS], buf[PLCIO_MB_MAX_PDU];
    plcio_mb_regs_to_bytes(regs, n, bytes);
    plcio_mb_pdu q = {
        .fc = PLCIO_MB_FC_WRITE_MULTIPLE_REGISTERS, .addr = addr, .qty = n, .data = bytes, .data_len = 2u * n};
    plcio_mb_pdu s;
    return call(c, unit, &q, buf, &s);
}

int plcio_modbus_mask_write_register(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t and_mask,
                                     uint16_t or_mask)
{
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_MASK_WRITE_REGISTER, .addr = addr, .and_mask = and_mask, .or_mask = or_mask};
    plcio_mb_pdu s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_READ_WRITE_REGISTERS,
                      .addr = read_addr,
                      .qty = read_n,
                      .write_addr = write_addr,
                      .write_qty = write_n,
                      .data = bytes,
                      .data_len = 2u * write_n};
    plcio_mb_pdu s;
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK && s.data) plcio_mb_bytes_to_regs(s.data, read_n, read_regs);
    return rc;
}

int plcio_modbus_read_fifo_queue(plcio_modbus_client *c, int unit, uint16_t addr, uint16_t *regs, uint16_t *count)
{
    if (!regs || !count) return PLCIO_EINVAL;
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_READ_FIFO_QUEUE, .addr = addr}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_READ_EXCEPTION_STATUS}, s;
    uint8_t buf[PLCIO_MB_MAX_PDU];
    int rc = call(c, unit, &q, buf, &s);
    if (rc == PLCIO_OK) *status = (uint8_t)s.value;
    return rc;
}

int plcio_modbus_diagnostics(plcio_modbus_client *c, int unit, uint16_t sub, const uint8_t *data, size_t len,
                             uint8_t *out, size_t cap, size_t *out_len)
{
    if ((len && !data) || (cap && !out)) return PLCIO_EINVAL;
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_DIAGNOSTICS, .sub = sub, .data = data, .data_len = len}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_GET_COMM_EVENT_COUNTER}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_GET_COMM_EVENT_LOG}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_REPORT_SERVER_ID}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_READ_FILE_RECORD, .data = req, .data_len = 7 * n}, s;
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
    plcio_mb_pdu q = {.fc = PLCIO_MB_FC_WRITE_FILE_RECORD, .data = req, .data_len = off}, s;
    return call(c, unit, &q, buf, &s);
}

static int devid_collect(const plcio_mb_pdu *s, plcio_modbus_device_object *objs, size_t cap, size_t *count)
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
        plcio_mb_pdu q = {
            .fc = PLCIO_MB_FC_ENCAPSULATED, .mei = PLCIO_MB_MEI_DEVICE_ID, .devid_code = code, .object_id = next};
        plcio_mb_pdu s;
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
    size_t n;
    int rc = pick_unit(c, unit_arg, &unit);
    if (rc != PLCIO_OK) return rc;
    bool bcast = is_broadcast(c, unit);
    if ((rc = exchange(c, unit, pdu, len, bcast, buf, &n)) != PLCIO_OK) return rc;
    if (n > cap) return PLCIO_ENOSPC;
    memcpy(resp, buf, n);
    *resp_len = n;
    if (n == 2 && (buf[0] & 0x80)) {
        c->last_exception = buf[1];
        return PLCIO_EMBEXC;
    }
    return PLCIO_OK;
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

static int request_pdu(const plcio_modbus_request *r, plcio_mb_pdu *q, uint8_t *scratch)
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
        q->data_len = 2u * r->n;
        return PLCIO_OK;
    default: return PLCIO_EUNSUPPORTED;
    }
}

/* Decode an answer into the request's buffers. */
static void request_finish(plcio_modbus_request *r, const uint8_t *pdu, size_t len)
{
    plcio_mb_pdu q, s;
    uint8_t scratch[PLCIO_MB_MAX_PDU];
    request_pdu(r, &q, scratch);
    r->result = plcio_mb_response_decode(pdu, len, &s);
    if (r->result == PLCIO_OK) r->result = plcio_mb_response_check(&q, &s);
    if (r->result == PLCIO_EMBEXC) r->exception = s.exception;
    if (r->result != PLCIO_OK) return;
    if (r->function <= 2) plcio_mb_unpack_bits(s.data, r->n, r->bits);
    if (r->function == 3 || r->function == 4) plcio_mb_bytes_to_regs(s.data, r->n, r->regs);
}

typedef struct inflight {
    size_t index;
    uint16_t tid;
    uint8_t unit;
    uint64_t deadline;
} inflight;

/* Encode requests [*next, ...) into out until the window is full. */
static int pipeline_fill(plcio_modbus_client *c, plcio_modbus_request *reqs, size_t n, size_t window, size_t *next,
                         inflight *fl, size_t *nfl, uint8_t *out, size_t cap, size_t *used)
{
    *used = 0;
    while (*next < n && *nfl < window && cap - *used >= PLCIO_MB_TCP_MAX_ADU) {
        plcio_modbus_request *r = &reqs[(*next)++];
        plcio_mb_pdu q;
        uint8_t scratch[PLCIO_MB_MAX_PDU], pdu[PLCIO_MB_MAX_PDU], unit;
        size_t len, flen;
        int rc = pick_unit(c, r->unit, &unit);
        if (rc == PLCIO_OK) rc = request_pdu(r, &q, scratch);
        if (rc == PLCIO_OK) rc = plcio_mb_request_encode(&q, pdu, sizeof pdu, &len);
        if (rc != PLCIO_OK) {
            r->result = rc;
            continue;
        }
        uint16_t tid = ++c->next_tid;
        if ((rc = plcio_mb_mbap_encode(tid, unit, pdu, len, out + *used, cap - *used, &flen)) != PLCIO_OK) return rc;
        fl[(*nfl)++] = (inflight){(size_t)(r - reqs), tid, unit, plcio_net_deadline(c->cfg.timeout_ms)};
        if (c->cfg.link.ops->datagram) { /* UDP: one frame per datagram */
            if ((rc = send_frame(c, out + *used, flen, fl[*nfl - 1].deadline)) != PLCIO_OK) return rc;
            continue;
        }
        plcio_log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Tx", out + *used, flen);
        *used += flen;
    }
    return PLCIO_OK;
}

/* Frames already logged one by one: send them in one write. */
static int send_batch(plcio_modbus_client *c, const uint8_t *buf, size_t n)
{
    int rc = c->cfg.link.ops->send(&c->cfg.link, buf, n, plcio_net_deadline(c->cfg.timeout_ms));
    return rc == PLCIO_OK ? rc : link_failed(c, rc);
}

static void fail_rest(plcio_modbus_request *reqs, size_t n, size_t next, const inflight *fl, size_t nfl, int rc)
{
    for (size_t i = 0; i < nfl; i++)
        reqs[fl[i].index].result = rc;
    for (size_t i = next; i < n; i++)
        reqs[i].result = PLCIO_ECANCELED;
}

/* Match a frame to an in-flight request and finish it; unknown ids are dropped. */
static void pipeline_match(plcio_modbus_client *c, plcio_modbus_request *reqs, inflight *fl, size_t *nfl,
                           const plcio_mb_frame *f)
{
    for (size_t i = 0; i < *nfl; i++) {
        plcio_modbus_request *r = &reqs[fl[i].index];
        if (f->tid == fl[i].tid && f->unit == fl[i].unit && (f->pdu[0] & 0x7F) == r->function) {
            request_finish(r, f->pdu, f->pdu_len);
            fl[i] = fl[--*nfl];
            return;
        }
    }
    plcio_log(&c->logger, PLCIO_LOG_DEBUG, "modbus", "dropping answer with unknown transaction id %u", f->tid);
}

/* Take at least one answer (or a timeout) for the in-flight set, then every
 * further answer already buffered, so refills go out in one write. */
static int pipeline_receive(plcio_modbus_client *c, plcio_modbus_request *reqs, inflight *fl, size_t *nfl)
{
    uint64_t deadline = fl[0].deadline;
    for (size_t i = 1; i < *nfl; i++)
        if (fl[i].deadline < deadline) deadline = fl[i].deadline;
    plcio_mb_frame f;
    size_t used;
    int rc = rx_frame(c, deadline, &f, &used);
    if (rc == PLCIO_ETIMEDOUT) { /* the oldest request times out, the others go on */
        size_t k = 0;
        for (size_t i = 1; i < *nfl; i++)
            if (fl[i].deadline < fl[k].deadline) k = i;
        reqs[fl[k].index].result = PLCIO_ETIMEDOUT;
        fl[k] = fl[--*nfl];
        return PLCIO_OK;
    }
    while (rc == PLCIO_OK) {
        pipeline_match(c, reqs, fl, nfl, &f);
        rx_consume(c, used);
        if (!*nfl || frame_decode(c, false, &f, &used) != PLCIO_OK) return PLCIO_OK;
        plcio_log_hex(&c->logger, PLCIO_LOG_TRACE, "modbus", "Rx", c->rx, used);
    }
    return rc;
}

static int transact_serial(plcio_modbus_client *c, plcio_modbus_request *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        plcio_modbus_request *r = &reqs[i];
        plcio_mb_pdu q, s;
        uint8_t scratch[PLCIO_MB_MAX_PDU], buf[PLCIO_MB_MAX_PDU];
        r->result = request_pdu(r, &q, scratch);
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
    if (c->cfg.framing != MB_FRAMING_MBAP || window <= 1) return transact_serial(c, reqs, n);
    if (window > MB_MAX_WINDOW) window = MB_MAX_WINDOW;
    int rc = plcio_modbus_client_connect(c);
    if (rc != PLCIO_OK) {
        fail_rest(reqs, n, 0, NULL, 0, rc);
        return rc;
    }
    inflight fl[MB_MAX_WINDOW];
    size_t nfl = 0, next = 0;
    uint8_t *out = malloc(MB_MAX_WINDOW * PLCIO_MB_TCP_MAX_ADU);
    if (!out) return PLCIO_ENOMEM;
    while (next < n || nfl > 0) {
        size_t used;
        rc = pipeline_fill(c, reqs, n, window, &next, fl, &nfl, out, MB_MAX_WINDOW * PLCIO_MB_TCP_MAX_ADU, &used);
        if (rc == PLCIO_OK && used) rc = send_batch(c, out, used);
        if (rc == PLCIO_OK && nfl) rc = pipeline_receive(c, reqs, fl, &nfl);
        if (rc != PLCIO_OK) {
            fail_rest(reqs, n, next, fl, nfl, rc);
            break;
        }
    }
    free(out);
    return rc;
}
