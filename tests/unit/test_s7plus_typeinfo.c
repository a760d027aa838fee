/* S7CommPlus type information (VartypeList / VarnameList objects): what the
 * simulator encodes from a layout decodes into SCL that lays out the same
 * members with the same LID chains; truncated, corrupted and circular type
 * information gives errors, never a crash (run under ASan in CI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/layout.h"
#include "plcio_test.h"
#include "s7plus/s7p_sym.h"

static const char src[] = "TYPE \"U\"\n STRUCT\n  A : Int := 3;\n  B : Array[1..2] of Bool;\n END_STRUCT;\nEND_TYPE\n"
                          "DATA_BLOCK \"D\"\n{ S7_Optimized_Access := 'TRUE' }\n STRUCT\n"
                          "  X : Real;\n  S : String[7];\n  W : WString[3];\n  U1 : \"U\";\n"
                          "  Us : Array[0..1] of \"U\";\n  G : Array[1..2, 3..4] of LInt;\n"
                          "  N : Struct\n   Deep : Struct\n    Z : DTL;\n   END_STRUCT;\n  END_STRUCT;\n"
                          " END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";

static plcio_layout_set *parse(const char *text)
{
    plcio_layout_options o = {.accept_optimized = true};
    plcio_layout_set *set = NULL;
    assert_int_equal(plcio_layout_set_new(&o, &set, NULL), PLCIO_OK);
    if (plcio_layout_set_add_text(set, "t", text, strlen(text)) || plcio_layout_set_resolve(set))
        fail_msg("%s", plcio_layout_set_last_error(set)->text);
    return set;
}

static size_t encode(const plcio_layout_set *set, uint8_t *buf, size_t cap)
{
    plcio_wcursor w = plcio_wcursor_make(buf, cap);
    assert_int_equal(s7p_ti_encode(&w, set), PLCIO_OK);
    return plcio_wcursor_used(&w);
}

static void test_round_trip(void **state)
{
    (void)state;
    plcio_layout_set *set = parse(src);
    const plcio_layout *d = plcio_layout_set_find(set, "D");
    assert_non_null(d);
    assert_true(plcio_layout_is_optimized(d));
    static uint8_t buf[1 << 16];
    size_t n = encode(set, buf, sizeof buf);
    s7p_ti_set *ti = NULL;
    char msg[200] = "";
    assert_int_equal(s7p_ti_decode(buf, n, &ti, msg, sizeof msg), PLCIO_OK);
    char *scl = NULL;
    uint32_t rid = s7p_ti_db_rid(set, d);
    assert_int_not_equal(rid, 0);
    assert_int_equal(s7p_ti_scl(ti, rid, "D", &scl, msg, sizeof msg), PLCIO_OK);
    plcio_layout_set *back = parse(scl);
    const plcio_layout *b = plcio_layout_set_get(back, 0);
    assert_int_equal(plcio_layout_leaf_count(b), plcio_layout_leaf_count(d));
    for (size_t i = 0; i < plcio_layout_leaf_count(d); i++) {
        plcio_layout_member x, y;
        assert_int_equal(plcio_layout_leaf(d, i, &x), PLCIO_OK);
        assert_int_equal(plcio_layout_leaf(b, i, &y), PLCIO_OK);
        assert_string_equal(x.name, y.name);
        assert_int_equal(x.type, y.type);
        assert_int_equal(x.length, y.length);
        assert_int_equal(x.nlids, y.nlids);
        assert_memory_equal(x.lids, y.lids, x.nlids * sizeof x.lids[0]);
        /* and the simulator finds each member by its chain */
        plcio_type t;
        unsigned len;
        uint32_t bit;
        assert_int_equal(s7p_ti_member(d, x.lids, x.nlids, &t, &len, &bit), PLCIO_OK);
        assert_int_equal(t, x.type);
        assert_int_equal(bit, x.byte * 8u + (x.bit > 0 ? (uint32_t)x.bit : 0u));
    }
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(b, "Us[1].B[2]", &m), PLCIO_OK);
    uint32_t want[] = {14, 1, 1, 11, 1};
    assert_int_equal(m.nlids, 5);
    assert_memory_equal(m.lids, want, sizeof want);
    assert_int_equal(plcio_layout_lookup(b, "G[2,3]", &m), PLCIO_OK);
    assert_int_equal(m.lids[1], 2); /* last index fastest: (2-1)*2 + (3-3) */
    /* chains the simulator does not know */
    plcio_type t;
    unsigned len;
    uint32_t bit;
    uint32_t bad1[] = {99};
    uint32_t bad2[] = {14, 2, 1, 10}; /* element 2 of [0..1] */
    uint32_t bad3[] = {14, 0, 2, 10}; /* not the 1 after a struct element */
    uint32_t bad4[] = {13};           /* a whole struct */
    uint32_t bad5[] = {10, 1};        /* past a leaf */
    assert_int_equal(s7p_ti_member(d, bad1, 1, &t, &len, &bit), PLCIO_ENOTFOUND);
    assert_int_equal(s7p_ti_member(d, bad2, 4, &t, &len, &bit), PLCIO_ERANGE);
    assert_int_equal(s7p_ti_member(d, bad3, 4, &t, &len, &bit), PLCIO_ENOTFOUND);
    assert_int_equal(s7p_ti_member(d, bad4, 1, &t, &len, &bit), PLCIO_ETYPE);
    assert_int_equal(s7p_ti_member(d, bad5, 2, &t, &len, &bit), PLCIO_ENOTFOUND);
    free(scl);
    s7p_ti_free(ti);
    plcio_layout_set_free(back);
    plcio_layout_set_free(set);
}

