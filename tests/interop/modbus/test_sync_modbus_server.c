/* The sync engine's modbus-server output (the live image served as Modbus
 * TCP) read by foreign clients while the S7 PLC changes:
 *   - `plcio sim s7` is the PLC; plcio's S7 client (`plcio write s7://`)
 *     changes its memory;
 *   - `plcio sync --config` maps S7 tags to holding/input registers, coils and
 *     discrete inputs in several word orders;
 *   - pymodbus's client and mbpoll (libmodbus) read the values and the word
 *     orders; exception 04 before the first read and after the PLC is gone;
 *   - writes: refused (01) with writes off; with writes on, refused (02) for a
 *     tag the engine does not let be written, and merged and passed to the PLC
 *     for one it does; the answer comes only once the PLC has the value
 *     (read with the S7 client right after it, no retry); a read sent behind
 *     a write on the same connection is answered after it, in order, with
 *     the written value; a client that leaves before its write's answer
 *     harms nothing; FC 23 (pymodbus's readwrite_registers) answers its read
 *     part with the written value (the write first, as the spec says), also
 *     where the tag is mapped a second time; a write the PLC cannot take (the PLC is gone) gets
 *     exception 04 at pymodbus and libmodbus (mbpoll);
 *   - bad input (garbage) closes only that connection. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "modbus/mb_interop.h"
#include "sync_rig.h"
#include "plcio/modbus.h"

#define PY "/usr/bin/python3"

typedef sync_rig rig; /* plc_port: the PLC's S7 port; out_port: the engine's Modbus port */

static int rigs; /* a segment name of its own per rig */

static void rig_start(rig *r, bool writes)
{
    sync_rig_start_plc(r);
    char text[2400];
    snprintf(text, sizeof text,
             "shm: plcio-test-mbsrv-%d-%d\n"
             "devices:\n"
             "  - name: plc\n"
             "    url: \"s7://127.0.0.1:%d?rack=0&slot=1\"\n"
             "    reconnect: {min: 50ms, max: 200ms}\n"
             "    groups:\n"
             "      - name: fast\n"
             "        interval: 50ms\n"
             "        tags:\n"
             "          - {address: DB2.DBD100:REAL, name: Temp, writable: true}\n"
             "          - {address: DB2.DBW104:INT, name: Count}\n"
             "          - {address: DB2.DBX106.0, name: Run, writable: true}\n"
             "          - {address: DB2.DBD108:DINT, name: Big}\n"
             "          - {address: DB2.DBD112:REAL, name: Limit, writable: true}\n"
             "modbus-server:\n"
             "  listen: 127.0.0.1:%d\n"
             "  writes: %s\n"
             "  map:\n"
             "    - {tag: Temp, holding: 0}\n"
             "    - {tag: Temp, holding: 10, order: CDAB}\n"
             "    - {tag: Temp, input: 20, order: BADC}\n"
             "    - {tag: Big, holding: 4, order: DCBA}\n"
             "    - {tag: Count, input: 0}\n"
             "    - {tag: Run, coil: 0}\n"
             "    - {tag: Run, discrete: 3}\n"
             "    - {tag: Limit, holding: 30, order: CDAB}\n",
             (int)getpid(), ++rigs, r->plc_port, r->out_port, writes ? "true" : "false");
    sync_rig_start_sync(r, text);
}

static void rig_stop(rig *r)
{
    if (r->sync.pid > 0) kill(r->sync.pid, SIGTERM);           /* the engine removes its segment */
    assert_int_equal(plcio_test_proc_wait(&r->sync, 5000), 0); /* (and under ASan: no leak, no error) */
    sync_rig_stop(r);
}

