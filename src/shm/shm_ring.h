/* The write-request ring: a shared-memory object of its own (the data
 * segment's name + ".ring"), so that who may ask for writes is decided by its
 * own mode and group, apart from who may read (docs/shm.md, "Who can read,
 * who can write"). Not exported; shm_writer.c (engine side) and shm_reader.c
 * (requester side) use it.
 *
 * Protocol: every change of a slot's control word (state | ticket | pid) is
 * one compare-and-swap, so a claim cannot be won twice and no state is ever
 * seen that nobody stored. The requester names the tag; the engine resolves
 * the name in its own private table (never in shared memory), copies the
 * request out of the slot once and checks only its copy. */
#ifndef PLCIO_SHM_RING_H
#define PLCIO_SHM_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plcio/shm.h"
#include "shm/shm_internal.h"

/* ---- both sides ---- */

/* "/tank" -> "/tank.ring"; false if the result is not a valid name. */
bool shm_ring_name(const char *data_name, char *out, size_t cap);

/* Mode and group of a freshly created object (fchmod/fchown, so the umask does
 * not matter). mode 0: `dflt`. group NULL/"": unchanged (the engine's group).
 * `what` names the object in messages. */
int shm_apply_access(int fd, const plcio_shm_access *a, unsigned dflt, const char *what, char *msg, size_t cap);

/* ---- engine side ---- */

typedef struct shm_ring_server shm_ring_server;

/* One request, copied out of its slot (the slot is BUSY meanwhile). */
typedef struct shm_ring_request {
    uint32_t slot, pid, format, len;
    uint64_t id;
    char name[PLCIO_SHM_NAME_MAX + 1];
    const uint8_t *value; /* len bytes + a NUL, owned by the server */
} shm_ring_request;

/* Create NAME.ring exclusively (stale ones of dead engines are replaced), with
 * `slots` slots of `value_cap` value bytes, `share` (0: a quarter of the
 * slots) and the access `a` (default mode 0600). */
int shm_ring_server_create(const char *data_name, uint64_t key, uint32_t slots, uint32_t value_cap, uint32_t share,
                           const plcio_shm_access *a, shm_ring_server **out, char *msg, size_t cap);
/* Answer what is pending with ECLOSED (requests the engine took: with `why`,
 * NULL: "engine stopped"), mark closed, unlink if the name is still ours,
 * release. A truncated ring is not touched, only unmapped. */
void shm_ring_server_close(shm_ring_server *s, const char *why);
/* Still whole (not shorter than created) and still behind its name. Check
 * before every use: a truncated ring's pages raise SIGBUS. */
bool shm_ring_server_intact(const shm_ring_server *s);
/* Keep a FREE slot the engine's (BUSY, pid 0) until answered: a request taken
 * from a previous ring holds it, so its late answer reaches nobody. */
void shm_ring_server_reserve(shm_ring_server *s, uint32_t slot);
/* Take the oldest submitted request (by its SUBMITTED stamp: a process's
 * requests in the order it submitted them). PLCIO_OK, or
 * PLCIO_ENOTFOUND. Malformed slots are answered here and skipped. */
int shm_ring_server_next(shm_ring_server *s, shm_ring_request *req);
/* Answer a taken request (slot BUSY). PLCIO_ESTATE if it is not. */
int shm_ring_server_answer(shm_ring_server *s, uint32_t slot, int err, const char *message);
/* Sleep until a request may have been submitted since the last _next, at
 * most timeout_ms. */
void shm_ring_server_wait(shm_ring_server *s, int timeout_ms);
uint32_t shm_ring_server_slots(const shm_ring_server *s);

/* ---- requester side ---- */

typedef struct shm_ring_client shm_ring_client;

/* Attach to NAME.ring and check it belongs to the data segment (`key`).
 * PLCIO_EACCESS (no write access: msg says so), PLCIO_ENOTFOUND,
 * PLCIO_ECLOSED (another engine's ring), PLCIO_EPROTO. */
int shm_ring_client_open(const char *data_name, uint64_t key, shm_ring_client **out, char *msg, size_t cap);
void shm_ring_client_free(shm_ring_client *c);
/* Claim a slot (waiting for one until deadline_ns, CLOCK_MONOTONIC; 0: do not
 * wait), fill it, submit it. PLCIO_ELIMIT (this process holds its share, or
 * no slot came free in time), PLCIO_ECLOSED (engine gone), PLCIO_ENOSPC. */
int shm_ring_client_submit(shm_ring_client *c, const char *name, uint32_t format, const void *data, size_t len,
                           uint64_t deadline_ns, uint64_t *id, char *msg, size_t cap);
/* Wait for the answer until deadline_ns (UINT64_MAX: no limit). */
int shm_ring_client_wait(shm_ring_client *c, uint64_t id, uint64_t deadline_ns, plcio_shm_write_result *res);
uint32_t shm_ring_client_value_cap(const shm_ring_client *c);

#endif
