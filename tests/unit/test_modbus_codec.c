/* Modbus codec: golden PDUs from the examples of the application protocol
 * spec (AP 6.x), the serial-line spec (SL 2.5), and malformed input. */
#include <string.h>

#include "modbus/mb_codec.h"
#include "plcio_test.h"

typedef struct golden {
    const char *req;
    const char *resp;
} golden_pair;

/* AP 6.1 .. 6.21 examples, request and response. */
static const golden_pair ap_examples[] = {
    {"01 00 13 00 13", "01 03 CD 6B 05"},
    {"02 00 C4 00 16", "02 03 AC DB 35"},
    {"03 00 6B 00 03", "03 06 02 2B 00 00 00 64"},
    {"04 00 08 00 01", "04 02 00 0A"},
    {"05 00 AC FF 00", "05 00 AC FF 00"},
    {"06 00 01 00 03", "06 00 01 00 03"},
    {"07", "07 6D"},
    {"08 00 00 A5 37", "08 00 00 A5 37"},
    {"0B", "0B FF FF 01 08"},
    {"0C", "0C 08 00 00 01 08 01 21 20 00"},
    {"0F 00 13 00 0A 02 CD 01", "0F 00 13 00 0A"},
    {"10 00 01 00 02 04 00 0A 01 02", "10 00 01 00 02"},
    {"11", "11 03 2A FF 01"},
    {"14 0E 06 00 04 00 01 00 02 06 00 03 00 09 00 02", "14 0C 05 06 0D FE 00 20 05 06 33 CD 00 40"},
    {"15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D", "15 0D 06 00 04 00 07 00 03 06 AF 04 BE 10 0D"},
    {"16 00 04 00 F2 00 25", "16 00 04 00 F2 00 25"},
    {"17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF", "17 0C 00 FE 0A CD 00 01 00 03 00 0D 00 FF"},
    {"18 04 DE", "18 00 06 00 02 01 B8 12 84"},
    {"2B 0E 01 00", "2B 0E 01 01 00 00 03 00 03 41 42 43 01 02 50 31 02 04 56 31 2E 30"},
    {"01 04 A1 00 01", "81 02"},
};

static size_t hex(const char *h, uint8_t *out)
{
    size_t n = plcio_test_hex(h, out, 300);
    assert_true(n != (size_t)-1);
    return n;
}

static void test_golden_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ap_examples / sizeof ap_examples[0]; i++) {
        uint8_t req[300], resp[300], out[300];
        size_t qn = hex(ap_examples[i].req, req), sn = hex(ap_examples[i].resp, resp), n = 0;
        mb_pdu q, s;
        print_message("example %zu: fc %02x\n", i, req[0]);
        assert_int_equal(mb_request_decode(req, qn, &q), PLCIO_OK);
        assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
        assert_int_equal(n, qn);
        assert_memory_equal(out, req, qn);
        assert_int_equal(mb_response_decode(resp, sn, &s), PLCIO_OK);
        assert_int_equal(mb_response_encode(&s, out, sizeof out, &n), PLCIO_OK);
        assert_int_equal(n, sn);
        assert_memory_equal(out, resp, sn);
        assert_int_equal(mb_response_check(&q, &s), s.exception ? PLCIO_EMBEXC : PLCIO_OK);
        /* RTU length computation agrees with the real lengths. */
        size_t len = 0;
        int rc = mb_pdu_length(req, qn, true, &len);
        if (rc == PLCIO_OK)
            assert_int_equal(len, qn);
        else
            assert_true(req[0] == 0x08); /* return query data: length by silence */
        rc = mb_pdu_length(resp, sn, false, &len);
        if (rc == PLCIO_OK)
            assert_int_equal(len, sn);
        else
            assert_true(req[0] == 0x08);
        /* Every strict prefix asks for more. */
        for (size_t k = 0; k < sn && req[0] != 0x08; k++) {
            rc = mb_pdu_length(resp, k, false, &len);
            if (rc == PLCIO_OK)
                assert_true(len > k);
            else
                assert_int_equal(rc, PLCIO_EAGAIN);
        }
    }
}

