/* `plcio gateway modbus` between foreign peers:
 *   - pymodbus's clients (3 at once, TCP and UDP) through the gateway to
 *     pymodbus's RTU server on a socat pty pair; the gateway's TCP side
 *     judged by tshark's Modbus dissector;
 *   - libmodbus's client (every function code it has) and mbpoll through
 *     the gateway to `plcio sim modbus` on RTU;
 *   - the target killed: 0x0B while the RTU device is silent, 0x0A while a
 *     TCP device refuses; recovery once the device is back;
 *   - unit routes to two devices, 0x0A for a unit without one;
 *   - clients sharing one serial line take turns (a second client is not
 *     queued behind a burst of the first);
 *   - bad input (garbage, oversized, truncated frames, a response code as a
 *     request, UDP garbage): the connection is closed or the frame dropped,
 *     other clients go on;
 *   - --read-only: pymodbus's client reads through the gateway, its writes
 *     (FC 5, 6, 15, 16, 22, 23) and mbpoll's are answered exception 01, the
 *     target (read directly) keeps its contents, --stats counts them;
 *   - usage errors of the command.
 * Serial lines run 19200 8N1 (this sandbox's ptys refuse parity from pyserial). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "modbus/mb_interop.h"
#include "plcio/modbus.h"

#define PY "/usr/bin/python3"

static const char *script(const char *name)
{
    static char path[2][600];
    static int k;
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/modbus/%s", dir && *dir ? dir : PLCIO_INTEROP_DIR, name);
    return path[k];
}

/* A pymodbus server (pymodbus_peer.py: known contents); *port for tcp/udp. */
static void pymodbus_server(plcio_test_proc *p, const char *kind, const char *tty, int *port)
{
    const char *argv[] = {PY, script("pymodbus_peer.py"), "server", kind, tty, "--seconds", "100", NULL};
    if (!tty) argv[4] = "--seconds", argv[5] = "100", argv[6] = NULL;
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 110), 0);
    if (port) *port = plcio_test_port_from_line(p->line);
}

