/* The readers' side of the shared-memory segment: attach with full
 * validation, consistent snapshot copies (seqlock, see shm_writer.c for the
 * memory ordering), waiting for updates, JSON, and writes by name through the
 * write-request ring (a separate object, shm_ring.c; opened on the first write
 * and only if this process may write it: the data segment is mapped
 * read-only).
 *
 * Nothing read from the segment is trusted: the header and the directory are
 * validated once at open and copied into the handle; afterwards only the
 * handle's copies decide offsets and lengths, and every index or length read
 * later from shared memory (latest buffer, JSON length, slot fields) is
 * range-checked before use.
 *
 * Nothing read from the segment can kill the reader either: every read goes
 * through pread() on the segment's fd, which returns short on an object
 * someone truncated (PLCIO_ECLOSED) where a load from the mapping would raise
 * SIGBUS. The data mapping (read-only) is used only for futex waits (the
 * kernel answers EFAULT, never a signal). The write ring's mapping is touched
 * by shm_ring.c only after a size check of the ring object (docs/shm.md,
 * "Robustness", says what window remains). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/value.h"
#include "shm/shm_internal.h"
#include "shm/shm_ring.h"
#include "tag/tag_internal.h"
#include "core/error.h"

#define READ_RETRIES      10000
#define LIVENESS_SLICE_MS 100

struct plcio_shm_reader {
    char name[208];
    int fd;
    uint8_t *base;
    size_t map_size;
    shm_geometry g;
    uint64_t layout_hash;
    shm_tag *tags;
    size_t *order;
    uint8_t *copy; /* private snapshot copy (snap_stride bytes) */
    char *text;    /* value text of the last _get */
    size_t text_cap;
    char *json; /* private JSON copy */
    uint64_t ring_key;
    shm_ring_client *ring; /* NULL until the first write */
    char write_error[PLCIO_SHM_MSG_MAX];
    shm_test_hook hook;
    void *hook_ctx;
};

/* ---------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------- */

static uint32_t hdr32(const uint8_t *b, size_t off)
{
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}

