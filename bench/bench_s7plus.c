/* S7CommPlus over TLS vs classic S7 against the same in-process simulator
 * (plcio's S7 server with the S7CommPlus handoff, as `plcio sim s7` runs it):
 * raw DB reads of 4 bytes and of 64 KiB-1 (the largest DB), one client each,
 * requests back to back. Prints requests/s and the ratio S7CommPlus/classic.
 *   bench_s7plus [SECONDS_PER_CASE]   (default 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "bench_measure.h"
#include "bench_sim.h"

#define DB_SIZE 65535u

typedef int (*read_fn)(void *c, uint32_t size, uint8_t *buf);
static int classic_read(void *c, uint32_t size, uint8_t *buf)
{
    return plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, size, buf);
}
static int plus_read(void *c, uint32_t size, uint8_t *buf)
{
    return plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, size, buf);
}

static double rate(read_fn fn, void *c, uint32_t size, double seconds)
{
    static uint8_t buf[DB_SIZE];
    unsigned long n = 0;
    double t0 = now_s(), t;
    do {
        if (fn(c, size, buf) != PLCIO_OK) {
            fprintf(stderr, "bench_s7plus: read of %u bytes failed\n", size);
            exit(1);
        }
        n++;
    } while ((t = now_s()) - t0 < seconds);
    return (double)n / (t - t0);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0) seconds = 1.0;
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    bench_sim sim;
    if (bench_sim_start(&sim, &po, 1, DB_SIZE, false, "bench_s7plus")) return 1;
    plcio_error err;
    char url[400];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u", sim.port);
    plcio_s7_client *s7 = NULL;
    if (plcio_s7_client_new(url, NULL, &s7, NULL) || plcio_s7_client_connect(s7)) return 1;
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%u?ca=%s", sim.port, sim.cert);
    plcio_s7plus_client *sp = NULL;
    if (plcio_s7plus_client_new(url, NULL, &sp, &err) || plcio_s7plus_client_connect(sp))
        return fprintf(stderr, "bench_s7plus: %s\n", plcio_s7plus_client_last_error(sp)->text), 1;

    printf("one client each, back-to-back reads of DB1, %.1f s per case; S7CommPlus over %s\n", seconds,
           plcio_s7plus_client_tls_version(sp));
    static const uint32_t sizes[] = {4, DB_SIZE};
    for (int k = 0; k < 2; k++) {
        double a = rate(classic_read, s7, sizes[k], seconds);
        double b = rate(plus_read, sp, sizes[k], seconds);
        printf("  %5u bytes: classic S7 %9.0f req/s   S7CommPlus/TLS %9.0f req/s   ratio plus/classic %.2f\n", sizes[k],
               a, b, b / a);
    }
    plcio_s7plus_client_free(sp);
    plcio_s7_client_free(s7);
    bench_sim_free(&sim);
    return 0;
}
