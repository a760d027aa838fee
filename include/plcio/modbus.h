/* plcio Modbus: data helpers, client and server.
 *
 * References: "MODBUS Application Protocol Specification V1.1b3" (called
 * "AP" below, clause numbers in comments), "MODBUS over Serial Line
 * Specification and Implementation Guide V1.02" ("SL") and "MODBUS Messaging
 * on TCP/IP Implementation Guide V1.0b" ("TCP").
 *
 * Addresses in this API are protocol addresses (0-based, what goes on the
 * wire). Modicon numbers such as 400101 are converted by the address helpers.
 *
 * Ownership and threads: see plcio.h. */
#ifndef PLCIO_MODBUS_H
#define PLCIO_MODBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"

PLCIO_BEGIN_DECLS

/* ===========================================================================
 * Protocol constants
 * ========================================================================= */

/* Public function codes (AP 5.1, 6.x). */
typedef enum plcio_mb_function {
    PLCIO_MB_FC_READ_COILS = 0x01,               /* AP 6.1 */
    PLCIO_MB_FC_READ_DISCRETE_INPUTS = 0x02,     /* AP 6.2 */
    PLCIO_MB_FC_READ_HOLDING_REGISTERS = 0x03,   /* AP 6.3 */
    PLCIO_MB_FC_READ_INPUT_REGISTERS = 0x04,     /* AP 6.4 */
    PLCIO_MB_FC_WRITE_SINGLE_COIL = 0x05,        /* AP 6.5 */
    PLCIO_MB_FC_WRITE_SINGLE_REGISTER = 0x06,    /* AP 6.6 */
    PLCIO_MB_FC_READ_EXCEPTION_STATUS = 0x07,    /* AP 6.7, serial line only */
    PLCIO_MB_FC_DIAGNOSTICS = 0x08,              /* AP 6.8, serial line only */
    PLCIO_MB_FC_GET_COMM_EVENT_COUNTER = 0x0B,   /* AP 6.9, serial line only */
    PLCIO_MB_FC_GET_COMM_EVENT_LOG = 0x0C,       /* AP 6.10, serial line only */
    PLCIO_MB_FC_WRITE_MULTIPLE_COILS = 0x0F,     /* AP 6.11 */
    PLCIO_MB_FC_WRITE_MULTIPLE_REGISTERS = 0x10, /* AP 6.12 */
    PLCIO_MB_FC_REPORT_SERVER_ID = 0x11,         /* AP 6.13, serial line only */
    PLCIO_MB_FC_READ_FILE_RECORD = 0x14,         /* AP 6.14 */
    PLCIO_MB_FC_WRITE_FILE_RECORD = 0x15,        /* AP 6.15 */
    PLCIO_MB_FC_MASK_WRITE_REGISTER = 0x16,      /* AP 6.16 */
    PLCIO_MB_FC_READ_WRITE_REGISTERS = 0x17,     /* AP 6.17 */
    PLCIO_MB_FC_READ_FIFO_QUEUE = 0x18,          /* AP 6.18 */
    PLCIO_MB_FC_ENCAPSULATED = 0x2B              /* AP 6.19-6.21; MEI 0x0E = device identification */
} plcio_mb_function;

#define PLCIO_MB_MEI_DEVICE_ID 0x0E /* AP 6.21 */

/* Exception codes (AP 7). */
typedef enum plcio_mb_exception {
    PLCIO_MB_EX_NONE = 0x00,
    PLCIO_MB_EX_ILLEGAL_FUNCTION = 0x01,
    PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS = 0x02,
    PLCIO_MB_EX_ILLEGAL_DATA_VALUE = 0x03,
    PLCIO_MB_EX_SERVER_DEVICE_FAILURE = 0x04,
    PLCIO_MB_EX_ACKNOWLEDGE = 0x05,
    PLCIO_MB_EX_SERVER_DEVICE_BUSY = 0x06,
    PLCIO_MB_EX_NEGATIVE_ACKNOWLEDGE = 0x07, /* Modicon PI-MBUS-300; not in AP 7 */
    PLCIO_MB_EX_MEMORY_PARITY_ERROR = 0x08,
    PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE = 0x0A,
    PLCIO_MB_EX_GATEWAY_TARGET_FAILED = 0x0B
} plcio_mb_exception;

/* "illegal data address", ...; "unknown exception" for other codes. Static. */
PLCIO_API const char *plcio_mb_exception_text(int code);
/* "read holding registers", ...; "function 0xNN"-style text is not produced:
 * unknown codes give "unknown function". Static. */
PLCIO_API const char *plcio_mb_function_name(int fc);

/* Quantity limits (AP 6.x request descriptions). */
#define PLCIO_MB_MAX_READ_BITS 2000         /* AP 6.1/6.2: 1 to 2000 (0x7D0) */
#define PLCIO_MB_MAX_READ_REGISTERS 125     /* AP 6.3/6.4: 1 to 125 (0x7D) */
#define PLCIO_MB_MAX_WRITE_BITS 1968        /* AP 6.11: 1 to 1968 (0x7B0) */
#define PLCIO_MB_MAX_WRITE_REGISTERS 123    /* AP 6.12: 1 to 123 (0x7B) */
#define PLCIO_MB_MAX_RW_READ_REGISTERS 125  /* AP 6.17: read 1 to 125 (0x7D) */
#define PLCIO_MB_MAX_RW_WRITE_REGISTERS 121 /* AP 6.17: write 1 to 121 (0x79) */
#define PLCIO_MB_MAX_FIFO_COUNT 31          /* AP 6.18: FIFO count <= 31 */
#define PLCIO_MB_MAX_PDU 253                /* AP 4.1: 256 byte serial ADU - address - CRC */
#define PLCIO_MB_MAX_FILE_RECORD 0x270F     /* AP 6.14: record number 0 to 9999 */

