/* S7CommPlus subscriptions without sockets: the real capture's notifications
 * taken apart by the client side (values, credit tick, item codes); bad
 * notifications; the simulator's subscription objects driven by a manual
 * clock against the client's own request encoder: first notification,
 * on change, every cycle, credit exhaustion and resumption, delete, limits,
 * malformed requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio_test.h"
#include "s7plus/s7p_codec.h"
#include "s7plus/s7p_server_sub.h"
#include "s7plus/s7p_subscribe.h"

#define MS 1000000ull

/* ---- the client side ---------------------------------------------------------- */

typedef struct got {
    unsigned notes;
    plcio_s7plus_notification last;
    plcio_s7plus_sub_value v[64];
    uint8_t bytes[64][8];
} got;

static void on_note(void *ctx, plcio_s7plus_client *c, const plcio_s7plus_notification *n)
{
    (void)c;
    got *g = ctx;
    g->notes++;
    g->last = *n;
    for (size_t k = 0; k < n->n && k < 64; k++) {
        g->v[k] = n->values[k];
        if (n->values[k].data && n->values[k].size <= 8) memcpy(g->bytes[k], n->values[k].data, n->values[k].size);
    }
}

static csub_set *client_with(uint32_t id, size_t n, got *g, int credits)
{
    csub_set *s = csub_new();
    assert_non_null(s);
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.notify = on_note;
    o.ctx = g;
    o.credits = credits;
    assert_int_equal(csub_add(s, id, n, &o), PLCIO_OK);
    return s;
}

/* Notifications of the real S7-1500 capture (tests/fixtures/s7commplus), the
 * opcode byte left off: REAL values, a UINT, BOOLs. */
static const char note_201[] = "70000e51040000000000c98ec148019200000005000e41aa70aa9200000019000e417e538e9200"
                               "00001a000e41467956920000001b000e4193eb850000000000";
static const char note_0[] = "70000e51040000000000008ec17f019200000003000300019200000019000e417dce13920000001a00"
                             "0e4145d472920000002a000101920000002f000e42c80000920000001c0001019200000031000100"
                             "920000003c0001010000000000";

static void test_capture_notifications(void **state)
{
    (void)state;
    got g;
    memset(&g, 0, sizeof g);
    csub_set *s = client_with(0x70000e51, 64, &g, 10);
    uint8_t b[256];
    size_t n = plcio_test_hex(note_201, b, sizeof b);
    assert_int_equal(csub_on_notification(s, NULL, b, n), PLCIO_OK);
    assert_int_equal(g.notes, 1);
    assert_int_equal(g.last.subscription, 0x70000e51);
    assert_int_equal(g.last.credit_tick, 201);
    assert_int_equal(g.last.seq, 237768);
    assert_true(g.last.first);
    assert_int_equal(g.last.n, 4);
    assert_int_equal(g.v[0].item, 4); /* reference 5 */
    assert_int_equal(g.v[0].result, PLCIO_OK);
    assert_int_equal(g.v[0].pvalue_type, S7P_T_REAL);
    assert_int_equal(g.v[0].size, 4);
    assert_memory_equal(g.bytes[0], "\x41\xaa\x70\xaa", 4); /* 21.305 */
    assert_int_equal(g.v[3].item, 0x1a);

    n = plcio_test_hex(note_0, b, sizeof b);
    assert_int_equal(csub_on_notification(s, NULL, b, n), PLCIO_OK);
    assert_int_equal(g.last.credit_tick, 0); /* the tick wrapped */
    assert_false(g.last.first);
    assert_int_equal(g.last.n, 8);
    assert_int_equal(g.v[0].pvalue_type, S7P_T_UINT);
    assert_memory_equal(g.bytes[0], "\x00\x01", 2);
    assert_int_equal(g.v[3].pvalue_type, S7P_T_BOOL);
    assert_int_equal(g.v[3].size, 1);
    assert_int_equal(g.bytes[3][0], 1);
    assert_memory_equal(g.bytes[4], "\x42\xc8\x00\x00", 4); /* 100.0 */
    plcio_s7plus_sub_stats st;
    csub_stats(s, &st);
    assert_int_equal(st.notifications, 2);
    assert_int_equal(st.values, 12);
    csub_free(s);

    /* the codec reads the same, and the item error codes round-trip */
    n = plcio_test_hex(note_201, b, sizeof b);
    plcio_rcursor c = plcio_rcursor_make(b, n);
    s7p_notification nn;
    assert_int_equal(s7p_notification_decode(&c, &nn), PLCIO_OK);
    assert_int_equal(nn.n, 4);
    nn.code[1] = S7P_NOTIF_ERROR_13;
    nn.code[2] = S7P_NOTIF_VALUE_VLQREF;
    uint8_t out[256];
    plcio_wcursor w = plcio_wcursor_make(out, sizeof out);
    assert_int_equal(s7p_notification_encode(&w, &nn), PLCIO_OK);
    c = plcio_rcursor_make(out, plcio_wcursor_used(&w));
    s7p_notification back;
    assert_int_equal(s7p_notification_decode(&c, &back), PLCIO_OK);
    assert_int_equal(back.n, 4);
    assert_int_equal(back.code[1], S7P_NOTIF_ERROR_13);
    assert_int_equal(back.values[1].type, S7P_T_NULL);
    assert_int_equal(back.code[2], S7P_NOTIF_VALUE_VLQREF);
    assert_int_equal(back.ref[2], 0x1a);
    assert_int_equal(back.values[2].u, 0x41467956);
}

