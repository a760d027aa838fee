/* bench_memory: memory that should grow with the work, not faster (issue 21).
 *
 * 1. Event loops: N plcio S7 servers in this one process (each has its own
 *    loop), each with one client connection, for N = 1,000 and 3,000 (as far
 *    as the fd limit allows): resident memory per server. A loop whose watch
 *    table is sized to the highest fd of the process grows with N^2 here.
 * 2. The sync engine: N = 1,000 devices x 30 REAL tags at 10 Hz, S7 and Modbus
 *    TCP, no shared-memory segment; the PLCs are plcio's own servers in a
 *    child process (so their memory is not counted): resident memory of the
 *    engine per device once every device is connected and polled (issue
 *    target: at most 40 KiB per device).
 * Memory is the process's resident set (/proc/self/statm) before and after,
 * freed memory handed back with malloc_trim first.
 * PLCIO_BENCH_DEVICES (default 1000) and PLCIO_BENCH_SECONDS (default 3). */
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_net.h"
#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "plcio/sync.h"
#include "bench_measure.h"

#define TAGS 30

static long env_long(const char *name, long def)
{
    const char *s = getenv(name);
    long v = s ? atol(s) : def;
    return v > 0 ? v : def;
}

/* Resident bytes of this process. */
static double rss_bytes(void)
{
    (void)malloc_trim(0);
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    (void)fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static long fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
    rl.rlim_cur = rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    (void)getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur > 1000000 ? 1000000 : (long)rl.rlim_cur;
}

/* ---- 1. many loops in one process ---- */

static int servers_case(long n)
{
    plcio_s7_server **srv = calloc((size_t)n, sizeof(plcio_s7_server *));
    int *conn = calloc((size_t)n, sizeof *conn);
    if (!srv || !conn) {
        free(srv);
        free(conn);
        return -1;
    }
    double before = rss_bytes();
    plcio_s7_server_options o;
    plcio_s7_server_options_init(&o);
    o.port = 0;
    int rc = 0;
    long made = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        conn[i] = -1;
        if (plcio_s7_server_new(&o, &srv[i], NULL) != PLCIO_OK ||
            plcio_s7_server_add_area(srv[i], PLCIO_S7_SERVER_AREA_DB, 1, 64, NULL) != PLCIO_OK ||
            plcio_s7_server_listen(srv[i]) != PLCIO_OK || bn_connect(plcio_s7_server_port(srv[i]), &conn[i]) != 0) {
            rc = -1;
            break;
        }
        made = i + 1;
        for (int k = 0; k < 100 && plcio_s7_server_client_count(srv[i]) == 0; k++)
            plcio_s7_server_run_once(srv[i], 10);
        if (plcio_s7_server_client_count(srv[i]) != 1) rc = -1;
    }
    double after = rss_bytes();
    if (rc == 0)
        printf("  %5ld servers, one connection each: %7.1f MiB in all, %6.1f KiB per server\n", n,
               (after - before) / 1048576.0, (after - before) / 1024.0 / (double)n);
    else
        fprintf(stderr, "  %ld servers: setup failed at %ld\n", n, made);
    for (long i = 0; i < made; i++) {
        bn_close(conn[i]);
        plcio_s7_server_free(srv[i]);
    }
    free(srv);
    free(conn);
    return rc;
}

/* ---- 2. the engine ---- */

typedef struct peers {
    pid_t pid;
    int s7_port, mb_port;
} peers;

static void *mb_serve(void *arg)
{
    plcio_modbus_server_run(arg);
    return NULL;
}

/* The child: one S7 and one Modbus server taking every device's connection,
 * until the parent closes the pipe (or dies). */
static void peers_child(int report_fd, int stop_fd, long n)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    plcio_s7_server_options so;
    plcio_s7_server_options_init(&so);
    so.port = 0;
    so.max_connections = (unsigned)n + 16;
    plcio_s7_server *s7 = NULL;
    plcio_modbus_server *mb = NULL;
    int ports[2] = {0, 0};
    if (plcio_s7_server_new(&so, &s7, NULL) == PLCIO_OK &&
        plcio_s7_server_add_area(s7, PLCIO_S7_SERVER_AREA_DB, 1, (size_t)4 * TAGS, NULL) == PLCIO_OK &&
        plcio_s7_server_start(s7) == PLCIO_OK)
        ports[0] = plcio_s7_server_port(s7);
    plcio_modbus_server_limits lim;
    plcio_modbus_server_limits_init(&lim);
    lim.max_connections = (unsigned)n + 16;
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1000);
    pthread_t th;
    if (plcio_modbus_server_new(NULL, &mb, NULL) == PLCIO_OK && plcio_modbus_server_set_limits(mb, &lim) == PLCIO_OK &&
        plcio_modbus_server_add_unit(mb, 1, &bank) == PLCIO_OK &&
        plcio_modbus_server_listen_tcp(mb, "127.0.0.1", 0, &ports[1]) == PLCIO_OK &&
        pthread_create(&th, NULL, mb_serve, mb) == 0) {
    } else {
        ports[1] = 0;
    }
    if (write(report_fd, ports, sizeof ports) != (ssize_t)sizeof ports) _exit(1);
    char b;
    while (read(stop_fd, &b, 1) > 0) {
    }
    _exit(0);
}

