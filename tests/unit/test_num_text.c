/* The shortest round-trip number text (src/tag/num_text.c): every output
 * reads back to the same bits, and it is the shortest such decimal, the
 * nearest one of that length, as an independent reference finds it (printf
 * "%.*e" for every precision up to 17 / 9, parsed back with strtod/strtof).
 * Millions of random bit patterns, plus the edges: zeros, subnormals, the
 * largest and smallest numbers, powers of two and ten, NaN and infinities. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio_test.h"
#include "tag/num_text.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_random(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static double from_bits64(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static float from_bits32(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t from_f32(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

static uint64_t from_f64(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* A decimal text as (significant digits without leading/trailing zeros, exponent of the last one). */
typedef struct norm {
    char digits[40];
    int exp;
    int negative;
} norm;

static norm normalize(const char *s)
{
    norm n = {.exp = 0};
    size_t len = 0;
    int after_point = 0, seen_point = 0;
    if (*s == '-') {
        n.negative = 1;
        s++;
    }
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            seen_point = 1;
            continue;
        }
        if (seen_point) after_point++;
        if (len == 0 && *s == '0') continue;
        if (len < sizeof n.digits - 1) n.digits[len++] = *s;
    }
    int e = *s ? atoi(s + 1) : 0;
    n.exp = e - after_point;
    while (len > 0 && n.digits[len - 1] == '0') {
        len--;
        n.exp++;
    }
    n.digits[len] = '\0';
    return n;
}

