/* The non-blocking fd pump of event-loop clients (see pump.h). */
#include "net/pump.h"

#include "net/loop.h"
#include "net/net.h"

void net_pump_init(net_pump *p, bool datagram)
{
    p->fd = -1;
    p->connecting = false;
    p->datagram = datagram;
    p->tx_blocked = false;
    p->tx_off = 0;
    p->connect_deadline = 0;
    p->transport = NULL;
    p->tcp = false;
    p->rx_unacked = false;
}

int net_pump_connect_tcp(net_pump *p, const char *host, int port, int timeout_ms, uint64_t now)
{
    net_pump_close(p);
    int fd = -1;
    const plcio_transport *t = p->transport;
    int rc = t ? t->connect_start(t->ctx, host, port, &fd) : net_tcp_connect_start(host, port, &fd);
    if (rc == PLCIO_OK && t) rc = PLCIO_EAGAIN; /* connect_finish tells when it is done */
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) return rc;
    p->fd = fd;
    p->tcp = !t;
    p->connecting = rc == PLCIO_EAGAIN;
    p->connect_deadline = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 1) * PLCIO_NS_PER_MS;
    return PLCIO_OK;
}

void net_pump_adopt(net_pump *p, int fd)
{
    net_pump_close(p);
    p->fd = fd;
}

int net_pump_connect_poll(net_pump *p, uint64_t now)
{
    if (!p->connecting) return p->fd >= 0 ? PLCIO_OK : PLCIO_ENOTCONN;
    const plcio_transport *t = p->transport;
    int rc = t ? t->connect_finish(t->ctx, p->fd) : net_wait(p->fd, true, 0) != PLCIO_OK ? PLCIO_EAGAIN : PLCIO_OK;
    if (rc == PLCIO_EAGAIN) return now >= p->connect_deadline ? PLCIO_ETIMEDOUT : PLCIO_EAGAIN;
    if (rc == PLCIO_OK && !t) rc = net_tcp_connect_finish(p->fd);
    if (rc == PLCIO_OK) p->connecting = false;
    return rc;
}

int net_pump_send(net_pump *p, const uint8_t *buf, size_t len, net_frame_len_fn frame_len, bool *done)
{
    *done = false;
    p->tx_blocked = false;
    while (p->tx_off < len) {
        size_t n = len - p->tx_off, sent = 0;
        if (p->datagram && frame_len) n = frame_len(buf + p->tx_off, n);
        int rc = p->transport ? p->transport->send(p->transport->ctx, p->fd, buf + p->tx_off, n, &sent)
                              : net_send_some(p->fd, buf + p->tx_off, n, &sent);
        if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) {
            p->tx_blocked = true;
            return PLCIO_OK;
        }
        if (rc != PLCIO_OK) return rc;
        if (p->datagram && sent != n) return PLCIO_EIO; /* a datagram goes whole or not at all */
        p->tx_off += sent;
        p->rx_unacked = false; /* what we sent carried the ACK */
    }
    p->tx_off = 0;
    *done = true;
    return PLCIO_OK;
}

int net_pump_recv(net_pump *p, uint8_t *buf, size_t cap, net_feed_fn feed, void *ctx)
{
    for (;;) {
        size_t got = 0;
        int rc = p->transport ? p->transport->recv(p->transport->ctx, p->fd, buf, cap, &got)
                              : net_recv_some(p->fd, buf, cap, &got, 0);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc == PLCIO_ECLOSED && p->datagram) continue; /* an empty datagram, not an end */
        if (rc != PLCIO_OK) return rc;
        p->rx_unacked = true;
        rc = feed(ctx, buf, got);
        if (rc != PLCIO_OK || p->fd < 0) return rc;
        if (got < cap && !p->datagram) return PLCIO_OK; /* a short read: the stream is drained */
    }
}

void net_pump_quickack(net_pump *p)
{
    if (!p->tcp || !p->rx_unacked || p->fd < 0) return;
    p->rx_unacked = false;
    (void)net_tcp_quickack(p->fd); /* only changes when ACKs leave */
}

unsigned net_pump_events(const net_pump *p)
{
    if (p->fd < 0) return 0;
    if (p->connecting) return PLCIO_IO_WRITE;
    return PLCIO_IO_READ | (p->tx_blocked ? PLCIO_IO_WRITE : 0u);
}

void net_pump_close(net_pump *p)
{
    if (p->transport && p->fd >= 0)
        p->transport->close(p->transport->ctx, p->fd);
    else
        net_close(p->fd);
    p->fd = -1;
    p->connecting = false;
    p->tx_blocked = false;
    p->tx_off = 0;
    p->tcp = false;
    p->rx_unacked = false;
}
