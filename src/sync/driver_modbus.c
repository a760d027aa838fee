/* The sync engine's Modbus driver: every modbus-* URL of the design on the
 * engine's event loop, one mb_session per device.
 *
 *   modbus-tcp://HOST[:PORT]     MBAP over TCP, 8 requests in flight (transaction ids)
 *   modbus-udp://HOST[:PORT]     MBAP over UDP, one datagram per request, 8 in flight
 *   modbus-rtu:///dev/ttyX?...   RTU on a serial line: one request at a time, t3.5
 *                                of silence before each request (SL 2.5.1.1)
 *   modbus-ascii:///dev/ttyX?... ASCII on a serial line: one request at a time
 *   modbus-rtu://HOST:PORT       RTU (or ASCII) frames over TCP (gateways): one at a time
 *
 * Nothing blocks: TCP connects asynchronously, sends take what the socket takes
 * and wait for writability, a serial line's silence is a loop timer. Requests
 * wait in the driver's queue and enter the session only when they can go on
 * the wire, so a request's timeout counts from when it is sent, and a timed-out
 * request is sent again up to `retries` times (URL; 1 on serial lines). Three
 * requests in a row without an answer, a refused datagram (ICMP), a closed
 * connection or a serial port that fails count as the link lost: the engine
 * marks the values stale and reopens with backoff.
 *
 * A group's read plan is made once: tags of the same table whose registers
 * (bits) are close share one request, within 125 registers / 2000 bits on
 * every transport.
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
#define MAX_WRITE_REGS 123u /* AP 6.12: FC16 writes at most 123 registers */
#define MBAP_DEPTH 8u       /* requests in flight on MBAP links (TCP, UDP) */
#define MAX_TAG_BYTES 250u  /* 125 registers: the most one read request carries */
#define MAX_OPS 512u        /* requests queued or in flight per device */
#define SILENT_LIMIT 3u     /* requests in a row without an answer: the link is lost */

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

/* One request: a read of group->plan->reads[read], or a write. */
typedef enum op_state { OP_FREE, OP_QUEUED, OP_SENT } op_state;
typedef struct mb_op {
    op_state state;
    uint64_t seq;      /* queue order: the oldest queued goes first (a retry keeps its place) */
    uint32_t token;    /* the session's, while OP_SENT */
    unsigned attempts; /* retries used */
    sync_group *group;
    size_t read;
    sync_write *write;
} mb_op;

