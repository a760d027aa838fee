/* plcio Modbus gateway: a Modbus TCP/UDP server whose requests are answered
 * by devices behind it, on RTU, ASCII, TCP or UDP.
 *
 *   plcio_modbus_gateway *g;
 *   plcio_error err;
 *   plcio_modbus_gateway_new(NULL, &g, &err);
 *   plcio_modbus_gateway_add_target(g, PLCIO_MODBUS_GATEWAY_DEFAULT,
 *                                   "modbus-rtu:///dev/ttyUSB0?baud=115200", &err);
 *   plcio_modbus_gateway_add_target(g, 7, "modbus-tcp://10.0.0.9", &err);   // unit 7 goes there
 *   int port;
 *   plcio_modbus_gateway_listen_tcp(g, "127.0.0.1", 502, &port);
 *   plcio_modbus_gateway_run(g);           // until plcio_modbus_gateway_stop()
 *
 * What goes through: every request PDU as it came (any function code), to
 * the target of its unit id (the unit id is kept); the target's answer or
 * exception goes back to the client with the client's transaction id. The
 * gateway answers itself only with gateway exceptions (AP 7):
 *   0x0A path unavailable: no target for the unit, or the target's link is
 *        down (connection refused or lost, serial port failed; the gateway
 *        opens it again at the next request, at most once per reconnect_ms);
 *   0x0B target failed to respond: no (intact) answer within the target's
 *        timeout after its retries (the URL's timeout= and retries=);
 *   0x06 server busy: a UDP request while its client already has
 *        max_pending requests waiting (a TCP client is simply not read from
 *        until its answers are out: back-pressure, nothing is lost).
 * A request with unit 0 to a serial target is a broadcast (writes only;
 * nobody answers, so the gateway sends nothing back).
 *
 * Fairness: each target has one queue; requests from several clients are
 * taken in turns (one from each client that has some waiting), not in
 * arrival order, so a client that floods a slow serial line delays the
 * others by at most one request each. A serial RTU target keeps the line's
 * t3.5 silence between frames and has one request on the line at a time;
 * TCP and UDP targets get up to `depth` in flight (matched by transaction id).
 *
 * Security: the gateway passes writes through unless read_only is set.
 * Whoever can reach its port can read (and, without read_only, write) every
 * device behind it as if on the device's own bus: listen on 127.0.0.1 (the
 * CLI's default) or a trusted network only.
 *
 * read_only: only function codes that change nothing go through: 1, 2, 3, 4
 * (read coils, discrete inputs, holding and input registers), 7 (read
 * exception status), 8 sub-function 0 (echo), 11, 12 (comm event counter /
 * log), 17 (report server id), 20 (read file record), 24 (read FIFO), 43/14
 * (read device identification). Every other function code (the writes 5, 6,
 * 15, 16, 21, 22, 23; diagnostics that restart or reset a device; user
 * defined codes whose effect nobody can know) is answered by the gateway
 * with exception 0x01 (illegal function: "not an allowable action for the
 * server", AP 7), the target untouched. 0x01 rather than 0x0A/0x0B (a
 * client would take those as a path fault and retry) or 0x04 (a device
 * failure).
 *
 * Threads: one thread runs the gateway (run / run_once); plcio_modbus_gateway_stop
 * is thread-safe and async-signal-safe; stats may be read from the running
 * thread (or after run returned). */
#ifndef PLCIO_GATEWAY_H
#define PLCIO_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_modbus_gateway plcio_modbus_gateway;

/* The target of every unit id that has none of its own. */
#define PLCIO_MODBUS_GATEWAY_DEFAULT (-1)

typedef struct plcio_modbus_gateway_options {
    plcio_logger logger;      /* copied; fn NULL: process default */
    unsigned max_pending;     /* requests one client may have waiting or in flight, 1..1024; 0: 32 */
    unsigned depth;           /* requests in flight per TCP/UDP target, 1..64; 0: 8 */
    unsigned reconnect_ms;    /* least time between two attempts to open a target's link; 0: 500 */
    unsigned max_connections; /* TCP clients at once (as plcio_modbus_server_limits); 0: 512 */
    bool read_only;           /* write function codes answered 0x01 by the gateway (see above); default false */
} plcio_modbus_gateway_options;

