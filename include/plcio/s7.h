/* S7 (ISO-on-TCP) client: the classic S7 protocol of S7-300/400/1200/1500 and
 * snap7, with PDU-sized splitting, a multi-variable optimizer and pipelining.
 *
 * Threads and ownership follow plcio.h. A plcio_s7_client is used from one
 * thread at a time. Strings returned by the client are owned by it and valid
 * until the next call on the same handle. */
#ifndef PLCIO_S7_H
#define PLCIO_S7_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/address.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

/* Memory areas: plcio_s7_area of plcio/address.h (PLCIO_S7_AREA_DB, _MK,
 * _PE, _PA, _CT, _TM, _P, _DI); the codec also passes 0x86 (L) and 0x87 (V). */

/* Transport sizes of a request item (any-pointer "type"). */
typedef enum plcio_s7_transport {
    PLCIO_S7_TS_BIT = 0x01,
    PLCIO_S7_TS_BYTE = 0x02,
    PLCIO_S7_TS_CHAR = 0x03,
    PLCIO_S7_TS_WORD = 0x04,
    PLCIO_S7_TS_INT = 0x05,
    PLCIO_S7_TS_DWORD = 0x06,
    PLCIO_S7_TS_DINT = 0x07,
    PLCIO_S7_TS_REAL = 0x08,
    PLCIO_S7_TS_COUNTER = 0x1C,
    PLCIO_S7_TS_TIMER = 0x1D
} plcio_s7_transport;

/* Connection types, the high byte of the remote TSAP. */
typedef enum plcio_s7_conn_type {
    PLCIO_S7_CONN_PG = 1,
    PLCIO_S7_CONN_OP = 2,
    PLCIO_S7_CONN_BASIC = 3
} plcio_s7_conn_type;

/* Text of an S7 header error (class << 8 | code), e.g. 0x8104 "service not
 * supported by the module"; never NULL, static storage. */
PLCIO_API const char *plcio_s7_error_text(uint16_t class_code);
/* Text of a data-item return code (0xFF success, 0x05 "address out of range",
 * 0x0A "object does not exist", ...); never NULL, static storage. */
PLCIO_API const char *plcio_s7_return_code_text(uint8_t return_code);
/* Name of an area as addresses write it ("DB", "M", "I", "Q", "C", "T", "P",
 * "DI", "L", "V"); "?" if unknown. */
PLCIO_API const char *plcio_s7_area_name(uint8_t area);

PLCIO_END_DECLS

#endif
