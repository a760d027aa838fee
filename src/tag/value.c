/* Typed values: storage and the binary codecs (S7 byte layouts, big-endian).
 *
 * Layouts (S7-300/400/1500 "standard access" memory, STEP 7 / TIA Portal help):
 *   BOOL            one bit of a byte
 *   BYTE..LWORD, SINT..ULINT   two's complement / unsigned, big-endian
 *   REAL, LREAL     IEEE 754 binary32 / binary64, big-endian
 *   CHAR            1 byte Latin-1;  WCHAR 2 bytes UTF-16 code unit
 *   STRING[n]       max (1 byte), cur (1 byte), n bytes Latin-1
 *   WSTRING[n]      max (2 bytes), cur (2 bytes), n UTF-16 code units
 *   TIME            int32 milliseconds;  LTIME int64 nanoseconds
 *   S5TIME          bits 13..12 time base (0: 10 ms, 1: 100 ms, 2: 1 s, 3: 10 s),
 *                   bits 11..0 three BCD digits; bits 15..14 are not evaluated
 *   DATE            uint16 days since 1990-01-01
 *   TIME_OF_DAY     uint32 milliseconds since midnight; LTOD uint64 ns
 *   DATE_AND_TIME   8 bytes BCD: yy mm dd hh mi ss, ms (3 digits) + weekday
 *                   (1 = Sunday) in the last nibble; yy 90..99 = 1990..1999,
 *                   00..89 = 2000..2089
 *   LDT             uint64 nanoseconds since 1970-01-01 (up to 2262-04-11)
 *   DTL             year uint16, month, day, weekday, hour, minute, second
 *                   (bytes), nanosecond uint32
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "tag_internal.h"
#include "core/error.h"

/* ---- type table ---- */

static const struct {
    tag_kind kind;
    int64_t min;
    uint64_t max;
} type_codec[PLCIO_TYPE_COUNT_] = {
    [PLCIO_TYPE_BOOL] = {PLCIO_TAG_BOOL, 0, 1},
    [PLCIO_TYPE_BYTE] = {PLCIO_TAG_UNSIGNED, 0, UINT8_MAX},
    [PLCIO_TYPE_WORD] = {PLCIO_TAG_UNSIGNED, 0, UINT16_MAX},
    [PLCIO_TYPE_DWORD] = {PLCIO_TAG_UNSIGNED, 0, UINT32_MAX},
    [PLCIO_TYPE_LWORD] = {PLCIO_TAG_UNSIGNED, 0, UINT64_MAX},
    [PLCIO_TYPE_SINT] = {PLCIO_TAG_SIGNED, INT8_MIN, INT8_MAX},
    [PLCIO_TYPE_USINT] = {PLCIO_TAG_UNSIGNED, 0, UINT8_MAX},
    [PLCIO_TYPE_INT] = {PLCIO_TAG_SIGNED, INT16_MIN, INT16_MAX},
    [PLCIO_TYPE_UINT] = {PLCIO_TAG_UNSIGNED, 0, UINT16_MAX},
    [PLCIO_TYPE_DINT] = {PLCIO_TAG_SIGNED, INT32_MIN, INT32_MAX},
    [PLCIO_TYPE_UDINT] = {PLCIO_TAG_UNSIGNED, 0, UINT32_MAX},
    [PLCIO_TYPE_LINT] = {PLCIO_TAG_SIGNED, INT64_MIN, INT64_MAX},
    [PLCIO_TYPE_ULINT] = {PLCIO_TAG_UNSIGNED, 0, UINT64_MAX},
    [PLCIO_TYPE_REAL] = {PLCIO_TAG_REAL, 0, 0},
    [PLCIO_TYPE_LREAL] = {PLCIO_TAG_LREAL, 0, 0},
    [PLCIO_TYPE_CHAR] = {PLCIO_TAG_CHAR, 0, 0xFF},
    [PLCIO_TYPE_WCHAR] = {PLCIO_TAG_WCHAR, 0, 0xFFFF},
    [PLCIO_TYPE_STRING] = {PLCIO_TAG_STRING, 0, 0},
    [PLCIO_TYPE_WSTRING] = {PLCIO_TAG_WSTRING, 0, 0},
    [PLCIO_TYPE_TIME] = {PLCIO_TAG_TIME, INT32_MIN, INT32_MAX},
    [PLCIO_TYPE_LTIME] = {PLCIO_TAG_LTIME, INT64_MIN, INT64_MAX},
    [PLCIO_TYPE_S5TIME] = {PLCIO_TAG_S5TIME, 0, PLCIO_TAG_S5TIME_MAX_MS},
    [PLCIO_TYPE_DATE] = {PLCIO_TAG_DATE, 0, 0},
    [PLCIO_TYPE_TIME_OF_DAY] = {PLCIO_TAG_TOD, 0, 0},
    [PLCIO_TYPE_LTOD] = {PLCIO_TAG_LTOD, 0, 0},
    [PLCIO_TYPE_DATE_AND_TIME] = {PLCIO_TAG_DT, 0, 0},
    [PLCIO_TYPE_LDT] = {PLCIO_TAG_LDT, 0, 0},
    [PLCIO_TYPE_DTL] = {PLCIO_TAG_DTL, 0, 0},
};

tag_kind tag_kind_of(plcio_type type) { return type_codec[type].kind; }

void tag_int_range(plcio_type type, int64_t *min, uint64_t *max)
{
    *min = type_codec[type].min;
    *max = type_codec[type].max;
}

static bool type_valid(plcio_type type) { return (unsigned)type < PLCIO_TYPE_COUNT_; }

