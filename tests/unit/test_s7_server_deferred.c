/* S7 server deferred writes (callbacks.write_job, plcio_s7_server_write_reply)
 * over real sockets, the server in caller-driven mode on a pump thread that
 * also makes the replies (they belong on the serving thread):
 *   - the job reaches the application with the server's own checks per item,
 *     nothing is written to the area; the answer goes out on reply, an item
 *     the server refused keeps its code;
 *   - a request pipelined behind the job on the same connection waits and is
 *     answered after it, in order; another connection is served meanwhile;
 *   - no reply within write_timeout_ms: hardware fault, the late reply finds
 *     nothing; a client that leaves while its job waits: the reply finds
 *     nothing and the server goes on;
 *   - a reply from inside the callback; a wrong item count; background mode
 *     refused; control_locked refuses CPU stop at protection level 1. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"
#include "s7/s7_codec.h"
#include "s7_raw_client.h"

#define TMO 3000

/* ---- the server, its callback and its pump thread ---- */

static plcio_s7_server *g_srv;
static pthread_t g_pump;
static atomic_bool g_stop;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
/* what the callback saw (under g_lock) */
static uint64_t g_job;
static size_t g_count;
static plcio_s7_server_write_item g_items[4];
static uint8_t g_data[4][8];
static int g_jobs;
static bool g_reply_inside; /* reply from inside the callback */
/* a reply asked by the test, made by the pump thread */
static bool g_want_reply;
static uint64_t g_reply_job;
static uint8_t g_reply_codes[4];
static size_t g_reply_count;
static int g_reply_rc;
static bool g_replied;

static int write_job(void *ctx, uint64_t job, const plcio_s7_server_write_item *items, size_t count)
{
    (void)ctx;
    pthread_mutex_lock(&g_lock);
    g_job = job;
    g_count = count;
    for (size_t i = 0; i < count && i < 4; i++) {
        g_items[i] = items[i];
        if (items[i].code == PLCIO_S7_SERVER_ITEM_OK) memcpy(g_data[i], items[i].data, items[i].acc.size);
    }
    g_jobs++;
    bool inside = g_reply_inside;
    pthread_mutex_unlock(&g_lock);
    if (inside) {
        uint8_t codes[4] = {PLCIO_S7_SERVER_ITEM_OK, PLCIO_S7_SERVER_ITEM_OK, PLCIO_S7_SERVER_ITEM_OK,
                            PLCIO_S7_SERVER_ITEM_OK};
        assert_int_equal(plcio_s7_server_write_reply(g_srv, job, codes, count), PLCIO_OK);
    }
    return PLCIO_OK;
}

static void *pump(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        (void)plcio_s7_server_run_once(g_srv, 10);
        pthread_mutex_lock(&g_lock);
        if (g_want_reply) {
            g_reply_rc = plcio_s7_server_write_reply(g_srv, g_reply_job, g_reply_codes, g_reply_count);
            g_want_reply = false;
            g_replied = true;
        }
        pthread_mutex_unlock(&g_lock);
    }
    return NULL;
}

/* Ask the pump thread for a reply and wait for its result. */
static int reply(uint64_t job, const uint8_t *codes, size_t count)
{
    pthread_mutex_lock(&g_lock);
    g_reply_job = job;
    memcpy(g_reply_codes, codes, count);
    g_reply_count = count;
    g_replied = false;
    g_want_reply = true;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&g_lock);
        bool done = g_replied;
        int rc = g_reply_rc;
        pthread_mutex_unlock(&g_lock);
        if (done) return rc;
        plcio_test_sleep_ms(5);
    }
    fail_msg("the pump thread did not reply");
    return -1;
}

/* Wait until the callback has seen `n` jobs in all. */
static uint64_t wait_jobs(int n)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&g_lock);
        int got = g_jobs;
        uint64_t job = g_job;
        pthread_mutex_unlock(&g_lock);
        if (got >= n) return job;
        plcio_test_sleep_ms(5);
    }
    fail_msg("no write job reached the application");
    return 0;
}

/* The job timeout: short for the test of the timeout, long for the others (a
 * loaded machine must not time a job out while a test still expects it held). */
