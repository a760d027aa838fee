/* S7 session state machine fed by hand: connection phases, byte-by-byte and
 * segmented (COTP EOT=0) input, pipelining limits, answers that do not
 * belong, refusals, garbage and timeouts. No sockets. */
#include <string.h>

#include "plcio_test.h"
#include "s7/s7_session.h"

#define MS PLCIO_NS_PER_MS

static s7_session *new_session(uint16_t jobs)
{
    s7_session_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.local_tsap[0] = 0x01;
    cfg.local_tsap[1] = 0x00;
    cfg.local_tsap_len = 2;
    cfg.remote_tsap[0] = 0x01;
    cfg.remote_tsap[1] = 0x02;
    cfg.remote_tsap_len = 2;
    cfg.pdu_request = 960;
    cfg.jobs_request = jobs;
    cfg.connect_timeout_ns = 1000 * MS;
    cfg.request_timeout_ns = 500 * MS;
    s7_session *s = s7_session_new(&cfg);
    assert_non_null(s);
    return s;
}

static size_t take_tx(s7_session *s, uint8_t *out, size_t cap)
{
    size_t n;
    const uint8_t *p = s7_session_tx(s, &n);
    assert_true(n <= cap);
    if (n) memcpy(out, p, n);
    s7_session_tx_done(s, n);
    return n;
}

/* Feed one byte at a time (the worst split a socket can give). */
static int feed_slowly(s7_session *s, const uint8_t *p, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        int rc = s7_session_feed(s, p + i, 1, now);
        if (rc) return rc;
    }
    return PLCIO_OK;
}

static void connect_session(s7_session *s, uint16_t pdu_size, uint16_t jobs)
{
    uint8_t tx[256], f[64];
    s7_session_start(s, 0);
    size_t n = take_tx(s, tx, sizeof tx);
    cotp_tpdu t;
    assert_int_equal(cotp_decode(tx + 4, n - 4, &t), PLCIO_OK);
    assert_int_equal(t.code, PLCIO_COTP_CR);
    assert_int_equal(t.conn.tpdu_size, 1024);
    cotp_conn cc = t.conn;
    cc.dst_ref = t.conn.src_ref;
    cc.src_ref = 0x4321;
    size_t len;
    assert_int_equal(cotp_cc_frame(f, sizeof f, &cc, &len), PLCIO_OK);
    assert_int_equal(feed_slowly(s, f, len, 1), PLCIO_OK);
    assert_int_equal(s7_session_state_get(s), PLCIO_S7_SESSION_SETUP);
    n = take_tx(s, tx, sizeof tx);
    s7_pdu pdu;
    s7_setup st;
    assert_int_equal(s7_pdu_decode(tx + 7, n - 7, &pdu), PLCIO_OK);
    assert_int_equal(s7_setup_decode(&pdu, &st), PLCIO_OK);
    assert_int_equal(st.pdu_size, 960);
    s7_setup ans = {jobs, jobs, pdu_size};
    s7_out o = s7_out_make(f, sizeof f, 0);
    assert_int_equal(s7_setup_encode(&o, PLCIO_S7_ACK_DATA, pdu.pdu_ref, &ans), PLCIO_OK);
    assert_int_equal(feed_slowly(s, f, o.len, 2), PLCIO_OK);
    assert_int_equal(s7_session_state_get(s), PLCIO_S7_SESSION_READY);
}

/* Queue a 1-byte DB read; returns the slot, *ref the PDU reference. */
static int queue_read(s7_session *s, uint16_t *ref, uint64_t now)
{
    s7_out out;
    assert_int_equal(s7_session_request_begin(s, &out, ref), PLCIO_OK);
    s7_item it = {PLCIO_S7_AREA_DB, PLCIO_S7_TS_BYTE, 1, 1, 0, 0};
    assert_int_equal(s7_read_request_encode(&out, *ref, &it, 1), PLCIO_OK);
    int slot;
    assert_int_equal(s7_session_request_commit(s, &out, *ref, now, &slot), PLCIO_OK);
    return slot;
}

static size_t read_answer(uint8_t *f, size_t cap, uint16_t ref, uint8_t value)
{
    s7_data_item d = {PLCIO_S7_RC_SUCCESS, PLCIO_S7_DTS_BYTE, &value, 1};
    s7_out o = s7_out_make(f, cap, 0);
    assert_int_equal(s7_read_response_encode(&o, ref, &d, 1), PLCIO_OK);
    return o.len;
}

