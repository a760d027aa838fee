/* The historian sink (historian.h): TAG events -> rows -> store-and-forward
 * queue -> writer thread -> backend. deliver() never blocks on the target: a
 * target that is down only fills the queue (bounded; rows beyond it are
 * dropped and counted), so the engine's own queue for this sink never backs up. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "plcio/shm.h"
#include "plcio/value.h"
#include "sync/historian.h"
#include "sync/sf_queue.h"

#define DEFAULT_BATCH    5000u
#define DEFAULT_FLUSH_MS 200u
#define DEFAULT_QUEUE    100000u
#define BACKOFF_MIN_MS   100u
#define BACKOFF_MAX_MS   5000u
#define TEXT_CAP         (3u * PLCIO_WSTRING_MAX + 64u) /* the UTF-8 of the longest WSTRING */

typedef struct hist_config {
    const hist_backend_ops *ops;
    void *backend;
    const plcio_logger *logger;
    bool on_change;
    uint64_t every_ns;
    uint32_t batch, flush_ms, queue;
} hist_config;

typedef struct hist_sink {
    hist_config cfg;
    const char *name;
    const plcio_sink_tag *tags;
    size_t tag_count;
    uint64_t *last_row_ns; /* per tag: time of its last row (for `every`) */
    char *text;            /* TEXT_CAP scratch for value text */
    sf_queue *queue;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t lock; /* stop and nap */
    pthread_cond_t wake;
    bool stop;
    /* writer thread only */
    uint64_t written, rejected;
    char last_error[256];
} hist_sink;

const char *hist_quality_name(int quality)
{
    switch (quality) {
    case PLCIO_SHM_QUALITY_GOOD: return "GOOD";
    case PLCIO_SHM_QUALITY_STALE: return "STALE";
    default: return "ERROR";
    }
}

/* ---- rows ---- */

static bool number(const plcio_value *v, double *out)
{
    switch (v->type) {
    case PLCIO_TYPE_BOOL: *out = v->v.b ? 1.0 : 0.0; return true;
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_LINT: *out = (double)v->v.i; return true;
    case PLCIO_TYPE_BYTE:
    case PLCIO_TYPE_WORD:
    case PLCIO_TYPE_DWORD:
    case PLCIO_TYPE_LWORD:
    case PLCIO_TYPE_USINT:
    case PLCIO_TYPE_UINT:
    case PLCIO_TYPE_UDINT:
    case PLCIO_TYPE_ULINT: *out = (double)v->v.u; return true;
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL: *out = v->v.f; return true;
    default: return false; /* text, characters, times and dates: the text column only */
    }
}

/* The event's raw PLC bytes decoded by the tag's type: a number where the type
 * is one, and the text form in every case. NULL when out of memory. */
static hist_row *make_row(hist_sink *h, const plcio_sink_event *ev, uint64_t time_ns)
{
    const plcio_sink_tag *t = &h->tags[ev->tag];
    size_t len = 0;
    double num = 0;
    bool has_value = false, has_text = ev->quality != PLCIO_SHM_QUALITY_ERROR;
    if (has_text) {
        plcio_value v;
        plcio_value_init(&v, t->type);
        plcio_value_use_buffer(&v, h->text, TEXT_CAP);
        if (plcio_value_decode(&v, t->type, t->length, ev->value, ev->size, t->bit, NULL, NULL) == PLCIO_OK) {
            has_value = number(&v, &num);
            char small[PLCIO_VALUE_TEXT_MAX];
            bool str = t->type == PLCIO_TYPE_STRING || t->type == PLCIO_TYPE_WSTRING;
            if (str) {
                const char *s = plcio_value_text(&v, &len);
                len = strnlen(s, len); /* PostgreSQL text holds no NUL: the text ends at the first */
                memmove(h->text, s, len);
            } else if (plcio_value_to_text(&v, small, sizeof small, &len) == PLCIO_OK) {
                memcpy(h->text, small, len);
            } else {
                len = 0;
            }
        } else {
            has_text = false; /* bytes the type cannot hold (a bad string header): no value */
        }
    }
    hist_row *r = malloc(sizeof *r + len + 1);
    if (!r) return NULL;
    r->time_ns = time_ns;
    r->tag = (uint32_t)ev->tag;
    r->quality = (uint8_t)ev->quality;
    r->has_value = has_value;
    r->has_text = has_text;
    r->reason = ev->reason;
    r->value = num;
    r->text_len = (uint32_t)len;
    memcpy(r->text, h->text, len);
    r->text[len] = '\0';
    return r;
}

