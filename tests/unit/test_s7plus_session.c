/* S7CommPlus session (sans-I/O) against a scripted PLC: the frames it sends at
 * each step (COTP CR to SIMATIC-ROOT-HMI, InitSSL, CreateObject on session 288,
 * the session-version echo), a whole exchange, and bad peers: silence mid-way
 * (timeout), TLS garbage, lying or foreign frames, a refused session. */
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "plcio_test.h"
#include "s7plus/s7p_session.h"

#define NS PLCIO_NS_PER_MS

static s7p_session *new_session(SSL_CTX *ctx)
{
    s7p_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ssl_ctx = (s7p_ssl_ctx *)ctx;
    cfg.timeout_ms = 1000;
    s7p_session *s = NULL;
    plcio_error err;
    assert_int_equal(s7p_session_new(&cfg, &s, &err), PLCIO_OK);
    return s;
}

/* Everything the session wants to send, taken. */
static size_t take_tx(s7p_session *s, uint8_t *out, size_t cap)
{
    size_t n;
    const uint8_t *p = s7p_session_tx(s, &n);
    assert_true(n <= cap);
    memcpy(out, p, n);
    s7p_session_tx_done(s, n);
    return n;
}

/* TPKT + COTP DT around an S7CommPlus frame of `version` holding pdu. */
static size_t dt_frame(uint8_t *out, uint8_t version, const uint8_t *pdu, size_t len)
{
    size_t n = 7 + 4 + len + 4;
    out[0] = 3;
    out[1] = 0;
    plcio_put_u16be(out + 2, (uint16_t)n);
    out[4] = 2;
    out[5] = 0xF0;
    out[6] = 0x80;
    out[7] = 0x72;
    out[8] = version;
    plcio_put_u16be(out + 9, (uint16_t)len);
    memcpy(out + 11, pdu, len);
    memcpy(out + 11 + len, "\x72\x00\x00\x00", 4);
    out[11 + len + 1] = version;
    return n;
}

static void feed_hex_pdu(s7p_session *s, uint8_t version, const char *hex, int want)
{
    uint8_t pdu[512], f[600];
    size_t n = plcio_test_hex(hex, pdu, sizeof pdu);
    assert_true(n != (size_t)-1);
    size_t fn = dt_frame(f, version, pdu, n);
    assert_int_equal(s7p_session_feed(s, f, fn, 0), want);
}

static const uint8_t cc[] = {3, 0, 0, 11, 6, 0xD0, 0, 1, 0, 1, 0};