static uint64_t hdr64(const uint8_t *b, size_t off)
{
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

static int check_identity(const uint8_t *b, char *msg, size_t cap)
{
    static const uint8_t zero[8];
    if (!memcmp(b + SHM_H_MAGIC, zero, 8)) {
        shm_msg(msg, cap, "segment is being initialised");
        return PLCIO_EAGAIN;
    }
    if (memcmp(b + SHM_H_MAGIC, SHM_MAGIC, 8) != 0) {
        shm_msg(msg, cap, "not a plcio segment (bad magic)");
        return PLCIO_EPROTO;
    }
    uint32_t state = hdr32(b, SHM_H_STATE);
    if (state == SHM_STATE_INIT) {
        shm_msg(msg, cap, "segment is being initialised");
        return PLCIO_EAGAIN;
    }
    if (state == SHM_STATE_CLOSED) {
        shm_msg(msg, cap, "segment was closed by its engine");
        return PLCIO_ECLOSED;
    }
    if (state != SHM_STATE_READY) {
        shm_msg(msg, cap, "bad segment state %u", (unsigned)state);
        return PLCIO_EPROTO;
    }
    if (hdr32(b, SHM_H_VERSION) != SHM_VERSION) {
        shm_msg(msg, cap,
                "segment format version %u, this library reads %u (engine and reader come from "
                "different plcio releases: use the same one)",
                (unsigned)hdr32(b, SHM_H_VERSION), SHM_VERSION);
        return PLCIO_EUNSUPPORTED;
    }
    if (hdr32(b, SHM_H_ENDIAN) != SHM_ENDIAN || hdr32(b, SHM_H_HEADER_SIZE) != SHM_HEADER_SIZE ||
        hdr32(b, SHM_H_DIR_ENTRY_SIZE) != SHM_DIR_ENTRY_SIZE || hdr32(b, SHM_H_TAGSTATE_SIZE) != SHM_TAGSTATE_SIZE ||
        hdr32(b, SHM_H_SNAP_COUNT) != SHM_SNAP_BUFFERS) {
        shm_msg(msg, cap, "header constants (byte order, entry sizes, buffer count) are wrong");
        return PLCIO_EPROTO;
    }
    return PLCIO_OK;
}

static bool aligned8(uint64_t v) { return (v & 7u) == 0; }

/* Sections must follow each other in order and stay inside the mapping. */
static int check_geometry(const uint8_t *b, size_t size, shm_geometry *g, char *msg, size_t cap)
{
    g->tag_count = hdr32(b, SHM_H_TAG_COUNT);
    g->image_size = hdr32(b, SHM_H_IMAGE_SIZE);
    g->dir_offset = hdr32(b, SHM_H_DIR_OFFSET);
    g->snap_offset = hdr32(b, SHM_H_SNAP_OFFSET);
    g->snap_stride = hdr32(b, SHM_H_SNAP_STRIDE);
    g->json_count = hdr32(b, SHM_H_JSON_COUNT);
    g->json_offset = hdr32(b, SHM_H_JSON_OFFSET);
    g->json_stride = hdr32(b, SHM_H_JSON_STRIDE);
    g->ring_slots = hdr32(b, SHM_H_RING_SLOTS);
    g->total_size = hdr64(b, SHM_H_TOTAL_SIZE);
    const char *what = NULL;
    uint64_t dir_end = (uint64_t)g->dir_offset + (uint64_t)g->tag_count * SHM_DIR_ENTRY_SIZE;
    uint64_t state_end = (uint64_t)SHM_S_HEAD + shm_align8(g->image_size) + (uint64_t)g->tag_count * SHM_TAGSTATE_SIZE;
    uint64_t snap_end = (uint64_t)g->snap_offset + (uint64_t)SHM_SNAP_BUFFERS * g->snap_stride;
    uint64_t json_end = (uint64_t)g->json_offset + (uint64_t)g->json_count * g->json_stride;
    if (g->total_size > size || g->total_size < SHM_HEADER_SIZE)
        what = "total size disagrees with the object size";
    else if (g->image_size > SHM_MAX_SEGMENT)
        what = "value image size out of range";
    else if (g->dir_offset < SHM_HEADER_SIZE || !aligned8(g->dir_offset) || dir_end > g->snap_offset)
        what = "tag directory overlaps the header or the snapshots";
    else if (!aligned8(g->snap_offset) || !aligned8(g->snap_stride) || g->snap_stride < state_end)
        what = "snapshot buffer too small for the image and tag states";
    else if (g->json_count != 0 && g->json_count != SHM_JSON_BUFFERS)
        what = "bad JSON buffer count";
    else if (g->json_count && (g->json_offset < snap_end || !aligned8(g->json_offset) || !aligned8(g->json_stride) ||
                               g->json_stride <= SHM_J_HEAD))
        what = "JSON buffers misplaced";
    else if (g->ring_slots > 65536)
        what = "write ring slot count out of range";
    else if (snap_end > g->total_size || json_end > g->total_size)
        what = "a section ends beyond the segment";
    if (what) {
        shm_msg(msg, cap, "corrupt segment: %s", what);
        return PLCIO_EPROTO;
    }
    return PLCIO_OK;
}

static int load_entries(plcio_shm_reader *r, const uint8_t *head, const uint8_t *dir, char *msg, size_t cap)
{
    size_t dir_bytes = (size_t)r->g.tag_count * SHM_DIR_ENTRY_SIZE;
    r->layout_hash = hdr64(head, SHM_H_LAYOUT_HASH);
    if (shm_fnv1a64(dir, dir_bytes) != r->layout_hash) {
        shm_msg(msg, cap, "corrupt segment: tag directory does not match the layout hash");
        return PLCIO_EPROTO;
    }
    r->tags = calloc(r->g.tag_count ? r->g.tag_count : 1, sizeof *r->tags);
    if (!r->tags) return PLCIO_ENOMEM;
    size_t text_cap = PLCIO_VALUE_INLINE_TEXT;
    for (size_t i = 0; i < r->g.tag_count; i++) {
        char why[200];
        int rc = shm_tag_load(dir + i * SHM_DIR_ENTRY_SIZE, r->g.image_size, &r->tags[i], why, sizeof why);
        if (rc != PLCIO_OK) {
            shm_msg(msg, cap, "corrupt segment: directory entry %zu: %s", i, why);
            return rc;
        }
        size_t tb = shm_value_text_bound(&r->tags[i]);
        if (tb > text_cap) text_cap = tb;
    }
    r->order = shm_name_index_new(r->tags, r->g.tag_count);
    r->text_cap = text_cap;
    r->text = malloc(text_cap);
    r->copy = calloc(1, r->g.snap_stride);
    r->json = r->g.json_count ? malloc(r->g.json_stride) : NULL;
    if (!r->order || !r->text || !r->copy || (r->g.json_count && !r->json)) return PLCIO_ENOMEM;
    return PLCIO_OK;
}

static int load_directory(plcio_shm_reader *r, const uint8_t *head, char *msg, size_t cap)
{
    size_t dir_bytes = (size_t)r->g.tag_count * SHM_DIR_ENTRY_SIZE;
    uint8_t *dir = malloc(dir_bytes ? dir_bytes : 1);
    if (!dir) return PLCIO_ENOMEM;
    int rc = shm_read_at(r->fd, r->g.dir_offset, dir, dir_bytes);
    if (rc == PLCIO_OK)
        rc = load_entries(r, head, dir, msg, cap);
    else
        shm_msg(msg, cap, "shared memory %s: %s", r->name,
                rc == PLCIO_ECLOSED ? "truncated while opening" : "read error");
    free(dir);
    return rc;
}
static int map_segment(plcio_shm_reader *r, const char *name, char *msg, size_t cap)
{
    /* Read-only even when the mode would allow more: a reader never changes the image. */
    r->fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
    if (r->fd < 0) {
        int e = errno;
        shm_msg(msg, cap, "shared memory %s: %s", name, strerror(e));
        return shm_errno_to_plcio(e);
    }
    struct stat st;
    if (fstat(r->fd, &st) != 0) return PLCIO_EIO;
    if (st.st_size < (off_t)SHM_HEADER_SIZE) {
        shm_msg(msg, cap, "shared memory %s: %s", name, st.st_size ? "too small for a header" : "being initialised");
        return st.st_size ? PLCIO_EPROTO : PLCIO_EAGAIN;
    }
    r->map_size = (size_t)st.st_size;
    void *p = mmap(NULL, r->map_size, PROT_READ, MAP_SHARED, r->fd, 0);
    if (p == MAP_FAILED) {
        r->map_size = 0;
        shm_msg(msg, cap, "mmap %s: %s", name, strerror(errno));
        return PLCIO_ENOMEM;
    }
    r->base = p;
    return PLCIO_OK;
}

int shm_reader_open_buf(const char *name, plcio_shm_reader **out, char *msg, size_t msg_cap)
{
    if (!out) return PLCIO_EINVAL;
    *out = NULL;
    if (!shm_name_valid(name)) {
        shm_msg(msg, msg_cap, "bad shared memory name '%s' (want /NAME)", name ? name : "");
        return PLCIO_EINVAL;
    }
    plcio_shm_reader *r = calloc(1, sizeof *r);
    if (!r) return PLCIO_ENOMEM;
    r->fd = -1;
    snprintf(r->name, sizeof r->name, "%s", name);
    int rc = map_segment(r, name, msg, msg_cap);
    /* Validated from a private copy: no other process can change it between
     * the checks, and a truncation cannot fault a read. */
    uint8_t head[SHM_HEADER_SIZE];
    if (rc == PLCIO_OK) {
        rc = shm_read_at(r->fd, 0, head, sizeof head);
        if (rc != PLCIO_OK)
            shm_msg(msg, msg_cap, "shared memory %s: %s", name,
                    rc == PLCIO_ECLOSED ? "truncated while opening" : "read error");
    }
    if (rc == PLCIO_OK) rc = check_identity(head, msg, msg_cap);
    if (rc == PLCIO_OK) rc = check_geometry(head, r->map_size, &r->g, msg, msg_cap);
    if (rc == PLCIO_OK) rc = load_directory(r, head, msg, msg_cap);
    if (rc == PLCIO_OK) {
        rc = plcio_shm_reader_refresh(r);
        if (rc != PLCIO_OK) shm_msg(msg, msg_cap, "cannot copy a snapshot: %s", plcio_strerror(rc));
    }
    if (rc != PLCIO_OK) {
        if (rc == PLCIO_ENOMEM) shm_msg(msg, msg_cap, "out of memory");
        plcio_shm_reader_free(r);
        return rc;
    }
    r->ring_key = hdr64(head, SHM_H_RING_KEY);
    *out = r;
    return PLCIO_OK;
}

void plcio_shm_reader_free(plcio_shm_reader *r)
{
    if (!r) return;
    if (r->base) munmap(r->base, r->map_size);
    if (r->fd >= 0) close(r->fd);
    shm_ring_client_free(r->ring);
    free(r->tags);
    free(r->order);
    free(r->copy);
    free(r->text);
    free(r->json);
    free(r);
}

/* ---------------------------------------------------------------------------
 * Directory and status
 * ------------------------------------------------------------------------- */

size_t plcio_shm_reader_tag_count(const plcio_shm_reader *r) { return r ? r->g.tag_count : 0; }

int plcio_shm_reader_tag_info(const plcio_shm_reader *r, size_t index, plcio_shm_tag_info *out)
{
    if (!r || !out || index >= r->g.tag_count) return PLCIO_EINVAL;
    const shm_tag *t = &r->tags[index];
    *out = (plcio_shm_tag_info){t->name, t->type, t->length, t->bit, t->offset, t->size, t->writable};
    return PLCIO_OK;
}

int plcio_shm_reader_find(const plcio_shm_reader *r, const char *name, size_t *index)
{
    if (!r) return PLCIO_EINVAL;
    return shm_name_index_find(r->tags, r->order, r->g.tag_count, name, index);
}

/* Closed by the engine, or the name was unlinked (engine replaced), or the
 * object was truncated (the engine moves to a new one). */
static bool segment_closed(const plcio_shm_reader *r)
{
    struct stat st;
    if (fstat(r->fd, &st) != 0 || st.st_nlink == 0 || (uint64_t)st.st_size < r->g.total_size) return true;
    uint32_t state = 0;
    return shm_read_at(r->fd, SHM_H_STATE, &state, 4) != PLCIO_OK || state != SHM_STATE_READY;
}

static bool engine_alive(const plcio_shm_reader *r) { return shm_locked_elsewhere(r->fd, 0, 1); }

int plcio_shm_reader_status(plcio_shm_reader *r, plcio_shm_status *out)
{
    if (!r || !out) return PLCIO_EINVAL;
    uint8_t head[SHM_HEADER_SIZE] = {0}; /* a truncated object reads as zeros here, and as closed */
    bool readable = shm_read_at(r->fd, 0, head, sizeof head) == PLCIO_OK;
    uint64_t hb = hdr64(head, SHM_H_HEARTBEAT_MONO);
    uint64_t now = plcio_monotonic_ns();
    *out = (plcio_shm_status){
        .version = SHM_VERSION,
        .layout_hash = r->layout_hash,
        .engine_pid = hdr32(head, SHM_H_ENGINE_PID),
        .engine_alive = engine_alive(r),
        .closed = !readable || segment_closed(r),
        .heartbeat_age_ns = now > hb ? now - hb : 0,
        .generation = hdr64(head, SHM_H_GENERATION),
        .created_real_ns = hdr64(head, SHM_H_CREATED_NS),
        .tag_count = r->g.tag_count,
        .image_size = r->g.image_size,
        .write_slots = r->g.ring_slots,
        .segment_size = r->g.total_size,
    };
    return PLCIO_OK;
}

/* ---------------------------------------------------------------------------
 * Snapshots
 * ------------------------------------------------------------------------- */

int plcio_shm_reader_wait(plcio_shm_reader *r, uint64_t after, int timeout_ms, uint64_t *generation)
{
    if (!r) return PLCIO_EINVAL;
    uint64_t start = plcio_monotonic_ns();
    _Atomic uint32_t *useq = SHM_A32(r->base, SHM_H_UPDATE_SEQ);
    for (;;) {
        uint32_t seq = 0;
        uint64_t gen = 0;
        /* update_seq before the generation (two reads, in this order): a
         * publish after the check changes update_seq and the futex returns. */
        if (shm_read_at(r->fd, SHM_H_UPDATE_SEQ, &seq, 4) != PLCIO_OK) return PLCIO_ECLOSED;
        atomic_thread_fence(memory_order_acquire);
        if (shm_read_at(r->fd, SHM_H_GENERATION, &gen, 8) != PLCIO_OK) return PLCIO_ECLOSED;
        if (gen > after) {
            if (generation) *generation = gen;
            return PLCIO_OK;
        }
        if (segment_closed(r) || !engine_alive(r)) return PLCIO_ECLOSED;
        int slice = LIVENESS_SLICE_MS;
        if (timeout_ms >= 0) {
            uint64_t waited_ms = (plcio_monotonic_ns() - start) / PLCIO_NS_PER_MS;
            if (waited_ms >= (uint64_t)timeout_ms) return PLCIO_ETIMEDOUT;
            if ((uint64_t)timeout_ms - waited_ms < (uint64_t)slice) slice = (int)((uint64_t)timeout_ms - waited_ms);
        }
        /* The engine wakes on every publish (it cannot know read-only
         * sleepers, and a reader stores nothing). The futex only reads the
         * word: on a truncated object the kernel answers EFAULT, no signal. */
        shm_futex_wait(useq, seq, slice);
    }
}

/* Seqlock read of the buffer at `off` (`len` bytes, sequence word first)
 * into dst; see shm_writer.c for the protocol. The three reads are pread()
 * calls, in this order, with acquire fences between them: the sequence word
 * (s1), the whole buffer (holding the word again), the word once more (s2).
 * The copy is one publication when s1 is even and all three agree; requiring
 * the middle one too means a read the kernel split into smaller loads (it
 * gives no single-copy guarantee for 8 bytes) cannot pass as a stable value.
 * PLCIO_OK, PLCIO_EAGAIN (a write overlapped: retry), PLCIO_ECLOSED (the
 * object was truncated), PLCIO_EIO. */
static int seq_read(plcio_shm_reader *r, uint64_t off, uint8_t *dst, size_t len, int where)
{
    uint64_t s1 = 0, mid, s2 = 0;
    int rc = shm_read_at(r->fd, off, &s1, 8);
    if (rc != PLCIO_OK) return rc;
    if (s1 & 1u) return PLCIO_EAGAIN;
    atomic_thread_fence(memory_order_acquire);
    if (r->hook) r->hook(r->hook_ctx, where);
    rc = shm_read_at(r->fd, off, dst, len);
    if (rc != PLCIO_OK) return rc;
    atomic_thread_fence(memory_order_acquire);
    rc = shm_read_at(r->fd, off, &s2, 8);
    if (rc != PLCIO_OK) return rc;
    memcpy(&mid, dst, 8);
    return s1 == mid && s1 == s2 ? PLCIO_OK : PLCIO_EAGAIN;
}

int plcio_shm_reader_refresh(plcio_shm_reader *r)
{
    if (!r) return PLCIO_EINVAL;
    for (int attempt = 0; attempt < READ_RETRIES; attempt++) {
        uint32_t idx = 0;
        int rc = shm_read_at(r->fd, SHM_H_SNAP_LATEST, &idx, 4);
        if (rc != PLCIO_OK) return rc;
        if (idx >= SHM_SNAP_BUFFERS) return PLCIO_EPROTO;
        rc = seq_read(r, r->g.snap_offset + (uint64_t)idx * r->g.snap_stride, r->copy, r->g.snap_stride,
                      SHM_HOOK_SNAPSHOT);
        if (rc != PLCIO_EAGAIN) return rc;
        if (attempt > 16) sched_yield();
    }
    return PLCIO_EAGAIN;
}

void shm_reader_set_test_hook(plcio_shm_reader *r, shm_test_hook hook, void *ctx)
{
    r->hook = hook;
    r->hook_ctx = ctx;
}

uint64_t plcio_shm_reader_generation(const plcio_shm_reader *r) { return r ? hdr64(r->copy, SHM_S_GENERATION) : 0; }

uint64_t plcio_shm_reader_published_ns(const plcio_shm_reader *r)
{
    return r ? hdr64(r->copy, SHM_S_PUBLISHED_REAL) : 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void numeric_views(const plcio_value *v, plcio_shm_value *out)
{
    const plcio_datetime *dt = &v->v.dt;
    double day_secs = dt->hour * 3600.0 + dt->minute * 60.0 + dt->second + dt->nanosecond / 1e9;
    switch (v->type) {
    case PLCIO_TYPE_BOOL: out->as_int = v->v.b; break;
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_TIME:
    case PLCIO_TYPE_LTIME:
    case PLCIO_TYPE_S5TIME: out->as_int = v->v.i; break;
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL:
        out->as_double = v->v.f;
        out->as_int = isfinite(v->v.f) && fabs(v->v.f) < 9.2e18 ? (int64_t)v->v.f : 0;
        return;
    case PLCIO_TYPE_TIME_OF_DAY:
    case PLCIO_TYPE_LTOD:
        out->as_double = day_secs;
        out->as_int = (int64_t)(day_secs * 1000.0);
        return;
    case PLCIO_TYPE_DATE:
    case PLCIO_TYPE_DATE_AND_TIME:
    case PLCIO_TYPE_LDT:
    case PLCIO_TYPE_DTL:
        out->as_double = (double)days_from_civil(dt->year, dt->month, dt->day) * 86400.0 + day_secs;
        out->as_int = (int64_t)(out->as_double * 1000.0);
        return;
    case PLCIO_TYPE_STRING:
    case PLCIO_TYPE_WSTRING: return;
    default: out->as_int = (int64_t)v->v.u; break;
    }
    out->as_double = (double)out->as_int;
    if (v->type == PLCIO_TYPE_LWORD || v->type == PLCIO_TYPE_ULINT) out->as_double = (double)v->v.u;
}

int plcio_shm_reader_get(plcio_shm_reader *r, size_t index, plcio_shm_value *out)
{
    if (!r || !out) return PLCIO_EINVAL;
    if (index >= r->g.tag_count) return PLCIO_ENOTFOUND;
    const shm_tag *t = &r->tags[index];
    const uint8_t *st = r->copy + shm_tagstate_offset(&r->g) + index * SHM_TAGSTATE_SIZE;
    memset(out, 0, sizeof *out);
    out->index = index;
    out->type = t->type;
    out->quality = st[SHM_T_QUALITY] <= 3 ? (plcio_shm_quality)st[SHM_T_QUALITY] : PLCIO_SHM_QUALITY_ERROR;
    int32_t err;
    memcpy(&err, st + SHM_T_ERROR, 4);
    out->error = st[SHM_T_QUALITY] <= 3 ? err : PLCIO_EPROTO;
    memcpy(&out->changed_real_ns, st + SHM_T_CHANGED, 8);
    memcpy(&out->read_real_ns, st + SHM_T_READ, 8);
    memcpy(&out->quality_changed_real_ns, st + SHM_T_QUALITY_CHANGED, 8);
    out->raw = r->copy + SHM_S_HEAD + t->offset;
    out->raw_len = t->size;
    out->bit = t->bit;
    out->text = r->text;
    r->text[0] = '\0';
    plcio_value v;
    plcio_value_init(&v, t->type);
    bool text_type = t->type == PLCIO_TYPE_STRING || t->type == PLCIO_TYPE_WSTRING;
    if (text_type) plcio_value_use_buffer(&v, r->text, r->text_cap);
    int rc = value_decode_buf(&v, t->type, t->length, out->raw, t->size, t->bit, NULL, NULL, 0);
    if (rc == PLCIO_OK && text_type) {
        size_t n = 0;
        const char *s = plcio_value_text(&v, &n);
        if (s != r->text) {
            if (n + 1 > r->text_cap) n = r->text_cap - 1;
            memmove(r->text, s, n);
            r->text[n] = '\0';
        }
    } else if (rc == PLCIO_OK) {
        rc = plcio_value_to_text(&v, r->text, r->text_cap, NULL);
    }
    if (rc != PLCIO_OK) {
        r->text[0] = '\0';
        out->decode_error = rc;
        return PLCIO_OK;
    }
    numeric_views(&v, out);
    return PLCIO_OK;
}

int plcio_shm_reader_get_by_name(plcio_shm_reader *r, const char *name, plcio_shm_value *out)
{
    size_t index;
    int rc = plcio_shm_reader_find(r, name, &index);
    return rc == PLCIO_OK ? plcio_shm_reader_get(r, index, out) : rc;
}

/* One attempt at a consistent copy of the JSON buffer at `off` (the
 * protocol of seq_read: s1, the buffer head holding the word again and the
 * length, the text, s2). */
static int json_read(plcio_shm_reader *r, uint64_t off, size_t cap, uint32_t *n)
{
    uint64_t s1 = 0, mid, s2 = 0;
    uint8_t head[SHM_J_HEAD];
    int rc = shm_read_at(r->fd, off + SHM_J_SEQ, &s1, 8);
    if (rc != PLCIO_OK) return rc;
    if (s1 & 1u) return PLCIO_EAGAIN;
    atomic_thread_fence(memory_order_acquire);
    if (r->hook) r->hook(r->hook_ctx, SHM_HOOK_JSON);
    rc = shm_read_at(r->fd, off, head, sizeof head);
    if (rc != PLCIO_OK) return rc;
    *n = hdr32(head, SHM_J_LENGTH);
    if (*n < cap) rc = shm_read_at(r->fd, off + SHM_J_HEAD, r->json, *n);
    if (rc != PLCIO_OK) return rc;
    atomic_thread_fence(memory_order_acquire);
    rc = shm_read_at(r->fd, off + SHM_J_SEQ, &s2, 8);
    if (rc != PLCIO_OK) return rc;
    mid = hdr64(head, SHM_J_SEQ);
    if (s1 != mid || s1 != s2) return PLCIO_EAGAIN;
    return *n < cap ? PLCIO_OK : PLCIO_EPROTO; /* consistent but impossible length */
}

int plcio_shm_reader_json(plcio_shm_reader *r, const char **json, size_t *len)
{
    if (!r || !json) return PLCIO_EINVAL;
    if (!r->g.json_count) return PLCIO_ENOTFOUND;
    size_t cap = r->g.json_stride - SHM_J_HEAD;
    for (int attempt = 0; attempt < READ_RETRIES; attempt++) {
        uint32_t idx = 0, n = 0;
        int rc = shm_read_at(r->fd, SHM_H_JSON_LATEST, &idx, 4);
        if (rc != PLCIO_OK) return rc;
        if (idx >= SHM_JSON_BUFFERS) return PLCIO_EPROTO;
        rc = json_read(r, r->g.json_offset + (uint64_t)idx * r->g.json_stride, cap, &n);
        if (rc == PLCIO_EAGAIN) {
            if (attempt > 16) sched_yield();
            continue;
        }
        if (rc != PLCIO_OK) return rc;
        r->json[n] = '\0';
        *json = r->json;
        if (len) *len = n;
        return PLCIO_OK;
    }
    return PLCIO_EAGAIN;
}

/* ---------------------------------------------------------------------------
 * Writes by name
 * ------------------------------------------------------------------------- */

const char *plcio_shm_reader_write_error(const plcio_shm_reader *r) { return r ? r->write_error : ""; }

static int refused(plcio_shm_reader *r, int rc, const char *why)
{
    if (why && why != r->write_error)
        shm_msg(r->write_error, sizeof r->write_error, "%s", why);
    else if (!r->write_error[0])
        shm_msg(r->write_error, sizeof r->write_error, "%s", plcio_strerror(rc));
    return rc;
}

/* The ring, opened on first use; reopened if it belongs to an old engine. */
static int ring_of(plcio_shm_reader *r)
{
    if (r->ring) return PLCIO_OK;
    if (!r->ring_key || !r->g.ring_slots)
        return refused(r, PLCIO_EACCESS, "this segment accepts no writes (no write ring)");
    return shm_ring_client_open(r->name, r->ring_key, &r->ring, r->write_error, sizeof r->write_error);
}

static int submit(plcio_shm_reader *r, const char *name, uint32_t format, const void *data, size_t len, int timeout_ms,
                  uint64_t *id)
{
    if (!r || !name || !data) return PLCIO_EINVAL;
    r->write_error[0] = '\0';
    if (segment_closed(r)) return refused(r, PLCIO_ECLOSED, "the engine closed or replaced the segment: reopen");
    if (!engine_alive(r)) {
        uint32_t pid = 0;
        (void)shm_read_at(r->fd, SHM_H_ENGINE_PID, &pid, 4); /* 0 if it cannot be read: only for the message */
        shm_msg(r->write_error, sizeof r->write_error,
                "the engine of %s (pid %u) is gone: nobody would execute the "
                "write",
                r->name, (unsigned)pid);
        return PLCIO_ECLOSED;
    }
    size_t tag;
    if (plcio_shm_reader_find(r, name, &tag) != PLCIO_OK) {
        shm_msg(r->write_error, sizeof r->write_error, "%s has no tag '%.100s'", r->name, name);
        return PLCIO_ENOTFOUND;
    }
    if (format == SHM_FORMAT_RAW && len != r->tags[tag].size) {
        shm_msg(r->write_error, sizeof r->write_error, "raw value for %.100s must be %u bytes, got %zu", name,
                (unsigned)r->tags[tag].size, len);
        return PLCIO_EINVAL;
    }
    int rc = ring_of(r);
    if (rc != PLCIO_OK) return refused(r, rc, r->write_error);
    uint64_t deadline = timeout_ms < 0    ? UINT64_MAX
                        : timeout_ms == 0 ? 0
                                          : plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
    rc = shm_ring_client_submit(r->ring, name, format, data, len, deadline, id, r->write_error, sizeof r->write_error);
    return rc == PLCIO_OK ? rc : refused(r, rc, r->write_error);
}

int plcio_shm_reader_submit_text(plcio_shm_reader *r, const char *name, const char *text, uint64_t *id)
{
    return submit(r, name, SHM_FORMAT_TEXT, text, text ? strlen(text) : 0, 0, id);
}

int plcio_shm_reader_submit_text_wait(plcio_shm_reader *r, const char *name, const char *text, int timeout_ms,
                                      uint64_t *id)
{
    return submit(r, name, SHM_FORMAT_TEXT, text, text ? strlen(text) : 0, timeout_ms, id);
}

int plcio_shm_reader_submit_raw(plcio_shm_reader *r, const char *name, const uint8_t *raw, size_t len, uint64_t *id)
{
    return submit(r, name, SHM_FORMAT_RAW, raw, len, 0, id);
}

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : plcio_monotonic_ns() + (uint64_t)timeout_ms * PLCIO_NS_PER_MS;
}

int plcio_shm_reader_write_wait(plcio_shm_reader *r, uint64_t id, int timeout_ms, plcio_shm_write_result *res)
{
    if (!r || !res) return PLCIO_EINVAL;
    memset(res, 0, sizeof *res);
    res->id = id;
    if (!r->ring) return PLCIO_ENOTFOUND;
    return shm_ring_client_wait(r->ring, id, deadline_after(timeout_ms), res);
}

int plcio_shm_reader_write(plcio_shm_reader *r, const char *name, const char *text, int timeout_ms,
                           plcio_shm_write_result *res)
{
    if (!res) return PLCIO_EINVAL;
    memset(res, 0, sizeof *res);
    uint64_t start = plcio_monotonic_ns(), id = 0;
    int rc = plcio_shm_reader_submit_text_wait(r, name, text, timeout_ms, &id);
    if (rc != PLCIO_OK) {
        res->state = PLCIO_SHM_WRITE_FAILED;
        res->error = rc;
        shm_msg(res->message, sizeof res->message, "%s", r ? r->write_error : "");
        return rc;
    }
    if (timeout_ms >= 0) {
        uint64_t spent_ms = (plcio_monotonic_ns() - start) / PLCIO_NS_PER_MS;
        timeout_ms = spent_ms >= (uint64_t)timeout_ms ? 0 : timeout_ms - (int)spent_ms;
    }
    return plcio_shm_reader_write_wait(r, id, timeout_ms, res);
}

int plcio_shm_reader_new(const char *name, plcio_shm_reader **out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, shm_reader_open_buf(name, out, ERROR_BUF(err)));
}