/* The reference: the first precision whose nearest decimal reads back. */
static norm reference(double v, int single)
{
    char buf[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    return normalize(buf);
}

static void check_one(double v, int single, int compare)
{
    char out[NUM_TEXT_MAX + 8];
    if (single) v = (double)(float)v;
    memset(out, 'x', sizeof out);
    size_t n = single ? num_text_f32((float)v, out) : num_text_f64(v, out);
    if (n >= NUM_TEXT_MAX || strlen(out) != n) fail_msg("%.17g: length %zu, text '%s'", v, n, out);
    char *end;
    if (single) {
        float back = strtof(out, &end);
        float f = (float)v;
        if (*end || from_f32(back) != from_f32(f)) fail_msg("float %.9g: %s reads back as %.9g", v, out, (double)back);
    } else {
        double back = strtod(out, &end);
        if (*end || from_f64(back) != from_f64(v)) fail_msg("double %.17g: '%s' reads back as %.17g", v, out, back);
    }
    /* JSON number grammar: -?digits[.digits][e[+-]digits], no leading zero in the integer part */
    const char *p = out + (out[0] == '-');
    if (!(p[0] >= '0' && p[0] <= '9') || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        fail_msg("'%s' is not a JSON number", out);
    if (!compare) return;
    norm got = normalize(out), want = reference(v, single);
    if (strcmp(got.digits, want.digits) != 0 || (got.digits[0] && got.exp != want.exp))
        fail_msg("%s %.17g: '%s' but the shortest nearest is %se%d", single ? "float" : "double", v, out, want.digits,
                 want.exp);
}

static void expect(double v, int single, const char *text)
{
    char out[NUM_TEXT_MAX];
    if (single)
        num_text_f32((float)v, out);
    else
        num_text_f64(v, out);
    if (strcmp(out, text) != 0) fail_msg("%.17g as %s: '%s', want '%s'", v, single ? "float" : "double", out, text);
}

static void test_known_texts(void **state)
{
    (void)state;
    expect(0.0, 0, "0");
    expect(-0.0, 0, "-0");
    expect(-0.0, 1, "-0");
    expect(23.5, 0, "23.5");
    expect(0.1, 0, "0.1");
    expect((double)0.1f, 1, "0.1");
    expect((double)0.1f, 0, "0.10000000149011612");
    expect(1.0 / 3.0, 0, "0.3333333333333333");
    expect(100, 0, "100");
    expect(1e21, 0, "1e+21");
    expect(1e20, 0, "100000000000000000000");
    expect(1e-5, 0, "0.00001");
    expect(1e-7, 0, "1e-07");
    expect(1.5e-300, 0, "1.5e-300");
    expect(-273.15, 0, "-273.15");
    expect(9223372036854775808.0, 0, "9223372036854776000");
    expect(DBL_MAX, 0, "1.7976931348623157e+308");
    expect(DBL_MIN, 0, "2.2250738585072014e-308");
    expect(DBL_TRUE_MIN, 0, "5e-324");
    expect((double)FLT_MAX, 1, "3.4028235e+38");
    expect((double)FLT_MIN, 1, "1.1754944e-38");
    expect((double)FLT_TRUE_MIN, 1, "1e-45");
    expect(16777216.0, 1, "16777216");
    expect((double)NAN, 0, "nan");
    expect((double)INFINITY, 0, "inf");
    expect(-(double)INFINITY, 1, "-inf");
}

static void test_edges(void **state)
{
    (void)state;
    for (int single = 0; single <= 1; single++) {
        for (int e = -1074; e <= 1023; e++) {
            double v = ldexp(1.0, e);
            if (single && (v < (double)FLT_TRUE_MIN || v > (double)FLT_MAX)) continue;
            check_one(v, single, 1);
            check_one(-v, single, 1);
            check_one(single ? (double)nextafterf((float)v, INFINITY) : nextafter(v, (double)INFINITY), single, 1);
            check_one(single ? (double)nextafterf((float)v, 0) : nextafter(v, 0), single, 1);
        }
        for (int e = -45; e <= 38; e++) {
            double v = single ? (double)strtof("1", NULL) * pow(10, e) : pow(10, e);
            check_one(v, single, 1);
            check_one(single ? (double)nextafterf((float)v, INFINITY) : nextafter(v, (double)INFINITY), single, 1);
            check_one(single ? (double)nextafterf((float)v, 0) : nextafter(v, 0), single, 1);
        }
    }
    for (int e = -324; e <= 308; e++) {
        check_one(pow(10, e), 0, 1);
        check_one(nextafter(pow(10, e), (double)INFINITY), 0, 1);
    }
    /* every subnormal float that is a small multiple of the smallest, and the largest ones */
    for (uint32_t b = 1; b < 5000; b++) {
        check_one((double)from_bits32(b), 1, 1);
        check_one((double)from_bits32(0x007FFFFFu - b), 1, 1);
    }
    for (uint64_t b = 1; b < 5000; b++) {
        check_one(from_bits64(b), 0, 1);
        check_one(from_bits64(0x000FFFFFFFFFFFFFull - b), 0, 1);
        check_one(from_bits64(0x7FEFFFFFFFFFFFFFull - b), 0, 1);
    }
    check_one(DBL_MAX, 0, 1);
    check_one(-DBL_MAX, 0, 1);
    check_one((double)FLT_MAX, 1, 1);
}

/* Values a plant has: integers, a few decimals, process values. */
static void test_plant_values(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next_random();
        double v = (double)(int64_t)(r % 2000001) / pow(10, (double)(r >> 40 & 7)) - 1000.0;
        check_one(v, 0, 1);
        check_one(v, 1, 1);
    }
}

static void test_random_doubles(void **state)
{
    (void)state;
    for (int i = 0; i < 2000000; i++) {
        double v = from_bits64(next_random());
        if (isnan(v) || isinf(v)) continue;
        check_one(v, 0, i < 300000);
    }
}

static void test_random_floats(void **state)
{
    (void)state;
    for (int i = 0; i < 2000000; i++) {
        float f = from_bits32((uint32_t)next_random());
        if (isnan(f) || isinf(f)) continue;
        check_one((double)f, 1, i < 300000);
    }
}

static void test_u64(void **state)
{
    (void)state;
    char out[24], want[24];
    uint64_t cases[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 10000, 1234567890123ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = num_text_u64(cases[i], out);
        out[n] = '\0';
        snprintf(want, sizeof want, "%llu", (unsigned long long)cases[i]);
        assert_string_equal(out, want);
    }
    /* every length, odd and even digit counts (two digits at a time) */
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t v = x >> (i % 64);
        size_t n = num_text_u64(v, out);
        out[n] = '\0';
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        assert_string_equal(out, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_texts),   cmocka_unit_test(test_edges),
        cmocka_unit_test(test_plant_values),  cmocka_unit_test(test_random_doubles),
        cmocka_unit_test(test_random_floats), cmocka_unit_test(test_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
