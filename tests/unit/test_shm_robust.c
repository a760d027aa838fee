/* Shared memory under attack: corrupted segments must give errors, never a
 * crash (run under ASan/UBSan); a segment truncated, removed or replaced
 * while the engine and its readers run kills neither (each runs in its own
 * process here, so a SIGBUS shows as a signal death); readers racing a
 * writer never see a torn snapshot, checked deterministically (test hooks
 * stop the writer inside a seqlock write) and by a free-running race. */
#include "plcio_test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
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
#include "shm/shm_internal.h"

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
    {"Counter", PLCIO_TYPE_UDINT, 0, 0, true},      {"Complement", PLCIO_TYPE_UDINT, 0, 0, true},
    {"Text", PLCIO_TYPE_STRING, 20, 0, true},       {"Wide", PLCIO_TYPE_WSTRING, 8, 0, true},
    {"Value", PLCIO_TYPE_LREAL, 0, 0, true},        {"Bit", PLCIO_TYPE_BOOL, 0, 5, true},
    {"When", PLCIO_TYPE_DATE_AND_TIME, 0, 0, true},
};
#define NDEFS (sizeof defs / sizeof defs[0])

static plcio_shm_writer *make_writer(void)
{
    plcio_shm_writer *w = NULL;
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new(seg_name, defs, NDEFS, NULL, &w, &msg);
    if (rc != PLCIO_OK) fail_msg("create: %s", msg.text);
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
    plcio_error msg = {0};
    int rc = plcio_shm_reader_new(copy_name, &r, &msg);
    if (rc != PLCIO_OK) {
        assert_true(msg.text[0] != '\0'); /* every refusal says why */
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
        {0x10000 + 128, 999, PLCIO_EPROTO},        /* type */
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
            if (cases[k].off == 0x10000 + 124)
                memset(bad + dir_off + (size_t)2 * SHM_DIR_ENTRY_SIZE, 'A', 128);
            else
                put32(bad, off, cases[k].value);
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
    assert_int_equal(plcio_shm_reader_new(seg_name, &r0, NULL), PLCIO_OK);
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
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
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
    snap[SHM_S_HEAD + 8] = 200; /* Text cur length (offset 8 in the image: after two UDINTs) */
    uint8_t *dt = snap + SHM_S_HEAD + 4 + 4 + 22 + 20 + 8 + 1;
    dt[1] = 0xFF; /* month not BCD */
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
        {SHM_R_MAGIC, 0x58585858, PLCIO_EPROTO},
        {SHM_R_VERSION, 99, PLCIO_EUNSUPPORTED},
        {SHM_R_KEY, 12345, PLCIO_ECLOSED},
        {SHM_R_STATE, 2, PLCIO_ECLOSED},
        {SHM_R_SLOTS, 0x10000000, PLCIO_EPROTO},
        {SHM_R_SLOTS, 0, PLCIO_EPROTO},
        {SHM_R_SLOT_SIZE, 16, PLCIO_EPROTO},
        {SHM_R_VALUE_CAP, 0xFFFFFFF0, PLCIO_EPROTO},
        {SHM_R_SHARE, 0, PLCIO_EPROTO},
        {SHM_R_RESERVE, 0xFFFF, PLCIO_EPROTO},
        {SHM_R_TOTAL_SIZE, 0xFFFFFFF0, PLCIO_EPROTO},
        {SHM_R_ENDIAN, 0x04030201, PLCIO_EPROTO},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        uint32_t saved;
        memcpy(&saved, ring + cases[k].off, 4);
        put32(ring, cases[k].off, cases[k].value);
        plcio_shm_reader *r = NULL;
        assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
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

/* One JSON document is consistent: generation 0 (the engine's first
 * document, which a reader may still get after newer snapshots: the JSON is
 * published after the snapshot) has null values; any later one has numbers
 * that carry the invariant. A null read as a number is NaN: checked first. */
static bool json_ok(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    if (!doc) return false;
    cJSON *tags = cJSON_GetObjectItem(doc, "tags");
    cJSON *ci = cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Counter"), "value");
    cJSON *ki = cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Complement"), "value");
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Text"), "value"));
    cJSON *gen = cJSON_GetObjectItem(doc, "generation");
    bool ok;
    if (cJSON_IsNumber(gen) && cJSON_GetNumberValue(gen) == 0) {
        ok = cJSON_IsNull(ci) && cJSON_IsNull(ki);
    } else {
        double c = cJSON_GetNumberValue(ci), k = cJSON_GetNumberValue(ki);
        ok = cJSON_IsNumber(ci) && cJSON_IsNumber(ki) && c >= 0 && c <= UINT32_MAX && k >= 0 && k <= UINT32_MAX;
        if (ok) {
            char want[16];
            snprintf(want, sizeof want, "%u", (uint32_t)c);
            ok = (uint32_t)k == ~(uint32_t)c && t && !strcmp(t, want);
        }
    }
    cJSON_Delete(doc);
    return ok;
}

static void *reader_loop(void *arg)
{
    reader_result *res = arg;
    plcio_shm_reader *r = NULL;
    if (plcio_shm_reader_new(seg_name, &r, NULL) != PLCIO_OK) {
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
    for (int i = 0; i < 2; i++)
        pthread_create(&rt[i], NULL, reader_loop, &rr[i]);
    plcio_test_sleep_ms(1500);
    atomic_store(&ctx.stop, true);
    pthread_join(wt, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(rt[i], NULL);
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

/* ---- truncation, removal, replacement while running ---- */

/* The engine in a child process, driven one step at a time through a pipe
 * (so a truncation lands between two of its calls, never inside one: the
 * window the library cannot close is documented, not tested). Commands:
 * 'p' stage + publish, 'h' heartbeat, 'n' next_write; the answer is the
 * call's plcio_err. EOF: free the writer, exit 0. */
typedef struct engine_proc {
    pid_t pid;
    int cmd, ans;
} engine_proc;

/* cmocka catches SIGBUS and SIGSEGV in the test process; a child must die of
 * them visibly instead of running the remaining tests. */
static void default_signals(void)
{
    (void)signal(SIGBUS, SIG_DFL);
    (void)signal(SIGSEGV, SIG_DFL);
}

static int read_full_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, timeout_ms) <= 0) return -1;
        ssize_t n = read(fd, p, len);
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void engine_main(int cmd, int ans)
{
    plcio_shm_writer *w = NULL;
    int32_t rc = plcio_shm_writer_new(seg_name, defs, NDEFS, NULL, &w, NULL);
    if (write(ans, &rc, 4) != 4 || rc != PLCIO_OK) _exit(1);
    uint32_t n = 0;
    char c;
    plcio_shm_write_request req;
    uint32_t taken = UINT32_MAX; /* slot of the last request taken ('n') */
    while (read(cmd, &c, 1) == 1) {
        if (c == 'p') {
            stage(w, ++n);
            rc = plcio_shm_writer_publish(w, NULL);
        } else if (c == 'h') {
            plcio_shm_writer_heartbeat(w);
            rc = PLCIO_OK;
        } else if (c == 'c') { /* answer the request taken last: done */
            rc = taken == UINT32_MAX ? PLCIO_ESTATE : plcio_shm_writer_complete(w, taken, PLCIO_OK, NULL);
            taken = UINT32_MAX;
        } else if (c == 'w') { /* asleep on the ring's submit futex */
            plcio_shm_writer_wait_requests(w, 400);
            rc = PLCIO_OK;
        } else {
            rc = plcio_shm_writer_next_write(w, &req);
            if (rc == PLCIO_OK) taken = req.slot;
        }
        if (write(ans, &rc, 4) != 4) break;
    }
    plcio_shm_writer_free(w);
    _exit(0);
}

static engine_proc engine_start(void)
{
    int c[2], a[2];
    assert_int_equal(pipe(c), 0);
    assert_int_equal(pipe(a), 0);
    engine_proc e = {fork(), c[1], a[0]};
    assert_true(e.pid >= 0);
    if (e.pid == 0) {
        default_signals();
        close(c[1]);
        close(a[0]);
        engine_main(c[0], a[1]);
    }
    close(c[0]);
    close(a[1]);
    int32_t rc = -1;
    assert_int_equal(read_full_timeout(e.ans, &rc, 4, 20000), 0);
    assert_int_equal(rc, PLCIO_OK);
    return e;
}

/* One engine call; its result, or a failure if the engine died. */
static int engine_do(engine_proc *e, char c)
{
    int32_t rc = -1;
    if (write(e->cmd, &c, 1) != 1 || read_full_timeout(e->ans, &rc, 4, 20000) != 0) {
        int st = 0;
        waitpid(e->pid, &st, 0);
        e->pid = -1;
        fail_msg("engine process gone after '%c': %s %d", c, WIFSIGNALED(st) ? "killed by signal" : "exit",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    }
    return rc;
}

/* Exit status of a child, failing the test if a signal killed it. */
static int child_exit(pid_t pid, const char *who)
{
    int st = 0;
    uint64_t end = plcio_monotonic_ns() + 30 * PLCIO_NS_PER_S;
    pid_t got;
    while ((got = waitpid(pid, &st, WNOHANG)) == 0 && plcio_monotonic_ns() < end)
        plcio_test_sleep_ms(5);
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        fail_msg("%s did not finish within 30 s", who);
    }
    if (WIFSIGNALED(st)) fail_msg("%s was killed by signal %d (%s)", who, WTERMSIG(st), strsignal(WTERMSIG(st)));
    return WEXITSTATUS(st);
}

static void engine_stop(engine_proc *e)
{
    close(e->cmd);
    close(e->ans);
    assert_int_equal(child_exit(e->pid, "engine"), 0);
}

static char *ring_object(void)
{
    static char name[100];
    snprintf(name, sizeof name, "%s.ring", seg_name);
    return name;
}

static uint64_t object_size_of(const char *name, ino_t *ino)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0) return UINT64_MAX;
    struct stat st;
    fstat(fd, &st);
    close(fd);
    if (ino) *ino = st.st_ino;
    return (uint64_t)st.st_size;
}

static uint64_t object_size(ino_t *ino) { return object_size_of(seg_name, ino); }

/* A C reader in a child process: opens, tells the parent (a byte on `ready`),
 * then reads in a tight loop with everything a reader can call until it gets
 * a clear error (the object was truncated, removed or replaced), then
 * reopens until a new object with published values is there and checks it.
 * Exit 0: all that happened; 2: no error seen; 3: never reattached; 4: a
 * wrong value. */
static void reader_main(int ready)
{
    plcio_shm_reader *r = NULL;
    if (plcio_shm_reader_new(seg_name, &r, NULL) != PLCIO_OK) _exit(5);
    char c = 'o';
    if (write(ready, &c, 1) != 1) _exit(5);
    uint64_t end = plcio_monotonic_ns() + 20 * PLCIO_NS_PER_S;
    bool closed = false;
    /* Reading goes on for a while after the first error, as a careless
     * reader's would: every call must keep answering, none may fault. */
    unsigned after_closed = 0;
    for (unsigned long k = 0; after_closed < 200 && plcio_monotonic_ns() < end; k++) {
        int rc = plcio_shm_reader_refresh(r);
        const char *json;
        size_t len;
        int jrc = plcio_shm_reader_json(r, &json, &len);
        plcio_shm_status st;
        plcio_shm_reader_status(r, &st);
        for (size_t i = 0; i < NDEFS; i++) {
            plcio_shm_value v;
            plcio_shm_reader_get(r, i, &v);
        }
        int wrc = plcio_shm_reader_wait(r, UINT64_MAX, (k & 15u) == 0 ? 1 : 0, NULL);
        closed = closed || rc == PLCIO_ECLOSED || jrc == PLCIO_ECLOSED || st.closed || wrc == PLCIO_ECLOSED;
        after_closed += closed;
    }
    /* The write ring works on the mapping (a size check first, then loads
     * and stores): not raced here, see docs/shm.md. After the damage it
     * refuses with a clear error. */
    uint64_t id;
    plcio_shm_write_result res;
    int src = plcio_shm_reader_submit_text(r, "Counter", "5", &id);
    int wwrc = plcio_shm_reader_write_wait(r, 0, 0, &res);
    plcio_shm_reader_free(r);
    if (!closed) _exit(2);
    if (src != PLCIO_ECLOSED || (wwrc != PLCIO_ECLOSED && wwrc != PLCIO_ENOTFOUND)) _exit(6);
    while (plcio_monotonic_ns() < end) {
        r = NULL;
        if (plcio_shm_reader_new(seg_name, &r, NULL) == PLCIO_OK && plcio_shm_reader_generation(r) > 0) {
            int ok = snapshot_ok(r);
            plcio_shm_reader_free(r);
            _exit(ok ? 0 : 4);
        }
        plcio_shm_reader_free(r);
        plcio_test_sleep_ms(2);
    }
    _exit(3);
}

static pid_t reader_start(void)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        default_signals();
        close(p[0]);
        reader_main(p[1]);
    }
    close(p[1]);
    char c;
    assert_int_equal(read_full_timeout(p[0], &c, 1, 20000), 0);
    close(p[0]);
    return pid;
}

