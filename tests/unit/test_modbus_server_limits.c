/* The Modbus server cannot be held hostage (issue 23): silent connections
 * and half MBAP frames are closed (plcio_modbus_server_limits), a full
 * server evicts the connection silent longest, and FC 8 sent over TCP or
 * UDP never puts the server into listen-only mode or changes a serial
 * line's state. The serial-line side (FC 8 per line, a peer that never
 * reads) is in tests/interop/test_modbus_server_lines.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "net/net.h"
#include "plcio/modbus.h"
#include "plcio_test.h"

#define TMO 5000

typedef struct fixture {
    plcio_modbus_server *srv;
    pthread_t thread;
    int port, udp_port;
} fixture;

static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

/* A server on TCP and UDP with `lim`, serving in a thread. */
static void start(fixture *f, const plcio_modbus_server_limits *lim)
{
    memset(f, 0, sizeof *f);
    (void)plcio_modbus_server_new(NULL, &f->srv, NULL);
    assert_non_null(f->srv);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(100);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 1, &bank), PLCIO_OK);
    if (lim) assert_int_equal(plcio_modbus_server_set_limits(f->srv, lim), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_tcp(f->srv, "127.0.0.1", 0, &f->port), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_udp(f->srv, "127.0.0.1", 0, &f->udp_port), PLCIO_OK);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f->srv), 0);
}

static void stop(fixture *f)
{
    plcio_modbus_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    plcio_modbus_server_free(f->srv);
}

static plcio_modbus_server_stats stats(const fixture *f)
{
    plcio_modbus_server_stats st;
    assert_int_equal(plcio_modbus_server_stats_get(f->srv, &st), PLCIO_OK);
    return st;
}

static plcio_modbus_client *client(const char *scheme, int port)
{
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d?unit=1&timeout=%d", scheme, port, TMO);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    assert_non_null(c);
    return c;
}

static int raw_connect(int port)
{
    int fd = -1;
    assert_int_equal(net_tcp_connect("127.0.0.1", port, TMO, &fd), PLCIO_OK);
    return fd;
}

/* FC 3 of one register over a raw socket; true when answered. */
static bool raw_read(int fd)
{
    static const uint8_t req[] = {0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01};
    uint8_t resp[11];
    if (net_send_all(fd, req, sizeof req, net_deadline(TMO), NULL) != PLCIO_OK) return false;
    if (net_recv_exact(fd, resp, sizeof resp, net_deadline(TMO)) != PLCIO_OK) return false;
    return resp[1] == 0x07 && resp[7] == 0x03;
}

/* True when the server closes fd within ms. */
static bool closed_by_server(int fd, int ms)
{
    uint64_t dl = net_deadline(ms);
    uint8_t buf[256];
    for (;;) {
        size_t got;
        int rc = net_recv_some(fd, buf, sizeof buf, &got, dl);
        if (rc == PLCIO_ETIMEDOUT || rc == PLCIO_EAGAIN) return false;
        if (rc != PLCIO_OK) return true; /* EOF or reset */
    }
}

