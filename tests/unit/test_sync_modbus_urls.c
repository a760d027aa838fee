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
    char err[512] = "";
    assert_int_equal(plcio_sync_config_parse(every_link, strlen(every_link), "links.yaml", NULL, &cfg, err, sizeof err),
                     PLCIO_OK);
    assert_int_equal(cfg->device_count, 5);
    assert_string_equal(cfg->devices[2].url, "modbus-rtu:///dev/ttyUSB0?baud=115200&parity=N&data-bits=8&stop-bits=1&unit=7");
    plcio_sync_options o;
    memset(&o, 0, sizeof o);
    o.no_shm = true;
    plcio_sync *s = NULL;
    if (plcio_sync_new(cfg, &o, &s, err, sizeof err) != PLCIO_OK) fail_msg("engine: %s", err);
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
        {"modbus-rtu://", "not a Modbus URL"},                                /* no device, no host */
        {"modbus-udp://", "not a Modbus URL"},                                /* no host */
        {"modbus-rtu:///dev/ttyS0?baud=fast", "not a Modbus URL"},            /* not a number */
        {"modbus-rtu:///dev/ttyS0?baud=10", "not a Modbus URL"},              /* below 50 */
        {"modbus-rtu:///dev/ttyS0?parity=X", "not a Modbus URL"},             /* N, E or O */
        {"modbus-ascii:///dev/ttyS0?parity=EE", "not a Modbus URL"},
        {"modbus-rtu:///dev/ttyS0?stop-bits=3", "not a Modbus URL"},
        {"modbus-rtu:///dev/ttyS0?data-bits=9", "not a Modbus URL"},
        {"modbus-tcp://127.0.0.1?unit=256", "not a Modbus URL"},
        {"modbus-tcp://127.0.0.1?timeout=0", "not a Modbus URL"},
        {"modbus-udp://127.0.0.1?retries=11", "not a Modbus URL"},
        {"modbus-tcp://127.0.0.1?colour=red", "not a Modbus URL"},            /* unknown option */
        {"modbus-serial:///dev/ttyS0", "not a Modbus URL"},                   /* no such scheme */
        {"modbus-rtu:///dev/ttyS0?baud=19200&unit=1&unit=2", "is not a device URL"}, /* given twice */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512], err[512] = "";
        snprintf(yaml, sizeof yaml, "devices:\n  - name: bad\n    url: \"%s\"\n    groups: [{tags: [{address: hr0}]}]\n",
                 cases[i].url);
        plcio_sync_config *cfg;
        assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "bad.yaml", NULL, &cfg, err, sizeof err), PLCIO_OK);
        plcio_sync_options o;
        memset(&o, 0, sizeof o);
        o.no_shm = true;
        plcio_sync *s = NULL;
        int rc = plcio_sync_new(cfg, &o, &s, err, sizeof err);
        if (rc == PLCIO_OK) fail_msg("%s: accepted", cases[i].url);
        assert_null(s);
        if (!strstr(err, cases[i].why) || strncmp(err, "bad", 3) != 0)
            fail_msg("%s: message '%s' does not name the device and '%s'", cases[i].url, err, cases[i].why);
        plcio_sync_config_free(cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_modbus_link_builds),
        cmocka_unit_test(test_bad_modbus_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
