/* The C clients' own rate, as the baseline of bench/python_clients.py:
 *   plcio_py_c_loop s7 URL COUNT SIZE       COUNT reads of SIZE bytes at byte 0 of DB1
 *                                           (of DB2 when SIZE > 100, snap7's server's big DB)
 *   plcio_py_c_loop modbus URL COUNT SIZE   COUNT reads of SIZE holding registers at 0
 * prints "reads_per_s=R cpu_us_per_read=C" (public API only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "plcio/plcio.h"
#include "bench_measure.h"

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int run_s7(const char *url, long count, unsigned size)
{
    plcio_s7_client *c = NULL;
    plcio_error err;
    static unsigned char buf[65536];
    if (plcio_s7_client_new(url, NULL, &c, &err) != PLCIO_OK || plcio_s7_client_connect(c) != PLCIO_OK) {
        fprintf(stderr, "py_c_loop: %s: %s\n", url, c ? plcio_s7_client_last_error(c)->text : err.text);
        plcio_s7_client_free(c);
        return 1;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < count; i++) {
        if (plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, size > 100 ? 2 : 1, 0, size, buf) != PLCIO_OK) {
            fprintf(stderr, "py_c_loop: read: %s\n", plcio_s7_client_last_error(c)->text);
            plcio_s7_client_free(c);
            return 1;
        }
    }
    double t = now_s() - t0, cpu = cpu_s() - c0;
    printf("reads_per_s=%.1f cpu_us_per_read=%.2f\n", (double)count / t, cpu * 1e6 / (double)count);
    plcio_s7_client_free(c);
    return 0;
}

static int run_modbus(const char *url, long count, unsigned size)
{
    plcio_modbus_client *c = NULL;
    plcio_error err;
    uint16_t regs[125];
    if (size > 125) size = 125;
    if (plcio_modbus_client_new(url, NULL, &c, &err) != PLCIO_OK) {
        fprintf(stderr, "py_c_loop: %s: %s\n", url, err.text);
        return 1;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < count; i++) {
        if (plcio_modbus_read_holding_registers(c, PLCIO_MODBUS_UNIT_DEFAULT, 0, (uint16_t)size, regs) != PLCIO_OK) {
            fprintf(stderr, "py_c_loop: read: %s\n", plcio_modbus_client_last_error(c)->text);
            plcio_modbus_client_free(c);
            return 1;
        }
    }
    double t = now_s() - t0, cpu = cpu_s() - c0;
    printf("reads_per_s=%.1f cpu_us_per_read=%.2f\n", (double)count / t, cpu * 1e6 / (double)count);
    plcio_modbus_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: plcio_py_c_loop s7|modbus URL COUNT SIZE\n");
        return 2;
    }
    long count = strtol(argv[3], NULL, 10);
    unsigned size = (unsigned)strtoul(argv[4], NULL, 10);
    if (count <= 0 || size == 0 || size > 65535) {
        fprintf(stderr, "plcio_py_c_loop: COUNT and SIZE must be positive (SIZE <= 65535)\n");
        return 2;
    }
    if (!strcmp(argv[1], "s7")) return run_s7(argv[2], count, size);
    if (!strcmp(argv[1], "modbus")) return run_modbus(argv[2], count, size);
    fprintf(stderr, "plcio_py_c_loop: unknown protocol %s\n", argv[1]);
    return 2;
}
