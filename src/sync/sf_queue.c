/* Bounded store-and-forward queue (sf_queue.h): a ring of item pointers under
 * one mutex; the consumer waits on a condition variable on the monotonic clock. */
#include "sync/sf_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct sf_queue {
    pthread_mutex_t lock;
    pthread_cond_t more;
    void **ring;
    size_t capacity, head, count;
    size_t want; /* the consumer's wait: wake it when count reaches this */
    bool closed;
    sf_free_fn free_item;
    uint64_t pushed, popped, dropped;
    size_t peak;
};

sf_queue *sf_queue_new(size_t capacity, sf_free_fn free_item)
{
    if (capacity == 0) return NULL;
    sf_queue *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->ring = calloc(capacity, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->capacity = capacity;
    q->free_item = free_item;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->more, &attr);
    pthread_condattr_destroy(&attr);
    return q;
}

void sf_queue_free(sf_queue *q)
{
    if (!q) return;
    for (size_t i = 0; q->free_item && i < q->count; i++)
        q->free_item(q->ring[(q->head + i) % q->capacity]);
    free(q->ring);
    pthread_cond_destroy(&q->more);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

bool sf_queue_push(sf_queue *q, void *item)
{
    pthread_mutex_lock(&q->lock);
    if (q->closed || q->count == q->capacity) {
        q->dropped++;
        pthread_mutex_unlock(&q->lock);
        return false;
    }
    q->ring[(q->head + q->count) % q->capacity] = item;
    q->count++;
    q->pushed++;
    if (q->count > q->peak) q->peak = q->count;
    if (q->want && q->count >= q->want) pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->lock);
    return true;
}

size_t sf_queue_wait(sf_queue *q, size_t want, int timeout_ms)
{
    if (want > q->capacity) want = q->capacity;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->lock);
    q->want = want ? want : 1;
    while (timeout_ms != 0 && !q->closed && q->count < q->want) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->more, &q->lock);
        } else if (pthread_cond_timedwait(&q->more, &q->lock, &until) == ETIMEDOUT) {
            break;
        }
    }
    q->want = 0;
    size_t depth = q->count;
    pthread_mutex_unlock(&q->lock);
    return depth;
}

size_t sf_queue_peek(sf_queue *q, void **items, size_t max) { return sf_queue_peek_from(q, 0, items, max); }

size_t sf_queue_peek_from(sf_queue *q, size_t skip, void **items, size_t max)
{
    pthread_mutex_lock(&q->lock);
    size_t left = q->count > skip ? q->count - skip : 0;
    size_t n = left < max ? left : max;
    for (size_t i = 0; i < n; i++)
        items[i] = q->ring[(q->head + skip + i) % q->capacity];
    pthread_mutex_unlock(&q->lock);
    return n;
}

void sf_queue_pop(sf_queue *q, size_t n)
{
    pthread_mutex_lock(&q->lock);
    if (n > q->count) n = q->count;
    for (size_t i = 0; i < n; i++) {
        void *item = q->ring[q->head];
        q->ring[q->head] = NULL;
        q->head = (q->head + 1) % q->capacity;
        if (q->free_item) q->free_item(item); /* small items: free is quick enough under the lock */
    }
    q->count -= n;
    q->popped += n;
    pthread_mutex_unlock(&q->lock);
}

void sf_queue_close(sf_queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->more);
    pthread_mutex_unlock(&q->lock);
}

bool sf_queue_closed(sf_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool closed = q->closed;
    pthread_mutex_unlock(&q->lock);
    return closed;
}

void sf_queue_get_stats(sf_queue *q, sf_queue_stats *out)
{
    pthread_mutex_lock(&q->lock);
    out->pushed = q->pushed;
    out->popped = q->popped;
    out->dropped = q->dropped;
    out->depth = q->count;
    out->peak = q->peak;
    out->capacity = q->capacity;
    pthread_mutex_unlock(&q->lock);
}
