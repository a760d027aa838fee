/* The Modbus gateway's cost (docs/gateway.md): the same client reads a
 * plcio Modbus server directly and through `plcio_modbus_gateway`, and the
 * bench prints latency percentiles, the latency the gateway adds, and
 * requests per second both ways (one at a time, and 8 in flight on TCP):
 *   - TCP -> gateway -> TCP device;
 *   - TCP -> gateway -> RTU device at 115200 baud on a socat pty pair (skipped,
 *     with a note, when socat is not installed).
 * Everything runs on 127.0.0.1, server and gateway on threads of their own.
 * Timings depend on the machine: compare the ratios. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"

#define N_SEQ  3000
#define N_PIPE 8000
#define N_RTU  1500

static void *run_server(void *p)
{
    plcio_modbus_server_run(p);
    return NULL;
}

static void *run_gateway(void *p)
{
    plcio_modbus_gateway_run(p);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    double p50_us, p99_us, per_s;
} result;

/* n reads of 10 holding registers, one at a time. */
static int sequential(const char *url, int n, result *r)
{
    plcio_modbus_client *c = NULL;
    if (plcio_modbus_client_new(url, NULL, &c, NULL) != PLCIO_OK) return -1;
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    uint16_t regs[10];
    int rc = lat ? plcio_modbus_read_holding_registers(c, 1, 0, 10, regs) : PLCIO_ENOMEM; /* connect, warm up */
    uint64_t t0 = plcio_monotonic_ns();
    for (int i = 0; i < n && rc == PLCIO_OK; i++) {
        uint64_t a = plcio_monotonic_ns();
        rc = plcio_modbus_read_holding_registers(c, 1, (uint16_t)(i % 100), 10, regs);
        lat[i] = plcio_monotonic_ns() - a;
    }
    uint64_t total = plcio_monotonic_ns() - t0;
    if (rc == PLCIO_OK) {
        qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
        size_t mid = (size_t)n / 2, p99 = (size_t)n * 99 / 100;
        r->p50_us = (double)lat[mid] / 1e3;
        r->p99_us = (double)lat[p99] / 1e3;
        r->per_s = (double)n / ((double)total / 1e9);
    }
    free(lat);
    plcio_modbus_client_free(c);
    return rc == PLCIO_OK ? 0 : -1;
}

/* CPU time of the whole process (client, server and gateway threads), us. */
static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* n reads, 8 in flight (transaction ids), requests per second and CPU us per
 * request (less sensitive than wall time to a machine shared with others). */
static int pipelined(const char *url, int n, double *per_s, double *cpu_per_req)
{
    double cpu0 = cpu_us();
    plcio_modbus_client *c = NULL;
    if (plcio_modbus_client_new(url, NULL, &c, NULL) != PLCIO_OK) return -1;
    enum { BATCH = 200 };
    static uint16_t regs[BATCH][10];
    static plcio_modbus_request reqs[BATCH];
    int rc = PLCIO_OK;
    uint64_t t0 = plcio_monotonic_ns();
    for (int done = 0; done < n && rc == PLCIO_OK; done += BATCH) {
        for (int i = 0; i < BATCH; i++)
            reqs[i] = (plcio_modbus_request){.unit = 1, .function = 3, .addr = (uint16_t)i, .n = 10, .regs = regs[i]};
        rc = plcio_modbus_transact_many(c, reqs, BATCH, 8);
        for (int i = 0; i < BATCH && rc == PLCIO_OK; i++)
            if (reqs[i].result != PLCIO_OK) rc = reqs[i].result;
    }
    *per_s = (double)n / ((double)(plcio_monotonic_ns() - t0) / 1e9);
    *cpu_per_req = (cpu_us() - cpu0) / n;
    plcio_modbus_client_free(c);
    return rc == PLCIO_OK ? 0 : -1;
}

static plcio_modbus_gateway *gateway_to(const char *url, int *port)
{
    plcio_modbus_gateway *g = NULL;
    if (plcio_modbus_gateway_new(NULL, &g, NULL) != PLCIO_OK) return NULL;
    if (plcio_modbus_gateway_add_target(g, PLCIO_MODBUS_GATEWAY_DEFAULT, url, NULL) != PLCIO_OK ||
        plcio_modbus_gateway_listen_tcp(g, "127.0.0.1", 0, port) != PLCIO_OK) {
        plcio_modbus_gateway_free(g);
        return NULL;
    }
    return g;
}

static void print_pair(const char *what, const result *d, const result *g)
{
    printf("%-28s direct p50 %7.1f us p99 %7.1f us %8.0f req/s | gateway p50 %7.1f us p99 %7.1f us %8.0f req/s\n", what,
           d->p50_us, d->p99_us, d->per_s, g->p50_us, g->p99_us, g->per_s);
    printf("%-28s gateway adds p50 %+.1f us, p99 %+.1f us; req/s gateway/direct %.2f\n", what, g->p50_us - d->p50_us,
           g->p99_us - d->p99_us, g->per_s / d->per_s);
}

