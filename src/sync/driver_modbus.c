/* The sync engine's Modbus driver (Modbus TCP, MBAP framing): one mb_session
 * per device on the engine's event loop, several requests in flight matched by
 * transaction id. A group's read plan is made once: tags of the same table whose
 * registers (bits) are close share one request, within the protocol's limits.
 *
 * Shared memory holds every tag the way an S7 PLC would: big-endian bytes
 * (ABCD). Registers read in another word/byte order are turned into ABCD on the
 * way in and back on the way out; coils and discrete inputs are one byte, 0/1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modbus/mb_session.h"
#include "net/net.h"
#include "sync/sync_internal.h"

#define MERGE_GAP_REGS 8u
#define MAX_READ_REGS 125u  /* AP 6.3: FC3/FC4 read at most 125 registers */
#define MAX_READ_BITS 2000u /* AP 6.1: FC1/FC2 read at most 2000 bits */
#define WINDOW 8u
#define MAX_TAG_BYTES 250u /* 125 registers: the most one read request carries */

typedef struct mb_read {
    plcio_mb_table table;
    uint16_t addr, qty;
    uint8_t *data;  /* registers: 2 * qty bytes, big-endian; bits: one byte per bit */
} mb_read;

typedef struct mb_plan {
    mb_read *reads;
    size_t nreads;
    size_t *read_of;    /* per tag */
    uint8_t *buf;
    size_t bytes;
    size_t outstanding; /* requests of the running cycle */
    int first_err;
} mb_plan;

typedef struct mb_drv {
    sync_device *dev;
    mb_url_config cfg;
    mb_session *session;
    int fd;
    bool connecting;
    unsigned watched;
    uint64_t timer, timer_deadline;
} mb_drv;

/* ---- byte order: device order <-> ABCD (an involution: the same both ways) ---- */

static void to_abcd(uint8_t *b, size_t n, plcio_mb_order order)
{
    bool byte_swap = order == PLCIO_MB_BADC || order == PLCIO_MB_DCBA;
    bool word_swap = (order == PLCIO_MB_CDAB || order == PLCIO_MB_DCBA) && n > 2;
    if (byte_swap)
        for (size_t i = 0; i + 1 < n; i += 2) {
            uint8_t t = b[i];
            b[i] = b[i + 1];
            b[i + 1] = t;
        }
    if (word_swap)
        for (size_t i = 0, j = n - 2; i < j; i += 2, j -= 2) {
            uint8_t t0 = b[i], t1 = b[i + 1];
            b[i] = b[j];
            b[i + 1] = b[j + 1];
            b[j] = t0;
            b[j + 1] = t1;
        }
}

static bool bit_table(plcio_mb_table t) { return t == PLCIO_MB_TABLE_COIL || t == PLCIO_MB_TABLE_DISCRETE_INPUT; }

/* ---- I/O ---- */

static void pump(mb_drv *drv);

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

static void on_deadline(plcio_loop *loop, void *ctx)
{
    mb_drv *drv = ctx;
    (void)loop;
    drv->timer = 0;
    drv->timer_deadline = 0;
    pump(drv);
}

static void answer(void *ctx, uint32_t token, int result, const plcio_mb_pdu *resp, const uint8_t *raw, size_t len);

static void rewatch(mb_drv *drv)
{
    plcio_loop *loop = sync_loop(drv->dev);
    if (drv->fd >= 0) {
        size_t n = 0;
        bool want_write = drv->connecting || mb_session_next_tx(drv->session, &n) != NULL;
        unsigned ev = PLCIO_IO_READ | (want_write ? PLCIO_IO_WRITE : 0u);
        if (!drv->watched) {
            if (plcio_loop_add(loop, drv->fd, ev, on_io, drv) == PLCIO_OK) drv->watched = ev;
        } else if (ev != drv->watched) {
            plcio_loop_mod(loop, drv->fd, ev);
            drv->watched = ev;
        }
    }
    uint64_t deadline = mb_session_next_deadline(drv->session);
    if (deadline != drv->timer_deadline) {
        if (drv->timer) plcio_loop_timer_cancel(loop, drv->timer);
        drv->timer = deadline ? plcio_loop_timer_add(loop, deadline, on_deadline, drv) : 0;
        drv->timer_deadline = deadline;
    }
}

