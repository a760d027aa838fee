/* Modbus client and server together in one process over loopback TCP and
 * UDP (port 0), every function code, exceptions, and bad input thrown at
 * the server from raw sockets: it must drop only the bad frame/connection.
 * A fake server (raw socket) checks that the client never takes a stale
 * answer for a fresh one. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_codec.h"
#include "net/net.h"
#include "plcio/modbus.h"
#include "plcio_test.h"

typedef struct fixture {
    plcio_modbus_server *srv;
    pthread_t thread;
    int port, udp_port;
    plcio_modbus_client *c;
} fixture;

static void *serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

static int cb_read_regs(void *ctx, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint16_t *regs)
{
    (void)ctx;
    (void)unit;
    if (addr >= 1000) return PLCIO_MB_EX_SERVER_DEVICE_BUSY;
    for (uint16_t i = 0; i < n; i++)
        regs[i] = (uint16_t)(area * 1000 + addr + i);
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    (void)plcio_modbus_server_new(NULL, &f->srv, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    bank.files = 2;
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 1, &bank), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 1, &bank), PLCIO_EEXIST);
    plcio_modbus_bank_config small = {.holding_registers = {100, 10}};
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 2, &small), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 3, &small), PLCIO_OK);
    plcio_modbus_bank_config big = plcio_modbus_bank_default(2000);
    assert_int_equal(plcio_modbus_server_add_unit(f->srv, 5, &big), PLCIO_OK);
    plcio_modbus_callbacks cb = {.read_registers = cb_read_regs};
    assert_int_equal(plcio_modbus_server_set_callbacks(f->srv, 3, &cb, NULL), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_tcp(f->srv, "127.0.0.1", 0, &f->port), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_listen_udp(f->srv, "127.0.0.1", 0, &f->udp_port), PLCIO_OK);
    pthread_create(&f->thread, NULL, serve, f->srv);
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1&timeout=2000", f->port);
    (void)plcio_modbus_client_new(url, NULL, &f->c, NULL);
    assert_non_null(f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    plcio_modbus_client_free(f->c);
    plcio_modbus_server_stop(f->srv);
    pthread_join(f->thread, NULL);
    plcio_modbus_server_free(f->srv);
    free(f);
    return 0;
}

static void test_registers_and_bits(void **state)
{
    fixture *f = *state;
    plcio_modbus_client *c = f->c;
    uint16_t w[125], r[125];
    for (int i = 0; i < 123; i++)
        w[i] = (uint16_t)(i * 3 + 1);
    assert_int_equal(plcio_modbus_write_registers(c, PLCIO_MODBUS_UNIT_DEFAULT, 10, 123, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, PLCIO_MODBUS_UNIT_DEFAULT, 10, 123, r), PLCIO_OK);
    assert_memory_equal(w, r, sizeof(uint16_t) * 123);
    assert_int_equal(plcio_modbus_write_register(c, 1, 5, 0xBEEF), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 5, 1, r), PLCIO_OK);
    assert_int_equal(r[0], 0xBEEF);
    assert_int_equal(plcio_modbus_mask_write_register(c, 1, 5, 0x00F2, 0x0025), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 5, 1, r), PLCIO_OK);
    assert_int_equal(r[0], (0xBEEF & 0x00F2) | (0x0025 & ~0x00F2));
    uint16_t rw[3] = {7, 8, 9};
    assert_int_equal(plcio_modbus_read_write_registers(c, 1, 200, 3, r, 200, 3, rw), PLCIO_OK);
    assert_memory_equal(r, rw, 6); /* the write happens before the read */
    uint16_t in[3] = {11, 12, 13};
    assert_int_equal(plcio_modbus_server_write_bank(f->srv, 1, PLCIO_MODBUS_INPUT_REGISTERS, 997, 3, in), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_input_registers(c, 1, 997, 3, r), PLCIO_OK);
    assert_memory_equal(r, in, 6);

    uint8_t bits[2000], back[2000];
    for (int i = 0; i < 1968; i++)
        bits[i] = (uint8_t)((i * 7) % 3 == 0);
    assert_int_equal(plcio_modbus_write_coils(c, 5, 0, 1968, bits), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_coils(c, 5, 0, 1968, back), PLCIO_OK);
    assert_memory_equal(bits, back, 1968);
    assert_int_equal(plcio_modbus_write_coil(c, 1, 999, true), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_coils(c, 1, 999, 1, back), PLCIO_OK);
    assert_int_equal(back[0], 1);
    uint16_t di[5] = {1, 0, 1, 1, 0};
    assert_int_equal(plcio_modbus_server_write_bank(f->srv, 1, PLCIO_MODBUS_DISCRETE_INPUTS, 3, 5, di), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_discrete_inputs(c, 1, 3, 5, back), PLCIO_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(back[i], di[i]);

    float fl[3] = {123.456f, -1.5f, 3e10f}, fo[3];
    for (int o = 0; o < 4; o++) {
        assert_int_equal(plcio_modbus_write_floats(c, 1, 300, 3, fl, (plcio_mb_order)o), PLCIO_OK);
        assert_int_equal(plcio_modbus_read_floats(c, 1, false, 300, 3, fo, (plcio_mb_order)o), PLCIO_OK);
        assert_memory_equal((const void *)fl, (const void *)fo, sizeof fl); /* bit-exact on purpose */
    }
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 300, 2, r), PLCIO_OK);
    assert_int_equal(r[0], 0x79E9); /* the last order written was DCBA */
}

