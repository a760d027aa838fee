/* The sync engine's S7 driver: one plcio_s7_client per device in event-loop
 * mode. The client runs one job at a time (each job pipelines its PDUs up to
 * the negotiated parallel jobs), so the driver queues group reads and writes
 * and starts the next when one is done. Neighbouring tags of a group are
 * merged into few PDUs by the client's multi-variable read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/s7.h"
#include "plcio/driver.h"
#include "s7/s7_client_internal.h"
#include "sync/sync_s7_plan.h"

/* Where an S7 tag lives (area: plcio_s7_area), in the tag's location bytes. */
#define S7AT(t) S7PLAN_AT(t)

typedef struct s7_job {
    s7plan_job base;  /* first: the queue's view */
    plcio_s7_var var; /* the write's variable */
    uint8_t bit_value;
} s7_job;

/* A group's read plan, made once: tags of the same area and DB whose bytes are
 * close (gap <= S7PLAN_MERGE_GAP) share one variable, so a whole DB is one
 * variable the client splits into PDU-sized, pipelined requests. */
typedef struct s7_plan {
    s7plan_ranges r;
    plcio_s7_var *vars; /* one per region */
    s7_job read;        /* the group's read job: a group has at most one cycle running */
    char warned[256];   /* the refusal last logged: logged again only when it changes */
} s7_plan;

typedef struct s7_drv {
    plcio_sync_device *dev;
    plcio_s7_client *client;
    s7plan_watch watch;
    s7plan_queue q;
    bool came_up;  /* set by the client's on_connect, inside process */
    bool in_pump;  /* inside pump_io: a job queued now waits for the kick */
    uint64_t kick; /* timer: process() soon, so a newly queued job is encoded and sent */
} s7_drv;

static void pump(s7_drv *drv);

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

static void on_deadline(plcio_loop *loop, void *ctx)
{
    (void)loop;
    s7_drv *drv = ctx;
    s7plan_watch_fired(&drv->watch);
    pump(drv);
}

/* Keep the loop's view of the socket and deadline in step with the client. */
static void rewatch(s7_drv *drv)
{
    uint64_t deadline = 0;
    unsigned wants = plcio_s7_client_wants(drv->client, &deadline);
    s7plan_rewatch(&drv->watch, plcio_s7_client_fd(drv->client), (wants & PLCIO_S7_WANT_READ) != 0,
                   (wants & PLCIO_S7_WANT_WRITE) != 0, deadline);
}

static bool start_next(s7_drv *drv);

static void finish_head(s7_drv *drv) { s7plan_finish_head(&drv->q); /* a read is its plan's own (borrowed) */ }

static int s7_build_plan(plcio_sync_group *g, bool merge);

/* A refused tag is refused every cycle: log the refusal once, when it starts or
 * changes, and once when every tag reads again. Each cycle still counts as an
 * error in the group's figures and the tags keep quality ERROR meanwhile. */
static void note_refusal(s7_drv *drv, plcio_sync_group *g, int result, const char *refusal)
{
    s7_plan *p = plcio_sync_group_plan(g);
    if (result == PLCIO_EPLC || result == PLCIO_OK)
        s7plan_note_refusal(drv->dev, g, p->warned, sizeof p->warned, result == PLCIO_EPLC ? refusal : "");
}

static void read_done(void *ctx, plcio_s7_client *client, int result)
{
    s7_drv *drv = ctx;
    plcio_sync_group *g = drv->q.head->group;
    s7_plan *p = plcio_sync_group_plan(g);
    bool split = false;
    /* A lost connection is reported by the device going down; per-item refusals
     * (missing DB, out of range) mark only the tags of that variable. */
    if (result == PLCIO_OK || result == PLCIO_EPLC) {
        for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
            const plcio_s7_var *v = &p->vars[p->r.region_of[i]];
            if (v->result == PLCIO_OK)
                plcio_sync_tag_value(plcio_sync_group_tag(g, i), p->r.buf + p->r.offset[i],
                                     plcio_sync_tag_size(plcio_sync_group_tag(g, i)));
            else
                plcio_sync_tag_error(plcio_sync_group_tag(g, i), v->result);
        }
        /* One bad tag must not hide its merged neighbours: from now on one item per tag. */
        split = result == PLCIO_EPLC && p->r.merged;
    }
    char refusal[PLCIO_ERROR_TEXT_MAX] = "";
    if (result == PLCIO_EPLC) snprintf(refusal, sizeof refusal, "%s", plcio_s7_client_last_error(client)->text);
    finish_head(drv);
    plcio_sync_group_done(g, result, 0, result == PLCIO_OK ? p->r.bytes : 0);
    if (split && s7_build_plan(g, false) == PLCIO_OK) {
        plcio_sync_device_log(drv->dev, PLCIO_LOG_INFO, "%s/%s: %s; reading each tag on its own from now on",
                              plcio_sync_device_name(drv->dev), plcio_sync_group_name(g), refusal);
        return;
    }
    note_refusal(drv, g, result, refusal);
}

