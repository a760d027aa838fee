/* The MQTT output's figures (issue 16), on loopback, against a local mosquitto
 * (Debian's /usr/sbin/mosquitto, started here on a picked port):
 *
 * 1. 10,000 tags (10 plcio S7 simulators, 1000 DINT each) all changing at 10 Hz,
 *    polled every 50 ms, every change published (QoS as given, default 1) and
 *    received by a libmosquitto subscriber in this process: tag updates/s that
 *    arrive, the engine thread's CPU per 1000 updates, and the latency from the
 *    change in the simulator's memory to the subscriber (p50, p99).
 * 2. The broker away: resident memory with a full offline queue (100,000
 *    messages, the default bound).
 * 3. (`spool`) The queue file while the broker is away, then back: messages/s
 *    into the queue and the engine thread's CPU per 1000 messages, without and
 *    with `queue-file`; the file's size; then the broker back: how fast the
 *    backlog drains (and the file empties), both ways.
 * Targets: 100,000 updates/s on one core; p99 below two poll cycles + 5 ms (105 ms).
 * The broker, the subscriber and the simulators share this machine's cores with
 * the engine: the figures are for all of it on one box.
 *
 *   bench_mqtt [SECONDS] [QOS] [group|sparkplug|spool]   (default 5 s, QoS 1; group: one JSON
 *                                         document per device and round instead of one message per tag;
 *                                         sparkplug: Sparkplug B DDATA, one per device and round;
 *                                         both print the bytes per tag update next to JSON's;
 *                                         spool: part 3 alone, SECONDS of broker outage) */
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "bench_measure.h"
#include "bench_net.h"

#define DEVICES         10
#define TAGS_PER_DEVICE 1000
#define CHANGE_NS       (100ull * PLCIO_NS_PER_MS) /* 10 Hz */
#define POLL_MS         50
#define MAX_ROUNDS      4096
#define MAX_SAMPLES     ((size_t)8 * 1024 * 1024)

static char tmpdir[64];
static uint64_t change_ns[MAX_ROUNDS]; /* written before the change is visible to the engine */
static double *lat_ms;
static atomic_size_t samples;
static atomic_ullong received;
static atomic_ullong received_bytes, received_msgs; /* every message on the subscription */

