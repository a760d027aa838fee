/* The sync engine's Modbus driver: every modbus-* URL of the design on the
 * engine's event loop, through the Modbus client's event-loop mode
 * (plcio/modbus.h) and nothing else of the library.
 *
 *   modbus-tcp://HOST[:PORT]     MBAP over TCP, 8 requests in flight (transaction ids)
 *   modbus-tls://HOST[:802]?ca=&cert=&key=  MBAP inside TLS (Modbus/TCP Security), as TCP
 *   modbus-udp://HOST[:PORT]     MBAP over UDP, one datagram per request, 8 in flight
 *   modbus-rtu:///dev/ttyX?...   RTU on a serial line: one request at a time, t3.5
 *                                of silence before each request (SL 2.5.1.1)
 *   modbus-ascii:///dev/ttyX?... ASCII on a serial line: one request at a time
 *   modbus-rtu://HOST:PORT       RTU (or ASCII) frames over TCP (gateways): one at a time
 *
 * A line (mb_line) is one client: one socket or serial port. A device
 * (mb_dev) is one unit on it. Devices of one engine whose URLs name the same
 * serial port share its line: several units on one RS-485 bus, one request on
 * the wire at a time, in the order they were queued. The engine owns the
 * table of shared lines (plcio_sync_device_shared): nothing is shared between
 * engines, nothing is process-global.
 *
 * The client queues the requests, sends them when the link can take them
 * (so a timeout counts from the wire) and sends a request that got no answer
 * again up to `retries` times (URL; 1 on serial lines). Lost: a closed
 * connection, a refused datagram (ICMP), a failing serial port end the line
 * (every device on it goes down); three requests of a unit in a row without
 * an answer end that unit (and the line too when the unit has it alone: TCP
 * half-open, a gateway gone). The engine marks the values stale and
 * reconnects with backoff; a unit on a shared line that comes back finds the
 * line open.
 *
 * A group's read plan is made once: tags of the same table whose registers
 * (bits) are close share one request, within 125 registers / 2000 bits on
 * every transport.
 *
 * Shared memory holds every tag the way an S7 PLC would: big-endian bytes
 * (ABCD). Registers read in another word/byte order are turned into ABCD on the
 * way in and back on the way out; coils and discrete inputs are one byte, 0/1. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plcio/modbus.h"
#include "plcio/address.h"
#include "plcio/driver.h"

/* Where a Modbus tag lives: the driver's own, in the tag's location bytes. */
typedef struct mb_location {
    plcio_mb_table table;
    uint16_t address;  /* first register / bit */
    uint16_t quantity; /* registers / bits */
    plcio_mb_order order;
} mb_location;
_Static_assert(sizeof(mb_location) <= PLCIO_DRIVER_LOCATION_SIZE, "a Modbus location fits a tag's location bytes");
#define MBAT(t) ((mb_location *)plcio_sync_tag_location(t))

#define MERGE_GAP_REGS 8u
#define MAX_READ_REGS  125u  /* AP 6.3: FC3/FC4 read at most 125 registers */
#define MAX_READ_BITS  2000u /* AP 6.1: FC1/FC2 read at most 2000 bits */
#define MAX_WRITE_REGS 123u  /* AP 6.12: FC16 writes at most 123 registers */
#define MBAP_DEPTH     8u    /* requests in flight on MBAP links (TCP, UDP) */
#define MAX_TAG_BYTES  250u  /* 125 registers: the most one read request carries */
#define MAX_OPS        512u  /* requests queued or in flight per line */
#define SILENT_LIMIT   3u    /* requests of a unit in a row without an answer: the unit is lost */

typedef struct mb_read {
    plcio_mb_table table;
    uint16_t addr, qty;
    uint16_t *regs; /* register tables: qty registers */
    uint8_t *bits;  /* bit tables: one byte per bit */
    uint8_t warned; /* the exception last logged for this read (0: none): logged again only when it changes */
} mb_read;

