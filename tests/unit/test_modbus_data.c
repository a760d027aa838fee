/* Modbus data mangling: orders, two's complement, bits, coils, CRC, LRC.
 * Golden values: CRCs and LRCs from the serial-line spec examples and
 * libmodbus/pymodbus traffic; 123.456f = 0x42F6E979. */
#include <math.h>
#include <string.h>

#include "plcio/modbus.h"
#include "plcio_test.h"

static void test_crc16_golden(void **state)
{
    (void)state;
    const uint8_t a[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A}; /* wire: C5 CD */
    assert_int_equal(plcio_mb_crc16(a, sizeof a), 0xCDC5);
    const uint8_t b[] = {0x11, 0x03, 0x00, 0x6B, 0x00, 0x03}; /* SL example: 76 87 */
    assert_int_equal(plcio_mb_crc16(b, sizeof b), 0x8776);
    const uint8_t c[] = {0x01, 0x04, 0x02, 0xFF, 0xFF}; /* 01 04 02 FF FF B8 80 */
    assert_int_equal(plcio_mb_crc16(c, sizeof c), 0x80B8);
    assert_int_equal(plcio_mb_crc16(NULL, 0), 0xFFFF);
    const uint8_t check[] = "123456789"; /* CRC catalogue check value for CRC-16/MODBUS */
    assert_int_equal(plcio_mb_crc16(check, 9), 0x4B37);
    /* A frame followed by its CRC (low byte first) gives residue 0. */
    uint8_t f[8];
    memcpy(f, a, 6);
    f[6] = 0xC5;
    f[7] = 0xCD;
    assert_int_equal(plcio_mb_crc16(f, 8), 0);
}

static void test_lrc_golden(void **state)
{
    (void)state;
    const uint8_t a[] = {0x11, 0x03, 0x00, 0x6B, 0x00, 0x03}; /* SL 2.5.2.2: ":1103006B00037E" */
    assert_int_equal(plcio_mb_lrc(a, sizeof a), 0x7E);
    const uint8_t b[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};
    assert_int_equal(plcio_mb_lrc(b, sizeof b), 0xF2);
    const uint8_t c[] = {0xF7, 0x03, 0x13, 0x89, 0x00, 0x0A}; /* pymodbus ASCII doc example: 60 */
    assert_int_equal(plcio_mb_lrc(c, sizeof c), 0x60);
    assert_int_equal(plcio_mb_lrc(NULL, 0), 0);
}

static void test_float_orders(void **state)
{
    (void)state;
    static const struct {
        plcio_mb_order order;
        uint16_t r0, r1;
    } cases[] = {
        {PLCIO_MB_ABCD, 0x42F6, 0xE979},
        {PLCIO_MB_CDAB, 0xE979, 0x42F6},
        {PLCIO_MB_BADC, 0xF642, 0x79E9},
        {PLCIO_MB_DCBA, 0x79E9, 0xF642},
    };
    for (size_t i = 0; i < 4; i++) {
        uint16_t r[2];
        plcio_mb_put_f32(r, 123.456f, cases[i].order);
        assert_int_equal(r[0], cases[i].r0);
        assert_int_equal(r[1], cases[i].r1);
        assert_true(plcio_mb_get_f32(r, cases[i].order) == 123.456f);
        assert_int_equal(plcio_mb_get_u32(r, cases[i].order), 0x42F6E979u);
    }
}

static void test_64bit_orders(void **state)
{
    (void)state;
    uint16_t r[4];
    plcio_mb_put_u64(r, UINT64_C(0x0102030405060708), PLCIO_MB_ABCD);
    assert_int_equal(r[0], 0x0102);
    assert_int_equal(r[3], 0x0708);
    plcio_mb_put_u64(r, UINT64_C(0x0102030405060708), PLCIO_MB_CDAB);
    assert_int_equal(r[0], 0x0708);
    assert_int_equal(r[1], 0x0506);
    assert_int_equal(r[3], 0x0102);
    plcio_mb_put_u64(r, UINT64_C(0x0102030405060708), PLCIO_MB_BADC);
    assert_int_equal(r[0], 0x0201);
    assert_int_equal(r[3], 0x0807);
    plcio_mb_put_u64(r, UINT64_C(0x0102030405060708), PLCIO_MB_DCBA);
    assert_int_equal(r[0], 0x0807);
    assert_int_equal(r[3], 0x0201);
    for (int o = 0; o < 4; o++) {
        plcio_mb_put_f64(r, -1234.5678e100, (plcio_mb_order)o);
        assert_true(plcio_mb_get_f64(r, (plcio_mb_order)o) == -1234.5678e100);
        plcio_mb_put_i64(r, INT64_MIN, (plcio_mb_order)o);
        assert_true(plcio_mb_get_i64(r, (plcio_mb_order)o) == INT64_MIN);
        plcio_mb_put_i32(r, -2, (plcio_mb_order)o);
        assert_int_equal(plcio_mb_get_i32(r, (plcio_mb_order)o), -2);
        plcio_mb_put_i16(r, -32768, (plcio_mb_order)o);
        assert_int_equal(plcio_mb_get_i16(r, (plcio_mb_order)o), -32768);
    }
    plcio_mb_put_u16(r, 0x1234, PLCIO_MB_BADC);
    assert_int_equal(r[0], 0x3412);
    plcio_mb_put_u16(r, 0x1234, PLCIO_MB_CDAB);
    assert_int_equal(r[0], 0x1234);
    /* An IEEE double golden: 1.0 = 3FF0 0000 0000 0000 */
    plcio_mb_put_f64(r, 1.0, PLCIO_MB_ABCD);
    assert_int_equal(r[0], 0x3FF0);
    assert_int_equal(r[1], 0);
}

