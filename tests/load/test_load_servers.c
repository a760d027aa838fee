/* Load: 200 concurrent clients against plcio's S7 server (`plcio sim s7`) and
 * Modbus TCP server (`plcio sim modbus`), each a separate process, for
 * PLCIO_LOAD_SECONDS (default 5). Every client owns its own region (16 bytes
 * of DB1 / 10 holding registers) and alternates writes of a new pattern with
 * reads that must return exactly that pattern, plus reads of a whole
 * region by the single-item and the multi-item path. Checked: no request
 * fails, every answer has the expected content, the server's resident memory
 * (VmRSS) does not grow between the first quarter and the end, and the
 * server exits cleanly at the end (under ASan: no leak, no error). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/s7.h"
#include "plcio_test.h"

#define CLIENTS   200
#define S7_REGION 16
#define MB_REGION 10
/* Growth allowed between the RSS sample after warm-up and the last one: far
 * below what a per-request or per-connection leak would add over 100k+
 * requests, above allocator noise (ASan's allocator caches included). */
#define RSS_SLACK_KB 6144

typedef struct load_client {
    pthread_t thread;
    int index;
    int port;
    uint64_t end_ns;
    unsigned long requests;
    unsigned long failures;
    unsigned long mismatches;
    char first_error[200];
} load_client;

static double load_seconds(void)
{
    const char *v = getenv("PLCIO_LOAD_SECONDS");
    double s = v ? atof(v) : 5.0;
    return s > 0.5 ? s : 0.5;
}

static long vm_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    (void)fclose(f); /* read-only */
    return kb;
}

static void note_failure(load_client *lc, const char *what, int rc)
{
    if (!lc->failures++ && !lc->first_error[0])
        snprintf(lc->first_error, sizeof lc->first_error, "client %d: %s: %s", lc->index, what, plcio_strerror(rc));
}

static void note_mismatch(load_client *lc, const char *what, unsigned long round)
{
    if (!lc->mismatches++ && !lc->first_error[0])
        snprintf(lc->first_error, sizeof lc->first_error, "client %d: %s: wrong content in round %lu", lc->index, what,
                 round);
}

/* ---------------------------------------------------------------- S7 --- */

static void s7_pattern(uint8_t *p, int index, unsigned long round)
{
    for (int i = 0; i < S7_REGION; i++)
        p[i] = (uint8_t)(index * 31 + (int)round * 7 + i);
}

static void *s7_client_main(void *arg)
{
    load_client *lc = arg;
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = lc->port;
    o.connect_timeout_ms = 20000; /* a loaded machine must not fail the test */
    o.timeout_ms = 20000;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    int rc = c ? plcio_s7_client_connect(c) : PLCIO_ENOMEM;
    if (rc) {
        note_failure(lc, "connect", rc);
        plcio_s7_client_free(c);
        return NULL;
    }
    uint32_t start = (uint32_t)(lc->index * S7_REGION);
    uint8_t want[S7_REGION], got[S7_REGION];
    for (unsigned long round = 1; plcio_monotonic_ns() < lc->end_ns; round++) {
        s7_pattern(want, lc->index, round);
        rc = plcio_s7_client_write_area(c, PLCIO_S7_AREA_DB, 1, start, S7_REGION, want);
        lc->requests++;
        if (rc) {
            note_failure(lc, "write", rc);
            break;
        }
        memset(got, 0, sizeof got);
        rc = plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, start, S7_REGION, got);
        lc->requests++;
        if (rc) {
            note_failure(lc, "read", rc);
            break;
        }
        if (memcmp(got, want, sizeof want) != 0) note_mismatch(lc, "read_area", round);
        /* two items in one request: both halves of the region */
        uint8_t a[S7_REGION / 2] = {0}, b[S7_REGION / 2] = {0};
        plcio_s7_var vars[2] = {
            {.area = PLCIO_S7_AREA_DB, .db = 1, .start = start, .size = S7_REGION / 2, .bit = -1, .data = a},
            {.area = PLCIO_S7_AREA_DB,
             .db = 1,
             .start = start + S7_REGION / 2,
             .size = S7_REGION / 2,
             .bit = -1,
             .data = b},
        };
        rc = plcio_s7_client_read_vars(c, vars, 2);
        lc->requests++;
        if (rc || vars[0].result || vars[1].result) {
            note_failure(lc, "read_vars", rc ? rc : PLCIO_EPROTO);
            break;
        }
        if (memcmp(a, want, sizeof a) != 0 || memcmp(b, want + sizeof a, sizeof b) != 0)
            note_mismatch(lc, "read_vars", round);
    }
    plcio_s7_client_free(c);
    return NULL;
}

