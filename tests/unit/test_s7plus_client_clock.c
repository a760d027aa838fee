/* The S7CommPlus client's event-loop mode on a manual clock over the fake
 * transport (tests/support/fake_transport.h), against plcio's S7 server
 * session with the S7CommPlus simulator behind its handoff, in this process:
 * connect (V1 and TLS 1.3 with the CA checked), reads and writes that land
 * in the server's memory, a job queued while connecting, keep-alives sent
 * exactly when the link has been idle for keepalive_ms and keeping the
 * session past the server's idle timeout (which closes it without them), a
 * dead partner noticed timeout_ms after the keep-alive went, a request and a
 * handshake timing out at their deadline, a refused connection, and the
 * blocking calls refused on a clock of its own. Nothing sleeps or opens a
 * socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_transport.h"
#include "plcio/s7_server.h"
#include "plcio/s7plus.h"
#include "plcio_test.h"
#include "s7/s7_server_stream.h"

#define T0 (1000 * PLCIO_NS_PER_S)
#define MS PLCIO_NS_PER_MS
#define S  PLCIO_NS_PER_S

#define IDLE_MS 60000 /* the S7 server's idle timeout (its default) */

typedef struct world {
    plcio_manual_clock clock;
    fake_transport ft;
    plcio_s7plus_server *plus;
    fake_s7_partner partner;
    uint8_t db1[600];
    int cpu;
    plcio_s7plus_client *c;
    int connected; /* connect callback: 1 = not yet */
    int result;    /* job callback: 1 = not yet */
    int jobs_done;
    char ca[64];
} world;

static int mem_read(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out)
{
    world *w = ctx;
    if (area != PLCIO_S7PLUS_AREA_DB || db != 1) return PLCIO_ENOTFOUND;
    if (start > sizeof w->db1 || size > sizeof w->db1 - start) return PLCIO_ERANGE;
    memcpy(out, w->db1 + start, size);
    return PLCIO_OK;
}

static int mem_write(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, const uint8_t *data)
{
    world *w = ctx;
    if (area != PLCIO_S7PLUS_AREA_DB || db != 1) return PLCIO_ENOTFOUND;
    if (start > sizeof w->db1 || size > sizeof w->db1 - start) return PLCIO_ERANGE;
    memcpy(w->db1 + start, data, size);
    return PLCIO_OK;
}

static int mem_cpu(void *ctx) { return ((world *)ctx)->cpu; }

static void on_connect(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    ((world *)ctx)->connected = result;
}

static void on_done(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    world *w = ctx;
    w->result = result;
    w->jobs_done++;
}

/* params: the client's URL parameters (tls, keepalive, timeout); with_ca:
 * TLS with the server's certificate as the CA */
static world *world_new(const char *params, bool with_ca)
{
    static world w; /* the link's buffers: not on the stack */
    memset(&w, 0, sizeof w);
    w.clock.now_ns = T0;
    w.partner.clock = &w.clock;
    w.cpu = PLCIO_S7PLUS_CPU_RUN;
    for (size_t i = 0; i < sizeof w.db1; i++)
        w.db1[i] = (uint8_t)(i * 7 + 1);
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    po.memory.read = mem_read;
    po.memory.write = mem_write;
    po.memory.cpu_state = mem_cpu;
    po.memory.ctx = &w;
    assert_int_equal(plcio_s7plus_server_new(&po, &w.plus, NULL), PLCIO_OK);
    snprintf(w.ca, sizeof w.ca, "/tmp/plcio-s7p-clock-%d.pem", (int)getpid());
    assert_int_equal(plcio_s7plus_server_write_certificate(w.plus, w.ca, NULL), PLCIO_OK);
    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    so.idle_timeout_ms = IDLE_MS;
    so.handoff.accept = plcio_s7plus_server_accept;
    so.handoff.feed = plcio_s7plus_server_conn_feed;
    so.handoff.output = plcio_s7plus_server_conn_output;
    so.handoff.output_done = plcio_s7plus_server_conn_output_done;
    so.handoff.close = plcio_s7plus_server_conn_close;
    so.handoff.ctx = w.plus;
    assert_int_equal(plcio_s7_server_new(&so, &w.partner.srv, NULL), PLCIO_OK);
    fake_transport_init(&w.ft, &w.clock, fake_s7_partner_accept, &w.partner);
    char url[256];
    snprintf(url, sizeof url, "s7plus://127.0.0.1?%s%s%s", params, with_ca ? "&ca=" : "", with_ca ? w.ca : "");
    plcio_s7plus_client_options o;
    plcio_s7plus_client_options_init(&o);
    o.clock = plcio_manual_clock_bind(&w.clock);
    o.transport = &w.ft.ops;
    plcio_error err;
    memset(&err, 0, sizeof err);
    int rc = plcio_s7plus_client_new(url, &o, &w.c, &err);
    if (rc) fprintf(stderr, "%s: %s\n", url, err.text);
    assert_int_equal(rc, PLCIO_OK);
    w.connected = 1;
    w.result = 1;
    return &w;
}

