/* plcio's value codecs against foreign encoders: tests/interop/value_oracle.js
 * prints S7 bytes made by nodes7 (DATE_AND_TIME, DTL), Node's Buffer
 * (integers, REAL, LREAL, Latin-1 and UTF-16 strings) and JavaScript's Date
 * (DATE, TIME_OF_DAY, LDT), each with its text. For every line plcio must
 * decode the bytes to the same text (numbers: to the same value) and encode
 * the text to the same bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/core.h"
#include "plcio/value.h"
#include "plcio_test.h"

static char line[16384];
static char textbuf[70000];

static void check_line(const char *l, int *counts)
{
    cJSON *o = cJSON_Parse(l);
    if (!o) fail_msg("oracle line is not JSON: %.80s", l);
    const char *tname = cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring;
    const char *hex = cJSON_GetObjectItemCaseSensitive(o, "hex")->valuestring;
    const char *text = cJSON_GetObjectItemCaseSensitive(o, "text")->valuestring;
    const cJSON *len_item = cJSON_GetObjectItemCaseSensitive(o, "length");
    unsigned length = len_item ? (unsigned)len_item->valuedouble : 0;
    plcio_type type;
    assert_int_equal(plcio_type_parse(tname, strlen(tname), &type), PLCIO_OK);
    counts[type]++;
    static uint8_t want[40000], got[40000];
    size_t n = plcio_test_hex(hex, want, sizeof want);
    assert_true(n != (size_t)-1);
    plcio_error err = {0};

    /* bytes -> value -> text */
    static plcio_value v;
    plcio_value_init(&v, type);
    plcio_value_use_buffer(&v, textbuf, sizeof textbuf);
    size_t used;
    if (plcio_value_decode(&v, type, length, want, n, 0, &used, &err) != PLCIO_OK)
        fail_msg("%s %s: %s", tname, hex, err.text);
    assert_int_equal(used, n);
    char out[8192];
    size_t olen;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &olen), PLCIO_OK);
    if (type == PLCIO_TYPE_REAL || type == PLCIO_TYPE_LREAL) {
        double js = strtod(text, NULL);
        if (!(v.v.f == js || (isinf(js) && v.v.f == js)))
            fail_msg("%s %s: plcio %.17g, JavaScript %s", tname, hex, v.v.f, text);
    } else if (strcmp(out, text) != 0) {
        fail_msg("%s %s: plcio prints '%s', the oracle '%s'", tname, hex, out, text);
    }

    /* oracle text -> value -> bytes */
    static plcio_value w;
    plcio_value_init(&w, PLCIO_TYPE_BOOL);
    if (plcio_value_from_text(&w, type, length, text, strlen(text), &err) != PLCIO_OK)
        fail_msg("%s '%s': %s", tname, text, err.text);
    memset(got, 0xEE, n);
    if (plcio_value_encode(&w, got, n, 0, &used, &err) != PLCIO_OK) fail_msg("%s '%s': %s", tname, text, err.text);
    assert_int_equal(used, n);
    if (memcmp(got, want, n) != 0) fail_msg("%s '%s': plcio encodes other bytes than %s", tname, text, hex);
    cJSON_Delete(o);
}

/* The oracle, stopped by the teardown on every path (a failed check included). */
static plcio_test_proc proc = {0, -1, ""};

static int stop_oracle(void **state)
{
    (void)state;
    plcio_test_proc_stop(&proc);
    return 0;
}

static void test_against_oracle(void **state)
{
    (void)state;
    char script[4096];
    snprintf(script, sizeof script, "%s/../value_oracle.js", plcio_test_node_modules());
    const char *argv[] = {"node", script, "--seconds", "60", NULL};
    assert_int_equal(plcio_test_proc_start(&proc, argv, NULL, 0, 90), 0);
    int counts[PLCIO_TYPE_COUNT_] = {0};
    int lines = 0;
    for (;;) {
        if (plcio_test_proc_read_line(&proc, line, sizeof line, 60000) != 0) {
            plcio_test_proc_stop(&proc);
            fail_msg("oracle stopped after %d lines", lines);
        }
        if (strncmp(line, "done ", 5) == 0) {
            assert_int_equal(atoi(line + 5), lines);
            break;
        }
        check_line(line, counts);
        lines++;
    }
    assert_int_equal(plcio_test_proc_wait(&proc, 10000), 0);
    /* every type the oracle covers was seen */
    const plcio_type covered[] = {PLCIO_TYPE_DATE_AND_TIME, PLCIO_TYPE_DTL,   PLCIO_TYPE_DATE,   PLCIO_TYPE_TIME_OF_DAY,
                                  PLCIO_TYPE_LDT,           PLCIO_TYPE_REAL,  PLCIO_TYPE_LREAL,  PLCIO_TYPE_SINT,
                                  PLCIO_TYPE_INT,           PLCIO_TYPE_UINT,  PLCIO_TYPE_DINT,   PLCIO_TYPE_UDINT,
                                  PLCIO_TYPE_LINT,          PLCIO_TYPE_ULINT, PLCIO_TYPE_STRING, PLCIO_TYPE_WSTRING};
    for (size_t i = 0; i < sizeof covered / sizeof covered[0]; i++) {
        if (counts[covered[i]] < 100) fail_msg("only %d %s cases", counts[covered[i]], plcio_type_name(covered[i]));
    }
    print_message("checked %d values from nodes7/Buffer/Date\n", lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_against_oracle, stop_oracle)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
