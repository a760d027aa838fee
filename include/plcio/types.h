/* The S7 elementary data types, shared by the value codecs, the layout
 * calculator, address strings and the sync engine.
 *
 * X(ENUM, size_in_bytes, "canonical name")
 * size 0 means "depends on a length" (STRING[n] = n+2, WSTRING[n] = 2n+4) or, for
 * BOOL, "one bit". */
#ifndef PLCIO_TYPES_H
#define PLCIO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/export.h"

PLCIO_BEGIN_DECLS

#define PLCIO_TYPE_MAP(X)                                                                                              \
    X(BOOL, 0, "BOOL")                                                                                                 \
    X(BYTE, 1, "BYTE")                                                                                                 \
    X(WORD, 2, "WORD")                                                                                                 \
    X(DWORD, 4, "DWORD")                                                                                               \
    X(LWORD, 8, "LWORD")                                                                                               \
    X(SINT, 1, "SINT")                                                                                                 \
    X(USINT, 1, "USINT")                                                                                               \
    X(INT, 2, "INT")                                                                                                   \
    X(UINT, 2, "UINT")                                                                                                 \
    X(DINT, 4, "DINT")                                                                                                 \
    X(UDINT, 4, "UDINT")                                                                                               \
    X(LINT, 8, "LINT")                                                                                                 \
    X(ULINT, 8, "ULINT")                                                                                               \
    X(REAL, 4, "REAL")                                                                                                 \
    X(LREAL, 8, "LREAL")                                                                                               \
    X(CHAR, 1, "CHAR")                                                                                                 \
    X(WCHAR, 2, "WCHAR")                                                                                               \
    X(STRING, 0, "STRING")                                                                                             \
    X(WSTRING, 0, "WSTRING")                                                                                           \
    X(TIME, 4, "TIME")                                                                                                 \
    X(LTIME, 8, "LTIME")                                                                                               \
    X(S5TIME, 2, "S5TIME")                                                                                             \
    X(DATE, 2, "DATE")                                                                                                 \
    X(TIME_OF_DAY, 4, "TIME_OF_DAY")                                                                                   \
    X(LTOD, 8, "LTOD")                                                                                                 \
    X(DATE_AND_TIME, 8, "DATE_AND_TIME")                                                                               \
    X(LDT, 8, "LDT")                                                                                                   \
    X(DTL, 12, "DTL")

typedef enum plcio_type {
#define PLCIO_TYPE_ENUM_(name, size, text) PLCIO_TYPE_##name,
    PLCIO_TYPE_MAP(PLCIO_TYPE_ENUM_)
#undef PLCIO_TYPE_ENUM_
        PLCIO_TYPE_COUNT_
} plcio_type;

/* Longest STRING an S7 CPU accepts (STRING[254]); WSTRING goes to 16382. */
#define PLCIO_STRING_MAX  254
#define PLCIO_WSTRING_MAX 16382

/* Canonical upper-case name ("REAL", "DATE_AND_TIME"); "?" for a bad value. */
PLCIO_API const char *plcio_type_name(plcio_type type);

/* Parse a type name as TIA Portal, STEP 7 and users write it, case-insensitive:
 * "Real", "Date_And_Time", "DT", "TOD", "Time_Of_Day", "LTime_Of_Day", "LTOD",
 * "String", "WString". No length suffix here. PLCIO_ENOTFOUND if unknown. */
PLCIO_API int plcio_type_parse(const char *name, size_t len, plcio_type *out);

/* Bytes the type occupies in PLC memory. `length` is the declared maximum for
 * STRING / WSTRING (ignored otherwise). BOOL is 1 (the byte that holds the bit).
 * 0 for a bad type or a string length out of range. */
PLCIO_API size_t plcio_type_size(plcio_type type, unsigned length);

/* True for types whose standard-access alignment is one byte (BOOL, BYTE,
 * CHAR, SINT, USINT); everything else starts on an even byte. */
PLCIO_API bool plcio_type_is_byte_aligned(plcio_type type);

PLCIO_END_DECLS

#endif
