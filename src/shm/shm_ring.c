/* The write-request ring (see shm_ring.h and docs/shm.md, "Write ring").
 *
 * Slot control word (u64, changed only by compare-and-swap):
 *   state (bits 0-7) | ticket (bits 8-31) | pid (bits 32-63)
 *
 *   requester  (t, FREE, 0)        -> (t+1, CLAIMED, me)    claim: one winner
 *   requester  (t, CLAIMED, me)    -> (t, SUBMITTED, me)    after filling the slot (release)
 *   requester  (t, CLAIMED, me)    -> (t, FREE, 0)          gave up before submitting
 *   engine     (t, SUBMITTED, p)   -> (t, BUSY, p)          then copies the request out
 *   engine     (t, BUSY, p)        -> (t, DONE|FAILED, p)   result and message first (release)
 *   requester  (t, DONE|FAILED, me)-> (t, FREE, 0)          after copying the answer
 *   engine     (t, CLAIMED, dead)  -> (t, FREE, 0)          requester died while filling
 *   engine     (t, DONE|FAILED, p) -> (t, FREE, 0)          p died, or 60 s uncollected
 *
 * The request id is slot << 32 | ticket: a slot freed and claimed again has
 * another ticket, so an old id never collects someone else's answer. A store
 * that is not a CAS never touches the word, so nobody ever sees a state that
 * nobody meant (a plain store may pass through other values: CPython's
 * struct.pack_into clears the field first, which is how version 1 lost writes).
 *
 * Fairness: a process may hold at most SHARE slots; a process that already
 * holds one may not take the last RESERVE free slots, which stay for
 * processes that hold none. Both are kept by the requesters (a hostile holder
 * of write access can ignore them; it can also write any writable tag).
 *
 * Order: the engine takes requests oldest first by their SUBMITTED stamp
 * (CLOCK_MONOTONIC ns, strictly increasing within a requesting process), never
 * by slot position: a process's writes to one tag are applied in the order it
 * submitted them, wherever its slots lie (shm_ring_server_next says why a
 * request seen late can never overtake an older one). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plcio/core.h"
#include "shm/shm_ring.h"

#define REAP_INTERVAL_NS   (PLCIO_NS_PER_S)
#define ABANDONED_AFTER_NS (60 * PLCIO_NS_PER_S)
#define LIVENESS_SLICE_MS  100
#define RING_NAME_MAX      216

/* ---------------------------------------------------------------------------
 * Both sides
 * ------------------------------------------------------------------------- */

bool shm_ring_name(const char *data_name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", data_name, SHM_RING_SUFFIX);
    return n > 0 && (size_t)n < cap && shm_name_valid(out);
}

static int parse_group(const char *group, gid_t *gid, char *msg, size_t cap, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(group, &end, 10);
    if (group[0] >= '0' && group[0] <= '9' && !*end && !errno && v < (unsigned long)(gid_t)-1) {
        *gid = (gid_t)v;
        return PLCIO_OK;
    }
    struct group gr, *found = NULL;
    char buf[4096];
    if (getgrnam_r(group, &gr, buf, sizeof buf, &found) != 0 || !found) {
        shm_msg(msg, cap, "%s: no group named '%s'", what, group);
        return PLCIO_EINVAL;
    }
    *gid = found->gr_gid;
    return PLCIO_OK;
}

int shm_apply_access(int fd, const plcio_shm_access *a, unsigned dflt, const char *what, char *msg, size_t cap)
{
    unsigned mode = a && a->mode ? a->mode : dflt;
    if (mode & ~0777u) {
        shm_msg(msg, cap, "%s: mode %o has bits beyond 0777", what, mode);
        return PLCIO_EINVAL;
    }
    if (a && a->group && a->group[0]) {
        gid_t gid;
        int rc = parse_group(a->group, &gid, msg, cap, what);
        if (rc != PLCIO_OK) return rc;
        if (fchown(fd, (uid_t)-1, gid) != 0) {
            int e = errno;
            shm_msg(msg, cap, "%s: cannot give it to group '%s': %s", what, a->group, strerror(e));
            return shm_errno_to_plcio(e);
        }
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        int e = errno;
        shm_msg(msg, cap, "%s: chmod %o: %s", what, mode, strerror(e));
        return shm_errno_to_plcio(e);
    }
    return PLCIO_OK;
}

static uint8_t *slot_at(uint8_t *base, uint32_t slot_size, uint32_t i)
{
    return base + SHM_R_HEADER_SIZE + (size_t)i * slot_size;
}

static _Atomic uint64_t *ctl_of(uint8_t *slot) { return SHM_A64(slot, SHM_W_CTL); }

static bool cas(_Atomic uint64_t *w, uint64_t expect, uint64_t want)
{
    return atomic_compare_exchange_strong_explicit(w, &expect, want, memory_order_acq_rel, memory_order_acquire);
}

/* Bump a futex word and wake its sleepers if there are any (seq_cst pairs
 * with the sleeper's increment of `waiters` before it re-reads the word). */
static void bump_and_wake(uint8_t *base, size_t seq_off, size_t waiters_off)
{
    atomic_fetch_add_explicit(SHM_A32(base, seq_off), 1, memory_order_seq_cst);
    if (atomic_load_explicit(SHM_A32(base, waiters_off), memory_order_seq_cst))
        shm_futex_wake_all(SHM_A32(base, seq_off));
}

