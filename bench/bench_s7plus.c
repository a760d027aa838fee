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

#define DB_SIZE 65535u

static plcio_s7_server *srv;

static int mem(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out,
               const uint8_t *in)
{
    (void)ctx;
    if (area != PLCIO_S7PLUS_AREA_DB) return PLCIO_ENOTFOUND;
    size_t have = 0;
    if (plcio_s7_server_lock_area(srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db) != PLCIO_OK) return PLCIO_ENOTFOUND;
    uint8_t *m = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db, &have);
    int rc = PLCIO_ERANGE;
    if (m && start <= have && size <= have - start) {
        if (out)
            memcpy(out, m + start, size);
        else if (in)
            memcpy(m + start, in, size);
        rc = PLCIO_OK;
    }
    plcio_s7_server_unlock_area(srv, PLCIO_S7_SERVER_AREA_DB, (uint16_t)db);
    return rc;
}
static int mem_read(void *ctx, plcio_s7plus_area a, unsigned db, uint32_t s, uint32_t n, uint8_t *out)
{
    return mem(ctx, a, db, s, n, out, NULL);
}
static int mem_write(void *ctx, plcio_s7plus_area a, unsigned db, uint32_t s, uint32_t n, const uint8_t *in)
{
    return mem(ctx, a, db, s, n, NULL, in);
}

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
    po.memory.read = mem_read;
    po.memory.write = mem_write;
    plcio_s7plus_server *plus = NULL;
    plcio_error err;
    if (plcio_s7plus_server_new(&po, &plus, &err)) return fprintf(stderr, "bench_s7plus: %s\n", err.text), 1;
    char cert[] = "/tmp/plcio-bench-s7plus-XXXXXX";
    int fd = mkstemp(cert);
    if (fd < 0 || close(fd) != 0 || plcio_s7plus_server_write_certificate(plus, cert, &err)) return 1;

    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    so.port = 0;
    so.handoff.accept = plcio_s7plus_server_accept;
    so.handoff.feed = plcio_s7plus_server_conn_feed;
    so.handoff.output = plcio_s7plus_server_conn_output;
    so.handoff.output_done = plcio_s7plus_server_conn_output_done;
    so.handoff.close = plcio_s7plus_server_conn_close;
    so.handoff.ctx = plus;
    if (plcio_s7_server_new(&so, &srv, &err) ||
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, DB_SIZE, NULL) || plcio_s7_server_start(srv))
        return fprintf(stderr, "bench_s7plus: server: %s\n", err.text), 1;
    unsigned port = plcio_s7_server_port(srv);

    char url[400];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u", port);
    plcio_s7_client *s7 = NULL;
    if (plcio_s7_client_new(url, NULL, &s7, NULL) || plcio_s7_client_connect(s7)) return 1;
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%u?ca=%s", port, cert);
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
    plcio_s7_server_free(srv);
    plcio_s7plus_server_free(plus);
    (void)remove(cert);
    return 0;
}
