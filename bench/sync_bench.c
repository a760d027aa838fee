/* The sync engine's figures (issue 7), in one run, on loopback:
 *
 * 1. A 64 KiB DB (65532 bytes, 16383 DINT tags) mirrored into shared memory:
 *    the highest cycle rate of plcio's engine (1 ms interval, as fast as it
 *    goes) next to the naive loop the original DB-sync tool runs (snap7's client
 *    reads the whole DB with Cli_DBRead, again and again), both against snap7's
 *    server; plcio's engine also against plcio's own server.
 * 2. 10,000 tags across 10 devices (plcio simulators, 1000 REAL each) at 100 Hz:
 *    cycles achieved, late cycles, and the engine thread's CPU use.
 * 3. CPU time per 1000 tag updates, snapshot read latency, resident memory.
 * Targets: >= 20x the naive loop on the 64 KiB DB; 10,000 tags / 10 devices at
 * 100 Hz on one core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/s7_server.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "snap7_api.h"
#include "bench_engine.h"
#include "bench_net.h"

#define BIG_TAGS        16383u /* DINT: 65532 bytes */
#define BIG_BYTES       (BIG_TAGS * 4u)
#define RUN_SECONDS     3.0
#define DEVICES         10
#define TAGS_PER_DEVICE 1000

static char tmpdir[64];

