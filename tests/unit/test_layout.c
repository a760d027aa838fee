/* Layouts: the real exports in tests/fixtures/layouts (offsets TIA printed
 * for DB_data_exchange, SCL and table copy giving the same layout), our own
 * cases with offsets worked out from the rules in docs/layout-offsets.md,
 * lookups and start values. Errors are in test_layout_errors.c, robustness
 * in test_layout_fuzz.c. */
#include <stdlib.h>
#include <string.h>

#include "plcio_test.h"
#include "plcio/layout.h"

static plcio_layout_set *load_files(const char *const *files, size_t n, bool assume_standard)
{
    plcio_layout_options o = {.assume_standard = assume_standard};
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(&o, &set, NULL);
    assert_non_null(set);
    for (size_t i = 0; i < n; i++) {
        int rc = plcio_layout_set_add_file(set, plcio_test_fixture_path(files[i]));
        if (rc) fail_msg("%s: %s", files[i], plcio_layout_set_last_error(set)->text);
    }
    int rc = plcio_layout_set_resolve(set);
    if (rc) fail_msg("%s", plcio_layout_set_last_error(set)->text);
    return set;
}

/* One or more texts ("name", "text", ...). */
static plcio_layout_set *load_texts(const char *const *pairs, size_t npairs)
{
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_non_null(set);
    for (size_t i = 0; i < npairs; i++) {
        int rc = plcio_layout_set_add_text(set, pairs[2 * i], pairs[2 * i + 1], strlen(pairs[2 * i + 1]));
        if (rc) fail_msg("%s", plcio_layout_set_last_error(set)->text);
    }
    int rc = plcio_layout_set_resolve(set);
    if (rc) fail_msg("%s", plcio_layout_set_last_error(set)->text);
    return set;
}

static plcio_layout_set *load_text(const char *text)
{
    const char *pairs[] = {"t.scl", text};
    return load_texts(pairs, 1);
}

static void expect_at(const plcio_layout *l, const char *name, unsigned byte, int bit, unsigned size)
{
    plcio_layout_member m;
    int rc = plcio_layout_lookup(l, name, &m);
    if (rc) fail_msg("%s: lookup failed (%d)", name, rc);
    if (m.byte != byte || m.bit != bit || m.size != size)
        fail_msg("%s: got %u.%d size %u, expected %u.%d size %u", name, m.byte, m.bit, m.size, byte, bit, size);
}

/* ---------------------------------------------------------------- fixtures */

static const char *const exchange_names[] = {"Power",       "Power_ON",    "bool_data2",  "bool_data3",  "bool_data4",
                                             "bool_data5",  "bool_data6",  "bool_data7",  "bool_data8",  "bool_data9",
                                             "bool_data10", "bool_data11", "bool_data12", "bool_data13", "bool_data14",
                                             "bool_data15", "bool_data16", "bool_data17", "bool_data18"};

/* Offsets TIA printed for DB_data_exchange (SOURCES.md). */
static void check_exchange(const plcio_layout *l)
{
    assert_int_equal(plcio_layout_size(l), 48);
    assert_int_equal(plcio_layout_leaf_count(l), 38);
    for (unsigned i = 0; i < 19; i++)
        expect_at(l, exchange_names[i], i / 8, (int)(i % 8), 1);
    expect_at(l, "byte_data0", 3, -1, 1);
    expect_at(l, "byte_data1", 4, -1, 1);
    expect_at(l, "byte_data2", 5, -1, 1);
    expect_at(l, "byte_data3", 6, -1, 1);
    expect_at(l, "Release_valve", 8, -1, 2);
    expect_at(l, "int_data1", 10, -1, 2);
    expect_at(l, "int_data4", 16, -1, 2);
    expect_at(l, "word_data0", 18, -1, 2);
    expect_at(l, "word_data4", 26, -1, 2);
    expect_at(l, "Tank_level", 28, -1, 4);
    expect_at(l, "real_data1", 32, -1, 4);
    expect_at(l, "real_data4", 44, -1, 4);
}

static void test_fixture_exchange_scl(void **state)
{
    (void)state;
    const char *f[] = {"layouts/seed_db_data_exchange.db"};
    plcio_layout_set *set = load_files(f, 1, false);
    assert_int_equal(plcio_layout_set_count(set), 1);
    const plcio_layout *l = plcio_layout_set_find(set, "DB_data_exchange");
    assert_non_null(l);
    assert_int_equal(plcio_layout_db_number(l), -1);
    check_exchange(l);
    plcio_layout_set_free(set);
}

static void test_fixture_exchange_table(void **state)
{
    (void)state;
    const char *f[] = {"layouts/seed_db_data_exchange_tablecopy.tsv"};
    plcio_layout_set *set = load_files(f, 1, false);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_string_equal(plcio_layout_name(l), "seed_db_data_exchange_tablecopy");
    check_exchange(l);
    plcio_layout_set_free(set);
}

static void test_fixture_exchange_same_layout(void **state)
{
    (void)state;
    const char *f[] = {"layouts/seed_db_data_exchange.db", "layouts/seed_db_data_exchange_tablecopy.tsv"};
    plcio_layout_set *set = load_files(f, 2, false);
    assert_int_equal(plcio_layout_set_count(set), 2);
    const plcio_layout *a = plcio_layout_set_get(set, 0), *b = plcio_layout_set_get(set, 1);
    assert_int_equal(plcio_layout_size(a), plcio_layout_size(b));
    assert_int_equal(plcio_layout_leaf_count(a), plcio_layout_leaf_count(b));
    for (size_t i = 0; i < plcio_layout_leaf_count(a); i++) {
        plcio_layout_member x, y;
        assert_int_equal(plcio_layout_leaf(a, i, &x), 0);
        assert_int_equal(plcio_layout_leaf(b, i, &y), 0);
        assert_string_equal(x.name, y.name);
        assert_int_equal(x.type, y.type);
        assert_int_equal(x.byte, y.byte);
        assert_int_equal(x.bit, y.bit);
        assert_int_equal(x.size, y.size);
    }
    /* start images agree too (the table copy prints false / 16#0 / 0 / 0.0) */
    uint8_t ia[48], ib[48];
    assert_int_equal(plcio_layout_start_image(a, ia, sizeof ia), 0);
    assert_int_equal(plcio_layout_start_image(b, ib, sizeof ib), 0);
    assert_memory_equal(ia, ib, sizeof ia);
    plcio_layout_set_free(set);
}

