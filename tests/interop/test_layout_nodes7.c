/* Layouts against foreign code: plcio computes every leaf's address and the
 * DB image of start values from TIA sources; snap7's server (node-snap7)
 * serves that image as DB1, and nodes7 reads each leaf at the address plcio
 * computed ("DB1,REAL28", "DB1,X12.1", "DB1,S6.5", ...) with its own
 * decoders. Every value nodes7 reads must be the start value plcio reports
 * for that member: a wrong offset, size or encoding shows as a mismatch.
 * (tests/interop/layout_nodes7.js is the peer; it exits on its own.) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/layout.h"
#include "plcio_test.h"

/* nodes7 address of a leaf, or NULL for types nodes7 does not read as
 * plain values (dates, times, LINT as BigInt, WSTRING). */
static const char *nodes7_address(const plcio_layout_member *m, char *buf, size_t cap)
{
    const char *t = NULL;
    switch (m->type) {
    case PLCIO_TYPE_BOOL: snprintf(buf, cap, "DB1,X%u.%d", m->byte, m->bit); return buf;
    case PLCIO_TYPE_STRING: snprintf(buf, cap, "DB1,S%u.%u", m->byte, m->length); return buf;
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_USINT: t = "BYTE"; break;
    case PLCIO_TYPE_CHAR: t = "CHAR"; break;
    case PLCIO_TYPE_INT: t = "INT"; break;
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_UINT: t = "WORD"; break;
    case PLCIO_TYPE_DINT: t = "DINT"; break;
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_UDINT: t = "DWORD"; break;
    case PLCIO_TYPE_REAL: t = "REAL"; break;
    case PLCIO_TYPE_LREAL: t = "LREAL"; break;
    default: return NULL;
    }
    snprintf(buf, cap, "DB1,%s%u", t, m->byte);
    return buf;
}

static int check_layout(const plcio_layout *l)
{
    uint32_t size = plcio_layout_size(l);
    uint8_t *img = malloc(size);
    assert_non_null(img);
    assert_int_equal(plcio_layout_start_image(l, img, size), 0);

    char dir[] = "/tmp/plcio-layout-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char hexpath[256], itempath[256];
    snprintf(hexpath, sizeof hexpath, "%s/image.hex", dir);
    snprintf(itempath, sizeof itempath, "%s/items.json", dir);
    FILE *f = fopen(hexpath, "w");
    assert_non_null(f);
    for (uint32_t i = 0; i < size; i++)
        fprintf(f, "%02x", img[i]);
    assert_int_equal(fclose(f), 0);

    cJSON *items = cJSON_CreateObject();
    size_t n = plcio_layout_leaf_count(l), checked = 0;
    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        char addr[64];
        assert_int_equal(plcio_layout_leaf(l, i, &m), 0);
        if (nodes7_address(&m, addr, sizeof addr)) cJSON_AddStringToObject(items, m.name, addr);
    }
    char *items_text = cJSON_PrintUnformatted(items);
    f = fopen(itempath, "w");
    assert_non_null(f);
    fputs(items_text, f);
    assert_int_equal(fclose(f), 0);
    free(items_text);

    char script[512];
    snprintf(script, sizeof script, "%s/../layout_nodes7.js", plcio_test_node_modules());
    const char *argv[] = {"node", script, hexpath, itempath, "--seconds", "40", NULL};
    plcio_test_proc proc;
    assert_int_equal(plcio_test_proc_start(&proc, argv, NULL, 0, 60), 0);
    static char line[1 << 20];
    int rc = plcio_test_proc_read_line(&proc, line, sizeof line, 45000);
    plcio_test_proc_stop(&proc);
    unlink(hexpath);
    unlink(itempath);
    rmdir(dir);
    if (rc != 0 || strncmp(line, "result ", 7) != 0) fail_msg("peer: %s", rc ? "no answer" : line);
    cJSON *got = cJSON_Parse(line + 7);
    assert_non_null(got);

    for (size_t i = 0; i < n; i++) {
        plcio_layout_member m;
        char addr[64], ours[1024];
        plcio_layout_leaf(l, i, &m);
        if (!nodes7_address(&m, addr, sizeof addr)) continue;
        assert_int_equal(plcio_layout_format_value(&m, img, size, ours, sizeof ours, PLCIO_LAYOUT_JSON), 0);
        cJSON *mine = cJSON_Parse(ours);
        const cJSON *theirs = cJSON_GetObjectItemCaseSensitive(got, m.name);
        if (!mine || !theirs) fail_msg("%s (%s): missing value", m.name, addr);
        bool same;
        if (cJSON_IsNumber(mine) && cJSON_IsNumber(theirs)) {
            double a = mine->valuedouble, b = theirs->valuedouble;
            double tol = m.type == PLCIO_TYPE_REAL ? fabs(a) * 1e-7 : 0.0;
            same = fabs(a - b) <= tol;
        } else if (cJSON_IsBool(mine) && cJSON_IsBool(theirs)) {
            same = cJSON_IsTrue(mine) == cJSON_IsTrue(theirs);
        } else if (cJSON_IsString(mine) && cJSON_IsString(theirs)) {
            same = strcmp(mine->valuestring, theirs->valuestring) == 0;
        } else {
            same = false;
        }
        if (!same) {
            char *t = cJSON_PrintUnformatted(theirs);
            fail_msg("%s at %s: plcio says %s, nodes7 read %s", m.name, addr, ours, t);
        }
        cJSON_Delete(mine);
        checked++;
    }
    cJSON_Delete(got);
    cJSON_Delete(items);
    free(img);
    print_message("%s: %zu leaves read back by nodes7 from snap7\n", plcio_layout_name(l), checked);
    return (int)checked;
}

