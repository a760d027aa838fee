/* The live image served as Modbus TCP (modbus-server: in the configuration,
 * plcio/sync.h): a sink that keeps the mapped tags' values as registers and
 * bits, and a plcio Modbus server on the engine's own loop that answers from
 * them through its callbacks. Everything runs on the engine's thread: the
 * sink is inline (it only copies bytes), the server's callbacks run inside
 * the engine's loop rounds.
 *
 * Reads of a range that holds a tag without a good value (not read yet,
 * stale, device down) get exception 04 (server device failure), so a SCADA
 * never takes an old value for a live one; addresses between mapped tags
 * read 0; beyond the last mapped address, exception 02. Writes (FC 5, 6,
 * 15, 16, 22, 23) are refused with exception 01 unless `writes: true`; with
 * it, every tag a write touches must be writable by the engine's own rules
 * (the tag's `writable`, as for the shared-memory ring), else exception 02;
 * the written registers are merged into the tag's current ones, decoded by
 * the tag's type and order, and handed to plcio_sync_write.
 *
 * A write is answered only once the PLC has answered (every request reaches
 * the sink through the server's forwarding hook, mb_server.h): the normal
 * echo when every tag it touched was written, exception 04 when any write
 * failed (device down, refused, timed out). Modbus has no partial answer: a
 * write of several tags of which some failed is answered 04 although the
 * others are in the PLC. While a write is pending, later requests on the same
 * connection wait behind it (answered in order); other connections go on.
 *
 * FC 23 (read/write multiple registers) writes first and reads after, as the
 * spec says (AP 6.17): its read part is answered from the image once the PLC
 * has acknowledged the write (the engine publishes a written value to the
 * sinks before it reports the write done), so it shows the written values,
 * in every place the written tags are mapped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"
#include "plcio/modbus.h"
#include "plcio/value.h"
#include "sync/sync_engine_priv.h"

#define TABLES 5 /* indexed by plcio_modbus_area: 0 coils, 1 discrete, 3 input, 4 holding */

typedef struct mbo mbo;

/* A write request from a Modbus client waiting for the PLC. */
typedef struct mbo_pending {
    mbo *m;
    struct mbo_pending *next;
    mb_fwd_origin o;
    uint8_t resp[PLCIO_MB_MAX_PDU]; /* the answer the server made (echo or exception) */
    size_t resp_len;
    uint8_t read_after[5]; /* FC 23: its read part as an FC 3 request, answered after the write */
    unsigned outstanding;  /* engine writes not done yet, + 1 while the request is being taken */
    int failed;            /* the first failure */
    char why[160];
} mbo_pending;

typedef struct mbo_entry {
    mbo *m;
    size_t tag;
    const plcio_sink_tag *t;
    int table;
    uint16_t address, count; /* registers (or 1 bit) */
    plcio_mb_order order;
    bool writable;
    int quality; /* plcio_shm_quality; 0 before the first value */
} mbo_entry;

struct mbo {
    plcio_sync *engine;
    plcio_logger logger;
    plcio_modbus_server *srv;
    mbo_entry *e;
    size_t n;
    uint16_t *image[TABLES]; /* registers, or bits as 0/1 */
    uint32_t top[TABLES];    /* one past the highest mapped address */
    bool writes;
    mbo_pending *pending; /* writes waiting for the PLC */
    mbo_pending *cur;     /* the request being taken (write_table adds its writes) */
};

static bool is_bits(int table) { return table == PLCIO_MODBUS_COILS || table == PLCIO_MODBUS_DISCRETE_INPUTS; }

static const char *table_name(int table)
{
    switch (table) {
    case PLCIO_MODBUS_COILS: return "coil";
    case PLCIO_MODBUS_DISCRETE_INPUTS: return "discrete";
    case PLCIO_MODBUS_INPUT_REGISTERS: return "input";
    default: return "holding";
    }
}

/* ---- values <-> registers ---- */

/* The tag's PLC bytes (big-endian) as the entry's registers, in its order. */
static void value_to_regs(const mbo_entry *x, const uint8_t *v, size_t size, uint16_t *regs)
{
    if (x->t->type == PLCIO_TYPE_BOOL) {
        regs[0] = size && ((v[0] >> x->t->bit) & 1u);
        return;
    }
    uint8_t bytes[512] = {0};
    memcpy(bytes, v, size < sizeof bytes ? size : sizeof bytes);
    plcio_mb_bytes_to_regs(bytes, x->count, regs);
    if (x->count == 2) plcio_mb_put_u32(regs, plcio_mb_get_u32(regs, PLCIO_MB_ABCD), x->order);
    if (x->count == 4) plcio_mb_put_u64(regs, plcio_mb_get_u64(regs, PLCIO_MB_ABCD), x->order);
}

