/* Ranges of a Modbus server backed by remote devices (plcio/modbus.h:
 * plcio_modbus_server_back_range). The server's forwarding hook
 * (mb_server.h: forward) sees every TCP/UDP request first; a request inside
 * a backed range is answered here, from the range's cache or once the
 * remote answered; anything else goes back to the server (PLCIO_ENOTFOUND)
 * and its banks.
 *
 * One event-loop client per remote URL, on the server's own loop (as the
 * gateway, mb_gateway.c): requests are submitted, the client is driven
 * through plcio_modbus_client_wants / _process, answers come back through
 * its done callback. A fetch (a remote read) carries the list of client
 * requests waiting for it; a read that arrives while a fetch covering it is
 * on its way joins that list instead of asking again. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"
#include "plcio/bytes.h"

#define BK_MAX_RANGES  64
#define BK_MAX_WAITING 4096u /* client requests waiting for remotes, all ranges; beyond: "server busy" */

typedef struct bk_remote bk_remote;
typedef struct mb_backing mb_backing;

typedef struct bk_range {
    int unit; /* 0..255 or PLCIO_MODBUS_ANY_UNIT */
    plcio_modbus_area area;
    uint16_t start;
    uint32_t count;
    int32_t offset;
    uint64_t max_age_ns;
    bool write_through;
    bk_remote *remote;
    uint16_t *vals;     /* registers, or bits as 0/1 */
    uint64_t *fetched;  /* when each value's fetch was sent (loop ns); 0: not cached */
    uint64_t write_seq; /* writes sent so far: a fetch that crossed one does not cache */
    plcio_modbus_backing_stats st;
} bk_range;

/* A client request waiting for a remote answer. */
typedef struct bk_waiter {
    struct bk_waiter *next;
    mb_fwd_origin o;
    uint8_t fc;
    uint16_t addr, n;
} bk_waiter;

/* A request on its way to a remote: a fetch or a write. */
typedef struct bk_op {
    plcio_modbus_request r;
    mb_backing *b;
    bk_range *rg;
    bool write;
    uint16_t addr, n;   /* fetch: local addresses fetched; write: local addresses written */
    uint64_t sent_ns;   /* when submitted */
    uint64_t write_seq; /* the range's write_seq when submitted */
    bk_waiter *waiters; /* fetch: every read waiting; write: its one client */
    uint16_t regs[PLCIO_MB_MAX_READ_REGISTERS];
    uint8_t bits[PLCIO_MB_MAX_READ_BITS];
    uint8_t pdu[PLCIO_MB_MAX_PDU], resp[PLCIO_MB_MAX_PDU];
    struct bk_op *prev, *next;
} bk_op;

struct bk_remote {
    mb_backing *b;
    char *url;
    plcio_modbus_client *c;
    plcio_loop_watch watch;
    uint64_t next_connect_ns, reconnect_ns;
    bool in_pump, again;
};

struct mb_backing {
    plcio_modbus_server *s;
    plcio_loop *loop;
    bk_range *ranges[BK_MAX_RANGES];
    size_t nranges;
    bk_remote *remotes[BK_MAX_RANGES];
    size_t nremotes;
    bk_op *ops; /* on their way */
    unsigned waiting;
};

