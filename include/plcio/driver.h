/* Writing a protocol driver for the sync engine (plcio/sync.h).
 *
 * A driver is one table of functions, plcio_driver, for one URL scheme (or a
 * family: "modbus-" serves modbus-tcp, modbus-rtu, ...). The engine picks the
 * driver of each device by its URL's scheme among the drivers of
 * plcio_sync_options.drivers, then the built-in ones (s7, s7plus, modbus-*), which are
 * registered exactly the same way. A new protocol is one new file holding a
 * plcio_driver and one entry in that list.
 *
 * Contract:
 * - Everything runs on the engine's thread, on its event loop (plcio/loop.h,
 *   plcio_sync_device_loop). A driver never blocks: it registers its fds and
 *   timers and answers from their callbacks.
 * - The engine owns devices, groups, tags and write requests; a driver borrows
 *   them from open() until close() returns (a write request until it reports
 *   plcio_sync_write_done). The driver owns what it hangs on them
 *   (plcio_sync_device_set_data, plcio_sync_group_set_plan) and frees it in
 *   close() / free_plan().
 * - Where a tag lives (S7 area and DB, Modbus table and order, ...) is the
 *   driver's business: add_tag stores it in the tag's location bytes
 *   (plcio_sync_tag_location), which the engine never reads.
 * - The driver reports back only through the plcio_sync_* functions below. */
#ifndef PLCIO_DRIVER_H
#define PLCIO_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/layout.h"
#include "plcio/loop.h"
#include "plcio/types.h"
#include "plcio/url.h"

PLCIO_BEGIN_DECLS

/* The version of this interface. A driver sets plcio_driver.abi to it; the
 * engine refuses a table of another version (PLCIO_EUNSUPPORTED). */
#define PLCIO_DRIVER_ABI 1
/* Bytes of a tag's location (plcio_sync_tag_location), aligned for any type. */
#define PLCIO_DRIVER_LOCATION_SIZE 32

struct plcio_sync;
typedef struct plcio_sync_device plcio_sync_device;
typedef struct plcio_sync_group plcio_sync_group;
typedef struct plcio_sync_tag plcio_sync_tag;
typedef struct plcio_sync_write_req plcio_sync_write_req;

typedef struct plcio_driver {
    unsigned abi;       /* PLCIO_DRIVER_ABI */
    const char *scheme; /* "s7" matches s7:// only; "modbus-" (ending in '-') every modbus-* scheme */
    /* Read the URL (borrowed for the call), keep the driver's state with
     * plcio_sync_device_set_data. No I/O. On error say why in err (plcio_error_set). */
    int (*open)(plcio_sync_device *d, const plcio_url *url, plcio_error *err);
    /* Release everything, closing sockets (removing them from the loop first),
     * reporting in-flight reads and writes as failed. */
    void (*close)(plcio_sync_device *d);
    /* Locate a tag: by address text (member NULL) or by layout member (address
     * NULL; db: the group's "db" setting, -1 when none, the engine does not
     * interpret it). Set its shape (plcio_sync_tag_set_shape) and its location. */
    int (*add_tag)(plcio_sync_device *d, plcio_sync_tag *t, const char *address, const plcio_layout_member *member,
                   int db, plcio_error *err);
    /* Plan the reads of a group (its tags are final); keep the plan with
     * plcio_sync_group_set_plan. */
    int (*plan)(plcio_sync_device *d, plcio_sync_group *g, plcio_error *err);
    /* Free the group's plan (may be NULL when plan keeps nothing). */
    void (*free_plan)(plcio_sync_group *g);
    /* Start connecting; report with plcio_sync_device_up / _down (now or later). */
    void (*connect)(plcio_sync_device *d);
    /* Start a read cycle of g (device up, no cycle of g in flight); report each
     * tag with plcio_sync_tag_value / _error, then plcio_sync_group_done once. */
    void (*read)(plcio_sync_device *d, plcio_sync_group *g);
    /* Start a write (device up); report with plcio_sync_write_done once. */
    void (*write)(plcio_sync_device *d, plcio_sync_write_req *w);
} plcio_driver;

/* The built-in drivers (registered after those of the options).
 * plcio_driver_s7plus: s7plus:// and s7://...?protocol=plus (S7CommPlus). */
PLCIO_API extern const plcio_driver plcio_driver_s7;
PLCIO_API extern const plcio_driver plcio_driver_s7plus;
PLCIO_API extern const plcio_driver plcio_driver_modbus;

/* ---- the device ---- */
PLCIO_API const char *plcio_sync_device_name(const plcio_sync_device *d);
PLCIO_API const char *plcio_sync_device_url(const plcio_sync_device *d);
/* The engine's event loop and logger; borrowed for the engine's life. */
PLCIO_API plcio_loop *plcio_sync_device_loop(const plcio_sync_device *d);
PLCIO_API const plcio_logger *plcio_sync_device_logger(const plcio_sync_device *d);
/* Log through the engine's logger (module "sync"); printf-style. */
PLCIO_API void plcio_sync_device_log(const plcio_sync_device *d, plcio_log_level level, const char *fmt, ...)
    PLCIO_PRINTF(3, 4);
