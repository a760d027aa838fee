/* Value codecs: golden vectors from the issue and every case of
 * tests/fixtures/s7-vectors/values.json (string_codec_cases, integer_cases,
 * clock_codec_cases), plus the decode/encode error cases. */
#include <stdlib.h>
#include <string.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/value.h"
#include "plcio_test.h"

#define VJSON "s7-vectors/values.json"

static plcio_error errbuf = {0};

/* ---------------------------------------------------------------------------
 * Issue vectors
 * ------------------------------------------------------------------------- */

static void test_issue_date_and_time(void **state)
{
    (void)state;
    const uint8_t golden[8] = {0x24, 0x05, 0x06, 0x07, 0x08, 0x09, 0x12, 0x32};
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_DATE_AND_TIME);
    size_t used = 0;
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_DATE_AND_TIME, 0, golden, 8, 0, &used, &errbuf), PLCIO_OK);
    assert_int_equal(used, 8);
    assert_int_equal(v.v.dt.year, 2024);
    assert_int_equal(v.v.dt.month, 5);
    assert_int_equal(v.v.dt.day, 6);
    assert_int_equal(v.v.dt.hour, 7);
    assert_int_equal(v.v.dt.minute, 8);
    assert_int_equal(v.v.dt.second, 9);
    assert_int_equal(v.v.dt.nanosecond, 123000000);
    assert_int_equal(v.v.dt.weekday, 2); /* Monday: 1 = Sunday */
    assert_int_equal(plcio_weekday(2024, 5, 6), 2);

    char text[64];
    assert_int_equal(plcio_value_to_text(&v, text, sizeof text, NULL), PLCIO_OK);
    assert_string_equal(text, "2024-05-06T07:08:09.123");
    assert_int_equal(plcio_value_to_iec_text(&v, text, sizeof text, NULL), PLCIO_OK);
    assert_string_equal(text, "DT#2024-05-06-07:08:09.123");

    /* From text the weekday is computed, and the bytes come out the same. */
    const char *forms[] = {"2024-05-06T07:08:09.123", "DT#2024-05-06-07:08:09.123", "2024-05-06 07:08:09.123",
                           "date_and_time#2024-05-06-07:08:09.123"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        plcio_value w;
        plcio_value_init(&w, PLCIO_TYPE_BOOL);
        assert_int_equal(plcio_value_from_text(&w, PLCIO_TYPE_DATE_AND_TIME, 0, forms[i], strlen(forms[i]), &errbuf),
                         PLCIO_OK);
        uint8_t out[8];
        assert_int_equal(plcio_value_encode(&w, out, sizeof out, 0, &used, &errbuf), PLCIO_OK);
        assert_int_equal(used, 8);
        assert_memory_equal(out, golden, 8);
    }
}

static void test_issue_s5time(void **state)
{
    (void)state;
    const uint8_t golden[2] = {0x21, 0x27};
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_S5TIME);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_S5TIME, 0, golden, 2, 0, NULL, NULL), PLCIO_OK);
    assert_int_equal(v.v.i, 127000);
    char text[64];
    assert_int_equal(plcio_value_to_text(&v, text, sizeof text, NULL), PLCIO_OK);
    assert_string_equal(text, "S5T#2m7s");
    uint8_t out[2];
    assert_int_equal(plcio_value_encode(&v, out, 2, 0, NULL, NULL), PLCIO_OK);
    assert_memory_equal(out, golden, 2);
    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_S5TIME, 0, "S5T#127s", 8, NULL), PLCIO_OK);
    assert_int_equal(v.v.i, 127000);
}

