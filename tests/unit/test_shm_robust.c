/* Shared memory under attack: corrupted segments must give errors, never a
 * crash (run under ASan/UBSan), and readers racing a writer at full speed
 * must never see a torn snapshot. */
#include "plcio_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/shm.h"
#include "shm/shm_format.h"

static char seg_name[64], copy_name[80];

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
    snprintf(seg_name, sizeof seg_name, "/plcio-test-shmr-%d-%d", (int)getpid(), ++counter);
    snprintf(copy_name, sizeof copy_name, "%s-copy", seg_name);
    unlink_both(seg_name);
    shm_unlink(copy_name);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink_both(seg_name);
    shm_unlink(copy_name);
    return 0;
}

static const plcio_shm_tag_def defs[] = {
    {"Counter", PLCIO_TYPE_UDINT, 0, 0, true},
    {"Complement", PLCIO_TYPE_UDINT, 0, 0, true},
    {"Text", PLCIO_TYPE_STRING, 20, 0, true},
    {"Wide", PLCIO_TYPE_WSTRING, 8, 0, true},
    {"Value", PLCIO_TYPE_LREAL, 0, 0, true},
    {"Bit", PLCIO_TYPE_BOOL, 0, 5, true},
    {"When", PLCIO_TYPE_DATE_AND_TIME, 0, 0, true},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static plcio_shm_writer *make_writer(void)
{
    plcio_shm_writer *w = NULL;
    char msg[PLCIO_SHM_MSG_MAX] = "";
    int rc = plcio_shm_writer_create(seg_name, defs, NDEFS, NULL, &w, msg, sizeof msg);
    if (rc != PLCIO_OK) fail_msg("create: %s", msg);
    return w;
}

/* Stage values that carry the invariant of generation n. */
static void stage(plcio_shm_writer *w, uint32_t n)
{
    uint8_t b[64] = {0};
    plcio_put_u32be(b, n);
    plcio_shm_writer_set(w, 0, b, 4, 0, NULL);
    plcio_put_u32be(b, ~n);
    plcio_shm_writer_set(w, 1, b, 4, 0, NULL);
    memset(b, 0, sizeof b);
    b[0] = 20;
    b[1] = (uint8_t)snprintf((char *)b + 2, 21, "%u", n);
    plcio_shm_writer_set(w, 2, b, 22, 0, NULL);
    memset(b, 0, sizeof b);
    plcio_put_u16be(b, 8);
    plcio_put_u16be(b + 2, 2);
    plcio_put_u16be(b + 4, (uint16_t)(n & 0x7FFF));
    plcio_put_u16be(b + 6, (uint16_t)(0x7FFF - (n & 0x7FFF)));
    plcio_shm_writer_set(w, 3, b, 20, 0, NULL);
    plcio_put_f64be(b, (double)n);
    plcio_shm_writer_set(w, 4, b, 8, 0, NULL);
    b[0] = (uint8_t)((n & 1u) << 5);
    plcio_shm_writer_set(w, 5, b, 1, 0, NULL);
    uint8_t dt[8] = {0x24, 0x05, 0x06, 0x07, 0x08, 0x09, 0x12, 0x32};
    plcio_shm_writer_set(w, 6, dt, 8, 0, NULL);
}

/* The whole segment's bytes. */
static uint8_t *segment_bytes(const char *name, size_t *len)
{
    int fd = shm_open(name, O_RDONLY, 0);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *buf = malloc((size_t)st.st_size);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void write_segment(const char *name, const uint8_t *bytes, size_t len)
{
    shm_unlink(name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)len), 0);
    if (len) assert_int_equal(pwrite(fd, bytes, len, 0), (ssize_t)len);
    close(fd);
}

