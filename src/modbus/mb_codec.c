/* Modbus PDU codec: one small encoder/decoder per function code, dispatched
 * through a table. Requests are checked against the limits of AP 6.x; the
 * decoders report the exception code a server must answer with. */
#include "modbus/mb_codec.h"

#include <string.h>

#include "plcio/bytes.h"

/* ---- texts ---- */

const char *plcio_mb_exception_text(int code)
{
    switch (code) {
    case 0x01: return "illegal function";
    case 0x02: return "illegal data address";
    case 0x03: return "illegal data value";
    case 0x04: return "server device failure";
    case 0x05: return "acknowledge";
    case 0x06: return "server device busy";
    case 0x07: return "negative acknowledge";
    case 0x08: return "memory parity error";
    case 0x0A: return "gateway path unavailable";
    case 0x0B: return "gateway target device failed to respond";
    default: return "unknown exception";
    }
}

/* ---- helpers ---- */

static int exc(mb_pdu *p, uint8_t code)
{
    p->exception = code;
    return PLCIO_EMBEXC;
}

static int finish(const plcio_wcursor *w, size_t *len)
{
    if (w->overrun) return PLCIO_ENOSPC;
    *len = plcio_wcursor_used(w);
    return PLCIO_OK;
}

static bool in_range(unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; }

/* Address range [addr, addr + qty) must stay inside the 16-bit space. */
static bool span_ok(uint16_t addr, uint16_t qty) { return (uint32_t)addr + qty <= 0x10000u; }

/* ===========================================================================
 * Per function code: request encode/decode, response encode/decode.
 * ========================================================================= */

/* FC 1-4: request addr, qty; response byte count + data. */
static unsigned read_limit(uint8_t fc)
{
    return fc <= PLCIO_MB_FC_READ_DISCRETE_INPUTS ? PLCIO_MB_MAX_READ_BITS : PLCIO_MB_MAX_READ_REGISTERS;
}

static size_t read_bytes(uint8_t fc, uint16_t qty)
{
    return fc <= PLCIO_MB_FC_READ_DISCRETE_INPUTS ? (size_t)(qty + 7u) / 8u : (size_t)qty * 2u;
}

static int read_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (!in_range(p->qty, 1, read_limit(p->fc)) || !span_ok(p->addr, p->qty)) return PLCIO_ERANGE;
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->qty);
    return PLCIO_OK;
}

static int read_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->qty = plcio_rcursor_u16be(r);
    if (r->overrun || plcio_rcursor_left(r)) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!in_range(p->qty, 1, read_limit(p->fc))) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!span_ok(p->addr, p->qty)) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    return PLCIO_OK;
}

static int bytes_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len > 251) return PLCIO_ERANGE;
    plcio_wcursor_u8(w, (uint8_t)p->data_len);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int bytes_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    uint8_t bc = plcio_rcursor_u8(r);
    p->data = plcio_rcursor_take(r, bc);
    p->data_len = bc;
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 5, 6: request and response are addr + value (response echoes). */
static int single_enc(const mb_pdu *p, plcio_wcursor *w)
{
    /* AP 6.5: 0xFF00 requests ON, 0x0000 OFF; anything else is illegal. */
    if (p->fc == PLCIO_MB_FC_WRITE_SINGLE_COIL && p->value != 0xFF00 && p->value != 0x0000) return PLCIO_ERANGE;
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->value);
    return PLCIO_OK;
}

static int single_dec_common(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->value = plcio_rcursor_u16be(r);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

static int single_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (single_dec_common(r, p) != PLCIO_OK) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (p->fc == PLCIO_MB_FC_WRITE_SINGLE_COIL && p->value != 0xFF00 && p->value != 0x0000)
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    return PLCIO_OK;
}

static int single_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (single_dec_common(r, p) != PLCIO_OK) return PLCIO_EPROTO;
    if (p->fc == PLCIO_MB_FC_WRITE_SINGLE_COIL && p->value != 0xFF00 && p->value != 0x0000) return PLCIO_EPROTO;
    return PLCIO_OK;
}

