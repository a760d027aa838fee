/* S7 partner: peer-to-peer block exchange (BSend/BRecv of S7-300/400/1500,
 * snap7's and python-snap7's Partner). Two partners share one ISO-on-TCP
 * connection: the active one connects, the passive one listens; once linked
 * either side sends blocks of up to 65535 bytes tagged with an R-ID, cut
 * into PDU-sized fragments, each acknowledged by the receiver.
 *
 * Who can do what: a passive partner accepts one partner at a time on the
 * address it is given (no default: the caller names it, 127.0.0.1 in the
 * examples), whose called TSAP must equal local_tsap. A partner only
 * exchanges blocks: it cannot read or write any memory of a PLC.
 *
 * Threads and ownership follow plcio.h: one thread at a time per handle.
 * Data passed in is copied; data handed to callbacks is borrowed for the call.
 *
 * Blocking use: _start, _wait_linked, _bsend, _brecv.
 * Event-loop use: _start, then watch plcio_s7_partner_fd() for the events
 * plcio_s7_partner_wants() returns and call plcio_s7_partner_process() when
 * one fires or the deadline passes; _bsend_async's done callback and the
 * on_recv callback run inside _process. */
#ifndef PLCIO_S7_PARTNER_H
#define PLCIO_S7_PARTNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/loop.h" /* PLCIO_IO_READ / PLCIO_IO_WRITE of plcio_s7_partner_wants */

PLCIO_BEGIN_DECLS

typedef struct plcio_s7_partner plcio_s7_partner;

typedef enum plcio_s7_partner_mode {
    PLCIO_S7_PARTNER_PASSIVE = 0, /* listens at the address, waits for the active partner */
    PLCIO_S7_PARTNER_ACTIVE = 1   /* connects to the address, reconnects after a failure */
} plcio_s7_partner_mode;

typedef enum plcio_s7_partner_status {
    PLCIO_S7_PARTNER_STOPPED = 0,
    PLCIO_S7_PARTNER_RUNNING = 1, /* started: listening or connecting, not linked */
    PLCIO_S7_PARTNER_LINKED = 2   /* connection and S7 setup done: blocks can go both ways */
} plcio_s7_partner_status;

/* A block arrived (result PLCIO_OK), or a block being received failed
 * (result the error, r_id/data/len of what had arrived). data borrowed for the call. */
typedef void (*plcio_s7_partner_recv_fn)(void *ctx, plcio_s7_partner *p, int result, uint32_t r_id, const uint8_t *data,
                                         size_t len);
/* An async send finished: PLCIO_OK only when the partner acknowledged every
 * fragment; otherwise the error (the block may be lost or partly delivered). */
typedef void (*plcio_s7_partner_done_fn)(void *ctx, plcio_s7_partner *p, int result);

typedef struct plcio_s7_partner_options {
    uint16_t local_tsap;              /* 0x0100 */
    uint16_t remote_tsap;             /* 0x0102 */
    uint16_t pdu_size;                /* asked for / offered: 480 (240..960) */
    int connect_timeout_ms;           /* TCP connect + COTP + S7 setup: 3000 */
    int send_timeout_ms;              /* wait for the ack of each fragment: 3000 */
    int recv_timeout_ms;              /* wait for the next fragment of a block: 3000 */
    int recovery_ms;                  /* active: wait before reconnecting: 500 */
    unsigned queue_blocks;            /* blocks kept for _brecv when there is no on_recv: 16 */
    plcio_s7_partner_recv_fn on_recv; /* NULL: blocks are queued for plcio_s7_partner_brecv */
    void *callback_ctx;
    plcio_logger logger;
} plcio_s7_partner_options;

PLCIO_API void plcio_s7_partner_options_init(plcio_s7_partner_options *o);

/* address: "HOST:PORT" or "HOST" (port 102); for a passive partner where it
 * listens (port 0 picks a free one: plcio_s7_partner_port), for an active one
 * whom it connects to. opts NULL: defaults. Does not start. PLCIO_EINVAL /
 * PLCIO_ERANGE with err naming the bad part; PLCIO_ENOMEM. Caller frees with
 * plcio_s7_partner_free. */
PLCIO_API int plcio_s7_partner_new(plcio_s7_partner_mode mode, const char *address,
                                   const plcio_s7_partner_options *opts, plcio_s7_partner **out, plcio_error *err);
