/* PLC tags (TIA's tag table: "Speed_SP" = %MW10) by name over S7CommPlus:
 * plcio's client against `plcio sim s7 --tags FILE` (a TIA export saved as
 * CSV, tests/fixtures/s7plus_symbolic/plc_tags.csv) beside an optimized DB:
 * the tag browse, typed writes by name of BOOL, INT, DINT, REAL, WORD and
 * BYTE tags in I, Q and M checked over classic S7 at their absolute
 * addresses (and classic writes read back by name), BOOL tags leaving their
 * byte's other bits alone, a subscription on a tag, unknown names, and the
 * built-in table of a simulator started without arguments. python-snap7's
 * browse and symbolic writes of the same tags: tests/interop/s7plus/
 * test_s7plus_python_snap7.c; bad tag files: tests/cli/test_s7plus_tags_cli.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/layout.h"
#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio/value.h"
#include "plcio_test.h"
#include "s7plus_sim.h"

static int start_sim(plcio_test_proc *p, bool with_files)
{
    return plcio_test_s7plus_sim_start(p, with_files ? PLCIO_TEST_S7PLUS_DB | PLCIO_TEST_S7PLUS_TAGS
                                                     : PLCIO_TEST_S7PLUS_BUILTIN);
}

static plcio_s7plus_client *plus(int port) { return plcio_test_s7plus_client(port, "", true); }

static plcio_s7_client *classic(int port)
{
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *s7 = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &s7, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
    return s7;
}

static const struct {
    const char *name;
    plcio_s7plus_area area;
    uint32_t start;
    int bit;
    plcio_type type;
} expected[] = {
    {"Start", PLCIO_S7PLUS_AREA_I, 0, 0, PLCIO_TYPE_BOOL},
    {"Stop", PLCIO_S7PLUS_AREA_I, 0, 1, PLCIO_TYPE_BOOL},
    {"Level", PLCIO_S7PLUS_AREA_I, 64, -1, PLCIO_TYPE_INT},
    {"Motor_On", PLCIO_S7PLUS_AREA_Q, 4, 1, PLCIO_TYPE_BOOL},
    {"Valve Pos", PLCIO_S7PLUS_AREA_Q, 10, -1, PLCIO_TYPE_WORD},
    {"Speed_SP", PLCIO_S7PLUS_AREA_M, 10, -1, PLCIO_TYPE_INT},
    {"Count", PLCIO_S7PLUS_AREA_M, 20, -1, PLCIO_TYPE_DINT},
    {"Temp", PLCIO_S7PLUS_AREA_M, 100, -1, PLCIO_TYPE_REAL},
    {"Flags", PLCIO_S7PLUS_AREA_M, 30, -1, PLCIO_TYPE_BYTE},
    {"Ready", PLCIO_S7PLUS_AREA_M, 30, 3, PLCIO_TYPE_BOOL},
};
#define NEXPECTED (sizeof expected / sizeof expected[0])

static void check_browse(plcio_s7plus_client *c)
{
    plcio_s7plus_tag *tags = NULL;
    size_t n = 0;
    assert_int_equal(plcio_s7plus_client_browse_tags(c, &tags, &n), PLCIO_OK);
    assert_int_equal(n, NEXPECTED);
    for (size_t k = 0; k < n; k++) {
        assert_string_equal(tags[k].name, expected[k].name);
        assert_int_equal(tags[k].area, expected[k].area);
        assert_int_equal(tags[k].start, expected[k].start);
        assert_int_equal(tags[k].bit, expected[k].bit);
        assert_int_equal(tags[k].sym.type, expected[k].type);
        assert_int_equal(tags[k].sym.nlids, 1);
        assert_int_equal(tags[k].sym.sub_area, 3736);
        assert_int_equal(tags[k].sym.access_area, 80u + (unsigned)expected[k].area - 1u);
    }
    /* LIDs from 10 per area, in file order (the simulator's numbering) */
    assert_int_equal(tags[0].sym.lids[0], 10);
    assert_int_equal(tags[2].sym.lids[0], 12);
    assert_int_equal(tags[3].sym.lids[0], 10);
    assert_int_equal(tags[9].sym.lids[0], 14);
    plcio_s7plus_tags_free(tags);
    /* the DBs' browse is not disturbed by the tag objects beside them */
    plcio_layout_set *set = NULL;
    assert_int_equal(plcio_s7plus_client_browse(c, NULL, &set), PLCIO_OK);
    assert_int_equal(plcio_layout_set_count(set), 1);
    assert_string_equal(plcio_layout_name(plcio_layout_set_get(set, 0)), "Plant");
    plcio_layout_set_free(set);
}

static void resolve(plcio_s7plus_client *c, const char *name, plcio_s7plus_sym_item *it)
{
    memset(it, 0, sizeof *it);
    if (plcio_s7plus_client_resolve(c, name, &it->sym))
        fail_msg("resolve %s: %s", name, plcio_s7plus_client_last_error(c)->text);
}