static void test_issue_dtl(void **state)
{
    (void)state;
    const uint8_t golden[12] = {0x07, 0xe8, 0x05, 0x06, 0x02, 0x07, 0x08, 0x09, 0x07, 0x54, 0xd4, 0xc0};
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_DTL);
    size_t used;
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_DTL, 0, golden, 12, 0, &used, &errbuf), PLCIO_OK);
    assert_int_equal(used, 12);
    assert_int_equal(v.v.dt.year, 2024);
    assert_int_equal(v.v.dt.weekday, 2);
    assert_int_equal(v.v.dt.nanosecond, 123000000);
    char text[64];
    assert_int_equal(plcio_value_to_text(&v, text, sizeof text, NULL), PLCIO_OK);
    assert_string_equal(text, "2024-05-06T07:08:09.123000000");
    plcio_value w;
    plcio_value_init(&w, PLCIO_TYPE_DTL);
    assert_int_equal(plcio_value_from_text(&w, PLCIO_TYPE_DTL, 0, "DTL#2024-05-06-07:08:09.123", 27, &errbuf),
                     PLCIO_OK);
    uint8_t out[12];
    assert_int_equal(plcio_value_encode(&w, out, sizeof out, 0, NULL, &errbuf), PLCIO_OK);
    assert_memory_equal(out, golden, 12);
}

/* ---------------------------------------------------------------------------
 * values.json helpers
 * ------------------------------------------------------------------------- */

static size_t case_bytes(const cJSON *c, const char *key, uint8_t *out, size_t cap)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, key);
    assert_non_null(d);
    size_t n = plcio_test_bytes(d, out, cap);
    assert_true(n != (size_t)-1);
    return n;
}

static const char *case_id(const cJSON *c) { return cJSON_GetObjectItemCaseSensitive(c, "id")->valuestring; }

static bool accepted(const cJSON *c)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expected");
    return strcmp(cJSON_GetObjectItemCaseSensitive(e, "status")->valuestring, "accept") == 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | cp >> 6);
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | cp >> 12);
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | cp >> 18);
        out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* cJSON strings end at the first NUL, and the vectors contain "\u0000".
 * So read the raw JSON string that follows `"input_value": ` in the case
 * whose id is given (the field precedes "id" in the file) and unescape it. */
