/* Client and server sessions over the fake transport on a manual clock
 * (tests/support/fake_link.h): connection and request timeouts fire at their
 * deadline and not a nanosecond before, frames in one-byte pieces, a drop in
 * the middle of an answer, garbage, answers out of order, a reset with
 * requests in flight; the servers' half-frame and idle timeouts. Nothing
 * sleeps or opens a socket, so each case runs the same on a loaded machine.
 * The same faults end to end over real sockets and the fault proxy:
 * tests/fault/. */
#include <string.h>

#include "fake_link.h"
#include "modbus/mb_server_stream.h"
#include "modbus/mb_session.h"
#include "plcio/modbus.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"
#include "s7/s7_server_stream.h"
#include "s7/s7_session.h"

#define T0 (1000 * PLCIO_NS_PER_S)
#define MS PLCIO_NS_PER_MS

/* ---- S7 ---- */

typedef struct s7_world {
    plcio_s7_server *srv;
    s7srv_stream st;
    s7_session *sess;
    fake_link link;
} s7_world;

static s7_world *s7_world_new(uint32_t frame_timeout_ms, uint32_t idle_timeout_ms)
{
    static s7_world w; /* 20 KiB of buffers: not on the stack */
    memset(&w, 0, sizeof w);
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.frame_timeout_ms = frame_timeout_ms;
    cfg.idle_timeout_ms = idle_timeout_ms;
    assert_int_equal(plcio_s7_server_new(&cfg, &w.srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(w.srv, PLCIO_S7_SERVER_AREA_DB, 1, 64, NULL), PLCIO_OK);
    size_t size = 0;
    uint8_t *db = plcio_s7_server_area_data(w.srv, PLCIO_S7_SERVER_AREA_DB, 1, &size);
    assert_non_null(db);
    for (size_t i = 0; i < size; i++)
        db[i] = (uint8_t)(0xA0 + i);
    s7_session_cfg sc;
    memset(&sc, 0, sizeof sc);
    sc.local_tsap[0] = 1, sc.local_tsap_len = 2;
    sc.remote_tsap[0] = 1, sc.remote_tsap[1] = 2, sc.remote_tsap_len = 2;
    sc.pdu_request = 480;
    sc.jobs_request = 4;
    sc.connect_timeout_ns = 300 * MS;
    sc.request_timeout_ns = 500 * MS;
    w.sess = s7_session_new(&sc);
    assert_non_null(w.sess);
    fake_link_init(&w.link, T0);
    s7srv_stream_init(&w.st, w.srv, 1, T0);
    w.link.end[0] = fake_end_s7_client(w.sess);
    w.link.end[1] = fake_end_s7_server(&w.st);
    s7_session_start(w.sess, T0);
    return &w;
}

static void s7_world_free(s7_world *w)
{
    s7srv_stream_clear(&w->st);
    s7_session_free(w->sess);
    plcio_s7_server_free(w->srv);
}

/* Queue a read of `len` bytes of DB1 at `start`; returns the slot. */
static int s7_read(s7_world *w, uint32_t start, uint16_t len)
{
    s7_out out;
    uint16_t ref;
    int slot = -1;
    assert_int_equal(s7_session_request_begin(w->sess, &out, &ref), PLCIO_OK);
    s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, len, 1, start, 0};
    assert_int_equal(s7_read_request_encode(&out, ref, &it, 1), PLCIO_OK);
    assert_int_equal(s7_session_request_commit(w->sess, &out, ref, w->link.now, &slot), PLCIO_OK);
    return slot;
}

/* The answer of a done read slot: its first data byte. */
static int s7_first_byte(s7_world *w, int slot, uint16_t len)
{
    assert_true(s7_session_slot_done(w->sess, slot));
    size_t n;
    const uint8_t *p = s7_session_slot_pdu(w->sess, slot, &n);
    s7_pdu pdu;
    assert_int_equal(s7_pdu_decode(p, n, &pdu), PLCIO_OK);
    s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, len, 1, 0, 0};
    s7_data_item d;
    assert_int_equal(s7_read_response_decode(&pdu, &it, 1, &d), PLCIO_OK);
    assert_int_equal(d.len, len);
    int first = d.data[0];
    s7_session_slot_release(w->sess, slot);
    return first;
}

