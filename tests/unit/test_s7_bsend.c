/* BSend/BRecv codec (src/s7/s7_bsend.h) against frames python-snap7's Partner
 * builds (snap7/partner.py _build_partner_data_pdu(b"abc", r_id=0x01020304)
 * and _build_partner_ack(0x1234), captured once), fragment sizes, and
 * malformed fragments. */
#include <string.h>

#include "plcio_test.h"
#include "s7/s7_bsend.h"

/* S7 PDUs as python-snap7 sends them (without TPKT / COTP). */
static const uint8_t py_fragment[] = {0x32, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x11, 0x00, 0x01, 0x12,
                                      0x08, 0x12, 0x46, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x09, 0x00, 0x0d,
                                      0x12, 0x06, 0x13, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x03, 0x61, 0x62, 0x63};
static const uint8_t py_ack[] = {0x32, 0x07, 0x00, 0x00, 0x12, 0x34, 0x00, 0x0c, 0x00, 0x04, 0x00, 0x01, 0x12,
                                 0x08, 0x12, 0x86, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00};

static void decode_ud(const uint8_t *pdu, size_t len, s7_userdata *ud)
{
    s7_pdu p;
    assert_int_equal(s7_pdu_decode(pdu, len, &p), PLCIO_OK);
    assert_int_equal(s7_userdata_decode(&p, ud), PLCIO_OK);
}

static void test_decode_python_fragment(void **state)
{
    (void)state;
    s7_userdata ud;
    decode_ud(py_fragment, sizeof py_fragment, &ud);
    assert_int_equal(s7_bsend_classify(&ud), S7_BSEND_FRAGMENT);
    s7_bsend b;
    assert_int_equal(s7_bsend_decode(&ud, true, &b, NULL), PLCIO_OK);
    assert_int_equal(b.r_id, 0x01020304);
    assert_int_equal(b.total, 3);
    assert_false(b.more);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    /* read as a continuation (no TOTAL), the two TOTAL bytes are data */
    assert_int_equal(s7_bsend_decode(&ud, false, &b, NULL), PLCIO_OK);
    assert_int_equal(b.len, 5);
}

static void test_encode_matches_python(void **state)
{
    (void)state;
    uint8_t frame[128];
    s7_out out = s7_out_make(frame, sizeof frame, 480);
    s7_bsend b = {.r_id = 0x01020304, .first = true, .total = 3, .data = (const uint8_t *)"abc", .len = 3};
    assert_int_equal(s7_bsend_encode(&out, 1, &b), PLCIO_OK);
    assert_int_equal(out.len, PLCIO_S7_FRAME_OVERHEAD + sizeof py_fragment);
    assert_memory_equal(frame + PLCIO_S7_FRAME_OVERHEAD, py_fragment, sizeof py_fragment);

    out = s7_out_make(frame, sizeof frame, 480);
    assert_int_equal(s7_bsend_ack_encode(&out, 0x1234, 2, 0), PLCIO_OK);
    assert_memory_equal(frame + PLCIO_S7_FRAME_OVERHEAD, py_ack, sizeof py_ack);

    s7_userdata ud;
    decode_ud(py_ack, sizeof py_ack, &ud);
    assert_int_equal(s7_bsend_classify(&ud), S7_BSEND_ACK);
    assert_int_equal(ud.error, 0);
}

