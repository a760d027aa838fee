/* Typed values <-> text. The forms are listed in docs/values.md.
 *
 * Numbers print as C prints them so they read back to the same bits (%.9g for
 * binary32, %.17g for binary64); durations as IEC 61131-3 literals (T#1h2m3s,
 * LT#...ns, S5T#...); dates and times of day as ISO 8601, or as IEC literals
 * (D#, TOD#, DT#) with plcio_value_to_iec_text. Parsing accepts both, plus
 * typed literals (INT#5, WORD#16#FF) and based numbers (16#FF, 2#1010, 0xFF).
 * Every value parsed is then checked by the binary encoder, so the text
 * accepted is exactly what can be written to the PLC. */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plcio/core.h"
#include "tag_internal.h"
#include "core/error.h"

/* ---------------------------------------------------------------------------
 * value -> text
 * ------------------------------------------------------------------------- */

/* A bounded text of at most PLCIO_VALUE_TEXT_MAX - 1 bytes (every scalar's
 * text fits; put() stops at the bound, it never writes past it). */
typedef struct tbuf {
    char s[PLCIO_VALUE_TEXT_MAX];
    size_t n;
} tbuf;

static void put(tbuf *t, const char *f, ...) PLCIO_PRINTF(2, 3);
static void put(tbuf *t, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int w = vsnprintf(t->s + t->n, sizeof t->s - t->n, f, ap);
    va_end(ap);
    if (w > 0) t->n = t->n + (size_t)w < sizeof t->s ? t->n + (size_t)w : sizeof t->s - 1;
}

/* printf's decimal point follows LC_NUMERIC; text forms always use '.'. */
static void fix_decimal_point(tbuf *t)
{
    const char *dp = localeconv()->decimal_point;
    if (!dp || (dp[0] == '.' && dp[1] == '\0')) return;
    size_t dl = strlen(dp);
    char *p = strstr(t->s, dp);
    if (!p) return;
    *p = '.';
    memmove(p + 1, p + dl, strlen(p + dl) + 1);
    t->n = strlen(t->s);
}

static const struct {
    const char *name;
    uint64_t ns;
} duration_units[] = {
    {"d", UINT64_C(86400000000000)},
    {"h", UINT64_C(3600000000000)},
    {"m", UINT64_C(60000000000)},
    {"s", UINT64_C(1000000000)},
    {"ms", UINT64_C(1000000)},
    {"us", UINT64_C(1000)},
    {"ns", 1},
};
#define DURATION_UNITS (sizeof duration_units / sizeof duration_units[0])

/* prefix + sign + components, largest unit first, zero components left out. */
static void put_duration(tbuf *t, const char *prefix, bool negative, uint64_t total_ns)
{
    put(t, "%s%s", prefix, negative ? "-" : "");
    if (total_ns == 0) put(t, "%s", strcmp(prefix, "LT#") == 0 ? "0ns" : "0ms");
    uint64_t left = total_ns;
    for (size_t u = 0; u < DURATION_UNITS && left; u++) {
        /* cppcheck-suppress zerodivcond ; the divisors are the constants above, never 0 */
        uint64_t q = left / duration_units[u].ns;
        left %= duration_units[u].ns;
        if (q) put(t, "%llu%s", (unsigned long long)q, duration_units[u].name);
    }
}

static uint64_t magnitude(int64_t x) { return x < 0 ? 0 - (uint64_t)x : (uint64_t)x; }

static void put_date(tbuf *t, const plcio_datetime *dt) { put(t, "%04d-%02u-%02u", (int)dt->year, dt->month, dt->day); }

static void put_time(tbuf *t, const plcio_datetime *dt, bool nanos)
{
    if (nanos)
        put(t, "%02u:%02u:%02u.%09u", dt->hour, dt->minute, dt->second, (unsigned)dt->nanosecond);
    else
        put(t, "%02u:%02u:%02u.%03u", dt->hour, dt->minute, dt->second, (unsigned)(dt->nanosecond / 1000000));
}

