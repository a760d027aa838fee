/* Modbus server, protocol core: units with data banks or callbacks, one
 * handler per function code (dispatch table), diagnostics counters and the
 * communication event log (AP 6.8-6.10), device identification (AP 6.21).
 * The links (TCP, UDP, serial) are in mb_server_io.c. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "modbus/mb_server.h"
#include "plcio/bytes.h"
#include "plcio/version.h"

#define MB_NO_RESPONSE 0x100 /* handler result: answer nothing (FC 8/04) */
#define ANY_INDEX      256

/* ===========================================================================
 * Units and banks
 * ========================================================================= */

plcio_modbus_bank_config plcio_modbus_bank_default(uint32_t size)
{
    if (size > 65536) size = 65536;
    plcio_modbus_bank_config b;
    memset(&b, 0, sizeof b);
    b.coils.count = b.discrete_inputs.count = b.holding_registers.count = b.input_registers.count = size;
    return b;
}

static int unit_index(int unit)
{
    if (unit == PLCIO_MODBUS_ANY_UNIT) return ANY_INDEX;
    return (unit >= 0 && unit <= 255) ? unit : -1;
}

static mb_unit *unit_get(plcio_modbus_server *s, int unit)
{
    int i = unit_index(unit);
    return i < 0 ? NULL : s->units[i];
}

/* The unit that answers requests for `unit`: its own, else ANY. */
static mb_unit *unit_for(plcio_modbus_server *s, uint8_t unit)
{
    return s->units[unit] ? s->units[unit] : s->units[ANY_INDEX];
}

/* The registers of [addr, addr + n) when one block holds them all, else NULL. */
static uint16_t *table_at(const mb_table *t, uint16_t addr, uint32_t n)
{
    for (size_t i = 0; t && i < t->nblocks; i++) {
        const mb_block *b = &t->blocks[i];
        if (addr >= b->start && (uint32_t)addr + n <= b->start + b->count) return b->regs + (addr - b->start);
    }
    return NULL;
}

/* Add a block; blocks of a table must not overlap (sparse tables). */
static int table_add(mb_table *t, uint16_t start, uint32_t count)
{
    if (count > 65536 || start + count > 65536) return PLCIO_ERANGE;
    if (count == 0) return PLCIO_OK;
    if (t->nblocks == MB_MAX_BLOCKS) return PLCIO_ELIMIT;
    for (size_t i = 0; i < t->nblocks; i++) {
        const mb_block *b = &t->blocks[i];
        if (start < b->start + b->count && b->start < start + count) return PLCIO_EEXIST;
    }
    mb_block *b = &t->blocks[t->nblocks];
    b->regs = calloc(count, sizeof *b->regs);
    if (!b->regs) return PLCIO_ENOMEM;
    b->start = start;
    b->count = count;
    t->nblocks++;
    return PLCIO_OK;
}

static int table_init(mb_table *t, const plcio_modbus_range *r) { return table_add(t, r->start, r->count); }

static void table_free(mb_table *t)
{
    for (size_t i = 0; i < t->nblocks; i++)
        free(t->blocks[i].regs);
}

static void unit_free(mb_unit *u)
{
    if (!u) return;
    table_free(&u->coils);
    table_free(&u->discrete);
    table_free(&u->holding);
    table_free(&u->input);
    free(u->file_data);
    free(u);
}

static mb_table *unit_table(mb_unit *u, plcio_modbus_area area)
{
    switch (area) {
    case PLCIO_MODBUS_COILS: return &u->coils;
    case PLCIO_MODBUS_DISCRETE_INPUTS: return &u->discrete;
    case PLCIO_MODBUS_HOLDING_REGISTERS: return &u->holding;
    case PLCIO_MODBUS_INPUT_REGISTERS: return &u->input;
    default: return NULL;
    }
}

static bool table_span(const mb_table *t, uint16_t addr, uint32_t n) { return table_at(t, addr, n) != NULL; }

void plcio_modbus_server_options_init(plcio_modbus_server_options *o)
{
    if (o) memset(o, 0, sizeof *o);
}

