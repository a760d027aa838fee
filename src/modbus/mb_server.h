/* Modbus server internals shared by the protocol core (mb_server.c) and
 * the links (mb_server_io.c). */
#ifndef PLCIO_SRC_MODBUS_MB_SERVER_H
#define PLCIO_SRC_MODBUS_MB_SERVER_H

#include <pthread.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_link.h"
#include "net/loop.h"
#include "plcio/modbus.h"

#define MB_MAX_UNITS    257   /* 0..255 and ANY */
#define MB_FILE_RECORDS 10000 /* AP 6.14: records 0..9999 */
#define MB_EVENT_LOG    64    /* AP 6.10: up to 64 event bytes */

#define MB_MAX_BLOCKS 16 /* sparse tables: separate address blocks */

typedef struct mb_block {
    uint16_t start;
    uint32_t count;
    uint16_t *regs; /* registers, or bits one per element (0/1) */
} mb_block;

typedef struct mb_table {
    mb_block blocks[MB_MAX_BLOCKS];
    size_t nblocks;
} mb_table;

typedef struct mb_unit {
    int id; /* 0..255 or PLCIO_MODBUS_ANY_UNIT */
    mb_table coils, discrete, holding, input;
    uint16_t files;
    uint16_t *file_data; /* files * MB_FILE_RECORDS registers */
    uint8_t exception_status;
    plcio_modbus_callbacks cb;
    void *cb_ctx;
} mb_unit;

typedef struct mb_link_state mb_link_state; /* mb_server_io.c */

/* What FC 8 changes (AP 6.8): the state of one serial line, never the
 * server's. TCP and UDP links have none (NULL). */
typedef struct mb_line {
    bool listen_only; /* FC 8/04 until FC 8/01 */
    uint8_t ascii_lf; /* FC 8/03: the ASCII end-of-frame character */
} mb_line;

/* Forwarding (the gateway, mb_gateway.c): where a request came from, to
 * send its answer back later. */
typedef struct mb_fwd_origin {
    size_t slot;      /* the link it came on ... */
    uint64_t link_id; /* ... while it is the same link (slots are reused) */
    bool udp;
    net_peer peer; /* UDP: the sender */
    uint16_t tid;
    uint8_t unit;
} mb_fwd_origin;
/* A request the server got (pdu: borrowed for the call). PLCIO_OK: taken, its
 * answer comes through mb_server_forward_reply (possibly from inside the call);
 * PLCIO_EAGAIN: not now (TCP: the connection is not read from until
 * mb_server_forward_resume; UDP: answered "server busy"); PLCIO_ENOTFOUND:
 * the server answers it from its own units. */
typedef int (*mb_forward_fn)(void *ctx, const mb_fwd_origin *o, const uint8_t *pdu, size_t len);

struct plcio_modbus_server {
    plcio_logger logger;
    pthread_mutex_t lock;         /* recursive: banks, counters */
    mb_unit *units[MB_MAX_UNITS]; /* index unit id, 256 = ANY */
    char *devid[256];
    uint8_t server_id[200];
    size_t server_id_len;
    bool running;
    uint8_t server_data[200]; /* FC 17 additional data, after the run indicator */
    size_t server_data_len;
    plcio_modbus_server_stats stats;
    uint16_t diag_register;
    unsigned listen_only_lines; /* lines in listen-only mode (stats.listen_only when > 0) */
    mb_line api_line;           /* the line plcio_modbus_server_process(serial = true) acts on */
    uint8_t events[MB_EVENT_LOG];
    size_t event_len;
    /* links */
    plcio_modbus_server_limits limits;
    plcio_loop *loop;
    mb_link_state **links; /* listeners, connections, serial lines; NULL = free slot */
    size_t links_cap;
    uint64_t sweep_timer; /* idle and half-frame deadlines of TCP connections */
    uint64_t next_link_id;
    bool loop_borrowed;    /* mb_server_attach_loop: someone else's loop, not freed here */
    mb_forward_fn forward; /* NULL: every request is answered here */
    void *forward_ctx;
    plcio_modbus_authorize_fn authorize; /* NULL: every request is served */
    void *authorize_ctx;
    char write_role[128];       /* plcio_modbus_server_set_write_role */
    struct mb_backing *backing; /* ranges backed by remote devices (mb_backing.c); NULL: none */
    /* Batching for forward(): while `batch` > 0 the frames of one read are
     * being handed to forward() and forward_flush (may be NULL) follows them,
     * so the forwarder may hold requests and send them together. While
     * `cork` > 0 forwarded answers on TCP wait in their connection's buffer
     * until mb_server_uncork, which writes each connection's answers at once. */
    void (*forward_flush)(void *ctx);
    unsigned batch, cork;
    size_t *corked; /* slots of connections with answers held back */
    size_t ncorked, capcorked;
};

/* The exception for a request from peer (0: serve it), by the authorize hook. */
uint8_t mb_server_authorize(plcio_modbus_server *s, const plcio_modbus_peer *peer, uint8_t unit, const uint8_t *pdu,
                            size_t len);

/* Send the answer PDU of a forwarded request (MBAP with its tid and unit).
 * PLCIO_ENOTFOUND when the link it came on is gone (the answer is dropped). */
int mb_server_forward_reply(plcio_modbus_server *s, const mb_fwd_origin *o, const uint8_t *pdu, size_t len);
/* Hold forwarded answers on TCP back (nested) / write them out (the last uncork). */
void mb_server_cork(plcio_modbus_server *s);
void mb_server_uncork(plcio_modbus_server *s);
/* Read again from a TCP connection whose forward() said PLCIO_EAGAIN. */
void mb_server_forward_resume(plcio_modbus_server *s, const mb_fwd_origin *o);
/* Serve on someone else's loop (before any listen/open; the loop must outlive
 * the server): PLCIO_EBUSY when the server has a loop already. */
int mb_server_attach_loop(plcio_modbus_server *s, plcio_loop *loop);
/* The server's event loop (made on first use); NULL when out of memory. */
plcio_loop *mb_server_loop(plcio_modbus_server *s);

/* Answer one request PDU as plcio_modbus_server_process does, on a serial
 * line (line: its FC 8 state) or over TCP/UDP (line NULL). */
int mb_server_process_line(plcio_modbus_server *s, mb_line *line, uint8_t unit, const uint8_t *req, size_t len,
                           uint8_t *resp, size_t cap, size_t *resp_len);
/* Ranges backed by remote devices (mb_backing.c): freed with the server,
 * before its links and loop. */
void mb_backing_free(plcio_modbus_server *s);
/* True when the server has a serial line open. */
bool mb_server_has_serial(const plcio_modbus_server *s);

/* A serial line goes away: forget its listen-only state. */
void mb_server_line_closed(plcio_modbus_server *s, const mb_line *line);

/* Serial-line bookkeeping the links report (AP 6.8 counters). */
void mb_server_count_bus_message(plcio_modbus_server *s);
void mb_server_count_comm_error(plcio_modbus_server *s, const mb_line *line);
void mb_server_count_overrun(plcio_modbus_server *s);

#endif
