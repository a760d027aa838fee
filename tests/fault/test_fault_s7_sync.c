/* The sync engine over S7 behind the fault proxy, against plcio's simulator
 * and snap7's server; one engine per test, never restarted. A client talking
 * to the server directly is the judge of what the PLC holds.
 *
 * - delay and single-byte answers: every tag good with the PLC's value, no
 *   reconnection;
 * - stall and dark link longer than the timeout: tags turn stale with a
 *   reason while it lasts, good again afterwards; a write meanwhile fails and
 *   says it may or may not have happened;
 * - random corruption of the answers: errors and reconnections, no crash
 *   (ASan), every write reported done is in the PLC; afterwards all good;
 * - connections cut and reset mid-frame (random byte, direction, read or
 *   write frame): a write reported done is in the PLC, one reported failed
 *   may be; the engine recovers each time. */
#include "fault_sync.h"
#include "plcio/s7.h"

#define DB 1

typedef struct ctx {
    fault_peer peer;
    plcio_test_proc server;
    fault_proxy *proxy;
    plcio_s7_client *direct;
    fault_engine e;
    int32_t target; /* what DB1.DBD20 holds */
    uint32_t prng;
} ctx;

static uint32_t rnd(ctx *c)
{
    c->prng ^= c->prng << 13;
    c->prng ^= c->prng >> 17;
    c->prng ^= c->prng << 5;
    return c->prng;
}

static int32_t server_target(ctx *c)
{
    uint8_t b[4];
    int rc = plcio_s7_client_read_area(c->direct, PLCIO_S7_AREA_DB, DB, 20, 4, b);
    if (rc != PLCIO_OK) fail_msg("direct read: %s", plcio_s7_client_last_error(c->direct));
    return (int32_t)plcio_get_u32be(b);
}

static int setup_peer(void **state, fault_peer peer)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    *state = c;
    c->peer = peer;
    c->prng = 0x2545F491u;
    int port = fault_start_s7(&c->server, peer);
    c->proxy = fault_proxy_start(port, 60);
    assert_non_null(c->proxy);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    c->direct = plcio_s7_client_new(&o);
    assert_non_null(c->direct);
    assert_int_equal(plcio_s7_client_connect(c->direct), PLCIO_OK);
    /* DB1: INT 1234 at 0, REAL 3.5 at 2, DINT 7 at 20, byte 0x5A at 40, 0x08 at 41 (bit 3) */
    uint8_t db[42];
    memset(db, 0, sizeof db);
    plcio_put_u16be(db, 1234);
    plcio_put_u32be(db + 2, 0x40600000u);
    plcio_put_u32be(db + 20, 7);
    db[40] = 0x5A;
    db[41] = 0x08;
    assert_int_equal(plcio_s7_client_write_area(c->direct, PLCIO_S7_AREA_DB, DB, 0, sizeof db, db), PLCIO_OK);
    c->target = 7;
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - name: plc\n"
             "    url: \"s7://127.0.0.1:%d?rack=0&slot=1&timeout=400&connect-timeout=400\"\n"
             "    reconnect: {min: 50ms, max: 200ms}\n"
             "    stale-after: 3\n"
             "    groups:\n"
             "      - interval: 20ms\n"
             "        tags:\n"
             "          - {address: DB1.DBW0:INT, name: w0}\n"
             "          - {address: DB1.DBD2:REAL, name: r2}\n"
             "          - {address: DB1.DBD20:DINT, name: target}\n"
             "          - {address: DB1.DBB40, name: b40}\n"
             "          - {address: DB1.DBX41.3, name: bit}\n",
             fault_proxy_port(c->proxy));
    fault_engine_start(&c->e, yaml, "s7");
    return 0;
}

static int setup_sim(void **state) { return setup_peer(state, PEER_PLCIO_SIM); }
static int setup_snap7(void **state) { return setup_peer(state, PEER_SNAP7); }

static int teardown(void **state)
{
    ctx *c = *state;
    if (!c) return 0;
    fault_engine_stop(&c->e);
    plcio_s7_client_free(c->direct);
    fault_proxy_stop(c->proxy);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

/* Every tag good with the PLC's value (within timeout_ms). */
static void all_good(ctx *c, int timeout_ms)
{
    char t[32];
    snprintf(t, sizeof t, "%d", (int)c->target);
    fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_GOOD, t, timeout_ms);
    fault_engine_wait(&c->e, "w0", PLCIO_SHM_QUALITY_GOOD, "1234", timeout_ms);
    fault_engine_wait(&c->e, "r2", PLCIO_SHM_QUALITY_GOOD, "3.5", timeout_ms);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, "90", timeout_ms);
    fault_engine_wait(&c->e, "bit", PLCIO_SHM_QUALITY_GOOD, "true", timeout_ms);
}

