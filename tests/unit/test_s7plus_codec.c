/* S7CommPlus codec: every PDU of a real S7-1500 session (tests/fixtures/
 * s7commplus, read with a tiny pcap reader) decoded and re-encoded to the same
 * bytes, with the values checked against what the capture carries; VLQ
 * boundaries; every PValue type; object trees; malformed input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_read.h"
#include "plcio_test.h"
#include "s7plus/s7p_codec.h"

static uint8_t out[70000];

/* ---- the capture ---------------------------------------------------------- */

typedef struct capture {
    unsigned pdus, notifications, setvar, getmulti_req, getmulti_res, setmulti_req, setmulti_res;
    unsigned failures;
    /* facts checked against the capture's bytes */
    bool saw_real_5, saw_dint_498, saw_db5_lid113, saw_int_206;
} capture;

static void fail_pdu(capture *cap, unsigned frame, const char *what, int rc)
{
    print_error("frame %u: %s (%s)\n", frame, what, plcio_strerror(rc));
    cap->failures++;
}

static int reencode_body(capture *cap, const s7p_pdu *p, plcio_wcursor *w)
{
    plcio_rcursor c = plcio_rcursor_make(p->body, p->body_len);
    int rc;
    if (p->h.opcode == S7P_OP_NOTIFICATION) {
        static s7p_notification n;
        if ((rc = s7p_notification_decode(&c, &n))) return rc;
        cap->notifications++;
        for (uint32_t k = 0; k < n.n; k++)
            if (n.ref[k] == 5 && n.values[k].type == S7P_T_REAL && n.values[k].u == 0x41aa70aa) cap->saw_real_5 = true;
        plcio_wcursor_u8(w, S7P_OP_NOTIFICATION);
        return s7p_notification_encode(w, &n);
    }
    if ((rc = s7p_header_encode(w, &p->h))) return rc;
    bool req = p->h.opcode == S7P_OP_REQUEST;
    switch (p->h.function) {
    case S7P_FN_SET_VARIABLE: {
        static s7p_setvar_req r;
        if (!req) return PLCIO_EUNSUPPORTED;
        if ((rc = s7p_setvar_req_decode(&c, &r))) return rc;
        cap->setvar++;
        if (r.n == 1 && r.address[0] == 1053 && r.values[0].type == S7P_T_INT && r.values[0].i == 206)
            cap->saw_int_206 = true;
        if (!r.q.present || !r.tail.has_iid) return PLCIO_EPROTO;
        return s7p_setvar_req_encode(w, &r);
    }
    case S7P_FN_GET_MULTI_VARS:
    case S7P_FN_SET_MULTI_VARS: {
        bool set = p->h.function == S7P_FN_SET_MULTI_VARS;
        if (req) {
            static s7p_multi_req r;
            if ((rc = s7p_multi_req_decode(&c, set, &r))) return rc;
            set ? cap->setmulti_req++ : cap->getmulti_req++;
            for (uint32_t k = 0; k < r.nitems; k++)
                if (r.items[k].area == S7P_ID_DB_ACCESS_AREA_BASE + 5 &&
                    r.items[k].sub_area == S7P_ID_DB_VALUE_ACTUAL && r.items[k].nlids == 1 && r.items[k].lids[0] == 113)
                    cap->saw_db5_lid113 = true;
            return s7p_multi_req_encode(w, &r);
        }
        static s7p_multi_res r;
        if ((rc = s7p_multi_res_decode(&c, !set, &r))) return rc;
        set ? cap->setmulti_res++ : cap->getmulti_res++;
        for (uint32_t k = 0; k < r.nvalues; k++)
            if (r.values[k].type == S7P_T_DINT && r.values[k].i == 498) cap->saw_dint_498 = true;
        return s7p_multi_res_encode(w, &r);
    }
    default: return PLCIO_EUNSUPPORTED;
    }
}