static int peers_start(peers *p, long n)
{
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0) return -1;
    p->pid = fork();
    if (p->pid < 0) return -1;
    if (p->pid == 0) {
        close(up[0]);
        close(down[1]);
        peers_child(up[1], down[0], n);
    }
    close(up[1]);
    close(down[0]);
    int ports[2];
    if (read(up[0], ports, sizeof ports) != (ssize_t)sizeof ports || ports[0] <= 0 || ports[1] <= 0) return -1;
    close(up[0]);
    p->s7_port = ports[0];
    p->mb_port = ports[1];
    return down[1]; /* closing it stops the child */
}

static char *engine_yaml(bool s7, int port, long n)
{
    size_t cap = (size_t)n * (200 + (size_t)TAGS * 64) + 64, len = 0;
    char *y = malloc(cap);
    if (!y) return NULL;
    len += (size_t)snprintf(y + len, cap - len, "devices:\n");
    for (long d = 0; d < n; d++) {
        if (s7)
            len += (size_t)snprintf(y + len, cap - len,
                                    "  - name: p%ld\n    url: \"s7://127.0.0.1:%d\"\n    groups:\n      - name: g\n"
                                    "        interval: 100ms\n        tags:\n",
                                    d, port);
        else
            len += (size_t)snprintf(y + len, cap - len,
                                    "  - name: p%ld\n    url: \"modbus-tcp://127.0.0.1:%d?unit=1\"\n    groups:\n"
                                    "      - name: g\n        interval: 100ms\n        tags:\n",
                                    d, port);
        for (int t = 0; t < TAGS; t++) {
            if (s7)
                len += (size_t)snprintf(y + len, cap - len, "          - {address: \"DB1.DBD%d:REAL\", name: t%d}\n",
                                        4 * t, t);
            else
                len +=
                    (size_t)snprintf(y + len, cap - len, "          - {address: \"hr%d:REAL\", name: t%d}\n", 2 * t, t);
        }
    }
    return y;
}

static void engine_case(const char *what, bool s7, int port, long n)
{
    char *yaml = engine_yaml(s7, port, n);
    plcio_error err = {0};
    plcio_sync_config *cfg = NULL;
    if (!yaml || plcio_sync_config_parse(yaml, strlen(yaml), "bench", NULL, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "  %s: config: %s\n", what, err.text);
        free(yaml);
        return;
    }
    free(yaml);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    double before = rss_bytes();
    plcio_sync *s = NULL;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) {
        fprintf(stderr, "  %s: engine: %s\n", what, err.text);
        plcio_sync_config_free(cfg);
        return;
    }
    double built = rss_bytes();
    double end = now_s() + bench_seconds(3.0);
    while (now_s() < end)
        plcio_sync_run_once(s, 5);
    size_t connected = 0;
    uint64_t cycles = 0, errors = 0;
    plcio_sync_stats st;
    for (size_t i = 0; i < plcio_sync_device_count(s); i++)
        if (plcio_sync_device_stats(s, i, &st) == PLCIO_OK && st.connected) connected++;
    for (size_t i = 0; i < plcio_sync_group_count(s); i++)
        if (plcio_sync_group_stats(s, i, &st) == PLCIO_OK) cycles += st.cycles, errors += st.errors;
    double after = rss_bytes();
    printf("  %-7s %ld devices x %d tags: %6.1f MiB, %5.1f KiB per device (built %5.1f, running %5.1f; "
           "target <= 40); %zu connected, %.1f cycles/s per device, %llu errors\n",
           what, n, TAGS, (after - before) / 1048576.0, (after - before) / 1024.0 / (double)n,
           (built - before) / 1024.0 / (double)n, (after - built) / 1024.0 / (double)n, connected,
           (double)cycles / bench_seconds(3.0) / (double)n, (unsigned long long)errors);
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
}

int main(void)
{
    long limit = fd_limit();
    long devices = env_long("PLCIO_BENCH_DEVICES", 1000);
    printf("bench_memory: resident memory (fd limit %ld)\n", limit);
    printf("1. S7 servers in one process, each on its own event loop:\n");
    static const long ns[] = {1000, 3000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        if (ns[i] * 6 + 64 > limit) {
            printf("  %5ld servers: skipped, the fd limit (%ld) is too low\n", ns[i], limit);
            continue;
        }
        if (servers_case(ns[i]) != 0) return 1;
    }
    printf("2. the sync engine, %ld devices (servers in a child process), %.0f s:\n", devices, bench_seconds(3.0));
    peers p;
    int stop = peers_start(&p, devices);
    if (stop < 0) {
        fprintf(stderr, "bench_memory: cannot start the servers\n");
        return 1;
    }
    engine_case("s7", true, p.s7_port, devices);
    engine_case("modbus", false, p.mb_port, devices);
    close(stop);
    waitpid(p.pid, NULL, 0);
    return 0;
}
