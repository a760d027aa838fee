/* Round trips across each type's full range: bytes -> value -> text ->
 * value -> bytes must give the bytes back (exhaustively where the range is
 * small, at the edges plus pseudo-random samples where it is not). */
#include <math.h>
#include <string.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/value.h"
#include "plcio_test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    /* xorshift64*: fixed seed, so a failure reproduces */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static plcio_error err = {0};

/* bytes -> decode -> text -> from_text -> encode == bytes. Returns the
 * decode result; on success the full chain must hold. */
static int round_trip(plcio_type type, unsigned length, const uint8_t *bytes, size_t n)
{
    static plcio_value v, w;
    static char text[4096];
    plcio_value_init(&v, type);
    size_t used = 0;
    int rc = plcio_value_decode(&v, type, length, bytes, n, 0, &used, &err);
    if (rc != PLCIO_OK) return rc;
    assert_int_equal(used, n);
    size_t tlen;
    assert_int_equal(plcio_value_to_text(&v, text, sizeof text, &tlen), PLCIO_OK);
    plcio_value_init(&w, PLCIO_TYPE_BOOL);
    // NOLINTNEXTLINE(readability-suspicious-call-argument)
    rc = plcio_value_from_text(&w, type, length, text, tlen, &err);
    if (rc != PLCIO_OK) fail_msg("%s: '%s' does not read back: %s", plcio_type_name(type), text, err.text);
    uint8_t out[1024];
    assert_true(n <= sizeof out);
    rc = plcio_value_encode(&w, out, n, 0, &used, &err);
    if (rc != PLCIO_OK) fail_msg("%s: '%s' does not encode: %s", plcio_type_name(type), text, err.text);
    assert_int_equal(used, n);
    if (memcmp(out, bytes, n) != 0) fail_msg("%s: '%s' encodes to other bytes", plcio_type_name(type), text);
    /* and the value encodes directly too */
    assert_int_equal(plcio_value_encode(&v, out, n, 0, NULL, NULL), PLCIO_OK);
    assert_memory_equal(out, bytes, n);
    return PLCIO_OK;
}

static void put_be(uint8_t *p, size_t n, uint64_t x)
{
    for (size_t i = n; i-- > 0; x >>= 8)
        p[i] = (uint8_t)x;
}

static void test_integers(void **state)
{
    (void)state;
    static const plcio_type types[] = {PLCIO_TYPE_BYTE, PLCIO_TYPE_WORD,  PLCIO_TYPE_DWORD, PLCIO_TYPE_LWORD,
                                       PLCIO_TYPE_SINT, PLCIO_TYPE_USINT, PLCIO_TYPE_INT,   PLCIO_TYPE_UINT,
                                       PLCIO_TYPE_DINT, PLCIO_TYPE_UDINT, PLCIO_TYPE_LINT,  PLCIO_TYPE_ULINT,
                                       PLCIO_TYPE_TIME, PLCIO_TYPE_LTIME};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        size_t n = plcio_type_size(types[t], 0);
        uint8_t b[8];
        if (n <= 2) {
            for (uint32_t x = 0; x < (1u << (8 * n)); x++) {
                put_be(b, n, x);
                assert_int_equal(round_trip(types[t], 0, b, n), PLCIO_OK);
            }
            continue;
        }
        /* edges: 0, 1, all ones, the sign boundary on both sides */
        const uint64_t top = UINT64_C(1) << (8 * n - 1);
        const uint64_t edges[] = {0, 1, top - 1, top, top + 1, top * 2 - 1 /* wraps to all ones for 8 bytes */};
        for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++) {
            put_be(b, n, edges[e]);
            assert_int_equal(round_trip(types[t], 0, b, n), PLCIO_OK);
        }
        memset(b, 0xFF, n);
        assert_int_equal(round_trip(types[t], 0, b, n), PLCIO_OK);
        for (int i = 0; i < 20000; i++) {
            put_be(b, n, rnd());
            assert_int_equal(round_trip(types[t], 0, b, n), PLCIO_OK);
        }
    }
}

