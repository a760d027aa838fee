/* Helpers shared by the shm writer and reader (not exported). */
#ifndef PLCIO_SHM_INTERNAL_H
#define PLCIO_SHM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/shm.h"
#include "shm/shm_format.h"

/* Directory entry decoded into native form. */
typedef struct shm_tag {
    char name[PLCIO_SHM_NAME_MAX + 1];
    plcio_type type;
    unsigned length, bit;
    uint32_t offset, size;
    bool writable;
} shm_tag;

/* Section geometry, computed by the writer, validated by the reader. */
typedef struct shm_geometry {
    uint32_t tag_count, image_size;
    uint32_t dir_offset, snap_offset, snap_stride;
    uint32_t json_count, json_offset, json_stride;
    uint32_t ring_slots, ring_value_cap; /* the write ring is an object of its own (shm_ring.h) */
    uint64_t total_size;
} shm_geometry;

/* Offset of the per-tag states inside a snapshot buffer. */
static inline uint32_t shm_tagstate_offset(const shm_geometry *g) { return SHM_S_HEAD + shm_align8(g->image_size); }

/* "/name": leading '/', no other '/', 2..200 bytes. */
bool shm_name_valid(const char *name);
void shm_msg(char *msg, size_t cap, const char *fmt, ...) PLCIO_PRINTF(3, 4);
uint64_t shm_fnv1a64(const uint8_t *p, size_t n);

/* Open-file-description locks on a byte range (Linux F_OFD_*). lock: PLCIO_OK,
 * PLCIO_EBUSY (held elsewhere), PLCIO_EIO. */
int shm_lock(int fd, uint64_t start, uint64_t len);
void shm_unlock(int fd, uint64_t start, uint64_t len);
/* True if some other open file description holds a lock on the range. */
bool shm_locked_elsewhere(int fd, uint64_t start, uint64_t len);

/* futex on a 32-bit word in shared memory (not FUTEX_PRIVATE). */
void shm_futex_wait(_Atomic uint32_t *word, uint32_t expected, int timeout_ms);
void shm_futex_wake_all(_Atomic uint32_t *word);
/* *word += delta (-2048..2047), atomically and with a full barrier, done by
 * the kernel (FUTEX_WAKE_OP): on a page a truncation took away it fails
 * (false, EFAULT) where a store from user space would raise SIGBUS. */
bool shm_futex_add(_Atomic uint32_t *word, int delta);

bool shm_pid_alive(uint32_t pid);
int shm_errno_to_plcio(int e);

/* Reserve `size` bytes of tmpfs for the object behind fd (posix_fallocate),
 * so a full /dev/shm is an error now (PLCIO_ENOSPC, msg names /dev/shm, the
 * size needed and the room left) and never a SIGBUS on a later store. */
int shm_reserve(int fd, const char *name, uint64_t size, char *msg, size_t cap);

/* Fault-free reads of the segment through its fd: pread never raises SIGBUS
 * on an object someone truncated, it returns short. PLCIO_OK when all `len`
 * bytes at `off` were read, PLCIO_ECLOSED when the object is shorter now
 * (truncated: the engine moves to a new one), PLCIO_EIO otherwise. */
int shm_read_at(int fd, uint64_t off, void *dst, size_t len);
/* True if the object behind fd is now shorter than `size` (truncated). Check before a store or an atomic
 * operation on the mapping; the time between the check and the access is a
 * window a truncation can still hit (docs/shm.md, "Robustness"). */
bool shm_object_shrunk(int fd, uint64_t size);

/* A JSON document is held back (its interval, or the bound on a large one)
 * and would be written by a publication now: the engine publishes for it
 * when no round does. */
bool shm_writer_json_pending(const plcio_shm_writer *w, uint64_t mono_ns);

/* Test-only hooks (tests/unit/test_shm_robust.c); NULL in production. The
 * writer calls its hook halfway through a seqlock write, between the odd
 * ("being written") and the even store of the buffer's sequence word; the
 * reader calls its hook after it read the sequence word, before it copies.
 * `where` is SHM_HOOK_SNAPSHOT or SHM_HOOK_JSON. */
typedef void (*shm_test_hook)(void *ctx, int where);
enum { SHM_HOOK_SNAPSHOT = 0, SHM_HOOK_JSON = 1 };
void shm_writer_set_test_hook(plcio_shm_writer *w, shm_test_hook hook, void *ctx);
void shm_reader_set_test_hook(plcio_shm_reader *r, shm_test_hook hook, void *ctx);

/* Tag directory entry <-> struct. */
void shm_tag_store(uint8_t *entry, const shm_tag *t);
/* Validate one directory entry against the image size; msg explains. */
int shm_tag_load(const uint8_t *entry, uint32_t image_size, shm_tag *t, char *msg, size_t cap);

/* Sorted index for name lookup: order[] holds tag indexes sorted by name. */
size_t *shm_name_index_new(const shm_tag *tags, size_t count);
int shm_name_index_find(const shm_tag *tags, const size_t *order, size_t count, const char *name, size_t *index);

/* Value text of raw bytes (plcio_value_to_text). `scratch`/`scratch_cap` hold
 * long WSTRING text. Returns PLCIO_OK or the decode error. */
int shm_value_text(const shm_tag *t, const uint8_t *raw, char *buf, size_t cap, size_t *len);
/* The JSON value of raw bytes (number, true/false, null for NaN/inf, or a
 * quoted string) appended at *pos within [buf, buf+cap). */
int shm_value_json(const shm_tag *t, const uint8_t *raw, char *buf, size_t cap, size_t *pos, char *scratch,
                   size_t scratch_cap);
/* Upper bound of the bytes shm_value_json and the value text may take. */
size_t shm_value_text_bound(const shm_tag *t);
/* JSON string literal of s[0..n) appended at *pos. PLCIO_ENOSPC if it does not fit. */
int shm_json_string(const char *s, size_t n, char *buf, size_t cap, size_t *pos);

/* One tag's JSON object as the shm JSON rendition holds it, without its read
 * time and closing brace:
 *   "name":{"value":V,"quality":"good"[,"error":"PLCIO_E..."],"ts":MS
 * (the caller appends ,"read":MS}). V is null while quality is NONE. Appended
 * at *pos; PLCIO_ENOSPC if it does not fit (never within
 * shm_json_tag_bound(t) bytes). The writer keeps one per tag and renders it
 * again only when the tag changes; other JSON outputs (MQTT, HTTP) can do the
 * same. scratch: shm_value_text_bound(t) bytes for text values. */
int shm_json_tag_head(const shm_tag *t, const uint8_t *raw, uint8_t quality, int32_t error, uint64_t changed_ns,
                      char *buf, size_t cap, size_t *pos, char *scratch, size_t scratch_cap);
/* Its two parts: "name":{"value": (the same every time: the writer keeps it)
 * and what follows. */
int shm_json_tag_name(const shm_tag *t, char *buf, size_t cap, size_t *pos);
int shm_json_tag_body(const shm_tag *t, const uint8_t *raw, uint8_t quality, int32_t error, uint64_t changed_ns,
                      char *buf, size_t cap, size_t *pos, char *scratch, size_t scratch_cap);
size_t shm_json_tag_bound(const shm_tag *t);

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int shm_reader_open_buf(const char *name, plcio_shm_reader **out, char *msg, size_t msg_cap);

/* (char *, size_t) forms of public functions, for callers that keep a plain buffer. */
int shm_writer_create_buf(const char *name, const plcio_shm_tag_def *tags, size_t count, const plcio_shm_options *opts,
                          plcio_shm_writer **out, char *msg, size_t msg_cap);

#endif
