/* Running the sync engine: per-group schedules on one event loop, connection
 * management with backoff, quality, statistics, publishing, writes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/value.h"
#include "shm/shm_internal.h"
#include "sync/sync_engine_priv.h"
#include "tag/tag_internal.h"
#include "core/error.h"
#include "core/mem.h"

#define WRITE_POLL_NS (2 * PLCIO_NS_PER_MS) /* how often the shm write ring is looked at */
#define HEARTBEAT_NS  (250 * PLCIO_NS_PER_MS)

static uint64_t now_ns(const plcio_sync *s) { return plcio_loop_now(s->loop); }

/* ---- what drivers see (plcio/driver.h) ---- */

plcio_loop *plcio_sync_device_loop(const sync_device *d) { return d->engine->loop; }
const plcio_logger *plcio_sync_device_logger(const sync_device *d) { return &d->engine->logger; }
const char *plcio_sync_device_name(const sync_device *d) { return d->name; }
const char *plcio_sync_device_url(const sync_device *d) { return d->url; }
void plcio_sync_device_set_data(sync_device *d, void *data) { d->drv = data; }
void *plcio_sync_device_data(const sync_device *d) { return d->drv; }
bool plcio_sync_device_connecting(const sync_device *d) { return d->state == SYNC_DEV_CONNECTING; }
bool plcio_sync_device_is_up(const sync_device *d) { return d->state == SYNC_DEV_UP; }

void plcio_sync_device_log(const sync_device *d, plcio_log_level level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_msg(&d->engine->logger, level, "sync", "%s", line);
}

void **plcio_sync_device_shared(sync_device *d)
{
    plcio_sync *s = d->engine;
    for (size_t i = 0; i < s->driver_count; i++)
        if (s->drivers[i] == d->ops) return &s->driver_state[i];
    return NULL; /* not reached: a device's driver is registered */
}

const char *plcio_sync_group_name(const sync_group *g) { return g->name; }
sync_device *plcio_sync_group_device(const sync_group *g) { return g->device; }
size_t plcio_sync_group_tag_count(const sync_group *g) { return g->tag_count; }
sync_tag *plcio_sync_group_tag(const sync_group *g, size_t i) { return i < g->tag_count ? g->tags[i] : NULL; }
void plcio_sync_group_set_plan(sync_group *g, void *plan) { g->plan = plan; }
uint32_t plcio_sync_group_interval_ms(const sync_group *g) { return (uint32_t)(g->interval_ns / PLCIO_NS_PER_MS); }
bool plcio_sync_group_subscribed(const sync_group *g) { return g->subscribe; }
void plcio_sync_group_notified(sync_group *g, uint64_t n) { g->stats.notifications += n; }
void *plcio_sync_group_plan(const sync_group *g) { return g->plan; }

const char *plcio_sync_tag_name(const sync_tag *t) { return t->name; }
plcio_type plcio_sync_tag_type(const sync_tag *t) { return t->type; }
unsigned plcio_sync_tag_length(const sync_tag *t) { return t->length; }
unsigned plcio_sync_tag_bit(const sync_tag *t) { return t->bit; }
uint32_t plcio_sync_tag_size(const sync_tag *t) { return t->size; }
/* Tags live in the engine's writable array; const only says the engine's
 * fields are not touched through this pointer. */
void *plcio_sync_tag_location(const sync_tag *t)
{
    const unsigned char *in = t->location.bytes;
    void *out;
    memcpy(&out, &in, sizeof out);
    return out;
}

void plcio_sync_tag_set_shape(sync_tag *t, plcio_type type, unsigned length, unsigned bit, uint32_t size)
{
    t->type = type;
    t->length = length;
    t->bit = bit;
    t->size = size;
}

sync_tag *plcio_sync_write_tag(const sync_write *w) { return w->tag; }

uint8_t *plcio_sync_write_data(const sync_write *w, size_t *size)
{
    if (size) *size = w->size;
    return w->data;
}

/* ---- quality ---- */

/* The group's values are not being read: keep the last good ones as STALE, and
 * mark tags that never had a value as ERROR (there is nothing to be stale). */
static void emit_tag(plcio_sync *s, sync_tag *t, uint8_t quality, int reason, bool changed);

static void mark_group_unavailable(sync_group *g, int err)
{
    plcio_sync *s = g->device->engine;
    uint8_t q = g->last_good_ns ? PLCIO_SHM_QUALITY_STALE : PLCIO_SHM_QUALITY_ERROR;
    for (size_t i = 0; i < g->tag_count; i++)
        emit_tag(s, g->tags[i], q, err, false);
}

/* ---- values from drivers ---- */