static size_t raw_input_value(const char *json, const char *id, char *out, size_t cap)
{
    char key[128];
    snprintf(key, sizeof key, "\"id\": \"%s\"", id);
    const char *at = strstr(json, key);
    assert_non_null(at);
    const char *p = at;
    const char *marker = "\"input_value\":";
    while (p > json && strncmp(p, marker, strlen(marker)) != 0)
        p--;
    assert_true(p > json);
    p += strlen(marker);
    while (*p == ' ' || *p == '\n')
        p++; /* the file is pretty-printed */
    assert_int_equal(*p, '"');
    p++;
    size_t n = 0;
    while (*p != '"') {
        assert_true(n + 4 < cap);
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        p++;
        char e = *p++;
        switch (e) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'u': {
            uint32_t cp = (uint32_t)strtoul((char[]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = (uint32_t)strtoul((char[]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(out, &n, cp);
            break;
        }
        default: out[n++] = e; break; /* \" \\ \/ */
        }
    }
    out[n] = '\0';
    return n;
}

/* ---------------------------------------------------------------------------
 * string_codec_cases
 * ------------------------------------------------------------------------- */

static void test_vectors_strings(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json(VJSON);
    size_t rawlen;
    char *raw = plcio_test_read_file(plcio_test_fixture_path(VJSON), &rawlen);
    assert_non_null(raw);
    static uint8_t data[40000], expect[40000], out[40000];
    static char text[70000], input[70000], textbuf[70000];
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "string_codec_cases");
    int count = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *id = case_id(c);
        const char *enc = cJSON_GetObjectItemCaseSensitive(c, "encoding")->valuestring;
        plcio_type type = strcmp(enc, "latin-1") == 0 ? PLCIO_TYPE_STRING : PLCIO_TYPE_WSTRING;
        const char *op = cJSON_GetObjectItemCaseSensitive(c, "operation")->valuestring;
        unsigned maximum = (unsigned)cJSON_GetObjectItemCaseSensitive(c, "maximum")->valuedouble;
        size_t offset = (size_t)cJSON_GetObjectItemCaseSensitive(c, "offset")->valuedouble;
        size_t dlen = case_bytes(c, "data", data, sizeof data);
        assert_true(dlen >= offset);
        plcio_value v;
        plcio_value_init(&v, type);
        plcio_value_use_buffer(&v, textbuf, sizeof textbuf);
        size_t used = 0;
        if (strcmp(op, "decode") == 0) {
            /* Every decode case in the file is a rejection. */
            assert_false(accepted(c));
            int rc = plcio_value_decode(&v, type, 0, data + offset, dlen - offset, 0, &used, &errbuf);
            assert_true(rc == PLCIO_EPROTO || rc == PLCIO_EAGAIN);
            assert_true(strlen(errbuf.text) > 0);
            count++;
            continue;
        }
        size_t ilen = raw_input_value(raw, id, input, sizeof input);
        if (!accepted(c)) {
            /* encode-value: the text cannot become a STRING[maximum]. */
            int rc = plcio_value_from_text(&v, type, maximum, input, ilen, &errbuf);
            assert_int_equal(rc, PLCIO_ERANGE);
            /* The same through encode of a value built in C. */
            plcio_value_init(&v, type);
            v.length = (uint16_t)(maximum > 0xFFFF ? 0xFFFF : maximum);
            memcpy(v.text_inline, input, ilen + 1 < sizeof v.text_inline ? ilen + 1 : 0);
            v.text_len = ilen;
            memset(out, 0xAA, 64);
            assert_int_equal(plcio_value_encode(&v, out, sizeof out, 0, &used, &errbuf), PLCIO_ERANGE);
            assert_int_equal(out[0], 0xAA); /* nothing written */
            count++;
            continue;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expected");
        size_t elen = case_bytes(e, "encoded", expect, sizeof expect);
        /* decode */
        assert_int_equal(plcio_value_decode(&v, type, maximum, data + offset, dlen - offset, 0, &used, &errbuf),
                         PLCIO_OK);
        assert_int_equal(used, elen);
        size_t tlen;
        const char *got = plcio_value_text(&v, &tlen);
        assert_int_equal(tlen, ilen);
        assert_memory_equal(got, input, ilen);
        assert_int_equal(v.length, maximum);
        assert_int_equal(plcio_value_to_text(&v, text, sizeof text, &tlen), PLCIO_OK);
        assert_int_equal(tlen, ilen);
        /* also header-driven (no declared length) */
        assert_int_equal(plcio_value_decode(&v, type, 0, data + offset, dlen - offset, 0, &used, NULL), PLCIO_OK);
        assert_int_equal(used, elen);
        /* encode from text into a copy of the buffer: only the field changes */
        plcio_value w;
        plcio_value_init(&w, PLCIO_TYPE_BOOL);
        plcio_value_use_buffer(&w, text, sizeof text);
        assert_int_equal(plcio_value_from_text(&w, type, maximum, input, ilen, &errbuf), PLCIO_OK);
        memcpy(out, data, dlen);
        memset(out + offset, 0x5A, elen); /* padding must be written, not left over */
        assert_int_equal(plcio_value_encode(&w, out + offset, dlen - offset, 0, &used, &errbuf), PLCIO_OK);
        assert_int_equal(used, elen);
        assert_memory_equal(out + offset, expect, elen);
        assert_memory_equal(out, data, dlen);
        /* one byte short: PLCIO_ENOSPC and the bytes needed */
        assert_int_equal(plcio_value_encode(&w, out, elen - 1, 0, &used, NULL), PLCIO_ENOSPC);
        assert_int_equal(used, elen);
        count++;
    }
    assert_int_equal(count, 30);
    free(raw);
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------------------
 * integer_cases
 * ------------------------------------------------------------------------- */

static plcio_type int_codec_type(const char *codec)
{
    static const struct {
        const char *name;
        plcio_type type;
    } map[] = {
        {"uint8", PLCIO_TYPE_USINT},  {"uint16", PLCIO_TYPE_UINT}, {"uint32", PLCIO_TYPE_UDINT},
        {"uint64", PLCIO_TYPE_ULINT}, {"int8", PLCIO_TYPE_SINT},   {"int16", PLCIO_TYPE_INT},
        {"int32", PLCIO_TYPE_DINT},   {"int64", PLCIO_TYPE_LINT},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, codec) == 0) return map[i].type;
    fail_msg("unknown codec %s", codec);
    return PLCIO_TYPE_BOOL;
}

static void test_vectors_integers(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json(VJSON);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "integer_cases");
    int count = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        uint8_t data[64], expect[16], out[64];
        plcio_type type = int_codec_type(cJSON_GetObjectItemCaseSensitive(c, "codec")->valuestring);
        size_t size = plcio_type_size(type, 0);
        size_t offset = (size_t)cJSON_GetObjectItemCaseSensitive(c, "offset")->valuedouble;
        size_t dlen = case_bytes(c, "data", data, sizeof data);
        const char *input = cJSON_GetObjectItemCaseSensitive(c, "input_value")->valuestring;
        plcio_value v;
        plcio_value_init(&v, type);
        size_t used = 0;
        if (!accepted(c)) {
            /* truncated-value */
            assert_int_equal(plcio_value_decode(&v, type, 0, data + offset, dlen - offset, 0, &used, &errbuf),
                             PLCIO_EAGAIN);
            assert_int_equal(used, size);
            assert_int_equal(plcio_value_from_text(&v, type, 0, input, strlen(input), NULL), PLCIO_OK);
            assert_int_equal(plcio_value_encode(&v, out, dlen - offset, 0, &used, NULL), PLCIO_ENOSPC);
            assert_int_equal(used, size);
            count++;
            continue;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expected");
        size_t elen = case_bytes(e, "encoded", expect, sizeof expect);
        assert_int_equal(elen, size);
        assert_int_equal(plcio_value_decode(&v, type, 0, data + offset, dlen - offset, 0, &used, NULL), PLCIO_OK);
        assert_int_equal(used, size);
        char text[64];
        assert_int_equal(plcio_value_to_text(&v, text, sizeof text, NULL), PLCIO_OK);
        assert_string_equal(text, cJSON_GetObjectItemCaseSensitive(e, "value")->valuestring);
        plcio_value w;
        plcio_value_init(&w, type);
        assert_int_equal(plcio_value_from_text(&w, type, 0, input, strlen(input), &errbuf), PLCIO_OK);
        memcpy(out, data, dlen);
        memset(out + offset, 0x5A, size);
        assert_int_equal(plcio_value_encode(&w, out + offset, dlen - offset, 0, &used, NULL), PLCIO_OK);
        assert_memory_equal(out, data, dlen);
        count++;
    }
    assert_int_equal(count, 34);
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------------------
 * clock_codec_cases: the PLC clock payload of the read/set clock functions is
 * 00 19 + DATE_AND_TIME (10 bytes exactly). The 2-byte prefix belongs to the
 * S7 clock function, the 8 bytes after it to this codec.
 * ------------------------------------------------------------------------- */

static int clock_decode(const uint8_t *b, size_t n, plcio_value *v)
{
    if (n != 10) return PLCIO_EPROTO;
    return plcio_value_decode(v, PLCIO_TYPE_DATE_AND_TIME, 0, b + 2, 8, 0, NULL, &errbuf);
}

static int clock_field(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_non_null(x);
    return (int)x->valuedouble;
}

static void clock_fields(const cJSON *o, plcio_datetime *dt)
{
    memset(dt, 0, sizeof *dt);
    dt->year = clock_field(o, "year");
    dt->month = (uint8_t)clock_field(o, "month");
    dt->day = (uint8_t)clock_field(o, "day");
    dt->hour = (uint8_t)clock_field(o, "hour");
    dt->minute = (uint8_t)clock_field(o, "minute");
    dt->second = (uint8_t)clock_field(o, "second");
    dt->nanosecond = (uint32_t)clock_field(o, "millisecond") * 1000000u;
    dt->weekday = (uint8_t)clock_field(o, "weekday");
}

static void test_vectors_clock(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json(VJSON);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "clock_codec_cases");
    int count = 0, accepts = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        uint8_t data[32], expect[32], out[10];
        size_t dlen = case_bytes(c, "data", data, sizeof data);
        const char *op = cJSON_GetObjectItemCaseSensitive(c, "operation")->valuestring;
        plcio_value v;
        plcio_value_init(&v, PLCIO_TYPE_DATE_AND_TIME);
        if (strcmp(op, "decode") == 0) {
            assert_false(accepted(c));
            plcio_error_clear(&errbuf);
            int rc = clock_decode(data, dlen, &v);
            assert_int_not_equal(rc, PLCIO_OK);
            if (dlen == 10) assert_true(strlen(errbuf.text) > 0);
            count++;
            continue;
        }
        plcio_value w;
        plcio_value_init(&w, PLCIO_TYPE_DATE_AND_TIME);
        clock_fields(cJSON_GetObjectItemCaseSensitive(c, "input_value"), &w.v.dt);
        out[0] = 0x00;
        out[1] = 0x19;
        if (!accepted(c)) {
            /* encode-clock */
            memset(out + 2, 0xAA, 8);
            assert_int_equal(plcio_value_encode(&w, out + 2, 8, 0, NULL, &errbuf), PLCIO_ERANGE);
            assert_int_equal(out[2], 0xAA);
            count++;
            continue;
        }
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expected");
        size_t elen = case_bytes(e, "encoded", expect, sizeof expect);
        assert_int_equal(elen, 10);
        assert_int_equal(plcio_value_encode(&w, out + 2, 8, 0, NULL, &errbuf), PLCIO_OK);
        assert_memory_equal(out, expect, 10);
        assert_int_equal(clock_decode(data, dlen, &v), PLCIO_OK);
        plcio_datetime want;
        clock_fields(cJSON_GetObjectItemCaseSensitive(e, "value"), &want);
        /* member by member: the struct has padding bytes */
        assert_int_equal(v.v.dt.year, want.year);
        assert_int_equal(v.v.dt.month, want.month);
        assert_int_equal(v.v.dt.day, want.day);
        assert_int_equal(v.v.dt.hour, want.hour);
        assert_int_equal(v.v.dt.minute, want.minute);
        assert_int_equal(v.v.dt.second, want.second);
        assert_int_equal(v.v.dt.weekday, want.weekday);
        assert_int_equal(v.v.dt.nanosecond, want.nanosecond);
        accepts++;
        count++;
    }
    assert_int_equal(count, 143);
    assert_int_equal(accepts, 7);
    cJSON_Delete(root);
}

