/* Value text forms: numbers, booleans, IEC durations, ISO/IEC dates, strings,
 * and the error messages for text that is not a value of the type. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "plcio/core.h"
#include "plcio/value.h"
#include "plcio_test.h"

static plcio_error err = {0};

/* Parse `text` as `type`; expect rc. */
static int parse(plcio_value *v, plcio_type type, unsigned length, const char *text)
{
    plcio_value_init(v, PLCIO_TYPE_BOOL);
    plcio_error_clear(&err);
    return plcio_value_from_text(v, type, length, text, strlen(text), &err);
}

static void expect_ok(plcio_value *v, plcio_type type, const char *text)
{
    int rc = parse(v, type, 0, text);
    if (rc != PLCIO_OK) fail_msg("%s '%s': %d %s", plcio_type_name(type), text, rc, err.text);
}

/* Text -> value -> text gives `printed`, and that reads back to the same bytes. */
static void expect_text(plcio_type type, const char *text, const char *printed)
{
    plcio_value v, w;
    expect_ok(&v, type, text);
    char out[PLCIO_VALUE_TEXT_MAX];
    size_t n;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_OK);
    if (strcmp(out, printed) != 0)
        fail_msg("%s '%s' printed '%s', want '%s'", plcio_type_name(type), text, out, printed);
    assert_int_equal(n, strlen(printed));
    expect_ok(&w, type, out);
    uint8_t a[16], b[16];
    assert_int_equal(plcio_value_encode(&v, a, sizeof a, 0, NULL, NULL), PLCIO_OK);
    assert_int_equal(plcio_value_encode(&w, b, sizeof b, 0, NULL, NULL), PLCIO_OK);
    assert_memory_equal(a, b, plcio_type_size(type, 0));
}

static void expect_fail(plcio_type type, const char *text, int rc, const char *msg_part)
{
    plcio_value v;
    int got = parse(&v, type, 0, text);
    if (got != rc) fail_msg("%s '%s': got %d want %d (%s)", plcio_type_name(type), text, got, rc, err.text);
    if (msg_part && !strstr(err.text, msg_part))
        fail_msg("%s '%s': message '%s' lacks '%s'", plcio_type_name(type), text, err.text, msg_part);
    assert_true(strlen(err.text) > 0);
}

/* Text -> bytes (hex). */
static void expect_bytes(plcio_type type, const char *text, const char *hex)
{
    plcio_value v;
    expect_ok(&v, type, text);
    uint8_t want[16], got[16];
    size_t n = plcio_test_hex(hex, want, sizeof want), used = 0;
    assert_int_equal(plcio_value_encode(&v, got, sizeof got, 0, &used, &err), PLCIO_OK);
    assert_int_equal(used, n);
    if (memcmp(got, want, n) != 0) fail_msg("%s '%s' encoded differently from %s", plcio_type_name(type), text, hex);
}

