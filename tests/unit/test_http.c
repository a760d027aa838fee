/* The HTTP output without a network: the config's http: section, the checks of
 * plcio_http_new (address, token, TLS beyond loopback), the JSON reader for
 * writes and the JSON writer. Served end to end in tests/web. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out/http_internal.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

static void test_config_section(void **state)
{
    (void)state;
    const char *y = "devices:\n  - url: s7://h\n    groups: [{db: 1}]\n"
                    "http:\n  listen: 127.0.0.1:9000\n  token-file: secret/web.token\n  writes: true\n"
                    "  read-auth: yes\n  tls: {cert: c.pem, key: /abs/k.pem}\n  cors-origin: https://x\n"
                    "  tag-metrics: true\n";
    plcio_sync_config *c = NULL;
    plcio_error err;
    assert_int_equal(plcio_sync_config_parse(y, strlen(y), "w.yaml", "/etc/plcio", &c, &err), PLCIO_OK);
    assert_true(c->http.present);
    assert_string_equal(c->http.listen, "127.0.0.1:9000");
    assert_string_equal(c->http.token_file, "/etc/plcio/secret/web.token");
    assert_string_equal(c->http.tls_cert, "/etc/plcio/c.pem");
    assert_string_equal(c->http.tls_key, "/abs/k.pem");
    assert_string_equal(c->http.cors_origin, "https://x");
    assert_true(c->http.writes && c->http.read_auth && c->http.tag_metrics);
    assert_null(c->http.token_env);
    plcio_sync_config_free(c);

    const char *none = "devices:\n  - url: s7://h\n    groups: [{db: 1}]\n";
    assert_int_equal(plcio_sync_config_parse(none, strlen(none), "w.yaml", NULL, &c, &err), PLCIO_OK);
    assert_false(c->http.present);
    plcio_sync_config_free(c);

    static const struct {
        const char *http, *want;
    } bad[] = {
        {"http:\n  port: 80\n", "w.yaml:5:3: unknown key 'port' in http"},
        {"http:\n  writes: maybe\n", "w.yaml:5:11: http writes must be true or false"},
        {"http:\n  tls: {cert: a, pem: b}\n", "unknown key 'pem' in http tls"},
        {"http: 8080\n", "w.yaml:4:7: http must be a mapping"},
        {"http:\n  listen: ''\n", "http listen must not be empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s", none, bad[i].http);
        c = NULL;
        assert_int_not_equal(plcio_sync_config_parse(text, strlen(text), "w.yaml", NULL, &c, &err), PLCIO_OK);
        assert_null(c);
        if (!strstr(err.text, bad[i].want)) fail_msg("%s: got '%s', want '%s'", bad[i].http, err.text, bad[i].want);
    }
}

static int new_server(const plcio_http_options *o, plcio_error *e)
{
    plcio_http *h = NULL;
    int rc = plcio_http_new(o, &h, e);
    assert_true((rc == PLCIO_OK) == (h != NULL));
    plcio_http_free(h);
    return rc;
}

static void test_options(void **state)
{
    (void)state;
    plcio_error e;
    plcio_http_options o;
    memset(&o, 0, sizeof o);
    assert_int_equal(new_server(&o, &e), PLCIO_OK); /* 127.0.0.1:8080, read only */
    static const struct {
        const char *listen;
        int rc;
        const char *want;
    } addr[] = {
        {"127.0.0.1:0", PLCIO_OK, ""},
        {"[::1]:8080", PLCIO_OK, ""},
        {"localhost:1", PLCIO_OK, ""},
        {"127.5.6.7:80", PLCIO_OK, ""},
        {"0.0.0.0:8080", PLCIO_EINVAL, "beyond the loopback interface: that needs TLS"},
        {"10.1.2.3:8080", PLCIO_EINVAL, "needs TLS"},
        {"[::]:8080", PLCIO_EINVAL, "needs TLS"},
        {"8080", PLCIO_EINVAL, "expected HOST:PORT"},
        {"127.0.0.1:", PLCIO_EINVAL, "is not 0..65535"},
        {"127.0.0.1:65536", PLCIO_EINVAL, "is not 0..65535"},
        {"127.0.0.1:80x", PLCIO_EINVAL, "is not 0..65535"},
        {"plc.example:80", PLCIO_EINVAL, "not a numeric IPv4 or IPv6 address"},
        {"[::1:80", PLCIO_EINVAL, "expected [IPv6]:PORT"},
    };
    for (size_t i = 0; i < sizeof addr / sizeof addr[0]; i++) {
        o.listen = addr[i].listen;
        plcio_error_clear(&e);
        int rc = new_server(&o, &e);
        if (rc != addr[i].rc || !strstr(e.text, addr[i].want))
            fail_msg("%s: %d '%s', want %d '%s'", addr[i].listen, rc, e.text, addr[i].rc, addr[i].want);
    }
    o.listen = NULL;
    o.writes = true;
    assert_int_equal(new_server(&o, &e), PLCIO_EINVAL);
    assert_non_null(strstr(e.text, "writes needs a bearer token"));
    o.token = "short";
    assert_int_equal(new_server(&o, &e), PLCIO_EINVAL);
    assert_non_null(strstr(e.text, "too short"));
    o.token = "   long-enough-token \n";
    assert_int_equal(new_server(&o, &e), PLCIO_OK);
    o.token = NULL;
    o.token_env = "PLCIO_TEST_HTTP_TOKEN_UNSET";
    unsetenv(o.token_env);
    assert_int_equal(new_server(&o, &e), PLCIO_ENOTFOUND);
    setenv(o.token_env, "from-the-environment", 1);
    assert_int_equal(new_server(&o, &e), PLCIO_OK);
    o.token_env = NULL;
    o.token_file = "/nonexistent/plcio/token";
    assert_int_equal(new_server(&o, &e), PLCIO_EIO);
    assert_non_null(strstr(e.text, "/nonexistent/plcio/token"));
    o.token_file = NULL;
    o.writes = false;
    o.tls_cert = "/nonexistent/c.pem";
    assert_int_equal(new_server(&o, &e), PLCIO_EINVAL); /* no key */
    o.tls_key = "/nonexistent/k.pem";
    assert_int_equal(new_server(&o, &e), PLCIO_EIO);
    o.tls_cert = o.tls_key = NULL;
    o.cors_origin = "https://a\r\nSet-Cookie: x=1";
    assert_int_equal(new_server(&o, &e), PLCIO_EINVAL);
}

