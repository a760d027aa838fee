/* Historian outputs without a database: the `outputs:` configuration (forms,
 * defaults, mistakes), and the line-protocol sink against a scripted HTTP
 * server in this process: rows as InfluxDB expects them (escapes, types,
 * qualities, `every` sampling), a failed POST sent again unchanged, a refused
 * batch dropped, settings refused before anything connects. The real servers
 * are in tests/interop/historian/. */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "net/net.h"
#include "plcio/plcio.h"
#include "plcio/shm.h"
#include "plcio/sync.h"
#include "plcio_test.h"
#include "sync/historian.h"

static plcio_sync_config *parse(const char *outputs, plcio_error *err, int *rc)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, "devices:\n  - {url: \"s7://h\", groups: [{tags: [{address: MW0}]}]}\n%s", outputs);
    plcio_sync_config *c = NULL;
    *rc = plcio_sync_config_parse(yaml, strlen(yaml), "t.yaml", NULL, &c, err);
    return c;
}

static void test_outputs_config(void **state)
{
    (void)state;
    plcio_error err;
    int rc;
    plcio_sync_config *c = parse("outputs:\n"
                                 "  - postgres: \"dbname=plant\"\n"
                                 "  - postgres: {conninfo: \"host=/tmp\", table: s.t, create: false, batch: 7,\n"
                                 "               flush: 1s, every: 500ms, on-change: false, queue: 9}\n"
                                 "  - influx: {url: \"http://h:1/write?db=x\", gzip: true, token-file: /t, every: 0}\n",
                                 &err, &rc);
    assert_int_equal(rc, PLCIO_OK);
    assert_int_equal(c->output_count, 3);
    const plcio_sync_output_spec *o = c->outputs;
    assert_int_equal(o[0].kind, PLCIO_OUTPUT_POSTGRES);
    assert_string_equal(o[0].target, "dbname=plant");
    assert_true(o[0].create && o[0].on_change);
    assert_null(o[0].table);
    assert_int_equal(o[0].batch + o[0].flush_ms + o[0].queue + o[0].every_ms, 0); /* 0: the sink's defaults */
    assert_string_equal(o[1].table, "s.t");
    assert_false(o[1].create || o[1].on_change);
    assert_int_equal(o[1].batch, 7);
    assert_int_equal(o[1].flush_ms, 1000);
    assert_int_equal(o[1].every_ms, 500);
    assert_int_equal(o[1].queue, 9);
    assert_int_equal(o[2].kind, PLCIO_OUTPUT_INFLUX);
    assert_true(o[2].gzip);
    assert_string_equal(o[2].token_file, "/t");
    assert_int_equal(o[2].every_ms, 0);
    plcio_sync_config_free(c);

    static const struct {
        const char *yaml, *message;
    } bad[] = {
        {"outputs:\n  - kafka: x\n", "t.yaml:4:5: unknown output 'kafka' (postgres, influx, mqtt)"},
        {"outputs:\n  - {postgres: a, influx: b}\n", "one of 'postgres:', 'influx:' or 'mqtt:'"},
        {"outputs:\n  - postgres: {table: t}\n", "postgres output needs 'conninfo'"},
        {"outputs:\n  - influx: {conninfo: x}\n", "unknown key 'conninfo' in influx output"},
        {"outputs:\n  - postgres: {conninfo: x, gzip: true}\n", "unknown key 'gzip' in postgres output"},
        {"outputs:\n  - postgres: {conninfo: x, batch: 0}\n", "batch 0 is out of range"},
        {"outputs:\n  - postgres: {conninfo: x, queue: 99999999999}\n", "queue 99999999999 is out of range"},
        {"outputs:\n  - postgres: {conninfo: x, on-change: false}\n", "writes nothing"},
        {"outputs:\n  - postgres: {conninfo: x, flush: soon}\n", "flush 'soon' is not a duration"},
        {"outputs:\n  - postgres: \"\"\n", "postgres output must not be empty"},
        {"outputs: {postgres: x}\n", "outputs must be a list"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = parse(bad[i].yaml, &err, &rc);
        assert_null(c);
        assert_int_not_equal(rc, PLCIO_OK);
        if (!strstr(err.text, bad[i].message))
            fail_msg("%s -> '%s', wanted '%s'", bad[i].yaml, err.text, bad[i].message);
    }
}

/* Settings refused when the engine builds the output, before any I/O. */
static void test_settings_refused_early(void **state)
{
    (void)state;
    static const struct {
        plcio_sync_output_kind kind;
        const char *target, *table, *token_file, *message;
    } bad[] = {
        {PLCIO_OUTPUT_POSTGRES, "nonsense", NULL, NULL, "bad connection string: missing \"=\" after \"nonsense\""},
        {PLCIO_OUTPUT_POSTGRES, "dbname=x", "a;b", NULL, "table 'a;b': use a plain name"},
        {PLCIO_OUTPUT_POSTGRES, "dbname=x", "a.b.c", NULL, "table 'a.b.c'"},
        {PLCIO_OUTPUT_POSTGRES, "dbname=x", "1abc", NULL, "table '1abc'"},
        {PLCIO_OUTPUT_INFLUX, "https://h/write", NULL, NULL, "https is not supported"},
        {PLCIO_OUTPUT_INFLUX, "ftp://h", NULL, NULL, "not an http:// URL"},
        {PLCIO_OUTPUT_INFLUX, "http://:80/write", NULL, NULL, "no host"},
        {PLCIO_OUTPUT_INFLUX, "http://h:99999/write", NULL, NULL, "bad port"},
        {PLCIO_OUTPUT_INFLUX, "http://h/wr ite", NULL, NULL, "a space or control character"},
        {PLCIO_OUTPUT_INFLUX, "http://h/api/v2/write?bucket=b", NULL, NULL, "needs a token"},
        {PLCIO_OUTPUT_INFLUX, "http://h/write", NULL, "/nonexistent/token", "token-file /nonexistent/token"},
        {PLCIO_OUTPUT_INFLUX, "http://h/write?db=x&precision=ms", NULL, NULL, "precision=ns"},
    };
    unsetenv("INFLUX_TOKEN");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        plcio_sync_output_spec spec = {.kind = bad[i].kind,
                                       .target = bad[i].target,
                                       .table = bad[i].table,
                                       .token_file = bad[i].token_file,
                                       .on_change = true};
        const plcio_sink *ops = NULL;
        void *config = NULL;
        char err[256] = "";
        assert_int_not_equal(hist_sink_config(&spec, NULL, &ops, &config, err, sizeof err), PLCIO_OK);
        assert_null(config);
        if (!strstr(err, bad[i].message)) fail_msg("%s -> '%s', wanted '%s'", bad[i].target, err, bad[i].message);
    }
    /* a token from the environment goes into a header line: no line breaks smuggled in */
    setenv("INFLUX_TOKEN", "abc\r\nX-Evil: 1", 1);
    plcio_sync_output_spec spec = {.kind = PLCIO_OUTPUT_INFLUX, .target = "http://h/write", .on_change = true};
    const plcio_sink *ops = NULL;
    void *config = NULL;
    char err[256] = "";
    assert_int_equal(hist_sink_config(&spec, NULL, &ops, &config, err, sizeof err), PLCIO_EINVAL);
    assert_non_null(strstr(err, "INFLUX_TOKEN"));
    unsetenv("INFLUX_TOKEN");
}

