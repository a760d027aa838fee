/* The engine object, shared by sync_build.c (construction) and sync_engine.c
 * (running it). Drivers see only sync_internal.h. */
#ifndef PLCIO_SRC_SYNC_ENGINE_PRIV_H
#define PLCIO_SRC_SYNC_ENGINE_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "plcio/sink.h"
#include "sync/sync_internal.h"

typedef struct sync_sink sync_sink;

struct plcio_sync {
    plcio_logger logger;
    plcio_clock clock;
    plcio_loop *loop;
    plcio_layout_set *layouts;
    sync_device *devices;
    size_t device_count;
    sync_group **groups; /* every group of every device, for stats */
    size_t group_count;
    sync_tag *tags;
    size_t tag_count, tag_cap;
    char **strings; /* blocks of owned names (sync_keep_string) */
    size_t string_count, string_cap;
    char *string_at;    /* the next name's place in the last block */
    size_t string_room; /* bytes free there */
    plcio_shm_writer *shm;
    char shm_name[256];
    uint8_t *image;            /* the engine's own value image: every tag's last bytes (sync_tag.value) */
    plcio_sink_tag *sink_tags; /* the tag table sinks see */
    sync_sink **sinks;         /* the options' sinks, then shared memory */
    size_t sink_count;
    plcio_sink_event *batch; /* TAG events not yet handed to the sinks (SYNC_SINK_BATCH) */
    size_t batch_count;
    bool round_open; /* ROUND_START handed out, ROUND_END not yet */
    bool drivers_closed;
    int shm_rc;               /* last publish's result, logged when it changes */
    uint64_t shm_recreations; /* the writer's count, logged when it grows */
    uint64_t round_real_ns;   /* CLOCK_REALTIME of this loop round's reads (0: not taken yet) */
    uint64_t ring_timer;
    const sync_driver_ops **drivers; /* registered: the options' ones, then the built-in ones */
    size_t driver_count;
    void **driver_state; /* plcio_sync_device_shared(): one per registered driver */
    atomic_bool stop;
};

/* Keep a copy of s[0..len) for the engine's life; NULL when out of memory. */
const char *sync_keep_string(plcio_sync *s, const char *text, size_t len);
/* Build devices, groups and tags from the configuration (sync_build.c). */
int sync_build(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap);
/* Close every driver (they fail their in-flight reads and writes). */
void sync_close_drivers(plcio_sync *s);
/* Release what sync_build made. */
void sync_unbuild(plcio_sync *s);

/* ---- sinks (sync_sink.c, sink_shm.c) ---- */
int sync_sink_open(plcio_sync *s, sync_sink **out, const plcio_sink *ops, void *config, size_t queue_events, char *err,
                   size_t cap);
void sync_sink_close(sync_sink *k);
#define SYNC_SINK_BATCH 256
/* Hand an event to every sink (never waits for one); TAG events are batched. */
void sync_sinks_emit(plcio_sync *s, const plcio_sink_event *ev);
/* Hand out the batched TAG events now. */
void sync_sinks_flush(plcio_sync *s);
/* The configuration's outputs (historians), each one more sink (sync_build.c). */
int sync_open_outputs(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap);
/* The configuration's modbus-server: one more sink, serving on the engine's loop (sink_modbus.c). */
int sync_open_modbus_server(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap);
/* An output's listen address "HOST:PORT" (dflt when text is NULL) into host (cap bytes) and port;
 * HOST is required (0.0.0.0 listens on every interface, never an empty one by accident).
 * PLCIO_ESYNTAX with err naming what ("modbus-server listen") otherwise. */
int sync_split_listen(const char *text, const char *dflt, const char *what, char *host, size_t cap, int *port,
                      plcio_error *err);
/* The configuration's s7-server: one more sink, serving on the engine's loop (sink_s7.c). */
int sync_open_s7_server(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap);
/* Shared memory as a sink: config is the engine. */
extern const plcio_sink sync_sink_shm;
/* Say once when the segment had to be made anew. */
void sync_note_recreations(plcio_sync *s);
/* Publish the segment (the shm sink's ROUND_END), logging a failure once. */
void sync_shm_publish(plcio_sync *s);
/* The driver of a URL scheme: the options' drivers first, then the built-in ones. */
const sync_driver_ops *sync_driver_for(const plcio_sync *s, const char *scheme);
/* Check and keep the options' drivers, then the built-in ones. */
int sync_register_drivers(plcio_sync *s, const plcio_sync_options *o, char *err, size_t cap);

#endif
