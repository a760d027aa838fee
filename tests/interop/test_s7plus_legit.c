/* S7CommPlus password legitimation against `plcio sim s7 --password`: the
 * challenge (attribute 303) answered by the legacy method (SHA1 XOR, attribute
 * 304) and the new one (AES-256-CBC with the TLS exporter key, attribute 1846),
 * right and wrong passwords, no password, protection level 3 (reads too), and
 * the classic S7 side of the same simulator agreeing. The answer computations
 * themselves: SHA-1 test vector (FIPS 180) and short challenges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio_test.h"
#include "s7plus/s7p_legit.h"

static char tmp[128], cert[200];

static int start_sim(plcio_test_proc *p, const char *protection)
{
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    const char *argv[20] = {bin,    "sim",        "s7",        "--listen", "127.0.0.1:0",
                            "--db", "1:64",       "--seconds", "120",      "--s7plus-cert-out",
                            cert,   "--password", "Secret1",   NULL};
    if (protection) {
        argv[13] = "--protection";
        argv[14] = protection;
    }
    assert_int_equal(plcio_test_proc_start(p, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(p->line);
    assert_true(port > 0);
    return port;
}

static plcio_s7plus_client *plus(int port, const char *params)
{
    char url[400];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?timeout=5000&ca=%s%s", port, cert, params);
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    if (plcio_s7plus_client_new(url, NULL, &c, &err)) fail_msg("%s: %s", url, err.text);
    return c;
}

static const char *last(plcio_s7plus_client *c) { return plcio_s7plus_client_last_error(c)->text; }

/* Connected with params; writing DB1 works (and classic S7 reads it back) or is refused. */
static void check_write(int port, const char *params, bool allowed, uint8_t mark)
{
    plcio_s7plus_client *c = plus(port, params);
    if (plcio_s7plus_client_connect(c)) fail_msg("connect %s: %s", params, last(c));
    unsigned level = 0;
    assert_int_equal(plcio_s7plus_client_get_protection_level(c, &level), PLCIO_OK);
    assert_int_equal(level, allowed ? 1 : 2);
    uint8_t w[4] = {mark, 0x11, 0x22, mark};
    int rc = plcio_s7plus_client_write_area(c, PLCIO_S7PLUS_AREA_DB, 1, 8, 4, w);
    if (allowed) {
        if (rc) fail_msg("write %s: %s", params, last(c));
        char url[64];
        snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
        plcio_s7_client *s7 = NULL;
        assert_int_equal(plcio_s7_client_new(url, NULL, &s7, NULL), PLCIO_OK);
        assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
        uint8_t b[4];
        assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_DB, 1, 8, 4, b), PLCIO_OK);
        assert_memory_equal(b, w, 4);
        plcio_s7_client_free(s7);
    } else {
        assert_int_equal(rc, PLCIO_EACCESS);
        if (!strstr(last(c), "password")) fail_msg("'%s' does not name the password", last(c));
        /* the session stays usable for reading (level 2) */
        uint8_t b[4];
        assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 8, 4, b), PLCIO_OK);
        assert_true(plcio_s7plus_client_is_connected(c));
    }
    plcio_s7plus_client_free(c);
}

static void wrong_password(int port, const char *params, const char *method)
{
    plcio_s7plus_client *c = plus(port, params);
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_EACCESS);
    if (!strstr(last(c), "refused the password") || !strstr(last(c), method))
        fail_msg("%s: '%s' does not say the password was refused (%s)", params, last(c), method);
    assert_false(plcio_s7plus_client_is_connected(c)); /* a refused password closes the session */
    plcio_s7plus_client_free(c);
}

static void test_level2(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, NULL);
    check_write(port, "", false, 1);                                     /* no password: read-only */
    check_write(port, "&tls=0", false, 2);                               /* V1 too */
    check_write(port, "&password=Secret1", true, 3);                     /* TLS: new method */
    check_write(port, "&password=Secret1&legitimation=new", true, 4);    /* asked for */
    check_write(port, "&password=Secret1&legitimation=legacy", true, 5); /* legacy over TLS */
    check_write(port, "&password=Secret1&tls=0", true, 6);               /* V1: legacy */
    wrong_password(port, "&password=secret1", "new");
    wrong_password(port, "&password=Secret1x&legitimation=legacy", "legacy");
    wrong_password(port, "&password=S&tls=0", "legacy");
    /* a refused attempt leaves nothing behind: the next session legitimates */
    check_write(port, "&password=Secret1", true, 7);
    plcio_test_proc_stop(&sim);
}

static void test_level3(void **state)
{
    (void)state;
    plcio_test_proc sim;
    int port = start_sim(&sim, "3");
    uint8_t b[4];
    plcio_s7plus_client *c = plus(port, "");
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    unsigned level = 0;
    assert_int_equal(plcio_s7plus_client_get_protection_level(c, &level), PLCIO_OK);
    assert_int_equal(level, 3);
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 4, b), PLCIO_EACCESS);
    if (!strstr(last(c), "password")) fail_msg("'%s' does not name the password", last(c));
    plcio_s7plus_client_free(c);
    c = plus(port, "&password=Secret1");
    if (plcio_s7plus_client_connect(c)) fail_msg("connect: %s", last(c));
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 4, b), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_write_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 4, b), PLCIO_OK);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&sim);
}

/* The event-loop mode refuses a password rather than skipping it. */
static void test_async_refused(void **state)
{
    (void)state;
    plcio_s7plus_client *c = NULL;
    assert_int_equal(plcio_s7plus_client_new("s7plus://127.0.0.1:1?tls=0&password=x", NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_connect_async(c, NULL, NULL), PLCIO_EUNSUPPORTED);
    assert_non_null(strstr(last(c), "blocking"));
    plcio_s7plus_client_free(c);
}

static void test_answers(void **state)
{
    (void)state;
    /* FIPS 180 test vector: SHA1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d; XOR a zero challenge */
    static const uint8_t abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
                                    0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
    uint8_t ch[20] = {0}, out[32];
    assert_int_equal(s7p_legit_legacy("abc", ch, 20, out), PLCIO_OK);
    assert_memory_equal(out, abc, 20);
    memset(ch, 0xFF, sizeof ch);
    assert_int_equal(s7p_legit_legacy("abc", ch, 20, out), PLCIO_OK);
    for (int k = 0; k < 20; k++)
        assert_int_equal(out[k], (uint8_t)~abc[k]);
    /* short or empty challenges, no TLS: clear errors, nothing computed */
    assert_int_equal(s7p_legit_legacy("abc", ch, 19, out), PLCIO_EPROTO);
    assert_int_equal(s7p_legit_legacy("abc", ch, 0, out), PLCIO_EPROTO);
    assert_int_equal(s7p_legit_new(NULL, "abc", ch, 15, out), PLCIO_EPROTO);
    assert_int_equal(s7p_legit_new(NULL, "abc", ch, 20, out), PLCIO_EUNSUPPORTED);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/plcio-s7plus-legit-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    snprintf(cert, sizeof cert, "%s/sim.pem", tmp);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return plcio_test_rm_rf(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_answers), cmocka_unit_test(test_async_refused),
                                       cmocka_unit_test(test_level2), cmocka_unit_test(test_level3)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