static int hist_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    hist_sink *h = state;
    for (size_t i = 0; i < count; i++) {
        const plcio_sink_event *ev = &events[i];
        if (ev->kind != PLCIO_SINK_TAG || ev->tag >= h->tag_count) continue;
        /* a change is stamped with when it happened: the value's or the quality's, the later */
        uint64_t moved_ns = ev->changed_ns > ev->quality_changed_ns ? ev->changed_ns : ev->quality_changed_ns;
        uint64_t time_ns = ev->changed ? moved_ns : ev->read_ns;
        bool due = h->cfg.on_change && ev->changed;
        if (!due && h->cfg.every_ns && ev->quality == PLCIO_SHM_QUALITY_GOOD)
            due = ev->read_ns >= h->last_row_ns[ev->tag] + h->cfg.every_ns;
        if (!due) continue;
        h->last_row_ns[ev->tag] = time_ns;
        hist_row *r = make_row(h, ev, time_ns);
        if (r && !sf_queue_push(h->queue, r)) free(r); /* full: dropped, the queue counts it */
    }
    return PLCIO_OK;
}

/* ---- the writer thread ---- */

static bool stopping(hist_sink *h)
{
    pthread_mutex_lock(&h->lock);
    bool stop = h->stop;
    pthread_mutex_unlock(&h->lock);
    return stop;
}

/* Sleep ms, or less when the sink stops. */
static void nap(hist_sink *h, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->lock);
    while (!h->stop)
        if (pthread_cond_timedwait(&h->wake, &h->lock, &until) != 0) break;
    pthread_mutex_unlock(&h->lock);
}

/* Say what went wrong once per kind of trouble, not on every retry. */
static void trouble(hist_sink *h, const char *what, const char *why)
{
    char line[sizeof h->last_error];
    snprintf(line, sizeof line, "%s: %s", what, why);
    if (!strcmp(line, h->last_error)) return;
    snprintf(h->last_error, sizeof h->last_error, "%s", line);
    sf_queue_stats st;
    sf_queue_get_stats(h->queue, &st);
    log_msg(h->cfg.logger, PLCIO_LOG_ERROR, h->name, "%s (retrying with backoff; %zu rows wait, at most %zu are kept)",
            line, st.depth, st.capacity);
}

static void recovered(hist_sink *h)
{
    if (!h->last_error[0]) return;
    sf_queue_stats st;
    sf_queue_get_stats(h->queue, &st);
    log_msg(h->cfg.logger, PLCIO_LOG_WARN, h->name, "writing again (%zu rows waiting, %llu dropped so far)", st.depth,
            (unsigned long long)st.dropped);
    h->last_error[0] = '\0';
}

/* The writer's connection and backoff. */
typedef struct writer_state {
    bool up;
    unsigned backoff_ms;
    unsigned failures_while_stopping; /* the target is gone at exit: give up after two */
} writer_state;

static void failed(hist_sink *h, writer_state *w)
{
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (w->backoff_ms > BACKOFF_MAX_MS) w->backoff_ms = BACKOFF_MAX_MS;
    if (stopping(h)) w->failures_while_stopping++;
}

/* Connect when needed, then offer the oldest rows; they leave the queue once taken. */
static void send_batch(hist_sink *h, writer_state *w, void **slots)
{
    char err[256] = "";
    if (!w->up) {
        if (h->cfg.ops->connect(h->cfg.backend, err, sizeof err) != PLCIO_OK) {
            trouble(h, "cannot connect", err[0] ? err : "failed");
            failed(h, w);
            return;
        }
        w->up = true;
    }
    size_t n = sf_queue_peek(h->queue, slots, h->cfg.batch);
    hist_result rc = h->cfg.ops->write(h->cfg.backend, h->tags, (hist_row *const *)slots, n, err, sizeof err);
    if (rc == HIST_OK) {
        sf_queue_pop(h->queue, n);
        h->written += n;
        w->backoff_ms = 0;
        recovered(h);
    } else if (rc == HIST_REJECTED) {
        sf_queue_pop(h->queue, n);
        h->rejected += n;
        log_msg(h->cfg.logger, PLCIO_LOG_ERROR, h->name, "%zu rows refused and dropped: %s", n, err);
    } else {
        trouble(h, "cannot write", err[0] ? err : "failed");
        h->cfg.ops->disconnect(h->cfg.backend);
        w->up = false;
        failed(h, w);
    }
}

static void *writer_thread(void *arg)
{
    hist_sink *h = arg;
    void **slots = calloc(h->cfg.batch, sizeof(void *));
    writer_state w = {false, 0, 0};
    while (slots) {
        bool stop = stopping(h);
        size_t depth = sf_queue_wait(h->queue, h->cfg.batch, stop ? 0 : (int)h->cfg.flush_ms);
        if (depth == 0 && stop) break;
        if (depth == 0) continue;
        if (stop && w.failures_while_stopping >= 2) break; /* do not hold the engine's exit */
        if (w.backoff_ms) nap(h, w.backoff_ms);
        send_batch(h, &w, slots);
    }
    free(slots);
    if (w.up) h->cfg.ops->disconnect(h->cfg.backend);
    return NULL;
}

