/* plcio sync: the engine that mirrors PLC memory into shared memory.
 *
 * This header holds the configuration model, loaded from YAML:
 *
 *   shm: tank                 # shared memory segment name (default "plcio")
 *   shm-mode: "0640"          # who may read it (default 0640: the engine's group)
 *   shm-group: plcread        # its group (default: the engine's)
 *   shm-write-mode: "0600"    # who may ask for writes: the ring tank.ring (default 0600)
 *   shm-write-group: plcwrite # its group
 *   json: {interval: 100ms}   # the segment's JSON text at most this often (default: every
 *                             # change); json: off keeps none (binary readers only)
 *   stats-interval: 1s        # how often statistics are reported (default 1s)
 *   layouts: [tank.db]        # TIA / STEP 7 source files, relative to this file
 *   devices:
 *     - name: tank-plc
 *       url: "s7://127.0.0.1:1102?rack=0&slot=1"
 *       reconnect: {min: 100ms, max: 5s}
 *       stale-after: 3        # missed cycles before values turn stale (default 3)
 *       groups:
 *         - name: fast
 *           interval: 20ms    # 1ms and up; plain numbers are milliseconds
 *           db: 10            # tags below are members of this DB's layout
 *           layout: Tank      # DB name in the layout files (default: the only one)
 *           writable: false   # may the tags below be written through the ring (default false)
 *           subscribe: false  # S7CommPlus devices: fed by a subscription, not polled (docs/sync.md)
 *           tags:             # omitted: every member of the layout
 *             - Level
 *             - {member: Pump.Run}
 *             - {address: DB1.DBD8:REAL, name: Setpoint, deadband: 0.1, writable: true}
 *   outputs:                  # historians, besides shared memory (docs/historian.md)
 *     - postgres: {conninfo: "host=/run/postgresql dbname=plant", table: plcio_samples}
 *     - influx: {url: "http://127.0.0.1:8086/write?db=plant"}
 *     - mqtt: {url: "mqtt://127.0.0.1:1883", qos: 1}   # docs/mqtt.md (built by plcio/mqtt.h)
 *   http:                     # web console, REST, /metrics (plcio/http.h; off without this section)
 *     listen: 127.0.0.1:8080  # beyond loopback only with tls
 *     token-file: web.token   # bearer token (or token-env: VAR); relative to this file
 *     writes: false           # POST /api/write (needs the token)
 *     read-auth: false        # reads need the token too
 *     tls: {cert: web.pem, key: web.key}
 *     cors-origin: "https://dash.example"
 *     tag-metrics: false      # one /metrics series per numeric tag
 *   modbus-server:            # the live image as a Modbus TCP server (docs/gateway.md)
 *     listen: 127.0.0.1:5020  # default 127.0.0.1:502
 *     unit: 1                 # answer this unit id only (default: every one)
 *     writes: false           # FC 5/6/15/16 to tags that are writable (default false)
 *     map:
 *       - {tag: Level, holding: 0, order: CDAB}   # or input: / coil: / discrete: ADDRESS
 *   s7-server:                # the live image as a classic S7 server (docs/gateway.md)
 *     listen: 127.0.0.1:10102 # default 127.0.0.1:102
 *     writes: false           # write-var to tags that are writable (default false)
 *     map:
 *       - {tag: Level, at: DB1.DBD0}   # DBX bit for a BOOL, DBW/DBD by size, DBB: first byte
 *
 * Unknown keys are errors (a typo must not silently disable a tag). Errors name
 * "file:line:column: what is wrong". */
#ifndef PLCIO_SYNC_H
#define PLCIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

typedef struct plcio_sync_tag_spec {
    const char *name;    /* name in shared memory; NULL: the member or address itself */
    const char *member;  /* layout member ("Motor.Speed"), or NULL */
    const char *address; /* explicit address ("DB1.DBD8:REAL", "hr100:REAL:CDAB"), or NULL */
    double deadband;     /* a change smaller than this is not a change; 0: any change */
    int writable;        /* writes through the shared-memory ring: 1 yes, -1 no, 0 as its group */
    unsigned line;       /* where it was declared, for later error messages */
} plcio_sync_tag_spec;