static void test_order_names_and_arrays(void **state)
{
    (void)state;
    plcio_mb_order o;
    assert_int_equal(plcio_mb_order_parse("cdab", &o), PLCIO_OK);
    assert_int_equal(o, PLCIO_MB_CDAB);
    assert_int_equal(plcio_mb_order_parse("ABDC", &o), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_mb_order_parse(NULL, &o), PLCIO_ENOTFOUND);
    assert_string_equal(plcio_mb_order_name(PLCIO_MB_DCBA), "DCBA");
    assert_string_equal(plcio_mb_order_name((plcio_mb_order)9), "?");
    float in[3] = {1.5f, -2.25f, 123.456f}, out[3];
    uint16_t regs[6];
    uint8_t bytes[12];
    uint16_t back[6];
    plcio_mb_put_f32_array(regs, in, 3, PLCIO_MB_CDAB);
    plcio_mb_regs_to_bytes(regs, 6, bytes);
    assert_int_equal(bytes[8], 0xE9); /* third float, CDAB: E979 42F6 */
    assert_int_equal(bytes[11], 0xF6);
    plcio_mb_bytes_to_regs(bytes, 6, back);
    plcio_mb_get_f32_array(back, out, 3, PLCIO_MB_CDAB);
    assert_memory_equal((const void *)in, (const void *)out, sizeof in); /* bit-exact on purpose */
}

static void test_twos_complement(void **state)
{
    (void)state;
    assert_int_equal(plcio_mb_from_twos(0xFFFF, 16), -1);
    assert_int_equal(plcio_mb_from_twos(0x8000, 16), -32768);
    assert_int_equal(plcio_mb_from_twos(0x7FFF, 16), 32767);
    assert_int_equal(plcio_mb_from_twos(0x1FFFF, 16), -1); /* high bits ignored */
    assert_int_equal(plcio_mb_from_twos(0xFFFFFFFF, 32), -1);
    assert_int_equal(plcio_mb_from_twos(0x3, 2), -1);
    assert_int_equal(plcio_mb_from_twos(0x1, 2), 1);
    assert_int_equal(plcio_mb_from_twos(1, 0), 0);
    assert_true(plcio_mb_from_twos(UINT64_MAX, 64) == -1);
    uint64_t raw = 1;
    assert_int_equal(plcio_mb_to_twos(-1, 16, &raw), PLCIO_OK);
    assert_int_equal(raw, 0xFFFF);
    assert_int_equal(plcio_mb_to_twos(-32768, 16, &raw), PLCIO_OK);
    assert_int_equal(raw, 0x8000);
    assert_int_equal(plcio_mb_to_twos(32768, 16, &raw), PLCIO_ERANGE);
    assert_int_equal(raw, 0);
    assert_int_equal(plcio_mb_to_twos(-32769, 16, &raw), PLCIO_ERANGE);
    assert_int_equal(plcio_mb_to_twos(1, 65, &raw), PLCIO_EINVAL);
    assert_int_equal(plcio_mb_to_twos(1, 16, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_mb_to_twos(INT64_MIN, 64, &raw), PLCIO_OK);
    assert_true(raw == UINT64_C(0x8000000000000000));
}

static void test_bits_in_registers(void **state)
{
    (void)state;
    uint16_t v = 0;
    v = plcio_mb_bit_set(v, 0);
    v = plcio_mb_bit_set(v, 15);
    assert_int_equal(v, 0x8001);
    assert_true(plcio_mb_bit_test(v, 15));
    assert_false(plcio_mb_bit_test(v, 14));
    v = plcio_mb_bit_reset(v, 0);
    assert_int_equal(v, 0x8000);
    v = plcio_mb_bit_toggle(v, 3);
    assert_int_equal(v, 0x8008);
    v = plcio_mb_bit_toggle(v, 3);
    assert_int_equal(v, 0x8000);
    assert_int_equal(plcio_mb_bit_set(v, 16), 0x8000);
    assert_false(plcio_mb_bit_test(0xFFFF, 16));
}

static void test_coil_packing(void **state)
{
    (void)state;
    /* AP 6.1 example: coils 20..38 = CD 6B 05 (19 coils). */
    const uint8_t packed_golden[] = {0xCD, 0x6B, 0x05};
    uint8_t bits[19], packed[3];
    plcio_mb_unpack_bits(packed_golden, 19, bits);
    assert_int_equal(bits[0], 1);
    assert_int_equal(bits[1], 0);
    assert_int_equal(bits[2], 1);
    assert_int_equal(bits[7], 1);
    assert_int_equal(bits[18], 1);
    assert_int_equal(bits[17], 0);
    bits[5] = 7; /* any non-zero value is on */
    assert_int_equal(plcio_mb_pack_bits(bits, 19, packed), 3);
    assert_int_equal(packed[0], 0xED);
    bits[5] = 0;
    plcio_mb_pack_bits(bits, 19, packed);
    assert_memory_equal(packed, packed_golden, 3);
    assert_int_equal(plcio_mb_pack_bits(bits, 0, packed), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_golden),           cmocka_unit_test(test_lrc_golden),
        cmocka_unit_test(test_float_orders),           cmocka_unit_test(test_64bit_orders),
        cmocka_unit_test(test_order_names_and_arrays), cmocka_unit_test(test_twos_complement),
        cmocka_unit_test(test_bits_in_registers),      cmocka_unit_test(test_coil_packing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
