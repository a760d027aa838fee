/* The Sparkplug B edge node (src/mqtt/sparkplug.h), sans-I/O: what it
 * publishes for the engine's events (births with names, aliases and
 * datatypes; data by alias only; deaths), bdSeq and seq counting and
 * wrapping, rebirth, DCMD writes (writable tags only, by alias or name, wrong
 * types refused), the primary host's STATE, history while offline, and bad
 * input. Payloads are read back with the node's own decoder here; the foreign
 * decoder (Tahu's sparkplug-payload) checks them in tests/sparkplug. */
#include <stdlib.h>
#include <string.h>

#include "mqtt/sparkplug.h"
#include "plcio/shm.h"
#include "plcio_test.h"

#define MAX_MSGS 1024

typedef struct msg {
    char topic[SPB_TOPIC_MAX];
    uint8_t *payload;
    size_t len;
    int qos;
} msg;

typedef struct capture {
    msg msgs[MAX_MSGS];
    size_t count;
    size_t writes;
    size_t write_tag;
    char write_text[128];
} capture;

static int emit(void *ctx, const char *topic, const uint8_t *payload, size_t len, int qos, bool retain)
{
    capture *c = ctx;
    assert_false(retain);
    assert_true(c->count < MAX_MSGS);
    msg *m = &c->msgs[c->count++];
    (void)snprintf(m->topic, sizeof m->topic, "%s", topic);
    m->payload = malloc(len ? len : 1);
    assert_non_null(m->payload);
    memcpy(m->payload, payload, len);
    m->len = len;
    m->qos = qos;
    return 0;
}

static void on_write(void *ctx, size_t tag, const char *text)
{
    capture *c = ctx;
    c->writes++;
    c->write_tag = tag;
    (void)snprintf(c->write_text, sizeof c->write_text, "%s", text);
}

static void reset(capture *c)
{
    for (size_t i = 0; i < c->count; i++)
        free(c->msgs[i].payload);
    c->count = 0;
    c->writes = 0;
}

/* Two devices: plc1 with REAL, INT, BOOL (bit 3), STRING[10]; plc2 with a DINT. */
static const plcio_sink_tag tags[] = {
    {.name = "Level", .device = "plc1", .group = "g", .type = PLCIO_TYPE_REAL, .size = 4},
    {.name = "Temp", .device = "plc1", .group = "g", .type = PLCIO_TYPE_INT, .size = 2},
    {.name = "Run", .device = "plc1", .group = "g", .type = PLCIO_TYPE_BOOL, .bit = 3, .size = 1},
    {.name = "Recipe", .device = "plc1", .group = "g", .type = PLCIO_TYPE_STRING, .length = 10, .size = 12},
    {.name = "Count", .device = "plc2", .group = "g", .type = PLCIO_TYPE_DINT, .size = 4},
};
#define TAG_COUNT (sizeof tags / sizeof tags[0])

static const uint8_t real_1_5[] = {0x3f, 0xc0, 0x00, 0x00}; /* 1.5f */
static const uint8_t int_m7[] = {0xff, 0xf9};               /* -7 */
static const uint8_t bit3[] = {0x08};
static const uint8_t recipe[] = {10, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0};
static const uint8_t dint_42[] = {0, 0, 0, 42};

static plcio_sink_event tag_ev(size_t tag, const uint8_t *v, size_t size)
{
    return (plcio_sink_event){.kind = PLCIO_SINK_TAG,
                              .tag = tag,
                              .value = v,
                              .size = size,
                              .quality = PLCIO_SHM_QUALITY_GOOD,
                              .changed = true,
                              .read_ns = 1700000000000000000ull,
                              .changed_ns = 1700000000000000000ull};
}

static void feed(spb_node *n, const plcio_sink_event *evs, size_t count)
{
    assert_int_equal(spb_node_on_events(n, evs, count), PLCIO_OK);
}

static void device_state(spb_node *n, size_t dev, bool up)
{
    plcio_sink_event ev = {.kind = PLCIO_SINK_DEVICE_STATE, .device = dev, .connected = up};
    feed(n, &ev, 1);
}