/* pymodbus: "TABLE ADDR COUNT" reads, one line of numbers per read ("E<code>" for an exception). */
static void pymodbus_read(const rig *r, const char *reads, char *out, size_t cap)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys, logging\n"
             "logging.basicConfig(level=logging.CRITICAL)\n"
             "from pymodbus.client import ModbusTcpClient\n"
             "c = ModbusTcpClient(\"127.0.0.1\", port=%d, timeout=3)\n"
             "c.connect()\n"
             "it = sys.argv[1].split()\n"
             "for i in range(0, len(it), 3):\n"
             "    t, a, n = it[i], int(it[i+1]), int(it[i+2])\n"
             "    f = {\"hr\": c.read_holding_registers, \"ir\": c.read_input_registers, \"co\": c.read_coils, \"di\": "
             "c.read_discrete_inputs}[t]\n"
             "    rr = f(a, n, slave=1)\n"
             "    if rr.isError(): print(\"E%%d\" %% rr.exception_code)\n"
             "    elif t in (\"co\", \"di\"): print(\" \".join(str(int(b)) for b in rr.bits[:n]))\n"
             "    else: print(\" \".join(str(x) for x in rr.registers))\n"
             "c.close()' '%s' 2>&1",
             PY, r->out_port, reads);
    assert_int_equal(plcio_test_run(cmd, out, cap), 0);
}

/* Read until the engine's image has the PLC's new value (pymodbus line wanted). */
static void wait_for(const rig *r, const char *reads, const char *want)
{
    char out[1024] = "";
    for (int i = 0; i < 100; i++) {
        pymodbus_read(r, reads, out, sizeof out);
        if (!strcmp(out, want)) return;
        mb_sleep_ms(100);
    }
    fail_msg("pymodbus read '%s': got '%s', want '%s'\n", reads, out, want);
}

/* A raw Modbus/TCP connection to the engine's output. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Read exactly n bytes (5 s at most per wait); the count read. */
static size_t raw_read(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1) break;
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

static void regs_of_float(float v, uint16_t *hi, uint16_t *lo)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    *hi = (uint16_t)(u >> 16);
    *lo = (uint16_t)u;
}

static void test_values_and_word_orders(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, false);
    char want[512], out[1024];
    /* before the PLC has values the engine read: exception 04, never zeros taken for values */
    pymodbus_read(&r, "hr 0 2", out, sizeof out);
    print_message("before the first read: %s", out);
    for (int round = 0; round < 2; round++) {
        double temp = round ? -0.125 : 123.456;
        int count = round ? 31000 : -7;
        long big = round ? -2 : 0x12345678;
        char assign[300];
        snprintf(assign, sizeof assign, "DB2.DBD100:REAL=%.9g DB2.DBW104:INT=%d DB2.DBX106.0=%s DB2.DBD108:DINT=%ld",
                 temp, count, round ? "false" : "true", big);
        sync_rig_plc_write(&r, assign);
        uint16_t hi, lo;
        regs_of_float((float)temp, &hi, &lo);
        uint32_t b = (uint32_t)big;
        /* DCBA: fully little-endian: registers (D C) (B A) */
        uint16_t d0 = (uint16_t)((b & 0xFF) << 8 | ((b >> 8) & 0xFF)),
                 d1 = (uint16_t)(((b >> 16) & 0xFF) << 8 | b >> 24);
        snprintf(want, sizeof want, "%u %u\n%u %u\n%u %u\n%u\n%u\n%u\n%u %u\n", hi, lo, lo, hi,
                 (unsigned)((hi >> 8) | (hi & 0xFF) << 8), (unsigned)((lo >> 8) | (lo & 0xFF) << 8),
                 (unsigned)(uint16_t)count, round ? 0u : 1u, round ? 0u : 1u, d0, d1);
        wait_for(&r, "hr 0 2 hr 10 2 ir 20 2 ir 0 1 co 0 1 di 3 1 hr 4 2", want);
        print_message("pymodbus sees round %d: %s", round, want);
        /* mbpoll (libmodbus): the float in ABCD and CDAB as it decodes them */
        char cmd[400];
        snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 1 -c 1 -t 4:float -B -1 127.0.0.1 2>&1",
                 r.out_port);
        assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
        char f[64];
        snprintf(f, sizeof f, "[1]: \t%g", (double)(float)temp);
        if (!strstr(out, f)) fail_msg("mbpoll ABCD: want '%s' in:\n%s\n", f, out);
        snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 11 -c 1 -t 4:float -1 127.0.0.1 2>&1",
                 r.out_port);
        assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
        snprintf(f, sizeof f, "[11]: \t%g", (double)(float)temp);
        if (!strstr(out, f)) fail_msg("mbpoll CDAB: want '%s' in:\n%s\n", f, out);
        snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 1 -c 1 -t 3 -1 127.0.0.1 2>&1", r.out_port);
        assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
        snprintf(f, sizeof f, "[1]: \t%u", (unsigned)(uint16_t)count); /* mbpoll: "65529 (-7)" */
        if (!strstr(out, f)) fail_msg("mbpoll input INT: want '%s' in:\n%s\n", f, out);
    }
    /* beyond the map: 02 */
    pymodbus_read(&r, "hr 31 5 co 1 1", out, sizeof out);
    assert_string_equal(out, "E2\nE2\n");
    /* writes are off: 01, and the PLC keeps its value */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 1 -t 4 -1 127.0.0.1 7 2>&1", r.out_port);
    assert_true(plcio_test_run(cmd, out, sizeof out) != 0);
    plcio_modbus_client *c = NULL;
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d", r.out_port);
    assert_int_equal(plcio_modbus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_modbus_write_register(c, 1, 0, 7), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_FUNCTION);
    assert_int_equal(plcio_modbus_write_coil(c, 1, 0, true), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_FUNCTION);
    /* garbage on one connection closes it; the other goes on */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r.out_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL), 18);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    char junk[64];
    assert_int_equal(recv(fd, junk, sizeof junk, 0), 0);
    close(fd);
    uint16_t regs[2];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 2, regs), PLCIO_OK);
    /* the PLC goes away: its tags turn bad, reads get 04 */
    plcio_test_proc_stop(&r.sim);
    int rc = PLCIO_OK;
    for (int i = 0; i < 100 && rc == PLCIO_OK; i++) {
        rc = plcio_modbus_read_holding_registers(c, 1, 0, 2, regs);
        if (rc == PLCIO_OK) mb_sleep_ms(100);
    }
    assert_int_equal(rc, PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_SERVER_DEVICE_FAILURE);
    plcio_modbus_client_free(c);
    rig_stop(&r);
}

