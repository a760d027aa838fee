/* Ranges of an S7 server backed by remote S7 devices (plcio/s7_server.h:
 * plcio_s7_server_back_range). The server hands every read and write job
 * here first (s7_server_job.c: read_deferred / write_deferred); a job with
 * an item inside a backed range is taken, its items answered from the
 * area's bytes (the cache) or once the remote answered, through
 * plcio_s7_server_read_reply / _write_reply. A job with no backed item goes
 * back to the server.
 *
 * One event-loop S7 client per remote URL, on the server's own loop. The
 * client runs one job at a time, so requests to a remote queue here (FIFO:
 * a read queued after a write sees it); reads queued together go out as
 * one multi-variable read. A fetch (a remote read) carries the list of
 * items waiting for it; an item that needs bytes a queued or running fetch
 * brings joins that list instead of asking again. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/loop.h"
#include "plcio/s7.h"
#include "s7/s7_server_priv.h"

#define LOG_MODULE    "s7srv"
#define BK_MAX_RANGES 64
#define BK_WHOLE_MAX  200u  /* a range this small is fetched whole (fits the smallest PDU) */
#define BK_BATCH      16u   /* queued requests sent as one multi-variable job */
#define BK_MAX_JOBS   4096u /* jobs waiting for remotes, all connections; beyond: hardware fault */

typedef struct bk_remote bk_remote;
typedef struct s7bk_backing s7bk_backing;

typedef struct bk_range {
    uint8_t area; /* plcio_s7_server_area */
    uint16_t db;  /* 0 for I, Q, M */
    uint32_t start, size;
    int rarea;
    uint16_t rdb;
    uint32_t rstart;
    uint64_t max_age_ns;
    bool write_through, serve_stale;
    bk_remote *rm;
    uint64_t *fetched; /* per byte: loop ns of the fetch that brought it; 0: not fresh */
    uint8_t *had;      /* per byte: ever fetched or written through (serve_stale) */
    plcio_s7_backing_stats st;
} bk_range;

/* A server job waiting for remote answers. */
typedef struct bk_job {
    struct bk_job *prev, *next;
    uint64_t id;
    bool write;
    size_t n;
    unsigned pending; /* items still waiting */
    plcio_s7_server_read_answer ans[S7SRV_MAX_ITEMS];
    uint8_t codes[S7SRV_MAX_ITEMS];
} bk_job;

typedef struct bk_waiter {
    struct bk_waiter *next;
    bk_job *job;
    size_t item;
    uint32_t off, len; /* range-relative bytes the item needs */
} bk_waiter;

/* A request for a remote: a fetch or the write of one item. */
typedef struct bk_op {
    struct bk_op *next;
    bk_range *rg;
    bool write;
    uint32_t off, len; /* range-relative */
    int bit;           /* write: 0..7 for a bit, -1 bytes */
    uint64_t sent_ns;
    bk_waiter *waiters;
    uint8_t buf[];
} bk_op;

struct bk_remote {
    s7bk_backing *b;
    char *url;
    plcio_s7_client *c;
    plcio_loop_watch watch;
    bool watching;
    uint64_t next_connect_ns, reconnect_ns;
    bk_op *queue, *queue_tail;
    bk_op *flight[BK_BATCH];
    plcio_s7_var vars[BK_BATCH];
    size_t nflight;
    bool in_pump, again;
};

struct s7bk_backing {
    plcio_s7_server *srv;
    bk_range *ranges[BK_MAX_RANGES];
    size_t nranges;
    bk_remote *remotes[BK_MAX_RANGES];
    size_t nremotes;
    bk_job *jobs;
    unsigned njobs;
};

void plcio_s7_backing_options_init(plcio_s7_backing_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->remote_start = -1;
}

static uint64_t now_ns(const s7bk_backing *b)
{
    plcio_loop *loop = s7srv_loop(b->srv);
    return loop ? plcio_loop_now(loop) : plcio_monotonic_ns();
}

