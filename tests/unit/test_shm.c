/* Shared-memory segment: publish/read for every type, quality and timestamps,
 * JSON, write ring, lifecycle (stale, busy, closed), waiting. Corruption and
 * torn reads are in test_shm_robust.c. */
#include "plcio_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/shm.h"
#include "shm/shm_format.h"
#include "shm/shm_internal.h"

static char seg_name[64];

/* The segment and its write ring (NAME.ring). */
static void unlink_both(const char *name)
{
    char ring[300];
    snprintf(ring, sizeof ring, "%s.ring", name);
    shm_unlink(name);
    shm_unlink(ring);
}

static int setup(void **state)
{
    static int counter;
    (void)state;
    snprintf(seg_name, sizeof seg_name, "/plcio-test-shm-%d-%d", (int)getpid(), ++counter);
    unlink_both(seg_name);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink_both(seg_name); /* whatever the test left, even on failure */
    return 0;
}

/* Every type with raw PLC bytes and the text the reader must give. */
typedef struct type_case {
    const char *name;
    plcio_type type;
    unsigned length, bit;
    const char *hex;
    const char *text;
} type_case;

static const type_case cases[] = {
    {"Flags.Run", PLCIO_TYPE_BOOL, 0, 3, "08", "true"},
    {"Flags.Stop", PLCIO_TYPE_BOOL, 0, 2, "08", "false"},
    {"B", PLCIO_TYPE_BYTE, 0, 0, "A5", "165"},
    {"W", PLCIO_TYPE_WORD, 0, 0, "1234", "4660"},
    {"DW", PLCIO_TYPE_DWORD, 0, 0, "DEADBEEF", "3735928559"},
    {"LW", PLCIO_TYPE_LWORD, 0, 0, "FFFFFFFFFFFFFFFF", "18446744073709551615"},
    {"SI", PLCIO_TYPE_SINT, 0, 0, "80", "-128"},
    {"USI", PLCIO_TYPE_USINT, 0, 0, "FF", "255"},
    {"Motor.Speed", PLCIO_TYPE_INT, 0, 0, "FFFE", "-2"},
    {"UI", PLCIO_TYPE_UINT, 0, 0, "FFFF", "65535"},
    {"DI", PLCIO_TYPE_DINT, 0, 0, "80000000", "-2147483648"},
    {"UDI", PLCIO_TYPE_UDINT, 0, 0, "00010000", "65536"},
    {"LI", PLCIO_TYPE_LINT, 0, 0, "FFFFFFFFFFFFFFFF", "-1"},
    {"ULI", PLCIO_TYPE_ULINT, 0, 0, "0000000000000102", "258"},
    {"Recipe[3].Temp", PLCIO_TYPE_REAL, 0, 0, "41480000", "12.5"},
    {"LR", PLCIO_TYPE_LREAL, 0, 0, "400921FB54442D18", "3.1415926535897931"},
    {"C", PLCIO_TYPE_CHAR, 0, 0, "41", "A"},
    {"WC", PLCIO_TYPE_WCHAR, 0, 0, "00E9", "\xc3\xa9"},
    {"S", PLCIO_TYPE_STRING, 10, 0, "0A0361626300000000000000", "abc"},
    {"WS", PLCIO_TYPE_WSTRING, 4, 0,
     "0004000200680"
     "0E900000000",
     "h\xc3\xa9"},
    {"T", PLCIO_TYPE_TIME, 0, 0, "000003E9", "T#1s1ms"},
    {"LT", PLCIO_TYPE_LTIME, 0, 0, "0000000000000005", "LT#5ns"},
    {"D", PLCIO_TYPE_DATE, 0, 0, "0000", "1990-01-01"},
    {"TOD", PLCIO_TYPE_TIME_OF_DAY, 0, 0, "0187FC23", "07:08:09.123"},
    {"DT", PLCIO_TYPE_DATE_AND_TIME, 0, 0, "2405060708091232", "2024-05-06T07:08:09.123"},
    {"DTL", PLCIO_TYPE_DTL, 0, 0, "07E805060207080900000001", "2024-05-06T07:08:09.000000001"},
};
#define NCASES (sizeof cases / sizeof cases[0])

