/* The sync engine end to end over S7: snap7's server (node-snap7, foreign) and
 * our own simulator (`plcio sim s7`, killed and restarted mid-run), values in
 * shared memory, writes by name (engine API and the shm ring) that change only
 * their own bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/plcio.h"
#include "plcio/s7.h"
#include "plcio/s7_server.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio_test.h"
#include "sync_wait.h"

typedef struct ctx {
    plcio_test_proc server;
    plcio_s7_server *own; /* in-process server, run_once mode */
    int port;
    plcio_sync_config *cfg;
    plcio_sync *sync;
    plcio_shm_reader *reader;
    char shm[64];
    char dir[64];
} ctx;

static plcio_s7_client *client_for(int port)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    o.host = "127.0.0.1";
    o.port = port;
    plcio_s7_client *c = NULL;
    (void)plcio_s7_client_new(NULL, &o, &c, NULL);
    assert_non_null(c);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    return c;
}

/* The YAML with @PORT@ replaced by the server's port. */
static void start_engine_logged(ctx *c, const char *yaml_template, const plcio_logger *logger)
{
    char yaml[2048];
    plcio_error err = {0};
    const char *at = strstr(yaml_template, "@PORT@");
    assert_non_null(at);
    snprintf(yaml, sizeof yaml, "%.*s%d%s", (int)(at - yaml_template), yaml_template, c->port, at + 6);
    snprintf(c->shm, sizeof c->shm, "/plcio-test-sync-s7-%d", (int)getpid());
    if (plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", c->dir, &c->cfg, &err) != PLCIO_OK)
        fail_msg("config: %s", err.text);
    plcio_sync_options o = {0};
    o.shm_name = c->shm;
    if (logger) {
        o.logger = *logger;
    } else if (getenv("PLCIO_TEST_LOG")) {
        o.logger.fn = plcio_log_to_stream;
        o.logger.level = PLCIO_LOG_DEBUG;
    }
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(c->shm, &c->reader, &msg), PLCIO_OK);
}

static void start_engine(ctx *c, const char *yaml_template) { start_engine_logged(c, yaml_template, NULL); }

static void stop_engine(ctx *c)
{
    plcio_shm_reader_free(c->reader);
    plcio_sync_free(c->sync);
    plcio_sync_config_free(c->cfg);
    c->reader = NULL;
    c->sync = NULL;
    c->cfg = NULL;
}

static plcio_shm_value wait_for(ctx *c, const char *name, plcio_shm_quality q, const char *text)
{
    return plcio_test_sync_wait(c->sync, c->reader, name, q, text, 10000);
}

static void engine_write(ctx *c, const char *tag, const char *text, int want)
{
    plcio_test_write r;
    int rc = plcio_test_sync_write(c->sync, tag, text, 0, 10000, &r);
    if (rc != want) fail_msg("write %s=%s: %d (%s), want %d", tag, text, rc, r.msg, want);
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->server.stdout_fd = -1; /* a test that starts no process must not make the teardown close fd 0 */
    *state = c;
    return 0;
}

/* Runs even when a test failed half-way: nothing it started outlives it. */
static int teardown(void **state)
{
    ctx *c = *state;
    stop_engine(c);
    plcio_test_proc_stop(&c->server);
    plcio_s7_server_free(c->own);
    if (c->dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/tank.db", c->dir);
        unlink(path);
        rmdir(c->dir);
    }
    free(c);
    return 0;
}