/* ---- storage ---- */

void plcio_value_init(plcio_value *v, plcio_type type)
{
    if (!v) return;
    memset(v, 0, offsetof(plcio_value, text_inline));
    v->text_inline[0] = '\0';
    v->type = type;
}

void plcio_value_use_buffer(plcio_value *v, char *buf, size_t cap)
{
    if (!v) return;
    v->text_ext = cap > 0 ? buf : NULL;
    v->text_ext_cap = v->text_ext ? cap : 0;
    v->text_len = 0;
    if (v->text_ext) v->text_ext[0] = '\0';
    v->text_inline[0] = '\0';
}

char *tag_value_buf(plcio_value *v, size_t *cap)
{
    if (v->text_ext) {
        *cap = v->text_ext_cap;
        return v->text_ext;
    }
    *cap = sizeof v->text_inline;
    return v->text_inline;
}

const char *plcio_value_text(const plcio_value *v, size_t *len)
{
    if (!v || (v->type != PLCIO_TYPE_STRING && v->type != PLCIO_TYPE_WSTRING)) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = v->text_len;
    return v->text_ext ? v->text_ext : v->text_inline;
}

/* ---- date and time checks shared with the text codec ---- */

static const struct {
    int32_t min_year, max_year;
} year_range[] = {
    [PLCIO_TAG_DATE] = {1990, 2169},
    [PLCIO_TAG_DT] = {1990, 2089},
    [PLCIO_TAG_LDT] = {1970, 2262},
    [PLCIO_TAG_DTL] = {1970, 2554},
};

static int check_time_fields(plcio_type type, const plcio_datetime *dt, uint32_t ns_step, char *err, size_t cap)
{
    const char *name = plcio_type_name(type);
    if (dt->hour > 23 || dt->minute > 59 || dt->second > 59)
        return tag_fail(PLCIO_ERANGE, err, cap, "%02u:%02u:%02u is not a valid time of day for %s", dt->hour,
                        dt->minute, dt->second, name);
    if (dt->nanosecond > 999999999u)
        return tag_fail(PLCIO_ERANGE, err, cap, "nanosecond %u is out of range for %s (0..999999999)", dt->nanosecond,
                        name);
    if (dt->nanosecond % ns_step)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s holds whole %s, %u ns cannot be stored", name,
                        ns_step == 1000000 ? "milliseconds" : "nanoseconds", dt->nanosecond);
    return PLCIO_OK;
}

static int check_date_fields(plcio_type type, const plcio_datetime *dt, char *err, size_t cap)
{
    tag_kind kind = tag_kind_of(type);
    const char *name = plcio_type_name(type);
    if (!tag_date_valid(dt->year, dt->month, dt->day))
        return tag_fail(PLCIO_ERANGE, err, cap, "%04d-%02u-%02u is not a valid date for %s", (int)dt->year, dt->month,
                        dt->day, name);
    if (dt->year < year_range[kind].min_year || dt->year > year_range[kind].max_year)
        return tag_fail(PLCIO_ERANGE, err, cap, "year %d is out of range for %s (%d..%d)", (int)dt->year, name,
                        (int)year_range[kind].min_year, (int)year_range[kind].max_year);
    return PLCIO_OK;
}

static int check_weekday(plcio_type type, const plcio_datetime *dt, char *err, size_t cap)
{
    if (dt->weekday < 1 || dt->weekday > 7)
        return tag_fail(PLCIO_ERANGE, err, cap, "weekday %u is out of range for %s (1 = Sunday .. 7)", dt->weekday,
                        plcio_type_name(type));
    return PLCIO_OK;
}

int64_t tag_ldt_ns(const plcio_datetime *dt)
{
    int64_t days = tag_days_from_civil(dt->year, dt->month, dt->day);
    int64_t secs = (int64_t)dt->hour * 3600 + (int64_t)dt->minute * 60 + dt->second;
    /* Callers check the range first; the largest valid value is INT64_MAX. */
    return days * PLCIO_TAG_NS_PER_DAY + secs * 1000000000 + (int64_t)dt->nanosecond;
}

void tag_dt_from_ns(int64_t ns, plcio_datetime *dt)
{
    int64_t days = ns / PLCIO_TAG_NS_PER_DAY, rest = ns % PLCIO_TAG_NS_PER_DAY;
    if (rest < 0) {
        rest += PLCIO_TAG_NS_PER_DAY;
        days -= 1;
    }
    unsigned month, day;
    tag_civil_from_days(days, &dt->year, &month, &day);
    dt->month = (uint8_t)month;
    dt->day = (uint8_t)day;
    int64_t secs = rest / 1000000000;
    dt->nanosecond = (uint32_t)(rest % 1000000000);
    dt->hour = (uint8_t)(secs / 3600);
    dt->minute = (uint8_t)(secs / 60 % 60);
    dt->second = (uint8_t)(secs % 60);
    dt->weekday = (uint8_t)tag_weekday_from_days(days);
}