/* Dates and times of day: ISO 8601, or IEC literals with their prefix. */
static void put_calendar(tbuf *t, tag_kind kind, const plcio_datetime *dt, bool iec)
{
    static const char *const iec_prefix[] = {
        [PLCIO_TAG_DATE] = "D#", [PLCIO_TAG_TOD] = "TOD#", [PLCIO_TAG_LTOD] = "LTOD#",
        [PLCIO_TAG_DT] = "DT#",  [PLCIO_TAG_LDT] = "LDT#", [PLCIO_TAG_DTL] = "DTL#",
    };
    bool has_date = kind != PLCIO_TAG_TOD && kind != PLCIO_TAG_LTOD;
    bool has_time = kind != PLCIO_TAG_DATE;
    bool nanos = kind == PLCIO_TAG_LTOD || kind == PLCIO_TAG_LDT || kind == PLCIO_TAG_DTL;
    if (iec) put(t, "%s", iec_prefix[kind]);
    if (has_date) put_date(t, dt);
    if (has_date && has_time) put(t, "%c", iec ? '-' : 'T');
    if (has_time) put_time(t, dt, nanos);
}

/* Text of a non-string value. */
static int format_scalar(const plcio_value *v, bool iec, tbuf *t)
{
    tag_kind kind = tag_kind_of(v->type);
    switch (kind) {
    case PLCIO_TAG_BOOL: put(t, "%s", v->v.b ? "true" : "false"); return PLCIO_OK;
    case PLCIO_TAG_SIGNED: put(t, "%lld", (long long)v->v.i); return PLCIO_OK;
    case PLCIO_TAG_UNSIGNED: put(t, "%llu", (unsigned long long)v->v.u); return PLCIO_OK;
    case PLCIO_TAG_REAL:
        put(t, "%.9g", (double)(float)v->v.f);
        fix_decimal_point(t);
        return PLCIO_OK;
    case PLCIO_TAG_LREAL:
        put(t, "%.17g", v->v.f);
        fix_decimal_point(t);
        return PLCIO_OK;
    case PLCIO_TAG_CHAR:
    case PLCIO_TAG_WCHAR:
        if (v->v.u > 0x10FFFF || (v->v.u >= 0xD800 && v->v.u <= 0xDFFF)) return PLCIO_ERANGE;
        t->n = tag_utf8_put((uint32_t)v->v.u, t->s);
        t->s[t->n] = '\0';
        return PLCIO_OK;
    case PLCIO_TAG_TIME: put_duration(t, "T#", v->v.i < 0, magnitude(v->v.i) * 1000000u); return PLCIO_OK;
    case PLCIO_TAG_LTIME: put_duration(t, "LT#", v->v.i < 0, magnitude(v->v.i)); return PLCIO_OK;
    case PLCIO_TAG_S5TIME:
        if (v->v.i < 0 || v->v.i > PLCIO_TAG_S5TIME_MAX_MS) return PLCIO_ERANGE;
        put_duration(t, "S5T#", false, (uint64_t)v->v.i * 1000000u);
        return PLCIO_OK;
    case PLCIO_TAG_DATE:
    case PLCIO_TAG_TOD:
    case PLCIO_TAG_LTOD:
    case PLCIO_TAG_DT:
    case PLCIO_TAG_LDT:
    case PLCIO_TAG_DTL: put_calendar(t, kind, &v->v.dt, iec); return PLCIO_OK;
    default: return PLCIO_EINVAL;
    }
}

/* Copy src into buf (cap), cutting at a UTF-8 character boundary if needed. */
static int copy_text(const char *src, size_t n, char *buf, size_t cap, size_t *len)
{
    int rc = PLCIO_OK;
    if (n + 1 > cap) {
        rc = PLCIO_ENOSPC;
        n = cap ? cap - 1 : 0;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* do not split a character */
    }
    if (cap) {
        memcpy(buf, src, n);
        buf[n] = '\0';
    }
    if (len) *len = n;
    return rc;
}

