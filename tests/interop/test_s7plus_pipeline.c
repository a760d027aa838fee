/* Symbolic reads and writes pipelined (several GetMultiVariables /
 * SetMultiVariables under way at once, answers matched by sequence number):
 * plcio's S7CommPlus client against `plcio sim s7` serving an optimized DB
 * (tests/fixtures/s7plus_symbolic). Items in a scrambled order with bad
 * symbols (an array index the simulator does not have) among them, blocking
 * and event-loop; each item's value must be its own (the order of results);
 * the simulator killed while a window of requests is under way: the items
 * answered before keep their values, every other one gets the error, none is
 * left looking done; the simulator stopped during a blocking call: its
 * timeout for every item. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7plus.h"
#include "plcio/value.h"
#include "plcio_test.h"
#include "s7plus_sim.h"

enum { N = 1200 };

static int start_sim(plcio_test_proc *p) { return plcio_test_s7plus_sim_start(p, PLCIO_TEST_S7PLUS_DB); }

static plcio_s7plus_client *client(int port, const char *params, bool connect)
{
    return plcio_test_s7plus_client(port, params, connect);
}

/* Item k names "Plant".Big[elem(k)], a scrambled order; every 13th item a
 * bad symbol: the same path with an index past the array's end. */
static int elem(int k) { return (k * 7919) % N; }
static bool bad(int k) { return k % 13 == 5; }
static int64_t value_of(int e) { return (int64_t)e * 31 - 40000; }

static plcio_s7plus_sym_item *make_items(plcio_s7plus_client *resolver)
{
    plcio_s7plus_sym_item *items = calloc(N, sizeof *items);
    assert_non_null(items);
    for (int k = 0; k < N; k++) {
        char name[64];
        snprintf(name, sizeof name, "\"Plant\".Big[%d]", elem(k));
        if (plcio_s7plus_client_resolve(resolver, name, &items[k].sym))
            fail_msg("resolve %s: %s", name, plcio_s7plus_client_last_error(resolver)->text);
        if (bad(k)) items[k].sym.lids[items[k].sym.nlids - 1] = 5000 + (uint32_t)k;
    }
    return items;
}

static void set_values(plcio_s7plus_sym_item *items, int64_t delta)
{
    for (int k = 0; k < N; k++) {
        plcio_value_init(&items[k].value, PLCIO_TYPE_DINT);
        items[k].value.v.i = value_of(elem(k)) + delta;
        items[k].result = 12345; /* whatever was there before */
    }
}

static void check_results(const plcio_s7plus_sym_item *items, bool read, int64_t delta)
{
    for (int k = 0; k < N; k++) {
        if (bad(k)) {
            if (items[k].result != PLCIO_EPLC || items[k].error == 0)
                fail_msg("item %d (a bad symbol): result %d, error 0x%llx", k, items[k].result,
                         (unsigned long long)items[k].error);
            continue;
        }
        if (items[k].result != PLCIO_OK) fail_msg("item %d: %s", k, plcio_strerror(items[k].result));
        if (read && items[k].value.v.i != value_of(elem(k)) + delta)
            fail_msg("item %d: Big[%d] = %lld, want %lld", k, elem(k), (long long)items[k].value.v.i,
                     (long long)(value_of(elem(k)) + delta));
    }
}

static void clear_values(plcio_s7plus_sym_item *items)
{
    for (int k = 0; k < N; k++) {
        items[k].value.v.i = 0;
        items[k].result = 12345;
    }
}

/* Blocking: write then read back 1200 items, 7 per request, 16 requests under
 * way; the same read one request at a time gives the same. */
static void test_window_blocking(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim);
    plcio_s7plus_client *c = client(port, "&max_items=7&pipeline=16", true);
    plcio_s7plus_sym_item *items = make_items(c);
    set_values(items, 0);
    assert_int_equal(plcio_s7plus_client_write_symbols(c, items, N), PLCIO_OK);
    check_results(items, false, 0);
    clear_values(items);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, items, N), PLCIO_OK);
    check_results(items, true, 0);
    plcio_s7plus_client *one = client(port, "&max_items=7&pipeline=1", true);
    clear_values(items);
    assert_int_equal(plcio_s7plus_client_read_symbols(one, items, N), PLCIO_OK);
    check_results(items, true, 0);
    plcio_s7plus_client_free(one);
    /* URL bounds */
    plcio_s7plus_client *x = NULL;
    plcio_error err;
    char url[128];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?insecure=1&pipeline=17", port);
    assert_int_equal(plcio_s7plus_client_new(url, NULL, &x, &err), PLCIO_ERANGE);
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?insecure=1&pipeline=0", port);
    assert_int_not_equal(plcio_s7plus_client_new(url, NULL, &x, &err), PLCIO_OK);
    assert_null(x);
    free(items);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

static void done_cb(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    int *r = ctx;
    r[0] = result;
    r[1]++; /* times called */
}

