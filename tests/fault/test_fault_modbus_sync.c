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
#include "plcio/modbus.h"

#define FAULT_DIRECT     plcio_modbus_client
#define FAULT_ENGINE_TAG "mb"
#define FAULT_DEVICE_YAML                                                                                              \
    "  - name: dev\n"                                                                                                  \
    "    url: \"modbus-tcp://127.0.0.1:%d?unit=1&timeout=1000\"\n"                                                     \
    "    reconnect: {min: 50ms, max: 200ms}\n"                                                                         \
    "    stale-after: 3\n"                                                                                             \
    "    groups:\n"                                                                                                    \
    "      - interval: 20ms\n"
#define FAULT_TAG_W0      "hr5"
#define FAULT_TAG_R2      "\"hr30:REAL\""
#define FAULT_TAG_TARGET  "\"hr20:DINT\""
#define FAULT_TAG_B40     "hr40"
#define FAULT_TAG_BIT     "co3"
#define FAULT_STABLE_TEXT "15"
#define FAULT_B40_TEXT    "120"
#define FAULT_DEVICE_WORD "device"
#include "fault_sync_fixture.h"

static int fault_start_peer(plcio_test_proc *server, fault_peer peer) { return fault_start_modbus(server, peer); }

static int32_t server_target(ctx *c)
{
    uint16_t r[2];
    int rc = plcio_modbus_read_holding_registers(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 20, 2, r);
    if (rc != PLCIO_OK) fail_msg("direct read: %s", plcio_strerror(rc));
    return (int32_t)((uint32_t)r[0] << 16 | r[1]);
}

static plcio_modbus_client *direct_open(int port)
{
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", port);
    plcio_modbus_client *d = NULL;
    assert_int_equal(plcio_modbus_client_new(url, NULL, &d, NULL), PLCIO_OK);
    /* hr0..49 = 3 * i, hr20..21 = DINT 7, hr30..31 = REAL 3.5, co3 on */
    uint16_t regs[50];
    for (int i = 0; i < 50; i++)
        regs[i] = (uint16_t)(3 * i);
    regs[20] = 0;
    regs[21] = 7;
    regs[30] = 0x4060;
    regs[31] = 0;
    assert_int_equal(plcio_modbus_write_registers(d, PLCIO_MODBUS_UNIT_DEFAULT, 0, 50, regs), PLCIO_OK);
    assert_int_equal(plcio_modbus_write_coil(d, PLCIO_MODBUS_UNIT_DEFAULT, 3, true), PLCIO_OK);
    return d;
}

static void direct_free(plcio_modbus_client *d) { plcio_modbus_client_free(d); }

static int setup_sim(void **state) { return setup_peer(state, PEER_PLCIO_SIM); }
static int setup_pymodbus(void **state) { return setup_peer(state, PEER_PYMODBUS); }

static void change_behind_engine(ctx *c)
{
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 121), PLCIO_OK);
    fault_engine_wait(&c->e, "b40", PLCIO_SHM_QUALITY_GOOD, "121", 2000);
    assert_int_equal(plcio_modbus_write_register(c->direct, PLCIO_MODBUS_UNIT_DEFAULT, 40, 120), PLCIO_OK);
}

#define FAULT_PROTO       "modbus"
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
