/* Modbus framings: MBAP (TCP/UDP), RTU and ASCII. No I/O: bytes in, frames
 * out, with the count of bytes consumed or still needed. */
#include <string.h>

#include "modbus/mb_codec.h"
#include "plcio/bytes.h"

/* ===========================================================================
 * MBAP (TCP 3.1.3)
 * ========================================================================= */

int mb_mbap_encode(uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap,
                   size_t *len)
{
    if (pdu_len < 1 || pdu_len > PLCIO_MB_MAX_PDU) return PLCIO_EINVAL;
    if (cap < PLCIO_MB_MBAP_HEADER + pdu_len) return PLCIO_ENOSPC;
    plcio_put_u16be(out, tid);
    plcio_put_u16be(out + 2, 0); /* protocol identifier: 0 = MODBUS */
    plcio_put_u16be(out + 4, (uint16_t)(pdu_len + 1));
    out[6] = unit;
    memcpy(out + PLCIO_MB_MBAP_HEADER, pdu, pdu_len);
    *len = PLCIO_MB_MBAP_HEADER + pdu_len;
    return PLCIO_OK;
}

int mb_mbap_decode(const uint8_t *buf, size_t len, mb_frame *frame, size_t *consumed, size_t *needed)
{
    *consumed = 0;
    if (len < 6) { /* the length field ends at byte 6 */
        *needed = PLCIO_MB_MBAP_HEADER + 1;
        return PLCIO_EAGAIN;
    }
    uint16_t proto = plcio_get_u16be(buf + 2);
    uint16_t field = plcio_get_u16be(buf + 4);
    /* Length counts the unit id and the PDU: at least unit + function code,
     * at most unit + 253. Anything else cannot be a Modbus frame, and since
     * framing depends on it, the stream is lost. */
    if (proto != 0 || field < 2 || field > PLCIO_MB_MBAP_MAX_LENGTH) return PLCIO_EPROTO;
    size_t total = 6u + field;
    if (len < total) {
        *needed = total;
        return PLCIO_EAGAIN;
    }
    frame->tid = plcio_get_u16be(buf);
    frame->unit = buf[6];
    frame->pdu = buf + PLCIO_MB_MBAP_HEADER;
    frame->pdu_len = field - 1u;
    *consumed = total;
    *needed = 0;
    return PLCIO_OK;
}

/* ===========================================================================
 * RTU (SL 2.5.1)
 * ========================================================================= */

int mb_rtu_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap, size_t *len)
{
    if (pdu_len < 1 || pdu_len > PLCIO_MB_MAX_PDU) return PLCIO_EINVAL;
    if (cap < pdu_len + 3) return PLCIO_ENOSPC;
    out[0] = unit;
    memcpy(out + 1, pdu, pdu_len);
    uint16_t crc = plcio_mb_crc16(out, pdu_len + 1);
    plcio_put_u16le(out + 1 + pdu_len, crc); /* SL 6.2.2: low-order byte first */
    *len = pdu_len + 3;
    return PLCIO_OK;
}

static int rtu_frame_at(const uint8_t *buf, size_t total, mb_frame *frame, size_t *consumed)
{
    *consumed = total;
    if (plcio_mb_crc16(buf, total - 2) != plcio_get_u16le(buf + total - 2)) return PLCIO_ECRC;
    frame->tid = 0;
    frame->unit = buf[0];
    frame->pdu = buf + 1;
    frame->pdu_len = total - 3;
    return PLCIO_OK;
}

int mb_rtu_decode(const uint8_t *buf, size_t len, bool request, bool idle, mb_frame *frame, size_t *consumed,
                  size_t *needed)
{
    *consumed = 0;
    *needed = 0;
    size_t pdu_len = 0;
    int rc = len >= 2 ? mb_pdu_length(buf + 1, len - 1, request, &pdu_len) : PLCIO_EAGAIN;
    if (len < 2) pdu_len = 1;
    if (rc == PLCIO_OK || rc == PLCIO_EAGAIN) {
        size_t total = pdu_len + 3;
        if (rc == PLCIO_OK && total > PLCIO_MB_RTU_MAX_ADU) { /* impossible byte count */
            *consumed = len;
            return PLCIO_EPROTO;
        }
        if (rc == PLCIO_OK && len >= total) return rtu_frame_at(buf, total, frame, consumed);
        if (!idle) {
            *needed = total;
            return PLCIO_EAGAIN;
        }
        /* Silence before the frame is complete: SL 2.5.1.1 says discard it. */
        *consumed = len;
        return PLCIO_EPROTO;
    }
    /* Length unknown from the content: the frame is what came before t3.5. */
    if (!idle) return PLCIO_EAGAIN;
    if (len < 4 || len > PLCIO_MB_RTU_MAX_ADU) {
        *consumed = len;
        return PLCIO_EPROTO;
    }
    return rtu_frame_at(buf, len, frame, consumed);
}

