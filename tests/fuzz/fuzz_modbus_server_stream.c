/* Modbus TCP server connection layer: the input goes as a byte stream over
 * a real loopback TCP connection into plcio's Modbus server (run_once):
 * MBAP reassembly, length checks, every function code of a unit with a
 * bank. The server must answer or close, never crash, overrun, leak or stop
 * serving: after every input a fresh connection must still get a correct
 * answer to a read of holding registers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream_exchange.h"
#include "plcio/modbus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_modbus_server *srv;
static int port;

static void setup(void)
{
    (void)plcio_modbus_server_new(NULL, &srv, NULL);
    if (!srv) abort();
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(300);
    bank.files = 1;
    if (plcio_modbus_server_add_unit(srv, 1, &bank)) abort();
    if (plcio_modbus_server_add_unit(srv, PLCIO_MODBUS_ANY_UNIT, &bank)) abort();
    if (plcio_modbus_server_listen_tcp(srv, "127.0.0.1", 0, &port)) abort();
}

static void serve(void *server, int wait_ms) { (void)plcio_modbus_server_run_once(server, wait_ms); }

static size_t exchange(const uint8_t *data, size_t size, uint8_t *ans, size_t cap)
{
    return stream_exchange(port, serve, srv, data, size, ans, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint8_t ans[8192];
    exchange(data, size, ans, sizeof ans);
    /* still serving: FC 8/01 (restart communications: leaves a listen-only
     * mode the input may have asked for, MB AP 6.8.1), then read 2 holding
     * registers at 298 of unit 1; the read's answer ends the stream */
    static const uint8_t rq[] = {0x12, 0x33, 0, 0, 0, 6, 1, 8, 0,    1,    0, 0,
                                 0x12, 0x34, 0, 0, 0, 6, 1, 3, 0x01, 0x2a, 0, 2};
    size_t n = exchange(rq, sizeof rq, ans, sizeof ans);
    if (n < 13 || memcmp(ans + n - 13, "\x12\x34\x00\x00\x00\x07\x01\x03\x04", 9) != 0) abort();
    return 0;
}