static void run_until(plcio_s7plus_client *c, const int *r)
{
    for (int spins = 0; r[1] == 0 && spins < 20000; spins++)
        plcio_test_s7plus_spin(c);
    assert_int_equal(r[1], 1);
}

/* Event-loop: the same, 5 per request, 4 under way. */
static void test_window_async(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim);
    plcio_s7plus_client *resolver = client(port, "", true);
    plcio_s7plus_sym_item *items = make_items(resolver);
    plcio_s7plus_client *c = client(port, "&max_items=5&pipeline=4", false);
    int connected[2] = {1, 0};
    assert_int_equal(plcio_s7plus_client_connect_async(c, done_cb, connected), PLCIO_OK);
    set_values(items, 3);
    int r[2] = {1, 0};
    assert_int_equal(plcio_s7plus_client_write_symbols_async(c, items, N, done_cb, r), PLCIO_OK);
    run_until(c, r);
    assert_int_equal(connected[0], PLCIO_OK);
    assert_int_equal(r[0], PLCIO_OK);
    check_results(items, false, 3);
    clear_values(items);
    r[1] = 0;
    assert_int_equal(plcio_s7plus_client_read_symbols_async(c, items, N, done_cb, r), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_symbols_async(c, items, N, done_cb, r), PLCIO_EBUSY);
    run_until(c, r);
    assert_int_equal(r[0], PLCIO_OK);
    check_results(items, true, 3);
    /* a second client reads what the first wrote */
    clear_values(items);
    assert_int_equal(plcio_s7plus_client_read_symbols(resolver, items, N), PLCIO_OK);
    check_results(items, true, 3);
    free(items);
    plcio_s7plus_client_free(c);
    plcio_s7plus_client_free(resolver);
    plcio_test_proc_stop(&sim);
}

/* Event-loop, one item per request, 16 under way: the simulator killed
 * once the first answers are in. */
static void test_killed_mid_window(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim);
    plcio_s7plus_client *resolver = client(port, "&max_items=64&pipeline=16", true);
    plcio_s7plus_sym_item *items = make_items(resolver);
    for (int k = 0; k < N; k++)
        if (bad(k)) items[k].sym.lids[items[k].sym.nlids - 1] = (uint32_t)elem(k); /* all good here */
    set_values(items, 11);
    assert_int_equal(plcio_s7plus_client_write_symbols(resolver, items, N), PLCIO_OK);
    plcio_s7plus_client_free(resolver);

    plcio_s7plus_client *c = client(port, "&max_items=1&pipeline=16", false);
    int connected[2] = {1, 0};
    assert_int_equal(plcio_s7plus_client_connect_async(c, done_cb, connected), PLCIO_OK);
    clear_values(items);
    int r[2] = {1, 0};
    assert_int_equal(plcio_s7plus_client_read_symbols_async(c, items, N, done_cb, r), PLCIO_OK);
    bool answered = false;
    for (int spins = 0; !answered && r[1] == 0 && spins < 20000; spins++) {
        plcio_test_s7plus_spin(c);
        for (int k = 0; k < N && !answered; k++)
            answered = items[k].result == PLCIO_OK;
    }
    assert_true(answered);
    assert_int_equal(r[1], 0); /* 1200 requests: far from done */
    plcio_test_proc_stop(&sim);
    run_until(c, r);
    assert_int_not_equal(r[0], PLCIO_OK);
    int ok = 0;
    for (int k = 0; k < N; k++) {
        if (items[k].result == PLCIO_OK) {
            ok++;
            if (items[k].value.v.i != value_of(elem(k)) + 11)
                fail_msg("item %d answered with %lld", k, (long long)items[k].value.v.i);
        } else if (items[k].result != r[0]) {
            fail_msg("item %d: result %d, the job's %d", k, items[k].result, r[0]);
        }
    }
    printf("# %d of %d items answered before the simulator was killed; the rest: %s\n", ok, N, plcio_strerror(r[0]));
    assert_true(ok >= 1 && ok < N);
    free(items);
    plcio_s7plus_client_free(c);
}

/* Blocking, the simulator stopped (SIGSTOP): the call's timeout for every item. */
static void test_stopped_blocking(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim);
    plcio_s7plus_client *c = client(port, "&max_items=10&pipeline=8&timeout=300", true);
    plcio_s7plus_sym_item *items = make_items(c);
    clear_values(items);
    assert_int_equal(kill(sim.pid, SIGSTOP), 0);
    int rc = plcio_s7plus_client_read_symbols(c, items, N);
    (void)kill(sim.pid, SIGCONT);
    assert_int_equal(rc, PLCIO_ETIMEDOUT);
    for (int k = 0; k < N; k++)
        if (items[k].result != PLCIO_ETIMEDOUT) fail_msg("item %d: %s", k, plcio_strerror(items[k].result));
    assert_false(plcio_s7plus_client_is_connected(c));
    free(items);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_window_blocking), cmocka_unit_test(test_window_async),
                                       cmocka_unit_test(test_killed_mid_window),
                                       cmocka_unit_test(test_stopped_blocking)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
