/* Device URL splitting: the forms of DESIGN.md and the malformed ones. */
#include <string.h>

#include "plcio/plcio.h"
#include "plcio_test.h"

static void test_s7_url(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("S7://192.168.0.10:1102?rack=0&slot=2&pdu=960&type=op", &u, NULL), PLCIO_OK);
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
    assert_int_equal(plcio_url_parse("s7://plc1?local-tsap=0x0100&remote-tsap=0x0102", &u, NULL), PLCIO_OK);
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
    assert_int_equal(plcio_url_parse("modbus-rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=7", &u, NULL), PLCIO_OK);
    assert_string_equal(u.scheme, "modbus-rtu");
    assert_string_equal(u.host, "");
    assert_string_equal(u.path, "/dev/ttyUSB0");
    assert_string_equal(plcio_url_get(&u, "parity"), "E");
    assert_int_equal(plcio_url_parse("modbus-tcp://[::1]:5020", &u, NULL), PLCIO_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5020);
    assert_int_equal(plcio_url_parse("modbus-tcp://h/%2Fx%20y?k=a%26b", &u, NULL), PLCIO_OK);
    assert_string_equal(u.path, "//x y");
    assert_string_equal(plcio_url_get(&u, "k"), "a&b");
}

static void test_malformed(void **state)
{
    (void)state;
    plcio_url u;
    assert_int_equal(plcio_url_parse("192.168.0.1", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("://x", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:70000", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h:12a", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?=1", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=1&a=2", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=%4", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://h?a=%zz", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s7://[::1", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse("s 7://h", &u, NULL), PLCIO_ESYNTAX);
    assert_int_equal(plcio_url_parse(NULL, &u, NULL), PLCIO_EINVAL);
    char longhost[400];
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost, "s7://", 5);
    longhost[sizeof longhost - 1] = '\0';
    assert_int_equal(plcio_url_parse(longhost, &u, NULL), PLCIO_ENOSPC);
    char many[1024] = "s7://h?";
    for (int i = 0; i < 30; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "k%d=1&", i);
    assert_int_equal(plcio_url_parse(many, &u, NULL), PLCIO_ENOSPC);
}

/* Every refusal says which part or parameter and why (issue 23). */
typedef struct url_error_case {
    const char *url;
    int rc;
    const char *why; /* the whole message */
} url_error_case;

static void test_error_reasons(void **state)
{
    (void)state;
    static const url_error_case cases[] = {
        {"s7://127.0.0.1:0", PLCIO_ESYNTAX, "port 0 is out of range (1..65535)"},
        {"modbus-tcp://127.0.0.1:0", PLCIO_ESYNTAX, "port 0 is out of range (1..65535)"},
        {"s7://[::1]:0", PLCIO_ESYNTAX, "port 0 is out of range (1..65535)"},
        {"s7://h:00000", PLCIO_ESYNTAX, "port 00000 is out of range (1..65535)"},
        {"s7://h:65536", PLCIO_ESYNTAX, "port 65536 is out of range (1..65535)"},
        {"s7://h:99999999999999999999", PLCIO_ESYNTAX, "port 99999999999999999999 is out of range (1..65535)"},
        {"s7://h:12a", PLCIO_ESYNTAX, "port '12a' is not a number (1..65535)"},
        {"s7://h:-1", PLCIO_ESYNTAX, "port '-1' is not a number (1..65535)"},
        {"s7://h:", PLCIO_ESYNTAX, "':' without a port number (1..65535)"},
        {"s7://h?rack=0&rack=1", PLCIO_ESYNTAX, "parameter 'rack' is given twice"},
        {"s7://h?rack&rack", PLCIO_ESYNTAX, "parameter 'rack' is given twice"},
        {"s7://h?=1", PLCIO_ESYNTAX, "parameter '=1' has no name before '='"},
        {"s7://h?a=%zz", PLCIO_ESYNTAX, "value of parameter '%zz' has a bad %-escape (% takes two hex digits)"},
        {"s7://[::1", PLCIO_ESYNTAX, "'[' of an IPv6 address without its ']'"},
        {"s7://[::1]x", PLCIO_ESYNTAX, "expected ':PORT' after ']'"},
        {"192.168.0.1", PLCIO_ESYNTAX, "expected SCHEME://, e.g. s7://HOST or modbus-tcp://HOST"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_url u;
        plcio_error err = {1, "unset"};
        int rc = plcio_url_parse(cases[i].url, &u, &err);
        if (rc != cases[i].rc || err.code != rc || strcmp(err.text, cases[i].why) != 0)
            fail_msg("%s: rc %d '%s', expected %d '%s'", cases[i].url, rc, err.text, cases[i].rc, cases[i].why);
        assert_int_equal(plcio_url_parse(cases[i].url, &u, NULL), cases[i].rc); /* same answer without a message */
    }
    plcio_url u;
    plcio_error err = {1, "unset"};
    assert_int_equal(plcio_url_parse("s7://h:1", &u, &err), PLCIO_OK);
    assert_string_equal(err.text, "");
    assert_int_equal(err.code, PLCIO_OK);
    assert_int_equal(u.port, 1);
    assert_int_equal(plcio_url_parse("s7://h:65535", &u, NULL), PLCIO_OK);
    assert_int_equal(u.port, 65535);
}

/* s7:// takes no path and names a parameter out of range. */
static void test_s7_options_refuse(void **state)
{
    (void)state;
    static const url_error_case cases[] = {
        {"s7://h:1102/path", PLCIO_ESYNTAX,
         "s7:// URL takes no path, found '/path' (s7://HOST[:PORT][?rack=0&slot=1])"},
        {"s7://h/DB1?rack=0", PLCIO_ESYNTAX,
         "s7:// URL takes no path, found '/DB1' (s7://HOST[:PORT][?rack=0&slot=1])"},
        {"s7://h?rack=9", PLCIO_ERANGE, "s7:// parameter rack=9 is not a number in 0..7"},
        {"s7://h?pdu=abc", PLCIO_ERANGE, "s7:// parameter pdu=abc is not a number in 240..8192"},
        {"s7://h?slott=1", PLCIO_ESYNTAX, "unknown s7:// parameter 'slott'"},
        {"s7://h?protocol=plus", PLCIO_EUNSUPPORTED,
         "s7:// protocol=plus: this is the classic S7 client (protocol=classic); S7CommPlus is "
         "plcio_s7plus_client_new (plcio/s7plus.h)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_url u;
        assert_int_equal(plcio_url_parse(cases[i].url, &u, NULL), PLCIO_OK);
        plcio_s7_client_options o;
        plcio_s7_client_options_init(&o);
        plcio_error err = {0};
        int rc = plcio_s7_client_options_from_url(&o, &u, &err);
        if (rc != cases[i].rc || strcmp(err.text, cases[i].why) != 0)
            fail_msg("%s: rc %d '%s', expected %d '%s'", cases[i].url, rc, err.text, cases[i].rc, cases[i].why);
    }
    plcio_url u;
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    plcio_error err = {0};
    assert_int_equal(plcio_url_parse("s7://h:1102/", &u, NULL), PLCIO_OK); /* a trailing slash is no path */
    assert_int_equal(plcio_s7_client_options_from_url(&o, &u, &err), PLCIO_OK);
    assert_int_equal(o.port, 1102);
    plcio_s7_client_options_init(&o);
    assert_int_equal(plcio_url_parse("s7://h?protocol=classic&rack=0", &u, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_options_from_url(&o, &u, &err), PLCIO_OK); /* the classic client's own */
}

/* Modbus URLs: TCP/UDP take no path, serial ones need their device path. */
static void test_modbus_url_reasons(void **state)
{
    (void)state;
    static const url_error_case cases[] = {
        {"modbus-tcp://h:0", PLCIO_ESYNTAX, "port 0 is out of range (1..65535)"},
        {"modbus-tcp://h:5020/x", PLCIO_ESYNTAX, "modbus-tcp://HOST[:PORT] takes no path, found '/x'"},
        {"modbus-udp://h/x", PLCIO_ESYNTAX, "modbus-udp://HOST[:PORT] takes no path, found '/x'"},
        {"modbus-rtu://h:4001/dev/ttyS0", PLCIO_ESYNTAX, "modbus-rtu://HOST[:PORT] takes no path, found '/dev/ttyS0'"},
        {"modbus-rtu://", PLCIO_ESYNTAX,
         "modbus-rtu:// URL without a host or a serial device (modbus-rtu:///dev/ttyX)"},
        {"modbus-udp://", PLCIO_ESYNTAX, "modbus-udp:// URL without a host"},
        {"modbus-tcp://h?unit=256", PLCIO_ERANGE, "parameter unit=256 is not a number in 0..255"},
        {"modbus-tcp://h?unit=1&unit=2", PLCIO_ESYNTAX, "parameter 'unit' is given twice"},
        {"modbus-rtu:///dev/ttyS0?baud=fast", PLCIO_ERANGE, "parameter baud=fast is not a number in 50..4000000"},
        {"modbus-rtu:///dev/ttyS0?parity=X", PLCIO_ERANGE, "parameter parity=X: expected N, E or O"},
        {"modbus-tcp://h?colour=red", PLCIO_ESYNTAX,
         "unknown parameter 'colour' (unit, timeout, retries; serial: baud, parity, data-bits, stop-bits, rs485)"},
        {"modbus-tls://h", PLCIO_ESYNTAX,
         "modbus-tls:// needs ca=FILE (the CA that signed the server's certificate); insecure=1 skips every check"},
        {"modbus-tls://h?ca=a.pem&colour=red", PLCIO_ESYNTAX,
         "unknown parameter 'colour' (modbus-tls: ca, cert, key, server-name, verify-name, insecure, unit, timeout, "
         "retries)"},
        {"modbus-tls://h?ca=a.pem&verify-name=2", PLCIO_ERANGE, "parameter verify-name=2 is not a number in 0..1"},
        {"modbus-tls://h/x?ca=a.pem", PLCIO_ESYNTAX, "modbus-tls://HOST[:PORT] takes no path, found '/x'"},
        {"modbus-serial:///dev/ttyS0", PLCIO_ESYNTAX,
         "unknown scheme 'modbus-serial://' (modbus-tcp, modbus-tls, modbus-udp, modbus-rtu, modbus-ascii)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_error err = {0};
        int rc = plcio_modbus_url_check(cases[i].url, &err);
        if (rc != cases[i].rc || strcmp(err.text, cases[i].why) != 0)
            fail_msg("%s: rc %d '%s', expected %d '%s'", cases[i].url, rc, err.text, cases[i].rc, cases[i].why);
        plcio_modbus_client *c = NULL;
        plcio_error e;
        assert_int_equal(plcio_modbus_client_new(cases[i].url, NULL, &c, &e), cases[i].rc);
        assert_null(c);
        assert_string_equal(e.text, err.text); /* the constructor says what the check says */
    }
    static const char *const good[] = {"modbus-tcp://h:5020", "modbus-tcp://h/", "modbus-rtu:///dev/ttyUSB0?baud=9600",
                                       "modbus-ascii:///dev/ttyS1?parity=E&data-bits=7", "modbus-rtu://h:4001"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        plcio_error err = {0};
        if (plcio_modbus_url_check(good[i], &err) != PLCIO_OK) fail_msg("%s refused: %s", good[i], err.text);
    }
}

/* s7://...?protocol=: which protocol, and the S7CommPlus options taken from an s7:// URL */
static void test_s7_protocol(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int rc;
        plcio_s7_protocol proto;
    } cases[] = {
        {"s7://h", PLCIO_OK, PLCIO_S7_PROTOCOL_CLASSIC},
        {"s7://h?protocol=classic&slot=2", PLCIO_OK, PLCIO_S7_PROTOCOL_CLASSIC},
        {"s7://h?protocol=plus", PLCIO_OK, PLCIO_S7_PROTOCOL_PLUS},
        {"s7://h?protocol=auto", PLCIO_OK, PLCIO_S7_PROTOCOL_AUTO},
        {"s7plus://h", PLCIO_OK, PLCIO_S7_PROTOCOL_PLUS},
        {"s7://h?protocol=PLUS", PLCIO_ESYNTAX, 0},
        {"s7://h?protocol=", PLCIO_ESYNTAX, 0},
        {"s7plus://h?protocol=classic", PLCIO_ESYNTAX, 0},
        {"modbus-tcp://h?protocol=plus", PLCIO_ESYNTAX, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_url u;
        plcio_error err;
        memset(&err, 0, sizeof err);
        assert_int_equal(plcio_url_parse(cases[i].url, &u, NULL), PLCIO_OK);
        plcio_s7_protocol p = (plcio_s7_protocol)99;
        int rc = plcio_url_s7_protocol(&u, &p, &err);
        if (rc != cases[i].rc) fail_msg("%s: %d (%s), wanted %d", cases[i].url, rc, err.text, cases[i].rc);
        if (rc == PLCIO_OK) assert_int_equal(p, cases[i].proto);
        if (rc) assert_int_equal(err.code, rc);
    }
    plcio_url u;
    plcio_error err;
    assert_int_equal(plcio_url_parse("s7://h?protocol=bogus", &u, NULL), PLCIO_OK);
    plcio_s7_protocol p;
    assert_int_equal(plcio_url_s7_protocol(&u, &p, &err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "protocol=bogus: use classic, plus or auto"));
    assert_int_equal(plcio_url_s7_protocol(NULL, &p, &err), PLCIO_EINVAL);

    /* the S7CommPlus client from s7:// URLs: plus/auto with its keys (the classic ones ignored) */
    plcio_s7plus_client *c = NULL;
    assert_int_equal(
        plcio_s7plus_client_new("s7://h:1102?protocol=auto&slot=1&rack=0&insecure=1&keepalive=30000", NULL, &c, &err),
        PLCIO_OK);
    plcio_s7plus_client_free(c);
    assert_int_equal(plcio_s7plus_client_new("s7://h?insecure=1", NULL, &c, &err), PLCIO_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.text, "classic S7"));
    assert_int_equal(plcio_s7plus_client_new("s7://h?protocol=plus&insecure=1&bogus=1", NULL, &c, &err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "unknown parameter bogus"));
    assert_int_equal(plcio_s7plus_client_new("s7plus://h?insecure=1&slot=1", NULL, &c, &err), PLCIO_ESYNTAX);
    assert_int_equal(plcio_s7plus_client_new("s7plus://h?insecure=1&keepalive=-1", NULL, &c, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "keepalive must be 0..86400000 ms"));
    assert_int_equal(plcio_s7plus_client_new("s7plus://h?insecure=1&keepalive=86400001", NULL, &c, &err), PLCIO_ERANGE);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s7_url),
        cmocka_unit_test(test_tsap_hex_and_defaults),
        cmocka_unit_test(test_serial_and_ipv6),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_error_reasons),
        cmocka_unit_test(test_s7_options_refuse),
        cmocka_unit_test(test_modbus_url_reasons),
        cmocka_unit_test(test_s7_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
