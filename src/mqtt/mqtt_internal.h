/* Inside the MQTT output (plcio/mqtt.h).
 *
 *   mqtt_client.c   the connection: libmosquitto on the engine's loop, broker
 *                   failover, backoff, the store-and-forward queue and its
 *                   window of messages handed to libmosquitto; the sink
 *   mqtt_json.c     the "json" format: per-tag and per-group JSON, status
 *                   topic and will, command topics
 *   mqtt_command.c  the command decoder (no I/O, fuzzed) and the write requests
 *                   it turns into (through plcio_sync_write), the replies
 *   mqtt_spool.c    the queue's file: what waits for the broker, on disk while
 *                   running (survives a crash), replayed first at start
 *
 * A format (mqtt_format below) decides what is published and what a command
 * looks like; the client owns the connection and the queue. Formats are found
 * by name (`format:` of the output) in mqtt_formats[] (mqtt_client.c). A new
 * format (Sparkplug B) is one file with one mqtt_format, plus its line there.
 * All of it runs on the engine's thread: no locks. */
#ifndef PLCIO_SRC_MQTT_INTERNAL_H
#define PLCIO_SRC_MQTT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/mqtt.h"
#include "plcio/sink.h"
#include "plcio/sync.h"

typedef struct plcio_mqtt mqtt_out; /* the client (mqtt_client.c) */

/* A message as queued: topic and payload in one block. */
typedef struct mqtt_msg {
    uint32_t topic_len, payload_len;
    uint8_t qos;
    bool retain;
    bool acked;  /* the broker took it (client only) */
    int mid;     /* libmosquitto's id while handed to it (client only) */
    char data[]; /* topic, NUL, payload */
} mqtt_msg;

static inline const char *mqtt_msg_topic(const mqtt_msg *m) { return m->data; }
static inline const char *mqtt_msg_payload(const mqtt_msg *m) { return m->data + m->topic_len + 1; }
/* A new message (malloc, free with free()); NULL when out of memory. */
mqtt_msg *mqtt_msg_new(const char *topic, size_t topic_len, const void *payload, size_t len, int qos, bool retain);

/* A message that arrived on a subscribed topic; everything borrowed for the call. */
typedef struct mqtt_inbound {
    const char *topic;
    const uint8_t *payload;
    size_t len;
    /* MQTT 5 request/response: where to answer, and what to echo (NULL/0: none) */
    const char *response_topic;
    const void *correlation;
    uint16_t correlation_len;
} mqtt_inbound;

/* The Last Will a format wants registered before every connection. */
typedef struct mqtt_will {
    const char *topic;
    const void *payload;
    size_t len;
    int qos;
    bool retain;
} mqtt_will;

typedef struct mqtt_format {
    const char *name; /* "json", "sparkplug" */
    /* Build the format's state (the tag table is mqtt_tags(m)); err: one line. */
    int (*open)(mqtt_out *m, void **state, char *err, size_t cap);
    void (*close)(void *state);
    /* Before every connection attempt: fill *will (false: no will). The
     * pointers must stay valid until the next call or close. */
    bool (*will)(void *state, mqtt_will *will);
    /* The broker accepted the connection: subscribe (mqtt_subscribe), publish
     * births and status (mqtt_publish_now). The queue drains after this. */
    void (*on_connect)(void *state);
    /* The connection is gone (the will speaks for us now). May be NULL. */
    void (*on_disconnect)(void *state);
    /* A batch of the engine's events (plcio/sink.h), in order: queue what is
     * due with mqtt_enqueue. */
    void (*on_events)(void *state, const plcio_sink_event *events, size_t count);
    /* A message on a subscribed topic. May be NULL. */
    void (*on_message)(void *state, const mqtt_inbound *msg);
    /* Clean stop while connected: last words (status offline) with
     * mqtt_publish_now, before the DISCONNECT (which cancels the will). May be NULL. */
    void (*on_stop)(void *state);
} mqtt_format;

extern const mqtt_format mqtt_format_json;
extern const mqtt_format mqtt_format_sparkplug; /* mqtt_sparkplug.c */

/* ---- what the client offers a format ---- */

const plcio_sync_mqtt_spec *mqtt_spec(const mqtt_out *m); /* the settings (a deep copy, with defaults filled) */
const plcio_sink_tag *mqtt_tags(const mqtt_out *m, size_t *count);
const plcio_logger *mqtt_logger(const mqtt_out *m);
const char *mqtt_client_id(const mqtt_out *m);
bool mqtt_connected(const mqtt_out *m);
/* Queue a message (store and forward: kept, in order, while the broker is
 * away; dropped and counted when the queue is full). Copies everything.
 * PLCIO_OK, PLCIO_ENOSPC (dropped: queue full), PLCIO_ENOMEM. */
int mqtt_enqueue(mqtt_out *m, const char *topic, const void *payload, size_t len, int qos, bool retain);
/* Publish now, past the queue (births, status, replies): PLCIO_ENOTCONN when
 * not connected (nothing is kept). MQTT 5 correlation data rides along when
 * correlation is not NULL (ignored on 3.1.1). */
int mqtt_publish_now(mqtt_out *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
                     const void *correlation, uint16_t correlation_len);
/* Count a command message (statistics). */
void mqtt_count_command(mqtt_out *m);
/* Subscribe (in on_connect). */
int mqtt_subscribe(mqtt_out *m, const char *topic, int qos);
/* The tag of that name, or -1. */
long mqtt_tag_index(const mqtt_out *m, const char *name, size_t len);
/* May MQTT write this tag (the output's `writable` list)? */
bool mqtt_tag_writable(const mqtt_out *m, size_t tag);
/* Write `text` to a tag through the engine (plcio_sync_write with the
 * output's write-queue). done runs exactly once, later, unless this returns
 * an error (then err says why: not writable, no such tag, bad value). */