static void set_value(plcio_s7plus_sym_item *it, const char *text)
{
    plcio_error e;
    plcio_value_init(&it->value, it->sym.type);
    if (plcio_value_from_text(&it->value, it->sym.type, it->sym.length, text, strlen(text), &e))
        fail_msg("%s: %s", text, e.text);
}

static const struct {
    const char *name, *text;
} writes[] = {
    {"\"Speed_SP\"", "-1234"},    {"\"Count\"", "-100000"}, {"\"Temp\"", "21.5"},
    {"\"Valve Pos\"", "16#BEEF"}, {"\"Motor_On\"", "true"}, {"\"Level\"", "777"},
    {"\"Start\"", "true"},        {"\"Flags\"", "16#80"},   {"\"Ready\"", "true"},
};
#define NWRITES (sizeof writes / sizeof writes[0])

static uint32_t be(const uint8_t *b, size_t n)
{
    uint32_t v = 0;
    for (size_t k = 0; k < n; k++)
        v = v << 8 | b[k];
    return v;
}

/* Written by name over S7CommPlus, read at the absolute addresses over classic S7. */
static void check_writes(plcio_s7plus_client *c, plcio_s7_client *s7)
{
    uint8_t q4 = 0;
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_PA, 0, 4, 1, &q4), PLCIO_OK);
    plcio_s7plus_sym_item it[NWRITES];
    for (size_t k = 0; k < NWRITES; k++) {
        resolve(c, writes[k].name, &it[k]);
        set_value(&it[k], writes[k].text);
    }
    /* Flags (MB30) goes before Ready (M30.3) in one request: the bit lands in the byte written */
    assert_int_equal(plcio_s7plus_client_write_symbols(c, it, NWRITES), PLCIO_OK);
    for (size_t k = 0; k < NWRITES; k++)
        if (it[k].result) fail_msg("write %s: %s", writes[k].name, plcio_strerror(it[k].result));
    uint8_t b[4];
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 10, 2, b), PLCIO_OK);
    assert_int_equal((int16_t)be(b, 2), -1234);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 20, 4, b), PLCIO_OK);
    assert_int_equal((int32_t)be(b, 4), -100000);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 100, 4, b), PLCIO_OK);
    uint32_t bits = be(b, 4);
    float f;
    memcpy(&f, &bits, 4);
    assert_true(f == 21.5f);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PA, 0, 10, 2, b), PLCIO_OK);
    assert_int_equal(be(b, 2), 0xBEEF);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PA, 0, 4, 1, b), PLCIO_OK);
    assert_int_equal(b[0], 0x02); /* Q4.1 */
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PE, 0, 64, 2, b), PLCIO_OK);
    assert_int_equal(be(b, 2), 777);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PE, 0, 0, 1, b), PLCIO_OK);
    assert_int_equal(b[0] & 0x03, 0x01); /* I0.0 set, I0.1 not */
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 30, 1, b), PLCIO_OK);
    assert_int_equal(b[0], 0x88); /* Flags 16#80 with Ready (M30.3) */
}

/* Written over classic S7 at the absolute addresses, read by name. */
static void check_classic_writes(plcio_s7plus_client *other, plcio_s7_client *s7)
{
    uint8_t mw10[2] = {0x10, 0xE1}; /* 4321 */
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_MK, 0, 10, 2, mw10), PLCIO_OK);
    uint8_t ib0 = 0x02; /* I0.1 (Stop) set, I0.0 (Start) cleared */
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_PE, 0, 0, 1, &ib0), PLCIO_OK);
    uint8_t qb4 = 0xFF;
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_PA, 0, 4, 1, &qb4), PLCIO_OK);
    plcio_s7plus_sym_item it[4];
    resolve(other, "Speed_SP", &it[0]); /* unquoted, as a lone name */
    resolve(other, "\"stop\"", &it[1]); /* names are case-insensitive, as in TIA */
    resolve(other, "\"Start\"", &it[2]);
    resolve(other, "\"Temp\"", &it[3]);
    assert_int_equal(plcio_s7plus_client_read_symbols(other, it, 4), PLCIO_OK);
    for (int k = 0; k < 4; k++)
        assert_int_equal(it[k].result, PLCIO_OK);
    assert_int_equal(it[0].value.type, PLCIO_TYPE_INT);
    assert_int_equal(it[0].value.v.i, 4321);
    assert_true(it[1].value.v.b);
    assert_false(it[2].value.v.b);
    assert_true(fabs(it[3].value.v.f - 21.5) < 1e-9);
    /* a BOOL tag written by name changes its bit only */
    plcio_s7plus_sym_item m;
    resolve(other, "\"Motor_On\"", &m);
    set_value(&m, "false");
    assert_int_equal(plcio_s7plus_client_write_symbols(other, &m, 1), PLCIO_OK);
    assert_int_equal(m.result, PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PA, 0, 4, 1, &qb4), PLCIO_OK);
    assert_int_equal(qb4, 0xFD);
}