static uint16_t value_to_bit(const mbo_entry *x, const uint8_t *v, size_t size)
{
    if (x->t->type == PLCIO_TYPE_BOOL) return size && ((v[0] >> x->t->bit) & 1u);
    for (size_t i = 0; i < size; i++)
        if (v[i]) return 1;
    return 0;
}

/* The entry's registers (or bit) as the text plcio_sync_write takes. */
static int regs_to_text(const mbo_entry *x, const uint16_t *regs, char *text, size_t cap, plcio_error *err)
{
    if (x->t->type == PLCIO_TYPE_BOOL) {
        snprintf(text, cap, "%s", regs[0] ? "true" : "false");
        return PLCIO_OK;
    }
    if (is_bits(x->table)) return plcio_error_set(err, PLCIO_EINVAL, "%s is not a BOOL", x->t->name);
    uint16_t r[256];
    memcpy(r, regs, x->count * sizeof *r);
    if (x->count == 2) plcio_mb_put_u32(r, plcio_mb_get_u32(regs, x->order), PLCIO_MB_ABCD);
    if (x->count == 4) plcio_mb_put_u64(r, plcio_mb_get_u64(regs, x->order), PLCIO_MB_ABCD);
    uint8_t bytes[512];
    plcio_mb_regs_to_bytes(r, x->count, bytes);
    plcio_value v;
    plcio_value_init(&v, x->t->type);
    int rc = plcio_value_decode(&v, x->t->type, x->t->length, bytes, x->t->size, 0, NULL, err);
    if (rc == PLCIO_OK) rc = plcio_value_to_text(&v, text, cap, NULL);
    return rc;
}

/* ---- the server's callbacks ---- */

/* Exception for a read of [addr, addr + n) of a table: 02 beyond the map, 04
 * when a tag in it has no good value. */
static int check_read(const mbo *m, int table, uint16_t addr, uint16_t n)
{
    if ((uint32_t)addr + n > m->top[table]) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    for (size_t i = 0; i < m->n; i++) {
        const mbo_entry *x = &m->e[i];
        if (x->table != table || x->address >= addr + n || x->address + x->count <= addr) continue;
        if (x->quality != 1) return PLCIO_MB_EX_SERVER_DEVICE_FAILURE;
    }
    return 0;
}

static int read_registers(void *ctx, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint16_t *regs)
{
    (void)unit;
    mbo *m = ctx;
    int ex = check_read(m, (int)area, addr, n);
    if (!ex) memcpy(regs, m->image[area] + addr, (size_t)n * sizeof *regs);
    return ex;
}

static int read_bits(void *ctx, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint8_t *bits)
{
    (void)unit;
    mbo *m = ctx;
    int ex = check_read(m, (int)area, addr, n);
    for (uint16_t i = 0; !ex && i < n; i++)
        bits[i] = (uint8_t)m->image[area][addr + i];
    return ex;
}

/* One reference of a pending write gone; the last one answers the client:
 * the server's answer, or 04 when a write to the PLC failed. Then the
 * requests the connection held back behind it are served. */