/* Open the copy and use everything a reader can; returns open's code. */
static int exercise(void)
{
    plcio_shm_reader *r = NULL;
    char msg[PLCIO_SHM_MSG_MAX] = "";
    int rc = plcio_shm_reader_open(copy_name, &r, msg, sizeof msg);
    if (rc != PLCIO_OK) {
        assert_true(msg[0] != '\0'); /* every refusal says why */
        return rc;
    }
    plcio_shm_status st;
    plcio_shm_reader_status(r, &st);
    plcio_shm_reader_refresh(r);
    for (size_t i = 0; i < plcio_shm_reader_tag_count(r); i++) {
        plcio_shm_value v;
        assert_int_equal(plcio_shm_reader_get(r, i, &v), PLCIO_OK);
        assert_non_null(v.text);
        (void)strlen(v.text);
    }
    const char *json;
    size_t len;
    plcio_shm_reader_json(r, &json, &len);
    uint64_t id;
    if (plcio_shm_reader_submit_text(r, "Counter", "5", &id) == PLCIO_OK) {
        plcio_shm_write_result res;
        plcio_shm_reader_write_wait(r, id, 0, &res);
    }
    plcio_shm_reader_wait(r, UINT64_MAX, 0, NULL);
    plcio_shm_reader_free(r);
    return PLCIO_OK;
}