static void world_free(world *w)
{
    plcio_s7plus_client_free(w->c);
    fake_s7_partner_clear(&w->partner);
    plcio_s7_server_free(w->partner.srv);
    plcio_s7plus_server_free(w->plus);
    unlink(w->ca);
}

static void step(void *c) { (void)plcio_s7plus_client_process(c); }
static uint64_t deadline(void *c)
{
    uint64_t d = 0;
    (void)plcio_s7plus_client_wants(c, &d);
    return d;
}
static void settle(world *w) { fake_transport_settle(&w->ft, &(fake_client){step, deadline, w->c}); }
static void run_to(world *w, uint64_t until)
{
    fake_transport_run_to(&w->ft, &(fake_client){step, deadline, w->c}, until);
}

static void connect_now(world *w)
{
    assert_int_equal(plcio_s7plus_client_connect_async(w->c, on_connect, w), PLCIO_OK);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    assert_true(plcio_s7plus_client_wants(w->c, NULL) & PLCIO_S7PLUS_WANT_WRITE);
    settle(w);
    assert_int_equal(w->connected, PLCIO_OK);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    assert_true(plcio_s7plus_client_fd(w->c) >= 0);
}

static void test_jobs(void **state)
{
    (void)state;
    world *w = world_new("tls=0", false);
    /* a job before connect_async: refused, its callback never runs */
    uint8_t b[16];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 10, sizeof b, b, 0, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_ENOTCONN);
    assert_int_equal(w->jobs_done, 0);
    /* the blocking calls refuse a client on a clock of its own */
    assert_int_equal(plcio_s7plus_client_connect(w->c), PLCIO_EUNSUPPORTED);
    assert_int_equal(plcio_s7plus_client_last_error(w->c)->code, PLCIO_EUNSUPPORTED);
    /* queued while connecting: goes when the session is ready */
    assert_int_equal(plcio_s7plus_client_connect_async(w->c, on_connect, w), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    assert_true(plcio_s7plus_client_busy(w->c));
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_EBUSY);
    settle(w);
    assert_int_equal(w->connected, PLCIO_OK);
    assert_int_equal(w->result, PLCIO_OK);
    assert_int_equal(w->jobs_done, 1);
    assert_false(plcio_s7plus_client_busy(w->c));
    assert_int_equal(it.result, PLCIO_OK);
    assert_memory_equal(b, w->db1 + 10, sizeof b);
    assert_string_equal(plcio_s7plus_client_tls_version(w->c), "");
    /* a write lands in the server's memory; a second item that does not exist fails alone */
    uint8_t wr[4] = {0xDE, 0xAD, 0xBE, 0xEF}, other[2] = {1, 2};
    plcio_s7plus_item two[2] = {{PLCIO_S7PLUS_AREA_DB, 1, 100, 4, wr, 1, 0},
                                {PLCIO_S7PLUS_AREA_DB, 9, 0, 2, other, 1, 0}};
    w->result = 1;
    assert_int_equal(plcio_s7plus_client_write_multi_async(w->c, two, 2, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_int_equal(two[0].result, PLCIO_OK);
    assert_int_equal(two[1].result, PLCIO_EPLC);
    assert_true(two[1].error != 0);
    assert_memory_equal(w->db1 + 100, wr, 4);
    /* and reads back */
    uint8_t back[4] = {0};
    plcio_s7plus_item rb = {PLCIO_S7PLUS_AREA_DB, 1, 100, 4, back, 1, 0};
    w->result = 1;
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &rb, 1, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_memory_equal(back, wr, 4);
    /* a request the partner never answers fails at its deadline (timeout=, default 5000), not before */
    w->ft.link.silent[1] = true;
    uint64_t t = w->clock.now_ns;
    w->result = 1;
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    run_to(w, t + 5000 * MS - 1);
    assert_int_equal(w->result, 1);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    run_to(w, t + 5000 * MS);
    assert_int_equal(w->result, PLCIO_ETIMEDOUT);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(plcio_s7plus_client_fd(w->c), -1);
    assert_non_null(strstr(plcio_s7plus_client_last_error(w->c)->text, "in time"));
    /* connect again: a new connection, and it works */
    w->connected = 1;
    connect_now(w);
    assert_int_equal(w->ft.connections, 2);
    world_free(w);
}

static void test_tls_with_ca(void **state)
{
    (void)state;
    world *w = world_new("timeout=800", true);
    connect_now(w);
    assert_string_equal(plcio_s7plus_client_tls_version(w->c), "TLSv1.3");
    uint8_t b[600];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 0, sizeof b, b, 1, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_memory_equal(b, w->db1, sizeof b);
    world_free(w);
}

static void test_handshake_stops(void **state)
{
    (void)state;
    /* a partner that accepts TCP and then says nothing: the connect fails at
     * connect timeout (timeout=800), exactly */
    world *w = world_new("timeout=800", true);
    w->partner.silent_from_start = true;
    uint64_t t = w->clock.now_ns;
    assert_int_equal(plcio_s7plus_client_connect_async(w->c, on_connect, w), PLCIO_OK);
    run_to(w, t + 800 * MS - 1);
    assert_int_equal(w->connected, 1);
    run_to(w, t + 800 * MS);
    assert_int_equal(w->connected, PLCIO_ETIMEDOUT);
    assert_int_equal(plcio_s7plus_client_fd(w->c), -1);
    /* a refused connection: told at once, through the callback too */
    w->partner.refuse = PLCIO_ECONNREFUSED;
    w->connected = 1;
    assert_int_equal(plcio_s7plus_client_connect_async(w->c, on_connect, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->connected, PLCIO_ECONNREFUSED);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    world_free(w);
}

static void test_keepalive_keeps_session(void **state)
{
    (void)state;
    /* without keep-alive, the server's idle timeout closes the session */
    world *w = world_new("tls=0", false);
    connect_now(w);
    uint64_t t = w->clock.now_ns;
    run_to(w, t + 600 * S);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(plcio_s7plus_client_keepalives(w->c), 0);
    world_free(w);

    /* with keepalive=20000: one request each 20 s of silence, none before its time */
    w = world_new("tls=0&keepalive=20000", false);
    connect_now(w);
    for (int i = 0; i < 3; i++) {
        t = w->clock.now_ns;
        int sends = w->ft.sends;
        uint64_t d = 0;
        plcio_s7plus_client_wants(w->c, &d);
        assert_int_equal(d, t + 20 * S);
        run_to(w, t + 20 * S - 1);
        assert_int_equal(w->ft.sends, sends);
        run_to(w, t + 20 * S);
        assert_int_equal(w->ft.sends, sends + 1);
        assert_int_equal(plcio_s7plus_client_keepalives(w->c), (uint64_t)i + 1);
    }
    /* ten minutes idle: still up, 30 keep-alives later, and a read works */
    t = w->clock.now_ns;
    run_to(w, t + 600 * S);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(plcio_s7plus_client_keepalives(w->c), 3 + 30);
    assert_int_equal(w->ft.connections, 1);
    uint8_t b[8];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 0, sizeof b, b, 1, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    settle(w);
    assert_int_equal(w->result, PLCIO_OK);
    assert_memory_equal(b, w->db1, sizeof b);
    /* traffic counts as life: right after an answer no keep-alive is due for 20 s */
    uint64_t d = 0;
    plcio_s7plus_client_wants(w->c, &d);
    assert_int_equal(d, w->clock.now_ns + 20 * S);
    world_free(w);
}

static void test_keepalive_finds_dead_partner(void **state)
{
    (void)state;
    world *w = world_new("tls=0&keepalive=1000&timeout=300", false);
    connect_now(w);
    /* the partner goes dark: the next keep-alive finds out, timeout (300 ms) after it went */
    w->ft.link.silent[1] = true;
    uint64_t t = w->clock.now_ns;
    run_to(w, t + 1000 * MS);
    assert_int_equal(plcio_s7plus_client_keepalives(w->c), 1);
    /* a job queued behind the keep-alive waits for it, then shares its fate */
    uint8_t b[4];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 0, sizeof b, b, 1, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    run_to(w, t + 1300 * MS - 1);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(w->result, 1);
    run_to(w, t + 1300 * MS);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(w->result, PLCIO_ETIMEDOUT);
    assert_int_equal(w->jobs_done, 1);
    world_free(w);
}

static void test_garbage_from_partner(void **state)
{
    (void)state;
    /* not TPKT at all, in the middle of a job: the job fails with the reason, the connection goes */
    world *w = world_new("tls=0", false);
    connect_now(w);
    uint8_t b[4];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 0, sizeof b, b, 1, 0};
    w->ft.link.silent[1] = true;
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    fake_link_inject(&w->ft.link, 1, "GET / HTTP/1.0\r\n\r\n", 18);
    settle(w);
    assert_int_equal(w->result, PLCIO_EPROTO);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    assert_non_null(strstr(plcio_s7plus_client_last_error(w->c)->text, "TPKT"));
    world_free(w);

    /* a TPKT header that promises more than ever comes, over TLS: the job times out at its deadline */
    w = world_new("timeout=700", true);
    connect_now(w);
    w->ft.link.silent[1] = true;
    w->result = 1;
    uint64_t t = w->clock.now_ns;
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    fake_link_inject(&w->ft.link, 1, "\x03\x00\xff\xff\x02\xf0\x80", 7);
    run_to(w, t + 700 * MS - 1);
    assert_int_equal(w->result, 1);
    run_to(w, t + 700 * MS);
    assert_int_equal(w->result, PLCIO_ETIMEDOUT);
    /* TLS records of garbage after the handshake: refused, not crashed */
    w->result = 1;
    connect_now(w);
    w->ft.link.silent[1] = true;
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    static const uint8_t junk[] = {0x03, 0x00, 0x00, 0x17, 0x02, 0xf0, 0x80, 0x17, 0x03, 0x03, 0x00, 0x0b,
                                   1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11};
    fake_link_inject(&w->ft.link, 1, junk, sizeof junk);
    settle(w);
    assert_true(w->result != 1 && w->result != PLCIO_OK);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    world_free(w);
}

static void test_auto_reconnect(void **state)
{
    (void)state;
    world *w = world_new("tls=0&reconnect=1&timeout=300", false);
    connect_now(w);
    /* the partner drops the link: noticed at once, back after reconnect_min_ms (100), not before */
    uint64_t t = w->clock.now_ns;
    fake_link_reset(&w->ft.link, PLCIO_ECLOSED);
    settle(w);
    assert_false(plcio_s7plus_client_is_connected(w->c));
    uint64_t d = 0;
    assert_int_equal(plcio_s7plus_client_wants(w->c, &d), 0);
    assert_int_equal(d, t + 100 * MS);
    /* a job queued while down waits for the next attempt */
    uint8_t b[4];
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 4, sizeof b, b, 1, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_OK);
    run_to(w, t + 100 * MS - 1);
    assert_int_equal(w->ft.connections, 1);
    assert_int_equal(w->result, 1);
    run_to(w, t + 100 * MS);
    assert_int_equal(w->ft.connections, 2);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    assert_int_equal(w->result, PLCIO_OK);
    assert_memory_equal(b, w->db1 + 4, 4);
    /* refused attempts: the wait doubles (100, 200, 400, 800...) up to reconnect_max_ms (5000) */
    w->partner.refuse = PLCIO_ECONNREFUSED;
    t = w->clock.now_ns;
    fake_link_reset(&w->ft.link, PLCIO_ECLOSED);
    settle(w);
    uint64_t at = t;
    static const int waits[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
        int before = w->ft.connections;
        at += (uint64_t)waits[k] * MS;
        run_to(w, at - 1);
        assert_int_equal(w->ft.connections, before);
        run_to(w, at);
        assert_int_equal(w->ft.connections, before + 1);
        assert_false(plcio_s7plus_client_is_connected(w->c));
    }
    /* the partner is back: the next attempt connects, and the wait starts again at 100 */
    w->partner.refuse = 0;
    at += 5000 * MS;
    run_to(w, at);
    assert_true(plcio_s7plus_client_is_connected(w->c));
    t = w->clock.now_ns;
    fake_link_reset(&w->ft.link, PLCIO_ECLOSED);
    settle(w);
    plcio_s7plus_client_wants(w->c, &d);
    assert_int_equal(d, t + 100 * MS);
    /* close stops it */
    plcio_s7plus_client_close(w->c);
    int n = w->ft.connections;
    run_to(w, t + 60 * S);
    assert_int_equal(w->ft.connections, n);
    assert_int_equal(plcio_s7plus_client_wants(w->c, &d), 0);
    assert_int_equal(d, 0);
    assert_int_equal(plcio_s7plus_client_read_multi_async(w->c, &it, 1, on_done, w), PLCIO_ENOTCONN);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs),
        cmocka_unit_test(test_tls_with_ca),
        cmocka_unit_test(test_handshake_stops),
        cmocka_unit_test(test_keepalive_keeps_session),
        cmocka_unit_test(test_keepalive_finds_dead_partner),
        cmocka_unit_test(test_garbage_from_partner),
        cmocka_unit_test(test_auto_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
