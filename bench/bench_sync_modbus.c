/* bench_sync_modbus: the sync engine's Modbus driver on loopback, against
 * plcio's own Modbus server (its event loop on a thread of this process).
 *
 * 1. A block of 32000 holding registers (4000 DINT tags, 64 requests of 125
 *    registers per cycle) at a 1 ms interval, as fast as it goes: cycles per
 *    second and the engine thread's CPU per 1000 tag updates, over TCP
 *    (8 requests in flight) and UDP.
 * 2. 10,000 tags across 10 devices (1000 INT each) at 100 Hz over TCP:
 *    cycles per second per device, late cycles, engine CPU.
 * PLCIO_BENCH_SECONDS (default 3) sets the length of each run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "bench_engine.h"

#define BLOCK_TAGS      16000
#define DEVICES         10
#define TAGS_PER_DEVICE 1000

typedef struct server {
    plcio_modbus_server *s;
    pthread_t thread;
    int tcp_port, udp_port;
} server;

static void *serve(void *p)
{
    plcio_modbus_server_run(((server *)p)->s);
    return NULL;
}

static void server_start(server *sv)
{
    (void)plcio_modbus_server_new(NULL, &sv->s, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(65536);
    if (!sv->s || plcio_modbus_server_add_unit(sv->s, 1, &bank) != PLCIO_OK ||
        plcio_modbus_server_listen_tcp(sv->s, "127.0.0.1", 0, &sv->tcp_port) != PLCIO_OK ||
        plcio_modbus_server_listen_udp(sv->s, "127.0.0.1", 0, &sv->udp_port) != PLCIO_OK) {
        fprintf(stderr, "modbus server failed\n");
        exit(1);
    }
    uint16_t regs[100];
    for (uint16_t base = 0; base < 65500; base += 100) {
        for (uint16_t i = 0; i < 100; i++)
            regs[i] = (uint16_t)(base + i);
        plcio_modbus_server_write_bank(sv->s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, base, 100, regs);
    }
    if (pthread_create(&sv->thread, NULL, serve, sv) != 0) exit(1);
}

static void server_stop(server *sv)
{
    plcio_modbus_server_stop(sv->s);
    pthread_join(sv->thread, NULL);
    plcio_modbus_server_free(sv->s);
}

static char *block_yaml(const char *url)
{
    size_t cap = 64 * BLOCK_TAGS + 512, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) exit(1);
    n += (size_t)snprintf(yaml + n, cap - n,
                          "devices:\n  - name: dev\n    url: \"%s\"\n    groups:\n      - name: block\n"
                          "        interval: 1ms\n        tags:\n",
                          url);
    for (int i = 0; i < BLOCK_TAGS; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "          - {address: \"hr%d:DINT\", name: t%d}\n", 2 * i, i);
    return yaml;
}

static void block(const server *sv, const char *scheme, int port)
{
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d?unit=1", scheme, port);
    char *yaml = block_yaml(url);
    bench_engine_run r;
    bench_engine_options o = {.seconds = bench_seconds(3.0)};
    if (bench_run_engine(yaml, &o, &r) == 0)
        printf("  %-10s %8.1f cycles/s (%d requests each), engine CPU %3.0f%%, %.2f us CPU per 1000 tag updates, "
               "%llu errors\n",
               scheme, r.cycles_per_s, (BLOCK_TAGS * 2 + 124) / 125, 100 * r.cpu_s / r.elapsed_s,
               r.updates ? r.cpu_s / ((double)r.updates / 1000) * 1e6 : 0, (unsigned long long)r.errors);
    (void)sv;
    free(yaml);
}

static void many_devices(void)
{
    server servers[DEVICES];
    size_t cap = (size_t)DEVICES * TAGS_PER_DEVICE * 48 + 4096, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) exit(1);
    n += (size_t)snprintf(yaml + n, cap - n, "devices:\n");
    for (int d = 0; d < DEVICES; d++) {
        server_start(&servers[d]);
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - name: plc%d\n    url: \"modbus-tcp://127.0.0.1:%d?unit=1\"\n    groups:\n"
                              "      - name: g%d\n        interval: 10ms\n        tags:\n",
                              d, servers[d].tcp_port, d);
        for (int i = 0; i < TAGS_PER_DEVICE; i++)
            n += (size_t)snprintf(yaml + n, cap - n, "          - {address: hr%d, name: d%dt%d}\n", i, d, i);
    }
    bench_engine_run r;
    bench_engine_options o = {.seconds = bench_seconds(3.0)};
    if (bench_run_engine(yaml, &o, &r) == 0) {
        printf("  %.1f cycles/s per device (target 100), %.0f late cycles in all, engine CPU %.0f%% of one core\n",
               r.cycles_per_s, r.late, 100 * r.cpu_s / r.elapsed_s);
        printf("  %.2f us CPU per 1000 tag updates (%llu updates, %llu errors)\n",
               r.updates ? r.cpu_s / ((double)r.updates / 1000) * 1e6 : 0, (unsigned long long)r.updates,
               (unsigned long long)r.errors);
    }
    for (int d = 0; d < DEVICES; d++)
        server_stop(&servers[d]);
    free(yaml);
}

int main(void)
{
    server sv;
    server_start(&sv);
    printf("1. %d DINT tags (%d holding registers) at 1 ms, %.0f s each\n", BLOCK_TAGS, 2 * BLOCK_TAGS,
           bench_seconds(3.0));
    block(&sv, "modbus-tcp", sv.tcp_port);
    block(&sv, "modbus-udp", sv.udp_port);
    server_stop(&sv);
    printf("2. %d tags across %d Modbus TCP devices at 100 Hz, %.0f s\n", DEVICES * TAGS_PER_DEVICE, DEVICES,
           bench_seconds(3.0));
    many_devices();
    return 0;
}
