/* The shared-memory segment format (docs/shm.md is the reference for other
 * languages; keep both in step). All integers are in host byte order (the
 * magic "PLCIOSHM" written as bytes plus the `endian` word 0x01020304 tell a
 * reader); every field is naturally aligned. Offsets are from the start of
 * the segment. Fields marked (atomic) are read and written with C11 atomics
 * by this library and with plain aligned loads/stores by the Python reader. */
#ifndef PLCIO_SHM_FORMAT_H
#define PLCIO_SHM_FORMAT_H

#include <stdatomic.h>
#include <stdint.h>

#define SHM_MAGIC "PLCIOSHM"
#define SHM_VERSION                                                                                                    \
    3u /* 2: the write ring moved to its own object (NAME.ring), CAS claims; 3: per-tag state 32 bytes,                \
          CHANGED is the last value change, QUALITY_CHANGED the last quality change */
#define SHM_ENDIAN 0x01020304u

/* ---- header: 256 bytes at offset 0 ---- */
#define SHM_HEADER_SIZE      256u
#define SHM_H_MAGIC          0  /* char[8] "PLCIOSHM" */
#define SHM_H_VERSION        8  /* u32 SHM_VERSION */
#define SHM_H_HEADER_SIZE    12 /* u32 256 */
#define SHM_H_TOTAL_SIZE     16 /* u64 size of the whole segment */
#define SHM_H_LAYOUT_HASH    24 /* u64 FNV-1a 64 of the tag directory bytes */
#define SHM_H_ENGINE_PID     32 /* u32 */
#define SHM_H_STATE          36 /* u32 (atomic) 0 initialising, 1 ready, 2 closed */
#define SHM_H_CREATED_NS     40 /* u64 CLOCK_REALTIME ns */
#define SHM_H_HEARTBEAT_MONO 48 /* u64 (atomic) CLOCK_MONOTONIC ns of the last heartbeat */
#define SHM_H_HEARTBEAT_REAL 56 /* u64 (atomic) CLOCK_REALTIME ns of the last heartbeat */
#define SHM_H_UPDATE_SEQ     64 /* u32 (atomic, futex word) +1 per publish and on close */
#define SHM_H_WAITERS                                                                                                  \
    68                           /* u32 reserved, 0 (version 1: sleeping readers; readers now map the                  \
                                    segment read-only, so the engine always wakes) */
#define SHM_H_GENERATION     72  /* u64 (atomic) newest published generation */
#define SHM_H_TAG_COUNT      80  /* u32 */
#define SHM_H_DIR_OFFSET     84  /* u32 */
#define SHM_H_DIR_ENTRY_SIZE 88  /* u32 SHM_DIR_ENTRY_SIZE */
#define SHM_H_IMAGE_SIZE     92  /* u32 bytes of the value image */
#define SHM_H_TAGSTATE_SIZE  96  /* u32 SHM_TAGSTATE_SIZE */
#define SHM_H_SNAP_COUNT     100 /* u32 number of snapshot buffers (2) */
#define SHM_H_SNAP_OFFSET    104 /* u32 first snapshot buffer */
#define SHM_H_SNAP_STRIDE    108 /* u32 bytes per snapshot buffer */
#define SHM_H_SNAP_LATEST    112 /* u32 (atomic) index of the newest complete buffer */
#define SHM_H_JSON_COUNT     116 /* u32 number of JSON buffers (2, or 0: no JSON) */
#define SHM_H_JSON_OFFSET    120 /* u32 */
#define SHM_H_JSON_STRIDE    124 /* u32 */
#define SHM_H_JSON_LATEST    128 /* u32 (atomic) */
/* 132 reserved, zero */
#define SHM_H_RING_KEY   136 /* u64 random; the write ring's SHM_R_KEY equals it (0: no ring) */
#define SHM_H_RING_SLOTS 144 /* u32 slots of the write ring (informative) */
/* 148 reserved, zero */
#define SHM_H_ENDIAN 152 /* u32 0x01020304 */
/* 156..255 reserved, zero */

/* ---- tag directory entry ---- */
#define SHM_DIR_ENTRY_SIZE 144u
#define SHM_D_NAME         0   /* char[128], NUL-terminated, NUL-padded */
#define SHM_D_TYPE         128 /* u16 plcio_type value (docs/shm.md lists them) */
#define SHM_D_LENGTH       130 /* u16 STRING/WSTRING declared maximum */
#define SHM_D_BIT          132 /* u8 */
#define SHM_D_FLAGS        133 /* u8 SHM_TAG_WRITABLE (informative: the engine's own table decides) */
/* 134..135 reserved */
#define SHM_D_OFFSET 136 /* u32 into the value image */
#define SHM_D_SIZE   140 /* u32 raw bytes */

/* ---- snapshot buffer ---- */
#define SHM_S_SEQ            0   /* u64 (atomic) odd while the writer fills the buffer */
#define SHM_S_GENERATION     8   /* u64 */
#define SHM_S_PUBLISHED_REAL 16  /* u64 CLOCK_REALTIME ns */
#define SHM_S_PUBLISHED_MONO 24  /* u64 CLOCK_MONOTONIC ns */
#define SHM_S_HEAD           64u /* value image starts here; tag states follow at 64 + align8(image) */

/* ---- per-tag state, after the image ---- */
#define SHM_TAGSTATE_SIZE     32u
#define SHM_T_QUALITY         0  /* u8 plcio_shm_quality */
#define SHM_T_ERROR           4  /* i32 plcio_err */
#define SHM_T_CHANGED         8  /* u64 CLOCK_REALTIME ns of the last value change (the first value counts) */
#define SHM_T_READ            16 /* u64 CLOCK_REALTIME ns of the last read */
#define SHM_T_QUALITY_CHANGED 24 /* u64 CLOCK_REALTIME ns of the last change of quality or error */

