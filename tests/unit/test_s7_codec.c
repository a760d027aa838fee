/* S7 codec against the shared golden vectors (tests/fixtures/s7-vectors:
 * tpkt.json, cotp-data.json, s7.json, operations.json, clock cases of
 * values.json), frames recorded from snap7, and malformed input. */
#include <string.h>

#include "plcio_test.h"
#include "s7/s7_codec.h"

#define BIG 70000

static uint8_t buf_a[BIG], buf_b[BIG], buf_c[BIG];

static size_t bytes_of(const cJSON *desc, uint8_t *out)
{
    size_t n = plcio_test_bytes(desc, out, BIG);
    assert_true(n != (size_t)-1);
    return n;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static bool accepted(const cJSON *c)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(c, "expected");
    return !strcmp(str_of(e, "status"), "accept");
}

static const cJSON *item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_non_null(v);
    return v;
}

/* ------------------------------------------------------------ tpkt.json */

static void test_tpkt_vectors(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/tpkt.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "encode_cases"))
    {
        print_message("tpkt encode %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "payload"), buf_a);
        plcio_wcursor w = plcio_wcursor_make(buf_b, BIG);
        int rc = tpkt_encode(&w, buf_a, n);
        if (accepted(c)) {
            size_t m = bytes_of(item(item(c, "expected"), "packet"), buf_c);
            assert_int_equal(rc, PLCIO_OK);
            assert_int_equal(plcio_wcursor_used(&w), m);
            assert_memory_equal(buf_b, buf_c, m);
        } else {
            assert_int_equal(rc, PLCIO_EINVAL);
        }
    }
    cJSON_ArrayForEach(c, item(root, "decode_cases"))
    {
        print_message("tpkt decode %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "packet"), buf_a), frame = 0;
        int rc = tpkt_decode(buf_a, n, &frame);
        if (accepted(c)) {
            size_t m = bytes_of(item(item(c, "expected"), "payload"), buf_c);
            assert_int_equal(rc, PLCIO_OK);
            assert_int_equal(frame, n);
            assert_int_equal(frame - 4, m);
            assert_memory_equal(buf_a + 4, buf_c, m);
        } else {
            /* a whole packet given: anything but "one complete frame" is a reject */
            assert_true(rc != PLCIO_OK || frame != n);
            const char *err = str_of(item(c, "expected"), "error");
            if (!strcmp(err, "invalid-version") || !strcmp(err, "length-below-minimum"))
                assert_int_equal(rc, PLCIO_EPROTO);
            else
                assert_int_equal(rc, PLCIO_EAGAIN);
        }
    }
    cJSON_Delete(root);
}

static void test_tpkt_stream(void **state)
{
    (void)state;
    /* two frames back to back, fed byte by byte */
    const uint8_t s[] = {3, 0, 0, 7, 2, 0xF0, 0x80, 3, 0, 0, 9, 2, 0xF0, 0x80, 0xAA, 0xBB};
    size_t frame = 0;
    for (size_t k = 0; k < 7; k++) {
        assert_int_equal(tpkt_decode(s, k, &frame), PLCIO_EAGAIN);
        assert_int_equal(frame, k < 4 ? 4 : 7);
    }
    assert_int_equal(tpkt_decode(s, sizeof s, &frame), PLCIO_OK);
    assert_int_equal(frame, 7);
    assert_int_equal(tpkt_decode(s + 7, 8, &frame), PLCIO_EAGAIN);
    assert_int_equal(frame, 9);
    assert_int_equal(tpkt_decode(s + 7, 9, &frame), PLCIO_OK);
}

/* ------------------------------------------------------------ cotp-data.json */

static void test_cotp_vectors(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/cotp-data.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "encode_cases"))
    {
        print_message("cotp encode %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "payload"), buf_a);
        size_t m = bytes_of(item(c, "expected"), buf_c);
        plcio_wcursor w = plcio_wcursor_make(buf_b, BIG);
        assert_int_equal(cotp_dt_encode(&w, cJSON_IsTrue(item(c, "end_of_transmission"))), PLCIO_OK);
        assert_true(plcio_wcursor_write(&w, buf_a, n));
        assert_int_equal(plcio_wcursor_used(&w), m);
        assert_memory_equal(buf_b, buf_c, m);
    }
    cJSON_ArrayForEach(c, item(root, "decode_cases"))
    {
        print_message("cotp decode %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "packet"), buf_a);
        bool eot = false;
        const uint8_t *data = NULL;
        size_t dlen = 0;
        int rc = cotp_dt_decode(buf_a, n, &eot, &data, &dlen);
        cotp_tpdu t;
        int rc2 = cotp_decode(buf_a, n, &t);
        if (accepted(c)) {
            const cJSON *e = item(c, "expected");
            size_t m = bytes_of(item(e, "payload"), buf_c);
            assert_int_equal(rc, PLCIO_OK);
            assert_int_equal(dlen, m);
            assert_memory_equal(data, buf_c, m);
            assert_int_equal(eot, cJSON_IsTrue(item(e, "end_of_transmission")));
            assert_int_equal(rc2, PLCIO_OK);
            assert_int_equal(t.code, PLCIO_COTP_DT);
            assert_int_equal(t.eot, eot);
            assert_int_equal(t.data_len, m);
        } else {
            assert_int_equal(rc, PLCIO_EPROTO);
            if (strcmp(str_of(c, "id"), "invalid-tpdu-code") != 0) assert_int_not_equal(rc2, PLCIO_OK);
        }
    }
    cJSON_Delete(root);
}

/* CR/CC exactly as snap7 sends and answers them (captured from node-snap7
 * client and server on loopback, see tests/interop/record_snap7.js). */
static void test_cotp_connect_snap7_frames(void **state)
{
    (void)state;
    uint8_t cr[64], out[64];
    size_t n = plcio_test_hex("03 00 00 16 11 e0 00 00 00 01 00 c0 01 0a c1 02 01 00 c2 02 01 02", cr, sizeof cr);
    cotp_tpdu t;
    assert_int_equal(cotp_decode(cr + 4, n - 4, &t), PLCIO_OK);
    assert_int_equal(t.code, PLCIO_COTP_CR);
    assert_int_equal(t.conn.src_ref, 1);
    assert_int_equal(t.conn.tpdu_size, 1024);
    assert_int_equal(t.conn.src_tsap_len, 2);
    assert_int_equal(plcio_get_u16be(t.conn.src_tsap), 0x0100);
    assert_int_equal(plcio_get_u16be(t.conn.dst_tsap), s7_tsap(PLCIO_S7_CONN_PG, 0, 2));
    size_t len = 0;
    assert_int_equal(cotp_cr_frame(out, sizeof out, &t.conn, &len), PLCIO_OK);
    assert_int_equal(len, n);
    assert_memory_equal(out, cr, n);
    /* CC: the answer swaps references */
    t.conn.dst_ref = 1;
    t.conn.src_ref = 0x4400;
    assert_int_equal(cotp_cc_frame(out, sizeof out, &t.conn, &len), PLCIO_OK);
    cotp_tpdu cc;
    assert_int_equal(cotp_decode(out + 4, len - 4, &cc), PLCIO_OK);
    assert_int_equal(cc.code, PLCIO_COTP_CC);
    assert_int_equal(cc.conn.dst_ref, 1);
    /* malformed: LI beyond the buffer, TSAP length beyond the header, class 4 */
    uint8_t bad[32];
    memcpy(bad, cr + 4, n - 4);
    bad[0] = 0x30;
    assert_int_equal(cotp_decode(bad, n - 4, &t), PLCIO_EPROTO);
    memcpy(bad, cr + 4, n - 4);
    bad[11] = 9; /* C1 length */
    assert_int_equal(cotp_decode(bad, n - 4, &t), PLCIO_EPROTO);
    memcpy(bad, cr + 4, n - 4);
    bad[6] = 0x40;
    assert_int_equal(cotp_decode(bad, n - 4, &t), PLCIO_EUNSUPPORTED);
    memcpy(bad, cr + 4, n - 4);
    bad[9] = 0x0E; /* TPDU size code 16384: not in class 0 */
    assert_int_equal(cotp_decode(bad, n - 4, &t), PLCIO_EPROTO);
    /* DR and ER round trip */
    plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(cotp_dr_encode(&w, 1, 2, 0x80), PLCIO_OK);
    assert_int_equal(cotp_decode(out, plcio_wcursor_used(&w), &t), PLCIO_OK);
    assert_int_equal(t.code, PLCIO_COTP_DR);
    assert_int_equal(t.reason, 0x80);
    w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(cotp_er_encode(&w, 1, 2, cr + 4, 3), PLCIO_OK);
    assert_int_equal(cotp_decode(out, plcio_wcursor_used(&w), &t), PLCIO_OK);
    assert_int_equal(t.code, PLCIO_COTP_ER);
    assert_int_equal(t.reason, 2);
}

/* ------------------------------------------------------------ s7.json */

/* Strip TPKT + COTP from an encoded frame: the S7 PDU. */
static const uint8_t *pdu_of(const s7_out *o, size_t *len)
{
    *len = o->len - PLCIO_S7_FRAME_OVERHEAD;
    assert_int_equal(plcio_get_u16be(o->buf + 2), o->len);
    assert_int_equal(o->buf[5], 0xF0);
    return o->buf + PLCIO_S7_FRAME_OVERHEAD;
}

static void expect_pdu(const s7_out *o, const uint8_t *want, size_t n)
{
    size_t len;
    const uint8_t *p = pdu_of(o, &len);
    assert_int_equal(len, n);
    assert_memory_equal(p, want, n);
}

static int encode_operation(const char *op, s7_out *o)
{
    static const char *const progname = "P_PROGRAM";
    s7_userdata ud;
    s7_control ctl = {PLCIO_S7_FN_PI_SERVICE, NULL, 0, progname, 9};
    s7_xfer x;
    memset(&x, 0, sizeof x);
    uint8_t p[16];
    if (!strcmp(op, "read_clock")) {
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_READ, 0, NULL, 0);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "list_blocks")) {
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST, 0, NULL, 0);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "list_data_blocks")) {
        assert_int_equal(s7_block_name_encode(p, PLCIO_S7_BLOCK_DB, 0), PLCIO_OK);
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_LIST_TYPE, 0, p, 2);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "get_db_info")) {
        assert_int_equal(s7_block_name_encode(p, PLCIO_S7_BLOCK_DB, 1), PLCIO_OK);
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_BLOCK, PLCIO_S7_UD_BLOCK_INFO, 0, p, 8);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "set_clock")) {
        s7_datetime dt = {2026, 9, 23, 12, 34, 56, 789, 3};
        assert_int_equal(s7_clock_encode(p, &dt), PLCIO_OK);
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_TIME, PLCIO_S7_UD_TIME_SET, 0, p, 10);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "set_password")) {
        assert_int_equal(s7_password_encode(p, "SECRET"), PLCIO_OK);
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_SET_PASSWORD, 0, p, 8);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "clear_password")) {
        ud = s7_userdata_request(PLCIO_S7_UD_GROUP_SECURITY, PLCIO_S7_UD_SECURITY_CLEAR_PASSWORD, 0, NULL, 0);
        return s7_userdata_encode(o, 1, &ud);
    }
    if (!strcmp(op, "plc_stop")) {
        ctl.function = PLCIO_S7_FN_PLC_STOP;
        return s7_control_encode(o, 1, &ctl);
    }
    if (!strcmp(op, "plc_hot_start")) return s7_control_encode(o, 1, &ctl);
    if (!strcmp(op, "plc_cold_start")) {
        ctl.param = (const uint8_t *)"C ";
        ctl.param_len = 2;
        return s7_control_encode(o, 1, &ctl);
    }
    if (!strcmp(op, "start_db_upload")) {
        x.function = PLCIO_S7_FN_START_UPLOAD;
        assert_int_equal(s7_filename(x.filename, PLCIO_S7_BLOCK_DB, 1, 'A'), PLCIO_OK);
        return s7_xfer_job_encode(o, 1, &x);
    }
    if (!strcmp(op, "upload_fragment") || !strcmp(op, "end_upload")) {
        x.function = op[0] == 'u' ? PLCIO_S7_FN_UPLOAD : PLCIO_S7_FN_END_UPLOAD;
        x.upload_id = 7;
        return s7_xfer_job_encode(o, 1, &x);
    }
    if (!strcmp(op, "request_db_download")) {
        x.function = PLCIO_S7_FN_REQUEST_DOWNLOAD;
        assert_int_equal(s7_filename(x.filename, PLCIO_S7_BLOCK_DB, 1, 'P'), PLCIO_OK);
        x.has_lengths = true;
        x.load_len = 64;
        x.mc7_len = 28;
        return s7_xfer_job_encode(o, 1, &x);
    }
    if (!strcmp(op, "download_fragment_response") || !strcmp(op, "final_download_fragment_response")) {
        static const uint8_t dead[] = {0xDE, 0xAD}, beef[] = {0xBE, 0xEF};
        x.function = PLCIO_S7_FN_DOWNLOAD_BLOCK;
        x.status = op[0] == 'd';
        x.payload = op[0] == 'd' ? dead : beef;
        x.payload_len = 2;
        return s7_xfer_ack_encode(o, 1, &x, 0);
    }
    if (!strcmp(op, "download_ended_response")) {
        x.function = PLCIO_S7_FN_DOWNLOAD_ENDED;
        return s7_xfer_ack_encode(o, 1, &x, 0);
    }
    fail_msg("unknown operation %s", op);
    return -1;
}