typedef struct plcio_sync_group_spec {
    const char *name;
    uint32_t interval_ms;
    int db;             /* DB whose layout the members come from; -1: none */
    const char *layout; /* DB name in the layout files; NULL: the only one */
    bool all_members;   /* no tag list given: every leaf of the layout */
    size_t tag_count;
    plcio_sync_tag_spec *tags;
    bool writable; /* default of its tags for writes through the ring (false) */
    unsigned line;
    /* fed by a subscription of the PLC (S7CommPlus devices only; YAML
     * `subscribe: true`) instead of polled; docs/sync.md "Subscriptions" */
    bool subscribe;
} plcio_sync_group_spec;

typedef struct plcio_sync_device_spec {
    const char *name;
    const char *url;
    uint32_t reconnect_min_ms;
    uint32_t reconnect_max_ms;
    uint32_t stale_after_cycles;
    size_t group_count;
    plcio_sync_group_spec *groups;
    unsigned line;
} plcio_sync_device_spec;

typedef enum plcio_sync_output_kind {
    PLCIO_OUTPUT_POSTGRES = 1,
    PLCIO_OUTPUT_INFLUX,
    PLCIO_OUTPUT_MQTT /* not opened by the engine: plcio_mqtt_new (plcio/mqtt.h) builds it */
} plcio_sync_output_kind;

/* `- mqtt: {...}` of outputs: (docs/mqtt.md). Strings NULL: the default. */
typedef struct plcio_sync_mqtt_spec {
    const char **brokers; /* mqtt://HOST[:PORT] or mqtts://HOST[:PORT], tried in turn */
    size_t broker_count;
    const char *client_id;                      /* NULL: "plcio-HOSTNAME" */
    const char *username;                       /* or NULL */
    const char *password_file;                  /* the password from a file (first line), resolved like layouts */
    const char *password_env;                   /* or from an environment variable */
    unsigned version;                           /* 3 (MQTT 3.1.1, default) or 5 */
    uint32_t keepalive_s;                       /* 0: 30 */
    bool clean_session;                         /* default true; false: a persistent session */
    const char *ca_file, *cert_file, *key_file; /* TLS (mqtts://): CA (NULL: the system's), client cert + key */
    bool tls_insecure;                          /* do not check the broker's host name (tests only) */
    const char *format;                         /* "json" (default) */
    const char *topic;                          /* per-tag topic template; NULL: "plcio/{device}/{tag}" */
    bool per_tag;                               /* one message per tag (default true) */
    const char *group_topic;                    /* one JSON document per group and round here; NULL: off */
    int qos;                                    /* 0, 1 (default) or 2 */
    bool retain;                                /* default false */
    bool on_change;                             /* publish when a value or its quality changes (default true) */
    uint32_t every_ms;                          /* and every good tag at least this often (0: off) */
    const char *status_topic;                   /* NULL: "plcio/{client}/status" (retained; will: offline) */
    const char *command_topic;                  /* NULL: "plcio/{client}/command" (JSON {"tag": value, ...}) */
    const char *reply_topic;                    /* NULL: "plcio/{client}/reply" */
    const char **writable; /* tags MQTT may write ("*": every tag writable: true); none by default */
    size_t writable_count;
    uint32_t write_queue_ms; /* a write waits this long for its device (default 0: fail at once) */
    uint32_t queue;          /* messages kept while the broker is away (default 100000) */
    const char *queue_file;  /* keep them in this file across a restart, or NULL */
    /* format "sparkplug" (docs/sparkplug.md): `sparkplug: {group: G, node: N, primary-host: H}` */
    const char *sparkplug_group;     /* Sparkplug group id (required) */
    const char *sparkplug_node;      /* edge node id; NULL: the client id */
    const char *sparkplug_host;      /* primary host id whose STATE gates the births, or NULL */
    const char *sparkplug_namespace; /* NULL: "spBv1.0" (another only for NATS < 2.10, which refuses '.') */
    unsigned line;
} plcio_sync_mqtt_spec;

/* One entry of `outputs:`: a historian the engine writes rows to (one row per
 * tag and change: time, device, tag, value, text, quality, reason). */