int tag_check_datetime(plcio_type type, const plcio_datetime *dt, char *err, size_t cap)
{
    int rc;
    switch (tag_kind_of(type)) {
    case PLCIO_TAG_DATE: return check_date_fields(type, dt, err, cap);
    case PLCIO_TAG_TOD: return check_time_fields(type, dt, 1000000, err, cap);
    case PLCIO_TAG_LTOD: return check_time_fields(type, dt, 1, err, cap);
    case PLCIO_TAG_DT:
        if ((rc = check_date_fields(type, dt, err, cap)) != PLCIO_OK) return rc;
        if ((rc = check_time_fields(type, dt, 1000000, err, cap)) != PLCIO_OK) return rc;
        return check_weekday(type, dt, err, cap);
    case PLCIO_TAG_DTL:
        if ((rc = check_date_fields(type, dt, err, cap)) != PLCIO_OK) return rc;
        if ((rc = check_time_fields(type, dt, 1, err, cap)) != PLCIO_OK) return rc;
        return check_weekday(type, dt, err, cap);
    case PLCIO_TAG_LDT:
        if ((rc = check_date_fields(type, dt, err, cap)) != PLCIO_OK) return rc;
        if ((rc = check_time_fields(type, dt, 1, err, cap)) != PLCIO_OK) return rc;
        /* The int64 nanosecond count ends at 2262-04-11T23:47:16.854775807;
         * up to year 2262 the count fits uint64, so compare there. */
        if (dt->year == 2262) {
            uint64_t days = (uint64_t)tag_days_from_civil(dt->year, dt->month, dt->day);
            uint64_t secs = (uint64_t)dt->hour * 3600 + (uint64_t)dt->minute * 60 + dt->second;
            uint64_t ns = days * (uint64_t)PLCIO_TAG_NS_PER_DAY + secs * 1000000000u + dt->nanosecond;
            if (ns > (uint64_t)INT64_MAX)
                return tag_fail(PLCIO_ERANGE, err, cap,
                                "LDT ends at 2262-04-11T23:47:16.854775807 (64-bit nanoseconds since 1970)");
        }
        return PLCIO_OK;
    default: return PLCIO_OK;
    }
}

/* ---- decoders: p holds at least plcio_type_size(type) bytes ---- */

typedef int (*decode_fn)(plcio_value *out, const uint8_t *p, char *err, size_t cap);
typedef int (*encode_fn)(const plcio_value *v, uint8_t *p, char *err, size_t cap);

static uint64_t load_be(const uint8_t *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | p[i];
    return x;
}

static void store_be(uint8_t *p, size_t n, uint64_t x)
{
    for (size_t i = n; i-- > 0; x >>= 8)
        p[i] = (uint8_t)x;
}

static size_t fixed_size(plcio_type type) { return plcio_type_size(type, 0); }

static int64_t sign_extend(uint64_t x, size_t bytes)
{
    if (bytes >= 8) return (int64_t)x;
    uint64_t sign = UINT64_C(1) << (bytes * 8 - 1);
    return (int64_t)((x ^ sign) - sign); /* two's complement without shifting negatives */
}

static int dec_signed(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    size_t n = fixed_size(out->type);
    out->v.i = sign_extend(load_be(p, n), n);
    return PLCIO_OK;
}

static int dec_unsigned(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.u = load_be(p, fixed_size(out->type));
    return PLCIO_OK;
}

static int dec_real(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.f = (double)plcio_get_f32be(p);
    return PLCIO_OK;
}

static int dec_lreal(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.f = plcio_get_f64be(p);
    return PLCIO_OK;
}

static int dec_char(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.u = p[0]; /* Latin-1: the byte is the code point */
    return PLCIO_OK;
}

static int dec_wchar(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    uint16_t u = plcio_get_u16be(p);
    if (u >= 0xD800 && u <= 0xDFFF)
        return tag_fail(PLCIO_EPROTO, err, cap, "WCHAR 16#%04X is a lone UTF-16 surrogate", u);
    out->v.u = u;
    return PLCIO_OK;
}

static int dec_time(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.i = sign_extend(plcio_get_u32be(p), 4);
    return PLCIO_OK;
}

static int dec_ltime(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    out->v.i = (int64_t)plcio_get_u64be(p);
    return PLCIO_OK;
}

static const int64_t s5_base_ms[4] = {10, 100, 1000, 10000};

static int dec_s5time(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    uint16_t w = plcio_get_u16be(p);
    unsigned d2 = w >> 8 & 0xF, d1 = w >> 4 & 0xF, d0 = w & 0xF;
    if (d2 > 9 || d1 > 9 || d0 > 9)
        return tag_fail(PLCIO_EPROTO, err, cap, "S5TIME 16#%04X has a digit that is not BCD", w);
    out->v.i = (int64_t)(d2 * 100 + d1 * 10 + d0) * s5_base_ms[w >> 12 & 3];
    return PLCIO_OK;
}

/* 1990-01-01, day 0 of DATE. */
#define DATE_EPOCH_DAYS INT64_C(7305)

static void set_date_from_days(plcio_datetime *dt, int64_t days)
{
    unsigned month, day;
    tag_civil_from_days(days, &dt->year, &month, &day);
    dt->month = (uint8_t)month;
    dt->day = (uint8_t)day;
    dt->weekday = (uint8_t)tag_weekday_from_days(days);
}

static void set_time_from_ns(plcio_datetime *dt, uint64_t ns)
{
    uint64_t secs = ns / 1000000000;
    dt->nanosecond = (uint32_t)(ns % 1000000000);
    dt->hour = (uint8_t)(secs / 3600);
    dt->minute = (uint8_t)(secs / 60 % 60);
    dt->second = (uint8_t)(secs % 60);
}

static int dec_date(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    memset(&out->v.dt, 0, sizeof out->v.dt);
    set_date_from_days(&out->v.dt, DATE_EPOCH_DAYS + plcio_get_u16be(p));
    return PLCIO_OK;
}