/* Decode an encoded request back and check the server-side decoders agree. */
static void decode_operation(const char *op, const uint8_t *p, size_t n)
{
    s7_pdu pdu;
    assert_int_equal(s7_pdu_decode(p, n, &pdu), PLCIO_OK);
    assert_int_equal(pdu.pdu_ref, 1);
    if (pdu.rosctr == PLCIO_S7_USERDATA) {
        s7_userdata ud;
        assert_int_equal(s7_userdata_decode(&pdu, &ud), PLCIO_OK);
        assert_int_equal(ud.type, PLCIO_S7_UD_TYPE_REQUEST);
        if (!strcmp(op, "set_password")) {
            char clear[9];
            s7_password_decode(ud.payload, clear);
            assert_string_equal(clear, "SECRET  ");
        }
        if (!strcmp(op, "set_clock")) {
            s7_datetime dt;
            assert_int_equal(s7_clock_decode(ud.payload, ud.payload_len, &dt), PLCIO_OK);
            assert_int_equal(dt.year, 2026);
            assert_int_equal(dt.millisecond, 789);
        }
        if (!strcmp(op, "get_db_info")) {
            uint8_t type;
            uint16_t number;
            assert_int_equal(s7_block_name_decode(ud.payload, ud.payload_len, &type, &number), PLCIO_OK);
            assert_int_equal(type, PLCIO_S7_BLOCK_DB);
            assert_int_equal(number, 1);
        }
        return;
    }
    if (pdu.rosctr == PLCIO_S7_JOB) {
        int fn = s7_pdu_function(&pdu);
        if (fn == PLCIO_S7_FN_PI_SERVICE || fn == PLCIO_S7_FN_PLC_STOP) {
            s7_control c;
            assert_int_equal(s7_control_decode(&pdu, &c), PLCIO_OK);
            assert_int_equal(c.service_len, 9);
            assert_memory_equal(c.service, "P_PROGRAM", 9);
        } else {
            s7_xfer x;
            assert_int_equal(s7_xfer_job_decode(&pdu, &x), PLCIO_OK);
            if (!strcmp(op, "request_db_download")) {
                assert_string_equal(x.filename, "_0A00001P");
                assert_int_equal(x.load_len, 64);
                assert_int_equal(x.mc7_len, 28);
            }
            if (!strcmp(op, "upload_fragment")) assert_int_equal(x.upload_id, 7);
        }
        return;
    }
    s7_xfer x;
    assert_int_equal(s7_xfer_ack_decode(&pdu, pdu.param[0], &x), PLCIO_OK);
}