/* Every truncation and every single-byte corruption: an error or a
 * well-formed result, never a crash or a leak. */
static void test_garbage(void **state)
{
    (void)state;
    plcio_layout_set *set = parse(src);
    uint32_t rid = s7p_ti_db_rid(set, plcio_layout_set_find(set, "D"));
    static uint8_t buf[1 << 16], copy[1 << 16];
    size_t n = encode(set, buf, sizeof buf);
    size_t errors = 0;
    for (size_t cut = 0; cut < n; cut++) {
        s7p_ti_set *ti = NULL;
        char msg[200];
        int rc = s7p_ti_decode(buf, cut, &ti, msg, sizeof msg);
        if (rc) {
            assert_null(ti);
            assert_true(msg[0] != '\0' || rc == PLCIO_ENOMEM);
            errors++;
            continue;
        }
        char *scl = NULL;
        if (s7p_ti_scl(ti, rid, "D", &scl, msg, sizeof msg) == PLCIO_OK) free(scl);
        s7p_ti_free(ti);
    }
    assert_true(errors > n / 2);
    for (size_t k = 0; k < n; k++) {
        for (unsigned v = 0; v < 256; v += 51) {
            memcpy(copy, buf, n);
            copy[k] ^= (uint8_t)(v | 1);
            s7p_ti_set *ti = NULL;
            char msg[200];
            if (s7p_ti_decode(copy, n, &ti, msg, sizeof msg)) continue;
            char *scl = NULL;
            if (s7p_ti_scl(ti, rid, "D", &scl, msg, sizeof msg) == PLCIO_OK) {
                /* what decodes must still parse or be refused with a message */
                plcio_layout_options o = {.accept_optimized = true};
                plcio_layout_set *s2 = NULL;
                assert_int_equal(plcio_layout_set_new(&o, &s2, NULL), PLCIO_OK);
                if (plcio_layout_set_add_text(s2, "t", scl, strlen(scl)) == PLCIO_OK)
                    (void)plcio_layout_set_resolve(s2);
                plcio_layout_set_free(s2);
                free(scl);
            }
            s7p_ti_free(ti);
        }
    }
    plcio_layout_set_free(set);
}

