/* Issue 23, finding 5: idle connections must not lock anyone out.
 *
 * `plcio sim s7` and `plcio sim modbus` run with their default settings
 * (S7: 256 connections, Modbus: 512; idle timeout 60 s, frame timeout 5 s).
 * The test opens 600 connections that then sit there, in two flavours per
 * server: plain idle TCP connections, and connections that stopped half-way
 * (S7: COTP connection request only; Modbus: three bytes of an MBAP header).
 * Right after, a real client must still connect and read, both plcio's own
 * client and a foreign one (snap7's through node-snap7; pymodbus 3.0). Each
 * attempt is bounded (client timeouts, peers that exit by themselves); no
 * timing is asserted. The foreign half is skipped, with the reason printed,
 * when a peer is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "net/net.h"
#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/s7.h"
#include "plcio_test.h"

#define HOSTILE 600
#define TMO     10000

static const char *bin(void)
{
    const char *b = getenv("PLCIO_BIN");
    if (!b) fail_msg("PLCIO_BIN is not set");
    return b;
}

/* 600 sockets here and up to ~600 in the server (before it evicts). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = 4096;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 2 * HOSTILE + 64) {
        printf("skipped: RLIMIT_NOFILE %llu is too low for %d connections\n", (unsigned long long)rl.rlim_cur, HOSTILE);
        skip();
    }
}

typedef enum hostile_kind { IDLE, HALF } hostile_kind;

/* Open HOSTILE connections; HALF ones send `half` (len bytes) and stop. */
static int *crowd(int port, const uint8_t *half, size_t len)
{
    int *fds = malloc(HOSTILE * sizeof *fds);
    assert_non_null(fds);
    int refused = 0;
    for (int i = 0; i < HOSTILE; i++) {
        fds[i] = -1;
        if (net_tcp_connect("127.0.0.1", port, TMO, &fds[i]) != PLCIO_OK) {
            refused++;
            continue;
        }
        if (half) (void)net_send_all(fds[i], half, len, net_deadline(1000), NULL); /* may be evicted already */
    }
    assert_int_equal(refused, 0);
    return fds;
}

static void disperse(int *fds)
{
    for (int i = 0; i < HOSTILE; i++)
        net_close(fds[i]);
    free(fds);
}

/* Run a foreign peer script; 0 when it printed "ok ..." and exited 0, 1 if
 * it failed, -1 when it could not run at all (then skipped). */
static int run_peer(const char *interp, const char *script, int port)
{
    char path[1024], port_s[16], line[256];
    const char *dir = getenv("PLCIO_LOAD_DIR");
    if (!dir) fail_msg("PLCIO_LOAD_DIR is not set");
    snprintf(path, sizeof path, "%s/%s", dir, script);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *argv[] = {interp, path, port_s, NULL};
    plcio_test_proc p;
    if (plcio_test_proc_start(&p, argv, NULL, 0, 60) != 0) return -1;
    int got = plcio_test_proc_read_line(&p, line, sizeof line, 40000);
    int code = plcio_test_proc_wait(&p, 40000);
    printf("  %s: %s (exit %d)\n", script, got == 0 ? line : "(no output)", code);
    fflush(stdout);
    return got == 0 && code == 0 && !strncmp(line, "ok ", 3) ? 0 : 1;
}

static bool have_node_snap7(void)
{
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    char probe[1024];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/node_modules/node-snap7", dir ? dir : PLCIO_INTEROP_DIR);
    if (stat(probe, &st) != 0) return false;
    snprintf(probe, sizeof probe, "%s/node_modules", dir ? dir : PLCIO_INTEROP_DIR);
    setenv("NODE_PATH", probe, 1);
    return true;
}

static bool have_pymodbus(void) { return system("/usr/bin/python3 -c 'import pymodbus.client' >/dev/null 2>&1") == 0; }

/* ---------------------------------------------------------------- S7 --- */

static int s7_read(int port)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    o.connect_timeout_ms = TMO;
    o.timeout_ms = TMO;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    int rc = c ? plcio_s7_client_connect(c) : PLCIO_ENOMEM;
    if (!rc) {
        uint8_t buf[4];
        rc = plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, sizeof buf, buf);
    }
    plcio_s7_client_free(c);
    return rc;
}

