/* Sync engine configuration with every Modbus URL of the design: a YAML file
 * with TCP, UDP, RTU and ASCII serial lines and RTU over TCP builds an engine
 * (nothing is opened before it runs); malformed Modbus URLs are refused when
 * the engine is built, naming the device and what a Modbus URL looks like. */
#include <stdlib.h>
#include <string.h>

#include "plcio/plcio.h"
#include "plcio/sync.h"
#include "plcio_test.h"

static const char every_link[] =
    "devices:\n"
    "  - name: tcp\n"
    "    url: \"modbus-tcp://127.0.0.1:5020?unit=3&timeout=500\"\n"
    "    groups: [{tags: [{address: hr0}, {address: \"hr10:REAL:CDAB\"}, {address: co1}]}]\n"
    "  - name: udp\n"
    "    url: \"modbus-udp://127.0.0.1:5020?retries=2\"\n"
    "    groups: [{interval: 50ms, tags: [{address: ir0}, {address: di7}]}]\n"
    "  - name: rtu\n"
    "    url: \"modbus-rtu:///dev/ttyUSB0?baud=115200&parity=N&data-bits=8&stop-bits=1&unit=7\"\n"
    "    groups: [{interval: 1s, tags: [{address: \"400101\", name: level}]}]\n"
    "  - name: ascii\n"
    "    url: \"modbus-ascii:///dev/ttyS1?baud=9600&parity=E&data-bits=7&stop-bits=1\"\n"
    "    groups: [{tags: [{address: \"hr0:DINT\"}]}]\n"
    "  - name: gateway\n"
    "    url: \"modbus-rtu://127.0.0.1:4001?unit=9\"\n"
    "    groups: [{tags: [{address: co0}, {address: co1999}]}]\n";

static void test_every_modbus_link_builds(void **state)
{
    (void)state;
    plcio_sync_config *cfg;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(every_link, strlen(every_link), "links.yaml", NULL, &cfg, &err), PLCIO_OK);
    assert_int_equal(cfg->device_count, 5);
    assert_string_equal(cfg->devices[2].url,
                        "modbus-rtu:///dev/ttyUSB0?baud=115200&parity=N&data-bits=8&stop-bits=1&unit=7");
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    plcio_sync *s = NULL;
    if (plcio_sync_new(cfg, &o, &s, &err) != PLCIO_OK) fail_msg("engine: %s", err.text);
    assert_int_equal(plcio_sync_device_count(s), 5);
    assert_int_equal(plcio_sync_tag_count(s), 9);
    plcio_sync_stats st;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(plcio_sync_device_stats(s, i, &st), PLCIO_OK);
        assert_false(st.connected); /* nothing opened before the engine runs */
    }
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
}

typedef struct bad_url {
    const char *url;
    const char *why; /* expected in the message */
} bad_url;

static void test_bad_modbus_urls(void **state)
{
    (void)state;
    static const bad_url cases[] = {
        {"modbus-rtu://", "not a Modbus URL (modbus-rtu:// URL without a host or a serial device"},
        {"modbus-udp://", "not a Modbus URL (modbus-udp:// URL without a host)"},
        {"modbus-rtu:///dev/ttyS0?baud=fast", "not a Modbus URL (parameter baud=fast is not a number in 50..4000000)"},
        {"modbus-rtu:///dev/ttyS0?baud=10", "(parameter baud=10 is not a number in 50..4000000)"},
        {"modbus-rtu:///dev/ttyS0?parity=X", "(parameter parity=X: expected N, E or O)"},
        {"modbus-ascii:///dev/ttyS0?parity=EE", "(parameter parity=EE: expected N, E or O)"},
        {"modbus-rtu:///dev/ttyS0?stop-bits=3", "(parameter stop-bits=3 is not a number in 1..2)"},
        {"modbus-rtu:///dev/ttyS0?data-bits=9", "(parameter data-bits=9 is not a number in 7..8)"},
        {"modbus-tcp://127.0.0.1?unit=256", "(parameter unit=256 is not a number in 0..255)"},
        {"modbus-tcp://127.0.0.1?timeout=0", "(parameter timeout=0 is not a number in 1..3600000)"},
        {"modbus-udp://127.0.0.1?retries=11", "(parameter retries=11 is not a number in 0..10)"},
        {"modbus-tcp://127.0.0.1?colour=red", "not a Modbus URL (unknown parameter 'colour'"},
        {"modbus-serial:///dev/ttyS0",
         "(unknown scheme 'modbus-serial://' (modbus-tcp, modbus-tls, modbus-udp, modbus-rtu, modbus-ascii))"},
        {"modbus-rtu:///dev/ttyS0?baud=19200&unit=1&unit=2", "is not a device URL (parameter 'unit' is given twice)"},
        {"modbus-tcp://127.0.0.1:0", "is not a device URL (port 0 is out of range (1..65535))"},
        {"modbus-tcp://127.0.0.1:5020/x", "not a Modbus URL (modbus-tcp://HOST[:PORT] takes no path, found '/x')"},
        {"s7://127.0.0.1:1102/x", "s7:// URL takes no path, found '/x'"},
        {"s7://127.0.0.1?rack=0&rack=1", "is not a device URL (parameter 'rack' is given twice)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        plcio_error err = {0};
        snprintf(yaml, sizeof yaml,
                 "devices:\n  - name: bad\n    url: \"%s\"\n    groups: [{tags: [{address: hr0}]}]\n", cases[i].url);
        plcio_sync_config *cfg;
        assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "bad.yaml", NULL, &cfg, &err), PLCIO_OK);
        plcio_sync_options o;
        memset(&o, 0, sizeof o);
        o.no_shm = true;
        plcio_sync *s = NULL;
        int rc = plcio_sync_new(cfg, &o, &s, &err);
        if (rc == PLCIO_OK) fail_msg("%s: accepted", cases[i].url);
        assert_null(s);
        if (!strstr(err.text, cases[i].why) || strncmp(err.text, "bad", 3) != 0)
            fail_msg("%s: message '%s' does not name the device and '%s'", cases[i].url, err.text, cases[i].why);
        plcio_sync_config_free(cfg);
    }
}