typedef struct plcio_sync_output_spec {
    plcio_sync_output_kind kind;
    const char *target;               /* postgres: libpq connection string; influx: http:// write URL */
    const char *table;                /* postgres: "plcio_samples" or "schema.table" */
    bool create;                      /* postgres: create the table when missing (default true) */
    bool on_change;                   /* a row when a value or its quality changes (default true) */
    uint32_t every_ms;                /* and a row per good tag at least this often (0: off) */
    uint32_t batch;                   /* rows per COPY / POST (default 5000) */
    uint32_t flush_ms;                /* longest a row waits for a full batch (default 200) */
    uint32_t queue;                   /* rows kept while the target is down (default 100000) */
    const char *token_file;           /* influx: file with the API token (InfluxDB 2.x), or NULL */
    bool gzip;                        /* influx: gzip the body */
    const plcio_sync_mqtt_spec *mqtt; /* PLCIO_OUTPUT_MQTT: its settings (target, table, ... unused) */
    unsigned line;
} plcio_sync_output_spec;

/* The http: section (served by plcio/http.h, not by the engine). */
typedef struct plcio_sync_http_spec {
    bool present; /* the section was given */
    const char *listen;
    const char *token_file; /* resolved against the config file's folder */
    const char *token_env;
    bool writes, read_auth, tag_metrics;
    const char *tls_cert, *tls_key; /* resolved like token_file */
    const char *cors_origin;
} plcio_sync_http_spec;

/* One entry of modbus-server's map: a tag's value at a Modbus address. */
typedef struct plcio_sync_modbus_map {
    const char *tag; /* the tag's name as in shared memory */
    int table;       /* plcio_modbus_area: 0 coils, 1 discrete inputs, 3 input registers, 4 holding registers */
    uint16_t address;
    int order; /* plcio_mb_order of values over several registers (0: ABCD) */
    unsigned line;
} plcio_sync_modbus_map;

/* The modbus-server: section (the engine serves it on its own loop). */
typedef struct plcio_sync_modbus_spec {
    bool present;
    const char *listen; /* "HOST:PORT"; NULL: 127.0.0.1:502 */
    int unit;           /* 0..255, -1: every unit id */
    bool writes;        /* writes to writable tags go to the PLC through plcio_sync_write */
    size_t map_count;
    plcio_sync_modbus_map *map;
    unsigned line;
} plcio_sync_modbus_spec;

/* One entry of s7-server's map: a tag's value in a data block. */
typedef struct plcio_sync_s7_map {
    const char *tag; /* the tag's name as in shared memory */
    const char *at;  /* "DB1.DBW0", "DB1.DBX4.2" (BOOL), "DB2.DBB10" (start of any other size) */
    unsigned line;
} plcio_sync_s7_map;

/* The s7-server: section (the engine serves classic S7 on its own loop). */
typedef struct plcio_sync_s7_spec {
    bool present;
    const char *listen; /* "HOST:PORT"; NULL: 127.0.0.1:102 */
    bool writes;        /* writes to writable tags go to the PLC through plcio_sync_write */
    size_t map_count;
    plcio_sync_s7_map *map;
    unsigned line;
} plcio_sync_s7_spec;

typedef struct plcio_sync_config {
    const char *shm_name;
    unsigned shm_mode;           /* data segment permission bits; 0: 0640 */
    const char *shm_group;       /* its group name or number; NULL: the engine's */
    unsigned shm_write_mode;     /* write ring (NAME.ring) permission bits; 0: 0600 */
    const char *shm_write_group; /* its group; NULL: the engine's */
    uint32_t stats_interval_ms;
    size_t layout_count;
    const char **layout_files; /* paths, resolved against the config file's folder */
    size_t device_count;
    plcio_sync_device_spec *devices;
    size_t output_count;
    plcio_sync_output_spec *outputs;
    plcio_sync_http_spec http;
    plcio_sync_modbus_spec modbus_server;
    plcio_sync_s7_spec s7_server;
    bool json_off;             /* "json: off": the segment has no JSON rendition */
    uint32_t json_interval_ms; /* "json: {interval: MS}": rewrite it at most this often (0: on every change) */
} plcio_sync_config;

/* Parse a YAML configuration. `source` names it in errors ("tank.yaml");
 * `base_dir` resolves relative layout paths (NULL: as given). On error returns
 * PLCIO_ESYNTAX / PLCIO_ERANGE / PLCIO_EINVAL / PLCIO_ENOMEM, and writes
 * "source:line:column: message" in err (may be NULL). On success *out is
 * owned by the caller: free with plcio_sync_config_free. */
