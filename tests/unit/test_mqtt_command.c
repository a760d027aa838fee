/* The MQTT output's pieces without a broker: the command decoder (golden
 * inputs: what it takes, and the reason for each thing it refuses), topic
 * templates, JSON strings, the YAML `mqtt:` output (the queue file:
 * test_mqtt_spool.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqtt/mqtt_internal.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

static mqtt_command cmd;

static int decode(const char *s, char *err, size_t cap)
{
    return mqtt_command_decode((const uint8_t *)s, strlen(s), &cmd, err, cap);
}

static void test_command_takes_numbers_booleans_strings(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(decode(" {\"Level\": -1.5e3, \"Run\":true,\"Name\" : \"a\\\"\\u00e4\\ud83d\\ude00\", \"x\":0}\n",
                            err, sizeof err),
                     PLCIO_OK);
    assert_int_equal(cmd.count, 4);
    assert_string_equal(cmd.items[0].tag, "Level");
    assert_string_equal(cmd.items[0].value, "-1.5e3");
    assert_string_equal(cmd.items[1].value, "true");
    assert_string_equal(cmd.items[2].tag, "Name");
    assert_string_equal(cmd.items[2].value, "a\"\xc3\xa4\xf0\x9f\x98\x80");
    assert_int_equal(cmd.items[2].value_len, 8);
    assert_string_equal(cmd.items[3].value, "0");
}

static void test_command_refusals_say_why(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
        int rc;
    } cases[] = {
        {"", "a command is a JSON object", PLCIO_ESYNTAX},
        {"[1]", "a command is a JSON object", PLCIO_ESYNTAX},
        {"{}", "names no tag", PLCIO_ESYNTAX},
        {"{\"a\": 1", "',' or '}' is expected", PLCIO_ESYNTAX},
        {"{\"a\": 1,}", "a tag name (a JSON string) is expected", PLCIO_ESYNTAX},
        {"{\"a\" 1}", "':' is expected", PLCIO_ESYNTAX},
        {"{\"a\": null}", "null is not a value", PLCIO_ESYNTAX},
        {"{\"a\": [1]}", "a value must be a number", PLCIO_ESYNTAX},
        {"{\"a\": 1.}", "bad number", PLCIO_ESYNTAX},
        {"{\"a\": tru}", "a value must be a number", PLCIO_ESYNTAX},
        {"{\"a\": \"x}", "unterminated string", PLCIO_ESYNTAX},
        {"{\"a\": \"\\ud800\"}", "unpaired surrogate", PLCIO_ESYNTAX},
        {"{\"a\": \"\\u0000\"}", "NUL character", PLCIO_ESYNTAX},
        {"{\"a\": \"\\q\"}", "bad escape", PLCIO_ESYNTAX},
        {"{\"a\": 1} x", "something follows", PLCIO_ESYNTAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int rc = decode(cases[i].in, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].why))
            fail_msg("'%s': rc %d, '%s'; wanted %d, '%s'", cases[i].in, rc, err, cases[i].rc, cases[i].why);
    }
}

static void test_command_limits(void **state)
{
    (void)state;
    char err[256];
    size_t n = MQTT_COMMAND_MAX_BYTES + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[n] = '\0';
    big[0] = '{';
    assert_int_equal(decode(big, err, sizeof err), PLCIO_ERANGE);
    assert_non_null(strstr(err, "longer than 65536 bytes"));
    /* 257 tags */
    size_t at = 0;
    at += (size_t)sprintf(big + at, "{");
    for (int i = 0; i <= MQTT_COMMAND_MAX_ITEMS; i++)
        at += (size_t)sprintf(big + at, "%s\"t%d\":%d", i ? "," : "", i, i);
    (void)sprintf(big + at, "}");
    assert_int_equal(decode(big, err, sizeof err), PLCIO_ERANGE);
    assert_non_null(strstr(err, "more than 256 tags"));
    free(big);
}