/* The waiter count is changed by the kernel (FUTEX_WAKE_OP, a full barrier
 * like the seq_cst operations it pairs with): the object may be truncated
 * while we sleep, and a decrement from user space would then raise SIGBUS
 * where the kernel answers EFAULT. The futex wait itself only reads the word
 * (EFAULT too), and checks it against `seen` atomically. */
static void sleep_on(uint8_t *base, size_t seq_off, size_t waiters_off, uint32_t seen, int ms)
{
    _Atomic uint32_t *waiters = SHM_A32(base, waiters_off), *seq = SHM_A32(base, seq_off);
    if (!shm_futex_add(waiters, 1)) return;
    shm_futex_wait(seq, seen, ms);
    (void)shm_futex_add(waiters, -1);
}

/* ---------------------------------------------------------------------------
 * Engine side
 * ------------------------------------------------------------------------- */

/* A SUBMITTED request seen by a scan. */
typedef struct shm_ring_pending {
    uint64_t stamp;
    uint32_t pid, slot;
} shm_ring_pending;

struct shm_ring_server {
    char name[RING_NAME_MAX];
    int fd;
    uint8_t *base;
    size_t size;
    uint32_t slots, slot_size, value_cap;
    uint32_t submit_seen;
    uint64_t last_reap_ns;
    uint8_t *value; /* private copy of the request being handed out */
    /* _next hands out a batch: the requests one pair of scans found takeable,
     * oldest first; a new pair of scans when it is used up */
    shm_ring_pending *first_scan; /* SUBMITTED in the first scan, by pid then stamp */
    shm_ring_pending *batch;
    uint32_t first_count, batch_count, batch_next;
};

uint32_t shm_ring_server_slots(const shm_ring_server *s) { return s ? s->slots : 0; }

/* The name exists: a live engine holds it (EBUSY), or it is stale (unlinked
 * here, EAGAIN: create again). */
static int ring_existing(const char *name, char *msg, size_t cap)
{
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
        if (errno == ENOENT) return PLCIO_EAGAIN;
        int e = errno;
        shm_msg(msg, cap, "write ring %s exists and cannot be opened (%s): remove it or pick another --shm name", name,
                strerror(e));
        return shm_errno_to_plcio(e);
    }
    int rc = shm_lock(fd, 0, 1);
    if (rc == PLCIO_EBUSY) shm_msg(msg, cap, "write ring %s is in use by another engine", name);
    if (rc == PLCIO_OK) {
        if (shm_unlink(name) != 0) {
            int e = errno;
            shm_msg(msg, cap, "stale write ring %s cannot be removed: %s", name, strerror(e));
            rc = shm_errno_to_plcio(e);
        } else {
            rc = PLCIO_EAGAIN;
        }
    }
    close(fd);
    return rc;
}

static int ring_open_exclusive(shm_ring_server *s, char *msg, size_t cap)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        /* 0600 until the final mode and group are set: nobody else gets in meanwhile */
        int fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno != EEXIST) {
                int e = errno;
                shm_msg(msg, cap, "shm_open %s: %s", s->name, strerror(e));
                return shm_errno_to_plcio(e);
            }
            int rc = ring_existing(s->name, msg, cap);
            if (rc == PLCIO_EAGAIN) continue;
            return rc;
        }
        struct stat st;
        if (shm_lock(fd, 0, 1) != PLCIO_OK || fstat(fd, &st) != 0 || st.st_nlink == 0) {
            close(fd);
            continue;
        }
        s->fd = fd;
        return PLCIO_OK;
    }
    shm_msg(msg, cap, "write ring %s: another engine keeps creating it", s->name);
    return PLCIO_EBUSY;
}

static void ring_header(shm_ring_server *s, uint64_t key, uint32_t share)
{
    uint8_t *b = s->base;
    memcpy(b + SHM_R_MAGIC, SHM_RING_MAGIC, 8);
    *SHM_U32(b, SHM_R_VERSION) = SHM_VERSION;
    *SHM_U32(b, SHM_R_HEADER_BYTES) = SHM_R_HEADER_SIZE;
    *SHM_U64(b, SHM_R_TOTAL_SIZE) = s->size;
    *SHM_U64(b, SHM_R_KEY) = key;
    *SHM_U32(b, SHM_R_ENGINE_PID) = (uint32_t)getpid();
    *SHM_U32(b, SHM_R_SLOTS) = s->slots;
    *SHM_U32(b, SHM_R_SLOT_SIZE) = s->slot_size;
    *SHM_U32(b, SHM_R_VALUE_CAP) = s->value_cap;
    *SHM_U32(b, SHM_R_SHARE) = share ? (share > s->slots ? s->slots : share) : (s->slots >= 4 ? s->slots / 4 : 1);
    *SHM_U32(b, SHM_R_RESERVE) = s->slots / 8;
    *SHM_U32(b, SHM_R_ENDIAN) = SHM_ENDIAN;
    atomic_store_explicit(SHM_A32(b, SHM_R_STATE), SHM_STATE_READY, memory_order_release);
}