static void write_done(void *ctx, plcio_s7_client *client, int result)
{
    s7_drv *drv = ctx;
    plcio_sync_write_req *w = drv->q.head->write;
    char msg[PLCIO_ERROR_TEXT_MAX] = "";
    if (result != PLCIO_OK) snprintf(msg, sizeof msg, "%s", plcio_s7_client_last_error(client)->text);
    finish_head(drv);
    plcio_sync_write_done(w, result, msg);
}

/* Hand the next queued job to the client; true when one was started. */
static bool start_next(s7_drv *drv)
{
    while (drv->q.head && !drv->q.running && plcio_sync_device_is_up(drv->dev)) {
        s7_job *job = (s7_job *)drv->q.head;
        int rc;
        if (job->base.group) {
            s7_plan *p = plcio_sync_group_plan(job->base.group);
            rc = plcio_s7_client_read_vars_async(drv->client, p->vars, p->r.nregions, read_done, drv);
        } else {
            rc = plcio_s7_client_write_vars_async(drv->client, &job->var, 1, write_done, drv);
        }
        if (rc == PLCIO_OK) {
            drv->q.running = true;
            return true;
        }
        /* The client's own heartbeat is in flight: the job waits for the next pump. */
        if (rc == PLCIO_EBUSY) return false;
        /* Could not even queue it: report and go on with the next. */
        plcio_sync_group *g = job->base.group;
        plcio_sync_write_req *w = job->base.write;
        finish_head(drv);
        if (g)
            plcio_sync_group_done(g, rc, 0, 0);
        else
            plcio_sync_write_done(w, rc, plcio_s7_client_last_error(drv->client)->text);
    }
    return false;
}

/* Everything queued is over when the connection is: reads end, writes fail. */
static void drop_jobs(s7_drv *drv, int err) { s7plan_drop(&drv->q, err); }

/* Failures (refused, timed out, reset, EOF: the fd is always watched for
 * reading) come out of process(), which has then completed the running job.
 * `readable`: the socket may hold input (its readiness fired, a deadline
 * passed, a connection is being made); otherwise the first process() only
 * sends. After the first, process() only sends the job start_next handed
 * over: the first read until the socket was empty (a read more per cycle
 * only returned EAGAIN; anything that arrives in between keeps the socket
 * readable for the loop). */
static void pump_io(s7_drv *drv, bool readable)
{
    plcio_sync_device *d = drv->dev;
    drv->in_pump = true;
    /* A job handed over by start_next is encoded and sent by the next process(). */
    do {
        int rc = readable ? plcio_s7_client_process(drv->client) : s7c_process_send(drv->client);
        readable = false;
        if (rc != PLCIO_OK) {
            char msg[PLCIO_ERROR_TEXT_MAX];
            snprintf(msg, sizeof msg, "%s", plcio_s7_client_last_error(drv->client)->text);
            plcio_s7_client_close(drv->client);
            drop_jobs(drv, rc);
            rewatch(drv);
            drv->in_pump = false;
            plcio_sync_device_down(d, rc, msg);
            return;
        }
        if (drv->came_up) {
            drv->came_up = false;
            if (plcio_sync_device_connecting(d)) plcio_sync_device_up(d);
        }
    } while (start_next(drv));
    rewatch(drv);
    drv->in_pump = false;
}

static void pump(s7_drv *drv) { pump_io(drv, true); }

/* ---- driver operations ---- */

static void on_client_connect(void *ctx, plcio_s7_client *client, int reason)
{
    (void)client;
    if (reason == PLCIO_OK) ((s7_drv *)ctx)->came_up = true;
}

