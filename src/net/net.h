/* src/net: the only code in plcio that touches file descriptors.
 *
 * Contract for every function here:
 * - Sockets are returned non-blocking, close-on-exec; TCP sockets have TCP_NODELAY
 *   (request/answer protocols: Nagle would add 40 ms to every small request).
 * - "Blocking" helpers wait with poll() until an absolute deadline taken from
 *   plcio_monotonic_ns(); a deadline of 0 means "do not wait at all".
 * - Sends use MSG_NOSIGNAL: a closed peer gives PLCIO_ECLOSED, never SIGPIPE.
 * - Errors: PLCIO_ECONNREFUSED, PLCIO_ETIMEDOUT, PLCIO_ECLOSED (peer closed or
 *   reset), PLCIO_ERESOLVE, PLCIO_EAGAIN (non-blocking call would block),
 *   PLCIO_EIO (anything else; errno is left set for the log).
 * - Buffers are borrowed for the call only. */
#ifndef PLCIO_SRC_NET_NET_H
#define PLCIO_SRC_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"

/* now + timeout_ms as a deadline; timeout_ms <= 0 gives 0 ("do not wait"). */
uint64_t net_deadline(int timeout_ms);
/* Map an errno value to a plcio error. */
int net_error_from_errno(int err);

/* Connect to host:port, waiting up to timeout_ms. */
int net_tcp_connect(const char *host, int port, int timeout_ms, int *fd_out);
/* Non-blocking connect for event loops: PLCIO_OK (connected at once) or
 * PLCIO_EAGAIN (in progress: wait for writability, then call _finish). */
int net_tcp_connect_start(const char *host, int port, int *fd_out);
int net_tcp_connect_finish(int fd);

/* Listen on host:port (host NULL or "" = all IPv4 addresses; port 0 = pick one,
 * *bound_port tells which). SO_REUSEADDR is set. */
int net_tcp_listen(const char *host, int port, int backlog, int *fd_out, int *bound_port);
/* Accept one connection: PLCIO_EAGAIN when none is pending. peer (may be NULL)
 * gets "IP:PORT". */
int net_accept(int listen_fd, int *fd_out, char *peer, size_t peer_cap);

/* UDP: server=true binds host:port (port 0 = pick one, *bound_port tells which);
 * server=false connects the socket to host:port so send/recv work as on TCP. */
int net_udp_open(const char *host, int port, bool server, int *fd_out, int *bound_port);

/* UDP servers: the sender of a datagram, to answer it. Opaque storage for a
 * struct sockaddr_storage. */
typedef struct net_peer {
    uint64_t storage[16]; /* 128 bytes, aligned: sockaddr_storage */
    unsigned len;
} net_peer;
/* Receive one datagram now: PLCIO_OK (*got may be 0 for an empty datagram),
 * PLCIO_EAGAIN when none is pending. A datagram longer than cap is cut. */
int net_udp_recv_from(int fd, void *buf, size_t cap, size_t *got, net_peer *peer);
/* Send one datagram to peer (does not wait; PLCIO_EAGAIN if the socket is full). */
int net_udp_send_to(int fd, const void *buf, size_t len, const net_peer *peer);

/* Send everything, waiting for writability until the deadline. On PLCIO_ETIMEDOUT
 * or PLCIO_ECLOSED some bytes may have been sent (*sent tells, may be NULL). */
int net_send_all(int fd, const void *buf, size_t len, uint64_t deadline_ns, size_t *sent);
/* Send what the socket takes now: PLCIO_OK with *sent (may be 0 < len), PLCIO_EAGAIN
 * when nothing could be sent. */
int net_send_some(int fd, const void *buf, size_t len, size_t *sent);
/* Receive at least one byte, waiting until the deadline. PLCIO_ECLOSED on EOF. */
int net_recv_some(int fd, void *buf, size_t cap, size_t *got, uint64_t deadline_ns);
/* Receive exactly len bytes or fail (PLCIO_ETIMEDOUT / PLCIO_ECLOSED). */
int net_recv_exact(int fd, void *buf, size_t len, uint64_t deadline_ns);
/* Acknowledge what arrives on this TCP socket at once, and send an ACK that is
 * pending now, instead of the kernel's delayed ACK (Linux TCP_QUICKACK). Why a
 * client wants it: a peer that leaves Nagle's algorithm on (libmodbus's server
 * does) holds its next answer until our ACK of the previous one arrives, and a
 * delayed ACK waits up to 40 ms, so pipelined requests would crawl. The kernel
 * leaves quick-ACK mode again by itself: a client re-arms it after each read
 * while answers are still due (not when none is: then the next request carries
 * the ACK). PLCIO_OK; PLCIO_EUNSUPPORTED on anything but a TCP socket (a
 * serial line, a pipe, UDP) or where the option does not exist; another error
 * of setsockopt. Callers may ignore it: it only changes when ACKs leave. */
int net_tcp_quickack(int fd);
/* Wait until fd is readable (want_write false) or writable: PLCIO_OK or PLCIO_ETIMEDOUT. */
int net_wait(int fd, bool want_write, uint64_t deadline_ns);

/* Serial line (RS-232/RS-485) with termios: raw 8-bit mode, no flow control.
 * parity 'N', 'E' or 'O'; data_bits 7 or 8; stop_bits 1 or 2; any standard baud
 * rate from 1200 to 921600. rs485_rts: ask the kernel to drive RTS for the
 * transmitter (TIOCSRS485); PLCIO_EUNSUPPORTED where the driver cannot. */
typedef struct serial_params {
    unsigned baud;
    char parity;
    unsigned data_bits;
    unsigned stop_bits;
    bool rs485_rts;
} serial_params;
int net_serial_open(const char *device, const serial_params *params, int *fd_out);
/* Discard what is pending in both directions (after a framing error). */
void net_serial_flush(int fd);

/* close(2), ignoring EINTR; fd < 0 is a no-op. */
void net_close(int fd);

#endif
