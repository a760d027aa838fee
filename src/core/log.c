#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static plcio_logger default_logger; /* fn NULL: discard */
bool log_default_set;

void plcio_log_set_default(const plcio_logger *logger)
{
    if (logger) {
        default_logger = *logger;
    } else {
        default_logger.fn = NULL;
        default_logger.ctx = NULL;
        default_logger.level = PLCIO_LOG_ERROR;
    }
    log_default_set = default_logger.fn != NULL;
}

const char *plcio_log_level_name(plcio_log_level level)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    return (unsigned)level < sizeof names / sizeof names[0] ? names[level] : "?";
}

void plcio_log_to_stream(void *ctx, plcio_log_level level, const char *module, const char *msg)
{
    FILE *f = ctx ? (FILE *)ctx : stderr;
    fprintf(f, "%s %s: %s\n", plcio_log_level_name(level), module ? module : "plcio", msg);
}

static const plcio_logger *effective(const plcio_logger *lg) { return (lg && lg->fn) ? lg : &default_logger; }

bool log_enabled(const plcio_logger *lg, plcio_log_level level)
{
    const plcio_logger *e = effective(lg);
    return e->fn != NULL && level <= e->level;
}

void log_msg(const plcio_logger *lg, plcio_log_level level, const char *module, const char *fmt, ...)
{
    const plcio_logger *e = effective(lg);
    if (!e->fn || level > e->level) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->fn(e->ctx, level, module, buf);
}

void log_hex(const plcio_logger *lg, plcio_log_level level, const char *module, const char *prefix, const uint8_t *data,
             size_t len)
{
    const plcio_logger *e = effective(lg);
    if (!e->fn || level > e->level) return;
    /* "Tx [12] 00 01 ..." ; long frames are cut with " ..." so one line stays readable. */
    char buf[1024];
    size_t used = (size_t)snprintf(buf, sizeof buf, "%s [%zu]", prefix, len);
    for (size_t i = 0; i < len && used + 8 < sizeof buf; i++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, " %02x", data[i]);
    if (used + 8 >= sizeof buf) snprintf(buf + sizeof buf - 5, 5, " ...");
    e->fn(e->ctx, level, module, buf);
}