static void test_exceptions_and_limits(void **state)
{
    fixture *f = *state;
    plcio_modbus_client *c = f->c;
    uint16_t r[130];
    uint8_t b[2100];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 990, 20, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 1, r), PLCIO_OK);
    assert_int_equal(plcio_modbus_last_exception(c), 0);
    /* unit 2 holds registers 100..109 only */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 100, 10, r), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 99, 2, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_read_coils(c, 2, 0, 1, b), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), 2);
    /* sparse: a second block for unit 2's holding registers */
    assert_int_equal(plcio_modbus_server_add_block(f->srv, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 500, 10), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_add_block(f->srv, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 505, 10), PLCIO_EEXIST);
    assert_int_equal(plcio_modbus_server_add_block(f->srv, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 65530, 10), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_server_add_block(f->srv, 42, PLCIO_MODBUS_HOLDING_REGISTERS, 0, 10), PLCIO_ENOTFOUND);
    uint16_t sv[2] = {0x5151, 0x5252};
    assert_int_equal(plcio_modbus_server_write_bank(f->srv, 2, PLCIO_MODBUS_HOLDING_REGISTERS, 508, 2, sv), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 508, 2, r), PLCIO_OK);
    assert_memory_equal(r, sv, 4);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 509, 2, r), PLCIO_EMBEXC); /* runs past the block */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 2, 300, 1, r), PLCIO_EMBEXC); /* between blocks */
    assert_int_equal(plcio_modbus_last_exception(c), 2);
    /* unit 3 is backed by callbacks */
    assert_int_equal(plcio_modbus_read_input_registers(c, 3, 40, 2, r), PLCIO_OK);
    assert_int_equal(r[0], 3040);
    assert_int_equal(r[1], 3041);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 3, 1000, 1, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_SERVER_DEVICE_BUSY);
    /* a unit that does not exist: gateway target failed (TCP) */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 77, 0, 1, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_GATEWAY_TARGET_FAILED);
    /* quantities checked before sending */
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 126, r), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 0, r), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_read_coils(c, 1, 0, 2001, b), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_write_registers(c, 1, 0, 124, r), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_write_coils(c, 1, 0, 1969, b), PLCIO_ERANGE);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 300, 0, 1, r), PLCIO_EINVAL);
    /* unknown function code through the raw call: illegal function */
    uint8_t pdu[3] = {0x64, 0x01, 0x02}, resp[260];
    size_t n;
    assert_int_equal(plcio_modbus_execute(c, 1, pdu, 3, resp, sizeof resp, &n), PLCIO_EMBEXC);
    assert_int_equal(n, 2);
    assert_int_equal(resp[0], 0xE4);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_FUNCTION);
}

