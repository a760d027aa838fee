/* The MQTT output's queue file (src/mqtt/mqtt_spool.c) without a broker:
 * what is written is read back as it was; the sent mark, emptying and
 * replacing; and damaged files: cut at every byte, every bit flipped, an
 * oversized length, garbage. A damaged record and what follows it are never
 * handed out; what comes before it is, unchanged; nothing crashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqtt/mqtt_internal.h"
#include "plcio/plcio.h"
#include "plcio_test.h"

#define MAX_TAKE 16

typedef struct taken {
    mqtt_msg *msgs[MAX_TAKE];
    size_t count, room; /* room: how many take accepts */
} taken;

static bool take(void *ctx, mqtt_msg *msg)
{
    taken *t = ctx;
    if (t->count >= t->room || t->count >= MAX_TAKE) return false;
    t->msgs[t->count++] = msg;
    return true;
}

static void taken_free(taken *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->msgs[i]);
    t->count = 0;
}

static char dir[] = "/tmp/plcio-mqtt-spool-XXXXXX";
static char path[128], copy[128];
static mqtt_msg *orig[3];

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/q.bin", dir);
    snprintf(copy, sizeof copy, "%s/c.bin", dir);
    orig[0] = mqtt_msg_new("plcio/plc/Level", 15, "{\"value\":1.5,\"quality\":\"GOOD\"}", 30, 1, false);
    orig[1] = mqtt_msg_new("s", 1, "", 0, 0, true);
    orig[2] = mqtt_msg_new("plcio/plc/Name", 14, "\x00\x01\xff binary", 10, 2, false);
    return orig[0] && orig[1] && orig[2] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        free(orig[i]);
    (void)remove(path);
    (void)remove(copy);
    (void)rmdir(dir);
    return 0;
}

static bool same(const mqtt_msg *a, const mqtt_msg *b)
{
    return a->topic_len == b->topic_len && a->payload_len == b->payload_len && a->qos == b->qos &&
           a->retain == b->retain && !memcmp(a->data, b->data, a->topic_len + 1 + a->payload_len);
}