/* Write `value` to target through the engine; check the answer against the PLC. */
static fault_write write_target(ctx *c, int32_t value, unsigned *done, unsigned *failed_in, unsigned *failed_not)
{
    char text[32];
    snprintf(text, sizeof text, "%d", (int)value);
    int32_t before = c->target;
    fault_write w = fault_engine_write(&c->e, "target", text, 0);
    int32_t now = server_target(c);
    if (w.err == PLCIO_OK) {
        if (now != value) fail_msg("write of %d reported done, the PLC holds %d", (int)value, (int)now);
        (*done)++;
    } else {
        fault_check_failed_write(&w);
        if (now != value && now != before) fail_msg("PLC holds %d, neither %d nor %d", (int)now, (int)value, (int)before);
        if (now == value) (*failed_in)++;
        else (*failed_not)++;
    }
    c->target = now;
    return w;
}

static void test_delay_and_split(void **state)
{
    ctx *c = *state;
    all_good(c, 5000);
    fault_proxy_delay(c->proxy, FAULT_DOWN, 30);
    fault_proxy_delay(c->proxy, FAULT_UP, 10);
    fault_engine_run(&c->e, 500);
    all_good(c, 2000);
    fault_proxy_split(c->proxy, FAULT_DOWN, 200);
    fault_proxy_split(c->proxy, FAULT_UP, 200);
    fault_engine_run(&c->e, 800);
    all_good(c, 2000);
    unsigned done = 0, fin = 0, fnot = 0;
    for (int i = 0; i < 5; i++) {
        write_target(c, 1000 + i, &done, &fin, &fnot);
        all_good(c, 2000);
    }
    assert_int_equal(done, 5);
    /* one question in flight at a time and every answer split: new values still show */
    uint8_t b[2] = {0x04, 0xD2};
    assert_int_equal(plcio_s7_client_write_area(c->direct, PLCIO_S7_AREA_DB, DB, 0, 2, b), PLCIO_OK);
    all_good(c, 2000);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.accepted, 1); /* the engine never had to reconnect */
    assert_true(n.single_writes[FAULT_DOWN] > 100);
    fault_figures("s7 sync: delay+split", c->peer, c->proxy, "all tags good and exact, no reconnection, 5 writes done");
}

/* Stale with the last good value and a reason; returns the reason. */
static int stale_while_dead(ctx *c)
{
    plcio_shm_value v = fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_STALE, NULL, 3000);
    assert_int_not_equal(v.error, PLCIO_OK);
    plcio_shm_value w = fault_engine_get(&c->e, "w0");
    assert_int_equal(w.quality, PLCIO_SHM_QUALITY_STALE);
    assert_string_equal(w.text, "1234"); /* the last good value is kept */
    return v.error;
}

static void test_stall_and_dark(void **state)
{
    ctx *c = *state;
    all_good(c, 5000);
    unsigned done = 0, fin = 0, fnot = 0, stale_seen = 0;
    /* answers stalled past the timeout, then the whole link dark */
    for (int round = 0; round < 2; round++) {
        uint64_t t0 = plcio_monotonic_ns();
        if (round == 0) fault_proxy_stall(c->proxy, FAULT_DOWN, 1500);
        else fault_proxy_dark(c->proxy, 2000);
        int why = stale_while_dead(c);
        stale_seen++;
        if (round == 0) printf("stale after a stall: %s\n", plcio_err_name(why));
        if (round == 1) {
            /* a write while dark fails, at once or when the connection gives up */
            fault_write w = write_target(c, 5000 + round, &done, &fin, &fnot);
            assert_int_not_equal(w.err, PLCIO_OK);
            /* reconnections while dark fail too: still stale */
            fault_engine_run(&c->e, 500);
            assert_int_equal(fault_engine_get(&c->e, "w0").quality, PLCIO_SHM_QUALITY_STALE);
            plcio_sync_stats st;
            assert_int_equal(plcio_sync_device_stats(c->e.sync, 0, &st), PLCIO_OK);
            assert_false(st.connected);
            assert_true(st.last_message && st.last_message[0]); /* the device says why */
            printf("dark: device %s: %s; write: %s\n", plcio_err_name(st.last_error), st.last_message, w.msg);
        }
        uint64_t elapsed = (plcio_monotonic_ns() - t0) / PLCIO_NS_PER_MS;
        assert_true(elapsed < (round ? 2000u : 1500u)); /* it turned stale while the link was still dead */
        /* the link returns: good again, same engine. A write sent before it
         * died lands when it returns (the proxy delivers what it held): the
         * device is asked once the link is back. */
        uint64_t back = t0 + (round ? 2000u : 1500u) * PLCIO_NS_PER_MS + 300 * PLCIO_NS_PER_MS;
        while (plcio_monotonic_ns() < back) plcio_sync_run_once(c->e.sync, 5);
        c->target = server_target(c);
        all_good(c, 8000);
    }
    write_target(c, 4242, &done, &fin, &fnot);
    assert_true(done >= 1);
    all_good(c, 3000);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_true(n.accepted >= 2); /* it reconnected by itself */
    char extra[200];
    snprintf(extra, sizeof extra, "stale during %u outages, good after each; writes: %u done, %u failed (%u landed)",
             stale_seen, done, fin + fnot, fin);
    fault_figures("s7 sync: stall+dark", c->peer, c->proxy, extra);
}