static bool numeric(plcio_type t)
{
    switch (t) {
    case PLCIO_TYPE_BOOL:
    case PLCIO_TYPE_STRING:
    case PLCIO_TYPE_WSTRING:
    case PLCIO_TYPE_CHAR:
    case PLCIO_TYPE_WCHAR:
    case PLCIO_TYPE_DATE_AND_TIME:
    case PLCIO_TYPE_DTL:
    case PLCIO_TYPE_LDT:
    case PLCIO_TYPE_DATE: return false;
    default: return true;
    }
}

/* ---- the value image and the sinks ---- */

/* The first event of a loop round opens it for the sinks. */
static void open_round(plcio_sync *s)
{
    if (s->round_open) return;
    s->round_open = true;
    plcio_sink_event ev = {.kind = PLCIO_SINK_ROUND_START};
    sync_sinks_emit(s, &ev);
}

static uint64_t round_time(plcio_sync *s);

/* Record a tag's new quality (its bytes already in the image) and hand it on.
 * `changed`: the value's bytes moved. The value's change time moves with the
 * value only (and with its first good read), the quality's with the quality;
 * the event's `changed` flag says that either moved. */
static void emit_tag(plcio_sync *s, sync_tag *t, uint8_t quality, int reason, bool changed)
{
    bool quality_moved = quality != t->quality || reason != t->reason;
    uint64_t now = round_time(s);
    if (quality == PLCIO_SHM_QUALITY_GOOD) {
        t->read_ns = now;
        if (changed || !t->changed_ns) t->changed_ns = now;
    }
    if (quality_moved) t->quality_ns = now;
    changed = changed || quality_moved;
    t->quality = quality;
    t->reason = reason;
    open_round(s);
    if (!s->sink_count) return;
    /* Written straight into the batch: a round is mostly these. */
    plcio_sink_event *ev = &s->batch[s->batch_count];
    *ev = (plcio_sink_event){.kind = PLCIO_SINK_TAG,
                             .tag = t->index,
                             .value = t->value,
                             .size = t->size,
                             .quality = quality,
                             .reason = reason,
                             .changed = changed,
                             .read_ns = t->read_ns,
                             .changed_ns = t->changed_ns,
                             .quality_changed_ns = t->quality_ns};
    if (++s->batch_count == SYNC_SINK_BATCH) sync_sinks_flush(s);
}

static double number_of(const sync_tag *t, const uint8_t *raw, size_t len, bool *ok)
{
    plcio_value v;
    plcio_value_init(&v, t->type);
    *ok = value_decode_buf(&v, t->type, t->length, raw, len, 0, NULL, NULL, 0) == PLCIO_OK;
    switch (t->type) {
    case PLCIO_TYPE_REAL:
    case PLCIO_TYPE_LREAL: return v.v.f;
    case PLCIO_TYPE_SINT:
    case PLCIO_TYPE_INT:
    case PLCIO_TYPE_DINT:
    case PLCIO_TYPE_LINT:
    case PLCIO_TYPE_TIME:
    case PLCIO_TYPE_LTIME: return (double)v.v.i;
    default: return (double)v.v.u;
    }
}

/* Values read in one loop round arrived together: one wall-clock reading for all. */
static uint64_t round_time(plcio_sync *s)
{
    if (!s->round_real_ns) s->round_real_ns = plcio_realtime_ns();
    return s->round_real_ns;
}

void plcio_sync_tag_value(sync_tag *t, const uint8_t *raw, size_t len)
{
    plcio_sync *s = t->group->device->engine;
    if (len != t->size) { /* a driver bug: never copy past the tag's bytes */
        plcio_sync_tag_error(t, PLCIO_EPROTO);
        return;
    }
    /* Within the deadband the kept value stays; only the read time moves.
     * Numeric types are at most 8 bytes. */
    if (t->deadband > 0 && numeric(t->type) && len <= 8 && t->group->last_good_ns && t->read_ns) {
        bool ok_old, ok_new;
        double a = number_of(t, t->value, len, &ok_old), b = number_of(t, raw, len, &ok_new);
        if (ok_old && ok_new && fabs(a - b) < t->deadband) {
            emit_tag(s, t, PLCIO_SHM_QUALITY_GOOD, PLCIO_OK, false);
            return;
        }
    }
    bool changed = mem_differ(t->value, raw, len);
    if (changed) memcpy(t->value, raw, len);
    emit_tag(s, t, PLCIO_SHM_QUALITY_GOOD, PLCIO_OK, changed);
}

void plcio_sync_tag_error(sync_tag *t, int err)
{
    emit_tag(t->group->device->engine, t, PLCIO_SHM_QUALITY_ERROR, err, false);
}

static void count_cycle(sync_counters *c, uint64_t cycle_ns)
{
    if (c->cycles == 0 || cycle_ns < c->cycle_min) c->cycle_min = cycle_ns;
    if (cycle_ns > c->cycle_max) c->cycle_max = cycle_ns;
    c->cycle_sum += cycle_ns;
    c->cycles++;
}