static plcio_shm_writer *make_writer(const plcio_shm_options *opts)
{
    plcio_shm_tag_def defs[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        defs[i] = (plcio_shm_tag_def){cases[i].name, cases[i].type, cases[i].length, cases[i].bit, true};
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new(seg_name, defs, NCASES, opts, &w, &msg);
    if (rc != PLCIO_OK) fail_msg("create: %s %s", plcio_err_name(rc), msg.text);
    return w;
}

static void set_all(plcio_shm_writer *w)
{
    for (size_t i = 0; i < NCASES; i++) {
        uint8_t raw[64];
        size_t n = plcio_test_hex(cases[i].hex, raw, sizeof raw);
        assert_int_equal(plcio_shm_writer_set(w, i, raw, n, 0, NULL), PLCIO_OK);
    }
}

static plcio_shm_reader *open_reader(void)
{
    plcio_shm_reader *r = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_reader_new(seg_name, &r, &msg);
    if (rc != PLCIO_OK) fail_msg("open: %s %s", plcio_err_name(rc), msg.text);
    return r;
}

static void test_every_type(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    plcio_shm_reader *r = open_reader();
    assert_int_equal(plcio_shm_reader_tag_count(r), NCASES);
    /* before any publish: generation 0, quality none */
    plcio_shm_value v;
    assert_int_equal(plcio_shm_reader_get(r, 0, &v), PLCIO_OK);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_NONE);
    assert_int_equal(plcio_shm_reader_generation(r), 0);

    uint64_t before = plcio_realtime_ns();
    set_all(w);
    uint64_t gen = 0;
    assert_int_equal(plcio_shm_writer_publish(w, &gen), PLCIO_OK);
    assert_int_equal(gen, 1);
    assert_int_equal(plcio_shm_reader_refresh(r), PLCIO_OK);
    assert_int_equal(plcio_shm_reader_generation(r), 1);
    for (size_t i = 0; i < NCASES; i++) {
        assert_int_equal(plcio_shm_reader_get_by_name(r, cases[i].name, &v), PLCIO_OK);
        assert_int_equal(v.index, i);
        assert_int_equal(v.type, cases[i].type);
        assert_int_equal(v.decode_error, 0);
        assert_string_equal(v.text, cases[i].text);
        assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
        assert_true(v.changed_real_ns >= before && v.read_real_ns >= v.changed_real_ns);
        plcio_shm_tag_info info;
        assert_int_equal(plcio_shm_reader_tag_info(r, i, &info), PLCIO_OK);
        assert_string_equal(info.name, cases[i].name);
        assert_int_equal(info.size, v.raw_len);
    }
    assert_int_equal(plcio_shm_reader_get_by_name(r, "Motor.Speed", &v), PLCIO_OK);
    assert_int_equal(v.as_int, -2);
    assert_int_equal(plcio_shm_reader_get_by_name(r, "Recipe[3].Temp", &v), PLCIO_OK);
    assert_true(v.as_double == 12.5);
    assert_int_equal(plcio_shm_reader_get_by_name(r, "D", &v), PLCIO_OK);
    assert_true(v.as_double == 631152000.0); /* 1990-01-01 in Unix seconds */
    assert_int_equal(plcio_shm_reader_get_by_name(r, "nope", &v), PLCIO_ENOTFOUND);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

static void test_quality_and_timestamps(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    plcio_shm_reader *r = open_reader();
    size_t idx;
    assert_int_equal(plcio_shm_writer_find(w, "Motor.Speed", &idx), PLCIO_OK);
    uint8_t a[2] = {0, 1}, b[2] = {0, 2};
    bool changed = false;
    assert_int_equal(plcio_shm_writer_set(w, idx, a, 2, 1000, &changed), PLCIO_OK);
    assert_true(changed);
    assert_int_equal(plcio_shm_writer_set(w, idx, a, 2, 2000, &changed), PLCIO_OK);
    assert_false(changed);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_value v;
    plcio_shm_reader_refresh(r);
    plcio_shm_reader_get(r, idx, &v);
    assert_int_equal(v.changed_real_ns, 1000); /* the unchanged second read kept the change time */
    assert_int_equal(v.read_real_ns, 2000);
    assert_int_equal(v.quality_changed_real_ns, 1000); /* NONE -> GOOD at the first read */
    assert_string_equal(v.text, "1");
    /* error keeps the bytes, records the reason */
    assert_int_equal(plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_ERROR, PLCIO_ETIMEDOUT), PLCIO_OK);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader_refresh(r);
    plcio_shm_reader_get(r, idx, &v);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_ERROR);
    assert_int_equal(v.error, PLCIO_ETIMEDOUT);
    assert_string_equal(v.text, "1");
    assert_int_equal(plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_STALE, PLCIO_ECLOSED), PLCIO_OK);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader_refresh(r);
    plcio_shm_reader_get(r, idx, &v);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_STALE);
    assert_int_equal(v.changed_real_ns, 1000); /* quality moved, the value did not */
    assert_true(v.quality_changed_real_ns > 5000);
    /* good again with the same value: the value's change time stays, the quality's moves */
    assert_int_equal(plcio_shm_writer_set(w, idx, a, 2, 4000, &changed), PLCIO_OK);
    assert_false(changed);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader_refresh(r);
    plcio_shm_reader_get(r, idx, &v);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_int_equal(v.changed_real_ns, 1000);
    assert_int_equal(v.quality_changed_real_ns, 4000);
    assert_int_equal(v.read_real_ns, 4000);
    assert_int_equal(plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_STALE, PLCIO_ECLOSED), PLCIO_OK);
    /* back to good with a new value: change time is the read time */
    assert_int_equal(plcio_shm_writer_set(w, idx, b, 2, 5000, &changed), PLCIO_OK);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader_refresh(r);
    plcio_shm_reader_get(r, idx, &v);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_GOOD);
    assert_int_equal(v.error, 0);
    assert_int_equal(v.changed_real_ns, 5000);
    assert_string_equal(v.text, "2");
    /* bad arguments */
    assert_int_equal(plcio_shm_writer_set(w, idx, a, 3, 0, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_shm_writer_set(w, 9999, a, 2, 0, NULL), PLCIO_EINVAL);
    assert_int_equal(plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_GOOD, 0), PLCIO_EINVAL);
    /* BOOL change detection looks at its bit only */
    assert_int_equal(plcio_shm_writer_find(w, "Flags.Run", &idx), PLCIO_OK);
    uint8_t on = 0x08, on_other = 0xFF, off = 0xF7;
    plcio_shm_writer_set(w, idx, &on, 1, 0, &changed);
    plcio_shm_writer_set(w, idx, &on_other, 1, 0, &changed);
    assert_false(changed);
    plcio_shm_writer_set(w, idx, &off, 1, 0, &changed);
    assert_true(changed);
    plcio_shm_status st;
    assert_int_equal(plcio_shm_reader_status(r, &st), PLCIO_OK);
    assert_int_equal(st.engine_pid, (uint32_t)getpid());
    assert_true(st.engine_alive);
    assert_false(st.closed);
    assert_int_equal(st.generation, 5);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

