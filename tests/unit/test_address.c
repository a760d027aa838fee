/* S7 and Modbus address strings: valid forms with every field checked, the
 * canonical text and its round trip, and malformed input with its message. */
#include <string.h>

#include "plcio/address.h"
#include "plcio/core.h"
#include "plcio_test.h"

/* Member by member: the address structs have padding bytes, which memcmp would compare too. */
static void assert_s7_same(const plcio_s7_address *a, const plcio_s7_address *b)
{
    assert_int_equal(a->area, b->area);
    assert_int_equal(a->db, b->db);
    assert_int_equal(a->offset, b->offset);
    assert_int_equal(a->bit, b->bit);
    assert_int_equal(a->periph_output, b->periph_output);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->size, b->size);
}

static void assert_mb_same(const plcio_mb_address *a, const plcio_mb_address *b)
{
    assert_int_equal(a->table, b->table);
    assert_int_equal(a->address, b->address);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->order, b->order);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->quantity, b->quantity);
}

static plcio_error err = {0};

typedef struct s7_case {
    const char *text;
    plcio_s7_area area;
    unsigned db, offset, bit;
    plcio_type type;
    unsigned length, count, size;
    const char *canonical;
} s7_case;

static const s7_case s7_valid[] = {
    {"DB1.DBX0.0", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_BOOL, 0, 1, 1, "DB1.DBX0.0"},
    {"DB1.DBX3.7", PLCIO_S7_AREA_DB, 1, 3, 7, PLCIO_TYPE_BOOL, 0, 1, 1, "DB1.DBX3.7"},
    {"DB1.DBB2", PLCIO_S7_AREA_DB, 1, 2, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB2"},
    {"DB1.DBW4", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_WORD, 0, 1, 2, "DB1.DBW4"},
    {"DB1.DBD8", PLCIO_S7_AREA_DB, 1, 8, 0, PLCIO_TYPE_DWORD, 0, 1, 4, "DB1.DBD8"},
    {"db65535.dbd8:real", PLCIO_S7_AREA_DB, 65535, 8, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB65535.DBD8:REAL"},
    {"DB1.DBD4:REAL", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB1.DBD4:REAL"},
    {"DB1.DBW4:INT", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_INT, 0, 1, 2, "DB1.DBW4:INT"},
    {"DB1.DBW4:Int", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_INT, 0, 1, 2, "DB1.DBW4:INT"},
    {"DB1.DBW4:WORD", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_WORD, 0, 1, 2, "DB1.DBW4"},
    {"DB1.DBB20:STRING[30]", PLCIO_S7_AREA_DB, 1, 20, 0, PLCIO_TYPE_STRING, 30, 1, 32, "DB1.DBB20:STRING[30]"},
    {"DB1.DBB20:WSTRING[10]", PLCIO_S7_AREA_DB, 1, 20, 0, PLCIO_TYPE_WSTRING, 10, 1, 24, "DB1.DBB20:WSTRING[10]"},
    {"DB1.DBB0:STRING[10][3]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_STRING, 10, 3, 36, "DB1.DBB0:STRING[10][3]"},
    {"DB1.DBB0:STRING[02]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_STRING, 2, 1, 4, "DB1.DBB0:STRING[2]"},
    {"DB1.DBB0:WSTRING[1]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_WSTRING, 1, 1, 6, "DB1.DBB0:WSTRING[1]"},
    {"DB1.DBB8:LREAL", PLCIO_S7_AREA_DB, 1, 8, 0, PLCIO_TYPE_LREAL, 0, 1, 8, "DB1.DBB8:LREAL"},
    {"DB1.DBB0:DTL", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_DTL, 0, 1, 12, "DB1.DBB0:DTL"},
    {"DB1.DBB0:DT", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_DATE_AND_TIME, 0, 1, 8, "DB1.DBB0:DATE_AND_TIME"},
    {"DB1.DBB0:CHAR", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_CHAR, 0, 1, 1, "DB1.DBB0:CHAR"},
    {"DB1.DBD0:TOD", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_TIME_OF_DAY, 0, 1, 4, "DB1.DBD0:TIME_OF_DAY"},
    {"DB1.DBW0:S5TIME", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_S5TIME, 0, 1, 2, "DB1.DBW0:S5TIME"},
    {"DB1.DBX0.0:BOOL[8]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_BOOL, 0, 8, 1, "DB1.DBX0.0[8]"},
    {"DB1.DBX0.4:BOOL[8]", PLCIO_S7_AREA_DB, 1, 0, 4, PLCIO_TYPE_BOOL, 0, 8, 2, "DB1.DBX0.4[8]"},
    {"DB1.DBW0[10]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_WORD, 0, 10, 20, "DB1.DBW0[10]"},
    {"DB1.DBD0:REAL[4]", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_REAL, 0, 4, 16, "DB1.DBD0:REAL[4]"},
    {"DB1.DBD0[4]:REAL", PLCIO_S7_AREA_DB, 1, 0, 0, PLCIO_TYPE_REAL, 0, 4, 16, "DB1.DBD0:REAL[4]"},
    {"DB1:8:REAL", PLCIO_S7_AREA_DB, 1, 8, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB1.DBD8:REAL"},
    {"DB1:20:STRING[30]", PLCIO_S7_AREA_DB, 1, 20, 0, PLCIO_TYPE_STRING, 30, 1, 32, "DB1.DBB20:STRING[30]"},
    {"DB1:0.3:BOOL", PLCIO_S7_AREA_DB, 1, 0, 3, PLCIO_TYPE_BOOL, 0, 1, 1, "DB1.DBX0.3"},
    {"DB1:4:INT[3]", PLCIO_S7_AREA_DB, 1, 4, 0, PLCIO_TYPE_INT, 0, 3, 6, "DB1.DBW4:INT[3]"},
    {"%DB1.DBD8:REAL", PLCIO_S7_AREA_DB, 1, 8, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB1.DBD8:REAL"},
    {"%DB1:8:REAL", PLCIO_S7_AREA_DB, 1, 8, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB1.DBD8:REAL"},
    {"%MW10", PLCIO_S7_AREA_MK, 0, 10, 0, PLCIO_TYPE_WORD, 0, 1, 2, "MW10"},
    {"MW10", PLCIO_S7_AREA_MK, 0, 10, 0, PLCIO_TYPE_WORD, 0, 1, 2, "MW10"},
    {"M10.5", PLCIO_S7_AREA_MK, 0, 10, 5, PLCIO_TYPE_BOOL, 0, 1, 1, "M10.5"},
    {"MX10.5", PLCIO_S7_AREA_MK, 0, 10, 5, PLCIO_TYPE_BOOL, 0, 1, 1, "M10.5"},
    /* LOGO! V memory = DB1 */
    {"V10", PLCIO_S7_AREA_DB, 1, 10, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB10"},
    {"VB10", PLCIO_S7_AREA_DB, 1, 10, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB10"},
    {"v10.3", PLCIO_S7_AREA_DB, 1, 10, 3, PLCIO_TYPE_BOOL, 0, 1, 1, "DB1.DBX10.3"},
    {"VW20", PLCIO_S7_AREA_DB, 1, 20, 0, PLCIO_TYPE_WORD, 0, 1, 2, "DB1.DBW20"},
    {"VD846:REAL", PLCIO_S7_AREA_DB, 1, 846, 0, PLCIO_TYPE_REAL, 0, 1, 4, "DB1.DBD846:REAL"},
    {"V849", PLCIO_S7_AREA_DB, 1, 849, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB849"},
    /* without a model, V ends where the largest model's V memory ends (0BA8: V1469) */
    {"V1469", PLCIO_S7_AREA_DB, 1, 1469, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB1469"},
    {"VW1032:INT", PLCIO_S7_AREA_DB, 1, 1032, 0, PLCIO_TYPE_INT, 0, 1, 2, "DB1.DBW1032:INT"},
    {"MB3", PLCIO_S7_AREA_MK, 0, 3, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "MB3"},
    {"MD4", PLCIO_S7_AREA_MK, 0, 4, 0, PLCIO_TYPE_DWORD, 0, 1, 4, "MD4"},
    {"MD4:DINT", PLCIO_S7_AREA_MK, 0, 4, 0, PLCIO_TYPE_DINT, 0, 1, 4, "MD4:DINT"},
    {"IW0", PLCIO_S7_AREA_PE, 0, 0, 0, PLCIO_TYPE_WORD, 0, 1, 2, "IW0"},
    {"I0.1", PLCIO_S7_AREA_PE, 0, 0, 1, PLCIO_TYPE_BOOL, 0, 1, 1, "I0.1"},
    {"IB7", PLCIO_S7_AREA_PE, 0, 7, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "IB7"},
    {"EW0", PLCIO_S7_AREA_PE, 0, 0, 0, PLCIO_TYPE_WORD, 0, 1, 2, "IW0"},
    {"E1.7", PLCIO_S7_AREA_PE, 0, 1, 7, PLCIO_TYPE_BOOL, 0, 1, 1, "I1.7"},
    {"QB3", PLCIO_S7_AREA_PA, 0, 3, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "QB3"},
    {"Q0.1", PLCIO_S7_AREA_PA, 0, 0, 1, PLCIO_TYPE_BOOL, 0, 1, 1, "Q0.1"},
    {"A0.1", PLCIO_S7_AREA_PA, 0, 0, 1, PLCIO_TYPE_BOOL, 0, 1, 1, "Q0.1"},
    {"AW4:INT", PLCIO_S7_AREA_PA, 0, 4, 0, PLCIO_TYPE_INT, 0, 1, 2, "QW4:INT"},
    {"PIW256", PLCIO_S7_AREA_P, 0, 256, 0, PLCIO_TYPE_WORD, 0, 1, 2, "PIW256"},
    {"PEW256", PLCIO_S7_AREA_P, 0, 256, 0, PLCIO_TYPE_WORD, 0, 1, 2, "PIW256"},
    {"PQW256", PLCIO_S7_AREA_P, 0, 256, 0, PLCIO_TYPE_WORD, 0, 1, 2, "PQW256"},
    {"PAW256:INT", PLCIO_S7_AREA_P, 0, 256, 0, PLCIO_TYPE_INT, 0, 1, 2, "PQW256:INT"},
    {"PID260", PLCIO_S7_AREA_P, 0, 260, 0, PLCIO_TYPE_DWORD, 0, 1, 4, "PID260"},
    {"T5", PLCIO_S7_AREA_TM, 0, 5, 0, PLCIO_TYPE_S5TIME, 0, 1, 2, "T5"},
    {"T0[4]", PLCIO_S7_AREA_TM, 0, 0, 0, PLCIO_TYPE_S5TIME, 0, 4, 8, "T0[4]"},
    {"T5:WORD", PLCIO_S7_AREA_TM, 0, 5, 0, PLCIO_TYPE_WORD, 0, 1, 2, "T5:WORD"},
    {"C3", PLCIO_S7_AREA_CT, 0, 3, 0, PLCIO_TYPE_WORD, 0, 1, 2, "C3"},
    {"Z3", PLCIO_S7_AREA_CT, 0, 3, 0, PLCIO_TYPE_WORD, 0, 1, 2, "C3"},
    {"C65535", PLCIO_S7_AREA_CT, 0, 65535, 0, PLCIO_TYPE_WORD, 0, 1, 2, "C65535"},
    {"DB1.DBB2097151", PLCIO_S7_AREA_DB, 1, 2097151, 0, PLCIO_TYPE_BYTE, 0, 1, 1, "DB1.DBB2097151"},
    {"DB1.DBX2097151.7", PLCIO_S7_AREA_DB, 1, 2097151, 7, PLCIO_TYPE_BOOL, 0, 1, 1, "DB1.DBX2097151.7"},
};

static void test_s7_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s7_valid / sizeof s7_valid[0]; i++) {
        const s7_case *c = &s7_valid[i];
        plcio_s7_address a;
        int rc = plcio_s7_address_parse(c->text, &a, &err);
        if (rc != PLCIO_OK) fail_msg("'%s': %d %s", c->text, rc, err.text);
        if (a.area != c->area || a.db != c->db || a.offset != c->offset || a.bit != c->bit || a.type != c->type ||
            a.length != c->length || a.count != c->count || a.size != c->size)
            fail_msg("'%s': area %#x db %u off %u bit %u type %s len %u count %u size %u", c->text, a.area, a.db,
                     a.offset, a.bit, plcio_type_name(a.type), a.length, a.count, a.size);
        char text[PLCIO_ADDRESS_TEXT_MAX];
        assert_int_equal(plcio_s7_address_format(&a, text, sizeof text), PLCIO_OK);
        if (strcmp(text, c->canonical) != 0) fail_msg("'%s' formats as '%s', want '%s'", c->text, text, c->canonical);
        plcio_s7_address b;
        assert_int_equal(plcio_s7_address_parse(text, &b, &err), PLCIO_OK);
        assert_s7_same(&a, &b);
    }
    /* S7 protocol area codes */
    assert_int_equal(PLCIO_S7_AREA_PE, 0x81);
    assert_int_equal(PLCIO_S7_AREA_PA, 0x82);
    assert_int_equal(PLCIO_S7_AREA_MK, 0x83);
    assert_int_equal(PLCIO_S7_AREA_DB, 0x84);
    assert_int_equal(PLCIO_S7_AREA_CT, 0x1C);
    assert_int_equal(PLCIO_S7_AREA_TM, 0x1D);
    plcio_s7_address a;
    assert_int_equal(plcio_s7_address_parse("PQW2", &a, NULL), PLCIO_OK);
    assert_true(a.periph_output);
    assert_int_equal(plcio_s7_address_parse("PIW2", &a, NULL), PLCIO_OK);
    assert_false(a.periph_output);
}

typedef struct bad_case {
    const char *text;
    int rc;
    const char *msg_part;
} bad_case;

static const bad_case s7_bad[] = {
    {"", PLCIO_ESYNTAX, "empty"},
    {"%", PLCIO_ESYNTAX, "empty"},
    {"hello", PLCIO_ESYNTAX, "not an S7 address"},
    {"XYZ1", PLCIO_ESYNTAX, "not an S7 address"},
    {"DB", PLCIO_ESYNTAX, "DB number missing"},
    {"DB0.DBW0", PLCIO_ERANGE, "DB number 0"},
    {"DB65536.DBW0", PLCIO_ERANGE, "1..65535"},
    {"DB99999999", PLCIO_ERANGE, "DB number 99999999"},
    {"DB99999999999999999999999.DBW0", PLCIO_ERANGE, "DB number"},
    {"DB1", PLCIO_ESYNTAX, "after DB1"},
    {"DB1.", PLCIO_ESYNTAX, "DBX, DBB, DBW or DBD"},
    {"DB1.DBY0", PLCIO_ESYNTAX, "DBX, DBB, DBW or DBD"},
    {"DB1.DBW", PLCIO_ESYNTAX, "byte offset is missing"},
    {"DB1.DBX0", PLCIO_ESYNTAX, ".bit"},
    {"DB1.DBX0.8", PLCIO_ERANGE, "bit 8"},
    {"DB1.DBX0.", PLCIO_ESYNTAX, "bit number"},
    {"DB1.DBW0.1", PLCIO_ESYNTAX, "only X"},
    {"DB1.DBW4:REAL", PLCIO_ESYNTAX, "REAL is 4 bytes, a W address holds 2"},
    {"DB1.DBD4:INT", PLCIO_ESYNTAX, "INT is 2 bytes, a D address holds 4"},
    {"DB1.DBB4:INT", PLCIO_ESYNTAX, "a B address holds 1"},
    {"DB1.DBD0:STRING[2]", PLCIO_ESYNTAX, "STRING goes with B addresses"},
    {"DB1.DBW0:WSTRING[1]", PLCIO_ESYNTAX, "WSTRING goes with B addresses"},
    {"DB1.DBW4:BOOL", PLCIO_ESYNTAX, "BOOL"},
    {"DB1.DBX4.0:INT", PLCIO_ESYNTAX, "BOOL"},
    {"DB1.DBW4:FLOAT", PLCIO_ESYNTAX, "unknown type 'FLOAT'"},
    {"DB1.DBW4:", PLCIO_ESYNTAX, "type name"},
    {"DB1.DBW4:INT:INT", PLCIO_ESYNTAX, "unexpected"},
    {"DB1.DBB0:STRING", PLCIO_ESYNTAX, "needs a length"},
    {"DB1.DBB0:STRING[0]", PLCIO_ERANGE, "length 0"},
    {"DB1.DBB0:STRING[255]", PLCIO_ERANGE, "1..254"},
    {"DB1.DBB0:WSTRING[16383]", PLCIO_ERANGE, "1..16382"},
    {"DB1.DBB0:STRING[30", PLCIO_ESYNTAX, "needs a length"},
    {"DB1.DBW0[0]", PLCIO_ERANGE, "count 0"},
    {"DB1.DBW0[65536]", PLCIO_ERANGE, "1..65535"},
    {"DB1.DBW0[", PLCIO_ESYNTAX, "array count"},
    {"DB1.DBW0[2][3]", PLCIO_ESYNTAX, "unexpected '[3]'"},
    {"DB1.DBW0[2]:INT[3]", PLCIO_ESYNTAX, "twice"},
    {"DB1.DBW0 ", PLCIO_ESYNTAX, "unexpected"},
    {"DB1.DBW0x", PLCIO_ESYNTAX, "unexpected 'x'"},
    {"DB1.DBW4:REAL junk", PLCIO_ESYNTAX, "unexpected"},
    {"DB1.DBB2097152", PLCIO_ERANGE, "byte offset 2097152"},
    {"DB1.DBW2097151", PLCIO_ERANGE, "beyond the last address"},
    {"DB1.DBD2097150:REAL", PLCIO_ERANGE, "beyond"},
    {"DB1.DBB99999999999999999999", PLCIO_ERANGE, "byte offset"},
    {"DB1:8", PLCIO_ESYNTAX, "give a type"},
    {"DB1:8.1:INT", PLCIO_ESYNTAX, "only BOOL"},
    {"DB1:8:", PLCIO_ESYNTAX, "type name"},
    {"DB1:x:INT", PLCIO_ESYNTAX, "byte offset"},
    {"M10", PLCIO_ESYNTAX, "size letter"},
    {"M10.8", PLCIO_ERANGE, "bit 8"},
    {"MW", PLCIO_ESYNTAX, "byte offset"},
    {"MW10.1", PLCIO_ESYNTAX, "only X"},
    {"V1470", PLCIO_ERANGE, "beyond the LOGO! V memory (V0..V1469)"},
    {"VD1467", PLCIO_ERANGE, "ends at V1470"},
    {"VW1468[2]", PLCIO_ERANGE, "LOGO! V memory"},
    /* the LOGO! names exist only with a model (plcio_logo_address_parse) */
    {"I1", PLCIO_ESYNTAX, "size letter"},
    {"AI1", PLCIO_ESYNTAX, "byte offset"}, /* A: the German Q */
    {"V10.8", PLCIO_ERANGE, "bit 8"},
    {"VW10.1", PLCIO_ESYNTAX, "only X"},
    {"V", PLCIO_ESYNTAX, "byte offset"},
    {"VX10", PLCIO_ESYNTAX, "needs .bit"},
    {"MX10", PLCIO_ESYNTAX, ".bit"},
    {"M", PLCIO_ESYNTAX, "byte offset"},
    {"PIW", PLCIO_ESYNTAX, "byte offset"},
    {"PI0.0", PLCIO_ESYNTAX, "peripheral"},
    {"PIX0.0", PLCIO_ESYNTAX, "peripheral"},
    {"T", PLCIO_ESYNTAX, "number is missing"},
    {"T65536", PLCIO_ERANGE, "0..65535"},
    {"T65535[2]", PLCIO_ERANGE, "beyond"},
    {"C3:REAL", PLCIO_ESYNTAX, "2 bytes"},
    {"C3.1", PLCIO_ESYNTAX, "unexpected"},
    {"%%MW10", PLCIO_ESYNTAX, "not an S7 address"},
};

static void test_s7_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof s7_bad / sizeof s7_bad[0]; i++) {
        const bad_case *c = &s7_bad[i];
        plcio_s7_address a;
        plcio_error_clear(&err);
        int rc = plcio_s7_address_parse(c->text, &a, &err);
        if (rc != c->rc) fail_msg("'%s': got %d want %d (%s)", c->text, rc, c->rc, err.text);
        if (!strstr(err.text, c->msg_part)) fail_msg("'%s': message '%s' lacks '%s'", c->text, err.text, c->msg_part);
        assert_null(strchr(err.text, '\n'));
    }
    assert_int_equal(plcio_s7_address_parse(NULL, NULL, NULL), PLCIO_EINVAL);
    /* long garbage: the message quotes a cut copy and stays one line */
    char junk[300];
    memset(junk, 'Q', sizeof junk - 1);
    junk[sizeof junk - 1] = '\0';
    plcio_s7_address a;
    assert_int_equal(plcio_s7_address_parse(junk, &a, &err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "..."));
    /* a message longer than plcio_error holds is cut, not overrun */
    char huge[3000];
    memset(huge, 'Q', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(plcio_s7_address_parse(huge, &a, &err), PLCIO_ESYNTAX);
    assert_int_equal(err.code, PLCIO_ESYNTAX);
    assert_true(strlen(err.text) < sizeof err.text);
    /* format: cut output, bad input */
    assert_int_equal(plcio_s7_address_parse("DB1.DBD8:REAL", &a, NULL), PLCIO_OK);
    char out[6];
    assert_int_equal(plcio_s7_address_format(&a, out, sizeof out), PLCIO_ENOSPC);
    assert_string_equal(out, "DB1.D");
    a.area = PLCIO_S7_AREA_DI;
    assert_int_equal(plcio_s7_address_format(&a, out, sizeof out), PLCIO_EINVAL);
    assert_int_equal(plcio_s7_address_format(NULL, out, sizeof out), PLCIO_EINVAL);
}

typedef struct mb_case {
    const char *text;
    plcio_mb_table table;
    unsigned address;
    plcio_type type;
    unsigned length;
    plcio_mb_order order;
    unsigned count, quantity;
    const char *canonical;
} mb_case;

static const mb_case mb_valid[] = {
    {"hr100", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr100"},
    {"HR0", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr0"},
    {"ir100", PLCIO_MB_TABLE_INPUT_REGISTER, 100, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "ir100"},
    {"co100", PLCIO_MB_TABLE_COIL, 100, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "co100"},
    {"di100", PLCIO_MB_TABLE_DISCRETE_INPUT, 100, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "di100"},
    {"co5[8]", PLCIO_MB_TABLE_COIL, 5, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 8, 8, "co5[8]"},
    {"co5:BOOL", PLCIO_MB_TABLE_COIL, 5, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "co5"},
    {"400101", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr100"},
    {"4x00101", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr100"},
    {"4X101", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr100"},
    {"40001", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr0"},
    {"49999", PLCIO_MB_TABLE_HOLDING_REGISTER, 9998, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr9998"},
    {"465536", PLCIO_MB_TABLE_HOLDING_REGISTER, 65535, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr65535"},
    {"30001", PLCIO_MB_TABLE_INPUT_REGISTER, 0, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "ir0"},
    {"300010", PLCIO_MB_TABLE_INPUT_REGISTER, 9, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "ir9"},
    {"10001", PLCIO_MB_TABLE_DISCRETE_INPUT, 0, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "di0"},
    {"00001", PLCIO_MB_TABLE_COIL, 0, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "co0"},
    {"0x00017", PLCIO_MB_TABLE_COIL, 16, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "co16"},
    {"hr100:REAL", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_REAL, 0, PLCIO_MB_ABCD, 1, 2, "hr100:REAL"},
    {"400101:REAL:CDAB", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_REAL, 0, PLCIO_MB_CDAB, 1, 2,
     "hr100:REAL:CDAB"},
    {"hr100:cdab:real", PLCIO_MB_TABLE_HOLDING_REGISTER, 100, PLCIO_TYPE_REAL, 0, PLCIO_MB_CDAB, 1, 2,
     "hr100:REAL:CDAB"},
    {"hr10:INT[4]", PLCIO_MB_TABLE_HOLDING_REGISTER, 10, PLCIO_TYPE_INT, 0, PLCIO_MB_ABCD, 4, 4, "hr10:INT[4]"},
    {"hr10[4]:DINT", PLCIO_MB_TABLE_HOLDING_REGISTER, 10, PLCIO_TYPE_DINT, 0, PLCIO_MB_ABCD, 4, 8, "hr10:DINT[4]"},
    {"hr10:DINT:DCBA[4]", PLCIO_MB_TABLE_HOLDING_REGISTER, 10, PLCIO_TYPE_DINT, 0, PLCIO_MB_DCBA, 4, 8,
     "hr10:DINT[4]:DCBA"},
    {"ir0:UDINT:BADC", PLCIO_MB_TABLE_INPUT_REGISTER, 0, PLCIO_TYPE_UDINT, 0, PLCIO_MB_BADC, 1, 2, "ir0:UDINT:BADC"},
    {"hr0:LREAL", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_LREAL, 0, PLCIO_MB_ABCD, 1, 4, "hr0:LREAL"},
    {"hr0:LINT", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_LINT, 0, PLCIO_MB_ABCD, 1, 4, "hr0:LINT"},
    {"hr0:ULINT:ABCD", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_ULINT, 0, PLCIO_MB_ABCD, 1, 4, "hr0:ULINT"},
    {"hr0:STRING[10]", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_STRING, 10, PLCIO_MB_ABCD, 1, 5,
     "hr0:STRING[10]"},
    {"ir0:STRING[11]", PLCIO_MB_TABLE_INPUT_REGISTER, 0, PLCIO_TYPE_STRING, 11, PLCIO_MB_ABCD, 1, 6, "ir0:STRING[11]"},
    {"hr0:WORD", PLCIO_MB_TABLE_HOLDING_REGISTER, 0, PLCIO_TYPE_WORD, 0, PLCIO_MB_ABCD, 1, 1, "hr0:WORD"},
    {"hr65535", PLCIO_MB_TABLE_HOLDING_REGISTER, 65535, PLCIO_TYPE_UINT, 0, PLCIO_MB_ABCD, 1, 1, "hr65535"},
    {"hr65534:REAL", PLCIO_MB_TABLE_HOLDING_REGISTER, 65534, PLCIO_TYPE_REAL, 0, PLCIO_MB_ABCD, 1, 2, "hr65534:REAL"},
    {"co0[2000]", PLCIO_MB_TABLE_COIL, 0, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 2000, 2000, "co0[2000]"},
    {"co65535", PLCIO_MB_TABLE_COIL, 65535, PLCIO_TYPE_BOOL, 0, PLCIO_MB_ABCD, 1, 1, "co65535"},
};

static void test_mb_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mb_valid / sizeof mb_valid[0]; i++) {
        const mb_case *c = &mb_valid[i];
        plcio_mb_address a;
        int rc = plcio_mb_address_parse(c->text, &a, &err);
        if (rc != PLCIO_OK) fail_msg("'%s': %d %s", c->text, rc, err.text);
        if (a.table != c->table || a.address != c->address || a.type != c->type || a.length != c->length ||
            a.order != c->order || a.count != c->count || a.quantity != c->quantity)
            fail_msg("'%s': table %d addr %u type %s len %u order %d count %u quantity %u", c->text, a.table, a.address,
                     plcio_type_name(a.type), a.length, a.order, a.count, a.quantity);
        char text[PLCIO_ADDRESS_TEXT_MAX];
        assert_int_equal(plcio_mb_address_format(&a, text, sizeof text), PLCIO_OK);
        if (strcmp(text, c->canonical) != 0) fail_msg("'%s' formats as '%s', want '%s'", c->text, text, c->canonical);
        plcio_mb_address b;
        assert_int_equal(plcio_mb_address_parse(text, &b, &err), PLCIO_OK);
        assert_mb_same(&a, &b);
    }
}

static const bad_case mb_bad[] = {
    {"", PLCIO_ESYNTAX, "empty"},
    {"garbage", PLCIO_ESYNTAX, "not a Modbus address"},
    {"hr", PLCIO_ESYNTAX, "address must follow"},
    {"hr-1", PLCIO_ESYNTAX, "address must follow"},
    {"hr65536", PLCIO_ERANGE, "address 65536"},
    {"hr99999999999999999999", PLCIO_ERANGE, "out of range"},
    {"hr65535:REAL", PLCIO_ERANGE, "2 registers from 65535"},
    {"hr65000[600]", PLCIO_ERANGE, "run past"},
    {"co65535[2]", PLCIO_ERANGE, "2 bits"},
    {"40000", PLCIO_ERANGE, "1..65536"},
    {"400000", PLCIO_ERANGE, "1-based"},
    {"465537", PLCIO_ERANGE, "65537"},
    {"4x0", PLCIO_ERANGE, "1..65536"},
    {"4x", PLCIO_ESYNTAX, "1 to 5 digits"},
    {"4x123456", PLCIO_ESYNTAX, "1 to 5 digits"},
    {"4001", PLCIO_ESYNTAX, "5 or 6 digits"},
    {"4000001", PLCIO_ESYNTAX, "5 or 6 digits"},
    {"20001", PLCIO_ESYNTAX, "starts with 0"},
    {"50001", PLCIO_ESYNTAX, "starts with 0"},
    {"co5:INT", PLCIO_ESYNTAX, "BOOL only"},
    {"di5:REAL", PLCIO_ESYNTAX, "BOOL only"},
    {"co5:CDAB", PLCIO_ESYNTAX, "registers, not bits"},
    {"hr5:BOOL", PLCIO_ESYNTAX, "coil"},
    {"hr5:BYTE", PLCIO_ESYNTAX, "one byte"},
    {"hr5:WSTRING[4]", PLCIO_ESYNTAX, "WSTRING"},
    {"hr5:STRING", PLCIO_ESYNTAX, "needs a length"},
    {"hr5:FLOAT", PLCIO_ESYNTAX, "unknown type"},
    {"hr5:REAL:INT", PLCIO_ESYNTAX, "type given twice"},
    {"hr5:ABCD:CDAB", PLCIO_ESYNTAX, "order given twice"},
    {"hr5:", PLCIO_ESYNTAX, "type name"},
    {"hr5:REAL[0]", PLCIO_ERANGE, "count 0"},
    {"hr5[2]:REAL[2]", PLCIO_ESYNTAX, "twice"},
    {"hr5 ", PLCIO_ESYNTAX, "unexpected"},
    {"hr5.1", PLCIO_ESYNTAX, "unexpected"},
    {"hr5:REAL;", PLCIO_ESYNTAX, "unexpected"},
};

static void test_mb_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mb_bad / sizeof mb_bad[0]; i++) {
        const bad_case *c = &mb_bad[i];
        plcio_mb_address a;
        plcio_error_clear(&err);
        int rc = plcio_mb_address_parse(c->text, &a, &err);
        if (rc != c->rc) fail_msg("'%s': got %d want %d (%s)", c->text, rc, c->rc, err.text);
        if (!strstr(err.text, c->msg_part)) fail_msg("'%s': message '%s' lacks '%s'", c->text, err.text, c->msg_part);
    }
    assert_int_equal(plcio_mb_address_parse(NULL, NULL, NULL), PLCIO_EINVAL);
    plcio_mb_address a;
    assert_int_equal(plcio_mb_address_parse("hr100:REAL:CDAB", &a, NULL), PLCIO_OK);
    char out[6];
    assert_int_equal(plcio_mb_address_format(&a, out, sizeof out), PLCIO_ENOSPC);
    assert_string_equal(out, "hr100");
    a.table = (plcio_mb_table)2;
    assert_int_equal(plcio_mb_address_format(&a, out, sizeof out), PLCIO_EINVAL);
}

/* ---- LOGO! address map (plcio_logo_address_parse) ----
 * Expected V addresses written out from the map tables in docs/s7.md (LOGO!Soft
 * Comfort help "Parameter VM Mapping" for 0BA8; the 0BA7 tables cited there),
 * not computed from the parser's table. */
typedef struct logo_case {
    plcio_logo_model model;
    const char *text;
    unsigned offset, bit;
    plcio_type type;
    unsigned count, size;
    bool read_only;
} logo_case;

static const logo_case logo_valid[] = {
    /* 0BA8 / LOGO! 8 */
    {PLCIO_LOGO_0BA8, "I1", 1024, 0, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA8, "I9", 1025, 0, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA8, "I24", 1026, 7, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA8, "i3[8]", 1024, 2, PLCIO_TYPE_BOOL, 8, 2, true},
    {PLCIO_LOGO_0BA8, "Q1", 1064, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "Q20", 1066, 3, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "%Q2:BOOL", 1064, 1, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "M1", 1104, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "M64", 1111, 7, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "AI1", 1032, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA8, "ai8", 1046, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA8, "AI1[8]", 1032, 0, PLCIO_TYPE_INT, 8, 16, true},
    {PLCIO_LOGO_0BA8, "AQ1", 1072, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA8, "AQ8:WORD", 1086, 0, PLCIO_TYPE_WORD, 1, 2, false},
    {PLCIO_LOGO_0BA8, "AM1", 1118, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA8, "AM64:UINT", 1244, 0, PLCIO_TYPE_UINT, 1, 2, false},
    {PLCIO_LOGO_0BA8, "NI1", 1246, 0, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA8, "NI64", 1253, 7, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA8, "NAI1", 1262, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA8, "NAI32", 1324, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA8, "NQ1", 1390, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "NQ64", 1397, 7, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "NAQ1", 1406, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA8, "NAQ16", 1436, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA8, "V1064.0", 1064, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA8, "VW1468", 1468, 0, PLCIO_TYPE_WORD, 1, 2, false},
    {PLCIO_LOGO_0BA8, "DB1.DBW10", 10, 0, PLCIO_TYPE_WORD, 1, 2, false},
    /* 0BA7 */
    {PLCIO_LOGO_0BA7, "I1", 923, 0, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA7, "I24", 925, 7, PLCIO_TYPE_BOOL, 1, 1, true},
    {PLCIO_LOGO_0BA7, "AI1", 926, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA7, "AI8", 940, 0, PLCIO_TYPE_INT, 1, 2, true},
    {PLCIO_LOGO_0BA7, "Q1", 942, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA7, "Q16", 943, 7, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA7, "AQ1", 944, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA7, "AQ2", 946, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA7, "M1", 948, 0, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA7, "M27", 951, 2, PLCIO_TYPE_BOOL, 1, 1, false},
    {PLCIO_LOGO_0BA7, "AM1", 952, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA7, "AM16", 982, 0, PLCIO_TYPE_INT, 1, 2, false},
    {PLCIO_LOGO_0BA7, "V983", 983, 0, PLCIO_TYPE_BYTE, 1, 1, false},
};

static void test_logo_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof logo_valid / sizeof logo_valid[0]; i++) {
        const logo_case *c = &logo_valid[i];
        plcio_s7_address a;
        bool ro = !c->read_only; /* must be set either way */
        int rc = plcio_logo_address_parse(c->text, c->model, &a, &ro, &err);
        if (rc != PLCIO_OK) fail_msg("%s '%s': %d %s", plcio_logo_model_name(c->model), c->text, rc, err.text);
        if (a.area != PLCIO_S7_AREA_DB || a.db != 1 || a.offset != c->offset || a.bit != c->bit || a.type != c->type ||
            a.count != c->count || a.size != c->size || ro != c->read_only)
            fail_msg("%s '%s': area %#x db %u V%u.%u type %s count %u size %u read-only %d",
                     plcio_logo_model_name(c->model), c->text, a.area, a.db, a.offset, a.bit, plcio_type_name(a.type),
                     a.count, a.size, ro);
    }
    /* read_only may be NULL */
    plcio_s7_address a;
    assert_int_equal(plcio_logo_address_parse("AI1", PLCIO_LOGO_0BA8, &a, NULL, NULL), PLCIO_OK);
}

typedef struct logo_bad {
    plcio_logo_model model;
    const char *text;
    int rc;
    const char *msg_part;
} logo_bad;

static const logo_bad logo_invalid[] = {
    {PLCIO_LOGO_0BA8, "I0", PLCIO_ERANGE, "inputs I1..I24"},
    {PLCIO_LOGO_0BA8, "I25", PLCIO_ERANGE, "LOGO! 0BA8 has inputs I1..I24"},
    {PLCIO_LOGO_0BA8, "I24[2]", PLCIO_ERANGE, "I1..I24"},
    {PLCIO_LOGO_0BA8, "I99999999999", PLCIO_ERANGE, "I1..I24"},
    {PLCIO_LOGO_0BA8, "Q21", PLCIO_ERANGE, "Q1..Q20"},
    {PLCIO_LOGO_0BA8, "M65", PLCIO_ERANGE, "M1..M64"},
    {PLCIO_LOGO_0BA8, "AI9", PLCIO_ERANGE, "AI1..AI8"},
    {PLCIO_LOGO_0BA8, "AQ9", PLCIO_ERANGE, "AQ1..AQ8"},
    {PLCIO_LOGO_0BA8, "AM65", PLCIO_ERANGE, "AM1..AM64"},
    {PLCIO_LOGO_0BA8, "NI65", PLCIO_ERANGE, "NI1..NI64"},
    {PLCIO_LOGO_0BA8, "NAI33", PLCIO_ERANGE, "NAI1..NAI32"},
    {PLCIO_LOGO_0BA8, "NQ65", PLCIO_ERANGE, "NQ1..NQ64"},
    {PLCIO_LOGO_0BA8, "NAQ17", PLCIO_ERANGE, "NAQ1..NAQ16"},
    {PLCIO_LOGO_0BA8, "I1.0", PLCIO_ESYNTAX, "no .bit"},
    {PLCIO_LOGO_0BA8, "AI1:REAL", PLCIO_ESYNTAX, "2-byte type"},
    {PLCIO_LOGO_0BA8, "Q1:INT", PLCIO_ESYNTAX, "BOOL only"},
    {PLCIO_LOGO_0BA8, "Q1 junk", PLCIO_ESYNTAX, "unexpected"},
    {PLCIO_LOGO_0BA8, "AI1[0]", PLCIO_ERANGE, "array count"},
    {PLCIO_LOGO_0BA8, "V1470", PLCIO_ERANGE, "V0..V1469"},
    {PLCIO_LOGO_0BA8, "", PLCIO_ESYNTAX, "empty"},
    {PLCIO_LOGO_0BA7, "Q17", PLCIO_ERANGE, "LOGO! 0BA7 has outputs Q1..Q16"},
    {PLCIO_LOGO_0BA7, "AQ3", PLCIO_ERANGE, "AQ1..AQ2"},
    {PLCIO_LOGO_0BA7, "M28", PLCIO_ERANGE, "M1..M27"},
    {PLCIO_LOGO_0BA7, "AM17", PLCIO_ERANGE, "AM1..AM16"},
    {PLCIO_LOGO_0BA7, "NI1", PLCIO_ESYNTAX, "0BA7 address map has no network inputs"},
    {PLCIO_LOGO_0BA7, "NAQ1", PLCIO_ESYNTAX, "model=0ba8 has them"},
    {PLCIO_LOGO_0BA7, "V984", PLCIO_ERANGE, "V0..V983"},
    {PLCIO_LOGO_0BA7, "VW1032", PLCIO_ERANGE, "V0..V983"},
};

static void test_logo_invalid(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof logo_invalid / sizeof logo_invalid[0]; i++) {
        const logo_bad *c = &logo_invalid[i];
        plcio_s7_address a;
        bool ro = true;
        plcio_error_clear(&err);
        int rc = plcio_logo_address_parse(c->text, c->model, &a, &ro, &err);
        if (rc != c->rc)
            fail_msg("%s '%s': got %d want %d (%s)", plcio_logo_model_name(c->model), c->text, rc, c->rc, err.text);
        if (!strstr(err.text, c->msg_part))
            fail_msg("%s '%s': message '%s' lacks '%s'", plcio_logo_model_name(c->model), c->text, err.text,
                     c->msg_part);
        assert_false(ro); /* a refused address is not reported read-only */
        assert_null(strchr(err.text, '\n'));
    }
    plcio_s7_address a;
    assert_int_equal(plcio_logo_address_parse(NULL, PLCIO_LOGO_0BA8, &a, NULL, &err), PLCIO_EINVAL);
    assert_int_equal(plcio_logo_address_parse("I1", (plcio_logo_model)7, &a, NULL, &err), PLCIO_EINVAL);
}

static void test_logo_models(void **state)
{
    (void)state;
    plcio_logo_model m = PLCIO_LOGO_0BA8;
    assert_int_equal(plcio_logo_model_parse("0BA7", &m, &err), PLCIO_OK);
    assert_int_equal(m, PLCIO_LOGO_0BA7);
    assert_int_equal(plcio_logo_model_parse("0ba8", &m, &err), PLCIO_OK);
    assert_int_equal(m, PLCIO_LOGO_0BA8);
    m = PLCIO_LOGO_0BA7;
    assert_int_equal(plcio_logo_model_parse("8", &m, &err), PLCIO_OK);
    assert_int_equal(m, PLCIO_LOGO_0BA8);
    assert_int_equal(plcio_logo_model_parse("0ba6", &m, &err), PLCIO_ESYNTAX);
    assert_non_null(strstr(err.text, "0ba7 or 0ba8"));
    assert_int_equal(plcio_logo_model_parse(NULL, &m, &err), PLCIO_EINVAL);
    assert_string_equal(plcio_logo_model_name(PLCIO_LOGO_0BA7), "0ba7");
    assert_null(plcio_logo_model_name((plcio_logo_model)9));
    assert_int_equal(plcio_logo_vm_size(PLCIO_LOGO_0BA7), 984);
    assert_int_equal(plcio_logo_vm_size(PLCIO_LOGO_0BA8), 1470);
    assert_int_equal(plcio_logo_vm_size((plcio_logo_model)9), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s7_valid),     cmocka_unit_test(test_s7_malformed), cmocka_unit_test(test_mb_valid),
        cmocka_unit_test(test_mb_malformed), cmocka_unit_test(test_logo_valid),   cmocka_unit_test(test_logo_invalid),
        cmocka_unit_test(test_logo_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