static int to_text(const plcio_value *v, bool iec, char *buf, size_t cap, size_t *len)
{
    if (len) *len = 0;
    if (!v || (!buf && cap)) return PLCIO_EINVAL;
    if ((unsigned)v->type >= PLCIO_TYPE_COUNT_) return PLCIO_EINVAL;
    tag_kind kind = tag_kind_of(v->type);
    if (kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING) {
        size_t n;
        const char *s = plcio_value_text(v, &n);
        return copy_text(s, n, buf, cap, len);
    }
    tbuf t = {.n = 0};
    t.s[0] = '\0';
    int rc = format_scalar(v, iec, &t);
    if (rc != PLCIO_OK) {
        if (cap) buf[0] = '\0';
        return rc;
    }
    return copy_text(t.s, t.n, buf, cap, len);
}

int plcio_value_to_text(const plcio_value *v, char *buf, size_t cap, size_t *len)
{
    return to_text(v, false, buf, cap, len);
}

int plcio_value_to_iec_text(const plcio_value *v, char *buf, size_t cap, size_t *len)
{
    return to_text(v, true, buf, cap, len);
}

/* ---------------------------------------------------------------------------
 * text -> value
 * ------------------------------------------------------------------------- */

/* What the caller gave, for messages: at most 40 bytes, then "...". */
typedef struct quoted {
    char s[48];
} quoted;

static quoted quote(const char *text, size_t len)
{
    quoted q;
    if (len > 40) {
        size_t n = 40;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        snprintf(q.s, sizeof q.s, "%.*s...", (int)n, text);
    } else {
        snprintf(q.s, sizeof q.s, "%.*s", (int)len, text);
    }
    return q;
}

/* A scanner over [p, end). */
typedef struct scan {
    const char *p, *end;
} scan;

static bool at_end(const scan *s) { return s->p >= s->end; }
static int peek(const scan *s) { return at_end(s) ? -1 : (unsigned char)*s->p; }
static bool accept_char(scan *s, char c)
{
    if (peek(s) == (unsigned char)c) {
        s->p++;
        return true;
    }
    return false;
}

static int digit_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* Digits in `base` with IEC '_' separators between them. *overflow when the
 * number does not fit uint64. Returns the digit count (0: none). */
static size_t scan_digits(scan *s, unsigned base, uint64_t *out, bool *overflow)
{
    uint64_t x = 0;
    size_t count = 0;
    while (!at_end(s)) {
        int c = peek(s);
        if (c == '_' && count > 0 && s->p + 1 < s->end && digit_value((unsigned char)s->p[1]) < (int)base) {
            s->p++;
            continue;
        }
        int d = digit_value(c);
        if (d >= (int)base) break;
        if (x > (UINT64_MAX - (uint64_t)d) / base) *overflow = true;
        x = x * base + (uint64_t)d;
        s->p++;
        count++;
    }
    *out = x;
    return count;
}

/* Optional sign, then a decimal or based (16#, 8#, 2#, 0x) whole number that
 * must end the text. false on a syntax error. */
static bool scan_integer(scan *s, bool *negative, uint64_t *mag, bool *overflow)
{
    *negative = false;
    *overflow = false;
    if (accept_char(s, '-'))
        *negative = true;
    else
        accept_char(s, '+');
    unsigned base = 10;
    size_t left = (size_t)(s->end - s->p);
    if (left > 3 && s->p[0] == '1' && s->p[1] == '6' && s->p[2] == '#')
        base = 16, s->p += 3;
    else if (left > 2 && s->p[0] == '8' && s->p[1] == '#')
        base = 8, s->p += 2;
    else if (left > 2 && s->p[0] == '2' && s->p[1] == '#')
        base = 2, s->p += 2;
    else if (left > 2 && s->p[0] == '0' && (s->p[1] == 'x' || s->p[1] == 'X'))
        base = 16, s->p += 2;
    return scan_digits(s, base, mag, overflow) > 0 && at_end(s);
}

