/* S7CommPlus client: the protocol TIA Portal speaks to S7-1200 and S7-1500,
 * over TLS (the PLC's certificate verified against a CA you give), raw
 * access to non-optimized DBs and to I, Q, M, several items per request.
 *
 * Conventions as in plcio.h. Blocking calls honour timeout_ms. One request
 * at a time per client; use one client per thread.
 *
 * Security: TLS 1.3 by default (tls12=1 allows 1.2, which S7-1500 firmware
 * before 2.9 needs); the PLC's certificate must chain to `ca` (a PEM file;
 * for a PLC with a self-signed certificate, that certificate itself).
 * insecure=1 skips verification and logs a warning on every connect: only
 * for a first look at a PLC on a trusted bench. tls=0 gives an S7CommPlus V1
 * session without TLS, which real PLCs since firmware 2.9 refuse; it exists
 * for test peers (python-snap7's emulator, plcio's simulator). */
#ifndef PLCIO_S7PLUS_H
#define PLCIO_S7PLUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/layout.h"
#include "plcio/types.h"
#include "plcio/value.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_s7plus_client plcio_s7plus_client;

typedef enum plcio_s7plus_area {
    PLCIO_S7PLUS_AREA_DB = 0, /* a data block with standard (non-optimized) access */
    PLCIO_S7PLUS_AREA_I = 1,
    PLCIO_S7PLUS_AREA_Q = 2,
    PLCIO_S7PLUS_AREA_M = 3
} plcio_s7plus_area;

enum { PLCIO_S7PLUS_LEGIT_AUTO = 0, PLCIO_S7PLUS_LEGIT_LEGACY = 1, PLCIO_S7PLUS_LEGIT_NEW = 2 };

typedef struct plcio_s7plus_client_options {
    const char *host;        /* borrowed during _new (copied) */
    int port;                /* 102 */
    bool tls;                /* true */
    bool tls12;              /* false: TLS 1.3 only */
    bool insecure;           /* false: verify the PLC's certificate against ca_file */
    const char *ca_file;     /* PEM; borrowed during _new (copied) */
    const char *cert_file;   /* optional client certificate (PEM) */
    const char *key_file;    /* its key */
    const char *client_name; /* shown to the PLC: "plcio" */
    int connect_timeout_ms;  /* 5000 */
    int timeout_ms;          /* per request: 5000 */
    /* Talk to python-snap7's S7CommPlus emulator: Blobs without a root id and
     * 1-based [offset+1, size] LIDs instead of the real PLC's ClassicBlob
     * [3, offset, size]. URL: dialect=python-snap7. */
    bool python_snap7_dialect;
    plcio_logger logger;
    /* Event-loop mode: after this long without an answer from the PLC, ask
     * it for the session's protection level (what TIA Portal reads), so the
     * PLC's and any firewall's idle timers never drop the session, and a
     * dead link is noticed timeout_ms later. 0: off (the default; URL:
     * keepalive=MS). The blocking calls send nothing between calls. */
    int keepalive_ms;
    /* Event-loop mode: after a connection failed or was lost, _process
     * connects again by itself, first after reconnect_min_ms (100), the
     * wait doubling up to reconnect_max_ms (5000) while attempts fail; a job
     * queued meanwhile waits for the next attempt. Off by default (URL:
     * reconnect=1). _close stops it. */
    bool auto_reconnect;
    int reconnect_min_ms;
    int reconnect_max_ms;
    /* Event-loop mode, as plcio_s7_client_options: the time the client reads
     * (deadlines, keep-alive) and the byte stream it runs on. Zero: the
     * system monotonic clock and TCP. A client with either of its own
     * refuses the blocking calls (PLCIO_EUNSUPPORTED). The transport is
     * borrowed: keep it until plcio_s7plus_client_free. */
    plcio_clock clock;
    const plcio_transport *transport;
    /* Password legitimation after connecting (docs/s7plus.md; untested on
     * real PLCs). NULL: none. Copied; 1..64 characters. Blocking mode only:
     * connect_async refuses it (PLCIO_EUNSUPPORTED). A wrong password: the
     * session is closed and connect returns PLCIO_EACCESS. */
    const char *password;
    /* PLCIO_S7PLUS_LEGIT_AUTO: the new method over TLS, legacy without. */
    int legitimation;
    /* Symbolic reads/writes: items per GetMultiVariables/SetMultiVariables
     * (1..64; 20 by default, a conservative guess at what S7-1200s take).
     * URL: max_items=N. */
    int max_items;
    /* Symbolic reads/writes of more items than max_items: requests under way
     * at once (1..PLCIO_S7PLUS_MAX_PIPELINE; 2 by default), answers matched
     * by sequence number. 1: one after the other. How many a real S7-1500
     * takes is not known (docs/s7plus.md, "Batches and pipelining"). URL:
     * pipeline=N. */
    int pipeline;
} plcio_s7plus_client_options;
#define PLCIO_S7PLUS_MAX_PIPELINE 16

