/* Sync engine core with a fake device (test double driver) and a manual clock:
 * scheduling, quality, reconnect backoff, late cycles, deadband, writes (API and
 * shared-memory ring), and configuration errors. Protocol drivers are tested
 * against real servers in tests/interop. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/driver.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio/value.h"
#include "fake_driver.h"
#include "plcio_test.h"
#include "sync_wait.h"

/* ---- fixtures ---- */

typedef struct world {
    plcio_manual_clock clock;
    plcio_sync_config *cfg;
    plcio_sync *sync;
    char shm[64];
    char dir[64];
} world;

static const char tank_db[] = "DATA_BLOCK \"Tank\"\n"
                              "{ S7_Optimized_Access := 'FALSE' }\n"
                              "VERSION : 0.1\n"
                              "   STRUCT\n"
                              "      Level : Real;\n"
                              "      Pump : Bool;\n"
                              "      Valve : Bool;\n"
                              "      Count : Int;\n"
                              "      Motor : Struct\n"
                              "         Speed : Real;\n"
                              "         Run : Bool;\n"
                              "      END_STRUCT;\n"
                              "   END_STRUCT;\n"
                              "BEGIN\n"
                              "END_DATA_BLOCK\n";
/* Offsets: Level 0, Pump 4.0, Valve 4.1, Count 6, Motor.Speed 8, Motor.Run 12.0; size 14 */

static int make_world(world *w, const char *groups_yaml)
{
    memset(w, 0, sizeof *w);
    fake_dev_reset();
    w->clock.now_ns = 1000 * PLCIO_NS_PER_S;
    snprintf(w->shm, sizeof w->shm, "/plcio-test-sync-%d", (int)getpid());
    snprintf(w->dir, sizeof w->dir, "/tmp/plcio-sync-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/tank.db", w->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(tank_db, f);
    assert_int_equal(fclose(f), 0);
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "layouts: [tank.db]\n"
             "devices:\n"
             "  - name: plc\n"
             "    url: fake://x\n"
             "    reconnect: {min: 100ms, max: 400ms}\n"
             "    stale-after: 3\n"
             "    groups:\n%s",
             groups_yaml);
    plcio_error err = {0};
    int rc = plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", w->dir, &w->cfg, &err);
    if (rc != PLCIO_OK) fail_msg("config: %s", err.text);
    plcio_sync_options o = {0};
    o.drivers = fake_drivers;
    o.driver_count = 1;
    o.clock = plcio_manual_clock_bind(&w->clock);
    o.shm_name = w->shm;
    rc = plcio_sync_new(w->cfg, &o, &w->sync, &err);
    if (rc != PLCIO_OK) print_error("engine: %s\n", err.text);
    return rc;
}

static void free_world(world *w)
{
    plcio_sync_free(w->sync);
    plcio_sync_config_free(w->cfg);
    char path[128];
    snprintf(path, sizeof path, "%s/tank.db", w->dir);
    unlink(path);
    rmdir(w->dir);
}

/* Advance the manual clock in steps, running the loop at each. */
static void run_ms(world *w, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        plcio_sync_run_once(w->sync, 0);
        w->clock.now_ns += PLCIO_NS_PER_MS;
    }
    plcio_sync_run_once(w->sync, 0);
}

static plcio_shm_value get(plcio_shm_reader *r, const char *name)
{
    plcio_shm_value v;
    assert_int_equal(plcio_shm_reader_refresh(r), PLCIO_OK);
    if (plcio_shm_reader_get_by_name(r, name, &v) != PLCIO_OK) fail_msg("no tag %s", name);
    return v;
}

static plcio_shm_reader *reader(world *w)
{
    plcio_shm_reader *r;
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(w->shm, &r, &msg), PLCIO_OK);
    return r;
}

/* ---- tests ---- */

