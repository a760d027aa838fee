/* The sync engine's plug-in interfaces, used through public headers only: a
 * driver of our own (tests/support/fake_driver: fake://, a byte array) and sinks of our own. Values
 * flow driver -> engine -> sink, writes flow back to the driver, a sink that
 * blocks or fails loses events (counted) without delaying a single cycle, and
 * what the engine cannot use (an unknown scheme, another interface version) is
 * refused with a clear error. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plcio/driver.h"
#include "plcio/plcio.h"
#include "plcio/sink.h"
#include "plcio/sync.h"
#include "fake_driver.h"
#include "plcio_test.h"
#include "sync_wait.h"

/* ---- a recording sink (inline: deterministic) ---- */

#define MAX_SEEN 64
typedef struct seen_event {
    plcio_sink_event_kind kind;
    size_t tag;
    uint8_t value[8];
    size_t size;
    int quality, reason;
    bool changed, connected;
} seen_event;

typedef struct recorder {
    const plcio_sink_tag *tags;
    size_t tag_count;
    seen_event seen[MAX_SEEN];
    size_t count;
    bool closed;
} recorder;

static int rec_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    (void)err;
    recorder *r = config;
    r->tags = tags;
    r->tag_count = tag_count;
    *state = r;
    return PLCIO_OK;
}

static int rec_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    recorder *r = state;
    for (size_t i = 0; i < count && r->count < MAX_SEEN; i++) {
        seen_event *s = &r->seen[r->count++];
        memset(s, 0, sizeof *s);
        s->kind = events[i].kind;
        s->tag = events[i].tag;
        s->size = events[i].size;
        if (events[i].size <= sizeof s->value && events[i].value) memcpy(s->value, events[i].value, events[i].size);
        s->quality = events[i].quality;
        s->reason = events[i].reason;
        s->changed = events[i].changed;
        s->connected = events[i].connected;
    }
    return PLCIO_OK;
}

static void rec_close(void *state) { ((recorder *)state)->closed = true; }

static const plcio_sink recorder_sink = {
    .abi = PLCIO_SINK_ABI,
    .name = "recorder",
    .flags = PLCIO_SINK_INLINE,
    .open = rec_open,
    .deliver = rec_deliver,
    .close = rec_close,
};

/* ---- a sink that blocks until released, or fails ---- */

typedef struct stuck {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool released;
    bool fail;
} stuck;

static int stuck_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    (void)tags;
    (void)tag_count;
    (void)err;
    *state = config;
    return PLCIO_OK;
}

static int stuck_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    (void)events;
    (void)count;
    stuck *k = state;
    if (k->fail) return PLCIO_EIO;
    pthread_mutex_lock(&k->lock);
    while (!k->released)
        pthread_cond_wait(&k->cond, &k->lock);
    pthread_mutex_unlock(&k->lock);
    return PLCIO_OK;
}

static const plcio_sink stuck_sink = {
    .abi = PLCIO_SINK_ABI,
    .name = "stuck",
    .open = stuck_open,
    .deliver = stuck_deliver,
};

static void release(stuck *k)
{
    pthread_mutex_lock(&k->lock);
    k->released = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
}

/* ---- fixtures ---- */

static const char config_yaml[] = "devices:\n"
                                  "  - name: m\n"
                                  "    url: fake://x\n"
                                  "    groups:\n"
                                  "      - interval: 1ms\n"
                                  "        tags: [{address: '0:REAL', name: Level}, {address: '4:INT', name: Count}]\n";

static int engine(const char *yaml, const plcio_sync_sink *sinks, size_t sink_count, plcio_manual_clock *clock,
                  plcio_sync_config **cfg, plcio_sync **out, plcio_error *err)
{
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, cfg, err), PLCIO_OK);
    plcio_sync_options o = {0};
    o.no_shm = true;           /* values still reach the sinks: the engine keeps its own image */
    fake_dev.inline_io = true; /* reads complete inside the cycle: cycles and reads match */
    o.drivers = fake_drivers;
    o.driver_count = 1;
    o.sinks = sinks;
    o.sink_count = sink_count;
    o.clock = plcio_manual_clock_bind(clock);
    return plcio_sync_new(*cfg, &o, out, err);
}

static void run_ms(plcio_sync *s, plcio_manual_clock *clock, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        plcio_sync_run_once(s, 0);
        clock->now_ns += PLCIO_NS_PER_MS;
    }
    plcio_sync_run_once(s, 0);
}

