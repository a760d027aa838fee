/* The engine's side of the shared-memory segment: create (with stale and
 * busy detection), stage values, publish snapshots and JSON under a seqlock,
 * drain the write-request ring.
 *
 * Publication protocol (seqlock over two buffers)
 * -----------------------------------------------
 * There are two snapshot buffers; header.latest names the newest complete one.
 * The writer always fills the other one:
 *
 *   seq = buf.seq (even, only the writer changes it)
 *   store(buf.seq, seq + 1, relaxed)        -- odd: "being written"
 *   atomic_thread_fence(release)            -- the odd store is ordered before
 *                                              every data store that follows
 *   memcpy(buf.data, working copy)          -- plain stores
 *   store(buf.seq, seq + 2, release)        -- data stores happen-before this
 *   store(header.latest, idx, release)
 *   store(header.generation, gen, release)
 *   fetch_add(header.update_seq, 1, seq_cst); futex wake if readers sleep
 *   then the JSON buffer, same protocol, and a second update_seq bump + wake
 *
 * A reader:
 *   idx = load(header.latest, acquire)
 *   s1 = load(buf[idx].seq, acquire)         -- odd: writer inside, retry
 *   memcpy(private, buf[idx].data)
 *   atomic_thread_fence(acquire)            -- the data loads are ordered before
 *                                              the re-check below
 *   s2 = load(buf[idx].seq, relaxed)
 *   s1 == s2: the copy is one consistent publication; otherwise retry.
 * If the copy overlapped any write, the writer's odd store (made visible
 * before its data by the release fence) or its final even store is seen by
 * the re-check, so s2 != s1. The writer never waits for readers; a reader only
 * retries when the writer lapped it twice during one copy (two buffers).
 * The data copy itself is a formally racy memcpy, as in every seqlock (Linux
 * seqcount, Boehm 2012); the sequence check discards any torn copy.
 *
 * Write ring: an object of its own (NAME.ring), see shm_ring.c and
 * docs/shm.md. Every slot transition is one compare-and-swap; requests name
 * their tag and this file resolves the name in the writer's private table and
 * checks that the tag is writable before anything reaches the engine. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "plcio/core.h"
#include "plcio/value.h"
#include "shm/shm_internal.h"
#include "shm/shm_ring.h"
#include "tag/num_text.h"
#include "tag/tag_internal.h"
#include "core/error.h"
#include "core/mem.h"

#define RECREATE_RETRY_NS (PLCIO_NS_PER_S)

struct plcio_shm_writer {
    char name[208];
    int fd;
    uint8_t *base;
    size_t map_size;
    shm_geometry g;
    shm_tag *tags;
    size_t *order;
    uint8_t *work; /* working copy laid out like a snapshot buffer */
    uint64_t generation;
    bool json_dirty;
    uint64_t json_last_ns;
    uint64_t json_gap_ns; /* the least time before the next document (see json_due) */
    uint32_t replaced_pid;
    shm_ring_server *ring;
    uint64_t ring_key;
    char *scratch; /* value text for JSON and write requests */
    size_t scratch_cap;
    size_t json_cap; /* bytes of one JSON buffer's text */
    /* Per tag, its JSON without the read time (shm_json_tag_head), rendered
     * again only when the tag changes; the document is these copied in a row. */
    char *frags;
    uint32_t *frag_off; /* tag i's text at frags + frag_off[i], room up to frag_off[i + 1] */
    uint32_t *frag_len;
    uint32_t *frag_name; /* bytes of tag i's "name":{"value": at its start (rendered once) */
    uint8_t *frag_dirty;
    uint64_t read_ms; /* the last read time rendered, and its digits */
    char read_text[24];
    size_t read_len;
    uint8_t *taken; /* per ring slot: handed out by next_write, not completed yet */
    /* Per snapshot buffer, the tags staged since that buffer was last
     * written (a tag's mark has bit b set while it is on buffer b's list): a
     * publish copies only those (a whole copy of a large image each round
     * was most of the engine's time at 1,000 devices). snap_full[b]: the
     * buffer does not hold the working copy of its generation (new object):
     * copy it whole. */
    uint32_t *snap_dirty[SHM_SNAP_BUFFERS];
    size_t snap_dirty_n[SHM_SNAP_BUFFERS];
    uint8_t *snap_mark;
    bool snap_full[SHM_SNAP_BUFFERS];
    /* Robustness (docs/shm.md): the object is checked before every use and
     * replaced by a new one when someone truncated, removed or replaced it. */
    bool recovering;
    int lost_rc;          /* why no object is attached (base == NULL) */
    uint64_t retry_ns;    /* next attempt to create one */
    uint64_t recreations; /* times the objects were found damaged and made anew */
    shm_test_hook hook;
    void *hook_ctx;
    uint8_t *req_data; /* encoded value of the request being handed out */
    char *req_text;
    plcio_shm_options opts;
};

/* ---------------------------------------------------------------------------
 * Geometry
 * ------------------------------------------------------------------------- */

static bool publish_json(plcio_shm_writer *w, uint64_t gen, uint64_t real_ns, uint64_t mono_ns);
static int create_ring(plcio_shm_writer *w, char *msg, size_t cap);

static uint64_t align64(uint64_t v) { return (v + 63u) & ~UINT64_C(63); }