/* ===========================================================================
 * Data mangling: values across 16-bit registers, bits, checksums.
 * Pure functions, no allocation.
 * ========================================================================= */

/* Order of a multi-register value. Write the value's big-endian bytes as
 * A B C D (32 bit) or A B C D E F G H (64 bit); registers are listed in
 * address order, each register as it travels on the wire (high byte first):
 *
 *   order  32-bit registers   64-bit registers              16-bit register
 *   ABCD   AB CD              AB CD EF GH   big-endian words, big-endian bytes:
 *                                           the Modbus default (AP 4.2)   AB
 *   CDAB   CD AB              GH EF CD AB   little-endian words ("word swap"),
 *                                           big-endian bytes              AB
 *   BADC   BA DC              BA DC FE HG   big-endian words, bytes swapped
 *                                           in each word ("byte swap")    BA
 *   DCBA   DC BA              HG FE DC BA   little-endian words and bytes BA
 *
 * So CDAB reverses the word order and BADC swaps the two bytes of every
 * word; DCBA does both. This is pymodbus's wordorder/byteorder convention
 * and Schneider's/Wago's "CDAB" naming. */
typedef enum plcio_mb_order {
    PLCIO_MB_ABCD = 0,
    PLCIO_MB_CDAB = 1,
    PLCIO_MB_BADC = 2,
    PLCIO_MB_DCBA = 3
} plcio_mb_order;

/* "ABCD", "CDAB", "BADC", "DCBA"; "?" for a bad value. */
PLCIO_API const char *plcio_mb_order_name(plcio_mb_order order);
/* Case-insensitive name to order; PLCIO_ENOTFOUND if unknown. */
PLCIO_API int plcio_mb_order_parse(const char *name, plcio_mb_order *out);

/* Store a value into 1, 2 or 4 registers (regs must hold that many). */
PLCIO_API void plcio_mb_put_u16(uint16_t *regs, uint16_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_u32(uint16_t *regs, uint32_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_u64(uint16_t *regs, uint64_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i16(uint16_t *regs, int16_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i32(uint16_t *regs, int32_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_i64(uint16_t *regs, int64_t v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_f32(uint16_t *regs, float v, plcio_mb_order order);
PLCIO_API void plcio_mb_put_f64(uint16_t *regs, double v, plcio_mb_order order);
/* Load a value from 1, 2 or 4 registers. */
PLCIO_API uint16_t plcio_mb_get_u16(const uint16_t *regs, plcio_mb_order order);
PLCIO_API uint32_t plcio_mb_get_u32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API uint64_t plcio_mb_get_u64(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int16_t plcio_mb_get_i16(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int32_t plcio_mb_get_i32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API int64_t plcio_mb_get_i64(const uint16_t *regs, plcio_mb_order order);
PLCIO_API float plcio_mb_get_f32(const uint16_t *regs, plcio_mb_order order);
PLCIO_API double plcio_mb_get_f64(const uint16_t *regs, plcio_mb_order order);

/* Arrays: n values of `words` registers each (words 1, 2 or 4). */
PLCIO_API void plcio_mb_put_f32_array(uint16_t *regs, const float *v, size_t n, plcio_mb_order order);
PLCIO_API void plcio_mb_get_f32_array(const uint16_t *regs, float *v, size_t n, plcio_mb_order order);

/* Registers <-> wire bytes (big-endian, AP 4.2). bytes holds 2 * n. */
PLCIO_API void plcio_mb_regs_to_bytes(const uint16_t *regs, size_t n, uint8_t *bytes);
PLCIO_API void plcio_mb_bytes_to_regs(const uint8_t *bytes, size_t n, uint16_t *regs);

/* Two's complement (pyModbusTCP get_2comp / pymodbus): read the low `bits`
 * bits (1..64) of `raw` as a signed number, and back. plcio_mb_to_twos
 * returns PLCIO_ERANGE in *err (if not NULL) when v does not fit. */
PLCIO_API int64_t plcio_mb_from_twos(uint64_t raw, unsigned bits);
PLCIO_API uint64_t plcio_mb_to_twos(int64_t v, unsigned bits, int *err);

/* Bit `bit` (0 = least significant) of a 16-bit register. Out-of-range bit
 * numbers (>= 16) leave the value unchanged / test false. */
PLCIO_API bool plcio_mb_bit_test(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_set(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_reset(uint16_t v, unsigned bit);
PLCIO_API uint16_t plcio_mb_bit_toggle(uint16_t v, unsigned bit);

/* Coil packing (AP 6.1, 6.11): bit i of the list goes to byte i/8, bit i%8
 * (least significant bit first); unused high bits of the last byte are 0.
 * `bits` holds one value per byte (0 = off, anything else = on).
 * plcio_mb_pack_bits writes (n + 7) / 8 bytes and returns that count;
 * plcio_mb_unpack_bits writes n bytes of 0/1. */
PLCIO_API size_t plcio_mb_pack_bits(const uint8_t *bits, size_t n, uint8_t *packed);
PLCIO_API void plcio_mb_unpack_bits(const uint8_t *packed, size_t n, uint8_t *bits);

/* CRC-16/MODBUS (SL 6.2.2: polynomial 0xA001 reflected, init 0xFFFF). The
 * frame carries it low byte first: 01 03 00 00 00 0A -> crc 0xCDC5, sent C5 CD. */
PLCIO_API uint16_t plcio_mb_crc16(const uint8_t *data, size_t len);
/* LRC (SL 6.2.1): two's complement of the 8-bit sum of the bytes. */
PLCIO_API uint8_t plcio_mb_lrc(const uint8_t *data, size_t len);

PLCIO_END_DECLS

#endif