static void round_of(spb_node *n, const plcio_sink_event *tagevs, size_t count)
{
    plcio_sink_event evs[8];
    evs[0] = (plcio_sink_event){.kind = PLCIO_SINK_ROUND_START};
    memcpy(&evs[1], tagevs, count * sizeof *tagevs);
    evs[count + 1] = (plcio_sink_event){.kind = PLCIO_SINK_ROUND_END};
    feed(n, evs, count + 2);
}

static void decode(const msg *m, spb_command *c)
{
    plcio_error e;
    assert_int_equal(spb_command_decode(m->payload, m->len, c, &e), PLCIO_OK);
}

static const char *const writable[] = {"Temp", "Rec*"};

static spb_node *make(capture *c, const char *host, size_t history)
{
    spb_node_config cfg = {.group_id = "plant",
                           .node_id = "edge1",
                           .primary_host = host,
                           .writable = writable,
                           .writable_count = 2,
                           .history_max = history};
    spb_node *n = NULL;
    plcio_error e;
    assert_int_equal(spb_node_new(&cfg, tags, TAG_COUNT, emit, on_write, c, &n, &e), PLCIO_OK);
    return n;
}

static void connect_node(spb_node *n, unsigned want_bd)
{
    char topic[SPB_TOPIC_MAX];
    const uint8_t *p;
    size_t len;
    assert_int_equal(spb_node_will(n, topic, &p, &len), PLCIO_OK);
    assert_string_equal(topic, "spBv1.0/plant/NDEATH/edge1");
    spb_command c;
    plcio_error e;
    assert_int_equal(spb_command_decode(p, len, &c, &e), PLCIO_OK);
    assert_false(c.has_seq); /* NDEATH carries no seq */
    assert_int_equal(c.metric_count, 1);
    assert_string_equal(c.metrics[0].name, "bdSeq");
    assert_int_equal(c.metrics[0].datatype, SPB_INT64);
    assert_int_equal(c.metrics[0].u, want_bd);
    spb_command_free(&c);
    assert_int_equal(spb_node_connected(n, 0), PLCIO_OK);
}

