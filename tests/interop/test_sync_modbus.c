/* The sync engine over Modbus TCP against pymodbus 3.0's server (a foreign peer):
 * every table read into shared memory, word orders normalised, writes by name
 * that land only in their own registers or coil, read-only tables refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/modbus.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio/value.h"
#include "plcio_test.h"
#include "sync_wait.h"

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
    return plcio_test_sync_wait(c->sync, c->reader, name, q, text, 10000);
}

static int engine_write(ctx *c, const char *tag, const char *text)
{
    plcio_test_write r;
    return plcio_test_sync_write(c->sync, tag, text, 0, 10000, &r);
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
    char yaml[1024], shm[64];
    plcio_error err = {0};
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
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, &err), PLCIO_OK);
    snprintf(shm, sizeof shm, "/plcio-test-sync-mb-%d", (int)getpid());
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(shm, &c->reader, &msg), PLCIO_OK);

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
    plcio_modbus_client *mc = NULL;
    (void)plcio_modbus_client_new(c->cfg->devices[0].url, NULL, &mc, NULL);
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

/* ---- every word order, 32 and 64 bit, reads and writes, against pymodbus's registers ---- */

typedef struct order_case {
    const char *type, *order;
    const char *read_text;  /* the value the registers below hold */
    uint16_t read_regs[4];  /* as the device holds it in this order */
    const char *write_text; /* the value the engine writes */
    uint16_t write_regs[4]; /* what must land in the device's registers */
} order_case;

/* Register contents computed independently with Python's struct module
 * (big-endian bytes A..H; BADC/DCBA swap the bytes of each word, CDAB/DCBA
 * reverse the words: docs/modbus.md), not with plcio's code. */
static const order_case order_cases[] = {
    {"DINT", "ABCD", "-123456789", {0xF8A4, 0x32EB}, "305419896", {0x1234, 0x5678}},
    {"DINT", "CDAB", "-123456789", {0x32EB, 0xF8A4}, "305419896", {0x5678, 0x1234}},
    {"DINT", "BADC", "-123456789", {0xA4F8, 0xEB32}, "305419896", {0x3412, 0x7856}},
    {"DINT", "DCBA", "-123456789", {0xEB32, 0xA4F8}, "305419896", {0x7856, 0x3412}},
    {"REAL", "ABCD", "1234.5", {0x449A, 0x5000}, "-0.15625", {0xBE20, 0x0000}},
    {"REAL", "CDAB", "1234.5", {0x5000, 0x449A}, "-0.15625", {0x0000, 0xBE20}},
    {"REAL", "BADC", "1234.5", {0x9A44, 0x0050}, "-0.15625", {0x20BE, 0x0000}},
    {"REAL", "DCBA", "1234.5", {0x0050, 0x9A44}, "-0.15625", {0x0000, 0x20BE}},
    {"LINT",
     "ABCD",
     "-1234567890123456789",
     {0xEEDD, 0xEF0B, 0x8216, 0x7EEB},
     "81985529216486895",
     {0x0123, 0x4567, 0x89AB, 0xCDEF}},
    {"LINT",
     "CDAB",
     "-1234567890123456789",
     {0x7EEB, 0x8216, 0xEF0B, 0xEEDD},
     "81985529216486895",
     {0xCDEF, 0x89AB, 0x4567, 0x0123}},
    {"LINT",
     "BADC",
     "-1234567890123456789",
     {0xDDEE, 0x0BEF, 0x1682, 0xEB7E},
     "81985529216486895",
     {0x2301, 0x6745, 0xAB89, 0xEFCD}},
    {"LINT",
     "DCBA",
     "-1234567890123456789",
     {0xEB7E, 0x1682, 0x0BEF, 0xDDEE},
     "81985529216486895",
     {0xEFCD, 0xAB89, 0x6745, 0x2301}},
    {"LREAL", "ABCD", "-2.5e-300", {0x81BA, 0xC9A7, 0xB3B7, 0x302F}, "6.02214076e23", {0x44DF, 0xE185, 0xCA57, 0xC517}},
    {"LREAL", "CDAB", "-2.5e-300", {0x302F, 0xB3B7, 0xC9A7, 0x81BA}, "6.02214076e23", {0xC517, 0xCA57, 0xE185, 0x44DF}},
    {"LREAL", "BADC", "-2.5e-300", {0xBA81, 0xA7C9, 0xB7B3, 0x2F30}, "6.02214076e23", {0xDF44, 0x85E1, 0x57CA, 0x17C5}},
    {"LREAL", "DCBA", "-2.5e-300", {0x2F30, 0xB7B3, 0xA7C9, 0xBA81}, "6.02214076e23", {0x17C5, 0x57CA, 0x85E1, 0xDF44}},
};