static void test_decoded_fields(void **state)
{
    (void)state;
    uint8_t b[64];
    mb_pdu p;
    size_t n = hex("17 00 03 00 06 00 0E 00 03 06 00 FF 00 FF 00 FF", b);
    assert_int_equal(mb_request_decode(b, n, &p), PLCIO_OK);
    assert_int_equal(p.addr, 3);
    assert_int_equal(p.qty, 6);
    assert_int_equal(p.write_addr, 14);
    assert_int_equal(p.write_qty, 3);
    assert_int_equal(p.data_len, 6);
    n = hex("0C 08 00 00 01 08 01 21 20 00", b);
    assert_int_equal(mb_response_decode(b, n, &p), PLCIO_OK);
    assert_int_equal(p.event_count, 0x108);
    assert_int_equal(p.message_count, 0x121);
    assert_int_equal(p.data_len, 2);
    n = hex("18 00 06 00 02 01 B8 12 84", b);
    assert_int_equal(mb_response_decode(b, n, &p), PLCIO_OK);
    assert_int_equal(p.qty, 2);
    assert_int_equal(p.data[0], 0x01);
    n = hex("2B 0E 01 01 FF 02 01 00 03 41 42 43", b);
    assert_int_equal(mb_response_decode(b, n, &p), PLCIO_OK);
    assert_int_equal(p.more_follows, 0xFF);
    assert_int_equal(p.next_object_id, 2);
    assert_int_equal(p.object_count, 1);
}

static void test_request_limits(void **state)
{
    (void)state;
    uint8_t out[300], vals[300] = {0};
    size_t n;
    mb_pdu q = {.fc = 0x03, .addr = 0, .qty = 125};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
    q.qty = 126;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q.qty = 0;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x01, .addr = 0xFFFF, .qty = 2};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE); /* wraps */
    q = (mb_pdu){.fc = 0x01, .qty = 2000};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
    q.qty = 2001;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x0F, .qty = 1968, .data = vals, .data_len = 246};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
    q.qty = 1969;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x10, .qty = 123, .data = vals, .data_len = 246};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
    assert_int_equal(n, 252);
    q.qty = 124;
    q.data_len = 248;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x10, .qty = 2, .data = vals, .data_len = 3};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_EINVAL);
    q = (mb_pdu){.fc = 0x17, .qty = 125, .write_qty = 121, .data = vals, .data_len = 242};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_OK);
    q.write_qty = 122;
    q.data_len = 244;
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x05, .value = 0x1234};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x2B, .mei = 0x0E, .devid_code = 5};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_ERANGE);
    q = (mb_pdu){.fc = 0x42};
    assert_int_equal(mb_request_encode(&q, out, sizeof out, &n), PLCIO_EUNSUPPORTED);
    q = (mb_pdu){.fc = 0x03, .qty = 10};
    assert_int_equal(mb_request_encode(&q, out, 3, &n), PLCIO_ENOSPC);
}

static void expect_exception(const char *h, uint8_t code)
{
    uint8_t b[300];
    size_t n = hex(h, b);
    mb_pdu p;
    print_message("request %s\n", h);
    assert_int_equal(mb_request_decode(b, n, &p), PLCIO_EMBEXC);
    assert_int_equal(p.exception, code);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    expect_exception("42 00 01", 0x01);             /* unknown function code */
    expect_exception("03 00 00 00 7E", 0x03);       /* 126 registers */
    expect_exception("03 00 00 00 00", 0x03);       /* zero quantity */
    expect_exception("03 00 00 00", 0x03);          /* truncated */
    expect_exception("03 00 00 00 01 00", 0x03);    /* trailing byte */
    expect_exception("03 FF FF 00 02", 0x02);       /* address wraps */
    expect_exception("01 00 00 07 D1", 0x03);       /* 2001 coils */
    expect_exception("05 00 01 12 34", 0x03);       /* coil value not FF00/0000 */
    expect_exception("0F 00 13 00 0A 01 CD", 0x03); /* byte count disagrees */
    expect_exception("0F 00 13 00 0A 03 CD 01", 0x03);
    expect_exception("10 00 01 00 02 04 00 0A 01", 0x03); /* short data */
    expect_exception("10 00 01 00 02 02 00 0A", 0x03);
    expect_exception("17 00 03 00 06 00 0E 00 03 04 00 FF 00 FF", 0x03);
    expect_exception("08 00 63 00 00", 0x01);                               /* unknown sub-function */
    expect_exception("08 00 0B 00 00 00", 0x03);                            /* counter query with 4 data bytes */
    expect_exception("08 00 01 12 34", 0x03);                               /* restart with data not 0000/FF00 */
    expect_exception("08 00 03 0A 01", 0x03);                               /* delimiter change: second byte not 00 */
    expect_exception("2B 0D 01 00", 0x01);                                  /* CANopen MEI not supported */
    expect_exception("2B 0E 05 00", 0x03);                                  /* read device id code 5 */
    expect_exception("14 07 05 00 04 00 01 00 02", 0x02);                   /* reference type 5 */
    expect_exception("14 06 06 00 04 00 01 00", 0x03);                      /* byte count not a multiple of 7 */
    expect_exception("14 07 06 00 04 27 10 00 02", 0x02);                   /* record 10000 */
    expect_exception("15 0D 06 00 04 00 07 00 04 06 AF 04 BE 10 0D", 0x03); /* length disagrees */
    expect_exception("07 00", 0x03);
    mb_pdu p;
    assert_int_equal(mb_request_decode((const uint8_t *)"", 0, &p), PLCIO_EMBEXC);
}

