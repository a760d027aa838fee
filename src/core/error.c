#include "plcio/core.h"
#include "plcio/version.h"

const char *plcio_strerror(int err)
{
    switch (err) {
#define PLCIO_ERR_TEXT_(name, value, text)                                                                             \
    case (value): return (text);
        PLCIO_ERRNO_MAP(PLCIO_ERR_TEXT_)
#undef PLCIO_ERR_TEXT_
    default: return "unknown error";
    }
}

const char *plcio_err_name(int err)
{
    switch (err) {
#define PLCIO_ERR_NAME_(name, value, text)                                                                             \
    case (value): return "PLCIO_" #name;
        PLCIO_ERRNO_MAP(PLCIO_ERR_NAME_)
#undef PLCIO_ERR_NAME_
    default: return "PLCIO_UNKNOWN";
    }
}

const char *plcio_version(void) { return PLCIO_VERSION_STRING; }

uint32_t plcio_version_hex(void) { return PLCIO_VERSION_HEX; }
