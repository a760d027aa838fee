/* The sync engine's MQTT output: every tag's changes to an MQTT broker as JSON,
 * writes from MQTT through the engine's write path, and store and forward while
 * the broker is away. libmosquitto runs on the engine's own event loop (no
 * thread): its socket is one more fd of the loop, keep-alive a timer.
 *
 *   plcio_mqtt *m;
 *   plcio_mqtt_new(cfg->outputs[i].mqtt, &mo, &m, &err);  // checks the settings, no I/O
 *   plcio_sync_sink reg;
 *   plcio_mqtt_sink(m, &reg);                              // -> plcio_sync_options.sinks
 *   plcio_sync_new(cfg, &opts, &s, ...);
 *   plcio_mqtt_start(m, s, &err);                          // connects on s's loop
 *   ... plcio_sync_run(s) ...
 *   plcio_sync_free(s);                                    // last words, disconnect (sink close)
 *   plcio_mqtt_free(m);
 *
 * Settings: plcio_sync_mqtt_spec (plcio/sync.h), from `outputs: - mqtt: ...` in
 * YAML or filled in C. Who can do what (docs/mqtt.md): the broker decides who
 * may subscribe (its ACLs); writes are refused for every tag unless the tag is
 * listed in `writable`, and then go through plcio_sync_write like the HTTP
 * API's, with its type and range checks.
 *
 * Threads: everything runs on the engine's thread once started. */
#ifndef PLCIO_MQTT_H
#define PLCIO_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/sink.h"
#include "plcio/sync.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_mqtt plcio_mqtt;

typedef struct plcio_mqtt_options {
    plcio_logger logger; /* fn NULL: process default */
} plcio_mqtt_options;

/* Check the settings (broker URLs, TLS files, the password file, the format)
 * and take a copy of them: spec is not used after this returns. Errors
 * (err says which setting): PLCIO_EINVAL, PLCIO_ENOTFOUND (password variable
 * or file missing), PLCIO_EIO (a file cannot be read), PLCIO_ENOMEM. *out: free
 * with plcio_mqtt_free. opts may be NULL. */
PLCIO_API int plcio_mqtt_new(const plcio_sync_mqtt_spec *spec, const plcio_mqtt_options *opts, plcio_mqtt **out,
                             plcio_error *err);
/* The same from a URL alone: mqtt://HOST[:PORT] or mqtts://HOST[:PORT], the
 * defaults for everything else (the one-liner's --mqtt). */
PLCIO_API int plcio_mqtt_new_url(const char *url, const plcio_mqtt_options *opts, plcio_mqtt **out, plcio_error *err);
/* The registration for plcio_sync_options.sinks (an inline sink: it only
 * formats and queues, never blocks the engine). */
PLCIO_API void plcio_mqtt_sink(plcio_mqtt *m, plcio_sync_sink *out);
/* Connect on the engine's loop (after plcio_sync_new with the sink registered;
 * once). Connecting and reconnecting go on in the background; this fails only
 * for PLCIO_ESTATE (not registered, started twice) or PLCIO_ENOMEM. */
PLCIO_API int plcio_mqtt_start(plcio_mqtt *m, plcio_sync *s, plcio_error *err);

typedef struct plcio_mqtt_stats {
    bool connected;
    const char *broker; /* the URL connected to (or last tried); owned by m */
    uint64_t connects;  /* connections made */
    uint64_t published; /* messages the broker took (QoS 0: sent) */
    uint64_t dropped;   /* messages dropped: the queue was full */
    size_t queued;      /* waiting (not yet taken by the broker) */
    size_t queue_peak, queue_capacity;
    uint64_t commands;                 /* command messages received */
    uint64_t writes_ok, writes_failed; /* tag writes from MQTT: done / refused or failed */
} plcio_mqtt_stats;

/* Read on the engine's thread. */
PLCIO_API void plcio_mqtt_get_stats(const plcio_mqtt *m, plcio_mqtt_stats *out);
/* Free; call after plcio_sync_free (which closes the sink). NULL: no-op. */
PLCIO_API void plcio_mqtt_free(plcio_mqtt *m);

PLCIO_END_DECLS

#endif
