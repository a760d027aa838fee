/* plcio shm: the shared-memory segment a sync engine publishes into, and the
 * readers other processes use. The exact byte format is in docs/shm.md.
 *
 * One POSIX shared-memory object per engine (shm_open name such as
 * "/plcio-tank"; on Linux the file /dev/shm/plcio-tank). It holds
 *   - a header (magic, format version, layout hash, section offsets, engine
 *     pid, heartbeat, generation);
 *   - a tag directory (name, type, string length, image offset, bit, size), so
 *     readers need no layout file;
 *   - two snapshot buffers, each a value image (every tag's raw PLC bytes,
 *     big-endian exactly as the PLC holds them; readers decode with the type)
 *     plus per-tag quality and timestamps, published with a per-buffer
 *     sequence counter (seqlock): readers never block the engine and never
 *     see a torn image;
 *   - two JSON buffers with a JSON rendition of all values, rewritten when a
 *     value or a quality changed, published the same way;
 * and, in a second object of its own (NAME + ".ring", its own mode and group,
 * so that read access never implies write access):
 *   - a write-request ring: other processes ask for writes by tag name and get
 *     each request's result back. Only tags the engine marked writable are
 *     written; the engine resolves the name in its own tag table.
 *
 * Roles and threads
 * -----------------
 * The writer (the engine) is single-threaded: one thread at a time calls the
 * plcio_shm_writer_* functions. Any number of reader processes attach with
 * plcio_shm_reader_new; a reader handle is used by one thread at a time
 * (open one per thread). Readers never take a lock the writer waits for.
 *
 * Lifecycle
 * ---------
 * The writer holds an open-file-description lock (F_OFD_SETLK, write lock on
 * byte 0) on the segment for its whole life; the kernel drops it when the
 * process dies however it dies. plcio_shm_writer_new on a name that exists:
 *   - lock held by someone -> PLCIO_EBUSY, message names the engine pid;
 *   - lock free (the engine crashed) -> the stale segment is unlinked and a new
 *     one created. Readers of the old one see PLCIO_ECLOSED and reopen.
 * plcio_shm_writer_free marks the segment closed and unlinks it.
 */
#ifndef PLCIO_SHM_H
#define PLCIO_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/core.h"
#include "plcio/export.h"
#include "plcio/types.h"

PLCIO_BEGIN_DECLS

/* Longest tag name in bytes (without the NUL). */
#define PLCIO_SHM_NAME_MAX 127
/* Longest result message of a write request (without the NUL). */
#define PLCIO_SHM_MESSAGE_MAX 127
/* A good size for the `msg` buffers of this module. */
#define PLCIO_SHM_MSG_MAX 256

typedef enum plcio_shm_quality {
    PLCIO_SHM_QUALITY_NONE = 0,  /* never read yet */
    PLCIO_SHM_QUALITY_GOOD = 1,  /* read in the last cycle */
    PLCIO_SHM_QUALITY_STALE = 2, /* last good value kept, but reads are missing (device down, late) */
    PLCIO_SHM_QUALITY_ERROR = 3  /* the read failed: `error` tells why (plcio_err) */
} plcio_shm_quality;

/* "none", "good", "stale", "error"; "?" otherwise. Static storage. */
PLCIO_API const char *plcio_shm_quality_name(int quality);

/* One tag of the directory. */
typedef struct plcio_shm_tag_def {
    const char *name; /* up to PLCIO_SHM_NAME_MAX bytes, unique; borrowed */
    plcio_type type;
    unsigned length; /* STRING[n] / WSTRING[n]: n; ignored otherwise */
    unsigned bit;    /* BOOL: bit 0..7 of its byte; 0 otherwise */
    bool writable;   /* write requests through the ring are handed to the
                        engine; false (the default): answered PLCIO_EACCESS */
} plcio_shm_tag_def;