/* FC 7, 11, 12, 17: empty requests. */
static int empty_enc(const mb_pdu *p, plcio_wcursor *w)
{
    (void)p;
    (void)w;
    return PLCIO_OK;
}

static int empty_dec(plcio_rcursor *r, mb_pdu *p)
{
    return plcio_rcursor_left(r) ? exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE) : PLCIO_OK;
}

/* FC 7 response: one status byte (AP 6.7). */
static int fc7_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    plcio_wcursor_u8(w, (uint8_t)p->value);
    return PLCIO_OK;
}

static int fc7_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->value = plcio_rcursor_u8(r);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 8 (AP 6.8): sub-function + data; the response echoes the sub-function. */
enum {
    DIAG_RETURN_QUERY_DATA = 0x00,
    DIAG_RESTART_COMM = 0x01,
    DIAG_RETURN_REGISTER = 0x02,
    DIAG_CHANGE_ASCII_DELIMITER = 0x03,
    DIAG_FORCE_LISTEN_ONLY = 0x04,
    DIAG_CLEAR_COUNTERS = 0x0A,
    DIAG_BUS_MESSAGE_COUNT = 0x0B,
    DIAG_BUS_COMM_ERROR_COUNT = 0x0C,
    DIAG_BUS_EXCEPTION_COUNT = 0x0D,
    DIAG_SERVER_MESSAGE_COUNT = 0x0E,
    DIAG_SERVER_NO_RESPONSE_COUNT = 0x0F,
    DIAG_SERVER_NAK_COUNT = 0x10,
    DIAG_SERVER_BUSY_COUNT = 0x11,
    DIAG_BUS_CHAR_OVERRUN_COUNT = 0x12,
    DIAG_CLEAR_OVERRUN = 0x14
};

static bool diag_sub_known(uint16_t sub)
{
    return sub <= DIAG_FORCE_LISTEN_ONLY || in_range(sub, DIAG_CLEAR_COUNTERS, DIAG_BUS_CHAR_OVERRUN_COUNT) ||
           sub == DIAG_CLEAR_OVERRUN;
}

static int diag_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len > PLCIO_MB_MAX_PDU - 3) return PLCIO_ERANGE;
    plcio_wcursor_u16be(w, p->sub);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int diag_any_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->sub = plcio_rcursor_u16be(r);
    p->data_len = plcio_rcursor_left(r);
    p->data = plcio_rcursor_take(r, p->data_len);
    return r->overrun ? PLCIO_EPROTO : PLCIO_OK;
}

/* Answers carry two data bytes, except return-query-data, which echoes. */
static int diag_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (diag_any_dec(r, p) != PLCIO_OK) return PLCIO_EPROTO;
    return (p->sub == DIAG_RETURN_QUERY_DATA || p->data_len == 2) ? PLCIO_OK : PLCIO_EPROTO;
}

static int diag_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (diag_any_dec(r, p) != PLCIO_OK) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!diag_sub_known(p->sub)) return exc(p, PLCIO_MB_EX_ILLEGAL_FUNCTION);
    if (p->sub == DIAG_RETURN_QUERY_DATA) return PLCIO_OK; /* any data, echoed */
    if (p->data_len != 2) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    uint16_t d = plcio_get_u16be(p->data);
    if (p->sub == DIAG_RESTART_COMM) return (d == 0 || d == 0xFF00) ? PLCIO_OK : exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (p->sub == DIAG_CHANGE_ASCII_DELIMITER)
        return (d & 0xFF) == 0 ? PLCIO_OK : exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    /* AP 6.8.1 asks for data 00 00 on the counter and clear sub-functions;
     * the value carries no meaning, and clients such as pymodbus 3.0 send
     * other values, so any value is taken (the length is still checked). */
    (void)d;
    return PLCIO_OK;
}

/* FC 11 response (AP 6.9): status, event count. */
static int fc11_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    plcio_wcursor_u16be(w, p->status);
    plcio_wcursor_u16be(w, p->event_count);
    return PLCIO_OK;
}