int plcio_modbus_server_new(const plcio_modbus_server_options *opts, plcio_modbus_server **out, plcio_error *err)
{
    plcio_error_clear(err);
    if (!out) return plcio_error_set(err, PLCIO_EINVAL, "no place for the server");
    *out = NULL;
    plcio_modbus_server *s = calloc(1, sizeof *s);
    if (!s) return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    if (opts) s->logger = opts->logger;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    s->api_line.ascii_lf = '\n';
    plcio_modbus_server_limits_init(&s->limits);
    s->running = true;
    memcpy(s->server_id, "plcio", 5); // NOLINT(bugprone-not-null-terminated-result): bytes + server_id_len
    s->server_id_len = 5;
    if (plcio_modbus_server_set_device_id(s, 0, "plcio") != PLCIO_OK ||
        plcio_modbus_server_set_device_id(s, 1, "plcio-sim") != PLCIO_OK ||
        plcio_modbus_server_set_device_id(s, 2, PLCIO_VERSION_STRING) != PLCIO_OK) {
        plcio_modbus_server_free(s);
        return plcio_error_set(err, PLCIO_ENOMEM, "out of memory");
    }
    *out = s;
    return PLCIO_OK;
}

void mb_server_io_free(plcio_modbus_server *s); /* mb_server_io.c */