static void put32(uint8_t *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

static void test_corrupt_header_fields(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    stage(w, 7);
    plcio_shm_writer_publish(w, NULL);
    size_t len;
    uint8_t *good = segment_bytes(seg_name, &len);
    uint8_t *bad = malloc(len);
    write_segment(copy_name, good, len);
    assert_int_equal(exercise(), PLCIO_OK); /* the untouched copy is fine */

    uint32_t dir_off, snap_off, image;
    memcpy(&dir_off, good + SHM_H_DIR_OFFSET, 4);
    memcpy(&snap_off, good + SHM_H_SNAP_OFFSET, 4);
    memcpy(&image, good + SHM_H_IMAGE_SIZE, 4);
    struct {
        size_t off;
        uint32_t value;
        int want;
    } cases[] = {
        {SHM_H_MAGIC, 0x58585858, PLCIO_EPROTO},
        {SHM_H_MAGIC, 0, PLCIO_EPROTO}, /* half a magic */
        {SHM_H_VERSION, 99, PLCIO_EUNSUPPORTED},
        {SHM_H_ENDIAN, 0x04030201, PLCIO_EPROTO},
        {SHM_H_STATE, 0, PLCIO_EAGAIN},
        {SHM_H_STATE, 2, PLCIO_ECLOSED},
        {SHM_H_STATE, 77, PLCIO_EPROTO},
        {SHM_H_TOTAL_SIZE, (uint32_t)len * 2, PLCIO_EPROTO},
        {SHM_H_TAG_COUNT, 100000, PLCIO_EPROTO},
        {SHM_H_TAG_COUNT, 0xFFFFFFFF, PLCIO_EPROTO},
        {SHM_H_DIR_OFFSET, 8, PLCIO_EPROTO},
        {SHM_H_DIR_OFFSET, 0xFFFFFFF0, PLCIO_EPROTO},
        {SHM_H_IMAGE_SIZE, 0xFFFFFFFF, PLCIO_EPROTO},
        {SHM_H_IMAGE_SIZE, image + 4096, PLCIO_EPROTO},
        {SHM_H_IMAGE_SIZE, 2, PLCIO_EPROTO}, /* tags end beyond the image */
        {SHM_H_SNAP_OFFSET, 0xFFFFFFF8, PLCIO_EPROTO},
        {SHM_H_SNAP_OFFSET, snap_off + 4, PLCIO_EPROTO},
        {SHM_H_SNAP_STRIDE, 8, PLCIO_EPROTO},
        {SHM_H_SNAP_STRIDE, 0x7FFFFFF8, PLCIO_EPROTO},
        {SHM_H_SNAP_COUNT, 3, PLCIO_EPROTO},
        {SHM_H_JSON_COUNT, 1, PLCIO_EPROTO},
        {SHM_H_JSON_OFFSET, snap_off, PLCIO_EPROTO},
        {SHM_H_JSON_STRIDE, 0xFFFFFFF8, PLCIO_EPROTO},
        {SHM_H_RING_SLOTS, 0x10000000, PLCIO_EPROTO},
        /* the ring's own geometry lives in NAME.ring: test_corrupt_ring_fields */
        {SHM_H_DIR_ENTRY_SIZE, 100, PLCIO_EPROTO},
        {SHM_H_LAYOUT_HASH, 12345, PLCIO_EPROTO},
        /* directory entries (the hash is fixed up below so the entry check itself is hit) */
        {0x10000 + 128, 999, PLCIO_EPROTO},       /* type */
        {0x10000 + 136, 0xFFFFFFF0, PLCIO_EPROTO}, /* offset */
        {0x10000 + 140, 3, PLCIO_EPROTO},          /* size */
        {0x10000 + 130, 0xFFFF, PLCIO_EPROTO},     /* length (STRING tag 2) */
        {0x10000 + 132, 9, PLCIO_EPROTO},          /* bit */
        {0x10000 + 0, 0, PLCIO_EPROTO},            /* empty name */
        {0x10000 + 124, 0x41414141, PLCIO_EPROTO}, /* name without NUL */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(bad, good, len);
        size_t off = cases[k].off;
        if (off >= 0x10000) { /* entry field of tag 2, then re-hash */
            off = dir_off + 2 * SHM_DIR_ENTRY_SIZE + (off - 0x10000);
            if (cases[k].off == 0x10000 + 124) memset(bad + dir_off + (size_t)2 * SHM_DIR_ENTRY_SIZE, 'A', 128);
            else put32(bad, off, cases[k].value);
            uint32_t count;
            memcpy(&count, good + SHM_H_TAG_COUNT, 4);
            uint64_t h = UINT64_C(0xcbf29ce484222325);
            for (size_t i = 0; i < (size_t)count * SHM_DIR_ENTRY_SIZE; i++) {
                h ^= bad[dir_off + i];
                h *= UINT64_C(0x100000001b3);
            }
            memcpy(bad + SHM_H_LAYOUT_HASH, &h, 8);
        } else {
            put32(bad, off, cases[k].value);
        }
        write_segment(copy_name, bad, len);
        int rc = exercise();
        if (rc != cases[k].want)
            fail_msg("case %zu (offset %zu): got %s, want %s", k, cases[k].off, plcio_err_name(rc),
                     plcio_err_name(cases[k].want));
    }
    /* truncated objects */
    write_segment(copy_name, good, 0);
    assert_int_equal(exercise(), PLCIO_EAGAIN);
    write_segment(copy_name, good, 100);
    assert_int_equal(exercise(), PLCIO_EPROTO);
    write_segment(copy_name, good, len / 2);
    assert_int_equal(exercise(), PLCIO_EPROTO);
    free(bad);
    free(good);
    plcio_shm_writer_free(w);
}

static void test_random_corruption(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    stage(w, 12345);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader *r0 = NULL;
    uint64_t id;
    assert_int_equal(plcio_shm_reader_open(seg_name, &r0, NULL, 0), PLCIO_OK);
    plcio_shm_reader_submit_text(r0, "Text", "hello", &id); /* a slot with content */
    size_t len;
    uint8_t *good = segment_bytes(seg_name, &len);
    uint8_t *bad = malloc(len);
    uint32_t snap_off;
    memcpy(&snap_off, good + SHM_H_SNAP_OFFSET, 4);
    srand(42);
    int opened = 0;
    for (int iter = 0; iter < 1500; iter++) {
        memcpy(bad, good, len);
        int flips = 1 + rand() % 4;
        for (int f = 0; f < flips; f++) {
            /* mostly the header and directory, sometimes anywhere */
            size_t pos = rand() % 3 ? (size_t)rand() % snap_off : (size_t)rand() % len;
            bad[pos] ^= (uint8_t)(1u << (rand() % 8));
        }
        write_segment(copy_name, bad, len);
        if (exercise() == PLCIO_OK) opened++;
    }
    print_message("random corruption: %d of 1500 variants still opened (flips in data areas)\n", opened);
    free(bad);
    free(good);
    plcio_shm_reader_free(r0);
    plcio_shm_writer_free(w);
}

/* Corruption after a reader validated the segment. */
static void test_live_corruption(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    stage(w, 1);
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_open(seg_name, &r, NULL, 0), PLCIO_OK);
    int fd = shm_open(seg_name, O_RDWR, 0);
    struct stat st;
    fstat(fd, &st);
    uint8_t *b = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(b != MAP_FAILED);
    uint32_t snap_off, stride, json_off, latest;
    memcpy(&snap_off, b + SHM_H_SNAP_OFFSET, 4);
    memcpy(&stride, b + SHM_H_SNAP_STRIDE, 4);
    memcpy(&json_off, b + SHM_H_JSON_OFFSET, 4);
    memcpy(&latest, b + SHM_H_SNAP_LATEST, 4);
    /* string current length > max, bad BCD, bad quality byte */
    uint8_t *snap = b + snap_off + (size_t)latest * stride;
    snap[SHM_S_HEAD + 8] = 200;   /* Text cur length (offset 8 in the image: after two UDINTs) */
    uint8_t *dt = snap + SHM_S_HEAD + 4 + 4 + 22 + 20 + 8 + 1;
    dt[1] = 0xFF;                 /* month not BCD */
    uint32_t img;
    memcpy(&img, b + SHM_H_IMAGE_SIZE, 4);
    snap[SHM_S_HEAD + ((img + 7u) & ~7u)] = 99; /* quality of tag 0 */
    assert_int_equal(plcio_shm_reader_refresh(r), PLCIO_OK);
    plcio_shm_value v;
    assert_int_equal(plcio_shm_reader_get_by_name(r, "Text", &v), PLCIO_OK);
    assert_int_not_equal(v.decode_error, 0);
    assert_string_equal(v.text, "");
    assert_int_equal(plcio_shm_reader_get_by_name(r, "When", &v), PLCIO_OK);
    assert_int_not_equal(v.decode_error, 0);
    assert_int_equal(plcio_shm_reader_get_by_name(r, "Counter", &v), PLCIO_OK);
    assert_int_equal(v.quality, PLCIO_SHM_QUALITY_ERROR);
    /* bad latest index */
    put32(b, SHM_H_SNAP_LATEST, 7);
    assert_int_equal(plcio_shm_reader_refresh(r), PLCIO_EPROTO);
    put32(b, SHM_H_SNAP_LATEST, latest);
    /* JSON length beyond its buffer */
    uint32_t jl;
    memcpy(&jl, b + SHM_H_JSON_LATEST, 4);
    uint32_t jstride;
    memcpy(&jstride, b + SHM_H_JSON_STRIDE, 4);
    put32(b, json_off + (size_t)jl * jstride + SHM_J_LENGTH, 0xFFFFFFF0);
    const char *json;
    size_t len;
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_EPROTO);
    put32(b, SHM_H_JSON_LATEST, 5);
    assert_int_equal(plcio_shm_reader_json(r, &json, &len), PLCIO_EPROTO);
    /* a slot naming an unknown tag, or with a length out of range, is failed by the engine */
    char ring_name[300];
    snprintf(ring_name, sizeof ring_name, "%s.ring", seg_name);
    int rfd = shm_open(ring_name, O_RDWR, 0);
    assert_true(rfd >= 0);
    struct stat rst;
    fstat(rfd, &rst);
    uint8_t *ring = mmap(NULL, (size_t)rst.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
    assert_true(ring != MAP_FAILED);
    uint32_t slot_size;
    memcpy(&slot_size, ring + SHM_R_SLOT_SIZE, 4);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "1", &id), PLCIO_OK);
    uint8_t *s = ring + SHM_R_HEADER_SIZE + (size_t)(id >> 32) * slot_size;
    memcpy(s + SHM_W_NAME, "Nope", 5);
    put32(s, SHM_W_NAME_LEN, 4);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_ENOTFOUND);
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_FAILED);
    assert_int_equal(res.error, PLCIO_ENOTFOUND);
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "1", &id), PLCIO_OK);
    s = ring + SHM_R_HEADER_SIZE + (size_t)(id >> 32) * slot_size;
    put32(s, SHM_W_VALUE_LEN, 0xFFFFFFFF);
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.error, PLCIO_EINVAL);
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "1", &id), PLCIO_OK);
    s = ring + SHM_R_HEADER_SIZE + (size_t)(id >> 32) * slot_size;
    put32(s, SHM_W_NAME_LEN, 1000);
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_ENOTFOUND);
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 1000, &res), PLCIO_OK);
    assert_int_equal(res.error, PLCIO_EINVAL);
    munmap(ring, (size_t)rst.st_size);
    close(rfd);
    munmap(b, (size_t)st.st_size);
    close(fd);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

