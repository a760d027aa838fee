/* Robustness: random truncations and mutations of every layout fixture (and
 * of a few sources of our own) must give an error or a consistent layout:
 * never a crash, a hang or a read out of bounds (run under ASan/UBSan by
 * `make test-asan`). Deterministic: a fixed seed, a bounded count. */
#include <stdlib.h>
#include <string.h>

#include "plcio_test.h"
#include "plcio/layout.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static const char *const fixture_files[] = {"layouts/seed_db_data_exchange.db",
                                            "layouts/seed_db_data_exchange_tablecopy.tsv",
                                            "layouts/test_db.db",
                                            "layouts/db_main.db",
                                            "layouts/udt_barcode.udt",
                                            "layouts/udt_database.udt",
                                            "layouts/udt_synthetic.scl"};

static const char *const own_sources[] = {
    ("DATA_BLOCK DB 9\r\nTITLE = x's\r\nSTRUCT\r\n a : ARRAY [1 .. 3 ] OF STRUCT b : BOOL; c : STRING [3 ]; END_STRUCT "
     ";\r\n"
     " d : DATE_AND_TIME := DT#90-1-1-0:0:0.0;\r\n s : S5TIME := S5T#1S;\r\nEND_STRUCT ;\r\nBEGIN\r\n a[2].b := "
     "TRUE;\r\n"
     " a[3].c := 'ab';\r\nEND_DATA_BLOCK\r\n"),
    ("FUNCTION_BLOCK \"F\"\n{ S7_Optimized_Access := 'FALSE' }\nVAR_INPUT\n i : Int := 3;\nEND_VAR\nVAR\n m : "
     "Array[0..1, 0..2] of "
     "Bool := [TRUE, 2(FALSE), TRUE];\n w : WString[3] := WSTRING#'x';\nEND_VAR\nBEGIN\n #i := 1;\nEND_FUNCTION_BLOCK\n"
     "DATA_BLOCK \"I\"\n\"F\"\nBEGIN\n m[1,2] := TRUE;\nEND_DATA_BLOCK\n"),
    ("\tStatic\t\t\t\n\tn\tInt\t0.0\t1\n\ts\tStruct\t2.0\t\n\t  x\tBool\t2.0\tTRUE\n\ta\tArray[0..1] of Real\t4.0\t\n"
     "\ta[0]\tReal\t4.0\t1.5\n\ta[1]\tReal\t8.0\t2.5\n\tt\tTime\t12.0\tT#1s\n"),
    ("\tStatic\t\t\t\n\tarr\tArray[1..2] of Struct\t0.0\t\n\t  arr[1]\tStruct\t0.0\t\n\t    v\tInt\t0.0\t5\n"
     "\t  arr[2]\tStruct\t2.0\t\n\t    v\tInt\t2.0\t6\n\tz\tBool\t4.0\tTRUE\n"),
};

/* Everything a consumer does with a layout must hold on whatever resolved. */
static void exercise(const plcio_layout_set *set)
{
    for (size_t d = 0; d < plcio_layout_set_count(set) + plcio_layout_set_type_count(set); d++) {
        const plcio_layout *l = d < plcio_layout_set_count(set)
                                    ? plcio_layout_set_get(set, d)
                                    : plcio_layout_set_type(set, d - plcio_layout_set_count(set));
        uint32_t size = plcio_layout_size(l);
        assert_true(size <= PLCIO_LAYOUT_MAX_DB_SIZE);
        uint8_t *img = malloc(size ? size : 1);
        assert_non_null(img);
        assert_int_equal(plcio_layout_start_image(l, img, size), 0);
        uint64_t prev = 0;
        for (size_t i = 0; i < plcio_layout_leaf_count(l); i++) {
            plcio_layout_member m, again;
            assert_int_equal(plcio_layout_leaf(l, i, &m), 0);
            assert_true((uint64_t)m.byte + m.size <= size);
            uint64_t at = (uint64_t)m.byte * 8 + (m.bit > 0 ? (unsigned)m.bit : 0);
            assert_true(i == 0 || at > prev);
            prev = at;
            assert_int_equal(plcio_layout_lookup(l, m.name, &again), 0);
            assert_int_equal(again.byte, m.byte);
            assert_int_equal(again.bit, m.bit);
            char buf[256];
            int rc = plcio_layout_format_value(&m, img, size, buf, sizeof buf, i & 1 ? PLCIO_LAYOUT_JSON : 0);
            assert_true(rc == PLCIO_OK || rc == PLCIO_ENOSPC);
        }
        free(img);
    }
}

static int run_one(const char *name, const char *text, size_t len, const char *extra)
{
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_non_null(set);
    int rc = PLCIO_OK;
    if (extra) rc = plcio_layout_set_add_text(set, "extra.udt", extra, strlen(extra));
    if (rc == PLCIO_OK) rc = plcio_layout_set_add_text(set, name, text, len);
    if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(set);
    if (rc == PLCIO_OK) {
        exercise(set);
    } else {
        const char *msg = plcio_layout_set_last_error(set)->text;
        assert_true(rc < 0);
        assert_true(msg[0] != '\0'); /* every failure says why */
    }
    plcio_layout_set_free(set);
    return rc;
}

static const char alphabet[] = ";:=[](){}.,'\"\t\n\r#$*/-_ 019aZ";