typedef enum damage { TRUNCATE_1000, TRUNCATE_0, REPLACE, REMOVE } damage;

/* Damage the data segment, or with `ring` its write ring NAME.ring. */
static void do_damage_to(damage d, bool ring)
{
    const char *name = ring ? ring_object() : seg_name;
    if (d == REPLACE || d == REMOVE) {
        assert_int_equal(shm_unlink(name), 0);
        if (d == REMOVE) return;
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        uint8_t junk[4096];
        memset(junk, 'X', sizeof junk);
        assert_int_equal(pwrite(fd, junk, sizeof junk, 0), (ssize_t)sizeof junk);
        close(fd);
        return;
    }
    int fd = shm_open(name, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, d == TRUNCATE_0 ? 0 : 1000), 0);
    close(fd);
}

static void do_damage(damage d) { do_damage_to(d, false); }

/* The engine and a C reader in child processes; the segment (or with
 * `ring`, the write ring) is damaged while the reader reads. Neither may die
 * of a signal; the engine moves to a new segment and a new ring. */
static void survive_damage(damage d, bool ring, char first_call)
{
    engine_proc e = engine_start();
    assert_int_equal(engine_do(&e, 'p'), PLCIO_OK);
    ino_t ino0 = 0, ino1 = 0, rino0 = 0, rino1 = 0;
    uint64_t full = object_size(&ino0), ring_full = object_size_of(ring_object(), &rino0);
    pid_t reader = reader_start();
    plcio_test_sleep_ms(20); /* let it read a while */
    do_damage_to(d, ring);
    /* The first engine call after the damage moves to a new object. */
    int rc = engine_do(&e, first_call);
    assert_true(first_call == 'n' ? rc == PLCIO_ENOTFOUND : rc == PLCIO_OK);
    assert_int_equal(engine_do(&e, 'p'), PLCIO_OK);
    assert_int_equal(object_size(&ino1), full);
    assert_true(ino1 != ino0);
    assert_int_equal(object_size_of(ring_object(), &rino1), ring_full); /* both objects are new */
    assert_true(rino1 != rino0);
    int code = child_exit(reader, "C reader");
    if (code != 0)
        fail_msg("C reader exit %d (2 no error seen, 3 never reattached, 4 bad values, 6 ring not refused)", code);
    for (int i = 0; i < 5; i++)
        assert_int_equal(engine_do(&e, 'p'), PLCIO_OK);
    engine_stop(&e);
    assert_int_equal(object_size(NULL), UINT64_MAX); /* nothing left behind */
    assert_int_equal(object_size_of(ring_object(), NULL), UINT64_MAX);
}

