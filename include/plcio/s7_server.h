/* plcio S7 server: a simulator that answers like an S7-300/400 CPU.
 *
 * One thread serves every connection (epoll event loop, non-blocking sockets).
 * The server runs either in its own background thread (plcio_s7_server_start /
 * _stop, like snap7's Srv_Start) or inside the caller's loop
 * (plcio_s7_server_listen, then poll plcio_s7_server_fd() for readability and
 * call plcio_s7_server_run_once()).
 *
 * Memory areas (DBs, M, I, Q, timers, counters) are registered by the
 * application. The in-memory bytes are the default data source; callbacks
 * let the application refresh data before a read, veto a read or a write,
 * and react after a write. plcio_s7_server_lock_area() gives the
 * application consistent access while the server runs (like snap7's
 * Srv_LockArea).
 *
 * Threads: plcio_s7_server_lock_area/_unlock_area, _area_data, _set_cpu_state,
 * _cpu_state, _client_count, _stop and _port are thread-safe. Registering and
 * removing areas is thread-safe too. Everything else: one thread at a time.
 * Callbacks run on the thread that serves the connection (a background
 * thread, or the caller of plcio_s7_server_run_once), with the lock of the
 * area they concern held (the lock is recursive: callbacks may lock it again).
 * With config.threads > 1 they may run on several threads at once.
 */
#ifndef PLCIO_S7_SERVER_H
#define PLCIO_S7_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_s7_server plcio_s7_server;

/* Memory areas; the values are the S7 any-pointer area codes on the wire. */
typedef enum plcio_s7_server_area {
    PLCIO_S7_SERVER_AREA_I = 0x81,  /* process inputs (E) */
    PLCIO_S7_SERVER_AREA_Q = 0x82,  /* process outputs (A) */
    PLCIO_S7_SERVER_AREA_M = 0x83,  /* flags / merker */
    PLCIO_S7_SERVER_AREA_DB = 0x84, /* data blocks, numbered 1..65535 */
    PLCIO_S7_SERVER_AREA_C = 0x1C,  /* counters, 2 bytes each */
    PLCIO_S7_SERVER_AREA_T = 0x1D   /* timers, 2 bytes each */
} plcio_s7_server_area;

/* Data-item return codes a CPU gives (the byte before each item in a
 * read/write answer). Callbacks return one of them. */
#define PLCIO_S7_SERVER_ITEM_OK                 0xFF
#define PLCIO_S7_SERVER_ITEM_HW_FAULT           0x01
#define PLCIO_S7_SERVER_ITEM_ACCESS_DENIED      0x03
#define PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE       0x05
#define PLCIO_S7_SERVER_ITEM_TYPE_NOT_SUPPORTED 0x06
#define PLCIO_S7_SERVER_ITEM_TYPE_INCONSISTENT  0x07
#define PLCIO_S7_SERVER_ITEM_NOT_FOUND          0x0A

/* CPU operating state as SZL 0x0424 and GetPlcStatus report it. */
typedef enum plcio_s7_server_cpu_state {
    PLCIO_S7_SERVER_CPU_STOP = 0x04,
    PLCIO_S7_SERVER_CPU_RUN = 0x08
} plcio_s7_server_cpu_state;

/* One read or write of one item, as the callbacks see it. */
typedef struct plcio_s7_server_access {
    plcio_s7_server_area area;
    uint16_t db_number; /* DB number; 0 for other areas */
    uint32_t start;     /* first byte of the area touched (timers/counters: byte = 2 * element) */
    uint32_t size;      /* bytes touched (1 for a bit) */
    int bit;            /* 0..7 for a bit access, -1 otherwise */
    uint8_t transport;  /* the request's transport size code (0x01 bit, 0x02 byte, ... 0x1D timer) */
    unsigned client;    /* connection id, unique while the server lives */
} plcio_s7_server_access;