/* ---- the sink ---- */

static void free_config(hist_config *c)
{
    if (!c) return;
    if (c->ops && c->backend) c->ops->free(c->backend);
    free(c);
}

static void hist_close(void *state)
{
    hist_sink *h = state;
    if (!h) return;
    if (h->writer_started) {
        pthread_mutex_lock(&h->lock);
        h->stop = true;
        pthread_cond_broadcast(&h->wake);
        pthread_mutex_unlock(&h->lock);
        sf_queue_close(h->queue); /* wakes the writer; it drains what it can */
        pthread_join(h->writer, NULL);
    }
    if (h->queue) {
        sf_queue_stats st;
        sf_queue_get_stats(h->queue, &st);
        if (st.depth || st.dropped || h->rejected)
            log_msg(h->cfg.logger, PLCIO_LOG_WARN, h->name,
                    "%llu rows written; not written: %zu still queued at exit, %llu dropped (queue of %zu full), "
                    "%llu refused",
                    (unsigned long long)h->written, st.depth, (unsigned long long)st.dropped, st.capacity,
                    (unsigned long long)h->rejected);
        else
            log_msg(h->cfg.logger, PLCIO_LOG_INFO, h->name, "%llu rows written", (unsigned long long)h->written);
    }
    sf_queue_free(h->queue);
    if (h->cfg.ops && h->cfg.backend) h->cfg.ops->free(h->cfg.backend);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->lock);
    free(h->last_row_ns);
    free(h->text);
    free(h);
}

static int hist_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    hist_config *c = config;
    hist_sink *h = calloc(1, sizeof *h);
    if (!h) {
        free_config(c);
        return PLCIO_ENOMEM;
    }
    h->cfg = *c;
    free(c); /* the backend moved into h */
    h->name = h->cfg.ops->name;
    h->tags = tags;
    h->tag_count = tag_count;
    pthread_mutex_init(&h->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wake, &attr);
    pthread_condattr_destroy(&attr);
    *state = h;
    h->last_row_ns = calloc(tag_count ? tag_count : 1, sizeof *h->last_row_ns);
    h->text = malloc(TEXT_CAP);
    h->queue = sf_queue_new(h->cfg.queue, free);
    if (!h->last_row_ns || !h->text || !h->queue) {
        hist_close(h);
        *state = NULL;
        return PLCIO_ENOMEM;
    }
    if (pthread_create(&h->writer, NULL, writer_thread, h) != 0) {
        hist_close(h);
        *state = NULL;
        return plcio_error_set(err, PLCIO_ENOMEM, "cannot start its writer thread");
    }
    h->writer_started = true;
    return PLCIO_OK;
}

static const plcio_sink sink_postgres = {
    .abi = PLCIO_SINK_ABI, .name = "postgres", .open = hist_open, .deliver = hist_deliver, .close = hist_close};
static const plcio_sink sink_influx = {
    .abi = PLCIO_SINK_ABI, .name = "influx", .open = hist_open, .deliver = hist_deliver, .close = hist_close};

int hist_sink_config(const plcio_sync_output_spec *spec, const plcio_logger *logger, const plcio_sink **ops,
                     void **config, char *err, size_t cap)
{
    hist_config *c = calloc(1, sizeof *c);
    if (!c) return PLCIO_ENOMEM;
    c->logger = logger;
    c->on_change = spec->on_change;
    c->every_ns = (uint64_t)spec->every_ms * 1000000u;
    c->batch = spec->batch ? spec->batch : DEFAULT_BATCH;
    c->flush_ms = spec->flush_ms ? spec->flush_ms : DEFAULT_FLUSH_MS;
    c->queue = spec->queue ? spec->queue : DEFAULT_QUEUE;
    if (c->batch > c->queue) c->batch = c->queue;
    int rc;
    if (spec->kind == PLCIO_OUTPUT_POSTGRES) {
        *ops = &sink_postgres;
        rc = hist_postgres_new(spec, &c->ops, &c->backend, err, cap);
    } else if (spec->kind == PLCIO_OUTPUT_INFLUX) {
        *ops = &sink_influx;
        rc = hist_influx_new(spec, &c->ops, &c->backend, err, cap);
    } else {
        snprintf(err, cap, "output %d: unknown kind", (int)spec->kind);
        rc = PLCIO_EINVAL;
    }
    if (rc != PLCIO_OK) {
        free_config(c);
        return rc;
    }
    *config = c;
    return PLCIO_OK;
}