static void close_socket(mb_drv *drv)
{
    if (drv->fd < 0) return;
    if (drv->watched) plcio_loop_del(sync_loop(drv->dev), drv->fd);
    drv->watched = 0;
    plcio_net_close(drv->fd);
    drv->fd = -1;
    drv->connecting = false;
}

static void fail(mb_drv *drv, int err, const char *what)
{
    char msg[300];
    snprintf(msg, sizeof msg, "%s %s:%d: %s", what, drv->cfg.link.host, drv->cfg.link.port, plcio_strerror(err));
    close_socket(drv);
    mb_session_reset(drv->session, err, answer, drv); /* every request ends: reads and writes report it */
    rewatch(drv);
    sync_device_down(drv->dev, err, msg);
}

static void pump(mb_drv *drv)
{
    uint64_t now = plcio_monotonic_ns();
    if (drv->fd < 0) return;
    if (drv->connecting) {
        if (plcio_net_wait(drv->fd, true, 0) != PLCIO_OK) {
            rewatch(drv);
            return;
        }
        int rc = plcio_net_tcp_connect_finish(drv->fd);
        if (rc != PLCIO_OK) {
            fail(drv, rc, "connect to");
            return;
        }
        drv->connecting = false;
        sync_device_up(drv->dev);
        if (drv->fd < 0) return;
    }
    for (;;) {
        uint8_t buf[4096];
        size_t got = 0;
        int rc = plcio_net_recv_some(drv->fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_EAGAIN) break;
        if (rc == PLCIO_OK) rc = mb_session_feed(drv->session, buf, got, now, answer, drv);
        if (rc != PLCIO_OK) {
            fail(drv, rc, "connection to");
            return;
        }
        if (drv->fd < 0) return;
    }
    mb_session_on_timeout(drv->session, now, answer, drv);
    size_t n;
    const uint8_t *tx;
    while (drv->fd >= 0 && (tx = mb_session_next_tx(drv->session, &n)) != NULL) {
        size_t sent = 0;
        int rc = plcio_net_send_all(drv->fd, tx, n, plcio_net_deadline(1000), &sent);
        if (rc != PLCIO_OK) {
            fail(drv, rc, "send to");
            return;
        }
        mb_session_sent(drv->session, now, answer, drv);
    }
    rewatch(drv);
}

/* ---- requests and answers ----
 * Tokens are the session's; the request's context rides in a small table. */

typedef struct pending {
    uint32_t token;
    sync_group *group; /* a read of group->plan->reads[read], or */
    size_t read;
    sync_write *write; /* a write */
    bool used;
} pending;

#define MAX_PENDING MB_SESSION_QUEUE
static pending *find_pending(pending *tab, uint32_t token)
{
    for (size_t i = 0; i < MAX_PENDING; i++)
        if (tab[i].used && tab[i].token == token) return &tab[i];
    return NULL;
}

/* The session's callbacks get the mb_drv pointer; drv is the first member, so it
 * is also the mb_state pointer. */
typedef struct mb_state {
    mb_drv drv;
    pending table[MAX_PENDING];
} mb_state;

static pending *new_pending(mb_state *st)
{
    for (size_t i = 0; i < MAX_PENDING; i++)
        if (!st->table[i].used) {
            memset(&st->table[i], 0, sizeof st->table[i]);
            st->table[i].used = true;
            return &st->table[i];
        }
    return NULL;
}

