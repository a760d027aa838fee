#include <string.h>
#include <strings.h>

#include "plcio/core.h"
#include "plcio/types.h"

static const struct {
    const char *name;
    size_t size;
} type_info[PLCIO_TYPE_COUNT_] = {
#define PLCIO_TYPE_INFO_(name, size, text) {text, size},
    PLCIO_TYPE_MAP(PLCIO_TYPE_INFO_)
#undef PLCIO_TYPE_INFO_
};

/* Spellings other than the canonical name that TIA Portal, STEP 7 and IEC 61131-3 use. */
static const struct {
    const char *alias;
    plcio_type type;
} type_aliases[] = {
    {"DT", PLCIO_TYPE_DATE_AND_TIME},
    {"TOD", PLCIO_TYPE_TIME_OF_DAY},
    {"LTIME_OF_DAY", PLCIO_TYPE_LTOD},
    {"DATE_AND_LTIME", PLCIO_TYPE_LDT},
};

const char *plcio_type_name(plcio_type type) { return (unsigned)type < PLCIO_TYPE_COUNT_ ? type_info[type].name : "?"; }

static bool name_equals(const char *name, size_t len, const char *candidate)
{
    return strlen(candidate) == len && strncasecmp(name, candidate, len) == 0;
}

int plcio_type_parse(const char *name, size_t len, plcio_type *out)
{
    if (!name || !out) return PLCIO_EINVAL;
    for (unsigned t = 0; t < PLCIO_TYPE_COUNT_; t++) {
        if (name_equals(name, len, type_info[t].name)) {
            *out = (plcio_type)t;
            return PLCIO_OK;
        }
    }
    for (size_t i = 0; i < sizeof type_aliases / sizeof type_aliases[0]; i++) {
        if (name_equals(name, len, type_aliases[i].alias)) {
            *out = type_aliases[i].type;
            return PLCIO_OK;
        }
    }
    return PLCIO_ENOTFOUND;
}

size_t plcio_type_size(plcio_type type, unsigned length)
{
    switch (type) {
    case PLCIO_TYPE_BOOL: return 1;
    case PLCIO_TYPE_STRING: return length <= PLCIO_STRING_MAX ? (size_t)length + 2 : 0;
    case PLCIO_TYPE_WSTRING: return length <= PLCIO_WSTRING_MAX ? 2 * (size_t)length + 4 : 0;
    default: return (unsigned)type < PLCIO_TYPE_COUNT_ ? type_info[type].size : 0;
    }
}

bool plcio_type_is_byte_aligned(plcio_type type)
{
    switch (type) {
    case PLCIO_TYPE_BOOL:
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_CHAR:
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_USINT: return true;
    default: return false;
    }
}