void plcio_sync_group_done(sync_group *g, int err, uint64_t requests, uint64_t bytes)
{
    plcio_sync *s = g->device->engine;
    sync_sinks_flush(s); /* the cycle's values leave together, before its image can move again */
    if (!g->busy) return;
    g->busy = false;
    uint64_t now = now_ns(s);
    g->stats.requests += requests;
    g->stats.bytes += bytes;
    if (err == PLCIO_OK) {
        count_cycle(&g->stats, now - g->started_ns);
        /* Smoothed refresh period (weight 1/4 for the newest): it follows
         * the loop when it falls behind and comes back when it catches up. */
        uint64_t period = g->period_from_ns ? now - g->period_from_ns : g->interval_ns;
        g->refresh_ns = g->refresh_ns ? (3 * g->refresh_ns + period) / 4 : period;
        g->period_from_ns = now;
        g->last_good_ns = now;
        g->missed = 0;
        g->unavailable = false;
    } else {
        g->stats.errors++;
    }
}

/* ---- connections ---- */

static void connect_now(plcio_loop *loop, void *ctx)
{
    (void)loop;
    sync_device *d = ctx;
    d->reconnect_timer = 0;
    d->state = SYNC_DEV_CONNECTING;
    d->ops->connect(d);
}

static void start_write(sync_device *d, sync_write *w)
{
    w->started = true;
    d->writes_in_flight++;
    d->ops->write(d, w);
}

void plcio_sync_device_up(sync_device *d)
{
    plcio_sync *s = d->engine;
    d->state = SYNC_DEV_UP;
    d->backoff_ns = d->reconnect_min_ns;
    d->connects++;
    d->up_since_ns = now_ns(s);
    d->last_error = PLCIO_OK;
    log_msg(&s->logger, PLCIO_LOG_INFO, "sync", "%s: connected", d->name);
    plcio_sink_event ev = {.kind = PLCIO_SINK_DEVICE_STATE, .device = (size_t)(d - s->devices), .connected = true};
    sync_sinks_emit(s, &ev);
    while (d->writes_head) {
        sync_write *w = d->writes_head;
        d->writes_head = w->next;
        w->next = NULL;
        start_write(d, w);
    }
    d->writes_tail = NULL;
}

void plcio_sync_device_down(sync_device *d, int err, const char *message)
{
    plcio_sync *s = d->engine;
    bool was_up = d->state == SYNC_DEV_UP;
    if (d->state == SYNC_DEV_DOWN && d->reconnect_timer) return; /* already handled */
    d->state = SYNC_DEV_DOWN;
    d->last_error = err;
    snprintf(d->last_message, sizeof d->last_message, "%s", message && *message ? message : plcio_strerror(err));
    if (was_up)
        d->disconnects++;
    else
        d->connect_failures++;
    log_msg(&s->logger, was_up ? PLCIO_LOG_WARN : PLCIO_LOG_INFO, "sync", "%s: %s%s; retry in %llu ms", d->name,
            was_up ? "connection lost: " : "cannot connect: ", d->last_message,
            (unsigned long long)(d->backoff_ns / PLCIO_NS_PER_MS));
    plcio_sink_event ev = {
        .kind = PLCIO_SINK_DEVICE_STATE, .device = (size_t)(d - s->devices), .reason = err, .message = d->last_message};
    sync_sinks_emit(s, &ev);
    for (size_t i = 0; i < d->group_count; i++) {
        sync_group *g = &d->groups[i];
        if (g->busy) {
            g->busy = false;
            g->stats.errors++;
        }
        mark_group_unavailable(g, err);
        g->unavailable = true;
        g->refresh_ns = 0; /* the time it was down is no refresh period */
        g->period_from_ns = 0;
    }
    if (!loop_stopped(s->loop)) {
        d->reconnect_timer = plcio_loop_timer_add(s->loop, now_ns(s) + d->backoff_ns, connect_now, d);
        d->backoff_ns = d->backoff_ns * 2 > d->reconnect_max_ns ? d->reconnect_max_ns : d->backoff_ns * 2;
    }
}

/* ---- schedules ---- */

/* Has the group gone without a good read for stale-after cycles? A cycle is
 * the interval, or the group's recent refresh period when that is longer: an
 * engine (or device) that keeps up only every few intervals still delivers
 * fresh values, and marking them stale between two reads would only flip
 * every tag stale and good again, a burst of work for every sink each time,
 * just when the loop has the least time for it. A device that stops
 * answering still turns stale, after stale-after of its recent periods. */
static bool overdue(const sync_group *g, uint64_t now)
{
    if (!g->last_good_ns) return true;
    uint64_t cycle = g->refresh_ns > g->interval_ns ? g->refresh_ns : g->interval_ns;
    return now - g->last_good_ns >= (uint64_t)g->device->stale_after * cycle;
}