static void survive(damage d, char first_call) { survive_damage(d, false, first_call); }

static void test_ring_truncated_to_0(void **state)
{
    (void)state;
    survive_damage(TRUNCATE_0, true, 'n');
}

static void test_ring_truncated_to_1000(void **state)
{
    (void)state;
    survive_damage(TRUNCATE_1000, true, 'p');
}

static void test_ring_replaced(void **state)
{
    (void)state;
    survive_damage(REPLACE, true, 'h');
}

static void test_ring_removed(void **state)
{
    (void)state;
    survive_damage(REMOVE, true, 'p');
}

/* A C requester in a child process: submits a write, says so (a byte on
 * `ready`), waits for its answer. Exit 0: PLCIO_ECLOSED with a message that
 * says the ring was truncated; 2: submit failed; 3: another answer. */
static void requester_main(int ready)
{
    plcio_shm_reader *r = NULL;
    uint64_t id = 0;
    if (plcio_shm_reader_new(seg_name, &r, NULL) != PLCIO_OK) _exit(5);
    if (plcio_shm_reader_submit_text(r, "Counter", "7", &id) != PLCIO_OK) _exit(2);
    char c = 's';
    if (write(ready, &c, 1) != 1) _exit(5);
    plcio_shm_write_result res;
    int rc = plcio_shm_reader_write_wait(r, id, 20000, &res);
    plcio_shm_reader_free(r);
    _exit(rc == PLCIO_ECLOSED && res.error == PLCIO_ECLOSED && strstr(res.message, "truncated") ? 0 : 3);
}