static void on_segment(const pcap_segment *s, void *ctx)
{
    capture *cap = ctx;
    /* TPKT + COTP DT carrying S7CommPlus (0x72); the classic S7 connection and
     * COTP CR/CC of the same capture are not ours */
    if (s->len < 8 || s->data[0] != 3 || s->data[5] != 0xF0 || s->data[7] != S7P_PROTOCOL_ID) return;
    size_t tpkt = (size_t)(s->data[2] << 8 | s->data[3]);
    assert_int_equal(tpkt, s->len);
    const uint8_t *frame = s->data + 7;
    size_t flen = s->len - 7;
    cap->pdus++;

    s7p_frame f;
    size_t need = 0;
    int rc = s7p_frame_decode(frame, flen, &f, &need);
    if (rc) return fail_pdu(cap, s->frame, "frame", rc);
    assert_true(f.last);
    assert_int_equal(f.used, flen);
    assert_int_equal(f.version, S7P_V3);
    const uint8_t *digest, *pdu;
    size_t dlen, plen;
    if ((rc = s7p_digest_split(f.data, f.len, &digest, &dlen, &pdu, &plen)))
        return fail_pdu(cap, s->frame, "digest", rc);
    assert_int_equal(dlen, 32);

    s7p_pdu p;
    if ((rc = s7p_pdu_decode(pdu, plen, &p))) return fail_pdu(cap, s->frame, "header", rc);
    static uint8_t body[4096];
    plcio_wcursor w = plcio_wcursor_make(body, sizeof body);
    plcio_wcursor_u8(&w, (uint8_t)dlen);
    plcio_wcursor_write(&w, digest, dlen);
    if ((rc = reencode_body(cap, &p, &w))) return fail_pdu(cap, s->frame, s7p_function_name(p.h.function), rc);
    plcio_wcursor o = plcio_wcursor_make(out, sizeof out);
    if ((rc = s7p_frame_encode(&o, f.version, body, plcio_wcursor_used(&w))))
        return fail_pdu(cap, s->frame, "frame", rc);
    if (plcio_wcursor_used(&o) != flen || memcmp(out, frame, flen) != 0)
        return fail_pdu(cap, s->frame, "re-encoded bytes differ", PLCIO_EPROTO);
}

static void test_real_capture(void **state)
{
    (void)state;
    size_t len = 0;
    static const char capture_file[] = "s7commplus/real-s7-1500-v3-session.pcap";
    char *file = plcio_test_read_file(plcio_test_fixture_path(capture_file), &len);
    const char *shared = getenv("PLCIO_SHARED_FIXTURES"); /* ../shared/fixtures: the capture is not committed */
    if (!file && shared) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", shared, capture_file);
        file = plcio_test_read_file(path, &len);
    }
    if (!file) fail_msg("%s: not in tests/fixtures nor in $PLCIO_SHARED_FIXTURES (../shared/fixtures)", capture_file);
    capture cap;
    memset(&cap, 0, sizeof cap);
    assert_true(pcap_read_tcp((const uint8_t *)file, len, on_segment, &cap) > 0);
    free(file);
    assert_int_equal(cap.failures, 0);
    assert_int_equal(cap.pdus, 121); /* the README's count: every PDU went through */
    assert_int_equal(cap.notifications, 79);
    assert_int_equal(cap.setvar, 26);
    assert_int_equal(cap.getmulti_req, 6);
    assert_int_equal(cap.getmulti_res, 6);
    assert_int_equal(cap.setmulti_req, 2);
    assert_int_equal(cap.setmulti_res, 2);
    assert_true(cap.saw_real_5);
    assert_true(cap.saw_dint_498);
    assert_true(cap.saw_db5_lid113);
    assert_true(cap.saw_int_206);
}

/* ---- VLQ -------------------------------------------------------------------- */

