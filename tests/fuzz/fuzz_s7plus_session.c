/* S7CommPlus session: any bytes from the "PLC" after the COTP connection,
 * fed whole and in pieces, with time moving on: an error or progress, never a
 * crash, a hang or a read out of bounds; once ready, a request is sent and the
 * rest of the input is its answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s7plus/s7p_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t cc[] = {3, 0, 0, 11, 6, 0xD0, 0, 1, 0, 1, 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t step = (size_t)(data[0] % 16) + 1;
    data++;
    size--;
    s7p_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = 100;
    s7p_session *s = NULL;
    plcio_error err;
    if (s7p_session_new(&cfg, &s, &err) != PLCIO_OK) abort();
    s7p_session_start(s, 0);
    s7p_session_feed(s, cc, sizeof cc, 0);
    uint64_t now = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        size_t txn;
        s7p_session_tx(s, &txn);
        s7p_session_tx_done(s, txn);
        if (s7p_session_feed(s, data + off, n, now) != PLCIO_OK) break;
        if (s7p_session_state(s) == S7PS_READY) {
            static const uint8_t body[] = {0, 0, 0, 0, 0};
            if (s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, now) != PLCIO_OK) abort();
        }
        s7p_pdu a;
        if (s7p_session_response(s, &a) == 1 && a.body_len > size) abort();
        now += 10 * PLCIO_NS_PER_MS;
        s7p_session_on_time(s, now);
    }
    s7p_session_free(s);
    return 0;
}