/* ===========================================================================
 * Jobs and their answers
 * ========================================================================= */

static void job_free(s7bk_backing *b, bk_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        b->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    b->njobs--;
    free(j);
}

/* Every item answered: send the job's answer (its client may have left, or
 * the server's timeout answered it already: nothing then). */
static void job_reply(s7bk_backing *b, bk_job *j)
{
    int rc = j->write ? plcio_s7_server_write_reply(b->srv, j->id, j->codes, j->n)
                      : plcio_s7_server_read_reply(b->srv, j->id, j->ans, j->n);
    if (rc != PLCIO_OK)
        log_msg(&b->srv->cfg.logger, PLCIO_LOG_DEBUG, LOG_MODULE, "backed range: job %llu waits no more",
                (unsigned long long)j->id);
    job_free(b, j);
}

static void item_done(s7bk_backing *b, bk_job *j, size_t item, uint8_t code)
{
    if (j->write)
        j->codes[item] = code;
    else
        j->ans[item].code = code; /* data NULL: the area's bytes at the reply */
    if (--j->pending == 0) job_reply(b, j);
}

static bool all_had(const bk_range *rg, uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (!rg->had[off + i]) return false;
    return true;
}

/* The item code a failed remote request gives. */
static uint8_t failure_code(int result, uint8_t item_code)
{
    if (result == PLCIO_EPLC && item_code && item_code != PLCIO_S7_SERVER_ITEM_OK) return item_code;
    return PLCIO_S7_SERVER_ITEM_HW_FAULT;
}

/* Put the bytes of an op into the area (the cache). */
static void cache_store(s7bk_backing *b, bk_op *op)
{
    bk_range *rg = op->rg;
    size_t size = 0;
    if (plcio_s7_server_lock_area(b->srv, (plcio_s7_server_area)rg->area, rg->db) != PLCIO_OK) return;
    uint8_t *mem = plcio_s7_server_area_data(b->srv, (plcio_s7_server_area)rg->area, rg->db, &size);
    size_t at = (size_t)rg->start + op->off;
    if (mem && at + op->len <= size) {
        if (op->write && op->bit >= 0) {
            uint8_t mask = (uint8_t)(1u << op->bit);
            mem[at] = (uint8_t)((op->buf[0] & 1u) ? (mem[at] | mask) : (mem[at] & ~mask));
        } else {
            memcpy(mem + at, op->buf, op->len);
        }
    }
    plcio_s7_server_unlock_area(b->srv, (plcio_s7_server_area)rg->area, rg->db);
}

static void op_finish(s7bk_backing *b, bk_op *op, int result, uint8_t item_code)
{
    bk_range *rg = op->rg;
    if (result == PLCIO_OK) {
        cache_store(b, op);
        for (uint32_t i = 0; i < op->len; i++) {
            rg->fetched[op->off + i] = op->write ? 0 : (op->sent_ns ? op->sent_ns : 1);
            rg->had[op->off + i] = 1;
        }
    } else {
        rg->st.failures++;
        log_msg(&b->srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "backed range %s%u %u+%u: %s %s: %s",
                plcio_s7_area_name(rg->area), (unsigned)rg->db, rg->start, rg->size,
                op->write ? "write to" : "read from", rg->rm->url,
                result == PLCIO_EPLC ? plcio_s7_return_code_text(item_code) : plcio_strerror(result));
    }
    bk_waiter *w = op->waiters;
    free(op);
    while (w) {
        bk_waiter *next = w->next;
        uint8_t code = PLCIO_S7_SERVER_ITEM_OK;
        if (result != PLCIO_OK && !(!w->job->write && rg->serve_stale && all_had(rg, w->off, w->len)))
            code = failure_code(result, item_code);
        item_done(b, w->job, w->item, code);
        free(w);
        w = next;
    }
}

/* ===========================================================================
 * Remotes
 * ========================================================================= */

static void pump(bk_remote *rm);