/* Stops first (a pending send completes with PLCIO_ECANCELED). free(NULL) is a no-op. */
PLCIO_API void plcio_s7_partner_free(plcio_s7_partner *p);

/* Passive: bind and listen (errors now: address in use, ...). Active: begin
 * connecting (errors come later, in _process / _wait_linked). */
PLCIO_API int plcio_s7_partner_start(plcio_s7_partner *p);
/* Close the connection (and the listener). Pending send: PLCIO_ECANCELED. */
PLCIO_API void plcio_s7_partner_stop(plcio_s7_partner *p);
PLCIO_API plcio_s7_partner_status plcio_s7_partner_get_status(const plcio_s7_partner *p);
/* Passive: the port it listens on (after _start); active: the remote port. */
PLCIO_API int plcio_s7_partner_port(const plcio_s7_partner *p);
/* Negotiated PDU size while linked, 0 otherwise. */
PLCIO_API unsigned plcio_s7_partner_pdu_size(const plcio_s7_partner *p);
/* "IP:PORT" of the linked partner ("" when not linked); owned by p. */
PLCIO_API const char *plcio_s7_partner_peer(const plcio_s7_partner *p);

/* Blocking: run until linked or timeout_ms passed (PLCIO_ETIMEDOUT; for an
 * active partner the last connect error if there was one). */
PLCIO_API int plcio_s7_partner_wait_linked(plcio_s7_partner *p, int timeout_ms);
/* Blocking send of one block (1..65535 bytes) with its R-ID: returns when the
 * partner acknowledged its last fragment (PLCIO_OK) or on the first error.
 * PLCIO_ENOTCONN when not linked, PLCIO_EBUSY while an async send runs. */
PLCIO_API int plcio_s7_partner_bsend(plcio_s7_partner *p, uint32_t r_id, const void *data, size_t len);
/* Start a send (data copied); done runs inside _process. Errors as _bsend, at once. */
PLCIO_API int plcio_s7_partner_bsend_async(plcio_s7_partner *p, uint32_t r_id, const void *data, size_t len,
                                           plcio_s7_partner_done_fn done, void *ctx);
PLCIO_API bool plcio_s7_partner_send_busy(const plcio_s7_partner *p);
/* Blocking receive (partners without on_recv): the oldest queued block, else
 * run until one arrives or timeout_ms passed (PLCIO_ETIMEDOUT; 0: do not wait).
 * PLCIO_ENOSPC if cap is too small (*len says how big; the block stays queued). */
PLCIO_API int plcio_s7_partner_brecv(plcio_s7_partner *p, uint32_t *r_id, void *buf, size_t cap, size_t *len,
                                     int timeout_ms);

/* Event loop: the fd to watch (-1 when none), the PLCIO_IO_* events and the
 * deadline (monotonic ns, 0 none) by which _process must run anyway. */
PLCIO_API int plcio_s7_partner_fd(const plcio_s7_partner *p);
PLCIO_API unsigned plcio_s7_partner_wants(const plcio_s7_partner *p, uint64_t *deadline);
/* Accept, connect, send, receive and time out as far as possible without
 * blocking. Returns PLCIO_OK, or the error that just ended a link (the
 * partner keeps running: passive listens again, active reconnects). */
PLCIO_API int plcio_s7_partner_process(plcio_s7_partner *p);

typedef struct plcio_s7_partner_stats {
    uint64_t bytes_sent, bytes_recv;     /* block bytes acknowledged / received whole */
    uint64_t send_count, recv_count;     /* blocks */
    uint64_t send_errors, recv_errors;   /* blocks that failed */
    uint64_t links;                      /* links established since _new */
    uint32_t last_send_ms, last_recv_ms; /* first fragment to last ack / last fragment */
    uint64_t send_ns, recv_ns;           /* summed durations of the blocks counted */
} plcio_s7_partner_stats;
PLCIO_API void plcio_s7_partner_get_stats(const plcio_s7_partner *p, plcio_s7_partner_stats *out);

/* The last failure: its code and a line naming what failed ("BSend R-ID 7:
 * partner gone after 2 of 5 fragments"); PLCIO_OK and "" when none. */
PLCIO_API const plcio_error *plcio_s7_partner_last_error(const plcio_s7_partner *p);

PLCIO_END_DECLS

#endif