static int compute_geometry(shm_tag *tags, size_t count, const plcio_shm_options *o, shm_geometry *g, size_t *json_cap,
                            size_t *scratch_cap)
{
    uint64_t image = 0, json = 128, value_cap = 64, scratch = PLCIO_VALUE_INLINE_TEXT;
    for (size_t i = 0; i < count; i++) {
        tags[i].offset = (uint32_t)image;
        image += tags[i].size;
        size_t tb = shm_value_text_bound(&tags[i]);
        /* "name":{"value":V,"quality":"stale","error":"PLCIO_EOPTIMIZED","ts":N,"read":N}, */
        json += 6 * strlen(tags[i].name) + 2 + 2 * tb + 4 * tb + 160;
        if (tags[i].size > value_cap) value_cap = tags[i].size;
        if (tb > value_cap) value_cap = tb;
        if (tb > scratch) scratch = tb;
        if (image > SHM_MAX_SEGMENT) return PLCIO_ELIMIT;
    }
    value_cap = (value_cap + 7u) & ~UINT64_C(7);
    uint64_t slots = o->write_slots ? o->write_slots : 64;
    if (slots > 65536) return PLCIO_ELIMIT;
    uint64_t dir = SHM_HEADER_SIZE, snap = align64(dir + (uint64_t)count * SHM_DIR_ENTRY_SIZE);
    uint64_t stride = align64(SHM_S_HEAD + ((image + 7u) & ~UINT64_C(7)) + (uint64_t)count * SHM_TAGSTATE_SIZE);
    uint64_t jcount = o->no_json ? 0 : SHM_JSON_BUFFERS;
    uint64_t joff = snap + SHM_SNAP_BUFFERS * stride, jstride = jcount ? align64(SHM_J_HEAD + json + 1) : 0;
    uint64_t total = joff + jcount * jstride;
    if (total > SHM_MAX_SEGMENT || SHM_R_HEADER_SIZE + slots * align64(SHM_W_HEAD + value_cap) > SHM_MAX_SEGMENT)
        return PLCIO_ELIMIT;
    *g = (shm_geometry){(uint32_t)count,  (uint32_t)image,     (uint32_t)dir,  (uint32_t)snap,
                        (uint32_t)stride, (uint32_t)jcount,    (uint32_t)joff, (uint32_t)jstride,
                        (uint32_t)slots,  (uint32_t)value_cap, total};
    *json_cap = (size_t)json;
    *scratch_cap = (size_t)scratch;
    return PLCIO_OK;
}

static int check_tags(const plcio_shm_tag_def *defs, size_t count, shm_tag *tags, char *msg, size_t cap)
{
    for (size_t i = 0; i < count; i++) {
        const plcio_shm_tag_def *d = &defs[i];
        size_t n = d->name ? strlen(d->name) : 0;
        if (n == 0 || n > PLCIO_SHM_NAME_MAX) {
            shm_msg(msg, cap, "tag %zu: name empty or longer than %d bytes", i, PLCIO_SHM_NAME_MAX);
            return PLCIO_EINVAL;
        }
        shm_tag *t = &tags[i];
        memcpy(t->name, d->name, n + 1);
        t->type = d->type;
        bool text = d->type == PLCIO_TYPE_STRING || d->type == PLCIO_TYPE_WSTRING;
        t->length = text ? d->length : 0;
        t->bit = d->bit;
        t->writable = d->writable;
        size_t size = (unsigned)d->type < PLCIO_TYPE_COUNT_ ? plcio_type_size(d->type, t->length) : 0;
        if (size == 0 || d->bit > 7 || (d->bit && d->type != PLCIO_TYPE_BOOL)) {
            shm_msg(msg, cap, "tag '%s': bad type, string length or bit", d->name);
            return PLCIO_EINVAL;
        }
        t->size = (uint32_t)size;
    }
    return PLCIO_OK;
}

/* ---------------------------------------------------------------------------
 * Creation: exclusive name, stale detection
 * ------------------------------------------------------------------------- */

static uint32_t header_pid(int fd)
{
    struct stat st;
    uint32_t pid = 0;
    if (fstat(fd, &st) == 0 && st.st_size >= (off_t)SHM_HEADER_SIZE &&
        pread(fd, &pid, sizeof pid, SHM_H_ENGINE_PID) != (ssize_t)sizeof pid)
        pid = 0;
    return pid;
}

/* The name exists. If its engine still holds the lock: PLCIO_EBUSY. Else it is
 * stale (the kernel dropped the lock when the engine died): unlink it and
 * return PLCIO_EAGAIN so the caller creates a fresh one. */
static int handle_existing(plcio_shm_writer *w, char *msg, size_t cap)
{
    int fd = shm_open(w->name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) return errno == ENOENT ? PLCIO_EAGAIN : shm_errno_to_plcio(errno);
    uint32_t pid = header_pid(fd);
    int rc = shm_lock(fd, 0, 1);
    if (rc == PLCIO_EBUSY) {
        shm_msg(msg, cap, "shared memory %s is in use by engine pid %u (%s)", w->name, (unsigned)pid,
                shm_pid_alive(pid) ? "running" : "starting");
        close(fd);
        return PLCIO_EBUSY;
    }
    if (rc == PLCIO_OK) {
        w->replaced_pid = pid ? pid : w->replaced_pid;
        shm_unlink(w->name); /* we hold the lock, so no live engine owns it */
        rc = PLCIO_EAGAIN;
    }
    close(fd);
    return rc;
}

static int open_exclusive(plcio_shm_writer *w, char *msg, size_t cap)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        /* 0600 until its mode and group are set (shm_apply_access): nobody else gets in meanwhile */
        int fd = shm_open(w->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno != EEXIST) {
                int e = errno;
                shm_msg(msg, cap, "shm_open %s: %s", w->name, strerror(e));
                return shm_errno_to_plcio(e);
            }
            int rc = handle_existing(w, msg, cap);
            if (rc == PLCIO_EAGAIN) continue;
            if (rc != PLCIO_EBUSY) shm_msg(msg, cap, "cannot inspect existing shared memory %s", w->name);
            return rc;
        }
        /* Lock first, then check we still own the name: another engine that
         * took our fresh, empty object for a stale one may have unlinked it. */
        struct stat st;
        if (shm_lock(fd, 0, 1) != PLCIO_OK || fstat(fd, &st) != 0 || st.st_nlink == 0) {
            close(fd);
            continue;
        }
        w->fd = fd;
        return PLCIO_OK;
    }
    shm_msg(msg, cap, "shared memory %s: another engine keeps creating it", w->name);
    return PLCIO_EBUSY;
}

