/* S7CommPlus subscriptions: plcio's client against `plcio sim s7` (a separate
 * process), values changed by a classic S7 client and by an S7CommPlus write
 * on the same memory; over TLS and V1. Credits kept flowing by the client's
 * acknowledgements; delete; notifications arriving between request and
 * answer; the simulator's limits; bad calls. (python-snap7's
 * create_subscription against the simulator: tests/interop/s7plus/.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <unistd.h>

#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio_test.h"

static char tmp[128], cert[200];

typedef struct seen {
    unsigned notes, firsts, empty;
    uint32_t last_id;
    unsigned last_tick;
    /* the latest value of each item and whether a notification carried it */
    uint8_t val[8][8];
    size_t size[8];
    int result[8];
    unsigned error[8];
    bool got[8];
    unsigned changed_in_last; /* items in the latest notification */
} seen;

static void on_note(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n)
{
    (void)c;
    seen *s = ctx;
    s->notes++;
    s->firsts += n->first;
    s->empty += n->n == 0;
    s->last_id = n->subscription;
    s->last_tick = n->credit_tick;
    s->changed_in_last = (unsigned)n->n;
    for (size_t k = 0; k < n->n; k++) {
        const plcio_s7plus_sub_value *v = &n->values[k];
        if (v->item >= 8) continue;
        s->got[v->item] = true;
        s->result[v->item] = v->result;
        s->error[v->item] = v->error;
        s->size[v->item] = v->size;
        if (v->result == PLCIO_OK && v->size <= 8) memcpy(s->val[v->item], v->data, v->size);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int start_sim(plcio_test_proc *p)
{
    const char *argv[] = {plcio_test_bin(), "sim",   "s7",        "--listen", "127.0.0.1:0",       "--db", "1:256",
                          "--db",           "2:100", "--seconds", "120",      "--s7plus-cert-out", cert,   NULL};
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(p->line);
    assert_true(port > 0);
    return port;
}

static plcio_s7_client *classic(int port)
{
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *c = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    return c;
}

static plcio_s7plus_client *plus(int port, bool tls)
{
    char url[400];
    if (tls)
        snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?timeout=5000&ca=%s", port, cert);
    else
        snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?timeout=5000&tls=0", port);
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, &c, &err)) fail_msg("%s: %s", url, err.text);
    if (plcio_s7plus_client_connect(c)) fail_msg("connect: %s", plcio_s7plus_client_last_error(c)->text);
    return c;
}

static plcio_s7plus_sub_item area_item(plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size)
{
    plcio_s7plus_sub_item it;
    memset(&it, 0, sizeof it);
    it.area = area;
    it.db = db;
    it.start = start;
    it.size = size;
    return it;
}

/* Wait until item k carries `want` (a notification may come first for an
 * earlier change); fails after 50 notifications or a 5 s silence. */
static void wait_value(plcio_s7plus_client *c, seen *s, size_t k, const uint8_t *want, size_t n)
{
    for (int i = 0; i < 50; i++) {
        if (s->got[k] && s->size[k] == n && !memcmp(s->val[k], want, n)) return;
        s->got[k] = false;
        int rc = plcio_s7plus_client_wait_notification(c, 5000);
        if (rc) fail_msg("waiting for item %zu: %s", k, plcio_s7plus_client_last_error(c)->text);
    }
    fail_msg("item %zu never carried the value written", k);
}

