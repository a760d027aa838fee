/* Optimized DBs by symbol: plcio's S7CommPlus client against `plcio sim s7`
 * serving a TIA source with optimized access (tests/fixtures/s7plus_symbolic:
 * every elementary type, a UDT, nested structs, arrays of structs, a 2-D
 * array, 1200 DInts): browse, resolve, typed reads of the start values,
 * writes read back by a second client, batches, and bad input (unknown
 * symbols, indexes out of range, values that do not fit, raw access to an
 * optimized DB over both protocols). The built-in S7-1500-like DBs when no
 * --db is given. python-snap7's client against the same simulator:
 * tests/interop/s7plus/test_s7plus_python_snap7.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/layout.h"
#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio/value.h"
#include "plcio_test.h"
#include "s7plus_sim.h"

static int start_sim(plcio_test_proc *p, bool with_db)
{
    return plcio_test_s7plus_sim_start(p, with_db ? PLCIO_TEST_S7PLUS_DB : PLCIO_TEST_S7PLUS_BUILTIN);
}

static plcio_s7plus_client *plus(int port, const char *params) { return plcio_test_s7plus_client(port, params, true); }

/* name -> start value text as plcio prints it */
static const struct {
    const char *name, *text;
} starts[] = {
    {"\"Plant\".B", "true"},
    {"\"Plant\".By", "16#AB"},
    {"\"Plant\".W", "16#1234"},
    {"\"Plant\".DW", "16#89ABCDEF"},
    {"\"Plant\".LW", "16#0123456789ABCDEF"},
    {"\"Plant\".SI", "-5"},
    {"\"Plant\".USI", "250"},
    {"\"Plant\".I", "-12345"},
    {"\"Plant\".UI", "54321"},
    {"\"Plant\".DI", "-123456789"},
    {"\"Plant\".UDI", "4000000000"},
    {"\"Plant\".LI", "-1234567890123"},
    {"\"Plant\".ULI", "12345678901234567890"},
    {"\"Plant\".R", "3.5"},
    {"\"Plant\".LR", "-2.25"},
    {"\"Plant\".C", "x"},
    {"\"Plant\".WC", "y"},
    {"\"Plant\".S", "abc"},
    {"\"Plant\".WS", "\xC3\xA4\xC3\xB6\xC3\xBC"},
    {"\"Plant\".T", "T#1s500ms"},
    {"\"Plant\".LT", "LT#2s"},
    {"\"Plant\".S5", "S5T#10s"},
    {"\"Plant\".D", "D#2024-01-31"},
    {"\"Plant\".TOD", "TOD#12:34:56.789"},
    {"\"Plant\".Axis.Pos", "1.25"},
    {"\"Plant\".Axis.Enabled", "true"},
    {"\"Plant\".Axis.Limits[1]", "-5"},
    {"\"Plant\".Axis.Limits[2]", "5"},
    {"\"Plant\".Axes[1].Pos", "9.5"},
    {"\"Plant\".Axes[2].Pos", "1.25"},
    {"Plant.Nest.Inner.Deep", "77"},
    {"DB5.M[2,1]", "4.5"},
    {"\"Plant\".M[1,1]", "0"},
};

static void text_of(const plcio_value *v, char *buf, size_t cap)
{
    assert_int_equal(plcio_value_to_text(v, buf, cap, NULL), PLCIO_OK);
}

/* What plcio prints for a start value it parsed itself (the ones above are
 * checked literally; these formats are the value layer's own). */
static void check_starts(plcio_s7plus_client *c)
{
    size_t n = sizeof starts / sizeof starts[0];
    plcio_s7plus_sym_item *items = calloc(n, sizeof *items);
    assert_non_null(items);
    for (size_t k = 0; k < n; k++)
        if (plcio_s7plus_client_resolve(c, starts[k].name, &items[k].sym))
            fail_msg("resolve %s: %s", starts[k].name, plcio_s7plus_client_last_error(c)->text);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, items, n), PLCIO_OK);
    for (size_t k = 0; k < n; k++) {
        if (items[k].result) fail_msg("%s: %s", starts[k].name, plcio_strerror(items[k].result));
        char t[256];
        text_of(&items[k].value, t, sizeof t);
        /* the value layer prints some types in its own canonical form */
        plcio_value want;
        plcio_error e;
        plcio_value_init(&want, items[k].sym.type);
        if (plcio_value_from_text(&want, items[k].sym.type, items[k].sym.length, starts[k].text, strlen(starts[k].text),
                                  &e))
            fail_msg("%s: %s", starts[k].text, e.text);
        char w[256];
        text_of(&want, w, sizeof w);
        if (strcmp(t, w) != 0) fail_msg("%s: read %s, the source says %s (%s)", starts[k].name, t, starts[k].text, w);
    }
    free(items);
}

