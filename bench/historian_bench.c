/* The historian outputs' figures (issue 22), on loopback, this machine:
 *
 * 10,000 REAL tags on 10 devices (plcio simulators in this process) polled at
 * 10 Hz, every value changing between two polls (a thread rewrites all of
 * them every 50 ms): 100,000 rows/s offered to each output.
 *   1. no output (shared memory only): the engine thread's CPU per 1000 updates;
 *   2. PostgreSQL (COPY binary, batches of 10,000): rows stored per second,
 *      engine CPU per 1000 rows, and the ratio to 1; 2b. the same at 20 Hz
 *      (200,000 rows/s offered) for the ceiling;
 *   3. PostgreSQL made slow (the table locked for 3 s mid-run): late poll
 *      cycles (target 0) and rows dropped;
 *   4. InfluxDB 1.x (line protocol over HTTP, batches of 10,000).
 * Target: 100,000 rows/s into PostgreSQL with the poll cycles on time.
 *
 * Run without PLCIO_BENCH_SERVERS set, it starts the servers itself through
 * historian_servers.sh (a temporary PostgreSQL cluster and influxd) and runs
 * again inside it. */
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "plcio/sync.h"
#include "bench_measure.h"

#define DEVICES         10
#define TAGS_PER_DEVICE 1000
#define RUN_SECONDS     5.0

static char tmpdir[64];
static plcio_s7_server *servers[DEVICES];
static atomic_bool changing;
static atomic_int change_us = 50000; /* the changer's period */
static int poll_ms = 100;            /* the engine's interval */