static void test_diagnostics_and_identity(void **state)
{
    fixture *f = *state;
    plcio_modbus_client *c = f->c;
    uint8_t echo[4] = {0xA5, 0x37, 0x01, 0x02}, out[16];
    size_t n;
    assert_int_equal(plcio_modbus_diagnostics(c, 1, 0x00, echo, 4, out, sizeof out, &n), PLCIO_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(out, echo, 4);
    uint16_t v;
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0B, &v), PLCIO_OK);
    assert_true(v >= 2);
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0A, &v), PLCIO_OK); /* clear */
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0E, &v), PLCIO_OK);
    assert_int_equal(v, 1); /* this request itself */
    uint16_t r[2];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 2000, 1, r), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x0D, &v), PLCIO_OK);
    assert_int_equal(v, 1);
    assert_int_equal(plcio_modbus_diagnostic_counter(c, 1, 0x63, &v), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), PLCIO_MB_EX_ILLEGAL_FUNCTION);

    uint16_t status, count, count2;
    assert_int_equal(plcio_modbus_get_comm_event_counter(c, 1, &status, &count), PLCIO_OK);
    assert_int_equal(status, 0);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 1, r), PLCIO_OK);
    assert_int_equal(plcio_modbus_get_comm_event_counter(c, 1, &status, &count2), PLCIO_OK);
    assert_int_equal(count2, count + 1);
    plcio_modbus_event_log log;
    assert_int_equal(plcio_modbus_get_comm_event_log(c, 1, &log), PLCIO_OK);
    assert_int_equal(log.event_count, count2);
    assert_true(log.event_len >= 2);
    assert_int_equal(log.events[0], 0x80); /* newest: the receive of this request */
    assert_int_equal(log.events[1], 0x40); /* a normal send before it */

    uint8_t st;
    assert_int_equal(plcio_modbus_server_set_exception_status(f->srv, 1, 0x6D), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_exception_status(c, 1, &st), PLCIO_OK);
    assert_int_equal(st, 0x6D);
    uint8_t id[64];
    assert_int_equal(plcio_modbus_report_server_id(c, 1, id, sizeof id, &n), PLCIO_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(id, "plcio\xff", 6);

    plcio_modbus_device_object objs[300];
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 1, 0, objs, 300, &n), PLCIO_OK);
    assert_int_equal(n, 3);
    assert_string_equal(objs[0].value, "plcio");
    assert_string_equal(objs[1].value, "plcio-sim");
    /* Many extended objects: the stream needs more-follows continuation. */
    char val[241];
    memset(val, 'x', 240);
    val[240] = 0;
    for (int i = 0x80; i < 0x88; i++)
        assert_int_equal(plcio_modbus_server_set_device_id(f->srv, (uint8_t)i, val), PLCIO_OK);
    assert_int_equal(plcio_modbus_server_set_device_id(f->srv, 0x90, "short"), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 3, 0, objs, 300, &n), PLCIO_OK);
    assert_int_equal(n, 3 + 8 + 1);
    assert_int_equal(objs[11].id, 0x90);
    assert_int_equal(objs[5].length, 240);
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 4, 0x90, objs, 300, &n), PLCIO_OK);
    assert_int_equal(n, 1);
    assert_string_equal(objs[0].value, "short");
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 4, 0x91, objs, 300, &n), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), 2);
    assert_int_equal(plcio_modbus_read_device_id(c, 1, 2, 0, objs, 2, &n), PLCIO_ENOSPC);
}

