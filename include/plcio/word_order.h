/* plcio word order: how a value wider than 16 bits lies across Modbus
 * registers. It belongs to the value layer (addresses such as
 * "400101:REAL:CDAB" name it), below the Modbus module that applies it. */
#ifndef PLCIO_WORD_ORDER_H
#define PLCIO_WORD_ORDER_H

#include "plcio/export.h"

PLCIO_BEGIN_DECLS

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

PLCIO_END_DECLS

#endif
