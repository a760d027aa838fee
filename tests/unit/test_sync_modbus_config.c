/* The sync configuration's modbus-server section (docs/gateway.md): the
 * documented form, defaults, and mistakes named with their line; and the
 * engine refusing a map that names a missing tag or overlaps. */
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "plcio_test.h"

#define DEVICES                                                                                                        \
    "devices:\n"                                                                                                       \
    "  - name: plc\n"                                                                                                  \
    "    url: \"s7://127.0.0.1:1?rack=0&slot=1\"\n"                                                                    \
    "    groups:\n"                                                                                                    \
    "      - interval: 100ms\n"                                                                                        \
    "        tags:\n"                                                                                                  \
    "          - {address: DB2.DBD100:REAL, name: Temp}\n"                                                             \
    "          - {address: DB2.DBX106.0, name: Run, writable: true}\n"

static void test_documented_form(void **state)
{
    (void)state;
    static const char y[] = DEVICES "modbus-server:\n"
                                    "  listen: 127.0.0.1:5020\n"
                                    "  unit: 7\n"
                                    "  writes: true\n"
                                    "  map:\n"
                                    "    - {tag: Temp, holding: 0}\n"
                                    "    - {tag: Temp, input: 10, order: CDAB}\n"
                                    "    - {tag: Run, coil: 65535}\n"
                                    "    - {tag: Run, discrete: 3, order: DCBA}\n";
    plcio_sync_config *c = NULL;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), "t.yaml", NULL, &c, &err), PLCIO_OK);
    const plcio_sync_modbus_spec *m = &c->modbus_server;
    assert_true(m->present);
    assert_string_equal(m->listen, "127.0.0.1:5020");
    assert_int_equal(m->unit, 7);
    assert_true(m->writes);
    assert_int_equal(m->map_count, 4);
    assert_string_equal(m->map[0].tag, "Temp");
    assert_int_equal(m->map[0].table, PLCIO_MODBUS_HOLDING_REGISTERS);
    assert_int_equal(m->map[0].order, PLCIO_MB_ABCD);
    assert_int_equal(m->map[1].table, PLCIO_MODBUS_INPUT_REGISTERS);
    assert_int_equal(m->map[1].address, 10);
    assert_int_equal(m->map[1].order, PLCIO_MB_CDAB);
    assert_int_equal(m->map[2].table, PLCIO_MODBUS_COILS);
    assert_int_equal(m->map[2].address, 65535);
    assert_int_equal(m->map[3].table, PLCIO_MODBUS_DISCRETE_INPUTS);
    assert_int_equal(m->map[3].line, 17);
    plcio_sync_config_free(c);

    static const char none[] = DEVICES;
    assert_int_equal(plcio_sync_config_parse(none, strlen(none), "t.yaml", NULL, &c, &err), PLCIO_OK);
    assert_false(c->modbus_server.present);
    plcio_sync_config_free(c);

    static const char dflt[] = DEVICES "modbus-server: {map: [{tag: Run, coil: 0}]}\n";
    assert_int_equal(plcio_sync_config_parse(dflt, strlen(dflt), "t.yaml", NULL, &c, &err), PLCIO_OK);
    assert_null(c->modbus_server.listen);
    assert_int_equal(c->modbus_server.unit, -1);
    assert_false(c->modbus_server.writes); /* read-only unless told */
    plcio_sync_config_free(c);
}

static void bad(const char *section, int code, const char *why)
{
    char y[2048];
    snprintf(y, sizeof y, "%s%s", DEVICES, section);
    plcio_sync_config *c = NULL;
    plcio_error err = {0};
    int rc = plcio_sync_config_parse(y, strlen(y), "t.yaml", NULL, &c, &err);
    if (rc != code || !strstr(err.text, why)) print_error("%s -> %d '%s'\n", section, rc, err.text);
    assert_int_equal(rc, code);
    assert_non_null(strstr(err.text, why));
    assert_null(c);
}