PLCIO_API void plcio_s7plus_client_options_init(plcio_s7plus_client_options *o);

/* Options from s7plus://HOST[:PORT][?ca=FILE&cert=FILE&key=FILE&insecure=1&tls=0&tls12=1
 * &timeout=MS&keepalive=MS&reconnect=0|1&dialect=python-snap7&password=PW
 * &legitimation=auto|legacy|new&max_items=N&pipeline=N]. Also s7://HOST?protocol=plus
 * (or auto) with the same keys (the s7:// keys rack, slot, ... are ignored
 * there: they belong to the classic side). Strings point into url. */
struct plcio_url;
PLCIO_API int plcio_s7plus_client_options_from_url(plcio_s7plus_client_options *o, const struct plcio_url *url,
                                                   plcio_error *err);

/* A client for `url` (s7plus://...), with opts (NULL: defaults) for what the
 * URL does not say; what the URL says wins. Not connected yet. */
PLCIO_API int plcio_s7plus_client_new(const char *url, const plcio_s7plus_client_options *opts,
                                      plcio_s7plus_client **out, plcio_error *err);
PLCIO_API void plcio_s7plus_client_free(plcio_s7plus_client *c);

/* COTP, InitSSL, TLS, CreateObject, session setup. */
PLCIO_API int plcio_s7plus_client_connect(plcio_s7plus_client *c);
/* DeleteObject (answer awaited up to timeout_ms), then the TCP connection. */
PLCIO_API void plcio_s7plus_client_close(plcio_s7plus_client *c);
PLCIO_API bool plcio_s7plus_client_is_connected(const plcio_s7plus_client *c);
PLCIO_API const plcio_error *plcio_s7plus_client_last_error(const plcio_s7plus_client *c);
/* The PLC's return value of the last refused request (0: none). */
PLCIO_API uint64_t plcio_s7plus_client_plc_error(const plcio_s7plus_client *c);
/* "TLSv1.3", or "" without TLS; owned by the client. */
PLCIO_API const char *plcio_s7plus_client_tls_version(const plcio_s7plus_client *c);

/* Raw bytes: DB `db` (ignored for I/Q/M) from byte `start` (0-based). */
PLCIO_API int plcio_s7plus_client_read_area(plcio_s7plus_client *c, plcio_s7plus_area area, unsigned db, uint32_t start,
                                            uint32_t size, void *out);
PLCIO_API int plcio_s7plus_client_write_area(plcio_s7plus_client *c, plcio_s7plus_area area, unsigned db,
                                             uint32_t start, uint32_t size, const void *data);

/* Several items in one GetMultiVariables / SetMultiVariables. Each item's
 * result is PLCIO_OK or PLCIO_EPLC (error holds the PLC's code); the call
 * returns PLCIO_OK when the exchange worked, whatever the items' results. */
typedef struct plcio_s7plus_item {
    plcio_s7plus_area area;
    unsigned db;
    uint32_t start, size;
    void *data; /* read: filled (size bytes); write: taken */
    int result;
    uint64_t error;
} plcio_s7plus_item;
#define PLCIO_S7PLUS_MAX_ITEMS 64
PLCIO_API int plcio_s7plus_client_read_multi(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n);
PLCIO_API int plcio_s7plus_client_write_multi(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n);

