/* S7 server deferred reads (callbacks.read_job, plcio_s7_server_read_reply)
 * over real sockets, read by plcio's S7 client; the server runs in
 * caller-driven mode on a pump thread that also makes the late replies:
 *   - a multi-item read reaches the application with the server's own checks
 *     per item; each item is answered on its own: the application's bytes,
 *     a refusal of its choosing, the area's bytes (data NULL), or the
 *     server's refusal (a DB that does not exist) whatever the application says;
 *   - the same answered later (after pump rounds) and from inside the callback;
 *   - no reply within the timeout: hardware fault per item, the late reply
 *     finds nothing; a wrong count and a write reply to a read job: EINVAL;
 *   - the callback declining: the server serves the read itself;
 *   - background mode refused with a read_job. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7.h"
#include "plcio/s7_server.h"
#include "plcio_test.h"

static plcio_s7_server *g_srv;
static pthread_t g_pump;
static atomic_bool g_stop;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_mode; /* 0 reply inside, 1 reply later, 2 never, 3 decline */
static int g_jobs;
static uint64_t g_job;
static size_t g_count;
static plcio_s7_server_read_item g_items[8];
static int g_rounds; /* pump rounds since the job came (mode 1) */
static int g_late_rc, g_count_rc, g_kind_rc;
static bool g_want_late;

static uint8_t APP[64]; /* APP[i] = 0xA0 + i */

/* Answers by what an item asks: DB1 -> the application's bytes; M ->
 * refused ACCESS_DENIED; DB2 (the bit) -> the area's bytes (NULL). */
static void answers_for(const plcio_s7_server_read_item *items, size_t n, plcio_s7_server_read_answer *ans)
{
    for (size_t i = 0; i < n; i++) {
        ans[i].code = PLCIO_S7_SERVER_ITEM_OK;
        ans[i].data = NULL;
        if (items[i].acc.area == PLCIO_S7_SERVER_AREA_M)
            ans[i].code = PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
        else if (items[i].acc.area == PLCIO_S7_SERVER_AREA_DB && items[i].acc.db_number == 1)
            ans[i].data = APP;
    }
}

static int read_job(void *ctx, uint64_t job, const plcio_s7_server_read_item *items, size_t count)
{
    (void)ctx;
    pthread_mutex_lock(&g_lock);
    int mode = g_mode;
    g_jobs++;
    g_job = job;
    g_count = count;
    g_rounds = 0;
    for (size_t i = 0; i < count && i < 8; i++)
        g_items[i] = items[i];
    pthread_mutex_unlock(&g_lock);
    if (mode == 3) return PLCIO_EUNSUPPORTED;
    if (mode == 0) {
        plcio_s7_server_read_answer ans[8];
        answers_for(items, count, ans);
        assert_int_equal(plcio_s7_server_read_reply(g_srv, job, ans, count), PLCIO_OK);
    }
    return PLCIO_OK;
}