/* The gateway with extra arguments (NULL-terminated); its TCP port, and the UDP one when asked. */
static int gateway_start(plcio_test_proc *gw, const char *const *extra, bool udp, int *udp_port)
{
    const char *argv[32] = {plcio_test_bin(), "gateway", "modbus", "--listen", "127.0.0.1:0", "--seconds", "100"};
    size_t n = 7;
    if (udp) argv[n++] = "--udp", argv[n++] = "127.0.0.1:0";
    for (size_t i = 0; extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    assert_int_equal(plcio_test_proc_start(gw, argv, "listening on", 10000, 110), 0);
    int port = plcio_test_port_from_line(gw->line);
    assert_true(port > 0);
    if (udp) {
        char line[256];
        assert_int_equal(plcio_test_proc_read_line(gw, line, sizeof line, 5000), 0);
        *udp_port = plcio_test_port_from_line(line);
        assert_true(*udp_port > 0);
    }
    return port;
}

static plcio_modbus_client *client_to(int port, int timeout_ms)
{
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=%d", port, timeout_ms);
    plcio_modbus_client *c = NULL;
    assert_int_equal(plcio_modbus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    return c;
}

/* SIGTERM: the gateway stops cleanly (exit 0; under ASan also no leak, no error). */
static void gateway_stop(plcio_test_proc *gw)
{
    if (gw->pid > 0) kill(gw->pid, SIGTERM);
    assert_int_equal(plcio_test_proc_wait(gw, 5000), 0);
}

/* Run a peer to its end; its output must end in `want` on some line. */
static void run_peer(const char *const *argv, const char *want, int seconds)
{
    plcio_test_proc p = PLCIO_TEST_PROC_INIT;
    assert_int_equal(plcio_test_proc_start(&p, argv, NULL, 0, seconds), 0);
    char line[512];
    bool seen = false;
    while (plcio_test_proc_read_line(&p, line, sizeof line, seconds * 1000) == 0) {
        if (strstr(line, "FAIL")) print_error("%s: %s\n", argv[0], line);
        if (strstr(line, want)) seen = true;
    }
    int st = plcio_test_proc_wait(&p, 5000);
    if (!seen || st != 0)
        print_error("%s ended with %d, '%s' %sseen\n", argv[1] ? argv[1] : argv[0], st, want, seen ? "" : "not ");
    assert_true(seen);
    assert_int_equal(st, 0);
}

/* ---- pymodbus client -> gateway -> pymodbus RTU server ---- */

static void test_pymodbus_through_gateway_to_rtu(void **state)
{
    (void)state;
    char dir[64], tty[128], to[300], capture[160], where[64];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, srv = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT,
                    cap = PLCIO_TEST_PROC_INIT;
    mb_socat_start(&socat, dir, 110);
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    pymodbus_server(&srv, "rtu", tty, NULL);
    snprintf(to, sizeof to, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=1000", dir);
    const char *extra[] = {"--to", to, "--stats", NULL};
    int udp_port = 0, port = gateway_start(&gw, extra, true, &udp_port);
    snprintf(capture, sizeof capture, "%s/gw.pcapng", dir);
    bool captured = mb_capture_start(&cap, port, capture, 60);

    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    const char *tcp[] = {PY, script("gateway_peer.py"), "tcp", where, "--clients", "3", NULL};
    run_peer(tcp, "ALL OK", 60);
    if (captured) {
        mb_capture_finish(&cap, capture, port, false, 100);
        mb_tshark_check(capture, port, false, 100);
    } else {
        print_message("tshark capture unavailable; dissector check skipped\n");
    }
    snprintf(where, sizeof where, "127.0.0.1:%d", udp_port);
    const char *udp[] = {PY, script("gateway_peer.py"), "udp", where, "--clients", "2", NULL};
    run_peer(udp, "ALL OK", 60);

    /* --stats on exit: every request answered by the device, none by the gateway */
    kill(gw.pid, SIGTERM);
    char line[512];
    bool stats = false;
    while (plcio_test_proc_read_line(&gw, line, sizeof line, 5000) == 0)
        if (strstr(line, "target modbus-rtu://")) {
            stats = true;
            print_message("%s\n", line);
            assert_non_null(strstr(line, " no-response 0 path-unavailable 0 "));
            unsigned long long req = 0, ans = 0, exc = 0;
            assert_int_equal(
                sscanf(strstr(line, "requests"), "requests %llu answers %llu exceptions %llu", &req, &ans, &exc), 3);
            assert_int_equal(req, 5 * 18); /* 3 + 2 clients, 18 requests each (gateway_peer.py) */
            assert_int_equal(ans, req);
            assert_int_equal(exc, 5); /* one device exception per client, relayed */
        }
    assert_true(stats);
    assert_int_equal(plcio_test_proc_wait(&gw, 5000), 0);
    plcio_test_proc_stop(&srv);
    plcio_test_proc_stop(&socat);
}

/* ---- libmodbus's client and mbpoll -> gateway -> plcio sim on RTU ---- */

static void test_libmodbus_and_mbpoll_through_gateway(void **state)
{
    (void)state;
    const char *lmb = getenv("PLCIO_LMB_CLIENT");
    if (!lmb || !*lmb) fail_msg("PLCIO_LMB_CLIENT not set: libmodbus-dev missing (scripts/bootstrap.sh installs it)\n");
    char dir[64], tty[128], to[300], port_s[16];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, sim = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT;
    mb_socat_start(&socat, dir, 110);
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    const char *simv[] = {plcio_test_bin(), "sim", "modbus", "--rtu", tty,         "--parity", "N",
                          "--unit",         "1",   "--size", "1000",  "--seconds", "100",      NULL};
    assert_int_equal(plcio_test_proc_start(&sim, simv, "listening on", 10000, 110), 0);
    snprintf(to, sizeof to, "modbus-rtu://%s/ttyB?baud=19200&parity=N", dir);
    const char *extra[] = {"--to", to, NULL};
    int port = gateway_start(&gw, extra, false, NULL);
    snprintf(port_s, sizeof port_s, "%d", port);
    const char *lmbv[] = {lmb, "tcp", "127.0.0.1", port_s, NULL};
    run_peer(lmbv, "ALL OK", 40);

    /* mbpoll: write three registers, read them back (it counts from 1) */
    char cmd[512], out[512] = "";
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 201 -t 4 -1 127.0.0.1 11 4444 333 2>&1", port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(out, sizeof out, f)) {
    }
    assert_int_equal(pclose(f), 0);
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 201 -c 3 -t 4 -1 127.0.0.1 2>&1", port);
    f = popen(cmd, "r");
    assert_non_null(f);
    int found = 0;
    while (fgets(out, sizeof out, f)) {
        found += strstr(out, "[201]: \t11") != NULL;
        found += strstr(out, "[202]: \t4444") != NULL;
        found += strstr(out, "[203]: \t333") != NULL;
    }
    assert_int_equal(pclose(f), 0);
    assert_int_equal(found, 3);
    /* and our client sees what mbpoll wrote, on the sim behind the gateway */
    plcio_modbus_client *c = client_to(port, 3000);
    uint16_t r[3];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 200, 3, r), PLCIO_OK);
    assert_int_equal(r[0], 11);
    assert_int_equal(r[1], 4444);
    assert_int_equal(r[2], 333);
    plcio_modbus_client_free(c);
    gateway_stop(&gw);
    plcio_test_proc_stop(&sim);
    plcio_test_proc_stop(&socat);
}

