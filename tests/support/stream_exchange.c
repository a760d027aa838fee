#include "stream_exchange.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"

size_t stream_exchange(int port, stream_serve_fn serve, void *server, const uint8_t *data, size_t size, uint8_t *ans,
                       size_t cap)
{
    int fd;
    if (net_tcp_connect("127.0.0.1", port, 1000, &fd)) abort();
    size_t sent = 0, got_total = 0;
    for (int i = 0; i < 400; i++) {
        if (sent < size) {
            size_t n = 0;
            if (net_send_some(fd, data + sent, size - sent, &n) != PLCIO_OK) sent = size;
            sent += n;
            if (sent >= size) shutdown(fd, SHUT_WR);
        } else if (i == 0) {
            shutdown(fd, SHUT_WR);
        }
        serve(server, 1);
        uint8_t buf[4096];
        size_t got = 0;
        int rc = net_recv_some(fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_OK) {
            size_t keep = got < cap - got_total ? got : cap - got_total;
            memcpy(ans + got_total, buf, keep);
            got_total += keep;
        } else if (rc != PLCIO_ETIMEDOUT && rc != PLCIO_EAGAIN) {
            break;
        }
    }
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    net_close(fd);
    for (int i = 0; i < 3; i++)
        serve(server, 0);
    return got_total;
}