typedef struct mb_plan {
    mb_read *reads;
    size_t nreads;
    size_t *read_of; /* per tag */
    uint16_t *regs;
    uint8_t *bits;
    size_t bytes;       /* bytes read per cycle */
    size_t outstanding; /* requests of the running cycle */
    int first_err;
} mb_plan;

typedef struct mb_line mb_line;

/* One device: a unit on a line. */
typedef struct mb_dev {
    plcio_sync_device *dev;
    mb_line *line;
    uint8_t unit;
    int timeout_ms;
    unsigned retries;
    bool up;         /* reported up, not down since */
    unsigned silent; /* requests in a row that timed out */
    bool lost;       /* noted in a callback, handled after the client's round */
    struct mb_dev *next;
} mb_dev;

/* One request of a device: a read of group->plan->reads[read], or a write. */
typedef struct mb_op {
    struct mb_op *prev, *next; /* the line's live requests (next alone: its spares) */
    plcio_modbus_request req;  /* lent to the client until op_done */
    mb_line *line;
    mb_dev *owner;
    plcio_sync_group *group;
    size_t read;
    plcio_sync_write_req *write;
    uint8_t bit;
    uint16_t regs[MAX_WRITE_REGS];
} mb_op;

struct mb_line {
    mb_line *next; /* the engine's shared serial lines */
    void **shared; /* the engine's list this line is on; NULL: a line of its own */
    plcio_modbus_client *client;
    plcio_modbus_client_settings set;
    plcio_loop_watch watch;
    bool in_pump, again;
    mb_dev *devs;
    mb_op *live, *spare;
    size_t nlive;
};

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

/* ---- requests ---- */

static mb_op *op_new(mb_line *line, mb_dev *owner)
{
    if (line->nlive >= MAX_OPS) return NULL;
    mb_op *o = line->spare;
    if (o)
        line->spare = o->next;
    else if ((o = malloc(sizeof *o)) == NULL)
        return NULL;
    memset(o, 0, offsetof(mb_op, regs));
    o->line = line;
    o->owner = owner;
    o->next = line->live;
    if (line->live) line->live->prev = o;
    line->live = o;
    line->nlive++;
    return o;
}

static void op_release(mb_line *line, mb_op *o)
{
    if (o->prev)
        o->prev->next = o->next;
    else
        line->live = o->next;
    if (o->next) o->next->prev = o->prev;
    line->nlive--;
    o->prev = NULL;
    o->next = line->spare;
    line->spare = o;
}

/* ---- answers ---- */

/* An exception (a tag past the end of the device's table) comes back every
 * cycle: log it once when it starts or changes and once when the read works
 * again; the tags keep quality ERROR meanwhile. */
static void note_exception(const plcio_sync_group *g, mb_read *rd, int result, uint8_t exception)
{
    const char *table = rd->table == PLCIO_MB_TABLE_COIL             ? "coils"
                        : rd->table == PLCIO_MB_TABLE_DISCRETE_INPUT ? "discrete inputs"
                        : rd->table == PLCIO_MB_TABLE_INPUT_REGISTER ? "input registers"
                                                                     : "holding registers";
    const plcio_sync_device *dv = plcio_sync_group_device(g);
    if (result == PLCIO_EMBEXC && exception != rd->warned) {
        plcio_sync_device_log(dv, PLCIO_LOG_WARN,
                              "%s/%s: read %u %s from %u: exception %u: %s (tags in error until this changes)",
                              plcio_sync_device_name(dv), plcio_sync_group_name(g), rd->qty, table, rd->addr, exception,
                              plcio_mb_exception_text(exception));
        rd->warned = exception;
    } else if (result == PLCIO_OK && rd->warned) {
        plcio_sync_device_log(dv, PLCIO_LOG_INFO, "%s/%s: %u %s from %u read again", plcio_sync_device_name(dv),
                              plcio_sync_group_name(g), rd->qty, table, rd->addr);
        rd->warned = 0;
    }
}