/* Every type written over S7CommPlus, read back by a second client. */
static const struct {
    const char *name, *text;
} writes[] = {
    {"\"Plant\".B", "false"},
    {"\"Plant\".By", "16#01"},
    {"\"Plant\".W", "16#FFFE"},
    {"\"Plant\".DW", "16#00000001"},
    {"\"Plant\".LW", "16#FFFFFFFFFFFFFFFF"},
    {"\"Plant\".SI", "-128"},
    {"\"Plant\".USI", "255"},
    {"\"Plant\".I", "32767"},
    {"\"Plant\".UI", "65535"},
    {"\"Plant\".DI", "-2147483648"},
    {"\"Plant\".UDI", "4294967295"},
    {"\"Plant\".LI", "-9223372036854775808"},
    {"\"Plant\".ULI", "18446744073709551615"},
    {"\"Plant\".R", "-0.125"},
    {"\"Plant\".LR", "1e+300"},
    {"\"Plant\".C", "Z"},
    {"\"Plant\".WC", "\xE2\x82\xAC"},
    {"\"Plant\".S", "0123456789"},
    {"\"Plant\".WS", "\xE2\x82\xAC uro"},
    {"\"Plant\".T", "T#-1d"},
    {"\"Plant\".LT", "LT#1ms5ns"},
    {"\"Plant\".S5", "S5T#2h"},
    {"\"Plant\".D", "D#2169-06-06"},
    {"\"Plant\".TOD", "TOD#23:59:59.999"},
    {"\"Plant\".LTOD", "LTOD#23:59:59.999999999"},
    {"\"Plant\".DT", "DT#1990-01-01-00:00:00"},
    {"\"Plant\".LDT", "LDT#2262-04-11-23:47:16.854775807"},
    {"\"Plant\".DTL", "DTL#2554-12-31-23:59:59.999999999"},
    {"\"Plant\".Axes[2].Enabled", "true"},
    {"\"Plant\".Axes[0].Limits[2]", "-300"},
    {"\"Plant\".Nest.Flag", "true"},
    {"\"Plant\".M[1,0]", "2.5"},
    {"\"Plant\".Big[1199]", "1199"},
};

