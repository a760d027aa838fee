/* The engine's side of its sinks (plcio/sink.h): a bounded queue and a thread
 * per queued sink, so that a slow or failing output never delays polling; an
 * inline sink (shared memory) is called on the engine's thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_engine_priv.h"

#define DEFAULT_QUEUE_EVENTS 65536u
#define BATCH_MAX            256u

/* A queued event with its own copies of the bytes and the message. */
typedef struct queued_event {
    plcio_sink_event ev;
    uint8_t *bytes;
    char *message;
} queued_event;

struct sync_sink {
    const plcio_sink *ops;
    void *state;
    bool opened;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    queued_event *ring; /* capacity slots */
    size_t capacity, head, count;
    bool stop;
    uint64_t events, delivered, dropped, failed; /* under lock */
};

static void release(queued_event *q)
{
    free(q->bytes);
    free(q->message);
    q->bytes = NULL;
    q->message = NULL;
}

static void *sink_thread(void *arg)
{
    sync_sink *k = arg;
    queued_event *batch = calloc(BATCH_MAX, sizeof *batch);
    plcio_sink_event *evs = calloc(BATCH_MAX, sizeof *evs);
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->stop && k->count == 0)
            pthread_cond_wait(&k->wake, &k->lock);
        if (k->count == 0) break; /* stopping, and everything queued was delivered */
        size_t n = 0;
        while (k->count && n < BATCH_MAX && batch && evs) {
            batch[n++] = k->ring[k->head];
            memset(&k->ring[k->head], 0, sizeof k->ring[k->head]);
            k->head = (k->head + 1) % k->capacity;
            k->count--;
        }
        pthread_mutex_unlock(&k->lock);
        int rc = PLCIO_ENOMEM;
        if (batch && evs) {
            for (size_t i = 0; i < n; i++)
                evs[i] = batch[i].ev;
            rc = k->ops->deliver(k->state, evs, n);
            for (size_t i = 0; i < n; i++)
                release(&batch[i]);
        }
        pthread_mutex_lock(&k->lock);
        if (rc == PLCIO_OK)
            k->delivered += n;
        else
            k->failed += n;
        if (!batch || !evs) break;
    }
    pthread_mutex_unlock(&k->lock);
    free(batch);
    free(evs);
    return NULL;
}

int sync_sink_open(plcio_sync *s, sync_sink **out, const plcio_sink *ops, void *config, size_t queue_events, char *err,
                   size_t cap)
{
    *out = NULL;
    if (!ops || ops->abi != PLCIO_SINK_ABI) {
        snprintf(err, cap, "sink '%s': interface version %u, this engine speaks version %d (plcio/sink.h)",
                 ops && ops->name ? ops->name : "?", ops ? ops->abi : 0u, PLCIO_SINK_ABI);
        return ops ? PLCIO_EUNSUPPORTED : PLCIO_EINVAL;
    }
    if (!ops->name || !ops->open || !ops->deliver) {
        snprintf(err, cap, "sink '%s': a name, open and deliver are required", ops->name ? ops->name : "?");
        return PLCIO_EINVAL;
    }
    sync_sink *k = calloc(1, sizeof *k);
    if (!k) return PLCIO_ENOMEM;
    k->ops = ops;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    *out = k;
    plcio_error why;
    plcio_error_clear(&why);
    int rc = ops->open(config, s->sink_tags, s->tag_count, &k->state, &why);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "sink '%s': %s", ops->name, why.text[0] ? why.text : plcio_strerror(rc));
        return rc;
    }
    k->opened = true;
    if (ops->flags & PLCIO_SINK_INLINE) return PLCIO_OK;
    k->capacity = queue_events ? queue_events : DEFAULT_QUEUE_EVENTS;
    k->ring = calloc(k->capacity, sizeof *k->ring);
    if (!k->ring) return PLCIO_ENOMEM;
    if (pthread_create(&k->thread, NULL, sink_thread, k) != 0) {
        snprintf(err, cap, "sink '%s': cannot start its thread", ops->name);
        return PLCIO_ENOMEM;
    }
    k->thread_started = true;
    return PLCIO_OK;
}

/* Deliver what is queued, stop the thread, close the sink. */
void sync_sink_close(sync_sink *k)
{
    if (!k) return;
    if (k->thread_started) {
        pthread_mutex_lock(&k->lock);
        k->stop = true;
        pthread_cond_signal(&k->wake);
        pthread_mutex_unlock(&k->lock);
        pthread_join(k->thread, NULL);
    }
    for (size_t i = 0; k->ring && i < k->count; i++)
        release(&k->ring[(k->head + i) % k->capacity]);
    if (k->opened && k->ops->close) k->ops->close(k->state);
    free(k->ring);
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->lock);
    free(k);
}