static void test_connect_and_pipeline(void **state)
{
    (void)state;
    s7_session *s = new_session(8);
    connect_session(s, 480, 3); /* the partner lowers both */
    assert_int_equal(s7_session_pdu_size(s), 480);
    assert_int_equal(s7_session_jobs(s), 3);
    uint16_t refs[3];
    int slots[3];
    for (int i = 0; i < 3; i++)
        slots[i] = queue_read(s, &refs[i], 10);
    s7_out out;
    uint16_t r;
    assert_int_equal(s7_session_request_begin(s, &out, &r), PLCIO_EBUSY); /* pipeline full */
    assert_int_equal(s7_session_in_flight(s), 3);
    uint8_t tx[4096];
    size_t n = take_tx(s, tx, sizeof tx);
    assert_int_equal(n, 3 * 31); /* three read frames back to back */
    /* answers out of order, two in one chunk, the third split in two */
    uint8_t f[256];
    size_t a = read_answer(f, sizeof f, refs[2], 0x22);
    size_t b = read_answer(f + a, sizeof f - a, refs[0], 0x00);
    assert_int_equal(s7_session_feed(s, f, a + b, 20), PLCIO_OK);
    assert_true(s7_session_slot_done(s, slots[2]));
    assert_true(s7_session_slot_done(s, slots[0]));
    assert_false(s7_session_slot_done(s, slots[1]));
    size_t len;
    const uint8_t *p = s7_session_slot_pdu(s, slots[2], &len);
    assert_int_equal(p[len - 1], 0x22);
    s7_session_slot_release(s, slots[2]);
    assert_int_equal(s7_session_free_slots(s), 1);
    size_t c = read_answer(f, sizeof f, refs[1], 0x11);
    assert_int_equal(s7_session_feed(s, f, 5, 21), PLCIO_OK);
    assert_false(s7_session_slot_done(s, slots[1]));
    assert_int_equal(s7_session_feed(s, f + 5, c - 5, 22), PLCIO_OK);
    assert_true(s7_session_slot_done(s, slots[1]));
    /* deadline: none while nothing is in flight */
    s7_session_slot_release(s, slots[0]);
    s7_session_slot_release(s, slots[1]);
    assert_int_equal(s7_session_deadline(s), 0);
    s7_session_free(s);
}

static void test_cotp_segmented_answer(void **state)
{
    (void)state;
    s7_session *s = new_session(1);
    connect_session(s, 960, 1);
    uint16_t ref;
    int slot = queue_read(s, &ref, 0);
    uint8_t tx[256], f[256], seg[300];
    take_tx(s, tx, sizeof tx);
    size_t n = read_answer(f, sizeof f, ref, 0x5A);
    /* the same S7 PDU in two DT TPDUs: first without EOT */
    const uint8_t *pdu = f + 7;
    size_t plen = n - 7, half = plen / 2;
    size_t k = 0;
    seg[k++] = 3, seg[k++] = 0, seg[k++] = 0, seg[k++] = (uint8_t)(7 + half);
    seg[k++] = 2, seg[k++] = 0xF0, seg[k++] = 0x00;
    memcpy(seg + k, pdu, half), k += half;
    seg[k++] = 3, seg[k++] = 0, seg[k++] = 0, seg[k++] = (uint8_t)(7 + plen - half);
    seg[k++] = 2, seg[k++] = 0xF0, seg[k++] = 0x80;
    memcpy(seg + k, pdu + half, plen - half), k += plen - half;
    assert_int_equal(feed_slowly(s, seg, k, 1), PLCIO_OK);
    assert_true(s7_session_slot_done(s, slot));
    size_t len;
    const uint8_t *p = s7_session_slot_pdu(s, slot, &len);
    assert_int_equal(len, plen);
    assert_memory_equal(p, pdu, plen);
    s7_session_free(s);
}