static pid_t start_broker(int port)
{
    char conf[128], text[256];
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", tmpdir);
    FILE *f = fopen(conf, "w");
    snprintf(text, sizeof text, "listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n", port);
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) return -1;
    (void)fflush(stdout); /* the child must not print our buffer again */
    pid_t pid = fork();
    if (pid == 0) {
        setenv("PLCIO_TEST_RUN", "1", 1);
        FILE *null = freopen("/dev/null", "w", stdout);
        if (null) dup2(fileno(stdout), 2); /* the broker's log: not part of the figures */
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool sparkplug; /* the Sparkplug B format instead of JSON */

static void on_message(struct mosquitto *m, void *ctx, const struct mosquitto_message *msg)
{
    (void)m;
    (void)ctx;
    uint64_t now = plcio_monotonic_ns();
    const char *p = msg->payload;
    long round;
    atomic_fetch_add(&received_bytes, (unsigned long long)msg->payloadlen);
    atomic_fetch_add(&received_msgs, 1);
    if (sparkplug) { /* protobuf: counted, not decoded (every tag changes every round) */
        if (strstr(msg->topic, "/DDATA/")) atomic_fetch_add(&received, TAGS_PER_DEVICE);
        return;
    }
    if (msg->payloadlen > 10 && !strncmp(p, "{\"value\":", 9)) {
        round = strtol(p + 9, NULL, 10);
        atomic_fetch_add(&received, 1);
    } else if (msg->payloadlen > 10 && !strncmp(p, "{\"device\":", 10) && (p = strstr(p, "\"values\":{\"")) != NULL &&
               (p = strchr(p + 11, ':')) != NULL) {
        round = strtol(p + 1, NULL, 10); /* a group document: every tag of the device changed in this round */
        atomic_fetch_add(&received, TAGS_PER_DEVICE);
    } else {
        return;
    }
    if (round <= 0 || round >= MAX_ROUNDS || !change_ns[round]) return;
    size_t i = atomic_fetch_add(&samples, 1);
    if (i < MAX_SAMPLES) lat_ms[i] = (double)(now - change_ns[round]) / 1e6;
}

static struct mosquitto *subscriber(int port)
{
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_message_callback_set(m, on_message);
    for (int i = 0; i < 100; i++) {
        if (mosquitto_connect(m, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS) {
            mosquitto_subscribe(m, NULL, sparkplug ? "spBv1.0/#" : "plcio/+/+", 0);
            mosquitto_loop_start(m);
            return m;
        }
        nanosleep(&(struct timespec){0, 50000000L}, NULL);
    }
    fprintf(stderr, "bench_mqtt: cannot connect to the broker\n");
    exit(1);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void set_all(plcio_s7_server **servers, uint32_t value)
{
    for (int d = 0; d < DEVICES; d++) {
        plcio_s7_server_lock_area(servers[d], PLCIO_S7_SERVER_AREA_DB, 1);
        uint8_t *mem = plcio_s7_server_area_data(servers[d], PLCIO_S7_SERVER_AREA_DB, 1, NULL);
        for (int t = 0; mem && t < TAGS_PER_DEVICE; t++) {
            uint8_t *at = mem + (size_t)4 * (size_t)t;
            at[0] = (uint8_t)(value >> 24);
            at[1] = (uint8_t)(value >> 16);
            at[2] = (uint8_t)(value >> 8);
            at[3] = (uint8_t)value;
        }
        plcio_s7_server_unlock_area(servers[d], PLCIO_S7_SERVER_AREA_DB, 1);
    }
}

static plcio_mqtt *last_output;

static plcio_sync *engine(const char *yaml)
{
    plcio_error err = {0};
    plcio_sync_config *cfg;
    if (plcio_sync_config_parse(yaml, strlen(yaml), "bench", tmpdir, &cfg, &err) != PLCIO_OK) {
        fprintf(stderr, "config: %s\n", err.text);
        exit(1);
    }
    static plcio_mqtt *mq;
    static plcio_sync_sink reg;
    plcio_mqtt_options mo = {.logger = {.fn = plcio_log_to_stream, .ctx = stderr, .level = PLCIO_LOG_ERROR}};
    if (plcio_mqtt_new(cfg->outputs[0].mqtt, &mo, &mq, &err) != PLCIO_OK) {
        fprintf(stderr, "mqtt: %s\n", err.text);
        exit(1);
    }
    plcio_mqtt_sink(mq, &reg);
    last_output = mq;
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    o.sinks = &reg;
    o.sink_count = 1;
    plcio_sync *s;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK || plcio_mqtt_start(mq, s, &err) != PLCIO_OK) {
        fprintf(stderr, "engine: %s\n", err.text);
        exit(1);
    }
    /* config and output stay until exit: this process ends after the bench */
    return s;
}

static long long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* 3. The broker away for `seconds` while every tag changes every round, then
 * back: into the queue (memory only, or with the queue file) and out again. */
static void spool_bench(plcio_s7_server **servers, char *yaml, size_t base, size_t cap, double seconds, int qos,
                        uint32_t *round)
{
    int port = bn_free_port();
    char qpath[160];
    snprintf(qpath, sizeof qpath, "%s/spool.q", tmpdir);
    printf("3. broker away for %.0f s (10,000 tags changing at 10 Hz: 100,000 messages/s offered, queue 2,000,000), "
           "then back; QoS %d\n",
           seconds, qos);
    for (int with_file = 0; with_file < 2; with_file++) {
        snprintf(yaml + base, cap - base,
                 "outputs:\n  - mqtt: {url: \"mqtt://127.0.0.1:%d\", qos: %d, queue: 2000000%s}\n", port, qos,
                 with_file ? ", queue-file: spool.q" : "");
        (void)remove(qpath);
        plcio_sync *s = engine(yaml);
        uint64_t t0 = plcio_monotonic_ns(), stop = t0 + (uint64_t)(seconds * 1e9), next = t0;
        double c0 = thread_cpu_s();
        uint64_t longest = 0; /* the longest loop round: what a write or fdatasync stalls the engine */
        while (plcio_monotonic_ns() < stop) {
            if (plcio_monotonic_ns() >= next) {
                set_all(servers, ++*round);
                next += CHANGE_NS;
            }
            uint64_t r0 = plcio_monotonic_ns();
            plcio_sync_run_once(s, 1);
            uint64_t took = plcio_monotonic_ns() - r0;
            if (took > longest) longest = took;
        }
        double cpu = thread_cpu_s() - c0, el = (double)(plcio_monotonic_ns() - t0) / 1e9;
        plcio_mqtt_stats st;
        plcio_mqtt_get_stats(last_output, &st);
        size_t queued = st.queued;
        printf("  %-17s into the queue: %.0f messages/s, engine thread CPU %.0f%% of a core, %.2f ms per 1000 "
               "messages (polling included); %zu queued, %llu dropped",
               with_file ? "with queue-file:" : "memory only:", (double)queued / el, 100 * cpu / el,
               queued ? cpu / ((double)queued / 1000) * 1e3 : 0.0, queued, (unsigned long long)st.dropped);
        printf(", longest loop round %.1f ms", (double)longest / 1e6);
        if (with_file)
            printf(", file %.1f MB (%.0f bytes per message)", (double)file_size(qpath) / 1e6,
                   queued ? (double)file_size(qpath) / (double)queued : 0.0);
        printf("\n");
        /* the broker back, the tags still: the backlog drains */
        pid_t broker = start_broker(port);
        t0 = plcio_monotonic_ns();
        c0 = thread_cpu_s();
        uint64_t limit = t0 + 120000ull * PLCIO_NS_PER_MS;
        longest = 0;
        do {
            uint64_t r0 = plcio_monotonic_ns();
            plcio_sync_run_once(s, 5);
            uint64_t took = plcio_monotonic_ns() - r0;
            if (took > longest) longest = took;
            plcio_mqtt_get_stats(last_output, &st);
        } while (st.queued && plcio_monotonic_ns() < limit);
        /* the file empties at its next flush after the last acknowledgement */
        uint64_t flush_until = plcio_monotonic_ns() + 500 * PLCIO_NS_PER_MS;
        while (with_file && file_size(qpath) > 24 && plcio_monotonic_ns() < flush_until)
            plcio_sync_run_once(s, 5);
        cpu = thread_cpu_s() - c0;
        el = (double)(plcio_monotonic_ns() - t0) / 1e9;
        printf("  %-17s broker back: %zu messages drained in %.1f s: %.0f messages/s, engine thread CPU %.2f ms per "
               "1000%s",
               "", queued - st.queued, el, (double)(queued - st.queued) / el,
               queued ? cpu / ((double)queued / 1000) * 1e3 : 0.0, st.queued ? " (NOT all: time limit)" : "");
        printf(", longest loop round %.1f ms", (double)longest / 1e6);
        if (with_file) printf(", file then %lld bytes", file_size(qpath));
        printf("\n");
        plcio_sync_free(s);
        kill(broker, SIGTERM);
        waitpid(broker, NULL, 0);
    }
    (void)remove(qpath);
}

/* The simulators, the configuration and the temporary files gone: main's end. */
static int finish(plcio_s7_server **servers, char *yaml)
{
    char path[128];
    for (int i = 0; i < DEVICES; i++)
        plcio_s7_server_free(servers[i]);
    free(yaml);
    free(lat_ms);
    snprintf(path, sizeof path, "%s/line.db", tmpdir);
    (void)remove(path);
    snprintf(path, sizeof path, "%s/mosquitto.conf", tmpdir);
    (void)remove(path);
    (void)rmdir(tmpdir);
    mosquitto_lib_cleanup();
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int qos = argc > 2 ? atoi(argv[2]) : 1;
    bool group = argc > 3 && !strcmp(argv[3], "group");
    sparkplug = argc > 3 && !strcmp(argv[3], "sparkplug");
    bool spool_only = argc > 3 && !strcmp(argv[3], "spool");
    const char *layout = group       ? ", per-tag: false, group-topic: \"plcio/{device}/{group}\""
                         : sparkplug ? ", format: sparkplug, sparkplug: {group: bench, node: engine}"
                                     : "";
    if (access("/usr/sbin/mosquitto", X_OK) != 0) {
        printf("bench_mqtt: skipped (no /usr/sbin/mosquitto: scripts/bootstrap.sh installs it)\n");
        return 0;
    }
    (void)signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/plcio-bench-mqtt-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    lat_ms = malloc(MAX_SAMPLES * sizeof *lat_ms);
    char path[128];
    snprintf(path, sizeof path, "%s/line.db", tmpdir);
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    fprintf(f,
            "DATA_BLOCK \"Line\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
            "      T : Array[0..%d] of DInt;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
            TAGS_PER_DEVICE - 1);
    if (fclose(f) != 0) return 1;
    plcio_s7_server *servers[DEVICES];
    int mport = bn_free_port();
    pid_t broker = start_broker(mport);
    size_t cap = 8192, n = 0;
    char *yaml = malloc(cap);
    n += (size_t)snprintf(yaml + n, cap - n, "layouts: [line.db]\ndevices:\n");
    for (int i = 0; i < DEVICES; i++) {
        plcio_s7_server_options c;
        plcio_s7_server_options_init(&c);
        c.port = 0;
        if (plcio_s7_server_new(&c, &servers[i], NULL) ||
            plcio_s7_server_add_area(servers[i], PLCIO_S7_SERVER_AREA_DB, 1, (size_t)TAGS_PER_DEVICE * 4, NULL) ||
            plcio_s7_server_start(servers[i])) {
            fprintf(stderr, "bench_mqtt: cannot start simulator %d\n", i);
            exit(1);
        }
        n += (size_t)snprintf(yaml + n, cap - n,
                              "  - {name: plc%d, url: \"s7://127.0.0.1:%d?rack=0&slot=1\", groups: [{db: 1, interval: "
                              "%dms}]}\n",
                              i, plcio_s7_server_port(servers[i]), POLL_MS);
    }
    size_t base = n;
    uint32_t round = 0;
    if (spool_only) {
        kill(broker, SIGTERM);
        waitpid(broker, NULL, 0);
        spool_bench(servers, yaml, base, cap, argc > 1 ? seconds : 2.0, qos, &round);
        return finish(servers, yaml);
    }
    struct mosquitto *sub = subscriber(mport);
    snprintf(yaml + n, cap - n, "outputs:\n  - mqtt: {url: \"mqtt://127.0.0.1:%d\", qos: %d%s}\n", mport, qos, layout);
    plcio_sync *s = engine(yaml);

    printf("1. %d tags (%d simulators x %d DINT) changing at 10 Hz, polled every %d ms, QoS %d, %s, %.0f s\n",
           DEVICES * TAGS_PER_DEVICE, DEVICES, TAGS_PER_DEVICE, POLL_MS, qos,
           group       ? "one JSON document per device and round"
           : sparkplug ? "Sparkplug B: one DDATA per device and round"
                       : "one message per tag",
           seconds);
    atomic_store(&received_bytes, 0);
    atomic_store(&received_msgs, 0);
    uint64_t start = plcio_monotonic_ns(), settle = start + 1000 * PLCIO_NS_PER_MS, next = settle;
    double c0 = 0;
    unsigned long long r0 = 0;
    uint64_t t0 = 0, end = settle + (uint64_t)(seconds * 1e9);
    while (plcio_monotonic_ns() < end + 500 * PLCIO_NS_PER_MS) {
        uint64_t now = plcio_monotonic_ns();
        if (now >= next && now < end && round + 1 < MAX_ROUNDS) {
            if (!t0) {
                t0 = now;
                c0 = thread_cpu_s();
                r0 = atomic_load(&received);
                atomic_store(&samples, 0);
            }
            round++;
            change_ns[round] = plcio_monotonic_ns();
            set_all(servers, round);
            next += CHANGE_NS;
        }
        plcio_sync_run_once(s, 1);
    }
    double cpu = thread_cpu_s() - c0, elapsed = (double)(plcio_monotonic_ns() - t0) / 1e9;
    unsigned long long got = atomic_load(&received) - r0;
    size_t ns = atomic_load(&samples);
    if (ns > MAX_SAMPLES) ns = MAX_SAMPLES;
    qsort(lat_ms, ns, sizeof *lat_ms, cmp);
    unsigned long long want = (unsigned long long)round * DEVICES * TAGS_PER_DEVICE;
    printf("  %llu of %llu changes arrived at the subscriber: %.0f tag updates/s (offered 100000/s)\n", got, want,
           (double)got / elapsed);
    plcio_mqtt_stats st;
    plcio_mqtt_get_stats(last_output, &st);
    double updates = (double)st.published * (group || sparkplug ? TAGS_PER_DEVICE : 1);
    printf("  engine thread CPU %.0f%% of one core (polling 10 devices and publishing): %.0f us per 1000 updates "
           "published\n",
           100 * cpu / elapsed, updates > 0 ? cpu / (updates / 1000) * 1e6 : 0.0);
    if (ns)
        printf("  change in the simulator -> subscriber: p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < %d ms)\n",
               lat_ms[ns / 2], lat_ms[ns * 99 / 100], lat_ms[ns - 1], 2 * POLL_MS + 5);
    unsigned long long bytes = atomic_load(&received_bytes), msgs = atomic_load(&received_msgs);
    printf("  payload at the subscriber: %llu bytes in %llu messages, %.1f bytes per tag update\n", bytes, msgs,
           got ? (double)bytes / (double)got : 0.0);
    printf("  the engine: %llu messages taken by the broker, %zu still queued (peak %zu), %llu dropped\n",
           (unsigned long long)st.published, st.queued, st.queue_peak, (unsigned long long)st.dropped);
    plcio_sync_free(s);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, true);
    mosquitto_destroy(sub);

    /* 2. the broker away: how much memory a full queue takes */
    kill(broker, SIGTERM);
    waitpid(broker, NULL, 0);
    snprintf(yaml + base, cap - base, "outputs:\n  - mqtt: {url: \"mqtt://127.0.0.1:%d\", qos: %d}\n", bn_free_port(),
             qos);
    long rss0 = rss_kib();
    s = engine(yaml);
    uint64_t stop = plcio_monotonic_ns() + 3000 * PLCIO_NS_PER_MS;
    next = plcio_monotonic_ns();
    while (plcio_monotonic_ns() < stop) {
        if (plcio_monotonic_ns() >= next) {
            set_all(servers, ++round);
            next += CHANGE_NS;
        }
        plcio_sync_run_once(s, 1);
    }
    printf("2. broker away for 3 s, 100 000 changes/s: resident memory +%ld KiB with the queue full "
           "(100000 messages, the default bound; the rest dropped and counted)\n",
           rss_kib() - rss0);
    plcio_sync_free(s);
    return finish(servers, yaml);
}
