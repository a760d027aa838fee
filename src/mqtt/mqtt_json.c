/* The "json" format of the MQTT output (docs/mqtt.md):
 *   per tag    TOPIC (plcio/{device}/{tag}): {"value":V,"quality":"GOOD","ts":MS,"changed":MS}
 *              and "reason":"..." when the quality is not GOOD (value null for ERROR)
 *   per group  GROUP-TOPIC: {"device":D,"group":G,"ts":MS,"values":{"tag":V,...}[,"quality":{"tag":"STALE"}]}
 *   status     STATUS-TOPIC, retained: {"status":"online",...}; the will says "offline"
 *   commands   COMMAND-TOPIC {"tag": value, ...}; TOPIC/set for each writable tag */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "mqtt/mqtt_internal.h"
#include "plcio/shm.h"
#include "plcio/value.h"

#define TEXT_CAP    (3u * PLCIO_WSTRING_MAX + 64u)
#define PAYLOAD_CAP (6u * TEXT_CAP + 256u) /* the longest WSTRING, every character escaped */

typedef struct group_doc {
    char *topic;
    const char *device, *group;
    char *values, *bad; /* the inside of the values and quality objects */
    size_t values_len, values_cap, bad_len, bad_cap;
    uint64_t ts_ns;
    bool any;
} group_doc;

typedef struct json_fmt {
    mqtt_out *m;
    const plcio_sync_mqtt_spec *c;
    const plcio_sink_tag *tags;
    size_t tag_count;
    char **topics;     /* per tag (per_tag), or NULL */
    char **set_topics; /* per writable tag: TOPIC/set, else NULL */
    uint64_t *last_ns; /* per tag: last publish (for `every`) */
    size_t *tag_group;
    group_doc *groups;
    size_t group_count;
    char *status_topic, *command_topic, *reply_topic;
    char will[256];
    char *text;    /* TEXT_CAP */
    char *payload; /* PAYLOAD_CAP */
    mqtt_command *cmd;
} json_fmt;

bool mqtt_json_string(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    size_t at = *n;
    if (at + 2 > cap) return false;
    buf[at++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (at + 7 > cap) return false;
        if (ch == '"' || ch == '\\') {
            buf[at++] = '\\';
            buf[at++] = (char)ch;
        } else if (ch < 0x20) {
            at += (size_t)snprintf(buf + at, cap - at, "\\u%04x", ch);
        } else {
            buf[at++] = (char)ch;
        }
    }
    if (at + 1 > cap) return false;
    buf[at++] = '"';
    *n = at;
    return true;
}

static bool append(char *buf, size_t cap, size_t *n, const char *s, size_t len)
{
    if (*n + len > cap) return false;
    memcpy(buf + *n, s, len);
    *n += len;
    return true;
}

/* The event's value as JSON into buf at *n: a number, true/false, a string, or null. */
static bool value_json(json_fmt *f, const plcio_sink_event *ev, char *buf, size_t cap, size_t *n)
{
    const plcio_sink_tag *t = &f->tags[ev->tag];
    if (ev->quality == PLCIO_SHM_QUALITY_ERROR) return append(buf, cap, n, "null", 4);
    plcio_value v;
    plcio_value_init(&v, t->type);
    plcio_value_use_buffer(&v, f->text, TEXT_CAP);
    if (plcio_value_decode(&v, t->type, t->length, ev->value, ev->size, t->bit, NULL, NULL) != PLCIO_OK)
        return append(buf, cap, n, "null", 4);
    size_t len = 0;
    if (t->type == PLCIO_TYPE_STRING || t->type == PLCIO_TYPE_WSTRING) {
        const char *s = plcio_value_text(&v, &len);
        return mqtt_json_string(buf, cap, n, s, len);
    }
    char small[PLCIO_VALUE_TEXT_MAX];
    if (plcio_value_to_text(&v, small, sizeof small, &len) != PLCIO_OK) return append(buf, cap, n, "null", 4);
    switch (t->type) {
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL:
        if (!isfinite(v.v.f)) return append(buf, cap, n, "null", 4); /* JSON has no NaN or infinity */
        return append(buf, cap, n, small, len);
    case PLCIO_TYPE_BOOL:
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_USINT:
    case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_UDINT:
    case PLCIO_TYPE_ULINT: return append(buf, cap, n, small, len);
    default: return mqtt_json_string(buf, cap, n, small, len); /* times, dates, characters */
    }
}

