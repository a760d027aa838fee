/* S7 server connection layer: the input goes as a byte stream over a real
 * loopback TCP connection into plcio's S7 server (run_once mode, one
 * thread): TPKT reassembly, COTP connection request / data / disconnect,
 * then the S7 PDU layer. The server must answer or close, never crash,
 * overrun, leak or stop serving: after every input a fresh connection must
 * still get its connection confirm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream_exchange.h"
#include "plcio/s7_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_s7_server *srv;

static void setup(void)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.frame_timeout_ms = 200;
    if (plcio_s7_server_new(&cfg, &srv, NULL)) abort();
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 300, NULL);
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL);
    if (plcio_s7_server_listen(srv)) abort();
}

static void serve(void *server, int wait_ms) { (void)plcio_s7_server_run_once(server, wait_ms); }

static size_t exchange(const uint8_t *data, size_t size, uint8_t *ans, size_t cap)
{
    return stream_exchange(plcio_s7_server_port(srv), serve, srv, data, size, ans, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!srv) setup();
    uint8_t ans[8192];
    exchange(data, size, ans, sizeof ans);
    static const uint8_t cr[] = {3, 0, 0, 22, 17, 0xe0, 0, 0, 0, 1, 0, 0xc0, 1, 10, 0xc1, 2, 1, 0, 0xc2, 2, 1, 2};
    if (exchange(cr, sizeof cr, ans, sizeof ans) < 7 || ans[5] != 0xd0) abort(); /* still serving */
    return 0;
}