static void test_fixture_test_db(void **state)
{
    (void)state;
    const char *f[] = {"layouts/test_db.db"};
    plcio_layout_set *set = load_files(f, 1, false);
    const plcio_layout *l = plcio_layout_set_find(set, "test_db");
    assert_non_null(l);
    assert_int_equal(plcio_layout_size(l), 18);
    expect_at(l, "vx_scaled", 0, -1, 4);
    expect_at(l, "vy_scaled", 4, -1, 4);
    expect_at(l, "vz_scaled", 8, -1, 4);
    expect_at(l, "bool_1", 12, 0, 1);
    expect_at(l, "bool_4", 12, 3, 1);
    expect_at(l, "int_1", 14, -1, 2);
    expect_at(l, "int_2", 16, -1, 2);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "int_2", &m), 0);
    assert_string_equal(m.start, "74");
    uint8_t img[18];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t want[18] = {0x40, 0x80, 0, 0, 0x40, 0xA0, 0, 0, 0x40, 0xC0, 0, 0, 0x06, 0, 0, 21, 0, 74};
    assert_memory_equal(img, want, sizeof want);
    plcio_layout_set_free(set);
}

static void test_fixture_db_main(void **state)
{
    (void)state;
    const char *f[] = {"layouts/db_main.db"};
    plcio_layout_set *set = load_files(f, 1, false);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_int_equal(plcio_layout_size(l), 12);
    expect_at(l, "r_setpoint_anemometer", 0, -1, 4);
    expect_at(l, "r_scaled_AI_anemometer", 4, -1, 4);
    expect_at(l, "b_control_man_aut", 8, 0, 1);
    expect_at(l, "b_fan_enable", 8, 1, 1);
    expect_at(l, "r_fan_power_percent", 10, -1, 2);
    plcio_layout_set_free(set);
}

static void test_fixture_udt_synthetic(void **state)
{
    (void)state;
    const char *f[] = {"layouts/udt_synthetic.scl"};
    plcio_layout_set *set = load_files(f, 1, false);
    assert_int_equal(plcio_layout_set_count(set), 1);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_string_equal(plcio_layout_name(l), "udt_db");
    /* udt_Motor 26 bytes, udt_Station 54 (the file's appendix) */
    expect_at(l, "lead_in", 0, -1, 2);
    expect_at(l, "motor.Speed", 2, -1, 2);
    expect_at(l, "motor.Running", 4, 0, 1);
    expect_at(l, "motor.Name", 6, -1, 22);
    expect_at(l, "motor", 2, -1, 26);
    expect_at(l, "station", 28, -1, 54);
    expect_at(l, "station.m1.Speed", 28, -1, 2);
    expect_at(l, "station.m2.Name", 58, -1, 22);
    expect_at(l, "station.station_id", 80, -1, 2);
    expect_at(l, "tail", 82, -1, 2);
    assert_int_equal(plcio_layout_size(l), 84);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "station.m1.Speed", &m), 0);
    assert_string_equal(m.start, "200");
    assert_int_equal(plcio_layout_lookup(l, "Motor.speed", &m), 0); /* case-insensitive */
    assert_string_equal(m.start, "100");
    assert_int_equal(plcio_layout_set_type_count(set), 2);
    plcio_layout_set_free(set);
}

static uint32_t type_size(const plcio_layout_set *set, const char *name)
{
    for (size_t i = 0; i < plcio_layout_set_type_count(set); i++)
        if (!strcmp(plcio_layout_name(plcio_layout_set_type(set, i)), name))
            return plcio_layout_size(plcio_layout_set_type(set, i));
    fail_msg("no type %s", name);
    return 0;
}

static void test_fixture_udt_database(void **state)
{
    (void)state;
    /* UDT_DATABASE uses UDT_BARCODE* from the other file: give them in either order */
    const char *f[] = {"layouts/udt_database.udt", "layouts/udt_barcode.udt"};
    plcio_layout_set *set = load_files(f, 2, false);
    assert_int_equal(plcio_layout_set_count(set), 0);
    assert_int_equal(plcio_layout_set_type_count(set), 11);
    assert_int_equal(type_size(set, "UDT_BARCODE_SCANNER"), 2);
    assert_int_equal(type_size(set, "UDT_BARCODE_CODE"), 14);
    assert_int_equal(type_size(set, "UDT_BARCODE"), 16);
    assert_int_equal(type_size(set, "UDT_DATABASE_TABLE"), 24);
    assert_int_equal(type_size(set, "UDT_DATABASE_M_REQUEST"), 50);
    assert_int_equal(type_size(set, "UDT_DATABASE_M_RESPONSE"), 106);
    assert_int_equal(type_size(set, "UDT_DATABASE_M_STATUS"), 18);
    assert_int_equal(type_size(set, "UDT_DATABASE_DB_LIST"), 14);
    assert_int_equal(type_size(set, "UDT_DATABASE_DB_LIST_CONFIG"), 12);
    assert_int_equal(type_size(set, "UDT_DATABASE_CTRL"), 68);
    assert_int_equal(type_size(set, "UDT_DATABASE_M"), 182);
    const plcio_layout *st = NULL, *ctrl = NULL;
    for (size_t i = 0; i < plcio_layout_set_type_count(set); i++) {
        const plcio_layout *t = plcio_layout_set_type(set, i);
        if (!strcmp(plcio_layout_name(t), "UDT_DATABASE_M_STATUS")) st = t;
        if (!strcmp(plcio_layout_name(t), "UDT_DATABASE_CTRL")) ctrl = t;
    }
    assert_non_null(st);
    assert_non_null(ctrl);
    expect_at(st, "Perm.Insert_nDB[6]", 0, 5, 1);
    expect_at(st, "Perm.Out_nDB[1]", 2, 0, 1);
    expect_at(st, "Perm.Insert", 6, 0, 1);
    expect_at(st, "Mem.Enabled", 8, 0, 1);
    expect_at(st, "Mem.Full_nDB[1]", 10, 0, 1);
    expect_at(st, "Mem.FillAll", 12, 0, 1);
    expect_at(st, "Mem.SelctBBDDNum", 14, -1, 2);
    expect_at(st, "DataError", 16, 1, 1);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(st, "Mem.Enabled", &m), 0);
    assert_string_equal(m.start, "TRUE");
    uint8_t img[18];
    assert_int_equal(plcio_layout_start_image(st, img, sizeof img), 0);
    assert_int_equal(img[8], 1);
    expect_at(ctrl, "REQUEST.Auto.Data.Code.Digit[13]", 4 + 2 + 12, -1, 1);
    expect_at(ctrl, "REQUEST.Auto.DataBarcodeCode[2].Digit[1]", 4 + 24 + 14, -1, 1);
    expect_at(ctrl, "REQUEST.Auto.Status[2]", 4 + 58, -1, 2);
    expect_at(ctrl, "RES01", 64, -1, 4);
    plcio_layout_set_free(set);
}

