/* The sync engine's S7CommPlus driver (s7plus://, s7://...?protocol=plus):
 * one plcio_s7plus_client per device in event-loop mode. The client runs one
 * job (one GetMultiVariables or SetMultiVariables) at a time, so the driver
 * queues group reads and writes and starts the next when one is done.
 *
 * Two kinds of tags:
 * - raw: classic-area addresses (DB1.DBW0, MW10, layout members) of DBs with
 *   standard access, I, Q and M, read as [3, offset, size] items. A group's
 *   raw tags are merged into regions (one item each) like the classic
 *   driver's; more than PLCIO_S7PLUS_MAX_ITEMS regions go in several
 *   requests, one after the other, per cycle.
 * - symbolic: "DB".Member addresses of optimized DBs, resolved to LID paths
 *   from the PLC's own browse (plcio_s7plus_client_resolve) at every
 *   connect, read and written as typed values; the engine sees their S7
 *   bytes (plcio_value_encode/_decode), like every other tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/address.h"
#include "plcio/driver.h"
#include "plcio/s7plus.h"
#include "plcio/types.h"
#include "plcio/value.h"
#include "sync/sync_s7_plan.h"

/* Where a tag lives (area: plcio_s7plus_area; symbolic: byte is the index of
 * the tag's symbol in the driver's table), in the tag's location bytes. */
#define AT(t) S7PLAN_AT(t)

/* Tags of one area and DB closer than S7PLAN_MERGE_GAP bytes share an item; an
 * item stops growing at MAX_REGION bytes (a whole 64 KiB DB is still one item). */
#define MAX_REGION 65536u

typedef struct s7p_plan {
    s7plan_ranges r;          /* the raw tags' regions */
    plcio_s7plus_item *items; /* one per region, PLCIO_S7PLUS_MAX_ITEMS per request */
    size_t nitems;
    /* symbolic tags: their tag indexes; the items of those whose symbol
     * resolved on this connection (active_tag: the tag of each) */
    size_t *sym_tag, *sym_of, nsym; /* sym_of: the index of the tag's symbol */
    plcio_s7plus_sym_item *sym_items;
    size_t *active_tag, nactive;
    unsigned generation; /* of the driver's symbol table the active list was made from */
    char sym_why[200];   /* why the symbolic read could not go, if it could not */
    char warned[256];    /* the refusal last logged: logged again only when it changes */
    /* A subscribed group (plcio_sync_group_subscribed): fed by notifications.
     * Its items: the regions, then the symbols active on this connection, in
     * subscriptions of up to PLCIO_S7PLUS_MAX_SUB_ITEMS items each. */
    bool subscribe;
    plcio_s7plus_sub_item *sub_items;
    int *sub_result; /* per item: its last notification's result (SUB_NONE: none yet) */
    size_t nsub;
    uint32_t *sub_ids; /* per subscription: its id (0: not made) */
    size_t nchunks, chunks_made;
    unsigned sub_conn;     /* the connection the subscriptions belong to (0: none) */
    bool sub_queued;       /* a subscribe job is queued or running */
    bool open;             /* the engine's cycle waits for a notification */
    bool fresh;            /* a notification came since the last completed cycle */
    int sub_err;           /* the last subscribe's failure */
    uint64_t sub_retry_ns; /* after a failure: not again before this */
    uint8_t *sbuf;         /* the symbolic tags' bytes, at soff[tag] */
    uint32_t *soff;
    uint64_t notes, note_bytes; /* since the last completed cycle */
} s7p_plan;

#define SUB_NONE 1 /* an item's result before its first notification */
/* A region of a subscribed group: at most this many bytes (one item of a notification). */
#define SUB_MAX_REGION 4096u
/* After a refused subscription, the next attempt waits this long. */
#define SUB_RETRY_NS (1000ull * 1000 * 1000)

typedef struct s7p_job {
    s7plan_job base;                /* first: the queue's view (a read's group or a write) */
    size_t batch;                   /* a read: the next request's first raw item */
    bool sym_started;               /* a read: the symbolic items are under way or done */
    bool symbolic;                  /* a write: of sym_item, else of item */
    bool subscribe;                 /* the group's subscriptions (the next is chunks_made) */
    plcio_s7plus_item item;         /* a raw write: its item */
    plcio_s7plus_sym_item sym_item; /* a symbolic write: its item */
} s7p_job;

/* A symbolic tag's symbol: resolved again on every connection. */
typedef struct s7p_sym {
    char *name; /* as the PLC resolves it: the address without a :TYPE suffix */
    plcio_type type;
    unsigned length;
    plcio_s7plus_symbol sym;
    int result;    /* PLCIO_OK once resolved on this connection */
    char why[200]; /* why not */
} s7p_sym;

typedef struct s7p_drv {
    plcio_sync_device *dev;
    plcio_s7plus_client *client;
    s7plan_watch watch;
    s7plan_queue q;
    bool came_up;  /* set by the connect callback, inside process */
    uint64_t kick; /* timer: pump soon, so a newly queued job goes out */
    s7p_sym *syms;
    size_t nsyms, symcap;
    unsigned generation;     /* bumped when the symbols were resolved again */
    bool warned_blocking;    /* the blocking symbolic fallback was logged */
    int lost;                /* a blocking call broke the connection: pump takes the device down */
    unsigned conn;           /* connections made (the subscriptions of an older one are gone) */
    plcio_sync_group **subg; /* the subscribed groups, for their notifications */
    size_t nsubg;
} s7p_drv;

static void pump(s7p_drv *drv);

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
    s7p_drv *drv = ctx;
    s7plan_watch_fired(&drv->watch);
    pump(drv);
}

/* Keep the loop's view of the socket and deadline in step with the client. */
static void rewatch(s7p_drv *drv)
{
    uint64_t deadline = 0;
    unsigned wants = plcio_s7plus_client_wants(drv->client, &deadline);
    s7plan_rewatch(&drv->watch, plcio_s7plus_client_fd(drv->client), (wants & PLCIO_S7PLUS_WANT_READ) != 0,
                   (wants & PLCIO_S7PLUS_WANT_WRITE) != 0, deadline);
}

static void finish_head(s7p_drv *drv) { s7plan_finish_head(&drv->q); }

static int build_plan(plcio_sync_group *g, bool merge);

static void area_text(const plcio_s7plus_item *it, char *buf, size_t cap)
{
    static const char *const names[] = {"DB", "I", "Q", "M"};
    if (it->area == PLCIO_S7PLUS_AREA_DB)
        snprintf(buf, cap, "DB%u bytes %u..%u", it->db, (unsigned)it->start, (unsigned)(it->start + it->size - 1));
    else
        snprintf(buf, cap, "%s bytes %u..%u", names[it->area & 3], (unsigned)it->start,
                 (unsigned)(it->start + it->size - 1));
}