static void test_files_and_fifo(void **state)
{
    fixture *f = *state;
    plcio_modbus_client *c = f->c;
    uint16_t a[3] = {1, 2, 3}, b[2] = {0xAF04, 0xBE10}, ra[3], rb[2];
    plcio_modbus_file_record w[2] = {{1, 7, 3, a}, {2, 9999, 1, b}};
    assert_int_equal(plcio_modbus_write_file_record(c, 1, w, 2), PLCIO_OK);
    plcio_modbus_file_record r[2] = {{1, 7, 3, ra}, {2, 9999, 1, rb}};
    assert_int_equal(plcio_modbus_read_file_record(c, 1, r, 2), PLCIO_OK);
    assert_memory_equal(ra, a, 6);
    assert_int_equal(rb[0], 0xAF04);
    plcio_modbus_file_record bad = {3, 0, 1, ra}; /* file 3 does not exist */
    assert_int_equal(plcio_modbus_read_file_record(c, 1, &bad, 1), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), 2);
    bad = (plcio_modbus_file_record){1, 9999, 2, ra}; /* runs past record 9999 */
    assert_int_equal(plcio_modbus_read_file_record(c, 1, &bad, 1), PLCIO_EMBEXC);

    uint16_t q[4] = {3, 0x1B8, 0x1284, 0x42}, out[31], count = 99;
    assert_int_equal(plcio_modbus_write_registers(c, 1, 0x4DE, 4, q), PLCIO_EMBEXC); /* 0x4DE > 1000 */
    assert_int_equal(plcio_modbus_read_fifo_queue(c, 1, 0x4DE, out, &count), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_write_registers(c, 1, 998, 2, q), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_fifo_queue(c, 1, 998, out, &count), PLCIO_EMBEXC); /* 3 past the end */
    assert_int_equal(plcio_modbus_last_exception(c), 2);
    assert_int_equal(plcio_modbus_write_registers(c, 1, 500, 4, q), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_fifo_queue(c, 1, 500, out, &count), PLCIO_OK);
    assert_int_equal(count, 3);
    assert_int_equal(out[2], 0x42);
    uint16_t big = 32;
    assert_int_equal(plcio_modbus_write_register(c, 1, 500, big), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_fifo_queue(c, 1, 500, out, &count), PLCIO_EMBEXC);
    assert_int_equal(plcio_modbus_last_exception(c), 3);
}

static void test_pipelined(void **state)
{
    fixture *f = *state;
    enum { N = 200 };
    static uint16_t regs[N][125];
    static plcio_modbus_request reqs[N];
    uint16_t init[100];
    for (int i = 0; i < 100; i++)
        init[i] = (uint16_t)(1000 + i);
    assert_int_equal(plcio_modbus_write_registers(f->c, 1, 0, 100, init), PLCIO_OK);
    for (int i = 0; i < N; i++)
        reqs[i] = (plcio_modbus_request){
            .unit = PLCIO_MODBUS_UNIT_DEFAULT, .function = 3, .addr = (uint16_t)(i % 50), .n = 50, .regs = regs[i]};
    reqs[7].addr = 990; /* one exception in the middle */
    reqs[9].n = 200;    /* one refused before sending */
    assert_int_equal(plcio_modbus_transact_many(f->c, reqs, N, 16), PLCIO_OK);
    for (int i = 0; i < N; i++) {
        if (i == 7) {
            assert_int_equal(reqs[i].result, PLCIO_EMBEXC);
            assert_int_equal(reqs[i].exception, 2);
            continue;
        }
        if (i == 9) {
            assert_int_equal(reqs[i].result, PLCIO_ERANGE);
            continue;
        }
        assert_int_equal(reqs[i].result, PLCIO_OK);
        assert_int_equal(regs[i][0], 1000 + i % 50);
        assert_int_equal(regs[i][49], 1000 + i % 50 + 49);
    }
}

static void test_udp(void **state)
{
    fixture *f = *state;
    char url[128];
    snprintf(url, sizeof url, "modbus-udp://127.0.0.1:%d?timeout=1000", f->udp_port);
    plcio_modbus_client *u = NULL;
    (void)plcio_modbus_client_new(url, NULL, &u, NULL);
    assert_non_null(u);
    uint16_t w[4] = {1, 2, 3, 4}, r[4];
    assert_int_equal(plcio_modbus_write_registers(u, 1, 50, 4, w), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(u, 1, 50, 4, r), PLCIO_OK);
    assert_memory_equal(w, r, 8);
    plcio_modbus_request reqs[10];
    uint16_t regs[10][4];
    for (int i = 0; i < 10; i++)
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 50, .n = 4, .regs = regs[i]};
    assert_int_equal(plcio_modbus_transact_many(u, reqs, 10, 5), PLCIO_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(reqs[i].result, PLCIO_OK);
        assert_memory_equal(regs[i], w, 8);
    }
    /* garbage datagrams are dropped, the socket keeps serving */
    int fd;
    assert_int_equal(net_udp_open("127.0.0.1", f->udp_port, false, &fd, NULL), PLCIO_OK);
    static const uint8_t junk[] = {0, 1, 0, 0, 0, 0, 1, 3};
    assert_int_equal(net_send_all(fd, junk, sizeof junk, net_deadline(500), NULL), PLCIO_OK);
    net_close(fd);
    assert_int_equal(plcio_modbus_read_holding_registers(u, 1, 50, 4, r), PLCIO_OK);
    plcio_modbus_client_free(u);
}