static void test_error_messages(void **state)
{
    (void)state;
    plcio_value v;
    assert_int_equal(parse(&v, PLCIO_TYPE_INT, 0, "70000"), PLCIO_ERANGE);
    assert_string_equal(err.text, "70000 is out of range for INT (-32768..32767)");
    assert_int_equal(parse(&v, PLCIO_TYPE_DINT, 0, "1.5"), PLCIO_ESYNTAX);
    assert_string_equal(err.text, "'1.5' is not a valid DINT: expected a whole number in -2147483648..2147483647");
    assert_int_equal(parse(&v, PLCIO_TYPE_BOOL, 0, "maybe"), PLCIO_ESYNTAX);
    assert_string_equal(err.text, "'maybe' is not a valid BOOL (true, false, 1 or 0)");
    expect_fail(PLCIO_TYPE_UINT, "-1", PLCIO_ERANGE, "-1 is out of range for UINT (0..65535)");
    expect_fail(PLCIO_TYPE_SINT, "128", PLCIO_ERANGE, "(-128..127)");
    expect_fail(PLCIO_TYPE_BYTE, "256", PLCIO_ERANGE, "BYTE (0..255)");
    expect_fail(PLCIO_TYPE_ULINT, "18446744073709551616", PLCIO_ERANGE, "ULINT");
    expect_fail(PLCIO_TYPE_LINT, "-9223372036854775809", PLCIO_ERANGE, "LINT");
    expect_fail(PLCIO_TYPE_LINT, "99999999999999999999999999", PLCIO_ERANGE, "LINT");
    expect_fail(PLCIO_TYPE_INT, "", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "12abc", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "1 2", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "--1", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "16#", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "_1", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_INT, "1_", PLCIO_ESYNTAX, "INT");
    expect_fail(PLCIO_TYPE_DINT, "INT#5", PLCIO_ESYNTAX, "not a DINT");
    expect_fail(PLCIO_TYPE_INT, "16#10000", PLCIO_ERANGE, "INT");
    expect_fail(PLCIO_TYPE_BOOL, "yes", PLCIO_ESYNTAX, "BOOL");
    expect_fail(PLCIO_TYPE_BOOL, "2", PLCIO_ESYNTAX, "BOOL");
    expect_fail(PLCIO_TYPE_REAL, "abc", PLCIO_ESYNTAX, "REAL");
    expect_fail(PLCIO_TYPE_REAL, "1.5.", PLCIO_ESYNTAX, "REAL");
    expect_fail(PLCIO_TYPE_REAL, "", PLCIO_ESYNTAX, "REAL");
    /* the user's text and the REAL range, not the double nearest to it */
    expect_fail(PLCIO_TYPE_REAL, "1e39", PLCIO_ERANGE,
                "1e39 is out of range for REAL (-3.40282347e+38..3.40282347e+38)");
    expect_fail(PLCIO_TYPE_REAL, "-3.5e38", PLCIO_ERANGE, "-3.5e38 is out of range for REAL");
    expect_fail(PLCIO_TYPE_LREAL, "1e400", PLCIO_ERANGE, "1e400 is out of range for LREAL");
    expect_fail(PLCIO_TYPE_REAL, "-3.5e38", PLCIO_ERANGE, "REAL");
    expect_fail(PLCIO_TYPE_LREAL, "1e400", PLCIO_ERANGE, "LREAL");
    expect_fail(PLCIO_TYPE_CHAR, "ab", PLCIO_ESYNTAX, "CHAR");
    expect_fail(PLCIO_TYPE_CHAR, "", PLCIO_ESYNTAX, "CHAR");
    expect_fail(PLCIO_TYPE_CHAR, "\xC4\x80", PLCIO_ERANGE, "CHAR");           /* U+0100 */
    expect_fail(PLCIO_TYPE_WCHAR, "\xF0\x9F\x98\x80", PLCIO_ERANGE, "WCHAR"); /* U+1F600 */
    expect_fail(PLCIO_TYPE_CHAR, "\xC3", PLCIO_ESYNTAX, "CHAR");              /* truncated UTF-8 */
    expect_fail(PLCIO_TYPE_WCHAR, "\xED\xA0\x80", PLCIO_ESYNTAX, "WCHAR");    /* CESU surrogate */
    /* Long input is cut in the message. */
    expect_fail(PLCIO_TYPE_INT, "1111111111111111111111111111111111111111111111111111111111111111", PLCIO_ERANGE,
                "...");
}