static void test_s7_request_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "request_cases"))
    {
        const char *op = str_of(c, "operation");
        print_message("request %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "expected_packet"), buf_c);
        s7_out o = s7_out_make(buf_b, BIG, 960);
        assert_int_equal(encode_operation(op, &o), PLCIO_OK);
        expect_pdu(&o, buf_c, n);
        decode_operation(op, buf_c, n);
    }
    cJSON_Delete(root);
}

static void make_ack(uint8_t *out, size_t *len, const uint8_t *param, size_t plen, const uint8_t *data, size_t dlen)
{
    const uint8_t head[12] = {0x32,          3, 0, 0, 0, 1, (uint8_t)(plen >> 8), (uint8_t)plen, (uint8_t)(dlen >> 8),
                              (uint8_t)dlen, 0, 0};
    memcpy(out, head, 12);
    memcpy(out + 12, param, plen);
    if (dlen) memcpy(out + 12 + plen, data, dlen);
    *len = 12 + plen + dlen;
}

static void test_s7_response_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "response_cases"))
    {
        print_message("response %s\n", str_of(c, "id"));
        uint8_t param[16], data[64], pdub[128];
        size_t pl = bytes_of(item(c, "parameters"), param), dl = bytes_of(item(c, "data"), data), n;
        make_ack(pdub, &n, param, pl, data, dl);
        s7_pdu pdu;
        assert_int_equal(s7_pdu_decode(pdub, n, &pdu), PLCIO_OK);
        size_t want = (size_t)num_of(c, "requested_bytes");
        int rc;
        s7_data_item out[1];
        if (!strcmp(str_of(c, "operation"), "read")) {
            s7_item req = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, (uint16_t)want, 1, 0, 0};
            rc = s7_read_response_decode(&pdu, &req, 1, out);
        } else {
            uint8_t rcs[1];
            rc = s7_write_response_decode(&pdu, 1, rcs);
            if (rc == PLCIO_OK) assert_int_equal(rcs[0], PLCIO_S7_RC_SUCCESS);
            out[0].len = 0;
            out[0].data = NULL;
        }
        if (accepted(c)) {
            assert_int_equal(rc, PLCIO_OK);
            size_t m = bytes_of(item(item(c, "expected"), "payload"), buf_c);
            assert_int_equal(out[0].len, m);
            if (m) assert_memory_equal(out[0].data, buf_c, m);
        } else {
            assert_int_not_equal(rc, PLCIO_OK);
        }
    }
    cJSON_Delete(root);
}