static void vlq_u(uint64_t v, const char *hex, bool wide)
{
    uint8_t want[16];
    size_t n = plcio_test_hex(hex, want, sizeof want);
    plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
    if (wide)
        s7p_put_vlq64(&w, v);
    else
        s7p_put_vlq32(&w, (uint32_t)v);
    assert_int_equal(plcio_wcursor_used(&w), n);
    assert_memory_equal(out, want, n);
    plcio_rcursor c = plcio_rcursor_make(want, n);
    uint64_t back = 0;
    if (wide) {
        assert_int_equal(s7p_get_vlq64(&c, &back), PLCIO_OK);
    } else {
        uint32_t b32 = 0;
        assert_int_equal(s7p_get_vlq32(&c, &b32), PLCIO_OK);
        back = b32;
    }
    assert_int_equal(back, v);
    assert_int_equal(plcio_rcursor_left(&c), 0);
}

static void vlq_s(int64_t v, const char *hex, bool wide)
{
    uint8_t want[16];
    size_t n = plcio_test_hex(hex, want, sizeof want);
    plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
    if (wide)
        s7p_put_svlq64(&w, v);
    else
        s7p_put_svlq32(&w, (int32_t)v);
    assert_int_equal(plcio_wcursor_used(&w), n);
    assert_memory_equal(out, want, n);
    plcio_rcursor c = plcio_rcursor_make(want, n);
    int64_t back = 0;
    if (wide) {
        assert_int_equal(s7p_get_svlq64(&c, &back), PLCIO_OK);
    } else {
        int32_t b32 = 0;
        assert_int_equal(s7p_get_svlq32(&c, &b32), PLCIO_OK);
        back = b32;
    }
    assert_true(back == v);
}

static void test_vlq(void **state)
{
    (void)state;
    /* from the capture: 8ec148 = 237768 (notification sequence), 84eb27 (integrity id) */
    vlq_u(237768, "8ec148", false);
    vlq_u(79271, "84eb27", false);
    vlq_u(0x8A0E0005, "88d0b88005", false); /* DB5's access area in the capture */
    vlq_u(0, "00", false);
    vlq_u(127, "7f", false);
    vlq_u(128, "8100", false);
    vlq_u(UINT32_MAX, "8fffffff7f", false);
    vlq_u((1ULL << 56) - 1, "ffffffffffffff7f", true);
    vlq_u(1ULL << 56,
          "80c0808080808080"
          "00",
          true);
    vlq_u(UINT64_MAX, "ffffffffffffffffff", true);
    vlq_s(498, "8372", false); /* DInt values of the capture */
    vlq_s(7940, "be04", false);
    vlq_s(0, "00", false);
    vlq_s(63, "3f", false);
    vlq_s(64, "8040", false);
    vlq_s(-1, "7f", false);
    vlq_s(-64, "40", false);
    vlq_s(-65, "ff3f", false);
    vlq_s(INT32_MIN, "f880808000", false);
    vlq_s(INT32_MAX, "87ffffff7f", false);
    vlq_s(INT64_MIN, "c08080808080808000", true);
    vlq_s(INT64_MAX, "bfffffffffffffffff", true);
    /* a sweep: every width round-trips, both forms */
    for (int bit = 0; bit < 64; bit++) {
        uint64_t u = 1ULL << bit;
        uint64_t cases[3] = {u - 1, u, u + 1};
        for (int k = 0; k < 3; k++) {
            /* negated through unsigned arithmetic: -INT64_MIN would overflow */
            int64_t neg = (int64_t)(UINT64_C(0) - cases[k]);
            plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
            s7p_put_vlq64(&w, cases[k]);
            s7p_put_svlq64(&w, (int64_t)cases[k]);
            s7p_put_svlq64(&w, neg);
            plcio_rcursor c = plcio_rcursor_make(out, plcio_wcursor_used(&w));
            uint64_t a = 0;
            int64_t b = 0, d = 0;
            assert_int_equal(s7p_get_vlq64(&c, &a), PLCIO_OK);
            assert_int_equal(s7p_get_svlq64(&c, &b), PLCIO_OK);
            assert_int_equal(s7p_get_svlq64(&c, &d), PLCIO_OK);
            assert_true(a == cases[k] && b == (int64_t)cases[k] && d == neg);
        }
    }
}

