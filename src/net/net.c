#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

uint64_t net_deadline(int timeout_ms)
{
    return timeout_ms > 0 ? plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS : 0;
}

int net_error_from_errno(int err)
{
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINPROGRESS: return PLCIO_EAGAIN;
    case ECONNREFUSED: return PLCIO_ECONNREFUSED;
    case ETIMEDOUT: return PLCIO_ETIMEDOUT;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENOTCONN: return PLCIO_ECLOSED;
    case ENOMEM:
    case ENOBUFS: return PLCIO_ENOMEM;
    case EACCES:
    case EPERM: return PLCIO_EACCESS;
    case EADDRINUSE: return PLCIO_EEXIST;
    case EMFILE:
    case ENFILE: return PLCIO_ELIMIT;
    case ENOENT:
    case ENODEV:
    case ENXIO: return PLCIO_ENOTFOUND;
    default: return PLCIO_EIO;
    }
}

/* Milliseconds left until the deadline, rounded up; 0 when passed or no deadline. */
static int ms_left(uint64_t deadline_ns)
{
    if (deadline_ns == 0) return 0;
    uint64_t now = plcio_monotonic_ns();
    if (now >= deadline_ns) return 0;
    uint64_t ms = (deadline_ns - now + PLCIO_NS_PER_MS - 1) / PLCIO_NS_PER_MS;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int net_wait(int fd, bool want_write, uint64_t deadline_ns)
{
    struct pollfd pfd = {.fd = fd, .events = want_write ? POLLOUT : POLLIN};
    for (;;) {
        int r = poll(&pfd, 1, ms_left(deadline_ns));
        if (r > 0) return PLCIO_OK; /* readable, writable, or an error the next call reports */
        if (r == 0) return PLCIO_ETIMEDOUT;
        if (errno != EINTR) return net_error_from_errno(errno);
    }
}

int net_tcp_quickack(int fd)
{
#ifdef TCP_QUICKACK
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one) == 0) return PLCIO_OK;
    /* not a TCP socket (a serial line, a pipe, UDP) */
    if (errno == ENOTSOCK || errno == ENOPROTOOPT || errno == EOPNOTSUPP) return PLCIO_EUNSUPPORTED;
    return net_error_from_errno(errno);
#else
    (void)fd;
    return PLCIO_EUNSUPPORTED;
#endif
}

static int set_socket_options(int fd, bool tcp)
{
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return net_error_from_errno(errno);
    if (tcp) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return PLCIO_OK;
}

static int resolve(const char *host, int port, int socktype, bool passive, struct addrinfo **out)
{
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (passive && (!host || !*host)) {
        hints.ai_family = AF_INET;
        host = NULL;
    }
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc == EAI_MEMORY) return PLCIO_ENOMEM;
    return rc == 0 ? PLCIO_OK : PLCIO_ERESOLVE;
}

int net_tcp_connect_start(const char *host, int port, int *fd_out)
{
    if (!host || port <= 0 || port > 65535 || !fd_out) return PLCIO_EINVAL;
    struct addrinfo *ai;
    int rc = resolve(host, port, SOCK_STREAM, false, &ai);
    if (rc != PLCIO_OK) return rc;
    rc = PLCIO_ECONNREFUSED;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            rc = net_error_from_errno(errno);
            continue;
        }
        rc = set_socket_options(fd, true);
        if (rc == PLCIO_OK && connect(fd, a->ai_addr, a->ai_addrlen) != 0) rc = net_error_from_errno(errno);
        if (rc == PLCIO_OK || rc == PLCIO_EAGAIN) {
            *fd_out = fd;
            break;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

int net_tcp_connect_finish(int fd)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return net_error_from_errno(errno);
    return err ? net_error_from_errno(err) : PLCIO_OK;
}

int net_tcp_connect(const char *host, int port, int timeout_ms, int *fd_out)
{
    int fd = -1;
    int rc = net_tcp_connect_start(host, port, &fd);
    if (rc == PLCIO_EAGAIN) {
        rc = net_wait(fd, true, net_deadline(timeout_ms > 0 ? timeout_ms : 1));
        if (rc == PLCIO_OK) rc = net_tcp_connect_finish(fd);
    }
    if (rc != PLCIO_OK) {
        net_close(fd);
        return rc;
    }
    *fd_out = fd;
    return PLCIO_OK;
}