static int parse_bool(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    static const struct {
        const char *text;
        bool value;
    } words[] = {{"true", true}, {"false", false}, {"1", true}, {"0", false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].text) == n && strncasecmp(t, words[i].text, n) == 0) {
            v->v.b = words[i].value;
            return PLCIO_OK;
        }
    }
    return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a valid BOOL (true, false, 1 or 0)", quote(t, n).s);
}

static int int_range_fail(plcio_type type, const char *t, size_t n, int code, char *err, size_t cap)
{
    int64_t min;
    uint64_t max;
    tag_int_range(type, &min, &max);
    if (code == PLCIO_ERANGE)
        return tag_fail(code, err, cap, "%s is out of range for %s (%lld..%llu)", quote(t, n).s, plcio_type_name(type),
                        (long long)min, (unsigned long long)max);
    return tag_fail(code, err, cap, "'%s' is not a valid %s: expected a whole number in %lld..%llu", quote(t, n).s,
                    plcio_type_name(type), (long long)min, (unsigned long long)max);
}

static int parse_int(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    scan s = {t, t + n};
    bool negative, overflow;
    uint64_t mag;
    if (!scan_integer(&s, &negative, &mag, &overflow)) return int_range_fail(v->type, t, n, PLCIO_ESYNTAX, err, cap);
    int64_t min;
    uint64_t max;
    tag_int_range(v->type, &min, &max);
    if (overflow) return int_range_fail(v->type, t, n, PLCIO_ERANGE, err, cap);
    if (tag_kind_of(v->type) == PLCIO_TAG_UNSIGNED) {
        if (negative && mag != 0) return int_range_fail(v->type, t, n, PLCIO_ERANGE, err, cap);
        if (mag > max) return int_range_fail(v->type, t, n, PLCIO_ERANGE, err, cap);
        v->v.u = mag;
        return PLCIO_OK;
    }
    if (negative ? mag > magnitude(min) : mag > max) return int_range_fail(v->type, t, n, PLCIO_ERANGE, err, cap);
    v->v.i = negative ? (int64_t)(0 - mag) : (int64_t)mag;
    return PLCIO_OK;
}

static int parse_float(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    const char *name = plcio_type_name(v->type);
    char buf[128];
    if (n == 0 || n >= sizeof buf || isspace((unsigned char)t[0]))
        return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a valid %s number", quote(t, n).s, name);
    memcpy(buf, t, n);
    buf[n] = '\0';
    /* strtod reads the locale's decimal point; text forms always use '.'. */
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] != '.' && dp[0] != '\0' && dp[1] == '\0') {
        char *p = strchr(buf, '.');
        if (p) *p = dp[0];
    }
    char *endp;
    errno = 0;
    double d = strtod(buf, &endp);
    if (endp != buf + n) return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a valid %s number", quote(t, n).s, name);
    /* REAL: values that round to FLT_MAX are fine, beyond that binary32 has only
     * infinity. Say so with the number as the user wrote it, not as a double. */
    bool over = (errno == ERANGE && isinf(d)) || (v->type == PLCIO_TYPE_REAL && isfinite(d) && isinf((float)d));
    if (over)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s is out of range for %s (%s)", quote(t, n).s, name,
                        v->type == PLCIO_TYPE_REAL ? "-3.40282347e+38..3.40282347e+38"
                                                   : "-1.7976931348623157e+308..1.7976931348623157e+308");
    v->v.f = v->type == PLCIO_TYPE_REAL && !isinf((float)d) ? (double)(float)d : d;
    return PLCIO_OK;
}