/* CC, InitSSL answer; checks the CR and the InitSSL request */
static void to_create(s7p_session *s)
{
    uint8_t tx[2048];
    assert_int_equal(s7p_session_start(s, 0), PLCIO_OK);
    size_t n = take_tx(s, tx, sizeof tx);
    assert_int_equal(tx[5], 0xE0); /* CR */
    assert_non_null(memmem(tx, n, "\xC2\x10SIMATIC-ROOT-HMI", 18));
    assert_non_null(memmem(tx, n, "\xC1\x02\x06\x00", 4));
    assert_int_equal(s7p_session_feed(s, cc, sizeof cc, 0), PLCIO_OK);
    n = take_tx(s, tx, sizeof tx);
    /* DT, V1 frame: request 31 0000 05B3 0000 seq 00000000 30, fill, trailer */
    uint8_t want[64];
    size_t wn = plcio_test_hex("0300002102f080 7201 0012 31 0000 05b3 0000 0001 00000000 30 00000000 72010000", want,
                               sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(tx, want, wn);
    assert_int_equal(s7p_session_state(s), S7PS_INIT_SSL);
}

#define CREATE_ANSWER                                                                                                  \
    "32 0000 04ca 0000 0002 00"                                                                                        \
    "00 01 07"             /* ok, one object id: session 7 */                                                          \
    "a1 00000001 00 00 00" /* object */                                                                                \
    "a3 8232 0004 02"      /* attribute 306 = UDInt 2 */                                                               \
    "a2 00000000"

static void test_exchange(void **state)
{
    (void)state;
    s7p_session *s = new_session(NULL);
    uint8_t tx[4096];
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    take_tx(s, tx, sizeof tx);
    /* CreateObject: V1 frame, session 288, function 04CA, request id 285 */
    assert_int_equal(tx[8], 1);
    assert_memory_equal(tx + 11, "\x31\x00\x00\x04\xca\x00\x00\x00\x02\x00\x00\x01\x20\x36\x00\x00\x01\x1d", 18);
    assert_int_equal(s7p_session_state(s), S7PS_CREATE);
    feed_hex_pdu(s, 1, CREATE_ANSWER, PLCIO_OK);
    assert_int_equal(s7p_session_id(s), 7);
    take_tx(s, tx, sizeof tx);
    /* the echo: SetMultiVariables on object 7, attribute 306, item 1 = UDInt 2 */
    assert_memory_equal(tx + 11, "\x31\x00\x00\x05\x42\x00\x00\x00\x03\x00\x00\x00\x07\x34", 14);
    assert_memory_equal(tx + 25, "\x00\x00\x00\x07\x01\x01\x82\x32\x01\x00\x04\x02\x00", 13);
    assert_int_equal(s7p_session_state(s), S7PS_SETUP);
    feed_hex_pdu(s, 1, "32 0000 0542 0000 0003 00 00 00 00000000", PLCIO_OK);
    assert_int_equal(s7p_session_state(s), S7PS_READY);
    assert_int_equal(s7p_session_deadline(s), 0);

    /* a request and its answer, split in single bytes */
    const uint8_t body[] = {0, 0, 0, 0, 0};
    assert_int_equal(s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, 0), PLCIO_OK);
    size_t n = take_tx(s, tx, sizeof tx);
    assert_true(n > 11);
    uint8_t pdu[64], f[128];
    size_t pn = plcio_test_hex("32 0000 054c 0000 0004 00 00 01 0002 2a 00 00 00000000", pdu, sizeof pdu);
    size_t fn = dt_frame(f, 1, pdu, pn);
    s7p_pdu a;
    for (size_t i = 0; i < fn; i++) {
        assert_int_equal(s7p_session_response(s, &a), 0);
        assert_int_equal(s7p_session_feed(s, f + i, 1, 0), PLCIO_OK);
    }
    assert_int_equal(s7p_session_response(s, &a), 1);
    assert_int_equal(a.h.function, S7P_FN_GET_MULTI_VARS);
    assert_int_equal(a.body_len, pn - 10);
    /* close: DeleteObject of the session */
    assert_int_equal(s7p_session_close(s, 0), PLCIO_OK);
    n = take_tx(s, tx, sizeof tx);
    assert_true(n > 16);
    assert_memory_equal(tx + 11, "\x31\x00\x00\x04\xd4", 5);
    feed_hex_pdu(s, 1, "32 0000 04d4 0000 0005 00 00 00000000", PLCIO_OK);
    assert_int_equal(s7p_session_state(s), S7PS_CLOSED);
    s7p_session_free(s);
}

/* CreateObject and session setup answered: READY (requests from sequence number 4 on). */
static void to_ready(s7p_session *s)
{
    uint8_t tx[4096];
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    take_tx(s, tx, sizeof tx);
    feed_hex_pdu(s, 1, CREATE_ANSWER, PLCIO_OK);
    take_tx(s, tx, sizeof tx);
    feed_hex_pdu(s, 1, "32 0000 0542 0000 0003 00 00 00 00000000", PLCIO_OK);
    assert_int_equal(s7p_session_state(s), S7PS_READY);
}

/* Several requests under way: answers matched by sequence number in any
 * order, taken one by one; the deadline is the oldest's; a full window and
 * an answer to no request refused. */