static void test_json(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    plcio_shm_reader *r = open_reader();
    const char *json = NULL;
    size_t len = 0;
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "tags"), "S"), "value")));
    cJSON_Delete(doc);

    set_all(w);
    size_t idx;
    plcio_shm_writer_find(w, "DI", &idx);
    plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_ERROR, PLCIO_ETIMEDOUT);
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    assert_int_equal(strlen(json), len);
    doc = cJSON_Parse(json);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(doc, "generation")->valuedouble, 1);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(doc, "time")));
    cJSON *tags = cJSON_GetObjectItem(doc, "tags");
    assert_int_equal(cJSON_GetArraySize(tags), NCASES);
    cJSON *t = cJSON_GetObjectItem(tags, "Recipe[3].Temp");
    assert_true(cJSON_GetObjectItem(t, "value")->valuedouble == 12.5);
    assert_string_equal(cJSON_GetObjectItem(t, "quality")->valuestring, "good");
    assert_true(cJSON_GetObjectItem(t, "ts")->valuedouble > 1.6e12);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Flags.Run"), "value")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Flags.Stop"), "value")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "WS"), "value")->valuestring, "h\xc3\xa9");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "DT"), "value")->valuestring,
                        "2024-05-06T07:08:09.123");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Motor.Speed"), "value")->valuedouble == -2.0);
    cJSON *di = cJSON_GetObjectItem(tags, "DI");
    assert_string_equal(cJSON_GetObjectItem(di, "quality")->valuestring, "error");
    assert_string_equal(cJSON_GetObjectItem(di, "error")->valuestring, "PLCIO_ETIMEDOUT");
    cJSON_Delete(doc);

    /* nothing changed: the JSON is not rewritten (generation stays 1) */
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    doc = cJSON_Parse(json);
    assert_int_equal(cJSON_GetObjectItem(doc, "generation")->valuedouble, 1);
    cJSON_Delete(doc);
    /* a string needing escapes, and a NaN */
    plcio_shm_writer_find(w, "S", &idx);
    uint8_t s[12] = {10, 4, '"', '\\', '\n', 0xE4};
    plcio_shm_writer_set(w, idx, s, 12, 0, NULL);
    plcio_shm_writer_find(w, "Recipe[3].Temp", &idx);
    uint8_t nan[4] = {0x7F, 0xC0, 0, 0};
    plcio_shm_writer_set(w, idx, nan, 4, 0, NULL);
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    doc = cJSON_Parse(json);
    assert_non_null(doc);
    tags = cJSON_GetObjectItem(doc, "tags");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "S"), "value")->valuestring, "\"\\\n\xc3\xa4");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Recipe[3].Temp"), "value")));
    assert_int_equal(cJSON_GetObjectItem(doc, "generation")->valuedouble, 3);
    cJSON_Delete(doc);
    /* stale, then good again with the same value: the JSON says good again (it said stale) */
    plcio_shm_writer_find(w, "Motor.Speed", &idx);
    plcio_shm_writer_set_quality(w, idx, PLCIO_SHM_QUALITY_STALE, PLCIO_ETIMEDOUT);
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    doc = cJSON_Parse(json);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "tags"), "Motor.Speed"), "quality")
            ->valuestring,
        "stale");
    cJSON_Delete(doc);
    uint8_t minus2[2] = {0xFF, 0xFE};
    bool moved = true;
    plcio_shm_writer_set(w, idx, minus2, 2, 0, &moved);
    assert_false(moved);
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
    doc = cJSON_Parse(json);
    cJSON *speed = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "tags"), "Motor.Speed");
    assert_string_equal(cJSON_GetObjectItem(speed, "quality")->valuestring, "good");
    assert_true(cJSON_GetObjectItem(speed, "value")->valuedouble == -2.0);
    cJSON_Delete(doc);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);

    /* no JSON at all when asked */
    plcio_shm_options o = {.no_json = true};
    w = make_writer(&o);
    r = open_reader();
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_ENOTFOUND);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

