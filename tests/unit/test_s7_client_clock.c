/* The S7 client's event-loop mode on a manual clock over the fake transport
 * (tests/support/fake_transport.h), against plcio's S7 server session in
 * this process: a heartbeat goes exactly when the link has been idle for
 * heartbeat_ms and notices a dead partner exactly timeout_ms later; a request
 * times out at its deadline; reconnection waits for its backoff and not a
 * nanosecond more. Nothing sleeps or opens a socket. The client's faults
 * over real sockets: test_s7_client_faults.c and tests/fault/. */
#include <string.h>

#include "fake_transport.h"
#include "plcio/s7.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"
#include "s7/s7_server_stream.h"

#define T0 (1000 * PLCIO_NS_PER_S)
#define MS PLCIO_NS_PER_MS

typedef struct world {
    plcio_manual_clock clock;
    fake_transport ft;
    fake_s7_partner partner;
    plcio_s7_client *c;
    int connects, disconnects, last_reason;
    int result; /* of the async job; 1 = not done yet */
} world;

static void on_conn(void *ctx, plcio_s7_client *c, int reason)
{
    (void)c, (void)reason;
    ((world *)ctx)->connects++;
}

static void on_disc(void *ctx, plcio_s7_client *c, int reason)
{
    (void)c;
    world *w = ctx;
    w->disconnects++;
    w->last_reason = reason;
}

static void on_done(void *ctx, plcio_s7_client *c, int result)
{
    (void)c;
    ((world *)ctx)->result = result;
}

