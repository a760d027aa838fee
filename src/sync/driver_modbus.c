/* The sync engine's Modbus driver: every modbus-* URL of the design on the
 * engine's event loop.
 *
 *   modbus-tcp://HOST[:PORT]     MBAP over TCP, 8 requests in flight (transaction ids)
 *   modbus-udp://HOST[:PORT]     MBAP over UDP, one datagram per request, 8 in flight
 *   modbus-rtu:///dev/ttyX?...   RTU on a serial line: one request at a time, t3.5
 *                                of silence before each request (SL 2.5.1.1)
 *   modbus-ascii:///dev/ttyX?... ASCII on a serial line: one request at a time
 *   modbus-rtu://HOST:PORT       RTU (or ASCII) frames over TCP (gateways): one at a time
 *
 * A line (mb_line) is one socket or serial port with its mb_session; a device
 * (mb_dev) is one unit on it. Devices of one engine whose URLs name the same
 * serial port share its line: several units on one RS-485 bus, one request on
 * the wire at a time, in the order they were queued.
 *
 * Nothing blocks: TCP connects asynchronously, sends take what the socket takes
 * and wait for writability, a serial line's silence is a loop timer. Requests
 * wait in the line's queue and enter the session only when they can go on the
 * wire, so a request's timeout counts from when it is sent, and a request that
 * got no answer is sent again up to `retries` times (URL; 1 on serial lines).
 * Lost: a closed connection, a refused datagram (ICMP), a failing serial port
 * end the line (every device on it goes down); three requests of a unit in a
 * row without an answer end that unit (and the line too when the unit has it
 * alone: TCP half-open, a gateway gone). The engine marks the values stale
 * and reconnects with backoff; a unit on a shared line that comes back finds
 * the line open.
 *
 * A group's read plan is made once: tags of the same table whose registers
 * (bits) are close share one request, within 125 registers / 2000 bits on
 * every transport.
 *
 * Shared memory holds every tag the way an S7 PLC would: big-endian bytes
 * (ABCD). Registers read in another word/byte order are turned into ABCD on the
 * way in and back on the way out; coils and discrete inputs are one byte, 0/1. */
#include <pthread.h>
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
#define MAX_OPS 512u        /* requests queued or in flight per line */
#define SILENT_LIMIT 3u     /* requests of a unit in a row without an answer: the unit is lost */