static int feed_hex(csub_set *s, const char *hex)
{
    uint8_t b[256];
    size_t n = plcio_test_hex(hex, b, sizeof b);
    return csub_on_notification(s, NULL, b, n);
}

static void test_bad_notifications(void **state)
{
    (void)state;
    got g;
    memset(&g, 0, sizeof g);
    csub_set *s = client_with(0x72000001, 2, &g, 10);
    /* head: id, 0400 0000 0000, tick, seq, change counter */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000"), PLCIO_EPROTO);                    /* cut in the head */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 92 000000"), PLCIO_EPROTO); /* cut in an item */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 55"), PLCIO_EUNSUPPORTED);  /* unknown item code */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 00"), PLCIO_EUNSUPPORTED);     /* the timestamp form */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 92 00000000 0003 0001 00 00000000"),
                     PLCIO_EPROTO); /* reference 0 */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 92 00000003 0003 0001 00 00000000"),
                     PLCIO_EPROTO); /* reference 3 of 2 items */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 92 00000001 0003 0001 00 00 00000000 ffff"),
                     PLCIO_EPROTO); /* bytes after the end */
    assert_int_equal(g.notes, 0);
    /* an unknown subscription: dropped, counted */
    assert_int_equal(feed_hex(s, "72000009 0400 0000 0000 01 01 01 92 00000001 0003 0001 00 00000000"), PLCIO_OK);
    plcio_s7plus_sub_stats st;
    csub_stats(s, &st);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(g.notes, 0);
    /* a well-formed one with an addressing error and an array value (not turned into bytes) */
    assert_int_equal(feed_hex(s, "72000001 0400 0000 0000 01 01 01 13 00000001 92 00000002 1002 02 01 02 00 00000000"),
                     PLCIO_OK);
    assert_int_equal(g.notes, 1);
    assert_int_equal(g.v[0].result, PLCIO_EPLC);
    assert_int_equal(g.v[0].error, 0x13);
    assert_int_equal(g.v[1].result, PLCIO_EUNSUPPORTED);
    csub_free(s);

    /* every mutation of a real notification: an answer, never a crash */
    memset(&g, 0, sizeof g);
    s = client_with(0x70000e51, 64, &g, 10);
    uint8_t b[256], m[256];
    size_t n = plcio_test_hex(note_0, b, sizeof b);
    srand(19);
    for (int i = 0; i < 20000; i++) {
        memcpy(m, b, n);
        size_t len = n - (size_t)(rand() % 8);
        for (int k = 0; k < 3; k++)
            m[rand() % (int)len] = (uint8_t)rand();
        int rc = csub_on_notification(s, NULL, m, len);
        assert_true(rc == PLCIO_OK || rc < 0);
    }
    csub_free(s);
}

/* ---- the simulator side, on a manual clock --------------------------------------- */

typedef struct fake {
    uint8_t mem[64];
    unsigned answers, notes;
    uint8_t last[32768];
    size_t last_len;
    csub_set *client; /* notifications go through the client side too */
} fake;

static int fake_read(void *ctx, const s7p_address *a, uint8_t *buf, size_t cap, s7p_value *v, unsigned *dialect)
{
    fake *f = ctx;
    *dialect = 0;
    if (a->area != S7P_ID_DB_ACCESS_AREA_BASE + 1 || a->nlids != 3 || a->lids[0] != 3) return PLCIO_ENOTFOUND;
    if (a->lids[1] + a->lids[2] > sizeof f->mem || a->lids[2] > cap) return PLCIO_ERANGE;
    memcpy(buf, f->mem + a->lids[1], a->lids[2]);
    *v = s7p_value_blob(buf, a->lids[2]);
    return PLCIO_OK;
}