typedef struct mb_drv {
    sync_device *dev;
    mb_url_config cfg;
    mb_session *session;
    char where[300];   /* "127.0.0.1:502", "/dev/ttyUSB0", for messages */
    unsigned depth;    /* requests in flight */
    bool datagram;     /* UDP: one datagram per frame */
    bool serial;       /* a serial line: flush stale input before each request */
    uint64_t gap_ns;   /* RTU on a line: t3.5 of silence before a request */
    uint64_t bus_ready_ns;
    int fd;
    bool connecting;
    bool tx_blocked;   /* the socket took part of the frames: wait for writability */
    size_t tx_off;     /* bytes of the session's tx already written */
    unsigned watched;
    uint64_t timer, timer_deadline;
    unsigned silent;   /* requests in a row that timed out */
    int lost;          /* set from a session callback: the link is lost (handled after it) */
    bool in_pump, again, resetting;
    uint64_t next_seq;
    mb_op ops[MAX_OPS];
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

/* ---- answers ---- */

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

static void write_answer(mb_drv *drv, sync_write *w, int result, const plcio_mb_pdu *resp, bool sent)
{
    char msg[400] = "";
    if (result == PLCIO_EMBEXC && resp)
        snprintf(msg, sizeof msg, "exception %u: %s", resp->exception, plcio_mb_exception_text(resp->exception));
    else if (result != PLCIO_OK && sent)
        snprintf(msg, sizeof msg, "%s (%s) before the device answered: the write may or may not have happened",
                 plcio_strerror(result), drv->where);
    else if (result != PLCIO_OK)
        snprintf(msg, sizeof msg, "not sent: %s (%s)", plcio_strerror(result), drv->where);
    sync_write_done(w, result, msg);
}

/* Take op out of the table and report its result. */
static void finish_op(mb_drv *drv, mb_op *o, int result, const plcio_mb_pdu *resp)
{
    mb_op copy = *o;
    o->state = OP_FREE;
    if (copy.group) read_answer(copy.group, copy.read, result, resp);
    else if (copy.write) write_answer(drv, copy.write, result, resp, copy.state == OP_SENT);
}

static mb_op *find_sent(mb_drv *drv, uint32_t token)
{
    for (size_t i = 0; i < MAX_OPS; i++)
        if (drv->ops[i].state == OP_SENT && drv->ops[i].token == token) return &drv->ops[i];
    return NULL;
}

/* Worth sending again: no answer, or (on a bus) a damaged one. */
static bool retriable(const mb_drv *drv, int result)
{
    if (result == PLCIO_ETIMEDOUT) return true;
    return drv->cfg.framing != MB_FRAMING_MBAP && (result == PLCIO_ECRC || result == PLCIO_EPROTO);
}

/* The session's callback: ctx is the driver. Never closes the link itself
 * (the session is still working): a lost link is noted in drv->lost. */
static void answer(void *ctx, uint32_t token, int result, const plcio_mb_pdu *resp, const uint8_t *raw, size_t len)
{
    (void)raw;
    (void)len;
    mb_drv *drv = ctx;
    mb_op *o = find_sent(drv, token);
    if (!o) return;
    if (!drv->resetting && retriable(drv, result) && o->attempts < drv->cfg.retries) {
        o->attempts++;
        o->state = OP_QUEUED; /* keeps its seq: goes out before anything queued later */
        plcio_log(sync_logger(drv->dev), PLCIO_LOG_DEBUG, "sync", "%s: retry %u after %s", drv->dev->name, o->attempts,
                  plcio_strerror(result));
        return;
    }
    if (result == PLCIO_ETIMEDOUT && !drv->resetting) {
        if (++drv->silent >= SILENT_LIMIT && !drv->lost) drv->lost = PLCIO_ETIMEDOUT;
    } else if (result == PLCIO_OK || result == PLCIO_EMBEXC) {
        drv->silent = 0;
    }
    finish_op(drv, o, result, resp);
}

/* ---- the queue ---- */

static mb_op *new_op(mb_drv *drv)
{
    for (size_t i = 0; i < MAX_OPS; i++)
        if (drv->ops[i].state == OP_FREE) {
            mb_op *o = &drv->ops[i];
            memset(o, 0, sizeof *o);
            o->state = OP_QUEUED;
            o->seq = ++drv->next_seq;
            return o;
        }
    return NULL;
}

static mb_op *oldest_queued(mb_drv *drv)
{
    mb_op *best = NULL;
    for (size_t i = 0; i < MAX_OPS; i++)
        if (drv->ops[i].state == OP_QUEUED && (!best || drv->ops[i].seq < best->seq)) best = &drv->ops[i];
    return best;
}

static const uint8_t read_fc[] = {[PLCIO_MB_TABLE_COIL] = 1, [PLCIO_MB_TABLE_DISCRETE_INPUT] = 2,
                                  [PLCIO_MB_TABLE_INPUT_REGISTER] = 4, [PLCIO_MB_TABLE_HOLDING_REGISTER] = 3};

/* The request of op (regs: room for a write's registers). The write was
 * checked when it was queued (mbd_write). */
static void op_request(const mb_op *o, plcio_mb_pdu *req, uint8_t *regs)
{
    memset(req, 0, sizeof *req);
    if (o->group) {
        const mb_read *rd = &((const mb_plan *)o->group->plan)->reads[o->read];
        req->fc = read_fc[rd->table];
        req->addr = rd->addr;
        req->qty = rd->qty;
        return;
    }
    const sync_write *w = o->write;
    const sync_tag *t = w->tag;
    req->addr = t->at.mb.address;
    if (t->at.mb.table == PLCIO_MB_TABLE_COIL) {
        req->fc = 5;
        req->value = (w->data[0] & 1u) ? 0xFF00 : 0x0000; /* AP 6.5: ON is FF 00 */
        return;
    }
    memcpy(regs, w->data, w->size);
    if (t->type != PLCIO_TYPE_STRING) to_abcd(regs, w->size, t->at.mb.order); /* ABCD -> device order */
    req->fc = 16;
    req->qty = (uint16_t)(w->size / 2);
    req->data = regs;
    req->data_len = w->size;
}

/* Hand queued requests to the session while the link can take them: up to
 * `depth` in flight; on an RTU line only after t3.5 of silence. */
static void feed_session(mb_drv *drv, uint64_t now)
{
    while (mb_session_pending(drv->session) < drv->depth) {
        if (drv->gap_ns && now < drv->bus_ready_ns) return; /* rewatch arms a timer */
        mb_op *o = oldest_queued(drv);
        if (!o) return;
        if (drv->serial) plcio_net_serial_flush(drv->fd); /* a late answer to an earlier request is not this one's */
        plcio_mb_pdu req;
        uint8_t regs[2 * MAX_WRITE_REGS];
        op_request(o, &req, regs);
        uint64_t timeout = (uint64_t)drv->cfg.timeout_ms * PLCIO_NS_PER_MS;
        int rc = mb_session_submit(drv->session, drv->cfg.unit, &req, now + timeout, &o->token);
        if (rc != PLCIO_OK) {
            finish_op(drv, o, rc, NULL);
            continue;
        }
        o->state = OP_SENT;
    }
}

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

static bool has_queued(const mb_drv *drv)
{
    for (size_t i = 0; i < MAX_OPS; i++)
        if (drv->ops[i].state == OP_QUEUED) return true;
    return false;
}

static void rewatch(mb_drv *drv)
{
    plcio_loop *loop = sync_loop(drv->dev);
    if (drv->fd >= 0) {
        bool want_write = drv->connecting || drv->tx_blocked;
        unsigned ev = PLCIO_IO_READ | (want_write ? PLCIO_IO_WRITE : 0u);
        if (!drv->watched) {
            if (plcio_loop_add(loop, drv->fd, ev, on_io, drv) == PLCIO_OK) drv->watched = ev;
        } else if (ev != drv->watched) {
            plcio_loop_mod(loop, drv->fd, ev);
            drv->watched = ev;
        }
    }
    uint64_t deadline = mb_session_next_deadline(drv->session);
    if (drv->fd >= 0 && drv->gap_ns && mb_session_pending(drv->session) == 0 && has_queued(drv) &&
        (!deadline || drv->bus_ready_ns < deadline))
        deadline = drv->bus_ready_ns;
    if (deadline != drv->timer_deadline) {
        if (drv->timer) plcio_loop_timer_cancel(loop, drv->timer);
        drv->timer = deadline ? plcio_loop_timer_add(loop, deadline, on_deadline, drv) : 0;
        drv->timer_deadline = deadline;
    }
}

static void close_link(mb_drv *drv)
{
    if (drv->fd < 0) return;
    if (drv->watched) plcio_loop_del(sync_loop(drv->dev), drv->fd);
    drv->watched = 0;
    plcio_net_close(drv->fd);
    drv->fd = -1;
    drv->connecting = false;
    drv->tx_blocked = false;
    drv->tx_off = 0;
}

/* The link is lost (or could not be opened): close it, end every request
 * with err, and let the engine reopen it after its backoff. */
static void fail(mb_drv *drv, int err, const char *what)
{
    char msg[400];
    if (err == PLCIO_ETIMEDOUT && drv->silent >= SILENT_LIMIT)
        snprintf(msg, sizeof msg, "no answer from %s (unit %u): %u requests in a row timed out after %d ms", drv->where,
                 drv->cfg.unit, drv->silent, drv->cfg.timeout_ms);
    else
        snprintf(msg, sizeof msg, "%s %s: %s", what, drv->where, plcio_strerror(err));
    close_link(drv);
    drv->resetting = true;
    mb_session_reset(drv->session, err, answer, drv); /* requests on the wire */
    for (mb_op *o; (o = oldest_queued(drv)) != NULL;) finish_op(drv, o, err, NULL); /* and those waiting */
    drv->resetting = false;
    drv->lost = PLCIO_OK;
    drv->silent = 0;
    rewatch(drv);
    sync_device_down(drv->dev, err, msg);
}

/* Length of the first MBAP frame in buf[0..n) (n when it cannot tell). */
static size_t mbap_frame_len(const uint8_t *buf, size_t n)
{
    if (n < 6) return n;
    size_t f = 6u + (size_t)(buf[4] << 8 | buf[5]);
    return f < n ? f : n;
}

/* Write what the session has framed, without waiting: a stream takes what
 * fits and the rest waits for writability; UDP sends one datagram per frame. */
static int send_frames(mb_drv *drv, uint64_t now)
{
    const plcio_logger *lg = sync_logger(drv->dev);
    size_t n;
    const uint8_t *tx;
    drv->tx_blocked = false;
    while ((tx = mb_session_next_tx(drv->session, &n)) != NULL) {
        while (drv->tx_off < n) {
            size_t len = n - drv->tx_off, sent = 0;
            if (drv->datagram) len = mbap_frame_len(tx + drv->tx_off, len);
            int rc = plcio_net_send_some(drv->fd, tx + drv->tx_off, len, &sent);
            if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) {
                drv->tx_blocked = true;
                return PLCIO_OK;
            }
            if (rc != PLCIO_OK) return rc;
            if (drv->datagram && sent != len) return PLCIO_EIO; /* a datagram goes whole or not at all */
            plcio_log_hex(lg, PLCIO_LOG_TRACE, "modbus", "Tx", tx + drv->tx_off, sent);
            drv->tx_off += sent;
        }
        drv->tx_off = 0;
        mb_session_sent(drv->session, now, answer, drv);
        if (drv->gap_ns) drv->bus_ready_ns = now + drv->gap_ns;
    }
    return PLCIO_OK;
}