static void init_header(plcio_shm_writer *w)
{
    uint8_t *b = w->base;
    const shm_geometry *g = &w->g;
    memcpy(b + SHM_H_MAGIC, SHM_MAGIC, 8);
    *SHM_U32(b, SHM_H_VERSION) = SHM_VERSION;
    *SHM_U32(b, SHM_H_HEADER_SIZE) = SHM_HEADER_SIZE;
    *SHM_U64(b, SHM_H_TOTAL_SIZE) = g->total_size;
    *SHM_U32(b, SHM_H_ENGINE_PID) = (uint32_t)getpid();
    *SHM_U64(b, SHM_H_CREATED_NS) = plcio_realtime_ns();
    *SHM_U32(b, SHM_H_TAG_COUNT) = g->tag_count;
    *SHM_U32(b, SHM_H_DIR_OFFSET) = g->dir_offset;
    *SHM_U32(b, SHM_H_DIR_ENTRY_SIZE) = SHM_DIR_ENTRY_SIZE;
    *SHM_U32(b, SHM_H_IMAGE_SIZE) = g->image_size;
    *SHM_U32(b, SHM_H_TAGSTATE_SIZE) = SHM_TAGSTATE_SIZE;
    *SHM_U32(b, SHM_H_SNAP_COUNT) = SHM_SNAP_BUFFERS;
    *SHM_U32(b, SHM_H_SNAP_OFFSET) = g->snap_offset;
    *SHM_U32(b, SHM_H_SNAP_STRIDE) = g->snap_stride;
    *SHM_U32(b, SHM_H_JSON_COUNT) = g->json_count;
    *SHM_U32(b, SHM_H_JSON_OFFSET) = g->json_offset;
    *SHM_U32(b, SHM_H_JSON_STRIDE) = g->json_stride;
    *SHM_U64(b, SHM_H_RING_KEY) = w->ring_key;
    *SHM_U32(b, SHM_H_RING_SLOTS) = g->ring_slots;
    *SHM_U32(b, SHM_H_ENDIAN) = SHM_ENDIAN;
    for (size_t i = 0; i < g->tag_count; i++)
        shm_tag_store(b + g->dir_offset + i * SHM_DIR_ENTRY_SIZE, &w->tags[i]);
    *SHM_U64(b, SHM_H_LAYOUT_HASH) = shm_fnv1a64(b + g->dir_offset, (size_t)g->tag_count * SHM_DIR_ENTRY_SIZE);
}

/* The fragment arena: room for each tag's shm_json_tag_head. */
static int alloc_fragments(plcio_shm_writer *w)
{
    size_t count = w->g.tag_count, total = 0;
    w->frag_off = malloc((count + 1) * sizeof *w->frag_off);
    w->frag_len = calloc(count ? count : 1, sizeof *w->frag_len);
    w->frag_name = calloc(count ? count : 1, sizeof *w->frag_name);
    w->frag_dirty = malloc(count ? count : 1);
    if (!w->frag_off || !w->frag_len || !w->frag_name || !w->frag_dirty) return PLCIO_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        w->frag_off[i] = (uint32_t)total;
        total += shm_json_tag_bound(&w->tags[i]);
        if (total > UINT32_MAX) return PLCIO_ELIMIT;
    }
    w->frag_off[count] = (uint32_t)total;
    memset(w->frag_dirty, 1, count ? count : 1);
    w->frags = malloc(total ? total : 1);
    w->read_ms = UINT64_MAX;
    return w->frags ? PLCIO_OK : PLCIO_ENOMEM;
}

static int alloc_private(plcio_shm_writer *w, size_t json_cap)
{
    w->json_cap = w->g.json_count ? w->g.json_stride - SHM_J_HEAD : 0;
    (void)json_cap; /* the stride holds json_cap + 1 */
    if (w->json_cap && alloc_fragments(w) != PLCIO_OK) return PLCIO_ENOMEM;
    w->taken = calloc(w->g.ring_slots ? w->g.ring_slots : 1, 1);
    w->work = calloc(1, w->g.snap_stride);
    w->req_data = calloc(1, w->g.ring_value_cap + 8);
    w->req_text = calloc(1, w->g.ring_value_cap + 1);
    w->scratch = malloc(w->scratch_cap);
    w->order = shm_name_index_new(w->tags, w->g.tag_count);
    size_t n = w->g.tag_count ? w->g.tag_count : 1;
    w->snap_mark = calloc(n, 1);
    bool lists = w->snap_mark != NULL;
    for (unsigned b = 0; b < SHM_SNAP_BUFFERS; b++) {
        w->snap_dirty[b] = malloc(n * sizeof *w->snap_dirty[b]);
        lists = lists && w->snap_dirty[b];
        w->snap_full[b] = true;
    }
    return w->work && w->req_data && w->req_text && w->scratch && w->order && w->taken && lists ? PLCIO_OK
                                                                                                : PLCIO_ENOMEM;
}

/* Create the objects under w->name and w->name + ".ring": the data segment
 * (exclusive, mode and group applied, pages reserved, mapped) and its write
 * ring (shm_ring.c: the same, with a new key), then fill the segment from the
 * working copy: header, directory, snapshot buffer 0 (generation
 * w->generation), the JSON text; then mark it ready. Used at creation and
 * when the engine replaces objects someone truncated, removed or replaced.
 * On error nothing is left behind (no object, no mapping). */
