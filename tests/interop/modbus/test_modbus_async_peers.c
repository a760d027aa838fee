/* The Modbus client's event-loop mode against foreign servers and on a real
 * serial line (a socat pseudo-terminal pair):
 *   - pymodbus 3.0 over TCP (8 in flight) and RTU;
 *   - libmodbus 3.1 (modbus_reply) over TCP (8 in flight) and RTU;
 *   - plcio's own server on the serial line, two units on the bus, one unit
 *     that does not exist (no answer on a bus: the request times out alone,
 *     the bus goes on).
 * Reads complete in submission order with the peers' known contents; an
 * exception is a result; writes land. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>

#include "mb_async_loop.h"
#include "mb_interop.h"
#include "plcio/modbus.h"

#define PY "/usr/bin/python3"

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    assert_non_null(v);
    return v;
}

static const char *peer_script(void)
{
    static char path[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(path, sizeof path, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    return path;
}

static plcio_modbus_client *open_client(const char *url)
{
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    assert_int_equal(plcio_modbus_client_set_depth(c, 8), PLCIO_OK);
    assert_int_equal(plcio_modbus_client_connect_async(c), PLCIO_OK);
    return c;
}

/* Both peers hold holding[i] = i (pymodbus: for i < 100), input[i] = 1000 + i,
 * coils[i] = i % 3 == 0 in the first 100 addresses; 1990 is beyond both. */