/* ------------------------------------------------------------- own cases */

/* Every elementary type after a BOOL: 1-byte types go to byte 1, the rest to
 * byte 2; the DB length is the end rounded up to even. */
/* Each elementary type right after a Bool at 0.0, in a standard-access DB:
 * where it starts, how long it is, the DB length. Literals, not computed by
 * the code under test: the 1-byte types start at the next byte, everything
 * else at the next even byte, and the DB length is even; TIA prints exactly
 * this for Bool -> Byte (3.0 after 2.2), Byte -> Int (8.0 after 6.0) and
 * Word -> Real (28.0) in tests/fixtures/layouts/seed_db_data_exchange_tablecopy.tsv. */
static const struct {
    const char *type;
    unsigned at, size, db_len;
} after_bool[] = {
    {"Bool", 0, 1, 2},   {"Byte", 1, 1, 2},           {"Word", 2, 2, 4},         {"DWord", 2, 4, 6},
    {"LWord", 2, 8, 10}, {"SInt", 1, 1, 2},           {"USInt", 1, 1, 2},        {"Int", 2, 2, 4},
    {"UInt", 2, 2, 4},   {"DInt", 2, 4, 6},           {"UDInt", 2, 4, 6},        {"LInt", 2, 8, 10},
    {"ULInt", 2, 8, 10}, {"Real", 2, 4, 6},           {"LReal", 2, 8, 10},       {"Char", 1, 1, 2},
    {"WChar", 2, 2, 4},  {"String[4]", 2, 6, 8},      {"WString[4]", 2, 12, 14}, {"Time", 2, 4, 6},
    {"LTime", 2, 8, 10}, {"S5Time", 2, 2, 4},         {"Date", 2, 2, 4},         {"Time_Of_Day", 2, 4, 6},
    {"LTOD", 2, 8, 10},  {"Date_And_Time", 2, 8, 10}, {"LDT", 2, 8, 10},         {"DTL", 2, 12, 14},
};

static void test_every_type_after_bool(void **state)
{
    (void)state;
    assert_int_equal(sizeof after_bool / sizeof after_bool[0], PLCIO_TYPE_COUNT_); /* every type, once */
    for (size_t i = 0; i < sizeof after_bool / sizeof after_bool[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "DATA_BLOCK \"D\" { S7_Optimized_Access := 'FALSE' }\nSTRUCT\n  b : Bool;\n  x : %s;\nEND_STRUCT;\n"
                 "BEGIN\nEND_DATA_BLOCK\n",
                 after_bool[i].type);
        plcio_layout_set *set = load_text(text);
        const plcio_layout *l = plcio_layout_set_get(set, 0);
        bool is_bool = i == 0;
        expect_at(l, "x", after_bool[i].at, is_bool ? 1 : -1, after_bool[i].size);
        assert_int_equal(plcio_layout_size(l), after_bool[i].db_len);
        plcio_layout_set_free(set);
    }
}

static const char *const std_head = "DATA_BLOCK \"D\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\nNON_RETAIN\n";

static plcio_layout_set *load_body(const char *body)
{
    size_t cap = strlen(std_head) + strlen(body) + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap, "%s%s", std_head, body);
    plcio_layout_set *set = load_text(text);
    free(text);
    return set;
}

static void test_strings_odd_even(void **state)
{
    (void)state;
    plcio_layout_set *set = load_body("STRUCT\n a : Bool;\n s : String[3];\n c : Byte;\n w : WString[3];\n"
                                      " e : String[4];\n n : String;\n k : Char;\nEND_STRUCT;\nBEGIN\n s := 'ab';\n"
                                      " w := WSTRING#'xyz';\nEND_DATA_BLOCK\n");
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "s", 2, -1, 5);
    expect_at(l, "c", 7, -1, 1);
    expect_at(l, "w", 8, -1, 10);
    expect_at(l, "e", 18, -1, 6);
    expect_at(l, "n", 24, -1, 256);
    expect_at(l, "k", 280, -1, 1);
    assert_int_equal(plcio_layout_size(l), 282);
    uint8_t img[282];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t s[] = {3, 2, 'a', 'b', 0};
    assert_memory_equal(img + 2, s, sizeof s);
    const uint8_t w[] = {0, 3, 0, 3, 0, 'x', 0, 'y', 0, 'z'};
    assert_memory_equal(img + 8, w, sizeof w);
    assert_int_equal(img[18], 4); /* default: header with the max length */
    assert_int_equal(img[19], 0);
    assert_int_equal(img[24], 254);
    plcio_layout_set_free(set);
}