static void *pump(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        (void)plcio_s7_server_run_once(g_srv, 5);
        pthread_mutex_lock(&g_lock);
        if (g_mode == 1 && g_job && ++g_rounds == 5) { /* later: a few rounds of the loop on */
            plcio_s7_server_read_answer ans[9];
            uint8_t codes[8] = {0};
            answers_for(g_items, g_count, ans);
            g_count_rc = plcio_s7_server_read_reply(g_srv, g_job, ans, g_count + 1);
            g_kind_rc = plcio_s7_server_write_reply(g_srv, g_job, codes, g_count);
            assert_int_equal(plcio_s7_server_read_reply(g_srv, g_job, ans, g_count), PLCIO_OK);
            g_job = 0;
        }
        if (g_mode == 2 && g_job && g_want_late) { /* after the timeout answered: a late reply */
            plcio_s7_server_read_answer ans[8];
            answers_for(g_items, g_count, ans);
            g_late_rc = plcio_s7_server_read_reply(g_srv, g_job, ans, g_count);
            g_want_late = false;
        }
        pthread_mutex_unlock(&g_lock);
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    cfg.write_timeout_ms = 300; /* used by mode 2 only; the others reply at once or a few rounds on */
    cfg.callbacks.read_job = read_job;
    assert_int_equal(plcio_s7_server_new(&cfg, &g_srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 1, 32, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(g_srv, PLCIO_S7_SERVER_AREA_M, 0, 32, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(g_srv, PLCIO_S7_SERVER_AREA_DB, 2, 32, NULL), PLCIO_OK);
    uint8_t *db = plcio_s7_server_area_data(g_srv, PLCIO_S7_SERVER_AREA_DB, 2, NULL);
    db[20] = 0x08; /* DB2.DBX20.3 set */
    for (size_t i = 0; i < sizeof APP; i++)
        APP[i] = (uint8_t)(0xA0 + i);
    assert_int_equal(plcio_s7_server_start(g_srv), PLCIO_EUNSUPPORTED); /* replies need the caller's thread */
    assert_int_equal(plcio_s7_server_listen(g_srv), PLCIO_OK);
    g_jobs = 0;
    g_job = 0;
    atomic_store(&g_stop, false);
    assert_int_equal(pthread_create(&g_pump, NULL, pump, NULL), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    atomic_store(&g_stop, true);
    pthread_join(g_pump, NULL);
    plcio_s7_server_free(g_srv);
    g_srv = NULL;
    return 0;
}

static plcio_s7_client *client(void)
{
    char url[64];
    snprintf(url, sizeof url, "s7://127.0.0.1:%u?timeout=5000", (unsigned)plcio_s7_server_port(g_srv));
    plcio_s7_client *c = NULL;
    assert_int_equal(plcio_s7_client_new(url, NULL, &c, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_client_connect(c), PLCIO_OK);
    return c;
}

/* DB1.DBB0..3, DB9 (absent), M4..5, DB2.DBX20.3: one job of four items. */
static void read_four(plcio_s7_client *c, plcio_s7_var *v, uint8_t buf[4][8])
{
    memset(buf, 0x55, (size_t)4 * 8);
    plcio_s7_var in[4] = {{PLCIO_S7_AREA_DB, 1, 0, 4, -1, buf[0], 0, 0},
                          {PLCIO_S7_AREA_DB, 9, 0, 2, -1, buf[1], 0, 0},
                          {PLCIO_S7_AREA_MK, 0, 4, 2, -1, buf[2], 0, 0},
                          {PLCIO_S7_AREA_DB, 2, 20, 1, 3, buf[3], 0, 0}};
    memcpy(v, in, sizeof in);
    int rc = plcio_s7_client_read_vars(c, v, 4);
    assert_true(rc == PLCIO_OK || rc == PLCIO_EPLC);
}

static void check_answered(const plcio_s7_var *v, uint8_t buf[4][8])
{
    assert_int_equal(v[0].result, PLCIO_OK);
    assert_memory_equal(buf[0], APP, 4);
    assert_int_equal(v[1].item_code, PLCIO_S7_SERVER_ITEM_NOT_FOUND); /* the server's check wins */
    assert_int_equal(v[2].item_code, PLCIO_S7_SERVER_ITEM_ACCESS_DENIED);
    assert_int_equal(v[3].result, PLCIO_OK);
    assert_int_equal(buf[3][0], 1); /* the area's bit */
}

static void test_answered_per_item(void **state)
{
    (void)state;
    plcio_s7_client *c = client();
    plcio_s7_var v[4];
    uint8_t buf[4][8];
    for (int mode = 0; mode < 2; mode++) {
        pthread_mutex_lock(&g_lock);
        g_mode = mode;
        pthread_mutex_unlock(&g_lock);
        read_four(c, v, buf);
        check_answered(v, buf);
    }
    pthread_mutex_lock(&g_lock);
    assert_true(g_jobs >= 2);
    /* the job as the application saw it: the server's checks per item */
    bool saw_missing = false, saw_bit = false;
    for (size_t i = 0; i < g_count; i++) {
        if (g_items[i].code == PLCIO_S7_SERVER_ITEM_NOT_FOUND) saw_missing = true;
        if (g_items[i].code == PLCIO_S7_SERVER_ITEM_OK && g_items[i].acc.db_number == 2) saw_bit = true;
    }
    assert_true(saw_missing && saw_bit);
    assert_int_equal(g_count_rc, PLCIO_EINVAL); /* wrong count */
    assert_int_equal(g_kind_rc, PLCIO_EINVAL);  /* a write reply to a read job */
    pthread_mutex_unlock(&g_lock);
    plcio_s7_client_free(c);
}

static void test_timeout_and_decline(void **state)
{
    (void)state;
    plcio_s7_client *c = client();
    plcio_s7_var v[4];
    uint8_t buf[4][8];
    pthread_mutex_lock(&g_lock);
    g_mode = 2;
    pthread_mutex_unlock(&g_lock);
    read_four(c, v, buf);
    assert_int_equal(v[0].item_code, PLCIO_S7_SERVER_ITEM_HW_FAULT);
    assert_int_equal(v[1].item_code, PLCIO_S7_SERVER_ITEM_NOT_FOUND);
    assert_int_equal(v[2].item_code, PLCIO_S7_SERVER_ITEM_HW_FAULT);
    assert_int_equal(v[3].item_code, PLCIO_S7_SERVER_ITEM_HW_FAULT);
    pthread_mutex_lock(&g_lock);
    g_late_rc = 1;
    g_want_late = true;
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&g_lock);
        bool done = !g_want_late;
        pthread_mutex_unlock(&g_lock);
        if (done) break;
        plcio_test_sleep_ms(5);
    }
    assert_int_equal(g_late_rc, PLCIO_ENOTFOUND);
    /* declined: the server serves it (the area's bytes, no application bytes) */
    pthread_mutex_lock(&g_lock);
    g_mode = 3;
    g_job = 0;
    pthread_mutex_unlock(&g_lock);
    read_four(c, v, buf);
    assert_int_equal(v[0].result, PLCIO_OK);
    static const uint8_t zero[4] = {0};
    assert_memory_equal(buf[0], zero, 4);
    assert_int_equal(v[2].result, PLCIO_OK);
    assert_int_equal(buf[3][0], 1);
    plcio_s7_client_free(c);
}

/* plcio_s7_server_back_range's checks: each bad argument named, nothing added. */
static void test_back_range_arguments(void **state)
{
    (void)state;
    plcio_s7_server_options cfg;
    plcio_s7_server_options_init(&cfg);
    cfg.port = 0;
    plcio_s7_server *srv = NULL;
    assert_int_equal(plcio_s7_server_new(&cfg, &srv, NULL), PLCIO_OK);
    assert_int_equal(plcio_s7_server_add_area(srv, PLCIO_S7_SERVER_AREA_DB, 5, 10, NULL), PLCIO_OK);
    plcio_s7_backing_options bo;
    plcio_s7_backing_options_init(&bo);
    assert_int_equal(bo.remote_start, -1);
    const char *url = "s7://127.0.0.1:1";
    plcio_error err = {0};
#define BAD(rc_, area_, db_, start_, size_, url_, text_)                                                               \
    do {                                                                                                               \
        memset(&err, 0, sizeof err);                                                                                   \
        assert_int_equal(plcio_s7_server_back_range(srv, area_, db_, start_, size_, url_, &bo, &err), rc_);            \
        assert_non_null(strstr(err.text, text_));                                                                      \
    } while (0)
    BAD(PLCIO_EINVAL, PLCIO_S7_SERVER_AREA_DB, 1, 0, 10, NULL, "no server or URL");
    BAD(PLCIO_EINVAL, PLCIO_S7_SERVER_AREA_T, 0, 0, 10, url, "is not DB, M, I or Q");
    BAD(PLCIO_EINVAL, PLCIO_S7_SERVER_AREA_DB, 0, 0, 10, url, "DB number 0");
    BAD(PLCIO_ERANGE, PLCIO_S7_SERVER_AREA_DB, 1, 0, 0, url, "do not fit");
    BAD(PLCIO_ERANGE, PLCIO_S7_SERVER_AREA_DB, 1, 65000, 1000, url, "do not fit");
    BAD(PLCIO_ERANGE, PLCIO_S7_SERVER_AREA_DB, 5, 0, 20, url, "the area has 10 bytes");
    BAD(PLCIO_EINVAL, PLCIO_S7_SERVER_AREA_DB, 1, 0, 10, "http://x", "backed range: http://x");
    assert_null(plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, NULL)); /* nothing added */
    assert_int_equal(plcio_s7_server_backing_stats(srv, 0, &(plcio_s7_backing_stats){0}), PLCIO_ENOTFOUND);
    bo.remote_start = 65530;
    BAD(PLCIO_ERANGE, PLCIO_S7_SERVER_AREA_DB, 1, 0, 10, url, "remote bytes");
    bo.remote_start = -1;
    bo.max_age_ms = PLCIO_S7_SERVER_TIMEOUT_MAX_MS + 1;
    BAD(PLCIO_ERANGE, PLCIO_S7_SERVER_AREA_DB, 1, 0, 10, url, "above 24 h");
    bo.max_age_ms = 0;
    assert_int_equal(plcio_s7_server_back_range(srv, PLCIO_S7_SERVER_AREA_DB, 1, 0, 10, url, &bo, &err), PLCIO_OK);
    BAD(PLCIO_EEXIST, PLCIO_S7_SERVER_AREA_DB, 1, 5, 10, url, "overlaps");
    assert_int_equal(plcio_s7_server_back_range(srv, PLCIO_S7_SERVER_AREA_M, 99, 0, 4, url, NULL, &err), PLCIO_OK);
    size_t size = 0;
    assert_non_null(plcio_s7_server_area_data(srv, PLCIO_S7_SERVER_AREA_DB, 1, &size)); /* added for the range */
    assert_int_equal(size, 10);
    plcio_s7_backing_stats st;
    assert_int_equal(plcio_s7_server_backing_stats(srv, 1, &st), PLCIO_OK);
    assert_int_equal(plcio_s7_server_backing_stats(srv, 2, &st), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_s7_server_start(srv), PLCIO_EUNSUPPORTED); /* answers need the caller's loop */
    assert_int_equal(plcio_s7_server_listen(srv), PLCIO_OK);
    BAD(PLCIO_ESTATE, PLCIO_S7_SERVER_AREA_DB, 2, 0, 10, url, "before the server listens");
#undef BAD
    plcio_s7_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_back_range_arguments),
        cmocka_unit_test_setup_teardown(test_answered_per_item, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_decline, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