/* The data blocks of the PLC program (Explore of thePLCProgram, attributes
 * name and block number): up to cap numbers in *numbers, *count how many
 * there are (may exceed cap). */
PLCIO_API int plcio_s7plus_client_list_dbs(plcio_s7plus_client *c, uint16_t *numbers, size_t cap, size_t *count);

/* The effective protection level of the session (attribute 1842 of the
 * session object, as TIA Portal reads it). */
PLCIO_API int plcio_s7plus_client_get_protection_level(plcio_s7plus_client *c, unsigned *level);

/* CPU operating state, in the classic S7 encoding (SZL 0x0424):
 * PLCIO_S7PLUS_CPU_RUN 0x08, PLCIO_S7PLUS_CPU_STOP 0x04, 0 unknown; *raw
 * (may be NULL) the PLC's own value. Read as the operating-state attribute
 * (2167) of the CPU execution unit object (52): 3 RUN, 1 STOP. UNVERIFIED on
 * hardware (the real capture holds no such read, and one public report says
 * a running S7-1500 answers 0 there: "unknown" then, never a guess).
 * plcio's simulator answers it from its CPU state. */
#define PLCIO_S7PLUS_CPU_RUN  0x08
#define PLCIO_S7PLUS_CPU_STOP 0x04
PLCIO_API int plcio_s7plus_client_get_cpu_state(plcio_s7plus_client *c, int *state, unsigned *raw);

/* ---- optimized DBs by symbol ---------------------------------------------
 * Members of optimized DBs have no byte offsets: a client names them by
 * their access path, the DB's access area (0x8A0E0000 + number), the
 * sub-area (2550, the DB's actual values) and a chain of LIDs (local ids the
 * CPU assigned: one per struct level, an array's flat 0-based element index
 * after the array's LID; after the index of an array of structs, a 1, then
 * the member's LID). The PLC tells them in its type information: Explore of
 * the type-info container (537), one object per DB / struct type, each with
 * a VartypeList (LID, symbol CRC, software data type, offsets, array bounds,
 * the relation to a nested struct's type) and a VarnameList. A DB's own type
 * object is found by reading LID 1 of the DB (a RID).
 *
 * Addresses are written as TIA writes them: `"Line".Motor.Speed`,
 * `"Line".Counts[2]`, `"Line".Recipes[1].Temp`, `"Grid".M[1,2]`; the DB name
 * in double quotes (quotes may be left out when the name is a plain
 * identifier), members case-insensitive. `DB5` works for a DB's number too.
 *
 * Values are plcio_value (value.h), typed from the browse: on the wire each
 * elementary type goes as its PValue (BOOL Bool, INT Int, REAL Real, ...;
 * STRING as a USInt array [max, length, chars], WSTRING as a UInt array
 * [max, length, units], DATE/TIME/TOD/S5TIME as their integers, DTL and
 * DATE_AND_TIME as a USInt array of their S7 bytes). docs/s7plus.md, section
 * "Optimized DBs by symbol", says which of these shapes are checked against
 * what; none is checked on a real CPU yet. */

#define PLCIO_S7PLUS_MAX_LIDS 16
typedef struct plcio_s7plus_symbol {
    uint32_t access_area; /* 0x8A0E0000 + DB number */
    uint32_t sub_area;    /* 2550: the DB's actual values */
    uint32_t crc;         /* symbol CRC from the type info (0: not checked) */
    unsigned nlids;
    uint32_t lids[PLCIO_S7PLUS_MAX_LIDS];
    plcio_type type; /* elementary type of the member */
    unsigned length; /* STRING[n] / WSTRING[n]: n; else 0 */
    unsigned db;     /* DB number */
} plcio_s7plus_symbol;

