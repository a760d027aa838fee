/* Modbus client session (mb_session, the sans-I/O core of the async client
 * and the sync engine's Modbus driver): five requests of different kinds
 * are queued, then the input plays the device. Byte 0 picks the framing
 * (MBAP stream, MBAP datagrams, RTU, ASCII) and the MBAP window; the rest
 * arrives in changing chunks (serial: byte by byte) while a manual clock
 * advances past deadlines and RTU silences (after a byte 0xF0..0xFF). MBAP transaction ids in the input count from 1
 * for the first request (the harness adds the session's random base), so recorded answers stay valid. Every request
 * must complete exactly once, with a result its contract allows and an answer of its own function; nothing may crash,
 * overrun, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NREQ 5

typedef struct run {
    uint32_t token[NREQ];
    uint8_t fc[NREQ];
    bool raw[NREQ];
    int done[NREQ];
} run;

static void on_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    run *r = ctx;
    int i = 0;
    while (i < NREQ && r->token[i] != token)
        i++;
    if (i == NREQ || r->done[i]++) abort(); /* unknown token, or a second completion */
    switch (result) {
    case PLCIO_OK:
        if (!raw || !raw_len || (raw[0] & 0x7f) != r->fc[i]) abort();
        if (!r->raw[i] && (!resp || resp->fc != r->fc[i] || resp->exception)) abort();
        break;
    case PLCIO_EMBEXC:
        if (!r->raw[i] && (!resp || !resp->exception)) abort();
        break;
    case PLCIO_ETIMEDOUT:
    case PLCIO_EPROTO:
    case PLCIO_ECRC:
    case PLCIO_ECLOSED: break;
    default: abort();
    }
}

/* MBAP: shift the transaction id of every frame the input holds by base. */
static void shift_tids(uint8_t *buf, size_t len, uint16_t base)
{
    for (size_t off = 0; off < len;) {
        mb_frame f;
        size_t used = 0, need = 0;
        if (mb_mbap_decode(buf + off, len - off, &f, &used, &need) != PLCIO_OK) return;
        uint16_t tid = (uint16_t)(buf[off] << 8 | buf[off + 1]) + base;
        buf[off] = (uint8_t)(tid >> 8);
        buf[off + 1] = (uint8_t)tid;
        off += used;
    }
}

/* The length of the MBAP frame at buf, or dflt when none is there. */
static size_t datagram_len(const uint8_t *buf, size_t len, size_t dflt)
{
    mb_frame f;
    size_t used = 0, need = 0;
    return mb_mbap_decode(buf, len, &f, &used, &need) == PLCIO_OK ? used : dflt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) return 0;
    static const mb_framing framings[4] = {MB_FRAMING_MBAP, MB_FRAMING_MBAP, MB_FRAMING_RTU, MB_FRAMING_ASCII};
    mb_framing framing = framings[data[0] & 3];
    mb_session *s = mb_session_new(framing, (unsigned)(data[0] >> 2 & 7) + 1);
    uint8_t *in = malloc(size);
    if (!s || !in) abort();
    bool datagram = (data[0] & 3) == 1;
    mb_session_set_datagram(s, datagram);
    memcpy(in, data + 1, size - 1);
    size--;

    run r;
    memset(&r, 0, sizeof r);
    static const uint8_t regs[4] = {0, 1, 0, 2};
    mb_pdu q[NREQ] = {
        {.fc = 3, .addr = 0, .qty = 2},
        {.fc = 1, .addr = 0, .qty = 10},
        {.fc = 16, .addr = 5, .qty = 2, .data = regs, .data_len = 4},
        {.fc = 0},
        {.fc = 6, .addr = 7, .value = 0x1234},
    };
    uint64_t now = 0, timeout = 10 * PLCIO_NS_PER_S;
    for (int i = 0; i < NREQ; i++) {
        int rc;
        if (i == 3) { /* raw: read device identification, basic */
            static const uint8_t pdu[] = {0x2b, 0x0e, 0x01, 0x00};
            rc = mb_session_submit_pdu(s, 1, pdu, sizeof pdu, MB_REQ_RAW, now + timeout, &r.token[i]);
            r.fc[i] = 0x2b;
            r.raw[i] = true;
        } else {
            rc = mb_session_submit(s, i == 2 ? 2 : 1, &q[i], now + timeout, &r.token[i]);
            r.fc[i] = q[i].fc;
        }
        if (rc != PLCIO_OK) abort();
    }
    bool shifted = false;
    size_t off = 0, step = size % 29 + 1;
    int rc = PLCIO_OK;
    while (rc == PLCIO_OK && mb_session_pending(s)) {
        size_t n;
        const uint8_t *tx = mb_session_next_tx(s, &n);
        if (tx && framing == MB_FRAMING_MBAP && !shifted) {
            shift_tids(in, size, (uint16_t)((tx[0] << 8 | tx[1]) - 1));
            shifted = true;
        }
        if (tx) mb_session_sent(s, now, on_answer, &r);
        if (off < size) {
            /* a serial device answers one request at a time: byte by byte, so
             * that the next request goes out right after an answer; a
             * datagram is one MBAP frame when the input frames */
            size_t k = size - off < step ? size - off : step;
            if (framing != MB_FRAMING_MBAP) k = 1;
            if (datagram) k = datagram_len(in + off, size - off, k);
            rc = mb_session_feed(s, in + off, k, now, on_answer, &r);
            off += k;
            step = step * 3 % 101 + 1;
            /* the clock: a little per chunk (serial: well inside a frame's
             * t1.5), and a pause ending RTU frames after a byte 0xFx */
            uint8_t b = in[off - 1];
            now += (uint64_t)(b & 0x0f) * (framing == MB_FRAMING_MBAP ? 1000000u : 50000u);
            if ((b & 0xf0) == 0xf0) now += 25 * PLCIO_NS_PER_MS;
        } else {
            now = mb_session_next_deadline(s) ? mb_session_next_deadline(s) : now + timeout; /* no more input */
        }
        if (rc == PLCIO_OK) rc = mb_session_on_timeout(s, now, on_answer, &r);
    }
    if (rc != PLCIO_OK && rc != PLCIO_EPROTO) abort();
    mb_session_reset(s, PLCIO_ECLOSED, on_answer, &r);
    if (mb_session_pending(s)) abort();
    for (int i = 0; i < NREQ; i++)
        if (r.done[i] != 1) abort();
    mb_session_free(s);
    free(in);
    return 0;
}