/* A COTP connection request (RFC 905 13.3; TPDU size 1024, TSAPs 0x0100 /
 * 0x0102), and nothing after it. */
static const uint8_t cotp_cr[] = {0x03, 0x00, 0x00, 0x16, 0x11, 0xE0, 0x00, 0x00, 0x00, 0x01, 0x00,
                                  0xC0, 0x01, 0x0A, 0xC1, 0x02, 0x01, 0x00, 0xC2, 0x02, 0x01, 0x02};

static void s7_round(int port, hostile_kind kind, bool foreign)
{
    const char *what = kind == IDLE ? "idle" : "COTP-only";
    int *fds = crowd(port, kind == HALF ? cotp_cr : NULL, sizeof cotp_cr);
    uint64_t t0 = plcio_monotonic_ns();
    int rc = s7_read(port);
    printf("s7, %d %s connections: plcio's client %s in %.0f ms\n", HOSTILE, what, plcio_strerror(rc),
           (double)(plcio_monotonic_ns() - t0) / 1e6);
    fflush(stdout);
    assert_int_equal(rc, PLCIO_OK);
    if (foreign) assert_int_equal(run_peer("node", "hostile_snap7_client.js", port), 0);
    disperse(fds);
}

static void test_s7_crowd(void **state)
{
    (void)state;
    raise_fd_limit();
    const char *argv[] = {bin(), "sim", "s7", "--listen", "127.0.0.1:0", "--db", "1:16", "--seconds", "200", NULL};
    plcio_test_proc srv;
    assert_int_equal(plcio_test_proc_start(&srv, argv, "listening on ", 20000, 240), 0);
    int port = plcio_test_port_from_line(srv.line);
    assert_true(port > 0);
    bool foreign = have_node_snap7();
    if (!foreign) printf("foreign S7 client skipped: node-snap7 is not installed (scripts/bootstrap.sh)\n");
    s7_round(port, IDLE, foreign);
    s7_round(port, HALF, foreign);
    plcio_test_proc_stop(&srv);
}

/* ------------------------------------------------------------ Modbus --- */

static int mb_read(int port)
{
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1&timeout=%d", port, TMO);
    int err = 0;
    plcio_modbus_client *c = NULL;
    err = plcio_modbus_client_new(url, NULL, &c, NULL);
    int rc = c ? plcio_modbus_client_connect(c) : err;
    if (!rc) {
        uint16_t regs[2];
        rc = plcio_modbus_read_holding_registers(c, 1, 0, 2, regs);
    }
    plcio_modbus_client_free(c);
    return rc;
}

/* The first three bytes of an MBAP header, and nothing after them. */
static const uint8_t mbap_part[] = {0x00, 0x01, 0x00};

static void mb_round(int port, hostile_kind kind, bool foreign)
{
    const char *what = kind == IDLE ? "idle" : "half-MBAP";
    int *fds = crowd(port, kind == HALF ? mbap_part : NULL, sizeof mbap_part);
    uint64_t t0 = plcio_monotonic_ns();
    int rc = mb_read(port);
    printf("modbus, %d %s connections: plcio's client %s in %.0f ms\n", HOSTILE, what, plcio_strerror(rc),
           (double)(plcio_monotonic_ns() - t0) / 1e6);
    fflush(stdout);
    assert_int_equal(rc, PLCIO_OK);
    if (foreign) assert_int_equal(run_peer("/usr/bin/python3", "hostile_pymodbus_client.py", port), 0);
    disperse(fds);
}

static void test_modbus_crowd(void **state)
{
    (void)state;
    raise_fd_limit();
    const char *argv[] = {bin(), "sim",    "modbus", "--tcp",     "127.0.0.1:0", "--unit",
                          "1",   "--size", "100",    "--seconds", "200",         NULL};
    plcio_test_proc srv;
    assert_int_equal(plcio_test_proc_start(&srv, argv, "listening on ", 20000, 240), 0);
    int port = plcio_test_port_from_line(srv.line);
    assert_true(port > 0);
    bool foreign = have_pymodbus();
    if (!foreign) printf("foreign Modbus client skipped: pymodbus is not installed for /usr/bin/python3\n");
    mb_round(port, IDLE, foreign);
    mb_round(port, HALF, foreign);
    plcio_test_proc_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s7_crowd),
        cmocka_unit_test(test_modbus_crowd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