/* What a reader learns about a tag (directory entry). */
typedef struct plcio_shm_tag_info {
    const char *name; /* owned by the handle, valid until it is freed */
    plcio_type type;
    unsigned length; /* STRING/WSTRING declared maximum */
    unsigned bit;
    uint32_t offset; /* into the value image */
    uint32_t size;   /* raw PLC bytes (BOOL: 1, the byte holding the bit) */
    bool writable;   /* the engine accepts ring writes to it (a reader learns it
                        from the directory: informative, the engine decides) */
} plcio_shm_tag_info;

/* ======================================================================
 * Writer (the sync engine)
 * ==================================================================== */

typedef struct plcio_shm_writer plcio_shm_writer;

/* Who may open a shared-memory object: permission bits and group, set with
 * fchmod/fchown right after creation (the umask plays no part). */
typedef struct plcio_shm_access {
    unsigned mode;     /* 0..0777; 0: the default of the object */
    const char *group; /* group name or number; NULL or "": the engine's group */
} plcio_shm_access;

typedef struct plcio_shm_options {
    uint32_t write_slots;          /* write-request ring slots; 0: 64 */
    bool no_json;                  /* do not maintain the JSON rendition */
    uint64_t json_min_interval_ns; /* rewrite JSON at most this often (0: on every change) */
    plcio_shm_access data;         /* the data segment NAME; default mode 0640 */
    plcio_shm_access ring;         /* the write ring NAME.ring; default mode 0600 */
    uint32_t write_share;          /* most slots one process may hold; 0: a quarter */
} plcio_shm_options;

/* Create the segment `name` ("/plcio-tank": a leading '/', no other '/',
 * up to 200 bytes) for `count` tags (copied). `opts` may be NULL. On success
 * *out is owned by the caller (plcio_shm_writer_free). Every tag starts with
 * quality NONE and zero bytes. Errors: PLCIO_EINVAL (bad name, duplicate or
 * overlong tag name, bad type/length/bit), PLCIO_EBUSY (another live engine
 * owns the name; err names its pid), PLCIO_EACCESS, PLCIO_EIO, PLCIO_ENOMEM.
 * Two objects are made: NAME (mode opts->data.mode, default 0640) and the
 * write ring NAME.ring (opts->ring.mode, default 0600); see docs/shm.md.
 * err (may be NULL) gets a one-line explanation on error. */
PLCIO_API int plcio_shm_writer_new(const char *name, const plcio_shm_tag_def *tags, size_t count,
                                   const plcio_shm_options *opts, plcio_shm_writer **out, plcio_error *err);

/* Mark the segment closed, wake waiting readers, unlink it, release it.
 * NULL is a no-op. */
PLCIO_API void plcio_shm_writer_free(plcio_shm_writer *w);

/* Pid of the crashed engine whose stale segment _create replaced, 0 if none. */
PLCIO_API uint32_t plcio_shm_writer_replaced_pid(const plcio_shm_writer *w);

PLCIO_API size_t plcio_shm_writer_tag_count(const plcio_shm_writer *w);
/* Index of a tag by name, PLCIO_ENOTFOUND if none. */
PLCIO_API int plcio_shm_writer_find(const plcio_shm_writer *w, const char *name, size_t *index);
PLCIO_API int plcio_shm_writer_tag_info(const plcio_shm_writer *w, size_t index, plcio_shm_tag_info *out);

/* Staging: these change the engine's private working copy only; readers see
 * nothing until plcio_shm_writer_publish.
 *
 * Store a freshly read value: `raw`/`len` are the tag's PLC bytes (len must
 * equal its size; for BOOL the byte holding the bit). Quality becomes GOOD,
 * the read time `read_real_ns` (CLOCK_REALTIME ns; 0: now) is recorded, and
 * when the bytes (for BOOL: the bit) differ from the previous ones, or this is
 * the tag's first value, the change time too; when the quality was not GOOD,
 * the quality change time. `*changed` (may be NULL) tells whether the value
 * changed. PLCIO_EINVAL on a bad index or length. */
PLCIO_API int plcio_shm_writer_set(plcio_shm_writer *w, size_t index, const uint8_t *raw, size_t len,
                                   uint64_t read_real_ns, bool *changed);