static int fake_send(void *ctx, uint8_t version, const uint8_t *pdu, size_t len)
{
    fake *f = ctx;
    assert_int_equal(version, S7P_V1);
    assert_true(len <= sizeof f->last);
    memcpy(f->last, pdu, len);
    f->last_len = len;
    if (pdu[0] == S7P_OP_NOTIFICATION) {
        f->notes++;
        if (f->client) assert_int_equal(csub_on_notification(f->client, NULL, pdu + 1, len - 1), PLCIO_OK);
    } else {
        f->answers++;
    }
    return PLCIO_OK;
}

static s7p_address db1(uint32_t start, uint32_t size)
{
    s7p_address a;
    memset(&a, 0, sizeof a);
    a.area = S7P_ID_DB_ACCESS_AREA_BASE + 1;
    a.sub_area = S7P_ID_DB_VALUE_ACTUAL;
    a.nlids = 3;
    a.lids[0] = 3;
    a.lids[1] = start;
    a.lids[2] = size;
    return a;
}

/* CreateObject through the client's encoder (the answer: keep.answer). */
static void create(srvsub *s, const srvsub_host *h, fake *f, const s7p_address *a, size_t n, bool every_cycle,
                   int credits)
{
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    o.cycle_ms = 10;
    o.every_cycle = every_cycle;
    o.credits = credits;
    uint8_t *body = NULL;
    size_t len = 0;
    assert_int_equal(csub_create_body(0x70000100, a, n, &o, &body, &len), PLCIO_OK);
    uint8_t *full = malloc(len + 4);
    assert_non_null(full);
    memcpy(full, body, len);
    memset(full + len, 0, 4); /* the fill the session adds */
    free(body);
    s7p_header hd;
    memset(&hd, 0, sizeof hd);
    hd.opcode = S7P_OP_REQUEST;
    hd.function = S7P_FN_CREATE_OBJECT;
    hd.seq = 7;
    unsigned answers = f->answers;
    assert_int_equal(srvsub_create(s, h, S7P_V1, &hd, full, len + 4), PLCIO_OK);
    free(full);
    assert_int_equal(f->answers, answers + 1);
}

static uint64_t answer_of(const uint8_t *pdu, size_t len, uint32_t *id)
{
    s7p_pdu p;
    assert_int_equal(s7p_pdu_decode(pdu, len, &p), PLCIO_OK);
    assert_int_equal(p.h.function, S7P_FN_CREATE_OBJECT);
    plcio_rcursor c = plcio_rcursor_make(p.body, p.body_len);
    s7p_create_res r;
    assert_int_equal(s7p_create_res_decode(&c, &r), PLCIO_OK);
    if (id) *id = r.nids ? r.ids[0] : 0;
    return r.ret;
}

/* send() that keeps the answers apart from the notifications */
typedef struct keep {
    fake f;
    uint8_t answer[256];
    size_t answer_len;
} keep;

static int keep_send(void *ctx, uint8_t version, const uint8_t *pdu, size_t len)
{
    keep *k = ctx;
    if (pdu[0] != S7P_OP_NOTIFICATION && len <= sizeof k->answer) {
        memcpy(k->answer, pdu, len);
        k->answer_len = len;
    }
    return fake_send(&k->f, version, pdu, len);
}

static int keep_read(void *ctx, const s7p_address *a, uint8_t *buf, size_t cap, s7p_value *v, unsigned *dialect)
{
    return fake_read(&((keep *)ctx)->f, a, buf, cap, v, dialect);
}

static uint64_t setvar(srvsub *s, uint32_t id, const char *rest_hex, int *handled)
{
    uint8_t b[64];
    plcio_put_u32be(b, id);
    size_t n = 4 + plcio_test_hex(rest_hex, b + 4, sizeof b - 4);
    uint64_t ret = 99;
    *handled = srvsub_setvar(s, b, n, &ret);
    return ret;
}