typedef struct collected {
    size_t n;
    char text[16][64];
} collected;

static void collect(void *ctx, size_t index, const char *text)
{
    collected *col = ctx;
    assert_int_equal(index, col->n);
    snprintf(col->text[col->n++], 64, "%s", text);
}

static void test_addresses(void **state)
{
    fixture *f = *state;
    plcio_modbus_client *c = f->c;
    plcio_error err = {0};
    const char *fl[] = {"123.456", "-1.5"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "hr100:REAL:CDAB[2]", fl, 2, &err), PLCIO_OK);
    uint16_t r[4];
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 100, 4, r), PLCIO_OK);
    assert_int_equal(r[0], 0xE979);
    assert_int_equal(r[1], 0x42F6);
    collected col = {0};
    assert_int_equal(plcio_modbus_read_address(c, 1, "400101:REAL:CDAB[2]", collect, &col, &err), PLCIO_OK);
    assert_int_equal(col.n, 2);
    assert_string_equal(col.text[0], "123.456001");
    assert_string_equal(col.text[1], "-1.5");
    const char *i16[] = {"-2"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "hr7:INT", i16, 1, &err), PLCIO_OK);
    col.n = 0;
    assert_int_equal(plcio_modbus_read_address(c, 1, "hr7:UINT", collect, &col, &err), PLCIO_OK);
    assert_string_equal(col.text[0], "65534");
    const char *big[] = {"70000"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "hr7:INT", big, 1, &err), PLCIO_ERANGE);
    const char *coils[] = {"true", "false", "true"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "co10[3]", coils, 3, &err), PLCIO_OK);
    col.n = 0;
    assert_int_equal(plcio_modbus_read_address(c, 1, "co10[3]", collect, &col, &err), PLCIO_OK);
    assert_string_equal(col.text[2], "true");
    assert_string_equal(col.text[1], "false");
    const char *str[] = {"hello"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "hr200:STRING[6]", str, 1, &err), PLCIO_OK);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 200, 3, r), PLCIO_OK);
    assert_int_equal(r[0], 0x6865);
    col.n = 0;
    assert_int_equal(plcio_modbus_read_address(c, 1, "hr200:STRING[6]", collect, &col, &err), PLCIO_OK);
    assert_string_equal(col.text[0], "hello");
    const char *ld[] = {"1e300"};
    assert_int_equal(plcio_modbus_write_address(c, 1, "hr300:LREAL:DCBA", ld, 1, &err), PLCIO_OK);
    col.n = 0;
    assert_int_equal(plcio_modbus_read_address(c, 1, "hr300:LREAL:DCBA", collect, &col, &err), PLCIO_OK);
    assert_string_equal(col.text[0], "1.0000000000000001e+300");
    /* errors: read-only tables, bad syntax, device exception */
    assert_int_equal(plcio_modbus_write_address(c, 1, "ir0", i16, 1, &err), PLCIO_EACCESS);
    assert_int_equal(plcio_modbus_read_address(c, 1, "xx0", collect, &col, &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_modbus_read_address(c, 1, "hr999:REAL", collect, &col, &err), PLCIO_EMBEXC);
    assert_non_null(strstr(err.text, "illegal data address"));
    /* long reads are split: 300 registers in three requests */
    col.n = 0;
    assert_int_equal(plcio_modbus_read_address(c, 1, "hr0:DINT[150]", NULL, NULL, &err), PLCIO_EINVAL);
}

/* ---- bad input from raw sockets ---- */

