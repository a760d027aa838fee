/* Modbus interop with modbus-serial (npm, pinned in tests/interop/package.json):
 * its client against `plcio sim modbus` over TCP, RTU and ASCII (socat
 * pseudo-terminals, 19200 8N1), TCP traffic judged by tshark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_interop.h"

static void run(const char *kind)
{
    char dir[64], link_arg[160], target[160], capture[128], script[600];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, sim, client, cap = PLCIO_TEST_PROC_INIT;
    bool tcp = !strcmp(kind, "tcp");
    const char *nm = plcio_test_node_modules();
    const char *idir = getenv("PLCIO_INTEROP_DIR");
    snprintf(script, sizeof script, "%s/modbus/modbus_serial_client.js", idir && *idir ? idir : PLCIO_INTEROP_DIR);
    setenv("NODE_PATH", nm, 1);
    if (!tcp) {
        mb_socat_start(&socat, dir, 40);
        snprintf(link_arg, sizeof link_arg, "%s/ttyA", dir);
        snprintf(target, sizeof target, "%s/ttyB", dir);
    } else {
        snprintf(link_arg, sizeof link_arg, "127.0.0.1:0");
    }
    char opt[16];
    snprintf(opt, sizeof opt, "--%s", kind);
    const char *sim_argv[] = {getenv("PLCIO_BIN"), "sim", "modbus",    opt,  link_arg, "--unit", "1",
                              "--parity",          "N",   "--seconds", "35", NULL};
    assert_non_null(sim_argv[0]);
    assert_int_equal(plcio_test_proc_start(&sim, sim_argv, "listening on", 10000, 40), 0);
    int port = 0;
    bool captured = false;
    if (tcp) {
        port = plcio_test_port_from_line(sim.line);
        snprintf(target, sizeof target, "127.0.0.1:%d", port);
        snprintf(capture, sizeof capture, "%s/cap.pcapng", dir);
        captured = mb_capture_start(&cap, port, capture, 30);
    }
    const char *argv[] = {"node", script, kind, target, NULL};
    assert_int_equal(plcio_test_proc_start(&client, argv, NULL, 0, 35), 0);
    char line[512];
    bool all_ok = false;
    while (plcio_test_proc_read_line(&client, line, sizeof line, 30000) == 0) {
        print_message("modbus-serial: %s\n", line);
        if (!strcmp(line, "ALL OK")) all_ok = true;
    }
    assert_int_equal(plcio_test_proc_wait(&client, 5000), 0);
    assert_true(all_ok);
    if (captured) {
        mb_capture_finish(&cap, capture, port, false, 20);
        mb_tshark_check(capture, port, false, 20);
    }
    plcio_test_proc_stop(&sim);
    if (!tcp) plcio_test_proc_stop(&socat);
}

static void test_modbus_serial_tcp(void **state)
{
    (void)state;
    run("tcp");
}

static void test_modbus_serial_rtu(void **state)
{
    (void)state;
    run("rtu");
}

static void test_modbus_serial_ascii(void **state)
{
    (void)state;
    run("ascii");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modbus_serial_tcp),
        cmocka_unit_test(test_modbus_serial_rtu),
        cmocka_unit_test(test_modbus_serial_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
