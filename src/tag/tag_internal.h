/* Helpers shared by the value codecs and the address parsers (not exported). */
#ifndef PLCIO_TAG_INTERNAL_H
#define PLCIO_TAG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/export.h"
#include "plcio/address.h"
#include "plcio/value.h"

/* Format a one-line message into err (cap bytes; nothing if err is NULL or
 * cap is 0) and return `code`, so callers write `return tag_fail(...)`. */
int tag_fail(int code, char *err, size_t cap, const char *fmt, ...) PLCIO_PRINTF(4, 5);

/* ---- calendar (proleptic Gregorian) ---- */

bool tag_is_leap(int32_t year);
unsigned tag_days_in_month(int32_t year, unsigned month);
/* Days since 1970-01-01 (negative before). */
int64_t tag_days_from_civil(int32_t year, unsigned month, unsigned day);
void tag_civil_from_days(int64_t days, int32_t *year, unsigned *month, unsigned *day);
/* S7 weekday (1 = Sunday) of a day count since 1970-01-01. */
unsigned tag_weekday_from_days(int64_t days);
/* True if year/month/day is a real date. */
bool tag_date_valid(int32_t year, unsigned month, unsigned day);

/* ---- Unicode ---- */

/* Strict UTF-8 decoder: no overlong forms, no surrogates, nothing above
 * U+10FFFF. Reads one code point at s[*pos], advances *pos. false if malformed. */
bool tag_utf8_next(const char *s, size_t len, size_t *pos, uint32_t *cp);
/* Encode cp (a Unicode scalar value) as UTF-8 into out[4]; returns the byte count. */
size_t tag_utf8_put(uint32_t cp, char *out);

/* ---- how each plcio_type is coded (value.c, value_text.c) ---- */

typedef enum tag_kind {
    PLCIO_TAG_BOOL,
    PLCIO_TAG_SIGNED,   /* SINT INT DINT LINT: v.i */
    PLCIO_TAG_UNSIGNED, /* BYTE WORD DWORD LWORD USINT UINT UDINT ULINT: v.u */
    PLCIO_TAG_REAL,
    PLCIO_TAG_LREAL,
    PLCIO_TAG_CHAR,
    PLCIO_TAG_WCHAR,
    PLCIO_TAG_STRING,
    PLCIO_TAG_WSTRING,
    PLCIO_TAG_TIME,   /* ms, int32 */
    PLCIO_TAG_LTIME,  /* ns, int64 */
    PLCIO_TAG_S5TIME, /* ms, 0..9990000 */
    PLCIO_TAG_DATE,
    PLCIO_TAG_TOD,
    PLCIO_TAG_LTOD,
    PLCIO_TAG_DT,
    PLCIO_TAG_LDT,
    PLCIO_TAG_DTL
} tag_kind;

/* Kind of a valid type; callers check the type first. */
tag_kind tag_kind_of(plcio_type type);
/* Integer range of SIGNED / UNSIGNED kinds (and of TIME in ms, LTIME in ns). */
void tag_int_range(plcio_type type, int64_t *min, uint64_t *max);
/* Check a date/time value for its type; message names the type. */
int tag_check_datetime(plcio_type type, const plcio_datetime *dt, char *err, size_t cap);
/* Nanoseconds since 1970 of a (checked) LDT value. */
int64_t tag_ldt_ns(const plcio_datetime *dt);
/* Fill dt from nanoseconds since 1970 (LDT). */
void tag_dt_from_ns(int64_t ns, plcio_datetime *dt);

#define PLCIO_TAG_S5TIME_MAX_MS 9990000 /* 999 x 10 s */
#define PLCIO_TAG_NS_PER_DAY    (INT64_C(86400) * 1000000000)

/* ---- the value's text storage ---- */

char *tag_value_buf(plcio_value *v, size_t *cap);

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int s7_address_parse_buf(const char *text, plcio_s7_address *out, char *err, size_t errcap);
/* plcio_logo_address_parse into a plain buffer. */
int logo_address_parse_buf(const char *text, plcio_logo_model model, plcio_s7_address *out, bool *read_only, char *err,
                           size_t errcap);
int mb_address_parse_buf(const char *text, plcio_mb_address *out, char *err, size_t errcap);

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int value_decode_buf(plcio_value *out, plcio_type type, unsigned length, const uint8_t *data, size_t len, unsigned bit,
                     size_t *used, char *err, size_t errcap);
int value_encode_buf(const plcio_value *v, uint8_t *data, size_t len, unsigned bit, size_t *used, char *err,
                     size_t errcap);
int value_decode_chars_buf(plcio_value *out, const uint8_t *data, size_t len, char *err, size_t errcap);
int value_encode_chars_buf(const plcio_value *v, uint8_t *data, size_t len, char *err, size_t errcap);

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int value_from_text_buf(plcio_value *out, plcio_type type, unsigned length, const char *text, size_t len, char *err,
                        size_t errcap);

#endif