/* Browse: the DBs of the PLC with their type information, as a resolved
 * layout set (layout.h): one plcio_layout per DB (name, number,
 * plcio_layout_is_optimized), its members with names, types, lengths, array
 * bounds and their LID chains (plcio_layout_member.nlids/lids). `db` names
 * one DB ("Line", "\"Line\"" or "DB5"), NULL: all. Caller frees *out with
 * plcio_layout_set_free. Byte offsets in it are plcio's standard-access
 * layout of the same declaration, not the CPU's (optimized members have none).
 * PLCIO_ENOTFOUND (no such DB), PLCIO_EPROTO (malformed type information). */
PLCIO_API int plcio_s7plus_client_browse(plcio_s7plus_client *c, const char *db, plcio_layout_set **out);

/* One symbolic address to its access path and type. The DB is browsed on
 * first use and kept (until plcio_s7plus_client_forget, or _free); later
 * names in it resolve without asking the PLC. PLCIO_ENOTFOUND (unknown DB or
 * member), PLCIO_ERANGE (index outside the declared bounds), PLCIO_ESYNTAX,
 * PLCIO_ETYPE (a struct or whole array: name a leaf). */
PLCIO_API int plcio_s7plus_client_resolve(plcio_s7plus_client *c, const char *name, plcio_s7plus_symbol *out);
/* Drop the browse cache (after a download changed the PLC's program). */
PLCIO_API void plcio_s7plus_client_forget(plcio_s7plus_client *c);

/* ---- PLC tags (the TIA "PLC tags" table: "Start" = %I0.0, "Speed_SP" = %MW10)
 * A CPU describes its tag table in the same type-info container as its DBs:
 * one type object per area (RID 0x90010000 I, 0x90020000 Q, 0x90030000 M),
 * each tag a VartypeList element (LID, software data type, its byte address
 * as the offset, a BOOL's bit) and a VarnameList name. A tag's access path is
 * the area's native object (80 I, 81 Q, 82 M), sub-area 3736 (the area's
 * actual values) and the tag's LID: read and written like a DB member, typed.
 * _resolve takes a tag by its name as TIA writes it, "Speed_SP" (quotes
 * optional when nothing follows the name; names are case-insensitive). Only
 * elementary tags: array and struct tags of a real table are left out of the
 * browse. docs/s7plus.md, "PLC tags", says what is unverified on hardware. */
#define PLCIO_S7PLUS_TAG_NAME_MAX 128
typedef struct plcio_s7plus_tag {
    char name[PLCIO_S7PLUS_TAG_NAME_MAX]; /* without quotes */
    plcio_s7plus_area area;               /* I, Q or M */
    uint32_t start;                       /* byte address: %MW10 -> 10 */
    int bit;                              /* BOOL: 0..7; other types: -1 */
    plcio_s7plus_symbol sym;              /* access path and type (sym.db 0) */
} plcio_s7plus_tag;

/* The PLC's tag table (Explore of its type information). *out (caller frees
 * with plcio_s7plus_tags_free) holds *n tags, I then Q then M, each in the
 * PLC's order; none: *out NULL and *n 0. Cached for _resolve like a DB. */
PLCIO_API int plcio_s7plus_client_browse_tags(plcio_s7plus_client *c, plcio_s7plus_tag **out, size_t *n);
PLCIO_API void plcio_s7plus_tags_free(plcio_s7plus_tag *tags);
/* A tag table as TIA Portal exports it, for the simulator: text lines
 * `Name;Address;Data type[;...]` (separator `;`, `,` or tab; names may be
 * quoted; `%` optional; German E/A for I/Q), or with a header line naming
 * the columns "Name", "Logical Address" and "Data Type" in any order (TIA's
 * export saved as CSV; other columns ignored). Empty lines and lines starting
 * with `#` or `//` are skipped. Elementary types only (no arrays, structs or
 * strings), the address's size matching the type's. LIDs are given per area
 * in file order from 10 (plcio's assumption, as for DB members). *out (free
 * with plcio_s7plus_tags_free) and *n; an error names the line: PLCIO_ESYNTAX,
 * PLCIO_ETYPE, PLCIO_EEXIST (a name twice), PLCIO_ELIMIT (more than 65535
 * tags or a line longer than 1024 bytes). */