static void test_bad_input_fails(void **state)
{
    (void)state;
    uint8_t tx[256], f[256];
    /* an answer nobody asked for */
    s7_session *s = new_session(2);
    connect_session(s, 960, 2);
    uint16_t ref;
    queue_read(s, &ref, 0);
    take_tx(s, tx, sizeof tx);
    size_t n = read_answer(f, sizeof f, (uint16_t)(ref + 7), 1);
    assert_int_equal(s7_session_feed(s, f, n, 1), PLCIO_EPROTO);
    assert_int_equal(s7_session_state_get(s), PLCIO_S7_SESSION_FAILED);
    assert_int_equal(s7_session_request_begin(s, (s7_out[1]){{0}}, &ref), PLCIO_EPROTO);
    /* garbage instead of TPKT */
    connect_session(s, 960, 2);
    static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n";
    assert_int_equal(s7_session_feed(s, http, sizeof http - 1, 1), PLCIO_EPROTO);
    /* a TPKT that claims more than any acceptable PDU is refused at once */
    connect_session(s, 960, 2);
    static const uint8_t big[] = {3, 0, 0xFF, 0xFF, 2, 0xF0, 0x80};
    assert_int_equal(s7_session_feed(s, big, sizeof big, 1), PLCIO_EPROTO);
    /* a short frame header waits for the rest */
    connect_session(s, 960, 2);
    static const uint8_t part[] = {3, 0, 0, 40, 2, 0xF0};
    assert_int_equal(s7_session_feed(s, part, sizeof part, 1), PLCIO_OK);
    /* a reassembled PDU beyond the session's maximum */
    connect_session(s, 960, 2);
    uint8_t frame[2000];
    memset(frame, 0, sizeof frame);
    frame[0] = 3, frame[2] = 2000 >> 8, frame[3] = 2000 & 0xFF, frame[4] = 2, frame[5] = 0xF0, frame[6] = 0x00;
    int rc = PLCIO_OK;
    for (int i = 0; i < 6 && rc == PLCIO_OK; i++)
        rc = s7_session_feed(s, frame, sizeof frame, 1);
    assert_int_equal(rc, PLCIO_EPROTO);
    /* DR in answer to CR: refused (wrong rack/slot) */
    s7_session_start(s, 0);
    take_tx(s, tx, sizeof tx);
    plcio_wcursor w = plcio_wcursor_make(f + 4, sizeof f - 4);
    assert_int_equal(cotp_dr_encode(&w, 1, 0, 0x85), PLCIO_OK);
    tpkt_header_put(f, 4 + plcio_wcursor_used(&w));
    assert_int_equal(s7_session_feed(s, f, 4 + plcio_wcursor_used(&w), 1), PLCIO_ECONNREFUSED);
    /* setup refused with an S7 error */
    s7_session_start(s, 0);
    take_tx(s, tx, sizeof tx);
    cotp_conn cc;
    memset(&cc, 0, sizeof cc);
    size_t len;
    cotp_cc_frame(f, sizeof f, &cc, &len);
    assert_int_equal(s7_session_feed(s, f, len, 1), PLCIO_OK);
    take_tx(s, tx, sizeof tx);
    s7_out o = s7_out_make(f, sizeof f, 0);
    assert_int_equal(s7_error_encode(&o, PLCIO_S7_ACK_DATA, 0, PLCIO_S7_FN_SETUP, 0x8104), PLCIO_OK);
    assert_int_equal(s7_session_feed(s, f, o.len, 1), PLCIO_EPLC);
    s7_session_free(s);
}

static void test_timeouts(void **state)
{
    (void)state;
    uint8_t tx[256];
    s7_session *s = new_session(1);
    s7_session_start(s, 1000);
    take_tx(s, tx, sizeof tx);
    assert_int_equal(s7_session_deadline(s), 1000 + 1000 * MS);
    assert_int_equal(s7_session_on_time(s, 1000 + 999 * MS), PLCIO_OK);
    assert_int_equal(s7_session_on_time(s, 1000 + 1000 * MS), PLCIO_ETIMEDOUT);
    connect_session(s, 960, 1);
    uint16_t ref;
    queue_read(s, &ref, 5000);
    assert_int_equal(s7_session_deadline(s), 5000 + 500 * MS);
    assert_int_equal(s7_session_on_time(s, 5000 + 500 * MS), PLCIO_ETIMEDOUT);
    assert_int_equal(s7_session_error(s), PLCIO_ETIMEDOUT);
    s7_session_free(s);
    s7_session_free(NULL);
}

/* The bookkeeping the session keeps instead of scanning its slots (jobs in
 * flight, free slots, the earliest deadline) against a model the test keeps
 * itself, through pipelined jobs answered out of order, jobs given up
 * (released unanswered), a timeout, a failure and a restart. */
typedef struct model_job {
    bool busy, done;
    uint16_t ref;
    uint64_t deadline;
} model_job;

static void check_model(const s7_session *s, const model_job *m, unsigned jobs_max)
{
    unsigned busy = 0, flying = 0;
    uint64_t d = 0;
    for (int i = 0; i < PLCIO_S7_SESSION_MAX_JOBS; i++) {
        busy += m[i].busy;
        if (m[i].busy && !m[i].done) {
            flying++;
            if (!d || m[i].deadline < d) d = m[i].deadline;
        }
    }
    assert_int_equal(s7_session_in_flight(s), flying);
    assert_int_equal(s7_session_free_slots(s), jobs_max - busy);
    assert_int_equal(s7_session_deadline(s), d);
}