int shm_ring_server_create(const char *data_name, uint64_t key, uint32_t slots, uint32_t value_cap, uint32_t share,
                           const plcio_shm_access *a, shm_ring_server **out, char *msg, size_t cap)
{
    *out = NULL;
    shm_ring_server *s = calloc(1, sizeof *s);
    if (!s) return PLCIO_ENOMEM;
    s->fd = -1;
    if (!shm_ring_name(data_name, s->name, sizeof s->name)) {
        shm_msg(msg, cap, "shared memory name %s is too long for its write ring %s%s", data_name, data_name,
                SHM_RING_SUFFIX);
        free(s);
        return PLCIO_EINVAL;
    }
    s->slots = slots;
    s->value_cap = value_cap;
    s->slot_size = (SHM_W_HEAD + value_cap + 63u) & ~63u;
    s->size = SHM_R_HEADER_SIZE + (size_t)slots * s->slot_size;
    s->value = calloc(1, (size_t)value_cap + 1);
    s->first_scan = calloc(slots ? slots : 1, sizeof *s->first_scan);
    s->batch = calloc(slots ? slots : 1, sizeof *s->batch);
    bool allocated = s->value && s->first_scan && s->batch;
    int rc = allocated ? ring_open_exclusive(s, msg, cap) : PLCIO_ENOMEM;
    if (rc == PLCIO_OK) rc = shm_apply_access(s->fd, a, 0600, s->name, msg, cap);
    /* posix_fallocate: a full /dev/shm is PLCIO_ENOSPC now, never a SIGBUS later */
    if (rc == PLCIO_OK) rc = shm_reserve(s->fd, s->name, s->size, msg, cap);
    if (rc == PLCIO_OK) {
        void *p = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
        if (p == MAP_FAILED) {
            shm_msg(msg, cap, "mmap %s: %s", s->name, strerror(errno));
            rc = PLCIO_ENOMEM;
        } else {
            s->base = p;
        }
    }
    if (rc != PLCIO_OK) {
        if (s->fd >= 0) shm_unlink(s->name);
        shm_ring_server_close(s, NULL);
        return rc;
    }
    ring_header(s, key, share);
    *out = s;
    return PLCIO_OK;
}

static void answer(shm_ring_server *s, uint8_t *slot, uint64_t ctl, int err, const char *message)
{
    char *m = (char *)slot + SHM_W_MESSAGE;
    memset(m, 0, PLCIO_SHM_MESSAGE_MAX + 1);
    if (message) snprintf(m, PLCIO_SHM_MESSAGE_MAX + 1, "%s", message);
    int32_t e = err;
    memcpy(slot + SHM_W_RESULT, &e, 4);
    uint64_t now = plcio_monotonic_ns();
    memcpy(slot + SHM_W_COMPLETED, &now, 8);
    uint64_t done = SHM_CTL(err == PLCIO_OK ? SHM_SLOT_DONE : SHM_SLOT_FAILED, SHM_CTL_TICKET(ctl), SHM_CTL_PID(ctl));
    if (cas(ctl_of(slot), ctl, done)) bump_and_wake(s->base, SHM_R_DONE_SEQ, SHM_R_DONE_WAITERS);
}

int shm_ring_server_answer(shm_ring_server *s, uint32_t slot, int err, const char *message)
{
    if (!s || slot >= s->slots) return PLCIO_EINVAL;
    uint8_t *sl = slot_at(s->base, s->slot_size, slot);
    uint64_t ctl = atomic_load_explicit(ctl_of(sl), memory_order_acquire);
    if (SHM_CTL_STATE(ctl) != SHM_SLOT_BUSY) return PLCIO_ESTATE;
    answer(s, sl, ctl, err, message ? message : (err ? plcio_strerror(err) : ""));
    return PLCIO_OK;
}

bool shm_ring_server_intact(const shm_ring_server *s)
{
    struct stat st;
    return s && s->base && fstat(s->fd, &st) == 0 && st.st_nlink > 0 && (uint64_t)st.st_size >= s->size;
}

void shm_ring_server_reserve(shm_ring_server *s, uint32_t slot)
{
    if (!s || slot >= s->slots) return;
    _Atomic uint64_t *w = ctl_of(slot_at(s->base, s->slot_size, slot));
    uint64_t ctl = atomic_load_explicit(w, memory_order_acquire);
    if (SHM_CTL_STATE(ctl) == SHM_SLOT_FREE) (void)cas(w, ctl, SHM_CTL(SHM_SLOT_BUSY, SHM_CTL_TICKET(ctl), 0));
}