static int build(const char *yaml, plcio_error *err)
{
    plcio_sync_config *cfg;
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "bus.yaml", NULL, &cfg, err), PLCIO_OK);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    plcio_sync *s = NULL;
    int rc = plcio_sync_new(cfg, &o, &s, err);
    if (rc == PLCIO_OK) assert_int_equal(plcio_sync_device_count(s), 2);
    plcio_sync_free(s);
    plcio_sync_config_free(cfg);
    return rc;
}

/* Units on one serial port share it: the port's settings must agree, a unit
 * is one device. Two engines are independent (each opens the port it names). */
static void test_units_on_one_port(void **state)
{
    (void)state;
    plcio_error err = {0};
    const char *ok =
        "devices:\n"
        "  - {name: a, url: \"modbus-rtu:///dev/ttyS9?baud=9600&unit=1\", groups: [{tags: [{address: hr0}]}]}\n"
        "  - {name: b, url: \"modbus-rtu:///dev/ttyS9?baud=9600&unit=2&timeout=200\", groups: [{tags: [{address: "
        "hr0}]}]}\n";
    if (build(ok, &err) != PLCIO_OK) fail_msg("%s", err.text);
    const char *baud =
        "devices:\n"
        "  - {name: a, url: \"modbus-rtu:///dev/ttyS9?baud=9600&unit=1\", groups: [{tags: [{address: hr0}]}]}\n"
        "  - {name: b, url: \"modbus-rtu:///dev/ttyS9?baud=19200&unit=2\", groups: [{tags: [{address: hr0}]}]}\n";
    assert_int_equal(build(baud, &err), PLCIO_EINVAL);
    print_message("%s\n", err.text);
    assert_non_null(strstr(err.text, "/dev/ttyS9 is also the line of device a"));
    const char *framing =
        "devices:\n"
        "  - {name: a, url: \"modbus-rtu:///dev/ttyS9\", groups: [{tags: [{address: hr0}]}]}\n"
        "  - {name: b, url: \"modbus-ascii:///dev/ttyS9?unit=2\", groups: [{tags: [{address: hr0}]}]}\n";
    assert_int_equal(build(framing, &err), PLCIO_EINVAL);
    const char *twice = "devices:\n"
                        "  - {name: a, url: \"modbus-rtu:///dev/ttyS9?unit=4\", groups: [{tags: [{address: hr0}]}]}\n"
                        "  - {name: b, url: \"modbus-rtu:///dev/ttyS9?unit=4\", groups: [{tags: [{address: hr1}]}]}\n";
    assert_int_equal(build(twice, &err), PLCIO_EEXIST);
    print_message("%s\n", err.text);
    assert_non_null(strstr(err.text, "unit 4 on /dev/ttyS9 is already device a"));
    /* other ports, or TCP gateways, are separate lines */
    const char *apart =
        "devices:\n"
        "  - {name: a, url: \"modbus-rtu:///dev/ttyS9?unit=4\", groups: [{tags: [{address: hr0}]}]}\n"
        "  - {name: b, url: \"modbus-rtu://127.0.0.1:4001?unit=4\", groups: [{tags: [{address: hr1}]}]}\n";
    if (build(apart, &err) != PLCIO_OK) fail_msg("%s", err.text);
}

static plcio_sync *engine_of(const char *yaml, plcio_sync_config **cfg)
{
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "bus.yaml", NULL, cfg, &err), PLCIO_OK);
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    plcio_sync *s = NULL;
    if (plcio_sync_new(*cfg, &o, &s, &err) != PLCIO_OK) fail_msg("%s", err.text);
    return s;
}

/* The table of shared serial lines belongs to each engine: a second engine
 * naming the same port and units, alive at the same time, builds (it has a
 * line of its own), and freeing one leaves the other's alone. */
static void test_two_engines_share_nothing(void **state)
{
    (void)state;
    const char *bus = "devices:\n"
                      "  - {name: a, url: \"modbus-rtu:///dev/ttyS9?unit=1\", groups: [{tags: [{address: hr0}]}]}\n"
                      "  - {name: b, url: \"modbus-rtu:///dev/ttyS9?unit=2\", groups: [{tags: [{address: hr0}]}]}\n";
    plcio_sync_config *ca, *cb, *cc;
    plcio_sync *a = engine_of(bus, &ca), *b = engine_of(bus, &cb);
    plcio_sync_free(a);
    plcio_sync *c = engine_of(bus, &cc);
    assert_int_equal(plcio_sync_device_count(b), 2);
    assert_int_equal(plcio_sync_device_count(c), 2);
    plcio_sync_free(b);
    plcio_sync_free(c);
    plcio_sync_config_free(ca);
    plcio_sync_config_free(cb);
    plcio_sync_config_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_modbus_link_builds),
        cmocka_unit_test(test_bad_modbus_urls),
        cmocka_unit_test(test_two_engines_share_nothing),
        cmocka_unit_test(test_units_on_one_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