static int dec_tod(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    uint32_t ms = plcio_get_u32be(p);
    if (ms >= 86400000u) return tag_fail(PLCIO_EPROTO, err, cap, "TIME_OF_DAY %u ms is beyond 23:59:59.999", ms);
    memset(&out->v.dt, 0, sizeof out->v.dt);
    set_time_from_ns(&out->v.dt, (uint64_t)ms * 1000000);
    return PLCIO_OK;
}

static int dec_ltod(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    uint64_t ns = plcio_get_u64be(p);
    if (ns >= (uint64_t)PLCIO_TAG_NS_PER_DAY)
        return tag_fail(PLCIO_EPROTO, err, cap, "LTOD %llu ns is beyond 23:59:59.999999999", (unsigned long long)ns);
    memset(&out->v.dt, 0, sizeof out->v.dt);
    set_time_from_ns(&out->v.dt, ns);
    return PLCIO_OK;
}

static int bcd_byte(uint8_t b, unsigned *out)
{
    if ((b >> 4) > 9 || (b & 0xF) > 9) return -1;
    *out = (b >> 4) * 10u + (b & 0xFu);
    return 0;
}

static int dec_dt(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    unsigned f[7];
    for (int i = 0; i < 7; i++) {
        if (bcd_byte(p[i], &f[i]) != 0)
            return tag_fail(PLCIO_EPROTO, err, cap, "DATE_AND_TIME byte %d (16#%02X) is not BCD", i, p[i]);
    }
    unsigned ms_low = p[7] >> 4, weekday = p[7] & 0xF;
    if (ms_low > 9) return tag_fail(PLCIO_EPROTO, err, cap, "DATE_AND_TIME byte 7 (16#%02X) is not BCD", p[7]);
    plcio_datetime *dt = &out->v.dt;
    memset(dt, 0, sizeof *dt);
    dt->year = (int32_t)(f[0] >= 90 ? 1900 + f[0] : 2000 + f[0]);
    dt->month = (uint8_t)f[1];
    dt->day = (uint8_t)f[2];
    dt->hour = (uint8_t)f[3];
    dt->minute = (uint8_t)f[4];
    dt->second = (uint8_t)f[5];
    dt->nanosecond = (f[6] * 10 + ms_low) * 1000000u;
    dt->weekday = (uint8_t)weekday;
    int rc = tag_check_datetime(out->type, dt, err, cap);
    return rc == PLCIO_OK ? rc : PLCIO_EPROTO;
}

static int dec_ldt(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    uint64_t ns = plcio_get_u64be(p);
    if (ns > (uint64_t)INT64_MAX)
        return tag_fail(PLCIO_EPROTO, err, cap, "LDT 16#%016llX is beyond 2262-04-11T23:47:16.854775807",
                        (unsigned long long)ns);
    memset(&out->v.dt, 0, sizeof out->v.dt);
    tag_dt_from_ns((int64_t)ns, &out->v.dt);
    return PLCIO_OK;
}

static int dec_dtl(plcio_value *out, const uint8_t *p, char *err, size_t cap)
{
    plcio_datetime *dt = &out->v.dt;
    dt->year = plcio_get_u16be(p);
    dt->month = p[2];
    dt->day = p[3];
    dt->weekday = p[4];
    dt->hour = p[5];
    dt->minute = p[6];
    dt->second = p[7];
    dt->nanosecond = plcio_get_u32be(p + 8);
    int rc = tag_check_datetime(out->type, dt, err, cap);
    return rc == PLCIO_OK ? rc : PLCIO_EPROTO;
}

/* ---- encoders: p has room for plcio_type_size(type) bytes; nothing is
 * written before every check passed ---- */

static int range_fail_signed(const plcio_value *v, char *err, size_t cap)
{
    int64_t min;
    uint64_t max;
    tag_int_range(v->type, &min, &max);
    return tag_fail(PLCIO_ERANGE, err, cap, "%lld is out of range for %s (%lld..%llu)", (long long)v->v.i,
                    plcio_type_name(v->type), (long long)min, (unsigned long long)max);
}

static int enc_signed(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int64_t min;
    uint64_t max;
    tag_int_range(v->type, &min, &max);
    if (v->v.i < min || (v->v.i > 0 && (uint64_t)v->v.i > max)) return range_fail_signed(v, err, cap);
    store_be(p, fixed_size(v->type), (uint64_t)v->v.i);
    return PLCIO_OK;
}

static int enc_unsigned(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int64_t min;
    uint64_t max;
    tag_int_range(v->type, &min, &max);
    if (v->v.u > max)
        return tag_fail(PLCIO_ERANGE, err, cap, "%llu is out of range for %s (0..%llu)", (unsigned long long)v->v.u,
                        plcio_type_name(v->type), (unsigned long long)max);
    store_be(p, fixed_size(v->type), v->v.u);
    return PLCIO_OK;
}

/* The shortest %g form that reads back as d: 1e39, not 9.9999999999999994e+38. */
static void shortest_double(double d, char *out, size_t cap)
{
    for (int prec = 6; prec < 17; prec++) {
        snprintf(out, cap, "%.*g", prec, d);
        if (strtod(out, NULL) == d) return;
    }
    snprintf(out, cap, "%.17g", d);
}

static int enc_real(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    if (isfinite(v->v.f) && fabs(v->v.f) > (double)FLT_MAX) {
        /* Values that round to FLT_MAX are fine; beyond that binary32 has only infinity. */
        float f = (float)v->v.f;
        if (isinf(f)) {
            char num[32];
            shortest_double(v->v.f, num, sizeof num);
            return tag_fail(PLCIO_ERANGE, err, cap, "%s is out of range for REAL (-3.40282347e+38..3.40282347e+38)",
                            num);
        }
    }
    plcio_put_f32be(p, (float)v->v.f);
    return PLCIO_OK;
}