static void read_answer(plcio_sync_group *g, size_t r, int result, uint8_t exception)
{
    mb_plan *p = plcio_sync_group_plan(g);
    mb_read *rd = &p->reads[r];
    note_exception(g, rd, result, exception);
    for (size_t i = 0; i < plcio_sync_group_tag_count(g); i++) {
        if (p->read_of[i] != r) continue;
        plcio_sync_tag *t = plcio_sync_group_tag(g, i);
        if (result != PLCIO_OK) {
            plcio_sync_tag_error(t, result);
            continue;
        }
        uint8_t raw[MAX_TAG_BYTES];
        if (bit_table(rd->table)) {
            raw[0] = rd->bits[MBAT(t)->address - rd->addr];
        } else {
            if (plcio_sync_tag_size(t) > sizeof raw) {
                plcio_sync_tag_error(t, PLCIO_ERANGE);
                continue;
            }
            plcio_mb_regs_to_bytes(rd->regs + (MBAT(t)->address - rd->addr), plcio_sync_tag_size(t) / 2u, raw);
            if (plcio_sync_tag_type(t) != PLCIO_TYPE_STRING) to_abcd(raw, plcio_sync_tag_size(t), MBAT(t)->order);
        }
        plcio_sync_tag_value(t, raw, plcio_sync_tag_size(t));
    }
    if (result != PLCIO_OK && p->first_err == PLCIO_OK) p->first_err = result;
    if (p->outstanding && --p->outstanding == 0) {
        int err = p->first_err;
        plcio_sync_group_done(g, err == PLCIO_EMBEXC ? PLCIO_OK : err, p->nreads, err ? 0 : p->bytes);
    }
}

static void write_answer(const mb_line *line, plcio_sync_write_req *w, int result, uint8_t exception, bool sent)
{
    char msg[400] = "";
    if (result == PLCIO_EMBEXC)
        snprintf(msg, sizeof msg, "exception %u: %s", exception, plcio_mb_exception_text(exception));
    else if (result != PLCIO_OK && sent)
        snprintf(msg, sizeof msg, "%s (%s) before the device answered: the write may or may not have happened",
                 plcio_strerror(result), line->set.where);
    else if (result != PLCIO_OK)
        snprintf(msg, sizeof msg, "not sent: %s (%s)", plcio_strerror(result), line->set.where);
    plcio_sync_write_done(w, result, msg);
}

/* Take op off the line and report its result. */
static void finish_op(mb_line *line, mb_op *o, int result)
{
    plcio_sync_group *g = o->group;
    size_t read = o->read;
    plcio_sync_write_req *w = o->write;
    uint8_t exception = o->req.exception;
    bool sent = o->req.sent;
    op_release(line, o);
    if (g)
        read_answer(g, read, result, exception);
    else if (w)
        write_answer(line, w, result, exception, sent);
}

/* The client's callback, inside its process(): never closes anything (the
 * client is still working); a lost unit is noted in its dev->lost. */
static void op_done(void *ctx, plcio_modbus_client *client, plcio_modbus_request *req)
{
    (void)client;
    mb_op *o = ctx;
    mb_dev *dev = o->owner;
    if (dev->up && req->result == PLCIO_ETIMEDOUT) {
        if (++dev->silent >= SILENT_LIMIT) dev->lost = true;
    } else if (req->result == PLCIO_OK || req->result == PLCIO_EMBEXC) {
        dev->silent = 0;
    }
    finish_op(o->line, o, req->result);
}

/* ---- the line ---- */

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
    (void)loop;
    pump(ctx);
}

/* Keep the loop's watch in step with the client. */
static void rewatch(mb_line *line)
{
    uint64_t deadline = 0;
    unsigned wants = plcio_modbus_client_wants(line->client, &deadline);
    unsigned events = ((wants & PLCIO_MODBUS_WANT_READ) ? PLCIO_IO_READ : 0u) |
                      ((wants & PLCIO_MODBUS_WANT_WRITE) ? PLCIO_IO_WRITE : 0u);
    plcio_loop_watch_set(&line->watch, plcio_modbus_client_fd(line->client), events, deadline);
}