static void test_arrays_of_bool(void **state)
{
    (void)state;
    plcio_layout_set *set = load_body("STRUCT\n f : Array[0..9] of Bool;\n x : Bool;\n y : Byte;\n"
                                      " m : Array[1..2, 1..3] of Bool;\n z : Bool;\n"
                                      " g : Array[1..16] of Bool := [2(TRUE), 13(FALSE), TRUE];\nEND_STRUCT;\n"
                                      "BEGIN\n f[9] := TRUE;\n m[2,3] := TRUE;\nEND_DATA_BLOCK\n");
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "f[0]", 0, 0, 1);
    expect_at(l, "f[9]", 1, 1, 1);
    expect_at(l, "x", 2, 0, 1); /* after an ARRAY OF BOOL: next even byte */
    expect_at(l, "y", 3, -1, 1);
    expect_at(l, "m[1,1]", 4, 0, 1);
    expect_at(l, "m[1,3]", 4, 2, 1);
    expect_at(l, "m[2,1]", 4, 3, 1); /* dimensions packed together, last index fastest */
    expect_at(l, "m[2,3]", 4, 5, 1);
    expect_at(l, "z", 6, 0, 1);
    expect_at(l, "g[16]", 9, 7, 1);
    assert_int_equal(plcio_layout_size(l), 10);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "f", &m), 0);
    assert_int_equal(m.kind, PLCIO_LAYOUT_ARRAY);
    assert_int_equal(m.count, 10);
    assert_int_equal(m.size, 2);
    assert_int_equal(m.type, PLCIO_TYPE_BOOL);
    uint8_t img[10];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t want[10] = {0, 0x02, 0, 0, 0x20, 0, 0, 0, 0x03, 0x80};
    assert_memory_equal(img, want, sizeof want);
    plcio_layout_set_free(set);
}

static void test_odd_arrays(void **state)
{
    (void)state;
    plcio_layout_set *set = load_body("STRUCT\n a : Array[1..3] of Byte;\n b : Byte;\n"
                                      " s : Array[1..2] of String[3];\n c : Array[-1..1] of Char := ['x', 'y'];\n"
                                      " i : Array[1..3] of Int := [1, 2, 3];\nEND_STRUCT;\nBEGIN\n s[2] := 'q';\n"
                                      "END_DATA_BLOCK\n");
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "a[3]", 2, -1, 1);
    expect_at(l, "b", 4, -1, 1); /* an array ends on an even byte */
    expect_at(l, "s[1]", 6, -1, 5);
    expect_at(l, "s[2]", 12, -1, 5); /* STRING[odd] elements padded to even */
    expect_at(l, "c[-1]", 18, -1, 1);
    expect_at(l, "c[1]", 20, -1, 1);
    expect_at(l, "i[3]", 26, -1, 2);
    assert_int_equal(plcio_layout_size(l), 28);
    uint8_t img[28];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    assert_int_equal(img[12], 3);
    assert_int_equal(img[13], 1);
    assert_int_equal(img[14], 'q');
    assert_int_equal(img[18], 'x');
    assert_int_equal(img[19], 'y');
    assert_int_equal(img[25], 2);
    plcio_layout_set_free(set);
}

static void test_arrays_of_structs(void **state)
{
    (void)state;
    plcio_layout_set *set =
        load_body("STRUCT\n n : Byte;\n Recipe : Array[1..3] of Struct\n   Temp : Real;\n"
                  "   On : Bool;\n END_STRUCT;\n M : Array[0..1, 0..2] of Int;\n Flags : Array[0..7] of Bool;\n"
                  "END_STRUCT;\nBEGIN\n Recipe[3].Temp := 2.5;\n M[1,2] := -4;\nEND_DATA_BLOCK\n");
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "Recipe[1].Temp", 2, -1, 4);
    expect_at(l, "Recipe[1].On", 6, 0, 1);
    expect_at(l, "Recipe[2].Temp", 8, -1, 4);
    expect_at(l, "Recipe[3].Temp", 14, -1, 4);
    expect_at(l, "Recipe[3].On", 18, 0, 1);
    expect_at(l, "Recipe[3]", 14, -1, 6);
    expect_at(l, "M[0,0]", 20, -1, 2);
    expect_at(l, "M[1,2]", 30, -1, 2);
    expect_at(l, "M[ 1 , 2 ]", 30, -1, 2);
    expect_at(l, "Flags[5]", 32, 5, 1);
    assert_int_equal(plcio_layout_size(l), 34);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "Recipe[4].Temp", &m), PLCIO_ERANGE);
    assert_int_equal(plcio_layout_lookup(l, "Recipe[0]", &m), PLCIO_ERANGE);
    assert_int_equal(plcio_layout_lookup(l, "M[1]", &m), PLCIO_ERANGE);
    assert_int_equal(plcio_layout_lookup(l, "Recipe[1].Missing", &m), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_layout_lookup(l, "Nope", &m), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_layout_lookup(l, "Recipe[1", &m), PLCIO_ESYNTAX);
    assert_int_equal(plcio_layout_lookup(l, "Recipe..x", &m), PLCIO_ESYNTAX);
    assert_int_equal(plcio_layout_lookup(l, "Recipe", &m), 0);
    assert_int_equal(m.kind, PLCIO_LAYOUT_ARRAY);
    assert_int_equal(m.type, PLCIO_TYPE_COUNT_);
    assert_null(m.name);
    assert_int_equal(plcio_layout_lookup(l, "Recipe[2]", &m), 0);
    assert_int_equal(m.kind, PLCIO_LAYOUT_STRUCT);
    uint8_t img[34];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t t[] = {0x40, 0x20, 0, 0};
    assert_memory_equal(img + 14, t, 4);
    assert_int_equal(img[30], 0xFF);
    assert_int_equal(img[31], 0xFC);
    /* leaves in address order, with full names */
    plcio_layout_member first, last;
    assert_int_equal(plcio_layout_leaf(l, 1, &first), 0);
    assert_string_equal(first.name, "Recipe[1].Temp");
    size_t n = plcio_layout_leaf_count(l);
    assert_int_equal(n, 1 + 6 + 6 + 8);
    assert_int_equal(plcio_layout_leaf(l, n - 1, &last), 0);
    assert_string_equal(last.name, "Flags[7]");
    assert_int_equal(plcio_layout_leaf(l, n, &last), PLCIO_ERANGE);
    plcio_layout_set_free(set);
}

static void test_nested_structs(void **state)
{
    (void)state;
    plcio_layout_set *set =
        load_body("STRUCT\n a : Bool;\n s : Struct\n  b : Bool;\n  c : Byte;\n"
                  "  t : Struct\n   d : Bool;\n  END_STRUCT;\n  e : Byte;\n END_STRUCT;\n f : Bool;\n"
                  " \"odd name\" : Int;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n");
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "a", 0, 0, 1);
    expect_at(l, "s.b", 2, 0, 1);
    expect_at(l, "s.c", 3, -1, 1);
    expect_at(l, "s.t.d", 4, 0, 1);
    expect_at(l, "s.e", 6, -1, 1);
    expect_at(l, "s", 2, -1, 6);
    expect_at(l, "f", 8, 0, 1);
    expect_at(l, "\"odd name\"", 10, -1, 2);
    expect_at(l, "odd name", 10, -1, 2);
    assert_int_equal(plcio_layout_size(l), 12);
    plcio_layout_set_free(set);
}