/* Kinds of events reported through on_event (for logs and tests). */
typedef enum plcio_s7_server_event_kind {
    PLCIO_S7_SERVER_EV_CLIENT_ADDED,
    PLCIO_S7_SERVER_EV_CLIENT_REFUSED, /* over max_connections and no connection could be evicted */
    PLCIO_S7_SERVER_EV_CLIENT_CLOSED,  /* detail: the reason, a plcio_err (PLCIO_OK = orderly,
                                          PLCIO_ETIMEDOUT idle or half-frame timeout, PLCIO_ELIMIT
                                          evicted for a new connection when full) */
    PLCIO_S7_SERVER_EV_CPU_STOP,
    PLCIO_S7_SERVER_EV_CPU_START, /* detail: 1 warm (hot), 2 cold */
    PLCIO_S7_SERVER_EV_CLOCK_SET,
    PLCIO_S7_SERVER_EV_PASSWORD,      /* detail: 1 accepted, 0 refused, 2 cleared */
    PLCIO_S7_SERVER_EV_BLOCK_DELETED, /* a client deleted a DB; detail: its number */
    PLCIO_S7_SERVER_EV_BLOCK_INSERTED /* a client downloaded a DB (and inserted it); detail: its number */
} plcio_s7_server_event_kind;

/* One item of a write job handed to callbacks.write_job. */
typedef struct plcio_s7_server_write_item {
    plcio_s7_server_access acc; /* what the item touches (valid when code is PLCIO_S7_SERVER_ITEM_OK) */
    const uint8_t *data;        /* the client's bytes, acc.size of them (a bit: one byte, 0 or 1); borrowed
                                   for the call */
    uint8_t code;               /* the server's own checks (protection, area, range, size): ITEM_OK, or the
                                   code the item is answered with whatever the application says */
} plcio_s7_server_write_item;

/* One item of a read job handed to callbacks.read_job. */
typedef struct plcio_s7_server_read_item {
    plcio_s7_server_access acc; /* what the item asks for (valid when code is PLCIO_S7_SERVER_ITEM_OK) */
    uint8_t code;               /* the server's own checks (protection, area, range): ITEM_OK, or the code the
                                   item is answered with whatever the application says */
} plcio_s7_server_read_item;

/* The application's answer to one item of a deferred read job. */
typedef struct plcio_s7_server_read_answer {
    uint8_t code;        /* PLCIO_S7_SERVER_ITEM_OK or the item code to refuse the item with */
    const uint8_t *data; /* with ITEM_OK: acc.size bytes (a bit: one byte, 0 or 1), copied during the call;
                            NULL: the area's bytes as they are at the reply (before_read runs as usual) */
} plcio_s7_server_read_answer;