static void test_mistakes(void **state)
{
    (void)state;
    bad("modbus-server: {map: [{tag: Temp, holding: 0, order: XYZW}]}\n", PLCIO_ESYNTAX, "t.yaml:9:");
    bad("modbus-server: {map: [{tag: Temp, holding: 0, order: XYZW}]}\n", PLCIO_ESYNTAX, "not ABCD, CDAB");
    bad("modbus-server: {map: [{holding: 0}]}\n", PLCIO_ESYNTAX, "needs 'tag'");
    bad("modbus-server: {map: [{tag: Temp}]}\n", PLCIO_ESYNTAX, "needs holding, input, coil or discrete");
    bad("modbus-server: {map: [{tag: Temp, holding: 0, input: 2}]}\n", PLCIO_ESYNTAX, "one of holding");
    bad("modbus-server: {map: [{tag: Temp, holding: 65536}]}\n", PLCIO_ERANGE, "out of range");
    bad("modbus-server: {map: [{tag: Temp, holding: -1}]}\n", PLCIO_ESYNTAX, "whole number");
    bad("modbus-server: {unit: 256, map: []}\n", PLCIO_ERANGE, "unit");
    bad("modbus-server: {writes: maybe, map: []}\n", PLCIO_ESYNTAX, "writes");
    bad("modbus-server: {map: [{tag: Temp, holdin: 0}]}\n", PLCIO_ESYNTAX, "holdin");
    bad("modbus-server: {lisen: x}\n", PLCIO_ESYNTAX, "lisen");
    bad("modbus-server: {map: {tag: Temp}}\n", PLCIO_ESYNTAX, "must be a list");
}

/* The engine checks the map against its tags before it serves anything. */
static void engine_refuses(const char *section, const char *why)
{
    char y[2048];
    snprintf(y, sizeof y, "%s%s", DEVICES, section);
    plcio_sync_config *c = NULL;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), "t.yaml", NULL, &c, &err), PLCIO_OK);
    plcio_sync_options o = {.no_shm = true};
    plcio_sync *s = NULL;
    int rc = plcio_sync_new(c, &o, &s, &err);
    if (rc == PLCIO_OK || !strstr(err.text, why)) print_error("%s -> %d '%s'\n", section, rc, err.text);
    assert_int_not_equal(rc, PLCIO_OK);
    assert_null(s);
    assert_non_null(strstr(err.text, why));
    plcio_sync_config_free(c);
}

static void test_engine_checks_the_map(void **state)
{
    (void)state;
    engine_refuses("modbus-server: {listen: 127.0.0.1:0, map: [{tag: Nope, holding: 0}]}\n", "no tag 'Nope'");
    engine_refuses("modbus-server: {listen: 127.0.0.1:0, map: [{tag: Temp, holding: 0}, {tag: Run, holding: 1}]}\n",
                   "overlaps 'Temp'");
    engine_refuses("modbus-server: {listen: 127.0.0.1:0, map: [{tag: Temp, holding: 65535}]}\n", "runs past 65535");
    engine_refuses("modbus-server: {listen: nohost, map: [{tag: Temp, holding: 0}]}\n", "not HOST:PORT");
    /* no host is no accident to listen on every interface: 0.0.0.0 says so */
    engine_refuses("modbus-server: {listen: \":0\", map: [{tag: Temp, holding: 0}]}\n",
                   "':0' is not HOST:PORT (0.0.0.0:PORT listens on every interface)");
    engine_refuses("modbus-server: {listen: \"127.0.0.1:70000\", map: [{tag: Temp, holding: 0}]}\n", "not HOST:PORT");
    /* a good map builds and frees (port 0: any free port) */
    static const char ok[] = DEVICES "modbus-server: {listen: 127.0.0.1:0, map: [{tag: Temp, holding: 0}, "
                                     "{tag: Run, holding: 2}, {tag: Run, coil: 0}]}\n";
    plcio_sync_config *c = NULL;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(ok, strlen(ok), "t.yaml", NULL, &c, &err), PLCIO_OK);
    plcio_sync_options o = {.no_shm = true};
    plcio_sync *s = NULL;
    assert_int_equal(plcio_sync_new(c, &o, &s, &err), PLCIO_OK);
    assert_int_equal(plcio_sync_run_once(s, 10), PLCIO_OK);
    plcio_sync_free(s);
    plcio_sync_config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_form),
        cmocka_unit_test(test_mistakes),
        cmocka_unit_test(test_engine_checks_the_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
