/* `plcio sim s7` answers S7CommPlus on its S7 port, from the same memory as
 * classic S7: plcio's S7CommPlus client over TLS (the simulator's certificate
 * written out and trusted) and V1, checked against plcio's classic S7 client
 * on the same simulator; a certificate nobody trusts, --s7plus-tls-only,
 * --no-s7plus. (python-snap7's client against the simulator:
 * tests/interop/s7plus/test_s7plus_python_snap7.c.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio_test.h"

static char tmp[128], cert[200];

static int start_sim(plcio_test_proc *p, const char *extra)
{
    const char *argv[17] = {
        plcio_test_bin(), "sim",  "s7",        "--listen", "127.0.0.1:0",       "--db", "1:256", "--db", "2:100",
        "--db",           "7:10", "--seconds", "120",      "--s7plus-cert-out", cert,   extra,   NULL};
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(p->line);
    assert_true(port > 0);
    return port;
}

static plcio_s7_client *classic(int port)
{
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *c = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    return c;
}

static plcio_s7plus_client *plus(int port, const char *params)
{
    char url[400];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?timeout=5000%s", port, params);
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, &c, &err)) fail_msg("%s: %s", url, err.text);
    return c;
}

static void scenario(int port, const char *params, bool tls)
{
    plcio_s7_client *s7 = classic(port);
    uint8_t pattern[256];
    for (int i = 0; i < 256; i++)
        pattern[i] = (uint8_t)(255 - i);
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 0, 256, pattern), PLCIO_OK);
    uint8_t m[4] = {9, 8, 7, 6};
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_MK, 0, 20, 4, m), PLCIO_OK);

    plcio_s7plus_client *c = plus(port, params);
    if (plcio_s7plus_client_connect(c)) fail_msg("connect: %s", plcio_s7plus_client_last_error(c)->text);
    assert_string_equal(plcio_s7plus_client_tls_version(c), tls ? "TLSv1.3" : "");
    uint8_t b[256];
    /* what classic S7 wrote, read over S7CommPlus */
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 256, b), PLCIO_OK);
    assert_memory_equal(b, pattern, 256);
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_M, 0, 20, 4, b), PLCIO_OK);
    assert_memory_equal(b, m, 4);
    /* written over S7CommPlus, read by classic S7 */
    uint8_t w[5] = {0xDE, 0xAD, 0xBE, 0xEF, 0x42};
    assert_int_equal(plcio_s7plus_client_write_area(c, PLCIO_S7PLUS_AREA_DB, 2, 95, 5, w), PLCIO_OK);
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_DB, 2, 95, 5, b), PLCIO_OK);
    assert_memory_equal(b, w, 5);
    /* past the end of a DB, a DB that does not exist: refused per item */
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 2, 96, 5, b), PLCIO_EPLC);
    assert_int_equal(plcio_s7plus_client_write_area(c, PLCIO_S7PLUS_AREA_DB, 99, 0, 1, w), PLCIO_EPLC);
    assert_true(plcio_s7plus_client_is_connected(c));
    uint8_t x[4], y[4], z[2];
    plcio_s7plus_item items[3] = {{PLCIO_S7PLUS_AREA_DB, 1, 10, 4, x, 0, 0},
                                  {PLCIO_S7PLUS_AREA_DB, 3, 0, 4, y, 0, 0},
                                  {PLCIO_S7PLUS_AREA_DB, 2, 98, 2, z, 0, 0}};
    assert_int_equal(plcio_s7plus_client_read_multi(c, items, 3), PLCIO_OK);
    assert_int_equal(items[0].result, PLCIO_OK);
    assert_memory_equal(x, pattern + 10, 4);
    assert_int_equal(items[1].result, PLCIO_EPLC);
    assert_int_equal(items[2].result, PLCIO_OK);
    assert_memory_equal(z, w + 3, 2);
    size_t n = 0;
    uint16_t dbs[8];
    assert_int_equal(plcio_s7plus_client_list_dbs(c, dbs, 8, &n), PLCIO_OK);
    assert_int_equal(n, 3);
    assert_int_equal(dbs[0], 1);
    assert_int_equal(dbs[1], 2);
    assert_int_equal(dbs[2], 7);
    unsigned level = 0;
    assert_int_equal(plcio_s7plus_client_get_protection_level(c, &level), PLCIO_OK);
    assert_int_equal(level, 1);
    plcio_s7plus_client_free(c);
    plcio_s7_client_free(s7);
}

/* URLs the client refuses before any I/O, each with a reason naming the key. */
static void test_bad_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int rc;
        const char *why;
    } cases[] = {
        {"s7plus://127.0.0.1?password=secret&legitimation=v3", PLCIO_ESYNTAX, "legitimation"},
        {"s7plus://127.0.0.1?password=secret&legitimation=new&tls=0", PLCIO_EINVAL, "TLS"},
        {"s7plus://127.0.0.1?password=&tls=0", PLCIO_EINVAL, "password"},
        {"s7plus://127.0.0.1?tls=0&password=12345678901234567890123456789012345678901234567890123456789012345",
         PLCIO_EINVAL, "password"},
        {"s7plus://127.0.0.1?dialect=tia", PLCIO_ESYNTAX, "dialect"},
        {"s7plus://127.0.0.1?timeout=0", PLCIO_OK, "timeout"}, /* rc checked as "not OK" below */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        plcio_s7plus_client *c = NULL;
        plcio_error err;
        int rc = plcio_s7plus_client_new(cases[i].url, NULL, &c, &err);
        if (cases[i].rc != PLCIO_OK) assert_int_equal(rc, cases[i].rc);
        assert_int_not_equal(rc, PLCIO_OK);
        assert_null(c);
        if (!strstr(err.text, cases[i].why))
            fail_msg("%s: '%s' does not name '%s'", cases[i].url, err.text, cases[i].why);
    }
}

static void test_sim_tls_and_v1(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, NULL);
    /* the fingerprint line came before "listening on" */
    char params[300];
    snprintf(params, sizeof params, "&ca=%s", cert);
    scenario(port, params, true);
    scenario(port, "&tls=0", false);
    /* a CA that is not the simulator's */
    char other[220];
    snprintf(other, sizeof other, "&ca=%s/other.pem", tmp);
    plcio_s7plus_client *c = plus(port, other);
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_EACCESS);
    plcio_s7plus_client_free(c);
    /* classic S7 still served beside it */
    plcio_s7_client *s7 = classic(port);
    plcio_s7_client_free(s7);
    plcio_test_proc_stop(&sim);
}

static void test_sim_tls_only_and_off(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, "--s7plus-tls-only");
    plcio_s7plus_client *c = plus(port, "&tls=0");
    assert_int_not_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    plcio_s7plus_client_free(c);
    char params[300];
    snprintf(params, sizeof params, "&ca=%s", cert);
    c = plus(port, params);
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);

    port = start_sim(&sim, "--no-s7plus");
    c = plus(port, "&tls=0");
    assert_int_not_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/plcio-s7plus-sim-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(cert, sizeof cert, "%s/sim.pem", tmp);
    char cmd[600];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout k2.pem -out other.pem -days 2 -subj "
             "/CN=other >/dev/null 2>&1",
             tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return plcio_test_rm_rf(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_bad_urls), cmocka_unit_test(test_sim_tls_and_v1),
                                       cmocka_unit_test(test_sim_tls_only_and_off)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