/* Connect and three pipelined reads with every byte in its own piece. */
static void test_s7_bytewise_pipeline(void **state)
{
    (void)state;
    s7_world *w = s7_world_new(5000, 60000);
    w->link.chunk = 1;
    fake_link_run(&w->link, T0 + MS);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_READY);
    assert_int_equal(s7_session_pdu_size(w->sess), 480);
    int a = s7_read(w, 0, 4), b = s7_read(w, 10, 2), c = s7_read(w, 63, 1);
    assert_int_equal(s7_session_in_flight(w->sess), 3);
    fake_link_run(&w->link, w->link.now + MS);
    assert_int_equal(s7_first_byte(w, a, 4), 0xA0);
    assert_int_equal(s7_first_byte(w, b, 2), 0xA0 + 10);
    assert_int_equal(s7_first_byte(w, c, 1), 0xA0 + 63);
    assert_false(w->link.down);
    s7_world_free(w);
}

/* A partner that never answers the CR: the connection fails at the connect
 * timeout exactly; one that goes silent after setup: the read fails at the
 * request timeout exactly. */
static void test_s7_silent_partner_timeouts(void **state)
{
    (void)state;
    s7_world *w = s7_world_new(5000, 60000);
    w->link.silent[1] = true;
    fake_link_run(&w->link, T0 + 300 * MS - 1);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_COTP);
    fake_link_run(&w->link, T0 + 300 * MS);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_FAILED);
    assert_int_equal(s7_session_error(w->sess), PLCIO_ETIMEDOUT);
    assert_int_equal(w->link.end[0].error, PLCIO_ETIMEDOUT);
    s7_world_free(w);

    w = s7_world_new(5000, 60000);
    fake_link_run(&w->link, T0 + MS);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_READY);
    w->link.silent[1] = true;
    uint64_t sent = w->link.now;
    int slot = s7_read(w, 0, 4);
    fake_link_run(&w->link, sent + 500 * MS - 1);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_READY);
    assert_false(s7_session_slot_done(w->sess, slot));
    fake_link_run(&w->link, sent + 500 * MS);
    assert_int_equal(s7_session_error(w->sess), PLCIO_ETIMEDOUT);
    s7_world_free(w);
}

/* Half an answer, then the partner closes: the job is not done, the session
 * fails with the close. Garbage instead of an answer: a protocol error. */
static void test_s7_drop_and_garbage(void **state)
{
    (void)state;
    s7_world *w = s7_world_new(5000, 60000);
    fake_link_run(&w->link, T0 + MS);
    w->link.cut_after[1] = w->link.sent[1] + 10; /* 10 bytes of the read's answer */
    int slot = s7_read(w, 0, 4);
    fake_link_run(&w->link, w->link.now + MS);
    assert_true(w->link.down);
    assert_false(s7_session_slot_done(w->sess, slot));
    assert_int_equal(s7_session_error(w->sess), PLCIO_ECLOSED);
    s7_world_free(w);

    w = s7_world_new(5000, 60000);
    fake_link_run(&w->link, T0 + MS);
    w->link.silent[1] = true;
    (void)s7_read(w, 0, 4);
    static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
    fake_link_inject(&w->link, 1, junk, sizeof junk - 1);
    fake_link_run(&w->link, w->link.now + MS);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_FAILED);
    assert_int_not_equal(s7_session_error(w->sess), PLCIO_ETIMEDOUT);
    assert_int_equal(w->link.end[0].error, s7_session_error(w->sess));
    assert_true(w->link.now < T0 + 10 * MS); /* failed at once, not by a timeout */
    s7_world_free(w);
}

/* The server closes a connection stuck in half a frame at frame_timeout_ms,
 * and a silent one at idle_timeout_ms, each exactly then. */
