/* S7 (ISO-on-TCP) client: the classic S7 protocol of S7-300/400/1200/1500 and
 * snap7, with PDU-sized splitting, a multi-variable optimizer and pipelining.
 *
 * Threads and ownership follow plcio.h. A plcio_s7_client is used from one
 * thread at a time. Strings returned by the client are owned by it and valid
 * until the next call on the same handle. */
#ifndef PLCIO_S7_H
#define PLCIO_S7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/address.h"
#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

/* Memory areas: plcio_s7_area of plcio/address.h (PLCIO_S7_AREA_DB, _MK,
 * _PE, _PA, _CT, _TM, _P, _DI); the codec also passes 0x86 (L) and 0x87 (V). */

/* Transport sizes of a request item (any-pointer "type"). */
typedef enum plcio_s7_transport {
    PLCIO_S7_TS_BIT = 0x01,
    PLCIO_S7_TS_BYTE = 0x02,
    PLCIO_S7_TS_CHAR = 0x03,
    PLCIO_S7_TS_WORD = 0x04,
    PLCIO_S7_TS_INT = 0x05,
    PLCIO_S7_TS_DWORD = 0x06,
    PLCIO_S7_TS_DINT = 0x07,
    PLCIO_S7_TS_REAL = 0x08,
    PLCIO_S7_TS_COUNTER = 0x1C,
    PLCIO_S7_TS_TIMER = 0x1D
} plcio_s7_transport;

/* Connection types, the high byte of the remote TSAP. */
typedef enum plcio_s7_conn_type {
    PLCIO_S7_CONN_PG = 1,
    PLCIO_S7_CONN_OP = 2,
    PLCIO_S7_CONN_BASIC = 3
} plcio_s7_conn_type;

/* Text of an S7 header error (class << 8 | code), e.g. 0x8104 "service not
 * supported by the module"; never NULL, static storage. */
PLCIO_API const char *plcio_s7_error_text(uint16_t class_code);
/* Text of a data-item return code (0xFF success, 0x05 "address out of range",
 * 0x0A "object does not exist", ...); never NULL, static storage. */
PLCIO_API const char *plcio_s7_return_code_text(uint8_t return_code);
/* Name of an area as addresses write it ("DB", "M", "I", "Q", "C", "T", "P",
 * "DI", "L", "V"); "?" if unknown. */
PLCIO_API const char *plcio_s7_area_name(uint8_t area);

/* ---------------------------------------------------------------------------
 * Client
 * ------------------------------------------------------------------------- */
typedef struct plcio_s7_client plcio_s7_client;

typedef void (*plcio_s7_conn_fn)(void *ctx, plcio_s7_client *client, int reason);

typedef struct plcio_s7_client_options {
    const char *host;        /* borrowed during _new (copied) */
    int port;                /* 102 */
    unsigned rack, slot;     /* 0, 1 */
    plcio_s7_conn_type type; /* PG */
    uint16_t local_tsap;     /* 0x0100 */
    uint16_t remote_tsap;    /* 0: type << 8 | rack * 32 + slot */
    /* Routed connection through a gateway: the whole called TSAP as the
     * gateway expects it (up to 32 bytes); overrides remote_tsap. */
    const uint8_t *remote_tsap_bytes;
    size_t remote_tsap_len;
    uint16_t pdu_size;              /* asked for: 960 */
    unsigned parallel_jobs;         /* asked for: 8 (the partner may give fewer) */
    int connect_timeout_ms;         /* 3000 */
    int timeout_ms;                 /* per request: 3000 */
    bool auto_reconnect;            /* reconnect on the next call after a failure, with backoff */
    int reconnect_min_ms;           /* 100 */
    int reconnect_max_ms;           /* 5000 */
    int heartbeat_ms;               /* event-loop mode: after this long without traffic, ask the
                                     * PLC for its state (SZL 0x0424) so a dead link is noticed;
                                     * with auto_reconnect the loop also reconnects by itself. 0: off */
    plcio_s7_conn_fn on_connect;    /* after each (re)connection; reason PLCIO_OK */
    plcio_s7_conn_fn on_disconnect; /* when a connection ends; reason the error (PLCIO_OK
                                     * after plcio_s7_client_close) */
    void *callback_ctx;
    plcio_logger logger;
    /* For the event-loop mode: the time the client reads (deadlines of
     * plcio_s7_client_wants, timeouts, heartbeat, reconnect backoff) and the
     * byte stream it runs on. Zero (the default): the system monotonic
     * clock and TCP. A client with either of its own refuses the blocking
     * calls (PLCIO_EUNSUPPORTED: they wait on real sockets and real time).
     * The transport is borrowed: keep it until plcio_s7_client_free. */
    plcio_clock clock;
    const plcio_transport *transport;
    /* A LOGO! (logo:// URLs set both): addresses given as text
     * (plcio_s7_client_read_value, _write_value, _write_text,
     * plcio_s7_client_parse_address) are LOGO! addresses of this model
     * (plcio_logo_address_parse: I1, Q1, AI1..., V within the model's V
     * memory); writes to the inputs I, AI, NI, NAI are refused (PLCIO_EACCESS). */
    bool logo;
    plcio_logo_model logo_model;
} plcio_s7_client_options;

