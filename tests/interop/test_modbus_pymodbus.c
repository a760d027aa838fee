/* Modbus interop with pymodbus 3.0 (Debian python3-pymodbus), both ways,
 * over TCP, UDP, RTU and ASCII (serial through socat pseudo-terminals):
 *   - our client against a pymodbus server with known contents;
 *   - the pymodbus client (every function code it has) against `plcio sim modbus`.
 * TCP and UDP traffic is captured and judged by tshark's Modbus dissector.
 * Serial lines run 19200 8N1: this sandbox's pseudo-terminals refuse parity
 * settings from pyserial. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_interop.h"
#include "plcio/modbus.h"

#define PY "/usr/bin/python3"

static const char *peer_script(void)
{
    static char path[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(path, sizeof path, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    return path;
}

/* ---- our client against the pymodbus server ---- */

static void keep_text(void *ctx, size_t index, const char *text)
{
    (void)index;
    snprintf(ctx, 64, "%s", text);
}

static void client_scenario(plcio_modbus_client *c, bool tcp)
{
    uint16_t r[16];
    uint8_t b[16];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 10, r), PLCIO_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(r[i], i);
    float f;
    assert_int_equal(plcio_modbus_read_floats(c, 1, false, 100, 1, &f, PLCIO_MB_ABCD), PLCIO_OK);
    assert_true(f == 123.456f);
    assert_int_equal(plcio_modbus_read_input_registers(c, 1, 3, 5, r), PLCIO_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r[i], 1003 + i);
    assert_int_equal(plcio_modbus_read_coils(c, 1, 0, 10, b), PLCIO_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(b[i], i % 3 == 0);
    assert_int_equal(plcio_modbus_read_discrete_inputs(c, 1, 0, 10, b), PLCIO_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(b[i], i % 2 == 0);
    uint16_t w[3] = {11, 22, 0xFFFF};
    assert_int_equal(plcio_modbus_write_registers(c, 1, 50, 3, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 50, 3, r), PLCIO_OK);
    assert_memory_equal(r, w, 6);
    assert_int_equal(plcio_modbus_write_register(c, 1, 60, 0x1234), PLCIO_OK);
    assert_int_equal(plcio_modbus_mask_write_register(c, 1, 60, 0x00F2, 0x0025), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 60, 1, r), PLCIO_OK);
    assert_int_equal(r[0], (0x1234 & 0x00F2) | (0x0025 & ~0x00F2));
    uint16_t rw[2] = {5, 6};
    assert_int_equal(plcio_modbus_read_write_registers(c, 1, 70, 2, r, 70, 2, rw), PLCIO_OK);
    assert_memory_equal(r, rw, 4);
    assert_int_equal(plcio_modbus_write_coil(c, 1, 1, true), PLCIO_OK);
    uint8_t wb[10] = {1, 1, 0, 0, 1, 0, 1, 0, 0, 1};
    assert_int_equal(plcio_modbus_write_coils(c, 1, 20, 10, wb), PLCIO_OK);
    uint8_t all[30];
    assert_int_equal(plcio_modbus_read_coils(c, 1, 0, 30, all), PLCIO_OK);
    assert_int_equal(all[1], 1);
    assert_memory_equal(all + 20, wb, 10);
    /* exception from the foreign server: beyond its 1000 registers */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 1990, 5, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    uint8_t echo[2] = {0xA5, 0x37}, out[8];
    size_t n;
    assert_int_equal(plcio_modbus_diagnostics(c, 1, 0, echo, 2, out, sizeof out, &n), PLCIO_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(out, echo, 2);
    uint16_t v;
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0E, &v), PLCIO_OK);
    uint16_t status, events;
    assert_int_equal(plcio_modbus_get_comm_event_counter(c, 1, &status, &events), PLCIO_OK);
    uint8_t es;
    assert_int_equal(plcio_modbus_read_exception_status(c, 1, &es), PLCIO_OK);
    uint8_t id[256];
    assert_int_equal(plcio_modbus_report_server_id(c, 1, id, sizeof id, &n), PLCIO_OK);
    static plcio_modbus_device_object objs[64];
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 1, 0, objs, 64, &n), PLCIO_OK);
    assert_int_equal(n, 3);
    assert_string_equal(objs[0].value, "pymodbus-peer");
    assert_string_equal(objs[1].value, "PM");
    assert_string_equal(objs[2].value, "3.0");
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 4, 1, objs, 64, &n), PLCIO_OK);
    assert_int_equal(n, 1);
    assert_string_equal(objs[0].value, "PM");
    char text[64] = "";
    plcio_error err = {0};
    assert_int_equal(plcio_modbus_read_address(c, 1, "400101:REAL", keep_text, text, &err), PLCIO_OK);
    assert_string_equal(text, "123.456001");
    if (tcp) { /* several requests in flight, matched by transaction id */
        static uint16_t regs[40][10];
        plcio_modbus_request reqs[40];
        for (int i = 0; i < 40; i++)
            reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)i, .n = 10, .regs = regs[i]};
        assert_int_equal(plcio_modbus_transact_many(c, reqs, 40, 8), PLCIO_OK);
        for (int i = 0; i < 40; i++) {
            assert_int_equal(reqs[i].result, PLCIO_OK);
            assert_int_equal(regs[i][0], i);
        }
    }
}

