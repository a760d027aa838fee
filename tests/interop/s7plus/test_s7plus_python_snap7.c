/* python-snap7's S7CommPlus client against `plcio sim s7` (V1 and TLS:
 * connect, read, write, multi-read, list of DBs, checked against classic S7
 * on the same simulator), and plcio's S7CommPlus client against python-snap7's S7CommPlus emulator, V1
 * (no TLS) and TLS 1.3 with a certificate made here by openssl: connect, raw
 * reads of known contents, writes checked by python-snap7's own client, a
 * multi-item read with one missing DB, a wrong CA refused; the event-loop
 * mode over real TCP driven by poll() (connect, read, write checked by
 * python-snap7's client, keep-alives answered while idle).
 *
 * The emulator differs from a real S7-1500 (Blobs without root id, 1-based
 * [offset+1, size] LIDs): the client runs with dialect=python-snap7 here;
 * the real-PLC forms are checked against the capture in
 * tests/unit/test_s7plus_codec.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plcio/s7.h"
#include "plcio/s7plus.h"
#include "plcio_test.h"

#define PY "/usr/bin/python3"

static char peer_dir[600], script[700], tmp[128];

static const char *interop_dir(void)
{
    const char *dir = getenv("PLCIO_INTEROP_DIR");
    return dir && *dir ? dir : PLCIO_INTEROP_DIR;
}

static bool find_python_snap7(void)
{
    const char *env = getenv("PLCIO_PYTHON_SNAP7");
    if (env && *env)
        snprintf(peer_dir, sizeof peer_dir, "%s", env);
    else
        snprintf(peer_dir, sizeof peer_dir, "%s/../../../shared/peers/python-snap7", interop_dir());
    char probe[700];
    snprintf(probe, sizeof probe, "%s/s7commplus/server.py", peer_dir);
    struct stat st;
    return stat(probe, &st) == 0;
}

static int start_server(plcio_test_proc *p, bool tls)
{
    char cert[200], key[200];
    snprintf(cert, sizeof cert, "%s/cert.pem", tmp);
    snprintf(key, sizeof key, "%s/key.pem", tmp);
    const char *plain[] = {PY, script, "server", "--seconds", "120", NULL};
    const char *with_tls[] = {PY, script, "server", "--tls", cert, key, "--seconds", "120", NULL};
    assert_int_equal(plcio_test_proc_start(p, tls ? with_tls : plain, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(p->line);
    assert_true(port > 0);
    return port;
}

static plcio_s7plus_client *client_for(int port, const char *params)
{
    char url[600];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?dialect=python-snap7%s", port, params);
    plcio_s7plus_client *c = NULL;
    plcio_error err;
    memset(&err, 0, sizeof err);
    int rc = plcio_s7plus_client_new(url, NULL, &c, &err);
    if (rc) fail_msg("new %s: %s", url, err.text);
    return c;
}

/* python-snap7's client reads DB db from start: the bytes as hex */
static void foreign_read(int port, bool tls, unsigned db, unsigned start, unsigned size, char *hex, size_t cap)
{
    char a[16], b[16], c[16], d[16];
    snprintf(a, sizeof a, "%d", port);
    snprintf(b, sizeof b, "%u", db);
    snprintf(c, sizeof c, "%u", start);
    snprintf(d, sizeof d, "%u", size);
    const char *argv[] = {PY, script, "read", a, b, c, d, tls ? "--tls" : NULL, NULL};
    plcio_test_proc p;
    assert_int_equal(plcio_test_proc_start(&p, argv, NULL, 0, 30), 0);
    assert_int_equal(plcio_test_proc_read_line(&p, hex, cap, 20000), 0);
    assert_int_equal(plcio_test_proc_wait(&p, 20000), 0);
}

