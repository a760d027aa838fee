/* PLC tag tables: the text forms plcio_s7plus_tags_parse takes (plain
 * Name;Address;Type lines, TIA's export saved as CSV with its header, other
 * separators, German mnemonics, comments, a byte order mark, CRLF), every
 * kind of bad line refused with its line number, every truncation and byte
 * flip of a good table an error or a table, never a crash (ASan in CI); and
 * the tags' type objects as the simulator encodes them decoded back by the
 * client's side into the same names, addresses, types and LIDs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7plus.h"
#include "plcio_test.h"
#include "s7plus/s7p_sym.h"

static const char tia[] = "\xEF\xBB\xBFName;Path;Data Type;Logical Address;Comment;Hmi Visible\r\n"
                          "\"Start\";\"Default tag table\";Bool;%I0.0;\"Start; button\";True\r\n"
                          "\"Motor_On\";\"Default tag table\";Bool;%Q4.1;;True\r\n"
                          "\"Speed SP\";\"Default tag table\";Int;%MW10;;True\r\n"
                          "\"Temp\";\"Default tag table\";Real;%MD100;;True\r\n"
                          "\"Raw\";\"Default tag table\";DWord;%ID8;;True\r\n";

static void test_tia_export(void **state)
{
    (void)state;
    plcio_s7plus_tag *t = NULL;
    size_t n = 0;
    plcio_error err;
    if (plcio_s7plus_tags_parse(tia, strlen(tia), &t, &n, &err)) fail_msg("%s", err.text);
    assert_int_equal(n, 5);
    assert_string_equal(t[0].name, "Start");
    assert_int_equal(t[0].area, PLCIO_S7PLUS_AREA_I);
    assert_int_equal(t[0].start, 0);
    assert_int_equal(t[0].bit, 0);
    assert_int_equal(t[0].sym.type, PLCIO_TYPE_BOOL);
    assert_int_equal(t[0].sym.lids[0], 10);
    assert_int_equal(t[0].sym.access_area, 80);
    assert_int_equal(t[0].sym.sub_area, 3736);
    assert_int_equal(t[1].area, PLCIO_S7PLUS_AREA_Q);
    assert_int_equal(t[1].start, 4);
    assert_int_equal(t[1].bit, 1);
    assert_int_equal(t[1].sym.access_area, 81);
    assert_int_equal(t[1].sym.lids[0], 10); /* LIDs count per area */
    assert_string_equal(t[2].name, "Speed SP");
    assert_int_equal(t[2].area, PLCIO_S7PLUS_AREA_M);
    assert_int_equal(t[2].start, 10);
    assert_int_equal(t[2].bit, -1);
    assert_int_equal(t[2].sym.type, PLCIO_TYPE_INT);
    assert_int_equal(t[2].sym.access_area, 82);
    assert_int_equal(t[3].sym.type, PLCIO_TYPE_REAL);
    assert_int_equal(t[3].sym.lids[0], 11);
    assert_int_equal(t[4].area, PLCIO_S7PLUS_AREA_I);
    assert_int_equal(t[4].sym.lids[0], 11);
    plcio_s7plus_tags_free(t);
}

static void test_plain_forms(void **state)
{
    (void)state;
    static const char *good[] = {
        "Start;%I0.0;Bool\n",
        "Start,I0.0,Bool",
        "Start\t%E0.0\tBool\n", /* German: E inputs */
        "# comment\n\n// another\nStart;%E0.0;Bool\n",
        "  \"Start\" ; %I0.0 ; bool ;extra;columns\n",
    };
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        plcio_s7plus_tag *t = NULL;
        size_t n = 0;
        plcio_error err;
        if (plcio_s7plus_tags_parse(good[k], strlen(good[k]), &t, &n, &err)) fail_msg("%s: %s", good[k], err.text);
        assert_int_equal(n, 1);
        assert_string_equal(t[0].name, "Start");
        assert_int_equal(t[0].area, PLCIO_S7PLUS_AREA_I);
        assert_int_equal(t[0].sym.type, PLCIO_TYPE_BOOL);
        plcio_s7plus_tags_free(t);
    }
    plcio_s7plus_tag *t = (plcio_s7plus_tag *)1;
    size_t n = 7;
    assert_int_equal(plcio_s7plus_tags_parse("", 0, &t, &n, NULL), PLCIO_OK);
    assert_null(t);
    assert_int_equal(n, 0);
    assert_int_equal(plcio_s7plus_tags_parse("Q;%A4.1;Bool", 12, &t, &n, NULL), PLCIO_OK);
    assert_int_equal(t[0].area, PLCIO_S7PLUS_AREA_Q); /* German: A outputs */
    plcio_s7plus_tags_free(t);
}