typedef struct plcio_s7_server_callbacks {
    /* Before the bytes of a read are copied out. `mem` is the whole area
     * (`mem_size` bytes), locked; the callback may refresh it. Return
     * PLCIO_S7_SERVER_ITEM_OK to serve the read, any other item code to
     * refuse it with that code. NULL: serve. */
    uint8_t (*before_read)(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t mem_size);
    /* Before a write is applied. `data` is what the client sends (for a bit:
     * one byte, 0 or 1). Return PLCIO_S7_SERVER_ITEM_OK to apply it, another
     * item code to refuse it (nothing is written). NULL: apply. */
    uint8_t (*before_write)(void *ctx, const plcio_s7_server_access *acc, const uint8_t *data);
    /* After a write was applied; `mem` is the whole area, still locked. */
    void (*after_write)(void *ctx, const plcio_s7_server_access *acc, uint8_t *mem, size_t mem_size);
    /* Connection and control events; detail depends on the kind. */
    void (*on_event)(void *ctx, plcio_s7_server_event_kind kind, unsigned client, int detail);
    /* Deferred writes: a write-var job before anything is written. Return
     * PLCIO_OK to take it: nothing is written to the areas (before_write and
     * after_write are not called for it), and the answer goes out when the
     * application calls plcio_s7_server_write_reply() with the job id (from
     * inside this callback or later), or, when it has not replied within
     * write_timeout_ms, with ITEM_HW_FAULT for every item that passed the
     * server's checks. Meanwhile later requests of that connection wait
     * (answered in order); other connections are served. A client that
     * disconnects meanwhile takes its job with it (the reply then finds
     * nothing). Any other return value: the server serves the job itself as
     * without this callback. NULL: never deferred. Caller-driven mode only
     * (plcio_s7_server_start refuses it). */
    int (*write_job)(void *ctx, uint64_t job, const plcio_s7_server_write_item *items, size_t count);
    void *ctx; /* borrowed, handed to every callback */
    /* Deferred reads, the read-var counterpart of write_job: return
     * PLCIO_OK to take the job; the answer goes out when the application
     * calls plcio_s7_server_read_reply() with the job id and one answer per
     * item (from inside this callback or later), or, without a reply within
     * write_timeout_ms, with ITEM_HW_FAULT for every item that passed the
     * server's checks. Items are answered one by one: some may carry data,
     * others a refusal. Jobs whose answer would not fit the PDU are refused
     * before the callback sees them. Later requests of that connection wait;
     * other connections are served. Any other return value: the server
     * serves the job itself (before_read included). NULL: never deferred.
     * Caller-driven mode only. (A member added after ctx so that code
     * written for the older layout keeps its initializers.) */
    int (*read_job)(void *ctx, uint64_t job, const plcio_s7_server_read_item *items, size_t count);
} plcio_s7_server_callbacks;

/* What SZL 0x0011 / 0x001C / 0x0131 report. Strings are copied at
 * plcio_s7_server_new and cut to the field width of the SZL record. */
typedef struct plcio_s7_server_identity {
    const char *order_code;       /* "6ES7 315-2EH14-0AB0" (20 chars) */
    uint8_t firmware[3];          /* V3.2.6 */
    const char *module_type_name; /* "CPU 315-2 PN/DP" (32) */
    const char *as_name;          /* automation system name (24) */
    const char *module_name;      /* (24) */
    const char *plant_id;         /* (32) */
    const char *copyright;        /* (26) */
    const char *serial_number;    /* (24) */
    uint32_t max_mpi_rate;        /* SZL 0x0131 index 1, bit/s */
    uint32_t max_bus_rate;
} plcio_s7_server_identity;

/* Largest frame_timeout_ms / idle_timeout_ms accepted (24 h). */
#define PLCIO_S7_SERVER_TIMEOUT_MAX_MS 86400000u

/* Another protocol on the same port, as a real S7-1500 answers S7CommPlus
 * beside classic S7 (plcio's S7CommPlus simulator plugs in here): each COTP
 * connection request is offered to accept() with its called TSAP; a non-NULL
 * handle takes the connection, and from then on every byte the client sends
 * (starting with the TPKT frame of that CR) goes to feed(), and what
 * output() holds is sent. Runs on the serving thread of the connection;
 * close() ends the handle (connection gone, or feed returned < 0). */
typedef struct plcio_s7_server_handoff {
    void *(*accept)(void *ctx, const uint8_t *called_tsap, size_t tsap_len, unsigned client);
    int (*feed)(void *conn, const uint8_t *data, size_t len);
    const uint8_t *(*output)(void *conn, size_t *len);
    void (*output_done)(void *conn, size_t n);
    void (*close)(void *conn);
    void *ctx; /* borrowed */
    /* Optional: called every tick_ms (0: 10) on the serving thread for each
     * handed-off connection, with the server loop's monotonic time, for what
     * the protocol sends unasked (S7CommPlus notifications); what output()
     * then holds is sent. Skipped while more than half of max_output_bytes
     * waits unsent for that connection (a slow reader never grows the
     * server's memory). < 0 closes the connection. */
    int (*tick)(void *conn, uint64_t now_ns);
    unsigned tick_ms;
} plcio_s7_server_handoff;

