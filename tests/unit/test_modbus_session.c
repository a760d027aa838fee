/* Modbus client session (no I/O): framing, several requests in flight,
 * answers out of order and in fragments, stale and foreign answers dropped,
 * exceptions, timeouts on a manual clock, CRC errors and silence on RTU,
 * reset after a lost connection. */
#include <string.h>

#include "modbus/mb_session.h"
#include "plcio_test.h"

typedef struct outcome {
    int n;
    uint32_t token[16];
    int result[16];
    uint16_t first_reg[16];
    uint8_t exception[16];
} outcome;

static void on_answer(void *ctx, uint32_t token, int result, const mb_pdu *resp, const uint8_t *raw, size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    outcome *o = ctx;
    assert_true(o->n < 16);
    o->token[o->n] = token;
    o->result[o->n] = result;
    o->first_reg[o->n] = (resp && resp->data_len >= 2) ? (uint16_t)(resp->data[0] << 8 | resp->data[1]) : 0;
    o->exception[o->n] = resp ? resp->exception : 0;
    o->n++;
}

static size_t mbap_answer(uint16_t tid, uint8_t unit, const char *pdu_hex, uint8_t *out)
{
    uint8_t pdu[260];
    size_t n = plcio_test_hex(pdu_hex, pdu, sizeof pdu), len;
    assert_int_equal(mb_mbap_encode(tid, unit, pdu, n, out, 300, &len), PLCIO_OK);
    return len;
}

