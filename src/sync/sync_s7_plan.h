/* What the S7 drivers of the sync engine share (driver_s7.c, classic S7, and
 * driver_s7plus.c, S7CommPlus): where a tag lives, the read plan that merges
 * a group's neighbouring tags into regions, the queue of jobs, the loop's
 * view of the client's socket, and the logging of refusals. Internal. */
#ifndef PLCIO_SYNC_S7_PLAN_H
#define PLCIO_SYNC_S7_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/driver.h"

/* Tags of one area and DB closer than this many bytes share a region. */
#define S7PLAN_MERGE_GAP 32u

/* Where an S7 tag lives, in the tag's location bytes (plcio_sync_tag_location). */
typedef struct s7plan_location {
    uint8_t area;     /* the driver's area code (plcio_s7_area or plcio_s7plus_area) */
    uint8_t symbolic; /* 1: not in a region (byte is the driver's own index) */
    uint16_t db;
    uint32_t byte;  /* first byte (the byte that holds the bit, for BOOL) */
    bool read_only; /* a LOGO! input (I1, AI1...): writes through the ring are refused */
} s7plan_location;
_Static_assert(sizeof(s7plan_location) <= PLCIO_DRIVER_LOCATION_SIZE, "a location fits a tag's location bytes");
#define S7PLAN_AT(t) ((s7plan_location *)plcio_sync_tag_location(t))

/* One region: bytes [start, start + size) of an area/DB, read into data. */
typedef struct s7plan_region {
    uint8_t area;
    uint16_t db;
    uint32_t start, size;
    uint8_t *data; /* in the ranges' buf */
} s7plan_region;

/* A group's regions, made once (and again, one per tag, when one is refused). */
typedef struct s7plan_ranges {
    s7plan_region *regions;
    size_t nregions;
    size_t *region_of; /* per tag: its region (SIZE_MAX: a symbolic tag) */
    uint32_t *offset;  /* per tag: its bytes' offset in buf (0 for a symbolic tag) */
    uint8_t *buf;
    size_t bytes; /* bytes read per cycle (gaps included) */
    bool merged;
} s7plan_ranges;

/* Sort g's non-symbolic tags by area, DB and byte and merge them into regions
 * (merge false: one region per tag); a region grows no longer than max_region
 * bytes (0: no limit). out is filled on success and untouched on failure
 * (PLCIO_ENOMEM). */
int s7plan_build(s7plan_ranges *out, const plcio_sync_group *g, bool merge, uint32_t max_region);
void s7plan_free(s7plan_ranges *r);

/* ---- jobs: a group's read or a write, queued one after the other ---- */
typedef struct s7plan_job {
    struct s7plan_job *next;
    plcio_sync_group *group;     /* a read, or */
    plcio_sync_write_req *write; /* a write */
    bool borrowed;               /* owned by someone else (not freed when done) */
} s7plan_job;

typedef struct s7plan_queue {
    s7plan_job *head, *tail; /* head is running when `running` */
    bool running;
} s7plan_queue;

/* Append; true when the queue was idle before (nothing queued). */
void s7plan_enqueue(s7plan_queue *q, s7plan_job *job);
/* The head is over: unlink it (freed unless borrowed), running false. */
void s7plan_finish_head(s7plan_queue *q);
/* Everything queued is over with err: reads end, writes fail (saying whether
 * the running one may or may not have happened). */
void s7plan_drop(s7plan_queue *q, int err);

/* ---- the loop's view of a client's socket and deadline ---- */
typedef struct s7plan_watch {
    plcio_sync_device *dev;
    int fd; /* watched fd, -1 none */
    unsigned events;
    uint64_t timer, deadline;
    plcio_io_cb on_io;
    plcio_timer_cb on_deadline;
    void *ctx;
} s7plan_watch;

/* Bring the loop in step: fd (-1 none) watched for want_read/want_write
 * (readability always while open: a peer that closes is noticed at once),
 * a timer at deadline (0 none). */
void s7plan_rewatch(s7plan_watch *w, int fd, bool want_read, bool want_write, uint64_t deadline);
/* The timer fired: forget it. */
void s7plan_watch_fired(s7plan_watch *w);
/* Remove fd and timer from the loop. */
void s7plan_unwatch(s7plan_watch *w);

/* A refused tag is refused every cycle: log the refusal (non-empty) once,
 * when it starts or changes, and once (refusal empty) when every tag of g
 * reads again. warned: the refusal last logged, cap bytes. */
void s7plan_note_refusal(plcio_sync_device *d, plcio_sync_group *g, char *warned, size_t cap, const char *refusal);

#endif