static void test_snap7_server(void **state)
{
    ctx *c = *state;
    char script[4096];
    snprintf(script, sizeof script, "%s/../s7_snap7_server.js", plcio_test_node_modules());
    const char *argv[] = {"node", script, "--seconds", "120", NULL};
    assert_int_equal(plcio_test_proc_start(&c->server, argv, "listening on", 20000, 150), 0);
    c->port = plcio_test_port_from_line(c->server.line);
    start_engine(c, "devices:\n"
                    "  - name: snap7\n"
                    "    url: s7://127.0.0.1:@PORT@?rack=0&slot=1\n"
                    "    groups:\n"
                    "      - interval: 10ms\n"
                    "        tags:\n"
                    "          - {address: DB1.DBW0:INT, name: counter}\n"
                    "          - {address: DB1.DBD2:REAL, name: level}\n"
                    "          - {address: DB1.DBX10.1, name: flag}\n"
                    "          - {address: MB5, name: mb5}\n"
                    "          - {address: DB3.DBD0:REAL, name: setpoint}\n"
                    "          - {address: DB3.DBX4.3, name: bit3}\n"
                    "          - {address: DB3.DBX4.7, name: bit7}\n"
                    "          - {address: DB9.DBW0:INT, name: missing}\n"
                    "          - {address: DB1.DBD96:REAL, name: edge}\n"
                    "          - {address: DB1.DBD98:REAL, name: beyond}\n");
    wait_for(c, "counter", PLCIO_SHM_QUALITY_GOOD, "1234");
    wait_for(c, "level", PLCIO_SHM_QUALITY_GOOD, "3.5");
    wait_for(c, "flag", PLCIO_SHM_QUALITY_GOOD, "true"); /* byte 10 = 0x0A */
    wait_for(c, "mb5", PLCIO_SHM_QUALITY_GOOD, "5");
    /* A DB the server does not have: that tag alone is in error, with the PLC's reason. */
    plcio_shm_value v = wait_for(c, "missing", PLCIO_SHM_QUALITY_ERROR, NULL);
    assert_int_not_equal(v.error, PLCIO_OK);
    /* DB1 is 100 bytes: "beyond" (98..101) is refused. It was merged with "edge"
     * (96..99) into one item; the plan then splits, so "edge" turns good. */
    wait_for(c, "beyond", PLCIO_SHM_QUALITY_ERROR, NULL);
    wait_for(c, "edge", PLCIO_SHM_QUALITY_GOOD, NULL);
    wait_for(c, "counter", PLCIO_SHM_QUALITY_GOOD, "1234");

    plcio_s7_client *cl = client_for(c->port);
    uint8_t pattern[8] = {0x11, 0x22, 0x33, 0x44, 0xF0, 0x55, 0x66, 0x77};
    assert_int_equal(plcio_s7_client_write_area(cl, PLCIO_S7_AREA_DB, 3, 0, 8, pattern), PLCIO_OK);
    engine_write(c, "setpoint", "12.5", PLCIO_OK);
    engine_write(c, "bit3", "true", PLCIO_OK);
    engine_write(c, "bit7", "false", PLCIO_OK);
    uint8_t got[8];
    assert_int_equal(plcio_s7_client_read_area(cl, PLCIO_S7_AREA_DB, 3, 0, 8, got), PLCIO_OK);
    assert_true(plcio_get_f32be(got) == 12.5f);
    assert_int_equal(got[4], 0x78); /* 0xF0 | bit 3, without bit 7: no other bit moved */
    assert_memory_equal(got + 5, pattern + 5, 3);
    wait_for(c, "setpoint", PLCIO_SHM_QUALITY_GOOD, "12.5");
    /* The PLC's refusal reaches the writer. */
    engine_write(c, "missing", "1", PLCIO_EPLC);
    plcio_s7_client_free(cl);
}

static int start_sim(ctx *c, int port)
{
    char listen[64], db[128];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(db, sizeof db, "10:%s/tank.db", c->dir);
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    const char *argv[] = {bin, "sim", "s7", "--listen", listen, "--db", db, "--seconds", "120", NULL};
    if (plcio_test_proc_start(&c->server, argv, "listening on", 10000, 150) != 0) return -1;
    return plcio_test_port_from_line(c->server.line);
}

