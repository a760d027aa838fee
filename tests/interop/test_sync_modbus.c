/* The sync engine over Modbus TCP against pymodbus 3.0's server (a foreign peer):
 * every table read into shared memory, word orders normalised, writes by name
 * that land only in their own registers or coil, read-only tables refused. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio_test.h"

typedef struct ctx {
    plcio_test_proc server;
    plcio_sync_config *cfg;
    plcio_sync *sync;
    plcio_shm_reader *reader;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    *state = c;
    return c ? 0 : -1;
}

static int teardown(void **state)
{
    ctx *c = *state;
    plcio_shm_reader_free(c->reader);
    plcio_sync_free(c->sync);
    plcio_sync_config_free(c->cfg);
    plcio_test_proc_stop(&c->server);
    free(c);
    return 0;
}

static plcio_shm_value wait_for(ctx *c, const char *name, plcio_shm_quality q, const char *text)
{
    plcio_shm_value v;
    memset(&v, 0, sizeof v);
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    while (plcio_monotonic_ns() < end) {
        plcio_sync_run_once(c->sync, 5);
        if (plcio_shm_reader_refresh(c->reader) != PLCIO_OK) continue;
        assert_int_equal(plcio_shm_reader_get_by_name(c->reader, name, &v), PLCIO_OK);
        if (v.quality == q && (!text || !strcmp(v.text, text))) return v;
    }
    fail_msg("%s: %s '%s' (error %s), want %s '%s'", name, plcio_shm_quality_name(v.quality), v.text ? v.text : "",
             plcio_err_name(v.error), plcio_shm_quality_name(q), text ? text : "*");
    return v;
}

typedef struct wres {
    int calls, err;
} wres;

static void on_write(void *p, int err, const char *message)
{
    (void)message;
    wres *r = p;
    r->calls++;
    r->err = err;
}

static int engine_write(ctx *c, const char *tag, const char *text)
{
    wres r = {0};
    char err[256];
    int rc = plcio_sync_write(c->sync, tag, text, 0, on_write, &r, err, sizeof err);
    if (rc != PLCIO_OK) return rc;
    uint64_t end = plcio_monotonic_ns() + 10 * PLCIO_NS_PER_S;
    while (r.calls == 0 && plcio_monotonic_ns() < end) plcio_sync_run_once(c->sync, 5);
    assert_int_equal(r.calls, 1);
    return r.err;
}

static void test_pymodbus_server(void **state)
{
    ctx *c = *state;
    char script[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(script, sizeof script, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    const char *argv[] = {"/usr/bin/python3", script, "server", "tcp", "--seconds", "50", NULL};
    assert_int_equal(plcio_test_proc_start(&c->server, argv, "listening on", 20000, 55), 0);
    int port = plcio_test_port_from_line(c->server.line);
    char yaml[1024], err[512], shm[64];
    snprintf(yaml, sizeof yaml,
             "devices:\n"
             "  - name: py\n"
             "    url: \"modbus-tcp://127.0.0.1:%d?unit=1\"\n"
             "    groups:\n"
             "      - interval: 20ms\n"
             "        tags:\n"
             "          - {address: hr5, name: h5}\n"
             "          - {address: \"hr100:REAL\", name: flow}\n"
             "          - {address: co3, name: c3}\n"
             "          - {address: co4, name: c4}\n"
             "          - {address: di2, name: d2}\n"
             "          - {address: ir7, name: i7}\n"
             "          - {address: \"hr150:REAL:CDAB\", name: sp}\n"
             "          - {address: co10, name: c10}\n",
             port);
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, err, sizeof err), PLCIO_OK);
    snprintf(shm, sizeof shm, "/plcio-test-sync-mb-%d", (int)getpid());
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    if (plcio_sync_new(c->cfg, &o, &c->sync, err, sizeof err) != PLCIO_OK) fail_msg("engine: %s", err);
    char msg[256];
    assert_int_equal(plcio_shm_reader_open(shm, &c->reader, msg, sizeof msg), PLCIO_OK);

    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    wait_for(c, "flow", PLCIO_SHM_QUALITY_GOOD, "123.456001");
    wait_for(c, "c3", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "c4", PLCIO_SHM_QUALITY_GOOD, "false");
    wait_for(c, "d2", PLCIO_SHM_QUALITY_GOOD, "true");
    wait_for(c, "i7", PLCIO_SHM_QUALITY_GOOD, "1007");

    /* A REAL in CDAB order: shared memory holds ABCD, the device gets CDAB. */
    assert_int_equal(engine_write(c, "sp", "1.5"), PLCIO_OK);
    assert_int_equal(engine_write(c, "c10", "true"), PLCIO_OK);
    wait_for(c, "sp", PLCIO_SHM_QUALITY_GOOD, "1.5");
    wait_for(c, "c10", PLCIO_SHM_QUALITY_GOOD, "true");
    int rc = PLCIO_OK;
    plcio_modbus_client *mc = plcio_modbus_client_new(c->cfg->devices[0].url, NULL, &rc);
    assert_non_null(mc);
    uint16_t regs[4];
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 1, 149, 4, regs), PLCIO_OK);
    assert_int_equal(regs[0], 149);    /* neighbours untouched */
    assert_int_equal(regs[1], 0x0000); /* 1.5 = 0x3FC00000, low word first */
    assert_int_equal(regs[2], 0x3FC0);
    assert_int_equal(regs[3], 152);
    uint8_t bits[3];
    assert_int_equal(plcio_modbus_read_coils(mc, 1, 9, 3, bits), PLCIO_OK);
    assert_int_equal(bits[0], 1); /* co9: 9 % 3 == 0 */
    assert_int_equal(bits[1], 1); /* written */
    assert_int_equal(bits[2], 0); /* co11 */
    plcio_modbus_client_free(mc);
    /* Read-only tables: refused, nothing sent. */
    assert_int_equal(engine_write(c, "i7", "5"), PLCIO_EACCESS);
    assert_int_equal(engine_write(c, "d2", "false"), PLCIO_EACCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pymodbus_server, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