static size_t find(const recorder *r, size_t from, plcio_sink_event_kind kind)
{
    for (size_t i = from; i < r->count; i++)
        if (r->seen[i].kind == kind) return i;
    fail_msg("no event of kind %d after %zu", (int)kind, from);
    return 0;
}

/* ---- tests ---- */

static void test_values_flow_to_sink_and_writes_back(void **state)
{
    (void)state;
    fake_dev_reset();
    plcio_put_f32be(fake_dev.mem, 42.5f);
    plcio_put_u16be(fake_dev.mem + 4, 7);
    static recorder rec;
    memset(&rec, 0, sizeof rec);
    plcio_sync_sink sinks[] = {{&recorder_sink, &rec, 0}};
    plcio_manual_clock clock = {1000 * PLCIO_NS_PER_S};
    plcio_sync_config *cfg;
    plcio_sync *s = NULL;
    plcio_error err = {0};
    assert_int_equal(engine(config_yaml, sinks, 1, &clock, &cfg, &s, &err), PLCIO_OK);
    assert_int_equal(rec.tag_count, 2);
    assert_string_equal(rec.tags[0].name, "Level");
    assert_string_equal(rec.tags[1].device, "m");
    run_ms(s, &clock, 2);

    /* The device came up, then a round with both values, good and changed. */
    size_t up = find(&rec, 0, PLCIO_SINK_DEVICE_STATE);
    assert_true(rec.seen[up].connected);
    size_t start = find(&rec, up, PLCIO_SINK_ROUND_START);
    size_t level = find(&rec, start, PLCIO_SINK_TAG);
    assert_int_equal(rec.seen[level].tag, 0);
    assert_int_equal(rec.seen[level].size, 4);
    assert_memory_equal(rec.seen[level].value, fake_dev.mem, 4);
    assert_int_equal(rec.seen[level].quality, 1);
    assert_true(rec.seen[level].changed);
    assert_int_equal(rec.seen[level + 1].tag, 1);
    assert_int_equal(rec.seen[level + 2].kind, PLCIO_SINK_ROUND_END);

    /* The next round: the same values, not changed. */
    size_t next = find(&rec, level + 3, PLCIO_SINK_TAG);
    assert_false(rec.seen[next].changed);

    /* A write goes to the driver, and the sink hears the request and the result. */
    size_t before = rec.count;
    plcio_test_write wr = {0};
    assert_int_equal(plcio_sync_write(s, "Count", "300", 0, plcio_test_on_write, &wr, &err), PLCIO_OK);
    assert_int_equal(wr.calls, 1);
    assert_int_equal(wr.err, PLCIO_OK);
    assert_int_equal(plcio_get_u16be(fake_dev.mem + 4), 300);
    size_t req = find(&rec, before, PLCIO_SINK_WRITE_REQUEST);
    assert_int_equal(rec.seen[req].tag, 1);
    assert_int_equal(rec.seen[req].size, 2);
    assert_int_equal(plcio_get_u16be(rec.seen[req].value), 300);
    /* The acknowledged value is the tag's at once (changed), and the round
     * ends there, before the writer hears "done". */
    size_t written = find(&rec, req, PLCIO_SINK_TAG);
    assert_int_equal(rec.seen[written].tag, 1);
    assert_true(rec.seen[written].changed);
    assert_int_equal(plcio_get_u16be(rec.seen[written].value), 300);
    size_t res = find(&rec, written, PLCIO_SINK_WRITE_RESULT);
    assert_int_equal(rec.seen[res].reason, PLCIO_OK);
    assert_int_equal(rec.seen[res + 1].kind, PLCIO_SINK_ROUND_END);

    /* The next read finds the same value: not a change. */
    rec.count = 0;
    run_ms(s, &clock, 1);
    size_t count = find(&rec, 0, PLCIO_SINK_TAG) + 1;
    assert_int_equal(rec.seen[count].tag, 1);
    assert_false(rec.seen[count].changed);
    assert_int_equal(plcio_get_u16be(rec.seen[count].value), 300);

    plcio_sink_stats st;
    assert_int_equal(plcio_sync_sink_count(s), 1); /* no_shm: no shared-memory sink */
    assert_int_equal(plcio_sync_sink_stats(s, 0, &st), PLCIO_OK);
    assert_string_equal(st.name, "recorder");
    assert_true(st.delivered > 0);
    assert_int_equal(st.dropped, 0);
    plcio_sync_free(s);
    assert_true(rec.closed);
    plcio_sync_config_free(cfg);
}