static void test_whole_db_reaches_shared_memory(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {name: fast, interval: 10ms, db: 10}\n"), PLCIO_OK);
    assert_int_equal(plcio_sync_tag_count(w.sync), 6);
    plcio_put_f32be(fake_dev.mem + 0, 42.5f);
    fake_dev.mem[4] = 0x02; /* Valve */
    plcio_put_u16be(fake_dev.mem + 6, (uint16_t)-7);
    plcio_put_f32be(fake_dev.mem + 8, 1450.0f);
    fake_dev.mem[12] = 0x01;
    plcio_shm_reader *r = reader(&w);
    assert_int_equal(get(r, "Level").quality, PLCIO_SHM_QUALITY_NONE);
    run_ms(&w, 25);
    plcio_shm_value v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_true(v.as_double == 42.5);
    assert_int_equal(get(r, "Pump").as_int, 0);
    assert_int_equal(get(r, "Valve").as_int, 1);
    assert_int_equal(get(r, "Count").as_int, -7);
    assert_true(get(r, "Motor.Speed").as_double == 1450.0);
    assert_int_equal(get(r, "Motor.Run").as_int, 1);
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_group_stats(w.sync, 0, &st), PLCIO_OK);
    assert_int_equal(st.cycles, 2);
    assert_int_equal(st.late, 0);
    assert_int_equal(st.interval_ms, 10);
    assert_int_equal(st.tags, 6);
    assert_int_equal(fake_dev.overlaps, 0);
    assert_int_equal(plcio_sync_device_stats(w.sync, 0, &st), PLCIO_OK);
    assert_true(st.connected);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_selected_members_addresses_and_struct(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - db: 10\n"
                                    "        interval: 5ms\n"
                                    "        tags: [Level, {member: Motor}, {address: '100:DINT', name: extra}]\n"),
                     PLCIO_OK);
    /* Motor expands to its two leaves. */
    assert_int_equal(plcio_sync_tag_count(w.sync), 4);
    plcio_put_u32be(fake_dev.mem + 100, 123456);
    plcio_shm_reader *r = reader(&w);
    run_ms(&w, 6);
    assert_int_equal(get(r, "extra").as_int, 123456);
    assert_int_equal(get(r, "Motor.Run").quality, PLCIO_SHM_QUALITY_GOOD);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_refused_then_up_then_lost(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10}\n"), PLCIO_OK);
    fake_dev.refuse = true;
    plcio_shm_reader *r = reader(&w);
    run_ms(&w, 50);
    plcio_shm_value v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_ERROR); /* never read: error, not stale */
    assert_int_equal(v.error, PLCIO_ECONNREFUSED);
    assert_int_equal(fake_dev.reads, 0);
    plcio_sync_stats st;
    plcio_sync_device_stats(w.sync, 0, &st);
    assert_false(st.connected);
    assert_int_equal(st.last_error, PLCIO_ECONNREFUSED);
    assert_string_equal(st.last_message, "fake: refused");
    /* Backoff: attempts at 0, 100, 300 (then 700, capped at 400 steps): by 50 ms only one. */
    assert_int_equal(st.errors, 1);
    run_ms(&w, 300);
    plcio_sync_device_stats(w.sync, 0, &st);
    assert_int_equal(st.errors, 3);

    fake_dev.refuse = false;
    plcio_put_f32be(fake_dev.mem, 7.0f);
    run_ms(&w, 450); /* next attempt at 700 */
    v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_true(v.as_double == 7.0);
    uint64_t changed = v.changed_real_ns, quality_changed = v.quality_changed_real_ns;
    assert_true(changed != 0);

    /* The connection breaks: values stay, marked stale, and come back good.
     * The value never changed: its change time stays; the quality's moves. */
    fake_dev.connected = false;
    plcio_sync_device_down(fake_dev.dev, PLCIO_ECLOSED, "fake: reset by peer");
    run_ms(&w, 1);
    v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_STALE);
    assert_true(v.as_double == 7.0);
    assert_int_equal(v.changed_real_ns, changed);
    assert_true(v.quality_changed_real_ns > quality_changed);
    quality_changed = v.quality_changed_real_ns;
    run_ms(&w, 150); /* backoff was reset to 100 ms by the good connection */
    v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_int_equal(v.changed_real_ns, changed);
    assert_true(v.quality_changed_real_ns > quality_changed);
    plcio_sync_device_stats(w.sync, 0, &st);
    assert_true(st.connected);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_slow_device_late_cycles_never_overlap(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10}\n"), PLCIO_OK);
    fake_dev.read_delay_ms = 35; /* each read takes 3.5 intervals */
    plcio_shm_reader *r = reader(&w);
    run_ms(&w, 200);
    assert_int_equal(fake_dev.overlaps, 0);
    plcio_sync_stats st;
    plcio_sync_group_stats(w.sync, 0, &st);
    assert_true(st.late >= 10);
    assert_true(st.cycles >= 4);
    assert_true(st.cycle_min_ns >= 35 * PLCIO_NS_PER_MS);
    /* A device that stops answering while connected: stale after 3 missed
     * cycles of its recent refresh period (about 40 ms here). */
    fake_dev.read_delay_ms = 100000;
    run_ms(&w, 200);
    assert_int_equal(get(r, "Level").quality, PLCIO_SHM_QUALITY_STALE);
    plcio_shm_reader_free(r);
    free_world(&w);
}