typedef struct plcio_s7_server_options {
    const char *host;                    /* address to bind; default "127.0.0.1" */
    uint16_t port;                       /* default 102 (ISO-TSAP); 0 picks a free port */
    unsigned max_connections;            /* 1..100000, default 256. When full, the connection that has been
                                            silent longest (no byte received) is closed to admit the new one
                                            (event CLIENT_CLOSED, detail PLCIO_ELIMIT), so idle or half-open
                                            connections can never lock a real client out. */
    uint16_t pdu_size;                   /* largest PDU offered, 240..960; default 960 */
    uint16_t max_parallel_jobs;          /* most jobs offered per connection, 1..64; default 8 */
    uint32_t frame_timeout_ms;           /* a started frame (partial TPKT or COTP-fragmented PDU) must complete
                                            within this, else the connection is closed; default 5000;
                                            0 = never; at most PLCIO_S7_SERVER_TIMEOUT_MAX_MS */
    uint32_t idle_timeout_ms;            /* close a connection that sent nothing for this long; default 60000;
                                            0 = never; at most PLCIO_S7_SERVER_TIMEOUT_MAX_MS */
    size_t max_output_bytes;             /* unsent answers per connection before it is closed; default 256 KiB */
    unsigned threads;                    /* serving threads in background mode (1..64, default 1): connections are
                                            spread over them round-robin, and callbacks then run on several
                                            threads at once (each with its area locked). run_once mode uses 1. */
    uint8_t protection_level;            /* 1 none (default), 2 write-protected, 3 read/write-protected */
    bool control_locked;                 /* refuse CPU stop/start, set clock, block download, insert and delete
                                            whatever the protection level and password (a CPU that gives
                                            HMI access only: data reads and writes); default false */
    uint32_t write_timeout_ms;           /* a deferred write or read job (callbacks.write_job / read_job) not
                                            replied to within this is answered ITEM_HW_FAULT; default 10000; 1..
                                            PLCIO_S7_SERVER_TIMEOUT_MAX_MS */
    const char *password;                /* lifts protection for one session (8 chars max); NULL = none */
    plcio_s7_server_cpu_state cpu_state; /* state at start; default RUN */
    plcio_s7_server_identity identity;
    plcio_s7_server_callbacks callbacks;
    plcio_s7_server_handoff handoff; /* NULL accept: classic S7 only */
    plcio_logger logger;             /* copied; NULL fn = process default */
} plcio_s7_server_options;

/* Fill opts with the defaults above and a CPU 315-2 PN/DP identity. */
PLCIO_API void plcio_s7_server_options_init(plcio_s7_server_options *opts);

/* Create a server (not yet listening) in *out. opts (NULL: defaults) is copied
 * (strings too). PLCIO_EINVAL for out-of-range settings, err naming the one.
 * Caller frees with plcio_s7_server_free. */
PLCIO_API int plcio_s7_server_new(const plcio_s7_server_options *opts, plcio_s7_server **out, plcio_error *err);
/* Stop if running, close every connection, free the areas the server owns.
 * NULL is a no-op. */
PLCIO_API void plcio_s7_server_free(plcio_s7_server *srv);

/* Register an area. For DB, `number` is the DB number (1..65535); for other
 * areas it is ignored (one of each). size: 1..65535 bytes (timers and
 * counters: 2 bytes per element). `memory`: NULL = the server allocates
 * zeroed memory and owns it; otherwise borrowed, must stay valid until the
 * area is removed or the server freed. PLCIO_EEXIST if already registered. */
PLCIO_API int plcio_s7_server_add_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number, size_t size,
                                       void *memory);
/* Unregister (and free if owned). PLCIO_ENOTFOUND if absent. */
PLCIO_API int plcio_s7_server_remove_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number);
/* The bytes of an area (owned by the server or the caller, see add_area);
 * NULL if absent. Change them under plcio_s7_server_lock_area. */