static void test_s7_server_timeouts(void **state)
{
    (void)state;
    s7_world *w = s7_world_new(200, 1000);
    fake_link_run(&w->link, T0 + MS);
    assert_int_equal(s7_session_state_get(w->sess), PLCIO_S7_SESSION_READY);
    uint64_t t = w->link.now;
    static const uint8_t half[] = {3, 0, 0, 31, 2, 0xF0};
    w->link.silent[0] = true;
    fake_link_inject(&w->link, 0, half, sizeof half);
    fake_link_run(&w->link, t + 200 * MS);
    assert_false(w->link.down);
    fake_link_run(&w->link, t + 200 * MS + 1);
    assert_true(w->link.down);
    assert_int_equal(w->link.end[1].error, PLCIO_ETIMEDOUT);
    s7_world_free(w);

    w = s7_world_new(200, 1000);
    fake_link_run(&w->link, T0 + MS);
    t = w->link.now; /* the setup arrived at T0: idle counts from there */
    fake_link_run(&w->link, T0 + 1000 * MS);
    assert_false(w->link.down);
    fake_link_run(&w->link, T0 + 1000 * MS + 1);
    assert_true(w->link.down);
    assert_int_equal(w->link.end[1].error, PLCIO_ETIMEDOUT);
    assert_int_equal(s7_session_error(w->sess), PLCIO_ECLOSED);
    (void)t;
    s7_world_free(w);
}

/* ---- Modbus ---- */

typedef struct mb_world {
    plcio_modbus_server *srv;
    mb_srv_stream st;
    fake_mb_client cl;
    fake_link link;
} mb_world;

/* A client session (framing, window) against the server's session, or
 * against a script end when scripted. */
static mb_world *mb_world_new(mb_framing framing, unsigned window, bool scripted)
{
    static mb_world w;
    memset(&w, 0, sizeof w);
    (void)plcio_modbus_server_new(NULL, &w.srv, NULL);
    assert_non_null(w.srv);
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(100);
    assert_int_equal(plcio_modbus_server_add_unit(w.srv, 1, &bank), PLCIO_OK);
    uint16_t v[100];
    for (uint16_t i = 0; i < 100; i++)
        v[i] = (uint16_t)(1000 + i);
    assert_int_equal(plcio_modbus_server_write_bank(w.srv, 1, PLCIO_MODBUS_HOLDING_REGISTERS, 0, 100, v), PLCIO_OK);
    w.cl.session = mb_session_new(framing, window);
    assert_non_null(w.cl.session);
    fake_link_init(&w.link, T0);
    mb_srv_stream_init(&w.st, w.srv, framing, framing != MB_FRAMING_MBAP, 2000, T0);
    w.link.end[0] = fake_end_mb_client(&w.cl);
    if (!scripted) w.link.end[1] = fake_end_mb_server(&w.st);
    return &w;
}

static void mb_world_free(mb_world *w)
{
    mb_srv_stream_clear(&w->st);
    mb_session_free(w->cl.session);
    plcio_modbus_server_free(w->srv);
}

static uint32_t mb_read(mb_world *w, uint16_t addr, uint64_t timeout)
{
    mb_pdu q = {.fc = 3, .addr = addr, .qty = 2};
    uint32_t token = 0;
    assert_int_equal(mb_session_submit(w->cl.session, 1, &q, w->link.now + timeout, &token), PLCIO_OK);
    return token;
}

/* One-byte pieces in every framing; RTU ends frames on its own (content length). */
static void test_mb_bytewise_every_framing(void **state)
{
    (void)state;
    static const mb_framing framings[] = {MB_FRAMING_MBAP, MB_FRAMING_RTU, MB_FRAMING_ASCII};
    for (size_t f = 0; f < 3; f++) {
        mb_world *w = mb_world_new(framings[f], 4, false);
        w->link.chunk = 1;
        uint32_t a = mb_read(w, 5, 500 * MS), b = mb_read(w, 50, 500 * MS);
        fake_link_run(&w->link, T0 + 100 * MS);
        assert_int_equal(w->cl.n, 2);
        assert_int_equal(fake_mb_result(&w->cl, a), PLCIO_OK);
        assert_int_equal(fake_mb_result(&w->cl, b), PLCIO_OK);
        assert_int_equal(w->cl.first_reg[0], 1005);
        assert_int_equal(w->cl.first_reg[1], 1050);
        mb_world_free(w);
    }
}

/* A scripted device answers two pipelined requests in reverse order: both
 * match by transaction id. Then it ignores the next two: they time out at
 * their deadline exactly, the link stays up and a later request works. */