#define ORDER_BASE   300u /* pymodbus holds zeros from hr200 on */
#define ORDER_STRIDE 5u   /* 4 registers and a guard */
#define GUARD        0xA55Au

static size_t order_regs(const order_case *k) { return k->type[0] == 'L' ? 4 : 2; }

static void test_every_word_order(void **state)
{
    ctx *c = *state;
    char script[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(script, sizeof script, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    const char *argv[] = {"/usr/bin/python3", script, "server", "tcp", "--seconds", "50", NULL};
    assert_int_equal(plcio_test_proc_start(&c->server, argv, "listening on", 20000, 55), 0);
    int port = plcio_test_port_from_line(c->server.line);
    size_t n = sizeof order_cases / sizeof order_cases[0];
    char url[128];
    snprintf(url, sizeof url, "modbus-tcp://127.0.0.1:%d?unit=1", port);

    /* The device's registers, raw, with a guard after each value. */
    plcio_modbus_client *mc = NULL;
    (void)plcio_modbus_client_new(url, NULL, &mc, NULL);
    assert_non_null(mc);
    uint16_t image[sizeof order_cases / sizeof order_cases[0] * ORDER_STRIDE];
    for (size_t i = 0; i < n; i++) {
        uint16_t *r = image + i * ORDER_STRIDE;
        for (size_t w = 0; w < ORDER_STRIDE; w++)
            r[w] = GUARD;
        memcpy(r, order_cases[i].read_regs, order_regs(&order_cases[i]) * sizeof *r);
    }
    assert_int_equal(plcio_modbus_write_registers(mc, 1, ORDER_BASE, (uint16_t)(n * ORDER_STRIDE), image), PLCIO_OK);

    char yaml[4096], shm[64];

    plcio_error err = {0};
    int len =
        snprintf(yaml, sizeof yaml,
                 "devices:\n  - name: py\n    url: \"%s\"\n    groups:\n      - interval: 20ms\n        tags:\n", url);
    for (size_t i = 0; i < n; i++)
        len += snprintf(yaml + len, sizeof yaml - (size_t)len, "          - {address: \"hr%u:%s:%s\", name: %s_%s}\n",
                        (unsigned)(ORDER_BASE + i * ORDER_STRIDE), order_cases[i].type, order_cases[i].order,
                        order_cases[i].type, order_cases[i].order);
    assert_true(len > 0 && (size_t)len < sizeof yaml);
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, &err), PLCIO_OK);
    snprintf(shm, sizeof shm, "/plcio-test-sync-mb-order-%d", (int)getpid());
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(shm, &c->reader, &msg), PLCIO_OK);

    /* Reads: every order decodes to the value Python encoded. */
    for (size_t i = 0; i < n; i++) {
        char name[32], want[64];
        snprintf(name, sizeof name, "%s_%s", order_cases[i].type, order_cases[i].order);
        plcio_type type;
        assert_int_equal(plcio_type_parse(order_cases[i].type, strlen(order_cases[i].type), &type), PLCIO_OK);
        plcio_value v;
        assert_int_equal(
            plcio_value_from_text(&v, type, 0, order_cases[i].read_text, strlen(order_cases[i].read_text), &err),
            PLCIO_OK);
        assert_int_equal(plcio_value_to_text(&v, want, sizeof want, NULL), PLCIO_OK);
        wait_for(c, name, PLCIO_SHM_QUALITY_GOOD, want);
    }
    /* Writes: the registers hold what Python says, the guards are untouched. */
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s_%s", order_cases[i].type, order_cases[i].order);
        assert_int_equal(engine_write(c, name, order_cases[i].write_text), PLCIO_OK);
    }
    uint16_t got[sizeof order_cases / sizeof order_cases[0] * ORDER_STRIDE];
    assert_int_equal(plcio_modbus_read_holding_registers(mc, 1, ORDER_BASE, (uint16_t)(n * ORDER_STRIDE), got),
                     PLCIO_OK);
    for (size_t i = 0; i < n; i++) {
        const uint16_t *r = got + i * ORDER_STRIDE;
        size_t w = order_regs(&order_cases[i]);
        for (size_t k = 0; k < ORDER_STRIDE; k++) {
            uint16_t want = k < w ? order_cases[i].write_regs[k] : GUARD;
            if (r[k] != want)
                fail_msg("%s:%s=%s: register %zu is %04X, want %04X", order_cases[i].type, order_cases[i].order,
                         order_cases[i].write_text, k, r[k], want);
        }
    }
    plcio_modbus_client_free(mc);
}