static void test_bookkeeping_pipelined(void **state)
{
    (void)state;
    s7_session *s = new_session(8);
    connect_session(s, 960, 4);
    model_job m[PLCIO_S7_SESSION_MAX_JOBS];
    memset(m, 0, sizeof m);
    uint8_t tx[4096], f[256];
    /* four jobs, queued at different times (their deadlines 500 ms later) */
    uint64_t when[4] = {40 * MS, 10 * MS, 30 * MS, 20 * MS};
    int slot[4];
    for (int i = 0; i < 4; i++) {
        uint16_t ref;
        slot[i] = queue_read(s, &ref, when[i]);
        m[slot[i]] = (model_job){true, false, ref, when[i] + 500 * MS};
        check_model(s, m, 4);
    }
    take_tx(s, tx, sizeof tx);
    assert_int_equal(s7_session_deadline(s), 10 * MS + 500 * MS);
    /* the job holding the earliest deadline answered: the next earliest */
    size_t n = read_answer(f, sizeof f, m[slot[1]].ref, 1);
    assert_int_equal(s7_session_feed(s, f, n, 50 * MS), PLCIO_OK);
    m[slot[1]].done = true;
    check_model(s, m, 4);
    assert_int_equal(s7_session_deadline(s), 20 * MS + 500 * MS);
    /* a job not holding it answered: unchanged */
    n = read_answer(f, sizeof f, m[slot[0]].ref, 2);
    assert_int_equal(s7_session_feed(s, f, n, 51 * MS), PLCIO_OK);
    m[slot[0]].done = true;
    check_model(s, m, 4);
    /* given up unanswered (released in flight): the deadline moves on */
    s7_session_slot_release(s, slot[3]);
    m[slot[3]].busy = false;
    check_model(s, m, 4);
    assert_int_equal(s7_session_deadline(s), 30 * MS + 500 * MS);
    /* releasing twice, or a slot never used, or out of range, changes nothing */
    s7_session_slot_release(s, slot[3]);
    s7_session_slot_release(s, 7);
    s7_session_slot_release(s, -1);
    s7_session_slot_release(s, PLCIO_S7_SESSION_MAX_JOBS);
    check_model(s, m, 4);
    /* answered slots released: free again, not in flight */
    s7_session_slot_release(s, slot[0]);
    s7_session_slot_release(s, slot[1]);
    m[slot[0]].busy = m[slot[1]].busy = false;
    check_model(s, m, 4);
    /* the answer of the job given up arrives: nobody waits for it */
    n = read_answer(f, sizeof f, (uint16_t)(m[slot[3]].ref), 3);
    assert_int_equal(s7_session_feed(s, f, n, 52 * MS), PLCIO_EPROTO);
    assert_int_equal(s7_session_deadline(s), 0); /* failed: no deadline */
    /* a restart forgets every job */
    connect_session(s, 960, 4);
    memset(m, 0, sizeof m);
    check_model(s, m, 4);
    /* a timeout fails the session at the earliest deadline, not before */
    uint16_t ref;
    int a = queue_read(s, &ref, 100 * MS);
    m[a] = (model_job){true, false, ref, 600 * MS};
    int b = queue_read(s, &ref, 90 * MS);
    m[b] = (model_job){true, false, ref, 590 * MS};
    check_model(s, m, 4);
    assert_int_equal(s7_session_on_time(s, 589 * MS), PLCIO_OK);
    assert_int_equal(s7_session_on_time(s, 590 * MS), PLCIO_ETIMEDOUT);
    assert_int_equal(s7_session_deadline(s), 0);
    assert_int_equal(s7_session_free_slots(s), 0);
    connect_session(s, 960, 4);
    memset(m, 0, sizeof m);
    check_model(s, m, 4);
    s7_session_free(s);
}

/* Random operations (queue at a random time, answer, give up, release)
 * with the model checked after each: counters and deadline never drift. */