static void test_own_simulator_killed_and_restarted(void **state)
{
    ctx *c = *state;
    snprintf(c->dir, sizeof c->dir, "/tmp/plcio-sync-s7-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/tank.db", c->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("DATA_BLOCK \"Tank\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n   STRUCT\n"
          "      Level : Real := 12.5;\n      Pump : Bool := TRUE;\n      Valve : Bool;\n"
          "      Name : String[10] := 'tank one';\n      Count : DInt := -5;\n   END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n",
          f);
    assert_int_equal(fclose(f), 0); /* written: the data is on disk only now */
    c->port = start_sim(c, 0);
    assert_true(c->port > 0);
    start_engine(c, "layouts: [tank.db]\n"
                    "devices:\n"
                    "  - name: sim\n"
                    "    url: s7://127.0.0.1:@PORT@?rack=0&slot=1\n"
                    "    reconnect: {min: 50ms, max: 200ms}\n"
                    "    groups: [{interval: 20ms, db: 10, writable: true}]\n");
    wait_for(c, "Level", PLCIO_SHM_QUALITY_GOOD, "12.5");
    wait_for(c, "Pump", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "Name", PLCIO_SHM_QUALITY_GOOD, "tank one");
    wait_for(c, "Count", PLCIO_SHM_QUALITY_GOOD, "-5");

    /* A write through the shared-memory ring, as another process would. */
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(c->reader, "Valve", "true", &id), PLCIO_OK);
    wait_for(c, "Valve", PLCIO_SHM_QUALITY_GOOD, "true");
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(c->reader, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_DONE);
    wait_for(c, "Pump", PLCIO_SHM_QUALITY_GOOD, "true"); /* its neighbour bit kept */

    /* The server dies: values stay, stale; a write now fails and says why. */
    plcio_test_proc_stop(&c->server);
    wait_for(c, "Level", PLCIO_SHM_QUALITY_STALE, "12.5");
    assert_int_equal(plcio_shm_reader_submit_text(c->reader, "Level", "99", &id), PLCIO_OK);
    uint64_t end = plcio_monotonic_ns() + 5 * PLCIO_NS_PER_S;
    int rc = PLCIO_ETIMEDOUT;
    while (rc == PLCIO_ETIMEDOUT && plcio_monotonic_ns() < end) {
        plcio_sync_run_once(c->sync, 5);
        rc = plcio_shm_reader_write_wait(c->reader, id, 0, &res);
    }
    assert_int_equal(rc, PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_FAILED);
    assert_int_equal(res.error, PLCIO_ENOTCONN);

    /* It comes back on the same port: good again, without restarting the engine.
     * (A restarted simulator has its start values again.) */
    assert_int_equal(start_sim(c, c->port), c->port);
    wait_for(c, "Level", PLCIO_SHM_QUALITY_GOOD, "12.5");
    wait_for(c, "Valve", PLCIO_SHM_QUALITY_GOOD, "false");
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_device_stats(c->sync, 0, &st), PLCIO_OK);
    assert_true(st.connected);
    assert_true(st.errors >= 1);
}

/* ---- a tag past the end of its DB: logged once per change, not per cycle ---- */

typedef struct log_count {
    int refused; /* WARN "... address out of range ..." */
    int again;   /* INFO "every tag reads again" */
} log_count;

static void count_log(void *arg, plcio_log_level level, const char *module, const char *msg)
{
    (void)module;
    log_count *n = arg;
    if (level == PLCIO_LOG_WARN && strstr(msg, "DB1.DBB20") && strstr(msg, "address out of range")) n->refused++;
    if (level == PLCIO_LOG_INFO && strstr(msg, "every tag reads again")) n->again++;
    if (getenv("PLCIO_TEST_LOG")) fprintf(stderr, "%s\n", msg);
}