static void scenario(int port, bool tls, const char *params)
{
    plcio_s7plus_client *c = client_for(port, params);
    int rc = plcio_s7plus_client_connect(c);
    if (rc) fail_msg("connect: %s", plcio_s7plus_client_last_error(c)->text);
    assert_true(plcio_s7plus_client_is_connected(c));
    assert_string_equal(plcio_s7plus_client_tls_version(c), tls ? "TLSv1.3" : "");

    /* DB1 holds byte i = i * 7 mod 256 */
    uint8_t b[4096];
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 10, 4, b), PLCIO_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(b[i], ((10 + i) * 7) & 0xFF);
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 0, 256, b), PLCIO_OK);
    for (int i = 0; i < 256; i++)
        assert_int_equal(b[i], (i * 7) & 0xFF);

    /* write, then python-snap7's own client reads it back */
    uint8_t w[600];
    for (size_t i = 0; i < sizeof w; i++)
        w[i] = (uint8_t)(i * 13 + 5);
    size_t wn = tls ? sizeof w : 200; /* the emulator takes one COTP TPDU per plain frame */
    assert_int_equal(plcio_s7plus_client_write_area(c, PLCIO_S7PLUS_AREA_DB, 2, 1000, (uint32_t)wn, w), PLCIO_OK);
    char hex[1500];
    foreign_read(port, tls, 2, 1000, 16, hex, sizeof hex);
    for (int i = 0; i < 16; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + (size_t)2 * (size_t)i, "%2x", &v), 1);
        assert_int_equal(v, w[i]);
    }
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 2, 1000, (uint32_t)wn, b), PLCIO_OK);
    assert_memory_equal(b, w, wn);

    /* several items, one of them in a DB that does not exist */
    uint8_t x[8], y[8], z[8];
    plcio_s7plus_item items[3] = {
        {PLCIO_S7PLUS_AREA_DB, 1, 100, 8, x, 0, 0},
        {PLCIO_S7PLUS_AREA_DB, 99, 0, 8, y, 0, 0},
        {PLCIO_S7PLUS_AREA_DB, 2, 1000, 8, z, 0, 0},
    };
    assert_int_equal(plcio_s7plus_client_read_multi(c, items, 3), PLCIO_OK);
    assert_int_equal(items[0].result, PLCIO_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(x[i], ((100 + i) * 7) & 0xFF);
    assert_int_equal(items[1].result, PLCIO_EPLC);
    assert_true(items[1].error != 0);
    assert_int_equal(items[2].result, PLCIO_OK);
    assert_memory_equal(z, w, 8);
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 99, 0, 4, b), PLCIO_EPLC);
    assert_true(plcio_s7plus_client_plc_error(c) != 0);

    /* two writes in one request */
    uint8_t p1[3] = {1, 2, 3}, p2[2] = {0xAA, 0x55};
    plcio_s7plus_item wr[2] = {{PLCIO_S7PLUS_AREA_DB, 2, 0, 3, p1, 0, 0}, {PLCIO_S7PLUS_AREA_DB, 2, 50, 2, p2, 0, 0}};
    assert_int_equal(plcio_s7plus_client_write_multi(c, wr, 2), PLCIO_OK);
    assert_int_equal(wr[0].result, PLCIO_OK);
    foreign_read(port, tls, 2, 0, 3, hex, sizeof hex);
    assert_string_equal(hex, "010203");
    foreign_read(port, tls, 2, 50, 2, hex, sizeof hex);
    assert_string_equal(hex, "aa55");

    plcio_s7plus_client_close(c);
    assert_false(plcio_s7plus_client_is_connected(c));
    /* and again on the same handle */
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_area(c, PLCIO_S7PLUS_AREA_DB, 1, 7, 1, b), PLCIO_OK);
    assert_int_equal(b[0], 49);
    plcio_s7plus_client_free(c);
}

static void test_v1(void **state)
{
    (void)state;
    plcio_test_proc srv;
    int port = start_server(&srv, false);
    scenario(port, false, "&tls=0&timeout=5000");
    plcio_test_proc_stop(&srv);
}

static void test_tls(void **state)
{
    (void)state;
    plcio_test_proc srv;
    int port = start_server(&srv, true);
    char params[300];
    snprintf(params, sizeof params, "&ca=%s/cert.pem&timeout=5000", tmp);
    scenario(port, true, params);

    /* a CA that did not sign the emulator's certificate: refused, with the reason */
    snprintf(params, sizeof params, "&ca=%s/other.pem", tmp);
    plcio_s7plus_client *c = client_for(port, params);
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_EACCESS);
    assert_non_null(strstr(plcio_s7plus_client_last_error(c)->text, "certificate"));
    assert_false(plcio_s7plus_client_is_connected(c));
    plcio_s7plus_client_free(c);

    /* TLS asked of a V1-only peer: a clear failure, no hang (the plain server) */
    plcio_test_proc plain;
    int pport = start_server(&plain, false);
    snprintf(params, sizeof params, "&ca=%s/cert.pem&timeout=2000", tmp);
    c = client_for(pport, params);
    assert_int_not_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&plain);
    plcio_test_proc_stop(&srv);
}

/* ---- event-loop mode over TCP, driven by poll() ---- */