PLCIO_API int plcio_sync_config_parse(const char *text, size_t len, const char *source, const char *base_dir,
                                      plcio_sync_config **out, plcio_error *err);
/* Read and parse a file; layout paths resolve against the file's folder. */
PLCIO_API int plcio_sync_config_load(const char *path, plcio_sync_config **out, plcio_error *err);
PLCIO_API void plcio_sync_config_free(plcio_sync_config *config);

/* "20", "20ms", "1s", "2min" -> milliseconds; PLCIO_ESYNTAX or PLCIO_ERANGE. */
PLCIO_API int plcio_sync_parse_duration_ms(const char *text, uint32_t *ms);
/* Permission bits in octal: "0640", "640", "0o640" -> 0640; PLCIO_ESYNTAX
 * (not octal digits) or PLCIO_ERANGE (beyond 0777, or the owner could not
 * read and write: the engine needs both). */
PLCIO_API int plcio_sync_parse_mode(const char *text, unsigned *mode);

/* ======================================================================
 * The engine
 *
 * One engine drives every device of a configuration from one event loop on
 * the thread that calls plcio_sync_run / _run_once: no thread per device, a
 * dead device never delays the others, a group's cycles never overlap (a
 * cycle still running when the next is due makes that one "late").
 * Every loop round that read something goes to the engine's sinks
 * (plcio/sink.h); the first is the shared-memory segment (plcio/shm.h), where
 * other processes read values and ask for writes through its write ring.
 * Protocols are drivers (plcio/driver.h), registered per URL scheme.
 * ==================================================================== */

typedef struct plcio_sync plcio_sync;
struct plcio_driver;    /* plcio/driver.h */
struct plcio_sync_sink; /* plcio/sink.h */

typedef struct plcio_sync_options {
    plcio_logger logger;         /* fn NULL: process default */
    const char *shm_name;        /* overrides the configuration's "shm" (NULL: keep) */
    unsigned shm_mode;           /* override shm-mode (0: keep) */
    const char *shm_group;       /* override shm-group (NULL: keep) */
    unsigned shm_write_mode;     /* override shm-write-mode (0: keep) */
    const char *shm_write_group; /* override shm-write-group (NULL: keep) */
    bool no_shm;                 /* run without a segment (values still reach the other sinks) */
    plcio_clock clock;           /* now NULL: the system monotonic clock */
    /* Protocol drivers (plcio/driver.h), borrowed for the engine's life: a
     * device's URL scheme picks the first that serves it, these before the
     * built-in ones (s7, modbus-*), which are always registered after them. */
    const struct plcio_driver *const *drivers;
    size_t driver_count;
    /* Outputs (plcio/sink.h), borrowed for the engine's life; each gets every
     * round. Shared memory is one more sink, after these, unless no_shm. */
    const struct plcio_sync_sink *sinks;
    size_t sink_count;
    bool no_json;              /* override "json": keep no JSON rendition in the segment */
    uint32_t json_interval_ms; /* override "json: {interval}" (0: keep) */
} plcio_sync_options;

/* Build an engine: load the layout files, resolve every tag, plan the reads,
 * create the segment. Nothing connects until _run / _run_once. Errors name the
 * device, group and tag ("tank-plc/fast: member 'Levl' not in DB 10 (Tank)").
 * *out: free with plcio_sync_free. `opts` may be NULL. */
PLCIO_API int plcio_sync_new(const plcio_sync_config *config, const plcio_sync_options *opts, plcio_sync **out,
                             plcio_error *err);
/* Disconnect everything, fail queued writes, remove the segment. NULL: no-op. */
PLCIO_API void plcio_sync_free(plcio_sync *s);

/* Run until plcio_sync_stop. Returns PLCIO_OK or a fatal loop error. */
PLCIO_API int plcio_sync_run(plcio_sync *s);
/* One round: wait up to max_wait_ms for I/O or timers, handle them, publish. */
PLCIO_API int plcio_sync_run_once(plcio_sync *s, int max_wait_ms);
/* Thread-safe and async-signal-safe (call it from a SIGINT handler). */
PLCIO_API void plcio_sync_stop(plcio_sync *s);