static void read_answer(sync_group *g, size_t r, int result, const plcio_mb_pdu *resp)
{
    mb_plan *p = g->plan;
    mb_read *rd = &p->reads[r];
    if (result == PLCIO_OK && resp) {
        if (bit_table(rd->table)) {
            for (uint16_t i = 0; i < rd->qty; i++)
                rd->data[i] = (uint8_t)(i / 8 < resp->data_len ? (resp->data[i / 8] >> (i % 8)) & 1u : 0u);
        } else if (resp->data_len >= 2u * rd->qty) {
            memcpy(rd->data, resp->data, 2u * rd->qty);
        } else {
            result = PLCIO_EPROTO;
        }
    }
    for (size_t i = 0; i < g->tag_count; i++) {
        if (p->read_of[i] != r) continue;
        sync_tag *t = g->tags[i];
        if (result != PLCIO_OK) {
            sync_tag_error(t, result);
            continue;
        }
        uint8_t raw[MAX_TAG_BYTES];
        if (bit_table(rd->table)) {
            raw[0] = rd->data[t->at.mb.address - rd->addr];
        } else {
            size_t off = 2u * (size_t)(t->at.mb.address - rd->addr);
            if (t->size > sizeof raw) {
                sync_tag_error(t, PLCIO_ERANGE);
                continue;
            }
            memcpy(raw, rd->data + off, t->size);
            if (t->type != PLCIO_TYPE_STRING) to_abcd(raw, t->size, t->at.mb.order);
        }
        sync_tag_value(t, raw, t->size);
    }
    if (result != PLCIO_OK && p->first_err == PLCIO_OK) p->first_err = result;
    if (p->outstanding && --p->outstanding == 0) {
        int err = p->first_err;
        sync_group_done(g, err == PLCIO_EMBEXC ? PLCIO_OK : err, p->nreads, err ? 0 : p->bytes);
    }
}

static void answer(void *ctx, uint32_t token, int result, const plcio_mb_pdu *resp, const uint8_t *raw, size_t len)
{
    (void)raw;
    (void)len;
    mb_state *st = ctx;
    pending *pd = find_pending(st->table, token);
    if (!pd) return;
    pending copy = *pd;
    pd->used = false;
    if (copy.group) {
        read_answer(copy.group, copy.read, result, resp);
    } else if (copy.write) {
        char msg[200] = "";
        if (result == PLCIO_EMBEXC && resp)
            snprintf(msg, sizeof msg, "exception %u: %s", resp->exception, plcio_mb_exception_text(resp->exception));
        else if (result == PLCIO_ECLOSED || result == PLCIO_ETIMEDOUT)
            snprintf(msg, sizeof msg, "%s before the device answered: the write may or may not have happened",
                     plcio_strerror(result));
        sync_write_done(copy.write, result, msg);
    }
}

static int submit(mb_state *st, const plcio_mb_pdu *req, sync_group *g, size_t read, sync_write *w)
{
    pending *pd = new_pending(st);
    if (!pd) return PLCIO_ELIMIT;
    uint64_t timeout = (uint64_t)(st->drv.cfg.timeout_ms > 0 ? st->drv.cfg.timeout_ms : 1000) * PLCIO_NS_PER_MS;
    int rc = mb_session_submit(st->drv.session, st->drv.cfg.unit, req, plcio_monotonic_ns() + timeout, &pd->token);
    if (rc != PLCIO_OK) {
        pd->used = false;
        return rc;
    }
    pd->group = g;
    pd->read = read;
    pd->write = w;
    return PLCIO_OK;
}

/* ---- driver operations ---- */

static int mbd_open(sync_device *d, const plcio_url *url, char *err, size_t cap)
{
    (void)url;
    mb_state *st = calloc(1, sizeof *st);
    if (!st) return PLCIO_ENOMEM;
    int rc = mb_url_parse(d->url, false, &st->drv.cfg);
    if (rc != PLCIO_OK) {
        snprintf(err, cap, "not a Modbus URL: %s", plcio_strerror(rc));
        free(st);
        return rc;
    }
    if (st->drv.cfg.link.ops != &mb_link_tcp || st->drv.cfg.framing != MB_FRAMING_MBAP) {
        snprintf(err, cap, "the sync engine speaks Modbus TCP (modbus-tcp://) so far; UDP and serial lines are not supported yet");
        free(st);
        return PLCIO_EUNSUPPORTED;
    }
    st->drv.dev = d;
    st->drv.fd = -1;
    st->drv.session = mb_session_new(MB_FRAMING_MBAP, WINDOW);
    if (!st->drv.session) {
        free(st);
        return PLCIO_ENOMEM;
    }
    d->drv = st;
    return PLCIO_OK;
}