/* A device still connecting for the first time after stale-after intervals:
 * its never-read tags are in error "not connected" (not an error 0, which an
 * MQTT output printed as reason "success"); then good once it is up. */
static void test_slow_first_connect_is_not_connected(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10}\n"), PLCIO_OK);
    fake_dev.connect_delay_ms = 100;
    plcio_shm_reader *r = reader(&w);
    run_ms(&w, 60);
    plcio_shm_value v = get(r, "Level");
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_ERROR);
    assert_int_equal(v.error, PLCIO_ENOTCONN);
    run_ms(&w, 100);
    assert_int_equal(get(r, "Level").quality, PLCIO_SHM_QUALITY_GOOD);
    plcio_shm_reader_free(r);
    free_world(&w);
}

/* Run `ms` milliseconds sampling Level's quality each one; count the turns
 * from good to stale. */
static int run_counting_stale_turns(world *w, plcio_shm_reader *r, unsigned ms)
{
    int turns = 0;
    plcio_shm_quality last = get(r, "Level").quality;
    for (unsigned i = 0; i < ms; i++) {
        run_ms(w, 1);
        plcio_shm_quality q = get(r, "Level").quality;
        if (q == PLCIO_SHM_QUALITY_STALE && last == PLCIO_SHM_QUALITY_GOOD) turns++;
        last = q;
    }
    return turns;
}

static uint64_t late_cycles(world *w, uint64_t *cycles)
{
    plcio_sync_stats st;
    plcio_sync_group_stats(w->sync, 0, &st);
    if (cycles) *cycles = st.cycles;
    return st.late;
}

/* Overload (issue 21): the loop keeps up only every 4th tick. Late cycles are
 * counted, missed ticks are skipped, not queued; the values do not flip
 * between stale and good (each flip is work for every sink); when the load
 * drops the group is back on its grid; a device that then stops answering
 * still turns stale after stale-after intervals. */