static int parse_char(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    size_t pos = 0;
    uint32_t cp;
    if (!tag_utf8_next(t, n, &pos, &cp) || pos != n)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a single character for %s", quote(t, n).s,
                        plcio_type_name(v->type));
    v->v.u = cp;
    return PLCIO_OK;
}

static int parse_string(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    size_t pos = 0;
    uint32_t cp;
    while (pos < n) {
        if (!tag_utf8_next(t, n, &pos, &cp))
            return tag_fail(PLCIO_ESYNTAX, err, cap, "%s text is not valid UTF-8 at byte %zu", plcio_type_name(v->type),
                            pos);
    }
    size_t bcap;
    char *buf = tag_value_buf(v, &bcap);
    if (n + 1 > bcap)
        return tag_fail(PLCIO_ENOSPC, err, cap, "%zu bytes of text do not fit the value's %zu-byte buffer", n, bcap);
    memcpy(buf, t, n);
    buf[n] = '\0';
    v->text_len = n;
    return PLCIO_OK;
}

/* ---- durations ---- */

static int duration_fail(plcio_type type, const char *t, size_t n, char *err, size_t cap)
{
    return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a valid %s (write it like %s)", quote(t, n).s,
                    plcio_type_name(type),
                    type == PLCIO_TYPE_LTIME    ? "LT#1d2h3m4s5ms6us7ns"
                    : type == PLCIO_TYPE_S5TIME ? "S5T#2m7s or S5T#120ms"
                                                : "T#1d2h3m4s5ms or T#-5s");
}

/* Components "1d2h3m4s5ms6us7ns" (optionally '_'-separated, largest first, a
 * fraction allowed on the last one) into nanoseconds. */
static int scan_components(scan *s, uint64_t *total, bool *overflow)
{
    size_t last_unit = 0;
    bool any = false;
    *total = 0;
    while (!at_end(s)) {
        if (any) accept_char(s, '_');
        uint64_t whole, frac = 0;
        size_t frac_digits = 0;
        if (scan_digits(s, 10, &whole, overflow) == 0) return PLCIO_ESYNTAX;
        if (accept_char(s, '.')) {
            frac_digits = scan_digits(s, 10, &frac, overflow);
            if (frac_digits == 0 || frac_digits > 9) return PLCIO_ESYNTAX;
        }
        const char *u = s->p;
        while (!at_end(s) && isalpha((unsigned char)*s->p))
            s->p++;
        size_t ulen = (size_t)(s->p - u), unit = DURATION_UNITS;
        for (size_t i = 0; i < DURATION_UNITS; i++) {
            if (strlen(duration_units[i].name) == ulen && strncasecmp(u, duration_units[i].name, ulen) == 0) unit = i;
        }
        if (unit == DURATION_UNITS || (any && unit <= last_unit)) return PLCIO_ESYNTAX;
        uint64_t per = duration_units[unit].ns;
        if (whole > UINT64_MAX / per) *overflow = true;
        uint64_t add = whole * per;
        if (frac_digits) {
            uint64_t scale = 1;
            for (size_t i = 0; i < frac_digits; i++)
                scale *= 10;
            if (per % scale != 0) return PLCIO_ERANGE; /* finer than a nanosecond */
            add += per / scale * frac;
            if (!at_end(s)) return PLCIO_ESYNTAX; /* only the last component has a fraction */
        }
        if (*total > UINT64_MAX - add) *overflow = true;
        *total += add;
        last_unit = unit;
        any = true;
    }
    return any ? PLCIO_OK : PLCIO_ESYNTAX;
}

