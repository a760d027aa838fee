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
