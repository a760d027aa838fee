/* Typed PLC values: one tagged struct and codecs between PLC bytes, C values
 * and text for every S7 elementary type in plcio_type (types.h).
 *
 * Usage
 * -----
 *   plcio_value v;
 *   plcio_value_init(&v, PLCIO_TYPE_REAL);
 *   // PLC bytes -> value (big-endian S7 layout; `bit` only matters for BOOL)
 *   rc = plcio_value_decode(&v, PLCIO_TYPE_REAL, 0, data, len, 0, &used, err, sizeof err);
 *   // value -> text ("3.5", "true", "T#1h2m", "2024-05-06T07:08:09.123")
 *   rc = plcio_value_to_text(&v, buf, sizeof buf, &textlen);
 *   // text -> value, with a message such as
 *   // "70000 is out of range for INT (-32768..32767)" on error
 *   rc = plcio_value_from_text(&v, PLCIO_TYPE_INT, 0, "1234", 4, err, sizeof err);
 *   // value -> PLC bytes (BOOL changes only its bit of data[0])
 *   rc = plcio_value_encode(&v, data, len, 0, &used, err, sizeof err);
 *
 * Which union member holds the value (set it directly to build values in C):
 *   b   BOOL
 *   i   SINT INT DINT LINT, TIME (milliseconds), LTIME (nanoseconds),
 *       S5TIME (milliseconds, 0..9990000)
 *   u   BYTE WORD DWORD LWORD USINT UINT UDINT ULINT,
 *       CHAR WCHAR (the Unicode code point: CHAR is Latin-1, 0..255)
 *   f   REAL LREAL (a REAL holds a value exactly representable as float)
 *   dt  DATE (date fields), TIME_OF_DAY LTOD (time fields), DATE_AND_TIME LDT
 *       DTL (all fields)
 *   text (plcio_value_text) STRING WSTRING
 * Range checks happen in plcio_value_encode: an INT holding 70000 is refused
 * there with PLCIO_ERANGE, never wrapped.
 *
 * Strings: in C, STRING and WSTRING are UTF-8 text (it may contain NUL bytes;
 * the length is explicit, a NUL terminator follows for convenience). On the
 * wire, STRING is Latin-1 (ISO-8859-1): byte 0xE4 is U+00E4 'ä'; text with a
 * character above U+00FF cannot be written to a STRING (PLCIO_ERANGE). WSTRING
 * is UTF-16 big-endian with surrogate pairs; unpaired surrogates are refused.
 * The S7 header is honoured: STRING = max(1 byte) cur(1 byte) chars[max];
 * WSTRING = max(2) cur(2) units[max]. Decoding refuses cur > max or a max that
 * the buffer does not hold; encoding refuses text longer than `length`
 * (characters for STRING, UTF-16 units for WSTRING), and pads with zeros.
 *
 * Storage: no allocation anywhere. Text lives in an inline buffer of
 * PLCIO_VALUE_INLINE_TEXT bytes, which holds any STRING[254]; for long
 * WSTRINGs attach a bigger buffer with plcio_value_use_buffer(). A struct copy
 * of a value that uses the inline buffer is independent; one that uses an
 * attached buffer shares it.
 *
 * Errors: PLCIO_OK or a negative plcio_err; `err` (may be NULL)
 * receives a one-line message naming the type and what is wrong. Text forms,
 * S5TIME rules and ranges are documented in docs/values.md.
 */
#ifndef PLCIO_VALUE_H
#define PLCIO_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/types.h"

PLCIO_BEGIN_DECLS

/* Inline text storage: any STRING[254] as UTF-8 (2 bytes per character at
 * most) plus the NUL terminator. */
#define PLCIO_VALUE_INLINE_TEXT 512
/* Text of any non-string value fits in this many bytes (with NUL). */
#define PLCIO_VALUE_TEXT_MAX 64
/* A good size for the `err` buffers of this module. */
#define PLCIO_VALUE_ERR_MAX 160

/* Calendar fields shared by the date and time types. Unused fields are 0. */
typedef struct plcio_datetime {
    int32_t year;        /* DATE 1990..2169, DATE_AND_TIME 1990..2089, LDT 1970..2262, DTL 1970..2554 */
    uint8_t month;       /* 1..12 */
    uint8_t day;         /* 1..31 (checked against the month and leap years) */
    uint8_t hour;        /* 0..23 */
    uint8_t minute;      /* 0..59 */
    uint8_t second;      /* 0..59 */
    uint8_t weekday;     /* S7 convention 1 = Sunday .. 7 = Saturday. Decoding fills it
                          * for every type with a date; DATE_AND_TIME and DTL encode it
                          * as given and require 1..7 (plcio_weekday() computes it;
                          * from_text does so; it is not checked against the date,
                          * PLCs recompute it when they take the value) */
    uint32_t nanosecond; /* 0..999999999; TIME_OF_DAY and DATE_AND_TIME hold whole ms */
} plcio_datetime;

typedef struct plcio_value {
    plcio_type type;
    uint16_t length; /* STRING[n] / WSTRING[n]: the declared maximum n; 0 otherwise */
    union {
        bool b;
        int64_t i;
        uint64_t u;
        double f;
        plcio_datetime dt;
    } v;
    /* STRING / WSTRING text, read it with plcio_value_text(). */
    size_t text_len;
    char *text_ext; /* attached buffer (borrowed) or NULL for text_inline */
    size_t text_ext_cap;
    char text_inline[PLCIO_VALUE_INLINE_TEXT];
} plcio_value;