static int raw_connect(const fixture *f)
{
    int fd;
    assert_int_equal(net_tcp_connect("127.0.0.1", f->port, 1000, &fd), PLCIO_OK);
    return fd;
}

static void raw_send(int fd, const char *hex)
{
    uint8_t b[600];
    size_t n = plcio_test_hex(hex, b, sizeof b);
    assert_true(n != (size_t)-1);
    assert_int_equal(net_send_all(fd, b, n, net_deadline(1000), NULL), PLCIO_OK);
}

/* Read exactly one MBAP frame from fd within 1 s; returns its length or -1. */
static int raw_recv(int fd, uint8_t *buf, size_t cap)
{
    uint64_t dl = net_deadline(1000);
    if (net_recv_exact(fd, buf, 6, dl) != PLCIO_OK) return -1;
    size_t rest = (size_t)(buf[4] << 8 | buf[5]);
    if (6 + rest > cap || net_recv_exact(fd, buf + 6, rest, dl) != PLCIO_OK) return -1;
    return (int)(6 + rest);
}

static bool raw_closed(int fd)
{
    uint8_t b[64];
    size_t got;
    int rc;
    while ((rc = net_recv_some(fd, b, sizeof b, &got, net_deadline(1000))) == PLCIO_OK) {
    }
    return rc == PLCIO_ECLOSED;
}

static void test_bad_frames(void **state)
{
    fixture *f = *state;
    uint8_t b[600];
    /* A healthy client connected all along must keep being served. */
    uint16_t r[1];
    assert_int_equal(plcio_modbus_read_holding_registers(f->c, 1, 0, 1, r), PLCIO_OK);
    static const char *const fatal[] = {
        "00 01 00 00 00 00 01",                /* length 0 */
        "00 01 00 00 00 01 01",                /* length 1 */
        "00 01 00 00 01 2C 01 03",             /* length 300 */
        "00 01 00 05 00 06 01 03 00 00 00 01", /* protocol id 5 */
    };
    for (size_t i = 0; i < 4; i++) {
        int fd = raw_connect(f);
        raw_send(fd, fatal[i]);
        assert_true(raw_closed(fd));
        net_close(fd);
        assert_int_equal(plcio_modbus_read_holding_registers(f->c, 1, 0, 1, r), PLCIO_OK);
    }
    int fd = raw_connect(f);
    /* unknown function code with data: exception 01, stream stays in step */
    raw_send(fd, "00 07 00 00 00 06 01 64 AA BB CC DD 00 08 00 00 00 06 01 03 00 00 00 01");
    assert_int_equal(raw_recv(fd, b, sizeof b), 9);
    assert_int_equal(b[1], 7);
    assert_int_equal(b[7], 0xE4);
    assert_int_equal(b[8], 0x01);
    assert_int_equal(raw_recv(fd, b, sizeof b), 11);
    assert_int_equal(b[1], 8);
    assert_int_equal(b[7], 0x03);
    /* byte count disagreeing with the quantity: exception 03 */
    raw_send(fd, "00 09 00 00 00 0A 01 10 00 00 00 02 03 00 01 00");
    assert_int_equal(raw_recv(fd, b, sizeof b), 9);
    assert_int_equal(b[7], 0x90);
    assert_int_equal(b[8], 0x03);
    /* a frame in pieces, one byte at a time */
    const char *pieces[] = {"00", "0A", "00 00", "00", "06 01", "03 00", "00 00", "02"};
    for (size_t i = 0; i < 8; i++)
        raw_send(fd, pieces[i]);
    assert_int_equal(raw_recv(fd, b, sizeof b), 13);
    assert_int_equal(b[1], 0x0A);
    /* a flood of 500 requests in one write, answers read afterwards */
    static uint8_t flood[500 * 12];
    for (int i = 0; i < 500; i++) {
        static const uint8_t req[12] = {0, 0, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1};
        memcpy(flood + (size_t)12 * i, req, 12);
        flood[(size_t)12 * i] = (uint8_t)(i >> 8);
        flood[12 * i + 1] = (uint8_t)i;
    }
    assert_int_equal(net_send_all(fd, flood, sizeof flood, net_deadline(5000), NULL), PLCIO_OK);
    for (int i = 0; i < 500; i++) {
        assert_int_equal(raw_recv(fd, b, 11), 11);
        assert_int_equal(b[0] << 8 | b[1], i);
    }
    /* a truncated frame then close: the server just forgets it */
    raw_send(fd, "00 0B 00 00 00 06 01 03");
    net_close(fd);
    assert_int_equal(plcio_modbus_read_holding_registers(f->c, 1, 0, 1, r), PLCIO_OK);
    plcio_modbus_server_stats st;
    assert_int_equal(plcio_modbus_server_stats_get(f->srv, &st), PLCIO_OK);
    assert_true(st.connections_dropped >= 4);
}

