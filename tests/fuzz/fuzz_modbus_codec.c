/* Modbus codec and server core: any bytes go through the request and
 * response decoders, the RTU length rules, the MBAP/RTU/ASCII framers and
 * the server's request processing: an error or a result, never a crash or
 * a read out of bounds. What decodes is encoded again and must give the
 * same bytes; every server answer must decode as a response. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_session.h"
#include "plcio/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pdus(const uint8_t *data, size_t size)
{
    uint8_t out[PLCIO_MB_MAX_PDU];
    size_t n, len;
    mb_pdu p;
    if (mb_request_decode(data, size, &p) == PLCIO_OK) {
        if (mb_request_encode(&p, out, sizeof out, &n) != PLCIO_OK) abort();
        if (n != size || memcmp(out, data, n) != 0) abort();
        int rc = mb_pdu_length(data, size, true, &len);
        if (rc == PLCIO_OK && len != size) abort();
    }
    if (mb_response_decode(data, size, &p) == PLCIO_OK) {
        if (mb_response_encode(&p, out, sizeof out, &n) != PLCIO_OK) abort();
        if (n != size || memcmp(out, data, n) != 0) abort();
        int rc = mb_pdu_length(data, size, false, &len);
        if (rc == PLCIO_OK && len != size) abort();
    }
}

static void frames(const uint8_t *data, size_t size)
{
    mb_frame f;
    size_t used, need;
    uint8_t scratch[256];
    if (mb_mbap_decode(data, size, &f, &used, &need) == PLCIO_OK && (used > size || f.pdu_len > 253)) abort();
    for (int req = 0; req < 2; req++)
        for (int idle = 0; idle < 2; idle++)
            if (mb_rtu_decode(data, size, req, idle, &f, &used, &need) == PLCIO_OK && used > size) abort();
    if (mb_ascii_decode(data, size, '\n', scratch, sizeof scratch, &f, &used, &need) == PLCIO_OK &&
        (used > size || f.pdu_len > 254))
        abort();
}

static plcio_modbus_server *server(void)
{
    static plcio_modbus_server *s;
    if (!s) {
        (void)plcio_modbus_server_new(NULL, &s, NULL);
        plcio_modbus_bank_config bank = plcio_modbus_bank_default(300);
        bank.files = 1;
        plcio_modbus_server_add_unit(s, 1, &bank);
    }
    return s;
}

static void serve(const uint8_t *data, size_t size)
{
    uint8_t resp[PLCIO_MB_MAX_PDU];
    size_t n = 0;
    if (size < 1) return;
    bool serial = data[0] & 1;
    if (plcio_modbus_server_process(server(), data[0] >> 1 & 1, data + 1, size - 1, serial, resp, sizeof resp, &n) !=
        PLCIO_OK)
        return;
    mb_pdu p;
    if (n && mb_response_decode(resp, n, &p) != PLCIO_OK) abort();
}

static void on_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    (void)ctx;
    (void)token;
    if ((result == PLCIO_OK || result == PLCIO_EMBEXC) != (resp != NULL)) abort();
}

/* A session with requests in flight fed the bytes as answers. */
static void session(const uint8_t *data, size_t size)
{
    for (int framing = 0; framing < 3; framing++) {
        mb_session *s = mb_session_new((mb_framing)framing, 4);
        mb_pdu q = {.fc = 3, .qty = 10};
        uint32_t tok;
        size_t len;
        for (int i = 0; i < 3; i++)
            mb_session_submit(s, (uint8_t)i, &q, 100, &tok);
        mb_session_next_tx(s, &len);
        mb_session_sent(s, 0, NULL, NULL);
        if (mb_session_feed(s, data, size, 1, on_answer, NULL) != PLCIO_OK)
            mb_session_reset(s, PLCIO_ECLOSED, on_answer, NULL);
        mb_session_on_timeout(s, 1000, on_answer, NULL);
        if (mb_session_pending(s)) abort();
        mb_session_free(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    session(data, size);
    pdus(data, size);
    frames(data, size);
    serve(data, size);
    return 0;
}