/* ---------------------------------------------------------------------------
 * Decode errors
 * ------------------------------------------------------------------------- */

static void test_truncated_every_type(void **state)
{
    (void)state;
    uint8_t buf[16] = {0};
    for (unsigned t = 0; t < PLCIO_TYPE_COUNT_; t++) {
        plcio_type type = (plcio_type)t;
        size_t size = plcio_type_size(type, 4);
        plcio_value v;
        plcio_value_init(&v, type);
        for (size_t n = 0; n < size; n++) {
            size_t used = 0;
            int rc = plcio_value_decode(&v, type, type == PLCIO_TYPE_STRING || type == PLCIO_TYPE_WSTRING ? 4 : 0,
                                        n ? buf : NULL, n, 0, &used, &errbuf);
            if (rc != PLCIO_EAGAIN) fail_msg("%s with %zu bytes gave %d", plcio_type_name(type), n, rc);
            assert_int_equal(used, size);
            assert_non_null(strstr(errbuf.text, "needs"));
        }
        /* and encode into a short buffer */
        if (type != PLCIO_TYPE_STRING && type != PLCIO_TYPE_WSTRING && type != PLCIO_TYPE_BOOL) {
            size_t used = 0;
            if (type == PLCIO_TYPE_DATE || type == PLCIO_TYPE_DATE_AND_TIME || type == PLCIO_TYPE_LDT ||
                type == PLCIO_TYPE_DTL) {
                v.v.dt.year = 2000, v.v.dt.month = 1, v.v.dt.day = 1, v.v.dt.weekday = 7;
            }
            assert_int_equal(plcio_value_encode(&v, buf, size - 1, 0, &used, NULL), PLCIO_ENOSPC);
            assert_int_equal(used, size);
        }
    }
}

