/* bench_http: the HTTP output (plcio/http.h) under load, all on loopback in
 * this process: plcio's S7 server on its own thread holds DB1 with 10,000 INT
 * tags that a changer thread rewrites 10 times a second; the sync engine polls
 * them every 100 ms on the main thread and serves HTTP from the same loop;
 * 50 Server-Sent-Events clients read the stream on another thread, and a
 * third thread times GET /api/tags (10,000 tags) one request after another.
 * Prints the engine thread's CPU, late cycles, what the stream clients got,
 * and the latency of GET /api/tags. PLCIO_BENCH_SECONDS (default 5). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "bench_measure.h"

#define TAGS    10000
#define CLIENTS 50
static int clients = CLIENTS; /* PLCIO_BENCH_CLIENTS, for a comparison run */
#define GETS 40

static atomic_bool done;
static unsigned http_port;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int connect_http(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)http_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the PLC's side: every INT moves 10 times a second ---- */
static void *changer(void *arg)
{
    plcio_s7_server *srv = arg;
    uint16_t tick = 0;
    while (!atomic_load(&done)) {
        size_t size = 0;
        plcio_s7_server_lock_area(srv, PLCIO_S7_SERVER_AREA_DB, 1);
        uint8_t *db = plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, &size);
        tick++;
        for (size_t i = 0; db && i + 1 < size; i += 2) {
            uint16_t v = (uint16_t)(tick + i);
            db[i] = (uint8_t)(v >> 8);
            db[i + 1] = (uint8_t)v;
        }
        plcio_s7_server_unlock_area(srv, PLCIO_S7_SERVER_AREA_DB, 1);
        sleep_ms(100);
    }
    return NULL;
}

/* ---- 50 stream clients ---- */
typedef struct sse_result {
    unsigned long long bytes, events;
    unsigned closed;
} sse_result;

static void *sse_clients(void *arg)
{
    sse_result *r = arg;
    struct pollfd p[CLIENTS];
    int nclients = clients;
    static const char req[] = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[65536];
    for (int i = 0; i < nclients; i++) {
        p[i].fd = connect_http();
        p[i].events = POLLIN;
        if (p[i].fd < 0 || write(p[i].fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) r->closed++;
    }
    while (!atomic_load(&done)) {
        if (poll(p, (nfds_t)nclients, 100) <= 0) continue;
        for (int i = 0; i < nclients; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                r->closed++;
                continue;
            }
            r->bytes += (unsigned long long)n;
            for (ssize_t k = 0; k + 12 <= n; k++)
                if (buf[k] == 'e' && !memcmp(buf + k, "event: tags\n", 12)) r->events++;
        }
    }
    for (int i = 0; i < nclients; i++)
        if (p[i].fd >= 0) close(p[i].fd);
    return NULL;
}

/* ---- GET /api/tags, timed ---- */
typedef struct get_result {
    double ms[GETS];
    int count;
    size_t size;
} get_result;