static void test_malformed_responses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "03 06 02 2B 00 00 00",                /* byte count larger than data */
        "03 02 00 00 00",                      /* trailing */
        "83",                                  /* exception without code */
        "83 02 00",                            /* exception with extra byte */
        "83 00",                               /* exception code 0 */
        "0C 05 00 00 00 00 00",                /* byte count < 6 */
        "18 00 08 00 02 01 B8 12 84",          /* fifo byte count disagrees */
        "18 00 42 00 20",                      /* fifo count 32 */
        "2B 0E 01 01 00 00 02 00 03 41 42 43", /* two objects announced, one present */
        "2B 0E 01 01 77 00 00",                /* more follows neither 00 nor FF */
        "14 04 05 06 0D FE",                   /* sub-response shorter than its length */
        "55 00",                               /* unknown function */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[64];
        size_t n = hex(bad[i], b);
        mb_pdu p;
        print_message("response %s\n", bad[i]);
        assert_int_equal(mb_response_decode(b, n, &p), PLCIO_EPROTO);
    }
    /* Well-formed but not an answer to the request. */
    uint8_t b[64];
    mb_pdu q = {.fc = 0x03, .qty = 3}, s;
    size_t n = hex("03 04 00 01 00 02", b);
    assert_int_equal(mb_response_decode(b, n, &s), PLCIO_OK);
    assert_int_equal(mb_response_check(&q, &s), PLCIO_EPROTO);
    n = hex("04 06 00 01 00 02 00 03", b);
    assert_int_equal(mb_response_decode(b, n, &s), PLCIO_OK);
    assert_int_equal(mb_response_check(&q, &s), PLCIO_EPROTO);
    q = (mb_pdu){.fc = 0x06, .addr = 1, .value = 3};
    n = hex("06 00 01 00 04", b);
    assert_int_equal(mb_response_decode(b, n, &s), PLCIO_OK);
    assert_int_equal(mb_response_check(&q, &s), PLCIO_EPROTO);
    n = hex("86 04", b);
    assert_int_equal(mb_response_decode(b, n, &s), PLCIO_OK);
    assert_int_equal(mb_response_check(&q, &s), PLCIO_EMBEXC);
    assert_int_equal(s.exception, 4);
    assert_string_equal(plcio_mb_exception_text(2), "illegal data address");
    assert_string_equal(plcio_mb_exception_text(9), "unknown exception");
    assert_string_equal(plcio_mb_function_name(3), "read holding registers");
    assert_string_equal(plcio_mb_function_name(0x55), "unknown function");
}