/* ---- JSON buffer ---- */
#define SHM_J_SEQ        0   /* u64 (atomic) */
#define SHM_J_GENERATION 8   /* u64 */
#define SHM_J_LENGTH     16  /* u32 bytes of text */
#define SHM_J_HEAD       32u /* text starts here */

/* ---- write ring: a separate object, the data name + SHM_RING_SUFFIX, with
 * its own mode and group, so that read access never implies write access ---- */
#define SHM_RING_SUFFIX      ".ring"
#define SHM_RING_MAGIC       "PLCIORNG"
#define SHM_R_HEADER_SIZE    128u
#define SHM_R_MAGIC          0  /* char[8] "PLCIORNG" */
#define SHM_R_VERSION        8  /* u32 SHM_VERSION */
#define SHM_R_HEADER_BYTES   12 /* u32 SHM_R_HEADER_SIZE */
#define SHM_R_TOTAL_SIZE     16 /* u64 */
#define SHM_R_KEY            24 /* u64 equals the data header's SHM_H_RING_KEY */
#define SHM_R_ENGINE_PID     32 /* u32 */
#define SHM_R_STATE          36 /* u32 (atomic) SHM_STATE_* */
#define SHM_R_SLOTS          40 /* u32 */
#define SHM_R_SLOT_SIZE      44 /* u32 */
#define SHM_R_VALUE_CAP      48 /* u32 value bytes per slot */
#define SHM_R_SHARE          52 /* u32 most slots one process may hold at a time */
#define SHM_R_RESERVE        56 /* u32 free slots only a process holding none may take */
#define SHM_R_ENDIAN         60 /* u32 0x01020304 */
#define SHM_R_DONE_SEQ       64 /* u32 (atomic, futex word) +1 per answered write */
#define SHM_R_DONE_WAITERS   68 /* u32 (atomic) requesters sleeping on DONE_SEQ */
#define SHM_R_FREE_SEQ       72 /* u32 (atomic, futex word) +1 per slot given back */
#define SHM_R_FREE_WAITERS   76 /* u32 (atomic) requesters sleeping on FREE_SEQ */
#define SHM_R_SUBMIT_SEQ     80 /* u32 (atomic, futex word) +1 per submitted request */
#define SHM_R_ENGINE_WAITING 84 /* u32 (atomic) nonzero while the engine sleeps on SUBMIT_SEQ */
/* 88..127 reserved, zero; slots start at SHM_R_HEADER_SIZE */

/* ---- write ring slot ---- */
#define SHM_W_CTL       0    /* u64 (atomic) state | ticket << 8 | pid << 32; changed by CAS only */
#define SHM_W_FORMAT    8    /* u32 0 text, 1 raw */
#define SHM_W_VALUE_LEN 12   /* u32 */
#define SHM_W_RESULT    16   /* i32 plcio_err */
#define SHM_W_NAME_LEN  20   /* u32 bytes of the tag name */
#define SHM_W_SUBMITTED 24   /* u64 CLOCK_MONOTONIC ns */
#define SHM_W_COMPLETED 32   /* u64 CLOCK_MONOTONIC ns */
#define SHM_W_NAME      64   /* char[128] the tag's name: the engine resolves it in its own table */
#define SHM_W_MESSAGE   192  /* char[128] */
#define SHM_W_HEAD      320u /* value bytes start here */

#define SHM_CTL_STATE(c)            ((uint32_t)((c)&0xFFu))
#define SHM_CTL_TICKET(c)           ((uint32_t)(((c) >> 8) & 0xFFFFFFu))
#define SHM_CTL_PID(c)              ((uint32_t)((c) >> 32))
#define SHM_CTL(state, ticket, pid) ((uint64_t)(state) | (uint64_t)((ticket)&0xFFFFFFu) << 8 | (uint64_t)(pid) << 32)

enum {
    SHM_SLOT_FREE = 0,
    SHM_SLOT_CLAIMED = 1,   /* a requester owns it and is filling it */
    SHM_SLOT_SUBMITTED = 2, /* filled, waiting for the engine */
    SHM_SLOT_BUSY = 3,      /* the engine took it */
    SHM_SLOT_DONE = 4,      /* answered: written */
    SHM_SLOT_FAILED = 5     /* answered: not written, RESULT/MESSAGE say why */
};
enum { SHM_TAG_WRITABLE = 1 };
enum { SHM_FORMAT_TEXT = 0, SHM_FORMAT_RAW = 1 };
enum { SHM_STATE_INIT = 0, SHM_STATE_READY = 1, SHM_STATE_CLOSED = 2 };

#define SHM_SNAP_BUFFERS 2u
#define SHM_JSON_BUFFERS 2u
#define SHM_MAX_SEGMENT  (UINT32_MAX - 4096u)

static inline uint32_t shm_align8(uint32_t v) { return (v + 7u) & ~7u; }

/* Typed views of a field. The segment is mapped page-aligned and every field
 * sits at a multiple of its size, so these casts are aligned. */
#define SHM_U32(base, off) ((uint32_t *)(void *)((uint8_t *)(base) + (off)))
#define SHM_U64(base, off) ((uint64_t *)(void *)((uint8_t *)(base) + (off)))
#define SHM_A32(base, off) ((_Atomic uint32_t *)(void *)((uint8_t *)(base) + (off)))
#define SHM_A64(base, off) ((_Atomic uint64_t *)(void *)((uint8_t *)(base) + (off)))

#endif