static char *copy_text(const char *text)
{
    if (!text) return NULL;
    size_t n = strlen(text) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, text, n);
    return c;
}

/* Its own copies of an event's bytes and message; false when out of memory. */
static bool copy_event(queued_event *q, const plcio_sink_event *ev)
{
    *q = (queued_event){*ev, NULL, NULL};
    if (ev->size) {
        q->bytes = malloc(ev->size);
        if (q->bytes) memcpy(q->bytes, ev->value, ev->size);
        q->ev.value = q->bytes;
    }
    if (ev->message) q->message = copy_text(ev->message);
    q->ev.message = q->message;
    return !((ev->size && !q->bytes) || (ev->message && !q->message));
}

/* Hand events to a queued sink: copies made outside the lock, then one lock
 * and at most one wake-up for them all (a wake-up per event would let the
 * sink's thread preempt the engine's 100,000 times a second). Never waits for
 * the sink: what does not fit is dropped and counted. */
/* One lock for up to SYNC_SINK_BATCH copies: queue them or count them dropped. */
static void queue_copies(sync_sink *k, queued_event *q, const bool *ok, size_t m)
{
    pthread_mutex_lock(&k->lock);
    bool was_empty = k->count == 0;
    for (size_t i = 0; i < m; i++) {
        k->events++;
        if (!ok[i] || k->count == k->capacity) {
            k->dropped++;
            release(&q[i]);
            continue;
        }
        k->ring[(k->head + k->count) % k->capacity] = q[i];
        k->count++;
    }
    if (was_empty && k->count) pthread_cond_signal(&k->wake); /* it waits only on an empty queue */
    pthread_mutex_unlock(&k->lock);
}

static void offer_queued(sync_sink *k, const plcio_sink_event *evs, size_t n)
{
    queued_event q[SYNC_SINK_BATCH];
    bool ok[SYNC_SINK_BATCH];
    for (size_t done = 0; done < n;) {
        size_t m = n - done < SYNC_SINK_BATCH ? n - done : SYNC_SINK_BATCH;
        /* cppcheck-suppress knownConditionTrueFalse ; done < n, so m >= 1 (cppcheck 2.10 concludes m < 1) */
        for (size_t i = 0; i < m; i++)
            ok[i] = copy_event(&q[i], &evs[done + i]);
        queue_copies(k, q, ok, m);
        done += m;
    }
}

/* Hand one event to one sink: now (inline) or through its queue. */
static void offer(sync_sink *k, const plcio_sink_event *ev)
{
    if (k->ops->flags & PLCIO_SINK_INLINE) {
        int rc = k->ops->deliver(k->state, ev, 1);
        k->events++;
        if (rc == PLCIO_OK)
            k->delivered++;
        else
            k->failed++;
        return;
    }
    offer_queued(k, ev, 1);
}

/* TAG events, the bulk of a round, go out in batches: one call per inline
 * sink per batch, not per tag. A batch is flushed when full, at the end of a
 * group's cycle and before any other event, so the order never changes. */
void sync_sinks_flush(plcio_sync *s)
{
    size_t n = s->batch_count;
    if (n == 0 || !s->batch) return;
    s->batch_count = 0;
    for (size_t i = 0; i < s->sink_count; i++) {
        sync_sink *k = s->sinks[i];
        if (k->ops->flags & PLCIO_SINK_INLINE) {
            int rc = k->ops->deliver(k->state, s->batch, n);
            k->events += n;
            if (rc == PLCIO_OK)
                k->delivered += n;
            else
                k->failed += n;
        } else {
            offer_queued(k, s->batch, n);
        }
    }
}

void sync_sinks_emit(plcio_sync *s, const plcio_sink_event *ev)
{
    if (s->sink_count == 0) return;
    if (ev->kind == PLCIO_SINK_TAG && s->batch) {
        s->batch[s->batch_count++] = *ev;
        if (s->batch_count == SYNC_SINK_BATCH) sync_sinks_flush(s);
        return;
    }
    sync_sinks_flush(s);
    for (size_t i = 0; i < s->sink_count; i++)
        offer(s->sinks[i], ev);
}

size_t plcio_sync_sink_count(const plcio_sync *s) { return s ? s->sink_count : 0; }

int plcio_sync_sink_stats(const plcio_sync *s, size_t index, plcio_sink_stats *out)
{
    if (!s || !out || index >= s->sink_count) return PLCIO_EINVAL;
    sync_sink *k = s->sinks[index];
    memset(out, 0, sizeof *out);
    out->name = k->ops->name;
    pthread_mutex_lock(&k->lock);
    out->events = k->events;
    out->delivered = k->delivered;
    out->dropped = k->dropped;
    out->failed = k->failed;
    out->queued = k->count;
    pthread_mutex_unlock(&k->lock);
    return PLCIO_OK;
}