static void test_sim_credits_changes_delete(void **state)
{
    (void)state;
    keep k;
    memset(&k, 0, sizeof k);
    got g;
    memset(&g, 0, sizeof g);
    srvsub_host h = {keep_read, keep_send, &k, NULL, 1};
    srvsub *s = srvsub_new();
    assert_non_null(s);
    s7p_address a[2] = {db1(0, 4), db1(60, 8)}; /* the second runs past the 64 bytes: an item error */
    memcpy(k.f.mem, "\x01\x02\x03\x04", 4);
    uint32_t id = 0;
    create(s, &h, &k.f, a, 2, false, 3);
    assert_int_equal(answer_of(k.answer, k.answer_len, &id), 0);
    assert_true(id != 0);
    k.f.client = client_with(id, 2, &g, -1); /* the client side reads what the simulator sends; it acks nothing */
    assert_int_equal(k.f.notes, 1);          /* the first notification: right after the answer */
    /* (it went before client_with: check it by decoding the last PDU) */
    assert_int_equal(csub_on_notification(k.f.client, NULL, k.f.last + 1, k.f.last_len - 1), PLCIO_OK);
    assert_int_equal(g.last.n, 2);
    assert_int_equal(g.last.credit_tick, 1);
    assert_memory_equal(g.bytes[0], "\x01\x02\x03\x04", 4);
    assert_int_equal(g.v[1].result, PLCIO_EPLC);
    assert_int_equal(g.v[1].error, 0x13);

    uint64_t now = 1000 * MS;
    /* nothing changed: on change only, nothing sent and no credit used */
    for (int i = 0; i < 5; i++, now += 10 * MS)
        assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    assert_int_equal(k.f.notes, 1);
    /* a change: one notification with that item only, at the next cycle */
    k.f.mem[1] = 0x22;
    assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    now += 10 * MS;
    assert_int_equal(k.f.notes, 2);
    assert_int_equal(g.last.n, 1);
    assert_int_equal(g.last.credit_tick, 2);
    assert_memory_equal(g.bytes[0], "\x01\x22\x03\x04", 4);
    /* a tick before the cycle is due sends nothing */
    k.f.mem[1] = 0x23;
    assert_int_equal(srvsub_tick(s, &h, now - 5 * MS), PLCIO_OK);
    assert_int_equal(k.f.notes, 2);
    assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    now += 10 * MS;
    assert_int_equal(k.f.notes, 3);
    assert_int_equal(g.last.credit_tick, 3);
    /* credit limit 3 reached: changes go on, notifications stop */
    for (int i = 0; i < 20; i++, now += 10 * MS) {
        k.f.mem[2] = (uint8_t)i;
        assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    }
    assert_int_equal(k.f.notes, 3);
    /* the client raises the limit (SetVariable 1053 := 5, Int): the latest value goes */
    int handled = 0;
    assert_int_equal(setvar(s, id, "01881d00070005", &handled), 0);
    assert_int_equal(handled, 1);
    assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    now += 10 * MS;
    assert_int_equal(k.f.notes, 4);
    assert_int_equal(g.last.credit_tick, 4);
    assert_int_equal(g.bytes[0][2], 19);
    /* SetVariable of another attribute, or a value that is no Int: refused, handled */
    assert_int_not_equal(setvar(s, id, "01881c00070005", &handled), 0);
    assert_int_equal(handled, 1);
    assert_int_not_equal(setvar(s, id, "01881d00040005", &handled), 0);
    assert_int_not_equal(setvar(s, id, "01881d0007", &handled), 0); /* cut */
    /* SetVariable on an object that is not a subscription: not ours */
    setvar(s, id + 100, "01881d00070005", &handled);
    assert_int_equal(handled, 0);
    /* delete: nothing more */
    assert_true(srvsub_delete(s, id));
    assert_false(srvsub_delete(s, id));
    assert_int_equal(srvsub_count(s), 0);
    k.f.mem[0] = 0x99;
    for (int i = 0; i < 5; i++, now += 10 * MS)
        assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    assert_int_equal(k.f.notes, 4);
    csub_free(k.f.client);
    srvsub_free(s);
}

static void test_sim_every_cycle_and_unlimited(void **state)
{
    (void)state;
    keep k;
    memset(&k, 0, sizeof k);
    srvsub_host h = {keep_read, keep_send, &k, NULL, 1};
    srvsub *s = srvsub_new();
    s7p_address a = db1(0, 2);
    uint32_t id = 0;
    create(s, &h, &k.f, &a, 1, true, -1);
    assert_int_equal(answer_of(k.answer, k.answer_len, &id), 0);
    got g;
    memset(&g, 0, sizeof g);
    k.f.client = client_with(id, 1, &g, -1);
    uint64_t now = 5 * MS;
    for (int i = 0; i < 300; i++, now += 10 * MS)
        assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    assert_int_equal(k.f.notes, 301);        /* the first, then one each cycle, never stopped */
    assert_int_equal(g.last.n, 0);           /* empty: nothing changed */
    assert_int_equal(g.last.credit_tick, 0); /* unlimited: the tick stays 0 */
    assert_int_equal(g.last.seq, 301);
    /* a stall of a second: one notification, not a burst of a hundred */
    now += 1000 * MS;
    assert_int_equal(srvsub_tick(s, &h, now), PLCIO_OK);
    assert_int_equal(srvsub_tick(s, &h, now + 1 * MS), PLCIO_OK);
    assert_int_equal(k.f.notes, 302);
    csub_free(k.f.client);
    srvsub_free(s);
}