static int attach_object(plcio_shm_writer *w, char *msg, size_t cap)
{
    int rc = open_exclusive(w, msg, cap);
    if (rc == PLCIO_OK) rc = shm_apply_access(w->fd, &w->opts.data, 0640, w->name, msg, cap);
    if (rc == PLCIO_OK) rc = create_ring(w, msg, cap);
    if (rc == PLCIO_OK && ftruncate(w->fd, (off_t)w->g.total_size) != 0) {
        rc = shm_errno_to_plcio(errno);
        shm_msg(msg, cap, "ftruncate %s: %s", w->name, strerror(errno));
    }
    if (rc == PLCIO_OK) rc = shm_reserve(w->fd, w->name, w->g.total_size, msg, cap);
    if (rc == PLCIO_OK) {
        void *p = mmap(NULL, (size_t)w->g.total_size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
        if (p == MAP_FAILED) {
            rc = PLCIO_ENOMEM;
            shm_msg(msg, cap, "mmap %s: %s", w->name, strerror(errno));
        } else {
            w->base = p;
            w->map_size = (size_t)w->g.total_size;
        }
    }
    if (rc != PLCIO_OK) {
        shm_ring_server_close(w->ring, "engine could not create its segment");
        w->ring = NULL;
        if (w->fd >= 0) {
            shm_unlink(w->name); /* ours: we created it exclusively and hold its lock */
            close(w->fd);
        }
        w->fd = -1;
        return rc;
    }
    /* Write requests handed out from a previous ring and not completed yet:
     * their slots stay the engine's in the new one (BUSY, pid 0), so no new
     * request can take them and receive the old one's answer; the late
     * answer lands there and the ring's reaper frees the slot. Nobody can
     * reach the new ring before the data header below names its key. */
    for (uint32_t i = 0; i < w->g.ring_slots; i++)
        if (w->taken[i]) shm_ring_server_reserve(w->ring, i);
    init_header(w);
    plcio_shm_writer_heartbeat(w);
    /* Buffer 0 holds the working copy (generation 0 at creation: all NONE;
     * after a replacement the last published values): readers may copy it
     * at once. */
    memcpy(w->base + w->g.snap_offset + 8, w->work + 8, w->g.snap_stride - 8);
    for (unsigned b = 0; b < SHM_SNAP_BUFFERS; b++)
        w->snap_full[b] = true; /* a new object: nothing in it can be kept */
    atomic_store_explicit(SHM_A64(w->base, SHM_H_GENERATION), w->generation, memory_order_release);
    w->json_dirty = true;
    w->json_last_ns = 0;
    publish_json(w, w->generation, plcio_realtime_ns(), plcio_monotonic_ns());
    atomic_store_explicit(SHM_A32(w->base, SHM_H_STATE), SHM_STATE_READY, memory_order_release);
    return PLCIO_OK;
}

static int check_duplicates(const plcio_shm_writer *w, char *msg, size_t cap)
{
    for (size_t i = 1; i < w->g.tag_count; i++)
        if (!strcmp(w->tags[w->order[i - 1]].name, w->tags[w->order[i]].name)) {
            shm_msg(msg, cap, "tag name '%s' appears twice", w->tags[w->order[i]].name);
            return PLCIO_EINVAL;
        }
    return PLCIO_OK;
}

int shm_writer_create_buf(const char *name, const plcio_shm_tag_def *tags, size_t count, const plcio_shm_options *opts,
                          plcio_shm_writer **out, char *msg, size_t msg_cap)
{
    if (!out || (!tags && count)) return PLCIO_EINVAL;
    *out = NULL;
    if (!shm_name_valid(name)) {
        shm_msg(msg, msg_cap, "bad shared memory name '%s' (want /NAME, no other '/')", name ? name : "");
        return PLCIO_EINVAL;
    }
    plcio_shm_writer *w = calloc(1, sizeof *w);
    if (!w) return PLCIO_ENOMEM;
    w->fd = -1;
    snprintf(w->name, sizeof w->name, "%s", name);
    if (opts) w->opts = *opts;
    size_t json_cap = 0;
    w->tags = calloc(count ? count : 1, sizeof *w->tags);
    int rc = w->tags ? check_tags(tags, count, w->tags, msg, msg_cap) : PLCIO_ENOMEM;
    if (rc == PLCIO_OK) {
        rc = compute_geometry(w->tags, count, &w->opts, &w->g, &json_cap, &w->scratch_cap);
        if (rc != PLCIO_OK) shm_msg(msg, msg_cap, "segment would exceed 4 GiB or 65536 write slots");
    }
    if (rc == PLCIO_OK) rc = alloc_private(w, json_cap);
    if (rc == PLCIO_OK) rc = check_duplicates(w, msg, msg_cap);
    if (rc == PLCIO_OK) rc = attach_object(w, msg, msg_cap);
    if (rc != PLCIO_OK) {
        plcio_shm_writer_free(w);
        return rc;
    }
    *out = w;
    return PLCIO_OK;
}

/* Unlink the name only if it still names our object. */
static void unlink_if_ours(plcio_shm_writer *w)
{
    struct stat mine, cur;
    int fd = shm_open(w->name, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return;
    if (fstat(w->fd, &mine) == 0 && fstat(fd, &cur) == 0 && mine.st_ino == cur.st_ino && mine.st_dev == cur.st_dev)
        shm_unlink(w->name);
    close(fd);
}

/* Tell readers and requesters that this object is finished: pending
 * requests failed, state CLOSED, sleepers woken. Only on an intact object. */
static void close_object(plcio_shm_writer *w)
{
    atomic_store_explicit(SHM_A32(w->base, SHM_H_STATE), SHM_STATE_CLOSED, memory_order_release);
    atomic_fetch_add_explicit(SHM_A32(w->base, SHM_H_UPDATE_SEQ), 1, memory_order_release);
    shm_futex_wake_all(SHM_A32(w->base, SHM_H_UPDATE_SEQ));
}

/* Let go of the current objects: the write ring first (pending requests
 * answered with `why`, unless the ring was truncated: then it is never
 * touched again), then the data segment (closed if it is whole: a truncated
 * one is never touched again, its readers see it shrunk); each name unlinked
 * if it still names ours, the mappings dropped and the engine locks with
 * them. */
static void detach_object(plcio_shm_writer *w, const char *why)
{
    w->recovering = true;
    shm_ring_server_close(w->ring, why);
    w->ring = NULL;
    if (w->base) {
        if (!shm_object_shrunk(w->fd, w->map_size)) close_object(w);
        unlink_if_ours(w);
        munmap(w->base, w->map_size);
    }
    if (w->fd >= 0) close(w->fd); /* drops the engine lock */
    w->base = NULL;
    w->fd = -1;
    w->map_size = 0;
    w->recovering = false;
}

/* Before the engine touches a mapping: are both objects (the data segment
 * and its write ring) still whole and still behind their names? If someone
 * truncated one (a store would raise SIGBUS), removed it or put another file
 * in its place, move to new objects under both names (a new ring key ties
 * them together); readers and requesters of the old ones see them closed (or
 * shrunk) and reopen. Returns PLCIO_OK when an intact object is mapped. A failed
 * re-creation (another live engine took the name, /dev/shm full) is retried
 * at most once a second; its error is returned meanwhile.
 *
 * The check and the stores that follow are not atomic: a truncation in the
 * microseconds between them still faults (docs/shm.md, "Robustness"). */
static int writer_check(plcio_shm_writer *w)
{
    if (w->recovering) return w->base ? PLCIO_OK : PLCIO_ECLOSED;
    if (w->base) {
        struct stat st;
        bool data_ok = fstat(w->fd, &st) == 0 && st.st_nlink > 0 && (uint64_t)st.st_size >= w->map_size;
        if (data_ok && shm_ring_server_intact(w->ring)) return PLCIO_OK;
        detach_object(w, "the engine's segment or write ring was truncated, removed or replaced while this write "
                         "was pending: the engine moved to new ones; the write may or may not have been done");
        w->retry_ns = 0;
        w->recreations++;
    }
    uint64_t now = plcio_monotonic_ns();
    if (w->retry_ns && now < w->retry_ns) return w->lost_rc;
    w->recovering = true;
    int rc = attach_object(w, NULL, 0);
    w->recovering = false;
    if (rc != PLCIO_OK) {
        w->lost_rc = rc;
        w->retry_ns = now + RECREATE_RETRY_NS;
        return rc;
    }
    w->retry_ns = 0;
    return PLCIO_OK;
}

uint64_t plcio_shm_writer_recreations(const plcio_shm_writer *w) { return w ? w->recreations : 0; }

void plcio_shm_writer_free(plcio_shm_writer *w)
{
    if (!w) return;
    detach_object(w, "engine stopped");
    free(w->tags);
    free(w->order);
    free(w->work);
    free(w->scratch);
    free(w->frags);
    free(w->frag_off);
    free(w->frag_len);
    free(w->frag_name);
    free(w->frag_dirty);
    free(w->snap_mark);
    for (unsigned b = 0; b < SHM_SNAP_BUFFERS; b++)
        free(w->snap_dirty[b]);
    free(w->taken);
    free(w->req_data);
    free(w->req_text);
    free(w);
}

void shm_writer_set_test_hook(plcio_shm_writer *w, shm_test_hook hook, void *ctx)
{
    w->hook = hook;
    w->hook_ctx = ctx;
}

size_t plcio_shm_writer_tag_count(const plcio_shm_writer *w) { return w ? w->g.tag_count : 0; }

int plcio_shm_writer_find(const plcio_shm_writer *w, const char *name, size_t *index)
{
    if (!w) return PLCIO_EINVAL;
    return shm_name_index_find(w->tags, w->order, w->g.tag_count, name, index);
}

int plcio_shm_writer_tag_info(const plcio_shm_writer *w, size_t index, plcio_shm_tag_info *out)
{
    if (!w || !out || index >= w->g.tag_count) return PLCIO_EINVAL;
    const shm_tag *t = &w->tags[index];
    *out = (plcio_shm_tag_info){t->name, t->type, t->length, t->bit, t->offset, t->size, t->writable};
    return PLCIO_OK;
}

uint32_t plcio_shm_writer_replaced_pid(const plcio_shm_writer *w) { return w ? w->replaced_pid : 0; }

/* ---------------------------------------------------------------------------
 * Staging
 * ------------------------------------------------------------------------- */

static uint8_t *work_state(plcio_shm_writer *w, size_t index)
{
    return w->work + shm_tagstate_offset(&w->g) + index * SHM_TAGSTATE_SIZE;
}

/* Tag `index` was staged: every snapshot buffer copies it at its next turn. */
static void stage(plcio_shm_writer *w, size_t index)
{
    uint8_t all = (uint8_t)((1u << SHM_SNAP_BUFFERS) - 1u), mark = w->snap_mark[index];
    if (mark == all) return;
    for (unsigned b = 0; b < SHM_SNAP_BUFFERS; b++)
        if (!(mark & (1u << b))) w->snap_dirty[b][w->snap_dirty_n[b]++] = (uint32_t)index;
    w->snap_mark[index] = all;
}

int plcio_shm_writer_set(plcio_shm_writer *w, size_t index, const uint8_t *raw, size_t len, uint64_t read_real_ns,
                         bool *changed)
{
    if (!w || !raw || index >= w->g.tag_count || len != w->tags[index].size) return PLCIO_EINVAL;
    const shm_tag *t = &w->tags[index];
    uint8_t *img = w->work + SHM_S_HEAD + t->offset, *st = work_state(w, index);
    bool diff = t->type == PLCIO_TYPE_BOOL ? ((img[0] ^ raw[0]) >> t->bit & 1u) != 0 : mem_differ(img, raw, len);
    uint64_t now = read_real_ns ? read_real_ns : plcio_realtime_ns();
    bool was_good = st[SHM_T_QUALITY] == PLCIO_SHM_QUALITY_GOOD;
    uint64_t changed_at;
    memcpy(&changed_at, st + SHM_T_CHANGED, 8);
    if (diff) memcpy(img, raw, len);
    /* the value's time moves with the value only (and with the first one):
     * a tag that went STALE and came back unchanged keeps it */
    if (diff || !changed_at) {
        memcpy(st + SHM_T_CHANGED, &now, 8);
        w->json_dirty = true;
        if (w->frag_dirty) w->frag_dirty[index] = 1;
    }
    if (!was_good) { /* the JSON text says the quality too: render the tag again */
        memcpy(st + SHM_T_QUALITY_CHANGED, &now, 8);
        w->json_dirty = true;
        if (w->frag_dirty) w->frag_dirty[index] = 1;
    }
    st[SHM_T_QUALITY] = PLCIO_SHM_QUALITY_GOOD;
    int32_t zero = 0;
    memcpy(st + SHM_T_ERROR, &zero, 4);
    memcpy(st + SHM_T_READ, &now, 8);
    stage(w, index); /* the read time moved at least */
    if (changed) *changed = diff;
    return PLCIO_OK;
}

int plcio_shm_writer_set_quality(plcio_shm_writer *w, size_t index, plcio_shm_quality quality, int error)
{
    if (!w || index >= w->g.tag_count || quality == PLCIO_SHM_QUALITY_GOOD || (unsigned)quality > 3)
        return PLCIO_EINVAL;
    uint8_t *st = work_state(w, index);
    int32_t e = quality == PLCIO_SHM_QUALITY_NONE ? 0 : error, old;
    memcpy(&old, st + SHM_T_ERROR, 4);
    if (st[SHM_T_QUALITY] != (uint8_t)quality || old != e) {
        uint64_t now = plcio_realtime_ns();
        memcpy(st + SHM_T_QUALITY_CHANGED, &now, 8); /* the value did not change: CHANGED stays */
        w->json_dirty = true;
        if (w->frag_dirty) w->frag_dirty[index] = 1;
        stage(w, index);
    }
    st[SHM_T_QUALITY] = (uint8_t)quality;
    memcpy(st + SHM_T_ERROR, &e, 4);
    return PLCIO_OK;
}

const uint8_t *plcio_shm_writer_raw(const plcio_shm_writer *w, size_t index, size_t *len)
{
    if (!w || index >= w->g.tag_count) return NULL;
    if (len) *len = w->tags[index].size;
    return w->work + SHM_S_HEAD + w->tags[index].offset;
}

/* ---------------------------------------------------------------------------
 * Publication
 * ------------------------------------------------------------------------- */

void plcio_shm_writer_heartbeat(plcio_shm_writer *w)
{
    if (!w || writer_check(w) != PLCIO_OK) return;
    atomic_store_explicit(SHM_A64(w->base, SHM_H_HEARTBEAT_MONO), plcio_monotonic_ns(), memory_order_relaxed);
    atomic_store_explicit(SHM_A64(w->base, SHM_H_HEARTBEAT_REAL), plcio_realtime_ns(), memory_order_relaxed);
}

/* Seqlock write of `len` bytes of `src` (after the seq word) into buffer
 * `buf`, in two parts split at `half` (the test hook runs between them). */
static void seq_write(plcio_shm_writer *w, uint8_t *buf, const uint8_t *src, size_t len, size_t half, int where)
{
    _Atomic uint64_t *seq = SHM_A64(buf, 0);
    uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(buf + 8, src + 8, half - 8);
    if (w->hook) w->hook(w->hook_ctx, where);
    memcpy(buf + half, src + half, len - half);
    atomic_store_explicit(seq, s + 2, memory_order_release);
}

/* Seqlock write of what changed since buffer `idx` was last written: its
 * head, then each staged tag's bytes and state (the buffer held the working
 * copy of two publications ago; the other tags have not moved since). */
static void seq_write_staged(plcio_shm_writer *w, uint8_t *buf, uint32_t idx)
{
    _Atomic uint64_t *seq = SHM_A64(buf, 0);
    uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);
    const uint32_t *list = w->snap_dirty[idx];
    size_t n = w->snap_dirty_n[idx], states = shm_tagstate_offset(&w->g);
    atomic_store_explicit(seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(buf + 8, w->work + 8, SHM_S_HEAD - 8);
    for (size_t k = 0; k < n; k++) {
        if (k == n / 2 && w->hook) w->hook(w->hook_ctx, SHM_HOOK_SNAPSHOT);
        const shm_tag *t = &w->tags[list[k]];
        size_t img = SHM_S_HEAD + t->offset, st = states + (size_t)list[k] * SHM_TAGSTATE_SIZE;
        memcpy(buf + img, w->work + img, t->size);
        memcpy(buf + st, w->work + st, SHM_TAGSTATE_SIZE);
    }
    if (!n && w->hook) w->hook(w->hook_ctx, SHM_HOOK_SNAPSHOT);
    atomic_store_explicit(seq, s + 2, memory_order_release);
}

static void format_utc(uint64_t ns, char *buf, size_t cap)
{
    time_t secs = (time_t)(ns / PLCIO_NS_PER_S);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned)(ns % PLCIO_NS_PER_S / PLCIO_NS_PER_MS));
}