static void expect_decode_error(plcio_type type, const char *hex, int want)
{
    uint8_t b[32];
    size_t n = plcio_test_hex(hex, b, sizeof b);
    plcio_value v;
    plcio_value_init(&v, type);
    plcio_error_clear(&errbuf);
    int rc = plcio_value_decode(&v, type, 0, b, n, 0, NULL, &errbuf);
    if (rc != want) fail_msg("%s %s: got %d want %d", plcio_type_name(type), hex, rc, want);
    assert_non_null(strstr(errbuf.text, plcio_type_name(type)));
}

static void test_decode_errors(void **state)
{
    (void)state;
    /* bad BCD in every field of DATE_AND_TIME */
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "2A 05 06 07 08 09 12 32", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 05 06 07 08 09 1A 32", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 05 06 07 08 09 12 A2", PLCIO_EPROTO);
    /* impossible dates and times */
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "23 02 29 07 08 09 12 32", PLCIO_EPROTO); /* 2023 not leap */
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 13 06 07 08 09 12 32", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 05 06 24 08 09 12 32", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 05 06 07 08 09 12 30", PLCIO_EPROTO); /* weekday 0 */
    expect_decode_error(PLCIO_TYPE_DATE_AND_TIME, "24 05 06 07 08 09 12 38", PLCIO_EPROTO); /* weekday 8 */
    /* S5TIME digit above 9 in each position */
    expect_decode_error(PLCIO_TYPE_S5TIME, "2A 27", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_S5TIME, "21 A7", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_S5TIME, "21 2F", PLCIO_EPROTO);
    /* TIME_OF_DAY at 24:00:00.000 and LTOD at 24h */
    expect_decode_error(PLCIO_TYPE_TIME_OF_DAY, "05 26 5C 00", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_LTOD, "00 00 4E 94 91 4F 00 00", PLCIO_EPROTO);
    /* LDT beyond int64 */
    expect_decode_error(PLCIO_TYPE_LDT, "80 00 00 00 00 00 00 00", PLCIO_EPROTO);
    /* DTL: year 0, month 0, Feb 30, weekday 0, hour 24, ns 1e9 */
    expect_decode_error(PLCIO_TYPE_DTL, "00 00 05 06 02 07 08 09 07 54 d4 c0", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "07 e8 00 06 02 07 08 09 07 54 d4 c0", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "07 e8 02 1e 02 07 08 09 07 54 d4 c0", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "07 e8 05 06 00 07 08 09 07 54 d4 c0", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "07 e8 05 06 02 18 08 09 07 54 d4 c0", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "07 e8 05 06 02 07 08 09 3b 9a ca 00", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_DTL, "0a 0b 01 01 02 00 00 00 00 00 00 00", PLCIO_EPROTO); /* 2571 */
    /* WCHAR lone surrogate; string headers */
    expect_decode_error(PLCIO_TYPE_WCHAR, "D8 00", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_STRING, "05 06 41 42 43 44 45", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_STRING, "FF 00", PLCIO_EPROTO);
    expect_decode_error(PLCIO_TYPE_WSTRING, "00 01 00 02 00 41", PLCIO_EPROTO);

    /* A STRING header declaring more than the declared STRING[n]. */
    const uint8_t s[] = {10, 1, 'A', 0, 0, 0, 0, 0, 0, 0, 0, 0};
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_STRING);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_STRING, 4, s, sizeof s, 0, NULL, &errbuf), PLCIO_EPROTO);
    /* A header declaring less (zeroed memory) is read with the declared size. */
    const uint8_t z[6] = {0};
    size_t used;
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_STRING, 4, z, sizeof z, 0, &used, NULL), PLCIO_OK);
    assert_int_equal(used, 6);
    assert_int_equal(v.text_len, 0);
    /* Bad arguments */
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_INT, 0, z, 2, 1, NULL, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_BOOL, 0, z, 1, 8, NULL, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_COUNT_, 0, z, 2, 0, NULL, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_decode(NULL, PLCIO_TYPE_INT, 0, z, 2, 0, NULL, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_INT, 0, NULL, 2, 0, NULL, NULL), PLCIO_EINVAL);
}