/* Set quality STALE or ERROR (with the plcio_err that caused it) or NONE,
 * keeping the last bytes and their change time (the quality change time moves
 * when quality or error differ). GOOD is set by plcio_shm_writer_set only. */
PLCIO_API int plcio_shm_writer_set_quality(plcio_shm_writer *w, size_t index, plcio_shm_quality quality, int error);
/* The staged raw bytes of a tag (borrowed, valid until the writer is freed). */
PLCIO_API const uint8_t *plcio_shm_writer_raw(const plcio_shm_writer *w, size_t index, size_t *len);

/* Publish the working copy as the next snapshot (generation + 1), update the
 * heartbeat, rewrite the JSON if something changed, wake waiting readers.
 * Never blocks. `*generation` (may be NULL) gets the new generation. */
PLCIO_API int plcio_shm_writer_publish(plcio_shm_writer *w, uint64_t *generation);
/* How many times the writer found its segment or write ring truncated,
 * removed or replaced by someone else and moved to new objects under the same
 * names (docs/shm.md, "Robustness"); while new ones cannot be made (another
 * engine took the name, /dev/shm is full), _publish returns that error and
 * tries again at most once a second. */
PLCIO_API uint64_t plcio_shm_writer_recreations(const plcio_shm_writer *w);
/* Update the heartbeat only (call it at least every second when idle). */
PLCIO_API void plcio_shm_writer_heartbeat(plcio_shm_writer *w);

/* A write request taken from the ring. */
typedef struct plcio_shm_write_request {
    uint32_t slot; /* pass to plcio_shm_writer_complete */
    uint64_t id;   /* the requester's id */
    uint32_t requester_pid;
    size_t tag;       /* tag index */
    const char *name; /* tag name from the engine's own table (owned by the writer) */
    plcio_type type;
    unsigned length, bit;
    /* The value, already checked against the type and range and encoded to the
     * tag's PLC bytes (BOOL: bit `bit` of data[0] holds the value, the other
     * bits are 0 and must not be written). Points into the writer. */
    const uint8_t *data;
    size_t size;
    const char *text; /* the text as submitted (NUL-terminated), "" for raw requests */
} plcio_shm_write_request;

/* Take the next submitted request. PLCIO_OK and *req filled (valid until the
 * next call of this function), or PLCIO_ENOTFOUND when none is waiting.
 * The request names its tag; the name is looked up in the writer's own copy
 * of the tag table (never in the shared directory). Requests for an unknown
 * tag (PLCIO_ENOTFOUND), a tag not writable (PLCIO_EACCESS), or whose value
 * does not parse or fit the type (PLCIO_ESYNTAX / PLCIO_ERANGE) are answered
 * FAILED here with the reason and never returned. Slots are served round
 * robin.
 * The engine must answer every returned request with _complete. Also frees
 * slots abandoned by requesters that died. Never blocks. */
PLCIO_API int plcio_shm_writer_next_write(plcio_shm_writer *w, plcio_shm_write_request *req);
/* Answer a request: `err` PLCIO_OK (done) or the plcio_err of the failure;
 * `message` (may be NULL) is a one-line reason, cut at PLCIO_SHM_MESSAGE_MAX. */
PLCIO_API int plcio_shm_writer_complete(plcio_shm_writer *w, uint32_t slot, int err, const char *message);
/* Sleep until a request may have been submitted since the last
 * plcio_shm_writer_next_write that found none, at most timeout_ms (futex on
 * the ring; for engines that have nothing else to wait for). */
PLCIO_API void plcio_shm_writer_wait_requests(plcio_shm_writer *w, int timeout_ms);

/* ======================================================================
 * Reader
 * ==================================================================== */

typedef struct plcio_shm_reader plcio_shm_reader;

/* Attach to a segment. Validates the header, every directory entry and every
 * section against the object's size; a segment that fails gives PLCIO_EPROTO
 * (err says what is wrong), never a crash. PLCIO_ENOTFOUND: no such segment;
 * PLCIO_EAGAIN: it is still being initialised; PLCIO_EUNSUPPORTED: other
 * format version (err names both). The data segment is mapped read-only; the
 * write ring (NAME.ring) is opened on the first write, and only if this
 * process may write it. *out: caller frees with plcio_shm_reader_free. */