/* Every 50 ms, every REAL of every simulator gets a new value. */
static void *changer(void *arg)
{
    (void)arg;
    uint32_t step = 0;
    while (atomic_load(&changing)) {
        step++;
        for (int d = 0; d < DEVICES; d++) {
            plcio_s7_server_lock_area(servers[d], PLCIO_S7_SERVER_AREA_DB, 1);
            uint8_t *mem = plcio_s7_server_area_data(servers[d], PLCIO_S7_SERVER_AREA_DB, 1, NULL);
            for (size_t i = 0; mem && i < TAGS_PER_DEVICE; i++) {
                float f = (float)step + (float)i / 1000.0f;
                uint32_t bits;
                memcpy(&bits, &f, sizeof bits);
                mem[4 * i] = (uint8_t)(bits >> 24);
                mem[4 * i + 1] = (uint8_t)(bits >> 16);
                mem[4 * i + 2] = (uint8_t)(bits >> 8);
                mem[4 * i + 3] = (uint8_t)bits;
            }
            plcio_s7_server_unlock_area(servers[d], PLCIO_S7_SERVER_AREA_DB, 1);
        }
        int us = atomic_load(&change_us);
        struct timespec pause = {0, (long)us * 1000L};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* One number from a shell command's first line (psql, python), or -1. */
static double shell_number(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char line[128] = "";
    if (!p) return -1;
    if (!fgets(line, sizeof line, p)) line[0] = '\0';
    int rc = pclose(p);
    return rc == 0 && line[0] ? atof(line) : -1;
}

static double pg_count(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "psql -X -At -d \"$PLCIO_BENCH_PG\" -c 'SELECT count(*) FROM plcio_samples' 2>/dev/null");
    return shell_number(cmd);
}

static double influx_count(void)
{
    return shell_number(
        "/usr/bin/python3 -c \"import json, os, urllib.request, urllib.parse; "
        "u = os.environ['PLCIO_BENCH_INFLUX'] + '/query?' + urllib.parse.urlencode({'db': 'bench', 'q': "
        "'SELECT count(text) FROM plcio'}); r = json.load(urllib.request.urlopen(u, timeout=60)); "
        "s = r['results'][0].get('series'); print(s[0]['values'][0][1] if s else 0)\"");
}

typedef struct run_result {
    double elapsed_s, cpu_s, drain_s;
    uint64_t cycles, late, updates;
    double stored_in_window, stored_total;
    double longest_round_ms; /* longest plcio_sync_run_once (it waits 5 ms at most when idle) */
    long preempted;          /* the engine thread's involuntary context switches: CPU taken by others */
} run_result;

static long involuntary_switches(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

typedef double (*count_fn)(void);

/* Run the engine RUN_SECONDS on the configuration; `during` (may be NULL) is
 * started 1 s into the run (a shell command in the background). */
static int run(const char *outputs, count_fn count, const char *during, run_result *r)
{
    size_t cap = 16384, n = 0;
    char *yaml = malloc(cap);
    if (!yaml) return -1;
    n += (size_t)snprintf(yaml + n, cap - n, "layouts: [line.db]\ndevices:\n");
    for (int i = 0; i < DEVICES; i++)
        n += (size_t)snprintf(
            yaml + n, cap - n,
            "  - {name: plc%d, url: \"s7://127.0.0.1:%d?rack=0&slot=1\", groups: [{db: 1, interval: %dms}]}\n", i,
            plcio_s7_server_port(servers[i]), poll_ms);
    snprintf(yaml + n, cap - n, "%s", outputs);
    plcio_error err;
    plcio_sync_config *cfg;
    if (plcio_sync_config_parse(yaml, strlen(yaml), "bench", tmpdir, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "config: %s\n", err.text);
        free(yaml);
        return -1;
    }
    free(yaml);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    char shm[64];
    snprintf(shm, sizeof shm, "/plcio-bench-hist-%d", (int)getpid());
    o.shm_name = shm;
    o.logger.fn = plcio_log_to_stream;
    o.logger.ctx = stderr;
    o.logger.level = PLCIO_LOG_WARN;
    plcio_sync *s;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", err.text);
        plcio_sync_config_free(cfg);
        return -1;
    }
    double settle = now_s() + 1.0;
    while (now_s() < settle)
        plcio_sync_run_once(s, 5);
    double base = count ? count() : 0;
    plcio_sync_stats st;
    uint64_t cycles0 = 0, late0 = 0, updates0 = 0;
    for (size_t i = 0; i < plcio_sync_group_count(s); i++) {
        plcio_sync_group_stats(s, i, &st);
        cycles0 += st.cycles;
        late0 += st.late;
        updates0 += st.cycles * st.tags;
    }
    double t0 = now_s(), c0 = thread_cpu_s();
    long sw0 = involuntary_switches();
    bool started = false;
    r->longest_round_ms = 0;
    while (now_s() - t0 < RUN_SECONDS) {
        if (during && !started && now_s() - t0 >= 1.0) {
            started = true;
            if (system(during) != 0) fprintf(stderr, "bench: '%s' failed\n", during);
        }
        double a = now_s();
        plcio_sync_run_once(s, 5);
        if ((now_s() - a) * 1e3 > r->longest_round_ms) r->longest_round_ms = (now_s() - a) * 1e3;
    }
    r->preempted = involuntary_switches() - sw0;
    r->elapsed_s = now_s() - t0;
    r->cpu_s = thread_cpu_s() - c0;
    r->cycles = r->late = r->updates = 0;
    for (size_t i = 0; i < plcio_sync_group_count(s); i++) {
        plcio_sync_group_stats(s, i, &st);
        r->cycles += st.cycles;
        r->late += st.late;
        r->updates += st.cycles * st.tags;
    }
    r->cycles -= cycles0;
    r->late -= late0;
    r->updates -= updates0;
    r->stored_in_window = count ? count() - base : 0;
    double d0 = now_s();
    plcio_sync_free(s); /* the outputs write what is queued first */
    r->drain_s = now_s() - d0;
    r->stored_total = count ? count() - base : 0;
    plcio_sync_config_free(cfg);
    return 0;
}

static void report_output(const char *what, const run_result *r, const run_result *base)
{
    double offered = (double)r->updates / r->elapsed_s;
    double stored = r->stored_in_window / r->elapsed_s;
    printf("  %s: %.0f rows/s stored during the run, %.0f offered (stored/offered %.2fx; stored/target "
           "100000 = %.2fx)\n",
           what, stored, offered, offered > 0 ? stored / offered : 0, stored / 100000);
    printf("     %.0f rows stored in all, the rest written in %.2f s after the run; %llu late poll cycles of %llu\n",
           r->stored_total, r->drain_s, (unsigned long long)r->late, (unsigned long long)r->cycles);
    printf("     longest engine round %.1f ms (%.1f ms with shared memory only); engine thread preempted %ld times "
           "(%ld)\n",
           r->longest_round_ms, base->longest_round_ms, r->preempted, base->preempted);
    double per = r->cpu_s / ((double)r->updates / 1000) * 1e6;
    double per0 = base->cpu_s / ((double)base->updates / 1000) * 1e6;
    printf("     engine thread CPU %.2f us per 1000 rows (%.2fx the %.2f us with shared memory only)\n", per,
           per0 > 0 ? per / per0 : 0, per0);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!getenv("PLCIO_BENCH_SERVERS")) {
        execlp("bash", "bash", PLCIO_HIST_SERVERS, argv[0], (char *)NULL);
        perror("bash " PLCIO_HIST_SERVERS);
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/plcio-bench-hist-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    char path[128], source[512];
    snprintf(path, sizeof path, "%s/line.db", tmpdir);
    snprintf(source, sizeof source,
             "DATA_BLOCK \"Line\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
             "      T : Array[0..%d] of Real;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
             TAGS_PER_DEVICE - 1);
    FILE *f = fopen(path, "w");
    if (!f || fputs(source, f) < 0 || fclose(f) != 0) return 1;
    for (int i = 0; i < DEVICES; i++) {
        plcio_s7_server_options c;
        plcio_s7_server_options_init(&c);
        c.port = 0;
        if (plcio_s7_server_new(&c, &servers[i], NULL) ||
            plcio_s7_server_add_area(servers[i], PLCIO_S7_SERVER_AREA_DB, 1, (size_t)TAGS_PER_DEVICE * 4, NULL) ||
            plcio_s7_server_start(servers[i]))
            return 1;
    }
    atomic_store(&changing, true);
    pthread_t th;
    if (pthread_create(&th, NULL, changer, NULL) != 0) return 1;

    printf("%d REAL tags on %d devices at 10 Hz, every value changing every 50 ms (100,000 rows/s offered), "
           "%.0f s per run\n",
           DEVICES * TAGS_PER_DEVICE, DEVICES, RUN_SECONDS);
    run_result base, r;
    if (run("", NULL, NULL, &base) == 0)
        printf("1. shared memory only: %.0f updates/s, engine thread CPU %.2f us per 1000 updates, %llu late cycles, "
               "longest engine round %.1f ms, preempted %ld times\n",
               (double)base.updates / base.elapsed_s, base.cpu_s / ((double)base.updates / 1000) * 1e6,
               (unsigned long long)base.late, base.longest_round_ms, base.preempted);
    const char *pg = getenv("PLCIO_BENCH_PG");
    if (pg) {
        char out[1024];
        snprintf(out, sizeof out,
                 "outputs:\n  - postgres: {conninfo: \"%s\", batch: 10000, flush: 200ms, queue: 1000000}\n", pg);
        if (run(out, pg_count, NULL, &r) == 0) report_output("2. PostgreSQL", &r, &base);
        /* The ceiling: twice the rate (20 Hz polls, values changing every 20 ms). */
        poll_ms = 50;
        atomic_store(&change_us, 20000);
        if (run(out, pg_count, NULL, &r) == 0) report_output("2b. PostgreSQL at 20 Hz (200,000 offered)", &r, &base);
        poll_ms = 100;
        atomic_store(&change_us, 50000);
        if (run(out, pg_count,
                "psql -X -q -d \"$PLCIO_BENCH_PG\" -c 'BEGIN; LOCK TABLE plcio_samples; SELECT pg_sleep(3); COMMIT' "
                ">/dev/null 2>&1 &",
                &r) == 0) {
            printf("3. PostgreSQL blocked for 3 s (table locked) mid-run:\n");
            report_output("   PostgreSQL", &r, &base);
        }
    } else {
        printf("2./3. PostgreSQL: skipped (no initdb: scripts/bootstrap.sh installs postgresql)\n");
    }
    const char *influx = getenv("PLCIO_BENCH_INFLUX");
    if (influx) {
        char out[1024];
        snprintf(out, sizeof out,
                 "outputs:\n  - influx: {url: \"%s/write?db=bench\", batch: 10000, flush: 200ms, queue: 1000000}\n",
                 influx);
        if (run(out, influx_count, NULL, &r) == 0) report_output("4. InfluxDB 1.x", &r, &base);
    } else {
        printf("4. InfluxDB: skipped (no influxd: scripts/bootstrap.sh installs influxdb)\n");
    }
    atomic_store(&changing, false);
    pthread_join(th, NULL);
    for (int i = 0; i < DEVICES; i++)
        plcio_s7_server_free(servers[i]);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}
