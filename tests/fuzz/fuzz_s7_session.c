/* S7 client session: after a normal connection, any bytes from the partner
 * (in odd chunks) leave the session READY or FAILED with an error, never a
 * crash, an overrun or a hang; pending jobs see their answers or the error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7/s7_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s7_session_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.local_tsap[0] = 1, cfg.local_tsap_len = 2;
    cfg.remote_tsap[0] = 1, cfg.remote_tsap[1] = 2, cfg.remote_tsap_len = 2;
    cfg.pdu_request = 960;
    cfg.jobs_request = 4;
    cfg.connect_timeout_ns = 1000;
    cfg.request_timeout_ns = 1000;
    s7_session *s = s7_session_new(&cfg);
    if (!s) return 0;
    s7_session_start(s, 0);
    size_t n;
    s7_session_tx(s, &n);
    s7_session_tx_done(s, n);
    /* CC, then the setup answer */
    static const uint8_t cc[] = {3, 0, 0, 11, 6, 0xD0, 0, 1, 0, 7, 0};
    static const uint8_t setup[] = {3, 0, 0, 27, 2, 0xF0, 0x80, 0x32, 3, 0, 0, 0, 0,   0,
                                    8, 0, 0, 0,  0, 0xF0, 0,    0,    4, 0, 4, 1, 0xE0};
    s7_session_feed(s, cc, sizeof cc, 1);
    s7_session_tx(s, &n);
    s7_session_tx_done(s, n);
    s7_session_feed(s, setup, sizeof setup, 2);
    /* three jobs in flight with references 1, 2, 3 */
    int slots[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        s7_out out;
        uint16_t ref;
        if (s7_session_request_begin(s, &out, &ref) != PLCIO_OK) break;
        s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, 4, 1, 0, 0};
        if (s7_read_request_encode(&out, ref, &it, 1) != PLCIO_OK) abort();
        if (s7_session_request_commit(s, &out, ref, 3, &slots[i]) != PLCIO_OK) abort();
    }
    s7_session_tx(s, &n);
    s7_session_tx_done(s, n);
    size_t off = 0, step = 1;
    while (off < size) {
        size_t k = size - off < step ? size - off : step;
        if (s7_session_feed(s, data + off, k, 4) != PLCIO_OK) break;
        off += k;
        step = step * 3 % 97 + 1;
        for (int i = 0; i < 3; i++) {
            size_t len;
            if (slots[i] >= 0 && s7_session_slot_done(s, slots[i])) {
                const uint8_t *p = s7_session_slot_pdu(s, slots[i], &len);
                s7_pdu pdu;
                if (!p || s7_pdu_decode(p, len, &pdu) != PLCIO_OK) abort(); /* only whole PDUs reach jobs */
                s7_session_slot_release(s, slots[i]);
                slots[i] = -1;
            }
        }
    }
    (void)s7_session_on_time(s, 5000);
    s7_session_free(s);
    return 0;
}