static void on_done(void *ctx, plcio_s7_client *c, int result)
{
    (void)c;
    bk_remote *rm = ctx;
    size_t n = rm->nflight;
    bk_op *ops[BK_BATCH];
    int res[BK_BATCH];
    uint8_t codes[BK_BATCH];
    for (size_t i = 0; i < n; i++) {
        ops[i] = rm->flight[i];
        res[i] = rm->vars[i].result;
        codes[i] = rm->vars[i].item_code;
        if (result != PLCIO_OK && result != PLCIO_EPLC) res[i] = result; /* the link failed: every item */
    }
    rm->nflight = 0; /* before the answers: they may queue more */
    for (size_t i = 0; i < n; i++)
        op_finish(rm->b, ops[i], res[i], codes[i]);
    pump(rm);
}

static void fail_queue(bk_remote *rm, int rc)
{
    while (rm->queue) {
        bk_op *op = rm->queue;
        rm->queue = op->next;
        if (!rm->queue) rm->queue_tail = NULL;
        op_finish(rm->b, op, rc, 0);
    }
}

/* Send the queue's head (reads together, or one write) when the client is free. */
static void kick(bk_remote *rm)
{
    if (rm->nflight || !rm->queue) return;
    s7bk_backing *b = rm->b;
    uint64_t now = now_ns(b);
    if (plcio_s7_client_fd(rm->c) < 0) {
        int rc = PLCIO_ENOTCONN;
        if (now >= rm->next_connect_ns) {
            rm->next_connect_ns = now + rm->reconnect_ns;
            plcio_loop_watch_set(&rm->watch, -1, 0, 0); /* the fd number may come back reused */
            rc = plcio_s7_client_connect_async(rm->c);
        }
        if (rc != PLCIO_OK || plcio_s7_client_fd(rm->c) < 0) {
            fail_queue(rm, rc != PLCIO_OK ? rc : PLCIO_ENOTCONN);
            return;
        }
    }
    bool write = rm->queue->write;
    size_t n = 0;
    while (rm->queue && n < BK_BATCH && rm->queue->write == write && (!write || n == 0)) {
        bk_op *op = rm->queue;
        rm->queue = op->next;
        if (!rm->queue) rm->queue_tail = NULL;
        op->next = NULL;
        op->sent_ns = now;
        bk_range *rg = op->rg;
        plcio_s7_var *v = &rm->vars[n];
        memset(v, 0, sizeof *v);
        v->area = (plcio_s7_area)rg->rarea;
        v->db = rg->rdb;
        v->start = rg->rstart + op->off;
        v->size = op->len;
        v->bit = op->bit;
        v->data = op->buf;
        rm->flight[n++] = op;
        if (write)
            rg->st.writes++;
        else
            rg->st.fetches++;
    }
    rm->nflight = n;
    int rc = write ? plcio_s7_client_write_vars_async(rm->c, rm->vars, n, on_done, rm)
                   : plcio_s7_client_read_vars_async(rm->c, rm->vars, n, on_done, rm);
    if (rc != PLCIO_OK) {
        rm->nflight = 0;
        for (size_t i = 0; i < n; i++)
            op_finish(b, rm->flight[i], rc, 0);
        return;
    }
    rm->again = true; /* process at once: the request goes out */
}

static void rewatch(bk_remote *rm)
{
    uint64_t deadline = 0;
    unsigned want = plcio_s7_client_wants(rm->c, &deadline);
    unsigned ev =
        ((want & PLCIO_S7_WANT_READ) ? PLCIO_IO_READ : 0u) | ((want & PLCIO_S7_WANT_WRITE) ? PLCIO_IO_WRITE : 0u);
    plcio_loop_watch_set(&rm->watch, plcio_s7_client_fd(rm->c), ev, deadline);
}