/* Everything that arrived, into the session. */
static int receive(mb_drv *drv, uint64_t now)
{
    while (!drv->lost) {
        uint8_t buf[4096];
        size_t got = 0;
        int rc = plcio_net_recv_some(drv->fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc == PLCIO_ECLOSED && drv->datagram) continue; /* an empty datagram */
        if (rc != PLCIO_OK) return rc;
        plcio_log_hex(sync_logger(drv->dev), PLCIO_LOG_TRACE, "modbus", "Rx", buf, got);
        if (drv->gap_ns) drv->bus_ready_ns = now + drv->gap_ns; /* t3.5 after the last byte on the line */
        rc = mb_session_feed(drv->session, buf, got, now, answer, drv);
        if (rc != PLCIO_OK) return rc; /* an MBAP stream that cannot be framed any more */
    }
    return PLCIO_OK;
}

static void pump_once(mb_drv *drv)
{
    uint64_t now = plcio_monotonic_ns();
    if (drv->fd < 0) return;
    if (drv->connecting) {
        if (plcio_net_wait(drv->fd, true, 0) != PLCIO_OK) return;
        int rc = plcio_net_tcp_connect_finish(drv->fd);
        if (rc != PLCIO_OK) {
            fail(drv, rc, "connect to");
            return;
        }
        drv->connecting = false;
        sync_device_up(drv->dev); /* queued writes start here (their pump comes back as `again`) */
        if (drv->fd < 0) return;
    }
    int rc = receive(drv, now);
    if (rc != PLCIO_OK) {
        fail(drv, rc, "connection to");
        return;
    }
    mb_session_on_timeout(drv->session, now, answer, drv);
    if (drv->lost) {
        fail(drv, drv->lost, "connection to");
        return;
    }
    feed_session(drv, now);
    if ((rc = send_frames(drv, now)) != PLCIO_OK) fail(drv, rc, "send to");
}

