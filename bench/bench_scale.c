/* The engine at plant scale with values that change (issue 21), on loopback:
 *
 * 1. N simulated S7 PLCs x 30 REAL tags, one group each at 10 Hz, every value
 *    changing 10 times a second, for N = 100, 300, 1000, 3000 (or the N given
 *    on the command line): late cycles, the engine thread's CPU, the average
 *    cycle time, cycles per second per device, and the engine's memory.
 * 2. A 64 KiB DB (16383 REAL) whose values all change every millisecond,
 *    read with a 1 ms interval: cycles per second and CPU.
 * 3. 10,000 tags on 10 PLCs (1000 REAL each) at 100 Hz, all changing at
 *    100 Hz: CPU and late cycles.
 * The simulated PLCs (plcio's S7 server, one port each) live in a child
 * process, served by one thread that also rewrites their memory, so the
 * figures of this process are the engine's alone. The JSON rendition is on
 * (rendered on every change) unless --json-interval MS or --no-json.
 * Targets: N = 1000: 0 late on <= 35 % of a core; N = 3000: 0 late on one
 * core; 64 KiB: >= 800 cycles/s; 10,000 tags @ 100 Hz: <= 25 % of a core.
 * The machine's load average is printed: a shared machine moves these.
 * --sim-nice N runs the simulators at nice N: the engine then never waits for
 * a CPU and wakes for each answer alone (see start_simulators). */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plcio/bytes.h"
#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "bench_measure.h"

#define SETTLE_S  3.0
#define MEASURE_S 5.0

static char tmpdir[64];
static uint32_t json_interval_ms;
static bool no_json;
static bool plant_only; /* --plant-only: case 1 alone (for profiling) */
static bool big_only;   /* --big-only: case 2 alone */
static int sim_nice;    /* --sim-nice N: the simulators' nice value */

/* Time this thread spent runnable but waiting for a CPU (schedstat), in s:
 * on a shared machine the engine may be late for want of a core. */
static double thread_wait_s(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    unsigned long long run = 0, wait = 0;
    if (!f || fscanf(f, "%llu %llu", &run, &wait) != 2) wait = 0;
    if (f) (void)fclose(f); /* read-only */
    return (double)wait / 1e9;
}

static void load_average(char *out, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double a = 0, b = 0, c = 0;
    if (!f || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3) a = b = c = -1;
    if (f) (void)fclose(f); /* read-only */
    snprintf(out, cap, "%.2f %.2f %.2f", a, b, c);
}

static void write_layout(const char *file, unsigned reals)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    FILE *f = fopen(path, "w");
    if (!f ||
        fprintf(f,
                "DATA_BLOCK \"Line\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
                "      T : Array[0..%u] of Real;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
                reals - 1) < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* ---- the simulated PLCs (child process) ---- */

static volatile sig_atomic_t sim_stop;
static void on_term(int sig)
{
    (void)sig;
    sim_stop = 1;
}

/* Serve n servers (DB1 of db_bytes) from one thread; every period_ns give
 * every 4-byte word a new REAL. Writes the ports to fd, one uint16 each. */
static void run_simulators(int n, size_t db_bytes, uint64_t period_ns, int fd)
{
    (void)signal(SIGTERM, on_term); /* fails only for a bad signal number */
    plcio_s7_server **srv =
        calloc((size_t)n, sizeof(plcio_s7_server *)); // NOLINT(bugprone-sizeof-expression): an array of handles
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!srv || ep < 0) _exit(2);
    for (int i = 0; i < n; i++) {
        plcio_s7_server_options o;
        plcio_s7_server_options_init(&o);
        o.port = 0;
        if (plcio_s7_server_new(&o, &srv[i], NULL) ||
            plcio_s7_server_add_area(srv[i], PLCIO_S7_SERVER_AREA_DB, 1, db_bytes, NULL) ||
            plcio_s7_server_listen(srv[i])) {
            fprintf(stderr, "simulator %d did not start\n", i);
            _exit(2);
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, plcio_s7_server_fd(srv[i]), &ev);
        uint16_t port = plcio_s7_server_port(srv[i]);
        if (write(fd, &port, sizeof port) != (ssize_t)sizeof port) _exit(2);
    }
    close(fd);
    uint64_t rng = 0x9E3779B97F4A7C15ull, next = plcio_monotonic_ns() + period_ns;
    struct epoll_event evs[256];
    while (!sim_stop) {
        uint64_t t = plcio_monotonic_ns();
        /* rounded up: a simulator that spun on epoll_wait(0) below 1 ms took
         * a whole core from the engine it serves on a 2-core machine */
        int wait_ms = t >= next ? 0 : (int)((next - t + PLCIO_NS_PER_MS - 1) / PLCIO_NS_PER_MS);
        int k = epoll_wait(ep, evs, 256, wait_ms);
        for (int i = 0; i < k; i++)
            plcio_s7_server_run_once(srv[evs[i].data.u32], 0);
        if (plcio_monotonic_ns() < next) continue;
        next += period_ns;
        if (next <= plcio_monotonic_ns()) next = plcio_monotonic_ns() + period_ns; /* skip, do not make up */
        for (int i = 0; i < n; i++) {
            size_t size = 0;
            uint8_t *db = plcio_s7_server_area_data(srv[i], PLCIO_S7_SERVER_AREA_DB, 1, &size);
            for (size_t at = 0; db && at + 4 <= size; at += 4) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                plcio_put_f32be(db + at, (float)((rng >> 16) % 1000000) / 1000.0f);
            }
        }
    }
    for (int i = 0; i < n; i++)
        plcio_s7_server_free(srv[i]);
    _exit(0);
}

