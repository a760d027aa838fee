/* Internals shared by the S7 client's source files. */
#ifndef PLCIO_S7_CLIENT_INTERNAL_H
#define PLCIO_S7_CLIENT_INTERNAL_H

#include "plcio/s7.h"
#include "s7/s7_codec.h"
#include "s7/s7_session.h"

struct plcio_s7_client {
    plcio_s7_client_options opt;
    char host[256];
    int fd;
    plcio_s7_session *session;
    bool want_connected;
    bool ever_connected;
    int backoff_ms;
    uint64_t next_attempt_ns;
    char message[320];
    char reason[160];
    uint16_t s7_error;
    uint8_t item_code;
};

/* Encode request `index` into out with PDU reference ref. */
typedef int (*s7c_encode_fn)(plcio_s7_client *c, void *ctx, size_t index, plcio_s7_out *out, uint16_t ref);
/* Handle the answer to request `index`. PLCIO_EPROTO drops the connection. */
typedef int (*s7c_decode_fn)(plcio_s7_client *c, void *ctx, size_t index, const plcio_s7_pdu *pdu);

/* Connect or reconnect as the options allow; clears the last error. */
int s7c_ready(plcio_s7_client *c);
/* Send `count` requests, as many in flight as the session allows, and hand
 * every answer to dec. Returns the first error dec returned, or a
 * connection error (then the message is set). */
int s7c_run(plcio_s7_client *c, size_t count, s7c_encode_fn enc, s7c_decode_fn dec, void *ctx);
int s7c_pump(plcio_s7_client *c);
/* Set the message (printf) and return rc. */
int s7c_fail(plcio_s7_client *c, int rc, const char *fmt, ...) PLCIO_PRINTF(3, 4);
/* PLCIO_EPLC with the header error named. */
int s7c_error_from_pdu(plcio_s7_client *c, const plcio_s7_pdu *pdu, const char *what);

#endif