static int fc11_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->status = plcio_rcursor_u16be(r);
    p->event_count = plcio_rcursor_u16be(r);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 12 response (AP 6.10): byte count, status, event count, message count,
 * up to 64 event bytes. */
static int fc12_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len > 64) return PLCIO_ERANGE;
    plcio_wcursor_u8(w, (uint8_t)(6 + p->data_len));
    plcio_wcursor_u16be(w, p->status);
    plcio_wcursor_u16be(w, p->event_count);
    plcio_wcursor_u16be(w, p->message_count);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int fc12_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    uint8_t bc = plcio_rcursor_u8(r);
    if (bc < 6 || bc > 6 + 64) return PLCIO_EPROTO;
    p->status = plcio_rcursor_u16be(r);
    p->event_count = plcio_rcursor_u16be(r);
    p->message_count = plcio_rcursor_u16be(r);
    p->data_len = (size_t)bc - 6;
    p->data = plcio_rcursor_take(r, p->data_len);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 15, 16: addr, qty, byte count, values; response echoes addr, qty. */
static bool multi_is_bits(uint8_t fc) { return fc == PLCIO_MB_FC_WRITE_MULTIPLE_COILS; }

static size_t multi_bytes(uint8_t fc, uint16_t qty)
{
    return multi_is_bits(fc) ? (size_t)(qty + 7u) / 8u : (size_t)qty * 2u;
}

static unsigned multi_limit(uint8_t fc)
{
    return multi_is_bits(fc) ? PLCIO_MB_MAX_WRITE_BITS : PLCIO_MB_MAX_WRITE_REGISTERS;
}

static int multi_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (!in_range(p->qty, 1, multi_limit(p->fc)) || !span_ok(p->addr, p->qty)) return PLCIO_ERANGE;
    if (p->data_len != multi_bytes(p->fc, p->qty)) return PLCIO_EINVAL;
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->qty);
    plcio_wcursor_u8(w, (uint8_t)p->data_len);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int multi_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->qty = plcio_rcursor_u16be(r);
    uint8_t bc = plcio_rcursor_u8(r);
    p->data_len = bc;
    p->data = plcio_rcursor_take(r, bc);
    /* AP 6.11/6.12: quantity in range AND byte count == N, else exception 3. */
    if (r->overrun || plcio_rcursor_left(r)) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!in_range(p->qty, 1, multi_limit(p->fc)) || bc != multi_bytes(p->fc, p->qty))
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!span_ok(p->addr, p->qty)) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    return PLCIO_OK;
}

static int echo_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->qty);
    return PLCIO_OK;
}

static int echo_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->qty = plcio_rcursor_u16be(r);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 17 response (AP 6.13): byte count, server id, run indicator, extra. */
/* (bytes_resp_enc / bytes_resp_dec serve it: data = everything after the count.) */

/* FC 20 (AP 6.14): byte count 0x07..0xF5, sub-requests of 7 bytes:
 * reference type 6, file number, record number (<= 0x270F), record length. */
static int bytes_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len > PLCIO_MB_MAX_PDU - 2) return PLCIO_ERANGE;
    plcio_wcursor_u8(w, (uint8_t)p->data_len);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int fc20_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len < 7 || p->data_len > 0xF5 || p->data_len % 7) return PLCIO_ERANGE;
    return bytes_req_enc(p, w);
}

static int fc20_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    uint8_t bc = plcio_rcursor_u8(r);
    p->data_len = bc;
    p->data = plcio_rcursor_take(r, bc);
    if (r->overrun || plcio_rcursor_left(r) || bc < 0x07 || bc > 0xF5 || bc % 7)
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    size_t resp_len = 2; /* function code + response byte count */
    for (size_t off = 0; off < bc; off += 7) {
        const uint8_t *s = p->data + off;
        if (s[0] != 6 || plcio_get_u16be(s + 3) > PLCIO_MB_MAX_FILE_RECORD)
            return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
        resp_len += 2 + 2u * plcio_get_u16be(s + 5);
    }
    return resp_len <= PLCIO_MB_MAX_PDU ? PLCIO_OK : exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
}