/* NAME.ring truncated to 0 while a requester sleeps on its answer (the
 * engine took the request) and while the engine sleeps on the ring's submit
 * futex: the requester gets a clear error, nobody dies of a signal, the
 * engine moves to a new segment and ring, the late answer lands in the slot
 * kept for it, and a new requester writes through the new ring. */
static void test_ring_truncated_under_waiters(void **state)
{
    (void)state;
    engine_proc e = engine_start();
    assert_int_equal(engine_do(&e, 'p'), PLCIO_OK);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t req = fork();
    assert_true(req >= 0);
    if (req == 0) {
        default_signals();
        close(p[0]);
        requester_main(p[1]);
    }
    close(p[1]);
    char c;
    assert_int_equal(read_full_timeout(p[0], &c, 1, 20000), 0);
    close(p[0]);
    assert_int_equal(engine_do(&e, 'n'), PLCIO_OK); /* taken: BUSY, the requester waits for the answer */
    char w = 'w';
    assert_int_equal(write(e.cmd, &w, 1), 1); /* the engine sleeps on the ring (400 ms) */
    plcio_test_sleep_ms(150);
    int fd = shm_open(ring_object(), O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 0), 0);
    close(fd);
    int32_t rc = -1;
    if (read_full_timeout(e.ans, &rc, 4, 20000) != 0) fail_msg("engine gone while asleep on a truncated ring");
    int code = child_exit(req, "C requester");
    if (code != 0) fail_msg("C requester exit %d (2 submit failed, 3 not ECLOSED/'truncated')", code);
    assert_int_equal(engine_do(&e, 'c'), PLCIO_OK); /* the late answer: into the slot kept for it */
    assert_int_equal(engine_do(&e, 'p'), PLCIO_OK);
    assert_int_equal(object_size_of(ring_object(), NULL) > 0 && object_size_of(ring_object(), NULL) != UINT64_MAX, 1);
    /* The engine goes on: a new requester writes through the new ring. */
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "8", &id), PLCIO_OK);
    assert_int_equal(engine_do(&e, 'n'), PLCIO_OK);
    assert_int_equal(engine_do(&e, 'c'), PLCIO_OK);
    plcio_shm_write_result res;
    assert_int_equal(plcio_shm_reader_write_wait(r, id, 20000, &res), PLCIO_OK);
    assert_int_equal(res.state, PLCIO_SHM_WRITE_DONE);
    plcio_shm_reader_free(r);
    engine_stop(&e);
    assert_int_equal(object_size_of(ring_object(), NULL), UINT64_MAX);
}