/* ---- a fake server that answers wrongly ---- */

typedef struct fake {
    int listen_fd;
    int mode;
} fake;

static void *fake_serve(void *arg)
{
    fake *fk = arg;
    int fd = -1;
    uint64_t dl = net_deadline(3000);
    while (net_accept(fk->listen_fd, &fd, NULL, 0) != PLCIO_OK && plcio_monotonic_ns() < dl)
        net_wait(fk->listen_fd, false, dl);
    if (fd < 0) return NULL;
    uint8_t req[12];
    for (int k = 0; k < 2; k++) {
        if (net_recv_exact(fd, req, 12, net_deadline(3000)) != PLCIO_OK) break;
        uint8_t resp[11] = {req[0], req[1], 0, 0, 0, 5, req[6], 3, 2, 0x12, 0x34};
        if (fk->mode == 0) { /* first a stale answer (old tid), then a foreign unit, then the right one */
            uint8_t stale[11];
            memcpy(stale, resp, 11);
            stale[1] = (uint8_t)(stale[1] - 1);
            stale[9] = 0x66;
            net_send_all(fd, stale, 11, net_deadline(1000), NULL);
            stale[1] = req[1];
            stale[6] = (uint8_t)(req[6] + 1);
            net_send_all(fd, stale, 11, net_deadline(1000), NULL);
        } else if (fk->mode == 1) { /* wrong function code only */
            resp[7] = 4;
        } else { /* byte count disagreeing with the quantity */
            resp[8] = 4;
            resp[5] = 7;
        }
        net_send_all(fd, resp, 11, net_deadline(1000), NULL);
        if (fk->mode == 2) {
            static const uint8_t pad[2] = {0, 0};
            net_send_all(fd, pad, 2, net_deadline(1000), NULL);
        }
    }
    net_recv_exact(fd, req, 1, net_deadline(500));
    net_close(fd);
    return NULL;
}

static void test_stale_answers(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        fake fk = {-1, mode};
        int port;
        assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fk.listen_fd, &port), PLCIO_OK);
        pthread_t th;
        pthread_create(&th, NULL, fake_serve, &fk);
        char url[128];
        snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=300", port);
        plcio_modbus_client *c = NULL;
        (void)plcio_modbus_client_new(url, NULL, &c, NULL);
        uint16_t r[1] = {0};
        int rc = plcio_modbus_read_holding_registers(c, 1, 0, 1, r);
        if (mode == 0) {
            assert_int_equal(rc, PLCIO_OK);
            assert_int_equal(r[0], 0x1234);
        } else {
            assert_int_not_equal(rc, PLCIO_OK);
            assert_int_equal(r[0], 0);
        }
        plcio_modbus_client_free(c);
        pthread_join(th, NULL);
        net_close(fk.listen_fd);
    }
}

/* ---- retries: a server that loses the first request ---- */

static int fake_accept(int listen_fd)
{
    int fd = -1;
    uint64_t dl = net_deadline(3000);
    while (net_accept(listen_fd, &fd, NULL, 0) != PLCIO_OK && plcio_monotonic_ns() < dl)
        net_wait(listen_fd, false, dl);
    return fd;
}

