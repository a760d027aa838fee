/* Calendar arithmetic, strict UTF-8 and error messages for src/tag. */
#include <stdarg.h>
#include <stdio.h>

#include "plcio/core.h"
#include "tag_internal.h"

int tag_fail(int code, char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

bool tag_is_leap(int32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned tag_days_in_month(int32_t year, unsigned month)
{
    static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return 0;
    return days[month - 1] + (month == 2 && tag_is_leap(year) ? 1u : 0u);
}

bool tag_date_valid(int32_t year, unsigned month, unsigned day)
{
    return year >= 1 && year <= 9999 && day >= 1 && day <= tag_days_in_month(year, month);
}

/* Days from civil date and back: the era-based algorithm of H. Hinnant
 * ("chrono-compatible low-level date algorithms"), valid for any year >= 1. */
int64_t tag_days_from_civil(int32_t year, unsigned month, unsigned day)
{
    int64_t y = (int64_t)year - (month <= 2 ? 1 : 0);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                         /* [0, 399] */
    int64_t mp = (int64_t)month + (month > 2 ? -3 : 9);  /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)day - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void tag_civil_from_days(int64_t days, int32_t *year, unsigned *month, unsigned *day)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int32_t)(yoe + era * 400 + (m <= 2 ? 1 : 0));
    *month = (unsigned)m;
    *day = (unsigned)d;
}

unsigned tag_weekday_from_days(int64_t days)
{
    /* 1970-01-01 was a Thursday: S7 weekday 5 (1 = Sunday). */
    int64_t r = (days + 4) % 7;
    if (r < 0) r += 7;
    return (unsigned)r + 1;
}

unsigned plcio_weekday(int32_t year, unsigned month, unsigned day)
{
    if (!tag_date_valid(year, month, day)) return 0;
    return tag_weekday_from_days(tag_days_from_civil(year, month, day));
}

bool tag_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s + *pos;
    size_t left = len - *pos;
    if (left == 0) return false;
    unsigned c = p[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        *pos += 1;
        return true;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return false;
    }
    if (left < n) return false;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return false;
        v = v << 6 | (p[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
    *cp = v;
    *pos += n;
    return true;
}

size_t tag_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