/* Process and send until nothing changes; then watch what the client wants. */
static void pump(bk_remote *rm)
{
    if (!rm->watching) return;
    if (rm->in_pump) {
        rm->again = true;
        return;
    }
    rm->in_pump = true;
    do {
        rm->again = false;
        if (plcio_s7_client_fd(rm->c) >= 0 && plcio_s7_client_process(rm->c) != PLCIO_OK) {
            log_msg(&rm->b->srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "backed range: %s",
                    plcio_s7_client_last_error(rm->c)->text);
            plcio_loop_watch_set(&rm->watch, -1, 0, 0);
        }
        kick(rm);
    } while (rm->again);
    rewatch(rm);
    rm->in_pump = false;
}

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

static void on_timer(plcio_loop *loop, void *ctx)
{
    (void)loop;
    pump(ctx);
}

/* The remote's watch on the serving loop (made at the first request). */
static bool remote_ready(bk_remote *rm)
{
    if (rm->watching) return true;
    plcio_loop *loop = s7srv_loop(rm->b->srv);
    if (!loop) return false;
    plcio_loop_watch_init(&rm->watch, loop, on_io, on_timer, rm);
    rm->watching = true;
    return true;
}

static void enqueue(bk_remote *rm, bk_op *op)
{
    op->next = NULL;
    if (rm->queue_tail)
        rm->queue_tail->next = op;
    else
        rm->queue = op;
    rm->queue_tail = op;
}

/* ===========================================================================
 * Job hooks
 * ========================================================================= */

/* The backed range holding all of the access; *partly when one holds only part of it. */
static bk_range *find_range(s7bk_backing *b, const plcio_s7_server_access *acc, bool *partly)
{
    *partly = false;
    uint64_t s = acc->start, e = (uint64_t)acc->start + acc->size;
    for (size_t i = 0; i < b->nranges; i++) {
        bk_range *rg = b->ranges[i];
        if (rg->area != (uint8_t)acc->area || rg->db != acc->db_number) continue;
        uint64_t rs = rg->start, re = (uint64_t)rg->start + rg->size;
        if (s >= rs && e <= re) return rg;
        if (s < re && rs < e) *partly = true;
    }
    return NULL;
}

static bool fresh(const s7bk_backing *b, const bk_range *rg, uint32_t off, uint32_t len)
{
    if (!rg->max_age_ns) return false;
    uint64_t now = now_ns(b);
    for (uint32_t i = 0; i < len; i++) {
        uint64_t t = rg->fetched[off + i];
        if (!t || now - t >= rg->max_age_ns) return false;
    }
    return true;
}

static bk_job *job_new(s7bk_backing *b, uint64_t id, bool write, size_t n)
{
    if (b->njobs >= BK_MAX_JOBS) return NULL;
    bk_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->id = id;
    j->write = write;
    j->n = n;
    j->next = b->jobs;
    if (b->jobs) b->jobs->prev = j;
    b->jobs = j;
    b->njobs++;
    return j;
}

static bool add_waiter(bk_op *op, bk_job *j, size_t item, uint32_t off, uint32_t len)
{
    bk_waiter *w = calloc(1, sizeof *w);
    if (!w) return false;
    w->job = j;
    w->item = item;
    w->off = off;
    w->len = len;
    w->next = op->waiters;
    op->waiters = w;
    return true;
}

/* A fetch queued or on its way that brings [off, off + len) of rg. */
static bk_op *fetch_covering(bk_remote *rm, const bk_range *rg, uint32_t off, uint32_t len)
{
    for (size_t i = 0; i < rm->nflight; i++) {
        bk_op *op = rm->flight[i];
        if (!op->write && op->rg == rg && off >= op->off && off + len <= op->off + op->len) return op;
    }
    /* queued: only a fetch after the last queued write, so that it sees that write */
    bk_op *found = NULL;
    for (bk_op *op = rm->queue; op; op = op->next) {
        if (op->write && op->rg == rg)
            found = NULL;
        else if (!op->write && op->rg == rg && off >= op->off && off + len <= op->off + op->len)
            found = op;
    }
    return found;
}