static void test_numbers(void **state)
{
    (void)state;
    expect_text(PLCIO_TYPE_INT, "-32768", "-32768");
    expect_text(PLCIO_TYPE_INT, "+5", "5");
    expect_text(PLCIO_TYPE_INT, " 42\n", "42");
    expect_text(PLCIO_TYPE_INT, "INT#-7", "-7");
    expect_text(PLCIO_TYPE_DINT, "1_000_000", "1000000");
    expect_text(PLCIO_TYPE_BYTE, "16#FF", "255");
    expect_text(PLCIO_TYPE_BYTE, "16#ff", "255");
    expect_text(PLCIO_TYPE_BYTE, "2#1010_0101", "165");
    expect_text(PLCIO_TYPE_BYTE, "8#377", "255");
    expect_text(PLCIO_TYPE_WORD, "0xBEEF", "48879");
    expect_text(PLCIO_TYPE_WORD, "WORD#16#FFFF", "65535");
    expect_text(PLCIO_TYPE_UINT, "-0", "0");
    expect_text(PLCIO_TYPE_LWORD, "16#FFFFFFFFFFFFFFFF", "18446744073709551615");
    expect_text(PLCIO_TYPE_LINT, "-9223372036854775808", "-9223372036854775808");
    expect_text(PLCIO_TYPE_ULINT, "18446744073709551615", "18446744073709551615");
    expect_text(PLCIO_TYPE_BOOL, "TRUE", "true");
    expect_text(PLCIO_TYPE_BOOL, "False", "false");
    expect_text(PLCIO_TYPE_BOOL, "1", "true");
    expect_text(PLCIO_TYPE_BOOL, "0", "false");
    expect_text(PLCIO_TYPE_BOOL, "BOOL#true", "true");
    expect_text(PLCIO_TYPE_REAL, "3.5", "3.5");
    expect_text(PLCIO_TYPE_REAL, "0.1", "0.100000001");
    expect_text(PLCIO_TYPE_REAL, "-0", "-0");
    expect_text(PLCIO_TYPE_REAL, "3.40282347e+38", "3.40282347e+38");
    expect_text(PLCIO_TYPE_REAL, "1.40129846e-45", "1.40129846e-45");
    expect_text(PLCIO_TYPE_REAL, "inf", "inf");
    expect_text(PLCIO_TYPE_REAL, "-inf", "-inf");
    expect_text(PLCIO_TYPE_REAL, "REAL#1e3", "1000");
    expect_text(PLCIO_TYPE_LREAL, "0.1", "0.10000000000000001");
    expect_text(PLCIO_TYPE_LREAL, "1.7976931348623157e308", "1.7976931348623157e+308");
    expect_text(PLCIO_TYPE_LREAL, "4.9406564584124654e-324", "4.9406564584124654e-324");
    plcio_value v;
    expect_ok(&v, PLCIO_TYPE_REAL, "nan");
    assert_true(isnan(v.v.f));
    expect_bytes(PLCIO_TYPE_REAL, "3.5", "40 60 00 00");
    expect_bytes(PLCIO_TYPE_REAL, "123.456", "42 F6 E9 79");
    expect_bytes(PLCIO_TYPE_LREAL, "-2.5", "C0 04 00 00 00 00 00 00");
    expect_bytes(PLCIO_TYPE_INT, "-2", "FF FE");
    expect_bytes(PLCIO_TYPE_DINT, "305419896", "12 34 56 78");
    /* Encoding a C value out of range: ERANGE, nothing written. */
    plcio_value_init(&v, PLCIO_TYPE_INT);
    v.v.i = 70000;
    uint8_t b[2] = {0xAA, 0xAA};
    assert_int_equal(plcio_value_encode(&v, b, 2, 0, NULL, &err), PLCIO_ERANGE);
    assert_string_equal(err.text, "70000 is out of range for INT (-32768..32767)");
    assert_int_equal(b[0], 0xAA);
    plcio_value_init(&v, PLCIO_TYPE_REAL);
    v.v.f = 1e39;
    assert_int_equal(plcio_value_encode(&v, b, 2, 0, NULL, NULL), PLCIO_ENOSPC);
    uint8_t r[4];
    assert_int_equal(plcio_value_encode(&v, r, 4, 0, NULL, &err), PLCIO_ERANGE);
    assert_string_equal(err.text, "1e+39 is out of range for REAL (-3.40282347e+38..3.40282347e+38)");
    plcio_value_init(&v, PLCIO_TYPE_USINT);
    v.v.u = 256;
    assert_int_equal(plcio_value_encode(&v, r, 4, 0, NULL, &err), PLCIO_ERANGE);
    assert_string_equal(err.text, "256 is out of range for USINT (0..255)");
}