static double get_tags_once(size_t *size)
{
    static const char req[] = "GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    double t0 = now_s();
    int fd = connect_http();
    if (fd < 0 || write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    close(fd);
    *size = total;
    return (now_s() - t0) * 1e3;
}

static void *getter(void *arg)
{
    get_result *r = arg;
    sleep_ms(500);
    if (getenv("PLCIO_BENCH_NO_GETS")) return NULL;
    while (!atomic_load(&done) && r->count < GETS) {
        double ms = get_tags_once(&r->size);
        if (ms >= 0) r->ms[r->count++] = ms;
        sleep_ms(50);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *config_yaml(unsigned s7_port)
{
    size_t cap = (size_t)TAGS * 80 + 512;
    char *y = malloc(cap);
    if (!y) return NULL;
    size_t n = (size_t)snprintf(y, cap,
                                "devices:\n  - name: plc\n    url: \"s7://127.0.0.1:%u?rack=0&slot=1\"\n    groups:\n"
                                "      - name: all\n        interval: 100ms\n        tags:\n",
                                s7_port);
    for (unsigned i = 0; i < TAGS; i++)
        n += (size_t)snprintf(y + n, cap - n, "          - {address: DB1.DBW%u:INT, name: t%05u}\n", i * 2, i);
    return y;
}

int main(void)
{
    const char *sec = getenv("PLCIO_BENCH_SECONDS");
    double seconds = sec && atof(sec) > 0 ? atof(sec) : 5.0;
    const char *nc = getenv("PLCIO_BENCH_CLIENTS");
    if (nc && atoi(nc) >= 0 && atoi(nc) <= CLIENTS) clients = atoi(nc);
    plcio_s7_server_options sc;
    plcio_s7_server_options_init(&sc);
    sc.port = 0;
    plcio_s7_server *srv = NULL;
    plcio_error e;
    plcio_error_clear(&e);
    if (plcio_s7_server_new(&sc, &srv, &e) != PLCIO_OK ||
        plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 1, (size_t)TAGS * 2, NULL) != PLCIO_OK ||
        plcio_s7_server_start(srv) != PLCIO_OK) {
        fprintf(stderr, "bench_http: cannot start the S7 server\n");
        return 1;
    }
    char *yaml = config_yaml(plcio_s7_server_port(srv));
    plcio_sync_config *cfg = NULL;
    plcio_http *h = NULL;
    plcio_sync *s = NULL;
    plcio_http_options ho;
    memset(&ho, 0, sizeof ho);
    ho.listen = "127.0.0.1:0";
    ho.max_clients = 256;
    char shm[64];
    snprintf(shm, sizeof shm, "plcio-bench-http-%d", (int)getpid());
    if (!yaml || plcio_sync_config_parse(yaml, strlen(yaml), "bench", NULL, &cfg, &e) != PLCIO_OK ||
        plcio_http_new(&ho, &h, &e) != PLCIO_OK) {
        fprintf(stderr, "bench_http: %s\n", e.text);
        return 1;
    }
    plcio_sync_sink reg;
    plcio_http_sink(h, &reg);
    plcio_sync_options so;
    memset(&so, 0, sizeof so);
    so.sinks = &reg;
    so.sink_count = 1;
    so.shm_name = shm;
    if (plcio_sync_new(cfg, &so, &s, &e) != PLCIO_OK || plcio_http_start(h, s, &e) != PLCIO_OK) {
        fprintf(stderr, "bench_http: %s\n", e.text);
        return 1;
    }
    http_port = plcio_http_port(h);
    /* connect and settle before measuring */
    double t_end = now_s() + 1.0;
    while (now_s() < t_end)
        plcio_sync_run_once(s, 10);

    pthread_t tc, ts, tg;
    sse_result sr = {0};
    get_result gr;
    memset(&gr, 0, sizeof gr);
    pthread_create(&tc, NULL, changer, srv);
    pthread_create(&ts, NULL, sse_clients, &sr);
    sleep_ms(200);
    pthread_create(&tg, NULL, getter, &gr);
    plcio_sync_stats before;
    plcio_sync_group_stats(s, 0, &before);
    double cpu0 = thread_cpu_s(), w0 = now_s();
    while (now_s() - w0 < seconds)
        plcio_sync_run_once(s, 50);
    double cpu = thread_cpu_s() - cpu0, wall = now_s() - w0;
    plcio_sync_stats after;
    plcio_sync_group_stats(s, 0, &after);
    atomic_store(&done, true);
    pthread_join(tc, NULL);
    /* keep serving while the clients finish their reads */
    for (int i = 0; i < 10; i++)
        plcio_sync_run_once(s, 10);
    pthread_join(ts, NULL);
    pthread_join(tg, NULL);

    double cycles = (double)(after.cycles - before.cycles);
    printf("bench_http: %d INT tags changing at 10 Hz, polled every 100 ms; %d event-stream clients; "
           "%.1f s on loopback\n",
           TAGS, clients, wall);
    printf("  engine thread (polling + HTTP): %.1f %% of one core; %.0f cycles (%.1f/s), late %llu, errors %llu\n",
           100.0 * cpu / wall, cycles, cycles / wall, (unsigned long long)(after.late - before.late),
           (unsigned long long)(after.errors - before.errors));
    printf("  cycle %.1f ms avg, %.1f ms max; jitter %.2f ms avg, %.1f ms max\n", (double)after.cycle_avg_ns / 1e6,
           (double)after.cycle_max_ns / 1e6, (double)after.jitter_avg_ns / 1e6, (double)after.jitter_max_ns / 1e6);
    printf("  stream: %.1f tag events/s per client, %.2f MB/s per client (%.1f MB/s all), %u of %d clients dropped\n",
           clients ? (double)sr.events / clients / wall : 0, clients ? (double)sr.bytes / clients / wall / 1e6 : 0,
           (double)sr.bytes / wall / 1e6, sr.closed, clients);
    if (gr.count) {
        qsort(gr.ms, (size_t)gr.count, sizeof gr.ms[0], cmp_double);
        printf("  GET /api/tags (%zu bytes, %d tags) under that load: min %.1f ms, median %.1f ms, max %.1f ms "
               "(%d requests)\n",
               gr.size, TAGS, gr.ms[0], gr.ms[gr.count / 2], gr.ms[gr.count - 1], gr.count);
    }
    plcio_sync_free(s);
    plcio_http_free(h);
    plcio_sync_config_free(cfg);
    plcio_s7_server_free(srv);
    free(yaml);
    return 0;
}