/* A refused item is refused every cycle: log the refusal once, when it starts
 * or changes, and once when every tag reads again. */
static void note_refusal(s7p_drv *drv, plcio_sync_group *g, const char *refusal)
{
    s7p_plan *p = plcio_sync_group_plan(g);
    s7plan_note_refusal(drv->dev, g, p->warned, sizeof p->warned, refusal);
}

static size_t batch_size(const s7p_plan *p, size_t first)
{
    size_t left = p->nitems - first;
    return left < PLCIO_S7PLUS_MAX_ITEMS ? left : PLCIO_S7PLUS_MAX_ITEMS;
}

/* A symbolic tag's value: the S7 bytes of the PLC's typed value. */
static void sym_value(plcio_sync_tag *t, const plcio_s7plus_sym_item *it)
{
    uint8_t raw[2 * PLCIO_WSTRING_MAX + 4]; /* the largest tag: WSTRING[16382] */
    size_t size = plcio_sync_tag_size(t);
    int rc = it->result;
    if (rc == PLCIO_OK && size <= sizeof raw) {
        /* a string as long as the tag declares it (its text must fit, else ERANGE) */
        plcio_value v = it->value;
        if (v.type == PLCIO_TYPE_STRING || v.type == PLCIO_TYPE_WSTRING) v.length = (uint16_t)plcio_sync_tag_length(t);
        memset(raw, 0, size);
        rc = plcio_value_encode(&v, raw, size, 0, NULL, NULL);
    } else if (rc == PLCIO_OK) {
        rc = PLCIO_ELIMIT;
    }
    if (rc == PLCIO_OK)
        plcio_sync_tag_value(t, raw, size);
    else
        plcio_sync_tag_error(t, rc);
}

/* The whole cycle read (every request answered): report each tag. */
static void read_complete(s7p_drv *drv, plcio_sync_group *g, size_t requests)
{
    s7p_plan *p = plcio_sync_group_plan(g);
    char refusal[256] = "";
    for (size_t k = 0; k < p->nactive && !refusal[0]; k++) {
        const plcio_s7plus_sym_item *it = &p->sym_items[k];
        const char *name = plcio_sync_tag_name(plcio_sync_group_tag(g, p->active_tag[k]));
        if (it->result != PLCIO_OK && it->error)
            snprintf(refusal, sizeof refusal, "the PLC refused %s (%s, error 0x%llx)", name, plcio_strerror(it->result),
                     (unsigned long long)it->error);
        else if (it->result != PLCIO_OK)
            snprintf(refusal, sizeof refusal, "%s: %.200s", name,
                     p->sym_why[0] ? p->sym_why : plcio_strerror(it->result));
    }
    for (size_t r = 0; r < p->nitems && !refusal[0]; r++) {
        const plcio_s7plus_item *it = &p->items[r];
        if (it->result == PLCIO_OK) continue;
        char where[64];
        area_text(it, where, sizeof where);
        snprintf(refusal, sizeof refusal, "the PLC refused %s (%s, error 0x%llx)", where, plcio_strerror(it->result),
                 (unsigned long long)it->error);
    }
    for (size_t k = 0; k < p->nactive; k++)
        sym_value(plcio_sync_group_tag(g, p->active_tag[k]), &p->sym_items[k]);
    for (size_t k = 0; k < p->nsym; k++) { /* symbols that did not resolve: the tags stay in error */
        plcio_sync_tag *t = plcio_sync_group_tag(g, p->sym_tag[k]);
        const s7p_sym *sym = &drv->syms[p->sym_of[k]];
        if (sym->result != PLCIO_OK) plcio_sync_tag_error(t, sym->result);
    }
    for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
        plcio_sync_tag *t = plcio_sync_group_tag(g, i);
        if (AT(t)->symbolic) continue;
        const plcio_s7plus_item *it = &p->items[p->r.region_of[i]];
        if (it->result == PLCIO_OK)
            plcio_sync_tag_value(t, p->r.buf + p->r.offset[i], plcio_sync_tag_size(t));
        else
            plcio_sync_tag_error(t, it->result);
    }
    /* One bad tag must not hide its merged neighbours: from now on one item per tag. */
    bool split = refusal[0] && p->r.merged && p->nitems;
    plcio_sync_group_done(g, PLCIO_OK, requests, p->r.bytes);
    if (split && build_plan(g, false) == PLCIO_OK) {
        plcio_sync_device_log(drv->dev, PLCIO_LOG_INFO, "%s/%s: %s; reading each tag on its own from now on",
                              plcio_sync_device_name(drv->dev), plcio_sync_group_name(g), refusal);
        return;
    }
    note_refusal(drv, g, refusal);
}

static void read_done(void *ctx, plcio_s7plus_client *client, int result)
{
    (void)client;
    s7p_drv *drv = ctx;
    s7p_job *job = (s7p_job *)drv->q.head;
    plcio_sync_group *g = job->base.group;
    s7p_plan *p = plcio_sync_group_plan(g);
    if (result != PLCIO_OK) {
        /* The exchange failed (a lost connection is also reported by the device going down). */
        finish_head(drv);
        plcio_sync_group_done(g, result, 0, 0);
        return;
    }
    if (!job->sym_started) job->batch += batch_size(p, job->batch);
    if (job->batch < p->nitems || (p->nactive && !job->sym_started)) { /* the next goes from start_next */
        drv->q.running = false;
        return;
    }
    size_t requests = (p->nitems + PLCIO_S7PLUS_MAX_ITEMS - 1) / PLCIO_S7PLUS_MAX_ITEMS + (p->nactive ? 1 : 0);
    finish_head(drv);
    read_complete(drv, g, requests);
}

static void write_done(void *ctx, plcio_s7plus_client *client, int result)
{
    s7p_drv *drv = ctx;
    s7p_job *job = (s7p_job *)drv->q.head;
    plcio_sync_write_req *w = job->base.write;
    char msg[PLCIO_ERROR_TEXT_MAX + 128] = "";
    int rc = result;
    if (result != PLCIO_OK) {
        bool lost = !plcio_s7plus_client_is_connected(client);
        snprintf(msg, sizeof msg, "%s%s", plcio_s7plus_client_last_error(client)->text,
                 lost ? ": the connection was lost before the PLC answered: the write may or may not have happened"
                      : "");
    } else if (job->symbolic && job->sym_item.result != PLCIO_OK) {
        rc = job->sym_item.result;
        snprintf(msg, sizeof msg, "the PLC refused the write of %s (%s, error 0x%llx)",
                 plcio_sync_tag_name(plcio_sync_write_tag(w)), plcio_strerror(rc),
                 (unsigned long long)job->sym_item.error);
    } else if (!job->symbolic && job->item.result != PLCIO_OK) {
        char where[64];
        area_text(&job->item, where, sizeof where);
        rc = job->item.result;
        snprintf(msg, sizeof msg, "the PLC refused the write of %s (%s, error 0x%llx)", where, plcio_strerror(rc),
                 (unsigned long long)job->item.error);
    }
    finish_head(drv);
    plcio_sync_write_done(w, rc, msg[0] ? msg : NULL);
}

