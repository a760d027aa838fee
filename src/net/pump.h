/* A non-blocking pump between one file descriptor and one sans-I/O session:
 * the part of every event-loop client that does not depend on the protocol.
 * It finishes a non-blocking TCP connect (with a deadline), writes a
 * session's outgoing bytes as far as the socket takes them (remembering how
 * far it got, so the next call goes on where this one stopped), writes one
 * datagram per frame on UDP, reads everything waiting, and tells which events
 * to watch the fd for.
 *
 * With p->transport set (after net_pump_init), the connection is the
 * transport's (plcio/core.h) and p->fd its connection id: every call goes
 * through the transport instead of the socket (a TCP stream only).
 *
 * Ownership: the pump owns p->fd (net_pump_close closes it). Buffers
 * passed in are borrowed for the call. Nothing here blocks, allocates, logs
 * or keeps a reference to a session: the caller hands bytes both ways. */
#ifndef PLCIO_SRC_NET_PUMP_H
#define PLCIO_SRC_NET_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"

typedef struct net_pump {
    int fd;                           /* -1 when closed */
    bool connecting;                  /* a TCP connect is under way: wait for writability */
    bool datagram;                    /* UDP: each frame is sent as its own datagram */
    bool tx_blocked;                  /* the socket took part of the bytes: wait for writability */
    size_t tx_off;                    /* bytes of the caller's current tx buffer already written */
    uint64_t connect_deadline;        /* ns of the caller's clock */
    const plcio_transport *transport; /* NULL: the socket calls of net.h */
    bool tcp;                         /* a TCP socket of our own (net_pump_connect_tcp, no transport) */
    bool rx_unacked;                  /* bytes were read since the last send or net_pump_quickack */
} net_pump;

/* Where the first frame of buf[0..n) ends (datagrams); n when it cannot tell. */
typedef size_t (*net_frame_len_fn)(const uint8_t *buf, size_t n);
/* Bytes read from the fd. A result other than PLCIO_OK stops the read and is
 * returned by net_pump_recv. */
typedef int (*net_feed_fn)(void *ctx, const uint8_t *buf, size_t len);

void net_pump_init(net_pump *p, bool datagram);
/* Start a TCP connect to host:port that must finish by now + timeout_ms (now:
 * PLCIO_OK (connected at once or under way: p->connecting) or the error. */
int net_pump_connect_tcp(net_pump *p, const char *host, int port, int timeout_ms, uint64_t now);
/* Take an fd that is usable at once (a UDP socket, a serial port). */
void net_pump_adopt(net_pump *p, int fd);
/* While connecting: PLCIO_OK once connected (p->connecting is then false),
 * PLCIO_EAGAIN still under way, PLCIO_ETIMEDOUT past the deadline, or the
 * connect error (PLCIO_ECONNREFUSED, ...). */
int net_pump_connect_poll(net_pump *p, uint64_t now);
/* Write buf[p->tx_off..len) without waiting. *done true: everything is out
 * (tx_off back to 0); false: the socket is full, call again with the same
 * buffer (it may have grown at its end) when the fd is writable. frame_len
 * (datagrams only) splits the bytes into one datagram per frame. */
int net_pump_send(net_pump *p, const uint8_t *buf, size_t len, net_frame_len_fn frame_len, bool *done);
/* Read everything that waits into buf (cap bytes at a time), handing each
 * chunk to feed: PLCIO_OK when nothing more waits, PLCIO_ECLOSED when the
 * peer closed, another error of the fd, or feed's. Empty datagrams are skipped. */
int net_pump_recv(net_pump *p, uint8_t *buf, size_t cap, net_feed_fn feed, void *ctx);
/* Call before waiting for answers that are still due: on a TCP socket of our
 * own that read bytes since it last sent (a send carries the ACK) or since the
 * last call, ACK at once and re-arm quick ACKs (net_tcp_quickack: a peer with
 * Nagle's algorithm on then sends its next answer without waiting for our
 * delayed ACK). Nothing otherwise: one system call only when it matters. */
void net_pump_quickack(net_pump *p);
/* PLCIO_IO_READ / PLCIO_IO_WRITE bits to watch (0 when closed). */
unsigned net_pump_events(const net_pump *p);
/* Close the fd (if open) and forget any partial write. */
void net_pump_close(net_pump *p);

#endif