static int enc_lreal(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    plcio_put_f64be(p, v->v.f);
    return PLCIO_OK;
}

static int enc_char(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    if (v->v.u > 0xFF)
        return tag_fail(PLCIO_ERANGE, err, cap, "U+%04llX cannot be stored in CHAR (Latin-1, U+0000..U+00FF)",
                        (unsigned long long)v->v.u);
    p[0] = (uint8_t)v->v.u;
    return PLCIO_OK;
}

static int enc_wchar(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    if (v->v.u > 0xFFFF || (v->v.u >= 0xD800 && v->v.u <= 0xDFFF))
        return tag_fail(PLCIO_ERANGE, err, cap,
                        "U+%04llX cannot be stored in WCHAR (one UTF-16 unit, U+0000..U+FFFF without surrogates)",
                        (unsigned long long)v->v.u);
    plcio_put_u16be(p, (uint16_t)v->v.u);
    return PLCIO_OK;
}

static int enc_time(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    if (v->v.i < INT32_MIN || v->v.i > INT32_MAX)
        return tag_fail(PLCIO_ERANGE, err, cap,
                        "%lld ms is out of range for TIME (T#-24d20h31m23s648ms..T#24d20h31m23s647ms)",
                        (long long)v->v.i);
    plcio_put_u32be(p, (uint32_t)v->v.i);
    return PLCIO_OK;
}

static int enc_ltime(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    (void)err, (void)cap;
    plcio_put_u64be(p, (uint64_t)v->v.i);
    return PLCIO_OK;
}

static int enc_s5time(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int64_t ms = v->v.i;
    if (ms < 0 || ms > PLCIO_TAG_S5TIME_MAX_MS)
        return tag_fail(PLCIO_ERANGE, err, cap, "%lld ms is out of range for S5TIME (0 ms..9990 s)", (long long)ms);
    /* The finest time base whose three digits reach the value; it must then
     * hold it exactly (no silent rounding). */
    for (unsigned base = 0; base < 4; base++) {
        if (ms > 999 * s5_base_ms[base]) continue;
        if (ms % s5_base_ms[base] != 0)
            return tag_fail(PLCIO_ERANGE, err, cap,
                            "%lld ms is not a multiple of %lld ms, the S5TIME resolution for values up to %lld ms",
                            (long long)ms, (long long)s5_base_ms[base], (long long)s5_base_ms[base] * 999);
        unsigned n = (unsigned)(ms / s5_base_ms[base]);
        plcio_put_u16be(p, (uint16_t)(base << 12 | (n / 100) << 8 | (n / 10 % 10) << 4 | n % 10));
        return PLCIO_OK;
    }
    return PLCIO_EINTERNAL; /* unreachable: 999 * 10 s is the maximum checked above */
}