static void test_mbap(void **state)
{
    (void)state;
    uint8_t b[300], out[300];
    size_t n = hex("00 01 00 00 00 06 11 03 00 6B 00 03", b), used, need, len;
    mb_frame f;
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(mb_mbap_decode(b, k, &f, &used, &need), PLCIO_EAGAIN);
        assert_true(need > k && need <= n);
    }
    assert_int_equal(mb_mbap_decode(b, n, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, n);
    assert_int_equal(f.tid, 1);
    assert_int_equal(f.unit, 0x11);
    assert_int_equal(f.pdu_len, 5);
    assert_int_equal(mb_mbap_encode(1, 0x11, f.pdu, f.pdu_len, out, sizeof out, &len), PLCIO_OK);
    assert_memory_equal(out, b, n);
    assert_int_equal(mb_mbap_encode(1, 0x11, f.pdu, f.pdu_len, out, 11, &len), PLCIO_ENOSPC);
    assert_int_equal(mb_mbap_encode(1, 0x11, f.pdu, 0, out, sizeof out, &len), PLCIO_EINVAL);
    /* Unknown function code with data: framed by length, next frame intact. */
    n = hex("00 07 00 00 00 05 01 64 AA BB CC 00 08 00 00 00 06 01 03 00 00 00 01", b);
    assert_int_equal(mb_mbap_decode(b, n, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, 11);
    assert_int_equal(f.pdu[0], 0x64);
    assert_int_equal(mb_mbap_decode(b + used, n - used, &f, &used, &need), PLCIO_OK);
    assert_int_equal(f.tid, 8);
    /* Length 0, 1, 255, 300 and a foreign protocol id are fatal. */
    static const char *const fatal[] = {"00 01 00 00 00 00 01", "00 01 00 00 00 01 01", "00 01 00 00 00 FF 01",
                                        "00 01 00 00 01 2C 01", "00 01 00 01 00 06 01"};
    for (size_t i = 0; i < 5; i++) {
        n = hex(fatal[i], b);
        assert_int_equal(mb_mbap_decode(b, n, &f, &used, &need), PLCIO_EPROTO);
    }
    /* Length 254 is the largest legal one. */
    memset(b, 0, 300);
    b[5] = 254;
    assert_int_equal(mb_mbap_decode(b, 260, &f, &used, &need), PLCIO_OK);
    assert_int_equal(f.pdu_len, 253);
}

static void test_rtu(void **state)
{
    (void)state;
    uint8_t b[300], out[300];
    size_t n = hex("11 03 00 6B 00 03 76 87", b), used, need, len;
    mb_frame f;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(mb_rtu_decode(b, k, true, false, &f, &used, &need), PLCIO_EAGAIN);
    assert_int_equal(mb_rtu_decode(b, n, true, false, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, 8);
    assert_int_equal(f.unit, 0x11);
    assert_int_equal(f.pdu_len, 5);
    assert_int_equal(mb_rtu_encode(0x11, f.pdu, f.pdu_len, out, sizeof out, &len), PLCIO_OK);
    assert_memory_equal(out, b, n);
    /* SL 2.5.1.1 example response */
    n = hex("11 03 06 AE 41 56 52 43 40 49 AD", b);
    assert_int_equal(mb_rtu_decode(b, n, false, false, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, n);
    /* CRC error: reported, the frame is consumed. */
    b[3] ^= 1;
    assert_int_equal(mb_rtu_decode(b, n, false, false, &f, &used, &need), PLCIO_ECRC);
    assert_int_equal(used, n);
    /* Two frames back to back: the first one by its length. */
    n = hex("01 10 00 01 00 02 04 00 0A 01 02 92 30 01 03 00 00 00 0A C5 CD", b);
    assert_int_equal(mb_rtu_decode(b, n, true, false, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, 13);
    assert_int_equal(mb_rtu_decode(b + 13, n - 13, true, false, &f, &used, &need), PLCIO_OK);
    assert_int_equal(f.pdu[0], 3);
    /* Unknown function: waits for silence, then takes everything. */
    n = hex("01 64 01 02", b);
    uint16_t crc = plcio_mb_crc16(b, n);
    b[n++] = (uint8_t)crc;
    b[n++] = (uint8_t)(crc >> 8);
    assert_int_equal(mb_rtu_decode(b, n, true, false, &f, &used, &need), PLCIO_EAGAIN);
    assert_int_equal(need, 0);
    assert_int_equal(mb_rtu_decode(b, n, true, true, &f, &used, &need), PLCIO_OK);
    assert_int_equal(f.pdu_len, 3);
    /* Partial frame followed by silence is dropped. */
    assert_int_equal(mb_rtu_decode(b, 3, false, true, &f, &used, &need), PLCIO_EPROTO);
    n = hex("01 03 00 00", b);
    assert_int_equal(mb_rtu_decode(b, n, true, true, &f, &used, &need), PLCIO_EPROTO);
    assert_int_equal(used, 4);
    /* Byte count announcing more than 256 bytes. */
    n = hex("01 10 00 00 00 7B FF", b);
    assert_int_equal(mb_rtu_decode(b, n, true, false, &f, &used, &need), PLCIO_EPROTO);
    uint32_t t15, t35;
    mb_rtu_timing(9600, &t15, &t35);
    assert_int_equal(t15, 1719); /* 1.5 * 11 / 9600 s */
    assert_int_equal(t35, 4011);
    mb_rtu_timing(19200, &t15, &t35);
    assert_int_equal(t35, 2006);
    mb_rtu_timing(38400, &t15, &t35);
    assert_int_equal(t15, 750);
    assert_int_equal(t35, 1750);
    mb_rtu_timing(115200, &t15, &t35);
    assert_int_equal(t35, 1750);
}

static void test_ascii(void **state)
{
    (void)state;
    const char *golden = ":1103006B00037E\r\n"; /* SL 2.5.2.2 */
    uint8_t pdu[] = {0x03, 0x00, 0x6B, 0x00, 0x03}, out[600], scratch[256];
    size_t len, used, need;
    assert_int_equal(mb_ascii_encode(0x11, pdu, sizeof pdu, out, sizeof out, &len), PLCIO_OK);
    assert_int_equal(len, strlen(golden));
    assert_memory_equal(out, golden, len);
    mb_frame f;
    const uint8_t *g = (const uint8_t *)golden;
    for (size_t k = 1; k < len; k++)
        assert_int_equal(mb_ascii_decode(g, k, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EAGAIN);
    assert_int_equal(mb_ascii_decode(g, len, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_OK);
    assert_int_equal(used, len);
    assert_int_equal(f.unit, 0x11);
    assert_memory_equal(f.pdu, pdu, sizeof pdu);
    const uint8_t *lower = (const uint8_t *)":1103006b00037e\r\n";
    assert_int_equal(mb_ascii_decode(lower, len, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_OK);
    const uint8_t *bad_lrc = (const uint8_t *)":1103006B00037F\r\n";
    assert_int_equal(mb_ascii_decode(bad_lrc, len, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_ECRC);
    assert_int_equal(used, len);
    const uint8_t *noise = (const uint8_t *)"xx:1103006B00037E\r\n";
    assert_int_equal(mb_ascii_decode(noise, len + 2, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    assert_int_equal(used, 2);
    const uint8_t *restart = (const uint8_t *)":1103:1103006B00037E\r\n";
    assert_int_equal(mb_ascii_decode(restart, len + 5, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    assert_int_equal(used, 5);
    const uint8_t *odd = (const uint8_t *)":1103006B00037\r\n";
    assert_int_equal(mb_ascii_decode(odd, 16, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    const uint8_t *nocr = (const uint8_t *)":1103006B00037E\n";
    assert_int_equal(mb_ascii_decode(nocr, 16, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    const uint8_t *badhex = (const uint8_t *)":11G3006B00037E\r\n";
    assert_int_equal(mb_ascii_decode(badhex, len, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    /* A changed delimiter (FC8 sub-function 3). */
    const uint8_t *alt = (const uint8_t *)":1103006B00037E\r!";
    assert_int_equal(mb_ascii_decode(alt, len, '!', scratch, sizeof scratch, &f, &used, &need), PLCIO_OK);
    /* Endless garbage after ':' is dropped once longer than a frame can be. */
    memset(out, 'A', sizeof out);
    out[0] = ':';
    assert_int_equal(mb_ascii_decode(out, sizeof out, '\n', scratch, sizeof scratch, &f, &used, &need), PLCIO_EPROTO);
    assert_int_equal(used, sizeof out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_round_trip),
        cmocka_unit_test(test_decoded_fields),
        cmocka_unit_test(test_request_limits),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_malformed_responses),
        cmocka_unit_test(test_mbap),
        cmocka_unit_test(test_rtu),
        cmocka_unit_test(test_ascii),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
