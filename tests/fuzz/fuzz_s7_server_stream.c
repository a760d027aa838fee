/* S7 server connection layer, in process: the input is the byte stream a
 * client sends, fed into one s7srv_stream (the sans-I/O session behind every
 * server socket) in changing chunk sizes while a manual clock advances:
 * TPKT reassembly, COTP connection request / data (fragmented too) /
 * disconnect, the S7 PDU layer, the half-frame and idle timeouts. The
 * session must answer or ask to close, never crash, overrun or leak; every
 * byte it hands out is a whole TPKT frame holding a COTP CC or DT; and after
 * every input a fresh connection must still get its connection confirm.
 * Seeds: byte streams of the earlier loopback-socket harness, and
 * connection + one request built from ../shared/fixtures/s7-vectors
 * (tests/fuzz/seed_s7_vectors.py). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_server_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_s7_server *srv;
static s7srv_stream st; /* 13 KiB: not on the stack */

static void setup(void)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.frame_timeout_ms = 200;
    cfg.idle_timeout_ms = 1000;
    cfg.max_output_bytes = 8192;
    if (plcio_s7_server_new(&cfg, &srv, NULL)) abort();
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 300, NULL);
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL);
}

/* Take all output; it must be whole TPKT frames with a CC or DT in each. */
static size_t drain(uint8_t *first, size_t cap)
{
    size_t len, total = 0;
    const uint8_t *p = s7srv_stream_tx(&st, &len);
    if (!p) return 0;
    if (len > srv->cfg.max_output_bytes) abort();
    for (size_t off = 0; off < len;) {
        size_t flen = 0;
        cotp_tpdu t;
        if (tpkt_decode(p + off, len - off, &flen) != PLCIO_OK) abort();
        if (cotp_decode(p + off + PLCIO_TPKT_HEADER_LEN, flen - PLCIO_TPKT_HEADER_LEN, &t) != PLCIO_OK) abort();
        if (t.code != PLCIO_COTP_CC && t.code != PLCIO_COTP_DT) abort();
        off += flen;
    }
    if (first) {
        total = len < cap ? len : cap;
        memcpy(first, p, total);
    }
    s7srv_stream_tx_done(&st, len);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint64_t now = PLCIO_NS_PER_S;
    s7srv_stream_init(&st, srv, 1, now);
    size_t off = 0, step = size % 61 + 1;
    int rc = PLCIO_OK;
    while (off < size && rc == PLCIO_OK) {
        size_t k = size - off < step ? size - off : step;
        rc = s7srv_stream_feed(&st, data + off, k, now);
        drain(NULL, 0);
        off += k;
        step = step * 7 % 251 + 1;
        now += (uint64_t)(data[off - 1] & 0x3f) * PLCIO_NS_PER_MS; /* up to 63 ms between chunks */
        if (rc == PLCIO_OK) {
            uint64_t d = s7srv_stream_deadline(&st);
            if (!d) abort(); /* both timeouts are on */
            if (d <= now) rc = s7srv_stream_on_time(&st, now);
            if (d <= now && rc != PLCIO_ETIMEDOUT) abort();
        }
    }
    /* an open connection times out at its deadline, not before */
    if (rc == PLCIO_OK) {
        uint64_t d = s7srv_stream_deadline(&st);
        if (s7srv_stream_on_time(&st, d - 1) != PLCIO_OK || s7srv_stream_on_time(&st, d) != PLCIO_ETIMEDOUT) abort();
    }
    s7srv_stream_clear(&st);
    /* still serving: a fresh connection gets its CC */
    static const uint8_t cr[] = {3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 10, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2};
    uint8_t ans[64];
    s7srv_stream_init(&st, srv, 2, now);
    if (s7srv_stream_feed(&st, cr, sizeof cr, now) != PLCIO_OK || drain(ans, sizeof ans) < 7 || ans[5] != 0xd0) abort();
    s7srv_stream_clear(&st);
    return 0;
}
