/* The Modbus client's handle, shared by the blocking calls (mb_client.c)
 * and the event-loop mode (mb_client_async.c). Internal to libplcio. */
#ifndef PLCIO_SRC_MODBUS_MB_CLIENT_INTERNAL_H
#define PLCIO_SRC_MODBUS_MB_CLIENT_INTERNAL_H

#include "core/log.h"
#include "modbus/mb_codec.h"
#include "modbus/mb_link.h"
#include "modbus/mb_session.h"
#include "net/pump.h"
#include "plcio/modbus.h"

#define MB_RX_CAP 4096

/* An event-loop request: the caller's (borrowed until done runs), waiting in
 * the queue or handed to the session (token). req NULL: cancelled while on the
 * wire; its answer is dropped. */
typedef struct mb_async_req {
    plcio_modbus_request *req;
    plcio_modbus_done_fn done;
    void *ctx;
    uint32_t token;
    bool in_session;
    unsigned attempts; /* retries used */
} mb_async_req;

typedef struct mb_async {
    net_pump pump;      /* pump.fd is cfg.link.fd while the event-loop mode has the link */
    mb_async_req *base; /* cap entries; the queue q[0..n) is base[head..head + n) */
    mb_async_req *q;    /* in submission order; a retried request keeps its place */
    size_t head, n, cap;
    unsigned depth;  /* requests in flight (MBAP; 1 on RTU and ASCII) */
    uint64_t gap_ns; /* RTU on a serial line: t3.5 of silence before a request */
    uint64_t bus_ready_ns;
    bool in_process, again, failing;
    bool tls_started;      /* modbus-tls: the handshake began on this connection */
    uint64_t tls_deadline; /* ... and must end by then (clock of the options) */
    uint64_t now;          /* of the running process() round */
} mb_async;

struct plcio_modbus_client {
    mb_url_config cfg; /* link, framing, default unit, timeout, retries */
    plcio_logger logger;
    plcio_clock clock; /* the event-loop mode's time */
    bool own_io;       /* a clock or transport of the options: no blocking calls */
    mb_session *sess;
    int last_exception;
    uint32_t t35_us;        /* serial inter-frame silence */
    uint64_t last_io_ns;    /* end of the last frame on a serial line */
    bool rx_unacked;        /* blocking TCP: bytes read since our last send (pump) */
    char where[300];        /* "10.0.0.7:502", "/dev/ttyUSB0", for messages */
    plcio_error last_error; /* the last link failure */
    mb_async async;
    uint8_t rx[MB_RX_CAP];
};

/* Shared by both modes. */
int mb_client_pick_unit(const plcio_modbus_client *c, int unit, uint8_t *out);
bool mb_client_is_broadcast(const plcio_modbus_client *c, uint8_t unit);
bool mb_client_broadcast_allowed(uint8_t fc);
/* The request PDU of a plcio_modbus_request (scratch: PLCIO_MB_MAX_PDU bytes for written data). */
int mb_client_request_pdu(const plcio_modbus_request *r, mb_pdu *q, uint8_t *scratch);
/* Copy an answer into the request's buffers and set its result. */
void mb_client_request_finish(plcio_modbus_request *r, int result, const mb_pdu *s);
size_t mb_client_mbap_frame_len(const uint8_t *buf, size_t n);
void mb_client_log_tx(plcio_modbus_client *c, const uint8_t *buf, size_t n);
/* The event-loop mode holds the link (connecting or requests pending). */
bool mb_client_async_active(const plcio_modbus_client *c);
void mb_client_async_init(plcio_modbus_client *c);
/* Forget every event-loop request without its callback; close the pump. */
void mb_client_async_drop(plcio_modbus_client *c);
/* Close the link through the pump (its transport, when it has one). */
void mb_client_async_close(plcio_modbus_client *c);
/* PLCIO_OK, or PLCIO_EUNSUPPORTED (last_error set) for a client on a clock or
 * transport of its own. */
int mb_client_blocking_ok(plcio_modbus_client *c);

#endif