PLCIO_API uint8_t *plcio_s7_server_area_data(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number,
                                             size_t *size);
/* Keep the server from reading or writing the area until unlocked (the
 * connection that wants it waits; others are not served meanwhile, so keep
 * it short). Unlock from the thread that locked; locks nest. PLCIO_ENOTFOUND
 * if the area is not registered. */
PLCIO_API int plcio_s7_server_lock_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number);
PLCIO_API int plcio_s7_server_unlock_area(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t number);

/* Background mode: bind, listen and serve in a new thread. */
PLCIO_API int plcio_s7_server_start(plcio_s7_server *srv);
/* Stop the background thread (or leave run_once mode), close all connections
 * and the listening socket. The areas stay. A no-op if not running. */
PLCIO_API int plcio_s7_server_stop(plcio_s7_server *srv);

/* Caller-driven mode: bind and listen only. */
PLCIO_API int plcio_s7_server_listen(plcio_s7_server *srv);
/* A file descriptor that turns readable when run_once has work (-1 if not
 * listening). Owned by the server. */
PLCIO_API int plcio_s7_server_fd(const plcio_s7_server *srv);
/* Serve whatever is ready, waiting up to timeout_ms (0 = do not wait,
 * -1 = until something happens). PLCIO_ESTATE if not listening or if the
 * background thread owns the server. */
PLCIO_API int plcio_s7_server_run_once(plcio_s7_server *srv, int timeout_ms);

/* Answer a deferred write job (callbacks.write_job): codes[i] is item i's
 * return code (PLCIO_S7_SERVER_ITEM_OK: written; an item the server's own
 * checks refused keeps that code). count must be the job's item count.
 * Call it on the thread that runs plcio_s7_server_run_once (between calls or
 * from a callback). PLCIO_ENOTFOUND when the job waits no more (its client
 * left, or it timed out and was answered); PLCIO_EINVAL for a wrong count. */
PLCIO_API int plcio_s7_server_write_reply(plcio_s7_server *srv, uint64_t job, const uint8_t *codes, size_t count);

/* Answer a deferred read job (callbacks.read_job): answers[i] for item i
 * (an item the server's own checks refused keeps that code). count must be
 * the job's item count. Same thread rule and errors as write_reply;
 * PLCIO_EINVAL also when the job is a write job. */
PLCIO_API int plcio_s7_server_read_reply(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_read_answer *answers,
                                         size_t count);

/* ---- ranges backed by a remote S7 device ----
 *
 *   plcio_s7_backing_options bo;
 *   plcio_s7_backing_options_init(&bo);
 *   bo.max_age_ms = 500;                  // read-through cache
 *   bo.remote_db = 1;                     // DB10.DBB0..99 here is DB1.DBB0..99 there
 *   plcio_s7_server_back_range(srv, PLCIO_S7_SERVER_AREA_DB, 10, 0, 100, "s7://10.0.0.9?slot=1", &bo, &err);
 *
 * Reads and writes of the range are answered from the remote device through
 * plcio's event-loop S7 client on the server's own loop (caller-driven mode:
 * plcio_s7_server_listen + run_once; plcio_s7_server_start refuses a server
 * with backed ranges). The area's bytes in this server are the cache.
 *   - Reads: an item whose bytes were all fetched less than max_age_ms ago
 *     is served from the cache at once; otherwise the remote is asked (the
 *     whole range when it fits in 200 bytes, else the item's bytes) and the
 *     job answered when it answers. Reads that arrive while a fetch covering
 *     them is on its way wait for it (coalesced). The remote failing (down,
 *     timeout, refused) answers the item ITEM_HW_FAULT, or the remote's own
 *     item code (object does not exist, out of range) as it gave it; never
 *     the old bytes, unless serve_stale is set (then bytes fetched before,
 *     if any, are served as good).
 *   - Writes: refused with ITEM_ACCESS_DENIED unless write_through; with it,
 *     the item goes to the remote and is acknowledged only when the remote
 *     acknowledged it (its item code otherwise); the bytes then land in the
 *     cache, which counts them as not fetched (the next read asks).
 *   - An item partly inside a backed range: ITEM_OUT_OF_RANGE. Items of a
 *     job outside every backed range are served as usual (a write job with
 *     backed items applies the other items at once, before_write and
 *     after_write included).
 *   - The link: opened at the first request, again after a failure at most
 *     once per reconnect_ms; the URL's timeout= bounds each request.
 * Ranges with the same URL share one client (one request on the wire at a
 * time, items of queued reads packed together). */