/* A type whose member refers to the type itself: refused, not recursed forever. */
static void test_circular(void **state)
{
    (void)state;
    uint8_t buf[256];
    plcio_wcursor w = plcio_wcursor_make(buf, sizeof buf);
    s7p_elem e;
    memset(&e, 0, sizeof e);
    e.tag = S7P_E_START_OBJECT;
    e.relation_id = 0x1234;
    e.class_id = S7P_ID_CLASS_TYPE_INFO;
    s7p_elem_encode(&w, &e);
    /* VartypeList: one block, first id, one struct element (kind 12) naming 0x1234 */
    static const uint8_t vt[] = {0xAB, 0, 4 + 12 + 32, 1, 0, 0, 0, 10, 0, 0, 0,    0,    0, 0, 0, 17,  0xC0, 0, 0, 0, 0,
                                 0,    0, 0,           0, 0, 0, 0, 0,  0, 0, 0x34, 0x12, 0, 0, 0, 0,   0,    0, 0, 0, 0,
                                 0,    0, 0,           0, 0, 0, 0, 0,  0, 0, 0,    0xAC, 0, 3, 1, 'x', 0,    0, 0};
    plcio_wcursor_write(&w, vt, sizeof vt);
    e.tag = S7P_E_END_OBJECT;
    s7p_elem_encode(&w, &e);
    s7p_ti_set *ti = NULL;
    char msg[200] = "";
    assert_int_equal(s7p_ti_decode(buf, plcio_wcursor_used(&w), &ti, msg, sizeof msg), PLCIO_OK);
    char *scl = NULL;
    assert_int_equal(s7p_ti_scl(ti, 0x1234, "D", &scl, msg, sizeof msg), PLCIO_ELIMIT);
    assert_null(scl);
    assert_non_null(strstr(msg, "circular"));
    assert_int_equal(s7p_ti_scl(ti, 0x9999, "D", &scl, msg, sizeof msg), PLCIO_EPROTO);
    s7p_ti_free(ti);
}

/* Values between S7 bytes and PValues: ranges and types checked. */
static void test_values(void **state)
{
    (void)state;
    uint8_t b[8] = {0xFF, 0xFE};
    s7p_value v;
    assert_int_equal(s7p_sym_to_pvalue(PLCIO_TYPE_INT, 0, b, 2, 0, &v), PLCIO_OK);
    assert_int_equal(v.type, S7P_T_INT);
    assert_int_equal(v.i, -2);
    uint8_t out[8];
    assert_int_equal(s7p_sym_from_pvalue(PLCIO_TYPE_INT, 0, &v, out, 2), PLCIO_OK);
    assert_memory_equal(out, b, 2);
    v.i = 40000;
    assert_int_equal(s7p_sym_from_pvalue(PLCIO_TYPE_INT, 0, &v, out, 2), PLCIO_ERANGE);
    v.type = S7P_T_REAL;
    assert_int_equal(s7p_sym_from_pvalue(PLCIO_TYPE_INT, 0, &v, out, 2), PLCIO_ETYPE);
    assert_int_equal(s7p_sym_to_pvalue(PLCIO_TYPE_DINT, 0, b, 2, 0, &v), PLCIO_ERANGE); /* 2 bytes for 4 */
    uint8_t s[6] = {4, 2, 'h', 'i', 0, 0};
    assert_int_equal(s7p_sym_to_pvalue(PLCIO_TYPE_STRING, 4, s, 6, 0, &v), PLCIO_OK);
    assert_int_equal(v.count, 6);
    v.size = 5; /* a USInt array of the wrong length */
    assert_int_equal(s7p_sym_from_pvalue(PLCIO_TYPE_STRING, 4, &v, out, 6), PLCIO_ERANGE);
    uint8_t bit = 0x08;
    assert_int_equal(s7p_sym_to_pvalue(PLCIO_TYPE_BOOL, 0, &bit, 1, 3, &v), PLCIO_OK);
    assert_int_equal(v.u, 1);
    v.u = 2;
    assert_int_equal(s7p_sym_from_pvalue(PLCIO_TYPE_BOOL, 0, &v, out, 1), PLCIO_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip), cmocka_unit_test(test_garbage),
                                       cmocka_unit_test(test_circular), cmocka_unit_test(test_values)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
