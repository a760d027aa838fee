/* Device URL splitting: the forms of DESIGN.md and the malformed ones. */
#include <string.h>

#include "plcio/plcio.h"
#include "plcio_test.h"

static void test_s7_url(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("S7://192.168.0.10:1102?rack=0&slot=2&pdu=960&type=op", &u), PLCIO_OK);
    assert_string_equal(u.scheme, "s7");
    assert_string_equal(u.host, "192.168.0.10");
    assert_int_equal(u.port, 1102);
    assert_string_equal(u.path, "");
    assert_int_equal(u.param_count, 4);
    assert_string_equal(plcio_url_get(&u, "type"), "op");
    assert_null(plcio_url_get(&u, "timeout"));
    unsigned long v;
    assert_int_equal(plcio_url_get_uint(&u, "slot", 1, 0, 31, &v), PLCIO_OK);
    assert_int_equal(v, 2);
    assert_int_equal(plcio_url_get_uint(&u, "timeout", 1500, 1, 600000, &v), PLCIO_OK);
    assert_int_equal(v, 1500);
    assert_int_equal(plcio_url_get_uint(&u, "pdu", 480, 240, 480, &v), PLCIO_ERANGE);
    assert_int_equal(plcio_url_get_uint(&u, "type", 0, 0, 9, &v), PLCIO_ERANGE);
    static const char *const allowed[] = {"rack", "slot", "pdu", NULL};
    assert_string_equal(plcio_url_unknown_key(&u, allowed), "type");
}

static void test_tsap_hex_and_defaults(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("s7://plc1?local-tsap=0x0100&remote-tsap=0x0102", &u), PLCIO_OK);
    assert_int_equal(u.port, -1);
    assert_string_equal(u.host, "plc1");
    unsigned long v;
    assert_int_equal(plcio_url_get_uint(&u, "remote-tsap", 0, 0, 0xffff, &v), PLCIO_OK);
    assert_int_equal(v, 0x0102);
}

static void test_serial_and_ipv6(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("modbus-rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=7", &u), PLCIO_OK);
    assert_string_equal(u.scheme, "modbus-rtu");
    assert_string_equal(u.host, "");
    assert_string_equal(u.path, "/dev/ttyUSB0");
    assert_string_equal(plcio_url_get(&u, "parity"), "E");
    assert_int_equal(plcio_url_parse("modbus-tcp://[::1]:5020", &u), PLCIO_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5020);
    assert_int_equal(plcio_url_parse("modbus-tcp://h/%2Fx%20y?k=a%26b", &u), PLCIO_OK);
    assert_string_equal(u.path, "//x y");
    assert_string_equal(plcio_url_get(&u, "k"), "a&b");
}

static void test_malformed(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("192.168.0.1", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("://x", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:70000", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:12a", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?=1", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=1&a=2", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=%4", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=%zz", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://[::1", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s 7://h", &u), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse(NULL, &u), PLCIO_EINVAL);
    char longhost[400];
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost, "s7://", 5);
    longhost[sizeof longhost - 1] = '\0';
    assert_int_equal(plcio_url_parse(longhost, &u), PLCIO_ENOSPC);
    char many[1024] = "s7://h?";
    for (int i = 0; i < 30; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "k%d=1&", i);
    assert_int_equal(plcio_url_parse(many, &u), PLCIO_ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s7_url),
        cmocka_unit_test(test_tsap_hex_and_defaults),
        cmocka_unit_test(test_serial_and_ipv6),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