/* Everything happens here; callbacks that come back in (a write submitted from
 * a write's callback) only ask for another round. */
static void pump(mb_drv *drv)
{
    if (drv->in_pump) {
        drv->again = true;
        return;
    }
    drv->in_pump = true;
    do {
        drv->again = false;
        pump_once(drv);
    } while (drv->again && drv->fd >= 0);
    drv->in_pump = false;
    rewatch(drv);
}

/* ---- driver operations ---- */

static int mbd_open(sync_device *d, const plcio_url *url, char *err, size_t cap)
{
    (void)url;
    mb_drv *drv = calloc(1, sizeof *drv);
    if (!drv) return PLCIO_ENOMEM;
    int rc = mb_url_parse(d->url, false, &drv->cfg);
    if (rc != PLCIO_OK) {
        snprintf(err, cap,
                 "not a Modbus URL (%s): modbus-tcp://HOST[:PORT], modbus-udp://HOST[:PORT], "
                 "modbus-rtu:///dev/ttyX?baud=19200&parity=E&data-bits=8&stop-bits=1, modbus-ascii:///dev/ttyX?..., "
                 "modbus-rtu://HOST:PORT (RTU over TCP); options unit, timeout, retries",
                 plcio_strerror(rc));
        free(drv);
        return rc;
    }
    const mb_link *l = &drv->cfg.link;
    drv->dev = d;
    drv->fd = -1;
    drv->datagram = l->ops->datagram;
    drv->serial = l->ops->serial;
    drv->depth = drv->cfg.framing == MB_FRAMING_MBAP ? MBAP_DEPTH : 1u; /* a bus: one request at a time */
    if (drv->serial) {
        snprintf(drv->where, sizeof drv->where, "%s", l->device);
    } else {
        snprintf(drv->where, sizeof drv->where, "%s:%d%s", l->host, l->port,
                 drv->cfg.framing == MB_FRAMING_MBAP ? "" : drv->cfg.framing == MB_FRAMING_RTU ? " (RTU over TCP)"
                                                                                               : " (ASCII over TCP)");
    }
    drv->session = mb_session_new(drv->cfg.framing, drv->depth);
    if (!drv->session) {
        free(drv);
        return PLCIO_ENOMEM;
    }
    mb_session_set_datagram(drv->session, drv->datagram);
    if (drv->serial && drv->cfg.framing == MB_FRAMING_RTU) {
        uint32_t t15, t35;
        plcio_mb_rtu_timing(l->serial.baud, &t15, &t35);
        drv->gap_ns = (uint64_t)t35 * 1000u;
        mb_session_set_silence(drv->session, drv->gap_ns); /* ends answers whose length the content does not tell */
    }
    d->drv = drv;
    return PLCIO_OK;
}

