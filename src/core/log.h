/* Internal logging helpers used by every module. */
#ifndef PLCIO_SRC_CORE_LOG_H
#define PLCIO_SRC_CORE_LOG_H

#include <stdbool.h>

#include "plcio/core.h"

/* lg may be NULL (process default). Formats only if the level is enabled. */
void log_msg(const plcio_logger *lg, plcio_log_level level, const char *module, const char *fmt, ...)
    PLCIO_PRINTF(4, 5);
bool log_enabled(const plcio_logger *lg, plcio_log_level level);
/* True while the process has a default logger (plcio_log_set_default). */
extern bool log_default_set;
/* log_enabled without a call while neither lg nor the process default
 * logs anything: for paths that run with every frame. */
static inline bool log_enabled_fast(const plcio_logger *lg, plcio_log_level level)
{
    if (lg && lg->fn) return level <= lg->level;
    return log_default_set && log_enabled(lg, level);
}
/* One line "prefix [len] xx xx xx ..." (pyModbusTCP debug style). */
void log_hex(const plcio_logger *lg, plcio_log_level level, const char *module, const char *prefix, const uint8_t *data,
             size_t len);

#endif