/* The simulators run in SIM_PROCS child processes (a few hundred PLCs per
 * serving thread keep up; the engine, not they, is what is measured). */
#define SIM_PROCS 4

typedef struct sims {
    pid_t pid[SIM_PROCS];
    uint16_t *ports;
} sims;

static int start_simulators(int n, size_t db_bytes, uint64_t period_ns, sims *s)
{
    s->ports = calloc((size_t)n, sizeof *s->ports);
    if (!s->ports) return -1;
    int procs = n < SIM_PROCS ? n : SIM_PROCS, at = 0;
    for (int k = 0; k < procs; k++) {
        int share = n / procs + (k < n % procs), p[2];
        if (pipe(p) != 0) return -1;
        fflush(stdout);
        s->pid[k] = fork();
        if (s->pid[k] < 0) return -1;
        if (s->pid[k] == 0) {
            close(p[0]);
            /* --sim-nice N: the simulated PLCs yield the CPU to the engine
             * (they stand in for other machines). Then the engine wakes for
             * every answer as it arrives, one loop round and one publish
             * each, instead of finding several answers waiting after a wait
             * for a CPU: the rounds' own cost shows. */
            errno = 0;
            if (sim_nice && nice(sim_nice) == -1 && errno) perror("nice");
            run_simulators(share, db_bytes, period_ns, p[1]);
        }
        close(p[1]);
        size_t want = (size_t)share * sizeof *s->ports, got = 0;
        while (got < want) {
            ssize_t r = read(p[0], (uint8_t *)(s->ports + at) + got, want - got);
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(p[0]);
        if (got != want) return -1;
        at += share;
    }
    return 0;
}

static void stop_simulators(sims *s)
{
    for (int k = 0; k < SIM_PROCS; k++)
        if (s->pid[k] > 0) kill(s->pid[k], SIGTERM);
    for (int k = 0; k < SIM_PROCS; k++) {
        struct rusage ru;
        if (s->pid[k] > 0 && wait4(s->pid[k], NULL, 0, &ru) > 0)
            printf("      simulator process %d: %.1f s CPU in all\n", k,
                   (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                       (double)ru.ru_stime.tv_usec / 1e6);
    }
    free(s->ports);
    memset(s, 0, sizeof *s);
}

/* ---- the engine (this process) ---- */

/* One line of /proc/self/status ("RssAnon", "RssShmem") in KiB, -1 unknown. */
static long status_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &kib) == 1) break;
    if (f) (void)fclose(f); /* read-only */
    return kib;
}

typedef struct result {
    double cpu, wait, cycles_per_s, cycle_ms, late, publishes_per_s;
    uint64_t cycles;
    long rss_before, rss_after;
    long anon_before, anon_after, shmem_after; /* RssAnon, RssShmem (the segment) */
    size_t connected;
} result;

static char *engine_yaml(const sims *s, int n, const char *interval)
{
    size_t cap = 256 + (size_t)n * 160, len = 0;
    char *y = malloc(cap);
    if (!y) return NULL;
    char json[64] = "";
    if (no_json)
        snprintf(json, sizeof json, "json: off\n");
    else if (json_interval_ms)
        snprintf(json, sizeof json, "json: {interval: %u}\n", json_interval_ms);
    len += (size_t)snprintf(y + len, cap - len, "layouts: [line.db]\n%sdevices:\n", json);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len,
                                "  - {name: plc%d, url: \"s7://127.0.0.1:%u?rack=0&slot=1\", "
                                "groups: [{db: 1, interval: %s}]}\n",
                                i, (unsigned)s->ports[i], interval);
    return y;
}

