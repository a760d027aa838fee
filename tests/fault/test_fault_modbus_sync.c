/* The sync engine over Modbus TCP behind the fault proxy, against plcio's
 * simulator and pymodbus 3.0; one engine per test, never restarted. A client
 * talking to the server directly is the judge of what the device holds.
 *
 * - delay and single-byte answers: every tag good with the device's value, no
 *   reconnection;
 * - stall and dark link longer than the timeout: tags turn stale with a
 *   reason while it lasts, good again afterwards; a write meanwhile fails and
 *   says it may or may not have happened;
 * - random corruption of the answers: errors and reconnections, no crash
 *   (ASan), every write reported done is in the device; afterwards all good
 *   (a flipped register byte cannot be caught: Modbus TCP has no checksum);
 * - connections cut and reset mid-frame (random byte, direction, read or
 *   write frame): a write reported done is in the device, one reported failed
 *   may be; the engine recovers each time. */
#include "fault_sync.h"
#include "plcio/modbus.h"

typedef struct ctx {
    fault_peer peer;
    plcio_test_proc server;
    fault_proxy *proxy;
    plcio_modbus_client *direct;
    fault_engine e;
    int32_t target; /* what hr20..21 hold (DINT, ABCD) */
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
    uint16_t r[2];
    int rc = plcio_modbus_read_holding_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 20, 2, r);
    if (rc != PLCIO_OK) fail_msg("direct read: %s", plcio_strerror(rc));
    return (int32_t)((uint32_t)r[0] << 16 | r[1]);
}

static int setup_peer(void **state, fault_peer peer)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    *state = c;
    c->peer = peer;
    c->prng = 0x2545F491u;
    int port = fault_start_modbus(&c->server, peer);
    c->proxy = fault_proxy_start(port, 60);
    assert_non_null(c->proxy);
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", port);
    int err = 0;
    c->direct = plcio_modbus_client_new(url, NULL, &err);
    assert_non_null(c->direct);
    /* hr0..49 = 3 * i, hr20..21 = DINT 7, hr30..31 = REAL 3.5, co3 on */
    uint16_t regs[50];
    for (int i = 0; i < 50; i++) regs[i] = (uint16_t)(3 * i);
    regs[20] = 0;
    regs[21] = 7;
    regs[30] = 0x4060;
    regs[31] = 0;
    assert_int_equal(plcio_modbus_write_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 0, 50, regs), PLCIO_OK);
    assert_int_equal(plcio_modbus_write_coil(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 3, true), PLCIO_OK);
    c->target = 7;
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - name: dev\n"
             "    url: \"modbus-tcp://127.0.0.1:%d?unit=1&timeout=400\"\n"
             "    reconnect: {min: 50ms, max: 200ms}\n"
             "    stale-after: 3\n"
             "    groups:\n"
             "      - interval: 20ms\n"
             "        tags:\n"
             "          - {address: hr5, name: w0}\n"
             "          - {address: \"hr30:REAL\", name: r2}\n"
             "          - {address: \"hr20:DINT\", name: target}\n"
             "          - {address: hr40, name: b40}\n"
             "          - {address: co3, name: bit}\n",
             fault_proxy_port(c->proxy));
    fault_engine_start(&c->e, yaml, "mb");
    return 0;
}

static int setup_sim(void **state) { return setup_peer(state, PEER_PLCIO_SIM); }
static int setup_pymodbus(void **state) { return setup_peer(state, PEER_PYMODBUS); }

static int teardown(void **state)
{
    ctx *c = *state;
    if (!c) return 0;
    fault_engine_stop(&c->e);
    plcio_modbus_client_free(c->direct);
    fault_proxy_stop(c->proxy);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

/* Every tag good with the device's value (within timeout_ms). */
static void all_good(ctx *c, int timeout_ms)
{
    char t[32];
    snprintf(t, sizeof t, "%d", (int)c->target);
    fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_GOOD, t, timeout_ms);
    fault_engine_wait(&c->e, "w0", PLCIO_SHM_QUALITY_GOOD, "15", timeout_ms);
    fault_engine_wait(&c->e, "r2", PLCIO_SHM_QUALITY_GOOD, "3.5", timeout_ms);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, "120", timeout_ms);
    fault_engine_wait(&c->e, "bit", PLCIO_SHM_QUALITY_GOOD, "true", timeout_ms);
}

/* Write `value` to target through the engine; check the answer against the device. */
static fault_write write_target(ctx *c, int32_t value, unsigned *done, unsigned *failed_in, unsigned *failed_not)
{
    char text[32];
    snprintf(text, sizeof text, "%d", (int)value);
    int32_t before = c->target;
    fault_write w = fault_engine_write(&c->e, "target", text, 0);
    int32_t now = server_target(c);
    if (w.err == PLCIO_OK) {
        if (now != value) fail_msg("write of %d reported done, the device holds %d", (int)value, (int)now);
        (*done)++;
    } else {
        fault_check_failed_write(&w);
        if (now != value && now != before) fail_msg("device holds %d, neither %d nor %d", (int)now, (int)value, (int)before);
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
    /* pymodbus 3.0's server cannot take a request in one-byte segments (it drops the connection) */
    if (c->peer != PEER_PYMODBUS) fault_proxy_split(c->proxy, FAULT_UP, 200);
    fault_engine_run(&c->e, 800);
    all_good(c, 2000);
    unsigned done = 0, fin = 0, fnot = 0;
    for (int i = 0; i < 5; i++) {
        write_target(c, 1000 + i, &done, &fin, &fnot);
        all_good(c, 2000);
    }
    assert_int_equal(done, 5);
    /* one question in flight at a time and every answer split: new values still show */
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 121), PLCIO_OK);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, "121", 2000);
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 120), PLCIO_OK);
    all_good(c, 2000);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.accepted, 1); /* the engine never had to reconnect */
    assert_true(n.single_writes[FAULT_DOWN] > 100);
    fault_figures("modbus sync: delay+split", c->peer, c->proxy, "all tags good and exact, no reconnection, 5 writes done");
}

/* Stale with the last good value and a reason; returns the reason. */
static int stale_while_dead(ctx *c)
{
    plcio_shm_value v = fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_STALE, NULL, 3000);
    assert_int_not_equal(v.error, PLCIO_OK);
    plcio_shm_value w = fault_engine_get(&c->e, "w0");
    assert_int_equal(w.quality, PLCIO_SHM_QUALITY_STALE);
    assert_string_equal(w.text, "15"); /* the last good value is kept */
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
    fault_figures("modbus sync: stall+dark", c->peer, c->proxy, extra);
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
        if (v.quality == PLCIO_SHM_QUALITY_GOOD && strcmp(v.text, "15") != 0) wrong_good++;
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
             "writes: %u done (all in the device), %u failed (%u landed); device errors %llu; samples of w0 with a "
             "flipped data byte shown good: %u of %u (Modbus TCP has no checksum)",
             done, fin + fnot, fin, (unsigned long long)st.errors, wrong_good, samples);
    fault_figures("modbus sync: corruption", c->peer, c->proxy, extra);
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
             "%u cuts/resets, %llu reconnections; writes: %u done (all in the device), %u failed (%u landed)", cuts,
             (unsigned long long)n.accepted - 1, done, fin + fnot, fin);
    fault_figures("modbus sync: cut/reset", c->peer, c->proxy, extra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_dark, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_pymodbus, teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_dark, setup_pymodbus, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_pymodbus, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset, setup_pymodbus, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