static void test_vlq_bad(void **state)
{
    (void)state;
    uint8_t b[16];
    uint32_t v32;
    uint64_t v64;
    int32_t s32;
    /* too long for 32 bits: six bytes */
    size_t n = plcio_test_hex("818080808000", b, sizeof b);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq32(&c, &v32), PLCIO_EPROTO);
    /* five bytes, but more than 32 bits */
    n = plcio_test_hex("9f80808000", b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq32(&c, &v32), PLCIO_EPROTO);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_svlq32(&c, &s32), PLCIO_EPROTO);
    /* truncated: continuation bit on the last byte */
    n = plcio_test_hex("8181", b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq32(&c, &v32), PLCIO_EPROTO);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq64(&c, &v64), PLCIO_EPROTO);
    c = plcio_rcursor_make(b, 0);
    assert_int_equal(s7p_get_vlq64(&c, &v64), PLCIO_EPROTO);
    /* longer than the shortest form: one value has one encoding */
    n = plcio_test_hex("8000", b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq32(&c, &v32), PLCIO_EPROTO);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_vlq64(&c, &v64), PLCIO_EPROTO);
    n = plcio_test_hex("ff7f", b, sizeof b); /* -1 in two bytes */
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_get_svlq32(&c, &s32), PLCIO_EPROTO);
}

/* ---- PValues ---------------------------------------------------------------- */

static void value_roundtrip(const char *hex, uint8_t type, uint64_t u)
{
    uint8_t b[256];
    size_t n = plcio_test_hex(hex, b, sizeof b);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    s7p_value v;
    assert_int_equal(s7p_value_decode(&c, &v), PLCIO_OK);
    assert_int_equal(plcio_rcursor_left(&c), 0);
    assert_int_equal(v.type, type);
    if (!(v.flags & (S7P_F_ARRAY | S7P_F_SPARSE)) && type != S7P_T_STRUCT && type != S7P_T_BLOB &&
        type != S7P_T_WSTRING)
        assert_true(v.u == u);
    plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(s7p_value_encode(&w, &v), PLCIO_OK);
    assert_int_equal(plcio_wcursor_used(&w), n);
    assert_memory_equal(out, b, n);
    /* every strict prefix is an error, never a crash */
    for (size_t k = 0; k < n; k++) {
        c = plcio_rcursor_make(b, k);
        assert_int_not_equal(s7p_value_decode(&c, &v), PLCIO_OK);
    }
}