static void run_client_against(const char *kind)
{
    char dir[64], capture[128], url[300];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, server, cap = PLCIO_TEST_PROC_INIT;
    bool serial = !strcmp(kind, "rtu") || !strcmp(kind, "ascii");
    char ttyA[128], ttyB[128];
    snprintf(ttyA, sizeof ttyA, "%s/ttyA", dir);
    snprintf(ttyB, sizeof ttyB, "%s/ttyB", dir);
    if (serial) mb_socat_start(&socat, dir, 60);
    const char *argv[] = {PY, peer_script(), "server", kind, ttyA, "--seconds", "50", NULL};
    if (!serial) argv[4] = "--seconds", argv[5] = "50", argv[6] = NULL;
    assert_int_equal(plcio_test_proc_start(&server, argv, "listening on", 20000, 55), 0);
    int port = serial ? 0 : plcio_test_port_from_line(server.line);
    bool captured = false;
    if (!serial) {
        snprintf(capture, sizeof capture, "%s/cap.pcapng", dir);
        captured = mb_capture_start(&cap, port, capture, 40);
        snprintf(url, sizeof url, "modbus-%s://127.0.0.1:%d?timeout=3000", !strcmp(kind, "rtu-tcp") ? "rtu" : kind,
                 port);
    } else {
        snprintf(url, sizeof url, "modbus-%s://%s?baud=19200&parity=N&timeout=1500", kind, ttyB);
    }
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    client_scenario(c, !strcmp(kind, "tcp"));
    plcio_modbus_client_free(c);
    if (captured && !strcmp(kind, "rtu-tcp")) {
        mb_capture_stop(&cap); /* no dissector check: tshark has no RTU-over-TCP port preference */
    } else if (captured) {
        mb_capture_finish(&cap, capture, port, !strcmp(kind, "udp"), 40);
        mb_tshark_check(capture, port, !strcmp(kind, "udp"), 40);
    } else if (!serial) {
        print_message("tshark capture unavailable; dissector check skipped\n");
    }
    plcio_test_proc_stop(&server);
    if (serial) plcio_test_proc_stop(&socat);
}

static void test_client_vs_pymodbus_tcp(void **state)
{
    (void)state;
    run_client_against("tcp");
}
static void test_client_vs_pymodbus_udp(void **state)
{
    (void)state;
    run_client_against("udp");
}
static void test_client_vs_pymodbus_rtu(void **state)
{
    (void)state;
    run_client_against("rtu");
}
static void test_client_vs_pymodbus_ascii(void **state)
{
    (void)state;
    run_client_against("ascii");
}

/* RTU framing on a TCP stream (gateways, "RTU over TCP"). */
static void test_client_vs_pymodbus_rtu_over_tcp(void **state)
{
    (void)state;
    run_client_against("rtu-tcp");
}

/* ---- the pymodbus client against our server ---- */

static void run_pymodbus_against(const char *kind)
{
    char dir[64], capture[128], target[160], link_arg[160];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, sim, client, cap = PLCIO_TEST_PROC_INIT;
    bool serial = !strcmp(kind, "rtu") || !strcmp(kind, "ascii");
    char opt[16];
    snprintf(opt, sizeof opt, "--%s", kind);
    if (serial) {
        mb_socat_start(&socat, dir, 60);
        snprintf(link_arg, sizeof link_arg, "%s/ttyA", dir);
    } else {
        snprintf(link_arg, sizeof link_arg, "127.0.0.1:0");
    }
    const char *sim_argv[] = {plcio_test_bin(), "sim",  "modbus",  opt, link_arg,    "--unit", "1", "--parity", "N",
                              "--size",         "2000", "--files", "2", "--seconds", "50",     NULL};
    assert_int_equal(plcio_test_proc_start(&sim, sim_argv, "listening on", 10000, 55), 0);
    int port = 0;
    bool captured = false;
    if (serial) {
        snprintf(target, sizeof target, "%s/ttyB", dir);
    } else {
        port = plcio_test_port_from_line(sim.line);
        snprintf(target, sizeof target, "127.0.0.1:%d", port);
        snprintf(capture, sizeof capture, "%s/cap.pcapng", dir);
        captured = mb_capture_start(&cap, port, capture, 40);
    }
    const char *py_argv[] = {PY, peer_script(), "client", kind, target, "--unit", "1", "--seconds", "40", NULL};
    assert_int_equal(plcio_test_proc_start(&client, py_argv, NULL, 0, 45), 0);
    char line[512];
    bool all_ok = false;
    while (plcio_test_proc_read_line(&client, line, sizeof line, 40000) == 0) {
        print_message("pymodbus: %s\n", line);
        if (!strcmp(line, "ALL OK")) all_ok = true;
    }
    assert_int_equal(plcio_test_proc_wait(&client, 5000), 0);
    assert_true(all_ok);
    if (captured) {
        mb_capture_finish(&cap, capture, port, !strcmp(kind, "udp"), 40);
        mb_tshark_check(capture, port, !strcmp(kind, "udp"), 40);
    }
    plcio_test_proc_stop(&sim);
    if (serial) plcio_test_proc_stop(&socat);
}

static void test_pymodbus_vs_server_tcp(void **state)
{
    (void)state;
    run_pymodbus_against("tcp");
}
static void test_pymodbus_vs_server_udp(void **state)
{
    (void)state;
    run_pymodbus_against("udp");
}
static void test_pymodbus_vs_server_rtu(void **state)
{
    (void)state;
    run_pymodbus_against("rtu");
}
static void test_pymodbus_vs_server_ascii(void **state)
{
    (void)state;
    run_pymodbus_against("ascii");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_vs_pymodbus_tcp),          cmocka_unit_test(test_client_vs_pymodbus_udp),
        cmocka_unit_test(test_client_vs_pymodbus_rtu),          cmocka_unit_test(test_client_vs_pymodbus_ascii),
        cmocka_unit_test(test_client_vs_pymodbus_rtu_over_tcp), cmocka_unit_test(test_pymodbus_vs_server_tcp),
        cmocka_unit_test(test_pymodbus_vs_server_udp),          cmocka_unit_test(test_pymodbus_vs_server_rtu),
        cmocka_unit_test(test_pymodbus_vs_server_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