/* A request the engine took before its write ring was truncated: the late
 * answer lands in the slot the new ring keeps for it, never in a new request
 * (the requester of the new ring starts its slot search where the old one
 * did: without the reservation it would get that very slot). */
static void test_late_answer_after_ring_truncation(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "1", &id), PLCIO_OK);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    plcio_shm_reader_free(r);
    do_damage_to(TRUNCATE_0, true);
    assert_int_equal(plcio_shm_writer_publish(w, NULL), PLCIO_OK); /* new segment and ring */
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    uint64_t ids[64];
    size_t n = 0;
    while (n < 64 && plcio_shm_reader_submit_text(r, "Counter", "2", &ids[n]) == PLCIO_OK)
        n++;
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal((uint32_t)(ids[i] >> 32), req.slot);
    assert_int_equal(plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL), PLCIO_OK); /* the late answer */
    for (size_t i = 0; i < n; i++) {
        plcio_shm_write_result res;
        assert_int_equal(plcio_shm_reader_write_wait(r, ids[i], 0, &res), PLCIO_ETIMEDOUT); /* none answered */
    }
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

static void test_truncated_to_1000(void **state)
{
    (void)state;
    survive(TRUNCATE_1000, 'p');
}

static void test_truncated_to_0(void **state)
{
    (void)state;
    survive(TRUNCATE_0, 'h');
}