static int bench_tcp(void)
{
    plcio_modbus_server *s = NULL;
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    int sport = 0, gport = 0, st = 1;
    if (plcio_modbus_server_new(NULL, &s, NULL) != PLCIO_OK ||
        plcio_modbus_server_add_unit(s, PLCIO_MODBUS_ANY_UNIT, &bank) != PLCIO_OK ||
        plcio_modbus_server_listen_tcp(s, "127.0.0.1", 0, &sport) != PLCIO_OK) {
        plcio_modbus_server_free(s);
        return 1;
    }
    char direct[96], via[96];
    snprintf(direct, sizeof direct, "modbus-tcp://127.0.0.1:%d", sport);
    plcio_modbus_gateway *g = gateway_to(direct, &gport);
    snprintf(via, sizeof via, "modbus-tcp://127.0.0.1:%d", gport);
    pthread_t ts, tg;
    pthread_create(&ts, NULL, run_server, s);
    if (g) pthread_create(&tg, NULL, run_gateway, g);
    result d, w;
    double pd = 0, pg = 0, cd = 0, cg = 0;
    if (g && sequential(direct, N_SEQ, &d) == 0 && sequential(via, N_SEQ, &w) == 0 &&
        pipelined(direct, N_PIPE, &pd, &cd) == 0 && pipelined(via, N_PIPE, &pg, &cg) == 0) {
        print_pair("TCP -> TCP, one at a time", &d, &w);
        printf("%-28s direct %8.0f req/s | gateway %8.0f req/s; gateway/direct %.2f\n", "TCP -> TCP, 8 in flight", pd,
               pg, pg / pd);
        printf("%-28s CPU per request (all threads) direct %.1f us | gateway %.1f us; gateway/direct %.2f\n",
               "TCP -> TCP, 8 in flight", cd, cg, cg / cd);
        st = 0;
    } else {
        printf("TCP -> TCP: failed\n");
    }
    if (g) {
        plcio_modbus_gateway_stop(g);
        pthread_join(tg, NULL);
    }
    plcio_modbus_server_stop(s);
    pthread_join(ts, NULL);
    plcio_modbus_gateway_free(g);
    plcio_modbus_server_free(s);
    return st;
}

static pid_t start_socat(const char *dir)
{
    char a[300], b[300];
    snprintf(a, sizeof a, "pty,raw,echo=0,link=%s/ttyA", dir);
    snprintf(b, sizeof b, "pty,raw,echo=0,link=%s/ttyB", dir);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("socat", "socat", a, b, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 100; i++) {
        struct stat st;
        char p[300];
        snprintf(p, sizeof p, "%s/ttyB", dir);
        if (stat(p, &st) == 0) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) return -1; /* no socat */
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
    return -1;
}

static int bench_rtu(void)
{
    char dir[] = "/tmp/plcio-bench-gw-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    pid_t socat = start_socat(dir);
    if (socat < 0) {
        printf("TCP -> RTU: skipped (socat not installed; scripts/bootstrap.sh installs it)\n");
        rmdir(dir);
        return 0;
    }
    char line[400], direct[400];
    snprintf(line, sizeof line, "modbus-rtu://%s/ttyA?baud=115200&parity=N", dir);
    snprintf(direct, sizeof direct, "modbus-rtu://%s/ttyB?baud=115200&parity=N", dir);
    plcio_modbus_server *s = NULL;
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    int gport = 0, st = 1;
    if (plcio_modbus_server_new(NULL, &s, NULL) == PLCIO_OK &&
        plcio_modbus_server_add_unit(s, PLCIO_MODBUS_ANY_UNIT, &bank) == PLCIO_OK &&
        plcio_modbus_server_open_serial(s, line) == PLCIO_OK) {
        pthread_t ts;
        pthread_create(&ts, NULL, run_server, s);
        result d, w;
        int ok = sequential(direct, N_RTU, &d); /* the direct client closes the line before the gateway opens it */
        plcio_modbus_gateway *g = ok == 0 ? gateway_to(direct, &gport) : NULL;
        if (g) {
            char via[96];
            snprintf(via, sizeof via, "modbus-tcp://127.0.0.1:%d?timeout=2000", gport);
            pthread_t tg;
            pthread_create(&tg, NULL, run_gateway, g);
            if (sequential(via, N_RTU, &w) == 0) {
                print_pair("TCP -> RTU 115200 (pty)", &d, &w);
                st = 0;
            }
            plcio_modbus_gateway_stop(g);
            pthread_join(tg, NULL);
            plcio_modbus_gateway_free(g);
        }
        if (st) printf("TCP -> RTU: failed\n");
        plcio_modbus_server_stop(s);
        pthread_join(ts, NULL);
    }
    plcio_modbus_server_free(s);
    kill(socat, SIGKILL);
    waitpid(socat, NULL, 0);
    char p[300];
    snprintf(p, sizeof p, "%s/ttyA", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/ttyB", dir);
    unlink(p);
    rmdir(dir);
    return st;
}

int main(void)
{
    printf("Modbus gateway: the same client direct and through plcio_modbus_gateway (127.0.0.1)\n");
    int st = bench_tcp();
    st |= bench_rtu();
    return st;
}
