/* What a backed range of the S7 server costs (docs/s7-server.md "Backed
 * ranges"): the same plcio S7 client reads 16 bytes, one request at a time,
 *   - directly from the remote device (a plcio S7 server on its own thread);
 *   - through a plcio S7 server whose DB10 is backed by the remote's DB1 with
 *     max_age 0 (every read asks the remote);
 *   - through the same server's DB11, backed with max_age 60 s (after the
 *     first read, answered from the cache);
 * and prints latency percentiles (p50/p99) and the ratio to direct. The
 * backed server runs in caller-driven mode on a thread of its own.
 * Everything on 127.0.0.1. Timings depend on the machine: compare the ratios. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"

#define N_READS 3000

static atomic_bool g_stop;

static void *serve(void *p)
{
    while (!atomic_load(&g_stop))
        (void)plcio_s7_server_run_once(p, 50);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    double p50_us, p99_us;
} stats;

static int measure(const char *what, uint16_t port, uint16_t db, stats *out)
{
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u", (unsigned)port);
    plcio_s7_client *c = NULL;
    if (plcio_s7_client_new(url, NULL, &c, NULL) != PLCIO_OK || plcio_s7_client_connect(c) != PLCIO_OK) {
        fprintf(stderr, "bench_s7_backed: cannot connect to %s\n", url);
        plcio_s7_client_free(c);
        return -1;
    }
    uint64_t *lat = calloc(N_READS, sizeof *lat);
    uint8_t buf[16];
    int rc = lat ? PLCIO_OK : PLCIO_ENOMEM;
    for (int i = 0; i < N_READS && rc == PLCIO_OK; i++) {
        uint64_t t0 = plcio_monotonic_ns();
        rc = plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, db, 0, sizeof buf, buf);
        lat[i] = plcio_monotonic_ns() - t0;
    }
    if (rc != PLCIO_OK) {
        fprintf(stderr, "bench_s7_backed: %s: %s\n", what, plcio_s7_client_last_error(c)->text);
    } else {
        qsort(lat, N_READS, sizeof *lat, cmp_u64);
        size_t i50 = N_READS / 2, i99 = (size_t)N_READS * 99 / 100;
        uint64_t p50 = lat[i50], p99 = lat[i99];
        out->p50_us = (double)p50 / 1e3;
        out->p99_us = (double)p99 / 1e3;
    }
    free(lat);
    plcio_s7_client_free(c);
    return rc == PLCIO_OK ? 0 : -1;
}

int main(void)
{
    plcio_s7_server_options ro;
    plcio_s7_server_options_init(&ro);
    ro.port = 0;
    plcio_s7_server *remote = NULL, *front = NULL;
    if (plcio_s7_server_new(&ro, &remote, NULL) ||
        plcio_s7_server_add_area(remote, PLCIO_S7_SERVER_AREA_DB, 1, 100, NULL) || plcio_s7_server_start(remote)) {
        fprintf(stderr, "bench_s7_backed: remote server failed\n");
        return 1;
    }
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u", (unsigned)plcio_s7_server_port(remote));
    plcio_s7_backing_options live, cached;
    plcio_s7_backing_options_init(&live);
    live.remote_db = 1;
    cached = live;
    cached.max_age_ms = 60000;
    plcio_error err = {0};
    if (plcio_s7_server_new(&ro, &front, NULL) ||
        plcio_s7_server_back_range(front, PLCIO_S7_SERVER_AREA_DB, 10, 0, 100, url, &live, &err) ||
        plcio_s7_server_back_range(front, PLCIO_S7_SERVER_AREA_DB, 11, 0, 100, url, &cached, &err) ||
        plcio_s7_server_listen(front)) {
        fprintf(stderr, "bench_s7_backed: backed server failed: %s\n", err.text);
        return 1;
    }
    pthread_t th;
    atomic_store(&g_stop, false);
    if (pthread_create(&th, NULL, serve, front) != 0) return 1;
    stats direct = {0}, backed = {0}, cache = {0};
    int bad = measure("direct", plcio_s7_server_port(remote), 1, &direct);
    bad |= measure("backed, max-age 0", plcio_s7_server_port(front), 10, &backed);
    bad |= measure("backed, cached", plcio_s7_server_port(front), 11, &cache);
    atomic_store(&g_stop, true);
    pthread_join(th, NULL);
    plcio_s7_backing_stats st = {0};
    (void)plcio_s7_server_backing_stats(front, 1, &st);
    plcio_s7_server_free(front);
    plcio_s7_server_free(remote);
    if (bad) return 1;
    printf("S7 read of 16 bytes, %d reads one at a time, plcio client:\n", N_READS);
    printf("  %-26s p50 %8.1f us  p99 %8.1f us\n", "direct", direct.p50_us, direct.p99_us);
    printf("  %-26s p50 %8.1f us  p99 %8.1f us  (x%.2f / x%.2f of direct)\n", "backed range, max-age 0", backed.p50_us,
           backed.p99_us, backed.p50_us / direct.p50_us, backed.p99_us / direct.p99_us);
    printf("  %-26s p50 %8.1f us  p99 %8.1f us  (x%.2f / x%.2f of direct; %llu of %llu reads from the cache)\n",
           "backed range, cached", cache.p50_us, cache.p99_us, cache.p50_us / direct.p50_us,
           cache.p99_us / direct.p99_us, (unsigned long long)st.cache_hits, (unsigned long long)st.reads);
    return 0;
}
