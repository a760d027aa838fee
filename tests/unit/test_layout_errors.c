/* Layout errors: each bad input gives its error code, the exact
 * file:line:column, and a sentence saying what is wrong. Nothing is skipped. */
#include <stdlib.h>
#include <string.h>

#include "plcio_test.h"
#include "plcio/layout.h"

#define HEAD "DATA_BLOCK \"E\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\nSTRUCT\n"
#define TAIL "END_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n"

typedef struct err_case {
    const char *what;
    const char *text;
    int rc;
    unsigned line, col;
    const char *message; /* expected substring */
} err_case;

static const err_case cases[] = {
    {"missing semicolon", HEAD "  a : Int\n  b : Int;\n" TAIL, PLCIO_ESYNTAX, 6, 3,
     "expected ';' after the member declaration, found 'b'"},
    {"missing colon", HEAD "  a Int;\n" TAIL, PLCIO_ESYNTAX, 5, 5, "expected ':' after the member name"},
    {"unknown type", HEAD "  a : Integer;\n" TAIL, PLCIO_ENOTFOUND, 5, 7, "unknown data type \"Integer\""},
    {"undefined UDT", HEAD "  ok : Int;\n  m : \"UDT_Missing\";\n" TAIL, PLCIO_ENOTFOUND, 6, 7,
     "no TYPE or FUNCTION_BLOCK of that name"},
    {"recursive UDT",
     "TYPE \"A\"\nSTRUCT\n  x : \"B\";\nEND_STRUCT;\nEND_TYPE\nTYPE \"B\"\nSTRUCT\n  i : Int;\n  y : Array[1..2] of "
     "\"A\";\n"
     "END_STRUCT;\nEND_TYPE\n",
     PLCIO_ELIMIT, 9, 22, "\"A\" contains itself"},
    {"self-recursive UDT", "TYPE \"S\"\nSTRUCT\n  x : \"S\";\nEND_STRUCT;\nEND_TYPE\n", PLCIO_ELIMIT, 3, 7,
     "contains itself"},
    {"reversed bounds", HEAD "  a : Array[5..1] of Int;\n" TAIL, PLCIO_ERANGE, 5, 13, "reversed"},
    {"reversed second bounds", HEAD "  a : Array[1..2, 3..-3] of Int;\n" TAIL, PLCIO_ERANGE, 5, 19,
     "3..-3 are reversed"},
    {"string over 254", HEAD "  s : String[255];\n" TAIL, PLCIO_ERANGE, 5, 14, "String length 255 is over 254"},
    {"wstring too long", HEAD "  s : WString[16383];\n" TAIL, PLCIO_ERANGE, 5, 15, "over 16382"},
    {"array over 64 KiB", HEAD "  a : Array[0..40000] of Int;\n" TAIL, PLCIO_ERANGE, 5, 7,
     "does not fit in a data block of at most 65535 bytes"},
    {"DB over 65535 bytes", HEAD "  a : Array[0..30000] of Int;\n  b : Array[0..30000] of Int;\n" TAIL, PLCIO_ERANGE, 6,
     3, "b ends at byte 120004: a data block holds at most 65535 bytes"},
    {"bool array over 64 KiB", HEAD "  f : Array[0..600000] of Bool;\n" TAIL, PLCIO_ERANGE, 5, 7,
     "array of 600001 elements"},
    {"bounds over DINT", HEAD "  f : Array[0..3000000000] of Bool;\n" TAIL, PLCIO_ERANGE, 5, 16,
     "array bound 3000000000 is out of range (DINT, -2147483648..2147483647)"},
    /* the number as written, however long, at its own position */
    {"bound of 10^20", HEAD "  f : Array[0..100000000000000000000] of Int;\n" TAIL, PLCIO_ERANGE, 5, 16,
     "array bound 100000000000000000000 is out of range (DINT, -2147483648..2147483647)"},
    {"negative bound of -10^20", HEAD "  f : Array[-100000000000000000000..0] of Int;\n" TAIL, PLCIO_ERANGE, 5, 13,
     "array bound -100000000000000000000 is out of range"},
    {"bound with an exponent", HEAD "  f : Array[0..1e5] of Int;\n" TAIL, PLCIO_ESYNTAX, 5, 16, "an integer"},
    {"string length of 10^20", HEAD "  s : String[100000000000000000000];\n" TAIL, PLCIO_ERANGE, 5, 14,
     "String length 100000000000000000000 is out of range"},
    {"REAL start value over the range", HEAD "  r : Real := 1e39;\n" TAIL, PLCIO_ERANGE, 5, 15,
     "start value 1e39 of r (REAL): 1e39 is out of range for REAL (-3.40282347e+38..3.40282347e+38)"},
    {"high bounds parse", HEAD "  f : Array[100000..100001] of Int;\n  n : \"Nope\";\n" TAIL, PLCIO_ENOTFOUND, 6, 7,
     "\"Nope\""},
    {"start value out of range", HEAD "  a : Int := 70000;\n" TAIL, PLCIO_ERANGE, 5, 14,
     "start value 70000 of a (INT)"},
    {"start value not a number", HEAD "  a : Real := abc;\n" TAIL, PLCIO_ESYNTAX, 5, 15, "start value abc of a (REAL)"},
    {"string start without quotes", HEAD "  s : String[4] := abc;\n" TAIL, PLCIO_ESYNTAX, 5, 20, "single quotes"},
    {"string start too long", HEAD "  s : String[2] := 'abc';\n" TAIL, PLCIO_ERANGE, 5, 20, "start value 'abc' of s"},
    {"too many array start values", HEAD "  a : Array[1..2] of Int := [1, 2, 3];\n" TAIL, PLCIO_ERANGE, 5, 29,
     "3 start values for an array of 2 elements"},
    {"BEGIN sets unknown member", HEAD "  a : Int;\nEND_STRUCT;\nBEGIN\n  a := 1;\n  nope := 2;\nEND_DATA_BLOCK\n",
     PLCIO_ENOTFOUND, 9, 3, "BEGIN sets nope, which is not a member of \"E\""},
    {"BEGIN index out of bounds", HEAD "  a : Array[1..3] of Int;\nEND_STRUCT;\nBEGIN\n  a[4] := 1;\nEND_DATA_BLOCK\n",
     PLCIO_ERANGE, 8, 3, "a[4]: index outside the declared array bounds"},
    {"BEGIN bad value", HEAD "  b : Bool;\nEND_STRUCT;\nBEGIN\n  b := maybe;\nEND_DATA_BLOCK\n", PLCIO_ESYNTAX, 8, 8,
     "start value maybe of b (BOOL)"},
    {"unterminated comment", HEAD "  a : Int; (* never closed\n" TAIL, PLCIO_ESYNTAX, 5, 12, "never closed"},
    {"unterminated string", HEAD "  s : String[4] := 'abc;\n" TAIL, PLCIO_ESYNTAX, 5, 20, "not closed"},
    {"unterminated name", HEAD "  m : \"UDT;\n" TAIL, PLCIO_ESYNTAX, 5, 7, "quoted name is not closed"},
    {"duplicate member", HEAD "  a : Int;\n  A : Real;\n" TAIL, PLCIO_EEXIST, 6, 3, "A is declared twice"},
    {"missing END_STRUCT", HEAD "  a : Int;\nBEGIN\nEND_DATA_BLOCK\n", PLCIO_ESYNTAX, 6, 1,
     "expected END_STRUCT, found 'BEGIN'"},
    {"truncated file", HEAD "  a : Int;\n", PLCIO_ESYNTAX, 6, 1, "expected END_STRUCT, found the end of the file"},
    {"missing END_DATA_BLOCK", HEAD "  a : Int;\nEND_STRUCT;\nBEGIN\n  a := 1;\n", PLCIO_ESYNTAX, 9, 1,
     "expected END_DATA_BLOCK"},
    {"garbage", "hello world\n", PLCIO_ESYNTAX, 1, 1, "expected DATA_BLOCK, TYPE or FUNCTION_BLOCK, found 'hello'"},
    {"empty file", "", PLCIO_ESYNTAX, 1, 1, "no DATA_BLOCK, TYPE or FUNCTION_BLOCK in this file"},
    {"only comments", "// nothing\r\n(* here *)\r\n", PLCIO_ESYNTAX, 1, 1, "no DATA_BLOCK"},
    {"array bound is a constant", HEAD "  a : Array[1..#N] of Int;\n" TAIL, PLCIO_ESYNTAX, 5, 16,
     "expected an integer"},
    {"array bound is a name", HEAD "  a : Array[1..MAX] of Int;\n" TAIL, PLCIO_EUNSUPPORTED, 5, 16, "constant name"},
    {"variable array", HEAD "  a : Array[*] of Int;\n" TAIL, PLCIO_EUNSUPPORTED, 5, 13, "Array[*]"},
    {"struct start value", HEAD "  s : Struct\n    a : Int;\n  END_STRUCT := 5;\n" TAIL, PLCIO_EUNSUPPORTED, 7, 17,
     "start value for a whole structure"},
    {"in_out struct",
     "FUNCTION_BLOCK \"F\"\n{ S7_Optimized_Access := 'FALSE' }\nVAR_IN_OUT\n  s : String[4];\nEND_VAR\nBEGIN\n"
     "END_FUNCTION_BLOCK\n",
     PLCIO_EUNSUPPORTED, 4, 3, "VAR_IN_OUT s is not elementary"},
    {"instance of unknown FB",
     "DATA_BLOCK \"I\"\n{ S7_Optimized_Access := 'FALSE' }\n\"FB_None\"\nBEGIN\nEND_DATA_BLOCK\n", PLCIO_ENOTFOUND, 3,
     1, "unknown data type \"FB_None\""},
    {"block defined twice",
     "TYPE \"T\"\nSTRUCT\n a : Int;\nEND_STRUCT;\nEND_TYPE\nTYPE \"t\"\nSTRUCT\n b : Int;\nEND_STRUCT;\nEND_TYPE\n",
     PLCIO_EEXIST, 6, 1, "\"t\" is defined twice (first at e.scl:1:1)"},
    {"optimized", "DATA_BLOCK \"O\"\n{ S7_Optimized_Access := 'TRUE' }\nSTRUCT\n a : Int;\n" TAIL, PLCIO_EOPTIMIZED, 1,
     1, "uses optimized access"},
    {"columns count characters", HEAD "  \xC3\xA4\xC3\xB6 : Intx;\n" TAIL, PLCIO_ENOTFOUND, 5, 8, "\"Intx\""},
    {"NUL byte", "DATA_BLOCK \"X\"\0", PLCIO_ESYNTAX, 1, 1, "NUL bytes"},
    /* table copies */
    {"table offset mismatch", "\tStatic\t\t\t\t\n\ta\tBool\t0.0\tfalse\t\n\tb\tInt\t1.0\t0\t\n", PLCIO_ERANGE, 3, 2,
     "TIA printed offset 1.0 for b but the standard-access rules give 2.0"},
    {"table flat struct", "\tStatic\t\t\t\n\ts\tStruct\t0.0\t\n\ta\tInt\t0.0\t0\n", PLCIO_EUNSUPPORTED, 2, 2,
     "does not show which rows belong to the structure"},
    {"table bad type", "\tStatic\t\t\t\n\ta\tInteger\t0.0\t0\n", PLCIO_ENOTFOUND, 2, 4,
     "unknown data type \"Integer\""},
    {"table bad offset", "\tStatic\t\t\t\n\ta\tInt\t0.9\t0\n", PLCIO_ESYNTAX, 2, 8, "offset '0.9' is not BYTE.BIT"},
    {"table no type", "\tStatic\t\t\t\n\ta\t\t0.0\t0\n", PLCIO_ESYNTAX, 2, 2, "row has no data type"},
    {"table bad start", "\tStatic\t\t\t\n\ta\tInt\t0.0\tx1\n", PLCIO_ESYNTAX, 2, 12, "start value x1 of a (INT)"},
};