static void group_tick(plcio_loop *loop, void *ctx)
{
    sync_group *g = ctx;
    sync_device *d = g->device;
    uint64_t now = plcio_loop_now(loop);
    g->timer = 0;
    if (d->state == SYNC_DEV_UP && !g->busy) {
        uint64_t jitter = now - g->due_ns;
        g->stats.jitter_sum += jitter;
        if (jitter > g->stats.jitter_max) g->stats.jitter_max = jitter;
        g->busy = true;
        g->started_ns = now;
        d->ops->read(d, g); /* may complete synchronously */
    } else {
        if (g->busy) g->stats.late++;
        g->missed++;
        if (!g->unavailable && g->missed >= d->stale_after && overdue(g, now)) {
            g->unavailable = true;
            /* a device still connecting for the first time has no error yet: "not connected" */
            mark_group_unavailable(g, d->state == SYNC_DEV_UP ? PLCIO_ETIMEDOUT
                                      : d->last_error         ? d->last_error
                                                              : PLCIO_ENOTCONN);
        }
    }
    /* Next slot on the grid; slots already past are skipped and counted late. */
    g->due_ns += g->interval_ns;
    if (g->due_ns <= now) {
        uint64_t behind = (now - g->due_ns) / g->interval_ns + 1;
        g->stats.late += behind;
        g->due_ns += behind * g->interval_ns;
    }
    if (!loop_stopped(loop)) g->timer = plcio_loop_timer_add(loop, g->due_ns, group_tick, g);
}

/* ---- writes ---- */

/* The device acknowledged a write: its bytes (for BOOL: its bit) are the
 * tag's value now, as if just read, so whoever hears "done" finds the new
 * value in shared memory (the next read confirms it, or shows what the PLC
 * program made of it). A tag without a good value waits for its next read. */
static bool apply_written(plcio_sync *s, const sync_write *w)
{
    sync_tag *t = w->tag;
    if (t->quality != PLCIO_SHM_QUALITY_GOOD || w->size != t->size || !t->size) return false;
    bool changed;
    if (t->type == PLCIO_TYPE_BOOL) {
        uint8_t mask = (uint8_t)(1u << (t->bit & 7u)), now = (uint8_t)((t->value[0] & ~mask) | (w->data[0] & mask));
        changed = now != t->value[0];
        t->value[0] = now;
    } else {
        changed = memcmp(t->value, w->data, t->size) != 0;
        memcpy(t->value, w->data, t->size);
    }
    emit_tag(s, t, PLCIO_SHM_QUALITY_GOOD, PLCIO_OK, changed);
    return true;
}

/* End the loop round early (the sinks hear ROUND_END, shared memory
 * publishes); what follows in this loop round opens a new one. */
static void close_round(plcio_sync *s)
{
    if (!s->round_open) return;
    s->round_open = false;
    s->round_real_ns = 0; /* what comes next is another round, read at another time */
    plcio_sink_event ev = {.kind = PLCIO_SINK_ROUND_END};
    sync_sinks_emit(s, &ev);
}

void plcio_sync_write_done(sync_write *w, int err, const char *message)
{
    sync_device *d = w->tag->group->device;
    plcio_sync *s = d->engine;
    if (w->started) d->writes_in_flight--;
    const char *msg = message && *message ? message : (err ? plcio_strerror(err) : NULL);
    log_msg(&s->logger, err ? PLCIO_LOG_WARN : PLCIO_LOG_DEBUG, "sync", "write %s: %s", w->tag->name,
            err ? msg : "done");
    bool applied = err == PLCIO_OK && apply_written(s, w);
    plcio_sink_event ev = {.kind = PLCIO_SINK_WRITE_RESULT, .tag = w->tag->index, .reason = err, .message = msg};
    sync_sinks_emit(s, &ev);
    if (applied) close_round(s); /* published before the writer hears "done" */
    if (w->from_shm) {
        if (s->shm) plcio_shm_writer_complete(s->shm, w->shm_slot, err, msg);
    } else if (w->cb) {
        w->cb(w->cb_ctx, err, msg);
    }
    free(w->data);
    free(w);
}

static void submit_write(plcio_sync *s, sync_write *w)
{
    sync_device *d = w->tag->group->device;
    plcio_sink_event ev = {.kind = PLCIO_SINK_WRITE_REQUEST, .tag = w->tag->index, .value = w->data, .size = w->size};
    sync_sinks_emit(s, &ev);
    if (d->state == SYNC_DEV_UP) {
        start_write(d, w);
    } else if (w->deadline_ns > now_ns(s)) {
        if (d->writes_tail)
            d->writes_tail->next = w;
        else
            d->writes_head = w;
        d->writes_tail = w;
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, "device %s is not connected (%s)", d->name,
                 d->last_message[0] ? d->last_message : "connecting");
        plcio_sync_write_done(w, PLCIO_ENOTCONN, msg);
    }
}