static void *lossy_serve(void *arg)
{
    fake *fk = arg;
    int fd = fake_accept(fk->listen_fd);
    uint8_t req[12];
    if (fd < 0 || net_recv_exact(fd, req, 12, net_deadline(3000)) != PLCIO_OK) return NULL;
    int ignored = -1;
    if (fk->mode == 1)
        net_close(fd); /* drop the connection: the client reconnects */
    else
        ignored = fd; /* mode 0: ignore the request: the client times out, closes and sends it again */
    fd = fake_accept(fk->listen_fd);
    net_close(ignored);
    if (fd < 0 || net_recv_exact(fd, req, 12, net_deadline(3000)) != PLCIO_OK) return NULL;
    uint8_t resp[11] = {req[0], req[1], 0, 0, 0, 5, req[6], 3, 2, 0x43, 0x21};
    net_send_all(fd, resp, 11, net_deadline(1000), NULL);
    net_recv_exact(fd, req, 1, net_deadline(500));
    net_close(fd);
    return NULL;
}

static void test_retries(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++)
        for (int retries = 0; retries < 2; retries++) {
            fake fk = {-1, mode};
            int port;
            assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &fk.listen_fd, &port), PLCIO_OK);
            pthread_t th;
            pthread_create(&th, NULL, lossy_serve, &fk);
            char url[128];
            snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=300&retries=%d", port, retries);
            plcio_modbus_client *c = NULL;
            (void)plcio_modbus_client_new(url, NULL, &c, NULL);
            uint16_t r[1] = {0};
            int rc = plcio_modbus_read_holding_registers(c, 1, 0, 1, r);
            if (retries) {
                assert_int_equal(rc, PLCIO_OK);
                assert_int_equal(r[0], 0x4321);
            } else {
                assert_int_equal(rc, mode == 0 ? PLCIO_ETIMEDOUT : PLCIO_ECLOSED);
                /* the next call reconnects on its own (auto-open) */
                assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 1, r), PLCIO_OK);
                assert_int_equal(r[0], 0x4321);
            }
            plcio_modbus_client_free(c);
            pthread_join(th, NULL);
            net_close(fk.listen_fd);
        }
}

static void test_reconnect(void **state)
{
    fixture *f = *state;
    uint16_t r[1];
    assert_int_equal(plcio_modbus_read_holding_registers(f->c, 1, 0, 1, r), PLCIO_OK);
    plcio_modbus_client_close(f->c);
    assert_false(plcio_modbus_client_is_connected(f->c));
    assert_int_equal(plcio_modbus_read_holding_registers(f->c, 1, 0, 1, r), PLCIO_OK); /* auto-open */
    assert_true(plcio_modbus_client_is_connected(f->c));
    /* nothing listening: refused, clear error */
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new("modbus-tcp://127.0.0.1:1?timeout=300", NULL, &c, NULL);
    assert_int_equal(plcio_modbus_read_holding_registers(c, 1, 0, 1, r), PLCIO_ECONNREFUSED);
    plcio_modbus_client_free(c);
    plcio_error err;
    c = (plcio_modbus_client *)1; /* a failed constructor leaves NULL, not what was there */
    assert_int_equal(plcio_modbus_client_new("modbus-tcp://127.0.0.1?slave=1", NULL, &c, &err), PLCIO_ESYNTAX);
    assert_null(c);
    assert_int_equal(err.code, PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "slave"));
    assert_int_equal(plcio_modbus_client_new("modbus-tcp://127.0.0.1?unit=256", NULL, &c, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "unit"));
    assert_int_not_equal(plcio_modbus_client_new("modbus-rtu:///dev/null?parity=X", NULL, &c, &err), PLCIO_OK);
    assert_int_not_equal(plcio_modbus_client_new("http://x", NULL, &c, &err), PLCIO_OK);
    assert_int_equal(plcio_modbus_client_new(NULL, NULL, &c, NULL), PLCIO_EINVAL);
    assert_null(c);
    assert_int_equal(plcio_modbus_client_new("modbus-tcp://127.0.0.1", NULL, NULL, NULL), PLCIO_EINVAL);
    plcio_modbus_client_free(NULL);
    plcio_modbus_server_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_registers_and_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exceptions_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnostics_and_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_fifo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames, setup, teardown),
        cmocka_unit_test(test_stale_answers),
        cmocka_unit_test(test_retries),
        cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
