/* Internals of the sync engine: devices, groups, tags. The contract a
 * protocol driver implements is public: plcio/driver.h.
 *
 * Everything runs on the engine's one thread and its event loop. A driver owns
 * its socket and registers it with the loop itself; it reports back through the
 * plcio_sync_* functions of plcio/driver.h, never by touching engine state directly. */
#ifndef PLCIO_SRC_SYNC_INTERNAL_H
#define PLCIO_SRC_SYNC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "net/loop.h"
#include "plcio/driver.h"
#include "plcio/address.h"
#include "plcio/layout.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio/url.h"

typedef struct plcio_sync_device sync_device;
typedef struct plcio_sync_group sync_group;
typedef struct plcio_sync_tag sync_tag;
typedef struct plcio_sync_write_req sync_write;
typedef plcio_driver sync_driver_ops;

struct plcio_sync_tag {
    const char *name; /* owned by the engine */
    size_t index;     /* in the engine's tag array and the shm directory */
    sync_group *group;
    plcio_type type;
    unsigned length; /* STRING/WSTRING */
    unsigned bit;    /* BOOL */
    uint32_t size;   /* raw PLC bytes */
    union {
        max_align_t align;
        unsigned char bytes[PLCIO_DRIVER_LOCATION_SIZE];
    } location; /* the driver's (plcio_sync_tag_location); the engine never reads it */
    double deadband;
    bool writable; /* through the shared-memory ring */
    /* The engine's value image (deadband, sinks): last bytes, quality, times. */
    uint8_t *value;  /* size bytes in the engine's image */
    uint8_t quality; /* plcio_shm_quality */
    int reason;
    uint64_t read_ns, changed_ns, quality_ns; /* changed_ns: the value's last change; quality_ns: quality's */
};

/* Running figures; times in ns. */
typedef struct sync_counters {
    uint64_t cycles, late, errors, requests, bytes, notifications;
    uint64_t cycle_min, cycle_max, cycle_sum;
    uint64_t jitter_max, jitter_sum;
} sync_counters;

struct plcio_sync_group {
    const char *name;
    sync_device *device;
    uint64_t interval_ns;
    sync_tag **tags; /* into the engine's tag array (set once it stops growing) */
    size_t tag_first, tag_count;
    void *plan;     /* the driver's read plan */
    bool subscribe; /* fed by a subscription (the driver completes the cycles it opens) */
    bool busy;      /* a cycle is in flight: the next one waits (cycles never overlap) */
    uint64_t due_ns, started_ns, last_good_ns;
    uint64_t timer;
    uint32_t missed;         /* consecutive cycles with no good read */
    bool unavailable;        /* marked stale/error since the last good read (once, not every tick) */
    uint64_t refresh_ns;     /* smoothed time between good reads: the interval, or more when the loop falls behind */
    uint64_t period_from_ns; /* the good read the next period is measured from (0: after a reconnect) */
    sync_counters stats;
};

typedef enum sync_device_state { SYNC_DEV_DOWN, SYNC_DEV_CONNECTING, SYNC_DEV_UP } sync_device_state;

struct plcio_sync_device {
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

struct plcio_sync_write_req {
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

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int sync_write_buf(plcio_sync *s, const char *tag, const char *text, int queue_ms, plcio_sync_write_cb cb, void *ctx,
                   char *err, size_t err_cap);
int sync_new_buf(const plcio_sync_config *cfg, const plcio_sync_options *o, plcio_sync **out, char *err,
                 size_t err_cap);

#endif
