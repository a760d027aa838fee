/* Ranges of a plcio Modbus server backed by a remote device
 * (`plcio sim modbus --backed`, plcio_modbus_server_back_range), between
 * foreign peers: pymodbus's client reads and writes plcio's server, whose
 * backed ranges come from a pymodbus server (backed_peer.py remote) that
 * counts the requests it serves (its statistics, read over Modbus):
 *   - read-through: values checked while the remote changes; a read younger
 *     than max-age is served from the cache (no remote request), max-age 0
 *     asks every time; pipelined reads on one connection and reads of four
 *     clients at once coalesced into one remote request;
 *   - write-through: FC 6, 16 and 5 land on the remote before the answer;
 *     refused (01) without write-through; remote-start shifts addresses; the
 *     remote's own exceptions pass through; 0x0B from a device slower than
 *     the URL's timeout; 02 for a read partly backed; UDP;
 *   - the remote killed: 0x0A, the fresh cache still answers; the remote
 *     back on the same port: recovery;
 *   - bad configurations refused with a clear message (exit status 2). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "modbus/mb_interop.h"

#define PY "/usr/bin/python3"

static const char *script(void)
{
    static char path[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(path, sizeof path, "%s/modbus/backed_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    return path;
}

/* The remote device; port 0 picks one. Returns its port. */
static int remote_start(plcio_test_proc *p, int port)
{
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    const char *argv[] = {PY, script(), "remote", "--port", ps, "--seconds", "150", NULL};
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 160), 0);
    int got = plcio_test_port_from_line(p->line);
    assert_true(got > 0);
    return got;
}

/* Run the peer in `mode` to its end; it must print ALL OK and exit 0. */
static void run_peer(const char *mode, int pport, int rport, int uport)
{
    char a[16], b[16], c[16];
    snprintf(a, sizeof a, "%d", pport);
    snprintf(b, sizeof b, "%d", rport);
    snprintf(c, sizeof c, "%d", uport);
    const char *argv[] = {PY, script(), mode, a, b, c, NULL};
    plcio_test_proc p = PLCIO_TEST_PROC_INIT;
    assert_int_equal(plcio_test_proc_start(&p, argv, NULL, 0, 100), 0);
    char line[512];
    bool seen = false;
    while (plcio_test_proc_read_line(&p, line, sizeof line, 95000) == 0) {
        if (strstr(line, "FAIL")) print_error("backed_peer.py %s: %s\n", mode, line);
        if (strstr(line, "ALL OK")) seen = true;
    }
    int st = plcio_test_proc_wait(&p, 5000);
    if (!seen || st != 0) print_error("backed_peer.py %s ended with %d\n", mode, st);
    assert_true(seen);
    assert_int_equal(st, 0);
}

static void test_backed_ranges(void **state)
{
    (void)state;
    plcio_test_proc rem = PLCIO_TEST_PROC_INIT, sim = PLCIO_TEST_PROC_INIT;
    int rport = remote_start(&rem, 0);
    char cached[200], live[200], slow[200], coils[200], shifted[200], beyond[200], late[200];
    snprintf(cached, sizeof cached,
             "holding:0:30=modbus-tcp://127.0.0.1:%d?max-age=600000&write-through=1&timeout=3000", rport);
    snprintf(live, sizeof live, "holding:100:10=modbus-tcp://127.0.0.1:%d?timeout=3000", rport);
    snprintf(slow, sizeof slow, "holding:40:10=modbus-tcp://127.0.0.1:%d?max-age=0&timeout=5000", rport);
    snprintf(coils, sizeof coils, "coils:0:16=modbus-tcp://127.0.0.1:%d?write-through=1&timeout=3000", rport);
    snprintf(shifted, sizeof shifted, "input:0:10=modbus-tcp://127.0.0.1:%d?remote-start=10&timeout=3000", rport);
    snprintf(beyond, sizeof beyond, "holding:200:10=modbus-tcp://127.0.0.1:%d?remote-start=2000&timeout=3000", rport);
    /* a device slower than the timeout: the remote's holding 40.. answer after a second */
    snprintf(late, sizeof late, "holding:50:5=modbus-tcp://127.0.0.1:%d?remote-start=40&timeout=300", rport);
    const char *argv[] = {plcio_test_bin(), "sim",         "modbus",    "--listen", "127.0.0.1:0",
                          "--udp",          "127.0.0.1:0", "--seconds", "150",      "--backed",
                          cached,           "--backed",    live,        "--backed", slow,
                          "--backed",       coils,         "--backed",  shifted,    "--backed",
                          beyond,           "--backed",    late,        NULL};
    assert_int_equal(plcio_test_proc_start(&sim, argv, "listening on", 10000, 160), 0);
    int pport = plcio_test_port_from_line(sim.line);
    char line[256];
    assert_int_equal(plcio_test_proc_read_line(&sim, line, sizeof line, 5000), 0);
    int uport = plcio_test_port_from_line(line);
    assert_true(pport > 0 && uport > 0);

    run_peer("checks", pport, rport, uport);

    plcio_test_proc_stop(&rem); /* the remote dies */
    run_peer("down", pport, rport, uport);

    assert_int_equal(remote_start(&rem, rport), rport); /* back, with fresh contents, on the same port */
    run_peer("up", pport, rport, uport);

    kill(sim.pid, SIGTERM); /* stops cleanly (under ASan: no leak) */
    assert_int_equal(plcio_test_proc_wait(&sim, 5000), 0);
    plcio_test_proc_stop(&rem);
}

/* ---- bad configurations ---- */

static void expect_usage(const char *const *args, const char *why)
{
    char command[300];
    snprintf(command, sizeof command, "%s sim modbus --listen 127.0.0.1:0", plcio_test_bin());
    plcio_test_expect_usage(command, args, why);
}

static void test_bad_configs(void **state)
{
    (void)state;
    expect_usage((const char *[]){"--backed", "holding:0:0=modbus-tcp://127.0.0.1:1", NULL}, "COUNT >= 1");
    expect_usage((const char *[]){"--backed", "holding:65535:2=modbus-tcp://127.0.0.1:1", NULL}, "within 0..65535");
    expect_usage((const char *[]){"--backed", "registers:0:2=modbus-tcp://127.0.0.1:1", NULL},
                 "is not holding, input, coils or discrete");
    expect_usage((const char *[]){"--backed", "holding:0:2", NULL}, "want TABLE:START:COUNT=URL");
    expect_usage((const char *[]){"--backed", "holding:x:2=modbus-tcp://127.0.0.1:1", NULL}, "START:COUNT");
    expect_usage((const char *[]){"--backed", "holding:0:2=http://127.0.0.1:1", NULL}, "--backed holding:0:2=");
    expect_usage((const char *[]){"--backed", "holding:0:2=modbus-tcp://127.0.0.1:1?max-age=soon", NULL},
                 "max-age 'soon'");
    expect_usage((const char *[]){"--backed", "holding:0:2=modbus-tcp://127.0.0.1:1?write-through=yes", NULL},
                 "write-through 'yes'");
    expect_usage((const char *[]){"--backed", "holding:10:10=modbus-tcp://127.0.0.1:1?remote-start=65530", NULL},
                 "remote addresses 65530..65539");
    expect_usage((const char *[]){"--backed", "holding:0:10=modbus-tcp://127.0.0.1:1", "--backed",
                                  "holding:5:10=modbus-tcp://127.0.0.1:2", NULL},
                 "overlaps the backed range 0+10");
    expect_usage((const char *[]){"--backed", "coils:0:10=modbus-tcp://127.0.0.1:1", "--rtu", "/dev/null", NULL},
                 "a serial link");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_backed_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