static void on_done(void *ctx, plcio_s7plus_client *c, int result)
{
    (void)c;
    *(int *)ctx = result;
}

/* Run the client's loop until *flag leaves 1 or keepalives reach ka (0: not
 * waited for), at most 20 s. */
static void loop_until(plcio_s7plus_client *c, const int *flag, uint64_t ka)
{
    uint64_t end = plcio_monotonic_ns() + 20 * PLCIO_NS_PER_S;
    while ((flag ? *flag == 1 : plcio_s7plus_client_keepalives(c) < ka) && plcio_monotonic_ns() < end) {
        uint64_t d = 0, now = plcio_monotonic_ns();
        unsigned ev = plcio_s7plus_client_wants(c, &d);
        struct pollfd p = {plcio_s7plus_client_fd(c), 0, 0};
        if (ev & PLCIO_S7PLUS_WANT_READ) p.events |= POLLIN;
        if (ev & PLCIO_S7PLUS_WANT_WRITE) p.events |= POLLOUT;
        int ms = d == 0 ? 100 : d <= now ? 0 : (int)((d - now) / PLCIO_NS_PER_MS) + 1;
        if (ms > 100) ms = 100;
        (void)poll(&p, p.fd >= 0 ? 1 : 0, ms);
        (void)plcio_s7plus_client_process(c);
    }
}

static void test_event_loop(void **state)
{
    (void)state;
    plcio_test_proc srv;
    int port = start_server(&srv, true);
    char params[300];
    snprintf(params, sizeof params, "&ca=%s/cert.pem&timeout=5000&keepalive=50", tmp);
    plcio_s7plus_client *c = client_for(port, params);
    int connected = 1, result = 1;
    assert_int_equal(plcio_s7plus_client_connect_async(c, on_done, &connected), PLCIO_OK);
    loop_until(c, &connected, 0);
    if (connected) fail_msg("connect: %s", plcio_s7plus_client_last_error(c)->text);
    assert_string_equal(plcio_s7plus_client_tls_version(c), "TLSv1.3");
    uint8_t b[200]; /* DB1's pattern covers its first 256 bytes */
    plcio_s7plus_item it = {PLCIO_S7PLUS_AREA_DB, 1, 20, sizeof b, b, 1, 0};
    assert_int_equal(plcio_s7plus_client_read_multi_async(c, &it, 1, on_done, &result), PLCIO_OK);
    loop_until(c, &result, 0);
    assert_int_equal(result, PLCIO_OK);
    for (size_t i = 0; i < sizeof b; i++)
        assert_int_equal(b[i], ((20 + i) * 7) & 0xFF);
    uint8_t w[5] = {9, 8, 7, 6, 5};
    plcio_s7plus_item wi = {PLCIO_S7PLUS_AREA_DB, 2, 2040, sizeof w, w, 1, 0};
    result = 1;
    assert_int_equal(plcio_s7plus_client_write_multi_async(c, &wi, 1, on_done, &result), PLCIO_OK);
    loop_until(c, &result, 0);
    assert_int_equal(result, PLCIO_OK);
    assert_int_equal(wi.result, PLCIO_OK);
    char hex[64];
    foreign_read(port, true, 2, 2040, 5, hex, sizeof hex);
    assert_string_equal(hex, "0908070605");
    /* idle: keep-alives go and are answered; the session stays */
    uint64_t k0 = plcio_s7plus_client_keepalives(c);
    loop_until(c, NULL, k0 + 3);
    assert_true(plcio_s7plus_client_keepalives(c) >= k0 + 3);
    assert_true(plcio_s7plus_client_is_connected(c));
    result = 1;
    it.start = 0;
    assert_int_equal(plcio_s7plus_client_read_multi_async(c, &it, 1, on_done, &result), PLCIO_OK);
    loop_until(c, &result, 0);
    assert_int_equal(result, PLCIO_OK);
    assert_int_equal(b[5], 35);
    plcio_s7plus_client_free(c);
    plcio_test_proc_stop(&srv);
}

/* ---- python-snap7's S7CommPlus client against `plcio sim s7` ---- */