PLCIO_API int plcio_shm_reader_new(const char *name, plcio_shm_reader **out, plcio_error *err);
PLCIO_API void plcio_shm_reader_free(plcio_shm_reader *r);

typedef struct plcio_shm_status {
    uint32_t version;
    uint64_t layout_hash;
    uint32_t engine_pid;
    bool engine_alive;         /* the engine's lock is held */
    bool closed;               /* the engine closed the segment, or it was replaced */
    uint64_t heartbeat_age_ns; /* now - last heartbeat (CLOCK_MONOTONIC) */
    uint64_t generation;       /* latest published generation */
    uint64_t created_real_ns;
    uint32_t tag_count;
    uint32_t image_size;
    uint32_t write_slots;
    uint64_t segment_size;
} plcio_shm_status;

PLCIO_API int plcio_shm_reader_status(plcio_shm_reader *r, plcio_shm_status *out);
PLCIO_API size_t plcio_shm_reader_tag_count(const plcio_shm_reader *r);
PLCIO_API int plcio_shm_reader_tag_info(const plcio_shm_reader *r, size_t index, plcio_shm_tag_info *out);
PLCIO_API int plcio_shm_reader_find(const plcio_shm_reader *r, const char *name, size_t *index);

/* Block until a generation newer than `after` is published, at most
 * timeout_ms (-1: no limit). *generation (may be NULL) gets it. Uses a futex
 * on the segment; never spins. PLCIO_ETIMEDOUT, PLCIO_ECLOSED (the engine
 * closed or replaced the segment, or died: reopen). */
PLCIO_API int plcio_shm_reader_wait(plcio_shm_reader *r, uint64_t after, int timeout_ms, uint64_t *generation);

/* Copy the newest consistent snapshot into the handle's private copy (what
 * _get reads). PLCIO_OK; PLCIO_EAGAIN if the writer lapped the reader too
 * often (retry); PLCIO_EPROTO if the buffer's content is corrupt. Before the
 * first publish the copy is generation 0 with every quality NONE. */
PLCIO_API int plcio_shm_reader_refresh(plcio_shm_reader *r);
/* Generation of the private copy. */
PLCIO_API uint64_t plcio_shm_reader_generation(const plcio_shm_reader *r);
/* CLOCK_REALTIME ns at which the private copy was published. */
PLCIO_API uint64_t plcio_shm_reader_published_ns(const plcio_shm_reader *r);

/* A tag's value in the private copy. */
typedef struct plcio_shm_value {
    size_t index;
    plcio_type type;
    plcio_shm_quality quality;
    int error;                /* plcio_err of the last failed read (quality ERROR), else 0 */
    uint64_t changed_real_ns; /* last change of the value (CLOCK_REALTIME ns; the first value
                                 counts), 0 never; a quality change does not move it */
    uint64_t read_real_ns;    /* last read */
    const uint8_t *raw;       /* raw PLC bytes in the private copy */
    size_t raw_len;
    unsigned bit;
    /* Numeric views (0 where not meaningful): BOOL 0/1, integers and
     * CHAR/WCHAR code units, TIME ms, LTIME ns, S5TIME ms, REAL/LREAL; dates:
     * as_double is seconds since 1970 (DATE, DT, LDT, DTL) or since midnight
     * (TOD, LTOD). */
    int64_t as_int;
    double as_double;
    /* The value as text (DESIGN.md value text: %.9g, true/false, ISO dates,
     * strings unquoted UTF-8); owned by the handle, valid until the next
     * _get/_refresh. */
    const char *text;
    int decode_error;                 /* raw bytes not decodable (e.g. bad BCD): text is "" */
    uint64_t quality_changed_real_ns; /* last change of quality or error (CLOCK_REALTIME ns), 0 never */
} plcio_shm_value;