void shm_ring_server_close(shm_ring_server *s, const char *why)
{
    if (!s) return;
    /* A truncated ring is never touched again (a store would raise SIGBUS):
     * its requesters see it shrunk and give up on their own. */
    if (s->base && shm_ring_server_intact(s)) {
        for (uint32_t i = 0; i < s->slots; i++) {
            uint8_t *sl = slot_at(s->base, s->slot_size, i);
            for (int tries = 0; tries < 4; tries++) { /* a requester may be submitting right now */
                uint64_t ctl = atomic_load_explicit(ctl_of(sl), memory_order_acquire);
                uint32_t st = SHM_CTL_STATE(ctl);
                if (st != SHM_SLOT_SUBMITTED && st != SHM_SLOT_BUSY) break;
                uint64_t busy = SHM_CTL(SHM_SLOT_BUSY, SHM_CTL_TICKET(ctl), SHM_CTL_PID(ctl));
                if (st == SHM_SLOT_SUBMITTED && !cas(ctl_of(sl), ctl, busy)) continue;
                /* SUBMITTED: never handed to the engine, so surely not done;
                 * BUSY: the engine has it, `why` says what is known. */
                answer(s, sl, busy, PLCIO_ECLOSED,
                       st == SHM_SLOT_SUBMITTED ? "the engine closed its write ring before taking this write: not done"
                                                : (why ? why : "engine stopped"));
                break;
            }
        }
        atomic_store_explicit(SHM_A32(s->base, SHM_R_STATE), SHM_STATE_CLOSED, memory_order_release);
        bump_and_wake(s->base, SHM_R_DONE_SEQ, SHM_R_DONE_WAITERS);
        bump_and_wake(s->base, SHM_R_FREE_SEQ, SHM_R_FREE_WAITERS);
    }
    if (s->base) munmap(s->base, s->size);
    if (s->fd >= 0) {
        struct stat mine, cur;
        int fd = shm_open(s->name, O_RDONLY | O_CLOEXEC, 0);
        if (fd >= 0) {
            if (fstat(s->fd, &mine) == 0 && fstat(fd, &cur) == 0 && mine.st_ino == cur.st_ino &&
                mine.st_dev == cur.st_dev)
                shm_unlink(s->name);
            close(fd);
        }
        close(s->fd);
    }
    free(s->value);
    free(s->first_scan);
    free(s->batch);
    free(s);
}

/* Free slots whose requester died, and answers nobody collected in time. */
static void reap(shm_ring_server *s)
{
    uint64_t now = plcio_monotonic_ns();
    if (s->last_reap_ns && now - s->last_reap_ns < REAP_INTERVAL_NS) return;
    s->last_reap_ns = now;
    for (uint32_t i = 0; i < s->slots; i++) {
        uint8_t *sl = slot_at(s->base, s->slot_size, i);
        uint64_t ctl = atomic_load_explicit(ctl_of(sl), memory_order_acquire);
        uint32_t st = SHM_CTL_STATE(ctl);
        if (st != SHM_SLOT_CLAIMED && st != SHM_SLOT_DONE && st != SHM_SLOT_FAILED) continue;
        uint64_t done;
        memcpy(&done, sl + SHM_W_COMPLETED, 8);
        bool old = st != SHM_SLOT_CLAIMED && now - done > ABANDONED_AFTER_NS;
        if ((old || !shm_pid_alive(SHM_CTL_PID(ctl))) &&
            cas(ctl_of(sl), ctl, SHM_CTL(SHM_SLOT_FREE, SHM_CTL_TICKET(ctl), 0)))
            bump_and_wake(s->base, SHM_R_FREE_SEQ, SHM_R_FREE_WAITERS);
    }
}

/* Copy the request out of a BUSY slot; malformed ones are answered. */
static int copy_out(shm_ring_server *s, uint32_t i, uint8_t *sl, uint64_t ctl, shm_ring_request *req)
{
    uint32_t format, len, name_len;
    memcpy(&format, sl + SHM_W_FORMAT, 4);
    memcpy(&len, sl + SHM_W_VALUE_LEN, 4);
    memcpy(&name_len, sl + SHM_W_NAME_LEN, 4);
    if (format > SHM_FORMAT_RAW || len > s->value_cap || name_len == 0 || name_len > PLCIO_SHM_NAME_MAX) {
        answer(s, sl, ctl, PLCIO_EINVAL, "malformed request (name length, value length or format out of range)");
        return PLCIO_EINVAL;
    }
    memcpy(req->name, sl + SHM_W_NAME, name_len);
    req->name[name_len] = '\0';
    if (strlen(req->name) != name_len) {
        answer(s, sl, ctl, PLCIO_EINVAL, "malformed request (NUL inside the tag name)");
        return PLCIO_EINVAL;
    }
    memcpy(s->value, sl + SHM_W_HEAD, len);
    s->value[len] = 0;
    req->slot = i;
    req->pid = SHM_CTL_PID(ctl);
    req->format = format;
    req->len = len;
    req->id = (uint64_t)i << 32 | SHM_CTL_TICKET(ctl);
    req->value = s->value;
    return PLCIO_OK;
}

/* A slot's state, pid and SUBMITTED stamp; the stamp is read after the
 * acquire load that saw SUBMITTED, so it is the requester's. */
static bool slot_submitted(shm_ring_server *s, uint32_t i, uint64_t *ctl, uint64_t *stamp)
{
    uint8_t *sl = slot_at(s->base, s->slot_size, i);
    *ctl = atomic_load_explicit(ctl_of(sl), memory_order_acquire);
    *stamp = 0;
    if (SHM_CTL_STATE(*ctl) != SHM_SLOT_SUBMITTED) return false;
    memcpy(stamp, sl + SHM_W_SUBMITTED, 8);
    return true;
}

static int by_pid_then_stamp(const void *a, const void *b)
{
    const shm_ring_pending *x = a, *y = b;
    if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
    return x->stamp < y->stamp ? -1 : x->stamp > y->stamp ? 1 : 0;
}

static int by_stamp_then_slot(const void *a, const void *b)
{
    const shm_ring_pending *x = a, *y = b;
    if (x->stamp != y->stamp) return x->stamp < y->stamp ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot ? 1 : 0;
}