/* The three messages (seq 10, 11, 12) appended in two writes. */
static void write_three(void)
{
    mqtt_spool *s;
    char err[256] = "";
    assert_int_equal(mqtt_spool_open(path, &s), PLCIO_OK);
    assert_int_equal(mqtt_spool_add(s, 10, orig[0]), PLCIO_OK);
    assert_int_equal(mqtt_spool_write(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(mqtt_spool_add(s, 11, orig[1]), PLCIO_OK);
    assert_int_equal(mqtt_spool_add(s, 12, orig[2]), PLCIO_OK);
    assert_int_equal(mqtt_spool_write(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(mqtt_spool_records(s), 3);
    assert_int_equal(mqtt_spool_first(s), 10);
    assert_int_equal(mqtt_spool_end(s), 13);
    assert_int_equal(mqtt_spool_sync(s, err, sizeof err), PLCIO_OK);
    mqtt_spool_close(s);
}

static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    (void)fclose(f);
    return buf;
}

static void spit(const char *p, const void *data, size_t len)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int load(const char *p, taken *t, mqtt_spool_result *res, char *err, size_t cap)
{
    taken_free(t);
    if (!t->room) t->room = MAX_TAKE;
    return mqtt_spool_load(p, take, t, res, err, cap);
}

static void test_crc32_golden(void **state)
{
    (void)state;
    assert_int_equal(mqtt_spool_crc32("123456789", 9), 0xCBF43926u);
    assert_int_equal(mqtt_spool_crc32("", 0), 0);
}

static void test_round_trip_mark_clear_replace(void **state)
{
    (void)state;
    taken t = {.room = MAX_TAKE};
    mqtt_spool_result res;
    char err[256] = "";
    write_three();
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(res.loaded, 3);
    assert_string_equal(res.damage, "");
    for (int i = 0; i < 3; i++)
        assert_true(same(t.msgs[i], orig[i]));

    /* reopening appends to a new file (the engine rewrites at start); the sent mark skips */
    mqtt_spool *s;
    assert_int_equal(mqtt_spool_open(path, &s), PLCIO_OK);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(mqtt_spool_add(s, i, orig[i]), PLCIO_OK);
    assert_int_equal(mqtt_spool_replace(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(mqtt_spool_mark_sent(s, 2, err, sizeof err), PLCIO_OK);
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(res.loaded, 1);
    assert_int_equal(res.skipped, 2);
    assert_true(same(t.msgs[0], orig[2]));
    /* a full queue: the rest is refused (counted), not lost silently */
    t.room = 1;
    assert_int_equal(mqtt_spool_mark_sent(s, 0, err, sizeof err), PLCIO_OK);
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(res.loaded, 1);
    assert_int_equal(res.refused, 2);
    t.room = MAX_TAKE;
    /* emptied: the header alone */
    assert_int_equal(mqtt_spool_clear(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(res.loaded, 0);
    assert_string_equal(res.damage, "");
    /* appended after emptying: found again */
    assert_int_equal(mqtt_spool_add(s, 7, orig[1]), PLCIO_OK);
    assert_int_equal(mqtt_spool_write(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(res.loaded, 1);
    assert_true(same(t.msgs[0], orig[1]));
    /* replaced by nothing: gone */
    assert_int_equal(mqtt_spool_replace(s, err, sizeof err), PLCIO_OK);
    assert_int_equal(access(path, F_OK), -1);
    mqtt_spool_close(s);
    assert_int_equal(load(path, &t, &res, err, sizeof err), PLCIO_OK); /* missing: nothing, no error */
    assert_int_equal(res.loaded, 0);
    taken_free(&t);
}

/* Record boundaries of the file write_three makes. */
static size_t boundaries(size_t *at)
{
    size_t n = 0, pos = 24;
    at[n++] = pos;
    for (int i = 0; i < 3; i++) {
        pos += 8 + 12 + orig[i]->topic_len + orig[i]->payload_len;
        at[n++] = pos;
    }
    return n;
}

static void test_cut_at_every_byte(void **state)
{
    (void)state;
    write_three();
    size_t len;
    uint8_t *full = slurp(path, &len);
    size_t at[4];
    boundaries(at);
    assert_int_equal(at[3], len);
    taken t = {.room = MAX_TAKE};
    mqtt_spool_result res;
    char err[256];
    for (size_t cut = 0; cut < len; cut++) {
        spit(copy, full, cut);
        int rc = load(copy, &t, &res, err, sizeof err);
        if (cut > 0 && cut < 8) { /* not even the magic: not taken for a queue file */
            assert_int_equal(rc, PLCIO_EPROTO);
            assert_non_null(strstr(err, "not a plcio MQTT queue file"));
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        size_t whole = 0;
        while (whole < 3 && at[whole + 1] <= cut)
            whole++;
        if (t.count != whole) fail_msg("cut at %zu: %zu messages, wanted %zu", cut, t.count, whole);
        for (size_t i = 0; i < t.count; i++)
            assert_true(same(t.msgs[i], orig[i]));
        bool on_boundary = cut == 0 || cut == at[0] || cut == at[1] || cut == at[2];
        if (on_boundary != (res.damage[0] == '\0')) fail_msg("cut at %zu: damage '%s'", cut, res.damage);
    }
    taken_free(&t);
    free(full);
}

static void test_every_bit_flipped(void **state)
{
    (void)state;
    write_three();
    size_t len;
    uint8_t *full = slurp(path, &len);
    size_t at[4];
    boundaries(at);
    taken t = {.room = MAX_TAKE};
    mqtt_spool_result res;
    char err[256];
    for (size_t bit = 0; bit < len * 8; bit++) {
        full[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        spit(copy, full, len);
        full[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int rc = load(copy, &t, &res, err, sizeof err);
        size_t byte = bit / 8;
        if (byte < 8) { /* the magic */
            assert_int_equal(rc, PLCIO_EPROTO);
            continue;
        }
        assert_int_equal(rc, PLCIO_OK);
        for (size_t i = 0; i < t.count; i++)
            assert_true(same(t.msgs[i], orig[i]));
        if (byte < 20) { /* the sent mark or its checksum: read as 0, said so; every message kept */
            assert_int_equal(t.count, 3);
            assert_string_not_equal(res.note, "");
        } else if (byte >= 24) { /* in record k: records before it only, the damage said */
            size_t k = 0;
            while (at[k + 1] <= byte)
                k++;
            if (t.count != k) fail_msg("bit %zu (record %zu): %zu messages", bit, k, t.count);
            assert_string_not_equal(res.damage, "");
        }
    }
    taken_free(&t);
    free(full);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_oversized_and_garbage(void **state)
{
    (void)state;
    taken t = {.room = MAX_TAKE};
    mqtt_spool_result res;
    char err[256] = "";
    write_three();
    size_t len;
    uint8_t *full = slurp(path, &len);
    /* the second record claims 4 GiB: nothing is allocated for it, the first is kept */
    size_t at[4];
    boundaries(at);
    put32le(full + at[1], 0xFFFFFFF0u);
    spit(copy, full, len);
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 1);
    char want[64];
    snprintf(want, sizeof want, "at byte %zu (cut short)", at[1]);
    if (!strstr(res.damage, want)) fail_msg("damage '%s', wanted '%s'", res.damage, want);
    /* a length too small to hold a record */
    put32le(full + at[1], 3);
    spit(copy, full, len);
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 1);
    assert_non_null(strstr(res.damage, "bad length"));
    free(full);
    /* garbage: refused with a reason */
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    spit(copy, junk, sizeof junk);
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_EPROTO);
    assert_non_null(strstr(err, "not a plcio MQTT queue file"));
    /* the right magic, then garbage: nothing handed out, the damage said */
    static const uint8_t magic2[8] = {'P', 'L', 'C', 'I', 'O', 'M', 'Q', '2'};
    memcpy(junk, magic2, sizeof magic2);
    spit(copy, junk, sizeof junk);
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 0);
    assert_string_not_equal(res.damage, "");
    /* records out of order (a sequence number that does not rise) are damage */
    mqtt_spool *s;
    assert_int_equal(mqtt_spool_open(copy, &s), PLCIO_OK);
    assert_int_equal(mqtt_spool_add(s, 5, orig[0]), PLCIO_OK);
    assert_int_equal(mqtt_spool_add(s, 5, orig[1]), PLCIO_OK);
    assert_int_equal(mqtt_spool_replace(s, err, sizeof err), PLCIO_OK);
    mqtt_spool_close(s);
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 1);
    assert_non_null(strstr(res.damage, "bad fields"));
    taken_free(&t);
}

static void test_old_format_still_read(void **state)
{
    (void)state;
    uint8_t f[64] = {'P', 'L', 'C', 'I', 'O', 'M', 'Q', '1'};
    put32le(f + 8, 1);
    put32le(f + 12, 2);
    f[16] = 1;
    f[17] = 0;
    memcpy(f + 18, "tab", 3);
    spit(copy, f, 21);
    taken t = {.room = MAX_TAKE};
    mqtt_spool_result res;
    char err[256] = "";
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 1);
    assert_string_equal(mqtt_msg_topic(t.msgs[0]), "t");
    assert_string_equal(mqtt_msg_payload(t.msgs[0]), "ab");
    spit(copy, f, 20); /* cut short: dropped, said */
    assert_int_equal(load(copy, &t, &res, err, sizeof err), PLCIO_OK);
    assert_int_equal(t.count, 0);
    assert_string_not_equal(res.damage, "");
    taken_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_golden),          cmocka_unit_test(test_round_trip_mark_clear_replace),
        cmocka_unit_test(test_cut_at_every_byte),     cmocka_unit_test(test_every_bit_flipped),
        cmocka_unit_test(test_oversized_and_garbage), cmocka_unit_test(test_old_format_still_read),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
