/* The S7CommPlus simulator side of password legitimation, driven in-process
 * by plcio's client session (V1, no TLS) with hand-made requests: answers of
 * the wrong length or type, a wrong answer, the new method without TLS, an
 * answer on a session without password; writes refused until a right legacy
 * answer to this session's challenge, then allowed. */
#include <stdlib.h>
#include <string.h>

#include "plcio/s7plus.h"
#include "plcio_test.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_legit.h"
#include "s7plus/s7p_session.h"

static int writes;

static int mem_read(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, uint8_t *out)
{
    (void)ctx, (void)area, (void)db, (void)start;
    memset(out, 0x5A, size);
    return PLCIO_OK;
}

static int mem_write(void *ctx, plcio_s7plus_area area, unsigned db, uint32_t start, uint32_t size, const uint8_t *data)
{
    (void)ctx, (void)area, (void)db, (void)start, (void)size, (void)data;
    writes++;
    return PLCIO_OK;
}

typedef struct pair {
    plcio_s7plus_server *srv;
    void *conn;
    s7p_session *s;
} pair;

/* Move bytes both ways until nothing moves. */
static void shuttle(pair *p)
{
    for (int moved = 1; moved;) {
        moved = 0;
        size_t n;
        const uint8_t *tx = s7p_session_tx(p->s, &n);
        if (n) {
            assert_int_equal(plcio_s7plus_server_conn_feed(p->conn, tx, n), PLCIO_OK);
            s7p_session_tx_done(p->s, n);
            moved = 1;
        }
        tx = plcio_s7plus_server_conn_output(p->conn, &n);
        if (n) {
            uint8_t *copy = malloc(n);
            memcpy(copy, tx, n);
            plcio_s7plus_server_conn_output_done(p->conn, n);
            assert_int_equal(s7p_session_feed(p->s, copy, n, 0), PLCIO_OK);
            free(copy);
            moved = 1;
        }
    }
}

static void open_pair(pair *p, const char *password)
{
    plcio_s7plus_server_options o;
    plcio_s7plus_server_options_init(&o);
    o.tls = false;
    o.password = password;
    o.memory.read = mem_read;
    o.memory.write = mem_write;
    assert_int_equal(plcio_s7plus_server_new(&o, &p->srv, NULL), PLCIO_OK);
    p->conn = plcio_s7plus_server_accept(p->srv, (const uint8_t *)"SIMATIC-ROOT-HMI", 16, 1);
    assert_non_null(p->conn);
    s7p_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = 1000;
    assert_int_equal(s7p_session_new(&cfg, &p->s, NULL), PLCIO_OK);
    assert_int_equal(s7p_session_start(p->s, 0), PLCIO_OK);
    shuttle(p);
    assert_int_equal(s7p_session_state(p->s), S7PS_READY);
}

static void close_pair(pair *p)
{
    s7p_session_free(p->s);
    plcio_s7plus_server_conn_close(p->conn);
    plcio_s7plus_server_free(p->srv);
}

/* One item (session attribute, or DB1 bytes 0..n with LID 3) in a Get/SetMultiVariables;
 * the answer's first item error (0: none), and for a read its first value. */
static uint64_t request(pair *p, uint32_t attribute, const s7p_value *v, s7p_value *got, uint8_t *keep)
{
    s7p_multi_req *r = calloc(1, sizeof *r);
    r->nitems = 1;
    if (attribute) {
        r->items[0].area = s7p_session_id(p->s);
        r->items[0].sub_area = attribute;
    } else {
        r->items[0].area = S7P_ID_DB_ACCESS_AREA_BASE + 1;
        r->items[0].sub_area = S7P_ID_DB_VALUE_ACTUAL;
        r->items[0].nlids = 3;
        r->items[0].lids[0] = S7P_LID_CLASSIC_BLOB;
        r->items[0].lids[2] = 2;
    }
    if (v) {
        r->with_values = true;
        r->nvalues = 1;
        r->value_nr[0] = 1;
        r->values[0] = *v;
    }
    r->tail.no_fill = true;
    uint8_t body[256];
    plcio_wcursor w = plcio_wcursor_make(body, sizeof body);
    assert_int_equal(s7p_multi_req_encode(&w, r), PLCIO_OK);
    free(r);
    assert_int_equal(s7p_session_request(p->s, v ? S7P_FN_SET_MULTI_VARS : S7P_FN_GET_MULTI_VARS, body,
                                         plcio_wcursor_used(&w), !v, 0),
                     PLCIO_OK);
    shuttle(p);
    s7p_pdu pdu;
    assert_int_equal(s7p_session_response(p->s, &pdu), 1);
    s7p_multi_res *a = calloc(1, sizeof *a);
    plcio_rcursor rd = plcio_rcursor_make(pdu.body, pdu.body_len);
    assert_int_equal(s7p_multi_res_decode(&rd, v ? 0 : S7P_WITH_VALUES, a), PLCIO_OK);
    assert_int_equal(a->ret, 0);
    uint64_t e = a->nerrors ? a->errors[0] : 0;
    if (got && a->nvalues) {
        *got = a->values[0];
        if (got->data) memcpy(keep, got->data, got->size < 64 ? got->size : 64);
    }
    free(a);
    return e;
}