/* The write ring's header, corrupted field by field in the live ring: a
 * requester refuses it with a reason instead of writing into it. */
static void test_corrupt_ring_fields(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    char ring_name[300];
    snprintf(ring_name, sizeof ring_name, "%s.ring", seg_name);
    int fd = shm_open(ring_name, O_RDWR, 0);
    assert_true(fd >= 0);
    struct stat st;
    fstat(fd, &st);
    uint8_t *ring = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(ring != MAP_FAILED);
    struct {
        size_t off;
        uint32_t value;
        int want;
    } cases[] = {
        {SHM_R_MAGIC, 0x58585858, PLCIO_EPROTO},     {SHM_R_VERSION, 99, PLCIO_EUNSUPPORTED},
        {SHM_R_KEY, 12345, PLCIO_ECLOSED},           {SHM_R_STATE, 2, PLCIO_ECLOSED},
        {SHM_R_SLOTS, 0x10000000, PLCIO_EPROTO},     {SHM_R_SLOTS, 0, PLCIO_EPROTO},
        {SHM_R_SLOT_SIZE, 16, PLCIO_EPROTO},         {SHM_R_VALUE_CAP, 0xFFFFFFF0, PLCIO_EPROTO},
        {SHM_R_SHARE, 0, PLCIO_EPROTO},              {SHM_R_RESERVE, 0xFFFF, PLCIO_EPROTO},
        {SHM_R_TOTAL_SIZE, 0xFFFFFFF0, PLCIO_EPROTO}, {SHM_R_ENDIAN, 0x04030201, PLCIO_EPROTO},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t saved;
        memcpy(&saved, ring + cases[k].off, 4);
        put32(ring, cases[k].off, cases[k].value);
        plcio_shm_reader *r = NULL;
        assert_int_equal(plcio_shm_reader_open(seg_name, &r, NULL, 0), PLCIO_OK);
        uint64_t id;
        int rc = plcio_shm_reader_submit_text(r, "Counter", "5", &id);
        if (rc != cases[k].want)
            fail_msg("ring case %zu (offset %zu): got %s, want %s", k, cases[k].off, plcio_err_name(rc),
                     plcio_err_name(cases[k].want));
        assert_true(plcio_shm_reader_write_error(r)[0] != '\0'); /* every refusal says why */
        plcio_shm_reader_free(r);
        put32(ring, cases[k].off, saved);
    }
    munmap(ring, (size_t)st.st_size);
    close(fd);
    plcio_shm_writer_free(w);
}

