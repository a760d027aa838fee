/* Modbus data mangling: multi-register values in four orders, two's
 * complement, bits in registers, coil packing, CRC-16 and LRC. */
#include <string.h>

#include "plcio/bytes.h"
#include "modbus/mb_codec.h"
#include "plcio/modbus.h"

static bool order_swaps_words(plcio_mb_order order) { return order == PLCIO_MB_CDAB || order == PLCIO_MB_DCBA; }
static bool order_swaps_bytes(plcio_mb_order order) { return order == PLCIO_MB_BADC || order == PLCIO_MB_DCBA; }

static uint16_t swap16(uint16_t v) { return (uint16_t)(v << 8 | v >> 8); }

/* words[0..n) hold the value big-endian (ABCD); rearrange into `order`. The
 * transformation is its own inverse, so it serves both directions. */
void mb_reorder_words(uint16_t *words, size_t n, plcio_mb_order order)
{
    if (order_swaps_words(order))
        for (size_t i = 0; i < n / 2; i++) {
            uint16_t t = words[i];
            words[i] = words[n - 1 - i];
            words[n - 1 - i] = t;
        }
    if (order_swaps_bytes(order))
        for (size_t i = 0; i < n; i++)
            words[i] = swap16(words[i]);
}

void plcio_mb_put_u16(uint16_t *regs, uint16_t v, plcio_mb_order order)
{
    regs[0] = v;
    mb_reorder_words(regs, 1, order);
}

void plcio_mb_put_u32(uint16_t *regs, uint32_t v, plcio_mb_order order)
{
    regs[0] = (uint16_t)(v >> 16);
    regs[1] = (uint16_t)v;
    mb_reorder_words(regs, 2, order);
}

void plcio_mb_put_u64(uint16_t *regs, uint64_t v, plcio_mb_order order)
{
    for (unsigned i = 0; i < 4; i++)
        regs[i] = (uint16_t)(v >> (48 - 16 * i));
    mb_reorder_words(regs, 4, order);
}

uint16_t plcio_mb_get_u16(const uint16_t *regs, plcio_mb_order order)
{
    uint16_t w = regs[0];
    mb_reorder_words(&w, 1, order);
    return w;
}

uint32_t plcio_mb_get_u32(const uint16_t *regs, plcio_mb_order order)
{
    uint16_t w[2] = {regs[0], regs[1]};
    mb_reorder_words(w, 2, order);
    return (uint32_t)w[0] << 16 | w[1];
}

uint64_t plcio_mb_get_u64(const uint16_t *regs, plcio_mb_order order)
{
    uint16_t w[4];
    memcpy(w, regs, sizeof w);
    mb_reorder_words(w, 4, order);
    uint64_t v = 0;
    for (unsigned i = 0; i < 4; i++)
        v = v << 16 | w[i];
    return v;
}

void plcio_mb_put_i16(uint16_t *regs, int16_t v, plcio_mb_order order) { plcio_mb_put_u16(regs, (uint16_t)v, order); }
void plcio_mb_put_i32(uint16_t *regs, int32_t v, plcio_mb_order order) { plcio_mb_put_u32(regs, (uint32_t)v, order); }
void plcio_mb_put_i64(uint16_t *regs, int64_t v, plcio_mb_order order) { plcio_mb_put_u64(regs, (uint64_t)v, order); }
void plcio_mb_put_f32(uint16_t *regs, float v, plcio_mb_order order)
{
    plcio_mb_put_u32(regs, plcio_f32_to_bits(v), order);
}
void plcio_mb_put_f64(uint16_t *regs, double v, plcio_mb_order order)
{
    plcio_mb_put_u64(regs, plcio_f64_to_bits(v), order);
}
int16_t plcio_mb_get_i16(const uint16_t *regs, plcio_mb_order order)
{
    return (int16_t)plcio_mb_from_twos(plcio_mb_get_u16(regs, order), 16);
}
int32_t plcio_mb_get_i32(const uint16_t *regs, plcio_mb_order order)
{
    return (int32_t)plcio_mb_from_twos(plcio_mb_get_u32(regs, order), 32);
}
int64_t plcio_mb_get_i64(const uint16_t *regs, plcio_mb_order order)
{
    return plcio_mb_from_twos(plcio_mb_get_u64(regs, order), 64);
}
float plcio_mb_get_f32(const uint16_t *regs, plcio_mb_order order)
{
    return plcio_f32_from_bits(plcio_mb_get_u32(regs, order));
}
double plcio_mb_get_f64(const uint16_t *regs, plcio_mb_order order)
{
    return plcio_f64_from_bits(plcio_mb_get_u64(regs, order));
}

