/* Symbolic reads of an optimized DB by S7CommPlus vs a classic S7 read of
 * the same bytes from a standard copy, against one in-process simulator
 * (plcio's S7 server with the S7CommPlus handoff, as `plcio sim s7` runs
 * it): per cycle 100 and 1,000 DInt members by name (batches of max_items,
 * default 20, and of 64; 1, 2 (the default) and 8 requests under way at
 * once: pipeline=N) against one classic read of 400 / 4,000 bytes.
 * Prints the load average, cycles/s, this thread's CPU per cycle (the
 * client's; the server runs in its own thread) and the ratio
 * symbolic/classic.
 *   bench_s7plus_symbolic [SECONDS_PER_CASE]   (default 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "bench_measure.h"
#include "bench_sim.h"

#define N_MEMBERS 1000u
#define DB_SIZE   ((size_t)4 * N_MEMBERS)

static size_t list_dbs(void *ctx, uint16_t *numbers, size_t cap)
{
    (void)ctx;
    size_t n = 0;
    for (uint16_t db = 1; db <= 2 && n < cap; db++)
        numbers[n++] = db;
    return n;
}

static const char source[] = "DATA_BLOCK \"Bench\"\n{ S7_Optimized_Access := 'TRUE' }\n STRUCT\n"
                             "  V : Array[0..999] of DInt;\n END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";

typedef struct result {
    double cycles, cpu;
} result;

static result run_plus(plcio_s7plus_client *c, plcio_s7plus_sym_item *items, size_t n, double seconds)
{
    unsigned long k = 0;
    double t0 = now_s(), c0 = thread_cpu_s(), t;
    do {
        if (plcio_s7plus_client_read_symbols(c, items, n) != PLCIO_OK || items[n - 1].result != PLCIO_OK) {
            fprintf(stderr, "bench_s7plus_symbolic: %s\n", plcio_s7plus_client_last_error(c)->text);
            exit(1);
        }
        k++;
    } while ((t = now_s()) - t0 < seconds);
    return (result){(double)k / (t - t0), (thread_cpu_s() - c0) / (double)k};
}

static result run_classic(plcio_s7_client *c, uint32_t size, double seconds)
{
    static uint8_t buf[DB_SIZE];
    unsigned long k = 0;
    double t0 = now_s(), c0 = thread_cpu_s(), t;
    do {
        if (plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, size, buf) != PLCIO_OK) {
            fprintf(stderr, "bench_s7plus_symbolic: classic read failed\n");
            exit(1);
        }
        k++;
    } while ((t = now_s()) - t0 < seconds);
    return (result){(double)k / (t - t0), (thread_cpu_s() - c0) / (double)k};
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (seconds <= 0) seconds = 1.0;
    plcio_error err;
    plcio_layout_options lo = {.accept_optimized = true};
    plcio_layout_set *set = NULL;
    if (plcio_layout_set_new(&lo, &set, &err) || plcio_layout_set_add_text(set, "bench", source, strlen(source)) ||
        plcio_layout_set_resolve(set))
        return fprintf(stderr, "bench_s7plus_symbolic: layout\n"), 1;
    static const unsigned numbers[] = {2};
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    po.memory.list_dbs = list_dbs;
    po.symbols = set;
    po.symbol_numbers = numbers;
    po.tls = false;
    bench_sim sim;
    if (bench_sim_start(&sim, &po, 2, DB_SIZE, false, "bench_s7plus_symbolic")) return 1;
    unsigned port = sim.port;
    char url[200];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u", port);
    plcio_s7_client *s7 = NULL;
    if (plcio_s7_client_new(url, NULL, &s7, NULL) || plcio_s7_client_connect(s7)) return 1;
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0) load[0] = load[1] = load[2] = -1;
    printf("symbolic reads of DInt members (S7CommPlus V1, no TLS) vs one classic S7 read of the same bytes, "
           "%.1f s per case; load average %.2f %.2f %.2f\n",
           seconds, load[0], load[1], load[2]);
    static plcio_s7plus_sym_item items[N_MEMBERS];
    static const int batches[] = {20, 64, 20, 64, 20, 64};
    static const int pipelines[] = {1, 1, 2, 2, 8, 8};
    for (int b = 0; b < 6; b++) {
        snprintf(url, sizeof url, "s7plus://127.0.0.1:%u?tls=0&max_items=%d&pipeline=%d", port, batches[b],
                 pipelines[b]);
        plcio_s7plus_client *sp = NULL;
        if (plcio_s7plus_client_new(url, NULL, &sp, &err) || plcio_s7plus_client_connect(sp))
            return fprintf(stderr, "bench_s7plus_symbolic: connect\n"), 1;
        for (unsigned k = 0; k < N_MEMBERS; k++) {
            char name[48];
            snprintf(name, sizeof name, "\"Bench\".V[%u]", k);
            if (plcio_s7plus_client_resolve(sp, name, &items[k].sym))
                return fprintf(stderr, "bench_s7plus_symbolic: %s\n", plcio_s7plus_client_last_error(sp)->text), 1;
        }
        static const unsigned counts[] = {100, N_MEMBERS};
        for (int k = 0; k < 2; k++) {
            result a = run_classic(s7, counts[k] * 4, seconds);
            result p = run_plus(sp, items, counts[k], seconds);
            printf("  %4u members, max_items %2d, pipeline %d: classic %8.0f cycles/s (%6.1f us CPU)   symbolic %7.0f "
                   "cycles/s (%7.1f us CPU)   ratio %.3f\n",
                   counts[k], batches[b], pipelines[b], a.cycles, a.cpu * 1e6, p.cycles, p.cpu * 1e6,
                   p.cycles / a.cycles);
        }
        plcio_s7plus_client_free(sp);
    }
    plcio_s7_client_free(s7);
    bench_sim_free(&sim);
    plcio_layout_set_free(set);
    return 0;
}
