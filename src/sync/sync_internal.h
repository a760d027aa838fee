/* Internals of the sync engine: devices, groups, tags, and the contract a
 * protocol driver (S7, Modbus, the test double) implements.
 *
 * Everything runs on the engine's one thread and its event loop. A driver owns
 * its socket and registers it with the loop itself; it reports back through the
 * sync_* functions at the bottom, never by touching engine state directly. */
#ifndef PLCIO_SRC_SYNC_INTERNAL_H
#define PLCIO_SRC_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "net/loop.h"
#include "plcio/address.h"
#include "plcio/layout.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio/url.h"

typedef struct sync_device sync_device;
typedef struct sync_group sync_group;

/* Where a tag lives on its device; filled by the driver's add_tag. */
typedef union sync_location {
    struct {
        uint8_t area; /* plcio_s7_area */
        uint16_t db;
        uint32_t byte; /* first byte (the byte that holds the bit, for BOOL) */
    } s7;
    struct {
        plcio_mb_table table;
        uint16_t address;  /* first register / bit */
        uint16_t quantity; /* registers / bits */
        plcio_mb_order order;
    } mb;
    struct {
        uint32_t offset; /* test double: offset into its memory */
    } fake;
} sync_location;

typedef struct sync_tag {
    const char *name; /* owned by the engine */
    size_t index;     /* in the engine's tag array and the shm directory */
    sync_group *group;
    plcio_type type;
    unsigned length; /* STRING/WSTRING */
    unsigned bit;    /* BOOL */
    uint32_t size;   /* raw PLC bytes */
    sync_location at;
    double deadband;
    bool writable; /* through the shared-memory ring */
} sync_tag;

/* Running figures; times in ns. */
typedef struct sync_counters {
    uint64_t cycles, late, errors, requests, bytes;
    uint64_t cycle_min, cycle_max, cycle_sum;
    uint64_t jitter_max, jitter_sum;
} sync_counters;

struct sync_group {
    const char *name;
    sync_device *device;
    uint64_t interval_ns;
    sync_tag **tags; /* into the engine's tag array (set once it stops growing) */
    size_t tag_first, tag_count;
    void *plan; /* the driver's read plan */
    bool busy;  /* a cycle is in flight: the next one waits (cycles never overlap) */
    uint64_t due_ns, started_ns, last_good_ns;
    uint64_t timer;
    uint32_t missed; /* consecutive cycles with no good read */
    sync_counters stats;
};

typedef enum sync_device_state { SYNC_DEV_DOWN, SYNC_DEV_CONNECTING, SYNC_DEV_UP } sync_device_state;

typedef struct sync_write sync_write;

typedef struct sync_driver_ops {
    const char *scheme_prefix; /* "s7", or "modbus-" for every modbus-* scheme */
    /* Read the URL, allocate the driver state in d->drv. No I/O. */
    int (*open)(sync_device *d, const plcio_url *url, char *err, size_t cap);
    /* Release everything, closing the socket (removing it from the loop first). */
    void (*close)(sync_device *d);
    /* Locate a tag: by address text (NULL when by member) or by layout member
     * (with db). Fill t->at, t->type, t->length, t->bit, t->size. */
    int (*add_tag)(sync_device *d, sync_tag *t, const char *address, const plcio_layout_member *member, int db,
                   char *err, size_t cap);
    /* Build g->plan from g->tags (called once all tags are added). */
    int (*plan)(sync_device *d, sync_group *g, char *err, size_t cap);
    void (*free_plan)(sync_group *g);
    /* Start connecting; report with sync_device_up / sync_device_down. */
    void (*connect)(sync_device *d);
    /* Start a read cycle of g (device UP, g not busy); report with
     * sync_tag_value / sync_tag_error per tag and then sync_group_done once. */
    void (*read)(sync_device *d, sync_group *g);
    /* Start a write; report with sync_write_done once. */
    void (*write)(sync_device *d, sync_write *w);
} sync_driver_ops;

struct sync_device {
    const char *name;
    const char *url;
    struct plcio_sync *engine;
    const sync_driver_ops *ops;
    void *drv;
    sync_group *groups;
    size_t group_count;
    sync_device_state state;
    uint64_t reconnect_min_ns, reconnect_max_ns, backoff_ns;
    uint64_t reconnect_timer;
    uint32_t stale_after;
    uint64_t connects, disconnects, connect_failures, up_since_ns;
    int last_error;
    char last_message[256];
    sync_write *writes_head, *writes_tail; /* queued while connecting (with a deadline) */
    unsigned writes_in_flight;
};

struct sync_write {
    sync_write *next;
    sync_tag *tag;
    uint8_t *data; /* the tag's PLC bytes (BOOL: bit `tag->bit` of data[0]) */
    size_t size;
    uint64_t deadline_ns; /* queued writes fail after this */
    bool from_shm;
    bool started; /* handed to the driver (else still queued) */
    uint32_t shm_slot;
    plcio_sync_write_cb cb;
    void *cb_ctx;
};

/* ---- what drivers call ---- */
plcio_loop *sync_loop(const sync_device *d);
const plcio_logger *sync_logger(const sync_device *d);
/* One pointer per driver and engine (NULL at first) for what a driver shares
 * between the devices of one engine, e.g. the Modbus serial lines that
 * several units use. The driver empties it when its last device closes. */
void **sync_driver_state(sync_device *d);
void sync_device_up(sync_device *d);
/* The connection failed or broke: every in-flight cycle and write of the device
 * is over (the driver reports them done/failed before or after, either is fine). */
void sync_device_down(sync_device *d, int err, const char *message);
void sync_tag_value(sync_tag *t, const uint8_t *raw, size_t len);
void sync_tag_error(sync_tag *t, int err);
void sync_group_done(sync_group *g, int err, uint64_t requests, uint64_t bytes);
void sync_write_done(sync_write *w, int err, const char *message);

extern const sync_driver_ops sync_driver_s7, sync_driver_modbus;

#endif
