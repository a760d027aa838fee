/* bench_shm: the read side of the shared-memory segment (issue 7, "snapshot
 * read latency"), with an engine thread publishing at 1 kHz meanwhile:
 *   - consistent snapshot copy (plcio_shm_reader_refresh) against the floor,
 *     a plain memcpy of the same bytes from the same mapping: ratio printed;
 *   - one tag by name, decoded to its value text;
 *   - the JSON rendition copy;
 *   - publish -> wake-up latency of a reader sleeping in plcio_shm_reader_wait;
 *   - a write's round trip through the ring (the engine side answers at once:
 *     what the ring costs, without a device);
 *   - the Python reader (python/plcio) on the same segment, when python3 is
 *     there: bench/shm_python.py prints its own figures.
 * usage: bench_shm [SECONDS_PER_CASE]  (default 1) */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "plcio/bytes.h"
#include "plcio/core.h"
#include "plcio/shm.h"

/* The two header fields the memcpy floor needs, as docs/shm.md gives them (a
 * reader in any language works from that page; so does this benchmark). */
enum { HEADER_SNAP_OFFSET = 104, HEADER_SNAP_STRIDE = 108 };

static uint32_t header_u32(const uint8_t *seg, size_t off)
{
    uint32_t v;
    memcpy(&v, seg + off, sizeof v);
    return v;
}

typedef struct engine {
    plcio_shm_writer *w;
    size_t tags;
    unsigned rate_hz;
    atomic_bool stop;
    uint64_t publishes;
} engine;

static void *engine_main(void *arg)
{
    engine *e = arg;
    uint64_t next = plcio_monotonic_ns(), n = 0;
    uint64_t period = PLCIO_NS_PER_S / e->rate_hz;
    while (!atomic_load(&e->stop)) {
        /* A realistic cycle: a hundred tags change, all are read. */
        for (size_t k = 0; k < 100 && k < e->tags; k++) {
            uint8_t raw[4];
            plcio_put_f32be(raw, (float)(n + k));
            plcio_shm_writer_set(e->w, (n * 100 + k) % e->tags, raw, 4, 0, NULL);
        }
        plcio_shm_writer_publish(e->w, NULL);
        plcio_shm_write_request req;
        while (plcio_shm_writer_next_write(e->w, &req) == PLCIO_OK)
            plcio_shm_writer_complete(e->w, req.slot, PLCIO_OK, NULL);
        n++;
        next += period;
        uint64_t now = plcio_monotonic_ns();
        if (next > now) {
            struct timespec ts = {(time_t)((next - now) / PLCIO_NS_PER_S), (long)((next - now) % PLCIO_NS_PER_S)};
            nanosleep(&ts, NULL);
        } else {
            next = now;
        }
    }
    e->publishes = n;
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct series {
    uint64_t *v;
    size_t n, cap;
} series;

static void add(series *s, uint64_t ns)
{
    if (s->n < s->cap) s->v[s->n++] = ns;
}

static double avg_us(const series *s)
{
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double)s->v[i];
    return s->n ? sum / (double)s->n / 1e3 : 0;
}

static void print(const char *what, series *s)
{
    if (!s->n) {
        printf("  %-44s no samples\n", what);
        return;
    }
    double avg = avg_us(s);
    qsort(s->v, s->n, sizeof *s->v, cmp_u64);
    size_t p50 = s->n / 2, p99 = s->n * 99 / 100;
    printf("  %-44s avg %8.2f us  p50 %8.2f  p99 %8.2f  max %9.2f  (%zu samples)\n", what, avg, (double)s->v[p50] / 1e3,
           (double)s->v[p99] / 1e3, (double)s->v[s->n - 1] / 1e3, s->n);
}

/* Map the segment read-only next to the reader, for the memcpy floor. */
static const uint8_t *map_segment(const char *name, size_t size)
{
    int fd = shm_open(name, O_RDONLY, 0);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    /* cppcheck-suppress memleak ; the mapping is returned (MAP_FAILED is no mapping) */
    return p == MAP_FAILED ? NULL : p;
}