static uint8_t area_code(const char *name)
{
    assert_string_equal(name, "data-blocks");
    return PLCIO_S7_AREA_DB;
}

static void test_s7_multi_item_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "multi_item_cases"))
    {
        print_message("multi %s\n", str_of(c, "id"));
        s7_item items[8];
        size_t n = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, item(c, "ranges"))
        {
            items[n] = (s7_item){area_code(str_of(r, "area")), PLCIO_S7_TS_BYTE,
                                 (uint16_t)num_of(r, "count"), (uint16_t)num_of(r, "db_number"),
                                 (uint32_t)num_of(r, "start"), 0};
            n++;
        }
        size_t qn = bytes_of(item(c, "request_pdu"), buf_a);
        size_t sn = bytes_of(item(c, "response_pdu"), buf_c);
        s7_out o = s7_out_make(buf_b, BIG, 960);
        s7_pdu q, s;
        assert_int_equal(s7_pdu_decode(buf_a, qn, &q), PLCIO_OK);
        bool read = !strcmp(str_of(c, "operation"), "read");
        s7_item back[PLCIO_S7_MAX_ITEMS];
        size_t bn = 0;
        if (read) {
            assert_int_equal(s7_read_request_encode(&o, 1, items, n), PLCIO_OK);
            assert_int_equal(s7_read_request_decode(&q, back, PLCIO_S7_MAX_ITEMS, &bn), PLCIO_OK);
        } else {
            s7_data_item wd[PLCIO_S7_MAX_ITEMS];
            assert_int_equal(s7_write_request_decode(&q, back, wd, PLCIO_S7_MAX_ITEMS, &bn), PLCIO_OK);
            assert_int_equal(s7_write_request_encode(&o, 1, items, wd, n), PLCIO_OK);
        }
        expect_pdu(&o, buf_a, qn);
        assert_int_equal(bn, n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(back[i].start, items[i].start);
            assert_int_equal(back[i].count, items[i].count);
        }
        assert_int_equal(s7_pdu_decode(buf_c, sn, &s), PLCIO_OK);
        s7_data_item out[8];
        uint8_t rcs[8];
        int rc = read ? s7_read_response_decode(&s, items, n, out) : s7_write_response_decode(&s, n, rcs);
        if (!accepted(c)) {
            assert_int_not_equal(rc, PLCIO_OK);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        size_t i = 0;
        uint8_t codes[8];
        cJSON_ArrayForEach(r, item(item(c, "expected"), "items"))
        {
            bool ok = !strcmp(str_of(r, "status"), "success");
            uint8_t code = read ? out[i].return_code : rcs[i];
            codes[i] = code;
            if (ok) {
                assert_int_equal(code, PLCIO_S7_RC_SUCCESS);
                if (read) {
                    size_t m = bytes_of(item(r, "payload"), buf_b);
                    assert_int_equal(out[i].len, m);
                    assert_memory_equal(out[i].data, buf_b, m);
                }
            } else {
                assert_int_equal(code, (int)num_of(r, "code"));
            }
            i++;
        }
        assert_int_equal(i, n);
        /* server side: re-encode the response and get the same bytes */
        o = s7_out_make(buf_b, BIG, 960);
        if (read)
            assert_int_equal(s7_read_response_encode(&o, 1, out, n), PLCIO_OK);
        else
            assert_int_equal(s7_write_response_encode(&o, 1, codes, n), PLCIO_OK);
        expect_pdu(&o, buf_c, sn);
    }
    cJSON_Delete(root);
}