/* The newest stamp the first scan saw from `pid` (0: none). */
static uint64_t first_scan_newest(const shm_ring_server *s, uint32_t pid)
{
    size_t lo = 0, hi = s->first_count; /* the last entry of pid: stamps ascend within a pid */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->first_scan[mid].pid <= pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && s->first_scan[lo - 1].pid == pid ? s->first_scan[lo - 1].stamp : 0;
}

/* Find what may be taken now, oldest first, into s->batch.
 *
 * Two scans. A request seen SUBMITTED in the first scan was submitted after
 * every earlier request of its process (a process submits one request after
 * another, each CAS a release), so those earlier ones are all visible to the
 * second scan, however the slots lie. A request first seen in the second scan
 * may still have an older sibling the scan passed over too early; it is taken
 * now only when its process has a newer request seen in the first scan (then
 * its own predecessors are visible too), otherwise with the next batch. A
 * request that comes later than a batch is never taken before it; a process's
 * requests thus leave in the order of its stamps. The engine is the only one
 * that moves a slot out of SUBMITTED, so what the first scan saw is still
 * there in the second. Ties (a hostile stamp) go to the lower slot. */
static void scan_batch(shm_ring_server *s)
{
    uint64_t ctl = 0, stamp = 0;
    s->first_count = s->batch_count = s->batch_next = 0;
    for (uint32_t i = 0; i < s->slots; i++)
        if (slot_submitted(s, i, &ctl, &stamp))
            s->first_scan[s->first_count++] = (shm_ring_pending){stamp, SHM_CTL_PID(ctl), i};
    if (!s->first_count) return;
    qsort(s->first_scan, s->first_count, sizeof *s->first_scan, by_pid_then_stamp);
    for (uint32_t i = 0; i < s->slots; i++) {
        if (!slot_submitted(s, i, &ctl, &stamp)) continue;
        /* first seen now with no newer sibling seen before (or a stamp that
         * moved: a hostile hand): it waits for the next batch */
        if (first_scan_newest(s, SHM_CTL_PID(ctl)) < stamp) continue;
        s->batch[s->batch_count++] = (shm_ring_pending){stamp, SHM_CTL_PID(ctl), i};
    }
    qsort(s->batch, s->batch_count, sizeof *s->batch, by_stamp_then_slot);
}

int shm_ring_server_next(shm_ring_server *s, shm_ring_request *req)
{
    if (!s || !req) return PLCIO_EINVAL;
    s->submit_seen = atomic_load_explicit(SHM_A32(s->base, SHM_R_SUBMIT_SEQ), memory_order_seq_cst);
    reap(s);
    /* at most two batches per call: the one in hand, then a fresh one */
    for (int round = 0; round < 2; round++) {
        if (s->batch_next == s->batch_count) scan_batch(s);
        while (s->batch_next < s->batch_count) {
            uint32_t i = s->batch[s->batch_next++].slot;
            uint8_t *sl = slot_at(s->base, s->slot_size, i);
            uint64_t ctl = atomic_load_explicit(ctl_of(sl), memory_order_acquire);
            if (SHM_CTL_STATE(ctl) != SHM_SLOT_SUBMITTED) continue; /* moved by a hostile hand */
            uint64_t busy = SHM_CTL(SHM_SLOT_BUSY, SHM_CTL_TICKET(ctl), SHM_CTL_PID(ctl));
            if (!cas(ctl_of(sl), ctl, busy)) continue;
            if (copy_out(s, i, sl, busy, req) == PLCIO_OK) return PLCIO_OK;
        }
    }
    return PLCIO_ENOTFOUND;
}

void shm_ring_server_wait(shm_ring_server *s, int timeout_ms)
{
    if (!s) return;
    /* ENGINE_WAITING is changed by the kernel (FUTEX_WAKE_OP, a full
     * barrier): the ring may be truncated while the engine sleeps, and a store
     * from user space afterwards would raise SIGBUS. The futex wait compares
     * SUBMIT_SEQ with what _next saw, atomically. */
    _Atomic uint32_t *waiting = SHM_A32(s->base, SHM_R_ENGINE_WAITING);
    if (!shm_futex_add(waiting, 1)) return;
    shm_futex_wait(SHM_A32(s->base, SHM_R_SUBMIT_SEQ), s->submit_seen, timeout_ms);
    (void)shm_futex_add(waiting, -1);
}

/* ---------------------------------------------------------------------------
 * Requester side
 * ------------------------------------------------------------------------- */

struct shm_ring_client {
    char name[RING_NAME_MAX];
    int fd;
    uint8_t *base;
    size_t size;
    uint32_t slots, slot_size, value_cap, share, reserve, next, pid;
};

uint32_t shm_ring_client_value_cap(const shm_ring_client *c) { return c ? c->value_cap : 0; }

void shm_ring_client_free(shm_ring_client *c)
{
    if (!c) return;
    if (c->base) munmap(c->base, c->size);
    if (c->fd >= 0) close(c->fd);
    free(c);
}

/* `b`: a private copy of the ring header (read with pread: nobody can change
 * it between the checks, and a truncation cannot fault the read). */