static void test_births_and_data(void **state)
{
    (void)state;
    static capture c;
    spb_node *n = make(&c, NULL, 0);
    device_state(n, 0, true);
    assert_int_equal(c.count, 0); /* not connected: nothing published */
    connect_node(n, 0);
    /* NBIRTH seq 0 with bdSeq 0 and Node Control/Rebirth; DBIRTH plc1 (up), not plc2 */
    assert_int_equal(c.count, 2);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/NBIRTH/edge1");
    spb_command p;
    decode(&c.msgs[0], &p);
    assert_int_equal(p.seq, 0);
    assert_int_equal(p.metric_count, 2);
    assert_string_equal(p.metrics[0].name, "bdSeq");
    assert_int_equal(p.metrics[0].u, 0);
    assert_string_equal(p.metrics[1].name, "Node Control/Rebirth");
    assert_int_equal(p.metrics[1].datatype, SPB_BOOLEAN);
    spb_command_free(&p);
    assert_string_equal(c.msgs[1].topic, "spBv1.0/plant/DBIRTH/edge1/plc1");
    decode(&c.msgs[1], &p);
    assert_int_equal(p.seq, 1);
    assert_int_equal(p.metric_count, 4);
    static const unsigned want_dt[] = {SPB_FLOAT, SPB_INT16, SPB_BOOLEAN, SPB_STRING};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(p.metrics[i].name, tags[i].name);
        assert_int_equal(p.metrics[i].alias, SPB_ALIAS_BASE + i);
        assert_int_equal(p.metrics[i].datatype, want_dt[i]);
        assert_true(p.metrics[i].is_null); /* not read yet */
    }
    spb_command_free(&p);
    reset(&c);

    plcio_sink_event evs[] = {tag_ev(0, real_1_5, 4), tag_ev(1, int_m7, 2), tag_ev(2, bit3, 1),
                              tag_ev(3, recipe, sizeof recipe), tag_ev(4, dint_42, 4)};
    round_of(n, evs, 5);
    /* DDATA for plc1 only (plc2 was never born), by alias, no names */
    assert_int_equal(c.count, 1);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/DDATA/edge1/plc1");
    decode(&c.msgs[0], &p);
    assert_int_equal(p.seq, 2);
    assert_int_equal(p.metric_count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_null(p.metrics[i].name);
        assert_false(p.metrics[i].has_datatype);
        assert_int_equal(p.metrics[i].alias, SPB_ALIAS_BASE + i);
        assert_false(p.metrics[i].historical);
    }
    assert_int_equal(p.metrics[0].kind, SPB_VAL_FLOAT);
    assert_true(p.metrics[0].f == 1.5);
    assert_int_equal(p.metrics[1].kind, SPB_VAL_INT);
    assert_int_equal(p.metrics[1].u, 0xfffffff9u); /* -7, two's complement in uint32 */
    assert_int_equal(p.metrics[2].kind, SPB_VAL_BOOL);
    assert_true(p.metrics[2].b);
    assert_string_equal(p.metrics[3].s, "abc");
    spb_command_free(&p);
    reset(&c);

    /* plc2 connects: its DBIRTH carries the value already read */
    device_state(n, 1, true);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/DBIRTH/edge1/plc2");
    decode(&c.msgs[0], &p);
    assert_int_equal(p.seq, 3);
    assert_int_equal(p.metrics[0].u, 42);
    assert_int_equal(p.metrics[0].datatype, SPB_INT32);
    spb_command_free(&p);
    reset(&c);

    /* unchanged values: nothing; plc1 lost: DDEATH with the next seq */
    plcio_sink_event same = tag_ev(0, real_1_5, 4);
    same.changed = false;
    round_of(n, &same, 1);
    assert_int_equal(c.count, 0);
    device_state(n, 0, false);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/DDEATH/edge1/plc1");
    decode(&c.msgs[0], &p);
    assert_int_equal(p.seq, 4);
    assert_int_equal(p.metric_count, 0);
    spb_command_free(&p);
    reset(&c);
    /* a stale value of a dead device: no DDATA until it is born again */
    plcio_sink_event stale = tag_ev(0, real_1_5, 4);
    stale.quality = PLCIO_SHM_QUALITY_STALE;
    round_of(n, &stale, 1);
    assert_int_equal(c.count, 0);
    device_state(n, 0, true);
    assert_int_equal(c.count, 1);
    decode(&c.msgs[0], &p);
    assert_true(p.metrics[0].f == 1.5);
    spb_command_free(&p);
    reset(&c);
    spb_node_free(n);
}

static void test_seq_and_bdseq_wrap(void **state)
{
    (void)state;
    static capture c;
    spb_node *n = make(&c, NULL, 0);
    device_state(n, 1, true);
    connect_node(n, 0);
    reset(&c);
    uint8_t v[4] = {0};
    for (unsigned i = 0; i < 300; i++) {
        v[3] = (uint8_t)i;
        v[2] = (uint8_t)(i >> 8);
        v[1] = 1;
        plcio_sink_event ev = tag_ev(4, v, 4);
        round_of(n, &ev, 1);
    }
    assert_int_equal(c.count, 300);
    for (unsigned i = 0; i < 300; i++) {
        spb_command p;
        decode(&c.msgs[i], &p);
        assert_int_equal(p.seq, (i + 2) % 256); /* NBIRTH 0, DBIRTH 1, then 2.. wrapping */
        spb_command_free(&p);
    }
    reset(&c);
    /* bdSeq: one more per connection, wrapping after 255 */
    for (unsigned i = 1; i < 258; i++) {
        spb_node_disconnected(n);
        connect_node(n, i % 256);
        spb_command p;
        decode(&c.msgs[0], &p);
        assert_int_equal(p.seq, 0);
        assert_int_equal(p.metrics[0].u, i % 256); /* the NBIRTH's bdSeq is the Will's */
        spb_command_free(&p);
        reset(&c);
    }
    spb_node_free(n);
}