static void test_truncated_next_write(void **state)
{
    (void)state;
    survive(TRUNCATE_1000, 'n');
}

static void test_replaced(void **state)
{
    (void)state;
    survive(REPLACE, 'p');
}

static void test_removed(void **state)
{
    (void)state;
    survive(REMOVE, 'p');
}

/* A request the engine took from an object that is then truncated: its
 * late answer must not reach a new request in the new object's ring. */
static void test_late_answer_after_replacement(void **state)
{
    (void)state;
    plcio_shm_writer *w = make_writer();
    plcio_shm_writer_publish(w, NULL);
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    uint64_t id;
    assert_int_equal(plcio_shm_reader_submit_text(r, "Counter", "1", &id), PLCIO_OK);
    plcio_shm_write_request req;
    assert_int_equal(plcio_shm_writer_next_write(w, &req), PLCIO_OK);
    plcio_shm_reader_free(r);
    do_damage(TRUNCATE_1000);
    assert_int_equal(plcio_shm_writer_publish(w, NULL), PLCIO_OK); /* new object */
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    /* Fill every free slot of the new ring; the old request's slot is not among them. */
    uint64_t ids[64];
    size_t n = 0;
    while (n < 64 && plcio_shm_reader_submit_text(r, "Counter", "2", &ids[n]) == PLCIO_OK)
        n++;
    for (size_t i = 0; i < n; i++)
        assert_int_not_equal((uint32_t)(ids[i] >> 32), req.slot);
    assert_int_equal(plcio_shm_writer_complete(w, req.slot, PLCIO_OK, NULL), PLCIO_OK); /* the late answer */
    for (size_t i = 0; i < n; i++) {
        plcio_shm_write_result res;
        assert_int_equal(plcio_shm_reader_write_wait(r, ids[i], 0, &res), PLCIO_ETIMEDOUT); /* none answered */
    }
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(w);
}

/* ---- seqlock, deterministic: the writer stopped inside a write ---- */

typedef struct hook_ctx {
    int where;
    sem_t reader_in, writer_paused, reader_again;
    atomic_int reader_calls;
    atomic_bool writer_armed;
    plcio_shm_reader *r;
    int rc;
    const char *json;
} hook_ctx;

static void sem_wait_10s(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (sem_timedwait(s, &ts) != 0)
        if (errno != EINTR) fail_msg("hook handshake timed out");
}

static void reader_hook(void *p, int where)
{
    hook_ctx *h = p;
    if (where != h->where) return;
    int n = atomic_fetch_add(&h->reader_calls, 1) + 1;
    if (n == 1) { /* holding its first sequence word: let the writer lap it */
        sem_post(&h->reader_in);
        sem_wait_10s(&h->writer_paused);
    } else if (n == 2) {
        sem_post(&h->reader_again); /* retrying: the writer may finish */
    }
}

static void writer_hook(void *p, int where)
{
    hook_ctx *h = p;
    if (where != h->where || !atomic_exchange(&h->writer_armed, false)) return;
    /* Halfway through a write of the buffer the reader holds. */
    sem_post(&h->writer_paused);
    sem_wait_10s(&h->reader_again);
}

static void *hook_reader_main(void *p)
{
    hook_ctx *h = p;
    size_t len;
    h->rc =
        h->where == SHM_HOOK_SNAPSHOT ? plcio_shm_reader_refresh(h->r) : plcio_shm_reader_json(h->r, &h->json, &len);
    sem_post(&h->reader_again); /* finished without a retry (a broken seqlock) */
    return NULL;
}