static void mbd_close(sync_device *d)
{
    mb_drv *drv = d->drv;
    close_link(drv);
    if (drv->timer) plcio_loop_timer_cancel(sync_loop(d), drv->timer);
    drv->timer = 0;
    drv->resetting = true;
    mb_session_reset(drv->session, PLCIO_ECANCELED, answer, drv);
    for (mb_op *o; (o = oldest_queued(drv)) != NULL;) finish_op(drv, o, PLCIO_ECANCELED, NULL);
    mb_session_free(drv->session);
    free(drv);
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
    mb_drv *drv = d->drv;
    const mb_link *l = &drv->cfg.link;
    close_link(drv);
    int rc;
    const char *what = "connect to";
    if (l->ops == &mb_link_serial) {
        rc = plcio_net_serial_open(l->device, &l->serial, &drv->fd);
        what = "open";
    } else if (l->ops == &mb_link_udp) {
        rc = plcio_net_udp_open(l->host, l->port, false, &drv->fd, NULL);
        what = "open a UDP socket to";
    } else {
        rc = plcio_net_tcp_connect_start(l->host, l->port, &drv->fd);
    }
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) {
        drv->fd = -1;
        char msg[400];
        snprintf(msg, sizeof msg, "%s %s: %s", what, drv->where, plcio_strerror(rc));
        sync_device_down(d, rc, msg);
        return;
    }
    drv->silent = 0;
    drv->bus_ready_ns = plcio_monotonic_ns() + drv->gap_ns;
    drv->connecting = rc == PLCIO_EAGAIN || l->ops == &mb_link_tcp;
    if (!drv->connecting) {
        /* UDP and serial lines have no connection: open is up; a link that does
         * not answer is found lost by its timeouts (or a refused datagram). */
        sync_device_up(d);
        if (drv->fd < 0) return;
    }
    pump(drv);
}

static void mbd_read(sync_device *d, sync_group *g)
{
    mb_drv *drv = d->drv;
    mb_plan *p = g->plan;
    p->outstanding = 0;
    p->first_err = PLCIO_OK;
    if (drv->fd < 0) { /* the link broke in this loop round: the engine hears it next */
        sync_group_done(g, PLCIO_ENOTCONN, 0, 0);
        return;
    }
    for (size_t r = 0; r < p->nreads; r++) {
        mb_op *o = new_op(drv);
        if (!o) {
            /* nothing more can be queued: what was queued completes the cycle */
            p->first_err = PLCIO_ELIMIT;
            if (p->outstanding == 0) sync_group_done(g, PLCIO_ELIMIT, 0, 0);
            break;
        }
        o->group = g;
        o->read = r;
        p->outstanding++;
    }
    pump(drv);
}

static void mbd_write(sync_device *d, sync_write *w)
{
    mb_drv *drv = d->drv;
    const sync_tag *t = w->tag;
    if (t->at.mb.table != PLCIO_MB_TABLE_COIL && t->at.mb.table != PLCIO_MB_TABLE_HOLDING_REGISTER) {
        sync_write_done(w, PLCIO_EACCESS, "discrete inputs and input registers are read-only");
        return;
    }
    if (t->at.mb.table == PLCIO_MB_TABLE_HOLDING_REGISTER && (w->size > 2u * MAX_WRITE_REGS || w->size % 2)) {
        sync_write_done(w, PLCIO_ERANGE, "value longer than one write request (123 registers)");
        return;
    }
    if (drv->fd < 0) {
        write_answer(drv, w, PLCIO_ENOTCONN, NULL, false);
        return;
    }
    mb_op *o = new_op(drv);
    if (!o) {
        sync_write_done(w, PLCIO_ELIMIT, "too many requests waiting for this device");
        return;
    }
    o->write = w;
    pump(drv);
}

const sync_driver_ops sync_driver_modbus = {"modbus-", mbd_open, mbd_close, mbd_add_tag, mbd_plan, mbd_free_plan,
                                            mbd_connect, mbd_read, mbd_write};