/* ---- write ring ---- */

typedef struct requester {
    const char *tag, *text;
    int rc;
    plcio_shm_write_result res;
} requester;

static void *request_thread(void *arg)
{
    requester *q = arg;
    plcio_shm_reader *r = open_reader();
    q->rc = plcio_shm_reader_write(r, q->tag, q->text, 5000, &q->res);
    plcio_shm_reader_free(r);
    return NULL;
}

/* Serve requests for up to 5 s: INT writes succeed, "Recipe[3].Temp" fails
 * as if the PLC refused. Returns the number served. */
static int serve(plcio_shm_writer *w, int want, uint8_t *last, size_t *last_len)
{
    int served = 0;
    uint64_t end = plcio_monotonic_ns() + 5 * PLCIO_NS_PER_S;
    while (served < want && plcio_monotonic_ns() < end) {
        plcio_shm_write_request req;
        if (plcio_shm_writer_next_write(w, &req) != PLCIO_OK) {
            plcio_test_sleep_ms(1);
            continue;
        }
        memcpy(last, req.data, req.size);
        *last_len = req.size;
        if (!strcmp(req.name, "Recipe[3].Temp"))
            plcio_shm_writer_complete(w, req.slot, PLCIO_EPLC, "PLC says: access denied");
        else
            plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL);
        served++;
    }
    return served;
}

static void test_write_round_trip(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    uint8_t last[64];
    size_t last_len = 0;
    requester q[4] = {{"Motor.Speed", "-300", 0, {0}},
                      {"Recipe[3].Temp", "1.5", 0, {0}},
                      {"Motor.Speed", "70000", 0, {0}},
                      {"WS", "h\xc3\xa9!", 0, {0}}};
    for (int k = 0; k < 4; k++) {
        pthread_t th;
        pthread_create(&th, NULL, request_thread, &q[k]);
        int served = serve(w, k == 2 ? 0 : 1, last, &last_len);
        if (k == 2) { /* refused in next_write, never handed to the engine */
            plcio_shm_write_request req;
            for (int i = 0; i < 200 && plcio_shm_writer_next_write(w, &req) == PLCIO_ENOTFOUND; i++)
                plcio_test_sleep_ms(5);
        }
        pthread_join(th, NULL);
        assert_int_equal(q[k].rc, PLCIO_OK);
        if (k == 0) {
            assert_int_equal(served, 1);
            assert_int_equal(last_len, 2);
            assert_int_equal(last[0], 0xFE);
            assert_int_equal(last[1], 0xD4);
            assert_int_equal(q[k].res.state, PLCIO_SHM_WRITE_DONE);
            assert_int_equal(q[k].res.error, PLCIO_OK);
        } else if (k == 1) {
            assert_int_equal(q[k].res.state, PLCIO_SHM_WRITE_FAILED);
            assert_int_equal(q[k].res.error, PLCIO_EPLC);
            assert_string_equal(q[k].res.message, "PLC says: access denied");
        } else if (k == 2) {
            assert_int_equal(q[k].res.state, PLCIO_SHM_WRITE_FAILED);
            assert_int_equal(q[k].res.error, PLCIO_ERANGE);
            assert_non_null(strstr(q[k].res.message, "70000"));
        } else {
            assert_int_equal(q[k].res.state, PLCIO_SHM_WRITE_DONE);
            uint8_t want[12] = {0, 4, 0, 3, 0, 'h', 0, 0xE9, 0, '!', 0, 0};
            assert_int_equal(last_len, 12);
            assert_memory_equal(last, want, 12);
        }
    }
    plcio_shm_writer_free(w);
}

