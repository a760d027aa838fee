/* Writing an output (a sink) for the sync engine (plcio/sync.h).
 *
 * A sink is one table of functions, plcio_sink, registered through
 * plcio_sync_options.sinks. The engine hands every sink the same stream of
 * events: each loop round that read something is a ROUND_START, one TAG event
 * per tag the round touched (its value bytes, quality, reason and times; the
 * `changed` flag says whether value or quality moved, changed_ns and
 * quality_changed_ns when each last did), a ROUND_END; between
 * rounds WRITE_REQUEST / WRITE_RESULT for every write and DEVICE_STATE when a
 * device connects or is lost. Shared memory is the first sink (built in, on
 * unless no_shm); MQTT, HTTP or a historian are each one more file.
 *
 * Back-pressure belongs to the engine, not to the sink: each sink has a bounded
 * queue (plcio_sync_sink.queue_events) drained by its own thread, so a slow,
 * blocked or failing sink never delays polling. When the queue is full the
 * event is dropped and counted (plcio_sync_sink_stats). A sink flagged
 * PLCIO_SINK_INLINE is called on the engine's thread instead, with no queue:
 * only for outputs that never block (shared memory).
 *
 * Ownership: an event and everything it points to is borrowed for the
 * deliver() call only. The tag table given to open() lives as long as the
 * engine. deliver() of a queued sink runs on the sink's thread, never two at
 * once; open() and close() run on the thread of plcio_sync_new / _free. */
#ifndef PLCIO_SINK_H
#define PLCIO_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/types.h"

PLCIO_BEGIN_DECLS

/* The version of this interface: plcio_sink.abi; another is refused. */
#define PLCIO_SINK_ABI 1

enum {
    PLCIO_SINK_INLINE = 1u << 0 /* deliver on the engine's thread, no queue (must never block) */
};

typedef enum plcio_sink_event_kind {
    PLCIO_SINK_ROUND_START = 1,
    PLCIO_SINK_TAG,
    PLCIO_SINK_ROUND_END,
    PLCIO_SINK_WRITE_REQUEST,
    PLCIO_SINK_WRITE_RESULT,
    PLCIO_SINK_DEVICE_STATE
} plcio_sink_event_kind;

/* A tag as sinks see it; index = its place in the table given to open(). */
typedef struct plcio_sink_tag {
    const char *name;   /* as in shared memory ("Level", "plc.Level") */
    const char *device; /* its device's name */
    const char *group;  /* its group's name */
    plcio_type type;
    unsigned length; /* STRING/WSTRING */
    unsigned bit;    /* BOOL */
    uint32_t size;   /* raw PLC bytes */
    bool writable;   /* through the shared-memory ring */
} plcio_sink_tag;

typedef struct plcio_sink_event {
    plcio_sink_event_kind kind;
    size_t tag;           /* TAG, WRITE_*: index into the tag table */
    size_t device;        /* DEVICE_STATE: index (plcio_sync_device_stats) */
    const uint8_t *value; /* TAG: the value's raw PLC bytes (kept value when not GOOD);
                             WRITE_REQUEST: the bytes to write */
    size_t size;
    int quality;                 /* TAG: plcio_shm_quality (1 GOOD, 2 STALE, 3 ERROR) */
    int reason;                  /* TAG: why STALE/ERROR; WRITE_RESULT, DEVICE_STATE: plcio_err */
    bool changed;                /* TAG: value or quality differs from before */
    bool connected;              /* DEVICE_STATE */
    uint64_t read_ns;            /* TAG: wall clock (CLOCK_REALTIME ns) of the read */
    uint64_t changed_ns;         /* TAG: wall clock of the value's last change (a quality change does not move it) */
    const char *message;         /* WRITE_RESULT, DEVICE_STATE: one line, or NULL */
    uint64_t quality_changed_ns; /* TAG: wall clock of the last change of quality or reason */
} plcio_sink_event;

typedef struct plcio_sink {
    unsigned abi;     /* PLCIO_SINK_ABI */
    const char *name; /* for statistics and errors ("mqtt") */
    unsigned flags;   /* PLCIO_SINK_INLINE */
    /* Start: config is the registration's (borrowed for the engine's life);
     * keep the sink's state in *state. No blocking I/O expected here either:
     * connecting belongs in deliver (retrying is the sink's business). */
    int (*open)(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err);
    /* A batch of events, in order. A non-zero return counts the batch as failed
     * (the events are not offered again). */
    int (*deliver)(void *state, const plcio_sink_event *events, size_t count);
    /* Stop and free the state (after the last deliver). May be NULL. */
    void (*close)(void *state);
} plcio_sink;

/* One sink of plcio_sync_options.sinks. */
typedef struct plcio_sync_sink {
    const plcio_sink *ops; /* borrowed for the engine's life */
    void *config;          /* handed to ops->open */
    size_t queue_events;   /* bound of its queue; 0: 65536 events */
} plcio_sync_sink;

PLCIO_END_DECLS

#endif