static void test_defaults_and_checks(void **state)
{
    (void)state;
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    assert_int_equal(lim.max_connections, 512);
    assert_int_equal(lim.idle_timeout_ms, 60000); /* on by default */
    assert_int_equal(lim.frame_timeout_ms, 5000);
    assert_int_equal(lim.serial_output_bytes, 4096);
    plcio_modbus_server *s = NULL;
    (void)plcio_modbus_server_new(NULL, &s, NULL);
    plcio_modbus_server_limits bad = lim;
    bad.max_connections = 0;
    assert_int_equal(plcio_modbus_server_set_limits(s, &bad), PLCIO_EINVAL);
    bad.max_connections = 100001;
    assert_int_equal(plcio_modbus_server_set_limits(s, &bad), PLCIO_EINVAL);
    bad = lim;
    bad.idle_timeout_ms = PLCIO_MODBUS_TIMEOUT_MAX_MS + 1;
    assert_int_equal(plcio_modbus_server_set_limits(s, &bad), PLCIO_EINVAL);
    bad = lim;
    bad.frame_timeout_ms = PLCIO_MODBUS_TIMEOUT_MAX_MS + 1;
    assert_int_equal(plcio_modbus_server_set_limits(s, &bad), PLCIO_EINVAL);
    bad = lim;
    bad.serial_output_bytes = 100;
    assert_int_equal(plcio_modbus_server_set_limits(s, &bad), PLCIO_EINVAL);
    assert_int_equal(plcio_modbus_server_set_limits(s, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_modbus_server_set_limits(NULL, &lim), PLCIO_EINVAL);
    lim.idle_timeout_ms = lim.frame_timeout_ms = 0; /* 0 = never */
    assert_int_equal(plcio_modbus_server_set_limits(s, &lim), PLCIO_OK);
    plcio_modbus_server_free(s);
}

/* A connection that sends nothing is closed after idle_timeout_ms; one that
 * keeps asking is not. */
static void test_idle_timeout(void **state)
{
    (void)state;
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.idle_timeout_ms = 300;
    lim.frame_timeout_ms = 0;
    fixture f;
    start(&f, &lim);
    int quiet = raw_connect(f.port), busy = raw_connect(f.port);
    for (int i = 0; i < 8; i++) { /* 800 ms of traffic on one, silence on the other */
        assert_true(raw_read(busy));
        plcio_test_sleep_ms(100);
    }
    assert_true(closed_by_server(quiet, TMO));
    assert_true(raw_read(busy));
    assert_true(stats(&f).connections_timed_out >= 1);
    net_close(quiet);
    net_close(busy);
    stop(&f);
}

/* Half an MBAP frame is dropped after frame_timeout_ms, while a connection
 * that sent nothing at all is not (only the idle timeout applies to it). */
static void test_half_frame_timeout(void **state)
{
    (void)state;
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.idle_timeout_ms = 0;
    lim.frame_timeout_ms = 300;
    fixture f;
    start(&f, &lim);
    int half = raw_connect(f.port), quiet = raw_connect(f.port);
    static const uint8_t part[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01}; /* header only, no PDU */
    assert_int_equal(net_send_all(half, part, sizeof part, net_deadline(TMO), NULL), PLCIO_OK);
    assert_true(closed_by_server(half, TMO));
    assert_false(closed_by_server(quiet, 1000));
    assert_true(raw_read(quiet));
    assert_int_equal(stats(&f).connections_timed_out, 1);
    net_close(half);
    net_close(quiet);
    stop(&f);
}

/* At max_connections a newcomer evicts the connection silent longest (here
 * b: a and c asked something after it connected). */
static void test_eviction(void **state)
{
    (void)state;
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.max_connections = 3;
    fixture f;
    start(&f, &lim);
    int a = raw_connect(f.port), b = raw_connect(f.port), c = raw_connect(f.port);
    plcio_test_sleep_ms(5);
    assert_true(raw_read(a));
    assert_true(raw_read(c));
    int d = raw_connect(f.port);
    assert_true(raw_read(d)); /* admitted */
    assert_true(closed_by_server(b, TMO));
    assert_true(raw_read(a));
    assert_true(raw_read(c));
    plcio_modbus_server_stats st = stats(&f);
    assert_int_equal(st.connections_evicted, 1);
    assert_int_equal(st.connections_open, 3);
    net_close(a);
    net_close(b);
    net_close(c);
    net_close(d);
    stop(&f);
}

/* Send FC 8 sub-function `sub` over a raw TCP or (connected) UDP socket and
 * return the function code byte of the answer (0x88: exception, then *exc). */
static uint8_t raw_fc8(int fd, uint16_t sub, uint8_t *exc)
{
    uint8_t req[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, (uint8_t)(sub >> 8), (uint8_t)sub, 0x00, 0x00};
    uint8_t resp[64];
    size_t got = 0;
    assert_int_equal(net_send_all(fd, req, sizeof req, net_deadline(TMO), NULL), PLCIO_OK);
    assert_int_equal(net_recv_some(fd, resp, sizeof resp, &got, net_deadline(TMO)), PLCIO_OK);
    assert_true(got >= 9);
    assert_int_equal(resp[0], 0x12); /* our transaction id */
    *exc = resp[8];
    return resp[7];
}

/* FC 8/04 (listen only) over TCP or UDP is refused (exception 01) and
 * silences nobody; 8/03 and 8/01 are refused too; 8/00 still echoes. */
static void test_fc8_over_tcp_and_udp(void **state)
{
    (void)state;
    fixture f;
    start(&f, NULL);
    plcio_modbus_client *tcp = client("modbus-tcp", f.port), *udp = client("modbus-udp", f.udp_port);
    int raw_tcp = raw_connect(f.port), raw_udp = -1;
    assert_int_equal(net_udp_open("127.0.0.1", f.udp_port, false, &raw_udp, NULL), PLCIO_OK);
    static const uint8_t zero[2] = {0, 0}, lf[2] = {'!', 0};
    uint8_t out[16], exc = 0;
    size_t n;
    uint16_t r[1];
    int raw[] = {raw_tcp, raw_udp};
    plcio_modbus_client *both[] = {tcp, udp};
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(raw_fc8(raw[k], 0x04, &exc), 0x88);
        assert_int_equal(exc, PLCIO_MB_EX_ILLEGAL_FUNCTION);
        assert_false(stats(&f).listen_only);
        assert_int_equal(plcio_modbus_read_holding_registers(tcp, 1, 0, 1, r), PLCIO_OK); /* still answered */
        assert_int_equal(plcio_modbus_read_holding_registers(udp, 1, 0, 1, r), PLCIO_OK);
        plcio_modbus_client *c = both[k];
        assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x03, lf, 2, out, sizeof out, &n), PLCIO_EMBEXC);
        assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_FUNCTION);
        assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x01, zero, 2, out, sizeof out, &n), PLCIO_EMBEXC);
        assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x00, lf, 2, out, sizeof out, &n), PLCIO_OK); /* echo */
        assert_int_equal(n, 2);
    }
    net_close(raw_tcp);
    net_close(raw_udp);
    /* The serial-line rules of plcio_modbus_server_process act on a line of
     * their own: listen-only there leaves TCP/UDP answering. */
    static const uint8_t listen_only[] = {0x08, 0x00, 0x04, 0x00, 0x00};
    static const uint8_t read1[] = {0x03, 0x00, 0x00, 0x00, 0x01};
    uint8_t resp[PLCIO_MB_MAX_PDU];
    size_t rlen = 99;
    assert_int_equal(
        plcio_modbus_server_process(f.srv, 1, listen_only, sizeof listen_only, true, resp, sizeof resp, &rlen),
        PLCIO_OK);
    assert_int_equal(rlen, 0);
    assert_true(stats(&f).listen_only);
    assert_int_equal(plcio_modbus_server_process(f.srv, 1, read1, sizeof read1, true, resp, sizeof resp, &rlen),
                     PLCIO_OK);
    assert_int_equal(rlen, 0); /* that line is silent */
    assert_int_equal(plcio_modbus_read_holding_registers(tcp, 1, 0, 1, r), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(udp, 1, 0, 1, r), PLCIO_OK);
    plcio_modbus_client_free(tcp);
    plcio_modbus_client_free(udp);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_checks),  cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_half_frame_timeout),   cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_fc8_over_tcp_and_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