static void sum_groups(plcio_sync *s, uint64_t *cycles, uint64_t *late, double *cycle_ns_sum)
{
    *cycles = *late = 0;
    *cycle_ns_sum = 0;
    plcio_sync_stats st;
    for (size_t i = 0; i < plcio_sync_group_count(s); i++) {
        plcio_sync_group_stats(s, i, &st);
        *cycles += st.cycles;
        *late += st.late;
        *cycle_ns_sum += (double)st.cycle_avg_ns * (double)st.cycles;
    }
}

static int run_engine(const sims *sm, int n, const char *interval, result *r)
{
    char *yaml = engine_yaml(sm, n, interval), shm[64];
    snprintf(shm, sizeof shm, "/plcio-bench-scale-%d", (int)getpid());
    plcio_error err = {0};
    plcio_sync_config *cfg = NULL;
    (void)malloc_trim(0);
    r->rss_before = rss_kib();
    r->anon_before = status_kib("RssAnon");
    if (!yaml || plcio_sync_config_parse(yaml, strlen(yaml), "bench", tmpdir, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "config: %s\n", err.text);
        free(yaml);
        return -1;
    }
    free(yaml);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    plcio_sync *s;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", err.text);
        plcio_sync_config_free(cfg);
        return -1;
    }
    /* Publications (generations) per second, read from the segment itself.
     * Opened before the settle: the reader is this thread's, and its first
     * copy of a 3,000-device segment (90,000 names sorted, the whole JSON)
     * takes over 100 ms, a stall that made every group late once when it
     * was opened inside the measured window. */
    plcio_shm_reader *rd = NULL;
    plcio_shm_status st0 = {0}, st1 = {0};
    bool have_reader = plcio_shm_reader_new(shm, &rd, NULL) == PLCIO_OK;
    /* Settle: every device connected (60 s at most), then SETTLE_S more. */
    double give_up = now_s() + 60, settle = 0;
    bool all_up = false;
    while (now_s() < (all_up ? settle : give_up)) {
        plcio_sync_run_once(s, 1);
        if (all_up) continue;
        size_t up = 0;
        plcio_sync_stats st;
        for (size_t i = 0; i < plcio_sync_device_count(s); i++)
            if (plcio_sync_device_stats(s, i, &st) == PLCIO_OK && st.connected) up++;
        if (up == plcio_sync_device_count(s)) {
            all_up = true;
            settle = now_s() + SETTLE_S;
        }
    }
    uint64_t c0, l0, c1, l1;
    double s0, s1;
    if (have_reader) plcio_shm_reader_status(rd, &st0);
    sum_groups(s, &c0, &l0, &s0);
    double t0 = now_s(), cpu0 = thread_cpu_s(), wait0 = thread_wait_s();
    while (now_s() - t0 < MEASURE_S)
        plcio_sync_run_once(s, 1);
    double el = now_s() - t0;
    r->cpu = 100 * (thread_cpu_s() - cpu0) / el;
    r->wait = 100 * (thread_wait_s() - wait0) / el;
    sum_groups(s, &c1, &l1, &s1);
    if (have_reader) plcio_shm_reader_status(rd, &st1);
    /* The reader's copies of the segment are this benchmark's, not the
     * engine's: gone (and handed back) before the engine's memory is read. */
    plcio_shm_reader_free(rd);
    (void)malloc_trim(0);
    r->publishes_per_s = (double)(st1.generation - st0.generation) / el;
    r->cycles = c1 - c0;
    r->late = (double)(l1 - l0);
    r->cycles_per_s = (double)r->cycles / el / (double)n;
    r->cycle_ms = r->cycles ? (s1 - s0) / (double)r->cycles / 1e6 : 0;
    r->rss_after = rss_kib();
    r->anon_after = status_kib("RssAnon");
    r->shmem_after = status_kib("RssShmem");
    r->connected = 0;
    plcio_sync_stats st;
    for (size_t i = 0; i < plcio_sync_device_count(s); i++)
        if (plcio_sync_device_stats(s, i, &st) == PLCIO_OK && st.connected) r->connected++;
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    return 0;
}