typedef void (*mqtt_write_done)(void *ctx, int rc, const char *message);
int mqtt_write(mqtt_out *m, size_t tag, const char *text, mqtt_write_done done, void *ctx, char *err, size_t cap);

/* A topic template with {device} {group} {tag} {client} filled in (NULL
 * fields: left empty); characters MQTT forbids in a topic name ('+', '#',
 * NUL) become '_'. malloc'd; NULL when out of memory. */
char *mqtt_topic_render(const char *tmpl, const char *device, const char *group, const char *tag, const char *client);

/* ---- commands (mqtt_command.c) ---- */

#define MQTT_COMMAND_MAX_ITEMS 256
#define MQTT_COMMAND_MAX_BYTES 65536

/* One "tag": value of a command, both borrowed from the decoder's buffer. */
typedef struct mqtt_command_item {
    const char *tag;
    size_t tag_len;
    const char *value; /* as plcio_sync_write takes it: a number's literal, true/false, a string's content */
    size_t value_len;
} mqtt_command_item;

typedef struct mqtt_command {
    size_t count;
    mqtt_command_item items[MQTT_COMMAND_MAX_ITEMS];
    char buf[MQTT_COMMAND_MAX_BYTES + 1]; /* decoded strings, NUL-terminated */
    size_t used;
} mqtt_command;

/* Decode a command payload: a JSON object {"tag": value, ...} whose values are
 * numbers, true/false or strings. No I/O, no allocation. PLCIO_OK, or
 * PLCIO_ESYNTAX / PLCIO_ERANGE (too big, too many items) with the reason in err. */
int mqtt_command_decode(const uint8_t *data, size_t len, mqtt_command *out, char *err, size_t cap);
/* One JSON value alone (a .../set topic's payload): a number, true/false, a
 * string; plain text that is not JSON is taken as it is. */
int mqtt_command_decode_value(const uint8_t *data, size_t len, mqtt_command *out, char *err, size_t cap);

/* Carry out a command: every item through mqtt_write, one reply (JSON) once
 * every result is in, to reply_topic (with correlation data on MQTT 5). */
void mqtt_command_run(mqtt_out *m, const mqtt_command *cmd, const char *reply_topic, const void *correlation,
                      uint16_t correlation_len);

/* ---- JSON helpers (mqtt_json.c) ---- */

/* Append s as a JSON string (quoted, escaped) to buf at *n (cap bytes);
 * false when it does not fit. */
bool mqtt_json_string(char *buf, size_t cap, size_t *n, const char *s, size_t len);

/* ---- the queue's file (mqtt_spool.c) ---- */

typedef bool (*mqtt_spool_take)(void *ctx, mqtt_msg *msg); /* false: not taken (the loader frees it) */

typedef struct mqtt_spool_result {
    size_t loaded;    /* handed to take, oldest first */
    size_t refused;   /* take said no (the queue was full) */
    size_t skipped;   /* records the broker had taken already (the sent mark) */
    char damage[160]; /* "" or what was dropped at the end, and why */
    char note[96];    /* "" or a remark (a damaged sent mark) */
} mqtt_spool_result;

/* Read path (a missing or empty file is no error: nothing loaded) and hand
 * every good message to take. A damaged part (cut short, bad checksum, bad
 * fields) ends the reading: it and what follows are dropped, never handed
 * out, and res->damage says what; that is still PLCIO_OK. A file that is not
 * a queue file: PLCIO_EPROTO with the reason in err; PLCIO_EIO, PLCIO_ENOMEM. */
int mqtt_spool_load(const char *path, mqtt_spool_take take, void *ctx, mqtt_spool_result *res, char *err, size_t cap);
uint32_t mqtt_spool_crc32(const void *data, size_t len);

/* The file while the engine runs: records appended in batches, a sent mark
 * moved as the broker takes them, synced at a bounded rate, replaced by a
 * compact copy when it is mostly sent. The file is made by the first write. */
typedef struct mqtt_spool mqtt_spool;
int mqtt_spool_open(const char *path, mqtt_spool **out);
void mqtt_spool_close(mqtt_spool *s); /* closes the file (leaves it) and frees s */
/* Buffer one record (sequence numbers rising); nothing is written yet. */
int mqtt_spool_add(mqtt_spool *s, uint64_t seq, const mqtt_msg *msg);
void mqtt_spool_discard(mqtt_spool *s); /* forget what is buffered */
/* Append what is buffered to the file in one write. */
int mqtt_spool_write(mqtt_spool *s, char *err, size_t cap);
/* Replace the file by exactly what is buffered (PATH.tmp, fdatasync, rename);
 * nothing buffered: the file is removed. */
int mqtt_spool_replace(mqtt_spool *s, char *err, size_t cap);
/* Messages with a sequence number below sent were taken by the broker. */
int mqtt_spool_mark_sent(mqtt_spool *s, uint64_t sent, char *err, size_t cap);
/* Everything in the file was taken: keep the header only. */
int mqtt_spool_clear(mqtt_spool *s, char *err, size_t cap);
int mqtt_spool_sync(mqtt_spool *s, char *err, size_t cap); /* fdatasync, if something was written since */
bool mqtt_spool_dirty(const mqtt_spool *s);
bool mqtt_spool_broken(const mqtt_spool *s); /* a failed write: replace before appending again */
uint64_t mqtt_spool_records(const mqtt_spool *s);
uint64_t mqtt_spool_first(const mqtt_spool *s);
uint64_t mqtt_spool_end(const mqtt_spool *s);
uint64_t mqtt_spool_bytes(const mqtt_spool *s);

#endif