/* Render the fragments of the tags that changed since the last document. */
static void render_fragments(plcio_shm_writer *w)
{
    for (size_t i = 0; i < w->g.tag_count; i++) {
        if (!w->frag_dirty[i]) continue;
        const shm_tag *t = &w->tags[i];
        const uint8_t *st = work_state(w, i);
        int32_t err;
        uint64_t changed;
        memcpy(&err, st + SHM_T_ERROR, 4);
        memcpy(&changed, st + SHM_T_CHANGED, 8);
        size_t pos = w->frag_name[i], cap = w->frag_off[i + 1] - w->frag_off[i];
        char *frag = w->frags + w->frag_off[i];
        int rc = pos ? PLCIO_OK : shm_json_tag_name(t, frag, cap, &pos);
        if (rc == PLCIO_OK) {
            w->frag_name[i] = (uint32_t)pos;
            rc = shm_json_tag_body(t, w->work + SHM_S_HEAD + t->offset, st[SHM_T_QUALITY], err, changed, frag, cap,
                                   &pos, w->scratch, w->scratch_cap);
        }
        if (rc != PLCIO_OK) {
            w->frag_name[i] = 0;
            /* cannot happen with the computed bound; keep the document valid */
            pos = 0;
            shm_json_string(t->name, strlen(t->name), frag, cap, &pos);
            // NOLINTNEXTLINE(bugprone-not-null-terminated-result): JSON text built on
            memcpy(frag + pos, ":{\"value\":null,\"quality\":\"error\",\"ts\":0", 39);
            pos += 39;
        }
        w->frag_len[i] = (uint32_t)pos;
        w->frag_dirty[i] = 0;
    }
}

