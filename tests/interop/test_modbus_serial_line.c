/* Modbus serial-line behaviour of plcio's server and client over real
 * termios pseudo-terminals (socat): CRC and LRC errors counted and not
 * answered, frames for other units ignored, noise and partial frames
 * dropped at t3.5 silence, broadcast (unit 0) written to every unit with no
 * answer, listen-only mode (FC 8/04) and restart (FC 8/01). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "modbus/mb_interop.h"
#include "net/net.h"
#include "plcio/modbus.h"

typedef struct line_fixture {
    plcio_test_proc socat;
    char dir[64];
    plcio_modbus_server *srv;
    pthread_t thread;
} line_fixture;

static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

static void start(line_fixture *f, const char *framing)
{
    memset(f, 0, sizeof *f);
    mb_tmpdir(f->dir, sizeof f->dir);
    mb_socat_start(&f->socat, f->dir, 60);
    (void)plcio_modbus_server_new(NULL, &f->srv, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(100);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 1, &bank), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 2, &bank), PLCIO_OK);
    char url[200];
    snprintf(url, sizeof url, "modbus-%s://%s/ttyA?baud=19200&parity=N", framing, f->dir);
    assert_int_equal(plcio_modbus_server_open_serial(f->srv, url), PLCIO_OK);
    pthread_create(&f->thread, NULL, serve, f->srv);
}

static void stop(line_fixture *f)
{
    plcio_modbus_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    plcio_modbus_server_free(f->srv);
    plcio_test_proc_stop(&f->socat);
}

static int open_raw(const line_fixture *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ttyB", f->dir);
    serial_params sp = {19200, 'N', 8, 1, false};
    int fd;
    assert_int_equal(net_serial_open(path, &sp, &fd), PLCIO_OK);
    return fd;
}

static void raw_write(int fd, const uint8_t *b, size_t n)
{
    assert_int_equal(net_send_all(fd, b, n, net_deadline(1000), NULL), PLCIO_OK);
}

/* Bytes that arrive within ms (0 if none). */
static size_t raw_read(int fd, uint8_t *buf, size_t cap, int ms)
{
    size_t have = 0, got;
    uint64_t dl = net_deadline(ms);
    while (have < cap && net_recv_some(fd, buf + have, cap - have, &got, dl) == PLCIO_OK)
        have += got;
    return have;
}

static size_t rtu_request(uint8_t unit, const char *pdu_hex, uint8_t *out)
{
    uint8_t pdu[64];
    size_t n = plcio_test_hex(pdu_hex, pdu, sizeof pdu), len;
    assert_int_equal(mb_rtu_encode(unit, pdu, n, out, 300, &len), PLCIO_OK);
    return len;
}

static plcio_modbus_server_stats stats(const line_fixture *f)
{
    plcio_modbus_server_stats st;
    assert_int_equal(plcio_modbus_server_stats_get(f->srv, &st), PLCIO_OK);
    return st;
}

static void test_rtu_bad_frames(void **state)
{
    (void)state;
    line_fixture f;
    start(&f, "rtu");
    int fd = open_raw(&f);
    uint8_t req[300], resp[300];
    size_t n = rtu_request(1, "03 00 00 00 02", req);
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, 9, 1000), 9); /* 01 03 04 .. .. CRC */
    assert_int_equal(plcio_mb_crc16(resp, 9), 0);
    /* CRC error: counted, not answered */
    req[n - 1] ^= 0x55;
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, sizeof resp, 300), 0);
    assert_int_equal(stats(&f).bus_comm_errors, 1);
    /* another unit's request: seen on the bus, not answered */
    uint16_t before = stats(&f).bus_messages;
    n = rtu_request(9, "03 00 00 00 02", req);
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, sizeof resp, 300), 0);
    assert_int_equal(stats(&f).bus_messages, before + 1);
    /* noise, silence, then a good frame */
    static const uint8_t noise[] = {0xFF, 0x13, 0x00};
    raw_write(fd, noise, sizeof noise);
    mb_sleep_ms(50);
    n = rtu_request(2, "06 00 05 12 34", req);
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, 8, 1000), 8);
    assert_memory_equal(resp, req, 8); /* FC 6 echoes */
    /* a partial frame, silence longer than t3.5, then a whole frame */
    raw_write(fd, req, 4);
    mb_sleep_ms(50);
    n = rtu_request(1, "03 00 00 00 01", req);
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, 7, 1000), 7);
    assert_int_equal(resp[0], 1);
    assert_int_equal(raw_read(fd, resp, sizeof resp, 200), 0);
    /* exception on a serial line keeps the unit address */
    n = rtu_request(2, "03 00 63 00 05", req);
    raw_write(fd, req, n);
    assert_int_equal(raw_read(fd, resp, 5, 1000), 5);
    assert_int_equal(resp[0], 2);
    assert_int_equal(resp[1], 0x83);
    assert_int_equal(resp[2], 2);
    net_close(fd);

    /* the FC 8 counters report what happened */
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=500&retries=0", f.dir);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    uint16_t v;
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0C, &v), PLCIO_OK);
    assert_true(v >= 2); /* the CRC error and the partial frame */
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0D, &v), PLCIO_OK);
    assert_int_equal(v, 1);
    plcio_modbus_client_free(c);
    stop(&f);
}