static void plant(int n)
{
    sims sm = {0};
    if (start_simulators(n, 120, 100 * PLCIO_NS_PER_MS, &sm) != 0) {
        printf("  N=%5d: the simulators did not start\n", n);
        stop_simulators(&sm);
        return;
    }
    result r;
    if (run_engine(&sm, n, "100ms", &r) == 0) {
        char la[64];
        load_average(la, sizeof la);
        printf("  N=%5d: %5.0f late, engine CPU %5.1f%% (waited for a CPU %4.1f%%), cycle %6.2f ms, %5.2f "
               "cycles/s/device, %.1f us CPU/cycle, %.0f publishes/s, %zu/%d connected, RSS %ld KiB (engine %+ld KiB = "
               "%.1f KiB/device: heap %.1f, segment %.1f)  [load %s]\n",
               n, r.late, r.cpu, r.wait, r.cycle_ms, r.cycles_per_s,
               r.cycles ? r.cpu / 100 * MEASURE_S * 1e6 / (double)r.cycles : 0, r.publishes_per_s, r.connected, n,
               r.rss_after, r.rss_after - r.rss_before, (double)(r.rss_after - r.rss_before) / n,
               (double)(r.anon_after - r.anon_before) / n, (double)r.shmem_after / n, la);
    }
    fflush(stdout);
    stop_simulators(&sm);
}

static void big_db(void)
{
    sims sm = {0};
    write_layout("line.db", 16383);
    if (start_simulators(1, (size_t)16383 * 4, PLCIO_NS_PER_MS, &sm) != 0) {
        printf("  the simulator did not start\n");
        stop_simulators(&sm);
        return;
    }
    result r;
    if (run_engine(&sm, 1, "1ms", &r) == 0) {
        char la[64];
        load_average(la, sizeof la);
        printf("2. 64 KiB DB (16383 REAL) changing every ms, 1 ms interval: %.1f cycles/s (target 800), engine CPU "
               "%.0f%% (waited for a CPU %.0f%%), %.0f publishes/s  [load %s]\n",
               r.cycles_per_s, r.cpu, r.wait, r.publishes_per_s, la);
    }
    fflush(stdout);
    stop_simulators(&sm);
}

static void ten_thousand(void)
{
    sims sm = {0};
    write_layout("line.db", 1000);
    if (start_simulators(10, 4000, 10 * PLCIO_NS_PER_MS, &sm) != 0) {
        printf("  the simulators did not start\n");
        stop_simulators(&sm);
        return;
    }
    result r;
    if (run_engine(&sm, 10, "10ms", &r) == 0) {
        char la[64];
        load_average(la, sizeof la);
        printf("3. 10,000 tags (10 PLCs x 1000 REAL) at 100 Hz, changing at 100 Hz: engine CPU %.1f%% (target 25%%), "
               "%.0f late, %.1f cycles/s/device (waited for a CPU %.0f%%)  [load %s]\n",
               r.cpu, r.late, r.cycles_per_s, r.wait, la);
    }
    fflush(stdout);
    stop_simulators(&sm);
}

int main(int argc, char **argv)
{
    int ns[16], count = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json-interval") && i + 1 < argc)
            json_interval_ms = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-json"))
            no_json = true;
        else if (!strcmp(argv[i], "--plant-only"))
            plant_only = true;
        else if (!strcmp(argv[i], "--big-only"))
            big_only = true;
        else if (!strcmp(argv[i], "--sim-nice") && i + 1 < argc)
            sim_nice = atoi(argv[++i]);
        else if (atoi(argv[i]) > 0 && count < 16)
            ns[count++] = atoi(argv[i]);
    }
    if (!count) {
        static const int def[] = {100, 300, 1000, 3000};
        for (count = 0; count < 4; count++)
            ns[count] = def[count];
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    (void)signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/plcio-bench-scale-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    write_layout("line.db", 30);
    printf("1. N S7 PLCs x 30 REAL at 10 Hz, every value changing at 10 Hz (JSON %s), %.0f s each%s\n",
           no_json            ? "off"
           : json_interval_ms ? "at most every --json-interval"
                              : "on every change",
           MEASURE_S, sim_nice ? ", simulators niced (--sim-nice)" : "");
    for (int i = 0; i < count && !big_only; i++)
        plant(ns[i]);
    if (!plant_only) big_db();
    if (!plant_only && !big_only) ten_thousand();
    char path[128];
    snprintf(path, sizeof path, "%s/line.db", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}