/* The group's symbolic items: those whose symbol resolved on this connection. */
static void refresh_active(s7p_drv *drv, s7p_plan *p)
{
    if (p->generation == drv->generation) return;
    p->nactive = 0;
    for (size_t k = 0; k < p->nsym; k++) {
        const s7p_sym *sym = &drv->syms[p->sym_of[k]];
        if (sym->result != PLCIO_OK) continue;
        memset(&p->sym_items[p->nactive], 0, sizeof p->sym_items[p->nactive]);
        p->sym_items[p->nactive].sym = sym->sym;
        p->active_tag[p->nactive++] = p->sym_tag[k];
    }
    p->generation = drv->generation;
}

/* A client without the event-loop form of symbolic reads and writes
 * (PLCIO_EUNSUPPORTED from the _async call) gets the blocking one, which holds
 * the engine's loop for one exchange per batch (said once per device).
 * Returns PLCIO_OK when the items have their results, else the error that
 * broke the connection. */
static int sym_blocking(s7p_drv *drv, bool write, plcio_s7plus_sym_item *items, size_t n)
{
    if (!drv->warned_blocking) {
        plcio_sync_device_log(drv->dev, PLCIO_LOG_WARN,
                              "%s: symbolic tags are read and written with blocking calls (this S7CommPlus client "
                              "has no event-loop form of them): the engine waits for each answer",
                              plcio_sync_device_name(drv->dev));
        drv->warned_blocking = true;
    }
    int rc = write ? plcio_s7plus_client_write_symbols(drv->client, items, n)
                   : plcio_s7plus_client_read_symbols(drv->client, items, n);
    if (rc == PLCIO_OK) return PLCIO_OK;
    if (!plcio_s7plus_client_is_connected(drv->client)) return rc;
    for (size_t k = 0; k < n; k++) {
        items[k].result = rc;
        items[k].error = 0;
    }
    return PLCIO_OK;
}

/* The symbolic part of a group's cycle (after its raw requests). Returns as
 * the client's _async call does; PLCIO_ECANCELED when the cycle was
 * completed here (the job is gone) and the caller goes on with the next. */
static int start_symbolic(s7p_drv *drv, s7p_job *job, s7p_plan *p)
{
    size_t raw_requests = (p->nitems + PLCIO_S7PLUS_MAX_ITEMS - 1) / PLCIO_S7PLUS_MAX_ITEMS;
    plcio_sync_group *g = job->base.group;
    if (!p->nactive) { /* nothing to ask: every symbol of the group failed to resolve */
        finish_head(drv);
        read_complete(drv, g, raw_requests);
        return PLCIO_ECANCELED;
    }
    for (size_t k = 0; k < p->nactive; k++)
        plcio_value_init(&p->sym_items[k].value, p->sym_items[k].sym.type);
    job->sym_started = true;
    int rc = plcio_s7plus_client_read_symbols_async(drv->client, p->sym_items, p->nactive, read_done, drv);
    if (rc == PLCIO_EUNSUPPORTED) {
        drv->q.running = true;
        if ((drv->lost = sym_blocking(drv, false, p->sym_items, p->nactive)) != PLCIO_OK) return PLCIO_EBUSY;
        finish_head(drv);
        read_complete(drv, g, raw_requests + 1);
        return PLCIO_ECANCELED;
    }
    if (rc != PLCIO_OK && rc != PLCIO_EBUSY) {
        /* the symbolic read could not even go: its tags fail, the raw ones read */
        snprintf(p->sym_why, sizeof p->sym_why, "%.190s", plcio_s7plus_client_last_error(drv->client)->text);
        for (size_t k = 0; k < p->nactive; k++) {
            p->sym_items[k].result = rc;
            p->sym_items[k].error = 0;
        }
        finish_head(drv);
        read_complete(drv, g, raw_requests);
        return PLCIO_ECANCELED;
    }
    return rc;
}

/* ---- subscribed groups ----
 * read() opens the engine's cycle; the next notification of the group's
 * subscriptions completes it, reporting every tag from the values kept (so
 * read times move as a polled group's do, and tags a late cycle made stale
 * are good again). The PLC sends one every interval (every_cycle), also
 * without a change: an interval without one counts late, as a read that
 * does not answer. The client acknowledges credits from inside process(),
 * which the loop calls whenever the socket is readable: an engine that
 * falls behind makes the PLC pause, never drop the subscription. */

/* The cycle has its notification(s): report every tag that has a value. */
static void sub_complete(s7p_drv *drv, plcio_sync_group *g)
{
    s7p_plan *p = plcio_sync_group_plan(g);
    char refusal[256] = "";
    for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
        plcio_sync_tag *t = plcio_sync_group_tag(g, i);
        if (AT(t)->symbolic) continue;
        size_t r = p->r.region_of[i];
        int res = p->sub_result[r];
        if (res == PLCIO_OK) {
            plcio_sync_tag_value(t, p->r.buf + p->r.offset[i], plcio_sync_tag_size(t));
        } else if (res != SUB_NONE) {
            plcio_sync_tag_error(t, res);
            if (!refusal[0]) {
                char where[64];
                area_text(&p->items[r], where, sizeof where);
                snprintf(refusal, sizeof refusal, "the PLC's notification refused %s (%s)", where, plcio_strerror(res));
            }
        }
    }
    for (size_t k = 0; k < p->nsym; k++) {
        const s7p_sym *sym = &drv->syms[p->sym_of[k]];
        if (sym->result != PLCIO_OK) plcio_sync_tag_error(plcio_sync_group_tag(g, p->sym_tag[k]), sym->result);
    }
    size_t nactive = p->nsub - p->nitems;
    for (size_t a = 0; a < nactive; a++) {
        size_t i = p->active_tag[a];
        plcio_sync_tag *t = plcio_sync_group_tag(g, i);
        int res = p->sub_result[p->nitems + a];
        if (res == PLCIO_OK) {
            plcio_sync_tag_value(t, p->sbuf + p->soff[i], plcio_sync_tag_size(t));
        } else if (res != SUB_NONE) {
            plcio_sync_tag_error(t, res);
            if (!refusal[0])
                snprintf(refusal, sizeof refusal, "the PLC's notification refused %s (%s)", plcio_sync_tag_name(t),
                         plcio_strerror(res));
        }
    }
    uint64_t notes = p->notes, bytes = p->note_bytes;
    p->notes = p->note_bytes = 0;
    p->fresh = false;
    p->open = false;
    plcio_sync_group_notified(g, notes);
    plcio_sync_group_done(g, PLCIO_OK, 0, bytes);
    s7plan_note_refusal(drv->dev, g, p->warned, sizeof p->warned, refusal);
}