static void test_floats(void **state)
{
    (void)state;
    uint8_t b[8];
    const uint32_t f_edges[] = {0x00000000, 0x80000000, 0x00000001, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
                                0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x3F800000, 0x3DCCCCCD};
    for (size_t i = 0; i < sizeof f_edges / sizeof f_edges[0]; i++) {
        plcio_put_u32be(b, f_edges[i]);
        assert_int_equal(round_trip(PLCIO_TYPE_REAL, 0, b, 4), PLCIO_OK);
    }
    for (int i = 0; i < 200000; i++) {
        uint32_t x = (uint32_t)rnd();
        if ((x & 0x7F800000) == 0x7F800000 && (x & 0x007FFFFF)) continue; /* NaN payloads do not survive text */
        plcio_put_u32be(b, x);
        assert_int_equal(round_trip(PLCIO_TYPE_REAL, 0, b, 4), PLCIO_OK);
    }
    const uint64_t d_edges[] = {0,
                                UINT64_C(0x8000000000000000),
                                1,
                                UINT64_C(0x000FFFFFFFFFFFFF),
                                UINT64_C(0x7FEFFFFFFFFFFFFF),
                                UINT64_C(0xFFEFFFFFFFFFFFFF),
                                UINT64_C(0x7FF0000000000000),
                                UINT64_C(0x3FB999999999999A)};
    for (size_t i = 0; i < sizeof d_edges / sizeof d_edges[0]; i++) {
        plcio_put_u64be(b, d_edges[i]);
        assert_int_equal(round_trip(PLCIO_TYPE_LREAL, 0, b, 8), PLCIO_OK);
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t x = rnd();
        if ((x & UINT64_C(0x7FF0000000000000)) == UINT64_C(0x7FF0000000000000)) continue;
        plcio_put_u64be(b, x);
        assert_int_equal(round_trip(PLCIO_TYPE_LREAL, 0, b, 8), PLCIO_OK);
    }
    /* NaN decodes as NaN and prints "nan" (or "-nan"); it reads back as NaN. */
    plcio_put_u32be(b, 0x7FC00000);
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_REAL);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_REAL, 0, b, 4, 0, NULL, NULL), PLCIO_OK);
    assert_true(isnan(v.v.f));
}

static void test_chars(void **state)
{
    (void)state;
    uint8_t b[2];
    for (unsigned c = 0; c < 256; c++) {
        b[0] = (uint8_t)c;
        assert_int_equal(round_trip(PLCIO_TYPE_CHAR, 0, b, 1), PLCIO_OK);
    }
    int bad = 0;
    for (unsigned c = 0; c < 65536; c++) {
        plcio_put_u16be(b, (uint16_t)c);
        int rc = round_trip(PLCIO_TYPE_WCHAR, 0, b, 2);
        if (c >= 0xD800 && c <= 0xDFFF) {
            assert_int_equal(rc, PLCIO_EPROTO);
            bad++;
        } else {
            assert_int_equal(rc, PLCIO_OK);
        }
    }
    assert_int_equal(bad, 2048);
}

static void test_strings(void **state)
{
    (void)state;
    /* Every Latin-1 byte, in a STRING[254] filled in several lengths. */
    static uint8_t s[256];
    s[0] = 254;
    for (unsigned cur = 0; cur <= 254; cur += 127) {
        s[1] = (uint8_t)cur;
        for (unsigned i = 0; i < 254; i++)
            s[2 + i] = i < cur ? (uint8_t)(i + 1 + (cur == 254 ? 0 : 100)) : 0;
        assert_int_equal(round_trip(PLCIO_TYPE_STRING, 254, s, 256), PLCIO_OK);
    }
    for (unsigned c = 0; c < 256; c++) {
        const uint8_t one[3] = {1, 1, (uint8_t)c};
        assert_int_equal(round_trip(PLCIO_TYPE_STRING, 1, one, 3), PLCIO_OK);
    }
    /* WSTRING[100]: random mixes of BMP characters and surrogate pairs. */
    static uint8_t w[4 + 200];
    for (int rep = 0; rep < 2000; rep++) {
        unsigned units = 0;
        unsigned target = (unsigned)(rnd() % 101);
        while (units < target) {
            uint32_t cp = (uint32_t)(rnd() % 0x110000);
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            if (cp > 0xFFFF) {
                if (units + 2 > target) continue;
                cp -= 0x10000;
                plcio_put_u16be(w + 4 + (size_t)2 * units++, (uint16_t)(0xD800 | cp >> 10));
                plcio_put_u16be(w + 4 + (size_t)2 * units++, (uint16_t)(0xDC00 | (cp & 0x3FF)));
            } else {
                plcio_put_u16be(w + 4 + (size_t)2 * units++, (uint16_t)cp);
            }
        }
        memset(w + 4 + (size_t)2 * units, 0, (size_t)2 * (100 - units));
        plcio_put_u16be(w, 100);
        plcio_put_u16be(w + 2, (uint16_t)units);
        assert_int_equal(round_trip(PLCIO_TYPE_WSTRING, 100, w, sizeof w), PLCIO_OK);
    }
}

