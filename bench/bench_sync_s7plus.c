/* bench_sync_s7plus: the sync engine polling 100 and 1,000 DINT tags from an
 * in-process simulator (plcio's S7 server with the S7CommPlus handoff, as
 * `plcio sim s7` runs it, on its own thread) over S7CommPlus/TLS (s7plus://)
 * against the same tags over classic S7 (s7://), one group at a 1 ms
 * interval, as fast as it goes. Two shapes: dense (tags next to each other:
 * merged into one item / variable) and sparse (64 bytes apart: one item per
 * tag; S7CommPlus then takes 64 items per request, classic S7 20 per PDU).
 * Prints cycles/s, the engine thread's CPU and the ratio plus/classic.
 * PLCIO_BENCH_SECONDS (default 3) sets the length of each run. */
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

static int run(const char *url, int tags, int stride, bench_engine_run *r)
{
    size_t cap = (size_t)tags * 64 + 512, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) exit(1);
    n += (size_t)snprintf(yaml + n, cap - n,
                          "devices:\n  - name: dev\n    url: \"%s\"\n    groups:\n      - name: g\n"
                          "        interval: 1ms\n        tags:\n",
                          url);
    for (int i = 0; i < tags; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "          - {address: \"DB1.DBD%d:DINT\", name: t%d}\n", i * stride,
                              i);
    bench_engine_options o = {.seconds = bench_seconds(3.0)};
    int rc = bench_run_engine(yaml, &o, r);
    free(yaml);
    return rc;
}

int main(void)
{
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    bench_sim sim;
    if (bench_sim_start(&sim, &po, 1, DB_SIZE, false, "bench_sync_s7plus")) return 1;
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
    bench_sim_free(&sim);
    return 0;
}
