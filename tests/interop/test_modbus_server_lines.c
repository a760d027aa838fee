/* Issue 23, findings 6 and 7, over real termios pseudo-terminals (socat):
 * FC 8 acts on the serial line it arrived on and nowhere else (8/04 over
 * TCP silences nobody, 8/03 over TCP leaves the ASCII line working, 8/04 on
 * one serial line leaves TCP, UDP and the other line answering), and a
 * serial peer that never reads cannot stall the TCP clients (the server
 * queues serial answers and drops them when the line is full; a bare pty
 * pair). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_interop.h"
#include "net/net.h"
#include "plcio/modbus.h"

#define TMO 5000

typedef struct lines_fixture {
    plcio_test_proc socat_rtu, socat_ascii;
    char rtu_dir[64], ascii_dir[64];
    plcio_modbus_server *srv;
    pthread_t thread;
    int port, udp_port;
} lines_fixture;

static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

/* A server on TCP, UDP, an RTU line and (with_ascii) an ASCII line. */
static void start(lines_fixture *f, bool with_ascii)
{
    memset(f, 0, sizeof *f);
    mb_tmpdir(f->rtu_dir, sizeof f->rtu_dir);
    mb_socat_start(&f->socat_rtu, f->rtu_dir, 120);
    (void)plcio_modbus_server_new(NULL, &f->srv, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(200);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 1, &bank), PLCIO_OK);
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyA?baud=19200&parity=N", f->rtu_dir);
    assert_int_equal(plcio_modbus_server_open_serial(f->srv, url), PLCIO_OK);
    if (with_ascii) {
        mb_tmpdir(f->ascii_dir, sizeof f->ascii_dir);
        mb_socat_start(&f->socat_ascii, f->ascii_dir, 120);
        snprintf(url, sizeof url, "modbus-ascii://%s/ttyA?baud=19200&parity=N", f->ascii_dir);
        assert_int_equal(plcio_modbus_server_open_serial(f->srv, url), PLCIO_OK);
    }
    assert_int_equal(plcio_modbus_server_listen_tcp(f->srv, "127.0.0.1", 0, &f->port), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_udp(f->srv, "127.0.0.1", 0, &f->udp_port), PLCIO_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f->srv), 0);
}

static void stop(lines_fixture *f)
{
    plcio_modbus_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    plcio_modbus_server_free(f->srv);
    plcio_test_proc_stop(&f->socat_rtu);
    if (f->ascii_dir[0]) plcio_test_proc_stop(&f->socat_ascii);
}

static plcio_modbus_server_stats stats(const lines_fixture *f)
{
    plcio_modbus_server_stats st;
    assert_int_equal(plcio_modbus_server_stats_get(f->srv, &st), PLCIO_OK);
    return st;
}

static plcio_modbus_client *tcp_client(const char *scheme, int port)
{
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d?unit=1&timeout=%d", scheme, port, TMO);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    return c;
}

/* A client on the far end (ttyB) of a line; short timeout: silence is expected at times. */
static plcio_modbus_client *line_client(const char *framing, const char *dir)
{
    char url[200];
    snprintf(url, sizeof url, "modbus-%s://%s/ttyB?baud=19200&parity=N&unit=1&timeout=600&retries=0", framing, dir);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    return c;
}

/* FC 8 over raw TCP: the function code byte of the answer, *exc its exception. */
static uint8_t tcp_fc8(int fd, uint16_t sub, uint8_t data0, uint8_t *exc)
{
    uint8_t req[] = {0x00, 0x42, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, (uint8_t)(sub >> 8), (uint8_t)sub, data0, 0x00};
    uint8_t resp[64];
    size_t got = 0;
    assert_int_equal(net_send_all(fd, req, sizeof req, net_deadline(TMO), NULL), PLCIO_OK);
    assert_int_equal(net_recv_some(fd, resp, sizeof resp, &got, net_deadline(TMO)), PLCIO_OK);
    assert_true(got >= 9);
    *exc = resp[8];
    return resp[7];
}