/* FC 20 response: byte count, then per sub-request: length, ref type 6, data. */
static int fc20_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (bytes_resp_dec(r, p) != PLCIO_OK) return PLCIO_EPROTO;
    for (size_t off = 0; off < p->data_len;) {
        uint8_t l = p->data[off];
        if (l < 1 || l % 2 != 1 || off + 1 + l > p->data_len || p->data[off + 1] != 6) return PLCIO_EPROTO;
        off += 1u + l;
    }
    return PLCIO_OK;
}

/* FC 21 (AP 6.15): byte count 0x09..0xFB, sub-requests: ref type 6, file,
 * record, length, length registers. The response is an echo. */
static int fc21_walk(const uint8_t *d, size_t n)
{
    size_t off = 0;
    while (off < n) {
        if (n - off < 7) return PLCIO_MB_EX_ILLEGAL_DATA_VALUE;
        if (d[off] != 6 || plcio_get_u16be(d + off + 3) > PLCIO_MB_MAX_FILE_RECORD)
            return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
        size_t regs = plcio_get_u16be(d + off + 5);
        if (regs == 0 || n - off - 7 < regs * 2) return PLCIO_MB_EX_ILLEGAL_DATA_VALUE;
        off += 7 + regs * 2;
    }
    return 0;
}

static int fc21_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->data_len < 9 || p->data_len > 0xFB || fc21_walk(p->data, p->data_len)) return PLCIO_ERANGE;
    return bytes_req_enc(p, w);
}

static int fc21_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    uint8_t bc = plcio_rcursor_u8(r);
    p->data_len = bc;
    p->data = plcio_rcursor_take(r, bc);
    if (r->overrun || plcio_rcursor_left(r) || bc < 0x09 || bc > 0xFB) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    int e = fc21_walk(p->data, bc);
    return e ? exc(p, (uint8_t)e) : PLCIO_OK;
}

static int fc21_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    if (bytes_resp_dec(r, p) != PLCIO_OK) return PLCIO_EPROTO;
    return fc21_walk(p->data, p->data_len) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 22 (AP 6.16): address, AND mask, OR mask; the response echoes. */
static int mask_enc(const mb_pdu *p, plcio_wcursor *w)
{
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->and_mask);
    plcio_wcursor_u16be(w, p->or_mask);
    return PLCIO_OK;
}

static int mask_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->and_mask = plcio_rcursor_u16be(r);
    p->or_mask = plcio_rcursor_u16be(r);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

static int mask_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    return mask_resp_dec(r, p) == PLCIO_OK ? PLCIO_OK : exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
}

/* FC 23 (AP 6.17): read addr, read qty (1..125), write addr, write qty
 * (1..121), byte count = 2 * write qty, values. Response: byte count, values. */
static int rw_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (!in_range(p->qty, 1, PLCIO_MB_MAX_RW_READ_REGISTERS) || !span_ok(p->addr, p->qty) ||
        !in_range(p->write_qty, 1, PLCIO_MB_MAX_RW_WRITE_REGISTERS) || !span_ok(p->write_addr, p->write_qty))
        return PLCIO_ERANGE;
    if (p->data_len != (size_t)p->write_qty * 2) return PLCIO_EINVAL;
    plcio_wcursor_u16be(w, p->addr);
    plcio_wcursor_u16be(w, p->qty);
    plcio_wcursor_u16be(w, p->write_addr);
    plcio_wcursor_u16be(w, p->write_qty);
    plcio_wcursor_u8(w, (uint8_t)p->data_len);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int rw_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    p->qty = plcio_rcursor_u16be(r);
    p->write_addr = plcio_rcursor_u16be(r);
    p->write_qty = plcio_rcursor_u16be(r);
    uint8_t bc = plcio_rcursor_u8(r);
    p->data_len = bc;
    p->data = plcio_rcursor_take(r, bc);
    if (r->overrun || plcio_rcursor_left(r)) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!in_range(p->qty, 1, PLCIO_MB_MAX_RW_READ_REGISTERS) ||
        !in_range(p->write_qty, 1, PLCIO_MB_MAX_RW_WRITE_REGISTERS) || bc != p->write_qty * 2u)
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (!span_ok(p->addr, p->qty) || !span_ok(p->write_addr, p->write_qty))
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    return PLCIO_OK;
}