static void test_write_ring_full_and_raw(void **state)
{
    (void)state;
    plcio_shm_options o = {.write_slots = 4, .write_share = 4};
    plcio_shm_writer *w = make_writer(&o);
    plcio_shm_reader *r = open_reader();
    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(plcio_shm_reader_submit_text(r, "UI", "7", &ids[i]), PLCIO_OK);
    uint64_t extra;
    assert_int_equal(plcio_shm_reader_submit_text(r, "UI", "7", &extra), PLCIO_ELIMIT);
    assert_non_null(strstr(plcio_shm_reader_write_error(r), "share"));
    assert_int_equal(plcio_shm_reader_submit_text_wait(r, "UI", "7", 30, &extra), PLCIO_ELIMIT);
    assert_int_equal(plcio_shm_reader_submit_text(r, "nope", "7", &extra), PLCIO_ENOTFOUND);
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(r, ids[0], 20, &res), PLCIO_ETIMEDOUT);
    /* the engine drains all four; answers them in reverse order */
    plcio_shm_write_request reqs[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(plcio_shm_writer_next_write(w, &reqs[i]), PLCIO_OK);
        assert_int_equal(reqs[i].size, 2);
        assert_int_equal(reqs[i].data[1], 7);
        assert_string_equal(reqs[i].text, "7");
    }
    plcio_shm_write_request none;
    assert_int_equal(plcio_shm_writer_next_write(w, &none), PLCIO_ENOTFOUND);
    for (int i = 3; i >= 0; i--)
        assert_int_equal(plcio_shm_writer_complete(w, reqs[i].slot, PLCIO_OK, NULL), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_complete(w, reqs[0].slot, PLCIO_OK, NULL), PLCIO_ESTATE);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(plcio_shm_reader_write_wait(r, ids[i], 1000, &res), PLCIO_OK);
        assert_int_equal(res.state, PLCIO_SHM_WRITE_DONE);
    }
    assert_int_equal(plcio_shm_reader_write_wait(r, ids[0], 10, &res), PLCIO_ENOTFOUND);
    /* slots are free again; raw writes: BOOL keeps only its bit */
    uint8_t all = 0xFF;
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_raw(r, "Flags.Run", &all, 1, &id), PLCIO_OK);
    assert_int_equal(plcio_shm_reader_submit_raw(r, "Motor.Speed", &all, 1, &id), PLCIO_EINVAL);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    assert_int_equal(req.data[0], 0x08);
    assert_int_equal(req.bit, 3);
    /* syntax errors are answered without the engine */
    assert_int_equal(plcio_shm_reader_submit_text(r, "Motor.Speed", "fast", &id), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_next_write(w, &none), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_FAILED);
    assert_int_equal(res.error, PLCIO_ESYNTAX);
    /* the engine stops with a request still in hand: it is answered ECLOSED */
    assert_int_equal(plcio_shm_reader_submit_text(r, "UI", "9", &id), PLCIO_OK);
    plcio_shm_writer_free(w);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_FAILED);
    assert_int_equal(res.error, PLCIO_ECLOSED);
    assert_int_equal(plcio_shm_reader_submit_text(r, "UI", "9", &id), PLCIO_ECLOSED);
    plcio_shm_reader_free(r);
}

/* One process's writes to one tag are handed to the engine in the order it
 * submitted them, wherever its slots lie in the ring. Two handles of this
 * process start claiming at the same slot (the claim cursor starts at a hash
 * of the pid); the first one's write, taken and answered, moves the engine
 * past that slot, so the second one's three requests sit at the slot the
 * engine looks at last, then at the next two. Serving by slot position hands
 * out 20, 30, 10 (the tag ends at 10); serving by submission, 10, 20, 30. */
static void test_write_order_follows_submission(void **state)
{
    (void)state;
    plcio_shm_options o = {.write_slots = 16, .write_share = 8};
    plcio_shm_writer *w = make_writer(&o);
    plcio_shm_reader *first = open_reader(), *second = open_reader();
    uint64_t id;
    plcio_shm_write_request req;
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_submit_text(first, "UI", "1", &id), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL), PLCIO_OK);
    assert_int_equal(plcio_shm_reader_write_wait(first, id, 1000, &res), PLCIO_OK);
    const char *texts[3] = {"10", "20", "30"};
    uint64_t ids[3];
    uint32_t slots[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plcio_shm_reader_submit_text(second, "UI", texts[i], &ids[i]), PLCIO_OK);
        slots[i] = (uint32_t)(ids[i] >> 32);
    }
    assert_int_equal(slots[0], req.slot); /* the layout described above */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
        assert_string_equal(req.text, texts[i]);
        assert_int_equal(req.slot, slots[i]);
        assert_int_equal(plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL), PLCIO_OK);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(plcio_shm_reader_write_wait(second, ids[i], 1000, &res), PLCIO_OK);
    plcio_shm_reader_free(first);
    plcio_shm_reader_free(second);
    plcio_shm_writer_free(w);
}

/* Only writable tags are handed to the engine; the others are answered with
 * the reason. The segment and the ring get their modes whatever the umask. */