void plcio_mb_put_f32_array(uint16_t *regs, const float *v, size_t n, plcio_mb_order order)
{
    for (size_t i = 0; i < n; i++)
        plcio_mb_put_f32(regs + 2 * i, v[i], order);
}

void plcio_mb_get_f32_array(const uint16_t *regs, float *v, size_t n, plcio_mb_order order)
{
    for (size_t i = 0; i < n; i++)
        v[i] = plcio_mb_get_f32(regs + 2 * i, order);
}

void plcio_mb_regs_to_bytes(const uint16_t *regs, size_t n, uint8_t *bytes)
{
    for (size_t i = 0; i < n; i++)
        plcio_put_u16be(bytes + 2 * i, regs[i]);
}

void plcio_mb_bytes_to_regs(const uint8_t *bytes, size_t n, uint16_t *regs)
{
    for (size_t i = 0; i < n; i++)
        regs[i] = plcio_get_u16be(bytes + 2 * i);
}

/* ---- two's complement ---- */

int64_t plcio_mb_from_twos(uint64_t raw, unsigned bits)
{
    if (bits == 0 || bits > 64) return 0;
    if (bits == 64) return (int64_t)raw; /* implementation-defined cast avoided below for < 64 */
    uint64_t mask = (UINT64_C(1) << bits) - 1;
    uint64_t sign = UINT64_C(1) << (bits - 1);
    raw &= mask;
    if (raw & sign) return -(int64_t)(mask - raw) - 1;
    return (int64_t)raw;
}

int plcio_mb_to_twos(int64_t v, unsigned bits, uint64_t *out)
{
    if (out) *out = 0;
    if (bits == 0 || bits > 64 || !out) return PLCIO_EINVAL;
    if (bits < 64) {
        int64_t lo = -(INT64_C(1) << (bits - 1));
        int64_t hi = (INT64_C(1) << (bits - 1)) - 1;
        if (v < lo || v > hi) return PLCIO_ERANGE;
    }
    uint64_t raw = (uint64_t)v;
    *out = bits == 64 ? raw : raw & ((UINT64_C(1) << bits) - 1);
    return PLCIO_OK;
}

/* ---- bits in registers ---- */

bool plcio_mb_bit_test(uint16_t v, unsigned bit) { return bit < 16 && (v >> bit & 1u); }
uint16_t plcio_mb_bit_set(uint16_t v, unsigned bit) { return bit < 16 ? (uint16_t)(v | 1u << bit) : v; }
uint16_t plcio_mb_bit_reset(uint16_t v, unsigned bit) { return bit < 16 ? (uint16_t)(v & ~(1u << bit)) : v; }
uint16_t plcio_mb_bit_toggle(uint16_t v, unsigned bit) { return bit < 16 ? (uint16_t)(v ^ 1u << bit) : v; }

/* ---- coils ---- */

size_t plcio_mb_pack_bits(const uint8_t *bits, size_t n, uint8_t *packed)
{
    size_t bytes = (n + 7) / 8;
    if (bytes) memset(packed, 0, bytes);
    for (size_t i = 0; i < n; i++)
        if (bits[i]) packed[i / 8] = (uint8_t)(packed[i / 8] | 1u << (i % 8));
    return bytes;
}

void plcio_mb_unpack_bits(const uint8_t *packed, size_t n, uint8_t *bits)
{
    for (size_t i = 0; i < n; i++)
        bits[i] = (uint8_t)(packed[i / 8] >> (i % 8) & 1u);
}

/* ---- checksums ---- */

/* CRC-16/MODBUS, table-driven: entry i is the CRC of byte i under the
 * reflected polynomial 0xA001 (SL 6.2.2); generated by the 8-step shift loop. */