static int bound_port_of(int fd)
{
    struct sockaddr_storage ss = {0}; /* the analyzer does not know getsockname fills it */
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

static int open_bound(const char *host, int port, int socktype, int *fd_out, int *bound_port)
{
    if (port < 0 || port > 65535 || !fd_out) return PLCIO_EINVAL;
    struct addrinfo *ai;
    int rc = resolve(host, port, socktype, true, &ai);
    if (rc != PLCIO_OK) return rc;
    rc = PLCIO_EIO;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            rc = net_error_from_errno(errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        rc = set_socket_options(fd, false);
        if (rc == PLCIO_OK && bind(fd, a->ai_addr, a->ai_addrlen) != 0) rc = net_error_from_errno(errno);
        if (rc == PLCIO_OK) {
            *fd_out = fd;
            if (bound_port) *bound_port = bound_port_of(fd);
            break;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

int net_tcp_listen(const char *host, int port, int backlog, int *fd_out, int *bound_port)
{
    int fd;
    int rc = open_bound(host, port, SOCK_STREAM, &fd, bound_port);
    if (rc != PLCIO_OK) return rc;
    if (listen(fd, backlog > 0 ? backlog : 64) != 0) {
        rc = net_error_from_errno(errno);
        close(fd);
        return rc;
    }
    *fd_out = fd;
    return PLCIO_OK;
}

int net_accept(int listen_fd, int *fd_out, char *peer, size_t peer_cap)
{
    struct sockaddr_storage ss = {0}; /* as in bound_port_of */
    socklen_t len = sizeof ss;
    int fd;
    do {
        fd = accept4(listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return net_error_from_errno(errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (peer && peer_cap) {
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
        }
        snprintf(peer, peer_cap, "%s:%d", ip, port);
    }
    *fd_out = fd;
    return PLCIO_OK;
}

int net_udp_open(const char *host, int port, bool server, int *fd_out, int *bound_port)
{
    if (server) return open_bound(host, port, SOCK_DGRAM, fd_out, bound_port);
    if (!host || port <= 0 || port > 65535 || !fd_out) return PLCIO_EINVAL;
    struct addrinfo *ai;
    int rc = resolve(host, port, SOCK_DGRAM, false, &ai);
    if (rc != PLCIO_OK) return rc;
    rc = PLCIO_EIO;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        rc = set_socket_options(fd, false);
        if (rc == PLCIO_OK && connect(fd, a->ai_addr, a->ai_addrlen) != 0) rc = net_error_from_errno(errno);
        if (rc == PLCIO_OK) {
            *fd_out = fd;
            if (bound_port) *bound_port = bound_port_of(fd);
            break;
        }
        close(fd);
    }
    freeaddrinfo(ai);
    return rc;
}

int net_send_some(int fd, const void *buf, size_t len, size_t *sent)
{
    ssize_t n;
    do {
        n = send(fd, buf, len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* send() on a tty or pipe (serial lines) fails with ENOTSOCK: fall back to write(). */
        if (errno == ENOTSOCK) {
            do {
                n = write(fd, buf, len);
            } while (n < 0 && errno == EINTR);
        }
        if (n < 0) {
            *sent = 0;
            return net_error_from_errno(errno);
        }
    }
    *sent = (size_t)n;
    return PLCIO_OK;
}

int net_send_all(int fd, const void *buf, size_t len, uint64_t deadline_ns, size_t *sent)
{
    const uint8_t *p = buf;
    size_t done = 0;
    int rc = PLCIO_OK;
    while (done < len) {
        size_t n = 0;
        rc = net_send_some(fd, p + done, len - done, &n);
        done += n;
        if (rc == PLCIO_EAGAIN) rc = net_wait(fd, true, deadline_ns);
        if (rc != PLCIO_OK) break;
    }
    if (sent) *sent = done;
    return rc;
}

int net_recv_some(int fd, void *buf, size_t cap, size_t *got, uint64_t deadline_ns)
{
    *got = 0;
    for (;;) {
        ssize_t n = read(fd, buf, cap);
        if (n > 0) {
            *got = (size_t)n;
            return PLCIO_OK;
        }
        if (n == 0) return cap == 0 ? PLCIO_OK : PLCIO_ECLOSED;
        if (errno == EINTR) continue;
        int rc = net_error_from_errno(errno);
        if (rc != PLCIO_EAGAIN) return rc;
        if (deadline_ns == 0) return PLCIO_EAGAIN;
        rc = net_wait(fd, false, deadline_ns);
        if (rc != PLCIO_OK) return rc;
    }
}

int net_recv_exact(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        size_t n;
        int rc = net_recv_some(fd, p + done, len - done, &n, deadline_ns);
        if (rc == PLCIO_EAGAIN) rc = PLCIO_ETIMEDOUT;
        if (rc != PLCIO_OK) return rc;
        done += n;
    }
    return PLCIO_OK;
}

static int baud_constant(unsigned baud, speed_t *out)
{
    static const struct {
        unsigned baud;
        speed_t constant;
    } rates[] = {{1200, B1200},     {2400, B2400},     {4800, B4800},    {9600, B9600},
                 {19200, B19200},   {38400, B38400},   {57600, B57600},  {115200, B115200},
                 {230400, B230400}, {460800, B460800}, {921600, B921600}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        if (rates[i].baud == baud) {
            *out = rates[i].constant;
            return PLCIO_OK;
        }
    return PLCIO_ERANGE;
}

int net_serial_open(const char *device, const serial_params *params, int *fd_out)
{
    if (!device || !params || !fd_out) return PLCIO_EINVAL;
    speed_t speed;
    if (baud_constant(params->baud, &speed) != PLCIO_OK) return PLCIO_ERANGE;
    if ((params->data_bits != 7 && params->data_bits != 8) || (params->stop_bits != 1 && params->stop_bits != 2))
        return PLCIO_ERANGE;
    if (params->parity != 'N' && params->parity != 'E' && params->parity != 'O') return PLCIO_ERANGE;

    int fd = open(device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return net_error_from_errno(errno);
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        int rc = net_error_from_errno(errno);
        close(fd);
        return rc == PLCIO_EIO ? PLCIO_EINVAL : rc; /* not a terminal */
    }
    cfmakeraw(&tio);
    tio.c_cflag &= (tcflag_t) ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD | (params->data_bits == 7 ? CS7 : CS8);
    if (params->parity != 'N') tio.c_cflag |= PARENB | (params->parity == 'O' ? PARODD : 0);
    if (params->stop_bits == 2) tio.c_cflag |= CSTOPB;
    tio.c_iflag &= (tcflag_t) ~(IXON | IXOFF | IXANY);
    /* VMIN 1 with O_NONBLOCK: an empty line reads as EAGAIN. VMIN 0 would
     * make read() return 0 ("end of file") whenever nothing is pending. */
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    cfsetispeed(&tio, speed);
    cfsetospeed(&tio, speed);
    if (tcsetattr(fd, TCSANOW, &tio) != 0) {
        int rc = net_error_from_errno(errno);
        close(fd);
        return rc;
    }
    if (params->rs485_rts) {
        struct serial_rs485 rs485;
        memset(&rs485, 0, sizeof rs485);
        rs485.flags = SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND;
        if (ioctl(fd, TIOCSRS485, &rs485) != 0) {
            close(fd);
            return PLCIO_EUNSUPPORTED;
        }
    }
    tcflush(fd, TCIOFLUSH);
    *fd_out = fd;
    return PLCIO_OK;
}

void net_serial_flush(int fd) { tcflush(fd, TCIOFLUSH); }

int net_udp_recv_from(int fd, void *buf, size_t cap, size_t *got, net_peer *peer)
{
    _Static_assert(sizeof peer->storage >= sizeof(struct sockaddr_storage), "peer storage");
    for (;;) {
        socklen_t alen = (socklen_t)sizeof peer->storage;
        ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)(void *)peer->storage, &alen);
        if (n >= 0) {
            *got = (size_t)n;
            peer->len = (unsigned)alen;
            return PLCIO_OK;
        }
        if (errno != EINTR) return net_error_from_errno(errno);
    }
}

int net_udp_send_to(int fd, const void *buf, size_t len, const net_peer *peer)
{
    for (;;) {
        ssize_t n = sendto(fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)(const void *)peer->storage,
                           (socklen_t)peer->len);
        if (n >= 0) return PLCIO_OK;
        if (errno != EINTR) return net_error_from_errno(errno);
    }
}

void net_close(int fd)
{
    if (fd >= 0) close(fd); /* on Linux the fd is released even when close reports EINTR */
}