/* Keep one item's value of a notification (k: the group's item index). */
static void sub_keep(s7p_plan *p, const plcio_sync_group *g, size_t k, const plcio_s7plus_sub_value *v)
{
    uint8_t *to;
    size_t size;
    if (k < p->nitems) {
        to = p->items[k].data;
        size = p->items[k].size;
    } else {
        size_t i = p->active_tag[k - p->nitems];
        to = p->sbuf + p->soff[i];
        size = plcio_sync_tag_size(plcio_sync_group_tag(g, i));
    }
    int res = v->result;
    /* an elementary value comes as its big-endian bytes, which are its S7 bytes */
    if (res == PLCIO_OK && (v->size != size || !v->data)) res = PLCIO_ETYPE;
    if (res == PLCIO_OK) {
        memcpy(to, v->data, size);
        p->note_bytes += size;
    }
    p->sub_result[k] = res;
}

static void on_notify(void *ctx, plcio_s7plus_client *client, const plcio_s7plus_notification *n)
{
    (void)client;
    s7p_drv *drv = ctx;
    for (size_t j = 0; j < drv->nsubg; j++) {
        plcio_sync_group *g = drv->subg[j];
        s7p_plan *p = plcio_sync_group_plan(g);
        if (!p || p->sub_conn != drv->conn) continue;
        for (size_t c = 0; c < p->nchunks; c++) {
            if (!p->sub_ids[c] || p->sub_ids[c] != n->subscription) continue;
            size_t base = c * PLCIO_S7PLUS_MAX_SUB_ITEMS;
            for (size_t v = 0; v < n->n; v++)
                if (base + n->values[v].item < p->nsub) sub_keep(p, g, base + n->values[v].item, &n->values[v]);
            p->notes++;
            p->fresh = true;
            if (p->open) sub_complete(drv, g);
            return;
        }
    }
}

/* The group's subscription cannot be had: its cycle fails, its tags are in
 * error (as a polled group's refused items are). */
static void sub_fail(plcio_sync_group *g, s7p_plan *p, int rc, uint64_t requests)
{
    if (!p->open) return;
    p->open = false;
    for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++)
        plcio_sync_tag_error(plcio_sync_group_tag(g, i), rc);
    plcio_sync_group_done(g, rc, requests, 0);
}

static void sub_done(void *ctx, plcio_s7plus_client *client, int result)
{
    s7p_drv *drv = ctx;
    plcio_sync_group *g = drv->q.head->group;
    s7p_plan *p = plcio_sync_group_plan(g);
    if (result == PLCIO_OK && ++p->chunks_made < p->nchunks) { /* the next subscription goes from start_next */
        drv->q.running = false;
        return;
    }
    finish_head(drv);
    p->sub_queued = false;
    if (result == PLCIO_OK) {
        plcio_sync_device_log(drv->dev, drv->conn > 1 ? PLCIO_LOG_INFO : PLCIO_LOG_DEBUG,
                              "%s/%s: subscribed to %zu items (%zu subscriptions), a notification every %u ms",
                              plcio_sync_device_name(drv->dev), plcio_sync_group_name(g), p->nsub, p->nchunks,
                              plcio_sync_group_interval_ms(g));
        return;
    }
    char refusal[256];
    snprintf(refusal, sizeof refusal, "the subscription was refused: %.200s",
             plcio_s7plus_client_last_error(client)->text);
    p->sub_err = result;
    p->sub_retry_ns = plcio_loop_now(plcio_sync_device_loop(drv->dev)) + SUB_RETRY_NS;
    s7plan_note_refusal(drv->dev, g, p->warned, sizeof p->warned, refusal);
    sub_fail(g, p, result, 1);
}

static int sub_start(s7p_drv *drv, s7p_plan *p)
{
    plcio_s7plus_subscription_options o;
    plcio_s7plus_subscription_options_init(&o);
    uint32_t ms = plcio_sync_group_interval_ms(drv->q.head->group);
    o.cycle_ms = ms ? ms : 1;
    o.every_cycle = true; /* a notification each cycle: its absence means something */
    o.credits = 20;
    o.notify = on_notify;
    o.ctx = drv;
    size_t first = p->chunks_made * PLCIO_S7PLUS_MAX_SUB_ITEMS, n = p->nsub - first;
    if (n > PLCIO_S7PLUS_MAX_SUB_ITEMS) n = PLCIO_S7PLUS_MAX_SUB_ITEMS;
    return plcio_s7plus_client_subscribe_async(drv->client, p->sub_items + first, n, &o, &p->sub_ids[p->chunks_made],
                                               sub_done, drv);
}

/* A new connection: its subscriptions are still to be made. */
static void sub_reset(s7p_drv *drv, s7p_plan *p)
{
    refresh_active(drv, p);
    p->sub_conn = drv->conn;
    p->nsub = p->nitems + p->nactive;
    for (size_t r = 0; r < p->nitems; r++) {
        memset(&p->sub_items[r], 0, sizeof p->sub_items[r]);
        p->sub_items[r].area = p->items[r].area;
        p->sub_items[r].db = p->items[r].db;
        p->sub_items[r].start = p->items[r].start;
        p->sub_items[r].size = p->items[r].size;
    }
    for (size_t a = 0; a < p->nactive; a++) {
        const plcio_s7plus_symbol *sym = &p->sym_items[a].sym;
        plcio_s7plus_sub_item *it = &p->sub_items[p->nitems + a];
        memset(it, 0, sizeof *it);
        it->access_area = sym->access_area;
        it->sub_area = sym->sub_area;
        it->crc = sym->crc;
        it->nlids = sym->nlids;
        memcpy(it->lids, sym->lids, sizeof it->lids);
    }
    for (size_t k = 0; k < p->nsub; k++)
        p->sub_result[k] = SUB_NONE;
    p->nchunks = (p->nsub + PLCIO_S7PLUS_MAX_SUB_ITEMS - 1) / PLCIO_S7PLUS_MAX_SUB_ITEMS;
    memset(p->sub_ids, 0, (p->nchunks ? p->nchunks : 1) * sizeof *p->sub_ids);
    p->chunks_made = 0;
    p->sub_queued = false;
    p->fresh = false;
    p->notes = p->note_bytes = 0;
    p->sub_err = PLCIO_OK;
    p->sub_retry_ns = 0;
}

