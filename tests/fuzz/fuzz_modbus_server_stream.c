/* Modbus TCP server connection, in process: the input is the byte stream a
 * TCP client sends, fed in changing chunk sizes into an mb_srv_stream (the
 * sans-I/O core behind every server socket) while a manual clock advances:
 * MBAP framing, length checks, every function code of a unit with a bank,
 * the idle and half-frame timeouts. Nothing may crash, overrun or leak; the
 * session hands out whole MBAP frames only; and after every input a fresh
 * connection must still get a correct answer to a read of holding
 * registers. Seeds: byte streams of the earlier loopback-socket harness.
 * fuzz_modbus_server_line.c feeds the same inputs to serial lines. */
#include "mb_fuzz_server.h"

/* Take all TCP output: whole MBAP frames only. Copies the last frame. */
static size_t drain_tcp(uint64_t now, uint8_t *last, size_t cap)
{
    size_t len, got = 0;
    const uint8_t *p = mb_srv_stream_tx(&st, &len);
    for (size_t off = 0; p && off < len;) {
        mb_frame f;
        size_t used = 0, need = 0;
        if (mb_mbap_decode(p + off, len - off, &f, &used, &need) != PLCIO_OK) abort();
        if (last && used <= cap) memcpy(last, p + off, got = used);
        off += used;
    }
    if (p && mb_srv_stream_tx_done(&st, len, now) != PLCIO_OK) abort(); /* nothing was held back */
    return got;
}

static void tcp_pass(const uint8_t *data, size_t size, uint64_t *now)
{
    mb_srv_stream_init(&st, srv, MB_FRAMING_MBAP, false, 0, *now);
    size_t off = 0, step = size % 37 + 1;
    int rc = PLCIO_OK;
    while (off < size && rc == PLCIO_OK) {
        size_t k = size - off < step ? size - off : step, used = 0;
        rc = mb_srv_stream_feed(&st, data + off, k, *now, &used);
        if (used > k || (rc == PLCIO_OK && used == 0)) abort(); /* answers are drained: never held back */
        drain_tcp(*now, NULL, 0);
        off += used;
        step = step * 5 % 263 + 1;
        *now += (uint64_t)(data[off ? off - 1 : 0] & 0x3f) * PLCIO_NS_PER_MS;
        uint64_t d = mb_srv_stream_deadline(&st);
        if (rc == PLCIO_OK && d <= *now) {
            rc = mb_srv_stream_on_time(&st, *now);
            if (rc != PLCIO_ETIMEDOUT) abort();
        }
    }
    mb_srv_stream_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint64_t now = PLCIO_NS_PER_S;
    tcp_pass(data, size, &now);
    /* still serving: FC 8/01 (restart communications: leaves a listen-only
     * mode the input may have asked for, MB AP 6.8.1), then read 2 holding
     * registers at 298 of unit 1 */
    static const uint8_t rq[] = {0x12, 0x33, 0, 0, 0, 6, 1, 8, 0,    1,    0, 0,
                                 0x12, 0x34, 0, 0, 0, 6, 1, 3, 0x01, 0x2a, 0, 2};
    uint8_t ans[PLCIO_MB_TCP_MAX_ADU];
    mb_srv_stream_init(&st, srv, MB_FRAMING_MBAP, false, 0, now);
    size_t used = 0;
    if (mb_srv_stream_feed(&st, rq, sizeof rq, now, &used) != PLCIO_OK || used != sizeof rq) abort();
    size_t n = drain_tcp(now, ans, sizeof ans);
    if (n != 13 || memcmp(ans, "\x12\x34\x00\x00\x00\x07\x01\x03\x04", 9) != 0) abort();
    mb_srv_stream_clear(&st);
    return 0;
}