static int parse_duration(plcio_value *v, const char *t, size_t n, bool prefixed, char *err, size_t cap)
{
    plcio_type type = v->type;
    uint64_t unit_ns = type == PLCIO_TYPE_LTIME ? 1 : 1000000;
    scan s = {t, t + n};
    bool negative = false, overflow = false;
    uint64_t ns;
    if (!prefixed) {
        /* A plain whole number counts the type's unit: ms (TIME, S5TIME), ns (LTIME). */
        scan probe = s;
        uint64_t mag;
        if (scan_integer(&probe, &negative, &mag, &overflow)) {
            if (overflow || mag > UINT64_MAX / unit_ns) goto range;
            ns = mag * unit_ns;
            goto have_ns;
        }
    }
    if (accept_char(&s, '-'))
        negative = true;
    else
        accept_char(&s, '+');
    int rc = scan_components(&s, &ns, &overflow);
    if (rc == PLCIO_ERANGE)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s is more precise than a nanosecond", quote(t, n).s);
    if (rc != PLCIO_OK) return duration_fail(type, t, n, err, cap);
    if (overflow) goto range;
have_ns:
    if (ns % unit_ns != 0)
        return tag_fail(PLCIO_ERANGE, err, cap, "%s is more precise than %s's 1 ms resolution", quote(t, n).s,
                        plcio_type_name(type));
    {
        uint64_t mag = ns / unit_ns;
        if (mag > (uint64_t)INT64_MAX + (negative ? 1u : 0u)) goto range;
        v->v.i = negative ? (int64_t)(0 - mag) : (int64_t)mag;
    }
    return PLCIO_OK; /* TIME and S5TIME ranges are checked by the encoder */
range:
    return tag_fail(PLCIO_ERANGE, err, cap, "%s is out of range for %s", quote(t, n).s, plcio_type_name(type));
}

/* ---- dates and times of day ---- */

/* 1 to max_digits decimal digits. */
static bool scan_field(scan *s, size_t min_digits, size_t max_digits, unsigned *out)
{
    unsigned x = 0;
    size_t count = 0;
    while (!at_end(s) && isdigit((unsigned char)*s->p) && count < max_digits) {
        x = x * 10 + (unsigned)(*s->p++ - '0');
        count++;
    }
    *out = x;
    return count >= min_digits && (at_end(s) || !isdigit((unsigned char)*s->p));
}

static bool scan_date(scan *s, plcio_datetime *dt)
{
    unsigned y, m, d;
    if (!scan_field(s, 4, 4, &y) || !accept_char(s, '-') || !scan_field(s, 1, 2, &m) || !accept_char(s, '-') ||
        !scan_field(s, 1, 2, &d))
        return false;
    dt->year = (int32_t)y;
    dt->month = (uint8_t)m;
    dt->day = (uint8_t)d;
    return true;
}

/* hh:mm:ss[.f{1,9}]; the fraction is kept in nanoseconds. */
static bool scan_time_of_day(scan *s, plcio_datetime *dt)
{
    unsigned h, mi, sec;
    if (!scan_field(s, 1, 2, &h) || !accept_char(s, ':') || !scan_field(s, 1, 2, &mi) || !accept_char(s, ':') ||
        !scan_field(s, 1, 2, &sec))
        return false;
    uint32_t ns = 0;
    if (accept_char(s, '.')) {
        size_t digits = 0;
        while (!at_end(s) && isdigit((unsigned char)*s->p)) {
            if (++digits > 9) return false;
            ns = ns * 10 + (uint32_t)(*s->p++ - '0');
        }
        if (digits == 0) return false;
        for (; digits < 9; digits++)
            ns *= 10;
    }
    if (h > 255 || mi > 255 || sec > 255) return false;
    dt->hour = (uint8_t)h;
    dt->minute = (uint8_t)mi;
    dt->second = (uint8_t)sec;
    dt->nanosecond = ns;
    return true;
}