static void test_values(void **state)
{
    (void)state;
    value_roundtrip("0001"
                    "01",
                    S7P_T_BOOL, 1);
    value_roundtrip("0002"
                    "ff",
                    S7P_T_USINT, 255);
    value_roundtrip("0003"
                    "1234",
                    S7P_T_UINT, 0x1234);
    value_roundtrip("0004"
                    "8fffffff7f",
                    S7P_T_UDINT, UINT32_MAX);
    value_roundtrip("0005"
                    "ffffffffffffffffff",
                    S7P_T_ULINT, UINT64_MAX);
    value_roundtrip("0006"
                    "80",
                    S7P_T_SINT, 0x80);
    value_roundtrip("0007"
                    "00ce",
                    S7P_T_INT, 206);
    value_roundtrip("0008"
                    "7f",
                    S7P_T_DINT, (uint64_t)-1);
    value_roundtrip("0009"
                    "8040",
                    S7P_T_LINT, 64);
    value_roundtrip("000a"
                    "5a",
                    S7P_T_BYTE, 0x5a);
    value_roundtrip("000b"
                    "beef",
                    S7P_T_WORD, 0xbeef);
    value_roundtrip("000c"
                    "deadbeef",
                    S7P_T_DWORD, 0xdeadbeef);
    value_roundtrip("000d"
                    "0102030405060708",
                    S7P_T_LWORD, 0x0102030405060708ULL);
    value_roundtrip("000e"
                    "41aa70aa",
                    S7P_T_REAL, 0x41aa70aa);
    value_roundtrip("000f"
                    "400921fb54442d18",
                    S7P_T_LREAL, 0x400921fb54442d18ULL);
    value_roundtrip("0010"
                    "0005d7f3c1a2b3c4",
                    S7P_T_TIMESTAMP, 0x0005d7f3c1a2b3c4ULL);
    value_roundtrip("0011"
                    "7f",
                    S7P_T_TIMESPAN, (uint64_t)-1);
    value_roundtrip("0012"
                    "00000000",
                    S7P_T_RID, 0);
    value_roundtrip("0013"
                    "8234",
                    S7P_T_AID, 0x134);
    value_roundtrip("0014"
                    "00"
                    "03"
                    "010203",
                    S7P_T_BLOB, 0);
    value_roundtrip("0015"
                    "05"
                    "68656c6c6f",
                    S7P_T_WSTRING, 0);
    /* struct 314 with two members, one a nested struct */
    value_roundtrip("0017"
                    "0000013a"
                    "8233"
                    "0004"
                    "01"
                    "8234"
                    "0017"
                    "00000001"
                    "01"
                    "0002"
                    "07"
                    "00"
                    "00",
                    S7P_T_STRUCT, 0);
    /* arrays: USInt[3], DInt[2], address array of UDInt, sparse array of Int */
    value_roundtrip("1002"
                    "03"
                    "010203",
                    S7P_T_USINT, 0);
    value_roundtrip("1008"
                    "02"
                    "8372"
                    "be04",
                    S7P_T_DINT, 0);
    value_roundtrip("2004"
                    "01"
                    "8f40",
                    S7P_T_UDINT, 0);
    value_roundtrip("4007"
                    "01"
                    "0005"
                    "02"
                    "fffe"
                    "00",
                    S7P_T_INT, 0);
    value_roundtrip("0000", S7P_T_NULL, 0);

    /* the element iterator gives the members */
    uint8_t b[64];
    size_t n = plcio_test_hex("1008"
                              "02"
                              "8372"
                              "be04",
                              b, sizeof b);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    s7p_value v, e;
    assert_int_equal(s7p_value_decode(&c, &v), PLCIO_OK);
    s7p_elems it;
    uint32_t key;
    s7p_elems_begin(&it, &v);
    assert_int_equal(s7p_elems_next(&it, &key, &e), 1);
    assert_true(e.i == 498);
    assert_int_equal(s7p_elems_next(&it, &key, &e), 1);
    assert_true(e.i == 7940);
    assert_int_equal(s7p_elems_next(&it, &key, &e), 0);
}

static void value_rejects(const char *hex, int want)
{
    uint8_t b[1024];
    size_t n = plcio_test_hex(hex, b, sizeof b);
    assert_true(n != (size_t)-1);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    s7p_value v;
    assert_int_equal(s7p_value_decode(&c, &v), want);
}

static void test_values_bad(void **state)
{
    (void)state;
    value_rejects("0016"
                  "00",
                  PLCIO_EUNSUPPORTED); /* Variant */
    value_rejects("0019"
                  "00",
                  PLCIO_EUNSUPPORTED); /* S7String */
    value_rejects("0042"
                  "00",
                  PLCIO_EUNSUPPORTED);                   /* unknown type */
    value_rejects("10008fffffff7f", PLCIO_EUNSUPPORTED); /* array of NULL: no bytes per element */
    value_rejects("8001"
                  "01",
                  PLCIO_EUNSUPPORTED); /* unknown flag */
    value_rejects("0014"
                  "00"
                  "8fffffff7f"
                  "00",
                  PLCIO_EPROTO); /* blob length lies */
    value_rejects("0015"
                  "10"
                  "414243",
                  PLCIO_EPROTO); /* string length lies */
    value_rejects("1002"
                  "8fffffff7f"
                  "00",
                  PLCIO_EPROTO); /* array count lies */
    value_rejects("0017"
                  "00000001"
                  "8233"
                  "0004"
                  "01",
                  PLCIO_EPROTO); /* struct without its end */
    /* structs nested deeper than any PLC sends */
    char deep[1200];
    size_t len = 0;
    for (int k = 0; k < 40; k++)
        len += (size_t)snprintf(deep + len, sizeof deep - len, "00170000000101");
    len += (size_t)snprintf(deep + len, sizeof deep - len, "000101");
    for (int k = 0; k < 40; k++)
        len += (size_t)snprintf(deep + len, sizeof deep - len, "00");
    value_rejects(deep, PLCIO_EPROTO);
}

