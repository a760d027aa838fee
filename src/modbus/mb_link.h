/* Modbus client transports: a small table of operations per kind of link
 * (TCP stream, UDP datagrams, serial line). The framing (MBAP, RTU, ASCII)
 * is chosen separately, so RTU over TCP is the TCP link with RTU framing.
 *
 * Contract: open/close are idempotent; send writes the whole buffer before
 * the deadline or fails; recv returns at least one byte (for UDP one
 * datagram) before the deadline, PLCIO_ETIMEDOUT otherwise, PLCIO_ECLOSED
 * when the peer closed. Buffers are borrowed. Nothing here allocates. */
#ifndef PLCIO_SRC_MODBUS_MB_LINK_H
#define PLCIO_SRC_MODBUS_MB_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modbus/mb_tls.h"
#include "net/net.h"
#include "plcio/url.h"

typedef enum mb_framing { MB_FRAMING_MBAP, MB_FRAMING_RTU, MB_FRAMING_ASCII } mb_framing;

typedef struct mb_link mb_link;

typedef struct mb_link_ops {
    const char *name;
    int (*open)(mb_link *l, int timeout_ms);
    int (*send)(mb_link *l, const uint8_t *buf, size_t len, uint64_t deadline_ns);
    int (*recv)(mb_link *l, uint8_t *buf, size_t cap, size_t *got, uint64_t deadline_ns);
    void (*discard_input)(mb_link *l); /* drop unread input (serial: tcflush) */
    bool datagram;                     /* one recv = one whole frame */
    bool serial;                       /* a shared bus: broadcast, inter-frame silence */
} mb_link_ops;

struct mb_link {
    const mb_link_ops *ops;
    int fd;
    char host[256];
    int port;
    char device[256];
    serial_params serial;
    /* modbus-tls: the files and checks of the URL; the context is made on
     * the first open (mb_link_free frees it), the connection on every open */
    mb_tls_config tls_cfg;
    mb_tls_ctx *tls_ctx;
    mb_tls tls;
    char why[700]; /* the last open's failure in words ("" = plcio_strerror says it) */
};

extern const mb_link_ops mb_link_tcp, mb_link_udp, mb_link_serial, mb_link_tls;

void mb_link_close(mb_link *l);
/* Close, and free what the link keeps between connections (the TLS context). */
void mb_link_free(mb_link *l);
/* Bytes already received and held inside the link (TLS): a recv gives them
 * without the socket becoming readable. */
bool mb_link_buffered(const mb_link *l);
/* Make the TLS context of a modbus-tls link now (the open does it otherwise):
 * PLCIO_OK, or the error with l->why. */
int mb_link_tls_prepare(mb_link *l);

/* Settings from a modbus-* URL. */
typedef struct mb_url_config {
    mb_link link;
    mb_framing framing;
    uint8_t unit;
    int timeout_ms;
    unsigned retries;
} mb_url_config;

/* Parse a modbus-tcp/-udp/-rtu/-ascii/-tls URL (see modbus.h); `server` says the
 * URL is for listening (then the host may be empty). On error, a sentence in
 * err (cap bytes; err may be NULL) names the parameter or part and why. */
int mb_url_parse(const char *text, bool server, mb_url_config *out, char *err, size_t cap);

#endif