static const uint16_t crc_table[256] = {
    0x0000, 0xC0C1, 0xC181, 0x0140, 0xC301, 0x03C0, 0x0280, 0xC241, 0xC601, 0x06C0, 0x0780, 0xC741, 0x0500, 0xC5C1,
    0xC481, 0x0440, 0xCC01, 0x0CC0, 0x0D80, 0xCD41, 0x0F00, 0xCFC1, 0xCE81, 0x0E40, 0x0A00, 0xCAC1, 0xCB81, 0x0B40,
    0xC901, 0x09C0, 0x0880, 0xC841, 0xD801, 0x18C0, 0x1980, 0xD941, 0x1B00, 0xDBC1, 0xDA81, 0x1A40, 0x1E00, 0xDEC1,
    0xDF81, 0x1F40, 0xDD01, 0x1DC0, 0x1C80, 0xDC41, 0x1400, 0xD4C1, 0xD581, 0x1540, 0xD701, 0x17C0, 0x1680, 0xD641,
    0xD201, 0x12C0, 0x1380, 0xD341, 0x1100, 0xD1C1, 0xD081, 0x1040, 0xF001, 0x30C0, 0x3180, 0xF141, 0x3300, 0xF3C1,
    0xF281, 0x3240, 0x3600, 0xF6C1, 0xF781, 0x3740, 0xF501, 0x35C0, 0x3480, 0xF441, 0x3C00, 0xFCC1, 0xFD81, 0x3D40,
    0xFF01, 0x3FC0, 0x3E80, 0xFE41, 0xFA01, 0x3AC0, 0x3B80, 0xFB41, 0x3900, 0xF9C1, 0xF881, 0x3840, 0x2800, 0xE8C1,
    0xE981, 0x2940, 0xEB01, 0x2BC0, 0x2A80, 0xEA41, 0xEE01, 0x2EC0, 0x2F80, 0xEF41, 0x2D00, 0xEDC1, 0xEC81, 0x2C40,
    0xE401, 0x24C0, 0x2580, 0xE541, 0x2700, 0xE7C1, 0xE681, 0x2640, 0x2200, 0xE2C1, 0xE381, 0x2340, 0xE101, 0x21C0,
    0x2080, 0xE041, 0xA001, 0x60C0, 0x6180, 0xA141, 0x6300, 0xA3C1, 0xA281, 0x6240, 0x6600, 0xA6C1, 0xA781, 0x6740,
    0xA501, 0x65C0, 0x6480, 0xA441, 0x6C00, 0xACC1, 0xAD81, 0x6D40, 0xAF01, 0x6FC0, 0x6E80, 0xAE41, 0xAA01, 0x6AC0,
    0x6B80, 0xAB41, 0x6900, 0xA9C1, 0xA881, 0x6840, 0x7800, 0xB8C1, 0xB981, 0x7940, 0xBB01, 0x7BC0, 0x7A80, 0xBA41,
    0xBE01, 0x7EC0, 0x7F80, 0xBF41, 0x7D00, 0xBDC1, 0xBC81, 0x7C40, 0xB401, 0x74C0, 0x7580, 0xB541, 0x7700, 0xB7C1,
    0xB681, 0x7640, 0x7200, 0xB2C1, 0xB381, 0x7340, 0xB101, 0x71C0, 0x7080, 0xB041, 0x5000, 0x90C1, 0x9181, 0x5140,
    0x9301, 0x53C0, 0x5280, 0x9241, 0x9601, 0x56C0, 0x5780, 0x9741, 0x5500, 0x95C1, 0x9481, 0x5440, 0x9C01, 0x5CC0,
    0x5D80, 0x9D41, 0x5F00, 0x9FC1, 0x9E81, 0x5E40, 0x5A00, 0x9AC1, 0x9B81, 0x5B40, 0x9901, 0x59C0, 0x5880, 0x9841,
    0x8801, 0x48C0, 0x4980, 0x8941, 0x4B00, 0x8BC1, 0x8A81, 0x4A40, 0x4E00, 0x8EC1, 0x8F81, 0x4F40, 0x8D01, 0x4DC0,
    0x4C80, 0x8C41, 0x4400, 0x84C1, 0x8581, 0x4540, 0x8701, 0x47C0, 0x4680, 0x8641, 0x8201, 0x42C0, 0x4380, 0x8341,
    0x4100, 0x81C1, 0x8081, 0x4040,
};

uint16_t plcio_mb_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF; /* SL 6.2.2: preset to all ones */
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)(crc >> 8 ^ crc_table[(crc ^ data[i]) & 0xFFu]);
    return crc;
}

uint8_t plcio_mb_lrc(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + data[i]);
    return (uint8_t)(-(unsigned)sum);
}