static int make_segment(const char *name, size_t tags, plcio_shm_writer **w)
{
    plcio_shm_tag_def *defs = calloc(tags, sizeof *defs);
    char(*names)[32] = calloc(tags, sizeof *names);
    if (!defs || !names) {
        free(defs);
        free(names);
        return PLCIO_ENOMEM;
    }
    for (size_t i = 0; i < tags; i++) {
        snprintf(names[i], sizeof names[i], "Tag%05zu", i);
        defs[i].name = names[i];
        defs[i].type = PLCIO_TYPE_REAL;
        defs[i].writable = true;
    }
    plcio_error msg = {0};
    int rc = plcio_shm_writer_new(name, defs, tags, NULL, w, &msg);
    if (rc != PLCIO_OK) fprintf(stderr, "bench_shm: %s: %s\n", name, msg.text);
    free(defs);
    free(names);
    if (rc == PLCIO_OK) {
        for (size_t i = 0; i < tags; i++) {
            uint8_t raw[4];
            plcio_put_f32be(raw, (float)i);
            plcio_shm_writer_set(*w, i, raw, 4, 0, NULL);
        }
        plcio_shm_writer_publish(*w, NULL);
    }
    return rc;
}

typedef uint64_t (*sample_fn)(plcio_shm_reader *r, void *ctx);

static void run_case(const char *what, plcio_shm_reader *r, double seconds, sample_fn fn, void *ctx)
{
    series s = {calloc(2000000, sizeof(uint64_t)), 0, 2000000};
    uint64_t end = plcio_monotonic_ns() + (uint64_t)(seconds * 1e9);
    while (plcio_monotonic_ns() < end && s.n < s.cap)
        add(&s, fn(r, ctx));
    print(what, &s);
    free(s.v);
}

static uint64_t s_refresh(plcio_shm_reader *r, void *ctx)
{
    (void)ctx;
    uint64_t t0 = plcio_monotonic_ns();
    int rc = plcio_shm_reader_refresh(r);
    uint64_t t1 = plcio_monotonic_ns();
    if (rc != PLCIO_OK) fprintf(stderr, "refresh: %s\n", plcio_strerror(rc));
    return t1 - t0;
}

typedef struct floor_ctx {
    const uint8_t *src;
    uint8_t *dst;
    size_t len;
} floor_ctx;

static uint64_t s_memcpy(plcio_shm_reader *r, void *ctx)
{
    (void)r;
    floor_ctx *f = ctx;
    uint64_t t0 = plcio_monotonic_ns();
    memcpy(f->dst, f->src, f->len);
    __asm__ volatile("" ::"r"(f->dst) : "memory");
    return plcio_monotonic_ns() - t0;
}

static uint64_t s_get(plcio_shm_reader *r, void *ctx)
{
    const char *name = ctx;
    plcio_shm_value v;
    uint64_t t0 = plcio_monotonic_ns();
    plcio_shm_reader_get_by_name(r, name, &v);
    return plcio_monotonic_ns() - t0;
}

static uint64_t s_json(plcio_shm_reader *r, void *ctx)
{
    (void)ctx;
    const char *json;
    size_t len;
    uint64_t t0 = plcio_monotonic_ns();
    plcio_shm_reader_json(r, &json, &len);
    return plcio_monotonic_ns() - t0;
}

static uint64_t s_wake(plcio_shm_reader *r, void *ctx)
{
    (void)ctx;
    uint64_t gen = 0;
    plcio_shm_reader_refresh(r);
    if (plcio_shm_reader_wait(r, plcio_shm_reader_generation(r), 1000, &gen) != PLCIO_OK) return 0;
    uint64_t now = plcio_realtime_ns();
    plcio_shm_reader_refresh(r);
    uint64_t pub = plcio_shm_reader_published_ns(r);
    return now > pub ? now - pub : 0;
}

static uint64_t s_write(plcio_shm_reader *r, void *ctx)
{
    const char *name = ctx;
    plcio_shm_write_result res;
    uint64_t t0 = plcio_monotonic_ns();
    int rc = plcio_shm_reader_write(r, name, "1.5", 1000, &res);
    uint64_t t1 = plcio_monotonic_ns();
    if (rc != PLCIO_OK || res.state != PLCIO_SHM_WRITE_DONE) fprintf(stderr, "write: %s\n", plcio_strerror(rc));
    return t1 - t0;
}