static void test_writes_when_enabled(void **state)
{
    (void)state;
    rig r;
    rig_start(&r, true);
    sync_rig_plc_write(&r, "DB2.DBD100:REAL=1.5 DB2.DBD112:REAL=2.5 DB2.DBD108:DINT=9 DB2.DBX106.0=false");
    uint16_t hi, lo;
    regs_of_float(2.5f, &hi, &lo);
    char want[128], out[600], cmd[600];
    snprintf(want, sizeof want, "%u %u\n", lo, hi);
    wait_for(&r, "hr 30 2", want);
    /* pymodbus writes Temp (ABCD) as two registers, and the coil */
    regs_of_float(-42.25f, &hi, &lo);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import logging\nlogging.basicConfig(level=logging.CRITICAL)\n"
             "from pymodbus.client import ModbusTcpClient\n"
             "c = ModbusTcpClient(\"127.0.0.1\", port=%d, timeout=3)\nc.connect()\n"
             "a = c.write_registers(0, [%u, %u], slave=1)\nb = c.write_coil(0, True, slave=1)\n"
             "e = c.write_register(4, 1, slave=1)\n"
             "print(a.isError(), b.isError(), e.isError(), getattr(e, \"exception_code\", 0))' 2>&1",
             PY, r.out_port, hi, lo);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "False False True 2\n"); /* Big is not writable: 02 */
    /* mbpoll (libmodbus) writes one register of Limit (CDAB: the high word is hr31) */
    regs_of_float(100.0f, &hi, &lo);
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 32 -t 4 -1 127.0.0.1 %u 2>&1", r.out_port, hi);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    /* the PLC has them the moment the answers came (read back with the S7 client, once: no retry) */
    snprintf(cmd, sizeof cmd,
             "%s read s7://127.0.0.1:%d DB2.DBD100:REAL DB2.DBX106.0 DB2.DBD108:DINT DB2.DBD112:REAL 2>&1",
             plcio_test_bin(), r.plc_port);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "DB2.DBD100:REAL = -42.25") || !strstr(out, "DB2.DBX106.0 = true") ||
        !strstr(out, "DB2.DBD108:DINT = 9") || !strstr(out, "DB2.DBD112:REAL = 100"))
        fail_msg("the PLC right after the Modbus writes' answers:\n%s", out);

    /* a write and a read sent together on one connection: answered in order, the
     * read after the write (it sees the written value) */
    regs_of_float(7.0f, &hi, &lo);
    int fd = raw_connect(r.out_port);
    const uint8_t two[24] = {0x01, 0x01, 0, 0, 0, 6, 1, 6,  0, 31, (uint8_t)(hi >> 8), (uint8_t)hi, 0x01, 0x02,
                             0,    0,    0, 6, 1, 3, 0, 30, 0, 2};
    assert_int_equal(send(fd, two, sizeof two, MSG_NOSIGNAL), (ssize_t)sizeof two);
    uint8_t ans[25];
    assert_int_equal(raw_read(fd, ans, sizeof ans), sizeof ans);
    assert_memory_equal(ans, two, 12); /* the write's echo, first */
    const uint8_t rd[13] = {0x01,       0x02, 0, 0, 0, 7, 1, 3, 4, (uint8_t)(lo >> 8), (uint8_t)lo, (uint8_t)(hi >> 8),
                            (uint8_t)hi};
    assert_memory_equal(ans + 12, rd, sizeof rd);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s read s7://127.0.0.1:%d DB2.DBD112:REAL 2>&1", plcio_test_bin(), r.plc_port);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    if (!strstr(out, "DB2.DBD112:REAL = 7")) fail_msg("the PLC after the pipelined write:\n%s", out);

    /* a client that leaves while its write is pending: the write still happens, nothing breaks */
    regs_of_float(3.5f, &hi, &lo);
    fd = raw_connect(r.out_port);
    const uint8_t w16[17] = {
        0x02,       0x01, 0, 0, 0, 11, 1, 16, 0, 0, 0, 2, 4, (uint8_t)(hi >> 8), (uint8_t)hi, (uint8_t)(lo >> 8),
        (uint8_t)lo};
    assert_int_equal(send(fd, w16, sizeof w16, MSG_NOSIGNAL), (ssize_t)sizeof w16);
    close(fd);
    snprintf(want, sizeof want, "%u %u\n", hi, lo);
    wait_for(&r, "hr 0 2", want); /* the engine serves on, with the value the PLC took */

    /* FC 23: the read part answered after the write landed: -3.5 written to
     * hr 0..1 (ABCD) reads back there, and at hr 10..11 (the same tag, CDAB);
     * then 6.25 */
    uint16_t hi2, lo2;
    regs_of_float(-3.5f, &hi, &lo);
    regs_of_float(6.25f, &hi2, &lo2);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import logging\nlogging.basicConfig(level=logging.CRITICAL)\n"
             "from pymodbus.client import ModbusTcpClient\n"
             "c = ModbusTcpClient(\"127.0.0.1\", port=%d, timeout=5)\nc.connect()\n"
             "a = c.readwrite_registers(read_address=0, read_count=2, write_address=0, write_registers=[%u, %u], "
             "slave=1)\n"
             "b = c.readwrite_registers(read_address=10, read_count=2, write_address=0, write_registers=[%u, %u], "
             "slave=1)\n"
             "print(a.registers, b.registers)' 2>&1",
             PY, r.out_port, hi, lo, hi2, lo2);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    snprintf(want, sizeof want, "[%u, %u] [%u, %u]\n", hi, lo, lo2, hi2);
    printf("FC 23 read parts: %s", out);
    assert_string_equal(out, want);

    /* the PLC is gone: a write cannot be done, and the client hears so (04), not "done" */
    plcio_test_proc_stop(&r.sim);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import logging\nlogging.basicConfig(level=logging.CRITICAL)\n"
             "from pymodbus.client import ModbusTcpClient\n"
             "c = ModbusTcpClient(\"127.0.0.1\", port=%d, timeout=10)\nc.connect()\n"
             "a = c.write_registers(0, [1, 2], slave=1)\nb = c.write_coil(0, False, slave=1)\n"
             "print(a.isError(), getattr(a, \"exception_code\", 0), b.isError(), getattr(b, \"exception_code\", 0))' "
             "2>&1",
             PY, r.out_port);
    assert_int_equal(plcio_test_run(cmd, out, sizeof out), 0);
    assert_string_equal(out, "True 4 True 4\n");
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 32 -t 4 -1 127.0.0.1 16968 2>&1", r.out_port);
    assert_true(plcio_test_run(cmd, out, sizeof out) != 0);
    if (!strstr(out, "Slave device or server failure")) fail_msg("mbpoll write with the PLC gone:\n%s", out);
    print_message("with the PLC gone, mbpoll: %s", out);
    rig_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_word_orders),
        cmocka_unit_test(test_writes_when_enabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