/* The digits of a read time, kept: the tags of one round share it. */
static const char *read_digits(plcio_shm_writer *w, uint64_t read_ns, size_t *len)
{
    uint64_t ms = read_ns / PLCIO_NS_PER_MS;
    if (ms != w->read_ms) {
        w->read_ms = ms;
        w->read_len = num_text_u64(ms, w->read_text);
    }
    *len = w->read_len;
    return w->read_text;
}

/* Append n bytes at *pos if they fit (the bound says they do). */
static bool put(char *buf, size_t cap, size_t *pos, const char *src, size_t n)
{
    if (cap - *pos < n) return false;
    memcpy(buf + *pos, src, n);
    *pos += n;
    return true;
}

/* The document from the fragments, written straight into the buffer (the
 * test hook runs halfway through the tags). */
static bool json_assemble(plcio_shm_writer *w, uint64_t gen, uint64_t real_ns, char *buf, size_t cap, size_t *len)
{
    char head[160], when[80];
    format_utc(real_ns, when, sizeof when);
    int n =
        snprintf(head, sizeof head, "{\"generation\":%llu,\"time\":\"%s\",\"tags\":{", (unsigned long long)gen, when);
    size_t pos = 0, half = w->g.tag_count / 2;
    if (n < 0 || !put(buf, cap, &pos, head, (size_t)n)) return false;
    for (size_t i = 0; i < w->g.tag_count; i++) {
        if (i == half && w->hook) w->hook(w->hook_ctx, SHM_HOOK_JSON);
        if (i && !put(buf, cap, &pos, ",", 1)) return false;
        if (!put(buf, cap, &pos, w->frags + w->frag_off[i], w->frag_len[i])) return false;
        uint64_t read;
        memcpy(&read, work_state(w, i) + SHM_T_READ, 8);
        size_t dl;
        const char *digits = read_digits(w, read, &dl);
        if (!put(buf, cap, &pos, ",\"read\":", 8) || !put(buf, cap, &pos, digits, dl) || !put(buf, cap, &pos, "}", 1))
            return false;
    }
    if (!w->g.tag_count && w->hook) w->hook(w->hook_ctx, SHM_HOOK_JSON);
    if (!put(buf, cap, &pos, "}}", 3)) return false; /* with its '\0' */
    *len = pos - 1;
    return true;
}