/* ------------------------------------------------------------ Modbus --- */

static void mb_pattern(uint16_t *p, int index, unsigned long round)
{
    for (int i = 0; i < MB_REGION; i++)
        p[i] = (uint16_t)(index * 1000 + (int)(round % 997) * 13 + i);
}

static void *mb_client_main(void *arg)
{
    load_client *lc = arg;
    char url[80];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1&timeout=20000", lc->port);
    int err = 0;
    plcio_modbus_client *c = NULL;
    err = plcio_modbus_client_new(url, NULL, &c, NULL);
    int rc = c ? plcio_modbus_client_connect(c) : err;
    if (rc) {
        note_failure(lc, "connect", rc);
        plcio_modbus_client_free(c);
        return NULL;
    }
    uint16_t addr = (uint16_t)(lc->index * MB_REGION);
    uint16_t want[MB_REGION], got[MB_REGION];
    for (unsigned long round = 1; plcio_monotonic_ns() < lc->end_ns; round++) {
        mb_pattern(want, lc->index, round);
        rc = plcio_modbus_write_registers(c, 1, addr, MB_REGION, want);
        lc->requests++;
        if (rc) {
            note_failure(lc, "write_registers", rc);
            break;
        }
        memset(got, 0, sizeof got);
        rc = plcio_modbus_read_holding_registers(c, 1, addr, MB_REGION, got);
        lc->requests++;
        if (rc) {
            note_failure(lc, "read_holding_registers", rc);
            break;
        }
        if (memcmp(got, want, sizeof want) != 0) note_mismatch(lc, "read_holding_registers", round);
        /* single-register write, then FC 23 writes one and reads all */
        want[0] = (uint16_t)~want[0];
        rc = plcio_modbus_write_register(c, 1, addr, want[0]);
        lc->requests++;
        if (rc) {
            note_failure(lc, "write_register", rc);
            break;
        }
        want[MB_REGION - 1] = (uint16_t)(round & 0xFFFF);
        memset(got, 0, sizeof got);
        rc = plcio_modbus_read_write_registers(c, 1, addr, MB_REGION, got, (uint16_t)(addr + MB_REGION - 1), 1,
                                               &want[MB_REGION - 1]);
        lc->requests++;
        if (rc) {
            note_failure(lc, "read_write_registers", rc);
            break;
        }
        if (memcmp(got, want, sizeof want) != 0) note_mismatch(lc, "read_write_registers", round);
    }
    plcio_modbus_client_free(c);
    return NULL;
}

/* ------------------------------------------------------------ driver --- */

/* A new client after the load: connects and reads client 0's region. */
static int s7_probe(int port)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    int rc = c ? plcio_s7_client_connect(c) : PLCIO_ENOMEM;
    if (!rc) {
        uint8_t buf[S7_REGION];
        rc = plcio_s7_client_read_area(c, PLCIO_S7_AREA_DB, 1, 0, S7_REGION, buf);
    }
    plcio_s7_client_free(c);
    return rc;
}

static int mb_probe(int port)
{
    char url[80];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", port);
    int err = 0;
    plcio_modbus_client *c = NULL;
    err = plcio_modbus_client_new(url, NULL, &c, NULL);
    int rc = c ? plcio_modbus_client_connect(c) : err;
    if (!rc) {
        uint16_t regs[MB_REGION];
        rc = plcio_modbus_read_holding_registers(c, 1, 0, MB_REGION, regs);
    }
    plcio_modbus_client_free(c);
    return rc;
}

/* The server under load, stopped by the teardown on every path. */
static plcio_test_proc load_server = {0, -1, ""};

static int stop_server(void **state)
{
    (void)state;
    plcio_test_proc_stop(&load_server);
    return 0;
}

