/* Core: error table, version, logging, clocks, byte helpers and cursors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

static void test_errors_have_distinct_text(void **state)
{
    (void)state;
    assert_string_equal(plcio_strerror(PLCIO_OK), "success");
    assert_string_equal(plcio_strerror(PLCIO_ETIMEDOUT), "timed out");
    assert_string_equal(plcio_err_name(PLCIO_ECRC), "PLCIO_ECRC");
    assert_string_equal(plcio_strerror(12345), "unknown error");
    assert_string_equal(plcio_strerror(-9999), "unknown error");
    for (int a = 0; a >= PLCIO_EINTERNAL; a--)
        for (int b = a - 1; b >= PLCIO_EINTERNAL; b--)
            assert_string_not_equal(plcio_strerror(a), plcio_strerror(b));
}

static void test_version(void **state)
{
    (void)state;
    assert_string_equal(plcio_version(), PLCIO_VERSION_STRING);
    assert_int_equal(plcio_version_hex(), PLCIO_VERSION_HEX);
}

typedef struct {
    int calls;
    plcio_log_level level;
    char module[16];
    char msg[256];
} captured_log;

static void capture(void *ctx, plcio_log_level level, const char *module, const char *msg)
{
    captured_log *c = ctx;
    c->calls++;
    c->level = level;
    snprintf(c->module, sizeof c->module, "%s", module);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_logging_levels_and_default(void **state)
{
    (void)state;
    captured_log cap = {0};
    plcio_logger lg = {capture, &cap, PLCIO_LOG_INFO};
    log_msg(&lg, PLCIO_LOG_DEBUG, "t", "hidden %d", 1);
    assert_int_equal(cap.calls, 0);
    log_msg(&lg, PLCIO_LOG_WARN, "s7", "pdu %d", 960);
    assert_int_equal(cap.calls, 1);
    assert_string_equal(cap.msg, "pdu 960");
    assert_string_equal(cap.module, "s7");
    assert_true(log_enabled(&lg, PLCIO_LOG_INFO));
    assert_false(log_enabled(&lg, PLCIO_LOG_TRACE));

    /* NULL logger: process default, which discards until set. */
    log_msg(NULL, PLCIO_LOG_ERROR, "t", "dropped");
    assert_int_equal(cap.calls, 1);
    plcio_logger def = {capture, &cap, PLCIO_LOG_TRACE};
    plcio_log_set_default(&def);
    log_msg(NULL, PLCIO_LOG_TRACE, "t", "kept");
    assert_int_equal(cap.calls, 2);
    plcio_log_set_default(NULL);
    log_msg(NULL, PLCIO_LOG_ERROR, "t", "dropped again");
    assert_int_equal(cap.calls, 2);
}

static void test_log_hex_dump(void **state)
{
    (void)state;
    captured_log cap = {0};
    plcio_logger lg = {capture, &cap, PLCIO_LOG_TRACE};
    const uint8_t frame[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x04};
    log_hex(&lg, PLCIO_LOG_TRACE, "modbus", "Tx", frame, sizeof frame);
    assert_string_equal(cap.msg, "Tx [12] 00 01 00 00 00 06 01 03 00 00 00 04");
    uint8_t big[2000] = {0};
    log_hex(&lg, PLCIO_LOG_TRACE, "modbus", "Rx", big, sizeof big);
    assert_true(strlen(cap.msg) < sizeof cap.msg);
    assert_non_null(strstr(cap.msg, "Rx [2000] 00 00"));
}

static void test_manual_clock(void **state)
{
    (void)state;
    plcio_manual_clock mc = {1000};
    plcio_clock c = plcio_manual_clock_bind(&mc);
    assert_int_equal(plcio_clock_now(&c), 1000);
    plcio_manual_clock_advance(&mc, 5 * PLCIO_NS_PER_MS);
    assert_int_equal(plcio_clock_now(&c), 1000 + 5 * PLCIO_NS_PER_MS);
    uint64_t a = plcio_clock_now(NULL), b = plcio_monotonic_ns();
    assert_true(b >= a);
    assert_true(plcio_realtime_ns() > UINT64_C(1600000000) * PLCIO_NS_PER_S);
}

static void test_byte_helpers(void **state)
{
    (void)state;
    uint8_t b[8];
    plcio_put_u16be(b, 0x1234);
    assert_memory_equal(b, "\x12\x34", 2);
    plcio_put_u16le(b, 0x1234);
    assert_memory_equal(b, "\x34\x12", 2);
    plcio_put_u32be(b, 0xdeadbeef);
    assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
    assert_int_equal(plcio_get_u32le(b), 0xefbeadde);
    plcio_put_u64be(b, UINT64_C(0x0102030405060708));
    assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(plcio_get_u64le(b) == UINT64_C(0x0807060504030201));
    plcio_put_f32be(b, 3.5f); /* 0x40600000 */
    assert_memory_equal(b, "\x40\x60\x00\x00", 4);
    assert_true(plcio_get_f32be(b) == 3.5f);
    plcio_put_f64le(b, -1.0); /* 0xbff0000000000000 */
    assert_memory_equal(b, "\x00\x00\x00\x00\x00\x00\xf0\xbf", 8);
    assert_true(plcio_get_f64le(b) == -1.0);
    plcio_put_f32be(b, NAN);
    assert_true(isnan(plcio_get_f32be(b)));
}