/* FC 24 (AP 6.18): request FIFO pointer address; response byte count (16
 * bit), FIFO count (<= 31), registers. */
static int fifo_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    plcio_wcursor_u16be(w, p->addr);
    return PLCIO_OK;
}

static int fifo_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->addr = plcio_rcursor_u16be(r);
    return (r->overrun || plcio_rcursor_left(r)) ? exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE) : PLCIO_OK;
}

static int fifo_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->qty > PLCIO_MB_MAX_FIFO_COUNT || p->data_len != (size_t)p->qty * 2) return PLCIO_ERANGE;
    plcio_wcursor_u16be(w, (uint16_t)(2 + p->data_len));
    plcio_wcursor_u16be(w, p->qty);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int fifo_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    uint16_t bc = plcio_rcursor_u16be(r);
    p->qty = plcio_rcursor_u16be(r);
    if (r->overrun || p->qty > PLCIO_MB_MAX_FIFO_COUNT || bc != 2u + 2u * p->qty) return PLCIO_EPROTO;
    p->data_len = (size_t)p->qty * 2;
    p->data = plcio_rcursor_take(r, p->data_len);
    return (r->overrun || plcio_rcursor_left(r)) ? PLCIO_EPROTO : PLCIO_OK;
}

/* FC 43 / MEI 14 (AP 6.21): request MEI, read device id code (1 basic,
 * 2 regular, 3 extended, 4 one object), object id. Response: MEI, code,
 * conformity, more follows (0x00/0xFF), next object id, object count,
 * objects (id, length, value). */
static int devid_req_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (p->mei != PLCIO_MB_MEI_DEVICE_ID || !in_range(p->devid_code, 1, 4)) return PLCIO_ERANGE;
    plcio_wcursor_u8(w, p->mei);
    plcio_wcursor_u8(w, p->devid_code);
    plcio_wcursor_u8(w, p->object_id);
    return PLCIO_OK;
}

static int devid_req_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->mei = plcio_rcursor_u8(r);
    if (r->overrun) return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    if (p->mei != PLCIO_MB_MEI_DEVICE_ID) return exc(p, PLCIO_MB_EX_ILLEGAL_FUNCTION);
    p->devid_code = plcio_rcursor_u8(r);
    p->object_id = plcio_rcursor_u8(r);
    if (r->overrun || plcio_rcursor_left(r) || !in_range(p->devid_code, 1, 4))
        return exc(p, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    return PLCIO_OK;
}

static int devid_objects_ok(const uint8_t *d, size_t n, unsigned count)
{
    size_t off = 0;
    for (unsigned i = 0; i < count; i++) {
        if (n - off < 2 || n - off - 2 < d[off + 1]) return 0;
        off += 2u + d[off + 1];
    }
    return off == n;
}

static int devid_resp_enc(const mb_pdu *p, plcio_wcursor *w)
{
    if (!devid_objects_ok(p->data, p->data_len, p->object_count)) return PLCIO_EINVAL;
    plcio_wcursor_u8(w, PLCIO_MB_MEI_DEVICE_ID);
    plcio_wcursor_u8(w, p->devid_code);
    plcio_wcursor_u8(w, p->conformity);
    plcio_wcursor_u8(w, p->more_follows);
    plcio_wcursor_u8(w, p->next_object_id);
    plcio_wcursor_u8(w, p->object_count);
    plcio_wcursor_write(w, p->data, p->data_len);
    return PLCIO_OK;
}