static void python_case(const char *name, size_t tags, double seconds)
{
    char script[512], cmd[1200];
    snprintf(script, sizeof script, "%s/bench/shm_python.py", PLCIO_SOURCE_DIR);
    if (access(script, R_OK) != 0 || access("/usr/bin/python3", X_OK) != 0) {
        printf("  python reader: skipped (%s or /usr/bin/python3 missing)\n", script);
        return;
    }
    snprintf(cmd, sizeof cmd, "PYTHONPATH=%s/python /usr/bin/python3 %s %s --seconds %g --tags %zu 2>&1",
             PLCIO_SOURCE_DIR, script, name, seconds, tags);
    fflush(stdout);
    if (system(cmd) != 0) printf("  python reader: failed\n");
}

static int bench_tags(size_t tags, double seconds)
{
    char name[64];
    snprintf(name, sizeof name, "/plcio-bench-shm-%ld", (long)getpid());
    engine e;
    memset(&e, 0, sizeof e);
    e.tags = tags;
    e.rate_hz = 1000;
    if (make_segment(name, tags, &e.w) != PLCIO_OK) return 1;
    plcio_shm_reader *r = NULL;
    plcio_error msg = {0};
    if (plcio_shm_reader_new(name, &r, &msg) != PLCIO_OK) {
        fprintf(stderr, "bench_shm: open: %s\n", msg.text);
        plcio_shm_writer_free(e.w);
        return 1;
    }
    plcio_shm_status st;
    plcio_shm_reader_status(r, &st);
    pthread_t th;
    pthread_create(&th, NULL, engine_main, &e);
    printf("-- %zu REAL tags (%u image bytes, segment %llu bytes), engine publishing at %u Hz\n", tags, st.image_size,
           (unsigned long long)st.segment_size, e.rate_hz);

    series base = {calloc(2000000, sizeof(uint64_t)), 0, 2000000},
           ours = {calloc(2000000, sizeof(uint64_t)), 0, 2000000};
    /* The floor: memcpy of one snapshot buffer out of the same mapping (what
     * the seqlock copy does, minus the protocol). Interleaved with the real
     * copy so both see the same load. */
    const uint8_t *seg = map_segment(name, (size_t)st.segment_size);
    if (!seg) {
        fprintf(stderr, "bench_shm: cannot map %s\n", name);
        exit(1);
    }
    uint32_t stride = header_u32(seg, HEADER_SNAP_STRIDE);
    floor_ctx f = {seg + header_u32(seg, HEADER_SNAP_OFFSET), malloc(stride), stride};
    uint64_t end = plcio_monotonic_ns() + (uint64_t)(seconds * 1e9);
    while (plcio_monotonic_ns() < end && ours.n < ours.cap) {
        add(&ours, s_refresh(r, NULL));
        add(&base, s_memcpy(r, &f));
    }
    double a_ours = avg_us(&ours), a_base = avg_us(&base);
    print("snapshot copy (plcio_shm_reader_refresh)", &ours);
    print("floor: memcpy of the same byte count", &base);
    printf("  ratio snapshot copy / memcpy floor: %.2fx\n", a_base > 0 ? a_ours / a_base : 0);
    free(ours.v);
    free(base.v);
    free(f.dst);
    munmap((void *)seg, (size_t)st.segment_size);

    char tag[32];
    snprintf(tag, sizeof tag, "Tag%05zu", tags / 2);
    run_case("one tag by name, decoded (get_by_name)", r, seconds / 2, s_get, tag);
    run_case("JSON rendition copy", r, seconds / 2, s_json, NULL);
    run_case("publish -> wake-up of a waiting reader", r, seconds, s_wake, NULL);
    run_case("write round trip through the ring", r, seconds, s_write, tag);
    python_case(name, tags, seconds);

    atomic_store(&e.stop, true);
    pthread_join(th, NULL);
    plcio_shm_reader_free(r);
    plcio_shm_writer_free(e.w);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    if (!(seconds > 0)) seconds = 1.0;
    int status = 0;
    static const size_t sizes[] = {10, 1000, 10000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        status |= bench_tags(sizes[i], seconds);
    return status;
}