PLCIO_API int plcio_s7plus_tags_parse(const char *text, size_t len, plcio_s7plus_tag **out, size_t *n,
                                      plcio_error *err);
/* The same from a file (at most 16 MiB). */
PLCIO_API int plcio_s7plus_tags_load(const char *path, plcio_s7plus_tag **out, size_t *n, plcio_error *err);

/* Typed multi-item read/write. Items go in GetMultiVariables /
 * SetMultiVariables requests of at most max_items (option, default 20) each,
 * up to `pipeline` requests (option, default 2) under way at once; each item
 * gets its result (PLCIO_OK, PLCIO_EPLC with the PLC's code in error,
 * PLCIO_ETYPE/PLCIO_ERANGE when the PLC's value does not fit the symbol's
 * type or the value to write does not fit; a request the PLC refused as a
 * whole: PLCIO_EPLC with its return value for each of its items, PLCIO_EPROTO
 * for an answer that cannot be read). The call returns PLCIO_OK when the
 * exchanges worked, whatever the items' results. A connection lost on the
 * way: the call returns its error, the items answered before keep their
 * results, every other item gets that error. */
typedef struct plcio_s7plus_sym_item {
    plcio_s7plus_symbol sym;
    plcio_value value; /* read: filled (plcio_value_init'ed to sym.type); write: taken */
    int result;
    uint64_t error;
} plcio_s7plus_sym_item;
PLCIO_API int plcio_s7plus_client_read_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n);
PLCIO_API int plcio_s7plus_client_write_symbols(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n);
/* Event-loop forms (see below): items borrowed until done has run; done
 * runs once, after the last batch. */

/* ---- event-loop use (nothing blocks) ----
 * As the classic S7 client (plcio/s7.h): start with
 * plcio_s7plus_client_connect_async, queue one job at a time with the
 * *_async calls, watch plcio_s7plus_client_fd() for the events
 * plcio_s7plus_client_wants() returns and call
 * plcio_s7plus_client_process() when one fires or the deadline passes.
 * `done` runs inside _process only (an _async call that fails at once
 * returns the error and never calls it) with the result; items carry per-item results as in the
 * blocking calls; a job still pending at _close/_free is dropped without
 * its callback. A job queued while connecting or while a keep-alive is under way
 * goes when the session is ready. A failure drops the connection; connect
 * again (connect_async) to go on, or let auto_reconnect do it. */
typedef void (*plcio_s7plus_done_fn)(void *ctx, plcio_s7plus_client *c, int result);
enum { PLCIO_S7PLUS_WANT_READ = 1, PLCIO_S7PLUS_WANT_WRITE = 2 };
/* Begin: PLCIO_OK (in progress, or already connected) or an immediate error.
 * done (may be NULL) gets PLCIO_OK when the session is ready, or the error. */
PLCIO_API int plcio_s7plus_client_connect_async(plcio_s7plus_client *c, plcio_s7plus_done_fn done, void *ctx);
/* items (and their data) are borrowed until done has run. PLCIO_EBUSY if a
 * job is queued already, PLCIO_ENOTCONN without connect_async first (with
 * auto_reconnect after a lost connection: queued for the next attempt). */
PLCIO_API int plcio_s7plus_client_read_multi_async(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n,
                                                   plcio_s7plus_done_fn done, void *ctx);
PLCIO_API int plcio_s7plus_client_write_multi_async(plcio_s7plus_client *c, plcio_s7plus_item *items, size_t n,
                                                    plcio_s7plus_done_fn done, void *ctx);
/* Symbolic items (symbols resolved beforehand with the blocking _resolve,
 * or filled from a browse): batches of max_items, up to `pipeline` of them
 * under way at once, inside _process; done runs once, after the last answer,
 * with per-item results as the blocking call. An item whose value cannot be
 * sent gets its result at once; if none can, PLCIO_ETYPE. */