static int devid_resp_dec(plcio_rcursor *r, mb_pdu *p)
{
    p->mei = plcio_rcursor_u8(r);
    p->devid_code = plcio_rcursor_u8(r);
    p->conformity = plcio_rcursor_u8(r);
    p->more_follows = plcio_rcursor_u8(r);
    p->next_object_id = plcio_rcursor_u8(r);
    p->object_count = plcio_rcursor_u8(r);
    if (r->overrun || p->mei != PLCIO_MB_MEI_DEVICE_ID) return PLCIO_EPROTO;
    if (p->more_follows != 0x00 && p->more_follows != 0xFF) return PLCIO_EPROTO;
    p->data_len = plcio_rcursor_left(r);
    p->data = plcio_rcursor_take(r, p->data_len);
    return devid_objects_ok(p->data, p->data_len, p->object_count) ? PLCIO_OK : PLCIO_EPROTO;
}

/* ---- the table ---- */

typedef int (*enc_fn)(const mb_pdu *p, plcio_wcursor *w);
typedef int (*dec_fn)(plcio_rcursor *r, mb_pdu *p);

typedef struct fc_codec {
    uint8_t fc;
    const char *name;
    enc_fn req_enc;
    dec_fn req_dec;
    enc_fn resp_enc;
    dec_fn resp_dec;
} fc_codec;

static const fc_codec codecs[] = {
    {0x01, "read coils", read_req_enc, read_req_dec, bytes_resp_enc, bytes_resp_dec},
    {0x02, "read discrete inputs", read_req_enc, read_req_dec, bytes_resp_enc, bytes_resp_dec},
    {0x03, "read holding registers", read_req_enc, read_req_dec, bytes_resp_enc, bytes_resp_dec},
    {0x04, "read input registers", read_req_enc, read_req_dec, bytes_resp_enc, bytes_resp_dec},
    {0x05, "write single coil", single_enc, single_req_dec, single_enc, single_resp_dec},
    {0x06, "write single register", single_enc, single_req_dec, single_enc, single_resp_dec},
    {0x07, "read exception status", empty_enc, empty_dec, fc7_resp_enc, fc7_resp_dec},
    {0x08, "diagnostics", diag_enc, diag_req_dec, diag_enc, diag_resp_dec},
    {0x0B, "get comm event counter", empty_enc, empty_dec, fc11_resp_enc, fc11_resp_dec},
    {0x0C, "get comm event log", empty_enc, empty_dec, fc12_resp_enc, fc12_resp_dec},
    {0x0F, "write multiple coils", multi_req_enc, multi_req_dec, echo_resp_enc, echo_resp_dec},
    {0x10, "write multiple registers", multi_req_enc, multi_req_dec, echo_resp_enc, echo_resp_dec},
    {0x11, "report server id", empty_enc, empty_dec, bytes_resp_enc, bytes_resp_dec},
    {0x14, "read file record", fc20_req_enc, fc20_req_dec, bytes_resp_enc, fc20_resp_dec},
    {0x15, "write file record", fc21_enc, fc21_req_dec, bytes_req_enc, fc21_resp_dec},
    {0x16, "mask write register", mask_enc, mask_req_dec, mask_enc, mask_resp_dec},
    {0x17, "read/write multiple registers", rw_enc, rw_req_dec, bytes_resp_enc, bytes_resp_dec},
    {0x18, "read FIFO queue", fifo_req_enc, fifo_req_dec, fifo_resp_enc, fifo_resp_dec},
    {0x2B, "read device identification", devid_req_enc, devid_req_dec, devid_resp_enc, devid_resp_dec},
};

static const fc_codec *find_codec(uint8_t fc)
{
    for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
        if (codecs[i].fc == fc) return &codecs[i];
    return NULL;
}

const char *plcio_mb_function_name(int fc)
{
    const fc_codec *c = (fc >= 0 && fc <= 0x7F) ? find_codec((uint8_t)fc) : NULL;
    return c ? c->name : "unknown function";
}

/* ---- entry points ---- */