static void enqueue(s7p_drv *drv, s7p_job *job);

/* The engine's cycle of a subscribed group. */
static void sub_read(s7p_drv *drv, plcio_sync_group *g, s7p_plan *p)
{
    p->open = true;
    if (p->sub_conn != drv->conn) sub_reset(drv, p);
    if (p->fresh || p->nsub == 0) { /* nothing to subscribe: every symbol failed to resolve */
        sub_complete(drv, g);
        return;
    }
    if (p->chunks_made == p->nchunks || p->sub_queued) return; /* the next notification completes it */
    if (p->sub_err && plcio_loop_now(plcio_sync_device_loop(drv->dev)) < p->sub_retry_ns) {
        sub_fail(g, p, p->sub_err, 0);
        return;
    }
    s7p_job *job = calloc(1, sizeof *job);
    if (!job) {
        sub_fail(g, p, PLCIO_ENOMEM, 0);
        return;
    }
    job->base.group = g;
    job->subscribe = true;
    p->sub_queued = true;
    enqueue(drv, job);
}

/* Hand the next queued request to the client; true when one was started. */
static bool start_next(s7p_drv *drv)
{
    while (drv->q.head && !drv->q.running && plcio_sync_device_is_up(drv->dev)) {
        s7p_job *job = (s7p_job *)drv->q.head;
        int rc;
        if (job->subscribe) {
            s7p_plan *p = plcio_sync_group_plan(job->base.group);
            rc = sub_start(drv, p);
            if (rc != PLCIO_OK && rc != PLCIO_EBUSY) { /* could not even ask: this cycle fails, the next tries again */
                plcio_sync_group *g = job->base.group;
                finish_head(drv);
                p->sub_queued = false;
                sub_fail(g, p, rc, 0);
                continue;
            }
        } else if (job->base.group) {
            s7p_plan *p = plcio_sync_group_plan(job->base.group);
            if (job->batch == 0 && !job->sym_started) refresh_active(drv, p);
            if (job->batch < p->nitems)
                rc = plcio_s7plus_client_read_multi_async(drv->client, p->items + job->batch, batch_size(p, job->batch),
                                                          read_done, drv);
            else
                rc = start_symbolic(drv, job, p);
            if (rc == PLCIO_ECANCELED) continue;
        } else if (job->symbolic) {
            rc = plcio_s7plus_client_write_symbols_async(drv->client, &job->sym_item, 1, write_done, drv);
            if (rc == PLCIO_EUNSUPPORTED) {
                drv->q.running = true; /* if the connection breaks: "may or may not have happened" */
                if ((drv->lost = sym_blocking(drv, true, &job->sym_item, 1)) != PLCIO_OK) return false;
                write_done(drv, drv->client, PLCIO_OK);
                continue;
            }
        } else {
            rc = plcio_s7plus_client_write_multi_async(drv->client, &job->item, 1, write_done, drv);
        }
        if (rc == PLCIO_OK) {
            drv->q.running = true;
            return true;
        }
        if (rc == PLCIO_EBUSY) return false; /* the client's own job: wait for the next pump */
        /* Could not even queue it: report and go on with the next. */
        plcio_sync_group *g = job->base.group;
        plcio_sync_write_req *w = job->base.write;
        char msg[PLCIO_ERROR_TEXT_MAX];
        snprintf(msg, sizeof msg, "%s", plcio_s7plus_client_last_error(drv->client)->text);
        finish_head(drv);
        if (g)
            plcio_sync_group_done(g, rc, 0, 0);
        else
            plcio_sync_write_done(w, rc, msg);
    }
    return false;
}

/* Everything still queued is over when the connection is: reads end, writes
 * fail (the running one has been completed by the client's callback). */
static void drop_jobs(s7p_drv *drv, int err) { s7plan_drop(&drv->q, err); }

/* Resolve every symbol on this (new) connection: the PLC's program may have
 * changed while it was away. Blocking (a browse per DB, once); an unknown
 * symbol is that tag's error, not the device's. Returns PLCIO_OK, or the
 * error that broke the connection. */
static int resolve_all(s7p_drv *drv)
{
    if (!drv->nsyms) return PLCIO_OK;
    plcio_s7plus_client_forget(drv->client);
    drv->generation++;
    for (size_t i = 0; i < drv->nsyms; i++) {
        s7p_sym *s = &drv->syms[i];
        plcio_s7plus_symbol sym;
        int rc = plcio_s7plus_client_resolve(drv->client, s->name, &sym);
        char why[sizeof s->why] = "";
        if (rc != PLCIO_OK && !plcio_s7plus_client_is_connected(drv->client)) return rc;
        if (rc != PLCIO_OK) {
            const char *text = plcio_s7plus_client_last_error(drv->client)->text;
            snprintf(why, sizeof why, "%.190s",
                     text[0]                 ? text
                     : rc == PLCIO_ENOTFOUND ? "no such DB or member in the PLC's program"
                                             : plcio_strerror(rc));
        } else if (sym.type != s->type) { /* a string's length may differ: values are checked as they come */
            rc = PLCIO_ETYPE;
            snprintf(why, sizeof why, "the PLC declares it %s, the engine reads it as %s", plcio_type_name(sym.type),
                     plcio_type_name(s->type));
        } else {
            s->sym = sym;
        }
        if (rc != PLCIO_OK && (rc != s->result || strcmp(why, s->why) != 0))
            plcio_sync_device_log(drv->dev, PLCIO_LOG_WARN, "%s: %s: %s (the tag is in error)",
                                  plcio_sync_device_name(drv->dev), s->name, why);
        s->result = rc;
        snprintf(s->why, sizeof s->why, "%s", rc == PLCIO_OK ? "" : why);
    }
    return PLCIO_OK;
}

/* Failures (refused, timed out, reset, EOF) come out of process(), which has
 * then dropped the connection and completed the running job. */
static void pump(s7p_drv *drv)
{
    plcio_sync_device *d = drv->dev;
    do {
        int rc = plcio_s7plus_client_process(drv->client);
        if (rc != PLCIO_OK) {
            char msg[PLCIO_ERROR_TEXT_MAX];
            snprintf(msg, sizeof msg, "%s", plcio_s7plus_client_last_error(drv->client)->text);
            drv->came_up = false;
            drop_jobs(drv, rc);
            rewatch(drv);
            plcio_sync_device_down(d, rc, msg);
            return;
        }
        if (drv->came_up) {
            drv->came_up = false;
            if ((rc = resolve_all(drv)) != PLCIO_OK) {
                char msg[PLCIO_ERROR_TEXT_MAX];
                snprintf(msg, sizeof msg, "%s", plcio_s7plus_client_last_error(drv->client)->text);
                plcio_s7plus_client_close(drv->client);
                drop_jobs(drv, rc);
                rewatch(drv);
                plcio_sync_device_down(d, rc, msg);
                return;
            }
            drv->conn++; /* subscribed groups subscribe again at their next cycle */
            if (plcio_sync_device_connecting(d)) plcio_sync_device_up(d);
        }
    } while (start_next(drv));
    if (drv->lost) { /* a blocking symbolic call broke the connection */
        int rc = drv->lost;
        char msg[PLCIO_ERROR_TEXT_MAX];
        snprintf(msg, sizeof msg, "%s", plcio_s7plus_client_last_error(drv->client)->text);
        drv->lost = PLCIO_OK;
        plcio_s7plus_client_close(drv->client);
        drop_jobs(drv, rc);
        rewatch(drv);
        plcio_sync_device_down(d, rc, msg);
        return;
    }
    rewatch(drv);
}