static void test_mb_reorder_and_timeout(void **state)
{
    (void)state;
    mb_world *w = mb_world_new(MB_FRAMING_MBAP, 2, true);
    uint32_t a = mb_read(w, 1, 300 * MS), b = mb_read(w, 2, 300 * MS);
    fake_link_run(&w->link, T0 + MS);
    fake_end *dev = &w->link.end[1];
    assert_int_equal(dev->got_len, 24);
    uint8_t ans[2][32];
    size_t n[2];
    for (int i = 0; i < 2; i++) {
        uint8_t pdu[] = {3, 4, 0, (uint8_t)(i + 1), 0, 0};
        assert_int_equal(mb_mbap_encode((uint16_t)(dev->got[(size_t)12 * i] << 8 | dev->got[(size_t)12 * i + 1]), 1,
                                        pdu, sizeof pdu, ans[i], sizeof ans[i], &n[i]),
                         PLCIO_OK);
    }
    fake_link_inject(&w->link, 1, ans[1], n[1]);
    fake_link_inject(&w->link, 1, ans[0], n[0]);
    fake_link_run(&w->link, T0 + 2 * MS);
    assert_int_equal(w->cl.n, 2);
    assert_int_equal(w->cl.token[0], b);
    assert_int_equal(w->cl.first_reg[0], 2);
    assert_int_equal(w->cl.token[1], a);
    assert_int_equal(w->cl.first_reg[1], 1);

    uint64_t t = w->link.now;
    uint32_t c = mb_read(w, 3, 300 * MS), d = mb_read(w, 4, 300 * MS);
    fake_link_run(&w->link, t + 300 * MS - 1);
    assert_int_equal(fake_mb_result(&w->cl, c), 1);
    fake_link_run(&w->link, t + 300 * MS);
    assert_int_equal(fake_mb_result(&w->cl, c), PLCIO_ETIMEDOUT);
    assert_int_equal(fake_mb_result(&w->cl, d), PLCIO_ETIMEDOUT);
    assert_false(w->link.down);
    mb_world_free(w);
}

/* The link drops with requests on the wire and queued: every one completes
 * with the close, none twice; half an MBAP answer before the drop is no
 * answer. */
static void test_mb_reset_in_flight(void **state)
{
    (void)state;
    mb_world *w = mb_world_new(MB_FRAMING_MBAP, 2, false);
    w->link.cut_after[1] = 5; /* the first answer is cut after 5 bytes */
    uint32_t t[4];
    for (int i = 0; i < 4; i++)
        t[i] = mb_read(w, (uint16_t)i, 500 * MS);
    fake_link_run(&w->link, T0 + 10 * MS);
    assert_true(w->link.down);
    assert_int_equal(w->cl.n, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fake_mb_result(&w->cl, t[i]), PLCIO_ECLOSED);
    assert_int_equal(mb_session_pending(w->cl.session), 0);
    mb_world_free(w);
}

/* The server drops a TCP client stuck in half a frame at frame_timeout_ms
 * (5 s by default) and keeps one that only pauses within it. */
static void test_mb_server_half_frame(void **state)
{
    (void)state;
    mb_world *w = mb_world_new(MB_FRAMING_MBAP, 1, false);
    static const uint8_t head[] = {0, 1, 0, 0, 0, 6, 1, 3};
    static const uint8_t tail[] = {0, 0, 0, 1};
    w->link.silent[0] = true;
    fake_link_inject(&w->link, 0, head, sizeof head);
    fake_link_run(&w->link, T0 + 5000 * MS);
    assert_false(w->link.down);
    fake_link_inject(&w->link, 0, tail, sizeof tail); /* completes in time: answered */
    fake_link_run(&w->link, T0 + 5001 * MS);
    assert_false(w->link.down);
    assert_int_equal(w->link.wire_len[1], 0);
    fake_link_inject(&w->link, 0, head, sizeof head);
    uint64_t t = w->link.now;
    fake_link_run(&w->link, t + 5000 * MS + 1);
    assert_true(w->link.down);
    assert_int_equal(w->link.end[1].error, PLCIO_ETIMEDOUT);
    assert_string_equal(mb_srv_stream_why(&w->st, PLCIO_ETIMEDOUT), "half frame timed out");
    mb_world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s7_bytewise_pipeline),      cmocka_unit_test(test_s7_silent_partner_timeouts),
        cmocka_unit_test(test_s7_drop_and_garbage),       cmocka_unit_test(test_s7_server_timeouts),
        cmocka_unit_test(test_mb_bytewise_every_framing), cmocka_unit_test(test_mb_reorder_and_timeout),
        cmocka_unit_test(test_mb_reset_in_flight),        cmocka_unit_test(test_mb_server_half_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