/* ---- the target killed: 0x0B / 0x0A, then recovery ---- */

static void expect_exception(plcio_modbus_client *c, int unit, int code)
{
    uint16_t r[4];
    assert_int_equal(plcio_modbus_read_holding_registers(c, unit, 0, 4, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), code);
}

static void expect_values(plcio_modbus_client *c, int unit)
{
    uint16_t r[4];
    assert_int_equal(plcio_modbus_read_holding_registers(c, unit, 0, 4, r), PLCIO_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(r[i], i); /* pymodbus_peer.py's contents */
}

static void test_target_killed(void **state)
{
    (void)state;
    char dir[64], tty[128], rtu[300], tcp[128];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, srv = PLCIO_TEST_PROC_INIT, tsrv = PLCIO_TEST_PROC_INIT,
                    gw = PLCIO_TEST_PROC_INIT;
    mb_socat_start(&socat, dir, 110);
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    pymodbus_server(&srv, "rtu", tty, NULL);
    int tport = 0;
    pymodbus_server(&tsrv, "tcp", NULL, &tport);
    snprintf(rtu, sizeof rtu, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=300&retries=1", dir);
    snprintf(tcp, sizeof tcp, "modbus-tcp://127.0.0.1:%d?timeout=1000", tport);
    char r1[320], r2[160];
    snprintf(r1, sizeof r1, "1=%s", rtu);
    snprintf(r2, sizeof r2, "2=%s", tcp);
    const char *extra[] = {"--route", r1, "--route", r2, "--reconnect", "50", "--stats", NULL};
    int port = gateway_start(&gw, extra, false, NULL);
    plcio_modbus_client *c = client_to(port, 5000);
    expect_values(c, 1);
    expect_values(c, 2);
    expect_exception(c, 3, PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE); /* no route */

    /* the RTU device goes silent: the line is there, nobody answers */
    plcio_test_proc_stop(&srv);
    expect_exception(c, 1, PLCIO_MB_EX_GATEWAY_TARGET_FAILED);
    expect_exception(c, 1, PLCIO_MB_EX_GATEWAY_TARGET_FAILED);
    expect_values(c, 2); /* the other device is not affected */
    /* the TCP device goes away: its connection closes, new ones are refused */
    plcio_test_proc_stop(&tsrv);
    for (int i = 0; i < 3; i++)
        expect_exception(c, 2, PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE);

    /* the RTU device comes back: answers again on the same line */
    pymodbus_server(&srv, "rtu", tty, NULL);
    uint16_t r[4];
    int rc = PLCIO_EMBEXC;
    for (int i = 0; i < 50 && rc != PLCIO_OK; i++) { /* pyserial may take a moment to own the pty */
        rc = plcio_modbus_read_holding_registers(c, 1, 0, 4, r);
        if (rc != PLCIO_OK) mb_sleep_ms(100);
    }
    assert_int_equal(rc, PLCIO_OK);
    expect_values(c, 1);
    plcio_modbus_client_free(c);

    kill(gw.pid, SIGTERM);
    char line[512];
    int targets = 0;
    while (plcio_test_proc_read_line(&gw, line, sizeof line, 5000) == 0) {
        if (!strstr(line, "target ")) continue;
        targets++;
        print_message("%s\n", line);
        unsigned long long nr = 0, pu = 0;
        const char *p = strstr(line, "no-response");
        assert_non_null(p);
        assert_int_equal(sscanf(p, "no-response %llu path-unavailable %llu", &nr, &pu), 2);
        if (strstr(line, "modbus-rtu")) assert_true(nr >= 2);
        if (strstr(line, "modbus-tcp")) assert_true(pu >= 3);
    }
    assert_int_equal(targets, 2);
    assert_int_equal(plcio_test_proc_wait(&gw, 5000), 0);
    plcio_test_proc_stop(&srv);
    plcio_test_proc_stop(&socat);
}

/* ---- raw sockets ---- */

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Read exactly n bytes within ms; returns bytes read (less: closed or timed out). */
static size_t read_some(int fd, uint8_t *buf, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0) break;
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

/* True when the peer closed the connection within ms (nothing else arrives). */
static bool closed_by_peer(int fd, int ms)
{
    uint8_t b[300];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0) return false;
    return recv(fd, b, sizeof b, 0) == 0;
}

static size_t mbap(uint8_t *out, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t len)
{
    out[0] = (uint8_t)(tid >> 8), out[1] = (uint8_t)tid, out[2] = 0, out[3] = 0;
    out[4] = (uint8_t)((len + 1) >> 8), out[5] = (uint8_t)(len + 1), out[6] = unit;
    memcpy(out + 7, pdu, len);
    return len + 7;
}

static void send_all(int fd, const uint8_t *b, size_t n) { assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n); }