static void test_s5time_all_words(void **state)
{
    (void)state;
    int valid = 0;
    for (unsigned x = 0; x < 65536; x++) {
        uint8_t b[2];
        plcio_put_u16be(b, (uint16_t)x);
        plcio_value v;
        plcio_value_init(&v, PLCIO_TYPE_S5TIME);
        int rc = plcio_value_decode(&v, PLCIO_TYPE_S5TIME, 0, b, 2, 0, NULL, NULL);
        bool bcd = (x >> 8 & 0xF) <= 9 && (x >> 4 & 0xF) <= 9 && (x & 0xF) <= 9;
        assert_int_equal(rc, bcd ? PLCIO_OK : PLCIO_EPROTO);
        if (!bcd) continue;
        valid++;
        /* Re-encoding gives the finest base, which decodes to the same time. */
        uint8_t e[2];
        assert_int_equal(plcio_value_encode(&v, e, 2, 0, NULL, &err), PLCIO_OK);
        unsigned base = e[0] >> 4 & 3, digits = (e[0] & 0xF) * 100u + (e[1] >> 4) * 10u + (e[1] & 0xF);
        if (base > 0) assert_true(v.v.i > 999LL * (base == 1 ? 10 : base == 2 ? 100 : 1000));
        assert_true(digits <= 999);
        plcio_value w;
        plcio_value_init(&w, PLCIO_TYPE_S5TIME);
        assert_int_equal(plcio_value_decode(&w, PLCIO_TYPE_S5TIME, 0, e, 2, 0, NULL, NULL), PLCIO_OK);
        assert_int_equal(w.v.i, v.v.i);
        /* Canonical words (bits 15-14 clear, finest base) round-trip exactly. */
        if ((x >> 14) == 0 && (b[0] == e[0] && b[1] == e[1]))
            assert_int_equal(round_trip(PLCIO_TYPE_S5TIME, 0, b, 2), PLCIO_OK);
    }
    assert_int_equal(valid, 4 * 4 * 1000); /* 2 ignored bits x 4 bases x 1000 BCD values */
}

static void test_dates_full_range(void **state)
{
    (void)state;
    uint8_t b[12];
    for (unsigned d = 0; d < 65536; d++) { /* DATE: every day */
        plcio_put_u16be(b, (uint16_t)d);
        assert_int_equal(round_trip(PLCIO_TYPE_DATE, 0, b, 2), PLCIO_OK);
    }
    for (uint32_t ms = 0; ms < 86400000u; ms += 9973) { /* TIME_OF_DAY */
        plcio_put_u32be(b, ms);
        assert_int_equal(round_trip(PLCIO_TYPE_TIME_OF_DAY, 0, b, 4), PLCIO_OK);
    }
    plcio_put_u32be(b, 86399999u);
    assert_int_equal(round_trip(PLCIO_TYPE_TIME_OF_DAY, 0, b, 4), PLCIO_OK);
    plcio_put_u64be(b, UINT64_C(86399999999999));
    assert_int_equal(round_trip(PLCIO_TYPE_LTOD, 0, b, 8), PLCIO_OK);
    for (int i = 0; i < 20000; i++) {
        plcio_put_u64be(b, rnd() % UINT64_C(86400000000000));
        assert_int_equal(round_trip(PLCIO_TYPE_LTOD, 0, b, 8), PLCIO_OK);
        plcio_put_u64be(b, rnd() >> 1); /* LDT: 0..INT64_MAX */
        assert_int_equal(round_trip(PLCIO_TYPE_LDT, 0, b, 8), PLCIO_OK);
    }
    plcio_put_u64be(b, 0);
    assert_int_equal(round_trip(PLCIO_TYPE_LDT, 0, b, 8), PLCIO_OK);
    plcio_put_u64be(b, (uint64_t)INT64_MAX);
    assert_int_equal(round_trip(PLCIO_TYPE_LDT, 0, b, 8), PLCIO_OK);

    /* DATE_AND_TIME: every day 1990-01-01 .. 2089-12-31 with a moving time and
     * the right weekday; DTL: every day 1970-01-01 .. 2554-12-31. */
    char text[64];
    plcio_value v;
    int days = 0;
    for (int32_t y = 1970; y <= 2554; y++) {
        for (unsigned m = 1; m <= 12; m++) {
            for (unsigned d = 1; d <= 31; d++) {
                unsigned wd = plcio_weekday(y, m, d);
                if (!wd) continue;
                days++;
                unsigned h = (unsigned)days % 24, mi = (unsigned)days % 60, s = (unsigned)(days * 7) % 60;
                unsigned ms = (unsigned)(days * 37) % 1000;
                if (y >= 1990 && y <= 2089) {
                    snprintf(text, sizeof text, "%04d-%02u-%02uT%02u:%02u:%02u.%03u", (int)y, m, d, h, mi, s, ms);
                    plcio_value_init(&v, PLCIO_TYPE_BOOL);
                    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_DATE_AND_TIME, 0, text, strlen(text), &err),
                                     PLCIO_OK);
                    assert_int_equal(v.v.dt.weekday, wd);
                    assert_int_equal(plcio_value_encode(&v, b, 8, 0, NULL, NULL), PLCIO_OK);
                    assert_int_equal(b[7] & 0xF, wd);
                    assert_int_equal(round_trip(PLCIO_TYPE_DATE_AND_TIME, 0, b, 8), PLCIO_OK);
                }
                plcio_put_u16be(b, (uint16_t)y);
                b[2] = (uint8_t)m, b[3] = (uint8_t)d, b[4] = (uint8_t)wd;
                b[5] = (uint8_t)h, b[6] = (uint8_t)mi, b[7] = (uint8_t)s;
                plcio_put_u32be(b + 8, (uint32_t)(rnd() % 1000000000u));
                assert_int_equal(round_trip(PLCIO_TYPE_DTL, 0, b, 12), PLCIO_OK);
            }
        }
    }
    assert_int_equal(days, 213667); /* days from 1970-01-01 to 2554-12-31 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_chars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_s5time_all_words),
        cmocka_unit_test(test_dates_full_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