/* ---- driver operations ---- */

static void on_connected(void *ctx, plcio_s7plus_client *client, int result)
{
    (void)client;
    if (result == PLCIO_OK) ((s7p_drv *)ctx)->came_up = true;
}

static int s7p_open(plcio_sync_device *d, const plcio_url *url, plcio_error *err)
{
    plcio_s7plus_client_options o;
    plcio_s7plus_client_options_init(&o);
    int rc = plcio_s7plus_client_options_from_url(&o, url, err);
    if (rc != PLCIO_OK) return rc;
    if (o.password) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "password= is not supported by the sync engine yet (S7CommPlus password legitimation "
                               "runs in blocking mode only)");
    }
    o.auto_reconnect = false; /* the engine reconnects, with its own backoff */
    o.logger = *plcio_sync_device_logger(d);
    s7p_drv *drv = calloc(1, sizeof *drv);
    if (!drv) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    drv->dev = d;
    drv->watch = (s7plan_watch){.dev = d, .fd = -1, .on_io = on_io, .on_deadline = on_deadline, .ctx = drv};
    rc = plcio_s7plus_client_new(NULL, &o, &drv->client, err);
    if (rc != PLCIO_OK) {
        free(drv);
        return rc;
    }
    plcio_sync_device_set_data(d, drv);
    return PLCIO_OK;
}

static void s7p_close(plcio_sync_device *d)
{
    s7p_drv *drv = plcio_sync_device_data(d);
    plcio_loop *loop = plcio_sync_device_loop(d);
    s7plan_unwatch(&drv->watch);
    if (drv->kick) plcio_loop_timer_cancel(loop, drv->kick);
    drop_jobs(drv, PLCIO_ECANCELED);
    plcio_s7plus_client_free(drv->client);
    for (size_t i = 0; i < drv->nsyms; i++)
        free(drv->syms[i].name);
    free(drv->syms);
    free(drv->subg);
    free(drv);
    plcio_sync_device_set_data(d, NULL);
}

/* Classic-area addresses, read through the PLC's raw access ([3, offset, size]). */
static int locate_address(plcio_sync_tag *t, const char *address, plcio_error *err)
{
    plcio_s7_address a;
    int rc = plcio_s7_address_parse(address, &a, err);
    if (rc != PLCIO_OK) return rc;
    if (a.count != 1) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "an array address is not one tag: list its elements, or use a layout member");
    }
    plcio_s7plus_area area;
    switch (a.area) {
    case PLCIO_S7_AREA_DB:
    case PLCIO_S7_AREA_DI: area = PLCIO_S7PLUS_AREA_DB; break;
    case PLCIO_S7_AREA_PE: area = PLCIO_S7PLUS_AREA_I; break;
    case PLCIO_S7_AREA_PA: area = PLCIO_S7PLUS_AREA_Q; break;
    case PLCIO_S7_AREA_MK: area = PLCIO_S7PLUS_AREA_M; break;
    case PLCIO_S7_AREA_P:
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "peripheral I/O (PIW/PQW) is not reachable over S7CommPlus: use the process image "
                               "(IW/QW) or s7:// (classic)");
    default:
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "S7 timers and counters are not reachable over S7CommPlus; copy them to a DB or M");
    }
    AT(t)->area = (uint8_t)area;
    AT(t)->db = a.db;
    AT(t)->byte = a.offset;
    plcio_sync_tag_set_shape(t, a.type, a.length, a.bit, a.type == PLCIO_TYPE_BOOL ? 1 : a.size);
    return PLCIO_OK;
}

/* "Motor".Speed:REAL -> the name and the type the address gives (if any). */
static int split_type(const char *address, char *name, size_t cap, plcio_type *type, unsigned *length, bool *typed,
                      plcio_error *err)
{
    const char *q = strrchr(address, '"');
    const char *colon = strrchr(q ? q : address, ':');
    size_t n = colon ? (size_t)(colon - address) : strlen(address);
    if (n == 0 || n >= cap) return plcio_error_set(err, PLCIO_ESYNTAX, "%.80s: empty or too long a name", address);
    memcpy(name, address, n);
    name[n] = '\0';
    *typed = colon != NULL;
    *length = 0;
    if (!colon) return PLCIO_OK;
    const char *tn = colon + 1, *br = strchr(tn, '[');
    size_t tlen = br ? (size_t)(br - tn) : strlen(tn);
    if (plcio_type_parse(tn, tlen, type) != PLCIO_OK)
        return plcio_error_set(err, PLCIO_ESYNTAX, "%s: unknown type '%s'", address, tn);
    if (br) {
        char *end = NULL;
        unsigned long len = strtoul(br + 1, &end, 10);
        if ((*type != PLCIO_TYPE_STRING && *type != PLCIO_TYPE_WSTRING) || !end || strcmp(end, "]") != 0 || len == 0)
            return plcio_error_set(err, PLCIO_ESYNTAX, "%s: only STRING[n] and WSTRING[n] take a length", address);
        *length = (unsigned)len;
    } else if (*type == PLCIO_TYPE_STRING || *type == PLCIO_TYPE_WSTRING) {
        *length = PLCIO_STRING_MAX; /* TIA's default length of both */
    }
    return PLCIO_OK;
}

/* A symbolic tag. Its type is the address's (":REAL") or the PLC's: then the
 * PLC is asked now, with a blocking connect and browse, since the engine
 * needs every tag's shape before it starts. */