static void check_writes(plcio_s7plus_client *c, plcio_s7plus_client *other)
{
    size_t n = sizeof writes / sizeof writes[0];
    plcio_s7plus_sym_item *items = calloc(n, sizeof *items);
    plcio_s7plus_sym_item *back = calloc(n, sizeof *back);
    assert_true(items && back);
    for (size_t k = 0; k < n; k++) {
        if (plcio_s7plus_client_resolve(c, writes[k].name, &items[k].sym))
            fail_msg("resolve %s: %s", writes[k].name, plcio_s7plus_client_last_error(c)->text);
        plcio_error e;
        plcio_value_init(&items[k].value, items[k].sym.type);
        if (plcio_value_from_text(&items[k].value, items[k].sym.type, items[k].sym.length, writes[k].text,
                                  strlen(writes[k].text), &e))
            fail_msg("%s=%s: %s", writes[k].name, writes[k].text, e.text);
        assert_int_equal(plcio_s7plus_client_resolve(other, writes[k].name, &back[k].sym), PLCIO_OK);
    }
    assert_int_equal(plcio_s7plus_client_write_symbols(c, items, n), PLCIO_OK);
    for (size_t k = 0; k < n; k++)
        if (items[k].result) fail_msg("write %s: %s", writes[k].name, plcio_strerror(items[k].result));
    assert_int_equal(plcio_s7plus_client_read_symbols(other, back, n), PLCIO_OK);
    for (size_t k = 0; k < n; k++) {
        char a[256], b[256];
        assert_int_equal(back[k].result, PLCIO_OK);
        text_of(&items[k].value, a, sizeof a);
        text_of(&back[k].value, b, sizeof b);
        if (strcmp(a, b) != 0) fail_msg("%s: wrote %s, read back %s", writes[k].name, a, b);
    }
    /* the neighbours of what was written did not move */
    plcio_s7plus_sym_item nb[3];
    memset(nb, 0, sizeof nb);
    assert_int_equal(plcio_s7plus_client_resolve(other, "\"Plant\".Axes[1].Enabled", &nb[0].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_resolve(other, "\"Plant\".Axes[0].Limits[1]", &nb[1].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_resolve(other, "\"Plant\".Big[1198]", &nb[2].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_symbols(other, nb, 3), PLCIO_OK);
    assert_true(nb[0].value.v.b);
    assert_int_equal(nb[1].value.v.i, -5);
    assert_int_equal(nb[2].value.v.i, 0);
    free(items);
    free(back);
}

/* 1200 DInts in batches of max_items (the URL's), each element its own value. */
static void check_batches(int port)
{
    plcio_s7plus_client *c = plus(port, "&max_items=7");
    enum { N = 1200 };
    plcio_s7plus_sym_item *items = calloc(N, sizeof *items);
    assert_non_null(items);
    for (int k = 0; k < N; k++) {
        char name[64];
        snprintf(name, sizeof name, "\"Plant\".Big[%d]", k);
        assert_int_equal(plcio_s7plus_client_resolve(c, name, &items[k].sym), PLCIO_OK);
        plcio_value_init(&items[k].value, PLCIO_TYPE_DINT);
        items[k].value.v.i = (int64_t)k * 1000 - 7;
    }
    assert_int_equal(plcio_s7plus_client_write_symbols(c, items, N), PLCIO_OK);
    for (int k = 0; k < N; k++) {
        assert_int_equal(items[k].result, PLCIO_OK);
        items[k].value.v.i = 0;
    }
    assert_int_equal(plcio_s7plus_client_read_symbols(c, items, N), PLCIO_OK);
    for (int k = 0; k < N; k++) {
        assert_int_equal(items[k].result, PLCIO_OK);
        assert_int_equal(items[k].value.v.i, (int64_t)k * 1000 - 7);
    }
    free(items);
    plcio_s7plus_client_free(c);
}

static void done_cb(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    *(int *)ctx = result;
}

static void run_until(plcio_s7plus_client *c, const int *flag)
{
    for (int spins = 0; *flag == 1 && spins < 10000; spins++) {
        plcio_test_s7plus_spin(c);
    }
    assert_int_not_equal(*flag, 1);
}

/* Event-loop mode: 30 members written then read in batches of 7, symbols
 * resolved by a blocking client. */
static void check_async(int port, plcio_s7plus_client *resolver)
{
    char url[200];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?insecure=1&max_items=7", port);
    plcio_s7plus_client *c = NULL;
    assert_int_equal(plcio_s7plus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    int connected = 1;
    assert_int_equal(plcio_s7plus_client_connect_async(c, done_cb, &connected), PLCIO_OK);
    enum { N = 30 };
    static plcio_s7plus_sym_item items[N];
    memset(items, 0, sizeof items);
    for (int k = 0; k < N; k++) {
        char name[48];
        snprintf(name, sizeof name, "\"Plant\".Big[%d]", 100 + k);
        assert_int_equal(plcio_s7plus_client_resolve(resolver, name, &items[k].sym), PLCIO_OK);
        plcio_value_init(&items[k].value, PLCIO_TYPE_DINT);
        items[k].value.v.i = -1000 - k;
    }
    plcio_value_init(&items[5].value, PLCIO_TYPE_INT); /* the wrong type: its own result, the rest go */
    int result = 1;
    assert_int_equal(plcio_s7plus_client_write_symbols_async(c, items, N, done_cb, &result), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_symbols_async(c, items, N, done_cb, &result), PLCIO_EBUSY);
    run_until(c, &result);
    assert_int_equal(connected, PLCIO_OK);
    assert_int_equal(result, PLCIO_OK);
    for (int k = 0; k < N; k++)
        assert_int_equal(items[k].result, k == 5 ? PLCIO_ETYPE : PLCIO_OK);
    for (int k = 0; k < N; k++)
        items[k].value.v.i = 0;
    result = 1;
    assert_int_equal(plcio_s7plus_client_read_symbols_async(c, items, N, done_cb, &result), PLCIO_OK);
    run_until(c, &result);
    assert_int_equal(result, PLCIO_OK);
    for (int k = 0; k < N; k++) {
        assert_int_equal(items[k].result, PLCIO_OK);
        assert_int_equal(items[k].value.v.i,
                         k == 5 ? 105 * 1000 - 7 : -1000 - k); /* Big[105]: check_batches wrote it */
    }
    plcio_s7plus_client_free(c);
}

static void check_browse(plcio_s7plus_client *c)
{
    plcio_layout_set *set = NULL;
    assert_int_equal(plcio_s7plus_client_browse(c, NULL, &set), PLCIO_OK);
    assert_int_equal(plcio_layout_set_count(set), 1); /* DB1 (the sample, standard) has no type info */
    const plcio_layout *l = plcio_layout_set_get(set, 0);
    assert_string_equal(plcio_layout_name(l), "Plant");
    assert_int_equal(plcio_layout_db_number(l), 5);
    assert_true(plcio_layout_is_optimized(l));
    plcio_layout_member m;
    assert_int_equal(plcio_layout_lookup(l, "Axes[2].Limits[1]", &m), PLCIO_OK);
    assert_int_equal(m.type, PLCIO_TYPE_INT);
    /* Axes is the 30th member (LID 10 + 29), element 2, the 1 after a struct
     * element's index, Limits is Axis_T's 3rd member, then its element 0 */
    assert_int_equal(m.nlids, 5);
    uint32_t want[5] = {39, 2, 1, 12, 0};
    assert_memory_equal(m.lids, want, sizeof want);
    assert_int_equal(plcio_layout_lookup(l, "WS", &m), PLCIO_OK);
    assert_int_equal(m.type, PLCIO_TYPE_WSTRING);
    assert_int_equal(m.length, 8);
    /* every leaf: 28 elementary + Axis 4 + Axes 12 + Nest 2 + M 4 + Big 1200 */
    assert_int_equal(plcio_layout_leaf_count(l), 28 + 4 + 12 + 2 + 4 + 1200);
    plcio_layout_set_free(set);
    assert_int_equal(plcio_s7plus_client_browse(c, "\"Plant\"", &set), PLCIO_OK);
    assert_int_equal(plcio_layout_set_count(set), 1);
    plcio_layout_set_free(set);
    assert_int_equal(plcio_s7plus_client_browse(c, "DB5", &set), PLCIO_OK);
    plcio_layout_set_free(set);
    assert_int_equal(plcio_s7plus_client_browse(c, "Nope", &set), PLCIO_ENOTFOUND);
    assert_null(set);
    assert_non_null(strstr(plcio_s7plus_client_last_error(c)->text, "Nope"));
    assert_int_equal(plcio_s7plus_client_browse(c, "DB1", &set), PLCIO_ENOTFOUND);
    assert_non_null(strstr(plcio_s7plus_client_last_error(c)->text, "standard"));
}

static void check_bad_input(plcio_s7plus_client *c)
{
    static const struct {
        const char *name;
        int rc;
        const char *says;
    } bad[] = {
        {"\"Plant\".Nope", PLCIO_ENOTFOUND, "no such member"},
        {"\"Plant\".Big[1200]", PLCIO_ERANGE, "bounds"},
        {"\"Plant\".Big[-1]", PLCIO_ERANGE, "bounds"},
        {"\"Plant\".M[3,0]", PLCIO_ERANGE, "bounds"},
        {"\"Plant\".M[1]", PLCIO_ERANGE, "bounds"},
        {"\"Plant\".Axis", PLCIO_ETYPE, "structure"},
        {"\"Plant\".Big", PLCIO_ETYPE, "array"},
        {"\"Other\".X", PLCIO_ENOTFOUND, "no data block"},
        {"\"Plant", PLCIO_ESYNTAX, "quote"},
        {"\"Plant\"", PLCIO_ESYNTAX, "symbol"},
        {"\"Plant\".Big[x]", PLCIO_ESYNTAX, "malformed"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        plcio_s7plus_symbol s;
        int rc = plcio_s7plus_client_resolve(c, bad[k].name, &s);
        if (rc != bad[k].rc)
            fail_msg("%s: %s, wanted %s (%s)", bad[k].name, plcio_strerror(rc), plcio_strerror(bad[k].rc),
                     plcio_s7plus_client_last_error(c)->text);
        if (!strstr(plcio_s7plus_client_last_error(c)->text, bad[k].says))
            fail_msg("%s: '%s' does not say '%s'", bad[k].name, plcio_s7plus_client_last_error(c)->text, bad[k].says);
    }
    assert_true(plcio_s7plus_client_is_connected(c));
    /* LID chains the PLC does not know, a value of the wrong type: per item */
    plcio_s7plus_sym_item it[3];
    memset(it, 0, sizeof it);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Plant\".I", &it[0].sym), PLCIO_OK);
    it[1].sym = it[0].sym;
    it[1].sym.lids[0] = 999;
    it[2].sym = it[0].sym;
    it[2].sym.access_area += 100; /* DB105: none */
    assert_int_equal(plcio_s7plus_client_read_symbols(c, it, 3), PLCIO_OK);
    assert_int_equal(it[0].result, PLCIO_OK);
    assert_int_equal(it[1].result, PLCIO_EPLC);
    assert_int_equal(it[2].result, PLCIO_EPLC);
    plcio_value_init(&it[0].value, PLCIO_TYPE_REAL); /* not the member's type */
    plcio_value_init(&it[1].value, PLCIO_TYPE_INT);
    it[1].value.v.i = 70000; /* out of range for INT */
    it[1].sym = it[0].sym;
    assert_int_equal(plcio_s7plus_client_write_symbols(c, it, 2), PLCIO_OK);
    assert_int_equal(it[0].result, PLCIO_ETYPE);
    assert_int_equal(it[1].result, PLCIO_ERANGE);
    /* an item without a path */
    plcio_s7plus_sym_item none;
    memset(&none, 0, sizeof none);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, &none, 1), PLCIO_EINVAL);
    /* raw (ClassicBlob) access to the optimized DB over S7CommPlus: refused */
    uint8_t b[4];
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 5, 0, 4, b), PLCIO_EPLC);
    assert_int_equal(plcio_s7plus_client_plc_error(c), 0x8104);
    assert_true(plcio_s7plus_client_is_connected(c));
}