static void check_bad_names(plcio_s7plus_client *c)
{
    plcio_s7plus_symbol s;
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Nope\"", &s), PLCIO_ENOTFOUND);
    const char *why = plcio_s7plus_client_last_error(c)->text;
    if (!strstr(why, "Nope") || !strstr(why, "PLC tag")) fail_msg("unclear error: %s", why);
    assert_int_equal(plcio_s7plus_client_resolve(c, "Nope", &s), PLCIO_ENOTFOUND);
    /* a DB's name alone is no tag: said so */
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Plant\"", &s), PLCIO_ESYNTAX);
    assert_non_null(strstr(plcio_s7plus_client_last_error(c)->text, "is a data block"));
    /* a tag is no DB: a member of it is unknown */
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Speed_SP\".x", &s), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Speed_SP", &s), PLCIO_ESYNTAX);
    /* an INT tag takes no 70000: refused before anything is sent, the other item goes */
    plcio_s7plus_sym_item it[2];
    resolve(c, "\"Speed_SP\"", &it[0]);
    plcio_value_init(&it[0].value, PLCIO_TYPE_INT);
    it[0].value.v.i = 70000;
    resolve(c, "\"Count\"", &it[1]);
    set_value(&it[1], "5");
    assert_int_equal(plcio_s7plus_client_write_symbols(c, it, 2), PLCIO_OK);
    assert_int_not_equal(it[0].result, PLCIO_OK);
    assert_int_equal(it[1].result, PLCIO_OK);
    /* an access path with a LID the PLC does not have: the PLC's item error */
    plcio_s7plus_sym_item bad;
    resolve(c, "\"Count\"", &bad);
    bad.sym.lids[0] = 999;
    assert_int_equal(plcio_s7plus_client_read_symbols(c, &bad, 1), PLCIO_OK);
    assert_int_equal(bad.result, PLCIO_EPLC);
    /* the session goes on */
    resolve(c, "\"Count\"", &it[1]);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, &it[1], 1), PLCIO_OK);
    assert_int_equal(it[1].value.v.i, 5);
}

/* A subscription on a tag's access path: a classic write of MD100 is notified as a REAL. */
static void check_subscription(plcio_s7plus_client *c, plcio_s7_client *s7)
{
    plcio_test_s7plus_watch temp;
    static const uint8_t first[4] = {0x41, 0xAC, 0x00, 0x00}; /* 21.5, a REAL, not a Blob */
    plcio_test_s7plus_watch_real(c, "\"Temp\"", first, &temp);
    static const uint8_t next[4] = {0xC0, 0x20, 0x00, 0x00}; /* -2.5 */
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_MK, 0, 100, 4, next), PLCIO_OK);
    plcio_test_s7plus_watch_until(c, &temp, next);
    assert_int_equal(plcio_s7plus_client_unsubscribe(c, temp.id), PLCIO_OK);
}

static void test_tags(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim, true);
    plcio_s7plus_client *c = plus(port), *other = plus(port);
    plcio_s7_client *s7 = classic(port);
    check_browse(c);
    check_writes(c, s7);
    check_classic_writes(other, s7);
    check_bad_names(c);
    check_subscription(c, s7);
    /* forget drops the tag table too; resolving browses again */
    plcio_s7plus_client_forget(c);
    plcio_s7plus_symbol s;
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Ready\"", &s), PLCIO_OK);
    assert_int_equal(s.type, PLCIO_TYPE_BOOL);
    plcio_s7_client_free(s7);
    plcio_s7plus_client_free(other);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

/* Without arguments the simulator serves a small tag table beside "Line" and "Tank". */
static void test_builtin_tags(void **state)
{
    (void)state;
    plcio_test_proc sim = PLCIO_TEST_PROC_INIT;
    int port = start_sim(&sim, false);
    plcio_s7plus_client *c = plus(port);
    plcio_s7plus_tag *tags = NULL;
    size_t n = 0;
    assert_int_equal(plcio_s7plus_client_browse_tags(c, &tags, &n), PLCIO_OK);
    assert_int_equal(n, 9);
    bool speed = false;
    for (size_t k = 0; k < n; k++)
        if (!strcmp(tags[k].name, "Speed_SP")) {
            speed = true;
            assert_int_equal(tags[k].area, PLCIO_S7PLUS_AREA_M);
            assert_int_equal(tags[k].start, 10);
            assert_int_equal(tags[k].sym.type, PLCIO_TYPE_INT);
        }
    assert_true(speed);
    plcio_s7plus_tags_free(tags);
    plcio_s7plus_sym_item it;
    resolve(c, "\"Speed_SP\"", &it);
    set_value(&it, "1450");
    assert_int_equal(plcio_s7plus_client_write_symbols(c, &it, 1), PLCIO_OK);
    assert_int_equal(it.result, PLCIO_OK);
    plcio_s7_client *s7 = classic(port);
    uint8_t b[2];
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 10, 2, b), PLCIO_OK);
    assert_int_equal(be(b, 2), 1450);
    plcio_s7_client_free(s7);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_tags), cmocka_unit_test(test_builtin_tags)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