static void scenario(int port, bool tls)
{
    plcio_s7_client *s7 = classic(port);
    uint8_t pattern[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 0, 16, pattern), PLCIO_OK);
    uint8_t m[4] = {0xA0, 0xA1, 0xA2, 0xA3};
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_MK, 0, 20, 4, m), PLCIO_OK);

    plcio_s7plus_client *c = plus(port, tls);
    plcio_s7plus_sub_item items[4] = {
        area_item(PLCIO_S7PLUS_AREA_DB, 1, 0, 4), area_item(PLCIO_S7PLUS_AREA_DB, 1, 10, 2),
        area_item(PLCIO_S7PLUS_AREA_M, 0, 20, 4), area_item(PLCIO_S7PLUS_AREA_DB, 99, 0, 2)}; /* no DB99 */
    seen s;
    memset(&s, 0, sizeof s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.notify = on_note;
    o.ctx = &s;
    uint32_t id = 0;
    if (plcio_s7plus_client_subscribe(c, items, 4, &o, &id))
        fail_msg("subscribe: %s", plcio_s7plus_client_last_error(c)->text);
    assert_int_not_equal(id, 0);
    /* the first notification: every item, the missing DB as an item error */
    assert_int_equal(plcio_s7plus_client_wait_notification(c, 5000), PLCIO_OK);
    assert_int_equal(s.notes, 1);
    assert_int_equal(s.firsts, 1);
    assert_int_equal(s.last_id, id);
    assert_int_equal(s.changed_in_last, 4);
    assert_memory_equal(s.val[0], pattern, 4);
    assert_memory_equal(s.val[1], pattern + 10, 2);
    assert_memory_equal(s.val[2], m, 4);
    assert_int_equal(s.result[3], PLCIO_EPLC);
    assert_int_equal(s.error[3], 0x13);

    /* a classic S7 write: the notification carries it, and only what changed */
    uint8_t b = 0x77;
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 11, 1, &b), PLCIO_OK);
    memset(s.got, 0, sizeof s.got);
    uint8_t want1[2] = {11, 0x77};
    wait_value(c, &s, 1, want1, 2);
    assert_int_equal(s.changed_in_last, 1);
    assert_false(s.got[0]);
    assert_int_equal(s.empty, 0); /* on change only: no empty notifications */

    /* an S7CommPlus write from a second client on the same memory */
    plcio_s7plus_client *w = plus(port, tls);
    uint8_t m2[4] = {0xDE, 0xAD, 0xBE, 0xEF};
    assert_int_equal(plcio_s7plus_client_write_area(w, PLCIO_S7PLUS_AREA_M, 0, 20, 4, m2), PLCIO_OK);
    memset(s.got, 0, sizeof s.got);
    wait_value(c, &s, 2, m2, 4);

    /* notifications arriving between requests and their answers: reads go on */
    plcio_s7plus_sub_stats st0, st1;
    plcio_s7plus_client_sub_stats(c, &st0);
    uint8_t r[16];
    for (int i = 0; i < 100; i++) {
        b = (uint8_t)i;
        assert_int_equal(plcio_s7plus_client_write_area(w, PLCIO_S7PLUS_AREA_DB, 1, 0, 1, &b), PLCIO_OK);
        assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 16, r), PLCIO_OK);
        assert_int_equal(r[0], (uint8_t)i);
        sleep_ms(2);
    }
    plcio_s7plus_client_sub_stats(c, &st1);
    assert_true(st1.notifications > st0.notifications); /* handed over inside read_area */

    /* delete: no more notifications, whatever changes */
    assert_int_equal(plcio_s7plus_client_unsubscribe(c, id), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_unsubscribe(c, id), PLCIO_ENOTFOUND);
    b = 0x55;
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 11, 1, &b), PLCIO_OK);
    plcio_s7plus_client_sub_stats(c, &st0);
    int rc = plcio_s7plus_client_wait_notification(c, 300);
    assert_int_equal(rc, PLCIO_ETIMEDOUT);
    plcio_s7plus_client_sub_stats(c, &st1);
    assert_int_equal(st1.notifications, st0.notifications);
    assert_true(plcio_s7plus_client_is_connected(c));
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 11, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 0x55);

    plcio_s7plus_client_free(w);
    plcio_s7plus_client_free(c);
    plcio_s7_client_free(s7);
}

static void test_subscribe_tls_and_v1(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim);
    scenario(port, true);
    scenario(port, false);
    plcio_test_proc_stop(&sim);
}

/* A window of 2 credits and a notification every cycle: the stream goes on
 * far past 2 only because the client acknowledges. */
static void test_credit_flow(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim);
    plcio_s7plus_client *c = plus(port, true);
    plcio_s7plus_sub_item it = area_item(PLCIO_S7PLUS_AREA_DB, 2, 0, 8);
    seen s;
    memset(&s, 0, sizeof s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.every_cycle = true;
    o.credits = 2;
    o.notify = on_note;
    o.ctx = &s;
    uint32_t id = 0;
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_OK);
    unsigned ticks_wrapped = 0, prev = 0;
    while (s.notes < 300) {
        if (plcio_s7plus_client_wait_notification(c, 5000))
            fail_msg("after %u notifications: %s", s.notes, plcio_s7plus_client_last_error(c)->text);
        if (s.last_tick < prev) ticks_wrapped++;
        prev = s.last_tick;
    }
    assert_true(s.empty > 250);      /* nothing changed: empty notifications, each cycle */
    assert_true(ticks_wrapped >= 1); /* the credit tick is a byte */
    plcio_s7plus_sub_stats st;
    plcio_s7plus_client_sub_stats(c, &st);
    assert_true(st.acks >= 100);
    assert_int_equal(st.notifications, s.notes);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