/* One backed read item: answered now (fresh), or waiting for a fetch. */
static uint8_t read_item(s7bk_backing *b, bk_job *j, size_t i, bk_range *rg, const plcio_s7_server_access *acc)
{
    uint32_t off = acc->start - rg->start, len = acc->size;
    rg->st.reads++;
    if (fresh(b, rg, off, len)) {
        rg->st.cache_hits++;
        return PLCIO_S7_SERVER_ITEM_OK;
    }
    if (!remote_ready(rg->rm)) return PLCIO_S7_SERVER_ITEM_HW_FAULT;
    bk_op *op = fetch_covering(rg->rm, rg, off, len);
    if (op) {
        if (!add_waiter(op, j, i, off, len)) return PLCIO_S7_SERVER_ITEM_HW_FAULT;
        rg->st.coalesced++;
        j->pending++;
        return 0; /* waiting */
    }
    uint32_t foff = rg->size <= BK_WHOLE_MAX ? 0 : off, flen = rg->size <= BK_WHOLE_MAX ? rg->size : len;
    op = calloc(1, sizeof *op + flen);
    if (!op || !add_waiter(op, j, i, off, len)) {
        free(op);
        return PLCIO_S7_SERVER_ITEM_HW_FAULT;
    }
    op->rg = rg;
    op->off = foff;
    op->len = flen;
    op->bit = -1;
    enqueue(rg->rm, op);
    j->pending++;
    return 0;
}

/* Send the queued requests of every remote; the job may be answered meanwhile. */
static void pump_all(s7bk_backing *b)
{
    for (size_t i = 0; i < b->nremotes; i++)
        if (b->remotes[i]->queue) pump(b->remotes[i]);
}

/* The backed range an item of a job falls in (*rg), or whether it is only
 * partly inside one (*partly); false when neither (or the server refused it). */
static bool locate(s7bk_backing *b, uint8_t code, const plcio_s7_server_access *acc, bk_range **rg, bool *partly)
{
    *rg = NULL;
    *partly = false;
    if (code != PLCIO_S7_SERVER_ITEM_OK) return false;
    *rg = find_range(b, acc, partly);
    return *rg || *partly;
}

int s7bk_read_job(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_read_item *items, size_t count)
{
    s7bk_backing *b = srv->backing;
    bk_range *rgs[S7SRV_MAX_ITEMS];
    bool partly[S7SRV_MAX_ITEMS], any = false;
    if (!b || count > S7SRV_MAX_ITEMS) return PLCIO_ENOTFOUND;
    for (size_t i = 0; i < count; i++)
        any |= locate(b, items[i].code, &items[i].acc, &rgs[i], &partly[i]);
    if (!any) return PLCIO_ENOTFOUND;
    bk_job *j = job_new(b, job, false, count);
    if (!j) {
        log_msg(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "backed range: %u jobs wait already", b->njobs);
        plcio_s7_server_read_answer ans[S7SRV_MAX_ITEMS];
        for (size_t i = 0; i < count; i++)
            ans[i] = (plcio_s7_server_read_answer){PLCIO_S7_SERVER_ITEM_HW_FAULT, NULL};
        plcio_s7_server_read_reply(srv, job, ans, count);
        return PLCIO_OK;
    }
    j->pending = 1; /* held until every item is placed */
    for (size_t i = 0; i < count; i++) {
        j->ans[i].data = NULL;
        j->ans[i].code = PLCIO_S7_SERVER_ITEM_OK; /* not backed, or refused by the server: as the server says */
        if (partly[i])
            j->ans[i].code = PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE;
        else if (rgs[i])
            j->ans[i].code = read_item(b, j, i, rgs[i], &items[i].acc);
    }
    pump_all(b);
    item_done(b, j, 0, j->ans[0].code); /* the hold: answered here when nothing waits */
    return PLCIO_OK;
}

