/* plcio core: errors, logging, clocks.
 *
 * Ownership and threads: see plcio.h. Nothing here allocates except where said. */
#ifndef PLCIO_CORE_H
#define PLCIO_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "plcio/export.h"

PLCIO_BEGIN_DECLS

/* ---------------------------------------------------------------------------
 * Errors: one enum, returned by value. PLCIO_OK is 0, every error is negative.
 * Protocol details (S7 error class/code, Modbus exception code) are not folded
 * into this enum: PLCIO_EPLC / PLCIO_EMBEXC say "the peer refused", and the
 * handle that returned them tells exactly what the peer said.
 * X(name, value, text)
 * ------------------------------------------------------------------------- */
#define PLCIO_ERRNO_MAP(X)                                                                                             \
    X(OK, 0, "success")                                                                                                \
    X(EINVAL, -1, "invalid argument")                                                                                  \
    X(ENOMEM, -2, "out of memory")                                                                                     \
    X(ERANGE, -3, "value out of range")                                                                                \
    X(ETYPE, -4, "wrong or unsupported data type")                                                                     \
    X(ESYNTAX, -5, "syntax error")                                                                                     \
    X(EAGAIN, -6, "incomplete: more bytes are needed")                                                                 \
    X(ENOSPC, -7, "buffer too small")                                                                                  \
    X(EPROTO, -8, "malformed or unexpected protocol data")                                                             \
    X(ECRC, -9, "checksum mismatch")                                                                                   \
    X(ETIMEDOUT, -10, "timed out")                                                                                     \
    X(ECONNREFUSED, -11, "connection refused")                                                                         \
    X(ECLOSED, -12, "connection closed by peer")                                                                       \
    X(ENOTCONN, -13, "not connected")                                                                                  \
    X(EIO, -14, "input/output error")                                                                                  \
    X(ENOTFOUND, -15, "not found")                                                                                     \
    X(EEXIST, -16, "already exists")                                                                                   \
    X(EUNSUPPORTED, -17, "not supported")                                                                              \
    X(EBUSY, -18, "busy")                                                                                              \
    X(EPLC, -19, "the PLC rejected the request")                                                                       \
    X(EMBEXC, -20, "the Modbus device answered with an exception")                                                     \
    X(EACCESS, -21, "access denied")                                                                                   \
    X(ESTATE, -22, "not allowed in the current state")                                                                 \
    X(ECANCELED, -23, "canceled")                                                                                      \
    X(ERESOLVE, -24, "host name could not be resolved")                                                                \
    X(ELIMIT, -25, "limit reached")                                                                                    \
    X(EOPTIMIZED, -26, "data block uses optimized access; absolute addresses do not exist")                            \
    X(EINTERNAL, -27, "internal error")

typedef enum plcio_err {
#define PLCIO_ERR_ENUM_(name, value, text) PLCIO_##name = (value),
    PLCIO_ERRNO_MAP(PLCIO_ERR_ENUM_)
#undef PLCIO_ERR_ENUM_
} plcio_err;

/* Text for an error code; never NULL, static storage. Unknown codes give
 * "unknown error". */
PLCIO_API const char *plcio_strerror(int err);
/* Symbolic name ("PLCIO_ETIMEDOUT"); static storage; "PLCIO_UNKNOWN" if unknown. */
PLCIO_API const char *plcio_err_name(int err);

/* Error detail: what failed and where, in one line. Every function that can
 * say more than its return code takes `plcio_error *err` as its last argument
 * (NULL: not wanted) and fills it on failure; a handle keeps the detail of its
 * last failed call, read with plcio_X_last_error(). `code` repeats the return
 * value; `text` always ends in NUL and is "" when there is nothing to add. */
#define PLCIO_ERROR_TEXT_MAX 1024
typedef struct plcio_error {
    int code;
    char text[PLCIO_ERROR_TEXT_MAX];
} plcio_error;

/* Fill *err (NULL: nothing) with code and printf-style text, cut to fit;
 * returns code, so a failing path can `return plcio_error_set(err, ...)`.
 * For driver and sink authors too. */
PLCIO_API int plcio_error_set(plcio_error *err, int code, const char *fmt, ...) PLCIO_PRINTF(3, 4);
/* *err = {PLCIO_OK, ""} (NULL: nothing). */
PLCIO_API void plcio_error_clear(plcio_error *err);

/* Runtime version, same as PLCIO_VERSION_STRING of the headers it was built with. */
PLCIO_API const char *plcio_version(void);
PLCIO_API uint32_t plcio_version_hex(void);

/* ---------------------------------------------------------------------------
 * Logging. The library never prints: it hands messages to a callback.
 * A logger is a small value (callback, context, most verbose level wanted)
 * that handles copy at creation; a NULL callback means "the process default",
 * and the process default starts as "discard everything".
 * ------------------------------------------------------------------------- */