/* A WSTRING whose UTF-8 form does not fit the inline buffer needs an attached one. */
static void test_wstring_buffer(void **state)
{
    (void)state;
    static uint8_t wire[4 + 2 * 300];
    plcio_put_u16be(wire, 300);
    plcio_put_u16be(wire + 2, 300);
    for (int i = 0; i < 300; i++)
        plcio_put_u16be(wire + 4 + (size_t)2 * i, 0x6F22); /* 3 UTF-8 bytes each */
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_WSTRING);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_WSTRING, 0, wire, sizeof wire, 0, NULL, &errbuf), PLCIO_ENOSPC);
    static char big[1024];
    plcio_value_use_buffer(&v, big, sizeof big);
    size_t used;
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_WSTRING, 0, wire, sizeof wire, 0, &used, NULL), PLCIO_OK);
    assert_int_equal(used, sizeof wire);
    size_t n;
    const char *t = plcio_value_text(&v, &n);
    assert_ptr_equal(t, big);
    assert_int_equal(n, 900);
    static uint8_t back[sizeof wire];
    assert_int_equal(plcio_value_encode(&v, back, sizeof back, 0, &used, NULL), PLCIO_OK);
    assert_memory_equal(back, wire, sizeof wire);
    /* back to inline */
    plcio_value_use_buffer(&v, NULL, 0);
    assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_WSTRING, 0, wire, sizeof wire, 0, NULL, NULL), PLCIO_ENOSPC);
}