static void test_pipelined(void **state)
{
    (void)state;
    s7p_session *s = new_session(NULL); /* timeout 1000 ms */
    uint8_t tx[4096];
    to_ready(s);
    const uint8_t body[] = {0, 0, 0, 0, 0};
    for (int k = 0; k < 3; k++) {
        uint64_t now = (uint64_t)(k + 1) * PLCIO_NS_PER_MS;
        assert_int_equal(s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, now), PLCIO_OK);
        assert_int_equal(s7p_session_last_seq(s), 4 + k);
        assert_int_equal(s7p_session_pending(s), (unsigned)k + 1);
    }
    take_tx(s, tx, sizeof tx);
    assert_int_equal(s7p_session_state(s), S7PS_BUSY);
    uint64_t first = s7p_session_deadline(s);
    assert_true(first > 0);
    /* the answers to 6 and 4 in one feed */
    uint8_t pdu[64], f[256];
    size_t pn = plcio_test_hex("32 0000 054c 0000 0006 00 00 01 0002 2a 00 00 00000000", pdu, sizeof pdu);
    size_t fn = dt_frame(f, 1, pdu, pn);
    pn = plcio_test_hex("32 0000 054c 0000 0004 00 00 01 0002 2b 00 00 00000000", pdu, sizeof pdu);
    fn += dt_frame(f + fn, 1, pdu, pn);
    assert_int_equal(s7p_session_feed(s, f, fn, 0), PLCIO_OK);
    s7p_pdu a;
    assert_true(s7p_session_has_answer(s));
    assert_int_equal(s7p_session_response(s, &a), 1);
    assert_int_equal(a.h.seq, 6);
    assert_int_equal(s7p_session_response(s, &a), 0); /* the next waits for drain */
    assert_int_equal(s7p_session_drain(s, 0), PLCIO_OK);
    assert_int_equal(s7p_session_response(s, &a), 1);
    assert_int_equal(a.h.seq, 4);
    assert_int_equal(s7p_session_pending(s), 1);
    assert_int_equal(s7p_session_state(s), S7PS_BUSY);
    assert_true(s7p_session_deadline(s) > first); /* now request 5's */
    /* the window: 16 under way at most */
    for (int k = 1; k < S7P_SESSION_WINDOW; k++)
        assert_int_equal(s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, 0), PLCIO_OK);
    assert_int_equal(s7p_session_pending(s), S7P_SESSION_WINDOW);
    assert_int_equal(s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, 0), PLCIO_ESTATE);
    /* request 5 answered with another function: a protocol error */
    s7p_session *t = s;
    feed_hex_pdu(t, 1, "32 0000 0542 0000 0005 00 00 00 00000000", PLCIO_EPROTO);
    assert_int_equal(s7p_session_state(t), S7PS_FAILED);
    s7p_session_free(s);
    /* an answer with a sequence number of no request */
    s = new_session(NULL);
    to_ready(s);
    assert_int_equal(s7p_session_request(s, S7P_FN_GET_MULTI_VARS, body, sizeof body, true, 0), PLCIO_OK);
    feed_hex_pdu(s, 1, "32 0000 054c 0000 0009 00 00 01 0002 2a 00 00 00000000", PLCIO_EPROTO);
    assert_int_equal(s7p_session_state(s), S7PS_FAILED);
    assert_non_null(strstr(s7p_session_error(s)->text, "no request"));
    s7p_session_free(s);
}

static void test_fragments(void **state)
{
    (void)state;
    s7p_session *s = new_session(NULL);
    to_create(s);
    /* the InitSSL answer in two fragments, each in its own DT, the trailer after the second */
    uint8_t f[64];
    size_t n = plcio_test_hex("0300001002f000 7201 0005 3200 0005 b3"
                              "0300001802f080 7201 0009 0000 0001 00 00000000 72010000",
                              f, sizeof f);
    assert_int_equal(s7p_session_feed(s, f, n, 0), PLCIO_OK);
    assert_int_equal(s7p_session_state(s), S7PS_CREATE);
    s7p_session_free(s);
}

static void test_silent_peer(void **state)
{
    (void)state;
    s7p_session *s = new_session(NULL);
    to_create(s);
    /* the PLC says nothing after the COTP connection: the deadline ends it */
    uint64_t d = s7p_session_deadline(s);
    assert_true(d > 0);
    assert_int_equal(s7p_session_on_time(s, d - 1), PLCIO_OK);
    assert_int_equal(s7p_session_on_time(s, d), PLCIO_ETIMEDOUT);
    assert_int_equal(s7p_session_state(s), S7PS_FAILED);
    assert_non_null(strstr(s7p_session_error(s)->text, "in time"));
    /* and stays failed */
    assert_int_equal(s7p_session_feed(s, cc, sizeof cc, 0), PLCIO_ETIMEDOUT);
    s7p_session_free(s);

    /* half a frame, then silence: waits, then times out (no hang, no crash) */
    s = new_session(NULL);
    to_create(s);
    uint8_t half[] = {3, 0, 0, 40, 2, 0xF0, 0x80, 0x72, 0x01, 0x00};
    assert_int_equal(s7p_session_feed(s, half, sizeof half, 0), PLCIO_OK);
    assert_int_equal(s7p_session_on_time(s, s7p_session_deadline(s)), PLCIO_ETIMEDOUT);
    s7p_session_free(s);
}