static void foreign_client_against_sim(int port, const char *ca)
{
    /* DB1 filled through classic S7: the same memory must show over S7CommPlus */
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *s7 = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &s7, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
    uint8_t pattern[16];
    for (int i = 0; i < 16; i++)
        pattern[i] = (uint8_t)(0xA0 + i);
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 0, 16, pattern), PLCIO_OK);
    uint8_t zero[4] = {0};
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 2, 10, 4, zero), PLCIO_OK);

    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *argv[] = {PY, script, "client", p, ca ? "--tls" : NULL, ca, NULL};
    plcio_test_proc proc;
    assert_int_equal(plcio_test_proc_start(&proc, argv, NULL, 0, 40), 0);
    char line[1024];
    assert_int_equal(plcio_test_proc_read_line(&proc, line, sizeof line, 30000), 0);
    assert_int_equal(plcio_test_proc_wait(&proc, 20000), 0);
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "tls")) == (ca != NULL));
    assert_string_equal(cJSON_GetObjectItem(j, "db1")->valuestring, "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    cJSON *multi = cJSON_GetObjectItem(j, "multi");
    assert_int_equal(cJSON_GetArraySize(multi), 2);
    assert_string_equal(cJSON_GetArrayItem(multi, 0)->valuestring, "a4a5a6a7");
    assert_string_equal(cJSON_GetArrayItem(multi, 1)->valuestring, "01020304");
    cJSON *dbs = cJSON_GetObjectItem(j, "dbs");
    assert_int_equal(cJSON_GetArraySize(dbs), 3);
    assert_int_equal(cJSON_GetArrayItem(dbs, 0)->valueint, 1);
    assert_int_equal(cJSON_GetArrayItem(dbs, 2)->valueint, 7);
    cJSON_Delete(j);
    /* its write, read back through classic S7 */
    uint8_t b[4];
    assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_DB, 2, 10, 4, b), PLCIO_OK);
    assert_memory_equal(b, "\x01\x02\x03\x04", 4);
    plcio_s7_client_free(s7);
}

