#include <stdarg.h>
#include <stdio.h>

#include "plcio/core.h"
#include "plcio/version.h"
#include "core/error.h"

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

int plcio_error_set(plcio_error *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err->text, sizeof err->text, fmt, ap);
        va_end(ap);
        if (n < 0) err->text[0] = '\0';
    }
    return code;
}

void plcio_error_clear(plcio_error *err)
{
    if (err) {
        err->code = PLCIO_OK;
        err->text[0] = '\0';
    }
}

int error_to_buf(const plcio_error *e, int rc, char *buf, size_t cap)
{
    if (rc != PLCIO_OK && buf && cap) snprintf(buf, cap, "%s", e->text[0] ? e->text : plcio_strerror(rc));
    return rc;
}