PLCIO_API int plcio_s7plus_client_read_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                                     plcio_s7plus_done_fn done, void *ctx);
PLCIO_API int plcio_s7plus_client_write_symbols_async(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n,
                                                      plcio_s7plus_done_fn done, void *ctx);
/* Events to wait for on the fd (0: none) and the deadline (monotonic ns of
 * the client's clock, 0: none) at which _process must be called anyway. */
PLCIO_API unsigned plcio_s7plus_client_wants(const plcio_s7plus_client *c, uint64_t *deadline);
/* Connect, send, receive, keep alive and time out without blocking. Returns
 * PLCIO_OK or the error that just broke the connection (a job under way has
 * then been completed with it). */
PLCIO_API int plcio_s7plus_client_process(plcio_s7plus_client *c);
/* True while a job is queued or under way. */
PLCIO_API bool plcio_s7plus_client_busy(const plcio_s7plus_client *c);
/* The socket (with a transport of the options: its connection); -1 when none. */
PLCIO_API int plcio_s7plus_client_fd(const plcio_s7plus_client *c);
/* Keep-alive requests sent on this client so far (for tests and stats). */
PLCIO_API uint64_t plcio_s7plus_client_keepalives(const plcio_s7plus_client *c);

/* ---- subscriptions ---------------------------------------------------------
 * The PLC sends the values of a set of items unasked: all of them first,
 * then those that changed, checked every cycle_ms (S7CommPlus
 * Subscription objects; docs/s7plus.md "Subscriptions" says what of this is
 * verified on hardware: the notification layout and the credit flow are from
 * a real S7-1500 capture, the CreateObject of the subscription is not).
 *
 * Notifications come on the same connection, between answers too: the
 * client hands each to `notify` from inside whatever call is reading the
 * socket (a blocking call, plcio_s7plus_client_wait_notification, or
 * plcio_s7plus_client_process). Do not call the client's blocking functions
 * from `notify`. Credits: the PLC stops after `credits` notifications not
 * acknowledged; the client acknowledges by itself (SetVariable of the credit
 * limit, without an answer, as TIA Portal does) once half are used, so a
 * reader that keeps calling the client never stalls, and one that stops
 * reading makes the PLC pause rather than queue. Subscriptions end with the
 * connection (subscribe again after a reconnect). */

#ifndef PLCIO_S7PLUS_MAX_LIDS
#define PLCIO_S7PLUS_MAX_LIDS 16
#endif
/* What to watch: `size` bytes from `start` of an area (as plcio_s7plus_item),
 * or, with nlids > 0, an access path (an optimized DB member: access area,
 * sub-area, symbol CRC, LID chain, as symbol resolution gives them). */
typedef struct plcio_s7plus_sub_item {
    plcio_s7plus_area area;
    unsigned db;
    uint32_t start, size;
    uint32_t access_area, sub_area, crc;
    unsigned nlids;
    uint32_t lids[PLCIO_S7PLUS_MAX_LIDS];
} plcio_s7plus_sub_item;

/* One item's value in a notification. data: the bytes as the PLC stores
 * them (a byte range as read; an elementary value big-endian, BOOL one byte
 * 0/1), borrowed during the callback. result PLCIO_OK; PLCIO_EPLC with
 * error the PLC's item code (0x03, 0x13: addressing error); PLCIO_EUNSUPPORTED
 * for a value of a type this client does not turn into bytes (pvalue_type
 * says which). */
typedef struct plcio_s7plus_sub_value {
    size_t item; /* index into the items given to subscribe */
    int result;
    unsigned error;
    unsigned pvalue_type;
    const uint8_t *data;
    size_t size;
} plcio_s7plus_sub_value;

typedef struct plcio_s7plus_notification {
    uint32_t subscription; /* the id subscribe gave */
    uint32_t seq;          /* the PLC's sequence number */
    unsigned credit_tick;
    bool first; /* the first one: every item */
    size_t n;   /* values: the items that changed (none: a cycle without change) */
    const plcio_s7plus_sub_value *values;
} plcio_s7plus_notification;

typedef void (*plcio_s7plus_notify_fn)(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n);