static int parse_datetime(plcio_value *v, const char *t, size_t n, char *err, size_t cap)
{
    tag_kind kind = tag_kind_of(v->type);
    const char *name = plcio_type_name(v->type);
    plcio_datetime dt;
    memset(&dt, 0, sizeof dt);
    scan s = {t, t + n};
    bool ok;
    const char *example;
    if (kind == PLCIO_TAG_DATE) {
        ok = scan_date(&s, &dt);
        example = "2024-05-06 or D#2024-05-06";
    } else if (kind == PLCIO_TAG_TOD || kind == PLCIO_TAG_LTOD) {
        ok = scan_time_of_day(&s, &dt);
        example = kind == PLCIO_TAG_TOD ? "07:08:09.123 or TOD#07:08:09.123" : "07:08:09.123456789";
    } else {
        /* ISO 8601 'T' (or a space), or the IEC '-' between date and time. */
        ok = scan_date(&s, &dt) &&
             (accept_char(&s, 'T') || accept_char(&s, 't') || accept_char(&s, ' ') || accept_char(&s, '-')) &&
             scan_time_of_day(&s, &dt);
        example = "2024-05-06T07:08:09.123 or DT#2024-05-06-07:08:09.123";
    }
    if (!ok || !at_end(&s))
        return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is not a valid %s (write it like %s)", quote(t, n).s, name,
                        example);
    if (kind != PLCIO_TAG_TOD && kind != PLCIO_TAG_LTOD) dt.weekday = (uint8_t)plcio_weekday(dt.year, dt.month, dt.day);
    int rc = tag_check_datetime(v->type, &dt, err, cap);
    if (rc != PLCIO_OK) return rc;
    v->v.dt = dt;
    return PLCIO_OK;
}

/* ---- IEC prefixes ("T#", "INT#", "DT#") ---- */

static const char *const *prefixes_for(tag_kind kind)
{
    static const char *const time_p[] = {"T", "TIME", NULL};
    static const char *const ltime_p[] = {"LT", "LTIME", "T", "TIME", NULL};
    static const char *const s5_p[] = {"S5T", "S5TIME", "T", "TIME", NULL};
    static const char *const date_p[] = {"D", "DATE", NULL};
    static const char *const tod_p[] = {"TOD", "TIME_OF_DAY", NULL};
    static const char *const ltod_p[] = {"LTOD", "LTIME_OF_DAY", "TOD", "TIME_OF_DAY", NULL};
    static const char *const dt_p[] = {"DT", "DATE_AND_TIME", NULL};
    static const char *const ldt_p[] = {"LDT", "DATE_AND_LTIME", "DT", "DATE_AND_TIME", NULL};
    static const char *const dtl_p[] = {"DTL", "LDT", "DT", "DATE_AND_TIME", NULL};
    switch (kind) {
    case PLCIO_TAG_TIME: return time_p;
    case PLCIO_TAG_LTIME: return ltime_p;
    case PLCIO_TAG_S5TIME: return s5_p;
    case PLCIO_TAG_DATE: return date_p;
    case PLCIO_TAG_TOD: return tod_p;
    case PLCIO_TAG_LTOD: return ltod_p;
    case PLCIO_TAG_DT: return dt_p;
    case PLCIO_TAG_LDT: return ldt_p;
    case PLCIO_TAG_DTL: return dtl_p;
    default: return NULL;
    }
}

/* Strip "NAME#" if the text starts with a letter and has one. Which names
 * are accepted depends on the type. *prefixed tells whether one was there. */
static int strip_prefix(plcio_type type, const char **t, size_t *n, bool *prefixed, char *err, size_t cap)
{
    *prefixed = false;
    if (*n == 0 || !isalpha((unsigned char)(*t)[0])) return PLCIO_OK;
    size_t i = 0;
    while (i < *n && (isalnum((unsigned char)(*t)[i]) || (*t)[i] == '_'))
        i++;
    if (i == *n || (*t)[i] != '#') return PLCIO_OK;
    bool ok = false;
    const char *const *list = prefixes_for(tag_kind_of(type));
    if (list) {
        for (; *list && !ok; list++)
            ok = strlen(*list) == i && strncasecmp(*t, *list, i) == 0;
    } else {
        plcio_type named;
        ok = plcio_type_parse(*t, i, &named) == PLCIO_OK && named == type;
    }
    if (!ok)
        return tag_fail(PLCIO_ESYNTAX, err, cap, "'%s' is a %.*s literal, not a %s", quote(*t, *n).s, (int)i, *t,
                        plcio_type_name(type));
    *t += i + 1;
    *n -= i + 1;
    *prefixed = true;
    return PLCIO_OK;
}