typedef enum plcio_log_level {
    PLCIO_LOG_ERROR = 0,
    PLCIO_LOG_WARN = 1,
    PLCIO_LOG_INFO = 2,
    PLCIO_LOG_DEBUG = 3,
    PLCIO_LOG_TRACE = 4 /* frame dumps: "Tx [..] 03 00 00 00 04" */
} plcio_log_level;

/* `module` is a short static string ("s7", "modbus", "sync"); `msg` is valid for
 * the duration of the call only. Called from whatever thread the handle runs in. */
typedef void (*plcio_log_fn)(void *ctx, plcio_log_level level, const char *module, const char *msg);

typedef struct plcio_logger {
    plcio_log_fn fn;       /* NULL: use the process default */
    void *ctx;             /* handed to fn, borrowed */
    plcio_log_level level; /* messages more verbose than this are not formatted */
} plcio_logger;

/* Set the process-wide default logger. Not thread-safe: call before starting
 * threads that use plcio. Pass NULL to discard everything again. */
PLCIO_API void plcio_log_set_default(const plcio_logger *logger);

/* A ready-made callback that writes "LEVEL module: msg\n" to the FILE* in ctx
 * (stderr if ctx is NULL). For applications; the library never installs it. */
PLCIO_API void plcio_log_to_stream(void *ctx, plcio_log_level level, const char *module, const char *msg);

PLCIO_API const char *plcio_log_level_name(plcio_log_level level);

/* ---------------------------------------------------------------------------
 * Clocks. Sessions take time as an argument; handles that need "now" read it
 * from a plcio_clock so tests can drive time by hand.
 * ------------------------------------------------------------------------- */
typedef uint64_t (*plcio_now_fn)(void *ctx);

typedef struct plcio_clock {
    plcio_now_fn now; /* monotonic nanoseconds; NULL: the system monotonic clock */
    void *ctx;
} plcio_clock;

/* CLOCK_MONOTONIC in nanoseconds. */
PLCIO_API uint64_t plcio_monotonic_ns(void);
/* CLOCK_REALTIME in nanoseconds since 1970-01-01 UTC (for timestamps). */
PLCIO_API uint64_t plcio_realtime_ns(void);
/* Read a clock; a NULL clock or NULL callback reads the system monotonic clock. */
PLCIO_API uint64_t plcio_clock_now(const plcio_clock *clock);

/* A clock that only moves when told to: for tests of timeouts and schedules. */
typedef struct plcio_manual_clock {
    uint64_t now_ns;
} plcio_manual_clock;
PLCIO_API plcio_clock plcio_manual_clock_bind(plcio_manual_clock *mc);
static inline void plcio_manual_clock_advance(plcio_manual_clock *mc, uint64_t ns) { mc->now_ns += ns; }

#define PLCIO_NS_PER_MS UINT64_C(1000000)
#define PLCIO_NS_PER_S  UINT64_C(1000000000)

/* ---------------------------------------------------------------------------
 * Transports. A client's byte stream is a TCP connection by default; a
 * plcio_transport in its options replaces it (a test's in-process link, an
 * application's tunnel). Every call is non-blocking and runs on the client's
 * thread; buffers are borrowed for the call only. A connection is named by a
 * non-negative int `conn` the transport chooses (the TCP transport: the
 * socket, which is what plcio_X_client_fd then returns).
 * ------------------------------------------------------------------------- */
typedef struct plcio_transport {
    /* Start connecting to host:port; *conn gets the connection. PLCIO_OK
     * (connected, or in progress: connect_finish tells) or an error
     * (PLCIO_ECONNREFUSED, ...), after which there is nothing to close. */
    int (*connect_start)(void *ctx, const char *host, int port, int *conn);
    /* PLCIO_OK connected, PLCIO_EAGAIN still connecting, or the error. */
    int (*connect_finish)(void *ctx, int conn);
    /* Send up to len bytes: PLCIO_OK with *sent (0 < *sent <= len),
     * PLCIO_EAGAIN when nothing can go now, or the error that broke it. */
    int (*send)(void *ctx, int conn, const void *buf, size_t len, size_t *sent);
    /* Receive up to cap bytes: PLCIO_OK with *got > 0, PLCIO_EAGAIN when
     * nothing is there now, PLCIO_ECLOSED when the peer closed, or an error. */
    int (*recv)(void *ctx, int conn, void *buf, size_t cap, size_t *got);
    /* Close the connection (called once per connection that connect_start
     * made, also after an error). */
    void (*close)(void *ctx, int conn);
    void *ctx;
} plcio_transport;

PLCIO_END_DECLS

#endif