typedef struct plcio_s7plus_subscription_options {
    unsigned cycle_ms; /* how often the PLC checks: 100 (plcio's simulator: at least 10) */
    bool every_cycle;  /* true: a notification each cycle, empty without change; false: only on change */
    int credits;       /* notifications unacknowledged before the PLC pauses: 1..200, 10; -1: unlimited */
    plcio_s7plus_notify_fn notify;
    void *ctx;
} plcio_s7plus_subscription_options;

#define PLCIO_S7PLUS_MAX_SUB_ITEMS 1000
PLCIO_API void plcio_s7plus_subscription_options_init(plcio_s7plus_subscription_options *o);
/* CreateObject of a subscription on items[0..n) (1..1000; copied): *id the
 * PLC's object id. PLCIO_EPLC with plcio_s7plus_client_plc_error when the
 * PLC refuses (plcio's simulator: more than 16 subscriptions or 1000 items
 * per session, an item list it cannot parse). */
PLCIO_API int plcio_s7plus_client_subscribe(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                                            const plcio_s7plus_subscription_options *opts, uint32_t *id);
/* DeleteObject of the subscription. PLCIO_ENOTFOUND for an id this client
 * does not hold. */
PLCIO_API int plcio_s7plus_client_unsubscribe(plcio_s7plus_client *c, uint32_t id);
/* Blocking mode: read until at least one notification was handed to its
 * callback (PLCIO_OK) or timeout_ms passed (PLCIO_ETIMEDOUT; the connection
 * stays). A broken connection: its error. */
PLCIO_API int plcio_s7plus_client_wait_notification(plcio_s7plus_client *c, int timeout_ms);
/* Event-loop mode: as subscribe/unsubscribe, as a job (one at a time with
 * the other _async calls); *id (borrowed) is set before done runs. */
PLCIO_API int plcio_s7plus_client_subscribe_async(plcio_s7plus_client *c, const plcio_s7plus_sub_item *items, size_t n,
                                                  const plcio_s7plus_subscription_options *opts, uint32_t *id,
                                                  plcio_s7plus_done_fn done, void *ctx);
PLCIO_API int plcio_s7plus_client_unsubscribe_async(plcio_s7plus_client *c, uint32_t id, plcio_s7plus_done_fn done,
                                                    void *ctx);

typedef struct plcio_s7plus_sub_stats {
    uint64_t notifications; /* handed to callbacks */
    uint64_t values;        /* item values in them */
    uint64_t acks;          /* credit acknowledgements sent */
    uint64_t unknown;       /* notifications of a subscription this client does not hold (dropped) */
} plcio_s7plus_sub_stats;
PLCIO_API void plcio_s7plus_client_sub_stats(const plcio_s7plus_client *c, plcio_s7plus_sub_stats *out);

/* ---------------------------------------------------------------------------
 * Server side (the simulator): S7CommPlus answered on a classic S7 server's
 * port, through plcio_s7_server_handoff. Raw access to DBs, I, Q, M through
 * the memory callbacks (the S7 server's areas in `plcio sim s7`); TLS with a
 * certificate given or generated at start (self-signed, its SHA-256
 * fingerprint from plcio_s7plus_server_fingerprint); V1 sessions without TLS
 * for old test peers unless allow_plain is false. It understands both item
 * forms (a real PLC client's ClassicBlob [3, offset, size] and python-snap7's
 * [offset+1, size]) and answers each in its own Blob form.
 * ------------------------------------------------------------------------- */
typedef struct plcio_s7plus_server plcio_s7plus_server;

typedef struct plcio_s7plus_server_memory {
    /* PLCIO_OK, PLCIO_ENOTFOUND (no such DB/area) or PLCIO_ERANGE */
    int (*read)(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out);
    int (*write)(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, const uint8_t *data);
    /* DB numbers in ascending order, at most cap; returns how many (NULL: none) */
    size_t (*list_dbs)(void *ctx, uint16_t *numbers, size_t cap);
    /* PLCIO_S7PLUS_CPU_RUN or _STOP (NULL: always RUN) */
    int (*cpu_state)(void *ctx);
    void *ctx; /* borrowed */
} plcio_s7plus_server_memory;