static void test_bad_frames(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int want;
    } cases[] = {
        {"0400000702f080", PLCIO_EPROTO},                             /* not TPKT */
        {"0300000402", PLCIO_EPROTO},                                 /* TPKT length too short */
        {"0300000c02f080 3201 0001 00", PLCIO_EPROTO},                /* not S7CommPlus (classic S7) */
        {"0300000f02f080 7201 0000 72010000", PLCIO_EPROTO},          /* a trailer without data */
        {"0300001002f080 7201 0001 32 00000000", PLCIO_EPROTO},       /* garbage where the trailer belongs */
        {"0300001302f080 7201 0004 32000005 72010000", PLCIO_EPROTO}, /* an answer header cut short */
        {"0300000a02f080 7201 ffff", PLCIO_OK},                       /* a length that lies: waits for more */
        {"0300000702d000", PLCIO_EPROTO},                             /* an unexpected TPDU */
        {"0300000b06800000000000", PLCIO_ECLOSED},                    /* DR: the PLC hangs up */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        s7p_session *s = new_session(NULL);
        to_create(s);
        uint8_t f[64];
        size_t n = plcio_test_hex(cases[k].hex, f, sizeof f);
        assert_int_equal(s7p_session_feed(s, f, n, 0), cases[k].want);
        s7p_session_free(s);
    }
    /* the answer to another function */
    s7p_session *s = new_session(NULL);
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 04ca 0000 0001 00 00 00000000", PLCIO_EPROTO);
    assert_non_null(strstr(s7p_session_error(s)->text, "CreateObject for InitSSL"));
    s7p_session_free(s);
    /* the PLC refuses the COTP connection */
    s = new_session(NULL);
    assert_int_equal(s7p_session_start(s, 0), PLCIO_OK);
    uint8_t dr[] = {3, 0, 0, 11, 6, 0x80, 0, 1, 0, 1, 0};
    assert_int_equal(s7p_session_feed(s, dr, sizeof dr, 0), PLCIO_ECONNREFUSED);
    s7p_session_free(s);
    /* a session without ServerSessionVersion; a refused session setup */
    s = new_session(NULL);
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    feed_hex_pdu(s, 1, "32 0000 04ca 0000 0002 00 00 01 07 a1 00000001 00 00 00 a2 00000000", PLCIO_EUNSUPPORTED);
    s7p_session_free(s);
    s = new_session(NULL);
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    feed_hex_pdu(s, 1, CREATE_ANSWER, PLCIO_OK);
    feed_hex_pdu(s, 1, "32 0000 0542 0000 0003 00 8104 00 00000000", PLCIO_EPLC);
    s7p_session_free(s);
}

static void test_tls_garbage(void **state)
{
    (void)state;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    s7p_session *s = new_session(ctx);
    uint8_t tx[4096];
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    assert_int_equal(s7p_session_state(s), S7PS_TLS);
    size_t n = take_tx(s, tx, sizeof tx);
    assert_true(n > 7 + 5);
    assert_int_equal(tx[7], 0x16); /* a TLS handshake record (ClientHello) in the DT */
    /* the "PLC" answers with bytes that are no TLS */
    uint8_t junk[64] = {3, 0, 0, 64, 2, 0xF0, 0x80};
    for (size_t i = 7; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37);
    assert_int_equal(s7p_session_feed(s, junk, sizeof junk, 0), PLCIO_EACCESS);
    assert_non_null(strstr(s7p_session_error(s)->text, "TLS handshake"));
    s7p_session_free(s);
    /* a peer that stops in the middle of the handshake */
    s = new_session(ctx);
    to_create(s);
    feed_hex_pdu(s, 1, "32 0000 05b3 0000 0001 00 00 00000000", PLCIO_OK);
    take_tx(s, tx, sizeof tx);
    assert_int_equal(s7p_session_on_time(s, s7p_session_deadline(s)), PLCIO_ETIMEDOUT);
    s7p_session_free(s);
    SSL_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exchange),    cmocka_unit_test(test_pipelined),  cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_silent_peer), cmocka_unit_test(test_bad_frames), cmocka_unit_test(test_tls_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