static int decode_ud(const cJSON *pdu_desc, s7_userdata *ud)
{
    size_t n = bytes_of(pdu_desc, buf_a);
    s7_pdu pdu;
    int rc = s7_pdu_decode(buf_a, n, &pdu);
    if (rc) return rc;
    return s7_userdata_decode(&pdu, ud);
}

static void test_s7_userdata_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "userdata_cases"))
    {
        print_message("userdata %s\n", str_of(c, "id"));
        s7_userdata ud;
        int rc = decode_ud(item(c, "pdu"), &ud);
        if (rc == PLCIO_OK)
            rc = s7_userdata_check(&ud, (uint8_t)num_of(c, "expected_group"),
                                   (uint8_t)num_of(c, "expected_subfunction"), NULL);
        if (!accepted(c)) {
            assert_int_not_equal(rc, PLCIO_OK);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        const cJSON *e = item(c, "expected");
        size_t m = bytes_of(item(e, "payload"), buf_c);
        assert_int_equal(ud.payload_len, m);
        assert_memory_equal(ud.payload, buf_c, m);
        assert_int_equal(ud.sequence, (int)num_of(e, "sequence"));
        assert_int_equal(ud.more, cJSON_IsTrue(item(e, "has_more_data")));
        /* and the server-side encoder writes the same PDU */
        s7_userdata back = s7_userdata_response(ud.group, ud.subfunction, ud.sequence, ud.data_unit_ref, ud.more, 0,
                                                ud.payload, ud.payload_len);
        s7_out o = s7_out_make(buf_b, BIG, 960);
        assert_int_equal(s7_userdata_encode(&o, 1, &back), PLCIO_OK);
        size_t n = bytes_of(item(c, "pdu"), buf_a);
        expect_pdu(&o, buf_a, n);
    }
    cJSON_ArrayForEach(c, item(root, "userdata_conversation_cases"))
    {
        print_message("conversation %s\n", str_of(c, "id"));
        uint8_t out[256];
        s7_ud_assembly a;
        s7_ud_assembly_init(&a, (uint8_t)num_of(c, "expected_group"), (uint8_t)num_of(c, "expected_subfunction"), out,
                            (size_t)num_of(c, "maximum_bytes"), (size_t)num_of(c, "maximum_fragments"));
        int rc = PLCIO_EAGAIN;
        const cJSON *p;
        cJSON_ArrayForEach(p, item(c, "response_pdus"))
        {
            s7_userdata ud;
            int drc = decode_ud(p, &ud);
            rc = drc ? drc : s7_ud_assembly_add(&a, &ud);
            if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) break;
        }
        if (accepted(c)) {
            assert_int_equal(rc, PLCIO_OK);
            size_t m = bytes_of(item(item(c, "expected"), "payload"), buf_c);
            assert_int_equal(a.len, m);
            assert_memory_equal(out, buf_c, m);
        } else {
            assert_int_not_equal(rc, PLCIO_OK);
        }
    }
    cJSON_ArrayForEach(c, item(root, "upload_cases"))
    {
        print_message("upload %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "pdu"), buf_a);
        s7_pdu pdu;
        s7_xfer x;
        int rc = s7_pdu_decode(buf_a, n, &pdu);
        if (rc == PLCIO_OK) rc = s7_xfer_ack_decode(&pdu, PLCIO_S7_FN_UPLOAD, &x);
        if (!accepted(c)) {
            assert_int_not_equal(rc, PLCIO_OK);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        const cJSON *e = item(c, "expected");
        size_t m = bytes_of(item(e, "payload"), buf_c);
        assert_int_equal(x.payload_len, m);
        assert_memory_equal(x.payload, buf_c, m);
        assert_int_equal(x.status == 0, cJSON_IsTrue(item(e, "is_last")));
        s7_out o = s7_out_make(buf_b, BIG, 960);
        assert_int_equal(s7_xfer_ack_encode(&o, 1, &x, 0), PLCIO_OK);
        expect_pdu(&o, buf_a, n);
    }
    cJSON_Delete(root);
}

static void test_s7_block_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    static const struct {
        const char *key;
        uint8_t type;
    } count_keys[] = {{"organization_blocks", PLCIO_S7_BLOCK_OB},
                      {"function_blocks", PLCIO_S7_BLOCK_FB},
                      {"functions", PLCIO_S7_BLOCK_FC},
                      {"data_blocks", PLCIO_S7_BLOCK_DB},
                      {"system_data_blocks", PLCIO_S7_BLOCK_SDB},
                      {"system_functions", PLCIO_S7_BLOCK_SFC},
                      {"system_function_blocks", PLCIO_S7_BLOCK_SFB}};
    cJSON_ArrayForEach(c, item(root, "block_count_cases"))
    {
        print_message("block count %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "payload"), buf_a);
        s7_block_counts bc;
        int rc = s7_block_counts_decode(buf_a, n, &bc);
        if (!accepted(c)) {
            assert_int_equal(rc, PLCIO_EPROTO);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        const cJSON *counts = item(item(c, "expected"), "counts");
        for (size_t i = 0; i < 7; i++)
            assert_int_equal(bc.count[s7_block_type_index(count_keys[i].type)], (int)num_of(counts, count_keys[i].key));
        plcio_wcursor w = plcio_wcursor_make(buf_b, 64);
        assert_int_equal(s7_block_counts_encode(&w, &bc), PLCIO_OK);
        s7_block_counts again;
        assert_int_equal(s7_block_counts_decode(buf_b, plcio_wcursor_used(&w), &again), PLCIO_OK);
        assert_memory_equal(&again, &bc, sizeof bc);
    }
    cJSON_ArrayForEach(c, item(root, "block_list_cases"))
    {
        print_message("block list %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "payload"), buf_a), cnt = 0;
        s7_block_entry e[16];
        int rc = s7_block_list_decode(buf_a, n, e, 16, &cnt);
        if (!accepted(c)) {
            assert_int_equal(rc, PLCIO_EPROTO);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        size_t i = 0;
        const cJSON *r;
        cJSON_ArrayForEach(r, item(item(c, "expected"), "entries"))
        {
            assert_int_equal(e[i].number, (int)num_of(r, "number"));
            assert_int_equal(e[i].flags, (int)num_of(r, "flags"));
            assert_int_equal(e[i].language, (int)num_of(r, "language"));
            i++;
        }
        assert_int_equal(i, cnt);
        plcio_wcursor w = plcio_wcursor_make(buf_b, 64);
        assert_int_equal(s7_block_list_encode(&w, e, cnt), PLCIO_OK);
        assert_memory_equal(buf_b, buf_a, n);
    }
    cJSON_ArrayForEach(c, item(root, "block_info_cases"))
    {
        print_message("block info %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "payload"), buf_a);
        s7_block_info bi;
        int rc = s7_block_info_decode(buf_a, n, &bi);
        if (!accepted(c)) {
            assert_int_equal(rc, PLCIO_EPROTO);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        const cJSON *inf = item(item(c, "expected"), "info");
        assert_int_equal(bi.version, (int)num_of(inf, "version"));
        assert_int_equal(bi.sub_block_type, (int)num_of(inf, "sub_block_type"));
        assert_int_equal(bi.sbb_size, (int)num_of(inf, "sbb_size"));
        assert_int_equal(bi.number, (int)num_of(inf, "number"));
        assert_string_equal(bi.name, str_of(inf, "name"));
        assert_int_equal(bi.mc7_size, (int)num_of(inf, "mc7_size"));
        assert_int_equal(bi.local_data_size, (int)num_of(inf, "local_data_size"));
        assert_int_equal(bi.load_size, (int)num_of(inf, "load_size"));
        assert_int_equal(bi.language, (int)num_of(inf, "language"));
        assert_int_equal(bi.flags, (int)num_of(inf, "flags"));
        assert_string_equal(bi.family, str_of(inf, "family"));
        assert_int_equal(bi.checksum, (int)num_of(inf, "checksum"));
        assert_int_equal(bi.block_type, (int)num_of(inf, "block_type"));
        assert_string_equal(bi.author, str_of(inf, "author"));
        uint8_t d[6];
        assert_int_equal(bytes_of(item(inf, "code_date"), d), 6);
        assert_memory_equal(bi.code_date, d, 6);
        assert_int_equal(bytes_of(item(inf, "interface_date"), d), 6);
        assert_memory_equal(bi.interface_date, d, 6);
        assert_int_equal(s7_block_info_encode(buf_b, &bi), PLCIO_OK);
        assert_memory_equal(buf_b, buf_a, n);
    }
    cJSON_Delete(root);
}

static void test_s7_address_and_chunk_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/s7.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "address_cases"))
    {
        print_message("address %s\n", str_of(c, "id"));
        size_t n = bytes_of(item(c, "packet"), buf_c);
        uint8_t area = (uint8_t)num_of(c, "area");
        uint8_t ts = area == PLCIO_S7_AREA_CT   ? PLCIO_S7_TS_COUNTER
                     : area == PLCIO_S7_AREA_TM ? PLCIO_S7_TS_TIMER
                                                : PLCIO_S7_TS_BYTE;
        s7_item it = {area, ts, 2, (uint16_t)(area == PLCIO_S7_AREA_DB), (uint32_t)num_of(c, "start_bytes"), 0};
        s7_out o = s7_out_make(buf_b, BIG, 960);
        assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_OK);
        assert_int_equal(o.len, n);
        assert_memory_equal(buf_b, buf_c, n);
        uint32_t wire = (uint32_t)buf_c[n - 3] << 16 | plcio_get_u16be(buf_c + n - 2);
        assert_int_equal(wire, (uint32_t)num_of(c, "wire_address"));
    }
    cJSON_ArrayForEach(c, item(root, "chunk_cases"))
    {
        /* the chunk size rule the client uses: PDU - 18 bytes, whole elements */
        size_t pdu = (size_t)num_of(c, "pdu_bytes"), el = (size_t)num_of(c, "element_bytes");
        assert_int_equal(PLCIO_S7_READ_RSP_OVERHEAD + PLCIO_S7_DATA_ITEM_HEAD,
                         (size_t)num_of(c, "response_overhead_bytes"));
        size_t per = (pdu - PLCIO_S7_READ_RSP_OVERHEAD - PLCIO_S7_DATA_ITEM_HEAD) / el;
        size_t left = (size_t)num_of(c, "count"), start = 0;
        const cJSON *cnt = item(c, "expected_counts"), *st = item(c, "expected_byte_starts");
        int i = 0;
        while (left) {
            size_t k = left < per ? left : per;
            assert_int_equal(k, (size_t)cJSON_GetArrayItem(cnt, i)->valuedouble);
            assert_int_equal(start, (size_t)cJSON_GetArrayItem(st, i)->valuedouble);
            start += k * el;
            left -= k;
            i++;
        }
        assert_int_equal(i, cJSON_GetArraySize(cnt));
    }
    cJSON_ArrayForEach(c, item(root, "write_cases"))
    {
        size_t n = bytes_of(item(c, "payload"), buf_a);
        s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_WORD, (uint16_t)num_of(c, "count"), 1, 0, 0};
        assert_int_equal(s7_item_bytes(&it), (size_t)num_of(c, "element_bytes") * it.count);
        s7_data_item d = {0, 0, buf_a, (uint16_t)n};
        s7_out o = s7_out_make(buf_b, BIG, 960);
        assert_int_equal(s7_write_request_encode(&o, 1, &it, &d, 1), PLCIO_OK);
        s7_pdu pdu;
        size_t pl;
        const uint8_t *p = pdu_of(&o, &pl);
        assert_int_equal(s7_pdu_decode(p, pl, &pdu), PLCIO_OK);
        s7_item back;
        s7_data_item bd;
        size_t cnt;
        assert_int_equal(s7_write_request_decode(&pdu, &back, &bd, 1, &cnt), PLCIO_OK);
        size_t m = bytes_of(item(c, "expected_payload"), buf_c);
        assert_int_equal(bd.len, m);
        assert_memory_equal(bd.data, buf_c, m);
    }
    cJSON_Delete(root);
}

/* ------------------------------------------------------------ operations.json */

static void test_single_userdata_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/operations.json");
    const cJSON *c;
    cJSON_ArrayForEach(c, item(root, "single_userdata_cases"))
    {
        print_message("single userdata %s\n", str_of(c, "id"));
        s7_userdata ud;
        int rc = decode_ud(item(c, "pdu"), &ud);
        if (rc == PLCIO_OK)
            rc = s7_userdata_check(&ud, (uint8_t)num_of(c, "group"), (uint8_t)num_of(c, "subfunction"), NULL);
        /* a single answer must be complete: more-data is an error here */
        if (rc == PLCIO_OK && ud.more) rc = PLCIO_EPROTO;
        if (!accepted(c)) {
            assert_int_not_equal(rc, PLCIO_OK);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        size_t m = bytes_of(item(item(c, "expected"), "payload"), buf_c);
        assert_int_equal(ud.payload_len, m);
        if (m) assert_memory_equal(ud.payload, buf_c, m);
    }
    cJSON_Delete(root);
}

/* values.json clock_codec_cases: the 10-byte clock of the time functions. */
static void test_clock_cases(void **state)
{
    (void)state;
    cJSON *root = plcio_test_load_json("s7-vectors/values.json");
    const cJSON *c;
    int count = 0;
    cJSON_ArrayForEach(c, item(root, "clock_codec_cases"))
    {
        const cJSON *e = item(c, "expected");
        bool roundtrip = !strcmp(str_of(c, "operation"), "roundtrip");
        if (roundtrip) {
            const cJSON *v = item(c, "input_value");
            s7_datetime dt = {(uint16_t)num_of(v, "year"),        (uint8_t)num_of(v, "month"),
                              (uint8_t)num_of(v, "day"),          (uint8_t)num_of(v, "hour"),
                              (uint8_t)num_of(v, "minute"),       (uint8_t)num_of(v, "second"),
                              (uint16_t)num_of(v, "millisecond"), (uint8_t)num_of(v, "weekday")};
            uint8_t enc[10];
            int rc = s7_clock_encode(enc, &dt);
            if (accepted(c)) {
                assert_int_equal(rc, PLCIO_OK);
                size_t m = bytes_of(item(e, "encoded"), buf_c);
                assert_int_equal(m, 10);
                assert_memory_equal(enc, buf_c, 10);
                s7_datetime back;
                assert_int_equal(s7_clock_decode(enc, 10, &back), PLCIO_OK);
                assert_int_equal(back.year, dt.year);
                assert_int_equal(back.month, dt.month);
                assert_int_equal(back.day, dt.day);
                assert_int_equal(back.hour, dt.hour);
                assert_int_equal(back.minute, dt.minute);
                assert_int_equal(back.second, dt.second);
                assert_int_equal(back.millisecond, dt.millisecond);
                assert_int_equal(back.weekday, dt.weekday);
            } else {
                assert_int_not_equal(rc, PLCIO_OK);
            }
        } else {
            size_t n = bytes_of(item(c, "data"), buf_a);
            s7_datetime back;
            int rc = s7_clock_decode(buf_a, n, &back);
            if (accepted(c))
                assert_int_equal(rc, PLCIO_OK);
            else
                assert_int_not_equal(rc, PLCIO_OK);
        }
        count++;
    }
    assert_true(count > 100);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------ malformed input */

static void test_pdu_header_rejects(void **state)
{
    (void)state;
    uint8_t p[32] = {0x32, 1, 0, 0, 0, 1, 0, 2, 0, 0, 4, 1};
    s7_pdu pdu;
    assert_int_equal(s7_pdu_decode(p, 12, &pdu), PLCIO_OK);
    assert_int_equal(s7_pdu_decode(p, 13, &pdu), PLCIO_EPROTO); /* trailing */
    assert_int_equal(s7_pdu_decode(p, 11, &pdu), PLCIO_EPROTO); /* short */
    p[0] = 0x72;
    assert_int_equal(s7_pdu_decode(p, 12, &pdu), PLCIO_EPROTO); /* S7+ id */
    p[0] = 0x32;
    p[1] = 9;
    assert_int_equal(s7_pdu_decode(p, 12, &pdu), PLCIO_EPROTO);
    p[1] = 1;
    for (size_t k = 0; k < 12; k++)
        assert_int_equal(s7_pdu_decode(p, k, &pdu), PLCIO_EPROTO);
    /* an item count beyond the parameter block */
    uint8_t rq[64] = {0x32, 1, 0, 0, 0, 1, 0, 14, 0, 0, 4, 2, 0x12, 0x0A, 0x10, 2, 0, 1, 0, 1, 0x84, 0, 0, 0};
    assert_int_equal(s7_pdu_decode(rq, 24, &pdu), PLCIO_OK);
    s7_item items[4];
    size_t n;
    assert_int_equal(s7_read_request_decode(&pdu, items, 4, &n), PLCIO_EPROTO);
    rq[11] = 0;
    assert_int_equal(s7_read_request_decode(&pdu, items, 4, &n), PLCIO_EPROTO);
    rq[11] = 1;
    assert_int_equal(s7_read_request_decode(&pdu, items, 4, &n), PLCIO_OK);
    assert_int_equal(s7_read_request_decode(&pdu, items, 0, &n), PLCIO_ENOSPC);
    /* cppcheck-suppress unreadVariable ; pdu points into rq */
    rq[14] = 0xB0; /* DBREAD syntax */
    assert_int_equal(s7_read_request_decode(&pdu, items, 4, &n), PLCIO_EUNSUPPORTED);
}

static void test_encoder_limits(void **state)
{
    (void)state;
    s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, 1000, 1, 0, 0};
    s7_out o = s7_out_make(buf_b, BIG, 240);
    uint8_t data[1000] = {0};
    s7_data_item d = {0, 0, data, 1000};
    assert_int_equal(s7_write_request_encode(&o, 1, &it, &d, 1), PLCIO_ENOSPC); /* beyond the PDU */
    o = s7_out_make(buf_b, 20, 0);
    assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_ENOSPC); /* beyond the buffer */
    it.transport = PLCIO_S7_TS_BIT;
    it.count = 1;
    it.bit = 8;
    o = s7_out_make(buf_b, BIG, 0);
    assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_EINVAL);
    it.bit = 7;
    it.start = PLCIO_S7_MAX_BYTE_ADDRESS + 1;
    assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_ERANGE);
    it.area = 0x55;
    it.start = 0;
    assert_int_equal(s7_read_request_encode(&o, 1, &it, 1), PLCIO_EINVAL);
    /* bit write: bit transport, length 1 bit */
    it = (s7_item){PLCIO_S7_AREA_MK, PLCIO_S7_TS_BIT, 1, 0, 10, 5};
    uint8_t one = 1;
    d = (s7_data_item){0, 0, &one, 1};
    assert_int_equal(s7_write_request_encode(&o, 1, &it, &d, 1), PLCIO_OK);
    size_t pl;
    const uint8_t *p = pdu_of(&o, &pl);
    static const uint8_t want[] = {0x32, 1, 0, 0, 0, 1,    0, 14, 0,    5, 5, 1, 0x12, 0x0A, 0x10,
                                   1,    0, 1, 0, 0, 0x83, 0, 0,  0x55, 0, 3, 0, 1,    1};
    assert_int_equal(pl, sizeof want);
    assert_memory_equal(p, want, sizeof want);
    /* setup both ways */
    s7_setup s = {1, 1, 960}, back;
    assert_int_equal(s7_setup_encode(&o, PLCIO_S7_JOB, 0x400, &s), PLCIO_OK);
    static const uint8_t setup_snap7[] = {0x32, 1, 0, 0, 4, 0, 0, 8, 0, 0, 0xF0, 0, 0, 1, 0, 1, 3, 0xC0};
    p = pdu_of(&o, &pl);
    assert_int_equal(pl, sizeof setup_snap7);
    assert_memory_equal(p, setup_snap7, sizeof setup_snap7);
    s7_pdu pdu;
    assert_int_equal(s7_pdu_decode(p, pl, &pdu), PLCIO_OK);
    assert_int_equal(s7_setup_decode(&pdu, &back), PLCIO_OK);
    assert_int_equal(back.pdu_size, 960);
}

