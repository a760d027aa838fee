/* Modbus interop with libmodbus 3.1 (Debian), both ways, TCP and RTU
 * (serial through socat pseudo-terminals, 19200 8N1):
 *   - our client against lmb_server (libmodbus modbus_reply);
 *   - lmb_client (every function code libmodbus has) against `plcio sim modbus`.
 * TCP traffic is captured and judged by tshark's Modbus dissector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mb_interop.h"
#include "plcio/modbus.h"

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    assert_non_null(v);
    return v;
}

static void client_scenario(plcio_modbus_client *c, bool tcp)
{
    uint16_t r[125];
    uint8_t b[64];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 125, r), PLCIO_OK);
    for (int i = 0; i < 125; i++)
        assert_int_equal(r[i], i);
    assert_int_equal(plcio_modbus_read_input_registers(c, 1, 10, 5, r), PLCIO_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(r[i], 1010 + i);
    assert_int_equal(plcio_modbus_read_coils(c, 1, 0, 64, b), PLCIO_OK);
    for (int i = 0; i < 64; i++)
        assert_int_equal(b[i], i % 3 == 0);
    assert_int_equal(plcio_modbus_read_discrete_inputs(c, 1, 0, 64, b), PLCIO_OK);
    for (int i = 0; i < 64; i++)
        assert_int_equal(b[i], i % 2 == 0);
    uint16_t w[123];
    for (int i = 0; i < 123; i++)
        w[i] = (uint16_t)(0xA000 + i);
    assert_int_equal(plcio_modbus_write_registers(c, 1, 200, 123, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 200, 123, r), PLCIO_OK);
    assert_memory_equal(r, w, sizeof w);
    assert_int_equal(plcio_modbus_write_register(c, 1, 5, 0x1234), PLCIO_OK);
    assert_int_equal(plcio_modbus_mask_write_register(c, 1, 5, 0x00F2, 0x0025), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 5, 1, r), PLCIO_OK);
    assert_int_equal(r[0], (0x1234 & 0x00F2) | (0x0025 & ~0x00F2));
    uint16_t rw[2] = {77, 78};
    assert_int_equal(plcio_modbus_read_write_registers(c, 1, 400, 2, r, 400, 2, rw), PLCIO_OK);
    assert_memory_equal(r, rw, 4);
    uint8_t wb[20];
    for (int i = 0; i < 20; i++)
        wb[i] = (uint8_t)(i % 4 == 0);
    assert_int_equal(plcio_modbus_write_coils(c, 1, 500, 20, wb), PLCIO_OK);
    assert_int_equal(plcio_modbus_write_coil(c, 1, 501, true), PLCIO_OK);
    wb[1] = 1;
    assert_int_equal(plcio_modbus_read_coils(c, 1, 500, 20, b), PLCIO_OK);
    assert_memory_equal(b, wb, 20);
    float f[2] = {1.25f, -7.5f}, fo[2];
    assert_int_equal(plcio_modbus_write_floats(c, 1, 600, 2, f, PLCIO_MB_CDAB), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_floats(c, 1, false, 600, 2, fo, PLCIO_MB_CDAB), PLCIO_OK);
    assert_memory_equal((const void *)f, (const void *)fo, sizeof f); /* bit-exact on purpose */
    /* addresses beyond libmodbus's mapping: exception 02. (Function codes
     * libmodbus does not know, 7, 8, 11, 12, 20, 21, 24, 43, cannot be tried:
     * its receiver has no length rule for them and never answers.) */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 990, 20, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    uint8_t id[256];
    size_t n;
    assert_int_equal(plcio_modbus_report_server_id(c, 1, id, sizeof id, &n), PLCIO_OK);
    assert_true(n >= 2);
    if (tcp) {
        static uint16_t regs[50][125];
        plcio_modbus_request reqs[50];
        for (int i = 0; i < 50; i++)
            reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)i, .n = 125, .regs = regs[i]};
        assert_int_equal(plcio_modbus_transact_many(c, reqs, 50, 8), PLCIO_OK);
        for (int i = 0; i < 50; i++) {
            assert_int_equal(reqs[i].result, PLCIO_OK);
            assert_int_equal(regs[i][0], i == 5 ? 0x35 : i); /* 5 was mask-written above */
        }
    }
}