static void test_optimized_db(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, true);
    plcio_s7plus_client *c = plus(port, "");
    plcio_s7plus_client *other = plus(port, "&tls=0");
    check_browse(c);
    check_starts(c);
    check_writes(c, other);
    check_bad_input(c);
    check_batches(port);
    check_async(port, other);
    /* classic S7 refuses absolute access to the optimized DB, as a real CPU */
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *s7 = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &s7, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
    uint8_t b[4];
    assert_int_not_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_DB, 5, 0, 4, b), PLCIO_OK);
    assert_int_not_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 5, 0, 4, b), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_DB, 1, 0, 4, b), PLCIO_OK); /* standard DB1 */
    plcio_s7_client_free(s7);
    /* forget drops the cache; resolving browses again */
    plcio_s7plus_client_forget(c);
    plcio_s7plus_symbol s;
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Plant\".R", &s), PLCIO_OK);
    plcio_s7plus_client_free(other);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

static void test_builtin_dbs(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, false);
    plcio_s7plus_client *c = plus(port, "");
    plcio_layout_set *set = NULL;
    assert_int_equal(plcio_s7plus_client_browse(c, NULL, &set), PLCIO_OK);
    assert_int_equal(plcio_layout_set_count(set), 2);
    assert_string_equal(plcio_layout_name(plcio_layout_set_get(set, 0)), "Line");
    assert_int_equal(plcio_layout_db_number(plcio_layout_set_get(set, 0)), 10);
    assert_string_equal(plcio_layout_name(plcio_layout_set_get(set, 1)), "Tank");
    plcio_layout_set_free(set);
    plcio_s7plus_sym_item it[3];
    memset(it, 0, sizeof it);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Line\".Motor.Speed", &it[0].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Line\".Counts[2]", &it[1].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Tank\".Mode", &it[2].sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, it, 3), PLCIO_OK);
    assert_true(it[0].value.v.f == 1500.0);
    assert_int_equal(it[1].value.v.i, 42);
    assert_int_equal(it[2].value.v.i, -3);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