static void test_bad_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int rc;
        const char *says;
    } bad[] = {
        {"A;%I0.0;Bool\nB;%I0.1\n", PLCIO_ESYNTAX, "line 2"},
        {"A;%MW10;Real\n", PLCIO_ESYNTAX, "line 1"}, /* a word holds no REAL */
        {"A;%MW10;Bool\n", PLCIO_ESYNTAX, "line 1"}, /* a BOOL needs a bit */
        {"A;%M1.0;Int\n", PLCIO_ESYNTAX, "line 1"},  /* an INT needs a word */
        {"A;%MW10;Foo\n", PLCIO_ETYPE, "Foo"},
        {"A;%MB10;String\n", PLCIO_ETYPE, "line 1"},
        {"A;%DB1.DBW0;Int\n", PLCIO_ESYNTAX, "I, Q or M"},
        {"A;%MW10[3];Int\n", PLCIO_ESYNTAX, "line 1"},
        {"A;%MW99999;Int\n", PLCIO_ERANGE, "line 1"},
        {"A;;Int\n", PLCIO_ESYNTAX, "line 1"},
        {";%MW0;Int\n", PLCIO_ESYNTAX, "no name"},
        {"A;%MW0;Int\nB;%MW2;Int\na;%MW4;Int\n", PLCIO_EEXIST, "line 3"},
        {"Name;Path\nA;x\n", PLCIO_ESYNTAX, "Logical Address"},
        {"A\"B\";%MW0;Int\n", PLCIO_ESYNTAX, "quotes"},
        {"A;%MW0;Int\nB;%MW2;\x00Int\n", PLCIO_ESYNTAX, "line 2"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t len = strlen(bad[k].text);
        if (k == sizeof bad / sizeof bad[0] - 1) len = 24; /* the NUL inside */
        plcio_s7plus_tag *t = NULL;
        size_t n = 0;
        plcio_error err;
        memset(&err, 0, sizeof err);
        int rc = plcio_s7plus_tags_parse(bad[k].text, len, &t, &n, &err);
        if (rc != bad[k].rc || !strstr(err.text, bad[k].says))
            fail_msg("%zu: %s: %s (%d), wanted %s (%d)", k, bad[k].text, err.text, rc, bad[k].says, bad[k].rc);
        assert_null(t);
        assert_int_equal(n, 0);
    }
    /* a line longer than 1024 bytes */
    char *big = malloc(3000);
    assert_non_null(big);
    memset(big, 'x', 2999);
    big[2999] = '\0';
    plcio_s7plus_tag *t = NULL;
    size_t n = 0;
    plcio_error err;
    assert_int_equal(plcio_s7plus_tags_parse(big, 2999, &t, &n, &err), PLCIO_ELIMIT);
    free(big);
    /* a name of 128 characters (127 fit) */
    char line[200];
    snprintf(line, sizeof line, "%0128d;%%MW0;Int", 0);
    assert_int_equal(plcio_s7plus_tags_parse(line, strlen(line), &t, &n, &err), PLCIO_ESYNTAX);
    snprintf(line, sizeof line, "%0127d;%%MW0;Int", 0);
    assert_int_equal(plcio_s7plus_tags_parse(line, strlen(line), &t, &n, &err), PLCIO_OK);
    plcio_s7plus_tags_free(t);
    /* files */
    assert_int_equal(plcio_s7plus_tags_load("/nonexistent/tags.csv", &t, &n, &err), PLCIO_EIO);
    assert_non_null(strstr(err.text, "/nonexistent/tags.csv"));
    assert_int_equal(plcio_s7plus_tags_parse(NULL, 3, &t, &n, &err), PLCIO_EINVAL);
}