static void test_chars_and_strings(void **state)
{
    (void)state;
    expect_text(PLCIO_TYPE_CHAR, "A", "A");
    expect_bytes(PLCIO_TYPE_CHAR, "\xC3\xA4", "E4"); /* a-umlaut is Latin-1 0xE4 */
    expect_bytes(PLCIO_TYPE_WCHAR, "\xE6\xBC\xA2", "6F 22");
    plcio_value v;
    /* A NUL character is a character. */
    plcio_value_init(&v, PLCIO_TYPE_CHAR);
    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_CHAR, 0, "\0", 1, NULL), PLCIO_OK);
    assert_int_equal(v.v.u, 0);
    char out[8];
    size_t n;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_OK);
    assert_int_equal(n, 1);

    /* STRING: exact fit, one too many, not Latin-1, bad UTF-8, bad length. */
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 5, "h\xC3\xA9llo"), PLCIO_OK);
    uint8_t buf[16];
    size_t used;
    assert_int_equal(plcio_value_encode(&v, buf, sizeof buf, 0, &used, NULL), PLCIO_OK);
    assert_int_equal(used, 7);
    assert_memory_equal(buf, "\x05\x05h\xE9llo", 7);
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 5, "hello!"), PLCIO_ERANGE);
    assert_string_equal(err.text, "6 characters do not fit STRING[5]");
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 5, "\xE6\xBC\xA2"), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "U+6F22"));
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 5, "a\xFF"), PLCIO_ESYNTAX);
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 255, "a"), PLCIO_ERANGE);
    assert_int_equal(parse(&v, PLCIO_TYPE_WSTRING, 16383, "a"), PLCIO_ERANGE);
    assert_int_equal(parse(&v, PLCIO_TYPE_WSTRING, 1, "\xF0\x9F\x98\x80"), PLCIO_ERANGE);
    assert_string_equal(err.text, "2 UTF-16 units do not fit WSTRING[1]");
    /* Strings are taken as they are: no trimming, no prefixes. */
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 10, " T#5s "), PLCIO_OK);
    assert_int_equal(v.text_len, 6);
    /* Text longer than the inline buffer needs an attached buffer. */
    static char big[600];
    memset(big, 'x', 599);
    big[599] = '\0';
    assert_int_equal(parse(&v, PLCIO_TYPE_WSTRING, 1000, big), PLCIO_ENOSPC);
    /* C value with broken UTF-8 is refused by encode. */
    plcio_value_init(&v, PLCIO_TYPE_STRING);
    v.length = 4;
    memcpy(v.text_inline, "\xC3(", 3);
    v.text_len = 2;
    assert_int_equal(plcio_value_encode(&v, buf, sizeof buf, 0, NULL, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "UTF-8"));
}