static void test_not_writable_and_modes(void **state)
{
    (void)state;
    plcio_shm_tag_def defs[2] = {{"Open", PLCIO_TYPE_INT, 0, 0, true}, {"Closed", PLCIO_TYPE_INT, 0, 0, false}};
    mode_t old = umask(0);
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_writer_new(seg_name, defs, 2, NULL, &w, &msg), PLCIO_OK);
    umask(old);
    char ring_name[300];
    snprintf(ring_name, sizeof ring_name, "%s.ring", seg_name);
    struct stat st;
    int fd = shm_open(seg_name, O_RDONLY, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    close(fd);
    fd = shm_open(ring_name, O_RDONLY, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    close(fd);
    plcio_shm_reader *r = open_reader();
    plcio_shm_tag_info info;
    assert_int_equal(plcio_shm_reader_tag_info(r, 1, &info), PLCIO_OK);
    assert_false(info.writable);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Closed", "5", &id), PLCIO_OK);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_ENOTFOUND); /* never reaches the engine */
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.error, PLCIO_EACCESS);
    assert_non_null(strstr(res.message, "not writable"));
    assert_int_equal(plcio_shm_reader_submit_text(r, "Open", "5", &id), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    assert_string_equal(req.name, "Open");
    plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_DONE);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
    /* explicit modes and groups; a group that does not exist is refused with its name */
    plcio_shm_options o = {.data = {0660, "0"}, .ring = {0620, NULL}};
    assert_int_equal(plcio_shm_writer_new(seg_name, defs, 2, &o, &w, &msg), PLCIO_OK);
    fd = shm_open(seg_name, O_RDONLY, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(st.st_gid, 0);
    close(fd);
    fd = shm_open(ring_name, O_RDONLY, 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0620);
    close(fd);
    plcio_shm_writer_free(w);
    o.ring.group = "no-such-group-plcio";
    assert_int_equal(plcio_shm_writer_new(seg_name, defs, 2, &o, &w, &msg), PLCIO_EINVAL);
    assert_non_null(strstr(msg.text, "no-such-group-plcio"));
    assert_int_equal(shm_open(seg_name, O_RDONLY, 0), -1); /* nothing left behind */
    assert_int_equal(shm_open(ring_name, O_RDONLY, 0), -1);
}

/* Names swapped in the shared directory (hash fixed up, so the reader accepts
 * it): a write by name still lands on the tag of that name, because the
 * engine resolves names in its own table. */
static void test_tampered_directory_cannot_redirect(void **state)
{
    (void)state;
    plcio_shm_tag_def defs[2] = {{"int_1", PLCIO_TYPE_INT, 0, 0, true}, {"int_2", PLCIO_TYPE_INT, 0, 0, true}};
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_writer_new(seg_name, defs, 2, NULL, &w, &msg), PLCIO_OK);
    int fd = shm_open(seg_name, O_RDWR, 0);
    assert_true(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    uint8_t *b = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(b != MAP_FAILED);
    uint32_t dir;
    memcpy(&dir, b + SHM_H_DIR_OFFSET, 4);
    memcpy(b + dir + SHM_D_NAME, "int_2", 5);
    memcpy(b + dir + SHM_DIR_ENTRY_SIZE + SHM_D_NAME, "int_1", 5);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < (size_t)2 * SHM_DIR_ENTRY_SIZE; i++) {
        h ^= b[dir + i];
        h *= UINT64_C(0x100000001b3);
    }
    memcpy(b + SHM_H_LAYOUT_HASH, &h, 8);
    plcio_shm_reader *r = open_reader();
    size_t idx;
    assert_int_equal(plcio_shm_reader_find(r, "int_1", &idx), PLCIO_OK);
    assert_int_equal(idx, 1); /* the reader believes the tampered directory */
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "int_1", "555", &id), PLCIO_OK);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    assert_int_equal(req.tag, 0); /* the engine's own int_1 */
    assert_string_equal(req.name, "int_1");
    assert_int_equal(req.data[0], 0x02);
    assert_int_equal(req.data[1], 0x2B);
    plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL);
    munmap(b, (size_t)st.st_size);
    close(fd);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

/* ---- lifecycle ---- */

static void test_second_engine_refused(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    plcio_shm_tag_def def = {"X", PLCIO_TYPE_INT, 0, 0, false};
    plcio_shm_writer *w2 = NULL;
    char pid[32];
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_writer_new(seg_name, &def, 1, NULL, &w2, &msg), PLCIO_EBUSY);
    assert_null(w2);
    snprintf(pid, sizeof pid, "pid %d", (int)getpid());
    assert_non_null(strstr(msg.text, pid));
    /* the running engine's segment is untouched */
    plcio_shm_reader *r = open_reader();
    assert_int_equal(plcio_shm_reader_tag_count(r), NCASES);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
    /* after a clean exit the name is gone, and free again */
    plcio_shm_reader *none = NULL;
    assert_int_equal(plcio_shm_reader_new(seg_name, &none, &msg), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_shm_writer_new(seg_name, &def, 1, NULL, &w2, &msg), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_replaced_pid(w2), 0);
    plcio_shm_writer_free(w2);
    /* bad definitions */
    plcio_shm_tag_def dup[2] = {{"X", PLCIO_TYPE_INT, 0, 0, false}, {"X", PLCIO_TYPE_REAL, 0, 0, false}};
    assert_int_equal(plcio_shm_writer_new(seg_name, dup, 2, NULL, &w2, &msg), PLCIO_EINVAL);
    assert_non_null(strstr(msg.text, "twice"));
    plcio_shm_tag_def badbit = {"X", PLCIO_TYPE_INT, 0, 3, false};
    assert_int_equal(plcio_shm_writer_new(seg_name, &badbit, 1, NULL, &w2, &msg), PLCIO_EINVAL);
    plcio_shm_tag_def badstr = {"X", PLCIO_TYPE_STRING, 300, 0, false};
    assert_int_equal(plcio_shm_writer_new(seg_name, &badstr, 1, NULL, &w2, &msg), PLCIO_EINVAL);
    assert_int_equal(plcio_shm_writer_new("no-slash", &def, 1, NULL, &w2, &msg), PLCIO_EINVAL);
    assert_int_equal(plcio_shm_writer_new("/a/b", &def, 1, NULL, &w2, &msg), PLCIO_EINVAL);
}

