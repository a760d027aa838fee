/* The non-blocking fd pump of event-loop clients (see pump.h). */
#include "net/pump.h"

#include "net/loop.h"
#include "net/net.h"

void plcio_net_pump_init(plcio_net_pump *p, bool datagram)
{
    p->fd = -1;
    p->connecting = false;
    p->datagram = datagram;
    p->tx_blocked = false;
    p->tx_off = 0;
    p->connect_deadline = 0;
}

int plcio_net_pump_connect_tcp(plcio_net_pump *p, const char *host, int port, int timeout_ms)
{
    plcio_net_pump_close(p);
    int fd = -1;
    int rc = plcio_net_tcp_connect_start(host, port, &fd);
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) return rc;
    p->fd = fd;
    p->connecting = rc == PLCIO_EAGAIN;
    p->connect_deadline = plcio_monotonic_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 1) * PLCIO_NS_PER_MS;
    return PLCIO_OK;
}

void plcio_net_pump_adopt(plcio_net_pump *p, int fd)
{
    plcio_net_pump_close(p);
    p->fd = fd;
}

int plcio_net_pump_connect_poll(plcio_net_pump *p, uint64_t now)
{
    if (!p->connecting) return p->fd >= 0 ? PLCIO_OK : PLCIO_ENOTCONN;
    if (plcio_net_wait(p->fd, true, 0) != PLCIO_OK) return now >= p->connect_deadline ? PLCIO_ETIMEDOUT : PLCIO_EAGAIN;
    int rc = plcio_net_tcp_connect_finish(p->fd);
    if (rc == PLCIO_OK) p->connecting = false;
    return rc;
}

int plcio_net_pump_send(plcio_net_pump *p, const uint8_t *buf, size_t len, plcio_net_frame_len_fn frame_len, bool *done)
{
    *done = false;
    p->tx_blocked = false;
    while (p->tx_off < len) {
        size_t n = len - p->tx_off, sent = 0;
        if (p->datagram && frame_len) n = frame_len(buf + p->tx_off, n);
        int rc = plcio_net_send_some(p->fd, buf + p->tx_off, n, &sent);
        if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) {
            p->tx_blocked = true;
            return PLCIO_OK;
        }
        if (rc != PLCIO_OK) return rc;
        if (p->datagram && sent != n) return PLCIO_EIO; /* a datagram goes whole or not at all */
        p->tx_off += sent;
    }
    p->tx_off = 0;
    *done = true;
    return PLCIO_OK;
}

int plcio_net_pump_recv(plcio_net_pump *p, uint8_t *buf, size_t cap, plcio_net_feed_fn feed, void *ctx)
{
    for (;;) {
        size_t got = 0;
        int rc = plcio_net_recv_some(p->fd, buf, cap, &got, 0);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc == PLCIO_ECLOSED && p->datagram) continue; /* an empty datagram, not an end */
        if (rc != PLCIO_OK) return rc;
        rc = feed(ctx, buf, got);
        if (rc != PLCIO_OK || p->fd < 0) return rc;
        if (got < cap && !p->datagram) return PLCIO_OK; /* a short read: the stream is drained */
    }
}

unsigned plcio_net_pump_events(const plcio_net_pump *p)
{
    if (p->fd < 0) return 0;
    if (p->connecting) return PLCIO_IO_WRITE;
    return PLCIO_IO_READ | (p->tx_blocked ? PLCIO_IO_WRITE : 0u);
}

void plcio_net_pump_close(plcio_net_pump *p)
{
    plcio_net_close(p->fd);
    p->fd = -1;
    p->connecting = false;
    p->tx_blocked = false;
    p->tx_off = 0;
}