static void write_layout(const char *file, const char *source)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, file);
    FILE *f = fopen(path, "w");
    if (!f || fputs(source, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* After the measurement of the many-devices run: the snapshot read latency
 * of a reader while the engine still publishes. */
static void snapshot_latency(plcio_sync *s, const bench_engine_run *r, void *ctx)
{
    (void)ctx;
    plcio_shm_reader *reader = NULL;
    plcio_error msg = {0};
    if (plcio_shm_reader_new(plcio_sync_shm_name(s), &reader, &msg) != PLCIO_OK) return;
    enum { N = 2000 };
    static double lat[N];
    for (int i = 0; i < N; i++) {
        plcio_sync_run_once(s, 0);
        double a = now_s();
        plcio_shm_reader_refresh(reader);
        lat[i] = now_s() - a;
    }
    double sum = 0, max = 0;
    for (int i = 0; i < N; i++) {
        sum += lat[i];
        if (lat[i] > max) max = lat[i];
    }
    printf("  snapshot read (copy of a consistent %zu-tag snapshot): avg %.1f us, max %.1f us\n", r->tags,
           sum / N * 1e6, max * 1e6);
    plcio_shm_reader_free(reader);
}

/* Run an engine from YAML for RUN_SECONDS into shared memory shm; sum the
 * figures of its groups; after (NULL: none) runs before the engine stops. */
static int run_engine(const char *yaml, const char *shm, bench_engine_run *out,
                      void (*after)(plcio_sync *, const bench_engine_run *, void *))
{
    bench_engine_options o = {.base_dir = tmpdir, .shm_name = shm, .seconds = RUN_SECONDS, .after = after};
    return bench_run_engine(yaml, &o, out);
}

static double naive_snap7(int port)
{
    S7Object c = Cli_Create();
    uint16_t p16 = (uint16_t)port;
    Cli_SetParam(c, P_U16_REMOTE_PORT, &p16);
    if (Cli_ConnectTo(c, "127.0.0.1", 0, 1)) {
        fprintf(stderr, "snap7 client cannot connect\n");
        Cli_Destroy(&c);
        return 0;
    }
    static uint8_t buf[BIG_BYTES];
    unsigned n = 0;
    double t0 = now_s();
    while (now_s() - t0 < RUN_SECONDS) {
        if (Cli_DBRead(c, 1, 0, (int)BIG_BYTES, buf) != 0) break;
        n++;
    }
    double rate = n / (now_s() - t0);
    Cli_Disconnect(c);
    Cli_Destroy(&c);
    return rate;
}

static plcio_s7_server *plcio_server(int *port, uint16_t db, size_t size)
{
    plcio_s7_server_options c;
    plcio_s7_server_options_init(&c);
    c.port = 0;
    plcio_s7_server *s;
    if (plcio_s7_server_new(&c, &s, NULL) || plcio_s7_server_add_area(s, PLCIO_S7_SERVER_AREA_DB, db, size, NULL) ||
        plcio_s7_server_start(s)) {
        fprintf(stderr, "plcio server failed\n");
        exit(1);
    }
    *port = plcio_s7_server_port(s);
    return s;
}

static void big_db(void)
{
    char source[512], yaml[512], shm[64];
    snprintf(source, sizeof source,
             "DATA_BLOCK \"Big\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
             "      Data : Array[0..%u] of DInt;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
             BIG_TAGS - 1);
    write_layout("big.db", source);
    snprintf(shm, sizeof shm, "/plcio-bench-big-%d", (int)getpid());

    /* snap7's server */
    static uint8_t db[BIG_BYTES];
    for (size_t i = 0; i < sizeof db; i++)
        db[i] = (uint8_t)i;
    int port = bn_free_port();
    uint16_t p16 = (uint16_t)port;
    S7Object srv = Srv_Create();
    Srv_SetParam(srv, P_U16_LOCAL_PORT, &p16);
    Srv_RegisterArea(srv, SRV_AREA_DB, 1, db, (int)sizeof db);
    if (Srv_StartTo(srv, "127.0.0.1")) {
        fprintf(stderr, "snap7 server did not start\n");
        exit(1);
    }
    printf("1. a 64 KiB DB (%u bytes, %u DINT tags) into shared memory, %.0f s each\n", BIG_BYTES, BIG_TAGS,
           RUN_SECONDS);
    double naive = naive_snap7(port);
    printf("  naive loop, snap7 client Cli_DBRead of the whole DB (snap7 server): %8.1f cycles/s\n", naive);
    snprintf(yaml, sizeof yaml,
             "layouts: [big.db]\ndevices:\n  - url: \"s7://127.0.0.1:%d?rack=0&slot=1\"\n"
             "    groups: [{db: 1, interval: 1ms}]\n",
             port);
    bench_engine_run r;
    if (run_engine(yaml, shm, &r, NULL) == 0) {
        printf("  plcio sync engine                                    (snap7 server): %8.1f cycles/s  = %.1fx naive"
               " (target 20x)\n",
               r.cycles_per_s, naive > 0 ? r.cycles_per_s / naive : 0);
        printf("     engine thread CPU %.0f%%, %.2f us CPU per 1000 tag updates\n", 100 * r.cpu_s / r.elapsed_s,
               r.updates ? r.cpu_s / ((double)r.updates / 1000) * 1e6 : 0);
    }
    Srv_Stop(srv);
    Srv_Destroy(&srv);

    /* plcio's server */
    plcio_s7_server *ours = plcio_server(&port, 1, (size_t)BIG_BYTES);
    snprintf(yaml, sizeof yaml,
             "layouts: [big.db]\ndevices:\n  - url: \"s7://127.0.0.1:%d?rack=0&slot=1\"\n"
             "    groups: [{db: 1, interval: 1ms}]\n",
             port);
    double naive_ours = naive_snap7(port);
    printf("  naive loop, snap7 client Cli_DBRead of the whole DB (plcio server): %8.1f cycles/s\n", naive_ours);
    if (run_engine(yaml, shm, &r, NULL) == 0)
        printf("  plcio sync engine                                    (plcio server): %8.1f cycles/s  = %.1fx naive\n",
               r.cycles_per_s, naive_ours > 0 ? r.cycles_per_s / naive_ours : 0);
    plcio_s7_server_free(ours);
}

static void many_devices(void)
{
    char source[512], shm[64];
    snprintf(source, sizeof source,
             "DATA_BLOCK \"Line\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
             "      T : Array[0..%d] of Real;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
             TAGS_PER_DEVICE - 1);
    write_layout("line.db", source);
    snprintf(shm, sizeof shm, "/plcio-bench-many-%d", (int)getpid());
    plcio_s7_server *servers[DEVICES];
    size_t cap = 8192, n = 0;
    char *yaml = malloc(cap);
    n += (size_t)snprintf(yaml + n, cap - n, "layouts: [line.db]\ndevices:\n");
    for (int i = 0; i < DEVICES; i++) {
        int port;
        servers[i] = plcio_server(&port, 1, (size_t)TAGS_PER_DEVICE * 4);
        n += (size_t)snprintf(
            yaml + n, cap - n,
            "  - {name: plc%d, url: \"s7://127.0.0.1:%d?rack=0&slot=1\", groups: [{db: 1, interval: 10ms}]}\n", i,
            port);
    }
    printf("2. %d tags across %d devices (plcio simulators) at 100 Hz, %.0f s\n", DEVICES * TAGS_PER_DEVICE, DEVICES,
           RUN_SECONDS);
    bench_engine_run r;
    if (run_engine(yaml, shm, &r, snapshot_latency) == 0) {
        printf(
            "  %.1f cycles/s per device (target 100), %.0f late cycles in all, engine thread CPU %.0f%% of one core\n",
            r.cycles_per_s, r.late, 100 * r.cpu_s / r.elapsed_s);
        printf("  %.2f us CPU per 1000 tag updates (%llu updates)\n",
               r.updates ? r.cpu_s / ((double)r.updates / 1000) * 1e6 : 0, (unsigned long long)r.updates);
    }
    printf("  resident memory of this process (engine + 10 simulators): %ld KiB\n", rss_kib());
    for (int i = 0; i < DEVICES; i++)
        plcio_s7_server_free(servers[i]);
    free(yaml);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/plcio-bench-sync-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    big_db();
    many_devices();
    char path[128];
    snprintf(path, sizeof path, "%s/big.db", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/line.db", tmpdir);
    unlink(path);
    rmdir(tmpdir);
    return 0;
}