/* ---- fairness on one serial line ---- */

static void test_clients_take_turns_on_a_serial_line(void **state)
{
    (void)state;
    char dir[64], tty[128], to[300];
    mb_tmpdir(dir, sizeof dir);
    plcio_test_proc socat = PLCIO_TEST_PROC_INIT, srv = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT;
    mb_socat_start(&socat, dir, 110);
    snprintf(tty, sizeof tty, "%s/ttyA", dir);
    pymodbus_server(&srv, "rtu", tty, NULL);
    snprintf(to, sizeof to, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=2000", dir);
    const char *extra[] = {"--to", to, NULL};
    int port = gateway_start(&gw, extra, false, NULL);

    int a = tcp_connect(port), b = tcp_connect(port);
    enum { BURST = 24 };
    uint8_t burst[BURST * 12];
    const uint8_t read1[] = {0x03, 0x00, 0x00, 0x00, 0x01}; /* hr0, 1 register: answer 11 bytes */
    for (int i = 0; i < BURST; i++)
        mbap(burst + (size_t)i * 12, (uint16_t)(0x100 + i), 1, read1, sizeof read1);
    send_all(a, burst, sizeof burst);
    uint8_t ans[BURST * 11];
    assert_int_equal(read_some(a, ans, 11, 5000), 11); /* the gateway has A's burst */
    {
        uint8_t frame[16];
        size_t len = mbap(frame, 0x4242, 1, read1, sizeof read1);
        send_all(b, frame, len);
    }
    /* one poll loop on both: how many of A's answers came before B's */
    size_t a_got = 11, b_got = 0, a_before_b = 0;
    uint8_t bans[11];
    while (b_got < 11 || a_got < sizeof ans) {
        struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
        assert_true(poll(p, 2, 10000) > 0);
        if (p[0].revents) {
            ssize_t k = recv(a, ans + a_got, sizeof ans - a_got, 0);
            assert_true(k > 0);
            a_got += (size_t)k;
        }
        if (p[1].revents && b_got < 11) {
            ssize_t k = recv(b, bans + b_got, 11 - b_got, 0);
            assert_true(k > 0);
            b_got += (size_t)k;
            if (b_got == 11) a_before_b = a_got / 11;
        }
    }
    print_message("B's answer came after %zu of A's %d (first come, first served would be %d)\n", a_before_b, BURST,
                  BURST);
    assert_true(a_before_b <= 6);
    assert_int_equal(bans[0], 0x42); /* B's transaction id */
    assert_int_equal(bans[1], 0x42);
    for (size_t i = 0; i < BURST; i++) { /* A's in order, each with its own id and the value */
        const uint8_t *x = ans + i * 11;
        assert_int_equal(x[0] << 8 | x[1], 0x100 + i);
        assert_int_equal(x[7], 0x03);
        assert_int_equal(x[9] << 8 | x[10], 0);
    }
    close(a);
    close(b);
    gateway_stop(&gw);
    plcio_test_proc_stop(&srv);
    plcio_test_proc_stop(&socat);
}

/* ---- bad input ---- */

static void test_bad_input(void **state)
{
    (void)state;
    plcio_test_proc srv = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT;
    int tport = 0;
    pymodbus_server(&srv, "tcp", NULL, &tport);
    char to[128];
    snprintf(to, sizeof to, "modbus-tcp://127.0.0.1:%d", tport);
    const char *extra[] = {"--to", to, NULL};
    int udp_port = 0, port = gateway_start(&gw, extra, true, &udp_port);
    plcio_modbus_client *good = client_to(port, 3000);
    expect_values(good, 1);

    /* garbage: a foreign protocol id */
    int fd = tcp_connect(port);
    const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    send_all(fd, http, sizeof http - 1);
    assert_true(closed_by_peer(fd, 5000));
    close(fd);
    /* oversized: MBAP length 0xFFFF */
    fd = tcp_connect(port);
    const uint8_t big[] = {0, 1, 0, 0, 0xFF, 0xFF, 1, 3, 0, 0, 0, 1};
    send_all(fd, big, sizeof big);
    assert_true(closed_by_peer(fd, 5000));
    close(fd);
    /* MBAP length 1: a unit id and no function */
    fd = tcp_connect(port);
    const uint8_t empty[] = {0, 1, 0, 0, 0, 1, 1};
    send_all(fd, empty, sizeof empty);
    assert_true(closed_by_peer(fd, 5000));
    close(fd);
    /* an exception code as a request: answered "illegal function", the connection stays */
    fd = tcp_connect(port);
    uint8_t frame[300], ans[300];
    const uint8_t resp_as_req[] = {0x83, 0x02};
    {
        size_t len = mbap(frame, 7, 1, resp_as_req, sizeof resp_as_req);
        send_all(fd, frame, len);
    }
    assert_int_equal(read_some(fd, ans, 9, 5000), 9);
    assert_int_equal(ans[1], 7);
    assert_int_equal(ans[7], 0x83);
    assert_int_equal(ans[8], PLCIO_MB_EX_ILLEGAL_FUNCTION);
    /* the largest PDU, of a function the device does not know: its exception relayed */
    uint8_t huge[253];
    memset(huge, 0x5A, sizeof huge);
    huge[0] = 0x41;
    {
        size_t len = mbap(frame, 8, 1, huge, sizeof huge);
        send_all(fd, frame, len);
    }
    assert_int_equal(read_some(fd, ans, 9, 5000), 9);
    assert_int_equal(ans[1], 8);
    assert_int_equal(ans[7], 0xC1);
    print_message("device answered unknown function 0x41 with exception %u\n", ans[8]);
    /* a truncated frame, then the client goes away mid-frame */
    const uint8_t half[] = {0, 9, 0, 0, 0, 6, 1, 3};
    send_all(fd, half, sizeof half);
    close(fd);
    /* UDP: garbage and a cut frame are dropped, a good datagram is answered */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(u >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)udp_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(u, (struct sockaddr *)&a, sizeof a), 0);
    send_all(u, http, sizeof http - 1);
    const uint8_t read4[] = {0x03, 0x00, 0x00, 0x00, 0x04};
    size_t n = mbap(frame, 0x77, 1, read4, sizeof read4);
    send_all(u, frame, n - 2); /* cut */
    send_all(u, frame, n);
    assert_int_equal(read_some(u, ans, 17, 5000), 17);
    assert_int_equal(ans[1], 0x77);
    assert_int_equal(ans[15] << 8 | ans[16], 3);
    struct pollfd p = {.fd = u, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 300), 0); /* nothing for the garbage */
    close(u);
    /* the first client never noticed */
    expect_values(good, 1);
    plcio_modbus_client_free(good);
    gateway_stop(&gw);
    plcio_test_proc_stop(&srv);
}