static void mutate(char *buf, size_t *len, size_t cap)
{
    unsigned ops = 1 + rnd(4);
    for (unsigned k = 0; k<ops && * len> 0; k++) {
        size_t at = rnd((uint32_t)*len);
        switch (rnd(5)) {
        case 0: buf[at] = alphabet[rnd(sizeof alphabet - 1)]; break;
        case 1: buf[at] = (char)rnd(256); break;
        case 2: /* delete a run */ {
            size_t n = 1 + rnd(8);
            if (at + n > *len) n = *len - at;
            memmove(buf + at, buf + at + n, *len - at - n);
            *len -= n;
            break;
        }
        case 3: /* insert a character */
            if (*len + 1 < cap) {
                memmove(buf + at + 1, buf + at, *len - at);
                buf[at] = alphabet[rnd(sizeof alphabet - 1)];
                (*len)++;
            }
            break;
        default: /* duplicate a chunk */ {
            size_t n = 1 + rnd(40);
            if (at + n > *len) n = *len - at;
            if (*len + n < cap) {
                memmove(buf + at + n, buf + at, *len - at);
                (*len) += n;
            }
            break;
        }
        }
    }
}

static void fuzz_text(const char *name, const char *text, size_t len, const char *extra)
{
    size_t cap = len * 2 + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int rc = run_one(name, text, len, extra);
    if (rc) fail_msg("%s does not resolve (%d)", name, rc); /* the original must */
    for (int i = 0; i < 120; i++)
        run_one(name, text, rnd((uint32_t)len + 1), extra); /* truncations */
    for (int i = 0; i < 250; i++) {
        memcpy(buf, text, len);
        size_t n = len;
        mutate(buf, &n, cap);
        run_one(name, buf, n, extra);
    }
    free(buf);
}

static void test_fuzz_fixtures(void **state)
{
    (void)state;
    char *barcode = plcio_test_read_file(plcio_test_fixture_path("layouts/udt_barcode.udt"), NULL);
    assert_non_null(barcode);
    for (size_t f = 0; f < sizeof fixture_files / sizeof fixture_files[0]; f++) {
        size_t len;
        char *text = plcio_test_read_file(plcio_test_fixture_path(fixture_files[f]), &len);
        assert_non_null(text);
        bool needs_barcode = strstr(fixture_files[f], "udt_database") != NULL;
        fuzz_text(fixture_files[f], text, len, needs_barcode ? barcode : NULL);
        free(text);
    }
    free(barcode);
}

static void test_fuzz_own(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof own_sources / sizeof own_sources[0]; i++)
        fuzz_text(i >= 2 ? "own.tsv" : "own.scl", own_sources[i], strlen(own_sources[i]), NULL);
}

/* Hostile shapes: deep nesting, long chains of UDTs, huge repeat counts. */
static void test_hostile(void **state)
{
    (void)state;
    size_t n = 200000;
    char *deep = malloc(n * 16 + 256);
    assert_non_null(deep);
    size_t len = (size_t)sprintf(deep, "DATA_BLOCK \"D\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(deep + len, "a : Struct\n");
    assert_int_equal(run_one("deep.scl", deep, len, NULL), PLCIO_ELIMIT);
    len = (size_t)sprintf(deep, "DATA_BLOCK \"D\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\na:");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(deep + len, "Array[1..1]of ");
    assert_int_equal(run_one("deep2.scl", deep, len, NULL), PLCIO_ELIMIT);
    /* a chain of 2000 UDTs, each holding the next */
    len = 0;
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(deep + len, "TYPE \"T%d\"\nSTRUCT\n x : \"T%d\";\nEND_STRUCT;\nEND_TYPE\n", i, i + 1);
    len += (size_t)sprintf(deep + len, "TYPE \"T2000\"\nSTRUCT\n y : Int;\nEND_STRUCT;\nEND_TYPE\n");
    assert_int_equal(run_one("chain.udt", deep, len, NULL), PLCIO_ELIMIT);
    const char *rep = "DATA_BLOCK \"R\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\n a : Array[1..4] of Int := "
                      "[999999(1)];\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    assert_int_equal(run_one("rep.scl", rep, strlen(rep), NULL), PLCIO_ERANGE);
    /* the largest DB: 65534 bytes of bits (a DB's length is even) */
    const char *big = "DATA_BLOCK \"B\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\n a : Array[0..524271] of Bool;\n"
                      "END_STRUCT;\nBEGIN\n a[524271] := TRUE;\nEND_DATA_BLOCK\n";
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "big.scl", big, strlen(big)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), 0);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_int_equal(plcio_layout_size(l), 65534);
    assert_int_equal(plcio_layout_leaf_count(l), 524272);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "a[524271]", &m), 0);
    assert_int_equal(m.byte, 65533);
    assert_int_equal(m.bit, 7);
    assert_string_equal(m.start, "TRUE");
    plcio_layout_set_free(set);
    const char *over = "DATA_BLOCK \"B\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\n a : Array[0..524272] of Bool;\n"
                       "END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "over.scl", over, strlen(over)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_ERANGE);
    plcio_layout_set_free(set);
    free(deep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuzz_fixtures),
        cmocka_unit_test(test_fuzz_own),
        cmocka_unit_test(test_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