static void test_mbap_window_and_order(void **state)
{
    (void)state;
    mb_session *s = mb_session_new(MB_FRAMING_MBAP, 2);
    mb_pdu q = {.fc = 3, .addr = 0, .qty = 1};
    uint32_t t[3];
    for (int i = 0; i < 3; i++) {
        q.addr = (uint16_t)i;
        assert_int_equal(mb_session_submit(s, 1, &q, 1000, &t[i]), PLCIO_OK);
    }
    size_t len;
    const uint8_t *tx = mb_session_next_tx(s, &len);
    assert_non_null(tx);
    assert_int_equal(len, 24); /* two frames: the window */
    uint16_t tid0 = (uint16_t)(tx[0] << 8 | tx[1]), tid1 = (uint16_t)(tx[12] << 8 | tx[13]);
    assert_int_equal(tx[7], 3);
    mb_session_sent(s, 0, NULL, NULL);
    assert_null(mb_session_next_tx(s, &len));
    outcome o = {0};
    uint8_t a[300], b[300];
    size_t na = mbap_answer(tid1, 1, "03 02 00 0B", a), nb = mbap_answer(tid0, 1, "03 02 00 0A", b);
    /* a stale answer (unknown tid), a foreign unit, a wrong function: dropped */
    uint8_t junk[300];
    size_t nj = mbap_answer((uint16_t)(tid0 - 1), 1, "03 02 00 99", junk);
    assert_int_equal(mb_session_feed(s, junk, nj, 1, on_answer, &o), PLCIO_OK);
    nj = mbap_answer(tid0, 2, "03 02 00 99", junk);
    assert_int_equal(mb_session_feed(s, junk, nj, 1, on_answer, &o), PLCIO_OK);
    nj = mbap_answer(tid0, 1, "04 02 00 99", junk);
    assert_int_equal(mb_session_feed(s, junk, nj, 1, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 0);
    /* the second answer first, one byte at a time */
    for (size_t i = 0; i < na; i++)
        assert_int_equal(mb_session_feed(s, a + i, 1, 2, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.token[0], t[1]);
    assert_int_equal(o.first_reg[0], 0x0B);
    /* the window has room again: the third request goes out */
    tx = mb_session_next_tx(s, &len);
    assert_int_equal(len, 12);
    uint16_t tid2 = (uint16_t)(tx[0] << 8 | tx[1]);
    mb_session_sent(s, 2, NULL, NULL);
    uint8_t c[300];
    size_t nc = mbap_answer(tid2, 1, "83 02", c);
    memcpy(b + nb, c, nc); /* two answers in one read */
    assert_int_equal(mb_session_feed(s, b, nb + nc, 3, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.token[1], t[0]);
    assert_int_equal(o.result[1], PLCIO_OK);
    assert_int_equal(o.token[2], t[2]);
    assert_int_equal(o.result[2], PLCIO_EMBEXC);
    assert_int_equal(o.exception[2], 2);
    assert_int_equal(mb_session_pending(s), 0);
    mb_session_free(s);
}

static void test_timeouts_limits_reset(void **state)
{
    (void)state;
    mb_session *s = mb_session_new(MB_FRAMING_MBAP, 8);
    mb_pdu q = {.fc = 3, .addr = 0, .qty = 126};
    uint32_t tok;
    assert_int_equal(mb_session_submit(s, 1, &q, 100, &tok), PLCIO_ERANGE);
    q.qty = 2;
    assert_int_equal(mb_session_submit(s, 1, &q, 100, &tok), PLCIO_OK);
    assert_int_equal(mb_session_submit(s, 1, &q, 200, &tok), PLCIO_OK);
    assert_int_equal(mb_session_next_deadline(s), 100);
    size_t len;
    mb_session_next_tx(s, &len);
    mb_session_sent(s, 0, NULL, NULL);
    outcome o = {0};
    mb_session_on_timeout(s, 99, on_answer, &o);
    assert_int_equal(o.n, 0);
    mb_session_on_timeout(s, 100, on_answer, &o);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.result[0], PLCIO_ETIMEDOUT);
    assert_int_equal(mb_session_next_deadline(s), 200);
    /* an unframeable stream: the caller must close and reset */
    static const uint8_t bad[] = {0, 1, 0, 0, 0, 0, 1};
    assert_int_equal(mb_session_feed(s, bad, sizeof bad, 150, on_answer, &o), PLCIO_EPROTO);
    mb_session_reset(s, PLCIO_ECLOSED, on_answer, &o);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.result[1], PLCIO_ECLOSED);
    assert_int_equal(mb_session_next_deadline(s), 0);
    for (int i = 0; i < MB_SESSION_QUEUE; i++)
        assert_int_equal(mb_session_submit(s, 1, &q, 0, &tok), PLCIO_OK);
    assert_int_equal(mb_session_submit(s, 1, &q, 0, &tok), PLCIO_ELIMIT);
    mb_session_free(s);
}

static void test_rtu(void **state)
{
    (void)state;
    mb_session *s = mb_session_new(MB_FRAMING_RTU, 8);
    mb_session_set_silence(s, 2000);
    mb_pdu q = {.fc = 3, .addr = 0x6B, .qty = 3};
    uint32_t t1, t2;
    assert_int_equal(mb_session_submit(s, 0x11, &q, 10000, &t1), PLCIO_OK);
    uint8_t echo[2] = {0xA5, 0x37};
    mb_pdu d = {.fc = 8, .sub = 0, .data = echo, .data_len = 2};
    assert_int_equal(mb_session_submit(s, 0x11, &d, 10000, &t2), PLCIO_OK);
    size_t len;
    const uint8_t *tx = mb_session_next_tx(s, &len);
    assert_int_equal(len, 8); /* one at a time on a bus */
    uint8_t want[8];
    assert_int_equal(plcio_test_hex("11 03 00 6B 00 03 76 87", want, 8), 8);
    assert_memory_equal(tx, want, 8);
    mb_session_sent(s, 0, NULL, NULL);
    outcome o = {0};
    uint8_t resp[16];
    size_t n = plcio_test_hex("11 03 06 AE 41 56 52 43 40 49 AD", resp, sizeof resp);
    resp[4] ^= 1; /* CRC error: reported at once */
    assert_int_equal(mb_session_feed(s, resp, n, 10, on_answer, &o), PLCIO_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.result[0], PLCIO_ECRC);
    /* the diagnostics echo has no length rule: it ends at silence */
    tx = mb_session_next_tx(s, &len);
    assert_int_equal(len, 8);
    mb_session_sent(s, 20, NULL, NULL);
    assert_int_equal(mb_session_feed(s, tx, len, 30, on_answer, &o), PLCIO_OK); /* the echo is the request */
    assert_int_equal(o.n, 1);
    assert_int_equal(mb_session_next_deadline(s), 30 + 2000);
    mb_session_on_timeout(s, 2030, on_answer, &o);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.token[1], t2);
    assert_int_equal(o.result[1], PLCIO_OK);
    assert_int_equal(o.first_reg[1], 0xA537);
    mb_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mbap_window_and_order),
        cmocka_unit_test(test_timeouts_limits_reset),
        cmocka_unit_test(test_rtu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