void plcio_modbus_backing_options_init(plcio_modbus_backing_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

static bool area_is_bits(plcio_modbus_area a) { return a == PLCIO_MODBUS_COILS || a == PLCIO_MODBUS_DISCRETE_INPUTS; }

/* ===========================================================================
 * Answers
 * ========================================================================= */

static void reply(mb_backing *b, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    if (mb_server_forward_reply(b->s, o, pdu, len) != PLCIO_OK)
        log_msg(&b->s->logger, PLCIO_LOG_DEBUG, "modbus", "backed range: the client left before its answer");
}

static void reply_exception(mb_backing *b, const mb_fwd_origin *o, uint8_t fc, uint8_t code)
{
    uint8_t pdu[2] = {(uint8_t)(fc | 0x80), code};
    reply(b, o, pdu, sizeof pdu);
}

/* A read answered from the range's values (AP 6.1-6.4 answer layout). */
static void reply_values(mb_backing *b, const bk_range *rg, const bk_waiter *w)
{
    uint8_t pdu[PLCIO_MB_MAX_PDU];
    const uint16_t *v = rg->vals + (w->addr - rg->start);
    size_t len;
    pdu[0] = w->fc;
    if (area_is_bits(rg->area)) {
        size_t bytes = ((size_t)w->n + 7) / 8;
        memset(pdu + 2, 0, bytes);
        for (size_t i = 0; i < w->n; i++)
            if (v[i]) pdu[2 + i / 8] |= (uint8_t)(1u << (i % 8));
        pdu[1] = (uint8_t)bytes;
        len = 2 + bytes;
    } else {
        for (size_t i = 0; i < w->n; i++)
            plcio_put_u16be(pdu + 2 + 2 * i, v[i]);
        pdu[1] = (uint8_t)(2 * w->n);
        len = 2 + 2 * (size_t)w->n;
    }
    reply(b, &w->o, pdu, len);
}

/* The exception a failed remote request becomes (see plcio/modbus.h). */
static uint8_t failure_code(int result)
{
    switch (result) {
    case PLCIO_ETIMEDOUT:
    case PLCIO_ECRC:
    case PLCIO_EPROTO: return PLCIO_MB_EX_GATEWAY_TARGET_FAILED;
    default: return PLCIO_MB_EX_GATEWAY_PATH_UNAVAILABLE;
    }
}

static void op_unlink(mb_backing *b, bk_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        b->ops = op->next;
    if (op->next) op->next->prev = op->prev;
}

static void waiters_free(mb_backing *b, bk_waiter *w)
{
    while (w) {
        bk_waiter *next = w->next;
        if (b->waiting) b->waiting--;
        free(w);
        w = next;
    }
}

/* A fetch is done: cache what came, answer everyone waiting. */
static void fetch_done(bk_op *op, int result)
{
    mb_backing *b = op->b;
    bk_range *rg = op->rg;
    if (result == PLCIO_OK) {
        bool keep = rg->write_seq == op->write_seq; /* a write crossed it: answer with it, do not cache */
        for (size_t i = 0; i < op->n; i++) {
            size_t k = (size_t)(op->addr - rg->start) + i;
            rg->vals[k] = area_is_bits(rg->area) ? op->bits[i] : op->regs[i];
            rg->fetched[k] = keep ? (op->sent_ns ? op->sent_ns : 1) : 0;
        }
    } else if (result == PLCIO_EMBEXC) {
        rg->st.exceptions++;
    } else {
        rg->st.failures++;
        log_msg(&b->s->logger, PLCIO_LOG_WARN, "modbus", "backed range %u+%u: %s: %s", rg->start, (unsigned)rg->count,
                rg->remote->url, plcio_strerror(result));
    }
    for (bk_waiter *w = op->waiters; w; w = w->next) {
        if (result == PLCIO_OK)
            reply_values(b, rg, w);
        else if (result == PLCIO_EMBEXC)
            reply_exception(b, &w->o, w->fc, op->r.exception);
        else
            reply_exception(b, &w->o, w->fc, failure_code(result));
    }
}

/* A write is done: pass on the remote's answer. */
static void write_done(bk_op *op, int result)
{
    mb_backing *b = op->b;
    bk_range *rg = op->rg;
    for (size_t i = 0; i < op->n; i++) /* whatever happened, the cache no longer knows these */
        rg->fetched[(size_t)(op->addr - rg->start) + i] = 0;
    rg->write_seq++;
    bk_waiter *w = op->waiters;
    if (!w) return;
    if ((result == PLCIO_OK || result == PLCIO_EMBEXC) && op->r.resp_len) {
        if (result == PLCIO_EMBEXC) rg->st.exceptions++;
        bool echo = result == PLCIO_OK && op->resp[0] != 23 && op->r.resp_len >= 3;
        if (echo) /* FC 5, 6, 15, 16, 22 echo the address: the client's, not the remote's */
            plcio_put_u16be(op->resp + 1, (uint16_t)(plcio_get_u16be(op->resp + 1) - rg->offset));
        reply(b, &w->o, op->resp, op->r.resp_len);
        return;
    }
    rg->st.failures++;
    log_msg(&b->s->logger, PLCIO_LOG_WARN, "modbus", "backed range %u+%u: write to %s: %s", rg->start,
            (unsigned)rg->count, rg->remote->url, plcio_strerror(result));
    reply_exception(b, &w->o, w->fc, failure_code(result == PLCIO_OK ? PLCIO_EPROTO : result));
}

static void op_finish(bk_op *op, int result)
{
    mb_backing *b = op->b;
    if (op->write)
        write_done(op, result);
    else
        fetch_done(op, result);
    op_unlink(b, op);
    waiters_free(b, op->waiters);
    free(op);
}

/* ===========================================================================
 * Remotes
 * ========================================================================= */

static void on_done(void *ctx, plcio_modbus_client *c, plcio_modbus_request *r)
{
    (void)c;
    bk_op *op = ctx;
    op_finish(op, r->result);
}

static void rewatch(bk_remote *rm)
{
    uint64_t deadline = 0;
    unsigned want = plcio_modbus_client_wants(rm->c, &deadline);
    unsigned ev = ((want & PLCIO_MODBUS_WANT_READ) ? PLCIO_IO_READ : 0u) |
                  ((want & PLCIO_MODBUS_WANT_WRITE) ? PLCIO_IO_WRITE : 0u);
    plcio_loop_watch_set(&rm->watch, plcio_modbus_client_fd(rm->c), ev, deadline);
}

/* Process until nothing changes; then watch what the client wants. */
static void pump(bk_remote *rm)
{
    if (rm->in_pump) {
        rm->again = true;
        return;
    }
    rm->in_pump = true;
    do {
        rm->again = false;
        if (plcio_modbus_client_fd(rm->c) >= 0 && plcio_modbus_client_process(rm->c) != PLCIO_OK) {
            log_msg(&rm->b->s->logger, PLCIO_LOG_WARN, "modbus", "backed range: %s",
                    plcio_modbus_client_last_error(rm->c)->text);
            plcio_loop_watch_set(&rm->watch, -1, 0, 0); /* the fd number may come back reused */
        }
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

/* Send op to its remote (opening the link first when it is closed, at most
 * once per reconnect_ms); on failure op is finished with the error. */
static void op_submit(bk_op *op)
{
    mb_backing *b = op->b;
    bk_remote *rm = op->rg->remote;
    op->sent_ns = plcio_loop_now(b->loop);
    op->write_seq = op->rg->write_seq;
    op->next = b->ops;
    if (b->ops) b->ops->prev = op;
    b->ops = op;
    int rc = PLCIO_OK;
    if (plcio_modbus_client_fd(rm->c) < 0) {
        if (op->sent_ns < rm->next_connect_ns) {
            op_finish(op, PLCIO_ECLOSED);
            return;
        }
        rm->next_connect_ns = op->sent_ns + rm->reconnect_ns;
        plcio_loop_watch_set(&rm->watch, -1, 0, rm->watch.deadline);
        rc = plcio_modbus_client_connect_async(rm->c);
        if (rc != PLCIO_OK)
            log_msg(&b->s->logger, PLCIO_LOG_WARN, "modbus", "backed range: %s",
                    plcio_modbus_client_last_error(rm->c)->text);
    }
    if (rc == PLCIO_OK) rc = plcio_modbus_submit(rm->c, &op->r, on_done, op);
    if (rc != PLCIO_OK) {
        op_finish(op, rc);
        return;
    }
    if (op->write)
        op->rg->st.writes++;
    else
        op->rg->st.fetches++;
    pump(rm);
}

/* ===========================================================================
 * Requests (the server's forwarding hook)
 * ========================================================================= */

/* What a request touches: table, addresses, and for FC 23 the written ones too. */
typedef struct bk_req {
    plcio_modbus_area area;
    uint16_t addr, n;       /* read, or written */
    uint16_t waddr, wn;     /* FC 23: the written part */
    bool read, write, both; /* both: FC 23 */
} bk_req;

/* False when the PDU is not one handled here or malformed (the server then
 * answers it: its own checks give 01/03). */
static bool parse(const uint8_t *pdu, size_t len, bk_req *q)
{
    memset(q, 0, sizeof *q);
    if (len < 5) return false;
    q->addr = plcio_get_u16be(pdu + 1);
    uint16_t v = plcio_get_u16be(pdu + 3);
    switch (pdu[0]) {
    case 1:
    case 2:
        q->area = pdu[0] == 1 ? PLCIO_MODBUS_COILS : PLCIO_MODBUS_DISCRETE_INPUTS;
        q->n = v;
        q->read = true;
        return len == 5 && v >= 1 && v <= PLCIO_MB_MAX_READ_BITS;
    case 3:
    case 4:
        q->area = pdu[0] == 3 ? PLCIO_MODBUS_HOLDING_REGISTERS : PLCIO_MODBUS_INPUT_REGISTERS;
        q->n = v;
        q->read = true;
        return len == 5 && v >= 1 && v <= PLCIO_MB_MAX_READ_REGISTERS;
    case 5:
    case 6:
        q->area = pdu[0] == 5 ? PLCIO_MODBUS_COILS : PLCIO_MODBUS_HOLDING_REGISTERS;
        q->n = 1;
        q->write = true;
        return len == 5;
    case 15:
    case 16:
        q->area = pdu[0] == 15 ? PLCIO_MODBUS_COILS : PLCIO_MODBUS_HOLDING_REGISTERS;
        q->n = v;
        q->write = true;
        return len >= 6 && v >= 1 && v <= (pdu[0] == 15 ? PLCIO_MB_MAX_WRITE_BITS : PLCIO_MB_MAX_WRITE_REGISTERS) &&
               len == 6u + pdu[5] && pdu[5] == (pdu[0] == 15 ? (v + 7) / 8 : 2 * v);
    case 22:
        q->area = PLCIO_MODBUS_HOLDING_REGISTERS;
        q->n = 1;
        q->write = true;
        return len == 7;
    case 23:
        if (len < 10) return false;
        q->area = PLCIO_MODBUS_HOLDING_REGISTERS;
        q->n = v;
        q->waddr = plcio_get_u16be(pdu + 5);
        q->wn = plcio_get_u16be(pdu + 7);
        q->read = q->write = q->both = true;
        return v >= 1 && v <= PLCIO_MB_MAX_RW_READ_REGISTERS && q->wn >= 1 &&
               q->wn <= PLCIO_MB_MAX_RW_WRITE_REGISTERS && len == 10u + pdu[9] && pdu[9] == 2 * q->wn;
    default: return false;
    }
}

static bool unit_matches(const bk_range *rg, uint8_t unit)
{
    return rg->unit == PLCIO_MODBUS_ANY_UNIT || rg->unit == unit;
}

/* The backed range holding all of [addr, addr + n); *partly when a range
 * holds only some of it. */
static bk_range *find_range(mb_backing *b, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n,
                            bool *partly)
{
    uint32_t end = (uint32_t)addr + n;
    for (size_t i = 0; i < b->nranges; i++) {
        bk_range *rg = b->ranges[i];
        if (rg->area != area || !unit_matches(rg, unit)) continue;
        uint32_t rend = rg->start + rg->count;
        if (addr >= rg->start && end <= rend) return rg;
        if (addr < rend && rg->start < end) *partly = true;
    }
    return NULL;
}

static bool fresh(const mb_backing *b, const bk_range *rg, uint16_t addr, uint16_t n)
{
    if (!rg->max_age_ns) return false;
    uint64_t now = plcio_loop_now(b->loop);
    for (size_t i = 0; i < n; i++) {
        uint64_t t = rg->fetched[(size_t)(addr - rg->start) + i];
        if (!t || now - t >= rg->max_age_ns) return false;
    }
    return true;
}

static bk_waiter *waiter_new(mb_backing *b, const mb_fwd_origin *o, uint8_t fc, uint16_t addr, uint16_t n)
{
    if (b->waiting >= BK_MAX_WAITING) return NULL;
    bk_waiter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->o = *o;
    w->fc = fc;
    w->addr = addr;
    w->n = n;
    b->waiting++;
    return w;
}

static int take_read(mb_backing *b, bk_range *rg, const mb_fwd_origin *o, uint8_t fc, uint16_t addr, uint16_t n)
{
    rg->st.reads++;
    if (fresh(b, rg, addr, n)) {
        rg->st.cache_hits++;
        bk_waiter w = {.o = *o, .fc = fc, .addr = addr, .n = n};
        reply_values(b, rg, &w);
        return PLCIO_OK;
    }
    for (bk_op *op = b->ops; op; op = op->next) /* a fetch already on its way answers this one too */
        if (!op->write && op->rg == rg && op->write_seq == rg->write_seq && addr >= op->addr &&
            (uint32_t)addr + n <= (uint32_t)op->addr + op->n) {
            bk_waiter *w = waiter_new(b, o, fc, addr, n);
            if (!w) return PLCIO_ELIMIT;
            w->next = op->waiters;
            op->waiters = w;
            rg->st.coalesced++;
            return PLCIO_OK;
        }
    bk_op *op = calloc(1, sizeof *op);
    bk_waiter *w = op ? waiter_new(b, o, fc, addr, n) : NULL;
    if (!w) {
        free(op);
        return PLCIO_ELIMIT;
    }
    op->b = b;
    op->rg = rg;
    op->waiters = w;
    uint32_t max = area_is_bits(rg->area) ? PLCIO_MB_MAX_READ_BITS : PLCIO_MB_MAX_READ_REGISTERS;
    op->addr = rg->count <= max ? rg->start : addr; /* the whole range when one request can carry it */
    op->n = (uint16_t)(rg->count <= max ? rg->count : n);
    op->r.unit = PLCIO_MODBUS_UNIT_DEFAULT;
    op->r.function = fc;
    op->r.addr = (uint16_t)(op->addr + rg->offset);
    op->r.n = op->n;
    op->r.regs = op->regs;
    op->r.bits = op->bits;
    op_submit(op);
    return PLCIO_OK;
}

static int take_write(mb_backing *b, bk_range *rg, const mb_fwd_origin *o, const uint8_t *pdu, size_t len,
                      const bk_req *q)
{
    if (!rg->write_through) {
        reply_exception(b, o, pdu[0], PLCIO_MB_EX_ILLEGAL_FUNCTION);
        return PLCIO_OK;
    }
    bk_op *op = calloc(1, sizeof *op);
    bk_waiter *w = op ? waiter_new(b, o, pdu[0], 0, 0) : NULL;
    if (!w) {
        free(op);
        return PLCIO_ELIMIT;
    }
    op->b = b;
    op->rg = rg;
    op->write = true;
    op->waiters = w;
    op->addr = q->both ? q->waddr : q->addr;
    op->n = q->both ? q->wn : q->n;
    memcpy(op->pdu, pdu, len);
    plcio_put_u16be(op->pdu + 1, (uint16_t)(q->addr + rg->offset)); /* the remote's addresses */
    if (q->both) plcio_put_u16be(op->pdu + 5, (uint16_t)(q->waddr + rg->offset));
    for (size_t i = 0; i < op->n; i++) /* a read that follows asks the remote */
        rg->fetched[(size_t)(op->addr - rg->start) + i] = 0;
    op->r.unit = PLCIO_MODBUS_UNIT_DEFAULT;
    op->r.function = 0;
    op->r.pdu = op->pdu;
    op->r.pdu_len = len;
    op->r.resp = op->resp;
    op_submit(op);
    return PLCIO_OK;
}

static int bk_forward(void *ctx, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    mb_backing *b = ctx;
    bk_req q;
    if (!parse(pdu, len, &q)) return PLCIO_ENOTFOUND;
    bool partly = false;
    bk_range *rg = find_range(b, o->unit, q.area, q.addr, q.n, &partly);
    if (q.both) { /* FC 23: both parts in the same backed range, or neither */
        bk_range *wr = find_range(b, o->unit, q.area, q.waddr, q.wn, &partly);
        if (rg != wr) partly = true;
    }
    if (partly) {
        reply_exception(b, o, pdu[0], PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS);
        return PLCIO_OK;
    }
    if (!rg) return PLCIO_ENOTFOUND;
    mb_server_count_bus_message(b->s);
    int rc = q.write ? take_write(b, rg, o, pdu, len, &q) : take_read(b, rg, o, pdu[0], q.addr, q.n);
    if (rc != PLCIO_OK) reply_exception(b, o, pdu[0], PLCIO_MB_EX_SERVER_DEVICE_BUSY);
    return PLCIO_OK;
}

/* ===========================================================================
 * Set-up
 * ========================================================================= */

static void remote_free(bk_remote *rm)
{
    if (!rm) return;
    plcio_loop_watch_clear(&rm->watch);
    plcio_modbus_client_free(rm->c); /* requests in flight forgotten without callbacks */
    free(rm->url);
    free(rm);
}

void mb_backing_free(plcio_modbus_server *s)
{
    mb_backing *b = s ? s->backing : NULL;
    if (!b) return;
    for (size_t i = 0; i < b->nremotes; i++)
        remote_free(b->remotes[i]);
    for (bk_op *op = b->ops, *next; op; op = next) { /* their clients get no answer: the server goes away */
        next = op->next;
        waiters_free(b, op->waiters);
        free(op);
    }
    b->ops = NULL;
    for (size_t i = 0; i < b->nranges; i++) {
        free(b->ranges[i]->vals);
        free(b->ranges[i]->fetched);
        free(b->ranges[i]);
    }
    free(b);
    s->backing = NULL;
}

static int remote_get(mb_backing *b, const char *url, unsigned reconnect_ms, bk_remote **out, plcio_error *err)
{
    for (size_t i = 0; i < b->nremotes; i++)
        if (!strcmp(b->remotes[i]->url, url)) {
            *out = b->remotes[i];
            return PLCIO_OK;
        }
    bk_remote *rm = calloc(1, sizeof *rm);
    if (!rm) return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
    rm->b = b;
    rm->url = strdup(url);
    rm->reconnect_ns = (uint64_t)(reconnect_ms ? reconnect_ms : 500) * PLCIO_NS_PER_MS;
    plcio_modbus_client_options co;
    plcio_modbus_client_options_init(&co);
    co.logger = b->s->logger;
    int rc = rm->url ? plcio_modbus_client_new(url, &co, &rm->c, err) : PLCIO_ENOMEM;
    plcio_modbus_client_settings set;
    if (rc == PLCIO_OK) rc = plcio_modbus_client_get_settings(rm->c, &set);
    if (rc == PLCIO_OK) rc = plcio_modbus_client_set_depth(rm->c, strcmp(set.framing, "mbap") ? 1u : 8u);
    if (rc != PLCIO_OK) {
        if (err && err->code == PLCIO_OK) plcio_error_set(err, rc, "backed range: %s: %s", url, plcio_strerror(rc));
        plcio_modbus_client_free(rm->c);
        free(rm->url);
        free(rm);
        return rc;
    }
    plcio_loop_watch_init(&rm->watch, b->loop, on_io, on_timer, rm);
    b->remotes[b->nremotes++] = rm;
    *out = rm;
    return PLCIO_OK;
}

static int check_args(const plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t start, uint32_t count,
                      const char *url, const plcio_modbus_backing_options *o, plcio_error *err)
{
    if (!s || !url) return plcio_error_set(err, PLCIO_EINVAL, "backed range: no server or URL");
    if (unit != PLCIO_MODBUS_ANY_UNIT && (unit < 0 || unit > 255))
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: unit %d is not 0..255", unit);
    if (area != PLCIO_MODBUS_COILS && area != PLCIO_MODBUS_DISCRETE_INPUTS && area != PLCIO_MODBUS_INPUT_REGISTERS &&
        area != PLCIO_MODBUS_HOLDING_REGISTERS)
        return plcio_error_set(err, PLCIO_EINVAL, "backed range: %d is not a Modbus table", (int)area);
    if (count == 0 || (uint32_t)start + count > 65536)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: %u addresses from %u do not fit in 0..65535",
                               (unsigned)count, start);
    int64_t rs = (int64_t)start + o->remote_offset;
    if (rs < 0 || rs + count > 65536)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: remote addresses %lld..%lld are not in 0..65535",
                               (long long)rs, (long long)(rs + count - 1));
    if (o->max_age_ms > PLCIO_MODBUS_TIMEOUT_MAX_MS)
        return plcio_error_set(err, PLCIO_ERANGE, "backed range: max age %u ms is above 24 h", o->max_age_ms);
    if (s->forward && !s->backing)
        return plcio_error_set(err, PLCIO_EBUSY, "backed range: this server forwards its requests elsewhere already");
    if (mb_server_has_serial(s))
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "backed range: the server has a serial line, which cannot wait for a remote device");
    const mb_backing *b = s->backing;
    for (size_t i = 0; b && i < b->nranges; i++) {
        const bk_range *rg = b->ranges[i];
        bool units = rg->unit == unit || rg->unit == PLCIO_MODBUS_ANY_UNIT || unit == PLCIO_MODBUS_ANY_UNIT;
        if (units && rg->area == area && start < rg->start + rg->count && rg->start < start + count)
            return plcio_error_set(err, PLCIO_EEXIST, "backed range: %u+%u overlaps the backed range %u+%u", start,
                                   (unsigned)count, rg->start, (unsigned)rg->count);
    }
    if (b && b->nranges == BK_MAX_RANGES)
        return plcio_error_set(err, PLCIO_ELIMIT, "backed range: at most %d ranges", BK_MAX_RANGES);
    return PLCIO_OK;
}