/* ---- a register past the end of the device's table: logged once, not per cycle ---- */

static void count_refusals(void *arg, plcio_log_level level, const char *module, const char *msg)
{
    (void)module;
    if (level == PLCIO_LOG_WARN && strstr(msg, "from 1500: exception 2")) (*(int *)arg)++;
    if (getenv("PLCIO_TEST_LOG")) fprintf(stderr, "%s\n", msg);
}

static void test_exception_logged_once(void **state)
{
    ctx *c = *state;
    char script[600];
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    snprintf(script, sizeof script, "%s/modbus/pymodbus_peer.py", dir && *dir ? dir : PLCIO_INTEROP_DIR);
    const char *argv[] = {"/usr/bin/python3", script, "server", "tcp", "--seconds", "50", NULL};
    assert_int_equal(plcio_test_proc_start(&c->server, argv, "listening on", 20000, 55), 0);
    char yaml[512], shm[64];
    plcio_error err = {0};
    snprintf(yaml, sizeof yaml,
             "devices:\n  - name: py\n    url: \"modbus-tcp://127.0.0.1:%d\"\n    groups:\n      - interval: 5ms\n"
             "        tags: [{address: hr5, name: h5}, {address: hr1500, name: past}]\n",
             plcio_test_port_from_line(c->server.line));
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c->cfg, &err), PLCIO_OK);
    snprintf(shm, sizeof shm, "/plcio-test-sync-mb-exc-%d", (int)getpid());
    int refusals = 0;
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.shm_name = shm;
    o.logger = (plcio_logger){count_refusals, &refusals, PLCIO_LOG_INFO};
    if (plcio_sync_new(c->cfg, &o, &c->sync, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_reader_new(shm, &c->reader, &msg), PLCIO_OK);
    wait_for(c, "h5", PLCIO_SHM_QUALITY_GOOD, "5");
    plcio_shm_value v = wait_for(c, "past", PLCIO_SHM_QUALITY_ERROR, NULL);
    assert_int_equal(v.error, PLCIO_EMBEXC);
    plcio_sync_stats st = {0};
    for (uint64_t end = plcio_monotonic_ns() + 20 * PLCIO_NS_PER_S; st.cycles < 40 && plcio_monotonic_ns() < end;) {
        plcio_sync_run_once(c->sync, 5);
        assert_int_equal(plcio_sync_group_stats(c->sync, 0, &st), PLCIO_OK);
    }
    assert_true(st.cycles >= 40);
    assert_int_equal(refusals, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pymodbus_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_word_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exception_logged_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