/* Defaults as listed above. */
PLCIO_API void plcio_s7_client_options_init(plcio_s7_client_options *o);
/* Options from an s7:// URL (DESIGN.md): host, port, rack, slot, pdu, timeout,
 * type=pg|op|basic, local-tsap, remote-tsap, parallel, reconnect=0|1.
 * o->host points into url (keep url alive until _new). PLCIO_ESYNTAX /
 * PLCIO_ERANGE / PLCIO_EINVAL with err naming the parameter. */
struct plcio_url;
PLCIO_API int plcio_s7_client_options_from_url(plcio_s7_client_options *o, const struct plcio_url *url,
                                               plcio_error *err);
/* A client in *out for `url` (s7://HOST[:PORT][?rack=..&slot=..], see
 * plcio_s7_client_options_from_url), with `opts` (NULL: defaults) for what a
 * URL does not say (callbacks, logger, TSAP bytes); what the URL says wins.
 * url NULL: everything from opts. Does not connect. Errors as for the URL,
 * PLCIO_ENOMEM. Caller frees with plcio_s7_client_free. */
PLCIO_API int plcio_s7_client_new(const char *url, const plcio_s7_client_options *opts, plcio_s7_client **out,
                                  plcio_error *err);
/* Closes the connection; an async job still pending is dropped without its callback. */
PLCIO_API void plcio_s7_client_free(plcio_s7_client *c);

PLCIO_API int plcio_s7_client_connect(plcio_s7_client *c);
PLCIO_API void plcio_s7_client_close(plcio_s7_client *c);
/* True while the socket is up and the session ready (checked, not cached:
 * a peer that closed is noticed here). */
PLCIO_API bool plcio_s7_client_is_connected(plcio_s7_client *c);
PLCIO_API unsigned plcio_s7_client_pdu_size(const plcio_s7_client *c);
PLCIO_API unsigned plcio_s7_client_parallel_jobs(const plcio_s7_client *c);
/* The socket, for event loops that want to watch it (with a transport of the
 * options: its connection); -1 when disconnected. */
PLCIO_API int plcio_s7_client_fd(const plcio_s7_client *c);

/* The last failure on this handle: its code and a line naming what failed and
 * the PLC's reason ("DB12.DBB0 (4 bytes): object does not exist"); code
 * PLCIO_OK and "" after a call that succeeded. Owned by the client. Also: the
 * S7 header error (class << 8 | code, 0 if none) and the data-item return
 * code (0xFF if none). */
PLCIO_API const plcio_error *plcio_s7_client_last_error(const plcio_s7_client *c);
PLCIO_API uint16_t plcio_s7_client_last_s7_error(const plcio_s7_client *c);
/* The reason alone, without what failed ("object does not exist", "address
 * out of range: DB1 is 100 bytes"); "" when the last call succeeded. */
PLCIO_API const char *plcio_s7_client_last_reason(const plcio_s7_client *c);
PLCIO_API uint8_t plcio_s7_client_last_item_code(const plcio_s7_client *c);

/* Raw memory: `size` bytes at byte `start` of area (DB/DI number `db`).
 * Counters and timers: start and size count elements of 2 bytes. Split into
 * PDU-sized requests sent in parallel. */
PLCIO_API int plcio_s7_client_read_area(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t start,
                                        uint32_t size, void *buf);
PLCIO_API int plcio_s7_client_write_area(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t start,
                                         uint32_t size, const void *buf);
/* One bit, written with the bit transport size (neighbouring bits untouched). */
PLCIO_API int plcio_s7_client_read_bit(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t byte, unsigned bit,
                                       bool *value);
PLCIO_API int plcio_s7_client_write_bit(plcio_s7_client *c, plcio_s7_area area, uint16_t db, uint32_t byte,
                                        unsigned bit, bool value);