static const char *quality_name(int q)
{
    return q == PLCIO_SHM_QUALITY_GOOD ? "GOOD" : q == PLCIO_SHM_QUALITY_STALE ? "STALE" : "ERROR";
}

static uint64_t ms(uint64_t ns) { return ns / 1000000u; }

static void tag_message(json_fmt *f, const plcio_sink_event *ev)
{
    char *p = f->payload;
    size_t n = 0, cap = PAYLOAD_CAP;
    bool ok = append(p, cap, &n, "{\"value\":", 9) && value_json(f, ev, p, cap, &n);
    if (ok) {
        n += (size_t)snprintf(p + n, cap - n, ",\"quality\":\"%s\",\"ts\":%llu,\"changed\":%llu",
                              quality_name(ev->quality), (unsigned long long)ms(ev->read_ns),
                              (unsigned long long)ms(ev->changed_ns));
        if (ev->quality != PLCIO_SHM_QUALITY_GOOD) {
            const char *why = plcio_strerror(ev->reason);
            ok = append(p, cap, &n, ",\"reason\":", 10) && mqtt_json_string(p, cap, &n, why, strlen(why));
        }
        ok = ok && append(p, cap, &n, "}", 1);
    }
    if (!ok) return; /* cannot happen: PAYLOAD_CAP holds the longest value */
    mqtt_enqueue(f->m, f->topics[ev->tag], p, n, f->c->qos, f->c->retain);
}

static bool grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (!b) return false;
    *buf = b;
    *cap = c;
    return true;
}

static void group_add(json_fmt *f, const plcio_sink_event *ev)
{
    group_doc *g = &f->groups[f->tag_group[ev->tag]];
    const plcio_sink_tag *t = &f->tags[ev->tag];
    size_t n = 0;
    char *p = f->payload;
    bool ok = (g->values_len ? append(p, PAYLOAD_CAP, &n, ",", 1) : true) &&
              mqtt_json_string(p, PAYLOAD_CAP, &n, t->name, strlen(t->name)) && append(p, PAYLOAD_CAP, &n, ":", 1) &&
              value_json(f, ev, p, PAYLOAD_CAP, &n);
    if (!ok || !grow(&g->values, &g->values_cap, g->values_len + n)) return;
    memcpy(g->values + g->values_len, p, n);
    g->values_len += n;
    if (ev->quality != PLCIO_SHM_QUALITY_GOOD) {
        n = 0;
        ok = (g->bad_len ? append(p, PAYLOAD_CAP, &n, ",", 1) : true) &&
             mqtt_json_string(p, PAYLOAD_CAP, &n, t->name, strlen(t->name));
        if (ok) n += (size_t)snprintf(p + n, PAYLOAD_CAP - n, ":\"%s\"", quality_name(ev->quality));
        if (ok && grow(&g->bad, &g->bad_cap, g->bad_len + n)) {
            memcpy(g->bad + g->bad_len, p, n);
            g->bad_len += n;
        }
    }
    if (ev->read_ns > g->ts_ns) g->ts_ns = ev->read_ns;
    g->any = true;
}

static void groups_publish(json_fmt *f)
{
    for (size_t i = 0; i < f->group_count; i++) {
        group_doc *g = &f->groups[i];
        if (!g->any) continue;
        size_t cap = g->values_len + g->bad_len + 2 * strlen(g->device) + 2 * strlen(g->group) + 256;
        char *doc = malloc(cap);
        if (doc) {
            size_t n = 0;
            append(doc, cap, &n, "{\"device\":", 10);
            mqtt_json_string(doc, cap, &n, g->device, strlen(g->device));
            append(doc, cap, &n, ",\"group\":", 9);
            mqtt_json_string(doc, cap, &n, g->group, strlen(g->group));
            n += (size_t)snprintf(doc + n, cap - n, ",\"ts\":%llu,\"values\":{", (unsigned long long)ms(g->ts_ns));
            append(doc, cap, &n, g->values, g->values_len);
            append(doc, cap, &n, "}", 1);
            if (g->bad_len) {
                append(doc, cap, &n, ",\"quality\":{", 12);
                append(doc, cap, &n, g->bad, g->bad_len);
                append(doc, cap, &n, "}", 1);
            }
            append(doc, cap, &n, "}", 1);
            mqtt_enqueue(f->m, g->topic, doc, n, f->c->qos, f->c->retain);
            free(doc);
        }
        g->any = false;
        g->values_len = g->bad_len = 0;
        g->ts_ns = 0;
    }
}

