/* S7CommPlus subscription against the in-process simulator (plcio's S7
 * server with the S7CommPlus handoff and its tick, as `plcio sim s7` runs
 * it): 100 items of 4 bytes in DB1, all changed by a writer thread every
 * millisecond, on change at the simulator's fastest cycle (10 ms); over TLS.
 * Prints notifications/s, values/s and the CPU the client thread used per
 * second and per value, next to polling the same 100 items with
 * GetMultiVariables (two requests of 50 items) back to back.
 *   bench_s7plus_sub [SECONDS_PER_CASE]   (default 2) */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "bench_measure.h"
#include "bench_sim.h"

#define ITEMS   100
#define DB_SIZE 1024u

static bench_sim sim;
static atomic_bool stop;

/* Every millisecond: each item's counter + 1. */
static void *writer(void *arg)
{
    (void)arg;
    uint32_t k = 0;
    while (!atomic_load(&stop)) {
        uint8_t block[ITEMS * 4];
        k++;
        for (size_t i = 0; i < ITEMS; i++) {
            block[i * 4] = (uint8_t)(k >> 24);
            block[i * 4 + 1] = (uint8_t)(k >> 16);
            block[i * 4 + 2] = (uint8_t)(k >> 8);
            block[i * 4 + 3] = (uint8_t)k;
        }
        (void)bench_sim_write(&sim, PLCIO_S7PLUS_AREA_DB, 1, 0, sizeof block, block);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

typedef struct counts {
    unsigned long notes, values;
} counts;

static void on_note(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n)
{
    (void)c;
    counts *k = ctx;
    k->notes++;
    k->values += n->n;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0) seconds = 2.0;
    plcio_s7plus_server_options po;
    plcio_s7plus_server_options_init(&po);
    if (bench_sim_start(&sim, &po, 1, DB_SIZE, true, "bench_s7plus_sub")) return 1;
    plcio_error err;
    pthread_t wt;
    if (pthread_create(&wt, NULL, writer, NULL) != 0) return 1;

    char url[400];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%u?ca=%s", sim.port, sim.cert);
    plcio_s7plus_client *sp = NULL;
    if (plcio_s7plus_client_new(url, NULL, &sp, &err) || plcio_s7plus_client_connect(sp))
        return fprintf(stderr, "bench_s7plus_sub: %s\n", plcio_s7plus_client_last_error(sp)->text), 1;

    /* the subscription */
    plcio_s7plus_sub_item items[ITEMS];
    memset(items, 0, sizeof items);
    for (int i = 0; i < ITEMS; i++) {
        items[i].area = PLCIO_S7PLUS_AREA_DB;
        items[i].db = 1;
        items[i].start = (uint32_t)i * 4;
        items[i].size = 4;
    }
    counts k = {0, 0};
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.notify = on_note;
    o.ctx = &k;
    uint32_t id = 0;
    if (plcio_s7plus_client_subscribe(sp, items, ITEMS, &o, &id))
        return fprintf(stderr, "bench_s7plus_sub: %s\n", plcio_s7plus_client_last_error(sp)->text), 1;
    (void)plcio_s7plus_client_wait_notification(sp, 1000); /* the first one, all items */
    k.notes = k.values = 0;
    double t0 = now_s(), c0 = thread_cpu_s(), t;
    do {
        if (plcio_s7plus_client_wait_notification(sp, 5000)) {
            fprintf(stderr, "bench_s7plus_sub: %s\n", plcio_s7plus_client_last_error(sp)->text);
            return 1;
        }
    } while ((t = now_s()) - t0 < seconds);
    double sub_cpu = thread_cpu_s() - c0, sub_t = t - t0;
    double sub_vps = (double)k.values / sub_t;
    plcio_s7plus_sub_stats st;
    plcio_s7plus_client_sub_stats(sp, &st);
    (void)plcio_s7plus_client_unsubscribe(sp, id);

    /* polling the same items: two GetMultiVariables of 50 */
    static uint8_t buf[ITEMS][4];
    plcio_s7plus_item rd[ITEMS];
    for (int i = 0; i < ITEMS; i++)
        rd[i] = (plcio_s7plus_item){PLCIO_S7PLUS_AREA_DB, 1, (uint32_t)i * 4, 4, buf[i], 0, 0};
    unsigned long polls = 0;
    t0 = now_s();
    c0 = thread_cpu_s();
    do {
        if (plcio_s7plus_client_read_multi(sp, rd, 50) || plcio_s7plus_client_read_multi(sp, rd + 50, 50)) {
            fprintf(stderr, "bench_s7plus_sub: %s\n", plcio_s7plus_client_last_error(sp)->text);
            return 1;
        }
        polls++;
    } while ((t = now_s()) - t0 < seconds);
    double poll_cpu = thread_cpu_s() - c0, poll_t = t - t0;
    double poll_vps = (double)polls * ITEMS / poll_t;

    printf("S7CommPlus over %s, %d items of 4 bytes, all changing every 1 ms, %.1f s per case\n",
           plcio_s7plus_client_tls_version(sp), ITEMS, seconds);
    printf("  subscription, on change, cycle 10 ms: %7.1f notifications/s %9.0f values/s  client CPU %5.1f %%"
           "  %6.2f us/value  acks %llu\n",
           (double)k.notes / sub_t, sub_vps, 100.0 * sub_cpu / sub_t,
           sub_vps > 0 ? 1e6 * sub_cpu / (double)k.values : 0, (unsigned long long)st.acks);
    printf("  polling, 2 x GetMultiVariables(50):   %7.1f polls/s         %9.0f values/s  client CPU %5.1f %%"
           "  %6.2f us/value\n",
           (double)polls / poll_t, poll_vps, 100.0 * poll_cpu / poll_t, 1e6 * poll_cpu / ((double)polls * ITEMS));
    printf("  ratio client CPU per value, subscription/polling: %.2f\n",
           (sub_cpu / (double)(k.values ? k.values : 1)) / (poll_cpu / ((double)polls * ITEMS)));
    atomic_store(&stop, true);
    pthread_join(wt, NULL);
    plcio_s7plus_client_free(sp);
    bench_sim_free(&sim);
    return 0;
}