static void seqlock_stopped_writer(int where)
{
    hook_ctx h;
    memset(&h, 0, sizeof h);
    h.where = where;
    sem_init(&h.reader_in, 0, 0);
    sem_init(&h.writer_paused, 0, 0);
    sem_init(&h.reader_again, 0, 0);
    plcio_shm_writer *w = make_writer();
    stage(w, 1);
    plcio_shm_writer_publish(w, NULL);
    assert_int_equal(plcio_shm_reader_new(seg_name, &h.r, NULL), PLCIO_OK);
    shm_reader_set_test_hook(h.r, reader_hook, &h);
    shm_writer_set_test_hook(w, writer_hook, &h);
    pthread_t th;
    pthread_create(&th, NULL, hook_reader_main, &h);
    sem_wait_10s(&h.reader_in); /* the reader holds generation 1's buffer */
    stage(w, 2);
    plcio_shm_writer_publish(w, NULL); /* into the other buffer */
    atomic_store(&h.writer_armed, true);
    stage(w, 3);
    plcio_shm_writer_publish(w, NULL); /* into the reader's buffer: stops halfway */
    pthread_join(th, NULL);
    int calls = atomic_load(&h.reader_calls);
    print_message("%s: the reader's copy overlapped a write %s; it tried %d times\n",
                  where == SHM_HOOK_SNAPSHOT ? "snapshot" : "JSON", calls > 1 ? "and was retried" : "and was KEPT",
                  calls);
    assert_int_equal(h.rc, PLCIO_OK);
    if (where == SHM_HOOK_SNAPSHOT) {
        assert_true(snapshot_ok(h.r));
        assert_int_equal(plcio_shm_reader_generation(h.r), 2);
    } else {
        cJSON *doc = cJSON_Parse(h.json);
        assert_non_null(doc); /* a torn copy mixes two texts */
        cJSON *tags = cJSON_GetObjectItem(doc, "tags");
        double gen = cJSON_GetNumberValue(cJSON_GetObjectItem(doc, "generation"));
        double c = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Counter"), "value"));
        double v = cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(tags, "Value"), "value"));
        cJSON_Delete(doc);
        if (gen != 2 || c != 2 || v != 2)
            fail_msg("JSON copy: generation %g, Counter %g, Value %g (want 2)", gen, c, v);
    }
    assert_int_equal(calls, 2);
    plcio_shm_reader_free(h.r);
    plcio_shm_writer_free(w);
    sem_destroy(&h.reader_in);
    sem_destroy(&h.writer_paused);
    sem_destroy(&h.reader_again);
}

static void test_seqlock_stopped_writer_snapshot(void **state)
{
    (void)state;
    seqlock_stopped_writer(SHM_HOOK_SNAPSHOT);
}

static void test_seqlock_stopped_writer_json(void **state)
{
    (void)state;
    seqlock_stopped_writer(SHM_HOOK_JSON);
}

/* ---- seqlock, free-running: a race long and wide enough to lose ----
 * Two 16 KiB WSTRINGs between two counters; writer and reader run freely,
 * steered by the test hooks towards the one interleaving a seqlock exists
 * for: the writer lingers (up to 50 us) halfway through each write, and the
 * reader, every other attempt, waits after its first sequence word until the
 * writer has published once more and is lingering inside the next write,
 * i.e. inside the very buffer the reader is about to copy. Without the odd
 * marker the reader keeps torn copies within the first few hundred
 * attempts; with it, every such copy is retried. Bounded by a copy count and
 * 8 s; passing never depends on speed (the assertion is "no torn copy
 * kept"), only how many overlaps are produced does. */
#define WIDE_UNITS 8000u

static const plcio_shm_tag_def wide_defs[] = {
    {"Head", PLCIO_TYPE_UDINT, 0, 0, false},
    {"A", PLCIO_TYPE_WSTRING, WIDE_UNITS, 0, false},
    {"B", PLCIO_TYPE_WSTRING, WIDE_UNITS, 0, false},
    {"Tail", PLCIO_TYPE_UDINT, 0, 0, false},
};

typedef struct race_ctx {
    plcio_shm_writer *w;
    atomic_bool stop;
    atomic_ulong published;
    uint8_t *fill; /* 4 + 2 * WIDE_UNITS bytes */
    unsigned hook_calls;
    atomic_bool lingering; /* the writer is halfway through a write */
    atomic_ulong overlaps; /* reader attempts started inside a write */
} race_ctx;

static void wide_stage(race_ctx *c, uint32_t n)
{
    uint8_t b[4];
    plcio_put_u32be(b, n);
    plcio_shm_writer_set(c->w, 0, b, 4, 0, NULL);
    plcio_shm_writer_set(c->w, 3, b, 4, 0, NULL);
    plcio_put_u16be(c->fill, WIDE_UNITS);
    plcio_put_u16be(c->fill + 2, WIDE_UNITS);
    for (size_t i = 0; i < WIDE_UNITS; i++)
        plcio_put_u16be(c->fill + 4 + 2 * i, (uint16_t)(0x41 + n % 26));
    plcio_shm_writer_set(c->w, 1, c->fill, 4 + 2 * WIDE_UNITS, 0, NULL);
    plcio_shm_writer_set(c->w, 2, c->fill, 4 + 2 * WIDE_UNITS, 0, NULL);
}