int s7bk_write_job(plcio_s7_server *srv, uint64_t job, const plcio_s7_server_write_item *items, size_t count)
{
    s7bk_backing *b = srv->backing;
    bk_range *rgs[S7SRV_MAX_ITEMS];
    bool partly[S7SRV_MAX_ITEMS], any = false;
    if (!b || count > S7SRV_MAX_ITEMS) return PLCIO_ENOTFOUND;
    for (size_t i = 0; i < count; i++)
        any |= locate(b, items[i].code, &items[i].acc, &rgs[i], &partly[i]);
    if (!any) return PLCIO_ENOTFOUND;
    bk_job *j = job_new(b, job, true, count);
    if (!j) {
        log_msg(&srv->cfg.logger, PLCIO_LOG_WARN, LOG_MODULE, "backed range: %u jobs wait already", b->njobs);
        uint8_t codes[S7SRV_MAX_ITEMS];
        memset(codes, PLCIO_S7_SERVER_ITEM_HW_FAULT, sizeof codes);
        plcio_s7_server_write_reply(srv, job, codes, count);
        return PLCIO_OK;
    }
    j->pending = 1;
    for (size_t i = 0; i < count; i++) {
        const plcio_s7_server_access *acc = &items[i].acc;
        bk_range *rg = rgs[i];
        j->codes[i] = items[i].code;
        if (items[i].code != PLCIO_S7_SERVER_ITEM_OK) continue;
        if (partly[i]) {
            j->codes[i] = PLCIO_S7_SERVER_ITEM_OUT_OF_RANGE;
        } else if (!rg) {
            j->codes[i] = s7srv_apply_write(srv, acc, items[i].data);
        } else if (!rg->write_through) {
            j->codes[i] = PLCIO_S7_SERVER_ITEM_ACCESS_DENIED;
        } else {
            bk_op *op = remote_ready(rg->rm) ? calloc(1, sizeof *op + acc->size) : NULL;
            if (!op || !add_waiter(op, j, i, acc->start - rg->start, acc->size)) {
                free(op);
                j->codes[i] = PLCIO_S7_SERVER_ITEM_HW_FAULT;
                continue;
            }
            op->rg = rg;
            op->write = true;
            op->off = acc->start - rg->start;
            op->len = acc->size;
            op->bit = acc->bit;
            memcpy(op->buf, items[i].data, acc->size);
            for (uint32_t k = 0; k < op->len; k++) /* a read that follows asks the remote */
                rg->fetched[op->off + k] = 0;
            enqueue(rg->rm, op);
            j->pending++;
        }
    }
    pump_all(b);
    item_done(b, j, 0, j->codes[0]);
    return PLCIO_OK;
}

/* ===========================================================================
 * Set-up and teardown
 * ========================================================================= */