static int check_ring_header(shm_ring_client *c, const uint8_t *b, uint64_t key, char *msg, size_t cap)
{
    const char *what = NULL;
    int rc = PLCIO_EPROTO;
    uint32_t u;
    uint64_t total, k;
    memcpy(&total, b + SHM_R_TOTAL_SIZE, 8);
    memcpy(&k, b + SHM_R_KEY, 8);
    memcpy(&c->slots, b + SHM_R_SLOTS, 4);
    memcpy(&c->slot_size, b + SHM_R_SLOT_SIZE, 4);
    memcpy(&c->value_cap, b + SHM_R_VALUE_CAP, 4);
    memcpy(&c->share, b + SHM_R_SHARE, 4);
    memcpy(&c->reserve, b + SHM_R_RESERVE, 4);
    memcpy(&u, b + SHM_R_VERSION, 4);
    uint32_t state;
    memcpy(&state, b + SHM_R_STATE, 4);
    if (memcmp(b + SHM_R_MAGIC, SHM_RING_MAGIC, 8) != 0)
        what = "not a plcio write ring (bad magic)";
    else if (u != SHM_VERSION) {
        what = "write ring of another format version";
        rc = PLCIO_EUNSUPPORTED;
    } else if (k != key || state != SHM_STATE_READY) {
        what = "write ring belongs to another (closed or replaced) segment: reopen";
        rc = PLCIO_ECLOSED;
    } else if (*(const uint32_t *)(const void *)(b + SHM_R_ENDIAN) != SHM_ENDIAN ||
               *(const uint32_t *)(const void *)(b + SHM_R_HEADER_BYTES) != SHM_R_HEADER_SIZE)
        what = "write ring header constants are wrong";
    else if (c->slots == 0 || c->slots > 65536 || c->value_cap > SHM_MAX_SEGMENT ||
             c->slot_size < SHM_W_HEAD + (uint64_t)c->value_cap || (c->slot_size & 7u) || total > c->size ||
             SHM_R_HEADER_SIZE + (uint64_t)c->slots * c->slot_size > total || c->share == 0 || c->share > c->slots ||
             c->reserve >= c->slots)
        what = "write ring geometry is corrupt";
    else
        return PLCIO_OK;
    shm_msg(msg, cap, "%s: %s", c->name, what);
    return rc;
}

int shm_ring_client_open(const char *data_name, uint64_t key, shm_ring_client **out, char *msg, size_t cap)
{
    *out = NULL;
    shm_ring_client *c = calloc(1, sizeof *c);
    if (!c) return PLCIO_ENOMEM;
    c->fd = -1;
    c->pid = (uint32_t)getpid();
    if (!shm_ring_name(data_name, c->name, sizeof c->name)) {
        shm_msg(msg, cap, "%s has no write ring (name too long)", data_name);
        free(c);
        return PLCIO_ENOTFOUND;
    }
    int rc = PLCIO_OK;
    c->fd = shm_open(c->name, O_RDWR | O_CLOEXEC, 0);
    if (c->fd < 0) {
        int e = errno;
        rc = shm_errno_to_plcio(e);
        if (e == EACCES || e == EPERM)
            shm_msg(msg, cap,
                    "no write access to %s (%s): reading does not allow writing; the engine's "
                    "shm-write-mode and shm-write-group decide who may write",
                    c->name, strerror(e));
        else if (e == ENOENT)
            shm_msg(msg, cap, "%s has no write ring %s (engine gone?)", data_name, c->name);
        else
            shm_msg(msg, cap, "write ring %s: %s", c->name, strerror(e));
    }
    struct stat st;
    uint8_t head[SHM_R_HEADER_SIZE];
    if (rc == PLCIO_OK && (fstat(c->fd, &st) != 0 || st.st_size < (off_t)SHM_R_HEADER_SIZE ||
                           shm_read_at(c->fd, 0, head, sizeof head) != PLCIO_OK)) {
        shm_msg(msg, cap, "write ring %s is being created or was truncated", c->name);
        rc = PLCIO_EPROTO;
    }
    if (rc == PLCIO_OK) {
        c->size = (size_t)st.st_size;
        rc = check_ring_header(c, head, key, msg, cap);
    }
    if (rc == PLCIO_OK) {
        void *p = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
        if (p == MAP_FAILED) {
            shm_msg(msg, cap, "mmap %s: %s", c->name, strerror(errno));
            rc = PLCIO_ENOMEM;
        } else {
            c->base = p;
        }
    }
    if (rc != PLCIO_OK) {
        shm_ring_client_free(c);
        return rc;
    }
    c->next = c->pid * 2654435761u % c->slots;
    *out = c;
    return PLCIO_OK;
}

/* A truncated ring must not be touched: a load or store on a page the
 * truncation took away raises SIGBUS. Every access to the mapping below
 * comes right after this check; the microseconds between the check and the
 * access are a window a truncation can still hit (docs/shm.md,
 * "Robustness"). Only a process with write access to the ring can truncate it. */
static bool ring_truncated(const shm_ring_client *c) { return shm_object_shrunk(c->fd, c->size); }

/* Whole, still behind its name, open (READY) and its engine alive. The
 * size is checked before the state is loaded from the mapping. */
static bool ring_alive(const shm_ring_client *c)
{
    struct stat st;
    if (fstat(c->fd, &st) != 0 || st.st_nlink == 0 || (uint64_t)st.st_size < c->size) return false;
    if (atomic_load_explicit(SHM_A32(c->base, SHM_R_STATE), memory_order_acquire) != SHM_STATE_READY) return false;
    return shm_locked_elsewhere(c->fd, 0, 1);
}