static void test_texts(void **state)
{
    (void)state;
    assert_string_equal(plcio_s7_return_code_text(0x05), "address out of range");
    assert_string_equal(plcio_s7_return_code_text(0x0A), "object does not exist");
    assert_string_equal(plcio_s7_error_text(0x8104), "service not supported by the module");
    assert_string_equal(plcio_s7_error_text(0x8599), "error on supplies");
    assert_string_equal(plcio_s7_area_name(PLCIO_S7_AREA_DB), "DB");
    assert_int_equal(s7_block_type_parse("sfb"), PLCIO_S7_BLOCK_SFB);
    assert_int_equal(s7_block_type_parse("XB"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tpkt_vectors),
        cmocka_unit_test(test_tpkt_stream),
        cmocka_unit_test(test_cotp_vectors),
        cmocka_unit_test(test_cotp_connect_snap7_frames),
        cmocka_unit_test(test_s7_request_cases),
        cmocka_unit_test(test_s7_response_cases),
        cmocka_unit_test(test_s7_multi_item_cases),
        cmocka_unit_test(test_s7_userdata_cases),
        cmocka_unit_test(test_s7_block_cases),
        cmocka_unit_test(test_s7_address_and_chunk_cases),
        cmocka_unit_test(test_single_userdata_cases),
        cmocka_unit_test(test_clock_cases),
        cmocka_unit_test(test_pdu_header_rejects),
        cmocka_unit_test(test_encoder_limits),
        cmocka_unit_test(test_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
