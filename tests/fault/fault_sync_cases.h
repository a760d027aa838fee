/* The four sync-engine fault cases, shared by test_fault_s7_sync.c,
 * test_fault_s7plus_sync.c and
 * test_fault_modbus_sync.c. The including file defines, before including it:
 *   ctx (with peer, proxy, e), all_good(), write_target(), server_target(),
 *   rnd(), change_behind_engine() (a value changed on the server directly,
 *   which the engine must show through split answers), and the texts
 *   FAULT_PROTO ("s7"), FAULT_STABLE_TEXT (the value tag w0 keeps),
 *   FAULT_DEVICE_WORD ("PLC") and FAULT_NO_CHECKSUM ("S7"). */
#ifndef PLCIO_TEST_FAULT_SYNC_CASES_H
#define PLCIO_TEST_FAULT_SYNC_CASES_H

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
    change_behind_engine(c);
    all_good(c, 2000);
    fault_counters n;
    fault_proxy_counters(c->proxy, &n);
    assert_int_equal(n.accepted, 1); /* the engine never had to reconnect */
    assert_true(n.single_writes[FAULT_DOWN] > 100);
    fault_figures(FAULT_PROTO " sync: delay+split", c->peer, c->proxy,
                  "all tags good and exact, no reconnection, 5 writes done");
}

/* Stale with the last good value and a reason; returns the reason. */
static int stale_while_dead(ctx *c)
{
    plcio_shm_value v = fault_engine_wait(&c->e, "target", PLCIO_SHM_QUALITY_STALE, NULL, 10000);
    assert_int_not_equal(v.error, PLCIO_OK);
    plcio_shm_value w = fault_engine_get(&c->e, "w0");
    assert_int_equal(w.quality, PLCIO_SHM_QUALITY_STALE);
    assert_string_equal(w.text, FAULT_STABLE_TEXT); /* the last good value is kept */
    return v.error;
}

static void test_stall_and_dark(void **state)
{
    ctx *c = *state;
    all_good(c, 5000);
    unsigned done = 0, fin = 0, fnot = 0, stale_seen = 0;
    /* answers stalled past the timeout, then the whole link dark; each lasts
     * until the checks are done (fault_proxy_clear ends it), so a slow machine
     * cannot see the link come back before the checks ran */
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            fault_proxy_stall(c->proxy, FAULT_DOWN, 600000);
        else
            fault_proxy_dark(c->proxy, 600000);
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
            /* (not "disconnected": the kernel completes a TCP connect into the dark
             * proxy's listen backlog, and Modbus has no handshake of its own, so a
             * reconnection can look up until its first request times out) */
            assert_true(st.last_message && st.last_message[0]); /* the device says why */
            printf("dark: device %s: %s; write: %s\n", plcio_err_name(st.last_error), st.last_message, w.msg);
        }
        /* the link returns: good again, same engine. A write sent before it
         * died lands when it returns (the proxy delivers what it held): the
         * device is asked once the link is back. */
        fault_proxy_clear(c->proxy);
        fault_engine_run(&c->e, 300);
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
    fault_figures(FAULT_PROTO " sync: stall+dark", c->peer, c->proxy, extra);
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
        if (v.quality == PLCIO_SHM_QUALITY_GOOD && strcmp(v.text, FAULT_STABLE_TEXT) != 0) wrong_good++;
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
             "writes: %u done (all in the " FAULT_DEVICE_WORD
             "), %u failed (%u landed); device errors %llu; samples of w0 with a "
             "flipped data byte shown good: %u of %u (" FAULT_NO_CHECKSUM " has no checksum)",
             done, fin + fnot, fin, (unsigned long long)st.errors, wrong_good, samples);
    fault_figures(FAULT_PROTO " sync: corruption", c->peer, c->proxy, extra);
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
        if (i & 1)
            fault_proxy_reset_after(c->proxy, dir, at);
        else
            fault_proxy_cut_after(c->proxy, dir, at);
        write_target(c, ++value, &done, &fin, &fnot);
        /* the cut may still be ahead (it falls on a later read): let it happen */
        uint64_t end = plcio_monotonic_ns() + 3 * PLCIO_NS_PER_S;
        while (!fault_proxy_cut_fired(c->proxy, dir) && plcio_monotonic_ns() < end)
            plcio_sync_run_once(c->e.sync, 5);
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
             "%u cuts/resets, %llu reconnections; writes: %u done (all in the " FAULT_DEVICE_WORD
             "), %u failed (%u landed)",
             cuts, (unsigned long long)n.accepted - 1, done, fin + fnot, fin);
    fault_figures(FAULT_PROTO " sync: cut/reset", c->peer, c->proxy, extra);
}

#endif
