/* The MQTT output's "sparkplug" format: the Sparkplug B edge node
 * (sparkplug.h) plugged into the client (mqtt_internal.h).
 *
 * Every Sparkplug message goes through the client's queue (mqtt_enqueue), so
 * births, data and deaths leave in the order the node made them, and a
 * message the broker had not acknowledged when a connection broke is sent
 * again on the next one (at least once): it then still carries its old
 * session's seq, after that session's last acknowledged message. While
 * disconnected the node keeps changes itself and sends them after the next
 * births as is_historical DDATA (seq and bdSeq of the new session). Writes
 * from DCMD go through mqtt_write: the output's `writable:` list decides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/mqtt_internal.h"
#include "mqtt/sparkplug.h"

typedef struct spb_format {
    mqtt_out *m;
    spb_node *node;
    char will_topic[SPB_TOPIC_MAX];
    uint64_t dropped;
} spb_format;

static uint64_t wall_ms(void) { return plcio_realtime_ns() / 1000000u; }

static int emit(void *ctx, const char *topic, const uint8_t *payload, size_t len, int qos, bool retain)
{
    spb_format *f = ctx;
    int rc = mqtt_enqueue(f->m, topic, payload, len, qos, retain);
    if (rc != PLCIO_OK) f->dropped++;
    return rc;
}

static void write_done(void *ctx, int rc, const char *message)
{
    spb_format *f = ctx;
    if (rc != PLCIO_OK)
        log_msg(mqtt_logger(f->m), PLCIO_LOG_WARN, "sparkplug", "DCMD write failed: %s",
                message ? message : plcio_strerror(rc));
}

static void on_write(void *ctx, size_t tag, const char *text)
{
    spb_format *f = ctx;
    char err[256] = "";
    if (mqtt_write(f->m, tag, text, write_done, f, err, sizeof err) != PLCIO_OK)
        log_msg(mqtt_logger(f->m), PLCIO_LOG_WARN, "sparkplug", "DCMD write refused: %s", err);
}

static int spb_open(mqtt_out *m, void **state, char *err, size_t cap)
{
    const plcio_sync_mqtt_spec *spec = mqtt_spec(m);
    size_t count = 0;
    const plcio_sink_tag *tags = mqtt_tags(m, &count);
    if (!spec->sparkplug_group) {
        (void)snprintf(err, cap, "mqtt format sparkplug needs sparkplug: {group: ...}");
        return PLCIO_EINVAL;
    }
    spb_format *f = calloc(1, sizeof *f);
    bool *writable = calloc(count ? count : 1, sizeof *writable);
    if (!f || !writable) {
        free(f);
        free(writable);
        (void)snprintf(err, cap, "out of memory");
        return PLCIO_ENOMEM;
    }
    for (size_t i = 0; i < count; i++)
        writable[i] = mqtt_tag_writable(m, i);
    f->m = m;
    spb_node_config cfg = {.name_space = spec->sparkplug_namespace,
                           .group_id = spec->sparkplug_group,
                           .node_id = spec->sparkplug_node ? spec->sparkplug_node : mqtt_client_id(m),
                           .primary_host = spec->sparkplug_host,
                           .qos = spec->qos > 1 ? 1 : spec->qos,
                           .tag_writable = writable,
                           .history_max = spec->queue,
                           .logger = *mqtt_logger(m)};
    plcio_error e;
    plcio_error_clear(&e);
    int rc = spb_node_new(&cfg, tags, count, emit, on_write, f, &f->node, &e);
    free(writable);
    if (rc != PLCIO_OK) {
        (void)snprintf(err, cap, "%s", e.text);
        free(f);
        return rc;
    }
    *state = f;
    return PLCIO_OK;
}

static void spb_close(void *state)
{
    spb_format *f = state;
    if (!f) return;
    spb_node_free(f->node);
    free(f);
}

static bool spb_will(void *state, mqtt_will *will)
{
    spb_format *f = state;
    const uint8_t *payload = NULL;
    size_t len = 0;
    if (spb_node_will(f->node, f->will_topic, &payload, &len) != PLCIO_OK) return false;
    /* the specification's NDEATH: QoS 1, not retained */
    *will = (mqtt_will){.topic = f->will_topic, .payload = payload, .len = len, .qos = 1, .retain = false};
    return true;
}

static void spb_on_connect(void *state)
{
    spb_format *f = state;
    for (size_t i = 0; i < spb_node_subscription_count(f->node); i++)
        (void)mqtt_subscribe(f->m, spb_node_subscription(f->node, i), 1);
    (void)spb_node_connected(f->node, wall_ms());
}

static void spb_on_disconnect(void *state)
{
    spb_format *f = state;
    spb_node_disconnected(f->node);
}

static void spb_on_events(void *state, const plcio_sink_event *events, size_t count)
{
    spb_format *f = state;
    (void)spb_node_on_events(f->node, events, count);
}

static void spb_on_message(void *state, const mqtt_inbound *in)
{
    spb_format *f = state;
    if (!strstr(in->topic, "/STATE/")) mqtt_count_command(f->m);
    (void)spb_node_on_message(f->node, in->topic, in->payload, in->len, wall_ms());
}

static void spb_on_stop(void *state)
{
    spb_format *f = state;
    /* queued like the rest: the client drains the queue before DISCONNECT, so
     * the NDEATH comes after the last DDATA */
    (void)spb_node_goodbye(f->node, wall_ms());
}

const mqtt_format mqtt_format_sparkplug = {
    .name = "sparkplug",
    .open = spb_open,
    .close = spb_close,
    .will = spb_will,
    .on_connect = spb_on_connect,
    .on_disconnect = spb_on_disconnect,
    .on_events = spb_on_events,
    .on_message = spb_on_message,
    .on_stop = spb_on_stop,
};
