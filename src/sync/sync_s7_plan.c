/* What the S7 drivers of the sync engine share: see sync_s7_plan.h. */
#include "sync/sync_s7_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tag's place in address order, sorted by value: qsort has no context
 * argument, and a global pointing at the group would be shared by every
 * engine of the process. */
typedef struct tag_key {
    s7plan_location at;
    size_t index;
} tag_key;

static int cmp_key(const void *a, const void *b)
{
    const tag_key *x = a, *y = b;
    if (x->at.area != y->at.area) return x->at.area < y->at.area ? -1 : 1;
    if (x->at.db != y->at.db) return x->at.db < y->at.db ? -1 : 1;
    if (x->at.byte != y->at.byte) return x->at.byte < y->at.byte ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void s7plan_free(s7plan_ranges *r)
{
    if (!r) return;
    free(r->regions);
    free(r->region_of);
    free(r->offset);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

int s7plan_build(s7plan_ranges *out, const plcio_sync_group *g, bool merge, uint32_t max_region)
{
    size_t n = plcio_sync_group_tag_count(g);
    size_t cap = n ? n : 1;
    s7plan_ranges r = {0};
    r.regions = calloc(cap, sizeof *r.regions);
    r.region_of = malloc(cap * sizeof *r.region_of);
    r.offset = malloc(cap * sizeof *r.offset);
    tag_key *keys = malloc(cap * sizeof *keys);
    uint32_t *end = malloc(cap * sizeof *end);
    if (!r.regions || !r.region_of || !r.offset || !keys || !end) {
        free(keys);
        free(end);
        s7plan_free(&r);
        return PLCIO_ENOMEM;
    }
    size_t nraw = 0;
    for (size_t i = 0; i < n; i++) {
        const s7plan_location *at = S7PLAN_AT(plcio_sync_group_tag(g, i));
        r.region_of[i] = SIZE_MAX;
        r.offset[i] = 0;
        if (at->symbolic) continue;
        keys[nraw].at = *at;
        keys[nraw++].index = i;
    }
    qsort(keys, nraw, sizeof *keys, cmp_key);
    for (size_t k = 0; k < nraw; k++) { /* regions in address order: [start, end) */
        const plcio_sync_tag *t = plcio_sync_group_tag(g, keys[k].index);
        const s7plan_location *at = &keys[k].at;
        uint32_t t_end = at->byte + plcio_sync_tag_size(t);
        s7plan_region *last = r.nregions ? &r.regions[r.nregions - 1] : NULL;
        if (merge && last && last->area == at->area && last->db == at->db &&
            at->byte <= end[r.nregions - 1] + S7PLAN_MERGE_GAP && (!max_region || t_end - last->start <= max_region)) {
            if (t_end > end[r.nregions - 1]) end[r.nregions - 1] = t_end;
        } else {
            r.regions[r.nregions] = (s7plan_region){at->area, at->db, at->byte, 0, NULL};
            end[r.nregions] = t_end;
            r.nregions++;
        }
        r.region_of[keys[k].index] = r.nregions - 1;
    }
    free(keys);
    size_t total = 0;
    for (size_t i = 0; i < r.nregions; i++) {
        r.regions[i].size = end[i] - r.regions[i].start;
        total += r.regions[i].size;
    }
    free(end);
    r.buf = malloc(total ? total : 1);
    if (!r.buf) {
        s7plan_free(&r);
        return PLCIO_ENOMEM;
    }
    size_t off = 0;
    for (size_t i = 0; i < r.nregions; i++) {
        r.regions[i].data = r.buf + off;
        off += r.regions[i].size;
    }
    for (size_t i = 0; i < n; i++) {
        if (r.region_of[i] == SIZE_MAX) continue;
        const s7plan_region *reg = &r.regions[r.region_of[i]];
        r.offset[i] = (uint32_t)(reg->data - r.buf) + (S7PLAN_AT(plcio_sync_group_tag(g, i))->byte - reg->start);
    }
    r.bytes = total;
    r.merged = merge;
    *out = r;
    return PLCIO_OK;
}

/* ---- jobs ---- */

void s7plan_enqueue(s7plan_queue *q, s7plan_job *job)
{
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

void s7plan_finish_head(s7plan_queue *q)
{
    s7plan_job *job = q->head;
    q->head = job->next;
    if (!q->head) q->tail = NULL;
    q->running = false;
    if (!job->borrowed) free(job);
}

void s7plan_drop(s7plan_queue *q, int err)
{
    while (q->head) {
        s7plan_job *job = q->head;
        plcio_sync_group *g = job->group;
        plcio_sync_write_req *w = job->write;
        bool was_running = q->running;
        s7plan_finish_head(q);
        if (g)
            plcio_sync_group_done(g, err, 0, 0);
        else if (!was_running)
            plcio_sync_write_done(w, err, "not sent: the connection was lost");
        else
            plcio_sync_write_done(
                w, err, "the connection was lost before the PLC answered: the write may or may not have happened");
    }
}

/* ---- the loop's view of the socket ---- */

void s7plan_rewatch(s7plan_watch *w, int fd, bool want_read, bool want_write, uint64_t deadline)
{
    plcio_loop *loop = plcio_sync_device_loop(w->dev);
    unsigned events = (want_read ? PLCIO_IO_READ : 0u) | (want_write ? PLCIO_IO_WRITE : 0u);
    if (fd >= 0) events |= PLCIO_IO_READ;
    if (fd != w->fd) {
        if (w->fd >= 0) plcio_loop_del(loop, w->fd);
        w->fd = -1;
        if (fd >= 0 && plcio_loop_add(loop, fd, events, w->on_io, w->ctx) == PLCIO_OK) {
            w->fd = fd;
            w->events = events;
        }
    } else if (fd >= 0 && events != w->events) {
        plcio_loop_mod(loop, fd, events);
        w->events = events;
    }
    if (deadline != w->deadline) {
        if (w->timer) plcio_loop_timer_cancel(loop, w->timer);
        w->timer = deadline ? plcio_loop_timer_add(loop, deadline, w->on_deadline, w->ctx) : 0;
        w->deadline = deadline;
    }
}

void s7plan_watch_fired(s7plan_watch *w)
{
    w->timer = 0;
    w->deadline = 0;
}

void s7plan_unwatch(s7plan_watch *w)
{
    plcio_loop *loop = plcio_sync_device_loop(w->dev);
    if (w->fd >= 0) plcio_loop_del(loop, w->fd);
    if (w->timer) plcio_loop_timer_cancel(loop, w->timer);
    w->fd = -1;
    w->timer = 0;
    w->deadline = 0;
}

void s7plan_note_refusal(plcio_sync_device *d, plcio_sync_group *g, char *warned, size_t cap, const char *refusal)
{
    if (refusal[0] && strcmp(refusal, warned) != 0) {
        plcio_sync_device_log(d, PLCIO_LOG_WARN, "%s/%s: %s (tags in error until this changes)",
                              plcio_sync_device_name(d), plcio_sync_group_name(g), refusal);
        snprintf(warned, cap, "%s", refusal);
    } else if (!refusal[0] && warned[0]) {
        plcio_sync_device_log(d, PLCIO_LOG_INFO, "%s/%s: every tag reads again", plcio_sync_device_name(d),
                              plcio_sync_group_name(g));
        warned[0] = '\0';
    }
}