static void dev_up(mb_dev *dev)
{
    dev->up = true;
    dev->silent = 0;
    dev->lost = false;
    plcio_sync_device_up(dev->dev); /* queued writes start here (their pump comes back as `again`) */
}

static void dev_down(mb_dev *dev, int err, const char *msg)
{
    dev->up = false;
    dev->silent = 0;
    dev->lost = false;
    plcio_sync_device_down(dev->dev, err, msg);
}

/* The line is lost (or could not be opened): close it, end every request
 * with err, every device on it goes down; the engine reopens it after its
 * backoff. */
static void fail(mb_line *line, int err, const char *msg)
{
    char copy[400];
    snprintf(copy, sizeof copy, "%s", msg); /* msg may be the client's last error */
    plcio_loop_watch_clear(&line->watch);
    plcio_modbus_client_close(line->client); /* forgets its requests: they are ended here */
    while (line->live)
        finish_op(line, line->live, err);
    for (mb_dev *dev = line->devs; dev; dev = dev->next)
        dev_down(dev, err, copy);
}

/* Units found silent in the callbacks. A unit alone on its line takes the
 * line with it (reopened: a half-open TCP connection, a gateway restarted);
 * on a shared bus the others go on. */
static bool handle_lost(mb_line *line)
{
    for (mb_dev *dev = line->devs; dev; dev = dev->next) {
        if (!dev->lost) continue;
        char msg[400];
        snprintf(msg, sizeof msg, "no answer from %s (unit %u): %u requests in a row timed out after %d ms",
                 line->set.where, dev->unit, SILENT_LIMIT, dev->timeout_ms);
        if (!line->devs->next) {
            fail(line, PLCIO_ETIMEDOUT, msg);
            return true;
        }
        for (mb_op *o = line->live, *next; o; o = next) {
            next = o->next;
            if (o->owner == dev && !o->req.sent && plcio_modbus_cancel(line->client, &o->req))
                finish_op(line, o, PLCIO_ETIMEDOUT);
        }
        dev_down(dev, PLCIO_ETIMEDOUT, msg);
    }
    return false;
}

/* Everything happens here; callbacks that come back in (a write submitted from
 * a write's callback, a device coming up) only ask for another round. */
static void pump(mb_line *line)
{
    if (line->in_pump) {
        line->again = true;
        return;
    }
    line->in_pump = true;
    do {
        line->again = false;
        bool was_connected = plcio_modbus_client_is_connected(line->client);
        int rc = plcio_modbus_client_process(line->client);
        if (rc != PLCIO_OK) {
            fail(line, rc, plcio_modbus_client_last_error(line->client)->text);
            break;
        }
        if (!was_connected && plcio_modbus_client_is_connected(line->client))
            for (mb_dev *dev = line->devs; dev && plcio_modbus_client_fd(line->client) >= 0; dev = dev->next)
                dev_up(dev);
        if (handle_lost(line)) break;
    } while (line->again && plcio_modbus_client_fd(line->client) >= 0);
    line->in_pump = false;
    rewatch(line);
}

static void line_free(mb_line *line)
{
    plcio_loop_watch_clear(&line->watch);
    plcio_modbus_client_free(line->client);
    mb_op *lists[2] = {line->live, line->spare}; /* live is empty after the devices closed */
    for (size_t i = 0; i < 2; i++)
        while (lists[i]) {
            mb_op *o = lists[i];
            lists[i] = o->next;
            free(o);
        }
    free(line);
}

/* client: moved to the line (freed on failure). */
static mb_line *line_new(plcio_modbus_client *client, plcio_sync_device *d)
{
    mb_line *line = calloc(1, sizeof *line);
    if (!line) {
        plcio_modbus_client_free(client);
        return NULL;
    }
    line->client = client;
    plcio_modbus_client_get_settings(client, &line->set);
    plcio_modbus_client_set_depth(client, MBAP_DEPTH); /* RTU and ASCII links stay at one */
    plcio_loop_watch_init(&line->watch, plcio_sync_device_loop(d), on_io, on_deadline, line);
    return line;
}