static int s7_open(plcio_sync_device *d, const plcio_url *url, plcio_error *err)
{
    plcio_s7_client_options o;
    plcio_s7_client_options_init(&o);
    int rc = plcio_s7_client_options_from_url(&o, url, err);
    if (rc != PLCIO_OK) return rc;
    o.auto_reconnect = false; /* the engine reconnects, with its own backoff */
    o.logger = *plcio_sync_device_logger(d);
    s7_drv *drv = calloc(1, sizeof *drv);
    if (!drv) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    drv->dev = d;
    drv->watch = (s7plan_watch){.dev = d, .fd = -1, .on_io = on_io, .on_deadline = on_deadline, .ctx = drv};
    o.on_connect = on_client_connect;
    o.callback_ctx = drv;
    rc = plcio_s7_client_new(NULL, &o, &drv->client, err);
    if (rc != PLCIO_OK) {
        free(drv);
        return rc;
    }
    plcio_sync_device_set_data(d, drv);
    return PLCIO_OK;
}

static void s7_close(plcio_sync_device *d)
{
    s7_drv *drv = plcio_sync_device_data(d);
    plcio_loop *loop = plcio_sync_device_loop(d);
    s7plan_unwatch(&drv->watch);
    if (drv->kick) plcio_loop_timer_cancel(loop, drv->kick);
    drop_jobs(drv, PLCIO_ECANCELED);
    plcio_s7_client_free(drv->client);
    free(drv);
    plcio_sync_device_set_data(d, NULL);
}

static int s7_add_tag(plcio_sync_device *d, plcio_sync_tag *t, const char *address, const plcio_layout_member *m,
                      int db, plcio_error *err)
{
    if (m) {
        S7AT(t)->area = PLCIO_S7_AREA_DB;
        S7AT(t)->read_only = false;
        S7AT(t)->db = (uint16_t)(m->db_number >= 0 ? m->db_number : db);
        S7AT(t)->byte = m->byte;
        plcio_sync_tag_set_shape(t, m->type, m->length, m->bit >= 0 ? (unsigned)m->bit : 0, m->size);
        return PLCIO_OK;
    }
    plcio_s7_address a;
    bool read_only = false;
    /* a logo:// device: the LOGO! names of its model= (I1, AI1...) and its V range */
    s7_drv *drv = plcio_sync_device_data(d);
    int rc = plcio_s7_client_parse_address(drv->client, address, &a, &read_only, err);
    if (rc != PLCIO_OK) return rc;
    S7AT(t)->read_only = read_only;
    if (a.count != 1) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "an array address is not one tag: list its elements, or use a layout member");
    }
    if (a.area == PLCIO_S7_AREA_CT || a.area == PLCIO_S7_AREA_TM) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "S7 timers and counters are not synchronised; copy them to a DB or M");
    }
    S7AT(t)->area = (uint8_t)a.area;
    S7AT(t)->db = a.db;
    S7AT(t)->byte = a.offset;
    plcio_sync_tag_set_shape(t, a.type, a.length, a.bit, a.type == PLCIO_TYPE_BOOL ? 1 : a.size);
    return PLCIO_OK;
}

static void free_plan(s7_plan *p)
{
    if (!p) return;
    s7plan_free(&p->r);
    free(p->vars);
    free(p);
}

static void s7_free_plan(plcio_sync_group *g)
{
    free_plan(plcio_sync_group_plan(g));
    plcio_sync_group_set_plan(g, NULL);
}

/* Build (or rebuild) g's plan; the old one is replaced only on success. */
static int s7_build_plan(plcio_sync_group *g, bool merge)
{
    s7_plan *p = calloc(1, sizeof *p);
    if (!p) return PLCIO_ENOMEM;
    if (s7plan_build(&p->r, g, merge, 0) != PLCIO_OK ||
        !(p->vars = calloc(p->r.nregions ? p->r.nregions : 1, sizeof *p->vars))) {
        free_plan(p);
        return PLCIO_ENOMEM;
    }
    for (size_t i = 0; i < p->r.nregions; i++) {
        const s7plan_region *reg = &p->r.regions[i];
        p->vars[i] =
            (plcio_s7_var){(plcio_s7_area)reg->area, reg->db, reg->start, reg->size, -1, reg->data, PLCIO_OK, 0};
    }
    free_plan(plcio_sync_group_plan(g));
    plcio_sync_group_set_plan(g, p);
    return PLCIO_OK;
}