static int add_symbol(s7p_drv *drv, plcio_sync_tag *t, const char *address, plcio_error *err)
{
    char name[PLCIO_ADDRESS_TEXT_MAX + 64];
    plcio_type type = PLCIO_TYPE_BOOL;
    unsigned length = 0;
    bool typed = false;
    int rc = split_type(address, name, sizeof name, &type, &length, &typed, err);
    if (rc != PLCIO_OK) return rc;
    plcio_s7plus_symbol sym;
    memset(&sym, 0, sizeof sym);
    if (!typed) {
        if (!plcio_s7plus_client_is_connected(drv->client) &&
            (rc = plcio_s7plus_client_connect(drv->client)) != PLCIO_OK) {
            return plcio_error_set(err, rc,
                                   "its type comes from the PLC, which cannot be reached now (%s); give it in the "
                                   "address to start without the PLC: '%s:REAL'",
                                   plcio_s7plus_client_last_error(drv->client)->text, name);
        }
        if ((rc = plcio_s7plus_client_resolve(drv->client, name, &sym)) != PLCIO_OK) {
            const char *why = plcio_s7plus_client_last_error(drv->client)->text;
            return plcio_error_set(err, rc, "%s",
                                   why[0]                  ? why
                                   : rc == PLCIO_ENOTFOUND ? "no such DB or member in the PLC's program"
                                                           : plcio_strerror(rc));
        }
        type = sym.type;
        length = sym.length;
    }
    size_t size = plcio_type_size(type, length);
    if (size == 0) return plcio_error_set(err, PLCIO_ERANGE, "%s: no size for type %s", address, plcio_type_name(type));
    if (drv->nsyms == drv->symcap) {
        size_t cap = drv->symcap ? 2 * drv->symcap : 16;
        s7p_sym *more = realloc(drv->syms, cap * sizeof *more);
        if (!more) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
        drv->syms = more;
        drv->symcap = cap;
    }
    s7p_sym *s = &drv->syms[drv->nsyms];
    memset(s, 0, sizeof *s);
    if (!(s->name = strdup(name))) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    s->type = type;
    s->length = length;
    s->sym = sym;
    s->result = PLCIO_ENOTCONN;
    snprintf(s->why, sizeof s->why, "not resolved yet");
    AT(t)->symbolic = 1;
    AT(t)->byte = (uint32_t)drv->nsyms++;
    plcio_sync_tag_set_shape(t, type, length, 0, (uint32_t)size);
    return PLCIO_OK;
}

static int s7p_add_tag(plcio_sync_device *d, plcio_sync_tag *t, const char *address, const plcio_layout_member *m,
                       int db, plcio_error *err)
{
    if (m) { /* a member of a layout file: a non-optimized DB */
        int number = m->db_number >= 0 ? m->db_number : db;
        if (number < 1 || number > 65535)
            return plcio_error_set(err, PLCIO_EINVAL, "no DB number for layout member (set the group's db)");
        AT(t)->area = PLCIO_S7PLUS_AREA_DB;
        AT(t)->db = (uint16_t)number;
        AT(t)->byte = m->byte;
        plcio_sync_tag_set_shape(t, m->type, m->length, m->bit >= 0 ? (unsigned)m->bit : 0, m->size);
        return PLCIO_OK;
    }
    /* "DB".Member is symbolic; so is DB.Member when it is no classic address */
    if (address[0] == '"' ||
        (plcio_s7_address_parse(address, &(plcio_s7_address){0}, NULL) != PLCIO_OK && strchr(address, '.') != NULL))
        return add_symbol(plcio_sync_device_data(d), t, address, err);
    return locate_address(t, address, err);
}

static void free_plan(s7p_plan *p)
{
    if (!p) return;
    s7plan_free(&p->r);
    free(p->items);
    free(p->sym_tag);
    free(p->sym_of);
    free(p->sym_items);
    free(p->active_tag);
    free(p->sub_items);
    free(p->sub_result);
    free(p->sub_ids);
    free(p->sbuf);
    free(p->soff);
    free(p);
}

static void s7p_free_plan(plcio_sync_group *g)
{
    free_plan(plcio_sync_group_plan(g));
    plcio_sync_group_set_plan(g, NULL);
}

/* A subscribed group's items, results and the symbolic tags' bytes. */
static int sub_alloc(s7p_plan *p, const plcio_sync_group *g)
{
    size_t n = plcio_sync_group_tag_count(g), items = p->nitems + p->nsym;
    size_t chunks = (items + PLCIO_S7PLUS_MAX_SUB_ITEMS - 1) / PLCIO_S7PLUS_MAX_SUB_ITEMS;
    size_t bytes = 0;
    if (!(p->soff = calloc(n ? n : 1, sizeof *p->soff))) return PLCIO_ENOMEM;
    for (size_t k = 0; k < p->nsym; k++) {
        p->soff[p->sym_tag[k]] = (uint32_t)bytes;
        bytes += plcio_sync_tag_size(plcio_sync_group_tag(g, p->sym_tag[k]));
    }
    p->sbuf = calloc(bytes ? bytes : 1, 1);
    p->sub_items = calloc(items ? items : 1, sizeof *p->sub_items);
    p->sub_result = calloc(items ? items : 1, sizeof *p->sub_result);
    p->sub_ids = calloc(chunks ? chunks : 1, sizeof *p->sub_ids);
    return p->sbuf && p->sub_items && p->sub_result && p->sub_ids ? PLCIO_OK : PLCIO_ENOMEM;
}

/* Build (or rebuild) g's plan; the old one is replaced only on success. */
static int build_plan(plcio_sync_group *g, bool merge)
{
    size_t n = plcio_sync_group_tag_count(g);
    size_t cap = n ? n : 1;
    s7p_plan *p = calloc(1, sizeof *p);
    if (!p) return PLCIO_ENOMEM;
    p->subscribe = plcio_sync_group_subscribed(g);
    int rc = s7plan_build(&p->r, g, merge, p->subscribe ? SUB_MAX_REGION : MAX_REGION);
    if (rc == PLCIO_OK) {
        p->items = calloc(p->r.nregions ? p->r.nregions : 1, sizeof *p->items);
        p->sym_tag = malloc(cap * sizeof *p->sym_tag);
        p->sym_of = malloc(cap * sizeof *p->sym_of);
        p->active_tag = malloc(cap * sizeof *p->active_tag);
    }
    if (rc != PLCIO_OK || !p->items || !p->sym_tag || !p->sym_of || !p->active_tag) {
        free_plan(p);
        return PLCIO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const s7plan_location *at = AT(plcio_sync_group_tag(g, i));
        if (!at->symbolic) continue;
        p->sym_tag[p->nsym] = i;
        p->sym_of[p->nsym++] = at->byte;
    }
    if (p->nsym && !(p->sym_items = calloc(p->nsym, sizeof *p->sym_items))) {
        free_plan(p);
        return PLCIO_ENOMEM;
    }
    p->generation = (unsigned)-1; /* the active symbols are found at the first read */
    for (size_t i = 0; i < p->r.nregions; i++) {
        const s7plan_region *reg = &p->r.regions[i];
        p->items[i] =
            (plcio_s7plus_item){(plcio_s7plus_area)reg->area, reg->db, reg->start, reg->size, reg->data, 0, 0};
    }
    p->nitems = p->r.nregions;
    if (p->subscribe && sub_alloc(p, g) != PLCIO_OK) {
        free_plan(p);
        return PLCIO_ENOMEM;
    }
    free_plan(plcio_sync_group_plan(g));
    plcio_sync_group_set_plan(g, p);
    return PLCIO_OK;
}