int mb_request_encode(const mb_pdu *req, uint8_t *pdu, size_t cap, size_t *len)
{
    const fc_codec *c = req ? find_codec(req->fc) : NULL;
    if (!c) return req ? PLCIO_EUNSUPPORTED : PLCIO_EINVAL;
    uint8_t tmp[PLCIO_MB_MAX_PDU];
    plcio_wcursor w = plcio_wcursor_make(tmp, sizeof tmp);
    plcio_wcursor_u8(&w, req->fc);
    int rc = c->req_enc(req, &w);
    if (rc != PLCIO_OK) return rc;
    if (w.overrun) return PLCIO_ERANGE; /* longer than a PDU may be */
    size_t n = plcio_wcursor_used(&w);
    if (n > cap) return PLCIO_ENOSPC;
    memcpy(pdu, tmp, n);
    *len = n;
    return PLCIO_OK;
}

int mb_request_decode(const uint8_t *pdu, size_t len, mb_pdu *req)
{
    memset(req, 0, sizeof *req);
    if (len < 1 || len > PLCIO_MB_MAX_PDU) return exc(req, PLCIO_MB_EX_ILLEGAL_DATA_VALUE);
    req->fc = pdu[0];
    const fc_codec *c = find_codec(pdu[0]);
    if (!c) return exc(req, PLCIO_MB_EX_ILLEGAL_FUNCTION); /* AP 7: code 01 */
    plcio_rcursor r = plcio_rcursor_make(pdu + 1, len - 1);
    return c->req_dec(&r, req);
}

int mb_response_encode(const mb_pdu *resp, uint8_t *pdu, size_t cap, size_t *len)
{
    if (!resp) return PLCIO_EINVAL;
    plcio_wcursor w = plcio_wcursor_make(pdu, cap < PLCIO_MB_MAX_PDU ? cap : PLCIO_MB_MAX_PDU);
    if (resp->exception) {
        plcio_wcursor_u8(&w, (uint8_t)(resp->fc | 0x80));
        plcio_wcursor_u8(&w, resp->exception);
        return finish(&w, len);
    }
    const fc_codec *c = find_codec(resp->fc);
    if (!c) return PLCIO_EUNSUPPORTED;
    plcio_wcursor_u8(&w, resp->fc);
    int rc = c->resp_enc(resp, &w);
    if (rc != PLCIO_OK) return rc;
    return finish(&w, len);
}

int mb_response_decode(const uint8_t *pdu, size_t len, mb_pdu *resp)
{
    memset(resp, 0, sizeof *resp);
    if (len < 1 || len > PLCIO_MB_MAX_PDU) return PLCIO_EPROTO;
    resp->fc = pdu[0] & 0x7F;
    if (pdu[0] & 0x80) { /* AP 7: function code + 0x80, one exception byte */
        if (len != 2 || pdu[1] == 0) return PLCIO_EPROTO;
        resp->exception = pdu[1];
        return PLCIO_OK;
    }
    const fc_codec *c = find_codec(resp->fc);
    if (!c) return PLCIO_EPROTO;
    plcio_rcursor r = plcio_rcursor_make(pdu + 1, len - 1);
    return c->resp_dec(&r, resp);
}

static int check_echo(const mb_pdu *q, const mb_pdu *s)
{
    switch (q->fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04: return s->data_len == read_bytes(q->fc, q->qty);
    case 0x05:
    case 0x06: return s->addr == q->addr && s->value == q->value;
    case 0x08:
        return s->sub == q->sub &&
               (q->sub != DIAG_RETURN_QUERY_DATA ||
                (s->data_len == q->data_len && (!q->data_len || !memcmp(s->data, q->data, q->data_len))));
    case 0x0F:
    case 0x10: return s->addr == q->addr && s->qty == q->qty;
    case 0x15: return s->data_len == q->data_len && !memcmp(s->data, q->data, q->data_len);
    case 0x16: return s->addr == q->addr && s->and_mask == q->and_mask && s->or_mask == q->or_mask;
    case 0x17: return s->data_len == (size_t)q->qty * 2;
    case 0x2B: return s->devid_code == q->devid_code;
    default: return 1;
    }
}