/* The driver's per-device state (NULL until set); owned by the driver. */
PLCIO_API void plcio_sync_device_set_data(plcio_sync_device *d, void *data);
PLCIO_API void *plcio_sync_device_data(const plcio_sync_device *d);
/* One pointer per driver and engine (NULL at first) for what the driver
 * shares between the devices of one engine (e.g. a serial line several units
 * use); the driver empties it when its last device closes. */
PLCIO_API void **plcio_sync_device_shared(plcio_sync_device *d);
/* True between connect() and the report of its outcome. */
PLCIO_API bool plcio_sync_device_connecting(const plcio_sync_device *d);
/* True while the connection is up (reads and writes may start). */
PLCIO_API bool plcio_sync_device_is_up(const plcio_sync_device *d);
PLCIO_API void plcio_sync_device_up(plcio_sync_device *d);
/* The connection failed or broke: every cycle and write in flight is over (the
 * driver reports them before or after, either is fine). message: borrowed. */
PLCIO_API void plcio_sync_device_down(plcio_sync_device *d, int err, const char *message);

/* ---- groups ---- */
PLCIO_API const char *plcio_sync_group_name(const plcio_sync_group *g);
PLCIO_API plcio_sync_device *plcio_sync_group_device(const plcio_sync_group *g);
PLCIO_API size_t plcio_sync_group_tag_count(const plcio_sync_group *g);
PLCIO_API plcio_sync_tag *plcio_sync_group_tag(const plcio_sync_group *g, size_t i);
PLCIO_API void plcio_sync_group_set_plan(plcio_sync_group *g, void *plan);
PLCIO_API void *plcio_sync_group_plan(const plcio_sync_group *g);
/* The cycle is over: err PLCIO_OK when it read (tags may still be in error),
 * requests sent and payload bytes received for the statistics. */
PLCIO_API void plcio_sync_group_done(plcio_sync_group *g, int err, uint64_t requests, uint64_t bytes);
/* The group's interval, and whether it is to be fed by a subscription (the
 * configuration's `subscribe: true`; the engine lets only the s7plus driver
 * have such groups). A subscribed group's read() opens a cycle that the
 * driver completes (tags, then plcio_sync_group_done) when a notification
 * has come; a cycle still open at the next interval counts late, and
 * stale-after of them make the tags stale, as for a read that never answers. */
PLCIO_API uint32_t plcio_sync_group_interval_ms(const plcio_sync_group *g);
PLCIO_API bool plcio_sync_group_subscribed(const plcio_sync_group *g);
/* Count n notifications received for the group's statistics. */
PLCIO_API void plcio_sync_group_notified(plcio_sync_group *g, uint64_t n);

/* ---- tags ---- */
PLCIO_API const char *plcio_sync_tag_name(const plcio_sync_tag *t);
/* type and length (STRING/WSTRING) of the value, bit (BOOL), size of its raw PLC bytes. */
PLCIO_API void plcio_sync_tag_set_shape(plcio_sync_tag *t, plcio_type type, unsigned length, unsigned bit,
                                        uint32_t size);
PLCIO_API plcio_type plcio_sync_tag_type(const plcio_sync_tag *t);
PLCIO_API unsigned plcio_sync_tag_length(const plcio_sync_tag *t);
PLCIO_API unsigned plcio_sync_tag_bit(const plcio_sync_tag *t);
PLCIO_API uint32_t plcio_sync_tag_size(const plcio_sync_tag *t);
/* PLCIO_DRIVER_LOCATION_SIZE bytes, zeroed, aligned for any type, for the
 * driver's own idea of where the tag lives. Owned by the engine. */
PLCIO_API void *plcio_sync_tag_location(const plcio_sync_tag *t);
/* A value read (raw PLC bytes, copied before the call returns) / a failed read. */
PLCIO_API void plcio_sync_tag_value(plcio_sync_tag *t, const uint8_t *raw, size_t len);
PLCIO_API void plcio_sync_tag_error(plcio_sync_tag *t, int err);

/* ---- writes ---- */
PLCIO_API plcio_sync_tag *plcio_sync_write_tag(const plcio_sync_write_req *w);
/* The tag's raw PLC bytes to write (BOOL: bit plcio_sync_tag_bit of data[0]);
 * borrowed until plcio_sync_write_done; the driver does not change them. */
PLCIO_API uint8_t *plcio_sync_write_data(const plcio_sync_write_req *w, size_t *size);
/* Report a write once: PLCIO_OK only when the device acknowledged it. The
 * request is freed here. message: borrowed, may be NULL. */
PLCIO_API void plcio_sync_write_done(plcio_sync_write_req *w, int err, const char *message);

PLCIO_END_DECLS

#endif