/* One variable of a multi-variable read or write. */
typedef struct plcio_s7_var {
    plcio_s7_area area;
    uint16_t db;
    uint32_t start;    /* byte (element for C/T) */
    uint32_t size;     /* bytes (elements for C/T); 1 for a bit */
    int bit;           /* -1: bytes; 0..7: a single bit (size 1, data holds 0/1) */
    void *data;        /* read: filled; write: the bytes to write */
    int result;        /* out: PLCIO_OK or the error of this variable */
    uint8_t item_code; /* out: the PLC's return code (0xFF ok) */
} plcio_s7_var;
/* Read many variables: neighbours are merged, items packed into the fewest
 * PDUs (20 items and the PDU size per request and per answer) and the PDUs
 * pipelined. Returns PLCIO_OK when all succeeded, PLCIO_EPLC when the PLC
 * refused some (see each var's result), or a connection error. */
PLCIO_API int plcio_s7_client_read_vars(plcio_s7_client *c, plcio_s7_var *vars, size_t n);
/* Write many variables (not merged: each write touches exactly its bytes). */
PLCIO_API int plcio_s7_client_write_vars(plcio_s7_client *c, plcio_s7_var *vars, size_t n);

/* ---- event-loop use (nothing blocks) ----
 * Start with plcio_s7_client_connect_async, queue work with the *_async
 * calls, and drive the client from your loop: watch plcio_s7_client_fd() for
 * the events plcio_s7_client_wants() returns and call
 * plcio_s7_client_process() when one fires or the deadline passes. The
 * `done` callback runs inside plcio_s7_client_process with the result (vars
 * carry per-variable results as in the blocking calls). One async job at a
 * time per client; auto_reconnect applies when a job is queued while
 * disconnected. */
typedef void (*plcio_s7_done_fn)(void *ctx, plcio_s7_client *client, int result);
enum { PLCIO_S7_WANT_READ = 1, PLCIO_S7_WANT_WRITE = 2 };
/* Begin connecting: PLCIO_OK (in progress or done) or an immediate error. */
PLCIO_API int plcio_s7_client_connect_async(plcio_s7_client *c);
/* vars (and their data) are borrowed until done has been called.
 * PLCIO_EBUSY if a job (or a heartbeat) is already under way. */
PLCIO_API int plcio_s7_client_read_vars_async(plcio_s7_client *c, plcio_s7_var *vars, size_t n, plcio_s7_done_fn done,
                                              void *ctx);
PLCIO_API int plcio_s7_client_write_vars_async(plcio_s7_client *c, plcio_s7_var *vars, size_t n, plcio_s7_done_fn done,
                                               void *ctx);
/* Events to wait for on the fd (0 when idle) and the deadline (monotonic ns,
 * 0 = none) at which plcio_s7_client_process must be called anyway. */
PLCIO_API unsigned plcio_s7_client_wants(const plcio_s7_client *c, uint64_t *deadline);
/* Connect, send, receive and time out as far as possible without blocking.
 * Returns PLCIO_OK or the connection error that just happened (the job, if
 * any, has then been completed with it). */
PLCIO_API int plcio_s7_client_process(plcio_s7_client *c);
/* True while an async job is queued or running. */
PLCIO_API bool plcio_s7_client_busy(const plcio_s7_client *c);

/* Typed access by address string ("DB1.DBD8:REAL", "M10.5", "DB1:20:STRING[30]").
 * read_value fills *out (plcio_value_init'ed by the caller). write_text parses
 * the text for the address's type and writes it. */
struct plcio_value;
PLCIO_API int plcio_s7_client_read_value(plcio_s7_client *c, const char *address, struct plcio_value *out);
PLCIO_API int plcio_s7_client_write_value(plcio_s7_client *c, const char *address, const struct plcio_value *v);
PLCIO_API int plcio_s7_client_write_text(plcio_s7_client *c, const char *address, const char *text);
/* Parse an address as this client's text calls do: plcio_logo_address_parse
 * for a LOGO! client (options.logo), plcio_s7_address_parse otherwise.
 * *read_only (may be NULL): a LOGO! input, refused by the write calls. */
PLCIO_API int plcio_s7_client_parse_address(const plcio_s7_client *c, const char *address, plcio_s7_address *out,
                                            bool *read_only, plcio_error *err);

/* SZL: the whole list (all fragments) id/index into buf: 8-byte header
 * (id, index, entry length, entry count, big-endian) then the entries.
 * A header-only ID (0x0Fxx, e.g. 0x0F1C) gives the 8-byte header alone,
 * whose count says how many records the full list has.
 * PLCIO_ENOSPC if cap is too small. */