/* Is a new document due? With json_min_interval_ns 0 ("on every change") a
 * document up to JSON_FREE_BYTES is written on every change; a larger one
 * (tens of thousands of tags) is copied whole each time, so it waits at least
 * JSON_NS_PER_BYTE per byte of the last one (1 MB: 16 ms, at most about 60
 * a second; 3 MB: 20 a second): rendering the changed tags and copying the
 * document stay a small share of a core however often values change. What is
 * held back goes out with the next publication (the engine publishes one for
 * it, see shm_writer_json_pending). */
#define JSON_FREE_BYTES  ((size_t)256 * 1024)
#define JSON_NS_PER_BYTE 16u

static bool json_due(const plcio_shm_writer *w, uint64_t mono_ns)
{
    if (!w->g.json_count || !w->json_dirty) return false;
    uint64_t gap = w->opts.json_min_interval_ns ? w->opts.json_min_interval_ns : w->json_gap_ns;
    return !gap || !w->json_last_ns || mono_ns - w->json_last_ns >= gap;
}

bool shm_writer_json_pending(const plcio_shm_writer *w, uint64_t mono_ns)
{
    return w && w->base && json_due(w, mono_ns);
}

/* Publish the JSON text if something changed; true if it did. Only the
 * fragments of changed tags are rendered; the document is assembled from
 * them under the seqlock (copies, no formatting, so the odd "being written"
 * window stays short). */
static bool publish_json(plcio_shm_writer *w, uint64_t gen, uint64_t real_ns, uint64_t mono_ns)
{
    if (!json_due(w, mono_ns)) return false;
    render_fragments(w);
    uint32_t latest = atomic_load_explicit(SHM_A32(w->base, SHM_H_JSON_LATEST), memory_order_relaxed);
    uint32_t idx = (latest + 1) % SHM_JSON_BUFFERS;
    uint8_t *buf = w->base + w->g.json_offset + (size_t)idx * w->g.json_stride;
    _Atomic uint64_t *seq = SHM_A64(buf, SHM_J_SEQ);
    uint64_t s = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    char *text = (char *)buf + SHM_J_HEAD;
    size_t len = 0;
    if (!json_assemble(w, gen, real_ns, text, w->json_cap, &len)) {
        /* cannot happen with the computed bound; publish a valid document anyway */
        len = (size_t)snprintf(text, w->json_cap, "{\"generation\":%llu,\"error\":\"overflow\"}",
                               (unsigned long long)gen);
    }
    *SHM_U64(buf, SHM_J_GENERATION) = gen;
    *SHM_U32(buf, SHM_J_LENGTH) = (uint32_t)len;
    atomic_store_explicit(seq, s + 2, memory_order_release);
    atomic_store_explicit(SHM_A32(w->base, SHM_H_JSON_LATEST), idx, memory_order_release);
    w->json_dirty = false;
    w->json_last_ns = mono_ns;
    w->json_gap_ns = len > JSON_FREE_BYTES ? (uint64_t)len * (uint64_t)JSON_NS_PER_BYTE : 0;
    return true;
}

static void wake_readers(plcio_shm_writer *w)
{
    atomic_fetch_add_explicit(SHM_A32(w->base, SHM_H_UPDATE_SEQ), 1, memory_order_seq_cst);
    /* Readers map the segment read-only (0640: reading must not allow
     * writing), so they cannot announce themselves: always wake. A wake with
     * nobody sleeping is one cheap system call per publish. */
    shm_futex_wake_all(SHM_A32(w->base, SHM_H_UPDATE_SEQ));
}

int plcio_shm_writer_publish(plcio_shm_writer *w, uint64_t *generation)
{
    if (!w) return PLCIO_EINVAL;
    int rc = writer_check(w);
    if (rc != PLCIO_OK) return rc;
    uint64_t gen = ++w->generation, real = plcio_realtime_ns(), mono = plcio_monotonic_ns();
    memcpy(w->work + SHM_S_GENERATION, &gen, 8);
    memcpy(w->work + SHM_S_PUBLISHED_REAL, &real, 8);
    memcpy(w->work + SHM_S_PUBLISHED_MONO, &mono, 8);
    uint32_t latest = atomic_load_explicit(SHM_A32(w->base, SHM_H_SNAP_LATEST), memory_order_relaxed);
    uint32_t idx = (latest + 1) % SHM_SNAP_BUFFERS;
    uint8_t *buf = w->base + w->g.snap_offset + (size_t)idx * w->g.snap_stride;
    /* The test hook's split: the middle of the value image (of the list). */
    if (w->snap_full[idx] || w->snap_dirty_n[idx] > w->g.tag_count / 4)
        seq_write(w, buf, w->work, w->g.snap_stride, SHM_S_HEAD + w->g.image_size / 2, SHM_HOOK_SNAPSHOT);
    else
        seq_write_staged(w, buf, idx);
    for (size_t i = 0; i < w->snap_dirty_n[idx]; i++)
        w->snap_mark[w->snap_dirty[idx][i]] &= (uint8_t) ~(1u << idx);
    w->snap_dirty_n[idx] = 0;
    w->snap_full[idx] = false;
    atomic_store_explicit(SHM_A32(w->base, SHM_H_SNAP_LATEST), idx, memory_order_release);
    atomic_store_explicit(SHM_A64(w->base, SHM_H_HEARTBEAT_MONO), mono, memory_order_relaxed);
    atomic_store_explicit(SHM_A64(w->base, SHM_H_HEARTBEAT_REAL), real, memory_order_relaxed);
    atomic_store_explicit(SHM_A64(w->base, SHM_H_GENERATION), gen, memory_order_release);
    wake_readers(w);
    /* The JSON text comes after the wake-up: rendering thousands of values
     * takes milliseconds, which binary readers should not wait for. JSON
     * readers get a second wake-up once it is there (its own generation field
     * says which snapshot it describes). */
    /* Checked again only when a document is due (two fstat calls, most
     * rounds have none): the snapshot above may have met a truncation. */
    if (json_due(w, mono) && writer_check(w) == PLCIO_OK && publish_json(w, gen, real, mono)) wake_readers(w);
    if (generation) *generation = gen;
    return PLCIO_OK;
}

