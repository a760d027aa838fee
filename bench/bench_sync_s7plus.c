/* bench_sync_s7plus: the sync engine polling 100 and 1,000 DINT tags from an
 * in-process simulator (plcio's S7 server with the S7CommPlus handoff, as
 * `plcio sim s7` runs it, on its own thread) over S7CommPlus/TLS (s7plus://)
 * against the same tags over classic S7 (s7://), one group at a 1 ms
 * interval, as fast as it goes. Two shapes: dense (tags next to each other:
 * merged into one item / variable) and sparse (64 bytes apart: one item per
 * tag; S7CommPlus then takes 64 items per request, classic S7 20 per PDU).
 * Prints cycles/s, the engine thread's CPU and the ratio plus/classic.
 * Then a group fed by a subscription (subscribe: true) against the same
 * group polled, both over S7CommPlus at a 10 ms interval, 100 and 1,000
 * tags one item each, with the values unchanged and with every value
 * changing every millisecond (a writer thread): cycles/s, tag values/s
 * delivered to the engine's image, notifications/s and the engine thread's
 * CPU, and the ratio of CPU per delivered value polled/subscribed.
 * PLCIO_BENCH_SECONDS (default 3) sets the length of each run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "bench_engine.h"
#include "bench_sim.h"

#define DB_SIZE 65535u

static int run_group(const char *url, int tags, int stride, const char *interval, bool subscribe, bench_engine_run *r)
{
    size_t cap = (size_t)tags * 64 + 512, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) exit(1);
    n += (size_t)snprintf(yaml + n, cap - n,
                          "devices:\n  - name: dev\n    url: \"%s\"\n    groups:\n      - name: g\n"
                          "        interval: %s\n        subscribe: %s\n        tags:\n",
                          url, interval, subscribe ? "true" : "false");
    for (int i = 0; i < tags; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "          - {address: \"DB1.DBD%d:DINT\", name: t%d}\n", i * stride,
                              i);
    bench_engine_options o = {.seconds = bench_seconds(3.0)};
    int rc = bench_run_engine(yaml, &o, r);
    free(yaml);
    return rc;
}

/* The writer thread: while on, every DINT the subscription cases read (64
 * bytes apart) counts up, every millisecond. */
static plcio_s7_server *writer_srv;
static atomic_bool writer_on, writer_stop;
static void *writer(void *arg)
{
    (void)arg;
    uint32_t k = 0;
    while (!atomic_load(&writer_stop)) {
        if (atomic_load(&writer_on) && plcio_s7_server_lock_area(writer_srv, PLCIO_S7_SERVER_AREA_DB, 1) == PLCIO_OK) {
            size_t have = 0;
            uint8_t *m = plcio_s7_server_area_data(writer_srv, PLCIO_S7_SERVER_AREA_DB, 1, &have);
            k++;
            for (size_t off = 0; m && off + 4 <= have && off < (size_t)1000 * 64; off += 64) {
                m[off] = (uint8_t)(k >> 24);
                m[off + 1] = (uint8_t)(k >> 16);
                m[off + 2] = (uint8_t)(k >> 8);
                m[off + 3] = (uint8_t)k;
            }
            plcio_s7_server_unlock_area(writer_srv, PLCIO_S7_SERVER_AREA_DB, 1);
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* One group at 1 ms, polled. */
static int run(const char *url, int tags, int stride, bench_engine_run *r)
{
    return run_group(url, tags, stride, "1ms", false, r);
}

int main(void)
{
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    bench_sim sim;
    if (bench_sim_start(&sim, &po, 1, DB_SIZE, true, "bench_sync_s7plus")) return 1; /* tick: subscriptions */
    char classic[128], plusurl[400];
    snprintf(classic, sizeof classic, "s7://127.0.0.1:%u", sim.port);
    snprintf(plusurl, sizeof plusurl, "s7plus://127.0.0.1:%u?ca=%s", sim.port, sim.cert);

    printf("sync engine, one group of DINT tags every 1 ms, %.0f s per case; server in-process (own thread)\n",
           bench_seconds(3.0));
    static const struct {
        int tags, stride;
        const char *shape;
    } cases[] = {{100, 4, "dense"}, {1000, 4, "dense"}, {100, 64, "sparse"}, {1000, 64, "sparse"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        bench_engine_run a, b;
        if (run(classic, cases[k].tags, cases[k].stride, &a) || run(plusurl, cases[k].tags, cases[k].stride, &b)) {
            fprintf(stderr, "bench_sync_s7plus: engine failed\n");
            return 1;
        }
        printf("  %4d tags %-6s classic S7 %7.1f cycles/s CPU %3.0f%%   S7CommPlus/TLS %7.1f cycles/s CPU %3.0f%%   "
               "ratio plus/classic %.2f (errors %llu/%llu)\n",
               cases[k].tags, cases[k].shape, a.cycles_per_s, 100 * a.cpu_s / a.elapsed_s, b.cycles_per_s,
               100 * b.cpu_s / b.elapsed_s, b.cycles_per_s / a.cycles_per_s, (unsigned long long)a.errors,
               (unsigned long long)b.errors);
    }

    printf("subscribed vs polled group, S7CommPlus/TLS, DINT tags 64 bytes apart (one item each), every 10 ms\n");
    writer_srv = sim.srv;
    pthread_t wt;
    if (pthread_create(&wt, NULL, writer, NULL) != 0) return 1;
    for (int changing = 0; changing < 2; changing++) {
        atomic_store(&writer_on, changing != 0);
        static const int counts[] = {100, 1000};
        for (size_t k = 0; k < 2; k++) {
            bench_engine_run p, q;
            if (run_group(plusurl, counts[k], 64, "10ms", false, &p) ||
                run_group(plusurl, counts[k], 64, "10ms", true, &q)) {
                fprintf(stderr, "bench_sync_s7plus: engine failed\n");
                return 1;
            }
            double pv = (double)p.updates / p.elapsed_s, qv = (double)q.updates / q.elapsed_s;
            double pc = p.cpu_s / p.elapsed_s, qc = q.cpu_s / q.elapsed_s;
            printf("  %4d tags %-9s polled %6.1f cycles/s %8.0f values/s CPU %3.0f%%   subscribed %6.1f cycles/s "
                   "%8.0f values/s %6.1f notifications/s CPU %3.0f%%   CPU per value polled/subscribed %.2f "
                   "(errors %llu/%llu)\n",
                   counts[k], changing ? "changing" : "unchanged", p.cycles_per_s, pv, 100 * pc, q.cycles_per_s, qv,
                   (double)q.notifications / q.elapsed_s, 100 * qc,
                   qv > 0 && pv > 0 && qc > 0 ? (pc / pv) / (qc / qv) : 0.0, (unsigned long long)p.errors,
                   (unsigned long long)q.errors);
        }
    }
    atomic_store(&writer_stop, true);
    pthread_join(wt, NULL);
    bench_sim_free(&sim);
    return 0;
}