/* Cycles completed in `ms` of the manual clock with these sinks. */
static uint64_t cycles_with(const plcio_sync_sink *sinks, size_t n, unsigned ms, plcio_sync **keep,
                            plcio_sync_config **cfg)
{
    plcio_manual_clock clock = {1000 * PLCIO_NS_PER_S};
    plcio_error err;
    plcio_sync *s = NULL;
    assert_int_equal(engine(config_yaml, sinks, n, &clock, cfg, &s, &err), PLCIO_OK);
    fake_dev.reads = 0;
    run_ms(s, &clock, ms);
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_group_stats(s, 0, &st), PLCIO_OK);
    assert_int_equal(st.cycles, (uint64_t)fake_dev.reads);
    *keep = s;
    return st.cycles;
}

static void test_blocked_or_failing_sink_never_delays_polling(void **state)
{
    (void)state;
    plcio_sync_config *cfg;
    plcio_sync *s;
    uint64_t alone = cycles_with(NULL, 0, 200, &s, &cfg);
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    assert_true(alone >= 150);

    stuck blocked = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
    stuck failing = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, true, true};
    plcio_sync_sink sinks[] = {{&stuck_sink, &blocked, 8}, {&stuck_sink, &failing, 8}};
    uint64_t with = cycles_with(sinks, 2, 200, &s, &cfg);
    assert_int_equal(with, alone); /* not one cycle lost to the sinks */

    plcio_sink_stats st;
    assert_int_equal(plcio_sync_sink_stats(s, 0, &st), PLCIO_OK);
    assert_true(st.dropped > 0); /* 4 events a round, a queue of 8, a sink that never takes them */
    assert_true(st.queued <= 8);
    assert_int_equal(st.delivered, 0);
    assert_true(st.events >= st.dropped + st.queued);
    release(&blocked);
    /* The failing sink: every batch it was handed is counted failed, none delivered. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(plcio_sync_sink_stats(s, 1, &st), PLCIO_OK);
        if (st.failed + st.dropped == st.events && st.queued == 0) break;
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    assert_true(st.failed > 0);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(st.failed + st.dropped, st.events);
    plcio_sync_free(s); /* joins the sink threads */
    plcio_sync_config_free(cfg);
}

static void test_what_the_engine_cannot_use_is_refused(void **state)
{
    (void)state;
    plcio_manual_clock clock = {0};
    plcio_sync_config *cfg;
    plcio_sync *s = NULL;
    plcio_error err = {0};
    /* A scheme no registered driver serves. */
    const char *yaml = "devices:\n  - url: opc://h\n    groups: [{tags: [{address: '0:INT'}]}]\n";
    assert_int_equal(engine(yaml, NULL, 0, &clock, &cfg, &s, &err), PLCIO_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.text, "unknown kind of device 'opc://': no driver registered for it"));
    plcio_sync_config_free(cfg);

    /* A driver table of another interface version. */
    plcio_driver future = fake_driver;
    future.abi = PLCIO_DRIVER_ABI + 1;
    const plcio_driver *const list[] = {&future};
    assert_int_equal(plcio_sync_config_parse(config_yaml, strlen(config_yaml), "t.yaml", NULL, &cfg, &err), PLCIO_OK);
    plcio_sync_options o = {0};
    o.no_shm = true;
    o.drivers = list;
    o.driver_count = 1;
    assert_int_equal(plcio_sync_new(cfg, &o, &s, &err), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "interface version"));

    /* A sink of another interface version. */
    plcio_sink old = recorder_sink;
    old.abi = 0;
    recorder rec;
    plcio_sync_sink sinks[] = {{&old, &rec, 0}};
    o.drivers = fake_drivers;
    o.sinks = sinks;
    o.sink_count = 1;
    assert_int_equal(plcio_sync_new(cfg, &o, &s, &err), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "sink 'recorder': interface version 0"));
    assert_null(s);
    plcio_sync_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_flow_to_sink_and_writes_back),
        cmocka_unit_test(test_blocked_or_failing_sink_never_delays_polling),
        cmocka_unit_test(test_what_the_engine_cannot_use_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
