/* bench_modbus: 125-register reads (FC 3) over TCP on loopback.
 *
 * Servers: plcio's (event loop thread) and libmodbus's (modbus_reply in a
 * thread), both in this process on 127.0.0.1, port 0. Clients: plcio one
 * request at a time, libmodbus one at a time, plcio with several requests in
 * flight (transact_many) and in its event-loop mode (8 in flight, a poll()
 * loop). Every combination runs for PLCIO_BENCH_SECONDS
 * (default 1) and prints requests per second; then the ratios the issue asks
 * for:
 *   client:   plcio client / libmodbus client, same server (each server)
 *   server:   plcio server / libmodbus server, same client (each client)
 *   in flight plcio pipelined / libmodbus client, same server
 * Every answer is checked (register 0 and 124) so a fast wrong answer cannot
 * count. Last, the sync engine reading 1,000 holding registers (8 requests)
 * every 10 ms from libmodbus's server, which leaves Nagle's algorithm on:
 * cycles per second (target 100) and late cycles (target 0). */
#include <arpa/inet.h>
#include <modbus.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/modbus.h"
#include "plcio/sync.h"
#include "bench_measure.h"

#define REGS 125

static void fill(uint16_t *regs)
{
    for (int i = 0; i < REGS; i++)
        regs[i] = (uint16_t)(i * 7 + 1);
}

static int good(const uint16_t *r) { return r[0] == 1 && r[REGS - 1] == (REGS - 1) * 7 + 1; }

/* ---- servers ---- */

static void *plcio_server_thread(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

static int start_plcio_server(plcio_modbus_server **out)
{
    plcio_modbus_server *s = NULL;
    (void)plcio_modbus_server_new(NULL, &s, NULL);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    int port = 0;
    if (!s || plcio_modbus_server_add_unit(s, 1, &bank) != PLCIO_OK ||
        plcio_modbus_server_listen_tcp(s, "127.0.0.1", 0, &port) != PLCIO_OK)
        return -1;
    uint16_t regs[REGS];
    fill(regs);
    plcio_modbus_server_write_bank(s, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 0, REGS, regs);
    pthread_t th;
    pthread_create(&th, NULL, plcio_server_thread, s);
    pthread_detach(th);
    *out = s;
    return port;
}

typedef struct lmb_server {
    modbus_t *ctx;
    modbus_mapping_t *map;
    int listen_fd;
} lmb_server;

static void *lmb_server_thread(void *arg)
{
    lmb_server *ls = arg;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) { /* one client at a time, as the benchmark runs them */
        int fd = modbus_tcp_accept(ls->ctx, &ls->listen_fd);
        if (fd < 0) return NULL;
        for (;;) {
            int rc = modbus_receive(ls->ctx, query);
            if (rc > 0)
                modbus_reply(ls->ctx, query, rc, ls->map);
            else if (rc == -1)
                break;
        }
        close(fd);
    }
}

static int start_lmb_server(void)
{
    static lmb_server ls;
    ls.ctx = modbus_new_tcp("127.0.0.1", 0);
    ls.map = modbus_mapping_new(0, 0, 1000, 0);
    ls.listen_fd = modbus_tcp_listen(ls.ctx, 4);
    if (ls.listen_fd < 0) return -1;
    fill(ls.map->tab_registers);
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof sa;
    if (getsockname(ls.listen_fd, (struct sockaddr *)&sa, &len) != 0) return -1;
    pthread_t th;
    pthread_create(&th, NULL, lmb_server_thread, &ls);
    pthread_detach(th);
    return ntohs(sa.sin_port);
}

/* ---- clients ---- */

static double run_plcio(int port, size_t window)
{
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=2000", port);
    plcio_modbus_client *c = NULL;
    (void)plcio_modbus_client_new(url, NULL, &c, NULL);
    if (!c || plcio_modbus_client_connect(c) != PLCIO_OK) return -1;
    static uint16_t regs[256][REGS];
    static plcio_modbus_request reqs[256];
    double end = now_s() + bench_seconds(1.0), start = now_s();
    long done = 0;
    while (now_s() < end) {
        if (window <= 1) {
            if (plcio_modbus_read_holding_registers(c, 1, 0, REGS, regs[0]) != PLCIO_OK || !good(regs[0])) return -1;
            done++;
            continue;
        }
        size_t batch = 256;
        for (size_t i = 0; i < batch; i++)
            reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 0, .n = REGS, .regs = regs[i]};
        if (plcio_modbus_transact_many(c, reqs, batch, window) != PLCIO_OK) return -1;
        for (size_t i = 0; i < batch; i++)
            if (reqs[i].result != PLCIO_OK || !good(regs[i])) return -1;
        done += (long)batch;
    }
    double rate = (double)done / (now_s() - start);
    plcio_modbus_client_free(c);
    return rate;
}