static const char *const motor_udt =
    "TYPE \"UDT_Motor\"\nVERSION : 0.1\n   STRUCT\n      Speed : Real := 1.5;\n      On : Bool;\n"
    "      Axis : \"UDT_Axis\";\n   END_STRUCT;\nEND_TYPE\n";
static const char *const axis_udt = "\xEF\xBB\xBFTYPE \"UDT_Axis\"\r\nVERSION : 0.1\r\n   STRUCT\r\n"
                                    "      Pos : DInt;\r\n      Lim : Array[1..2] of Int := [-5, 5];\r\n"
                                    "   END_STRUCT;\r\nEND_TYPE\r\n";
static const char *const motor_db = "DATA_BLOCK \"Line\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n"
                                    "   STRUCT\n      Count : Int;\n      Motor : \"UDT_Motor\";\n"
                                    "      Spare : Array[1..2] of \"UDT_Motor\";\n   END_STRUCT;\nBEGIN\n"
                                    "   Spare[2].Axis.Lim[1] := -7;\n   Motor.Speed := 3.0;\nEND_DATA_BLOCK\n";

static void check_motor_db(plcio_layout_set *set)
{
    const plcio_layout *l = plcio_layout_set_find(set, "\"Line\"");
    assert_non_null(l);
    /* UDT_Axis: Pos 0, Lim 4..7 -> 8; UDT_Motor: Speed 0, On 4.0, Axis 6 -> 14 */
    expect_at(l, "Motor.Speed", 2, -1, 4);
    expect_at(l, "Motor.On", 6, 0, 1);
    expect_at(l, "Motor.Axis.Pos", 8, -1, 4);
    expect_at(l, "Motor.Axis.Lim[2]", 14, -1, 2);
    expect_at(l, "Spare[1].Speed", 16, -1, 4);
    expect_at(l, "Spare[2].Axis.Lim[1]", 40, -1, 2);
    assert_int_equal(plcio_layout_size(l), 44);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "Spare[1].Speed", &m), 0);
    assert_string_equal(m.start, "1.5"); /* the UDT's own start value */
    assert_int_equal(plcio_layout_lookup(l, "Motor.Speed", &m), 0);
    assert_string_equal(m.start, "3.0"); /* BEGIN overrides it */
    assert_int_equal(plcio_layout_lookup(l, "Spare[2].Axis.Lim[1]", &m), 0);
    assert_string_equal(m.start, "-7");
    assert_int_equal(plcio_layout_lookup(l, "Spare[2].Axis.Lim[2]", &m), 0);
    assert_string_equal(m.start, "5");
}

static void test_udts_across_files(void **state)
{
    (void)state;
    const char *order1[] = {"motor.udt", motor_udt, "axis.udt", axis_udt, "line.db", motor_db};
    const char *order2[] = {"line.db", motor_db, "axis.udt", axis_udt, "motor.udt", motor_udt};
    plcio_layout_set *set = load_texts(order1, 3);
    check_motor_db(set);
    plcio_layout_set_free(set);
    set = load_texts(order2, 3);
    check_motor_db(set);
    assert_int_equal(plcio_layout_set_type_count(set), 2);
    plcio_layout_set_free(set);
}

static void test_fb_instance_db(void **state)
{
    (void)state;
    const char *fb =
        "FUNCTION_BLOCK \"FB_Motor\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\n"
        "   VAR_INPUT \n      Start : Bool;\n      Stop : Bool;\n   END_VAR\n"
        "   VAR_OUTPUT \n      Running : Bool;\n   END_VAR\n"
        "   VAR_IN_OUT \n      Setpoint : Int;\n   END_VAR\n"
        "   VAR \n      Speed : Real;\n      Count { ExternalAccessible := 'False'} : Int := 5;\n"
        "      Name : String[7] := 'm$'1';\n   END_VAR\n"
        "   VAR_TEMP \n      tmp : Int;\n   END_VAR\n   VAR CONSTANT\n      K : Int := 3;\n   END_VAR\n\n"
        "BEGIN\n\t#Running := #Start AND NOT #Stop; // it's code\n\tIF #Count > 3 THEN #tmp := 'x'; END_IF;\n"
        "END_FUNCTION_BLOCK\n\n"
        "DATA_BLOCK \"FB_Motor_DB\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\nNON_RETAIN\n"
        "\"FB_Motor\"\n\nBEGIN\n   Speed := 1.5;\nEND_DATA_BLOCK\n";
    plcio_layout_set *set = load_text(fb);
    assert_int_equal(plcio_layout_set_count(set), 1);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_string_equal(plcio_layout_name(l), "FB_Motor_DB");
    expect_at(l, "Start", 0, 0, 1);
    expect_at(l, "Stop", 0, 1, 1);
    expect_at(l, "Running", 2, 0, 1); /* every section starts on an even byte */
    expect_at(l, "Setpoint", 4, -1, 2);
    expect_at(l, "Speed", 6, -1, 4);
    expect_at(l, "Count", 10, -1, 2);
    expect_at(l, "Name", 12, -1, 9);
    assert_int_equal(plcio_layout_size(l), 22);
    assert_int_equal(plcio_layout_leaf_count(l), 7); /* no VAR_TEMP, no CONSTANT */
    uint8_t img[22];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    assert_int_equal(img[11], 5);
    const uint8_t name[] = {7, 3, 'm', '\'', '1'};
    assert_memory_equal(img + 12, name, sizeof name);
    plcio_layout_set_free(set);

    /* the instance DB follows its FB: an FB without the attribute is optimized */
    const char *opt = "FUNCTION_BLOCK \"FB_O\"\nVAR_INPUT\n a : Int;\nEND_VAR\nBEGIN\nEND_FUNCTION_BLOCK\n"
                      "DATA_BLOCK \"FB_O_DB\"\n\"FB_O\"\nBEGIN\nEND_DATA_BLOCK\n";
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "o.scl", opt, strlen(opt)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_EOPTIMIZED);
    plcio_layout_set_free(set);
}

