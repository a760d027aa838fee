/* S7 server connection layer: the input goes as a byte stream over a real
 * loopback TCP connection into plcio's S7 server (run_once mode, one
 * thread): TPKT reassembly, COTP connection request / data / disconnect,
 * then the S7 PDU layer. The server must answer or close, never crash,
 * overrun, leak or stop serving: after every input a fresh connection must
 * still get its connection confirm. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "plcio/s7_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static plcio_s7_server *srv;

static void setup(void)
{
    plcio_s7_server_config cfg;
    plcio_s7_server_config_init(&cfg);
    cfg.port = 0;
    cfg.frame_timeout_ms = 200;
    if (plcio_s7_server_new(&cfg, &srv)) abort();
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, 300, NULL);
    plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_M, 0, 64, NULL);
    if (plcio_s7_server_listen(srv)) abort();
}

/* Send `data`, half-close, serve until the server closes (bounded); returns
 * the bytes of answer received. */
static size_t exchange(const uint8_t *data, size_t size, uint8_t *ans, size_t cap)
{
    int fd;
    if (plcio_net_tcp_connect("127.0.0.1", plcio_s7_server_port(srv), 1000, &fd)) abort();
    size_t sent = 0, got_total = 0;
    for (int i = 0; i < 400; i++) {
        if (sent < size) {
            size_t n = 0;
            if (plcio_net_send_some(fd, data + sent, size - sent, &n) != PLCIO_OK) sent = size;
            sent += n;
            if (sent >= size) shutdown(fd, SHUT_WR);
        } else if (i == 0) {
            shutdown(fd, SHUT_WR);
        }
        plcio_s7_server_run_once(srv, 1);
        uint8_t buf[4096];
        size_t got = 0;
        int rc = plcio_net_recv_some(fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_OK) {
            size_t keep = got < cap - got_total ? got : cap - got_total;
            memcpy(ans + got_total, buf, keep);
            got_total += keep;
        } else if (rc != PLCIO_ETIMEDOUT && rc != PLCIO_EAGAIN) {
            break;
        }
    }
    struct linger lg = {1, 0}; /* reset: no TIME_WAIT pile-up over millions of runs */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    plcio_net_close(fd);
    for (int i = 0; i < 3; i++)
        plcio_s7_server_run_once(srv, 0);
    return got_total;
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