static plcio_layout_set *load(const char *name, const char *text, const char *fixture)
{
    plcio_layout_set *set = NULL;
    (void)plcio_layout_set_new(NULL, &set, NULL);
    assert_non_null(set);
    int rc;
    if (fixture) {
        rc = plcio_layout_set_add_file(set, plcio_test_fixture_path(fixture));
    } else {
        /* cppcheck-suppress nullPointer ; load() gets text whenever it gets no fixture */
        rc = plcio_layout_set_add_text(set, name, text, strlen(text));
    }
    if (!rc) rc = plcio_layout_set_resolve(set);
    if (rc) fail_msg("%s", plcio_layout_set_last_error(set)->text);
    return set;
}

static void test_fixtures(void **state)
{
    (void)state;
    const char *fx[] = {"layouts/test_db.db", "layouts/seed_db_data_exchange.db", "layouts/db_main.db"};
    for (size_t i = 0; i < sizeof fx / sizeof fx[0]; i++) {
        plcio_layout_set *set = load(NULL, NULL, fx[i]);
        assert_true(check_layout(plcio_layout_set_get(set, 0)) > 0);
        plcio_layout_set_free(set);
    }
}

/* Every tricky placement with a non-zero start value, so a shifted offset
 * reads a different value. */
static const char *const mixed =
    "TYPE \"UDT_Pt\"\nSTRUCT\n  x : Real := 1.25;\n  ok : Bool := TRUE;\n  tag : String[3] := "
    "'ab';\nEND_STRUCT;\nEND_TYPE\n"
    "DATA_BLOCK \"Mixed\"\n{ S7_Optimized_Access := 'FALSE' }\nVERSION : 0.1\nNON_RETAIN\n   STRUCT\n"
    "      b0 : Bool := TRUE;\n      c : Char := 'Q';\n      s : String[5] := 'hello';\n      by : Byte := 16#A5;\n"
    "      w : Word := 16#BEEF;\n      f : Array[0..9] of Bool := [TRUE, FALSE, TRUE, 6(FALSE), TRUE];\n      after : "
    "Bool := TRUE;\n"
    "      d : DInt := -123456789;\n      st : Struct\n         i : Int := -2;\n         z : Bool := TRUE;\n      "
    "END_STRUCT;\n"
    "      pts : Array[1..3] of \"UDT_Pt\";\n      ss : Array[1..2] of String[3] := ['xyz', 'k'];\n"
    "      m : Array[1..2, 1..3] of Int := [11, 12, 13, 21, 22, 23];\n      lr : LReal := -1.0E-3;\n      dw : DWord "
    ":= 16#DEADBEEF;\n"
    "      tail : Byte := 7;\n   END_STRUCT;\nBEGIN\n   pts[2].x := -8.5;\n   pts[3].tag := 'q';\n   pts[3].ok := "
    "FALSE;\n"
    "END_DATA_BLOCK\n";

static void test_mixed_types(void **state)
{
    (void)state;
    plcio_layout_set *set = load("mixed.db", mixed, NULL);
    assert_true(check_layout(plcio_layout_set_get(set, 0)) > 30);
    plcio_layout_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_mixed_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