static void test_stale_segment_replaced(void **state)
{
    (void)state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        plcio_shm_tag_def def = {"Old", PLCIO_TYPE_INT, 0, 0, false};
        plcio_shm_writer *w = NULL;
        if (plcio_shm_writer_new(seg_name, &def, 1, NULL, &w, NULL) != PLCIO_OK) _exit(1);
        plcio_shm_writer_publish(w, NULL);
        _exit(0); /* "crash": no cleanup */
    }
    int status = 0;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* a reader of the dead engine's segment sees it is not alive */
    plcio_shm_reader *old = open_reader();
    plcio_shm_status st;
    plcio_shm_reader_status(old, &st);
    assert_false(st.engine_alive);
    assert_int_equal(st.engine_pid, (uint32_t)child);
    assert_int_equal(plcio_shm_reader_wait(old, st.generation, 1000, NULL), PLCIO_ECLOSED);
    /* a new engine replaces it */
    plcio_shm_writer *w = make_writer(NULL);
    assert_int_equal(plcio_shm_writer_replaced_pid(w), (uint32_t)child);
    plcio_shm_reader_status(old, &st);
    assert_true(st.closed); /* unlinked under the old reader */
    plcio_shm_reader_free(old);
    plcio_shm_reader *r = open_reader();
    assert_int_equal(plcio_shm_reader_tag_count(r), NCASES);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