static void assert_all_answer(plcio_modbus_client *const *clients, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t r[1];
        assert_int_equal(plcio_modbus_read_holding_registers(clients[i], 1, 0, 1, r), PLCIO_OK);
    }
}

static void test_fc8_stays_on_its_line(void **state)
{
    (void)state;
    lines_fixture f;
    start(&f, true);
    plcio_modbus_client *tcp = tcp_client("modbus-tcp", f.port), *udp = tcp_client("modbus-udp", f.udp_port);
    plcio_modbus_client *rtu = line_client("rtu", f.rtu_dir), *ascii = line_client("ascii", f.ascii_dir);
    plcio_modbus_client *all[] = {tcp, udp, rtu, ascii};
    assert_all_answer(all, 4);
    int raw = -1;
    assert_int_equal(net_tcp_connect("127.0.0.1", f.port, TMO, &raw), PLCIO_OK);
    uint8_t exc = 0;

    /* 8/04 over TCP: refused, and every client on every link still answered */
    assert_int_equal(tcp_fc8(raw, 0x04, 0, &exc), 0x88);
    assert_int_equal(exc, PLCIO_MB_EX_ILLEGAL_FUNCTION);
    assert_false(stats(&f).listen_only);
    assert_all_answer(all, 4);
    /* 8/03 over TCP: the ASCII line keeps its CR LF delimiter */
    assert_int_equal(tcp_fc8(raw, 0x03, '!', &exc), 0x88);
    assert_all_answer(all, 4);

    /* 8/04 on the RTU line: that line goes quiet, no other */
    static const uint8_t zero[2] = {0, 0};
    uint8_t out[4];
    size_t n;
    uint16_t r[1];
    assert_int_equal(plcio_modbus_diagnostics(rtu, 1, 0x04, zero, 2, out, sizeof out, &n),
                     PLCIO_OK); /* no answer due */
    for (int i = 0; i < 100 && !stats(&f).listen_only; i++)
        mb_sleep_ms(20);
    assert_true(stats(&f).listen_only);
    assert_int_equal(plcio_modbus_read_holding_registers(rtu, 1, 0, 1, r), PLCIO_ETIMEDOUT);
    plcio_modbus_client *others[] = {tcp, udp, ascii};
    assert_all_answer(others, 3);
    /* 8/01 on the RTU line ends it (no answer to the restart itself, AP 6.8.1) */
    assert_int_equal(plcio_modbus_diagnostics(rtu, 1, 0x01, zero, 2, out, sizeof out, &n), PLCIO_ETIMEDOUT);
    assert_false(stats(&f).listen_only);
    assert_all_answer(all, 4);

    /* 8/03 on the ASCII line changes that line's delimiter only */
    static const uint8_t bang[2] = {'!', 0};
    assert_int_equal(plcio_modbus_diagnostics(ascii, 1, 0x03, bang, 2, out, sizeof out, &n), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(ascii, 1, 0, 1, r),
                     PLCIO_ETIMEDOUT); /* CR LF no longer ends a frame */
    int fd = -1;
    char path[128];
    snprintf(path, sizeof path, "%s/ttyB", f.ascii_dir);
    serial_params sp = {19200, 'N', 8, 1, false};
    plcio_modbus_client_free(ascii); /* its port is reopened raw */
    assert_int_equal(net_serial_open(path, &sp, &fd), PLCIO_OK);
    net_serial_flush(fd);
    const char *req = ":010300000001FB\r!";
    assert_int_equal(net_send_all(fd, req, strlen(req), net_deadline(TMO), NULL), PLCIO_OK);
    char resp[64] = {0};
    size_t have = 0, got;
    uint64_t dl = net_deadline(TMO);
    while (have < 15 && net_recv_some(fd, resp + have, sizeof resp - 1 - have, &got, dl) == PLCIO_OK)
        have += got;
    assert_true(have >= 15);
    assert_memory_equal(resp, ":0103020000FA", 13); /* answered with the new delimiter in use */
    net_close(fd);
    plcio_modbus_client *still[] = {tcp, udp, rtu};
    assert_all_answer(still, 3);

    net_close(raw);
    plcio_modbus_client_free(tcp);
    plcio_modbus_client_free(udp);
    plcio_modbus_client_free(rtu);
    stop(&f);
}