static world *world_new(int heartbeat_ms)
{
    static world w; /* the link's buffers: not on the stack */
    memset(&w, 0, sizeof w);
    w.clock.now_ns = T0;
    w.partner.clock = &w.clock;
    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    so.pdu_size = 480;
    assert_int_equal(plcio_s7_server_new(&so, &w.partner.srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(w.partner.srv, PLCIO_S7_SERVER_AREA_DB, 1, 600, NULL), PLCIO_OK);
    size_t size = 0;
    uint8_t *db = plcio_s7_server_area_data(w.partner.srv, PLCIO_S7_SERVER_AREA_DB, 1, &size);
    assert_non_null(db);
    for (size_t i = 0; i < size; i++)
        db[i] = (uint8_t)(i * 7 + 1);
    fake_transport_init(&w.ft, &w.clock, fake_s7_partner_accept, &w.partner);
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.connect_timeout_ms = 300;
    o.timeout_ms = 500;
    o.auto_reconnect = true;
    o.reconnect_min_ms = 100;
    o.reconnect_max_ms = 400;
    o.heartbeat_ms = heartbeat_ms;
    o.on_connect = on_conn;
    o.on_disconnect = on_disc;
    o.callback_ctx = &w;
    o.clock = plcio_manual_clock_bind(&w.clock);
    o.transport = &w.ft.ops;
    assert_int_equal(plcio_s7_client_new(NULL, &o, &w.c, NULL), PLCIO_OK);
    return &w;
}

static void world_free(world *w)
{
    plcio_s7_client_free(w->c);
    fake_s7_partner_clear(&w->partner);
    plcio_s7_server_free(w->partner.srv);
}

static void step(void *c) { (void)plcio_s7_client_process(c); }
static uint64_t deadline(void *c)
{
    uint64_t d = 0;
    (void)plcio_s7_client_wants(c, &d);
    return d;
}
static void settle(world *w) { fake_transport_settle(&w->ft, &(fake_client){step, deadline, w->c}); }
static void run_to(world *w, uint64_t until)
{
    fake_transport_run_to(&w->ft, &(fake_client){step, deadline, w->c}, until);
}

static void connect_now(world *w)
{
    assert_int_equal(plcio_s7_client_connect_async(w->c), PLCIO_OK);
    settle(w);
    assert_true(plcio_s7_client_is_connected(w->c));
    assert_int_equal(plcio_s7_client_pdu_size(w->c), 480);
}

static void test_heartbeat_on_time_and_dead_partner(void **state)
{
    (void)state;
    world *w = world_new(30);
    connect_now(w);
    assert_int_equal(w->connects, 1);
    /* the partner drops the link: noticed at once, back after the backoff, not before */
    uint64_t t = w->clock.now_ns;
    fake_link_reset(&w->ft.link, PLCIO_ECLOSED);
    settle(w);
    assert_int_equal(w->disconnects, 1);
    assert_int_equal(w->last_reason, PLCIO_ECLOSED);
    run_to(w, t + 100 * MS - 1);
    assert_int_equal(w->ft.connections, 1);
    run_to(w, t + 100 * MS);
    assert_int_equal(w->ft.connections, 2);
    assert_int_equal(w->connects, 2);
    /* idle: one heartbeat every 30 ms, answered; none before its time */
    for (int i = 0; i < 3; i++) {
        t = w->clock.now_ns;
        int sends = w->ft.sends;
        run_to(w, t + 30 * MS - 1);
        assert_int_equal(w->ft.sends, sends);
        run_to(w, t + 30 * MS);
        assert_int_equal(w->ft.sends, sends + 1);
        assert_true(plcio_s7_client_is_connected(w->c));
    }
    /* the partner goes dark: the next heartbeat finds out, timeout_ms after it went */
    w->ft.link.silent[1] = true;
    t = w->clock.now_ns;
    run_to(w, t + 30 * MS);
    int sends = w->ft.sends;
    run_to(w, t + 30 * MS + 500 * MS - 1);
    assert_int_equal(w->disconnects, 1);
    assert_int_equal(w->ft.sends, sends);
    run_to(w, t + 30 * MS + 500 * MS);
    assert_int_equal(w->disconnects, 2);
    assert_int_equal(w->last_reason, PLCIO_ETIMEDOUT);
    /* and comes back by itself (the backoff starts again at its minimum) */
    run_to(w, t + 30 * MS + 600 * MS);
    assert_int_equal(w->ft.connections, 3);
    assert_int_equal(w->connects, 3);
    assert_true(plcio_s7_client_is_connected(w->c));
    world_free(w);
}

static void test_async_timeout_then_reconnect(void **state)
{
    (void)state;
    world *w = world_new(0);
    connect_now(w);
    static uint8_t b[600];
    plcio_s7_var v = {PLCIO_S7_AREA_DB, 1, 0, sizeof b, -1, b, 0, 0};
    /* a partner that stops answering: the job fails at its deadline exactly */
    w->ft.link.silent[1] = true;
    uint64_t t = w->clock.now_ns;
    w->result = 1;
    assert_int_equal(plcio_s7_client_read_vars_async(w->c, &v, 1, on_done, w), PLCIO_OK);
    run_to(w, t + 500 * MS - 1);
    assert_int_equal(w->result, 1);
    run_to(w, t + 500 * MS);
    assert_int_equal(w->result, PLCIO_ETIMEDOUT);
    assert_int_equal(plcio_s7_client_fd(w->c), -1);
    assert_int_equal(w->last_reason, PLCIO_ETIMEDOUT);
    /* the next job waits for the backoff (100 ms), then reconnects and is served */
    t = w->clock.now_ns;
    assert_int_equal(plcio_s7_client_read_vars_async(w->c, &v, 1, on_done, w), PLCIO_ENOTCONN);
    assert_non_null(strstr(plcio_s7_client_last_error(w->c)->text, "waiting to reconnect"));
    run_to(w, t + 100 * MS - 1);
    assert_int_equal(plcio_s7_client_read_vars_async(w->c, &v, 1, on_done, w), PLCIO_ENOTCONN);
    run_to(w, t + 100 * MS);
    w->result = 1;
    memset(b, 0, sizeof b);
    assert_int_equal(plcio_s7_client_read_vars_async(w->c, &v, 1, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_int_equal(w->ft.connections, 2);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], (uint8_t)(i * 7 + 1));
    world_free(w);
}

static void test_connect_timeout_and_refusal(void **state)
{
    (void)state;
    world *w = world_new(0);
    /* a partner that never answers the connection request: ETIMEDOUT at connect_timeout_ms */
    w->partner.silent_from_start = true;
    uint64_t t = w->clock.now_ns;
    assert_int_equal(plcio_s7_client_connect_async(w->c), PLCIO_OK);
    run_to(w, t + 300 * MS - 1);
    assert_int_not_equal(plcio_s7_client_fd(w->c), -1);
    run_to(w, t + 300 * MS);
    assert_int_equal(plcio_s7_client_fd(w->c), -1);
    assert_int_equal(w->connects, 0);
    assert_int_equal(w->last_reason, PLCIO_ETIMEDOUT);
    assert_non_null(strstr(plcio_s7_client_last_error(w->c)->text, "no answer from the PLC"));
    /* a refused connection: the error, named, and no connection */
    w->partner.silent_from_start = false;
    w->partner.refuse = PLCIO_ECONNREFUSED;
    assert_int_equal(plcio_s7_client_connect_async(w->c), PLCIO_OK);
    assert_int_equal(plcio_s7_client_process(w->c), PLCIO_ECONNREFUSED);
    assert_int_equal(plcio_s7_client_fd(w->c), -1);
    assert_non_null(strstr(plcio_s7_client_last_error(w->c)->text, "refused"));
    assert_int_equal(w->connects, 0);
    /* the partner is back: the next job connects after the backoff and is served */
    w->partner.refuse = 0;
    t = w->clock.now_ns;
    run_to(w, t + 400 * MS);
    uint8_t b[8];
    plcio_s7_var v = {PLCIO_S7_AREA_DB, 1, 8, sizeof b, -1, b, 0, 0};
    w->result = 1;
    assert_int_equal(plcio_s7_client_read_vars_async(w->c, &v, 1, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_int_equal(w->connects, 1);
    assert_int_equal(b[0], (uint8_t)(8 * 7 + 1));
    world_free(w);
}

/* The blocking calls wait on real sockets and real time: a client on a
 * clock or transport of its own refuses them, named. */
static void test_blocking_calls_refused(void **state)
{
    (void)state;
    world *w = world_new(0);
    assert_int_equal(plcio_s7_client_connect(w->c), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(plcio_s7_client_last_error(w->c)->text, "event-loop"));
    connect_now(w);
    uint8_t b[4];
    assert_int_equal(plcio_s7_client_read_area(w->c, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_EUNSUPPORTED);
    assert_int_equal(w->ft.connections, 1);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_on_time_and_dead_partner),
        cmocka_unit_test(test_async_timeout_then_reconnect),
        cmocka_unit_test(test_connect_timeout_and_refusal),
        cmocka_unit_test(test_blocking_calls_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