static void test_busy_across_processes(void **state)
{
    (void)state;
    int ready[2], stop[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(stop), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        alarm(10);
        plcio_shm_tag_def def = {"Old", PLCIO_TYPE_INT, 0, 0, false};
        plcio_shm_writer *w = NULL;
        if (plcio_shm_writer_new(seg_name, &def, 1, NULL, &w, NULL) != PLCIO_OK) _exit(1);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        char c;
        if (read(stop[0], &c, 1) < 0) _exit(1); /* until the parent kills it */
        _exit(0);
    }
    struct pollfd pfd = {ready[0], POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    plcio_shm_tag_def def = {"X", PLCIO_TYPE_INT, 0, 0, false};
    plcio_shm_writer *w = NULL;
    char pid[32];
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new(seg_name, &def, 1, NULL, &w, &msg);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    for (int i = 0; i < 2; i++) {
        close(ready[i]);
        close(stop[i]);
    }
    assert_int_equal(rc, PLCIO_EBUSY);
    snprintf(pid, sizeof pid, "pid %d", (int)child);
    assert_non_null(strstr(msg.text, pid));
    assert_int_equal(plcio_shm_writer_new(seg_name, &def, 1, NULL, &w, &msg), PLCIO_OK);
    assert_int_equal(plcio_shm_writer_replaced_pid(w), (uint32_t)child);
    plcio_shm_writer_free(w);
}

typedef struct waiter {
    int rc;
    uint64_t gen;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *wt = arg;
    plcio_shm_reader *r = open_reader();
    wt->rc = plcio_shm_reader_wait(r, 0, 5000, &wt->gen);
    plcio_shm_reader_free(r);
    return NULL;
}

static void test_wait(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer(NULL);
    plcio_shm_reader *r = open_reader();
    uint64_t t0 = plcio_monotonic_ns();
    assert_int_equal(plcio_shm_reader_wait(r, 0, 50, NULL), PLCIO_ETIMEDOUT);
    assert_true(plcio_monotonic_ns() - t0 >= 45 * PLCIO_NS_PER_MS);
    waiter wt = {-1, 0};
    pthread_t th;
    pthread_create(&th, NULL, wait_thread, &wt);
    plcio_test_sleep_ms(50);
    plcio_shm_writer_publish(w, NULL);
    pthread_join(th, NULL);
    assert_int_equal(wt.rc, PLCIO_OK);
    assert_int_equal(wt.gen, 1);
    uint64_t g = 0;
    assert_int_equal(plcio_shm_reader_wait(r, 0, 0, &g), PLCIO_OK); /* already newer */
    assert_int_equal(g, 1);
    plcio_shm_writer_free(w);
    assert_int_equal(plcio_shm_reader_wait(r, 1, 1000, NULL), PLCIO_ECLOSED);
    plcio_shm_reader_free(r);
}

/* Publications copy only what was staged since their buffer was last
 * written (two buffers: what changed one publication ago must be copied
 * again into the other). A model of every tag is checked against each
 * publication: one tag, a few, most (the whole copy), quality changes. The
 * document is over 256 KiB, so its JSON may be held back: the writer says so
 * (shm_writer_json_pending) and a later publication brings it. */
#define STAGED_TAGS 4000

static void check_model(plcio_shm_reader *r, const int32_t *model, const uint8_t *quality)
{
    assert_int_equal(plcio_shm_reader_refresh(r), PLCIO_OK);
    for (size_t i = 0; i < STAGED_TAGS; i++) {
        plcio_shm_value v;
        assert_int_equal(plcio_shm_reader_get(r, i, &v), PLCIO_OK);
        if (v.quality != quality[i]) fail_msg("tag %zu: quality %d, model %d", i, (int)v.quality, (int)quality[i]);
        if (quality[i] == PLCIO_SHM_QUALITY_NONE) continue;
        if (v.as_int != model[i]) fail_msg("tag %zu: %lld, model %d", i, (long long)v.as_int, model[i]);
    }
}

static void test_staged_publications(void **state)
{
    (void)state;
    static char names[STAGED_TAGS][48];
    plcio_shm_tag_def defs[STAGED_TAGS];
    for (size_t i = 0; i < STAGED_TAGS; i++) {
        snprintf(names[i], sizeof names[i], "line.station.a_rather_long_tag_name_%04zu", i);
        defs[i] = (plcio_shm_tag_def){names[i], PLCIO_TYPE_DINT, 0, 0, false};
    }
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    assert_int_equal(plcio_shm_writer_new(seg_name, defs, STAGED_TAGS, NULL, &w, &msg), PLCIO_OK);
    plcio_shm_reader *r = open_reader();
    static int32_t model[STAGED_TAGS];
    static uint8_t quality[STAGED_TAGS];
    memset(model, 0, sizeof model);
    memset(quality, 0, sizeof quality);
    uint64_t rng = 0x2545F4914F6CDD1Dull, published = 0, last = 0;
    for (int round = 0; round < 60; round++) {
        /* rounds of 1 tag, of a few, of most of them */
        size_t changes = round % 3 == 0 ? 1 : round % 3 == 1 ? 7 : STAGED_TAGS * 3 / 4;
        for (size_t k = 0; k < changes; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            size_t i = (size_t)(rng % STAGED_TAGS);
            if (rng >> 60 == 0 && quality[i] == PLCIO_SHM_QUALITY_GOOD) {
                assert_int_equal(plcio_shm_writer_set_quality(w, i, PLCIO_SHM_QUALITY_STALE, PLCIO_ETIMEDOUT),
                                 PLCIO_OK);
                quality[i] = PLCIO_SHM_QUALITY_STALE;
                continue;
            }
            model[i] = (int32_t)(rng >> 33) - (1 << 30);
            uint8_t be[4] = {(uint8_t)((uint32_t)model[i] >> 24), (uint8_t)((uint32_t)model[i] >> 16),
                             (uint8_t)((uint32_t)model[i] >> 8), (uint8_t)model[i]};
            assert_int_equal(plcio_shm_writer_set(w, i, be, 4, 0, NULL), PLCIO_OK);
            quality[i] = PLCIO_SHM_QUALITY_GOOD;
        }
        uint64_t gen = 0;
        assert_int_equal(plcio_shm_writer_publish(w, &gen), PLCIO_OK);
        assert_int_equal(gen, ++published);
        last = gen; /* the last publication that changed something */
        check_model(r, model, quality);
        /* nothing staged: the next publication leaves every value as it was */
        if (round % 10 == 9) {
            assert_int_equal(plcio_shm_writer_publish(w, &gen), PLCIO_OK);
            assert_int_equal(gen, ++published);
            check_model(r, model, quality);
        }
    }
    /* The JSON text reaches the last change's values, at once or when the
     * writer says a held-back document is due and it is published. */
    bool seen = false;
    uint64_t give_up = plcio_monotonic_ns() + 30 * PLCIO_NS_PER_S;
    while (!seen && plcio_monotonic_ns() < give_up) {
        const char *json = NULL;
        size_t len = 0;
        assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_OK);
        cJSON *doc = cJSON_Parse(json);
        assert_non_null(doc);
        uint64_t gen = (uint64_t)cJSON_GetObjectItem(doc, "generation")->valuedouble;
        if (gen >= last) {
            assert_true(len > (size_t)256 * 1024); /* the size that may be held back */
            cJSON *tags = cJSON_GetObjectItem(doc, "tags");
            for (size_t i = 0; i < STAGED_TAGS; i++) {
                cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(tags, names[i]), "value");
                if (quality[i] == PLCIO_SHM_QUALITY_NONE)
                    assert_true(cJSON_IsNull(v));
                else if (v->valuedouble != (double)model[i])
                    fail_msg("JSON %s: %.0f, model %d", names[i], v->valuedouble, model[i]);
            }
            seen = true;
        } else if (shm_writer_json_pending(w, plcio_monotonic_ns())) {
            assert_int_equal(plcio_shm_writer_publish(w, NULL), PLCIO_OK);
        } else {
            plcio_test_sleep_ms(2);
        }
        cJSON_Delete(doc);
    }
    assert_true(seen);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quality_and_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_ring_full_and_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_order_follows_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_writable_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_directory_cannot_redirect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_engine_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_segment_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_across_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staged_publications, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