/* The simulator's limits: 16 subscriptions, 1000 items per session; bad calls
 * refused before anything is sent. */
static void test_limits_and_bad_calls(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim);
    plcio_s7plus_client *c = plus(port, false);
    seen s;
    memset(&s, 0, sizeof s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.notify = on_note;
    o.ctx = &s;
    plcio_s7plus_sub_item it = area_item(PLCIO_S7PLUS_AREA_DB, 1, 0, 1);
    uint32_t id = 0;
    for (int k = 0; k < 16; k++)
        assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_EPLC);
    assert_int_equal(plcio_s7plus_client_plc_error(c), 0x8105);
    assert_true(plcio_s7plus_client_is_connected(c));
    plcio_s7plus_client_free(c);

    c = plus(port, false);
    plcio_s7plus_sub_item *many = calloc(1001, sizeof *many);
    assert_non_null(many);
    for (int k = 0; k < 1001; k++)
        many[k] = area_item(PLCIO_S7PLUS_AREA_DB, 1, (uint32_t)k % 200, 1);
    assert_int_equal(plcio_s7plus_client_subscribe(c, many, 1001, &o, &id), PLCIO_EINVAL);
    assert_int_equal(plcio_s7plus_client_subscribe(c, many, 600, &o, &id), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_subscribe(c, many, 600, &o, &id), PLCIO_EPLC); /* 1200 in the session */
    free(many);
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 0, &o, &id), PLCIO_EINVAL);
    o.credits = 0;
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_EINVAL);
    o.credits = 10;
    o.notify = NULL;
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_EINVAL);
    plcio_s7plus_sub_item bad = area_item(PLCIO_S7PLUS_AREA_DB, 1, 0, 0);
    o.notify = on_note;
    assert_int_equal(plcio_s7plus_client_subscribe(c, &bad, 1, &o, &id), PLCIO_EINVAL);
    assert_int_equal(plcio_s7plus_client_unsubscribe(c, 0x12345678), PLCIO_ENOTFOUND);
    assert_true(plcio_s7plus_client_is_connected(c));
    plcio_s7plus_client_free(c);

    /* not connected */
    c = NULL;
    char url[64];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?tls=0", port);
    assert_int_equal(plcio_s7plus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_subscribe(c, &it, 1, &o, &id), PLCIO_ENOTCONN);
    assert_int_equal(plcio_s7plus_client_wait_notification(c, 10), PLCIO_ENOTCONN);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

/* A client that subscribes to a lot, unlimited credits, a notification every
 * cycle, and never reads: the simulator stops adding to its backlog and
 * keeps serving the others. */
static void test_slow_client(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim);
    plcio_s7plus_client *slow = plus(port, false);
    plcio_s7plus_sub_item items[200];
    for (int k = 0; k < 200; k++)
        items[k] = area_item(PLCIO_S7PLUS_AREA_DB, 1, 0, 256);
    seen s;
    memset(&s, 0, sizeof s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.every_cycle = true;
    o.credits = -1;
    o.notify = on_note;
    o.ctx = &s;
    uint32_t id = 0;
    assert_int_equal(plcio_s7plus_client_subscribe(slow, items, 200, &o, &id), PLCIO_OK);
    /* every cycle DB1 changes: each notification carries 200 x 256 bytes */
    plcio_s7_client *s7 = classic(port);
    plcio_s7plus_client *other = plus(port, true);
    uint8_t b[256], r[256];
    for (int i = 0; i < 150; i++) {
        memset(b, i, sizeof b);
        assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 0, 256, b), PLCIO_OK);
        assert_int_equal(plcio_s7plus_client_read_area(other, PLCIO_S7PLUS_AREA_DB, 1, 0, 256, r), PLCIO_OK);
        assert_memory_equal(r, b, 256);
        sleep_ms(10);
    }
    plcio_s7plus_client_free(other);
    plcio_s7_client_free(s7);
    plcio_s7plus_client_free(slow);
    /* the simulator is still there and well */
    s7 = classic(port);
    plcio_s7_client_free(s7);
    plcio_test_proc_stop(&sim);
}

/* ---- event-loop mode: subscribe/unsubscribe as jobs, notifications and reads interleaved ---- */

static void on_done(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    *(int *)ctx = result;
}