static void parse_ok(const char *body, size_t want_count, const char *tag0, const char *value0)
{
    http_write_item *items = NULL;
    size_t n = 0;
    char err[200] = "";
    int rc = http_parse_writes(body, strlen(body), &items, &n, err, sizeof err);
    if (rc != PLCIO_OK) fail_msg("%s: %s", body, err);
    assert_int_equal(n, want_count);
    assert_string_equal(items[0].tag, tag0);
    assert_string_equal(items[0].value, value0);
    http_write_items_free(items, n);
}

static void test_write_bodies(void **state)
{
    (void)state;
    parse_ok("{\"Level\": 1.5e3}", 1, "Level", "1.5e3");
    parse_ok(" [ {\"value\": true, \"tag\": \"Pump.Run\"} , {\"tag\":\"b\",\"value\":\"x\"} ] ", 2, "Pump.Run", "true");
    parse_ok("{\"Name\": \"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\n\"}", 1, "Name",
             "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \n");
    parse_ok("{\"a\": -0}", 1, "a", "-0");
    static const struct {
        const char *body, *want;
    } bad[] = {
        {"", "expected {"},
        {"{}", "no values"},
        {"{\"a\": 1,}", "a tag name"},
        {"{\"a\" 1}", "':' is expected"},
        {"{\"a\": 1} {}", "data after the JSON document"},
        {"{\"a\": 1, \"a\": 2}", "given twice"},
        {"{\"a\": null}", "null cannot be written"},
        {"{\"a\": {\"b\": 1}}", "a number, a string or true/false"},
        {"{\"a\": 1.}", "bad number"},
        {"{\"a\": .5}", "not a JSON value"},
        {"{\"a\": 1e}", "bad number"},
        {"{\"a\": \"\\x\"}", "bad escape"},
        {"{\"a\": \"\\udc00\"}", "unpaired surrogate"},
        {"{\"a\": \"\\u0000\"}", "NUL character"},
        {"{\"a\": \"tab\there\"}", "control character"},
        {"{\"a\": \"open}", "unterminated string"},
        {"[{\"tag\": 1, \"value\": 1}]", "\"tag\" must be a string"},
        {"[{\"tag\": \"a\"}]", "needs \"tag\" and \"value\""},
        {"[1]", "each element must be"},
        {"{\"a\xff\": 1}", "not UTF-8"},
        {"{\"\xed\xa0\x80\": 1}", "not UTF-8"},
        {"{\"\xc0\xaf\": 1}", "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_write_item *items = (http_write_item *)1;
        size_t n = 99;
        char err[200] = "";
        int rc = http_parse_writes(bad[i].body, strlen(bad[i].body), &items, &n, err, sizeof err);
        if (rc != PLCIO_ESYNTAX || items || n || !strstr(err, bad[i].want))
            fail_msg("%s: %d '%s', want '%s'", bad[i].body, rc, err, bad[i].want);
    }
    /* at most HTTP_WRITE_ITEMS_MAX values */
    hbuf b = {0};
    hbuf_puts(&b, "{");
    for (int i = 0; i <= HTTP_WRITE_ITEMS_MAX; i++)
        hbuf_printf(&b, "%s\"t%d\": %d", i ? "," : "", i, i);
    hbuf_puts(&b, "}");
    http_write_item *items = NULL;
    size_t n = 0;
    char err[200];
    assert_int_equal(http_parse_writes(b.data, b.len, &items, &n, err, sizeof err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err, "too many values"));
    hbuf_free(&b);
}

static void test_json_writer(void **state)
{
    (void)state;
    hbuf b = {0};
    hbuf_json_str(&b, "a\"b\\c\n\x01\x7f\xc3\xa9", 10);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\"");
    b.len = 0;
    hbuf_label(&b, "x\"y\\z\nw");
    assert_string_equal(b.data, "x\\\"y\\\\z\\nw");
    hbuf_free(&b);
    /* values by type */
    static const struct {
        plcio_type type;
        unsigned length;
        uint8_t raw[8];
        uint32_t size;
        const char *want;
    } cases[] = {
        {PLCIO_TYPE_INT, 0, {0xff, 0xfe}, 2, "-2"},
        {PLCIO_TYPE_REAL, 0, {0x40, 0x20, 0x00, 0x00}, 4, "2.5"},
        {PLCIO_TYPE_REAL, 0, {0x7f, 0xc0, 0x00, 0x00}, 4, "null"}, /* NaN is not JSON */
        {PLCIO_TYPE_BOOL, 0, {0x02}, 1, "true"},                   /* bit 1 */
        {PLCIO_TYPE_STRING, 4, {4, 2, 'o', '"'}, 6, "\"o\\\"\""},
        {PLCIO_TYPE_STRING, 4, {4, 9, 'x'}, 6, "null"}, /* cur > max: undecodable */
        {PLCIO_TYPE_TIME, 0, {0, 0, 0x03, 0xe8}, 4, "\"T#1s\""},
    };
    char *scratch = malloc(HTTP_TEXT_MAX);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_sink_tag t = {.name = "t",
                            .device = "d",
                            .group = "g",
                            .type = cases[i].type,
                            .length = cases[i].length,
                            .bit = 1,
                            .size = cases[i].size};
        uint8_t raw[8] = {0};
        memcpy(raw, cases[i].raw, sizeof raw);
        hbuf v = {0};
        http_json_value(&v, &t, raw, scratch);
        if (strcmp(v.data, cases[i].want) != 0) fail_msg("case %zu: %s, want %s", i, v.data, cases[i].want);
        hbuf_free(&v);
    }
    free(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_section),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_write_bodies),
        cmocka_unit_test(test_json_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