/* Read a tag of the private copy by index or by name. PLCIO_ENOTFOUND. */
PLCIO_API int plcio_shm_reader_get(plcio_shm_reader *r, size_t index, plcio_shm_value *out);
PLCIO_API int plcio_shm_reader_get_by_name(plcio_shm_reader *r, const char *name, plcio_shm_value *out);

/* The JSON rendition (consistent copy), NUL-terminated, owned by the handle
 * and valid until the next call. PLCIO_ENOTFOUND when the segment has none. */
PLCIO_API int plcio_shm_reader_json(plcio_shm_reader *r, const char **json, size_t *len);

/* ---- writes by name ---- */

typedef enum plcio_shm_write_state {
    PLCIO_SHM_WRITE_PENDING = 0,
    PLCIO_SHM_WRITE_DONE = 1,
    PLCIO_SHM_WRITE_FAILED = 2
} plcio_shm_write_state;

typedef struct plcio_shm_write_result {
    uint64_t id;
    plcio_shm_write_state state;
    int error;                               /* PLCIO_OK when done */
    char message[PLCIO_SHM_MESSAGE_MAX + 1]; /* engine's reason when failed */
} plcio_shm_write_result;

/* Submit a write of `text` (value text as plcio_value_from_text accepts it)
 * to tag `name`. *id identifies it for _write_wait. Never blocks. Errors (the
 * reason, one line, from plcio_shm_reader_write_error):
 * PLCIO_ENOTFOUND (no such tag in the directory), PLCIO_EACCESS (this process
 * may read but not write: no access to NAME.ring), PLCIO_ELIMIT (this process
 * holds its share of the slots, or the ring is full), PLCIO_ENOSPC (text too
 * long), PLCIO_ECLOSED (the engine closed the segment or died). Whether the
 * tag is writable is the engine's answer (FAILED, PLCIO_EACCESS). */
PLCIO_API int plcio_shm_reader_submit_text(plcio_shm_reader *r, const char *name, const char *text, uint64_t *id);
/* Same, waiting up to timeout_ms (-1: no limit) for a free slot when the ring
 * is full; PLCIO_ELIMIT at once if this process holds its share. */
PLCIO_API int plcio_shm_reader_submit_text_wait(plcio_shm_reader *r, const char *name, const char *text, int timeout_ms,
                                                uint64_t *id);
/* Same with the tag's raw PLC bytes (len == its size). */
PLCIO_API int plcio_shm_reader_submit_raw(plcio_shm_reader *r, const char *name, const uint8_t *raw, size_t len,
                                          uint64_t *id);
/* Why the last submit of this handle failed (one line, "" after a success).
 * Owned by the handle. */
PLCIO_API const char *plcio_shm_reader_write_error(const plcio_shm_reader *r);
/* Wait up to timeout_ms for the answer to `id`. On DONE/FAILED the slot is
 * released and *res filled; PLCIO_OK is returned in both cases (res->state
 * says which). PLCIO_ETIMEDOUT: still pending (call again; an
 * answer nobody collects is freed by the engine after 60 s); PLCIO_ECLOSED:
 * the engine is gone, or its write ring was closed, truncated or replaced
 * before the answer came: res->message says whether the write may have been
 * done (reopen the segment to write again); PLCIO_ENOTFOUND: unknown id. */
PLCIO_API int plcio_shm_reader_write_wait(plcio_shm_reader *r, uint64_t id, int timeout_ms,
                                          plcio_shm_write_result *res);
/* Submit (waiting for a free slot) + wait, one deadline of timeout_ms for
 * both. Returns PLCIO_OK with res->state DONE/FAILED, or the error of
 * submit/wait; on a submit error res->error and res->message say why (state
 * FAILED: nothing was queued). On timeout after submitting, the request stays
 * queued and res->id tells it. */
PLCIO_API int plcio_shm_reader_write(plcio_shm_reader *r, const char *name, const char *text, int timeout_ms,
                                     plcio_shm_write_result *res);

PLCIO_END_DECLS

#endif