/* mem_differ: every size, a difference at every position (and in no other
 * byte) is seen; equal bytes are not; unaligned buffers work. */
static void test_mem_differ(void **state)
{
    (void)state;
    uint8_t a[24], b[24];
    for (size_t n = 0; n <= 16; n++)
        for (size_t off = 0; off < 3; off++) {
            for (size_t i = 0; i < sizeof a; i++)
                a[i] = b[i] = (uint8_t)(i * 37u + 5u);
            assert_false(mem_differ(a + off, b + off, n));
            for (size_t at = 0; at < n; at++) {
                b[off + at] ^= 0x80;
                assert_true(mem_differ(a + off, b + off, n));
                b[off + at] ^= 0x80;
            }
            b[off + n] ^= 1; /* just past the end: not compared */
            assert_false(mem_differ(a + off, b + off, n));
        }
}

static void test_read_cursor_bounds(void **state)
{
    (void)state;
    const uint8_t data[] = {0x03, 0x00, 0x00, 0x1f, 0xaa};
    plcio_rcursor c = plcio_rcursor_make(data, sizeof data);
    assert_int_equal(plcio_rcursor_u8(&c), 3);
    assert_int_equal(plcio_rcursor_u8(&c), 0);
    assert_int_equal(plcio_rcursor_u16be(&c), 0x1f);
    assert_false(c.overrun);
    assert_int_equal(plcio_rcursor_left(&c), 1);
    /* A read past the end returns 0, sets the sticky flag and consumes nothing. */
    assert_int_equal(plcio_rcursor_u32be(&c), 0);
    assert_true(c.overrun);
    assert_int_equal(plcio_rcursor_left(&c), 1);
    assert_int_equal(plcio_rcursor_u8(&c), 0); /* stays failed */
    assert_null(plcio_rcursor_take(&c, 0));

    plcio_rcursor e = plcio_rcursor_make(NULL, 0);
    assert_int_equal(plcio_rcursor_u16le(&e), 0);
    assert_true(e.overrun);
}

static void test_write_cursor_bounds(void **state)
{
    (void)state;
    uint8_t buf[6];
    memset(buf, 0x55, sizeof buf);
    plcio_wcursor w = plcio_wcursor_make(buf, 5);
    assert_true(plcio_wcursor_u16be(&w, 0x0300));
    assert_true(plcio_wcursor_u16be(&w, 0x0016));
    assert_false(plcio_wcursor_u16be(&w, 0xffff)); /* does not fit: nothing written */
    assert_true(w.overrun);
    assert_int_equal(plcio_wcursor_used(&w), 4);
    assert_memory_equal(buf, "\x03\x00\x00\x16\x55\x55", 6);
    assert_false(plcio_wcursor_u8(&w, 1)); /* sticky */

    plcio_wcursor w2 = plcio_wcursor_make(buf, sizeof buf);
    assert_true(plcio_wcursor_fill(&w2, 0, 2));
    assert_true(plcio_wcursor_f32le(&w2, 1.0f));
    assert_memory_equal(buf, "\x00\x00\x00\x00\x80\x3f", 6);
    assert_false(plcio_wcursor_write(&w2, "x", 1));
}

static void test_types(void **state)
{
    (void)state;
    plcio_type t;
    assert_int_equal(plcio_type_parse("Real", 4, &t), PLCIO_OK);
    assert_int_equal(t, PLCIO_TYPE_REAL);
    assert_int_equal(plcio_type_parse("date_and_time", 13, &t), PLCIO_OK);
    assert_int_equal(t, PLCIO_TYPE_DATE_AND_TIME);
    assert_int_equal(plcio_type_parse("DT", 2, &t), PLCIO_OK);
    assert_int_equal(t, PLCIO_TYPE_DATE_AND_TIME);
    assert_int_equal(plcio_type_parse("TOD", 3, &t), PLCIO_OK);
    assert_int_equal(t, PLCIO_TYPE_TIME_OF_DAY);
    assert_int_equal(plcio_type_parse("Realx", 5, &t), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_type_parse("Rea", 3, &t), PLCIO_ENOTFOUND);
    assert_string_equal(plcio_type_name(PLCIO_TYPE_LTOD), "LTOD");
    assert_string_equal(plcio_type_name((plcio_type)999), "?");
    assert_int_equal(plcio_type_size(PLCIO_TYPE_DTL, 0), 12);
    assert_int_equal(plcio_type_size(PLCIO_TYPE_STRING, 30), 32);
    assert_int_equal(plcio_type_size(PLCIO_TYPE_STRING, 255), 0);
    assert_int_equal(plcio_type_size(PLCIO_TYPE_WSTRING, 10), 24);
    assert_int_equal(plcio_type_size(PLCIO_TYPE_BOOL, 0), 1);
    assert_true(plcio_type_is_byte_aligned(PLCIO_TYPE_USINT));
    assert_false(plcio_type_is_byte_aligned(PLCIO_TYPE_WCHAR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_have_distinct_text),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_logging_levels_and_default),
        cmocka_unit_test(test_log_hex_dump),
        cmocka_unit_test(test_manual_clock),
        cmocka_unit_test(test_byte_helpers),
        cmocka_unit_test(test_mem_differ),
        cmocka_unit_test(test_read_cursor_bounds),
        cmocka_unit_test(test_write_cursor_bounds),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