static void test_error_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const err_case *c = &cases[i];
        plcio_layout_set *set = NULL;
        (void)plcio_layout_set_new(NULL, &set, NULL);
        assert_non_null(set);
        size_t len = strlen(c->text);
        if (!strcmp(c->what, "NUL byte")) len += 1;
        int rc = plcio_layout_set_add_text(set, "e.scl", c->text, len);
        if (rc == PLCIO_OK) rc = plcio_layout_set_resolve(set);
        const char *msg = plcio_layout_set_last_error(set)->text;
        const char *file;
        unsigned line, col;
        plcio_layout_set_error_pos(set, &file, &line, &col);
        if (rc != c->rc || !file || strcmp(file, "e.scl") != 0 || line != c->line || col != c->col ||
            !strstr(msg, c->message))
            fail_msg("case '%s': got rc %d (%s) at %s:%u:%u \"%s\"; expected rc %d at e.scl:%u:%u with \"%s\"", c->what,
                     rc, plcio_err_name(rc), file ? file : "(none)", line, col, msg, c->rc, c->line, c->col,
                     c->message);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "e.scl:%u:%u: ", c->line, c->col);
        assert_true(strncmp(msg, prefix, strlen(prefix)) == 0);
        /* the set stays failed: later calls report the same error */
        assert_int_equal(plcio_layout_set_resolve(set), rc);
        assert_int_equal(plcio_layout_set_count(set), 0);
        plcio_layout_set_free(set);
    }
}