/* Every prefix and every single-byte change of a good table: an error or a table. */
static void test_truncated_and_flipped(void **state)
{
    (void)state;
    size_t len = strlen(tia);
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t cut = 0; cut <= len; cut++) {
        plcio_s7plus_tag *t = NULL;
        size_t n = 0;
        memcpy(copy, tia, cut);
        if (plcio_s7plus_tags_parse(copy, cut, &t, &n, NULL) == PLCIO_OK) assert_true(n <= 5);
        plcio_s7plus_tags_free(t);
    }
    static const char subst[] = {'\0', '\n', ';', '"', '%', '.', '9', 'W', '\xFF'};
    for (size_t at = 0; at < len; at++)
        for (size_t s = 0; s < sizeof subst; s++) {
            memcpy(copy, tia, len); // NOLINT(bugprone-not-null-terminated-result): a length-counted text
            copy[at] = subst[s];
            plcio_s7plus_tag *t = NULL;
            size_t n = 0;
            if (plcio_s7plus_tags_parse(copy, len, &t, &n, NULL) == PLCIO_OK)
                for (size_t k = 0; k < n; k++)
                    assert_true(t[k].sym.nlids == 1 && t[k].start <= 0xFFFF && strlen(t[k].name) > 0);
            plcio_s7plus_tags_free(t);
        }
    free(copy);
}

/* The simulator's type objects for the tags decode into the same tags. */
static void test_type_info_round_trip(void **state)
{
    (void)state;
    plcio_s7plus_tag *t = NULL;
    size_t n = 0;
    assert_int_equal(plcio_s7plus_tags_parse(tia, strlen(tia), &t, &n, NULL), PLCIO_OK);
    static uint8_t buf[1 << 14];
    plcio_wcursor w = plcio_wcursor_make(buf, sizeof buf);
    assert_int_equal(s7p_ti_encode_all(&w, NULL, t, n), PLCIO_OK);
    size_t used = plcio_wcursor_used(&w);
    s7p_ti_set *ti = NULL;
    char msg[200] = "";
    assert_int_equal(s7p_ti_decode(buf, used, &ti, msg, sizeof msg), PLCIO_OK);
    plcio_s7plus_tag *back = NULL;
    size_t m = 0, cap = 0;
    for (int a = PLCIO_S7PLUS_AREA_I; a <= PLCIO_S7PLUS_AREA_M; a++)
        assert_int_equal(s7p_ti_tags(ti, (plcio_s7plus_area)a, &back, &m, &cap, msg, sizeof msg), PLCIO_OK);
    s7p_ti_free(ti);
    assert_int_equal(m, n);
    /* back is I, Q, M; the table's order within each area */
    static const size_t order[] = {0, 4, 1, 2, 3};
    for (size_t k = 0; k < m; k++) {
        const plcio_s7plus_tag *x = &t[order[k]], *y = &back[k];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->area, y->area);
        assert_int_equal(x->start, y->start);
        assert_int_equal(x->bit, y->bit);
        assert_int_equal(x->sym.type, y->sym.type);
        assert_int_equal(x->sym.access_area, y->sym.access_area);
        assert_int_equal(x->sym.lids[0], y->sym.lids[0]);
    }
    free(back);
    /* every truncation: an error, never a crash; a names count that does not match: EPROTO */
    for (size_t cut = 0; cut < used; cut++) {
        if (s7p_ti_decode(buf, cut, &ti, msg, sizeof msg) != PLCIO_OK) continue;
        back = NULL;
        m = cap = 0;
        for (int a = PLCIO_S7PLUS_AREA_I; a <= PLCIO_S7PLUS_AREA_M; a++)
            (void)s7p_ti_tags(ti, (plcio_s7plus_area)a, &back, &m, &cap, msg, sizeof msg);
        free(back);
        s7p_ti_free(ti);
    }
    plcio_s7plus_tags_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tia_export),
        cmocka_unit_test(test_plain_forms),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_truncated_and_flipped),
        cmocka_unit_test(test_type_info_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