typedef struct plcio_s7_backing_options {
    uint32_t max_age_ms;   /* cache age limit; 0 (default): every read asks the remote (coalesced) */
    bool write_through;    /* default false: writes to the range are refused (ITEM_ACCESS_DENIED) */
    bool serve_stale;      /* default false: a failed fetch is an item error even when older bytes exist */
    int remote_area;       /* plcio_s7_area of the remote; 0 (default): the same area as here */
    uint16_t remote_db;    /* remote DB number; 0 (default): the same as here */
    int64_t remote_start;  /* remote byte of `start`; -1 (default): the same as here */
    unsigned reconnect_ms; /* least time between two attempts to open the remote's link; 0: 500 */
} plcio_s7_backing_options;
/* Defaults as listed above. */
PLCIO_API void plcio_s7_backing_options_init(plcio_s7_backing_options *o);
/* Serve bytes [start, start + size) of an area (DB number `db`; I, Q, M:
 * db ignored) from the device at url (an s7:// client URL). An area not
 * registered yet is added (start + size bytes, owned by the server); one
 * registered must hold the range. Call before listen. PLCIO_EINVAL (no
 * server/URL, timers or counters), PLCIO_ERANGE (size 0, past 65535, remote
 * bytes past 65535, area too small, max_age above 24 h), PLCIO_EEXIST
 * (overlaps a backed range), PLCIO_ESTATE (the server is serving),
 * PLCIO_ELIMIT (64 ranges), or the client's URL errors; err says why. */
PLCIO_API int plcio_s7_server_back_range(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t db, uint32_t start,
                                         uint32_t size, const char *url, const plcio_s7_backing_options *opts,
                                         plcio_error *err);
/* Counters of one backed range (index in the order they were added). */
typedef struct plcio_s7_backing_stats {
    uint64_t reads;      /* read items for the range */
    uint64_t cache_hits; /* of those, answered from the cache */
    uint64_t coalesced;  /* of those, answered by a fetch another item started */
    uint64_t fetches;    /* reads sent to the remote */
    uint64_t writes;     /* writes sent to the remote */
    uint64_t failures;   /* items answered with an error because of the remote */
} plcio_s7_backing_stats;
/* PLCIO_ENOTFOUND for an index out of range. Call on the serving thread. */
PLCIO_API int plcio_s7_server_backing_stats(const plcio_s7_server *srv, size_t index, plcio_s7_backing_stats *out);

/* The bound port (after listen/start), 0 otherwise. */
PLCIO_API uint16_t plcio_s7_server_port(const plcio_s7_server *srv);
/* Connections open now. */
PLCIO_API unsigned plcio_s7_server_client_count(const plcio_s7_server *srv);

PLCIO_API plcio_s7_server_cpu_state plcio_s7_server_get_cpu_state(const plcio_s7_server *srv);
PLCIO_API void plcio_s7_server_set_cpu_state(plcio_s7_server *srv, plcio_s7_server_cpu_state state);

/* The PLC clock runs as the system clock plus an offset that clients change
 * with "set clock". In ns since 1970-01-01 (the PLC's local time, no zone). */
PLCIO_API int64_t plcio_s7_server_clock_ns(const plcio_s7_server *srv);
PLCIO_API void plcio_s7_server_set_clock_ns(plcio_s7_server *srv, int64_t plc_time_ns);

PLCIO_END_DECLS

#endif
