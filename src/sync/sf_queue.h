/* A bounded store-and-forward queue: items wait here, in order, while their
 * destination (a database, a broker) is slow or down.
 *
 * Any number of producer threads push; one consumer looks at the oldest items
 * (peek), tries to send them, and removes them (pop) only once they are
 * delivered, so a failed send loses nothing: the same items are offered again.
 * The bound is a number of items. When the queue is full a new item is
 * refused and counted as dropped (the oldest are kept: the items a consumer is
 * sending right now are never touched by a producer, and the order of what is
 * kept never changes). Memory only: a restart loses what is queued.
 *
 * Items are opaque pointers owned by the queue from a successful push until
 * pop (which frees them with the queue's free function) or sf_queue_free.
 * Used by the historian outputs (sink_historian.c); meant for MQTT too.
 *
 * Thread safety: every function but sf_queue_free may be called from any
 * thread; peek/pop from one consumer thread at a time. */
#ifndef PLCIO_SRC_SYNC_SF_QUEUE_H
#define PLCIO_SRC_SYNC_SF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sf_queue sf_queue;

typedef void (*sf_free_fn)(void *item);

typedef struct sf_queue_stats {
    uint64_t pushed;  /* accepted */
    uint64_t popped;  /* delivered and removed */
    uint64_t dropped; /* refused: the queue was full (or closed) */
    size_t depth;     /* waiting now */
    size_t peak;      /* deepest so far */
    size_t capacity;
} sf_queue_stats;

/* capacity >= 1 items; free_item may be NULL (items are not freed). NULL when
 * out of memory. */
sf_queue *sf_queue_new(size_t capacity, sf_free_fn free_item);
/* Free the queue and every item still in it. NULL: no-op. */
void sf_queue_free(sf_queue *q);

/* Append an item (taking it). false when the queue is full or closed: the item
 * is counted as dropped and stays the caller's. */
bool sf_queue_push(sf_queue *q, void *item);

/* Wait until at least `want` items are queued, the queue is closed, or
 * `timeout_ms` passed (0: do not wait; negative: no time limit). Returns the
 * depth then. A push that reaches `want`, or sf_queue_close, wakes it. */
size_t sf_queue_wait(sf_queue *q, size_t want, int timeout_ms);

/* The oldest up to `max` items, oldest first, left in the queue (borrowed
 * until they are popped). Returns how many. */
size_t sf_queue_peek(sf_queue *q, void **items, size_t max);

/* As peek, past the oldest `skip` items (those a consumer has in flight). */
size_t sf_queue_peek_from(sf_queue *q, size_t skip, void **items, size_t max);

/* Remove (and free) the oldest n items: the ones a peek returned, once sent. */
void sf_queue_pop(sf_queue *q, size_t n);

/* Refuse new items from now on and wake a waiting consumer (it drains what is
 * left, then stops). */
void sf_queue_close(sf_queue *q);
bool sf_queue_closed(sf_queue *q);

void sf_queue_get_stats(sf_queue *q, sf_queue_stats *out);

#endif