static void expire_queued_writes(plcio_sync *s, uint64_t now)
{
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        sync_write **link = &d->writes_head, *prev = NULL;
        while (*link) {
            sync_write *w = *link;
            if (w->deadline_ns > now) {
                prev = w;
                link = &w->next;
                continue;
            }
            *link = w->next;
            if (d->writes_tail == w) d->writes_tail = prev;
            w->next = NULL;
            char msg[300];
            snprintf(msg, sizeof msg, "device %s did not come back in time (%s)", d->name, d->last_message);
            plcio_sync_write_done(w, PLCIO_ETIMEDOUT, msg);
        }
    }
}

static sync_write *new_write(sync_tag *t, const uint8_t *data, size_t size)
{
    sync_write *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->data = malloc(size ? size : 1);
    if (!w->data) {
        free(w);
        return NULL;
    }
    memcpy(w->data, data, size);
    w->size = size;
    w->tag = t;
    return w;
}

static void poll_write_ring(plcio_loop *loop, void *ctx)
{
    plcio_sync *s = ctx;
    plcio_shm_write_request req;
    while (s->shm && plcio_shm_writer_next_write(s->shm, &req) == PLCIO_OK) {
        sync_tag *t = req.tag < s->tag_count ? &s->tags[req.tag] : NULL;
        sync_write *w = t ? new_write(t, req.data, req.size) : NULL;
        if (!w) {
            plcio_shm_writer_complete(s->shm, req.slot, t ? PLCIO_ENOMEM : PLCIO_ENOTFOUND, NULL);
            continue;
        }
        w->from_shm = true;
        w->shm_slot = req.slot;
        submit_write(s, w);
    }
    expire_queued_writes(s, plcio_loop_now(loop));
    if (!loop_stopped(loop))
        s->ring_timer = plcio_loop_timer_add(loop, plcio_loop_now(loop) + WRITE_POLL_NS, poll_write_ring, s);
}

static int find_tag(const plcio_sync *s, const char *name, sync_tag **out)
{
    for (size_t i = 0; i < s->tag_count; i++)
        if (!strcmp(s->tags[i].name, name)) {
            *out = &s->tags[i];
            return PLCIO_OK;
        }
    return PLCIO_ENOTFOUND;
}

int sync_write_buf(plcio_sync *s, const char *tag, const char *text, int queue_ms, plcio_sync_write_cb cb, void *ctx,
                   char *err, size_t err_cap)
{
    if (!s || !tag || !text) return PLCIO_EINVAL;
    sync_tag *t;
    if (find_tag(s, tag, &t) != PLCIO_OK) {
        if (err && err_cap) snprintf(err, err_cap, "no tag named '%s'", tag);
        return PLCIO_ENOTFOUND;
    }
    size_t text_cap = 3 * (size_t)t->length + 8;
    char *text_buf = malloc(text_cap);
    uint8_t *bytes = calloc(1, t->size ? t->size : 1);
    int rc = (text_buf && bytes) ? PLCIO_OK : PLCIO_ENOMEM;
    plcio_value v;
    plcio_value_init(&v, t->type);
    if (rc == PLCIO_OK) {
        plcio_value_use_buffer(&v, text_buf, text_cap);
        char why[200] = "";
        rc = value_from_text_buf(&v, t->type, t->length, text, strlen(text), why, sizeof why);
        if (rc == PLCIO_OK) rc = value_encode_buf(&v, bytes, t->size, t->bit, NULL, why, sizeof why);
        if (rc != PLCIO_OK && err && err_cap) snprintf(err, err_cap, "%s: %s", tag, why[0] ? why : plcio_strerror(rc));
    }
    sync_write *w = rc == PLCIO_OK ? new_write(t, bytes, t->size) : NULL;
    free(text_buf);
    free(bytes);
    if (rc != PLCIO_OK) return rc;
    if (!w) return PLCIO_ENOMEM;
    w->cb = cb;
    w->cb_ctx = ctx;
    w->deadline_ns = queue_ms > 0 ? now_ns(s) + (uint64_t)queue_ms * PLCIO_NS_PER_MS : 0;
    submit_write(s, w);
    return PLCIO_OK;
}

/* ---- lifecycle ---- */

void sync_note_recreations(plcio_sync *s)
{
    uint64_t n = plcio_shm_writer_recreations(s->shm);
    if (n == s->shm_recreations) return;
    uint64_t times = n - s->shm_recreations; /* more than one when damaged again before this note */
    s->shm_recreations = n;
    char again[40] = "";
    if (times > 1) (void)snprintf(again, sizeof again, " (%llu times)", (unsigned long long)times);
    log_msg(&s->logger, PLCIO_LOG_WARN, "sync",
            "shared memory %s (or its write ring) was truncated, removed or replaced by another process%s: "
            "moved to new objects under the same names (readers reopen)",
            s->shm_name, again);
}