static void test_corruption(void **state)
{
    ctx *c = *state;
    all_good(c, 5000);
    fault_proxy_corrupt_rate(c->proxy, FAULT_DOWN, 0.002, 0xC0FFEEu);
    unsigned done = 0, fin = 0, fnot = 0, wrong_good = 0, samples = 0;
    uint64_t end = plcio_monotonic_ns() + 4 * PLCIO_NS_PER_S;
    int32_t value = 20000;
    while (plcio_monotonic_ns() < end) {
        write_target(c, ++value, &done, &fin, &fnot);
        fault_engine_run(&c->e, 40);
        plcio_shm_value v = fault_engine_get(&c->e, "w0");
        samples++;
        if (v.quality == PLCIO_SHM_QUALITY_GOOD && strcmp(v.text, "1234") != 0) wrong_good++;
    }
    fault_proxy_corrupt_rate(c->proxy, FAULT_DOWN, 0, 0);
    c->target = server_target(c);
    all_good(c, 8000);
    write_target(c, 777, &done, &fin, &fnot);
    all_good(c, 3000);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_true(n.corrupted[FAULT_DOWN] > 0);
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_device_stats(c->e.sync, 0, &st), PLCIO_OK);
    char extra[300];
    snprintf(extra, sizeof extra,
             "writes: %u done (all in the PLC), %u failed (%u landed); device errors %llu; samples of w0 with a "
             "flipped data byte shown good: %u of %u (S7 has no checksum)",
             done, fin + fnot, fin, (unsigned long long)st.errors, wrong_good, samples);
    fault_figures("s7 sync: corruption", c->peer, c->proxy, extra);
}

static void test_cut_and_reset(void **state)
{
    ctx *c = *state;
    all_good(c, 5000);
    unsigned done = 0, fin = 0, fnot = 0, cuts = 0;
    int32_t value = 30000;
    for (int i = 0; i < 40; i++) {
        fault_dir dir = (rnd(c) & 1) ? FAULT_DOWN : FAULT_UP;
        uint64_t at = rnd(c) % 45;
        if (i & 1) fault_proxy_reset_after(c->proxy, dir, at);
        else fault_proxy_cut_after(c->proxy, dir, at);
        write_target(c, ++value, &done, &fin, &fnot);
        /* the cut may still be ahead (it falls on a later read): let it happen */
        uint64_t end = plcio_monotonic_ns() + 3 * PLCIO_NS_PER_S;
        while (!fault_proxy_cut_fired(c->proxy, dir) && plcio_monotonic_ns() < end) plcio_sync_run_once(c->e.sync, 5);
        assert_true(fault_proxy_cut_fired(c->proxy, dir));
        cuts++;
        c->target = server_target(c);
        all_good(c, 5000);
    }
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.cuts + n.resets, cuts);
    assert_true(fin + fnot > 0);
    char extra[200];
    snprintf(extra, sizeof extra,
             "%u cuts/resets, %llu reconnections; writes: %u done (all in the PLC), %u failed (%u landed)", cuts,
             (unsigned long long)n.accepted - 1, done, fin + fnot, fin);
    fault_figures("s7 sync: cut/reset", c->peer, c->proxy, extra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_dark, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_snap7, teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_dark, setup_snap7, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_snap7, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset, setup_snap7, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