/* Zero the value and set its type. Detaches any attached buffer. */
PLCIO_API void plcio_value_init(plcio_value *v, plcio_type type);

/* Let the value keep its text in `buf` (borrowed; must outlive the value's use).
 * Needed only for WSTRINGs whose UTF-8 form exceeds PLCIO_VALUE_INLINE_TEXT - 1
 * bytes (up to 3 * 16382 + 1 bytes for WSTRING[16382]). The current text is
 * dropped. `buf` NULL goes back to the inline buffer. */
PLCIO_API void plcio_value_use_buffer(plcio_value *v, char *buf, size_t cap);

/* STRING / WSTRING text: UTF-8, NUL-terminated, `*len` (may be NULL) bytes
 * long without the terminator. Borrowed from v. "" for other types. */
PLCIO_API const char *plcio_value_text(const plcio_value *v, size_t *len);

/* PLC bytes -> value. `type`/`length` as declared (length: STRING[n] /
 * WSTRING[n]; 0 accepts whatever maximum the header states and the field is
 * header + that maximum; with n the field is header + n and a smaller header
 * maximum, as in memory no PLC wrote yet, is accepted). `bit` 0..7 picks
 * the bit of data[0] for BOOL; it must be 0 otherwise. `*used` (may be NULL):
 * bytes consumed on success; with PLCIO_EAGAIN (buffer shorter than the value,
 * or than the string its header declares) the total bytes needed.
 * Errors: PLCIO_EAGAIN, PLCIO_EPROTO (bad BCD, impossible date, string header
 * inconsistent, unpaired surrogate, a declared maximum above `length`),
 * PLCIO_ENOSPC (text does not fit v's buffer), PLCIO_EINVAL. On error *out
 * keeps its buffer and its contents are unspecified. */
PLCIO_API int plcio_value_decode(plcio_value *out, plcio_type type, unsigned length, const uint8_t *data, size_t len,
                                 unsigned bit, size_t *used, plcio_error *err);

/* Value -> PLC bytes at data[0..]. BOOL sets or clears bit `bit` of data[0]
 * and leaves the other bits alone. Strings write header + `v->length` chars
 * (padding with zeros). `*used` (may be NULL): bytes written, or the bytes
 * needed with PLCIO_ENOSPC. Errors: PLCIO_ERANGE (value outside the type, text
 * too long or not representable, S5TIME not representable, invalid date),
 * PLCIO_ENOSPC, PLCIO_EINVAL. Nothing is written on error. */
PLCIO_API int plcio_value_encode(const plcio_value *v, uint8_t *data, size_t len, unsigned bit, size_t *used,
                                 plcio_error *err);

/* Value -> text, NUL-terminated; `*len` (may be NULL) gets the length without
 * the NUL. Numbers round-trip (%.9g REAL, %.17g LREAL), BOOL true/false, TIME
 * T#1d2h3m4s5ms, LTIME LT#...ns, S5TIME S5T#..., DATE 2024-05-06,
 * TIME_OF_DAY 07:08:09.123, LTOD 07:08:09.123456789, DATE_AND_TIME
 * 2024-05-06T07:08:09.123, LDT/DTL with 9 fraction digits, CHAR/WCHAR/STRING/
 * WSTRING their UTF-8 text as is (no quotes). PLCIO_ENOSPC if cap is too small
 * (the text is cut at a character boundary then), PLCIO_EINVAL. */
PLCIO_API int plcio_value_to_text(const plcio_value *v, char *buf, size_t cap, size_t *len);

/* As plcio_value_to_text, but dates and times of day as IEC 61131-3 literals:
 * D#2024-05-06, TOD#07:08:09.123, LTOD#..., DT#2024-05-06-07:08:09.123,
 * LDT#..., DTL#... (durations are IEC literals in both functions). */
PLCIO_API int plcio_value_to_iec_text(const plcio_value *v, char *buf, size_t cap, size_t *len);

/* Text -> value of `type` (STRING[length] / WSTRING[length]). `text` need not
 * be NUL-terminated. Accepts what plcio_value_to_text prints plus IEC forms
 * (16#FF, 2#1010, T#.., D#.., TOD#.., DT#2024-05-06-07:08:09.123, ...), see
 * docs/values.md. Errors: PLCIO_ESYNTAX (not a value of the type, e.g. "1.5"
 * for DINT, "maybe" for BOOL), PLCIO_ERANGE (e.g. "70000" for INT, a string
 * longer than `length`), PLCIO_ENOSPC (text longer than v's buffer). */
PLCIO_API int plcio_value_from_text(plcio_value *out, plcio_type type, unsigned length, const char *text, size_t len,
                                    plcio_error *err);

/* Fixed-size character fields without an S7 header (Modbus register strings,
 * ARRAY OF CHAR): `len` Latin-1 bytes; the text ends at the first NUL.
 * Decode gives a STRING value (length = len); encode writes the text and pads
 * with NUL bytes, PLCIO_ERANGE if it does not fit or is not Latin-1. */
PLCIO_API int plcio_value_decode_chars(plcio_value *out, const uint8_t *data, size_t len, plcio_error *err);
PLCIO_API int plcio_value_encode_chars(const plcio_value *v, uint8_t *data, size_t len, plcio_error *err);

/* Day of the week in the S7 convention (1 = Sunday .. 7 = Saturday) for a
 * proleptic Gregorian date; 0 if the date is invalid. */
PLCIO_API unsigned plcio_weekday(int32_t year, unsigned month, unsigned day);

PLCIO_END_DECLS

#endif