static void test_awl_classic(void **state)
{
    (void)state;
    const char *awl = "DATA_BLOCK DB 99\r\nTITLE = values for the line's station\r\nAUTHOR : me\r\nFAMILY : test\r\n"
                      "NAME : vals\r\nVERSION : 0.1\r\n\r\n\r\n  STRUCT \t\r\n   flag : BOOL := TRUE;\t// on\r\n"
                      "   level : INT := 12;\t\r\n   vals : ARRAY  [1 .. 3 ] OF INT := 1, 2, 3;\t\r\n"
                      "   txt : STRING  [5 ] := 'abc';\t\r\n   t : TIME := T#2S;\t\r\n   w : WORD := W#16#1F;\r\n"
                      "   b : BYTE := B#16#FF;\r\n   r : REAL := 1.500000e+000;\r\n   d : DINT := L#-70000;\r\n"
                      "   s5 : S5TIME := S5T#10S;\r\n   dt : DATE_AND_TIME := DT#90-1-1-0:0:0.000;\r\n"
                      "   dd : DATE := D#1990-1-2;\r\n  END_STRUCT ;\t\r\nBEGIN\r\n   flag := TRUE; \r\n"
                      "   level := 12; \r\n   vals[1] := 1; \r\n   vals[2] := 2; \r\n   vals[3] := 7; \r\n"
                      "   txt := 'abc'; \r\n   t := T#2S; \r\n   w := W#16#1F; \r\nEND_DATA_BLOCK\r\n\r\n";
    plcio_layout_set *set = load_text(awl);
    const plcio_layout *l = plcio_layout_set_find(set, "DB99");
    assert_non_null(l);
    assert_int_equal(plcio_layout_db_number(l), 99);
    assert_non_null(plcio_layout_set_find(set, "DB 99"));
    expect_at(l, "flag", 0, 0, 1);
    expect_at(l, "level", 2, -1, 2);
    expect_at(l, "vals[3]", 8, -1, 2);
    expect_at(l, "txt", 10, -1, 7);
    expect_at(l, "t", 18, -1, 4);
    expect_at(l, "w", 22, -1, 2);
    expect_at(l, "b", 24, -1, 1);
    expect_at(l, "r", 26, -1, 4);
    expect_at(l, "d", 30, -1, 4);
    expect_at(l, "s5", 34, -1, 2);
    expect_at(l, "dt", 36, -1, 8);
    expect_at(l, "dd", 44, -1, 2);
    assert_int_equal(plcio_layout_size(l), 46);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "vals[1]", &m), 0);
    assert_int_equal(m.db_number, 99);
    uint8_t img[46];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t want[46] = {1,    0,    0,    12,   0,    1,    0,    2,    0,    7,    5,    3,
                              'a',  'b',  'c',  0,    0,    0,    0,    0,    0x07, 0xD0, 0,    0x1F,
                              0xFF, 0,    0x3F, 0xC0, 0,    0,    0xFF, 0xFE, 0xEE, 0x90, 0x11, 0x00,
                              0x90, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x02, 0,    1};
    assert_memory_equal(img, want, sizeof want);
    plcio_layout_set_free(set);
}

static void test_comments_bom_crlf(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF// header comment\r\n(* block\r\n comment *) DATA_BLOCK \"C\" /* c */\r\n"
                       "{ S7_Optimized_Access := 'FALSE'; DB_Accessible_From_OPC_UA := 'TRUE' }\r\n"
                       "VERSION : 0.1\r\n\xEF\xBB\xBF   STRUCT (* inline *)\r\n      a : Int; // a\r\n"
                       "      b (* x *) : Real := 2.0; \r\n   END_STRUCT;\r\nBEGIN\r\n// nothing\r\nEND_DATA_BLOCK";
    plcio_layout_set *set = load_text(text);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "a", 0, -1, 2);
    expect_at(l, "b", 2, -1, 4);
    plcio_layout_set_free(set);
}

static void test_optimized_refused(void **state)
{
    (void)state;
    const char *opt = "DATA_BLOCK \"Opt\"\n{ S7_Optimized_Access := 'TRUE' }\nVERSION : 0.1\nSTRUCT\n a : Int;\n"
                      "END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "opt.db", opt, strlen(opt)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_EOPTIMIZED);
    const char *msg = plcio_layout_set_last_error(set)->text;
    assert_non_null(strstr(msg, "opt.db:1:1: "));
    assert_non_null(strstr(msg, "no absolute byte offsets"));
    assert_non_null(strstr(msg, "Optimized block access"));
    plcio_layout_set_free(set);

    /* explicit TRUE wins over assume_standard */
    plcio_layout_options o = {.assume_standard = true};
    (void)plcio_layout_set_new(&o, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "opt.db", opt, strlen(opt)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_EOPTIMIZED);
    plcio_layout_set_free(set);

    /* no attribute: TIA's default, optimized; accepted with a warning when asked */
    const char *none = "DATA_BLOCK \"N\"\nVERSION : 0.1\nSTRUCT\n a : Int;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "n.db", none, strlen(none)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_EOPTIMIZED);
    assert_non_null(strstr(plcio_layout_set_last_error(set)->text, "assume-standard"));
    plcio_layout_set_free(set);
    (void)plcio_layout_set_new(&o, &set, NULL);
    assert_int_equal(plcio_layout_set_add_text(set, "n.db", none, strlen(none)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), 0);
    assert_int_equal(plcio_layout_set_warning_count(set), 1);
    assert_non_null(strstr(plcio_layout_set_warning(set, 0), "\"N\""));
    plcio_layout_set_free(set);

    /* STEP 7 classic DBs have no optimized access */
    const char *classic = "DATA_BLOCK DB 3\nSTRUCT\n a : INT;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    set = load_text(classic);
    assert_int_equal(plcio_layout_db_number(plcio_layout_set_get(set, 0)), 3);
    plcio_layout_set_free(set);
}