static void test_overload_degrades_and_recovers(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10}\n"), PLCIO_OK);
    plcio_shm_reader *r = reader(&w);
    run_ms(&w, 100); /* connected, reading on time */
    assert_int_equal(get(r, "Level").quality, PLCIO_SHM_QUALITY_GOOD);
    uint64_t cycles0, late0;

    fake_dev.read_delay_ms = 38; /* every read ends almost 4 intervals later */
    /* At the onset the group has only known 10 ms periods: at most one turn
     * while it learns (the engine before issue 21 turned stale on every read) */
    assert_true(run_counting_stale_turns(&w, r, 200) <= 1);
    late0 = late_cycles(&w, &cycles0);
    assert_int_equal(run_counting_stale_turns(&w, r, 1000), 0);
    uint64_t cycles1, late1 = late_cycles(&w, &cycles1);
    assert_int_equal(fake_dev.overlaps, 0);
    assert_true(late1 - late0 >= 60);     /* about 3 of every 4 ticks */
    assert_true(cycles1 - cycles0 >= 20); /* about one read per 40 ms */
    assert_true(cycles1 - cycles0 <= 30);

    fake_dev.read_delay_ms = 0; /* the load drops */
    run_ms(&w, 100);
    uint64_t cycles2, late2 = late_cycles(&w, &cycles2);
    assert_int_equal(run_counting_stale_turns(&w, r, 500), 0);
    uint64_t cycles3, late3 = late_cycles(&w, &cycles3);
    assert_int_equal(late3, late2);       /* on the grid again: no late tick */
    assert_true(cycles3 - cycles2 >= 49); /* one read per interval */

    /* The refresh period has come back to the interval: a device that stops
     * answering is stale after about stale-after (3) intervals again. */
    fake_dev.read_delay_ms = 100000;
    run_ms(&w, 45);
    assert_int_equal(get(r, "Level").quality, PLCIO_SHM_QUALITY_STALE);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_deadband(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10, tags: [{member: Level, deadband: 0.5}]}\n"),
                     PLCIO_OK);
    plcio_shm_reader *r = reader(&w);
    plcio_put_f32be(fake_dev.mem, 10.0f);
    run_ms(&w, 11);
    assert_true(get(r, "Level").as_double == 10.0);
    plcio_put_f32be(fake_dev.mem, 10.25f); /* inside the deadband: not a change */
    run_ms(&w, 10);
    assert_true(get(r, "Level").as_double == 10.0);
    plcio_put_f32be(fake_dev.mem, 10.75f);
    run_ms(&w, 10);
    assert_true(get(r, "Level").as_double == 10.75);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_writes_by_name(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10}\n"), PLCIO_OK);
    plcio_error err = {0};
    plcio_test_write res = {0};
    /* Device not up yet: a write without queueing fails at once, reported once. */
    assert_int_equal(plcio_sync_write(w.sync, "Level", "3.25", 0, plcio_test_on_write, &res, &err), PLCIO_OK);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.err, PLCIO_ENOTCONN);
    assert_non_null(strstr(res.msg, "device plc is not connected"));
    assert_int_equal(fake_dev.writes, 0);
    /* Queued: done once the device is up. */
    memset(&res, 0, sizeof res);
    assert_int_equal(plcio_sync_write(w.sync, "Level", "3.25", 1000, plcio_test_on_write, &res, &err), PLCIO_OK);
    assert_int_equal(res.calls, 0);
    run_ms(&w, 1);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.err, PLCIO_OK);
    assert_true(plcio_get_f32be(fake_dev.mem) == 3.25f);
    /* A BOOL write touches only its bit. */
    fake_dev.mem[4] = 0xFD; /* every bit but Valve */
    memset(&res, 0, sizeof res);
    assert_int_equal(plcio_sync_write(w.sync, "Valve", "true", 0, plcio_test_on_write, &res, &err), PLCIO_OK);
    assert_int_equal(fake_dev.mem[4], 0xFF);
    assert_int_equal(plcio_sync_write(w.sync, "Pump", "false", 0, plcio_test_on_write, &res, &err), PLCIO_OK);
    assert_int_equal(fake_dev.mem[4], 0xFE);
    /* Values are checked before anything is sent. */
    int before = fake_dev.writes;
    assert_int_equal(plcio_sync_write(w.sync, "Count", "70000", 0, plcio_test_on_write, &res, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "Count"));
    assert_non_null(strstr(err.text, "INT"));
    assert_int_equal(plcio_sync_write(w.sync, "Pump", "maybe", 0, plcio_test_on_write, &res, &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_sync_write(w.sync, "Nope", "1", 0, plcio_test_on_write, &res, &err), PLCIO_ENOTFOUND);
    assert_string_equal(err.text, "no tag named 'Nope'");
    assert_int_equal(fake_dev.writes, before);
    /* Queued past its deadline while the device is down: timed out, not done. */
    fake_dev.connected = false;
    fake_dev.refuse = true;
    plcio_sync_device_down(fake_dev.dev, PLCIO_ECLOSED, "fake: gone");
    memset(&res, 0, sizeof res);
    assert_int_equal(plcio_sync_write(w.sync, "Count", "5", 50, plcio_test_on_write, &res, &err), PLCIO_OK);
    run_ms(&w, 60);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.err, PLCIO_ETIMEDOUT);
    assert_int_equal(fake_dev.writes, before);
    /* Queued when the engine stops: canceled, reported. */
    memset(&res, 0, sizeof res);
    assert_int_equal(plcio_sync_write(w.sync, "Count", "6", 10000, plcio_test_on_write, &res, &err), PLCIO_OK);
    free_world(&w);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.err, PLCIO_ECANCELED);
}