static void *race_writer(void *p)
{
    race_ctx *c = p;
    for (uint32_t n = 1; !atomic_load(&c->stop); n++) {
        wide_stage(c, n);
        plcio_shm_writer_publish(c->w, NULL);
        atomic_store(&c->published, n);
    }
    return NULL;
}

static void race_writer_hook(void *p, int where)
{
    race_ctx *c = p;
    (void)where;
    atomic_store(&c->lingering, true);
    uint64_t end = plcio_monotonic_ns() + 50000; /* 50 us */
    while (plcio_monotonic_ns() < end && !atomic_load(&c->stop))
        sched_yield();
    atomic_store(&c->lingering, false);
}

static void race_reader_hook(void *p, int where)
{
    race_ctx *c = p;
    (void)where;
    if (++c->hook_calls & 1u) return; /* every other attempt: the retry must be able to succeed */
    unsigned long at = atomic_load(&c->published);
    for (int spin = 0; spin < 20000 && !atomic_load(&c->stop); spin++) {
        if (atomic_load(&c->published) != at && atomic_load(&c->lingering)) {
            atomic_fetch_add(&c->overlaps, 1);
            return;
        }
        if (spin > 100) sched_yield();
    }
}

static bool wide_ok(plcio_shm_reader *r)
{
    plcio_shm_value h, t, a, b;
    plcio_shm_reader_get(r, 0, &h);
    plcio_shm_reader_get(r, 3, &t);
    plcio_shm_reader_get(r, 1, &a);
    plcio_shm_reader_get(r, 2, &b);
    uint32_t n = plcio_get_u32be(h.raw);
    if (n == 0) return plcio_get_u32be(t.raw) == 0;
    if (plcio_get_u32be(t.raw) != n) return false;
    uint16_t unit = (uint16_t)(0x41 + n % 26);
    for (size_t i = 0; i < WIDE_UNITS; i++)
        if (plcio_get_u16be(a.raw + 4 + 2 * i) != unit || plcio_get_u16be(b.raw + 4 + 2 * i) != unit) return false;
    return true;
}

static void test_torn_race(void **state)
{
    (void)state;
    race_ctx c;
    memset(&c, 0, sizeof c);
    c.fill = malloc(4 + 2 * WIDE_UNITS);
    plcio_shm_options o = {.no_json = true};
    plcio_error msg = {0};
    if (plcio_shm_writer_new(seg_name, wide_defs, 4, &o, &c.w, &msg) != PLCIO_OK) fail_msg("%s", msg.text);
    plcio_shm_reader *r = NULL;
    assert_int_equal(plcio_shm_reader_new(seg_name, &r, NULL), PLCIO_OK);
    shm_reader_set_test_hook(r, race_reader_hook, &c);
    shm_writer_set_test_hook(c.w, race_writer_hook, &c);
    pthread_t th;
    pthread_create(&th, NULL, race_writer, &c);
    unsigned long copies = 0, torn = 0;
    uint64_t end = plcio_monotonic_ns() + 8 * PLCIO_NS_PER_S;
    while (copies < 20000 && plcio_monotonic_ns() < end) {
        if (plcio_shm_reader_refresh(r) != PLCIO_OK) continue;
        copies++;
        if (!wide_ok(r)) torn++;
    }
    atomic_store(&c.stop, true);
    pthread_join(th, NULL);
    print_message("torn race: %lu publishes, %lu copies checked, %lu reader attempts began inside a write, %lu torn "
                  "copies kept\n",
                  atomic_load(&c.published), copies, atomic_load(&c.overlaps), torn);
    assert_true(copies > 0);
    assert_int_equal(torn, 0);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(c.w);
    free(c.fill);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_corrupt_header_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_ring_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_to_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_to_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_next_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answer_after_replacement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_truncated_to_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_truncated_to_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_truncated_under_waiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answer_after_ring_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seqlock_stopped_writer_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seqlock_stopped_writer_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_race, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