static void test_client_vs_libmodbus_tcp(void **state)
{
    (void)state;
    char dir[64], capture[128], url[128];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc srv, cap = PLCIO_TEST_PROC_INIT;
    const char *argv[] = {env_path("PLCIO_LMB_SERVER"), "tcp", "40", NULL};
    assert_int_equal(plcio_test_proc_start(&srv, argv, "listening on", 10000, 45), 0);
    int port = plcio_test_port_from_line(srv.line);
    snprintf(capture, sizeof capture, "%s/cap.pcapng", dir);
    bool captured = mb_capture_start(&cap, port, capture, 30);
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=3000", port);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    client_scenario(c, true);
    plcio_modbus_client_free(c);
    if (captured) {
        mb_capture_finish(&cap, capture, port, false, 60);
        mb_tshark_check(capture, port, false, 60);
    }
    plcio_test_proc_stop(&srv);
}

static void test_client_vs_libmodbus_rtu(void **state)
{
    (void)state;
    char dir[64], tty[128], url[200];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat, srv;
    mb_socat_start(&socat, dir, 40);
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    const char *argv[] = {env_path("PLCIO_LMB_SERVER"), "rtu", tty, "35", NULL};
    assert_int_equal(plcio_test_proc_start(&srv, argv, "listening on", 10000, 40), 0);
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=1500", dir);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    client_scenario(c, false);
    plcio_modbus_client_free(c);
    plcio_test_proc_stop(&srv);
    plcio_test_proc_stop(&socat);
}

static void run_lmb_client(const char *kind)
{
    char dir[64], capture[128], link_arg[160], portbuf[16], tty[160];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, sim, client, cap = PLCIO_TEST_PROC_INIT;
    bool rtu = !strcmp(kind, "rtu");
    if (rtu) {
        mb_socat_start(&socat, dir, 40);
        snprintf(link_arg, sizeof link_arg, "%s/ttyA", dir);
    } else {
        snprintf(link_arg, sizeof link_arg, "127.0.0.1:0");
    }
    const char *bin = env_path("PLCIO_BIN");
    const char *sim_argv[] = {bin,      "sim",    "modbus", rtu ? "--rtu" : "--tcp",
                              link_arg, "--unit", "1",      "--parity",
                              "N",      "--size", "2000",   "--seconds",
                              "35",     NULL};
    assert_int_equal(plcio_test_proc_start(&sim, sim_argv, "listening on", 10000, 40), 0);
    int port = 0;
    bool captured = false;
    const char *cl_argv[5];
    cl_argv[0] = env_path("PLCIO_LMB_CLIENT");
    cl_argv[1] = kind;
    if (rtu) {
        snprintf(tty, sizeof tty, "%s/ttyB", dir);
        cl_argv[2] = tty;
        cl_argv[3] = NULL;
    } else {
        port = plcio_test_port_from_line(sim.line);
        snprintf(portbuf, sizeof portbuf, "%d", port);
        snprintf(capture, sizeof capture, "%s/cap.pcapng", dir);
        captured = mb_capture_start(&cap, port, capture, 30);
        cl_argv[2] = "127.0.0.1";
        cl_argv[3] = portbuf;
    }
    cl_argv[4] = NULL;
    assert_int_equal(plcio_test_proc_start(&client, cl_argv, NULL, 0, 35), 0);
    char line[512];
    bool all_ok = false;
    while (plcio_test_proc_read_line(&client, line, sizeof line, 30000) == 0) {
        print_message("libmodbus: %s\n", line);
        if (!strcmp(line, "ALL OK")) all_ok = true;
    }
    assert_int_equal(plcio_test_proc_wait(&client, 5000), 0);
    assert_true(all_ok);
    if (captured) {
        mb_capture_finish(&cap, capture, port, false, 20);
        mb_tshark_check(capture, port, false, 20);
    }
    plcio_test_proc_stop(&sim);
    if (rtu) plcio_test_proc_stop(&socat);
}

static void test_libmodbus_client_vs_server_tcp(void **state)
{
    (void)state;
    run_lmb_client("tcp");
}

static void test_libmodbus_client_vs_server_rtu(void **state)
{
    (void)state;
    run_lmb_client("rtu");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_vs_libmodbus_tcp),
        cmocka_unit_test(test_client_vs_libmodbus_rtu),
        cmocka_unit_test(test_libmodbus_client_vs_server_tcp),
        cmocka_unit_test(test_libmodbus_client_vs_server_rtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
