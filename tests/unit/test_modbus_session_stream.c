/* The Modbus session on a TCP stream after damaged frames (found with the
 * fault proxy, tests/fault): a frame whose MBAP header fits but whose PDU
 * does not, and a request that times out with part of a frame received, both
 * tell the caller the stream has lost its framing (PLCIO_EPROTO: close the
 * connection); the request itself is reported once. UDP keeps going. */
#include <string.h>

#include "modbus/mb_session.h"
#include "plcio_test.h"

typedef struct outcome {
    int n, result;
} outcome;

static void on_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)token, (void)resp, (void)raw, (void)raw_len;
    outcome *o = ctx;
    o->n++;
    o->result = result;
}

/* One FC3 request for 2 registers, sent; its MBAP answer (byte count 4) in a[]. */
static mb_session *one_request(uint8_t *a, size_t *na)
{
    mb_session *s = mb_session_new(MB_FRAMING_MBAP, 4);
    mb_pdu q = {.fc = 3, .addr = 10, .qty = 2};
    uint32_t t;
    assert_int_equal(mb_session_submit(s, 1, &q, 1000, &t), PLCIO_OK);
    size_t len;
    const uint8_t *tx = mb_session_next_tx(s, &len);
    assert_non_null(tx);
    uint16_t tid = (uint16_t)(tx[0] << 8 | tx[1]);
    mb_session_sent(s, 0, NULL, NULL);
    const uint8_t pdu[] = {3, 4, 0, 1, 0, 2};
    assert_int_equal(mb_mbap_encode(tid, 1, pdu, sizeof pdu, a, 300, na), PLCIO_OK);
    return s;
}

static void test_length_one_short(void **state)
{
    (void)state;
    uint8_t a[300];
    size_t na;
    mb_session *s = one_request(a, &na);
    a[5]--; /* MBAP length one byte short: the byte count no longer fits */
    outcome o = {0};
    assert_int_equal(mb_session_feed(s, a, na, 1, on_answer, &o), PLCIO_EPROTO);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.result, PLCIO_EPROTO);
    mb_session_free(s);
}

static void test_length_too_long_times_out(void **state)
{
    (void)state;
    uint8_t a[300];
    size_t na;
    mb_session *s = one_request(a, &na);
    a[5] = (uint8_t)(a[5] + 40); /* the frame claims 40 more bytes than come */
    outcome o = {0};
    assert_int_equal(mb_session_feed(s, a, na, 1, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 0);
    assert_int_equal(mb_session_on_timeout(s, 999, on_answer, &o), PLCIO_OK); /* not yet due */
    assert_int_equal(mb_session_on_timeout(s, 1000, on_answer, &o), PLCIO_EPROTO);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.result, PLCIO_ETIMEDOUT);
    mb_session_free(s);
}

static void test_plain_timeout_keeps_stream(void **state)
{
    (void)state;
    uint8_t a[300];
    size_t na;
    mb_session *s = one_request(a, &na);
    outcome o = {0};
    assert_int_equal(mb_session_on_timeout(s, 1000, on_answer, &o), PLCIO_OK); /* nothing half-received */
    assert_int_equal(o.result, PLCIO_ETIMEDOUT);
    /* the late answer is dropped, the stream is fine */
    assert_int_equal(mb_session_feed(s, a, na, 1001, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 1);
    mb_session_free(s);
}

static void test_datagram_goes_on(void **state)
{
    (void)state;
    uint8_t a[300];
    size_t na;
    mb_session *s = one_request(a, &na);
    mb_session_set_datagram(s, true);
    a[5]--;
    outcome o = {0};
    assert_int_equal(mb_session_feed(s, a, na, 1, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.result, PLCIO_EPROTO);
    mb_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_one_short),
        cmocka_unit_test(test_length_too_long_times_out),
        cmocka_unit_test(test_plain_timeout_keeps_stream),
        cmocka_unit_test(test_datagram_goes_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