static int setup_timeout(unsigned write_timeout_ms)
{
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.write_timeout_ms = write_timeout_ms;
    cfg.control_locked = true;
    cfg.callbacks.write_job = write_job;
    assert_int_equal(plcio_s7_server_new(&cfg, &g_srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 1, 16, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_start(g_srv), PLCIO_EUNSUPPORTED); /* replies need the caller's thread */
    assert_int_equal(plcio_s7_server_listen(g_srv), PLCIO_OK);
    g_jobs = 0;
    g_reply_inside = false;
    atomic_store(&g_stop, false);
    assert_int_equal(pthread_create(&g_pump, NULL, pump, NULL), 0);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_timeout(120000);
}

static int setup_short(void **state)
{
    (void)state;
    return setup_timeout(300);
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&g_stop, true);
    pthread_join(g_pump, NULL);
    plcio_s7_server_free(g_srv);
    g_srv = NULL;
    return 0;
}

/* ---- a tiny client on the codec (s7_raw_client.h) ---- */

static s7_item db_bytes(uint16_t db, uint32_t start, uint16_t count)
{
    return item(PLCIO_S7_AREA_DB, db, PLCIO_S7_TS_BYTE, start, count);
}

/* Send a write job of n items (each `len` bytes of `data`), without waiting. */
static uint16_t send_write(cli *c, const s7_item *items, size_t n, const uint8_t *data, uint16_t len)
{
    s7_data_item d[4];
    for (size_t i = 0; i < n; i++) {
        d[i].return_code = 0;
        d[i].transport = 0;
        d[i].data = data;
        d[i].len = len;
    }
    uint8_t frame[512];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    assert_int_equal(s7_write_request_encode(&o, ++c->ref, items, d, n), PLCIO_OK);
    cli_send(c, frame, o.len);
    return c->ref;
}

static uint16_t send_read(cli *c, const s7_item *it)
{
    uint8_t frame[256];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    assert_int_equal(s7_read_request_encode(&o, ++c->ref, it, 1), PLCIO_OK);
    cli_send(c, frame, o.len);
    return c->ref;
}

