/* S7 partner: plcio <-> plcio against python-snap7 <-> python-snap7 on
 * 127.0.0.1. Round trips/s of a 16-byte block (A sends, B sends it back) and
 * MB/s of 400-byte blocks one way (one fragment each on both sides), and
 * plcio alone with 60000-byte blocks (python-snap7 cannot fragment: it sends
 * any block in one PDU, whatever size was negotiated).
 * plcio's passive partner runs in a thread of its own (event-loop API), as
 * python-snap7's does; the active one uses the blocking calls.
 * Timings depend on the machine: compare the ratios. */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/s7_partner.h"

#define SECONDS 2.0

/* Wait for p's events (10 ms at most) and process it. */
static void pump_one(plcio_s7_partner *p)
{
    uint64_t d;
    unsigned ev = plcio_s7_partner_wants(p, &d);
    struct pollfd f = {plcio_s7_partner_fd(p),
                       (short)((ev & PLCIO_IO_READ ? POLLIN : 0) | (ev & PLCIO_IO_WRITE ? POLLOUT : 0)), 0};
    (void)poll(&f, 1, 10);
    (void)plcio_s7_partner_process(p);
}

/* B runs in its own thread, as python-snap7's passive partner does. */
static atomic_bool b_stop;

static void *b_thread(void *arg)
{
    while (!atomic_load(&b_stop))
        pump_one(arg);
    return NULL;
}

typedef struct echo_ctx {
    _Atomic(plcio_s7_partner *) b; /* set: echo what arrives (B's thread reads it) */
    unsigned got_back;
} echo_ctx;

static void on_b_recv(void *ctx, plcio_s7_partner *p, int result, uint32_t r_id, const uint8_t *data, size_t len)
{
    echo_ctx *e = ctx;
    (void)p;
    plcio_s7_partner *b = atomic_load(&e->b);
    if (result == PLCIO_OK && b) (void)plcio_s7_partner_bsend_async(b, r_id, data, len, NULL, NULL);
}

/* True once A has received `want` echoed blocks (a function: the callback
 * changes ea behind the loop's back). */
static bool echoed(const echo_ctx *ea, unsigned want) { return ea->got_back >= want; }

static void on_a_recv(void *ctx, plcio_s7_partner *p, int result, uint32_t r_id, const uint8_t *data, size_t len)
{
    (void)p, (void)r_id, (void)data, (void)len;
    if (result == PLCIO_OK) ((echo_ctx *)ctx)->got_back++;
}

/* MB/s of blocks of `size` bytes from a to b. */
static double stream(plcio_s7_partner *a, size_t size)
{
    static uint8_t block[65535];
    unsigned n = 0;
    uint64_t t0 = plcio_monotonic_ns();
    while ((double)(plcio_monotonic_ns() - t0) < SECONDS * 1e9) {
        if (plcio_s7_partner_bsend_async(a, 2, block, size, NULL, NULL) != PLCIO_OK) return -1;
        while (plcio_s7_partner_send_busy(a))
            pump_one(a);
        n++;
    }
    return n * (double)size / ((double)(plcio_monotonic_ns() - t0) / 1e3);
}

static int plcio_side(double *rt, double *mbs, double *mbs_big)
{
    echo_ctx eb = {NULL, 0}, ea = {NULL, 0};
    plcio_s7_partner_options ob, oa;
    plcio_s7_partner_options_init(&ob);
    plcio_s7_partner_options_init(&oa);
    ob.on_recv = on_b_recv;
    ob.callback_ctx = &eb;
    oa.on_recv = on_a_recv;
    oa.callback_ctx = &ea;
    plcio_s7_partner *b = NULL, *a = NULL;
    char addr[64];
    if (plcio_s7_partner_new(PLCIO_S7_PARTNER_PASSIVE, "127.0.0.1:0", &ob, &b, NULL) != PLCIO_OK ||
        plcio_s7_partner_start(b) != PLCIO_OK)
        return -1;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", plcio_s7_partner_port(b));
    if (plcio_s7_partner_new(PLCIO_S7_PARTNER_ACTIVE, addr, &oa, &a, NULL) != PLCIO_OK ||
        plcio_s7_partner_start(a) != PLCIO_OK)
        return -1;
    atomic_store(&b_stop, false);
    pthread_t th;
    if (pthread_create(&th, NULL, b_thread, b) != 0) return -1;
    int rc = plcio_s7_partner_wait_linked(a, 5000);
    static uint8_t block[16];
    atomic_store(&eb.b, b);
    unsigned n = 0;
    uint64_t t0 = plcio_monotonic_ns();
    while (rc == PLCIO_OK && (double)(plcio_monotonic_ns() - t0) < SECONDS * 1e9) {
        unsigned want = ea.got_back + 1;
        rc = plcio_s7_partner_bsend(a, 1, block, sizeof block);
        while (rc == PLCIO_OK && !echoed(&ea, want))
            pump_one(a);
        n++;
    }
    *rt = n / ((double)(plcio_monotonic_ns() - t0) / 1e9);
    atomic_store(&eb.b, NULL);
    if (rc == PLCIO_OK) {
        *mbs = stream(a, 400);
        *mbs_big = stream(a, 60000);
    }
    atomic_store(&b_stop, true);
    pthread_join(th, NULL);
    if (rc != PLCIO_OK) return -1;
    plcio_s7_partner_free(a);
    plcio_s7_partner_free(b);
    return 0;
}

int main(void)
{
    double rt = 0, mbs = 0, big = 0, prt = 0, pmbs = 0;
    if (plcio_side(&rt, &mbs, &big) != 0 || mbs < 0 || big < 0) {
        printf("partner: plcio side failed\n");
        return 1;
    }
    printf("S7 partner (BSend/BRecv) on 127.0.0.1, %.0f s each\n", SECONDS);
    printf("plcio <-> plcio:               %6.0f round trips/s (16 B)  %7.2f MB/s (400 B blocks)\n", rt, mbs);
    printf("plcio <-> plcio, 60000 B blocks in fragments of PDU 480, each acknowledged: %.2f MB/s\n", big);
    const char *snap7 = getenv("PLCIO_PYTHON_SNAP7");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/partner_python.py %s %.0f 2>/dev/null", PLCIO_BENCH_DIR,
             snap7 ? snap7 : PLCIO_BENCH_DIR "/../../shared/peers/python-snap7", SECONDS);
    FILE *f = popen(cmd, "r");
    if (!f || fscanf(f, "%lf %lf", &prt, &pmbs) != 2) {
        printf("python-snap7 <-> python-snap7: skipped (python-snap7 not found; PLCIO_PYTHON_SNAP7)\n");
        if (f) pclose(f);
        return 0;
    }
    pclose(f);
    printf("python-snap7 <-> python-snap7: %6.0f round trips/s (16 B)  %7.2f MB/s (400 B blocks)\n", prt, pmbs);
    printf("ratio plcio/python-snap7: round trips %.1fx, MB/s %.1fx\n", prt > 0 ? rt / prt : 0,
           pmbs > 0 ? mbs / pmbs : 0);
    return 0;
}