static void mbd_close(sync_device *d)
{
    mb_state *st = d->drv;
    close_socket(&st->drv);
    if (st->drv.timer) plcio_loop_timer_cancel(sync_loop(d), st->drv.timer);
    mb_session_reset(st->drv.session, PLCIO_ECANCELED, answer, st);
    mb_session_free(st->drv.session);
    free(st);
    d->drv = NULL;
}

static int mbd_add_tag(sync_device *d, sync_tag *t, const char *address, const plcio_layout_member *m, int db,
                       char *err, size_t cap)
{
    (void)d;
    (void)db;
    if (m) {
        snprintf(err, cap, "layout members are S7 data blocks; give Modbus tags by address (hr100:REAL)");
        return PLCIO_EUNSUPPORTED;
    }
    plcio_mb_address a;
    int rc = plcio_mb_address_parse(address, &a, err, cap);
    if (rc != PLCIO_OK) return rc;
    if (a.count != 1) {
        snprintf(err, cap, "an array address is not one tag: list its elements");
        return PLCIO_EUNSUPPORTED;
    }
    t->at.mb.table = a.table;
    t->at.mb.address = a.address;
    t->at.mb.quantity = (uint16_t)a.quantity;
    t->at.mb.order = a.order;
    t->type = a.type;
    t->length = a.length;
    t->bit = 0;
    t->size = bit_table(a.table) ? 1u : 2u * a.quantity;
    return PLCIO_OK;
}

static void mbd_free_plan(sync_group *g)
{
    mb_plan *p = g->plan;
    if (!p) return;
    free(p->reads);
    free(p->read_of);
    free(p->buf);
    free(p);
    g->plan = NULL;
}

static const sync_group *sort_group;

static int cmp_tag(const void *a, const void *b)
{
    const sync_tag *x = sort_group->tags[*(const size_t *)a], *y = sort_group->tags[*(const size_t *)b];
    if (x->at.mb.table != y->at.mb.table) return x->at.mb.table < y->at.mb.table ? -1 : 1;
    return x->at.mb.address < y->at.mb.address ? -1 : x->at.mb.address > y->at.mb.address;
}

static int mbd_plan(sync_device *d, sync_group *g, char *err, size_t cap)
{
    (void)d;
    size_t n = g->tag_count;
    mb_plan *p = calloc(1, sizeof *p);
    size_t *order = malloc(n * sizeof *order);
    uint32_t *end = malloc(n * sizeof *end);
    if (p) {
        p->reads = calloc(n, sizeof *p->reads);
        p->read_of = malloc(n * sizeof *p->read_of);
    }
    g->plan = p;
    if (!p || !order || !end || !p->reads || !p->read_of) {
        free(order);
        free(end);
        snprintf(err, cap, "out of memory");
        return PLCIO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) order[i] = i;
    sort_group = g;
    qsort(order, n, sizeof *order, cmp_tag);
    for (size_t k = 0; k < n; k++) {
        const sync_tag *t = g->tags[order[k]];
        uint32_t t_end = (uint32_t)t->at.mb.address + t->at.mb.quantity;
        mb_read *last = p->nreads ? &p->reads[p->nreads - 1] : NULL;
        uint32_t limit = bit_table(t->at.mb.table) ? MAX_READ_BITS : MAX_READ_REGS;
        uint32_t new_end = last ? (t_end > end[p->nreads - 1] ? t_end : end[p->nreads - 1]) : 0;
        if (last && last->table == t->at.mb.table && t->at.mb.address <= end[p->nreads - 1] + MERGE_GAP_REGS &&
            new_end - last->addr <= limit) {
            end[p->nreads - 1] = new_end;
        } else {
            p->reads[p->nreads].table = t->at.mb.table;
            p->reads[p->nreads].addr = t->at.mb.address;
            end[p->nreads] = t_end;
            p->nreads++;
        }
        p->read_of[order[k]] = p->nreads - 1;
    }
    size_t total = 0;
    for (size_t r = 0; r < p->nreads; r++) {
        p->reads[r].qty = (uint16_t)(end[r] - p->reads[r].addr);
        total += bit_table(p->reads[r].table) ? p->reads[r].qty : 2u * p->reads[r].qty;
    }
    p->buf = malloc(total ? total : 1);
    if (!p->buf) {
        free(order);
        free(end);
        snprintf(err, cap, "out of memory");
        return PLCIO_ENOMEM;
    }
    size_t off = 0;
    for (size_t r = 0; r < p->nreads; r++) {
        p->reads[r].data = p->buf + off;
        off += bit_table(p->reads[r].table) ? p->reads[r].qty : 2u * p->reads[r].qty;
    }
    p->bytes = total;
    free(order);
    free(end);
    return PLCIO_OK;
}