static void test_fragment_sizes(void **state)
{
    (void)state;
    assert_int_equal(s7_bsend_slice_max(480, true), 480 - 36);
    assert_int_equal(s7_bsend_slice_max(480, false), 480 - 34);
    assert_int_equal(s7_bsend_slice_max(30, true), 0);
    /* a full first fragment fits the PDU exactly; one byte more does not */
    static uint8_t data[1000];
    uint8_t frame[1100];
    size_t max = s7_bsend_slice_max(240, true);
    s7_out out = s7_out_make(frame, sizeof frame, 240);
    s7_bsend b = {.r_id = 7, .first = true, .total = 1000, .more = true, .data = data, .len = max};
    assert_int_equal(s7_bsend_encode(&out, 9, &b), PLCIO_OK);
    assert_int_equal(out.len, PLCIO_S7_FRAME_OVERHEAD + 240);
    b.len = max + 1;
    out = s7_out_make(frame, sizeof frame, 240);
    assert_int_equal(s7_bsend_encode(&out, 9, &b), PLCIO_ENOSPC);
    /* a continuation round trip keeps EOS, IDSEQ, SEQ */
    b = (s7_bsend){.r_id = 7, .first = false, .more = true, .seq = 5, .id_seq = 3, .data = data, .len = 100};
    out = s7_out_make(frame, sizeof frame, 240);
    assert_int_equal(s7_bsend_encode(&out, 10, &b), PLCIO_OK);
    s7_userdata ud;
    decode_ud(frame + PLCIO_S7_FRAME_OVERHEAD, out.len - PLCIO_S7_FRAME_OVERHEAD, &ud);
    s7_bsend d;
    assert_int_equal(s7_bsend_decode(&ud, false, &d, NULL), PLCIO_OK);
    assert_true(d.more);
    assert_int_equal(d.seq, 5);
    assert_int_equal(d.id_seq, 3);
    assert_int_equal(d.len, 100);
    assert_int_equal(s7_bsend_encode(&out, 1, NULL), PLCIO_EINVAL);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t pdu[sizeof py_fragment];
    s7_userdata ud;
    s7_bsend b;
    const char *why = NULL;

    memcpy(pdu, py_fragment, sizeof pdu);
    pdu[28] = 0x99; /* syntax id 13 -> 99 */
    decode_ud(pdu, sizeof pdu, &ud);
    assert_int_equal(s7_bsend_decode(&ud, true, &b, &why), PLCIO_EPROTO);
    assert_non_null(strstr(why, "12 06 13"));

    memcpy(pdu, py_fragment, sizeof pdu);
    pdu[22] = 0x0A; /* return code */
    decode_ud(pdu, sizeof pdu, &ud);
    assert_int_equal(s7_bsend_decode(&ud, true, &b, &why), PLCIO_EPROTO);

    /* ack is not a fragment; another group is neither */
    decode_ud(py_ack, sizeof py_ack, &ud);
    assert_int_equal(s7_bsend_decode(&ud, true, &b, &why), PLCIO_EPROTO);
    memcpy(pdu, py_fragment, sizeof pdu);
    pdu[15] = 0x44; /* group 4 (CPU functions) */
    decode_ud(pdu, sizeof pdu, &ud);
    assert_int_equal(s7_bsend_classify(&ud), S7_BSEND_NONE);

    /* data shorter than R-ID + TOTAL: 12 06 13 00 and 3 bytes of R-ID */
    static const uint8_t short_pdu[] = {0x32, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0x00, 0x0b, 0x00,
                                        0x01, 0x12, 0x08, 0x12, 0x46, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                        0xff, 0x09, 0x00, 0x07, 0x12, 0x06, 0x13, 0x00, 0x01, 0x02, 0x03};
    decode_ud(short_pdu, sizeof short_pdu, &ud);
    assert_int_equal(s7_bsend_decode(&ud, true, &b, &why), PLCIO_EPROTO);
    assert_int_equal(s7_bsend_decode(&ud, false, &b, &why), PLCIO_EPROTO);

    /* a data length that disagrees with the header is refused by the PDU decoder */
    memcpy(pdu, py_fragment, sizeof pdu);
    pdu[9] = 0x20;
    s7_pdu p;
    assert_int_equal(s7_pdu_decode(pdu, sizeof pdu, &p), PLCIO_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_python_fragment),
        cmocka_unit_test(test_encode_matches_python),
        cmocka_unit_test(test_fragment_sizes),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