/* One pass: PLCIO_OK and *slot, *claimed set; PLCIO_ELIMIT when this process
 * holds its share, or holds slots while only the reserve is free (waiting
 * would not help: only its own collected answers free its slots, and waiting
 * for others who do the same deadlocks); PLCIO_EAGAIN when nothing may be
 * claimed now (then waiting helps). *mine_out: slots this process holds. */
static int try_claim(shm_ring_client *c, uint32_t *slot, uint64_t *claimed, uint32_t *mine_out)
{
    uint32_t mine = 0, free_slots = 0;
    for (uint32_t i = 0; i < c->slots; i++) {
        uint64_t ctl = atomic_load_explicit(ctl_of(slot_at(c->base, c->slot_size, i)), memory_order_relaxed);
        if (SHM_CTL_STATE(ctl) == SHM_SLOT_FREE)
            free_slots++;
        else if (SHM_CTL_PID(ctl) == c->pid)
            mine++;
    }
    *mine_out = mine;
    if (mine >= c->share || (mine > 0 && free_slots <= c->reserve)) return PLCIO_ELIMIT;
    for (uint32_t k = 0; k < c->slots; k++) {
        uint32_t i = (c->next + k) % c->slots;
        _Atomic uint64_t *w = ctl_of(slot_at(c->base, c->slot_size, i));
        uint64_t ctl = atomic_load_explicit(w, memory_order_relaxed);
        if (SHM_CTL_STATE(ctl) != SHM_SLOT_FREE) continue;
        uint32_t t = (SHM_CTL_TICKET(ctl) + 1) & 0xFFFFFFu;
        uint64_t want = SHM_CTL(SHM_SLOT_CLAIMED, t ? t : 1, c->pid);
        if (!cas(w, ctl, want)) continue;
        c->next = (i + 1) % c->slots;
        *slot = i;
        *claimed = want;
        return PLCIO_OK;
    }
    return PLCIO_EAGAIN;
}

/* The SUBMITTED stamp: CLOCK_MONOTONIC ns, strictly increasing across every
 * ring client of this process (the engine orders a process's requests by it;
 * two submits within one clock tick must not tie). */
static uint64_t submit_stamp(void)
{
    static _Atomic uint64_t last;
    uint64_t now = plcio_monotonic_ns(), prev = atomic_load_explicit(&last, memory_order_relaxed);
    for (;;) {
        uint64_t want = now > prev ? now : prev + 1;
        if (atomic_compare_exchange_weak_explicit(&last, &prev, want, memory_order_relaxed, memory_order_relaxed))
            return want;
    }
}

static int remaining_ms(uint64_t deadline_ns)
{
    uint64_t now = plcio_monotonic_ns();
    if (deadline_ns == UINT64_MAX) return LIVENESS_SLICE_MS;
    if (now >= deadline_ns) return 0;
    uint64_t left = (deadline_ns - now) / PLCIO_NS_PER_MS + 1;
    return left < LIVENESS_SLICE_MS ? (int)left : LIVENESS_SLICE_MS;
}

static int claim(shm_ring_client *c, uint64_t deadline_ns, uint32_t *slot, uint64_t *ctl, char *msg, size_t cap)
{
    for (;;) {
        if (!ring_alive(c)) {
            if (ring_truncated(c))
                shm_msg(msg, cap,
                        "write ring %s was truncated: the write was not submitted (the engine moves to a "
                        "new segment and ring: reopen)",
                        c->name);
            else
                shm_msg(msg, cap, "the engine behind %s is gone or closed: the write was not submitted", c->name);
            return PLCIO_ECLOSED;
        }
        uint32_t seen = atomic_load_explicit(SHM_A32(c->base, SHM_R_FREE_SEQ), memory_order_seq_cst);
        uint32_t mine = 0;
        int rc = try_claim(c, slot, ctl, &mine);
        if (rc == PLCIO_OK) return rc;
        if (rc == PLCIO_ELIMIT) {
            if (mine >= c->share)
                shm_msg(msg, cap,
                        "this process already holds %u of the %u write slots (its share): collect "
                        "answers (write_wait) before submitting more",
                        mine, c->slots);
            else
                shm_msg(msg, cap,
                        "the write ring is nearly full and this process holds %u slots: collect answers "
                        "(write_wait) first; the last %u free slots are kept for processes holding none",
                        mine, c->reserve);
            return rc;
        }
        int ms = deadline_ns ? remaining_ms(deadline_ns) : 0;
        if (ms == 0) {
            shm_msg(msg, cap, "all %u write slots of %s are in use%s", c->slots, c->name,
                    deadline_ns ? " and none came free in time" : "");
            return PLCIO_ELIMIT;
        }
        sleep_on(c->base, SHM_R_FREE_SEQ, SHM_R_FREE_WAITERS, seen, ms);
    }
}