static void test_writes_through_shared_memory(void **state)
{
    (void)state;
    world w;
    assert_int_equal(make_world(&w, "      - {interval: 10ms, db: 10, writable: true}\n"), PLCIO_OK);
    run_ms(&w, 11); /* connected, read once (at 10 ms) */
    plcio_shm_reader *r = reader(&w);
    assert_int_equal(get(r, "Motor.Speed").quality, PLCIO_SHM_QUALITY_GOOD);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Motor.Speed", "1234.5", &id), PLCIO_OK);
    run_ms(&w, 3); /* the ring is looked at every 2 ms; the next read is at 20 ms */
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_DONE);
    assert_true(plcio_get_f32be(fake_dev.mem + 8) == 1234.5f);
    /* done means visible: the segment has the new value before the next read */
    int reads = fake_dev.reads;
    plcio_shm_value v = get(r, "Motor.Speed");
    assert_true(v.as_double == 1234.5);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_int_equal(fake_dev.reads, reads);
    /* the same through the API: the callback runs after the segment has it */
    plcio_test_write done = {0};
    plcio_error err = {0};
    assert_int_equal(plcio_sync_write(w.sync, "Count", "42", 0, plcio_test_on_write, &done, &err), PLCIO_OK);
    assert_int_equal(done.calls, 1);
    assert_int_equal(done.err, PLCIO_OK);
    assert_int_equal(get(r, "Count").as_int, 42);
    /* a BOOL write shows its own bit only */
    fake_dev.mem[12] = 0xFE; /* Motor.Run is bit 0; the other bits belong to nobody */
    run_ms(&w, 10);
    assert_false(get(r, "Motor.Run").as_int);
    assert_int_equal(plcio_sync_write(w.sync, "Motor.Run", "true", 0, plcio_test_on_write, &done, &err), PLCIO_OK);
    v = get(r, "Motor.Run");
    assert_int_equal(v.as_int, 1);
    assert_int_equal(v.raw[0], 0xFF);
    /* A device that is down answers FAILED with the reason. */
    fake_dev.connected = false;
    fake_dev.refuse = true;
    plcio_sync_device_down(fake_dev.dev, PLCIO_ECLOSED, "fake: gone");
    assert_int_equal(plcio_shm_reader_submit_text(r, "Count", "9", &id), PLCIO_OK);
    run_ms(&w, 3);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_FAILED);
    assert_int_equal(res.error, PLCIO_ENOTCONN);
    assert_non_null(strstr(res.message, "not connected"));
    assert_int_equal(plcio_get_u16be(fake_dev.mem + 6), 42); /* as the write above left it */
    assert_int_equal(get(r, "Count").as_int, 42);
    plcio_shm_reader_free(r);
    free_world(&w);
}

static void test_configuration_errors(void **state)
{
    (void)state;
    static const struct {
        const char *groups;
        const char *message;
    } cases[] = {
        {"      - {db: 10, tags: [Levl]}\n", "plc/group1: member 'Levl' does not exist in DB 10 (Tank)"},
        {"      - {db: 10, layout: Other}\n", "plc/group1: no data block named 'Other' in the layout files"},
        {"      - {tags: [{address: 'garbage'}]}\n", "plc/group1: garbage: not a fake address"},
        {"      - {db: 10, tags: [{member: Motor, name: m}]}\n", "plc/group1: 'Motor' is a struct or array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world w;
        memset(&w, 0, sizeof w);
        fake_dev_reset();
        char yaml[1024];
        plcio_error err = {0};
        snprintf(yaml, sizeof yaml, "devices:\n  - name: plc\n    url: fake://x\n    groups:\n%s", cases[i].groups);
        snprintf(w.dir, sizeof w.dir, "/tmp/plcio-sync-XXXXXX");
        assert_non_null(mkdtemp(w.dir));
        char path[128];
        snprintf(path, sizeof path, "%s/tank.db", w.dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(tank_db, f);
        assert_int_equal(fclose(f), 0);
        char full[1200];
        snprintf(full, sizeof full, "layouts: [tank.db]\n%s", yaml);
        assert_int_equal(plcio_sync_config_parse(full, strlen(full), "t.yaml", w.dir, &w.cfg, &err), PLCIO_OK);
        plcio_sync_options o = {0};
        o.drivers = fake_drivers;
        o.driver_count = 1;
        o.no_shm = true;
        assert_int_not_equal(plcio_sync_new(w.cfg, &o, &w.sync, &err), PLCIO_OK);
        assert_null(w.sync);
        if (strncmp(err.text, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("case %zu: '%s' (want '%s...')", i, err.text, cases[i].message);
        free_world(&w);
    }
    /* An unknown scheme is named. */
    plcio_sync_config *cfg;
    plcio_error err = {0};
    const char *y = "devices:\n  - url: opcua://h\n    groups: [{tags: [{address: x}]}]\n";
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), "t.yaml", NULL, &cfg, &err), PLCIO_OK);
    plcio_sync *s = NULL;
    assert_int_equal(plcio_sync_new(cfg, NULL, &s, &err), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(err.text, "unknown kind of device 'opcua://'"));
    plcio_sync_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_db_reaches_shared_memory),
        cmocka_unit_test(test_selected_members_addresses_and_struct),
        cmocka_unit_test(test_refused_then_up_then_lost),
        cmocka_unit_test(test_slow_device_late_cycles_never_overlap),
        cmocka_unit_test(test_slow_first_connect_is_not_connected),
        cmocka_unit_test(test_overload_degrades_and_recovers),
        cmocka_unit_test(test_deadband),
        cmocka_unit_test(test_writes_by_name),
        cmocka_unit_test(test_writes_through_shared_memory),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
