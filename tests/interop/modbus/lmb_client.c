/* libmodbus 3.1 client as a foreign peer: runs every function code libmodbus
 * has against a plcio server (plcio sim modbus --unit 1 --size >= 1000).
 *
 *   lmb_client tcp HOST PORT | lmb_client rtu DEVICE
 *
 * Prints "ok NAME" per check, "ALL OK" at the end; exit 1 on the first
 * failure. Exits by itself after 30 s. */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check(const char *name, int ok)
{
    if (!ok) {
        printf("FAIL %s (%s)\n", name, modbus_strerror(errno));
        exit(1);
    }
    printf("ok %s\n", name);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    alarm(30);
    if (argc < 3) return 2;
    modbus_t *ctx = !strcmp(argv[1], "tcp") ? modbus_new_tcp(argv[2], argc > 3 ? atoi(argv[3]) : 502)
                                            : modbus_new_rtu(argv[2], 19200, 'N', 8, 1);
    modbus_set_slave(ctx, 1);
    modbus_set_response_timeout(ctx, 2, 0);
    check("connect", modbus_connect(ctx) == 0);

    uint16_t w[10] = {1, 2, 3, 0xFFFF, 0x8000, 6, 7, 8, 9, 10}, r[125];
    check("fc16 write_registers", modbus_write_registers(ctx, 10, 10, w) == 10);
    check("fc03 read_registers", modbus_read_registers(ctx, 10, 10, r) == 10 && !memcmp(r, w, sizeof w));
    check("fc06 write_register", modbus_write_register(ctx, 30, 0x1234) == 1);
    check("fc22 mask_write_register", modbus_mask_write_register(ctx, 30, 0x00F2, 0x0025) == 1);
    check("fc22 result", modbus_read_registers(ctx, 30, 1, r) == 1 && r[0] == ((0x1234 & 0x00F2) | (0x0025 & ~0x00F2)));
    uint16_t rw[3] = {7, 8, 9};
    check("fc23 write_and_read_registers",
          modbus_write_and_read_registers(ctx, 40, 3, rw, 40, 3, r) == 3 && !memcmp(r, rw, 6));
    check("fc04 read_input_registers", modbus_read_input_registers(ctx, 0, 125, r) == 125);
    uint8_t bits[100], back[100];
    for (int i = 0; i < 100; i++)
        bits[i] = (uint8_t)(i % 5 == 1);
    check("fc15 write_bits", modbus_write_bits(ctx, 100, 100, bits) == 100);
    check("fc01 read_bits", modbus_read_bits(ctx, 100, 100, back) == 100 && !memcmp(bits, back, 100));
    check("fc05 write_bit", modbus_write_bit(ctx, 3, 1) == 1);
    check("fc05 result", modbus_read_bits(ctx, 3, 1, back) == 1 && back[0] == 1);
    check("fc02 read_input_bits", modbus_read_input_bits(ctx, 0, 64, back) == 64);
    uint8_t id[256];
    int n = modbus_report_slave_id(ctx, sizeof id, id);
    /* libmodbus reads FC 17 as the spec lays it out: server id, run indicator, additional data */
    check("fc17 report_slave_id", n == 11 && id[0] == 0x01 && id[1] == 0xFF && !memcmp(id + 2, "plcio sim", 9));
    check("exception 02", modbus_read_registers(ctx, 65530, 6, r) == -1 && errno == EMBXILADD);
    check("limit 126 refused", modbus_read_registers(ctx, 0, 126, r) == -1);
    modbus_close(ctx);
    modbus_free(ctx);
    printf("ALL OK\n");
    return 0;
}