static void peer_scenario(plcio_modbus_client *c, int nreads)
{
    static uint16_t regs[40][2], ir[5], after[3], w[3] = {0x0102, 0x0304, 0xFFFF};
    static uint8_t coils[30];
    static plcio_modbus_request reqs[48];
    assert_true(nreads <= 40);
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < nreads; i++)
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)(2 * i), .n = 2, .regs = regs[i]};
    int ix_ir = nreads, ix_co = nreads + 1, ix_ex = nreads + 2, ix_w = nreads + 3, ix_rb = nreads + 4, n = nreads + 5;
    reqs[ix_ir] = (plcio_modbus_request){.unit = 1, .function = 4, .addr = 10, .n = 5, .regs = ir};
    reqs[ix_co] = (plcio_modbus_request){.unit = 1, .function = 1, .addr = 0, .n = 30, .bits = coils};
    reqs[ix_ex] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 1990, .n = 5, .regs = ir};
    reqs[ix_w] = (plcio_modbus_request){.unit = 1, .function = 16, .addr = 150, .n = 3, .regs = w};
    reqs[ix_rb] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 150, .n = 3, .regs = after};
    for (int i = 0; i < n; i++)
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, n, 60000), PLCIO_OK);
    assert_int_equal(log.done, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(log.order[i], i);
    for (int i = 0; i < nreads; i++) {
        assert_int_equal(reqs[i].result, PLCIO_OK);
        assert_int_equal(regs[i][0], 2 * i);
        assert_int_equal(regs[i][1], 2 * i + 1);
    }
    assert_int_equal(reqs[ix_ir].result, PLCIO_OK);
    for (int k = 0; k < 5; k++)
        assert_int_equal(ir[k], 1010 + k);
    assert_int_equal(reqs[ix_co].result, PLCIO_OK);
    for (int k = 0; k < 30; k++)
        assert_int_equal(coils[k], k % 3 == 0);
    assert_int_equal(reqs[ix_ex].result, PLCIO_EMBEXC);
    assert_int_equal(reqs[ix_ex].exception, PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(reqs[ix_w].result, PLCIO_OK);
    assert_int_equal(reqs[ix_rb].result, PLCIO_OK);
    assert_memory_equal(after, w, sizeof w);
}

/* The scenario against a foreign server started with argv: over TCP, or on
 * ttyA of the socat pair in dir (serial) with the client on ttyB. Stops the
 * server and the pair, removes dir. */
static void against_peer(const char **argv, bool serial, const char *dir, plcio_test_proc *socat, int start_ms)
{
    char url[300];
    plcio_test_proc server;
    assert_int_equal(plcio_test_proc_start(&server, argv, "listening on", start_ms, 85), 0);
    if (serial)
        snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=1500", dir);
    else
        snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=3000", plcio_test_port_from_line(server.line));
    plcio_modbus_client *c = open_client(url);
    peer_scenario(c, serial ? 10 : 40);
    plcio_modbus_client_free(c);
    plcio_test_proc_stop(&server);
    if (serial) plcio_test_proc_stop(socat);
    rmdir(dir);
}

static void test_pymodbus(const char *kind)
{
    char dir[64], tty[128];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT;
    bool serial = !strcmp(kind, "rtu");
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    if (serial) mb_socat_start(&socat, dir, 90);
    const char *argv[] = {PY, peer_script(), "server", kind, tty, "--seconds", "80", NULL};
    if (!serial) argv[4] = "--seconds", argv[5] = "80", argv[6] = NULL;
    against_peer(argv, serial, dir, &socat, 20000);
}

static void test_pymodbus_tcp(void **state)
{
    (void)state;
    test_pymodbus("tcp");
}

static void test_pymodbus_rtu(void **state)
{
    (void)state;
    test_pymodbus("rtu");
}

static void test_libmodbus(const char *kind)
{
    char dir[64], tty[128];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT;
    bool serial = !strcmp(kind, "rtu");
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    if (serial) mb_socat_start(&socat, dir, 90);
    const char *argv[] = {env_path("PLCIO_LMB_SERVER"), kind, tty, "80", NULL};
    if (!serial) argv[2] = "80", argv[3] = NULL;
    against_peer(argv, serial, dir, &socat, 10000);
}

static void test_libmodbus_tcp(void **state)
{
    (void)state;
    test_libmodbus("tcp");
}

static void test_libmodbus_rtu(void **state)
{
    (void)state;
    test_libmodbus("rtu");
}

/* ---- plcio's server on the serial line, two units ---- */

typedef struct serial_server {
    plcio_modbus_server *s;
    pthread_t thread;
} serial_server;

static void *serve(void *p)
{
    plcio_modbus_server_run(((serial_server *)p)->s);
    return NULL;
}

static void test_plcio_server_rtu_two_units(void **state)
{
    (void)state;
    char dir[64], url[300];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat;
    mb_socat_start(&socat, dir, 90);
    serial_server sv;
    (void)plcio_modbus_server_new(NULL, &sv.s, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(200);
    assert_int_equal(plcio_modbus_server_add_unit(sv.s, 1, &bank), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_add_unit(sv.s, 2, &bank), PLCIO_OK);
    uint16_t v[100];
    for (int unit = 1; unit <= 2; unit++) {
        for (uint16_t i = 0; i < 100; i++)
            v[i] = (uint16_t)(unit * 1000 + i);
        assert_int_equal(plcio_modbus_server_write_bank(sv.s, unit, PLCIO_MODBUS_HOLDING_REGISTERS, 0, 100, v),
                         PLCIO_OK);
    }
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyA?baud=19200&parity=N", dir);
    assert_int_equal(plcio_modbus_server_open_serial(sv.s, url), PLCIO_OK);
    assert_int_equal(pthread_create(&sv.thread, NULL, serve, &sv), 0);

    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=1000", dir);
    plcio_modbus_client *c = open_client(url); /* depth 8 asked: a bus keeps one */
    static uint16_t regs[21][4], w[2] = {0xAAAA, 0x5555};
    static plcio_modbus_request reqs[23];
    mb_async_log log = {.base = reqs};
    for (int i = 0; i < 20; i++)
        reqs[i] =
            (plcio_modbus_request){.unit = 1 + i % 2, .function = 3, .addr = (uint16_t)i, .n = 4, .regs = regs[i]};
    /* unit 9 is nobody: on a bus nothing answers; it times out alone */
    reqs[20] = (plcio_modbus_request){.unit = 9,
                                      .function = 3,
                                      .addr = 0,
                                      .n = 4,
                                      .regs = regs[20],
                                      .timeout_ms = 300,
                                      .retries = PLCIO_MODBUS_NO_RETRY};
    reqs[21] = (plcio_modbus_request){.unit = 2, .function = 16, .addr = 150, .n = 2, .regs = w};
    /* the silent unit goes in the middle of the queue */
    for (int i = 0; i < 10; i++)
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(plcio_modbus_submit(c, &reqs[20], mb_async_record, &log), PLCIO_OK);
    for (int i = 10; i < 20; i++)
        assert_int_equal(plcio_modbus_submit(c, &reqs[i], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(plcio_modbus_submit(c, &reqs[21], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, 22, 60000), PLCIO_OK);
    assert_int_equal(log.done, 22);
    for (int k = 0; k < 10; k++)
        assert_int_equal(log.order[k], k);
    assert_int_equal(log.order[10], 20);
    for (int k = 11; k < 21; k++)
        assert_int_equal(log.order[k], k - 1);
    assert_int_equal(reqs[20].result, PLCIO_ETIMEDOUT);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(reqs[i].result, PLCIO_OK);
        for (int k = 0; k < 4; k++)
            assert_int_equal(regs[i][k], (1 + i % 2) * 1000 + i + k);
    }
    assert_int_equal(reqs[21].result, PLCIO_OK);
    uint16_t back[2];
    assert_int_equal(plcio_modbus_server_read_bank(sv.s, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 150, 2, back), PLCIO_OK);
    assert_memory_equal(back, w, sizeof w);
    /* a broadcast write (unit 0) is done once sent and reaches both units */
    static uint16_t b = 0x4242;
    reqs[22] = (plcio_modbus_request){.unit = 0, .function = 6, .addr = 160, .regs = &b};
    assert_int_equal(plcio_modbus_submit(c, &reqs[22], mb_async_record, &log), PLCIO_OK);
    assert_int_equal(mb_async_run(c, &log.done, 23, 10000), PLCIO_OK);
    assert_int_equal(reqs[22].result, PLCIO_OK);
    for (int unit = 1; unit <= 2; unit++) {
        uint64_t end = plcio_monotonic_ns() + 5 * PLCIO_NS_PER_S;
        do {
            assert_int_equal(plcio_modbus_server_read_bank(sv.s, unit, PLCIO_MODBUS_HOLDING_REGISTERS, 160, 1, back),
                             PLCIO_OK);
        } while (back[0] != b && plcio_monotonic_ns() < end);
        assert_int_equal(back[0], b);
    }
    plcio_modbus_client_free(c);
    plcio_modbus_server_stop(sv.s);
    pthread_join(sv.thread, NULL);
    plcio_modbus_server_free(sv.s);
    plcio_test_proc_stop(&socat);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plcio_server_rtu_two_units),
        cmocka_unit_test(test_pymodbus_tcp),
        cmocka_unit_test(test_pymodbus_rtu),
        cmocka_unit_test(test_libmodbus_tcp),
        cmocka_unit_test(test_libmodbus_rtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
