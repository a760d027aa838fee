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
    if (rc != PLCIO_OK) fail_msg("direct read: %s", plcio_s7_client_last_error(c->direct)->text);
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
    (void)plcio_s7_client_new(NULL, &o, &c->direct, NULL);
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
static int32_t device_target(void *c) { return server_target(c); }

static void all_good(ctx *c, int timeout_ms)
{
    c->target = fault_engine_wait_device(&c->e, "target", device_target, c, timeout_ms);
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
        if (now != value && now != before)
            fail_msg("PLC holds %d, neither %d nor %d", (int)now, (int)value, (int)before);
        if (now == value)
            (*failed_in)++;
        else
            (*failed_not)++;
    }
    c->target = now;
    return w;
}

static void change_behind_engine(ctx *c)
{
    uint8_t b[2] = {0x04, 0xD2};
    assert_int_equal(plcio_s7_client_write_area(c->direct, PLCIO_S7_AREA_DB, DB, 0, 2, b), PLCIO_OK);
}

#define FAULT_PROTO       "s7"
#define FAULT_STABLE_TEXT "1234"
#define FAULT_DEVICE_WORD "PLC"
#define FAULT_NO_CHECKSUM "S7"
#include "fault_sync_cases.h"

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