static void trim(const char **t, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)(*t)[0]))
        (*t)++, (*n)--;
    while (*n > 0 && isspace((unsigned char)(*t)[*n - 1]))
        (*n)--;
}

int value_from_text_buf(plcio_value *out, plcio_type type, unsigned length, const char *text, size_t len, char *err,
                        size_t errcap)
{
    if (!out || (!text && len)) return tag_fail(PLCIO_EINVAL, err, errcap, "no value or text given");
    if ((unsigned)type >= PLCIO_TYPE_COUNT_) return tag_fail(PLCIO_EINVAL, err, errcap, "unknown type %d", (int)type);
    if (!text) text = "";
    tag_kind kind = tag_kind_of(type);
    unsigned max_len = kind == PLCIO_TAG_WSTRING ? PLCIO_WSTRING_MAX : PLCIO_STRING_MAX;
    if ((kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING) && length > max_len)
        return tag_fail(PLCIO_ERANGE, err, errcap, "%s[%u] is longer than %s[%u]", plcio_type_name(type), length,
                        plcio_type_name(type), max_len);
    out->type = type;
    out->length = kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING ? (uint16_t)length : 0;
    out->text_len = 0;
    int rc;
    if (kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING) {
        rc = parse_string(out, text, len, err, errcap);
    } else if (kind == PLCIO_TAG_CHAR || kind == PLCIO_TAG_WCHAR) {
        rc = parse_char(out, text, len, err, errcap);
    } else {
        const char *t = text;
        size_t n = len;
        bool prefixed;
        trim(&t, &n);
        rc = strip_prefix(type, &t, &n, &prefixed, err, errcap);
        if (rc != PLCIO_OK) return rc;
        switch (kind) {
        case PLCIO_TAG_BOOL: rc = parse_bool(out, t, n, err, errcap); break;
        case PLCIO_TAG_SIGNED:
        case PLCIO_TAG_UNSIGNED: rc = parse_int(out, t, n, err, errcap); break;
        case PLCIO_TAG_REAL:
        case PLCIO_TAG_LREAL: rc = parse_float(out, t, n, err, errcap); break;
        case PLCIO_TAG_TIME:
        case PLCIO_TAG_LTIME:
        case PLCIO_TAG_S5TIME: rc = parse_duration(out, t, n, prefixed, err, errcap); break;
        default: rc = parse_datetime(out, t, n, err, errcap); break;
        }
    }
    if (rc != PLCIO_OK) return rc;
    /* The text is accepted only if the value can be written to the PLC. */
    if (kind == PLCIO_TAG_BOOL) return PLCIO_OK;
    uint8_t scratch[16];
    char why[PLCIO_VALUE_ERR_MAX];
    bool is_text = kind == PLCIO_TAG_STRING || kind == PLCIO_TAG_WSTRING;
    /* Strings: a zero-sized buffer runs every check, then stops at ENOSPC. */
    rc = value_encode_buf(out, is_text ? NULL : scratch, is_text ? 0 : sizeof scratch, 0, NULL, why, sizeof why);
    if (rc == PLCIO_OK || (is_text && rc == PLCIO_ENOSPC)) return PLCIO_OK;
    return tag_fail(rc, err, errcap, "%s", why);
}

int plcio_value_from_text(plcio_value *out, plcio_type type, unsigned length, const char *text, size_t len,
                          plcio_error *err)
{
    error_begin(err);
    // NOLINTNEXTLINE(readability-suspicious-call-argument): the prototype's own order
    return error_end(err, value_from_text_buf(out, type, length, text, len, ERROR_BUF(err)));
}