/* ---- back-pressure: a client past --max-pending is not read from, nothing is lost ---- */

static void test_back_pressure(void **state)
{
    (void)state;
    plcio_test_proc srv = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT;
    int tport = 0;
    pymodbus_server(&srv, "tcp", NULL, &tport);
    char to[128];
    snprintf(to, sizeof to, "modbus-tcp://127.0.0.1:%d", tport);
    const char *extra[] = {"--to", to, "--max-pending", "2", "--depth", "1", NULL};
    int port = gateway_start(&gw, extra, false, NULL);
    int fd = tcp_connect(port);
    enum { BURST = 40 };
    uint8_t burst[BURST * 12], ans[BURST * 17];
    for (size_t i = 0; i < BURST; i++) { /* hr i .. i+3: answer 17 bytes, values i .. i+3 */
        const uint8_t rd[] = {0x03, 0x00, (uint8_t)i, 0x00, 0x04};
        mbap(burst + i * 12, (uint16_t)(0x200 + i), 1, rd, sizeof rd);
    }
    send_all(fd, burst, sizeof burst);
    assert_int_equal(read_some(fd, ans, sizeof ans, 10000), sizeof ans);
    for (size_t i = 0; i < BURST; i++) {
        const uint8_t *x = ans + i * 17;
        assert_int_equal(x[0] << 8 | x[1], 0x200 + i);
        assert_int_equal(x[7], 0x03);
        assert_int_equal(x[9] << 8 | x[10], i);
        assert_int_equal(x[15] << 8 | x[16], i + 3);
    }
    close(fd);
    gateway_stop(&gw);
    plcio_test_proc_stop(&srv);
}