/* Result of a write: err PLCIO_OK when the device acknowledged it; otherwise
 * the reason (PLCIO_ENOTCONN: device down; PLCIO_ETIMEDOUT: queued too long;
 * PLCIO_EPLC / PLCIO_EMBEXC: the device refused; message says more). */
typedef void (*plcio_sync_write_cb)(void *ctx, int err, const char *message);

/* Write `text` to a tag by name, from the engine's thread (between _run_once
 * calls or from a callback). The value is checked against the type and range
 * and encoded by the tag's type; only the tag's own bytes (or bit) are
 * written. queue_ms 0: fail at once (PLCIO_ENOTCONN) if the device is down;
 * otherwise wait up to queue_ms for it to come back. Any tag may be written
 * this way (the calling program is trusted); `writable` only governs the
 * shared-memory ring. cb runs exactly once,
 * later, on the engine's thread. Returns an error (and does not call cb) when
 * the tag does not exist or the value does not fit. */
PLCIO_API int plcio_sync_write(plcio_sync *s, const char *tag, const char *text, int queue_ms, plcio_sync_write_cb cb,
                               void *ctx, plcio_error *err);

typedef struct plcio_sync_stats {
    const char *name;  /* "device" or "device/group"; owned by the engine */
    bool connected;    /* devices: the connection is up */
    uint64_t cycles;   /* completed read cycles */
    uint64_t late;     /* cycles skipped because the previous one still ran */
    uint64_t errors;   /* failed cycles (devices: failed connections) */
    uint64_t requests; /* requests sent */
    uint64_t bytes;    /* payload bytes received */
    uint64_t cycle_min_ns, cycle_avg_ns, cycle_max_ns;
    uint64_t jitter_avg_ns, jitter_max_ns; /* start of cycle vs. schedule */
    uint32_t interval_ms;                  /* groups */
    size_t tags;                           /* groups: tags in the group */
    int last_error;                        /* devices: why the last connection failed */
    const char *last_message;
    uint64_t connects;      /* devices: connections made (the first one and every reconnection) */
    bool subscribed;        /* groups: fed by a subscription (cycles: intervals with a notification) */
    uint64_t notifications; /* groups: notifications received (subscribed groups) */
} plcio_sync_stats;

/* What each sink was offered and what became of it; read on the engine's thread. */
typedef struct plcio_sink_stats {
    const char *name;   /* the sink's ("shm" for shared memory); owned by it */
    uint64_t events;    /* offered */
    uint64_t delivered; /* handed to it and accepted */
    uint64_t dropped;   /* not handed to it: its queue was full (it was too slow) */
    uint64_t failed;    /* handed to it, and it reported an error */
    size_t queued;      /* waiting in its queue now */
} plcio_sink_stats;

/* Sinks in order: the options' ones, then shared memory (unless no_shm). */
PLCIO_API size_t plcio_sync_sink_count(const plcio_sync *s);
PLCIO_API int plcio_sync_sink_stats(const plcio_sync *s, size_t index, plcio_sink_stats *out);

PLCIO_API size_t plcio_sync_device_count(const plcio_sync *s);
PLCIO_API int plcio_sync_device_stats(const plcio_sync *s, size_t index, plcio_sync_stats *out);
PLCIO_API size_t plcio_sync_group_count(const plcio_sync *s);
PLCIO_API int plcio_sync_group_stats(const plcio_sync *s, size_t index, plcio_sync_stats *out);
PLCIO_API size_t plcio_sync_tag_count(const plcio_sync *s);
/* The engine's event loop (plcio/loop.h), for an output that serves clients
 * on the engine's thread (plcio/http.h). Borrowed for the engine's life. */
struct plcio_loop;
PLCIO_API struct plcio_loop *plcio_sync_loop(plcio_sync *s);
/* The segment the engine publishes to (NULL with no_shm). Borrowed. */
PLCIO_API struct plcio_shm_writer *plcio_sync_shm(plcio_sync *s);
/* The segment's name, as given to shm_open ("/plcio-tank"). */
PLCIO_API const char *plcio_sync_shm_name(const plcio_sync *s);

PLCIO_END_DECLS

#endif