static void test_refusals_then_legacy(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, "Secret1");
    static const uint8_t two[2] = {1, 2};
    s7p_value db = s7p_value_blob(two, 2);
    writes = 0;
    assert_int_equal(request(&p, 0, &db, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    assert_int_equal(writes, 0);
    /* level 2: reads allowed, the level reported */
    assert_int_equal(request(&p, 0, NULL, NULL, NULL), 0);
    s7p_value got;
    uint8_t challenge[64];
    assert_int_equal(request(&p, S7P_ID_EFFECTIVE_PROTECTION_LEVEL, NULL, &got, challenge), 0);
    assert_int_equal(got.u, 2);
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_CHALLENGE, NULL, &got, challenge), 0);
    assert_int_equal(got.size, S7P_CHALLENGE_LEN);
    /* answers of the wrong length, the wrong type, the wrong bytes, the new method without TLS */
    uint8_t answer[32] = {0};
    s7p_value bad = s7p_value_blob(answer, 5);
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, &bad, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    bad = s7p_value_udint(7);
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, &bad, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    assert_int_equal(s7p_legit_legacy("Secret2", challenge, S7P_CHALLENGE_LEN, answer), PLCIO_OK);
    bad = s7p_value_blob(answer, 20);
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, &bad, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    bad = s7p_value_blob(answer, 32);
    assert_int_equal(request(&p, S7P_ID_LEGITIMATE, &bad, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    assert_int_equal(request(&p, 0, &db, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    assert_int_equal(writes, 0);
    /* the challenge is not writable, the answers not readable */
    assert_int_not_equal(request(&p, S7P_ID_SERVER_SESSION_CHALLENGE, &db, NULL, NULL), 0);
    assert_int_not_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, NULL, NULL, NULL), 0);
    /* the right answer to this session's challenge */
    assert_int_equal(s7p_legit_legacy("Secret1", challenge, S7P_CHALLENGE_LEN, answer), PLCIO_OK);
    s7p_value good = s7p_value_blob(answer, 20);
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, &good, NULL, NULL), 0);
    assert_int_equal(request(&p, 0, &db, NULL, NULL), 0);
    assert_int_equal(writes, 1);
    assert_int_equal(request(&p, S7P_ID_EFFECTIVE_PROTECTION_LEVEL, NULL, &got, challenge), 0);
    assert_int_equal(got.u, 1);
    close_pair(&p);
}

static void test_no_password(void **state)
{
    (void)state;
    pair p;
    open_pair(&p, NULL);
    static const uint8_t two[2] = {1, 2};
    s7p_value db = s7p_value_blob(two, 2);
    writes = 0;
    assert_int_equal(request(&p, 0, &db, NULL, NULL), 0);
    assert_int_equal(writes, 1);
    uint8_t answer[20] = {0};
    s7p_value v = s7p_value_blob(answer, 20);
    /* nothing to legitimate against: refused, writes still allowed */
    assert_int_equal(request(&p, S7P_ID_SERVER_SESSION_RESPONSE, &v, NULL, NULL), S7P_ERR_ACCESS_DENIED);
    assert_int_equal(request(&p, 0, &db, NULL, NULL), 0);
    close_pair(&p);
}

static void test_bad_server_password(void **state)
{
    (void)state;
    plcio_s7plus_server_options o;
    plcio_s7plus_server_options_init(&o);
    o.tls = false;
    o.memory.read = mem_read;
    o.memory.write = mem_write;
    plcio_s7plus_server *s = NULL;
    plcio_error err;
    o.password = "";
    assert_int_equal(plcio_s7plus_server_new(&o, &s, &err), PLCIO_EINVAL);
    assert_non_null(strstr(err.text, "password"));
    o.password = "12345678901234567890123456789012345678901234567890123456789012345";
    assert_int_equal(plcio_s7plus_server_new(&o, &s, &err), PLCIO_EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_refusals_then_legacy), cmocka_unit_test(test_no_password),
                                       cmocka_unit_test(test_bad_server_password)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