static void heartbeat(plcio_loop *loop, void *ctx)
{
    plcio_sync *s = ctx;
    if (s->shm) {
        plcio_shm_writer_heartbeat(s->shm);
        sync_note_recreations(s);
        /* A JSON text held back by its interval (or the bound on a large
         * one) is published now if no round did since: the last change
         * reaches JSON readers even when nothing changes after it. */
        if (shm_writer_json_pending(s->shm, plcio_monotonic_ns())) {
            sync_sinks_flush(s);
            sync_shm_publish(s);
        }
    }
    if (!loop_stopped(loop)) plcio_loop_timer_add(loop, plcio_loop_now(loop) + HEARTBEAT_NS, heartbeat, s);
}

static int create_segment(plcio_sync *s, const plcio_sync_config *cfg, const plcio_sync_options *o, char *err,
                          size_t cap)
{
    const char *name = (o && o->shm_name) ? o->shm_name : cfg->shm_name;
    int n = snprintf(s->shm_name, sizeof s->shm_name, "%s%s", name[0] == '/' ? "" : "/", name);
    if (n < 0 || (size_t)n >= sizeof s->shm_name) { /* a cut name would be another segment */
        snprintf(err, cap, "shared memory name '%s' is too long", name);
        return PLCIO_ERANGE;
    }
    if (o && o->no_shm) return PLCIO_OK;
    plcio_shm_tag_def *defs = calloc(s->tag_count ? s->tag_count : 1, sizeof *defs);
    if (!defs) return PLCIO_ENOMEM;
    for (size_t i = 0; i < s->tag_count; i++) {
        defs[i].name = s->tags[i].name;
        defs[i].type = s->tags[i].type;
        defs[i].length = s->tags[i].length;
        defs[i].bit = s->tags[i].bit;
        defs[i].writable = s->tags[i].writable;
    }
    plcio_shm_options so;
    memset(&so, 0, sizeof so);
    so.data.mode = o && o->shm_mode ? o->shm_mode : cfg->shm_mode;
    so.data.group = o && o->shm_group ? o->shm_group : cfg->shm_group;
    so.ring.mode = o && o->shm_write_mode ? o->shm_write_mode : cfg->shm_write_mode;
    so.ring.group = o && o->shm_write_group ? o->shm_write_group : cfg->shm_write_group;
    so.no_json = cfg->json_off || (o && o->no_json);
    uint32_t json_ms = o && o->json_interval_ms ? o->json_interval_ms : cfg->json_interval_ms;
    so.json_min_interval_ns = (uint64_t)json_ms * PLCIO_NS_PER_MS;
    plcio_error why;
    int rc = plcio_shm_writer_new(s->shm_name, defs, s->tag_count, &so, &s->shm, &why);
    free(defs);
    if (rc != PLCIO_OK)
        snprintf(err, cap, "shared memory %s: %s", s->shm_name, why.text);
    else if (plcio_shm_writer_replaced_pid(s->shm))
        log_msg(&s->logger, PLCIO_LOG_WARN, "sync", "replaced the segment %s left by engine pid %u, which died",
                s->shm_name, plcio_shm_writer_replaced_pid(s->shm));
    return rc;
}

/* The engine's own copy of every value, and the tag table its sinks see. */
static int build_image(plcio_sync *s)
{
    size_t total = 0;
    for (size_t i = 0; i < s->tag_count; i++)
        total += s->tags[i].size;
    s->image = calloc(total ? total : 1, 1);
    s->sink_tags = calloc(s->tag_count ? s->tag_count : 1, sizeof *s->sink_tags);
    if (!s->image || !s->sink_tags) return PLCIO_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < s->tag_count; i++) {
        sync_tag *t = &s->tags[i];
        t->value = s->image + at;
        at += t->size;
        s->sink_tags[i] = (plcio_sink_tag){
            t->name, t->group->device->name, t->group->name, t->type, t->length, t->bit, t->size, t->writable};
    }
    return PLCIO_OK;
}

static int open_sinks(plcio_sync *s, const plcio_sync_config *cfg, const plcio_sync_options *o, char *err, size_t cap)
{
    size_t extra = o ? o->sink_count : 0;
    if (extra && !o->sinks) return PLCIO_EINVAL;
    s->sinks = calloc(extra + cfg->output_count + 3, sizeof(sync_sink *)); /* + modbus-server + s7-server + shm */
    s->batch = calloc(SYNC_SINK_BATCH, sizeof *s->batch);
    if (!s->sinks || !s->batch) return PLCIO_ENOMEM;
    for (size_t i = 0; i < extra; i++) {
        const plcio_sync_sink *reg = &o->sinks[i];
        int rc = sync_sink_open(s, &s->sinks[s->sink_count], reg->ops, reg->config, reg->queue_events, err, cap);
        if (s->sinks[s->sink_count]) s->sink_count++;
        if (rc != PLCIO_OK) return rc;
    }
    int rc = sync_open_outputs(s, cfg, err, cap);
    if (rc == PLCIO_OK) rc = sync_open_modbus_server(s, cfg, err, cap);
    if (rc == PLCIO_OK) rc = sync_open_s7_server(s, cfg, err, cap);
    if (rc != PLCIO_OK || !s->shm) return rc;
    rc = sync_sink_open(s, &s->sinks[s->sink_count], &sync_sink_shm, s, 0, err, cap);
    if (s->sinks[s->sink_count]) s->sink_count++;
    return rc;
}