static void test_foreign_client_against_sim(void **state)
{
    (void)state;
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    char cert[200];
    snprintf(cert, sizeof cert, "%s/sim.pem", tmp);
    const char *argv[] = {bin,    "sim",   "s7",   "--listen", "127.0.0.1:0", "--db", "1:256",
                          "--db", "2:100", "--db", "7:10",     "--seconds",   "120",  "--s7plus-cert-out",
                          cert,   NULL};
    plcio_test_proc sim;
    assert_int_equal(plcio_test_proc_start(&sim, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(sim.line);
    assert_true(port > 0);
    foreign_client_against_sim(port, NULL); /* V1, no TLS */
    foreign_client_against_sim(port, cert); /* TLS, the simulator's certificate trusted */
    plcio_test_proc_stop(&sim);
}

/* python-snap7's create_subscription/delete_subscription against `plcio sim
 * s7`. Its (experimental) CreateObject writes the reference list, an array
 * of UDInt, with fixed 4-byte words where S7CommPlus puts VLQs, and names
 * only DB access areas (no member): the simulator refuses it with a clear
 * return value (0x8106) instead of guessing, sends nothing unasked, and the
 * session goes on (its DeleteObject is answered, a read works). */
static void test_foreign_subscription_against_sim(void **state)
{
    (void)state;
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    const char *argv[] = {bin,     "sim",  "s7",    "--listen",  "127.0.0.1:0", "--db",
                          "1:256", "--db", "2:100", "--seconds", "120",         NULL};
    plcio_test_proc sim;
    assert_int_equal(plcio_test_proc_start(&sim, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(sim.line);
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%d", port);
    plcio_s7_client *s7 = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &s7, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
    uint8_t four[4] = {0x11, 0x22, 0x33, 0x44};
    assert_int_equal(plcio_s7_client_write_area(s7, PLCIO_S7_AREA_DB, 1, 0, 4, four), PLCIO_OK);
    plcio_s7_client_free(s7);

    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *pargv[] = {PY, script, "subscribe", p, NULL};
    plcio_test_proc proc;
    assert_int_equal(plcio_test_proc_start(&proc, pargv, NULL, 0, 40), 0);
    char line[2048];
    assert_int_equal(plcio_test_proc_read_line(&proc, line, sizeof line, 30000), 0);
    assert_int_equal(plcio_test_proc_wait(&proc, 20000), 0);
    cJSON *j = cJSON_Parse(line);
    if (!j) fail_msg("not JSON: %s", line);
    /* python-snap7 returns the first VLQ of the answer (the return value) as the id */
    assert_int_equal(cJSON_GetObjectItem(j, "returned")->valueint, 0x8106);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "unasked")));
    assert_string_equal(cJSON_GetObjectItem(j, "db1")->valuestring, "11223344");
    cJSON_Delete(j);
    plcio_test_proc_stop(&sim);
}

/* python-snap7's browse() and read_symbolic/write_symbolic against the
 * simulator's built-in optimized DBs; what it saw checked against plcio's
 * own client on the same simulator. */
static void test_foreign_symbolic_against_sim(void **state)
{
    (void)state;
    const char *bin = getenv("PLCIO_BIN");
    assert_non_null(bin);
    const char *argv[] = {bin, "sim", "s7", "--listen", "127.0.0.1:0", "--seconds", "120", NULL};
    plcio_test_proc sim;
    assert_int_equal(plcio_test_proc_start(&sim, argv, "listening on", 20000, 130), 0);
    int port = plcio_test_port_from_line(sim.line);
    assert_true(port > 0);
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *pargv[] = {PY, script, "symbolic", p, NULL};
    plcio_test_proc proc;
    assert_int_equal(plcio_test_proc_start(&proc, pargv, NULL, 0, 40), 0);
    static char line[65536];
    assert_int_equal(plcio_test_proc_read_line(&proc, line, sizeof line, 30000), 0);
    assert_int_equal(plcio_test_proc_wait(&proc, 20000), 0);
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    /* its browse: the same names and access paths as plcio's (DTL it leaves out) */
    char url[64];
    snprintf(url, sizeof url, "s7plus://127.0.0.1:%d?tls=0", port);
    plcio_s7plus_client *c = NULL;
    assert_int_equal(plcio_s7plus_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_connect(c), PLCIO_OK);
    plcio_layout_set *set = NULL;
    assert_int_equal(plcio_s7plus_client_browse(c, NULL, &set), PLCIO_OK);
    cJSON *vars = cJSON_GetObjectItem(j, "vars");
    size_t ours = 0;
    for (size_t d = 0; d < plcio_layout_set_count(set); d++) {
        const plcio_layout *l = plcio_layout_set_get(set, d);
        for (size_t i = 0; i < plcio_layout_leaf_count(l); i++) {
            plcio_layout_member m;
            assert_int_equal(plcio_layout_leaf(l, i, &m), PLCIO_OK);
            char name[256], seq[128];
            snprintf(name, sizeof name, "%s.%s", plcio_layout_name(l), m.name);
            int n = snprintf(seq, sizeof seq, "%X", 0x8A0E0000u + (unsigned)plcio_layout_db_number(l));
            for (unsigned k = 0; k < m.nlids; k++)
                n += snprintf(seq + n, sizeof seq - (size_t)n, ".%X", (unsigned)m.lids[k]);
            cJSON *v = cJSON_GetObjectItem(vars, name);
            if (m.type == PLCIO_TYPE_DTL) {
                assert_null(v); /* python-snap7 does not list DTL members */
                continue;
            }
            if (!v) fail_msg("python-snap7's browse has no %s", name);
            assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, seq);
            assert_string_equal(cJSON_GetArrayItem(v, 1)->valuestring, plcio_type_name(m.type));
            ours++;
        }
    }
    /* the PLC tags: python-snap7 browses the I/Q/M type objects itself (as
     * "IArea.Start"): the same names, access paths, types and absolute addresses */
    plcio_s7plus_tag *tags = NULL;
    size_t ntags = 0;
    assert_int_equal(plcio_s7plus_client_browse_tags(c, &tags, &ntags), PLCIO_OK);
    assert_true(ntags > 0);
    cJSON *addresses = cJSON_GetObjectItem(j, "addresses");
    for (size_t k = 0; k < ntags; k++) {
        static const char *const area[] = {"", "IArea", "QArea", "MArea"};
        char name[200], seq[64];
        snprintf(name, sizeof name, "%s.%s", area[tags[k].area], tags[k].name);
        snprintf(seq, sizeof seq, "%X.%X", (unsigned)tags[k].sym.access_area, (unsigned)tags[k].sym.lids[0]);
        cJSON *v = cJSON_GetObjectItem(vars, name);
        if (!v) fail_msg("python-snap7's browse has no %s", name);
        assert_string_equal(cJSON_GetArrayItem(v, 0)->valuestring, seq);
        assert_string_equal(cJSON_GetArrayItem(v, 1)->valuestring, plcio_type_name(tags[k].sym.type));
        cJSON *a = cJSON_GetObjectItem(addresses, name);
        assert_non_null(a);
        assert_int_equal(cJSON_GetArrayItem(a, 0)->valueint, (int)tags[k].start);
        if (tags[k].sym.type == PLCIO_TYPE_BOOL) assert_int_equal(cJSON_GetArrayItem(a, 1)->valueint, tags[k].bit);
        ours++;
    }
    plcio_s7plus_tags_free(tags);
    assert_int_equal((size_t)cJSON_GetArraySize(vars), ours);
    plcio_layout_set_free(set);
    /* its writes of tags by their access paths landed at the absolute addresses */
    cJSON *tag_reads = cJSON_GetObjectItem(j, "reads");
    assert_string_equal(cJSON_GetObjectItem(tag_reads, "MArea.Count")->valuestring, "00012345");
    assert_string_equal(cJSON_GetObjectItem(tag_reads, "QArea.Motor_On")->valuestring, "01");
    assert_string_equal(cJSON_GetObjectItem(tag_reads, "MArea.Temp")->valuestring, "41ac0000");
    {
        char s7url[64];
        snprintf(s7url, sizeof s7url, "s7://127.0.0.1:%d", port);
        plcio_s7_client *s7 = NULL;
        assert_int_equal(plcio_s7_client_new(s7url, NULL, &s7, NULL), PLCIO_OK);
        assert_int_equal(plcio_s7_client_connect(s7), PLCIO_OK);
        uint8_t md20[4], qb4;
        assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_MK, 0, 20, 4, md20), PLCIO_OK);
        static const uint8_t want[4] = {0x00, 0x01, 0x23, 0x45};
        assert_memory_equal(md20, want, 4);
        assert_int_equal(plcio_s7_client_read_area(s7, PLCIO_S7_AREA_PA, 0, 4, 1, &qb4), PLCIO_OK);
        assert_int_equal(qb4 & 0x02, 0x02);
        plcio_s7_client_free(s7);
    }
    /* its reads: the members' S7 bytes (start values of the built-in DBs) */
    cJSON *reads = cJSON_GetObjectItem(j, "reads");
    assert_string_equal(cJSON_GetObjectItem(reads, "Line.Counts[2]")->valuestring, "0000002a");
    assert_string_equal(cJSON_GetObjectItem(reads, "Line.Station[2].Temp")->valuestring, "41ac0000");
    assert_string_equal(cJSON_GetObjectItem(reads, "Tank.Mode")->valuestring, "fd");
    assert_string_equal(cJSON_GetObjectItem(reads, "Tank.Level")->valuestring, "4029000000000000");
    assert_string_equal(cJSON_GetObjectItem(reads, "Line.Grid[2,3]")->valuestring, "0000");
    /* STRING[20] 'Line 1': max, length, the characters, zeros */
    assert_string_equal(cJSON_GetObjectItem(reads, "Line.Name")->valuestring,
                        "14064c696e6520310000000000000000000000000000");
    /* its write (7.5), read by plcio; the short one refused */
    assert_non_null(strstr(cJSON_GetObjectItem(j, "short_write")->valuestring, "error"));
    plcio_s7plus_sym_item it;
    memset(&it, 0, sizeof it);
    assert_int_equal(plcio_s7plus_client_resolve(c, "\"Line\".Motor.Speed", &it.sym), PLCIO_OK);
    assert_int_equal(plcio_s7plus_client_read_symbols(c, &it, 1), PLCIO_OK);
    assert_int_equal(it.result, PLCIO_OK);
    assert_true(it.value.v.f == 7.5);
    plcio_s7plus_client_free(c);
    cJSON_Delete(j);
    plcio_test_proc_stop(&sim);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "/tmp/plcio-s7plus-XXXXXX");
    if (!mkdtemp(tmp)) return -1;
    char cmd[900];
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=plc "
             ">/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 -nodes -keyout k2.pem -out other.pem -days 2 "
             "-subj /CN=other >/dev/null 2>&1",
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
    if (!find_python_snap7()) {
        printf("SKIP: python-snap7 not found at %s (set PLCIO_PYTHON_SNAP7)\n", peer_dir);
        return 77;
    }
    snprintf(script, sizeof script, "%s/s7plus/python_snap7_peer.py", interop_dir());
    setenv("PLCIO_PYTHON_SNAP7", peer_dir, 1);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_v1),
                                       cmocka_unit_test(test_tls),
                                       cmocka_unit_test(test_foreign_symbolic_against_sim),
                                       cmocka_unit_test(test_event_loop),
                                       cmocka_unit_test(test_foreign_client_against_sim),
                                       cmocka_unit_test(test_foreign_subscription_against_sim)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