static void test_file_errors(void **state)
{
    (void)state;
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_file(set, "/nonexistent/dir/x.db"), PLCIO_EIO);
    assert_non_null(strstr(plcio_layout_set_last_error(set)->text, "/nonexistent/dir/x.db: cannot open"));
    plcio_layout_set_free(set);

    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_file(set, plcio_test_fixture_path("layouts")), PLCIO_EIO);
    plcio_layout_set_free(set);

    /* a UDT used across files but its file not given */
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_int_equal(plcio_layout_set_add_file(set, plcio_test_fixture_path("layouts/udt_database.udt")), 0);
    assert_int_equal(plcio_layout_set_resolve(set), PLCIO_ENOTFOUND);
    const char *file;
    unsigned line, col;
    plcio_layout_set_error_pos(set, &file, &line, &col);
    assert_non_null(strstr(file, "udt_database.udt"));
    assert_int_equal(line, 6);
    assert_int_equal(col, 21);
    assert_non_null(strstr(plcio_layout_set_last_error(set)->text, "\"UDT_BARCODE\""));
    plcio_layout_set_free(set);

    /* NULL arguments and free(NULL) */
    plcio_layout_set_free(NULL);
    assert_int_equal(plcio_layout_set_add_text(NULL, "x", "", 0), PLCIO_EINVAL);
    assert_int_equal(plcio_layout_set_resolve(NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_layout_set_count(NULL), 0);
    assert_null(plcio_layout_set_get(NULL, 0));
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(NULL, "a", &m), PLCIO_EINVAL);
    assert_int_equal(plcio_layout_start_image(NULL, NULL, 0), PLCIO_EINVAL);

    /* adding after resolve is refused */
    (void)plcio_layout_set_new(NULL, &set, NULL);
    const char *t = "DATA_BLOCK DB 1\nSTRUCT\n a : INT;\nEND_STRUCT;\nBEGIN\nEND_DATA_BLOCK\n";
    assert_int_equal(plcio_layout_set_add_text(set, "a", t, strlen(t)), 0);
    assert_int_equal(plcio_layout_set_resolve(set), 0);
    assert_int_equal(plcio_layout_set_add_text(set, "b", t, strlen(t)), PLCIO_ESTATE);
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    uint8_t img[2];
    assert_int_equal(plcio_layout_start_image(l, img, 1), PLCIO_ENOSPC);
    plcio_layout_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_cases),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