static void test_durations(void **state)
{
    (void)state;
    expect_text(PLCIO_TYPE_TIME, "T#1h2m3s4ms", "T#1h2m3s4ms");
    expect_bytes(PLCIO_TYPE_TIME, "T#1h2m3s4ms", "00 38 CE FC"); /* 3723004 ms */
    expect_text(PLCIO_TYPE_TIME, "T#-5s", "T#-5s");
    expect_bytes(PLCIO_TYPE_TIME, "T#-5s", "FF FF EC 78");
    expect_text(PLCIO_TYPE_TIME, "T#0s", "T#0ms");
    expect_text(PLCIO_TYPE_TIME, "5000", "T#5s");
    expect_text(PLCIO_TYPE_TIME, "-1", "T#-1ms");
    expect_text(PLCIO_TYPE_TIME, "TIME#1m", "T#1m");
    expect_text(PLCIO_TYPE_TIME, "t#1h_30m", "T#1h30m");
    expect_text(PLCIO_TYPE_TIME, "T#90m", "T#1h30m");
    expect_text(PLCIO_TYPE_TIME, "T#1.5s", "T#1s500ms");
    expect_text(PLCIO_TYPE_TIME, "T#0.25d", "T#6h");
    expect_text(PLCIO_TYPE_TIME, "T#24d20h31m23s647ms", "T#24d20h31m23s647ms");
    expect_bytes(PLCIO_TYPE_TIME, "T#24d20h31m23s647ms", "7F FF FF FF");
    expect_text(PLCIO_TYPE_TIME, "T#-24d20h31m23s648ms", "T#-24d20h31m23s648ms");
    expect_bytes(PLCIO_TYPE_TIME, "T#-24d20h31m23s648ms", "80 00 00 00");
    expect_fail(PLCIO_TYPE_TIME, "T#24d20h31m23s648ms", PLCIO_ERANGE, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#1.0005s", PLCIO_ERANGE, "1 ms");
    expect_fail(PLCIO_TYPE_TIME, "T#1us", PLCIO_ERANGE, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#1s2h", PLCIO_ESYNTAX, "T#1d2h3m4s5ms");
    expect_fail(PLCIO_TYPE_TIME, "T#1s1s", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#5x", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#5", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#1.5s3ms", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#1.s", PLCIO_ESYNTAX, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "LT#5s", PLCIO_ESYNTAX, "not a TIME");
    expect_fail(PLCIO_TYPE_TIME, "T#99999999999999999999d", PLCIO_ERANGE, "TIME");
    expect_fail(PLCIO_TYPE_TIME, "1.5", PLCIO_ESYNTAX, "TIME");

    expect_text(PLCIO_TYPE_LTIME, "LT#1d2h3m4s5ms6us7ns", "LT#1d2h3m4s5ms6us7ns");
    expect_bytes(PLCIO_TYPE_LTIME, "LT#1d2h3m4s5ms6us7ns", "00 00 55 4B CA 4D D2 B7"); /* 93784005006007 */
    expect_text(PLCIO_TYPE_LTIME, "LT#-106751d23h47m16s854ms775us808ns", "LT#-106751d23h47m16s854ms775us808ns");
    expect_bytes(PLCIO_TYPE_LTIME, "LT#-106751d23h47m16s854ms775us808ns", "80 00 00 00 00 00 00 00");
    expect_text(PLCIO_TYPE_LTIME, "LT#106751d23h47m16s854ms775us807ns", "LT#106751d23h47m16s854ms775us807ns");
    expect_fail(PLCIO_TYPE_LTIME, "LT#106751d23h47m16s854ms775us808ns", PLCIO_ERANGE, "LTIME");
    expect_text(PLCIO_TYPE_LTIME, "T#1.5us", "LT#1us500ns");
    expect_text(PLCIO_TYPE_LTIME, "LTIME#0s", "LT#0ns");
    expect_text(PLCIO_TYPE_LTIME, "1500", "LT#1us500ns");
    expect_fail(PLCIO_TYPE_LTIME, "LT#1.5ns", PLCIO_ERANGE, "nanosecond");

    /* S5TIME: the finest time base that holds the value, exactly. */
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#0ms", "00 00");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#10ms", "00 01");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#9s990ms", "09 99");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#10s", "11 00");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#1m39s900ms", "19 99");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#1m40s", "21 00");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#16m39s", "29 99");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#16m40s", "31 00");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5T#2h46m30s", "39 99");
    expect_bytes(PLCIO_TYPE_S5TIME, "S5TIME#9990s", "39 99");
    expect_bytes(PLCIO_TYPE_S5TIME, "T#2m7s", "21 27");
    expect_bytes(PLCIO_TYPE_S5TIME, "127000", "21 27");
    expect_text(PLCIO_TYPE_S5TIME, "S5T#2h46m30s", "S5T#2h46m30s");
    expect_text(PLCIO_TYPE_S5TIME, "S5T#0s", "S5T#0ms");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#9991s", PLCIO_ERANGE, "9990 s");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#2h46m30s10ms", PLCIO_ERANGE, "S5TIME");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#-1s", PLCIO_ERANGE, "S5TIME");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#15ms", PLCIO_ERANGE, "multiple of 10 ms");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#12s345ms", PLCIO_ERANGE, "multiple of 100 ms");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#100s500ms", PLCIO_ERANGE, "multiple of 1000 ms");
    expect_fail(PLCIO_TYPE_S5TIME, "S5T#16m41s", PLCIO_ERANGE, "multiple of 10000 ms");
}

static void test_dates(void **state)
{
    (void)state;
    expect_text(PLCIO_TYPE_DATE, "2024-05-06", "2024-05-06");
    expect_text(PLCIO_TYPE_DATE, "D#2024-05-06", "2024-05-06");
    expect_text(PLCIO_TYPE_DATE, "date#2024-5-6", "2024-05-06");
    expect_bytes(PLCIO_TYPE_DATE, "1990-01-01", "00 00");
    expect_bytes(PLCIO_TYPE_DATE, "2024-05-06", "31 00"); /* 12544 days */
    expect_bytes(PLCIO_TYPE_DATE, "2169-06-06", "FF FF");
    expect_fail(PLCIO_TYPE_DATE, "2169-06-07", PLCIO_ERANGE, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "1989-12-31", PLCIO_ERANGE, "year 1989");
    expect_fail(PLCIO_TYPE_DATE, "2023-02-29", PLCIO_ERANGE, "not a valid date");
    expect_fail(PLCIO_TYPE_DATE, "2024-04-31", PLCIO_ERANGE, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "2024-13-01", PLCIO_ERANGE, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "2024-00-10", PLCIO_ERANGE, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "2024-05-06x", PLCIO_ESYNTAX, "2024-05-06 or D#");
    expect_fail(PLCIO_TYPE_DATE, "24-05-06", PLCIO_ESYNTAX, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "2024/05/06", PLCIO_ESYNTAX, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "2024-05-006", PLCIO_ESYNTAX, "DATE");
    expect_fail(PLCIO_TYPE_DATE, "DT#2024-05-06", PLCIO_ESYNTAX, "not a DATE");

    expect_text(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.123", "07:08:09.123");
    expect_text(PLCIO_TYPE_TIME_OF_DAY, "TOD#7:8:9", "07:08:09.000");
    expect_text(PLCIO_TYPE_TIME_OF_DAY, "TIME_OF_DAY#23:59:59.999", "23:59:59.999");
    expect_text(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.120000", "07:08:09.120");
    expect_bytes(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.123", "01 87 FC 23"); /* 25689123 ms */
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "24:00:00", PLCIO_ERANGE, "TIME_OF_DAY");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "12:60:00", PLCIO_ERANGE, "TIME_OF_DAY");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.1234", PLCIO_ERANGE, "milliseconds");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "07:08", PLCIO_ESYNTAX, "TIME_OF_DAY");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.", PLCIO_ESYNTAX, "TIME_OF_DAY");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "07:08:09.1234567890", PLCIO_ESYNTAX, "TIME_OF_DAY");
    expect_fail(PLCIO_TYPE_TIME_OF_DAY, "999:08:09", PLCIO_ESYNTAX, "TIME_OF_DAY");
    expect_text(PLCIO_TYPE_LTOD, "LTOD#23:59:59.999999999", "23:59:59.999999999");
    expect_bytes(PLCIO_TYPE_LTOD, "LTOD#23:59:59.999999999", "00 00 4E 94 91 4E FF FF");
    expect_text(PLCIO_TYPE_LTOD, "TOD#00:00:00", "00:00:00.000000000");

    expect_text(PLCIO_TYPE_DATE_AND_TIME, "DT#1990-01-01-00:00:00", "1990-01-01T00:00:00.000");
    expect_bytes(PLCIO_TYPE_DATE_AND_TIME, "DT#1990-01-01-00:00:00", "90 01 01 00 00 00 00 02");
    expect_bytes(PLCIO_TYPE_DATE_AND_TIME, "2089-12-31T23:59:59.999", "89 12 31 23 59 59 99 97"); /* Saturday */
    expect_fail(PLCIO_TYPE_DATE_AND_TIME, "2090-01-01T00:00:00", PLCIO_ERANGE, "1990..2089");
    expect_fail(PLCIO_TYPE_DATE_AND_TIME, "1989-12-31T23:59:59", PLCIO_ERANGE, "DATE_AND_TIME");
    expect_fail(PLCIO_TYPE_DATE_AND_TIME, "2024-05-06T07:08:09.1231", PLCIO_ERANGE, "milliseconds");
    expect_fail(PLCIO_TYPE_DATE_AND_TIME, "2024-05-06", PLCIO_ESYNTAX, "DATE_AND_TIME");
    expect_fail(PLCIO_TYPE_DATE_AND_TIME, "2024-05-06X07:08:09", PLCIO_ESYNTAX, "DATE_AND_TIME");

    expect_text(PLCIO_TYPE_LDT, "LDT#1970-01-01-00:00:00", "1970-01-01T00:00:00.000000000");
    expect_bytes(PLCIO_TYPE_LDT, "LDT#1970-01-01-00:00:00", "00 00 00 00 00 00 00 00");
    expect_bytes(PLCIO_TYPE_LDT, "2262-04-11T23:47:16.854775807", "7F FF FF FF FF FF FF FF");
    expect_bytes(PLCIO_TYPE_LDT, "2024-05-06T07:08:09.123456789", "17 CC D4 93 BD 5B 07 15");
    expect_fail(PLCIO_TYPE_LDT, "2262-04-11T23:47:16.854775808", PLCIO_ERANGE, "LDT");
    expect_fail(PLCIO_TYPE_LDT, "2262-04-12T00:00:00", PLCIO_ERANGE, "LDT");
    expect_fail(PLCIO_TYPE_LDT, "2263-01-01T00:00:00", PLCIO_ERANGE, "LDT");
    expect_fail(PLCIO_TYPE_LDT, "1969-12-31T23:59:59", PLCIO_ERANGE, "LDT");

    expect_text(PLCIO_TYPE_DTL, "DTL#2554-12-31-23:59:59.999999999", "2554-12-31T23:59:59.999999999");
    expect_bytes(PLCIO_TYPE_DTL, "DTL#1970-01-01-00:00:00", "07 B2 01 01 05 00 00 00 00 00 00 00");
    expect_fail(PLCIO_TYPE_DTL, "2555-01-01T00:00:00", PLCIO_ERANGE, "DTL");

    /* IEC output */
    plcio_value v;
    char out[64];
    expect_ok(&v, PLCIO_TYPE_DATE, "2024-05-06");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "D#2024-05-06");
    expect_ok(&v, PLCIO_TYPE_TIME_OF_DAY, "07:08:09.123");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "TOD#07:08:09.123");
    expect_ok(&v, PLCIO_TYPE_LTOD, "07:08:09.123");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "LTOD#07:08:09.123000000");
    expect_ok(&v, PLCIO_TYPE_LDT, "2024-05-06T07:08:09.123");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "LDT#2024-05-06-07:08:09.123000000");
    expect_ok(&v, PLCIO_TYPE_DTL, "2024-05-06T07:08:09.123");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "DTL#2024-05-06-07:08:09.123000000");
    expect_ok(&v, PLCIO_TYPE_TIME, "T#1s");
    assert_int_equal(plcio_value_to_iec_text(&v, out, sizeof out, NULL), PLCIO_OK);
    assert_string_equal(out, "T#1s");
    /* Weekday: DT and DTL from text compute it; encode needs 1..7. */
    expect_ok(&v, PLCIO_TYPE_DTL, "2024-05-05T00:00:00");
    assert_int_equal(v.v.dt.weekday, 1); /* Sunday */
    v.v.dt.weekday = 0;
    uint8_t b[12];
    assert_int_equal(plcio_value_encode(&v, b, sizeof b, 0, NULL, &err), PLCIO_ERANGE);
    assert_non_null(strstr(err.text, "weekday"));
}