int shm_ring_client_submit(shm_ring_client *c, const char *name, uint32_t format, const void *data, size_t len,
                           uint64_t deadline_ns, uint64_t *id, char *msg, size_t cap)
{
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > PLCIO_SHM_NAME_MAX) return PLCIO_EINVAL;
    if (len > c->value_cap) {
        shm_msg(msg, cap, "value is %zu bytes, a write slot holds %u", len, c->value_cap);
        return PLCIO_ENOSPC;
    }
    uint32_t i;
    uint64_t ctl;
    int rc = claim(c, deadline_ns, &i, &ctl, msg, cap);
    if (rc != PLCIO_OK) return rc;
    uint8_t *s = slot_at(c->base, c->slot_size, i);
    uint32_t nl = (uint32_t)name_len, ln = (uint32_t)len;
    int32_t zero = 0;
    uint64_t now = submit_stamp();
    memcpy(s + SHM_W_FORMAT, &format, 4);
    memcpy(s + SHM_W_VALUE_LEN, &ln, 4);
    memcpy(s + SHM_W_RESULT, &zero, 4);
    memcpy(s + SHM_W_NAME_LEN, &nl, 4);
    memcpy(s + SHM_W_SUBMITTED, &now, 8);
    char padded[PLCIO_SHM_NAME_MAX + 1] = {0}; /* NUL-padded: name_len <= PLCIO_SHM_NAME_MAX */
    snprintf(padded, sizeof padded, "%s", name);
    memcpy(s + SHM_W_NAME, padded, sizeof padded);
    memset(s + SHM_W_MESSAGE, 0, PLCIO_SHM_MESSAGE_MAX + 1);
    if (len) memcpy(s + SHM_W_HEAD, data, len);
    uint64_t submitted = SHM_CTL(SHM_SLOT_SUBMITTED, SHM_CTL_TICKET(ctl), c->pid);
    if (!cas(ctl_of(s), ctl, submitted)) { /* only a foreign hand changes a slot we claimed */
        shm_msg(msg, cap, "write slot %u of %s was taken from us while we filled it", i, c->name);
        return PLCIO_EPROTO;
    }
    bump_and_wake(c->base, SHM_R_SUBMIT_SEQ, SHM_R_ENGINE_WAITING);
    if (id) *id = (uint64_t)i << 32 | SHM_CTL_TICKET(ctl);
    return PLCIO_OK;
}

/* DONE/FAILED: copy the answer, then give the slot back (one CAS: if it
 * fails, the slot was reaped meanwhile and what we copied is not ours). */
static int collect(shm_ring_client *c, uint8_t *s, uint64_t ctl, uint64_t id, plcio_shm_write_result *res)
{
    int32_t e;
    memcpy(&e, s + SHM_W_RESULT, 4);
    bool done = SHM_CTL_STATE(ctl) == SHM_SLOT_DONE;
    res->id = id;
    res->state = done ? PLCIO_SHM_WRITE_DONE : PLCIO_SHM_WRITE_FAILED;
    res->error = done ? PLCIO_OK : (e < 0 ? e : PLCIO_EPROTO);
    memcpy(res->message, s + SHM_W_MESSAGE, PLCIO_SHM_MESSAGE_MAX);
    res->message[PLCIO_SHM_MESSAGE_MAX] = '\0';
    if (!cas(ctl_of(s), ctl, SHM_CTL(SHM_SLOT_FREE, SHM_CTL_TICKET(ctl), 0))) {
        memset(res, 0, sizeof *res);
        res->id = id;
        return PLCIO_ENOTFOUND;
    }
    bump_and_wake(c->base, SHM_R_FREE_SEQ, SHM_R_FREE_WAITERS);
    return PLCIO_OK;
}

int shm_ring_client_wait(shm_ring_client *c, uint64_t id, uint64_t deadline_ns, plcio_shm_write_result *res)
{
    uint32_t i = (uint32_t)(id >> 32), ticket = (uint32_t)id;
    if (i >= c->slots || ticket == 0 || ticket > 0xFFFFFFu) return PLCIO_ENOTFOUND;
    uint8_t *s = slot_at(c->base, c->slot_size, i);
    for (;;) {
        if (ring_truncated(c)) { /* before the loads below */
            res->state = PLCIO_SHM_WRITE_FAILED;
            res->error = PLCIO_ECLOSED;
            shm_msg(res->message, sizeof res->message,
                    "write ring %s was truncated while the write was pending: "
                    "its outcome is unknown (the engine moves to a new segment and ring: reopen)",
                    c->name);
            return PLCIO_ECLOSED;
        }
        uint32_t seen = atomic_load_explicit(SHM_A32(c->base, SHM_R_DONE_SEQ), memory_order_seq_cst);
        uint64_t ctl = atomic_load_explicit(ctl_of(s), memory_order_acquire);
        uint32_t st = SHM_CTL_STATE(ctl);
        if (SHM_CTL_TICKET(ctl) != ticket || SHM_CTL_PID(ctl) != c->pid || st == SHM_SLOT_FREE ||
            st == SHM_SLOT_CLAIMED)
            return PLCIO_ENOTFOUND;
        if (st == SHM_SLOT_DONE || st == SHM_SLOT_FAILED) return collect(c, s, ctl, id, res);
        if (!ring_alive(c)) {
            res->state = PLCIO_SHM_WRITE_FAILED;
            res->error = PLCIO_ECLOSED;
            shm_msg(res->message, sizeof res->message,
                    "the engine behind %s is gone, or closed or replaced its "
                    "write ring, before answering: the write's outcome is unknown",
                    c->name);
            return PLCIO_ECLOSED;
        }
        int ms = remaining_ms(deadline_ns);
        if (ms == 0) return PLCIO_ETIMEDOUT;
        sleep_on(c->base, SHM_R_DONE_SEQ, SHM_R_DONE_WAITERS, seen, ms);
    }
}