static void test_db_of_udt_and_values(void **state)
{
    (void)state;
    const char *text =
        "TYPE \"T\"\nSTRUCT\n i : Int := INT#-3;\n u : UDInt := 16#FFFF_FFFF;\n c : Char := 'Z';\n"
        " wc : WChar := WCHAR#'\xC3\xA4';\n t : Time := T#1h2m3s4ms;\n lt : LTime := LT#5ns;\n tod : Time_Of_Day := "
        "TOD#01:00:00.5;\n"
        " dtl : DTL := DTL#2024-02-29-12:00:00;\n d : Date;\n x : Bool := 1;\n lr : LReal := -0.25;\n"
        " sx : String[4] := '$41$$';\nEND_STRUCT;\nEND_TYPE\n"
        "DATA_BLOCK \"U\" { S7_Optimized_Access := 'FALSE' }\n\"T\"\nBEGIN\n c := '$'';\nEND_DATA_BLOCK\n";
    plcio_layout_set *set = load_text(text);
    const plcio_layout *l = plcio_layout_set_find(set, "U");
    assert_non_null(l);
    expect_at(l, "i", 0, -1, 2);
    expect_at(l, "u", 2, -1, 4);
    expect_at(l, "c", 6, -1, 1);
    expect_at(l, "wc", 8, -1, 2);
    expect_at(l, "t", 10, -1, 4);
    expect_at(l, "lt", 14, -1, 8);
    expect_at(l, "tod", 22, -1, 4);
    expect_at(l, "dtl", 26, -1, 12);
    expect_at(l, "d", 38, -1, 2);
    expect_at(l, "x", 40, 0, 1);
    expect_at(l, "lr", 42, -1, 8);
    expect_at(l, "sx", 50, -1, 6);
    uint32_t size = plcio_layout_size(l);
    assert_int_equal(size, 56);
    uint8_t img[56];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    assert_int_equal(img[0], 0xFF);
    assert_int_equal(img[1], 0xFD);
    assert_int_equal(img[6], '\'');
    assert_int_equal(img[9], 0xE4);
    const uint8_t t[] = {0x00, 0x38, 0xCE, 0xFC}; /* 3723004 ms */
    assert_memory_equal(img + 10, t, 4);
    assert_int_equal(img[21], 5);
    const uint8_t dtl[] = {0x07, 0xE8, 2, 29, 5, 12, 0, 0};
    assert_memory_equal(img + 26, dtl, sizeof dtl);
    assert_int_equal(img[40], 1);
    const uint8_t sx[] = {4, 2, 'A', '$'};
    assert_memory_equal(img + 50, sx, sizeof sx);
    /* formatting what the image holds */
    char buf[64];
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "lr", &m), 0);
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, sizeof buf, PLCIO_LAYOUT_JSON), 0);
    assert_string_equal(buf, "-0.25");
    assert_int_equal(plcio_layout_lookup(l, "sx", &m), 0);
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, sizeof buf, PLCIO_LAYOUT_JSON), 0);
    assert_string_equal(buf, "\"A$\"");
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, sizeof buf, 0), 0);
    assert_string_equal(buf, "'A$$'");
    assert_int_equal(plcio_layout_lookup(l, "x", &m), 0);
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, sizeof buf, PLCIO_LAYOUT_JSON), 0);
    assert_string_equal(buf, "true");
    assert_int_equal(plcio_layout_lookup(l, "t", &m), 0);
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, sizeof buf, PLCIO_LAYOUT_JSON), 0);
    assert_string_equal(buf, "\"T#1h2m3s4ms\"");
    assert_int_equal(plcio_layout_format_value(&m, img, 12, buf, sizeof buf, 0), PLCIO_ERANGE);
    assert_int_equal(plcio_layout_format_value(&m, img, size, buf, 4, 0), PLCIO_ENOSPC);
    plcio_layout_set_free(set);
}

static void test_table_nested_rows(void **state)
{
    (void)state;
    /* nesting shown by leading blanks; element rows carry start values */
    const char *tsv = "\tStatic\t\t\t\t\n"
                      "\tcount\tInt\t0.0\t7\t\n"
                      "\tdata\tStruct\t2.0\t\t\n"
                      "\t   on\tBool\t2.0\tfalse\t\n"
                      "\t   level\tReal\t4.0\t1.5\t\n"
                      "\tvals\tArray[1..2] of Int\t8.0\t\t\n"
                      "\tvals[1]\tInt\t8.0\t3\t\n"
                      "\tvals[2]\tInt\t10.0\t4\t\n"
                      "\ttail\tBool\t12.0\tTRUE\t\n";
    /* nesting by a leading empty column instead of blanks */
    const char *cols =
        "\tStatic\t\t\t\n\td\tStruct\t0.0\t\n\t\ton\tBool\t0.0\tTRUE\n\t\tn\tInt\t2.0\t3\n\tt\tBool\t4.0\t\n";
    const char *cpairs[] = {"cols.tsv", cols};
    plcio_layout_set *cset = load_texts(cpairs, 1);
    expect_at(plcio_layout_set_get(cset, 0), "d.n", 2, -1, 2);
    expect_at(plcio_layout_set_get(cset, 0), "t", 4, 0, 1);
    plcio_layout_set_free(cset);

    const char *pairs[] = {"dir/my_db.txt", tsv};
    plcio_layout_set *set = load_texts(pairs, 1);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_string_equal(plcio_layout_name(l), "my_db");
    expect_at(l, "count", 0, -1, 2);
    expect_at(l, "data.on", 2, 0, 1);
    expect_at(l, "data.level", 4, -1, 4);
    expect_at(l, "vals[2]", 10, -1, 2);
    expect_at(l, "tail", 12, 0, 1);
    assert_int_equal(plcio_layout_size(l), 14);
    uint8_t img[14];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    assert_int_equal(img[1], 7);
    assert_int_equal(img[9], 3);
    assert_int_equal(img[11], 4);
    assert_int_equal(img[12], 1);
    plcio_layout_set_free(set);
}

/* Expanded UDT and array rows (indented under their row) check TIA's
 * offsets and carry start values; a wrong printed offset is an error. */