/* ---- torn reads ---- */

typedef struct torn_ctx {
    atomic_bool stop;
    atomic_ulong published;
} torn_ctx;

typedef struct reader_result {
    torn_ctx *ctx;
    unsigned long snapshots, violations, json_checked, json_violations;
} reader_result;

static plcio_shm_writer *torn_w;

static void *writer_loop(void *arg)
{
    torn_ctx *ctx = arg;
    uint32_t n = 0;
    while (!atomic_load(&ctx->stop)) {
        stage(torn_w, ++n);
        plcio_shm_writer_publish(torn_w, NULL);
        atomic_store(&ctx->published, n);
    }
    return NULL;
}

static bool snapshot_ok(plcio_shm_reader *r)
{
    plcio_shm_value a, b, t, wide, val, bit;
    plcio_shm_reader_get(r, 0, &a);
    uint32_t n = plcio_get_u32be(a.raw);
    plcio_shm_reader_get(r, 1, &b);
    if (plcio_get_u32be(b.raw) != ~n) return false;
    plcio_shm_reader_get(r, 2, &t);
    char want[16];
    snprintf(want, sizeof want, "%u", n);
    if (strcmp(t.text, want) != 0) return false;
    plcio_shm_reader_get(r, 3, &wide);
    if (wide.raw_len != 20 || plcio_get_u16be(wide.raw + 4) + plcio_get_u16be(wide.raw + 6) != 0x7FFF ||
        plcio_get_u16be(wide.raw + 4) != (n & 0x7FFF))
        return false;
    plcio_shm_reader_get(r, 4, &val);
    if (val.as_double != (double)n) return false;
    plcio_shm_reader_get(r, 5, &bit);
    return bit.as_int == (int64_t)(n & 1u);
}

