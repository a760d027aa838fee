/* Historian outputs (PostgreSQL, InfluxDB line protocol): one generic sink
 * (sink_historian.c) turns TAG events into rows and keeps them in a bounded
 * store-and-forward queue (sf_queue.h); a writer thread per output hands
 * batches to a backend (hist_postgres.c, hist_influx.c), reconnecting with
 * backoff. A row leaves the queue only once the backend took it: at least
 * once delivery (a batch whose acknowledgement was lost may arrive twice).
 * Configuration: plcio_sync_output_spec (plcio/sync.h); docs/historian.md. */
#ifndef PLCIO_SRC_SYNC_HISTORIAN_H
#define PLCIO_SRC_SYNC_HISTORIAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/sink.h"
#include "plcio/sync.h"

/* One sample. text holds text_len bytes of UTF-8 (no NUL inside) and a NUL. */
typedef struct hist_row {
    uint64_t time_ns; /* wall clock (CLOCK_REALTIME) */
    uint32_t tag;     /* index into the sink's tag table */
    uint8_t quality;  /* plcio_shm_quality: 1 GOOD, 2 STALE, 3 ERROR */
    bool has_value;   /* value holds a number (numeric type, decoded) */
    bool has_text;    /* false for ERROR rows: nothing was ever read */
    int reason;       /* plcio_err when not GOOD */
    double value;
    uint32_t text_len;
    char text[];
} hist_row;

/* What write() made of a batch. */
typedef enum hist_result {
    HIST_OK = 0,   /* stored: the rows leave the queue */
    HIST_RETRY,    /* not stored, the connection or the target is in trouble: reconnect, offer them again */
    HIST_REJECTED, /* the target refused these rows for what they hold: they are dropped (counted) */
} hist_result;

typedef struct hist_backend_ops {
    const char *name; /* "postgres", "influx" */
    /* Blocking, bounded by the backend's own timeouts. err: one line. */
    int (*connect)(void *b, char *err, size_t cap);
    hist_result (*write)(void *b, const plcio_sink_tag *tags, hist_row *const *rows, size_t n, char *err, size_t cap);
    void (*disconnect)(void *b);
    void (*free)(void *b);
} hist_backend_ops;

/* Backends: check the settings (no I/O), or say what is wrong in err. */
int hist_postgres_new(const plcio_sync_output_spec *spec, const hist_backend_ops **ops, void **backend, char *err,
                      size_t cap);
int hist_influx_new(const plcio_sync_output_spec *spec, const hist_backend_ops **ops, void **backend, char *err,
                    size_t cap);

/* The sink for one output and its config (handed to open, which takes it). */
int hist_sink_config(const plcio_sync_output_spec *spec, const plcio_logger *logger, const plcio_sink **ops,
                     void **config, char *err, size_t cap);

/* Quality as text: "GOOD", "STALE", "ERROR". */
const char *hist_quality_name(int quality);

#endif