/* ---------------------------------------------------------------------------
 * Write ring (consumer side): shm_ring.c moves the slots; here each request is
 * resolved against the writer's own tag table
 * ------------------------------------------------------------------------- */

static uint64_t random_key(void)
{
    uint64_t k = 0;
    if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k)
        k = plcio_realtime_ns() ^ plcio_monotonic_ns() << 17 ^ (uint64_t)getpid() << 40;
    return k ? k : 1;
}

static int create_ring(plcio_shm_writer *w, char *msg, size_t cap)
{
    w->ring_key = random_key();
    return shm_ring_server_create(w->name, w->ring_key, w->g.ring_slots, w->g.ring_value_cap, w->opts.write_share,
                                  &w->opts.ring, &w->ring, msg, cap);
}

int plcio_shm_writer_complete(plcio_shm_writer *w, uint32_t slot, int err, const char *message)
{
    if (!w || slot >= w->g.ring_slots) return PLCIO_EINVAL;
    /* A request taken from a ring that has been replaced since (even by the
     * check right here) keeps its slot reserved in the new one until
     * answered (attach_object), so this late answer lands in that reserved
     * slot, never in a new request. */
    int rc = writer_check(w);
    w->taken[slot] = 0;
    if (rc != PLCIO_OK) return PLCIO_ECLOSED;
    return shm_ring_server_answer(w->ring, slot, err, message);
}

void plcio_shm_writer_wait_requests(plcio_shm_writer *w, int timeout_ms)
{
    if (!w) return;
    if (writer_check(w) == PLCIO_OK) {
        shm_ring_server_wait(w->ring, timeout_ms);
    } else {
        /* No ring to wait on (re-creation failed, retried once a second):
         * still wait as asked, on a private word nobody changes. */
        _Atomic uint32_t idle = 0;
        shm_futex_wait(&idle, 0, timeout_ms);
    }
}

static int refuse(plcio_shm_writer *w, uint32_t slot, int err, const char *why)
{
    shm_ring_server_answer(w->ring, slot, err, why);
    return err;
}

/* Resolve, check and encode one request copied out of its slot. */
static int take_request(plcio_shm_writer *w, const shm_ring_request *q, plcio_shm_write_request *req)
{
    size_t index;
    char why[PLCIO_SHM_MESSAGE_MAX + 1];
    if (shm_name_index_find(w->tags, w->order, w->g.tag_count, q->name, &index) != PLCIO_OK) {
        shm_msg(why, sizeof why, "no tag '%s' in this engine", q->name);
        return refuse(w, q->slot, PLCIO_ENOTFOUND, why);
    }
    const shm_tag *t = &w->tags[index];
    if (!t->writable) {
        shm_msg(why, sizeof why, "tag '%s' is not writable (the engine's config says which: writable)", t->name);
        return refuse(w, q->slot, PLCIO_EACCESS, why);
    }
    memcpy(w->req_text, q->value, q->len);
    w->req_text[q->len] = '\0';
    memset(w->req_data, 0, t->size);
    if (q->format == SHM_FORMAT_RAW) {
        if (q->len != t->size) {
            shm_msg(why, sizeof why, "raw value for %s must be %u bytes, got %u", t->name, (unsigned)t->size,
                    (unsigned)q->len);
            shm_ring_server_answer(w->ring, q->slot, PLCIO_EINVAL, why);
            return PLCIO_EINVAL;
        }
        memcpy(w->req_data, q->value, q->len);
        if (t->type == PLCIO_TYPE_BOOL) w->req_data[0] &= (uint8_t)(1u << t->bit);
        w->req_text[0] = '\0';
    } else {
        char err[PLCIO_VALUE_ERR_MAX] = "";
        plcio_value v;
        plcio_value_init(&v, t->type);
        if (t->type == PLCIO_TYPE_WSTRING) plcio_value_use_buffer(&v, w->scratch, w->scratch_cap);
        int rc = value_from_text_buf(&v, t->type, t->length, w->req_text, q->len, err, sizeof err);
        if (rc == PLCIO_OK) rc = value_encode_buf(&v, w->req_data, t->size, t->bit, NULL, err, sizeof err);
        if (rc != PLCIO_OK) {
            shm_ring_server_answer(w->ring, q->slot, rc, err[0] ? err : plcio_strerror(rc));
            return rc;
        }
    }
    *req = (plcio_shm_write_request){q->slot,   q->id,  q->pid,      index,   t->name,    t->type,
                                     t->length, t->bit, w->req_data, t->size, w->req_text};
    return PLCIO_OK;
}

int plcio_shm_writer_next_write(plcio_shm_writer *w, plcio_shm_write_request *req)
{
    if (!w || !req) return PLCIO_EINVAL;
    if (writer_check(w) != PLCIO_OK) return PLCIO_ENOTFOUND;
    shm_ring_request q;
    while (shm_ring_server_next(w->ring, &q) == PLCIO_OK)
        if (take_request(w, &q, req) == PLCIO_OK) {
            w->taken[q.slot] = 1;
            return PLCIO_OK;
        }
    return PLCIO_ENOTFOUND;
}

int plcio_shm_writer_new(const char *name, const plcio_shm_tag_def *tags, size_t count, const plcio_shm_options *opts,
                         plcio_shm_writer **out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, shm_writer_create_buf(name, tags, count, opts, out, ERROR_BUF(err)));
}