static bool json_ok(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc) return false;
    cJSON *tags = cJSON_GetObjectItem(doc, "tags");
    double c = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Counter"), "value"));
    double k = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Complement"), "value"));
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Text"), "value"));
    bool ok = true;
    if (c != 0 || k != 0) { /* generation 0 has nulls */
        char want[16];
        snprintf(want, sizeof want, "%u", (uint32_t)c);
        ok = (uint32_t)k == ~(uint32_t)c && t && !strcmp(t, want);
    }
    cJSON_Delete(doc);
    return ok;
}

static void *reader_loop(void *arg)
{
    reader_result *res = arg;
    plcio_shm_reader *r = NULL;
    if (plcio_shm_reader_open(seg_name, &r, NULL, 0) != PLCIO_OK) {
        res->violations = 1000000;
        return NULL;
    }
    uint64_t last = 0;
    while (!atomic_load(&res->ctx->stop)) {
        if (plcio_shm_reader_refresh(r) != PLCIO_OK) continue;
        uint64_t g = plcio_shm_reader_generation(r);
        if (g == 0) continue;
        if (g < last) res->violations++; /* generations never go back */
        last = g;
        res->snapshots++;
        if (!snapshot_ok(r)) res->violations++;
        if ((res->snapshots & 63u) == 0) {
            const char *json;
            if (plcio_shm_reader_json(r, &json, NULL) == PLCIO_OK) {
                res->json_checked++;
                if (!json_ok(json)) res->json_violations++;
            }
        }
    }
    plcio_shm_reader_free(r);
    return NULL;
}

static void test_torn_reads(void **state)
{
    (void)state;
    torn_w = make_writer();
    torn_ctx ctx = {false, 0};
    reader_result rr[2] = {{&ctx, 0, 0, 0, 0}, {&ctx, 0, 0, 0, 0}};
    pthread_t wt, rt[2];
    pthread_create(&wt, NULL, writer_loop, &ctx);
    for (int i = 0; i < 2; i++) pthread_create(&rt[i], NULL, reader_loop, &rr[i]);
    plcio_test_sleep_ms(1500);
    atomic_store(&ctx.stop, true);
    pthread_join(wt, NULL);
    for (int i = 0; i < 2; i++) pthread_join(rt[i], NULL);
    unsigned long published = atomic_load(&ctx.published);
    print_message("torn-read: %lu publishes; readers checked %lu + %lu snapshots, %lu + %lu JSON; violations %lu\n",
                  published, rr[0].snapshots, rr[1].snapshots, rr[0].json_checked, rr[1].json_checked,
                  rr[0].violations + rr[1].violations + rr[0].json_violations + rr[1].json_violations);
    assert_true(published > 0);
    assert_true(rr[0].snapshots > 0 && rr[1].snapshots > 0);
    assert_int_equal(rr[0].violations + rr[1].violations, 0);
    assert_int_equal(rr[0].json_violations + rr[1].json_violations, 0);
    plcio_shm_writer_free(torn_w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corrupt_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_ring_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_reads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