typedef struct plcio_s7plus_server_options {
    bool tls;                  /* true: TLS offered */
    bool allow_plain;          /* true: V1 sessions without TLS accepted (test peers) */
    const char *cert_file;     /* PEM certificate; NULL: a self-signed one is made */
    const char *key_file;      /* its key */
    const char *cert_names;    /* subjectAltName of a made certificate: "IP:127.0.0.1,DNS:localhost" */
    unsigned protection_level; /* reported effective protection level: 1 */
    plcio_s7plus_server_memory memory;
    plcio_logger logger;
    /* Password legitimation (attributes 303/304/1846 of the session object,
     * docs/s7plus.md): with a password, a session may not write (nor read at
     * protection_level 3) and reports protection_level until it legitimated,
     * then level 1. NULL: no password. Copied; 1..64 characters. */
    const char *password;
    /* Optimized DBs served by symbol (borrowed, resolved, kept until the
     * server is freed; NULL: none). Each DB of the set for which
     * plcio_layout_is_optimized() holds is answered over S7CommPlus as an
     * optimized DB: in the list of DBs with its name, Explore of its type
     * information, LID 1 (its type RID) and symbolic reads and writes of its
     * members by LID chain. Its values live in memory (the read/write
     * callbacks, area DB) at the layout's standard offsets: the simulator's
     * own storage, never visible to clients as offsets. Raw (ClassicBlob)
     * access to such a DB is refused with 0x8104 (plcio's choice). */
    const plcio_layout_set *symbols;
    /* The DB number of each DB of `symbols` (in set order, as many as
     * plcio_layout_set_count; borrowed like it). NULL: the layouts' own
     * numbers (`DATA_BLOCK DB 5`); TIA sources name DBs without numbers. */
    const unsigned *symbol_numbers;
    /* PLC tags served by symbol (borrowed, kept until the server is freed;
     * NULL: none): in the type-info container, and read/written by LID over
     * the memory callbacks (areas I, Q, M at their byte addresses), the same
     * memory raw and classic S7 access reach. */
    const plcio_s7plus_tag *tags;
    size_t ntags;
} plcio_s7plus_server_options;

PLCIO_API void plcio_s7plus_server_options_init(plcio_s7plus_server_options *o);
PLCIO_API int plcio_s7plus_server_new(const plcio_s7plus_server_options *opts, plcio_s7plus_server **out,
                                      plcio_error *err);
PLCIO_API void plcio_s7plus_server_free(plcio_s7plus_server *s);
/* "SHA256:ab:cd:..." of the server certificate, "" without TLS; owned by s. */
PLCIO_API const char *plcio_s7plus_server_fingerprint(const plcio_s7plus_server *s);
/* Write the certificate (PEM) to path, for clients to trust it. */
PLCIO_API int plcio_s7plus_server_write_certificate(const plcio_s7plus_server *s, const char *path, plcio_error *err);

/* The plcio_s7_server_handoff functions (ctx = the plcio_s7plus_server):
 * accept takes a CR whose called TSAP is "SIMATIC-ROOT-HMI". */
PLCIO_API void *plcio_s7plus_server_accept(void *server, const uint8_t *called_tsap, size_t tsap_len, unsigned client);
PLCIO_API int plcio_s7plus_server_conn_feed(void *conn, const uint8_t *data, size_t len);
PLCIO_API const uint8_t *plcio_s7plus_server_conn_output(void *conn, size_t *len);
PLCIO_API void plcio_s7plus_server_conn_output_done(void *conn, size_t n);
PLCIO_API void plcio_s7plus_server_conn_close(void *conn);
/* The handoff's tick (plcio_s7_server_handoff.tick): sends the notifications
 * of the connection's subscriptions that are due at now_ns (monotonic). */
PLCIO_API int plcio_s7plus_server_conn_tick(void *conn, uint64_t now_ns);

PLCIO_END_DECLS

#endif