/* Defaults (all zero). */
PLCIO_API void plcio_modbus_gateway_options_init(plcio_modbus_gateway_options *o);
/* A gateway with no targets and no listeners; opts may be NULL.
 * PLCIO_EINVAL (an option out of range, err names it), PLCIO_ENOMEM.
 * Caller frees with plcio_modbus_gateway_free. */
PLCIO_API int plcio_modbus_gateway_new(const plcio_modbus_gateway_options *opts, plcio_modbus_gateway **out,
                                       plcio_error *err);
/* Closes every listener, client connection and target link; requests in
 * flight are dropped unanswered. NULL is a no-op. */
PLCIO_API void plcio_modbus_gateway_free(plcio_modbus_gateway *g);

/* Route `unit` (0..255, or PLCIO_MODBUS_GATEWAY_DEFAULT) to the device at
 * url (a modbus-tcp/-udp/-rtu/-ascii client URL, plcio/modbus.h). Units
 * given the same URL share one link (one queue: one serial line is one
 * target however many units it carries). Nothing is opened yet.
 * PLCIO_EEXIST (unit already routed), PLCIO_ESYNTAX / PLCIO_ERANGE /
 * PLCIO_EINVAL (bad URL, err says why), PLCIO_ELIMIT (64 targets). */
PLCIO_API int plcio_modbus_gateway_add_target(plcio_modbus_gateway *g, int unit, const char *url, plcio_error *err);

/* Listen for Modbus TCP / UDP clients. Port 0 picks a free port, *bound_port
 * (may be NULL) tells which. host NULL or "" means every address. */
PLCIO_API int plcio_modbus_gateway_listen_tcp(plcio_modbus_gateway *g, const char *host, int port, int *bound_port);
PLCIO_API int plcio_modbus_gateway_listen_udp(plcio_modbus_gateway *g, const char *host, int port, int *bound_port);

/* Serve for up to max_wait_ms (-1: until something happens). */
PLCIO_API int plcio_modbus_gateway_run_once(plcio_modbus_gateway *g, int max_wait_ms);
/* Serve until plcio_modbus_gateway_stop. */
PLCIO_API int plcio_modbus_gateway_run(plcio_modbus_gateway *g);
/* Thread-safe and async-signal-safe. */
PLCIO_API void plcio_modbus_gateway_stop(plcio_modbus_gateway *g);

/* Counters of one target (index 0 .. plcio_modbus_gateway_target_count - 1,
 * in the order they were first added). */
typedef struct plcio_modbus_gateway_target_stats {
    const char *url;           /* owned by the gateway */
    uint64_t requests;         /* taken for this target */
    uint64_t answers;          /* relayed answers (exceptions of the device included) */
    uint64_t exceptions;       /* of those, exception answers from the device */
    uint64_t no_response;      /* answered 0x0B by the gateway (timeout, damaged answers) */
    uint64_t path_unavailable; /* answered 0x0A by the gateway (link down) */
    uint64_t broadcasts;       /* sent with nothing to answer */
    uint64_t dropped;          /* answers whose client had gone */
    uint64_t connects;         /* links opened */
    uint32_t queued;           /* waiting now (not yet on the link) */
    uint32_t in_flight;        /* on the link now */
    uint32_t max_queued;       /* most ever waiting */
    uint64_t latency_sum_us;   /* sum over relayed answers of (answer sent - request taken) */
    uint64_t refused;          /* answered 0x01 by the gateway (read_only), not sent */
} plcio_modbus_gateway_target_stats;

PLCIO_API size_t plcio_modbus_gateway_target_count(const plcio_modbus_gateway *g);
/* PLCIO_ENOTFOUND for an index out of range. */
PLCIO_API int plcio_modbus_gateway_target_stats_get(const plcio_modbus_gateway *g, size_t index,
                                                    plcio_modbus_gateway_target_stats *out);

PLCIO_END_DECLS

#endif