static void op_free(bk_op *op)
{
    for (bk_waiter *w = op->waiters, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    free(op);
}

void s7bk_detach(plcio_s7_server *srv)
{
    s7bk_backing *b = srv ? srv->backing : NULL;
    if (!b) return;
    for (size_t i = 0; i < b->nremotes; i++) {
        bk_remote *rm = b->remotes[i];
        if (rm->watching) plcio_loop_watch_clear(&rm->watch);
        rm->watching = false;
        for (size_t k = 0; k < rm->nflight; k++)
            op_free(rm->flight[k]);
        rm->nflight = 0; /* on_done, if the close calls it, finds nothing */
        plcio_s7_client_close(rm->c);
        while (rm->queue) {
            bk_op *op = rm->queue;
            rm->queue = op->next;
            op_free(op);
        }
        rm->queue_tail = NULL;
        rm->next_connect_ns = 0;
    }
    for (bk_job *j = b->jobs, *next; j; j = next) { /* their connections close with the loop */
        next = j->next;
        free(j);
    }
    b->jobs = NULL;
    b->njobs = 0;
}

void s7bk_free(plcio_s7_server *srv)
{
    s7bk_backing *b = srv ? srv->backing : NULL;
    if (!b) return;
    s7bk_detach(srv);
    for (size_t i = 0; i < b->nremotes; i++) {
        plcio_s7_client_free(b->remotes[i]->c);
        free(b->remotes[i]->url);
        free(b->remotes[i]);
    }
    for (size_t i = 0; i < b->nranges; i++) {
        free(b->ranges[i]->fetched);
        free(b->ranges[i]->had);
        free(b->ranges[i]);
    }
    free(b);
    srv->backing = NULL;
}

static int remote_get(s7bk_backing *b, const char *url, unsigned reconnect_ms, bk_remote **out, plcio_error *err)
{
    for (size_t i = 0; i < b->nremotes; i++)
        if (!strcmp(b->remotes[i]->url, url)) {
            *out = b->remotes[i];
            return PLCIO_OK;
        }
    bk_remote *rm = calloc(1, sizeof *rm);
    char *copy = strdup(url);
    if (!rm || !copy) {
        free(rm);
        free(copy);
        return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
    }
    plcio_s7_client_options co;
    plcio_s7_client_options_init(&co);
    co.logger = b->srv->cfg.logger;
    co.auto_reconnect = false; /* reconnects here, at most once per reconnect_ms */
    plcio_error e;
    memset(&e, 0, sizeof e);
    int rc = plcio_s7_client_new(url, &co, &rm->c, &e);
    if (rc != PLCIO_OK) {
        free(rm);
        free(copy);
        return plcio_error_set(err, rc, "backed range: %s: %s", url, e.text[0] ? e.text : plcio_strerror(rc));
    }
    rm->b = b;
    rm->url = copy;
    rm->reconnect_ns = (uint64_t)(reconnect_ms ? reconnect_ms : 500) * PLCIO_NS_PER_MS;
    b->remotes[b->nremotes++] = rm;
    *out = rm;
    return PLCIO_OK;
}

static bool area_ok(plcio_s7_server_area a)
{
    return a == PLCIO_S7_SERVER_AREA_DB || a == PLCIO_S7_SERVER_AREA_M || a == PLCIO_S7_SERVER_AREA_I ||
           a == PLCIO_S7_SERVER_AREA_Q;
}

static int check_args(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t db, uint32_t start, uint32_t size,
                      const char *url, const plcio_s7_backing_options *o, plcio_error *err)
{
    if (!srv || !url) return plcio_error_set(err, PLCIO_EINVAL, "backed range: no server or URL");
    if (!area_ok(area))
        return plcio_error_set(err, PLCIO_EINVAL, "backed range: area 0x%02X is not DB, M, I or Q", (unsigned)area);
    if (area == PLCIO_S7_SERVER_AREA_DB && db == 0)
        return plcio_error_set(err, PLCIO_EINVAL, "backed range: DB number 0 (1..65535)");
    if (size == 0 || (uint64_t)start + size > 65535)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: %u bytes from %u do not fit in 0..65534",
                               (unsigned)size, (unsigned)start);
    int64_t rs = o->remote_start >= 0 ? o->remote_start : (int64_t)start;
    if (rs + size > 65535)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: remote bytes %lld..%lld are past 65534", (long long)rs,
                               (long long)(rs + size - 1));
    if (o->remote_area && !area_ok((plcio_s7_server_area)o->remote_area))
        return plcio_error_set(err, PLCIO_EINVAL, "backed range: remote area 0x%02X is not DB, M, I or Q",
                               (unsigned)o->remote_area);
    if (o->max_age_ms > PLCIO_S7_SERVER_TIMEOUT_MAX_MS)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: max age %u ms is above 24 h", (unsigned)o->max_age_ms);
    if (srv->mode != S7SRV_IDLE)
        return plcio_error_set(err, PLCIO_ESTATE, "backed range: add ranges before the server listens");
    const s7bk_backing *b = srv->backing;
    uint16_t num = area == PLCIO_S7_SERVER_AREA_DB ? db : 0;
    for (size_t i = 0; b && i < b->nranges; i++) {
        const bk_range *rg = b->ranges[i];
        if (rg->area == (uint8_t)area && rg->db == num && start < rg->start + rg->size && rg->start < start + size)
            return plcio_error_set(err, PLCIO_EEXIST, "backed range: %u+%u overlaps the backed range %u+%u",
                                   (unsigned)start, (unsigned)size, (unsigned)rg->start, (unsigned)rg->size);
    }
    if (b && b->nranges == BK_MAX_RANGES)
        return plcio_error_set(err, PLCIO_ELIMIT, "backed range: at most %d ranges", BK_MAX_RANGES);
    return PLCIO_OK;
}

