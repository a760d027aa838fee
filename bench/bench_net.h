/* Loopback TCP for the benchmarks' raw floors (ping-pong peers, pre-encoded
 * frames sent raw): plain POSIX sockets with TCP_NODELAY, as plcio's own
 * transports set it, so a floor costs what the wire costs. The benchmarks use
 * the public API only (scripts/check-layers.sh); this is their own small copy
 * of the few socket calls they need. Every call returns 0 or -1. */
#ifndef PLCIO_BENCH_NET_H
#define PLCIO_BENCH_NET_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void bn_close(int fd)
{
    if (fd >= 0) close(fd);
}

static inline int bn_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Wait up to timeout_ms for fd to be readable (or writable). */
static inline int bn_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

static inline int bn_wait_readable(int fd, int timeout_ms) { return bn_wait(fd, POLLIN, timeout_ms); }

/* Listen on 127.0.0.1, a port the kernel picks (*port tells which). */
static inline int bn_listen(int backlog, int *fd_out, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *fd_out = fd;
    *port = ntohs(a.sin_port);
    return 0;
}

/* A TCP port on 127.0.0.1 that is free now (listened on, then closed); -1
 * when none could be had. */
static inline int bn_free_port(void)
{
    int fd, port;
    if (bn_listen(1, &fd, &port)) return -1;
    bn_close(fd);
    return port;
}

static inline int bn_accept(int listen_fd, int *fd_out)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = accept4(listen_fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (fd < 0) return -1;
    bn_nodelay(fd);
    *fd_out = fd;
    return 0;
}

static inline int bn_connect(int port, int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    bn_nodelay(fd);
    *fd_out = fd;
    return 0;
}

static inline int bn_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            if (bn_wait(fd, POLLOUT, timeout_ms)) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static inline int bn_recv_exact(int fd, void *buf, size_t len, int timeout_ms)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            if (bn_wait_readable(fd, timeout_ms)) return -1;
        } else {
            return -1; /* closed or failed */
        }
    }
    return 0;
}

#endif