/* ---- object trees, CreateObject ------------------------------------------------ */

static void test_create_object(void **state)
{
    (void)state;
    /* A CreateObject request of the shape clients send (NullServerSession with a
     * nested ClassSubscriptions object), built here field by field. */
    uint8_t obj[512];
    plcio_wcursor w = plcio_wcursor_make(obj, sizeof obj);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_ID_GET_NEW_RID_ON_SERVER;
    e.class_id = S7P_ID_CLASS_SERVER_SESSION;
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    e.tag = S7P_E_ATTRIBUTE;
    e.attribute_id = S7P_ID_OBJECT_VARIABLE_TYPE_NAME;
    e.value = s7p_value_wstring("plcio");
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = S7P_ID_GET_NEW_RID_ON_SERVER;
    e.class_id = S7P_ID_CLASS_SUBSCRIPTIONS;
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    e.tag = S7P_E_RELATION;
    e.relation_id = 7;
    e.relation_value = 0x12345678;
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    e.tag = S7P_E_END_OBJECT;
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    assert_int_equal(s7p_elem_encode(&w, &e), PLCIO_OK);
    size_t olen = plcio_wcursor_used(&w);

    s7p_create_req r;
    memset(&r, 0, sizeof r);
    r.request_id = S7P_ID_SERVER_SESSION_CONTAINER;
    r.value = s7p_value_udint(0);
    r.object = obj;
    r.object_len = olen;
    w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(s7p_create_req_encode(&w, &r), PLCIO_OK);
    size_t n = plcio_wcursor_used(&w);
    /* request id, UDInt 0, u32 0, A1 with the relation id as u32 and the class as VLQ */
    uint8_t want[32];
    size_t wn = plcio_test_hex("0000011d"
                               "000400"
                               "00000000"
                               "a1"
                               "000000d3"
                               "821f"
                               "00"
                               "00",
                               want, sizeof want);
    assert_memory_equal(out, want, wn);
    assert_memory_equal(out + n - 4, "\0\0\0\0", 4);

    plcio_rcursor c = plcio_rcursor_make(out, n);
    s7p_create_req back;
    assert_int_equal(s7p_create_req_decode(&c, &back), PLCIO_OK);
    assert_int_equal(back.object_len, olen);
    assert_false(back.tail.has_iid);
    uint8_t again[1024];
    w = plcio_wcursor_make(again, sizeof again);
    assert_int_equal(s7p_create_req_encode(&w, &back), PLCIO_OK);
    assert_int_equal(plcio_wcursor_used(&w), n);
    assert_memory_equal(again, out, n);

    /* an object missing its end, and one with an unknown element */
    c = plcio_rcursor_make(obj, olen - 1);
    const uint8_t *span;
    size_t slen;
    assert_int_equal(s7p_object_span(&c, &span, &slen), PLCIO_EPROTO);
    uint8_t bad[] = {0xa1, 0, 0, 0, 1, 1, 0, 0, 0xee, 0xa2};
    c = plcio_rcursor_make(bad, sizeof bad);
    assert_int_equal(s7p_object_span(&c, &span, &slen), PLCIO_EUNSUPPORTED);
    uint8_t stray[] = {0xa2};
    c = plcio_rcursor_make(stray, sizeof stray);
    assert_int_equal(s7p_object_span(&c, &span, &slen), PLCIO_EPROTO);
}

/* ---- frames ----------------------------------------------------------------------- */

