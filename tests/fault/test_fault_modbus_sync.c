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
    (void)plcio_modbus_client_new(url, NULL, &c->direct, NULL);
    assert_non_null(c->direct);
    /* hr0..49 = 3 * i, hr20..21 = DINT 7, hr30..31 = REAL 3.5, co3 on */
    uint16_t regs[50];
    for (int i = 0; i < 50; i++)
        regs[i] = (uint16_t)(3 * i);
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
static int32_t device_target(void *c) { return server_target(c); }

static void all_good(ctx *c, int timeout_ms)
{
    c->target = fault_engine_wait_device(&c->e, "target", device_target, c, timeout_ms);
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
        if (now != value && now != before)
            fail_msg("device holds %d, neither %d nor %d", (int)now, (int)value, (int)before);
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
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 121), PLCIO_OK);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, "121", 2000);
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 120), PLCIO_OK);
}

#define FAULT_PROTO       "modbus"
#define FAULT_STABLE_TEXT "15"
#define FAULT_DEVICE_WORD "device"
#define FAULT_NO_CHECKSUM "Modbus TCP"
#include "fault_sync_cases.h"

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
