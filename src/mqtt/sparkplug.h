/* Internal: Sparkplug B 3.0 edge node, sans-I/O.
 *
 * The engine's tags become Sparkplug metrics: the engine is one edge node
 * (spBv1.0/GROUP/.../NODE), each of its devices a Sparkplug device, each tag a
 * metric of its device with a fixed alias (tag index + SPB_ALIAS_BASE). This
 * file knows no socket and no MQTT library: the MQTT sink feeds it the
 * connection's ups and downs, the messages that arrived on the topics it asked
 * for, and the engine's sink events; it hands back messages to publish through
 * an emit callback, and writes to perform through a write callback.
 *
 * What it follows from the specification (Eclipse Sparkplug 3.0.0):
 * - NDEATH as the connection's Will (QoS 1, not retained) with the metric
 *   bdSeq; bdSeq counts connections 0..255 and the NBIRTH carries the same one.
 * - NBIRTH (seq 0) then a DBIRTH per connected device, every metric with name,
 *   alias, datatype and value (is_null before the first read); the NBIRTH also
 *   has "Node Control/Rebirth" (Boolean, writable).
 * - NDATA/DDATA carry changed metrics by alias only; seq counts every message
 *   after the NBIRTH, 0..255 wrapping.
 * - DDEATH when a device's connection is lost, a DBIRTH when it comes back.
 * - NCMD "Node Control/Rebirth" = true: NBIRTH and the DBIRTHs again.
 * - DCMD: writes to the tags configured writable (none by default), by alias
 *   or name; anything else is refused with a log line.
 * - Primary host: with primary_host set, nothing is born until
 *   spBv1.0/STATE/HOST says online; when it goes offline the node publishes
 *   its NDEATH, keeps changes as history, and is born again (same bdSeq: the
 *   Will still holds it) when the host is back. on_message returns
 *   SPB_RECONNECT then, for a sink that can move to another broker.
 * - While not connected, changes are kept (bounded: history_max metrics; the
 *   oldest go first and are counted) and published after the births as DDATA
 *   with is_historical = true, oldest first.
 *
 * Threads: none; the caller serialises every call (the sink's own thread). */
#ifndef PLCIO_SRC_MQTT_SPARKPLUG_H
#define PLCIO_SRC_MQTT_SPARKPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/sink.h"
#include "plcio/value.h"

#define SPB_NAMESPACE "spBv1.0"
/* Aliases below this belong to the node's own metrics (bdSeq, Node Control). */
#define SPB_ALIAS_BASE    16u
#define SPB_ALIAS_REBIRTH 1u
#define SPB_TOPIC_MAX     512
/* A Sparkplug id (group, node, device) is one topic level: no '/', '+', '#'. */
#define SPB_ID_MAX 128

/* Metric datatypes of the specification (6.4.16) that plcio uses. */
enum {
    SPB_INT8 = 1,
    SPB_INT16 = 2,
    SPB_INT32 = 3,
    SPB_INT64 = 4,
    SPB_UINT8 = 5,
    SPB_UINT16 = 6,
    SPB_UINT32 = 7,
    SPB_UINT64 = 8,
    SPB_FLOAT = 9,
    SPB_DOUBLE = 10,
    SPB_BOOLEAN = 11,
    SPB_STRING = 12,
    SPB_DATETIME = 13
};

/* The datatype a tag of this plcio type is published as: numbers as numbers
 * of the same width and sign, TIME/S5TIME as Int32 milliseconds, LTIME as
 * Int64 nanoseconds, characters, strings, dates and times of day as String. */
unsigned spb_datatype_of(plcio_type type);
const char *spb_datatype_name(unsigned datatype);

/* Is `id` usable as a group, node or device id (non-empty, at most
 * SPB_ID_MAX - 1 bytes, no '/', '+', '#')? */
bool spb_id_valid(const char *id);

/* ---- payload codec (protobuf-c underneath) ---- */

/* One metric of a decoded command (NCMD/DCMD); strings borrow the decoded
 * payload (spb_command_free). */
typedef struct spb_cmd_metric {
    const char *name; /* NULL when only the alias was sent */
    bool has_alias;
    uint64_t alias;
    bool has_datatype;
    unsigned datatype;
    bool is_null;
    bool historical;
    /* the value as sent, in the field the sender used */
    enum {
        SPB_VAL_NONE,
        SPB_VAL_INT,
        SPB_VAL_LONG,
        SPB_VAL_FLOAT,
        SPB_VAL_DOUBLE,
        SPB_VAL_BOOL,
        SPB_VAL_STRING,
        SPB_VAL_OTHER
    } kind;
    uint64_t u; /* INT (32 bits), LONG */
    double f;   /* FLOAT, DOUBLE */
    bool b;
    const char *s;
} spb_cmd_metric;

typedef struct spb_command {
    bool has_seq;
    uint64_t seq;
    bool has_timestamp;
    uint64_t timestamp;
    size_t metric_count;
    spb_cmd_metric *metrics;
    void *unpacked; /* the protobuf-c message */
} spb_command;

/* Decode a Sparkplug payload. PLCIO_EPROTO (with a reason in err) when the
 * bytes are not one; PLCIO_ENOMEM. On success free with spb_command_free. */