static void pending_release(mbo_pending *p)
{
    if (--p->outstanding) return;
    mbo *m = p->m;
    for (mbo_pending **at = &m->pending; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    if (!p->failed && p->read_after[0] && p->resp_len && !(p->resp[0] & 0x80)) {
        size_t len = 0;
        if (mb_server_process_line(m->srv, NULL, p->o.unit, p->read_after, sizeof p->read_after, p->resp,
                                   sizeof p->resp, &len) == PLCIO_OK &&
            len) {
            p->resp[0] = (uint8_t)(p->resp[0] & 0x80 ? 23 | 0x80 : 23); /* same layout: count, registers */
            p->resp_len = len;
        } else {
            p->failed = PLCIO_EINTERNAL;
        }
    }
    if (p->failed && p->resp_len && !(p->resp[0] & 0x80)) {
        log_msg(&m->logger, PLCIO_LOG_WARN, "modbus-server", "write (FC %u) answered with exception 04: %s", p->resp[0],
                p->why[0] ? p->why : plcio_strerror(p->failed));
        p->resp[0] |= 0x80;
        p->resp[1] = PLCIO_MB_EX_SERVER_DEVICE_FAILURE;
        p->resp_len = 2;
    }
    mb_fwd_origin o = p->o;
    if (p->resp_len && mb_server_forward_reply(m->srv, &o, p->resp, p->resp_len) == PLCIO_ENOTFOUND)
        log_msg(&m->logger, PLCIO_LOG_DEBUG, "modbus-server", "the client of a write left before its answer");
    free(p);
    if (!o.udp) mb_server_forward_resume(m->srv, &o);
}

/* The PLC's answer to one tag's write (ctx: the pending request). */
static void write_done(void *ctx, int err, const char *message)
{
    mbo_pending *p = ctx;
    if (err != PLCIO_OK && !p->failed) {
        p->failed = err;
        snprintf(p->why, sizeof p->why, "%s", message && *message ? message : plcio_strerror(err));
    }
    pending_release(p);
}

/* Every tag [addr, addr + n) of table touches: writable, and each gets its new value. */
static int write_table(mbo *m, int table, uint16_t addr, uint16_t n, const uint16_t *vals)
{
    if (!m->writes) return PLCIO_MB_EX_ILLEGAL_FUNCTION;
    if ((uint32_t)addr + n > m->top[table]) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    /* all or nothing: every register written must belong to a writable tag */
    for (uint32_t a = addr; a < (uint32_t)addr + n; a++) {
        bool covered = false;
        for (size_t i = 0; i < m->n && !covered; i++) {
            const mbo_entry *x = &m->e[i];
            covered = x->table == table && x->writable && a >= x->address && a < (uint32_t)x->address + x->count;
        }
        if (!covered) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    }
    for (size_t i = 0; i < m->n; i++) {
        mbo_entry *x = &m->e[i];
        if (x->table != table || x->address >= addr + n || x->address + x->count <= addr) continue;
        uint16_t regs[256];
        memcpy(regs, m->image[table] + x->address, x->count * sizeof *regs);
        for (uint16_t k = 0; k < x->count; k++) /* merge: registers of the tag the request did not touch stay */
            if (x->address + k >= addr && x->address + k < addr + n) regs[k] = vals[x->address + k - addr];
        char text[600];
        plcio_error err;
        plcio_error_clear(&err);
        int rc = regs_to_text(x, regs, text, sizeof text, &err);
        if (rc == PLCIO_OK && !m->cur) return PLCIO_MB_EX_SERVER_DEVICE_FAILURE; /* not through mbo_forward */
        if (rc == PLCIO_OK) {
            m->cur->outstanding++; /* the callback may run inside the call (device down) */
            rc = plcio_sync_write(m->engine, x->t->name, text, 0, write_done, m->cur, &err);
            if (rc != PLCIO_OK) m->cur->outstanding--;
        }
        if (rc != PLCIO_OK) {
            log_msg(&m->logger, PLCIO_LOG_WARN, "modbus-server", "write of %s %u (%s) refused: %s", table_name(table),
                    x->address, x->t->name, err.text[0] ? err.text : plcio_strerror(rc));
            return PLCIO_MB_EX_ILLEGAL_DATA_VALUE;
        }
        log_msg(&m->logger, PLCIO_LOG_INFO, "modbus-server", "write %s = %s", x->t->name, text);
    }
    return 0;
}

static int write_registers(void *ctx, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint16_t *regs)
{
    (void)unit;
    (void)fc;
    return write_table(ctx, PLCIO_MODBUS_HOLDING_REGISTERS, addr, n, regs);
}

static int write_bits(void *ctx, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint8_t *bits)
{
    (void)unit;
    (void)fc;
    uint16_t vals[PLCIO_MB_MAX_WRITE_BITS];
    for (uint16_t i = 0; i < n && i < PLCIO_MB_MAX_WRITE_BITS; i++)
        vals[i] = bits[i] ? 1 : 0;
    return write_table(ctx, PLCIO_MODBUS_COILS, addr, n, vals);
}

/* Every request on a connection comes here first (mb_server.h: forward).
 * Writes are taken and answered when the PLC has answered; anything else is
 * answered by the server from the callbacks above, except that a connection
 * with a write pending is not read from until that write is answered. */
static int mbo_forward(void *ctx, const mb_fwd_origin *o, const uint8_t *pdu, size_t len)
{
    mbo *m = ctx;
    for (const mbo_pending *p = m->pending; p && !o->udp; p = p->next)
        if (p->o.slot == o->slot && p->o.link_id == o->link_id) return PLCIO_EAGAIN;
    if (!len || !(pdu[0] == 5 || pdu[0] == 6 || pdu[0] == 15 || pdu[0] == 16 || pdu[0] == 22 || pdu[0] == 23))
        return PLCIO_ENOTFOUND;
    mbo_pending *p = calloc(1, sizeof *p);
    if (!p) return PLCIO_ENOTFOUND; /* answered 04 by write_table */
    p->m = m;
    p->o = *o;
    p->outstanding = 1;
    if (pdu[0] == 23 && len >= 5) { /* read part: start, quantity */
        p->read_after[0] = 3;
        memcpy(p->read_after + 1, pdu + 1, 4);
    }
    p->next = m->pending;
    m->pending = p;
    mb_server_count_bus_message(m->srv);
    m->cur = p;
    int rc = mb_server_process_line(m->srv, NULL, o->unit, pdu, len, p->resp, sizeof p->resp, &p->resp_len);
    m->cur = NULL;
    if (rc != PLCIO_OK) {
        p->resp[0] = (uint8_t)(pdu[0] | 0x80);
        p->resp[1] = PLCIO_MB_EX_SERVER_DEVICE_FAILURE;
        p->resp_len = 2;
    }
    pending_release(p);
    return PLCIO_OK;
}

/* ---- the sink ---- */

typedef struct mbo_config {
    plcio_sync *engine;
    const plcio_sync_modbus_spec *spec;
} mbo_config;

static void mbo_close(void *state)
{
    mbo *m = state;
    if (!m) return;
    /* the engine completes every write before it closes its sinks: nothing is pending here */
    plcio_modbus_server_free(m->srv);
    for (int t = 0; t < TABLES; t++)
        free(m->image[t]);
    free(m->e);
    free(m);
}

static int find_tag(const plcio_sink_tag *tags, size_t count, const char *name, size_t *out)
{
    for (size_t i = 0; i < count; i++)
        if (!strcmp(tags[i].name, name)) {
            *out = i;
            return PLCIO_OK;
        }
    return PLCIO_ENOTFOUND;
}

/* The map's entries, checked: tags exist, addresses fit, nothing overlaps. */
static int build_map(mbo *m, const plcio_sync_modbus_spec *spec, const plcio_sink_tag *tags, size_t count,
                     plcio_error *err)
{
    m->e = calloc(spec->map_count ? spec->map_count : 1, sizeof *m->e);
    if (!m->e) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    for (size_t i = 0; i < spec->map_count; i++) {
        const plcio_sync_modbus_map *s = &spec->map[i];
        mbo_entry *x = &m->e[m->n];
        if (find_tag(tags, count, s->tag, &x->tag) != PLCIO_OK)
            return plcio_error_set(err, PLCIO_ENOTFOUND, "modbus-server map (line %u): no tag '%s'", s->line, s->tag);
        x->m = m;
        x->t = &tags[x->tag];
        x->table = s->table;
        x->address = s->address;
        x->order = (plcio_mb_order)s->order;
        x->count = is_bits(s->table) ? 1 : (uint16_t)((x->t->size + 1) / 2);
        if (x->t->type == PLCIO_TYPE_BOOL) x->count = 1;
        if (x->count > 125)
            return plcio_error_set(err, PLCIO_ERANGE,
                                   "modbus-server map (line %u): '%s' needs %u registers (125 at most)", s->line,
                                   s->tag, x->count);
        if ((uint32_t)x->address + x->count > 65536)
            return plcio_error_set(err, PLCIO_ERANGE, "modbus-server map (line %u): '%s' at %s %u runs past 65535",
                                   s->line, s->tag, table_name(x->table), x->address);
        for (size_t j = 0; j < m->n; j++) {
            const mbo_entry *y = &m->e[j];
            if (y->table == x->table && x->address < y->address + y->count && y->address < x->address + x->count)
                return plcio_error_set(err, PLCIO_EEXIST, "modbus-server map (line %u): '%s' at %s %u overlaps '%s'",
                                       s->line, s->tag, table_name(x->table), x->address, y->t->name);
        }
        x->writable = spec->writes && x->t->writable &&
                      (x->table == PLCIO_MODBUS_HOLDING_REGISTERS || x->table == PLCIO_MODBUS_COILS);
        if (x->address + x->count > m->top[x->table]) m->top[x->table] = (uint32_t)x->address + x->count;
        m->n++;
    }
    for (int t = 0; t < TABLES; t++) {
        m->image[t] = calloc(m->top[t] ? m->top[t] : 1, sizeof(uint16_t));
        if (!m->image[t]) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    return PLCIO_OK;
}

static int start_server(mbo *m, const plcio_sync_modbus_spec *spec, plcio_error *err)
{
    plcio_modbus_server_options so;
    plcio_modbus_server_options_init(&so);
    so.logger = m->logger;
    int rc = plcio_modbus_server_new(&so, &m->srv, err);
    if (rc != PLCIO_OK) return rc;
    plcio_modbus_bank_config bank = plcio_modbus_bank_default(1); /* unused: the callbacks answer */
    int unit = spec->unit >= 0 ? spec->unit : PLCIO_MODBUS_ANY_UNIT;
    const plcio_modbus_callbacks cb = {.read_bits = read_bits,
                                       .read_registers = read_registers,
                                       .write_bits = write_bits,
                                       .write_registers = write_registers};
    m->srv->forward = mbo_forward; /* writes are answered when the PLC has answered */
    m->srv->forward_ctx = m;
    rc = mb_server_attach_loop(m->srv, plcio_sync_loop(m->engine));
    if (rc == PLCIO_OK) rc = plcio_modbus_server_add_unit(m->srv, unit, &bank);
    if (rc == PLCIO_OK) rc = plcio_modbus_server_set_callbacks(m->srv, unit, &cb, m);
    if (rc != PLCIO_OK) return plcio_error_set(err, rc, "modbus-server: %s", plcio_strerror(rc));
    const char *listen = spec->listen ? spec->listen : "127.0.0.1:502";
    char host[256];
    int port = 0;
    rc = sync_split_listen(spec->listen, "127.0.0.1:502", "modbus-server listen", host, sizeof host, &port, err);
    if (rc != PLCIO_OK) return rc;
    int bound = 0;
    rc = plcio_modbus_server_listen_tcp(m->srv, host, (int)port, &bound);
    if (rc != PLCIO_OK)
        return plcio_error_set(err, rc, "modbus-server: cannot listen on %s: %s", listen, plcio_strerror(rc));
    log_msg(&m->logger, PLCIO_LOG_INFO, "modbus-server", "serving %zu tags on %s:%d (writes %s)", m->n, host, bound,
            m->writes ? "on" : "off");
    return PLCIO_OK;
}

static int mbo_open(void *config, const plcio_sink_tag *tags, size_t tag_count, void **state, plcio_error *err)
{
    const mbo_config *c = config;
    mbo *m = calloc(1, sizeof *m);
    if (!m) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    m->engine = c->engine;
    m->logger = c->engine->logger;
    m->writes = c->spec->writes;
    int rc = build_map(m, c->spec, tags, tag_count, err);
    if (rc == PLCIO_OK) rc = start_server(m, c->spec, err);
    if (rc != PLCIO_OK) {
        mbo_close(m);
        return rc;
    }
    *state = m;
    return PLCIO_OK;
}

static int mbo_deliver(void *state, const plcio_sink_event *events, size_t count)
{
    mbo *m = state;
    for (size_t k = 0; k < count; k++) {
        const plcio_sink_event *ev = &events[k];
        if (ev->kind != PLCIO_SINK_TAG) continue;
        for (size_t i = 0; i < m->n; i++) { /* a tag may be mapped more than once */
            mbo_entry *x = &m->e[i];
            if (x->tag != ev->tag) continue;
            x->quality = ev->quality;
            uint16_t *at = m->image[x->table] + x->address;
            if (is_bits(x->table))
                at[0] = value_to_bit(x, ev->value, ev->size);
            else
                value_to_regs(x, ev->value, ev->size, at);
        }
    }
    return PLCIO_OK;
}

static const plcio_sink sink_modbus_ops = {PLCIO_SINK_ABI, "modbus-server", PLCIO_SINK_INLINE,
                                           mbo_open,       mbo_deliver,     mbo_close};

int sync_open_modbus_server(plcio_sync *s, const plcio_sync_config *cfg, char *err, size_t cap)
{
    if (!cfg->modbus_server.present) return PLCIO_OK;
    mbo_config c = {s, &cfg->modbus_server}; /* used by open only */
    int rc = sync_sink_open(s, &s->sinks[s->sink_count], &sink_modbus_ops, &c, 0, err, cap);
    if (s->sinks[s->sink_count]) s->sink_count++;
    return rc;
}