void mb_rtu_timing(unsigned long baud, uint32_t *t15_us, uint32_t *t35_us)
{
    if (baud == 0 || baud > 19200) { /* SL 2.5.1.1: fixed values above 19200 bps */
        *t15_us = 750;
        *t35_us = 1750;
        return;
    }
    /* 11 bits per character; round up so the silence is never too short. */
    uint64_t char_ns = (UINT64_C(11) * 1000000000u + baud - 1) / baud;
    *t15_us = (uint32_t)((char_ns * 3 / 2 + 999) / 1000);
    *t35_us = (uint32_t)((char_ns * 7 / 2 + 999) / 1000);
}

/* ===========================================================================
 * ASCII (SL 2.5.2)
 * ========================================================================= */

static const char hex_digits[] = "0123456789ABCDEF";

static void put_hex(uint8_t *out, uint8_t v)
{
    out[0] = (uint8_t)hex_digits[v >> 4];
    out[1] = (uint8_t)hex_digits[v & 15];
}

int mb_ascii_encode(uint8_t unit, const uint8_t *pdu, size_t pdu_len, uint8_t *out, size_t cap, size_t *len)
{
    if (pdu_len < 1 || pdu_len > PLCIO_MB_MAX_PDU) return PLCIO_EINVAL;
    size_t n = 1 + 2 * (1 + pdu_len + 1) + 2;
    if (cap < n) return PLCIO_ENOSPC;
    uint8_t lrc = (uint8_t)(plcio_mb_lrc(&unit, 1) + plcio_mb_lrc(pdu, pdu_len));
    out[0] = ':';
    put_hex(out + 1, unit);
    for (size_t i = 0; i < pdu_len; i++)
        put_hex(out + 3 + 2 * i, pdu[i]);
    put_hex(out + 3 + 2 * pdu_len, lrc);
    out[n - 2] = '\r';
    out[n - 1] = '\n';
    *len = n;
    return PLCIO_OK;
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decode hex pairs [from, to) into out; number of bytes or -1. */
static long unhex(const uint8_t *from, const uint8_t *to, uint8_t *out, size_t cap)
{
    size_t n = (size_t)(to - from);
    if (n % 2 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(from[2 * i]), lo = hex_value(from[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

int mb_ascii_decode(const uint8_t *buf, size_t len, uint8_t lf, uint8_t *scratch, size_t scratch_cap, mb_frame *frame,
                    size_t *consumed, size_t *needed)
{
    *needed = 0;
    const uint8_t *colon = memchr(buf, ':', len);
    if (!colon) { /* nothing but noise so far */
        *consumed = len;
        return len ? PLCIO_EPROTO : PLCIO_EAGAIN;
    }
    if (colon != buf) { /* drop the noise before the start of frame */
        *consumed = (size_t)(colon - buf);
        return PLCIO_EPROTO;
    }
    size_t rest = len - 1;
    const uint8_t *end = memchr(buf + 1, lf, rest);
    const uint8_t *restart = memchr(buf + 1, ':', rest);
    /* A new ':' before the end restarts the frame (SL 2.5.2.1). */
    if (restart && (!end || restart < end)) {
        *consumed = (size_t)(restart - buf);
        return PLCIO_EPROTO;
    }
    if (!end) {
        *consumed = 0;
        if (len > PLCIO_MB_ASCII_MAX_ADU) {
            *consumed = len;
            return PLCIO_EPROTO;
        }
        return PLCIO_EAGAIN;
    }
    *consumed = (size_t)(end - buf) + 1;
    if (end - buf < 2 || end[-1] != '\r') return PLCIO_EPROTO;
    long n = unhex(buf + 1, end - 1, scratch, scratch_cap);
    if (n < 3) return PLCIO_EPROTO;                               /* address, function code, LRC at least */
    if (plcio_mb_lrc(scratch, (size_t)n) != 0) return PLCIO_ECRC; /* sum including the LRC is 0 */
    frame->tid = 0;
    frame->unit = scratch[0];
    frame->pdu = scratch + 1;
    frame->pdu_len = (size_t)n - 2;
    return PLCIO_OK;
}