static void run_load(const char *const *argv, void *(*client_main)(void *), int (*probe)(int), const char *what)
{
    double seconds = load_seconds();
    char server_seconds[32];
    snprintf(server_seconds, sizeof server_seconds, "%d", (int)seconds + 3);
    const char *full[24];
    size_t n = 0;
    for (; n < 20 && argv[n]; n++)
        full[n] = argv[n];
    full[n++] = "--seconds";
    full[n++] = server_seconds;
    full[n] = NULL;
    argv = full;
    plcio_test_proc *srvp = &load_server; /* stopped by the teardown on every path */
    assert_int_equal(plcio_test_proc_start(srvp, argv, "listening on ", 20000, (int)seconds + 120), 0);
    int port = plcio_test_port_from_line(srvp->line);
    assert_true(port > 0);

    static load_client clients[CLIENTS];
    memset(clients, 0, sizeof clients);
    uint64_t t0 = plcio_monotonic_ns();
    uint64_t end = t0 + (uint64_t)(seconds * 1e9);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)512 * 1024);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = (load_client){.index = i, .port = port, .end_ns = end};
        assert_int_equal(pthread_create(&clients[i].thread, &attr, client_main, &clients[i]), 0);
    }
    pthread_attr_destroy(&attr);
    /* RSS after warm-up (a quarter of the run: every client connected and
     * going), then at the end. */
    long rss_warm = -1, rss_end = -1, rss_max = 0;
    while (plcio_monotonic_ns() < end) {
        plcio_test_sleep_ms(100);
        long kb = vm_rss_kb(srvp->pid);
        if (kb > rss_max) rss_max = kb;
        if (rss_warm < 0 && plcio_monotonic_ns() >= t0 + (end - t0) / 4) rss_warm = kb;
        rss_end = kb;
    }
    unsigned long requests = 0, failures = 0, mismatches = 0;
    const char *first = NULL;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(clients[i].thread, NULL);
        requests += clients[i].requests;
        failures += clients[i].failures;
        mismatches += clients[i].mismatches;
        if (!first && clients[i].first_error[0]) first = clients[i].first_error;
    }
    double took = (double)(plcio_monotonic_ns() - t0) / 1e9;
    printf("load %s: %d clients, %.1f s, %lu requests (%.0f/s), %lu failures, %lu wrong answers, "
           "server VmRSS %ld kB after warm-up, %ld kB at the end, %ld kB max\n",
           what, CLIENTS, took, requests, (double)requests / took, failures, mismatches, rss_warm, rss_end, rss_max);
    fflush(stdout);
    if (first) printf("first error: %s\n", first);
    /* Still serving after the load; then it ends by itself (--seconds) with
     * status 0: under ASan that also means no leak and no error. */
    int probe_rc = probe(port);
    int code = plcio_test_proc_wait(srvp, 60000);
    if (code != 0) printf("server exit status %d\n", code);
    assert_int_equal(probe_rc, PLCIO_OK);
    assert_int_equal(code, 0);
    assert_int_equal(failures, 0);
    assert_int_equal(mismatches, 0);
    assert_true(requests >= CLIENTS * 2ul);
    assert_true(rss_warm > 0 && rss_end > 0);
    assert_true(rss_end - rss_warm <= RSS_SLACK_KB);
}

static const char *bin(void)
{
    const char *b = getenv("PLCIO_BIN");
    if (!b) fail_msg("PLCIO_BIN is not set");
    return b;
}

static void test_s7_server_load(void **state)
{
    (void)state;
    char db[32];
    snprintf(db, sizeof db, "1:%d", CLIENTS * S7_REGION);
    const char *argv[] = {bin(), "sim", "s7", "--listen", "127.0.0.1:0", "--db", db, "--max-connections", "400", NULL};
    run_load(argv, s7_client_main, s7_probe, "s7");
}

static void test_modbus_server_load(void **state)
{
    (void)state;
    const char *argv[] = {bin(), "sim", "modbus", "--tcp", "127.0.0.1:0", "--unit", "1", "--size", "10000", NULL};
    run_load(argv, mb_client_main, mb_probe, "modbus-tcp");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_s7_server_load, stop_server),
        cmocka_unit_test_teardown(test_modbus_server_load, stop_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