PLCIO_API int plcio_s7_client_read_szl(plcio_s7_client *c, uint16_t id, uint16_t index, void *buf, size_t cap,
                                       size_t *len);

typedef struct plcio_s7_cpu_info {
    char module_type[33]; /* SZL 0x001C */
    char serial[25];
    char as_name[25];
    char copyright[27];
    char module_name[25];
    char order_code[21];                              /* SZL 0x0011 */
    char firmware[16];                                /* "V3.3.0" when the PLC reports it */
    int cpu_state;                                    /* SZL 0x0424: 0x08 run, 0x04 stop, 0 unknown */
    int protection_level;                             /* SZL 0x0232 index 4: 1..3, 0 unknown */
    int max_pdu, max_connections, mpi_rate, bus_rate; /* SZL 0x0131 index 1 (CP info) */
} plcio_s7_cpu_info;
/* Fill what the PLC answers; a PLC that lacks one of the lists leaves its
 * fields empty (returns PLCIO_OK if at least 0x001C was read). */
PLCIO_API int plcio_s7_client_cpu_info(plcio_s7_client *c, plcio_s7_cpu_info *info);
/* SZL 0x0424: 0x08 run, 0x04 stop. */
PLCIO_API int plcio_s7_client_get_cpu_state(plcio_s7_client *c, int *state);

/* Blocks. types: "OB","FB","FC","DB","SDB","SFC","SFB". */
typedef struct plcio_s7_block_count {
    unsigned ob, fb, fc, db, sdb, sfc, sfb;
} plcio_s7_block_count;
PLCIO_API int plcio_s7_client_list_blocks(plcio_s7_client *c, plcio_s7_block_count *out);
/* Numbers of all blocks of a type; *n gets how many (PLCIO_ENOSPC if > cap). */
PLCIO_API int plcio_s7_client_list_blocks_of_type(plcio_s7_client *c, const char *type, uint16_t *numbers, size_t cap,
                                                  size_t *n);
typedef struct plcio_s7_block_details {
    char type[4];
    unsigned number, language, flags;
    unsigned load_size, mc7_size, local_data_size, sbb_size;
    unsigned checksum, version;
    char author[9], family[9], name[9];
    char code_date[48], interface_date[48]; /* "2024-05-06 07:08:09.123" */
} plcio_s7_block_details;
PLCIO_API int plcio_s7_client_block_info(plcio_s7_client *c, const char *type, unsigned number,
                                         plcio_s7_block_details *out);
/* Upload a block from the PLC (start upload, upload until the last
 * fragment, end upload): the block as the PLC sends it (MC7 with header)
 * into buf. PLCIO_ENOSPC if larger than cap (the upload is ended anyway). */
PLCIO_API int plcio_s7_client_upload(plcio_s7_client *c, const char *type, unsigned number, void *buf, size_t cap,
                                     size_t *len);
/* Download a block to the PLC: request download (load length `len`, MC7
 * length `mc7_len`), answer the PLC's download-block jobs with the bytes of
 * `block` (the load-memory image, as an upload returns it), then insert it
 * (PI service _INSE). */
PLCIO_API int plcio_s7_client_download(plcio_s7_client *c, const char *type, unsigned number, const void *block,
                                       size_t len, size_t mc7_len);
/* Delete a block from the PLC's work and load memory (PI service _DELE). */
PLCIO_API int plcio_s7_client_delete_block(plcio_s7_client *c, const char *type, unsigned number);

/* PLC control. */
PLCIO_API int plcio_s7_client_plc_stop(plcio_s7_client *c);
PLCIO_API int plcio_s7_client_plc_hot_start(plcio_s7_client *c);
PLCIO_API int plcio_s7_client_plc_cold_start(plcio_s7_client *c);
PLCIO_API int plcio_s7_client_compress(plcio_s7_client *c);
PLCIO_API int plcio_s7_client_copy_ram_to_rom(plcio_s7_client *c);

/* Clock, in the PLC's local time. */
typedef struct plcio_s7_clock {
    int year, month, day, hour, minute, second, millisecond, weekday; /* weekday 1 = Sunday */
} plcio_s7_clock;
PLCIO_API int plcio_s7_client_get_clock(plcio_s7_client *c, plcio_s7_clock *out);
PLCIO_API int plcio_s7_client_set_clock(plcio_s7_client *c, const plcio_s7_clock *in);

/* Session password (8 characters at most) and its removal. */
PLCIO_API int plcio_s7_client_set_password(plcio_s7_client *c, const char *password);
PLCIO_API int plcio_s7_client_clear_password(plcio_s7_client *c);

PLCIO_END_DECLS

#endif