static int enc_date(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int rc = tag_check_datetime(v->type, &v->v.dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    int64_t days = tag_days_from_civil(v->v.dt.year, v->v.dt.month, v->v.dt.day) - DATE_EPOCH_DAYS;
    if (days < 0 || days > UINT16_MAX)
        return tag_fail(PLCIO_ERANGE, err, cap, "%04d-%02u-%02u is out of range for DATE (1990-01-01..2169-06-06)",
                        (int)v->v.dt.year, v->v.dt.month, v->v.dt.day);
    plcio_put_u16be(p, (uint16_t)days);
    return PLCIO_OK;
}

static uint64_t time_ns(const plcio_datetime *dt)
{
    return ((uint64_t)dt->hour * 3600 + (uint64_t)dt->minute * 60 + dt->second) * 1000000000u + dt->nanosecond;
}

static int enc_tod(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int rc = tag_check_datetime(v->type, &v->v.dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    plcio_put_u32be(p, (uint32_t)(time_ns(&v->v.dt) / 1000000));
    return PLCIO_OK;
}

static int enc_ltod(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int rc = tag_check_datetime(v->type, &v->v.dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    plcio_put_u64be(p, time_ns(&v->v.dt));
    return PLCIO_OK;
}

static uint8_t to_bcd(unsigned x) { return (uint8_t)((x / 10) << 4 | x % 10); }

static int enc_dt(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    const plcio_datetime *dt = &v->v.dt;
    int rc = tag_check_datetime(v->type, dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    unsigned ms = dt->nanosecond / 1000000;
    p[0] = to_bcd((unsigned)(dt->year % 100));
    p[1] = to_bcd(dt->month);
    p[2] = to_bcd(dt->day);
    p[3] = to_bcd(dt->hour);
    p[4] = to_bcd(dt->minute);
    p[5] = to_bcd(dt->second);
    p[6] = to_bcd(ms / 10);
    p[7] = (uint8_t)((ms % 10) << 4 | dt->weekday);
    return PLCIO_OK;
}

static int enc_ldt(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    int rc = tag_check_datetime(v->type, &v->v.dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    plcio_put_u64be(p, (uint64_t)tag_ldt_ns(&v->v.dt));
    return PLCIO_OK;
}

static int enc_dtl(const plcio_value *v, uint8_t *p, char *err, size_t cap)
{
    const plcio_datetime *dt = &v->v.dt;
    int rc = tag_check_datetime(v->type, dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    plcio_put_u16be(p, (uint16_t)dt->year);
    p[2] = dt->month;
    p[3] = dt->day;
    p[4] = dt->weekday;
    p[5] = dt->hour;
    p[6] = dt->minute;
    p[7] = dt->second;
    plcio_put_u32be(p + 8, dt->nanosecond);
    return PLCIO_OK;
}

/* Fixed-size kinds (BOOL and the strings are handled apart). */
static const struct {
    decode_fn decode;
    encode_fn encode;
} fixed_codec[] = {
    [PLCIO_TAG_SIGNED] = {dec_signed, enc_signed},
    [PLCIO_TAG_UNSIGNED] = {dec_unsigned, enc_unsigned},
    [PLCIO_TAG_REAL] = {dec_real, enc_real},
    [PLCIO_TAG_LREAL] = {dec_lreal, enc_lreal},
    [PLCIO_TAG_CHAR] = {dec_char, enc_char},
    [PLCIO_TAG_WCHAR] = {dec_wchar, enc_wchar},
    [PLCIO_TAG_TIME] = {dec_time, enc_time},
    [PLCIO_TAG_LTIME] = {dec_ltime, enc_ltime},
    [PLCIO_TAG_S5TIME] = {dec_s5time, enc_s5time},
    [PLCIO_TAG_DATE] = {dec_date, enc_date},
    [PLCIO_TAG_TOD] = {dec_tod, enc_tod},
    [PLCIO_TAG_LTOD] = {dec_ltod, enc_ltod},
    [PLCIO_TAG_DT] = {dec_dt, enc_dt},
    [PLCIO_TAG_LDT] = {dec_ldt, enc_ldt},
    [PLCIO_TAG_DTL] = {dec_dtl, enc_dtl},
};

/* ---- strings ---- */

/* Append one code point to the value's text; PLCIO_ENOSPC if it does not fit
 * (one byte stays free for the NUL). */
static int text_append(plcio_value *v, char *buf, size_t cap, uint32_t cp)
{
    char tmp[4];
    size_t n = tag_utf8_put(cp, tmp);
    if (v->text_len + n + 1 > cap) return PLCIO_ENOSPC;
    memcpy(buf + v->text_len, tmp, n);
    v->text_len += n;
    buf[v->text_len] = '\0';
    return PLCIO_OK;
}

static int set_used(size_t *used, size_t n, int rc)
{
    if (used) *used = n;
    return rc;
}

static int dec_string(plcio_value *out, unsigned length, const uint8_t *data, size_t len, size_t *used, char *err,
                      size_t cap)
{
    if (length > PLCIO_STRING_MAX)
        return tag_fail(PLCIO_EINVAL, err, cap, "STRING[%u] is longer than STRING[%d]", length, PLCIO_STRING_MAX);
    if (len < 2) {
        set_used(used, length ? length + 2u : 2u, 0);
        return tag_fail(PLCIO_EAGAIN, err, cap, "STRING header needs 2 bytes, %zu given", len);
    }
    unsigned max = data[0], cur = data[1];
    if (max > PLCIO_STRING_MAX)
        return tag_fail(PLCIO_EPROTO, err, cap, "STRING header declares %u characters, more than %d", max,
                        PLCIO_STRING_MAX);
    if (length && max > length)
        return tag_fail(PLCIO_EPROTO, err, cap, "STRING header declares %u characters in a STRING[%u]", max, length);
    size_t total = 2 + (size_t)(length ? length : max);
    if (len < total) {
        set_used(used, total, 0);
        return tag_fail(PLCIO_EAGAIN, err, cap, "STRING[%u] needs %zu bytes, %zu given", length ? length : max, total,
                        len);
    }
    if (cur > max) return tag_fail(PLCIO_EPROTO, err, cap, "STRING current length %u exceeds its maximum %u", cur, max);
    size_t bcap;
    char *buf = tag_value_buf(out, &bcap);
    out->text_len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < cur; i++) {
        if (text_append(out, buf, bcap, data[2 + i]) != PLCIO_OK)
            return tag_fail(PLCIO_ENOSPC, err, cap, "STRING text does not fit the value's %zu-byte buffer", bcap);
    }
    out->length = (uint16_t)(length ? length : max);
    return set_used(used, total, PLCIO_OK);
}

static int dec_wstring(plcio_value *out, unsigned length, const uint8_t *data, size_t len, size_t *used, char *err,
                       size_t cap)
{
    if (length > PLCIO_WSTRING_MAX)
        return tag_fail(PLCIO_EINVAL, err, cap, "WSTRING[%u] is longer than WSTRING[%d]", length, PLCIO_WSTRING_MAX);
    if (len < 4) {
        set_used(used, length ? 2 * (size_t)length + 4 : 4, 0);
        return tag_fail(PLCIO_EAGAIN, err, cap, "WSTRING header needs 4 bytes, %zu given", len);
    }
    unsigned max = plcio_get_u16be(data), cur = plcio_get_u16be(data + 2);
    if (max > PLCIO_WSTRING_MAX)
        return tag_fail(PLCIO_EPROTO, err, cap, "WSTRING header declares %u characters, more than %d", max,
                        PLCIO_WSTRING_MAX);
    if (length && max > length)
        return tag_fail(PLCIO_EPROTO, err, cap, "WSTRING header declares %u characters in a WSTRING[%u]", max, length);
    size_t total = 4 + 2 * (size_t)(length ? length : max);
    if (len < total) {
        set_used(used, total, 0);
        return tag_fail(PLCIO_EAGAIN, err, cap, "WSTRING[%u] needs %zu bytes, %zu given", length ? length : max, total,
                        len);
    }
    if (cur > max)
        return tag_fail(PLCIO_EPROTO, err, cap, "WSTRING current length %u exceeds its maximum %u", cur, max);
    size_t bcap;
    char *buf = tag_value_buf(out, &bcap);
    out->text_len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < cur; i++) {
        uint32_t u = plcio_get_u16be(data + 4 + 2 * (size_t)i);
        if (u >= 0xDC00 && u <= 0xDFFF)
            return tag_fail(PLCIO_EPROTO, err, cap, "WSTRING unit %u (16#%04X) is an unpaired low surrogate", i,
                            (unsigned)u);
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = i + 1 < cur ? plcio_get_u16be(data + 4 + 2 * ((size_t)i + 1)) : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return tag_fail(PLCIO_EPROTO, err, cap,
                                "WSTRING unit %u (16#%04X) is a high surrogate without a low one", i, (unsigned)u);
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            i++;
        }
        if (text_append(out, buf, bcap, u) != PLCIO_OK)
            return tag_fail(PLCIO_ENOSPC, err, cap,
                            "WSTRING text does not fit the value's %zu-byte buffer (attach a bigger one)", bcap);
    }
    out->length = (uint16_t)(length ? length : max);
    return set_used(used, total, PLCIO_OK);
}

/* Walk the value's UTF-8 text: count characters (STRING) or UTF-16 units
 * (WSTRING) and check every character fits. */
static int measure_text(const plcio_value *v, bool wide, size_t *units, char *err, size_t cap)
{
    size_t len, pos = 0, n = 0;
    const char *s = plcio_value_text(v, &len);
    while (pos < len) {
        uint32_t cp;
        if (!tag_utf8_next(s, len, &pos, &cp))
            return tag_fail(PLCIO_ERANGE, err, cap, "%s text is not valid UTF-8 at byte %zu", plcio_type_name(v->type),
                            pos);
        if (!wide && cp > 0xFF)
            return tag_fail(PLCIO_ERANGE, err, cap,
                            "character U+%04X cannot be stored in STRING (Latin-1, U+0000..U+00FF)", (unsigned)cp);
        n += wide && cp > 0xFFFF ? 2 : 1;
    }
    *units = n;
    return PLCIO_OK;
}

static int enc_string_common(const plcio_value *v, bool wide, uint8_t *data, size_t len, size_t *used, char *err,
                             size_t cap)
{
    unsigned max_len = wide ? PLCIO_WSTRING_MAX : PLCIO_STRING_MAX;
    const char *name = plcio_type_name(v->type);
    if (v->length > max_len)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s[%u] is longer than %s[%u]", name, v->length, name, max_len);
    size_t units = 0;
    int rc = measure_text(v, wide, &units, err, cap);
    if (rc != PLCIO_OK) return rc;
    if (units > v->length)
        return tag_fail(PLCIO_ERANGE, err, cap, "%zu %s do not fit %s[%u]", units, wide ? "UTF-16 units" : "characters",
                        name, v->length);
    size_t unit = wide ? 2 : 1, head = wide ? 4 : 2;
    size_t total = head + unit * v->length;
    if (len < total || !data) { /* total >= 2: no buffer is always too small */
        set_used(used, total, 0);
        return tag_fail(PLCIO_ENOSPC, err, cap, "%s[%u] needs %zu bytes, %zu given", name, v->length, total, len);
    }
    if (wide) {
        plcio_put_u16be(data, v->length);
        plcio_put_u16be(data + 2, (uint16_t)units);
    } else {
        data[0] = (uint8_t)v->length;
        data[1] = (uint8_t)units;
    }
    size_t tlen, pos = 0;
    const char *s = plcio_value_text(v, &tlen);
    uint8_t *w = data + head;
    uint32_t cp;
    while (pos < tlen && tag_utf8_next(s, tlen, &pos, &cp)) {
        if (!wide) {
            *w++ = (uint8_t)cp;
        } else if (cp > 0xFFFF) {
            cp -= 0x10000;
            plcio_put_u16be(w, (uint16_t)(0xD800 | cp >> 10));
            plcio_put_u16be(w + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
            w += 4;
        } else {
            plcio_put_u16be(w, (uint16_t)cp);
            w += 2;
        }
    }
    memset(w, 0, (size_t)(data + total - w));
    return set_used(used, total, PLCIO_OK);
}

/* ---- public entry points ---- */

int value_decode_buf(plcio_value *out, plcio_type type, unsigned length, const uint8_t *data, size_t len, unsigned bit,
                     size_t *used, char *err, size_t errcap)
{
    if (!out || (!data && len > 0)) return tag_fail(PLCIO_EINVAL, err, errcap, "no value or data given");
    if (!type_valid(type)) return tag_fail(PLCIO_EINVAL, err, errcap, "unknown type %d", (int)type);
    if (bit > 7 || (bit && type != PLCIO_TYPE_BOOL))
        return tag_fail(PLCIO_EINVAL, err, errcap, "bit %u is not valid for %s", bit, plcio_type_name(type));
    out->type = type;
    out->length = 0;
    out->text_len = 0;
    tag_kind kind = tag_kind_of(type);
    /* length (declared characters) and len (bytes given) are the right way round */
    if (kind == PLCIO_TAG_STRING)
        return dec_string(out, length, data, len, used, err, errcap); // NOLINT(readability-suspicious-call-argument)
    if (kind == PLCIO_TAG_WSTRING)
        return dec_wstring(out, length, data, len, used, err, errcap); // NOLINT(readability-suspicious-call-argument)
    size_t size = fixed_size(type);
    if (len < size || !data) { /* every fixed type has size >= 1: no data is always too short */
        set_used(used, size, 0);
        return tag_fail(PLCIO_EAGAIN, err, errcap, "%s needs %zu byte%s, %zu given", plcio_type_name(type), size,
                        size == 1 ? "" : "s", len);
    }
    if (kind == PLCIO_TAG_BOOL) {
        out->v.b = (data[0] >> bit & 1) != 0;
        return set_used(used, 1, PLCIO_OK);
    }
    int rc = fixed_codec[kind].decode(out, data, err, errcap);
    return set_used(used, rc == PLCIO_OK ? size : 0, rc);
}

int value_encode_buf(const plcio_value *v, uint8_t *data, size_t len, unsigned bit, size_t *used, char *err,
                     size_t errcap)
{
    if (!v || (!data && len > 0)) return tag_fail(PLCIO_EINVAL, err, errcap, "no value or buffer given");
    if (!type_valid(v->type)) return tag_fail(PLCIO_EINVAL, err, errcap, "unknown type %d", (int)v->type);
    if (bit > 7 || (bit && v->type != PLCIO_TYPE_BOOL))
        return tag_fail(PLCIO_EINVAL, err, errcap, "bit %u is not valid for %s", bit, plcio_type_name(v->type));
    tag_kind kind = tag_kind_of(v->type);
    if (kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING)
        return enc_string_common(v, kind == PLCIO_TAG_WSTRING, data, len, used, err, errcap);
    size_t size = fixed_size(v->type);
    if (len < size || !data) { /* every fixed type has size >= 1: no buffer is always too small */
        set_used(used, size, 0);
        return tag_fail(PLCIO_ENOSPC, err, errcap, "%s needs %zu byte%s, %zu given", plcio_type_name(v->type), size,
                        size == 1 ? "" : "s", len);
    }
    if (kind == PLCIO_TAG_BOOL) {
        uint8_t mask = (uint8_t)(1u << bit);
        data[0] = v->v.b ? (uint8_t)(data[0] | mask) : (uint8_t)(data[0] & ~mask);
        return set_used(used, 1, PLCIO_OK);
    }
    uint8_t tmp[16];
    int rc = fixed_codec[kind].encode(v, tmp, err, errcap);
    if (rc != PLCIO_OK) return set_used(used, 0, rc);
    memcpy(data, tmp, size);
    return set_used(used, size, PLCIO_OK);
}

int value_decode_chars_buf(plcio_value *out, const uint8_t *data, size_t len, char *err, size_t errcap)
{
    if (!out || (!data && len > 0)) return tag_fail(PLCIO_EINVAL, err, errcap, "no value or data given");
    if (len > UINT16_MAX) return tag_fail(PLCIO_EINVAL, err, errcap, "character field of %zu bytes", len);
    out->type = PLCIO_TYPE_STRING;
    out->length = (uint16_t)len;
    out->text_len = 0;
    size_t bcap;
    char *buf = tag_value_buf(out, &bcap);
    buf[0] = '\0';
    for (size_t i = 0; i < len && data[i] != 0; i++) {
        if (text_append(out, buf, bcap, data[i]) != PLCIO_OK)
            return tag_fail(PLCIO_ENOSPC, err, errcap, "text does not fit the value's %zu-byte buffer", bcap);
    }
    return PLCIO_OK;
}

int value_encode_chars_buf(const plcio_value *v, uint8_t *data, size_t len, char *err, size_t errcap)
{
    if (!v || (!data && len > 0)) return tag_fail(PLCIO_EINVAL, err, errcap, "no value or buffer given");
    if (v->type != PLCIO_TYPE_STRING)
        return tag_fail(PLCIO_ETYPE, err, errcap, "a character field takes a STRING value, not %s",
                        plcio_type_name(v->type));
    size_t units = 0;
    int rc = measure_text(v, false, &units, err, errcap);
    if (rc != PLCIO_OK) return rc;
    if (units > len)
        return tag_fail(PLCIO_ERANGE, err, errcap, "%zu characters do not fit a %zu-byte field", units, len);
    size_t tlen, pos = 0, i = 0;
    const char *s = plcio_value_text(v, &tlen);
    uint32_t cp;
    while (i < units && pos < tlen && tag_utf8_next(s, tlen, &pos, &cp)) /* units <= len, measured above */
        data[i++] = (uint8_t)cp;
    if (len > i) memset(data + i, 0, len - i); /* data may be NULL when len is 0 */
    return PLCIO_OK;
}

int plcio_value_decode(plcio_value *out, plcio_type type, unsigned length, const uint8_t *data, size_t len,
                       unsigned bit, size_t *used, plcio_error *err)
{
    error_begin(err);
    // NOLINTNEXTLINE(readability-suspicious-call-argument): the prototype's own order
    return error_end(err, value_decode_buf(out, type, length, data, len, bit, used, ERROR_BUF(err)));
}

int plcio_value_encode(const plcio_value *v, uint8_t *data, size_t len, unsigned bit, size_t *used, plcio_error *err)
{
    error_begin(err);
    return error_end(err, value_encode_buf(v, data, len, bit, used, ERROR_BUF(err)));
}

int plcio_value_decode_chars(plcio_value *out, const uint8_t *data, size_t len, plcio_error *err)
{
    error_begin(err);
    return error_end(err, value_decode_chars_buf(out, data, len, ERROR_BUF(err)));
}

int plcio_value_encode_chars(const plcio_value *v, uint8_t *data, size_t len, plcio_error *err)
{
    error_begin(err);
    return error_end(err, value_encode_chars_buf(v, data, len, ERROR_BUF(err)));
}