/* The event-loop mode: `depth` requests kept in flight, each callback
 * submitting the next, the client driven by poll() as an application's loop
 * would. */
typedef struct async_run {
    plcio_modbus_client *c;
    long done;
    bool bad, stop;
} async_run;

static void async_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    async_run *a = ctx;
    if (r->result != PLCIO_OK || !good(r->regs)) a->bad = true;
    a->done++;
    if (!a->stop && !a->bad && plcio_modbus_submit(c, r, async_done, a) != PLCIO_OK) a->bad = true;
}

static double run_plcio_async(int port, unsigned depth)
{
    char url[96];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?timeout=2000", port);
    async_run a = {NULL, 0, false, false};
    (void)plcio_modbus_client_new(url, NULL, &a.c, NULL);
    if (!a.c || plcio_modbus_client_set_depth(a.c, depth) != PLCIO_OK ||
        plcio_modbus_client_connect_async(a.c) != PLCIO_OK)
        return -1;
    static uint16_t regs[64][REGS];
    static plcio_modbus_request reqs[64];
    for (unsigned i = 0; i < depth; i++) {
        reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = 0, .n = REGS, .regs = regs[i]};
        if (plcio_modbus_submit(a.c, &reqs[i], async_done, &a) != PLCIO_OK) return -1;
    }
    double end = now_s() + bench_seconds(1.0), start = now_s();
    while (!a.bad && plcio_modbus_client_pending(a.c)) {
        a.stop = now_s() >= end;
        uint64_t deadline;
        unsigned wants = plcio_modbus_client_wants(a.c, &deadline);
        struct pollfd p = {plcio_modbus_client_fd(a.c),
                           (short)(((wants & PLCIO_MODBUS_WANT_READ) ? POLLIN : 0) |
                                   ((wants & PLCIO_MODBUS_WANT_WRITE) ? POLLOUT : 0)),
                           0};
        poll(&p, 1, deadline ? 1 : 100);
        if (plcio_modbus_client_process(a.c) != PLCIO_OK) return -1;
    }
    double rate = (double)a.done / (now_s() - start);
    plcio_modbus_client_free(a.c);
    return a.bad ? -1 : rate;
}

static double run_lmb(int port)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_set_slave(ctx, 1);
    if (modbus_connect(ctx) != 0) return -1;
    uint16_t regs[REGS];
    double end = now_s() + bench_seconds(1.0), start = now_s();
    long done = 0;
    while (now_s() < end) {
        if (modbus_read_registers(ctx, 0, REGS, regs) != REGS || !good(regs)) return -1;
        done++;
    }
    double rate = (double)done / (now_s() - start);
    modbus_close(ctx);
    modbus_free(ctx);
    return rate;
}

/* The engine: one device, 1,000 INT tags hr0..hr999 every 10 ms. */
static int run_engine(int port, double *cycles_per_s, double *late, double *errors, double *cpu)
{
    size_t cap = 1000 * 48 + 512, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) return -1;
    n += (size_t)snprintf(yaml + n, cap - n,
                          "devices:\n  - name: lmb\n    url: \"modbus-tcp://127.0.0.1:%d?unit=1\"\n    groups:\n"
                          "      - name: g\n        interval: 10ms\n        tags:\n",
                          port);
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(yaml + n, cap - n, "          - {address: hr%d, name: r%d}\n", i, i);
    plcio_error err = {0};
    plcio_sync_config *cfg = NULL;
    int rc = plcio_sync_config_parse(yaml, n, "bench", NULL, &cfg, &err);
    free(yaml);
    if (rc != PLCIO_OK) return -1;
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    plcio_sync *s = NULL;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) {
        plcio_sync_config_free(cfg);
        return -1;
    }
    double settle = now_s() + 0.5;
    while (now_s() < settle)
        plcio_sync_run_once(s, 1);
    plcio_sync_stats a, b;
    plcio_sync_group_stats(s, 0, &a);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    double t0 = now_s(), end = t0 + bench_seconds(1.0) * 2;
    while (now_s() < end)
        plcio_sync_run_once(s, 1);
    double elapsed = now_s() - t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    plcio_sync_group_stats(s, 0, &b);
    *cycles_per_s = (double)(b.cycles - a.cycles) / elapsed;
    *late = (double)(b.late - a.late);
    *errors = (double)(b.errors - a.errors);
    *cpu = ((double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9) / elapsed;
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    return 0;
}

