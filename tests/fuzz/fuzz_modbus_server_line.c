/* Modbus server serial lines, in process: each MBAP frame of the input (the
 * byte stream a TCP client sends; the corpus is fuzz_modbus_server_stream's),
 * re-framed as RTU and as ASCII, goes into a serial-line mb_srv_stream (the
 * sans-I/O core behind every server line) with gaps of silence around and
 * inside frames while a manual clock advances: t3.5 and ASCII framing, FC 8
 * line state (listen-only, the ASCII delimiter), the bounded answer queue, a
 * slow or failing line; what follows the first unframeable byte goes in raw.
 * Nothing may crash, overrun or leak, the answer queue stays within its
 * bound and every frame ends by time. */
#include "mb_fuzz_server.h"

static void serial_pass(mb_framing framing, const uint8_t *data, size_t size, uint64_t *now)
{
    uint32_t t15, t35;
    mb_rtu_timing(19200, &t15, &t35);
    uint64_t gap = (uint64_t)t35 * 1000u + 1;
    mb_srv_stream_init(&st, srv, framing, true, t35, *now);
    size_t off = 0;
    while (off < size) {
        mb_frame f;
        size_t used = 0, need = 0;
        uint8_t frame[PLCIO_MB_ASCII_MAX_ADU + 8];
        size_t n = 0;
        int rc = mb_mbap_decode(data + off, size - off, &f, &used, &need);
        if (rc == PLCIO_OK)
            rc = framing == MB_FRAMING_RTU ? mb_rtu_encode(f.unit, f.pdu, f.pdu_len, frame, sizeof frame, &n)
                                           : mb_ascii_encode(f.unit, f.pdu, f.pdu_len, frame, sizeof frame, &n);
        if (rc != PLCIO_OK) { /* the rest goes in raw, 100 bytes at a time */
            n = size - off < 100 ? size - off : 100;
            memcpy(frame, data + off, n);
            used = n;
        }
        /* split a frame where its tid says; the pause inside it is short,
         * or (tid bit 15) long enough to end an RTU frame */
        size_t cut = n > 1 ? data[off] % n : 0;
        (void)mb_srv_stream_feed(&st, frame, cut, *now, NULL);
        *now += (data[off] & 0x80) ? gap : 1000;
        (void)mb_srv_stream_on_time(&st, *now);
        (void)mb_srv_stream_feed(&st, frame + cut, n - cut, *now, NULL);
        size_t len;
        if (mb_srv_stream_tx(&st, &len) && len > srv->limits.serial_output_bytes) abort();
        if (used % 3 == 0) (void)mb_srv_stream_tx_done(&st, len / 2, *now); /* a slow line */
        if (used % 7 == 0) mb_srv_stream_tx_failed(&st);
        *now += gap;
        uint64_t d = mb_srv_stream_deadline(&st);
        if (d && d <= *now) (void)mb_srv_stream_on_time(&st, *now);
        if (mb_srv_stream_deadline(&st) && mb_srv_stream_deadline(&st) <= *now) abort(); /* a frame ends by time */
        off += used;
    }
    mb_srv_stream_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint64_t now = PLCIO_NS_PER_S;
    serial_pass(MB_FRAMING_RTU, data, size, &now);
    serial_pass(MB_FRAMING_ASCII, data, size, &now);
    if (srv->listen_only_lines) abort(); /* a closed line forgets its listen-only mode */
    return 0;
}