static bool same_line_settings(const plcio_modbus_client_settings *a, const plcio_modbus_client_settings *b)
{
    return !strcmp(a->framing, b->framing) && a->baud == b->baud && a->parity == b->parity &&
           a->data_bits == b->data_bits && a->stop_bits == b->stop_bits && a->rs485 == b->rs485;
}

/* The engine's line for this serial port, or a new one. client: moved. */
static int shared_line(plcio_modbus_client *client, plcio_sync_device *d, mb_line **out, plcio_error *err)
{
    void **registry = plcio_sync_device_shared(d);
    plcio_modbus_client_settings set;
    plcio_modbus_client_get_settings(client, &set);
    mb_line *line = registry ? *registry : NULL;
    while (line && strcmp(line->set.device, set.device) != 0)
        line = line->next;
    *out = NULL;
    if (line && !same_line_settings(&line->set, &set)) {
        (void)plcio_error_set(err, PLCIO_EINVAL,
                              "%s is also the line of device %s, with other settings (framing, baud, parity, data and "
                              "stop bits must agree)",
                              set.device, plcio_sync_device_name(line->devs->dev));
        plcio_modbus_client_free(client); /* after the message: set's strings are the client's */
        return PLCIO_EINVAL;
    }
    if (line) {
        for (const mb_dev *o = line->devs; o; o = o->next)
            if (o->unit == set.unit) {
                (void)plcio_error_set(err, PLCIO_EEXIST, "unit %u on %s is already device %s", set.unit, set.device,
                                      plcio_sync_device_name(o->dev));
                plcio_modbus_client_free(client);
                return PLCIO_EEXIST;
            }
        plcio_modbus_client_free(client); /* the line's client serves this unit too */
        *out = line;
        return PLCIO_OK;
    }
    if ((line = line_new(client, d)) == NULL) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    if (registry) {
        line->shared = registry;
        line->next = *registry;
        *registry = line;
    }
    *out = line;
    return PLCIO_OK;
}

static void unshare_line(mb_line *line)
{
    if (!line->shared) return;
    for (mb_line **p = (mb_line **)line->shared; *p; p = &(*p)->next)
        if (*p == line) {
            *p = line->next;
            break;
        }
}

/* ---- driver operations ---- */

static int mbd_open(plcio_sync_device *d, const plcio_url *url, plcio_error *err)
{
    (void)url;
    plcio_modbus_client_options mo;
    plcio_modbus_client_options_init(&mo);
    mo.logger = *plcio_sync_device_logger(d);
    plcio_modbus_client *client;
    plcio_error why;
    int rc = plcio_modbus_client_new(plcio_sync_device_url(d), &mo, &client, &why);
    if (rc != PLCIO_OK) {
        return plcio_error_set(
            err, rc,
            "not a Modbus URL (%s): modbus-tcp://HOST[:PORT], modbus-tls://HOST[:802]?ca=FILE&cert=FILE&key=FILE, "
            "modbus-udp://HOST[:PORT], "
            "modbus-rtu:///dev/ttyX?baud=19200&parity=E&data-bits=8&stop-bits=1, modbus-ascii:///dev/ttyX?..., "
            "modbus-rtu://HOST:PORT (RTU over TCP); options unit, timeout, retries",
            why.text);
    }
    plcio_modbus_client_settings set;
    plcio_modbus_client_get_settings(client, &set);
    mb_dev *dev = calloc(1, sizeof *dev);
    if (!dev) {
        plcio_modbus_client_free(client);
        return PLCIO_ENOMEM;
    }
    dev->dev = d;
    dev->unit = set.unit;
    dev->timeout_ms = set.timeout_ms;
    dev->retries = set.retries;
    mb_line *line = NULL;
    if (!strcmp(set.transport, "serial"))
        rc = shared_line(client, d, &line, err);
    else
        rc = (line = line_new(client, d)) != NULL ? PLCIO_OK : PLCIO_ENOMEM;
    if (rc != PLCIO_OK || !line) {
        free(dev);
        return rc != PLCIO_OK ? rc : PLCIO_ENOMEM;
    }
    mb_dev **tail = &line->devs;
    while (*tail)
        tail = &(*tail)->next;
    *tail = dev;
    dev->line = line;
    plcio_sync_device_set_data(d, dev);
    return PLCIO_OK;
}