typedef struct mb_read {
    plcio_mb_table table;
    uint16_t addr, qty;
    uint8_t *data;  /* registers: 2 * qty bytes, big-endian; bits: one byte per bit */
    uint8_t warned; /* the exception last logged for this read (0: none): logged again only when it changes */
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

typedef struct mb_line mb_line;

/* One device: a unit on a line. */
typedef struct mb_dev {
    sync_device *dev;
    mb_line *line;
    uint8_t unit;
    int timeout_ms;
    unsigned retries;
    bool up;          /* reported up, not down since */
    unsigned silent;  /* requests in a row that timed out */
    bool lost;        /* noted in a session callback, handled after it */
    struct mb_dev *next;
} mb_dev;

/* One request: a read of group->plan->reads[read], or a write; owner NULL once
 * its device has closed (the answer is then dropped). */
typedef enum op_state { OP_FREE, OP_QUEUED, OP_SENT } op_state;
typedef struct mb_op {
    op_state state;
    uint64_t seq;      /* queue order: the oldest queued goes first (a retry keeps its place) */
    uint32_t token;    /* the session's, while OP_SENT */
    unsigned attempts; /* retries used */
    mb_dev *owner;
    sync_group *group;
    size_t read;
    sync_write *write;
} mb_op;

struct mb_line {
    mb_line *next;     /* shared serial lines of every engine */
    plcio_loop *loop;
    const plcio_logger *logger;
    mb_url_config cfg; /* link and framing (unit, timeout, retries are the devices') */
    char where[300];   /* "127.0.0.1:502", "/dev/ttyUSB0", for messages */
    mb_session *session;
    unsigned depth;    /* requests in flight */
    bool datagram;     /* UDP: one datagram per frame */
    bool serial;       /* a serial port: flush stale input before each request */
    uint64_t gap_ns;   /* RTU on a line: t3.5 of silence before a request */
    uint64_t bus_ready_ns;
    int fd;
    bool connecting;
    bool tx_blocked;   /* the socket took part of the frames: wait for writability */
    size_t tx_off;     /* bytes of the session's tx already written */
    unsigned watched;
    uint64_t timer, timer_deadline;
    bool in_pump, again, resetting;
    uint64_t next_seq;
    mb_dev *devs;
    mb_op ops[MAX_OPS];
};

/* Serial lines are shared by the devices of one engine (one loop) that name
 * the same port. Engines may run on different threads: the list is locked. */
static mb_line *shared_lines;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* An exception (a tag past the end of the device's table) comes back every
 * cycle: log it once when it starts or changes and once when the read works
 * again; the tags keep quality ERROR meanwhile. */
static void note_exception(const sync_group *g, mb_read *rd, int result, const plcio_mb_pdu *resp)
{
    const char *table = rd->table == PLCIO_MB_TABLE_COIL             ? "coils"
                        : rd->table == PLCIO_MB_TABLE_DISCRETE_INPUT ? "discrete inputs"
                        : rd->table == PLCIO_MB_TABLE_INPUT_REGISTER ? "input registers"
                                                                     : "holding registers";
    const plcio_logger *lg = sync_logger(g->device);
    if (result == PLCIO_EMBEXC && resp && resp->exception != rd->warned) {
        plcio_log(lg, PLCIO_LOG_WARN, "sync", "%s/%s: read %u %s from %u: exception %u: %s (tags in error until this changes)",
                  g->device->name, g->name, rd->qty, table, rd->addr, resp->exception,
                  plcio_mb_exception_text(resp->exception));
        rd->warned = resp->exception;
    } else if (result == PLCIO_OK && rd->warned) {
        plcio_log(lg, PLCIO_LOG_INFO, "sync", "%s/%s: %u %s from %u read again", g->device->name, g->name, rd->qty,
                  table, rd->addr);
        rd->warned = 0;
    }
}

static void read_answer(sync_group *g, size_t r, int result, const plcio_mb_pdu *resp)
{
    mb_plan *p = g->plan;
    mb_read *rd = &p->reads[r];
    note_exception(g, rd, result, resp);
    if (result == PLCIO_OK && resp) {
        if (bit_table(rd->table)) {
            for (uint16_t i = 0; i < rd->qty; i++)
                rd->data[i] = (uint8_t)(i / 8 < resp->data_len ? (resp->data[i / 8] >> (i % 8)) & 1u : 0u);
        } else if (resp->data_len >= (size_t)rd->qty * 2) {
            memcpy(rd->data, resp->data, (size_t)rd->qty * 2);
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

static void write_answer(const mb_line *line, sync_write *w, int result, const plcio_mb_pdu *resp, bool sent)
{
    char msg[400] = "";
    if (result == PLCIO_EMBEXC && resp)
        snprintf(msg, sizeof msg, "exception %u: %s", resp->exception, plcio_mb_exception_text(resp->exception));
    else if (result != PLCIO_OK && sent)
        snprintf(msg, sizeof msg, "%s (%s) before the device answered: the write may or may not have happened",
                 plcio_strerror(result), line->where);
    else if (result != PLCIO_OK)
        snprintf(msg, sizeof msg, "not sent: %s (%s)", plcio_strerror(result), line->where);
    sync_write_done(w, result, msg);
}

/* Take op out of the table and report its result. */
static void finish_op(mb_line *line, mb_op *o, int result, const plcio_mb_pdu *resp)
{
    mb_op copy = *o;
    o->state = OP_FREE;
    if (!copy.owner) return;
    if (copy.group) read_answer(copy.group, copy.read, result, resp);
    else if (copy.write) write_answer(line, copy.write, result, resp, copy.state == OP_SENT);
}

static mb_op *find_sent(mb_line *line, uint32_t token)
{
    for (size_t i = 0; i < MAX_OPS; i++)
        if (line->ops[i].state == OP_SENT && line->ops[i].token == token) return &line->ops[i];
    return NULL;
}

/* Worth sending again: no answer, or (on a bus) a damaged one. */
static bool retriable(const mb_line *line, int result)
{
    if (result == PLCIO_ETIMEDOUT) return true;
    return line->cfg.framing != MB_FRAMING_MBAP && (result == PLCIO_ECRC || result == PLCIO_EPROTO);
}

/* The session's callback: ctx is the line. Never closes anything itself (the
 * session is still working): a lost unit is noted in its dev->lost. */
static void answer(void *ctx, uint32_t token, int result, const plcio_mb_pdu *resp, const uint8_t *raw, size_t len)
{
    (void)raw;
    (void)len;
    mb_line *line = ctx;
    mb_op *o = find_sent(line, token);
    if (!o) return;
    mb_dev *dev = o->owner;
    if (dev && !line->resetting && retriable(line, result) && o->attempts < dev->retries) {
        o->attempts++;
        o->state = OP_QUEUED; /* keeps its seq: goes out before anything queued later */
        plcio_log(line->logger, PLCIO_LOG_DEBUG, "sync", "%s: retry %u after %s", dev->dev->name, o->attempts,
                  plcio_strerror(result));
        return;
    }
    if (dev && dev->up && result == PLCIO_ETIMEDOUT && !line->resetting) {
        if (++dev->silent >= SILENT_LIMIT) dev->lost = true;
    } else if (dev && (result == PLCIO_OK || result == PLCIO_EMBEXC)) {
        dev->silent = 0;
    }
    finish_op(line, o, result, resp);
}

/* ---- the queue ---- */

static mb_op *new_op(mb_line *line, mb_dev *owner)
{
    for (size_t i = 0; i < MAX_OPS; i++)
        if (line->ops[i].state == OP_FREE) {
            mb_op *o = &line->ops[i];
            memset(o, 0, sizeof *o);
            o->state = OP_QUEUED;
            o->seq = ++line->next_seq;
            o->owner = owner;
            return o;
        }
    return NULL;
}

/* The oldest queued request (of `owner` only, when not NULL). */
static mb_op *oldest_queued(mb_line *line, const mb_dev *owner)
{
    mb_op *best = NULL;
    for (size_t i = 0; i < MAX_OPS; i++) {
        mb_op *o = &line->ops[i];
        if (o->state == OP_QUEUED && (!owner || o->owner == owner) && (!best || o->seq < best->seq)) best = o;
    }
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
static void feed_session(mb_line *line, uint64_t now)
{
    while (mb_session_pending(line->session) < line->depth) {
        if (line->gap_ns && now < line->bus_ready_ns) return; /* rewatch arms a timer */
        mb_op *o = oldest_queued(line, NULL);
        if (!o) return;
        if (line->serial) plcio_net_serial_flush(line->fd); /* a late answer to an earlier request is not this one's */
        plcio_mb_pdu req;
        uint8_t regs[2 * MAX_WRITE_REGS];
        op_request(o, &req, regs);
        uint64_t timeout = (uint64_t)o->owner->timeout_ms * PLCIO_NS_PER_MS;
        int rc = mb_session_submit(line->session, o->owner->unit, &req, now + timeout, &o->token);
        if (rc != PLCIO_OK) {
            finish_op(line, o, rc, NULL);
            continue;
        }
        o->state = OP_SENT;
    }
}

/* ---- I/O ---- */

static void pump(mb_line *line);

static void on_io(plcio_loop *loop, int fd, unsigned events, void *ctx)
{
    (void)loop;
    (void)fd;
    (void)events;
    pump(ctx);
}

static void on_deadline(plcio_loop *loop, void *ctx)
{
    mb_line *line = ctx;
    (void)loop;
    line->timer = 0;
    line->timer_deadline = 0;
    pump(line);
}

static void rewatch(mb_line *line)
{
    if (line->fd >= 0) {
        bool want_write = line->connecting || line->tx_blocked;
        unsigned ev = PLCIO_IO_READ | (want_write ? PLCIO_IO_WRITE : 0u);
        if (!line->watched) {
            if (plcio_loop_add(line->loop, line->fd, ev, on_io, line) == PLCIO_OK) line->watched = ev;
        } else if (ev != line->watched) {
            plcio_loop_mod(line->loop, line->fd, ev);
            line->watched = ev;
        }
    }
    uint64_t deadline = mb_session_next_deadline(line->session);
    if (line->fd >= 0 && line->gap_ns && mb_session_pending(line->session) == 0 && oldest_queued(line, NULL) &&
        (!deadline || line->bus_ready_ns < deadline))
        deadline = line->bus_ready_ns;
    if (deadline != line->timer_deadline) {
        if (line->timer) plcio_loop_timer_cancel(line->loop, line->timer);
        line->timer = deadline ? plcio_loop_timer_add(line->loop, deadline, on_deadline, line) : 0;
        line->timer_deadline = deadline;
    }
}

static void close_link(mb_line *line)
{
    if (line->fd < 0) return;
    if (line->watched) plcio_loop_del(line->loop, line->fd);
    line->watched = 0;
    plcio_net_close(line->fd);
    line->fd = -1;
    line->connecting = false;
    line->tx_blocked = false;
    line->tx_off = 0;
}

static void dev_down(mb_dev *dev, int err, const char *msg)
{
    dev->up = false;
    dev->silent = 0;
    dev->lost = false;
    sync_device_down(dev->dev, err, msg);
}

static void silent_message(const mb_dev *dev, char *msg, size_t cap)
{
    snprintf(msg, cap, "no answer from %s (unit %u): %u requests in a row timed out after %d ms", dev->line->where,
             dev->unit, SILENT_LIMIT, dev->timeout_ms);
}

/* The line is lost (or could not be opened): close it, end every request
 * with err, every device on it goes down; the engine reopens it after its
 * backoff. */
static void fail(mb_line *line, int err, const char *msg)
{
    close_link(line);
    line->resetting = true;
    mb_session_reset(line->session, err, answer, line); /* requests on the wire */
    for (mb_op *o; (o = oldest_queued(line, NULL)) != NULL;) finish_op(line, o, err, NULL); /* and those waiting */
    line->resetting = false;
    rewatch(line);
    for (mb_dev *dev = line->devs; dev; dev = dev->next) dev_down(dev, err, msg);
}

static void fail_io(mb_line *line, int err, const char *what)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s %s: %s", what, line->where, plcio_strerror(err));
    fail(line, err, msg);
}

/* Units found silent in the callbacks. A unit alone on its line takes the
 * line with it (reopened: a half-open TCP connection, a gateway restarted);
 * on a shared bus the others go on. */
static bool handle_lost(mb_line *line)
{
    for (mb_dev *dev = line->devs; dev; dev = dev->next) {
        if (!dev->lost) continue;
        char msg[400];
        silent_message(dev, msg, sizeof msg);
        if (!line->devs->next) {
            fail(line, PLCIO_ETIMEDOUT, msg);
            return true;
        }
        for (mb_op *o; (o = oldest_queued(line, dev)) != NULL;) finish_op(line, o, PLCIO_ETIMEDOUT, NULL);
        dev_down(dev, PLCIO_ETIMEDOUT, msg);
    }
    return false;
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
static int send_frames(mb_line *line, uint64_t now)
{
    size_t n;
    const uint8_t *tx;
    line->tx_blocked = false;
    while ((tx = mb_session_next_tx(line->session, &n)) != NULL) {
        while (line->tx_off < n) {
            size_t len = n - line->tx_off, sent = 0;
            if (line->datagram) len = mbap_frame_len(tx + line->tx_off, len);
            int rc = plcio_net_send_some(line->fd, tx + line->tx_off, len, &sent);
            if (rc == PLCIO_EAGAIN || (rc == PLCIO_OK && sent == 0)) {
                line->tx_blocked = true;
                return PLCIO_OK;
            }
            if (rc != PLCIO_OK) return rc;
            if (line->datagram && sent != len) return PLCIO_EIO; /* a datagram goes whole or not at all */
            plcio_log_hex(line->logger, PLCIO_LOG_TRACE, "modbus", "Tx", tx + line->tx_off, sent);
            line->tx_off += sent;
        }
        line->tx_off = 0;
        mb_session_sent(line->session, now, answer, line);
        if (line->gap_ns) line->bus_ready_ns = now + line->gap_ns;
    }
    return PLCIO_OK;
}

/* Everything that arrived, into the session. */
static int receive(mb_line *line, uint64_t now)
{
    for (;;) {
        uint8_t buf[4096];
        size_t got = 0;
        int rc = plcio_net_recv_some(line->fd, buf, sizeof buf, &got, 0);
        if (rc == PLCIO_EAGAIN) return PLCIO_OK;
        if (rc == PLCIO_ECLOSED && line->datagram) continue; /* an empty datagram */
        if (rc != PLCIO_OK) return rc;
        plcio_log_hex(line->logger, PLCIO_LOG_TRACE, "modbus", "Rx", buf, got);
        if (line->gap_ns) line->bus_ready_ns = now + line->gap_ns; /* t3.5 after the last byte on the line */
        rc = mb_session_feed(line->session, buf, got, now, answer, line);
        if (rc != PLCIO_OK) return rc; /* an MBAP stream that cannot be framed any more */
    }
}

static void dev_up(mb_dev *dev)
{
    dev->up = true;
    dev->silent = 0;
    dev->lost = false;
    sync_device_up(dev->dev); /* queued writes start here (their pump comes back as `again`) */
}

static void pump_once(mb_line *line)
{
    uint64_t now = plcio_monotonic_ns();
    if (line->fd < 0) return;
    if (line->connecting) {
        if (plcio_net_wait(line->fd, true, 0) != PLCIO_OK) return;
        int rc = plcio_net_tcp_connect_finish(line->fd);
        if (rc != PLCIO_OK) {
            fail_io(line, rc, "connect to");
            return;
        }
        line->connecting = false;
        for (mb_dev *dev = line->devs; dev && line->fd >= 0; dev = dev->next) dev_up(dev);
        if (line->fd < 0) return;
    }
    int rc = receive(line, now);
    if (rc != PLCIO_OK) {
        fail_io(line, rc, "connection to");
        return;
    }
    if (handle_lost(line)) return;
    if ((rc = mb_session_on_timeout(line->session, now, answer, line)) != PLCIO_OK) {
        fail_io(line, rc, "connection to"); /* a stream that lost its framing */
        return;
    }
    if (handle_lost(line)) return;
    feed_session(line, now);
    if ((rc = send_frames(line, now)) != PLCIO_OK) fail_io(line, rc, "send to");
}

/* Everything happens here; callbacks that come back in (a write submitted from
 * a write's callback) only ask for another round. */
static void pump(mb_line *line)
{
    if (line->in_pump) {
        line->again = true;
        return;
    }
    line->in_pump = true;
    do {
        line->again = false;
        pump_once(line);
    } while (line->again && line->fd >= 0);
    line->in_pump = false;
    rewatch(line);
}

/* ---- lines ---- */

static bool same_line_settings(const mb_url_config *a, const mb_url_config *b)
{
    const plcio_serial_params *x = &a->link.serial, *y = &b->link.serial;
    return a->framing == b->framing && x->baud == y->baud && x->parity == y->parity && x->data_bits == y->data_bits &&
           x->stop_bits == y->stop_bits && x->rs485_rts == y->rs485_rts;
}

static mb_line *line_new(const mb_url_config *cfg, const sync_device *d)
{
    mb_line *line = calloc(1, sizeof *line);
    if (!line) return NULL;
    const mb_link *l = &cfg->link;
    line->cfg = *cfg;
    line->loop = sync_loop(d);
    line->logger = sync_logger(d);
    line->fd = -1;
    line->datagram = l->ops->datagram;
    line->serial = l->ops->serial;
    line->depth = cfg->framing == MB_FRAMING_MBAP ? MBAP_DEPTH : 1u; /* a bus: one request at a time */
    if (line->serial)
        snprintf(line->where, sizeof line->where, "%s", l->device);
    else
        snprintf(line->where, sizeof line->where, "%s:%d%s", l->host, l->port,
                 cfg->framing == MB_FRAMING_MBAP  ? ""
                 : cfg->framing == MB_FRAMING_RTU ? " (RTU over TCP)"
                                                  : " (ASCII over TCP)");
    line->session = mb_session_new(cfg->framing, line->depth);
    if (!line->session) {
        free(line);
        return NULL;
    }
    mb_session_set_datagram(line->session, line->datagram);
    if (line->serial && cfg->framing == MB_FRAMING_RTU) {
        uint32_t t15, t35;
        plcio_mb_rtu_timing(l->serial.baud, &t15, &t35);
        line->gap_ns = (uint64_t)t35 * 1000u;
        mb_session_set_silence(line->session, line->gap_ns); /* ends answers whose length the content does not tell */
    }
    return line;
}

static void line_free(mb_line *line)
{
    close_link(line);
    if (line->timer) plcio_loop_timer_cancel(line->loop, line->timer);
    line->resetting = true;
    mb_session_reset(line->session, PLCIO_ECANCELED, answer, line);
    mb_session_free(line->session);
    free(line);
}

/* The shared line for this serial port, or a new one. */
static int shared_line(const mb_url_config *cfg, const sync_device *d, mb_line **out, char *err, size_t cap)
{
    int rc = PLCIO_OK;
    pthread_mutex_lock(&shared_lock);
    mb_line *line = shared_lines;
    while (line && (line->loop != sync_loop(d) || strcmp(line->cfg.link.device, cfg->link.device) != 0))
        line = line->next;
    if (line && !same_line_settings(&line->cfg, cfg)) {
        snprintf(err, cap, "%s is also the line of device %s, with other settings (framing, baud, parity, data and stop bits must agree)",
                 cfg->link.device, line->devs->dev->name);
        line = NULL;
        rc = PLCIO_EINVAL;
    } else if (line) {
        for (const mb_dev *o = line->devs; o; o = o->next)
            if (o->unit == cfg->unit) {
                snprintf(err, cap, "unit %u on %s is already device %s", cfg->unit, cfg->link.device, o->dev->name);
                line = NULL;
                rc = PLCIO_EEXIST;
                break;
            }
    } else if ((line = line_new(cfg, d)) != NULL) {
        line->next = shared_lines;
        shared_lines = line;
    } else {
        rc = PLCIO_ENOMEM;
    }
    pthread_mutex_unlock(&shared_lock);
    *out = line;
    return rc;
}

static void unshare_line(mb_line *line)
{
    pthread_mutex_lock(&shared_lock);
    for (mb_line **p = &shared_lines; *p; p = &(*p)->next)
        if (*p == line) {
            *p = line->next;
            break;
        }
    pthread_mutex_unlock(&shared_lock);
}

/* ---- driver operations ---- */

static int mbd_open(sync_device *d, const plcio_url *url, char *err, size_t cap)
{
    (void)url;
    mb_url_config cfg;
    char why[160];
    int rc = mb_url_parse(d->url, false, &cfg, why, sizeof why);
    if (rc != PLCIO_OK) {
        snprintf(err, cap,
                 "not a Modbus URL (%s): modbus-tcp://HOST[:PORT], modbus-udp://HOST[:PORT], "
                 "modbus-rtu:///dev/ttyX?baud=19200&parity=E&data-bits=8&stop-bits=1, modbus-ascii:///dev/ttyX?..., "
                 "modbus-rtu://HOST:PORT (RTU over TCP); options unit, timeout, retries",
                 why[0] ? why : plcio_strerror(rc));
        return rc;
    }
    mb_dev *dev = calloc(1, sizeof *dev);
    if (!dev) return PLCIO_ENOMEM;
    dev->dev = d;
    dev->unit = cfg.unit;
    dev->timeout_ms = cfg.timeout_ms;
    dev->retries = cfg.retries;
    mb_line *line = NULL;
    if (cfg.link.ops->serial) rc = shared_line(&cfg, d, &line, err, cap);
    else if ((line = line_new(&cfg, d)) == NULL) rc = PLCIO_ENOMEM;
    if (rc != PLCIO_OK) {
        free(dev);
        return rc;
    }
    mb_dev **tail = &line->devs;
    while (*tail) tail = &(*tail)->next;
    *tail = dev;
    dev->line = line;
    d->drv = dev;
    return PLCIO_OK;
}

/* Report a request of a closing device cancelled; one on the wire stays in
 * the session (others share it) without an owner. */
static void cancel_op(mb_line *line, mb_op *o)
{
    mb_op copy = *o;
    if (o->state == OP_QUEUED) o->state = OP_FREE;
    o->owner = NULL;
    o->group = NULL;
    o->write = NULL;
    finish_op(line, &copy, PLCIO_ECANCELED, NULL);
}

static void mbd_close(sync_device *d)
{
    mb_dev *dev = d->drv;
    mb_line *line = dev->line;
    line->resetting = true;
    for (size_t i = 0; i < MAX_OPS; i++)
        if (line->ops[i].state != OP_FREE && line->ops[i].owner == dev) cancel_op(line, &line->ops[i]);
    line->resetting = false;
    for (mb_dev **p = &line->devs; *p; p = &(*p)->next)
        if (*p == dev) {
            *p = dev->next;
            break;
        }
    free(dev);
    d->drv = NULL;
    if (line->devs) return;
    if (line->serial) unshare_line(line);
    line_free(line);
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
    mb_dev *dev = d->drv;
    mb_line *line = dev->line;
    const mb_link *l = &line->cfg.link;
    if (line->fd >= 0) { /* a shared line another unit keeps open */
        if (!line->connecting) {
            dev_up(dev);
            pump(line);
        }
        return;
    }
    int rc;
    const char *what = "connect to";
    if (l->ops == &mb_link_serial) {
        rc = plcio_net_serial_open(l->device, &l->serial, &line->fd);
        what = "open";
    } else if (l->ops == &mb_link_udp) {
        rc = plcio_net_udp_open(l->host, l->port, false, &line->fd, NULL);
        what = "open a UDP socket to";
    } else {
        rc = plcio_net_tcp_connect_start(l->host, l->port, &line->fd);
    }
    if (rc != PLCIO_OK && rc != PLCIO_EAGAIN) {
        line->fd = -1;
        char msg[400];
        snprintf(msg, sizeof msg, "%s %s: %s", what, line->where, plcio_strerror(rc));
        sync_device_down(d, rc, msg);
        return;
    }
    line->bus_ready_ns = plcio_monotonic_ns() + line->gap_ns;
    line->connecting = l->ops == &mb_link_tcp;
    if (!line->connecting) {
        /* UDP and serial lines have no connection: open is up; a unit that does
         * not answer is found out by its timeouts (or a refused datagram). */
        dev_up(dev);
        if (line->fd < 0) return;
    }
    pump(line);
}

static void mbd_read(sync_device *d, sync_group *g)
{
    mb_dev *dev = d->drv;
    mb_line *line = dev->line;
    mb_plan *p = g->plan;
    p->outstanding = 0;
    p->first_err = PLCIO_OK;
    if (line->fd < 0) { /* the link broke in this loop round: the engine hears it next */
        sync_group_done(g, PLCIO_ENOTCONN, 0, 0);
        return;
    }
    for (size_t r = 0; r < p->nreads; r++) {
        mb_op *o = new_op(line, dev);
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
    pump(line);
}

static void mbd_write(sync_device *d, sync_write *w)
{
    mb_dev *dev = d->drv;
    mb_line *line = dev->line;
    const sync_tag *t = w->tag;
    if (t->at.mb.table != PLCIO_MB_TABLE_COIL && t->at.mb.table != PLCIO_MB_TABLE_HOLDING_REGISTER) {
        sync_write_done(w, PLCIO_EACCESS, "discrete inputs and input registers are read-only");
        return;
    }
    if (t->at.mb.table == PLCIO_MB_TABLE_HOLDING_REGISTER && (w->size > (size_t)MAX_WRITE_REGS * 2 || w->size % 2)) {
        sync_write_done(w, PLCIO_ERANGE, "value longer than one write request (123 registers)");
        return;
    }
    if (line->fd < 0) {
        write_answer(line, w, PLCIO_ENOTCONN, NULL, false);
        return;
    }
    mb_op *o = new_op(line, dev);
    if (!o) {
        sync_write_done(w, PLCIO_ELIMIT, "too many requests waiting for this line");
        return;
    }
    o->write = w;
    pump(line);
}

const sync_driver_ops sync_driver_modbus = {"modbus-", mbd_open, mbd_close, mbd_add_tag, mbd_plan, mbd_free_plan,
                                            mbd_connect, mbd_read, mbd_write};