/* Types a notification carries as an array (of their S7 bytes), which the
 * client does not turn into bytes (plcio_s7plus_sub_value: PLCIO_EUNSUPPORTED). */
static bool sub_array_type(plcio_type t)
{
    return t == PLCIO_TYPE_STRING || t == PLCIO_TYPE_WSTRING || t == PLCIO_TYPE_DTL || t == PLCIO_TYPE_DATE_AND_TIME;
}

static int s7p_plan_group(plcio_sync_device *d, plcio_sync_group *g, plcio_error *err)
{
    s7p_drv *drv = plcio_sync_device_data(d);
    if (plcio_sync_group_subscribed(g)) {
        for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
            const plcio_sync_tag *t = plcio_sync_group_tag(g, i);
            if (AT(t)->symbolic && sub_array_type(plcio_sync_tag_type(t)))
                return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                                       "%s is a %s, which a subscription of this client does not carry yet: put it "
                                       "in a group without subscribe",
                                       plcio_sync_tag_name(t), plcio_type_name(plcio_sync_tag_type(t)));
        }
        plcio_sync_group **more = realloc(drv->subg, (drv->nsubg + 1) * sizeof(plcio_sync_group *));
        if (!more) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
        drv->subg = more;
        drv->subg[drv->nsubg++] = g;
    }
    int rc = build_plan(g, true);
    if (rc != PLCIO_OK) return plcio_error_set(err, rc, "%s", plcio_strerror(rc));
    return rc;
}

static void s7p_connect(plcio_sync_device *d)
{
    s7p_drv *drv = plcio_sync_device_data(d);
    drv->came_up = false;
    /* a connection made while the engine was built (to learn symbols' types) goes: start afresh */
    if (plcio_s7plus_client_is_connected(drv->client)) plcio_s7plus_client_close(drv->client);
    int rc = plcio_s7plus_client_connect_async(drv->client, on_connected, drv);
    if (rc != PLCIO_OK) {
        rewatch(drv);
        plcio_sync_device_down(d, rc, plcio_s7plus_client_last_error(drv->client)->text);
        return;
    }
    pump(drv);
}

static void on_kick(plcio_loop *loop, void *ctx)
{
    (void)loop;
    s7p_drv *drv = ctx;
    drv->kick = 0;
    pump(drv);
}

/* Start queued jobs in this loop round, not from here: enqueue may be called
 * from within a callback of process(). */
static void enqueue(s7p_drv *drv, s7p_job *job)
{
    s7plan_enqueue(&drv->q, &job->base);
    if (!drv->kick) {
        plcio_loop *loop = plcio_sync_device_loop(drv->dev);
        drv->kick = plcio_loop_timer_add(loop, plcio_loop_now(loop), on_kick, drv);
    }
}

static void s7p_read(plcio_sync_device *d, plcio_sync_group *g)
{
    s7p_plan *p = plcio_sync_group_plan(g);
    if (p->subscribe) {
        sub_read(plcio_sync_device_data(d), g, p);
        return;
    }
    s7p_job *job = calloc(1, sizeof *job);
    if (!job) {
        plcio_sync_group_done(g, PLCIO_ENOMEM, 0, 0);
        return;
    }
    job->base.group = g;
    enqueue(plcio_sync_device_data(d), job);
}

/* A symbolic tag: its S7 bytes as the typed value the PLC takes (a BOOL is
 * its own variable: nothing else changes). */
static void s7p_write_symbol(s7p_drv *drv, plcio_sync_write_req *w)
{
    const plcio_sync_tag *t = plcio_sync_write_tag(w);
    const s7p_sym *s = &drv->syms[AT(t)->byte];
    if (s->result != PLCIO_OK) {
        char msg[sizeof s->why + 64];
        snprintf(msg, sizeof msg, "%s: %s", s->name, s->why);
        plcio_sync_write_done(w, s->result, msg);
        return;
    }
    s7p_job *job = calloc(1, sizeof *job);
    if (!job) {
        plcio_sync_write_done(w, PLCIO_ENOMEM, NULL);
        return;
    }
    size_t size;
    const uint8_t *data = plcio_sync_write_data(w, &size);
    plcio_error err;
    plcio_error_clear(&err);
    job->base.write = w;
    job->symbolic = true;
    job->sym_item.sym = s->sym;
    plcio_value_init(&job->sym_item.value, s->type);
    int rc = plcio_value_decode(&job->sym_item.value, s->type, s->length, data, size, 0, NULL, &err);
    if (rc != PLCIO_OK) {
        free(job);
        plcio_sync_write_done(w, rc, err.text);
        return;
    }
    enqueue(drv, job);
}

static void s7p_write(plcio_sync_device *d, plcio_sync_write_req *w)
{
    const plcio_sync_tag *t = plcio_sync_write_tag(w);
    if (AT(t)->symbolic) {
        s7p_write_symbol(plcio_sync_device_data(d), w);
        return;
    }
    if (plcio_sync_tag_type(t) == PLCIO_TYPE_BOOL) {
        /* Raw access writes whole bytes: a BOOL would need a read-modify-write
         * of its byte, which could undo a change the PLC made in between. */
        plcio_sync_write_done(w, PLCIO_EUNSUPPORTED,
                              "a BOOL is not written over S7CommPlus raw access (only whole bytes are, which could "
                              "overwrite the other 7 bits); use s7:// (classic) for bit writes");
        return;
    }
    s7p_job *job = calloc(1, sizeof *job);
    if (!job) {
        plcio_sync_write_done(w, PLCIO_ENOMEM, NULL);
        return;
    }
    size_t size;
    uint8_t *data = plcio_sync_write_data(w, &size);
    job->base.write = w;
    job->item = (plcio_s7plus_item){(plcio_s7plus_area)AT(t)->area, AT(t)->db, AT(t)->byte, (uint32_t)size, data, 0, 0};
    enqueue(plcio_sync_device_data(d), job);
}

const plcio_driver plcio_driver_s7plus = {
    .abi = PLCIO_DRIVER_ABI,
    .scheme = "s7plus",
    .open = s7p_open,
    .close = s7p_close,
    .add_tag = s7p_add_tag,
    .plan = s7p_plan_group,
    .free_plan = s7p_free_plan,
    .connect = s7p_connect,
    .read = s7p_read,
    .write = s7p_write,
};
