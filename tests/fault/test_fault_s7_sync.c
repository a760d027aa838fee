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
#define FAULT_ENGINE_TAG "s7"
#define FAULT_DEVICE_YAML                                                                                              \
    "  - name: plc\n"                                                                                                  \
    "    url: \"s7://127.0.0.1:%d?rack=0&slot=1&timeout=400&connect-timeout=400\"\n"                                   \
    "    reconnect: {min: 50ms, max: 200ms}\n"                                                                         \
    "    stale-after: 3\n"                                                                                             \
    "    groups:\n"                                                                                                    \
    "      - interval: 20ms\n"
#include "fault_s7_fixture.h"

static int setup_snap7(void **state) { return setup_peer(state, PEER_SNAP7); }

#define FAULT_PROTO       "s7"
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