/* ---- a serial peer that never reads ----
 * A bare pseudo-terminal pair: the server has the slave as its RTU line,
 * the test holds the master, writes requests into it and never reads, so
 * the answers fill the pty's buffer and then the server's queue. (Through
 * socat the flood stalls socat itself, both ways, after a varying amount.) */

typedef struct flood {
    int fd;
    atomic_bool stop;
    unsigned long sent;
} flood;

/* Keep sending RTU reads of 125 registers (255-byte answers) and never read
 * the answers. */
static void *flood_main(void *arg)
{
    flood *fl = arg;
    uint8_t pdu[] = {0x03, 0x00, 0x00, 0x00, 0x7D}, req[16];
    size_t n = 0;
    if (mb_rtu_encode(1, pdu, sizeof pdu, req, sizeof req, &n) != PLCIO_OK) return NULL;
    while (!atomic_load(&fl->stop)) {
        if (net_send_all(fl->fd, req, n, net_deadline(100), NULL) == PLCIO_OK) fl->sent++;
        mb_sleep_ms(1);
    }
    return NULL;
}

static void test_serial_peer_never_reads(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s?baud=19200&parity=N", ptsname(master));
    plcio_modbus_server *srv = NULL;
    (void)plcio_modbus_server_new(NULL, &srv, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(200);
    assert_int_equal(plcio_modbus_server_add_unit(srv, 1, &bank), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_open_serial(srv, url), PLCIO_OK);
    int port = 0;
    assert_int_equal(plcio_modbus_server_listen_tcp(srv, "127.0.0.1", 0, &port), PLCIO_OK);
    pthread_t server;
    assert_int_equal(pthread_create(&server, NULL, serve, srv), 0);
    flood fl = {.fd = master};
    atomic_init(&fl.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, flood_main, &fl), 0);
    plcio_modbus_client *tcp = tcp_client("modbus-tcp", port);
    /* TCP keeps being answered while the line fills up and then stays full:
     * every read must succeed, the whole run within a generous deadline
     * (the old blocking send took up to 1 s per serial answer). */
    uint64_t deadline = plcio_monotonic_ns() + 60 * PLCIO_NS_PER_S;
    unsigned long reads = 0, after_full = 0, failed = 0;
    plcio_modbus_server_stats st;
    while (after_full < 200 && plcio_monotonic_ns() < deadline) {
        uint16_t r[1];
        if (plcio_modbus_read_holding_registers(tcp, 1, 0, 1, r) != PLCIO_OK) failed++;
        reads++;
        assert_int_equal(plcio_modbus_server_stats_get(srv, &st), PLCIO_OK);
        if (st.serial_answers_dropped > 0) after_full++;
    }
    atomic_store(&fl.stop, true);
    pthread_join(th, NULL);
    plcio_modbus_client_free(tcp);
    plcio_modbus_server_stop(srv);
    pthread_join(server, NULL);
    assert_int_equal(plcio_modbus_server_stats_get(srv, &st), PLCIO_OK);
    plcio_modbus_server_free(srv);
    net_close(master);
    printf("serial peer that never reads: %lu requests sent on the line, %u answers dropped; "
           "%lu TCP reads (%lu after the line was full), %lu failed\n",
           fl.sent, (unsigned)st.serial_answers_dropped, reads, after_full, failed);
    assert_int_equal(failed, 0);
    assert_true(st.serial_answers_dropped > 0); /* the line really was full */
    assert_int_equal(after_full, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fc8_stays_on_its_line),
        cmocka_unit_test(test_serial_peer_never_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