int mb_response_check(const mb_pdu *req, const mb_pdu *resp)
{
    if (req->fc != resp->fc) return PLCIO_EPROTO;
    if (resp->exception) return PLCIO_EMBEXC;
    return check_echo(req, resp) ? PLCIO_OK : PLCIO_EPROTO;
}

/* ---- PDU length from content (RTU) ---- */

/* Length of a PDU whose byte count sits at offset `at` (1 or 2 bytes wide). */
static int counted(const uint8_t *pdu, size_t avail, size_t at, size_t width, size_t *len)
{
    if (avail < at + width) {
        *len = at + width;
        return PLCIO_EAGAIN;
    }
    size_t bc = width == 1 ? pdu[at] : plcio_get_u16be(pdu + at);
    *len = at + width + bc;
    return PLCIO_OK;
}

static int fixed(size_t n, size_t *len)
{
    *len = n;
    return PLCIO_OK;
}

static int devid_resp_length(const uint8_t *pdu, size_t avail, size_t *len)
{
    /* fc mei code conformity more next count = 7 bytes, then objects. */
    if (avail < 7) return (*len = 7, PLCIO_EAGAIN);
    if (pdu[1] != PLCIO_MB_MEI_DEVICE_ID) return PLCIO_EUNSUPPORTED;
    size_t off = 7;
    for (unsigned i = 0; i < pdu[6]; i++) {
        if (avail < off + 2) return (*len = off + 2, PLCIO_EAGAIN);
        off += 2u + pdu[off + 1];
    }
    *len = off;
    return PLCIO_OK;
}

static int request_length(const uint8_t *pdu, size_t avail, size_t *len)
{
    switch (pdu[0]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06: return fixed(5, len);
    case 0x07:
    case 0x0B:
    case 0x0C:
    case 0x11: return fixed(1, len);
    case 0x08:
        if (avail < 3) return (*len = 3, PLCIO_EAGAIN);
        return plcio_get_u16be(pdu + 1) == DIAG_RETURN_QUERY_DATA ? PLCIO_EUNSUPPORTED : fixed(5, len);
    case 0x0F:
    case 0x10: return counted(pdu, avail, 5, 1, len);
    case 0x14:
    case 0x15: return counted(pdu, avail, 1, 1, len);
    case 0x16: return fixed(7, len);
    case 0x17: return counted(pdu, avail, 9, 1, len);
    case 0x18: return fixed(3, len);
    case 0x2B:
        if (avail < 2) return (*len = 2, PLCIO_EAGAIN);
        return pdu[1] == PLCIO_MB_MEI_DEVICE_ID ? fixed(4, len) : PLCIO_EUNSUPPORTED;
    default: return PLCIO_EUNSUPPORTED;
    }
}

static int response_length(const uint8_t *pdu, size_t avail, size_t *len)
{
    if (pdu[0] & 0x80) return fixed(2, len);
    switch (pdu[0]) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x0C:
    case 0x11:
    case 0x14:
    case 0x15:
    case 0x17: return counted(pdu, avail, 1, 1, len);
    case 0x05:
    case 0x06:
    case 0x0B:
    case 0x0F:
    case 0x10: return fixed(5, len);
    case 0x07: return fixed(2, len);
    case 0x08:
        if (avail < 3) return (*len = 3, PLCIO_EAGAIN);
        return plcio_get_u16be(pdu + 1) == DIAG_RETURN_QUERY_DATA ? PLCIO_EUNSUPPORTED : fixed(5, len);
    case 0x16: return fixed(7, len);
    case 0x18: return counted(pdu, avail, 1, 2, len);
    case 0x2B: return devid_resp_length(pdu, avail, len);
    default: return PLCIO_EUNSUPPORTED;
    }
}

int mb_pdu_length(const uint8_t *pdu, size_t avail, bool request, size_t *len)
{
    if (avail < 1) return (*len = 1, PLCIO_EAGAIN);
    return request ? request_length(pdu, avail, len) : response_length(pdu, avail, len);
}