static void mbd_close(plcio_sync_device *d)
{
    mb_dev *dev = plcio_sync_device_data(d);
    mb_line *line = dev->line;
    /* Its requests end cancelled; one on the wire stays in flight (others share the
     * line) and its answer is dropped. */
    for (mb_op *o = line->live, *next; o; o = next) {
        next = o->next;
        if (o->owner != dev) continue;
        plcio_modbus_cancel(line->client, &o->req);
        finish_op(line, o, PLCIO_ECANCELED);
    }
    for (mb_dev **p = &line->devs; *p; p = &(*p)->next)
        if (*p == dev) {
            *p = dev->next;
            break;
        }
    free(dev);
    plcio_sync_device_set_data(d, NULL);
    if (line->devs) return;
    unshare_line(line);
    line_free(line);
}

static int mbd_add_tag(plcio_sync_device *d, plcio_sync_tag *t, const char *address, const plcio_layout_member *m,
                       int db, plcio_error *err)
{
    (void)d;
    (void)db;
    if (m) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED,
                               "layout members are S7 data blocks; give Modbus tags by address (hr100:REAL)");
    }
    plcio_mb_address a;
    int rc = plcio_mb_address_parse(address, &a, err);
    if (rc != PLCIO_OK) return rc;
    if (a.count != 1) {
        return plcio_error_set(err, PLCIO_EUNSUPPORTED, "an array address is not one tag: list its elements");
    }
    MBAT(t)->table = a.table;
    MBAT(t)->address = a.address;
    MBAT(t)->quantity = (uint16_t)a.quantity;
    MBAT(t)->order = a.order;
    plcio_sync_tag_set_shape(t, a.type, a.length, 0, bit_table(a.table) ? 1u : 2u * a.quantity);
    return PLCIO_OK;
}

static void mbd_free_plan(plcio_sync_group *g)
{
    mb_plan *p = plcio_sync_group_plan(g);
    if (!p) return;
    free(p->reads);
    free(p->read_of);
    free(p->regs);
    free(p->bits);
    free(p);
    plcio_sync_group_set_plan(g, NULL);
}

/* A tag's place in address order: table, then first register (qsort takes no
 * context, so the key travels with the index: no global to sort by). */
typedef struct tag_key {
    uint32_t key; /* table << 16 | address */
    size_t index; /* in the group */
} tag_key;