/* Where the k-th of n groups starts its grid within its interval. The grids
 * spread over the interval (a k/n share later): a thousand devices' reads
 * started in the same instant make one burst whose last answers are late
 * although the loop has time to spare over the interval. In steps of
 * PHASE_STEP_NS, so the groups of one step still share their loop rounds
 * (every round publishes: with 1 ms steps 1,000 devices cost 35 % more
 * CPU per cycle in publishing than with 5 ms). */
#define PHASE_STEP_NS (5 * PLCIO_NS_PER_MS)

static uint64_t phase_of(uint64_t interval_ns, size_t k, size_t n)
{
    uint64_t phase = (uint64_t)((double)interval_ns * (double)k / (double)n);
    return phase / PHASE_STEP_NS * PHASE_STEP_NS;
}

int sync_new_buf(const plcio_sync_config *cfg, const plcio_sync_options *o, plcio_sync **out, char *err, size_t err_cap)
{
    char scratch[8];
    if (!err || !err_cap) {
        err = scratch;
        err_cap = sizeof scratch;
    }
    err[0] = '\0';
    if (!cfg || !out) return PLCIO_EINVAL;
    *out = NULL;
    plcio_sync *s = calloc(1, sizeof *s);
    if (!s) return PLCIO_ENOMEM;
    if (o) {
        s->logger = o->logger;
        s->clock = o->clock;
    }
    atomic_init(&s->stop, false);
    s->loop = loop_new(&s->clock);
    int rc = s->loop ? sync_register_drivers(s, o, err, err_cap) : PLCIO_ENOMEM;
    if (rc == PLCIO_OK) rc = sync_build(s, cfg, err, err_cap);
    if (rc == PLCIO_OK) rc = build_image(s);
    if (rc == PLCIO_OK) rc = create_segment(s, cfg, o, err, err_cap);
    if (rc == PLCIO_OK) rc = open_sinks(s, cfg, o, err, err_cap);
    if (rc != PLCIO_OK) {
        if (!err[0]) snprintf(err, err_cap, "%s", plcio_strerror(rc));
        plcio_sync_free(s);
        return rc;
    }
    uint64_t now = now_ns(s);
    size_t k = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        d->reconnect_timer = plcio_loop_timer_add(s->loop, now, connect_now, d);
        for (size_t j = 0; j < d->group_count; j++, k++) {
            sync_group *g = &d->groups[j];
            g->due_ns = now + g->interval_ns + phase_of(g->interval_ns, k, s->group_count);
            g->timer = plcio_loop_timer_add(s->loop, g->due_ns, group_tick, g);
        }
    }
    s->ring_timer = plcio_loop_timer_add(s->loop, now + WRITE_POLL_NS, poll_write_ring, s);
    plcio_loop_timer_add(s->loop, now, heartbeat, s);
    *out = s;
    return PLCIO_OK;
}

static void fail_queued_writes(plcio_sync *s)
{
    for (size_t i = 0; i < s->device_count; i++) {
        sync_device *d = &s->devices[i];
        while (d->writes_head) {
            sync_write *w = d->writes_head;
            d->writes_head = w->next;
            w->next = NULL;
            plcio_sync_write_done(w, PLCIO_ECANCELED, "the sync engine stopped");
        }
        d->writes_tail = NULL;
    }
}

void plcio_sync_free(plcio_sync *s)
{
    if (!s) return;
    if (s->loop) loop_stop(s->loop); /* no new timers from here on */
    fail_queued_writes(s);
    if (s->shm) {
        /* Requests still in the ring will not be served: answer them. */
        plcio_shm_write_request req;
        while (plcio_shm_writer_next_write(s->shm, &req) == PLCIO_OK)
            plcio_shm_writer_complete(s->shm, req.slot, PLCIO_ECANCELED, "the sync engine stopped");
        sync_note_recreations(s); /* a damage repaired since the last note is said too */
    }
    sync_close_drivers(s); /* drivers fail their in-flight writes as they close: sinks hear it */
    sync_sinks_flush(s);
    for (size_t i = 0; i < s->sink_count; i++)
        sync_sink_close(s->sinks[i]); /* a queued sink gets what is queued first */
    free(s->sinks);
    free(s->batch);
    sync_unbuild(s);
    plcio_shm_writer_free(s->shm);
    loop_free(s->loop);
    free(s);
}