static void test_frames(void **state)
{
    (void)state;
    uint8_t b[64];
    s7p_frame f;
    size_t need = 0;
    /* one fragment, trailer */
    size_t n = plcio_test_hex("72010003"
                              "aabbcc"
                              "72010000",
                              b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_OK);
    assert_true(f.last);
    assert_int_equal(f.len, 3);
    assert_int_equal(f.used, n);
    /* incomplete at every length */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(s7p_frame_decode(b, k, &f, &need), PLCIO_EAGAIN);
    /* two fragments: the first is not last */
    n = plcio_test_hex("72020002"
                       "aabb"
                       "72020001"
                       "cc"
                       "72020000",
                       b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_OK);
    assert_false(f.last);
    assert_int_equal(f.used, 6);
    assert_int_equal(s7p_frame_decode(b + 6, n - 6, &f, &need), PLCIO_OK);
    assert_true(f.last);
    /* not S7CommPlus; a trailer where data was expected; garbage after data; version changes */
    n = plcio_test_hex("32010003aabbcc72010000", b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_EPROTO);
    n = plcio_test_hex("72010000", b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_EPROTO);
    n = plcio_test_hex("72010001aa00000000", b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_EPROTO);
    n = plcio_test_hex("72010001aa72020000", b, sizeof b);
    assert_int_equal(s7p_frame_decode(b, n, &f, &need), PLCIO_EPROTO);
    /* a lying digest length */
    const uint8_t *d, *r;
    size_t dl, rl;
    uint8_t dig[] = {0x20, 1, 2, 3};
    assert_int_equal(s7p_digest_split(dig, sizeof dig, &d, &dl, &r, &rl), PLCIO_EPROTO);
    /* encoder limits */
    plcio_wcursor w = plcio_wcursor_make(out, 5);
    assert_int_equal(s7p_frame_encode(&w, 1, b, 3), PLCIO_ENOSPC);
    w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(s7p_frame_encode(&w, 1, b, 0), PLCIO_ERANGE);
}

static void test_bodies_bad(void **state)
{
    (void)state;
    uint8_t b[128];
    s7p_multi_req r;
    s7p_multi_res a;
    /* field count lies */
    size_t n = plcio_test_hex("00000000"
                              "01"
                              "09"
                              "00"
                              "88d0b88005"
                              "02"
                              "9376"
                              "71"
                              "00"
                              "00000000",
                              b, sizeof b);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_multi_req_decode(&c, true, &r), PLCIO_EPROTO);
    /* the same, right: 5 fields */
    b[5] = 0x05;
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_multi_req_decode(&c, true, &r), PLCIO_OK);
    /* bytes nobody accounts for before the fill */
    n = plcio_test_hex("00"
                       "00"
                       "8181"
                       "00000000",
                       b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_multi_res_decode(&c, false, &a), PLCIO_EPROTO);
    /* the fill missing: python-snap7's emulator ends with the integrity id */
    n = plcio_test_hex("000000", b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_multi_res_decode(&c, false, &a), PLCIO_OK);
    assert_true(a.tail.no_fill && a.tail.has_iid && a.tail.iid == 0);
    /* but not two values where the fill should be */
    n = plcio_test_hex("00000101", b, sizeof b);
    c = plcio_rcursor_make(b, n);
    assert_int_equal(s7p_multi_res_decode(&c, false, &a), PLCIO_EPROTO);
    /* a header too short; an unknown opcode */
    s7p_pdu p;
    assert_int_equal(s7p_pdu_decode(b, 9, &p), PLCIO_EPROTO);
    n = plcio_test_hex("3100000542000001000000010034", b, sizeof b);
    assert_int_equal(s7p_pdu_decode(b, n - 1, &p), PLCIO_EPROTO);
    assert_int_equal(s7p_pdu_decode(b, n, &p), PLCIO_OK);
    assert_int_equal(p.h.session, 0x100);
    b[0] = 0x44;
    assert_int_equal(s7p_pdu_decode(b, n, &p), PLCIO_EUNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_capture), cmocka_unit_test(test_vlq),        cmocka_unit_test(test_vlq_bad),
        cmocka_unit_test(test_values),       cmocka_unit_test(test_values_bad), cmocka_unit_test(test_create_object),
        cmocka_unit_test(test_frames),       cmocka_unit_test(test_bodies_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