static void json_events(void *state, const plcio_sink_event *events, size_t count)
{
    json_fmt *f = state;
    for (size_t i = 0; i < count; i++) {
        const plcio_sink_event *ev = &events[i];
        if (ev->kind == PLCIO_SINK_ROUND_END) {
            if (f->groups) groups_publish(f);
            continue;
        }
        if (ev->kind != PLCIO_SINK_TAG || ev->tag >= f->tag_count) continue;
        bool due = f->c->on_change && ev->changed;
        if (!due && f->c->every_ms && ev->quality == PLCIO_SHM_QUALITY_GOOD)
            due = ev->read_ns >= f->last_ns[ev->tag] + (uint64_t)f->c->every_ms * 1000000u;
        if (!due) continue;
        f->last_ns[ev->tag] = ev->read_ns;
        if (f->topics) tag_message(f, ev);
        if (f->groups) group_add(f, ev);
    }
}

/* ---- status and will ---- */

static bool json_will(void *state, mqtt_will *w)
{
    json_fmt *f = state;
    size_t n = 0;
    append(f->will, sizeof f->will, &n, "{\"status\":\"offline\",\"client\":", 29);
    const char *id = mqtt_client_id(f->m);
    if (!mqtt_json_string(f->will, sizeof f->will - 2, &n, id, strlen(id))) n = 0;
    if (!n) return false;
    append(f->will, sizeof f->will, &n, "}", 1);
    *w = (mqtt_will){f->status_topic, f->will, n, 1, true};
    return true;
}

static void status(json_fmt *f, const char *what)
{
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"status\":\"%s\",\"client\":", what);
    const char *id = mqtt_client_id(f->m);
    if (!mqtt_json_string(buf, sizeof buf - 64, &n, id, strlen(id))) return;
    n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"ts\":%llu}", (unsigned long long)ms(plcio_realtime_ns()));
    mqtt_publish_now(f->m, f->status_topic, buf, n, 1, true, NULL, 0);
}

static void json_connect(void *state)
{
    json_fmt *f = state;
    status(f, "online");
    mqtt_subscribe(f->m, f->command_topic, 1);
    for (size_t t = 0; f->set_topics && t < f->tag_count; t++)
        if (f->set_topics[t]) mqtt_subscribe(f->m, f->set_topics[t], 1);
}

static void json_stop(void *state) { status(state, "offline"); }

/* ---- commands ---- */

static void refuse(json_fmt *f, const mqtt_inbound *in, const char *why)
{
    log_msg(mqtt_logger(f->m), PLCIO_LOG_WARN, "mqtt", "command on %s refused: %s", in->topic, why);
    char buf[600];
    size_t n = 0;
    append(buf, sizeof buf, &n, "{\"ok\":false,\"error\":", 20);
    if (!mqtt_json_string(buf, sizeof buf - 1, &n, why, strnlen(why, 256))) return;
    append(buf, sizeof buf, &n, "}", 1);
    const char *to = in->response_topic ? in->response_topic : f->reply_topic;
    mqtt_publish_now(f->m, to, buf, n, 1, false, in->correlation, in->correlation_len);
}

static void json_message(void *state, const mqtt_inbound *in)
{
    json_fmt *f = state;
    char why[256] = "";
    int rc;
    mqtt_count_command(f->m);
    if (!strcmp(in->topic, f->command_topic)) {
        rc = mqtt_command_decode(in->payload, in->len, f->cmd, why, sizeof why);
    } else {
        size_t t = 0;
        while (t < f->tag_count && !(f->set_topics && f->set_topics[t] && !strcmp(f->set_topics[t], in->topic)))
            t++;
        if (t == f->tag_count) return; /* not ours */
        rc = mqtt_command_decode_value(in->payload, in->len, f->cmd, why, sizeof why);
        if (rc == PLCIO_OK) {
            f->cmd->items[0].tag = f->tags[t].name;
            f->cmd->items[0].tag_len = strlen(f->tags[t].name);
        }
    }
    if (rc != PLCIO_OK) {
        refuse(f, in, why[0] ? why : plcio_strerror(rc));
        return;
    }
    mqtt_command_run(f->m, f->cmd, in->response_topic ? in->response_topic : f->reply_topic, in->correlation,
                     in->correlation_len);
}