int plcio_modbus_server_back_range(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t start,
                                   uint32_t count, const char *url, const plcio_modbus_backing_options *opts,
                                   plcio_error *err)
{
    plcio_modbus_backing_options o;
    plcio_modbus_backing_options_init(&o);
    if (opts) o = *opts;
    int rc = check_args(s, unit, area, start, count, url, &o, err);
    if (rc != PLCIO_OK) return rc;
    if (!s->backing) {
        mb_backing *b = calloc(1, sizeof *b);
        plcio_loop *loop = b ? mb_server_loop(s) : NULL;
        if (!loop) {
            free(b);
            return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
        }
        b->s = s;
        b->loop = loop;
        s->backing = b;
        s->forward = bk_forward;
        s->forward_ctx = b;
    }
    mb_backing *b = s->backing;
    bk_range *rg = calloc(1, sizeof *rg);
    if (rg) {
        rg->vals = calloc(count, sizeof *rg->vals);
        rg->fetched = calloc(count, sizeof *rg->fetched);
    }
    if (!rg || !rg->vals || !rg->fetched) {
        if (rg) {
            free(rg->vals);
            free(rg->fetched);
        }
        free(rg);
        return plcio_error_set(err, PLCIO_ENOMEM, "backed range: out of memory");
    }
    rc = remote_get(b, url, o.reconnect_ms, &rg->remote, err);
    if (rc != PLCIO_OK) {
        free(rg->vals);
        free(rg->fetched);
        free(rg);
        return rc;
    }
    rg->unit = unit;
    rg->area = area;
    rg->start = start;
    rg->count = count;
    rg->offset = o.remote_offset;
    rg->max_age_ns = (uint64_t)o.max_age_ms * PLCIO_NS_PER_MS;
    rg->write_through = o.write_through;
    b->ranges[b->nranges++] = rg;
    return PLCIO_OK;
}

int plcio_modbus_server_backing_stats(const plcio_modbus_server *s, size_t index, plcio_modbus_backing_stats *out)
{
    if (!s || !out) return PLCIO_EINVAL;
    if (!s->backing || index >= s->backing->nranges) return PLCIO_ENOTFOUND;
    *out = s->backing->ranges[index]->st;
    return PLCIO_OK;
}