static void expect_write_answer(cli *c, uint16_t ref, size_t n, const uint8_t *want)
{
    assert_int_equal(cli_recv_pdu_within(c, TMO), PLCIO_OK);
    assert_int_equal(c->pdu.pdu_ref, ref);
    assert_int_equal(s7_pdu_function(&c->pdu), PLCIO_S7_FN_WRITE);
    uint8_t codes[4];
    assert_int_equal(s7_write_response_decode(&c->pdu, n, codes), PLCIO_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(codes[i], want[i]);
}

static void expect_read_answer(cli *c, uint16_t ref)
{
    assert_int_equal(cli_recv_pdu_within(c, TMO), PLCIO_OK);
    assert_int_equal(c->pdu.pdu_ref, ref);
    assert_int_equal(s7_pdu_function(&c->pdu), PLCIO_S7_FN_READ);
}

/* ======================================================================== */

static void test_answer_waits_for_the_application(void **state)
{
    (void)state;
    cli a, b;
    cli_open(&a, plcio_s7_server_port(g_srv));
    cli_open(&b, plcio_s7_server_port(g_srv));
    uint8_t *mem = plcio_s7_server_area_data(g_srv, PLCIO_S7_SERVER_AREA_DB, 1, NULL);
    s7_item items[2] = {db_bytes(1, 2, 2), db_bytes(9, 0, 2)};
    static const uint8_t v[2] = {0xAB, 0xCD};
    uint16_t wref = send_write(&a, items, 2, v, 2);
    uint64_t job = wait_jobs(1);
    pthread_mutex_lock(&g_lock);
    assert_int_equal(g_count, 2);
    assert_int_equal(g_items[0].code, PLCIO_S7_SERVER_ITEM_OK);
    assert_int_equal(g_items[0].acc.db_number, 1);
    assert_int_equal(g_items[0].acc.start, 2);
    assert_int_equal(g_items[0].acc.size, 2);
    assert_memory_equal(g_data[0], v, 2);
    assert_int_equal(g_items[1].code, PLCIO_S7_SERVER_ITEM_NOT_FOUND); /* DB9: the server's own check */
    pthread_mutex_unlock(&g_lock);

    /* a read pipelined behind the job waits; another connection does not */
    s7_item r = db_bytes(1, 0, 4);
    uint16_t rref = send_read(&a, &r);
    assert_int_equal(cli_recv_pdu_within(&a, 300), PLCIO_ETIMEDOUT);
    expect_read_answer(&b, send_read(&b, &r));
    assert_int_equal(mem[2], 0); /* nothing written by the server */

    static const uint8_t ok2[2] = {PLCIO_S7_SERVER_ITEM_OK, PLCIO_S7_SERVER_ITEM_OK};
    assert_int_equal(reply(job, ok2, 1), PLCIO_EINVAL); /* the job has 2 items */
    assert_int_equal(reply(job, ok2, 2), PLCIO_OK);
    static const uint8_t want[2] = {PLCIO_S7_SERVER_ITEM_OK, PLCIO_S7_SERVER_ITEM_NOT_FOUND};
    expect_write_answer(&a, wref, 2, want);
    expect_read_answer(&a, rref);                          /* then what waited behind it, in order */
    assert_int_equal(reply(job, ok2, 2), PLCIO_ENOTFOUND); /* answered once */
    net_close(a.fd);
    net_close(b.fd);
}

static void test_timeout_and_client_gone(void **state)
{
    (void)state;
    cli a, b;
    cli_open(&a, plcio_s7_server_port(g_srv));
    cli_open(&b, plcio_s7_server_port(g_srv));
    s7_item it = db_bytes(1, 0, 1);
    static const uint8_t one = 1;
    /* no reply: the server answers hardware fault after write_timeout_ms */
    uint16_t wref = send_write(&a, &it, 1, &one, 1);
    uint64_t job = wait_jobs(1);
    static const uint8_t hw[1] = {PLCIO_S7_SERVER_ITEM_HW_FAULT};
    expect_write_answer(&a, wref, 1, hw);
    static const uint8_t ok[1] = {PLCIO_S7_SERVER_ITEM_OK};
    assert_int_equal(reply(job, ok, 1), PLCIO_ENOTFOUND); /* too late */
    /* the connection goes on */
    s7_item r = db_bytes(1, 0, 4);
    expect_read_answer(&a, send_read(&a, &r));

    /* the client leaves while its job waits */
    send_write(&a, &it, 1, &one, 1);
    job = wait_jobs(2);
    net_close(a.fd);
    for (int i = 0; i < 200 && plcio_s7_server_client_count(g_srv) != 1; i++)
        plcio_test_sleep_ms(5);
    assert_int_equal(plcio_s7_server_client_count(g_srv), 1);
    assert_int_equal(reply(job, ok, 1), PLCIO_ENOTFOUND);
    expect_read_answer(&b, send_read(&b, &r));

    /* a reply from inside the callback */
    pthread_mutex_lock(&g_lock);
    g_reply_inside = true;
    pthread_mutex_unlock(&g_lock);
    wref = send_write(&b, &it, 1, &one, 1);
    expect_write_answer(&b, wref, 1, ok);
    expect_read_answer(&b, send_read(&b, &r));
    net_close(b.fd);
}

static void test_control_locked(void **state)
{
    (void)state;
    cli a;
    cli_open(&a, plcio_s7_server_port(g_srv));
    uint8_t frame[128];
    s7_out o = s7_out_make(frame, sizeof frame, 0);
    s7_control stop;
    memset(&stop, 0, sizeof stop);
    stop.function = PLCIO_S7_FN_PLC_STOP;
    stop.service = "P_PROGRAM";
    stop.service_len = 9;
    assert_int_equal(s7_control_encode(&o, ++a.ref, &stop), PLCIO_OK);
    cli_send(&a, frame, o.len);
    assert_int_equal(cli_recv_pdu_within(&a, TMO), PLCIO_OK);
    assert_int_equal(s7_pdu_error(&a.pdu), 0xD241); /* not permitted at this protection level */
    assert_int_equal(plcio_s7_server_get_cpu_state(g_srv), PLCIO_S7_SERVER_CPU_RUN);
    net_close(a.fd);
}

static void test_options(void **state)
{
    (void)state;
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    assert_int_equal(cfg.write_timeout_ms, 10000);
    assert_false(cfg.control_locked);
    plcio_s7_server *srv = NULL;
    cfg.write_timeout_ms = 0;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    cfg.write_timeout_ms = PLCIO_S7_SERVER_TIMEOUT_MAX_MS + 1;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_server_write_reply(NULL, 1, NULL, 0), PLCIO_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test_setup_teardown(test_answer_waits_for_the_application, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_client_gone, setup_short, teardown),
        cmocka_unit_test_setup_teardown(test_control_locked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