void plcio_modbus_server_free(plcio_modbus_server *s)
{
    if (!s) return;
    mb_backing_free(s); /* its client watches are on the server's loop */
    mb_server_io_free(s);
    for (size_t i = 0; i < MB_MAX_UNITS; i++)
        unit_free(s->units[i]);
    for (size_t i = 0; i < 256; i++)
        free(s->devid[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int plcio_modbus_server_add_unit(plcio_modbus_server *s, int unit, const plcio_modbus_bank_config *bank)
{
    int i = unit_index(unit);
    if (!s || !bank || i < 0) return PLCIO_EINVAL;
    mb_unit *u = calloc(1, sizeof *u);
    if (!u) return PLCIO_ENOMEM;
    u->id = unit;
    int rc = table_init(&u->coils, &bank->coils);
    if (rc == PLCIO_OK) rc = table_init(&u->discrete, &bank->discrete_inputs);
    if (rc == PLCIO_OK) rc = table_init(&u->holding, &bank->holding_registers);
    if (rc == PLCIO_OK) rc = table_init(&u->input, &bank->input_registers);
    if (rc == PLCIO_OK && bank->files) {
        u->files = bank->files;
        u->file_data = calloc((size_t)bank->files * MB_FILE_RECORDS, sizeof *u->file_data);
        if (!u->file_data) rc = PLCIO_ENOMEM;
    }
    pthread_mutex_lock(&s->lock);
    if (rc == PLCIO_OK && s->units[i]) rc = PLCIO_EEXIST;
    if (rc == PLCIO_OK) s->units[i] = u;
    pthread_mutex_unlock(&s->lock);
    if (rc != PLCIO_OK) unit_free(u);
    return rc;
}

int plcio_modbus_server_set_callbacks(plcio_modbus_server *s, int unit, const plcio_modbus_callbacks *cb, void *ctx)
{
    if (!s) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    mb_unit *u = unit_get(s, unit);
    if (u) {
        if (cb)
            u->cb = *cb;
        else
            memset(&u->cb, 0, sizeof u->cb);
        u->cb_ctx = ctx;
    }
    pthread_mutex_unlock(&s->lock);
    return u ? PLCIO_OK : PLCIO_ENOTFOUND;
}

int plcio_modbus_server_add_block(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t start,
                                  uint32_t count)
{
    if (!s || count == 0) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    mb_unit *u = unit_get(s, unit);
    mb_table *t = u ? unit_table(u, area) : NULL;
    int rc = !u ? PLCIO_ENOTFOUND : !t ? PLCIO_EINVAL : table_add(t, start, count);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int bank_access(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t addr, uint16_t n,
                       uint16_t *out, const uint16_t *in)
{
    if (!s || (!out && !in)) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    mb_unit *u = unit_get(s, unit);
    mb_table *t = u ? unit_table(u, area) : NULL;
    int rc = !u ? PLCIO_ENOTFOUND : !t ? PLCIO_EINVAL : !table_span(t, addr, n) ? PLCIO_ERANGE : PLCIO_OK;
    bool bits = area == PLCIO_MODBUS_COILS || area == PLCIO_MODBUS_DISCRETE_INPUTS;
    if (rc == PLCIO_OK) {
        uint16_t *p = table_at(t, addr, n);
        if (out)
            memcpy(out, p, (size_t)n * sizeof *p);
        else
            for (size_t i = 0; i < n; i++)
                p[i] = bits ? (in[i] != 0) : in[i];
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int plcio_modbus_server_read_bank(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t addr, uint16_t n,
                                  uint16_t *values)
{
    return bank_access(s, unit, area, addr, n, values, NULL);
}

int plcio_modbus_server_write_bank(plcio_modbus_server *s, int unit, plcio_modbus_area area, uint16_t addr, uint16_t n,
                                   const uint16_t *values)
{
    return bank_access(s, unit, area, addr, n, NULL, values);
}

int plcio_modbus_server_set_exception_status(plcio_modbus_server *s, int unit, uint8_t status)
{
    if (!s) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    mb_unit *u = unit_get(s, unit);
    if (u) u->exception_status = status;
    pthread_mutex_unlock(&s->lock);
    return u ? PLCIO_OK : PLCIO_ENOTFOUND;
}

int plcio_modbus_server_set_device_id(plcio_modbus_server *s, uint8_t object_id, const char *value)
{
    if (!s) return PLCIO_EINVAL;
    char *copy = NULL;
    if (value) {
        size_t n = strlen(value);
        if (n > 240) return PLCIO_ERANGE; /* one object must fit a response PDU */
        copy = malloc(n + 1);
        if (!copy) return PLCIO_ENOMEM;
        memcpy(copy, value, n + 1);
    }
    pthread_mutex_lock(&s->lock);
    free(s->devid[object_id]);
    s->devid[object_id] = copy;
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

/* FC 17 answer: function code, byte count, id, run indicator, data in one
 * PDU of at most 253 bytes. */
#define MB_SERVER_ID_ANSWER_MAX (PLCIO_MB_MAX_PDU - 3)

int plcio_modbus_server_set_server_id(plcio_modbus_server *s, const uint8_t *id, size_t len, bool running)
{
    if (!s || (len && !id)) return PLCIO_EINVAL;
    if (len > sizeof s->server_id) return PLCIO_ERANGE;
    pthread_mutex_lock(&s->lock);
    if (len + s->server_data_len > MB_SERVER_ID_ANSWER_MAX) { /* the answer must fit one PDU */
        pthread_mutex_unlock(&s->lock);
        return PLCIO_ERANGE;
    }
    if (len) memcpy(s->server_id, id, len);
    s->server_id_len = len;
    s->running = running;
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

int plcio_modbus_server_set_server_data(plcio_modbus_server *s, const uint8_t *data, size_t len)
{
    if (!s || (len && !data)) return PLCIO_EINVAL;
    if (len > sizeof s->server_data) return PLCIO_ERANGE;
    pthread_mutex_lock(&s->lock);
    if (s->server_id_len + len > MB_SERVER_ID_ANSWER_MAX) { /* the answer must fit one PDU */
        pthread_mutex_unlock(&s->lock);
        return PLCIO_ERANGE;
    }
    if (len) memcpy(s->server_data, data, len);
    s->server_data_len = len;
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

int plcio_modbus_server_stats_get(plcio_modbus_server *s, plcio_modbus_server_stats *out)
{
    if (!s || !out) return PLCIO_EINVAL;
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    out->listen_only = s->listen_only_lines > 0;
    pthread_mutex_unlock(&s->lock);
    return PLCIO_OK;
}

void mb_server_count_bus_message(plcio_modbus_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.bus_messages++;
    pthread_mutex_unlock(&s->lock);
}

static void add_event(plcio_modbus_server *s, uint8_t ev)
{
    /* AP 6.10: newest event first, at most 64 kept. */
    size_t keep = s->event_len < MB_EVENT_LOG ? s->event_len : MB_EVENT_LOG - 1;
    memmove(s->events + 1, s->events, keep);
    s->events[0] = ev;
    s->event_len = keep + 1;
}

/* AP 6.10 receive event bits. */
#define EV_RECEIVE        0x80
#define EV_RX_LISTEN_ONLY 0x40
#define EV_RX_BROADCAST   0x20
#define EV_RX_OVERRUN     0x10
#define EV_RX_COMM_ERROR  0x02
/* AP 6.10 send event bits. */
#define EV_SEND               0x40
#define EV_TX_READ_EXCEPTION  0x01 /* exception 1-3 */
#define EV_TX_ABORT_EXCEPTION 0x02 /* exception 4 */
#define EV_TX_BUSY_EXCEPTION  0x04 /* exception 5-6 */
#define EV_TX_NAK_EXCEPTION   0x08 /* exception 7 */
#define EV_TX_LISTEN_ONLY     0x20
#define EV_ENTER_LISTEN_ONLY  0x04
#define EV_RESTART            0x00

void mb_server_count_comm_error(plcio_modbus_server *s, const mb_line *line)
{
    pthread_mutex_lock(&s->lock);
    s->stats.bus_comm_errors++;
    add_event(s, EV_RECEIVE | EV_RX_COMM_ERROR | (line && line->listen_only ? EV_RX_LISTEN_ONLY : 0));
    pthread_mutex_unlock(&s->lock);
}

void mb_server_count_overrun(plcio_modbus_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.bus_char_overruns++;
    add_event(s, EV_RECEIVE | EV_RX_OVERRUN);
    pthread_mutex_unlock(&s->lock);
}

/* ===========================================================================
 * Data access: callbacks, else the bank
 * ========================================================================= */

static int cb_result(int e) { return e == 0 ? 0 : (e > 0 && e < 256) ? e : PLCIO_MB_EX_SERVER_DEVICE_FAILURE; }

static int read_bits(mb_unit *u, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint8_t *bits)
{
    if (u->cb.read_bits) return cb_result(u->cb.read_bits(u->cb_ctx, unit, area, addr, n, bits));
    mb_table *t = unit_table(u, area);
    const uint16_t *p = table_at(t, addr, n);
    if (!p) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    for (size_t i = 0; i < n; i++)
        bits[i] = (uint8_t)p[i];
    return 0;
}

static int read_regs(mb_unit *u, uint8_t unit, plcio_modbus_area area, uint16_t addr, uint16_t n, uint16_t *regs)
{
    if (u->cb.read_registers) return cb_result(u->cb.read_registers(u->cb_ctx, unit, area, addr, n, regs));
    mb_table *t = unit_table(u, area);
    const uint16_t *p = table_at(t, addr, n);
    if (!p) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(regs, p, (size_t)n * 2);
    return 0;
}

static int write_bits(mb_unit *u, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint8_t *bits)
{
    if (u->cb.write_bits) return cb_result(u->cb.write_bits(u->cb_ctx, unit, fc, addr, n, bits));
    uint16_t *p = table_at(&u->coils, addr, n);
    if (!p) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    for (size_t i = 0; i < n; i++)
        p[i] = bits[i] ? 1 : 0;
    return 0;
}

static int write_regs(mb_unit *u, uint8_t unit, uint8_t fc, uint16_t addr, uint16_t n, const uint16_t *regs)
{
    if (u->cb.write_registers) return cb_result(u->cb.write_registers(u->cb_ctx, unit, fc, addr, n, regs));
    uint16_t *p = table_at(&u->holding, addr, n);
    if (!p) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(p, regs, (size_t)n * 2);
    return 0;
}

static bool file_span(const mb_unit *u, uint16_t file, uint16_t record, uint16_t n)
{
    return file >= 1 && file <= u->files && (uint32_t)record + n <= MB_FILE_RECORDS;
}

static int read_file(mb_unit *u, uint8_t unit, uint16_t file, uint16_t record, uint16_t n, uint16_t *regs)
{
    if (u->cb.read_file) return cb_result(u->cb.read_file(u->cb_ctx, unit, file, record, n, regs));
    if (!file_span(u, file, record, n)) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(regs, u->file_data + (size_t)(file - 1) * MB_FILE_RECORDS + record, (size_t)n * 2);
    return 0;
}

static int write_file(mb_unit *u, uint8_t unit, uint16_t file, uint16_t record, uint16_t n, const uint16_t *regs)
{
    if (u->cb.write_file) return cb_result(u->cb.write_file(u->cb_ctx, unit, file, record, n, regs));
    if (!file_span(u, file, record, n)) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(u->file_data + (size_t)(file - 1) * MB_FILE_RECORDS + record, regs, (size_t)n * 2);
    return 0;
}

/* FC 24 default: the holding register at addr is the FIFO count, the
 * queue follows it (the layout AP 6.18 describes). */
static int read_fifo(mb_unit *u, uint8_t unit, uint16_t addr, uint16_t *regs, uint16_t *count)
{
    if (u->cb.read_fifo) return cb_result(u->cb.read_fifo(u->cb_ctx, unit, addr, regs, count));
    const uint16_t *p = table_at(&u->holding, addr, 1);
    if (!p) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    uint16_t n = p[0];
    if (n > PLCIO_MB_MAX_FIFO_COUNT) return PLCIO_MB_EX_ILLEGAL_DATA_VALUE; /* AP 6.18 */
    if (!table_span(&u->holding, addr, 1u + n)) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    memcpy(regs, p + 1, (size_t)n * 2);
    *count = n;
    return 0;
}

/* ===========================================================================
 * Handlers, one per function code. Each fills r (data in `out`, which has
 * PLCIO_MB_MAX_PDU bytes) and returns 0, an exception code or MB_NO_RESPONSE.
 * ========================================================================= */

typedef struct mb_request_ctx {
    plcio_modbus_server *s;
    mb_unit *u;
    uint8_t unit;
    const mb_pdu *q;
    mb_pdu *r;
    uint8_t *out;
    mb_line *line; /* the serial line the request came on; NULL over TCP/UDP */
} mb_request_ctx;

static int h_read_bits(mb_request_ctx *x)
{
    uint8_t bits[PLCIO_MB_MAX_READ_BITS];
    plcio_modbus_area area = x->q->fc == 1 ? PLCIO_MODBUS_COILS : PLCIO_MODBUS_DISCRETE_INPUTS;
    int e = read_bits(x->u, x->unit, area, x->q->addr, x->q->qty, bits);
    if (e) return e;
    x->r->data = x->out;
    x->r->data_len = plcio_mb_pack_bits(bits, x->q->qty, x->out);
    return 0;
}

static int h_read_regs(mb_request_ctx *x)
{
    uint16_t regs[PLCIO_MB_MAX_READ_REGISTERS];
    plcio_modbus_area area = x->q->fc == 3 ? PLCIO_MODBUS_HOLDING_REGISTERS : PLCIO_MODBUS_INPUT_REGISTERS;
    int e = read_regs(x->u, x->unit, area, x->q->addr, x->q->qty, regs);
    if (e) return e;
    plcio_mb_regs_to_bytes(regs, x->q->qty, x->out);
    x->r->data = x->out;
    x->r->data_len = (size_t)x->q->qty * 2;
    return 0;
}

static int h_write_coil(mb_request_ctx *x)
{
    uint8_t bit = x->q->value == 0xFF00;
    int e = write_bits(x->u, x->unit, 5, x->q->addr, 1, &bit);
    x->r->addr = x->q->addr;
    x->r->value = x->q->value;
    return e;
}

static int h_write_reg(mb_request_ctx *x)
{
    int e = write_regs(x->u, x->unit, 6, x->q->addr, 1, &x->q->value);
    x->r->addr = x->q->addr;
    x->r->value = x->q->value;
    return e;
}

static int h_write_coils(mb_request_ctx *x)
{
    uint8_t bits[PLCIO_MB_MAX_WRITE_BITS];
    plcio_mb_unpack_bits(x->q->data, x->q->qty, bits);
    x->r->addr = x->q->addr;
    x->r->qty = x->q->qty;
    return write_bits(x->u, x->unit, 15, x->q->addr, x->q->qty, bits);
}

static int h_write_regs(mb_request_ctx *x)
{
    uint16_t regs[PLCIO_MB_MAX_WRITE_REGISTERS];
    plcio_mb_bytes_to_regs(x->q->data, x->q->qty, regs);
    x->r->addr = x->q->addr;
    x->r->qty = x->q->qty;
    return write_regs(x->u, x->unit, 16, x->q->addr, x->q->qty, regs);
}

static int h_mask_write(mb_request_ctx *x)
{
    uint16_t v;
    int e = read_regs(x->u, x->unit, PLCIO_MODBUS_HOLDING_REGISTERS, x->q->addr, 1, &v);
    if (e) return e;
    /* AP 6.16: Result = (Current AND And_Mask) OR (Or_Mask AND (NOT And_Mask)) */
    v = (uint16_t)((v & x->q->and_mask) | (x->q->or_mask & ~x->q->and_mask));
    x->r->addr = x->q->addr;
    x->r->and_mask = x->q->and_mask;
    x->r->or_mask = x->q->or_mask;
    return write_regs(x->u, x->unit, 22, x->q->addr, 1, &v);
}

static int h_read_write(mb_request_ctx *x)
{
    uint16_t regs[PLCIO_MB_MAX_RW_READ_REGISTERS];
    plcio_mb_bytes_to_regs(x->q->data, x->q->write_qty, regs);
    /* AP 6.17: the write is performed before the read. Check the read range
     * first so a refused request changes nothing. */
    if (!x->u->cb.read_registers && !table_span(&x->u->holding, x->q->addr, x->q->qty))
        return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
    int e = write_regs(x->u, x->unit, 23, x->q->write_addr, x->q->write_qty, regs);
    if (!e) e = read_regs(x->u, x->unit, PLCIO_MODBUS_HOLDING_REGISTERS, x->q->addr, x->q->qty, regs);
    if (e) return e;
    plcio_mb_regs_to_bytes(regs, x->q->qty, x->out);
    x->r->data = x->out;
    x->r->data_len = (size_t)x->q->qty * 2;
    return 0;
}

static int h_fifo(mb_request_ctx *x)
{
    uint16_t regs[PLCIO_MB_MAX_FIFO_COUNT], n = 0;
    int e = read_fifo(x->u, x->unit, x->q->addr, regs, &n);
    if (e) return e;
    if (n > PLCIO_MB_MAX_FIFO_COUNT) return PLCIO_MB_EX_ILLEGAL_DATA_VALUE;
    plcio_mb_regs_to_bytes(regs, n, x->out);
    x->r->qty = n;
    x->r->data = x->out;
    x->r->data_len = (size_t)n * 2;
    return 0;
}

static int h_read_file(mb_request_ctx *x)
{
    size_t off = 0;
    for (size_t i = 0; i < x->q->data_len; i += 7) {
        const uint8_t *sub = x->q->data + i;
        uint16_t file = plcio_get_u16be(sub + 1), rec = plcio_get_u16be(sub + 3), n = plcio_get_u16be(sub + 5);
        uint16_t regs[PLCIO_MB_MAX_PDU / 2];
        int e = read_file(x->u, x->unit, file, rec, n, regs); /* n bounded by the codec's length check */
        if (e) return e;
        x->out[off] = (uint8_t)(1 + 2 * n);
        x->out[off + 1] = 6;
        plcio_mb_regs_to_bytes(regs, n, x->out + off + 2);
        off += 2u + 2u * n;
    }
    x->r->data = x->out;
    x->r->data_len = off;
    return 0;
}

static int h_write_file(mb_request_ctx *x)
{
    for (size_t off = 0; off < x->q->data_len;) {
        const uint8_t *sub = x->q->data + off;
        uint16_t file = plcio_get_u16be(sub + 1), rec = plcio_get_u16be(sub + 3), n = plcio_get_u16be(sub + 5);
        uint16_t regs[PLCIO_MB_MAX_PDU / 2];
        plcio_mb_bytes_to_regs(sub + 7, n, regs);
        int e = write_file(x->u, x->unit, file, rec, n, regs);
        if (e) return e;
        off += 7u + 2u * n;
    }
    memcpy(x->out, x->q->data, x->q->data_len); /* AP 6.15: the answer echoes the request */
    x->r->data = x->out;
    x->r->data_len = x->q->data_len;
    return 0;
}

static int h_exception_status(mb_request_ctx *x)
{
    x->r->value = x->u->exception_status;
    return 0;
}

static int h_event_counter(mb_request_ctx *x)
{
    x->r->status = 0x0000; /* AP 6.9: 0xFFFF only while a previous command is still busy */
    x->r->event_count = x->s->stats.event_count;
    return 0;
}

static int h_event_log(mb_request_ctx *x)
{
    x->r->status = 0x0000;
    x->r->event_count = x->s->stats.event_count;
    x->r->message_count = x->s->stats.bus_messages;
    memcpy(x->out, x->s->events, x->s->event_len);
    x->r->data = x->out;
    x->r->data_len = x->s->event_len;
    return 0;
}

static int h_server_id(mb_request_ctx *x)
{
    /* AP 6.13: server id, run indicator, additional data (the byte count
     * in front is the codec's) */
    memcpy(x->out, x->s->server_id, x->s->server_id_len);
    x->out[x->s->server_id_len] = x->s->running ? 0xFF : 0x00;
    memcpy(x->out + x->s->server_id_len + 1, x->s->server_data, x->s->server_data_len);
    x->r->data = x->out;
    x->r->data_len = x->s->server_id_len + 1 + x->s->server_data_len;
    return 0;
}

/* ---- FC 8 ---- */

/* AP 6.8 sub-function 0A: the diagnostic counters (the link counters stay). */
static void clear_counters(plcio_modbus_server *s)
{
    plcio_modbus_server_stats *st = &s->stats;
    st->bus_messages = st->bus_comm_errors = st->bus_exceptions = st->server_messages = 0;
    st->server_no_response = st->server_nak = st->server_busy = st->bus_char_overruns = 0;
    st->event_count = 0;
    s->diag_register = 0;
}

static void set_listen_only(plcio_modbus_server *s, mb_line *line, bool on)
{
    if (line->listen_only == on) return;
    line->listen_only = on;
    if (on)
        s->listen_only_lines++;
    else
        s->listen_only_lines--;
}

void mb_server_line_closed(plcio_modbus_server *s, const mb_line *line)
{
    pthread_mutex_lock(&s->lock);
    if (line->listen_only) s->listen_only_lines--;
    pthread_mutex_unlock(&s->lock);
}

static uint16_t diag_counter(const plcio_modbus_server *s, uint16_t sub)
{
    const plcio_modbus_server_stats *st = &s->stats;
    switch (sub) {
    case 0x0B: return st->bus_messages;
    case 0x0C: return st->bus_comm_errors;
    case 0x0D: return st->bus_exceptions;
    case 0x0E: return st->server_messages;
    case 0x0F: return st->server_no_response;
    case 0x10: return st->server_nak;
    case 0x11: return st->server_busy;
    case 0x12: return st->bus_char_overruns;
    default: return 0;
    }
}

static int h_diagnostics(mb_request_ctx *x)
{
    plcio_modbus_server *s = x->s;
    uint16_t sub = x->q->sub;
    x->r->sub = sub;
    x->r->data = x->out;
    x->r->data_len = x->q->data_len;
    memcpy(x->out, x->q->data, x->q->data_len); /* most sub-functions echo */
    /* 01, 03 and 04 change the state of the serial line the request came
     * on (AP 6.8: FC 8 is serial line only). Over TCP/UDP there is no such
     * line: refuse them rather than silence or reconfigure a serial link. */
    if ((sub == 0x01 || sub == 0x03 || sub == 0x04) && !x->line) return PLCIO_MB_EX_ILLEGAL_FUNCTION;
    switch (sub) {
    case 0x00: return 0;
    case 0x01: /* restart communications: leave listen-only, clear counters, optionally the log */
        if (plcio_get_u16be(x->q->data) == 0xFF00) s->event_len = 0;
        clear_counters(s);
        set_listen_only(s, x->line, false);
        add_event(s, EV_RESTART);
        return 0;
    case 0x02: plcio_put_u16be(x->out, s->diag_register); return 0;
    case 0x03: x->line->ascii_lf = x->q->data[0]; return 0;
    case 0x04:
        set_listen_only(s, x->line, true);
        add_event(s, EV_ENTER_LISTEN_ONLY);
        return MB_NO_RESPONSE; /* AP 6.8.1 sub-function 04: no response is returned */
    case 0x0A: clear_counters(s); return 0;
    case 0x14: s->stats.bus_char_overruns = 0; return 0;
    default: plcio_put_u16be(x->out, diag_counter(s, sub)); return 0;
    }
}

/* ---- FC 43 / MEI 14 ---- */

static int devid_last(uint8_t code) { return code == 1 ? 0x02 : code == 2 ? 0x7F : 0xFF; }

static int h_device_id(mb_request_ctx *x)
{
    plcio_modbus_server *s = x->s;
    uint8_t code = x->q->devid_code, id = x->q->object_id;
    mb_pdu *r = x->r;
    r->mei = PLCIO_MB_MEI_DEVICE_ID;
    r->devid_code = code;
    /* Conformity: highest category present, with individual access (0x80). */
    r->conformity = 0x81;
    for (int i = 3; i < 256; i++)
        if (s->devid[i]) r->conformity = i >= 0x80 ? 0x83 : (r->conformity < 0x82 ? 0x82 : r->conformity);
    if (code == 4) {
        if (!s->devid[id]) return PLCIO_MB_EX_ILLEGAL_DATA_ADDRESS;
        size_t n = strlen(s->devid[id]);
        x->out[0] = id;
        x->out[1] = (uint8_t)n;
        memcpy(x->out + 2, s->devid[id], n);
        r->object_count = 1;
        r->data = x->out;
        r->data_len = n + 2;
        return 0;
    }
    int last = devid_last(code);
    if (id > last || !s->devid[id]) id = 0; /* AP 6.21: unknown start object restarts the stream */
    size_t off = 0;
    const size_t room = PLCIO_MB_MAX_PDU - 7; /* fc, mei, code, conformity, more, next, count */
    for (int i = id; i <= last; i++) {
        if (!s->devid[i]) continue;
        size_t n = strlen(s->devid[i]);
        if (off + 2 + n > room) {
            r->more_follows = 0xFF;
            r->next_object_id = (uint8_t)i;
            break;
        }
        x->out[off] = (uint8_t)i;
        x->out[off + 1] = (uint8_t)n;
        memcpy(x->out + off + 2, s->devid[i], n);
        off += 2 + n;
        r->object_count++;
    }
    r->data = x->out;
    r->data_len = off;
    return 0;
}

/* ---- dispatch ---- */

typedef struct mb_handler {
    uint8_t fc;
    int (*fn)(mb_request_ctx *x);
} mb_handler;

static const mb_handler handlers[] = {
    {0x01, h_read_bits},     {0x02, h_read_bits}, {0x03, h_read_regs},        {0x04, h_read_regs},
    {0x05, h_write_coil},    {0x06, h_write_reg}, {0x07, h_exception_status}, {0x08, h_diagnostics},
    {0x0B, h_event_counter}, {0x0C, h_event_log}, {0x0F, h_write_coils},      {0x10, h_write_regs},
    {0x11, h_server_id},     {0x14, h_read_file}, {0x15, h_write_file},       {0x16, h_mask_write},
    {0x17, h_read_write},    {0x18, h_fifo},      {0x2B, h_device_id},
};

static int dispatch(mb_request_ctx *x)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].fc == x->q->fc) return handlers[i].fn(x);
    return PLCIO_MB_EX_ILLEGAL_FUNCTION;
}

static uint8_t send_event_bits(uint8_t exc)
{
    if (exc >= 1 && exc <= 3) return EV_TX_READ_EXCEPTION;
    if (exc == 4) return EV_TX_ABORT_EXCEPTION;
    if (exc == 5 || exc == 6) return EV_TX_BUSY_EXCEPTION;
    if (exc == 7) return EV_TX_NAK_EXCEPTION;
    return 0;
}

/* Run a decoded request on one unit (or on every unit for a broadcast). */
static int execute(plcio_modbus_server *s, mb_line *line, uint8_t unit, bool broadcast, const mb_pdu *q, mb_pdu *r,
                   uint8_t *out)
{
    mb_request_ctx x = {s, unit_for(s, unit), unit, q, r, out, line};
    if (!broadcast) return dispatch(&x);
    int e = 0;
    for (size_t i = 0; i < MB_MAX_UNITS; i++) {
        if (!s->units[i]) continue;
        x.u = s->units[i];
        memset(r, 0, sizeof *r);
        r->fc = q->fc;
        int ei = dispatch(&x);
        if (ei) e = ei;
    }
    return e;
}

static bool is_restart(const uint8_t *req, size_t len)
{
    return len >= 3 && req[0] == PLCIO_MB_FC_DIAGNOSTICS && plcio_get_u16be(req + 1) == 0x01;
}

int plcio_modbus_server_process(plcio_modbus_server *s, uint8_t unit, const uint8_t *req, size_t len, bool serial,
                                uint8_t *resp, size_t cap, size_t *resp_len)
{
    if (!s) return PLCIO_EINVAL;
    return mb_server_process_line(s, serial ? &s->api_line : NULL, unit, req, len, resp, cap, resp_len);
}

int mb_server_process_line(plcio_modbus_server *s, mb_line *line, uint8_t unit, const uint8_t *req, size_t len,
                           uint8_t *resp, size_t cap, size_t *resp_len)
{
    if (!s || !req || !resp || !resp_len) return PLCIO_EINVAL;
    *resp_len = 0;
    if (len == 0) return PLCIO_OK; /* no function code: nothing to answer */
    bool serial = line != NULL;
    pthread_mutex_lock(&s->lock);
    bool broadcast = serial && unit == 0; /* SL 2.1 */
    mb_unit *u = unit_for(s, unit);
    int rc = PLCIO_OK;
    mb_pdu q, r;
    uint8_t out[PLCIO_MB_MAX_PDU];
    memset(&r, 0, sizeof r);
    if (!u && !broadcast && serial) goto done; /* another device's message */
    s->stats.server_messages++;
    if (serial && line->listen_only) {
        add_event(s, EV_RECEIVE | EV_RX_LISTEN_ONLY | (broadcast ? EV_RX_BROADCAST : 0));
        s->stats.server_no_response++;
        if (is_restart(req, len) && mb_request_decode(req, len, &q) == PLCIO_OK) {
            mb_request_ctx x = {s, u, unit, &q, &r, out, line};
            h_diagnostics(&x); /* leaves listen-only; no answer to this one (AP 6.8.1) */
        }
        goto done;
    }
    add_event(s, (uint8_t)(EV_RECEIVE | (broadcast ? EV_RX_BROADCAST : 0)));
    int e;
    if (mb_request_decode(req, len, &q) != PLCIO_OK)
        e = q.exception;
    else if (!u && !broadcast)
        e = PLCIO_MB_EX_GATEWAY_TARGET_FAILED;
    else
        e = execute(s, line, unit, broadcast, &q, &r, out);
    if (e == MB_NO_RESPONSE || broadcast) {
        s->stats.server_no_response++;
        goto done;
    }
    r.fc = q.fc ? q.fc : req[0];
    r.exception = (uint8_t)e;
    if (e) {
        s->stats.bus_exceptions++;
        add_event(s, (uint8_t)(EV_SEND | send_event_bits((uint8_t)e)));
    } else {
        add_event(s, EV_SEND);
        if (q.fc != PLCIO_MB_FC_GET_COMM_EVENT_COUNTER && q.fc != PLCIO_MB_FC_GET_COMM_EVENT_LOG)
            s->stats.event_count++; /* AP 6.9: not for exceptions or the fetch commands */
    }
    rc = mb_response_encode(&r, resp, cap, resp_len);
    if (rc != PLCIO_OK) { /* a callback gave more than fits: server failure */
        r.exception = PLCIO_MB_EX_SERVER_DEVICE_FAILURE;
        rc = mb_response_encode(&r, resp, cap, resp_len);
    }
done:
    pthread_mutex_unlock(&s->lock);
    return rc;
}
