/* Internal logging helpers used by every module. */
#ifndef PLCIO_SRC_CORE_LOG_H
#define PLCIO_SRC_CORE_LOG_H

#include <stdbool.h>

#include "plcio/core.h"

/* lg may be NULL (process default). Formats only if the level is enabled. */
void log_msg(const plcio_logger *lg, plcio_log_level level, const char *module, const char *fmt, ...)
    PLCIO_PRINTF(4, 5);
bool log_enabled(const plcio_logger *lg, plcio_log_level level);
/* One line "prefix [len] xx xx xx ..." (pyModbusTCP debug style). */
void log_hex(const plcio_logger *lg, plcio_log_level level, const char *module, const char *prefix, const uint8_t *data,
             size_t len);

#endif