/* Run the client's loop until *flag leaves 1 (or, with flag NULL, until s->notes reaches want). */
static void loop_until(plcio_s7plus_client *c, int *flag, const seen *s, unsigned want)
{
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    while (flag ? *flag == 1 : s->notes < want) {
        if (plcio_monotonic_ns() > end)
            fail_msg("event loop: nothing in 10 s (flag %d, notes %u of %u)", flag ? *flag : 0, s ? s->notes : 0, want);
        uint64_t deadline = 0;
        unsigned ev = plcio_s7plus_client_wants(c, &deadline);
        struct pollfd p = {
            plcio_s7plus_client_fd(c),
            (short)((ev & PLCIO_S7PLUS_WANT_READ ? POLLIN : 0) | (ev & PLCIO_S7PLUS_WANT_WRITE ? POLLOUT : 0)), 0};
        (void)poll(&p, p.fd >= 0 ? 1 : 0, 20);
        int rc = plcio_s7plus_client_process(c);
        if (rc) fail_msg("process: %s", plcio_s7plus_client_last_error(c)->text);
    }
}

static void test_event_loop(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim);
    plcio_s7_client *s7 = classic(port);
    char url[400];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?timeout=5000&ca=%s", port, cert);
    plcio_s7plus_client *c = NULL;
    assert_int_equal(plcio_s7plus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    int connected = 1;
    assert_int_equal(plcio_s7plus_client_connect_async(c, on_done, &connected), PLCIO_OK);
    loop_until(c, &connected, NULL, 0);
    assert_int_equal(connected, PLCIO_OK);

    seen s;
    memset(&s, 0, sizeof s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.credits = 4;
    o.notify = on_note;
    o.ctx = &s;
    plcio_s7plus_sub_item it = area_item(PLCIO_S7PLUS_AREA_DB, 2, 40, 2);
    uint32_t id = 0;
    int result = 1;
    assert_int_equal(plcio_s7plus_client_subscribe_async(c, &it, 1, &o, &id, on_done, &result), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_subscribe_async(c, &it, 1, &o, &id, on_done, &result), PLCIO_EBUSY);
    loop_until(c, &result, NULL, 0);
    assert_int_equal(result, PLCIO_OK);
    assert_int_not_equal(id, 0);
    loop_until(c, NULL, &s, 1);
    assert_true(s.got[0]);
    /* 50 changes by classic S7, each read back over S7CommPlus in the same loop: the
     * notifications keep coming (credits acknowledged) and every read gets its own answer */
    uint8_t rbuf[2];
    for (int i = 1; i <= 50; i++) {
        uint8_t v[2] = {(uint8_t)(i >> 8), (uint8_t)i};
        s.got[0] = false; /* its notification may come while the read below is under way */
        assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 2, 40, 2, v), PLCIO_OK);
        plcio_s7plus_item ri = {PLCIO_S7PLUS_AREA_DB, 2, 40, 2, rbuf, 1, 0};
        result = 1;
        assert_int_equal(plcio_s7plus_client_read_multi_async(c, &ri, 1, on_done, &result), PLCIO_OK);
        loop_until(c, &result, NULL, 0);
        assert_int_equal(result, PLCIO_OK);
        assert_memory_equal(rbuf, v, 2);
        while (!(s.got[0] && !memcmp(s.val[0], v, 2))) {
            unsigned n = s.notes;
            loop_until(c, NULL, &s, n + 1);
        }
    }
    assert_true(s.notes >= 51);
    plcio_s7plus_sub_stats st;
    plcio_s7plus_client_sub_stats(c, &st);
    assert_true(st.acks >= 10); /* 4 credits: without acks the PLC would have stopped after 4 */
    result = 1;
    assert_int_equal(plcio_s7plus_client_unsubscribe_async(c, id, on_done, &result), PLCIO_OK);
    loop_until(c, &result, NULL, 0);
    assert_int_equal(result, PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_unsubscribe_async(c, id, on_done, &result), PLCIO_ENOTFOUND);
    plcio_s7plus_client_free(c);
    plcio_s7_client_free(s7);
    plcio_test_proc_stop(&sim);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/plcio-s7plus-sub-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(cert, sizeof cert, "%s/sim.pem", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return plcio_test_rm_rf(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_subscribe_tls_and_v1), cmocka_unit_test(test_credit_flow),
                                       cmocka_unit_test(test_limits_and_bad_calls), cmocka_unit_test(test_event_loop),
                                       cmocka_unit_test(test_slow_client)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