static void test_table_expanded_udt(void **state)
{
    (void)state;
    const char *udt = "TYPE \"UDT_M\"\nSTRUCT\n Speed : Int;\n On : Bool;\nEND_STRUCT;\nEND_TYPE\n";
    const char *tsv = "\tStatic\t\t\t\n"
                      "\tm\t\"UDT_M\"\t0.0\t\n"
                      "\t  Speed\tInt\t0.0\t100\n"
                      "\t  On\tBool\t2.0\tTRUE\n"
                      "\tarr\tArray[1..2] of \"UDT_M\"\t4.0\t\n"
                      "\t  arr[1]\t\"UDT_M\"\t4.0\t\n"
                      "\t    Speed\tInt\t4.0\t5\n"
                      "\t    On\tBool\t6.0\tfalse\n"
                      "\t  arr[2]\t\"UDT_M\"\t8.0\t\n"
                      "\t    Speed\tInt\t8.0\t7\n"
                      "\t    On\tBool\t10.0\tTRUE\n"
                      "\tz\tInt\t12.0\t1\n";
    const char *pairs[] = {"m.udt", udt, "exp.tsv", tsv};
    plcio_layout_set *set = load_texts(pairs, 2);
    const plcio_layout *l = plcio_layout_set_find(set, "exp");
    assert_non_null(l);
    assert_int_equal(plcio_layout_size(l), 14);
    assert_int_equal(plcio_layout_leaf_count(l), 7);
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "m.Speed", &m), 0);
    assert_string_equal(m.start, "100");
    assert_int_equal(plcio_layout_lookup(l, "arr[2].On", &m), 0);
    assert_int_equal(m.byte, 10);
    assert_string_equal(m.start, "TRUE");
    assert_int_equal(plcio_layout_lookup(l, "arr[1].Speed", &m), 0);
    assert_string_equal(m.start, "5");
    plcio_layout_set_free(set);

    /* TIA's offset for arr[2].Speed disagrees with the rules: an error at that row */
    char *bad = strdup(tsv);
    char *at = strstr(bad, "Int\t8.0\t7");
    assert_non_null(at);
    memcpy(at, "Int\t9.0\t7", 9); // NOLINT(bugprone-not-null-terminated-result): patches 9 bytes inside the text
    plcio_layout_set *s2 = NULL;
    (void)plcio_layout_set_new(NULL, &s2, NULL);
    assert_int_equal(plcio_layout_set_add_text(s2, "m.udt", udt, strlen(udt)), 0);
    assert_int_equal(plcio_layout_set_add_text(s2, "exp.tsv", bad, strlen(bad)), 0);
    assert_int_equal(plcio_layout_set_resolve(s2), PLCIO_ERANGE);
    assert_non_null(
        strstr(plcio_layout_set_last_error(s2)->text,
               "exp.tsv:10:6: TIA printed offset 9.0 for arr[2].Speed but the standard-access rules give 8.0"));
    plcio_layout_set_free(s2);
    free(bad);
}

/* Array of Struct in a table copy: the first element's rows declare the
 * members, every element's rows carry its start values and TIA's offsets. */
static void test_table_array_of_struct(void **state)
{
    (void)state;
    const char *tsv = "\tStatic\t\t\t\n"
                      "\tn\tByte\t0.0\t1\n"
                      "\tarr\tArray[1..2] of Struct\t2.0\t\n"
                      "\t  arr[1]\tStruct\t2.0\t\n"
                      "\t    v\tInt\t2.0\t5\n"
                      "\t    in\tStruct\t4.0\t\n"
                      "\t      b\tBool\t4.0\tTRUE\n"
                      "\t  arr[2]\tStruct\t6.0\t\n"
                      "\t    v\tInt\t6.0\t6\n"
                      "\t    in\tStruct\t8.0\t\n"
                      "\t      b\tBool\t8.0\tfalse\n"
                      "\tz\tBool\t10.0\tTRUE\n";
    const char *pairs[] = {"aos.tsv", tsv};
    plcio_layout_set *set = load_texts(pairs, 1);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    expect_at(l, "arr[1].v", 2, -1, 2);
    expect_at(l, "arr[2].in.b", 8, 0, 1);
    expect_at(l, "z", 10, 0, 1);
    assert_int_equal(plcio_layout_size(l), 12);
    uint8_t img[12];
    assert_int_equal(plcio_layout_start_image(l, img, sizeof img), 0);
    const uint8_t want[12] = {1, 0, 0, 5, 1, 0, 0, 6, 0, 0, 1, 0};
    assert_memory_equal(img, want, sizeof want);
    plcio_layout_set_free(set);

    char *bad = strdup(tsv);
    char *at = strstr(bad, "Bool\t8.0\tfalse");
    assert_non_null(at);
    at[5] = '9';
    plcio_layout_set *s2 = NULL;
    (void)plcio_layout_set_new(NULL, &s2, NULL);
    assert_int_equal(plcio_layout_set_add_text(s2, "aos.tsv", bad, strlen(bad)), 0);
    assert_int_equal(plcio_layout_set_resolve(s2), PLCIO_ERANGE);
    assert_non_null(
        strstr(plcio_layout_set_last_error(s2)->text, "aos.tsv:11:8: TIA printed offset 9.0 for arr[2].in.b"));
    plcio_layout_set_free(s2);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_exchange_scl),
        cmocka_unit_test(test_fixture_exchange_table),
        cmocka_unit_test(test_fixture_exchange_same_layout),
        cmocka_unit_test(test_fixture_test_db),
        cmocka_unit_test(test_fixture_db_main),
        cmocka_unit_test(test_fixture_udt_synthetic),
        cmocka_unit_test(test_fixture_udt_database),
        cmocka_unit_test(test_every_type_after_bool),
        cmocka_unit_test(test_strings_odd_even),
        cmocka_unit_test(test_arrays_of_bool),
        cmocka_unit_test(test_odd_arrays),
        cmocka_unit_test(test_arrays_of_structs),
        cmocka_unit_test(test_nested_structs),
        cmocka_unit_test(test_udts_across_files),
        cmocka_unit_test(test_fb_instance_db),
        cmocka_unit_test(test_awl_classic),
        cmocka_unit_test(test_comments_bom_crlf),
        cmocka_unit_test(test_optimized_refused),
        cmocka_unit_test(test_db_of_udt_and_values),
        cmocka_unit_test(test_table_nested_rows),
        cmocka_unit_test(test_table_expanded_udt),
        cmocka_unit_test(test_table_array_of_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