/* The area must exist and hold the range: added when absent. */
static int area_prepare(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t num, uint32_t end, plcio_error *err)
{
    size_t size = 0;
    if (plcio_s7_server_lock_area(srv, area, num) == PLCIO_OK) {
        (void)plcio_s7_server_area_data(srv, area, num, &size);
        plcio_s7_server_unlock_area(srv, area, num);
        if (size < end)
            return plcio_error_set(err, PLCIO_ERANGE, "backed range: the area has %zu bytes, the range ends at %u",
                                   size, (unsigned)end);
        return PLCIO_OK;
    }
    int rc = plcio_s7_server_add_area(srv, area, num, end, NULL);
    return rc ? plcio_error_set(err, rc, "backed range: cannot add the area: %s", plcio_strerror(rc)) : PLCIO_OK;
}

int plcio_s7_server_back_range(plcio_s7_server *srv, plcio_s7_server_area area, uint16_t db, uint32_t start,
                               uint32_t size, const char *url, const plcio_s7_backing_options *opts, plcio_error *err)
{
    plcio_s7_backing_options o;
    plcio_s7_backing_options_init(&o);
    if (opts) o = *opts;
    int rc = check_args(srv, area, db, start, size, url, &o, err);
    if (rc != PLCIO_OK) return rc;
    uint16_t num = area == PLCIO_S7_SERVER_AREA_DB ? db : 0;
    if (!srv->backing) {
        srv->backing = calloc(1, sizeof *srv->backing);
        if (!srv->backing) return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
        srv->backing->srv = srv;
    }
    s7bk_backing *b = srv->backing;
    bk_range *rg = calloc(1, sizeof *rg);
    if (rg) {
        rg->fetched = calloc(size, sizeof *rg->fetched);
        rg->had = calloc(size, 1);
    }
    if (!rg || !rg->fetched || !rg->had) {
        if (rg) {
            free(rg->fetched);
            free(rg->had);
        }
        free(rg);
        return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
    }
    rc = remote_get(b, url, o.reconnect_ms, &rg->rm, err); /* the URL checked before the area is touched */
    if (rc == PLCIO_OK) rc = area_prepare(srv, area, num, start + size, err);
    if (rc != PLCIO_OK) {
        free(rg->fetched);
        free(rg->had);
        free(rg);
        if (!b->nranges) s7bk_free(srv); /* no range: the server is as it was */
        return rc;
    }
    rg->area = (uint8_t)area;
    rg->db = num;
    rg->start = start;
    rg->size = size;
    rg->rarea = o.remote_area ? o.remote_area : (int)area;
    rg->rdb = o.remote_db ? o.remote_db : num;
    rg->rstart = o.remote_start >= 0 ? (uint32_t)o.remote_start : start;
    rg->max_age_ns = (uint64_t)o.max_age_ms * PLCIO_NS_PER_MS;
    rg->write_through = o.write_through;
    rg->serve_stale = o.serve_stale;
    b->ranges[b->nranges++] = rg;
    return PLCIO_OK;
}

int plcio_s7_server_backing_stats(const plcio_s7_server *srv, size_t index, plcio_s7_backing_stats *out)
{
    if (!srv || !out) return PLCIO_EINVAL;
    if (!srv->backing || index >= srv->backing->nranges) return PLCIO_ENOTFOUND;
    *out = srv->backing->ranges[index]->st;
    return PLCIO_OK;
}