static void test_bookkeeping_random(void **state)
{
    (void)state;
    s7_session *s = new_session(16);
    connect_session(s, 960, 6);
    model_job m[PLCIO_S7_SESSION_MAX_JOBS];
    memset(m, 0, sizeof m);
    uint8_t tx[8192], f[256];
    uint32_t seed = 12345;
    uint64_t now = 10;
    for (int step = 0; step < 5000; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned op = (seed >> 16) % 4, pick = (seed >> 8) % PLCIO_S7_SESSION_MAX_JOBS;
        now += (seed >> 4) % 7;
        if (op == 0 && s7_session_free_slots(s)) {
            uint16_t ref;
            uint64_t at = now - (seed >> 3) % 5; /* callers' clocks are not always in order */
            int slot = queue_read(s, &ref, at);
            assert_false(m[slot].busy);
            m[slot] = (model_job){true, false, ref, at + 500 * MS};
            take_tx(s, tx, sizeof tx);
        } else if (op == 1 && m[pick].busy && !m[pick].done) {
            size_t n = read_answer(f, sizeof f, m[pick].ref, (uint8_t)step);
            assert_int_equal(s7_session_feed(s, f, n, now), PLCIO_OK);
            assert_true(s7_session_slot_done(s, (int)pick));
            const s7_pdu *pdu = s7_session_slot_decoded(s, (int)pick);
            assert_non_null(pdu);
            assert_int_equal(pdu->pdu_ref, m[pick].ref);
            assert_int_equal(pdu->data[pdu->data_len - 1], (uint8_t)step);
            m[pick].done = true;
        } else if (op >= 2 && m[pick].busy && (op == 2 || m[pick].done)) {
            s7_session_slot_release(s, (int)pick); /* op 2 gives up jobs in flight too */
            m[pick].busy = m[pick].done = false;
        } else if (!m[pick].done) {
            assert_null(s7_session_slot_decoded(s, (int)pick)); /* nothing decoded before the answer */
        }
        check_model(s, m, 6);
    }
    s7_session_free(s);
}

/* Frames are traced (Tx/Rx at TRACE) through the session's logger or, when
 * it has none, the process default, as soon as either is set and not after. */
static int traced_tx, traced_rx;
static void count_trace(void *ctx, plcio_log_level level, const char *module, const char *msg)
{
    (void)ctx, (void)module;
    if (level != PLCIO_LOG_TRACE) return;
    traced_tx += strncmp(msg, "Tx [", 4) == 0;
    traced_rx += strncmp(msg, "Rx [", 4) == 0;
}

static void one_read(s7_session *s, uint64_t now)
{
    uint8_t tx[256], f[64];
    uint16_t ref;
    int slot = queue_read(s, &ref, now);
    take_tx(s, tx, sizeof tx);
    size_t n = read_answer(f, sizeof f, ref, 7);
    assert_int_equal(s7_session_feed(s, f, n, now), PLCIO_OK);
    assert_true(s7_session_slot_done(s, slot));
    s7_session_slot_release(s, slot);
}

static void test_trace_logging(void **state)
{
    (void)state;
    s7_session *s = new_session(1);
    connect_session(s, 960, 1);
    traced_tx = traced_rx = 0;
    one_read(s, 1);
    assert_int_equal(traced_tx + traced_rx, 0); /* nobody logs */
    plcio_logger lg = {count_trace, NULL, PLCIO_LOG_TRACE};
    plcio_log_set_default(&lg);
    one_read(s, 2);
    assert_int_equal(traced_tx, 1);
    assert_int_equal(traced_rx, 1);
    lg.level = PLCIO_LOG_DEBUG; /* the default logger, less verbose */
    plcio_log_set_default(&lg);
    one_read(s, 3);
    assert_int_equal(traced_tx + traced_rx, 2);
    plcio_log_set_default(NULL);
    one_read(s, 4);
    assert_int_equal(traced_tx + traced_rx, 2);
    s7_session_free(s);
    /* a session's own logger, with no default */
    s7_session_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.local_tsap_len = cfg.remote_tsap_len = 2;
    cfg.pdu_request = 960;
    cfg.jobs_request = 1;
    cfg.connect_timeout_ns = cfg.request_timeout_ns = 1000 * MS;
    cfg.logger = (plcio_logger){count_trace, NULL, PLCIO_LOG_TRACE};
    s = s7_session_new(&cfg);
    assert_non_null(s);
    connect_session(s, 960, 1);
    traced_tx = traced_rx = 0;
    one_read(s, 5);
    assert_int_equal(traced_tx, 1);
    assert_int_equal(traced_rx, 1);
    s7_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_pipeline),  cmocka_unit_test(test_cotp_segmented_answer),
        cmocka_unit_test(test_bad_input_fails),       cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_bookkeeping_pipelined), cmocka_unit_test(test_bookkeeping_random),
        cmocka_unit_test(test_trace_logging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