/* Serve and sync until tag `name` has `quality` and the group counted `errors` more errors (10 s at most). */
static void run_until(ctx *c, const char *name, plcio_shm_quality quality, uint64_t errors)
{
    plcio_sync_stats st;
    assert_int_equal(plcio_sync_group_stats(c->sync, 0, &st), PLCIO_OK);
    uint64_t want_errors = st.errors + errors;
    plcio_shm_value v;
    memset(&v, 0, sizeof v);
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    while (plcio_monotonic_ns() < end) {
        plcio_s7_server_run_once(c->own, 0);
        plcio_sync_run_once(c->sync, 2);
        assert_int_equal(plcio_sync_group_stats(c->sync, 0, &st), PLCIO_OK);
        if (plcio_shm_reader_refresh(c->reader) != PLCIO_OK) continue;
        assert_int_equal(plcio_shm_reader_get_by_name(c->reader, name, &v), PLCIO_OK);
        if (v.quality == quality && st.errors >= want_errors) return;
    }
    fail_msg("%s: quality %s, want %s; group errors %llu, want %llu", name, plcio_shm_quality_name(v.quality),
             plcio_shm_quality_name(quality), (unsigned long long)st.errors, (unsigned long long)want_errors);
}

static void resize_db1(ctx *c, size_t size)
{
    assert_int_equal(plcio_s7_server_remove_area(c->own, PLCIO_S7_SERVER_AREA_DB, 1), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(c->own, PLCIO_S7_SERVER_AREA_DB, 1, size, NULL), PLCIO_OK);
}

static void test_refused_tag_logged_once_per_change(void **state)
{
    ctx *c = *state;
    plcio_s7_server_options sc;
    plcio_s7_server_options_init(&sc);
    sc.host = "127.0.0.1";
    sc.port = 0;
    assert_int_equal(plcio_s7_server_new(&sc, &c->own, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(c->own, PLCIO_S7_SERVER_AREA_DB, 1, 10, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_listen(c->own), PLCIO_OK);
    c->port = plcio_s7_server_port(c->own);
    log_count n = {0, 0};
    plcio_logger lg = {count_log, &n, PLCIO_LOG_INFO};
    start_engine_logged(c,
                        "devices:\n"
                        "  - name: plc\n"
                        "    url: s7://127.0.0.1:@PORT@\n"
                        "    groups:\n"
                        "      - interval: 5ms\n"
                        "        tags:\n"
                        "          - {address: DB1.DBW0:INT, name: inside}\n"
                        "          - {address: DB1.DBW20:INT, name: past}\n",
                        &lg);
    /* DB1 has 10 bytes: "past" is refused every cycle, logged once. */
    run_until(c, "past", PLCIO_SHM_QUALITY_ERROR, 40);
    run_until(c, "inside", PLCIO_SHM_QUALITY_GOOD, 0);
    assert_int_equal(n.refused, 1);
    assert_int_equal(n.again, 0);
    /* The DB grows: good again, said once. */
    resize_db1(c, 30);
    run_until(c, "past", PLCIO_SHM_QUALITY_GOOD, 0);
    plcio_sync_stats before, after = {0};
    assert_int_equal(plcio_sync_group_stats(c->sync, 0, &before), PLCIO_OK);
    for (uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
         after.cycles < before.cycles + 20 && plcio_monotonic_ns() < end;) {
        plcio_s7_server_run_once(c->own, 0);
        plcio_sync_run_once(c->sync, 2);
        assert_int_equal(plcio_sync_group_stats(c->sync, 0, &after), PLCIO_OK);
    }
    assert_true(after.cycles >= before.cycles + 20);
    assert_int_equal(n.again, 1);
    assert_int_equal(n.refused, 1);
    /* It shrinks again: a new refusal, logged once more. */
    resize_db1(c, 10);
    run_until(c, "past", PLCIO_SHM_QUALITY_ERROR, 40);
    assert_int_equal(n.refused, 2);
    assert_int_equal(n.again, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snap7_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_simulator_killed_and_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_tag_logged_once_per_change, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