/* Character fields without header (Modbus strings, ARRAY OF CHAR). */
static void test_chars(void **state)
{
    (void)state;
    const uint8_t f[8] = {'P', 'u', 'm', 'p', 0xE4, 0, 'x', 'y'};
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_STRING);
    assert_int_equal(plcio_value_decode_chars(&v, f, sizeof f, NULL), PLCIO_OK);
    size_t n;
    const char *t = plcio_value_text(&v, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(t, "Pump\xC3\xA4", 6);
    uint8_t out[8];
    memset(out, 0xFF, sizeof out);
    assert_int_equal(plcio_value_encode_chars(&v, out, sizeof out, NULL), PLCIO_OK);
    const uint8_t want[8] = {'P', 'u', 'm', 'p', 0xE4, 0, 0, 0};
    assert_memory_equal(out, want, 8);
    assert_int_equal(plcio_value_encode_chars(&v, out, 4, &errbuf), PLCIO_ERANGE);
    assert_int_equal(plcio_value_from_text(&v, PLCIO_TYPE_STRING, 8, "\xC4\x80", 2, NULL), PLCIO_ERANGE);
    plcio_value_init(&v, PLCIO_TYPE_INT);
    assert_int_equal(plcio_value_encode_chars(&v, out, 8, NULL), PLCIO_ETYPE);
}

static void test_bool_bits(void **state)
{
    (void)state;
    plcio_value v;
    plcio_value_init(&v, PLCIO_TYPE_BOOL);
    for (unsigned bit = 0; bit < 8; bit++) {
        uint8_t b = 0x00;
        v.v.b = true;
        assert_int_equal(plcio_value_encode(&v, &b, 1, bit, NULL, NULL), PLCIO_OK);
        assert_int_equal(b, 1u << bit);
        b = 0xFF;
        v.v.b = false;
        assert_int_equal(plcio_value_encode(&v, &b, 1, bit, NULL, NULL), PLCIO_OK);
        assert_int_equal(b, (uint8_t) ~(1u << bit));
        /* decode each bit of a pattern */
        const uint8_t pat = 0xA5;
        assert_int_equal(plcio_value_decode(&v, PLCIO_TYPE_BOOL, 0, &pat, 1, bit, NULL, NULL), PLCIO_OK);
        assert_int_equal(v.v.b, (pat >> bit) & 1);
    }
    uint8_t b = 0;
    assert_int_equal(plcio_value_encode(&v, &b, 1, 8, NULL, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_value_encode(&v, &b, 0, 0, NULL, NULL), PLCIO_ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_date_and_time),
        cmocka_unit_test(test_issue_s5time),
        cmocka_unit_test(test_issue_dtl),
        cmocka_unit_test(test_vectors_strings),
        cmocka_unit_test(test_vectors_integers),
        cmocka_unit_test(test_vectors_clock),
        cmocka_unit_test(test_truncated_every_type),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_wstring_buffer),
        cmocka_unit_test(test_chars),
        cmocka_unit_test(test_bool_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