static void test_sim_limits_and_malformed(void **state)
{
    (void)state;
    keep k;
    memset(&k, 0, sizeof k);
    srvsub_host h = {keep_read, keep_send, &k, NULL, 1};
    srvsub *s = srvsub_new();
    s7p_address a = db1(0, 1);
    uint32_t id = 0;
    for (unsigned i = 0; i < SRVSUB_MAX_SUBS; i++) {
        create(s, &h, &k.f, &a, 1, false, 10);
        assert_int_equal(answer_of(k.answer, k.answer_len, &id), 0);
    }
    create(s, &h, &k.f, &a, 1, false, 10);
    assert_int_equal(answer_of(k.answer, k.answer_len, &id), SRVSUB_ERR_LIMIT);
    assert_int_equal(srvsub_count(s), SRVSUB_MAX_SUBS);
    srvsub_free(s);

    /* too many items in one */
    s = srvsub_new();
    s7p_address *many = calloc(SRVSUB_MAX_ITEMS + 1, sizeof *many);
    assert_non_null(many);
    for (size_t i = 0; i <= SRVSUB_MAX_ITEMS; i++)
        many[i] = db1((uint32_t)(i % 64), 1);
    create(s, &h, &k.f, many, SRVSUB_MAX_ITEMS + 1, false, 10);
    assert_int_equal(answer_of(k.answer, k.answer_len, &id), SRVSUB_ERR_LIMIT);
    create(s, &h, &k.f, many, SRVSUB_MAX_ITEMS, false, 10);
    assert_int_equal(answer_of(k.answer, k.answer_len, &id), 0);
    free(many);
    srvsub_free(s);

    /* malformed subscription objects: refused with a return value; other classes are not ours */
    s = srvsub_new();
    s7p_header hd;
    memset(&hd, 0, sizeof hd);
    hd.function = S7P_FN_CREATE_OBJECT;
    static const char *const bad[] = {
        /* class 1001 without a reference list */
        "70000100000400 00000000 a1 7fffc001 8769 00 00 a3 8819 0004 0a a2 00000000",
        /* a reference list whose item head is wrong */
        "70000100000400 00000000 a1 7fffc001 8769 00 00 a3 8818 2004 04 8880848000 00 01 01 a2 00000000",
        /* python-snap7's form: fixed 4-byte words in a UDInt array */
        "70000100000400 00000000 a1 000000d3 8769 00 00 a3 8818 1004 02 8a0e0001 8a0e0002 a2 00000000",
        /* a credit limit below -1 */
        "70000100000400 00000000 a1 7fffc001 8769 00 00 a3 881d 0007 fff0 a2 00000000",
        /* the object never ends */
        "70000100000400 00000000 a1 7fffc001 8769 00 00 a3 8819 0004 0a",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[128];
        char hex[256];
        size_t o = 0;
        for (const char *p = bad[i]; *p; p++)
            if (*p != ' ') hex[o++] = *p;
        hex[o] = 0;
        size_t n = plcio_test_hex(hex, b, sizeof b);
        k.answer_len = 0;
        assert_int_equal(srvsub_create(s, &h, S7P_V1, &hd, b, n), PLCIO_OK);
        assert_true(k.answer_len > 0);
        assert_int_equal(answer_of(k.answer, k.answer_len, &id), SRVSUB_ERR_INVALID);
    }
    assert_int_equal(srvsub_count(s), 0);
    /* a CreateObject of another class, or garbage: not ours (the caller answers it) */
    uint8_t other[32];
    size_t n = plcio_test_hex("0000011d00040000000000a1000000d3821f000000a200000000", other, sizeof other);
    assert_int_equal(srvsub_create(s, &h, S7P_V1, &hd, other, n), 1);
    assert_int_equal(srvsub_create(s, &h, S7P_V1, &hd, other, 3), 1);
    srvsub_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_notifications),      cmocka_unit_test(test_bad_notifications),
        cmocka_unit_test(test_sim_credits_changes_delete), cmocka_unit_test(test_sim_every_cycle_and_unlimited),
        cmocka_unit_test(test_sim_limits_and_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