static int s7_plan_group(plcio_sync_device *d, plcio_sync_group *g, plcio_error *err)
{
    (void)d;
    int rc = s7_build_plan(g, true);
    if (rc != PLCIO_OK) return plcio_error_set(err, rc, "%s", plcio_strerror(rc));
    return rc;
}

static void s7_connect(plcio_sync_device *d)
{
    s7_drv *drv = plcio_sync_device_data(d);
    int rc = plcio_s7_client_connect_async(drv->client);
    if (rc != PLCIO_OK) {
        plcio_sync_device_down(d, rc, plcio_s7_client_last_error(drv->client)->text);
        return;
    }
    pump(drv);
}

static void on_kick(plcio_loop *loop, void *ctx)
{
    (void)loop;
    s7_drv *drv = ctx;
    drv->kick = 0;
    /* Nothing arrived (the socket's readiness did): hand the queued job
     * over first, so that one process() sends it without reading. */
    start_next(drv);
    pump_io(drv, false);
}

/* The client encodes a queued job inside process(): nothing on the socket asks
 * for it yet, so run process() in this loop round (not from here: enqueue may
 * be called from within a callback of process()). */
static void enqueue(s7_drv *drv, s7_job *job)
{
    s7plan_enqueue(&drv->q, &job->base);
    if (!drv->kick) {
        plcio_loop *loop = plcio_sync_device_loop(drv->dev);
        drv->kick = plcio_loop_timer_add(loop, plcio_loop_now(loop), on_kick, drv);
    }
}

/* The engine asks from its group timer, outside any process(): a read that
 * finds the connection idle is sent right here, without a kick timer per
 * cycle. Queued behind a running job, or asked from inside pump_io, it waits
 * as a write does. */
static void s7_read(plcio_sync_device *d, plcio_sync_group *g)
{
    s7_drv *drv = plcio_sync_device_data(d);
    s7_plan *p = plcio_sync_group_plan(g);
    s7_job *job = &p->read; /* free: the engine starts no cycle while one runs */
    *job = (s7_job){.base = {.group = g, .borrowed = true}};
    if (drv->in_pump || drv->kick || drv->q.head) {
        enqueue(drv, job);
        return;
    }
    s7plan_enqueue(&drv->q, &job->base);
    if (start_next(drv)) pump_io(drv, false);
}

static void s7_write(plcio_sync_device *d, plcio_sync_write_req *w)
{
    s7_job *job = calloc(1, sizeof *job);
    if (!job) {
        plcio_sync_write_done(w, PLCIO_ENOMEM, NULL);
        return;
    }
    const plcio_sync_tag *t = plcio_sync_write_tag(w);
    if (S7AT(t)->read_only) {
        free(job);
        plcio_sync_write_done(w, PLCIO_EACCESS, "an input of the LOGO!, read-only (the LOGO! writes it every cycle)");
        return;
    }
    size_t size;
    uint8_t *data = plcio_sync_write_data(w, &size);
    job->base.write = w;
    if (plcio_sync_tag_type(t) == PLCIO_TYPE_BOOL) {
        /* The bit transport size: the PLC changes that bit and no other. */
        job->bit_value = (uint8_t)((data[0] >> plcio_sync_tag_bit(t)) & 1u);
        job->var = (plcio_s7_var){(plcio_s7_area)S7AT(t)->area, S7AT(t)->db,     S7AT(t)->byte, 1,
                                  (int)plcio_sync_tag_bit(t),   &job->bit_value, PLCIO_OK,      0};
    } else {
        job->var = (plcio_s7_var){
            (plcio_s7_area)S7AT(t)->area, S7AT(t)->db, S7AT(t)->byte, (uint32_t)size, -1, data, PLCIO_OK, 0};
    }
    enqueue(plcio_sync_device_data(d), job);
}

const plcio_driver plcio_driver_s7 = {
    .abi = PLCIO_DRIVER_ABI,
    .scheme = "s7",
    .open = s7_open,
    .close = s7_close,
    .add_tag = s7_add_tag,
    .plan = s7_plan_group,
    .free_plan = s7_free_plan,
    .connect = s7_connect,
    .read = s7_read,
    .write = s7_write,
};