/* ---- state ---- */

static void json_close(void *state)
{
    json_fmt *f = state;
    if (!f) return;
    for (size_t t = 0; t < f->tag_count; t++) {
        if (f->topics) free(f->topics[t]);
        if (f->set_topics) free(f->set_topics[t]);
    }
    for (size_t i = 0; i < f->group_count; i++) {
        free(f->groups[i].topic);
        free(f->groups[i].values);
        free(f->groups[i].bad);
    }
    free(f->topics);
    free(f->set_topics);
    free(f->groups);
    free(f->tag_group);
    free(f->last_ns);
    free(f->status_topic);
    free(f->command_topic);
    free(f->reply_topic);
    free(f->text);
    free(f->payload);
    free(f->cmd);
    free(f);
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static int open_groups(json_fmt *f)
{
    f->tag_group = calloc(f->tag_count + 1, sizeof *f->tag_group);
    f->groups = calloc(f->tag_count + 1, sizeof *f->groups);
    if (!f->tag_group || !f->groups) return PLCIO_ENOMEM;
    for (size_t t = 0; t < f->tag_count; t++) {
        const plcio_sink_tag *tag = &f->tags[t];
        size_t g = 0;
        while (g < f->group_count && !(same(f->groups[g].device, tag->device) && same(f->groups[g].group, tag->group)))
            g++;
        if (g == f->group_count) {
            group_doc *d = &f->groups[f->group_count++];
            d->device = tag->device;
            d->group = tag->group;
            d->topic = mqtt_topic_render(f->c->group_topic, tag->device, tag->group, NULL, mqtt_client_id(f->m));
            if (!d->topic) return PLCIO_ENOMEM;
        }
        f->tag_group[t] = g;
    }
    return PLCIO_OK;
}

static int json_open(mqtt_out *m, void **state, char *err, size_t cap)
{
    (void)err;
    (void)cap;
    json_fmt *f = calloc(1, sizeof *f);
    if (!f) return PLCIO_ENOMEM;
    *state = f;
    f->m = m;
    f->c = mqtt_spec(m);
    f->tags = mqtt_tags(m, &f->tag_count);
    const char *id = mqtt_client_id(m);
    f->status_topic = mqtt_topic_render(f->c->status_topic, NULL, NULL, NULL, id);
    f->command_topic = mqtt_topic_render(f->c->command_topic, NULL, NULL, NULL, id);
    f->reply_topic = mqtt_topic_render(f->c->reply_topic, NULL, NULL, NULL, id);
    f->last_ns = calloc(f->tag_count + 1, sizeof *f->last_ns);
    f->text = malloc(TEXT_CAP);
    f->payload = malloc(PAYLOAD_CAP);
    f->cmd = malloc(sizeof *f->cmd);
    f->set_topics = calloc(f->tag_count + 1, sizeof *f->set_topics);
    if (f->c->per_tag) f->topics = calloc(f->tag_count + 1, sizeof *f->topics);
    bool ok = f->status_topic && f->command_topic && f->reply_topic && f->last_ns && f->text && f->payload && f->cmd &&
              f->set_topics && (f->topics || !f->c->per_tag);
    for (size_t t = 0; ok && t < f->tag_count; t++) {
        const plcio_sink_tag *tag = &f->tags[t];
        char *topic = mqtt_topic_render(f->c->topic, tag->device, tag->group, tag->name, id);
        ok = topic != NULL;
        if (ok && mqtt_tag_writable(m, t)) {
            size_t n = strlen(topic) + 5;
            f->set_topics[t] = malloc(n);
            ok = f->set_topics[t] != NULL;
            if (ok) snprintf(f->set_topics[t], n, "%s/set", topic);
        }
        if (f->topics)
            f->topics[t] = topic;
        else
            free(topic);
    }
    if (ok && f->c->group_topic && open_groups(f) != PLCIO_OK) ok = false;
    if (!ok) {
        json_close(f);
        *state = NULL;
        return PLCIO_ENOMEM;
    }
    return PLCIO_OK;
}

const mqtt_format mqtt_format_json = {
    .name = "json",
    .open = json_open,
    .close = json_close,
    .will = json_will,
    .on_connect = json_connect,
    .on_events = json_events,
    .on_message = json_message,
    .on_stop = json_stop,
};