static int cmp_key(const void *a, const void *b)
{
    const tag_key *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int mbd_plan(plcio_sync_device *d, plcio_sync_group *g, plcio_error *err)
{
    (void)d;
    size_t n = plcio_sync_group_tag_count(g);
    mb_plan *p = calloc(1, sizeof *p);
    tag_key *order = malloc(n * sizeof *order);
    uint32_t *end = malloc(n * sizeof *end);
    if (p) {
        p->reads = calloc(n, sizeof *p->reads);
        p->read_of = malloc(n * sizeof *p->read_of);
    }
    plcio_sync_group_set_plan(g, p);
    if (!p || !order || !end || !p->reads || !p->read_of) {
        free(order);
        free(end);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (tag_key){
            (uint32_t)MBAT(plcio_sync_group_tag(g, i))->table << 16 | MBAT(plcio_sync_group_tag(g, i))->address, i};
    qsort(order, n, sizeof *order, cmp_key);
    for (size_t k = 0; k < n; k++) {
        const plcio_sync_tag *t = plcio_sync_group_tag(g, order[k].index);
        uint32_t t_end = (uint32_t)MBAT(t)->address + MBAT(t)->quantity;
        mb_read *last = p->nreads ? &p->reads[p->nreads - 1] : NULL;
        uint32_t limit = bit_table(MBAT(t)->table) ? MAX_READ_BITS : MAX_READ_REGS;
        uint32_t new_end = last ? (t_end > end[p->nreads - 1] ? t_end : end[p->nreads - 1]) : 0;
        if (last && last->table == MBAT(t)->table && MBAT(t)->address <= end[p->nreads - 1] + MERGE_GAP_REGS &&
            new_end - last->addr <= limit) {
            end[p->nreads - 1] = new_end;
        } else {
            p->reads[p->nreads].table = MBAT(t)->table;
            p->reads[p->nreads].addr = MBAT(t)->address;
            end[p->nreads] = t_end;
            p->nreads++;
        }
        p->read_of[order[k].index] = p->nreads - 1;
    }
    size_t nregs = 0, nbits = 0;
    for (size_t r = 0; r < p->nreads; r++) {
        p->reads[r].qty = (uint16_t)(end[r] - p->reads[r].addr);
        if (bit_table(p->reads[r].table))
            nbits += p->reads[r].qty;
        else
            nregs += p->reads[r].qty;
    }
    p->regs = malloc((nregs ? nregs : 1) * sizeof *p->regs);
    p->bits = malloc(nbits ? nbits : 1);
    if (!p->regs || !p->bits) {
        free(order);
        free(end);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    size_t reg_off = 0, bit_off = 0;
    for (size_t r = 0; r < p->nreads; r++) {
        if (bit_table(p->reads[r].table)) {
            p->reads[r].bits = p->bits + bit_off;
            bit_off += p->reads[r].qty;
        } else {
            p->reads[r].regs = p->regs + reg_off;
            reg_off += p->reads[r].qty;
        }
    }
    size_t total = nbits + 2u * nregs;
    p->bytes = total;
    free(order);
    free(end);
    return PLCIO_OK;
}

static void mbd_connect(plcio_sync_device *d)
{
    mb_dev *dev = plcio_sync_device_data(d);
    mb_line *line = dev->line;
    if (plcio_modbus_client_fd(line->client) >= 0) { /* a shared line another unit keeps open */
        if (plcio_modbus_client_is_connected(line->client)) {
            dev_up(dev);
            pump(line);
        }
        return;
    }
    int rc = plcio_modbus_client_connect_async(line->client);
    if (rc != PLCIO_OK) {
        plcio_sync_device_down(d, rc, plcio_modbus_client_last_error(line->client)->text);
        return;
    }
    if (plcio_modbus_client_is_connected(line->client)) {
        /* UDP and serial lines have no connection: open is up; a unit that does
         * not answer is found out by its timeouts (or a refused datagram). */
        dev_up(dev);
        if (plcio_modbus_client_fd(line->client) < 0) return;
    }
    pump(line);
}

static const uint8_t read_fc[] = {[PLCIO_MB_TABLE_COIL] = 1,
                                  [PLCIO_MB_TABLE_DISCRETE_INPUT] = 2,
                                  [PLCIO_MB_TABLE_INPUT_REGISTER] = 4,
                                  [PLCIO_MB_TABLE_HOLDING_REGISTER] = 3};

static void op_settings(mb_op *o, const mb_dev *dev)
{
    o->req.unit = dev->unit;
    o->req.timeout_ms = dev->timeout_ms;
    o->req.retries = dev->retries ? (int)dev->retries : PLCIO_MODBUS_NO_RETRY;
}

static void mbd_read(plcio_sync_device *d, plcio_sync_group *g)
{
    mb_dev *dev = plcio_sync_device_data(d);
    mb_line *line = dev->line;
    mb_plan *p = plcio_sync_group_plan(g);
    p->outstanding = 0;
    p->first_err = PLCIO_OK;
    if (!plcio_modbus_client_is_connected(line->client)) { /* the link broke in this loop round */
        plcio_sync_group_done(g, PLCIO_ENOTCONN, 0, 0);
        return;
    }
    for (size_t r = 0; r < p->nreads; r++) {
        const mb_read *rd = &p->reads[r];
        mb_op *o = op_new(line, dev);
        int rc = o ? PLCIO_OK : PLCIO_ELIMIT;
        if (o) {
            o->group = g;
            o->read = r;
            op_settings(o, dev);
            o->req.function = read_fc[rd->table];
            o->req.addr = rd->addr;
            o->req.n = rd->qty;
            o->req.regs = rd->regs;
            o->req.bits = rd->bits;
            rc = plcio_modbus_submit(line->client, &o->req, op_done, o);
            if (rc != PLCIO_OK) op_release(line, o);
        }
        if (rc != PLCIO_OK) {
            /* nothing more can be queued: what was queued completes the cycle */
            p->first_err = rc;
            if (p->outstanding == 0) plcio_sync_group_done(g, rc, 0, 0);
            break;
        }
        p->outstanding++;
    }
    pump(line);
}

static void mbd_write(plcio_sync_device *d, plcio_sync_write_req *w)
{
    mb_dev *dev = plcio_sync_device_data(d);
    mb_line *line = dev->line;
    const plcio_sync_tag *t = plcio_sync_write_tag(w);
    size_t wsize;
    const uint8_t *wdata = plcio_sync_write_data(w, &wsize);
    if (MBAT(t)->table != PLCIO_MB_TABLE_COIL && MBAT(t)->table != PLCIO_MB_TABLE_HOLDING_REGISTER) {
        plcio_sync_write_done(w, PLCIO_EACCESS, "discrete inputs and input registers are read-only");
        return;
    }
    if (MBAT(t)->table == PLCIO_MB_TABLE_HOLDING_REGISTER && (wsize > (size_t)MAX_WRITE_REGS * 2 || wsize % 2)) {
        plcio_sync_write_done(w, PLCIO_ERANGE, "value longer than one write request (123 registers)");
        return;
    }
    if (!plcio_modbus_client_is_connected(line->client)) {
        write_answer(line, w, PLCIO_ENOTCONN, 0, false);
        return;
    }
    mb_op *o = op_new(line, dev);
    if (!o) {
        plcio_sync_write_done(w, PLCIO_ELIMIT, "too many requests waiting for this line");
        return;
    }
    o->write = w;
    op_settings(o, dev);
    o->req.addr = MBAT(t)->address;
    if (MBAT(t)->table == PLCIO_MB_TABLE_COIL) {
        o->bit = wdata[0] & 1u;
        o->req.function = 5; /* AP 6.5 */
        o->req.bits = &o->bit;
    } else {
        uint8_t bytes[2 * MAX_WRITE_REGS];
        memcpy(bytes, wdata, wsize);
        if (plcio_sync_tag_type(t) != PLCIO_TYPE_STRING)
            to_abcd(bytes, wsize, MBAT(t)->order); /* ABCD -> device order */
        plcio_mb_bytes_to_regs(bytes, wsize / 2, o->regs);
        o->req.function = 16; /* AP 6.12 */
        o->req.n = (uint16_t)(wsize / 2);
        o->req.regs = o->regs;
    }
    int rc = plcio_modbus_submit(line->client, &o->req, op_done, o);
    if (rc != PLCIO_OK) {
        op_release(line, o);
        write_answer(line, w, rc, 0, false);
        return;
    }
    pump(line);
}

const plcio_driver plcio_driver_modbus = {
    .abi = PLCIO_DRIVER_ABI,
    .scheme = "modbus-",
    .open = mbd_open,
    .close = mbd_close,
    .add_tag = mbd_add_tag,
    .plan = mbd_plan,
    .free_plan = mbd_free_plan,
    .connect = mbd_connect,
    .read = mbd_read,
    .write = mbd_write,
};