/* ---- a scripted HTTP server: answers statuses[] in turn, keeps the bodies ---- */

typedef struct fake_http {
    int listen_fd, port;
    const int *statuses;
    size_t nstatus, served;
    char bodies[8][4096];
    char heads[8][1024];
    pthread_t thread;
} fake_http;

static void *serve(void *arg)
{
    fake_http *h = arg;
    int fd = -1;
    static char buf[65536];
    size_t have = 0;
    while (h->served < h->nstatus) {
        if (fd < 0) {
            uint64_t dl = plcio_monotonic_ns() + 10000000000ull;
            while (net_accept(h->listen_fd, &fd, NULL, 0) != PLCIO_OK && plcio_monotonic_ns() < dl)
                net_wait(h->listen_fd, false, net_deadline(100));
            if (fd < 0) return NULL;
            have = 0;
        }
        size_t got = 0;
        if (net_recv_some(fd, buf + have, sizeof buf - 1 - have, &got, net_deadline(10000)) != PLCIO_OK) {
            net_close(fd);
            fd = -1;
            continue;
        }
        have += got;
        buf[have] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (!end || !cl) continue;
        size_t len = strtoul(cl + 16, NULL, 10), head = (size_t)(end + 4 - buf);
        if (have < head + len) continue;
        size_t n = h->served < 8 ? h->served : 7;
        snprintf(h->bodies[n], sizeof h->bodies[n], "%.*s", (int)len, end + 4);
        snprintf(h->heads[n], sizeof h->heads[n], "%.*s", (int)head, buf);
        if (len < sizeof h->bodies[n]) memcpy(h->bodies[n], end + 4, len); /* binary (gzip) too */
        int status = h->statuses[h->served++];
        char resp[256];
        int rn = status == 204 ? snprintf(resp, sizeof resp, "HTTP/1.1 204 No Content\r\n\r\n")
                               : snprintf(resp, sizeof resp,
                                          "HTTP/1.1 %d Oops\r\nContent-Length: 24\r\n\r\n{\"error\":\"scripted %d\"}",
                                          status, status);
        net_send_all(fd, resp, (size_t)rn, net_deadline(1000), NULL);
        memmove(buf, buf + head + len, have - head - len);
        have -= head + len;
    }
    if (fd >= 0) net_close(fd);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

static void test_line_protocol(void **state)
{
    (void)state;
    static const int statuses[] = {503, 204, 400, 204};
    fake_http h = {.statuses = statuses, .nstatus = 4};
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &h.listen_fd, &h.port), PLCIO_OK);
    assert_int_equal(pthread_create(&h.thread, NULL, serve, &h), 0);

    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/write?db=x&precision=ns", h.port);
    plcio_sync_output_spec spec = {
        .kind = PLCIO_OUTPUT_INFLUX, .target = url, .on_change = true, .every_ms = 1000, .batch = 100, .flush_ms = 20};
    const plcio_sink *ops;
    void *config;
    char err[256] = "";
    assert_int_equal(hist_sink_config(&spec, NULL, &ops, &config, err, sizeof err), PLCIO_OK);
    static const plcio_sink_tag tags[] = {
        {"Level", "plc 1,a=b", "g", PLCIO_TYPE_REAL, 0, 0, 4, false},
        {"Msg", "plc", "g", PLCIO_TYPE_STRING, 10, 0, 12, false},
        {"Run", "plc", "g", PLCIO_TYPE_BOOL, 0, 3, 1, false},
        {"Day", "plc", "g", PLCIO_TYPE_DATE, 0, 0, 2, false},
    };
    void *sink;
    plcio_error oerr;
    assert_int_equal(ops->open(config, tags, 4, &sink, &oerr), PLCIO_OK);
    const uint8_t level[] = {0x40, 0x90, 0, 0}; /* 4.5 */
    const uint8_t msg[] = {10, 9, 's', 'a', 'y', ' ', '"', 'h', 'i', '"', '\\', 0};
    const uint8_t run[] = {0x08};
    const uint8_t day[] = {0x00, 0x01}; /* 1990-01-02 */
    const uint64_t t = 1733357961000000000ull;
    plcio_sink_event ev[] = {
        {.kind = PLCIO_SINK_ROUND_START},
        {.kind = PLCIO_SINK_TAG,
         .tag = 0,
         .value = level,
         .size = 4,
         .quality = 1,
         .changed = true,
         .read_ns = t,
         .changed_ns = t},
        {.kind = PLCIO_SINK_TAG,
         .tag = 1,
         .value = msg,
         .size = 12,
         .quality = 1,
         .changed = true,
         .read_ns = t,
         .changed_ns = t},
        {.kind = PLCIO_SINK_TAG,
         .tag = 2,
         .value = run,
         .size = 1,
         .quality = 1,
         .changed = true,
         .read_ns = t,
         .changed_ns = t},
        {.kind = PLCIO_SINK_TAG,
         .tag = 3,
         .value = day,
         .size = 2,
         .quality = 3,
         .reason = PLCIO_ETIMEDOUT,
         .changed = true,
         .read_ns = 0,
         .changed_ns = t},
        /* unchanged and not yet due (every 1000 ms): no row */
        {.kind = PLCIO_SINK_TAG,
         .tag = 0,
         .value = level,
         .size = 4,
         .quality = 1,
         .read_ns = t + 500000000,
         .changed_ns = t},
        /* unchanged, due: a row at its read time */
        {.kind = PLCIO_SINK_TAG,
         .tag = 0,
         .value = level,
         .size = 4,
         .quality = 1,
         .read_ns = t + 1000000000,
         .changed_ns = t},
        {.kind = PLCIO_SINK_TAG,
         .tag = 2,
         .value = run,
         .size = 1,
         .quality = 2,
         .reason = PLCIO_ECONNREFUSED,
         .changed = true,
         .read_ns = t,
         .changed_ns = t + 7},
        {.kind = PLCIO_SINK_ROUND_END},
    };
    assert_int_equal(ops->deliver(sink, ev, sizeof ev / sizeof ev[0]), PLCIO_OK);
    /* a second batch, refused with 400: dropped, the next one goes through */
    while (h.served < 2)
        pause_ms(10);
    plcio_sink_event more = ev[1];
    more.changed_ns = more.read_ns = t + 2000000000;
    assert_int_equal(ops->deliver(sink, &more, 1), PLCIO_OK);
    while (h.served < 3)
        pause_ms(10);
    more.changed_ns = more.read_ns = t + 3000000000;
    assert_int_equal(ops->deliver(sink, &more, 1), PLCIO_OK);
    pthread_join(h.thread, NULL);
    ops->close(sink);
    net_close(h.listen_fd);

    static const char want[] =
        "plcio,device=plc\\ 1\\,a\\=b,tag=Level,quality=GOOD value=4.5,text=\"4.5\" 1733357961000000000\n"
        "plcio,device=plc,tag=Msg,quality=GOOD text=\"say \\\"hi\\\"\\\\\" 1733357961000000000\n"
        "plcio,device=plc,tag=Run,quality=GOOD value=1,text=\"true\" 1733357961000000000\n"
        "plcio,device=plc,tag=Day,quality=ERROR text=\"\",reason=\"timed out\" 1733357961000000000\n"
        "plcio,device=plc\\ 1\\,a\\=b,tag=Level,quality=GOOD value=4.5,text=\"4.5\" 1733357962000000000\n"
        "plcio,device=plc,tag=Run,quality=STALE value=1,text=\"true\",reason=\"connection refused\" "
        "1733357961000000007\n";
    assert_string_equal(h.bodies[0], want);
    assert_string_equal(h.bodies[1], want); /* 503: the same rows again, in order */
    assert_non_null(strstr(h.bodies[2], " 1733357963000000000\n"));
    assert_non_null(strstr(h.bodies[3], " 1733357964000000000\n"));
}