static void mbd_connect(sync_device *d)
{
    mb_state *st = d->drv;
    mb_drv *drv = &st->drv;
    close_socket(drv);
    int rc = plcio_net_tcp_connect_start(drv->cfg.link.host, drv->cfg.link.port, &drv->fd);
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) {
        drv->fd = -1;
        char msg[300];
        snprintf(msg, sizeof msg, "connect to %s:%d: %s", drv->cfg.link.host, drv->cfg.link.port, plcio_strerror(rc));
        sync_device_down(d, rc, msg);
        return;
    }
    drv->connecting = true;
    pump(drv);
}

static const uint8_t read_fc[] = {[PLCIO_MB_TABLE_COIL] = 1, [PLCIO_MB_TABLE_DISCRETE_INPUT] = 2,
                                  [PLCIO_MB_TABLE_INPUT_REGISTER] = 4, [PLCIO_MB_TABLE_HOLDING_REGISTER] = 3};

static void mbd_read(sync_device *d, sync_group *g)
{
    mb_state *st = d->drv;
    mb_plan *p = g->plan;
    p->outstanding = 0;
    p->first_err = PLCIO_OK;
    for (size_t r = 0; r < p->nreads; r++) {
        plcio_mb_pdu req;
        memset(&req, 0, sizeof req);
        req.fc = read_fc[p->reads[r].table];
        req.addr = p->reads[r].addr;
        req.qty = p->reads[r].qty;
        int rc = submit(st, &req, g, r, NULL);
        if (rc != PLCIO_OK) {
            /* nothing more can be queued: what was queued completes the cycle */
            p->first_err = rc;
            if (p->outstanding == 0) sync_group_done(g, rc, 0, 0);
            break;
        }
        p->outstanding++;
    }
    pump(&st->drv);
}

static void mbd_write(sync_device *d, sync_write *w)
{
    mb_state *st = d->drv;
    const sync_tag *t = w->tag;
    plcio_mb_pdu req;
    memset(&req, 0, sizeof req);
    uint8_t regs[MAX_TAG_BYTES];
    switch (t->at.mb.table) {
    case PLCIO_MB_TABLE_COIL:
        req.fc = 5;
        req.addr = t->at.mb.address;
        req.value = (w->data[0] & 1u) ? 0xFF00 : 0x0000;
        break;
    case PLCIO_MB_TABLE_HOLDING_REGISTER:
        if (w->size > 2u * 123u) { /* AP 6.12: FC16 writes at most 123 registers */
            sync_write_done(w, PLCIO_ERANGE, "value longer than one write request (123 registers)");
            return;
        }
        memcpy(regs, w->data, w->size);
        if (t->type != PLCIO_TYPE_STRING) to_abcd(regs, w->size, t->at.mb.order); /* ABCD -> device order */
        req.fc = 16;
        req.addr = t->at.mb.address;
        req.qty = (uint16_t)(w->size / 2);
        req.data = regs;
        req.data_len = w->size;
        break;
    default:
        sync_write_done(w, PLCIO_EACCESS, "discrete inputs and input registers are read-only");
        return;
    }
    int rc = submit(st, &req, NULL, 0, w);
    if (rc != PLCIO_OK) {
        sync_write_done(w, rc, "could not queue the request");
        return;
    }
    pump(&st->drv);
}

const sync_driver_ops sync_driver_modbus = {"modbus-", mbd_open, mbd_close, mbd_add_tag, mbd_plan, mbd_free_plan,
                                            mbd_connect, mbd_read, mbd_write};