int main(void)
{
    plcio_modbus_server *ours = NULL;
    int p_ours = start_plcio_server(&ours), p_lmb = start_lmb_server();
    if (p_ours <= 0 || p_lmb <= 0) {
        fprintf(stderr, "bench_modbus: cannot start the servers\n");
        return 1;
    }
    printf("bench_modbus: FC 3, 125 registers, TCP loopback, %.1f s per run\n", bench_seconds(1.0));
    double pc_ps = run_plcio(p_ours, 1), lc_ps = run_lmb(p_ours);
    double pc_ls = run_plcio(p_lmb, 1), lc_ls = run_lmb(p_lmb);
    double pipe8_ps = run_plcio(p_ours, 8), pipe32_ps = run_plcio(p_ours, 32);
    double pipe8_ls = run_plcio(p_lmb, 8);
    double loop8_ps = run_plcio_async(p_ours, 8), loop8_ls = run_plcio_async(p_lmb, 8);
    if (pc_ps < 0 || lc_ps < 0 || pc_ls < 0 || lc_ls < 0 || pipe8_ps < 0 || pipe32_ps < 0 || pipe8_ls < 0 ||
        loop8_ps < 0 || loop8_ls < 0) {
        fprintf(stderr, "bench_modbus: a run failed (wrong or missing answer)\n");
        return 1;
    }
    printf("  %-44s %10.0f req/s\n", "plcio client    -> plcio server", pc_ps);
    printf("  %-44s %10.0f req/s\n", "libmodbus client -> plcio server", lc_ps);
    printf("  %-44s %10.0f req/s\n", "plcio client    -> libmodbus server", pc_ls);
    printf("  %-44s %10.0f req/s\n", "libmodbus client -> libmodbus server", lc_ls);
    printf("  %-44s %10.0f req/s\n", "plcio client, 8 in flight  -> plcio server", pipe8_ps);
    printf("  %-44s %10.0f req/s\n", "plcio client, 32 in flight -> plcio server", pipe32_ps);
    printf("  %-44s %10.0f req/s\n", "plcio client, 8 in flight  -> libmodbus server", pipe8_ls);
    printf("  %-44s %10.0f req/s\n", "plcio event loop, 8 in flight -> plcio server", loop8_ps);
    printf("  %-44s %10.0f req/s\n", "plcio event loop, 8 in flight -> libmodbus", loop8_ls);
    printf("ratios (>= 1 means plcio is faster):\n");
    printf("  client one-at-a-time vs libmodbus client, plcio server:     %.2fx\n", pc_ps / lc_ps);
    printf("  client one-at-a-time vs libmodbus client, libmodbus server: %.2fx\n", pc_ls / lc_ls);
    printf("  plcio server vs libmodbus server, libmodbus client:         %.2fx\n", lc_ps / lc_ls);
    printf("  plcio server vs libmodbus server, plcio client:             %.2fx\n", pc_ps / pc_ls);
    printf("  client 8 in flight vs libmodbus client, plcio server:       %.2fx (target >= 3)\n", pipe8_ps / lc_ps);
    printf("  client 32 in flight vs libmodbus client, plcio server:      %.2fx\n", pipe32_ps / lc_ps);
    printf("  client 8 in flight vs libmodbus client, libmodbus server:   %.2fx (target >= 3)\n", pipe8_ls / lc_ls);
    printf("  event loop 8 in flight vs libmodbus client, plcio server:   %.2fx\n", loop8_ps / lc_ps);
    printf("  event loop 8 in flight vs libmodbus client, libmodbus server: %.2fx (target >= 3)\n", loop8_ls / lc_ls);
    double cps, late, errors, cpu;
    if (run_engine(p_lmb, &cps, &late, &errors, &cpu) != 0) {
        fprintf(stderr, "bench_modbus: the engine run failed\n");
        return 1;
    }
    printf("sync engine, 1,000 registers (8 requests) every 10 ms from libmodbus's server (Nagle on), %.1f s:\n",
           bench_seconds(1.0) * 2);
    printf("  %.1f cycles/s (target 100), %.0f late (target 0), %.0f errors, engine CPU %.0f%% of one core\n", cps,
           late, errors, 100 * cpu);
    plcio_modbus_server_stop(ours);
    return 0;
}