/* InfluxDB 2.x: the token from its file in the Authorization header; gzip bodies. */
static void test_token_and_gzip(void **state)
{
    (void)state;
    static const int statuses[] = {204};
    fake_http h = {.statuses = statuses, .nstatus = 1};
    assert_int_equal(net_tcp_listen("127.0.0.1", 0, 4, &h.listen_fd, &h.port), PLCIO_OK);
    assert_int_equal(pthread_create(&h.thread, NULL, serve, &h), 0);
    char dir[] = "/tmp/plcio-hist-XXXXXX", token[64], url[160];
    assert_non_null(mkdtemp(dir));
    snprintf(token, sizeof token, "%s/token", dir);
    FILE *f = fopen(token, "w");
    assert_non_null(f);
    fputs("s3cr3t-Token==\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v2/write?org=o&bucket=b", h.port);
    plcio_sync_output_spec spec = {.kind = PLCIO_OUTPUT_INFLUX,
                                   .target = url,
                                   .token_file = token,
                                   .gzip = true,
                                   .on_change = true,
                                   .flush_ms = 10};
    const plcio_sink *ops;
    void *config, *sink;
    char err[256] = "";
    assert_int_equal(hist_sink_config(&spec, NULL, &ops, &config, err, sizeof err), PLCIO_OK);
    static const plcio_sink_tag tags[] = {{"Speed", "m", "g", PLCIO_TYPE_INT, 0, 0, 2, false}};
    plcio_error oerr;
    assert_int_equal(ops->open(config, tags, 1, &sink, &oerr), PLCIO_OK);
    const uint8_t v[] = {0xff, 0xfe}; /* -2 */
    plcio_sink_event ev = {
        .kind = PLCIO_SINK_TAG, .value = v, .size = 2, .quality = 1, .changed = true, .read_ns = 5, .changed_ns = 5};
    assert_int_equal(ops->deliver(sink, &ev, 1), PLCIO_OK);
    pthread_join(h.thread, NULL);
    ops->close(sink);
    net_close(h.listen_fd);
    unlink(token);
    rmdir(dir);
    assert_non_null(strstr(h.heads[0], "POST /api/v2/write?org=o&bucket=b HTTP/1.1\r\n"));
    assert_non_null(strstr(h.heads[0], "\r\nAuthorization: Token s3cr3t-Token==\r\n"));
    assert_non_null(strstr(h.heads[0], "\r\nContent-Encoding: gzip\r\n"));
    const char *cl = strstr(h.heads[0], "Content-Length: ");
    assert_non_null(cl);
    char plain[256] = "";
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)h.bodies[0];
    z.avail_in = (uInt)strtoul(cl + 16, NULL, 10);
    z.next_out = (Bytef *)plain;
    z.avail_out = sizeof plain - 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    inflateEnd(&z);
    assert_string_equal(plain, "plcio,device=m,tag=Speed,quality=GOOD value=-2,text=\"-2\" 5\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_config),
        cmocka_unit_test(test_settings_refused_early),
        cmocka_unit_test(test_line_protocol),
        cmocka_unit_test(test_token_and_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