int spb_command_decode(const uint8_t *data, size_t len, spb_command *out, plcio_error *err);
void spb_command_free(spb_command *c);

/* A command metric's value as text for plcio_sync_write-style writes, read as
 * the tag's datatype (Int8..Int32 sign-extended from int_value, Int64 from
 * long_value...). PLCIO_EINVAL with a reason when the value cannot be one of
 * that datatype (a string for a Boolean, no value at all). */
int spb_cmd_value_text(const spb_cmd_metric *m, unsigned datatype, char *buf, size_t cap, plcio_error *err);

/* One metric to encode. */
typedef struct spb_metric {
    const char *name; /* NULL: alias only (DATA) */
    uint64_t alias;
    unsigned datatype;
    uint64_t timestamp_ms;
    bool historical;
    bool is_null;
    bool has_quality; /* a "Quality" property (Int32: 192 good, 500 stale, 0 bad) */
    int quality;
    uint64_t u;    /* integer datatypes (two's complement for the signed ones) */
    double f;      /* Float, Double */
    bool b;        /* Boolean */
    const char *s; /* String (NUL-terminated) */
} spb_metric;

/* Encode a payload into *buf (grown with realloc as needed; the caller frees
 * it). seq < 0: none (NDEATH). PLCIO_ENOMEM. */
int spb_payload_encode(uint64_t timestamp_ms, int seq, const spb_metric *metrics, size_t count, uint8_t **buf,
                       size_t *cap, size_t *len);

/* A sink event's raw PLC bytes as the value of metric m (datatype already
 * set): text-like values are written to text (cap bytes) and m->s points
 * there. PLCIO_EPROTO when the bytes do not decode (then m->is_null). */
int spb_metric_from_raw(spb_metric *m, const plcio_sink_tag *tag, const uint8_t *raw, size_t size, char *text,
                        size_t cap);

/* ---- the edge node ---- */

typedef struct spb_node spb_node;

/* A message to publish. Everything is borrowed for the call. */
typedef int (*spb_emit_fn)(void *ctx, const char *topic, const uint8_t *payload, size_t len, int qos, bool retain);
/* A write a command asked for: tag index and the value as text. The result
 * comes back as the tag's next value (Sparkplug has no reply message). */
typedef void (*spb_write_fn)(void *ctx, size_t tag, const char *text);

typedef struct spb_node_config {
    /* NULL: "spBv1.0". Another only for brokers that refuse '.' in topics
     * (NATS Server before 2.10): then not Sparkplug-conformant. */
    const char *name_space;
    const char *group_id;
    const char *node_id;
    const char *primary_host; /* NULL: publish as soon as connected */
    int qos;                  /* of BIRTH/DATA/DEATH messages: the spec says 0; 1 to survive a broker failover */
    /* Tags that DCMD may write: names (exact, or a prefix ending in '*');
     * none by default. */
    const char *const *writable;
    size_t writable_count;
    const bool *tag_writable; /* or per tag (tag_count flags, copied); NULL: the names above */
    size_t history_max;       /* changes kept while offline; 0: 100000 */
    plcio_logger logger;
} spb_node_config;

typedef struct spb_node_stats {
    uint64_t births, data, deaths, commands, writes, refused, history_dropped;
    size_t history;
    unsigned bd_seq, seq;
} spb_node_stats;

int spb_node_new(const spb_node_config *cfg, const plcio_sink_tag *tags, size_t tag_count, spb_emit_fn emit,
                 spb_write_fn write, void *ctx, spb_node **out, plcio_error *err);
void spb_node_free(spb_node *n);

/* Before each connection attempt: the Will (NDEATH with the next bdSeq).
 * topic: SPB_TOPIC_MAX bytes; payload: a buffer the node keeps until the next
 * call (borrowed). */
int spb_node_will(spb_node *n, char *topic, const uint8_t **payload, size_t *len);
/* Topics to subscribe after connecting (NCMD, DCMD of this node, and the
 * primary host's STATE): count, and the i-th topic. */
size_t spb_node_subscription_count(const spb_node *n);
const char *spb_node_subscription(const spb_node *n, size_t i);
/* The connection is up (subscriptions made): births unless a primary host is
 * awaited. `now_ms`: wall clock, ms since the epoch. */
int spb_node_connected(spb_node *n, uint64_t now_ms);
/* The connection is gone: later changes go to the history. */
void spb_node_disconnected(spb_node *n);
/* Before a clean shutdown: publish the NDEATH (the Will is not sent then). */
int spb_node_goodbye(spb_node *n, uint64_t now_ms);

enum { SPB_OK = 0, SPB_RECONNECT = 1 };
/* A message on one of the subscriptions. Returns SPB_OK, SPB_RECONNECT (the
 * primary host went offline: disconnect and connect again, to the next
 * broker), or an error for a message that makes no sense (logged; the caller
 * goes on). */
int spb_node_on_message(spb_node *n, const char *topic, const uint8_t *payload, size_t len, uint64_t now_ms);
/* The engine's events (plcio/sink.h), in order. */
int spb_node_on_events(spb_node *n, const plcio_sink_event *events, size_t count);

void spb_node_get_stats(const spb_node *n, spb_node_stats *out);

#endif