int plcio_sync_run_once(plcio_sync *s, int max_wait_ms)
{
    if (!s) return PLCIO_EINVAL;
    s->round_real_ns = 0;
    int rc = loop_run_once(s->loop, max_wait_ms);
    close_round(s);
    return rc < 0 ? rc : PLCIO_OK;
}

int plcio_sync_run(plcio_sync *s)
{
    if (!s) return PLCIO_EINVAL;
    while (!atomic_load(&s->stop)) {
        int rc = plcio_sync_run_once(s, 1000);
        if (rc != PLCIO_OK) return rc;
    }
    return PLCIO_OK;
}

void plcio_sync_stop(plcio_sync *s)
{
    if (!s) return;
    atomic_store(&s->stop, true);
    loop_wake(s->loop);
}

/* ---- statistics ---- */

size_t plcio_sync_device_count(const plcio_sync *s) { return s ? s->device_count : 0; }
size_t plcio_sync_group_count(const plcio_sync *s) { return s ? s->group_count : 0; }
size_t plcio_sync_tag_count(const plcio_sync *s) { return s ? s->tag_count : 0; }
struct plcio_shm_writer *plcio_sync_shm(plcio_sync *s) { return s ? s->shm : NULL; }
plcio_loop *plcio_sync_loop(plcio_sync *s) { return s ? s->loop : NULL; }
const char *plcio_sync_shm_name(const plcio_sync *s) { return s ? s->shm_name : ""; }

static void fill_counters(plcio_sync_stats *out, const sync_counters *c)
{
    out->cycles = c->cycles;
    out->late = c->late;
    out->errors = c->errors;
    out->requests = c->requests;
    out->bytes = c->bytes;
    out->cycle_min_ns = c->cycle_min;
    out->cycle_max_ns = c->cycle_max;
    out->cycle_avg_ns = c->cycles ? c->cycle_sum / c->cycles : 0;
    out->jitter_max_ns = c->jitter_max;
    out->jitter_avg_ns = c->cycles ? c->jitter_sum / c->cycles : 0;
}

int plcio_sync_device_stats(const plcio_sync *s, size_t index, plcio_sync_stats *out)
{
    if (!s || !out || index >= s->device_count) return PLCIO_EINVAL;
    const sync_device *d = &s->devices[index];
    memset(out, 0, sizeof *out);
    sync_counters sum = {0};
    for (size_t i = 0; i < d->group_count; i++) {
        const sync_counters *c = &d->groups[i].stats;
        if (c->cycles && (sum.cycles == 0 || c->cycle_min < sum.cycle_min)) sum.cycle_min = c->cycle_min;
        if (c->cycle_max > sum.cycle_max) sum.cycle_max = c->cycle_max;
        if (c->jitter_max > sum.jitter_max) sum.jitter_max = c->jitter_max;
        sum.cycles += c->cycles;
        sum.late += c->late;
        sum.requests += c->requests;
        sum.bytes += c->bytes;
        sum.cycle_sum += c->cycle_sum;
        sum.jitter_sum += c->jitter_sum;
    }
    fill_counters(out, &sum);
    out->errors = d->connect_failures + d->disconnects;
    out->name = d->name;
    out->connected = d->state == SYNC_DEV_UP;
    out->last_error = d->last_error;
    out->last_message = d->last_message;
    out->connects = d->connects;
    return PLCIO_OK;
}

int plcio_sync_group_stats(const plcio_sync *s, size_t index, plcio_sync_stats *out)
{
    if (!s || !out || index >= s->group_count) return PLCIO_EINVAL;
    const sync_group *g = s->groups[index];
    memset(out, 0, sizeof *out);
    fill_counters(out, &g->stats);
    out->name = g->name;
    out->connected = g->device->state == SYNC_DEV_UP;
    out->interval_ms = (uint32_t)(g->interval_ns / PLCIO_NS_PER_MS);
    out->tags = g->tag_count;
    out->subscribed = g->subscribe;
    out->notifications = g->stats.notifications;
    return PLCIO_OK;
}

int plcio_sync_write(plcio_sync *s, const char *tag, const char *text, int queue_ms, plcio_sync_write_cb cb, void *ctx,
                     plcio_error *err)
{
    error_begin(err);
    return error_end(err, sync_write_buf(s, tag, text, queue_ms, cb, ctx, ERROR_BUF(err)));
}

int plcio_sync_new(const plcio_sync_config *cfg, const plcio_sync_options *o, plcio_sync **out, plcio_error *err)
{
    error_begin(err);
    return error_end(err, sync_new_buf(cfg, o, out, ERROR_BUF(err)));
}