static void send_cmd(spb_node *n, const char *topic, const spb_metric *m, size_t count, int want)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    assert_int_equal(spb_payload_encode(1, -1, m, count, &buf, &cap, &len), PLCIO_OK);
    assert_int_equal(spb_node_on_message(n, topic, buf, len, 0), want);
    free(buf);
}

static void test_commands(void **state)
{
    (void)state;
    static capture c;
    spb_node *n = make(&c, NULL, 0);
    device_state(n, 0, true);
    connect_node(n, 0);
    reset(&c);
    const char *dcmd = "spBv1.0/plant/DCMD/edge1/plc1";
    /* Temp (INT) by alias: -5 sent as Int16 two's complement */
    spb_metric w = {.alias = SPB_ALIAS_BASE + 1, .datatype = SPB_INT16, .u = (uint16_t)-5};
    send_cmd(n, dcmd, &w, 1, PLCIO_OK);
    assert_int_equal(c.writes, 1);
    assert_int_equal(c.write_tag, 1);
    assert_string_equal(c.write_text, "-5");
    /* Recipe by name (writable through the "Rec*" pattern) */
    spb_metric s = {.name = "Recipe", .alias = 0, .datatype = SPB_STRING, .s = "xyz"};
    send_cmd(n, dcmd, &s, 1, PLCIO_OK);
    assert_int_equal(c.writes, 2);
    assert_int_equal(c.write_tag, 3);
    assert_string_equal(c.write_text, "xyz");
    /* refused: not writable (Level), wrong type (a string for INT), unknown
     * alias, a tag of another device, an unknown device */
    spb_metric level = {.alias = SPB_ALIAS_BASE, .datatype = SPB_FLOAT, .f = 2};
    send_cmd(n, dcmd, &level, 1, PLCIO_OK);
    spb_metric bad_type = {.alias = SPB_ALIAS_BASE + 1, .datatype = SPB_STRING, .s = "7"};
    send_cmd(n, dcmd, &bad_type, 1, PLCIO_OK);
    spb_metric unknown = {.alias = 9999, .datatype = SPB_INT16, .u = 1};
    send_cmd(n, dcmd, &unknown, 1, PLCIO_OK);
    spb_metric other = {.alias = SPB_ALIAS_BASE + 4, .datatype = SPB_INT32, .u = 1};
    send_cmd(n, dcmd, &other, 1, PLCIO_OK);
    send_cmd(n, "spBv1.0/plant/DCMD/edge1/nosuch", &w, 1, PLCIO_OK);
    assert_int_equal(c.writes, 2);
    spb_node_stats st;
    spb_node_get_stats(n, &st);
    assert_int_equal(st.refused, 5);
    assert_int_equal(st.writes, 2);
    /* malformed payloads: an error, no write, no crash */
    static const uint8_t junk[] = {0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    assert_int_equal(spb_node_on_message(n, dcmd, junk, sizeof junk, 0), PLCIO_EPROTO);
    assert_int_equal(spb_node_on_message(n, "spBv1.0/plant/NCMD/edge1", junk, 3, 0), PLCIO_EPROTO);
    assert_int_equal(c.writes, 2);
    assert_int_equal(c.count, 0);
    /* rebirth: NBIRTH seq 0 with the same bdSeq, then the DBIRTH */
    spb_metric rb = {.name = "Node Control/Rebirth", .datatype = SPB_BOOLEAN, .b = true};
    send_cmd(n, "spBv1.0/plant/NCMD/edge1", &rb, 1, PLCIO_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/NBIRTH/edge1");
    assert_string_equal(c.msgs[1].topic, "spBv1.0/plant/DBIRTH/edge1/plc1");
    spb_command p;
    decode(&c.msgs[0], &p);
    assert_int_equal(p.seq, 0);
    assert_int_equal(p.metrics[0].u, 0);
    spb_command_free(&p);
    reset(&c);
    /* rebirth false: nothing */
    rb.b = false;
    send_cmd(n, "spBv1.0/plant/NCMD/edge1", &rb, 1, PLCIO_OK);
    assert_int_equal(c.count, 0);
    spb_node_free(n);
}

static int send_state(spb_node *n, const char *text)
{
    return spb_node_on_message(n, "spBv1.0/STATE/scada", (const uint8_t *)text, strlen(text), 0);
}

static void test_primary_host(void **state)
{
    (void)state;
    static capture c;
    spb_node *n = make(&c, "scada", 0);
    assert_int_equal(spb_node_subscription_count(n), 3);
    assert_string_equal(spb_node_subscription(n, 0), "spBv1.0/plant/NCMD/edge1");
    assert_string_equal(spb_node_subscription(n, 1), "spBv1.0/plant/DCMD/edge1/+");
    assert_string_equal(spb_node_subscription(n, 2), "spBv1.0/STATE/scada");
    device_state(n, 0, true);
    connect_node(n, 0);
    assert_int_equal(c.count, 0); /* the host is not online yet */
    assert_int_equal(send_state(n, "{\"online\" : false, \"timestamp\": 100}"), SPB_OK);
    assert_int_equal(c.count, 0);
    assert_int_equal(send_state(n, "not json"), PLCIO_EPROTO);
    assert_int_equal(send_state(n, "{\"online\": true, \"timestamp\": 200}"), SPB_OK);
    assert_int_equal(c.count, 2); /* NBIRTH, DBIRTH */
    reset(&c);
    /* an older state is ignored */
    assert_int_equal(send_state(n, "{\"online\": false, \"timestamp\": 150}"), SPB_OK);
    assert_int_equal(c.count, 0);
    /* offline: NDEATH with the bdSeq, and reconnect */
    assert_int_equal(send_state(n, "{\"online\": false, \"timestamp\": 300}"), SPB_RECONNECT);
    assert_int_equal(c.count, 1);
    assert_string_equal(c.msgs[0].topic, "spBv1.0/plant/NDEATH/edge1");
    spb_command p;
    decode(&c.msgs[0], &p);
    assert_false(p.has_seq);
    assert_int_equal(p.metrics[0].u, 0);
    spb_command_free(&p);
    reset(&c);
    /* the 2.x text form is understood too */
    connect_node(n, 1);
    assert_int_equal(send_state(n, "ONLINE"), SPB_OK);
    assert_int_equal(c.count, 2);
    reset(&c);
    spb_node_free(n);
}

static void test_history(void **state)
{
    (void)state;
    static capture c;
    spb_node *n = make(&c, NULL, 3);
    device_state(n, 0, true);
    /* offline: 4 changes of Level, the bound is 3: the oldest goes */
    uint8_t v[4][4] = {{0x3f, 0x80, 0, 0}, {0x40, 0, 0, 0}, {0x40, 0x40, 0, 0}, {0x40, 0x80, 0, 0}}; /* 1 2 3 4 */
    for (int i = 0; i < 4; i++) {
        plcio_sink_event ev = tag_ev(0, v[i], 4);
        ev.changed_ns += (uint64_t)i * 1000000u;
        round_of(n, &ev, 1);
    }
    spb_node_stats st;
    spb_node_get_stats(n, &st);
    assert_int_equal(st.history, 3);
    assert_int_equal(st.history_dropped, 1);
    assert_int_equal(c.count, 0);
    connect_node(n, 0);
    /* NBIRTH, DBIRTH (latest value 4), then one DDATA per value (a tag once
     * per message), is_historical, oldest first: 2, 3, 4 */
    assert_int_equal(c.count, 5);
    spb_command p;
    decode(&c.msgs[1], &p);
    assert_true(p.metrics[0].f == 4);
    spb_command_free(&p);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(c.msgs[2 + i].topic, "spBv1.0/plant/DDATA/edge1/plc1");
        decode(&c.msgs[2 + i], &p);
        assert_int_equal(p.metric_count, 1);
        assert_true(p.metrics[0].historical);
        assert_true(p.metrics[0].f == (double)(i + 2));
        spb_command_free(&p);
    }
    reset(&c);
    spb_node_free(n);
}

static void test_bad_config(void **state)
{
    (void)state;
    capture c = {0};
    spb_node *n = NULL;
    plcio_error e;
    spb_node_config cfg = {.group_id = "pl/ant", .node_id = "edge1"};
    assert_int_equal(spb_node_new(&cfg, tags, TAG_COUNT, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
    assert_non_null(strstr(e.text, "pl/ant"));
    cfg.group_id = "plant";
    cfg.node_id = "";
    assert_int_equal(spb_node_new(&cfg, tags, TAG_COUNT, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
    cfg.node_id = "edge#";
    assert_int_equal(spb_node_new(&cfg, tags, TAG_COUNT, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
    cfg.node_id = "edge1";
    cfg.qos = 2;
    assert_int_equal(spb_node_new(&cfg, tags, TAG_COUNT, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
    cfg.qos = 0;
    plcio_sink_tag bad = tags[0];
    bad.device = "plc+1";
    assert_int_equal(spb_node_new(&cfg, &bad, 1, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
    assert_non_null(strstr(e.text, "plc+1"));
    assert_null(n);
    /* the decoder refuses what is not a payload */
    spb_command cmd;
    static const uint8_t trunc[] = {0x08};
    assert_int_equal(spb_command_decode(trunc, sizeof trunc, &cmd, &e), PLCIO_EPROTO);
    assert_int_equal(spb_command_decode((const uint8_t *)"", 0, &cmd, &e), PLCIO_OK); /* empty = no fields */
    spb_command_free(&cmd);
}

/* "device.tag" names lose the device (it is in the topic); another namespace
 * (for NATS < 2.10) moves every topic; DCMD finds a metric by either name. */
static void test_names_and_namespace(void **state)
{
    (void)state;
    static capture c;
    static const plcio_sink_tag prefixed[] = {
        {.name = "plc1.Level", .device = "plc1", .group = "g", .type = PLCIO_TYPE_REAL, .size = 4},
        {.name = "plc1.", .device = "plc1", .group = "g", .type = PLCIO_TYPE_INT, .size = 2},
    };
    static const char *const all[] = {"*"};
    spb_node_config cfg = {
        .name_space = "spBv1-0", .group_id = "g", .node_id = "n", .writable = all, .writable_count = 1};
    spb_node *n = NULL;
    plcio_error e;
    assert_int_equal(spb_node_new(&cfg, prefixed, 2, emit, on_write, &c, &n, &e), PLCIO_OK);
    assert_string_equal(spb_node_subscription(n, 0), "spBv1-0/g/NCMD/n");
    device_state(n, 0, true);
    char topic[SPB_TOPIC_MAX];
    const uint8_t *p;
    size_t len;
    assert_int_equal(spb_node_will(n, topic, &p, &len), PLCIO_OK);
    assert_string_equal(topic, "spBv1-0/g/NDEATH/n");
    assert_int_equal(spb_node_connected(n, 0), PLCIO_OK);
    assert_int_equal(c.count, 2);
    assert_string_equal(c.msgs[1].topic, "spBv1-0/g/DBIRTH/n/plc1");
    spb_command b;
    decode(&c.msgs[1], &b);
    assert_string_equal(b.metrics[0].name, "Level");
    assert_string_equal(b.metrics[1].name, "plc1."); /* nothing after the dot: kept whole */
    spb_command_free(&b);
    spb_metric w = {.name = "Level", .datatype = SPB_FLOAT, .f = 2.5};
    send_cmd(n, "spBv1-0/g/DCMD/n/plc1", &w, 1, PLCIO_OK);
    w.name = "plc1.Level";
    send_cmd(n, "spBv1-0/g/DCMD/n/plc1", &w, 1, PLCIO_OK);
    assert_int_equal(c.writes, 2);
    assert_string_equal(c.write_text, "2.5");
    reset(&c);
    spb_node_free(n);
    cfg.name_space = "a/b";
    assert_int_equal(spb_node_new(&cfg, prefixed, 2, emit, on_write, &c, &n, &e), PLCIO_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_births_and_data),
        cmocka_unit_test(test_seq_and_bdseq_wrap),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_primary_host),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_names_and_namespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
