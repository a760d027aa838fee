/* The sync engine over S7CommPlus (s7plus://, TLS 1.3, insecure=1) behind the
 * fault proxy, against plcio's simulator; one engine per test, never
 * restarted. A classic S7 client talking to the simulator directly is the
 * judge of what the PLC holds (same memory). The cases are those of
 * test_fault_s7_sync.c (fault_sync_cases.h):
 * - delay and single-byte answers: every tag good with the PLC's value, no
 *   reconnection;
 * - stall and dark link longer than the timeout: tags turn stale with a
 *   reason while it lasts, good again afterwards; a write meanwhile fails;
 * - random corruption of the answers (TLS records: the session breaks, the
 *   engine reconnects): every write reported done is in the PLC; afterwards
 *   all good;
 * - connections cut and reset mid-frame: a write reported done is in the
 *   PLC, one reported failed may be; the engine recovers each time. */
#define FAULT_ENGINE_TAG "s7p"
/* timeout=3000: an answer split into one-byte segments (test_delay_and_split) is a TLS
 * record of several hundred bytes, each sent after its own pause: on one loaded CPU
 * the pauses stretch past 1 s, which timed the request out (no fault of the engine) */
#define FAULT_DEVICE_YAML                                                                                              \
    "  - name: plc\n"                                                                                                  \
    "    url: \"s7plus://127.0.0.1:%d?insecure=1&timeout=3000\"\n"                                                     \
    "    reconnect: {min: 50ms, max: 200ms}\n"                                                                         \
    "    stale-after: 3\n"                                                                                             \
    "    groups:\n"                                                                                                    \
    "      - interval: 20ms\n"
#include "fault_s7_fixture.h"

#define FAULT_PROTO       "s7plus"
#define FAULT_NO_CHECKSUM "plain S7CommPlus (tls=0; here TLS is on)"
#include "fault_sync_cases.h"

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delay_and_split, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_dark, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_corruption, setup_sim, teardown),
        cmocka_unit_test_setup_teardown(test_cut_and_reset, setup_sim, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