static void test_to_text_limits(void **state)
{
    (void)state;
    plcio_value v;
    char out[8];
    size_t n;
    expect_ok(&v, PLCIO_TYPE_LINT, "-9223372036854775808");
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_ENOSPC);
    assert_int_equal(n, 7);
    assert_string_equal(out, "-922337");
    assert_int_equal(plcio_value_to_text(&v, NULL, 0, &n), PLCIO_ENOSPC);
    assert_int_equal(plcio_value_to_text(&v, NULL, 5, &n), PLCIO_EINVAL);
    /* Strings are cut at a character boundary. */
    assert_int_equal(parse(&v, PLCIO_TYPE_STRING, 20, "aaaaa\xC3\xA4\xC3\xA4"), PLCIO_OK);
    assert_int_equal(plcio_value_to_text(&v, out, 7, &n), PLCIO_ENOSPC);
    assert_int_equal(n, 5);
    assert_string_equal(out, "aaaaa");
    /* Invalid C values are refused. */
    plcio_value_init(&v, PLCIO_TYPE_WCHAR);
    v.v.u = 0xD800;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_ERANGE);
    plcio_value_init(&v, PLCIO_TYPE_S5TIME);
    v.v.i = 10000000;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_ERANGE);
    v.type = PLCIO_TYPE_COUNT_;
    assert_int_equal(plcio_value_to_text(&v, out, sizeof out, &n), PLCIO_EINVAL);
    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_COUNT_, 0, "1", 1, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_from_text(NULL, PLCIO_TYPE_INT, 0, "1", 1, NULL), PLCIO_EINVAL);
    /* Text need not be NUL-terminated. */
    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_INT, 0, "123456", 3, NULL), PLCIO_OK);
    assert_int_equal(v.v.i, 123);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_messages), cmocka_unit_test(test_numbers), cmocka_unit_test(test_chars_and_strings),
        cmocka_unit_test(test_durations),      cmocka_unit_test(test_dates),   cmocka_unit_test(test_to_text_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