static void test_rtu_broadcast_and_listen_only(void **state)
{
    (void)state;
    line_fixture f;
    start(&f, "rtu");
    char url[200];
    snprintf(url, sizeof url, "modbus-rtu://%s/ttyB?baud=19200&parity=N&timeout=400&retries=0", f.dir);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    uint16_t r[2];
    /* broadcast: nothing awaited, every unit written */
    assert_int_equal(plcio_modbus_write_register(c, 0, 7, 0xABCD), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 0, 7, 1, r), PLCIO_EINVAL); /* reads cannot be broadcast */
    r[0] = 0; /* no answer to wait for: poll the bank (a slow machine must not fail this) */
    for (int i = 0; i < 250 && r[0] != 0xABCD; i++) {
        mb_sleep_ms(20);
        assert_int_equal(plcio_modbus_server_read_bank(f.srv, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 7, 1, r), PLCIO_OK);
    }
    assert_int_equal(r[0], 0xABCD);
    assert_int_equal(plcio_modbus_server_read_bank(f.srv, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 7, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 0xABCD);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 7, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 0xABCD);
    /* listen-only: the server goes quiet until restart communications */
    static const uint8_t zero[2] = {0, 0};
    uint8_t out[4];
    size_t n;
    assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x04, zero, 2, out, sizeof out, &n), PLCIO_OK);
    /* no answer to wait for: the server thread takes it when it runs (polled, not a fixed pause) */
    for (int i = 0; i < 250 && !stats(&f).listen_only; i++)
        mb_sleep_ms(20);
    assert_true(stats(&f).listen_only);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 7, 1, r), PLCIO_ETIMEDOUT);
    assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x01, zero, 2, out, sizeof out, &n), PLCIO_ETIMEDOUT);
    assert_false(stats(&f).listen_only);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 7, 1, r), PLCIO_OK);
    plcio_modbus_event_log log;
    assert_int_equal(plcio_modbus_get_comm_event_log(c, 1, &log), PLCIO_OK);
    assert_true(log.event_len >= 3);
    plcio_modbus_client_free(c);
    stop(&f);
}

static void test_ascii_lrc_errors(void **state)
{
    (void)state;
    line_fixture f;
    start(&f, "ascii");
    int fd = open_raw(&f);
    const char *good = ":010300000002FA\r\n", *bad = ":010300000002FB\r\n";
    uint8_t resp[64];
    raw_write(fd, (const uint8_t *)bad, strlen(bad));
    assert_int_equal(raw_read(fd, resp, sizeof resp, 300), 0);
    assert_int_equal(stats(&f).bus_comm_errors, 1);
    raw_write(fd, (const uint8_t *)"garbage", 7);
    raw_write(fd, (const uint8_t *)good, strlen(good));
    size_t n = raw_read(fd, resp, 19, 1000); /* ":01030400000000F8\r\n" */
    assert_int_equal(n, 19);
    assert_memory_equal(resp, ":01030400000000F8\r\n", 19);
    net_close(fd);
    char url[200];
    snprintf(url, sizeof url, "modbus-ascii://%s/ttyB?baud=19200&parity=N&timeout=500", f.dir);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    uint16_t w[3] = {1, 2, 3}, r[3];
    assert_int_equal(plcio_modbus_write_registers(c, 2, 10, 3, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 10, 3, r), PLCIO_OK);
    assert_memory_equal(r, w, 6);
    plcio_modbus_client_free(c);
    stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtu_bad_frames),
        cmocka_unit_test(test_rtu_broadcast_and_listen_only),
        cmocka_unit_test(test_ascii_lrc_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