/* A subscription on a member of an optimized DB by its access path (what
 * resolve gives): a symbolic write by a second client is notified, typed
 * (REAL big-endian), without any raw address. */
static void test_symbolic_subscription(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, false);
    plcio_s7plus_client *c = plus(port, "");
    plcio_s7plus_client *w = plus(port, "");
    /* the first notification: the start value 1500.0, a REAL */
    plcio_test_s7plus_watch speed;
    static const uint8_t start[4] = {0x44, 0xBB, 0x80, 0x00}; /* 1500.0 */
    plcio_test_s7plus_watch_real(c, "\"Line\".Motor.Speed", start, &speed);
    /* a second client writes 7.5 by name: notified */
    plcio_s7plus_sym_item wi;
    memset(&wi, 0, sizeof wi);
    assert_int_equal(plcio_s7plus_client_resolve(w, "\"Line\".Motor.Speed", &wi.sym), PLCIO_OK);
    plcio_value_init(&wi.value, PLCIO_TYPE_REAL);
    wi.value.v.f = 7.5;
    assert_int_equal(plcio_s7plus_client_write_symbols(w, &wi, 1), PLCIO_OK);
    assert_int_equal(wi.result, PLCIO_OK);
    static const uint8_t written[4] = {0x40, 0xF0, 0x00, 0x00}; /* 7.5 */
    plcio_test_s7plus_watch_until(c, &speed, written);
    assert_int_equal(plcio_s7plus_client_unsubscribe(c, speed.id), PLCIO_OK);
    plcio_s7plus_client_free(w);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_optimized_db), cmocka_unit_test(test_builtin_dbs),
                                       cmocka_unit_test(test_symbolic_subscription)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