/* ---- usage ---- */

static void expect_usage(const char *const *args, const char *why)
{
    char command[300];
    snprintf(command, sizeof command, "%s gateway modbus", plcio_test_bin());
    plcio_test_expect_usage(command, args, why);
}

/* ---- --read-only: writes answered 01, the target untouched ---- */

static void test_read_only(void **state)
{
    (void)state;
    plcio_test_proc srv = PLCIO_TEST_PROC_INIT, gw = PLCIO_TEST_PROC_INIT;
    int tport = 0;
    pymodbus_server(&srv, "tcp", NULL, &tport);
    char to[128], gw_addr[64], target[64];
    snprintf(to, sizeof to, "modbus-tcp://127.0.0.1:%d?timeout=2000", tport);
    const char *extra[] = {"--to", to, "--read-only", "--stats", NULL};
    int port = gateway_start(&gw, extra, false, NULL);
    snprintf(gw_addr, sizeof gw_addr, "127.0.0.1:%d", port);
    snprintf(target, sizeof target, "127.0.0.1:%d", tport);
    const char *peerv[] = {PY, script("gateway_peer.py"), "read-only", gw_addr, target, "--seconds", "40", NULL};
    run_peer(peerv, "ALL OK", 40);

    /* mbpoll (libmodbus) too: its write fails with "Illegal function", the register keeps its value */
    char cmd[512], out[512], all[2048] = "";
    snprintf(cmd, sizeof cmd, "timeout 20 mbpoll -m tcp -p %d -a 1 -r 8 -t 4 -1 127.0.0.1 4321 2>&1", port);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t used = 0;
    while (fgets(out, sizeof out, f) && used + 1 < sizeof all)
        used += (size_t)snprintf(all + used, sizeof all - used, "%s", out);
    int st = pclose(f);
    printf("mbpoll write through a read-only gateway (exit %d): %s", st, all);
    assert_true(st != 0);
    assert_non_null(strstr(all, "Illegal function"));
    plcio_modbus_client *c = client_to(tport, 3000); /* straight to the target */
    uint16_t r[1];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 7, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 7);
    plcio_modbus_client_free(c);

    if (gw.pid > 0) kill(gw.pid, SIGTERM);
    char line[512];
    bool counted = false;
    while (plcio_test_proc_read_line(&gw, line, sizeof line, 5000) == 0)
        if (strstr(line, "target ")) {
            printf("%s\n", line);
            counted = strstr(line, " refused 7") != NULL; /* six from pymodbus, one from mbpoll */
        }
    assert_int_equal(plcio_test_proc_wait(&gw, 5000), 0);
    assert_true(counted);
    plcio_test_proc_stop(&srv);
}

static void test_usage(void **state)
{
    (void)state;
    expect_usage((const char *[]){"--listen", "127.0.0.1:0", NULL}, "give --to URL or --route UNIT=URL");
    expect_usage((const char *[]){"--to", "modbus-tcp://127.0.0.1?unit=300", NULL}, "unit");
    expect_usage((const char *[]){"--to", "http://x", NULL}, "--to");
    expect_usage((const char *[]){"--route", "256=modbus-tcp://127.0.0.1", NULL}, "not 0..255");
    expect_usage((const char *[]){"--route", "modbus-tcp://127.0.0.1", NULL}, "not UNIT=URL");
    expect_usage((const char *[]){"--route", "1=modbus-tcp://a", "--route", "1=modbus-tcp://b", NULL},
                 "already goes to");
    expect_usage((const char *[]){"--to", "modbus-tcp://127.0.0.1", "--depth", "65", NULL}, "--depth");
    expect_usage((const char *[]){"--to", "modbus-tcp://127.0.0.1", "--listen", "nohost", NULL}, "HOST:PORT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_read_only),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_back_pressure),
        cmocka_unit_test(test_pymodbus_through_gateway_to_rtu),
        cmocka_unit_test(test_libmodbus_and_mbpoll_through_gateway),
        cmocka_unit_test(test_target_killed),
        cmocka_unit_test(test_clients_take_turns_on_a_serial_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