static void test_set_payloads(void **state)
{
    (void)state;
    char err[256];
    static const struct {
        const char *in, *value;
    } ok[] = {{"42", "42"},     {" 4.5\n", "4.5"}, {"\"text\"", "text"},
              {"true", "true"}, {"on", "on"},      {"16#FF", "16#FF"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(mqtt_command_decode_value((const uint8_t *)ok[i].in, strlen(ok[i].in), &cmd, err, sizeof err),
                         PLCIO_OK);
        assert_int_equal(cmd.count, 1);
        assert_string_equal(cmd.items[0].value, ok[i].value);
    }
    assert_int_equal(mqtt_command_decode_value((const uint8_t *)"  ", 2, &cmd, err, sizeof err), PLCIO_ESYNTAX);
    assert_int_equal(mqtt_command_decode_value((const uint8_t *)"\"a\" b", 5, &cmd, err, sizeof err), PLCIO_ESYNTAX);
}

static void test_topics_and_json_strings(void **state)
{
    (void)state;
    char *t = mqtt_topic_render("plcio/{device}/{group}/{tag}/{client}", "plc+1", "fast", "Motor#Speed", "eng");
    assert_string_equal(t, "plcio/plc_1/fast/Motor_Speed/eng");
    free(t);
    t = mqtt_topic_render("{unknown}/{tag}", NULL, NULL, "Recipe[3].Temp", NULL);
    assert_string_equal(t, "{unknown}/Recipe[3].Temp");
    free(t);
    char buf[32];
    size_t n = 0;
    assert_true(mqtt_json_string(buf, sizeof buf, &n, "a\"\\\n\x01", 5));
    buf[n] = '\0';
    assert_string_equal(buf, "\"a\\\"\\\\\\u000a\\u0001\"");
    n = 0;
    assert_false(mqtt_json_string(buf, 4, &n, "abcdef", 6)); /* too small: refused, not cut */
}

static void test_yaml_mqtt_output(void **state)
{
    (void)state;
    static const char yaml[] = "devices: [{name: plc, url: \"s7://127.0.0.1\", groups: [{tags: [{address: MW0}]}]}]\n"
                               "outputs:\n"
                               "  - mqtt: {url: [\"mqtt://a:1883\", \"mqtts://b\"], version: 5, qos: 2, retain: true,\n"
                               "           every: 1s, writable: [MW0], keepalive: 10s, clean-session: false,\n"
                               "           group-topic: \"g/{group}\", queue: 10, queue-file: q.bin}\n";
    plcio_sync_config *cfg = NULL;
    plcio_error err = {0};
    assert_int_equal(plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", "/etc/plcio", &cfg, &err), PLCIO_OK);
    assert_int_equal(cfg->output_count, 1);
    const plcio_sync_mqtt_spec *m = cfg->outputs[0].mqtt;
    assert_int_equal(cfg->outputs[0].kind, PLCIO_OUTPUT_MQTT);
    assert_int_equal(m->broker_count, 2);
    assert_string_equal(m->brokers[1], "mqtts://b");
    assert_int_equal(m->version, 5);
    assert_int_equal(m->qos, 2);
    assert_true(m->retain && m->on_change && m->per_tag && !m->clean_session);
    assert_int_equal(m->every_ms, 1000);
    assert_int_equal(m->keepalive_s, 10);
    assert_int_equal(m->writable_count, 1);
    assert_string_equal(m->group_topic, "g/{group}");
    assert_int_equal(m->queue, 10);
    assert_string_equal(m->queue_file, "/etc/plcio/q.bin");
    plcio_sync_config_free(cfg);
    static const struct {
        const char *out, *why;
    } bad[] = {
        {"mqtt: {url: \"http://x\"}", "is not an mqtt:// or mqtts:// URL"},
        {"mqtt: {qos: 1}", "needs 'url'"},
        {"mqtt: {url: \"mqtt://x\", version: 4.1}", "version must be 3.1.1 or 5"},
        {"mqtt: {url: \"mqtt://x\", on-change: false}", "publishes nothing"},
        {"mqtt: {url: \"mqtt://x\", per-tag: false}", "publishes nothing"},
        {"mqtt: {url: \"mqtt://x\", tls: {cert: c.pem}}", "both 'cert' and 'key'"},
        {"mqtt: {url: \"mqtt://x\", qos: 3}", "out of range"},
        {"mqtt: {url: \"mqtt://x\", topics: a}", "topics"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "devices: [{name: plc, url: \"s7://h\", groups: [{tags: [{address: MW0}]}]}]\n"
                 "outputs: [{%s}]\n",
                 bad[i].out);
        plcio_error_clear(&err);
        cfg = NULL;
        int rc = plcio_sync_config_parse(text, strlen(text), "t.yaml", NULL, &cfg, &err);
        plcio_sync_config_free(cfg);
        if (rc == PLCIO_OK || !strstr(err.text, bad[i].why))
            fail_msg("%s: rc %d, '%s'; wanted '%s'", bad[i].out, rc, err.text, bad[i].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_takes_numbers_booleans_strings),
        cmocka_unit_test(test_command_refusals_say_why),
        cmocka_unit_test(test_command_limits),
        cmocka_unit_test(test_set_payloads),
        cmocka_unit_test(test_topics_and_json_strings),
        cmocka_unit_test(test_yaml_mqtt_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
